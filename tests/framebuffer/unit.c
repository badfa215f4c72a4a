/*
 * unit.c - host unit tests of src/drivers/framebuffer.c: the exact bytes it
 * stores for each pixel at 16, 24 and 32 bits a pixel, in whatever colour
 * layout the boot information describes (struct boot_framebuffer, built
 * here directly); scrolling; the cursor; which framebuffers it refuses; and
 * that it writes nowhere outside the framebuffer. The framebuffer is plain
 * memory at a fixed address below 4 GiB, because the kernel uses its
 * address as a pointer. Prints one line per test and each failure as
 * file:line, then "N passed, N failed".
 */
#define _GNU_SOURCE             /* MAP_FIXED_NOREPLACE */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../lib/check.h"
#include "boot/bootinfo.h"
#include "drivers/display.h"
#include "drivers/font8x16.h"
#include "drivers/framebuffer.h"

/* ---- fixtures ------------------------------------------------------------------ */

/*
 * The framebuffer area: the framebuffer between two guards. Each test starts
 * with every byte of it set to GUARD; after the test the guards must still
 * hold GUARD, or the driver wrote outside [base, base + pitch * height).
 *
 *   FB_AREA          BASE                        BASE + pitch * height
 *   | guard (64 KiB) | framebuffer               | guard (64 KiB) |
 */
#define FB_AREA       0x10000000u       /* 256 MiB: below 4 GiB, as the driver requires */
#define FB_AREA_BYTES 0x2000000u        /* 32 MiB: room for 3840x2160 at 16 bpp */
#define GUARD_BYTES   0x10000u
#define BASE          (FB_AREA + GUARD_BYTES)
#define GUARD         0xA5

struct field {
    uint8_t position, size;
};

/* A framebuffer mode, as GRUB describes it (and struct boot_framebuffer keeps it). */
struct mode {
    uint32_t width, height, pitch;      /* pitch: bytes from one pixel row to the next */
    uint8_t bpp;
    struct field red, green, blue;
};

/* Colour layouts: each field's position (its lowest bit) and size in bits. */
#define RGB_888 .red = { 16, 8 }, .green = { 8, 8 }, .blue = { 0, 8 }      /* 0xRRGGBB: OVMF, most PCs */
#define BGR_888 .red = { 0, 8 }, .green = { 8, 8 }, .blue = { 16, 8 }      /* 0xBBGGRR */
#define RGB_565 .red = { 11, 5 }, .green = { 5, 6 }, .blue = { 0, 5 }

/* COLOUR_BROWN (0xAA5500) and COLOUR_BLUE (0x0000AA) as pixel values in each layout. */
#define BROWN_RGB_888 0xAA5500u
#define BLUE_RGB_888  0x0000AAu
#define BROWN_BGR_888 0x0055AAu
#define BLUE_BGR_888  0xAA0000u
#define BROWN_RGB_565 0xAAA0u   /* red 0xAA >> 3 = 21 at bit 11, green 0x55 >> 2 = 21 at bit 5 */
#define BLUE_RGB_565  0x0015u   /* blue 0xAA >> 3 = 21 at bit 0 */
#define WHITE_RGB_888 0xFFFFFFu
#define RED_RGB_888   0xAA0000u

#define BROWN_ON_BLUE COLOUR(COLOUR_BROWN, COLOUR_BLUE)

static struct boot_framebuffer info;
static struct mode current;             /* the framebuffer at BASE */
static size_t fb_bytes;                 /* its pitch * height: the bytes the driver may write */

/* Boot information describing a framebuffer of `mode` at BASE, filled with GUARD. */
static struct boot_framebuffer *describe(struct mode mode)
{
    current = mode;
    fb_bytes = (size_t)mode.pitch * mode.height;
    if (2 * GUARD_BYTES + fb_bytes > FB_AREA_BYTES)
        abort();
    memset((void *)(uintptr_t)FB_AREA, GUARD, 2 * GUARD_BYTES + fb_bytes);

