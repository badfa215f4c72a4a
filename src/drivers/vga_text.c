/*
 * vga_text.c - the VGA text mode display back end (OSDev "Text Mode
 * Cursor", "Printing To Screen"). Each cell of the 80x25 grid at 0xB8000 is
 * two bytes: the character (code page 437) and its colour attribute. The
 * cursor is the CRT controller's hardware cursor. Text mode exists only
 * under BIOS; UEFI machines use drivers/framebuffer.c instead.
 */
#include <stdbool.h>
#include <stdint.h>
#include "drivers/vga_text.h"
#include "cpu/port.h"

#define VGA_COLUMNS 80
#define VGA_ROWS    25
#define VGA_ADDRESS 0xB8000
#define VGA_MEMORY  ((volatile uint16_t *)VGA_ADDRESS)

#define CRTC_INDEX 0x3D4            /* CRT controller: register number ... */
#define CRTC_DATA  0x3D5            /* ... and its value */
#define   CRTC_CURSOR_START 0x0A    /*   bit 5 set hides the cursor */
#define   CRTC_CURSOR_HIGH  0x0E    /*   cursor cell index, bits 8-15 */
#define   CRTC_CURSOR_LOW   0x0F    /*   cursor cell index, bits 0-7 */

static uint16_t vga_cell(unsigned char ch, uint8_t colour)
{
    return (uint16_t)ch | (uint16_t)colour << 8;
}

static void vga_draw(unsigned column, unsigned row, unsigned char ch, uint8_t colour)
{
    VGA_MEMORY[row * VGA_COLUMNS + column] = vga_cell(ch, colour);
}

static void vga_scroll(unsigned top, unsigned bottom, uint8_t colour)
{
    for (unsigned i = top * VGA_COLUMNS; i < (bottom - 1) * VGA_COLUMNS; i++)
        VGA_MEMORY[i] = VGA_MEMORY[i + VGA_COLUMNS];
    for (unsigned column = 0; column < VGA_COLUMNS; column++)
        vga_draw(column, bottom - 1, ' ', colour);
}

static void vga_cursor(unsigned column, unsigned row)
{
    uint16_t index = (uint16_t)(row * VGA_COLUMNS + column);

    outb(CRTC_INDEX, CRTC_CURSOR_START);
    outb(CRTC_DATA, inb(CRTC_DATA) & ~0x20);    /* make sure it is visible */
    outb(CRTC_INDEX, CRTC_CURSOR_HIGH);
    outb(CRTC_DATA, index >> 8);
    outb(CRTC_INDEX, CRTC_CURSOR_LOW);
    outb(CRTC_DATA, index & 0xFF);
}

/* Under UEFI 0xB8000 reads back 0xFF and keeps no writes: write a cell, read it, put it back. */
bool vga_text_present(void)
{
    volatile uint16_t *cell = VGA_MEMORY;
    uint16_t saved = *cell;

    *cell = vga_cell('S', 0x07);
    bool present = *cell == vga_cell('S', 0x07);
    *cell = saved;
    return present;
}

static const struct display vga_text = {
    .name = "vga-text",
    .memory = VGA_ADDRESS,
    .memory_bytes = VGA_COLUMNS * VGA_ROWS * sizeof(uint16_t),
    .columns = VGA_COLUMNS,
    .rows = VGA_ROWS,
    .draw = vga_draw,
    .scroll = vga_scroll,
    .cursor = vga_cursor,
};

const struct display *vga_text_display(void)
{
    return &vga_text;
}
