/*
 * paging.c - 32-bit page tables: a directory built from a table of mappings,
 * and single-page map, unmap and translate (Intel SDM vol. 3A, 4.3).
 *
 * The shape is xv6's vm.c: walk finds (and, asked to, creates) the table
 * entry of an address, map_range maps pages one by one through it. Pure C11,
 * no I/O and no kernel headers, so the host tests drive it unchanged. It
 * never touches CR0, CR3 or the TLB: that is src/cpu/'s job.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/paging.h"

#define PAGE PAGING_PAGE_BYTES
#define LARGE PAGING_LARGE_BYTES
#define FOUR_GIB ((uint64_t)1 << 32)

_Static_assert(PAGE * PAGING_ENTRIES == LARGE, "a table maps one directory entry's span");
_Static_assert(PAGING_ENTRIES * sizeof(uint32_t) == PAGE, "a directory or table fills a page");
_Static_assert((PAGING_MAP_FLAGS & (PAGING_ACCESSED | PAGING_DIRTY | PAGING_LARGE)) == 0,
               "callers ask for permissions and caching, never for bits the CPU or paging.c sets");
_Static_assert((PAGING_ADDRESS_MASK & PAGING_FLAGS_MASK) == 0, "address and flags share no bit");
_Static_assert(sizeof(uintptr_t) >= sizeof(uint32_t), "an entry's address fits an address");

/* ---- addresses ----------------------------------------------------------------- */

static bool below_4_gib(uint64_t address) { return address >> 32 == 0; }
static bool page_aligned(uintptr_t address) { return PAGING_PAGE_OFFSET(address) == 0; }

/* The table a directory entry points to: its physical address, which is also where it is. */
static uint32_t *table_of(uint32_t directory_entry)
{
    return (uint32_t *)(uintptr_t)(directory_entry & PAGING_ADDRESS_MASK);
}

/* The physical address of va, given the leaf entry that maps it. */
static uintptr_t frame_of(uint32_t leaf, uintptr_t va)
{
    if (leaf & PAGING_LARGE)
        return (uintptr_t)(leaf & PAGING_LARGE_MASK) + (va & (LARGE - 1));
    return (uintptr_t)(leaf & PAGING_ADDRESS_MASK) + PAGING_PAGE_OFFSET(va);
}

/* ---- page-table pages ------------------------------------------------------------ */

/*
 * A zeroed page from the allocator for a directory or a table, or NULL with
 * *why set. A page the CPU could not use (not 4 KiB aligned, or not below
 * 4 GiB, where a 32-bit entry cannot point) goes straight back.
 */
static uint32_t *table_page_alloc(struct paging_space *space, enum paging_status *why)
{
    uint32_t *page = space->allocator.alloc(space->allocator.context);

    if (page == NULL) {
        *why = PAGING_OUT_OF_MEMORY;
        return NULL;
    }
    if (!page_aligned((uintptr_t)page) || !below_4_gib((uintptr_t)page)) {
        space->allocator.free(page, space->allocator.context);
        *why = PAGING_BAD_TABLE_PAGE;
        return NULL;
    }
    for (unsigned i = 0; i < PAGING_ENTRIES; i++)
        page[i] = 0;
    return page;
}

void paging_destroy(struct paging_space *space)
{
    if (space->directory == NULL)
        return;
    for (unsigned i = 0; i < PAGING_ENTRIES; i++) {
        uint32_t entry = space->directory[i];
        if ((entry & PAGING_PRESENT) && !(entry & PAGING_LARGE))
            space->allocator.free(table_of(entry), space->allocator.context);
    }
    space->allocator.free(space->directory, space->allocator.context);
    space->directory = NULL;
    space->table_pages = 0;
}

/* ---- walk and map ---------------------------------------------------------------- */

/*
 * The table entry for va, as xv6's walkpgdir: NULL with *why set when a
 * 4 MiB page maps va (PAGING_IN_LARGE_PAGE), or when no table covers it and
 * create is false (PAGING_NO_TABLE) or the allocator has none to give. A
 * table is installed only once it is allocated and zeroed, so a failure
 * leaves the directory as it was.
 */
static uint32_t *walk(struct paging_space *space, uintptr_t va, bool create,
                      enum paging_status *why)
{
    uint32_t *directory_entry = &space->directory[PAGING_DIRECTORY_INDEX(va)];

