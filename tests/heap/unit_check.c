/*
 * unit_check.c - host unit tests of heap_check_report, the statistics, the
 * walk and the other ways to look inside src/memory/heap.c. Each broken state
 * is made by hand, the way a buggy caller or a bug in the heap would, and must
 * be reported with what broke, where, and at which scale. Run by unit.c's main.
 */
#include <stdint.h>
#include <string.h>

#include "fixtures.h"

/* Link node into a circular list just after `at`. */
static void list_insert_after(struct list_header *at, struct list_header *node)
{
    node->next = at->next;
    node->prev = at;
    at->next->prev = node;
    at->next = node;
}

static void list_unlink(struct list_header *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
}

/* ---- heap_check ----------------------------------------------------------------- */

static void heap_check_passes_on_an_empty_a_fresh_and_a_busy_heap(void)
{
    struct heap_violation found = {"untouched", 1, 1};

    CHECK(heap_check() == 0);
    add_region(0x40, 50000);
    add_region(0x20000, 0x10000);
    CHECK(heap_check_report(&found) == 0);
    CHECK(strcmp(found.what, "untouched") == 0);        /* only written on a violation */
    for (size_t size = 1; size < 4000; size += 97)
        kmalloc(size);
    kfree(kmalloc(10));
    CHECK(heap_check() == 0);
}

static void heap_check_reports_a_corrupted_free_block_header(void)
{
    add_blocks(0, block_bytes(12));
    kmalloc(1);
    uintptr_t free_block = first_free(9);
    header_of(free_block)->check ^= 0x100;
    CHECK_VIOLATION("block header is corrupted", free_block, 9);
}

static void heap_check_reports_a_corrupted_allocated_block_header(void)
{
    add_blocks(0, block_bytes(12));
    kmalloc(1);
    uintptr_t block = block_of(kmalloc(1));
    header_of(block)->scale = 200;
    CHECK_VIOLATION("block header is corrupted", block, 200);
}

static void heap_check_reports_a_free_block_missing_from_its_list(void)
{
    add_blocks(0, block_bytes(12));
    kmalloc(1);
    uintptr_t free_block = first_free(10);
    list_unlink(link_of(free_block));
    CHECK_VIOLATION("free block missing from its list", free_block, 10);
}

static void heap_check_reports_free_buddies_left_unmerged(void)
{
    unsigned m = heap_min_scale();

    add_blocks(0, block_bytes(12));
    uintptr_t a = block_of(kmalloc(1)), b = block_of(kmalloc(1));
    kmalloc(1);                         /* leaves one free block of scale m to link after */
    struct list_header *at = link_of(first_free(m));
    header_of(a)->state = header_of(b)->state = HEAP_BLOCK_FREE;    /* the check still holds */
    header_of(a)->requested = header_of(b)->requested = 0;
    list_insert_after(at, link_of(a));
    list_insert_after(link_of(a), link_of(b));
    CHECK_VIOLATION("free buddies left unmerged", a, m);
}

static void heap_check_reports_an_allocated_block_on_a_free_list(void)
{
    unsigned m = heap_min_scale();

    add_blocks(0, block_bytes(12));
    uintptr_t block = block_of(kmalloc(1));
    list_insert_after(link_of(first_free(m)), link_of(block));
    CHECK_VIOLATION("free list holds a block that is not a free block of its scale", block, m);
}

static void heap_check_reports_free_list_links_that_disagree(void)
{
    add_blocks(0, block_bytes(12));
    uintptr_t busy = block_of(kmalloc(200));
    uintptr_t free_block = first_free(8);
    /* A fake neighbour inside the busy block points at the free block, which points back at it. */
    struct list_header *fake = link_of(busy + block_bytes(heap_min_scale()));
    fake->next = link_of(free_block);
    link_of(free_block)->prev = fake;
    CHECK_VIOLATION("free list links disagree", free_block, 8);
}

static void heap_check_reports_a_free_block_cut_off_in_a_ring_of_its_own(void)
{
    add_blocks(0, block_bytes(12));
    kmalloc(1);
    uintptr_t free_block = first_free(9);
    struct list_header *node = link_of(free_block);
    list_unlink(node);
    node->next = node->prev = node;     /* linked both ways, to itself */
    CHECK_VIOLATION("free count does not match its list", 0, 9);
}

