/*
 * boot.S - the Multiboot header and the kernel's entry point.
 *
 * GRUB finds the header in the first 8 KiB of the image (Multiboot
 * Specification 0.6.96, section 3.1), loads us at 1 MiB in 32-bit protected
 * mode with paging off, and jumps to _start with the magic value in EAX and
 * the physical address of the Multiboot information structure in EBX.
 * This stub only sets up a stack and calls kernel_main; it does not return.
 */
#define MULTIBOOT_MAGIC      0x1BADB002
#define MULTIBOOT_PAGE_ALIGN (1 << 0)   /* load modules on page boundaries */
#define MULTIBOOT_MEMORY     (1 << 1)   /* give us mem_* and the memory map */
#define MULTIBOOT_VIDEO      (1 << 2)   /* the video mode fields below are valid */
#define MULTIBOOT_FLAGS      (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY | MULTIBOOT_VIDEO)

#define STACK_SIZE 16384

.section .multiboot, "a"
.align 4
    .long MULTIBOOT_MAGIC
    .long MULTIBOOT_FLAGS
    .long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)   /* the three add up to zero */
    .long 0, 0, 0, 0, 0                          /* address fields: unused (ELF) */
    /* Preferred video mode: EGA text 80x25. Under BIOS GRUB keeps it; under UEFI,
       where text mode does not exist, it hands over a linear framebuffer. */
    .long 1                                      /* mode_type: 1 = text */
    .long 80                                     /* width */
    .long 25                                     /* height */
    .long 0                                      /* depth: none for text */

/*
 * The kernel stack, with one page below it that paging leaves not present
 * (memory/vm.c): a stack overflow faults on the guard page instead of
 * running silently into whatever lies below. Both are page aligned.
 */
.section .bss.stack, "aw", @nobits
.align 4096
.global stack_guard, stack_bottom, stack_top
stack_guard:
    .skip 4096
stack_bottom:
    .skip STACK_SIZE
stack_top:

.section .text
.global _start
.type _start, @function
_start:
    mov $stack_top, %esp        /* 16-byte aligned, as the System V ABI expects */
    xor %ebp, %ebp              /* frame pointer 0: GDB's backtraces end here */
    push $0                     /* padding: with the two arguments 16 bytes, */
    push $0                     /*   so %esp is 16-byte aligned at the call */
    push %ebx                   /* kernel_main(magic, info) */
    push %eax
    call kernel_main

    /* kernel_main should never return; if it does, stop here for good. */
    cli
halt_forever:
    hlt
    jmp halt_forever
.size _start, . - _start

.section .note.GNU-stack, "", @progbits
