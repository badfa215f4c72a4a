/*
 * unit.c - host unit tests of src/memory/memmap.c: which bytes of a
 * Multiboot memory map it offers the heap (fakes.h records them), what it
 * prints, and why. Each test builds a boot information structure and its map
 * in the boot area, a fixed mapping below 4 GiB, because the structure holds
 * 32-bit addresses. Prints each failure as file:line, then "N passed, N failed".
 */
#define _GNU_SOURCE             /* MAP_FIXED_NOREPLACE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../lib/check.h"
#include "boot/multiboot.h"
#include "fakes.h"
#include "memory/memmap.h"

/* ---- fixtures ------------------------------------------------------------------ */

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define KERNEL_START ((uint64_t)(uintptr_t)kernel_start)    /* 1 MiB: memmap.mk */
#define KERNEL_END ((uint64_t)(uintptr_t)kernel_end)

/*
 * The boot area: where tests build the boot information. Below 1 MiB it is
 * low memory, which memmap leaves out anyway, so it adds no holes to the
 * regions; a test that wants the structures inside usable RAM uses HIGH_BOOT.
 *
 *   +0x0000 multiboot_info   +0x1000 map   +0x3000 command line
 *   +0x3100 loader name      +0x4000 modules
 */
#define BOOT_AREA       0x10000u
#define BOOT_AREA_BYTES 0x2f0000u
#define LOW_BOOT        0x20000u
#define HIGH_BOOT       0x200000u
#define MAP_OFFSET      0x1000u
#define CMDLINE_OFFSET  0x3000u
#define LOADER_OFFSET   0x3100u
#define MODULES_OFFSET  0x4000u
#define MAX_ENTRIES     ((CMDLINE_OFFSET - MAP_OFFSET) / sizeof(struct multiboot_mmap_entry))

enum { RAM = MULTIBOOT_MEMORY_AVAILABLE, RESERVED = MULTIBOOT_MEMORY_RESERVED,
       ACPI = MULTIBOOT_MEMORY_ACPI_RECLAIMABLE, NVS = MULTIBOOT_MEMORY_NVS };

struct entry {
    uint64_t base, length;
    uint32_t type;
};

/* Boot information at `at` in the boot area with these map entries and no other field. */
static struct multiboot_info *boot_info(uintptr_t at, const struct entry *entries, size_t count)
{
    struct multiboot_info *info = (struct multiboot_info *)at;
    struct multiboot_mmap_entry *map = (struct multiboot_mmap_entry *)(at + MAP_OFFSET);

    if (count > MAX_ENTRIES)
        abort();
    memset(info, 0, sizeof(*info));
    info->flags = MULTIBOOT_INFO_MEM_MAP;
    info->mmap_addr = (uint32_t)(uintptr_t)map;
    info->mmap_length = (uint32_t)(count * sizeof(*map));
    for (size_t i = 0; i < count; i++) {
        struct multiboot_mmap_entry entry = {
            .size = sizeof(entry) - sizeof(entry.size),
            .base = entries[i].base, .length = entries[i].length, .type = entries[i].type,
        };
        memcpy(&map[i], &entry, sizeof(entry));
    }
    return info;
}

#define ENTRIES(...) (const struct entry[]){ __VA_ARGS__ }
#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define BOOT_INFO(at, ...) boot_info(at, ENTRIES(__VA_ARGS__), COUNT(ENTRIES(__VA_ARGS__)))

/* QEMU's map for -m 128 under SeaBIOS. */
#define QEMU_128_MIB_MAP                                                      \
    { 0x0000000, 0x009fc00, RAM }, { 0x009fc00, 0x0000400, RESERVED },        \
    { 0x00f0000, 0x0010000, RESERVED }, { 0x0100000, 0x7ee0000, RAM },        \
    { 0x7fe0000, 0x0020000, RESERVED }, { 0xfffc0000, 0x0040000, RESERVED }

