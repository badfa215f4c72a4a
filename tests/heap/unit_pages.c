/*
 * unit_pages.c - host unit tests of the page blocks of src/memory/heap.c:
 * every kmalloc path that gives a page or more, exact page runs, splits and
 * merges across the page boundary, every refusal of a page pointer (the heap
 * byte for byte unchanged, frame tables included), krealloc of page runs in
 * place, slabs, and the page API. Run by unit.c's main.
 */
#include <stdint.h>
#include <string.h>

#include "fixtures.h"

/* A heap_walk recorder. */
struct visits {
    size_t n;
    uintptr_t block[64];
    unsigned scale[64];
    int allocated[64];
};

static void visit_record(uintptr_t block, unsigned scale, int allocated, void *context)
{
    struct visits *v = context;

    if (v->n < 64) {
        v->block[v->n] = block;
        v->scale[v->n] = scale;
        v->allocated[v->n] = allocated;
    }
    v->n++;
}

static uintptr_t at(size_t offset) { return (uintptr_t)arena + offset; }

/* Exactly the scales listed (each once) have free blocks. */
#define CHECK_FREE_SCALES(...) \
    check_free_scales(__FILE__, __LINE__, (const unsigned[]){__VA_ARGS__, 0})
static void check_free_scales(const char *file, int line, const unsigned *scales)
{
    size_t want[HEAP_MAX_SCALE + 1] = {0};

    for (; *scales != 0; scales++)
        want[*scales]++;
    for (unsigned s = 0; s <= HEAP_MAX_SCALE; s++)
        CHECK_AT(file, line, heap_free_count(s) == want[s]);
}

/* ---- kmalloc of page blocks ------------------------------------------------------ */

static void kmalloc_of_a_page_is_one_page_aligned_page_block(void)
{
    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(PAGE);
    CHECK_EQ((uintptr_t)p, at(0));                  /* the lower half of every split */
    CHECK_EQ(heap_block_of(p), (uintptr_t)p);
    CHECK_EQ(heap_block_scale(p), HEAP_PAGE_SCALE);
    CHECK_EQ(ksize(p), PAGE);
    fill(p, PAGE, 3);                               /* all of it: no header in band */
    const struct block_header *e = entry_of((uintptr_t)p);
    CHECK_EQ(e->state, HEAP_BLOCK_ALLOCATED);
    CHECK_EQ(e->requested, PAGE);
    CHECK_EQ(e->scale, HEAP_PAGE_SCALE);
    CHECK_EQ(stats_now().allocated_bytes, PAGE);
    CHECK_EQ(stats_now().splits, 16 - 12);
    CHECK_FREE_SCALES(12, 13, 14, 15);
    CHECK(filled(p, PAGE, 3));
    CHECK(heap_check() == 0);
    kfree(p);
    CHECK_FREE_SCALES(16);
    CHECK_EQ(stats_now().merges, 16 - 12);
}

static void a_request_just_over_the_small_limit_takes_a_whole_page(void)
{
    size_t limit = heap_scale_payload(HEAP_PAGE_SCALE - 1);

    add_blocks(0, block_bytes(16));
    void *small = kmalloc(limit), *page = kmalloc(limit + 1);
    CHECK((uintptr_t)small % PAGE != 0);
    CHECK_EQ(heap_block_scale(small), HEAP_PAGE_SCALE - 1);
    CHECK((uintptr_t)page % PAGE == 0);
    CHECK_EQ(heap_block_scale(page), HEAP_PAGE_SCALE);
    CHECK_EQ(ksize(page), PAGE);
    CHECK_EQ(stats_now().requested_bytes, 2 * limit + 1);
    CHECK(heap_check() == 0);
}

static void a_page_block_is_aligned_to_its_size_and_wholly_usable(void)
{
    size_t mib = (size_t)1 << 20;

    add_blocks(0, 4 * mib);
    kmalloc(1);                                     /* the first MiB is split now */
    unsigned char *p = kmalloc(mib), *q = kmalloc(3 * PAGE);
    CHECK((uintptr_t)p % mib == 0 && (uintptr_t)p != at(0));
    CHECK_EQ(ksize(p), mib);
    CHECK((uintptr_t)q % (4 * PAGE) == 0);          /* the power of two that holds 3 pages */
    CHECK_EQ(ksize(q), 3 * PAGE);
    fill(p, mib, 1);
    fill(q, 3 * PAGE, 2);
    CHECK(filled(p, mib, 1) && filled(q, 3 * PAGE, 2));
    CHECK(heap_check() == 0);
}

