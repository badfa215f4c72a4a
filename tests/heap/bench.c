/*
 * bench.c - how fast and how thrifty the buddy heap and a slab cache on it
 * (W6) are, beside glibc's malloc. Each workload is a seeded, pre-generated operation sequence run
 * through both: the median ns per operation of five runs (CLOCK_MONOTONIC),
 * then the instructions per operation inside the allocator calls, counted
 * by running this program again under callgrind (bench_callgrind.c). W1-W3
 * run again with HEAP_DEBUG_ALL, to show what debug mode costs. Built with
 * -O2 and no sanitizers (make bench); it prints figures and targets and
 * always exits 0: speed is never a test failure here.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_callgrind.h"
#include "memory/heap.h"
#include "memory/slab.h"
#include "../lib/splitmix.h"

#define HEAP_BYTES ((size_t)256 << 20)  /* one region, aligned to its own size */
#define SMALL_HEAP_BYTES ((size_t)1 << 20)  /* W6's fill: the start of that region */
#define PAGE_BYTES 4096
#define REPETITIONS 5
#define SEED 42                         /* every sequence and fill starts from it */
#define COUNT_MODE "--count-instructions"

static unsigned char *region;

/* ---- random numbers: SplitMix64 (tests/lib/splitmix.h): both allocators see one sequence */

static uint64_t random_state;

static void random_seed(uint64_t seed) { random_state = seed; }

static uint64_t random_next(void) { return splitmix_next(&random_state); }

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

static size_t small_size(void) { return random_between(1, 256); }
static size_t mixed_size(void) { return random_log_uniform(16, 64 << 10); }
static size_t up_to_4096(void) { return random_between(1, 4096); }
static size_t exactly_24(void) { return 24; }
static size_t exactly_4096(void) { return 4096; }
static size_t exactly_1mib(void) { return (size_t)1 << 20; }
static size_t just_over_1mib(void) { return ((size_t)1 << 20) + 8; }

static struct sequence w1_small_churn(void) { return churn(10000, 2000000, small_size); }
static struct sequence w2_mixed_churn(void) { return churn(2000, 1000000, mixed_size); }
static struct sequence w3_lifo_bursts(void) { return lifo_bursts(100000, 10); }
static struct sequence w4_smallest_block(void) { return smallest_block(200000); }
static struct sequence w6_slab_churn(void) { return churn(10000, 2000000, exactly_24); }
static struct sequence w7_page_churn(void) { return churn(1000, 1000000, exactly_4096); }

/* ---- the allocators ------------------------------------------------------------ */

/*
 * The calls callgrind counts (--toggle-collect=bench_counted_*): everything
 * the allocator runs, plus the wrapper's own call, stack adjustment and
 * return, the same few instructions for every allocator (glibc's calls also
 * pass through one PLT jump). The empty asm after the call keeps the
 * compiler from turning it into a jump out of the wrapper.
 */
#define COUNTED __attribute__((noinline))
#define AFTER_CALL() __asm__ volatile("" : : : "memory")

static COUNTED void *bench_counted_kmalloc(size_t n)
{
    void *p = kmalloc(n);
    AFTER_CALL();
    return p;
}

static COUNTED void bench_counted_kfree(void *p)
{
    kfree(p);
    AFTER_CALL();
}

static COUNTED void *bench_counted_malloc(size_t n)
{
    void *p = malloc(n);
    AFTER_CALL();
    return p;
}

static COUNTED void bench_counted_free(void *p)
{
    free(p);
    AFTER_CALL();
}

/* W6: a slab cache of 24-byte objects; every request of its sequences is 24 bytes. */
static struct kmem_cache *bench_cache;

static COUNTED void *bench_counted_kmem_cache_alloc(size_t n)
{
    (void)n;
    void *p = kmem_cache_alloc(bench_cache);
    AFTER_CALL();
    return p;
}

static COUNTED void bench_counted_kmem_cache_free(void *p)
{
    kmem_cache_free(bench_cache, p);
    AFTER_CALL();
}

struct allocator {
    void (*reset)(size_t heap_bytes);   /* start over with a heap of this size (bench region) */
    void *(*allocate)(size_t);
    void (*release)(void *);
    void *(*counted_allocate)(size_t);  /* the same calls inside bench_counted_ wrappers */
    void (*counted_release)(void *);
};

static void heap_reset(size_t heap_bytes)
{
    heap_init();
    heap_add_region(region, heap_bytes);
}

