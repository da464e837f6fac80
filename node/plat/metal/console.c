/*
 * node/plat/metal/console.c — 16550 UART driver (transmit only) and the
 * base/log.h sink that prints "level who: line".
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/log.h"
#include "node/plat/metal/console.h"
#include "node/plat/metal/io.h"

/* 16550 registers, offsets from the I/O base. */
#define UART_DATA        0 /* THR on write; divisor low when DLAB */
#define UART_IER         1 /* interrupt enable; divisor high when DLAB */
#define UART_FCR         2 /* FIFO control */
#define UART_LCR         3 /* line control */
#define UART_MCR         4 /* modem control */
#define UART_LSR         5 /* line status */
#define UART_LCR_DLAB    0x80
#define UART_LCR_8N1     0x03
#define UART_FCR_ENABLE  0xc7 /* enable, clear both FIFOs, 14-byte trigger */
#define UART_MCR_DTR_RTS 0x03
#define UART_LSR_THRE    0x20   /* transmit holding register empty */
#define UART_DIVISOR     1      /* 115200 baud from the 1.8432 MHz clock */
#define UART_SPIN_MAX    100000 /* polls before giving up on a stuck UART */

static bool console_ready;

static void uart_putc(char c)
{
	for (int spin = 0; spin < UART_SPIN_MAX; spin++) {
		if (io_in8(METAL_CONSOLE_PORT + UART_LSR) & UART_LSR_THRE)
			break;
		cpu_pause();
	}
	io_out8(METAL_CONSOLE_PORT + UART_DATA, (uint8_t)c);
}

void metal_console_write(const char *s, size_t len)
{
	if (!console_ready)
		return;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

void metal_console_puts(const char *s)
{
	while (*s)
		metal_console_write(s++, 1);
}

void metal_console_printf(const char *fmt, ...)
{
	char line[METAL_CONSOLE_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	metal_console_write(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void console_log_sink(void *arg, enum sd_log_level level, const char *who, const char *line)
{
	(void)arg;
	metal_console_printf("%-5s %s: %s\n", sd_log_level_name(level), who, line);
}

void metal_console_init(void)
{
	io_out8(METAL_CONSOLE_PORT + UART_IER, 0x00); /* polled: no interrupts */
	io_out8(METAL_CONSOLE_PORT + UART_LCR, UART_LCR_DLAB);
	io_out8(METAL_CONSOLE_PORT + UART_DATA, UART_DIVISOR & 0xff);
	io_out8(METAL_CONSOLE_PORT + UART_IER, UART_DIVISOR >> 8);
	io_out8(METAL_CONSOLE_PORT + UART_LCR, UART_LCR_8N1);
	io_out8(METAL_CONSOLE_PORT + UART_FCR, UART_FCR_ENABLE);
	io_out8(METAL_CONSOLE_PORT + UART_MCR, UART_MCR_DTR_RTS);
	console_ready = true;
	sd_log_set_sink(console_log_sink, NULL);
}
