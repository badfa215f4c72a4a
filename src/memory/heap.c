/*
 * heap.c - a binary buddy heap: kmalloc, kfree and friends over regions of RAM.
 *
 * The classic buddy system (Knuth, TAOCP vol. 1, section 2.5; Linux
 * mm/page_alloc.c), with headers in band for blocks under a page and in a
 * frame table for page blocks (as Linux keeps struct page out of the pages),
 * and exact page runs (Linux's alloc_pages_exact). Pure C11 with no I/O, no
 * assembly and no kernel headers, so the host compiles it unchanged for tests.
 * Its debug mode follows Linux's SLUB debugging (poison, red zones, callers)
 * and KASAN's quarantine. It does not lock, does not grow, and never reads
 * or writes memory outside the regions it was given.
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
 *
 * Two kinds of block. A small block (scale < 12) starts with its 8-byte
 * header and kmalloc returns the byte after it. A page block (scale >= 12)
 * is all payload, so it is page-aligned and a 4 KiB request takes 4 KiB: its
 * header lives out of band, as its frame's entry in the region's frame table,
 * one entry per 4 KiB frame at the top of the region, and so does a free
 * page block's list link (struct heap_frame: header, then link), so that
 * page blocks come and go without a touch of their pages. An entry also
 * says when its frame is carved into small blocks, or is a later page of a
 * live page block, so the table alone decides what a pointer points into and
 * whether it may be freed: no payload byte is ever taken for a header. A
 * split or a merge crosses between the kinds at scale 12: a free page splits
 * into small blocks (its entry says SMALL from then on), and small buddies
 * merge back into a page.
 *
 *   frame:  0        1        2        3        4        5        6        7      | table
 *   blocks: [small  ][free   ][free 8 KiB       ][a run of 3 pages          ][free   ]
 *            |h||h|
 *   table:  SMALL    FREE s12 FREE s13 NONE     ALLOC s14 TAIL 1  TAIL 2   FREE s12
 *
 * (|h| an in-band header. The run keeps 3 pages of a 16 KiB block: see run_claim.)
 */

#define HEADER_BYTES HEAP_HEADER_BYTES
#define PAGE_SCALE HEAP_PAGE_SCALE
#define PAGE_BYTES HEAP_PAGE_BYTES
#define MIN_BLOCK_BYTES (sizeof(struct block_header) + sizeof(struct list_header))
#define FRAME_BYTES sizeof(struct heap_frame)
#define LONG_BITS (8 * sizeof(unsigned long))
#define NO_SCALE (HEAP_MAX_SCALE + 1)
#define TAG_OFFSET offsetof(struct block_header, scale)
#define OUT_OF_LINE __attribute__((noinline))   /* so that the common path saves no registers */
#define INLINE_ALWAYS inline __attribute__((always_inline))  /* a fast path, in each caller */
#define CALLER __builtin_return_address(0)      /* who called the function it is written in */
#if defined(__clang__)                          /* c holds: compile for that case alone */
#define ASSUME(c) __builtin_assume(c)
#else
#define ASSUME(c) ((c) ? (void)0 : __builtin_unreachable())
#endif
#define FRONT_BYTES MIN_BLOCK_BYTES             /* a free block's header and link (see
                                                   free_body_damage): never poison */
#define TRAILER_BYTES HEAP_DEBUG_TRAILER_BYTES
#define SLACK HEAP_DEBUG_SLACK

/*
 * The alignment guarantee rests on these: every block starts at a multiple of
 * its size, at least 2^heap_min_scale() >= MIN_BLOCK_BYTES > HEADER_BYTES >=
 * HEAP_ALIGNMENT (all powers of two), and a small payload starts HEADER_BYTES,
 * a multiple of HEAP_ALIGNMENT, further on; a page block's is page-aligned.
 */
_Static_assert((HEAP_ALIGNMENT & (HEAP_ALIGNMENT - 1)) == 0, "a power of two");
_Static_assert(sizeof(struct block_header) == 8, "the header is 8 bytes on every target");
_Static_assert(sizeof(struct block_header) % HEAP_ALIGNMENT == 0, "the payload stays aligned");
_Static_assert(_Alignof(struct block_header) <= HEAP_ALIGNMENT, "a header is aligned");
_Static_assert(_Alignof(struct list_header) <= HEAP_ALIGNMENT, "a free block's link is aligned");
_Static_assert(HEAP_MAX_SCALE < 8 * sizeof(uintptr_t) && HEAP_MAX_SCALE < 256, "scale fits");
_Static_assert(sizeof(unsigned long) >= sizeof(uintptr_t), "bit helpers take any address");
_Static_assert(HEAP_PAGE_BYTES == (size_t)1 << HEAP_PAGE_SCALE, "a page is 2^12 bytes");
_Static_assert(MIN_BLOCK_BYTES <= HEAP_PAGE_BYTES / 2, "some blocks are small");
_Static_assert(offsetof(struct heap_frame, link) == HEADER_BYTES, "link_of finds an entry's link");
_Static_assert((FRAME_BYTES & (FRAME_BYTES - 1)) == 0 && FRAME_BYTES >= MIN_BLOCK_BYTES
               && FRAME_BYTES < 2 * MIN_BLOCK_BYTES, "an entry is a smallest block: tables align");
_Static_assert(TAG_OFFSET == 4 && offsetof(struct block_header, state) == 5
               && offsetof(struct block_header, check) == 6, "scale, state, check: one tag word");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "tag: scale | state << 8 | check << 16");
_Static_assert(offsetof(struct block_header, requested) == 0, "header word: requested | tag << 32");
_Static_assert(TRAILER_BYTES % _Alignof(struct heap_debug_trailer) == 0
               && _Alignof(struct heap_debug_trailer) <= HEAP_ALIGNMENT, "a trailer ends a block");
_Static_assert(SLACK < HEAP_MAX_REQUEST && HEAP_QUARANTINE_BLOCKS > 0, "debug sizes add up");
#if defined(__i386__)
_Static_assert(MIN_BLOCK_BYTES > 8 && MIN_BLOCK_BYTES <= 16, "i686: 16-byte blocks, scale 4");
#endif

/*
 * A region: its blocks tile [start, end), its frame table fills [end, limit).
 * The entry of the frame at address a lies at frame_base + (a / 4 KiB) *
 * FRAME_BYTES: frame_base is where frame 0's entry would be, so one shift
 * finds any.
 */
struct region {
    uintptr_t start, end, limit;
    uintptr_t span;                 /* end - start, for the one-compare range tests */
    uintptr_t frame_base;
    struct heap_frame *frames;      /* the table's first entry (of the frame holding start) */
    uintptr_t table_span;           /* the bytes of its entries, 0 without a table */
    uintptr_t whole_start;          /* the whole frames of [start, end) are */
    uintptr_t whole_span;           /* [whole_start, + whole_span), 0 if none: a merge below a
                                       page never leaves one */
};

/*
 * A region that holds no whole frame has only small blocks, in at most two
 * frames: they share this table, which is never written.
 */
static struct heap_frame no_table[2] = {
    {.header = {0, 0, HEAP_FRAME_SMALL, 0}}, {.header = {0, 0, HEAP_FRAME_SMALL, 0}},
};

static const struct region no_region;   /* holds no address */

/*
 * The quarantine: a ring of block starts, oldest at `oldest`. The blocks say
 * HEAP_BLOCK_QUARANTINED and are on no free list.
 */
struct quarantine {
    uintptr_t blocks[HEAP_QUARANTINE_BLOCKS];
    unsigned oldest, count;
    size_t bytes;
};

/*
 * A free list of one scale: its sentinel head, and the key word (see
 * key_word) of a free block of that scale, which heap_init writes once: the
 * split loop steps one pointer for both.
 */
struct free_list {
    struct list_header head;
    uint64_t key;
};

/*
 * The hooks (a debug flag or a sampler) cost kmalloc and kfree nothing while
 * they are off: while they are on, `hooked` is set, kmalloc's request_limit
 * is 0 so that every request misses the fast path, and `recent` stays
 * no_region so that every kfree misses it too. The miss paths look at
 * `hooked` and take the hooked way (see allocation_missed and pointer_free).
 */
static struct {
    struct free_list free_lists[HEAP_MAX_SCALE + 1];    /* a sentinel head per scale */
    size_t free_count[HEAP_MAX_SCALE + 1];             /* with chain_count: see free_count_of */
    size_t chain_count[HEAP_MAX_SCALE + 1];
    uintptr_t nonempty;             /* bit s set while free_lists[s] is not empty */
    struct region regions[HEAP_MAX_REGIONS];            /* sorted by address */
    unsigned region_count;
    const struct region *recent;    /* the region the last search found: tried first */
    size_t request_limit;           /* HEAP_MAX_REQUEST, or 0 while hooked */
    size_t largest_carved;          /* the largest block any region was carved into */
    struct heap_stats stats;        /* the counters; heap_get_stats adds the rest */
    heap_refusal_fn on_refusal;
    heap_debug_fn on_debug_report;
    bool hooked;                    /* debug != 0 or sampler != NULL */
    unsigned debug;                 /* the HEAP_DEBUG_* flags */
    const struct heap_sampler *sampler;
    unsigned sample_countdown;      /* eligible calls until the next is offered to the sampler */
    struct quarantine quarantine;
} heap = {.recent = &no_region, .request_limit = HEAP_MAX_REQUEST};

/* Is any of these HEAP_DEBUG_* flags on? */
static bool debugging(unsigned flags) { return (heap.debug & flags) != 0; }

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
    return ((unsigned)LONG_BITS - 1) ^ (unsigned)__builtin_clzl(n);    /* one bsr on x86 */
}

/* Index of the lowest set bit of n, for n != 0. */
static unsigned lowest_bit(unsigned long n) { return (unsigned)__builtin_ctzl(n); }

static unsigned min_scale(void) { return ceil_log2(MIN_BLOCK_BYTES); }

static size_t min_block(void) { return scale_bytes(min_scale()); }

static bool page_aligned(uintptr_t a) { return (a & (PAGE_BYTES - 1)) == 0; }

static uintptr_t frame_of(uintptr_t a) { return a & ~(uintptr_t)(PAGE_BYTES - 1); }

/* Pages a page block keeps for a request of size bytes. */
static size_t pages_for(size_t size) { return (size + PAGE_BYTES - 1) >> PAGE_SCALE; }

/* The scale of the page block for size bytes: the smallest power of two, a page at least. */
static unsigned page_scale_for(size_t size)
{
    return size <= PAGE_BYTES ? PAGE_SCALE : ceil_log2(size);
}

/*
 * The scale of the block that serves a request of size bytes, or 0 when none
 * can (size 0 or over limit, HEAP_MAX_REQUEST but for heap.request_limit): a
 * small block holding the header too (ceil_log2(size + header), and or-ing in
 * min_block - 1 makes it at least the smallest scale), or else a page block.
 */
