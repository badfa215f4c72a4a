/*
 * memmap.h - the bootloader's memory map (struct boot_info): printing it,
 * and handing the usable RAM that nothing else occupies to the heap.
 */
#ifndef SHOMPOS_MEMORY_MEMMAP_H
#define SHOMPOS_MEMORY_MEMMAP_H

#include <stdint.h>
#include "boot/bootinfo.h"

/*
 * Print every map entry (base, length, type), a line counting the entries
 * boot info left out if any, and the usable total below 4 GiB.
 */
void memmap_print(const struct boot_info *boot);

/*
 * Empty the heap (heap_init), turn on the debugging flags heap_debug names
 * (heap_set_debug: HEAP_DEBUG_* or 0), then add to it every usable (type 1) byte
 * between 1 MiB and 4 GiB, less the kernel image, the framebuffer, the span
 * from the lowest module to the highest, and every byte a non-usable entry
 * covers, wherever it is listed. Entries may be unsorted, duplicated or
 * overlapping: the heap is offered each byte once. Returns the bytes the heap
 * manages. A refused region of 4 KiB or more, or any refused once the heap's
 * region limit is reached, gets a line "heap: region ... refused: <reason>".
 */
uint64_t memmap_fill_heap(const struct boot_info *boot, unsigned heap_debug);

#endif
