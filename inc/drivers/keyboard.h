/*
 * keyboard.h - the PS/2 keyboard: each key press is handed, in interrupt
 * context, to the function given to keyboard_init. What a key is (an ASCII
 * character or one of the special keys below) is defined here, where keys
 * are made; the console's queue and the demo use the same codes.
 */
#ifndef SHOMPOS_DRIVERS_KEYBOARD_H
#define SHOMPOS_DRIVERS_KEYBOARD_H

#include <stdint.h>

/* A key: an ASCII character (1-127) or one of these special keys. */
enum key {
    KEY_NONE = 0,
    KEY_ESCAPE = 27,
    KEY_UP = 0x100, KEY_DOWN, KEY_LEFT, KEY_RIGHT,
    KEY_HOME, KEY_END, KEY_PAGE_UP, KEY_PAGE_DOWN, KEY_INSERT, KEY_DELETE,
    KEY_F1, KEY_F2, KEY_F3, KEY_F4, KEY_F5, KEY_F6,
    KEY_F7, KEY_F8, KEY_F9, KEY_F10, KEY_F11, KEY_F12,
};

#define KEYBOARD_IRQ 1          /* the PIC line of the 8042's first port */

/*
 * Flush the controller; from then on keyboard_interrupt hands each key
 * press to on_key. Install keyboard_interrupt on KEYBOARD_IRQ to start.
 */
void keyboard_init(void (*on_key)(uint16_t key));

/* The IRQ 1 handler: read one byte and, if it completes a key press, hand it on. */
void keyboard_interrupt(void);

#endif
