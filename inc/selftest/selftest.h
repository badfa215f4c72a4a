/*
 * selftest.h - the heap self-test the kernel runs when its command line says
 * "selftest" (GRUB's "ShompOS self-test" entry): a randomized torture test of
 * kmalloc, kfree and krealloc on the real heap, reported on the console.
 * It tests the heap only; the caller decides what happens afterwards.
 */
#ifndef SHOMPOS_SELFTEST_SELFTEST_H
#define SHOMPOS_SELFTEST_SELFTEST_H

#include <stdint.h>

/*
 * Run the self-test on the heap as it stands: regions added, and any blocks
 * already live left alone. seed picks the random sequence (any value, 0
 * included). Prints a little progress and then exactly one final line,
 * "selftest: PASS (...)" or "selftest: FAIL: <reason>". Returns 0 on PASS,
 * and then the heap is back in the state it was in at the start. Returns
 * nonzero on FAIL, and then the blocks the test holds stay allocated: a heap
 * that just failed is not trusted with more frees.
 */
int heap_selftest(uint32_t seed);

#endif
