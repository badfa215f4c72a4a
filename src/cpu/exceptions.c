/*
 * exceptions.c - report CPU exceptions (Intel SDM volume 3, table 6-1).
 * Each report names the exception and shows the error code, EIP, CS,
 * EFLAGS and the general registers. Unless a fixup covers the faulting
 * instruction the kernel then halts with interrupts off: a hlt loop, so the
 * report stays readable and the machine neither reboots nor triple-faults.
 */
#include <stddef.h>
#include "cpu/exceptions.h"
#include "console/kprintf.h"
#include "console/terminal.h"
#include "drivers/cpu.h"

static const char *const exception_names[IDT_EXCEPTIONS] = {
    [0] = "divide error (#DE)",          [1] = "debug (#DB)",
    [2] = "non-maskable interrupt",      [3] = "breakpoint (#BP)",
    [4] = "overflow (#OF)",              [5] = "bound range exceeded (#BR)",
    [6] = "invalid opcode (#UD)",        [7] = "device not available (#NM)",
    [8] = "double fault (#DF)",          [9] = "coprocessor segment overrun",
    [10] = "invalid TSS (#TS)",          [11] = "segment not present (#NP)",
    [12] = "stack-segment fault (#SS)",  [13] = "general protection (#GP)",
    [14] = "page fault (#PF)",           [16] = "x87 floating-point error (#MF)",
    [17] = "alignment check (#AC)",      [18] = "machine check (#MC)",
    [19] = "SIMD floating-point (#XM)",  [20] = "virtualization (#VE)",
    [21] = "control protection (#CP)",   [28] = "hypervisor injection (#HV)",
    [29] = "VMM communication (#VC)",    [30] = "security (#SX)",
};

#define MAX_FIXUPS 4
static struct exception_fixup fixups[MAX_FIXUPS];
static unsigned fixup_count;

const char *exception_name(unsigned vector)
{
    if (vector < IDT_EXCEPTIONS && exception_names[vector] != NULL)
        return exception_names[vector];
    return "reserved";
}

int exception_register_fixup(const struct exception_fixup *fixup)
{
    if (fixup_count == MAX_FIXUPS)
        return -1;
    fixups[fixup_count++] = *fixup;
    return 0;
}

static const struct exception_fixup *exception_find_fixup(const struct interrupt_frame *frame)
{
    for (unsigned i = 0; i < fixup_count; i++)
        if (fixups[i].vector == frame->vector && fixups[i].fault_eip == frame->eip)
            return &fixups[i];
    return NULL;
}

static void exception_report(const struct interrupt_frame *frame)
{
    terminal_set_colour(COLOUR(COLOUR_WHITE, COLOUR_RED));
    kprintf("EXCEPTION %u: %s\n", frame->vector, exception_name(frame->vector));
    terminal_set_colour(COLOUR(COLOUR_LIGHT_RED, COLOUR_BLACK));
    kprintf("  error code 0x%08x  eip 0x%08x  cs 0x%04x  eflags 0x%08x\n",
            frame->error_code, frame->eip, frame->cs, frame->eflags);
    kprintf("  eax 0x%08x  ebx 0x%08x  ecx 0x%08x  edx 0x%08x\n",
            frame->eax, frame->ebx, frame->ecx, frame->edx);
    /* PUSHA saved ESP after the CPU and the stub pushed five words. */
    kprintf("  esi 0x%08x  edi 0x%08x  ebp 0x%08x  esp 0x%08x\n",
            frame->esi, frame->edi, frame->ebp, frame->esp_at_entry + 20);
}

void exception_handle(struct interrupt_frame *frame)
{
    uint8_t colour = terminal_colour();
    const struct exception_fixup *fixup = exception_find_fixup(frame);

    exception_report(frame);
    if (fixup == NULL) {
        kprintf("halted.\n");
        cpu_stop();
    }
    terminal_set_colour(colour);
    kprintf("recovered: %s\n", fixup->what);
    frame->eip = fixup->resume_eip;
}
