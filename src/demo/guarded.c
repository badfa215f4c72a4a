/*
 * guarded.c - the heap-debugging keys that break the rules on purpose.
 * a and z take an object straight from the guarded pool (memory/guard.h),
 * so they work in every boot: a writes to it after freeing it, z writes the
 * byte just past its end; either write faults on a not-present page, the
 * page-fault report (memory/vm.c) names the bug and the object, and an
 * exception fixup resumes after the write, as key n's does (faults.c). A
 * and Z do the same to an ordinary heap block, which only heapdebug's
 * poison and red zones can catch (heap.h): no fault, a report from the heap.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "demo/actions.h"
#include "console/kprintf.h"
#include "cpu/exceptions.h"
#include "cpu/idt.h"
#include "memory/guard.h"
#include "memory/heap.h"
#include "memory/vm.h"

#define GUARD_DEMO_BYTES    32      /* a's object */
#define OVERFLOW_DEMO_BYTES 24      /* z's: a multiple of 8, so it ends right at its guard page */
#define STALE_OFFSET        8       /* the byte a writes through its stale pointer */
#define STALE_BYTE          0x41    /* what every demo write stores: 'A' */

/*
 * The write, in assembly so that the faulting instruction and the one after
 * it have labels the fixup can name (see divide.c). It stores STALE_BYTE at
 * the address given on the stack and touches EAX only.
 */
void demo_guard_write_run(volatile unsigned char *address);
extern const char demo_guard_write_fault[], demo_guard_write_resume[];

__asm__(
    ".pushsection .text\n"
    ".globl demo_guard_write_run, demo_guard_write_fault, demo_guard_write_resume\n"
    ".type demo_guard_write_run, @function\n"
    "demo_guard_write_run:\n"
    "    movl 4(%esp), %eax\n"
    "demo_guard_write_fault:\n"
    "    movb $0x41, (%eax)\n"          /* a not-present page: #PF */
    "demo_guard_write_resume:\n"
    "    ret\n"
    ".size demo_guard_write_run, . - demo_guard_write_run\n"
    ".popsection\n");

_Static_assert(STALE_BYTE == 0x41, "the assembly above stores 0x41");

static bool fixup_registered;

void demo_guarded_init(void)
{
    const struct exception_fixup write = {
        IDT_PAGE_FAULT, (uintptr_t)demo_guard_write_fault, (uintptr_t)demo_guard_write_resume,
        "the guarded-object demo returns to the prompt",
    };

    fixup_registered = exception_register_fixup(&write) == 0;
}

/*
 * The address of this point in the caller's code: what the pool and the
 * reports keep as "who called". An asm label, so that every use is its own
 * address (a function returning __builtin_return_address may be merged).
 */
static inline __attribute__((always_inline)) const void *here(void)
{
    const void *address;

    __asm__ volatile("movl $1f, %0\n1:" : "=r"(address));
    return address;
}

/* The pool, or NULL after saying why these keys cannot run. */
static struct guard_pool *guard_ready(void)
{
    struct guard_pool *pool = vm_guard_pool();

    if (pool == NULL)
        kprintf("no guarded objects in this boot (paging off, or no memory for the pool)\n");
    else if (!fixup_registered)
        kprintf("the exception table had no room for this demo's fixup: not faulting\n");
    return fixup_registered ? pool : NULL;
}

/* A fresh object of size bytes from the pool, filled with its size, or NULL after saying why. */
static unsigned char *guard_take(struct guard_pool *pool, size_t size, const void *caller)
{
    unsigned char *object = guard_alloc(pool, size, caller);

    if (object == NULL) {
        kprintf("every one of the %u guarded objects is live: nothing to show\n", GUARD_OBJECTS);
        return NULL;
    }
    for (size_t i = 0; i < size; i++)
        object[i] = (unsigned char)size;
    return object;
}

void demo_guard_use_after_free(unsigned unused)
{
    struct guard_pool *pool = guard_ready();
    unsigned char *object;

    (void)unused;
    if (pool == NULL || (object = guard_take(pool, GUARD_DEMO_BYTES, here())) == NULL)
        return;
    (void)guard_free(pool, object, here());
    kprintf("guarded object at 0x%08lx (%u bytes) freed, its page unmapped; writing 0x%02x to "
            "byte %u of it\n", (unsigned long)(uintptr_t)object, GUARD_DEMO_BYTES, STALE_BYTE,
            STALE_OFFSET);
    demo_guard_write_run(object + STALE_OFFSET);
}

void demo_guard_overflow(unsigned unused)
{
    struct guard_pool *pool = guard_ready();
    unsigned char *object;

    (void)unused;
    if (pool == NULL || (object = guard_take(pool, OVERFLOW_DEMO_BYTES, here())) == NULL)
        return;
    kprintf("guarded object at 0x%08lx (%u bytes) ends where its guard page starts; writing "
            "0x%02x to byte %u, one past its end\n", (unsigned long)(uintptr_t)object,
            OVERFLOW_DEMO_BYTES, STALE_BYTE, OVERFLOW_DEMO_BYTES);
    demo_guard_write_run(object + OVERFLOW_DEMO_BYTES);
    (void)guard_free(pool, object, here());
}

/* ---- A and Z: ordinary blocks under heapdebug ------------------------------------------ */

#define DAMAGE_BYTES 64     /* A's and Z's block: scale 7 with the debugging's extra bytes */

static bool heapdebug_has(unsigned flag, const char *what)
{
    if (heap_debug_flags() & flag)
        return true;
    kprintf("heapdebug is off: no %s to catch this (boot \"ShompOS (heap debugging)\")\n", what);
    return false;
}

static size_t debug_reports(void)
{
    struct heap_stats stats;

    heap_get_stats(&stats);
    return stats.debug_reports;
}

/*
 * A freed block is poisoned and waits in the quarantine; a write through the
 * stale pointer changes a poison byte. Draining the quarantine lets the
 * block merge, which checks its poison first: the heap reports the byte.
 */
void demo_poison_damage(unsigned unused)
{
    (void)unused;
    if (!heapdebug_has(HEAP_DEBUG_POISON, "poison"))
        return;
    unsigned char *volatile block = heap_alloc_unsampled(DAMAGE_BYTES);
    if (block == NULL) {
        kprintf("kmalloc: out of memory\n");
        return;
    }
    kfree(block);
    kprintf("kfree: 0x%08lx poisoned (0x6b) and quarantined; writing 0x%02x to byte %u through "
            "the stale pointer, then draining the quarantine\n", (unsigned long)(uintptr_t)block,
            STALE_BYTE, STALE_OFFSET);
    block[STALE_OFFSET] = STALE_BYTE;
    size_t reports = debug_reports();
    size_t drained = heap_drain_quarantine();
    if (debug_reports() == reports)
        kprintf("no report: the poison was not checked (%zu blocks drained)\n", drained);
}

/* A write past the bytes asked for lands in the red zone; kfree finds it and frees the block. */
void demo_redzone_damage(unsigned unused)
{
    (void)unused;
    if (!heapdebug_has(HEAP_DEBUG_REDZONE, "red zone"))
        return;
    unsigned char *volatile block = heap_alloc_unsampled(DAMAGE_BYTES);
    if (block == NULL) {
        kprintf("kmalloc: out of memory\n");
        return;
    }
    kprintf("kmalloc: %u bytes at 0x%08lx; writing 0x%02x to byte %u, just past them, then kfree\n",
            DAMAGE_BYTES, (unsigned long)(uintptr_t)block, STALE_BYTE, DAMAGE_BYTES);
    block[DAMAGE_BYTES] = STALE_BYTE;
    kfree(block);
}