    if (!(*directory_entry & PAGING_PRESENT)) {
        if (!create) {
            *why = PAGING_NO_TABLE;
            return NULL;
        }
        uint32_t *table = table_page_alloc(space, why);
        if (table == NULL)
            return NULL;
        *directory_entry = (uint32_t)(uintptr_t)table | PAGING_TABLE_FLAGS;
        space->table_pages++;
    } else if (*directory_entry & PAGING_LARGE) {
        *why = PAGING_IN_LARGE_PAGE;
        return NULL;
    }
    return &table_of(*directory_entry)[PAGING_TABLE_INDEX(va)];
}

/* Map one page; the same mapping again is no change, another one is refused. */
static enum paging_status map_page(struct paging_space *space, uintptr_t va, uintptr_t pa,
                                   uint32_t flags)
{
    enum paging_status why = PAGING_OK;
    uint32_t *entry = walk(space, va, true, &why);
    uint32_t wanted = (uint32_t)pa | flags | PAGING_PRESENT;

    if (entry == NULL)
        return why;
    if (!(*entry & PAGING_PRESENT))
        *entry = wanted;
    else if ((*entry & ~(PAGING_ACCESSED | PAGING_DIRTY)) != wanted)
        return PAGING_ALREADY_MAPPED;   /* equal: leave the CPU's accessed and dirty bits */
    return PAGING_OK;
}

/* Map `pages` pages from va to consecutive frames from pa, as xv6's mappages. */
static enum paging_status map_range(struct paging_space *space, uintptr_t va, uintptr_t pa,
                                    size_t pages, uint32_t flags)
{
    for (size_t i = 0; i < pages; i++) {
        enum paging_status status = map_page(space, va + i * PAGE, pa + i * PAGE, flags);
        if (status != PAGING_OK)
            return status;
    }
    return PAGING_OK;
}

/* ---- ranges ---------------------------------------------------------------------- */

/*
 * The whole pages a range covers: from the page of its first byte to the
 * page of its last, phys moved down by the same offset. pages is 0 for a
 * range of 0 bytes.
 */
struct span {
    uintptr_t first, last;      /* first and last virtual page */
    uintptr_t phys;             /* frame of the first page */
    size_t pages;
};

static struct span span_of(const struct paging_range *range)
{
    struct span span = {0};

    if (range->bytes == 0)
        return span;
    span.first = range->start - PAGING_PAGE_OFFSET(range->start);
    span.phys = range->phys - PAGING_PAGE_OFFSET(range->phys);
    span.last = (uintptr_t)(((uint64_t)range->start + range->bytes - 1) & ~(uint64_t)(PAGE - 1));
    span.pages = (size_t)((span.last - span.first) / PAGE + 1);
    return span;
}

static uintptr_t span_frame(const struct span *span, uintptr_t va)
{
    return span->phys + (va - span->first);
}

static bool span_holds(const struct span *span, uintptr_t va)
{
    return span->pages != 0 && va >= span->first && va <= span->last;
}

/* Is one range fit to map: flags, page offsets, every byte and frame below 4 GiB? */
static enum paging_status range_check(const struct paging_range *range)
{
    if (range->flags & ~PAGING_MAP_FLAGS)
        return PAGING_BAD_FLAGS;
    if (range->bytes == 0)
        return PAGING_OK;
    if (PAGING_PAGE_OFFSET(range->start) != PAGING_PAGE_OFFSET(range->phys))
        return PAGING_MISALIGNED;
    if (!below_4_gib((uint64_t)range->bytes - 1) ||
        !below_4_gib((uint64_t)range->start + range->bytes - 1) ||
        !below_4_gib((uint64_t)range->phys + range->bytes - 1))
        return PAGING_BAD_ADDRESS;
    return PAGING_OK;
}

/*
 * Do ranges a and b agree on every page both cover? Both give their
 * overlap's first page the same frame (then every page: both step by a
 * page), and the same flags. If not, *where is that first page.
 */
static bool ranges_agree(const struct paging_range *a, const struct paging_range *b,
                         uintptr_t *where)
{
    struct span sa = span_of(a), sb = span_of(b);
    uintptr_t first = sa.first > sb.first ? sa.first : sb.first;
    uintptr_t last = sa.last < sb.last ? sa.last : sb.last;

    if (sa.pages == 0 || sb.pages == 0 || first > last)
        return true;
    *where = first;
    return span_frame(&sa, first) == span_frame(&sb, first) &&
           (a->flags | PAGING_PRESENT) == (b->flags | PAGING_PRESENT);
}

