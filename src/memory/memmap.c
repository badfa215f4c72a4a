/*
 * memmap.c - turn the memory map the bootloader gave (struct boot_info,
 * copied from Multiboot's "mmap_*") into heap regions. Only type 1 counts as RAM;
 * every other type, known or not, is reserved. The first MiB (BIOS data,
 * VGA memory, option ROMs) and everything at or above 4 GiB, which a 32-bit
 * kernel without PAE cannot reach, are left out. Firmware maps may be unsorted
 * and their entries may overlap: a byte any reserved entry covers stays out,
 * and the heap is offered each usable byte once.
 */
#include <stdbool.h>
#include <stddef.h>
#include "memory/memmap.h"
#include "memory/heap.h"
#include "console/kprintf.h"

#define LOW_MEMORY_END   0x100000ull      /* 1 MiB */
#define ADDRESS_LIMIT    0x100000000ull   /* 4 GiB */
#define REPORT_BYTES     4096             /* a smaller refused region is a sliver: not reported */

extern char kernel_start[], kernel_end[];   /* linker.ld */

static const char *memmap_type_name(uint32_t type)
{
    switch (type) {
    case BOOT_MEMORY_USABLE:           return "usable";
    case BOOT_MEMORY_RESERVED:         return "reserved";
    case BOOT_MEMORY_ACPI_RECLAIMABLE: return "ACPI reclaimable";
    case BOOT_MEMORY_ACPI_NVS:         return "ACPI NVS";
    case BOOT_MEMORY_BAD:              return "bad RAM";
    default:                           return "unknown (treated as reserved)";
    }
}

/* Do a and b share a byte? An empty range (start >= end) shares none, even inside another. */
static bool range_overlaps(struct boot_range a, struct boot_range b)
{
    return a.start < a.end && b.start < b.end && a.start < b.end && b.start < a.end;
}

/* [start, start + bytes) */
static struct boot_range range_of(uint64_t start, uint64_t bytes)
{
    return (struct boot_range){ start, start + bytes };
}

/* How many bytes of r lie below limit. */
static uint64_t range_bytes_below(struct boot_range r, uint64_t limit)
{
    uint64_t end = r.end < limit ? r.end : limit;

    return r.start < end ? end - r.start : 0;
}

/* An entry's span; a length that would run past 2^64 stops there instead of wrapping. */
static struct boot_range entry_range(const struct boot_memory_entry *entry)
{
    uint64_t room = UINT64_MAX - entry->base;

    return range_of(entry->base, entry->length < room ? entry->length : room);
}

#define memmap_for_each(entry, boot) \
    for (const struct boot_memory_entry *entry = (boot)->memory; \
         entry < (boot)->memory + (boot)->memory_count; entry++)

static void print_entry(const struct boot_memory_entry *entry)
{
    kprintf("  base 0x%016llx length 0x%016llx type %u %s%s\n",
            (unsigned long long)entry->base, (unsigned long long)entry->length,
            entry->type, memmap_type_name(entry->type),
            entry_range(entry).end > ADDRESS_LIMIT ? " (above 4 GiB: not usable by a 32-bit kernel)" : "");
}

void memmap_print(const struct boot_info *boot)
{
    uint64_t usable = 0, above = 0;

    if (boot->memory_count == 0) {
        kprintf("memory map: none (the bootloader gave no map; no heap)\n");
        return;
    }
    kprintf("memory map: %u entries\n", boot->memory_count);
    memmap_for_each(entry, boot) {
        print_entry(entry);
        if (entry->type != BOOT_MEMORY_USABLE)
            continue;
        struct boot_range span = entry_range(entry);
        uint64_t below = range_bytes_below(span, ADDRESS_LIMIT);
        usable += below;
        above += span.end - span.start - below;
    }
    if (boot->memory_left_out > 0)
        kprintf("memory map: %u more entries left out (the kernel keeps %u); their usable RAM is not used\n",
                boot->memory_left_out, BOOT_MAX_MEMORY_ENTRIES);
    kprintf("usable RAM: %llu KiB below 4 GiB", (unsigned long long)(usable / 1024));
    if (above > 0)
        kprintf(", %llu KiB above 4 GiB not usable", (unsigned long long)(above / 1024));
    kprintf("\n");
}

/* ---- filling the heap --------------------------------------------------------- */

/* What must stay out of the heap although the map calls it usable. */
enum boot_item { BOOT_KERNEL, BOOT_FRAMEBUFFER, BOOT_MODULES, BOOT_ITEMS };

/* What memmap_fill_heap works from: the map, and the boot items to leave out. */
struct fill {
    const struct boot_info *boot;
    struct boot_range items[BOOT_ITEMS];
};

/*
 * One range from the lowest module start to the highest module end, so any
 * number of modules fits in one boot item. Boot loaders place modules close
 * together above the kernel, so the gaps between them that this also keeps
 * out of the heap are small.
 */
static struct boot_range modules_range(const struct boot_info *boot)
{
    struct boot_range span = { UINT64_MAX, 0 };