static inline unsigned scale_for_request(size_t size, size_t limit)
{
    if (size - 1 >= limit)
        return 0;                       /* 0, or too large: size - 1 wraps round for 0 */
    unsigned scale = floor_log2((size + HEADER_BYTES - 1) | (min_block() - 1)) + 1;
    if (scale < PAGE_SCALE)
        return scale;
    scale = page_scale_for(size);
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

/*
 * A header's last four bytes (scale, state, check) read as one word, its
 * "tag": scale | state << 8 | check << 16. One compare of a header's tag with
 * the tag a block should have checks all three. Built in one go: the hash
 * already in the top half, the scale XORed into both halves.
 */
static inline uint32_t tag_hash(uintptr_t block)
{
    return (uint32_t)((block * GOLDEN_RATIO) >> (8 * sizeof(uintptr_t) - 32)) & 0xffff0000u;
}

/*
 * The rest of a tag, its "key": scale | state << 8 | scale << 16. The three
 * fields share no bit, so the key of the next scale up is key + KEY_STEP:
 * the split and merge loops step it instead of building it at each level.
 */
static inline uint32_t tag_key(unsigned scale, uint8_t state)
{
    return (uint32_t)scale * 0x10001u ^ (uint32_t)state << 8;
}

#define KEY_STEP 0x10001u

static inline uint32_t block_tag(uintptr_t block, unsigned scale, uint8_t state)
{
    return tag_hash(block) ^ tag_key(scale, state);
}

/*
 * A whole header as one 64-bit word, requested | tag << 32, for a single
 * store: word_hash(block) ^ key_word(scale, state) | requested. On a 64-bit
 * host the hash's 16 bits are already where the word wants them, in the top
 * of the product, so nothing is shifted. product_word takes the product
 * (block * GOLDEN_RATIO) itself: the split adds it up level by level, as
 * block's product plus size's, doubling size's (the products wrap round as
 * the addresses' multiples do, so the sum is the upper half's product).
 */
static inline uint64_t product_word(uintptr_t product)
{
#if UINTPTR_MAX == UINT32_MAX
    return (uint64_t)(product & 0xffff0000u) << 32;
#else
    return product & 0xffff000000000000u;
#endif
}

static inline uint64_t word_hash(uintptr_t block) { return product_word(block * GOLDEN_RATIO); }

static inline uint64_t key_word(unsigned scale, uint8_t state)
{
    return (uint64_t)tag_key(scale, state) << 32;
}


static inline uint16_t block_check(uintptr_t block, unsigned scale)
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

static inline uint32_t header_tag(const struct block_header *header)
{
    uint32_t tag;

    __builtin_memcpy(&tag, (const unsigned char *)header + TAG_OFFSET, sizeof(tag));
    return tag;
}

static inline void header_put(struct block_header *header, uint64_t word)
{
    __builtin_memcpy(header, &word, sizeof(word));
}

/* The tag of a frame table entry that is no header: scale and check 0. */
static inline uint32_t state_tag(uint8_t state) { return (uint32_t)state << 8; }

static inline void header_set(struct block_header *header, size_t requested, uint32_t tag)
{
    header->requested = (uint32_t)requested;
    __builtin_memcpy((unsigned char *)header + TAG_OFFSET, &tag, sizeof(tag));
}

/* A small block's header: its first bytes. */
static inline struct block_header *header_at(uintptr_t block)
{
    return (struct block_header *)block;
}

/* The entry of the frame holding address a, from a region's frame_base. */
static inline struct heap_frame *frame_at(uintptr_t frame_base, uintptr_t a)
{
    return (struct heap_frame *)(frame_base + (a >> PAGE_SCALE) * FRAME_BYTES);
}

/* The header in the entry of the frame holding address a, which region r's table covers. */
static inline struct block_header *frame_entry(const struct region *r, uintptr_t a)
{
    return &frame_at(r->frame_base, a)->header;
}

/*
 * The same for a page-aligned address, as every page block's is: its low 12
 * bits are 0, so one shift turns it into its entry's offset (the frame
 * number times FRAME_BYTES, which x86 cannot scale by in an address). The
 * split and merge loops keep frame_base in a register and call the _at form.
 */
#define ADDRESS_PER_TABLE_BYTE (PAGE_BYTES / FRAME_BYTES)    /* bytes of a frame per entry byte */

static inline struct heap_frame *page_frame_at(uintptr_t frame_base, uintptr_t page)
{
    return (struct heap_frame *)(frame_base + page / ADDRESS_PER_TABLE_BYTE);
}

static inline struct block_header *page_entry_at(uintptr_t frame_base, uintptr_t page)
{
    return &page_frame_at(frame_base, page)->header;
}

static inline struct block_header *page_entry(const struct region *r, uintptr_t page)
{
    return page_entry_at(r->frame_base, page);
}

/* The page block whose header is the entry at `entry` of r's table: the entry's index in pages. */
static inline uintptr_t frame_block(const struct region *r, uintptr_t entry)
{
    return (entry - r->frame_base) * ADDRESS_PER_TABLE_BYTE;
}

/* Where the header of the block at block of this scale lives: in band, or in the frame table. */
static inline struct block_header *header_of(uintptr_t block, unsigned scale,
                                             const struct region *r)
{
    return scale < PAGE_SCALE ? header_at(block) : page_entry(r, block);
}

/*
 * A free block's link sits just after its header, for either kind: in band
 * (the header's address is the block's), or in its frame's entry.
 */
static inline struct list_header *link_of(uintptr_t header)
{
    return (struct list_header *)(header + HEADER_BYTES);
}

static inline uintptr_t header_of_link(const struct list_header *n)
{
    return (uintptr_t)n - HEADER_BYTES;
}

/* The states an in-band header can have. */
static bool state_known(uint8_t state)
{
    return state == HEAP_BLOCK_FREE || state == HEAP_BLOCK_ALLOCATED
        || state == HEAP_BLOCK_QUARANTINED;
}

static bool state_live(uint8_t state)
{
    return state == HEAP_BLOCK_ALLOCATED || state == HEAP_BLOCK_SLAB;
}

/* A block whose bytes are still its caller's or the quarantine's: no free list has it. */
static bool state_kept(uint8_t state)
{
    return state_live(state) || state == HEAP_BLOCK_QUARANTINED;
}

/*
 * Is the in-band header at block (which lies inside region r) intact? A known
 * state, a small scale, the block aligned to its size and inside r, and the
 * check value right. Reads the 8 header bytes only.
 */
static inline bool small_header_valid(uintptr_t block, const struct region *r)
{
    const struct block_header *header = header_at(block);
    unsigned scale = header->scale;

    return state_known(header->state) && scale >= min_scale() && scale < PAGE_SCALE
        && (block & (scale_bytes(scale) - 1)) == 0 && scale_bytes(scale) <= r->end - block
        && header->check == block_check(block, scale);
}

/* Is the frame-table header e of the page block at block intact? Its state is the caller's. */
static inline bool page_header_valid(const struct block_header *e, uintptr_t block,
                                     const struct region *r)
{
    unsigned scale = e->scale;

    return scale >= PAGE_SCALE && scale <= HEAP_MAX_SCALE && (block & (scale_bytes(scale) - 1)) == 0
        && scale_bytes(scale) <= r->end - block && e->check == block_check(block, scale);
}

/* A live page block keeps pages_for(requested) pages, so its scale follows from requested. */
static bool run_fits(const struct block_header *e)
{
    return e->requested != 0 && page_scale_for(e->requested) == e->scale;
}

static size_t run_pages(const struct block_header *e) { return pages_for(e->requested); }

/* ---- free lists ------------------------------------------------------------ */

/*
 * One circular doubly linked list per scale, with a sentinel head: an empty
 * list is a head pointing at itself, so push and remove never test for NULL
 * or for the ends. The counts and the non-empty bitmap follow every change.
 *
 * A list's count is free_count_of(scale): free_count, which a push or a
 * removal of one block steps, plus the chain counts up to the scale, a
 * difference array. A split from scale f to t puts one block on each list
 * of [t, f), a merge from t to f takes one off each: chain_count[t] and
 * chain_count[f] change by one, so that neither loop steps a count at each
 * level. (size_t wraps round, so the parts may: their sum never does.)
 * A list's bit in the bitmap follows from its links: a removal that leaves
 * the head alone clears it.
 *
 * push(n) puts n just after the head:
 *
 *   before:  head <-> a <-> ... <-> head     after:  head <-> n <-> a <-> ...
 *
 *            n->next = a;  a->prev = n;  n->prev = head;  head->next = n;
 */
static inline void list_link(struct list_header *head, struct list_header *node)
{
    struct list_header *a = head->next;

    node->next = a;             /* in this order the compiler keeps them plain stores */
    a->prev = node;
    node->prev = head;
    head->next = node;
}

/* List the free block whose header (in band, or in the table) is at header. */
static inline void free_list_push(uintptr_t header, unsigned scale)
{
    list_link(&heap.free_lists[scale].head, link_of(header));
    heap.free_count[scale]++;
    heap.nonempty |= (uintptr_t)1 << scale;
}

/*
 * remove(n) joins n's neighbours to each other; n's own links go stale.
 * When they are the same node, it is the head alone: the list is empty.
 *
 *   before:  p <-> n <-> q                   after:  p <-> q
 *
 *            p->next = q;  q->prev = p;
 */
static inline bool list_unlink(const struct list_header *node)
{
    struct list_header *prev = node->prev, *next = node->next;

    prev->next = next;
    next->prev = prev;
    return prev == next;        /* both the head: the list is empty now */
}

/*
 * A list that lost a block: when that left it empty, its bit was set (the
 * list held a block), so flipping it clears it.
 */
static inline void free_count_drop(size_t scale, bool empty)
{
    heap.free_count[scale]--;
    if (empty)
        heap.nonempty ^= (uintptr_t)1 << scale;
}

static inline void free_list_remove(uintptr_t header, unsigned scale)
{
    free_count_drop(scale, list_unlink(link_of(header)));
}

/* The blocks on the list of this scale (the sum wraps round as the parts do). */
static size_t free_count_of(unsigned scale)
{
    size_t count = heap.free_count[scale];

    for (unsigned s = 0; s <= scale; s++)
        count += heap.chain_count[s];
    return count;
}

/*
 * pop() takes the block just after the head: remove() knowing the head.
 * Returns its header's address: a small block's own, a page block's entry.
 *
 *   before:  head <-> n <-> q <-> ...        after:  head <-> q <-> ...
 */
static inline uintptr_t free_list_pop(size_t scale)
{
    struct list_header *head = &heap.free_lists[scale].head, *node = head->next, *next = node->next;

    head->next = next;
    next->prev = head;
    free_count_drop(scale, next == head);
    return header_of_link(node);
}

/* The smallest scale >= scale (0: none) whose list has a block, or NO_SCALE. */
static inline unsigned free_scale_at_least(unsigned scale)
{
    uintptr_t candidates = scale == 0 ? 0 : heap.nonempty & (~(uintptr_t)0 << scale);

    return candidates == 0 ? NO_SCALE : lowest_bit(candidates);
}

/* Bytes in free blocks, from the counts (cheaper than a running total kept by push and remove). */
static size_t free_list_bytes(void)
{
    size_t bytes = 0;

    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++)
        bytes += free_count_of(s) * scale_bytes(s);
    return bytes;
}

/* Give the block at block of this scale a free header (in band or in the table) and list it. */
static inline void block_make_free(uintptr_t block, unsigned scale, const struct region *r)
{
    struct block_header *header = header_of(block, scale, r);

    header_set(header, 0, block_tag(block, scale, HEAP_BLOCK_FREE));
    free_list_push((uintptr_t)header, scale);
}

/* ---- regions --------------------------------------------------------------- */

/* Hooked while a debug flag or a sampler is on: see the comment above the heap. */
static void hooks_update(void)
{
    heap.hooked = heap.debug != 0 || heap.sampler != NULL;
    heap.request_limit = heap.hooked ? 0 : HEAP_MAX_REQUEST;
    heap.recent = &no_region;
}

void heap_init(void)
{
    heap.nonempty = 0;
    heap.region_count = 0;
    heap.largest_carved = 0;
    heap.stats = (struct heap_stats){0};
    heap.debug = 0;
    heap.sampler = NULL;
    heap.quarantine.oldest = heap.quarantine.count = 0;
    heap.quarantine.bytes = 0;
    hooks_update();
    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++) {
        struct list_header *head = &heap.free_lists[s].head;
        head->next = head->prev = head;
        heap.free_lists[s].key = key_word(s, HEAP_BLOCK_FREE);
        heap.free_count[s] = heap.chain_count[s] = 0;
    }
}

/*
 * The region whose span [start, limit), its blocks and then its frame
 * table, holds address a, or NULL: a binary search of the sorted regions.
 */
static inline const struct region *region_spanning(uintptr_t a)
{
    unsigned low = 0, high = heap.region_count;

    while (low < high) {
        unsigned middle = low + (high - low) / 2;
        const struct region *r = &heap.regions[middle];
        if (a < r->start)
            high = middle;
        else if (a >= r->limit)
            low = middle + 1;
        else
            return r;
    }
    return NULL;
}

/* A region a search found becomes the recent one, unless hooked (see the heap). */
static inline const struct region *region_found(const struct region *r)
{
    return heap.hooked ? r : (heap.recent = r);
}

/* The region whose blocks hold address a, or NULL. */
static OUT_OF_LINE const struct region *region_search(uintptr_t a)
{
    const struct region *r = region_spanning(a);

    return r == NULL || a >= r->end ? NULL : region_found(r);
}

/* The same, trying first the region found last: one compare when it holds a. */
static inline const struct region *region_of(uintptr_t a)
{
    const struct region *r = heap.recent;

    return a - r->start < r->span ? r : region_search(a);
}

/* The region whose frame table holds the entry at e, or NULL (in r's blocks, or r has none). */
static OUT_OF_LINE const struct region *table_search(uintptr_t e)
{
    const struct region *r = region_spanning(e);

    return r == NULL || e - (uintptr_t)r->frames >= r->table_span ? NULL : region_found(r);
}

/* The same, trying the recent region first: a page block's entry, popped off its list, finds it. */
static inline const struct region *table_region(uintptr_t e)
{
    const struct region *r = heap.recent;

    return e - (uintptr_t)r->frames < r->table_span ? r : table_search(e);
}

/* kfree's fast path misses the recent region while hooked: then it finds none at all. */
static OUT_OF_LINE const struct region *region_missed(uintptr_t a)
{
    return heap.hooked ? NULL : region_search(a);
}

/* region_of for kfree's fast path: NULL while hooked, so that kfree takes the careful way. */
static inline const struct region *fast_region_of(uintptr_t a)
{
    const struct region *r = heap.recent;

    return a - r->start < r->span ? r : region_missed(a);
}

/* Where [start, limit) goes in the sorted array, or HEAP_MAX_REGIONS when it overlaps a region. */
static unsigned region_slot(uintptr_t start, uintptr_t limit)
{
    unsigned i = 0;

    while (i < heap.region_count && heap.regions[i].limit <= start)
        i++;
    return i < heap.region_count && heap.regions[i].start < limit ? HEAP_MAX_REGIONS : i;
}

/* Does [start, limit) hold a whole frame? */
static bool holds_whole_frame(uintptr_t start, uintptr_t limit)
{
    uintptr_t first_whole = (start >> PAGE_SCALE) + !page_aligned(start);

    return (limit >> PAGE_SCALE) > first_whole;
}

/*
 * Give region r (start and limit set) its frame table: an entry for each
 * frame the span touches, rounded up to a smallest block, near the top. It
 * starts on a frame boundary, so that the blocks end on one, unless no
 * boundary leaves room for it (a region of about a page): then it ends at
 * the top. The entries start NONE; a frame the blocks fill only in part can
 * hold only small blocks, so its entry says SMALL from the start. A span
 * without a whole frame shares no_table.
 */
