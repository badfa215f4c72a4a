/*
 * slab.h - slab caches: many objects of one size packed into page blocks.
 *
 * Bonwick's slab allocator (USENIX 1994) in the shape of Linux's kmem_cache_*
 * API, on top of the heap's page blocks (heap.h). Pure C11, no I/O, so the
 * host builds it for tests. It does not lock, does not colour slabs, keeps no
 * per-CPU caches and never gives an empty slab back by itself (only
 * kmem_cache_shrink and kmem_cache_destroy do).
 *
 * Bonwick's rule: the constructor runs once per object slot, when its slab
 * is made, not on every allocation. kmem_cache_alloc hands out an object in
 * whatever state it was freed in, and the allocator never writes into an
 * object. So a caller must give an object back in its constructed state (for
 * instance: lists empty, locks released, counters at their initial values).
 *
 * Debugging (issue 11). A cache made without a constructor while the heap's
 * debug flags (heap_debug_flags) hold HEAP_DEBUG_POISON or HEAP_DEBUG_REDZONE
 * keeps them for its objects, as Linux's SLUB debugging does:
 *   POISON   a free object's bytes are 0x6b, its last byte 0xa5 (from the slab's
 *            making on, and again at each kmem_cache_free); checked when
 *            kmem_cache_alloc hands the object out again and by kmem_cache_check.
 *   REDZONE  the bytes from object_size to the next object (at least one, so
 *            the stride grows: 24-byte objects take 32 bytes, 127 a page instead
 *            of 169 on i686) are 0xcc; checked by kmem_cache_free and kmem_cache_check.
 * A changed byte goes to the heap's debug report handler (heap_on_debug_report)
 * as HEAP_USE_AFTER_FREE or HEAP_OUT_OF_BOUNDS, with block and payload the
 * object's address, the offset and value of the first changed byte, scale the
 * slab's, requested the object size for a red zone (0 for poison, as the heap
 * says of a free block), no callers (slab objects keep none); the handler
 * finds the cache with kmem_cache_of. The object is still handed out
 * or freed (the slab's structure is intact, only the bytes are suspect), and a
 * red zone is written whole again. A cache with a constructor is never
 * poisoned (its objects stay constructed) nor red-zoned. The quarantine is the
 * heap's only: a freed object is reused at once. Debugging off, a cache is
 * exactly as without it: same geometry, same addresses, no byte written.
 */
#ifndef SHOMPOS_MEMORY_SLAB_H
#define SHOMPOS_MEMORY_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/heap.h"

/* Largest object size kmem_cache_create accepts. */
#define KMEM_CACHE_MAX_SIZE 4096

/* Largest alignment: one page. Every object is aligned to at least KMEM_CACHE_MIN_ALIGN. */
#define KMEM_CACHE_MAX_ALIGN HEAP_PAGE_BYTES
#define KMEM_CACHE_MIN_ALIGN 8

/* A slab is 2^order pages, order 0 up to this: the least that loses at most 1/8 of it. */
#define KMEM_SLAB_MAX_ORDER 3

/* A cache's name is copied; longer names are cut to this many bytes less one. */
#define KMEM_CACHE_NAME_BYTES 24

/*
 * One slab: a page block of slab_bytes bytes, aligned to slab_bytes, marked
 * as a slab in the heap's frame table (heap_mark_slab). Its header sits at
 * its start, the objects after it, so every slab names its cache from the
 * same place whatever its cache:
 *
 *   slab                  + first_offset                         slab + slab_bytes
 *   | struct slab | free_map | pad | object 0 | object 1 | ... | object n-1 | rest |
 *                                  |<------>|
 *                                    stride = object_size rounded up to align
 *
 * Object address -> slab: clear the low bits (address & ~(slab_bytes - 1)),
 * once the heap's frame table has confirmed a live slab starts there (the
 * cache's window on it, else heap_slab_of), before the header is read. Bit i of
 * free_map is set while object i is free: exact double-free detection. Bit w
 * of free_words is set while word w of free_map has a bit set, so allocation
 * finds the lowest free object with two find-first-set steps, no scan:
 *
 *   free_words  0b0100                  word 2 is the first holding a free object
 *   free_map    [ 0 ][ 0 ][ 0x30 ][ 0 ]...   its lowest set bit is bit 4
 *   take        object 2 * 32 + 4 = 68; free_map[2] = 0x20, word 2 still has one
 */
