/*
 * model.c - the reference model behind the differential test and the fuzzer
 * (see model.h). It keeps the live blocks with the size asked for and a
 * pattern tag, predicts every heap call's result and statistics, and checks
 * each block's pattern before it is freed or resized; in debug mode also
 * which blocks wait in the quarantine, in FIFO order. Host code: uses libc.
 * It does not look inside heap.c; only a bad free damages a block header
 * (a small block's in band, a page block's through heap_frame_entry).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"


/* ---- failures ------------------------------------------------------------------ */

static bool fail(struct model *m, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Keep the first failure, prefixed with the operation number. Returns false. */
static bool fail(struct model *m, const char *format, ...)
{
    va_list args;

    if (m->failure[0] != '\0')
        return false;
    int n = snprintf(m->failure, sizeof m->failure, "operation %lu: ", m->operations);
    va_start(args, format);
    vsnprintf(m->failure + n, sizeof m->failure - (size_t)n, format, args);
    va_end(args);
    return false;
}

static bool failed(const struct model *m) { return m->failure[0] != '\0'; }

/* ---- the refusal handler: what kfree and krealloc reported --------------------- */

static struct {
    size_t count;
    const char *function, *cache;
    const void *ptr, *caller;
    enum heap_status why;
} heard;

static void hear_refusal(const struct heap_refusal *refusal)
{
    heard.count++;
    heard.function = refusal->function;
    heard.cache = refusal->cache;
    heard.ptr = refusal->ptr;
    heard.why = refusal->why;
    heard.caller = refusal->caller;
}

/* ---- the debug report handler: the model's blocks never give it a reason ------- */

static struct {
    size_t count;
    struct heap_debug_report last;
} reported;

static void hear_report(const struct heap_debug_report *report)
{
    reported.count++;
    reported.last = *report;
}

/* ---- the pattern --------------------------------------------------------------- */

/*
 * Word i of the block with tag t holds pattern_word(t, i); the tail bytes
 * take the first bytes of word (size / 8). Tags differ in their upper 32
 * bits, so no block's pattern reappears at another block or offset. Every
 * byte has bit 7 set and bit 5 clear: never 0x5f or 0xa1, the states of a
 * block header, so a pointer into a pattern can never find a header there.
 */
static uint64_t pattern_word(uint64_t tag, size_t i)
{
    uint64_t x = ((tag << 32) ^ (uint64_t)i) * 0x9e3779b97f4a7c15u;

    x ^= x >> 29;
    return (x | 0x8080808080808080u) & ~0x2020202020202020u;
}

/*
 * The word after word i that carries the pattern: every one of the first
 * m->dense_bytes, then one in 64 (see model.h).
 */
static size_t next_word(const struct model *m, size_t i)
{
    return 8 * (i + 1) < m->dense_bytes ? i + 1 : i + 64;
}

static void pattern_fill(const struct model *m, const struct model_block *b)
{
    size_t words = b->size / 8;

    for (size_t i = 0; i < words; i = next_word(m, i)) {
        uint64_t word = pattern_word(b->tag, i);
        memcpy(b->ptr + 8 * i, &word, 8);
    }
    uint64_t tail = pattern_word(b->tag, words);
    memcpy(b->ptr + 8 * words, &tail, b->size % 8);
}

/* The first byte of the n bytes at a that differs from b, or n. */
static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t i = 0;

    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* The first of the first length bytes at `at` that differs from block b's pattern, or SIZE_MAX. */
static size_t pattern_mismatch(const struct model *m, const struct model_block *b,
                               const unsigned char *at, size_t length)
{
    size_t words = length / 8;

    for (size_t i = 0; i < words; i = next_word(m, i)) {
        uint64_t want = pattern_word(b->tag, i), got;
        memcpy(&got, at + 8 * i, 8);
        if (got != want)
            return 8 * i + first_difference(at + 8 * i, (const unsigned char *)&want, 8);
    }
    if (length != b->size && 8 * words + 8 > m->dense_bytes)
        return SIZE_MAX;            /* a word the sparse pattern skips: nothing to compare */
    uint64_t tail = pattern_word(b->tag, words);
    size_t n = length % 8, i = first_difference(at + 8 * words, (const unsigned char *)&tail, n);
    return i < n ? 8 * words + i : SIZE_MAX;
}

/* Does `at` (where block b lives now) still hold the first length bytes of b's pattern? */
static bool contents_intact(struct model *m, const struct model_block *b, const unsigned char *at,
                            size_t length)
{
    size_t offset = pattern_mismatch(m, b, at, length);

    if (offset == SIZE_MAX)
        return true;
    return fail(m, "the %zu-byte block %p lost its contents at offset %zu (now at %p)", b->size,
                (void *)b->ptr, offset, (const void *)at);
}

/* Are the n bytes at p zero (the words m checks, and the tail)? */
static bool all_zero(const struct model *m, const unsigned char *p, size_t n)
{
    uint64_t word;

    for (size_t i = 0; i < n / 8; i = next_word(m, i)) {
        memcpy(&word, p + 8 * i, 8);
        if (word != 0)
            return false;
    }
    for (size_t i = n / 8 * 8; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* ---- what the heap must do ----------------------------------------------------- */

#define PAGE HEAP_PAGE_BYTES

/*
 * What debug mode adds to every request, 0 with debugging off (model_start
 * reads the mode): a request is sized as one of size + slack bytes.
 */
static size_t slack;

static bool is_page(const void *ptr) { return (uintptr_t)ptr % PAGE == 0; }

/* The largest request a small block serves; anything larger is a page block. */
static size_t small_limit(void) { return heap_scale_payload(HEAP_PAGE_SCALE - 1) - slack; }

static size_t largest_free(void)
{
    struct heap_stats s;

    heap_get_stats(&s);
    return s.largest_free_block;
}

/*
 * The free block a request needs: the smallest power of two holding it and
 * a header for a small block; for a page block the smallest power of two
 * holding it, a page at least. 0 for a request no heap can serve.
 */
static size_t block_for_request(size_t size)
{
    bool page = size > small_limit();
    size_t bytes = page ? PAGE : (size_t)1 << heap_min_scale();
    size_t header = page ? 0 : HEAP_HEADER_BYTES;

    if (size == 0 || size > HEAP_MAX_REQUEST - slack)
        return 0;
    size += slack;
    while (bytes - header < size && bytes < (size_t)1 << HEAP_MAX_SCALE)
        bytes *= 2;
    return bytes - header >= size ? bytes : 0;
}

/* The bytes a fresh block for this request keeps: a page block keeps only the pages it needs. */
static size_t bytes_kept(size_t size)
{
    return size > small_limit() ? (size + slack + PAGE - 1) / PAGE * PAGE
                                : block_for_request(size);
}

/* A buddy heap serves a request whenever some free block is big enough. */
static bool request_fits(size_t size)
{
    size_t needed = block_for_request(size);

    return needed != 0 && needed <= largest_free();
}

/* Where a live block starts: its header for a small one, its pointer for a page block. */
static uintptr_t block_start(const void *ptr)
{
    return is_page(ptr) ? (uintptr_t)ptr : (uintptr_t)ptr - HEAP_HEADER_BYTES;
}

/* The bytes of a live block: from ksize, or in debug mode (ksize is the request) its block's. */
static size_t block_bytes_of(const void *ptr)
{
    struct heap_block_info info;

    if (slack != 0 && heap_block_info(ptr, &info))
        return info.pages != 0 ? info.pages * PAGE : (size_t)1 << info.scale;
    return is_page(ptr) ? ksize(ptr) : ksize(ptr) + HEAP_HEADER_BYTES;
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

/*
 * A pointer the heap just handed out: aligned, of its kind (a small payload
 * never page-aligned, a page block always), big enough, inside one region.
 */
static bool placed_well(struct model *m, const unsigned char *ptr, size_t size)
{
    uintptr_t a = (uintptr_t)ptr;

    if (a % HEAP_ALIGNMENT != 0)
        return fail(m, "%p is not aligned to %d bytes", (const void *)ptr, HEAP_ALIGNMENT);
    if (size > small_limit() && !is_page(ptr))
        return fail(m, "a %zu-byte request got %p, not page-aligned", size, (const void *)ptr);
    if (slack != 0 ? ksize(ptr) != size : ksize(ptr) < size)
        return fail(m, "ksize(%p) is %zu for the %zu bytes asked for", (const void *)ptr,
                    ksize(ptr), size);
    if (!region_holds(block_start(ptr), block_start(ptr) + block_bytes_of(ptr)))
        return fail(m, "the block at %p is not inside one region", (const void *)ptr);
    return true;
}

/*
 * heap_block_info of a live block's first and last bytes: its start, its
 * payload, its bytes, allocated, the size asked for, and the callers debug
 * mode keeps (the allocating one only), none with debugging off.
 */
static bool info_agrees(struct model *m, const unsigned char *ptr, size_t size)
{
    struct heap_block_info first = {0}, last = {0};
    uintptr_t start = block_start(ptr);
    size_t bytes = block_bytes_of(ptr);

    if (!heap_block_info((void *)start, &first)
        || !heap_block_info((void *)(start + bytes - 1), &last)
        || memcmp(&first, &last, sizeof first) != 0)
        return fail(m, "heap_block_info does not find the block at %p from its ends", (void *)ptr);
    size_t info_bytes = first.pages != 0 ? first.pages * PAGE : (size_t)1 << first.scale;
    if (first.start != start || first.payload != (uintptr_t)ptr || info_bytes != bytes
        || first.state != HEAP_BLOCK_ALLOCATED || first.requested != size)
        return fail(m, "heap_block_info(%p) says start %#lx, %zu bytes, state %#x, %zu asked for",
                    (void *)ptr, (unsigned long)first.start, info_bytes, (unsigned)first.state,
                    first.requested);
    if ((first.alloc_caller != NULL) != (m->debug != 0) || first.free_caller != NULL)
        return fail(m, "heap_block_info(%p) gives callers %p and %p", (void *)ptr,
                    first.alloc_caller, first.free_caller);
    return true;
}

/*
 * A fresh block is the smallest that fits: the buddy heap's promise. A page
 * block keeps exactly its pages and is aligned to the power of two holding them.
 */
static bool sized_tightly(struct model *m, const unsigned char *ptr, size_t size)
{
    if (is_page(ptr) != (size > small_limit()))
        return fail(m, "a %zu-byte request got %p, %spage-aligned", size, (const void *)ptr,
                    is_page(ptr) ? "" : "not ");
    if (block_bytes_of(ptr) != bytes_kept(size))
        return fail(m, "a %zu-byte request got a %zu-byte block, not %zu", size,
                    block_bytes_of(ptr), bytes_kept(size));
    if (is_page(ptr) && (uintptr_t)ptr % block_for_request(size) != 0)
        return fail(m, "a %zu-byte request got %p, not aligned to %zu", size, (const void *)ptr,
                    block_for_request(size));
    return true;
}

/* ---- the quarantine, as debug mode must keep it ----------------------------------- */

static size_t quarantine_budget(const struct model *m)
{
    return m->expected.managed_bytes / HEAP_QUARANTINE_SHARE;
}

/* A block of `bytes` at ptr was freed: it joins the quarantine, unless off or too big. */
static void quarantine_expect(struct model *m, const void *ptr, size_t bytes)
{
    struct model_quarantine *q = &m->quarantine;

    if ((m->debug & HEAP_DEBUG_QUARANTINE) == 0 || bytes > quarantine_budget(m))
        return;
    unsigned at = (q->oldest + q->count++) % (HEAP_QUARANTINE_BLOCKS + 1);
    q->block[at] = block_start(ptr);
    q->bytes[at] = bytes;
    q->total += bytes;
}

/*
 * After each call: the heap may have let blocks go, only ever the oldest
 * (FIFO), so drop as many as its count fell short; then the bytes, the
 * bounds, and (sometimes) each block's state must agree.
 */
static bool quarantine_agrees(struct model *m, const struct heap_stats *s, bool each)
{
    struct model_quarantine *q = &m->quarantine;
    struct heap_block_info info;

    if (s->quarantined_blocks > q->count)
        return fail(m, "the quarantine holds %zu blocks, not %u at most", s->quarantined_blocks,
                    q->count);
    for (; q->count > s->quarantined_blocks; q->count--) {
        q->total -= q->bytes[q->oldest];
        q->oldest = (q->oldest + 1) % (HEAP_QUARANTINE_BLOCKS + 1);
    }
    if (s->quarantined_bytes != q->total || q->count > HEAP_QUARANTINE_BLOCKS
        || q->total > quarantine_budget(m))
        return fail(m, "the quarantine holds %zu bytes, not %zu (at most %zu)",
                    s->quarantined_bytes, q->total, quarantine_budget(m));
    for (unsigned i = 0; each && i < q->count; i++) {
        uintptr_t block = q->block[(q->oldest + i) % (HEAP_QUARANTINE_BLOCKS + 1)];
        if (!heap_block_info((void *)block, &info) || info.state != HEAP_BLOCK_QUARANTINED
            || info.start != block || info.free_caller == NULL)
            return fail(m, "the block at %#lx is not the quarantined block %u",
                        (unsigned long)block, i);
    }
    return true;
}

/* No block the model holds may ever be reported damaged. */
static bool nothing_reported(struct model *m)
{
    const struct heap_debug_report *r = &reported.last;

    if (reported.count == 0)
        return true;
    return fail(m, "the heap reported %s in the block at %#lx: byte %zu is 0x%02x, not 0x%02x",
                r->kind == HEAP_USE_AFTER_FREE ? "a use after free" : "an out-of-bounds write",
                (unsigned long)r->block, r->offset, r->found, r->expected);
}

static bool stats_agree(struct model *m)
{
    const struct heap_stats *e = &m->expected;
    struct heap_stats s;

    heap_get_stats(&s);
    if (!quarantine_agrees(m, &s, false) || !nothing_reported(m))
        return false;
    if (s.allocations != e->allocations || s.frees != e->frees)
        return fail(m, "allocations/frees are %zu/%zu, not %zu/%zu", s.allocations, s.frees,
                    e->allocations, e->frees);
    if (s.failed_allocations != e->failed_allocations || s.refused_frees != e->refused_frees)
        return fail(m, "failed allocations/refused frees are %zu/%zu, not %zu/%zu",
                    s.failed_allocations, s.refused_frees, e->failed_allocations, e->refused_frees);
    if (s.requested_bytes != e->requested_bytes)
        return fail(m, "requested_bytes is %zu, not %zu", s.requested_bytes, e->requested_bytes);
    size_t free_bytes = s.managed_bytes - m->block_bytes - s.quarantined_bytes;
    if (s.managed_bytes != e->managed_bytes || s.allocated_bytes != m->block_bytes
        || s.free_bytes != free_bytes)
        return fail(m, "managed/allocated/free bytes are %zu/%zu/%zu, not %zu/%zu/%zu",
                    s.managed_bytes, s.allocated_bytes, s.free_bytes, e->managed_bytes,
                    m->block_bytes, free_bytes);
    if (heard.count != m->refusals_heard)
        return fail(m, "the refusal handler was called %zu times, not %zu", heard.count,
                    m->refusals_heard);
    return true;
}

static bool heap_check_passes(struct model *m)
{
    struct heap_violation found;

    if (heap_check_report(&found) == 0)
        return true;
    return fail(m, "heap_check: %s at %#lx, scale %u", found.what, (unsigned long)found.address,
                found.scale);
}

/* ---- the table of live blocks and of recently freed pointers ------------------- */

static void freed_remember(struct model *m, const void *ptr)
{
    m->freed[m->freed_next] = (uintptr_t)ptr;
    m->freed_next = (m->freed_next + 1) % MODEL_FREED_SLOTS;
}

/*
 * What a freed pointer's refusal rests on: a small block's header just
 * before it, a page block's frame (its entry in the frame table).
 */
static uintptr_t freed_evidence(uintptr_t ptr, uintptr_t *end)
{
    *end = ptr % PAGE == 0 ? ptr + PAGE : ptr;
    return ptr % PAGE == 0 ? ptr : ptr - HEAP_HEADER_BYTES;
}

/*
 * A block now at [start, end) may have overwritten a freed small block's
 * header or taken a freed page block's frame: heap_free would no longer call
 * that pointer a double free, so forget it.
 */
static void freed_forget_overlaps(struct model *m, uintptr_t start, uintptr_t end)
{
    for (unsigned i = 0; i < MODEL_FREED_SLOTS; i++) {
        uintptr_t last, first = freed_evidence(m->freed[i], &last);
        if (m->freed[i] != 0 && last > start && first < end)
            m->freed[i] = 0;
    }
}

/* Slot i now holds a block at ptr: a new tag, its pattern written. */
static void live_set(struct model *m, size_t i, unsigned char *ptr, size_t size)
{
    m->live[i] = (struct model_block){ptr, size, ksize(ptr), block_bytes_of(ptr), m->next_tag++,
                                      false};
    pattern_fill(m, &m->live[i]);
    freed_forget_overlaps(m, block_start(ptr), block_start(ptr) + m->live[i].block_bytes);
    m->block_bytes += m->live[i].block_bytes;
}

static void live_remove(struct model *m, size_t i)
{
    m->block_bytes -= m->live[i].block_bytes;
    m->live[i] = m->live[--m->live_count];
}

static bool table_full(const struct model *m) { return m->live_count == m->live_capacity; }

/* ---- allocating ---------------------------------------------------------------- */

/*
 * A call that had to find room but failed: in debug mode only with the
 * quarantine drained (of a request some block could hold).
 */
static bool failed_for_want_of_room(struct model *m, size_t size, const char *call)
{
    struct heap_stats s;

    heap_get_stats(&s);
    if (s.quarantined_blocks != 0 && block_for_request(size) != 0)
        return fail(m, "%s(%zu) failed with %zu blocks still in the quarantine", call, size,
                    s.quarantined_blocks);
    m->expected.failed_allocations++;
    return stats_agree(m);
}

/*
 * Check what an allocation call returned, given whether it had to succeed
 * (and, without, whether it could: a quarantined block may merge for it).
 */
static bool allocation_outcome(struct model *m, unsigned char *ptr, size_t size, bool must_fit,
                               const char *call)
{
    bool could_fit = must_fit || m->quarantine.count != 0;

    if (ptr == NULL && must_fit)
        return fail(m, "%s(%zu) returned NULL with a %zu-byte block free", call, size,
                    largest_free());
    if (ptr != NULL && !could_fit)
        return fail(m, "%s(%zu) returned %p though no free block fits", call, size, (void *)ptr);
    if (ptr == NULL)
        return failed_for_want_of_room(m, size, call);
    if (!placed_well(m, ptr, size) || !sized_tightly(m, ptr, size) || !info_agrees(m, ptr, size))
        return false;
    m->expected.allocations++;
    m->expected.requested_bytes += size;
    live_set(m, m->live_count++, ptr, size);
    return stats_agree(m);
}

bool model_malloc(struct model *m, size_t size)
{
    if (failed(m) || table_full(m))
        return !failed(m);
    m->operations++;
    bool must_fit = request_fits(size);
    return allocation_outcome(m, kmalloc(size), size, must_fit, "kmalloc");
}

bool model_realloc_null(struct model *m, size_t size)
{
    if (failed(m) || table_full(m))
        return !failed(m);
    m->operations++;
    bool must_fit = request_fits(size);
    return allocation_outcome(m, krealloc(NULL, size), size, must_fit, "krealloc(NULL)");
}

bool model_calloc(struct model *m, size_t count, size_t size)
{
    if (failed(m) || table_full(m))
        return !failed(m);
    m->operations++;
    bool overflows = size != 0 && count > SIZE_MAX / size;
    size_t total = overflows ? 0 : count * size;
    bool must_fit = !overflows && request_fits(total);
    unsigned char *ptr = kcalloc(count, size);
    if (ptr != NULL && overflows)
        return fail(m, "kcalloc(%zu, %zu) overflows but returned %p", count, size, (void *)ptr);
    if (ptr != NULL && !all_zero(m, ptr, total))
        return fail(m, "kcalloc(%zu, %zu) returned %p not all zero", count, size, (void *)ptr);
    return allocation_outcome(m, ptr, total, must_fit, "kcalloc");
}

/* ---- freeing and resizing ------------------------------------------------------ */

/* Slot i was given back: count it, remember the pointer for double frees, drop it. */
static bool live_freed(struct model *m, size_t i)
{
    m->expected.frees++;
    m->expected.requested_bytes -= m->live[i].size;
    freed_remember(m, m->live[i].ptr);
    live_remove(m, i);
    return stats_agree(m);
}

static bool slab_released(struct model *m, size_t i, enum model_route route, size_t size);

bool model_free(struct model *m, size_t index, enum model_route route)
{
    if (failed(m) || m->live_count == 0)
        return !failed(m);
    size_t i = index % m->live_count;
    if (m->live[i].slab && !slab_released(m, i, route, 0))
        return false;
    m->operations++;
    const struct model_block *b = &m->live[i];
    if (!contents_intact(m, b, b->ptr, b->size))
        return false;
    if (route == MODEL_BY_HEAP_FREE) {
        enum heap_status status = heap_free(b->ptr);
        if (status != HEAP_OK)
            return fail(m, "heap_free(%p) refused a live block: %s", (void *)b->ptr,
                        heap_status_name(status));
    } else if (route == MODEL_BY_KFREE) {
        kfree(b->ptr);
    } else if (krealloc(b->ptr, 0) != NULL) {
        return fail(m, "krealloc(%p, 0) did not return NULL", (void *)b->ptr);
    }
    quarantine_expect(m, b->ptr, b->block_bytes);
    return live_freed(m, i);
}

/* Freeing NULL does nothing; krealloc(NULL, 0) is kmalloc(0), a failed allocation. */
bool model_free_null(struct model *m, enum model_route route)
{
    if (failed(m))
        return false;
    m->operations++;
    if (route == MODEL_BY_HEAP_FREE && heap_free(NULL) != HEAP_OK)
        return fail(m, "heap_free(NULL) did not return HEAP_OK");
    if (route == MODEL_BY_KFREE)
        kfree(NULL);
    if (route == MODEL_BY_KREALLOC) {
        if (krealloc(NULL, 0) != NULL)
            return fail(m, "krealloc(NULL, 0) returned a block");
        m->expected.failed_allocations++;
    }
    return stats_agree(m);
}

/* krealloc failed: the block must be where it was, whole, and the failure counted. */
static bool realloc_failed(struct model *m, const struct model_block *old, size_t size,
                           bool must_fit)
{
    if (must_fit)
        return fail(m, "krealloc(%p, %zu) failed though the block fits", (void *)old->ptr, size);
    return contents_intact(m, old, old->ptr, old->size)
        && failed_for_want_of_room(m, size, "krealloc");
}

/*
 * krealloc moved the block: legal only when it did not fit in place (in
 * debug mode it always moves). A new block, the old freed.
 */
static bool realloc_moved(struct model *m, const struct model_block *old, size_t size,
                          bool fit_in_place)
{
    if (fit_in_place && m->debug == 0)
        return fail(m, "krealloc(%p, %zu) moved a block that still fits", (void *)old->ptr, size);
    m->expected.allocations++;
    m->expected.frees++;
    freed_remember(m, old->ptr);
    quarantine_expect(m, old->ptr, old->block_bytes);
    return true;
}

bool model_realloc(struct model *m, size_t index, size_t size)
{
    if (failed(m) || m->live_count == 0)
        return !failed(m);
    if (size == 0)
        return model_free(m, index, MODEL_BY_KREALLOC);
    size_t i = index % m->live_count;
    if (m->live[i].slab && !slab_released(m, i, MODEL_BY_KREALLOC, size))
        return false;
    m->operations++;
    struct model_block old = m->live[i];
    if (!contents_intact(m, &old, old.ptr, old.size))
        return false;
    bool fit_in_place = size <= ksize(old.ptr) && m->debug == 0;
    bool fit_elsewhere = request_fits(size), could_fit = m->quarantine.count != 0;
    unsigned char *ptr = krealloc(old.ptr, size);
    if (ptr == NULL)
        return realloc_failed(m, &old, size, fit_in_place || fit_elsewhere);
    if (ptr == old.ptr && m->debug != 0)
        return fail(m, "krealloc(%p, %zu) kept the block in debug mode", (void *)ptr, size);
    if (ptr != old.ptr && !fit_in_place && !fit_elsewhere && !could_fit)
        return fail(m, "krealloc(%p, %zu) moved to %p though no free block fits",
                    (void *)old.ptr, size, (void *)ptr);
    if (ptr != old.ptr && !realloc_moved(m, &old, size, fit_in_place))
        return false;
    if (!placed_well(m, ptr, size) || (ptr != old.ptr && !sized_tightly(m, ptr, size))
        || !info_agrees(m, ptr, size))
        return false;
    if (!contents_intact(m, &old, ptr, size < old.size ? size : old.size))
        return false;
    m->expected.requested_bytes += size - old.size;
    m->block_bytes -= old.block_bytes;
    live_set(m, i, ptr, size);
    return stats_agree(m);
}

/* ---- bad frees ----------------------------------------------------------------- */

/* Hand ptr back by route; returns the status of the refusal (HEAP_OK if none). */
static enum heap_status hand_back(struct model *m, void *ptr, enum model_route route, size_t size)
{
    size_t before = heard.count;

    if (route == MODEL_BY_HEAP_FREE)
        return heap_free(ptr);
    if (route == MODEL_BY_KFREE)
        kfree(ptr);
    else if (krealloc(ptr, size) != NULL)
        fail(m, "krealloc(%p, %zu) of a bad pointer returned a block", ptr, size);
    if (heard.count == before)
        return HEAP_OK;
    m->refusals_heard++;
    if (heard.ptr != ptr || heard.caller == NULL)
        fail(m, "the refusal handler heard %p from caller %p, not %p", heard.ptr, heard.caller,
             ptr);
    if (strcmp(heard.function, route == MODEL_BY_KFREE ? "kfree" : "krealloc") != 0 ||
        heard.cache != NULL)
        fail(m, "the refusal handler heard it refused by %s, cache %s", heard.function,
             heard.cache != NULL ? heard.cache : "none");
    return heard.why;
}

/* A refused free must leave the heap exactly as it was. */
static bool stats_unchanged(struct model *m, const struct heap_stats *before)
{
    struct heap_stats now;

    heap_get_stats(&now);
    return heap_stats_equal(before, &now)
        || fail(m, "a refused free changed the heap's statistics");
}

static bool refused_as_expected(struct model *m, void *ptr, enum heap_status want,
                                enum model_route route, uint32_t choice)
{
    static const char *const routes[] = {"heap_free", "kfree", "krealloc"};
    struct heap_stats before;

    heap_get_stats(&before);
    m->operations++;
    enum heap_status got = hand_back(m, ptr, route, choice % 4096);
    if (got != want)
        return fail(m, "%s(%p) gave \"%s\", not \"%s\"", routes[route], ptr,
                    heap_status_name(got), heap_status_name(want));
    m->bad_frees++;
    m->expected.refused_frees++;
    return !failed(m) && stats_unchanged(m, &before) && stats_agree(m);
}

static const struct model_block *block_chosen(const struct model *m, uint32_t choice)
{
    return m->live_count == 0 ? NULL : &m->live[choice % m->live_count];
}

/* What any pointer into the live block b (not its own) must get: by its kind. */
static enum heap_status inside_status(const struct model_block *b)
{
    if (b->slab)
        return HEAP_SLAB_MEMORY;
    return is_page(b->ptr) ? HEAP_INSIDE_BLOCK : HEAP_INVALID_POINTER;
}

/* A freed pointer whose header (a page's frame) nothing has taken since, or NULL. */
static void *freed_pointer(const struct model *m, uint32_t choice)
{
    for (unsigned k = 0; k < MODEL_FREED_SLOTS; k++) {
        uintptr_t ptr = m->freed[(choice + k) % MODEL_FREED_SLOTS];
        if (ptr != 0)
            return (void *)ptr;
    }
    return NULL;
}

/*
 * 1 to size-1 bytes into a live block: where a small block's header would
 * be, its pattern is; a page block's later pages are its own.
 */
static void *interior_pointer(const struct model *m, uint32_t choice, enum heap_status *want)
{
    const struct model_block *b = block_chosen(m, choice);

    if (b == NULL || b->size < 2)
        return NULL;
    *want = inside_status(b);
    return b->ptr + 1 + (choice >> 8) % (b->size - 1);
}

/*
 * A live pointer moved by 1 to 8 bytes: a small block's either way (blocks
 * are at least 16-byte aligned), unless that makes a page-aligned pointer,
 * which is a page's business; a page block's only up, into its own page.
 */
static void *misaligned_pointer(const struct model *m, uint32_t choice, enum heap_status *want)
{
    const struct model_block *b = block_chosen(m, choice);

    if (b == NULL)
        return NULL;
    size_t shift = 1 + (choice >> 8) % 8;
    bool up = is_page(b->ptr) || b->slab || ((choice >> 11) & 1);
    unsigned char *ptr = up ? b->ptr + shift : b->ptr - shift;
    *want = inside_status(b);
    if (is_page(ptr) && ptr == b->ptr - HEAP_HEADER_BYTES)
        *want = HEAP_NOT_HANDED_OUT;        /* the page a live small block starts */
    else if (is_page(ptr))
        return NULL;
    return ptr;
}

/*
 * The frame table of the region [start, limit), by heap.h's rule: its first
 * byte (on a frame boundary if one leaves room), or limit when it has none.
 */
static uintptr_t table_start(uintptr_t start, uintptr_t limit)
{
    size_t min = (size_t)1 << heap_min_scale();
    uintptr_t first_whole = (start + PAGE - 1) / PAGE * PAGE;
    size_t entries = (limit - 1) / PAGE - start / PAGE + 1;
    uintptr_t top = limit - (entries * sizeof(struct heap_frame) + min - 1) / min * min;

    if (first_whole + PAGE > limit)
        return limit;
    return top / PAGE * PAGE > start ? top / PAGE * PAGE : top;
}

/*
 * A pointer no region's blocks hold: before or after a region (in a hole, or
 * past the arena), in a region's frame table, in this program's data or
 * stack, or near address 0. A small block's header would lie outside too.
 */
static void *outside_pointer(uint32_t choice)
{
    static int some_data;
    int some_stack = 0;
    uintptr_t start = 0, end = 0, header;
    unsigned regions = 0;

    while (heap_region(regions, &start, &end))
        regions++;
    if (regions == 0 || !heap_region(choice % regions, &start, &end))
        return NULL;
    size_t distance = HEAP_HEADER_BYTES * (1 + (choice >> 11) % 64);
    switch ((choice >> 8) % 6) {
    case 0: header = start - distance; break;
    case 1: header = end + distance - HEAP_HEADER_BYTES; break;
    case 2: header = (uintptr_t)&some_data; break;
    case 3: header = (uintptr_t)&some_stack; break;
    case 4: header = table_start(start, end) + distance % (end - table_start(start, end) + 1);
            return header < end ? (void *)header : NULL;
    default: header = (choice >> 11) % 64; break;
    }
    uintptr_t ptr = header + HEAP_HEADER_BYTES;
    return region_holds(header, header + 1) || region_holds(ptr, ptr + 1) ? NULL : (void *)ptr;
}

/* A state byte that is neither free nor allocated (nor, for an entry, anything known). */
static uint8_t unknown_state(uint32_t choice)
{
    static const uint8_t known[] = {HEAP_FRAME_NONE, HEAP_BLOCK_FREE, HEAP_BLOCK_ALLOCATED,
                                    HEAP_BLOCK_SLAB, HEAP_FRAME_SMALL, HEAP_FRAME_TAIL,
                                    HEAP_BLOCK_QUARANTINED};
    uint8_t state = (uint8_t)choice;

    for (size_t i = 0; i < sizeof known; i++)
        if (state == known[i])
            return 0x77;
    return state;
}

/*
 * The damage done to header h and the status it must get. A wrong check
 * value or a scale out of range is a corrupted header; a header that says
 * free (check still right) is a double free. An unknown state means no
 * header in band, a corrupted entry in the frame table.
 */
static enum heap_status damage(struct block_header *h, bool page, uint32_t choice)
{
    switch (choice % 5) {
    case 0: h->check ^= (uint16_t)(1u << (choice >> 3) % 16); return HEAP_CORRUPTED_HEADER;
    case 1: h->scale = 200; return HEAP_CORRUPTED_HEADER;
    case 2: h->scale = (uint8_t)(page ? HEAP_PAGE_SCALE - 1 : heap_min_scale() - 1);
            return HEAP_CORRUPTED_HEADER;
    case 3: h->state = unknown_state(choice >> 3);
            return page ? HEAP_CORRUPTED_HEADER : HEAP_INVALID_POINTER;
    default: h->state = HEAP_BLOCK_FREE; return HEAP_DOUBLE_FREE;
    }
}

/* Damage a live block's header (a page block's entry), try to free it, repair the header. */
static bool damaged_free(struct model *m, uint32_t choice, enum model_route route)
{
    const struct model_block *b = block_chosen(m, choice);

    if (b == NULL)
        return true;
    struct block_header *header = is_page(b->ptr)
        ? heap_frame_entry((uintptr_t)b->ptr) : (struct block_header *)(b->ptr - HEAP_HEADER_BYTES);
    struct block_header saved = *header;
    enum heap_status want = damage(header, is_page(b->ptr), choice >> 8);
    bool ok = refused_as_expected(m, b->ptr, want, route, choice);
    *header = saved;
    return ok;
}

/* A bad pointer of this kind and the status it must get; NULL when there is none now. */
static void *bad_pointer(const struct model *m, enum model_bad_free kind, uint32_t choice,
                         enum heap_status *want)
{
    *want = kind == MODEL_FREE_TWICE ? HEAP_DOUBLE_FREE : HEAP_INVALID_POINTER;
    switch (kind) {
    case MODEL_FREE_TWICE: return freed_pointer(m, choice);
    case MODEL_FREE_INTERIOR: return interior_pointer(m, choice, want);
    case MODEL_FREE_MISALIGNED: return misaligned_pointer(m, choice, want);
    default: return outside_pointer(choice);
    }
}

bool model_bad_free(struct model *m, enum model_bad_free kind, uint32_t choice,
                    enum model_route route)
{
    enum heap_status want;
    void *ptr;

    if (failed(m))
        return false;
    if (kind == MODEL_FREE_DAMAGED)
        damaged_free(m, choice, route);
    else if ((ptr = bad_pointer(m, kind, choice, &want)) != NULL)
        refused_as_expected(m, ptr, want, route, choice);
    return !failed(m) && (!m->check_after_bad_free || heap_check_passes(m));
}

/* ---- slabs --------------------------------------------------------------------- */

/* A slab refuses to be freed or resized (counted, reported): then unmark it for real. */
static bool slab_released(struct model *m, size_t i, enum model_route route, size_t size)
{
    if (!refused_as_expected(m, m->live[i].ptr, HEAP_SLAB_MEMORY, route, (uint32_t)size))
        return false;
    enum heap_status status = heap_mark_slab(m->live[i].ptr, 0);
    if (status != HEAP_OK)
        return fail(m, "heap_mark_slab(%p, 0) of a slab said \"%s\"", (void *)m->live[i].ptr,
                    heap_status_name(status));
    m->live[i].slab = false;
    m->live[i].usable = ksize(m->live[i].ptr);
    return true;
}

/* heap_slab_of any byte of b: b's start while it is a slab, else 0. */
static bool slab_of_agrees(struct model *m, const struct model_block *b, uint32_t choice)
{
    size_t span = b->block_bytes - (is_page(b->ptr) ? 0 : HEAP_HEADER_BYTES);
    const unsigned char *at = b->ptr + choice % span;
    uintptr_t want = b->slab ? (uintptr_t)b->ptr : 0;

    if (heap_slab_of(at) == want)
        return true;
    return fail(m, "heap_slab_of(%p) is %#lx, not %#lx", (const void *)at,
                (unsigned long)heap_slab_of(at), (unsigned long)want);
}

/* What heap_mark_slab(ptr, slab) must answer for block b, ptr its start or a later page. */
static enum heap_status mark_expected(const struct model_block *b, const unsigned char *ptr,
                                      bool slab)
{
    if (!is_page(b->ptr))
        return HEAP_INVALID_POINTER;
    if (ptr != b->ptr)
        return slab && b->slab ? HEAP_SLAB_MEMORY : HEAP_INSIDE_BLOCK;
    if (slab)
        return b->slab ? HEAP_SLAB_MEMORY : HEAP_OK;
    return b->slab ? HEAP_OK : HEAP_INVALID_POINTER;
}

bool model_mark_slab(struct model *m, size_t index, bool slab, uint32_t choice)
{
    struct heap_stats before;

    if (failed(m) || m->live_count == 0)
        return !failed(m);
    m->operations++;
    struct model_block *b = &m->live[index % m->live_count];
    size_t pages = b->block_bytes / PAGE;
    bool later = is_page(b->ptr) && pages > 1 && (choice & 1);     /* a later page of the run */
    unsigned char *ptr = later ? b->ptr + PAGE * (1 + choice / 2 % (pages - 1)) : b->ptr;
    enum heap_status want = mark_expected(b, ptr, slab);
    heap_get_stats(&before);
    enum heap_status got = heap_mark_slab(ptr, slab);
    if (got != want)
        return fail(m, "heap_mark_slab(%p, %d) said \"%s\", not \"%s\"", (void *)ptr, slab,
                    heap_status_name(got), heap_status_name(want));
    if (got == HEAP_OK) {
        b->slab = slab;
        b->usable = slab ? 0 : ksize(b->ptr);
    }
    return stats_unchanged(m, &before) && slab_of_agrees(m, b, choice >> 8) && stats_agree(m);
}

/* ---- whole-heap checks, start and finish ---------------------------------------- */

struct span {
    uintptr_t start, end;
};

static int span_order(const void *a, const void *b)
{
    uintptr_t x = ((const struct span *)a)->start, y = ((const struct span *)b)->start;

    return (x > y) - (x < y);
}

/* No two live blocks (headers included) share a byte: sort them, compare neighbours. */
static bool blocks_disjoint(struct model *m)
{
    struct span *spans = malloc((m->live_count + 1) * sizeof *spans);
    bool ok = true;

    for (size_t i = 0; i < m->live_count; i++) {
        uintptr_t start = block_start(m->live[i].ptr);
        spans[i] = (struct span){start, start + m->live[i].block_bytes};
    }
    qsort(spans, m->live_count, sizeof *spans, span_order);
    for (size_t i = 1; ok && i < m->live_count; i++)
        if (spans[i].start < spans[i - 1].end)
            ok = fail(m, "live blocks at %#lx and %#lx overlap", (unsigned long)spans[i - 1].start,
                      (unsigned long)spans[i].start);
    free(spans);
    return ok;
}

/* Each live block's ksize and heap_slab_of as the model has it: a slab's 0 and its start. */
static bool slabs_agree(struct model *m)
{
    for (size_t i = 0; i < m->live_count; i++) {
        const struct model_block *b = &m->live[i];
        if (ksize(b->ptr) != b->usable)
            return fail(m, "ksize(%p) is %zu, not %zu", (void *)b->ptr, ksize(b->ptr), b->usable);
        if (!slab_of_agrees(m, b, (uint32_t)b->tag * 2654435761u))
            return false;
    }
    return true;
}

/* Each block the quarantine must hold says so, with the callers that freed it. */
static bool quarantine_blocks_agree(struct model *m)
{
    struct heap_stats s;

    heap_get_stats(&s);
    return quarantine_agrees(m, &s, true);
}

bool model_check(struct model *m)
{
    return !failed(m) && heap_check_passes(m) && blocks_disjoint(m) && slabs_agree(m)
        && stats_agree(m) && quarantine_blocks_agree(m);
}

/*
 * Every free list as long as at model_start: all merged back, nothing
 * leaked. Each split made one block more and each merge one fewer, so
 * splits - merges is back where it started too.
 */
static bool free_lists_as_at_start(struct model *m)
{
    struct heap_stats now;

    for (unsigned scale = 0; scale <= HEAP_MAX_SCALE; scale++)
        if (heap_free_count(scale) != m->start_free_count[scale])
            return fail(m, "with everything freed scale %u has %zu free blocks, not %zu", scale,
                        heap_free_count(scale), m->start_free_count[scale]);
    heap_get_stats(&now);
    if (now.splits - now.merges != m->expected.splits - m->expected.merges)
        return fail(m, "with everything freed, %zu splits and %zu merges do not balance",
                    now.splits, now.merges);
    return true;
}

/* Every quarantined block merges: as many as the model expects, each one's poison intact. */
static bool quarantine_drains(struct model *m)
{
    unsigned expected = m->quarantine.count;
    size_t drained = heap_drain_quarantine();

    if (drained != expected)
        return fail(m, "the quarantine let %zu blocks go, not %u", drained, expected);
    return stats_agree(m);
}

bool model_free_all(struct model *m)
{
    while (!failed(m) && m->live_count > 0)
        model_free(m, m->live_count - 1, MODEL_BY_HEAP_FREE);
    return !failed(m) && quarantine_drains(m) && model_check(m) && free_lists_as_at_start(m);
}

void model_start(struct model *m, size_t capacity)
{
    *m = (struct model){0};
    m->live = malloc(capacity * sizeof *m->live);
    m->live_capacity = capacity;
    m->next_tag = 1;
    m->check_after_bad_free = true;
    m->dense_bytes = SIZE_MAX;
    m->debug = heap_debug_flags();
    slack = m->debug != 0 ? HEAP_DEBUG_SLACK : 0;
    heap_get_stats(&m->expected);
    m->block_bytes = m->expected.allocated_bytes;
    for (unsigned scale = 0; scale <= HEAP_MAX_SCALE; scale++)
        m->start_free_count[scale] = heap_free_count(scale);
    heard.count = 0;
    reported.count = 0;
    heap_on_refusal(hear_refusal);
    heap_on_debug_report(hear_report);
}

bool model_finish(struct model *m)
{
    if (!failed(m))
        model_free_all(m);
    heap_on_refusal(NULL);
    heap_on_debug_report(NULL);
    free(m->live);
    m->live = NULL;
    return !failed(m);
}
