/*
 * gdt.h - the Global Descriptor Table: a flat 4 GiB code and data segment
 * for ring 0, and the two task-state segments of cpu/tss.c. GRUB leaves a GDT of its own, but the Multiboot specification
 * says the kernel must not rely on it (section 3.2).
 */
#ifndef SHOMPOS_CPU_GDT_H
#define SHOMPOS_CPU_GDT_H

#include <stdint.h>

#define GDT_KERNEL_CODE 0x08    /* selector of entry 1 */
#define GDT_KERNEL_DATA 0x10    /* selector of entry 2 */
#define GDT_KERNEL_TASK 0x18    /* entry 3: the kernel's TSS (cpu/tss.c) */
#define GDT_DOUBLE_FAULT_TASK 0x20  /* entry 4: the double-fault task's TSS */

void gdt_init(void);

/* Describe the task-state segment of bytes bytes at tss in the entry of selector. */
void gdt_set_tss(unsigned selector, const void *tss, uint32_t bytes);

#endif
