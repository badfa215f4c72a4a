/*
 * unit.c - host unit tests of src/memory/heap.c: regions, kmalloc, kfree and
 * its refusals, kcalloc, krealloc, ksize. Page blocks and slabs have theirs
 * in unit_pages.c, heap_check, the statistics and the walk in unit_check.c,
 * debug mode and the sampler in unit_debug.c. Built with AddressSanitizer:
 * bytes the heap must never read are poisoned (forbid), so a stray read fails.
 * Prints each failure as file:line, then "N passed, N failed".
 */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"

unsigned char *arena;
/* ---- checks on top of the framework (tests/lib/check.h) ----------------------- */

void check_violation(const char *file, int line, const char *what, uintptr_t address,
                     unsigned scale)
{
    struct heap_violation found = {0};

    if (heap_check_report(&found) == 0) {
        check_fail(file, line, what);
        return;
    }
    CHECK_AT(file, line, found.what != NULL && strcmp(found.what, what) == 0);
    CHECK_AT(file, line, found.address == address);
    CHECK_AT(file, line, found.scale == scale);
    if (found.what != NULL && strcmp(found.what, what) != 0)
        printf("    found \"%s\" at 0x%lx scale %u\n", found.what, (unsigned long)found.address,
               found.scale);
}

/* ---- fixtures ------------------------------------------------------------------ */

size_t block_bytes(unsigned scale) { return (size_t)1 << scale; }

uintptr_t block_of(const void *p)
{
    uintptr_t a = (uintptr_t)p;

    return a % PAGE == 0 ? a : a - HEAP_HEADER_BYTES;
}

struct block_header *header_of(uintptr_t block) { return (struct block_header *)block; }

struct block_header *entry_of(uintptr_t a) { return heap_frame_entry(a); }

struct list_header *link_of(uintptr_t b) { return (struct list_header *)(b + HEAP_HEADER_BYTES); }

struct list_header *frame_link_of(uintptr_t block)
{
    return &((struct heap_frame *)entry_of(block))->link;   /* the header starts the entry */
}

size_t add_region(size_t offset, size_t length) { return heap_add_region(arena + offset, length); }

/* The table's own bytes: an entry per frame the span touches, rounded up to a smallest block. */
static size_t table_entry_bytes(size_t offset, size_t length)
{
    size_t min = block_bytes(heap_min_scale());
    size_t frames = (offset + length - 1) / PAGE - offset / PAGE + 1;

    return (frames * sizeof(struct heap_frame) + min - 1) / min * min;
}

size_t frame_table_bytes(size_t offset, size_t length)
{
    size_t end = offset + length, bytes = table_entry_bytes(offset, length);
    size_t first_whole = (offset + PAGE - 1) / PAGE, table = (end - bytes) / PAGE * PAGE;

    if (end / PAGE <= first_whole)
        return 0;                       /* no whole frame: no table */
    return table > offset ? end - table : bytes;
}

/* The table grows with the span it covers: find the size that covers itself. */
size_t table_after(size_t offset, size_t length)
{
    size_t table = 0;

    while (table_entry_bytes(offset, length + table) != table)
        table = table_entry_bytes(offset, length + table);
    return table;
}

size_t add_blocks(size_t offset, size_t length)
{
    CHECK((offset + length) % PAGE == 0);       /* else the blocks would end at a frame below */
    return add_region(offset, length + table_after(offset, length));
}

void forbid(size_t offset, size_t length) { ASAN_POISON_MEMORY_REGION(arena + offset, length); }

void allow(size_t offset, size_t length) { ASAN_UNPOISON_MEMORY_REGION(arena + offset, length); }

uintptr_t first_free(unsigned scale)
{
    uintptr_t block = 0;

    heap_free_list_peek(scale, &block, 1);
    return block;
}

struct refusal_record refusal;

static void record_refusal(const struct heap_refusal *heard)
{
    refusal.calls++;
    refusal.function = heard->function;
    refusal.cache = heard->cache;
    refusal.ptr = heard->ptr;
    refusal.why = heard->why;
    refusal.caller = heard->caller;
}

void snapshot_take(struct snapshot *s)
{
    uintptr_t start, end;

    s->bytes = malloc(ARENA_BYTES);
    for (unsigned i = 0; heap_region(i, &start, &end); i++)
        memcpy(s->bytes + (start - (uintptr_t)arena), (void *)start, end - start);
    heap_get_stats(&s->stats);
    for (unsigned scale = 0; scale <= HEAP_MAX_SCALE; scale++) {
        s->counts[scale] = heap_free_count(scale);
        s->firsts[scale] = first_free(scale);
    }
}

int snapshot_unchanged(struct snapshot *s, size_t refused)
{
    uintptr_t start, end;
    struct heap_stats now;
    int same = 1;

    for (unsigned i = 0; heap_region(i, &start, &end); i++)
        same &= memcmp(s->bytes + (start - (uintptr_t)arena), (void *)start, end - start) == 0;
    heap_get_stats(&now);
    same &= now.refused_frees == s->stats.refused_frees + refused;
    now.refused_frees = s->stats.refused_frees;
    same &= memcmp(&now, &s->stats, sizeof(now)) == 0;
    for (unsigned scale = 0; scale <= HEAP_MAX_SCALE; scale++)
        same &= heap_free_count(scale) == s->counts[scale] && first_free(scale) == s->firsts[scale];
    free(s->bytes);
    return same;
}

void check_kfree_refused(const char *file, int line, void *ptr, enum heap_status why)
{
    struct snapshot before;
    int calls = refusal.calls;

    snapshot_take(&before);
    kfree(ptr);
    CHECK_AT(file, line, refusal.calls == calls + 1);
    CHECK_AT(file, line, refusal.ptr == ptr);
    CHECK_AT(file, line, refusal.why == why);
    CHECK_AT(file, line, refusal.caller != NULL);
    CHECK_AT(file, line, strcmp(refusal.function, "kfree") == 0 && refusal.cache == NULL);
    CHECK_AT(file, line, snapshot_unchanged(&before, 1));
}

