/*
 * unit.c - host unit tests of src/memory/slab.c on top of the real heap
 * (src/memory/heap.c): creating caches, alignment and slab geometry, the
 * constructor, the full/partial/empty lists, every refusal of
 * kmem_cache_free and of kfree on slab memory, shrink and destroy, running
 * out of memory, the statistics and kmem_cache_check. Built with ASan and
 * UBSan. After every test heap_check and kmem_cache_check must pass.
 * Prints each failure as file:line, then "N passed, N failed".
 */
#include <sanitizer/asan_interface.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/heap.h"
#include "memory/slab.h"
#include "../lib/check.h"

#define ARENA_BYTES ((size_t)4 << 20)   /* aligned to its own size */
#define SMALL_HEAP_BYTES ((size_t)64 << 10)
#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static unsigned char *arena;

/* Every alignment create accepts, 0 (the default) first. */
static const size_t alignments[] = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};

/* ---- what the handlers heard ------------------------------------------------------- */

static struct {
    int calls;
    const char *function, *cache;
    const void *ptr;
    enum heap_status why;
    const void *caller;
} refusal;

static void record_refusal(const struct heap_refusal *heard)
{
    refusal.calls++;
    refusal.function = heard->function;
    refusal.cache = heard->cache;
    refusal.ptr = heard->ptr;
    refusal.why = heard->why;
    refusal.caller = heard->caller;
}

static struct {
    int calls;
    const struct kmem_cache *cache;
    const char *what;
    const void *caller;
} report;

static void record_report(const struct kmem_cache *cache, const char *what, const void *caller)
{
    report.calls++;
    report.cache = cache;
    report.what = what;
    report.caller = caller;
}

/* The heap's debug reports (poison and red zones): the last one, and how many. */
static struct {
    int calls;
    struct heap_debug_report last;
} debug_log;

static void record_debug(const struct heap_debug_report *r)
{
    debug_log.calls++;
    debug_log.last = *r;
}

/* The constructor: counts its calls, remembers the last object, leaves a mark in each. */
#define CONSTRUCTED 0xc5
static struct {
    size_t calls;
    void *last;
} ctor_log;

static void construct(void *object)
{
    ctor_log.calls++;
    ctor_log.last = object;
    *(unsigned char *)object = CONSTRUCTED;
}

/* ---- fixtures ------------------------------------------------------------------------ */

static struct heap_stats heap_now(void)
{
    struct heap_stats s;

    heap_get_stats(&s);
    return s;
}

static struct kmem_cache_stats stats_of(const struct kmem_cache *cache)
{
    struct kmem_cache_stats s;

    kmem_cache_get_stats(cache, &s);
    return s;
}

/* A fresh heap of `bytes` at the arena's start, and no caches. */
static void heap_of(size_t bytes)
{
    heap_init();
    kmem_cache_init();
    heap_add_region(arena, bytes);
    heap_on_refusal(record_refusal);
    kmem_cache_on_report(record_report);
}

static uintptr_t slab_start(const void *object) { return heap_slab_of(object); }

/* Object i of the slab at `slab`, where the cache's geometry puts it. */
static void *object_in(const struct kmem_cache *cache, uintptr_t slab, size_t i)
{
    return (void *)(slab + cache->first_offset + i * cache->stride);
}

static size_t index_in_slab(const struct kmem_cache *cache, const void *object)
{
    return ((uintptr_t)object - slab_start(object) - cache->first_offset) / cache->stride;
}

/* Allocate n objects into out[]; returns how many came back. */
static size_t allocate(struct kmem_cache *cache, void **out, size_t n)
{
    size_t got = 0;

    while (got < n && (out[got] = kmem_cache_alloc(cache)) != NULL)
        got++;
    return got;
}

static void free_all(struct kmem_cache *cache, void **objects, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kmem_cache_free(cache, objects[i]);
}

/*
 * Everything a refusal must leave alone: every byte of the arena (caches,
 * slabs and heap blocks all live there) and the heap's statistics.
 */
struct snapshot {
    unsigned char *bytes;
    struct heap_stats heap;
};

static void snapshot_take(struct snapshot *s)
{
    s->bytes = malloc(ARENA_BYTES);
    memcpy(s->bytes, arena, ARENA_BYTES);
    s->heap = heap_now();
}

/* Is all as s found it, but for `refused` more refusals in cache (if any) and heap? */
static int snapshot_unchanged(struct snapshot *s, struct kmem_cache *cache, size_t refused)
{
    struct heap_stats now = heap_now();
    int same;

    if (cache != NULL)
        cache->refused_frees -= refused;
    same = memcmp(s->bytes, arena, ARENA_BYTES) == 0;
    if (cache != NULL)
        cache->refused_frees += refused;
    same &= now.refused_frees == s->heap.refused_frees + refused;
    now.refused_frees = s->heap.refused_frees;
    same &= memcmp(&now, &s->heap, sizeof(now)) == 0;
    free(s->bytes);
    return same;
}

/* A refusal was heard: from this call and cache (NULL: none), this pointer, this status, some
   caller. */
static void check_heard(const char *file, int line, const char *function, const char *cache,
                        int calls, const void *ptr, enum heap_status why)
{
    CHECK_AT(file, line, refusal.calls == calls + 1);
    CHECK_AT(file, line, strcmp(refusal.function, function) == 0);
    CHECK_AT(file, line, cache == NULL ? refusal.cache == NULL
                                       : refusal.cache != NULL && strcmp(refusal.cache, cache) == 0);
    CHECK_AT(file, line, refusal.ptr == ptr);
    CHECK_AT(file, line, refusal.why == why);
    CHECK_AT(file, line, refusal.caller != NULL);
    if (refusal.why != why)
        printf("    heard \"%s\", not \"%s\"\n", heap_status_name(refusal.why),
               heap_status_name(why));
}

/* kmem_cache_free(cache, ptr) is refused with `why`, and not a byte changes. */
#define CHECK_FREE_REFUSED(cache, ptr, why) \
    check_free_refused(__FILE__, __LINE__, cache, ptr, why)
static void check_free_refused(const char *file, int line, struct kmem_cache *cache, void *ptr,
                               enum heap_status why)
{
    struct snapshot before;
    int calls = refusal.calls;

    snapshot_take(&before);
    kmem_cache_free(cache, ptr);
    check_heard(file, line, "kmem_cache_free", cache != NULL ? cache->name : NULL, calls, ptr, why);
    CHECK_AT(file, line, snapshot_unchanged(&before, cache, 1));
}

/* kfree(ptr) and krealloc(ptr, n) are refused as slab memory, and not a byte changes. */
#define CHECK_KFREE_REFUSED(ptr) check_kfree_refused(__FILE__, __LINE__, ptr)
static void check_kfree_refused(const char *file, int line, void *ptr)
{
    struct snapshot before;
    int calls = refusal.calls;

    snapshot_take(&before);
    kfree(ptr);
    check_heard(file, line, "kfree", NULL, calls, ptr, HEAP_SLAB_MEMORY);
    CHECK_AT(file, line, krealloc(ptr, 16) == NULL);
    check_heard(file, line, "krealloc", NULL, calls + 1, ptr, HEAP_SLAB_MEMORY);
    CHECK_AT(file, line, heap_free(ptr) == HEAP_SLAB_MEMORY);
    CHECK_AT(file, line, ksize(ptr) == 0 && heap_block_of(ptr) == 0);
    CHECK_AT(file, line, snapshot_unchanged(&before, NULL, 3));
}

/* What kmem_cache_check found must be `what`, in this cache and slab. */
#define CHECK_FINDS(what, cache, slab) check_finds(__FILE__, __LINE__, what, cache, slab)
static void check_finds(const char *file, int line, const char *what,
                        const struct kmem_cache *cache, uintptr_t slab)
{
    struct kmem_cache_violation found = {0};

    if (kmem_cache_check(&found) == 0) {
        check_fail(file, line, what);
        return;
    }
    CHECK_AT(file, line, found.what != NULL && strcmp(found.what, what) == 0);
    CHECK_AT(file, line, found.cache == cache);
    CHECK_AT(file, line, found.slab == slab);
    if (found.what != NULL && strcmp(found.what, what) != 0)
        printf("    found \"%s\"\n", found.what);
}

/* Calls kmem_cache_free from a known function, so its reported caller can be placed. */
static __attribute__((noinline)) void free_from_here(struct kmem_cache *cache, void *object)
{
    kmem_cache_free(cache, object);
    __asm__ volatile("");   /* keep the call a call, not a tail jump */
}

/* ---- creating caches -------------------------------------------------------------------- */

static void kmem_cache_create_refuses_impossible_sizes_and_alignments(void)
{
    static const size_t sizes[] = {0, KMEM_CACHE_MAX_SIZE + 1, SIZE_MAX};
    static const size_t aligns[] = {3, 6, 12, 24, 100, KMEM_CACHE_MAX_ALIGN * 2, SIZE_MAX};
    struct heap_stats before = heap_now();

    for (size_t i = 0; i < COUNT(sizes); i++)
        CHECK(kmem_cache_create("bad-size", sizes[i], 0, NULL) == NULL);
    for (size_t i = 0; i < COUNT(aligns); i++)
        CHECK(kmem_cache_create("bad-align", 24, aligns[i], NULL) == NULL);
    CHECK(kmem_cache_create(NULL, 24, 0, NULL) == NULL);
    CHECK(kmem_caches == NULL);
    CHECK_EQ(heap_now().allocations, before.allocations);
    CHECK_EQ(heap_now().free_bytes, before.free_bytes);
}

static void kmem_cache_create_accepts_sizes_from_one_byte_to_the_maximum(void)
{
    static const size_t sizes[] = {1, 2, 7, 24, 2048, KMEM_CACHE_MAX_SIZE - 1, KMEM_CACHE_MAX_SIZE};

    for (size_t i = 0; i < COUNT(sizes); i++) {
        struct kmem_cache *cache = kmem_cache_create("sizes", sizes[i], 0, NULL);
        CHECK(cache != NULL);
        CHECK_EQ(stats_of(cache).object_size, sizes[i]);
        CHECK(kmem_cache_alloc(cache) != NULL);
    }
}

static void a_new_cache_takes_no_slab_until_its_first_allocation(void)
{
    struct heap_stats before = heap_now();
    struct kmem_cache *cache = kmem_cache_create("lazy", 24, 0, construct);

    CHECK_EQ(stats_of(cache).slabs, 0);
    CHECK_EQ(ctor_log.calls, 0);
    CHECK_EQ(heap_now().allocations, before.allocations + 1);
    CHECK_EQ(heap_block_of(cache) != 0, 1);
}

