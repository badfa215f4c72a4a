/*
 * unit.c - host unit tests of src/memory/leak.c, the leak scan. The core
 * runs over blocks carved from a static arena, with pointers written into
 * their payloads and into root arrays; a random graph is checked against a
 * breadth-first search done here. The heap tests gather the live blocks of
 * the real heap (src/memory/heap.c) and drop pointers to some of them: the
 * scan must name exactly those. Prints a line per test, then "N passed, N failed".
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/check.h"
#include "memory/heap.h"
#include "memory/leak.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define CHUNK 64                        /* bytes of one test block */
#define HEADER 8                        /* a test block's payload starts this far in */
#define CHUNKS 2048
#define WORDS_PER_BLOCK ((CHUNK - HEADER) / sizeof(uintptr_t))

static _Alignas(64) unsigned char arena[CHUNKS * CHUNK];
static struct leak_block blocks[CHUNKS];
static uintptr_t roots_memory[CHUNKS];
static struct leak_result result;

static void before(void)
{
    memset(arena, 0, sizeof(arena));
    memset(blocks, 0, sizeof(blocks));
    memset(roots_memory, 0, sizeof(roots_memory));
    memset(&result, 0, sizeof(result));
}

static uintptr_t chunk(size_t i) { return (uintptr_t)arena + i * CHUNK; }

/* Block i: chunk i of the arena, its payload after an 8-byte "header". */
static struct leak_block block(size_t i, enum leak_kind kind)
{
    return (struct leak_block){ .start = chunk(i), .end = chunk(i) + CHUNK,
                                .payload = chunk(i) + HEADER, .size = CHUNK - HEADER,
                                .alloc_caller = (void *)(i + 1), .kind = (uint8_t)kind };
}

static void make_blocks(size_t count)
{
    for (size_t i = 0; i < count; i++)
        blocks[i] = block(i, LEAK_CANDIDATE);
}

/* Write value into word `word` of block i's payload. */
static void store(size_t i, size_t word, uintptr_t value)
{
    memcpy((void *)(chunk(i) + HEADER + word * sizeof(uintptr_t)), &value, sizeof value);
}

/* The verdict for the block that starts at chunk i (the scan sorts the array). */
static int referenced(size_t i, size_t count)
{
    for (size_t b = 0; b < count; b++)
        if (blocks[b].start == chunk(i))
            return blocks[b].referenced;
    CHECK(!"no block starts at that chunk");
    return -1;
}

static enum leak_status scan(size_t count, size_t root_words)
{
    struct leak_range root = { (uintptr_t)roots_memory, (uintptr_t)(roots_memory + root_words) };

    return leak_scan(blocks, count, &root, 1, &result);
}

/* ---- what references a block ------------------------------------------------------------ */

static void a_block_no_root_refers_to_is_reported(void)
{
    make_blocks(1);
    CHECK_EQ(scan(1, 0), LEAK_OK);
    CHECK_EQ(referenced(0, 1), 0);
    CHECK_EQ(result.unreferenced, 1);
    CHECK_EQ(result.unreferenced_bytes, CHUNK - HEADER);
}

static void a_root_word_pointing_to_a_blocks_start_references_it(void)
{
    make_blocks(3);
    roots_memory[0] = chunk(1);
    CHECK_EQ(scan(3, 1), LEAK_OK);
    CHECK_EQ(referenced(0, 3), 0);
    CHECK_EQ(referenced(1, 3), 1);
    CHECK_EQ(referenced(2, 3), 0);
    CHECK_EQ(result.unreferenced, 2);
}

static void a_word_inside_a_block_references_it_and_one_just_past_its_end_does_not(void)
{
    make_blocks(3);
    blocks[1].end = chunk(1) + CHUNK - 8;           /* a gap before block 2 */
    blocks[1].size = CHUNK - HEADER - 8;
    roots_memory[0] = chunk(0) + CHUNK - 1;         /* the last byte of block 0 */
    roots_memory[1] = chunk(1) + CHUNK - 8;         /* just past block 1: in the gap */
    CHECK_EQ(scan(3, 2), LEAK_OK);
    CHECK_EQ(referenced(0, 3), 1);
    CHECK_EQ(referenced(1, 3), 0);
    CHECK_EQ(referenced(2, 3), 0);
}

