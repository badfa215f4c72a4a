/*
 * kernel.c - kernel_main, the boot sequence after boot/boot.S: one step
 * per line. The hardware is set up in the order each step needs the one
 * before: output first, so that anything going wrong later can be seen.
 */
#include <stdbool.h>
#include <stdint.h>
#include "boot/bootinfo.h"
#include "boot/multiboot.h"
#include "console/input.h"
#include "console/kprintf.h"
#include "console/terminal.h"
#include "cpu/cpu.h"
#include "cpu/exceptions.h"
#include "cpu/gdt.h"
#include "cpu/idt.h"
#include "cpu/pic.h"
#include "cpu/tss.h"
#include "demo/demo.h"
#include "drivers/display.h"
#include "drivers/framebuffer.h"
#include "drivers/keyboard.h"
#include "drivers/qemu_exit.h"
#include "drivers/serial.h"
#include "drivers/vga_text.h"
#include "memory/heap.h"
#include "memory/memmap.h"
#include "memory/slab.h"
#include "memory/vm.h"
#include "selftest/selftest.h"

#define SHOMPOS_VERSION "0.1.0"

static struct boot_info boot;       /* what GRUB told us, copied before anything else */

/* A framebuffer when GRUB gave one (UEFI), else VGA text, else none (serial only). */
static const struct display *choose_display(const struct boot_info *info)
{
    const struct display *display = NULL;

    if (info->has_framebuffer)
        display = framebuffer_display_init(&info->framebuffer);
    if (display == NULL && vga_text_present())
        display = vga_text_display();
    return display;
}

/* "label: text", or "(not given)", or `empty` for "", with a note when boot info cut it. */
static void print_boot_string(const char *label, const struct boot_string *string, const char *empty)
{
    if (!string->given)
        kprintf("%s: (not given)\n", label);
    else if (string->length >= sizeof(string->text))
        kprintf("%s: %s (cut to %zu of %zu bytes)\n", label, string->text,
                sizeof(string->text) - 1, string->length);
    else
        kprintf("%s: %s\n", label, string->length > 0 ? string->text : empty);
}

static void print_display(const struct display *display, const struct boot_framebuffer *mode)
{
    if (display == NULL)
        kprintf("display: none (serial console only)\n");
    else if (display == vga_text_display())
        kprintf("display: %s %ux%u\n", display->name, display->columns, display->rows);
    else
        kprintf("display: %s %ux%ux%u (%ux%u cells)\n", display->name, mode->width,
                mode->height, mode->bpp, display->columns, display->rows);
}

static void print_banner(const struct boot_info *info)
{
    kprintf("ShompOS " SHOMPOS_VERSION ": a buddy heap kernel for i686\n");
    print_boot_string("bootloader", &info->loader_name, "");
    print_boot_string("command line", &info->command_line, "(empty)");
    print_display(terminal_display(), &info->framebuffer);
    memmap_print(info);
}

/* Without Multiboot there is no memory map and no heap: say so on whatever display there is. */
static void __attribute__((noreturn)) refuse_to_start(uint32_t magic)
{
    kprintf("ShompOS must be started by a Multiboot loader such as GRUB "
            "(EAX was 0x%08x, not 0x%08x). Halted.\n", magic, MULTIBOOT_BOOTLOADER_MAGIC);
    cpu_stop();
}

/*
 * A refused free: the call, the pointer, the reason and who called, the
 * heap's own in one line of at most 80 columns; kmem_cache_free's names the
 * cache and takes a second:
 *   kmem_cache_free(demo-24): refused 0x07ea8030 (object of another cache)
 *     it is an object of names-64; from caller 0x00104a2b; nothing changed
 */
static void report_refused_free(const struct heap_refusal *r)
{
    const struct kmem_cache *owner = r->why == HEAP_WRONG_CACHE ? kmem_cache_of(r->ptr) : NULL;

    if (r->cache == NULL) {
        kprintf("%s: refused %p (%s) from caller %p\n",
                r->function, r->ptr, heap_status_name(r->why), r->caller);
        return;
    }
    kprintf("%s(%s): refused %p (%s)\n  ", r->function, r->cache, r->ptr,
            heap_status_name(r->why));
    if (owner != NULL)
        kprintf("it is an object of %s; ", owner->name);
    kprintf("from caller %p; nothing changed\n", r->caller);
}

/* kmem_cache_destroy's refusals, as kmem_cache_free's: the cache (or the pointer that is none). */
static void report_refused_destroy(const struct kmem_cache *cache, const char *what,
                                   const void *caller)
{
    if (kmem_cache_listed(cache))
        kprintf("kmem_cache_destroy(%s): refused (%s)\n", cache->name, what);
    else
        kprintf("kmem_cache_destroy(%p): refused (%s)\n", (const void *)cache, what);
    kprintf("  from caller %p; nothing changed\n", caller);
}

/*
 * The heap's debugging reports (heap_on_debug_report), in the shape of
 * Linux's SLUB reports: the kind and the block first, then who was involved.
 */
/*
 * A slab object's damage, in the words of Linux's SLUB debugging ("Poison
 * overwritten", "Redzone overwritten"); slab objects keep no callers.
 */
static void report_slab_bug(const struct heap_debug_report *report,
                            const struct kmem_cache *cache)
{
    bool poison = report->kind == HEAP_USE_AFTER_FREE;

    kprintf("BUG %s: %s overwritten: object 0x%08lx (%zu bytes): byte %zu is 0x%02x, not 0x%02x\n",
            cache->name, poison ? "Poison" : "Redzone", (unsigned long)report->payload,
            cache->object_size, report->offset, report->found, report->expected);
    kprintf("  a %s; found by 0x%08lx\n", poison ? "use-after-free write" : "out-of-bounds write",
            (unsigned long)(uintptr_t)report->caller);
}

