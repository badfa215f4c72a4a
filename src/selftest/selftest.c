/*
 * selftest.c - a randomized torture test of the kernel heap over all of RAM:
 * hundreds of thousands of kmalloc/kfree/krealloc calls, on small blocks
 * (header in band) and page blocks (header in the frame table), with a
 * pattern in every block, checked before the block is freed or moved;
 * deliberate bad frees of every kind heap.h names, slabs included, that
 * heap_free must refuse with exactly the status its contract gives, the heap
 * untouched; heap_check along the way; and at the end the heap exactly as it
 * was at boot. It uses memory/heap.h only (no libc, static tables) and tests
 * nothing but the heap. A test program, not part of the allocator: the host
 * tests' model (tests/heap/model.c) checks the same things on the host.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console/kprintf.h"
#include "memory/heap.h"
#include "selftest/selftest.h"

#define OPERATIONS      300000u /* random operations in the main loop */
#define LIVE_SLOTS      4096u   /* blocks the test holds at once, at most */
#define FREED_SLOTS     16u     /* recently freed pointers, kept for double frees */
#define CHECK_EVERY     4096u   /* operations between two heap_check runs */
#define EXHAUST_EVERY   50000u  /* operations between two runs that fill the heap up */
#define PROGRESS_EVERY  100000u /* operations between two progress lines */
#define DENSE_BYTES     256u    /* a block's first bytes all carry the pattern... */
#define SPARSE_WORDS    256u    /* ...then at most this many words spread over the rest */
#define LARGE_SCALE_END 22u     /* random requests stay below 2^22 bytes (4 MiB) */
#define BAD_FREE_KINDS  8u      /* see bad_free_kinds */


struct live_block {
    unsigned char *ptr;
    size_t size;                /* bytes requested */
    size_t kept;                /* bytes kept: a small block's 2^scale, a page block's pages */
    uint32_t serial;            /* picks the pattern, together with the address */
};

/* What the heap's counters must read: the test keeps its own tally. */
struct expected_counters {
    size_t allocations, frees, failed_allocations, refused_frees, requested_bytes;
    size_t allocated_bytes;
};

static struct selftest_state {
    uint32_t random;                        /* xorshift32 state, never 0 */
    uint32_t next_serial;
    struct live_block live[LIVE_SLOTS];
    size_t live_count, live_bytes, peak_live_bytes;
    uintptr_t freed[FREED_SLOTS];           /* payload pointers; 0 is an empty slot */
    unsigned freed_next;
    unsigned long operations, bad_frees, checks;
    unsigned kind;                          /* the kind of bad free being tried */
    unsigned long refused_by_kind[BAD_FREE_KINDS];
    struct expected_counters expected;
    size_t boot_free_count[HEAP_MAX_SCALE + 1];
    char failure[160];                      /* empty while all is well */
} test;

/* ---- failures: the first one is kept, and every step after it stops ---------- */

/* Keep "<what> (operation N)" unless a failure is kept already; false, so callers can return it. */
static bool __attribute__((format(printf, 1, 2))) fail(const char *format, ...)
{
    va_list args;

    if (test.failure[0] != '\0')
        return false;
    va_start(args, format);
    size_t length = kvsnprintf(test.failure, sizeof test.failure, format, args);
    va_end(args);
    ksnprintf(test.failure + length, sizeof test.failure - length, " (operation %lu)", test.operations);
    return false;
}

/* ---- random numbers: xorshift32 (Marsaglia, 2003) ------------------------------ */

static uint32_t random_next(void)
{
    uint32_t x = test.random;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return test.random = x;
}

static uint32_t random_below(uint32_t n) { return random_next() % n; }

/* A size in [2^scale, 2^(scale+1)) for a scale in [low, high): log-uniform. */
static size_t random_log_size(unsigned low, unsigned high)
{
    size_t base = (size_t)1 << (low + random_below(high - low));

    return base + (random_next() & (base - 1));
}

/* 70% 1-256 bytes, 27% up to 64 KiB, 3% up to 4 MiB. */
static size_t random_size(void)
{
    uint32_t dice = random_below(100);

    if (dice < 70)
        return 1 + random_below(256);
    if (dice < 97)
        return random_log_size(8, 16);
    return random_log_size(16, LARGE_SCALE_END);
}

/* Like random_size, but now and then 0 or a size no heap can give. */
static size_t random_request(void)
{
    uint32_t dice = random_below(200);

    return dice == 0 ? 0 : dice == 1 ? SIZE_MAX : random_size();
}

/* ---- the two kinds of block --------------------------------------------------- */

