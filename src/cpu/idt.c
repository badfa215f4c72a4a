/*
 * idt.c - fill the IDT with the stubs of boot/cpu.S and route each
 * interrupt: exceptions to cpu/exceptions.c, IRQs to installed handlers.
 * Intel SDM volume 3, section 6.11 (IDT descriptors). Every vector the
 * PIC or the CPU can raise has a stub; the rest of the 256 stay absent.
 */
#include <stddef.h>
#include "cpu/idt.h"
#include "cpu/gdt.h"
#include "cpu/exceptions.h"
#include "cpu/pic.h"          /* the 8259A: spurious IRQs and end of interrupt */

struct idt_entry {
    uint16_t offset_low;
    uint16_t selector;      /* code segment the handler runs in */
    uint8_t zero;
    uint8_t type;           /* present | ring 0 | 32-bit interrupt gate */
    uint16_t offset_high;
} __attribute__((packed));

struct idt_pointer {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_entry) == 8, "an IDT descriptor is 8 bytes");

#define IDT_INTERRUPT_GATE 0x8E     /* present, ring 0, interrupts off on entry */
#define IDT_TASK_GATE      0x85     /* present, ring 0, task gate: a task switch */

extern const uint32_t interrupt_stubs[IDT_EXCEPTIONS + IDT_IRQS];  /* boot/cpu.S */
void idt_load(const struct idt_pointer *pointer);                   /* boot/cpu.S */

static struct idt_entry idt[256];
static irq_handler irq_handlers[IDT_IRQS];

static void idt_set_gate(unsigned vector, uint32_t handler)
{
    idt[vector] = (struct idt_entry){
        .offset_low = handler & 0xFFFF, .selector = GDT_KERNEL_CODE,
        .zero = 0, .type = IDT_INTERRUPT_GATE, .offset_high = handler >> 16,
    };
}

void idt_set_task_gate(unsigned vector, uint16_t tss_selector)
{
    idt[vector] = (struct idt_entry){
        .offset_low = 0, .selector = tss_selector, .zero = 0, .type = IDT_TASK_GATE, .offset_high = 0,
    };
}

void idt_init(void)
{
    for (unsigned vector = 0; vector < IDT_EXCEPTIONS + IDT_IRQS; vector++)
        idt_set_gate(vector, interrupt_stubs[vector]);

    static struct idt_pointer pointer;
    pointer.limit = sizeof(idt) - 1;
    pointer.base = (uint32_t)(uintptr_t)idt;
    idt_load(&pointer);
}

void irq_install(unsigned irq, irq_handler handler)
{
    irq_handlers[irq] = handler;
    pic_unmask(irq);
}

static void irq_dispatch(struct interrupt_frame *frame)
{
    unsigned irq = frame->vector - IDT_IRQ_BASE;

    if (pic_is_spurious(irq))
        return;     /* no end-of-interrupt for a spurious IRQ 7 or 15 */
    if (irq_handlers[irq] != NULL)
        irq_handlers[irq]();
    pic_end_of_interrupt(irq);
}

void interrupt_dispatch(struct interrupt_frame *frame)
{
    if (frame->vector < IDT_EXCEPTIONS)
        exception_handle(frame);
    else
        irq_dispatch(frame);
}
