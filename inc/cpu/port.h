/*
 * port.h - x86 I/O port access (the IN and OUT instructions). Only the
 * code that drives hardware includes this: src/drivers/ and the interrupt
 * controller in src/cpu/pic.c. The rest of the kernel never touches ports.
 */
#ifndef SHOMPOS_CPU_PORT_H
#define SHOMPOS_CPU_PORT_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

/* Give a slow device time to settle: a write to the unused POST port 0x80. */
static inline void io_wait(void)
{
    outb(0x80, 0);
}

#endif
