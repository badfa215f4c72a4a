/*
 * slab.c - slab caches: kmem_cache_create, _alloc, _free, _shrink, _destroy.
 *
 * Bonwick's slab allocator (USENIX 1994) with a per-slab bitmap in place of
 * his free list, and SLUB's checks (Linux mm/slub.c): a pointer is proved an
 * object start of this cache before anything is written, on the common path
 * by reading the heap's frame table inline (heap_window_slab_at). Slabs are page
 * blocks from heap_alloc_unsampled, marked in the heap's frame table
 * (heap_mark_slab) so that kfree refuses them. Objects of a cache without a
 * constructor take the heap's poison and red zones in its debug mode (slab.h).
 * Pure C11, no I/O: the host builds it for tests.
 * No locking, no slab colouring, no per-CPU caches, no automatic reclaim.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/heap.h"
#include "memory/slab.h"

#define MAP_BITS 32u                    /* bits in one free_map word */
#define MAP_WORDS_MAX 16u               /* free_map words: one bit each in free_words */
#define MAX_OBJECTS (MAP_WORDS_MAX * MAP_BITS)
#define MAX_SLAB_BYTES ((size_t)HEAP_PAGE_BYTES << KMEM_SLAB_MAX_ORDER)
#define OUT_OF_LINE __attribute__((noinline))   /* keeps the common path free of its registers */
#define DEBUG_FLAGS (HEAP_DEBUG_POISON | HEAP_DEBUG_REDZONE)    /* what a cache can keep */

_Static_assert((KMEM_CACHE_MAX_ALIGN & (KMEM_CACHE_MAX_ALIGN - 1)) == 0, "a power of two");
_Static_assert(KMEM_CACHE_MIN_ALIGN >= HEAP_ALIGNMENT, "objects keep kmalloc's alignment");
_Static_assert(_Alignof(struct slab) <= KMEM_CACHE_MIN_ALIGN, "a slab header is aligned");
_Static_assert(sizeof(struct slab) % sizeof(uint32_t) == 0, "free_map follows the header");
_Static_assert(MAX_SLAB_BYTES / KMEM_CACHE_MIN_ALIGN <= UINT16_MAX, "free_count fits");
_Static_assert(MAP_WORDS_MAX <= 8 * sizeof(((struct slab *)0)->free_words), "a bit per word");
/* A one-page slab (every small object's) never reaches the cap objects_fitting sets. */
_Static_assert(HEAP_PAGE_BYTES / KMEM_CACHE_MIN_ALIGN <= MAX_OBJECTS, "one page, 16 words");
/* object_index's multiplication is exact for offsets below 2^15 and strides to 2^13 (see there):
   a red zone takes a stride at most to KMEM_CACHE_MAX_SIZE + KMEM_CACHE_MAX_ALIGN. */
_Static_assert(MAX_SLAB_BYTES <= 1u << 15 && KMEM_CACHE_MAX_SIZE + KMEM_CACHE_MAX_ALIGN <= 1u << 13,
               "offsets and strides small enough for the reciprocal");
_Static_assert(KMEM_CACHE_MAX_SIZE >= 2048, "the issue asks for objects up to 2 KiB");

struct kmem_cache *kmem_caches;
static kmem_cache_report_fn on_report;

/* The take list of every cache that debugs: always empty (see struct kmem_cache). */
static struct slab_list no_slabs = {&no_slabs, &no_slabs};

/* ---- lists: circular, doubly linked, a sentinel head in the cache --------------- */

static void list_init(struct slab_list *head) { head->next = head->prev = head; }

static bool list_empty(const struct slab_list *head) { return head->next == head; }

/* node after head (the list's first). In this order the compiler keeps them plain stores. */
static void list_push(struct slab_list *head, struct slab_list *node)
{
    struct slab_list *first = head->next;

    node->next = first;
    first->prev = node;
    node->prev = head;
    head->next = node;
}

/*
 * node before head (the list's last). The same as list_push(head->prev, node),
 * written out: so ordered, W6 measures 0.2 instructions an operation fewer.
 */
static void list_push_tail(struct slab_list *head, struct slab_list *node)
{
    struct slab_list *last = head->prev;

    node->prev = last;
    last->next = node;
    node->next = head;
    head->prev = node;
}

static void list_remove(struct slab_list *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
}

static void list_move(struct slab_list *node, struct slab_list *head)
{
    list_remove(node);
    list_push(head, node);
}

static void list_move_tail(struct slab_list *node, struct slab_list *head)
{
    list_remove(node);
    list_push_tail(head, node);
}

static struct slab *slab_of_link(struct slab_list *node) { return (struct slab *)node; }

