/*
 * paging.h - 32-bit x86 page tables: build a page directory from a table of
 * mappings, then map, unmap and translate single pages.
 *
 * Follows the Intel SDM vol. 3A, sections 4.3 (32-bit paging) and 4.7 (the
 * page-fault error code), and xv6's vm.c/mmu.h. Pure C11: it only writes
 * entries in memory. Loading CR3, setting CR0.PG/WP and CR4.PSE, and invlpg
 * are the caller's (src/cpu/). No PAE, no PAT, no user address spaces.
 */
#ifndef SHOMPOS_MEMORY_PAGING_H
#define SHOMPOS_MEMORY_PAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * How the kernel uses it. At boot: fill a table of paging_range (kernel
 * code, kernel data, each heap region, the framebuffer), paging_build it,
 * set CR4.PSE, load CR3 with space.directory, set CR0.PG and CR0.WP. On a
 * #PF: paging_decode_fault(error code) for the words, paging_translate(CR2)
 * and paging_range_of(table, CR2) to say what the address is. For the v key:
 * paging_for_each_run(table) and paging_get_stats. Heap debugging:
 * paging_unmap a freed page, paging_map it back, invlpg after each.
 */

/*
 * A 32-bit virtual address, split three ways by the CPU (SDM figure 4-2):
 *
 *   31                22 21                12 11                       0
 *  +--------------------+--------------------+--------------------------+
 *  |  directory index   |    table index     |     offset in page       |
 *  |      10 bits       |      10 bits       |        12 bits           |
 *  +--------------------+--------------------+--------------------------+
 *        |                      |
 *        v                      v
 *   CR3 -> directory[1024] -> table[1024] -> 4 KiB page frame + offset
 *
 * A directory entry with PAGING_LARGE set maps a whole 4 MiB page itself: the
 * table index and offset together (22 bits) are the offset in that page.
 */
#define PAGING_PAGE_BYTES   4096u                   /* a page, and a page-table page */
#define PAGING_LARGE_BYTES  (4096u * 1024u)         /* 4 MiB: one directory entry's span */
#define PAGING_ENTRIES      1024u                   /* entries in a directory or a table */

#define PAGING_DIRECTORY_INDEX(va) (((uintptr_t)(va) >> 22) & 0x3ff)
#define PAGING_TABLE_INDEX(va)     (((uintptr_t)(va) >> 12) & 0x3ff)
#define PAGING_PAGE_OFFSET(va)     ((uintptr_t)(va) & 0xfff)

/*
 * An entry: the frame's physical address in the high bits, flags in the
 * low twelve (SDM tables 4-5 to 4-7).
 *
 *   31                            12 11    9 8 7 6 5 4 3 2 1 0
 *  +--------------------------------+-------+-+-+-+-+-+-+-+-+-+
 *  | page frame (or table) address  | avail |G|S|D|A|C|T|U|W|P|
 *  +--------------------------------+-------+-+-+-+-+-+-+-+-+-+
 *
 * A 4 MiB directory entry keeps only bits 31..22 of the address; its bits
 * 21..13 must be 0 (under PSE-36, 20..13 hold address bits 39..32) and
 * bit 12 is PAT. paging.c only writes frames below 4 GiB, so they are.
 */
#define PAGING_PRESENT       0x001u  /* P: the entry is in use; else the CPU faults (#PF) */
#define PAGING_WRITABLE      0x002u  /* W: writes allowed (for the kernel too once CR0.WP is set) */
#define PAGING_USER          0x004u  /* U: ring 3 may access it; else the kernel only */
#define PAGING_WRITE_THROUGH 0x008u  /* PWT: write-through caching */
#define PAGING_CACHE_DISABLE 0x010u  /* PCD: no caching (device memory that needs it) */
#define PAGING_ACCESSED      0x020u  /* A: the CPU sets it on the first access */
#define PAGING_DIRTY         0x040u  /* D: the CPU sets it on the first write (pages, not tables) */
#define PAGING_LARGE         0x080u  /* PS: in a directory entry, a 4 MiB page (needs CR4.PSE).
                                        In a table entry bit 7 is PAT, which ShompOS leaves 0 */