/* kmalloc(5 pages) from a free 32 KiB block: the run, then a page and two given back. */
static void a_request_over_a_page_keeps_exactly_the_pages_it_needs(void)
{
    struct visits v = {0};

    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(4 * PAGE + 1);
    CHECK_EQ((uintptr_t)p, at(0));
    CHECK_EQ(ksize(p), 5 * PAGE);
    CHECK_EQ(heap_block_scale(p), 15);
    CHECK_FREE_SCALES(12, 13, 15);
    CHECK_EQ(first_free(12), at(5 * PAGE));
    CHECK_EQ(first_free(13), at(6 * PAGE));
    CHECK_EQ(stats_now().allocated_bytes, 5 * PAGE);
    CHECK_EQ(stats_now().requested_bytes, 4 * PAGE + 1);
    CHECK_EQ(stats_now().splits, 1 + 3);    /* 64K -> 32K; 32K -> a run of 2 pieces and 2 blocks */
    CHECK_EQ(entry_of(at(0))->requested, 4 * PAGE + 1);
    for (size_t i = 1; i < 5; i++) {
        CHECK_EQ(entry_of(at(i * PAGE))->state, HEAP_FRAME_TAIL);
        CHECK_EQ(entry_of(at(i * PAGE))->requested, i);     /* frames back to the run's start */
    }
    CHECK_EQ(entry_of(at(7 * PAGE))->state, HEAP_FRAME_NONE);   /* inside the free 8K block */
    heap_walk(visit_record, &v);
    CHECK_EQ(v.n, 5);
    CHECK(v.block[0] == at(0) && v.scale[0] == 14 && v.allocated[0]);
    CHECK(v.block[1] == at(4 * PAGE) && v.scale[1] == 12 && v.allocated[1]);
    CHECK(v.block[2] == at(5 * PAGE) && v.scale[2] == 12 && !v.allocated[2]);
    CHECK(heap_check() == 0);
}

/* The rule of kmalloc((1 << 24) + 8) costing 16 MiB + 4 KiB, a size this arena holds. */
static void kmalloc_of_a_mebibyte_and_8_bytes_costs_a_mebibyte_and_a_page(void)
{
    size_t mib = (size_t)1 << 20;

    add_blocks(0, 4 * mib);
    void *p = kmalloc(mib + 8);
    CHECK_EQ((uintptr_t)p, at(0));
    CHECK_EQ(ksize(p), mib + PAGE);
    CHECK_EQ(stats_now().allocated_bytes, mib + PAGE);
    CHECK_EQ(stats_now().free_bytes, 4 * mib - mib - PAGE);
    CHECK_FREE_SCALES(12, 13, 14, 15, 16, 17, 18, 19, 21);  /* the tail of 2 MiB, and 2 MiB */
    kfree(p);
    CHECK_FREE_SCALES(22);
    CHECK(heap_check() == 0);
}

static void kfree_of_page_runs_gives_every_piece_back_in_any_order(void)
{
    static const size_t pages[] = {3, 5, 1, 7, 2};
    void *p[5];

    add_blocks(0, block_bytes(17));
    for (int order = 0; order < 2; order++) {
        for (int i = 0; i < 5; i++)
            p[i] = kmalloc(pages[i] * PAGE);
        CHECK(heap_check() == 0);
        for (int i = 0; i < 5; i++) {
            kfree(p[order == 0 ? i : 4 - i]);
            CHECK(heap_check() == 0);
        }
        CHECK_FREE_SCALES(17);
        CHECK_EQ(stats_now().merges, stats_now().splits);
    }
}

static void kmalloc_takes_a_free_page_before_splitting_a_larger_block(void)
{
    add_blocks(0, block_bytes(16));
    void *a = kmalloc(PAGE);
    size_t splits = stats_now().splits;
    void *b = kmalloc(PAGE);
    CHECK_EQ((uintptr_t)b, (uintptr_t)a + PAGE);
    CHECK_EQ(stats_now().splits, splits);
}