/* The list a slab belongs on, by its free count (kmem_cache_check's rule). */
static const struct slab_list *list_for(const struct kmem_cache *cache, const struct slab *slab)
{
    if (slab->free_count == 0)
        return &cache->full;
    return slab->free_count == cache->objects_per_slab ? &cache->empty : &cache->partial;
}

/* ---- geometry: how a cache lays out its slabs ------------------------------------------ */

static size_t round_up(size_t n, size_t align) { return (n + align - 1) & ~(align - 1); }

static bool power_of_two(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

static size_t map_words(size_t objects) { return (objects + MAP_BITS - 1) / MAP_BITS; }

/* The bits of the bitmap's last word that stand for objects: all 32 when objects is a multiple. */
static uint32_t last_word_mask(size_t objects)
{
    return (uint32_t)(((uint64_t)1 << ((objects - 1) % MAP_BITS + 1)) - 1);
}

/* Where object 0 starts when a slab holds this many: after the header and its bitmap. */
static size_t first_offset_for(size_t objects, size_t align)
{
    return round_up(sizeof(struct slab) + map_words(objects) * sizeof(uint32_t), align);
}

/* The default alignment, and the floor every alignment is raised to. */
static size_t align_for(size_t size, size_t align)
{
    if (align == 0 && power_of_two(size))
        align = size < 64 ? size : 64;
    return align < KMEM_CACHE_MIN_ALIGN ? KMEM_CACHE_MIN_ALIGN : align;
}

/* The most objects of cache->stride bytes a slab of cache->slab_bytes holds, MAX_OBJECTS at most. */
static size_t objects_fitting(const struct kmem_cache *cache)
{
    size_t fit = (cache->slab_bytes - sizeof(struct slab)) / cache->stride;
    size_t n = fit < MAX_OBJECTS ? fit : MAX_OBJECTS;

    while (n > 0 && first_offset_for(n, cache->align) + n * cache->stride > cache->slab_bytes)
        n--;
    return n;
}

/*
 * Pick the smallest slab, 2^order pages, that loses at most an eighth of its
 * bytes to the header, the bitmap, alignment padding and the unused tail.
 * Every size and alignment create allows meets this by order 3 (a unit test
 * tries them all); KMEM_SLAB_MAX_ORDER is the fallback that is never taken.
 */
static void cache_geometry(struct kmem_cache *cache)
{
    for (unsigned order = 0; order <= KMEM_SLAB_MAX_ORDER; order++) {
        cache->slab_bytes = (size_t)HEAP_PAGE_BYTES << order;
        cache->objects_per_slab = (unsigned)objects_fitting(cache);
        size_t used = cache->objects_per_slab * cache->stride;
        if (cache->objects_per_slab > 0 && (cache->slab_bytes - used) * 8 <= cache->slab_bytes)
            break;
    }
    cache->first_offset = first_offset_for(cache->objects_per_slab, cache->align);
    cache->slab_mask = ~(uintptr_t)(cache->slab_bytes - 1);
    cache->reciprocal = (uint32_t)((((uint64_t)1 << 32) + cache->stride - 1) / cache->stride);
}

/* ---- creating a cache ---------------------------------------------------------------- */

static bool create_allowed(const char *name, size_t size, size_t align)
{
    if (name == NULL || size == 0 || size > KMEM_CACHE_MAX_SIZE)
        return false;
    return align == 0 || (power_of_two(align) && align <= KMEM_CACHE_MAX_ALIGN);
}

/* Bytes from one object to the next: the size rounded up, after a red zone of at least a byte. */
static size_t stride_for(size_t size, size_t align, unsigned debug)
{
    return round_up(size + ((debug & HEAP_DEBUG_REDZONE) != 0), align);
}

/* The heap's flags a new cache keeps: none with a constructor (see slab.h). */
static unsigned debug_for(void (*ctor)(void *object))
{
    return ctor == NULL ? heap_debug_flags() & DEBUG_FLAGS : 0;
}

static void cache_setup(struct kmem_cache *cache, const char *name, size_t size, size_t align,
                        void (*ctor)(void *object))
{
    size_t i;

    *cache = (struct kmem_cache){.object_size = size, .align = align, .ctor = ctor,
                                 .debug = debug_for(ctor)};
    for (i = 0; i + 1 < KMEM_CACHE_NAME_BYTES && name[i] != '\0'; i++)
        cache->name[i] = name[i];
    cache->name[i] = '\0';
    cache->stride = stride_for(size, align, cache->debug);
    cache_geometry(cache);
    list_init(&cache->full);
    list_init(&cache->partial);
    list_init(&cache->empty);
    cache->take = cache->debug != 0 ? &no_slabs : &cache->partial;
}

void kmem_cache_init(void)
{
    kmem_caches = NULL;
    on_report = NULL;
}

struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
                                     void (*ctor)(void *object))
{
    struct kmem_cache *cache, **link = &kmem_caches;

    if (!create_allowed(name, size, align))
        return NULL;
    cache = kmalloc(sizeof(*cache));
    if (cache == NULL)
        return NULL;
    cache_setup(cache, name, size, align_for(size, align), ctor);
    while (*link != NULL)
        link = &(*link)->next;
    *link = cache;
    return cache;
}

