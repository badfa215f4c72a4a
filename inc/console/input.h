/*
 * input.h - the queue of key presses between interrupt handlers (PS/2
 * keyboard, serial port) and the main loop. Handlers only push; the main
 * loop pops outside interrupt context. A full queue drops new keys.
 */
#ifndef SHOMPOS_CONSOLE_INPUT_H
#define SHOMPOS_CONSOLE_INPUT_H

#include <stdbool.h>
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

#define INPUT_QUEUE_SIZE 64     /* keys waiting; a power of two */

/* Queue a key (interrupt context). Returns false and drops it when full. */
bool input_push(uint16_t key);

/* Next key, or KEY_NONE when the queue is empty. */
uint16_t input_pop(void);

/* A short name for a key: "a", "F5", "up", "space". */
const char *input_key_name(uint16_t key);

#endif
