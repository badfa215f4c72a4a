/*
 * keys.h - the demo's key table: which key runs which action. One table,
 * read by the dispatcher (demo.c) and by the help text, so the two agree.
 */
#ifndef SHOMPOS_DEMO_KEYS_H
#define SHOMPOS_DEMO_KEYS_H

#include <stdint.h>

/* An action; argument is the table's argument for the key (a scale, or unused). */
typedef void (*demo_action_fn)(unsigned argument);

struct demo_key {
    uint16_t key;               /* an ASCII character or an enum key from console/input.h */
    const char *description;    /* one line of help, at most 33 characters (a group's: 60);
                                   NULL: one of a group, described by the row before */
    demo_action_fn action;
    unsigned argument;          /* passed to action: the scale for the 4-9 and r-o keys */
};

/* The table entry for key, or NULL when the key does nothing. */
const struct demo_key *demo_key_find(uint16_t key);

/* The key that runs action with argument (e.g. the free key of a scale), or KEY_NONE. */
uint16_t demo_key_of(demo_action_fn action, unsigned argument);

/* h and ?: list every key with its description, two to a line. */
void demo_show_help(unsigned unused);

#endif