static uint32_t put_string(uintptr_t at, const char *text)
{
    strcpy((char *)at, text);
    return (uint32_t)at;
}

/* `count` modules of `length` bytes, one every `stride` bytes from `first`. */
static void put_modules(struct multiboot_info *info, uint32_t count, uint32_t first, uint32_t stride,
                        uint32_t length)
{
    struct multiboot_module *mods = (struct multiboot_module *)((uintptr_t)info + MODULES_OFFSET);

    for (uint32_t i = 0; i < count; i++)
        mods[i] = (struct multiboot_module){ first + i * stride, first + i * stride + length, 0, 0 };
    info->flags |= MULTIBOOT_INFO_MODS;
    info->mods_addr = (uint32_t)(uintptr_t)mods;
    info->mods_count = count;
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
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT, QEMU_128_MIB_MAP);

    CHECK_EQ(memmap_fill_heap(info), 0x7fe0000 - KERNEL_END);
    CHECK_REGIONS({ KERNEL_END, 0x7fe0000 });
    CHECK_EQ(fake_heap.init_calls, 1);
    CHECK_OUTPUT("");
}

static void ovmf_map_with_18_fragments_and_type_20_gives_only_the_type_1_pieces(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x0000000, 0x00a0000, RAM },      { 0x0100000, 0x0700000, RAM },
        { 0x0800000, 0x0008000, NVS },      { 0x0808000, 0x0003000, RAM },
        { 0x080b000, 0x0001000, NVS },      { 0x080c000, 0x0004000, RAM },
        { 0x0810000, 0x00f0000, NVS },      { 0x0900000, 0x6d6a000, RAM },
        { 0x766a000, 0x0020000, RESERVED }, { 0x768a000, 0x0300000, RAM },
        { 0x798a000, 0x0200000, 20 },       { 0x7b8a000, 0x0100000, RAM },
        { 0x7c8a000, 0x0080000, RESERVED }, { 0x7d0a000, 0x0008000, ACPI },
        { 0x7d12000, 0x0004000, NVS },      { 0x7d16000, 0x02ea000, RAM },
        { 0xb0000000, 0x10000000, RESERVED }, { 0xffc00000, 0x0400000, RESERVED });

    memmap_fill_heap(info);
    CHECK_REGIONS({ KERNEL_END, 0x0800000 }, { 0x0808000, 0x080b000 }, { 0x080c000, 0x0810000 },
                  { 0x0900000, 0x766a000 }, { 0x768a000, 0x798a000 }, { 0x7b8a000, 0x7c8a000 },
                  { 0x7d16000, 0x8000000 });
    CHECK_OUTPUT("");
}

static void reserved_entries_overlapping_usable_ram_win_wherever_they_are_listed(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x2000000, 0x0100000, NVS },                  /* before the RAM, inside it */
        { 0x0100000, 0x7f00000, RAM },
        { 0x3000000, 0x0100000, RESERVED },             /* inside */
        { 0x7f00000, 0x0200000, RESERVED },             /* across the end */
        { 0x0080000, 0x0100000, 20 });                  /* across 1 MiB and past the kernel */

    memmap_fill_heap(info);
    CHECK_REGIONS({ 0x0180000, 0x2000000 }, { 0x2100000, 0x3000000 }, { 0x3100000, 0x7f00000 });
}

static void duplicated_usable_entries_are_offered_once(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x0100000, 0x7f00000, RAM }, { 0x0100000, 0x7f00000, RAM }, { 0x0100000, 0x7f00000, RAM });

    CHECK_EQ(memmap_fill_heap(info), 0x8000000 - KERNEL_END);
    CHECK_REGIONS({ KERNEL_END, 0x8000000 });
    CHECK_OUTPUT("");
}

