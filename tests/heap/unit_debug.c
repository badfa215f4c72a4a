/*
 * unit_debug.c - host unit tests of the heap's debug mode (poison, red
 * zones, callers, the quarantine), of heap_block_info and of the sampler
 * hook; and that with debugging off the heap is exactly what it was. Each
 * write after free or past a request is made by hand, and its report must
 * name the block, the byte and the callers exactly. Run by unit.c's main.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"

/* ---- fixtures ------------------------------------------------------------------ */

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define SLACK HEAP_DEBUG_SLACK
#define TRAILER HEAP_DEBUG_TRAILER_BYTES

/* What the debug report handler heard. */
static struct {
    int calls;
    struct heap_debug_report last;
} heard;

static void hear_report(const struct heap_debug_report *report)
{
    heard.calls++;
    heard.last = *report;
}

/* Debug mode with these flags, then one region whose blocks are the arena's first `bytes`. */
static void debug_heap(unsigned flags, size_t bytes)
{
    heap_set_debug(flags);
    heap_on_debug_report(hear_report);
    heard.calls = 0;
    add_blocks(0, bytes);
}

/* The report heard must be this one, and the only one (callers are checked apart). */
#define CHECK_HEARD(...) check_heard(__FILE__, __LINE__, (struct heap_debug_report){__VA_ARGS__})

static void check_heard(const char *file, int line, struct heap_debug_report want)
{
    const struct heap_debug_report *got = &heard.last;

    CHECK_AT(file, line, heard.calls == 1);
    CHECK_AT(file, line, got->kind == want.kind);
    CHECK_AT(file, line, got->block == want.block);
    CHECK_AT(file, line, got->payload == want.payload);
    CHECK_AT(file, line, got->scale == want.scale);
    CHECK_AT(file, line, got->requested == want.requested);
    CHECK_AT(file, line, got->offset == want.offset);
    CHECK_AT(file, line, got->expected == want.expected);
    CHECK_AT(file, line, got->found == want.found);
}

/* heap_check_report must name this kind of damage ("use-after-free", "out-of-bounds") here. */
static void check_damage(const char *file, int line, const char *kind, uintptr_t block,
                         unsigned scale)
{
    struct heap_violation found = {0};

    CHECK_AT(file, line, heap_check_report(&found) != 0);
    CHECK_AT(file, line, found.what != NULL && strstr(found.what, kind) != NULL);
    CHECK_AT(file, line, found.address == block);
    CHECK_AT(file, line, found.scale == scale);
}
#define CHECK_DAMAGE(kind, block, scale) check_damage(__FILE__, __LINE__, kind, block, scale)

/*
 * Known call sites: the callers the heap keeps must point into these
 * functions, just after their call of kmalloc, kfree or the drain.
 */
#define NEAR(caller, function) ((uintptr_t)(caller) - (uintptr_t)(function) < 256)

static __attribute__((noinline)) void *allocate_here(size_t size)
{
    void *p = kmalloc(size);

    __asm__ volatile("" : : : "memory");    /* no tail call: the call returns here */
    return p;
}

static __attribute__((noinline)) void free_here(void *p)
{
    kfree(p);
    __asm__ volatile("" : : : "memory");
}

static __attribute__((noinline)) size_t drain_here(void)
{
    size_t drained = heap_drain_quarantine();

    __asm__ volatile("" : : : "memory");
    return drained;
}

/* The block holding p, as heap_block_info tells (all zero when there is none). */
static struct heap_block_info info_of(const void *p)
{
    struct heap_block_info info = {0};

    heap_block_info(p, &info);
    return info;
}

static int state_of(const void *p) { return info_of(p).state; }

/* Where the block holding p ends: a small block's end, a run's last kept page's. */
static unsigned char *end_of(const void *p)
{
    struct heap_block_info info = info_of(p);

    return (unsigned char *)info.start + (info.pages != 0 ? info.pages * PAGE
                                                          : block_bytes(info.scale));
}

static unsigned char *trailer_of(const void *p) { return end_of(p) - TRAILER; }

static const struct heap_debug_trailer *callers_of(const void *p)
{
    return (const struct heap_debug_trailer *)trailer_of(p);
}

/* Are the n bytes at p all `value`? */
static int all_bytes(const void *p, size_t n, unsigned char value)
{
    for (size_t i = 0; i < n; i++)
        if (((const unsigned char *)p)[i] != value)
            return 0;
    return 1;
}

/* The scale of the small block a request of size bytes gets with debugging off. */
static unsigned small_scale(size_t size)
{
    unsigned scale = heap_min_scale();

    while (heap_scale_payload(scale) < size)
        scale++;
    return scale;
}

/* heap_walk's visits of each kind: 0 free, 1 allocated, 2 quarantined. */
struct kinds {
    size_t visits[3];
    uintptr_t last[3];
};

static void count_kinds(uintptr_t block, unsigned scale, int allocated, void *context)
{
    struct kinds *k = context;

    (void)scale;
    if (allocated >= 0 && allocated <= 2) {
        k->visits[allocated]++;
        k->last[allocated] = block;
    }
}

/* ---- with debugging off, nothing changes ------------------------------------------ */

static void debugging_is_off_until_heap_set_debug_and_after_heap_init(void)
{
    CHECK_EQ(heap_debug_flags(), 0);
    heap_set_debug(HEAP_DEBUG_ALL);
    CHECK_EQ(heap_debug_flags(), HEAP_DEBUG_ALL);
    heap_init();
    CHECK_EQ(heap_debug_flags(), 0);
}

static void heap_set_debug_takes_known_flags_only_and_only_before_the_first_region(void)
{
    heap_set_debug(0xf0u | HEAP_DEBUG_REDZONE);
    CHECK_EQ(heap_debug_flags(), HEAP_DEBUG_REDZONE);
    add_blocks(0, 64 * KIB);
    heap_set_debug(HEAP_DEBUG_ALL);                     /* too late: the blocks are laid out */
    CHECK_EQ(heap_debug_flags(), HEAP_DEBUG_REDZONE);
    heap_set_debug(0);
    CHECK_EQ(heap_debug_flags(), HEAP_DEBUG_REDZONE);
}

#define SEQUENCE_STEPS 24

/* A fixed mix of calls on a fresh 1 MiB heap: every pointer they return, as an offset, to out. */
static void run_fixed_sequence(uintptr_t out[SEQUENCE_STEPS])
{
    static const size_t sizes[] = {1, 24, 100, 2040, 2041, 4096, 5000, 70000, 13, 300};
    unsigned char *p[10];
    size_t n = 0;

    add_blocks(0, MIB);
    for (size_t i = 0; i < 10; i++)
        p[i] = kmalloc(sizes[i]);
    for (size_t i = 0; i < 10; i++) {
        kfree(p[i]);
        p[i] = kmalloc(sizes[i]);
    }
    kfree(p[1]);
    kfree(p[6]);
    p[2] = krealloc(p[2], 200);
    p[3] = krealloc(p[3], 1000);
    p[1] = kcalloc(3, 40);
    p[6] = krealloc(NULL, 3 * PAGE);
    for (size_t i = 0; i < 10; i++)
        out[n++] = (uintptr_t)p[i] - (uintptr_t)arena;
    for (size_t i = 0; i < 10; i += 2)
        kfree(p[i]);
    for (size_t i = 0; n < SEQUENCE_STEPS; i++)
        out[n++] = (uintptr_t)kmalloc(7 + 300 * i) - (uintptr_t)arena;
}

