/*
 * unit.c - host unit tests of src/memory/guard.c, the guarded-object pool.
 * The pool's memory is mmap'd and its map and unmap callbacks really change
 * the pages with mprotect, so a test that touches a page the pool says is
 * not present crashes, and one that writes a live object proves it mapped.
 * The callbacks also keep a table of what they were told, which the tests
 * compare with what guard.h promises. The sampler tests run the real heap
 * (src/memory/heap.c) with the pool behind it. Prints a line per test, then
 * "N passed, N failed".
 */
#define _DEFAULT_SOURCE             /* mmap's MAP_ANONYMOUS */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../lib/check.h"
#include "memory/guard.h"
#include "memory/heap.h"

#define PAGE GUARD_PAGE_BYTES
#define POOL_PAGES (GUARD_POOL_BYTES / PAGE)
#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* ---- fixtures: the pool's memory and its pages ---------------------------------------- */

static unsigned char *memory;           /* GUARD_POOL_BYTES, page aligned, from mmap */

static struct {
    bool present[POOL_PAGES];
    size_t maps, unmaps;
    size_t fail_map_after;              /* this many more maps succeed, then they fail */
    size_t fail_unmap_after;
    size_t wrong_context;
} pages;

static struct guard_pool pool;

static size_t page_number(uintptr_t page) { return (page - (uintptr_t)memory) / PAGE; }

static bool fake_map(uintptr_t page, void *context)
{
    pages.wrong_context += context != &pages;
    if (pages.fail_map_after-- == 0)
        return false;
    CHECK(page % PAGE == 0 && page_number(page) < POOL_PAGES);
    pages.present[page_number(page)] = true;
    pages.maps++;
    return mprotect((void *)page, PAGE, PROT_READ | PROT_WRITE) == 0;
}

static bool fake_unmap(uintptr_t page, void *context)
{
    pages.wrong_context += context != &pages;
    if (pages.fail_unmap_after-- == 0)
        return false;
    CHECK(page % PAGE == 0 && page_number(page) < POOL_PAGES);
    pages.present[page_number(page)] = false;
    pages.unmaps++;
    return mprotect((void *)page, PAGE, PROT_NONE) == 0;
}

static const struct guard_pages fake_pages = { fake_map, fake_unmap, &pages };

static size_t present_count(void)
{
    size_t n = 0;

    for (size_t i = 0; i < POOL_PAGES; i++)
        n += pages.present[i];
    return n;
}

/* Every test starts with the memory mapped and a fresh pool over it. */
static void before(void)
{
    memset(&pages, 0, sizeof(pages));
    pages.fail_map_after = pages.fail_unmap_after = SIZE_MAX;
    for (size_t i = 0; i < POOL_PAGES; i++)
        pages.present[i] = true;
    CHECK(mprotect(memory, GUARD_POOL_BYTES, PROT_READ | PROT_WRITE) == 0);
    CHECK_EQ(guard_pool_init(&pool, memory, fake_pages), GUARD_OK);
}

static void after(void)
{
    CHECK_EQ(pages.wrong_context, 0);
    guard_sample(NULL);
}

static uintptr_t page_of(const void *p) { return (uintptr_t)p & ~(uintptr_t)(PAGE - 1); }

/* ---- setting up ------------------------------------------------------------------------ */

static void init_makes_every_page_of_the_pool_not_present(void)
{
    uintptr_t start, end;

    CHECK_EQ(present_count(), 0);
    CHECK_EQ(pages.unmaps, POOL_PAGES);
    CHECK(guard_range(&pool, &start, &end));
    CHECK_EQ(start, (uintptr_t)memory);
    CHECK_EQ(end - start, GUARD_POOL_BYTES);
    CHECK_EQ(GUARD_POOL_BYTES, 512 * 1024);
}

static void init_refuses_memory_that_is_not_page_aligned_and_touches_nothing(void)
{
    struct guard_pool other;

    pages.unmaps = 0;
    CHECK_EQ(guard_pool_init(&other, memory + 8, fake_pages), GUARD_MISALIGNED);
    CHECK_EQ(guard_pool_init(&other, NULL, fake_pages), GUARD_MISALIGNED);
    CHECK_EQ(pages.unmaps, 0);
    CHECK(!guard_owns(&other, memory + 8));
    CHECK(guard_alloc(&other, 8, NULL) == NULL);
}