static void overlapping_usable_entries_offer_each_byte_once(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x2000000, 0x1000000, RAM },                  /* inside the next one */
        { 0x0100000, 0x3f00000, RAM },
        { 0x3000000, 0x5000000, RAM },                  /* overlaps the end of the previous */
        { 0x5000000, 0x0100000, RAM });                 /* inside the previous */

    CHECK_EQ(memmap_fill_heap(info), 0x8000000 - KERNEL_END);
    CHECK_REGIONS({ KERNEL_END, 0x2000000 }, { 0x2000000, 0x3000000 }, { 0x3000000, 0x4000000 },
                  { 0x4000000, 0x8000000 });
    CHECK_OUTPUT("");
}

static void usable_ram_above_4_gib_is_left_out_and_an_entry_crossing_it_is_clipped(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x0100000, 0x7f00000, RAM },
        { 0xc0000000, 0x80000000, RAM },                /* 3 GiB to 5 GiB */
        { 0x100000000, 0x40000000, RAM });              /* 4 GiB to 5 GiB */

    memmap_fill_heap(info);
    CHECK_REGIONS({ KERNEL_END, 0x8000000 }, { 0xc0000000, 4 * GIB });
}

static void an_empty_map_gives_an_empty_heap(void)
{
    struct multiboot_info *info = boot_info(LOW_BOOT, NULL, 0);

    CHECK_EQ(memmap_fill_heap(info), 0);
    CHECK_EQ(fake_heap.count, 0);
    CHECK_EQ(fake_heap.init_calls, 1);
    memmap_print(info);
    CHECK_OUTPUT("memory map: none (the bootloader gave no map; no heap)\n");
}

static void a_map_without_its_flag_is_ignored(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT, QEMU_128_MIB_MAP);

    info->flags = 0;
    CHECK_EQ(memmap_fill_heap(info), 0);
    CHECK_EQ(fake_heap.count, 0);
    CHECK_EQ(fake_heap.init_calls, 1);
}

static void unsorted_entries_give_the_same_regions_as_sorted_ones(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x7fe0000, 0x0020000, RESERVED }, { 0x4000000, 0x3fe0000, RAM },
        { 0xfffc0000, 0x0040000, RESERVED }, { 0x0000000, 0x009fc00, RAM },
        { 0x0100000, 0x3f00000, RAM }, { 0x009fc00, 0x0000400, RESERVED });

    memmap_fill_heap(info);
    CHECK_REGIONS({ KERNEL_END, 0x4000000 }, { 0x4000000, 0x7fe0000 });
}

static void more_than_16_modules_all_stay_out_of_the_heap(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT, QEMU_128_MIB_MAP);

    put_modules(info, 20, 0x400000, 0x10000, 0x8000);
    memmap_fill_heap(info);
    CHECK_REGIONS({ KERNEL_END, 0x400000 }, { 0x400000 + 19 * 0x10000 + 0x8000, 0x7fe0000 });
}

static void zero_length_entries_change_nothing(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x2000000, 0, RAM }, QEMU_128_MIB_MAP, { 0x3000000, 0, RESERVED }, { 0x4000000, 0, RAM });

    memmap_fill_heap(info);
    CHECK_REGIONS({ KERNEL_END, 0x7fe0000 });
}

static void a_length_running_past_2_to_the_64_stops_there_instead_of_wrapping(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x0100000, UINT64_MAX, RAM },                 /* usable to the end of memory */
        { 0x6000000, UINT64_MAX, RESERVED });           /* reserved from 96 MiB to the end */

    memmap_fill_heap(info);
    CHECK_REGIONS({ KERNEL_END, 0x6000000 });
}

