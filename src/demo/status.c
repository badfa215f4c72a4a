/*
 * status.c - the status line on row 0, in reverse colours: the heap's
 * managed bytes, free bytes and largest free block in KiB (rounded down, as
 * key s prints them in brackets) and the number of live demo blocks:
 *
 *    heap 129736 KiB | free 129735 KiB | largest 32768 KiB | demo blocks 1  ShompOS
 *
 * The name on the right shows only when the figures leave room for it.
 */
#include <stddef.h>
#include "demo/screen.h"
#include "demo/blocks.h"
#include "console/kprintf.h"
#include "console/terminal.h"
#include "memory/heap.h"

#define STATUS_COLOUR COLOUR(COLOUR_BLACK, COLOUR_LIGHT_GREY)
#define STATUS_NAME "ShompOS "

void demo_status_draw(void)
{
    const struct display *display = terminal_display();
    struct heap_stats stats;
    char line[128];

    if (display == NULL)
        return;
    heap_get_stats(&stats);
    size_t length = ksnprintf(line, sizeof(line), " heap %zu KiB | free %zu KiB | largest %zu KiB | demo blocks %u",
                              stats.managed_bytes / 1024, stats.free_bytes / 1024,
                              stats.largest_free_block / 1024, demo_blocks_total());
    unsigned column = terminal_draw_string(0, DEMO_STATUS_ROW, line, STATUS_COLOUR);
    while (column < display->columns)
        terminal_draw(column++, DEMO_STATUS_ROW, ' ', STATUS_COLOUR);
    if (length + 2 + sizeof(STATUS_NAME) - 1 <= display->columns)
        terminal_draw_string(display->columns - (sizeof(STATUS_NAME) - 1), DEMO_STATUS_ROW,
                             STATUS_NAME, STATUS_COLOUR);
}