#define PAGING_GLOBAL        0x100u  /* G: kept in the TLB across CR3 loads (needs CR4.PGE) */
#define PAGING_FLAGS_MASK    0xfffu  /* the flag bits of an entry */
#define PAGING_ADDRESS_MASK  0xfffff000u /* a table entry's frame, a directory entry's table */
#define PAGING_LARGE_MASK    0xffc00000u /* a 4 MiB directory entry's frame */

/* The flags a caller may ask for; PAGING_PRESENT is always added. */
#define PAGING_MAP_FLAGS (PAGING_PRESENT | PAGING_WRITABLE | PAGING_USER | PAGING_WRITE_THROUGH | \
                          PAGING_CACHE_DISABLE | PAGING_GLOBAL)

/*
 * Flags that tell runs apart (paging_for_each_run): all but accessed and
 * dirty, which the CPU changes as it runs. PAGING_LARGE stays: a run is made
 * of pages of one size.
 */
#define PAGING_RUN_FLAGS (PAGING_FLAGS_MASK & ~(PAGING_ACCESSED | PAGING_DIRTY))

/*
 * A directory entry that points to a table is PRESENT | WRITABLE | USER:
 * the CPU takes the stricter of the two levels, so the table entry alone
 * decides (as in xv6). Every flag this API reports is the leaf entry's.
 */
#define PAGING_TABLE_FLAGS (PAGING_PRESENT | PAGING_WRITABLE | PAGING_USER)

/* Why a call was refused, or where a walk stopped. */
enum paging_status {
    PAGING_OK = 0,
    PAGING_NO_TABLE,        /* the directory entry is not present: no table covers the address */
    PAGING_NOT_MAPPED,      /* a table covers the address but its entry is not present */
    PAGING_IN_LARGE_PAGE,   /* map or unmap inside a 4 MiB page, which is never split */
    PAGING_ALREADY_MAPPED,  /* map: present with another frame or other flags; unmap it first */
    PAGING_MISALIGNED,      /* not page aligned, or a range's virtual and physical starts differ
                               within their page */
    PAGING_BAD_ADDRESS,     /* an address, or a range's last byte, past 4 GiB */
    PAGING_BAD_FLAGS,       /* flags outside PAGING_MAP_FLAGS */
    PAGING_CONFLICT,        /* two ranges give one page different frames or different flags */
    PAGING_OUT_OF_MEMORY,   /* the allocator had no page for a table (or the directory) */
    PAGING_BAD_TABLE_PAGE,  /* the allocator's page is not 4 KiB aligned or not below 4 GiB */
    PAGING_BAD_ALLOCATOR,   /* build: an allocator without both callbacks */
};

/* A short phrase for messages: "no page table covers the address". Never NULL. */
const char *paging_status_text(enum paging_status status);

/*
 * Where page-table pages come from. alloc returns one page, or NULL when
 * there is none; free takes back a page alloc gave. The kernel passes
 * kmalloc(4096) and kfree; the host tests pass a static pool.
 *
 * Tables are reached through their physical address: the directory entry
 * holds it, and paging.c reads the table at that same address. So a page
 * from alloc must be 4 KiB aligned, below 4 GiB, and mapped at its physical
 * address (true for the identity-mapped kernel; the host tests are built
 * -fno-pie -no-pie so their static pool sits low). A page that is not is
 * given back and refused (PAGING_BAD_TABLE_PAGE). Pages need not be zeroed.
 */
struct paging_allocator {
    void *(*alloc)(void *context);
    void (*free)(void *page, void *context);
    void *context;
};

/*
 * An address space: a page directory and the tables under it. Its fields
 * are read-only to callers. CR3 takes (uintptr_t)directory.
 */
