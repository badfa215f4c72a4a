/*
 * bench_callgrind.h - instruction counts for the benchmark, from valgrind's
 * callgrind: the program runs itself again under callgrind, which counts
 * only inside functions whose names start with CALLGRIND_COUNTED_PREFIX, and
 * reads back one total per labelled stretch of the run. Counts are the same
 * from run to run, unlike time on a shared machine. Host only (Linux).
 */
#ifndef SHOMPOS_TESTS_BENCH_CALLGRIND_H
#define SHOMPOS_TESTS_BENCH_CALLGRIND_H

#include <stddef.h>
#include <stdint.h>

/* Name every counted function with this prefix, and mark it noinline. */
#define CALLGRIND_COUNTED_PREFIX "bench_counted_"

#define CALLGRIND_LABEL_BYTES 64

/* One labelled stretch: the instructions executed inside counted functions. */
struct callgrind_count {
    char label[CALLGRIND_LABEL_BYTES];
    uint64_t instructions;
};

/*
 * In the parent: run this program again under callgrind with the single
 * argument mode and read the stretches it marked into out (at most max).
 * Returns how many were read, or -1 after printing why there are none
 * (valgrind missing, the run failed); the temporary files are removed
 * unless the run failed, when the message names its log.
 */
int callgrind_run_self(const char *mode, struct callgrind_count *out, size_t max);

/* The instructions of the stretch labelled label, or -1 when out has none. */
double callgrind_find(const struct callgrind_count *counts, int n, const char *label);

/* In the child: nonzero when running under valgrind. */
int callgrind_active(void);

/* In the child: forget what was counted so far; the next stretch starts here. */
void callgrind_stretch_start(void);

/* In the child: end the current stretch and record its count under label. */
void callgrind_stretch_end(const char *label);

#endif
