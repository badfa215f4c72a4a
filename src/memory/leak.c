/*
 * leak.c - the mark-and-scan leak finder of leak.h (kmemleak's algorithm,
 * mm/kmemleak.c, without its object tree, ages or reporting thread): sort
 * the blocks, mark what the roots reach through a work list, leave the rest
 * unreferenced. A word is looked up by binary search over the sorted blocks.
 * Pure C: the caller decides what the blocks and roots are. It frees nothing
 * and does not print.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "memory/leak.h"
#include "memory/heap.h"

#define WORD_BYTES sizeof(uintptr_t)
#define LIST_END UINT32_MAX             /* the work list's terminator */

/* A word of any memory: may_alias tells the compiler it may be any object's bytes. */
typedef uintptr_t __attribute__((may_alias)) any_word;

/* ---- sorting by start: heapsort, in place, no recursion ------------------------------- */

static void swap_blocks(struct leak_block *a, struct leak_block *b)
{
    struct leak_block t = *a;

    *a = *b;
    *b = t;
}

/* Let blocks[i] sink until the heap below it (of count blocks) is ordered again. */
static void sift_down(struct leak_block *blocks, size_t i, size_t count)
{
    for (size_t child; (child = 2 * i + 1) < count; i = child) {
        if (child + 1 < count && blocks[child + 1].start > blocks[child].start)
            child++;
        if (blocks[i].start >= blocks[child].start)
            return;
        swap_blocks(&blocks[i], &blocks[child]);
    }
}

static void sort_blocks(struct leak_block *blocks, size_t count)
{
    for (size_t i = count / 2; i-- > 0;)
        sift_down(blocks, i, count);
    for (size_t end = count; end-- > 1;) {
        swap_blocks(&blocks[0], &blocks[end]);
        sift_down(blocks, 0, end);
    }
}

/* ---- checking what the caller gave ----------------------------------------------------- */

static bool block_valid(const struct leak_block *b)
{
    return b->start < b->end && b->payload >= b->start && b->payload <= b->end
        && b->size <= b->end - b->payload && b->kind <= LEAK_ROOT;
}

/* Blocks sorted: each valid and ending at or before the next one starts. */
static enum leak_status check_blocks(const struct leak_block *blocks, size_t count, size_t *problem)
{
    for (size_t i = 0; i < count; i++) {
        *problem = i;
        if (!block_valid(&blocks[i]))
            return LEAK_BAD_BLOCK;
        if (i > 0 && blocks[i - 1].end > blocks[i].start)
            return LEAK_OVERLAP;
    }
    return LEAK_OK;
}

static enum leak_status check_roots(const struct leak_range *roots, size_t count, size_t *problem)
{
    for (size_t i = 0; i < count; i++) {
        *problem = i;
        if (roots[i].end < roots[i].start)
            return LEAK_BAD_RANGE;
    }
    return LEAK_OK;
}

/* ---- marking --------------------------------------------------------------------------- */

/* The scan's state: the sorted blocks and the work list of referenced blocks not yet scanned. */
struct scan {
    struct leak_block *blocks;
    size_t count;
    uint32_t work;                  /* first block to scan, or LIST_END */
    size_t scanned_bytes;
};

/* The block holding address, or count when none does. */
static size_t block_holding(const struct scan *scan, uintptr_t address)
{
    size_t low = 0, high = scan->count;

    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (address < scan->blocks[middle].start)
            high = middle;
        else if (address >= scan->blocks[middle].end)
            low = middle + 1;
        else
            return middle;
    }
    return scan->count;
}

/* Mark block i referenced; it joins the work list unless its bytes are never scanned. */
static void mark(struct scan *scan, size_t i)
{
    struct leak_block *block = &scan->blocks[i];

    if (block->referenced)
        return;
    block->referenced = 1;
    if (block->kind != LEAK_NO_SCAN) {
        block->next = scan->work;
        scan->work = (uint32_t)i;
    }
}

