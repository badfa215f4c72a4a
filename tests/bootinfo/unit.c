/*
 * unit.c - host unit tests of src/boot/bootinfo.c: what it copies out of
 * the Multiboot information into struct boot_info, what it leaves alone
 * (fields whose flag is clear, everything after a wrong magic), and how it
 * cuts what does not fit. The information holds 32-bit addresses, so each
 * test builds it in the boot area, a fixed mapping below 4 GiB; the
 * forbidden page after it is never readable, so a read there stops the run.
 * Prints one line per test and each failure as file:line, then
 * "N passed, N failed".
 */
#define _GNU_SOURCE             /* MAP_FIXED_NOREPLACE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../lib/check.h"
#include "boot/bootinfo.h"
#include "boot/multiboot.h"

/* ---- fixtures ------------------------------------------------------------------ */

/*
 * The boot area and where each structure goes in it:
 *
 *   +0x0000 multiboot_info  +0x1000 map  +0x4000 command line  +0x5000 loader name
 *   +0x6000 module list     ... BOOT_AREA_BYTES: the forbidden page (PROT_NONE)
 */
#define BOOT_AREA       0x10000u
#define BOOT_AREA_BYTES 0x10000u
#define FORBIDDEN       (BOOT_AREA + BOOT_AREA_BYTES)
#define PAGE_BYTES      0x1000u
#define MAP_AT          (BOOT_AREA + 0x1000u)
#define CMDLINE_AT      (BOOT_AREA + 0x4000u)
#define LOADER_AT       (BOOT_AREA + 0x5000u)
#define MODULES_AT      (BOOT_AREA + 0x6000u)
#define MAP_ROOM        (CMDLINE_AT - MAP_AT)

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static struct multiboot_info *const info = (struct multiboot_info *)(uintptr_t)BOOT_AREA;
static struct boot_info boot;

static uint32_t put_string(uint32_t at, const char *text)
{
    strcpy((char *)(uintptr_t)at, text);
    return at;
}

/* Append one map entry whose size field says `size` (20 for a plain entry); returns its end. */
static uint32_t put_entry(uint32_t at, uint32_t size, uint64_t base, uint64_t length, uint32_t type)
{
    struct multiboot_mmap_entry entry = { .size = size, .base = base, .length = length, .type = type };

    memcpy((void *)(uintptr_t)at, &entry, sizeof(entry));
    return at + size + sizeof(entry.size);
}

static void put_modules(unsigned count, uint32_t first, uint32_t stride, uint32_t length)
{
    struct multiboot_module *modules = (struct multiboot_module *)(uintptr_t)MODULES_AT;

    for (unsigned i = 0; i < count; i++)
        modules[i] = (struct multiboot_module){ first + i * stride, first + i * stride + length, 0, 0 };
    info->flags |= MULTIBOOT_INFO_MODS;
    info->mods_addr = MODULES_AT;
    info->mods_count = count;
}

/* GRUB under OVMF: loader name, command line, a three-entry map, a 1024x768 RGB framebuffer. */
static void put_grub_information(void)
{
    info->flags = MULTIBOOT_INFO_LOADER_NAME | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_FRAMEBUFFER;
    info->boot_loader_name = put_string(LOADER_AT, "GRUB 2.06");
    info->cmdline = put_string(CMDLINE_AT, "/boot/shompos.elf selftest");
    uint32_t at = put_entry(MAP_AT, 20, 0x0, 0x9fc00, MULTIBOOT_MEMORY_AVAILABLE);
    at = put_entry(at, 20, 0x100000, 0x7ee0000, MULTIBOOT_MEMORY_AVAILABLE);
    at = put_entry(at, 20, 0xfffc0000, 0x40000, MULTIBOOT_MEMORY_RESERVED);
    info->flags |= MULTIBOOT_INFO_MEM_MAP;
    info->mmap_addr = MAP_AT;
    info->mmap_length = at - MAP_AT;
    info->framebuffer_addr = 0x80000000;
    info->framebuffer_pitch = 4096;
    info->framebuffer_width = 1024;
    info->framebuffer_height = 768;
    info->framebuffer_bpp = 32;
    info->framebuffer_type = MULTIBOOT_FRAMEBUFFER_RGB;
    info->colour_info.rgb.red_position = 16, info->colour_info.rgb.red_size = 8;
    info->colour_info.rgb.green_position = 8, info->colour_info.rgb.green_size = 8;
    info->colour_info.rgb.blue_position = 0, info->colour_info.rgb.blue_size = 8;
}