/* ---- slabs ---------------------------------------------------------------------------- */

static uintptr_t object_at(const struct kmem_cache *cache, const struct slab *slab, unsigned i)
{
    return (uintptr_t)slab + cache->first_offset + i * cache->stride;
}

/* Every object free: the first objects_per_slab bits set, the rest of the last word clear. */
static void slab_map_fill(struct slab *slab, unsigned objects)
{
    size_t words = map_words(objects);

    for (size_t w = 0; w + 1 < words; w++)
        slab->free_map[w] = UINT32_MAX;
    slab->free_map[words - 1] = last_word_mask(objects);
    slab->free_words = (uint16_t)((1u << words) - 1);
}

/* ---- debugging: poison and red zones (slab.h) ------------------------------------------ */

/*
 *   object      + object_size - 1                        + stride
 *   | 0x6b 0x6b ... 0x6b 0xa5 | 0xcc 0xcc ... 0xcc |     the next object
 *   |<-- poison (while free) ->|<---- red zone ---->|
 */
static void object_poison(const struct kmem_cache *cache, unsigned char *object)
{
    __builtin_memset(object, HEAP_POISON_FREE, cache->object_size - 1);
    object[cache->object_size - 1] = HEAP_POISON_END;
}

static void redzone_fill(const struct kmem_cache *cache, unsigned char *object)
{
    __builtin_memset(object + cache->object_size, HEAP_POISON_REDZONE,
                     cache->stride - cache->object_size);
}

/* What byte `offset` of a free, poisoned object should be. */
static uint8_t poison_at(const struct kmem_cache *cache, size_t offset)
{
    return offset + 1 == cache->object_size ? HEAP_POISON_END : HEAP_POISON_FREE;
}

/* The offset of the first byte of a free object that is not poison, or object_size. */
static size_t poison_damage(const struct kmem_cache *cache, const unsigned char *object)
{
    size_t i = 0;

    while (i < cache->object_size && object[i] == poison_at(cache, i))
        i++;
    return i;
}

/* The offset of the first red-zone byte that is not 0xcc, or stride (none). */
static size_t redzone_damage(const struct kmem_cache *cache, const unsigned char *object)
{
    size_t i = cache->object_size;

    while (i < cache->stride && object[i] == HEAP_POISON_REDZONE)
        i++;
    return i;
}

/* The first changed byte of an object, at offset, to the heap's debug report handler. */
static void object_report(const struct kmem_cache *cache, enum heap_debug_kind kind,
                          const unsigned char *object, size_t offset, uint8_t expected,
                          const void *caller)
{
    struct heap_debug_report report = {
        .kind = kind, .block = (uintptr_t)object, .payload = (uintptr_t)object,
        .scale = (unsigned)__builtin_ctzl((unsigned long)cache->slab_bytes),
        .requested = kind == HEAP_OUT_OF_BOUNDS ? cache->object_size : 0,
        .offset = offset, .expected = expected, .found = object[offset], .caller = caller,
    };

    heap_debug_report_emit(&report);
}

/* kmem_cache_alloc: an object handed out again must hold its poison. */
static void poison_verify(const struct kmem_cache *cache, const unsigned char *object,
                          const void *caller)
{
    size_t bad = poison_damage(cache, object);

    if (bad < cache->object_size)
        object_report(cache, HEAP_USE_AFTER_FREE, object, bad, poison_at(cache, bad), caller);
}

/* kmem_cache_free: the red zone checked (and written whole again), then the poison. */
static void object_debug_free(const struct kmem_cache *cache, unsigned char *object,
                              const void *caller)
{
    if (cache->debug & HEAP_DEBUG_REDZONE) {
        size_t bad = redzone_damage(cache, object);
        if (bad < cache->stride) {
            object_report(cache, HEAP_OUT_OF_BOUNDS, object, bad, HEAP_POISON_REDZONE, caller);
            redzone_fill(cache, object);
        }
    }
    if (cache->debug & HEAP_DEBUG_POISON)
        object_poison(cache, object);
}

