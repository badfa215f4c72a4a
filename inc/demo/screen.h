/*
 * screen.h - the demo's fixed rows above the scrolling text: the status
 * line (row 0, status.c) and the heap panel (rows 1-5, panel.c). Screen
 * only: nothing here goes to serial. Both are redrawn after every key.
 */
#ifndef SHOMPOS_DEMO_SCREEN_H
#define SHOMPOS_DEMO_SCREEN_H

#define DEMO_STATUS_ROW     0
#define DEMO_PANEL_ROW      1   /* first of the panel's picture rows */
#define DEMO_PANEL_ROWS     4   /* picture rows; a caption row follows them */
#define DEMO_PANEL_COLUMNS  64  /* cells per picture row */
#define DEMO_SCROLL_TOP     (DEMO_PANEL_ROW + DEMO_PANEL_ROWS + 1)

/* Heap managed, free and largest free block in KiB, and the live demo blocks. */
void demo_status_draw(void);

/* Choose the panel's window: where the first small allocation will land. */
void demo_panel_init(void);

/* Draw the window's blocks, one cell per smallest block. */
void demo_panel_draw(void);

#endif
