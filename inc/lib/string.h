/*
 * string.h - the few C library string functions the kernel uses. GCC and
 * clang may also call memcpy, memmove, memset and memcmp on their own, so
 * a freestanding kernel must provide them.
 */
#ifndef SHOMPOS_LIB_STRING_H
#define SHOMPOS_LIB_STRING_H

#include <stddef.h>

void *memset(void *dest, int value, size_t count);
void *memcpy(void *dest, const void *src, size_t count);
void *memmove(void *dest, const void *src, size_t count);
int memcmp(const void *a, const void *b, size_t count);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t count);

#endif
