/*
 * cpu.S - the instructions C cannot express: loading the GDT and IDT, and
 * the entry stubs for the 32 CPU exceptions and the 16 PIC interrupts.
 *
 * Every stub pushes the same frame (struct interrupt_frame in cpu/idt.h):
 * the CPU pushed EFLAGS, CS, EIP (and, for some exceptions, an error code);
 * the stub adds a dummy error code where the CPU gave none, then the vector
 * number, then the common path saves the registers and calls
 * interrupt_dispatch(frame). Intel SDM volume 3, section 6.12.
 */
#define KERNEL_CODE 0x08
#define KERNEL_DATA 0x10

.section .text

/* void gdt_load(const struct gdt_pointer *pointer) */
.global gdt_load
gdt_load:
    mov 4(%esp), %eax
    lgdt (%eax)
    mov $KERNEL_DATA, %ax       /* reload every data segment register ... */
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    ljmp $KERNEL_CODE, $1f      /* ... and CS, which only a far jump can change */
1:  ret

/* void idt_load(const struct idt_pointer *pointer) */
.global idt_load
idt_load:
    mov 4(%esp), %eax
    lidt (%eax)
    ret

/* One stub per vector. Exceptions 8, 10-14, 17, 21, 29 and 30 come with an
   error code from the CPU; the others get a 0 so every frame looks alike. */
.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31, \
             32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
interrupt_stub_\vector:
    .if !(\vector == 8 || (\vector >= 10 && \vector <= 14) || \vector == 17 || \vector == 21 || \vector == 29 || \vector == 30)
    push $0
    .endif
    push $\vector
    jmp interrupt_common
.endr

interrupt_common:
    pusha                       /* eax, ecx, edx, ebx, esp, ebp, esi, edi */
    mov %ds, %eax
    push %eax
    mov $KERNEL_DATA, %ax
    mov %ax, %ds
    mov %ax, %es
    cld                         /* the C ABI expects the direction flag clear */
    push %esp                   /* interrupt_dispatch(frame) */
    call interrupt_dispatch
    add $4, %esp
    pop %eax
    mov %ax, %ds
    mov %ax, %es
    popa
    add $8, %esp                /* drop the vector and the error code */
    iret

/*
 * The double-fault task starts here (cpu/tss.c). The CPU pushed the error
 * code (always 0) on this task's own stack; drop it, let C report and
 * rewrite the kernel task, then IRET: NT is set, so IRET switches back to
 * the kernel task instead of returning. The next double fault resumes this
 * task after its IRET, at the jmp, and starts over with the stack as now.
 */
.global double_fault_entry
double_fault_entry:
    add $4, %esp
    call double_fault_handle
    iret
    jmp double_fault_entry

/* The stubs' addresses, indexed by vector, for idt.c. */
.section .rodata
.global interrupt_stubs
.align 4
interrupt_stubs:
.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31, \
             32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    .long interrupt_stub_\vector
.endr

.section .note.GNU-stack, "", @progbits