/* The same heap in debug mode: poison, red zones, callers and the quarantine. */
static void heap_debug_reset(size_t heap_bytes)
{
    heap_init();
    heap_set_debug(HEAP_DEBUG_ALL);
    heap_add_region(region, heap_bytes);
}

static void nothing_to_reset(size_t heap_bytes) { (void)heap_bytes; }

/*
 * W4's heap: the smallest region whose blocks are one whole 64 MiB block,
 * the rest its frame table. Then kmalloc(1) splits the whole chain, 64 MiB
 * down to the smallest block, and kfree merges it all back, as issue 9
 * counts it. (In a 256 MiB region the table's pages break the top into
 * pieces, and the smallest of them, 256 KiB, would start the chain.)
 */
#define WHOLE_BLOCK_BYTES ((size_t)64 << 20)

static void whole_block_reset(size_t heap_bytes)
{
    static size_t region_bytes;             /* found once: the table's size does not change */
    struct heap_stats s;

    (void)heap_bytes;
    if (region_bytes != 0) {
        heap_reset(region_bytes);
        return;
    }
    for (region_bytes = WHOLE_BLOCK_BYTES;; region_bytes += PAGE_BYTES) {
        heap_reset(region_bytes);
        heap_get_stats(&s);
        if (s.largest_free_block == WHOLE_BLOCK_BYTES && s.free_bytes == WHOLE_BLOCK_BYTES)
            return;
    }
}

/* A fresh heap holding one cache of 24-byte objects, and nothing else. */
static void cache_reset(size_t heap_bytes)
{
    heap_reset(heap_bytes);
    kmem_cache_init();
    bench_cache = kmem_cache_create("bench-24", 24, 0, NULL);
}

static void *cache_allocate(size_t n)
{
    (void)n;                            /* always 24: the cache's object size */
    return kmem_cache_alloc(bench_cache);
}

static void cache_release(void *p) { kmem_cache_free(bench_cache, p); }

static const struct allocator buddy = {heap_reset, kmalloc, kfree, bench_counted_kmalloc,
                                       bench_counted_kfree};
static const struct allocator buddy_whole = {whole_block_reset, kmalloc, kfree,
                                             bench_counted_kmalloc, bench_counted_kfree};
static const struct allocator cache24 = {cache_reset, cache_allocate, cache_release,
                                         bench_counted_kmem_cache_alloc,
                                         bench_counted_kmem_cache_free};
static const struct allocator buddy_debug = {heap_debug_reset, kmalloc, kfree,
                                             bench_counted_kmalloc, bench_counted_kfree};
static const struct allocator glibc = {nothing_to_reset, malloc, free, bench_counted_malloc,
                                       bench_counted_free};

/* ---- the workloads ------------------------------------------------------------- */

/* Upper bounds on ns and on instructions (kernel / glibc, or per level); 0: none. */
struct target {
    double ns, instructions;
};

/*
 * One row of the table: a sequence run through a kernel allocator and
 * through glibc malloc/free. Another allocator brings its own struct
 * allocator and counted wrappers (as the slab cache of W6 does) and joins
 * as one more row.
 */
struct workload {
    const char *name;
    struct sequence (*build)(void);
    const struct allocator *kernel;
    struct target ratio;            /* kernel / glibc */
    struct target per_level;        /* per level of the split chain (W4); 0, 0: no such row */
    int slower_than;                /* the row whose kernel figures this one divides; -1: none */
};

static const struct workload workloads[] = {
    {"W1 small churn 1-256 B, 10k live", w1_small_churn, &buddy, {1.0, 1.0}, {0, 0}, -1},
    {"W2 mixed 16 B-64 KiB, 2k live", w2_mixed_churn, &buddy, {1.0, 1.0}, {0, 0}, -1},
    {"W3 LIFO bursts of 100k x 1-128 B", w3_lifo_bursts, &buddy, {1.0, 1.0}, {0, 0}, -1},
    {"W4 smallest block from a 64 MiB block", w4_smallest_block, &buddy_whole, {0, 0}, {2.0, 25},
     -1},
    {"W6 slab cache 24 B, 10k live", w6_slab_churn, &cache24, {0.5, 0.5}, {0, 0}, -1},
    {"W7 page churn 4096 B, 1k live", w7_page_churn, &buddy, {1.0, 0}, {0, 0}, -1},
    {"W1 with HEAP_DEBUG_ALL", w1_small_churn, &buddy_debug, {0, 0}, {0, 0}, 0},
    {"W2 with HEAP_DEBUG_ALL", w2_mixed_churn, &buddy_debug, {0, 0}, {0, 0}, 1},
    {"W3 with HEAP_DEBUG_ALL", w3_lifo_bursts, &buddy_debug, {0, 0}, {0, 0}, 2},
};
#define WORKLOADS (sizeof workloads / sizeof workloads[0])

