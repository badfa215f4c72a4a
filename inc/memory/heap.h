/*
 * heap.h - the buddy heap: kmalloc and kfree over regions of RAM.
 *
 * The caller hands in regions (heap_add_region); the heap carves each into
 * naturally aligned blocks of 2^scale bytes and serves kmalloc from them:
 * small blocks (under a page) with their header in band, page blocks (a page
 * or more) page-aligned and wholly usable, their header in a frame table.
 * Pure C11: no I/O and no hardware, so the host builds it for tests too.
 * It does not grow, does not lock (single CPU, no interrupt-time callers)
 * and does not hand out memory it was not given. A debug mode (heap_set_debug)
 * poisons freed memory, guards each request with a red zone, remembers
 * callers and quarantines freed blocks; a sampler hook lets a guarded pool
 * outside the heap serve every Nth small allocation.
 */
#ifndef SHOMPOS_MEMORY_HEAP_H
#define SHOMPOS_MEMORY_HEAP_H

#include <stdbool.h>
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
 * A page, the frame table's unit. Blocks of scale HEAP_PAGE_SCALE or more are
 * "page blocks"; smaller ones are "small blocks". A frame is the page-aligned
 * 4 KiB of address space a page block starts at or a small block lies in.
 */
#define HEAP_PAGE_SCALE 12
#define HEAP_PAGE_BYTES 4096

/*
 * Every block has this header. A small block's starts the block and kmalloc
 * returns the byte just after it; a page block's starts its frame's entry in
 * the frame table (struct heap_frame, below), and kmalloc returns the block's
 * first byte. It is 8 bytes on every target, a multiple of HEAP_ALIGNMENT
 * (heap.c asserts both). Shown here so tests, debuggers and the demo can look
 * at a block; everyone else should use the functions below.
 *
 *   small block +4     +5     +6       +8                      block + 2^scale
 *   | requested | scale | state | check | payload (allocated block)          |
 *   |                                   | list_header, then unused (free)    |
 *
 *   page block                                                 block + 2^scale
 *   | payload, all of it (allocated block)                                   |
 *   | unused, all of it: the list_header is in the frame's entry (free)      |
 *
 * An allocated page block keeps ceil(requested / 4096) pages from its start
 * (a "page run"): scale is that of the smallest power of two holding them,
 * and the rest of it is free blocks of their own.
 */
struct block_header {
    uint32_t requested;     /* bytes the caller asked for; 0 in a free block */
    uint8_t scale;          /* the block holds 2^scale bytes */
    uint8_t state;          /* enum heap_block_state */
    uint16_t check;         /* a hash of the block's address and scale */
};

/*
 * block_header.state. In band only FREE and ALLOCATED occur: any other byte
 * means no header starts there. In the frame table every entry has one of
 * these states (0, HEAP_FRAME_NONE, when the heap never wrote it):
 */
enum heap_block_state {
    HEAP_FRAME_NONE = 0,            /* no block starts in this frame: it lies inside a page block */
    HEAP_BLOCK_FREE = 0x5f,         /* a free block (in the table: a page block's start) */
    HEAP_BLOCK_ALLOCATED = 0xa1,    /* an allocated block (in the table: a page block's start) */
    HEAP_BLOCK_SLAB = 0xc3,         /* table only: an allocated page block marked as a slab */
    HEAP_FRAME_SMALL = 0x3c,        /* table only: the frame is carved into small blocks */
    HEAP_FRAME_TAIL = 0x7e,         /* table only: a page of a live page block that started
                                       `requested` frames earlier (stale once it is freed) */
    HEAP_BLOCK_QUARANTINED = 0x71,  /* debug mode: freed, waiting in the quarantine; on no free
                                       list (in band, or in the table for a page block's start) */
};

/* The in-band header's size: a small block's payload (what kmalloc returns) starts this far in. */
#define HEAP_HEADER_BYTES sizeof(struct block_header)

/* Bytes in a block of this scale. */
static inline size_t heap_scale_bytes(unsigned scale) { return (size_t)1 << scale; }

/*
 * A free block's link in the circular free list of its scale, just after its
 * header: in band for a small block, in its frame's entry for a page block.
 */
struct list_header {
    struct list_header *next, *prev;
};

