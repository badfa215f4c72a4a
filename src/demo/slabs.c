/*
 * slabs.c - the slab keys: k takes one object from the demo's cache
 * "demo-24" (24-byte objects packed into one page), j gives the newest back,
 * x shrinks the cache (its empty slabs go back to the heap) and d prints
 * slabinfo for every cache, in the columns of Linux's /proc/slabinfo. The
 * objects are kept on a stack, like the block keys', so nothing is lost.
 * Under heapdebug, K writes to a freed object and lets the cache catch it.
 */
#include <stddef.h>
#include <stdint.h>
#include "demo/actions.h"
#include "demo/screen.h"
#include "console/kprintf.h"
#include "memory/heap.h"
#include "memory/slab.h"

#define DEMO_OBJECT_BYTES   24
#define DEMO_OBJECT_CAPACITY 400    /* more than two slabs' worth */
#define STALE_OFFSET 8              /* the byte K writes through its stale pointer... */
#define STALE_BYTE 0x41             /* ...and what it writes there: 'A' */

static struct kmem_cache *demo_cache;
static void *objects[DEMO_OBJECT_CAPACITY];
static size_t object_count;

void demo_slabs_init(void)
{
    demo_cache = kmem_cache_create("demo-24", DEMO_OBJECT_BYTES, 0, NULL);
    if (demo_cache == NULL)
        kprintf("slab: could not create the demo cache: keys k, j and x do nothing\n");
}

const struct kmem_cache *demo_slab_cache(void) { return demo_cache; }

size_t demo_slab_objects(void) { return object_count; }

static size_t slabs_of(const struct kmem_cache *cache)
{
    struct kmem_cache_stats stats;

    kmem_cache_get_stats(cache, &stats);
    return stats.slabs;
}

/* "kmem_cache_alloc: demo-24 object at 0x00141028, slab 0x00141000 (a new slab)" */
void demo_slab_alloc(unsigned unused)
{
    (void)unused;
    if (demo_cache == NULL || object_count == DEMO_OBJECT_CAPACITY) {
        kprintf(demo_cache == NULL ? "no demo cache\n"
                : "the demo keeps at most %u objects: free some with j\n", DEMO_OBJECT_CAPACITY);
        return;
    }
    size_t slabs = slabs_of(demo_cache);
    void *object = kmem_cache_alloc(demo_cache);
    if (object == NULL) {
        kprintf("kmem_cache_alloc: out of memory: no page for a new slab\n");
        return;
    }
    objects[object_count++] = object;
    demo_panel_show(DEMO_PANEL_SLAB);
    kprintf("kmem_cache_alloc: demo-24 object at 0x%08lx, slab 0x%08lx%s\n",
            (unsigned long)(uintptr_t)object, (unsigned long)heap_slab_of(object),
            slabs_of(demo_cache) > slabs ? " (a new slab)" : "");
}

void demo_slab_free(unsigned unused)
{
    (void)unused;
    if (object_count == 0) {
        kprintf("nothing to free: no live demo-24 object (press k to allocate one)\n");
        return;
    }
    void *object = objects[--object_count];
    objects[object_count] = NULL;       /* no stale copy for the leak scan to follow */
    uintptr_t slab = heap_slab_of(object);
    kmem_cache_free(demo_cache, object);
    demo_panel_show(DEMO_PANEL_SLAB);
    kprintf("kmem_cache_free: demo-24 object at 0x%08lx, back in slab 0x%08lx\n",
            (unsigned long)(uintptr_t)object, (unsigned long)slab);
}

/*
 * K: free a demo-24 object, write through the stale pointer, then allocate
 * again. The cache hands out the lowest free object of its first partial
 * slab, so mostly the same object comes back, and its poison is checked as
 * it is handed out; else kmem_cache_check finds the damage. Either way the
 * damaged object is freed again, so the demo keeps what it had.
 */
void demo_slab_poison_damage(unsigned unused)
{
    struct kmem_cache_violation found;

    (void)unused;
    if (demo_cache == NULL || !(demo_cache->debug & HEAP_DEBUG_POISON)) {
        kprintf("demo-24 is not poisoned: heapdebug is off (boot \"ShompOS (heap debugging)\")\n");
        return;
    }
    unsigned char *volatile object = kmem_cache_alloc(demo_cache);
    if (object == NULL) {
        kprintf("kmem_cache_alloc: out of memory: no page for a new slab\n");
        return;
    }
    kmem_cache_free(demo_cache, object);
    kprintf("kmem_cache_free: demo-24 object at 0x%08lx poisoned (0x6b); writing 0x%02x to byte "
            "%u through the stale pointer, then allocating again\n",
            (unsigned long)(uintptr_t)object, STALE_BYTE, STALE_OFFSET);
    object[STALE_OFFSET] = STALE_BYTE;
    void *again = kmem_cache_alloc(demo_cache);
    if (again != object && kmem_cache_check(&found) != 0)
        kprintf("heap check: FAILED: slab cache demo-24: %s (object 0x%08lx)\n", found.what,
                (unsigned long)found.object);
    if (again != NULL)
        kmem_cache_free(demo_cache, again);
}

void demo_slab_shrink(unsigned unused)
{
    (void)unused;
    if (demo_cache == NULL)
        return;
    size_t slabs = slabs_of(demo_cache);
    size_t bytes = kmem_cache_shrink(demo_cache);
    slabs -= slabs_of(demo_cache);
    kprintf("kmem_cache_shrink: demo-24 gave %zu bytes (%zu empty slab%s) back to the heap\n",
            bytes, slabs, slabs == 1 ? "" : "s");
}

/*
 * Linux's /proc/slabinfo columns, without its tunables; its header line,
 * 110 characters long, on two lines that fit the screen's 80 columns.
 */
void demo_show_slabinfo(unsigned unused)
{
    struct kmem_slabinfo row;

    (void)unused;
    kprintf("slabinfo - version: 2.1 (ShompOS)\n");
    kprintf("# name           <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>\n");
    kprintf("#                 : slabdata <active_slabs> <num_slabs>\n");
    for (const struct kmem_cache *c = kmem_cache_next(NULL); c != NULL; c = kmem_cache_next(c)) {
        kmem_cache_slabinfo(c, &row);
        kprintf("%-17s %6zu %6zu %6zu %4zu %4zu : slabdata %6zu %6zu\n", row.name,
                row.active_objs, row.num_objs, row.objsize, row.objperslab, row.pagesperslab,
                row.active_slabs, row.num_slabs);
    }
}