static void the_default_alignment_is_eight_or_the_natural_alignment_up_to_64(void)
{
    static const size_t cases[][2] = {{1, 8}, {2, 8}, {4, 8}, {8, 8}, {16, 16}, {24, 8},
                                      {32, 32}, {48, 8}, {64, 64}, {100, 8}, {128, 64},
                                      {2048, 64}, {4096, 64}, {4095, 8}};

    for (size_t i = 0; i < COUNT(cases); i++)
        CHECK_EQ(stats_of(kmem_cache_create("default", cases[i][0], 0, NULL)).align, cases[i][1]);
}

static void an_alignment_below_eight_is_raised_to_eight(void)
{
    CHECK_EQ(stats_of(kmem_cache_create("a1", 1, 1, NULL)).align, 8);
    CHECK_EQ(stats_of(kmem_cache_create("a2", 3, 2, NULL)).align, 8);
    CHECK_EQ(stats_of(kmem_cache_create("a4", 64, 4, NULL)).align, 8);
    CHECK_EQ(stats_of(kmem_cache_create("a16", 64, 16, NULL)).align, 16);
}

/* The alignment a cache of this size must give for this create argument. */
static size_t expected_align(size_t size, size_t align)
{
    if (align == 0 && (size & (size - 1)) == 0)
        align = size < 64 ? size : 64;
    return align < 8 ? 8 : align;
}

/*
 * Fill a slab and one object more: each object aligned, inside its slab
 * after the header, at its own slot, and written end to end.
 */
static void check_objects_of(size_t size, size_t align)
{
    struct kmem_cache *cache = kmem_cache_create("aligned", size, align, NULL);
    size_t n = cache->objects_per_slab + 1, want = expected_align(size, align);
    void **objects = malloc(n * sizeof(void *));
    size_t bad = 0;

    CHECK_EQ(allocate(cache, objects, n), n);
    for (size_t i = 0; i < n; i++) {
        uintptr_t p = (uintptr_t)objects[i], slab = slab_start(objects[i]);
        bad += p % want != 0 || slab == 0 || p + size > slab + cache->slab_bytes;
        bad += p < slab + sizeof(struct slab) + (cache->objects_per_slab + 31) / 32 * 4;
        bad += (p - slab - cache->first_offset) % cache->stride != 0;
        bad += i < n - 1 && index_in_slab(cache, objects[i]) != i;
        memset(objects[i], 0x5a, size);
    }
    CHECK(slab_start(objects[n - 1]) != slab_start(objects[0]));
    CHECK(kmem_cache_check(NULL) == 0);
    if (bad != 0)
        printf("    size %zu align %zu: %zu misplaced objects\n", size, align, bad);
    CHECK_EQ(bad, 0);
    free_all(cache, objects, n);
    CHECK_EQ(kmem_cache_destroy(cache), 0);
    free(objects);
}

static void every_object_is_aligned_and_in_its_own_slot_for_every_size_and_alignment(void)
{
    struct heap_stats before = heap_now();

    for (size_t size = 1; size <= KMEM_CACHE_MAX_SIZE; size++)
        for (size_t a = 0; a < COUNT(alignments); a++)
            check_objects_of(size, alignments[a]);
    CHECK_EQ(heap_now().free_bytes, before.free_bytes);
}

static void a_slab_loses_at_most_an_eighth_to_its_header_and_rounding(void)
{
    size_t worst_pages = 0;

    for (size_t size = 1; size <= KMEM_CACHE_MAX_SIZE; size++) {
        for (size_t a = 0; a < COUNT(alignments); a++) {
            struct kmem_cache *cache = kmem_cache_create("geometry", size, alignments[a], NULL);
            struct kmem_cache_stats s = stats_of(cache);
            CHECK(s.objects_per_slab >= 1);
            CHECK(s.objects_per_slab <= 16 * 32);   /* free_words: 16 bits, one per map word */
            CHECK((s.slab_bytes - s.objects_per_slab * s.stride) * 8 <= s.slab_bytes);
            CHECK(s.slab_bytes % HEAP_PAGE_BYTES == 0 && (s.slab_bytes & (s.slab_bytes - 1)) == 0);
            CHECK(s.slab_bytes <= (size_t)HEAP_PAGE_BYTES << KMEM_SLAB_MAX_ORDER);
            CHECK(s.stride >= size && s.stride % s.align == 0);
            if (s.slab_bytes / HEAP_PAGE_BYTES > worst_pages)
                worst_pages = s.slab_bytes / HEAP_PAGE_BYTES;
            CHECK_EQ(kmem_cache_destroy(cache), 0);
        }
    }
    printf("    the largest slab any size and alignment needs: %zu pages\n", worst_pages);
}

static void small_objects_take_one_page_slabs(void)
{
    for (size_t size = 1; size <= 256; size++)
        CHECK_EQ(stats_of(kmem_cache_create("small", size, 0, NULL)).slab_bytes, HEAP_PAGE_BYTES);
}

static void twenty_four_byte_objects_fill_at_least_97_percent_of_their_slab(void)
{
    struct kmem_cache_stats s = stats_of(kmem_cache_create("demo-24", 24, 0, NULL));
    size_t filled = s.objects_per_slab * 24;

    printf("    24-byte objects: %zu in a %zu-byte slab, %.1f%% of it\n", s.objects_per_slab,
           s.slab_bytes, 100.0 * (double)filled / (double)s.slab_bytes);
    CHECK(filled * 100 >= s.slab_bytes * 97);
}

static void a_long_name_is_cut_and_copied(void)
{
    char name[64];

    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    struct kmem_cache *cache = kmem_cache_create(name, 24, 0, NULL);
    name[0] = 'y';
    CHECK_EQ(strlen(stats_of(cache).name), KMEM_CACHE_NAME_BYTES - 1);
    CHECK(stats_of(cache).name[0] == 'x');
    CHECK(strcmp(stats_of(kmem_cache_create("short", 24, 0, NULL)).name, "short") == 0);
}

/* ---- the constructor ---------------------------------------------------------------------- */

static void the_constructor_runs_once_per_slot_when_a_slab_is_made(void)
{
    struct kmem_cache *cache = kmem_cache_create("ctor", 40, 0, construct);
    size_t n = cache->objects_per_slab;
    void *first = kmem_cache_alloc(cache);
    uintptr_t slab = slab_start(first);

    CHECK_EQ(ctor_log.calls, n);
    CHECK(ctor_log.last == object_in(cache, slab, n - 1));
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(*(unsigned char *)object_in(cache, slab, i), CONSTRUCTED);
    for (size_t i = 1; i < n; i++)
        kmem_cache_alloc(cache);
    CHECK_EQ(ctor_log.calls, n);
    void *next = kmem_cache_alloc(cache);
    CHECK_EQ(ctor_log.calls, 2 * n);
    CHECK(ctor_log.last == object_in(cache, slab_start(next), n - 1));
}

static void allocation_and_free_never_run_the_constructor_again(void)
{
    struct kmem_cache *cache = kmem_cache_create("ctor", 40, 0, construct);
    void *p = kmem_cache_alloc(cache);
    size_t calls = ctor_log.calls;

    for (int i = 0; i < 1000; i++) {
        kmem_cache_free(cache, p);
        p = kmem_cache_alloc(cache);
    }
    CHECK_EQ(ctor_log.calls, calls);
}

static void a_freed_object_comes_back_exactly_as_it_was_freed(void)
{
    struct kmem_cache *cache = kmem_cache_create("bonwick", 64, 0, construct);
    unsigned char *p = kmem_cache_alloc(cache), pattern[64];

    CHECK_EQ(p[0], CONSTRUCTED);
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (unsigned char)(i * 13 + 1);
    memcpy(p, pattern, sizeof(pattern));
    kmem_cache_free(cache, p);
    CHECK(memcmp(p, pattern, sizeof(pattern)) == 0);
    CHECK(kmem_cache_alloc(cache) == p);
    CHECK(memcmp(p, pattern, sizeof(pattern)) == 0);
}

/* ---- slabs and their lists -------------------------------------------------------------- */

#define CHECK_LISTS(cache, full, partial, empty) \
    do { \
        struct kmem_cache_stats s_ = stats_of(cache); \
        CHECK_EQ(s_.full_slabs, full); \
        CHECK_EQ(s_.partial_slabs, partial); \
        CHECK_EQ(s_.empty_slabs, empty); \
        CHECK_EQ(s_.slabs, (full) + (partial) + (empty)); \
    } while (0)

static void slabs_move_between_the_empty_partial_and_full_lists(void)
{
    struct kmem_cache *cache = kmem_cache_create("lists", 100, 0, NULL);
    size_t n = cache->objects_per_slab;
    void **objects = malloc(n * sizeof(void *));

    CHECK_LISTS(cache, 0, 0, 0);
    objects[0] = kmem_cache_alloc(cache);
    CHECK_LISTS(cache, 0, 1, 0);
    CHECK_EQ(allocate(cache, objects + 1, n - 2), n - 2);
    CHECK_LISTS(cache, 0, 1, 0);
    objects[n - 1] = kmem_cache_alloc(cache);
    CHECK_LISTS(cache, 1, 0, 0);
    kmem_cache_free(cache, objects[3]);
    CHECK_LISTS(cache, 0, 1, 0);
    objects[3] = kmem_cache_alloc(cache);
    CHECK_LISTS(cache, 1, 0, 0);
    free_all(cache, objects, n - 1);
    CHECK_LISTS(cache, 0, 1, 0);
    kmem_cache_free(cache, objects[n - 1]);
    CHECK_LISTS(cache, 0, 0, 1);
    CHECK_EQ(stats_of(cache).active_objects, 0);
    free(objects);
}

static void a_full_cache_makes_a_new_slab(void)
{
    struct kmem_cache *cache = kmem_cache_create("grow", 512, 0, NULL);
    size_t n = cache->objects_per_slab;
    void **objects = malloc((n + 1) * sizeof(void *));

    CHECK_EQ(allocate(cache, objects, n + 1), n + 1);
    CHECK(slab_start(objects[n]) != slab_start(objects[0]));
    CHECK_LISTS(cache, 1, 1, 0);
    CHECK_EQ(stats_of(cache).total_objects, 2 * n);
    free(objects);
}

static void allocation_takes_a_partial_slab_before_an_empty_one(void)
{
    struct kmem_cache *cache = kmem_cache_create("prefer", 256, 0, NULL);
    size_t n = cache->objects_per_slab;
    void **objects = malloc(2 * n * sizeof(void *));

    CHECK_EQ(allocate(cache, objects, 2 * n), 2 * n);
    free_all(cache, objects + n, n);
    kmem_cache_free(cache, objects[1]);
    CHECK_LISTS(cache, 0, 1, 1);
    CHECK(kmem_cache_alloc(cache) == objects[1]);
    CHECK_LISTS(cache, 1, 0, 1);
    CHECK(slab_start(kmem_cache_alloc(cache)) == slab_start(objects[n]));
    free(objects);
}