/* A new slab's objects, free: poisoned and red-zoned as the cache keeps them. */
static void slab_debug_fill(const struct kmem_cache *cache, const struct slab *slab)
{
    for (unsigned i = 0; i < cache->objects_per_slab; i++) {
        unsigned char *object = (unsigned char *)object_at(cache, slab, i);
        if (cache->debug & HEAP_DEBUG_POISON)
            object_poison(cache, object);
        if (cache->debug & HEAP_DEBUG_REDZONE)
            redzone_fill(cache, object);
    }
}

/* ---- making and releasing slabs ---------------------------------------------------------- */

/*
 * A new slab on the empty list, every object constructed (or poisoned). Its
 * page block comes from heap_alloc_unsampled, never from a sampler's pool:
 * it is a live page block of the heap, unmarked, so marking it cannot fail.
 * A debugging cache gets no window, so its frees all take the careful way.
 */
static struct slab *slab_create(struct kmem_cache *cache)
{
    struct slab *slab = heap_alloc_unsampled(cache->slab_bytes);

    if (slab == NULL)
        return NULL;
    (void)heap_mark_slab(slab, 1);
    if (cache->debug == 0)
        (void)heap_frame_window_of(slab, &cache->window);
    slab->cache = cache;
    slab->free_count = (uint16_t)cache->objects_per_slab;
    slab_map_fill(slab, cache->objects_per_slab);
    if (cache->debug != 0)
        slab_debug_fill(cache, slab);
    for (unsigned i = 0; cache->ctor != NULL && i < cache->objects_per_slab; i++)
        cache->ctor((void *)object_at(cache, slab, i));
    list_push(&cache->empty, &slab->link);
    cache->slabs++;
    return slab;
}

static inline bool object_free(const struct slab *slab, unsigned i)
{
    return (slab->free_map[i / MAP_BITS] >> (i % MAP_BITS)) & 1u;
}

static inline void slab_give(struct slab *slab, unsigned i)
{
    slab->free_map[i / MAP_BITS] |= (uint32_t)1 << (i % MAP_BITS);
    slab->free_words |= (uint16_t)(1u << (i / MAP_BITS));
    slab->free_count++;
}

/* Hand an empty slab back to the heap; false (and kept) if the heap says it is no slab. */
static bool slab_release(struct kmem_cache *cache, struct slab *slab)
{
    if (heap_mark_slab(slab, 0) != HEAP_OK)
        return false;
    list_remove(&slab->link);
    cache->slabs--;
    kfree(slab);
    return true;
}

/* ---- allocating ------------------------------------------------------------------------ */

/* The slab's last free object is gone: it joins the full list. */
static inline void slab_filled(struct kmem_cache *cache, struct slab *slab)
{
    list_move(&slab->link, &cache->full);
}

/*
 * The lowest free object of a partial slab (see the picture in slab.h): a
 * partial slab fills up before an empty one is touched, so empty slabs stay
 * whole for shrinking. When the object's word empties, the word's bit in
 * free_words (set, since the word had a free object) is flipped off without
 * a branch: which words empty is as random as the frees were, and a branch
 * would often guess wrong (callgrind's branch model: a quarter fewer misses
 * in W6 than with one). Only a slab's last object moves it (to the full list).
 */
static inline void *partial_take(struct kmem_cache *cache, struct slab *slab)
{
    unsigned word = (unsigned)__builtin_ctz(slab->free_words);
    uint32_t *map = &slab->free_map[word], bits = *map, rest = bits & (bits - 1);

    *map = rest;
    slab->free_words ^= (uint16_t)((uint32_t)(rest == 0) << word);
    if (--slab->free_count == 0)
        slab_filled(cache, slab);
    cache->active_objects++;
    return (void *)object_at(cache, slab, word * MAP_BITS + (unsigned)__builtin_ctz(bits));
}

/*
 * The partial list is empty: move an empty slab, else a new one, onto it
 * and take from it. NULL when the heap has no page block for a new slab.
 */
static OUT_OF_LINE void *refill_take(struct kmem_cache *cache)
{
    struct slab *slab;

    if (!list_empty(&cache->empty))
        slab = slab_of_link(cache->empty.next);
    else if ((slab = slab_create(cache)) == NULL) {
        cache->failed_allocations++;
        return NULL;
    }
    list_move(&slab->link, &cache->partial);
    return partial_take(cache, slab);
}

/* An empty take list: no partial slab, or a cache that debugs (its poison checked). */
static OUT_OF_LINE void *careful_alloc(struct kmem_cache *cache, const void *caller)
{
    unsigned char *object;

    if (list_empty(&cache->partial))
        object = refill_take(cache);
    else
        object = partial_take(cache, slab_of_link(cache->partial.next));
    if (object != NULL && (cache->debug & HEAP_DEBUG_POISON))
        poison_verify(cache, object, caller);
    return object;
}

