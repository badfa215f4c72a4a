/*
 * heap.c - a binary buddy heap: kmalloc, kfree and friends over regions of RAM.
 *
 * The classic buddy system (Knuth, TAOCP vol. 1, section 2.5; Linux
 * mm/page_alloc.c). Pure C11 with no I/O, no assembly and no kernel headers,
 * so the host compiles it unchanged for tests. It does not lock, does not
 * grow, and never reads or writes memory outside the regions it was given.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/heap.h"

/*
 * The buddy idea. Every block holds 2^scale bytes and starts at an address
 * that is a multiple of its size: it is "naturally aligned". A block of scale
 * s+1 splits into two blocks of scale s, its lower and upper half, and each
 * half is the other's buddy. Since both halves are naturally aligned, a block
 * finds its buddy without any search: flip the address bit worth 2^s. When a
 * block is freed and its buddy is free and whole (not split further), the two
 * merge back into the block they came from, which then tries its own buddy
 * one scale up. Free memory thus coalesces as far as it can in O(scales)
 * steps, and kmalloc never searches either: it takes the first block off the
 * free list of the scale it needs, or splits the smallest larger free block.
 */

#define HEADER_BYTES HEAP_HEADER_BYTES
#define MIN_BLOCK_BYTES (sizeof(struct block_header) + sizeof(struct list_header))
#define LONG_BITS (8 * sizeof(unsigned long))

/*
 * The alignment guarantee rests on these: every block starts at a multiple of
 * its size, at least 2^heap_min_scale() >= MIN_BLOCK_BYTES > HEADER_BYTES >=
 * HEAP_ALIGNMENT (all powers of two), and the payload starts HEADER_BYTES, a
 * multiple of HEAP_ALIGNMENT, further on.
 */
_Static_assert((HEAP_ALIGNMENT & (HEAP_ALIGNMENT - 1)) == 0, "a power of two");
_Static_assert(sizeof(struct block_header) == 8, "the header is 8 bytes on every target");
_Static_assert(sizeof(struct block_header) % HEAP_ALIGNMENT == 0, "the payload stays aligned");
_Static_assert(_Alignof(struct block_header) <= HEAP_ALIGNMENT, "a header is aligned");
_Static_assert(_Alignof(struct list_header) <= HEAP_ALIGNMENT, "a free block's link is aligned");
_Static_assert(HEAP_MAX_SCALE < 8 * sizeof(uintptr_t) && HEAP_MAX_SCALE < 256, "scale fits");
_Static_assert(sizeof(unsigned long) >= sizeof(uintptr_t), "bit helpers take any address");
#if defined(__i386__)
_Static_assert(MIN_BLOCK_BYTES > 8 && MIN_BLOCK_BYTES <= 16, "i686: 16-byte blocks, scale 4");
#endif

/* A region's managed span: a whole number of blocks, tiled without gaps. */
struct region {
    uintptr_t start, end;
};

static struct {
    struct list_header free_lists[HEAP_MAX_SCALE + 1];  /* a sentinel head per scale */
    size_t free_count[HEAP_MAX_SCALE + 1];
    uintptr_t nonempty;             /* bit s set while free_lists[s] is not empty */
    struct region regions[HEAP_MAX_REGIONS];            /* sorted by address */
    unsigned region_count;
    size_t largest_carved;          /* the largest block any region was carved into */
    struct heap_stats stats;        /* the counters; heap_get_stats adds the rest */
    heap_refusal_fn on_refusal;
} heap;

/* ---- scale arithmetic ------------------------------------------------------ */

static size_t scale_bytes(unsigned scale) { return heap_scale_bytes(scale); }

/* Smallest s with 2^s >= n, for n >= 2. */
static unsigned ceil_log2(size_t n)
{
    return (unsigned)LONG_BITS - (unsigned)__builtin_clzl(n - 1);
}

/* Largest s with 2^s <= n, for n >= 1. */
static unsigned floor_log2(unsigned long n)
{
    return (unsigned)LONG_BITS - 1 - (unsigned)__builtin_clzl(n);
}

/* Index of the lowest set bit of n, for n != 0. */
static unsigned lowest_bit(unsigned long n) { return (unsigned)__builtin_ctzl(n); }

static unsigned min_scale(void) { return ceil_log2(MIN_BLOCK_BYTES); }

