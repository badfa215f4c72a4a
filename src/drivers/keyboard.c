/*
 * keyboard.c - a PS/2 keyboard driver for scancode set 1, the set the 8042
 * controller translates every keyboard to by default (OSDev "PS/2
 * Keyboard", "8042 PS/2 Controller"). It tracks shift and caps lock, drops
 * key releases, and decodes or skips the E0- and E1-prefixed sequences.
 * The IRQ handler only hands keys on; it never prints. No LEDs, no keymaps
 * other than US, no mouse.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "drivers/keyboard.h"
#include "cpu/port.h"

#define PS2_DATA   0x60         /* read: a byte from the keyboard */
#define PS2_STATUS 0x64
#define   PS2_OUTPUT_FULL 0x01  /*   a byte waits in PS2_DATA */
#define   PS2_FROM_MOUSE  0x20  /*   ... and it came from the second port */

#define SCAN_RELEASE      0x80  /* set on the make code when a key goes up */
#define SCAN_EXTENDED     0xE0  /* next byte is an extended key */
#define SCAN_PAUSE        0xE1  /* Pause: E1 1D 45 E1 9D C5, no release */
#define PAUSE_LENGTH      5     /* bytes after the first E1 */
#define SCAN_LEFT_SHIFT   0x2A
#define SCAN_RIGHT_SHIFT  0x36
#define SCAN_CAPS_LOCK    0x3A

/* Set 1 make codes to keys, without and with shift. 0: not a key we use. */
static const uint16_t scancode_plain[0x59] = {
    [0x01] = KEY_ESCAPE, [0x02] = '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', '\b',
    [0x0F] = '\t', 'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\n',
    [0x1E] = 'a', 's', 'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`',
    [0x2B] = '\\', 'z', 'x', 'c', 'v', 'b', 'n', 'm', ',', '.', '/',
    [0x37] = '*', [0x39] = ' ',
    [0x3B] = KEY_F1, KEY_F2, KEY_F3, KEY_F4, KEY_F5, KEY_F6, KEY_F7, KEY_F8, KEY_F9, KEY_F10,
    [0x47] = '7', '8', '9', '-', '4', '5', '6', '+', '1', '2', '3', '0', '.',   /* keypad */
    [0x57] = KEY_F11, KEY_F12,
};

static const uint16_t scancode_shifted[0x59] = {
    [0x01] = KEY_ESCAPE, [0x02] = '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', '\b',
    [0x0F] = '\t', 'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\n',
    [0x1E] = 'A', 'S', 'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~',
    [0x2B] = '|', 'Z', 'X', 'C', 'V', 'B', 'N', 'M', '<', '>', '?',
    [0x37] = '*', [0x39] = ' ',
    [0x3B] = KEY_F1, KEY_F2, KEY_F3, KEY_F4, KEY_F5, KEY_F6, KEY_F7, KEY_F8, KEY_F9, KEY_F10,
    [0x47] = '7', '8', '9', '-', '4', '5', '6', '+', '1', '2', '3', '0', '.',
    [0x57] = KEY_F11, KEY_F12,
};

/* E0-prefixed make codes we recognise; every other E0 key is ignored. */
static uint16_t scancode_extended(uint8_t code)
{
    switch (code) {
    case 0x48: return KEY_UP;
    case 0x50: return KEY_DOWN;
    case 0x4B: return KEY_LEFT;
    case 0x4D: return KEY_RIGHT;
    case 0x47: return KEY_HOME;
    case 0x4F: return KEY_END;
    case 0x49: return KEY_PAGE_UP;
    case 0x51: return KEY_PAGE_DOWN;
    case 0x52: return KEY_INSERT;
    case 0x53: return KEY_DELETE;
    case 0x1C: return '\n';         /* keypad enter */
    case 0x35: return '/';          /* keypad slash */
    default:   return KEY_NONE;     /* right ctrl/alt, fake shifts of Print Screen, ... */
    }
}

static bool left_shift, right_shift, caps_lock, extended;
static unsigned pause_bytes_left;
static void (*keyboard_on_key)(uint16_t key);

static bool is_letter(uint16_t key)
{
    return (key >= 'a' && key <= 'z') || (key >= 'A' && key <= 'Z');
}

static uint16_t keyboard_translate(uint8_t code)
{
    bool shift = left_shift || right_shift;
    uint16_t key = code < sizeof(scancode_plain) / sizeof(scancode_plain[0])
                 ? (shift ? scancode_shifted : scancode_plain)[code] : KEY_NONE;

    if (caps_lock && is_letter(key))
        key ^= 0x20;        /* caps lock flips the case shift gave */
    return key;
}

/* Returns true when the byte changed modifier state rather than being a key. */
static bool keyboard_track_modifiers(uint8_t code, bool released)
{
    switch (code) {
    case SCAN_LEFT_SHIFT:  left_shift = !released;  return true;
    case SCAN_RIGHT_SHIFT: right_shift = !released; return true;
    case SCAN_CAPS_LOCK:   caps_lock ^= !released;  return true;
    default:               return false;
    }
}

static void keyboard_handle_byte(uint8_t byte)
{
    if (pause_bytes_left > 0) {
        pause_bytes_left--;
        return;
    }
    if (byte == SCAN_PAUSE) {
        pause_bytes_left = PAUSE_LENGTH;
        return;
    }
    if (byte == SCAN_EXTENDED) {
        extended = true;
        return;
    }

    bool released = byte & SCAN_RELEASE;
    uint8_t code = byte & ~SCAN_RELEASE;
    bool was_extended = extended;
    extended = false;

    if (was_extended) {
        if (!released && scancode_extended(code) != KEY_NONE)
            keyboard_on_key(scancode_extended(code));
        return;
    }
    if (keyboard_track_modifiers(code, released) || released)
        return;
    uint16_t key = keyboard_translate(code);
    if (key != KEY_NONE)
        keyboard_on_key(key);
}

void keyboard_interrupt(void)
{
    uint8_t status = inb(PS2_STATUS);

    if (!(status & PS2_OUTPUT_FULL))
        return;                     /* nothing there: a stray interrupt */
    uint8_t byte = inb(PS2_DATA);
    if (!(status & PS2_FROM_MOUSE) && keyboard_on_key != NULL)
        keyboard_handle_byte(byte);
}

#define FLUSH_LIMIT 64             /* the controller buffers at most a few bytes */

void keyboard_init(void (*on_key)(uint16_t key))
{
    for (unsigned i = 0; i < FLUSH_LIMIT && (inb(PS2_STATUS) & PS2_OUTPUT_FULL); i++)
        (void)inb(PS2_DATA);        /* a stale byte would arrive as a key */
    keyboard_on_key = on_key;
}
