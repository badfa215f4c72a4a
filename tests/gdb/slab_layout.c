/*
 * slab_layout.c - a host program whose slab caches are laid out as
 * scripts/gdb/shompos.py assumes the kernel's will be (its SLAB_* names):
 * a global kmem_caches, a struct kmem_cache * chain through `next`, or with
 * -DCIRCULAR a struct list_header sentinel of a circular list through `link`.
 * test_gdb.py stops it in caches_ready and compares shomp-slabinfo's rows.
 * It is not the kernel's slab.c (issue 10) and asserts nothing about it.
 */
#include <stddef.h>

struct list_header {
    struct list_header *next, *prev;
};

struct kmem_cache {
    const char *name;
    size_t object_size, objects_per_slab, slab_bytes;
    size_t active_objects, total_objects, active_slabs, slabs;
    struct kmem_cache *next;            /* the chain's link */
    struct list_header link;            /* the circular list's link */
};

static struct kmem_cache caches[] = {
    { "demo-24", 24, 169, 4096, 5, 169, 1, 1, NULL, { NULL, NULL } },
    { "page-tables", 1024, 3, 4096, 9, 12, 3, 4, NULL, { NULL, NULL } },
    { "big-objects", 2048, 15, 32768, 0, 0, 0, 0, NULL, { NULL, NULL } },
};

#define CACHE_COUNT (sizeof(caches) / sizeof(caches[0]))

#ifdef CIRCULAR
struct list_header kmem_caches;

static void caches_link(void)
{
    struct list_header *prev = &kmem_caches;

    for (size_t i = 0; i < CACHE_COUNT; i++) {
        caches[i].link.prev = prev;
        prev->next = &caches[i].link;
        prev = &caches[i].link;
    }
    prev->next = &kmem_caches;
    kmem_caches.prev = prev;
}
#else
struct kmem_cache *kmem_caches;

static void caches_link(void)
{
    for (size_t i = CACHE_COUNT; i-- > 0;) {
        caches[i].next = kmem_caches;
        kmem_caches = &caches[i];
    }
}
#endif

/* GDB stops here, with the list complete. */
void caches_ready(void) { __asm__ volatile("" ::: "memory"); }

int main(void)
{
    caches_link();
    caches_ready();
    return 0;
}
