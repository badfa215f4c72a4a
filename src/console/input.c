/*
 * input.c - a single-producer, single-consumer ring buffer of keys.
 * Producers run in interrupt handlers (interrupts off); the consumer is the
 * main loop, which reads `head` once and advances `tail` only, so no lock
 * is needed on one CPU. When full, a new key is dropped, never written over
 * an unread one.
 */
#include "console/input.h"

_Static_assert((INPUT_QUEUE_SIZE & (INPUT_QUEUE_SIZE - 1)) == 0, "queue size must be a power of two");

static uint16_t queue[INPUT_QUEUE_SIZE];
static volatile unsigned head, tail;    /* free-running; head - tail keys are waiting */

void input_push(uint16_t key)
{
    if (head - tail == INPUT_QUEUE_SIZE)
        return;                 /* full: the oldest unread keys win */
    queue[head % INPUT_QUEUE_SIZE] = key;
    head = head + 1;
}

uint16_t input_pop(void)
{
    if (head == tail)
        return KEY_NONE;
    uint16_t key = queue[tail % INPUT_QUEUE_SIZE];
    tail = tail + 1;
    return key;
}

static const char *const special_names[] = {
    [KEY_UP - KEY_UP] = "up", [KEY_DOWN - KEY_UP] = "down",
    [KEY_LEFT - KEY_UP] = "left", [KEY_RIGHT - KEY_UP] = "right",
    [KEY_HOME - KEY_UP] = "home", [KEY_END - KEY_UP] = "end",
    [KEY_PAGE_UP - KEY_UP] = "page up", [KEY_PAGE_DOWN - KEY_UP] = "page down",
    [KEY_INSERT - KEY_UP] = "insert", [KEY_DELETE - KEY_UP] = "delete",
    [KEY_F1 - KEY_UP] = "F1", [KEY_F2 - KEY_UP] = "F2", [KEY_F3 - KEY_UP] = "F3",
    [KEY_F4 - KEY_UP] = "F4", [KEY_F5 - KEY_UP] = "F5", [KEY_F6 - KEY_UP] = "F6",
    [KEY_F7 - KEY_UP] = "F7", [KEY_F8 - KEY_UP] = "F8", [KEY_F9 - KEY_UP] = "F9",
    [KEY_F10 - KEY_UP] = "F10", [KEY_F11 - KEY_UP] = "F11", [KEY_F12 - KEY_UP] = "F12",
};

const char *input_key_name(uint16_t key)
{
    static char printable[2];

    switch (key) {
    case ' ':        return "space";
    case '\n':       return "enter";
    case '\t':       return "tab";
    case '\b':       return "backspace";
    case KEY_ESCAPE: return "escape";
    }
    if (key >= KEY_UP && key <= KEY_F12)
        return special_names[key - KEY_UP];
    if (key > ' ' && key < 127) {
        printable[0] = (char)key;
        return printable;
    }
    return "?";
}
