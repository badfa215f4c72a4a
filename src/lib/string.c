/*
 * string.c - memset, memcpy, memmove, memcmp, strlen and strncmp as
 * ISO C11 section 7.24 defines them. Byte at a time: simple and correct,
 * not tuned for speed.
 */
#include <stdint.h>
#include "lib/string.h"

void *memset(void *dest, int value, size_t count)
{
    unsigned char *d = dest;
    while (count--)
        *d++ = (unsigned char)value;
    return dest;
}

void *memcpy(void *dest, const void *src, size_t count)
{
    unsigned char *d = dest;
    const unsigned char *s = src;
    while (count--)
        *d++ = *s++;
    return dest;
}

/* Copies correctly when the two areas overlap: backwards when dest is above src. */
void *memmove(void *dest, const void *src, size_t count)
{
    unsigned char *d = dest;
    const unsigned char *s = src;
    if ((uintptr_t)d <= (uintptr_t)s)
        return memcpy(dest, src, count);
    while (count--)
        d[count] = s[count];
    return dest;
}

int memcmp(const void *a, const void *b, size_t count)
{
    const unsigned char *x = a, *y = b;
    for (; count; count--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t length = 0;
    while (s[length])
        length++;
    return length;
}

int strncmp(const char *a, const char *b, size_t count)
{
    for (; count; count--, a++, b++)
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    return 0;
}