void fill(void *p, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)p)[i] = (unsigned char)(seed + i * 7);
}

int filled(const void *p, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        if (((const unsigned char *)p)[i] != (unsigned char)(seed + i * 7))
            return 0;
    return 1;
}

struct heap_stats stats_now(void)
{
    struct heap_stats s;

    heap_get_stats(&s);
    return s;
}

/* ---- regions ------------------------------------------------------------------- */

struct walk_log {
    size_t n;
    uintptr_t block[512];
    unsigned scale[512];
    int allocated[512];
};

static void walk_record(uintptr_t block, unsigned scale, int allocated, void *context)
{
    struct walk_log *log = context;

    if (log->n < 512) {
        log->block[log->n] = block;
        log->scale[log->n] = scale;
        log->allocated[log->n] = allocated;
    }
    log->n++;
}


static void a_power_of_two_of_blocks_becomes_one_free_block(void)
{
    uintptr_t start = 0, end = 0;
    size_t table = table_after(0, block_bytes(16));

    CHECK_EQ(add_blocks(0, block_bytes(16)), block_bytes(16));
    CHECK_EQ(heap_free_count(16), 1);
    CHECK_EQ(first_free(16), (uintptr_t)arena);
    CHECK(heap_region(0, &start, &end));
    CHECK_EQ(start, (uintptr_t)arena);
    CHECK_EQ(end, (uintptr_t)arena + block_bytes(16) + table);     /* the table included */
    CHECK_EQ(stats_now().managed_bytes, block_bytes(16));
    CHECK_EQ(stats_now().frame_table_bytes, table);
    CHECK(!heap_region(1, &start, &end));
}

/* 64 KiB touch 16 frames: 16 entries, starting the top frame; the blocks end below. */
static void a_region_keeps_its_frame_table_in_its_top_frame(void)
{
    uintptr_t start = 0, end = 0, table = (uintptr_t)arena + block_bytes(16) - PAGE;
    struct walk_log log = {0};

    CHECK_EQ(frame_table_bytes(0, block_bytes(16)), PAGE);
    CHECK_EQ(add_region(0, block_bytes(16)), block_bytes(16) - PAGE);
    CHECK(heap_region(0, &start, &end));
    CHECK_EQ(end - start, block_bytes(16));
    CHECK_EQ(stats_now().frame_table_bytes, PAGE);
    heap_walk(walk_record, &log);
    CHECK_EQ(log.n, 4);                             /* 32K, 16K, 8K, 4K */
    CHECK_EQ(log.block[3] + block_bytes(log.scale[3]), table);
    CHECK(entry_of(table) == NULL);                 /* the table is no block */
    CHECK(entry_of(table - 1) == &((struct heap_frame *)table)[14].header);
    CHECK_EQ(entry_of(table - 1)->state, HEAP_BLOCK_FREE);         /* the 4K block's header */
    CHECK_EQ(entry_of(table - 1)->scale, 12);
    CHECK_EQ(entry_of((uintptr_t)arena + PAGE)->state, HEAP_FRAME_NONE);  /* inside the 32K block */
    CHECK(heap_check() == 0);
}

/* No frame boundary leaves room for the table of one page: it ends the region, small blocks below. */
static void a_region_of_one_page_keeps_its_frame_table_at_the_top(void)
{
    size_t min = block_bytes(heap_min_scale());

    CHECK_EQ(add_region(0, PAGE), PAGE - min);
    CHECK_EQ(stats_now().frame_table_bytes, min);
    CHECK_EQ(entry_of((uintptr_t)arena)->state, HEAP_FRAME_SMALL);
    CHECK_EQ(heap_free_count(11), 1);
    CHECK(kmalloc(PAGE) == NULL);
    CHECK(kmalloc(1) != NULL);
    CHECK(heap_check() == 0);
}

/* An entry a frame (16 bytes on i686), and under 4 KiB more to start the table on a frame. */
static void the_frame_table_costs_one_entry_a_frame(void)
{
    size_t mib = (size_t)1 << 20, entry = sizeof(struct heap_frame);
    size_t frames_of_257 = (257 * entry + PAGE - 1) / PAGE * PAGE;  /* whole frames of their own */

    CHECK_EQ(entry, block_bytes(heap_min_scale()));                 /* a smallest block */
    CHECK_EQ(add_region(0, 4 * mib), 4 * mib - 1024 * entry);       /* 1024 frames */
    CHECK_EQ(stats_now().frame_table_bytes, 1024 * entry);
    CHECK_EQ(add_region(4 * mib, mib + PAGE), mib + PAGE - frames_of_257);     /* 257 entries */
    CHECK_EQ(stats_now().frame_table_bytes, 1024 * entry + frames_of_257);
    CHECK(heap_check() == 0);
}

static void a_region_without_a_whole_frame_has_no_frame_table(void)
{
    size_t min = block_bytes(heap_min_scale());

    CHECK_EQ(add_region(min, PAGE - 2 * min), PAGE - 2 * min);     /* inside one frame */
    CHECK_EQ(add_region(PAGE + 0x800, PAGE), PAGE);                /* across two, neither whole */
    CHECK_EQ(stats_now().frame_table_bytes, 0);
    CHECK(entry_of((uintptr_t)arena + min) == NULL);
    void *p = kmalloc(heap_scale_payload(11));
    CHECK(p != NULL && (uintptr_t)p % PAGE != 0);
    CHECK(kmalloc(PAGE) == NULL);           /* no page block can exist */
    kfree(p);
    CHECK(heap_check() == 0);
}