/* A sampler that declines every offer: the heap must serve every call exactly as without it. */
static int declined_offers;

static void *decline(size_t size, const void *caller)
{
    (void)size;
    (void)caller;
    declined_offers++;
    return NULL;
}

static int owns_nothing(const void *p) { return p == NULL; }
static enum heap_status free_nothing(void *p, const void *caller)
{
    (void)p, (void)caller;
    return HEAP_OK;
}
static size_t size_nothing(const void *p) { return p != NULL; }

static const struct heap_sampler declining = {decline, owns_nothing, free_nothing, size_nothing, 1};

/* The heap as the sequence left it: pointers, counters, and every byte of the region. */
struct outcome {
    uintptr_t pointers[SEQUENCE_STEPS];
    struct heap_stats stats;
    unsigned char *bytes;
};

static void outcome_take(struct outcome *o, void (*prepare)(void))
{
    uintptr_t start, end;

    test_setup();
    prepare();
    run_fixed_sequence(o->pointers);
    heap_get_stats(&o->stats);
    heap_region(0, &start, &end);
    o->bytes = malloc(end - start);
    memcpy(o->bytes, (void *)start, end - start);
}

static int outcome_same(const struct outcome *a, const struct outcome *b)
{
    uintptr_t start, end;

    heap_region(0, &start, &end);
    return memcmp(a->pointers, b->pointers, sizeof a->pointers) == 0
        && memcmp(&a->stats, &b->stats, sizeof a->stats) == 0
        && memcmp(a->bytes, b->bytes, end - start) == 0;
}

static void nothing(void) {}
static void debug_zero(void) { heap_set_debug(0); }
static void debug_then_init(void) { heap_set_debug(HEAP_DEBUG_ALL); heap_init(); }
static void sampler_declining(void) { heap_set_sampler(&declining); }

static void with_debugging_off_every_call_gives_the_same_pointers_and_bytes_as_before(void)
{
    void (*const ways[])(void) = {debug_zero, debug_then_init, sampler_declining};
    struct outcome plain, other;

    outcome_take(&plain, nothing);
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
        outcome_take(&other, ways[i]);
        CHECK(outcome_same(&plain, &other));
        free(other.bytes);
    }
    CHECK(declined_offers > 0);                     /* the sampler was asked, and declined */
    CHECK_EQ(plain.stats.debug_reports, 0);
    CHECK_EQ(plain.stats.quarantined_blocks, 0);
    CHECK_EQ(plain.stats.sampled_allocations, 0);
    free(plain.bytes);
    heap_set_sampler(NULL);
}

static void with_debugging_off_a_block_has_no_extra_bytes(void)
{
    add_blocks(0, 64 * KIB);
    void *p = kmalloc(heap_scale_payload(5));
    CHECK_EQ(info_of(p).scale, 5);
    CHECK_EQ(ksize(p), heap_scale_payload(5));
    CHECK_EQ(info_of(kmalloc(PAGE)).pages, 1);
    CHECK(info_of(p).alloc_caller == NULL && info_of(p).free_caller == NULL);
    kfree(p);
    CHECK_EQ(state_of(p), HEAP_BLOCK_FREE);
    CHECK(kmalloc(heap_scale_payload(5)) == p);
}

/* ---- block sizes in debug mode ------------------------------------------------------ */

static void debug_mode_gives_each_request_room_for_its_trailer_and_a_red_zone_byte(void)
{
    size_t exact = heap_scale_payload(6);           /* fills a 64-byte block with debugging off */
    size_t tight = heap_scale_payload(7) - SLACK;   /* fills a 128-byte block in debug mode */

    debug_heap(HEAP_DEBUG_ALL, MIB);
    unsigned char *p = kmalloc(exact), *t = kmalloc(tight);
    CHECK_EQ(info_of(p).scale, small_scale(exact + SLACK));
    CHECK(info_of(p).scale > 6);
    CHECK_EQ(ksize(p), exact);                      /* the rest is red zone and trailer */
    CHECK((uintptr_t)p % HEAP_ALIGNMENT == 0 && (uintptr_t)p % PAGE != 0);
    CHECK_EQ(info_of(t).scale, 7);
    CHECK_EQ(trailer_of(t) - (t + tight), 1);       /* one red-zone byte, then the trailer */
    CHECK_EQ(info_of(kmalloc(PAGE - SLACK)).pages, 1);
    CHECK_EQ(info_of(kmalloc(PAGE - SLACK + 1)).pages, 2);
    void *q = kmalloc(PAGE);
    CHECK_EQ(info_of(q).pages, 2);                  /* a whole page asked: one page more */
    CHECK_EQ(info_of(q).scale, 13);
    CHECK_EQ(ksize(q), PAGE);
    CHECK_EQ(stats_now().requested_bytes, exact + tight + 3 * PAGE - 2 * SLACK + 1);
    CHECK(heap_check() == 0);
}

static void debug_mode_refuses_requests_too_large_for_the_slack(void)
{
    debug_heap(HEAP_DEBUG_POISON, 64 * KIB);
    CHECK(kmalloc(0) == NULL);
    CHECK(kmalloc(HEAP_MAX_REQUEST - SLACK + 1) == NULL);
    CHECK(kmalloc(SIZE_MAX) == NULL);
    CHECK(kmalloc(64 * KIB) == NULL);               /* possible, but no block is that large */
    CHECK_EQ(stats_now().failed_allocations, 4);
    CHECK(heap_check() == 0);
}

/* ---- poison -------------------------------------------------------------------------- */

static void a_quarantined_block_reads_0x6b_and_its_last_byte_0xa5(void)
{
    debug_heap(HEAP_DEBUG_POISON | HEAP_DEBUG_QUARANTINE, MIB);
    unsigned char *p = allocate_here(100);
    memset(p, 0x11, 100);
    free_here(p);
    size_t poisoned = (size_t)(trailer_of(p) - p);
    CHECK(poisoned > 100);
    CHECK(all_bytes(p, poisoned - 1, HEAP_POISON_FREE));
    CHECK_EQ(p[poisoned - 1], HEAP_POISON_END);
    CHECK(NEAR(callers_of(p)->alloc_caller, allocate_here));
    CHECK(NEAR(callers_of(p)->free_caller, free_here));
    CHECK(heap_check() == 0);
}

static void regions_are_poisoned_when_added_and_free_blocks_stay_poison(void)
{
    debug_heap(HEAP_DEBUG_POISON, 64 * KIB);
    uintptr_t start = (uintptr_t)arena;
    size_t front = HEAP_HEADER_BYTES + sizeof(struct list_header);
    CHECK(all_bytes(arena + front, 64 * KIB - front, HEAP_POISON_FREE));
    unsigned char *p = kmalloc(100);
    size_t bytes = block_bytes(info_of(p).scale);
    CHECK(all_bytes(p + sizeof(struct list_header), 100 - sizeof(struct list_header),
                    HEAP_POISON_FREE));             /* what a fresh block holds: poison */
    kfree(p);                                       /* no quarantine: 0x6b to its end at once */
    CHECK(all_bytes(arena + front, bytes - front, HEAP_POISON_FREE));
    CHECK(heap_check() == 0);
    CHECK_EQ(block_of(kmalloc(100)), start);        /* reused at once */
}

