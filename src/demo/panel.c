/*
 * panel.c - the panel (rows 1-5): a window of the heap drawn as 4 rows of
 * 64 cells, one cell per smallest block (16 bytes on i686, so 1 KiB per row
 * and a 4 KiB window), each row labelled with its address, and a legend
 * row; or, after the slab keys, the demo cache's current slab, one cell per
 * object. Screen only, not serial. It shows one window, not the whole heap.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "demo/screen.h"
#include "demo/actions.h"
#include "demo/blocks.h"
#include "console/kprintf.h"
#include "console/terminal.h"
#include "memory/heap.h"
#include "memory/slab.h"

#define PANEL_CELLS (DEMO_PANEL_ROWS * DEMO_PANEL_COLUMNS)

#define LABEL_COLOUR            COLOUR(COLOUR_LIGHT_GREY, COLOUR_BLACK)
#define ALLOCATED_HEADER_COLOUR COLOUR(COLOUR_YELLOW, COLOUR_RED)
#define ALLOCATED_COLOUR        COLOUR(COLOUR_WHITE, COLOUR_RED)
#define FREE_HEADER_COLOUR      COLOUR(COLOUR_WHITE, COLOUR_GREEN)
#define FREE_COLOUR             COLOUR(COLOUR_BLACK, COLOUR_GREEN)
#define OUTSIDE_COLOUR          COLOUR(COLOUR_DARK_GREY, COLOUR_BLACK)

struct cell {
    unsigned char character;
    uint8_t colour;
};

static uintptr_t window;                /* first address shown: a multiple of window_bytes() */
static struct cell cells[PANEL_CELLS];
static enum demo_panel_view view;

static size_t unit_bytes(void) { return heap_scale_bytes(heap_min_scale()); }

static size_t window_bytes(void) { return unit_bytes() * PANEL_CELLS; }

/*
 * Where the first small demo block will land: kmalloc splits the smallest
 * free block of scale >= 9 (the largest demo scale) and keeps its lower
 * half, so the head of that free list. Found by looking, not by allocating,
 * so the statistics stay untouched. Falls back to the first region's start.
 */
static uintptr_t first_landing(void)
{
    uintptr_t block, end;

    for (unsigned scale = DEMO_LAST_SCALE; scale <= HEAP_MAX_SCALE; scale++)
        if (heap_free_list_peek(scale, &block, 1) == 1)
            return block;
    return heap_region(0, &block, &end) ? block : 0;
}

/* The window stays put from here on, so freeing a block restores the exact earlier picture. */
void demo_panel_init(void)
{
    window = first_landing() & ~(uintptr_t)(window_bytes() - 1);
}

static unsigned char scale_digit(unsigned scale)
{
    return scale > 15 ? '+' : (unsigned char)"0123456789abcdef"[scale];
}

/*
 * heap_walk calls this for every block of the heap (the walk cannot start
 * mid-heap), so a redraw costs time in proportion to the number of blocks:
 * a few dozen after boot, a few hundred more at most from the demo's keys.
 * Only the part of a block inside the window is drawn.
 */
static void panel_visit(uintptr_t block, unsigned scale, int allocated, void *context)
{
    uintptr_t last = block + (heap_scale_bytes(scale) - 1);     /* no overflow at the top of memory */
    uintptr_t window_last = window + (window_bytes() - 1);

    (void)context;
    if (last < window || block > window_last)
        return;
    size_t first_cell = ((block > window ? block : window) - window) / unit_bytes();
    size_t last_cell = ((last < window_last ? last : window_last) - window) / unit_bytes();
    for (size_t i = first_cell; i <= last_cell; i++) {
        bool header = i == first_cell && block >= window;
        cells[i].character = header ? scale_digit(scale) : allocated ? '#' : '.';
        cells[i].colour = allocated ? (header ? ALLOCATED_HEADER_COLOUR : ALLOCATED_COLOUR)
                                    : (header ? FREE_HEADER_COLOUR : FREE_COLOUR);
    }
}

static void panel_clear_to_end(unsigned column, unsigned row)
{
    const struct display *display = terminal_display();

    while (column < display->columns)
        terminal_draw(column++, row, ' ', LABEL_COLOUR);
}

/*
 * A row: its address, then 64 cells (here after keys 4 5 6 7 8 9):
 *
 *   0x0012e000 445#6###7#######8###############9###############################
 *   0x0012e400 a...............................................................
 *              |
 *              a block's first cell (its header) shows its scale in hex, the
 *              rest '#' allocated (white on red) or '.' free (black on green)
 */