static void region_table(struct region *r)
{
    uintptr_t first_frame = r->start >> PAGE_SCALE;
    size_t entries = ((r->limit - 1) >> PAGE_SCALE) - first_frame + 1;
    size_t bytes = (entries * FRAME_BYTES + min_block() - 1) & ~(min_block() - 1);
    uintptr_t below = frame_of(r->limit - bytes);
    bool table = holds_whole_frame(r->start, r->limit);

    r->end = !table ? r->limit : below > r->start ? below : r->limit - bytes;
    r->span = r->end - r->start;
    r->whole_start = page_aligned(r->start) ? r->start : frame_of(r->start) + PAGE_BYTES;
    r->whole_span = frame_of(r->end) > r->whole_start ? frame_of(r->end) - r->whole_start : 0;
    r->frames = table ? (struct heap_frame *)r->end : no_table;
    r->frame_base = (uintptr_t)r->frames - first_frame * FRAME_BYTES;
    if (!table)
        return;
    r->table_span = entries * FRAME_BYTES;
    __builtin_memset(r->frames, 0, entries * FRAME_BYTES);
    if (!page_aligned(r->start))
        frame_entry(r, r->start)->state = HEAP_FRAME_SMALL;
    if (!page_aligned(r->end))
        frame_entry(r, r->end)->state = HEAP_FRAME_SMALL;
}

/* The scale of the largest naturally aligned block that starts at a and ends by end. */
static unsigned carve_scale(uintptr_t a, uintptr_t end)
{
    unsigned scale = floor_log2(end - a);

    return a != 0 && lowest_bit(a) < scale ? lowest_bit(a) : scale;
}

/*
 * Carve the blocks of r into the largest naturally aligned blocks that fit.
 * At each address the scale is capped by the address's alignment (its lowest
 * set bit) and by the bytes left. On i686, [0x1030, 0x1100) gives 0x1030
 * (16 bytes), 0x1040 (64 bytes) and 0x1080 (128 bytes).
 */
static void region_carve(const struct region *r)
{
    unsigned scale;

    if (debugging(HEAP_DEBUG_POISON))       /* all free memory is poison, from the start */
        __builtin_memset((void *)r->start, HEAP_POISON_FREE, r->end - r->start);
    for (uintptr_t block = r->start; block < r->end; block += scale_bytes(scale)) {
        scale = carve_scale(block, r->end);
        block_make_free(block, scale, r);
        if (scale_bytes(scale) > heap.largest_carved)
            heap.largest_carved = scale_bytes(scale);
    }
}

/* Put [start, limit) at slot, moving the regions above it up one. */
static struct region *region_insert(unsigned slot, uintptr_t start, uintptr_t limit)
{
    for (unsigned i = heap.region_count++; i > slot; i--)
        heap.regions[i] = heap.regions[i - 1];
    heap.recent = &no_region;                   /* the regions moved */
    heap.regions[slot] = (struct region){.start = start, .limit = limit};
    return &heap.regions[slot];
}

size_t heap_add_region(void *start, size_t length)
{
    uintptr_t first = (uintptr_t)start, mask = min_block() - 1;

    if (length > UINTPTR_MAX - first)
        length = UINTPTR_MAX - first;       /* a region that reaches the top of memory */
    uintptr_t limit = (first + length) & ~mask;
    if (limit <= first || ((first + mask) & ~mask) >= limit
        || heap.region_count == HEAP_MAX_REGIONS)
        return 0;
    first = (first + mask) & ~mask;
    unsigned slot = region_slot(first, limit);
    if (slot == HEAP_MAX_REGIONS)
        return 0;
    struct region *r = region_insert(slot, first, limit);
    region_table(r);
    heap.stats.managed_bytes += r->end - r->start;
    heap.stats.frame_table_bytes += r->limit - r->end;
    region_carve(r);
    return r->end - r->start;
}

/* ---- kmalloc --------------------------------------------------------------- */

/*
 * One level of a split: the free upper half's header (hash ^ list key),
 * just before its link (in band, or in its entry), and onto its list. The
 * loops step the link: the header is a constant offset from it.
 */
static INLINE_ALWAYS void split_level(struct list_header *link, uint64_t hash,
                                      struct free_list *list)
{
    header_put((struct block_header *)header_of_link(link), hash ^ list->key);
    list_link(&list->head, link);
}

/*
 * Split a free block of scale `from` (already off its list) down to scale
 * `to` <= `from`: keep the lower half each time, and put the upper half on
 * its list. Only the upper halves get headers, each written once (one
 * store): the halves in between are never seen by anyone, and the caller
 * writes the block's own. An upper half of a page or more has its header and
 * link in its frame's entry; when the block goes on below a page, its frame is
 * carved into small blocks from then on, and the headers are in band. The
 * counters, the chain counts and the non-empty bitmap (every list of
 * [to, from) gets a block) change once, before the loops. Each upper half
 * goes onto a list of its own, so the order of the levels changes nothing:
 * the loops climb from the smallest, doubling the size and its product (see
 * product_word) and stepping the list, which holds the key its blocks'
 * headers take.
 *
 *   scale 13:  [                  block                  ]    table: FREE s13
 *   scale 12:  [       block        ][ upper: onto list 12]    table: FREE s12 for upper
 *   scale 11:  [ block  ][ upper: 11]                          table: SMALL; header in band
 *   scale 10:  [bl][u 10]
 *
 * r is the block's region, needed only when `from` is a page scale.
 */
static INLINE_ALWAYS void split(uintptr_t block, unsigned from, unsigned to,
                                const struct region *r)
{
    uintptr_t size = scale_bytes(to), top = scale_bytes(from);
    uintptr_t small_top = top < PAGE_BYTES ? top : PAGE_BYTES;      /* where in-band headers end */
    uintptr_t product = block * GOLDEN_RATIO, step = size * GOLDEN_RATIO;
    struct free_list *list = &heap.free_lists[to];

    heap.stats.splits += from - to;
    heap.chain_count[to]++;
    heap.chain_count[from]--;
    heap.nonempty |= top - size;
    uintptr_t links = (uintptr_t)link_of(block);    /* the upper halves' are size bytes on */
    for (; size < small_top; size <<= 1, step <<= 1, list++)
        split_level((struct list_header *)(links + size), product_word(product + step), list);
    if (from < PAGE_SCALE)
        return;
    uintptr_t entry = (uintptr_t)page_frame_at(r->frame_base, block);
    if (to < PAGE_SCALE)
        header_set((struct block_header *)entry, 0, state_tag(HEAP_FRAME_SMALL));
    /* An upper half of size bytes has its entry size / ADDRESS_PER_TABLE_BYTE bytes after
       block's (see page_frame_at): the loop steps that offset alone. */
    links = (uintptr_t)link_of(entry);
    for (uintptr_t offset = size / ADDRESS_PER_TABLE_BYTE, end = top / ADDRESS_PER_TABLE_BYTE;
         offset < end; offset <<= 1, step <<= 1, list++)
        split_level((struct list_header *)(links + offset), product_word(product + step), list);
}

/* split, one copy for the callers off kmalloc's path. */
static OUT_OF_LINE void block_split(uintptr_t block, unsigned from, unsigned to,
                                    const struct region *r)
{
    split(block, from, to, r);
}

/* Hand out the first free small block of exactly this scale: its header holds the scale. */
static inline void *small_claim(unsigned scale, size_t size)
{
    uintptr_t block = free_list_pop(scale);
    struct block_header *header = header_at(block);

    header->state = HEAP_BLOCK_ALLOCATED;
    header->requested = (uint32_t)size;
    heap.stats.requested_bytes += size;
    heap.stats.allocations++;
    return (void *)(block + HEADER_BYTES);
}

/* A small block of this scale, taken off the list of `from` and split: its header written here. */
static INLINE_ALWAYS void *small_split_claim(uintptr_t block, unsigned from, unsigned scale,
                                             size_t size, const struct region *r)
{
    uint64_t key = heap.free_lists[scale].key ^ key_word(0, HEAP_BLOCK_FREE ^ HEAP_BLOCK_ALLOCATED);
                                        /* the list's key with the state allocated */

    header_put(header_at(block),       /* first: then nothing but the split's own values is live */
               (word_hash(block) ^ key) | (uint32_t)size);
    heap.stats.requested_bytes += size;
    heap.stats.allocations++;
    split(block, from, scale, r);
    return (void *)(block + HEADER_BYTES);
}

/*
 * Take the first page block off the list of this page scale: its link is in
 * its frame's entry, whose table names the region (*r) and the block.
 */
static inline uintptr_t page_pop(unsigned scale, const struct region **r)
{
    uintptr_t entry = free_list_pop(scale);

    *r = table_region(entry);
    return frame_block(*r, entry);
}

/* small_split_claim from a page block: the split needs its region. */
static OUT_OF_LINE void *small_claim_from_page(unsigned from, unsigned scale, size_t size)
{
    ASSUME(from >= PAGE_SCALE && scale < PAGE_SCALE);  /* block_claim's: the split crosses a page */
    const struct region *r;
    uintptr_t block = page_pop(from, &r);

    return small_split_claim(block, from, scale, size, r);
}

/* small_split_claim from a small block: no region needed (block_claim sends a page elsewhere). */
static OUT_OF_LINE void *small_claim_split(unsigned from, unsigned scale, size_t size)
{
    ASSUME(from < PAGE_SCALE);          /* so that the split here has no page levels */
    return small_split_claim(free_list_pop(from), from, scale, size, &no_region);
}

/*
 * Give [from, to) of a page block back to the free lists as the largest
 * naturally aligned pieces, smallest first: each piece's buddy lies below
 * it, in what is kept, so none can merge. Returns the number of pieces.
 */
static size_t run_trim(uintptr_t from, uintptr_t to, const struct region *r)
{
    size_t pieces = 0;
    unsigned scale;

    for (uintptr_t piece = from; piece < to; piece += scale_bytes(scale), pieces++) {
        scale = carve_scale(piece, to);
        block_make_free(piece, scale, r);
    }
    return pieces;
}

/* The run's header (requested, and the scale of the block it lives in) and its later pages. */
static void run_write(uintptr_t block, size_t pages, size_t size, unsigned scale,
                      const struct region *r)
{
    struct heap_frame *entry = page_frame_at(r->frame_base, block);

    header_set(&entry->header, size, block_tag(block, scale, HEAP_BLOCK_ALLOCATED));
    for (size_t i = 1; i < pages; i++)
        header_set(&entry[i].header, i, state_tag(HEAP_FRAME_TAIL));
}

/*
 * Pieces a run of this many pages is made of: its powers of two, its set
 * bits, cleared lowest first. A run has few (kmalloc's requests seldom need
 * more than 3), and without a popcount instruction (i686, and the host's
 * default x86-64) __builtin_popcountl is a call into libgcc that costs more.
 */
static size_t run_pieces(size_t pages)
{
    size_t pieces = 0;

    for (; pages != 0; pages &= pages - 1)
        pieces++;
    return pieces;
}

/*
 * Hand out a page block of scale `scale`, taken off the list of scale
 * `from`: a page run that keeps ceil(size / 4 KiB) pages from the start
 * of the block and gives the rest back (Linux's alloc_pages_exact). Its
 * header says the scale of the whole block; each later page's entry says
 * how far back the run starts. kmalloc(5 pages) from a free 32 KiB block:
 *
 *   pages:     0      1      2      3      4      5      6      7
 *            [ run: 4 + 1 pages                  ][ s12 ][    s13     ]
 *   table:    ALLOC   TAIL 1 TAIL 2 TAIL 3 TAIL 4  FREE   FREE   NONE
 *             s15 5p                               s12    s13
 *
 * The tail is counted as splits: one block became a run of 2 pieces and 2 free blocks.
 */
static OUT_OF_LINE void *run_claim(unsigned from, unsigned scale, size_t size)
{
    const struct region *r;
    uintptr_t block = page_pop(from, &r);
    size_t pages = pages_for(size);
    uintptr_t kept = block + pages * PAGE_BYTES, end = block + scale_bytes(scale);

    if (from != scale)
        block_split(block, from, scale, r);
    if (kept != end)                        /* a run shorter than its block: trim it */
        heap.stats.splits += run_pieces(pages) + run_trim(kept, end, r) - 1;
    run_write(block, pages, size, scale, r);
    heap.stats.requested_bytes += size;
    heap.stats.allocations++;
    return (void *)block;
}

/* Hand out a block of scale `scale` for size bytes, taken off the list of scale `from`. */
static inline void *block_claim(unsigned from, unsigned scale, size_t size)
{
    if (scale >= PAGE_SCALE)
        return run_claim(from, scale, size);
    if (from != scale)          /* a split: a page's needs its region, a small block's none */
        return from >= PAGE_SCALE ? small_claim_from_page(from, scale, size)
                                  : small_claim_split(from, scale, size);
    return small_claim(from, size);     /* from == scale, and from is already in a register */
}

static void *allocation_missed(size_t size, const void *caller, bool sampled);

/*
 * kmalloc: the smallest free block that fits, split down if need be. No
 * block, a size it cannot serve, or the hooks on (request_limit 0): the
 * miss path decides.
 */
static INLINE_ALWAYS void *allocate(size_t size, const void *caller, bool sampled)
{
    unsigned scale = scale_for_request(size, heap.request_limit);
    unsigned from = free_scale_at_least(scale);     /* the smallest free block that fits */

    if (from == NO_SCALE)
        return allocation_missed(size, caller, sampled);
    return block_claim(from, scale, size);
}

/* An allocation without the hooks: what kmalloc does while they are off. */
static void *plain_allocate(size_t size)
{
    unsigned scale = scale_for_request(size, HEAP_MAX_REQUEST);
    unsigned from = free_scale_at_least(scale);

    if (from == NO_SCALE) {
        heap.stats.failed_allocations++;
        return NULL;
    }
    return block_claim(from, scale, size);
}

/* The same for every caller off the fast path: one copy of it, not one in each. */
static OUT_OF_LINE void *allocate_for(size_t size, const void *caller, bool sampled)
{
    return allocate(size, caller, sampled);
}

void *kmalloc(size_t size) { return allocate(size, CALLER, true); }

void *heap_alloc_unsampled(size_t size) { return allocate_for(size, CALLER, false); }