static void allocation_takes_the_lowest_free_object_of_its_slab(void)
{
    struct kmem_cache *cache = kmem_cache_create("lowest", 16, 0, NULL);
    void *objects[80];

    CHECK_EQ(allocate(cache, objects, 80), 80);
    kmem_cache_free(cache, objects[70]);
    kmem_cache_free(cache, objects[5]);
    kmem_cache_free(cache, objects[40]);
    CHECK(kmem_cache_alloc(cache) == objects[5]);
    CHECK(kmem_cache_alloc(cache) == objects[40]);
    CHECK(kmem_cache_alloc(cache) == objects[70]);
    CHECK(kmem_cache_alloc(cache) == object_in(cache, slab_start(objects[0]), 80));
}

/* ---- kmem_cache_free's refusals ------------------------------------------------------------ */

static void kmem_cache_free_of_null_does_nothing(void)
{
    struct kmem_cache *cache = kmem_cache_create("null", 24, 0, NULL);
    struct snapshot before;

    kmem_cache_alloc(cache);
    snapshot_take(&before);
    kmem_cache_free(cache, NULL);
    CHECK_EQ(refusal.calls, 0);
    CHECK(snapshot_unchanged(&before, cache, 0));
}

static void kmem_cache_free_refuses_a_double_free(void)
{
    struct kmem_cache *cache = kmem_cache_create("double", 24, 0, NULL);
    void *p = kmem_cache_alloc(cache), *q = kmem_cache_alloc(cache);

    kmem_cache_free(cache, p);
    CHECK_FREE_REFUSED(cache, p, HEAP_DOUBLE_FREE);
    CHECK_FREE_REFUSED(cache, object_in(cache, slab_start(q), 2), HEAP_DOUBLE_FREE);
    kmem_cache_free(cache, q);
    CHECK_FREE_REFUSED(cache, q, HEAP_DOUBLE_FREE);
    CHECK_EQ(stats_of(cache).refused_frees, 3);
    CHECK_EQ(stats_of(cache).frees, 2);
}

static void kmem_cache_free_refuses_the_middle_of_an_object(void)
{
    struct kmem_cache *cache = kmem_cache_create("middle", 24, 0, NULL);
    unsigned char *p = kmem_cache_alloc(cache);

    CHECK_FREE_REFUSED(cache, p + 1, HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, p + 8, HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, p + 23, HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, p - 1, HEAP_NOT_AN_OBJECT);
}

/* Is an object of cache at byte b of its slab? By division, as object_index avoids. */
static int object_starts_at(const struct kmem_cache *cache, size_t b)
{
    return b >= cache->first_offset && (b - cache->first_offset) % cache->stride == 0 &&
           (b - cache->first_offset) / cache->stride < cache->objects_per_slab;
}

/*
 * Every byte of a full slab given to kmem_cache_free, last byte first (so an
 * object's inner bytes come before its start): exactly the starts are taken.
 */
static void kmem_cache_free_takes_exactly_the_object_starts_among_every_byte_of_a_slab(void)
{
    static const size_t sizes[] = {1, 24, 40, 56, 72, 104, 200, 328, 1000, 1368, 2056, 4000, 4096};

    for (size_t k = 0; k < COUNT(sizes); k++) {
        struct kmem_cache *cache = kmem_cache_create("bytes", sizes[k], 0, NULL);
        void *objects[512];
        size_t n = allocate(cache, objects, cache->objects_per_slab);
        uintptr_t slab = slab_start(objects[0]);

        CHECK_EQ(n, cache->objects_per_slab);
        for (size_t b = cache->slab_bytes; b-- > 0;) {
            size_t frees = cache->frees;
            kmem_cache_free(cache, (void *)(slab + b));
            CHECK_EQ(cache->frees - frees, (size_t)object_starts_at(cache, b));
        }
        CHECK_EQ(cache->active_objects, 0);
        CHECK_EQ(cache->refused_frees, cache->slab_bytes - n);
        CHECK_EQ(kmem_cache_destroy(cache), 0);
    }
}

static void kmem_cache_free_refuses_the_slab_header_and_the_tail_after_the_last_object(void)
{
    struct kmem_cache *cache = kmem_cache_create("edges", 1000, 0, NULL);
    uintptr_t slab = slab_start(kmem_cache_alloc(cache));

    CHECK(cache->first_offset >= 16);
    CHECK_FREE_REFUSED(cache, (void *)slab, HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, (void *)(slab + 8), HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, (void *)(slab + cache->first_offset - 8), HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, object_in(cache, slab, cache->objects_per_slab), HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, (void *)(slab + cache->slab_bytes - 1), HEAP_NOT_AN_OBJECT);
}

static void kmem_cache_free_refuses_an_object_of_another_cache(void)
{
    struct kmem_cache *a = kmem_cache_create("a", 24, 0, NULL);
    struct kmem_cache *twin = kmem_cache_create("twin", 24, 0, NULL);
    struct kmem_cache *big = kmem_cache_create("big", 3000, 0, NULL);
    void *p = kmem_cache_alloc(twin), *q = kmem_cache_alloc(big);

    kmem_cache_alloc(a);
    CHECK(big->slab_bytes > a->slab_bytes);
    CHECK_FREE_REFUSED(a, p, HEAP_WRONG_CACHE);
    CHECK_FREE_REFUSED(a, object_in(twin, slab_start(p), 7), HEAP_WRONG_CACHE);
    CHECK_FREE_REFUSED(a, q, HEAP_WRONG_CACHE);
    CHECK_FREE_REFUSED(big, kmem_cache_alloc(a), HEAP_WRONG_CACHE);
    CHECK_FREE_REFUSED(a, object_in(big, slab_start(q), 2), HEAP_WRONG_CACHE);
    CHECK_FREE_REFUSED(a, (unsigned char *)p + 4, HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(a, (void *)slab_start(q), HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(a, (void *)(slab_start(q) + HEAP_PAGE_BYTES), HEAP_NOT_AN_OBJECT);
}

static void kmem_cache_free_refuses_kmalloc_blocks(void)
{
    struct kmem_cache *cache = kmem_cache_create("kmalloc", 24, 0, NULL);

    kmem_cache_alloc(cache);
    CHECK_FREE_REFUSED(cache, kmalloc(24), HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, kmalloc(HEAP_PAGE_BYTES), HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, kmalloc(3 * HEAP_PAGE_BYTES), HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, cache, HEAP_NOT_AN_OBJECT);
}

static void kmem_cache_free_refuses_pointers_outside_the_heap(void)
{
    struct kmem_cache *cache = kmem_cache_create("outside", 24, 0, NULL);
    unsigned char *elsewhere = malloc(64);
    int on_stack;

    kmem_cache_alloc(cache);
    CHECK_FREE_REFUSED(cache, elsewhere, HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, &on_stack, HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, (void *)(uintptr_t)16, HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, arena + ARENA_BYTES, HEAP_NOT_AN_OBJECT);
    CHECK_FREE_REFUSED(cache, (void *)UINTPTR_MAX, HEAP_NOT_AN_OBJECT);
    free(elsewhere);
}

static void kmem_cache_free_with_no_cache_is_refused_and_counted_by_the_heap(void)
{
    struct kmem_cache *cache = kmem_cache_create("nocache", 24, 0, NULL);
    void *p = kmem_cache_alloc(cache);

    CHECK_FREE_REFUSED(NULL, p, HEAP_NOT_AN_OBJECT);
    CHECK_EQ(stats_of(cache).refused_frees, 0);
    CHECK_EQ(heap_now().refused_frees, 1);
}

static void refusals_reach_the_heaps_handler_with_the_callers_address(void)
{
    struct kmem_cache *cache = kmem_cache_create("caller", 24, 0, NULL);
    void *p = kmem_cache_alloc(cache);
    uintptr_t here = (uintptr_t)free_from_here;

    kmem_cache_free(cache, p);
    free_from_here(cache, p);
    CHECK_EQ(refusal.calls, 1);
    CHECK((uintptr_t)refusal.caller > here && (uintptr_t)refusal.caller < here + 256);
    heap_on_refusal(NULL);
    kmem_cache_free(cache, p);
    CHECK_EQ(refusal.calls, 1);
    CHECK_EQ(stats_of(cache).refused_frees, 2);
    CHECK_EQ(heap_now().refused_frees, 2);
}

/* ---- kfree and krealloc on slab memory ----------------------------------------------------- */

static void kfree_refuses_every_object_even_at_the_very_start_of_a_slab_page(void)
{
    struct kmem_cache *cache = kmem_cache_create("pages", 1024, 1024, NULL);
    size_t n = cache->objects_per_slab, at_page_start = 0;
    void **objects = malloc(n * sizeof(void *));

    CHECK(cache->slab_bytes > HEAP_PAGE_BYTES);
    CHECK_EQ(allocate(cache, objects, n), n);
    for (size_t i = 0; i < n; i++) {
        at_page_start += (uintptr_t)objects[i] % HEAP_PAGE_BYTES == 0;
        CHECK_KFREE_REFUSED(objects[i]);
    }
    CHECK(at_page_start >= 1);
    kmem_cache_free(cache, objects[0]);
    CHECK_KFREE_REFUSED(objects[0]);
    CHECK_KFREE_REFUSED((void *)slab_start(objects[1]));
    CHECK_EQ(stats_of(cache).active_objects, n - 1);
    free(objects);
}

static void kfree_refuses_the_start_of_a_one_page_slab(void)
{
    struct kmem_cache *cache = kmem_cache_create("page", 24, 0, NULL);
    void *p = kmem_cache_alloc(cache);

    CHECK_EQ(cache->slab_bytes, HEAP_PAGE_BYTES);
    CHECK_KFREE_REFUSED((void *)slab_start(p));
    CHECK_KFREE_REFUSED(p);
    CHECK_KFREE_REFUSED(object_in(cache, slab_start(p), cache->objects_per_slab - 1));
}

/* ---- heap_slab_of, which every kmem_cache_free asks first ---------------------------------- */

#define PAGE HEAP_PAGE_BYTES

static void heap_slab_of_finds_a_slab_from_every_byte_of_its_pages(void)
{
    unsigned char *page = kmalloc(PAGE), *short_run = kmalloc(3000), *pair = kmalloc(2 * PAGE);

    CHECK(heap_mark_slab(page, 1) == HEAP_OK && heap_mark_slab(short_run, 1) == HEAP_OK &&
          heap_mark_slab(pair, 1) == HEAP_OK);
    for (size_t offset = 0; offset < PAGE; offset++) {
        CHECK_EQ(heap_slab_of(page + offset), (uintptr_t)page);
        CHECK_EQ(heap_slab_of(short_run + offset), (uintptr_t)short_run);  /* 3000 bytes kept */
        CHECK_EQ(heap_slab_of(pair + offset), (uintptr_t)pair);
        CHECK_EQ(heap_slab_of(pair + PAGE + offset), (uintptr_t)pair);     /* its later page */
    }
    CHECK(heap_mark_slab(page, 0) == HEAP_OK && heap_mark_slab(short_run, 0) == HEAP_OK &&
          heap_mark_slab(pair, 0) == HEAP_OK);
    CHECK_EQ(heap_slab_of(page), 0);
    kfree(page);
    kfree(short_run);
    kfree(pair);
}

/* Each field of a one-page slab's entry damaged in turn, then the entry moved: no slab. */
static void heap_slab_of_refuses_a_one_page_slab_whose_entry_is_damaged_or_moved(void)
{
    unsigned char *page = kmalloc(PAGE), *other = kmalloc(PAGE);
    struct block_header *entry = heap_frame_entry((uintptr_t)page), saved;
    struct block_header *other_entry = heap_frame_entry((uintptr_t)other), other_saved = *other_entry;
    const struct block_header damaged[] = {
        {.check = 1}, {.check = 0x8000}, {.scale = 1}, {.state = HEAP_BLOCK_ALLOCATED ^ HEAP_BLOCK_SLAB},
        {.requested = PAGE}, {.requested = PAGE ^ (PAGE + 1)},      /* 0 and 4097 bytes kept */
    };

    CHECK(heap_mark_slab(page, 1) == HEAP_OK);
    saved = *entry;
    for (size_t i = 0; i < COUNT(damaged); i++) {
        entry->requested ^= damaged[i].requested;
        entry->scale ^= damaged[i].scale;
        entry->state ^= damaged[i].state;
        entry->check ^= damaged[i].check;
        CHECK_EQ(heap_slab_of(page + 100), 0);
        *entry = saved;
    }
    *other_entry = saved;                           /* its check value names another frame */
    CHECK_EQ(heap_slab_of(other + 100), 0);
    *other_entry = other_saved;
    CHECK_EQ(heap_slab_of(page + 100), (uintptr_t)page);
    CHECK(heap_mark_slab(page, 0) == HEAP_OK);
    kfree(page);
    kfree(other);
}

/* The frame table entry a one-page slab at `frame` has, made for real in a heap of its own. */
static struct block_header one_page_slab_entry(uintptr_t frame)
{
    void *page;

    heap_init();
    heap_add_region((void *)frame, 8 * PAGE);
    while ((page = kmalloc(PAGE)) != NULL && (uintptr_t)page != frame)
        continue;
    CHECK(page != NULL && heap_mark_slab(page, 1) == HEAP_OK);
    CHECK_EQ(heap_slab_of((const void *)(frame + 16)), frame);
    return *heap_frame_entry(frame);
}

/* A true slab header, written into the entry of a frame the region's blocks cover only in part. */
static void heap_slab_of_refuses_a_slab_entry_for_a_frame_partly_outside_the_blocks(void)
{
    uintptr_t frame = (uintptr_t)arena + 4 * PAGE;
    struct block_header genuine = one_page_slab_entry(frame), *entry;

    heap_init();                                /* the blocks start half way into the frame */
    CHECK(heap_add_region((void *)(frame + PAGE / 2), 4 * PAGE) != 0);
    entry = heap_frame_entry(frame + PAGE / 2);
    *entry = genuine;
    CHECK_EQ(heap_slab_of((const void *)(frame + PAGE / 2)), 0);
    entry->state = HEAP_FRAME_SMALL;
    genuine = one_page_slab_entry(frame);
    heap_init();                                /* the blocks end short of the frame's end */
    CHECK(heap_add_region((void *)frame, PAGE + 16) != 0);
    entry = heap_frame_entry(frame + 16);
    CHECK(entry != NULL && entry->state == HEAP_FRAME_SMALL);
    *entry = genuine;
    CHECK_EQ(heap_slab_of((const void *)(frame + 16)), 0);
    entry->state = HEAP_FRAME_SMALL;
    kmem_cache_init();
}

/* ---- shrink and destroy ------------------------------------------------------------------------ */

/* ---- debugging: poison and red zones (issue 11) ----------------------------------------- */

/* A fresh heap of the whole arena with these HEAP_DEBUG_* flags, and no caches. */
static void debug_heap(unsigned flags)
{
    heap_init();
    kmem_cache_init();
    heap_set_debug(flags);
    heap_add_region(arena, ARENA_BYTES);
}

/* The report heard last must be exactly this one, about an object of `cache`. */
#define CHECK_REPORT(kind, object, requested, offset, expected, found) \
    check_report(__FILE__, __LINE__, kind, object, requested, offset, expected, found)
static void check_report(const char *file, int line, enum heap_debug_kind kind,
                         const unsigned char *object, size_t requested, size_t offset,
                         uint8_t expected, uint8_t found)
{
    const struct heap_debug_report *r = &debug_log.last;

    CHECK_AT(file, line, r->kind == kind);
    CHECK_AT(file, line, r->block == (uintptr_t)object && r->payload == (uintptr_t)object);
    CHECK_AT(file, line, r->scale == HEAP_PAGE_SCALE && r->requested == requested);
    CHECK_AT(file, line, r->offset == offset);
    CHECK_AT(file, line, r->expected == expected && r->found == found);
    CHECK_AT(file, line, r->alloc_caller == NULL && r->free_caller == NULL && r->caller != NULL);
}

static bool bytes_are(const unsigned char *p, size_t n, unsigned char value)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != value)
            return false;
    return true;
}