/* Page blocks are page-aligned, small payloads never are: the pointer tells the kind. */
static bool is_page(const void *ptr) { return (uintptr_t)ptr % HEAP_PAGE_BYTES == 0; }

/* The largest request a small block serves; a larger one gets a page block. */
static size_t small_limit(void)
{
    return heap_scale_bytes(HEAP_PAGE_SCALE - 1) - HEAP_HEADER_BYTES;
}

static size_t pages_for(size_t size) { return (size + HEAP_PAGE_BYTES - 1) / HEAP_PAGE_BYTES; }

/* Where a live block starts: its in-band header for a small block, its pointer for a page block. */
static uintptr_t block_start(const void *ptr)
{
    return is_page(ptr) ? (uintptr_t)ptr : (uintptr_t)ptr - HEAP_HEADER_BYTES;
}

/* The bytes a live block keeps: a small block's header and payload, a page block's pages. */
static size_t block_bytes_of(const void *ptr)
{
    return is_page(ptr) ? ksize(ptr) : ksize(ptr) + HEAP_HEADER_BYTES;
}

/*
 * The block a fresh allocation of size bytes must get: the smallest power of
 * two that holds it, and a small block's header too; a page at least for a
 * page block. Only for sizes the heap just served.
 */
static size_t block_for_request(size_t size)
{
    bool page = size > small_limit();
    size_t header = page ? 0 : HEAP_HEADER_BYTES;
    size_t bytes = page ? HEAP_PAGE_BYTES : heap_scale_bytes(heap_min_scale());

    while (bytes - header < size && bytes < heap_scale_bytes(HEAP_MAX_SCALE))
        bytes *= 2;
    return bytes;
}

/* ---- what the heap says about itself ------------------------------------------ */

/*
 * The largest request kmalloc must serve right now: all of the largest free
 * block when it is a page or more (a page block is all payload), else that
 * block less its header. One byte more needs a block no free one is.
 */
static size_t largest_payload(void)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    if (stats.largest_free_block >= HEAP_PAGE_BYTES)
        return stats.largest_free_block;
    return stats.largest_free_block == 0 ? 0 : stats.largest_free_block - HEAP_HEADER_BYTES;
}

/* Does one region hold all of [start, end)? */
static bool region_holds(uintptr_t start, uintptr_t end)
{
    uintptr_t first, last;

    for (unsigned i = 0; heap_region(i, &first, &last); i++)
        if (start >= first && end <= last)
            return true;
    return false;
}

static bool counters_match(void)
{
    const struct expected_counters *e = &test.expected;
    struct heap_stats now;

    heap_get_stats(&now);
    if (now.allocations != e->allocations || now.frees != e->frees)
        return fail("the allocation or free counter is off");
    if (now.failed_allocations != e->failed_allocations)
        return fail("the failed allocation counter is off");
    if (now.refused_frees != e->refused_frees)
        return fail("the refused free counter is off");
    if (now.requested_bytes != e->requested_bytes)
        return fail("the requested bytes counter is off");
    if (now.allocated_bytes != e->allocated_bytes)
        return fail("allocated_bytes reads %zu, not %zu (the live blocks' bytes)",
                    now.allocated_bytes, e->allocated_bytes);
    return true;
}

static bool heap_intact(void)
{
    struct heap_violation found;

    test.checks++;
    if (heap_check_report(&found) == 0)
        return true;
    return fail("heap_check: %s at %p, scale %u", found.what, (void *)found.address, found.scale);
}

/* ---- the pattern --------------------------------------------------------------- */

/*
 * The 32-bit word at address a of a block with serial s holds
 * pattern_word(a, s); a tail byte holds the low byte of it. Every byte has
 * bit 7 set and bit 5 clear, so none is ever 0x5f or 0xa1 (a header's free
 * or allocated state): a pointer into a small block's pattern never finds a
 * header there. (A page block's bytes are never read by the heap at all: its
 * frame table entries decide.)
 *
 * Which words carry it: all of the first DENSE_BYTES, then one word every
 * stride so that at most SPARSE_WORDS more are written, then the last word
 * and the tail bytes. A 4 MiB block costs as little as a 2 KiB one.
 *
 *   payload: |dense: every word|  .  .  .  sparse  .  .  .  |last word|tail|
 */
static uint32_t pattern_word(uintptr_t address, uint32_t serial)
{
    uint32_t x = (uint32_t)address * 0x9e3779b1u ^ serial * 0x85ebca6bu;

    x ^= x >> 15;
    return (x | 0x80808080u) & ~0x20202020u;
}

static size_t pattern_stride(size_t size)
{
    size_t stride = ((size - DENSE_BYTES) / SPARSE_WORDS + 3) & ~(size_t)3;

    return stride < 4 ? 4 : stride;
}