/* ---- looking up a pointer -------------------------------------------------- */

/*
 * The header of the kept page block (live or quarantined) that holds address
 * a of region r, or NULL. A TAIL entry says where its run starts; that start
 * must be a kept page block whose pages reach a. Stale TAIL entries (of a run
 * freed since) fail there.
 */
static const struct block_header *run_kept(uintptr_t a, const struct region *r, uintptr_t *head)
{
    const struct block_header *entry = frame_entry(r, a);
    uintptr_t frame = frame_of(a);
    size_t back = entry->state == HEAP_FRAME_TAIL ? entry->requested : 0;

    if (frame < r->start || back > (frame - r->start) >> PAGE_SCALE)
        return NULL;
    *head = frame - back * PAGE_BYTES;
    const struct block_header *run = frame_entry(r, *head);
    bool holds = state_kept(run->state) && page_header_valid(run, *head, r) && run_fits(run)
        && ((a - *head) >> PAGE_SCALE) < run_pages(run);
    return holds ? run : NULL;
}

/* Does a live page block (allocated or slab) hold address a of region r? */
static bool run_holding(uintptr_t a, const struct region *r, uintptr_t *head)
{
    const struct block_header *run = run_kept(a, r, head);

    return run != NULL && state_live(run->state);
}

static enum heap_status small_status(uintptr_t block, const struct region *r);

/*
 * Why a pointer into a frame that is not carved into small blocks is no
 * block pointer: it lies in a live page block, or in a free one. There, a
 * small block freed before its frame merged back into a page may have left
 * its header: then the pointer is a double free, as it was before the merge.
 */
static enum heap_status inside_page_status(uintptr_t a, const struct region *r)
{
    uintptr_t head;

    if (run_holding(a, r, &head))
        return frame_entry(r, head)->state == HEAP_BLOCK_SLAB ? HEAP_SLAB_MEMORY
                                                              : HEAP_INSIDE_BLOCK;
    bool freed_small = small_status(a - HEADER_BYTES, r) == HEAP_DOUBLE_FREE;
    return freed_small ? HEAP_DOUBLE_FREE : HEAP_INVALID_POINTER;
}

/* What the page-aligned pointer p of region r is, by the frame table alone. */
static enum heap_status page_status(uintptr_t p, const struct region *r)
{
    const struct block_header *entry = page_entry(r, p);

    switch (entry->state) {
    case HEAP_BLOCK_ALLOCATED:
    case HEAP_BLOCK_SLAB:
        if (!page_header_valid(entry, p, r) || !run_fits(entry))
            return HEAP_CORRUPTED_HEADER;
        return entry->state == HEAP_BLOCK_SLAB ? HEAP_SLAB_MEMORY : HEAP_OK;
    case HEAP_BLOCK_FREE:
        return page_header_valid(entry, p, r) ? HEAP_DOUBLE_FREE : HEAP_CORRUPTED_HEADER;
    case HEAP_BLOCK_QUARANTINED:
        if (!page_header_valid(entry, p, r) || !run_fits(entry))
            return HEAP_CORRUPTED_HEADER;
        return HEAP_DOUBLE_FREE;
    case HEAP_FRAME_TAIL: {
        enum heap_status inside = inside_page_status(p, r);
        return inside == HEAP_INVALID_POINTER ? HEAP_NOT_HANDED_OUT : inside;
    }
    case HEAP_FRAME_SMALL:
    case HEAP_FRAME_NONE:
        return HEAP_NOT_HANDED_OUT;
    }
    return HEAP_CORRUPTED_HEADER;           /* no entry has this state: the table is damaged */
}

/* What the pointer just after block is, in a frame of r carved into small blocks. */
static enum heap_status small_status(uintptr_t block, const struct region *r)
{
    if ((block & (min_block() - 1)) != 0 || block - r->start >= r->end - r->start
        || !state_known(header_at(block)->state))
        return HEAP_INVALID_POINTER;    /* before the region, misaligned, or no header there */
    if (!small_header_valid(block, r))
        return HEAP_CORRUPTED_HEADER;
    return header_at(block)->state == HEAP_BLOCK_ALLOCATED ? HEAP_OK : HEAP_DOUBLE_FREE;
}

/*
 * Find the live block whose pointer (as kmalloc returned it) is ptr, writing
 * nothing. Returns HEAP_OK and sets *block and *region, or says why ptr is
 * not such a block. The frame holding ptr decides the kind: a page-aligned
 * ptr must start a page block, any other must lie in a frame carved into
 * small blocks, just after a small block's header.
 */
static enum heap_status pointer_lookup(const void *ptr, uintptr_t *block,
                                       const struct region **region)
{
    uintptr_t p = (uintptr_t)ptr;
    const struct region *r = region_of(p);

    if (r == NULL)
        return HEAP_INVALID_POINTER;        /* outside every region's blocks */
    *region = r;
    *block = page_aligned(p) ? p : p - HEADER_BYTES;
    if (page_aligned(p))
        return page_status(p, r);
    if (frame_entry(r, p)->state != HEAP_FRAME_SMALL)
        return inside_page_status(p, r);
    return small_status(p - HEADER_BYTES, r);
}

/* The header of the live block at block that pointer_lookup found for ptr. */
static struct block_header *live_header(const void *ptr, uintptr_t block, const struct region *r)
{
    return (uintptr_t)ptr == block ? frame_entry(r, block) : header_at(block);
}

/*
 * Is there a live small block at block, inside r? kfree's fast path: every
 * check of small_status for the common case, in one go (the frame carved
 * into small blocks, an allocated state, the check value, a small scale, the
 * block aligned and inside r), so that anything else takes the careful way.
 * Returns the block's scale, or 0 when it is not one.
 */
static inline unsigned small_live_scale(uintptr_t block, const struct region *r)
{
    if ((block & (min_block() - 1)) != 0 || frame_entry(r, block)->state != HEAP_FRAME_SMALL)
        return 0;
    uint32_t tag = header_tag(header_at(block));
    unsigned scale = tag & 0xff;        /* the header's scale: state and check in one compare */
    if (tag != block_tag(block, scale, HEAP_BLOCK_ALLOCATED)
        || scale - min_scale() >= PAGE_SCALE - min_scale())
        return 0;
    size_t bytes = scale_bytes(scale);
    return (block & (bytes - 1)) == 0 && bytes <= r->end - block ? scale : 0;
}

/* ---- kfree ----------------------------------------------------------------- */

