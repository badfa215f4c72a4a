/*
 * input.h - the queue of key presses between interrupt handlers (PS/2
 * keyboard, serial port) and the main loop. Handlers only push; the main
 * loop pops outside interrupt context. A full queue drops new keys.
 */
#ifndef SHOMPOS_CONSOLE_INPUT_H
#define SHOMPOS_CONSOLE_INPUT_H

#include <stdint.h>
#include "drivers/keyboard.h"       /* what a key is: enum key */

#define INPUT_QUEUE_SIZE 64     /* keys waiting; a power of two */

/* Queue a key (interrupt context). A full queue drops it. */
void input_push(uint16_t key);

/* Next key, or KEY_NONE when the queue is empty. */
uint16_t input_pop(void);

/* A short name for a key: "a", "F5", "up", "space". */
const char *input_key_name(uint16_t key);

#endif
