/*
 * actions.c - the keys that change the heap: 4-9 kmalloc one block of
 * exactly that scale, r t y u i o kfree the newest demo block of scales
 * 4-9, and f frees every demo block. Each prints one line saying what the
 * buddy algorithm did, with the splits and merges counted by heap_get_stats.
 */
#include <stddef.h>
#include <stdint.h>
#include "demo/actions.h"
#include "demo/blocks.h"
#include "demo/keys.h"
#include "demo/screen.h"
#include "console/input.h"
#include "console/kprintf.h"
#include "lib/string.h"
#include "memory/heap.h"

static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

static size_t splits_so_far(void)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    return stats.splits;
}

static size_t merges_so_far(void)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    return stats.merges;
}

/* Say why a press of key 4-9 allocates nothing: scale too small, or its stack full. */
static void say_why_not(unsigned scale)
{
    if (scale < heap_min_scale())
        kprintf("scale %u is below the heap's smallest block (scale %u): nothing allocated\n",
                scale, heap_min_scale());
    else
        kprintf("scale %u stack is full (%u blocks): free some with %s\n",
                scale, DEMO_STACK_CAPACITY, input_key_name(demo_key_of(demo_free, scale)));
}

static void say_out_of_memory(unsigned scale)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    kprintf("kmalloc: out of memory: no free block of scale %u or more (largest: %zu bytes)\n",
            scale, stats.largest_free_block);
}

/*
 * "kmalloc: scale 4 (16 bytes) at 0x0012f000, 8 splits of a scale 12 block".
 * Under heapdebug the block is a scale larger than the key's when the red
 * zone and the callers do not fit beside the request: the line says so.
 */
static void say_allocated(const void *ptr, unsigned wanted, size_t splits)
{
    unsigned scale = heap_block_scale(ptr);

    kprintf("kmalloc: scale %u (%zu bytes) at 0x%08lx, ", scale, heap_scale_bytes(scale),
            (unsigned long)heap_block_of(ptr));
    if (splits == 0)
        kprintf("0 splits: free list %u had a block", scale);
    else
        kprintf("%zu split%s of a scale %u block", splits, plural(splits), scale + (unsigned)splits);
    if (scale != wanted)
        kprintf(" (heapdebug: %zu bytes asked, then red zone and callers)", heap_scale_payload(wanted));
    kprintf("\n");
}

/*
 * kmalloc takes the smallest free block of scale >= the one asked for and
 * splits it in halves until it has the right scale: n splits mean the block
 * came from a free block of scale + n, whose upper halves are now free.
 */
void demo_allocate(unsigned scale)
{
    if (scale < heap_min_scale() || demo_blocks_count(scale) == DEMO_STACK_CAPACITY) {
        say_why_not(scale);
        return;
    }
    size_t splits = splits_so_far();
    void *ptr = heap_alloc_unsampled(heap_scale_payload(scale));    /* never a guarded object */
    if (ptr == NULL) {
        say_out_of_memory(scale);
        return;
    }
    splits = splits_so_far() - splits;
    memset(ptr, 0, heap_scale_payload(scale));  /* no stale free-list links for the leak scan (l) */
    demo_blocks_push(scale, ptr);
    demo_panel_show(DEMO_PANEL_HEAP);
    say_allocated(ptr, scale, splits);
}

/* Free one demo block; returns the merges it caused (heap_free never refuses a live demo block). */
static size_t free_block(void *ptr)
{
    size_t merges = merges_so_far();
    enum heap_status status = heap_free(ptr);

    if (status != HEAP_OK)
        kprintf("kfree: refused %p (%s)\n", ptr, heap_status_name(status));
    return merges_so_far() - merges;
}

/*
 * Each merge joins the block with its free buddy into the block of the next
 * scale, which starts at the lower of the two addresses: after n merges the
 * free block has scale + n and starts at the address with those bits clear.
 */
static void say_freed(uintptr_t block, unsigned scale, size_t merges)
{
    unsigned merged = scale + (unsigned)merges;

    kprintf("kfree: scale %u at 0x%08lx, ", scale, (unsigned long)block);
    if (merges == 0 && (heap_debug_flags() & HEAP_DEBUG_QUARANTINE))
        kprintf("0 merges: quarantined (heapdebug), it merges when it leaves\n");
    else if (merges == 0)
        kprintf("0 merges: its buddy is not a free scale %u block\n", scale);
    else
        kprintf("%zu merge%s into a free scale %u block at 0x%08lx\n", merges, plural(merges), merged,
                (unsigned long)(block & ~(heap_scale_bytes(merged) - 1)));
}

void demo_free(unsigned scale)
{
    void *ptr = demo_blocks_pop(scale);

    if (ptr == NULL) {
        kprintf("nothing to free: no live scale %u demo block (press %s to allocate one)\n",
                scale, input_key_name(demo_key_of(demo_allocate, scale)));
        return;
    }
    uintptr_t block = heap_block_of(ptr);     /* while it is still a live block */
    unsigned block_scale = heap_block_scale(ptr);   /* the key's, or more under heapdebug */
    demo_panel_show(DEMO_PANEL_HEAP);
    say_freed(block, block_scale, free_block(ptr));
}

/* Newest first, across all scales: the exact reverse of the kmalloc calls still live. */
void demo_free_all(unsigned unused)
{
    size_t blocks = 0, merges = 0;
    unsigned scale;

    (void)unused;
    if (demo_blocks_total() == 0) {
        kprintf("nothing to free: no live demo blocks\n");
        return;
    }
    demo_panel_show(DEMO_PANEL_HEAP);
    while ((scale = demo_blocks_newest_scale()) != 0) {
        merges += free_block(demo_blocks_pop(scale));
        blocks++;
    }
    kprintf("kfree: freed %zu demo block%s, newest first, with %zu merge%s\n",
            blocks, plural(blocks), merges, plural(merges));
}