/* A refusal of kfree (heap_free: counted, not reported). */
static enum heap_status free_refused(const void *ptr, enum heap_status why, const void *caller,
                                     bool report)
{
    if (report)
        heap_report_refusal(&(struct heap_refusal){"kfree", NULL, ptr, why, caller});
    else
        heap.stats.refused_frees++;
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
 * Is there a free block of this scale at address a, a buddy to merge with?
 * The checklist of Linux's __free_one_page, tested cheapest first; with (a)
 * in buddy_mergeable below, all must hold:
 *   (a) the merged block would not pass HEAP_MAX_SCALE;
 *   (b) the buddy starts inside region r: not in a hole between regions, not
 *       past r's edge, so no byte outside the heap is ever read;
 *   (c) the buddy is free;
 *   (d) the buddy has the same scale: it is whole, not split into smaller blocks;
 *   (e) the buddy's header is intact: its check value is right and its block
 *       ends inside r.
 * (b) and (e)'s "ends inside r" are one compare: a block of this scale lies
 * in r (the caller's own), so its size is at most r's span, and the buddy has
 * all its bytes in r exactly when buddy - start <= span - size (a buddy below
 * start wraps round to a huge difference). (c), (d) and the check value are
 * one compare of the buddy's header tag with the tag a free block of this
 * scale has there. A small block's buddy lies in the same frame and has its
 * header in band; a page block's header is in the frame table: `page` says
 * which (a constant wherever this is inlined).
 */
static inline bool free_block_at(uintptr_t a, unsigned scale, const struct region *r,
                                 bool page)
{
    if (a - r->start > r->span - scale_bytes(scale))                        /* (b), (e) */
        return false;
    const struct block_header *header = page ? page_entry(r, a) : header_at(a);
    return header_tag(header) == block_tag(a, scale, HEAP_BLOCK_FREE);     /* (c), (d), (e) */
}

static inline bool buddy_mergeable(uintptr_t block, unsigned scale,
                                   const struct region *r, bool page)
{
    return scale < HEAP_MAX_SCALE && free_block_at(block_buddy(block, scale), scale, r, page);
}

/*
 * The checklist's (a) and (b) for every scale at once: a block holding
 * address a of region r may merge with its buddy exactly when its size is
 * at most merge_limit(a, r). The merged block (twice the size s, aligned to
 * it) holds a; it ends by r's end exactly when a and end differ in a bit
 * worth 2s or more, a ^ end >= 2s, and it starts at r's start or later
 * exactly when a and start - 1 differ so, a ^ (start - 1) >= 2s. A region
 * at address 0 has no such bound, and needs no test: start - 1 wraps round
 * to all ones, and ~a has a 1 where a < end first differs from end, so its
 * top bit is at least a ^ end's; only the top bit of the limit counts, as
 * the limit is compared with powers of two. Both are below 2^(bits of an address),
 * so the merged block never passes HEAP_MAX_SCALE: that is (a). Worked
 * example: in [0x1000, 0x1f00), a = 0x1800 has 0x1800 ^ 0x1f00 = 0x700 and
 * 0x1800 ^ 0xfff = 0x7ff, a limit of 0x380: a block of 0x200 there merges
 * into [0x1800, 0x1c00), one of 0x400 would need [0x1800, 0x2000).
 * Computed once, it leaves the merge loops (c) to (e): one compare of tags.
 */
static inline uintptr_t merge_limit(uintptr_t a, const struct region *r)
{
    uintptr_t above = a ^ r->end, below = a ^ (r->start - 1);

    return (above < below ? above : below) / 2;
}

/*
 * Where a merge is: the block so far, its size, its key (as a free block),
 * and the scale it started at (the merges and the chain counts change once,
 * at the end, from the scales).
 */
struct merge {
    uintptr_t block, size;
    uint32_t key;
    unsigned from;
};

static INLINE_ALWAYS struct merge merge_start(uintptr_t block, unsigned scale)
{
    return (struct merge){block, scale_bytes(scale), tag_key(scale, HEAP_BLOCK_FREE), scale};
}

/*
 * Take the free buddy of m's block (its header at header: in band, or its
 * entry) off its list; m becomes the merged block, a scale up.
 */
static INLINE_ALWAYS void merge_take(struct merge *m, uintptr_t buddy, const void *header)
{
    if (list_unlink(link_of((uintptr_t)header)))
        heap.nonempty ^= m->size;       /* as free_count_drop; a store, so one branch, no select */
    m->block &= buddy;                  /* the lower of the two */
    m->size <<= 1;
    m->key += KEY_STEP;
}

/* The chain of merges from scale `from` to `to` took one block off each list of [from, to). */
static INLINE_ALWAYS void merges_counted(unsigned from, unsigned to)
{
    heap.stats.merges += to - from;
    heap.chain_count[from]--;
    heap.chain_count[to]++;
}

/* The merge's end: its block gets a free header (at header) and goes onto its list. */
static INLINE_ALWAYS void merge_finish(const struct merge *m, struct block_header *header)
{
    size_t scale = (size_t)lowest_bit(m->size);     /* a power of two: its only bit */
    struct free_list *list = &heap.free_lists[scale];

    merges_counted(m->from, (unsigned)scale);
    header_put(header, word_hash(m->block) ^ list->key);
    list_link(&list->head, link_of((uintptr_t)header));
    heap.free_count[scale]++;
    heap.nonempty |= m->size;
}

/*
 * Merge a free page block (on no list) at block of scale `scale` with its
 * buddy while the checklist allows, climbing a scale each time, then give
 * the result its header and put it on its free list. The absorbed buddies'
 * entries stay behind, saying free: a pointer to one is a double free, as
 * for a small upper half.
 *
 *   scale 12:  [freed ][buddy ]                    buddy off list 12
 *   scale 13:  [    merged    ][     buddy    ]    buddy off list 13
 *   scale 14:  [            merged            ]    onto list 14
 */
static INLINE_ALWAYS void page_merge_levels(struct merge *m, const struct region *r,
                                            uintptr_t frame_base)
{
    uintptr_t limit = merge_limit(m->block, r);

    while (m->size <= limit) {
        uintptr_t buddy = m->block ^ m->size;
        const struct block_header *entry = page_entry_at(frame_base, buddy);
        if (header_tag(entry) != (tag_hash(buddy) ^ m->key))
            break;                                              /* (c), (d), (e) */
        merge_take(m, buddy, entry);
    }
}

static void page_merge(uintptr_t block, unsigned scale, const struct region *r)
{
    struct merge m = merge_start(block, scale);
    uintptr_t frame_base = r->frame_base;   /* no list store can change it: kept in a register */

    page_merge_levels(&m, r, frame_base);
    merge_finish(&m, page_entry_at(frame_base, m.block));
}

/*
 * A small merge from scale `from` that reached a page at block: its frame
 * stops saying SMALL and it merges on as a page block. If it merges on into
 * a block below it, its entry stays behind saying free, as an absorbed
 * buddy's does (written after the loop, which reads only buddies' entries;
 * when the page starts the merged block, merge_finish writes that entry
 * anyway).
 */
static OUT_OF_LINE void page_merge_reached(uintptr_t block, unsigned from,
                                           const struct region *r)
{
    struct merge m = merge_start(block, PAGE_SCALE);
    uintptr_t frame_base = r->frame_base;

    m.from = from;                          /* where the small merge started: counted once */

    page_merge_levels(&m, r, frame_base);
    if (m.block != block)
        header_put(page_entry_at(frame_base, block),
                   word_hash(block) ^ key_word(PAGE_SCALE, HEAP_BLOCK_FREE));
    merge_finish(&m, page_entry_at(frame_base, m.block));
}

/*
 * The same for a free small block whose buddy was found mergeable, while
 * its size is at most small_limit (merge_limit, and below a page). Only the
 * merged block needs a new header. One that reached a page is a page block
 * from then on (page_merge_reached), out of line: the loop here needs no
 * region, so it keeps few values in registers.
 *
 *   scale 10:  [freed][buddy]                      in band
 *   scale 11:  [   merged   ][   buddy   ]         in band
 *   scale 12:  [          merged         ]  ...    in the frame table: page_merge_reached
 */
static INLINE_ALWAYS void small_merge_within(uintptr_t block, unsigned scale,
                                             const struct region *r, uintptr_t small_limit)
{
    struct merge m = merge_start(block, scale);

    merge_take(&m, block ^ m.size, header_at(block ^ m.size));
    while (m.size <= small_limit) {
        uintptr_t buddy = m.block ^ m.size;
        if (header_tag(header_at(buddy)) != (tag_hash(buddy) ^ m.key))
            break;                                              /* (c), (d), (e) */
        merge_take(&m, buddy, header_at(buddy));
    }
    if (m.size == PAGE_BYTES)
        page_merge_reached(m.block, scale, r);
    else
        merge_finish(&m, header_at(m.block));
}

/* small_merge_within for a block anywhere in r: merge_limit says how far. */
static OUT_OF_LINE void small_merge(uintptr_t block, unsigned scale, const struct region *r)
{
    uintptr_t limit = merge_limit(block, r);

    small_merge_within(block, scale, r, limit < PAGE_BYTES / 2 ? limit : PAGE_BYTES / 2);
}

/* small_merge_within for a block in one of r's whole frames: merges below a page stay in r. */
static OUT_OF_LINE void small_merge_inside(uintptr_t block, unsigned scale,
                                           const struct region *r)
{
    small_merge_within(block, scale, r, PAGE_BYTES / 2);
}

/* Give a small block whose header says free back: merged with its buddy, or onto its list. */
static inline void small_give_back(uintptr_t block, unsigned scale, const struct region *r)
{
    if (buddy_mergeable(block, scale, r, false))
        small_merge(block, scale, r);
    else
        free_list_push(block, scale);
}

/* small_give_back for a block in a frame at r's edge; out of line, so kfree holds no r bounds. */
static OUT_OF_LINE void small_give_back_at_edge(uintptr_t block, unsigned scale,
                                                const struct region *r)
{
    small_give_back(block, scale, r);
}

/*
 * Free a small block of this scale that pointer_lookup or small_live_scale
 * has vouched for. In one of r's whole frames (the common case) its buddy,
 * in the same frame, is in r too: the checklist's (a) and (b) hold, and the
 * tags are all that is left to compare.
 */
static INLINE_ALWAYS void small_free_scaled(uintptr_t block, unsigned scale,
                                           const struct region *r)
{
    struct block_header *header = header_at(block);
    uintptr_t buddy = block_buddy(block, scale);

    heap.stats.requested_bytes -= header->requested;
    heap.stats.frees++;
    header->state = HEAP_BLOCK_FREE;    /* an upper half's header stays behind: it must say free */
    header->requested = 0;
    if (block - r->whole_start >= r->whole_span)
        small_give_back_at_edge(block, scale, r);
    else if (header_tag(header_at(buddy)) == block_tag(buddy, scale, HEAP_BLOCK_FREE))
        small_merge_inside(block, scale, r);
    else
        free_list_push(block, scale);
}

static inline void small_free(uintptr_t block, const struct region *r)
{
    small_free_scaled(block, header_at(block)->scale, r);
}

/*
 * Free each aligned piece of [from, to) of a run: the largest powers of two,
 * in address order, each merging as far as it can (the first page's entry
 * must no longer say allocated). Returns the number of pieces.
 */
static size_t run_free_pieces(uintptr_t from, uintptr_t to, const struct region *r)
{
    size_t pieces = 0;
    unsigned scale;

    for (uintptr_t piece = from; piece < to; piece += scale_bytes(scale), pieces++) {
        scale = carve_scale(piece, to);
        page_merge(piece, scale, r);
    }
    return pieces;
}

/* Free a page run pointer_lookup has vouched for: every piece goes back and merges. */
static void run_free(uintptr_t block, const struct region *r)
{
    struct block_header *entry = page_entry(r, block);
    size_t pages = run_pages(entry);

    heap.stats.requested_bytes -= entry->requested;
    heap.stats.frees++;
    entry->state = HEAP_BLOCK_FREE;     /* merged away, it must not stay behind as a live head */
    entry->requested = 0;
    if (pages == scale_bytes(entry->scale - PAGE_SCALE))
        page_merge(block, entry->scale, r);         /* a run that fills its block: one piece */
    else
        run_free_pieces(block, block + pages * PAGE_BYTES, r);
}

static void debug_free(uintptr_t block, const struct region *r, const void *caller);

/* Free a live block pointer_lookup has vouched for; caller is kfree's (krealloc's) caller. */
static void block_free(const void *ptr, uintptr_t block, const struct region *r,
                       const void *caller)
{
    if (heap.debug != 0)
        debug_free(block, r, caller);
    else if ((uintptr_t)ptr == block)
        run_free(block, r);
    else
        small_free(block, r);
}

/* kfree the careful way: look ptr up, refuse it or free it. */
static enum heap_status checked_free(void *ptr, const void *caller, bool report)
{
    uintptr_t block;
    const struct region *r;

    if (ptr == NULL)
        return HEAP_OK;
    enum heap_status why = pointer_lookup(ptr, &block, &r);
    if (why != HEAP_OK)
        return free_refused(ptr, why, caller, report);
    block_free(ptr, block, r, caller);
    return HEAP_OK;
}

/* Is ptr an object the sampler handed out? */
static bool sampled_object(const void *ptr)
{
    return ptr != NULL && heap.sampler != NULL && heap.sampler->owns(ptr);
}

/* Where kfree's fast paths fail over: the sampler's object, or the careful way. */
static OUT_OF_LINE enum heap_status pointer_free(void *ptr, const void *caller, bool report)
{
    if (heap.hooked && sampled_object(ptr)) {
        enum heap_status why = heap.sampler->free(ptr, caller);
        return why == HEAP_OK ? HEAP_OK : free_refused(ptr, why, caller, report);
    }
    return checked_free(ptr, caller, report);
}

/*
 * Is there a live page block at p, inside r? kfree's fast path for pages:
 * page_status's HEAP_OK case in one go (an allocated header in the table,
 * its scale, the check value, the request that goes with that scale).
 */
static inline bool page_block_live(uintptr_t p, const struct region *r)
{
    const struct block_header *entry = page_entry(r, p);

    return entry->state == HEAP_BLOCK_ALLOCATED && page_header_valid(entry, p, r)
        && run_fits(entry);
}

/* A page pointer for kfree: the common case checked in full, the rest the careful way. */
static OUT_OF_LINE enum heap_status page_release(void *ptr, const void *caller, bool report)
{
    const struct region *r = fast_region_of((uintptr_t)ptr);

    if (r == NULL || !page_block_live((uintptr_t)ptr, r))
        return pointer_free(ptr, caller, report);
    run_free((uintptr_t)ptr, r);
    return HEAP_OK;
}

/* A small pointer for kfree that misses the recent region: the same checks after a search. */
static OUT_OF_LINE enum heap_status small_release_missed(void *ptr, const void *caller,
                                                         bool report)
{
    uintptr_t block = (uintptr_t)ptr - HEADER_BYTES;
    const struct region *r = region_missed(block);
    unsigned scale = r == NULL ? 0 : small_live_scale(block, r);

    if (scale == 0)
        return pointer_free(ptr, caller, report);
    small_free_scaled(block, scale, r);
    return HEAP_OK;
}

/*
 * kfree and heap_free: a small block's common case inline, a page's out of
 * line. Every other way out is a jump to an out-of-line function, so that
 * the common case saves no register and sets up no stack frame. Each way
 * out reads the caller itself (CALLER in a function always inlined names
 * the caller of the function it is inlined into): nothing holds it meanwhile.
 */
static INLINE_ALWAYS enum heap_status block_release(void *ptr, bool report)
{
    uintptr_t block = (uintptr_t)ptr - HEADER_BYTES;
    const struct region *r = heap.recent;

    if (page_aligned((uintptr_t)ptr))
        return page_release(ptr, CALLER, report);
    if (block - r->start >= r->span)
        return small_release_missed(ptr, CALLER, report);
    unsigned scale = small_live_scale(block, r);
    if (scale == 0)
        return pointer_free(ptr, CALLER, report);
    small_free_scaled(block, scale, r);
    return HEAP_OK;
}

void kfree(void *ptr) { block_release(ptr, true); }

enum heap_status heap_free(void *ptr) { return block_release(ptr, false); }

void heap_report_refusal(const struct heap_refusal *refusal)
{
    heap.stats.refused_frees++;
    if (heap.on_refusal != NULL)
        heap.on_refusal(refusal);
}


/* ---- debugging: poison, red zones, callers, the quarantine ------------------- */

/*
 * Debug mode keeps two invariants (heap.h draws the blocks). Every byte of a
 * free block is 0x6b but its header and link, and the headers of small
 * blocks merged into it; a quarantined block's payload is 0x6b up to a last
 * 0xa5, its trailer naming who allocated and freed it. So each place where
 * memory changes hands checks what it takes over: kmalloc the block it hands
 * out, the drain the block it lets merge, kfree the red zone of the block it
 * takes back, and heap_check all of them. A merge turns only the links of
 * the blocks it absorbs back into poison: a few bytes, whatever their size.
 */

/* What debug mode adds to every request (see heap.h). */
static size_t debug_slack(void) { return heap.debug != 0 ? SLACK : 0; }

/*
 * A block as debug mode and heap_block_info see it: its payload; its end (a
 * kept run's: the end of the pages it keeps), with the trailer just before
 * it in debug mode; and what its caller asked for (0 for a free block).
 */
struct block_view {
    uintptr_t block, payload, end;
    unsigned scale;
    uint8_t state;
    size_t requested;
    struct heap_debug_trailer *trailer;
};

/* The view of the block at block of r, whose header is known to be intact. */
static struct block_view block_view(uintptr_t block, const struct region *r)
{
    bool page = frame_entry(r, block)->state != HEAP_FRAME_SMALL;
    const struct block_header *h = page ? frame_entry(r, block) : header_at(block);
    bool kept = state_kept(h->state);
    struct block_view v = {block, page ? block : block + HEADER_BYTES,
                           block + scale_bytes(h->scale), h->scale, h->state,
                           kept ? h->requested - debug_slack() : 0, NULL};

    if (page && kept)
        v.end = block + run_pages(h) * PAGE_BYTES;
    v.trailer = (struct heap_debug_trailer *)(v.end - TRAILER_BYTES);
    return v;
}

/* The word at a, aligned or not. */
static inline uintptr_t word_at(uintptr_t a)
{
    uintptr_t word;

    __builtin_memcpy(&word, (const void *)a, sizeof(word));
    return word;
}

/*
 * The first byte of [from, to) that is not `value`, or `to`. Four words at a
 * time where it can (heap_check reads every free byte this way), then byte
 * by byte from the group that differs.
 */
static uintptr_t first_unlike(uintptr_t from, uintptr_t to, uint8_t value)
{
    const size_t w = sizeof(uintptr_t);
    uintptr_t word = UINTPTR_MAX / 0xff * value;

    while (from < to && from % w != 0 && *(const uint8_t *)from == value)
        from++;
    for (uintptr_t groups_end = from + ((to - from) & ~(4 * w - 1)); from != groups_end;
         from += 4 * w) {
        uintptr_t differs = (word_at(from) ^ word) | (word_at(from + w) ^ word)
                          | (word_at(from + 2 * w) ^ word) | (word_at(from + 3 * w) ^ word);
        if (differs != 0)
            break;
    }
    while (from < to && *(const uint8_t *)from == value)
        from++;
    return from;
}

/* Poison a freed payload up to its trailer: 0x6b, and 0xa5 in the last byte. */
static void payload_poison(const struct block_view *v)
{
    uintptr_t last = (uintptr_t)v->trailer - 1;

    __builtin_memset((void *)v->payload, HEAP_POISON_FREE, last - v->payload);
    *(uint8_t *)last = HEAP_POISON_END;
}

/* The first changed byte of a quarantined block's poison, or its trailer when none is. */
static uintptr_t payload_damage(const struct block_view *v)
{
    uintptr_t last = (uintptr_t)v->trailer - 1, bad = first_unlike(v->payload, last,
                                                                   HEAP_POISON_FREE);

    return bad != last || *(const uint8_t *)last != HEAP_POISON_END ? bad : last + 1;
}

/* The first changed byte of a live block's red zone, or its trailer when none is. */
static uintptr_t redzone_damage(const struct block_view *v)
{
    return first_unlike(v->payload + v->requested, (uintptr_t)v->trailer, HEAP_POISON_REDZONE);
}

/* Is there a header at slot that a small block left behind when it merged? Free, check right. */
static bool stale_header(uintptr_t slot, const struct region *r)
{
    return header_at(slot)->state == HEAP_BLOCK_FREE && small_header_valid(slot, r);
}

/*
 * The first byte of a free block's body (past its header and link) that is
 * not poison, or end. The headers merged small blocks left behind (kfree
 * reads them to name a double free) are no damage: 8 bytes at a boundary of
 * the smallest block, saying free, with the check value of their address.
 * A page block's header and link are in its entry, yet its first bytes are
 * skipped too: the small block that started it, when small blocks merged
 * into it, left its header and link there.
 */
static uintptr_t free_body_damage(uintptr_t block, uintptr_t end, const struct region *r)
{
    uintptr_t at = block + FRONT_BYTES;

    for (;;) {
        at = first_unlike(at, end, HEAP_POISON_FREE);
        uintptr_t slot = at & ~(uintptr_t)(min_block() - 1);
        if (at == end || slot == block || at - slot >= HEADER_BYTES || !stale_header(slot, r))
            return at;
        at = slot + HEADER_BYTES;
    }
}

/* A report on the block v: its first changed byte is at `bad` and should be `expected`. */
static struct heap_debug_report report_of(enum heap_debug_kind kind, const struct block_view *v,
                                          uintptr_t bad, uint8_t expected, const void *caller)
{
    return (struct heap_debug_report){kind, v->block, v->payload, v->scale, v->requested,
                                      bad - v->payload, expected, *(const uint8_t *)bad,
                                      v->trailer->alloc_caller, v->trailer->free_caller, caller};
}

static void report_send(const struct heap_debug_report *report)
{
    heap.stats.debug_reports++;
    if (heap.on_debug_report != NULL)
        heap.on_debug_report(report);
}

/* kfree, krealloc: a live block's red zone must be intact, or it is reported. */
static void redzone_verify(const struct block_view *v, const void *caller)
{
    uintptr_t bad = redzone_damage(v);

    if (bad != (uintptr_t)v->trailer) {
        struct heap_debug_report report = report_of(HEAP_OUT_OF_BOUNDS, v, bad,
                                                    HEAP_POISON_REDZONE, caller);
        report_send(&report);
    }
}

/*
 * A quarantined block about to merge: its poison must be intact, or the
 * first change is reported. Then 0x6b to its end, as every free block has.
 */
static void quarantine_poison_verify(const struct block_view *v, const void *caller)
{
    uintptr_t bad = payload_damage(v), last = (uintptr_t)v->trailer - 1;

    if (bad <= last) {
        uint8_t expected = bad == last ? HEAP_POISON_END : HEAP_POISON_FREE;
        struct heap_debug_report report = report_of(HEAP_USE_AFTER_FREE, v, bad, expected, caller);
        report_send(&report);
    }
    uintptr_t from = bad < last ? bad : last;
    __builtin_memset((void *)from, HEAP_POISON_FREE, v->end - from);
}

/* The scale a free block of this scale at block reaches by merging: the checklist, read only. */
static unsigned merge_reach(uintptr_t block, unsigned scale, const struct region *r)
{
    while (buddy_mergeable(block, scale, r, scale >= PAGE_SCALE)) {
        block &= ~scale_bytes(scale);
        scale++;
    }
    return scale;
}

/*
 * After a merge from scale `from` to `to`: the links of the upper halves it
 * absorbed are body of the merged block now, so they become poison. (Their
 * headers stay, for double frees: see free_body_damage. A page upper half's
 * own link is in its entry, but the small block that once started it may
 * have left one in the same place.)
 */
static void merged_links_poison(uintptr_t block, unsigned from, unsigned to)
{
    for (unsigned s = from; s < to; s++) {
        uintptr_t upper = (block & ~(scale_bytes(s) - 1)) | scale_bytes(s);
        __builtin_memset(link_of(upper), HEAP_POISON_FREE, sizeof(struct list_header));
    }
}

/* A freed block (or a run's piece) whose header says free: merged as far as it goes, or listed. */
static void freed_give_back(uintptr_t block, unsigned scale, const struct region *r)
{
    unsigned to = merge_reach(block, scale, r);

    if (scale >= PAGE_SCALE)
        page_merge(block, scale, r);
    else
        small_give_back(block, scale, r);
    if (debugging(HEAP_DEBUG_POISON))
        merged_links_poison(block, scale, to);
}

/* Give a freed block back to the free lists (a run as its pieces, as run_free does). */
static void debug_release(const struct block_view *v, const struct region *r)
{
    bool page = v->payload == v->block;
    struct block_header *h = page ? frame_entry(r, v->block) : header_at(v->block);
    unsigned scale;

    h->state = HEAP_BLOCK_FREE;
    h->requested = 0;
    if (!page) {
        freed_give_back(v->block, v->scale, r);
        return;
    }
    for (uintptr_t piece = v->block; piece < v->end; piece += scale_bytes(scale)) {
        scale = carve_scale(piece, v->end);
        freed_give_back(piece, scale, r);
    }
}

static size_t quarantine_budget(void) { return heap.stats.managed_bytes / HEAP_QUARANTINE_SHARE; }

/*
 * The oldest quarantined block leaves the FIFO and merges, its poison
 * checked first (caller: whose call made room). False when there is none.
 *
 *   blocks:  [ . . A B C D . . ]     A leaves:  [ . . . B C D . . ]
 *                  ^oldest, count 4                   ^oldest, count 3
 */
static bool quarantine_drain_one(const void *caller)
{
    struct quarantine *q = &heap.quarantine;

    if (q->count == 0)
        return false;
    const struct region *r = region_of(q->blocks[q->oldest]);
    struct block_view v = block_view(q->blocks[q->oldest], r);
    if (debugging(HEAP_DEBUG_POISON))
        quarantine_poison_verify(&v, caller);
    q->oldest = (q->oldest + 1) % HEAP_QUARANTINE_BLOCKS;
    q->count--;
    q->bytes -= v.end - v.block;
    debug_release(&v, r);
    return true;
}

/* Drain the oldest blocks until one of this many bytes fits in the quarantine's bounds. */
static void quarantine_make_room(size_t bytes, const void *caller)
{
    struct quarantine *q = &heap.quarantine;

    while (q->count == HEAP_QUARANTINE_BLOCKS || q->bytes + bytes > quarantine_budget())
        quarantine_drain_one(caller);
}

/* The freed block v joins the quarantine as its newest block, on no free list. */
static void quarantine_add(const struct block_view *v, const struct region *r)
{
    struct quarantine *q = &heap.quarantine;
    bool page = v->payload == v->block;

    (page ? frame_entry(r, v->block) : header_at(v->block))->state = HEAP_BLOCK_QUARANTINED;
    q->blocks[(q->oldest + q->count) % HEAP_QUARANTINE_BLOCKS] = v->block;
    q->count++;
    q->bytes += v->end - v->block;
}

/*
 * kfree in debug mode: the red zone checked, the free caller kept, the
 * payload poisoned, and the block quarantined, or given back at once (its
 * poison 0x6b to the end then, since nothing keeps its callers).
 */
static void debug_free(uintptr_t block, const struct region *r, const void *caller)
{
    struct block_view v = block_view(block, r);
    bool wait = debugging(HEAP_DEBUG_QUARANTINE) && v.end - block <= quarantine_budget();
    if (debugging(HEAP_DEBUG_REDZONE))
        redzone_verify(&v, caller);
    if (wait)
        quarantine_make_room(v.end - block, caller);    /* before this block changes */
    heap.stats.requested_bytes -= v.requested;
    heap.stats.frees++;
    v.trailer->free_caller = caller;
    if (wait && debugging(HEAP_DEBUG_POISON))
        payload_poison(&v);
    else if (debugging(HEAP_DEBUG_POISON))
        __builtin_memset((void *)v.payload, HEAP_POISON_FREE, v.end - v.payload);
    if (wait)
        quarantine_add(&v, r);
    else
        debug_release(&v, r);
}

/*
 * A block kmalloc has just claimed in debug mode: its poison checked (a
 * change is reported, with no callers: a free block keeps none), then its
 * red zone and trailer written.
 */
static void debug_hand_out(uintptr_t ptr, const void *caller)
{
    uintptr_t block = page_aligned(ptr) ? ptr : ptr - HEADER_BYTES;
    const struct region *r = region_of(block);
    struct block_view v = block_view(block, r);
    uintptr_t bad = debugging(HEAP_DEBUG_POISON) ? free_body_damage(block, v.end, r) : v.end;
    struct heap_debug_report report = {0};

    if (bad != v.end) {     /* read before the red zone and trailer cover it */
        report = report_of(HEAP_USE_AFTER_FREE, &v, bad, HEAP_POISON_FREE, caller);
        report.requested = 0;
        report.alloc_caller = report.free_caller = NULL;
    }
    if (debugging(HEAP_DEBUG_REDZONE))
        __builtin_memset((void *)(ptr + v.requested), HEAP_POISON_REDZONE,
                         (uintptr_t)v.trailer - (ptr + v.requested));
    *v.trailer = (struct heap_debug_trailer){caller, NULL};
    if (bad != v.end)
        report_send(&report);
}

/*
 * kmalloc in debug mode: the block a request of size + SLACK would get, the
 * quarantine drained oldest first as long as none is free.
 */
static void *debug_alloc(size_t size, const void *caller)
{
    bool possible = size - 1 < HEAP_MAX_REQUEST - SLACK;
    unsigned scale = possible ? scale_for_request(size + SLACK, HEAP_MAX_REQUEST) : 0;
    unsigned from = free_scale_at_least(scale);

    while (from == NO_SCALE && scale != 0 && quarantine_drain_one(caller))
        from = free_scale_at_least(scale);
    if (from == NO_SCALE) {
        heap.stats.failed_allocations++;
        return NULL;
    }
    void *ptr = block_claim(from, scale, size + SLACK);
    heap.stats.requested_bytes -= SLACK;
    debug_hand_out((uintptr_t)ptr, caller);
    return ptr;
}

/* krealloc in debug mode: always a new block, so that the old one is freed like any other. */
static void *debug_realloc(void *ptr, uintptr_t block, const struct region *r, size_t size,
                           const void *caller)
{
    void *moved = debug_alloc(size, caller);
    struct block_view v = block_view(block, r);

    if (moved == NULL) {
        if (debugging(HEAP_DEBUG_REDZONE))
            redzone_verify(&v, caller);
        return NULL;
    }
    __builtin_memcpy(moved, ptr, v.requested < size ? v.requested : size);
    debug_free(block, r, caller);
    return moved;
}

/* ---- the hooks: the sampler, then debug mode -------------------------------- */

/* Is this call the sampler's turn? Every `every`-th one of a size up to a page. */
static bool sample_due(size_t size)
{
    const struct heap_sampler *s = heap.sampler;

    if (s == NULL || s->every == 0 || size - 1 >= PAGE_BYTES || --heap.sample_countdown != 0)
        return false;
    heap.sample_countdown = s->every;
    return true;
}

/* kmalloc's miss path: the sampler's turn, debug mode, or (no hooks) a failure. */
static OUT_OF_LINE void *allocation_missed(size_t size, const void *caller, bool sampled)
{
    if (!heap.hooked) {
        heap.stats.failed_allocations++;
        return NULL;
    }
    if (sampled && sample_due(size)) {
        void *p = heap.sampler->alloc(size, caller);
        if (p != NULL) {
            heap.stats.sampled_allocations++;
            return p;
        }
    }
    return heap.debug != 0 ? debug_alloc(size, caller) : plain_allocate(size);
}

/* krealloc of a sampled object: into a heap block (never sampled), size(p) bytes copied. */
static void *sampled_realloc(void *ptr, size_t size, const void *caller)
{
    size_t had = heap.sampler->size(ptr);       /* 0: no live object starts at ptr */
    void *moved = NULL;

    if (had != 0 && size != 0) {
        moved = allocate_for(size, caller, false);
        if (moved == NULL)
            return NULL;                        /* the object stays as it was */
        __builtin_memcpy(moved, ptr, had < size ? had : size);
    }
    enum heap_status why = heap.sampler->free(ptr, caller);
    if (why != HEAP_OK)
        heap_report_refusal(&(struct heap_refusal){"krealloc", NULL, ptr, why, caller});
    return moved;
}

/* ---- kcalloc, krealloc, ksize ---------------------------------------------- */

void *kcalloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        heap.stats.failed_allocations++;
        return NULL;
    }
    void *p = allocate_for(n * size, CALLER, true);
    if (p != NULL)
        __builtin_memset(p, 0, n * size);
    return p;
}

