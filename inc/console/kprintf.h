/*
 * kprintf.h - formatted output to the terminal (and so to serial).
 * Conversions: %s %c %d %u %x %p %%, with a field width, '-' for left
 * alignment and '0' for zero padding; 'l' and 'z' size prefixes.
 */
#ifndef SHOMPOS_CONSOLE_KPRINTF_H
#define SHOMPOS_CONSOLE_KPRINTF_H

#include <stdarg.h>
#include <stddef.h>

void kprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *format, va_list args);

/* Format into buf (always terminated); returns the length written. */
size_t ksnprintf(char *buf, size_t size, const char *format, ...) __attribute__((format(printf, 3, 4)));

#endif
