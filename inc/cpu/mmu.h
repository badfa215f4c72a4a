/*
 * mmu.h - the control registers that turn paging on and describe a page
 * fault (Intel SDM vol. 3A, section 2.5 and chapter 4): CR0.PG and CR0.WP,
 * CR2 (the faulting address), CR3 (the page directory), CR4.PSE (4 MiB
 * pages), and INVLPG to drop one stale TLB entry. What goes into the page
 * tables is memory/paging.c's; this file only moves values in and out.
 */
#ifndef SHOMPOS_CPU_MMU_H
#define SHOMPOS_CPU_MMU_H

#include <stdint.h>

#define CR0_WP (1u << 16)   /* write protect: ring 0 obeys read-only pages too */
#define CR0_PG (1u << 31)   /* paging on */
#define CR4_PSE (1u << 4)   /* page size extension: directory entries may map 4 MiB */

static inline uint32_t cpu_read_cr0(void)
{
    uint32_t value;
    __asm__ volatile("mov %%cr0, %0" : "=r"(value));
    return value;
}

/* The linear address of the last page fault. Read it first in a #PF handler. */
static inline uint32_t cpu_read_cr2(void)
{
    uint32_t value;
    __asm__ volatile("mov %%cr2, %0" : "=r"(value));
    return value;
}

static inline uint32_t cpu_read_cr3(void)
{
    uint32_t value;
    __asm__ volatile("mov %%cr3, %0" : "=r"(value));
    return value;
}

static inline uint32_t cpu_read_cr4(void)
{
    uint32_t value;
    __asm__ volatile("mov %%cr4, %0" : "=r"(value));
    return value;
}

/*
 * Turn paging on with `directory` (physical address, page aligned): PSE
 * first so 4 MiB entries mean what they say, then CR3, then CR0.PG with
 * WP. The kernel is identity mapped, so the next instruction's address
 * means the same before and after.
 */
static inline void cpu_enable_paging(uint32_t directory)
{
    __asm__ volatile("mov %0, %%cr4" :: "r"(cpu_read_cr4() | CR4_PSE) : "memory");
    __asm__ volatile("mov %0, %%cr3" :: "r"(directory) : "memory");
    __asm__ volatile("mov %0, %%cr0" :: "r"(cpu_read_cr0() | CR0_PG | CR0_WP) : "memory");
}

/* Forget the TLB's entry for the page holding address (after changing its entry). */
static inline void cpu_invalidate_page(uintptr_t address)
{
    __asm__ volatile("invlpg (%0)" :: "r"(address) : "memory");
}

#endif
