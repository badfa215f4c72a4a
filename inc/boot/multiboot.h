/*
 * multiboot.h - the Multiboot (version 1) information structure GRUB hands
 * the kernel, as the Multiboot Specification 0.6.96, section 3.3, lays it
 * out. Only the fields ShompOS reads are named; flags bits say which exist.
 */
#ifndef SHOMPOS_BOOT_MULTIBOOT_H
#define SHOMPOS_BOOT_MULTIBOOT_H

#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002  /* in EAX when a Multiboot loader jumps to us */

/* Bits of multiboot_info.flags: which fields below are valid. */
#define MULTIBOOT_INFO_MEMORY       (1u << 0)   /* mem_lower, mem_upper */
#define MULTIBOOT_INFO_CMDLINE      (1u << 2)
#define MULTIBOOT_INFO_MODS         (1u << 3)
#define MULTIBOOT_INFO_MEM_MAP      (1u << 6)
#define MULTIBOOT_INFO_LOADER_NAME  (1u << 9)
#define MULTIBOOT_INFO_FRAMEBUFFER  (1u << 12)

/* Memory map entry types; any other value is reserved. */
#define MULTIBOOT_MEMORY_AVAILABLE        1
#define MULTIBOOT_MEMORY_RESERVED         2
#define MULTIBOOT_MEMORY_ACPI_RECLAIMABLE 3
#define MULTIBOOT_MEMORY_NVS              4
#define MULTIBOOT_MEMORY_BADRAM           5

/* Framebuffer types (field framebuffer_type). */
#define MULTIBOOT_FRAMEBUFFER_INDEXED 0
#define MULTIBOOT_FRAMEBUFFER_RGB     1
#define MULTIBOOT_FRAMEBUFFER_TEXT    2

struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;      /* KiB below 1 MiB and above it */
    uint32_t boot_device;
    uint32_t cmdline;                   /* physical address of a C string */
    uint32_t mods_count, mods_addr;     /* array of struct multiboot_module */
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;    /* struct multiboot_mmap_entry, variable size */
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
    uint64_t framebuffer_addr;
    uint32_t framebuffer_pitch;         /* bytes per row */
    uint32_t framebuffer_width, framebuffer_height;
    uint8_t framebuffer_bpp, framebuffer_type;
    /* GRUB aligns this union to 4 bytes: it starts at offset 112, not 110. */
    union {
        struct { uint32_t palette_addr; uint16_t palette_colours; } indexed;
        struct {
            uint8_t red_position, red_size;
            uint8_t green_position, green_size;
            uint8_t blue_position, blue_size;
        } rgb;
    } colour_info;
};

/* Each entry is preceded by its own size, which does not count itself. */
struct multiboot_mmap_entry {
    uint32_t size;
    uint64_t base;
    uint64_t length;
    uint32_t type;
} __attribute__((packed));

struct multiboot_module {
    uint32_t start, end;                /* [start, end) physical */
    uint32_t cmdline;
    uint32_t reserved;
};

#endif
