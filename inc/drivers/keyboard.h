/*
 * keyboard.h - the PS/2 keyboard: key presses go into the input queue
 * (console/input.h) from the IRQ 1 handler.
 */
#ifndef SHOMPOS_DRIVERS_KEYBOARD_H
#define SHOMPOS_DRIVERS_KEYBOARD_H

/* Flush the controller and start taking key presses on IRQ 1. */
void keyboard_init(void);

#endif
