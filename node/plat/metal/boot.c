/*
 * node/plat/metal/boot.c — the image's main: what runs, in order, after
 * boot.S reaches 64-bit mode with a stack and the low 4 GiB identity-mapped.
 *
 * Read it like xv6's main.c: one init per line, each saying what it sets up,
 * in the order their dependencies ask; then the self-checks, the optional
 * test modes (serve= echo= idle=) and, given name=, the node itself.
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"
#include "lwip/init.h"
#include "node/plat/metal/clock.h"
#include "node/plat/metal/cmdline.h"
#include "node/plat/metal/console.h"
#include "node/plat/metal/exit.h"
#include "node/plat/metal/gdt.h"
#include "node/plat/metal/idt.h"
#include "node/plat/metal/irq.h"
#include "node/plat/metal/libc/heap.h"
#include "node/plat/metal/net.h"
#include "node/plat/metal/node_main.h"
#include "node/plat/metal/pvh.h"
#include "node/plat/metal/selftest.h"
#include "node/plat/plat.h"
#include "proto/wire.h"

#define BOOT_OPTION_MAX 32 /* bytes: one command-line value we read here */

extern char __image_start[], __image_end[]; /* link.ld */

_Noreturn void boot_main(uint32_t start_info_paddr);

/* echo_bytes=N: how much echo= sends (0: its default). */
static uint64_t boot_echo_bytes(void)
{
	char value[BOOT_OPTION_MAX];

	return metal_cmdline_get("echo_bytes", value, sizeof(value)) ? strtoull(value, NULL, 10)
								     : 0;
}

static void boot_heap_init(const struct pvh_start_info *si)
{
	uintptr_t base;
	size_t len;

	if (pvh_free_ram(si, (uintptr_t)__image_end, &base, &len) != 0)
		metal_panic("no usable RAM above the image (ends at %p)", (void *)__image_end);
	libc_heap_init((void *)base, len);
}

static void boot_log_level_init(void)
{
	char value[BOOT_OPTION_MAX];
	enum sd_log_level level;

	if (!metal_cmdline_get("loglevel", value, sizeof(value)))
		return;
	if (sd_log_parse_level(value, &level) != 0)
		metal_panic("loglevel=%s: expected debug, info, warn, error or off", value);
	sd_log_set_level(level);
}

/* idle=SECONDS: what an idle node costs the host (measure QEMU's CPU meanwhile). */
static void boot_idle(unsigned long seconds)
{
	uint64_t end = plat_now_us() + seconds * 1000000ull;

	sd_log_info("boot", "idle for %lu s", seconds);
	while (plat_now_us() < end)
		plat_wait(end);
	sd_log_info("boot", "idle done: %llu timer interrupts",
		    (unsigned long long)metal_irq_count(IRQ_VECTOR_TIMER));
}

void boot_main(uint32_t start_info_paddr)
{
	const struct pvh_start_info *si;
	char selftest[BOOT_OPTION_MAX] = "ok", value[BOOT_OPTION_MAX];

	metal_console_init(); /* serial console; base/log.h lines go there */
	metal_gdt_init();     /* GDT and TSS: faults on a broken stack get their own */
	metal_idt_init();     /* CPU exceptions print a report and exit */
	si = pvh_start_info(start_info_paddr);
	if (!si)
		metal_panic("not started through PVH (start info at %#x)", start_info_paddr);
	metal_cmdline_init(pvh_cmdline(si)); /* copy the command line */
	boot_log_level_init();               /* loglevel= */
	boot_heap_init(si);                  /* pages and malloc over the RAM after the image */
	metal_irq_init();                    /* local APIC on, 8259 masked */
	metal_clock_init();                  /* TSC and LAPIC timer calibrated against the PIT */
	metal_console_printf("stardust-node %s: booting (%llu MiB RAM, image %zu KiB, TSC %llu "
			     "MHz, cmdline \"%s\")\n",
			     SD_VERSION_STRING, (unsigned long long)(pvh_ram_bytes(si) >> 20),
			     (size_t)(__image_end - __image_start) >> 10,
			     (unsigned long long)(metal_clock_tsc_hz() / 1000000u),
			     metal_cmdline());
	if (metal_net_init() < 0) /* lwIP; virtio-net as its netif, ip= gw= */
		metal_panic("network start failed");
	plat_init(); /* node/plat/plat.h over all of the above */
	metal_cmdline_get("selftest", selftest, sizeof(selftest));
	metal_selftest_run(selftest, pvh_ram_bytes(si)); /* lwIP, wire, libc; panics on failure */
	if (metal_cmdline_get("serve", value, sizeof(value)))
		metal_selftest_serve(value); /* echo server for another VM's echo= */
	if (metal_cmdline_get("echo", value, sizeof(value)))
		metal_selftest_echo(value, boot_echo_bytes()); /* TCP out and back, echo_bytes= */
	if (metal_cmdline_get("idle", value, sizeof(value)))
		boot_idle(strtoul(value, NULL, 10)); /* the node loop with nothing to do */
	metal_console_printf("stardust-node: boot ok (lwip %s, wire v%u)\n", LWIP_VERSION_STRING,
			     WIRE_VERSION);
	if (metal_node_wanted())
		metal_node_run(); /* name= ...: the node registers and runs until stopped */
	metal_exit(METAL_EXIT_SUCCESS);
}
