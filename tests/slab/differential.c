/*
 * differential.c - random operations on many slab caches at once, mixed with
 * kmalloc and kfree, each checked by the model (model.c): over a million
 * operations over three heap layouts and two seeds, with bad frees of every
 * kind, shrinks, caches destroyed and made again, and heap_check plus
 * kmem_cache_check along the way. Built with AddressSanitizer, which also
 * forbids every arena byte outside the heap's regions. Prints a line per
 * scenario, then "N passed, N failed".
 *
 *   slab_differential            the default seeds 1 and 2
 *   slab_differential 7 99       seeds 7 and 99 instead
 */
#include <stdio.h>
#include <stdlib.h>

#include <sanitizer/asan_interface.h>

#include "memory/heap.h"
#include "memory/slab.h"
#include "model.h"
#include "../lib/splitmix.h"

/* The coverage build runs fewer operations: -DOPERATIONS_PERCENT=10. */
#ifndef OPERATIONS_PERCENT
#define OPERATIONS_PERCENT 100
#endif

#define ARENA_BYTES ((size_t)32 << 20)  /* aligned to its own size */
#define CHECK_EVERY 512                 /* operations between two full checks */
#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static unsigned char *arena;

/* ---- random numbers: SplitMix64 (tests/lib/splitmix.h), seeded ----------------- */

static uint64_t random_state;

static uint64_t random_next(void) { return splitmix_next(&random_state); }

static uint64_t random_below(uint64_t n) { return random_next() % n; }

/* ---- the layouts ------------------------------------------------------------------ */

struct region_spec {
    size_t offset, length;              /* within the arena */
};

struct layout {
    const char *name;                   /* the scenario, as a sentence */
    const struct region_spec *regions;
    size_t region_count;
    size_t operations;                  /* per seed */
    size_t live_objects, live_blocks;   /* held at once, at most */
};

static const struct region_spec one_big_region[] = {{0, ARENA_BYTES}};

/* Out of address order, with holes between some and others touching. */
static const struct region_spec regions_with_holes[] = {
    {0x800000, 0x400000}, {0x000000, 0x100000}, {0xe00000, 0x200000}, {0x180000, 0x080000},
    {0xc00000, 0x200000}, {0x410000, 0x00c000}, {0x210000, 0x1f0000},
};

static const struct region_spec small_region[] = {{0x3000, 0x60000}};

static const struct layout layouts[] = {
    {"random_cache_and_kmalloc_operations_agree_with_the_model_on_one_big_region",
     one_big_region, COUNT(one_big_region), 200000, 12000, 600},
    {"random_cache_and_kmalloc_operations_agree_with_the_model_on_regions_with_holes",
     regions_with_holes, COUNT(regions_with_holes), 170000, 8000, 400},
    {"random_cache_and_kmalloc_operations_agree_with_the_model_on_a_small_heap_that_runs_out",
     small_region, COUNT(small_region), 150000, 600, 40},
};

static bool layout_install(const struct layout *layout)
{
    uintptr_t start, end;

    heap_init();
    for (size_t i = 0; i < layout->region_count; i++)
        if (heap_add_region(arena + layout->regions[i].offset, layout->regions[i].length) == 0)
            return false;
    ASAN_POISON_MEMORY_REGION(arena, ARENA_BYTES);
    for (unsigned i = 0; heap_region(i, &start, &end); i++)
        ASAN_UNPOISON_MEMORY_REGION((void *)start, end - start);
    return true;
}

/* ---- random operations -------------------------------------------------------------- */

/* A size in [2^s, 2^(s+1)) for a random s below scale, capped: log-uniform. */
static size_t log_uniform(unsigned scale, size_t cap)
{
    size_t base = (size_t)1 << random_below(scale);
    size_t size = base + random_below(base);

    return size < cap ? size : cap;
}

/* A new cache in a random slot: mostly small objects, every alignment now and then. */
static void random_create(struct slab_model *m)
{
    static const size_t aligns[] = {0, 0, 0, 0, 1, 8, 16, 64, 256, 4096};
    size_t size = random_below(4) == 0 ? log_uniform(13, KMEM_CACHE_MAX_SIZE) :
                  1 + random_below(256);

    slab_model_create(m, (unsigned)random_below(SLAB_MODEL_CACHES), size,
                      aligns[random_below(COUNT(aligns))], random_below(2) == 0);
}

