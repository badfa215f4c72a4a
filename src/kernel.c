/*
 * kernel.c - kernel_main, the boot sequence after boot/boot.S: one step
 * per line. The hardware is set up in the order each step needs the one
 * before: output first, so that anything going wrong later can be seen.
 */
#include <stdint.h>
#include "boot/multiboot.h"
#include "console/exception_report.h"
#include "console/input.h"
#include "console/kprintf.h"
#include "console/terminal.h"
#include "cpu/cpu.h"
#include "cpu/exceptions.h"
#include "cpu/gdt.h"
#include "cpu/idt.h"
#include "cpu/pic.h"
#include "demo/demo.h"
#include "drivers/display.h"
#include "drivers/framebuffer.h"
#include "drivers/keyboard.h"
#include "drivers/qemu_exit.h"
#include "drivers/serial.h"
#include "drivers/vga_text.h"
#include "lib/string.h"
#include "memory/heap.h"
#include "memory/memmap.h"
#include "memory/selftest.h"

#define SHOMPOS_VERSION "0.1.0"

static const char *multiboot_string(const struct multiboot_info *info, uint32_t flag, uint32_t address)
{
    return (info->flags & flag) && address != 0 ? (const char *)(uintptr_t)address : "(not given)";
}

/* Is there VGA text memory? Under UEFI, 0xB8000 reads back 0xFF and keeps no writes. */
static int vga_text_present(void)
{
    volatile uint16_t *cell = (volatile uint16_t *)0xB8000;
    uint16_t saved = *cell;

    *cell = 0x0753;
    int present = *cell == 0x0753;
    *cell = saved;
    return present;
}

/* A framebuffer when GRUB gave one (UEFI), else VGA text, else none (serial only). */
static const struct display *choose_display(uint32_t magic, const struct multiboot_info *info)
{
    const struct display *display = NULL;

    if (magic == MULTIBOOT_BOOTLOADER_MAGIC)
        display = framebuffer_display_init(info);
    if (display == NULL && vga_text_present())
        display = vga_text_display();
    return display;
}

static void print_banner(const struct multiboot_info *info)
{
    const struct display *display = terminal_display();

    kprintf("ShompOS " SHOMPOS_VERSION ": a buddy heap kernel for i686\n");
    kprintf("bootloader: %s\n", multiboot_string(info, MULTIBOOT_INFO_LOADER_NAME, info->boot_loader_name));
    const char *command_line = multiboot_string(info, MULTIBOOT_INFO_CMDLINE, info->cmdline);
    kprintf("command line: %s\n", *command_line != '\0' ? command_line : "(empty)");
    if (display == NULL)
        kprintf("display: none (serial console only)\n");
    else if (display == vga_text_display())
        kprintf("display: %s %ux%u\n", display->name, display->columns, display->rows);
    else
        kprintf("display: %s %ux%ux%u (%ux%u cells)\n", display->name, info->framebuffer_width,
                info->framebuffer_height, info->framebuffer_bpp, display->columns, display->rows);
    memmap_print(info);
}

/* kfree's refusals: one line naming the pointer, the reason and who called kfree. */
static void report_refused_free(const void *ptr, enum heap_status why, const void *caller)
{
    kprintf("kfree: refused %p (%s) from caller %p; heap unchanged\n",
            ptr, heap_status_name(why), caller);
}

static void print_heap_summary(void)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    kprintf("heap: %zu KiB in %u region%s, largest free block %zu KiB\n", stats.managed_bytes / 1024,
            stats.regions, stats.regions == 1 ? "" : "s", stats.largest_free_block / 1024);
}

/* Does the command line contain word (space separated)? */
static int command_line_has(const struct multiboot_info *info, const char *word)
{
    const char *s = multiboot_string(info, MULTIBOOT_INFO_CMDLINE, info->cmdline);
    size_t length = strlen(word);

    for (; *s != '\0'; s++)
        if ((s[length] == ' ' || s[length] == '\0') && strncmp(s, word, length) == 0 &&
            (s == (const char *)(uintptr_t)info->cmdline || s[-1] == ' '))
            return 1;
    return 0;
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

void kernel_main(uint32_t magic, const struct multiboot_info *info)
{
    serial_init();                                  /* COM1: a copy of all output */
    terminal_init(choose_display(magic, info));     /* framebuffer or VGA text */
    demo_reserve_screen();                          /* status line and panel rows */
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
        kprintf("ShompOS must be started by a Multiboot loader such as GRUB "
                "(EAX was 0x%08x, not 0x%08x). Halted.\n", magic, MULTIBOOT_BOOTLOADER_MAGIC);
        cpu_stop();
    }
    gdt_init();                                     /* flat code and data segments */
    pic_init(IDT_IRQ_BASE);                         /* IRQ 0-15 to vectors 32-47 */
    exception_on_report(exception_report);          /* exception reports on the console */
    idt_init();                                     /* exceptions and IRQs */
    keyboard_init(input_push);                      /* PS/2 keys into the key queue */
    irq_install(KEYBOARD_IRQ, keyboard_interrupt);  /* ... on IRQ 1 */
    serial_enable_input(on_serial_byte);            /* COM1 bytes as keys */
    irq_install(SERIAL_IRQ, serial_interrupt);      /* ... on IRQ 4 */
    print_banner(info);                             /* version, loader, memory map */
    memmap_fill_heap(info);                         /* usable RAM into the heap */
    heap_on_refusal(report_refused_free);
    print_heap_summary();
    if (command_line_has(info, "selftest"))
        run_selftest();
    demo_init(info);                                /* status line, panel, prompt */
    main_loop();
}
