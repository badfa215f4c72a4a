/*
 * unit.c - host unit tests of src/memory/memmap.c: which bytes of a memory
 * map it offers the heap (fakes.h records them), what it prints, and why.
 * Each test builds the struct boot_info that src/boot/bootinfo.c would have
 * copied from Multiboot (its own tests are in tests/bootinfo). Prints one
 * line per test and each failure as file:line, then "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/check.h"
#include "boot/bootinfo.h"
#include "fakes.h"
#include "memory/memmap.h"

/* ---- fixtures ------------------------------------------------------------------ */

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define KERNEL_START ((uint64_t)(uintptr_t)kernel_start)    /* 1 MiB: memmap.mk */
#define KERNEL_END ((uint64_t)(uintptr_t)kernel_end)

enum { RAM = BOOT_MEMORY_USABLE, RESERVED = BOOT_MEMORY_RESERVED,
       ACPI = BOOT_MEMORY_ACPI_RECLAIMABLE, NVS = BOOT_MEMORY_ACPI_NVS, BAD = BOOT_MEMORY_BAD };

static struct boot_info boot;

/* Boot information with these map entries and nothing else. */
static struct boot_info *boot_info(const struct boot_memory_entry *entries, size_t count)
{
    if (count > BOOT_MAX_MEMORY_ENTRIES)
        abort();
    memset(&boot, 0, sizeof(boot));
    for (size_t i = 0; i < count; i++)
        boot.memory[i] = entries[i];
    boot.memory_count = (unsigned)count;
    return &boot;
}

#define ENTRIES(...) (const struct boot_memory_entry[]){ __VA_ARGS__ }
#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define BOOT_INFO(...) boot_info(ENTRIES(__VA_ARGS__), COUNT(ENTRIES(__VA_ARGS__)))

/* QEMU's map for -m 128 under SeaBIOS. */
#define QEMU_128_MIB_MAP                                                      \
    { 0x0000000, 0x009fc00, RAM }, { 0x009fc00, 0x0000400, RESERVED },        \
    { 0x00f0000, 0x0010000, RESERVED }, { 0x0100000, 0x7ee0000, RAM },        \
    { 0x7fe0000, 0x0020000, RESERVED }, { 0xfffc0000, 0x0040000, RESERVED }

/* `count` modules of `length` bytes, one every `stride` bytes from `first`, as boot info keeps them. */
static void put_modules(struct boot_info *info, unsigned count, uint64_t first, uint64_t stride,
                        uint64_t length)
{
    for (unsigned i = 0; i < count && i < BOOT_MAX_MODULES; i++)
        info->modules[i] = (struct boot_range){ first + i * stride, first + i * stride + length };
    if (count > BOOT_MAX_MODULES)       /* the last range spans the rest */
        info->modules[BOOT_MAX_MODULES - 1].end = first + (count - 1) * stride + length;
    info->module_count = count < BOOT_MAX_MODULES ? count : BOOT_MAX_MODULES;
}

static int span_before(const void *a, const void *b)
{
    const struct span *x = a, *y = b;

    return (x->start > y->start) - (x->start < y->start);
}

/* The heap was offered exactly these spans, in any order. */
#define CHECK_REGIONS(...) \
    check_regions(__FILE__, __LINE__, (const struct span[]){ __VA_ARGS__ }, \
                  COUNT(((const struct span[]){ __VA_ARGS__ })))
static void check_regions(const char *file, int line, const struct span *expected, size_t count)
{
    struct span offered[HEAP_MAX_REGIONS];
    size_t n = fake_heap.count;

    memcpy(offered, fake_heap.regions, n * sizeof(offered[0]));
    qsort(offered, n, sizeof(offered[0]), span_before);
    int same = n == count;
    for (size_t i = 0; same && i < n; i++)
        same = offered[i].start == expected[i].start && offered[i].end == expected[i].end;
    CHECK_AT(file, line, same && "the heap was offered other regions");
    if (same)
        return;
    printf("    %-30s%s\n", "expected", "offered");
    for (size_t i = 0; i < n || i < count; i++) {
        char row[2][32] = { "-", "-" };
        if (i < count)
            snprintf(row[0], sizeof(row[0]), "0x%09llx-0x%09llx",
                     (unsigned long long)expected[i].start, (unsigned long long)expected[i].end);
        if (i < n)
            snprintf(row[1], sizeof(row[1]), "0x%09llx-0x%09llx",
                     (unsigned long long)offered[i].start, (unsigned long long)offered[i].end);
        printf("    %-30s%s\n", row[0], row[1]);
    }
}