/*
 * A frame table entry: the header of the page block that starts in the
 * frame (or the frame's state), then, while that block is free, its link.
 * Keeping the link here, as Linux keeps struct page's lru list, means that
 * taking a page block off a list or putting it on one never touches the
 * pages themselves, nor its neighbours' pages: only the table, which is
 * dense (one cache line covers 4 frames on i686). The entry is padded to a
 * power of two, so that one shift finds it: 16 bytes on i686 (0.39% of the
 * RAM it covers), 32 on 64-bit hosts (0.78%).
 */
struct heap_frame {
    _Alignas(2 * sizeof(struct list_header))    /* the padding: a power of two */
    struct block_header header;     /* first: a pointer to the entry is one to its header */
    struct list_header link;        /* a free page block's; stale otherwise */
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
    HEAP_INSIDE_BLOCK,      /* inside a live page block, not at its start */
    HEAP_NOT_HANDED_OUT,    /* a page-aligned pointer no page block starts at: a frame carved
                               into small blocks, or a page inside a free page block */
    HEAP_SLAB_MEMORY,       /* inside a page block marked as a slab (heap_mark_slab) */
    HEAP_NOT_AN_OBJECT,     /* slab.c: not an object of this cache */
    HEAP_WRONG_CACHE,       /* slab.c: an object of another cache */
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
    size_t allocated_bytes;         /* bytes in allocated blocks (a page run: the pages it keeps) */
    size_t requested_bytes;         /* bytes callers asked for in live allocations */
    size_t largest_free_block;      /* bytes in the largest free block */
    size_t allocations, frees;      /* successful calls, from heap_init on */
    size_t failed_allocations;      /* kmalloc calls that returned NULL (size 0 included) */
    size_t refused_frees;           /* kfree calls refused */
    size_t splits, merges;          /* block splits and buddy merges so far */
    unsigned regions;
    unsigned fragmentation_percent; /* 100 * (1 - largest_free_block / C), C = free_bytes or, if
                                       less, the largest block a region was carved into; 0 if none */
    size_t frame_table_bytes;       /* bytes the regions' frame tables take (not managed) */
    size_t quarantined_blocks;      /* debug mode: freed blocks waiting in the quarantine... */
    size_t quarantined_bytes;       /* ...and their bytes (neither free nor allocated) */
    size_t debug_reports;           /* use-after-free and out-of-bounds reports made so far */
    size_t sampled_allocations;     /* allocations the sampler served (not counted above) */
};

/*
 * Do two snapshots describe the same blocks and the same calls? Every field
 * above but refused_frees and the debug-mode and sampler counters (from
 * quarantined_blocks on): what a refused free must leave unchanged, and the
 * self-test's and the host model's test that it did.
 */
static inline bool heap_stats_equal(const struct heap_stats *a, const struct heap_stats *b)
{
    return a->managed_bytes == b->managed_bytes && a->free_bytes == b->free_bytes
        && a->allocated_bytes == b->allocated_bytes && a->requested_bytes == b->requested_bytes
        && a->largest_free_block == b->largest_free_block && a->allocations == b->allocations
        && a->frees == b->frees && a->failed_allocations == b->failed_allocations
        && a->splits == b->splits && a->merges == b->merges && a->regions == b->regions
        && a->fragmentation_percent == b->fragmentation_percent
        && a->frame_table_bytes == b->frame_table_bytes;
}

/* Called for each block, in address order, by heap_walk: allocated is 0 free, 1 allocated
   (a slab too), 2 quarantined (debug mode). */
typedef void (*heap_walk_fn)(uintptr_t block, unsigned scale, int allocated, void *context);

/*
 * A refused free as the refusal handler hears it: the call that refused
 * ("kfree", "krealloc", "kmem_cache_free"), the name of the cache it was
 * given (NULL for the heap's own calls), the pointer, why, and the caller
 * (the call's return address).
 */
struct heap_refusal {
    const char *function;
    const char *cache;
    const void *ptr;
    enum heap_status why;
    const void *caller;
};

/* Called when kfree, krealloc or kmem_cache_free refuses a pointer. */
typedef void (*heap_refusal_fn)(const struct heap_refusal *refusal);

/*
 * Forget every region: an empty heap. Counters and statistics start at zero,
 * debugging is off, there is no sampler and the quarantine is empty. Call it
 * first. (The refusal and report handlers stay.)
 */
void heap_init(void);

