/*
 * memmap.h - the bootloader's memory map: printing it, and handing the
 * usable RAM that nothing else occupies to the heap.
 */
#ifndef SHOMPOS_MEMORY_MEMMAP_H
#define SHOMPOS_MEMORY_MEMMAP_H

#include <stdint.h>
#include "boot/multiboot.h"

/* Print every map entry (base, length, type) and the usable total below 4 GiB. */
void memmap_print(const struct multiboot_info *info);

/*
 * Add to the heap every usable range between 1 MiB and 4 GiB, less the
 * kernel image and the bootloader's structures (info, map, command line,
 * loader name, modules, framebuffer). Returns the bytes the heap manages.
 */
uint64_t memmap_fill_heap(const struct multiboot_info *info);

/* Print the heap's regions (for the demo's m key). */
void memmap_print_heap_regions(void);

#endif