static void with_poison_a_write_after_free_is_reported_when_the_object_is_handed_out_again(void)
{
    debug_heap(HEAP_DEBUG_POISON);
    struct kmem_cache *cache = kmem_cache_create("poisoned", 24, 0, NULL);
    unsigned char *p = kmem_cache_alloc(cache);

    CHECK_EQ(debug_log.calls, 0);
    kmem_cache_free(cache, p);
    p[5] = 0x00;
    CHECK(kmem_cache_alloc(cache) == p);
    CHECK_EQ(debug_log.calls, 1);
    CHECK_REPORT(HEAP_USE_AFTER_FREE, p, 0, 5, HEAP_POISON_FREE, 0x00);
    CHECK(kmem_cache_of((void *)debug_log.last.payload) == cache);
    CHECK_EQ(heap_now().debug_reports, 1);
    CHECK_EQ(stats_of(cache).active_objects, 1);
    kmem_cache_free(cache, p);
    CHECK_EQ(debug_log.calls, 1);
}

static void with_poison_a_changed_last_byte_is_reported_as_not_0xa5(void)
{
    debug_heap(HEAP_DEBUG_POISON);
    struct kmem_cache *cache = kmem_cache_create("poisoned", 24, 0, NULL);
    unsigned char *p = kmem_cache_alloc(cache);

    kmem_cache_free(cache, p);
    p[23] = 0x6b;
    CHECK(kmem_cache_alloc(cache) == p);
    CHECK_EQ(debug_log.calls, 1);
    CHECK_REPORT(HEAP_USE_AFTER_FREE, p, 0, 23, HEAP_POISON_END, 0x6b);
    kmem_cache_free(cache, p);
}

static void with_the_red_zone_a_write_past_the_end_is_reported_when_the_object_is_freed(void)
{
    debug_heap(HEAP_DEBUG_REDZONE);
    struct kmem_cache *cache = kmem_cache_create("red-zoned", 24, 0, NULL);
    unsigned char *p = kmem_cache_alloc(cache), *q = kmem_cache_alloc(cache);

    p[26] = 0x00;
    free_from_here(cache, p);
    CHECK_EQ(debug_log.calls, 1);
    CHECK_REPORT(HEAP_OUT_OF_BOUNDS, p, 24, 26, HEAP_POISON_REDZONE, 0x00);
    CHECK(kmem_cache_of(p) == cache);
    CHECK_EQ(stats_of(cache).active_objects, 1);
    CHECK_EQ(stats_of(cache).frees, 1);
    CHECK(bytes_are(p + 24, cache->stride - 24, HEAP_POISON_REDZONE));
    kmem_cache_free(cache, q);
    CHECK_EQ(debug_log.calls, 1);
}

/* Each flag reports what it watches and nothing else; the bytes read what the flag writes. */
static void each_flag_reports_exactly_the_damage_it_watches(void)
{
    static const unsigned flags[] = {HEAP_DEBUG_POISON, HEAP_DEBUG_REDZONE, HEAP_DEBUG_ALL};

    for (size_t f = 0; f < COUNT(flags); f++) {
        bool poison = flags[f] & HEAP_DEBUG_POISON, redzone = flags[f] & HEAP_DEBUG_REDZONE;
        debug_heap(flags[f]);
        debug_log.calls = 0;
        struct kmem_cache *cache = kmem_cache_create("watched", 40, 0, NULL);
        unsigned char *p = kmem_cache_alloc(cache);
        CHECK_EQ(cache->stride, redzone ? 48 : 40);
        p[40] = 0x11;                           /* one byte past the end: the red zone */
        kmem_cache_free(cache, p);
        CHECK_EQ(debug_log.calls, redzone ? 1 : 0);
        if (redzone)
            CHECK_REPORT(HEAP_OUT_OF_BOUNDS, p, 40, 40, HEAP_POISON_REDZONE, 0x11);
        p[0] = 0x22;                            /* after the free: the poison */
        CHECK(kmem_cache_alloc(cache) == p);
        CHECK_EQ(debug_log.calls, (redzone ? 1 : 0) + (poison ? 1 : 0));
        if (poison)
            CHECK_REPORT(HEAP_USE_AFTER_FREE, p, 0, 0, HEAP_POISON_FREE, 0x22);
        kmem_cache_free(cache, p);
    }
}

static void poison_reads_0x6b_in_a_freed_object_and_0xa5_in_its_last_byte(void)
{
    debug_heap(HEAP_DEBUG_ALL);
    struct kmem_cache *cache = kmem_cache_create("poisoned", 24, 0, NULL);
    unsigned char *p = kmem_cache_alloc(cache);

    CHECK(bytes_are(p, 23, HEAP_POISON_FREE) && p[23] == HEAP_POISON_END);  /* never used */
    memset(p, 0x5a, 24);
    kmem_cache_free(cache, p);
    CHECK(bytes_are(p, 23, HEAP_POISON_FREE) && p[23] == HEAP_POISON_END);
    CHECK(bytes_are(p + 24, cache->stride - 24, HEAP_POISON_REDZONE));
    CHECK_EQ(debug_log.calls, 0);
}