/* The payload offset that carries the pattern after offset o, in a block of size bytes. */
static size_t pattern_next(size_t o, size_t size)
{
    if (o + 4 > size)
        return o + 1;                                   /* the tail, byte by byte */
    size_t last_word = (size & ~(size_t)3) - 4;
    if (o < DENSE_BYTES || o >= last_word)
        return o + 4;
    size_t next = o + pattern_stride(size);
    return next < last_word ? next : last_word;
}

static void pattern_fill(const struct live_block *b)
{
    for (size_t o = 0; o < b->size; o = pattern_next(o, b->size)) {
        uint32_t word = pattern_word((uintptr_t)b->ptr + o, b->serial);
        if (o + 4 <= b->size)
            *(uint32_t *)(b->ptr + o) = word;
        else
            b->ptr[o] = (unsigned char)word;
    }
}

static bool pattern_broken(const struct live_block *b, size_t offset)
{
    return fail("the pattern of the %zu-byte block %p is broken at offset %zu", b->size,
                (void *)b->ptr, offset);
}

/* Do the first `length` bytes at `at` still hold block b's pattern? (at: where b now lives) */
static bool pattern_intact(const struct live_block *b, const unsigned char *at, size_t length)
{
    for (size_t o = 0; o < length; o = pattern_next(o, b->size)) {
        uint32_t word = pattern_word((uintptr_t)b->ptr + o, b->serial);
        bool whole_word = o + 4 <= b->size;
        if (whole_word && o + 4 > length)
            break;                                      /* a word cut short by length */
        if (whole_word ? *(const uint32_t *)(at + o) != word : at[o] != (unsigned char)word)
            return pattern_broken(b, o);
    }
    return true;
}

/* ---- recently freed pointers, for double frees --------------------------------- */

static void freed_remember(const void *ptr)
{
    test.freed[test.freed_next] = (uintptr_t)ptr;
    test.freed_next = (test.freed_next + 1) % FREED_SLOTS;
}

/*
 * What a freed pointer's double free rests on: a small block's header just
 * before it, a page block's frame (its frame table entry says free).
 */
static uintptr_t freed_evidence(uintptr_t ptr, uintptr_t *end)
{
    *end = is_page((const void *)ptr) ? ptr + HEAP_PAGE_BYTES : ptr;
    return is_page((const void *)ptr) ? ptr : ptr - HEAP_HEADER_BYTES;
}

/*
 * A live block now at [start, end) may have overwritten a freed small
 * block's header or taken a freed page block's frame: heap_free would no
 * longer call that pointer a double free, so forget it.
 */
static void freed_forget_overlaps(uintptr_t start, uintptr_t end)
{
    for (unsigned i = 0; i < FREED_SLOTS; i++) {
        uintptr_t last, first = freed_evidence(test.freed[i], &last);
        if (test.freed[i] != 0 && last > start && first < end)
            test.freed[i] = 0;
    }
}

/* ---- the table of live blocks -------------------------------------------------- */

/* Fill slot i with a fresh block: a new serial, its bytes counted, its pattern written. */
static void live_set(size_t i, unsigned char *ptr, size_t size)
{
    struct live_block *b = &test.live[i];

    *b = (struct live_block){ptr, size, block_bytes_of(ptr), test.next_serial++};
    test.expected.allocated_bytes += b->kept;
    pattern_fill(b);
    freed_forget_overlaps(block_start(ptr), (uintptr_t)ptr + ksize(ptr));
}

static void live_add(unsigned char *ptr, size_t size)
{
    live_set(test.live_count++, ptr, size);
    test.live_bytes += size;
    if (test.live_bytes > test.peak_live_bytes)
        test.peak_live_bytes = test.live_bytes;
}

static void live_remove(size_t i)
{
    test.live_bytes -= test.live[i].size;
    test.expected.allocated_bytes -= test.live[i].kept;
    test.live[i] = test.live[--test.live_count];
}

/*
 * A pointer the heap just handed out for size bytes (fresh or resized):
 * aligned, page-aligned when the request needs a page block, big enough, a
 * page block keeping exactly the pages its request needs, inside one region.
 */
static bool block_acceptable(const unsigned char *ptr, size_t size)
{
    uintptr_t a = (uintptr_t)ptr;

    if (a % HEAP_ALIGNMENT != 0)
        return fail("a pointer not aligned to HEAP_ALIGNMENT: %p", (const void *)ptr);
    if (size > small_limit() && !is_page(ptr))
        return fail("a %zu-byte request got %p, not page-aligned", size, (const void *)ptr);
    if (ksize(ptr) < size)
        return fail("ksize is smaller than the request: %p", (const void *)ptr);
    if (is_page(ptr) && ksize(ptr) != pages_for(size) * HEAP_PAGE_BYTES)
        return fail("the page block %p keeps %zu bytes for a %zu-byte request, not whole pages "
                    "exactly", (const void *)ptr, ksize(ptr), size);
    if (!region_holds(block_start(ptr), a + ksize(ptr)))
        return fail("a block outside the heap's regions: %p", (const void *)ptr);
    return true;
}

