/*
 * blocks.h - the demo's live blocks: one stack per scale (4 to 9), so a
 * free key gives back the newest block of its scale and `f` frees them all,
 * newest first. Bookkeeping only: the caller does the kmalloc and kfree.
 */
#ifndef SHOMPOS_DEMO_BLOCKS_H
#define SHOMPOS_DEMO_BLOCKS_H

#include <stdbool.h>

#define DEMO_FIRST_SCALE    4   /* keys 4-9 allocate blocks of scales 4-9 */
#define DEMO_LAST_SCALE     9
#define DEMO_STACK_CAPACITY 16  /* live demo blocks kept per scale */

/* Remember ptr as the newest block of scale. Returns false when that stack is full. */
bool demo_blocks_push(unsigned scale, void *ptr);

/* Forget and return the newest block of scale, or NULL when there is none. */
void *demo_blocks_pop(unsigned scale);

/* Live demo blocks of one scale, and of all scales. */
unsigned demo_blocks_count(unsigned scale);
unsigned demo_blocks_total(void);

/* The scale of the newest live demo block of any scale, or 0 when there is none. */
unsigned demo_blocks_newest_scale(void);

#endif
