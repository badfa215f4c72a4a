/*
 * fixtures.h - the shared fixtures of the heap's host unit tests (unit.c,
 * unit_check.c), on top of the framework in tests/lib/check.h. No timing,
 * no randomness beyond a fixed seed.
 */
#ifndef SHOMPOS_TESTS_HEAP_FIXTURES_H
#define SHOMPOS_TESTS_HEAP_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "memory/heap.h"
#include "../lib/check.h"

/*
 * The arena: the memory the tests hand to the heap. It is aligned to
 * ARENA_ALIGN, so offsets from it have the natural alignment of their own
 * value, and it is cleared before every test.
 */
#define ARENA_ALIGN ((size_t)4 << 20)
#define ARENA_BYTES ((size_t)8 << 20)
extern unsigned char *arena;

#define PAGE HEAP_PAGE_BYTES

/* Bytes in a block of this scale. */
size_t block_bytes(unsigned scale);

/* The block address behind a pointer kmalloc returned (a page block's is the pointer), and its header. */
uintptr_t block_of(const void *p);
struct block_header *header_of(uintptr_t block);

/* The frame table entry of the frame holding address a (heap_frame_entry). */
struct block_header *entry_of(uintptr_t a);

/* A free block's link in its free list, a header's worth of bytes into it. */
struct list_header *link_of(uintptr_t block);

/* heap_add_region(arena + offset, length). */
size_t add_region(size_t offset, size_t length);

/*
 * The bytes of frame table a region [arena + offset, + length) gets, by the
 * rule heap.h states: 8 bytes per frame touched, rounded up to a smallest
 * block, none without a whole frame.
 */
size_t frame_table_bytes(size_t offset, size_t length);

/*
 * A region whose blocks tile exactly [arena + offset, + length), its frame
 * table just above (its span is length + table_after(offset, length)).
 * Returns the bytes managed: length.
 */
size_t add_blocks(size_t offset, size_t length);
size_t table_after(size_t offset, size_t length);

/* Mark bytes outside every region unreadable (AddressSanitizer), and readable again. */
void forbid(size_t offset, size_t length);
void allow(size_t offset, size_t length);

/* The first free block on the list of this scale (0 when empty). */
uintptr_t first_free(unsigned scale);

/* What heap_check_report found must be `what` at block `address` of this scale. */
#define CHECK_VIOLATION(what, address, scale) \
    check_violation(__FILE__, __LINE__, what, address, scale)
void check_violation(const char *file, int line, const char *what, uintptr_t address,
                     unsigned scale);

extern const struct test check_tests[];
extern const size_t check_test_count;

#endif