/*
 * A fresh block is the smallest that fits, of its request's kind: a small
 * block of the smallest scale, or a page block aligned to the smallest power
 * of two holding the request.
 */
static bool sized_tightly(const unsigned char *ptr, size_t size)
{
    size_t block = block_for_request(size);

    if (is_page(ptr) != (size > small_limit()))
        return fail("a %zu-byte request got %p, %spage-aligned", size, (const void *)ptr,
                    is_page(ptr) ? "" : "not ");
    if (!is_page(ptr) && block_bytes_of(ptr) != block)
        return fail("a %zu-byte request got a %zu-byte block, not %zu", size,
                    block_bytes_of(ptr), block);
    if (is_page(ptr) && (uintptr_t)ptr % block != 0)
        return fail("a %zu-byte request got %p, not aligned to %zu", size, (const void *)ptr,
                    block);
    return true;
}

/* ---- the operations ------------------------------------------------------------ */

static void *allocate_by_krealloc(size_t size) { return krealloc(NULL, size); }

/* kmalloc(size), or krealloc(NULL, size): it must fail exactly when no free block fits. */
static bool op_allocate(void *(*allocate)(size_t), size_t size)
{
    bool must_fit = size != 0 && size <= largest_payload();
    unsigned char *ptr = allocate(size);

    test.operations++;
    if (ptr == NULL && must_fit)
        return fail("an allocation failed although a free block fits");
    if (ptr != NULL && !must_fit)
        return fail("an allocation succeeded although no free block fits: %p", (const void *)ptr);
    if (ptr == NULL) {
        test.expected.failed_allocations++;
        return true;
    }
    test.expected.allocations++;
    test.expected.requested_bytes += size;
    if (!block_acceptable(ptr, size) || !sized_tightly(ptr, size))
        return false;
    live_add(ptr, size);
    return true;
}

/* Forget slot i after its block was freed: counters, the freed pointers, the table. */
static void live_freed(size_t i)
{
    test.expected.frees++;
    test.expected.requested_bytes -= test.live[i].size;
    freed_remember(test.live[i].ptr);
    live_remove(i);
}

/* heap_free a live block after checking its pattern. */
static bool op_free(size_t i)
{
    const struct live_block *b = &test.live[i];

    test.operations++;
    if (!pattern_intact(b, b->ptr, b->size))
        return false;
    enum heap_status status = heap_free(b->ptr);
    if (status != HEAP_OK)
        return fail("%s: %p", heap_status_name(status), (void *)b->ptr);
    live_freed(i);
    return true;
}

/* krealloc(ptr, 0) frees and returns NULL. */
static bool op_free_by_krealloc(size_t i)
{
    const struct live_block *b = &test.live[i];

    test.operations++;
    if (!pattern_intact(b, b->ptr, b->size))
        return false;
    if (krealloc(b->ptr, 0) != NULL)
        return fail("krealloc to 0 bytes returned a block: %p", (const void *)b->ptr);
    live_freed(i);
    return true;
}

/* After a failed krealloc the block must be where it was, untouched. */
static bool reallocate_failed(const struct live_block *old, size_t size)
{
    if (size <= ksize(old->ptr) || (size != 0 && size <= largest_payload()))
        return fail("krealloc failed although the block fits: %p", (const void *)old->ptr);
    test.expected.failed_allocations++;
    return pattern_intact(old, old->ptr, old->size);
}

/* Resize slot i: in place when it still fits; contents kept up to the smaller size. */
static bool op_reallocate(size_t i, size_t size)
{
    struct live_block old = test.live[i];

    test.operations++;
    if (!pattern_intact(&old, old.ptr, old.size))
        return false;
    bool fits_in_place = size <= ksize(old.ptr);
    unsigned char *ptr = krealloc(old.ptr, size);
    if (ptr == NULL)
        return reallocate_failed(&old, size);
    if (fits_in_place && ptr != old.ptr)
        return fail("krealloc moved a block that still fit: %p", (const void *)old.ptr);
    if (ptr != old.ptr) {                   /* a move: a new block, the old one freed */
        test.expected.allocations++;
        test.expected.frees++;
        freed_remember(old.ptr);
    }
    test.expected.requested_bytes += size - old.size;
    size_t kept = size < old.size ? size : old.size;
    if (!block_acceptable(ptr, size) || (ptr != old.ptr && !sized_tightly(ptr, size))
        || !pattern_intact(&old, ptr, kept))
        return false;
    test.live_bytes += size - old.size;
    test.expected.allocated_bytes -= old.kept;
    live_set(i, ptr, size);
    return true;
}