static void a_region_is_carved_into_the_largest_naturally_aligned_blocks(void)
{
    /* [0x1020, 0x1fe0) from a start 7 bytes early and an end 7 bytes late: no frame, no table. */
    static const unsigned scales[] = {5, 6, 7, 8, 9, 10, 10, 9, 8, 7, 6, 5};
    struct walk_log log = {0};
    uintptr_t base = (uintptr_t)arena, start, end;

    CHECK(heap_min_scale() <= 5);
    CHECK_EQ(add_region(0x1020 - 7, 0xfc0 + 14), 0xfc0);
    CHECK(heap_region(0, &start, &end));
    CHECK_EQ(start, base + 0x1020);
    CHECK_EQ(end, base + 0x1fe0);
    heap_walk(walk_record, &log);
    CHECK_EQ(log.n, sizeof(scales) / sizeof(scales[0]));
    for (size_t i = 0, at = 0x1020; i < log.n && i < 12; at += block_bytes(scales[i]), i++) {
        CHECK_EQ(log.block[i], base + at);
        CHECK_EQ(log.scale[i], scales[i]);
        CHECK(!log.allocated[i]);
    }
    CHECK(heap_check() == 0);
}

static void a_region_too_small_for_one_block_is_refused(void)
{
    size_t min = block_bytes(heap_min_scale());

    CHECK_EQ(add_region(0, 0), 0);
    CHECK_EQ(add_region(0, min - 1), 0);
    CHECK_EQ(add_region(1, 2 * min - 2), 0);     /* no aligned block fits inside */
    CHECK_EQ(heap_add_region((void *)(UINTPTR_MAX - 10), 100), 0);    /* wraps past the top */
    CHECK_EQ(stats_now().regions, 0);
    CHECK_EQ(stats_now().managed_bytes, 0);
    CHECK_EQ(add_region(1, 2 * min - 1), min);   /* exactly one aligned block fits */
}

/* A region's span, frame table included, is what overlaps. */
static void an_overlapping_region_is_refused(void)
{
    size_t k64 = (size_t)64 << 10, blocks = k64 - frame_table_bytes(k64, k64);

    CHECK_EQ(add_region(k64, k64), blocks);
    CHECK_EQ(add_region(k64 + k64 / 2, k64), 0);    /* overlaps its end */
    CHECK_EQ(add_region(2 * k64 - 64, k64), 0);     /* overlaps its frame table */
    CHECK_EQ(add_region(k64 / 2, k64), 0);          /* overlaps its start */
    CHECK_EQ(add_region(k64, k64), 0);              /* the same again */
    CHECK_EQ(add_region(0, 4 * k64), 0);            /* contains it */
    CHECK_EQ(add_region(2 * k64, k64), blocks);     /* touches its end: fine */
    CHECK_EQ(add_region(0, k64), blocks);           /* touches its start: fine */
    CHECK_EQ(stats_now().regions, 3);
    CHECK_EQ(stats_now().managed_bytes, 3 * blocks);
    CHECK_EQ(stats_now().managed_bytes + stats_now().frame_table_bytes, 3 * k64);
    CHECK(heap_check() == 0);
}

static void regions_beyond_the_limit_are_refused(void)
{
    size_t min = block_bytes(heap_min_scale());

    for (size_t i = 0; i < HEAP_MAX_REGIONS; i++)
        CHECK_EQ(add_region(i * 4 * min, min), min);
    CHECK_EQ(add_region(HEAP_MAX_REGIONS * 4 * min, min), 0);
    CHECK_EQ(stats_now().regions, HEAP_MAX_REGIONS);
    CHECK(heap_check() == 0);
}

static void regions_added_in_any_order_are_kept_in_address_order(void)
{
    size_t k = (size_t)4 << 10;
    uintptr_t start, end, last_end = 0;
    struct walk_log log = {0};

    CHECK_EQ(add_blocks(8 * k, k), k);
    CHECK_EQ(add_blocks(0, k), k);
    CHECK_EQ(add_blocks(4 * k, k), k);
    for (unsigned i = 0; heap_region(i, &start, &end); i++) {
        CHECK_EQ(start, (uintptr_t)arena + 4 * k * i);
        CHECK(start >= last_end);
        last_end = end;
    }
    heap_walk(walk_record, &log);
    CHECK_EQ(log.n, 3);
    CHECK(log.block[0] < log.block[1] && log.block[1] < log.block[2]);
}

static void a_one_block_region_serves_exactly_one_allocation(void)
{
    unsigned m = heap_min_scale();
    void *p;

    CHECK_EQ(add_region(0, block_bytes(m)), block_bytes(m));
    CHECK(kmalloc(heap_scale_payload(m) + 1) == NULL);
    p = kmalloc(heap_scale_payload(m));
    CHECK_EQ((uintptr_t)p, (uintptr_t)arena + HEAP_HEADER_BYTES);
    CHECK(kmalloc(1) == NULL);
    kfree(p);
    CHECK_EQ(heap_free_count(m), 1);
    CHECK(kmalloc(1) == p);
}

/* ---- split and merge --------------------------------------------------------- */

static void a_smallest_allocation_leaves_one_free_block_at_each_smaller_scale(void)
{
    unsigned m = heap_min_scale(), k = 16;
    uintptr_t base = (uintptr_t)arena;

    add_blocks(0, block_bytes(k));
    void *p = kmalloc(1);
    CHECK_EQ((uintptr_t)p, base + HEAP_HEADER_BYTES);
    CHECK_EQ(heap_block_scale(p), m);
    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++)
        CHECK_EQ(heap_free_count(s), s >= m && s < k);
    for (unsigned s = m; s < k; s++)
        CHECK_EQ(first_free(s), base + block_bytes(s));     /* each upper half */
    CHECK_EQ(stats_now().splits, k - m);
    CHECK(heap_check() == 0);
}

static void freeing_the_smallest_allocation_merges_back_to_the_region_block(void)
{
    unsigned m = heap_min_scale(), k = 16;

    add_blocks(0, block_bytes(k));
    kfree(kmalloc(1));
    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++)
        CHECK_EQ(heap_free_count(s), s == k);
    CHECK_EQ(first_free(k), (uintptr_t)arena);
    CHECK_EQ(stats_now().merges, k - m);
    CHECK(heap_check() == 0);
}

