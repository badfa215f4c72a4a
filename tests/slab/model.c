/*
 * model.c - the reference model of model.h: each operation runs on the real
 * slab caches and heap and is checked against what the rules predict. Live
 * objects and blocks carry a pattern that is checked before they are given
 * back, so overlapping or trampled memory is caught; objects of caches with
 * a constructor must come back from kmem_cache_alloc in their constructed
 * state, and are put back in it before kmem_cache_free (Bonwick's rule).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define PATTERN_EDGE 32     /* bytes checked at each end of a larger object */

static struct slab_model *active;   /* the model the constructors and the handler report to */

static struct {
    size_t calls;
    const char *function, *cache;
    const void *ptr;
    enum heap_status why;
} heard;

static void hear_refusal(const struct heap_refusal *refusal)
{
    heard.calls++;
    heard.function = refusal->function;
    heard.cache = refusal->cache;
    heard.ptr = refusal->ptr;
    heard.why = refusal->why;
}

static bool fail(struct slab_model *m, const char *format, ...)
{
    va_list args;

    if (m->failure[0] != '\0')
        return false;
    va_start(args, format);
    vsnprintf(m->failure, sizeof(m->failure), format, args);
    va_end(args);
    return false;
}

/* ---- patterns ----------------------------------------------------------------------- */

static unsigned char pattern_byte(uint32_t seed, size_t i)
{
    return (unsigned char)((seed * 2654435761u + (uint32_t)i * 40503u) >> 13);
}

/* The bytes a pattern covers: all of a small object, both ends of a larger one. */
static size_t pattern_next(size_t i, size_t size)
{
    return i + 1 == PATTERN_EDGE && size > 2 * PATTERN_EDGE ? size - PATTERN_EDGE : i + 1;
}

static void pattern_write(unsigned char *p, size_t size, uint32_t seed)
{
    for (size_t i = 0; i < size; i = pattern_next(i, size))
        p[i] = pattern_byte(seed, i);
}

static bool pattern_holds(const unsigned char *p, size_t size, uint32_t seed)
{
    for (size_t i = 0; i < size; i = pattern_next(i, size))
        if (p[i] != pattern_byte(seed, i))
            return false;
    return true;
}

/* The constructed state of the object at p: a pattern seeded by its address. */
static uint32_t constructed_seed(const void *p) { return (uint32_t)((uintptr_t)p >> 3) ^ 0xc0de; }

/* One constructor per slot, so each knows its object size. */
static void construct(unsigned slot, void *object)
{
    active->caches[slot].constructed++;
    pattern_write(object, active->caches[slot].size, constructed_seed(object));
}

#define CTOR(i) static void ctor_##i(void *object) { construct(i, object); }
CTOR(0) CTOR(1) CTOR(2) CTOR(3) CTOR(4) CTOR(5) CTOR(6) CTOR(7) CTOR(8) CTOR(9) CTOR(10) CTOR(11)
static void (*const ctors[SLAB_MODEL_CACHES])(void *) = {
    ctor_0, ctor_1, ctor_2, ctor_3, ctor_4, ctor_5, ctor_6, ctor_7, ctor_8, ctor_9, ctor_10, ctor_11,
};

/* ---- starting and the cache slots ------------------------------------------------------ */

void slab_model_start(struct slab_model *m, size_t objects, size_t blocks)
{
    struct heap_stats s;

    memset(m, 0, sizeof(*m));
    active = m;
    m->objects = malloc(objects * sizeof(*m->objects));
    m->object_capacity = objects;
    m->blocks = malloc(blocks * sizeof(*m->blocks));
    m->block_capacity = blocks;
    kmem_cache_init();
    heap_on_refusal(hear_refusal);
    memset(&heard, 0, sizeof(heard));
    heap_get_stats(&s);
    m->start_free_bytes = s.free_bytes;
    m->heap_refusals = s.refused_frees;
}

