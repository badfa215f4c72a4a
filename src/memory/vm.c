/*
 * vm.c - the kernel's address space: a table of what is mapped where (the
 * layout is data, as xv6's kmap[]), built into page tables by paging.c and
 * switched on; the v key's map; and the reports of the faults it catches:
 * a page fault says what the address was, a double fault on the guard page
 * says the stack overflowed. Identity mapped, so every pointer stays valid.
 * Intel SDM vol. 3A, chapter 4 (paging) and section 4.7 (#PF error code).
 */
#include <stddef.h>
#include "memory/vm.h"
#include "memory/heap.h"
#include "memory/paging.h"
#include "console/exception_report.h"
#include "console/kprintf.h"
#include "cpu/idt.h"
#include "cpu/mmu.h"

/* linker.ld and boot/boot.S */
extern char kernel_start[], kernel_readonly_end[], kernel_end[];
extern char stack_guard[], stack_bottom[], stack_top[];

#define KERNEL_RANGES 4                 /* code, data, stack, data after the stack */
#define KMAP_MAX (KERNEL_RANGES + 1 + HEAP_MAX_REGIONS)
#define REGION_NAME_BYTES 20

static struct paging_range kmap[KMAP_MAX];
static size_t kmap_count;
static char region_names[HEAP_MAX_REGIONS][REGION_NAME_BYTES];
static struct paging_space kernel_space;

/* ---- the map: what is where ------------------------------------------------- */

static void kmap_add(uintptr_t start, uintptr_t end, uint32_t flags, bool large, const char *what)
{
    if (end > start)
        kmap[kmap_count++] = (struct paging_range){start, start, end - start, flags, large, what};
}

/* Code and read-only data read-only; the rest writable; the stack's guard page left out. */
static void kmap_add_kernel(void)
{
    uintptr_t readonly_end = (uintptr_t)kernel_readonly_end;

    kmap_add((uintptr_t)kernel_start, readonly_end, 0, false, "kernel code");
    kmap_add(readonly_end, (uintptr_t)stack_guard, PAGING_WRITABLE, false, "kernel data");
    kmap_add((uintptr_t)stack_bottom, (uintptr_t)stack_top, PAGING_WRITABLE, false, "kernel stack");
    kmap_add((uintptr_t)stack_top, (uintptr_t)kernel_end, PAGING_WRITABLE, false, "kernel data");
}

/* Every heap region with its frame table, in 4 KiB pages: heap debugging unmaps single pages. */
static void kmap_add_heap(void)
{
    uintptr_t start, end;

    for (unsigned i = 0; heap_region(i, &start, &end); i++) {
        ksnprintf(region_names[i], REGION_NAME_BYTES, "heap region %u", i);
        kmap_add(start, end, PAGING_WRITABLE, false, region_names[i]);
    }
}

/* The screen: VGA text memory, or the framebuffer (PCI memory, often at 2 or 3 GiB). */
static void kmap_add_display(const struct display *display)
{
    if (display == NULL || display->memory_bytes == 0)
        return;
    const char *what = display->memory_bytes > PAGING_PAGE_BYTES ? "framebuffer" : "VGA text";
    kmap_add(display->memory, display->memory + (uintptr_t)display->memory_bytes, PAGING_WRITABLE,
             true, what);
}

/* ---- building the tables and turning paging on ------------------------------- */

static void *table_alloc(void *unused)
{
    (void)unused;
    return kmalloc(PAGING_PAGE_BYTES);     /* a page block: page aligned */
}

static void table_free(void *page, void *unused)
{
    (void)unused;
    kfree(page);
}

static void say_build_refused(const struct paging_problem *problem)
{
    kprintf("paging: not turned on: %s (range %zu, %s, at 0x%08lx)\n",
            paging_status_text(problem->status), problem->range,
            problem->range < kmap_count ? kmap[problem->range].what : "-",
            (unsigned long)problem->address);
}

bool vm_init(const struct display *display)
{
    struct paging_allocator allocator = {table_alloc, table_free, NULL};
    struct paging_problem problem;

    kmap_count = 0;
    kmap_add_kernel();
    kmap_add_display(display);
    kmap_add_heap();
    if (paging_build(&kernel_space, allocator, kmap, kmap_count, &problem) != PAGING_OK) {
        say_build_refused(&problem);
        return false;
    }
    cpu_enable_paging((uint32_t)(uintptr_t)kernel_space.directory);
    tss_set_page_directory(cpu_read_cr3());
    kprintf("paging: on, %zu ranges identity mapped with %zu page tables (%zu KiB); "
            "the rest not present\n", kmap_count, kernel_space.table_pages,
            (kernel_space.table_pages + 1) * PAGING_PAGE_BYTES / 1024);
    return true;
}

bool vm_enabled(void) { return (cpu_read_cr0() & CR0_PG) != 0; }

/* ---- the v key --------------------------------------------------------------- */

/* "4K", "640K", "3M", "3584M": the largest unit that divides bytes evenly. */
static void format_size(uint64_t bytes, char *out, size_t size)
{
    static const char units[] = "KMG";
    unsigned unit = 0;

    bytes /= 1024;
    while (unit < 2 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        unit++;
    }
    ksnprintf(out, size, "%lu%c", (unsigned long)bytes, units[unit]);
}

