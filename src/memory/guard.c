/*
 * guard.c - the guarded-object pool of guard.h, after Linux's KFENCE
 * (mm/kfence/core.c): page pairs, the object at the end of the first page,
 * the second never present; a freed object's page unmapped, its slot at the
 * back of a FIFO so it is reused as late as possible. Pure C: the pages are
 * changed through the caller's callbacks, and the heap hears about it only
 * through heap_set_sampler. It does not allocate memory of its own.
 */
#include <stddef.h>
#include <stdint.h>
#include "memory/guard.h"
#include "memory/heap.h"

_Static_assert(GUARD_MAX_SIZE <= GUARD_PAGE_BYTES - HEAP_ALIGNMENT,
               "an object leaves its page's first bytes unused: no object starts at a page start");
_Static_assert(GUARD_PAGE_BYTES <= UINT16_MAX, "offsets and sizes fit a uint16_t");
_Static_assert(GUARD_OBJECTS <= UINT8_MAX + 1, "free_order holds slot numbers in a uint8_t");

/* ---- where things are --------------------------------------------------------------- */

static uintptr_t object_page(const struct guard_pool *pool, unsigned i)
{
    return pool->base + (uintptr_t)i * 2 * GUARD_PAGE_BYTES;
}

static uintptr_t guard_page(const struct guard_pool *pool, unsigned i)
{
    return object_page(pool, i) + GUARD_PAGE_BYTES;
}

static uintptr_t object_start(const struct guard_pool *pool, unsigned i)
{
    return object_page(pool, i) + pool->slots[i].offset;
}

static size_t round_up(size_t size)
{
    return (size + HEAP_ALIGNMENT - 1) & ~(size_t)(HEAP_ALIGNMENT - 1);
}

bool guard_owns(const struct guard_pool *pool, const void *ptr)
{
    uintptr_t p = (uintptr_t)ptr;

    return pool->base != 0 && p >= pool->base && p - pool->base < GUARD_POOL_BYTES;
}

/* The slot whose object starts at ptr (any state but unused), or GUARD_OBJECTS. */
static unsigned slot_of_start(const struct guard_pool *pool, const void *ptr)
{
    if (!guard_owns(pool, ptr))
        return GUARD_OBJECTS;
    unsigned i = (unsigned)(((uintptr_t)ptr - pool->base) / (2 * GUARD_PAGE_BYTES));
    if (pool->slots[i].state == GUARD_UNUSED || object_start(pool, i) != (uintptr_t)ptr)
        return GUARD_OBJECTS;
    return i;
}

/* ---- the free slots: a ring, least recently freed at its front ------------------------ */

static void free_order_push(struct guard_pool *pool, unsigned i)
{
    pool->free_order[(pool->free_first + pool->free_count++) % GUARD_OBJECTS] = (uint8_t)i;
}

static unsigned free_order_pop(struct guard_pool *pool)
{
    unsigned i = pool->free_order[pool->free_first];

    pool->free_first = (pool->free_first + 1) % GUARD_OBJECTS;
    pool->free_count--;
    return i;
}

/* Put i back at the front, as if never taken (a map that failed). */
static void free_order_unpop(struct guard_pool *pool, unsigned i)
{
    pool->free_first = (pool->free_first + GUARD_OBJECTS - 1) % GUARD_OBJECTS;
    pool->free_order[pool->free_first] = (uint8_t)i;
    pool->free_count++;
}

/* ---- setting up ----------------------------------------------------------------------- */

/* Map back the first `count` pages from start: undoing a failed init. */
static void map_back(const struct guard_pages *pages, uintptr_t start, size_t count)
{
    for (size_t i = 0; i < count; i++)
        (void)pages->map(start + i * GUARD_PAGE_BYTES, pages->context);
}

enum guard_status guard_pool_init(struct guard_pool *pool, void *memory, struct guard_pages pages)
{
    uintptr_t start = (uintptr_t)memory;
    size_t page_count = GUARD_POOL_BYTES / GUARD_PAGE_BYTES;

    *pool = (struct guard_pool){ .pages = pages };
    if (start == 0 || start % GUARD_PAGE_BYTES != 0)
        return GUARD_MISALIGNED;
    for (size_t i = 0; i < page_count; i++) {
        if (!pages.unmap(start + i * GUARD_PAGE_BYTES, pages.context)) {
            map_back(&pages, start, i);
            return GUARD_MAP_FAILED;
        }
    }
    pool->base = start;
    for (unsigned i = 0; i < GUARD_OBJECTS; i++)
        free_order_push(pool, i);
    return GUARD_OK;
}

/* ---- allocating and freeing ------------------------------------------------------------ */

void *guard_alloc(struct guard_pool *pool, size_t size, const void *caller)
{
    if (pool->base == 0 || size == 0 || size > GUARD_MAX_SIZE || pool->free_count == 0) {
        pool->stats.declined++;
        return NULL;
    }
    unsigned i = free_order_pop(pool);
    if (!pool->pages.map(object_page(pool, i), pool->pages.context)) {
        free_order_unpop(pool, i);
        pool->stats.declined++;
        return NULL;
    }
    pool->slots[i] = (struct guard_slot){
        .offset = (uint16_t)(GUARD_PAGE_BYTES - round_up(size)),
        .size = (uint16_t)size,
        .state = GUARD_LIVE,
        .alloc_caller = caller,
    };
    pool->stats.allocations++;
    pool->stats.live++;
    return (void *)object_start(pool, i);
}

