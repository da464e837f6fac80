/*
 * sd-bench-gen-events — the W2 input: ad events `ts,ad_id,type` (CSV), deterministic.
 *
 * Usage: sd-bench-gen-events [--events N] [--keys K] [--rate R] [--seed X] OUT
 *   --events  number of events (default 10000000)
 *   --keys    distinct ad ids, 0..K-1, drawn uniformly (default 100)
 *   --rate    events per millisecond of event time (default 10): ts is in
 *             milliseconds from 0 and never decreases
 *   --seed    generator seed (default 2)
 *
 * Each line is `ts,ad_id,type` (CSV without a header, the form every peer and
 * Stardust's read_csv take) with type one of view, click, purchase drawn
 * uniformly (as in the Yahoo streaming benchmark). With the defaults the
 * events span 1,000 s of event time: 100 tumbling 10 s windows x 100 keys.
 * OUT is written whole or not at all (temporary name, then rename).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/gen/rng.h"

#define GEN_OUT_BUF  (1 << 20) /* bytes buffered before each fwrite */
#define GEN_LINE_MAX 64        /* bytes: 20-digit ts, 10-digit key, type */

static const char *const event_types[] = {"view", "click", "purchase"};

static size_t put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static int write_events(FILE *f, uint64_t events, uint64_t keys, uint64_t rate, struct bench_rng *r)
{
	char *buf = malloc(GEN_OUT_BUF);
	if (!buf)
		return -1;
	size_t fill = 0;
	for (uint64_t i = 0; i < events; i++) {
		if (fill + GEN_LINE_MAX > GEN_OUT_BUF) {
			if (fwrite(buf, 1, fill, f) != fill)
				return -1;
			fill = 0;
		}
		const char *type = event_types[bench_rng_below(r, 3)];
		uint64_t ad = bench_rng_below(r, keys);
		fill += put_u64(buf + fill, i / rate);
		buf[fill++] = ',';
		fill += put_u64(buf + fill, ad);
		buf[fill++] = ',';
		size_t tl = strlen(type);
		memcpy(buf + fill, type, tl);
		fill += tl;
		buf[fill++] = '\n';
	}
	if (fill && fwrite(buf, 1, fill, f) != fill)
		return -1;
	free(buf);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: sd-bench-gen-events [--events N] [--keys K] [--rate R] "
			"[--seed X] OUT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t events = 10000000, keys = 100, rate = 10, seed = 2;
	const char *out = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 < argc && strcmp(a, "--events") == 0)
			events = strtoull(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(a, "--keys") == 0)
			keys = strtoull(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(a, "--rate") == 0)
			rate = strtoull(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(a, "--seed") == 0)
			seed = strtoull(argv[++i], NULL, 10);
		else if (a[0] == '-' || out)
			usage();
		else
			out = a;
	}
	if (!out || keys == 0 || rate == 0)
		usage();

	struct bench_rng r;
	bench_rng_seed(&r, seed);
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		fprintf(stderr, "sd-bench-gen-events: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	if (write_events(f, events, keys, rate, &r) != 0 || fclose(f) != 0 ||
	    rename(tmp, out) != 0) {
		fprintf(stderr, "sd-bench-gen-events: %s: %s\n", out, strerror(errno));
		remove(tmp);
		return 1;
	}
	printf("%llu events\n", (unsigned long long)events);
	return 0;
}
