/*
 * bench.c - how fast and how thrifty the buddy heap is, beside glibc's
 * malloc: the median of five runs of identical pre-generated operation
 * sequences, in ns per operation (clock_gettime, CLOCK_MONOTONIC). Built
 * with -O2 and no sanitizers (make bench). It prints figures and targets
 * and always exits 0: speed is never a test failure here.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memory/heap.h"

#define HEAP_BYTES ((size_t)256 << 20)  /* one region, aligned to its own size */
#define REPETITIONS 5

static unsigned char *region;

/* ---- random numbers: SplitMix64, seeded, so both allocators see the same sequence */

static uint64_t random_state = 42;

static uint64_t random_next(void)
{
    uint64_t z = (random_state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static size_t random_between(size_t low, size_t high)
{
    return low + random_next() % (high - low + 1);
}

/* Log-uniform in [low, high]: as many requests per doubling of size. */
static size_t random_log_uniform(size_t low, size_t high)
{
    size_t size;

    do {
        unsigned scale = (unsigned)random_between(0, 63 - (unsigned)__builtin_clzll(high));
        size = ((size_t)1 << scale) + random_next() % ((size_t)1 << scale);
    } while (size < low || size > high);
    return size;
}

/* ---- operation sequences ------------------------------------------------------- */

/* Allocate size bytes into slot, or (size 0) free what slot holds. */
struct op {
    uint32_t slot, size;
};

struct sequence {
    struct op *ops;
    size_t count, slots;
};

static void sequence_push(struct sequence *s, uint32_t slot, size_t size)
{
    s->ops[s->count++] = (struct op){slot, (uint32_t)size};
}

/*
 * Churn: fill `live` slots, then free a random slot and refill it until
 * `total` operations are reached, then free everything left.
 */
static struct sequence churn(size_t live, size_t total, size_t (*size)(void))
{
    struct sequence s = {malloc(total * sizeof *s.ops), 0, live};

    for (uint32_t i = 0; i < live; i++)
        sequence_push(&s, i, size());
    while (s.count + 2 + live <= total) {
        uint32_t slot = (uint32_t)random_between(0, live - 1);
        sequence_push(&s, slot, 0);
        sequence_push(&s, slot, size());
    }
    for (uint32_t i = 0; i < live; i++)
        sequence_push(&s, i, 0);
    return s;
}

static size_t small_size(void) { return random_between(1, 256); }
static size_t mixed_size(void) { return random_log_uniform(16, 64 << 10); }

/* `rounds` times: allocate `burst` blocks of 1-128 bytes, free them newest first. */
static struct sequence lifo_bursts(size_t burst, size_t rounds)
{
    struct sequence s = {malloc(2 * burst * rounds * sizeof *s.ops), 0, burst};

    for (size_t r = 0; r < rounds; r++) {
        for (uint32_t i = 0; i < burst; i++)
            sequence_push(&s, i, random_between(1, 128));
        for (uint32_t i = (uint32_t)burst; i-- > 0;)
            sequence_push(&s, i, 0);
    }
    return s;
}

/* `rounds` times: one 1-byte block from a fully merged heap, and its free. */
static struct sequence smallest_block(size_t rounds)
{
    struct sequence s = {malloc(2 * rounds * sizeof *s.ops), 0, 1};

    for (size_t r = 0; r < rounds; r++) {
        sequence_push(&s, 0, 1);
        sequence_push(&s, 0, 0);
    }
    return s;
}

/* ---- running a sequence -------------------------------------------------------- */

struct allocator {
    const char *name;
    void (*reset)(void);
    void *(*allocate)(size_t);
    void (*release)(void *);
};

static void heap_reset(void)
{
    heap_init();
    heap_add_region(region, HEAP_BYTES);
}

static void nothing_to_reset(void) {}

static const struct allocator buddy = {"kmalloc", heap_reset, kmalloc, kfree};
static const struct allocator glibc = {"malloc", nothing_to_reset, malloc, free};

static double seconds_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static size_t failures;

/* Run the sequence once; ns per operation. Each new block gets one byte written. */
static double run_once(const struct allocator *a, const struct sequence *s, void **slots)
{
    a->reset();
    double start = seconds_now();
    for (size_t i = 0; i < s->count; i++) {
        const struct op *op = &s->ops[i];
        if (op->size == 0) {
            a->release(slots[op->slot]);
            continue;
        }
        unsigned char *p = a->allocate(op->size);
        if (p != NULL)
            p[0] = (unsigned char)i;
        else
            failures++;
        slots[op->slot] = p;
    }
    return (seconds_now() - start) * 1e9 / (double)s->count;
}

static int double_order(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Median ns per operation of REPETITIONS runs for each allocator, taking turns. */
static void run_both(const struct sequence *s, double *heap_ns, double *glibc_ns)
{
    double heap_runs[REPETITIONS], glibc_runs[REPETITIONS];
    void **slots = calloc(s->slots, sizeof *slots);

    for (int r = 0; r < REPETITIONS; r++) {
        heap_runs[r] = run_once(&buddy, s, slots);
        glibc_runs[r] = run_once(&glibc, s, slots);
    }
    qsort(heap_runs, REPETITIONS, sizeof heap_runs[0], double_order);
    qsort(glibc_runs, REPETITIONS, sizeof glibc_runs[0], double_order);
    *heap_ns = heap_runs[REPETITIONS / 2];
    *glibc_ns = glibc_runs[REPETITIONS / 2];
    free(slots);
}

/* ---- the workloads ------------------------------------------------------------- */

static void print_speed(const char *name, const struct sequence *s)
{
    double heap_ns, glibc_ns;

    run_both(s, &heap_ns, &glibc_ns);
    double ratio = heap_ns / glibc_ns;
    printf("%-38s %9zu %9.1f %9.1f %7.2f   ratio <= 1.0   %s\n", name, s->count, heap_ns,
           glibc_ns, ratio, ratio <= 1.0 ? "met" : "NOT met");
    free(s->ops);
}

/* W4: the ns of a split or merge step, from the heap's own counters. */
static void print_worst_case(void)
{
    struct sequence s = smallest_block(200000);
    struct heap_stats stats;
    double heap_ns, glibc_ns;

    run_both(&s, &heap_ns, &glibc_ns);
    heap_get_stats(&stats);                 /* the heap's last run: steps per operation */
    double steps = (double)(stats.splits + stats.merges) / (double)s.count;
    double step_ns = heap_ns / steps;
    printf("%-38s %9zu %9.1f %9.1f %7.2f   (no target)\n", "W4 smallest block from a merged heap",
           s.count, heap_ns, glibc_ns, heap_ns / glibc_ns);
    printf("%-38s %9.1f steps/op %6.2f ns/step   < 2 ns/step    %s\n",
           "   its split and merge steps", steps, step_ns, step_ns < 2.0 ? "met" : "NOT met");
    free(s.ops);
}

/* W5: bytes requested until the first failure, over the bytes the heap manages. */
static double efficiency(size_t (*size)(void))
{
    size_t requested = 0;

    heap_reset();
    for (;;) {
        size_t n = size();
        if (kmalloc(n) == NULL)
            break;
        requested += n;
    }
    return 100.0 * (double)requested / (double)HEAP_BYTES;
}

static size_t up_to_4096(void) { return random_between(1, 4096); }
static size_t exactly_24(void) { return 24; }
static size_t exactly_4096(void) { return 4096; }

static void print_efficiency(void)
{
    printf("W5 memory efficiency (requested before the first failure / %zu MiB heap):\n",
           HEAP_BYTES >> 20);
    printf("   random 1-4096 B %5.1f%%   24 B %5.1f%%   4096 B %5.1f%%   (no target)\n",
           efficiency(up_to_4096), efficiency(exactly_24), efficiency(exactly_4096));
}

int main(void)
{
    region = aligned_alloc(HEAP_BYTES, HEAP_BYTES);
    if (region == NULL) {
        printf("bench: no memory for a %zu MiB region\n", HEAP_BYTES >> 20);
        return 0;
    }
    memset(region, 0, HEAP_BYTES);         /* fault the pages in before timing anything */
    printf("heap benchmark: median of %d runs, ns per operation (an allocation or a free)\n",
           REPETITIONS);
    printf("%-38s %9s %9s %9s %7s   %-14s %s\n", "workload", "ops", "kmalloc", "malloc", "ratio",
           "target", "met?");
    struct sequence w1 = churn(10000, 2000000, small_size);
    print_speed("W1 small churn 1-256 B, 10k live", &w1);
    struct sequence w2 = churn(2000, 1000000, mixed_size);
    print_speed("W2 mixed 16 B-64 KiB, 2k live", &w2);
    struct sequence w3 = lifo_bursts(100000, 10);
    print_speed("W3 LIFO bursts of 100k x 1-128 B", &w3);
    print_worst_case();
    print_efficiency();
    if (failures != 0)
        printf("note: %zu allocations failed during the timed runs\n", failures);
    free(region);
    return 0;
}