static enum paging_status refuse(struct paging_problem *problem, enum paging_status status,
                                 size_t range, size_t other, uintptr_t address)
{
    if (problem != NULL)
        *problem = (struct paging_problem){ status, range, other, address };
    return status;
}

/* Check every range alone, then every pair, before anything is allocated. */
static enum paging_status ranges_check(const struct paging_range *ranges, size_t count,
                                       struct paging_problem *problem)
{
    for (size_t i = 0; i < count; i++) {
        enum paging_status status = range_check(&ranges[i]);
        if (status != PAGING_OK)
            return refuse(problem, status, i, 0, ranges[i].start);
    }
    for (size_t j = 1; j < count; j++) {
        for (size_t i = 0; i < j; i++) {
            uintptr_t where = 0;
            if (!ranges_agree(&ranges[i], &ranges[j], &where))
                return refuse(problem, PAGING_CONFLICT, j, i, where);
        }
    }
    return refuse(problem, PAGING_OK, 0, 0, 0);
}

/* ---- building ---------------------------------------------------------------------- */

/*
 * Is the 4 MiB at chunk one large page? Only when (a) a range with
 * large_pages covers all of it, (b) with a 4 MiB-aligned frame, and (c) no
 * range without large_pages touches it. The answer depends on the chunk
 * alone, so every range over it agrees.
 */
static bool chunk_is_large(const struct paging_range *ranges, size_t count, uintptr_t chunk)
{
    uintptr_t chunk_last = chunk + (LARGE - PAGE);
    bool covered = false;

    for (size_t i = 0; i < count; i++) {
        struct span span = span_of(&ranges[i]);
        if (span.pages == 0 || span.last < chunk || span.first > chunk_last)
            continue;
        if (!ranges[i].large_pages)
            return false;
        if (span.first <= chunk && span.last >= chunk_last && span_frame(&span, chunk) % LARGE == 0)
            covered = true;
    }
    return covered;
}

/*
 * Map range r of the table, one 4 MiB chunk at a time: a large page where
 * chunk_is_large says so, else 4 KiB pages through map_range. On failure
 * *where is the chunk's first page in the range.
 */
static enum paging_status map_table_range(struct paging_space *space,
                                          const struct paging_range *ranges, size_t count,
                                          size_t r, uintptr_t *where)
{
    struct span span = span_of(&ranges[r]);
    uint32_t flags = ranges[r].flags | PAGING_PRESENT;
    uintptr_t va = span.first;

    for (size_t left = span.pages, pages; left != 0; left -= pages, va += pages * PAGE) {
        uintptr_t chunk = va - (va & (LARGE - 1));
        pages = PAGING_ENTRIES - PAGING_TABLE_INDEX(va);
        pages = pages < left ? pages : left;
        *where = va;
        if (chunk_is_large(ranges, count, chunk)) {
            space->directory[PAGING_DIRECTORY_INDEX(va)] =
                (uint32_t)span_frame(&span, chunk) | flags | PAGING_LARGE;
        } else {
            enum paging_status status = map_range(space, va, span_frame(&span, va), pages, flags);
            if (status != PAGING_OK)
                return status;
        }
    }
    return PAGING_OK;
}

enum paging_status paging_build(struct paging_space *space, struct paging_allocator allocator,
                                const struct paging_range *ranges, size_t count,
                                struct paging_problem *problem)
{
    enum paging_status status = PAGING_OK;
    uintptr_t where = 0;

    *space = (struct paging_space){ .allocator = allocator };
    if (allocator.alloc == NULL || allocator.free == NULL)
        return refuse(problem, PAGING_BAD_ALLOCATOR, 0, 0, 0);
    if ((status = ranges_check(ranges, count, problem)) != PAGING_OK)
        return status;
    if ((space->directory = table_page_alloc(space, &status)) == NULL)
        return refuse(problem, status, 0, 0, 0);
    for (size_t r = 0; r < count; r++) {
        if ((status = map_table_range(space, ranges, count, r, &where)) != PAGING_OK) {
            paging_destroy(space);
            return refuse(problem, status, r, 0, where);
        }
    }
    return refuse(problem, PAGING_OK, 0, 0, 0);
}

