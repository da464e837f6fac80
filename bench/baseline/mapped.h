/*
 * bench/baseline/mapped.h — map a whole input file read-only for the C baselines.
 *
 * mapped_open() maps FILE (MAP_POPULATE: the page cache is already warm, so
 * this only builds page tables) and returns its bytes; mapped_close() unmaps.
 * An empty file gives len 0 and data NULL. Errors are printed with the path.
 */
#ifndef SD_BENCH_BASELINE_MAPPED_H
#define SD_BENCH_BASELINE_MAPPED_H

#include <stddef.h>

struct mapped {
	const char *data; /* owned mapping, len bytes */
	size_t len;
};

int mapped_open(struct mapped *m, const char *path);
void mapped_close(struct mapped *m);

/* Output buffer for the results: grows by doubling; written with one write(). */
struct outbuf {
	char *p;
	size_t len, cap;
};

void outbuf_put(struct outbuf *o, const char *s, size_t n);
void outbuf_u64(struct outbuf *o, unsigned long long v);
int outbuf_flush(struct outbuf *o, const char *path); /* "-" = stdout; frees o */

#endif
