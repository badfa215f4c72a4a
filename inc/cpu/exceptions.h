/*
 * exceptions.h - what happens when the CPU raises one of its 32 exceptions:
 * a report, then either a documented recovery (see exception_fixup) or a
 * safe halt. Never a triple fault, never a reboot. The report itself is
 * printed by whoever exception_on_report names (console/exception_report.c),
 * because printing belongs to a layer above cpu/.
 */
#ifndef SHOMPOS_CPU_EXCEPTIONS_H
#define SHOMPOS_CPU_EXCEPTIONS_H

#include <stdint.h>
#include "cpu/idt.h"

/* Report the exception in frame and recover or halt. */
void exception_handle(struct interrupt_frame *frame);

/* The exception's name ("divide error"), or "reserved". */
const char *exception_name(unsigned vector);

/*
 * A place where the kernel faults on purpose: when exception `vector`
 * happens at fault_eip, execution resumes at resume_eip instead of halting.
 * (The same idea as Linux's exception tables.)
 */
struct exception_fixup {
    unsigned vector;
    uintptr_t fault_eip, resume_eip;
    const char *what;       /* printed after the report */
};

/* Register a fixup; at most a few exist. Returns 0 on success. */
int exception_register_fixup(const struct exception_fixup *fixup);

/*
 * Prints the report of an exception: fixup is the one that covers the
 * faulting instruction, or NULL when the CPU halts as soon as it returns.
 * Called with interrupts off, from the exception itself.
 */
typedef void (*exception_report_fn)(const struct interrupt_frame *frame,
                                    const struct exception_fixup *fixup);

/* Who prints exception reports (NULL, the start: nobody; the CPU still halts or recovers). */
void exception_on_report(exception_report_fn report);

#endif