/* Never a search: the first partial slab, else the first empty one, else a new one. */
void *kmem_cache_alloc(struct kmem_cache *cache)
{
    struct slab_list *first;

    if (cache == NULL)
        return NULL;
    first = cache->take->next;
    if (first == cache->take)
        return careful_alloc(cache, __builtin_return_address(0));
    return partial_take(cache, slab_of_link(first));
}

/* ---- freeing: validate, then write ------------------------------------------------------ */

/*
 * The index of the object starting at `object` in a slab of `cache`, and
 * whether one starts there, from one multiplication instead of a division
 * (Lemire, Kaser and Kurz, "Faster Remainder by Direct Computation", 2019).
 * With reciprocal = ceil(2^32 / stride), for every offset below 2^15 (a
 * slab's size at most) and stride up to 2^13, product = offset * reciprocal
 * gives the quotient offset / stride in its high 32 bits, and its low 32
 * bits are below reciprocal exactly when stride divides offset. Example:
 * stride 24, reciprocal 178956971; offset 72 gives 12884901912 = 3 * 2^32 + 24,
 * so index 3, and 24 < reciprocal: an object starts there; offset 80 gives
 * low bits 1431655792, not below reciprocal. A pointer before object 0
 * makes the 32-bit offset wrap round to nearly 2^32, and its quotient is
 * far beyond any slab's objects_per_slab. `object` lies in the slab.
 */
static bool object_index(const struct kmem_cache *cache, uintptr_t slab, const void *object,
                         unsigned *index)
{
    uint32_t offset = (uint32_t)((uintptr_t)object - slab - cache->first_offset);
    uint64_t product = (uint64_t)offset * cache->reciprocal;

    *index = (unsigned)(product >> 32);
    return *index < cache->objects_per_slab && (uint32_t)product < cache->reciprocal;
}

/* Why a pointer into the slab at `start`, of some other cache, is refused. */
static enum heap_status foreign_object(const void *object, uintptr_t start)
{
    const struct kmem_cache *other = ((const struct slab *)start)->cache;
    unsigned i;

    if ((uintptr_t)object - start >= other->slab_bytes || !object_index(other, start, object, &i))
        return HEAP_NOT_AN_OBJECT;
    return HEAP_WRONG_CACHE;
}

/*
 * Find object's slab and index, reading nothing the heap has not vouched for:
 * heap_slab_of says which live slab (if any) holds the address, and only then
 * is the slab's header read; masking must agree with the heap. NULL is no
 * object: a slab's header comes before its objects, so no object starts at 0.
 */
static inline enum heap_status object_lookup(const struct kmem_cache *cache, const void *object,
                                             struct slab **slab, unsigned *index)
{
    uintptr_t start = heap_slab_of(object);

    if (cache == NULL || start == 0)
        return HEAP_NOT_AN_OBJECT;
    *slab = (struct slab *)start;
    if ((*slab)->cache != cache || ((uintptr_t)object & ~(cache->slab_bytes - 1)) != start)
        return foreign_object(object, start);
    if (!object_index(cache, start, object, index))
        return HEAP_NOT_AN_OBJECT;
    return object_free(*slab, *index) ? HEAP_DOUBLE_FREE : HEAP_OK;
}

/* A refused free (NULL is none: freeing it does nothing, as kfree(NULL) does). */
static OUT_OF_LINE void free_refused(struct kmem_cache *cache, const void *object,
                                     enum heap_status why, const void *caller)
{
    if (object == NULL)
        return;
    struct heap_refusal refusal = {"kmem_cache_free", NULL, object, why, caller};

    if (cache != NULL) {
        cache->refused_frees++;
        refusal.cache = cache->name;
    }
    heap_report_refusal(&refusal);
}

/*
 * Give object i back to its slab. Only a full slab's first free object, or
 * an object that empties its slab, moves it. A full slab goes to the partial
 * list's end, behind the slab kmem_cache_alloc is filling: it gathers more
 * free objects before its turn, so slabs move less often than if each free
 * made it the next to fill.
 */
static inline void object_give(struct kmem_cache *cache, struct slab *slab, unsigned i)
{
    slab_give(slab, i);
    if (slab->free_count == cache->objects_per_slab)
        list_move(&slab->link, &cache->empty);
    else if (slab->free_count == 1)
        list_move_tail(&slab->link, &cache->partial);
    cache->active_objects--;
    cache->frees++;
}

/* Every free the fast path did not take: another region's slab, a debugging cache, a refusal. */
static OUT_OF_LINE void careful_free(struct kmem_cache *cache, void *object, const void *caller)
{
    struct slab *slab;
    unsigned i;
    enum heap_status why = object_lookup(cache, object, &slab, &i);

    if (why != HEAP_OK) {
        free_refused(cache, object, why, caller);
        return;
    }
    if (cache->debug != 0)
        object_debug_free(cache, object, caller);
    object_give(cache, slab, i);
}