static size_t min_block(void) { return scale_bytes(min_scale()); }

/* The scale of the block that serves a request of size bytes, or 0 when none can. */
static unsigned scale_for_request(size_t size)
{
    if (size == 0 || size > HEAP_MAX_REQUEST)
        return 0;
    unsigned scale = ceil_log2(size + HEADER_BYTES);
    if (scale < min_scale())
        scale = min_scale();
    return scale <= HEAP_MAX_SCALE ? scale : 0;
}

/* ---- block headers --------------------------------------------------------- */

/*
 * A header's check value: the top 16 bits of the block's address times the
 * golden ratio (Knuth's multiplicative hashing, as Linux's hash_long), XOR
 * the scale. Any change of scale changes it, and so does moving the header to
 * another block less than 0xb520 bytes away; a header copied farther, or
 * stray bytes, match one time in 65536. Every split and merge computes it,
 * so it costs one multiply.
 */
#if UINTPTR_MAX == UINT32_MAX
#define GOLDEN_RATIO 0x61c88647u                /* 2^32 / phi^2, Linux's GOLDEN_RATIO_32 */
#else
#define GOLDEN_RATIO 0x61c8864680b583ebull      /* 2^64 / phi^2, Linux's GOLDEN_RATIO_64 */
#endif

static uint16_t block_check(uintptr_t block, unsigned scale)
{
    return (uint16_t)((block * GOLDEN_RATIO) >> (8 * sizeof(uintptr_t) - 16)) ^ (uint16_t)scale;
}

/*
 * A stronger hash of a block's address and scale (the MurmurHash3 32-bit
 * finaliser), too slow for every split and merge: heap_check sums it over
 * the blocks of each free list as the list's fingerprint.
 */
static uint32_t block_hash(uintptr_t block, unsigned scale)
{
    uint32_t x = (uint32_t)block ^ (uint32_t)((uint64_t)block >> 32) ^ (scale * 0x9e3779b9u);

    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    return x ^ (x >> 16);
}

static struct block_header *header_at(uintptr_t block) { return (struct block_header *)block; }

/* A free block's link sits just after its header. */
static struct list_header *link_of(uintptr_t b) { return (struct list_header *)(b + HEADER_BYTES); }

static uintptr_t block_of_link(const struct list_header *n) { return (uintptr_t)n - HEADER_BYTES; }

static inline void header_write(uintptr_t block, unsigned scale, uint8_t state, size_t requested)
{
    struct block_header *header = header_at(block);

    header->requested = (uint32_t)requested;
    header->scale = (uint8_t)scale;
    header->state = state;
    header->check = block_check(block, scale);
}

static bool state_known(uint8_t state)
{
    return state == HEAP_BLOCK_FREE || state == HEAP_BLOCK_ALLOCATED;
}

/*
 * Is the header at block (which lies inside region r) intact? A known state,
 * a scale in range, the block aligned to its size and inside r, and the check
 * value right. Reads the 8 header bytes only.
 */
static inline bool header_valid(uintptr_t block, const struct region *r)
{
    const struct block_header *header = header_at(block);
    unsigned scale = header->scale;

    return state_known(header->state) && scale >= min_scale() && scale <= HEAP_MAX_SCALE
        && (block & (scale_bytes(scale) - 1)) == 0 && scale_bytes(scale) <= r->end - block
        && header->check == block_check(block, scale);
}

/* ---- free lists ------------------------------------------------------------ */

/*
 * One circular doubly linked list per scale, with a sentinel head: an empty
 * list is a head pointing at itself, so push and remove never test for NULL
 * or for the ends. The counts and the non-empty bitmap follow every change.
 *
 * push(n) puts n just after the head:
 *
 *   before:  head <-> a <-> ... <-> head     after:  head <-> n <-> a <-> ...
 *
 *            n->next = a;  n->prev = head;  a->prev = n;  head->next = n;
 */
static inline void free_list_push(uintptr_t block, unsigned scale)
{
    struct list_header *head = &heap.free_lists[scale], *node = link_of(block);

    node->next = head->next;
    node->prev = head;
    head->next->prev = node;
    head->next = node;
    heap.free_count[scale]++;
    heap.nonempty |= (uintptr_t)1 << scale;
}