/* Forget the recently freed objects of a slot: their slabs may have gone back to the heap. */
static void freed_forget(struct slab_model *m, unsigned slot)
{
    for (unsigned i = 0; i < SLAB_MODEL_FREED; i++)
        if (m->freed[i].slot == slot)
            m->freed[i].ptr = 0;
}

static bool destroy_slot(struct slab_model *m, unsigned slot)
{
    struct slab_model_cache *c = &m->caches[slot];
    int result = kmem_cache_destroy(c->cache);

    if (c->live != 0)
        return result != 0 ? true : fail(m, "destroy of a cache with %zu live objects", c->live);
    if (result != 0)
        return fail(m, "destroy of an empty cache refused");
    freed_forget(m, slot);
    memset(c, 0, sizeof(*c));
    return true;
}

bool slab_model_create(struct slab_model *m, unsigned slot, size_t size, size_t align, bool ctor)
{
    struct slab_model_cache *c = &m->caches[slot % SLAB_MODEL_CACHES];

    if (m->failure[0] != '\0')
        return false;
    m->operations++;
    slot %= SLAB_MODEL_CACHES;
    if (c->cache != NULL && (!destroy_slot(m, slot) || c->cache != NULL))
        return m->failure[0] == '\0';
    c->cache = kmem_cache_create("model", size, align, ctor ? ctors[slot] : NULL);
    if (c->cache == NULL)
        return true;                /* out of memory (the differential test asks only valid sizes) */
    c->size = size;
    c->align = c->cache->align;
    c->has_ctor = ctor;
    if (c->cache->object_size != size || c->align < 8 || (align != 0 && c->align < align))
        return fail(m, "cache of %zu bytes aligned %zu made as %zu aligned %zu", size, align,
                    c->cache->object_size, c->align);
    return true;
}

/* ---- allocating and freeing objects ------------------------------------------------------- */

/* Is object p, just handed out by this slot's cache, where the cache's rules put it? */
static bool object_placed(struct slab_model *m, const struct slab_model_cache *c, uintptr_t p)
{
    uintptr_t slab = heap_slab_of((void *)p);

    if (p % c->align != 0 || slab == 0 || (p & ~(c->cache->slab_bytes - 1)) != slab)
        return fail(m, "object 0x%lx of a %zu-byte cache misplaced", (unsigned long)p, c->size);
    if ((p - slab - c->cache->first_offset) % c->cache->stride != 0 ||
        p + c->size > slab + c->cache->slab_bytes)
        return fail(m, "object 0x%lx is no slot of its slab", (unsigned long)p);
    if (c->has_ctor && !pattern_holds((void *)p, c->size, constructed_seed((void *)p)))
        return fail(m, "object 0x%lx not in its constructed state", (unsigned long)p);
    return true;
}

static bool could_allocate(struct kmem_cache *cache)
{
    struct kmem_cache_stats s;

    kmem_cache_get_stats(cache, &s);
    return s.partial_slabs + s.empty_slabs != 0;
}

/* kmem_cache_alloc returned NULL: only right when no slab had room and the heap has no slab. */
static bool allocation_failed(struct slab_model *m, struct slab_model_cache *c, bool had_room)
{
    void *page;

    c->failed++;
    m->failed_allocations++;
    if (had_room)
        return fail(m, "allocation failed though a slab had room");
    page = kmalloc(c->cache->slab_bytes);
    kfree(page);
    return page == NULL ? true : fail(m, "allocation failed though the heap had a slab free");
}

bool slab_model_alloc(struct slab_model *m, unsigned slot)
{
    struct slab_model_cache *c = &m->caches[slot % SLAB_MODEL_CACHES];
    struct slab_model_object *o = &m->objects[m->object_count];

    if (m->failure[0] != '\0')
        return false;
    if (c->cache == NULL || m->object_count == m->object_capacity)
        return true;
    m->operations++;
    bool had_room = could_allocate(c->cache);
    unsigned char *p = kmem_cache_alloc(c->cache);
    if (p == NULL)
        return allocation_failed(m, c, had_room);
    c->live++;
    c->allocations++;
    if (!object_placed(m, c, (uintptr_t)p))
        return false;
    *o = (struct slab_model_object){.ptr = p, .slot = slot % SLAB_MODEL_CACHES, .tag = ++m->next_tag};
    pattern_write(p, c->size, o->tag);
    m->object_count++;
    return true;
}

