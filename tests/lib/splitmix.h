/*
 * splitmix.h - SplitMix64 (Steele, Lea and Flood, "Fast Splittable
 * Pseudorandom Number Generators", OOPSLA 2014): the seeded generator of
 * the differential tests and the benchmark, written once, so that a seed
 * names the same sequence wherever it is used. Each caller keeps its own
 * state word.
 */
#ifndef SHOMPOS_TESTS_LIB_SPLITMIX_H
#define SHOMPOS_TESTS_LIB_SPLITMIX_H

#include <stdint.h>

static inline uint64_t splitmix_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

#endif
