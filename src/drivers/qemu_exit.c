/*
 * qemu_exit.c - write an exit code to QEMU's isa-debug-exit port. Tests use
 * it to end a headless run with a pass or fail status (the blog_os testing
 * approach). Harmless on real hardware, where nothing listens at 0xF4.
 */
#include "drivers/qemu_exit.h"
#include "cpu/port.h"

#define DEBUG_EXIT_PORT 0xF4

void qemu_exit(uint8_t code)
{
    outb(DEBUG_EXIT_PORT, code);
}