static void buddies_merge_whatever_order_they_are_freed_in(void)
{
    unsigned m = heap_min_scale();
    static const int orders[][4] = {
        {0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}, {0, 3, 1, 2},
    };

    add_region(0, block_bytes(m + 2));
    for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
        void *p[4];
        for (int i = 0; i < 4; i++)
            p[i] = kmalloc(1);
        CHECK(kmalloc(1) == NULL);
        for (int i = 0; i < 4; i++) {
            kfree(p[orders[o][i]]);
            CHECK(heap_check() == 0);
        }
        CHECK_EQ(heap_free_count(m + 2), 1);
    }
}

static void blocks_in_neighbouring_regions_never_merge(void)
{
    size_t half = block_bytes(11);      /* two regions that are buddies by address (no tables) */

    CHECK_EQ(add_region(0, half), half);
    CHECK_EQ(add_region(half, half), half);
    void *a = kmalloc(heap_scale_payload(11));
    void *b = kmalloc(heap_scale_payload(11));
    CHECK(a != NULL && b != NULL);
    kfree(a);
    kfree(b);
    CHECK_EQ(heap_free_count(11), 2);
    CHECK_EQ(heap_free_count(12), 0);
    CHECK_EQ(stats_now().merges, 0);
    CHECK(heap_check() == 0);
}

/* Its buddy lies in the region below, whose blocks and table it must not read as its own. */
static void a_page_block_never_merges_into_the_region_below(void)
{
    size_t k16 = block_bytes(14);

    add_region(0, k16);                         /* blocks [0, 16K - its table) */
    CHECK_EQ(add_blocks(k16, k16), k16);        /* one 16K block, buddy of [0, 16K) */
    void *p = kmalloc(k16);
    CHECK_EQ((uintptr_t)p, (uintptr_t)arena + k16);
    kfree(p);
    CHECK_EQ(stats_now().merges, 0);
    CHECK_EQ(heap_free_count(14), 1);
    CHECK(heap_check() == 0);
}

static void a_buddy_in_a_hole_between_regions_is_never_read(void)
{
    unsigned m = heap_min_scale();
    size_t k16 = block_bytes(14);

    size_t table = table_after(0, k16);

    add_blocks(0, k16);                 /* its block's buddy [16K, 32K) is a hole but the table */
    add_blocks(2 * k16, 2 * k16);
    forbid(k16 + table, k16 - table);
    kfree(kmalloc(1));
    void *p = kmalloc(heap_scale_payload(14));
    CHECK_EQ(block_of(p), (uintptr_t)arena);
    kfree(p);
    allow(k16 + table, k16 - table);
    CHECK_EQ(stats_now().merges, 14 - m);
    CHECK_EQ(heap_free_count(14), 1);
    CHECK_EQ(heap_free_count(15), 1);
    CHECK(heap_check() == 0);
}

static void a_buddy_before_the_region_start_is_never_read(void)
{
    size_t k16 = block_bytes(14);

    /* [16K, 64K): a 16K block whose buddy [0, 16K) lies before the region, then a 32K block. */
    CHECK_EQ(add_blocks(k16, 3 * k16), 3 * k16);
    forbid(0, k16);
    void *p = kmalloc(heap_scale_payload(14));
    CHECK_EQ(block_of(p), (uintptr_t)arena + k16);
    kfree(p);
    allow(0, k16);
    CHECK_EQ(stats_now().merges, 0);
    CHECK_EQ(heap_free_count(14), 1);
    CHECK_EQ(heap_free_count(15), 1);
}

static void a_buddy_past_the_region_end_is_never_read(void)
{
    size_t k16 = block_bytes(14);

    /* [0, 48K): a 32K block, then a 16K block whose buddy [48K, 64K) lies past the end. */
    size_t table = table_after(0, 3 * k16);

    CHECK_EQ(add_blocks(0, 3 * k16), 3 * k16);
    forbid(3 * k16 + table, k16 - table);
    void *p = kmalloc(heap_scale_payload(14));
    CHECK_EQ(block_of(p), (uintptr_t)arena + 2 * k16);
    kfree(p);
    allow(3 * k16 + table, k16 - table);
    CHECK_EQ(stats_now().merges, 0);
    CHECK_EQ(heap_free_count(14), 1);
    CHECK_EQ(heap_free_count(15), 1);
}

/* ---- kmalloc --------------------------------------------------------------------- */

static void kmalloc_refuses_zero_and_impossible_sizes(void)
{
    static const size_t sizes[] = {0, SIZE_MAX, SIZE_MAX - HEAP_HEADER_BYTES + 1, SIZE_MAX / 2 + 1,
                                   HEAP_MAX_REQUEST + 1, ((size_t)1 << 16) + 1};

    add_blocks(0, block_bytes(16));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        CHECK(kmalloc(sizes[i]) == NULL);
    CHECK_EQ(stats_now().failed_allocations, sizeof(sizes) / sizeof(sizes[0]));
    CHECK_EQ(stats_now().allocations, 0);
    CHECK_EQ(stats_now().free_bytes, block_bytes(16));
    CHECK_EQ(heap_free_count(16), 1);
}

static void kmalloc_fills_a_whole_region_block(void)
{
    add_blocks(0, block_bytes(16));
    void *p = kmalloc(heap_scale_payload(16));
    CHECK_EQ(heap_scale_payload(16), block_bytes(16));     /* a page block: all of it usable */
    CHECK_EQ((uintptr_t)p, (uintptr_t)arena);
    CHECK_EQ(stats_now().free_bytes, 0);
    CHECK(kmalloc(1) == NULL);
}

/* The header counts below a page; a page block has none in band. */
static void kmalloc_picks_the_smallest_scale_that_holds_the_request(void)
{
    add_blocks(0, block_bytes(16));
    for (unsigned s = heap_min_scale(); s < 16; s++) {
        void *p = kmalloc(heap_scale_payload(s));
        CHECK_EQ(heap_block_scale(p), s);
        CHECK_EQ(ksize(p), heap_scale_payload(s));
        kfree(p);
        p = kmalloc(heap_scale_payload(s) + 1);
        CHECK_EQ(heap_block_scale(p), s + 1);
        kfree(p);
    }
}