/*
 * Add [start, start + length) to the heap. Returns the bytes now managed from
 * it, in blocks (0 when refused: too small for one block, overlapping a region
 * already added, or HEAP_MAX_REGIONS reached). The region's span runs from
 * start rounded up to end rounded down, to a multiple of the smallest block;
 * it is what heap_region reports and what "overlapping" compares. Regions may
 * be added in any order and may touch; blocks never merge across two of them.
 *
 * The frame table takes the top of the span: one struct heap_frame entry
 * (16 bytes on i686, 32 on 64-bit hosts) for every 4 KiB frame the span
 * touches, rounded up to a multiple of the smallest block, starting on a
 * frame boundary so that the blocks below it end on one. On i686 its cost is
 * 1/256 of the region (0.39%) plus two entries and less than 4 KiB of
 * rounding: 512 KiB (+ under 4 KiB) for 128 MiB, 14 MiB for 3.5 GiB.
 * stats.frame_table_bytes counts all of it. The blocks tile the rest, from
 * the span's start. A span that holds no whole
 * frame has only small blocks and no table; one too small for a frame
 * boundary below its table (about a page) keeps the table right at its top.
 *
 *   span:    [ blocks ....................................... | table |    ]
 *            start                               (a frame) end        limit
 */
size_t heap_add_region(void *start, size_t length);

/*
 * size bytes aligned to HEAP_ALIGNMENT, or NULL for 0, impossible sizes and
 * exhaustion. A request whose small block would be a page or more, that is
 * size > heap_scale_payload(HEAP_PAGE_SCALE - 1), is a page block: aligned to
 * the smallest power of two that holds size (so kmalloc(4096) is one page,
 * kmalloc(1 << 20) a 1 MiB-aligned MiB) and keeping ceil(size / 4096) pages
 * of it, all usable; the rest of that power of two goes back to the heap
 * (kmalloc((1 << 24) + 8) costs 16 MiB + 4 KiB). Small payloads are never
 * page-aligned and page blocks always are: the pointer alone tells the kinds apart.
 */
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
 * Resize ptr keeping its contents up to the smaller of the old request and
 * size (only those bytes are copied when it moves). NULL ptr acts as kmalloc;
 * size 0 frees and returns NULL. In place when the block still fits: a small
 * block over its free buddies, a page block by giving back or taking the
 * pages after it (a page block stays one, however small the new size). On
 * failure returns NULL and ptr stays valid and unchanged. A ptr kfree would
 * refuse is refused the same way (counted, reported) and NULL returned.
 */
void *krealloc(void *ptr, size_t size);

/*
 * Usable bytes at ptr (at least what was asked for), or 0 when ptr is not a
 * live block. In debug mode exactly what was asked for (the rest of the block
 * is red zone and trailer); for a sampled object, what the sampler says.
 */
size_t ksize(const void *ptr);

/*
 * 0 when every invariant holds; otherwise nonzero and *found (if not NULL)
 * names the first break. Checks that the blocks tile every region, headers
 * are intact, each free block is on the list of its scale and only there, no
 * two free buddies are left unmerged, every frame table entry agrees with the
 * blocks, and the counters match. Its walks are bounded and it reads nothing
 * outside the regions, so a corrupted heap is reported rather than followed
 * into a crash (as far as can be checked). In debug mode it also reads every
 * free and quarantined byte and every red zone: damaged poison is named
 * "use-after-free ...", a damaged red zone "out-of-bounds ...", at the block's
 * start; and the quarantine must hold exactly the quarantined blocks.
 */
int heap_check_report(struct heap_violation *found);
int heap_check(void);

void heap_get_stats(struct heap_stats *out);

/* Smallest scale a block can have: holds a header, a free-list link and one byte. */
unsigned heap_min_scale(void);

/*
 * The kmalloc size that gives a block of exactly this scale (its usable
 * bytes): 2^scale - HEAP_HEADER_BYTES for a small block, 2^scale for a page block.
 */
size_t heap_scale_payload(unsigned scale);

/*
 * Start of the live block whose pointer is ptr (as kmalloc returned it): ptr
 * - HEAP_HEADER_BYTES for a small block, ptr itself for a page block; 0 when
 * there is none.
 */
uintptr_t heap_block_of(const void *ptr);

/*
 * Scale of the live block at ptr, or 0 when ptr is not a live block. A page
 * block of n pages has the scale of the smallest power of two holding them.
 */
