/*
 * leaks.c - key e leaks a block on purpose, key l looks for leaks with the
 * scan of memory/leak.h over the running kernel: the heap's live blocks
 * and the live guarded objects are the candidates, the kernel's data and
 * bss and the live part of the stack the roots (linker.ld, boot/boot.S).
 * Never reported: slabs (their header and allocated objects are scanned as
 * roots), page tables (reached from the directory, never scanned: their
 * entries name every page), quarantined blocks, the guarded pool's own
 * block and the scan's own array. The output follows kmemleak's: one line
 * per unreferenced block, then a total.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "demo/actions.h"
#include "console/kprintf.h"
#include "memory/guard.h"
#include "memory/heap.h"
#include "memory/leak.h"
#include "memory/slab.h"
#include "memory/vm.h"

extern char kernel_readonly_end[], kernel_end[];    /* linker.ld: data and bss run between them */
extern char stack_guard[], stack_top[];             /* boot/boot.S: never present, and the stack */

#define LEAK_DEMO_BYTES 40
#define SCRUB_BYTES     4096    /* stack cleared below e's frame (of 16 KiB) after the leak */
#define DUMP_BYTES      16      /* bytes of a leaked block shown */
#define SCAN_SLACK      8       /* array entries beyond the count, in case the count grows */

static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

/* ---- e: a leak on purpose -------------------------------------------------------------- */

/*
 * Allocate and fill a block, say where it is, and return without keeping a
 * pointer: the block is out of reach of every root, which is what a leak is.
 */
static void __attribute__((noinline)) leak_one_block(void)
{
    static const char text[LEAK_DEMO_BYTES] = "leaked by key e: nothing points here";
    char *volatile block = kmalloc(LEAK_DEMO_BYTES);

    if (block == NULL) {
        kprintf("kmalloc: out of memory: nothing leaked\n");
        return;
    }
    for (size_t i = 0; i < LEAK_DEMO_BYTES; i++)
        block[i] = text[i];
    kprintf("kmalloc: %u bytes at 0x%08lx, and every pointer to it dropped: a leak (press l)\n",
            LEAK_DEMO_BYTES, (unsigned long)(uintptr_t)block);
    block = NULL;
}

/*
 * Overwrite the stack the calls above used: their frames are dead but still
 * hold the pointer (kmalloc's, kprintf's arguments), and l's own calls will
 * reuse that stack, where the scan reads it. The empty asm "reads" the
 * array, so the compiler cannot drop the stores as dead.
 */
static void __attribute__((noinline)) scrub_stack(void)
{
    unsigned char dead[SCRUB_BYTES];

    for (size_t i = 0; i < SCRUB_BYTES; i++)
        dead[i] = 0;
    __asm__ volatile("" :: "r"(dead) : "memory");
}

void demo_leak_block(unsigned unused)
{
    (void)unused;
    leak_one_block();
    scrub_stack();
}

/* ---- l: the scan ------------------------------------------------------------------------ */

/* What the classifier must leave out: the scan's array and the guarded pool's block. */
struct kernel_blocks {
    uintptr_t array, pool_start, pool_end;
};

/*
 * Slabs are left out here and come back object by object (add_slab_objects):
 * a slab's free objects still hold whatever the page held before, stale
 * pointers included, which would hide leaks.
 */
static int classify(const struct heap_block_info *block, void *context)
{
    const struct kernel_blocks *kernel = context;

    if (block->start == kernel->array || block->state == HEAP_BLOCK_SLAB
        || (block->start >= kernel->pool_start && block->start < kernel->pool_end))
        return LEAK_SKIP;
    if (block->state == HEAP_BLOCK_ALLOCATED && block->pages != 0 && vm_is_page_table(block->start))
        return LEAK_NO_SCAN;            /* one page, or two under heapdebug (red zone, callers) */
    return leak_default_kind(block);
}

/* Entries stored up to capacity, counted beyond it (as leak_gather_heap does). */
struct entries {
    struct leak_block *out;
    size_t capacity, found;
};

static void add_root(struct entries *entries, uintptr_t start, size_t bytes)
{
    if (entries->found < entries->capacity)
        entries->out[entries->found] = (struct leak_block){
            .start = start, .end = start + bytes, .payload = start, .size = bytes,
            .kind = LEAK_ROOT,
        };
    entries->found++;
}

static bool object_free(const struct slab *slab, unsigned i)
{
    return (slab->free_map[i / 32] >> (i % 32)) & 1u;
}

/* heap_walk's visitor: a slab's header and each allocated object become roots (slab.h's layout). */
static void slab_visit(uintptr_t block, unsigned scale, int allocated, void *context)
{
    struct heap_block_info info;

    (void)scale;
    if (allocated != 1 || !heap_block_info((const void *)block, &info) || info.start != block
        || info.state != HEAP_BLOCK_SLAB)
        return;
    const struct slab *slab = (const struct slab *)block;
    const struct kmem_cache *cache = slab->cache;
    add_root(context, block, cache->first_offset);
    for (unsigned i = 0; i < cache->objects_per_slab; i++)
        if (!object_free(slab, i))
            add_root(context, block + cache->first_offset + i * cache->stride, cache->object_size);
}