/* ---- bad frees: each must be refused with its status, the heap untouched ------- */

static bool refused_as_expected(void *ptr, enum heap_status want)
{
    struct heap_stats before, after;

    heap_get_stats(&before);
    enum heap_status got = heap_free(ptr);
    heap_get_stats(&after);
    test.operations++;
    if (got != want)
        return fail("heap_free(%p) said \"%s\", not \"%s\"", ptr, heap_status_name(got),
                    heap_status_name(want));
    if (!heap_stats_equal(&before, &after))
        return fail("refusing heap_free(%p) changed the heap's statistics", ptr);
    test.bad_frees++;
    test.refused_by_kind[test.kind]++;
    test.expected.refused_frees++;
    return true;
}

static struct live_block *random_live_block(void)
{
    return test.live_count == 0 ? NULL : &test.live[random_below(test.live_count)];
}

/* A live page block (page) or small block, from a random slot on; NULL when there is none. */
static struct live_block *random_live_block_of(bool page)
{
    size_t first = test.live_count == 0 ? 0 : random_below(test.live_count);

    for (size_t k = 0; k < test.live_count; k++) {
        struct live_block *b = &test.live[(first + k) % test.live_count];
        if (is_page(b->ptr) == page)
            return b;
    }
    return NULL;
}

/* A pointer freed a moment ago, its header (a page block's frame) not yet reused. */
static bool bad_free_twice(void)
{
    uintptr_t ptr = test.freed[random_below(FREED_SLOTS)];

    return ptr == 0 || refused_as_expected((void *)ptr, HEAP_DOUBLE_FREE);
}

/*
 * A pointer into a live block, past its start. A small block's stays in its
 * first DENSE_BYTES, where the pattern is, so no header is found there; a
 * page block's may be anywhere in the pages it keeps, page-aligned or not,
 * since the heap judges it by the frame table alone.
 */
static bool bad_free_interior(void)
{
    const struct live_block *b = random_live_block();

    if (b != NULL && is_page(b->ptr))
        return refused_as_expected(b->ptr + 1 + random_below(b->kept - 1), HEAP_INSIDE_BLOCK);
    if (b == NULL || b->size < 2)
        return true;
    size_t limit = b->size - 1 < DENSE_BYTES ? b->size - 1 : DENSE_BYTES;
    return refused_as_expected(b->ptr + 1 + random_below(limit), HEAP_INVALID_POINTER);
}

/*
 * A live pointer moved by 1 to 7 bytes: a small block's either way, never
 * just after a header (headers start on 16-byte boundaries) nor on a page
 * boundary; a page block's only up, into its own first page.
 */
static bool bad_free_misaligned(void)
{
    const struct live_block *b = random_live_block();

    if (b == NULL)
        return true;
    size_t shift = 1 + random_below(7);
    if (is_page(b->ptr))
        return refused_as_expected(b->ptr + shift, HEAP_INSIDE_BLOCK);
    unsigned char *ptr = random_below(2) ? b->ptr + shift : b->ptr - shift;
    return refused_as_expected(ptr, HEAP_INVALID_POINTER);
}

/*
 * A pointer no region's blocks hold, for region [start, end): before or
 * after it, in its frame table (whose first entry is the one of the region's
 * first frame), in the kernel's data or stack, near address 0. Outside the
 * table, neither the pointer nor a small block's header before it may lie
 * in any region. 0 when there is no such pointer this time.
 */
static uintptr_t outside_pointer(uintptr_t start, uintptr_t end)
{
    uintptr_t distance = HEAP_HEADER_BYTES * (1 + random_below(64)), header;
    uintptr_t table = (uintptr_t)heap_frame_entry(start);

    switch (random_below(6)) {
    case 0: header = start - distance; break;
    case 1: header = end + distance - HEAP_HEADER_BYTES; break;
    case 2: header = (uintptr_t)&test; break;
    case 3: header = (uintptr_t)__builtin_frame_address(0); break;
    case 4: return table == 0 ? 0 : table + random_next() % (end - table);
    default: header = random_below(64); break;
    }
    uintptr_t ptr = header + HEAP_HEADER_BYTES;
    return region_holds(header, header + 1) || region_holds(ptr, ptr + 1) ? 0 : ptr;
}