static void bootloader_structures_inside_usable_ram_stay_out_of_the_heap(void)
{
    struct multiboot_info *info = BOOT_INFO(HIGH_BOOT, QEMU_128_MIB_MAP);
    const char *cmdline = "selftest", *loader = "GRUB 2.06";
    uint64_t map_end = HIGH_BOOT + MAP_OFFSET + info->mmap_length;
    uint64_t list = HIGH_BOOT + MODULES_OFFSET;

    info->flags |= MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_LOADER_NAME;
    info->cmdline = put_string(HIGH_BOOT + CMDLINE_OFFSET, cmdline);
    info->boot_loader_name = put_string(HIGH_BOOT + LOADER_OFFSET, loader);
    put_modules(info, 2, 0x400000, 0x100000, 0x1000);
    memmap_fill_heap(info);
    CHECK_REGIONS({ KERNEL_END, HIGH_BOOT },
                  { HIGH_BOOT + sizeof(*info), HIGH_BOOT + MAP_OFFSET },
                  { map_end, HIGH_BOOT + CMDLINE_OFFSET },
                  { HIGH_BOOT + CMDLINE_OFFSET + strlen(cmdline) + 1, HIGH_BOOT + LOADER_OFFSET },
                  { HIGH_BOOT + LOADER_OFFSET + strlen(loader) + 1, list },
                  { list + 2 * sizeof(struct multiboot_module), 0x400000 },
                  { 0x501000, 0x7fe0000 });
}

static void a_framebuffer_inside_usable_ram_stays_out_of_the_heap(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT, QEMU_128_MIB_MAP);

    info->flags |= MULTIBOOT_INFO_FRAMEBUFFER;
    info->framebuffer_addr = 0x4000000;
    info->framebuffer_pitch = 1024 * 4;
    info->framebuffer_height = 768;
    memmap_fill_heap(info);
    CHECK_REGIONS({ KERNEL_END, 0x4000000 }, { 0x4000000 + 1024 * 4 * 768, 0x7fe0000 });
}

static void regions_past_the_heap_limit_are_reported_with_that_reason(void)
{
    struct entry entries[HEAP_MAX_REGIONS + 2];

    for (unsigned i = 0; i < COUNT(entries); i++)
        entries[i] = (struct entry){ 0x1000000 + i * 0x20000, 0x10000, RAM };
    struct multiboot_info *info = boot_info(LOW_BOOT, entries, COUNT(entries));
    CHECK_EQ(memmap_fill_heap(info), HEAP_MAX_REGIONS * 0x10000);
    CHECK_EQ(fake_heap.count, HEAP_MAX_REGIONS);
    CHECK_OUTPUT("heap: region 0x01800000-0x0180ffff refused: the heap's limit of 64 regions is reached\n"
                 "heap: region 0x01820000-0x0182ffff refused: the heap's limit of 64 regions is reached\n");
}

static void a_sliver_too_small_for_a_block_is_dropped_silently(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x0100000, 0x7f00000, RAM },
        { 0x2000000, 0x0001000, RESERVED }, { 0x2001010, 0x0001000, RESERVED });   /* 16 bytes apart */

    memmap_fill_heap(info);
    CHECK_REGIONS({ KERNEL_END, 0x2000000 }, { 0x2002010, 0x8000000 });
    CHECK_OUTPUT("");
}

static void a_region_of_4_kib_or_more_too_small_for_a_block_is_reported(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x0100000, 0x7f00000, RAM },
        { 0x2000000, 0x0001800, RESERVED }, { 0x2003000, 0x0001000, RESERVED });  /* 6 KiB apart */

    fake_heap.min_scale = 13;       /* 8 KiB blocks */
    memmap_fill_heap(info);
    CHECK_REGIONS({ KERNEL_END, 0x2000000 }, { 0x2004000, 0x8000000 });
    CHECK_OUTPUT("heap: region 0x02001800-0x02002fff refused: too small for one 8192-byte block"
                 " once aligned\n");
}

static void the_result_is_the_bytes_the_heap_manages_after_alignment(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
        { 0x0100000, 0x0f00000, RAM }, { 0x1000000, 0x0000020, RESERVED }, { 0x1000000, 0x0003000, RAM });

    fake_heap.min_scale = 12;       /* 4 KiB blocks: of 0x1000020-0x1003000 the heap keeps 8 KiB */
    CHECK_EQ(memmap_fill_heap(info), 0x1000000 - KERNEL_END + 0x2000);
    CHECK_REGIONS({ KERNEL_END, 0x1000000 }, { 0x1000020, 0x1003000 });
}

