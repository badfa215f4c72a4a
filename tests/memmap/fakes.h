/*
 * fakes.h - what src/memory/memmap.c links to, faked for the host tests: a
 * heap that records the regions it is offered, and a kprintf that keeps the
 * text. The kernel image is placed by the linker, as linker.ld does (see
 * memmap.mk), so kernel_start and kernel_end are the kernel's real symbols.
 */
#ifndef SHOMPOS_TESTS_MEMMAP_FAKES_H
#define SHOMPOS_TESTS_MEMMAP_FAKES_H

#include <stddef.h>
#include <stdint.h>

#include "memory/heap.h"

/* A span of addresses, [start, end). */
struct span {
    uint64_t start, end;
};

/*
 * The fake heap. heap_add_region records what it is offered and, like the
 * real one, refuses a region in which no whole block of 2^min_scale bytes
 * fits once aligned, a region overlapping one it holds (counted in
 * `overlaps`), and any region past HEAP_MAX_REGIONS. It writes no memory.
 */
struct fake_heap {
    struct span regions[HEAP_MAX_REGIONS];  /* as offered, in the order added */
    unsigned count;
    unsigned min_scale;                     /* 5 (32-byte blocks) unless a test changes it */
    unsigned overlaps;                      /* offers of a byte the heap already holds */
    unsigned init_calls;
    unsigned debug_flags;                   /* what heap_set_debug was last given */
    int debug_set_at;                       /* regions held then; -1: never called */
};
extern struct fake_heap fake_heap;

/* An empty fake heap with 32-byte blocks, and no output. */
void fakes_reset(void);

/* Everything kprintf printed since fakes_reset. */
const char *fake_output(void);

extern char kernel_start[], kernel_end[];

#endif
