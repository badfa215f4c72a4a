/*
 * heap.h - the buddy heap: kmalloc and kfree over regions of RAM.
 *
 * The caller hands in regions (heap_add_region); the heap carves each into
 * naturally aligned blocks of 2^scale bytes and serves kmalloc from them.
 * Pure C11: no I/O and no hardware, so the host builds it for tests too.
 * It does not grow, does not lock (single CPU, no interrupt-time callers)
 * and does not hand out memory it was not given.
 */
#ifndef SHOMPOS_MEMORY_HEAP_H
#define SHOMPOS_MEMORY_HEAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Alignment guarantee: every pointer kmalloc, kcalloc and krealloc return is
 * aligned to HEAP_ALIGNMENT bytes (the i386 kmalloc guarantee).
 */
#define HEAP_ALIGNMENT 8

/* heap_add_region accepts at most this many regions. */
#define HEAP_MAX_REGIONS 64

/* Scales run from heap_min_scale() up to HEAP_MAX_SCALE (one below the word size). */
#define HEAP_MAX_SCALE (sizeof(void *) * 8 - 1)

/*
 * Every block starts with this header; kmalloc returns the byte just after
 * it. It is 8 bytes on every target, a multiple of HEAP_ALIGNMENT (heap.c
 * asserts both). Shown here so tests, debuggers and the demo can look at a
 * block; everyone else should use the functions below.
 *
 *   block      +4      +5     +6       +8                      block + 2^scale
 *   | requested | scale | state | check | payload (allocated block)          |
 *   |                                   | list_header, then unused (free)    |
 */
struct block_header {
    uint32_t requested;     /* bytes the caller asked for; 0 in a free block */
    uint8_t scale;          /* the block holds 2^scale bytes */
    uint8_t state;          /* HEAP_BLOCK_FREE or HEAP_BLOCK_ALLOCATED */
    uint16_t check;         /* a hash of the block's address and scale */
};

/* block_header.state. Any other byte means no header starts there. */
enum heap_block_state {
    HEAP_BLOCK_FREE = 0x5f,
    HEAP_BLOCK_ALLOCATED = 0xa1,
};

/* The header's size: a small block's payload (what kmalloc returns) starts this far in. */
#define HEAP_HEADER_BYTES sizeof(struct block_header)

/* Bytes in a block of this scale. */
static inline size_t heap_scale_bytes(unsigned scale) { return (size_t)1 << scale; }

/* A free block's link in the circular free list of its scale, just after its header. */
struct list_header {
    struct list_header *next, *prev;
};

/*
 * Largest size kmalloc accepts, because block_header.requested has 32 bits
 * (this only binds on 64-bit hosts: an i686 block holds at most 2 GiB).
 */
#define HEAP_MAX_REQUEST ((size_t)UINT32_MAX - HEAP_HEADER_BYTES)

/* Why a free was refused. The heap is left exactly as it was. */
enum heap_status {
    HEAP_OK = 0,
    HEAP_INVALID_POINTER,   /* outside every region, or not just after a block header */
    HEAP_DOUBLE_FREE,       /* a real block that is already free */
    HEAP_CORRUPTED_HEADER,  /* the header's check value or scale is wrong */
};

/* The first broken invariant heap_check found. */
struct heap_violation {
    const char *what;       /* a short sentence: "free block missing from its list" */
    uintptr_t address;      /* the block where it broke */
    unsigned scale;
};

struct heap_stats {
    size_t managed_bytes;           /* all bytes inside blocks, headers included */
    size_t free_bytes;              /* bytes in free blocks */
    size_t allocated_bytes;         /* bytes in allocated blocks */
    size_t requested_bytes;         /* bytes callers asked for in live allocations */
    size_t largest_free_block;      /* bytes in the largest free block */
    size_t allocations, frees;      /* successful calls, from heap_init on */
    size_t failed_allocations;      /* kmalloc calls that returned NULL (size 0 included) */
    size_t refused_frees;           /* kfree calls refused */
    size_t splits, merges;          /* block splits and buddy merges so far */
    unsigned regions;
    unsigned fragmentation_percent; /* 100 * (1 - largest_free_block / C), C = free_bytes or, if
                                       less, the largest block a region was carved into; 0 if none */
};