static void heap_check_reports_a_stale_header_standing_in_for_a_free_block(void)
{
    add_blocks(0, block_bytes(12));
    kfree(kmalloc(1));                  /* leaves stale free headers at 2^s, s < 12 */
    uintptr_t busy = block_of(kmalloc(heap_scale_payload(11)));
    kmalloc(heap_scale_payload(10));
    uintptr_t real = first_free(10), stale = busy + block_bytes(10);
    struct list_header *head = link_of(real)->prev;
    link_of(real)->next = link_of(real)->prev = link_of(real);
    head->next = head->prev = link_of(stale);
    link_of(stale)->next = link_of(stale)->prev = head;
    CHECK_VIOLATION("free list does not hold the free blocks of its scale", 0, 10);
}

static void heap_check_reports_a_requested_size_too_big_for_its_block(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(10);
    header_of(block_of(p))->requested = (uint32_t)(ksize(p) + 1);
    CHECK_VIOLATION("requested size does not fit its block", block_of(p), heap_min_scale());
}

static void heap_check_reports_byte_counters_that_disagree_with_the_blocks(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(10);
    header_of(block_of(p))->requested = 11;
    CHECK_VIOLATION("byte counters do not match the blocks", 0, 0);
}

/*
 * Each bad value in node's next link, then in its prev link, makes heap_check
 * fail (without reading outside the heap); the link restored, it passes again.
 */
static void each_bad_link_fails_the_check(struct list_header *node,
                                          struct list_header *const *bad, size_t count)
{
    struct list_header saved = *node;

    for (size_t i = 0; i < count; i++) {
        node->next = bad[i];
        CHECK(heap_check() != 0);
        *node = saved;
        node->prev = bad[i];
        CHECK(heap_check() != 0);
        *node = saved;
    }
    CHECK(heap_check() == 0);
}

static void heap_check_survives_bad_links_without_reading_outside_the_heap(void)
{
    size_t k = block_bytes(12);

    add_region(k, k);
    forbid(0, k);
    forbid(2 * k, k);
    kmalloc(1);
    struct list_header *node = link_of(first_free(10));
    struct list_header *bad[] = {
        NULL, (void *)1, (void *)(arena + 2 * k + 64), (void *)(arena + 64),
    };
    each_bad_link_fails_the_check(node, bad, sizeof(bad) / sizeof(bad[0]));
    allow(0, k);
    allow(2 * k, k);
}

static void heap_check_survives_a_region_full_of_garbage(void)
{
    size_t k = block_bytes(14);
    uint32_t seed = 99;
    unsigned char *region = arena + k;

    add_region(k, k);
    forbid(0, k);
    forbid(2 * k, k);
    for (int i = 0; i < 50; i++)
        kmalloc(1 + (size_t)i * 37);
    for (size_t i = HEAP_HEADER_BYTES; i < k; i++) {     /* keep the first header: walk into garbage */
        seed = seed * 1103515245u + 12345u;
        region[i] = (unsigned char)(seed >> 16);
    }
    CHECK(heap_check() != 0);
    memset(region, 0xff, k);
    CHECK_VIOLATION("block header is corrupted", (uintptr_t)region, 0xff);
    allow(0, k);
    allow(2 * k, k);
}

/* ---- heap_check and the frame table ----------------------------------------------- */

static uintptr_t at(size_t offset) { return (uintptr_t)arena + offset; }

static void heap_check_reports_a_corrupted_page_block_header(void)
{
    add_blocks(0, block_bytes(16));
    void *p = kmalloc(PAGE);
    entry_of((uintptr_t)p)->check ^= 0x40;
    CHECK_VIOLATION("block header is corrupted", (uintptr_t)p, 12);
    entry_of((uintptr_t)p)->check ^= 0x40;
    entry_of(first_free(14))->check ^= 1;       /* a free page block's */
    CHECK_VIOLATION("block header is corrupted", at(block_bytes(14)), 14);
}

