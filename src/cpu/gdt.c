/*
 * gdt.c - build and load a flat GDT: null, kernel code, kernel data, and
 * the two TSS descriptors cpu/tss.c fills in. Intel SDM volume 3, sections
 * 3.4.5 (segment descriptors) and 7.2.2 (TSS descriptors). No user
 * segments: ShompOS runs everything in ring 0.
 */
#include <stdint.h>
#include "cpu/gdt.h"

struct gdt_entry {
    uint16_t limit_low;
    uint16_t base_low;
    uint8_t base_middle;
    uint8_t access;         /* present, ring, type */
    uint8_t granularity;    /* limit bits 16-19, 4 KiB units, 32-bit */
    uint8_t base_high;
} __attribute__((packed));

struct gdt_pointer {
    uint16_t limit;         /* size of the table minus one */
    uint32_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct gdt_entry) == 8, "a GDT descriptor is 8 bytes");

/* Access byte: present | ring 0 | code/data | type. */
#define GDT_CODE_ACCESS 0x9A    /* present, ring 0, executable, readable */
#define GDT_DATA_ACCESS 0x92    /* present, ring 0, writable */
#define GDT_FLAT_4GIB   0xCF    /* limit 0xFFFFF in 4 KiB pages, 32-bit operands */
#define GDT_TSS_ACCESS  0x89    /* present, ring 0, 32-bit TSS, not busy */
#define GDT_BYTE_LIMIT  0x00    /* limit in bytes */

static struct gdt_entry gdt[5];

void gdt_load(const struct gdt_pointer *pointer);   /* boot/cpu.S */

static struct gdt_entry gdt_flat_segment(uint8_t access)
{
    return (struct gdt_entry){
        .limit_low = 0xFFFF, .base_low = 0, .base_middle = 0,
        .access = access, .granularity = GDT_FLAT_4GIB, .base_high = 0,
    };
}

void gdt_set_tss(unsigned selector, const void *tss, uint32_t bytes)
{
    uint32_t base = (uint32_t)(uintptr_t)tss, limit = bytes - 1;

    gdt[selector / 8] = (struct gdt_entry){
        .limit_low = limit & 0xFFFF, .base_low = base & 0xFFFF,
        .base_middle = (base >> 16) & 0xFF, .access = GDT_TSS_ACCESS,
        .granularity = GDT_BYTE_LIMIT | ((limit >> 16) & 0x0F), .base_high = base >> 24,
    };
}

void gdt_init(void)
{
    gdt[0] = (struct gdt_entry){0};     /* the CPU requires a null descriptor first */
    gdt[GDT_KERNEL_CODE / 8] = gdt_flat_segment(GDT_CODE_ACCESS);
    gdt[GDT_KERNEL_DATA / 8] = gdt_flat_segment(GDT_DATA_ACCESS);

    static struct gdt_pointer pointer;
    pointer.limit = sizeof(gdt) - 1;
    pointer.base = (uint32_t)(uintptr_t)gdt;
    gdt_load(&pointer);
}
