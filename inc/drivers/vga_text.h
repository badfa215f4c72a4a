/*
 * vga_text.h - the 80x25 VGA text mode display at 0xB8000 (BIOS machines).
 */
#ifndef SHOMPOS_DRIVERS_VGA_TEXT_H
#define SHOMPOS_DRIVERS_VGA_TEXT_H

#include <stdbool.h>
#include "drivers/display.h"

/* Is there VGA text memory at 0xB8000? (Not under UEFI.) */
bool vga_text_present(void);

const struct display *vga_text_display(void);

#endif