/*
 * remove(n) joins n's neighbours to each other; n's own links go stale.
 *
 *   before:  p <-> n <-> q                   after:  p <-> q
 *
 *            p->next = q;  q->prev = p;
 */
static inline void free_list_remove(uintptr_t block, unsigned scale)
{
    struct list_header *node = link_of(block);

    node->prev->next = node->next;
    node->next->prev = node->prev;
    heap.free_count[scale]--;
    heap.nonempty &= ~((uintptr_t)(heap.free_count[scale] == 0) << scale);
}

/* Bytes in free blocks, from the counts (cheaper than a running total kept by push and remove). */
static size_t free_list_bytes(void)
{
    size_t bytes = 0;

    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++)
        bytes += heap.free_count[s] * scale_bytes(s);
    return bytes;
}

/* ---- regions --------------------------------------------------------------- */

void heap_init(void)
{
    heap.nonempty = 0;
    heap.region_count = 0;
    heap.largest_carved = 0;
    heap.stats = (struct heap_stats){0};
    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++) {
        heap.free_lists[s].next = heap.free_lists[s].prev = &heap.free_lists[s];
        heap.free_count[s] = 0;
    }
}

/* The region holding address a, or NULL: a binary search of the sorted regions. */
static const struct region *region_find(uintptr_t a)
{
    unsigned low = 0, high = heap.region_count;

    while (low < high) {
        unsigned middle = low + (high - low) / 2;
        const struct region *r = &heap.regions[middle];
        if (a < r->start)
            high = middle;
        else if (a >= r->end)
            low = middle + 1;
        else
            return r;
    }
    return NULL;
}

/* Where [start, end) goes in the sorted array, or HEAP_MAX_REGIONS when it overlaps a region. */
static unsigned region_slot(uintptr_t start, uintptr_t end)
{
    unsigned i = 0;

    while (i < heap.region_count && heap.regions[i].end <= start)
        i++;
    return i < heap.region_count && heap.regions[i].start < end ? HEAP_MAX_REGIONS : i;
}

/*
 * Carve [start, end) into the largest naturally aligned blocks that fit. At
 * each address the scale is capped by the address's alignment (its lowest
 * set bit) and by the bytes left. On i686, [0x1030, 0x1100) gives 0x1030
 * (16 bytes), 0x1040 (64 bytes) and 0x1080 (128 bytes).
 */
static void region_carve(uintptr_t start, uintptr_t end)
{
    unsigned scale;

    for (uintptr_t block = start; block < end; block += scale_bytes(scale)) {
        scale = floor_log2(end - block);
        if (block != 0 && lowest_bit(block) < scale)
            scale = lowest_bit(block);
        header_write(block, scale, HEAP_BLOCK_FREE, 0);
        free_list_push(block, scale);
        if (scale_bytes(scale) > heap.largest_carved)
            heap.largest_carved = scale_bytes(scale);
    }
}

size_t heap_add_region(void *start, size_t length)
{
    uintptr_t first = (uintptr_t)start, mask = min_block() - 1;

    if (length > UINTPTR_MAX - first)
        length = UINTPTR_MAX - first;       /* a region that reaches the top of memory */
    uintptr_t end = (first + length) & ~mask;
    if (end <= first || ((first + mask) & ~mask) >= end || heap.region_count == HEAP_MAX_REGIONS)
        return 0;
    first = (first + mask) & ~mask;
    unsigned slot = region_slot(first, end);
    if (slot == HEAP_MAX_REGIONS)
        return 0;
    for (unsigned i = heap.region_count++; i > slot; i--)
        heap.regions[i] = heap.regions[i - 1];
    heap.regions[slot] = (struct region){first, end};
    heap.stats.managed_bytes += end - first;
    region_carve(first, end);
    return end - first;
}

/* ---- kmalloc --------------------------------------------------------------- */

/*
 * Split a free block of scale `from` (already off its list) down to scale
 * `to` <= `from`: keep the lower half each time, and put the upper half on
 * its list. Only the upper halves and, at the end, the block itself get
 * headers: the halves in between are never seen by anyone.
 *
 *   scale 7:  [                     block                     ]
 *   scale 6:  [         block         ][ upper: onto list 6   ]
 *   scale 5:  [  block   ][ upper: 5  ]
 */