    info = (struct boot_framebuffer){
        .address = BASE, .pitch = mode.pitch, .width = mode.width, .height = mode.height,
        .bpp = mode.bpp, .type = BOOT_FRAMEBUFFER_RGB,
        .red = { mode.red.position, mode.red.size },
        .green = { mode.green.position, mode.green.size },
        .blue = { mode.blue.position, mode.blue.size },
    };
    return &info;
}

/* The driver's display on a fresh framebuffer of `mode`. Stops the run if refused. */
static const struct display *display_of(struct mode mode)
{
    const struct display *display = framebuffer_display_init(describe(mode));

    if (display == NULL) {
        printf("framebuffer_display_init refused a %ux%ux%u framebuffer it should drive\n",
               mode.width, mode.height, mode.bpp);
        exit(1);
    }
    return display;
}

/* The driver returned NULL for info and left every byte of the framebuffer as it was. */
static int refuses(const struct boot_framebuffer *info)
{
    const uint8_t *base = (const uint8_t *)(uintptr_t)BASE;

    if (framebuffer_display_init(info) != NULL)
        return 0;
    for (size_t i = 0; i < fb_bytes; i++)
        if (base[i] != GUARD)
            return 0;
    return 1;
}

static unsigned bytes_per_pixel(void) { return current.bpp / 8; }

static uint8_t *pixel_address(unsigned x, unsigned y)
{
    return (uint8_t *)(uintptr_t)BASE + (size_t)y * current.pitch + (size_t)x * bytes_per_pixel();
}

/* The pixel at (x, y): its bytes read as a little-endian number, as the display reads them. */
static uint32_t pixel_at(unsigned x, unsigned y)
{
    const uint8_t *at = pixel_address(x, y);
    uint32_t value = 0;

    for (unsigned i = bytes_per_pixel(); i-- > 0;)
        value = value << 8 | at[i];
    return value;
}

/* The cell at (column, row) shows `bits` (16 rows, bit 7 leftmost) in fg on bg. */
static void check_cell(const char *file, int line, unsigned column, unsigned row,
                       const uint8_t bits[FONT_HEIGHT], uint32_t fg, uint32_t bg)
{
    for (unsigned y = 0; y < FONT_HEIGHT; y++) {
        for (unsigned x = 0; x < FONT_WIDTH; x++) {
            uint32_t expected = bits[y] & (0x80 >> x) ? fg : bg;
            uint32_t found = pixel_at(column * FONT_WIDTH + x, row * FONT_HEIGHT + y);
            if (found != expected) {
                CHECK_AT(file, line, found == expected);
                printf("    cell (%u, %u), pixel %u of glyph row %u: expected 0x%06x, found 0x%06x\n",
                       column, row, x, y, expected, found);
                return;
            }
        }
    }
}

/* The cell shows character ch in fg on bg. */
#define CHECK_GLYPH(column, row, ch, fg, bg) \
    check_cell(__FILE__, __LINE__, column, row, font8x16[(unsigned char)(ch)], fg, bg)

/* The cell shows ch with the cursor: glyph rows 14 and 15 all foreground. */
#define CHECK_UNDERLINED(column, row, ch, fg, bg) \
    check_underlined(__FILE__, __LINE__, column, row, ch, fg, bg)
static void check_underlined(const char *file, int line, unsigned column, unsigned row,
                             unsigned char ch, uint32_t fg, uint32_t bg)
{
    uint8_t bits[FONT_HEIGHT];

    memcpy(bits, font8x16[ch], sizeof(bits));
    bits[14] = bits[15] = 0xFF;
    check_cell(file, line, column, row, bits, fg, bg);
}

#define NO_CELL UINT_MAX

