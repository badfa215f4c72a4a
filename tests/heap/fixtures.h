/*
 * fixtures.h - the shared fixtures of the heap's host unit tests (unit.c,
 * unit_pages.c, unit_check.c, unit_debug.c), on top of the framework in
 * tests/lib/check.h.
 * No timing, no randomness beyond a fixed seed.
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

/* The block behind a pointer kmalloc returned (for a page block, the pointer), and its header. */
uintptr_t block_of(const void *p);
struct block_header *header_of(uintptr_t block);

/* The frame table entry of the frame holding address a (heap_frame_entry). */
struct block_header *entry_of(uintptr_t a);

/* A free small block's link in its free list, a header's worth of bytes into it. */
struct list_header *link_of(uintptr_t block);

/* A free page block's link: in its frame's entry, after the header. */
struct list_header *frame_link_of(uintptr_t block);

/* heap_add_region(arena + offset, length). */
size_t add_region(size_t offset, size_t length);

/*
 * The bytes of frame table a region [arena + offset, + length) gets, by the
 * rule heap.h states: a struct heap_frame per frame touched, rounded up to a
 * smallest block, none without a whole frame.
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

/* The statistics now. */
struct heap_stats stats_now(void);

/* n bytes of a pattern from seed at p, and whether they are still there. */
void fill(void *p, size_t n, unsigned char seed);
int filled(const void *p, size_t n, unsigned char seed);

/* What the refusal handler heard (the tests' setup installs the recorder). */
struct refusal_record {
    int calls;
    const char *function, *cache;       /* as the handler heard them */
    const void *ptr;
    enum heap_status why;
    const void *caller;
};
extern struct refusal_record refusal;

/*
 * Everything a refused free must leave alone: every byte of every region
 * (frame tables included), the statistics but refused_frees, the free lists.
 * snapshot_unchanged says whether the heap is as snapshot_take found it, but
 * for `refused` more refusals, and releases the snapshot.
 */
struct snapshot {
    unsigned char *bytes;
    struct heap_stats stats;
    size_t counts[HEAP_MAX_SCALE + 1];
    uintptr_t firsts[HEAP_MAX_SCALE + 1];
};
void snapshot_take(struct snapshot *s);
int snapshot_unchanged(struct snapshot *s, size_t refused);

/*
 * kfree(ptr) must be refused with status `why`: the handler hears the
 * pointer, the status and a caller, and the heap does not change at all.
 */
#define CHECK_KFREE_REFUSED(ptr, why) check_kfree_refused(__FILE__, __LINE__, ptr, why)
void check_kfree_refused(const char *file, int line, void *ptr, enum heap_status why);

/* What heap_check_report found must be `what` at block `address` of this scale. */
#define CHECK_VIOLATION(what, address, scale) \
    check_violation(__FILE__, __LINE__, what, address, scale)
void check_violation(const char *file, int line, const char *what, uintptr_t address,
                     unsigned scale);

/* An empty heap (debugging off, no sampler), an arena of zeros, the refusal recorder. */
void test_setup(void);

extern const struct test check_tests[], page_tests[], debug_tests[];
extern const size_t check_test_count, page_test_count, debug_test_count;

#endif