static void init_that_cannot_unmap_maps_back_what_it_unmapped_and_owns_nothing(void)
{
    struct guard_pool other;

    CHECK(mprotect(memory, GUARD_POOL_BYTES, PROT_READ | PROT_WRITE) == 0);
    for (size_t i = 0; i < POOL_PAGES; i++)
        pages.present[i] = true;
    pages.fail_unmap_after = 5;
    CHECK_EQ(guard_pool_init(&other, memory, fake_pages), GUARD_MAP_FAILED);
    CHECK_EQ(present_count(), POOL_PAGES);
    memory[0] = memory[5 * PAGE] = 1;           /* mapped back: no crash */
    CHECK(!guard_owns(&other, memory));
    CHECK(guard_alloc(&other, 8, NULL) == NULL);
}

/* ---- allocating ------------------------------------------------------------------------ */

static void an_object_ends_at_its_page_end_rounded_to_8_before_a_guard_page(void)
{
    static const size_t sizes[] = { 1, 7, 8, 9, 24, 100, 1000, 2039, GUARD_MAX_SIZE };

    for (size_t i = 0; i < COUNT(sizes); i++) {
        unsigned char *p = guard_alloc(&pool, sizes[i], (void *)0x1234);
        CHECK(p != NULL);
        CHECK_EQ((uintptr_t)p % HEAP_ALIGNMENT, 0);
        uintptr_t page_end = page_of(p) + PAGE;
        size_t slack = page_end - ((uintptr_t)p + sizes[i]);
        CHECK(slack < HEAP_ALIGNMENT);
        CHECK_EQ(slack, (HEAP_ALIGNMENT - sizes[i] % HEAP_ALIGNMENT) % HEAP_ALIGNMENT);
        CHECK(pages.present[page_number(page_of(p))]);
        CHECK(!pages.present[page_number(page_end)]);       /* the guard page */
        memset(p, 0x5a, sizes[i]);                          /* mapped: no crash */
        CHECK_EQ(guard_size(&pool, p), sizes[i]);
    }
    CHECK_EQ(present_count(), COUNT(sizes));
}

static void objects_are_handed_out_in_slot_order_from_a_fresh_pool(void)
{
    for (unsigned i = 0; i < 4; i++) {
        void *p = guard_alloc(&pool, 16, NULL);
        CHECK_EQ(page_of(p), (uintptr_t)memory + (uintptr_t)i * 2 * PAGE);
    }
}

static void sizes_0_and_more_than_a_small_block_are_declined(void)
{
    CHECK(guard_alloc(&pool, 0, NULL) == NULL);
    CHECK(guard_alloc(&pool, GUARD_MAX_SIZE + 1, NULL) == NULL);
    CHECK(guard_alloc(&pool, PAGE, NULL) == NULL);
    CHECK_EQ(GUARD_MAX_SIZE, heap_scale_payload(HEAP_PAGE_SCALE - 1));
    CHECK_EQ(pool.stats.declined, 3);
    CHECK_EQ(pages.maps, 0);
}

static void with_every_object_live_the_next_is_declined_and_nothing_changes(void)
{
    for (unsigned i = 0; i < GUARD_OBJECTS; i++)
        CHECK(guard_alloc(&pool, 40, NULL) != NULL);
    size_t maps = pages.maps;
    CHECK(guard_alloc(&pool, 40, NULL) == NULL);
    CHECK_EQ(pages.maps, maps);
    CHECK_EQ(pool.stats.live, GUARD_OBJECTS);
    CHECK_EQ(pool.stats.declined, 1);
    CHECK_EQ(present_count(), GUARD_OBJECTS);
}

static void a_map_that_fails_declines_and_the_slot_stays_first_in_line(void)
{
    pages.fail_map_after = 0;
    CHECK(guard_alloc(&pool, 32, NULL) == NULL);
    CHECK_EQ(pool.stats.declined, 1);
    CHECK_EQ(pool.stats.live, 0);
    void *p = guard_alloc(&pool, 32, NULL);
    CHECK_EQ(page_of(p), (uintptr_t)memory);                /* slot 0 again */
}

/* ---- freeing --------------------------------------------------------------------------- */