static void block_split(uintptr_t block, unsigned from, unsigned to)
{
    if (from == to)
        return;                 /* the block keeps its header */
    heap.stats.splits += from - to;
    while (from > to) {
        from--;
        uintptr_t upper = block + scale_bytes(from);
        header_write(upper, from, HEAP_BLOCK_FREE, 0);
        free_list_push(upper, from);
    }
    header_write(block, to, HEAP_BLOCK_FREE, 0);
}

/* Hand out a free block: its header (from its list, or block_split) already holds its scale. */
static void *block_claim(uintptr_t block, unsigned scale, size_t size)
{
    header_at(block)->state = HEAP_BLOCK_ALLOCATED;
    header_at(block)->requested = (uint32_t)size;
    heap.stats.allocated_bytes += scale_bytes(scale);
    heap.stats.requested_bytes += size;
    heap.stats.allocations++;
    return (void *)(block + HEADER_BYTES);
}

void *kmalloc(size_t size)
{
    unsigned scale = scale_for_request(size);
    uintptr_t candidates = scale == 0 ? 0 : heap.nonempty & (~(uintptr_t)0 << scale);

    if (candidates == 0) {
        heap.stats.failed_allocations++;
        return NULL;
    }
    unsigned from = lowest_bit(candidates);     /* the smallest free block that fits */
    uintptr_t block = block_of_link(heap.free_lists[from].next);
    free_list_remove(block, from);
    block_split(block, from, scale);
    return block_claim(block, scale, size);
}

/* ---- kfree ----------------------------------------------------------------- */

/*
 * Find the live block whose payload starts at ptr, writing nothing. Returns
 * HEAP_OK and sets *block and *region, or says why ptr is not such a block. A
 * ptr below HEADER_BYTES wraps round to an address no region holds.
 */
static enum heap_status block_lookup(const void *ptr, uintptr_t *block,
                                     const struct region **region)
{
    uintptr_t b = (uintptr_t)ptr - HEADER_BYTES;
    const struct region *r = region_find(b);

    if (r == NULL || (b & (min_block() - 1)) != 0 || !state_known(header_at(b)->state))
        return HEAP_INVALID_POINTER;    /* outside the heap, misaligned, or no header there */
    if (!header_valid(b, r))
        return HEAP_CORRUPTED_HEADER;
    if (header_at(b)->state == HEAP_BLOCK_FREE)
        return HEAP_DOUBLE_FREE;
    *block = b;
    *region = r;
    return HEAP_OK;
}

static enum heap_status free_refused(const void *ptr, enum heap_status why, const void *caller,
                                     bool report)
{
    heap.stats.refused_frees++;
    if (report && heap.on_refusal != NULL)
        heap.on_refusal(ptr, why, caller);
    return why;
}

/*
 * The buddy of a block is one XOR away. Worked example: the block at offset
 * 0x60 of size 0x20 (scale 5) has its buddy at 0x60 ^ 0x20 = 0x40, and the
 * block at 0x40 finds 0x40 ^ 0x20 = 0x60 the same way. Merged, they form the
 * block of size 0x40 at the lower address, 0x60 & ~0x20 = 0x40. Addresses are
 * absolute: every block is aligned to its size in the address space itself.
 */
static uintptr_t block_buddy(uintptr_t block, unsigned scale) { return block ^ scale_bytes(scale); }

/*
 * May the block of this scale in region r merge with its buddy? All must hold
 * (the checklist of Linux's __free_one_page), tested cheapest first:
 *   (a) the merged block would not pass HEAP_MAX_SCALE;
 *   (b) the buddy starts inside region r: not in a hole between regions, not
 *       past r's edge, so no byte outside the heap is ever read;
 *   (c) the buddy is free;
 *   (d) the buddy has the same scale: it is whole, not split into smaller blocks;
 *   (e) the buddy's header is intact: its block ends inside r and its check
 *       value is right (with (c) and (d), all that header_valid would test).
 */
static bool buddy_mergeable(uintptr_t block, unsigned scale, const struct region *r)
{
    uintptr_t buddy = block_buddy(block, scale);
    const struct block_header *header = header_at(buddy);   /* read only once (b) holds */

    return scale < HEAP_MAX_SCALE                                           /* (a) */
        && buddy >= r->start && buddy < r->end                              /* (b) */
        && header->state == HEAP_BLOCK_FREE                                 /* (c) */
        && header->scale == scale                                           /* (d) */
        && scale_bytes(scale) <= r->end - buddy                             /* (e) */
        && header->check == block_check(buddy, scale);
}