static void blocks_reached_through_a_chain_of_blocks_are_referenced(void)
{
    make_blocks(500);
    for (size_t i = 0; i + 1 < 500; i++)
        store(i, WORDS_PER_BLOCK - 1, chunk(i + 1) + 20);
    roots_memory[0] = chunk(0);
    CHECK_EQ(scan(500, 1), LEAK_OK);
    CHECK_EQ(result.unreferenced, 0);
    store(249, WORDS_PER_BLOCK - 1, 0);             /* cut the chain in the middle */
    CHECK_EQ(scan(500, 1), LEAK_OK);
    CHECK_EQ(result.unreferenced, 250);
    CHECK_EQ(referenced(249, 500), 1);
    CHECK_EQ(referenced(250, 500), 0);
}

static void a_cycle_nobody_else_refers_to_is_reported_whole(void)
{
    make_blocks(4);
    store(0, 0, chunk(1));
    store(1, 0, chunk(2));
    store(2, 0, chunk(0));
    roots_memory[0] = chunk(3);
    CHECK_EQ(scan(4, 1), LEAK_OK);
    CHECK_EQ(result.unreferenced, 3);
    CHECK_EQ(referenced(3, 4), 1);
}

static void a_no_scan_block_is_referenced_but_what_it_points_to_is_not(void)
{
    make_blocks(2);
    blocks[0].kind = LEAK_NO_SCAN;
    store(0, 0, chunk(1));
    roots_memory[0] = chunk(0);
    CHECK_EQ(scan(2, 1), LEAK_OK);
    CHECK_EQ(referenced(0, 2), 1);
    CHECK_EQ(referenced(1, 2), 0);
}

static void a_root_block_is_never_reported_and_what_it_points_to_is_referenced(void)
{
    make_blocks(3);
    blocks[0].kind = LEAK_ROOT;
    store(0, 2, chunk(2));
    CHECK_EQ(scan(3, 0), LEAK_OK);
    CHECK_EQ(referenced(0, 3), 1);
    CHECK_EQ(referenced(1, 3), 0);
    CHECK_EQ(referenced(2, 3), 1);
    CHECK_EQ(result.unreferenced, 1);
}

static void only_the_payload_of_a_block_is_scanned(void)
{
    make_blocks(3);
    uintptr_t in_header = chunk(1);
    memcpy((void *)chunk(0), &in_header, sizeof in_header);     /* before block 0's payload */
    blocks[0].size = 2 * sizeof(uintptr_t);
    store(0, 3, chunk(2));                                      /* after its payload's end */
    roots_memory[0] = chunk(0);
    CHECK_EQ(scan(3, 1), LEAK_OK);
    CHECK_EQ(referenced(1, 3), 0);
    CHECK_EQ(referenced(2, 3), 0);
}

static void a_pointer_stored_at_an_unaligned_address_is_not_seen(void)
{
    unsigned char *roots = (unsigned char *)roots_memory;
    uintptr_t value = chunk(0);

    make_blocks(1);
    memcpy(roots + 1, &value, sizeof value);
    CHECK_EQ(scan(1, 2), LEAK_OK);
    CHECK_EQ(referenced(0, 1), 0);
    struct leak_range odd = { (uintptr_t)roots + 1, (uintptr_t)roots + 1 + sizeof value };
    CHECK_EQ(leak_scan(blocks, 1, &odd, 1, &result), LEAK_OK);  /* no whole aligned word inside */
    CHECK_EQ(result.scanned_bytes, 0);
    CHECK_EQ(referenced(0, 1), 0);
}

