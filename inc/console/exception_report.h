/*
 * exception_report.h - the report of a CPU exception on the console (screen
 * and serial), for cpu/exceptions.c's exception_on_report hook.
 */
#ifndef SHOMPOS_CONSOLE_EXCEPTION_REPORT_H
#define SHOMPOS_CONSOLE_EXCEPTION_REPORT_H

#include <stdint.h>
#include "cpu/exceptions.h"

/*
 * Print "EXCEPTION <vector>: <name>" in white on red, then the error code,
 * EIP, CS, EFLAGS and the general registers in light red; then "halted."
 * when fixup is NULL, or else, in the colour from before, "recovered: <what>".
 */
void exception_report(const struct interrupt_frame *frame, const struct exception_fixup *fixup);

/* Its three parts, for reports with more to say (memory/vm.c's page faults and double faults). */
uint8_t exception_report_title(unsigned vector);    /* returns the colour from before */
void exception_report_registers(const struct interrupt_frame *frame);
void exception_report_outcome(const char *recovered, uint8_t colour);   /* NULL: "halted." */

#endif
