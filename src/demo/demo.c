/*
 * demo.c - the interactive heap demo: set it up, then for each key echo
 * its name, run its action from the key table (keys.c), redraw the status
 * line and heap panel, and print the prompt "shomp> " again.
 * The actions live in actions.c, slabs.c, report.c, bench.c, divide.c, faults.c,
 * guarded.c and leaks.c.
 */
#include <stddef.h>
#include "demo/demo.h"
#include "demo/actions.h"
#include "demo/keys.h"
#include "demo/screen.h"
#include "console/input.h"
#include "console/kprintf.h"
#include "console/terminal.h"

#define PROMPT_COLOUR COLOUR(COLOUR_LIGHT_GREEN, COLOUR_BLACK)

static void demo_prompt(void)
{
    uint8_t colour = terminal_colour();

    terminal_set_colour(PROMPT_COLOUR);
    kprintf("shomp> ");
    terminal_set_colour(colour);
}

static void demo_screen_draw(void)
{
    demo_status_draw();
    demo_panel_draw();
}

void demo_reserve_screen(void)
{
    terminal_set_scroll_top(DEMO_SCROLL_TOP);   /* rows above it stay put */
}

void demo_init(const struct boot_info *boot)
{
    demo_divide_init();                         /* key 0's exception fixup */
    demo_faults_init();                         /* keys n and w's fixups */
    demo_guarded_init();                        /* keys a and z's fixup */
    demo_slabs_init();                          /* the cache demo-24, for keys k, j, x */
    demo_report_init(boot);                     /* the memory map, for key m */
    demo_panel_init();                          /* the panel's window */
    demo_screen_draw();
    kprintf("Press h for help.\n");
    demo_prompt();
}

void demo_resume(void)
{
    demo_screen_draw();
    demo_prompt();
}

void demo_handle_key(uint16_t key)
{
    const struct demo_key *entry = demo_key_find(key);

    kprintf("%s\n", input_key_name(key));
    if (entry != NULL)
        entry->action(entry->argument);
    else
        kprintf("unknown key '%s': press h for help\n", input_key_name(key));
    demo_screen_draw();
    demo_prompt();
}