static void kmalloc_takes_a_free_block_of_the_right_scale_before_splitting(void)
{
    unsigned m = heap_min_scale();

    add_blocks(0, block_bytes(12));
    kmalloc(1);
    size_t splits = stats_now().splits;
    void *p = kmalloc(heap_scale_payload(m + 1));
    CHECK_EQ(block_of(p), (uintptr_t)arena + block_bytes(m + 1));
    CHECK_EQ(stats_now().splits, splits);
    void *q = kmalloc(heap_scale_payload(m + 1));   /* splits the smallest larger block */
    CHECK_EQ(block_of(q), (uintptr_t)arena + block_bytes(m + 2));
    CHECK_EQ(stats_now().splits, splits + 1);
}

static void every_pointer_is_aligned_and_no_two_blocks_overlap(void)
{
    static void *p[400];
    size_t n = 0;

    add_region(0x60, ARENA_BYTES / 2);
    for (size_t size = 1; n < 400; size += 1 + size / 3, n++) {
        p[n] = kmalloc(size % 3000 + 1);
        CHECK(p[n] != NULL);
        CHECK_EQ((uintptr_t)p[n] % HEAP_ALIGNMENT, 0);
        CHECK_EQ((uintptr_t)p[n] % PAGE == 0, size % 3000 + 1 > heap_scale_payload(11));
        CHECK(ksize(p[n]) >= size % 3000 + 1);
        fill(p[n], ksize(p[n]), (unsigned char)n);
    }
    for (size_t i = 0; i < n; i++)
        CHECK(filled(p[i], ksize(p[i]), (unsigned char)i));
    CHECK(heap_check() == 0);
}

static void exhausting_the_heap_then_freeing_everything_restores_it(void)
{
    static void *p[8192];
    size_t before[HEAP_MAX_SCALE + 1], n = 0;
    struct heap_stats initial;

    add_region(0x60, 100003);           /* odd start and length */
    heap_get_stats(&initial);
    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++)
        before[s] = heap_free_count(s);
    while (n < 8192 && (p[n] = kmalloc(1)) != NULL)
        n++;
    CHECK_EQ(n, initial.managed_bytes / block_bytes(heap_min_scale()));
    CHECK_EQ(stats_now().free_bytes, 0);
    CHECK_EQ(stats_now().largest_free_block, 0);
    CHECK_EQ(stats_now().failed_allocations, 1);
    CHECK(n % 1009 != 0);
    for (size_t i = 0; i < n; i++)      /* a scrambled order: 1009 is prime and does not divide n */
        kfree(p[(i * 1009) % n]);
    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++)
        CHECK_EQ(heap_free_count(s), before[s]);
    CHECK_EQ(stats_now().free_bytes, initial.managed_bytes);
    CHECK_EQ(stats_now().merges, stats_now().splits);
    CHECK(heap_check() == 0);
}

static void mixed_sizes_until_full_then_freeing_all_restores_the_heap(void)
{
    static void *p[4096];
    size_t before[HEAP_MAX_SCALE + 1], n = 0;
    uint32_t seed = 12345;

    add_region(0x1000, 300000);
    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++)
        before[s] = heap_free_count(s);
    while (n < 4096) {
        seed = seed * 1103515245u + 12345u;
        if ((p[n] = kmalloc(1 + (seed >> 16) % 5000)) == NULL)
            break;
        n++;
    }
    CHECK(n > 0 && n < 4096);
    CHECK(heap_check() == 0);
    for (size_t i = n; i-- > 0;)
        kfree(p[i]);
    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++)
        CHECK_EQ(heap_free_count(s), before[s]);
    CHECK(heap_check() == 0);
}

/* ---- kfree and its refusals ------------------------------------------------------- */

static void kfree_of_null_does_nothing(void)
{
    struct snapshot before;

    add_blocks(0, block_bytes(12));
    kmalloc(10);
    snapshot_take(&before);
    kfree(NULL);
    CHECK(heap_free(NULL) == HEAP_OK);
    CHECK(snapshot_unchanged(&before, 0));
    CHECK_EQ(refusal.calls, 0);
}

static void kfree_rejects_double_free(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(100);
    void *q = kmalloc(100);
    kfree(p);
    CHECK_KFREE_REFUSED(p, HEAP_DOUBLE_FREE);
    kfree(q);
    CHECK_KFREE_REFUSED(q, HEAP_DOUBLE_FREE);
    CHECK_KFREE_REFUSED(p, HEAP_DOUBLE_FREE);
    CHECK_EQ(stats_now().refused_frees, 3);
    CHECK_EQ(stats_now().frees, 2);
}

static void kfree_rejects_a_freed_upper_half_that_has_merged(void)
{
    add_blocks(0, block_bytes(12));
    void *lower = kmalloc(1);
    void *upper = kmalloc(1);
    CHECK_EQ(block_of(upper), block_of(lower) + block_bytes(heap_min_scale()));
    kfree(upper);
    kfree(lower);           /* merges with upper: upper's header is left behind, saying free */
    CHECK_EQ(heap_free_count(12), 1);
    CHECK_KFREE_REFUSED(upper, HEAP_DOUBLE_FREE);
}

static void kfree_rejects_a_free_block_that_was_never_allocated(void)
{
    add_blocks(0, block_bytes(12));
    kmalloc(1);
    CHECK_KFREE_REFUSED((void *)(first_free(11) + HEAP_HEADER_BYTES), HEAP_DOUBLE_FREE);
}