struct slab_list {
    struct slab_list *next, *prev;
};

struct slab {
    struct slab_list link;      /* on its cache's full, partial or empty list: first member */
    struct kmem_cache *cache;   /* the cache the slab belongs to */
    uint16_t free_count;        /* objects free in this slab */
    uint16_t free_words;        /* bit w set while free_map[w] is not 0 (at most 16 words) */
    uint32_t free_map[];        /* (objects_per_slab + 31) / 32 words */
};

/*
 * A cache. kmem_cache_create allocates it with kmalloc. The fields are shown
 * so the demo, the tests and debuggers (a GDB script reads kmem_caches by
 * name and follows next) can look at a cache; everyone else should use the
 * functions below. Each list is circular with the cache's own sentinel:
 * empty when head.next == &head. A slab is on full when free_count is 0, on
 * empty when free_count is objects_per_slab, on partial otherwise.
 */
struct kmem_cache {
    struct slab_list partial;   /* sentinel heads (partial first: the hottest) */
    struct slab_list *take;     /* the list kmem_cache_alloc's common path takes from:
                                   &partial, or an empty list that is never filled for a
                                   cache that debugs, whose every allocation so takes the
                                   careful way (poison checked) at no cost to the others */
    struct slab_list full, empty;
    size_t active_objects;      /* objects handed out and not freed */
    uintptr_t slab_mask;        /* ~(slab_bytes - 1): an object's address & slab_mask is its slab */
    size_t first_offset;        /* object 0 starts this far into its slab */
    size_t stride;              /* bytes from one object to the next: object_size rounded up */
    unsigned objects_per_slab;
    uint32_t reciprocal;        /* ceil(2^32 / stride): object index by multiplication */
    unsigned debug;             /* HEAP_DEBUG_POISON | HEAP_DEBUG_REDZONE kept, or 0 (see above) */
    struct heap_frame_window window;    /* the region of the slab made last: kmem_cache_free
                                           proves a slab there without calling the heap */
    size_t frees;               /* successful kmem_cache_free calls (allocations: frees +
                                   active_objects, so kmem_cache_alloc moves one counter) */
    size_t slab_bytes;          /* HEAP_PAGE_BYTES << order */
    struct kmem_cache *next;    /* the next cache on kmem_caches (creation order), or NULL */
    char name[KMEM_CACHE_NAME_BYTES];   /* NUL-terminated copy of the creator's name */
    size_t object_size;         /* bytes asked for */
    size_t align;               /* every object's address is a multiple of this */
    void (*ctor)(void *object); /* NULL: no constructor */
    size_t slabs;               /* slabs on the three lists */
    size_t failed_allocations;  /* kmem_cache_alloc calls that returned NULL */
    size_t refused_frees;       /* kmem_cache_free calls refused */
};

/* Every cache, in creation order (a symbol debuggers look up by this name). */
extern struct kmem_cache *kmem_caches;

struct kmem_cache_stats {
    const char *name;
    size_t object_size, align, stride;
    size_t objects_per_slab;
    size_t slab_bytes;
    size_t slabs;               /* all slabs */
    size_t full_slabs, partial_slabs, empty_slabs;
    size_t active_objects;      /* handed out */
    size_t total_objects;       /* slabs * objects_per_slab */
    size_t allocations, frees, failed_allocations, refused_frees;
};

/* The numbers of one /proc/slabinfo row, in Linux's column order. */
struct kmem_slabinfo {
    const char *name;
    size_t active_objs, num_objs, objsize, objperslab, pagesperslab, active_slabs, num_slabs;
};

/* The first broken invariant kmem_cache_check found. */
struct kmem_cache_violation {
    const char *what;           /* a short sentence: "free count disagrees with the bitmap";
                                   "use-after-free ..." for damaged poison, "out-of-bounds ..."
                                   for a damaged red zone */
    const struct kmem_cache *cache;     /* the cache where it broke (NULL: none in particular) */
    uintptr_t slab;             /* the slab where it broke, or 0 */
    uintptr_t object;           /* the object whose poison or red zone is damaged, or 0 */
};

/* Called when kmem_cache_destroy refuses; caller is its return address. */
typedef void (*kmem_cache_report_fn)(const struct kmem_cache *cache, const char *what,
                                     const void *caller);

/* Forget every cache (without touching them): call it after heap_init. */
void kmem_cache_init(void);