static void free_unmaps_the_page_and_keeps_both_callers(void)
{
    struct guard_object object;
    void *p = guard_alloc(&pool, 48, (void *)0xa11c);

    CHECK_EQ(guard_free(&pool, p, (void *)0xf7ee), GUARD_OK);
    CHECK(!pages.present[page_number(page_of(p))]);
    CHECK(guard_object(&pool, 0, &object));
    CHECK_EQ(object.state, GUARD_FREED);
    CHECK_EQ(object.start, (uintptr_t)p);
    CHECK_EQ(object.size, 48);
    CHECK(object.alloc_caller == (void *)0xa11c && object.free_caller == (void *)0xf7ee);
    CHECK_EQ(guard_size(&pool, p), 0);
    CHECK_EQ(pool.stats.frees, 1);
    CHECK_EQ(pool.stats.live, 0);
}

static void freed_slots_are_reused_least_recently_freed_first(void)
{
    void *p[GUARD_OBJECTS];

    for (unsigned i = 0; i < GUARD_OBJECTS; i++)
        p[i] = guard_alloc(&pool, 8, NULL);
    static const unsigned freed[] = { 7, 2, 40, 0, 63 };
    for (size_t i = 0; i < COUNT(freed); i++)
        CHECK_EQ(guard_free(&pool, p[freed[i]], NULL), GUARD_OK);
    for (size_t i = 0; i < COUNT(freed); i++)
        CHECK_EQ(page_of(guard_alloc(&pool, 8, NULL)), page_of(p[freed[i]]));
    CHECK(guard_alloc(&pool, 8, NULL) == NULL);
}

static void a_freed_slot_waits_behind_every_slot_never_used(void)
{
    void *first = guard_alloc(&pool, 8, NULL);

    CHECK_EQ(guard_free(&pool, first, NULL), GUARD_OK);
    for (unsigned i = 1; i < GUARD_OBJECTS; i++)
        CHECK(page_of(guard_alloc(&pool, 8, NULL)) != page_of(first));
    CHECK_EQ(page_of(guard_alloc(&pool, 8, NULL)), page_of(first));
}

static void bad_frees_are_refused_and_change_nothing(void)
{
    unsigned char *p = guard_alloc(&pool, 64, NULL);
    unsigned char outside[16];
    struct guard_object object;

    CHECK_EQ(guard_free(&pool, p + 8, NULL), GUARD_NOT_AN_OBJECT);
    CHECK_EQ(guard_free(&pool, memory + 2 * PAGE + 4000, NULL), GUARD_NOT_AN_OBJECT);  /* unused */
    CHECK_EQ(guard_free(&pool, outside, NULL), GUARD_NOT_IN_POOL);
    CHECK_EQ(pool.stats.refused_frees, 3);
    CHECK_EQ(guard_size(&pool, p), 64);
    p[63] = 1;                                              /* still mapped */
    CHECK_EQ(guard_free(&pool, p, NULL), GUARD_OK);
    CHECK_EQ(guard_free(&pool, p, (void *)0xbad), GUARD_DOUBLE_FREE);
    CHECK(guard_object(&pool, 0, &object) && object.free_caller == NULL);
    CHECK_EQ(pool.stats.frees, 1);
    CHECK_EQ(pool.stats.refused_frees, 4);
}

static void an_unmap_that_fails_still_frees_the_object(void)
{
    void *p = guard_alloc(&pool, 16, NULL);

    pages.fail_unmap_after = 0;
    CHECK_EQ(guard_free(&pool, p, NULL), GUARD_MAP_FAILED);
    CHECK_EQ(pool.stats.live, 0);
    CHECK_EQ(guard_size(&pool, p), 0);
    CHECK(guard_alloc(&pool, 16, NULL) != NULL);
}

/* ---- faults ---------------------------------------------------------------------------- */

static void an_access_to_a_freed_object_is_a_use_after_free(void)
{
    unsigned char *p = guard_alloc(&pool, 32, (void *)0xa);
    struct guard_fault fault;

    guard_free(&pool, p, (void *)0xf);
    CHECK(guard_fault(&pool, (uintptr_t)p + 4, &fault));
    CHECK_EQ(fault.kind, GUARD_USE_AFTER_FREE);
    CHECK_EQ(fault.address, (uintptr_t)p + 4);
    CHECK_EQ(fault.object.index, 0);
    CHECK_EQ(fault.object.start, (uintptr_t)p);
    CHECK_EQ(fault.object.size, 32);
    CHECK(fault.object.alloc_caller == (void *)0xa && fault.object.free_caller == (void *)0xf);
    CHECK_EQ(strcmp(guard_fault_name(fault.kind), "use-after-free"), 0);
}

