/*
 * kprintf.c - a small printf for the kernel (a subset of ISO C11 7.21.6.1):
 * %s %c %d %i %u %x %X %p %%, a field width, '-' to align left, '0' to pad
 * with zeros, and the size prefixes l, ll and z. No floating point, no
 * precision. kprintf writes to the terminal; ksnprintf to a buffer.
 * Each has a va_list twin (kvprintf, kvsnprintf).
 */
#include <stdbool.h>
#include <stdint.h>
#include "console/kprintf.h"
#include "console/terminal.h"

/* Where formatted characters go: the terminal, or a bounded buffer. */
struct sink {
    char *buf;              /* NULL: the terminal */
    size_t size, length;
};

struct conversion {
    unsigned width;
    bool left, zero;
    char size;              /* 0, 'l', 'L' (ll) or 'z' */
};

static void sink_put(struct sink *out, char c)
{
    if (out->buf == NULL)
        terminal_putchar(c);
    else if (out->length + 1 < out->size)
        out->buf[out->length] = c;
    out->length++;
}

static void sink_field(struct sink *out, const char *text, size_t length,
                       const struct conversion *conv, bool negative)
{
    size_t used = length + negative;
    size_t pad = conv->width > used ? conv->width - used : 0;

    if (!conv->left && !conv->zero)
        for (; pad; pad--) sink_put(out, ' ');
    if (negative)
        sink_put(out, '-');
    if (!conv->left)
        for (; pad; pad--) sink_put(out, '0');
    for (size_t i = 0; i < length; i++)
        sink_put(out, text[i]);
    for (; pad; pad--) sink_put(out, ' ');
}

static void sink_number(struct sink *out, uint64_t value, unsigned base, bool upper,
                        bool negative, const struct conversion *conv)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char text[24];
    size_t length = sizeof(text);

    do {
        text[--length] = digits[value % base];
        value /= base;
    } while (value != 0);
    sink_field(out, text + length, sizeof(text) - length, conv, negative);
}

static uint64_t argument_unsigned(va_list *args, char size)
{
    switch (size) {
    case 'l': return va_arg(*args, unsigned long);
    case 'L': return va_arg(*args, unsigned long long);
    case 'z': return va_arg(*args, size_t);
    default:  return va_arg(*args, unsigned int);
    }
}

static int64_t argument_signed(va_list *args, char size)
{
    switch (size) {
    case 'l': return va_arg(*args, long);
    case 'L': return va_arg(*args, long long);
    case 'z': return (int64_t)va_arg(*args, size_t);
    default:  return va_arg(*args, int);
    }
}

/* Read flags, width and size prefix after '%'; returns the conversion letter's position. */
static const char *parse_conversion(const char *f, struct conversion *conv)
{
    *conv = (struct conversion){0};
    for (;; f++) {
        if (*f == '-') conv->left = true;
        else if (*f == '0') conv->zero = true;
        else break;
    }
    for (; *f >= '0' && *f <= '9'; f++)
        conv->width = conv->width * 10 + (unsigned)(*f - '0');
    if (*f == 'z') {
        conv->size = 'z', f++;
    } else if (*f == 'l') {
        conv->size = 'l', f++;
        if (*f == 'l')
            conv->size = 'L', f++;
    }
    return f;
}

static void format_one(struct sink *out, char letter, const struct conversion *conv, va_list *args)
{
    switch (letter) {
    case 'd': case 'i': {
        int64_t value = argument_signed(args, conv->size);
        uint64_t magnitude = value < 0 ? -(uint64_t)value : (uint64_t)value;
        sink_number(out, magnitude, 10, false, value < 0, conv);
        break;
    }
    case 'u': sink_number(out, argument_unsigned(args, conv->size), 10, false, false, conv); break;
    case 'x': sink_number(out, argument_unsigned(args, conv->size), 16, false, false, conv); break;
    case 'X': sink_number(out, argument_unsigned(args, conv->size), 16, true, false, conv); break;
    case 'p': {
        struct conversion pointer = { .width = 2 * sizeof(void *), .zero = true };
        sink_put(out, '0'), sink_put(out, 'x');
        sink_number(out, (uintptr_t)va_arg(*args, void *), 16, false, false, &pointer);
        break;
    }
    case 'c': {
        char c = (char)va_arg(*args, int);
        sink_field(out, &c, 1, conv, false);
        break;
    }
    case 's': {
        const char *s = va_arg(*args, const char *);
        size_t length = 0;
        if (s == NULL)
            s = "(null)";
        while (s[length])
            length++;
        sink_field(out, s, length, conv, false);
        break;
    }
    default:        /* %% and anything unknown print themselves */
        sink_put(out, letter);
    }
}

static void format(struct sink *out, const char *f, va_list *args)
{
    struct conversion conv;

    for (; *f != '\0'; f++) {
        if (*f != '%') {
            sink_put(out, *f);
            continue;
        }
        f = parse_conversion(f + 1, &conv);
        if (*f == '\0')
            break;
        format_one(out, *f, &conv, args);
    }
}

void kvprintf(const char *f, va_list args)
{
    struct sink out = { .buf = NULL };
    va_list copy;

    va_copy(copy, args);
    format(&out, f, &copy);
    va_end(copy);
}

void kprintf(const char *f, ...)
{
    va_list args;

    va_start(args, f);
    kvprintf(f, args);
    va_end(args);
}

size_t kvsnprintf(char *buf, size_t size, const char *f, va_list args)
{
    struct sink out = { .buf = buf, .size = size };
    va_list copy;

    va_copy(copy, args);
    format(&out, f, &copy);
    va_end(copy);
    if (size > 0)
        buf[out.length < size ? out.length : size - 1] = '\0';
    return out.length < size ? out.length : (size ? size - 1 : 0);
}

size_t ksnprintf(char *buf, size_t size, const char *f, ...)
{
    va_list args;

    va_start(args, f);
    size_t length = kvsnprintf(buf, size, f, args);
    va_end(args);
    return length;
}
