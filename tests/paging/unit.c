/*
 * unit.c - host unit tests of src/memory/paging.c: the directory and tables
 * it builds from a table of ranges (read back entry by entry), map, unmap
 * and translate, the runs the v key will print, the counts, running out of
 * table pages, and the #PF error-code words. Page-table pages come from a
 * static pool, which sits below 4 GiB because paging.mk links without PIE:
 * entries hold 32-bit addresses. Prints a line per test, then "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/check.h"
#include "memory/paging.h"

/* ---- fixtures ------------------------------------------------------------------ */

#define KIB ((uintptr_t)1 << 10)
#define MIB ((uintptr_t)1 << 20)
#define PAGE PAGING_PAGE_BYTES
#define LARGE PAGING_LARGE_BYTES
#define P PAGING_PRESENT
#define W PAGING_WRITABLE
#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/*
 * The pool: page-table pages for the tests, enough for an identity map of
 * 3.5 GiB in 4 KiB pages (896 tables and the directory). Each page handed
 * out is first filled with POISON, so paging.c must zero what it takes.
 */
#define POOL_PAGES 1024
#define POISON 0xa5

static _Alignas(4096) uint32_t pool_pages[POOL_PAGES][PAGING_ENTRIES];

static struct {
    bool used[POOL_PAGES];
    size_t in_use;              /* pages out now */
    size_t allocations, frees;
    size_t bad_frees;           /* free of a page not out, or not from the pool */
    size_t limit;               /* allocations still allowed */
    size_t wrong_context;       /* callbacks that did not get &pool */
} pool;

static void *pool_alloc(void *context)
{
    pool.wrong_context += context != &pool;
    if (pool.limit == 0)
        return NULL;
    for (size_t i = 0; i < POOL_PAGES; i++) {
        if (!pool.used[i]) {
            pool.used[i] = true;
            pool.in_use++;
            pool.allocations++;
            pool.limit--;
            memset(pool_pages[i], POISON, PAGE);
            return pool_pages[i];
        }
    }
    return NULL;
}

/* Takes back a pool page, or any address inside one (the misaligned allocator's). */
static void pool_free(void *page, void *context)
{
    uintptr_t offset = (uintptr_t)page - (uintptr_t)pool_pages;
    size_t i = offset / PAGE;

    pool.wrong_context += context != &pool;
    if ((uintptr_t)page < (uintptr_t)pool_pages || i >= POOL_PAGES || !pool.used[i]) {
        pool.bad_frees++;
        return;
    }
    pool.used[i] = false;
    pool.in_use--;
    pool.frees++;
}

static const struct paging_allocator pool_allocator = { pool_alloc, pool_free, &pool };

/* The space every test builds; the teardown destroys it. */
static struct paging_space space;

/* Build ranges into space from the pool; checks it succeeded. */
#define BUILD(ranges) CHECK_EQ(paging_build(&space, pool_allocator, ranges, COUNT(ranges), NULL), \
                               PAGING_OK)

/* Entries read straight from memory, without paging.c. */
static uint32_t directory_entry(uintptr_t va)
{
    return space.directory[va >> 22];
}

static uint32_t table_entry(uintptr_t va)
{
    uint32_t pde = directory_entry(va);

    if (!(pde & P) || (pde & PAGING_LARGE))
        return 0;
    return ((const uint32_t *)(uintptr_t)(pde & PAGING_ADDRESS_MASK))[(va >> 12) & 0x3ff];
}

/* The flags translate reports for va, or 0 when it is not present. */
static uint32_t flags_at(uintptr_t va)
{
    uint32_t flags = 0;

    return paging_translate(&space, va, NULL, &flags) == PAGING_OK ? flags : 0;
}

/* The frame translate reports for va, or 1 (no frame is odd) when it is not present. */
static uintptr_t phys_at(uintptr_t va)
{
    uintptr_t phys = 1;

    return paging_translate(&space, va, &phys, NULL) == PAGING_OK ? phys : 1;
}

static struct paging_stats stats_now(void)
{
    struct paging_stats stats;

    paging_get_stats(&space, &stats);
    return stats;
}

/*
 * A layout like QEMU's -m 128 under SeaBIOS, with sections at page bounds
 * as linker.ld puts them, the VGA text buffer and a 1024x768x4 framebuffer
 * at 3 GiB (32-bit OVMF). 0x04000000-0x040fffff is a hole.
 */
static const struct paging_range kernel_map[] = {
    { 0x000b8000, 0x000b8000, 80 * 25 * 2, W, false, "VGA text" },
    { 0x00100000, 0x00100000, 0x6000, 0, false, "kernel code" },
    { 0x00106000, 0x00106000, 0x2000, 0, false, "kernel read-only data" },
    { 0x00108000, 0x00108000, 0x38000, W, false, "kernel data" },
    { 0x00140000, 0x00140000, 0x3ec0000, W, false, "heap region 0" },
    { 0x04100000, 0x04100000, 0x3ee0000, W, false, "heap region 1" },
    { 0xc0000000, 0xc0000000, 1024 * 768 * 4, W, true, "framebuffer" },
};

/* Pages kernel_map covers: 1 + 6 + 2 + 56 + 16064 + 16096 + 768. */
#define KERNEL_MAP_PAGES 32993u
/* Tables: one per 4 MiB from 0 to 128 MiB, one for the framebuffer. */
#define KERNEL_MAP_TABLES 33u

/*
 * Every page of the 4 GiB, read back without paging.c, is what the first
 * range holding it says (its frame, its flags and PRESENT) or not present
 * when none does. Reports the first page that differs.
 */
#define CHECK_SPACE_IS(ranges) check_space_is(__FILE__, __LINE__, ranges, COUNT(ranges))
static void check_space_is(const char *file, int line, const struct paging_range *ranges,
                           size_t count)
{
    for (uint64_t va = 0; va < ((uint64_t)1 << 32); va += PAGE) {
        const struct paging_range *range = paging_range_of(ranges, count, (uintptr_t)va);
        uint32_t pde = directory_entry((uintptr_t)va), leaf = table_entry((uintptr_t)va);
        uint32_t want = 0, got = leaf & ~PAGING_LARGE;
        if (range != NULL)
            want = (uint32_t)(range->phys - range->start + va) | range->flags | P;
        if (pde & PAGING_LARGE)
            got = ((pde & PAGING_LARGE_MASK) + (uint32_t)(va & (LARGE - 1))) |
                  (pde & PAGING_FLAGS_MASK & ~PAGING_LARGE);
        if (got != want) {
            printf("%s:%d: page 0x%08llx: entry 0x%08x, expected 0x%08x\n", file, line,
                   (unsigned long long)va, got, want);
            check_fail(file, line, "every page as the ranges say");
            return;
        }
    }
}

