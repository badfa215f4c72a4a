/*
 * differential.c - random heap operations checked one by one against the
 * reference model (model.c): over a million kmalloc, kcalloc, krealloc and
 * kfree calls, bad frees and slab marks, small blocks and page blocks up to
 * 8 MiB, over five region layouts and three seeds, with debugging off and
 * then again with HEAP_DEBUG_ALL. Now and then the leak scan (leak.c) runs
 * over the live set with a random share of the pointers dropped, and must
 * report exactly those blocks. Built with AddressSanitizer, which also
 * forbids the heap every byte outside its regions. Prints a line per
 * scenario, then "N passed, N failed".
 *
 *   heap_differential            the default seeds 1, 2 and 3
 *   heap_differential 7 99       seeds 7 and 99 instead
 */
#include <stdio.h>
#include <stdlib.h>

#include <sanitizer/asan_interface.h>

#include "memory/heap.h"
#include "memory/leak.h"
#include "model.h"
#include "../lib/splitmix.h"

/* The coverage build runs fewer operations: -DOPERATIONS_PERCENT=10. */
#ifndef OPERATIONS_PERCENT
#define OPERATIONS_PERCENT 100
#endif

#define ARENA_BYTES ((size_t)32 << 20)  /* aligned to its own size */
#define CHECK_EVERY 256                 /* operations between two full model checks... */
#define DEBUG_CHECK_EVERY 4096          /* ...in debug mode (heap_check reads every free byte) */
#define LEAK_SCAN_EVERY 8               /* model checks between two leak scans */

static unsigned char *arena;

/* ---- random numbers: SplitMix64 (tests/lib/splitmix.h), seeded ----------------- */

static uint64_t random_state;

static uint64_t random_next(void) { return splitmix_next(&random_state); }

static uint64_t random_below(uint64_t n) { return random_next() % n; }

/* ---- the layouts --------------------------------------------------------------- */

struct region_spec {
    size_t offset, length;              /* within the arena */
};

struct layout {
    const char *name;                   /* the scenario, as a sentence */
    const struct region_spec *regions;
    size_t region_count;
    size_t operations;                  /* per seed */
    size_t live_capacity;               /* blocks held at once, at most */
    unsigned size_scale;                /* requests mostly below 2^size_scale bytes... */
    unsigned rare_scale;                /* ...and one in a hundred below 2^rare_scale */
};

static const struct region_spec one_big_region[] = {{0, ARENA_BYTES}};

/* Out of address order; holes between some, others touching (blocks must not merge across). */
static const struct region_spec regions_with_holes[] = {
    {0x800000, 0x400000}, {0x000000, 0x100000}, {0xe00000, 0x200000}, {0x180000, 0x080000},
    {0xc00000, 0x200000}, {0x410000, 0x00c000}, {0x210000, 0x1f0000},
};

static const struct region_spec odd_regions[] = {
    {3, 1000003}, {0x200007, 777777}, {0x400001, 0x123457}, {0x800005, (5 << 20) + 13},
};

static const struct region_spec tiny_region[] = {{0x1005, 4200}};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static const struct layout layouts[] = {
    {"random_operations_agree_with_the_model_on_one_big_aligned_region",
     one_big_region, COUNT(one_big_region), 120000, 2048, 16, 23},
    {"random_operations_agree_with_the_model_on_page_blocks_and_runs",
     one_big_region, COUNT(one_big_region), 60000, 512, 20, 23},
    {"random_operations_agree_with_the_model_on_regions_with_holes",
     regions_with_holes, COUNT(regions_with_holes), 90000, 1024, 14, 20},
    {"random_operations_agree_with_the_model_on_odd_sized_unaligned_regions",
     odd_regions, COUNT(odd_regions), 90000, 1024, 14, 20},
    {"random_operations_agree_with_the_model_on_a_tiny_heap_that_runs_out",
     tiny_region, COUNT(tiny_region), 60000, 64, 10, 12},
};

/*
 * Give the layout's regions to a fresh heap, and poison every arena byte
 * outside the managed spans: AddressSanitizer stops the heap reading them.
 */
static bool layout_install(const struct layout *layout, unsigned debug)
{
    uintptr_t start, end;

    heap_init();
    heap_set_debug(debug);
    for (size_t i = 0; i < layout->region_count; i++)
        if (heap_add_region(arena + layout->regions[i].offset, layout->regions[i].length) == 0)
            return false;
    ASAN_POISON_MEMORY_REGION(arena, ARENA_BYTES);
    for (unsigned i = 0; heap_region(i, &start, &end); i++)
        ASAN_UNPOISON_MEMORY_REGION((void *)start, end - start);
    return true;
}

/* ---- random requests and operations -------------------------------------------- */

/* A size in [2^s, 2^(s+1)) for a random s below scale: log-uniform. */
static size_t log_uniform(unsigned scale)
{
    size_t base = (size_t)1 << random_below(scale);

    return base + random_below(base);
}

