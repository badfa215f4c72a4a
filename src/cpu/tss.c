/*
 * tss.c - the kernel task and the double-fault task (see cpu/tss.h): their
 * task-state segments, the GDT descriptors that name them, and the handler
 * the double-fault task runs. Intel SDM vol. 3A, figure 7-2 (the 32-bit
 * TSS) and section 7.3 (task switching through a task gate).
 *
 *   kernel task (TR = 0x18)                 double-fault task (0x20)
 *   --------------------------              -------------------------------
 *   recursion hits the guard page
 *   #PF cannot push its frame  --- #DF --> registers saved in kernel_task,
 *                                          link = 0x18, NT set; runs on its
 *                                          own stack: report, then rewrite
 *   restarts at restart_eip,   <-- iret -- kernel_task's EIP/ESP; IRET with
 *   on a fresh stack                       NT set goes back along the link
 */
#include <stddef.h>
#include "cpu/tss.h"
#include "cpu/cpu.h"
#include "cpu/gdt.h"
#include "cpu/idt.h"
#include "cpu/mmu.h"

struct tss {
    uint16_t link, reserved0;           /* the task to go back to (set by the CPU) */
    uint32_t esp0; uint16_t ss0, reserved1;
    uint32_t esp1; uint16_t ss1, reserved2;
    uint32_t esp2; uint16_t ss2, reserved3;
    uint32_t cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, reserved4, cs, reserved5, ss, reserved6, ds, reserved7;
    uint16_t fs, reserved8, gs, reserved9, ldt, reserved10;
    uint16_t trap, iomap_base;          /* iomap_base past the limit: no I/O bitmap */
} __attribute__((packed));

_Static_assert(sizeof(struct tss) == 104, "a 32-bit TSS is 104 bytes (SDM figure 7-2)");

#define DOUBLE_FAULT_STACK_BYTES 8192
#define EFLAGS_RESERVED 0x2u            /* bit 1 is always set; IF (bit 9) clear */

static struct tss kernel_task, double_fault_task;
static uint8_t double_fault_stack[DOUBLE_FAULT_STACK_BYTES] __attribute__((aligned(16)));
static double_fault_fn handler;
static uintptr_t fresh_stack_top;

void double_fault_entry(void);          /* boot/cpu.S: calls double_fault_handle, then IRET */
uintptr_t double_fault_handle(void);

static void task_set_segments(struct tss *task)
{
    task->cs = GDT_KERNEL_CODE;
    task->ds = task->es = task->fs = task->gs = task->ss = GDT_KERNEL_DATA;
    task->iomap_base = sizeof(struct tss);
}

void tss_init(void)
{
    task_set_segments(&kernel_task);
    task_set_segments(&double_fault_task);
    double_fault_task.eip = (uint32_t)(uintptr_t)double_fault_entry;
    double_fault_task.esp = (uint32_t)(uintptr_t)(double_fault_stack + DOUBLE_FAULT_STACK_BYTES);
    double_fault_task.eflags = EFLAGS_RESERVED;
    kernel_task.cr3 = double_fault_task.cr3 = cpu_read_cr3();
    gdt_set_tss(GDT_KERNEL_TASK, &kernel_task, sizeof kernel_task);
    gdt_set_tss(GDT_DOUBLE_FAULT_TASK, &double_fault_task, sizeof double_fault_task);
    __asm__ volatile("ltr %w0" :: "r"(GDT_KERNEL_TASK));   /* where the kernel's state is saved */
    idt_set_task_gate(IDT_DOUBLE_FAULT, GDT_DOUBLE_FAULT_TASK);
}

void tss_on_double_fault(double_fault_fn fn, uintptr_t stack_top)
{
    handler = fn;
    fresh_stack_top = stack_top;
}

/*
 * Both tasks: a switch loads CR3 from the new task's TSS but never saves it
 * into the old one (SDM section 7.3), so the kernel task's CR3 field must
 * be right before the double-fault task switches back to it.
 */
void tss_set_page_directory(uint32_t cr3)
{
    kernel_task.cr3 = cr3;
    double_fault_task.cr3 = cr3;
}

/* Make the kernel task start over at eip on the fresh stack, interrupts off. */
static void kernel_task_restart(uintptr_t eip)
{
    kernel_task.eip = (uint32_t)eip;
    kernel_task.esp = kernel_task.ebp = (uint32_t)fresh_stack_top;
    kernel_task.eflags = EFLAGS_RESERVED;
    kernel_task.eax = kernel_task.ebx = kernel_task.ecx = kernel_task.edx = 0;
    kernel_task.esi = kernel_task.edi = 0;
    task_set_segments(&kernel_task);
}

/*
 * In the double-fault task: tell the handler what the kernel task was doing,
 * then restart it where the handler says, or halt. Returns to cpu.S, whose
 * IRET switches back to the kernel task.
 */
uintptr_t double_fault_handle(void)
{
    struct double_fault fault = {
        kernel_task.eip, kernel_task.esp, kernel_task.ebp, kernel_task.eflags, cpu_read_cr2(),
    };
    uintptr_t restart = handler != NULL && fresh_stack_top != 0 ? handler(&fault) : 0;

    if (restart == 0)
        cpu_stop();
    kernel_task_restart(restart);
    return restart;
}