enum side { KERNEL, GLIBC, SIDES };

static const char *const side_names[SIDES] = {"kernel", "glibc"};

static const struct allocator *side_allocator(const struct workload *w, enum side side)
{
    return side == KERNEL ? w->kernel : &glibc;
}

/* What one row measured. Figures are per operation (an allocation or a free). */
struct result {
    size_t ops;
    double ns[SIDES];
    double instructions[SIDES];     /* -1: not counted */
    double levels;                  /* kmalloc's splits per call in its last run */
};

/* ---- running a sequence -------------------------------------------------------- */

static double seconds_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static size_t failures;

/* Run the sequence once, in seconds. Each new block gets one byte written. */
static double run_once(const struct allocator *a, const struct sequence *s, void **slots,
                       int counted)
{
    void *(*allocate)(size_t) = counted ? a->counted_allocate : a->allocate;
    void (*release)(void *) = counted ? a->counted_release : a->release;

    a->reset(HEAP_BYTES);
    double start = seconds_now();
    for (size_t i = 0; i < s->count; i++) {
        const struct op *op = &s->ops[i];
        if (op->size == 0) {
            release(slots[op->slot]);
            continue;
        }
        unsigned char *p = allocate(op->size);
        if (p != NULL)
            p[0] = (unsigned char)i;
        else
            failures++;
        slots[op->slot] = p;
    }
    return seconds_now() - start;
}

static int double_order(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Kernel splits per kmalloc in the heap's last run: the levels of its chain. */
static double splits_per_allocation(void)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    return stats.allocations == 0 ? 0 : (double)stats.splits / (double)stats.allocations;
}

/* Median ns per operation of REPETITIONS runs for each side, taking turns. */
static void time_workload(const struct workload *w, const struct sequence *s, struct result *r)
{
    double runs[SIDES][REPETITIONS];
    void **slots = calloc(s->slots, sizeof *slots);

    for (int rep = 0; rep < REPETITIONS; rep++)
        for (int side = 0; side < SIDES; side++)
            runs[side][rep] = run_once(side_allocator(w, side), s, slots, 0) * 1e9 /
                              (double)s->count;
    r->levels = splits_per_allocation();    /* glibc's runs leave the heap's counters alone */
    for (int side = 0; side < SIDES; side++) {
        qsort(runs[side], REPETITIONS, sizeof runs[side][0], double_order);
        r->ns[side] = runs[side][REPETITIONS / 2];
    }
    r->ops = s->count;
    free(slots);
}

/* ---- instruction counts: the run under callgrind ------------------------------- */

static const char *stretch_label(char *label, size_t workload, int side)
{
    snprintf(label, CALLGRIND_LABEL_BYTES, "workload %zu %s", workload, side_names[side]);
    return label;
}

/*
 * glibc once uncounted, as the timing takes turns (its arena has grown by
 * then, as in most timed runs; the heap starts afresh every run, so its
 * count needs no such run), then each side inside its own counted stretch.
 */
static void count_workload(size_t index, const struct sequence *s)
{
    const struct workload *w = &workloads[index];
    char label[CALLGRIND_LABEL_BYTES];
    void **slots = calloc(s->slots, sizeof *slots);

    run_once(&glibc, s, slots, 0);
    for (int side = 0; side < SIDES; side++) {
        callgrind_stretch_start();
        run_once(side_allocator(w, side), s, slots, 1);
        callgrind_stretch_end(stretch_label(label, index, side));
    }
    free(slots);
}

/* The child: every workload's counted stretches, nothing printed. */
static void count_all(void)
{
    for (size_t i = 0; i < WORKLOADS; i++) {
        random_seed(SEED);
        struct sequence s = workloads[i].build();
        count_workload(i, &s);
        free(s.ops);
    }
}

