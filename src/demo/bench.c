/*
 * bench.c - key b: time kmalloc and kfree inside the kernel with the CPU's
 * time-stamp counter (RDTSC) and print cycles per call. Figures only, no
 * pass or fail: under QEMU's TCG the counter is emulated and rough. Every
 * block is freed newest first, which undoes each kmalloc exactly, so the
 * heap is left precisely as it was found (the p dump does not change).
 */
#include <stddef.h>
#include <stdint.h>
#include "demo/actions.h"
#include "console/kprintf.h"
#include "cpu/cpu.h"
#include "memory/heap.h"

#define BENCH_PAIRS        100000   /* kmalloc then kfree at once */
#define BENCH_BATCH        1000     /* kmalloc all, then kfree all newest first */
#define BENCH_CHAIN_ROUNDS 1000     /* the longest split and merge chain */
#define BENCH_MAX_SIZE     1024     /* request sizes are 1 .. BENCH_MAX_SIZE bytes */
#define BENCH_HELD_MAX     512      /* small free blocks held aside for the chain */

static void *blocks[BENCH_BATCH > BENCH_HELD_MAX ? BENCH_BATCH : BENCH_HELD_MAX];

/* Request sizes from a fixed xorshift sequence: the same figures' workload every run. */
static size_t bench_size(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return 1 + *state % BENCH_MAX_SIZE;
}

static void bench_pairs(void)
{
    uint32_t state = 2463534242u;
    uint64_t start = cpu_cycles();

    for (unsigned i = 0; i < BENCH_PAIRS; i++)
        kfree(kmalloc(bench_size(&state)));
    uint64_t cycles = cpu_cycles() - start;
    kprintf("  %u kmalloc+kfree pairs, 1-%u bytes: %llu cycles per pair\n", BENCH_PAIRS,
            BENCH_MAX_SIZE, (unsigned long long)(cycles / BENCH_PAIRS));
}

static void bench_batch(void)
{
    uint32_t state = 88675123u;
    uint64_t start = cpu_cycles();

    for (unsigned i = 0; i < BENCH_BATCH; i++)
        blocks[i] = kmalloc(bench_size(&state));
    uint64_t middle = cpu_cycles();
    for (unsigned i = BENCH_BATCH; i-- > 0;)
        kfree(blocks[i]);
    uint64_t end = cpu_cycles();
    kprintf("  %u kmallocs then their kfrees, newest first: %llu and %llu cycles each\n",
            BENCH_BATCH, (unsigned long long)((middle - start) / BENCH_BATCH),
            (unsigned long long)((end - middle) / BENCH_BATCH));
}

/*
 * Hold every free block smaller than the largest free one (each kmalloc of
 * a scale with free blocks takes one whole, no split), so that a kmalloc of
 * the smallest block must split the largest all the way down. Returns how
 * many are held, newest last.
 */
static size_t hold_small_free_blocks(unsigned below)
{
    size_t held = 0;

    for (unsigned scale = heap_min_scale(); scale < below; scale++)
        while (heap_free_count(scale) > 0 && held < BENCH_HELD_MAX)
            blocks[held++] = heap_alloc_unsampled(heap_scale_payload(scale));
    return held;
}

static void bench_chain(void)
{
    struct heap_stats before, after;
    uint64_t allocating = 0, freeing = 0;

    heap_get_stats(&before);
    if (before.largest_free_block == 0)
        return;
    size_t held = hold_small_free_blocks((unsigned)__builtin_ctz(before.largest_free_block));
    heap_get_stats(&before);
    for (unsigned i = 0; i < BENCH_CHAIN_ROUNDS; i++) {
        uint64_t start = cpu_cycles();
        void *ptr = kmalloc(heap_scale_payload(heap_min_scale()));
        uint64_t middle = cpu_cycles();
        kfree(ptr);
        allocating += middle - start;
        freeing += cpu_cycles() - middle;
    }
    heap_get_stats(&after);
    while (held > 0)
        kfree(blocks[--held]);
    kprintf("  longest chain: kmalloc %zu splits, %llu cycles; kfree %zu merges, %llu cycles\n",
            (after.splits - before.splits) / BENCH_CHAIN_ROUNDS,
            (unsigned long long)(allocating / BENCH_CHAIN_ROUNDS),
            (after.merges - before.merges) / BENCH_CHAIN_ROUNDS,
            (unsigned long long)(freeing / BENCH_CHAIN_ROUNDS));
}

void demo_benchmark(unsigned unused)
{
    (void)unused;
    kprintf("benchmark (CPU cycles from RDTSC; figures only, rough under emulation):\n");
    bench_pairs();
    bench_batch();
    bench_chain();
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        blocks[i] = NULL;       /* freed: no stale pointers left for the leak scan (key l) */
}
