/*
 * report.c - the keys that only look: p dumps the free lists, s prints the
 * heap statistics, c runs the invariant checker and m prints the memory
 * map and the heap's regions. Their formats are stable (tests parse them,
 * the README documents them) and the same on screen and serial.
 */
#include <stddef.h>
#include <stdint.h>
#include "demo/actions.h"
#include "console/kprintf.h"
#include "memory/heap.h"
#include "memory/memmap.h"
#include "memory/slab.h"

#define FIRST_BLOCKS_SHOWN 2    /* addresses per scale in the p dump */
#define ENTRY_LENGTH 48         /* one p entry (33 characters, more for huge counts) */

static const struct boot_info *boot_info;

void demo_report_init(const struct boot_info *boot)
{
    boot_info = boot;
}

/* The lowest free blocks of each scale, in address order, gathered by one heap_walk. */
struct lowest_free {
    uintptr_t address[HEAP_MAX_SCALE + 1][FIRST_BLOCKS_SHOWN];
    unsigned found[HEAP_MAX_SCALE + 1];
};

static void lowest_free_visit(uintptr_t block, unsigned scale, int allocated, void *context)
{
    struct lowest_free *lowest = context;

    if (!allocated && lowest->found[scale] < FIRST_BLOCKS_SHOWN)
        lowest->address[scale][lowest->found[scale]++] = block;
}

/* A power of two as "16B", "512B", "4K", "64M" or "1G": exact, at most 4 characters. */
static void size_format(char *out, size_t size, size_t bytes)
{
    static const char units[] = "BKMG";
    unsigned unit = 0;

    while (bytes >= 1024 && unit < sizeof(units) - 2) {
        bytes /= 1024;
        unit++;
    }
    ksnprintf(out, size, "%zu%c", bytes, units[unit]);
}

/* One p entry: "%2u %5s %6zu %08lx %08lx", a missing address as "-" padded to 8. */
static void free_list_entry(char *out, unsigned scale, const struct lowest_free *lowest)
{
    char size[8], second[12] = "-       ";

    size_format(size, sizeof(size), heap_scale_bytes(scale));
    if (lowest->found[scale] > 1)
        ksnprintf(second, sizeof(second), "%08lx", (unsigned long)lowest->address[scale][1]);
    ksnprintf(out, ENTRY_LENGTH, "%2u %5s %6zu %08lx %s", scale, size, heap_free_count(scale),
              (unsigned long)lowest->address[scale][0], second);
}

/*
 * p: one entry per scale that has free blocks, smallest scale first, two
 * entries to a line joined by " | " (at most 15 lines for 28 scales):
 *
 *   free lists: scale size count first-blocks
 *   13    8K      1 0012e000 -        | 16   64K      1 00130000 -
 *   17  128K      1 07fc0000 -        | 18  256K      2 00140000 07f80000
 *   ...
 *   25   32M      2 02000000 04000000
 *
 * Each entry is exactly "%2u %5s %6zu %08lx %08lx": the scale, the block
 * size (B, K, M, G: powers of 1024), the number of free blocks of that scale
 * (wider counts widen the field) and the addresses of the two lowest of them
 * in hex, "-" padded to 8 characters when there is only one. Lowest, not
 * first on the list: so the dump depends only on which blocks are free, not
 * on the order they were freed in.
 */
void demo_show_free_lists(unsigned unused)
{
    static struct lowest_free lowest;
    char entry[ENTRY_LENGTH];
    unsigned shown = 0;

    (void)unused;
    lowest = (struct lowest_free){0};
    heap_walk(lowest_free_visit, &lowest);
    kprintf("free lists: scale size count first-blocks\n");
    for (unsigned scale = heap_min_scale(); scale <= HEAP_MAX_SCALE; scale++) {
        if (heap_free_count(scale) == 0)
            continue;
        free_list_entry(entry, scale, &lowest);
        kprintf(shown++ % 2 == 0 ? "%s" : " | %s\n", entry);
    }
    if (shown % 2 == 1)
        kprintf("\n");
    if (shown == 0)
        kprintf("(no free blocks)\n");
}

/* One statistics line for a byte count: "  free: 133169136 bytes (130047 KiB)". */
static void stats_bytes(const char *name, size_t bytes)
{
    kprintf("  %s: %zu bytes (%zu KiB)\n", name, bytes, bytes / 1024);
}

/*
 * s: "name: value" pairs, one byte count per line (with KiB rounded down,
 * as the status line shows them), then the counters two to a line:
 *
 *   heap statistics:
 *     managed: 133169152 bytes (130048 KiB)
 *     free: 133169136 bytes (130047 KiB)
 *     largest free block: 67108864 bytes (65536 KiB)
 *     allocated: 16 bytes (0 KiB)
 *     requested: 8 bytes (0 KiB)
 *     allocations: 1  frees: 0
 *     failed allocations: 0  refused frees: 0
 *     splits: 8  merges: 0
 *     fragmentation: 49%  regions: 2
 */
void demo_show_stats(unsigned unused)
{
    struct heap_stats stats;

    (void)unused;
    heap_get_stats(&stats);
    kprintf("heap statistics:\n");
    stats_bytes("managed", stats.managed_bytes);
    stats_bytes("free", stats.free_bytes);
    stats_bytes("largest free block", stats.largest_free_block);
    stats_bytes("allocated", stats.allocated_bytes);
    stats_bytes("requested", stats.requested_bytes);
    kprintf("  allocations: %zu  frees: %zu\n", stats.allocations, stats.frees);
    kprintf("  failed allocations: %zu  refused frees: %zu\n", stats.failed_allocations,
            stats.refused_frees);
    kprintf("  splits: %zu  merges: %zu\n", stats.splits, stats.merges);
    kprintf("  fragmentation: %u%%  regions: %u\n", stats.fragmentation_percent, stats.regions);
}

/* "heap check: FAILED: slab cache demo-24: <what> (slab 0x..., object 0x...)" */
static void report_slab_violation(const struct kmem_cache_violation *slab)
{
    kprintf("heap check: FAILED: slab cache %s: %s (slab 0x%08lx", slab->cache != NULL ?
            slab->cache->name : "-", slab->what, (unsigned long)slab->slab);
    if (slab->object != 0)
        kprintf(", object 0x%08lx", (unsigned long)slab->object);
    kprintf(")\n");
}

/* c: "heap check: OK", or "heap check: FAILED: <what> at 0x<address> scale <n>". */
void demo_check_heap(unsigned unused)
{
    struct heap_violation found;

    struct kmem_cache_violation slab;

    (void)unused;
    if (heap_check_report(&found) != 0)
        kprintf("heap check: FAILED: %s at 0x%08lx scale %u\n", found.what,
                (unsigned long)found.address, found.scale);
    else if (kmem_cache_check(&slab) != 0)
        report_slab_violation(&slab);
    else
        kprintf("heap check: OK\n");
}

/*
 * The spans the heap manages, each with its last byte and its size:
 *
 *   heap regions:
 *      0: 0x00140000-0x07fdffff 129664 KiB
 */
static void show_heap_regions(void)
{
    uintptr_t start, end;

    kprintf("heap regions:\n");
    for (unsigned i = 0; heap_region(i, &start, &end); i++)
        kprintf("  %2u: 0x%08lx-0x%08lx %6lu KiB\n", i, (unsigned long)start, (unsigned long)end - 1,
                (unsigned long)((end - start) / 1024));
}

/* m: the bootloader's memory map, then the spans the heap manages. */
void demo_show_memory(unsigned unused)
{
    (void)unused;
    memmap_print(boot_info);
    show_heap_regions();
}
