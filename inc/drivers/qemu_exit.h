/*
 * qemu_exit.h - end a QEMU run with a status, through the isa-debug-exit
 * device (-device isa-debug-exit,iobase=0xf4,iosize=0x04). QEMU exits with
 * status (code << 1) | 1. On a real PC port 0xF4 is unused and nothing
 * happens, so callers halt afterwards.
 */
#ifndef SHOMPOS_DRIVERS_QEMU_EXIT_H
#define SHOMPOS_DRIVERS_QEMU_EXIT_H

#include <stdint.h>

#define QEMU_EXIT_PASS 0x10     /* QEMU exits with status 33 */
#define QEMU_EXIT_FAIL 0x11     /* QEMU exits with status 35 */

void qemu_exit(uint8_t code);

#endif
