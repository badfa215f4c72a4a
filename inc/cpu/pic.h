/*
 * pic.h - the two 8259A programmable interrupt controllers of the PC. They
 * sit with the CPU code because the IRQ dispatch (cpu/idt.c) needs them for
 * every interrupt; devices never talk to them.
 */
#ifndef SHOMPOS_CPU_PIC_H
#define SHOMPOS_CPU_PIC_H

#include <stdbool.h>

/* Remap IRQ 0-15 to vectors base .. base+15 and mask every line. */
void pic_init(unsigned base);

void pic_unmask(unsigned irq);

/* True when IRQ 7 or 15 fired with no interrupt behind it (the PIC's ISR bit clear). */
bool pic_is_spurious(unsigned irq);

void pic_end_of_interrupt(unsigned irq);

#endif
