/*
 * fuzz.c - a libFuzzer target for slab caches: each input becomes cache
 * operations mixed with kmalloc and kfree on a fresh heap over a static
 * arena, each one checked by the slab model (model.c, the one the
 * differential test uses) and followed by heap_check and kmem_cache_check.
 * A violation prints what broke and aborts, and libFuzzer keeps the input.
 * Build with clang -fsanitize=fuzzer,address,undefined; tests/slab/slab.mk
 * knows how (make slab-fuzz replays tests/slab/corpus, then fuzzes a while).
 *
 * Input: byte 0 picks the layout, byte 1 shifts its start, byte 2 trims its
 * end. Then each operation is one byte (kind in the low 3 bits, variant
 * above) followed by its arguments, read only when the kind needs them:
 *
 *   0    kmem_cache_create in slot variant: size (2 bytes), align (1 byte)
 *   1-2  kmem_cache_alloc from slot variant
 *   3    kmem_cache_free of live object (1 byte index)
 *   4    kmalloc (2 bytes: size)       5  kfree of a live block (1 byte index)
 *   6    a bad free of kind variant, the object, cache and offset from 4 bytes
 *   7    by variant mod 4: shrink slot variant / 4, a create the cache must
 *        refuse, free everything back to the start, or a full check
 */
#include <stdio.h>
#include <stdlib.h>

#include <sanitizer/asan_interface.h>

#include "memory/heap.h"
#include "memory/slab.h"
#include "model.h"
#include "../lib/fuzz_input.h"

#define ARENA_BYTES ((size_t)2 << 20)
#define LIVE_OBJECTS 256
#define LIVE_BLOCKS 32

static _Alignas(ARENA_BYTES) unsigned char arena[ARENA_BYTES];

/* ---- the layout ------------------------------------------------------------------ */

/*
 * Byte 0 mod 3: the whole arena; two regions with a hole between them; a
 * small region that runs out after a few slabs. Bytes outside the regions
 * are poisoned: neither the heap nor a cache may touch them.
 */
static void layout_install(struct input *in)
{
    uintptr_t start, end;
    uint8_t kind = input_byte(in), shift = input_byte(in);
    size_t trim = 256 * (size_t)input_byte(in), half = ARENA_BYTES / 2;

    heap_init();
    ASAN_UNPOISON_MEMORY_REGION(arena, ARENA_BYTES);
    switch (kind % 3) {
    case 0: heap_add_region(arena + shift, ARENA_BYTES - trim - shift); break;
    case 1:
        heap_add_region(arena + half + 64 * (size_t)shift, half - 64 * (size_t)shift);
        heap_add_region(arena, half / 2 - trim);
        break;
    default: heap_add_region(arena + 16 * (size_t)shift, 8 * HEAP_PAGE_BYTES + trim); break;
    }
    ASAN_POISON_MEMORY_REGION(arena, ARENA_BYTES);
    for (unsigned i = 0; heap_region(i, &start, &end); i++)
        ASAN_UNPOISON_MEMORY_REGION((void *)start, end - start);
}

/* ---- decoding ---------------------------------------------------------------------- */

/* An object size: the top bit picks 1-256 bytes or 1 to KMEM_CACHE_MAX_SIZE. */
static size_t object_size(uint16_t v)
{
    if (v & 0x8000)
        return 1 + (v & 0x7fff) % KMEM_CACHE_MAX_SIZE;
    return 1 + (v & 0xff);
}

/* An alignment the cache must accept: 0 (its default), or a power of two up to a page. */
static size_t valid_align(uint8_t v)
{
    unsigned shift = v % 14;

    return shift == 13 ? 0 : (size_t)1 << shift;
}

/*
 * A create the cache must refuse, leaving the heap and the list of caches
 * as they were: no name, size 0, one byte too big, alignments that are no
 * power of two or more than a page.
 */
static void create_refused(struct slab_model *m, uint8_t which)
{
    static const struct bad_create { const char *name; size_t size, align; } bad[] = {
        {NULL, 24, 0}, {"zero", 0, 0}, {"big", KMEM_CACHE_MAX_SIZE + 1, 0},
        {"align-3", 24, 3}, {"align-24", 24, 24}, {"align-2-pages", 24, 2 * HEAP_PAGE_BYTES},
    };
    const struct bad_create *b = &bad[which % (sizeof bad / sizeof bad[0])];
    struct heap_stats before, after;
    const struct kmem_cache *list = kmem_caches;

    heap_get_stats(&before);
    struct kmem_cache *c = kmem_cache_create(b->name, b->size, b->align, NULL);
    heap_get_stats(&after);
    if (c != NULL || kmem_caches != list || after.free_bytes != before.free_bytes)
        snprintf(m->failure, sizeof m->failure,
                 "kmem_cache_create(%s, %zu, %zu) was not refused cleanly",
                 b->name == NULL ? "NULL" : b->name, b->size, b->align);
}

static void free_everything(struct slab_model *m)
{
    while (m->object_count != 0 && slab_model_free(m, 0))
        continue;
    while (m->block_count != 0 && slab_model_kfree(m, 0))
        continue;
    for (unsigned s = 0; s < SLAB_MODEL_CACHES; s++)
        slab_model_shrink(m, s);
}

static void seventh(struct slab_model *m, struct input *in, uint8_t variant)
{
    switch (variant % 4) {
    case 0: slab_model_shrink(m, variant / 4); break;
    case 1: create_refused(m, input_byte(in)); break;
    case 2: free_everything(m); break;
    default: slab_model_check(m); break;
    }
}

static void operation(struct slab_model *m, struct input *in)
{
    uint8_t op = input_byte(in), variant = op >> 3;

    switch (op & 7) {
    case 0: {
        size_t size = object_size(input_u16(in));
        slab_model_create(m, variant, size, valid_align(input_byte(in)), variant & 16);
        break;
    }
    case 1:
    case 2: slab_model_alloc(m, variant); break;
    case 3: slab_model_free(m, input_byte(in)); break;
    case 4: slab_model_kmalloc(m, input_u16(in)); break;
    case 5: slab_model_kfree(m, input_byte(in)); break;
    case 6:
        slab_model_bad_free(m, (enum slab_model_bad_free)(variant % SLAB_BAD_FREES),
                            input_u32(in));
        break;
    default: seventh(m, in, variant); break;
    }
}

/* ---- the target ---------------------------------------------------------------------- */

static void violation(const struct slab_model *m)
{
    fprintf(stderr, "slab fuzz: %s\n", m->failure);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size, 0};
    struct slab_model m;

    layout_install(&in);
    slab_model_start(&m, LIVE_OBJECTS, LIVE_BLOCKS);
    while (in.at < in.size) {
        operation(&m, &in);
        if (m.failure[0] != '\0' || !slab_model_check(&m))
            violation(&m);
    }
    if (!slab_model_finish(&m))
        violation(&m);
    ASAN_UNPOISON_MEMORY_REGION(arena, ARENA_BYTES);
    return 0;
}
