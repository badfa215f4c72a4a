/*
 * terminal.c - a scrolling text console on top of a display back end, with
 * a copy of every character on the serial port. The rows above scroll_top
 * stay put (status line, heap panel); text below scrolls up a line at a
 * time when it reaches the bottom. The screen is never cleared to make room.
 */
#include <stddef.h>
#include "console/terminal.h"
#include "drivers/serial.h"

#define TAB_WIDTH 8

static const struct display *screen;
static unsigned column, row, scroll_top;
static uint8_t colour = COLOUR(COLOUR_LIGHT_GREY, COLOUR_BLACK);

static void terminal_clear_rows(unsigned from, unsigned to)
{
    for (unsigned r = from; r < to; r++)
        for (unsigned c = 0; c < screen->columns; c++)
            screen->draw(c, r, ' ', colour);
}

void terminal_init(const struct display *display)
{
    screen = display;
    column = row = scroll_top = 0;
    if (screen != NULL) {
        terminal_clear_rows(0, screen->rows);
        screen->cursor(0, 0);
    }
}

const struct display *terminal_display(void)
{
    return screen;
}

void terminal_set_scroll_top(unsigned top)
{
    if (screen == NULL || top >= screen->rows)
        return;
    scroll_top = top;
    if (row < top)
        row = top;
}

void terminal_set_colour(uint8_t new_colour)
{
    colour = new_colour;
}

uint8_t terminal_colour(void)
{
    return colour;
}

static void terminal_newline(void)
{
    column = 0;
    if (++row < screen->rows)
        return;
    screen->scroll(scroll_top, screen->rows, colour);
    row = screen->rows - 1;
}

/* Put c on the screen only; terminal_putchar adds the serial copy. */
static void terminal_screen_putchar(char c)
{
    switch (c) {
    case '\n':
        terminal_newline();
        break;
    case '\r':
        column = 0;
        break;
    case '\t':
        do
            terminal_screen_putchar(' ');
        while (column % TAB_WIDTH != 0);
        break;
    case '\b':
        if (column > 0)
            screen->draw(--column, row, ' ', colour);
        break;
    default:
        screen->draw(column, row, (unsigned char)c, colour);
        if (++column == screen->columns)
            terminal_newline();
    }
}

void terminal_putchar(char c)
{
    serial_putchar(c);
    if (screen == NULL)
        return;
    terminal_screen_putchar(c);
    screen->cursor(column, row);
}

void terminal_draw(unsigned c, unsigned r, unsigned char ch, uint8_t cell_colour)
{
    if (screen != NULL && c < screen->columns && r < screen->rows)
        screen->draw(c, r, ch, cell_colour);
}

unsigned terminal_draw_string(unsigned c, unsigned r, const char *s, uint8_t cell_colour)
{
    for (; *s != '\0'; s++, c++)
        terminal_draw(c, r, (unsigned char)*s, cell_colour);
    return c;
}
