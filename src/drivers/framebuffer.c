/*
 * framebuffer.c - the display back end for a linear RGB framebuffer, which
 * GRUB hands over on UEFI PCs (Multiboot 0.6.96, section 3.3, fields
 * framebuffer_*, as struct boot_framebuffer holds them). Each cell is an
 * 8x16 glyph of drivers/font8x16.c; the
 * cursor is an underline. Handles 16, 24 and 32 bits a pixel; not indexed
 * (palette) modes, nor EGA text, which drivers/vga_text.c draws.
 */
#include <stddef.h>
#include <stdint.h>
#include "drivers/font8x16.h"
#include "drivers/framebuffer.h"
#include "lib/string.h"

#define CURSOR_FIRST_LINE 14        /* the underline: glyph rows 14 and 15 */

/*
 * The framebuffer is height rows of pixels, each row pitch bytes apart
 * (pitch may exceed width * bytes_per_pixel: the rest is padding). The
 * cell at (column, row) is the 8x16 block whose top-left pixel is at
 *
 *     base + row * 16 * pitch + column * 8 * bytes_per_pixel
 *
 *     base
 *     |<--------------------- pitch ----------------------->|
 *     +--------+--------+--------+-- ... --+---------------+
 *     | (0,0)  | (1,0)  | (2,0)  |         |    padding    |  pixel rows 0-15
 *     +--------+--------+--------+-- ... --+---------------+
 *     | (0,1)  | (1,1)  |        |         |               |  pixel rows 16-31
 */
static struct {
    volatile uint8_t *base;
    uint32_t pitch;
    uint32_t bytes_per_pixel;
    uint32_t height;
    uint32_t palette[16];           /* pixel value of each VGA colour */
} screen;

/* What each cell shows, so that a cell can be drawn again (to move the cursor). */
struct cell {
    unsigned char ch;
    uint8_t colour;
};

static struct cell shadow[FRAMEBUFFER_MAX_ROWS][FRAMEBUFFER_MAX_COLUMNS];
static unsigned cursor_column, cursor_row;
static int cursor_shown;

/* The VGA palette's sixteen colours as 0xRRGGBB, in enum vga_colour order. */
static const uint32_t vga_rgb[16] = {
    0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500, 0xAAAAAA,
    0x555555, 0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF,
};

static struct display framebuffer_display;

/*
 * Scale an 8-bit intensity to a field of size bits at position. OVMF's
 * 32-bit pixels are 0x00RRGGBB: red at 16, green at 8, blue at 0, size 8.
 *
 *     bit 31     24 23     16 15      8 7       0
 *        | unused  |   red   |  green  |  blue   |
 */
static uint32_t colour_field(uint32_t intensity, uint8_t position, uint8_t size)
{
    if (size == 0 || size > 32 || position >= 32)
        return 0;                       /* no such field in a 32-bit pixel */
    uint32_t scaled = size <= 8 ? intensity >> (8 - size) : intensity << (size - 8);
    return scaled << position;
}

/* The pixel value showing colour 0xRRGGBB in the layout mode describes. */
static uint32_t pixel_value(const struct boot_framebuffer *mode, uint32_t rgb)
{
    uint8_t red = rgb >> 16 & 0xFF, green = rgb >> 8 & 0xFF, blue = rgb & 0xFF;

    return colour_field(red, mode->red.position, mode->red.size) |
           colour_field(green, mode->green.position, mode->green.size) |
           colour_field(blue, mode->blue.position, mode->blue.size);
}

/* Store one pixel, least significant byte first, as the framebuffer is little-endian. */
static void pixel_store(volatile uint8_t *at, uint32_t value)
{
    switch (screen.bytes_per_pixel) {
    case 4:
        *(volatile uint32_t *)at = value;
        break;
    case 3:
        at[0] = (uint8_t)value;
        at[1] = (uint8_t)(value >> 8);
        at[2] = (uint8_t)(value >> 16);
        break;
    default:
        *(volatile uint16_t *)at = (uint16_t)value;
    }
}

/* Paint a glyph: pixels whose font bit is set in fg, the others in bg. */
static void glyph_paint(unsigned column, unsigned row, const uint8_t *glyph, uint32_t fg, uint32_t bg)
{
    volatile uint8_t *line = screen.base + (size_t)row * FONT_HEIGHT * screen.pitch +
                             (size_t)column * FONT_WIDTH * screen.bytes_per_pixel;

    for (unsigned y = 0; y < FONT_HEIGHT; y++, line += screen.pitch)
        for (unsigned x = 0; x < FONT_WIDTH; x++)
            pixel_store(line + x * screen.bytes_per_pixel, glyph[y] & (0x80 >> x) ? fg : bg);
}

/* Draw a cell from the shadow, with the underline if the cursor is on it. */
static void cell_repaint(unsigned column, unsigned row)
{
    const struct cell *cell = &shadow[row][column];
    uint8_t glyph[FONT_HEIGHT];

    memcpy(glyph, font8x16[cell->ch], sizeof glyph);
    if (cursor_shown && column == cursor_column && row == cursor_row)
        for (unsigned y = CURSOR_FIRST_LINE; y < FONT_HEIGHT; y++)
            glyph[y] = 0xFF;
    glyph_paint(column, row, glyph, screen.palette[cell->colour & 0x0F], screen.palette[cell->colour >> 4]);
}