/* 3 pages are free, but no aligned 16 KiB block holds them. */
static void kmalloc_refuses_a_page_run_no_free_block_holds(void)
{
    add_blocks(0, block_bytes(16));
    kmalloc(PAGE);
    kmalloc(8 * PAGE);
    kmalloc(4 * PAGE);
    CHECK_EQ(stats_now().free_bytes, 3 * PAGE);
    CHECK(kmalloc(3 * PAGE) == NULL);
    CHECK_EQ(stats_now().failed_allocations, 1);
    CHECK(kmalloc(2 * PAGE) != NULL);
    CHECK(heap_check() == 0);
}

static void kcalloc_zeroes_a_whole_page_run(void)
{
    memset(arena, 0xaa, block_bytes(16));
    add_blocks(0, block_bytes(16));
    unsigned char *p = kcalloc(3, PAGE);
    CHECK(p != NULL && (uintptr_t)p % PAGE == 0);
    for (size_t i = 0; i < 3 * PAGE; i++)
        CHECK_EQ(p[i], 0);
}

/* ---- across the page boundary ---------------------------------------------------- */

static void a_free_page_splits_into_small_blocks_and_its_frame_says_so(void)
{
    unsigned m = heap_min_scale();

    add_blocks(0, block_bytes(16));
    void *p = kmalloc(1);
    CHECK_EQ((uintptr_t)p, at(HEAP_HEADER_BYTES));
    CHECK_EQ(entry_of(at(0))->state, HEAP_FRAME_SMALL);
    CHECK_EQ(header_of(at(0))->scale, m);                   /* its header in band */
    for (unsigned s = 12; s < 16; s++) {                    /* the page halves' in the table */
        CHECK_EQ(entry_of(at(block_bytes(s)))->state, HEAP_BLOCK_FREE);
        CHECK_EQ(entry_of(at(block_bytes(s)))->scale, s);
    }
    CHECK_EQ(header_of(at(block_bytes(11)))->state, HEAP_BLOCK_FREE);
    CHECK(heap_check() == 0);
}

/* The page its small blocks merge into merges on downwards: its frame must stop saying SMALL. */
static void small_buddies_merge_back_into_a_page_block(void)
{
    add_blocks(0, block_bytes(16));
    void *page = kmalloc(PAGE);
    void *small = kmalloc(1);
    CHECK_EQ(block_of(small), at(PAGE));
    CHECK_EQ(entry_of(at(PAGE))->state, HEAP_FRAME_SMALL);
    kfree(page);                    /* its buddy is carved into small blocks: no merge */
    CHECK_EQ(heap_free_count(12), 1);
    kfree(small);
    CHECK_FREE_SCALES(16);
    CHECK_EQ(entry_of(at(0))->state, HEAP_BLOCK_FREE);
    CHECK_EQ(entry_of(at(0))->scale, 16);
    CHECK(entry_of(at(PAGE))->state != HEAP_FRAME_SMALL);
    CHECK(heap_check() == 0);
}

static void small_payloads_are_never_page_aligned_and_page_blocks_always_are(void)
{
    add_blocks(0, block_bytes(18));
    for (unsigned s = heap_min_scale(); s < HEAP_PAGE_SCALE; s++)
        for (int i = 0; i < 3; i++)
            CHECK((uintptr_t)kmalloc(heap_scale_payload(s)) % PAGE != 0);
    for (size_t size = heap_scale_payload(11) + 1; size < 9 * PAGE; size += 1111)
        CHECK((uintptr_t)kmalloc(size) % PAGE == 0);
    CHECK(heap_check() == 0);
}

/* ---- refusals of page pointers ----------------------------------------------------- */

static void kfree_refuses_the_middle_of_a_page_run(void)
{
    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(5 * PAGE);
    for (size_t i = 1; i < 5; i++)
        CHECK_KFREE_REFUSED(p + i * PAGE, HEAP_INSIDE_BLOCK);
    CHECK_KFREE_REFUSED(p + 1, HEAP_INSIDE_BLOCK);
    CHECK_KFREE_REFUSED(p + HEAP_HEADER_BYTES, HEAP_INSIDE_BLOCK);    /* like a small payload */
    CHECK_KFREE_REFUSED(p + PAGE + HEAP_HEADER_BYTES, HEAP_INSIDE_BLOCK);
    CHECK_KFREE_REFUSED(p + 5 * PAGE - 8, HEAP_INSIDE_BLOCK);
    CHECK(heap_free(p + 2 * PAGE) == HEAP_INSIDE_BLOCK);
    kfree(p);
    CHECK_FREE_SCALES(16);
}