/* The parent: instructions per operation from the child's stretches, -1 where missing. */
static void read_counts(struct result *results)
{
    struct callgrind_count counts[2 * WORKLOADS];
    char label[CALLGRIND_LABEL_BYTES];
    int n = callgrind_run_self(COUNT_MODE, counts, 2 * WORKLOADS);

    for (size_t i = 0; i < WORKLOADS; i++)
        for (int side = 0; side < SIDES; side++) {
            double total = callgrind_find(counts, n, stretch_label(label, i, side));
            results[i].instructions[side] = total < 0 ? -1 : total / (double)results[i].ops;
        }
}

/* ---- the table ------------------------------------------------------------------- */

/* printf one line of a table without the blanks an empty last column leaves. */
__attribute__((format(printf, 1, 2))) static void print_line(const char *format, ...)
{
    char line[256];
    va_list args;

    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\n'))
        line[--n] = '\0';
    puts(line);
}

#define ROW_FORMAT "%-38s %8s  %7s %7s %6s  %7s %7s %6s   %-20s %s"

/* value with decimals, or "-" when it is negative (not measured). */
static const char *figure(char *buf, double value, int decimals)
{
    if (value < 0)
        return "-";
    snprintf(buf, 16, "%.*f", decimals, value);
    return buf;
}

static double ratio(double kernel, double glibc_value)
{
    return kernel < 0 || glibc_value <= 0 ? -1 : kernel / glibc_value;
}

/* "ns, ins ratio <= 1", "ns <= 2, ins <= 25", ... or "(no target)". */
static const char *target_text(char *buf, size_t size, struct target t, const char *what)
{
    if (t.ns > 0 && t.instructions > 0 && t.ns == t.instructions)
        snprintf(buf, size, "ns, ins%s <= %g", what, t.ns);
    else if (t.ns > 0 && t.instructions > 0)
        snprintf(buf, size, "ns%s <= %g, ins%s <= %g", what, t.ns, what, t.instructions);
    else if (t.ns > 0 || t.instructions > 0)
        snprintf(buf, size, "%s%s <= %g", t.ns > 0 ? "ns" : "ins", what,
                 t.ns > 0 ? t.ns : t.instructions);
    else
        snprintf(buf, size, "(no target)");
    return buf;
}

/* "met", "NOT met" (naming the figure when the target bounds two), or "? (not counted)". */
static const char *verdict(struct target t, double ns, double instructions)
{
    int ns_missed = t.ns > 0 && !(ns >= 0 && ns <= t.ns);
    int ins_unknown = t.instructions > 0 && instructions < 0;
    int ins_missed = t.instructions > 0 && instructions >= 0 && instructions > t.instructions;

    if (t.ns <= 0 && t.instructions <= 0)
        return "";
    if (ns_missed && ins_missed)
        return "NOT met";
    if (ns_missed || ins_missed)
        return t.ns > 0 && t.instructions > 0 ? (ns_missed ? "NOT met (ns)" : "NOT met (ins)")
                                              : "NOT met";
    return ins_unknown ? "? (not counted)" : "met";
}

static void print_header(void)
{
    printf("heap benchmark: per operation (an allocation or a free), the median ns of %d runs\n"
           "and the instructions inside the allocator calls (callgrind); ratio = kernel / glibc\n",
           REPETITIONS);
    print_line("%-38s %8s  %-22s  %-22s", "", "", "------ ns per op -----",
               "-- instructions/op ---");
    print_line(ROW_FORMAT, "workload", "ops", "kernel", "glibc", "ratio", "kernel", "glibc",
               "ratio", "target", "met?");
}

static void print_row(const struct workload *w, const struct result *r)
{
    char ops[24], b[6][16], target[48];
    double ns_ratio = ratio(r->ns[KERNEL], r->ns[GLIBC]);
    double ins_ratio = ratio(r->instructions[KERNEL], r->instructions[GLIBC]);

    snprintf(ops, sizeof ops, "%zu", r->ops);
    print_line(ROW_FORMAT, w->name, ops, figure(b[0], r->ns[KERNEL], 1),
               figure(b[1], r->ns[GLIBC], 1), figure(b[2], ns_ratio, 2),
               figure(b[3], r->instructions[KERNEL], 1), figure(b[4], r->instructions[GLIBC], 1),
               figure(b[5], ins_ratio, 2), target_text(target, sizeof target, w->ratio, " ratio"),
               verdict(w->ratio, ns_ratio, ins_ratio));
}

