/*
 * vga_text.h - the 80x25 VGA text mode display at 0xB8000 (BIOS machines).
 */
#ifndef SHOMPOS_DRIVERS_VGA_TEXT_H
#define SHOMPOS_DRIVERS_VGA_TEXT_H

#include "drivers/display.h"

const struct display *vga_text_display(void);

#endif