/* ---- single pages ------------------------------------------------------------------ */

/* Is va a page this API can name: page aligned and below 4 GiB? */
static enum paging_status page_check(uintptr_t va)
{
    if (!below_4_gib(va))
        return PAGING_BAD_ADDRESS;
    return page_aligned(va) ? PAGING_OK : PAGING_MISALIGNED;
}

enum paging_status paging_map(struct paging_space *space, uintptr_t virt, uintptr_t phys,
                              uint32_t flags)
{
    enum paging_status status;

    if (flags & ~PAGING_MAP_FLAGS)
        return PAGING_BAD_FLAGS;
    if ((status = page_check(virt)) != PAGING_OK || (status = page_check(phys)) != PAGING_OK)
        return status;
    return map_page(space, virt, phys, flags | PAGING_PRESENT);
}

enum paging_status paging_unmap(struct paging_space *space, uintptr_t virt, uintptr_t *phys,
                                uint32_t *flags)
{
    enum paging_status status = page_check(virt);
    uint32_t *entry;

    if (status != PAGING_OK)
        return status;
    if ((entry = walk(space, virt, false, &status)) == NULL)
        return status;
    if (!(*entry & PAGING_PRESENT))
        return PAGING_NOT_MAPPED;
    if (phys != NULL)
        *phys = frame_of(*entry, virt);
    if (flags != NULL)
        *flags = *entry & PAGING_FLAGS_MASK;
    *entry = 0;
    return PAGING_OK;
}

/* The entry that maps va (a 4 MiB directory entry or a table entry), or where the walk stopped. */
static enum paging_status find_leaf(const struct paging_space *space, uintptr_t va,
                                    uint32_t *leaf)
{
    uint32_t directory_entry = space->directory[PAGING_DIRECTORY_INDEX(va)];
    uint32_t table_entry;

    if (!(directory_entry & PAGING_PRESENT))
        return PAGING_NO_TABLE;
    if (directory_entry & PAGING_LARGE) {
        *leaf = directory_entry;
        return PAGING_OK;
    }
    table_entry = table_of(directory_entry)[PAGING_TABLE_INDEX(va)];
    if (!(table_entry & PAGING_PRESENT))
        return PAGING_NOT_MAPPED;
    *leaf = table_entry;
    return PAGING_OK;
}

enum paging_status paging_translate(const struct paging_space *space, uintptr_t virt,
                                    uintptr_t *phys, uint32_t *flags)
{
    uint32_t leaf = 0;
    enum paging_status status;

    if (!below_4_gib(virt))
        return PAGING_BAD_ADDRESS;
    if ((status = find_leaf(space, virt, &leaf)) != PAGING_OK)
        return status;
    if (phys != NULL)
        *phys = frame_of(leaf, virt);
    if (flags != NULL)
        *flags = leaf & PAGING_FLAGS_MASK;
    return PAGING_OK;
}

/* ---- runs ---------------------------------------------------------------------------- */

const struct paging_range *paging_range_of(const struct paging_range *ranges, size_t count,
                                           uintptr_t virt)
{
    for (size_t i = 0; i < count; i++) {
        struct span span = span_of(&ranges[i]);
        if (span_holds(&span, virt - PAGING_PAGE_OFFSET(virt)))
            return &ranges[i];
    }
    return NULL;
}

/* The run being gathered, and what ends it. */
struct run_walk {
    const struct paging_range *ranges;
    size_t count;
    paging_run_fn visit;
    void *context;
    struct paging_run run;      /* run.bytes == 0: no run is open */
    uintptr_t limit;            /* the open run's last page: where a range starts or ends */
};

/* The last page a run starting at va may reach before a range boundary. */
static uintptr_t run_limit(const struct run_walk *walk, uintptr_t va)
{
    uintptr_t limit = (uintptr_t)(FOUR_GIB - PAGE);

    for (size_t i = 0; i < walk->count; i++) {
        struct span span = span_of(&walk->ranges[i]);
        if (span_holds(&span, va) && span.last < limit)
            limit = span.last;
        else if (span.pages != 0 && span.first > va && span.first - PAGE < limit)
            limit = span.first - PAGE;
    }
    return limit;
}