/* A size no heap here can serve, for one reason or another. */
static size_t impossible_size(void)
{
    static const size_t sizes[] = {SIZE_MAX, SIZE_MAX / 2, HEAP_MAX_REQUEST, HEAP_MAX_REQUEST + 1,
                                   ARENA_BYTES};

    return sizes[random_below(COUNT(sizes))];
}

/* Half small (1-256 bytes), half log-uniform; rarely large, 0 or impossible. */
static size_t random_request(const struct layout *layout)
{
    uint64_t dice = random_below(1000);

    if (dice < 5)
        return 0;
    if (dice < 10)
        return impossible_size();
    if (dice < 20)
        return log_uniform(layout->rare_scale);
    if (dice < 500)
        return 1 + random_below(256);
    return log_uniform(layout->size_scale);
}

/* kcalloc with a count and size, and now and then a pair whose product overflows. */
static void random_calloc(struct model *m, const struct layout *layout)
{
    /* Products that wrap round to 16, 32, a huge size and 0: all must fail. */
    static const size_t overflowing[][2] = {{SIZE_MAX / 16 + 2, 16}, {24, SIZE_MAX / 24 + 2},
                                            {SIZE_MAX / 3, 4}, {2, SIZE_MAX / 2 + 1}};

    if (random_below(20) == 0) {
        const size_t *pair = overflowing[random_below(4)];
        model_calloc(m, pair[0], pair[1]);
        return;
    }
    size_t count = 1 + random_below(16);
    model_calloc(m, count, random_request(layout) / count);
}

/* 60% heap_free, 30% kfree, 10% krealloc(ptr, 0). */
static enum model_route random_route(void)
{
    uint64_t dice = random_below(10);

    return dice < 6 ? MODEL_BY_HEAP_FREE : dice < 9 ? MODEL_BY_KFREE : MODEL_BY_KREALLOC;
}

static void allocate_something(struct model *m, const struct layout *layout)
{
    uint64_t dice = random_below(100);

    if (dice < 85)
        model_malloc(m, random_request(layout));
    else if (dice < 95)
        random_calloc(m, layout);
    else
        model_realloc_null(m, random_request(layout));
}

static void release_or_resize(struct model *m, const struct layout *layout)
{
    size_t index = (size_t)random_next();

    if (random_below(100) < 55)
        model_free(m, index, random_route());
    else
        model_realloc(m, index, random_request(layout));
}

/*
 * 2% bad frees, 0.2% frees of NULL, 0.5% slab marks; otherwise grow or
 * shrink the live set, growing the more likely the emptier the table is, so
 * that it hovers around two thirds full.
 */
static void random_operation(struct model *m, const struct layout *layout)
{
    uint64_t dice = random_below(1000);

    if (dice < 20)
        model_bad_free(m, (enum model_bad_free)random_below(MODEL_BAD_FREES),
                       (uint32_t)random_next(), (enum model_route)random_below(MODEL_ROUTES));
    else if (dice < 22)
        model_free_null(m, (enum model_route)random_below(MODEL_ROUTES));
    else if (dice < 27)
        model_mark_slab(m, (size_t)random_next(), random_below(3) != 0, (uint32_t)random_next());
    else if (random_below(m->live_capacity) >= m->live_count)
        allocate_something(m, layout);
    else
        release_or_resize(m, layout);
}

/* ---- scenarios ----------------------------------------------------------------- */

/* How a scenario's name ends in each debug mode. */
/* ---- the leak scan over the live set -------------------------------------------- */

/*
 * The model's live blocks as the leak scan must judge them: the pointers of
 * about three in four (to the start or somewhere inside, as kernel code
 * keeps them) go into one root array, the others are dropped. Blocks marked
 * as slabs are roots of their own and never reported. The patterns in the
 * blocks cannot be taken for pointers: every byte of them has bit 7 set.
 */
struct leak_trial {
    uintptr_t *kept;            /* the root: the pointers still held */
    size_t kept_count;
    bool *dropped;              /* per live block of the model */
    size_t dropped_count, dropped_bytes;
};

static void leak_trial_choose(const struct model *m, struct leak_trial *t)
{
    for (size_t i = 0; i < m->live_count; i++) {
        const struct model_block *b = &m->live[i];
        t->dropped[i] = !b->slab && random_below(4) == 0;
        if (t->dropped[i]) {
            t->dropped_count++;
            t->dropped_bytes += b->size;
        } else {
            t->kept[t->kept_count++] = (uintptr_t)b->ptr + random_below(b->size);
        }
    }
}

/* Is the block the scan left unreferenced one the trial dropped? */
static bool dropped_block(const struct model *m, const struct leak_trial *t, uintptr_t payload)
{
    for (size_t i = 0; i < m->live_count; i++)
        if ((uintptr_t)m->live[i].ptr == payload)
            return t->dropped[i];
    return false;
}

