/*
 * node/plat/metal/pvh.h — what the loader tells us at a PVH entry.
 *
 * The PVH boot protocol (Xen's arch-x86/hvm/start_info.h, used by QEMU's
 * -kernel for ELF images with a XEN_ELFNOTE_PHYS32_ENTRY note) enters in 32-bit
 * protected mode without paging, with %ebx holding the physical address of an
 * hvm_start_info. boot.S hands that address to boot_main(); these helpers
 * read the command line and the memory map out of it. All addresses are
 * physical, which is also virtual: the image runs identity-mapped.
 */
#ifndef SD_METAL_PVH_H
#define SD_METAL_PVH_H

#include <stddef.h>
#include <stdint.h>

#define PVH_START_MAGIC 0x336ec578u /* hvm_start_info.magic */
#define PVH_MEMMAP_RAM  1u          /* e820 type of usable RAM */

struct pvh_start_info {
	uint32_t magic;
	uint32_t version; /* 0 or 1; memmap fields exist from version 1 */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr; /* NUL-terminated, 0 when none */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* array of struct pvh_memmap_entry */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Validates the start info (magic); returns it or NULL. Borrows: loader memory. */
const struct pvh_start_info *pvh_start_info(uint32_t paddr);

/* The kernel command line, "" when the loader gave none. */
const char *pvh_cmdline(const struct pvh_start_info *si);

/*
 * The usable RAM above the image: from the end of the image (rounded up to a
 * page) to the end of the RAM range that holds it. Returns 0 or SD_ENOMEM.
 */
int pvh_free_ram(const struct pvh_start_info *si, uintptr_t image_end, uintptr_t *base,
		 size_t *len);

/* Total bytes of usable RAM in the memory map. */
uint64_t pvh_ram_bytes(const struct pvh_start_info *si);

#endif /* SD_METAL_PVH_H */
