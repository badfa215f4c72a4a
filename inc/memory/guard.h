/*
 * guard.h - guarded objects, always on (after Linux's KFENCE,
 * Documentation/dev-tools/kfence.rst): a fixed pool of page pairs. Every
 * GUARD_SAMPLE_EVERY-th kmalloc of a small block is served from it: the
 * object gets a page of its own, sits at that page's end, and the page after
 * it is never present, so the first access past the end faults. A freed
 * object's page is made not present too, so an access through a stale
 * pointer faults as well; freed slots are reused least recently freed
 * first. The page-fault handler asks guard_fault what the address was.
 * Pure C11: pages are mapped and unmapped through callbacks, so the host
 * tests it. It does not check the bytes before an object (that page stays
 * mapped while the object lives) and never sees slab objects.
 */
#ifndef SHOMPOS_MEMORY_GUARD_H
#define SHOMPOS_MEMORY_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "memory/heap.h"

/*
 * The pool: GUARD_OBJECTS page pairs, one heap page block of 512 KiB taken
 * at boot (0.4% of a 128 MiB machine), aligned to its size as page blocks are.
 *
 *   memory:  | object page 0 | guard page 0 | object page 1 | guard page 1 | ...
 *   present:   while live      never          while live      never
 *
 *   a live object page:
 *   | unused (before the object) ...... | object: size bytes | 0-7 bytes  || guard page
 *   page                                 start                            page + 4096
 *
 * start = page + 4096 - size rounded up to HEAP_ALIGNMENT, so the byte just
 * after the request lies (8 - size % 8) % 8 bytes before the guard page: a
 * request of a multiple of 8 bytes ends exactly at it.
 */
#define GUARD_OBJECTS       64
#define GUARD_PAGE_BYTES    HEAP_PAGE_BYTES
#define GUARD_POOL_BYTES    ((size_t)GUARD_OBJECTS * 2 * GUARD_PAGE_BYTES)

/*
 * Sampling: every 97th kmalloc, kcalloc or krealloc(NULL, n) the heap offers
 * (heap_set_sampler) gets a guarded object. A prime, so that a loop that
 * allocates in a fixed cycle of sizes (2, 4, 8, 16 ...) has each of them
 * sampled in turn rather than always the same one. 64 objects at 1 in 97
 * hold about 6,200 kmalloc calls' worth of live allocations before the pool
 * is full (then the heap serves the request as usual). Each sampled call
 * costs a page mapped and unmapped (two invlpg), the other 96 nothing but
 * the heap's counter.
 */
#define GUARD_SAMPLE_EVERY  97

/*
 * Only requests a small block would hold: at most the payload of the
 * largest small block, heap_scale_payload(HEAP_PAGE_SCALE - 1) = 2040 bytes.
 * Larger ones are page blocks, which heap.h promises are page aligned (page
 * tables and slabs rely on it, and heap_mark_slab needs a real page block):
 * an object at the end of its page cannot keep that promise, so they are
 * declined and the heap serves them.
 */
#define GUARD_MAX_SIZE      (HEAP_PAGE_BYTES / 2 - HEAP_HEADER_BYTES)

enum guard_state {
    GUARD_UNUSED = 0,       /* never handed out */
    GUARD_LIVE,             /* handed out, its page present */
    GUARD_FREED,            /* freed, its page not present until the slot is reused */
};

/* Why a call was refused. */
enum guard_status {
    GUARD_OK = 0,
    GUARD_MISALIGNED,       /* init: the memory is not page aligned */
    GUARD_MAP_FAILED,       /* a map or unmap callback said no */
    GUARD_NOT_IN_POOL,      /* free: the pointer is outside the pool */
    GUARD_NOT_AN_OBJECT,    /* free: inside the pool, but no object starts there */
    GUARD_DOUBLE_FREE,      /* free: the start of an object already freed */
};

/* How the pool changes its pages: make one present and writable, or not present. */
struct guard_pages {
    bool (*map)(uintptr_t page, void *context);
    bool (*unmap)(uintptr_t page, void *context);
    void *context;
};

/*
 * One slot. The object's range is kept as an offset in its page, not as an
 * address, so that the pool's own bookkeeping never looks like a reference
 * to the object to the leak scan (memory/leak.h).
 */
