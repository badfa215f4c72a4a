/*
 * gdt.h - the Global Descriptor Table: a flat 4 GiB code and data segment
 * for ring 0. GRUB leaves a GDT of its own, but the Multiboot specification
 * says the kernel must not rely on it (section 3.2).
 */
#ifndef SHOMPOS_CPU_GDT_H
#define SHOMPOS_CPU_GDT_H

#define GDT_KERNEL_CODE 0x08    /* selector of entry 1 */
#define GDT_KERNEL_DATA 0x10    /* selector of entry 2 */

void gdt_init(void);

#endif