/* How many pixels of the screen outside cell (column, row) (or NO_CELL) are not black (0). */
static unsigned lit_pixels_outside(unsigned column, unsigned row)
{
    unsigned lit = 0;

    for (unsigned y = 0; y < current.height; y++)
        for (unsigned x = 0; x < current.width; x++)
            if (x / FONT_WIDTH != column || y / FONT_HEIGHT != row)
                lit += pixel_at(x, y) != 0;
    return lit;
}

/* Set every padding byte, past width * bytes a pixel in each pixel row, to value. */
static void padding_fill(uint8_t value)
{
    for (unsigned y = 0; y < current.height; y++)
        memset(pixel_address(current.width, y), value, current.pitch - current.width * bytes_per_pixel());
}

/* How many padding bytes do not hold value. */
static size_t padding_bytes_not(uint8_t value)
{
    size_t count = 0;

    for (unsigned y = 0; y < current.height; y++)
        for (uint8_t *at = pixel_address(current.width, y); at < pixel_address(0, y + 1); at++)
            count += *at != value;
    return count;
}

/* Draw text from (column, row) onwards. */
static void put_text(const struct display *display, unsigned column, unsigned row, const char *text,
                     uint8_t colour)
{
    for (; *text != '\0'; text++, column++)
        display->draw(column, row, (unsigned char)*text, colour);
}

/* ---- pixels in each depth and layout ---------------------------------------------- */

static void a_character_at_32_bpp_has_its_glyph_pixels_in_the_foreground_and_the_rest_in_the_background(void)
{
    const struct display *display = display_of((struct mode){ 64, 48, 64 * 4, 32, RGB_888 });

    display->draw(5, 2, 'F', BROWN_ON_BLUE);
    CHECK_GLYPH(5, 2, 'F', BROWN_RGB_888, BLUE_RGB_888);
    /* 'F' glyph row 2 is 0xfe: ####### then one background pixel. */
    CHECK_EQ(*(uint32_t *)(uintptr_t)(BASE + (2 * 16 + 2) * 64 * 4 + (5 * 8 + 0) * 4), BROWN_RGB_888);
    CHECK_EQ(*(uint32_t *)(uintptr_t)(BASE + (2 * 16 + 2) * 64 * 4 + (5 * 8 + 7) * 4), BLUE_RGB_888);
    CHECK_EQ(lit_pixels_outside(5, 2), 0);
}

static void a_character_at_24_bpp_is_stored_three_bytes_a_pixel_blue_byte_first(void)
{
    const struct display *display = display_of((struct mode){ 64, 48, 64 * 3, 24, RGB_888 });

    display->draw(5, 2, 'F', BROWN_ON_BLUE);
    CHECK_GLYPH(5, 2, 'F', BROWN_RGB_888, BLUE_RGB_888);
    const uint8_t *row_2 = (const uint8_t *)(uintptr_t)(BASE + (2 * 16 + 2) * 64 * 3 + 5 * 8 * 3);
    CHECK(memcmp(row_2, (const uint8_t[]){ 0x00, 0x55, 0xAA }, 3) == 0);            /* brown */
    CHECK(memcmp(row_2 + 7 * 3, (const uint8_t[]){ 0xAA, 0x00, 0x00 }, 3) == 0);    /* blue */
    CHECK_EQ(lit_pixels_outside(5, 2), 0);
}

static void a_character_at_16_bpp_is_stored_in_the_565_layout(void)
{
    const struct display *display = display_of((struct mode){ 64, 48, 64 * 2, 16, RGB_565 });

    display->draw(5, 2, 'F', BROWN_ON_BLUE);
    CHECK_GLYPH(5, 2, 'F', BROWN_RGB_565, BLUE_RGB_565);
    CHECK_EQ(lit_pixels_outside(5, 2), 0);
}