static size_t add_slab_objects(struct leak_block *out, size_t capacity)
{
    struct entries entries = { out, capacity, 0 };

    heap_walk(slab_visit, &entries);
    return entries.found;
}

/* The live guarded objects join the candidates (their pool's block does not). */
static size_t add_guarded_objects(struct leak_block *out, const struct guard_pool *pool)
{
    struct guard_object object;
    size_t added = 0;

    for (unsigned i = 0; pool != NULL && guard_object(pool, i, &object); i++)
        if (object.state == GUARD_LIVE)
            out[added++] = (struct leak_block){
                .start = object.start, .end = object.start + object.size,
                .payload = object.start, .size = object.size,
                .alloc_caller = object.alloc_caller, .kind = LEAK_CANDIDATE,
            };
    return added;
}

/*
 * Roots: the data and bss without the stack and its guard page, then the
 * stack from `from` (the scanning function's frame: its own locals, below
 * it, hold the array and would otherwise count) up to its top.
 */
static size_t kernel_roots(struct leak_range roots[3], uintptr_t from)
{
    roots[0] = (struct leak_range){ (uintptr_t)kernel_readonly_end, (uintptr_t)stack_guard };
    roots[1] = (struct leak_range){ (uintptr_t)stack_top, (uintptr_t)kernel_end };
    roots[2] = (struct leak_range){ from, (uintptr_t)stack_top };
    return 3;
}

/* "unreferenced object 0x00412348 (40 bytes), allocated by 0x00104f3e: 6c 65 61 ..." */
static void report_leak(const struct leak_block *block)
{
    const unsigned char *bytes = (const unsigned char *)block->payload;

    kprintf("unreferenced object 0x%08lx (%zu byte%s), allocated by ",
            (unsigned long)block->payload, block->size, plural(block->size));
    if (block->alloc_caller != NULL)
        kprintf("0x%08lx:", (unsigned long)(uintptr_t)block->alloc_caller);
    else
        kprintf("unknown (boot with heapdebug):");
    for (size_t i = 0; i < block->size && i < DUMP_BYTES; i++)
        kprintf(" %02x", bytes[i]);
    kprintf("\n");
}

static void report(const struct leak_block *blocks, size_t count, const struct leak_result *result)
{
    for (size_t i = 0; i < count; i++)
        if (!blocks[i].referenced)
            report_leak(&blocks[i]);
    kprintf("leak scan: %zu unreferenced block%s, %zu byte%s (%zu live blocks, %zu KiB scanned)\n",
            result->unreferenced, plural(result->unreferenced), result->unreferenced_bytes,
            plural(result->unreferenced_bytes), count, result->scanned_bytes / 1024);
}

/* Heap blocks, slab objects, guarded objects: how many, and into blocks (NULL: count only). */
static size_t gather(struct leak_block *blocks, size_t capacity, struct kernel_blocks *kernel,
                     const struct guard_pool *pool)
{
    size_t count = leak_gather_heap(blocks, capacity, classify, kernel);

    if (count <= capacity)
        count += add_slab_objects(blocks + count, capacity - count);
    else
        count += add_slab_objects(NULL, 0);
    if (blocks == NULL || count + GUARD_OBJECTS > capacity)
        return count + GUARD_OBJECTS;
    return count + add_guarded_objects(blocks + count, pool);
}

static void scan_and_report(struct leak_block *blocks, size_t count, uintptr_t stack_from)
{
    struct leak_range roots[3];
    struct leak_result result;
    size_t root_count = kernel_roots(roots, stack_from);
    enum leak_status status = leak_scan(blocks, count, roots, root_count, &result);

    if (status == LEAK_OK)
        report(blocks, count, &result);
    else
        kprintf("leak scan: refused: %s (entry %zu)\n", leak_status_name(status), result.problem);
}

/*
 * Count, take an array from the heap (left out of the scan), gather and
 * scan. The stack is scanned from this function's frame up: its locals,
 * below the frame, hold the array's address.
 */
static void __attribute__((noinline)) scan_kernel(void)
{
    struct kernel_blocks kernel = {0};
    const struct guard_pool *pool = vm_guard_pool();

    if (pool != NULL)
        (void)guard_range(pool, &kernel.pool_start, &kernel.pool_end);
    size_t capacity = gather(NULL, 0, &kernel, pool) + SCAN_SLACK;
    struct leak_block *blocks = heap_alloc_unsampled(capacity * sizeof(*blocks));
    if (blocks == NULL) {
        kprintf("leak scan: no memory for %zu blocks' bookkeeping\n", capacity);
        return;
    }
    kernel.array = heap_block_of(blocks);
    size_t count = gather(blocks, capacity, &kernel, pool);
    if (count > capacity)
        kprintf("leak scan: the heap changed while it was counted (%zu blocks)\n", count);
    else
        scan_and_report(blocks, count, (uintptr_t)__builtin_frame_address(0));
    kfree(blocks);
}

void demo_leak_scan(unsigned unused)
{
    (void)unused;
    scan_kernel();
}