static void heap_check_reports_a_page_run_entry_that_does_not_lead_to_its_run(void)
{
    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(3 * PAGE);
    entry_of((uintptr_t)p + 2 * PAGE)->requested = 1;
    CHECK_VIOLATION("frame table entry disagrees with its block", (uintptr_t)p + 2 * PAGE, 14);
    entry_of((uintptr_t)p + 2 * PAGE)->requested = 2;
    entry_of((uintptr_t)p + PAGE)->state = HEAP_FRAME_NONE;
    CHECK_VIOLATION("frame table entry disagrees with its block", (uintptr_t)p + PAGE, 14);
}

/* Inside a free page block no entry may say live or small: a pointer there would be trusted. */
static void heap_check_reports_a_live_or_small_entry_inside_a_free_page_block(void)
{
    static const uint8_t wrong[] = {HEAP_FRAME_SMALL, HEAP_BLOCK_ALLOCATED, HEAP_BLOCK_SLAB, 0x77};

    add_blocks(0, block_bytes(16));
    for (size_t i = 0; i < sizeof(wrong); i++) {
        entry_of(at(5 * PAGE))->state = wrong[i];
        CHECK_VIOLATION("frame table entry disagrees with its block", at(5 * PAGE), 16);
    }
    entry_of(at(5 * PAGE))->state = HEAP_FRAME_TAIL;    /* left behind by a freed run: fine */
    CHECK(heap_check() == 0);
}

static void heap_check_reports_a_page_block_start_whose_entry_is_no_header(void)
{
    add_blocks(0, block_bytes(16));
    entry_of(first_free(16))->state = HEAP_FRAME_NONE;
    CHECK_VIOLATION("frame table entry disagrees with its block", at(0), 16);
    entry_of(at(0))->state = 0x77;
    CHECK_VIOLATION("block header is corrupted", at(0), 16);
}

/* [0x800, 0x1000) is a frame in part: its small blocks' entry must say SMALL. */
static void heap_check_reports_small_blocks_in_a_frame_that_says_otherwise(void)
{
    CHECK_EQ(add_region(0x800, 0x800 + 2 * PAGE), 0x800 + PAGE);
    CHECK_EQ(entry_of(at(0x800))->state, HEAP_FRAME_SMALL);
    entry_of(at(0x800))->state = HEAP_FRAME_NONE;
    CHECK_VIOLATION("frame table entry disagrees with its block", at(0), 11);
}

static void heap_check_reports_a_page_run_whose_request_does_not_fit_its_scale(void)
{
    add_blocks(0, block_bytes(16));
    void *p = kmalloc(3 * PAGE);
    entry_of((uintptr_t)p)->requested = 5 * PAGE;      /* 5 pages need scale 15 */
    CHECK_VIOLATION("requested size does not fit its block", (uintptr_t)p, 14);
}

static void heap_check_reports_free_page_buddies_left_unmerged(void)
{
    add_blocks(0, block_bytes(16));
    uintptr_t a = (uintptr_t)kmalloc(PAGE), b = (uintptr_t)kmalloc(PAGE);
    struct list_header *ring = frame_link_of(first_free(13));   /* a ring to link them into */

    entry_of(a)->state = entry_of(b)->state = HEAP_BLOCK_FREE;     /* freed by hand, unmerged */
    entry_of(a)->requested = entry_of(b)->requested = 0;
    list_insert_after(ring, frame_link_of(a));
    list_insert_after(frame_link_of(a), frame_link_of(b));
    CHECK_VIOLATION("free buddies left unmerged", a, 12);
}

/*
 * A list of page blocks whose one free block is linked well (to the head,
 * and back from a readable node before it: the entry of a live page) while
 * the head leads out of the frame tables (into a region's blocks, of the
 * first region or of a second one) or to a misaligned entry, named by the
 * address of the header the link would follow; or to the entry of a frame
 * that starts no free block of the list's scale (inside a free block, the
 * table's own frame, the first frame of a region too small for the scale),
 * named by that frame: only the list walk can see it.
 */
