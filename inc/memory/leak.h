/*
 * leak.h - a leak scan after Linux's kmemleak (Documentation/dev-tools/
 * kmemleak.rst): mark and scan. Every live block starts unreferenced; the
 * roots (the kernel's data and bss, the live part of the stack) and then
 * every block found referenced are read word by word, and a word that
 * points to a block's start or anywhere inside it references that block.
 * What stays unreferenced is a leak: nobody can free it any more. Pure C11
 * over the blocks and roots the caller gives (leak_gather_heap fills them
 * from the heap), so the host tests it. Conservative, as kmemleak is: a word
 * that only looks like a pointer keeps a block alive, so it may miss a leak,
 * but a block any pointer refers to is never reported.
 */
#ifndef SHOMPOS_MEMORY_LEAK_H
#define SHOMPOS_MEMORY_LEAK_H

#include <stddef.h>
#include <stdint.h>
#include "memory/heap.h"

/* How the scan treats a block. */
enum leak_kind {
    LEAK_CANDIDATE,     /* reported when nothing refers to it; scanned once something does */
    LEAK_NO_SCAN,       /* the same, but its bytes are never scanned (kmemleak_no_scan): page
                           tables, whose entries name every page of the identity map */
    LEAK_ROOT,          /* never reported, always scanned: slabs, whose objects may hold pointers */
};

/*
 * One block. A word whose value lies in [start, end) refers to it; once it
 * is referenced, the words of [payload, payload + size) are scanned (the
 * bytes its caller asked for, not a header or a red zone).
 */
struct leak_block {
    uintptr_t start, end;
    uintptr_t payload;
    size_t size;
    const void *alloc_caller;   /* for the report; NULL when unknown */
    uint8_t kind;               /* enum leak_kind */
    uint8_t referenced;         /* leak_scan's verdict: 1 referenced (or a root), 0 a leak */
    uint32_t next;              /* leak_scan's work list; the caller need not set it */
};

/* Memory to scan: [start, end), read in aligned words. */
struct leak_range {
    uintptr_t start, end;
};

enum leak_status {
    LEAK_OK = 0,
    LEAK_BAD_BLOCK,     /* a block with end <= start, or payload + size outside [start, end) */
    LEAK_OVERLAP,       /* two blocks share a byte */
    LEAK_BAD_RANGE,     /* a root with end < start */
    LEAK_TOO_MANY,      /* more blocks than a uint32_t work list can number */
};

struct leak_result {
    size_t unreferenced;        /* blocks reported */
    size_t unreferenced_bytes;  /* their sizes added up */
    size_t scanned_bytes;       /* roots and referenced blocks read */
    size_t problem;             /* the block or root refused, when the status is not LEAK_OK */
};

/*
 * Scan: sort blocks by start (in place), check them and the roots (nothing
 * is scanned when one is refused), then mark every block the roots reach,
 * directly or through other blocks. Afterwards blocks[i].referenced is 0
 * exactly for the leaks, and *result counts them. Reads only the roots
 * and the payloads of referenced blocks and roots: they must be readable.
 */
enum leak_status leak_scan(struct leak_block *blocks, size_t count, const struct leak_range *roots,
                           size_t root_count, struct leak_result *result);

/*
 * What to do with a live heap block: an enum leak_kind, or LEAK_SKIP to
 * leave it out of the scan altogether (neither reported nor scanned).
 */
#define LEAK_SKIP (-1)
typedef int (*leak_classify_fn)(const struct heap_block_info *block, void *context);

/* The usual choice: allocated blocks candidates, slabs roots, the rest (quarantined) skipped. */
int leak_default_kind(const struct heap_block_info *block);

/*
 * Fill out (at most capacity entries) with the heap's live blocks, one per
 * block however many pieces heap_walk shows of a page run, each as classify
 * (NULL: leak_default_kind) decides. Returns how many there are, which may
 * be more than capacity (then only capacity were stored). Like heap_walk it
 * must not run while kmalloc or kfree does; classify must not call them.
 */
size_t leak_gather_heap(struct leak_block *out, size_t capacity, leak_classify_fn classify,
                        void *context);

const char *leak_status_name(enum leak_status status);

#endif
