/*
 * fuzz_input.h - a fuzzer's input read front to back as bytes and big-endian
 * numbers, zeros once it runs out (so every input, however short, decodes).
 * Shared by the heap fuzzer (tests/heap/fuzz.c) and the slab fuzzer
 * (tests/slab/fuzz.c).
 */
#ifndef SHOMPOS_TESTS_LIB_FUZZ_INPUT_H
#define SHOMPOS_TESTS_LIB_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
    const uint8_t *data;
    size_t size, at;
};

static inline uint8_t input_byte(struct input *in)
{
    return in->at < in->size ? in->data[in->at++] : 0;
}

static inline uint16_t input_u16(struct input *in)
{
    uint16_t high = input_byte(in);

    return (uint16_t)(high << 8 | input_byte(in));
}

static inline uint32_t input_u32(struct input *in)
{
    uint32_t high = input_u16(in);

    return high << 16 | input_u16(in);
}

#endif