/* kprintf printed exactly `expected`. */
#define CHECK_OUTPUT(expected) check_output(__FILE__, __LINE__, expected)
static void check_output(const char *file, int line, const char *expected)
{
    CHECK_AT(file, line, strcmp(fake_output(), expected) == 0);
    if (strcmp(fake_output(), expected) != 0)
        printf("--- expected:\n%s--- printed:\n%s---\n", expected, fake_output());
}

/* ---- the tests ------------------------------------------------------------------ */

static void qemu_bios_map_at_128_mib_gives_the_ram_above_the_kernel(void)
{
    struct boot_info *info = BOOT_INFO(QEMU_128_MIB_MAP);

    CHECK_EQ(memmap_fill_heap(info, 0), 0x7fe0000 - KERNEL_END);
    CHECK_REGIONS({ KERNEL_END, 0x7fe0000 });
    CHECK_EQ(fake_heap.init_calls, 1);
    CHECK_OUTPUT("");
}

static void the_debug_flags_are_set_after_heap_init_and_before_the_first_region(void)
{
    struct boot_info *info = BOOT_INFO(QEMU_128_MIB_MAP);

    memmap_fill_heap(info, HEAP_DEBUG_ALL);
    CHECK_EQ(fake_heap.debug_flags, HEAP_DEBUG_ALL);
    CHECK_EQ(fake_heap.debug_set_at, 0);
    CHECK_EQ(fake_heap.count, 1);
    memmap_fill_heap(info, 0);
    CHECK_EQ(fake_heap.debug_flags, 0);
    CHECK_EQ(fake_heap.debug_set_at, 0);
}

static void ovmf_map_with_18_fragments_and_type_20_gives_only_the_type_1_pieces(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x0000000, 0x00a0000, RAM },      { 0x0100000, 0x0700000, RAM },
        { 0x0800000, 0x0008000, NVS },      { 0x0808000, 0x0003000, RAM },
        { 0x080b000, 0x0001000, NVS },      { 0x080c000, 0x0004000, RAM },
        { 0x0810000, 0x00f0000, NVS },      { 0x0900000, 0x6d6a000, RAM },
        { 0x766a000, 0x0020000, RESERVED }, { 0x768a000, 0x0300000, RAM },
        { 0x798a000, 0x0200000, 20 },       { 0x7b8a000, 0x0100000, RAM },
        { 0x7c8a000, 0x0080000, RESERVED }, { 0x7d0a000, 0x0008000, ACPI },
        { 0x7d12000, 0x0004000, NVS },      { 0x7d16000, 0x02ea000, RAM },
        { 0xb0000000, 0x10000000, RESERVED }, { 0xffc00000, 0x0400000, RESERVED });

    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ KERNEL_END, 0x0800000 }, { 0x0808000, 0x080b000 }, { 0x080c000, 0x0810000 },
                  { 0x0900000, 0x766a000 }, { 0x768a000, 0x798a000 }, { 0x7b8a000, 0x7c8a000 },
                  { 0x7d16000, 0x8000000 });
    CHECK_OUTPUT("");
}

static void reserved_entries_overlapping_usable_ram_win_wherever_they_are_listed(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x2000000, 0x0100000, NVS },                  /* before the RAM, inside it */
        { 0x0100000, 0x7f00000, RAM },
        { 0x3000000, 0x0100000, RESERVED },             /* inside */
        { 0x7f00000, 0x0200000, RESERVED },             /* across the end */
        { 0x0080000, 0x0100000, 20 });                  /* across 1 MiB and past the kernel */

    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ 0x0180000, 0x2000000 }, { 0x2100000, 0x3000000 }, { 0x3100000, 0x7f00000 });
}