/*
 * The fast path proves the same as object_lookup, in fewer steps and
 * without a call: masking gives the slab the object must lie in; the
 * cache's window on the frame table (of the region of its newest slab) says
 * a live slab starts there, before a byte of it is read; the slab names
 * this cache; an object of it starts at `object`; and it is allocated. Any
 * of these failing, careful_free asks heap_slab_of and decides as before.
 */
void kmem_cache_free(struct kmem_cache *cache, void *object)
{
    if (cache != NULL) {
        uintptr_t start = (uintptr_t)object & cache->slab_mask;
        struct slab *slab = (struct slab *)start;
        unsigned i;

        if (heap_window_slab_at(&cache->window, start) && slab->cache == cache &&
            object_index(cache, start, object, &i) && !object_free(slab, i)) {
            object_give(cache, slab, i);
            return;
        }
    }
    careful_free(cache, object, __builtin_return_address(0));
}

/* ---- shrinking and destroying ------------------------------------------------------------ */

size_t kmem_cache_shrink(struct kmem_cache *cache)
{
    size_t bytes = 0;

    if (cache == NULL)
        return 0;
    for (struct slab_list *node = cache->empty.next, *next; node != &cache->empty; node = next) {
        next = node->next;
        if (slab_release(cache, slab_of_link(node)))
            bytes += cache->slab_bytes;
    }
    return bytes;
}

/* The link on kmem_caches that points at cache, or NULL when it is not there. */
static struct kmem_cache **cache_link(const struct kmem_cache *cache)
{
    struct kmem_cache **link = &kmem_caches;

    while (*link != NULL && *link != cache)
        link = &(*link)->next;
    return *link == NULL ? NULL : link;
}

static int destroy_refused(const struct kmem_cache *cache, const char *what, const void *caller)
{
    if (on_report != NULL)
        on_report(cache, what, caller);
    return 1;
}

int kmem_cache_destroy(struct kmem_cache *cache)
{
    const void *caller = __builtin_return_address(0);
    struct kmem_cache **link;

    if (cache == NULL)
        return 0;
    link = cache_link(cache);
    if (link == NULL)
        return destroy_refused(cache, "not a cache", caller);
    if (cache->active_objects != 0)
        return destroy_refused(cache, "objects still allocated", caller);
    kmem_cache_shrink(cache);
    if (cache->slabs != 0)
        return destroy_refused(cache, "a slab the heap does not know as one", caller);
    *link = cache->next;
    kfree(cache);
    return 0;
}

void kmem_cache_on_report(kmem_cache_report_fn report) { on_report = report; }

/* ---- looking at caches ------------------------------------------------------------------- */

static size_t list_length(const struct slab_list *head)
{
    size_t n = 0;

    for (const struct slab_list *node = head->next; node != head; node = node->next)
        n++;
    return n;
}

void kmem_cache_get_stats(const struct kmem_cache *cache, struct kmem_cache_stats *out)
{
    *out = (struct kmem_cache_stats){
        .name = cache->name, .object_size = cache->object_size, .align = cache->align,
        .stride = cache->stride, .objects_per_slab = cache->objects_per_slab,
        .slab_bytes = cache->slab_bytes, .slabs = cache->slabs,
        .full_slabs = list_length(&cache->full), .partial_slabs = list_length(&cache->partial),
        .empty_slabs = list_length(&cache->empty), .active_objects = cache->active_objects,
        .total_objects = cache->slabs * cache->objects_per_slab,
        .allocations = cache->frees + cache->active_objects, .frees = cache->frees,
        .failed_allocations = cache->failed_allocations, .refused_frees = cache->refused_frees,
    };
}

void kmem_cache_slabinfo(const struct kmem_cache *cache, struct kmem_slabinfo *out)
{
    struct kmem_cache_stats s;

    kmem_cache_get_stats(cache, &s);
    *out = (struct kmem_slabinfo){
        .name = s.name, .active_objs = s.active_objects, .num_objs = s.total_objects,
        .objsize = s.object_size, .objperslab = s.objects_per_slab,
        .pagesperslab = s.slab_bytes / HEAP_PAGE_BYTES,
        .active_slabs = s.full_slabs + s.partial_slabs, .num_slabs = s.slabs,
    };
}

struct kmem_cache *kmem_cache_of(const void *address)
{
    uintptr_t start = heap_slab_of(address);

    return start == 0 ? NULL : ((struct slab *)start)->cache;
}

