/*
 * divide.c - key 0: divide by zero on purpose. The CPU raises exception 0
 * (#DE, Intel SDM vol. 3, section 6.15); the kernel prints its report and,
 * because demo_divide_init registered a fixup for exactly this instruction,
 * resumes at the instruction after it instead of halting. Nothing else is
 * recovered this way: any other fault still halts the kernel.
 */
#include <stdbool.h>
#include <stdint.h>
#include "demo/actions.h"
#include "console/kprintf.h"
#include "cpu/exceptions.h"

/*
 * The whole function is written in assembly, so the compiler can neither
 * inline nor duplicate it and each label exists exactly once:
 * demo_divide_fault is the DIV that faults, demo_divide_resume the
 * instruction after it, where the exception handler sends execution back.
 * It only touches EAX, ECX and EDX, which a cdecl caller expects lost.
 */
void demo_divide_run(void);
extern const char demo_divide_fault[], demo_divide_resume[];

__asm__(
    ".pushsection .text\n"
    ".globl demo_divide_run\n"
    ".type demo_divide_run, @function\n"
    "demo_divide_run:\n"
    "    movl $1, %eax\n"               /* dividend EDX:EAX = 1 */
    "    xorl %edx, %edx\n"
    "    xorl %ecx, %ecx\n"             /* divisor 0 */
    ".globl demo_divide_fault\n"
    "demo_divide_fault:\n"
    "    divl %ecx\n"                   /* raises #DE */
    ".globl demo_divide_resume\n"
    "demo_divide_resume:\n"
    "    ret\n"
    ".size demo_divide_run, . - demo_divide_run\n"
    ".popsection\n");

static bool fixup_registered;

void demo_divide_init(void)
{
    struct exception_fixup fixup = {
        .vector = 0,
        .fault_eip = (uintptr_t)demo_divide_fault,
        .resume_eip = (uintptr_t)demo_divide_resume,
        .what = "the divide-by-zero demo returns to the prompt",
    };

    fixup_registered = exception_register_fixup(&fixup) == 0;
}

void demo_divide_by_zero(unsigned unused)
{
    (void)unused;
    if (!fixup_registered) {
        kprintf("the exception table had no room for this demo's fixup: not dividing by 0\n");
        return;
    }
    kprintf("dividing 1 by 0: the CPU raises exception 0\n");
    demo_divide_run();
}