/* Every address field of info points into the forbidden page, for tests that it is not read. */
static void point_everything_at_the_forbidden_page(void)
{
    info->cmdline = info->boot_loader_name = FORBIDDEN;
    info->mmap_addr = info->mods_addr = FORBIDDEN;
    info->mmap_length = PAGE_BYTES;
    info->mods_count = 4;
}

static bool entry_is(const struct boot_memory_entry *entry, uint64_t base, uint64_t length, uint32_t type)
{
    return entry->base == base && entry->length == length && entry->type == type;
}

/* ---- the tests ------------------------------------------------------------------ */

static void grubs_strings_map_and_framebuffer_are_copied_whole(void)
{
    put_grub_information();

    CHECK(bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info));
    CHECK(boot.loader_name.given && strcmp(boot.loader_name.text, "GRUB 2.06") == 0);
    CHECK_EQ(boot.loader_name.length, 9);
    CHECK(boot.command_line.given && strcmp(boot.command_line.text, "/boot/shompos.elf selftest") == 0);
    CHECK_EQ(boot.memory_count, 3);
    CHECK(entry_is(&boot.memory[0], 0x0, 0x9fc00, BOOT_MEMORY_USABLE));
    CHECK(entry_is(&boot.memory[1], 0x100000, 0x7ee0000, BOOT_MEMORY_USABLE));
    CHECK(entry_is(&boot.memory[2], 0xfffc0000, 0x40000, BOOT_MEMORY_RESERVED));
    CHECK_EQ(boot.memory_left_out, 0);
    CHECK_EQ(boot.module_count, 0);
    CHECK(boot.has_framebuffer);
    CHECK_EQ(boot.framebuffer.address, 0x80000000);
    CHECK_EQ(boot.framebuffer.pitch, 4096);
    CHECK_EQ(boot.framebuffer.width, 1024);
    CHECK_EQ(boot.framebuffer.height, 768);
    CHECK_EQ(boot.framebuffer.bpp, 32);
    CHECK_EQ(boot.framebuffer.type, BOOT_FRAMEBUFFER_RGB);
    CHECK(boot.framebuffer.red.position == 16 && boot.framebuffer.red.size == 8);
    CHECK(boot.framebuffer.green.position == 8 && boot.framebuffer.green.size == 8);
    CHECK(boot.framebuffer.blue.position == 0 && boot.framebuffer.blue.size == 8);
}

static void the_copy_stays_the_same_when_the_loaders_memory_is_overwritten(void)
{
    static struct boot_info before;

    put_grub_information();
    put_modules(2, 0x400000, 0x100000, 0x1000);
    bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info);
    before = boot;
    memset((void *)(uintptr_t)BOOT_AREA, 0xEE, BOOT_AREA_BYTES);
    CHECK(memcmp(&boot, &before, sizeof(boot)) == 0);
    CHECK(boot.module_count == 2 && boot.modules[1].start == 0x500000 && boot.modules[1].end == 0x501000);
}

static void fields_whose_flag_is_clear_are_not_read(void)
{
    put_grub_information();
    point_everything_at_the_forbidden_page();
    info->flags = 0;

    CHECK(bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info));
    CHECK(!boot.loader_name.given && boot.loader_name.text[0] == '\0');
    CHECK(!boot.command_line.given && boot.command_line.text[0] == '\0');
    CHECK_EQ(boot.memory_count, 0);
    CHECK_EQ(boot.module_count, 0);
    CHECK(!boot.has_framebuffer);
    CHECK_EQ(boot.framebuffer.address, 0);
}