bool kmem_cache_listed(const struct kmem_cache *cache)
{
    return cache != NULL && cache_link(cache) != NULL;
}

struct kmem_cache *kmem_cache_next(const struct kmem_cache *cache)
{
    return cache == NULL ? kmem_caches : cache->next;
}

static const struct slab *current_slab(const struct kmem_cache *cache)
{
    if (!list_empty(&cache->partial))
        return (const struct slab *)cache->partial.next;
    if (!list_empty(&cache->empty))
        return (const struct slab *)cache->empty.next;
    return list_empty(&cache->full) ? NULL : (const struct slab *)cache->full.next;
}

size_t kmem_cache_slab_cells(const struct kmem_cache *cache, uintptr_t *slab,
                             unsigned char *cells, size_t max)
{
    const struct slab *current = current_slab(cache);

    *slab = (uintptr_t)current;
    if (current == NULL)
        return 0;
    for (unsigned i = 0; i < cache->objects_per_slab && i < max; i++)
        cells[i] = !object_free(current, i);
    return cache->objects_per_slab;
}

/* ---- checking every cache ------------------------------------------------------------------ */

struct check_state {
    struct kmem_cache_violation *found;
    size_t listed, active;      /* slabs and allocated objects seen on the lists so far */
    size_t marked;              /* page blocks the heap's frame table marks as slabs */
    bool search;                /* look for a marked block that no list holds */
    uintptr_t unlisted;         /* the first one found */
};

static int violation(struct check_state *st, const char *what, const struct kmem_cache *cache,
                     uintptr_t slab)
{
    if (st->found != NULL)
        *st->found = (struct kmem_cache_violation){.what = what, .cache = cache, .slab = slab};
    return 1;
}

/* May node's bytes be read as a slab of this cache? Asks only the frame table. */
static bool slab_readable(const struct kmem_cache *cache, const struct slab_list *node)
{
    uintptr_t s = (uintptr_t)node;

    return heap_slab_of(node) == s && (s & (cache->slab_bytes - 1)) == 0 &&
           heap_slab_of((const void *)(s + cache->slab_bytes - 1)) == s;
}

/* What is wrong with object i of a debugging cache's slab: NULL when nothing. */
static const char *object_damage(const struct kmem_cache *cache, const struct slab *slab,
                                 unsigned i)
{
    const unsigned char *object = (const unsigned char *)object_at(cache, slab, i);

    if ((cache->debug & HEAP_DEBUG_REDZONE) && redzone_damage(cache, object) < cache->stride)
        return "out-of-bounds write: an object's red zone is changed";
    if ((cache->debug & HEAP_DEBUG_POISON) && object_free(slab, i) &&
        poison_damage(cache, object) < cache->object_size)
        return "use-after-free write: a free object's poison is changed";
    return NULL;
}

/* A debugging cache's slab: every red zone, and every free object's poison; names the first. */
static int check_objects(const struct kmem_cache *cache, const struct slab *slab,
                         struct check_state *st)
{
    for (unsigned i = 0; i < cache->objects_per_slab; i++) {
        const char *what = object_damage(cache, slab, i);
        if (what != NULL) {
            violation(st, what, cache, (uintptr_t)slab);
            if (st->found != NULL)
                st->found->object = object_at(cache, slab, i);
            return 1;
        }
    }
    return 0;
}

static int check_slab(struct kmem_cache *cache, const struct slab *slab,
                      const struct slab_list *head, struct check_state *st)
{
    size_t words = map_words(cache->objects_per_slab), free = 0;
    uint32_t spare = ~last_word_mask(cache->objects_per_slab);

    if (slab->cache != cache)
        return violation(st, "slab names another cache", cache, (uintptr_t)slab);
    if ((slab->free_map[words - 1] & spare) != 0)
        return violation(st, "bitmap marks a slot past the last object", cache, (uintptr_t)slab);
    for (size_t w = 0; w < words; w++) {
        if (((slab->free_words >> w) & 1u) != (slab->free_map[w] != 0))
            return violation(st, "free_words disagrees with the bitmap", cache, (uintptr_t)slab);
        free += (size_t)__builtin_popcount(slab->free_map[w]);
    }
    if ((slab->free_words >> words) != 0)
        return violation(st, "free_words marks a word past the bitmap", cache, (uintptr_t)slab);
    if (free != slab->free_count)
        return violation(st, "free count disagrees with the bitmap", cache, (uintptr_t)slab);
    if (list_for(cache, slab) != head)
        return violation(st, "slab on the wrong list for its free count", cache, (uintptr_t)slab);
    return cache->debug != 0 ? check_objects(cache, slab, st) : 0;
}

