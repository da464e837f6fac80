/*
 * tests/fuzz/placement/fuzz_constraint.c — the constraint flag parser, and
 * whatever it accepts, through a tiny model and the solver.
 *
 * Input: the flag text (first byte: bit 0 = --prefer). Checks: the parser
 * never reads or writes out of bounds, accepted constraints are well formed,
 * and solving with them returns 0 or SD_EINFEASIBLE with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "placement/placement.h"

#define FUZZ_TEXT_MAX 300 /* bytes of flag text tried */

static struct plc_model *tiny_model(void)
{
	static const char *regions[] = {"eu-west", "us-east", "ap-south"};
	struct plc_model *m = plc_model_new();
	struct plc_label label = {"gpu", "true"};
	char name[16];

	if (!m)
		abort();
	for (int n = 0; n < 4; n++) {
		struct plc_node_spec s = {name, regions[n % 3], n % 2 ? "a" : "b", &label, n % 2, 2,
					  0.1};

		snprintf(name, sizeof(name), "n%d", n);
		if (plc_model_add_node(m, &s) != n)
			abort();
	}
	if (plc_model_add_netfs(m, "fs", "us-east") != 0 || plc_model_add_stage(m, "read") != 0 ||
	    plc_model_add_stage(m, "write_csv") != 1)
		abort();
	for (int t = 0; t < 4; t++)
		if (plc_model_add_task(m, t / 2, t % 2) != t)
			abort();
	if (plc_model_add_source_read(m, 0, 0, 1e6) || plc_model_add_channel(m, 0, 2, 1e6) ||
	    plc_model_add_channel(m, 1, 3, 1e6))
		abort();
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[FUZZ_TEXT_MAX + 1], err[128], buf[PLC_TEXT_MAX];
	struct plc_constraint c;

	if (size < 1)
		return 0;
	bool prefer = data[0] & 1;
	size_t n = size - 1 < FUZZ_TEXT_MAX ? size - 1 : FUZZ_TEXT_MAX;

	memcpy(text, data + 1, n);
	text[n] = '\0';
	int rc = plc_constraint_parse(text, prefer, &c, err, sizeof(err));

	if (rc != 0) {
		if (rc != SD_ESYNTAX || !err[0])
			abort();
		return 0;
	}
	if (c.n_values > PLC_SET_MAX || (prefer && !c.soft) || !memchr(c.stage, 0, PLC_NAME_MAX))
		abort();
	int len = plc_constraint_format(&c, buf, sizeof(buf));

	if (len < 0 || strlen(buf) != ((size_t)len < sizeof(buf) ? (size_t)len : sizeof(buf) - 1))
		abort();
	struct plc_model *m = tiny_model();

	if (plc_model_add_constraint(m, &c) >= 0) {
		struct plc_result r;

		rc = plc_solve(m, &r);
		if (rc != 0 && (rc != SD_EINFEASIBLE || !r.message[0]))
			abort();
		if (rc == 0)
			for (size_t t = 0; t < r.n_tasks; t++)
				if (r.tasks[t].node < 0)
					abort();
		plc_result_free(&r);
	}
	plc_model_free(m);
	return 0;
}
