/*
 * bootinfo.h - what the kernel needs from its bootloader, copied once into
 * kernel memory at the start of kernel_main: the loader's name, the command
 * line, the memory map, where the modules lie and the framebuffer's mode.
 * Only src/boot/bootinfo.c reads the Multiboot structures (boot/multiboot.h);
 * everything else reads struct boot_info, so the memory GRUB left them in
 * need not stay mapped or reserved. Host tests build a boot_info directly.
 */
#ifndef SHOMPOS_BOOT_BOOTINFO_H
#define SHOMPOS_BOOT_BOOTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOOT_STRING_BYTES       256     /* a copied string, its terminating zero included */
#define BOOT_MAX_MEMORY_ENTRIES 128     /* as many as Linux keeps of an E820 map */
#define BOOT_MAX_MODULES        16

/* A memory map entry's type, as Multiboot numbers them; any other value is reserved. */
enum boot_memory_type {
    BOOT_MEMORY_USABLE = 1,
    BOOT_MEMORY_RESERVED = 2,
    BOOT_MEMORY_ACPI_RECLAIMABLE = 3,
    BOOT_MEMORY_ACPI_NVS = 4,
    BOOT_MEMORY_BAD = 5,
};

/* A span of physical addresses, [start, end). */
struct boot_range {
    uint64_t start, end;
};

struct boot_memory_entry {
    uint64_t base, length;              /* the loader's figures: base + length may pass 2^64 */
    uint32_t type;                      /* enum boot_memory_type, or another value (reserved) */
};

/* A string the loader passed: whether it did, how long it was, and as much as fits. */
struct boot_string {
    bool given;                         /* false: the loader passed none ("" in text) */
    size_t length;                      /* the loader's length; text is cut when it is
                                           BOOT_STRING_BYTES or more */
    char text[BOOT_STRING_BYTES];       /* zero-terminated */
};

/* A framebuffer's type (Multiboot framebuffer_type). */
enum boot_framebuffer_type {
    BOOT_FRAMEBUFFER_INDEXED = 0,       /* a palette */
    BOOT_FRAMEBUFFER_RGB = 1,           /* colour fields as below */
    BOOT_FRAMEBUFFER_TEXT = 2,          /* EGA text: not pixels */
};

/* Where one colour's bits sit in a pixel: its lowest bit and how many bits. */
struct boot_colour_field {
    uint8_t position, size;
};

struct boot_framebuffer {
    uint64_t address;                   /* physical address of pixel (0, 0) */
    uint32_t pitch;                     /* bytes from one pixel row to the next */
    uint32_t width, height;             /* pixels */
    uint8_t bpp;                        /* bits a pixel */
    uint8_t type;                       /* enum boot_framebuffer_type */
    struct boot_colour_field red, green, blue;      /* BOOT_FRAMEBUFFER_RGB only */
};

struct boot_info {
    struct boot_string loader_name;
    struct boot_string command_line;

    /* The map in the loader's order (unsorted, maybe overlapping). None given: count 0. */
    unsigned memory_count;
    struct boot_memory_entry memory[BOOT_MAX_MEMORY_ENTRIES];
    /*
     * Entries that did not fit. When the table is full, a non-usable entry
     * takes the place of the last usable one, so every reserved byte a kept
     * usable entry overlaps stays known; only usable RAM is ever left out.
     */
    unsigned memory_left_out;

    /* Module i is [start, end); with more than BOOT_MAX_MODULES, the last range spans the rest. */
    unsigned module_count;
    struct boot_range modules[BOOT_MAX_MODULES];

    bool has_framebuffer;
    struct boot_framebuffer framebuffer;        /* all zero when has_framebuffer is false */
};

struct multiboot_info;

/*
 * Empty *boot, then, when magic is the Multiboot loader's (EAX at entry),
 * copy into it every field of info whose flag is set. Reads info and what it
 * points to, and nothing after it returns. Returns false, and leaves *boot
 * empty without reading info, when magic says no Multiboot loader started us.
 */
bool bootinfo_copy(struct boot_info *boot, uint32_t magic, const struct multiboot_info *info);

/* Is the command line one of its space-separated words? */
bool bootinfo_has_word(const struct boot_info *boot, const char *word);

#endif