static void an_access_to_the_guard_page_is_out_of_bounds_counted_from_the_end(void)
{
    guard_alloc(&pool, 8, NULL);
    unsigned char *p = guard_alloc(&pool, 24, NULL);        /* object #1, ends at its page's end */
    unsigned char *q = guard_alloc(&pool, 20, NULL);        /* object #2, 4 bytes short of it */
    struct guard_fault fault;

    CHECK(guard_fault(&pool, (uintptr_t)p + 24, &fault));
    CHECK_EQ(fault.kind, GUARD_OUT_OF_BOUNDS);
    CHECK_EQ(fault.object.index, 1);
    CHECK_EQ(fault.bytes_right, 1);
    CHECK(guard_fault(&pool, (uintptr_t)q + 24 + 100, &fault));
    CHECK_EQ(fault.object.index, 2);
    CHECK_EQ(fault.bytes_right, 105);
    guard_free(&pool, p, NULL);
    CHECK(guard_fault(&pool, (uintptr_t)p + 30, &fault));   /* past a freed object: still bounds */
    CHECK_EQ(fault.kind, GUARD_OUT_OF_BOUNDS);
    CHECK_EQ(strcmp(guard_fault_name(fault.kind), "out-of-bounds"), 0);
}

static void an_access_to_a_slot_never_used_is_an_invalid_access_and_outside_is_not_ours(void)
{
    struct guard_fault fault;
    int outside;

    CHECK(guard_fault(&pool, (uintptr_t)memory + 6 * PAGE + 12, &fault));
    CHECK_EQ(fault.kind, GUARD_INVALID_ACCESS);
    CHECK_EQ(fault.object.index, 3);
    CHECK_EQ(fault.object.state, GUARD_UNUSED);
    CHECK(!guard_fault(&pool, (uintptr_t)&outside, &fault));
    CHECK(!guard_fault(&pool, (uintptr_t)memory + GUARD_POOL_BYTES, &fault));
    CHECK(guard_owns(&pool, memory + GUARD_POOL_BYTES - 1));
    CHECK(!guard_owns(&pool, memory - 1));
}

static void objects_are_described_by_index_and_a_bad_index_is_refused(void)
{
    struct guard_object object;
    void *p = guard_alloc(&pool, 100, (void *)0xc0de);

    CHECK(guard_object(&pool, 0, &object));
    CHECK_EQ(object.state, GUARD_LIVE);
    CHECK_EQ(object.start, (uintptr_t)p);
    CHECK(object.alloc_caller == (void *)0xc0de && object.free_caller == NULL);
    CHECK(guard_object(&pool, 1, &object));
    CHECK_EQ(object.state, GUARD_UNUSED);
    CHECK_EQ(object.start, 0);
    CHECK(!guard_object(&pool, GUARD_OBJECTS, &object));
}

static void a_slot_holds_no_address_of_its_object(void)
{
    unsigned char *p = guard_alloc(&pool, 200, NULL);
    const unsigned char *slots = (const unsigned char *)pool.slots;

    for (size_t i = 0; i + sizeof(uintptr_t) <= sizeof(pool.slots); i++) {
        uintptr_t word;
        memcpy(&word, slots + i, sizeof word);
        CHECK(!(word >= (uintptr_t)p && word < (uintptr_t)p + 200));
    }
}

/* ---- sampling the heap (the real heap.c) -------------------------------------------------- */

#define HEAP_BYTES ((size_t)1 << 20)

static _Alignas(4096) unsigned char heap_memory[HEAP_BYTES];
static struct {
    size_t count;
    const char *function;
    const void *ptr;
    enum heap_status why;
} refusals;

static void note_refusal(const struct heap_refusal *refusal)
{
    refusals.count++;
    refusals.function = refusal->function;
    refusals.ptr = refusal->ptr;
    refusals.why = refusal->why;
}

static void sampled_heap(void)
{
    heap_init();
    CHECK(heap_add_region(heap_memory, HEAP_BYTES) > 0);
    memset(&refusals, 0, sizeof(refusals));
    heap_on_refusal(note_refusal);
    guard_sample(&pool);
}

