/*
 * model.h - a reference model of slab caches mixed with kmalloc, for the
 * randomized differential test (differential.c) and for a fuzzer that turns
 * bytes into the same operations. Each slab_model_* call runs one operation
 * on the real slab.c and heap.c, predicts what must happen and checks it:
 * pointers, object contents (constructed state, patterns), statistics,
 * refusals. It knows them only through memory/slab.h and memory/heap.h.
 */
#ifndef SHOMPOS_TESTS_SLAB_MODEL_H
#define SHOMPOS_TESTS_SLAB_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/heap.h"
#include "memory/slab.h"

#define SLAB_MODEL_CACHES 12        /* cache slots; each holds a cache or none */
#define SLAB_MODEL_FREED 16         /* recently freed objects kept for double frees */

/* A live object of the cache in slot `slot`, with its pattern's tag. */
struct slab_model_object {
    unsigned char *ptr;
    unsigned slot;
    uint32_t tag;
};

/* A live kmalloc block. */
struct slab_model_block {
    unsigned char *ptr;
    size_t size;
    uint32_t tag;
};

/* An object freed a moment ago (ptr 0: no entry). */
struct slab_model_freed {
    uintptr_t ptr;
    unsigned slot;
};

/* What a slot's cache must report, as the model counts it. */
struct slab_model_cache {
    struct kmem_cache *cache;       /* NULL: the slot is empty */
    size_t size, align;
    bool has_ctor;
    size_t live, allocations, frees, failed, refused;
    size_t constructed;             /* constructor calls */
};

/* The kinds of bad free, each with the status it must be refused with. */
enum slab_model_bad_free {
    SLAB_FREE_TWICE,            /* an object freed a moment ago: HEAP_DOUBLE_FREE */
    SLAB_FREE_WRONG_CACHE,      /* a live object given to another cache: HEAP_WRONG_CACHE */
    SLAB_FREE_INTERIOR,         /* inside a live object: HEAP_NOT_AN_OBJECT */
    SLAB_FREE_KMALLOC_BLOCK,    /* a kmalloc block given to a cache: HEAP_NOT_AN_OBJECT */
    SLAB_FREE_OUTSIDE,          /* a pointer outside the heap: HEAP_NOT_AN_OBJECT */
    SLAB_FREE_NO_CACHE,         /* a live object with cache NULL: HEAP_NOT_AN_OBJECT */
    SLAB_KFREE_OBJECT,          /* kfree of a live object: HEAP_SLAB_MEMORY */
    SLAB_KREALLOC_OBJECT,       /* krealloc of a live object: NULL and HEAP_SLAB_MEMORY */
    SLAB_BAD_FREES
};

struct slab_model {
    struct slab_model_cache caches[SLAB_MODEL_CACHES];
    struct slab_model_object *objects;
    size_t object_count, object_capacity;
    struct slab_model_block *blocks;
    size_t block_count, block_capacity;
    struct slab_model_freed freed[SLAB_MODEL_FREED];
    unsigned freed_next;
    uint32_t next_tag;
    size_t start_free_bytes;        /* the heap's free bytes when the model started */
    size_t refusals_heard;          /* calls the heap's refusal handler must have had */
    size_t heap_refusals;           /* what the heap's refused_frees must be */
    unsigned long operations, bad_frees, failed_allocations;
    char failure[320];              /* the first failure; empty while all is well */
};

/*
 * Start modelling a heap that has its regions and nothing allocated: no
 * caches, room for the given numbers of live objects and kmalloc blocks.
 * Installs the heap's refusal handler. One model at a time.
 */
void slab_model_start(struct slab_model *m, size_t objects, size_t blocks);

/*
 * The operations. Each returns false (and fills m->failure) when the slab
 * code or the heap did something it must not; after a failure every call
 * does nothing and returns false. Indices are taken modulo the number of
 * live objects, blocks or slots; an operation with nothing to act on, or
 * no room in the model's tables, does nothing.
 */
bool slab_model_create(struct slab_model *m, unsigned slot, size_t size, size_t align,
                       bool ctor);                  /* destroys what the slot held first */
bool slab_model_alloc(struct slab_model *m, unsigned slot);
bool slab_model_free(struct slab_model *m, size_t index);
bool slab_model_kmalloc(struct slab_model *m, size_t size);
bool slab_model_kfree(struct slab_model *m, size_t index);
bool slab_model_shrink(struct slab_model *m, unsigned slot);

/* A bad free of this kind; choice picks the object, block, cache and offset. */
bool slab_model_bad_free(struct slab_model *m, enum slab_model_bad_free kind, uint32_t choice);

/* heap_check, kmem_cache_check, every statistic as predicted, live memory disjoint. */
bool slab_model_check(struct slab_model *m);

/*
 * Free everything, destroy every cache, and check that the heap's free bytes
 * are back to their value at slab_model_start. Frees the model's tables.
 */
bool slab_model_finish(struct slab_model *m);

#endif