static void blocks_given_in_any_order_are_sorted_and_judged_the_same(void)
{
    for (size_t i = 0; i < 100; i++)
        blocks[i] = block(99 - i, LEAK_CANDIDATE);
    for (size_t i = 0; i < 100; i += 3)
        roots_memory[i / 3] = chunk(i) + 5;
    CHECK_EQ(scan(100, 34), LEAK_OK);
    for (size_t i = 0; i < 100; i++) {
        CHECK(blocks[i].start < (i + 1 < 100 ? blocks[i + 1].start : UINTPTR_MAX));
        CHECK_EQ(referenced(i, 100), i % 3 == 0);
    }
    CHECK_EQ(result.unreferenced, 66);
}

/* ---- refusals --------------------------------------------------------------------------- */

static void overlapping_blocks_are_refused_and_nothing_is_judged(void)
{
    make_blocks(3);
    blocks[2].start = chunk(1) + 8;
    blocks[2].payload = chunk(1) + 16;
    blocks[0].referenced = blocks[1].referenced = blocks[2].referenced = 7;
    CHECK_EQ(scan(3, 0), LEAK_OVERLAP);
    CHECK_EQ(blocks[result.problem].start, chunk(1) + 8);
    CHECK_EQ(blocks[0].referenced + blocks[1].referenced + blocks[2].referenced, 21);
    CHECK_EQ(result.unreferenced, 0);
}

static void a_block_with_its_payload_outside_it_is_refused(void)
{
    make_blocks(2);
    blocks[1].size = CHUNK;                         /* payload + size runs past end */
    CHECK_EQ(scan(2, 0), LEAK_BAD_BLOCK);
    CHECK_EQ(result.problem, 1);
    make_blocks(2);
    blocks[0].end = blocks[0].start;
    CHECK_EQ(scan(2, 0), LEAK_BAD_BLOCK);
    CHECK_EQ(result.problem, 0);
}

static void a_root_that_ends_before_it_starts_is_refused(void)
{
    struct leak_range roots[] = { { chunk(0), chunk(1) }, { chunk(2), chunk(1) } };

    make_blocks(1);
    CHECK_EQ(leak_scan(blocks, 1, roots, 2, &result), LEAK_BAD_RANGE);
    CHECK_EQ(result.problem, 1);
    CHECK(strstr(leak_status_name(LEAK_BAD_RANGE), "root") != NULL);
}

/* ---- a random graph, against a breadth-first search --------------------------------------- */

static uint32_t random_state = 0x1eaf5eed;

static uint32_t random_next(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 17;
    random_state ^= random_state << 5;
    return random_state;
}

static bool reached[CHUNKS];
static size_t edges[CHUNKS][WORDS_PER_BLOCK];     /* CHUNKS: no edge */

static void search_from(size_t first)
{
    static size_t queue[CHUNKS];
    size_t head = 0, tail = 0;

    if (reached[first])
        return;
    reached[first] = true;
    queue[tail++] = first;
    while (head < tail) {
        size_t i = queue[head++];
        for (size_t w = 0; w < WORDS_PER_BLOCK; w++) {
            size_t j = edges[i][w];
            if (j < CHUNKS && !reached[j]) {
                reached[j] = true;
                queue[tail++] = j;
            }
        }
    }
}

/* Each block points to up to two random others (inside them, anywhere), a few roots to some. */
static void make_random_graph(size_t count, size_t root_words)
{
    memset(reached, 0, sizeof(reached));
    for (size_t i = 0; i < count; i++) {
        for (size_t w = 0; w < WORDS_PER_BLOCK; w++) {
            edges[i][w] = w < 2 && random_next() % 4 == 0 ? random_next() % count : CHUNKS;
            if (edges[i][w] < CHUNKS)
                store(i, w, chunk(edges[i][w]) + random_next() % CHUNK);
            else
                store(i, w, random_next() % 2 ? 0 : (uintptr_t)random_next());  /* noise */
        }
    }
    for (size_t r = 0; r < root_words; r++) {
        size_t target = random_next() % count;
        roots_memory[r] = chunk(target) + random_next() % CHUNK;
        search_from(target);
    }
}