static void object_forget(struct slab_model *m, size_t i)
{
    m->objects[i] = m->objects[--m->object_count];
}

bool slab_model_free(struct slab_model *m, size_t index)
{
    if (m->failure[0] != '\0')
        return false;
    if (m->object_count == 0)
        return true;
    m->operations++;
    index %= m->object_count;
    struct slab_model_object o = m->objects[index];
    struct slab_model_cache *c = &m->caches[o.slot];
    if (!pattern_holds(o.ptr, c->size, o.tag))
        return fail(m, "live object 0x%lx was overwritten", (unsigned long)(uintptr_t)o.ptr);
    if (c->has_ctor)
        pattern_write(o.ptr, c->size, constructed_seed(o.ptr));
    kmem_cache_free(c->cache, o.ptr);
    if (heard.calls != m->refusals_heard)
        return fail(m, "free of live object 0x%lx refused: %s", (unsigned long)(uintptr_t)o.ptr,
                    heap_status_name(heard.why));
    c->live--;
    c->frees++;
    object_forget(m, index);
    m->freed[m->freed_next] = (struct slab_model_freed){(uintptr_t)o.ptr, o.slot};
    m->freed_next = (m->freed_next + 1) % SLAB_MODEL_FREED;
    return true;
}

/* ---- kmalloc blocks -------------------------------------------------------------------------- */

bool slab_model_kmalloc(struct slab_model *m, size_t size)
{
    unsigned char *p;

    if (m->failure[0] != '\0')
        return false;
    if (m->block_count == m->block_capacity || size == 0)
        return true;
    m->operations++;
    p = kmalloc(size);
    if (p == NULL)
        return true;
    if (heap_slab_of(p) != 0 || ksize(p) < size)
        return fail(m, "kmalloc(%zu) gave 0x%lx inside a slab", size, (unsigned long)(uintptr_t)p);
    m->blocks[m->block_count] = (struct slab_model_block){p, size, ++m->next_tag};
    pattern_write(p, size, m->next_tag);
    m->block_count++;
    return true;
}

bool slab_model_kfree(struct slab_model *m, size_t index)
{
    if (m->failure[0] != '\0')
        return false;
    if (m->block_count == 0)
        return true;
    m->operations++;
    index %= m->block_count;
    struct slab_model_block b = m->blocks[index];
    if (!pattern_holds(b.ptr, b.size, b.tag))
        return fail(m, "kmalloc block 0x%lx was overwritten", (unsigned long)(uintptr_t)b.ptr);
    if (heap_free(b.ptr) != HEAP_OK)
        return fail(m, "kfree of a live kmalloc block refused");
    m->blocks[index] = m->blocks[--m->block_count];
    return true;
}

/* ---- shrinking --------------------------------------------------------------------------------- */

bool slab_model_shrink(struct slab_model *m, unsigned slot)
{
    struct slab_model_cache *c = &m->caches[slot % SLAB_MODEL_CACHES];
    struct kmem_cache_stats before, after;
    struct heap_stats heap_before, heap_after;

    if (m->failure[0] != '\0')
        return false;
    if (c->cache == NULL)
        return true;
    m->operations++;
    kmem_cache_get_stats(c->cache, &before);
    heap_get_stats(&heap_before);
    size_t given = kmem_cache_shrink(c->cache);
    kmem_cache_get_stats(c->cache, &after);
    heap_get_stats(&heap_after);
    freed_forget(m, slot % SLAB_MODEL_CACHES);
    if (given != before.empty_slabs * before.slab_bytes || after.empty_slabs != 0 ||
        after.slabs != before.slabs - before.empty_slabs)
        return fail(m, "shrink gave back %zu bytes of %zu empty slabs", given, before.empty_slabs);
    if (heap_after.free_bytes != heap_before.free_bytes + given)
        return fail(m, "shrink's %zu bytes did not reach the heap", given);
    return true;
}

