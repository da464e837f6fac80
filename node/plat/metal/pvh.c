/*
 * node/plat/metal/pvh.c — reading the PVH start info.
 */
#include "base/err.h"
#include "node/plat/metal/pvh.h"

#define PVH_PAGE 4096u /* bytes */

const struct pvh_start_info *pvh_start_info(uint32_t paddr)
{
	const struct pvh_start_info *si = (const struct pvh_start_info *)(uintptr_t)paddr;

	if (!si || si->magic != PVH_START_MAGIC)
		return NULL;
	return si;
}

const char *pvh_cmdline(const struct pvh_start_info *si)
{
	if (!si->cmdline_paddr)
		return "";
	return (const char *)(uintptr_t)si->cmdline_paddr;
}

static const struct pvh_memmap_entry *pvh_memmap(const struct pvh_start_info *si, uint32_t *n)
{
	*n = si->version >= 1 && si->memmap_paddr ? si->memmap_entries : 0;
	return (const struct pvh_memmap_entry *)(uintptr_t)si->memmap_paddr;
}

int pvh_free_ram(const struct pvh_start_info *si, uintptr_t image_end, uintptr_t *base, size_t *len)
{
	uintptr_t start = (image_end + PVH_PAGE - 1) & ~(uintptr_t)(PVH_PAGE - 1);
	uint32_t n;
	const struct pvh_memmap_entry *map = pvh_memmap(si, &n);

	for (uint32_t i = 0; i < n; i++) {
		uint64_t end = map[i].addr + map[i].size;

		if (map[i].type != PVH_MEMMAP_RAM || map[i].addr > start || end <= start)
			continue;
		*base = start;
		*len = (size_t)(end - start);
		return 0;
	}
	return SD_ENOMEM;
}

uint64_t pvh_ram_bytes(const struct pvh_start_info *si)
{
	uint64_t total = 0;
	uint32_t n;
	const struct pvh_memmap_entry *map = pvh_memmap(si, &n);

	for (uint32_t i = 0; i < n; i++) {
		if (map[i].type == PVH_MEMMAP_RAM)
			total += map[i].size;
	}
	return total;
}
