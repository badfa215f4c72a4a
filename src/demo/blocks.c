/*
 * blocks.c - the demo's live blocks: a stack of at most DEMO_STACK_CAPACITY
 * pointers per scale. Each entry also carries a sequence number, so `f` can
 * free every block newest first, which undoes the kmalloc calls exactly.
 * It does not allocate or free anything itself.
 */
#include <stddef.h>
#include "demo/blocks.h"

#define DEMO_SCALES (DEMO_LAST_SCALE - DEMO_FIRST_SCALE + 1)

struct demo_block {
    void *ptr;
    unsigned sequence;          /* order of allocation: larger is newer */
};

static struct demo_block stacks[DEMO_SCALES][DEMO_STACK_CAPACITY];
static unsigned depth[DEMO_SCALES];
static unsigned next_sequence;

static bool scale_valid(unsigned scale)
{
    return scale >= DEMO_FIRST_SCALE && scale <= DEMO_LAST_SCALE;
}

bool demo_blocks_push(unsigned scale, void *ptr)
{
    if (!scale_valid(scale) || depth[scale - DEMO_FIRST_SCALE] == DEMO_STACK_CAPACITY)
        return false;
    unsigned i = scale - DEMO_FIRST_SCALE;
    stacks[i][depth[i]++] = (struct demo_block){ ptr, next_sequence++ };
    return true;
}

/* The slot is cleared: a stale copy of a freed pointer would keep a later leak hidden from l. */
void *demo_blocks_pop(unsigned scale)
{
    if (!scale_valid(scale) || depth[scale - DEMO_FIRST_SCALE] == 0)
        return NULL;
    unsigned i = scale - DEMO_FIRST_SCALE;
    struct demo_block *top = &stacks[i][--depth[i]];
    void *ptr = top->ptr;
    *top = (struct demo_block){ NULL, 0 };
    return ptr;
}

unsigned demo_blocks_count(unsigned scale)
{
    return scale_valid(scale) ? depth[scale - DEMO_FIRST_SCALE] : 0;
}

unsigned demo_blocks_total(void)
{
    unsigned total = 0;

    for (unsigned i = 0; i < DEMO_SCALES; i++)
        total += depth[i];
    return total;
}

unsigned demo_blocks_newest_scale(void)
{
    unsigned newest = 0, sequence = 0;

    for (unsigned i = 0; i < DEMO_SCALES; i++) {
        const struct demo_block *top = depth[i] ? &stacks[i][depth[i] - 1] : NULL;
        if (top != NULL && (newest == 0 || top->sequence > sequence)) {
            newest = DEMO_FIRST_SCALE + i;
            sequence = top->sequence;
        }
    }
    return newest;
}