/* ---- bad frees --------------------------------------------------------------------------------- */

/* Some other live cache than slot's, or NULL. */
static struct kmem_cache *other_cache(struct slab_model *m, unsigned slot, uint32_t choice)
{
    for (unsigned k = 1; k < SLAB_MODEL_CACHES; k++) {
        unsigned s = (slot + k + choice) % SLAB_MODEL_CACHES;
        if (s != slot && m->caches[s].cache != NULL)
            return m->caches[s].cache;
    }
    return NULL;
}

static bool object_live(const struct slab_model *m, uintptr_t p)
{
    for (size_t i = 0; i < m->object_count; i++)
        if ((uintptr_t)m->objects[i].ptr == p)
            return true;
    return false;
}

/* A bad free to make: which cache gets which pointer, and the status expected. */
struct bad_free {
    enum slab_model_bad_free kind;
    struct kmem_cache *cache;       /* the cache it is given to (may be NULL) */
    unsigned char *ptr;
    enum heap_status why;
    struct slab_model_cache *counted;   /* the slot whose refused count goes up, or NULL */
};

static unsigned char outside_the_heap[64];

/* Fill in b for a kind that needs a live object; false when there is nothing to do it with. */
static bool bad_free_of_object(struct slab_model *m, struct bad_free *b, uint32_t choice)
{
    struct slab_model_object *o = &m->objects[choice % m->object_count];
    struct slab_model_cache *c = &m->caches[o->slot];

    *b = (struct bad_free){b->kind, c->cache, o->ptr, HEAP_NOT_AN_OBJECT, c};
    if (b->kind == SLAB_FREE_WRONG_CACHE) {
        b->cache = other_cache(m, o->slot, choice);
        b->why = HEAP_WRONG_CACHE;
        b->counted = NULL;
        for (unsigned s = 0; s < SLAB_MODEL_CACHES; s++)
            if (b->cache != NULL && m->caches[s].cache == b->cache)
                b->counted = &m->caches[s];
        return b->cache != NULL;
    }
    if (b->kind == SLAB_FREE_INTERIOR)
        b->ptr += 1 + (choice >> 8) % (c->cache->stride - 1);
    if (b->kind == SLAB_FREE_NO_CACHE)
        *b = (struct bad_free){b->kind, NULL, o->ptr, HEAP_NOT_AN_OBJECT, NULL};
    if (b->kind == SLAB_KFREE_OBJECT || b->kind == SLAB_KREALLOC_OBJECT)
        *b = (struct bad_free){b->kind, NULL, o->ptr, HEAP_SLAB_MEMORY, NULL};
    return true;
}

static bool bad_free_choose(struct slab_model *m, struct bad_free *b, uint32_t choice)
{
    unsigned k = choice % SLAB_MODEL_FREED;

    switch (b->kind) {
    case SLAB_FREE_TWICE:
        if (m->freed[k].ptr == 0 || object_live(m, m->freed[k].ptr))
            return false;
        *b = (struct bad_free){b->kind, m->caches[m->freed[k].slot].cache,
                               (unsigned char *)m->freed[k].ptr, HEAP_DOUBLE_FREE,
                               &m->caches[m->freed[k].slot]};
        return true;
    case SLAB_FREE_KMALLOC_BLOCK:
    case SLAB_FREE_OUTSIDE:
        if (m->block_count == 0 || m->caches[choice % SLAB_MODEL_CACHES].cache == NULL)
            return false;
        *b = (struct bad_free){b->kind, m->caches[choice % SLAB_MODEL_CACHES].cache,
                               b->kind == SLAB_FREE_OUTSIDE ? outside_the_heap + choice % 64 :
                               m->blocks[choice % m->block_count].ptr,
                               HEAP_NOT_AN_OBJECT, &m->caches[choice % SLAB_MODEL_CACHES]};
        return true;
    default:
        return m->object_count != 0 && bad_free_of_object(m, b, choice);
    }
}