struct paging_space {
    uint32_t *directory;        /* PAGING_ENTRIES entries; NULL before a build, after a failed
                                   one and after paging_destroy */
    struct paging_allocator allocator;
    size_t table_pages;         /* page tables allocated, the directory not counted */
};

/*
 * One line of the table of mappings a space is built from. The kernel's:
 *
 *   const struct paging_range kmap[] = {
 *       { text_start, text_start, text_bytes, 0,               false, "kernel code" },
 *       { data_start, data_start, data_bytes, PAGING_WRITABLE, false, "kernel data" },
 *       { region,     region,     bytes,      PAGING_WRITABLE, false, "heap region 2" },
 *       { fb,         fb,         pitch * h,  PAGING_WRITABLE, true,  "framebuffer" },
 *   };
 *
 * Rounding: a range covers every page that holds one of its bytes, from the
 * page of start to the page of its last byte (start + bytes - 1); phys moves
 * down by the same amount, so start and phys must have the same offset in
 * their page. A range of 0 bytes maps nothing. Ranges may overlap, touch
 * and come in any order; a page two ranges cover must get the same frame
 * and flags from both, else the build is refused (PAGING_CONFLICT).
 *
 * large_pages: the range may use 4 MiB pages. One is used for each aligned
 * 4 MiB of virtual space this range covers whole, whose physical start is
 * 4 MiB aligned too, and that no range without large_pages touches. Give it
 * only to ranges where no single page will ever be unmapped or changed
 * (the framebuffer, not the heap: heap debugging unmaps freed pages). A
 * space with 4 MiB pages needs CR4.PSE set before CR3 is loaded.
 */
struct paging_range {
    uintptr_t start;            /* virtual address of the first byte */
    uintptr_t phys;             /* physical address of that byte (== start: identity map) */
    size_t bytes;
    uint32_t flags;             /* from PAGING_MAP_FLAGS */
    bool large_pages;
    const char *what;           /* "kernel code", "heap region 2": for v and fault reports */
};

/* What went wrong in a build, and where. */
struct paging_problem {
    enum paging_status status;
    size_t range;               /* the range refused (index into the table) */
    size_t other;               /* PAGING_CONFLICT: the earlier range it conflicts with */
    uintptr_t address;          /* the first virtual page where it happens, if any */
};

/*
 * Build space from count ranges: a fresh directory, and 4 KiB tables or
 * 4 MiB pages for exactly the pages the ranges cover. Everything else, page 0
 * included unless a range covers it, stays not present. Every range is
 * checked (flags, alignment, 4 GiB, conflicts) before a page is allocated.
 * Returns PAGING_OK, or a refusal with *problem (if not NULL) saying which
 * range and where; then every page taken from the allocator has been given
 * back and space->directory is NULL. ranges may be NULL when count is 0.
 * What space held before is overwritten, not freed: paging_destroy it first.
 */
enum paging_status paging_build(struct paging_space *space, struct paging_allocator allocator,
                                const struct paging_range *ranges, size_t count,
                                struct paging_problem *problem);

/* Give every table and the directory back to the allocator; directory becomes NULL. */
void paging_destroy(struct paging_space *space);

/*
 * Map the 4 KiB page at virt to the frame at phys with flags (PRESENT is
 * added). Both must be page aligned and below 4 GiB. A missing table is
 * allocated; if that fails nothing changed (PAGING_OUT_OF_MEMORY). Mapping
 * a page again with the same frame and flags succeeds and changes nothing;
 * a page present otherwise is refused (PAGING_ALREADY_MAPPED), as is a page
 * inside a 4 MiB page (PAGING_IN_LARGE_PAGE, whatever it maps). When the
 * space is live, the caller does invlpg(virt) after a change.
 */
enum paging_status paging_map(struct paging_space *space, uintptr_t virt, uintptr_t phys,
                              uint32_t flags);