static void heap_check_reports_a_free_list_that_leads_out_of_the_heap(void)
{
    add_blocks(0, block_bytes(16));
    unsigned char *busy = kmalloc(PAGE);
    add_blocks(block_bytes(17), PAGE);
    uintptr_t free_block = first_free(15), table = at(block_bytes(16));
    uintptr_t outside[] = {at(3 * PAGE + 64), at(block_bytes(17)), table + 4};
    uintptr_t frames[] = {at(3 * PAGE), table, at(block_bytes(17))};
    struct list_header *entries[] = {
        frame_link_of(frames[0]),
        &((struct heap_frame *)entry_of(table - PAGE))[1].link,   /* no block has that frame */
        frame_link_of(frames[2]),
    };
    struct list_header *node = frame_link_of(free_block), *head = node->prev;
    struct list_header *before = frame_link_of((uintptr_t)busy);

    before->next = node;
    node->prev = before;
    for (size_t i = 0; i < 3; i++) {
        head->next = link_of(outside[i]);       /* as if a header were at outside[i] */
        CHECK_VIOLATION("free list holds a block that is not a free block of its scale",
                        outside[i], 15);
        head->next = entries[i];
        CHECK_VIOLATION("free list holds a block that is not a free block of its scale",
                        frames[i], 15);
    }
    head->next = node;
    node->prev = head;
    CHECK(heap_check() == 0);
}

static void heap_check_survives_bad_links_of_a_free_page_block(void)
{
    add_blocks(0, block_bytes(16));
    struct list_header *node = frame_link_of(first_free(16));
    struct list_header *bad[] = {
        (void *)(arena + 3), (void *)(arena + block_bytes(16) + 64), (void *)(arena + 64),
    };

    each_bad_link_fails_the_check(node, bad, sizeof(bad) / sizeof(bad[0]));
}

/* ---- statistics ------------------------------------------------------------------ */

static void the_statistics_add_up_after_every_call(void)
{
    static void *live[64];
    size_t requested[64] = {0};
    uint32_t seed = 7;

    add_region(0x100, 200000);
    for (int step = 0; step < 600; step++) {
        seed = seed * 1103515245u + 12345u;
        size_t i = (seed >> 16) % 64, size = 1 + (seed >> 8) % 3000;
        if (live[i] == NULL) {
            live[i] = (seed & 1) ? kmalloc(size) : kcalloc(1, size);
            requested[i] = live[i] != NULL ? size : 0;
        } else if (seed & 2) {
            void *p = krealloc(live[i], size);
            if (p != NULL)
                live[i] = p, requested[i] = size;
        } else {
            kfree(live[i]);
            live[i] = NULL, requested[i] = 0;
        }
        struct heap_stats s = stats_now();
        size_t total = 0, count = 0;
        for (size_t j = 0; j < 64; j++)
            total += requested[j], count += live[j] != NULL;
        CHECK_EQ(s.managed_bytes, s.free_bytes + s.allocated_bytes);
        CHECK_EQ(s.requested_bytes, total);
        CHECK_EQ(s.allocations - s.frees, count);
        CHECK(heap_check() == 0);
    }
}

static void splits_and_merges_count_how_far_a_block_travelled(void)
{
    unsigned m = heap_min_scale();

    add_blocks(0, block_bytes(16));
    void *first = kmalloc(1);
    CHECK_EQ(stats_now().splits, 16 - m);
    void *second = kmalloc(1);          /* the upper half first left behind: no split */
    CHECK_EQ(stats_now().splits, 16 - m);
    kfree(first);                       /* its buddy is busy: no merge */
    CHECK_EQ(stats_now().merges, 0);
    kfree(second);
    CHECK_EQ(stats_now().merges, 16 - m);
    CHECK_EQ(stats_now().allocations, 2);
    CHECK_EQ(stats_now().frees, 2);
}

static void largest_free_block_and_fragmentation_follow_their_definitions(void)
{
    struct heap_stats s = stats_now();

    CHECK_EQ(s.largest_free_block, 0);
    CHECK_EQ(s.fragmentation_percent, 0);       /* nothing free: 0 by definition */
    add_region(0, block_bytes(10));
    CHECK_EQ(stats_now().largest_free_block, block_bytes(10));
    CHECK_EQ(stats_now().fragmentation_percent, 0);
    void *p = kmalloc(1);
    s = stats_now();
    CHECK_EQ(s.free_bytes, block_bytes(10) - block_bytes(heap_min_scale()));
    CHECK_EQ(s.largest_free_block, block_bytes(9));
    CHECK_EQ(s.fragmentation_percent, 100 * (s.free_bytes - s.largest_free_block) / s.free_bytes);
    CHECK(s.fragmentation_percent > 0 && s.fragmentation_percent < 100);
    kfree(p);
    kmalloc(heap_scale_payload(10));
    CHECK_EQ(stats_now().free_bytes, 0);
    CHECK_EQ(stats_now().fragmentation_percent, 0);
}