static void the_red_zone_grows_the_stride_and_follows_every_object_of_a_slab(void)
{
    debug_heap(HEAP_DEBUG_REDZONE);
    struct kmem_cache *cache = kmem_cache_create("red-zoned", 24, 0, NULL);
    unsigned char *p = kmem_cache_alloc(cache);
    uintptr_t slab = slab_start(p);

    CHECK_EQ(cache->stride, 32);
    CHECK_EQ(cache->objects_per_slab, (HEAP_PAGE_BYTES - cache->first_offset) / 32);
    for (size_t i = 0; i < cache->objects_per_slab; i++)
        CHECK(bytes_are((unsigned char *)object_in(cache, slab, i) + 24, 8, HEAP_POISON_REDZONE));
    kmem_cache_free(cache, p);
}

static void a_cache_with_a_constructor_is_untouched_by_debugging(void)
{
    struct kmem_cache plain;
    struct kmem_cache *cache;
    unsigned char *p;

    heap_of(ARENA_BYTES);
    plain = *kmem_cache_create("plain", 24, 0, construct);
    debug_heap(HEAP_DEBUG_ALL);
    cache = kmem_cache_create("constructed", 24, 0, construct);
    CHECK_EQ(cache->debug, 0);
    CHECK(cache->stride == plain.stride && cache->objects_per_slab == plain.objects_per_slab &&
          cache->first_offset == plain.first_offset);
    CHECK_EQ(cache->stride, 24);        /* no red zone between one object and the next */
    p = kmem_cache_alloc(cache);
    CHECK_EQ(p[0], CONSTRUCTED);
    kmem_cache_free(cache, p);
    CHECK_EQ(p[0], CONSTRUCTED);
    CHECK(kmem_cache_alloc(cache) == p && p[0] == CONSTRUCTED);
    CHECK_EQ(debug_log.calls, 0);
    kmem_cache_free(cache, p);
}

/* Off, or with only the quarantine (which slabs do not use): today's strides and slabs. */
static void without_poison_or_red_zones_the_geometry_is_unchanged(void)
{
    static const unsigned flags[] = {0, HEAP_DEBUG_QUARANTINE};

    for (size_t f = 0; f < COUNT(flags); f++) {
        debug_heap(flags[f]);
        for (size_t size = 1; size <= KMEM_CACHE_MAX_SIZE; size += size < 64 ? 1 : 61) {
            struct kmem_cache *cache = kmem_cache_create("plain", size, 0, NULL);
            size_t align = cache->align;
            CHECK_EQ(cache->debug, 0);
            CHECK_EQ(cache->stride, (size + align - 1) / align * align);
            CHECK_EQ(kmem_cache_destroy(cache), 0);
        }
        struct kmem_cache *cache = kmem_cache_create("plain-24", 24, 0, NULL);
        unsigned char *p = kmem_cache_alloc(cache);
        CHECK(p == object_in(cache, slab_start(p), 0));
        CHECK_EQ(cache->objects_per_slab, (HEAP_PAGE_BYTES - cache->first_offset) / 24);
        memset(p, 0x5a, 24);
        kmem_cache_free(cache, p);
        CHECK(bytes_are(p, 24, 0x5a));  /* nothing written into a freed object */
        CHECK(kmem_cache_alloc(cache) == p);
        kmem_cache_free(cache, p);
    }
}

static void kmem_cache_check_names_damaged_poison_as_use_after_free(void)
{
    debug_heap(HEAP_DEBUG_ALL);
    struct kmem_cache *cache = kmem_cache_create("checked", 24, 0, NULL);
    unsigned char *p = kmem_cache_alloc(cache), *q = kmem_cache_alloc(cache);
    struct kmem_cache_violation found = {0};

    kmem_cache_free(cache, q);
    q[7] = 0x00;
    CHECK(kmem_cache_check(&found) != 0);
    CHECK(found.what != NULL && strstr(found.what, "use-after-free") != NULL);
    CHECK(found.cache == cache && found.slab == slab_start(q) && found.object == (uintptr_t)q);
    q[7] = HEAP_POISON_FREE;
    p[3] = 0x00;                        /* a live object's bytes are its own */
    CHECK_EQ(kmem_cache_check(NULL), 0);
    CHECK_EQ(debug_log.calls, 0);       /* the check only looks */
    kmem_cache_free(cache, p);
}

static void kmem_cache_check_names_a_damaged_red_zone_as_out_of_bounds(void)
{
    debug_heap(HEAP_DEBUG_REDZONE);
    struct kmem_cache *cache = kmem_cache_create("checked", 24, 0, NULL);
    unsigned char *p = kmem_cache_alloc(cache), *q = kmem_cache_alloc(cache);
    struct kmem_cache_violation found = {0};

    q[31] = 0x00;
    CHECK(kmem_cache_check(&found) != 0);
    CHECK(found.what != NULL && strstr(found.what, "out-of-bounds") != NULL);
    CHECK(found.cache == cache && found.slab == slab_start(q) && found.object == (uintptr_t)q);
    q[31] = HEAP_POISON_REDZONE;
    CHECK_EQ(kmem_cache_check(NULL), 0);
    kmem_cache_free(cache, p);
    kmem_cache_free(cache, q);
}

static void a_debugging_cache_runs_out_of_memory_cleanly(void)
{
    enum { MAX = 4096 };
    static void *objects[MAX];

    heap_init();
    kmem_cache_init();
    heap_set_debug(HEAP_DEBUG_ALL);
    heap_add_region(arena, SMALL_HEAP_BYTES);
    struct kmem_cache *cache = kmem_cache_create("small", 64, 0, NULL);
    size_t n = allocate(cache, objects, MAX);
    CHECK(n > 0 && n < MAX);
    CHECK_EQ(stats_of(cache).failed_allocations, 1);
    free_all(cache, objects, n);
    CHECK_EQ(debug_log.calls, 0);
    CHECK_EQ(kmem_cache_destroy(cache), 0);
}

/* ---- slabs come from the heap itself, never from a sampler ---------------------------- */

static size_t sampler_offers;

static void *offered(size_t size, const void *caller)
{
    (void)size;
    (void)caller;
    sampler_offers++;
    return NULL;
}

static int owns_nothing(const void *p) { (void)p; return 0; }
static enum heap_status free_nothing(void *p, const void *caller)
{
    (void)p, (void)caller;
    return HEAP_OK;
}
static size_t size_of_nothing(const void *p) { (void)p; return 0; }

static void slabs_are_never_offered_to_the_sampler(void)
{
    static const struct heap_sampler every_call = {offered, owns_nothing, free_nothing,
                                                    size_of_nothing, 1};
    struct kmem_cache *cache = kmem_cache_create("unsampled", 24, 0, NULL);
    void *objects[400];

    sampler_offers = 0;
    heap_set_sampler(&every_call);
    CHECK_EQ(allocate(cache, objects, COUNT(objects)), COUNT(objects));
    CHECK(stats_of(cache).slabs >= 2);
    CHECK_EQ(sampler_offers, 0);
    void *block = kmalloc(24);          /* while kmalloc itself is offered every time */
    CHECK_EQ(sampler_offers, 1);
    kfree(block);
    heap_set_sampler(NULL);
    free_all(cache, objects, COUNT(objects));
}

static void kmem_cache_of_names_the_cache_of_every_byte_of_its_slabs_and_nothing_else(void)
{
    struct kmem_cache *cache = kmem_cache_create("named", 100, 0, NULL);
    void *p = kmem_cache_alloc(cache), *block = kmalloc(HEAP_PAGE_BYTES);
    uintptr_t slab = slab_start(p);

    for (uintptr_t a = slab; a < slab + cache->slab_bytes; a += 61)
        CHECK(kmem_cache_of((void *)a) == cache);
    CHECK(kmem_cache_of(block) == NULL && kmem_cache_of(&slab) == NULL);
    kfree(block);
    kmem_cache_free(cache, p);
}

/* ---- the fast free: the cache's window on the frame table ------------------------------- */

static void the_frame_window_covers_exactly_the_region_that_holds_an_address(void)
{
    struct heap_frame_window w;
    uintptr_t start, end;
    void *page = kmalloc(HEAP_PAGE_BYTES);

    CHECK(heap_region(0, &start, &end) == 1);
    CHECK_EQ(heap_frame_window_of(page, &w), 1);
    CHECK(w.start == start && w.start + w.span <= end && w.span > 0);
    CHECK_EQ(heap_window_slab_at(&w, (uintptr_t)page), 0);
    CHECK(heap_mark_slab(page, 1) == HEAP_OK);
    CHECK_EQ(heap_window_slab_at(&w, (uintptr_t)page), 1);
    CHECK_EQ(heap_window_slab_at(&w, (uintptr_t)page + HEAP_PAGE_BYTES), 0);
    CHECK(heap_mark_slab(page, 0) == HEAP_OK);
    CHECK_EQ(heap_window_slab_at(&w, (uintptr_t)page), 0);
    kfree(page);
}

static void the_frame_window_of_an_address_outside_the_heap_holds_nothing(void)
{
    struct heap_frame_window w = {1, 2, 3};
    int outside = 0;

    CHECK_EQ(heap_frame_window_of(&outside, &w), 0);
    CHECK(w.start == 0 && w.span == 0 && w.frame_base == 0);
    CHECK_EQ(heap_window_slab_at(&w, 0), 0);
}

/*
 * Slabs in two regions: the cache's window is the newest slab's region, so
 * objects of the other take kmem_cache_free's careful way, and are freed.
 */
static void objects_of_a_slab_outside_the_window_are_freed_the_careful_way(void)
{
    enum { MAX = 4096 };
    static void *objects[MAX];
    struct kmem_cache *cache;
    struct heap_frame_window first;
    size_t n, frees;

    heap_of(SMALL_HEAP_BYTES);
    cache = kmem_cache_create("two-regions", 64, 0, NULL);
    n = allocate(cache, objects, MAX);
    CHECK(n > 0 && n < MAX);
    first = cache->window;
    CHECK(heap_add_region(arena + ARENA_BYTES / 2, SMALL_HEAP_BYTES) > 0);
    objects[n] = kmem_cache_alloc(cache);
    CHECK(objects[n] != NULL && cache->window.start != first.start);
    frees = stats_of(cache).frees;
    free_all(cache, objects, n + 1);
    CHECK_EQ(stats_of(cache).frees, frees + n + 1);
    CHECK_EQ(stats_of(cache).active_objects, 0);
    CHECK_EQ(stats_of(cache).refused_frees, 0);
    CHECK_EQ(kmem_cache_destroy(cache), 0);
}