static void bad_free_do(const struct bad_free *b, void **returned)
{
    *returned = NULL;
    if (b->kind == SLAB_KFREE_OBJECT)
        kfree(b->ptr);
    else if (b->kind == SLAB_KREALLOC_OBJECT)
        *returned = krealloc(b->ptr, 16);
    else
        kmem_cache_free(b->cache, b->ptr);
}

/* Did the handler hear the call b made, and the name of the cache it gave (if any)? */
static bool heard_from(const struct bad_free *b)
{
    bool by_cache = b->kind != SLAB_KFREE_OBJECT && b->kind != SLAB_KREALLOC_OBJECT;
    const char *function = by_cache                           ? "kmem_cache_free"
                           : b->kind == SLAB_KFREE_OBJECT     ? "kfree"
                                                              : "krealloc";
    const char *cache = by_cache && b->cache != NULL ? b->cache->name : NULL;

    if (strcmp(heard.function, function) != 0)
        return false;
    if (cache == NULL)
        return heard.cache == NULL;
    return heard.cache != NULL && strcmp(heard.cache, cache) == 0;
}

/* Every slot's statistics, to compare before and after a refusal. */
static void all_stats(const struct slab_model *m, struct kmem_cache_stats *out)
{
    memset(out, 0, SLAB_MODEL_CACHES * sizeof(*out));
    for (unsigned s = 0; s < SLAB_MODEL_CACHES; s++)
        if (m->caches[s].cache != NULL)
            kmem_cache_get_stats(m->caches[s].cache, &out[s]);
}

bool slab_model_bad_free(struct slab_model *m, enum slab_model_bad_free kind, uint32_t choice)
{
    struct bad_free b = {.kind = kind};
    struct kmem_cache_stats before[SLAB_MODEL_CACHES], after[SLAB_MODEL_CACHES];
    struct heap_stats heap_before, heap_after;
    void *returned;

    if (m->failure[0] != '\0')
        return false;
    if (!bad_free_choose(m, &b, choice))
        return true;
    m->operations++;
    m->bad_frees++;
    all_stats(m, before);
    heap_get_stats(&heap_before);
    bad_free_do(&b, &returned);
    all_stats(m, after);
    heap_get_stats(&heap_after);
    m->refusals_heard++;
    m->heap_refusals++;
    if (b.counted != NULL) {
        b.counted->refused++;
        before[b.counted - m->caches].refused_frees++;
    }
    if (heard.calls != m->refusals_heard || heard.ptr != b.ptr || heard.why != b.why ||
        !heard_from(&b) || returned != NULL)
        return fail(m, "bad free %d of 0x%lx: heard %zu calls, \"%s\", wanted \"%s\"", (int)kind,
                    (unsigned long)(uintptr_t)b.ptr, heard.calls, heap_status_name(heard.why),
                    heap_status_name(b.why));
    heap_before.refused_frees++;
    if (memcmp(before, after, sizeof(before)) != 0 ||
        memcmp(&heap_before, &heap_after, sizeof(heap_before)) != 0)
        return fail(m, "bad free %d of 0x%lx changed the statistics", (int)kind,
                    (unsigned long)(uintptr_t)b.ptr);
    return true;
}

/* ---- checking ------------------------------------------------------------------------------------ */

struct span {
    uintptr_t start, end;
};

