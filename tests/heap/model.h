/*
 * model.h - a reference model of the heap, shared by the differential test
 * (differential.c: random operations) and the fuzzer (fuzz.c: operations
 * decoded from bytes). Each model_* call runs one operation on the real heap,
 * predicts what must happen, and checks it: pointers, contents, statistics,
 * refusals, for small blocks and page blocks (slabs too), with debugging off
 * or in whatever debug mode the heap is in (the quarantine's FIFO included).
 * It knows the heap only through memory/heap.h.
 */
#ifndef SHOMPOS_TESTS_HEAP_MODEL_H
#define SHOMPOS_TESTS_HEAP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/heap.h"

#define MODEL_FREED_SLOTS 16

/* A live block: what the caller asked for, its block's bytes, and its pattern's tag. */
struct model_block {
    unsigned char *ptr;
    size_t size;            /* bytes asked for */
    size_t usable;          /* ksize, when it was handed out (0 while it is a slab) */
    size_t block_bytes;     /* the bytes it keeps: a small block's 2^scale, a page block's pages */
    uint64_t tag;
    bool slab;              /* marked with heap_mark_slab */
};

/* How a pointer is handed back: heap_free, kfree, or krealloc(ptr, size). */
enum model_route { MODEL_BY_HEAP_FREE, MODEL_BY_KFREE, MODEL_BY_KREALLOC, MODEL_ROUTES };

/*
 * The kinds of bad free, with the status heap_free must answer (for a small
 * block; a page block's are HEAP_INSIDE_BLOCK, a slab's HEAP_SLAB_MEMORY).
 */
enum model_bad_free {
    MODEL_FREE_TWICE,       /* a pointer freed a moment ago: HEAP_DOUBLE_FREE */
    MODEL_FREE_INTERIOR,    /* a pointer into a live block's contents: HEAP_INVALID_POINTER */
    MODEL_FREE_MISALIGNED,  /* a live pointer moved by 1 to 8 bytes: HEAP_INVALID_POINTER */
    MODEL_FREE_OUTSIDE,     /* a pointer outside every region's blocks: HEAP_INVALID_POINTER */
    MODEL_FREE_DAMAGED,     /* a live block whose header was damaged (then repaired) */
    MODEL_BAD_FREES
};

/* The quarantine as the model predicts it: the blocks freed into it, oldest first. */
struct model_quarantine {
    uintptr_t block[HEAP_QUARANTINE_BLOCKS + 1];    /* one more: a block joins, then one leaves */
    size_t bytes[HEAP_QUARANTINE_BLOCKS + 1];
    unsigned oldest, count;
    size_t total;                       /* bytes of the blocks in it */
};

struct model {
    struct model_block *live;           /* the blocks the heap handed out and not taken back */
    size_t live_count, live_capacity;
    uintptr_t freed[MODEL_FREED_SLOTS]; /* recently freed pointers whose header is untouched */
    unsigned freed_next;
    uint64_t next_tag;
    size_t block_bytes;                 /* bytes in the live blocks, headers included */
    struct heap_stats expected;         /* what heap_get_stats must report */
    size_t start_free_count[HEAP_MAX_SCALE + 1];
    size_t refusals_heard;              /* calls the refusal handler must have had */
    unsigned long operations, bad_frees;
    bool check_after_bad_free;          /* run heap_check after every bad free (default) */
    size_t dense_bytes;                 /* the pattern fills every word of a block's first
                                           dense_bytes, then one word in 64 (SIZE_MAX: all,
                                           the default); only page blocks are large enough to
                                           care, and the heap never reads their payload */
    unsigned debug;                     /* the heap's HEAP_DEBUG_* flags at model_start */
    struct model_quarantine quarantine;
    char failure[320];                  /* the first failure; empty while all is well */
};

/*
 * Start modelling the heap as it stands (regions added, nothing allocated,
 * debugging as heap_set_debug left it), with room for capacity live blocks.
 * Installs a refusal handler and a debug report handler (a report fails).
 */
void model_start(struct model *m, size_t capacity);

/*
 * The operations. Each returns false (and fills m->failure) when the heap
 * did something it must not; once one failed, every later call does nothing
 * and returns false. Allocations do nothing while the table is full, and
 * operations on a live block do nothing while there is none; index is taken
 * modulo the number of live blocks.
 */
bool model_malloc(struct model *m, size_t size);
bool model_calloc(struct model *m, size_t count, size_t size);
bool model_realloc_null(struct model *m, size_t size);          /* krealloc(NULL, size) */
bool model_realloc(struct model *m, size_t index, size_t size); /* size 0 frees */
bool model_free(struct model *m, size_t index, enum model_route route);
bool model_free_null(struct model *m, enum model_route route);  /* nothing happens */

/* A bad free of this kind; choice picks the block, offset and variant. */
bool model_bad_free(struct model *m, enum model_bad_free kind, uint32_t choice,
                    enum model_route route);

/*
 * heap_mark_slab on a live block (index modulo their number): marking when
 * slab, else unmarking; choice picks the block's first page or a later one,
 * and a heap_slab_of probe. Small blocks and wrong pages must be refused.
 */
bool model_mark_slab(struct model *m, size_t index, bool slab, uint32_t choice);

/* heap_check, live blocks pairwise disjoint, every statistic as predicted. */
bool model_check(struct model *m);

/*
 * Free every live block and drain the quarantine; then each free list must
 * be as long as at model_start.
 */
bool model_free_all(struct model *m);

/* model_free_all (unless a failure came first), then release the model. Returns !failed. */
bool model_finish(struct model *m);

#endif
