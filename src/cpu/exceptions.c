/*
 * exceptions.c - handle CPU exceptions (Intel SDM volume 3, table 6-1):
 * name them, have the report printed through the exception_on_report hook,
 * then recover if a fixup covers the faulting instruction or else halt with
 * interrupts off: a hlt loop, so the report stays readable and the machine
 * neither reboots nor triple-faults. No printing here: cpu/ sits below the
 * console.
 */
#include <stddef.h>
#include "cpu/exceptions.h"
#include "cpu/cpu.h"

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
static exception_report_fn reporter;

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

void exception_on_report(exception_report_fn report)
{
    reporter = report;
}

static const struct exception_fixup *exception_find_fixup(const struct interrupt_frame *frame)
{
    for (unsigned i = 0; i < fixup_count; i++)
        if (fixups[i].vector == frame->vector && fixups[i].fault_eip == frame->eip)
            return &fixups[i];
    return NULL;
}

void exception_handle(struct interrupt_frame *frame)
{
    const struct exception_fixup *fixup = exception_find_fixup(frame);

    if (reporter != NULL)
        reporter(frame, fixup);
    if (fixup == NULL)
        cpu_stop();
    frame->eip = fixup->resume_eip;
}