static void kmem_cache_shrink_gives_every_empty_slab_back(void)
{
    struct kmem_cache *cache = kmem_cache_create("shrink", 200, 0, NULL);
    size_t n = cache->objects_per_slab;
    void **objects = malloc(3 * n * sizeof(void *));

    CHECK_EQ(allocate(cache, objects, 3 * n), 3 * n);
    free_all(cache, objects, 2 * n);
    kmem_cache_free(cache, objects[2 * n]);
    CHECK_LISTS(cache, 0, 1, 2);
    size_t free_before = heap_now().free_bytes;
    CHECK_EQ(kmem_cache_shrink(cache), 2 * cache->slab_bytes);
    CHECK_EQ(heap_now().free_bytes, free_before + 2 * cache->slab_bytes);
    CHECK_LISTS(cache, 0, 1, 0);
    CHECK_EQ(kmem_cache_shrink(cache), 0);
    CHECK(kmem_cache_alloc(cache) == objects[2 * n]);
    free(objects);
}

static void shrinking_an_emptied_cache_gives_the_heap_back_every_slab_byte(void)
{
    struct kmem_cache *cache = kmem_cache_create("emptied", 24, 0, construct);
    struct heap_stats before = heap_now();
    void **objects = malloc(2000 * sizeof(void *));

    CHECK_EQ(allocate(cache, objects, 2000), 2000);
    free_all(cache, objects, 2000);
    size_t held = before.free_bytes - heap_now().free_bytes;
    CHECK_EQ(held, stats_of(cache).slabs * HEAP_PAGE_BYTES);
    CHECK_EQ(kmem_cache_shrink(cache), held);
    CHECK_EQ(heap_now().free_bytes, before.free_bytes);
    CHECK_EQ(heap_now().largest_free_block, before.largest_free_block);
    CHECK_EQ(stats_of(cache).slabs, 0);
    free(objects);
}

static void kmem_cache_shrink_keeps_full_and_partial_slabs(void)
{
    struct kmem_cache *cache = kmem_cache_create("keep", 200, 0, NULL);
    size_t n = cache->objects_per_slab;
    void **objects = malloc((n + 1) * sizeof(void *));

    CHECK_EQ(allocate(cache, objects, n + 1), n + 1);
    memset(objects[n], 0x42, 200);
    CHECK_EQ(kmem_cache_shrink(cache), 0);
    CHECK_LISTS(cache, 1, 1, 0);
    CHECK_EQ(((unsigned char *)objects[n])[199], 0x42);
    CHECK_EQ(kmem_cache_shrink(NULL), 0);
    free(objects);
}

static void kmem_cache_destroy_gives_back_every_byte(void)
{
    struct heap_stats before = heap_now();
    struct kmem_cache *cache = kmem_cache_create("destroy", 24, 0, construct);
    void **objects = malloc(1000 * sizeof(void *));

    CHECK_EQ(allocate(cache, objects, 1000), 1000);
    CHECK(stats_of(cache).slabs >= 5);
    free_all(cache, objects, 1000);
    CHECK_EQ(kmem_cache_destroy(cache), 0);
    CHECK(kmem_caches == NULL);
    CHECK_EQ(heap_now().free_bytes, before.free_bytes);
    CHECK_EQ(heap_now().allocated_bytes, before.allocated_bytes);
    CHECK_EQ(heap_now().largest_free_block, before.largest_free_block);
    free(objects);
}

static void kmem_cache_destroy_refuses_while_objects_live(void)
{
    struct kmem_cache *cache = kmem_cache_create("busy", 24, 0, NULL);
    void *p = kmem_cache_alloc(cache);
    struct snapshot before;

    snapshot_take(&before);
    CHECK(kmem_cache_destroy(cache) != 0);
    CHECK(snapshot_unchanged(&before, cache, 0));
    CHECK_EQ(report.calls, 1);
    CHECK(report.cache == cache && report.caller != NULL);
    CHECK(strcmp(report.what, "objects still allocated") == 0);
    CHECK(kmem_caches == cache);
    kmem_cache_free(cache, p);
    CHECK_EQ(kmem_cache_destroy(cache), 0);
}

static void kmem_cache_destroy_refuses_a_pointer_that_is_no_cache(void)
{
    struct kmem_cache *cache = kmem_cache_create("real", 24, 0, NULL);
    struct kmem_cache fake;

    memset(&fake, 0, sizeof(fake));
    CHECK(kmem_cache_destroy(&fake) != 0);
    CHECK(report.cache == &fake && strcmp(report.what, "not a cache") == 0);
    CHECK_EQ(kmem_cache_destroy(cache), 0);
    CHECK(kmem_cache_destroy(cache) != 0);
    CHECK_EQ(report.calls, 2);
    kmem_cache_on_report(NULL);
    CHECK(kmem_cache_destroy(&fake) != 0);
    CHECK_EQ(report.calls, 2);
    CHECK_EQ(kmem_cache_destroy(NULL), 0);
}

static void many_caches_created_used_and_destroyed_leave_the_heap_as_it_was(void)
{
    struct heap_stats before = heap_now();
    struct kmem_cache *caches[40];
    void *objects[40][20];

    for (size_t i = 0; i < 40; i++) {
        caches[i] = kmem_cache_create("many", 8 + i * 97, 0, i % 2 ? construct : NULL);
        CHECK_EQ(allocate(caches[i], objects[i], 20), 20);
    }
    for (size_t i = 0; i < 40; i++) {
        free_all(caches[39 - i], objects[39 - i], 20);
        CHECK_EQ(kmem_cache_destroy(caches[39 - i]), 0);
    }
    CHECK(kmem_caches == NULL);
    CHECK_EQ(heap_now().free_bytes, before.free_bytes);
    CHECK_EQ(heap_now().largest_free_block, before.largest_free_block);
}

/* ---- running out of memory --------------------------------------------------------------------- */

static void allocation_fails_cleanly_when_the_heap_runs_out(void)
{
    heap_of(SMALL_HEAP_BYTES);
    struct kmem_cache *cache = kmem_cache_create("oom", 24, 0, construct);
    void **objects = malloc(SMALL_HEAP_BYTES / 24 * sizeof(void *));
    size_t got = allocate(cache, objects, SMALL_HEAP_BYTES / 24);
    struct kmem_cache_stats s = stats_of(cache);

    CHECK(got > 0 && got < SMALL_HEAP_BYTES / 24);
    CHECK_EQ(got, s.total_objects);
    CHECK_EQ(s.failed_allocations, 1);
    CHECK_EQ(ctor_log.calls, got);
    CHECK(kmem_cache_alloc(cache) == NULL);
    CHECK_EQ(stats_of(cache).failed_allocations, 2);
    CHECK(kmalloc(HEAP_PAGE_BYTES) == NULL);
    printf("    a %zu KiB heap holds %zu objects of 24 bytes (%.1f%%)\n", SMALL_HEAP_BYTES >> 10,
           got, 100.0 * (double)(got * 24) / (double)SMALL_HEAP_BYTES);
    free(objects);
}

static void allocation_succeeds_again_once_memory_is_freed(void)
{
    heap_of(SMALL_HEAP_BYTES);
    struct kmem_cache *cache = kmem_cache_create("recover", 24, 0, NULL);
    void *pages[16], *p;
    size_t n = 0;

    while (n < COUNT(pages) && (pages[n] = kmalloc(HEAP_PAGE_BYTES)) != NULL)
        n++;
    while (kmalloc(16) != NULL)
        continue;
    CHECK(n >= 2);
    CHECK(kmem_cache_alloc(cache) == NULL);
    CHECK_EQ(stats_of(cache).slabs, 0);
    kfree(pages[n - 1]);
    p = kmem_cache_alloc(cache);
    CHECK(p != NULL && slab_start(p) == (uintptr_t)pages[n - 1]);
    CHECK_EQ(stats_of(cache).failed_allocations, 1);
    kmem_cache_free(cache, p);
    CHECK_EQ(kmem_cache_shrink(cache), HEAP_PAGE_BYTES);
    CHECK(kmalloc(HEAP_PAGE_BYTES) == pages[n - 1]);
}

static void kmem_cache_create_fails_cleanly_when_the_heap_is_full(void)
{
    heap_of(SMALL_HEAP_BYTES);
    struct kmem_cache *first = kmem_cache_create("first", 24, 0, NULL);
    size_t free_before;

    while (kmalloc(8) != NULL)
        continue;
    free_before = heap_now().free_bytes;
    CHECK(kmem_cache_create("second", 24, 0, NULL) == NULL);
    CHECK(kmem_caches == first && first->next == NULL);
    CHECK_EQ(heap_now().free_bytes, free_before);
}

static void a_null_cache_gives_no_objects(void)
{
    CHECK(kmem_cache_alloc(NULL) == NULL);
}

/* ---- statistics and the cache list ---------------------------------------------------------- */

static void stats_count_allocations_frees_and_refusals(void)
{
    struct kmem_cache *cache = kmem_cache_create("stats", 48, 16, NULL);
    void *objects[10];

    CHECK_EQ(allocate(cache, objects, 10), 10);
    free_all(cache, objects, 4);
    kmem_cache_free(cache, objects[0]);
    kmem_cache_free(cache, (unsigned char *)objects[5] + 16);
    struct kmem_cache_stats s = stats_of(cache);
    CHECK(strcmp(s.name, "stats") == 0);
    CHECK_EQ(s.object_size, 48);
    CHECK_EQ(s.align, 16);
    CHECK_EQ(s.stride, 48);
    CHECK_EQ(s.allocations, 10);
    CHECK_EQ(s.frees, 4);
    CHECK_EQ(s.refused_frees, 2);
    CHECK_EQ(s.active_objects, 6);
    CHECK_EQ(s.total_objects, s.objects_per_slab);
    CHECK_EQ(s.failed_allocations, 0);
    CHECK_EQ(s.slab_bytes, HEAP_PAGE_BYTES);
}

static void slabinfo_gives_the_numbers_of_a_linux_slabinfo_row(void)
{
    struct kmem_cache *cache = kmem_cache_create("info", 3000, 0, NULL);
    size_t n = cache->objects_per_slab;
    void **objects = malloc(3 * n * sizeof(void *));
    struct kmem_slabinfo row;

    CHECK_EQ(allocate(cache, objects, 3 * n), 3 * n);
    free_all(cache, objects, n);
    kmem_cache_free(cache, objects[n + 1]);
    kmem_cache_slabinfo(cache, &row);
    CHECK(strcmp(row.name, "info") == 0);
    CHECK_EQ(row.active_objs, 2 * n - 1);
    CHECK_EQ(row.num_objs, 3 * n);
    CHECK_EQ(row.objsize, 3000);
    CHECK_EQ(row.objperslab, n);
    CHECK_EQ(row.pagesperslab, cache->slab_bytes / HEAP_PAGE_BYTES);
    CHECK(row.pagesperslab > 1);
    CHECK_EQ(row.active_slabs, 2);
    CHECK_EQ(row.num_slabs, 3);
    free(objects);
}

