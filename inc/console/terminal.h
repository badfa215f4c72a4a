/*
 * terminal.h - the text console: a scrolling region of a display plus
 * fixed cells above it (the demo's status line and heap panel). Every
 * character written to the scrolling region also goes to the serial port.
 */
#ifndef SHOMPOS_CONSOLE_TERMINAL_H
#define SHOMPOS_CONSOLE_TERMINAL_H

#include <stddef.h>
#include <stdint.h>
#include "drivers/display.h"

/* Start on a display (NULL: serial only). Clears the screen once. */
void terminal_init(const struct display *display);

/* The display in use, or NULL when there is none. */
const struct display *terminal_display(void);

/* Rows [0, top) are fixed; text scrolls in rows [top, rows). */
void terminal_set_scroll_top(unsigned top);

void terminal_set_colour(uint8_t colour);
uint8_t terminal_colour(void);

/* Write to the scrolling region and to serial. Handles \n, \r, \t and \b. */
void terminal_putchar(char c);

/* Draw a cell outside the scrolling text (screen only, not serial). */
void terminal_draw(unsigned column, unsigned row, unsigned char ch, uint8_t colour);

/* Draw a string at a fixed place (screen only); returns the column after it. */
unsigned terminal_draw_string(unsigned column, unsigned row, const char *s, uint8_t colour);

#endif