static void duplicated_usable_entries_are_offered_once(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x0100000, 0x7f00000, RAM }, { 0x0100000, 0x7f00000, RAM }, { 0x0100000, 0x7f00000, RAM });

    CHECK_EQ(memmap_fill_heap(info, 0), 0x8000000 - KERNEL_END);
    CHECK_REGIONS({ KERNEL_END, 0x8000000 });
    CHECK_OUTPUT("");
}

static void overlapping_usable_entries_offer_each_byte_once(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x2000000, 0x1000000, RAM },                  /* inside the next one */
        { 0x0100000, 0x3f00000, RAM },
        { 0x3000000, 0x5000000, RAM },                  /* overlaps the end of the previous */
        { 0x5000000, 0x0100000, RAM });                 /* inside the previous */

    CHECK_EQ(memmap_fill_heap(info, 0), 0x8000000 - KERNEL_END);
    CHECK_REGIONS({ KERNEL_END, 0x2000000 }, { 0x2000000, 0x3000000 }, { 0x3000000, 0x4000000 },
                  { 0x4000000, 0x8000000 });
    CHECK_OUTPUT("");
}

static void usable_ram_above_4_gib_is_left_out_and_an_entry_crossing_it_is_clipped(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x0100000, 0x7f00000, RAM },
        { 0xc0000000, 0x80000000, RAM },                /* 3 GiB to 5 GiB */
        { 0x100000000, 0x40000000, RAM });              /* 4 GiB to 5 GiB */

    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ KERNEL_END, 0x8000000 }, { 0xc0000000, 4 * GIB });
}

static void an_empty_map_gives_an_empty_heap(void)
{
    struct boot_info *info = boot_info(NULL, 0);

    CHECK_EQ(memmap_fill_heap(info, 0), 0);
    CHECK_EQ(fake_heap.count, 0);
    CHECK_EQ(fake_heap.init_calls, 1);
    memmap_print(info);
    CHECK_OUTPUT("memory map: none (the bootloader gave no map; no heap)\n");
}

static void unsorted_entries_give_the_same_regions_as_sorted_ones(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x7fe0000, 0x0020000, RESERVED }, { 0x4000000, 0x3fe0000, RAM },
        { 0xfffc0000, 0x0040000, RESERVED }, { 0x0000000, 0x009fc00, RAM },
        { 0x0100000, 0x3f00000, RAM }, { 0x009fc00, 0x0000400, RESERVED });

    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ KERNEL_END, 0x4000000 }, { 0x4000000, 0x7fe0000 });
}

static void more_than_16_modules_all_stay_out_of_the_heap(void)
{
    struct boot_info *info = BOOT_INFO(QEMU_128_MIB_MAP);

    put_modules(info, 20, 0x400000, 0x10000, 0x8000);
    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ KERNEL_END, 0x400000 }, { 0x400000 + 19 * 0x10000 + 0x8000, 0x7fe0000 });
}

static void zero_length_entries_change_nothing(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x2000000, 0, RAM }, QEMU_128_MIB_MAP, { 0x3000000, 0, RESERVED }, { 0x4000000, 0, RAM });

    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ KERNEL_END, 0x7fe0000 });
}

static void a_length_running_past_2_to_the_64_stops_there_instead_of_wrapping(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x0100000, UINT64_MAX, RAM },                 /* usable to the end of memory */
        { 0x6000000, UINT64_MAX, RESERVED });           /* reserved from 96 MiB to the end */

    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ KERNEL_END, 0x6000000 });
}

/* The kernel, a module and the framebuffer; GRUB's own structures are copied, so none of them. */
static void the_kernel_a_module_and_the_framebuffer_all_stay_out_of_the_heap(void)
{
    struct boot_info *info = BOOT_INFO(QEMU_128_MIB_MAP);

    put_modules(info, 1, 0x400000, 0, 0x1000);
    info->has_framebuffer = true;
    info->framebuffer = (struct boot_framebuffer){ .address = 0x4000000, .pitch = 1024 * 4,
                                                   .width = 1024, .height = 768, .bpp = 32,
                                                   .type = BOOT_FRAMEBUFFER_RGB };
    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ KERNEL_END, 0x400000 }, { 0x401000, 0x4000000 },
                  { 0x4000000 + 1024 * 4 * 768, 0x7fe0000 });
}