/* Every aligned word of [start, end): a value inside a block marks it. */
static void scan_range(struct scan *scan, uintptr_t start, uintptr_t end)
{
    uintptr_t first = (start + WORD_BYTES - 1) & ~(uintptr_t)(WORD_BYTES - 1);

    for (uintptr_t p = first; p < end && end - p >= WORD_BYTES; p += WORD_BYTES) {
        size_t i = block_holding(scan, *(const any_word *)p);
        if (i < scan->count)
            mark(scan, i);
        scan->scanned_bytes += WORD_BYTES;
    }
}

static void scan_work_list(struct scan *scan)
{
    while (scan->work != LIST_END) {
        struct leak_block *block = &scan->blocks[scan->work];
        scan->work = block->next;
        scan_range(scan, block->payload, block->payload + block->size);
    }
}

static void count_leaks(const struct scan *scan, struct leak_result *result)
{
    for (size_t i = 0; i < scan->count; i++) {
        if (!scan->blocks[i].referenced) {
            result->unreferenced++;
            result->unreferenced_bytes += scan->blocks[i].size;
        }
    }
    result->scanned_bytes = scan->scanned_bytes;
}

enum leak_status leak_scan(struct leak_block *blocks, size_t count, const struct leak_range *roots,
                           size_t root_count, struct leak_result *result)
{
    struct scan scan = { blocks, count, LIST_END, 0 };
    enum leak_status status;

    *result = (struct leak_result){0};
    if (count >= LIST_END)
        return LEAK_TOO_MANY;
    sort_blocks(blocks, count);
    if ((status = check_blocks(blocks, count, &result->problem)) != LEAK_OK
        || (status = check_roots(roots, root_count, &result->problem)) != LEAK_OK)
        return status;
    for (size_t i = 0; i < count; i++)
        blocks[i].referenced = 0;
    for (size_t i = 0; i < count; i++)
        if (blocks[i].kind == LEAK_ROOT)
            mark(&scan, i);
    for (size_t i = 0; i < root_count; i++)
        scan_range(&scan, roots[i].start, roots[i].end);
    scan_work_list(&scan);
    count_leaks(&scan, result);
    return LEAK_OK;
}

/* ---- gathering the heap's live blocks ---------------------------------------------------- */

int leak_default_kind(const struct heap_block_info *block)
{
    if (block->state == HEAP_BLOCK_ALLOCATED)
        return LEAK_CANDIDATE;
    if (block->state == HEAP_BLOCK_SLAB)
        return LEAK_ROOT;
    return LEAK_SKIP;
}

struct gather {
    struct leak_block *out;
    size_t capacity, found;
    leak_classify_fn classify;
    void *context;
};

/* Bytes a block spans: a small block its 2^scale, a page run its pages. */
static size_t block_bytes(const struct heap_block_info *info)
{
    return info->pages != 0 ? info->pages * HEAP_PAGE_BYTES : heap_scale_bytes(info->scale);
}

/* heap_walk's visitor: the first piece of each live block becomes one leak_block. */
static void gather_visit(uintptr_t block, unsigned scale, int allocated, void *context)
{
    struct gather *gather = context;
    struct heap_block_info info;

    (void)scale;
    if (allocated != 1 || !heap_block_info((const void *)block, &info) || info.start != block)
        return;
    int kind = gather->classify != NULL ? gather->classify(&info, gather->context)
                                        : leak_default_kind(&info);
    if (kind == LEAK_SKIP)
        return;
    if (gather->found < gather->capacity)
        gather->out[gather->found] = (struct leak_block){
            .start = info.start, .end = info.start + block_bytes(&info),
            .payload = info.payload, .size = info.requested,
            .alloc_caller = info.alloc_caller, .kind = (uint8_t)kind,
        };
    gather->found++;
}

size_t leak_gather_heap(struct leak_block *out, size_t capacity, leak_classify_fn classify,
                        void *context)
{
    struct gather gather = { out, capacity, 0, classify, context };

    heap_walk(gather_visit, &gather);
    return gather.found;
}

const char *leak_status_name(enum leak_status status)
{
    switch (status) {
    case LEAK_OK:        return "ok";
    case LEAK_BAD_BLOCK: return "a block's range is empty or its payload lies outside it";
    case LEAK_OVERLAP:   return "two blocks overlap";
    case LEAK_BAD_RANGE: return "a root range ends before it starts";
    case LEAK_TOO_MANY:  return "too many blocks";
    }
    return "unknown status";
}
