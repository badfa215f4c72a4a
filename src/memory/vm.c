/*
 * vm.c - the kernel's address space: a table of what is mapped where (the
 * layout is data, as xv6's kmap[]), built into page tables by paging.c and
 * switched on; the v key's map; the guarded objects' pool (memory/guard.h),
 * whose pages it maps and unmaps; and the reports of the faults it catches:
 * a page fault says what the address was (a guarded object's use after free
 * or overflow first), a double fault on the guard page says the stack
 * overflowed. Identity mapped, so every pointer stays valid.
 * Intel SDM vol. 3A, chapter 4 (paging) and section 4.7 (#PF error code).
 */
#include <stddef.h>
#include "memory/vm.h"
#include "memory/guard.h"
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
#define KMAP_MAX (KERNEL_RANGES + 2 + HEAP_MAX_REGIONS)  /* and the screen, the guarded pool */
#define REGION_NAME_BYTES 20

static struct paging_range kmap[KMAP_MAX];
static size_t kmap_count;
static char region_names[HEAP_MAX_REGIONS][REGION_NAME_BYTES];
static struct paging_space kernel_space;
static struct guard_pool guard_pool;
static void *guard_memory;              /* the pool's page block, until the pool owns it */

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

/*
 * The guarded objects' pool: one page block from the heap, named before the
 * heap regions that hold it so that v and fault reports call it by its name.
 * Mapped here like the rest of the heap; guard_start unmaps it page by page.
 */
static void kmap_add_guard_pool(void)
{
    guard_memory = heap_alloc_unsampled(GUARD_POOL_BYTES);
    if (guard_memory != NULL)
        kmap_add((uintptr_t)guard_memory, (uintptr_t)guard_memory + GUARD_POOL_BYTES,
                 PAGING_WRITABLE, false, "guarded objects");
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
    return heap_alloc_unsampled(PAGING_PAGE_BYTES);     /* a page block: page aligned */
}

static void table_free(void *page, void *unused)
{
    (void)unused;
    kfree(page);
}

/* ---- single pages, for heap debugging -------------------------------------------- */

bool vm_map_page(uintptr_t page)
{
    if (kernel_space.directory == NULL
        || paging_map(&kernel_space, page, page, PAGING_WRITABLE) != PAGING_OK)
        return false;
    cpu_invalidate_page(page);
    return true;
}

bool vm_unmap_page(uintptr_t page)
{
    if (kernel_space.directory == NULL
        || paging_unmap(&kernel_space, page, NULL, NULL) != PAGING_OK)
        return false;
    cpu_invalidate_page(page);
    return true;
}

static bool guard_map(uintptr_t page, void *unused) { (void)unused; return vm_map_page(page); }
static bool guard_unmap(uintptr_t page, void *unused) { (void)unused; return vm_unmap_page(page); }

/* Hand the pool its memory (every page becomes not present) and sample kmalloc into it. */
static void guard_start(void)
{
    const struct guard_pages pages = {guard_map, guard_unmap, NULL};
    enum guard_status status = GUARD_MISALIGNED;

    if (guard_memory != NULL
        && (status = guard_pool_init(&guard_pool, guard_memory, pages)) == GUARD_OK) {
        guard_sample(&guard_pool);
        kprintf("guard: %u objects at 0x%08lx (%zu KiB), every %uth kmalloc up to %u bytes\n",
                GUARD_OBJECTS, (unsigned long)(uintptr_t)guard_memory,
                GUARD_POOL_BYTES / 1024, GUARD_SAMPLE_EVERY, (unsigned)GUARD_MAX_SIZE);
        return;
    }
    kprintf("guard: no guarded objects: %s\n", guard_memory == NULL
            ? "no 512 KiB page block for the pool" : guard_status_name(status));
    kfree(guard_memory);
    guard_memory = NULL;
}

struct guard_pool *vm_guard_pool(void)
{
    uintptr_t start, end;

    return guard_range(&guard_pool, &start, &end) ? &guard_pool : NULL;
}