static void a_map_without_its_flag_is_not_read(void)
{
    put_grub_information();
    info->flags &= ~MULTIBOOT_INFO_MEM_MAP;

    bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info);
    CHECK_EQ(boot.memory_count, 0);
    CHECK(boot.loader_name.given && boot.has_framebuffer);
}

static void a_wrong_magic_empties_the_boot_info_and_reads_nothing(void)
{
    memset(&boot, 0xAB, sizeof(boot));

    CHECK(!bootinfo_copy(&boot, 0x1BADB002, (const struct multiboot_info *)(uintptr_t)FORBIDDEN));
    CHECK(!boot.loader_name.given && !boot.command_line.given && !boot.has_framebuffer);
    CHECK(boot.memory_count == 0 && boot.module_count == 0 && boot.memory_left_out == 0);
}

static void a_string_at_address_0_counts_as_not_given(void)
{
    put_grub_information();
    info->cmdline = 0;

    bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info);
    CHECK(!boot.command_line.given);
    CHECK(boot.loader_name.given);
}

static void a_string_longer_than_the_copy_is_cut_and_keeps_its_full_length(void)
{
    char long_line[BOOT_STRING_BYTES + 40];

    memset(long_line, 'x', sizeof(long_line) - 1);
    long_line[sizeof(long_line) - 1] = '\0';
    put_grub_information();
    info->cmdline = put_string(CMDLINE_AT, long_line);

    bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info);
    CHECK_EQ(boot.command_line.length, sizeof(long_line) - 1);
    CHECK_EQ(strlen(boot.command_line.text), BOOT_STRING_BYTES - 1);
    CHECK(strncmp(boot.command_line.text, long_line, BOOT_STRING_BYTES - 1) == 0);
}

/* Entries may be longer than the fields we know; a last one cut short by mmap_length is not read. */
static void map_entries_are_stepped_over_by_their_own_size_field(void)
{
    uint32_t at = put_entry(MAP_AT, 24, 0x100000, 0x1000, MULTIBOOT_MEMORY_AVAILABLE);

    at = put_entry(at, 20, 0x200000, 0x2000, 20);
    at = put_entry(at, 20, 0x300000, 0x3000, MULTIBOOT_MEMORY_AVAILABLE);
    info->flags = MULTIBOOT_INFO_MEM_MAP;
    info->mmap_addr = MAP_AT;
    info->mmap_length = at - MAP_AT - 1;

    bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info);
    CHECK_EQ(boot.memory_count, 2);
    CHECK(entry_is(&boot.memory[0], 0x100000, 0x1000, BOOT_MEMORY_USABLE));
    CHECK(entry_is(&boot.memory[1], 0x200000, 0x2000, 20));
}

/* 120 usable entries, then 20 reserved, then 5 usable: every reserved one is kept. */
static void a_map_too_long_to_keep_loses_usable_entries_never_reserved_ones(void)
{
    uint32_t at = MAP_AT;
    unsigned reserved = 0;

    for (unsigned i = 0; i < 145; i++)
        at = put_entry(at, 20, 0x1000000 + (uint64_t)i * 0x10000, 0x10000,
                       i >= 120 && i < 140 ? MULTIBOOT_MEMORY_RESERVED : MULTIBOOT_MEMORY_AVAILABLE);
    info->flags = MULTIBOOT_INFO_MEM_MAP;
    info->mmap_addr = MAP_AT;
    info->mmap_length = at - MAP_AT;

    bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info);
    CHECK_EQ(boot.memory_count, BOOT_MAX_MEMORY_ENTRIES);
    CHECK_EQ(boot.memory_left_out, 145 - BOOT_MAX_MEMORY_ENTRIES);
    for (unsigned i = 0; i < boot.memory_count; i++)
        reserved += boot.memory[i].type == BOOT_MEMORY_RESERVED;
    CHECK_EQ(reserved, 20);
    CHECK(entry_is(&boot.memory[0], 0x1000000, 0x10000, BOOT_MEMORY_USABLE));
}