static void an_empty_heap_is_not_fragmented_whatever_its_regions(void)
{
    add_blocks(0, block_bytes(14));
    add_blocks(block_bytes(15), block_bytes(14));
    add_region(block_bytes(17), block_bytes(12) + block_bytes(10));      /* ends below its table */
    CHECK_EQ(stats_now().regions, 3);
    CHECK_EQ(stats_now().largest_free_block, block_bytes(14));
    CHECK_EQ(stats_now().fragmentation_percent, 0);
}

static void free_bytes_beyond_the_largest_carved_block_do_not_count_as_fragmented(void)
{
    size_t half = heap_scale_payload(11);

    add_blocks(0, block_bytes(12));                 /* two regions of one 4 KiB block each */
    add_blocks(block_bytes(13), block_bytes(12));
    void *a = kmalloc(half);                        /* half of one region's block */
    struct heap_stats s = stats_now();
    CHECK_EQ(s.free_bytes, block_bytes(12) + block_bytes(11));
    CHECK_EQ(s.largest_free_block, block_bytes(12));
    CHECK_EQ(s.fragmentation_percent, 0);           /* no block could be larger than 4 KiB */
    void *b = kmalloc(1);                           /* splits that region's other half */
    void *c = kmalloc(half);                        /* and so splits the second region */
    s = stats_now();
    CHECK_EQ(s.free_bytes, block_bytes(12) - block_bytes(heap_min_scale()));
    CHECK_EQ(s.largest_free_block, block_bytes(11));
    CHECK_EQ(s.fragmentation_percent, 100 * (s.free_bytes - s.largest_free_block) / s.free_bytes);
    CHECK_EQ(s.fragmentation_percent, 49);          /* almost 4 KiB free, no 4 KiB block */
    kfree(a);
    kfree(b);
    kfree(c);
    CHECK_EQ(stats_now().fragmentation_percent, 0);
}

/* ---- looking inside --------------------------------------------------------------- */

struct walk_state {
    size_t blocks, allocated, bytes, out_of_order;
    uintptr_t next;         /* where the next block should start, or 0 at a region start */
};

static void walk_follow(uintptr_t block, unsigned scale, int allocated, void *context)
{
    struct walk_state *w = context;
    uintptr_t start, end;
    int region_start = 0;

    for (unsigned i = 0; heap_region(i, &start, &end); i++)
        region_start |= block == start;
    if (!region_start && block != w->next)
        w->out_of_order++;
    if (block % block_bytes(scale) != 0 || block < w->next)
        w->out_of_order++;
    w->next = block + block_bytes(scale);
    w->blocks++;
    w->allocated += allocated != 0;
    w->bytes += block_bytes(scale);
}

static void heap_walk_visits_every_block_in_address_order(void)
{
    struct walk_state w = {0};

    add_region(0x40000, 0x9000);
    add_region(0x60, 0x5000);           /* added second, walked first */
    for (size_t size = 10; size < 3000; size *= 3)
        kmalloc(size);
    heap_walk(walk_follow, &w);
    CHECK_EQ(w.out_of_order, 0);
    CHECK_EQ(w.bytes, stats_now().managed_bytes);
    CHECK_EQ(w.allocated, 6);
    CHECK(w.blocks > w.allocated);
}

static void visit_count(uintptr_t block, unsigned scale, int allocated, void *context)
{
    (void)block, (void)scale, (void)allocated;
    ++*(size_t *)context;
}

static void heap_walk_stops_at_a_corrupted_header(void)
{
    size_t visited = 0;
    unsigned m = heap_min_scale();

    add_blocks(0, block_bytes(12));
    add_blocks(block_bytes(13), block_bytes(13));
    kmalloc(1);                 /* from the smaller region 1: blocks of scale m, m, m+1, ..., 11 */
    header_of((uintptr_t)arena + block_bytes(m + 1))->check ^= 1;
    heap_walk(visit_count, &visited);
    CHECK_EQ(visited, 2 + 1);           /* two blocks before the break, and region 2's one */
}

