/*
 * node/plat/metal/io.h — x86 port I/O and a few privileged instructions, as
 * inline functions so drivers read like their datasheets.
 */
#ifndef SD_METAL_IO_H
#define SD_METAL_IO_H

#include <stdint.h>

static inline void io_out8(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t io_in8(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void io_out32(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline void cpu_pause(void)
{
	__asm__ volatile("pause");
}

_Noreturn static inline void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif /* SD_METAL_IO_H */