/*
 * On a free list a small block's first payload bytes are its link: a write
 * there breaks the list (heap_check says so), and is no poison damage.
 * LINKED is the first byte past it.
 */
#define LINKED sizeof(struct list_header)

static void a_write_after_free_is_reported_when_kmalloc_hands_the_block_out_again(void)
{
    debug_heap(HEAP_DEBUG_POISON, 64 * KIB);
    unsigned char *p = allocate_here(100);
    uintptr_t block = block_of(p);
    free_here(p);                                   /* merged back into the region's block */
    p[LINKED + 12] = 0x41;
    CHECK_DAMAGE("use-after-free", block, 16);
    CHECK(heard.calls == 0);                        /* heap_check names it, tells no handler */
    CHECK(allocate_here(100) == p);
    CHECK_HEARD(.kind = HEAP_USE_AFTER_FREE, .block = block, .payload = (uintptr_t)p,
                .scale = small_scale(100 + SLACK), .requested = 0, .offset = LINKED + 12,
                .expected = HEAP_POISON_FREE, .found = 0x41);
    CHECK(heard.last.alloc_caller == NULL && heard.last.free_caller == NULL);
    CHECK(NEAR(heard.last.caller, allocate_here));
    CHECK_EQ(stats_now().debug_reports, 1);
    CHECK(heap_check() == 0);                       /* the damage is in a live block now */
}

static void a_write_after_free_in_the_quarantine_is_reported_with_both_callers(void)
{
    debug_heap(HEAP_DEBUG_ALL, MIB);
    unsigned char *p = allocate_here(100);
    uintptr_t block = block_of(p);
    free_here(p);
    p[12] = 0x41;
    CHECK_DAMAGE("use-after-free", block, small_scale(100 + SLACK));
    CHECK_EQ(drain_here(), 1);
    CHECK_HEARD(.kind = HEAP_USE_AFTER_FREE, .block = block, .payload = (uintptr_t)p,
                .scale = small_scale(100 + SLACK), .requested = 100, .offset = 12,
                .expected = HEAP_POISON_FREE, .found = 0x41);
    CHECK(NEAR(heard.last.alloc_caller, allocate_here));
    CHECK(NEAR(heard.last.free_caller, free_here));
    CHECK(NEAR(heard.last.caller, drain_here));
    CHECK_EQ(state_of(p), HEAP_BLOCK_FREE);
    CHECK(heap_check() == 0);                       /* poison again once it merged */
}

static void a_changed_last_byte_is_reported_as_not_0xa5(void)
{
    debug_heap(HEAP_DEBUG_ALL, MIB);
    unsigned char *p = kmalloc(100);
    kfree(p);
    size_t last = (size_t)(trailer_of(p) - p) - 1;
    p[last] = 0x6b;
    CHECK_DAMAGE("use-after-free", block_of(p), small_scale(100 + SLACK));
    heap_drain_quarantine();
    CHECK_HEARD(.kind = HEAP_USE_AFTER_FREE, .block = block_of(p), .payload = (uintptr_t)p,
                .scale = small_scale(100 + SLACK), .requested = 100, .offset = last,
                .expected = HEAP_POISON_END, .found = 0x6b);
    CHECK(heap_check() == 0);
}

static void a_write_after_free_of_a_page_run_is_found_at_merge_and_at_hand_out(void)
{
    debug_heap(HEAP_DEBUG_ALL, MIB);
    unsigned char *p = kmalloc(5000);
    CHECK_EQ(info_of(p).pages, 2);
    kfree(p);
    CHECK_EQ(state_of(p + PAGE), HEAP_BLOCK_QUARANTINED);
    p[4999] = 0x41;
    CHECK_DAMAGE("use-after-free", (uintptr_t)p, 13);
    heap_drain_quarantine();
    CHECK_HEARD(.kind = HEAP_USE_AFTER_FREE, .block = (uintptr_t)p, .payload = (uintptr_t)p,
                .scale = 13, .requested = 5000, .offset = 4999, .expected = HEAP_POISON_FREE,
                .found = 0x41);
    CHECK(heap_check() == 0);
    p[PAGE + 100] = 0x42;                           /* now into free memory */
    CHECK(heap_check() != 0);
    heard.calls = 0;
    CHECK(kmalloc(5000) == p);
    CHECK_HEARD(.kind = HEAP_USE_AFTER_FREE, .block = (uintptr_t)p, .payload = (uintptr_t)p,
                .scale = 13, .requested = 0, .offset = PAGE + 100,
                .expected = HEAP_POISON_FREE, .found = 0x42);
    CHECK(heap_check() == 0);
}

static void a_header_left_by_a_merge_is_no_damage_but_a_write_beside_it_is(void)
{
    debug_heap(HEAP_DEBUG_POISON, 64 * KIB);
    unsigned char *a = kmalloc(1), *b = kmalloc(1);
    CHECK_EQ(block_of(b), block_of(a) + block_bytes(info_of(a).scale));    /* buddies */
    kfree(b);
    kfree(a);                                       /* b's header stays inside the merged block */
    CHECK_EQ(header_of(block_of(b))->state, HEAP_BLOCK_FREE);
    CHECK(heap_check() == 0);
    CHECK_KFREE_REFUSED(b, HEAP_DOUBLE_FREE);       /* still named a double free */
    b[2] = 0x41;                                    /* its old link: poison now */
    CHECK_DAMAGE("use-after-free", (uintptr_t)arena, 16);
    b[2] = HEAP_POISON_FREE;
    header_of(block_of(b))->check ^= 1;             /* a changed header is damage too */
    CHECK_DAMAGE("use-after-free", (uintptr_t)arena, 16);
}

/* ---- red zones ------------------------------------------------------------------------ */

static void the_red_zone_reads_0xcc_from_the_request_to_the_trailer(void)
{
    debug_heap(HEAP_DEBUG_REDZONE, MIB);
    unsigned char *p = allocate_here(64), *q = kmalloc(PAGE);
    CHECK(all_bytes(p + 64, (size_t)(trailer_of(p) - p) - 64, HEAP_POISON_REDZONE));
    CHECK(all_bytes(q + PAGE, PAGE - TRAILER, HEAP_POISON_REDZONE));
    CHECK(NEAR(callers_of(p)->alloc_caller, allocate_here));
    CHECK(callers_of(p)->free_caller == NULL);
    CHECK(heap_check() == 0);
}

static void a_write_past_the_request_is_reported_by_kfree_and_the_block_still_freed(void)
{
    debug_heap(HEAP_DEBUG_REDZONE, MIB);
    unsigned char *p = allocate_here(64);
    uintptr_t block = block_of(p);
    p[64] = 0x41;
    CHECK_DAMAGE("out-of-bounds", block, small_scale(64 + SLACK));
    free_here(p);
    CHECK_HEARD(.kind = HEAP_OUT_OF_BOUNDS, .block = block, .payload = (uintptr_t)p,
                .scale = small_scale(64 + SLACK), .requested = 64, .offset = 64,
                .expected = HEAP_POISON_REDZONE, .found = 0x41);
    CHECK(NEAR(heard.last.alloc_caller, allocate_here));
    CHECK(heard.last.free_caller == NULL);
    CHECK(NEAR(heard.last.caller, free_here));
    CHECK_EQ(state_of(p), HEAP_BLOCK_FREE);
    CHECK_EQ(stats_now().frees, 1);
    CHECK(heap_check() == 0);
}