/* A run is visited as its pieces; a walk stops at a page header it cannot trust. */
static void heap_walk_stops_at_a_corrupted_page_header(void)
{
    size_t visited = 0;

    add_blocks(0, block_bytes(16));
    void *p = kmalloc(3 * PAGE);
    heap_walk(visit_count, &visited);
    CHECK_EQ(visited, 2 + 3);                   /* 8K + 4K of the run; 4K, 16K and 32K free */
    entry_of((uintptr_t)p)->requested = 5 * PAGE;
    visited = 0;
    heap_walk(visit_count, &visited);
    CHECK_EQ(visited, 0);
    entry_of((uintptr_t)p)->requested = 3 * PAGE;
    entry_of(first_free(15))->check ^= 1;      /* the last block */
    visited = 0;
    heap_walk(visit_count, &visited);
    CHECK_EQ(visited, 4);
}

static void heap_free_list_peek_lists_the_most_recently_freed_first(void)
{
    unsigned m = heap_min_scale();
    uintptr_t out[8] = {0};

    add_blocks(0, block_bytes(12));
    void *a = kmalloc(1);
    kmalloc(1);
    void *c = kmalloc(1);
    kmalloc(1);
    kfree(a);                           /* neither merges: their buddies are busy */
    kfree(c);
    CHECK_EQ(heap_free_list_peek(m, out, 8), 2);
    CHECK_EQ(out[0], block_of(c));
    CHECK_EQ(out[1], block_of(a));
    CHECK_EQ(heap_free_list_peek(m, out, 1), 1);
    CHECK_EQ(heap_free_list_peek(m, out, 0), 0);
    CHECK_EQ(heap_free_list_peek(HEAP_MAX_SCALE + 1, out, 8), 0);
    CHECK_EQ(heap_free_count(m), 2);
}

static void heap_free_count_is_zero_for_scales_that_do_not_exist(void)
{
    add_blocks(0, block_bytes(12));
    CHECK_EQ(heap_free_count(12), 1);
    CHECK_EQ(heap_free_count(0), 0);
    CHECK_EQ(heap_free_count(HEAP_MAX_SCALE + 1), 0);
    CHECK_EQ(heap_free_count(100000), 0);
}

static void the_smallest_block_holds_a_header_a_link_and_one_byte(void)
{
    unsigned m = heap_min_scale();
    size_t needed = HEAP_HEADER_BYTES + sizeof(struct list_header);

    CHECK(block_bytes(m) >= needed);
    CHECK(block_bytes(m - 1) < needed);
    CHECK(heap_scale_payload(m) >= 1);
    CHECK_EQ(heap_scale_payload(m - 1), 0);
    CHECK_EQ(heap_scale_payload(HEAP_PAGE_SCALE - 1), block_bytes(HEAP_PAGE_SCALE - 1) - HEAP_HEADER_BYTES);
    CHECK_EQ(heap_scale_payload(HEAP_PAGE_SCALE), block_bytes(HEAP_PAGE_SCALE));    /* no header in band */
    CHECK_EQ(heap_scale_payload(HEAP_MAX_SCALE), block_bytes(HEAP_MAX_SCALE));
    CHECK_EQ(heap_scale_payload(HEAP_MAX_SCALE + 1), 0);
}

static void status_names_say_what_went_wrong(void)
{
    static const enum heap_status all[] = {
        HEAP_OK, HEAP_INVALID_POINTER, HEAP_DOUBLE_FREE, HEAP_CORRUPTED_HEADER, HEAP_INSIDE_BLOCK,
        HEAP_NOT_HANDED_OUT, HEAP_SLAB_MEMORY, HEAP_NOT_AN_OBJECT, HEAP_WRONG_CACHE,
        (enum heap_status)42,
    };
    size_t n = sizeof(all) / sizeof(all[0]);

    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(heap_status_name(all[i]), heap_status_name(all[j])) != 0);
    CHECK(strstr(heap_status_name(HEAP_DOUBLE_FREE), "double") != NULL);
    CHECK(strstr(heap_status_name(HEAP_CORRUPTED_HEADER), "header") != NULL);
    CHECK(strstr(heap_status_name(HEAP_INSIDE_BLOCK), "inside") != NULL);
    CHECK(strstr(heap_status_name(HEAP_NOT_HANDED_OUT), "never handed out") != NULL);
    CHECK(strstr(heap_status_name(HEAP_SLAB_MEMORY), "slab") != NULL);
    CHECK(strstr(heap_status_name(HEAP_WRONG_CACHE), "another cache") != NULL);
}

