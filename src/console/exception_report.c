/*
 * exception_report.c - print a CPU exception's report: its name, then the
 * registers the stub saved (struct interrupt_frame), four to a line, then
 * whether the kernel recovers or halts. The exception handling itself
 * (fixups, halting) is cpu/exceptions.c's; this file only prints, which is
 * why it lives above cpu/. memory/vm.c adds a page fault's own lines.
 */
#include <stddef.h>
#include "console/exception_report.h"
#include "console/kprintf.h"
#include "console/terminal.h"

#define TITLE_COLOUR  COLOUR(COLOUR_WHITE, COLOUR_RED)
#define DETAIL_COLOUR COLOUR(COLOUR_LIGHT_RED, COLOUR_BLACK)

uint8_t exception_report_title(unsigned vector)
{
    uint8_t colour = terminal_colour();

    terminal_set_colour(TITLE_COLOUR);
    kprintf("EXCEPTION %u: %s", vector, exception_name(vector));
    terminal_set_colour(DETAIL_COLOUR);
    kprintf("\n");             /* so a scroll blanks the next row in the detail colour */
    return colour;
}

void exception_report_registers(const struct interrupt_frame *frame)
{
    kprintf("  error code 0x%08x  eip 0x%08x  cs 0x%04x  eflags 0x%08x\n",
            frame->error_code, frame->eip, frame->cs, frame->eflags);
    kprintf("  eax 0x%08x  ebx 0x%08x  ecx 0x%08x  edx 0x%08x\n",
            frame->eax, frame->ebx, frame->ecx, frame->edx);
    /* PUSHA saved ESP after the CPU and the stub pushed five words. */
    kprintf("  esi 0x%08x  edi 0x%08x  ebp 0x%08x  esp 0x%08x\n",
            frame->esi, frame->edi, frame->ebp, frame->esp_at_entry + 20);
}

void exception_report_outcome(const char *recovered, uint8_t colour)
{
    if (recovered == NULL) {
        kprintf("halted.\n");
        return;
    }
    terminal_set_colour(colour);
    kprintf("recovered: %s\n", recovered);
}

void exception_report(const struct interrupt_frame *frame, const struct exception_fixup *fixup)
{
    uint8_t colour = exception_report_title(frame->vector);

    exception_report_registers(frame);
    exception_report_outcome(fixup != NULL ? fixup->what : NULL, colour);
}