/* Mostly small kmalloc blocks; now and then a page block or a run of pages. */
static size_t random_kmalloc_size(void)
{
    uint64_t dice = random_below(10);

    if (dice < 7)
        return 1 + random_below(512);
    return dice < 9 ? HEAP_PAGE_BYTES * (1 + random_below(2)) : log_uniform(15, 40000);
}

/* A cache allocation; when the heap has run out, reclaim like a kernel would: shrink a cache. */
static void random_alloc(struct slab_model *m)
{
    unsigned long failed = m->failed_allocations;

    slab_model_alloc(m, (unsigned)random_below(SLAB_MODEL_CACHES));
    if (m->failed_allocations != failed)
        slab_model_shrink(m, (unsigned)random_below(SLAB_MODEL_CACHES));
}

/*
 * 1.5% bad frees, 0.2% shrinks, 0.2% caches made again; a tenth of the rest
 * kmalloc or kfree, the others cache allocations and frees, growing the
 * live set the more likely the emptier it is (it hovers around two thirds).
 */
static void random_operation(struct slab_model *m)
{
    uint64_t dice = random_below(1000);

    if (dice < 15)
        slab_model_bad_free(m, (enum slab_model_bad_free)random_below(SLAB_BAD_FREES),
                            (uint32_t)random_next());
    else if (dice < 17)
        slab_model_shrink(m, (unsigned)random_below(SLAB_MODEL_CACHES));
    else if (dice < 19)
        random_create(m);
    else if (dice < 70 && random_below(m->block_capacity) >= m->block_count)
        slab_model_kmalloc(m, random_kmalloc_size());
    else if (dice < 120)
        slab_model_kfree(m, (size_t)random_next());
    else if (random_below(m->object_capacity) * 3 >= m->object_count * 2)
        random_alloc(m);
    else
        slab_model_free(m, (size_t)random_next());
}

/* ---- scenarios ----------------------------------------------------------------------- */

static bool scenario_passes(const struct layout *layout, uint64_t seed)
{
    size_t operations = layout->operations * OPERATIONS_PERCENT / 100;
    struct slab_model m;

    if (!layout_install(layout)) {
        printf("FAIL %s, seed %llu: a region was refused\n", layout->name, (unsigned long long)seed);
        return false;
    }
    slab_model_start(&m, layout->live_objects, layout->live_blocks);
    random_state = seed;
    for (unsigned s = 0; s < SLAB_MODEL_CACHES; s++)
        random_create(&m);
    /* Count the operations that did something; give up on a model stuck doing nothing. */
    for (size_t n = 1; m.operations < operations && n <= 4 * operations && m.failure[0] == '\0';
         n++) {
        random_operation(&m);
        if (n % CHECK_EVERY == 0)
            slab_model_check(&m);
    }
    if (m.operations < operations && m.failure[0] == '\0')
        snprintf(m.failure, sizeof(m.failure), "only %lu operations did something", m.operations);
    unsigned long done = m.operations, bad = m.bad_frees, failed = m.failed_allocations;
    bool passed = slab_model_finish(&m);
    ASAN_UNPOISON_MEMORY_REGION(arena, ARENA_BYTES);
    if (passed)
        printf("ok   %s, seed %llu: %lu operations, %lu allocations failed, %lu bad frees "
               "refused\n", layout->name, (unsigned long long)seed, done, failed, bad);
    else
        printf("FAIL %s, seed %llu: %s\n", layout->name, (unsigned long long)seed, m.failure);
    fflush(stdout);
    return passed;
}

int main(int argc, char **argv)
{
    static const char *const default_seeds[] = {"1", "2"};
    const char *const *seeds = argc > 1 ? (const char *const *)argv + 1 : default_seeds;
    size_t seed_count = argc > 1 ? (size_t)argc - 1 : COUNT(default_seeds);
    unsigned passed = 0, failed = 0;

    arena = aligned_alloc(ARENA_BYTES, ARENA_BYTES);
    if (arena == NULL) {
        printf("no memory for the %zu-byte arena\n0 passed, 1 failed\n", ARENA_BYTES);
        return 1;
    }
    for (size_t l = 0; l < COUNT(layouts); l++)
        for (size_t s = 0; s < seed_count; s++) {
            if (scenario_passes(&layouts[l], strtoull(seeds[s], NULL, 0)))
                passed++;
            else
                failed++;
        }
    free(arena);
    printf("%u passed, %u failed\n", passed, failed);
    return failed != 0;
}