static void a_write_past_a_page_run_is_reported_too(void)
{
    debug_heap(HEAP_DEBUG_ALL, MIB);
    unsigned char *p = kmalloc(PAGE);
    p[PAGE + 3] = 0;
    CHECK_DAMAGE("out-of-bounds", (uintptr_t)p, 13);
    kfree(p);
    CHECK_HEARD(.kind = HEAP_OUT_OF_BOUNDS, .block = (uintptr_t)p, .payload = (uintptr_t)p,
                .scale = 13, .requested = PAGE, .offset = PAGE + 3,
                .expected = HEAP_POISON_REDZONE, .found = 0);
    CHECK_EQ(state_of(p), HEAP_BLOCK_QUARANTINED);
    CHECK(heap_check() == 0);                       /* poison covers the red zone now */
}

static void krealloc_in_debug_mode_moves_the_block_and_reports_its_red_zone(void)
{
    debug_heap(HEAP_DEBUG_ALL, MIB);
    unsigned char *p = kmalloc(64);
    fill(p, 64, 3);
    p[64] = 0x41;
    unsigned char *q = krealloc(p, 32);
    CHECK(q != NULL && q != p);                     /* smaller, but moved all the same */
    CHECK(filled(q, 32, 3));
    CHECK_HEARD(.kind = HEAP_OUT_OF_BOUNDS, .block = block_of(p), .payload = (uintptr_t)p,
                .scale = small_scale(64 + SLACK), .requested = 64, .offset = 64,
                .expected = HEAP_POISON_REDZONE, .found = 0x41);
    CHECK_EQ(state_of(p), HEAP_BLOCK_QUARANTINED);
    CHECK_EQ(ksize(q), 32);
    unsigned char *r = krealloc(q, 3000);
    CHECK(r != q && filled(r, 32, 3));
    CHECK(krealloc(r, 0) == NULL);
    CHECK_EQ(state_of(r), HEAP_BLOCK_QUARANTINED);
    CHECK_EQ(heard.calls, 1);
    CHECK(heap_check() == 0);
}

static void a_failed_krealloc_in_debug_mode_reports_the_red_zone_and_keeps_the_block(void)
{
    debug_heap(HEAP_DEBUG_ALL, 64 * KIB);
    unsigned char *p = kmalloc(64);
    fill(p, 64, 9);
    p[70] = 0x41;
    CHECK(krealloc(p, 64 * KIB) == NULL);
    CHECK_HEARD(.kind = HEAP_OUT_OF_BOUNDS, .block = block_of(p), .payload = (uintptr_t)p,
                .scale = small_scale(64 + SLACK), .requested = 64, .offset = 70,
                .expected = HEAP_POISON_REDZONE, .found = 0x41);
    CHECK(filled(p, 64, 9));
    CHECK_EQ(state_of(p), HEAP_BLOCK_ALLOCATED);
    p[70] = HEAP_POISON_REDZONE;
    heard.calls = 0;
    CHECK(krealloc(p, 64 * KIB) == NULL);           /* intact: nothing to report */
    CHECK_EQ(heard.calls, 0);
    CHECK(heap_check() == 0);
}

static void kcalloc_in_debug_mode_zeroes_the_request_and_keeps_the_red_zone(void)
{
    debug_heap(HEAP_DEBUG_ALL, MIB);
    unsigned char *p = kcalloc(5, 20);
    CHECK(all_bytes(p, 100, 0));
    CHECK(all_bytes(p + 100, (size_t)(trailer_of(p) - p) - 100, HEAP_POISON_REDZONE));
    CHECK(heap_check() == 0);
}

/* ---- each flag alone -------------------------------------------------------------------- */

static void under_poison_alone_a_write_past_the_request_goes_unreported(void)
{
    debug_heap(HEAP_DEBUG_POISON, MIB);
    unsigned char *p = kmalloc(64);
    p[64] = 0x41;
    CHECK(heap_check() == 0);
    kfree(p);
    CHECK_EQ(heard.calls, 0);
    CHECK_EQ(state_of(p), HEAP_BLOCK_FREE);
    CHECK(heap_check() == 0);
}

static void under_red_zones_alone_a_freed_block_is_reused_at_once_unpoisoned(void)
{
    debug_heap(HEAP_DEBUG_REDZONE, MIB);
    unsigned char *p = kmalloc(64);
    fill(p, 64, 5);
    kfree(p);
    p[40] = 0x41;                                   /* after free: nothing watches */
    CHECK(heap_check() == 0);
    CHECK(kmalloc(64) == p);
    CHECK_EQ(p[40], 0x41);
    CHECK(filled(p + 48, 16, (unsigned char)(5 + 48 * 7)));   /* no poison: the old bytes stay */
    CHECK_EQ(heard.calls, 0);
}

static void under_the_quarantine_alone_a_freed_block_waits_with_its_bytes(void)
{
    debug_heap(HEAP_DEBUG_QUARANTINE, MIB);
    unsigned char *p = allocate_here(64);
    fill(p, 64, 5);
    p[64] = 0x41;                                   /* no red zone to see it */
    free_here(p);
    CHECK_EQ(state_of(p), HEAP_BLOCK_QUARANTINED);
    CHECK(filled(p, 64, 5));
    CHECK(NEAR(info_of(p).free_caller, free_here));
    CHECK(kmalloc(64) != p);                        /* not reused at once */
    p[3] = 0;
    CHECK(heap_check() == 0);
    CHECK_EQ(heap_drain_quarantine(), 1);
    CHECK_EQ(heard.calls, 0);
    CHECK(heap_check() == 0);
}

/*
 * For every combination of flags, off included: a write past the request,
 * then a write after free, and exactly the reports the flags call for.
 */
static void each_combination_of_flags_reports_exactly_what_it_watches(void)
{
    for (unsigned flags = 0; flags <= HEAP_DEBUG_ALL; flags++) {
        bool redzone = flags & HEAP_DEBUG_REDZONE, poison = flags & HEAP_DEBUG_POISON;
        test_setup();
        debug_heap(flags, 64 * KIB);
        unsigned char *p = kmalloc(64);
        p[64] = 0x41;
        kfree(p);
        CHECK_EQ(heard.calls, redzone);
        CHECK(!redzone || (heard.last.kind == HEAP_OUT_OF_BOUNDS && heard.last.offset == 64
                           && heard.last.found == 0x41 && heard.last.expected == 0xcc));
        heard.calls = 0;
        heap_drain_quarantine();
        unsigned char *q = kmalloc(64);
        kfree(q);
        q[40] = 0x42;                               /* past a free block's link on any target */
        heap_drain_quarantine();
        CHECK(kmalloc(64) == q);
        CHECK_EQ(heard.calls, poison);
        CHECK(!poison || (heard.last.kind == HEAP_USE_AFTER_FREE && heard.last.offset == 40
                          && heard.last.found == 0x42 && heard.last.expected == 0x6b));
        bool callers = (flags & HEAP_DEBUG_QUARANTINE) != 0;    /* found before it merged */
        CHECK(!poison || (heard.last.free_caller != NULL) == callers);
        CHECK_EQ(heap_check(), 0);
    }
}

