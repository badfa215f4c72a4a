/*
 * keys.c - the demo's key table and its help text. Adding a key means
 * adding one row here: the dispatcher and the help both read the table.
 * Keys 4-9 allocate a block of that scale; the letter below each number
 * on the keyboard (r t y u i o) frees the newest block of the same scale.
 */
#include <stdbool.h>
#include <stddef.h>
#include "demo/keys.h"
#include "demo/actions.h"
#include "console/input.h"
#include "console/kprintf.h"

static const struct demo_key demo_keys[] = {
    { '4', "kmalloc a scale 4 block (16 B)",   demo_allocate, 4 },
    { 'r', "kfree the newest scale 4 block",   demo_free, 4 },
    { '5', "kmalloc a scale 5 block (32 B)",   demo_allocate, 5 },
    { 't', "kfree the newest scale 5 block",   demo_free, 5 },
    { '6', "kmalloc a scale 6 block (64 B)",   demo_allocate, 6 },
    { 'y', "kfree the newest scale 6 block",   demo_free, 6 },
    { '7', "kmalloc a scale 7 block (128 B)",  demo_allocate, 7 },
    { 'u', "kfree the newest scale 7 block",   demo_free, 7 },
    { '8', "kmalloc a scale 8 block (256 B)",  demo_allocate, 8 },
    { 'i', "kfree the newest scale 8 block",   demo_free, 8 },
    { '9', "kmalloc a scale 9 block (512 B)",  demo_allocate, 9 },
    { 'o', "kfree the newest scale 9 block",   demo_free, 9 },
    { 'f', "kfree every demo block",           demo_free_all, 0 },
    { 'p', "show the free lists",              demo_show_free_lists, 0 },
    { 's', "show the heap statistics",         demo_show_stats, 0 },
    { 'c', "check the heap's invariants",      demo_check_heap, 0 },
    { 'm', "show the memory map and regions",  demo_show_memory, 0 },
    { 'b', "benchmark kmalloc and kfree",      demo_benchmark, 0 },
    { '0', "divide by zero, then recover",     demo_divide_by_zero, 0 },
    { 'k', "kmem_cache_alloc a demo-24 object", demo_slab_alloc, 0 },
    { 'j', "kmem_cache_free the newest object", demo_slab_free, 0 },
    { 'x', "shrink demo-24: empty slabs back",  demo_slab_shrink, 0 },
    { 'd', "show slabinfo for every cache",     demo_show_slabinfo, 0 },
    { 'v', "show the virtual memory map",      demo_show_virtual_memory, 0 },
    { 'n', "read through a NULL pointer",      demo_null_read, 0 },
    { 'w', "write to the kernel's own code",   demo_code_write, 0 },
    { 'g', "recurse until the stack overflows", demo_stack_overflow, 0 },
    { 'h', "show this help",                   demo_show_help, 0 },
    { '?', "show this help",                   demo_show_help, 0 },
};

#define DEMO_KEY_COUNT (sizeof(demo_keys) / sizeof(demo_keys[0]))

const struct demo_key *demo_key_find(uint16_t key)
{
    for (size_t i = 0; i < DEMO_KEY_COUNT; i++)
        if (demo_keys[i].key == key)
            return &demo_keys[i];
    return NULL;
}

uint16_t demo_key_of(demo_action_fn action, unsigned argument)
{
    for (size_t i = 0; i < DEMO_KEY_COUNT; i++)
        if (demo_keys[i].action == action && demo_keys[i].argument == argument)
            return demo_keys[i].key;
    return KEY_NONE;
}

/* One key of the help: "  4  kmalloc a scale 4 block (16 B)", padded when another follows. */
static void help_entry(const struct demo_key *entry, bool padded)
{
    kprintf(padded ? "  %-2s %-33s" : "  %-2s %s", input_key_name(entry->key), entry->description);
}

/*
 * Two keys per line, so the help's 16 lines fit the scrolling region (the
 * 19 rows below the status line and the panel on an 80x25 screen):
 *   "  4  kmalloc a scale 4 block (16 B)    r  kfree the newest scale 4 block"
 */
void demo_show_help(unsigned unused)
{
    (void)unused;
    kprintf("keys (a scale N block holds 2^N bytes, its 8-byte header included):\n");
    for (size_t i = 0; i < DEMO_KEY_COUNT; i += 2) {
        if (i + 1 < DEMO_KEY_COUNT) {
            help_entry(&demo_keys[i], true);
            help_entry(&demo_keys[i + 1], false);
        } else {
            help_entry(&demo_keys[i], false);
        }
        kprintf("\n");
    }
}