unsigned heap_block_scale(const void *ptr);

/* Number of free blocks of this scale, O(1). */
size_t heap_free_count(unsigned scale);

/* Copy up to max addresses of free blocks of this scale (list order); returns how many. */
size_t heap_free_list_peek(unsigned scale, uintptr_t *out, size_t max);

/*
 * Visit every block of every region in address order; an allocated (or
 * quarantined) page block of n pages is visited as its aligned pieces (the
 * powers of two of n, largest first), each allocated (quarantined), so the
 * visits tile each region's blocks.
 * visit must not call kmalloc, kfree or krealloc. A region's walk stops at a
 * corrupted header.
 */
void heap_walk(heap_walk_fn visit, void *context);

/*
 * Region i's span [*start, *end): its blocks and its frame table, all the
 * memory the heap uses there. Returns 0 when i is past the last region.
 */
int heap_region(unsigned i, uintptr_t *start, uintptr_t *end);

/*
 * The frame table entry of the frame holding address a, or NULL when no
 * region's blocks hold a or its region has no table. For tests and
 * debuggers: a write through it changes the heap.
 */
struct block_header *heap_frame_entry(uintptr_t a);

/* Who hears about refused kfree calls (NULL: nobody). */
void heap_on_refusal(heap_refusal_fn report);

/* Count a refusal (stats.refused_frees) and tell the refusal handler: for slab.c and guard.c. */
void heap_report_refusal(const struct heap_refusal *refusal);

const char *heap_status_name(enum heap_status status);

/*
 * Slabs (slab.c). heap_mark_slab(page, 1) marks the live page block kmalloc
 * returned at page as a slab; heap_mark_slab(page, 0) makes it an ordinary
 * block again. While it is marked, kfree, krealloc, ksize and heap_block_of
 * refuse every pointer into its pages with HEAP_SLAB_MEMORY (kfree reports it
 * and changes nothing). Returns HEAP_OK, or why page is not a live page
 * block as kfree would say it, or: HEAP_SLAB_MEMORY when marking a slab
 * again, HEAP_INVALID_POINTER for a small block or when unmarking a block
 * that is no slab, HEAP_INSIDE_BLOCK when unmarking with a pointer inside a slab.
 */
enum heap_status heap_mark_slab(void *page, int slab);

/* Start of the slab page block holding addr (any byte of it), or 0. O(1): reads the frame table. */
uintptr_t heap_slab_of(const void *addr);

/*
 * 2^order pages aligned to their size, or NULL: kmalloc(HEAP_PAGE_BYTES << order),
 * never sampled. (In debug mode the red zone and trailer take one page more.)
 */
void *heap_alloc_pages(unsigned order);

/* Give back what heap_alloc_pages returned: kfree, refusals and all. */
void heap_free_pages(void *page);

/* ---- debugging: poison, red zones, callers, the quarantine ---------------------------- */