static void kfree_rejects_a_pointer_inside_a_block(void)
{
    size_t min = block_bytes(heap_min_scale());

    add_blocks(0, block_bytes(12));
    unsigned char *p = kmalloc(300);
    CHECK_KFREE_REFUSED(p + min, HEAP_INVALID_POINTER);     /* aligned like a block: no header */
    CHECK_KFREE_REFUSED(p + 2 * min, HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED(p + 1, HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED(p + 100, HEAP_INVALID_POINTER);
    kfree(p);
    CHECK_EQ(heap_free_count(12), 1);
}

static void kfree_rejects_a_pointer_outside_the_heap(void)
{
    size_t k = block_bytes(12);
    int local = 0;

    add_blocks(k, k);
    kmalloc(1);                                         /* the first region's page is small blocks */
    add_blocks(4 * k, k);
    CHECK_KFREE_REFUSED(&local, HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED(arena + HEAP_HEADER_BYTES, HEAP_INVALID_POINTER);         /* before the first */
    CHECK_KFREE_REFUSED(arena + 2 * k + HEAP_HEADER_BYTES, HEAP_INVALID_POINTER); /* its table */
    CHECK_KFREE_REFUSED(arena + 2 * k, HEAP_INVALID_POINTER);                     /* its table */
    CHECK_KFREE_REFUSED(arena + 3 * k + HEAP_HEADER_BYTES, HEAP_INVALID_POINTER); /* in the hole */
    CHECK_KFREE_REFUSED(arena + 6 * k + HEAP_HEADER_BYTES, HEAP_INVALID_POINTER); /* past the last */
    CHECK_KFREE_REFUSED(arena + k + 4, HEAP_INVALID_POINTER);   /* its header would be before the region */
    CHECK_KFREE_REFUSED(arena + k, HEAP_NOT_HANDED_OUT);        /* a page carved into small blocks */
    CHECK_KFREE_REFUSED((void *)HEAP_HEADER_BYTES, HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED((void *)1, HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED((void *)UINTPTR_MAX, HEAP_INVALID_POINTER);
}

static void kfree_rejects_a_misaligned_pointer(void)
{
    add_blocks(0, block_bytes(12));
    kmalloc(1);
    unsigned char *p = kmalloc(1);      /* the second block: memory lies on both sides */
    CHECK_KFREE_REFUSED(p + 4, HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED(p - 4, HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED(p + HEAP_HEADER_BYTES, HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED(p - HEAP_HEADER_BYTES, HEAP_INVALID_POINTER);
}

static void kfree_rejects_a_corrupted_header(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(100);
    struct block_header *h = header_of(block_of(p)), saved = *h;

    h->check ^= 1;
    CHECK_KFREE_REFUSED(p, HEAP_CORRUPTED_HEADER);
    *h = saved;
    h->scale = (uint8_t)(saved.scale + 1);
    CHECK_KFREE_REFUSED(p, HEAP_CORRUPTED_HEADER);
    h->scale = 200;
    CHECK_KFREE_REFUSED(p, HEAP_CORRUPTED_HEADER);
    h->scale = 0;
    CHECK_KFREE_REFUSED(p, HEAP_CORRUPTED_HEADER);
    h->scale = 13;          /* a page scale: no small block */
    CHECK_KFREE_REFUSED(p, HEAP_CORRUPTED_HEADER);
    *h = saved;
    h->state = 0x77;        /* no header at all */
    CHECK_KFREE_REFUSED(p, HEAP_INVALID_POINTER);
    *h = saved;
    kfree(p);
    CHECK_EQ(heap_free_count(12), 1);
}

static void kfree_rejects_a_header_copied_to_another_address(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(100);
    void *q = kmalloc(100);
    struct block_header saved = *header_of(block_of(q));

    *header_of(block_of(q)) = *header_of(block_of(p));
    CHECK_KFREE_REFUSED(q, HEAP_CORRUPTED_HEADER);
    *header_of(block_of(q)) = saved;
    kfree(q);
    kfree(p);
    CHECK_EQ(heap_free_count(12), 1);
}

/* The check value mixes in the scale so that no other scale can match it. */
static void kfree_rejects_a_header_with_any_other_scale(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(100);
    struct block_header *h = header_of(block_of(p));
    uint8_t scale = h->scale;

    for (unsigned wrong = 0; wrong < 256; wrong++) {
        h->scale = (uint8_t)wrong;
        if (wrong != scale)
            CHECK_KFREE_REFUSED(p, HEAP_CORRUPTED_HEADER);
    }
    h->scale = scale;
    kfree(p);
    CHECK_EQ(heap_free_count(12), 1);
}

/* Within 0xb520 bytes no two block addresses share a check value; the heap here is 32 KiB. */
static void kfree_rejects_a_header_copied_to_any_nearby_block(void)
{
    size_t min = block_bytes(heap_min_scale());

    add_blocks(0, block_bytes(15));
    unsigned char *first = kmalloc(1);
    while (kmalloc(1) != NULL)
        ;                               /* fill the heap with smallest blocks */
    for (size_t offset = min; offset < block_bytes(15); offset += min) {
        struct block_header *to = header_of(block_of(first + offset)), saved = *to;
        *to = *header_of(block_of(first));
        CHECK_KFREE_REFUSED(first + offset, HEAP_CORRUPTED_HEADER);
        *to = saved;
    }
    CHECK(heap_check() == 0);
}

static void kfree_reports_to_the_handler_only_when_there_is_one(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(1);
    kfree(p);
    heap_on_refusal(NULL);
    kfree(p);
    CHECK_EQ(refusal.calls, 0);
    CHECK_EQ(stats_now().refused_frees, 1);
}

static void heap_free_names_the_refusal_without_calling_the_handler(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(1);
    CHECK(heap_free(p) == HEAP_OK);
    CHECK(heap_free(p) == HEAP_DOUBLE_FREE);
    CHECK(heap_free((unsigned char *)p + 1) == HEAP_INVALID_POINTER);
    CHECK_EQ(refusal.calls, 0);
    CHECK_EQ(stats_now().refused_frees, 2);
    CHECK_EQ(stats_now().frees, 1);
}

/* ---- kcalloc, krealloc, ksize -------------------------------------------------------- */

static void kcalloc_returns_zeroed_memory(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(200);
    memset(p, 0xab, ksize(p));
    kfree(p);
    unsigned char *q = kcalloc(25, 8);
    CHECK(q == p);          /* the same block, dirty before */
    for (size_t i = 0; i < 200; i++)
        CHECK_EQ(q[i], 0);
}

static void kcalloc_refuses_a_product_that_overflows(void)
{
    add_blocks(0, block_bytes(12));
    CHECK(kcalloc(SIZE_MAX / 2 + 1, 2) == NULL);
    CHECK(kcalloc(2, SIZE_MAX) == NULL);
    CHECK(kcalloc(SIZE_MAX, SIZE_MAX) == NULL);
    CHECK_EQ(stats_now().failed_allocations, 3);
    CHECK(kcalloc(0, 8) == NULL);
    CHECK(kcalloc(8, 0) == NULL);
    CHECK_EQ(stats_now().allocations, 0);
}

static void krealloc_of_null_acts_as_kmalloc(void)
{
    add_blocks(0, block_bytes(12));
    void *p = krealloc(NULL, 100);
    CHECK(p != NULL);
    CHECK(ksize(p) >= 100);
    CHECK_EQ(stats_now().allocations, 1);
}

static void krealloc_to_zero_frees_the_block(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(100);
    CHECK(krealloc(p, 0) == NULL);
    CHECK_EQ(stats_now().frees, 1);
    CHECK_EQ(heap_free_count(12), 1);
    CHECK_EQ(ksize(p), 0);
}

static void krealloc_within_the_block_keeps_the_pointer(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(10);
    fill(p, 10, 3);
    CHECK(krealloc(p, heap_scale_payload(heap_min_scale())) == p);
    CHECK(filled(p, 10, 3));
    CHECK_EQ(stats_now().requested_bytes, heap_scale_payload(heap_min_scale()));
    CHECK_EQ(stats_now().splits, 12 - heap_min_scale());
    CHECK(heap_check() == 0);
}

static void krealloc_shrinking_gives_back_the_upper_halves(void)
{
    unsigned m = heap_min_scale();

    add_blocks(0, block_bytes(16));
    void *p = kmalloc(heap_scale_payload(11));
    fill(p, 10, 9);
    CHECK(krealloc(p, 10) == p);
    CHECK(filled(p, 10, 9));
    CHECK_EQ(heap_block_scale(p), m);
    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++)
        CHECK_EQ(heap_free_count(s), s >= m && s < 16);
    CHECK_EQ(stats_now().allocated_bytes, block_bytes(m));
    CHECK_EQ(stats_now().requested_bytes, 10);
    CHECK(heap_check() == 0);
}

static void krealloc_growing_absorbs_free_upper_buddies(void)
{
    unsigned m = heap_min_scale();

    add_blocks(0, block_bytes(16));
    void *p = kmalloc(1);
    fill(p, heap_scale_payload(m), 5);
    CHECK(krealloc(p, heap_scale_payload(11)) == p);
    CHECK(filled(p, heap_scale_payload(m), 5));
    CHECK_EQ(heap_block_scale(p), 11);
    CHECK_EQ(stats_now().merges, 11 - m);
    CHECK_EQ(stats_now().allocated_bytes, block_bytes(11));
    CHECK(heap_check() == 0);
}

static void krealloc_moves_a_block_that_cannot_grow_and_keeps_its_contents(void)
{
    unsigned m = heap_min_scale();

    add_blocks(0, block_bytes(12));
    void *lower = kmalloc(heap_scale_payload(m));
    void *upper = kmalloc(heap_scale_payload(m));
    fill(lower, heap_scale_payload(m), 1);
    fill(upper, heap_scale_payload(m), 2);
    void *moved = krealloc(lower, 100);        /* its buddy is in use */
    CHECK(moved != lower && moved != NULL);
    CHECK(filled(moved, heap_scale_payload(m), 1));
    CHECK_EQ(ksize(lower), 0);
    void *again = krealloc(upper, heap_scale_payload(m + 1));  /* an upper half cannot grow */
    CHECK(again != upper && again != NULL);
    CHECK(filled(again, heap_scale_payload(m), 2));
    CHECK(heap_check() == 0);
}

/* The bytes past the request are the caller's to lose: a move copies requested bytes only. */
static void krealloc_copies_only_the_bytes_asked_for(void)
{
    memset(arena, 0xee, block_bytes(14));      /* what a fresh block holds before anyone writes */
    add_blocks(0, block_bytes(14));
    unsigned char *p = kmalloc(10);
    kmalloc(1);                                 /* its buddy: p cannot grow in place */
    fill(p, 10, 7);
    memset(p + 10, 0x11, ksize(p) - 10);
    unsigned char *q = krealloc(p, 3000);
    CHECK(q != p && q != NULL && (uintptr_t)q % PAGE == 0);
    CHECK(filled(q, 10, 7));
    for (size_t i = 10; i < ksize(p) + 10 && i < 3000; i++)
        CHECK_EQ(q[i], 0xee);
    CHECK(heap_check() == 0);
}

static void krealloc_failure_keeps_the_old_block(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(100);
    fill(p, 100, 4);
    size_t usable = ksize(p);
    CHECK(krealloc(p, block_bytes(12)) == NULL);
    CHECK(krealloc(p, SIZE_MAX) == NULL);
    CHECK_EQ(stats_now().failed_allocations, 2);
    CHECK_EQ(ksize(p), usable);
    CHECK(filled(p, 100, 4));
    CHECK(heap_check() == 0);
    kfree(p);
    CHECK_EQ(heap_free_count(12), 1);
}

static void krealloc_refuses_a_pointer_kfree_would_refuse(void)
{
    struct snapshot before;

    add_blocks(0, block_bytes(12));
    void *p = kmalloc(100);
    kfree(p);
    snapshot_take(&before);
    CHECK(krealloc(p, 10) == NULL);
    CHECK(snapshot_unchanged(&before, 1));
    CHECK_EQ(refusal.calls, 1);
    CHECK(refusal.why == HEAP_DOUBLE_FREE);
    CHECK(refusal.ptr == p && refusal.caller != NULL);
    CHECK(strcmp(refusal.function, "krealloc") == 0 && refusal.cache == NULL);
}

static void ksize_and_block_scale_describe_live_blocks_only(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(100);
    unsigned scale = heap_block_scale(p);
    CHECK_EQ(block_bytes(scale) - HEAP_HEADER_BYTES, ksize(p));
    CHECK(ksize(p) >= 100 && block_bytes(scale - 1) < 100 + HEAP_HEADER_BYTES);
    CHECK_EQ(ksize(NULL), 0);
    CHECK_EQ(ksize((unsigned char *)p + 1), 0);
    CHECK_EQ(heap_block_scale(NULL), 0);
    kfree(p);
    CHECK_EQ(ksize(p), 0);
    CHECK_EQ(heap_block_scale(p), 0);
    CHECK_EQ(stats_now().refused_frees, 0);
}

/* ---- the run --------------------------------------------------------------------------- */

static const struct test unit_tests[] = {
    TEST_ENTRY(a_power_of_two_of_blocks_becomes_one_free_block),
    TEST_ENTRY(a_region_keeps_its_frame_table_in_its_top_frame),
    TEST_ENTRY(a_region_of_one_page_keeps_its_frame_table_at_the_top),
    TEST_ENTRY(the_frame_table_costs_one_entry_a_frame),
    TEST_ENTRY(a_region_without_a_whole_frame_has_no_frame_table),
    TEST_ENTRY(a_region_is_carved_into_the_largest_naturally_aligned_blocks),
    TEST_ENTRY(a_region_too_small_for_one_block_is_refused),
    TEST_ENTRY(an_overlapping_region_is_refused),
    TEST_ENTRY(regions_beyond_the_limit_are_refused),
    TEST_ENTRY(regions_added_in_any_order_are_kept_in_address_order),
    TEST_ENTRY(a_one_block_region_serves_exactly_one_allocation),
    TEST_ENTRY(a_smallest_allocation_leaves_one_free_block_at_each_smaller_scale),
    TEST_ENTRY(freeing_the_smallest_allocation_merges_back_to_the_region_block),
    TEST_ENTRY(buddies_merge_whatever_order_they_are_freed_in),
    TEST_ENTRY(blocks_in_neighbouring_regions_never_merge),
    TEST_ENTRY(a_page_block_never_merges_into_the_region_below),
    TEST_ENTRY(a_buddy_in_a_hole_between_regions_is_never_read),
    TEST_ENTRY(a_buddy_before_the_region_start_is_never_read),
    TEST_ENTRY(a_buddy_past_the_region_end_is_never_read),
    TEST_ENTRY(kmalloc_refuses_zero_and_impossible_sizes),
    TEST_ENTRY(kmalloc_fills_a_whole_region_block),
    TEST_ENTRY(kmalloc_picks_the_smallest_scale_that_holds_the_request),
    TEST_ENTRY(kmalloc_takes_a_free_block_of_the_right_scale_before_splitting),
    TEST_ENTRY(every_pointer_is_aligned_and_no_two_blocks_overlap),
    TEST_ENTRY(exhausting_the_heap_then_freeing_everything_restores_it),
    TEST_ENTRY(mixed_sizes_until_full_then_freeing_all_restores_the_heap),
    TEST_ENTRY(kfree_of_null_does_nothing),
    TEST_ENTRY(kfree_rejects_double_free),
    TEST_ENTRY(kfree_rejects_a_freed_upper_half_that_has_merged),
    TEST_ENTRY(kfree_rejects_a_free_block_that_was_never_allocated),
    TEST_ENTRY(kfree_rejects_a_pointer_inside_a_block),
    TEST_ENTRY(kfree_rejects_a_pointer_outside_the_heap),
    TEST_ENTRY(kfree_rejects_a_misaligned_pointer),
    TEST_ENTRY(kfree_rejects_a_corrupted_header),
    TEST_ENTRY(kfree_rejects_a_header_copied_to_another_address),
    TEST_ENTRY(kfree_rejects_a_header_with_any_other_scale),
    TEST_ENTRY(kfree_rejects_a_header_copied_to_any_nearby_block),
    TEST_ENTRY(kfree_reports_to_the_handler_only_when_there_is_one),
    TEST_ENTRY(heap_free_names_the_refusal_without_calling_the_handler),
    TEST_ENTRY(kcalloc_returns_zeroed_memory),
    TEST_ENTRY(kcalloc_refuses_a_product_that_overflows),
    TEST_ENTRY(krealloc_of_null_acts_as_kmalloc),
    TEST_ENTRY(krealloc_to_zero_frees_the_block),
    TEST_ENTRY(krealloc_within_the_block_keeps_the_pointer),
    TEST_ENTRY(krealloc_shrinking_gives_back_the_upper_halves),
    TEST_ENTRY(krealloc_growing_absorbs_free_upper_buddies),
    TEST_ENTRY(krealloc_moves_a_block_that_cannot_grow_and_keeps_its_contents),
    TEST_ENTRY(krealloc_copies_only_the_bytes_asked_for),
    TEST_ENTRY(krealloc_failure_keeps_the_old_block),
    TEST_ENTRY(krealloc_refuses_a_pointer_kfree_would_refuse),
    TEST_ENTRY(ksize_and_block_scale_describe_live_blocks_only),
};

/* An empty heap, an arena of zeros, a handler that records. */
void test_setup(void)
{
    allow(0, ARENA_BYTES);
    memset(arena, 0, ARENA_BYTES);
    heap_init();
    heap_on_refusal(record_refusal);
    heap_on_debug_report(NULL);
    refusal.calls = 0;
}

int main(void)
{
    int passed = 0, failed = 0;

    setvbuf(stdout, NULL, _IONBF, 0);
    arena = aligned_alloc(ARENA_ALIGN, ARENA_BYTES);
    if (arena == NULL) {
        printf("no memory for the arena\n0 passed, 1 failed\n");
        return 1;
    }
    check_run(unit_tests, sizeof(unit_tests) / sizeof(unit_tests[0]), test_setup, NULL, &passed, &failed);
    check_run(page_tests, page_test_count, test_setup, NULL, &passed, &failed);
    check_run(check_tests, check_test_count, test_setup, NULL, &passed, &failed);
    check_run(debug_tests, debug_test_count, test_setup, NULL, &passed, &failed);
    allow(0, ARENA_BYTES);
    free(arena);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