    for (unsigned i = 0; i < boot->module_count; i++) {
        if (boot->modules[i].start < span.start)
            span.start = boot->modules[i].start;
        if (boot->modules[i].end > span.end)
            span.end = boot->modules[i].end;
    }
    return span.start < span.end ? span : (struct boot_range){ 0, 0 };
}

/*
 * The kernel image, the framebuffer and the modules. The bootloader's own
 * structures (the information, the map, the strings, the module list) are
 * not among them: struct boot_info holds a copy, so their memory is free.
 */
static void boot_items_find(const struct boot_info *boot, struct boot_range items[BOOT_ITEMS])
{
    const struct boot_framebuffer *fb = &boot->framebuffer;

    items[BOOT_KERNEL] = (struct boot_range){ (uintptr_t)kernel_start, (uintptr_t)kernel_end };
    items[BOOT_FRAMEBUFFER] = range_of(fb->address, (uint64_t)fb->pitch * fb->height);
    items[BOOT_MODULES] = modules_range(boot);
}

/* Make *first the candidate if it overlaps span and starts lower. */
static void keep_lowest(struct boot_range *first, struct boot_range candidate, struct boot_range span)
{
    if (range_overlaps(candidate, span) && candidate.start < first->start)
        *first = candidate;
}

/*
 * The lowest-starting range that overlaps span and must stay out of the heap:
 * a boot item; a map entry that is not usable (where entries overlap, reserved
 * wins); or a usable entry before `usable` in the map, whose bytes the heap
 * has been offered already. When nothing overlaps: the empty range at span.end.
 */
static struct boot_range first_conflict(const struct fill *fill,
                                        const struct boot_memory_entry *usable, struct boot_range span)
{
    struct boot_range first = { span.end, span.end };
    bool earlier = true;

    for (unsigned i = 0; i < BOOT_ITEMS; i++)
        keep_lowest(&first, fill->items[i], span);
    memmap_for_each(entry, fill->boot) {
        if (entry == usable)
            earlier = false;
        if (entry->type != BOOT_MEMORY_USABLE || earlier)
            keep_lowest(&first, entry_range(entry), span);
    }
    return first;
}

/*
 * The heap refused [start, end). memmap offers each byte once, so of the
 * reasons heap.h lists only two are left: the region limit, or no whole block
 * fits once the ends are aligned. Say which; a refused sliver under
 * REPORT_BYTES is not worth a line.
 */
static void report_refusal(uint64_t start, uint64_t end)
{
    unsigned long long first = start, last = end - 1;
    struct heap_stats stats;

    heap_get_stats(&stats);
    if (stats.regions == HEAP_MAX_REGIONS)
        kprintf("heap: region 0x%08llx-0x%08llx refused: the heap's limit of %u regions is reached\n",
                first, last, HEAP_MAX_REGIONS);
    else if (end - start >= REPORT_BYTES)
        kprintf("heap: region 0x%08llx-0x%08llx refused: too small for one %zu-byte block once aligned\n",
                first, last, heap_scale_bytes(heap_min_scale()));
}

static uint64_t add_region(uint64_t start, uint64_t end)
{
    size_t added = heap_add_region((void *)(uintptr_t)start, (size_t)(end - start));

    if (added == 0)
        report_refusal(start, end);
    return added;
}

/*
 * Offer one usable entry, clipped to [1 MiB, 4 GiB), to the heap less every
 * conflict. Each turn adds the bytes before the first conflict and moves past
 * its end. A conflict overlaps what is left, so its end lies beyond rest.start:
 * rest.start grows every turn, no conflict is met twice, and the loop ends.
 *
 *   usable entry   [..................................................)
 *   conflicts            [kernel]    [reserved]       [earlier usable entry ...
 *   added          [.....)       [...)          [.....)
 */
static uint64_t add_usable_entry(const struct fill *fill, const struct boot_memory_entry *usable)
{
    struct boot_range rest = entry_range(usable);
    uint64_t added = 0;

    if (rest.start < LOW_MEMORY_END)
        rest.start = LOW_MEMORY_END;
    if (rest.end > ADDRESS_LIMIT)
        rest.end = ADDRESS_LIMIT;
    while (rest.start < rest.end) {
        struct boot_range conflict = first_conflict(fill, usable, rest);
        if (rest.start < conflict.start)
            added += add_region(rest.start, conflict.start);
        rest.start = conflict.end;
    }
    return added;
}

uint64_t memmap_fill_heap(const struct boot_info *boot, unsigned heap_debug)
{
    struct fill fill = { .boot = boot };
    uint64_t managed = 0;

    heap_init();
    heap_set_debug(heap_debug);                 /* before the first region, as heap.h asks */
    boot_items_find(boot, fill.items);
    memmap_for_each(entry, boot)
        if (entry->type == BOOT_MEMORY_USABLE)
            managed += add_usable_entry(&fill, entry);
    return managed;
}