/*
 * Merge a free block (on no list, its header already saying free) with its
 * buddy while the checklist allows, climbing a scale each time, then put the
 * result on its free list. Only a block that grew needs a new header.
 *
 *   scale 5:  [freed ][buddy ]                    buddy off list 5
 *   scale 6:  [    merged    ][     buddy    ]    buddy off list 6
 *   scale 7:  [            merged            ]    onto list 7
 */
static void block_merge(uintptr_t block, unsigned scale, const struct region *r)
{
    unsigned from = scale;

    while (buddy_mergeable(block, scale, r)) {
        free_list_remove(block_buddy(block, scale), scale);
        block &= ~scale_bytes(scale);
        scale++;
    }
    heap.stats.merges += scale - from;
    if (scale != from)
        header_write(block, scale, HEAP_BLOCK_FREE, 0);
    free_list_push(block, scale);
}

/* Free a block block_lookup has vouched for. */
static void block_free(uintptr_t block, const struct region *r)
{
    struct block_header *header = header_at(block);

    heap.stats.allocated_bytes -= scale_bytes(header->scale);
    heap.stats.requested_bytes -= header->requested;
    heap.stats.frees++;
    header->state = HEAP_BLOCK_FREE;    /* an upper half's header stays behind: it must say free */
    header->requested = 0;
    block_merge(block, header->scale, r);
}

static enum heap_status pointer_free(void *ptr, const void *caller, bool report)
{
    uintptr_t block;
    const struct region *r;

    if (ptr == NULL)
        return HEAP_OK;
    enum heap_status why = block_lookup(ptr, &block, &r);
    if (why != HEAP_OK)
        return free_refused(ptr, why, caller, report);
    block_free(block, r);
    return HEAP_OK;
}

void kfree(void *ptr) { pointer_free(ptr, __builtin_return_address(0), true); }

enum heap_status heap_free(void *ptr) { return pointer_free(ptr, NULL, false); }

/* ---- kcalloc, krealloc, ksize ---------------------------------------------- */

void *kcalloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        heap.stats.failed_allocations++;
        return NULL;
    }
    void *p = kmalloc(n * size);
    if (p != NULL)
        __builtin_memset(p, 0, n * size);
    return p;
}

/* Can the block grow in place from scale `from` to `to`? As the lower half, over free buddies. */
static bool block_can_grow(uintptr_t block, unsigned from, unsigned to, const struct region *r)
{
    for (unsigned s = from; s < to; s++)
        if ((block & scale_bytes(s)) != 0 || !buddy_mergeable(block, s, r))
            return false;
    return true;
}

/* Grow from scale `from` to `to` by taking the free upper buddies off their lists. */
static void block_grow(uintptr_t block, unsigned from, unsigned to)
{
    for (unsigned s = from; s < to; s++)
        free_list_remove(block_buddy(block, s), s);
    heap.stats.merges += to - from;
}

/* Give an allocated block a new scale in place, absorbing free buddies or freeing upper halves. */
static bool block_resize(uintptr_t block, unsigned scale, size_t size, const struct region *r)
{
    struct block_header *header = header_at(block);
    unsigned old = header->scale;

    if (scale > old && !block_can_grow(block, old, scale, r))
        return false;
    heap.stats.allocated_bytes += scale_bytes(scale) - scale_bytes(old);     /* may wrap: fine */
    heap.stats.requested_bytes += size - header->requested;
    if (scale > old)
        block_grow(block, old, scale);
    else
        block_split(block, old, scale);     /* rewrites the header when it shrinks */
    header_write(block, scale, HEAP_BLOCK_ALLOCATED, size);
    return true;
}

void *krealloc(void *ptr, size_t size)
{
    uintptr_t block;
    const struct region *r;

    if (ptr == NULL)
        return kmalloc(size);
    enum heap_status why = block_lookup(ptr, &block, &r);
    if (why != HEAP_OK) {
        free_refused(ptr, why, __builtin_return_address(0), true);
        return NULL;
    }
    if (size == 0) {
        block_free(block, r);
        return NULL;
    }
    unsigned scale = scale_for_request(size);
    if (scale != 0 && block_resize(block, scale, size, r))
        return ptr;
    void *moved = kmalloc(size);     /* counts the failure when there is no room */
    if (moved != NULL) {             /* a move only ever grows: copy the whole old payload */
        __builtin_memcpy(moved, ptr, heap_scale_payload(header_at(block)->scale));
        block_free(block, r);
    }
    return moved;
}