/*
 * Debug mode, as Linux's SLUB debugging and KASAN's quarantine do it. Turn it
 * on with heap_set_debug after heap_init and before heap_add_region; it stays
 * until the next heap_init. Off (the default), the heap is exactly as
 * described above: same addresses, same splits, a freed block reused at
 * once, no extra bytes.
 *
 * Callers (any flag on). Every live block ends with a trailer, the callers
 * that allocated and freed it (struct heap_debug_trailer: 8 bytes on i686, 16
 * on a 64-bit host). The block a request gets is the one a request of
 * size + HEAP_DEBUG_SLACK bytes would get with debugging off: room for the
 * trailer and for at least one red-zone byte. So a request that filled its
 * block exactly takes the next scale (on i686 kmalloc(24) takes 64 bytes, not
 * 32), and a page run of a whole number of pages takes one page more (a
 * 4096-byte request keeps 2 pages). A block keeps its callers while it is
 * live and while it waits in the quarantine; a block on a free list has none.
 *
 *   live block    | header | requested bytes | red zone 0xcc ...  | trailer |
 *   quarantined   | header | 0x6b 0x6b 0x6b ...           ... 0xa5 | trailer |
 *   free          | header | link | 0x6b 0x6b 0x6b ...                       |
 *                 block    payload                               block end or run end
 *
 * (A page block has no header in band: its payload starts the block.)
 *
 * HEAP_DEBUG_POISON: a freed payload is filled with 0x6b, its last byte 0xa5
 * (up to the trailer), and stays poison while free (with the quarantine
 * off, 0x6b to the end at once: no callers kept); the poison is checked when
 * the block leaves the quarantine to merge, when kmalloc hands the memory
 * out again, and by heap_check. The regions are poisoned when they are
 * added. A free block's own header and link, and the header a merged small
 * block left behind, are the only other bytes a free block holds: a write
 * into a link breaks its free list instead, which heap_check reports as such.
 * HEAP_DEBUG_REDZONE: the bytes from the request to the trailer are 0xcc,
 * checked by kfree, krealloc and heap_check. A block is still freed after a
 * bad red zone: the heap's structure is intact, only the contents are suspect.
 * HEAP_DEBUG_QUARANTINE: a freed block waits, on no free list, in a FIFO of
 * at most HEAP_QUARANTINE_BLOCKS blocks and 1/HEAP_QUARANTINE_SHARE of the
 * managed bytes (a bigger block skips it); the oldest leaves first, to merge,
 * when a newer one needs its place, and when kmalloc would otherwise fail.
 *
 * In debug mode krealloc always moves the block (so the old one is freed,
 * poisoned and quarantined like any other), ksize is the size asked for, and
 * the largest request is HEAP_MAX_REQUEST - HEAP_DEBUG_SLACK.
 * Costs with debugging off: none on kmalloc's and kfree's fast paths, which
 * fail over to the careful paths while debugging or sampling is on.
 */
#define HEAP_DEBUG_POISON       1u
#define HEAP_DEBUG_REDZONE      2u
#define HEAP_DEBUG_QUARANTINE   4u
#define HEAP_DEBUG_ALL          7u

#define HEAP_POISON_FREE        0x6b    /* a freed payload, as Linux's POISON_FREE */
#define HEAP_POISON_END         0xa5    /* its last byte, as POISON_END */
#define HEAP_POISON_REDZONE     0xcc    /* from the request to the trailer (SLUB_RED_ACTIVE) */

#define HEAP_QUARANTINE_BLOCKS  256     /* blocks the quarantine holds at most... */
#define HEAP_QUARANTINE_SHARE   32      /* ...and bytes: managed_bytes / 32 at most */

/* The last bytes of a live or quarantined block in debug mode. */
struct heap_debug_trailer {
    const void *alloc_caller;       /* who called kmalloc (kcalloc, krealloc) */
    const void *free_caller;        /* who called kfree (krealloc); NULL while live */
};

#define HEAP_DEBUG_TRAILER_BYTES sizeof(struct heap_debug_trailer)

/* What debug mode adds to each request: the trailer and one red-zone byte. */
#define HEAP_DEBUG_SLACK (HEAP_DEBUG_TRAILER_BYTES + 1)

/* Turn on the HEAP_DEBUG_* flags given (others ignored). Ignored once a region is added. */
void heap_set_debug(unsigned flags);
unsigned heap_debug_flags(void);

/* Let every quarantined block merge, oldest first (poison checked). Returns how many. */
size_t heap_drain_quarantine(void);

enum heap_debug_kind {
    HEAP_USE_AFTER_FREE,    /* a freed block's poison was changed */
    HEAP_OUT_OF_BOUNDS,     /* a live block's red zone was changed */
};

/* What a debug check found: the first changed byte of one block. */
struct heap_debug_report {
    enum heap_debug_kind kind;
    uintptr_t block, payload;       /* the block's start, and what kmalloc returned for it */
    unsigned scale;                 /* the block's scale (a run's: that of its power of two) */
    size_t requested;               /* what its caller asked for; 0 if found in a free block */
    size_t offset;                  /* of the first changed byte, from the payload */
    uint8_t expected, found;        /* what the byte should be (0x6b, 0xa5, 0xcc) and is */
    const void *alloc_caller, *free_caller;     /* NULL when not kept */
    const void *caller;             /* who called the heap function that found it */
};

/*
 * Who hears about damaged poison (kmalloc, and any call that lets a
 * quarantined block merge) and damaged red zones (kfree, krealloc). NULL:
 * nobody (stats.debug_reports counts them anyway). fn may look (heap_check,
 * heap_block_info, heap_walk) but must not allocate or free.
 */
typedef void (*heap_debug_fn)(const struct heap_debug_report *report);
void heap_on_debug_report(heap_debug_fn fn);