static void every_97th_small_kmalloc_is_a_guarded_object(void)
{
    static void *p[3 * GUARD_SAMPLE_EVERY];
    size_t guarded = 0;

    sampled_heap();
    for (size_t i = 0; i < COUNT(p); i++) {
        p[i] = kmalloc(1 + i % 100);
        guarded += guard_owns(&pool, p[i]);
    }
    CHECK_EQ(guarded, 3);               /* any 291 calls in a row hold three 97th ones */
    CHECK_EQ(pool.stats.live, 3);
    for (size_t i = 0; i < COUNT(p); i++)
        kfree(p[i]);
    CHECK_EQ(pool.stats.live, 0);
    CHECK_EQ(pool.stats.frees, 3);
    CHECK_EQ(present_count(), 0);
    CHECK_EQ(refusals.count, 0);
    CHECK_EQ(heap_check(), 0);
}

static void page_block_requests_are_declined_and_stay_page_aligned(void)
{
    sampled_heap();
    for (size_t i = 0; i < 2 * GUARD_SAMPLE_EVERY; i++) {
        void *p = kmalloc(GUARD_MAX_SIZE + 1 + i % 2000);
        CHECK(p != NULL && !guard_owns(&pool, p));
        CHECK_EQ((uintptr_t)p % HEAP_PAGE_BYTES, 0);
        kfree(p);
    }
    CHECK_EQ(pool.stats.allocations, 0);
}

static void unsampled_allocations_never_come_from_the_pool(void)
{
    sampled_heap();
    for (size_t i = 0; i < 2 * GUARD_SAMPLE_EVERY; i++) {
        void *p = heap_alloc_unsampled(16);
        CHECK(!guard_owns(&pool, p));
        kfree(p);
    }
    guard_sample(NULL);
    for (size_t i = 0; i < 2 * GUARD_SAMPLE_EVERY; i++) {
        void *p = kmalloc(16);
        CHECK(!guard_owns(&pool, p));
        kfree(p);
    }
    CHECK_EQ(pool.stats.allocations, 0);
}

static size_t stats_refused(void)
{
    struct heap_stats s;

    heap_get_stats(&s);
    return s.refused_frees;
}

/* kmalloc until the pool answers: the object it gave. */
static unsigned char *sampled_kmalloc(size_t size)
{
    for (size_t i = 0; i < GUARD_SAMPLE_EVERY; i++) {
        unsigned char *p = kmalloc(size);
        if (guard_owns(&pool, p))
            return p;
        kfree(p);
    }
    CHECK(!"no kmalloc in 97 went to the pool");
    return NULL;
}

static void a_bad_kfree_of_a_guarded_object_is_refused_through_the_heap(void)
{
    sampled_heap();
    unsigned char *p = sampled_kmalloc(40);
    if (p == NULL)
        return;
    kfree(p + 8);
    CHECK_EQ(refusals.count, 1);
    CHECK(refusals.ptr == p + 8 && refusals.why == HEAP_INVALID_POINTER);
    kfree(p);
    CHECK_EQ(refusals.count, 1);
    kfree(p);
    CHECK_EQ(refusals.count, 2);
    CHECK(refusals.ptr == p && refusals.why == HEAP_DOUBLE_FREE);
    CHECK(strcmp(refusals.function, "kfree") == 0);
    CHECK_EQ(pool.stats.frees, 1);
}

static void heap_free_of_a_freed_guarded_object_says_double_free_and_reports_nothing(void)
{
    sampled_heap();
    unsigned char *p = sampled_kmalloc(40);
    if (p == NULL)
        return;
    CHECK_EQ(heap_free(p), HEAP_OK);
    size_t refused = stats_refused();
    CHECK_EQ(heap_free(p), HEAP_DOUBLE_FREE);
    CHECK_EQ(heap_free(p + 8), HEAP_INVALID_POINTER);
    CHECK_EQ(stats_refused(), refused + 2);
    CHECK_EQ(refusals.count, 0);
    CHECK_EQ(pool.stats.frees, 1);
}

