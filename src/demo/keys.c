/*
 * keys.c - the demo's key table and its help text. Adding a key means
 * adding one row here: the dispatcher and the help both read the table.
 * Keys 4-9 allocate a block of that scale; the letter below each number
 * on the keyboard (r t y u i o) frees the newest block of the same scale.
 * Rows with no description of their own are listed in the help with the
 * row before them, on one line of their own ("  4 5 6 7 8 9  kmalloc ...").
 */
#include <stdbool.h>
#include <stddef.h>
#include "demo/keys.h"
#include "demo/actions.h"
#include "console/input.h"
#include "console/kprintf.h"

static const struct demo_key demo_keys[] = {
    { '4', "kmalloc a block of that scale: 4 is 16 B, 9 is 512 B", demo_allocate, 4 },
    { '5', NULL,                               demo_allocate, 5 },
    { '6', NULL,                               demo_allocate, 6 },
    { '7', NULL,                               demo_allocate, 7 },
    { '8', NULL,                               demo_allocate, 8 },
    { '9', NULL,                               demo_allocate, 9 },
    { 'r', "kfree the newest block of the scale above the key", demo_free, 4 },
    { 't', NULL,                               demo_free, 5 },
    { 'y', NULL,                               demo_free, 6 },
    { 'u', NULL,                               demo_free, 7 },
    { 'i', NULL,                               demo_free, 8 },
    { 'o', NULL,                               demo_free, 9 },
    { 'f', "kfree every demo block",           demo_free_all, 0 },
    { 'q', "bad frees: watch each one refused", demo_bad_frees, 0 },
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
    { 'a', "use a guarded object after kfree", demo_guard_use_after_free, 0 },
    { 'z', "write just past a guarded object",  demo_guard_overflow, 0 },
    { 'A', "heapdebug: write to a freed block", demo_poison_damage, 0 },
    { 'Z', "heapdebug: write into a red zone", demo_redzone_damage, 0 },
    { 'K', "heapdebug: write to a freed object", demo_slab_poison_damage, 0 },
    { 'e', "leak a block: drop every pointer",  demo_leak_block, 0 },
    { 'l', "scan for leaked blocks (kmemleak)", demo_leak_scan, 0 },
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

/* The rows after first that share its description (they have none of their own). */
static size_t group_length(size_t first)
{
    size_t n = 1;

    while (first + n < DEMO_KEY_COUNT && demo_keys[first + n].description == NULL)
        n++;
    return n;
}

/* A group on a line of its own: "  r t y u i o  kfree the newest block of the scale ...". */
static void help_group(size_t first, size_t count)
{
    kprintf(" ");
    for (size_t i = first; i < first + count; i++)
        kprintf(" %s", input_key_name(demo_keys[i].key));
    kprintf("  %s\n", demo_keys[first].description);
}

/*
 * Groups first, a line each, then the other keys two per line, so the
 * help's at most 16 lines fit the scrolling region (the 19 rows below the
 * status line and the panel on an 80x25 screen):
 *   "  f  kfree every demo block             p  show the free lists"
 */
void demo_show_help(unsigned unused)
{
    size_t pending = DEMO_KEY_COUNT;        /* a single key waiting for a partner on its line */

    (void)unused;
    kprintf("keys (a scale N block holds 2^N bytes, its 8-byte header included):\n");
    for (size_t i = 0, n; i < DEMO_KEY_COUNT; i += n) {
        n = group_length(i);
        if (n > 1) {
            help_group(i, n);
        } else if (pending == DEMO_KEY_COUNT) {
            pending = i;
        } else {
            help_entry(&demo_keys[pending], true);
            help_entry(&demo_keys[i], false);
            kprintf("\n");
            pending = DEMO_KEY_COUNT;
        }
    }
    if (pending != DEMO_KEY_COUNT) {
        help_entry(&demo_keys[pending], false);
        kprintf("\n");
    }
}