/* W4's chain: ns and instructions per operation over the levels (splits per kmalloc). */
static void print_levels(const struct workload *w, const struct result *r)
{
    char name[48], b[2][16], target[48];
    double ns = r->levels > 0 ? r->ns[KERNEL] / r->levels : -1;
    double ins = r->levels > 0 && r->instructions[KERNEL] >= 0
                     ? r->instructions[KERNEL] / r->levels : -1;

    snprintf(name, sizeof name, "   per level of its chain (%.4g levels)", r->levels);
    print_line(ROW_FORMAT, name, "", figure(b[0], ns, 2), "", "", figure(b[1], ins, 1), "", "",
               target_text(target, sizeof target, w->per_level, ""),
               verdict(w->per_level, ns, ins));
}

/* A debug row's cost: its kernel figures over those of the same workload without debugging. */
static void print_slowdown(const struct result *r, const struct result *plain)
{
    char b[2][16];
    double ns = ratio(r->ns[KERNEL], plain->ns[KERNEL]);
    double ins = ratio(r->instructions[KERNEL], plain->instructions[KERNEL]);

    print_line(ROW_FORMAT, "   slowdown, debugging off to on", "", figure(b[0], ns, 1), "", "",
               figure(b[1], ins, 1), "", "", "(no target)", "");
}

static void print_table(const struct result *results)
{
    print_header();
    for (size_t i = 0; i < WORKLOADS; i++) {
        print_row(&workloads[i], &results[i]);
        if (workloads[i].per_level.ns > 0 || workloads[i].per_level.instructions > 0)
            print_levels(&workloads[i], &results[i]);
        if (workloads[i].slower_than >= 0)
            print_slowdown(&results[i], &results[workloads[i].slower_than]);
    }
}

/* ---- W5: memory efficiency ------------------------------------------------------- */

/*
 * One request pattern, allocated from a fresh heap until the first failure;
 * then, when `then` is set, a second pattern until it fails too, to show
 * what the memory the first left over can still serve.
 */
struct fill {
    const char *name;
    size_t (*size)(void);
    size_t (*then)(void);           /* NULL: none */
    const struct allocator *kernel;
    size_t heap_bytes;              /* at most HEAP_BYTES */
    double target_percent;          /* 0: none */
    int page_aligned_target;        /* count pointers that are not page-aligned; 0 is a target */
};

static const struct fill fills[] = {
    {"random 1-4096 B", up_to_4096, NULL, &buddy, HEAP_BYTES, 0, 0},
    {"24 B", exactly_24, NULL, &buddy, HEAP_BYTES, 0, 0},
    {"4096 B", exactly_4096, NULL, &buddy, HEAP_BYTES, 99.0, 1},
    {"1 MiB", exactly_1mib, NULL, &buddy, HEAP_BYTES, 97.0, 0},
    {"1 MiB + 8 B", just_over_1mib, NULL, &buddy, HEAP_BYTES, 95.0, 0},
    {"1 MiB + 8 B, 4096 B", just_over_1mib, exactly_4096, &buddy, HEAP_BYTES, 0, 0},
    {"24 B, slab cache", exactly_24, NULL, &cache24, SMALL_HEAP_BYTES, 95.0, 0},
};
#define FILLS (sizeof fills / sizeof fills[0])

/* requested and taken: of the first pattern only (taken: the heap's free bytes it used). */
struct fill_result {
    size_t blocks, requested, misaligned, taken;
    size_t then_requested;
};

static size_t heap_free_bytes(void)
{
    struct heap_stats s;

    heap_get_stats(&s);
    return s.free_bytes;
}

/* Allocate size() until the first failure; count into r. */
static void fill_until_failure(const struct fill *f, size_t (*size)(void), struct fill_result *r,
                               size_t *requested)
{
    for (;;) {
        size_t n = size();
        void *p = f->kernel->allocate(n);
        if (p == NULL)
            return;
        r->blocks++;
        *requested += n;
        r->misaligned += (uintptr_t)p % PAGE_BYTES != 0;
    }
}

static struct fill_result fill_heap(const struct fill *f)
{
    struct fill_result r = {0, 0, 0, 0, 0};

    random_seed(SEED);
    f->kernel->reset(f->heap_bytes);
    size_t free_at_start = heap_free_bytes();
    fill_until_failure(f, f->size, &r, &r.requested);
    r.taken = free_at_start - heap_free_bytes();
    if (f->then != NULL)
        fill_until_failure(f, f->then, &r, &r.then_requested);
    return r;
}