static void a_framebuffer_inside_usable_ram_stays_out_of_the_heap(void)
{
    struct boot_info *info = BOOT_INFO(QEMU_128_MIB_MAP);

    info->has_framebuffer = true;
    info->framebuffer.address = 0x4000000;
    info->framebuffer.pitch = 1024 * 4;
    info->framebuffer.height = 768;
    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ KERNEL_END, 0x4000000 }, { 0x4000000 + 1024 * 4 * 768, 0x7fe0000 });
}

static void regions_past_the_heap_limit_are_reported_with_that_reason(void)
{
    struct boot_memory_entry entries[HEAP_MAX_REGIONS + 2];

    for (unsigned i = 0; i < COUNT(entries); i++)
        entries[i] = (struct boot_memory_entry){ 0x1000000 + i * 0x20000, 0x10000, RAM };
    struct boot_info *info = boot_info(entries, COUNT(entries));
    CHECK_EQ(memmap_fill_heap(info, 0), HEAP_MAX_REGIONS * 0x10000);
    CHECK_EQ(fake_heap.count, HEAP_MAX_REGIONS);
    CHECK_OUTPUT("heap: region 0x01800000-0x0180ffff refused: the heap's limit of 64 regions is reached\n"
                 "heap: region 0x01820000-0x0182ffff refused: the heap's limit of 64 regions is reached\n");
}

static void a_sliver_too_small_for_a_block_is_dropped_silently(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x0100000, 0x7f00000, RAM },
        { 0x2000000, 0x0001000, RESERVED }, { 0x2001010, 0x0001000, RESERVED });   /* 16 bytes apart */

    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ KERNEL_END, 0x2000000 }, { 0x2002010, 0x8000000 });
    CHECK_OUTPUT("");
}

static void a_region_of_4_kib_or_more_too_small_for_a_block_is_reported(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x0100000, 0x7f00000, RAM },
        { 0x2000000, 0x0001800, RESERVED }, { 0x2003000, 0x0001000, RESERVED });  /* 6 KiB apart */

    fake_heap.min_scale = 13;       /* 8 KiB blocks */
    memmap_fill_heap(info, 0);
    CHECK_REGIONS({ KERNEL_END, 0x2000000 }, { 0x2004000, 0x8000000 });
    CHECK_OUTPUT("heap: region 0x02001800-0x02002fff refused: too small for one 8192-byte block"
                 " once aligned\n");
}

static void the_result_is_the_bytes_the_heap_manages_after_alignment(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x0100000, 0x0f00000, RAM }, { 0x1000000, 0x0000020, RESERVED }, { 0x1000000, 0x0003000, RAM });

    fake_heap.min_scale = 12;       /* 4 KiB blocks: of 0x1000020-0x1003000 the heap keeps 8 KiB */
    CHECK_EQ(memmap_fill_heap(info, 0), 0x1000000 - KERNEL_END + 0x2000);
    CHECK_REGIONS({ KERNEL_END, 0x1000000 }, { 0x1000020, 0x1003000 });
}

static void memmap_print_lists_every_entry_and_the_usable_total_below_4_gib(void)
{
    struct boot_info *info = BOOT_INFO(
        { 0x0000000, 0x009fc00, RAM }, { 0x0100000, 0x7ee0000, RAM },
        { 0xfffc0000, 0x0040000, RESERVED }, { 0x7fe0000, 0x20000, 20 },
        { 0x100000000, 0x40000000, RAM });

    memmap_print(info);
    CHECK_OUTPUT(
        "memory map: 5 entries\n"
        "  base 0x0000000000000000 length 0x000000000009fc00 type 1 usable\n"
        "  base 0x0000000000100000 length 0x0000000007ee0000 type 1 usable\n"
        "  base 0x00000000fffc0000 length 0x0000000000040000 type 2 reserved\n"
        "  base 0x0000000007fe0000 length 0x0000000000020000 type 20 unknown (treated as reserved)\n"
        "  base 0x0000000100000000 length 0x0000000040000000 type 1 usable"
        " (above 4 GiB: not usable by a 32-bit kernel)\n"
        "usable RAM: 130559 KiB below 4 GiB, 1048576 KiB above 4 GiB not usable\n");
}