static void white_is_all_ones_in_every_field_at_16_bpp(void)
{
    const struct display *display = display_of((struct mode){ 64, 48, 64 * 2, 16, RGB_565 });

    display->draw(0, 0, 0xDB, COLOUR(COLOUR_WHITE, COLOUR_BLACK));      /* 0xDB: full block */
    CHECK_GLYPH(0, 0, 0xDB, 0xFFFF, 0x0000);
}

static void a_bgr_layout_at_32_bpp_puts_red_in_the_low_byte(void)
{
    const struct display *display = display_of((struct mode){ 64, 48, 64 * 4, 32, BGR_888 });

    display->draw(1, 1, 'F', BROWN_ON_BLUE);
    CHECK_GLYPH(1, 1, 'F', BROWN_BGR_888, BLUE_BGR_888);
}

static void a_bgr_layout_at_24_bpp_stores_the_red_byte_first(void)
{
    const struct display *display = display_of((struct mode){ 64, 48, 64 * 3, 24, BGR_888 });

    display->draw(0, 0, 'F', BROWN_ON_BLUE);
    CHECK_GLYPH(0, 0, 'F', BROWN_BGR_888, BLUE_BGR_888);
    const uint8_t *row_2 = (const uint8_t *)(uintptr_t)(BASE + 2 * 64 * 3);
    CHECK(memcmp(row_2, (const uint8_t[]){ 0xAA, 0x55, 0x00 }, 3) == 0);            /* brown */
    CHECK(memcmp(row_2 + 7 * 3, (const uint8_t[]){ 0x00, 0x00, 0xAA }, 3) == 0);    /* blue */
}

static void every_cell_is_drawn_at_row_times_16_pitches_plus_column_times_8_pixels(void)
{
    const struct display *display = display_of((struct mode){ 40, 48, 40 * 3, 24, RGB_888 });

    for (unsigned row = 0; row < display->rows; row++)
        for (unsigned column = 0; column < display->columns; column++)
            display->draw(column, row, (unsigned char)('A' + row * display->columns + column), BROWN_ON_BLUE);
    for (unsigned row = 0; row < display->rows; row++)
        for (unsigned column = 0; column < display->columns; column++)
            CHECK_GLYPH(column, row, 'A' + row * display->columns + column, BROWN_RGB_888, BLUE_RGB_888);
}

static void a_pitch_with_padding_puts_rows_a_pitch_apart_and_drawing_never_touches_the_padding(void)
{
    const struct display *display = display_of((struct mode){ 40, 32, 40 * 3 + 8, 24, RGB_888 });

    padding_fill(0x5A);
    for (unsigned row = 0; row < display->rows; row++)
        put_text(display, 0, row, "ABCDE", BROWN_ON_BLUE);
    display->cursor(4, 1);
    display->cursor(4, 0);
    for (unsigned column = 0; column < display->columns; column++)
        CHECK_GLYPH(column, 1, "ABCDE"[column], BROWN_RGB_888, BLUE_RGB_888);
    CHECK_EQ(padding_bytes_not(0x5A), 0);
}

/* ---- the cursor and scrolling ---------------------------------------------------- */

static void the_cursor_paints_glyph_rows_14_and_15_in_the_foreground(void)
{
    const struct display *display = display_of((struct mode){ 64, 48, 64 * 4, 32, RGB_888 });

    display->draw(2, 1, 'A', BROWN_ON_BLUE);
    display->cursor(2, 1);
    CHECK_UNDERLINED(2, 1, 'A', BROWN_RGB_888, BLUE_RGB_888);
    CHECK_EQ(lit_pixels_outside(2, 1), 0);
}

static void moving_the_cursor_restores_the_cell_it_leaves(void)
{
    const struct display *display = display_of((struct mode){ 64, 48, 64 * 3, 24, RGB_888 });

    put_text(display, 2, 1, "AB", BROWN_ON_BLUE);
    display->cursor(2, 1);
    display->cursor(3, 1);
    CHECK_GLYPH(2, 1, 'A', BROWN_RGB_888, BLUE_RGB_888);
    CHECK_UNDERLINED(3, 1, 'B', BROWN_RGB_888, BLUE_RGB_888);
}

