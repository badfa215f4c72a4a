/*
 * actions.h - what the demo's keys do. Each action prints one or more lines
 * saying what happened; the dispatcher then redraws the status line and the
 * heap panel. The key table (keys.c) says which key runs which action.
 */
#ifndef SHOMPOS_DEMO_ACTIONS_H
#define SHOMPOS_DEMO_ACTIONS_H

#include "boot/bootinfo.h"

/* actions.c: keys 4-9, r t y u i o and f. */
void demo_allocate(unsigned scale);
void demo_free(unsigned scale);
void demo_free_all(unsigned unused);

/* report.c: keys p, s, c and m. demo_report_init keeps the boot info for m. */
void demo_report_init(const struct boot_info *boot);
void demo_show_free_lists(unsigned unused);
void demo_show_stats(unsigned unused);
void demo_check_heap(unsigned unused);
void demo_show_memory(unsigned unused);

/* badfrees.c: key q, nine bad frees and a bad destroy, each refused with its report. */
void demo_bad_frees(unsigned unused);

/* bench.c: key b. */
void demo_benchmark(unsigned unused);

/* divide.c: key 0. demo_divide_init registers the exception fixup it relies on. */
void demo_divide_init(void);
void demo_divide_by_zero(unsigned unused);

/* faults.c: keys v, n, w and g. demo_faults_init registers the fixups n and w rely on. */
void demo_faults_init(void);
void demo_show_virtual_memory(unsigned unused);
void demo_null_read(unsigned unused);
void demo_code_write(unsigned unused);
void demo_stack_overflow(unsigned unused);

/*
 * guarded.c: keys a and z (guarded objects, every boot), A and Z (poison and
 * red zones, under heapdebug). demo_guarded_init registers the fixup a and z
 * rely on.
 */
void demo_guarded_init(void);
void demo_guard_use_after_free(unsigned unused);
void demo_guard_overflow(unsigned unused);
void demo_poison_damage(unsigned unused);
void demo_redzone_damage(unsigned unused);

/* leaks.c: key e leaks a block, key l runs the leak scan (memory/leak.h) over the kernel. */
void demo_leak_block(unsigned unused);
void demo_leak_scan(unsigned unused);

/* slabs.c: keys k, j, x and d, on the demo cache "demo-24" that demo_slabs_init creates. */
void demo_slabs_init(void);
void demo_slab_alloc(unsigned unused);
void demo_slab_free(unsigned unused);
void demo_slab_shrink(unsigned unused);
void demo_slab_poison_damage(unsigned unused);     /* K, under heapdebug */
void demo_show_slabinfo(unsigned unused);
struct kmem_cache;
const struct kmem_cache *demo_slab_cache(void);     /* NULL when it could not be made */

#endif