static bool bad_free_outside(void)
{
    uintptr_t start, end;
    struct heap_stats stats;

    heap_get_stats(&stats);
    if (stats.regions == 0 || !heap_region(random_below(stats.regions), &start, &end))
        return true;
    uintptr_t ptr = outside_pointer(start, end);
    return ptr == 0 || refused_as_expected((void *)ptr, HEAP_INVALID_POINTER);
}

/* A state byte that no header and no frame table entry ever has. */
static uint8_t unknown_state(void)
{
    static const uint8_t known[] = {HEAP_FRAME_NONE, HEAP_BLOCK_FREE, HEAP_BLOCK_ALLOCATED,
                                    HEAP_BLOCK_SLAB, HEAP_FRAME_SMALL, HEAP_FRAME_TAIL,
                                    HEAP_BLOCK_QUARANTINED};
    uint8_t state = (uint8_t)random_next();

    for (size_t i = 0; i < sizeof known; i++)
        if (state == known[i])
            return 0x77;
    return state;
}

/*
 * Damage header h one way and return what heap_free must then say. A wrong
 * check value or a scale out of range is a corrupted header; a header that
 * says free (its check still right) a double free; an unknown state means
 * no header at all in band, a corrupted entry in the frame table.
 */
static enum heap_status damage(struct block_header *h, bool page)
{
    switch (random_below(5)) {
    case 0: h->check ^= (uint16_t)(1u << random_below(16)); return HEAP_CORRUPTED_HEADER;
    case 1: h->scale = 200; return HEAP_CORRUPTED_HEADER;
    case 2: h->scale = (uint8_t)(page ? HEAP_PAGE_SCALE - 1 : heap_min_scale() - 1);
            return HEAP_CORRUPTED_HEADER;
    case 3: h->state = unknown_state(); return page ? HEAP_CORRUPTED_HEADER : HEAP_INVALID_POINTER;
    default: h->state = HEAP_BLOCK_FREE; return HEAP_DOUBLE_FREE;
    }
}

/* A live block whose header (a page block's frame table entry) was damaged. Put back after. */
static bool bad_free_damaged_header(void)
{
    const struct live_block *b = random_live_block();

    if (b == NULL)
        return true;
    struct block_header *header = (struct block_header *)(b->ptr - HEAP_HEADER_BYTES);
    if (is_page(b->ptr))
        header = heap_frame_entry((uintptr_t)b->ptr);
    if (header == NULL)
        return fail("a page block %p without a frame table entry", (void *)b->ptr);
    struct block_header saved = *header;
    enum heap_status want = damage(header, is_page(b->ptr));
    bool ok = refused_as_expected(b->ptr, want);
    *header = saved;
    return ok;
}

/* A later page of a live page block: its own, not its start. */
static bool bad_free_later_page(void)
{
    const struct live_block *b = random_live_block_of(true);
    size_t pages = b == NULL ? 0 : b->kept / HEAP_PAGE_BYTES;

    if (pages < 2)
        return true;
    unsigned char *page = b->ptr + HEAP_PAGE_BYTES * (1 + random_below(pages - 1));
    return refused_as_expected(page, HEAP_INSIDE_BLOCK);
}

/*
 * The start of the frame a live small block lies in: carved into small
 * blocks, so no page block starts there ("page never handed out"), even
 * when the small block itself starts there. Only where that frame lies in
 * the block's region (a region may start in mid-frame) and has an entry.
 */
static bool bad_free_small_frame(void)
{
    const struct live_block *b = random_live_block_of(false);

    if (b == NULL)
        return true;
    uintptr_t frame = block_start(b->ptr) / HEAP_PAGE_BYTES * HEAP_PAGE_BYTES;
    if (!region_holds(frame, (uintptr_t)b->ptr + b->size) || heap_frame_entry(frame) == NULL)
        return true;
    return refused_as_expected((void *)frame, HEAP_NOT_HANDED_OUT);
}

/* ---- slabs: a marked page block is nobody's to free -------------------------- */

/* heap_mark_slab(ptr, slab) must answer want, and change no statistic either way. */
static bool marked_as_expected(unsigned char *ptr, int slab, enum heap_status want)
{
    struct heap_stats before, after;

    heap_get_stats(&before);
    enum heap_status got = heap_mark_slab(ptr, slab);
    heap_get_stats(&after);
    test.operations++;
    if (got != want)
        return fail("heap_mark_slab(%p, %d) said \"%s\", not \"%s\"", (void *)ptr, slab,
                    heap_status_name(got), heap_status_name(want));
    if (!heap_stats_equal(&before, &after) || before.refused_frees != after.refused_frees)
        return fail("heap_mark_slab(%p, %d) changed the heap's statistics", (void *)ptr, slab);
    return true;
}