static void framebuffer_draw(unsigned column, unsigned row, unsigned char ch, uint8_t colour)
{
    if (column >= framebuffer_display.columns || row >= framebuffer_display.rows)
        return;
    shadow[row][column] = (struct cell){ .ch = ch, .colour = colour };
    cell_repaint(column, row);
}

/* Take the underline off the cell that has it. */
static void cursor_hide(void)
{
    if (!cursor_shown)
        return;
    cursor_shown = 0;
    cell_repaint(cursor_column, cursor_row);
}

/* Underline the cell at (column, row); draw keeps the underline on that cell. */
static void framebuffer_cursor(unsigned column, unsigned row)
{
    if (cursor_shown && column == cursor_column && row == cursor_row)
        return;                     /* already there: save two repaints a character */
    cursor_hide();
    if (column >= framebuffer_display.columns || row >= framebuffer_display.rows)
        return;
    cursor_column = column;
    cursor_row = row;
    cursor_shown = 1;
    cell_repaint(column, row);
}

/*
 * Copy count 32-bit words to a lower address, first word first, so an
 * overlapping source is read before it is overwritten. Words, not bytes:
 * under QEMU's TCG every load and store costs the same whatever its size.
 */
static void words_copy_down(volatile uint32_t *dest, const volatile uint32_t *src, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dest[i] = src[i];
}

/*
 * Move text rows top+1 .. bottom-1 up one row and blank row bottom-1:
 *
 *     top      | line A |          | line B |
 *     top+1    | line B |   --->   | line C |
 *     bottom-1 | line C |          |        |   (blank, in colour)
 *
 * The pixel rows form one block, padding included, so one copy moves them
 * all; its length, 16 * pitch * rows, is a whole number of words.
 */
static void framebuffer_scroll(unsigned top, unsigned bottom, uint8_t colour)
{
    if (bottom > framebuffer_display.rows)
        bottom = framebuffer_display.rows;
    if (top + 1 >= bottom)
        return;
    cursor_hide();                  /* or its underline would move up with the text */
    size_t text_row_bytes = (size_t)FONT_HEIGHT * screen.pitch;
    words_copy_down((volatile uint32_t *)(screen.base + top * text_row_bytes),
                    (const volatile uint32_t *)(screen.base + (top + 1) * text_row_bytes),
                    (bottom - 1 - top) * text_row_bytes / 4);
    memmove(shadow[top], shadow[top + 1], (bottom - 1 - top) * sizeof shadow[0]);
    for (unsigned column = 0; column < framebuffer_display.columns; column++)
        framebuffer_draw(column, bottom - 1, ' ', colour);
}

/* Every pixel black (0 in any RGB layout), padding included: words, then the last 0-3 bytes. */
static void screen_clear(void)
{
    volatile uint32_t *word = (volatile uint32_t *)screen.base;
    size_t bytes = (size_t)screen.pitch * screen.height;

    for (size_t i = 0; i < bytes / 4; i++)
        word[i] = 0;
    for (size_t i = bytes / 4 * 4; i < bytes; i++)
        screen.base[i] = 0;
}

/* Can this kernel draw on the framebuffer mode describes? */
static int framebuffer_usable(const struct boot_framebuffer *mode)
{
    uint32_t bpp = mode->bpp;
    uint64_t size = (uint64_t)mode->pitch * mode->height;

    return mode->type == BOOT_FRAMEBUFFER_RGB &&
           (bpp == 16 || bpp == 24 || bpp == 32) &&
           mode->width >= FONT_WIDTH && mode->height >= FONT_HEIGHT &&
           mode->pitch >= (uint64_t)mode->width * (bpp / 8) &&
           mode->address != 0 && mode->address < 0x100000000ull &&
           size <= 0x100000000ull - mode->address;     /* not address + size: it can wrap */
}

static unsigned cells_fitting(uint32_t pixels, unsigned cell_pixels, unsigned most)
{
    unsigned cells = pixels / cell_pixels;
    return cells < most ? cells : most;
}

const struct display *framebuffer_display_init(const struct boot_framebuffer *mode)
{
    if (!framebuffer_usable(mode))
        return NULL;
    screen.base = (volatile uint8_t *)(uintptr_t)mode->address;
    screen.pitch = mode->pitch;
    screen.bytes_per_pixel = mode->bpp / 8;
    screen.height = mode->height;
    for (unsigned colour = 0; colour < 16; colour++)
        screen.palette[colour] = pixel_value(mode, vga_rgb[colour]);
    framebuffer_display = (struct display){
        .name = "framebuffer",
        .memory = (uintptr_t)mode->address,
        .memory_bytes = (uint64_t)mode->pitch * mode->height,
        .columns = cells_fitting(mode->width, FONT_WIDTH, FRAMEBUFFER_MAX_COLUMNS),
        .rows = cells_fitting(mode->height, FONT_HEIGHT, FRAMEBUFFER_MAX_ROWS),
        .draw = framebuffer_draw,
        .scroll = framebuffer_scroll,
        .cursor = framebuffer_cursor,
    };
    memset(shadow, 0, sizeof shadow);  /* forget an earlier screen: its cells and its cursor */
    cursor_shown = 0;
    screen_clear();
    return &framebuffer_display;
}
