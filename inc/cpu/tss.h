/*
 * tss.h - two hardware tasks, so that a kernel stack overflow is reported
 * instead of resetting the machine (Intel SDM vol. 3A, sections 6.14.1 and
 * 7.2-7.3). When the stack runs into its guard page, the CPU cannot push
 * the page fault's frame: that is a double fault, and with no stack to push
 * it on either, a triple fault and a reset. So vector 8 is a task gate: the
 * CPU saves the kernel's registers in the kernel task's TSS and switches to
 * the double-fault task, which has a stack of its own. Its handler reports,
 * and the kernel task is restarted at a given function on a fresh stack.
 * No rings, no user tasks: the TSS is used for this alone.
 */
#ifndef SHOMPOS_CPU_TSS_H
#define SHOMPOS_CPU_TSS_H

#include <stdint.h>

/* What the interrupted kernel task was doing when the double fault came. */
struct double_fault {
    uint32_t eip, esp, ebp, eflags;
    uint32_t cr2;               /* the last page fault's address: usually the one that started it */
};

/*
 * Runs in the double-fault task with interrupts off. Returns the address of
 * a function the kernel task restarts at (a fresh stack, interrupts off;
 * the function must never return), or 0 to halt there.
 */
typedef uintptr_t (*double_fault_fn)(const struct double_fault *fault);

/* Set up both tasks, load the task register and make vector 8 a task gate (after gdt_init, idt_init). */
void tss_init(void);

/* Who handles double faults, and the stack the kernel task restarts on (its top). */
void tss_on_double_fault(double_fault_fn handler, uintptr_t fresh_stack_top);

/* The page directory both tasks run with after a switch: call it once paging is on. */
void tss_set_page_directory(uint32_t cr3);

#endif