/* Can a small block grow in place from scale `from` to `to`? As a lower half, over free buddies */
static bool block_can_grow(uintptr_t block, unsigned from, unsigned to, const struct region *r)
{
    for (unsigned s = from; s < to; s++)
        if ((block & scale_bytes(s)) != 0 || !buddy_mergeable(block, s, r, false))
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

/* Give a live small block a new small scale in place, absorbing free buddies or freeing halves. */
static bool small_resize(uintptr_t block, size_t size, const struct region *r)
{
    struct block_header *header = header_at(block);
    unsigned old = header->scale, scale = scale_for_request(size, HEAP_MAX_REQUEST);

    if (scale == 0 || scale >= PAGE_SCALE || (scale > old && !block_can_grow(block, old, scale, r)))
        return false;
    heap.stats.requested_bytes += size - header->requested;     /* may wrap: fine */
    if (scale > old)
        block_grow(block, old, scale);
    else if (scale < old)
        block_split(block, old, scale, r);
    header_set(header, size, block_tag(block, scale, HEAP_BLOCK_ALLOCATED));
    return true;
}

/*
 * Can a run at block grow from `old` pages to reach `to`, in a block of this
 * scale, in place? The block must be aligned to that scale, and the pages it
 * needs free blocks exactly where a trim of that block would have put them:
 * the aligned pieces after the run, up to the one that reaches `to`. Returns
 * that piece's end, or 0.
 */
static uintptr_t run_room(uintptr_t block, size_t old, uintptr_t to, unsigned scale,
                          const struct region *r)
{
    uintptr_t top = block + scale_bytes(scale), piece = block + old * PAGE_BYTES;
    unsigned s;

    if ((block & (scale_bytes(scale) - 1)) != 0 || scale_bytes(scale) > r->end - block)
        return 0;
    for (; piece < to; piece += scale_bytes(s)) {
        s = carve_scale(piece, top);
        if (!free_block_at(piece, s, r, true))
            return 0;
    }
    return piece;
}

/* Take the free pieces of [from, to) of r, carved as in a block ending at top, off their lists. */
static size_t run_absorb(uintptr_t from, uintptr_t to, uintptr_t top, const struct region *r)
{
    size_t pieces = 0;
    unsigned scale;

    for (uintptr_t piece = from; piece < to; piece += scale_bytes(scale), pieces++) {
        scale = carve_scale(piece, top);
        free_list_remove((uintptr_t)page_entry(r, piece), scale);
    }
    return pieces;
}

/* Splits and merges count blocks made and unmade: `made` blocks now tile what `unmade` did. */
static void tiling_changed(size_t made, size_t unmade)
{
    if (made > unmade)
        heap.stats.splits += made - unmade;
    else
        heap.stats.merges += unmade - made;
}

/*
 * Resize a live page run in place to keep pages_for(size) pages: take the
 * free pages after it (run_room), or give back those past its new end.
 * The pointer and the contents stay; the header and the later pages'
 * entries are written anew.
 */
static bool run_resize(uintptr_t block, size_t size, const struct region *r)
{
    struct block_header *entry = frame_entry(r, block);
    size_t old = run_pages(entry), pages = pages_for(size);
    unsigned scale = page_scale_for(size);
    uintptr_t end = block + pages * PAGE_BYTES, old_end = block + old * PAGE_BYTES, room = old_end;

    if (size > HEAP_MAX_REQUEST || scale > HEAP_MAX_SCALE
        || (pages > old && (room = run_room(block, old, end, scale, r)) == 0))
        return false;
    size_t unmade = run_pieces(old) + run_absorb(old_end, room, block + scale_bytes(scale), r);
    heap.stats.requested_bytes += size - entry->requested;
    run_write(block, pages, size, scale, r);
    size_t made = run_pieces(pages);
    if (pages > old)
        made += run_trim(end, room, r);
    else
        made += run_free_pieces(end, old_end, r);
    tiling_changed(made, unmade);
    return true;
}

/* Move a live block to a new one of size bytes: only the bytes it was asked for go along. */
static void *block_move(void *ptr, uintptr_t block, size_t size, const struct region *r,
                        const void *caller)
{
    size_t requested = live_header(ptr, block, r)->requested;
    void *moved = allocate_for(size, caller, false);    /* counts the failure if no room */

    if (moved != NULL) {
        __builtin_memcpy(moved, ptr, requested < size ? requested : size);
        block_free(ptr, block, r, caller);
    }
    return moved;
}

void *krealloc(void *ptr, size_t size)
{
    uintptr_t block;
    const struct region *r;

    if (ptr == NULL)
        return allocate_for(size, CALLER, true);
    if (heap.hooked && sampled_object(ptr))
        return sampled_realloc(ptr, size, CALLER);
    enum heap_status why = pointer_lookup(ptr, &block, &r);
    if (why != HEAP_OK) {
        heap_report_refusal(&(struct heap_refusal){"krealloc", NULL, ptr, why, CALLER});
        return NULL;
    }
    if (size == 0) {
        block_free(ptr, block, r, CALLER);
        return NULL;
    }
    if (heap.debug != 0)
        return debug_realloc(ptr, block, r, size, CALLER);
    bool page = (uintptr_t)ptr == block;
    if (page ? run_resize(block, size, r) : small_resize(block, size, r))
        return ptr;
    return block_move(ptr, block, size, r, CALLER);
}

unsigned heap_block_scale(const void *ptr)
{
    uintptr_t block;
    const struct region *r;

    return pointer_lookup(ptr, &block, &r) == HEAP_OK ? live_header(ptr, block, r)->scale : 0;
}

uintptr_t heap_block_of(const void *ptr)
{
    uintptr_t block;
    const struct region *r;

    return pointer_lookup(ptr, &block, &r) == HEAP_OK ? block : 0;
}

size_t ksize(const void *ptr)
{
    uintptr_t block;
    const struct region *r;

    if (heap.hooked && sampled_object(ptr))
        return heap.sampler->size(ptr);
    if (pointer_lookup(ptr, &block, &r) != HEAP_OK)
        return 0;
    if (heap.debug != 0)
        return block_view(block, r).requested;
    if ((uintptr_t)ptr == block)
        return run_pages(frame_entry(r, block)) * PAGE_BYTES;
    return heap_scale_payload(header_at(block)->scale);
}

/* ---- pages and slabs ------------------------------------------------------- */

void *heap_alloc_pages(unsigned order)
{
    bool possible = order <= HEAP_MAX_SCALE - PAGE_SCALE;

    return allocate_for(possible ? (size_t)PAGE_BYTES << order : 0, CALLER, false);
}

void heap_free_pages(void *page) { pointer_free(page, CALLER, true); }

/*
 * Mark a live page block as a slab, or unmark it: only its header's state
 * changes (SLAB or ALLOCATED), since the later pages' entries already lead
 * to it. See heap.h for what is refused and why.
 */
enum heap_status heap_mark_slab(void *page, int slab)
{
    uintptr_t block;
    const struct region *r;
    enum heap_status why = pointer_lookup(page, &block, &r);

    bool page_start = page_aligned((uintptr_t)page);

    if (why == HEAP_OK && !page_start)
        return HEAP_INVALID_POINTER;            /* a small block: no page of its own */
    if (slab) {
        if (why != HEAP_OK)
            return why;                         /* marked already: HEAP_SLAB_MEMORY */
    } else {
        if (why == HEAP_OK)
            return HEAP_INVALID_POINTER;        /* a page block, but no slab */
        if (why != HEAP_SLAB_MEMORY)
            return why;
        if (!page_start || frame_entry(r, block)->state != HEAP_BLOCK_SLAB)
            return HEAP_INSIDE_BLOCK;           /* a slab, but not its start */
    }
    frame_entry(r, block)->state = slab ? HEAP_BLOCK_SLAB : HEAP_BLOCK_ALLOCATED;
    return HEAP_OK;
}

/*
 * heap_slab_of's common case, a one-page slab made by kmalloc(4096): the
 * entry of the frame that holds the address is the slab's own header. The
 * checks run_holding makes of such a header, in fewer steps: state SLAB,
 * scale 12 and the check value in one compare of the tag, 4096 bytes kept,
 * the frame inside r's blocks. Any other entry (a later page, a larger slab,
 * a shorter run, no slab) is left to run_holding, which decides as before.
 */
static inline bool one_page_slab(uintptr_t frame, const struct region *r)
{
    const struct block_header *entry = page_entry(r, frame);

    return header_tag(entry) == block_tag(frame, PAGE_SCALE, HEAP_BLOCK_SLAB)
        && entry->requested == PAGE_BYTES && frame >= r->start && PAGE_BYTES <= r->end - frame;
}

/* heap_slab_of's other cases: a later page of a slab, a larger slab, no slab, no region. */
static OUT_OF_LINE uintptr_t slab_run_of(uintptr_t a, const struct region *r)
{
    uintptr_t head;

    if (r == NULL || !run_holding(a, r, &head))
        return 0;
    return frame_entry(r, head)->state == HEAP_BLOCK_SLAB ? head : 0;
}

uintptr_t heap_slab_of(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    const struct region *r = region_of(a);

    if (r != NULL && one_page_slab(frame_of(a), r))
        return frame_of(a);
    return slab_run_of(a, r);
}

/* ---- heap_check: every invariant, bounded walks, the first violation ------- */

/* What the region walk saw, to compare with the free lists and the counters. */
struct check_tally {
    size_t free_count[HEAP_MAX_SCALE + 1];
    uint32_t fingerprint[HEAP_MAX_SCALE + 1];   /* sum of block_hash over free blocks */
    size_t managed_bytes, free_bytes, allocated_bytes, requested_bytes;
    size_t quarantined_blocks, quarantined_bytes;
    uint32_t quarantine_fingerprint;            /* sum of block_hash(block, 0) over them */
};

static int violation(struct heap_violation *found, const char *what, uintptr_t at, unsigned scale)
{
    if (found != NULL)
        *found = (struct heap_violation){what, at, scale};
    return 1;
}

/*
 * Can node be the link of a block on a list of this scale, and which block
 * (*block)? A small block's lies after an in-band header, at a smallest
 * block's boundary inside a region; a page block's after an entry of a
 * region's table, which names the block. (*block is the header's address
 * when it cannot be either.)
 */
static bool link_block(const struct list_header *node, unsigned scale, uintptr_t *block)
{
    uintptr_t header = header_of_link(node);
    const struct region *r = scale < PAGE_SCALE ? region_of(header) : table_region(header);

    *block = header;
    if (r == NULL)
        return false;
    if (scale < PAGE_SCALE)
        return (header & (min_block() - 1)) == 0;
    if ((header & (FRAME_BYTES - 1)) != 0)
        return false;                               /* a table starts at an entry's multiple */
    *block = frame_block(r, header);
    return true;
}

/* The block of node on a list of this scale, for a report (see link_block). */
static uintptr_t list_block(const struct list_header *node, unsigned scale)
{
    uintptr_t block;

    link_block(node, scale, &block);
    return block;
}

/* May a list link at node be read? The head of its scale, or where link_block allows it. */
static bool link_readable(const struct list_header *node, unsigned scale)
{
    uintptr_t block;

    return node == &heap.free_lists[scale].head || link_block(node, scale, &block);
}

/* Is the free block whose header is at header linked both ways to readable neighbours? */
static bool block_linked(uintptr_t header, unsigned scale)
{
    const struct list_header *node = link_of(header);

    return link_readable(node->next, scale) && link_readable(node->prev, scale)
        && node->next->prev == node && node->prev->next == node;
}

/* A free block of either kind: on its list, its buddy not free, counted. */
static int check_free_block(uintptr_t block, unsigned scale, const struct region *r,
                            struct check_tally *t, struct heap_violation *found)
{
    if (!block_linked((uintptr_t)header_of(block, scale, r), scale))
        return violation(found, "free block missing from its list", block, scale);
    if (buddy_mergeable(block, scale, r, scale >= PAGE_SCALE))
        return violation(found, "free buddies left unmerged", block, scale);
    t->free_count[scale]++;
    t->fingerprint[scale] += block_hash(block, scale);
    t->free_bytes += scale_bytes(scale);
    return 0;
}

/* Debug mode: a free or quarantined block's poison, a live block's red zone. */
static int check_contents(uintptr_t block, const struct region *r, struct heap_violation *found)
{
    if (heap.debug == 0)
        return 0;
    struct block_view v = block_view(block, r);
    bool poison = debugging(HEAP_DEBUG_POISON);
    if (v.state == HEAP_BLOCK_FREE && poison && free_body_damage(block, v.end, r) != v.end)
        return violation(found, "use-after-free write: a free block's poison was changed",
                         block, v.scale);
    if (v.state == HEAP_BLOCK_QUARANTINED && poison && payload_damage(&v) != (uintptr_t)v.trailer)
        return violation(found, "use-after-free write: a quarantined block's poison was changed",
                         block, v.scale);
    if (state_live(v.state) && debugging(HEAP_DEBUG_REDZONE)
        && redzone_damage(&v) != (uintptr_t)v.trailer)
        return violation(found, "out-of-bounds write: a block's red zone was changed", block,
                         v.scale);
    return 0;
}

/* Does a kept block's requested leave room for debug mode's slack (always, with it off)? */
static bool debug_sized(size_t requested) { return heap.debug == 0 || requested > SLACK; }

/* A kept block of either kind (header h, bytes kept): allocated or quarantined, its contents. */
static int check_kept(uintptr_t block, const struct block_header *h, size_t bytes,
                      const struct region *r, struct check_tally *t, struct heap_violation *found)
{
    if (h->state == HEAP_BLOCK_QUARANTINED) {
        t->quarantined_blocks++;
        t->quarantined_bytes += bytes;
        t->quarantine_fingerprint += block_hash(block, 0);
    } else {
        t->allocated_bytes += bytes;
        t->requested_bytes += h->requested - debug_slack();
    }
    return check_contents(block, r, found);
}

/* A small block: its frame carved into small blocks, its header intact. */
static int check_small_block(uintptr_t block, const struct region *r, struct check_tally *t,
                             struct heap_violation *found)
{
    const struct block_header *header = header_at(block);
    unsigned scale = header->scale;

    if (!small_header_valid(block, r))
        return violation(found, "block header is corrupted", block, scale);
    t->managed_bytes += scale_bytes(scale);
    if (header->state == HEAP_BLOCK_FREE)
        return check_free_block(block, scale, r, t, found) || check_contents(block, r, found);
    if (header->requested > heap_scale_payload(scale) || !debug_sized(header->requested))
        return violation(found, "requested size does not fit its block", block, scale);
    return check_kept(block, header, scale_bytes(scale), r, t, found);
}

/*
 * The entries of frames [from, to): for a live run's later pages (run), each
 * TAIL with the frames back to the run's start; for a free block's, anything
 * but an entry that would make them live or small: NONE, or left behind by
 * a block freed or merged since.
 */
static int check_entries(const struct region *r, uintptr_t from, uintptr_t to, bool run,
                         unsigned scale, struct heap_violation *found)
{
    for (uintptr_t frame = from; frame < to; frame += PAGE_BYTES) {
        const struct block_header *entry = frame_entry(r, frame);
        bool ok = run ? entry->state == HEAP_FRAME_TAIL
                        && entry->requested == (frame - from) / PAGE_BYTES + 1
                      : entry->state == HEAP_FRAME_NONE || entry->state == HEAP_BLOCK_FREE
                        || entry->state == HEAP_FRAME_TAIL;
        if (!ok)
            return violation(found, "frame table entry disagrees with its block", frame, scale);
    }
    return 0;
}

/* A page block, free or a live run: its header in the table, and its other frames' entries. */
static int check_page_block(uintptr_t block, const struct region *r, struct check_tally *t,
                            struct heap_violation *found, size_t *bytes)
{
    const struct block_header *entry = frame_entry(r, block);
    unsigned scale = entry->scale;
    bool kept = state_kept(entry->state);

    if (entry->state == HEAP_FRAME_NONE || entry->state == HEAP_FRAME_TAIL)
        return violation(found, "frame table entry disagrees with its block", block, scale);
    if ((!kept && entry->state != HEAP_BLOCK_FREE) || !page_header_valid(entry, block, r))
        return violation(found, "block header is corrupted", block, scale);
    if (kept && (!run_fits(entry) || !debug_sized(entry->requested)))
        return violation(found, "requested size does not fit its block", block, scale);
    *bytes = kept ? run_pages(entry) * PAGE_BYTES : scale_bytes(scale);
    t->managed_bytes += *bytes;
    if (check_entries(r, block + PAGE_BYTES, block + *bytes, kept, scale, found))
        return 1;
    if (!kept)
        return check_free_block(block, scale, r, t, found) || check_contents(block, r, found);
    return check_kept(block, entry, *bytes, r, t, found);
}

/* Blocks must tile the region exactly; the walk stops at the first bad header. */
static int check_region(const struct region *r, struct check_tally *t, struct heap_violation *found)
{
    size_t bytes;

    for (uintptr_t block = r->start; block < r->end; block += bytes) {
        if (frame_entry(r, block)->state != HEAP_FRAME_SMALL) {
            if (!page_aligned(block))
                return violation(found, "frame table entry disagrees with its block",
                                 frame_of(block), header_at(block)->scale);
            if (check_page_block(block, r, t, found, &bytes))
                return 1;
            continue;
        }
        if (check_small_block(block, r, t, found))
            return 1;
        bytes = scale_bytes(header_at(block)->scale);
    }
    return 0;
}

/* Is node the link of a free block of this scale (a page block's: in the entry of its frame)? */
static bool node_is_free_block(const struct list_header *node, unsigned scale)
{
    uintptr_t block;

    if (!link_block(node, scale, &block))
        return false;
    const struct region *r = region_of(block);
    if (r == NULL)
        return false;
    bool small = frame_entry(r, block)->state == HEAP_FRAME_SMALL;
    if (scale_bytes(scale) > r->end - r->start)
        return false;                   /* free_block_at needs a scale the region can hold */
    if (scale < PAGE_SCALE)
        return small && small_header_valid(block, r) && header_at(block)->state == HEAP_BLOCK_FREE
            && header_at(block)->scale == scale;
    return !small && (uintptr_t)frame_entry(r, block) == header_of_link(node)
        && free_block_at(block, scale, r, true);
}

/* Walk one list, at most free_count nodes, checking each before following it. */
static int check_list(unsigned scale, const struct check_tally *t, struct heap_violation *found)
{
    const struct list_header *head = &heap.free_lists[scale].head, *prev = head, *node = head->next;
    size_t seen = 0, count = free_count_of(scale);
    uint32_t fingerprint = 0;

    for (; node != head; prev = node, node = node->next, seen++) {
        uintptr_t block = list_block(node, scale);
        if (seen == count || !node_is_free_block(node, scale))
            return violation(found, "free list holds a block that is not a free block of its scale",
                             block, scale);
        if (node->prev != prev)
            return violation(found, "free list links disagree", block, scale);
        fingerprint += block_hash(block, scale);
    }
    bool marked = (heap.nonempty >> scale) & 1;     /* the bitmap bit must agree too */
    if (head->prev != prev || seen != count || marked != (seen != 0))
        return violation(found, "free count does not match its list", 0, scale);
    if (seen != t->free_count[scale] || fingerprint != t->fingerprint[scale])
        return violation(found, "free list does not hold the free blocks of its scale", 0, scale);
    return 0;
}

/* The quarantine's ring holds exactly the quarantined blocks the walk found (a fingerprint). */
static int check_quarantine(const struct check_tally *t, struct heap_violation *found)
{
    const struct quarantine *q = &heap.quarantine;
    uint32_t fingerprint = 0;

    for (unsigned i = 0; i < q->count && i < HEAP_QUARANTINE_BLOCKS; i++)
        fingerprint += block_hash(q->blocks[(q->oldest + i) % HEAP_QUARANTINE_BLOCKS], 0);
    if (q->count != t->quarantined_blocks || q->bytes != t->quarantined_bytes
        || fingerprint != t->quarantine_fingerprint)
        return violation(found, "quarantine does not hold the quarantined blocks", 0, 0);
    return 0;
}

static int check_counters(const struct check_tally *t, struct heap_violation *found)
{
    const struct heap_stats *s = &heap.stats;

    if (t->managed_bytes != s->managed_bytes || t->free_bytes != free_list_bytes()
        || t->allocated_bytes + t->quarantined_bytes != s->managed_bytes - t->free_bytes
        || t->requested_bytes != s->requested_bytes)
        return violation(found, "byte counters do not match the blocks", 0, 0);
    return check_quarantine(t, found);
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
    out->quarantined_blocks = heap.quarantine.count;
    out->quarantined_bytes = heap.quarantine.bytes;
    out->allocated_bytes = out->managed_bytes - out->free_bytes - out->quarantined_bytes;
    out->regions = heap.region_count;
    out->largest_free_block = heap.nonempty == 0 ? 0 : scale_bytes(floor_log2(heap.nonempty));
    out->fragmentation_percent = fragmentation_percent(out->free_bytes, out->largest_free_block);
}

unsigned heap_min_scale(void) { return min_scale(); }

size_t heap_scale_payload(unsigned scale)
{
    if (scale < min_scale() || scale > HEAP_MAX_SCALE)
        return 0;
    return scale < PAGE_SCALE ? scale_bytes(scale) - HEADER_BYTES : scale_bytes(scale);
}

size_t heap_free_count(unsigned scale)
{
    return scale <= HEAP_MAX_SCALE ? free_count_of(scale) : 0;
}

size_t heap_free_list_peek(unsigned scale, uintptr_t *out, size_t max)
{
    size_t n = 0;

    if (scale > HEAP_MAX_SCALE)
        return 0;
    size_t count = free_count_of(scale);
    for (const struct list_header *node = heap.free_lists[scale].head.next;
         n < max && n < count; node = node->next)
        out[n++] = list_block(node, scale);
    return n;
}

/* heap_walk's `allocated`: 0 free, 1 allocated (a slab too), 2 quarantined. */
static int walk_kind(uint8_t state)
{
    return state == HEAP_BLOCK_FREE ? 0 : state == HEAP_BLOCK_QUARANTINED ? 2 : 1;
}

/* Visit a kept run's pieces, largest first. */
static void walk_run(uintptr_t block, size_t pages, int kind, heap_walk_fn visit, void *context)
{
    unsigned scale;

    for (uintptr_t end = block + pages * PAGE_BYTES; block < end; block += scale_bytes(scale)) {
        scale = carve_scale(block, end);
        visit(block, scale, kind, context);
    }
}

/* Visit the block at block (a run as its pieces); returns its bytes, 0 at a corrupted header. */
static size_t walk_block(uintptr_t block, const struct region *r, heap_walk_fn visit, void *context)
{
    const struct block_header *entry = frame_entry(r, block), *header = header_at(block);

    if (entry->state == HEAP_FRAME_SMALL) {
        if (!small_header_valid(block, r))
            return 0;
        visit(block, header->scale, walk_kind(header->state), context);
        return scale_bytes(header->scale);
    }
    if (!page_aligned(block) || !page_header_valid(entry, block, r))
        return 0;
    if (entry->state == HEAP_BLOCK_FREE) {
        visit(block, entry->scale, 0, context);
        return scale_bytes(entry->scale);
    }
    if (!state_kept(entry->state) || !run_fits(entry))
        return 0;
    walk_run(block, run_pages(entry), walk_kind(entry->state), visit, context);
    return run_pages(entry) * PAGE_BYTES;
}

void heap_walk(heap_walk_fn visit, void *context)
{
    for (unsigned i = 0; i < heap.region_count; i++) {
        const struct region *r = &heap.regions[i];
        size_t bytes;
        for (uintptr_t block = r->start; block < r->end; block += bytes)
            if ((bytes = walk_block(block, r, visit, context)) == 0)
                break;
    }
}

int heap_region(unsigned i, uintptr_t *start, uintptr_t *end)
{
    if (i >= heap.region_count)
        return 0;
    *start = heap.regions[i].start;
    *end = heap.regions[i].limit;
    return 1;
}

struct block_header *heap_frame_entry(uintptr_t a)
{
    const struct region *r = region_of(a);

    return r == NULL || r->frames == no_table ? NULL : frame_entry(r, a);
}

void heap_on_refusal(heap_refusal_fn report) { heap.on_refusal = report; }

/* ---- heap_block_info ------------------------------------------------------- */

/* *out for the block at block of r (its header intact). Returns 1. */
static int info_fill(uintptr_t block, const struct region *r, struct heap_block_info *out)
{
    struct block_view v = block_view(block, r);
    bool callers = heap.debug != 0 && state_kept(v.state);

    *out = (struct heap_block_info){v.block, v.payload, v.scale, 0, v.state, v.requested,
                                    callers ? v.trailer->alloc_caller : NULL,
                                    callers ? v.trailer->free_caller : NULL};
    if (v.payload == v.block)
        out->pages = (v.end - v.block) >> PAGE_SCALE;
    return 1;
}

/* The small block holding a: its frame's blocks walked from the first (at most a page of them). */
static int small_info(uintptr_t a, const struct region *r, struct heap_block_info *out)
{
    uintptr_t block = frame_of(a) > r->start ? frame_of(a) : r->start;

    while (small_header_valid(block, r)) {
        uintptr_t end = block + scale_bytes(header_at(block)->scale);
        if (a < end)
            return info_fill(block, r, out);
        block = end;
    }
    return 0;
}

/*
 * The free page block holding a: of the aligned blocks around a (a page,
 * two, four...), the one whose entry is a free header of exactly its scale
 * that its free list links both ways. (The entries of blocks merged away say
 * free too, but no list links them.)
 */
static int free_page_info(uintptr_t a, const struct region *r, struct heap_block_info *out)
{
    for (unsigned s = PAGE_SCALE; s <= HEAP_MAX_SCALE; s++) {
        uintptr_t block = a & ~(scale_bytes(s) - 1);
        if (block < r->start)
            break;
        const struct block_header *e = frame_entry(r, block);
        if (e->state == HEAP_BLOCK_FREE && e->scale == s && page_header_valid(e, block, r)
            && block_linked((uintptr_t)e, s))
            return info_fill(block, r, out);
    }
    return 0;
}

int heap_block_info(const void *address, struct heap_block_info *out)
{
    uintptr_t a = (uintptr_t)address, head;
    const struct region *r = region_of(a);

    if (r == NULL)
        return 0;
    if (frame_entry(r, a)->state == HEAP_FRAME_SMALL)
        return small_info(a, r, out);
    if (run_kept(a, r, &head) != NULL)
        return info_fill(head, r, out);
    return free_page_info(a, r, out);
}

/* ---- turning debugging and sampling on --------------------------------------- */

void heap_set_debug(unsigned flags)
{
    if (heap.region_count != 0)
        return;                     /* every block's layout depends on it: too late */
    heap.debug = flags & HEAP_DEBUG_ALL;
    hooks_update();
}

unsigned heap_debug_flags(void) { return heap.debug; }

void heap_on_debug_report(heap_debug_fn fn) { heap.on_debug_report = fn; }

size_t heap_drain_quarantine(void)
{
    size_t drained = 0;

    while (quarantine_drain_one(CALLER))
        drained++;
    return drained;
}

void heap_set_sampler(const struct heap_sampler *sampler)
{
    heap.sampler = sampler;
    heap.sample_countdown = sampler != NULL ? sampler->every : 0;
    hooks_update();
}

const char *heap_status_name(enum heap_status status)
{
    switch (status) {
    case HEAP_OK: return "ok";
    case HEAP_INVALID_POINTER: return "invalid pointer";
    case HEAP_DOUBLE_FREE: return "double free";
    case HEAP_CORRUPTED_HEADER: return "corrupted header";
    case HEAP_INSIDE_BLOCK: return "inside a block";
    case HEAP_NOT_HANDED_OUT: return "page never handed out";
    case HEAP_SLAB_MEMORY: return "slab memory";
    case HEAP_NOT_AN_OBJECT: return "not an object of this cache";
    case HEAP_WRONG_CACHE: return "object of another cache";
    }
    return "unknown status";
}

/* ---- a frame-table window for slab.c's inline test (heap.h) ------------------ */

int heap_frame_window_of(const void *addr, struct heap_frame_window *out)
{
    const struct region *r = region_of((uintptr_t)addr);

    *out = (struct heap_frame_window){0, 0, 0};
    if (r == NULL || r->frames == no_table)
        return 0;
    *out = (struct heap_frame_window){r->start, r->span, r->frame_base};
    return 1;
}

/* ---- debug reports from outside the heap (heap.h) ---------------------------- */

void heap_debug_report_emit(const struct heap_debug_report *report) { report_send(report); }