static void heap_init_forgets_every_region_and_counter(void)
{
    static const struct heap_stats zero;
    uintptr_t start, end;

    add_blocks(0, block_bytes(12));
    void *p = kmalloc(1);
    kfree(p);
    kfree(p);
    heap_init();
    struct heap_stats s = stats_now();
    CHECK(memcmp(&s, &zero, sizeof(s)) == 0);
    CHECK(!heap_region(0, &start, &end));
    for (unsigned scale = 0; scale <= HEAP_MAX_SCALE; scale++)
        CHECK_EQ(heap_free_count(scale), 0);
    CHECK(kmalloc(1) == NULL);
    CHECK(heap_check() == 0);
}

const struct test check_tests[] = {
    TEST_ENTRY(heap_check_passes_on_an_empty_a_fresh_and_a_busy_heap),
    TEST_ENTRY(heap_check_reports_a_corrupted_free_block_header),
    TEST_ENTRY(heap_check_reports_a_corrupted_allocated_block_header),
    TEST_ENTRY(heap_check_reports_a_free_block_missing_from_its_list),
    TEST_ENTRY(heap_check_reports_free_buddies_left_unmerged),
    TEST_ENTRY(heap_check_reports_an_allocated_block_on_a_free_list),
    TEST_ENTRY(heap_check_reports_free_list_links_that_disagree),
    TEST_ENTRY(heap_check_reports_a_free_block_cut_off_in_a_ring_of_its_own),
    TEST_ENTRY(heap_check_reports_a_stale_header_standing_in_for_a_free_block),
    TEST_ENTRY(heap_check_reports_a_requested_size_too_big_for_its_block),
    TEST_ENTRY(heap_check_reports_byte_counters_that_disagree_with_the_blocks),
    TEST_ENTRY(heap_check_survives_bad_links_without_reading_outside_the_heap),
    TEST_ENTRY(heap_check_survives_a_region_full_of_garbage),
    TEST_ENTRY(heap_check_reports_a_corrupted_page_block_header),
    TEST_ENTRY(heap_check_reports_a_page_run_entry_that_does_not_lead_to_its_run),
    TEST_ENTRY(heap_check_reports_a_live_or_small_entry_inside_a_free_page_block),
    TEST_ENTRY(heap_check_reports_a_page_block_start_whose_entry_is_no_header),
    TEST_ENTRY(heap_check_reports_small_blocks_in_a_frame_that_says_otherwise),
    TEST_ENTRY(heap_check_reports_a_page_run_whose_request_does_not_fit_its_scale),
    TEST_ENTRY(heap_check_reports_free_page_buddies_left_unmerged),
    TEST_ENTRY(heap_check_reports_a_free_list_that_leads_out_of_the_heap),
    TEST_ENTRY(heap_check_survives_bad_links_of_a_free_page_block),
    TEST_ENTRY(the_statistics_add_up_after_every_call),
    TEST_ENTRY(splits_and_merges_count_how_far_a_block_travelled),
    TEST_ENTRY(largest_free_block_and_fragmentation_follow_their_definitions),
    TEST_ENTRY(an_empty_heap_is_not_fragmented_whatever_its_regions),
    TEST_ENTRY(free_bytes_beyond_the_largest_carved_block_do_not_count_as_fragmented),
    TEST_ENTRY(heap_walk_visits_every_block_in_address_order),
    TEST_ENTRY(heap_walk_stops_at_a_corrupted_header),
    TEST_ENTRY(heap_walk_stops_at_a_corrupted_page_header),
    TEST_ENTRY(heap_free_list_peek_lists_the_most_recently_freed_first),
    TEST_ENTRY(heap_free_count_is_zero_for_scales_that_do_not_exist),
    TEST_ENTRY(the_smallest_block_holds_a_header_a_link_and_one_byte),
    TEST_ENTRY(status_names_say_what_went_wrong),
    TEST_ENTRY(heap_init_forgets_every_region_and_counter),
};
const size_t check_test_count = sizeof(check_tests) / sizeof(check_tests[0]);