static void memmap_print_names_acpi_nvs_and_bad_ram(void)
{
    struct boot_info *info = BOOT_INFO({ 0x0100000, 0x7f00000, RAM }, { 0x8000000, 0x10000, ACPI },
                                       { 0x8010000, 0x10000, NVS }, { 0x8020000, 0x1000, BAD });

    memmap_print(info);
    CHECK_OUTPUT(
        "memory map: 4 entries\n"
        "  base 0x0000000000100000 length 0x0000000007f00000 type 1 usable\n"
        "  base 0x0000000008000000 length 0x0000000000010000 type 3 ACPI reclaimable\n"
        "  base 0x0000000008010000 length 0x0000000000010000 type 4 ACPI NVS\n"
        "  base 0x0000000008020000 length 0x0000000000001000 type 5 bad RAM\n"
        "usable RAM: 130048 KiB below 4 GiB\n");
}

static void memmap_print_says_how_many_entries_boot_info_left_out(void)
{
    struct boot_info *info = BOOT_INFO(QEMU_128_MIB_MAP);

    info->memory_left_out = 3;
    memmap_print(info);
    CHECK(strstr(fake_output(), "  base 0x00000000fffc0000 length 0x0000000000040000 type 2 reserved\n"
                                "memory map: 3 more entries left out (the kernel keeps 128); "
                                "their usable RAM is not used\n"
                                "usable RAM: 130559 KiB below 4 GiB\n") != NULL);
}

static const struct test memmap_tests[] = {
    TEST_ENTRY(qemu_bios_map_at_128_mib_gives_the_ram_above_the_kernel),
    TEST_ENTRY(the_debug_flags_are_set_after_heap_init_and_before_the_first_region),
    TEST_ENTRY(ovmf_map_with_18_fragments_and_type_20_gives_only_the_type_1_pieces),
    TEST_ENTRY(reserved_entries_overlapping_usable_ram_win_wherever_they_are_listed),
    TEST_ENTRY(duplicated_usable_entries_are_offered_once),
    TEST_ENTRY(overlapping_usable_entries_offer_each_byte_once),
    TEST_ENTRY(usable_ram_above_4_gib_is_left_out_and_an_entry_crossing_it_is_clipped),
    TEST_ENTRY(an_empty_map_gives_an_empty_heap),
    TEST_ENTRY(unsorted_entries_give_the_same_regions_as_sorted_ones),
    TEST_ENTRY(more_than_16_modules_all_stay_out_of_the_heap),
    TEST_ENTRY(zero_length_entries_change_nothing),
    TEST_ENTRY(a_length_running_past_2_to_the_64_stops_there_instead_of_wrapping),
    TEST_ENTRY(the_kernel_a_module_and_the_framebuffer_all_stay_out_of_the_heap),
    TEST_ENTRY(a_framebuffer_inside_usable_ram_stays_out_of_the_heap),
    TEST_ENTRY(regions_past_the_heap_limit_are_reported_with_that_reason),
    TEST_ENTRY(a_sliver_too_small_for_a_block_is_dropped_silently),
    TEST_ENTRY(a_region_of_4_kib_or_more_too_small_for_a_block_is_reported),
    TEST_ENTRY(the_result_is_the_bytes_the_heap_manages_after_alignment),
    TEST_ENTRY(memmap_print_lists_every_entry_and_the_usable_total_below_4_gib),
    TEST_ENTRY(memmap_print_names_acpi_nvs_and_bad_ram),
    TEST_ENTRY(memmap_print_says_how_many_entries_boot_info_left_out),
};

/* ---- running ------------------------------------------------------------------- */

/* After each test: memmap never offered the heap a byte twice. */
static void check_no_byte_offered_twice(void)
{
    CHECK_EQ(fake_heap.overlaps, 0);
}

int main(void)
{
    int passed = 0, failed = 0;

    setvbuf(stdout, NULL, _IONBF, 0);
    if (KERNEL_START != 1 * MIB) {
        printf("the kernel is not at 1 MiB (memmap.mk's --defsym)\n0 passed, 1 failed\n");
        return 1;
    }
    check_run(memmap_tests, COUNT(memmap_tests), fakes_reset, check_no_byte_offered_twice, &passed, &failed);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