static void reports_are_counted_without_a_handler(void)
{
    debug_heap(HEAP_DEBUG_REDZONE, MIB);
    heap_on_debug_report(NULL);
    unsigned char *p = kmalloc(10);
    p[10] = 1;
    kfree(p);
    CHECK_EQ(stats_now().debug_reports, 1);
    CHECK_EQ(heard.calls, 0);
}

/* ---- the quarantine --------------------------------------------------------------------- */

static void quarantined_blocks_are_on_no_free_list_and_walk_as_2(void)
{
    debug_heap(HEAP_DEBUG_ALL, MIB);
    unsigned char *p = kmalloc(100), *run = kmalloc(3 * PAGE);
    kmalloc(1);
    struct heap_stats before = stats_now();
    kfree(p);
    kfree(run);
    struct heap_stats after = stats_now();
    CHECK_EQ(after.quarantined_blocks, 2);
    CHECK_EQ(after.quarantined_bytes, block_bytes(info_of(p).scale) + 4 * PAGE);
    CHECK_EQ(after.free_bytes, before.free_bytes);  /* neither free... */
    CHECK_EQ(after.allocated_bytes, before.allocated_bytes - after.quarantined_bytes);
    for (unsigned scale = 0; scale <= HEAP_MAX_SCALE; scale++) {
        uintptr_t listed[64];
        size_t n = heap_free_list_peek(scale, listed, 64);
        for (size_t i = 0; i < n; i++)
            CHECK(listed[i] != block_of(p) && listed[i] != (uintptr_t)run);
    }
    struct kinds kinds = {{0}, {0}};
    heap_walk(count_kinds, &kinds);
    CHECK_EQ(kinds.visits[2], 2);                   /* the block, and the run as one piece */
    CHECK_EQ(kinds.last[2], (uintptr_t)run);
    CHECK_EQ(info_of(run + 3 * PAGE + 5).pages, 4);
    CHECK(heap_check() == 0);
}

static void freeing_a_quarantined_block_again_is_a_double_free(void)
{
    debug_heap(HEAP_DEBUG_ALL, MIB);
    unsigned char *p = kmalloc(100), *run = kmalloc(2 * PAGE);
    kfree(p);
    kfree(run);
    CHECK_KFREE_REFUSED(p, HEAP_DOUBLE_FREE);
    CHECK_KFREE_REFUSED(run, HEAP_DOUBLE_FREE);
    CHECK_KFREE_REFUSED(run + PAGE, HEAP_NOT_HANDED_OUT);
    entry_of((uintptr_t)run)->check ^= 1;
    CHECK_KFREE_REFUSED(run, HEAP_CORRUPTED_HEADER);
    entry_of((uintptr_t)run)->check ^= 1;
    CHECK_EQ(heap_mark_slab(run, 1), HEAP_DOUBLE_FREE);
    CHECK(heap_slab_of(run) == 0);
    CHECK_EQ(ksize(p), 0);
    CHECK(heap_check() == 0);
}

static void the_quarantine_holds_at_most_its_count_and_lets_the_oldest_go_first(void)
{
    enum { EXTRA = 5, TOTAL = HEAP_QUARANTINE_BLOCKS + EXTRA };
    static void *p[TOTAL];

    debug_heap(HEAP_DEBUG_ALL, 4 * MIB);
    for (size_t i = 0; i < TOTAL; i++)
        p[i] = kmalloc(40);
    for (size_t i = 0; i < TOTAL; i++)
        kfree(p[i]);
    CHECK_EQ(stats_now().quarantined_blocks, HEAP_QUARANTINE_BLOCKS);
    for (size_t i = 0; i < TOTAL; i++)
        CHECK_EQ(state_of(p[i]), i < EXTRA ? HEAP_BLOCK_FREE : HEAP_BLOCK_QUARANTINED);
    heap_free(kmalloc(40));                         /* one more in, the oldest out */
    CHECK_EQ(state_of(p[EXTRA]), HEAP_BLOCK_FREE);
    CHECK_EQ(state_of(p[EXTRA + 1]), HEAP_BLOCK_QUARANTINED);
    CHECK(heap_check() == 0);
    CHECK_EQ(heap_drain_quarantine(), HEAP_QUARANTINE_BLOCKS);
    CHECK_EQ(heard.calls, 0);
    CHECK_EQ(heap_free_count(22), 1);               /* everything merged back */
}

static void the_quarantine_holds_at_most_a_32nd_of_the_heap(void)
{
    static void *p[64];

    debug_heap(HEAP_DEBUG_QUARANTINE, 64 * KIB);
    size_t budget = stats_now().managed_bytes / HEAP_QUARANTINE_SHARE, block = 0;
    for (size_t i = 0; i < 64; i++)
        p[i] = kmalloc(100);
    block = block_bytes(info_of(p[0]).scale);
    for (size_t i = 0; i < 64; i++) {
        kfree(p[i]);
        CHECK(stats_now().quarantined_bytes <= budget);
    }
    CHECK_EQ(stats_now().quarantined_blocks, budget / block);
    CHECK_EQ(state_of(p[63 - budget / block]), HEAP_BLOCK_FREE);
    CHECK_EQ(state_of(p[64 - budget / block]), HEAP_BLOCK_QUARANTINED);
    unsigned char *big = kmalloc(budget);           /* more than the budget: skips it */
    kfree(big);
    CHECK_EQ(state_of(big), HEAP_BLOCK_FREE);
    CHECK(heap_check() == 0);
}

static void kmalloc_lets_the_quarantine_drain_before_it_fails(void)
{
    static void *p[512];
    size_t n = 0;

    debug_heap(HEAP_DEBUG_ALL, 64 * KIB);
    while (n < 512 && (p[n] = kmalloc(100)) != NULL)
        n++;
    CHECK_EQ(n, 64 * KIB / block_bytes(small_scale(100 + SLACK)));     /* the heap is full */
    for (size_t i = 0; i < 8; i++)
        kfree(p[i]);
    CHECK_EQ(stats_now().quarantined_blocks, 8);
    CHECK(kmalloc(100) == p[0]);                    /* the oldest left for it */
    CHECK_EQ(stats_now().quarantined_blocks, 7);
    size_t failed = stats_now().failed_allocations;
    CHECK(kmalloc(PAGE) == NULL);                   /* no page even with all 7 merged */
    CHECK_EQ(stats_now().quarantined_blocks, 0);
    CHECK_EQ(stats_now().failed_allocations, failed + 1);
    CHECK(kmalloc(100) == p[1]);
    CHECK(heap_check() == 0);
}