unsigned heap_block_scale(const void *ptr)
{
    uintptr_t block;
    const struct region *r;

    return block_lookup(ptr, &block, &r) == HEAP_OK ? header_at(block)->scale : 0;
}

uintptr_t heap_block_of(const void *ptr)
{
    uintptr_t block;
    const struct region *r;

    return block_lookup(ptr, &block, &r) == HEAP_OK ? block : 0;
}

size_t ksize(const void *ptr) { return heap_scale_payload(heap_block_scale(ptr)); }

/* ---- heap_check: every invariant, bounded walks, the first violation ------- */

/* What the region walk saw, to compare with the free lists and the counters. */
struct check_tally {
    size_t free_count[HEAP_MAX_SCALE + 1];
    uint32_t fingerprint[HEAP_MAX_SCALE + 1];   /* sum of block_hash over free blocks */
    size_t managed_bytes, free_bytes, allocated_bytes, requested_bytes;
};

static int violation(struct heap_violation *found, const char *what, uintptr_t at, unsigned scale)
{
    if (found != NULL)
        *found = (struct heap_violation){what, at, scale};
    return 1;
}

/* May a list link at node be read? The head of its scale, or inside a region. */
static bool link_readable(const struct list_header *node, unsigned scale)
{
    uintptr_t block = block_of_link(node);

    return node == &heap.free_lists[scale]
        || (region_find(block) != NULL && (block & (min_block() - 1)) == 0);
}

/* Is the free block at block linked both ways to readable neighbours? */
static bool block_linked(uintptr_t block, unsigned scale)
{
    const struct list_header *node = link_of(block);

    return link_readable(node->next, scale) && link_readable(node->prev, scale)
        && node->next->prev == node && node->prev->next == node;
}

static int check_block(uintptr_t block, const struct region *r, struct check_tally *t,
                       struct heap_violation *found)
{
    const struct block_header *header = header_at(block);
    unsigned scale = header->scale;

    if (!header_valid(block, r))
        return violation(found, "block header is corrupted", block, scale);
    t->managed_bytes += scale_bytes(scale);
    if (header->state == HEAP_BLOCK_ALLOCATED) {
        t->allocated_bytes += scale_bytes(scale);
        t->requested_bytes += header->requested;
        return header->requested > heap_scale_payload(scale)
            ? violation(found, "requested size does not fit its block", block, scale) : 0;
    }
    if (!block_linked(block, scale))
        return violation(found, "free block missing from its list", block, scale);
    if (buddy_mergeable(block, scale, r))
        return violation(found, "free buddies left unmerged", block, scale);
    t->free_count[scale]++;
    t->fingerprint[scale] += block_hash(block, scale);
    t->free_bytes += scale_bytes(scale);
    return 0;
}

/* Blocks must tile the region exactly; the walk stops at the first bad header. */
static int check_region(const struct region *r, struct check_tally *t, struct heap_violation *found)
{
    for (uintptr_t block = r->start; block < r->end; block += scale_bytes(header_at(block)->scale))
        if (check_block(block, r, t, found))
            return 1;
    return 0;
}

/* Is node the link of a free block of this scale? */
static bool node_is_free_block(const struct list_header *node, unsigned scale)
{
    uintptr_t block = block_of_link(node);
    const struct region *r = region_find(block);

    return r != NULL && (block & (min_block() - 1)) == 0 && header_valid(block, r)
        && header_at(block)->state == HEAP_BLOCK_FREE && header_at(block)->scale == scale;
}