/*
 * Make the 4 KiB page at virt (page aligned) not present. On PAGING_OK,
 * *phys and *flags (either may be NULL) get the frame and flags it had; the
 * caller then does invlpg(virt). Refused: PAGING_NO_TABLE or
 * PAGING_NOT_MAPPED (nothing was there), PAGING_IN_LARGE_PAGE (4 MiB pages
 * are never split), PAGING_MISALIGNED, PAGING_BAD_ADDRESS. Its table stays,
 * even when it becomes empty (paging_destroy frees it).
 */
enum paging_status paging_unmap(struct paging_space *space, uintptr_t virt, uintptr_t *phys,
                                uint32_t *flags);

/*
 * What the CPU would do with virt (any byte address below 4 GiB): on
 * PAGING_OK, *phys (if not NULL) is its physical address and *flags (if not
 * NULL) the leaf entry's flags, PAGING_LARGE set for a 4 MiB page. Otherwise
 * the level where the walk stopped: PAGING_NO_TABLE (directory) or
 * PAGING_NOT_MAPPED (table); or PAGING_BAD_ADDRESS (virt past 4 GiB).
 */
enum paging_status paging_translate(const struct paging_space *space, uintptr_t virt,
                                    uintptr_t *phys, uint32_t *flags);

/*
 * A run: consecutive present pages whose flags agree (PAGING_RUN_FLAGS) and
 * whose frames are consecutive, inside one range of the table given.
 */
struct paging_run {
    uintptr_t start;            /* first byte */
    uintptr_t last;             /* last byte (start + bytes - 1: no overflow at 4 GiB) */
    uintptr_t phys;             /* physical address of start */
    uint64_t bytes;             /* a multiple of 4 KiB; up to 4 GiB */
    uint32_t flags;             /* the leaf entries' flags & PAGING_RUN_FLAGS */
    const char *what;           /* the range holding start, or NULL when none does */
};

typedef void (*paging_run_fn)(const struct paging_run *run, void *context);

/*
 * Call visit for each run of space, in address order, from 0 to 4 GiB. With
 * ranges (count of them; NULL and 0 for none), a run also ends where a range
 * starts or ends, and its what is the name of the first range holding its
 * start. visit must not change the space.
 */
void paging_for_each_run(const struct paging_space *space, const struct paging_range *ranges,
                         size_t count, paging_run_fn visit, void *context);

/* The first range holding virt, or NULL (for "outside every mapping"). */
const struct paging_range *paging_range_of(const struct paging_range *ranges, size_t count,
                                           uintptr_t virt);

struct paging_stats {
    size_t table_pages;         /* 4 KiB page tables, the directory not counted */
    size_t table_bytes;         /* bytes of the directory and the tables */
    size_t small_pages;         /* present 4 KiB pages */
    size_t large_pages;         /* present 4 MiB pages */
};

/* Count space's tables and present pages (it reads every present table). */
void paging_get_stats(const struct paging_space *space, struct paging_stats *out);

/*
 * The error code the CPU pushes for #PF (SDM section 4.7, figure 4-12).
 * paging_decode_fault turns it into words, as Linux's show_fault_oops does:
 * "supervisor write access", "protection violation" (the SDM's term; Linux
 * prints "permissions violation").
 */
#define PAGING_FAULT_PROTECTION  0x01u  /* P: 0 = the page was not present, 1 = protection */
#define PAGING_FAULT_WRITE       0x02u  /* W/R: the access was a write */
#define PAGING_FAULT_USER        0x04u  /* U/S: the CPU was in ring 3 */
#define PAGING_FAULT_RESERVED    0x08u  /* RSVD: a reserved bit was set in an entry */
#define PAGING_FAULT_FETCH       0x10u  /* I/D: an instruction fetch (SMEP, or NX under PAE) */

struct paging_fault_words {
    const char *mode;           /* "supervisor" or "user" */
    const char *access;         /* "read access", "write access" or "instruction fetch" */
    const char *cause;          /* "not-present page", "protection violation" or
                                   "reserved bit violation" */
};

struct paging_fault_words paging_decode_fault(uint32_t error_code);

#endif