static void modules_past_the_sixteenth_widen_the_last_range_to_cover_them(void)
{
    put_grub_information();
    put_modules(20, 0x400000, 0x10000, 0x8000);

    bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info);
    CHECK_EQ(boot.module_count, BOOT_MAX_MODULES);
    CHECK(boot.modules[0].start == 0x400000 && boot.modules[0].end == 0x408000);
    CHECK_EQ(boot.modules[BOOT_MAX_MODULES - 1].start, 0x400000 + 15 * 0x10000);
    CHECK_EQ(boot.modules[BOOT_MAX_MODULES - 1].end, 0x400000 + 19 * 0x10000 + 0x8000);
}

static void the_command_line_has_whole_words_only(void)
{
    put_grub_information();
    bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info);
    CHECK(bootinfo_has_word(&boot, "selftest"));
    CHECK(bootinfo_has_word(&boot, "/boot/shompos.elf"));
    CHECK(!bootinfo_has_word(&boot, "self"));
    CHECK(!bootinfo_has_word(&boot, "test"));
    CHECK(!bootinfo_has_word(&boot, "selftests"));

    info->cmdline = put_string(CMDLINE_AT, "noselftest x");
    bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info);
    CHECK(!bootinfo_has_word(&boot, "selftest"));
    info->flags &= ~MULTIBOOT_INFO_CMDLINE;
    bootinfo_copy(&boot, MULTIBOOT_BOOTLOADER_MAGIC, info);
    CHECK(!bootinfo_has_word(&boot, "selftest"));
}

static const struct test bootinfo_tests[] = {
    TEST_ENTRY(grubs_strings_map_and_framebuffer_are_copied_whole),
    TEST_ENTRY(the_copy_stays_the_same_when_the_loaders_memory_is_overwritten),
    TEST_ENTRY(fields_whose_flag_is_clear_are_not_read),
    TEST_ENTRY(a_map_without_its_flag_is_not_read),
    TEST_ENTRY(a_wrong_magic_empties_the_boot_info_and_reads_nothing),
    TEST_ENTRY(a_string_at_address_0_counts_as_not_given),
    TEST_ENTRY(a_string_longer_than_the_copy_is_cut_and_keeps_its_full_length),
    TEST_ENTRY(map_entries_are_stepped_over_by_their_own_size_field),
    TEST_ENTRY(a_map_too_long_to_keep_loses_usable_entries_never_reserved_ones),
    TEST_ENTRY(modules_past_the_sixteenth_widen_the_last_range_to_cover_them),
    TEST_ENTRY(the_command_line_has_whole_words_only),
};

/* ---- running ------------------------------------------------------------------- */

/* Before each test: an empty boot area, no flags. */
static void test_setup(void)
{
    memset((void *)(uintptr_t)BOOT_AREA, 0, BOOT_AREA_BYTES);
}

int main(void)
{
    int passed = 0, failed = 0;

    setvbuf(stdout, NULL, _IONBF, 0);
    void *area = mmap((void *)(uintptr_t)BOOT_AREA, BOOT_AREA_BYTES + PAGE_BYTES, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (area != (void *)(uintptr_t)BOOT_AREA || mprotect((void *)(uintptr_t)FORBIDDEN, PAGE_BYTES, PROT_NONE)) {
        printf("cannot map the boot area at 0x%x\n0 passed, 1 failed\n", BOOT_AREA);
        return 1;
    }
    check_run(bootinfo_tests, COUNT(bootinfo_tests), test_setup, NULL, &passed, &failed);
    munmap(area, BOOT_AREA_BYTES + PAGE_BYTES);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