static void drawing_under_the_cursor_keeps_the_underline(void)
{
    const struct display *display = display_of((struct mode){ 64, 48, 64 * 2, 16, RGB_565 });

    display->cursor(4, 2);
    display->draw(4, 2, 'B', BROWN_ON_BLUE);
    CHECK_UNDERLINED(4, 2, 'B', BROWN_RGB_565, BLUE_RGB_565);
}

static void a_cursor_outside_the_grid_hides_it(void)
{
    const struct display *display = display_of((struct mode){ 64, 48, 64 * 4, 32, RGB_888 });

    display->draw(0, 0, 'A', BROWN_ON_BLUE);
    display->cursor(0, 0);
    display->cursor(display->columns, 0);
    CHECK_GLYPH(0, 0, 'A', BROWN_RGB_888, BLUE_RGB_888);
}

/*
 * Rows 0-3 of an 8x4 grid hold "status", "one", "two", "three"; scrolling
 * below the status row (top 1) gives "status", "two", "three", blank.
 */
static void scrolling_moves_rows_up_clears_the_last_and_leaves_rows_above_the_top(void)
{
    const struct display *display = display_of((struct mode){ 64, 64, 64 * 3, 24, RGB_888 });
    const char *before[] = { "status  ", "one     ", "two     ", "three   " };
    const char *after[] = { "status  ", "two     ", "three   " };

    for (unsigned row = 0; row < 4; row++)
        put_text(display, 0, row, before[row], BROWN_ON_BLUE);
    display->scroll(1, display->rows, COLOUR(COLOUR_WHITE, COLOUR_RED));
    for (unsigned row = 0; row < 3; row++)
        for (unsigned column = 0; column < 8; column++)
            CHECK_GLYPH(column, row, after[row][column], BROWN_RGB_888, BLUE_RGB_888);
    for (unsigned column = 0; column < 8; column++)
        CHECK_GLYPH(column, 3, ' ', WHITE_RGB_888, RED_RGB_888);
}

static void scrolling_does_not_carry_the_underline_up_with_the_text(void)
{
    const struct display *display = display_of((struct mode){ 64, 64, 64 * 4, 32, RGB_888 });

    display->draw(0, 3, 'A', BROWN_ON_BLUE);
    display->cursor(0, 3);
    display->scroll(0, display->rows, BROWN_ON_BLUE);
    CHECK_GLYPH(0, 2, 'A', BROWN_RGB_888, BLUE_RGB_888);
}

static void a_scroll_region_of_one_row_changes_nothing(void)
{
    const struct display *display = display_of((struct mode){ 64, 64, 64 * 4, 32, RGB_888 });

    display->draw(0, 3, 'A', BROWN_ON_BLUE);
    display->scroll(3, display->rows, BROWN_ON_BLUE);
    CHECK_GLYPH(0, 3, 'A', BROWN_RGB_888, BLUE_RGB_888);
    CHECK_EQ(lit_pixels_outside(0, 3), 0);
}

/* ---- which framebuffers it takes, and how many cells ------------------------------- */

static void the_grid_is_width_over_8_by_height_over_16_cells(void)
{
    const struct display *display = display_of((struct mode){ 1024, 768, 1024 * 4, 32, RGB_888 });

    CHECK_EQ(display->columns, 128);
    CHECK_EQ(display->rows, 48);
    CHECK(strcmp(display->name, "framebuffer") == 0);
    display = display_of((struct mode){ 1366, 775, 1366 * 3 + 2, 24, RGB_888 });
    CHECK_EQ(display->columns, 170);        /* 1360 pixels; the last 6 belong to no cell */
    CHECK_EQ(display->rows, 48);
}