static void memmap_print_lists_every_entry_and_the_usable_total_below_4_gib(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT,
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

static void memmap_print_heap_regions_lists_each_region_with_its_last_byte(void)
{
    struct multiboot_info *info = BOOT_INFO(LOW_BOOT, QEMU_128_MIB_MAP, { 0x4000000, 0x100000, NVS });

    memmap_fill_heap(info);
    memmap_print_heap_regions();
    CHECK_OUTPUT("heap regions:\n"
                 "   0: 0x00140000-0x03ffffff  64256 KiB\n"
                 "   1: 0x04100000-0x07fdffff  64384 KiB\n");
}

static const struct test memmap_tests[] = {
    TEST_ENTRY(qemu_bios_map_at_128_mib_gives_the_ram_above_the_kernel),
    TEST_ENTRY(ovmf_map_with_18_fragments_and_type_20_gives_only_the_type_1_pieces),
    TEST_ENTRY(reserved_entries_overlapping_usable_ram_win_wherever_they_are_listed),
    TEST_ENTRY(duplicated_usable_entries_are_offered_once),
    TEST_ENTRY(overlapping_usable_entries_offer_each_byte_once),
    TEST_ENTRY(usable_ram_above_4_gib_is_left_out_and_an_entry_crossing_it_is_clipped),
    TEST_ENTRY(an_empty_map_gives_an_empty_heap),
    TEST_ENTRY(a_map_without_its_flag_is_ignored),
    TEST_ENTRY(unsorted_entries_give_the_same_regions_as_sorted_ones),
    TEST_ENTRY(more_than_16_modules_all_stay_out_of_the_heap),
    TEST_ENTRY(zero_length_entries_change_nothing),
    TEST_ENTRY(a_length_running_past_2_to_the_64_stops_there_instead_of_wrapping),
    TEST_ENTRY(bootloader_structures_inside_usable_ram_stay_out_of_the_heap),
    TEST_ENTRY(a_framebuffer_inside_usable_ram_stays_out_of_the_heap),
    TEST_ENTRY(regions_past_the_heap_limit_are_reported_with_that_reason),
    TEST_ENTRY(a_sliver_too_small_for_a_block_is_dropped_silently),
    TEST_ENTRY(a_region_of_4_kib_or_more_too_small_for_a_block_is_reported),
    TEST_ENTRY(the_result_is_the_bytes_the_heap_manages_after_alignment),
    TEST_ENTRY(memmap_print_lists_every_entry_and_the_usable_total_below_4_gib),
    TEST_ENTRY(memmap_print_heap_regions_lists_each_region_with_its_last_byte),
};

/* ---- running ------------------------------------------------------------------- */

/* Before each test: an empty fake heap and boot area. */
static void test_setup(void)
{
    fakes_reset();
    memset((void *)(uintptr_t)BOOT_AREA, 0, BOOT_AREA_BYTES);
}

/* After each test: memmap never offered the heap a byte twice. */
static void check_no_byte_offered_twice(void)
{
    CHECK_EQ(fake_heap.overlaps, 0);
}

int main(void)
{
    int passed = 0, failed = 0;

    setvbuf(stdout, NULL, _IONBF, 0);
    void *area = mmap((void *)(uintptr_t)BOOT_AREA, BOOT_AREA_BYTES, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (area != (void *)(uintptr_t)BOOT_AREA || KERNEL_START != 1 * MIB) {
        printf("cannot map the boot area at 0x%x, or the kernel is not at 1 MiB\n0 passed, 1 failed\n",
               BOOT_AREA);
        return 1;
    }
    check_run(memmap_tests, COUNT(memmap_tests), test_setup, check_no_byte_offered_twice, &passed, &failed);
    munmap(area, BOOT_AREA_BYTES);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