/* Walk one list, at most free_count nodes, checking each before following it. */
static int check_list(unsigned scale, const struct check_tally *t, struct heap_violation *found)
{
    const struct list_header *head = &heap.free_lists[scale], *prev = head, *node = head->next;
    size_t seen = 0;
    uint32_t fingerprint = 0;

    for (; node != head; prev = node, node = node->next, seen++) {
        if (seen == heap.free_count[scale] || !node_is_free_block(node, scale))
            return violation(found, "free list holds a block that is not a free block of its scale",
                             block_of_link(node), scale);
        if (node->prev != prev)
            return violation(found, "free list links disagree", block_of_link(node), scale);
        fingerprint += block_hash(block_of_link(node), scale);
    }
    bool marked = (heap.nonempty >> scale) & 1;     /* the bitmap bit must agree too */
    if (head->prev != prev || seen != heap.free_count[scale] || marked != (seen != 0))
        return violation(found, "free count does not match its list", 0, scale);
    if (seen != t->free_count[scale] || fingerprint != t->fingerprint[scale])
        return violation(found, "free list does not hold the free blocks of its scale", 0, scale);
    return 0;
}

static int check_counters(const struct check_tally *t, struct heap_violation *found)
{
    const struct heap_stats *s = &heap.stats;

    if (t->managed_bytes != s->managed_bytes || t->free_bytes != free_list_bytes()
        || t->allocated_bytes != s->allocated_bytes || t->requested_bytes != s->requested_bytes)
        return violation(found, "byte counters do not match the blocks", 0, 0);
    return 0;
}

int heap_check_report(struct heap_violation *found)
{
    struct check_tally tally = {0};

    for (unsigned i = 0; i < heap.region_count; i++)
        if (check_region(&heap.regions[i], &tally, found))
            return 1;
    for (unsigned scale = 0; scale <= HEAP_MAX_SCALE; scale++)
        if (check_list(scale, &tally, found))
            return 1;
    return check_counters(&tally, found);
}

int heap_check(void) { return heap_check_report(NULL); }

/* ---- statistics and looking inside ----------------------------------------- */

/*
 * How far the largest free block falls short of the largest one the free
 * bytes could form: at most the largest block a region was carved into, so
 * an empty heap is 0% fragmented whatever the sizes of its regions.
 */
static unsigned fragmentation_percent(size_t free_bytes, size_t largest_free)
{
    size_t could_be = free_bytes < heap.largest_carved ? free_bytes : heap.largest_carved;

    return could_be == 0 ? 0 : (unsigned)((uint64_t)100 * (could_be - largest_free) / could_be);
}

void heap_get_stats(struct heap_stats *out)
{
    *out = heap.stats;
    out->free_bytes = free_list_bytes();
    out->regions = heap.region_count;
    out->largest_free_block = heap.nonempty == 0 ? 0 : scale_bytes(floor_log2(heap.nonempty));
    out->fragmentation_percent = fragmentation_percent(out->free_bytes, out->largest_free_block);
}

unsigned heap_min_scale(void) { return min_scale(); }

size_t heap_scale_payload(unsigned scale)
{
    return scale >= min_scale() && scale <= HEAP_MAX_SCALE ? scale_bytes(scale) - HEADER_BYTES : 0;
}

size_t heap_free_count(unsigned scale)
{
    return scale <= HEAP_MAX_SCALE ? heap.free_count[scale] : 0;
}

size_t heap_free_list_peek(unsigned scale, uintptr_t *out, size_t max)
{
    size_t n = 0;

    if (scale > HEAP_MAX_SCALE)
        return 0;
    for (const struct list_header *node = heap.free_lists[scale].next;
         n < max && n < heap.free_count[scale]; node = node->next)
        out[n++] = block_of_link(node);
    return n;
}

void heap_walk(heap_walk_fn visit, void *context)
{
    for (unsigned i = 0; i < heap.region_count; i++) {
        const struct region *r = &heap.regions[i];
        for (uintptr_t block = r->start; block < r->end && header_valid(block, r);
             block += scale_bytes(header_at(block)->scale))
            visit(block, header_at(block)->scale, header_at(block)->state == HEAP_BLOCK_ALLOCATED,
                  context);
    }
}

int heap_region(unsigned i, uintptr_t *start, uintptr_t *end)
{
    if (i >= heap.region_count)
        return 0;
    *start = heap.regions[i].start;
    *end = heap.regions[i].end;
    return 1;
}

void heap_on_refusal(heap_refusal_fn report) { heap.on_refusal = report; }

const char *heap_status_name(enum heap_status status)
{
    switch (status) {
    case HEAP_OK: return "ok";
    case HEAP_INVALID_POINTER: return "invalid pointer";
    case HEAP_DOUBLE_FREE: return "double free";
    case HEAP_CORRUPTED_HEADER: return "corrupted header";
    }
    return "unknown status";
}
