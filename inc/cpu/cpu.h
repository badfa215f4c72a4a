/*
 * cpu.h - single instructions that control the processor: interrupts on
 * and off, halting until the next interrupt, and the time-stamp counter.
 * (I/O port instructions are in cpu/port.h.)
 */
#ifndef SHOMPOS_CPU_CPU_H
#define SHOMPOS_CPU_CPU_H

#include <stdint.h>

static inline void cpu_disable_interrupts(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void cpu_enable_interrupts(void)  { __asm__ volatile("sti" ::: "memory"); }

/*
 * Enable interrupts and halt as one step: STI takes effect after the next
 * instruction, so no interrupt can slip in between and be missed.
 */
static inline void cpu_wait_for_interrupt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

/* Stop for good: interrupts off, halt forever. */
static inline __attribute__((noreturn)) void cpu_stop(void)
{
    for (;;)
        __asm__ volatile("cli; hlt" ::: "memory");
}

/* Cycles since reset (RDTSC; Pentium and later). */
static inline uint64_t cpu_cycles(void)
{
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return (uint64_t)high << 32 | low;
}

#endif