static void panel_draw_cells(unsigned row, const char *label)
{
    unsigned column = terminal_draw_string(0, DEMO_PANEL_ROW + row, label, LABEL_COLOUR);

    for (unsigned i = 0; i < DEMO_PANEL_COLUMNS; i++, column++) {
        const struct cell *c = &cells[row * DEMO_PANEL_COLUMNS + i];
        terminal_draw(column, DEMO_PANEL_ROW + row, c->character, c->colour);
    }
    panel_clear_to_end(column, DEMO_PANEL_ROW + row);
}

static void panel_draw_row(unsigned row)
{
    char label[16];

    ksnprintf(label, sizeof(label), "0x%08lx ",
              (unsigned long)(window + (uintptr_t)row * DEMO_PANEL_COLUMNS * unit_bytes()));
    panel_draw_cells(row, label);
}

/* "  1 cell = 16 B   7### allocated   5... free   ' ' not heap   digit = scale" */
static void panel_draw_legend(void)
{
    unsigned row = DEMO_PANEL_ROW + DEMO_PANEL_ROWS, column;
    char text[32];

    ksnprintf(text, sizeof(text), "  1 cell = %zu B   ", unit_bytes());
    column = terminal_draw_string(0, row, text, LABEL_COLOUR);
    column = terminal_draw_string(column, row, "7", ALLOCATED_HEADER_COLOUR);
    column = terminal_draw_string(column, row, "###", ALLOCATED_COLOUR);
    column = terminal_draw_string(column, row, " allocated   ", LABEL_COLOUR);
    column = terminal_draw_string(column, row, "5", FREE_HEADER_COLOUR);
    column = terminal_draw_string(column, row, "...", FREE_COLOUR);
    column = terminal_draw_string(column, row, " free   ' ' not heap   digit = scale", LABEL_COLOUR);
    panel_clear_to_end(column, row);
}

void demo_panel_show(enum demo_panel_view shown) { view = shown; }

/* ---- the slab view ----------------------------------------------------------- */

/*
 * The demo cache's current slab, one cell per object (169 on i686):
 *
 *   slab 0x00135000 ###########.......................................
 *        object 64  ..................................................
 */
static uintptr_t slab_cells_fill(void)
{
    unsigned char allocated[PANEL_CELLS];
    uintptr_t slab = 0;
    size_t objects = kmem_cache_slab_cells(demo_slab_cache(), &slab, allocated, PANEL_CELLS);

    for (size_t i = 0; i < objects && i < PANEL_CELLS; i++)
        cells[i] = allocated[i] ? (struct cell){ '#', ALLOCATED_COLOUR }
                                : (struct cell){ '.', FREE_COLOUR };
    return slab;
}

static void slab_draw_row(unsigned row, uintptr_t slab)
{
    char label[16];

    if (row == 0)
        ksnprintf(label, sizeof label, "%08lx   ", (unsigned long)slab);
    else
        ksnprintf(label, sizeof label, "object %-3u ", row * DEMO_PANEL_COLUMNS);
    panel_draw_cells(row, label);
}

/* "  demo-24: 1 cell = 1 object (24 B)   ### allocated   ... free   4-9: heap" */
static void slab_draw_legend(uintptr_t slab)
{
    unsigned row = DEMO_PANEL_ROW + DEMO_PANEL_ROWS, column;

    column = terminal_draw_string(0, row, slab != 0 ? "  demo-24: 1 cell = 1 object (24 B)   "
                                                    : "  demo-24 has no slab yet   ", LABEL_COLOUR);
    column = terminal_draw_string(column, row, "###", ALLOCATED_COLOUR);
    column = terminal_draw_string(column, row, " allocated   ", LABEL_COLOUR);
    column = terminal_draw_string(column, row, "...", FREE_COLOUR);
    column = terminal_draw_string(column, row, " free   4-9: heap", LABEL_COLOUR);
    panel_clear_to_end(column, row);
}

void demo_panel_draw(void)
{
    if (terminal_display() == NULL)
        return;
    for (size_t i = 0; i < PANEL_CELLS; i++)
        cells[i] = (struct cell){ ' ', OUTSIDE_COLOUR };
    if (view == DEMO_PANEL_SLAB && demo_slab_cache() != NULL) {
        uintptr_t slab = slab_cells_fill();
        for (unsigned row = 0; row < DEMO_PANEL_ROWS; row++)
            slab_draw_row(row, slab);
        slab_draw_legend(slab);
        return;
    }
    heap_walk(panel_visit, NULL);
    for (unsigned row = 0; row < DEMO_PANEL_ROWS; row++)
        panel_draw_row(row);
    panel_draw_legend();
}