/* ---- building ------------------------------------------------------------------ */

static void a_kernel_map_maps_every_page_of_every_range_and_nothing_else(void)
{
    BUILD(kernel_map);
    CHECK_SPACE_IS(kernel_map);
    CHECK_EQ(stats_now().small_pages, KERNEL_MAP_PAGES);
}

static void page_zero_and_the_rest_of_the_first_mib_stay_not_present(void)
{
    static const uintptr_t absent[] = { 0x0, 0xfff, 0x1000, 0x7c00, 0x9f000, 0xb7fff,
                                        0xb9000, 0xc0000, 0xfffff };

    BUILD(kernel_map);
    for (size_t i = 0; i < COUNT(absent); i++)
        CHECK_EQ(paging_translate(&space, absent[i], NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(table_entry(0), 0);
    CHECK_EQ(flags_at(0xb8000), P | W);
}

static void kernel_code_and_read_only_data_are_read_only_and_kernel_data_writable(void)
{
    BUILD(kernel_map);
    CHECK_EQ(flags_at(0x100000), P);
    CHECK_EQ(flags_at(0x105fff), P);
    CHECK_EQ(flags_at(0x106000), P);
    CHECK_EQ(flags_at(0x107fff), P);
    CHECK_EQ(flags_at(0x108000), P | W);
    CHECK_EQ(flags_at(0x13ffff), P | W);
    CHECK_EQ(phys_at(0x100123), 0x100123);
}

static void holes_between_heap_regions_and_after_the_last_stay_not_present(void)
{
    BUILD(kernel_map);
    CHECK_EQ(flags_at(0x3fff000), P | W);
    CHECK_EQ(paging_translate(&space, 0x4000000, NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(paging_translate(&space, 0x40ff000, NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(flags_at(0x4100000), P | W);
    CHECK_EQ(flags_at(0x7fdf000), P | W);
    CHECK_EQ(paging_translate(&space, 0x7fe0000, NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(paging_translate(&space, 0x8000000, NULL, NULL), PAGING_NO_TABLE);
    CHECK_EQ(paging_translate(&space, 0xbfffffff, NULL, NULL), PAGING_NO_TABLE);
}

static void a_3_mib_framebuffer_at_3_gib_gets_4_kib_pages_as_it_fills_no_4_mib(void)
{
    BUILD(kernel_map);
    CHECK_EQ(directory_entry(0xc0000000) & PAGING_LARGE, 0);
    CHECK_EQ(flags_at(0xc0000000), P | W);
    CHECK_EQ(phys_at(0xc02fffff), 0xc02fffff);
    CHECK_EQ(paging_translate(&space, 0xc0300000, NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(stats_now().large_pages, 0);
}

static void an_8_mib_framebuffer_at_2_gib_gets_two_4_mib_pages_and_no_table(void)
{
    static const struct paging_range map[] = {
        { 0x80000000, 0x80000000, 8 * MIB, W, true, "framebuffer" },
    };

    BUILD(map);
    CHECK_EQ(directory_entry(0x80000000), 0x80000000u | P | W | PAGING_LARGE);
    CHECK_EQ(directory_entry(0x80400000), 0x80400000u | P | W | PAGING_LARGE);
    CHECK_EQ(flags_at(0x80765432), P | W | PAGING_LARGE);
    CHECK_EQ(phys_at(0x80765432), 0x80765432);
    CHECK_EQ(paging_translate(&space, 0x80800000, NULL, NULL), PAGING_NO_TABLE);
    CHECK_EQ(stats_now().large_pages, 2);
    CHECK_EQ(stats_now().table_pages, 0);
    CHECK_SPACE_IS(map);
}

static void a_5_mib_framebuffer_gets_a_4_mib_page_and_a_table_for_its_last_mib(void)
{
    static const struct paging_range map[] = {
        { 0x80000000, 0x80000000, 1280 * 1024 * 4, W, true, "framebuffer" },
    };

    BUILD(map);
    CHECK(directory_entry(0x80000000) & PAGING_LARGE);
    CHECK_EQ(directory_entry(0x80400000) & PAGING_LARGE, 0);
    CHECK_EQ(flags_at(0x804fffff), P | W);
    CHECK_EQ(paging_translate(&space, 0x80500000, NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(stats_now().large_pages, 1);
    CHECK_EQ(stats_now().small_pages, 256);
    CHECK_SPACE_IS(map);
}

static void a_range_without_large_pages_gets_4_kib_pages_even_over_whole_4_mib(void)
{
    static const struct paging_range map[] = {
        { 0x00400000, 0x00400000, 8 * MIB, W, false, "heap region 0" },
    };

    BUILD(map);
    CHECK_EQ(stats_now().large_pages, 0);
    CHECK_EQ(stats_now().table_pages, 2);
    CHECK_EQ(stats_now().small_pages, 2048);
    CHECK_SPACE_IS(map);
}

static void a_large_page_needs_a_4_mib_aligned_frame_too(void)
{
    static const struct paging_range map[] = {
        { 0x80000000, 0x80200000, 8 * MIB, W, true, "framebuffer" },
    };

    BUILD(map);
    CHECK_EQ(stats_now().large_pages, 0);
    CHECK_EQ(phys_at(0x80000000), 0x80200000);
    CHECK_SPACE_IS(map);
}

static void a_range_that_may_not_use_large_pages_keeps_its_4_mib_in_4_kib_pages(void)
{
    /* The heap range shares the framebuffer's frames and flags, so it is no conflict. */
    static const struct paging_range map[] = {
        { 0x80000000, 0x80000000, 8 * MIB, W, true, "framebuffer" },
        { 0x80100000, 0x80100000, PAGE, W, false, "heap region 0" },
    };

    BUILD(map);
    CHECK_EQ(directory_entry(0x80000000) & PAGING_LARGE, 0);
    CHECK(directory_entry(0x80400000) & PAGING_LARGE);
    CHECK_EQ(stats_now().small_pages, 1024);
    CHECK_SPACE_IS(map);
}

static void an_identity_map_of_3_5_gib_costs_896_tables_or_1_and_895_large_pages(void)
{
    struct paging_range map[] = {
        { 1 * MIB, 1 * MIB, 3584 * MIB - 1 * MIB, W, false, "RAM" },
    };

    BUILD(map);
    CHECK_EQ(stats_now().table_pages, 896);
    CHECK_EQ(stats_now().table_bytes, 897 * PAGE);
    CHECK_EQ(stats_now().small_pages, (3584 * MIB - 1 * MIB) / PAGE);
    paging_destroy(&space);
    map[0].large_pages = true;
    BUILD(map);
    CHECK_EQ(stats_now().table_pages, 1);
    CHECK_EQ(stats_now().large_pages, 895);
    CHECK_EQ(stats_now().small_pages, 768);
    CHECK_SPACE_IS(map);
}

static void a_table_entry_holds_the_frame_and_exactly_the_flags_asked_for(void)
{
    static const struct paging_range map[] = {
        { 0x00400000, 0x00900000, PAGE, W | PAGING_GLOBAL | PAGING_CACHE_DISABLE, false, "device" },
        { 0x00401000, 0x00901000, PAGE, PAGING_USER | PAGING_WRITE_THROUGH, false, "user" },
    };

    BUILD(map);
    CHECK_EQ(table_entry(0x00400000), 0x00900000u | P | W | PAGING_GLOBAL | PAGING_CACHE_DISABLE);
    CHECK_EQ(table_entry(0x00401000), 0x00901000u | P | PAGING_USER | PAGING_WRITE_THROUGH);
    CHECK_EQ(phys_at(0x00401abc), 0x00901abc);
    CHECK_SPACE_IS(map);
}

static void a_directory_entry_of_a_table_leaves_the_permissions_to_the_table_entry(void)
{
    BUILD(kernel_map);
    CHECK_EQ(directory_entry(0) & PAGING_FLAGS_MASK, P | W | PAGING_USER);
    CHECK_EQ(directory_entry(0) & PAGING_FLAGS_MASK, PAGING_TABLE_FLAGS);
    CHECK_EQ(table_entry(0x100000) & PAGING_USER, 0);
}

static void tables_are_zeroed_whatever_the_allocator_left_in_them(void)
{
    BUILD(kernel_map);
    CHECK_EQ(pool.allocations, 1 + KERNEL_MAP_TABLES);
    CHECK_EQ(table_entry(0xc0300000), 0);
    CHECK_EQ(table_entry(0x0), 0);
    CHECK_EQ(directory_entry(0x08000000), 0);
}

/* ---- rounding, overlaps, refusals ----------------------------------------------- */

static void an_unaligned_range_is_rounded_outward_to_whole_pages(void)
{
    static const struct paging_range map[] = {
        { 0x00100123, 0x00100123, 0x2000, W, false, "odd" },    /* bytes 0x100123..0x102122 */
    };

    BUILD(map);
    CHECK_EQ(flags_at(0x100000), P | W);
    CHECK_EQ(flags_at(0x102fff), P | W);
    CHECK_EQ(paging_translate(&space, 0x103000, NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(paging_translate(&space, 0x0ff000, NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(stats_now().small_pages, 3);
}

static void a_range_may_map_its_virtual_start_to_another_frame(void)
{
    static const struct paging_range map[] = {
        { 0x80000123, 0x10000123, 2 * PAGE, W, false, "moved" },
    };

    BUILD(map);
    CHECK_EQ(phys_at(0x80000000), 0x10000000);
    CHECK_EQ(phys_at(0x80002122), 0x10002122);
    CHECK_SPACE_IS(map);
}

static void overlapping_ranges_that_agree_on_frames_and_flags_are_mapped_once(void)
{
    /* Data ends inside the page where the heap starts, both writable. */
    static const struct paging_range map[] = {
        { 0x00108000, 0x00108000, 0x38800, W, false, "kernel data" },
        { 0x00140800, 0x00140800, 0x10000, W, false, "heap region 0" },
        { 0x00108000, 0x00108000, 0x1000, W, false, "kernel data again" },
    };

    BUILD(map);
    CHECK_SPACE_IS(map);
    CHECK_EQ(stats_now().small_pages, (0x150000 - 0x108000) / PAGE + 1);
}

static void overlapping_ranges_with_different_flags_are_refused_naming_both(void)
{
    /* Code ends 0x800 into a page that data, writable, starts in. */
    static const struct paging_range map[] = {
        { 0x00100000, 0x00100000, 0x5800, 0, false, "kernel code" },
        { 0x00200000, 0x00200000, 0x1000, W, false, "heap region 0" },
        { 0x00105800, 0x00105800, 0x1000, W, false, "kernel data" },
    };
    struct paging_problem problem;

    CHECK_EQ(paging_build(&space, pool_allocator, map, COUNT(map), &problem), PAGING_CONFLICT);
    CHECK_EQ(problem.status, PAGING_CONFLICT);
    CHECK_EQ(problem.range, 2);
    CHECK_EQ(problem.other, 0);
    CHECK_EQ(problem.address, 0x105000);
    CHECK(space.directory == NULL);
    CHECK_EQ(pool.allocations, 0);
}

static void overlapping_ranges_with_different_frames_are_refused(void)
{
    static const struct paging_range map[] = {
        { 0x80000000, 0x80000000, 2 * PAGE, W, false, "framebuffer" },
        { 0x80001000, 0x90001000, PAGE, W, false, "elsewhere" },
    };
    struct paging_problem problem;

    CHECK_EQ(paging_build(&space, pool_allocator, map, COUNT(map), &problem), PAGING_CONFLICT);
    CHECK_EQ(problem.range, 1);
    CHECK_EQ(problem.other, 0);
    CHECK_EQ(problem.address, 0x80001000);
    CHECK_EQ(pool.allocations, 0);
}

/* Build a one-range map and expect it refused with why, naming range 1 (range 0 is fine). */
#define RANGE(...) ((struct paging_range){ __VA_ARGS__ })
#define CHECK_RANGE_REFUSED(range, why) check_range_refused(__FILE__, __LINE__, range, why)
static void check_range_refused(const char *file, int line, struct paging_range range,
                                enum paging_status why)
{
    struct paging_range map[] = { { 0x100000, 0x100000, PAGE, 0, false, "fine" }, range };
    struct paging_problem problem = { PAGING_OK, 9, 9, 9 };

    CHECK_AT(file, line, paging_build(&space, pool_allocator, map, 2, &problem) == why);
    CHECK_AT(file, line, problem.status == why && problem.range == 1);
    CHECK_AT(file, line, problem.address == range.start);
    CHECK_AT(file, line, space.directory == NULL && pool.allocations == 0);
}

static void a_range_whose_start_and_phys_differ_within_their_page_is_refused(void)
{
    CHECK_RANGE_REFUSED(RANGE(0x200010, 0x200020, PAGE, 0, false, "x"),
                        PAGING_MISALIGNED);
}

static void a_range_past_4_gib_is_refused_and_one_ending_at_4_gib_is_not(void)
{
    static const struct paging_range top[] = {
        { 0xfffff000, 0xfffff000, PAGE, W, false, "last page" },
    };

    CHECK_RANGE_REFUSED(RANGE(0xfffff000, 0xfffff000, PAGE + 1, 0, false, "x"),
                        PAGING_BAD_ADDRESS);
#if UINTPTR_MAX > 0xffffffffu
    CHECK_RANGE_REFUSED(RANGE(0x200000, (uintptr_t)1 << 32, PAGE, 0, false, "x"),
                        PAGING_BAD_ADDRESS);
    CHECK_RANGE_REFUSED(RANGE(0x200000, 0x200000, (size_t)-1, 0, false, "x"),
                        PAGING_BAD_ADDRESS);
#endif
    BUILD(top);
    CHECK_EQ(phys_at(0xffffffff), 0xffffffff);
}

static void a_range_asking_for_bits_the_cpu_or_paging_sets_is_refused(void)
{
    CHECK_RANGE_REFUSED(RANGE(0x200000, 0x200000, PAGE, PAGING_LARGE, true, "x"),
                        PAGING_BAD_FLAGS);
    CHECK_RANGE_REFUSED(RANGE(0x200000, 0x200000, PAGE, PAGING_DIRTY, false, "x"),
                        PAGING_BAD_FLAGS);
    CHECK_RANGE_REFUSED(RANGE(0x200000, 0x200000, PAGE, 0x200, false, "x"),
                        PAGING_BAD_FLAGS);
}

static void a_range_of_0_bytes_maps_nothing(void)
{
    static const struct paging_range map[] = {
        { 0x00200000, 0x00200000, 0, W, false, "nothing" },
        { 0x00200000, 0x00300000, PAGE, 0, false, "no conflict with nothing" },
    };

    BUILD(map);
    CHECK_EQ(phys_at(0x200000), 0x300000);
    CHECK_EQ(stats_now().small_pages, 1);
}

static void an_empty_table_builds_a_directory_with_nothing_present(void)
{
    CHECK_EQ(paging_build(&space, pool_allocator, NULL, 0, NULL), PAGING_OK);
    CHECK_EQ(paging_translate(&space, 0, NULL, NULL), PAGING_NO_TABLE);
    CHECK_EQ(stats_now().table_bytes, PAGE);
    CHECK_EQ(pool.allocations, 1);
}

static void an_allocator_without_both_callbacks_is_refused(void)
{
    struct paging_allocator no_free = { pool_alloc, NULL, &pool };
    struct paging_allocator no_alloc = { NULL, pool_free, &pool };
    struct paging_problem problem;

    CHECK_EQ(paging_build(&space, no_free, kernel_map, COUNT(kernel_map), &problem),
             PAGING_BAD_ALLOCATOR);
    CHECK_EQ(problem.status, PAGING_BAD_ALLOCATOR);
    CHECK_EQ(paging_build(&space, no_alloc, NULL, 0, NULL), PAGING_BAD_ALLOCATOR);
    CHECK(space.directory == NULL);
    CHECK_EQ(pool.allocations, 0);
}

/* ---- running out, bad pages --------------------------------------------------------- */

static void a_build_out_of_table_pages_at_any_point_gives_every_page_back(void)
{
    struct paging_problem problem;

    for (size_t allowed = 0; allowed <= KERNEL_MAP_TABLES; allowed++) {
        pool.limit = allowed;
        CHECK_EQ(paging_build(&space, pool_allocator, kernel_map, COUNT(kernel_map), &problem),
                 PAGING_OUT_OF_MEMORY);
        CHECK_EQ(problem.status, PAGING_OUT_OF_MEMORY);
        CHECK(space.directory == NULL);
        CHECK_EQ(space.table_pages, 0);
        CHECK_EQ(pool.in_use, 0);
        CHECK_EQ(pool.allocations, allowed);
        pool.allocations = 0;
    }
    CHECK_EQ(problem.range, COUNT(kernel_map) - 1);     /* the framebuffer's table */
    CHECK_EQ(problem.address, 0xc0000000);
    pool.limit = KERNEL_MAP_TABLES + 1;
    BUILD(kernel_map);
    CHECK_EQ(pool.limit, 0);
}

/* Hands out pages from the C heap: page aligned, but (on this 64-bit host) above 4 GiB. */
static size_t high_frees;
static void *high_alloc(void *context) { (void)context; return aligned_alloc(PAGE, PAGE); }
static void high_free(void *page, void *context) { (void)context; free(page); high_frees++; }

static void a_table_page_above_4_gib_is_given_back_and_refused(void)
{
    struct paging_allocator high = { high_alloc, high_free, NULL };
    void *sample = aligned_alloc(PAGE, PAGE);

    CHECK((uint64_t)(uintptr_t)sample >> 32 != 0);     /* else this host cannot tell */
    free(sample);
    high_frees = 0;
    CHECK_EQ(paging_build(&space, high, kernel_map, COUNT(kernel_map), NULL),
             PAGING_BAD_TABLE_PAGE);
    CHECK_EQ(high_frees, 1);
    CHECK(space.directory == NULL);
}

/* Hands out pool pages 8 bytes in: not page aligned. */
static void *misaligned_alloc(void *context) { return (char *)pool_alloc(context) + 8; }

static void a_misaligned_table_page_is_given_back_and_refused(void)
{
    struct paging_allocator misaligned = { misaligned_alloc, pool_free, &pool };
    struct paging_allocator first_good = pool_allocator;

    CHECK_EQ(paging_build(&space, misaligned, NULL, 0, NULL), PAGING_BAD_TABLE_PAGE);
    CHECK_EQ(pool.in_use, 0);
    /* A good directory, then a bad table: the directory goes back too. */
    CHECK_EQ(paging_build(&space, first_good, NULL, 0, NULL), PAGING_OK);
    space.allocator = misaligned;
    CHECK_EQ(paging_map(&space, 0x400000, 0x400000, W), PAGING_BAD_TABLE_PAGE);
    CHECK_EQ(pool.in_use, 1);
    CHECK_EQ(paging_translate(&space, 0x400000, NULL, NULL), PAGING_NO_TABLE);
    space.allocator = first_good;
}

/* ---- map, unmap, translate -------------------------------------------------------------- */

static void paging_map_maps_a_page_that_translate_then_finds_at_every_offset(void)
{
    CHECK_EQ(paging_build(&space, pool_allocator, NULL, 0, NULL), PAGING_OK);
    CHECK_EQ(paging_map(&space, 0x00c00000, 0x00123000, W), PAGING_OK);
    CHECK_EQ(phys_at(0x00c00000), 0x00123000);
    CHECK_EQ(phys_at(0x00c00fff), 0x00123fff);
    CHECK_EQ(flags_at(0x00c00abc), P | W);
    CHECK_EQ(table_entry(0x00c00000), 0x00123000u | P | W);
    CHECK_EQ(paging_translate(&space, 0x00c01000, NULL, NULL), PAGING_NOT_MAPPED);
}

static void paging_map_takes_a_table_only_for_a_4_mib_without_one(void)
{
    CHECK_EQ(paging_build(&space, pool_allocator, NULL, 0, NULL), PAGING_OK);
    CHECK_EQ(paging_map(&space, 0x00c00000, 0x00c00000, 0), PAGING_OK);
    CHECK_EQ(paging_map(&space, 0x00fff000, 0x00fff000, 0), PAGING_OK);
    CHECK_EQ(space.table_pages, 1);
    CHECK_EQ(paging_map(&space, 0x01000000, 0x01000000, 0), PAGING_OK);
    CHECK_EQ(space.table_pages, 2);
    CHECK_EQ(stats_now().table_pages, 2);
    CHECK_EQ(pool.in_use, 3);
}

static void paging_map_again_with_the_same_mapping_succeeds_and_another_is_refused(void)
{
    BUILD(kernel_map);
    CHECK_EQ(paging_map(&space, 0x100000, 0x100000, 0), PAGING_OK);
    CHECK_EQ(paging_map(&space, 0x100000, 0x100000, W), PAGING_ALREADY_MAPPED);
    CHECK_EQ(paging_map(&space, 0x100000, 0x200000, 0), PAGING_ALREADY_MAPPED);
    CHECK_EQ(table_entry(0x100000), 0x100000u | P);
}

static void paging_map_ignores_the_accessed_and_dirty_bits_the_cpu_set(void)
{
    uint32_t *table;

    BUILD(kernel_map);
    table = (uint32_t *)(uintptr_t)(directory_entry(0) & PAGING_ADDRESS_MASK);
    table[0x140] |= PAGING_ACCESSED | PAGING_DIRTY;
    CHECK_EQ(paging_map(&space, 0x140000, 0x140000, W), PAGING_OK);
    CHECK_EQ(flags_at(0x140000), P | W | PAGING_ACCESSED | PAGING_DIRTY);
}

static void paging_map_refuses_unaligned_pages_bad_flags_and_addresses_past_4_gib(void)
{
    CHECK_EQ(paging_build(&space, pool_allocator, NULL, 0, NULL), PAGING_OK);
    CHECK_EQ(paging_map(&space, 0x400001, 0x400000, W), PAGING_MISALIGNED);
    CHECK_EQ(paging_map(&space, 0x400000, 0x400800, W), PAGING_MISALIGNED);
    CHECK_EQ(paging_map(&space, 0x400000, 0x400000, PAGING_LARGE), PAGING_BAD_FLAGS);
    CHECK_EQ(paging_map(&space, 0x400000, 0x400000, PAGING_ACCESSED), PAGING_BAD_FLAGS);
#if UINTPTR_MAX > 0xffffffffu
    CHECK_EQ(paging_map(&space, (uintptr_t)1 << 32, 0x400000, W), PAGING_BAD_ADDRESS);
    CHECK_EQ(paging_map(&space, 0x400000, (uintptr_t)1 << 32, W), PAGING_BAD_ADDRESS);
    CHECK_EQ(paging_translate(&space, (uintptr_t)1 << 32, NULL, NULL), PAGING_BAD_ADDRESS);
    CHECK_EQ(paging_unmap(&space, (uintptr_t)1 << 32, NULL, NULL), PAGING_BAD_ADDRESS);
#endif
    CHECK_EQ(space.table_pages, 0);
    CHECK_EQ(pool.in_use, 1);
}

static void paging_map_out_of_table_pages_changes_nothing(void)
{
    BUILD(kernel_map);
    pool.limit = 0;
    CHECK_EQ(paging_map(&space, 0x08000000, 0x08000000, W), PAGING_OUT_OF_MEMORY);
    CHECK_EQ(paging_translate(&space, 0x08000000, NULL, NULL), PAGING_NO_TABLE);
    CHECK_EQ(space.table_pages, KERNEL_MAP_TABLES);
    CHECK_EQ(paging_map(&space, 0x04000000, 0x04000000, W), PAGING_OK);    /* it has a table */
    CHECK_EQ(pool.in_use, KERNEL_MAP_TABLES + 1);
}

static void paging_map_and_unmap_inside_a_4_mib_page_are_refused(void)
{
    static const struct paging_range map[] = {
        { 0x80000000, 0x80000000, 4 * MIB, W, true, "framebuffer" },
    };

    BUILD(map);
    CHECK_EQ(paging_map(&space, 0x80001000, 0x80001000, W), PAGING_IN_LARGE_PAGE);
    CHECK_EQ(paging_map(&space, 0x80001000, 0x10000000, 0), PAGING_IN_LARGE_PAGE);
    CHECK_EQ(paging_unmap(&space, 0x80001000, NULL, NULL), PAGING_IN_LARGE_PAGE);
    CHECK_SPACE_IS(map);
}

static void paging_unmap_returns_the_frame_and_flags_that_were_there(void)
{
    uintptr_t phys = 0;
    uint32_t flags = 0;
    uint32_t *table;

    BUILD(kernel_map);
    table = (uint32_t *)(uintptr_t)(directory_entry(0) & PAGING_ADDRESS_MASK);
    table[0x141] |= PAGING_ACCESSED;
    CHECK_EQ(paging_unmap(&space, 0x141000, &phys, &flags), PAGING_OK);
    CHECK_EQ(phys, 0x141000);
    CHECK_EQ(flags, P | W | PAGING_ACCESSED);
    CHECK_EQ(table_entry(0x141000), 0);
    CHECK_EQ(paging_translate(&space, 0x141000, NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(flags_at(0x140000), P | W);
    CHECK_EQ(flags_at(0x142000), P | W);
    CHECK_EQ(paging_unmap(&space, 0x142000, NULL, NULL), PAGING_OK);
}

static void paging_unmap_of_nothing_says_at_which_level_the_walk_stopped(void)
{
    BUILD(kernel_map);
    CHECK_EQ(paging_unmap(&space, 0x0, NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(paging_unmap(&space, 0x08000000, NULL, NULL), PAGING_NO_TABLE);
    CHECK_EQ(paging_unmap(&space, 0x00140800, NULL, NULL), PAGING_MISALIGNED);
    CHECK_SPACE_IS(kernel_map);
}

static void an_unmapped_page_keeps_its_table_and_can_be_mapped_again(void)
{
    CHECK_EQ(paging_build(&space, pool_allocator, NULL, 0, NULL), PAGING_OK);
    CHECK_EQ(paging_map(&space, 0x400000, 0x400000, W), PAGING_OK);
    CHECK_EQ(paging_unmap(&space, 0x400000, NULL, NULL), PAGING_OK);
    CHECK_EQ(space.table_pages, 1);
    CHECK_EQ(paging_translate(&space, 0x400000, NULL, NULL), PAGING_NOT_MAPPED);
    CHECK_EQ(paging_map(&space, 0x400000, 0x500000, 0), PAGING_OK);
    CHECK_EQ(phys_at(0x400000), 0x500000);
    CHECK_EQ(space.table_pages, 1);
}

static void translate_reports_the_level_that_stopped_the_walk_and_a_large_page(void)
{
    static const struct paging_range map[] = {
        { 0x00400000, 0x00400000, PAGE, W, false, "a page" },
        { 0x80000000, 0x80000000, 4 * MIB, W, true, "framebuffer" },
    };
    uintptr_t phys = 7;
    uint32_t flags = 7;

    BUILD(map);
    CHECK_EQ(paging_translate(&space, 0x00000000, &phys, &flags), PAGING_NO_TABLE);
    CHECK_EQ(paging_translate(&space, 0x00401000, &phys, &flags), PAGING_NOT_MAPPED);
    CHECK_EQ(phys, 7);
    CHECK_EQ(flags, 7);
    CHECK_EQ(paging_translate(&space, 0x803fffff, &phys, &flags), PAGING_OK);
    CHECK_EQ(phys, 0x803fffff);
    CHECK_EQ(flags, P | W | PAGING_LARGE);
}

/* ---- runs ------------------------------------------------------------------------------- */

struct run_log {
    size_t count;
    struct paging_run runs[16];
};

static void run_record(const struct paging_run *run, void *context)
{
    struct run_log *log = context;

    if (log->count < COUNT(log->runs))
        log->runs[log->count] = *run;
    log->count++;
}

/* Run i of log is [start, last] at phys with flags, named what (NULL: no name). */
#define CHECK_RUN(log, i, start, last, phys, flags, what) \
    check_run_is(__FILE__, __LINE__, log, i, start, last, phys, flags, what)
static void check_run_is(const char *file, int line, const struct run_log *log, size_t i,
                         uintptr_t start, uintptr_t last, uintptr_t phys, uint32_t flags,
                         const char *what)
{
    const struct paging_run *run;

    if (i >= log->count || i >= COUNT(log->runs)) {
        check_fail(file, line, "the run exists");
        return;
    }
    run = &log->runs[i];
    check_equal(file, line, "run.start", "start", run->start, start);
    check_equal(file, line, "run.last", "last", run->last, last);
    check_equal(file, line, "run.phys", "phys", run->phys, phys);
    check_equal(file, line, "run.bytes", "size", run->bytes, (uint64_t)last + 1 - start);
    check_equal(file, line, "run.flags", "flags", run->flags, flags);
    CHECK_AT(file, line, what == NULL ? run->what == NULL
                                      : run->what != NULL && strcmp(run->what, what) == 0);
}

static void the_runs_of_the_kernel_map_are_its_ranges_with_their_names(void)
{
    struct run_log log = {0};

    BUILD(kernel_map);
    paging_for_each_run(&space, kernel_map, COUNT(kernel_map), run_record, &log);
    CHECK_EQ(log.count, 7);
    CHECK_RUN(&log, 0, 0x000b8000, 0x000b8fff, 0x000b8000, P | W, "VGA text");
    CHECK_RUN(&log, 1, 0x00100000, 0x00105fff, 0x00100000, P, "kernel code");
    CHECK_RUN(&log, 2, 0x00106000, 0x00107fff, 0x00106000, P, "kernel read-only data");
    CHECK_RUN(&log, 3, 0x00108000, 0x0013ffff, 0x00108000, P | W, "kernel data");
    CHECK_RUN(&log, 4, 0x00140000, 0x03ffffff, 0x00140000, P | W, "heap region 0");
    CHECK_RUN(&log, 5, 0x04100000, 0x07fdffff, 0x04100000, P | W, "heap region 1");
    CHECK_RUN(&log, 6, 0xc0000000, 0xc02fffff, 0xc0000000, P | W, "framebuffer");
}

static void without_ranges_runs_join_neighbours_with_equal_flags_and_frames(void)
{
    struct run_log log = {0};

    BUILD(kernel_map);
    paging_for_each_run(&space, NULL, 0, run_record, &log);
    CHECK_EQ(log.count, 5);
    CHECK_RUN(&log, 0, 0x000b8000, 0x000b8fff, 0x000b8000, P | W, NULL);
    CHECK_RUN(&log, 1, 0x00100000, 0x00107fff, 0x00100000, P, NULL);
    CHECK_RUN(&log, 2, 0x00108000, 0x03ffffff, 0x00108000, P | W, NULL);
    CHECK_RUN(&log, 3, 0x04100000, 0x07fdffff, 0x04100000, P | W, NULL);
    CHECK_RUN(&log, 4, 0xc0000000, 0xc02fffff, 0xc0000000, P | W, NULL);
}

static void a_run_ends_where_the_frames_stop_being_consecutive_or_the_size_changes(void)
{
    static const struct paging_range map[] = {
        { 0x7fffe000, 0x10000000, 2 * PAGE, W, false, "moved" },
        { 0x80000000, 0x80000000, 4 * MIB, W, true, "framebuffer" },
        { 0x80400000, 0x80400000, PAGE, W, false, "small" },
    };
    struct run_log log = {0};

    BUILD(map);
    paging_for_each_run(&space, NULL, 0, run_record, &log);
    CHECK_EQ(log.count, 3);
    CHECK_RUN(&log, 0, 0x7fffe000, 0x7fffffff, 0x10000000, P | W, NULL);
    CHECK_RUN(&log, 1, 0x80000000, 0x803fffff, 0x80000000, P | W | PAGING_LARGE, NULL);
    CHECK_RUN(&log, 2, 0x80400000, 0x80400fff, 0x80400000, P | W, NULL);
}

static void accessed_and_dirty_bits_do_not_split_a_run(void)
{
    static const struct paging_range map[] = {
        { 0x00400000, 0x00400000, 3 * PAGE, W, false, "heap" },
    };
    struct run_log log = {0};

    BUILD(map);
    ((uint32_t *)(uintptr_t)(directory_entry(0x400000) & PAGING_ADDRESS_MASK))[1] |=
        PAGING_ACCESSED | PAGING_DIRTY;
    paging_for_each_run(&space, map, COUNT(map), run_record, &log);
    CHECK_EQ(log.count, 1);
    CHECK_RUN(&log, 0, 0x00400000, 0x00402fff, 0x00400000, P | W, "heap");
}

static void a_run_up_to_4_gib_reports_its_last_byte_and_unnamed_pages_have_no_name(void)
{
    static const struct paging_range map[] = {
        { 0xffc00000, 0xffc00000, 4 * MIB, W, true, "top" },
    };
    struct run_log log = {0};

    BUILD(map);
    CHECK_EQ(paging_map(&space, 0x00400000, 0x00400000, 0), PAGING_OK);
    paging_for_each_run(&space, map, COUNT(map), run_record, &log);
    CHECK_EQ(log.count, 2);
    CHECK_RUN(&log, 0, 0x00400000, 0x00400fff, 0x00400000, P, NULL);
    CHECK_RUN(&log, 1, 0xffc00000, 0xffffffff, 0xffc00000, P | W | PAGING_LARGE, "top");
}

static void a_run_ends_where_an_overlapping_range_starts_or_ends(void)
{
    static const struct paging_range map[] = {
        { 0x00400000, 0x00400000, 8 * PAGE, W, false, "outer" },
        { 0x00402000, 0x00402000, 2 * PAGE, W, false, "inner" },
    };
    struct run_log log = {0};

    BUILD(map);
    paging_for_each_run(&space, map, COUNT(map), run_record, &log);
    CHECK_EQ(log.count, 3);
    CHECK_RUN(&log, 0, 0x00400000, 0x00401fff, 0x00400000, P | W, "outer");
    CHECK_RUN(&log, 1, 0x00402000, 0x00403fff, 0x00402000, P | W, "outer");
    CHECK_RUN(&log, 2, 0x00404000, 0x00407fff, 0x00404000, P | W, "outer");
}

static void an_empty_space_has_no_runs(void)
{
    struct run_log log = {0};

    CHECK_EQ(paging_build(&space, pool_allocator, NULL, 0, NULL), PAGING_OK);
    paging_for_each_run(&space, kernel_map, COUNT(kernel_map), run_record, &log);
    CHECK_EQ(log.count, 0);
}

static void paging_range_of_finds_the_first_range_holding_a_rounded_page(void)
{
    CHECK(paging_range_of(kernel_map, COUNT(kernel_map), 0x0) == NULL);
    CHECK(paging_range_of(kernel_map, COUNT(kernel_map), 0xb8f9f) == &kernel_map[0]);
    CHECK(paging_range_of(kernel_map, COUNT(kernel_map), 0xb8fff) == &kernel_map[0]);
    CHECK(paging_range_of(kernel_map, COUNT(kernel_map), 0xb9000) == NULL);
    CHECK(paging_range_of(kernel_map, COUNT(kernel_map), 0x105fff) == &kernel_map[1]);
    CHECK(paging_range_of(kernel_map, COUNT(kernel_map), 0x106000) == &kernel_map[2]);
    CHECK(paging_range_of(kernel_map, COUNT(kernel_map), 0x4000000) == NULL);
    CHECK(paging_range_of(kernel_map, COUNT(kernel_map), 0xc02fffff) == &kernel_map[6]);
    CHECK(paging_range_of(NULL, 0, 0x100000) == NULL);
}

/* ---- counts ------------------------------------------------------------------------------- */

static void counts_give_the_tables_their_bytes_and_the_pages_of_each_size(void)
{
    struct paging_stats stats;

    BUILD(kernel_map);
    stats = stats_now();
    CHECK_EQ(stats.table_pages, KERNEL_MAP_TABLES);
    CHECK_EQ(space.table_pages, KERNEL_MAP_TABLES);
    CHECK_EQ(stats.table_bytes, (KERNEL_MAP_TABLES + 1) * PAGE);
    CHECK_EQ(stats.small_pages, KERNEL_MAP_PAGES);
    CHECK_EQ(stats.large_pages, 0);
    CHECK_EQ(pool.in_use, KERNEL_MAP_TABLES + 1);
}

static void destroy_gives_every_page_back_and_an_unbuilt_space_counts_nothing(void)
{
    BUILD(kernel_map);
    paging_destroy(&space);
    CHECK(space.directory == NULL);
    CHECK_EQ(pool.in_use, 0);
    CHECK_EQ(pool.frees, KERNEL_MAP_TABLES + 1);
    CHECK_EQ(stats_now().table_bytes, 0);
    CHECK_EQ(stats_now().table_pages, 0);
    paging_destroy(&space);
    CHECK_EQ(pool.bad_frees, 0);
}

/* ---- words -------------------------------------------------------------------------------- */

#define CHECK_WORDS(code, m, a, c) check_words(__FILE__, __LINE__, code, m, a, c)
static void check_words(const char *file, int line, uint32_t code, const char *mode,
                        const char *access, const char *cause)
{
    struct paging_fault_words words = paging_decode_fault(code);

    CHECK_AT(file, line, strcmp(words.mode, mode) == 0);
    CHECK_AT(file, line, strcmp(words.access, access) == 0);
    CHECK_AT(file, line, strcmp(words.cause, cause) == 0);
}

static void the_fault_words_name_all_8_combinations_of_p_w_and_u(void)
{
    CHECK_WORDS(0, "supervisor", "read access", "not-present page");
    CHECK_WORDS(1, "supervisor", "read access", "protection violation");
    CHECK_WORDS(2, "supervisor", "write access", "not-present page");
    CHECK_WORDS(3, "supervisor", "write access", "protection violation");
    CHECK_WORDS(4, "user", "read access", "not-present page");
    CHECK_WORDS(5, "user", "read access", "protection violation");
    CHECK_WORDS(6, "user", "write access", "not-present page");
    CHECK_WORDS(7, "user", "write access", "protection violation");
}

static void the_fault_words_name_reserved_bits_and_instruction_fetches(void)
{
    CHECK_WORDS(PAGING_FAULT_PROTECTION | PAGING_FAULT_RESERVED, "supervisor", "read access",
                "reserved bit violation");
    CHECK_WORDS(PAGING_FAULT_FETCH, "supervisor", "instruction fetch", "not-present page");
    CHECK_WORDS(PAGING_FAULT_FETCH | PAGING_FAULT_PROTECTION | PAGING_FAULT_USER, "user",
                "instruction fetch", "protection violation");
}

static void every_status_has_its_own_text(void)
{
    for (int a = PAGING_OK; a <= PAGING_BAD_ALLOCATOR; a++) {
        CHECK(strcmp(paging_status_text(a), "unknown status") != 0);
        for (int b = PAGING_OK; b < a; b++)
            CHECK(strcmp(paging_status_text(a), paging_status_text(b)) != 0);
    }
    CHECK(strcmp(paging_status_text((enum paging_status)99), "unknown status") == 0);
}

static const struct test paging_tests[] = {
    TEST_ENTRY(a_kernel_map_maps_every_page_of_every_range_and_nothing_else),
    TEST_ENTRY(page_zero_and_the_rest_of_the_first_mib_stay_not_present),
    TEST_ENTRY(kernel_code_and_read_only_data_are_read_only_and_kernel_data_writable),
    TEST_ENTRY(holes_between_heap_regions_and_after_the_last_stay_not_present),
    TEST_ENTRY(a_3_mib_framebuffer_at_3_gib_gets_4_kib_pages_as_it_fills_no_4_mib),
    TEST_ENTRY(an_8_mib_framebuffer_at_2_gib_gets_two_4_mib_pages_and_no_table),
    TEST_ENTRY(a_5_mib_framebuffer_gets_a_4_mib_page_and_a_table_for_its_last_mib),
    TEST_ENTRY(a_range_without_large_pages_gets_4_kib_pages_even_over_whole_4_mib),
    TEST_ENTRY(a_large_page_needs_a_4_mib_aligned_frame_too),
    TEST_ENTRY(a_range_that_may_not_use_large_pages_keeps_its_4_mib_in_4_kib_pages),
    TEST_ENTRY(an_identity_map_of_3_5_gib_costs_896_tables_or_1_and_895_large_pages),
    TEST_ENTRY(a_table_entry_holds_the_frame_and_exactly_the_flags_asked_for),
    TEST_ENTRY(a_directory_entry_of_a_table_leaves_the_permissions_to_the_table_entry),
    TEST_ENTRY(tables_are_zeroed_whatever_the_allocator_left_in_them),
    TEST_ENTRY(an_unaligned_range_is_rounded_outward_to_whole_pages),
    TEST_ENTRY(a_range_may_map_its_virtual_start_to_another_frame),
    TEST_ENTRY(overlapping_ranges_that_agree_on_frames_and_flags_are_mapped_once),
    TEST_ENTRY(overlapping_ranges_with_different_flags_are_refused_naming_both),
    TEST_ENTRY(overlapping_ranges_with_different_frames_are_refused),
    TEST_ENTRY(a_range_whose_start_and_phys_differ_within_their_page_is_refused),
    TEST_ENTRY(a_range_past_4_gib_is_refused_and_one_ending_at_4_gib_is_not),
    TEST_ENTRY(a_range_asking_for_bits_the_cpu_or_paging_sets_is_refused),
    TEST_ENTRY(a_range_of_0_bytes_maps_nothing),
    TEST_ENTRY(an_empty_table_builds_a_directory_with_nothing_present),
    TEST_ENTRY(an_allocator_without_both_callbacks_is_refused),
    TEST_ENTRY(a_build_out_of_table_pages_at_any_point_gives_every_page_back),
    TEST_ENTRY(a_table_page_above_4_gib_is_given_back_and_refused),
    TEST_ENTRY(a_misaligned_table_page_is_given_back_and_refused),
    TEST_ENTRY(paging_map_maps_a_page_that_translate_then_finds_at_every_offset),
    TEST_ENTRY(paging_map_takes_a_table_only_for_a_4_mib_without_one),
    TEST_ENTRY(paging_map_again_with_the_same_mapping_succeeds_and_another_is_refused),
    TEST_ENTRY(paging_map_ignores_the_accessed_and_dirty_bits_the_cpu_set),
    TEST_ENTRY(paging_map_refuses_unaligned_pages_bad_flags_and_addresses_past_4_gib),
    TEST_ENTRY(paging_map_out_of_table_pages_changes_nothing),
    TEST_ENTRY(paging_map_and_unmap_inside_a_4_mib_page_are_refused),
    TEST_ENTRY(paging_unmap_returns_the_frame_and_flags_that_were_there),
    TEST_ENTRY(paging_unmap_of_nothing_says_at_which_level_the_walk_stopped),
    TEST_ENTRY(an_unmapped_page_keeps_its_table_and_can_be_mapped_again),
    TEST_ENTRY(translate_reports_the_level_that_stopped_the_walk_and_a_large_page),
    TEST_ENTRY(the_runs_of_the_kernel_map_are_its_ranges_with_their_names),
    TEST_ENTRY(without_ranges_runs_join_neighbours_with_equal_flags_and_frames),
    TEST_ENTRY(a_run_ends_where_the_frames_stop_being_consecutive_or_the_size_changes),
    TEST_ENTRY(accessed_and_dirty_bits_do_not_split_a_run),
    TEST_ENTRY(a_run_up_to_4_gib_reports_its_last_byte_and_unnamed_pages_have_no_name),
    TEST_ENTRY(a_run_ends_where_an_overlapping_range_starts_or_ends),
    TEST_ENTRY(an_empty_space_has_no_runs),
    TEST_ENTRY(paging_range_of_finds_the_first_range_holding_a_rounded_page),
    TEST_ENTRY(counts_give_the_tables_their_bytes_and_the_pages_of_each_size),
    TEST_ENTRY(destroy_gives_every_page_back_and_an_unbuilt_space_counts_nothing),
    TEST_ENTRY(the_fault_words_name_all_8_combinations_of_p_w_and_u),
    TEST_ENTRY(the_fault_words_name_reserved_bits_and_instruction_fetches),
    TEST_ENTRY(every_status_has_its_own_text),
};

/* ---- running ------------------------------------------------------------------- */

/* Before each test: every pool page free and no limit on allocations. */
static void test_setup(void)
{
    memset(&pool, 0, sizeof(pool));
    pool.limit = POOL_PAGES;
    space = (struct paging_space){0};
}

/* After each test: destroying the space gives back every page, each once, to the right pool. */
static void check_every_page_given_back(void)
{
    paging_destroy(&space);
    CHECK_EQ(pool.in_use, 0);
    CHECK_EQ(pool.bad_frees, 0);
    CHECK_EQ(pool.wrong_context, 0);
}

int main(void)
{
    int passed = 0, failed = 0;

    setvbuf(stdout, NULL, _IONBF, 0);
    if ((uint64_t)(uintptr_t)pool_pages + sizeof(pool_pages) > ((uint64_t)1 << 32)) {
        printf("the page pool is at %p, above 4 GiB: build without PIE\n0 passed, 1 failed\n",
               (void *)pool_pages);
        return 1;
    }
    for (size_t i = 0; i < COUNT(paging_tests); i++) {
        int failed_before = failed;
        check_run(&paging_tests[i], 1, test_setup, check_every_page_given_back, &passed, &failed);
        if (failed == failed_before)
            printf("ok   %s\n", paging_tests[i].name);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