static void heavy_churn_never_fails_for_lack_of_memory_in_the_quarantine(void)
{
    unsigned char *live[8] = {0};
    uint32_t random = 12345;

    debug_heap(HEAP_DEBUG_ALL, 64 * KIB);
    for (int i = 0; i < 20000; i++) {
        random = random * 1103515245u + 12345u;
        unsigned slot = (random >> 16) % 8;
        kfree(live[slot]);
        live[slot] = kmalloc(1 + (random >> 8) % 4000);
        CHECK(live[slot] != NULL);
    }
    CHECK_EQ(stats_now().failed_allocations, 0);
    CHECK(stats_now().merges > 0);
    CHECK_EQ(heard.calls, 0);
    CHECK(heap_check() == 0);
}

static void heap_check_reports_a_quarantined_block_the_quarantine_does_not_hold(void)
{
    debug_heap(HEAP_DEBUG_QUARANTINE, MIB);
    unsigned char *a = kmalloc(50), *b = kmalloc(50);
    kfree(a);
    header_of(block_of(a))->state = HEAP_BLOCK_ALLOCATED;      /* the counts still agree... */
    header_of(block_of(b))->state = HEAP_BLOCK_QUARANTINED;
    CHECK_VIOLATION("quarantine does not hold the quarantined blocks", 0, 0);
    header_of(block_of(b))->state = HEAP_BLOCK_ALLOCATED;
    header_of(block_of(a))->state = HEAP_BLOCK_QUARANTINED;
    CHECK(heap_check() == 0);
}

static void heap_check_reports_a_debug_request_with_no_room_for_its_slack(void)
{
    debug_heap(HEAP_DEBUG_REDZONE, MIB);
    unsigned char *p = kmalloc(50), *run = kmalloc(3000);
    header_of(block_of(p))->requested = SLACK;
    CHECK_VIOLATION("requested size does not fit its block", block_of(p), small_scale(50 + SLACK));
    header_of(block_of(p))->requested = 50 + SLACK;
    entry_of((uintptr_t)run)->requested = 1;        /* still a one-page run: the slack is gone */
    CHECK_VIOLATION("requested size does not fit its block", (uintptr_t)run, 12);
}

/* ---- heap_block_info ----------------------------------------------------------------- */

static void heap_block_info_describes_the_block_holding_any_address(void)
{
    add_blocks(0, 256 * KIB);
    unsigned char *p = kmalloc(100), *slab = kmalloc(PAGE), *run = kmalloc(3 * PAGE);
    heap_mark_slab(slab, 1);
    struct heap_block_info info = info_of(p + 119);
    CHECK_EQ(info.start, block_of(p));
    CHECK_EQ(info.payload, (uintptr_t)p);
    CHECK_EQ(info.scale, 7);
    CHECK_EQ(info.pages, 0);
    CHECK_EQ(info.state, HEAP_BLOCK_ALLOCATED);
    CHECK_EQ(info.requested, 100);
    CHECK(info.alloc_caller == NULL && info.free_caller == NULL);
    CHECK(memcmp(&info, &(struct heap_block_info){0}, sizeof info) != 0);
    CHECK_EQ(info_of(p - HEAP_HEADER_BYTES).start, block_of(p));    /* its header too */
    CHECK_EQ(info_of(p + 120).start, block_of(p) + 128);            /* the free buddy */
    CHECK_EQ(info_of(p + 120).state, HEAP_BLOCK_FREE);
    CHECK_EQ(info_of(p + 120).requested, 0);
    info = info_of(run + 2 * PAGE + 17);
    CHECK(info.start == (uintptr_t)run && info.payload == (uintptr_t)run && info.scale == 14);
    CHECK(info.pages == 3 && info.state == HEAP_BLOCK_ALLOCATED && info.requested == 3 * PAGE);
    info = info_of(run + 3 * PAGE);                 /* the page the run gave back */
    CHECK(info.start == (uintptr_t)run + 3 * PAGE && info.scale == 12 && info.pages == 1);
    CHECK_EQ(info.state, HEAP_BLOCK_FREE);
    CHECK_EQ(info_of(slab + 100).state, HEAP_BLOCK_SLAB);
    info = info_of(arena + 200 * KIB);              /* deep inside a free 128 KiB block */
    CHECK(info.start == (uintptr_t)arena + 128 * KIB && info.scale == 17 && info.pages == 32);
    CHECK_EQ(info.payload, info.start);
}

static void heap_block_info_knows_no_block_outside_the_blocks(void)
{
    struct heap_block_info info = {.start = 7};

    add_blocks(PAGE, 64 * KIB - PAGE);
    CHECK_EQ(heap_block_info(arena + PAGE - 1, &info), 0);              /* before the region */
    CHECK_EQ(heap_block_info(arena + 64 * KIB, &info), 0);              /* its frame table */
    CHECK_EQ(heap_block_info(NULL, &info), 0);
    CHECK_EQ(info.start, 7);                                            /* left alone */
    CHECK_EQ(heap_block_info(arena + PAGE, &info), 1);
}

static void heap_block_info_is_not_fooled_by_entries_merges_left_behind(void)
{
    add_blocks(0, 256 * KIB);
    unsigned char *p = kmalloc(100), *run = kmalloc(3 * PAGE);
    kfree(run);                                     /* merges back into a free 16 KiB block */
    CHECK_EQ(entry_of((uintptr_t)run + 3 * PAGE)->state, HEAP_BLOCK_FREE);  /* left behind */
    struct heap_block_info info = info_of(run + 3 * PAGE + 9);
    CHECK(info.start == (uintptr_t)run && info.scale == 14 && info.pages == 4);
    CHECK_EQ(info_of(run + 2 * PAGE).start, (uintptr_t)run);
    kfree(p);
    CHECK_EQ(info_of(run).start, (uintptr_t)arena);     /* all one block again */
    CHECK_EQ(info_of(run).scale, 18);
}

static void heap_block_info_finds_small_blocks_in_a_region_without_a_table(void)
{
    size_t min = block_bytes(heap_min_scale());

    add_region(PAGE + min, PAGE - 2 * min);         /* inside one frame: no table */
    unsigned char *p = kmalloc(1);
    CHECK_EQ(info_of(p).start, block_of(p));
    CHECK_EQ(info_of(p).state, HEAP_BLOCK_ALLOCATED);
    CHECK_EQ(info_of(arena + PAGE + min + 3).start, (uintptr_t)arena + PAGE + min);
    CHECK_EQ(info_of(arena + PAGE + min + 3).state, HEAP_BLOCK_FREE);
}

static void heap_block_info_finds_nothing_past_a_corrupted_header(void)
{
    add_blocks(0, 64 * KIB);
    unsigned char *p = kmalloc(100);
    header_of(block_of(p))->check ^= 1;
    CHECK_EQ(heap_block_info(p + 3, &(struct heap_block_info){0}), 0);
    header_of(block_of(p))->check ^= 1;
    entry_of((uintptr_t)arena + 32 * KIB)->check ^= 1;      /* the free 32 KiB block's entry */
    CHECK_EQ(heap_block_info(arena + 40 * KIB, &(struct heap_block_info){0}), 0);
}

