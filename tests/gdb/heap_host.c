/*
 * heap_host.c - the real heap.c and slab.c on the host, for test_gdb.py to
 * stop in GDB: what the kernel's demo keys never make. Page runs of several
 * pages (tail entries) with their trimmed tails, a freed run (stale tail
 * entries inside a free block), a slab of two pages, a region too small for
 * a frame table (heap.c's shared no_table), small blocks and frees.
 * It writes what heap.c and slab.c themselves say (the pointers, heap_walk's
 * visits, free counts, heap_get_stats, the d key's slabinfo rows, heap_check)
 * to the file named by argv[1], then calls heap_host_ready, where GDB stops.
 * When GDB lets it go on, it adds what heap_check says of the heap then (the
 * tests corrupt it first: GDB on this host cannot call heap_check itself).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "memory/heap.h"
#include "memory/slab.h"

#define ARENA_BYTES ((size_t)4 << 20)

static unsigned char arena[ARENA_BYTES] __attribute__((aligned(1 << 22)));
static unsigned char tiny[HEAP_PAGE_BYTES] __attribute__((aligned(HEAP_PAGE_BYTES)));

_Static_assert(sizeof(struct block_header) == 8, "the header shompos.py reads");

/* GDB breaks here, with everything below done. */
void heap_host_ready(void) { __asm__ volatile("" ::: "memory"); }

static void say_pointer(FILE *out, const char *name, const void *p)
{
    fprintf(out, "pointer %s 0x%lx\n", name, (unsigned long)(uintptr_t)p);
}

static void say_visit(uintptr_t block, unsigned scale, int allocated, void *context)
{
    fprintf(context, "visit 0x%lx %u %d\n", (unsigned long)block, scale, allocated);
}

static void say_stats(FILE *out)
{
    struct heap_stats s;

    heap_get_stats(&s);
    fprintf(out, "stat managed %zu\nstat free %zu\nstat largest free block %zu\n"
            "stat allocated %zu\nstat requested %zu\nstat allocations %zu\nstat frees %zu\n"
            "stat failed allocations %zu\nstat refused frees %zu\nstat splits %zu\n"
            "stat merges %zu\nstat fragmentation %u\nstat regions %u\n", s.managed_bytes,
            s.free_bytes, s.largest_free_block, s.allocated_bytes, s.requested_bytes,
            s.allocations, s.frees, s.failed_allocations, s.refused_frees, s.splits, s.merges,
            s.fragmentation_percent, s.regions);
}

/* src/demo/slabs.c's row format. */
static void say_slabinfo(FILE *out)
{
    struct kmem_slabinfo row;

    for (const struct kmem_cache *c = kmem_cache_next(NULL); c != NULL; c = kmem_cache_next(c)) {
        kmem_cache_slabinfo(c, &row);
        fprintf(out, "slabinfo %-17s %6zu %6zu %6zu %4zu %4zu : slabdata %6zu %6zu\n", row.name,
                row.active_objs, row.num_objs, row.objsize, row.objperslab, row.pagesperslab,
                row.active_slabs, row.num_slabs);
    }
}

static void make_objects(FILE *out)
{
    struct kmem_cache *wide = kmem_cache_create("host-1500", 1500, 0, NULL);
    struct kmem_cache *narrow = kmem_cache_create("host-40", 40, 0, NULL);
    struct kmem_cache *emptied = kmem_cache_create("host-empty", 512, 0, NULL);
    void *objects[7];

    for (int i = 0; i < 7; i++)
        objects[i] = kmem_cache_alloc(wide);
    kmem_cache_free(wide, objects[6]);
    say_pointer(out, "full_object", objects[2]);
    say_pointer(out, "live_object", objects[5]);
    say_pointer(out, "free_object", objects[6]);
    say_pointer(out, "narrow", kmem_cache_alloc(narrow));
    kmem_cache_free(emptied, kmem_cache_alloc(emptied));
}

/* "check OK", or "check FAILED: <what> at 0x<address> scale <n>" (the c key's words). */
static void say_check(FILE *out, const char *kind)
{
    struct heap_violation found;

    if (heap_check_report(&found) != 0)
        fprintf(out, "%s FAILED: %s at 0x%lx scale %u\n", kind, found.what,
                (unsigned long)found.address, found.scale);
    else if (kmem_cache_check(NULL) != 0)
        fprintf(out, "%s FAILED: a slab cache\n", kind);
    else
        fprintf(out, "%s OK\n", kind);
}

static void say_heap(FILE *out)
{
    heap_walk(say_visit, out);
    for (unsigned scale = 0; scale <= HEAP_MAX_SCALE; scale++)
        if (heap_free_count(scale) != 0)
            fprintf(out, "free_count %u %zu\n", scale, heap_free_count(scale));
    say_stats(out);
    say_slabinfo(out);
    say_check(out, "check");
}

/*
 * Page runs, small blocks and frees; slabs full, partial and empty: host-1500
 * (2-page slabs of 5) gets 7 objects and gives the last back, so its first
 * slab is full and its second partial; host-40 keeps one object; host-empty's
 * one slab is empty again.
 */
static void make_blocks(FILE *out)
{
    void *gone = kmalloc(9 * HEAP_PAGE_BYTES);          /* 9 pages of 64K, freed: stale tails */

    say_pointer(out, "run5", kmalloc(5 * HEAP_PAGE_BYTES - 100));     /* 5 of 32K */
    say_pointer(out, "run3", kmalloc(3 * HEAP_PAGE_BYTES));           /* 3 of 16K */
    say_pointer(out, "page", kmalloc(HEAP_PAGE_BYTES));
    say_pointer(out, "small", kmalloc(100));
    void *freed = kmalloc(20);
    say_pointer(out, "small2k", kmalloc(2000));
    kfree(freed);
    kfree(gone);
    say_pointer(out, "gone", gone);
    make_objects(out);
    say_pointer(out, "tiny", kmalloc(200));
}

int main(int argc, char **argv)
{
    FILE *out = argc > 1 ? fopen(argv[1], "w") : stdout;

    if (out == NULL) {
        perror(argv[1]);
        return 1;
    }
    heap_init();
    kmem_cache_init();
    heap_add_region(arena, sizeof(arena));
    heap_add_region(tiny + 0x100, 0x800);               /* no whole frame: no table of its own */
    make_blocks(out);
    say_heap(out);
    fflush(out);
    heap_host_ready();
    say_check(out, "after");
    fclose(out);
    return 0;
}