/*
 * A cache of objects of `size` bytes (1 to KMEM_CACHE_MAX_SIZE). align 0
 * means the default: KMEM_CACHE_MIN_ALIGN, or the size itself up to 64 when
 * the size is a power of two. Otherwise align must be a power of two up to
 * KMEM_CACHE_MAX_ALIGN (below KMEM_CACHE_MIN_ALIGN it is raised to it). ctor
 * may be NULL. Returns NULL, having changed nothing, for a NULL name, an
 * impossible size or alignment, or when kmalloc cannot hold the cache.
 * Slabs are made on demand, not here. ctor is called while a slab is being
 * made: it must not allocate from its own cache.
 */
struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
                                     void (*ctor)(void *object));

/*
 * An object in its constructed state, aligned as asked; NULL (counted in
 * failed_allocations) when the heap cannot give a new slab, or cache is NULL.
 * Takes a slab off the partial list, else the empty list, else makes one:
 * it never searches a list.
 */
void *kmem_cache_alloc(struct kmem_cache *cache);

/*
 * Give an object back (NULL is a no-op). Everything is validated before
 * anything is written: a pointer that is not the start of an object of this
 * cache is refused with HEAP_NOT_AN_OBJECT, the start of another cache's
 * object with HEAP_WRONG_CACHE, an object already free with
 * HEAP_DOUBLE_FREE. A refusal changes nothing but the cache's refused_frees;
 * heap_report_refusal counts it in the heap too and hands it, named
 * "kmem_cache_free" with the cache's name and the caller's address, to the
 * heap's refusal handler (heap_on_refusal).
 */
void kmem_cache_free(struct kmem_cache *cache, void *object);

/* Give every empty slab back to the heap; returns the bytes given back. */
size_t kmem_cache_shrink(struct kmem_cache *cache);

/*
 * Destroy an empty cache: every slab and the cache itself go back to the
 * heap, 0 returned (NULL: nothing done, 0). While objects live, or for a
 * pointer that is no cache on kmem_caches, nothing is destroyed, the report
 * handler (kmem_cache_on_report) hears why and 1 is returned.
 */
int kmem_cache_destroy(struct kmem_cache *cache);

/* Who hears about refused kmem_cache_destroy calls (NULL: nobody). */
void kmem_cache_on_report(kmem_cache_report_fn report);

void kmem_cache_get_stats(const struct kmem_cache *cache, struct kmem_cache_stats *out);

/* One slabinfo row of numbers for cache (formatting is the caller's). */
void kmem_cache_slabinfo(const struct kmem_cache *cache, struct kmem_slabinfo *out);

/*
 * The cache whose live slab holds address (any byte of it), or NULL: the
 * slab's header is read only after heap_slab_of has found a slab there. For
 * debug report handlers, to name the cache of a damaged object.
 */
struct kmem_cache *kmem_cache_of(const void *address);

/* Is cache on kmem_caches (made by kmem_cache_create, not destroyed), so its fields may be read? */
bool kmem_cache_listed(const struct kmem_cache *cache);

/* The cache after `cache` on kmem_caches; the first one for NULL; NULL after the last. */
struct kmem_cache *kmem_cache_next(const struct kmem_cache *cache);

/*
 * The slab the cache's next allocation comes from (the first partial slab,
 * else the first empty one), or the slab filled last when every slab is
 * full, or 0 when it has none. Sets cells[i] to 1 when object i is
 * allocated, 0 when free, for the first min(objects_per_slab, max) objects,
 * and returns objects_per_slab (0 with no slab).
 */
size_t kmem_cache_slab_cells(const struct kmem_cache *cache, uintptr_t *slab,
                             unsigned char *cells, size_t max);

/*
 * 0 when every cache is sound; otherwise nonzero and *found (if not NULL)
 * names the first break. For each cache on kmem_caches: its geometry, that
 * each list is well linked and holds only slabs of its kind, that every slab
 * is a live page block marked as a slab (asked of the heap's frame table
 * before a byte of it is read) naming this cache, its bitmap and free count,
 * each red zone and each free object's poison (when the cache keeps them),
 * and the cache's counters. Then that every page block marked as a slab is
 * on some cache's list. Walks are bounded, so a corrupted list is reported,
 * not followed forever.
 */
int kmem_cache_check(struct kmem_cache_violation *found);

#endif