static void a_grid_larger_than_the_maximum_is_capped(void)
{
    const struct display *display = display_of((struct mode){ 3840, 2160, 3840 * 2, 16, RGB_565 });

    CHECK_EQ(display->columns, FRAMEBUFFER_MAX_COLUMNS);
    CHECK_EQ(display->rows, FRAMEBUFFER_MAX_ROWS);
    display->draw(FRAMEBUFFER_MAX_COLUMNS - 1, FRAMEBUFFER_MAX_ROWS - 1, 'A', BROWN_ON_BLUE);
    CHECK_GLYPH(FRAMEBUFFER_MAX_COLUMNS - 1, FRAMEBUFFER_MAX_ROWS - 1, 'A', BROWN_RGB_565, BLUE_RGB_565);
}

static void a_framebuffer_of_exactly_one_cell_is_taken(void)
{
    const struct display *display = display_of((struct mode){ 8, 16, 8 * 4, 32, RGB_888 });

    CHECK_EQ(display->columns, 1);
    CHECK_EQ(display->rows, 1);
}

static void init_clears_every_byte_to_black_padding_included(void)
{
    display_of((struct mode){ 40, 32, 40 * 3 + 8, 24, RGB_888 });
    const uint8_t *base = (const uint8_t *)(uintptr_t)BASE;
    size_t not_black = 0;

    for (size_t i = 0; i < fb_bytes; i++)
        not_black += base[i] != 0;
    CHECK_EQ(not_black, 0);
}

static void init_clears_the_last_bytes_when_the_size_is_not_a_multiple_of_4(void)
{
    display_of((struct mode){ 9, 17, 9 * 3, 24, RGB_888 });     /* 27 * 17 = 459 bytes */
    const uint8_t *base = (const uint8_t *)(uintptr_t)BASE;
    size_t not_black = 0;

    for (size_t i = 0; i < fb_bytes; i++)
        not_black += base[i] != 0;
    CHECK_EQ(not_black, 0);
}

static const struct mode vga_32 = { 640, 480, 640 * 4, 32, RGB_888 };

static void an_indexed_colour_framebuffer_is_refused(void)
{
    struct boot_framebuffer *info = describe(vga_32);

    info->bpp = 8;
    info->type = BOOT_FRAMEBUFFER_INDEXED;
    CHECK(refuses(info));
}

static void ega_text_is_refused(void)
{
    struct boot_framebuffer *info = describe(vga_32);

    info->type = BOOT_FRAMEBUFFER_TEXT;
    CHECK(refuses(info));
}

static void rgb_at_8_or_15_bits_a_pixel_is_refused(void)
{
    CHECK(refuses(describe((struct mode){ 640, 480, 640, 8, .red = { 5, 3 }, .green = { 2, 3 },
                                          .blue = { 0, 2 } })));
    CHECK(refuses(describe((struct mode){ 640, 480, 640 * 2, 15, .red = { 10, 5 }, .green = { 5, 5 },
                                          .blue = { 0, 5 } })));
}

static void a_pitch_smaller_than_a_row_of_pixels_is_refused(void)
{
    CHECK(refuses(describe((struct mode){ 640, 480, 640 * 4 - 4, 32, RGB_888 })));
    CHECK(refuses(describe((struct mode){ 640, 480, 640 * 3 - 1, 24, RGB_888 })));
    CHECK(refuses(describe((struct mode){ 640, 480, 640 * 2 - 2, 16, RGB_565 })));
}

static void a_pitch_is_refused_when_width_times_bytes_a_pixel_overflows_32_bits(void)
{
    struct boot_framebuffer *info = describe((struct mode){ 64, 16, 64 * 4, 32, RGB_888 });

    info->width = 0x40000000;       /* * 4 bytes = 2^32, which wraps to 0 in 32 bits */
    CHECK(refuses(info));
}