static void a_random_graph_leaves_exactly_the_blocks_no_root_reaches_unreferenced(void)
{
    for (int round = 0; round < 20; round++) {
        before();
        size_t count = 200 + random_next() % (CHUNKS - 200), roots = 1 + random_next() % 40;
        make_blocks(count);
        make_random_graph(count, roots);
        CHECK_EQ(scan(count, roots), LEAK_OK);
        size_t expected = 0;
        for (size_t i = 0; i < count; i++) {
            CHECK_EQ(referenced(i, count), reached[i]);
            expected += !reached[i];
        }
        CHECK_EQ(result.unreferenced, expected);
    }
}

/* ---- the real heap ------------------------------------------------------------------------ */

#define HEAP_ARENA_BYTES ((size_t)4 << 20)
#define LIVE 400

static _Alignas(4096) unsigned char heap_arena[HEAP_ARENA_BYTES];
static void *live[LIVE];                /* the "kernel's" pointers: the scan's root */
static size_t live_size[LIVE];
static struct leak_block gathered[LIVE + 16];

static void heap_with_live_blocks(void)
{
    heap_init();
    CHECK(heap_add_region(heap_arena, HEAP_ARENA_BYTES) > 0);
    for (size_t i = 0; i < LIVE; i++) {
        size_t size = random_next() % 8 == 0 ? 4096 + random_next() % 20000
                                             : 1 + random_next() % 1000;
        live[i] = kmalloc(size);
        live_size[i] = size;
        CHECK(live[i] != NULL);
        memset(live[i], 0, size);
    }
}

static size_t gather_and_scan(void)
{
    struct leak_range root = { (uintptr_t)live, (uintptr_t)(live + LIVE) };
    size_t count = leak_gather_heap(gathered, COUNT(gathered), NULL, NULL);

    CHECK(count <= COUNT(gathered));
    CHECK_EQ(leak_scan(gathered, count, &root, 1, &result), LEAK_OK);
    return count;
}

static bool reported(const void *payload, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (gathered[i].payload == (uintptr_t)payload)
            return !gathered[i].referenced;
    CHECK(!"a live block the gathering missed");
    return false;
}

static void the_heaps_live_blocks_are_gathered_one_each_with_their_sizes(void)
{
    heap_with_live_blocks();
    size_t count = gather_and_scan();
    CHECK_EQ(count, LIVE);
    CHECK_EQ(result.unreferenced, 0);
    for (size_t i = 0; i < LIVE; i++) {
        size_t b = 0;
        while (b < count && gathered[b].payload != (uintptr_t)live[i])
            b++;
        CHECK(b < count);
        if (b == count)
            continue;
        CHECK_EQ(gathered[b].size, live_size[i]);
        CHECK_EQ(gathered[b].kind, LEAK_CANDIDATE);
        CHECK_EQ(gathered[b].start, heap_block_of(live[i]));
        CHECK(gathered[b].end - gathered[b].payload >= live_size[i]);
    }
}

static void dropping_pointers_to_heap_blocks_reports_exactly_those_blocks(void)
{
    void *dropped[LIVE];
    size_t drops = 0;

    heap_with_live_blocks();
    for (size_t i = 0; i < LIVE; i++) {
        if (random_next() % 5 == 0) {
            dropped[drops++] = live[i];
            live[i] = NULL;
        }
    }
    size_t count = gather_and_scan();
    CHECK_EQ(result.unreferenced, drops);
    for (size_t i = 0; i < drops; i++)
        CHECK(reported(dropped[i], count));
    for (size_t i = 0; i < LIVE; i++)
        CHECK(live[i] == NULL || !reported(live[i], count));
}

