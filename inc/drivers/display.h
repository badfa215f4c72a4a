/*
 * display.h - what a screen back end offers the terminal (console/): a
 * grid of character cells, each with a VGA colour attribute (foreground in
 * the low four bits, background in the high four). Two back ends implement
 * it: VGA text mode (drivers/vga_text.c) and a linear framebuffer drawing
 * an 8x16 font (drivers/framebuffer.c).
 */
#ifndef SHOMPOS_DRIVERS_DISPLAY_H
#define SHOMPOS_DRIVERS_DISPLAY_H

#include <stddef.h>
#include <stdint.h>

/* The sixteen VGA colours; a cell's attribute is fg | bg << 4. */
enum vga_colour {
    COLOUR_BLACK, COLOUR_BLUE, COLOUR_GREEN, COLOUR_CYAN,
    COLOUR_RED, COLOUR_MAGENTA, COLOUR_BROWN, COLOUR_LIGHT_GREY,
    COLOUR_DARK_GREY, COLOUR_LIGHT_BLUE, COLOUR_LIGHT_GREEN, COLOUR_LIGHT_CYAN,
    COLOUR_LIGHT_RED, COLOUR_LIGHT_MAGENTA, COLOUR_YELLOW, COLOUR_WHITE,
};

#define COLOUR(fg, bg) ((uint8_t)((fg) | (bg) << 4))

struct display {
    const char *name;
    unsigned columns, rows;
    uintptr_t memory;               /* the screen memory it draws into, for the page tables */
    uint64_t memory_bytes;
    /* Draw one character (code page 437) at a cell. */
    void (*draw)(unsigned column, unsigned row, unsigned char ch, uint8_t colour);
    /* Move rows top+1 .. bottom-1 up by one and blank row bottom-1 in colour. */
    void (*scroll)(unsigned top, unsigned bottom, uint8_t colour);
    /* Show the cursor at a cell. */
    void (*cursor)(unsigned column, unsigned row);
};

#endif