static void kfree_refuses_a_page_block_already_free(void)
{
    add_blocks(0, block_bytes(16));
    void *p = kmalloc(PAGE), *q = kmalloc(PAGE);
    kfree(p);
    CHECK_KFREE_REFUSED(p, HEAP_DOUBLE_FREE);
    kfree(q);                       /* merges with p: q's entry stays behind, saying free */
    CHECK_KFREE_REFUSED(q, HEAP_DOUBLE_FREE);
    CHECK_KFREE_REFUSED(p, HEAP_DOUBLE_FREE);
    CHECK_KFREE_REFUSED((void *)at(block_bytes(15)), HEAP_DOUBLE_FREE);    /* free, never used */
}

static void kfree_refuses_a_page_never_handed_out(void)
{
    add_blocks(0, block_bytes(16));
    kmalloc(1);                                         /* frame 0: small blocks */
    unsigned char *run = kmalloc(3 * PAGE);             /* at 16K */
    CHECK_EQ((uintptr_t)run, at(4 * PAGE));
    kfree(run);
    CHECK_KFREE_REFUSED((void *)at(0), HEAP_NOT_HANDED_OUT);          /* a frame of small blocks */
    CHECK_KFREE_REFUSED((void *)at(10 * PAGE), HEAP_NOT_HANDED_OUT);  /* inside a free 32K block */
    CHECK_KFREE_REFUSED(run + PAGE, HEAP_NOT_HANDED_OUT);             /* of a run freed since */
    CHECK_KFREE_REFUSED(run + 2 * PAGE, HEAP_NOT_HANDED_OUT);
}

