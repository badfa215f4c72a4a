/*
 * idt.h - the Interrupt Descriptor Table and the frame every interrupt
 * handler receives. Vectors 0-31 are CPU exceptions; the PIC's 16 lines
 * are remapped to vectors 32-47 (IRQ n is vector 32 + n).
 */
#ifndef SHOMPOS_CPU_IDT_H
#define SHOMPOS_CPU_IDT_H

#include <stdint.h>

#define IDT_EXCEPTIONS 32
#define IDT_IRQ_BASE   32
#define IDT_IRQS       16
#define IDT_DOUBLE_FAULT 8
#define IDT_PAGE_FAULT   14

/* What boot/cpu.S pushes, lowest address first. */
struct interrupt_frame {
    uint32_t ds;
    uint32_t edi, esi, ebp, esp_at_entry, ebx, edx, ecx, eax;   /* PUSHA */
    uint32_t vector, error_code;
    uint32_t eip, cs, eflags;                                   /* pushed by the CPU */
};

/* A device's interrupt handler: it talks to its device; the end of interrupt is idt.c's. */
typedef void (*irq_handler)(void);

void idt_init(void);

/* Make vector a task gate: the CPU switches to the task of tss_selector (cpu/tss.c). */
void idt_set_task_gate(unsigned vector, uint16_t tss_selector);

/* Route IRQ line irq (0-15) to handler; the PIC line is unmasked. kernel_main wires them. */
void irq_install(unsigned irq, irq_handler handler);

/* Called by boot/cpu.S for every interrupt. */
void interrupt_dispatch(struct interrupt_frame *frame);

#endif