static int span_order(const void *a, const void *b)
{
    const struct span *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/* No two live objects or blocks share a byte. */
static bool spans_disjoint(struct slab_model *m)
{
    size_t n = m->object_count + m->block_count;
    struct span *spans = malloc((n + 1) * sizeof(*spans));
    bool disjoint = true;

    for (size_t i = 0; i < m->object_count; i++)
        spans[i] = (struct span){(uintptr_t)m->objects[i].ptr,
                                 (uintptr_t)m->objects[i].ptr + m->caches[m->objects[i].slot].size};
    for (size_t i = 0; i < m->block_count; i++)
        spans[m->object_count + i] = (struct span){(uintptr_t)m->blocks[i].ptr,
                                                   (uintptr_t)m->blocks[i].ptr + m->blocks[i].size};
    qsort(spans, n, sizeof(*spans), span_order);
    for (size_t i = 1; i < n; i++)
        disjoint &= spans[i - 1].end <= spans[i].start;
    free(spans);
    return disjoint ? true : fail(m, "two live objects or blocks overlap");
}

static bool cache_agrees(struct slab_model *m, unsigned slot)
{
    const struct slab_model_cache *c = &m->caches[slot];
    struct kmem_cache_stats s;

    kmem_cache_get_stats(c->cache, &s);
    if (s.active_objects != c->live || s.allocations != c->allocations || s.frees != c->frees ||
        s.failed_allocations != c->failed || s.refused_frees != c->refused)
        return fail(m, "slot %u: cache counts %zu live %zu/%zu/%zu/%zu, model %zu %zu/%zu/%zu/%zu",
                    slot, s.active_objects, s.allocations, s.frees, s.failed_allocations,
                    s.refused_frees, c->live, c->allocations, c->frees, c->failed, c->refused);
    if (s.total_objects != s.slabs * s.objects_per_slab || s.active_objects > s.total_objects ||
        (c->has_ctor ? c->constructed % s.objects_per_slab != 0 ||
                       c->constructed < s.total_objects : c->constructed != 0))
        return fail(m, "slot %u: %zu constructor calls for %zu objects in %zu slabs", slot,
                    c->constructed, s.total_objects, s.slabs);
    return true;
}

bool slab_model_check(struct slab_model *m)
{
    struct kmem_cache_violation found = {0};
    struct heap_violation broken = {0};
    struct heap_stats heap;

    if (m->failure[0] != '\0')
        return false;
    if (heap_check_report(&broken) != 0)
        return fail(m, "heap_check: %s at 0x%lx", broken.what, (unsigned long)broken.address);
    if (kmem_cache_check(&found) != 0)
        return fail(m, "kmem_cache_check: %s (slab 0x%lx)", found.what, (unsigned long)found.slab);
    heap_get_stats(&heap);
    if (heap.refused_frees != m->heap_refusals || heard.calls != m->refusals_heard)
        return fail(m, "heap counts %zu refusals, model %zu", heap.refused_frees, m->heap_refusals);
    for (unsigned s = 0; s < SLAB_MODEL_CACHES; s++)
        if (m->caches[s].cache != NULL && !cache_agrees(m, s))
            return false;
    return spans_disjoint(m);
}

bool slab_model_finish(struct slab_model *m)
{
    struct heap_stats heap;

    slab_model_check(m);
    while (m->object_count != 0 && slab_model_free(m, 0))
        continue;
    while (m->block_count != 0 && slab_model_kfree(m, 0))
        continue;
    for (unsigned s = 0; s < SLAB_MODEL_CACHES && m->failure[0] == '\0'; s++)
        if (m->caches[s].cache != NULL)
            destroy_slot(m, s);
    heap_get_stats(&heap);
    if (m->failure[0] == '\0' && (kmem_caches != NULL || heap.free_bytes != m->start_free_bytes))
        fail(m, "after destroying every cache the heap has %zu free bytes, not %zu",
             heap.free_bytes, m->start_free_bytes);
    if (m->failure[0] == '\0' && (heap_check() != 0 || kmem_cache_check(NULL) != 0))
        fail(m, "the empty heap fails its checks");
    free(m->objects);
    free(m->blocks);
    return m->failure[0] == '\0';
}