/*
 * Walk one list. It cannot loop forever: each node is checked to be a
 * distinct live slab whose prev is the node before it, so the first node
 * met twice would have to be the head (there are only so many slabs).
 */
static int check_list(struct kmem_cache *cache, struct slab_list *head, struct check_state *st)
{
    struct slab_list *prev = head;

    for (struct slab_list *node = head->next; node != head; prev = node, node = node->next) {
        if (!slab_readable(cache, node))
            return violation(st, "slab list holds no slab of this cache's size", cache,
                             (uintptr_t)node);
        if (node->prev != prev)
            return violation(st, "slab list links disagree", cache, (uintptr_t)node);
        if (check_slab(cache, slab_of_link(node), head, st))
            return 1;
        st->listed++;
        st->active += cache->objects_per_slab - slab_of_link(node)->free_count;
    }
    if (head->prev != prev)
        return violation(st, "slab list links disagree", cache, (uintptr_t)prev);
    return 0;
}

/* Do the cache's sizes agree with each other, as kmem_cache_create set them? */
static bool cache_geometry_sound(const struct kmem_cache *cache)
{
    struct kmem_cache expected = *cache;
    bool named = false;

    for (size_t i = 0; i < KMEM_CACHE_NAME_BYTES; i++)
        named |= cache->name[i] == '\0';
    if (!named || !create_allowed(cache->name, cache->object_size, cache->align) ||
        cache->align < KMEM_CACHE_MIN_ALIGN || (cache->debug & ~DEBUG_FLAGS) != 0 ||
        (cache->debug != 0 && cache->ctor != NULL) ||
        cache->take != (cache->debug != 0 ? &no_slabs : &cache->partial) ||
        cache->stride != stride_for(cache->object_size, cache->align, cache->debug))
        return false;
    cache_geometry(&expected);
    return expected.slab_bytes == cache->slab_bytes && expected.first_offset == cache->first_offset &&
           expected.objects_per_slab == cache->objects_per_slab &&
           expected.reciprocal == cache->reciprocal && expected.slab_mask == cache->slab_mask;
}

static int check_cache(struct kmem_cache *cache, struct check_state *st)
{
    size_t listed = st->listed, active = st->active;

    if (heap_block_of(cache) == 0)
        return violation(st, "cache is no live heap block", cache, 0);
    if (!cache_geometry_sound(cache))
        return violation(st, "cache geometry disagrees with its object size", cache, 0);
    if (check_list(cache, &cache->full, st) || check_list(cache, &cache->partial, st) ||
        check_list(cache, &cache->empty, st))
        return 1;
    if (st->listed - listed != cache->slabs)
        return violation(st, "slab count disagrees with the lists", cache, 0);
    if (st->active - active != cache->active_objects)
        return violation(st, "active objects disagree with the bitmaps", cache, 0);
    return 0;
}

static bool list_holds(const struct slab_list *head, uintptr_t slab)
{
    for (const struct slab_list *node = head->next; node != head; node = node->next)
        if ((uintptr_t)node == slab)
            return true;
    return false;
}

static bool slab_listed(uintptr_t slab)
{
    for (const struct kmem_cache *c = kmem_caches; c != NULL; c = c->next)
        if (list_holds(&c->full, slab) || list_holds(&c->partial, slab) ||
            list_holds(&c->empty, slab))
            return true;
    return false;
}

/* heap_walk's visitor: count the marked blocks, and when searching find one on no list. */
static void count_marked(uintptr_t block, unsigned scale, int allocated, void *context)
{
    struct check_state *st = context;

    (void)scale;
    if (!allocated || heap_slab_of((const void *)block) != block)
        return;
    st->marked++;
    if (st->search && st->unlisted == 0 && !slab_listed(block))
        st->unlisted = block;
}

/*
 * Listed slabs are marked and distinct (each list is well linked), so when
 * the counts agree every marked block is listed; only when they do not is
 * the walk repeated to name the first one that is not.
 */
static int check_marked(struct check_state *st)
{
    heap_walk(count_marked, st);
    if (st->marked == st->listed)
        return 0;
    st->search = true;
    heap_walk(count_marked, st);
    return violation(st, "page block marked as a slab is on no cache's list", NULL, st->unlisted);
}

int kmem_cache_check(struct kmem_cache_violation *found)
{
    struct heap_stats heap;
    struct check_state st = {.found = found};
    size_t caches = 0;

    heap_get_stats(&heap);
    for (struct kmem_cache *cache = kmem_caches; cache != NULL; cache = cache->next) {
        if (++caches > heap.managed_bytes / sizeof(struct kmem_cache))
            return violation(&st, "cache list does not end", NULL, 0);
        if (check_cache(cache, &st))
            return 1;
    }
    return check_marked(&st);
}