static void report_heap_bug(const struct heap_debug_report *report)
{
    unsigned long block = report->block, found = (uintptr_t)report->caller;
    const struct kmem_cache *cache = kmem_cache_of((const void *)report->payload);

    if (cache != NULL)
        report_slab_bug(report, cache);
    else if (report->kind == HEAP_USE_AFTER_FREE) {
        kprintf("BUG: heap use-after-free write in block 0x%08lx (scale %u): byte %zu is 0x%02x, "
                "not 0x%02x\n", block, report->scale, report->offset, report->found,
                report->expected);
        kprintf("  freed by 0x%08lx; allocated by 0x%08lx; found by 0x%08lx\n",
                (unsigned long)(uintptr_t)report->free_caller,
                (unsigned long)(uintptr_t)report->alloc_caller, found);
    } else {
        kprintf("BUG: heap out-of-bounds write past block 0x%08lx (%zu bytes asked, scale %u): "
                "byte %zu is 0x%02x, not 0x%02x\n", block, report->requested, report->scale,
                report->offset, report->found, report->expected);
        kprintf("  allocated by 0x%08lx; found by 0x%08lx\n",
                (unsigned long)(uintptr_t)report->alloc_caller, found);
    }
}

/* heapdebug on the command line: every debugging flag of the heap. */
static unsigned heap_debug_wanted(const struct boot_info *info)
{
    return bootinfo_has_word(info, "heapdebug") ? HEAP_DEBUG_ALL : 0;
}

static void print_heap_summary(void)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    kprintf("heap: %zu KiB in %u region%s, largest free block %zu KiB\n", stats.managed_bytes / 1024,
            stats.regions, stats.regions == 1 ? "" : "s", stats.largest_free_block / 1024);
    kprintf("heap: frame tables %zu KiB (%zu bytes a 4 KiB frame)\n", stats.frame_table_bytes / 1024,
            sizeof(struct heap_frame));
    if (heap_debug_flags() != 0)
        kprintf("heap: debugging on: freed blocks poisoned (0x6b) and quarantined, "
                "red zones (0xcc), callers kept\n");
}

static void run_selftest(void)
{
    int failed = heap_selftest(0x5eed1234);

    qemu_exit(failed ? QEMU_EXIT_FAIL : QEMU_EXIT_PASS);
    kprintf("self-test finished: you can turn the machine off.\n");
    cpu_stop();
}

static void on_serial_byte(char c)
{
    if (c == '\r')
        c = '\n';
    else if (c == 0x7F)
        c = '\b';
    input_push((unsigned char)c);
}

/*
 * The main loop: take one key at a time, and sleep while there is none.
 * Interrupts go off while the queue is checked, and `sti; hlt` turns them
 * back on and halts as one step, so a key that arrives in between still
 * wakes the loop.
 */
static void __attribute__((noreturn)) main_loop(void)
{
    for (;;) {
        cpu_disable_interrupts();
        uint16_t key = input_pop();
        if (key == KEY_NONE) {
            cpu_wait_for_interrupt();
            continue;
        }
        cpu_enable_interrupts();
        demo_handle_key(key);
    }
}

extern char stack_top[];                   /* boot/boot.S */

/* The kernel task restarts here after a stack overflow, on a fresh stack. */
static void __attribute__((noreturn)) restart_main_loop(void)
{
    demo_resume();
    main_loop();
}

/* A double fault: a stack overflow restarts the main loop; anything else halts. */
static uintptr_t on_double_fault(const struct double_fault *fault)
{
    return vm_report_double_fault(fault) ? (uintptr_t)restart_main_loop : 0;
}

void kernel_main(uint32_t magic, const struct multiboot_info *info)
{
    bool multiboot = bootinfo_copy(&boot, magic, info);  /* GRUB's information, read once */
    serial_init();                                  /* COM1: a copy of all output */
    terminal_init(choose_display(&boot));           /* framebuffer or VGA text */
    demo_reserve_screen();                          /* status line and panel rows */
    if (!multiboot)
        refuse_to_start(magic);
    gdt_init();                                     /* flat code and data segments */
    pic_init(IDT_IRQ_BASE);                         /* IRQ 0-15 to vectors 32-47 */
    exception_on_report(vm_report_exception);       /* exception reports, page faults explained */
    idt_init();                                     /* exceptions and IRQs */
    tss_init();                                     /* a task of its own for double faults */
    tss_on_double_fault(on_double_fault, (uintptr_t)stack_top);
    keyboard_init(input_push);                      /* PS/2 keys into the key queue */
    irq_install(KEYBOARD_IRQ, keyboard_interrupt);  /* ... on IRQ 1 */
    serial_enable_input(on_serial_byte);            /* COM1 bytes as keys */
    irq_install(SERIAL_IRQ, serial_interrupt);      /* ... on IRQ 4 */
    print_banner(&boot);                            /* version, loader, memory map */
    memmap_fill_heap(&boot, heap_debug_wanted(&boot));  /* usable RAM into the heap */
    heap_on_refusal(report_refused_free);
    heap_on_debug_report(report_heap_bug);          /* poison and red zones found damaged */
    kmem_cache_init();                              /* no slab caches yet */
    kmem_cache_on_report(report_refused_destroy);
    print_heap_summary();
    vm_init(terminal_display());                    /* identity map, paging on, guarded objects */
    if (bootinfo_has_word(&boot, "selftest"))
        run_selftest();
    demo_init(&boot);                               /* status line, panel, prompt */
    main_loop();
}