bool vm_is_page_table(uintptr_t page)
{
    for (unsigned i = 0; kernel_space.directory != NULL && i < PAGING_ENTRIES; i++) {
        uint32_t entry = kernel_space.directory[i];
        if ((entry & PAGING_PRESENT) && !(entry & PAGING_LARGE)
            && (entry & PAGING_ADDRESS_MASK) == page)
            return true;
    }
    return false;
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
    kmap_add_guard_pool();
    kmap_add_heap();
    if (paging_build(&kernel_space, allocator, kmap, kmap_count, &problem) != PAGING_OK) {
        say_build_refused(&problem);
        kfree(guard_memory);                    /* no paging: no guarded objects */
        guard_memory = NULL;
        return false;
    }
    cpu_enable_paging((uint32_t)(uintptr_t)kernel_space.directory);
    tss_set_page_directory(cpu_read_cr3());
    kprintf("paging: on, %zu ranges identity mapped, %zu page tables (%zu KiB)\n",
            kmap_count, kernel_space.table_pages,
            (kernel_space.table_pages + 1) * PAGING_PAGE_BYTES / 1024);
    guard_start();
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

/* "guarded objects: 0x00400000-0x0047ffff, 3 of 64 live, the rest not present" (the holes). */
static void print_guard_pool(void)
{
    struct guard_stats stats;
    uintptr_t start, end;

    if (!guard_range(&guard_pool, &start, &end))
        return;
    guard_get_stats(&guard_pool, &stats);
    kprintf("guarded objects: 0x%08lx-0x%08lx, %u of %u live, the rest not present\n",
            (unsigned long)start, (unsigned long)end - 1, stats.live, GUARD_OBJECTS);
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
    print_guard_pool();
}

/* ---- page faults ------------------------------------------------------------- */

/* A heap block's state in a word, for the fault report. */
static const char *block_state_name(int state)
{
    return state == HEAP_BLOCK_ALLOCATED ? "allocated" : state == HEAP_BLOCK_SLAB ? "slab"
         : state == HEAP_BLOCK_QUARANTINED ? "quarantined" : "free";
}

static bool in_guard_page(uintptr_t address)
{
    return address >= (uintptr_t)stack_guard && address < (uintptr_t)stack_bottom;
}

/* What the address is, in a few words (Linux's show_fault_oops classifies the same way). */
static void describe_address(uintptr_t address, uint32_t error, char *out, size_t size)
{
    const struct paging_range *range = paging_range_of(kmap, kmap_count, address);
    struct heap_block_info block;

    if (address < PAGING_PAGE_BYTES)
        ksnprintf(out, size, "NULL pointer dereference");
    else if (in_guard_page(address))
        ksnprintf(out, size, "kernel stack overflow");
    else if (range == NULL)
        ksnprintf(out, size, "outside every mapping");
    else if ((error & PAGING_FAULT_WRITE) && !(range->flags & PAGING_WRITABLE))
        ksnprintf(out, size, "write to read-only %s", range->what);
    else if (heap_block_info((const void *)address, &block))
        ksnprintf(out, size, "in heap block 0x%08lx (scale %u, %s)", (unsigned long)block.start,
                  block.scale, block_state_name(block.state));
    else
        ksnprintf(out, size, "in %s", range->what);
}

static const char *access_word(uint32_t error)
{
    return (error & PAGING_FAULT_WRITE) ? "write" : "read";
}

static const char *guard_state_word(enum guard_state state)
{
    return state == GUARD_LIVE ? "live" : state == GUARD_FREED ? "freed" : "never used";
}

/*
 * The first line, as KFENCE's: "BUG: heap use-after-free write at 0x00412fe8"
 * or "BUG: heap out-of-bounds write at 0x00413000, 1 byte right of guarded
 * object #3"; then the object's range, size and state, and its callers.
 */
static void report_guard_fault(const struct guard_fault *fault, uint32_t error)
{
    const struct guard_object *object = &fault->object;

    kprintf("BUG: heap %s %s at 0x%08lx", guard_fault_name(fault->kind), access_word(error),
            (unsigned long)fault->address);
    if (fault->kind == GUARD_OUT_OF_BOUNDS)
        kprintf(", %zu byte%s right of guarded object #%u", fault->bytes_right,
                fault->bytes_right == 1 ? "" : "s", object->index);
    kprintf("\n");
    if (object->state == GUARD_UNUSED) {
        kprintf("  guarded object #%u: never used; nothing lives here\n", object->index);
        return;
    }
    kprintf("  guarded object #%u: 0x%08lx-0x%08lx, %zu bytes, %s\n", object->index,
            (unsigned long)object->start, (unsigned long)(object->start + object->size - 1),
            object->size, guard_state_word(object->state));
    kprintf("  allocated by 0x%08lx; ", (unsigned long)(uintptr_t)object->alloc_caller);
    if (object->state == GUARD_FREED)
        kprintf("freed by 0x%08lx\n", (unsigned long)(uintptr_t)object->free_caller);
    else
        kprintf("not freed\n");
}

static void report_page_fault(const struct interrupt_frame *frame, const struct exception_fixup *fixup)
{
    uintptr_t address = cpu_read_cr2();     /* first, before anything can fault again */
    struct paging_fault_words words = paging_decode_fault(frame->error_code);
    struct guard_fault guarded;
    char what[64];

    uint8_t colour = exception_report_title(frame->vector);
    if (guard_fault(&guard_pool, address, &guarded)) {
        report_guard_fault(&guarded, frame->error_code);
    } else {
        describe_address(address, frame->error_code, what, sizeof what);
        kprintf("BUG: %s at address 0x%08lx\n", what, (unsigned long)address);
    }
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