#define FILL_FORMAT "   %-20s %8s %10s %8s %7s %17s   %-22s %s"

static void print_fill(const struct fill *f)
{
    struct fill_result r = fill_heap(f);
    double percent = 100.0 * (double)(r.requested + r.then_requested) / (double)f->heap_bytes;
    char heap[24], blocks[24], filled[16], kept[16], misaligned[24], target[48];
    int met = percent >= f->target_percent && (!f->page_aligned_target || r.misaligned == 0);

    snprintf(heap, sizeof heap, "%zu MiB", f->heap_bytes >> 20);
    snprintf(blocks, sizeof blocks, "%zu", r.blocks);
    snprintf(filled, sizeof filled, "%.1f%%", percent);
    snprintf(kept, sizeof kept, "%.1f%%", 100.0 * (double)r.requested / (double)r.taken);
    snprintf(misaligned, sizeof misaligned, "%zu", r.misaligned);
    snprintf(target, sizeof target, f->target_percent > 0 ? ">= %g%%%s" : "(no target)",
             f->target_percent, f->page_aligned_target ? ", all aligned" : "");
    print_line(FILL_FORMAT, f->name, heap, blocks, filled, f->then != NULL ? "-" : kept,
               f->page_aligned_target ? misaligned : "-", target,
               f->target_percent > 0 ? (met ? "met" : "NOT met") : "");
}

/* W6's slab: the bytes of one slab that its 24-byte objects fill. */
static void print_slab_geometry(void)
{
    struct kmem_cache_stats stats;
    double percent;

    cache_reset(SMALL_HEAP_BYTES);
    kmem_cache_get_stats(bench_cache, &stats);
    percent = 100.0 * (double)(stats.objects_per_slab * stats.object_size) /
              (double)stats.slab_bytes;
    printf("W6 slab geometry: objects per slab x object size / slab bytes\n");
    print_line("   %zu x %zu B / %zu B = %.1f%%   target >= 97%%   %s", stats.objects_per_slab,
               stats.object_size, stats.slab_bytes, percent, percent >= 97.0 ? "met" : "NOT met");
}

static void print_fills(void)
{
    printf("W5 memory efficiency: bytes requested until the first failure / bytes of the heap\n"
           "   (kept: bytes requested / bytes the heap gave for them; a second size: after the\n"
           "   first failure, requests of that size until they fail too, filled counts both)\n");
    print_line(FILL_FORMAT, "request", "heap", "blocks", "filled", "kept", "not page-aligned",
               "target", "met?");
    for (size_t i = 0; i < FILLS; i++)
        print_fill(&fills[i]);
}

/* ---- main ------------------------------------------------------------------------ */

/* The timing run: every workload, then the counts from callgrind, then the tables. */
static void bench_all(void)
{
    struct result results[WORKLOADS];
    double start = seconds_now();

    for (size_t i = 0; i < WORKLOADS; i++) {
        random_seed(SEED);
        struct sequence s = workloads[i].build();
        time_workload(&workloads[i], &s, &results[i]);
        free(s.ops);
    }
    double timed = seconds_now();
    printf("timing done in %.0f s; counting instructions under callgrind...\n", timed - start);
    fflush(stdout);
    read_counts(results);
    double counted = seconds_now();
    print_table(results);
    print_fills();
    print_slab_geometry();
    if (failures != 0)
        printf("note: %zu allocations failed during the timed runs\n", failures);
    printf("(timing %.0f s, callgrind %.0f s, efficiency %.0f s)\n", timed - start,
           counted - timed, seconds_now() - counted);
}

int main(int argc, char **argv)
{
    int counting = argc == 2 && strcmp(argv[1], COUNT_MODE) == 0;

    if (argc > 1 && !counting) {
        printf("usage: %s   (%s is for the callgrind run it starts itself)\n", argv[0],
               COUNT_MODE);
        return 2;
    }
    if (counting && !callgrind_active()) {
        printf("bench: %s counts nothing outside callgrind; run %s alone\n", COUNT_MODE,
               argv[0]);
        return 2;
    }
    region = aligned_alloc(HEAP_BYTES, HEAP_BYTES);
    if (region == NULL) {
        printf("bench: no memory for a %zu MiB region\n", HEAP_BYTES >> 20);
        return 0;
    }
    memset(region, 0, HEAP_BYTES);         /* fault the pages in before timing anything */
    if (counting)
        count_all();
    else
        bench_all();
    free(region);
    return 0;
}
