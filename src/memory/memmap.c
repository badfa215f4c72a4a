/*
 * memmap.c - turn the Multiboot memory map (specification section 3.3,
 * "mmap_*") into heap regions. Only type 1 ("available") counts as RAM;
 * every other type, known or not, is reserved. The first MiB (BIOS data,
 * VGA memory, option ROMs) and everything at or above 4 GiB, which a 32-bit
 * kernel without PAE cannot reach, are left out.
 */
#include <stddef.h>
#include "memory/memmap.h"
#include "memory/heap.h"
#include "console/kprintf.h"
#include "lib/string.h"

#define LOW_MEMORY_END   0x100000ull      /* 1 MiB */
#define ADDRESS_LIMIT    0x100000000ull   /* 4 GiB */
#define MAX_RESERVED     16

extern char kernel_start[], kernel_end[];   /* linker.ld */

struct range {
    uint64_t start, end;    /* [start, end) */
};

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
        uint64_t end = entry->base + entry->length;
        kprintf("  base 0x%016llx length 0x%016llx type %u %s%s\n",
                (unsigned long long)entry->base, (unsigned long long)entry->length,
                entry->type, memmap_type_name(entry->type),
                end > ADDRESS_LIMIT ? " (above 4 GiB: not usable by a 32-bit kernel)" : "");
        if (entry->type != MULTIBOOT_MEMORY_AVAILABLE)
            continue;
        uint64_t below_end = end < ADDRESS_LIMIT ? end : ADDRESS_LIMIT;
        if (entry->base < below_end)
            usable += below_end - entry->base;
        above += entry->length - (entry->base < below_end ? below_end - entry->base : 0);
    }
    kprintf("usable RAM: %llu KiB below 4 GiB", (unsigned long long)(usable / 1024));
    if (above > 0)
        kprintf(", %llu KiB above 4 GiB not usable", (unsigned long long)(above / 1024));
    kprintf("\n");
}

/* What the bootloader and the kernel occupy inside usable RAM. */
static unsigned memmap_reserved(const struct multiboot_info *info, struct range *out)
{
    unsigned n = 0;

    out[n++] = (struct range){ (uintptr_t)kernel_start, (uintptr_t)kernel_end };
    out[n++] = (struct range){ (uintptr_t)info, (uintptr_t)info + sizeof(*info) };
    out[n++] = (struct range){ info->mmap_addr, (uint64_t)info->mmap_addr + info->mmap_length };
    if (info->flags & MULTIBOOT_INFO_CMDLINE)
        out[n++] = (struct range){ info->cmdline, info->cmdline + strlen((const char *)(uintptr_t)info->cmdline) + 1 };
    if (info->flags & MULTIBOOT_INFO_LOADER_NAME)
        out[n++] = (struct range){ info->boot_loader_name,
                                   info->boot_loader_name + strlen((const char *)(uintptr_t)info->boot_loader_name) + 1 };
    if (info->flags & MULTIBOOT_INFO_FRAMEBUFFER)
        out[n++] = (struct range){ info->framebuffer_addr,
                                   info->framebuffer_addr + (uint64_t)info->framebuffer_pitch * info->framebuffer_height };
    if (info->flags & MULTIBOOT_INFO_MODS) {
        const struct multiboot_module *mods = (const void *)(uintptr_t)info->mods_addr;
        out[n++] = (struct range){ info->mods_addr, info->mods_addr + info->mods_count * sizeof(*mods) };
        for (uint32_t i = 0; i < info->mods_count && n < MAX_RESERVED; i++)
            out[n++] = (struct range){ mods[i].start, mods[i].end };
    }
    return n;
}

/*
 * Add [start, end) to the heap less the reserved ranges from index `first`
 * on: a reserved range that overlaps splits the range in two, and each side
 * is checked against the remaining reserved ranges.
 */
static uint64_t memmap_add_range(uint64_t start, uint64_t end, const struct range *reserved,
                                 unsigned first, unsigned count)
{
    if (start >= end)
        return 0;
    for (unsigned i = first; i < count; i++)
        if (reserved[i].start < end && start < reserved[i].end)
            return memmap_add_range(start, reserved[i].start, reserved, i + 1, count)
                 + memmap_add_range(reserved[i].end, end, reserved, i + 1, count);
    size_t added = heap_add_region((void *)(uintptr_t)start, (size_t)(end - start));
    if (added == 0 && end - start >= 4096)
        kprintf("heap: region 0x%08llx-0x%08llx refused (region limit of %u reached?)\n",
                (unsigned long long)start, (unsigned long long)end, HEAP_MAX_REGIONS);
    return added;
}

uint64_t memmap_fill_heap(const struct multiboot_info *info)
{
    struct range reserved[MAX_RESERVED];
    unsigned count = memmap_reserved(info, reserved);
    uint64_t managed = 0;

    heap_init();
    if (!memmap_present(info))
        return 0;
    memmap_for_each(entry, info) {
        if (entry->type != MULTIBOOT_MEMORY_AVAILABLE)
            continue;
        uint64_t start = entry->base > LOW_MEMORY_END ? entry->base : LOW_MEMORY_END;
        uint64_t end = entry->base + entry->length;
        if (end > ADDRESS_LIMIT)
            end = ADDRESS_LIMIT;
        managed += memmap_add_range(start, end, reserved, 0, count);
    }
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
