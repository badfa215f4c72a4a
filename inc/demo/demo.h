/*
 * demo.h - the interactive heap demo: one key, one heap action, and a
 * status line and heap panel that show the result.
 */
#ifndef SHOMPOS_DEMO_DEMO_H
#define SHOMPOS_DEMO_DEMO_H

#include <stdint.h>
#include "boot/bootinfo.h"

/* Keep the status line's and heap panel's rows out of the scrolling text,
 * so the boot banner printed before demo_init is not drawn over. */
void demo_reserve_screen(void);

/* Draw the status line and heap panel and print the first prompt. Key m
 * shows boot's memory map, so boot must outlive the demo. */
void demo_init(const struct boot_info *boot);

/* Act on one key press (never in interrupt context). */
void demo_handle_key(uint16_t key);

/* After a key's action was cut short (a stack overflow): redraw, and the prompt again. */
void demo_resume(void);

#endif
