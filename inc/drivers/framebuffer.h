/*
 * framebuffer.h - the display back end for a linear framebuffer (UEFI PCs,
 * where there is no VGA text mode): character cells drawn as 8x16 glyphs
 * of code page 437 in the sixteen VGA colours.
 */
#ifndef SHOMPOS_DRIVERS_FRAMEBUFFER_H
#define SHOMPOS_DRIVERS_FRAMEBUFFER_H

#include "boot/bootinfo.h"
#include "drivers/display.h"

/* Largest cell grid drawn: 240x135 cells is 1920x2160 pixels. A wider or
   taller framebuffer shows the grid in its top-left corner. */
#define FRAMEBUFFER_MAX_COLUMNS 240
#define FRAMEBUFFER_MAX_ROWS    135

/*
 * Take over the framebuffer mode describes, clear it to black and return
 * its display, named "framebuffer", with columns = width / 8 and rows =
 * height / 16 (capped as above). Returns NULL, touching nothing, unless the
 * type is RGB, a pixel is 16, 24 or 32 bits, the pitch holds a row of
 * pixels, there is room for one cell, and the whole framebuffer lies below
 * 4 GiB (the kernel runs with paging off: physical addresses are pointers).
 *
 * To describe the mode, print mode->width, height and bpp beside the
 * returned display's columns and rows:
 *     "display: framebuffer 1024x768x32 (128x48 cells)"
 */
const struct display *framebuffer_display_init(const struct boot_framebuffer *mode);

#endif