/* heap_slab_of a random byte of live page block b: b's start while it is a slab, else 0. */
static bool slab_of_agrees(const struct live_block *b, bool slab)
{
    const unsigned char *at = b->ptr + random_below(b->kept);
    uintptr_t want = slab ? (uintptr_t)b->ptr : 0;

    if (heap_slab_of(at) == want)
        return true;
    return fail("heap_slab_of(%p) is %p, not %p", (const void *)at, (void *)heap_slab_of(at),
                (void *)want);
}

/* A later page of b, or b itself when it has one page. */
static unsigned char *some_later_page(const struct live_block *b)
{
    size_t pages = b->kept / HEAP_PAGE_BYTES;

    return pages < 2 ? b->ptr : b->ptr + HEAP_PAGE_BYTES * (1 + random_below(pages - 1));
}

/*
 * While b is a slab: ksize and heap_block_of deny it, freeing its start or
 * any byte of it is refused, so is marking it again; unmarking it from a
 * later page is "inside a block".
 */
static bool slab_refuses(const struct live_block *b)
{
    unsigned char *later = some_later_page(b);

    if (ksize(b->ptr) != 0 || heap_block_of(b->ptr) != 0)
        return fail("ksize or heap_block_of of the slab %p is not 0", (void *)b->ptr);
    return refused_as_expected(b->ptr, HEAP_SLAB_MEMORY)
        && refused_as_expected(b->ptr + 1 + random_below(b->kept - 1), HEAP_SLAB_MEMORY)
        && marked_as_expected(b->ptr, 1, HEAP_SLAB_MEMORY)
        && (later == b->ptr || marked_as_expected(later, 0, HEAP_INSIDE_BLOCK));
}

/*
 * Mark a live page block as a slab, see every refusal, unmark it: then it
 * is an ordinary block again, ksize as before. Marking a small block, a
 * later page, or unmarking a block that is no slab, is refused first.
 */
static bool bad_free_slab(void)
{
    const struct live_block *small = random_live_block_of(false);
    const struct live_block *b = random_live_block_of(true);

    if (small != NULL && !marked_as_expected(small->ptr, 1, HEAP_INVALID_POINTER))
        return false;
    if (b == NULL)
        return true;
    unsigned char *later = some_later_page(b);
    bool ok = (later == b->ptr || marked_as_expected(later, 1, HEAP_INSIDE_BLOCK))
        && marked_as_expected(b->ptr, 0, HEAP_INVALID_POINTER) && slab_of_agrees(b, false)
        && marked_as_expected(b->ptr, 1, HEAP_OK) && slab_of_agrees(b, true) && slab_refuses(b)
        && marked_as_expected(b->ptr, 0, HEAP_OK) && slab_of_agrees(b, false);
    if (ok && ksize(b->ptr) != b->kept)
        return fail("ksize of the unmarked slab %p is %zu, not %zu", (void *)b->ptr,
                    ksize(b->ptr), b->kept);
    return ok;
}

/* The kinds of bad free, tried equally often; each must be refused at least once in a run. */
static const struct bad_free_kind {
    const char *name;
    bool (*attempt)(void);
} bad_free_kinds[BAD_FREE_KINDS] = {
    {"double", bad_free_twice},
    {"interior", bad_free_interior},
    {"misaligned", bad_free_misaligned},
    {"outside", bad_free_outside},
    {"damaged", bad_free_damaged_header},
    {"later page", bad_free_later_page},
    {"small frame", bad_free_small_frame},
    {"slab", bad_free_slab},
};

static bool op_bad_free(void)
{
    test.kind = random_below(BAD_FREE_KINDS);
    return bad_free_kinds[test.kind].attempt();
}

/* Was every kind of bad free tried and refused? A kind never tried tested nothing. */
static bool every_kind_refused(void)
{
    for (unsigned k = 0; k < BAD_FREE_KINDS; k++)
        if (test.refused_by_kind[k] == 0)
            return fail("no bad free of the kind \"%s\" was tried", bad_free_kinds[k].name);
    return true;
}

static void print_kinds(void)
{
    kprintf("selftest: bad frees refused by kind:");
    for (unsigned k = 0; k < BAD_FREE_KINDS; k++)
        kprintf("%s %s %lu", k == 0 ? "" : ",", bad_free_kinds[k].name, test.refused_by_kind[k]);
    kprintf("\n");
}

/* ---- the run ------------------------------------------------------------------- */

