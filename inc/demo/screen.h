/*
 * screen.h - the demo's fixed rows above the scrolling text: the status
 * line (row 0, status.c) and the panel (rows 1-5, panel.c: the heap, or
 * the demo cache's slab). Screen
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

/* What the panel shows: the heap's window, or the demo cache's current slab. */
enum demo_panel_view {
    DEMO_PANEL_HEAP,        /* after boot and the block keys (4-9, r-o, f) */
    DEMO_PANEL_SLAB,        /* after the slab keys (k, j) */
};

/* Show this view from the next redraw on. */
void demo_panel_show(enum demo_panel_view view);

/* Draw the window's blocks, one cell per smallest block, or the slab's objects, one cell each. */
void demo_panel_draw(void);

#endif
