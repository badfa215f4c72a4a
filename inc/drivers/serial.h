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

/* Deliver each received byte to on_byte (called from the IRQ 4 handler). */
void serial_enable_input(void (*on_byte)(char c));

#endif
