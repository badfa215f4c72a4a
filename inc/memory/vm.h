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
 * (NULL: none), then turn paging on with CR0.WP. Returns false, with a
 * message and paging still off, when the tables cannot be built.
 */
bool vm_init(const struct display *display);

/* Is paging on? */
bool vm_enabled(void);

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