static void kmem_cache_next_visits_every_cache_in_creation_order(void)
{
    struct kmem_cache *a = kmem_cache_create("a", 8, 0, NULL);
    struct kmem_cache *b = kmem_cache_create("b", 16, 0, NULL);
    struct kmem_cache *c = kmem_cache_create("c", 24, 0, NULL);
    struct kmem_cache *d = kmem_cache_create("d", 32, 0, NULL);

    CHECK(kmem_cache_next(NULL) == a && kmem_caches == a);
    CHECK(kmem_cache_next(a) == b && kmem_cache_next(b) == c);
    CHECK(kmem_cache_next(c) == d && kmem_cache_next(d) == NULL);
    CHECK_EQ(kmem_cache_destroy(b), 0);
    CHECK(kmem_cache_next(a) == c);
    CHECK_EQ(kmem_cache_destroy(a), 0);
    CHECK(kmem_cache_next(NULL) == c);
    CHECK_EQ(kmem_cache_destroy(d), 0);
    CHECK(kmem_cache_next(c) == NULL);
    CHECK_EQ(kmem_cache_destroy(c), 0);
    CHECK(kmem_cache_next(NULL) == NULL);
}

static void kmem_cache_listed_says_which_caches_exist(void)
{
    static struct kmem_cache stranger;
    struct kmem_cache *a = kmem_cache_create("a", 8, 0, NULL);
    struct kmem_cache *b = kmem_cache_create("b", 16, 0, NULL);

    CHECK(kmem_cache_listed(a) && kmem_cache_listed(b));
    CHECK(!kmem_cache_listed(NULL) && !kmem_cache_listed(&stranger));
    CHECK_EQ(kmem_cache_destroy(a), 0);
    CHECK(!kmem_cache_listed(a) && kmem_cache_listed(b));
    CHECK_EQ(kmem_cache_destroy(b), 0);
    CHECK(!kmem_cache_listed(b));
}

static void the_slab_cells_show_each_object_of_the_current_slab(void)
{
    struct kmem_cache *cache = kmem_cache_create("cells", 512, 0, NULL);
    size_t n = cache->objects_per_slab;
    unsigned char cells[64];
    uintptr_t slab = 1;
    void **objects = malloc(2 * n * sizeof(void *));

    CHECK(n > 3 && n < 64);
    CHECK_EQ(kmem_cache_slab_cells(cache, &slab, cells, 64), 0);
    CHECK_EQ(slab, 0);
    CHECK_EQ(allocate(cache, objects, 3), 3);
    kmem_cache_free(cache, objects[1]);
    memset(cells, 9, sizeof(cells));
    CHECK_EQ(kmem_cache_slab_cells(cache, &slab, cells, 2), n);
    CHECK(slab == slab_start(objects[0]));
    CHECK(cells[0] == 1 && cells[1] == 0 && cells[2] == 9);
    CHECK_EQ(kmem_cache_slab_cells(cache, &slab, cells, 64), n);
    CHECK(cells[2] == 1 && cells[3] == 0 && cells[n - 1] == 0 && cells[n] == 9);
    objects[1] = kmem_cache_alloc(cache);
    CHECK_EQ(allocate(cache, objects + 3, 2 * n - 3), 2 * n - 3);
    CHECK_EQ(kmem_cache_slab_cells(cache, &slab, cells, 64), n);
    CHECK(slab == slab_start(objects[2 * n - 1]) && cells[0] == 1 && cells[n - 1] == 1);
    free_all(cache, objects + n, n);
    kmem_cache_slab_cells(cache, &slab, cells, 64);
    CHECK(slab == slab_start(objects[n]) && cells[0] == 0 && cells[n - 1] == 0);
    free(objects);
}

/* ---- kmem_cache_check ---------------------------------------------------------------------------- */

/* Two caches with slabs on every list. */
static struct kmem_cache *busy_cache(void **objects)
{
    struct kmem_cache *other = kmem_cache_create("other", 100, 0, NULL);
    struct kmem_cache *cache = kmem_cache_create("checked", 100, 0, NULL);
    size_t n = cache->objects_per_slab;

    kmem_cache_alloc(other);
    allocate(cache, objects, 3 * n);
    free_all(cache, objects + 2 * n, n);
    kmem_cache_free(cache, objects[n]);
    return cache;
}

static uintptr_t first_slab(struct slab_list *head) { return (uintptr_t)head->next; }

static void kmem_cache_check_passes_on_caches_in_every_state(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);

    CHECK_LISTS(cache, 1, 1, 1);
    CHECK(kmem_cache_check(NULL) == 0);
    kmem_cache_shrink(cache);
    CHECK(kmem_cache_check(NULL) == 0);
}

static void kmem_cache_check_finds_a_free_count_that_disagrees_with_the_bitmap(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);
    struct slab *slab = (struct slab *)first_slab(&cache->partial);

    slab->free_count++;
    CHECK_FINDS("free count disagrees with the bitmap", cache, (uintptr_t)slab);
    slab->free_count--;
}

static void kmem_cache_check_finds_a_bit_set_past_the_last_object(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);
    struct slab *slab = (struct slab *)first_slab(&cache->full);
    unsigned n = cache->objects_per_slab;

    CHECK(n % 32 != 0);
    slab->free_map[n / 32] |= 1u << (n % 32);
    CHECK_FINDS("bitmap marks a slot past the last object", cache, (uintptr_t)slab);
    slab->free_map[n / 32] &= ~(1u << (n % 32));
}

static void kmem_cache_check_finds_a_word_summary_that_disagrees_with_the_bitmap(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);
    struct slab *full = (struct slab *)first_slab(&cache->full);
    struct slab *empty = (struct slab *)first_slab(&cache->empty);
    unsigned words = (cache->objects_per_slab + 31) / 32;

    full->free_words = 1;                   /* a word with no free object marked as having one */
    CHECK_FINDS("free_words disagrees with the bitmap", cache, (uintptr_t)full);
    full->free_words = 0;
    empty->free_words &= (uint16_t)~1u;     /* a word with free objects marked as having none */
    CHECK_FINDS("free_words disagrees with the bitmap", cache, (uintptr_t)empty);
    empty->free_words |= 1;
    empty->free_words |= (uint16_t)(1u << words);
    CHECK_FINDS("free_words marks a word past the bitmap", cache, (uintptr_t)empty);
    empty->free_words &= (uint16_t)~(1u << words);
    CHECK(kmem_cache_check(NULL) == 0);
}

static void kmem_cache_check_finds_a_slab_on_the_wrong_list(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);
    struct slab *slab = (struct slab *)first_slab(&cache->full);

    slab->free_map[0] |= 1;
    slab->free_words |= 1;
    slab->free_count++;
    CHECK_FINDS("slab on the wrong list for its free count", cache, (uintptr_t)slab);
    slab->free_map[0] &= ~1u;
    slab->free_words &= (uint16_t)~1u;
    slab->free_count--;
}

static void kmem_cache_check_finds_a_slab_naming_another_cache(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);
    struct slab *slab = (struct slab *)first_slab(&cache->partial);

    slab->cache = kmem_caches;
    CHECK_FINDS("slab names another cache", cache, (uintptr_t)slab);
    slab->cache = cache;
}

static void kmem_cache_check_finds_list_links_that_disagree(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);
    struct slab_list *node = cache->partial.next, *saved = node->prev;

    node->prev = node;
    CHECK_FINDS("slab list links disagree", cache, (uintptr_t)node);
    node->prev = saved;
    cache->empty.prev = &cache->full;
    CHECK_FINDS("slab list links disagree", cache, (uintptr_t)cache->empty.next);
    cache->empty.prev = cache->empty.next;
}

static void kmem_cache_check_reads_nothing_a_list_points_at_outside_the_slabs(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);
    struct slab_list *saved = cache->full.next;
    unsigned char *outside = aligned_alloc(HEAP_PAGE_BYTES, HEAP_PAGE_BYTES);
    void *block = kmalloc(HEAP_PAGE_BYTES);

    ASAN_POISON_MEMORY_REGION(outside, HEAP_PAGE_BYTES);
    cache->full.next = (struct slab_list *)outside;
    CHECK_FINDS("slab list holds no slab of this cache's size", cache, (uintptr_t)outside);
    cache->full.next = block;
    CHECK_FINDS("slab list holds no slab of this cache's size", cache, (uintptr_t)block);
    cache->full.next = saved;
    ASAN_UNPOISON_MEMORY_REGION(outside, HEAP_PAGE_BYTES);
    free(outside);
    kfree(block);
}

static void kmem_cache_check_finds_a_slab_the_frame_table_does_not_mark(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);
    uintptr_t slab = first_slab(&cache->partial);

    CHECK(heap_mark_slab((void *)slab, 0) == HEAP_OK);
    CHECK_FINDS("slab list holds no slab of this cache's size", cache, slab);
    CHECK(heap_mark_slab((void *)slab, 1) == HEAP_OK);
}

static void kmem_cache_check_finds_a_marked_page_block_on_no_list(void)
{
    void *objects[200];
    busy_cache(objects);
    void *page = kmalloc(HEAP_PAGE_BYTES);

    CHECK(heap_mark_slab(page, 1) == HEAP_OK);
    CHECK_FINDS("page block marked as a slab is on no cache's list", NULL, (uintptr_t)page);
    CHECK(heap_mark_slab(page, 0) == HEAP_OK);
    kfree(page);
}

static void kmem_cache_check_finds_counts_that_disagree_with_the_slabs(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);

    cache->slabs++;
    CHECK_FINDS("slab count disagrees with the lists", cache, 0);
    cache->slabs--;
    cache->active_objects--;
    CHECK_FINDS("active objects disagree with the bitmaps", cache, 0);
    cache->active_objects++;
}

static void kmem_cache_check_finds_a_geometry_that_disagrees_with_the_object_size(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);
    struct kmem_cache saved = *cache;

    cache->object_size = 0;
    CHECK_FINDS("cache geometry disagrees with its object size", cache, 0);
    *cache = saved;
    cache->stride += 8;
    CHECK_FINDS("cache geometry disagrees with its object size", cache, 0);
    *cache = saved;
    cache->objects_per_slab--;
    CHECK_FINDS("cache geometry disagrees with its object size", cache, 0);
    *cache = saved;
    cache->align = 4;
    CHECK_FINDS("cache geometry disagrees with its object size", cache, 0);
    *cache = saved;
    memset(cache->name, 'z', sizeof(cache->name));
    CHECK_FINDS("cache geometry disagrees with its object size", cache, 0);
    *cache = saved;
}

