/*
 * fakes.c - the fake heap and kprintf of fakes.h. The heap keeps the offered
 * spans for the tests to compare; heap_region reports them aligned, as the
 * real heap does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "console/kprintf.h"
#include "fakes.h"

#define DEFAULT_MIN_SCALE 5

struct fake_heap fake_heap;
static char output[64 * 1024];
static size_t output_length;

void fakes_reset(void)
{
    memset(&fake_heap, 0, sizeof(fake_heap));
    fake_heap.min_scale = DEFAULT_MIN_SCALE;
    fake_heap.debug_set_at = -1;
    output[0] = '\0';
    output_length = 0;
}

const char *fake_output(void) { return output; }

void kprintf(const char *format, ...)
{
    size_t room = sizeof(output) - output_length;
    va_list args;

    va_start(args, format);
    int n = vsnprintf(output + output_length, room, format, args);
    va_end(args);
    if (n > 0)
        output_length += (size_t)n < room ? (size_t)n : room - 1;     /* full: keep what fitted */
}

/* ---- the heap ------------------------------------------------------------------- */

static uint64_t block_bytes(void) { return heap_scale_bytes(fake_heap.min_scale); }

/* The span the real heap would manage: start rounded up and end rounded down to a block. */
static struct span aligned(struct span offered)
{
    uint64_t mask = block_bytes() - 1;

    return (struct span){ (offered.start + mask) & ~mask, offered.end & ~mask };
}

static int overlaps_a_region(struct span offered)
{
    for (unsigned i = 0; i < fake_heap.count; i++)
        if (offered.start < fake_heap.regions[i].end && fake_heap.regions[i].start < offered.end)
            return 1;
    return 0;
}

void heap_init(void)
{
    fake_heap.count = 0;
    fake_heap.init_calls++;
    fake_heap.debug_flags = 0;              /* heap_init turns debugging off, as heap.h says */
    fake_heap.debug_set_at = -1;
}

void heap_set_debug(unsigned flags)
{
    fake_heap.debug_flags = flags;
    fake_heap.debug_set_at = (int)fake_heap.count;
}

size_t heap_add_region(void *start, size_t length)
{
    struct span offered = { (uintptr_t)start, (uintptr_t)start + length };
    struct span managed = aligned(offered);

    if (managed.start >= managed.end || fake_heap.count == HEAP_MAX_REGIONS)
        return 0;
    if (overlaps_a_region(offered)) {
        fake_heap.overlaps++;
        return 0;
    }
    fake_heap.regions[fake_heap.count++] = offered;
    return managed.end - managed.start;
}

int heap_region(unsigned i, uintptr_t *start, uintptr_t *end)
{
    if (i >= fake_heap.count)
        return 0;
    struct span managed = aligned(fake_heap.regions[i]);
    *start = managed.start;
    *end = managed.end;
    return 1;
}

void heap_get_stats(struct heap_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < fake_heap.count; i++) {
        struct span managed = aligned(fake_heap.regions[i]);
        out->managed_bytes += managed.end - managed.start;
    }
    out->free_bytes = out->managed_bytes;
    out->regions = fake_heap.count;
}

unsigned heap_min_scale(void) { return fake_heap.min_scale; }