static void a_heap_block_kept_only_by_another_heap_block_is_not_reported(void)
{
    heap_with_live_blocks();
    void **holder = live[0];
    holder[0] = (char *)live[1] + 3;                /* inside, not at the start */
    void *kept = live[1];
    live[1] = NULL;
    size_t count = gather_and_scan();
    CHECK_EQ(result.unreferenced, 0);
    holder[0] = NULL;
    count = gather_and_scan();
    CHECK_EQ(result.unreferenced, 1);
    CHECK(reported(kept, count));
}

static void freed_blocks_are_neither_gathered_nor_reported(void)
{
    heap_with_live_blocks();
    for (size_t i = 0; i < LIVE; i += 2) {
        kfree(live[i]);
        live[i] = NULL;
    }
    size_t count = gather_and_scan();
    CHECK_EQ(count, LIVE / 2);
    CHECK_EQ(result.unreferenced, 0);
}

static int skip_page_blocks(const struct heap_block_info *info, void *context)
{
    (*(size_t *)context)++;
    return info->pages != 0 ? LEAK_SKIP : leak_default_kind(info);
}

static void a_classifier_sees_every_live_block_once_and_may_skip_some(void)
{
    size_t asked = 0, pages = 0;

    heap_with_live_blocks();
    for (size_t i = 0; i < LIVE; i++)
        pages += live_size[i] > heap_scale_payload(HEAP_PAGE_SCALE - 1);
    size_t count = leak_gather_heap(gathered, COUNT(gathered), skip_page_blocks, &asked);
    CHECK_EQ(asked, LIVE);
    CHECK_EQ(count, LIVE - pages);
    CHECK(pages > 0);
}

static void gathering_into_too_small_an_array_counts_all_and_stores_what_fits(void)
{
    heap_with_live_blocks();
    gathered[3].start = 0x77;
    CHECK_EQ(leak_gather_heap(gathered, 3, NULL, NULL), LIVE);
    CHECK_EQ(gathered[3].start, 0x77);
}

static const struct test tests[] = {
    TEST_ENTRY(a_block_no_root_refers_to_is_reported),
    TEST_ENTRY(a_root_word_pointing_to_a_blocks_start_references_it),
    TEST_ENTRY(a_word_inside_a_block_references_it_and_one_just_past_its_end_does_not),
    TEST_ENTRY(blocks_reached_through_a_chain_of_blocks_are_referenced),
    TEST_ENTRY(a_cycle_nobody_else_refers_to_is_reported_whole),
    TEST_ENTRY(a_no_scan_block_is_referenced_but_what_it_points_to_is_not),
    TEST_ENTRY(a_root_block_is_never_reported_and_what_it_points_to_is_referenced),
    TEST_ENTRY(only_the_payload_of_a_block_is_scanned),
    TEST_ENTRY(a_pointer_stored_at_an_unaligned_address_is_not_seen),
    TEST_ENTRY(blocks_given_in_any_order_are_sorted_and_judged_the_same),
    TEST_ENTRY(overlapping_blocks_are_refused_and_nothing_is_judged),
    TEST_ENTRY(a_block_with_its_payload_outside_it_is_refused),
    TEST_ENTRY(a_root_that_ends_before_it_starts_is_refused),
    TEST_ENTRY(a_random_graph_leaves_exactly_the_blocks_no_root_reaches_unreferenced),
    TEST_ENTRY(the_heaps_live_blocks_are_gathered_one_each_with_their_sizes),
    TEST_ENTRY(dropping_pointers_to_heap_blocks_reports_exactly_those_blocks),
    TEST_ENTRY(a_heap_block_kept_only_by_another_heap_block_is_not_reported),
    TEST_ENTRY(freed_blocks_are_neither_gathered_nor_reported),
    TEST_ENTRY(a_classifier_sees_every_live_block_once_and_may_skip_some),
    TEST_ENTRY(gathering_into_too_small_an_array_counts_all_and_stores_what_fits),
};

int main(void)
{
    int passed = 0, failed = 0;

    check_run(tests, COUNT(tests), before, NULL, &passed, &failed);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