/* One run: "  00100000-00104fff     20K  P R S 4K  kernel code". */
static void print_run(const struct paging_run *run, void *unused)
{
    char size[16];

    (void)unused;
    format_size(run->bytes, size, sizeof size);
    kprintf("  %08lx-%08lx %7s  P %c %c %s  %s\n", (unsigned long)run->start,
            (unsigned long)run->last, size, (run->flags & PAGING_WRITABLE) ? 'W' : 'R',
            (run->flags & PAGING_USER) ? 'U' : 'S', (run->flags & PAGING_LARGE) ? "4M" : "4K",
            run->what != NULL ? run->what : "(outside every range)");
}

void vm_print_map(void)
{
    struct paging_stats stats;

    if (!vm_enabled()) {
        kprintf("paging is off: every address is the physical one, nothing is protected\n");
        return;
    }
    kprintf("virtual memory map (identity): P present, W writable / R read-only, S kernel\n");
    paging_for_each_run(&kernel_space, kmap, kmap_count, print_run, NULL);
    paging_get_stats(&kernel_space, &stats);
    kprintf("page tables: %zu table%s + the directory = %zu KiB; %zu 4K pages, %zu 4M pages\n",
            stats.table_pages, stats.table_pages == 1 ? "" : "s", stats.table_bytes / 1024,
            stats.small_pages, stats.large_pages);
    kprintf("everything else is not present\n");
}

/* ---- page faults ------------------------------------------------------------- */

struct block_search {
    uintptr_t address, block;
    unsigned scale;
    int allocated, found;
};

static void block_holding(uintptr_t block, unsigned scale, int allocated, void *context)
{
    struct block_search *search = context;

    if (search->address >= block && search->address - block < heap_scale_bytes(scale))
        *search = (struct block_search){search->address, block, scale, allocated, 1};
}

static bool in_guard_page(uintptr_t address)
{
    return address >= (uintptr_t)stack_guard && address < (uintptr_t)stack_bottom;
}

/* What the address is, in a few words (Linux's show_fault_oops classifies the same way). */
static void describe_address(uintptr_t address, uint32_t error, char *out, size_t size)
{
    const struct paging_range *range = paging_range_of(kmap, kmap_count, address);
    struct block_search search = {.address = address};

    if (address < PAGING_PAGE_BYTES)
        ksnprintf(out, size, "NULL pointer dereference");
    else if (in_guard_page(address))
        ksnprintf(out, size, "kernel stack overflow");
    else if (range == NULL)
        ksnprintf(out, size, "outside every mapping");
    else if ((error & PAGING_FAULT_WRITE) && !(range->flags & PAGING_WRITABLE))
        ksnprintf(out, size, "write to read-only %s", range->what);
    else if ((heap_walk(block_holding, &search), search.found))
        ksnprintf(out, size, "in heap block 0x%08lx (scale %u, %s)", (unsigned long)search.block,
                  search.scale, search.allocated ? "allocated" : "free");
    else
        ksnprintf(out, size, "in %s", range->what);
}

static void report_page_fault(const struct interrupt_frame *frame, const struct exception_fixup *fixup)
{
    uintptr_t address = cpu_read_cr2();     /* first, before anything can fault again */
    struct paging_fault_words words = paging_decode_fault(frame->error_code);
    char what[64];

    describe_address(address, frame->error_code, what, sizeof what);
    uint8_t colour = exception_report_title(frame->vector);
    kprintf("BUG: %s at address 0x%08lx\n", what, (unsigned long)address);
    kprintf("  %s %s, %s, at eip 0x%08x\n", words.mode, words.access, words.cause, frame->eip);
    exception_report_registers(frame);
    exception_report_outcome(fixup != NULL ? fixup->what : NULL, colour);
}

void vm_report_exception(const struct interrupt_frame *frame, const struct exception_fixup *fixup)
{
    if (frame->vector == IDT_PAGE_FAULT)
        report_page_fault(frame, fixup);
    else
        exception_report(frame, fixup);
}

/* ---- double faults ----------------------------------------------------------- */

bool vm_report_double_fault(const struct double_fault *fault)
{
    bool overflow = in_guard_page(fault->cr2) || in_guard_page(fault->esp);
    uint8_t colour = exception_report_title(IDT_DOUBLE_FAULT);

    if (overflow)
        kprintf("BUG: kernel stack overflow: esp 0x%08x ran into the guard page 0x%08lx-0x%08lx\n",
                fault->esp, (unsigned long)stack_guard, (unsigned long)stack_bottom - 1);
    else
        kprintf("BUG: double fault with esp 0x%08x (last page fault at 0x%08x)\n", fault->esp,
                fault->cr2);
    kprintf("  at eip 0x%08x  ebp 0x%08x  eflags 0x%08x\n", fault->eip, fault->ebp, fault->eflags);
    exception_report_outcome(overflow ? "the main loop starts again on a fresh stack" : NULL, colour);
    return overflow;
}
