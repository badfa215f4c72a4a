/*
 * vm.h - the kernel's own address space: an identity map of exactly what
 * the kernel uses (its image, the heap regions, the screen), built with
 * memory/paging.c and switched on at boot, and the reports of the faults
 * it catches. Everything else, page 0 and the rest of the first MiB, the
 * holes between regions and a guard page below the kernel stack, is not
 * present, so a stray pointer faults where it strays.
 */
#ifndef SHOMPOS_MEMORY_VM_H
#define SHOMPOS_MEMORY_VM_H

#include <stdbool.h>
#include <stdint.h>
#include "cpu/exceptions.h"
#include "cpu/tss.h"
#include "drivers/display.h"

/*
 * Build the page tables (from kmalloc'd pages, so after the heap has its
 * regions) for the kernel image, every heap region and display's memory
 * (NULL: none), then turn paging on with CR0.WP, then start the guarded
 * objects. Returns false, with a message and paging still off, when the
 * tables cannot be built.
 */
bool vm_init(const struct display *display);

/* Is paging on? */
bool vm_enabled(void);

/*
 * Make the 4 KiB page at page (page aligned, inside the identity map)
 * present and writable, mapped to itself, or not present; each does invlpg.
 * False when paging is off or paging.c refuses (a page already mapped
 * otherwise, one never covered by a table, a 4 MiB page). For heap debugging.
 */
bool vm_map_page(uintptr_t page);
bool vm_unmap_page(uintptr_t page);

/*
 * The guarded objects (memory/guard.h): vm_init takes the pool's 512 KiB
 * from the heap before it builds the tables, then makes every page of it
 * not present and samples kmalloc into it. NULL when there is none (paging
 * off, or no memory for it). A page fault in the pool is reported as a use
 * after free or an overflow of the object it hit.
 */
struct guard_pool;
struct guard_pool *vm_guard_pool(void);

/* Is page one of the kernel's page tables (a table the directory points to)? For the leak scan. */
bool vm_is_page_table(uintptr_t page);

/* The v key: each run of pages with the same flags, what it is, and what the tables cost. */
void vm_print_map(void);

/*
 * For cpu/exceptions.c's exception_on_report: a page fault gets its own
 * report (the address from CR2, the access in words, what the address is);
 * every other exception the console's usual one.
 */
void vm_report_exception(const struct interrupt_frame *frame, const struct exception_fixup *fixup);

/* Is this double fault a kernel stack overflow (the guard page below the stack)? Reports it. */
bool vm_report_double_fault(const struct double_fault *fault);

#endif