static void kmem_cache_check_finds_a_cache_that_is_no_heap_block(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);
    struct kmem_cache fake = *cache;

    fake.next = NULL;
    cache->next = &fake;
    CHECK_FINDS("cache is no live heap block", &fake, 0);
    cache->next = NULL;
}

static void kmem_cache_check_finds_a_cache_list_that_does_not_end(void)
{
    void *objects[200];
    struct kmem_cache *cache = busy_cache(objects);

    cache->next = kmem_caches;
    CHECK_FINDS("cache list does not end", NULL, 0);
    cache->next = NULL;
}

static void shrink_and_destroy_keep_a_slab_the_heap_does_not_know_as_one(void)
{
    struct kmem_cache *cache = kmem_cache_create("unmarked", 64, 0, NULL);
    void *p = kmem_cache_alloc(cache);
    uintptr_t slab = slab_start(p);

    kmem_cache_free(cache, p);
    CHECK(heap_mark_slab((void *)slab, 0) == HEAP_OK);
    CHECK_EQ(kmem_cache_shrink(cache), 0);
    CHECK(kmem_cache_destroy(cache) != 0);
    CHECK(strcmp(report.what, "a slab the heap does not know as one") == 0);
    CHECK(kmem_caches == cache && stats_of(cache).slabs == 1);
    CHECK(heap_mark_slab((void *)slab, 1) == HEAP_OK);
    CHECK_EQ(kmem_cache_destroy(cache), 0);
}

static const struct test tests[] = {
    TEST_ENTRY(kmem_cache_create_refuses_impossible_sizes_and_alignments),
    TEST_ENTRY(kmem_cache_create_accepts_sizes_from_one_byte_to_the_maximum),
    TEST_ENTRY(a_new_cache_takes_no_slab_until_its_first_allocation),
    TEST_ENTRY(the_default_alignment_is_eight_or_the_natural_alignment_up_to_64),
    TEST_ENTRY(an_alignment_below_eight_is_raised_to_eight),
    TEST_ENTRY(every_object_is_aligned_and_in_its_own_slot_for_every_size_and_alignment),
    TEST_ENTRY(a_slab_loses_at_most_an_eighth_to_its_header_and_rounding),
    TEST_ENTRY(small_objects_take_one_page_slabs),
    TEST_ENTRY(twenty_four_byte_objects_fill_at_least_97_percent_of_their_slab),
    TEST_ENTRY(a_long_name_is_cut_and_copied),
    TEST_ENTRY(the_constructor_runs_once_per_slot_when_a_slab_is_made),
    TEST_ENTRY(allocation_and_free_never_run_the_constructor_again),
    TEST_ENTRY(a_freed_object_comes_back_exactly_as_it_was_freed),
    TEST_ENTRY(slabs_move_between_the_empty_partial_and_full_lists),
    TEST_ENTRY(a_full_cache_makes_a_new_slab),
    TEST_ENTRY(allocation_takes_a_partial_slab_before_an_empty_one),
    TEST_ENTRY(allocation_takes_the_lowest_free_object_of_its_slab),
    TEST_ENTRY(kmem_cache_free_of_null_does_nothing),
    TEST_ENTRY(kmem_cache_free_refuses_a_double_free),
    TEST_ENTRY(kmem_cache_free_refuses_the_middle_of_an_object),
    TEST_ENTRY(kmem_cache_free_takes_exactly_the_object_starts_among_every_byte_of_a_slab),
    TEST_ENTRY(kmem_cache_free_refuses_the_slab_header_and_the_tail_after_the_last_object),
    TEST_ENTRY(kmem_cache_free_refuses_an_object_of_another_cache),
    TEST_ENTRY(kmem_cache_free_refuses_kmalloc_blocks),
    TEST_ENTRY(kmem_cache_free_refuses_pointers_outside_the_heap),
    TEST_ENTRY(kmem_cache_free_with_no_cache_is_refused_and_counted_by_the_heap),
    TEST_ENTRY(refusals_reach_the_heaps_handler_with_the_callers_address),
    TEST_ENTRY(kfree_refuses_every_object_even_at_the_very_start_of_a_slab_page),
    TEST_ENTRY(kfree_refuses_the_start_of_a_one_page_slab),
    TEST_ENTRY(heap_slab_of_finds_a_slab_from_every_byte_of_its_pages),
    TEST_ENTRY(heap_slab_of_refuses_a_one_page_slab_whose_entry_is_damaged_or_moved),
    TEST_ENTRY(heap_slab_of_refuses_a_slab_entry_for_a_frame_partly_outside_the_blocks),
    TEST_ENTRY(with_poison_a_write_after_free_is_reported_when_the_object_is_handed_out_again),
    TEST_ENTRY(with_poison_a_changed_last_byte_is_reported_as_not_0xa5),
    TEST_ENTRY(with_the_red_zone_a_write_past_the_end_is_reported_when_the_object_is_freed),
    TEST_ENTRY(each_flag_reports_exactly_the_damage_it_watches),
    TEST_ENTRY(poison_reads_0x6b_in_a_freed_object_and_0xa5_in_its_last_byte),
    TEST_ENTRY(the_red_zone_grows_the_stride_and_follows_every_object_of_a_slab),
    TEST_ENTRY(a_cache_with_a_constructor_is_untouched_by_debugging),
    TEST_ENTRY(without_poison_or_red_zones_the_geometry_is_unchanged),
    TEST_ENTRY(kmem_cache_check_names_damaged_poison_as_use_after_free),
    TEST_ENTRY(kmem_cache_check_names_a_damaged_red_zone_as_out_of_bounds),
    TEST_ENTRY(a_debugging_cache_runs_out_of_memory_cleanly),
    TEST_ENTRY(slabs_are_never_offered_to_the_sampler),
    TEST_ENTRY(kmem_cache_of_names_the_cache_of_every_byte_of_its_slabs_and_nothing_else),
    TEST_ENTRY(the_frame_window_covers_exactly_the_region_that_holds_an_address),
    TEST_ENTRY(the_frame_window_of_an_address_outside_the_heap_holds_nothing),
    TEST_ENTRY(objects_of_a_slab_outside_the_window_are_freed_the_careful_way),
    TEST_ENTRY(kmem_cache_shrink_gives_every_empty_slab_back),
    TEST_ENTRY(shrinking_an_emptied_cache_gives_the_heap_back_every_slab_byte),
    TEST_ENTRY(kmem_cache_shrink_keeps_full_and_partial_slabs),
    TEST_ENTRY(kmem_cache_destroy_gives_back_every_byte),
    TEST_ENTRY(kmem_cache_destroy_refuses_while_objects_live),
    TEST_ENTRY(kmem_cache_destroy_refuses_a_pointer_that_is_no_cache),
    TEST_ENTRY(many_caches_created_used_and_destroyed_leave_the_heap_as_it_was),
    TEST_ENTRY(allocation_fails_cleanly_when_the_heap_runs_out),
    TEST_ENTRY(allocation_succeeds_again_once_memory_is_freed),
    TEST_ENTRY(kmem_cache_create_fails_cleanly_when_the_heap_is_full),
    TEST_ENTRY(a_null_cache_gives_no_objects),
    TEST_ENTRY(stats_count_allocations_frees_and_refusals),
    TEST_ENTRY(slabinfo_gives_the_numbers_of_a_linux_slabinfo_row),
    TEST_ENTRY(kmem_cache_next_visits_every_cache_in_creation_order),
    TEST_ENTRY(kmem_cache_listed_says_which_caches_exist),
    TEST_ENTRY(the_slab_cells_show_each_object_of_the_current_slab),
    TEST_ENTRY(kmem_cache_check_passes_on_caches_in_every_state),
    TEST_ENTRY(kmem_cache_check_finds_a_free_count_that_disagrees_with_the_bitmap),
    TEST_ENTRY(kmem_cache_check_finds_a_bit_set_past_the_last_object),
    TEST_ENTRY(kmem_cache_check_finds_a_word_summary_that_disagrees_with_the_bitmap),
    TEST_ENTRY(kmem_cache_check_finds_a_slab_on_the_wrong_list),
    TEST_ENTRY(kmem_cache_check_finds_a_slab_naming_another_cache),
    TEST_ENTRY(kmem_cache_check_finds_list_links_that_disagree),
    TEST_ENTRY(kmem_cache_check_reads_nothing_a_list_points_at_outside_the_slabs),
    TEST_ENTRY(kmem_cache_check_finds_a_slab_the_frame_table_does_not_mark),
    TEST_ENTRY(kmem_cache_check_finds_a_marked_page_block_on_no_list),
    TEST_ENTRY(kmem_cache_check_finds_counts_that_disagree_with_the_slabs),
    TEST_ENTRY(kmem_cache_check_finds_a_geometry_that_disagrees_with_the_object_size),
    TEST_ENTRY(kmem_cache_check_finds_a_cache_that_is_no_heap_block),
    TEST_ENTRY(kmem_cache_check_finds_a_cache_list_that_does_not_end),
    TEST_ENTRY(shrink_and_destroy_keep_a_slab_the_heap_does_not_know_as_one),
};

/* A whole-arena heap, no caches, handlers that record, nothing heard yet. */
static void test_setup(void)
{
    memset(arena, 0, ARENA_BYTES);
    heap_of(ARENA_BYTES);
    memset(&refusal, 0, sizeof(refusal));
    memset(&report, 0, sizeof(report));
    memset(&ctor_log, 0, sizeof(ctor_log));
    memset(&debug_log, 0, sizeof(debug_log));
    heap_on_debug_report(record_debug);
}

/* Every test leaves a heap and caches that pass both checks. */
static void test_teardown(void)
{
    struct kmem_cache_violation found = {0};
    struct heap_violation broken = {0};

    CHECK(heap_check_report(&broken) == 0);
    if (broken.what != NULL)
        printf("    heap_check: %s at 0x%lx\n", broken.what, (unsigned long)broken.address);
    CHECK(kmem_cache_check(&found) == 0);
    if (found.what != NULL)
        printf("    kmem_cache_check: %s (slab 0x%lx)\n", found.what, (unsigned long)found.slab);
}

int main(void)
{
    int passed = 0, failed = 0;

    setvbuf(stdout, NULL, _IONBF, 0);
    arena = aligned_alloc(ARENA_BYTES, ARENA_BYTES);
    if (arena == NULL) {
        printf("no memory for the arena\n0 passed, 1 failed\n");
        return 1;
    }
    check_run(tests, COUNT(tests), test_setup, test_teardown, &passed, &failed);
    free(arena);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
