/*
 * serial.c - a 16550 UART driver for COM1 (National Semiconductor PC16550D
 * datasheet; OSDev "Serial Ports"). Output is polled: each byte waits for
 * the transmit holding register to empty. Input is interrupt-driven: the
 * IRQ 4 handler hands each received byte on. No FIFO tuning, no flow
 * control, no other ports.
 */
#include <stddef.h>
#include <stdint.h>
#include "drivers/serial.h"
#include "cpu/port.h"

#define COM1 0x3F8
#define UART_DATA          (COM1 + 0)   /* read: received byte; write: byte to send */
#define UART_INTERRUPTS    (COM1 + 1)   /*   bit 0: interrupt on received data */
#define UART_DIVISOR_LOW   (COM1 + 0)   /* while LCR bit 7 (DLAB) is set */
#define UART_DIVISOR_HIGH  (COM1 + 1)
#define UART_FIFO          (COM1 + 2)
#define UART_LINE_CONTROL  (COM1 + 3)   /*   bits 0-1: word length; bit 7: DLAB */
#define UART_MODEM_CONTROL (COM1 + 4)   /*   bit 3: OUT2 gates the IRQ line; bit 4: loopback */
#define UART_LINE_STATUS   (COM1 + 5)
#define   LSR_DATA_READY     0x01
#define   LSR_TRANSMIT_EMPTY 0x20

#define BAUD_DIVISOR 1                  /* 115200 / 1 */

static bool serial_present;
static void (*serial_on_byte)(char c);

/* Send a byte through loopback and see it come back: is a UART there? */
static bool serial_loopback_works(void)
{
    outb(UART_MODEM_CONTROL, 0x1E);     /* loopback, OUT1, OUT2, RTS */
    outb(UART_DATA, 0xAE);
    return inb(UART_DATA) == 0xAE;
}

bool serial_init(void)
{
    outb(UART_INTERRUPTS, 0x00);        /* no interrupts while we set up */
    outb(UART_LINE_CONTROL, 0x80);      /* DLAB on: next two ports are the divisor */
    outb(UART_DIVISOR_LOW, BAUD_DIVISOR & 0xFF);
    outb(UART_DIVISOR_HIGH, BAUD_DIVISOR >> 8);
    outb(UART_LINE_CONTROL, 0x03);      /* 8 data bits, no parity, 1 stop bit */
    outb(UART_FIFO, 0xC7);              /* enable and clear FIFOs, 14-byte threshold */
    serial_present = serial_loopback_works();
    outb(UART_MODEM_CONTROL, 0x0B);     /* normal operation: DTR, RTS, OUT2 */
    return serial_present;
}

void serial_putchar(char c)
{
    if (!serial_present)
        return;
    if (c == '\n')
        serial_putchar('\r');
    while (!(inb(UART_LINE_STATUS) & LSR_TRANSMIT_EMPTY))
        ;   /* at 115200 baud a byte takes under 0.1 ms */
    outb(UART_DATA, (uint8_t)c);
}

/* Nothing to do until input is on: with no UART, LSR reads 0xFF and would never drain. */
void serial_interrupt(void)
{
    if (serial_on_byte == NULL)
        return;
    while (inb(UART_LINE_STATUS) & LSR_DATA_READY)
        serial_on_byte((char)inb(UART_DATA));
}

void serial_enable_input(void (*on_byte)(char c))
{
    if (!serial_present)
        return;
    serial_on_byte = on_byte;
    outb(UART_INTERRUPTS, 0x01);        /* interrupt when a byte arrives */
}
