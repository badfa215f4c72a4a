/*
 * badfrees.c - key q: nine bad frees and a bad destroy, each refused.
 * kfree, kmem_cache_free and kmem_cache_destroy prove a pointer before they
 * write through it; when they refuse one, their handlers (kernel.c) print
 * the call, the pointer, the reason and the caller. The key makes what it
 * needs (a small block, a two-page run, two caches of its own with one
 * object each), tries every kind of mistake on it, then gives it all back,
 * so the heap ends as it began, apart from the refusals it counted.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "demo/actions.h"
#include "console/kprintf.h"
#include "memory/heap.h"
#include "memory/slab.h"

#define SMALL_BYTES  40
#define RUN_BYTES    (2 * HEAP_PAGE_BYTES)
#define INSIDE_BYTES 8                  /* how far into an object the "middle" pointer is */

/* What the mistakes are made on. */
struct targets {
    unsigned char *small, *run;
    struct kmem_cache *cache, *other;
    unsigned char *object, *stranger;   /* an object of cache, and one of other */
};

static bool targets_make(struct targets *t)
{
    t->small = heap_alloc_unsampled(SMALL_BYTES);
    t->run = heap_alloc_unsampled(RUN_BYTES);
    t->cache = kmem_cache_create("bad-frees-24", 24, 0, NULL);
    t->other = kmem_cache_create("bad-frees-64", 64, 0, NULL);
    t->object = t->cache != NULL ? kmem_cache_alloc(t->cache) : NULL;
    t->stranger = t->other != NULL ? kmem_cache_alloc(t->other) : NULL;
    return t->small != NULL && t->run != NULL && t->object != NULL && t->stranger != NULL;
}

/* Give everything back (what is NULL or already freed here is skipped). */
static void targets_give_back(struct targets *t, bool freed)
{
    if (!freed) {
        kfree(t->small);
        kmem_cache_free(t->cache, t->object);
    }
    kfree(t->run);
    kmem_cache_free(t->other, t->stranger);
    kmem_cache_destroy(t->cache);
    kmem_cache_destroy(t->other);
}

/* Pointers no call may take: each refusal prints its own report. */
static void wrong_pointers(const struct targets *t)
{
    int on_the_stack = 0;

    kfree(&on_the_stack);                               /* invalid pointer */
    kfree(t->run + HEAP_PAGE_BYTES);                    /* inside a block */
    kfree(t->object);                                   /* slab memory */
    kmem_cache_free(t->cache, t->small);                /* not an object of this cache */
    kmem_cache_free(t->cache, t->object + INSIDE_BYTES);    /* ...nor is its middle */
    kmem_cache_free(t->cache, t->stranger);             /* object of another cache */
}

/* Free a block and an object, then free them again: two double frees. */
static void double_frees(const struct targets *t)
{
    kfree(t->small);
    kmem_cache_free(t->cache, t->object);
    kfree(t->small);
    kmem_cache_free(t->cache, t->object);
}

static size_t refused_so_far(void)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    return stats.refused_frees;
}

/* Bytes not held by any block: free, or waiting in heapdebug's quarantine. */
static size_t unheld_bytes(void)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    return stats.free_bytes + stats.quarantined_bytes;
}

void demo_bad_frees(unsigned unused)
{
    struct targets t;
    size_t refused = refused_so_far(), unheld = unheld_bytes();

    (void)unused;
    if (!targets_make(&t)) {
        targets_give_back(&t, false);
        kprintf("bad frees: out of memory for the blocks and caches to try them on\n");
        return;
    }
    wrong_pointers(&t);
    int destroy = kmem_cache_destroy(t.other);          /* objects still allocated */
    double_frees(&t);
    targets_give_back(&t, true);
    refused = refused_so_far() - refused;
    kprintf("bad frees: %zu frees and %d destroy refused; ", refused, destroy != 0);
    if (unheld_bytes() == unheld)
        kprintf("free bytes as before\n");
    else
        kprintf("free bytes %zu before, %zu after\n", unheld, unheld_bytes());
}