static void krealloc_of_a_freed_guarded_object_is_refused_and_allocates_nothing(void)
{
    sampled_heap();
    unsigned char *p = sampled_kmalloc(40);
    if (p == NULL)
        return;
    kfree(p);
    struct heap_stats before;
    heap_get_stats(&before);
    CHECK(krealloc(p, 100) == NULL);
    CHECK(refusals.count == 1 && refusals.ptr == p && refusals.why == HEAP_DOUBLE_FREE);
    CHECK(strcmp(refusals.function, "krealloc") == 0);
    CHECK(krealloc(p, 0) == NULL);
    CHECK(refusals.count == 2 && strcmp(refusals.function, "krealloc") == 0);
    struct heap_stats after;
    heap_get_stats(&after);
    CHECK_EQ(after.allocations, before.allocations);
    CHECK_EQ(after.allocated_bytes, before.allocated_bytes);
    CHECK_EQ(after.refused_frees, before.refused_frees + 2);
    CHECK_EQ(pool.stats.allocations, 1);
    CHECK_EQ(pool.stats.frees, 1);
    CHECK_EQ(heap_check(), 0);
}

static void ksize_and_krealloc_treat_a_guarded_object_as_its_size(void)
{
    sampled_heap();
    unsigned char *p = sampled_kmalloc(100);
    if (p == NULL)
        return;
    CHECK_EQ(ksize(p), 100);
    for (unsigned i = 0; i < 100; i++)
        p[i] = (unsigned char)i;
    unsigned char *q = krealloc(p, 300);
    CHECK(q != NULL && q != p);
    for (unsigned i = 0; q != NULL && i < 100; i++)
        CHECK_EQ(q[i], i);
    CHECK_EQ(guard_size(&pool, p), 0);
    CHECK(!pages.present[page_number(page_of(p))]);
    kfree(q);
    CHECK_EQ(refusals.count, 0);
    CHECK_EQ(heap_check(), 0);
}

static const struct test pool_tests[] = {
    TEST_ENTRY(init_makes_every_page_of_the_pool_not_present),
    TEST_ENTRY(init_refuses_memory_that_is_not_page_aligned_and_touches_nothing),
    TEST_ENTRY(init_that_cannot_unmap_maps_back_what_it_unmapped_and_owns_nothing),
    TEST_ENTRY(an_object_ends_at_its_page_end_rounded_to_8_before_a_guard_page),
    TEST_ENTRY(objects_are_handed_out_in_slot_order_from_a_fresh_pool),
    TEST_ENTRY(sizes_0_and_more_than_a_small_block_are_declined),
    TEST_ENTRY(with_every_object_live_the_next_is_declined_and_nothing_changes),
    TEST_ENTRY(a_map_that_fails_declines_and_the_slot_stays_first_in_line),
    TEST_ENTRY(free_unmaps_the_page_and_keeps_both_callers),
    TEST_ENTRY(freed_slots_are_reused_least_recently_freed_first),
    TEST_ENTRY(a_freed_slot_waits_behind_every_slot_never_used),
    TEST_ENTRY(bad_frees_are_refused_and_change_nothing),
    TEST_ENTRY(an_unmap_that_fails_still_frees_the_object),
    TEST_ENTRY(an_access_to_a_freed_object_is_a_use_after_free),
    TEST_ENTRY(an_access_to_the_guard_page_is_out_of_bounds_counted_from_the_end),
    TEST_ENTRY(an_access_to_a_slot_never_used_is_an_invalid_access_and_outside_is_not_ours),
    TEST_ENTRY(objects_are_described_by_index_and_a_bad_index_is_refused),
    TEST_ENTRY(a_slot_holds_no_address_of_its_object),
    TEST_ENTRY(every_97th_small_kmalloc_is_a_guarded_object),
    TEST_ENTRY(page_block_requests_are_declined_and_stay_page_aligned),
    TEST_ENTRY(unsampled_allocations_never_come_from_the_pool),
    TEST_ENTRY(a_bad_kfree_of_a_guarded_object_is_refused_through_the_heap),
    TEST_ENTRY(heap_free_of_a_freed_guarded_object_says_double_free_and_reports_nothing),
    TEST_ENTRY(krealloc_of_a_freed_guarded_object_is_refused_and_allocates_nothing),
    TEST_ENTRY(ksize_and_krealloc_treat_a_guarded_object_as_its_size),
};

int main(void)
{
    int passed = 0, failed = 0;

    memory = mmap(NULL, GUARD_POOL_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                  -1, 0);
    if (memory == MAP_FAILED) {
        printf("FAIL mmap of the pool's %zu bytes\n0 passed, 1 failed\n", (size_t)GUARD_POOL_BYTES);
        return 1;
    }
    check_run(pool_tests, COUNT(pool_tests), before, after, &passed, &failed);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