static void a_framebuffer_smaller_than_one_cell_is_refused(void)
{
    CHECK(refuses(describe((struct mode){ 7, 480, 7 * 4, 32, RGB_888 })));
    CHECK(refuses(describe((struct mode){ 640, 15, 640 * 4, 32, RGB_888 })));
    CHECK(refuses(describe((struct mode){ 0, 0, 0, 32, RGB_888 })));
}

/* What boot info holds when GRUB gave no framebuffer (tests/bootinfo: not copied without its flag). */
static void a_framebuffer_at_address_0_is_refused(void)
{
    struct boot_framebuffer *info = describe(vga_32);

    info->address = 0;
    CHECK(refuses(info));
}

static void a_framebuffer_reaching_past_4_gib_is_refused(void)
{
    struct boot_framebuffer *info = describe(vga_32);

    info->address = 0x100000000ull - 640 * 4 * 479;     /* one pixel row short */
    CHECK(refuses(info));
    info->address = 0x100000000ull;
    CHECK(refuses(info));
    info->address = 0 - (uint64_t)640 * 4;              /* address + size wraps past 2^64 */
    CHECK(refuses(info));
}

/* ---- staying inside the framebuffer ---------------------------------------------- */

static void drawing_the_last_cell_and_scrolling_stay_inside_the_framebuffer(void)
{
    const struct display *display = display_of((struct mode){ 44, 35, 44 * 3, 24, RGB_888 });

    CHECK_EQ(display->columns, 5);
    CHECK_EQ(display->rows, 2);
    display->draw(4, 1, 0xDB, BROWN_ON_BLUE);
    display->cursor(4, 1);
    display->scroll(0, display->rows, BROWN_ON_BLUE);
    CHECK_GLYPH(4, 0, 0xDB, BROWN_RGB_888, BLUE_RGB_888);
    display->scroll(0, display->rows + 5, BROWN_ON_BLUE);      /* a bottom past the grid is the grid's */
    CHECK_GLYPH(4, 0, ' ', BROWN_RGB_888, BLUE_RGB_888);
    /* the after-test check looks at the guards */
}

static void drawing_or_placing_the_cursor_outside_the_grid_writes_nothing(void)
{
    const struct display *display = display_of((struct mode){ 44, 35, 44 * 4, 32, RGB_888 });

    display->draw(display->columns, 0, 0xDB, BROWN_ON_BLUE);
    display->draw(0, display->rows, 0xDB, BROWN_ON_BLUE);
    display->cursor(display->columns, display->rows);
    CHECK_EQ(lit_pixels_outside(NO_CELL, NO_CELL), 0);
}

/* The kernel takes the framebuffer once, but nothing in the contract says only once. */
static void a_second_init_forgets_the_first_screens_text_and_cursor(void)
{
    const struct display *display = display_of((struct mode){ 64, 64, 64 * 4, 32, RGB_888 });

    display->draw(1, 0, 'A', BROWN_ON_BLUE);
    display->draw(7, 3, 'B', BROWN_ON_BLUE);
    display->cursor(7, 3);
    display = display_of((struct mode){ 16, 16, 16 * 4, 32, RGB_888 });     /* 2x1 cells */
    display->cursor(1, 0);          /* takes the cursor off the old (7, 3), then repaints (1, 0) */
    CHECK_EQ(lit_pixels_outside(NO_CELL, NO_CELL), 0);     /* no 'A', no 'B' */
}

