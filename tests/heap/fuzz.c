/*
 * fuzz.c - a libFuzzer target: each input becomes heap operations on a fresh
 * heap over a static arena, every one checked by the reference model
 * (model.c) and followed by heap_check; then the same input once more with
 * HEAP_DEBUG_ALL. A violation prints what broke and aborts, and libFuzzer
 * keeps the input. Build with clang -fsanitize=fuzzer,address,undefined;
 * tests/heap/stress.mk knows how.
 *
 * Input: byte 0 picks the layout, bytes 1 and 2 shift and trim it. Then each
 * operation is one byte (kind in the low 3 bits, variant above) followed by
 * its arguments: an index or count (1 byte), a size (2 bytes), a choice (4).
 * Sizes reach 4 MiB, so small blocks, page blocks and page runs all occur.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sanitizer/asan_interface.h>

#include "memory/heap.h"
#include "model.h"
#include "../lib/fuzz_input.h"

#define ARENA_BYTES ((size_t)4 << 20)
#define LIVE_CAPACITY 64
#define DEBUG_CHECK_EVERY 16    /* operations between full checks in debug mode (each reads all) */

static _Alignas(ARENA_BYTES) unsigned char arena[ARENA_BYTES];

/* ---- the layout ---------------------------------------------------------------- */

/*
 * Byte 0 mod 4: one aligned region; two regions with a hole; one region at
 * an odd address with an odd length; a tiny region. shift and trim move the
 * edges. Bytes outside the regions are poisoned: the heap may not read them.
 */
static void layout_install(struct input *in, unsigned debug)
{
    uintptr_t start, end;
    uint8_t kind = input_byte(in), shift = input_byte(in);
    size_t trim = 64 * (size_t)input_byte(in), half = ARENA_BYTES / 2;

    heap_init();
    heap_set_debug(debug);
    ASAN_UNPOISON_MEMORY_REGION(arena, ARENA_BYTES);
    switch (kind % 4) {
    case 0: heap_add_region(arena, ARENA_BYTES - trim); break;
    case 1:
        heap_add_region(arena + half + 16 * (size_t)shift, half - 16 * (size_t)shift);
        heap_add_region(arena + shift, half - trim - shift);
        break;
    case 2: heap_add_region(arena + shift, ARENA_BYTES - trim - shift); break;
    default: heap_add_region(arena + shift, 256 + trim / 4); break;
    }
    ASAN_POISON_MEMORY_REGION(arena, ARENA_BYTES);
    for (unsigned i = 0; heap_region(i, &start, &end); i++)
        ASAN_UNPOISON_MEMORY_REGION((void *)start, end - start);
}

/* ---- decoding sizes and operations --------------------------------------------- */

/* Sizes a heap must answer with care: none fits, or exactly the largest free block, or one more. */
static size_t edge_size(uint16_t v)
{
    struct heap_stats s;

    heap_get_stats(&s);
    size_t header = HEAP_HEADER_BYTES;
    size_t largest = s.largest_free_block == 0 ? 0 : s.largest_free_block - header;
    const size_t sizes[] = {SIZE_MAX, HEAP_MAX_REQUEST, HEAP_MAX_REQUEST + 1, ARENA_BYTES,
                            largest, largest + 1};
    return sizes[v % (sizeof sizes / sizeof sizes[0])];
}

/*
 * The top 2 bits pick the range: up to 255 bytes, 16 KiB, 4 MiB (10 bits
 * shifted by 0 to 12: as many sizes per doubling), or an edge size.
 */
static size_t input_size(struct input *in)
{
    uint16_t v = input_u16(in);

    switch (v >> 14) {
    case 0: return v & 0xff;
    case 1: return v & 0x3fff;
    case 2: return (size_t)(v & 0x3ff) << ((v >> 10) & 0xf) % 13;
    default: return edge_size(v);
    }
}

/* Pairs whose product overflows size_t (wrapping to 16, 32, huge and 0). */
static void calloc_overflowing(struct model *m, uint8_t which)
{
    static const size_t pairs[][2] = {{SIZE_MAX / 16 + 2, 16}, {24, SIZE_MAX / 24 + 2},
                                      {SIZE_MAX / 3, 4}, {2, SIZE_MAX / 2 + 1}};

    model_calloc(m, pairs[which % 4][0], pairs[which % 4][1]);
}

/*
 * One operation. Low 3 bits: 0-1 kmalloc, 2 kcalloc, 3 free, 4 krealloc,
 * 5 krealloc(NULL), 6 a bad free, 7 by the upper bits mod 4: free everything
 * (the heap must be back to its start), mark a block as a slab, unmark one,
 * or free NULL. The upper bits pick the free route or the bad free's kind.
 */
static void operation(struct model *m, struct input *in)
{
    uint8_t op = input_byte(in), variant = op >> 3;
    enum model_route route = (enum model_route)(variant % MODEL_ROUTES);

    switch (op & 7) {
    case 0:
    case 1: model_malloc(m, input_size(in)); break;
    case 2:
        if (variant & 16)
            calloc_overflowing(m, variant);
        else
            model_calloc(m, input_byte(in), input_size(in));
        break;
    case 3: model_free(m, input_byte(in), route); break;
    case 4: model_realloc(m, input_byte(in), input_size(in)); break;
    case 5: model_realloc_null(m, input_size(in)); break;
    case 6:
        model_bad_free(m, (enum model_bad_free)(variant % MODEL_BAD_FREES), input_u32(in),
                       (enum model_route)((variant >> 3) % MODEL_ROUTES));
        break;
    default:
        if (variant % 4 == 0)
            model_free_all(m);
        else if (variant % 4 == 3)
            model_free_null(m, route);
        else
            model_mark_slab(m, input_byte(in), variant % 4 == 1, input_u32(in));
        break;
    }
}

static void violation(const struct model *m, unsigned debug)
{
    fprintf(stderr, "heap fuzz%s: %s\n", debug != 0 ? " with HEAP_DEBUG_ALL" : "", m->failure);
    abort();
}

/* The whole input as operations on a fresh heap, in a debug mode (0: off). */
static void run_input(const uint8_t *data, size_t size, unsigned debug)
{
    struct input in = {data, size, 0};
    struct model m;

    layout_install(&in, debug);
    model_start(&m, LIVE_CAPACITY);
    m.dense_bytes = 4096;       /* blocks of MiBs checked densely would slow the search down */
    m.check_after_bad_free = debug == 0;
    for (unsigned n = 1; in.at < in.size; n++) {
        operation(&m, &in);
        bool check = debug == 0 || n % DEBUG_CHECK_EVERY == 0;
        if (m.failure[0] != '\0' || (check && !model_check(&m)))
            violation(&m, debug);
    }
    if (!model_finish(&m))
        violation(&m, debug);
    ASAN_UNPOISON_MEMORY_REGION(arena, ARENA_BYTES);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run_input(data, size, 0);
    run_input(data, size, HEAP_DEBUG_ALL);
    return 0;
}