/* Why ptr cannot be freed, checked before anything is written. */
static enum guard_status free_refusal(const struct guard_pool *pool, const void *ptr, unsigned i)
{
    if (!guard_owns(pool, ptr))
        return GUARD_NOT_IN_POOL;
    if (i == GUARD_OBJECTS)
        return GUARD_NOT_AN_OBJECT;
    return pool->slots[i].state == GUARD_FREED ? GUARD_DOUBLE_FREE : GUARD_OK;
}

enum guard_status guard_free(struct guard_pool *pool, void *ptr, const void *caller)
{
    unsigned i = slot_of_start(pool, ptr);
    enum guard_status refusal = free_refusal(pool, ptr, i);

    if (refusal != GUARD_OK) {
        pool->stats.refused_frees++;
        return refusal;
    }
    pool->slots[i].state = GUARD_FREED;
    pool->slots[i].free_caller = caller;
    free_order_push(pool, i);
    pool->stats.frees++;
    pool->stats.live--;
    if (!pool->pages.unmap(object_page(pool, i), pool->pages.context))
        return GUARD_MAP_FAILED;
    return GUARD_OK;
}

size_t guard_size(const struct guard_pool *pool, const void *ptr)
{
    unsigned i = slot_of_start(pool, ptr);

    return i < GUARD_OBJECTS && pool->slots[i].state == GUARD_LIVE ? pool->slots[i].size : 0;
}

/* ---- looking at objects and faults ------------------------------------------------------ */

bool guard_object(const struct guard_pool *pool, unsigned index, struct guard_object *out)
{
    if (index >= GUARD_OBJECTS || pool->base == 0)
        return false;
    const struct guard_slot *slot = &pool->slots[index];
    *out = (struct guard_object){
        .index = index,
        .state = (enum guard_state)slot->state,
        .start = slot->state == GUARD_UNUSED ? 0 : object_start(pool, index),
        .size = slot->size,
        .alloc_caller = slot->alloc_caller,
        .free_caller = slot->free_caller,
    };
    return true;
}

/*
 * Classify an address in the pool (KFENCE's kfence_handle_page_fault does
 * the same): a guard page is an out-of-bounds access of the object before
 * it; a freed object's page, a use after free; anything else is memory no
 * object owns (a never-used slot, or a live page that should not fault).
 */
bool guard_fault(const struct guard_pool *pool, uintptr_t address, struct guard_fault *out)
{
    if (!guard_owns(pool, (const void *)address))
        return false;
    size_t page = (address - pool->base) / GUARD_PAGE_BYTES;
    unsigned i = (unsigned)(page / 2);
    bool in_guard = address >= guard_page(pool, i);

    *out = (struct guard_fault){ .kind = GUARD_INVALID_ACCESS, .address = address };
    (void)guard_object(pool, i, &out->object);
    if (out->object.state == GUARD_UNUSED)
        return true;
    if (in_guard) {
        out->kind = GUARD_OUT_OF_BOUNDS;
        out->bytes_right = address - (out->object.start + out->object.size) + 1;
    } else if (out->object.state == GUARD_FREED) {
        out->kind = GUARD_USE_AFTER_FREE;
    }
    return true;
}

bool guard_range(const struct guard_pool *pool, uintptr_t *start, uintptr_t *end)
{
    if (pool->base == 0)
        return false;
    *start = pool->base;
    *end = pool->base + GUARD_POOL_BYTES;
    return true;
}

void guard_get_stats(const struct guard_pool *pool, struct guard_stats *out)
{
    *out = pool->stats;
}

/* ---- sampling the heap ------------------------------------------------------------------ */

static struct guard_pool *sampled;     /* the pool guard_sample gave the heap */

static void *sampler_alloc(size_t size, const void *caller)
{
    return guard_alloc(sampled, size, caller);
}

static int sampler_owns(const void *ptr)
{
    return guard_owns(sampled, ptr);
}

/*
 * kfree of a pool pointer: a refusal goes back to the heap, which reports it
 * as its own. GUARD_MAP_FAILED has freed the object all the same (its page
 * stays present: a use-after-free of it goes unseen, nothing else is lost).
 */
static enum heap_status sampler_free(void *ptr, const void *caller)
{
    switch (guard_free(sampled, ptr, caller)) {
    case GUARD_OK:
    case GUARD_MAP_FAILED:
        return HEAP_OK;
    case GUARD_DOUBLE_FREE:
        return HEAP_DOUBLE_FREE;
    default:
        return HEAP_INVALID_POINTER;
    }
}

static size_t sampler_size(const void *ptr)
{
    return guard_size(sampled, ptr);
}

void guard_sample(struct guard_pool *pool)
{
    static const struct heap_sampler sampler = {
        sampler_alloc, sampler_owns, sampler_free, sampler_size, GUARD_SAMPLE_EVERY,
    };

    sampled = pool;
    heap_set_sampler(pool != NULL ? &sampler : NULL);
}

const char *guard_status_name(enum guard_status status)
{
    switch (status) {
    case GUARD_OK:            return "ok";
    case GUARD_MISALIGNED:    return "pool memory not page aligned";
    case GUARD_MAP_FAILED:    return "a page could not be mapped or unmapped";
    case GUARD_NOT_IN_POOL:   return "not in the guarded pool";
    case GUARD_NOT_AN_OBJECT: return "not the start of a guarded object";
    case GUARD_DOUBLE_FREE:   return "guarded object already freed";
    }
    return "unknown status";
}

const char *guard_fault_name(enum guard_fault_kind kind)
{
    switch (kind) {
    case GUARD_USE_AFTER_FREE: return "use-after-free";
    case GUARD_OUT_OF_BOUNDS:  return "out-of-bounds";
    case GUARD_INVALID_ACCESS: return "invalid access";
    }
    return "unknown fault";
}
