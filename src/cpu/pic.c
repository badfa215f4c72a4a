/*
 * pic.c - program the master and slave 8259A PICs (Intel 8259A datasheet;
 * OSDev "8259 PIC"). The BIOS maps IRQ 0-7 onto vectors 8-15, which the CPU
 * uses for exceptions, so we move all 16 lines to our own base vector.
 * No APIC: ShompOS is a single-CPU kernel.
 */
#include <stdint.h>
#include "cpu/pic.h"
#include "cpu/port.h"

#define PIC1_COMMAND 0x20       /* master: IRQ 0-7 */
#define PIC1_DATA    0x21       /*   interrupt mask register */
#define PIC2_COMMAND 0xA0       /* slave: IRQ 8-15, cascaded on master IRQ 2 */
#define PIC2_DATA    0xA1

#define ICW1_INIT    0x11       /* start initialisation; ICW4 follows */
#define ICW4_8086    0x01       /* 8086 mode, normal end of interrupt */
#define OCW2_EOI     0x20       /* end of interrupt */
#define OCW3_READ_ISR 0x0B      /* next read of the command port gives the in-service register */

#define CASCADE_IRQ  2

void pic_init(unsigned base)
{
    outb(PIC1_COMMAND, ICW1_INIT); io_wait();
    outb(PIC2_COMMAND, ICW1_INIT); io_wait();
    outb(PIC1_DATA, base);         io_wait();   /* ICW2: master's vector base */
    outb(PIC2_DATA, base + 8);     io_wait();   /* ICW2: slave's vector base */
    outb(PIC1_DATA, 1 << CASCADE_IRQ); io_wait(); /* ICW3: slave sits on IRQ 2 */
    outb(PIC2_DATA, CASCADE_IRQ);  io_wait();   /* ICW3: slave's cascade identity */
    outb(PIC1_DATA, ICW4_8086);    io_wait();
    outb(PIC2_DATA, ICW4_8086);    io_wait();

    outb(PIC1_DATA, 0xFF & ~(1 << CASCADE_IRQ));    /* all masked but the cascade */
    outb(PIC2_DATA, 0xFF);
}

void pic_unmask(unsigned irq)
{
    uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;
    outb(port, inb(port) & ~(1 << (irq % 8)));
}

static uint8_t pic_in_service(uint16_t command_port)
{
    outb(command_port, OCW3_READ_ISR);
    return inb(command_port);
}

/*
 * A line that drops before the CPU acknowledges it makes the PIC report its
 * lowest-priority IRQ (7 or 15) with the in-service bit clear. Such an IRQ
 * gets no end-of-interrupt, except that the master did see IRQ 2 for a
 * spurious 15 and must be acknowledged.
 */
bool pic_is_spurious(unsigned irq)
{
    if (irq == 7)
        return !(pic_in_service(PIC1_COMMAND) & 0x80);
    if (irq == 15 && !(pic_in_service(PIC2_COMMAND) & 0x80)) {
        outb(PIC1_COMMAND, OCW2_EOI);
        return true;
    }
    return false;
}

void pic_end_of_interrupt(unsigned irq)
{
    if (irq >= 8)
        outb(PIC2_COMMAND, OCW2_EOI);
    outb(PIC1_COMMAND, OCW2_EOI);
}
