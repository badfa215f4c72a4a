/*
 * serial.h - the first serial port, COM1, at 115200 baud 8N1: a copy of
 * everything the terminal prints, and a second keyboard for headless runs.
 */
#ifndef SHOMPOS_DRIVERS_SERIAL_H
#define SHOMPOS_DRIVERS_SERIAL_H

#include <stdbool.h>

/* Returns false when no UART answers at COM1 (then output is dropped). */
bool serial_init(void);

void serial_putchar(char c);

#define SERIAL_IRQ 4            /* COM1's PIC line */

/*
 * Have the UART interrupt on each received byte, which serial_interrupt
 * hands to on_byte. Install serial_interrupt on SERIAL_IRQ. Does nothing
 * when no UART answered serial_init.
 */
void serial_enable_input(void (*on_byte)(char c));

/* The IRQ 4 handler: every byte received goes to on_byte (nothing before input is on). */
void serial_interrupt(void);

#endif
