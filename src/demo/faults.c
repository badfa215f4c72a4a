/*
 * faults.c - the paging keys: v prints the virtual memory map, n reads
 * through a NULL pointer, w writes to the kernel's own code and g recurses
 * until the stack overflows. Paging turns each mistake into a fault the
 * kernel explains (memory/vm.c): n and w resume after their faulting
 * instruction through an exception fixup, as key 0 does; g's overflow is a
 * double fault, and the main loop starts again on a fresh stack.
 */
#include <stdbool.h>
#include <stdint.h>
#include "demo/actions.h"
#include "console/kprintf.h"
#include "cpu/exceptions.h"
#include "cpu/idt.h"
#include "memory/vm.h"

/*
 * Each is written in assembly so that its faulting instruction and the one
 * after it have labels the fixups can name (see divide.c). They touch EAX
 * only, which a cdecl caller expects lost.
 */
void demo_null_read_run(void);
void demo_code_write_run(void);
extern const char demo_null_read_fault[], demo_null_read_resume[];
extern const char demo_code_write_fault[], demo_code_write_resume[];

__asm__(
    ".pushsection .text\n"
    ".globl demo_null_read_run, demo_null_read_fault, demo_null_read_resume\n"
    ".type demo_null_read_run, @function\n"
    "demo_null_read_run:\n"
    "    xorl %eax, %eax\n"
    "demo_null_read_fault:\n"
    "    movl (%eax), %eax\n"           /* read the word at address 0: #PF, not present */
    "demo_null_read_resume:\n"
    "    ret\n"
    ".size demo_null_read_run, . - demo_null_read_run\n"
    ".globl demo_code_write_run, demo_code_write_fault, demo_code_write_resume\n"
    ".type demo_code_write_run, @function\n"
    "demo_code_write_run:\n"
    "    movl $demo_code_write_run, %eax\n"
    "demo_code_write_fault:\n"
    "    movb $0xcc, (%eax)\n"          /* overwrite our own first byte: #PF, read-only */
    "demo_code_write_resume:\n"
    "    ret\n"
    ".size demo_code_write_run, . - demo_code_write_run\n"
    ".popsection\n");

static bool fixups_registered;

void demo_faults_init(void)
{
    const struct exception_fixup null_read = {
        IDT_PAGE_FAULT, (uintptr_t)demo_null_read_fault, (uintptr_t)demo_null_read_resume,
        "the NULL-read demo returns to the prompt",
    };
    const struct exception_fixup code_write = {
        IDT_PAGE_FAULT, (uintptr_t)demo_code_write_fault, (uintptr_t)demo_code_write_resume,
        "the code-write demo returns to the prompt",
    };

    fixups_registered = exception_register_fixup(&null_read) == 0
                     && exception_register_fixup(&code_write) == 0;
}

/* Without paging these would not fault: n would read the real-mode vectors, w corrupt code. */
static bool paging_ready(void)
{
    if (!vm_enabled())
        kprintf("paging is off: nothing would catch this, so the demo does not do it\n");
    else if (!fixups_registered)
        kprintf("the exception table had no room for this demo's fixups: not faulting\n");
    return vm_enabled() && fixups_registered;
}

void demo_show_virtual_memory(unsigned unused)
{
    (void)unused;
    vm_print_map();
}

void demo_null_read(unsigned unused)
{
    (void)unused;
    if (!paging_ready())
        return;
    kprintf("reading the word at address 0: page 0 is not present\n");
    demo_null_read_run();
}

void demo_code_write(unsigned unused)
{
    (void)unused;
    if (!paging_ready())
        return;
    kprintf("writing 0xcc to the kernel's code at 0x%08lx: it is mapped read-only\n",
            (unsigned long)(uintptr_t)demo_code_write_run);
    demo_code_write_run();
}

/*
 * Recurse with 256 bytes of stack a level until the stack runs into its
 * guard page. The volatile array and the use of the result after the call
 * keep the compiler from turning the recursion into a loop.
 */
static unsigned __attribute__((noinline)) recurse(unsigned depth)
{
    volatile unsigned char frame[256];

    if (depth == UINT32_MAX)
        return 0;               /* never reached: the guard page comes first */
    frame[0] = (unsigned char)depth;
    return recurse(depth + 1) + frame[0];
}

void demo_stack_overflow(unsigned unused)
{
    (void)unused;
    if (!vm_enabled()) {
        kprintf("paging is off: no guard page would stop the stack, so the demo does not recurse\n");
        return;
    }
    kprintf("recursing 256 bytes a level until the stack hits its guard page...\n");
    kprintf("never printed: %u\n", recurse(0));
}