struct guard_slot {
    uint16_t offset;            /* the object's first byte, from its page's start */
    uint16_t size;              /* bytes asked for */
    uint8_t state;              /* enum guard_state */
    const void *alloc_caller;   /* who allocated it (a return address) */
    const void *free_caller;    /* who freed it; NULL while it lives */
};

struct guard_stats {
    size_t allocations, frees;
    size_t declined;            /* alloc: bad size, pool full or map failed: NULL returned */
    size_t refused_frees;       /* free: refused (not an object, double free) */
    unsigned live;              /* objects live now */
};

/* A pool. Its fields are guard.c's; read them through the functions below. */
struct guard_pool {
    uintptr_t base;             /* object page 0; 0 before a successful init */
    struct guard_pages pages;
    struct guard_slot slots[GUARD_OBJECTS];
    uint8_t free_order[GUARD_OBJECTS];  /* free slots, least recently freed first (a ring) */
    unsigned free_first, free_count;
    struct guard_stats stats;
};

/* What guard_object and guard_fault tell about an object. */
struct guard_object {
    unsigned index;             /* #K in reports */
    enum guard_state state;
    uintptr_t start;            /* its first byte; 0 for an unused slot */
    size_t size;                /* bytes asked for */
    const void *alloc_caller, *free_caller;
};

enum guard_fault_kind {
    GUARD_USE_AFTER_FREE,       /* the page of a freed object */
    GUARD_OUT_OF_BOUNDS,        /* the guard page after an object (live or freed) */
    GUARD_INVALID_ACCESS,       /* pool memory of no object: a slot never used */
};

struct guard_fault {
    enum guard_fault_kind kind;
    uintptr_t address;
    size_t bytes_right;         /* out of bounds: the first byte after the object is 1 right */
    struct guard_object object;
};

/*
 * Take GUARD_POOL_BYTES at memory (page aligned) as the pool and make every
 * page of it not present. Returns GUARD_OK, or GUARD_MISALIGNED (nothing
 * touched), or GUARD_MAP_FAILED (an unmap failed: pages unmapped so far are
 * mapped back; the pool is unusable and owns nothing).
 */
enum guard_status guard_pool_init(struct guard_pool *pool, void *memory, struct guard_pages pages);

/*
 * A guarded object of size bytes (1 to GUARD_MAX_SIZE), aligned to
 * HEAP_ALIGNMENT, its page mapped; caller is kept for reports. NULL (and
 * stats.declined counted) for a bad size, a full pool, or a failed map.
 * The slot reused is the one freed longest ago. Its bytes are not cleared.
 */
void *guard_alloc(struct guard_pool *pool, size_t size, const void *caller);

/*
 * Free the object starting at ptr and unmap its page. A pointer that is no
 * live object's start is refused and nothing changes: GUARD_NOT_IN_POOL,
 * GUARD_NOT_AN_OBJECT, GUARD_DOUBLE_FREE. An unmap that fails still frees
 * the object (GUARD_MAP_FAILED; its page stays present, so a later access
 * goes unseen).
 */
enum guard_status guard_free(struct guard_pool *pool, void *ptr, const void *caller);

/* Is ptr any byte of the pool's memory? */
bool guard_owns(const struct guard_pool *pool, const void *ptr);

/* The size asked for of the live object starting at ptr, or 0 when there is none. */
size_t guard_size(const struct guard_pool *pool, const void *ptr);

/* Object #index (below GUARD_OBJECTS) into *out; false for a bad index. */
bool guard_object(const struct guard_pool *pool, unsigned index, struct guard_object *out);

/* What an access that faulted at address hit; false when address is outside the pool. */
bool guard_fault(const struct guard_pool *pool, uintptr_t address, struct guard_fault *out);

/* The pool's memory [*start, *end); false before a successful init. */
bool guard_range(const struct guard_pool *pool, uintptr_t *start, uintptr_t *end);

void guard_get_stats(const struct guard_pool *pool, struct guard_stats *out);

/*
 * Sample the heap's kmalloc calls into pool: heap_set_sampler with every
 * GUARD_SAMPLE_EVERY-th request offered to guard_alloc, and kfree, krealloc
 * and ksize of its objects handled here. A refused free is reported through
 * heap_report_refusal (HEAP_DOUBLE_FREE, or HEAP_INVALID_POINTER for a
 * pointer into the pool that no object starts at). NULL: stop sampling.
 */
void guard_sample(struct guard_pool *pool);

const char *guard_status_name(enum guard_status status);
const char *guard_fault_name(enum guard_fault_kind kind);

#endif