static void kfree_refuses_a_pointer_into_a_free_page_block(void)
{
    add_blocks(0, block_bytes(16));
    CHECK_KFREE_REFUSED((void *)at(10 * PAGE + 100), HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED((void *)at(10 * PAGE + HEAP_HEADER_BYTES), HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED((void *)at(PAGE - 4), HEAP_INVALID_POINTER);
}

/* Its frame merged back into a page, but its header is still there, saying free. */
static void a_small_block_freed_before_its_page_merged_is_still_a_double_free(void)
{
    add_blocks(0, block_bytes(12));
    void *p = kmalloc(1);
    kfree(p);
    CHECK_EQ(entry_of(at(0))->state, HEAP_BLOCK_FREE);
    CHECK_KFREE_REFUSED(p, HEAP_DOUBLE_FREE);
    void *page = kmalloc(PAGE);                         /* now it lies inside a live page block */
    CHECK_EQ((uintptr_t)page, at(0));
    CHECK_KFREE_REFUSED(p, HEAP_INSIDE_BLOCK);
}

static void kfree_refuses_a_corrupted_page_header(void)
{
    add_blocks(0, block_bytes(16));
    void *p = kmalloc(2 * PAGE);
    struct block_header *e = entry_of((uintptr_t)p), saved = *e;
    static const struct {
        uint32_t requested;
        uint8_t scale, state;
        enum heap_status why;
    } damages[] = {
        {2 * PAGE, 14, HEAP_BLOCK_ALLOCATED, HEAP_CORRUPTED_HEADER},    /* check and scale differ */
        {2 * PAGE, 11, HEAP_BLOCK_ALLOCATED, HEAP_CORRUPTED_HEADER},    /* not a page scale */
        {2 * PAGE, 200, HEAP_BLOCK_ALLOCATED, HEAP_CORRUPTED_HEADER},
        {3 * PAGE, 13, HEAP_BLOCK_ALLOCATED, HEAP_CORRUPTED_HEADER},    /* 3 pages need scale 14 */
        {0, 13, HEAP_BLOCK_ALLOCATED, HEAP_CORRUPTED_HEADER},
        {2 * PAGE, 13, 0x77, HEAP_CORRUPTED_HEADER},                    /* no state an entry has */
        {0, 13, HEAP_BLOCK_FREE, HEAP_DOUBLE_FREE},
        {0, 0, HEAP_FRAME_SMALL, HEAP_NOT_HANDED_OUT},
        {0, 0, HEAP_FRAME_NONE, HEAP_NOT_HANDED_OUT},
        {1u << 30, 0, HEAP_FRAME_TAIL, HEAP_NOT_HANDED_OUT},            /* back before the region */
    };

    for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
        *e = saved;
        e->requested = damages[i].requested;
        e->scale = damages[i].scale;
        e->state = damages[i].state;
        CHECK_KFREE_REFUSED(p, damages[i].why);
    }
    *e = saved;
    e->check ^= 1;
    CHECK_KFREE_REFUSED(p, HEAP_CORRUPTED_HEADER);
    *e = saved;
    kfree(p);
    CHECK_FREE_SCALES(16);
}

static void kfree_refuses_pointers_into_the_frame_table(void)
{
    add_blocks(0, block_bytes(16));
    CHECK_KFREE_REFUSED((void *)at(block_bytes(16)), HEAP_INVALID_POINTER);
    CHECK_KFREE_REFUSED((void *)at(block_bytes(16) + HEAP_HEADER_BYTES), HEAP_INVALID_POINTER);
}

static void krealloc_ksize_and_heap_block_of_refuse_the_middle_of_a_page_run(void)
{
    struct snapshot before;

    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(3 * PAGE);
    CHECK_EQ(ksize(p + PAGE), 0);
    CHECK_EQ(heap_block_of(p + PAGE), 0);
    CHECK_EQ(heap_block_scale(p + 100), 0);
    snapshot_take(&before);
    CHECK(krealloc(p + PAGE, 10) == NULL);
    CHECK(snapshot_unchanged(&before, 1));
    CHECK(refusal.why == HEAP_INSIDE_BLOCK && refusal.ptr == p + PAGE && refusal.caller != NULL);
    CHECK(heap_free(p + 1) == HEAP_INSIDE_BLOCK);
    CHECK_EQ(refusal.calls, 1);                         /* heap_free calls no handler */
}

/* ---- krealloc of page runs ------------------------------------------------------------- */

static void krealloc_shrinks_a_page_run_in_place_and_gives_back_its_tail(void)
{
    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(8 * PAGE);
    fill(p, 8 * PAGE, 4);
    CHECK(krealloc(p, 3 * PAGE - 5) == p);
    CHECK(filled(p, 3 * PAGE - 5, 4));
    CHECK_EQ(ksize(p), 3 * PAGE);
    CHECK_EQ(heap_block_scale(p), 14);
    CHECK_FREE_SCALES(12, 14, 15);
    CHECK_EQ(first_free(12), at(3 * PAGE));
    CHECK_EQ(stats_now().allocated_bytes, 3 * PAGE);
    CHECK_EQ(stats_now().requested_bytes, 3 * PAGE - 5);
    CHECK(heap_check() == 0);
    kfree(p);
    CHECK_FREE_SCALES(16);
    CHECK_EQ(stats_now().merges, stats_now().splits);
}

static void krealloc_grows_a_page_run_in_place_over_the_free_pages_after_it(void)
{
    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(3 * PAGE);           /* the 16K block's last page is free */
    fill(p, 3 * PAGE, 5);
    CHECK(krealloc(p, 4 * PAGE) == p);
    CHECK(filled(p, 3 * PAGE, 5));
    CHECK_EQ(ksize(p), 4 * PAGE);
    CHECK_FREE_SCALES(14, 15);
    CHECK_EQ(entry_of(at(3 * PAGE))->state, HEAP_FRAME_TAIL);
    CHECK(heap_check() == 0);
}

static void krealloc_grows_a_page_run_into_the_larger_block_it_starts(void)
{
    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(3 * PAGE);
    fill(p, 3 * PAGE, 6);
    CHECK(krealloc(p, 7 * PAGE) == p);              /* takes 12K-16K and 16K-32K, gives 28K-32K */
    CHECK(filled(p, 3 * PAGE, 6));
    CHECK_EQ(ksize(p), 7 * PAGE);
    CHECK_EQ(heap_block_scale(p), 15);
    CHECK_FREE_SCALES(12, 15);
    CHECK_EQ(first_free(12), at(7 * PAGE));
    CHECK(heap_check() == 0);
    CHECK(krealloc(p, 16 * PAGE) == p);             /* the whole region */
    CHECK_EQ(stats_now().free_bytes, 0);
    CHECK(heap_check() == 0);
    kfree(p);
    CHECK_EQ(stats_now().merges, stats_now().splits);
}

static void krealloc_moves_a_page_run_that_cannot_grow_and_copies_what_was_asked(void)
{
    memset(arena, 0xee, block_bytes(16));
    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(3 * PAGE - 100);
    kmalloc(PAGE);                                  /* takes the page after it */
    fill(p, 3 * PAGE, 7);                           /* all of ksize, past the request */
    unsigned char *q = krealloc(p, 4 * PAGE);
    CHECK(q != NULL && q != p);
    CHECK_EQ((uintptr_t)q, at(4 * PAGE));
    CHECK(filled(q, 3 * PAGE - 100, 7));
    for (size_t i = 3 * PAGE - 100; i < 3 * PAGE; i++)
        CHECK_EQ(q[i], 0xee);                       /* not copied */
    CHECK_EQ(ksize(p), 0);
    CHECK(heap_check() == 0);
}

static void krealloc_keeps_a_page_block_that_shrinks_below_a_page(void)
{
    add_blocks(0, block_bytes(16));
    void *p = kmalloc(2 * PAGE);
    CHECK(krealloc(p, 10) == p);
    CHECK_EQ(ksize(p), PAGE);
    CHECK_EQ(heap_block_scale(p), HEAP_PAGE_SCALE);
    CHECK_EQ(first_free(12), at(PAGE));
    CHECK(heap_check() == 0);
}

static void krealloc_moves_a_small_block_that_grows_past_the_small_limit(void)
{
    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(100);
    fill(p, 100, 8);
    unsigned char *q = krealloc(p, PAGE);
    CHECK(q != NULL && (uintptr_t)q % PAGE == 0);
    CHECK(filled(q, 100, 8));
    CHECK_EQ(ksize(p), 0);
    CHECK(heap_check() == 0);
}

/* Two pages must start an 8 KiB-aligned block: a run on an odd page moves to grow. */
static void krealloc_moves_a_run_whose_start_is_not_aligned_for_its_new_size(void)
{
    add_blocks(0, block_bytes(16));
    void *a = kmalloc(PAGE), *b = kmalloc(PAGE);
    kfree(a);                                       /* b's buddy is free, but b is the upper half */
    void *c = krealloc(b, 2 * PAGE);
    CHECK_EQ((uintptr_t)c, at(2 * PAGE));
    CHECK(heap_check() == 0);
}

static void krealloc_of_a_page_block_fails_when_nothing_holds_the_new_size(void)
{
    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(2 * PAGE);
    fill(p, 2 * PAGE, 9);
    kmalloc(PAGE);                                  /* the page after it */
    CHECK(krealloc(p, SIZE_MAX) == NULL);
    CHECK(krealloc(p, block_bytes(16)) == NULL);    /* would fill the region: in use */
    CHECK(krealloc(p, block_bytes(17)) == NULL);
    CHECK_EQ(stats_now().failed_allocations, 3);
    CHECK_EQ(ksize(p), 2 * PAGE);
    CHECK(filled(p, 2 * PAGE, 9));
    CHECK(heap_check() == 0);
}

/* ---- slabs --------------------------------------------------------------------------- */

static void a_slab_refuses_every_pointer_into_its_pages(void)
{
    struct snapshot before;

    add_blocks(0, block_bytes(16));
    unsigned char *p = kmalloc(3 * PAGE);
    size_t allocated = stats_now().allocated_bytes;
    CHECK(heap_mark_slab(p, 1) == HEAP_OK);
    CHECK_EQ(entry_of((uintptr_t)p)->state, HEAP_BLOCK_SLAB);
    CHECK_KFREE_REFUSED(p, HEAP_SLAB_MEMORY);
    CHECK_KFREE_REFUSED(p + PAGE, HEAP_SLAB_MEMORY);
    CHECK_KFREE_REFUSED(p + 2 * PAGE + 100, HEAP_SLAB_MEMORY);
    CHECK_KFREE_REFUSED(p + HEAP_HEADER_BYTES, HEAP_SLAB_MEMORY);
    CHECK(heap_free(p) == HEAP_SLAB_MEMORY);
    CHECK_EQ(ksize(p), 0);
    CHECK_EQ(heap_block_of(p), 0);
    CHECK_EQ(heap_block_scale(p), 0);
    snapshot_take(&before);
    CHECK(krealloc(p, 10) == NULL);
    CHECK(snapshot_unchanged(&before, 1) && refusal.why == HEAP_SLAB_MEMORY);
    for (size_t offset = 0; offset < 3 * PAGE; offset += 1021)
        CHECK_EQ(heap_slab_of(p + offset), (uintptr_t)p);
    CHECK_EQ(heap_slab_of(p + 3 * PAGE - 1), (uintptr_t)p);
    CHECK_EQ(heap_slab_of(p + 3 * PAGE), 0);        /* the free page after it */
    CHECK_EQ(stats_now().allocated_bytes, allocated);
    CHECK(heap_check() == 0);
    CHECK(heap_mark_slab(p, 0) == HEAP_OK);
    CHECK_EQ(ksize(p), 3 * PAGE);
    kfree(p);
    CHECK_FREE_SCALES(16);
}

/* heap_mark_slab(ptr, slab) must answer why, changing nothing and counting no refusal. */
#define CHECK_MARK_REFUSED(ptr, slab, why) check_mark_refused(__FILE__, __LINE__, ptr, slab, why)
static void check_mark_refused(const char *file, int line, void *ptr, int slab,
                               enum heap_status why)
{
    struct snapshot before;

    snapshot_take(&before);
    CHECK_AT(file, line, heap_mark_slab(ptr, slab) == why);
    CHECK_AT(file, line, snapshot_unchanged(&before, 0));
    CHECK_AT(file, line, refusal.calls == 0);
}

static void heap_mark_slab_refuses_what_is_no_live_page_block_of_its_kind(void)
{
    int local = 0;

    add_blocks(0, block_bytes(16));
    unsigned char *small = kmalloc(10), *run = kmalloc(3 * PAGE), *slab = kmalloc(2 * PAGE);
    CHECK(heap_mark_slab(slab, 1) == HEAP_OK);
    CHECK_MARK_REFUSED(small, 1, HEAP_INVALID_POINTER);         /* a small block */
    CHECK_MARK_REFUSED(small, 0, HEAP_INVALID_POINTER);
    CHECK_MARK_REFUSED(run, 0, HEAP_INVALID_POINTER);           /* no slab to unmark */
    CHECK_MARK_REFUSED(run + PAGE, 1, HEAP_INSIDE_BLOCK);
    CHECK_MARK_REFUSED(slab, 1, HEAP_SLAB_MEMORY);              /* marked twice */
    CHECK_MARK_REFUSED(slab + PAGE, 1, HEAP_SLAB_MEMORY);
    CHECK_MARK_REFUSED(slab + PAGE, 0, HEAP_INSIDE_BLOCK);
    CHECK_MARK_REFUSED(slab + 1, 0, HEAP_INSIDE_BLOCK);
    CHECK_MARK_REFUSED((void *)first_free(15), 1, HEAP_DOUBLE_FREE);
    CHECK_MARK_REFUSED(&local, 1, HEAP_INVALID_POINTER);
    CHECK_MARK_REFUSED(NULL, 1, HEAP_INVALID_POINTER);
    CHECK_MARK_REFUSED((void *)at(block_bytes(16)), 0, HEAP_INVALID_POINTER);  /* the table */
}

static void heap_slab_of_is_zero_outside_slabs(void)
{
    int local = 0;

    add_blocks(0, block_bytes(16));
    unsigned char *small = kmalloc(10), *page = kmalloc(PAGE);
    CHECK_EQ(heap_slab_of(small), 0);
    CHECK_EQ(heap_slab_of((void *)block_of(small)), 0);
    CHECK_EQ(heap_slab_of(page + 5), 0);
    CHECK_EQ(heap_slab_of((void *)first_free(15)), 0);
    CHECK_EQ(heap_slab_of(&local), 0);
    CHECK_EQ(heap_slab_of(NULL), 0);
    CHECK_EQ(heap_slab_of((void *)at(block_bytes(16))), 0);
}

static void heap_report_refusal_counts_and_tells_the_handler(void)
{
    static const int object = 0, caller = 0;

    heap_report_refusal(&(struct heap_refusal){"kmem_cache_free", "names", &object,
                                               HEAP_WRONG_CACHE, &caller});
    CHECK_EQ(stats_now().refused_frees, 1);
    CHECK(refusal.calls == 1 && refusal.ptr == &object && refusal.why == HEAP_WRONG_CACHE);
    CHECK(refusal.caller == &caller && strcmp(refusal.function, "kmem_cache_free") == 0);
    CHECK(strcmp(refusal.cache, "names") == 0);
    heap_on_refusal(NULL);
    heap_report_refusal(&(struct heap_refusal){"kmem_cache_free", "names", &object,
                                               HEAP_NOT_AN_OBJECT, NULL});
    CHECK_EQ(stats_now().refused_frees, 2);
    CHECK_EQ(refusal.calls, 1);
}

/* ---- the page API ---------------------------------------------------------------------- */

static void heap_alloc_pages_gives_2_to_the_order_pages_aligned_to_their_size(void)
{
    add_blocks(0, block_bytes(16));
    for (unsigned order = 0; order < 4; order++) {
        void *p = heap_alloc_pages(order);
        CHECK(p != NULL && (uintptr_t)p % (PAGE << order) == 0);
        CHECK_EQ(ksize(p), PAGE << order);
        heap_free_pages(p);
        CHECK_FREE_SCALES(16);
    }
    CHECK(heap_alloc_pages(5) == NULL);                     /* more than the region */
    CHECK(heap_alloc_pages(HEAP_MAX_SCALE) == NULL);        /* more than any heap */
    CHECK_EQ(stats_now().failed_allocations, 2);
    void *p = heap_alloc_pages(1);
    heap_free_pages((unsigned char *)p + PAGE);             /* refused like kfree, and reported */
    CHECK(refusal.calls == 1 && refusal.why == HEAP_INSIDE_BLOCK && refusal.caller != NULL);
    CHECK_EQ(ksize(p), 2 * PAGE);
}

const struct test page_tests[] = {
    TEST_ENTRY(kmalloc_of_a_page_is_one_page_aligned_page_block),
    TEST_ENTRY(a_request_just_over_the_small_limit_takes_a_whole_page),
    TEST_ENTRY(a_page_block_is_aligned_to_its_size_and_wholly_usable),
    TEST_ENTRY(a_request_over_a_page_keeps_exactly_the_pages_it_needs),
    TEST_ENTRY(kmalloc_of_a_mebibyte_and_8_bytes_costs_a_mebibyte_and_a_page),
    TEST_ENTRY(kfree_of_page_runs_gives_every_piece_back_in_any_order),
    TEST_ENTRY(kmalloc_takes_a_free_page_before_splitting_a_larger_block),
    TEST_ENTRY(kmalloc_refuses_a_page_run_no_free_block_holds),
    TEST_ENTRY(kcalloc_zeroes_a_whole_page_run),
    TEST_ENTRY(a_free_page_splits_into_small_blocks_and_its_frame_says_so),
    TEST_ENTRY(small_buddies_merge_back_into_a_page_block),
    TEST_ENTRY(small_payloads_are_never_page_aligned_and_page_blocks_always_are),
    TEST_ENTRY(kfree_refuses_the_middle_of_a_page_run),
    TEST_ENTRY(kfree_refuses_a_page_block_already_free),
    TEST_ENTRY(kfree_refuses_a_page_never_handed_out),
    TEST_ENTRY(kfree_refuses_a_pointer_into_a_free_page_block),
    TEST_ENTRY(a_small_block_freed_before_its_page_merged_is_still_a_double_free),
    TEST_ENTRY(kfree_refuses_a_corrupted_page_header),
    TEST_ENTRY(kfree_refuses_pointers_into_the_frame_table),
    TEST_ENTRY(krealloc_ksize_and_heap_block_of_refuse_the_middle_of_a_page_run),
    TEST_ENTRY(krealloc_shrinks_a_page_run_in_place_and_gives_back_its_tail),
    TEST_ENTRY(krealloc_grows_a_page_run_in_place_over_the_free_pages_after_it),
    TEST_ENTRY(krealloc_grows_a_page_run_into_the_larger_block_it_starts),
    TEST_ENTRY(krealloc_moves_a_page_run_that_cannot_grow_and_copies_what_was_asked),
    TEST_ENTRY(krealloc_keeps_a_page_block_that_shrinks_below_a_page),
    TEST_ENTRY(krealloc_moves_a_small_block_that_grows_past_the_small_limit),
    TEST_ENTRY(krealloc_moves_a_run_whose_start_is_not_aligned_for_its_new_size),
    TEST_ENTRY(krealloc_of_a_page_block_fails_when_nothing_holds_the_new_size),
    TEST_ENTRY(a_slab_refuses_every_pointer_into_its_pages),
    TEST_ENTRY(heap_mark_slab_refuses_what_is_no_live_page_block_of_its_kind),
    TEST_ENTRY(heap_slab_of_is_zero_outside_slabs),
    TEST_ENTRY(heap_report_refusal_counts_and_tells_the_handler),
    TEST_ENTRY(heap_alloc_pages_gives_2_to_the_order_pages_aligned_to_their_size),
};
const size_t page_test_count = sizeof(page_tests) / sizeof(page_tests[0]);
