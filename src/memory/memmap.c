/*
 * memmap.c - turn the Multiboot memory map (specification section 3.3,
 * "mmap_*") into heap regions. Only type 1 ("available") counts as RAM;
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
#include "lib/string.h"

#define LOW_MEMORY_END   0x100000ull      /* 1 MiB */
#define ADDRESS_LIMIT    0x100000000ull   /* 4 GiB */
#define REPORT_BYTES     4096             /* a smaller refused region is a sliver: not reported */

extern char kernel_start[], kernel_end[];   /* linker.ld */

static const char *memmap_type_name(uint32_t type)
{
    switch (type) {
    case MULTIBOOT_MEMORY_AVAILABLE:        return "usable";
    case MULTIBOOT_MEMORY_RESERVED:         return "reserved";
    case MULTIBOOT_MEMORY_ACPI_RECLAIMABLE: return "ACPI reclaimable";
    case MULTIBOOT_MEMORY_NVS:              return "ACPI NVS";
    case MULTIBOOT_MEMORY_BADRAM:           return "bad RAM";
    default:                                return "unknown (treated as reserved)";
    }
}

/* A span of physical addresses, [start, end). */
struct range {
    uint64_t start, end;
};

/* Do a and b share a byte? An empty range (start >= end) shares none, even inside another. */
static bool range_overlaps(struct range a, struct range b)
{
    return a.start < a.end && b.start < b.end && a.start < b.end && b.start < a.end;
}

/* [start, start + bytes) */
static struct range range_of(uint64_t start, uint64_t bytes)
{
    return (struct range){ start, start + bytes };
}

/* How many bytes of r lie below limit. */
static uint64_t range_bytes_below(struct range r, uint64_t limit)
{
    uint64_t end = r.end < limit ? r.end : limit;

    return r.start < end ? end - r.start : 0;
}

/* An entry's span; a length that would run past 2^64 stops there instead of wrapping. */
static struct range entry_range(const struct multiboot_mmap_entry *entry)
{
    uint64_t room = UINT64_MAX - entry->base;

    return range_of(entry->base, entry->length < room ? entry->length : room);
}

/* The map's entries are of varying size: each starts with its size, which excludes itself. */
static const struct multiboot_mmap_entry *memmap_next(const struct multiboot_mmap_entry *entry)
{
    return (const struct multiboot_mmap_entry *)((uintptr_t)entry + entry->size + sizeof(entry->size));
}

#define memmap_for_each(entry, info)                                                        \
    for (const struct multiboot_mmap_entry *entry = (const void *)(uintptr_t)(info)->mmap_addr; \
         (uintptr_t)entry + sizeof(*entry) <= (info)->mmap_addr + (uintptr_t)(info)->mmap_length; \
         entry = memmap_next(entry))

static int memmap_present(const struct multiboot_info *info)
{
    return (info->flags & MULTIBOOT_INFO_MEM_MAP) && info->mmap_length > 0;
}

void memmap_print(const struct multiboot_info *info)
{
    uint64_t usable = 0, above = 0;
    unsigned count = 0;

    if (!memmap_present(info)) {
        kprintf("memory map: none (the bootloader gave no map; no heap)\n");
        return;
    }
    memmap_for_each(entry, info)
        count++;
    kprintf("memory map: %u entries\n", count);
    memmap_for_each(entry, info) {
        struct range span = entry_range(entry);
        kprintf("  base 0x%016llx length 0x%016llx type %u %s%s\n",
                (unsigned long long)entry->base, (unsigned long long)entry->length,
                entry->type, memmap_type_name(entry->type),
                span.end > ADDRESS_LIMIT ? " (above 4 GiB: not usable by a 32-bit kernel)" : "");
        if (entry->type != MULTIBOOT_MEMORY_AVAILABLE)
            continue;
        uint64_t below = range_bytes_below(span, ADDRESS_LIMIT);
        usable += below;
        above += span.end - span.start - below;
    }
    kprintf("usable RAM: %llu KiB below 4 GiB", (unsigned long long)(usable / 1024));
    if (above > 0)
        kprintf(", %llu KiB above 4 GiB not usable", (unsigned long long)(above / 1024));
    kprintf("\n");
}

/* ---- filling the heap --------------------------------------------------------- */

/* What the kernel and the bootloader occupy; an item the bootloader did not give stays empty. */
enum boot_item {
    BOOT_KERNEL, BOOT_INFO, BOOT_MAP, BOOT_CMDLINE, BOOT_LOADER_NAME, BOOT_FRAMEBUFFER,
    BOOT_MODULE_LIST, BOOT_MODULES, BOOT_ITEMS
};