static bool leak_verdicts_agree(struct model *m, const struct leak_trial *t,
                                const struct leak_block *blocks, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!blocks[i].referenced && !dropped_block(m, t, blocks[i].payload)) {
            snprintf(m->failure, sizeof(m->failure), "leak scan reports block 0x%lx, "
                     "which a kept pointer refers to", (unsigned long)blocks[i].payload);
            return false;
        }
    return true;
}

/* One trial: gather the heap's live blocks, scan from the kept pointers, compare. */
static bool leak_scan_agrees(struct model *m)
{
    size_t n = m->live_count + 1;
    struct leak_trial t = {calloc(n, sizeof(*t.kept)), 0, calloc(n, sizeof(*t.dropped)), 0, 0};
    struct leak_block *blocks = calloc(n, sizeof(*blocks));
    struct leak_result result;

    leak_trial_choose(m, &t);
    size_t count = leak_gather_heap(blocks, n, NULL, NULL);
    struct leak_range root = {(uintptr_t)t.kept, (uintptr_t)(t.kept + t.kept_count)};
    enum leak_status status = leak_scan(blocks, count, &root, 1, &result);
    if (count != m->live_count || status != LEAK_OK)
        snprintf(m->failure, sizeof(m->failure), "leak scan over %zu gathered blocks (%zu live): "
                 "%s", count, m->live_count, leak_status_name(status));
    else if (leak_verdicts_agree(m, &t, blocks, count) &&
             (result.unreferenced != t.dropped_count ||
              result.unreferenced_bytes != t.dropped_bytes))
        snprintf(m->failure, sizeof(m->failure), "leak scan: %zu blocks, %zu bytes unreferenced; "
                 "%zu blocks, %zu bytes dropped", result.unreferenced, result.unreferenced_bytes,
                 t.dropped_count, t.dropped_bytes);
    free(t.kept);
    free(t.dropped);
    free(blocks);
    return m->failure[0] == '\0';
}

static const char *mode_name(unsigned debug) { return debug != 0 ? " with HEAP_DEBUG_ALL" : ""; }

/*
 * The layout's operations with one seed, in a debug mode (0: off); half way
 * through, everything is freed once.
 */
static bool scenario_passes(const struct layout *layout, uint64_t seed, unsigned debug)
{
    size_t operations = layout->operations * OPERATIONS_PERCENT / 100;
    size_t check_every = debug != 0 ? DEBUG_CHECK_EVERY : CHECK_EVERY;
    struct model m;

    if (!layout_install(layout, debug)) {
        printf("FAIL %s%s, seed %llu: a region was refused\n", layout->name, mode_name(debug),
               (unsigned long long)seed);
        return false;
    }
    model_start(&m, layout->live_capacity);
    m.check_after_bad_free = debug == 0;    /* the same refusals either way; checks read it all */
    random_state = seed;
    size_t scans = 0;
    for (size_t n = 1; n <= operations && m.failure[0] == '\0'; n++) {
        random_operation(&m, layout);
        if (n % check_every == 0 || n == operations)
            model_check(&m);
        if (n % (LEAK_SCAN_EVERY * check_every) == 0 && m.failure[0] == '\0')
            scans += leak_scan_agrees(&m);
        if (n == operations / 2)
            model_free_all(&m);
    }
    bool passed = model_finish(&m);
    ASAN_UNPOISON_MEMORY_REGION(arena, ARENA_BYTES);
    if (passed)
        printf("ok   %s%s, seed %llu: %lu operations, %zu allocations failed, %lu bad frees "
               "refused, leak scan exact %zu times\n", layout->name, mode_name(debug),
               (unsigned long long)seed, m.operations, m.expected.failed_allocations,
               m.bad_frees, scans);
    else
        printf("FAIL %s%s, seed %llu: %s\n", layout->name, mode_name(debug),
               (unsigned long long)seed, m.failure);
    fflush(stdout);
    return passed;
}

int main(int argc, char **argv)
{
    static const char *const default_seeds[] = {"1", "2", "3"};
    const char *const *seeds = argc > 1 ? (const char *const *)argv + 1 : default_seeds;
    size_t seed_count = argc > 1 ? (size_t)argc - 1 : 3;
    unsigned passed = 0, failed = 0;

    arena = aligned_alloc(ARENA_BYTES, ARENA_BYTES);
    if (arena == NULL) {
        printf("no memory for the %zu-byte arena\n0 passed, 1 failed\n", ARENA_BYTES);
        return 1;
    }
    for (unsigned debug = 0; debug <= HEAP_DEBUG_ALL; debug += HEAP_DEBUG_ALL)
        for (size_t l = 0; l < COUNT(layouts); l++)
            for (size_t s = 0; s < seed_count; s++) {
                if (scenario_passes(&layouts[l], strtoull(seeds[s], NULL, 0), debug))
                    passed++;
                else
                    failed++;
            }
    free(arena);
    printf("%u passed, %u failed\n", passed, failed);
    return failed != 0;
}