static const struct test framebuffer_tests[] = {
    TEST_ENTRY(a_character_at_32_bpp_has_its_glyph_pixels_in_the_foreground_and_the_rest_in_the_background),
    TEST_ENTRY(a_character_at_24_bpp_is_stored_three_bytes_a_pixel_blue_byte_first),
    TEST_ENTRY(a_character_at_16_bpp_is_stored_in_the_565_layout),
    TEST_ENTRY(white_is_all_ones_in_every_field_at_16_bpp),
    TEST_ENTRY(a_bgr_layout_at_32_bpp_puts_red_in_the_low_byte),
    TEST_ENTRY(a_bgr_layout_at_24_bpp_stores_the_red_byte_first),
    TEST_ENTRY(every_cell_is_drawn_at_row_times_16_pitches_plus_column_times_8_pixels),
    TEST_ENTRY(a_pitch_with_padding_puts_rows_a_pitch_apart_and_drawing_never_touches_the_padding),
    TEST_ENTRY(the_cursor_paints_glyph_rows_14_and_15_in_the_foreground),
    TEST_ENTRY(moving_the_cursor_restores_the_cell_it_leaves),
    TEST_ENTRY(drawing_under_the_cursor_keeps_the_underline),
    TEST_ENTRY(a_cursor_outside_the_grid_hides_it),
    TEST_ENTRY(scrolling_moves_rows_up_clears_the_last_and_leaves_rows_above_the_top),
    TEST_ENTRY(scrolling_does_not_carry_the_underline_up_with_the_text),
    TEST_ENTRY(a_scroll_region_of_one_row_changes_nothing),
    TEST_ENTRY(the_grid_is_width_over_8_by_height_over_16_cells),
    TEST_ENTRY(a_grid_larger_than_the_maximum_is_capped),
    TEST_ENTRY(a_framebuffer_of_exactly_one_cell_is_taken),
    TEST_ENTRY(init_clears_every_byte_to_black_padding_included),
    TEST_ENTRY(init_clears_the_last_bytes_when_the_size_is_not_a_multiple_of_4),
    TEST_ENTRY(an_indexed_colour_framebuffer_is_refused),
    TEST_ENTRY(ega_text_is_refused),
    TEST_ENTRY(rgb_at_8_or_15_bits_a_pixel_is_refused),
    TEST_ENTRY(a_pitch_smaller_than_a_row_of_pixels_is_refused),
    TEST_ENTRY(a_pitch_is_refused_when_width_times_bytes_a_pixel_overflows_32_bits),
    TEST_ENTRY(a_framebuffer_smaller_than_one_cell_is_refused),
    TEST_ENTRY(a_framebuffer_at_address_0_is_refused),
    TEST_ENTRY(a_framebuffer_reaching_past_4_gib_is_refused),
    TEST_ENTRY(drawing_the_last_cell_and_scrolling_stay_inside_the_framebuffer),
    TEST_ENTRY(drawing_or_placing_the_cursor_outside_the_grid_writes_nothing),
    TEST_ENTRY(a_second_init_forgets_the_first_screens_text_and_cursor),
};

/* ---- running ------------------------------------------------------------------- */

/* How many guard bytes, on either side of the framebuffer, no longer hold GUARD. */
static size_t guard_bytes_changed(void)
{
    const uint8_t *before = (const uint8_t *)(uintptr_t)FB_AREA;
    const uint8_t *after = before + GUARD_BYTES + fb_bytes;
    size_t changed = 0;

    for (size_t i = 0; i < GUARD_BYTES; i++)
        changed += (before[i] != GUARD) + (after[i] != GUARD);
    return changed;
}

/* After each test: nothing was written outside [base, base + pitch * height). */
static void check_guards_intact(void)
{
    CHECK_EQ(guard_bytes_changed(), 0);
}

int main(void)
{
    int passed = 0, failed = 0;

    setvbuf(stdout, NULL, _IONBF, 0);
    void *area = mmap((void *)(uintptr_t)FB_AREA, FB_AREA_BYTES, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (area != (void *)(uintptr_t)FB_AREA) {
        printf("cannot map the framebuffer area at 0x%x\n0 passed, 1 failed\n", FB_AREA);
        return 1;
    }
    check_run(framebuffer_tests, sizeof(framebuffer_tests) / sizeof(framebuffer_tests[0]), NULL,
              check_guards_intact, &passed, &failed);
    munmap(area, FB_AREA_BYTES);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