/* Called for each block, in address order, by heap_walk. */
typedef void (*heap_walk_fn)(uintptr_t block, unsigned scale, int allocated, void *context);

/* Called when kfree (or krealloc) refuses a pointer; caller is its return address. */
typedef void (*heap_refusal_fn)(const void *ptr, enum heap_status why, const void *caller);

/* Forget every region: an empty heap. Counters and statistics start at zero. Call it first. */
void heap_init(void);

/*
 * Add [start, start + length) to the heap. Returns the bytes now managed from
 * it (0 when refused: too small for one block, overlapping a region already
 * added, or HEAP_MAX_REGIONS reached). Bytes before the first and after the
 * last naturally aligned block are left unused. The managed span runs from
 * start rounded up to end rounded down, to a multiple of the smallest block;
 * it is what heap_region reports and what "overlapping" compares. Regions may
 * be added in any order and may touch; blocks never merge across two of them.
 */
size_t heap_add_region(void *start, size_t length);

/* size bytes aligned to HEAP_ALIGNMENT, or NULL for 0, impossible sizes and exhaustion. */
void *kmalloc(size_t size);

/*
 * Free ptr (NULL is a no-op). A bad pointer is refused, never written: the
 * heap stays exactly as it was, stats.refused_frees counts it and the
 * refusal handler (heap_on_refusal) hears about it.
 */
void kfree(void *ptr);

/* kfree that returns why it refused; counts the refusal but calls no handler. */
enum heap_status heap_free(void *ptr);

/* n * size zeroed bytes, or NULL on overflow or exhaustion. */
void *kcalloc(size_t n, size_t size);

/*
 * Resize ptr keeping its contents up to the smaller size. NULL ptr acts as
 * kmalloc; size 0 frees and returns NULL. In place when the block still fits.
 * On failure returns NULL and ptr stays valid and unchanged. A ptr kfree
 * would refuse is refused the same way (counted, reported) and NULL returned.
 */
void *krealloc(void *ptr, size_t size);

/* Usable bytes at ptr (at least what was asked for), or 0 when ptr is not a live block. */
size_t ksize(const void *ptr);

/*
 * 0 when every invariant holds; otherwise nonzero and *found (if not NULL)
 * names the first break. Checks that the blocks tile every region, headers
 * are intact, each free block is on the list of its scale and only there, no
 * two free buddies are left unmerged, and the counters match. Its walks are
 * bounded and it reads nothing outside the regions, so a corrupted heap is
 * reported rather than followed into a crash (as far as can be checked).
 */
int heap_check_report(struct heap_violation *found);
int heap_check(void);

void heap_get_stats(struct heap_stats *out);

/* Smallest scale a block can have: holds a header, a free-list link and one byte. */
unsigned heap_min_scale(void);

/* The kmalloc size that gives a block of exactly this scale (its usable bytes). */
size_t heap_scale_payload(unsigned scale);

/* Start of the live block whose payload is ptr (as kmalloc returned it), or 0 when there is none. */
uintptr_t heap_block_of(const void *ptr);

/* Scale of the live block at ptr, or 0 when ptr is not a live block. */
unsigned heap_block_scale(const void *ptr);

/* Number of free blocks of this scale, O(1). */
size_t heap_free_count(unsigned scale);

/* Copy up to max addresses of free blocks of this scale (list order); returns how many. */
size_t heap_free_list_peek(unsigned scale, uintptr_t *out, size_t max);

/*
 * Visit every block of every region in address order. visit must not call
 * kmalloc, kfree or krealloc. A region's walk stops at a corrupted header.
 */
void heap_walk(heap_walk_fn visit, void *context);

/* Region i's managed span [*start, *end); returns 0 when i is past the last region. */
int heap_region(unsigned i, uintptr_t *start, uintptr_t *end);

/* Who hears about refused kfree calls (NULL: nobody). */
void heap_on_refusal(heap_refusal_fn report);

const char *heap_status_name(enum heap_status status);

#endif