/* The block that holds an address, as heap_block_info finds it. */
struct heap_block_info {
    uintptr_t start;                /* the block's first byte (a small block's header) */
    uintptr_t payload;              /* what kmalloc returned (would return, for a free block) */
    unsigned scale;
    size_t pages;                   /* a page block's pages (a run's: those it keeps); 0: small */
    int state;                      /* HEAP_BLOCK_FREE, _ALLOCATED, _SLAB or _QUARANTINED */
    size_t requested;               /* bytes asked for; 0 for a free block */
    const void *alloc_caller, *free_caller;     /* debug mode's callers; NULL when not kept */
};

/*
 * 1, with *out filled, when a region's blocks hold address (any byte of a
 * block, its header included); 0 when none does (outside every region, in a
 * frame table, or past a corrupted header). Writes nothing. O(1) for a live
 * page block, O(scales) for a free one, a walk of at most one page's small
 * blocks otherwise.
 */
int heap_block_info(const void *address, struct heap_block_info *out);

/* ---- sampling: a guarded pool outside the heap -------------------------------------- */

/*
 * A sampler serves some allocations from memory of its own (a pool of
 * guarded pages, say). While one is set, every `every`-th call of kmalloc,
 * kcalloc and krealloc(NULL, n) with 1 <= n <= HEAP_PAGE_BYTES is offered to
 * alloc first (every == 0: none); when alloc returns NULL the heap serves the
 * call as usual. kfree, heap_free, krealloc and ksize first ask owns(p) and,
 * if so, hand p to free, or copy size(p) bytes from it (0: no live object
 * starts at p). free answers HEAP_OK, or why it refused p having changed
 * nothing: the heap counts and reports that refusal as its own. The sampler
 * must not call kmalloc, kcalloc, krealloc or kfree, and the struct must
 * outlive its use.
 */
struct heap_sampler {
    void *(*alloc)(size_t size, const void *caller);
    int (*owns)(const void *p);
    enum heap_status (*free)(void *p, const void *caller);
    size_t (*size)(const void *p);
    unsigned every;
};

/* Set the sampler (NULL: none); its count starts afresh. */
void heap_set_sampler(const struct heap_sampler *sampler);

/* kmalloc that is never offered to the sampler: for exact demonstrations and tests. */
void *heap_alloc_unsampled(size_t size);

/* ---- slab.c's fast path: one region's frame table, read inline ---------------------- */

/*
 * A window on one region's frame table, so that kmem_cache_free can ask
 * "does a slab start at this frame?" without a call. heap_frame_window_of
 * fills it for the region whose blocks hold an address (0 and an empty
 * window, which holds nothing, when none does or the region has no table).
 * It stays right until the next heap_init: regions are never removed.
 */
struct heap_frame_window {
    uintptr_t start, span;      /* the region's blocks: [start, start + span) */
    uintptr_t frame_base;       /* where frame 0's entry would be: base + (a >> 12) * entry size */
};

int heap_frame_window_of(const void *addr, struct heap_frame_window *out);

/*
 * Does a live slab start at the page-aligned address frame, by w's table?
 * Reads one table entry, and only when frame lies in w's blocks. Only
 * heap_mark_slab writes HEAP_BLOCK_SLAB, into the first entry of a live page
 * block, and it writes HEAP_BLOCK_ALLOCATED back before that block can be
 * freed: an entry that says SLAB is never stale. 0 says nothing either way
 * (another region, or no slab): ask heap_slab_of.
 */
static inline int heap_window_slab_at(const struct heap_frame_window *w, uintptr_t frame)
{
    const struct heap_frame *entry;

    if (frame - w->start >= w->span)
        return 0;
    entry = (const struct heap_frame *)(w->frame_base +     /* (frame >> 12) * entry size */
                                        frame / (HEAP_PAGE_BYTES / sizeof(*entry)));
    return entry->header.state == HEAP_BLOCK_SLAB;
}

/* ---- debug reports from outside the heap (slab.c) ----------------------------------- */

/*
 * Count a debug report (stats.debug_reports) and hand it to the debug report
 * handler (heap_on_debug_report), as the heap does its own: for slab.c,
 * whose objects get poison and red zones too (see slab.h).
 */
void heap_debug_report_emit(const struct heap_debug_report *report);

#endif