static void heap_block_info_gives_callers_and_quarantine_in_debug_mode(void)
{
    debug_heap(HEAP_DEBUG_ALL, MIB);
    unsigned char *p = allocate_here(100), *run = allocate_here(5000);
    CHECK(NEAR(info_of(p).alloc_caller, allocate_here) && info_of(p).free_caller == NULL);
    CHECK_EQ(info_of(p).requested, 100);
    free_here(p);
    free_here(run);
    struct heap_block_info info = info_of(run + PAGE + 10);
    CHECK(info.start == (uintptr_t)run && info.state == HEAP_BLOCK_QUARANTINED);
    CHECK(info.pages == 2 && info.requested == 5000);
    CHECK(NEAR(info.alloc_caller, allocate_here) && NEAR(info.free_caller, free_here));
    CHECK_EQ(info_of(p).state, HEAP_BLOCK_QUARANTINED);
    heap_drain_quarantine();
    info = info_of(p);
    CHECK(info.state == HEAP_BLOCK_FREE && info.requested == 0);
    CHECK(info.alloc_caller == NULL && info.free_caller == NULL);
}

/* ---- the sampler ------------------------------------------------------------------------ */

#define POOL_OBJECTS 8

/* A fake guarded pool: each object at the end of its own page, outside the arena. */
static struct {
    _Alignas(4096) unsigned char memory[POOL_OBJECTS][4096];
    size_t size[POOL_OBJECTS];
    int used[POOL_OBJECTS];
    int offers, frees;
    size_t offered[64];
    const void *caller;
} pool;

static int pool_index(const void *p)
{
    uintptr_t offset = (uintptr_t)p - (uintptr_t)pool.memory;

    return offset < sizeof pool.memory ? (int)(offset / sizeof pool.memory[0]) : -1;
}

static void *pool_alloc(size_t size, const void *caller)
{
    if (pool.offers < 64)
        pool.offered[pool.offers] = size;
    pool.offers++;
    pool.caller = caller;
    for (int i = 0; i < POOL_OBJECTS; i++)
        if (!pool.used[i]) {
            pool.used[i] = 1;
            pool.size[i] = size;
            return pool.memory[i] + sizeof pool.memory[i] - size;
        }
    return NULL;
}

static int pool_owns(const void *p) { return pool_index(p) >= 0 && pool.used[pool_index(p)]; }

/* owns() vouches only for live objects, so every free it is handed succeeds. */
static enum heap_status pool_free(void *p, const void *caller)
{
    pool.used[pool_index(p)] = 0;
    pool.frees++;
    pool.caller = caller;
    return HEAP_OK;
}

static size_t pool_size(const void *p) { return pool.size[pool_index(p)]; }

static const struct heap_sampler every_third = {pool_alloc, pool_owns, pool_free, pool_size, 3};

static void sampler_start(const struct heap_sampler *sampler)
{
    memset(&pool, 0, sizeof pool);
    add_blocks(0, MIB);
    heap_set_sampler(sampler);
}

static void the_sampler_is_offered_every_third_call_up_to_a_page(void)
{
    sampler_start(&every_third);
    void *p[9];
    p[0] = kmalloc(10);
    p[1] = kmalloc(20);
    p[2] = allocate_here(30);                       /* the third: offered */
    CHECK_EQ(pool.offers, 1);
    CHECK_EQ(pool.offered[0], 30);
    CHECK(pool_owns(p[2]) && NEAR(pool.caller, allocate_here));
    CHECK(!pool_owns(p[0]) && !pool_owns(p[1]));
    CHECK(kmalloc(0) == NULL && kmalloc(PAGE + 1) != NULL);    /* neither counts */
    p[3] = kcalloc(4, 10);
    p[4] = krealloc(NULL, 50);
    p[5] = kmalloc(PAGE);                           /* a page at most: offered */
    CHECK_EQ(pool.offers, 2);
    CHECK_EQ(pool.offered[1], PAGE);
    p[6] = kcalloc(2, 30);
    p[7] = kcalloc(1, 70);
    p[8] = krealloc(NULL, 80);
    CHECK(pool_owns(p[8]) && all_bytes(p[7], 70, 0));
    CHECK_EQ(pool.offered[2], 80);
    CHECK_EQ(stats_now().sampled_allocations, 3);
    CHECK(heap_check() == 0);
}

static void kfree_ksize_and_krealloc_ask_the_sampler_first(void)
{
    static const struct heap_sampler every_call = {pool_alloc, pool_owns, pool_free, pool_size, 1};

    sampler_start(&every_call);
    unsigned char *a = kmalloc(40), *b = kmalloc(60), *c = kmalloc(80), *d = kmalloc(16);
    CHECK(pool_owns(a) && pool_owns(b) && pool_owns(c) && pool_owns(d));
    CHECK_EQ(ksize(b), 60);
    fill(b, 60, 1);
    free_here(a);
    CHECK(!pool_owns(a) && NEAR(pool.caller, free_here));
    unsigned char *moved = krealloc(b, 100);        /* into the heap, never sampled */
    CHECK(moved != NULL && !pool_owns(moved) && heap_block_of(moved) != 0);
    CHECK(filled(moved, 60, 1) && !pool_owns(b));
    fill(c, 80, 2);
    unsigned char *smaller = krealloc(c, 30);
    CHECK(filled(smaller, 30, 2) && !pool_owns(c));
    CHECK(krealloc(d, 0) == NULL && !pool_owns(d));
    unsigned char *e = kmalloc(8);
    CHECK(pool_owns(e) && heap_free(e) == HEAP_OK && !pool_owns(e));
    CHECK_EQ(pool.frees, 5);
    CHECK_EQ(stats_now().refused_frees, 0);
    CHECK_EQ(stats_now().failed_allocations, 0);
    CHECK(heap_check() == 0);
}

/* A pool that owns its freed slots too, as guard.c's does: freeing one again is its refusal. */
static int pool_holds(const void *p) { return pool_index(p) >= 0; }

static enum heap_status pool_free_once(void *p, const void *caller)
{
    return pool.used[pool_index(p)] ? pool_free(p, caller) : HEAP_DOUBLE_FREE;
}

static size_t pool_live_size(const void *p) { return pool.used[pool_index(p)] ? pool_size(p) : 0; }

static const struct heap_sampler keeping = {pool_alloc, pool_holds, pool_free_once, pool_live_size,
                                            1};

static void a_samplers_refusal_is_counted_and_reported_as_the_calls_own(void)
{
    sampler_start(&keeping);
    unsigned char *p = kmalloc(40);
    CHECK(pool_owns(p));
    kfree(p);
    struct heap_stats before = stats_now();
    CHECK_EQ(heap_free(p), HEAP_DOUBLE_FREE);       /* counted, no handler */
    CHECK_EQ(refusal.calls, 0);
    kfree(p);
    CHECK(refusal.calls == 1 && refusal.ptr == p && refusal.why == HEAP_DOUBLE_FREE);
    CHECK(strcmp(refusal.function, "kfree") == 0 && refusal.cache == NULL);
    CHECK(krealloc(p, 100) == NULL);                /* refused: nothing allocated */
    CHECK(refusal.calls == 2 && refusal.ptr == p && refusal.why == HEAP_DOUBLE_FREE);
    CHECK(strcmp(refusal.function, "krealloc") == 0);
    CHECK_EQ(stats_now().refused_frees, before.refused_frees + 3);
    CHECK_EQ(stats_now().allocations, before.allocations);
    CHECK_EQ(pool.frees, 1);
    CHECK(heap_check() == 0);
}