static void run_close(struct run_walk *walk)
{
    if (walk->run.bytes != 0)
        walk->visit(&walk->run, walk->context);
    walk->run.bytes = 0;
}

/* Add the page at va to the open run if it continues it, else start a new run. */
static void run_add(struct run_walk *walk, uintptr_t va, uintptr_t pa, uint32_t flags)
{
    struct paging_run *run = &walk->run;
    const struct paging_range *range;

    if (run->bytes != 0 && flags == run->flags && va <= walk->limit &&
        (uint64_t)pa == (uint64_t)run->phys + run->bytes) {
        run->bytes += PAGE;
        run->last = va + (PAGE - 1);
        return;
    }
    run_close(walk);
    range = paging_range_of(walk->ranges, walk->count, va);
    *run = (struct paging_run){ .start = va, .last = va + (PAGE - 1), .phys = pa, .bytes = PAGE,
                                .flags = flags, .what = range != NULL ? range->what : NULL };
    walk->limit = run_limit(walk, va);
}

void paging_for_each_run(const struct paging_space *space, const struct paging_range *ranges,
                         size_t count, paging_run_fn visit, void *context)
{
    struct run_walk walk = { .ranges = ranges, .count = count, .visit = visit, .context = context };

    for (uint64_t va = 0; va < FOUR_GIB; ) {
        uint32_t leaf = 0;
        enum paging_status status = find_leaf(space, (uintptr_t)va, &leaf);
        if (status == PAGING_OK)
            run_add(&walk, (uintptr_t)va, frame_of(leaf, (uintptr_t)va), leaf & PAGING_RUN_FLAGS);
        else
            run_close(&walk);
        va += status == PAGING_NO_TABLE ? LARGE : PAGE;
    }
    run_close(&walk);
}

/* ---- counts ---------------------------------------------------------------------------- */

void paging_get_stats(const struct paging_space *space, struct paging_stats *out)
{
    *out = (struct paging_stats){0};
    if (space->directory == NULL)
        return;
    for (unsigned i = 0; i < PAGING_ENTRIES; i++) {
        uint32_t entry = space->directory[i];
        if (!(entry & PAGING_PRESENT))
            continue;
        if (entry & PAGING_LARGE) {
            out->large_pages++;
            continue;
        }
        out->table_pages++;
        for (unsigned j = 0; j < PAGING_ENTRIES; j++)
            out->small_pages += (table_of(entry)[j] & PAGING_PRESENT) != 0;
    }
    out->table_bytes = (1 + out->table_pages) * PAGE;
}

/* ---- words ------------------------------------------------------------------------------ */

struct paging_fault_words paging_decode_fault(uint32_t error_code)
{
    struct paging_fault_words words;

    words.mode = (error_code & PAGING_FAULT_USER) ? "user" : "supervisor";
    words.access = (error_code & PAGING_FAULT_FETCH) ? "instruction fetch"
                 : (error_code & PAGING_FAULT_WRITE) ? "write access" : "read access";
    words.cause = !(error_code & PAGING_FAULT_PROTECTION) ? "not-present page"
                : (error_code & PAGING_FAULT_RESERVED) ? "reserved bit violation"
                : "protection violation";
    return words;
}

const char *paging_status_text(enum paging_status status)
{
    switch (status) {
    case PAGING_OK: return "ok";
    case PAGING_NO_TABLE: return "no page table covers the address";
    case PAGING_NOT_MAPPED: return "the page is not mapped";
    case PAGING_IN_LARGE_PAGE: return "the page lies inside a 4 MiB page";
    case PAGING_ALREADY_MAPPED: return "the page is already mapped differently";
    case PAGING_MISALIGNED: return "not page aligned, or start and phys differ within a page";
    case PAGING_BAD_ADDRESS: return "past 4 GiB";
    case PAGING_BAD_FLAGS: return "flags a mapping cannot ask for";
    case PAGING_CONFLICT: return "two ranges map a page differently";
    case PAGING_OUT_OF_MEMORY: return "no page left for a page table";
    case PAGING_BAD_TABLE_PAGE: return "a page-table page not 4 KiB aligned below 4 GiB";
    case PAGING_BAD_ALLOCATOR: return "an allocator without alloc or free";
    }
    return "unknown status";
}