/* One random operation: 1% bad frees, 40% allocations, 32% frees, 27% resizes. */
static bool random_operation(void)
{
    uint32_t dice = random_below(100);
    bool table_full = test.live_count == LIVE_SLOTS, table_empty = test.live_count == 0;

    if (dice < 1)
        return op_bad_free();
    if ((dice < 41 && !table_full) || table_empty) {
        void *(*allocate)(size_t) = random_below(10) == 0 ? allocate_by_krealloc : kmalloc;
        return op_allocate(allocate, random_request());
    }
    size_t i = random_below(test.live_count);
    if (dice < 73 || table_full)
        return random_below(20) == 0 ? op_free_by_krealloc(i) : op_free(i);
    size_t size = random_request();
    return size == 0 ? op_free_by_krealloc(i) : op_reallocate(i, size);
}

/*
 * Take the largest free block again and again until none is left or the
 * table is full; then one byte more than the largest free block must fail.
 * Then free those blocks again, and about half of the others, so that the
 * churn goes on in a heap with room in it.
 */
static bool fill_heap_then_free_half(void)
{
    size_t before = test.live_count;
    bool ok = true;

    while (ok && test.live_count < LIVE_SLOTS && largest_payload() > 0)
        ok = op_allocate(kmalloc, largest_payload());
    ok = ok && op_allocate(kmalloc, largest_payload() + 1);
    for (size_t i = test.live_count; ok && i-- > 0;)
        if (i >= before || random_below(2) == 0)
            ok = op_free(i);
    return ok;
}

static void print_progress(void)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    kprintf("selftest: %lu operations, %zu blocks live (%zu KiB), %zu KiB free, %u%% fragmented\n",
            test.operations, test.live_count, test.live_bytes / 1024, stats.free_bytes / 1024,
            stats.fragmentation_percent);
}

/* One step of the main loop: an operation, the counters, and the periodic extras. */
static bool step(unsigned long n)
{
    if (!random_operation() || !counters_match())
        return false;
    if (n % CHECK_EVERY == 0 && !heap_intact())
        return false;
    if (n % EXHAUST_EVERY == 0 && !(fill_heap_then_free_half() && counters_match()))
        return false;
    if (n % PROGRESS_EVERY == 0)
        print_progress();
    return true;
}

static void selftest_start(uint32_t seed)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    test.random = seed ^ 0x2545f491u;
    if (test.random == 0)
        test.random = 0x2545f491u;
    test.next_serial = 1;
    test.live_count = test.live_bytes = test.peak_live_bytes = 0;
    for (unsigned i = 0; i < FREED_SLOTS; i++)
        test.freed[i] = 0;
    test.freed_next = 0;
    test.operations = test.bad_frees = test.checks = 0;
    for (unsigned k = 0; k < BAD_FREE_KINDS; k++)
        test.refused_by_kind[k] = 0;
    test.expected = (struct expected_counters){stats.allocations, stats.frees,
        stats.failed_allocations, stats.refused_frees, stats.requested_bytes,
        stats.allocated_bytes};
    for (unsigned scale = 0; scale <= HEAP_MAX_SCALE; scale++)
        test.boot_free_count[scale] = heap_free_count(scale);
    test.failure[0] = '\0';
    kprintf("selftest: seed 0x%08x, %u random operations on %zu KiB in %u regions\n", seed,
            OPERATIONS, stats.managed_bytes / 1024, stats.regions);
}

static bool free_everything(void)
{
    bool ok = true;

    while (ok && test.live_count > 0)
        ok = op_free(test.live_count - 1);
    return ok;
}

/* Every free list as long as at the start: all merges done, nothing leaked. */
static bool heap_back_to_start(void)
{
    for (unsigned scale = 0; scale <= HEAP_MAX_SCALE; scale++)
        if (heap_free_count(scale) != test.boot_free_count[scale])
            return fail("after freeing everything scale %u has %zu free blocks, not %zu", scale,
                        heap_free_count(scale), test.boot_free_count[scale]);
    return true;
}

int heap_selftest(uint32_t seed)
{
    heap_set_sampler(NULL);         /* no guarded objects: the exact checks need the buddy heap's */
    selftest_start(seed);
    bool ok = heap_intact();
    for (unsigned long n = 1; ok && n <= OPERATIONS; n++)
        ok = step(n);
    ok = ok && free_everything() && counters_match() && heap_intact() && heap_back_to_start()
        && every_kind_refused();
    if (!ok) {
        kprintf("selftest: FAIL: %s\n", test.failure);
        return 1;
    }
    print_kinds();
    kprintf("selftest: PASS (%lu operations, %lu bad frees refused, %lu checks, "
            "largest live %zu KiB)\n", test.operations, test.bad_frees, test.checks,
            test.peak_live_bytes / 1024);
    return 0;
}
