/*
 * kprintf.h - formatted output to the terminal (and so to serial), or into
 * a buffer. Conversions: %s %c %d %i %u %x %X %p %%, with a field width,
 * '-' for left alignment and '0' for zero padding; the size prefixes l, ll
 * and z. No floating point, no precision; an unknown conversion prints its
 * letter.
 */
#ifndef SHOMPOS_CONSOLE_KPRINTF_H
#define SHOMPOS_CONSOLE_KPRINTF_H

#include <stdarg.h>
#include <stddef.h>

void kprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *format, va_list args);

/* Format into buf (always terminated, cut to size - 1 characters); returns the length written. */
size_t ksnprintf(char *buf, size_t size, const char *format, ...) __attribute__((format(printf, 3, 4)));
size_t kvsnprintf(char *buf, size_t size, const char *format, va_list args);

#endif