static void krealloc_of_a_sampled_object_the_heap_cannot_move_keeps_it(void)
{
    sampler_start(&keeping);
    unsigned char *p = kmalloc(40);
    CHECK(pool_owns(p));
    fill(p, 40, 3);
    CHECK(krealloc(p, 2 * MIB) == NULL);            /* more than the 1 MiB heap holds */
    CHECK(pool_owns(p) && filled(p, 40, 3));
    CHECK_EQ(stats_now().failed_allocations, 1);
    CHECK_EQ(pool.frees, 0);
    CHECK_EQ(refusal.calls, 0);
}

static void a_sampler_that_declines_leaves_the_call_to_the_heap(void)
{
    static const struct heap_sampler full = {pool_alloc, pool_owns, pool_free, pool_size, 1};

    sampler_start(&full);
    for (int i = 0; i < POOL_OBJECTS; i++)
        kmalloc(8);
    unsigned char *p = kmalloc(8);                  /* the pool is full: the heap serves it */
    CHECK(p != NULL && !pool_owns(p) && heap_block_of(p) != 0);
    CHECK_EQ(pool.offers, POOL_OBJECTS + 1);
    kfree(p);
    CHECK_EQ(stats_now().frees, 1);
    unsigned char *q = krealloc(kmalloc(8), 20);    /* a heap block's krealloc: the heap's */
    CHECK(q != NULL && !pool_owns(q));
}

static void unsampled_and_page_allocations_are_never_offered(void)
{
    static const struct heap_sampler every_call = {pool_alloc, pool_owns, pool_free, pool_size, 1};

    sampler_start(&every_call);
    CHECK(heap_alloc_unsampled(8) != NULL);
    CHECK(heap_alloc_pages(0) != NULL);
    CHECK(krealloc(heap_alloc_unsampled(8), 16) != NULL);   /* a move is no new allocation */
    CHECK_EQ(pool.offers, 0);
    heap_free_pages(heap_alloc_pages(1));
    CHECK_EQ(stats_now().frees, 1);
    CHECK(kmalloc(8) != NULL);
    CHECK_EQ(pool.offers, 1);
}

static void no_sampler_is_offered_anything_once_it_is_unset_or_every_is_0(void)
{
    static const struct heap_sampler never = {pool_alloc, pool_owns, pool_free, pool_size, 0};

    sampler_start(&never);
    for (int i = 0; i < 10; i++)
        kmalloc(8);
    CHECK_EQ(pool.offers, 0);
    heap_set_sampler(&every_third);
    heap_set_sampler(NULL);
    for (int i = 0; i < 10; i++)
        kmalloc(8);
    heap_set_sampler(&every_third);
    heap_init();                                    /* forgets the sampler too */
    add_blocks(0, 64 * KIB);
    for (int i = 0; i < 10; i++)
        kmalloc(8);
    CHECK_EQ(pool.offers, 0);
}

static void the_sampler_and_debug_mode_work_together(void)
{
    heap_set_debug(HEAP_DEBUG_ALL);
    sampler_start(&every_third);
    unsigned char *p = kmalloc(8), *q = kmalloc(8), *s = kmalloc(8);
    CHECK(pool_owns(s) && !pool_owns(p));
    CHECK_EQ(ksize(p), 8);
    kfree(s);
    kfree(q);
    CHECK(!pool_owns(s));
    CHECK_EQ(state_of(q), HEAP_BLOCK_QUARANTINED);
    CHECK(heap_check() == 0);
}

#define T(name) TEST_ENTRY(name)
const struct test debug_tests[] = {
    T(debugging_is_off_until_heap_set_debug_and_after_heap_init),
    T(heap_set_debug_takes_known_flags_only_and_only_before_the_first_region),
    T(with_debugging_off_every_call_gives_the_same_pointers_and_bytes_as_before),
    T(with_debugging_off_a_block_has_no_extra_bytes),
    T(debug_mode_gives_each_request_room_for_its_trailer_and_a_red_zone_byte),
    T(debug_mode_refuses_requests_too_large_for_the_slack),
    T(a_quarantined_block_reads_0x6b_and_its_last_byte_0xa5),
    T(regions_are_poisoned_when_added_and_free_blocks_stay_poison),
    T(a_write_after_free_is_reported_when_kmalloc_hands_the_block_out_again),
    T(a_write_after_free_in_the_quarantine_is_reported_with_both_callers),
    T(a_changed_last_byte_is_reported_as_not_0xa5),
    T(a_write_after_free_of_a_page_run_is_found_at_merge_and_at_hand_out),
    T(a_header_left_by_a_merge_is_no_damage_but_a_write_beside_it_is),
    T(the_red_zone_reads_0xcc_from_the_request_to_the_trailer),
    T(a_write_past_the_request_is_reported_by_kfree_and_the_block_still_freed),
    T(a_write_past_a_page_run_is_reported_too),
    T(krealloc_in_debug_mode_moves_the_block_and_reports_its_red_zone),
    T(a_failed_krealloc_in_debug_mode_reports_the_red_zone_and_keeps_the_block),
    T(kcalloc_in_debug_mode_zeroes_the_request_and_keeps_the_red_zone),
    T(under_poison_alone_a_write_past_the_request_goes_unreported),
    T(under_red_zones_alone_a_freed_block_is_reused_at_once_unpoisoned),
    T(under_the_quarantine_alone_a_freed_block_waits_with_its_bytes),
    T(each_combination_of_flags_reports_exactly_what_it_watches),
    T(reports_are_counted_without_a_handler),
    T(quarantined_blocks_are_on_no_free_list_and_walk_as_2),
    T(freeing_a_quarantined_block_again_is_a_double_free),
    T(the_quarantine_holds_at_most_its_count_and_lets_the_oldest_go_first),
    T(the_quarantine_holds_at_most_a_32nd_of_the_heap),
    T(kmalloc_lets_the_quarantine_drain_before_it_fails),
    T(heavy_churn_never_fails_for_lack_of_memory_in_the_quarantine),
    T(heap_check_reports_a_quarantined_block_the_quarantine_does_not_hold),
    T(heap_check_reports_a_debug_request_with_no_room_for_its_slack),
    T(heap_block_info_describes_the_block_holding_any_address),
    T(heap_block_info_knows_no_block_outside_the_blocks),
    T(heap_block_info_is_not_fooled_by_entries_merges_left_behind),
    T(heap_block_info_finds_small_blocks_in_a_region_without_a_table),
    T(heap_block_info_finds_nothing_past_a_corrupted_header),
    T(heap_block_info_gives_callers_and_quarantine_in_debug_mode),
    T(the_sampler_is_offered_every_third_call_up_to_a_page),
    T(kfree_ksize_and_krealloc_ask_the_sampler_first),
    T(a_samplers_refusal_is_counted_and_reported_as_the_calls_own),
    T(krealloc_of_a_sampled_object_the_heap_cannot_move_keeps_it),
    T(a_sampler_that_declines_leaves_the_call_to_the_heap),
    T(unsampled_and_page_allocations_are_never_offered),
    T(no_sampler_is_offered_anything_once_it_is_unset_or_every_is_0),
    T(the_sampler_and_debug_mode_work_together),
};
const size_t debug_test_count = sizeof debug_tests / sizeof debug_tests[0];