/* What memmap_fill_heap works from: the map, and the boot items to leave out. */
struct fill {
    const struct multiboot_info *info;
    struct range boot[BOOT_ITEMS];
};

/* A C string at a physical address, its terminating zero included. */
static struct range string_range(uint32_t address)
{
    return range_of(address, strlen((const char *)(uintptr_t)address) + 1);
}

/*
 * One range from the lowest module start to the highest module end, so any
 * number of modules fits in one boot item. Boot loaders place modules close
 * together above the kernel, so the gaps between them that this also keeps
 * out of the heap are small.
 */
static struct range modules_range(const struct multiboot_info *info)
{
    const struct multiboot_module *mods = (const void *)(uintptr_t)info->mods_addr;
    struct range span = { UINT64_MAX, 0 };

    for (uint32_t i = 0; i < info->mods_count; i++) {
        if (mods[i].start < span.start)
            span.start = mods[i].start;
        if (mods[i].end > span.end)
            span.end = mods[i].end;
    }
    return span.start < span.end ? span : (struct range){ 0, 0 };
}

/* Fill in the boot items the flags say exist; the others stay as they were (empty). */
static void boot_items_find(const struct multiboot_info *info, struct range boot[BOOT_ITEMS])
{
    uint64_t framebuffer_bytes = (uint64_t)info->framebuffer_pitch * info->framebuffer_height;
    uint64_t module_list_bytes = (uint64_t)info->mods_count * sizeof(struct multiboot_module);

    boot[BOOT_KERNEL] = (struct range){ (uintptr_t)kernel_start, (uintptr_t)kernel_end };
    boot[BOOT_INFO] = range_of((uintptr_t)info, sizeof(*info));
    boot[BOOT_MAP] = range_of(info->mmap_addr, info->mmap_length);
    if (info->flags & MULTIBOOT_INFO_CMDLINE)
        boot[BOOT_CMDLINE] = string_range(info->cmdline);
    if (info->flags & MULTIBOOT_INFO_LOADER_NAME)
        boot[BOOT_LOADER_NAME] = string_range(info->boot_loader_name);
    if (info->flags & MULTIBOOT_INFO_FRAMEBUFFER)
        boot[BOOT_FRAMEBUFFER] = range_of(info->framebuffer_addr, framebuffer_bytes);
    if (info->flags & MULTIBOOT_INFO_MODS) {
        boot[BOOT_MODULE_LIST] = range_of(info->mods_addr, module_list_bytes);
        boot[BOOT_MODULES] = modules_range(info);
    }
}

/* Make *first the candidate if it overlaps span and starts lower. */
static void keep_lowest(struct range *first, struct range candidate, struct range span)
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
static struct range first_conflict(const struct fill *fill,
                                   const struct multiboot_mmap_entry *usable, struct range span)
{
    struct range first = { span.end, span.end };
    bool earlier = true;

    for (unsigned i = 0; i < BOOT_ITEMS; i++)
        keep_lowest(&first, fill->boot[i], span);
    memmap_for_each(entry, fill->info) {
        if (entry == usable)
            earlier = false;
        if (entry->type != MULTIBOOT_MEMORY_AVAILABLE || earlier)
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
                first, last, (size_t)1 << heap_min_scale());
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
static uint64_t add_usable_entry(const struct fill *fill, const struct multiboot_mmap_entry *usable)
{
    struct range rest = entry_range(usable);
    uint64_t added = 0;

    if (rest.start < LOW_MEMORY_END)
        rest.start = LOW_MEMORY_END;
    if (rest.end > ADDRESS_LIMIT)
        rest.end = ADDRESS_LIMIT;
    while (rest.start < rest.end) {
        struct range conflict = first_conflict(fill, usable, rest);
        if (rest.start < conflict.start)
            added += add_region(rest.start, conflict.start);
        rest.start = conflict.end;
    }
    return added;
}

uint64_t memmap_fill_heap(const struct multiboot_info *info)
{
    struct fill fill = { .info = info };
    uint64_t managed = 0;

    heap_init();
    if (!memmap_present(info))
        return 0;
    boot_items_find(info, fill.boot);
    memmap_for_each(entry, info)
        if (entry->type == MULTIBOOT_MEMORY_AVAILABLE)
            managed += add_usable_entry(&fill, entry);
    return managed;
}

void memmap_print_heap_regions(void)
{
    uintptr_t start, end;

    kprintf("heap regions:\n");
    for (unsigned i = 0; heap_region(i, &start, &end); i++)
        kprintf("  %2u: 0x%08lx-0x%08lx %6lu KiB\n", i, (unsigned long)start, (unsigned long)end - 1,
                (unsigned long)((end - start) / 1024));
}
