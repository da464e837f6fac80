/*
 * tests/unit/coordinator/test_cli_render.c — the CLI's tables say what the
 * API's JSON says: durations cut (never rounded up) to their unit, and a
 * job's stages show current and average rates, late and bad records and
 * the watermark ("end of input" once every input ended).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "coordinator/cli.h"

static void expect_duration(double ms, const char *want)
{
	char out[32];
	cli_fmt_duration(ms, out, sizeof(out));
	if (strcmp(out, want))
		fail_msg("%.1f ms: got \"%s\", want \"%s\"", ms, out, want);
}

static void test_durations(void **state)
{
	(void)state;
	expect_duration(230840, "3m50s"); /* issue 15: printed as 4m50s */
	expect_duration(0, "0ms");
	expect_duration(999.9, "999ms");
	expect_duration(1000, "1.0s");
	expect_duration(59999, "59.9s");
	expect_duration(60000, "1m00s");
	expect_duration(119999, "1m59s");
	expect_duration(3599999, "59m59s");
	expect_duration(3600000 + 5 * 60000 + 59999, "1h05m");
	expect_duration(-5, "0ms");
}

/* Runs render with stdout sent to a file; returns what it printed (owned). */
static char *capture(int (*render)(const char *), const char *json, int *rc)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), STDOUT_FILENO) >= 0);
	*rc = render(json);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	long n = ftell(f);
	assert_true(n >= 0);
	char *text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	rewind(f);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

/* The line of the stages table whose first word is id. */
static const char *stage_line(const char *text, const char *id, char *line, size_t cap)
{
	const char *p = strstr(text, "\nID ");
	assert_non_null(p);
	for (p = strchr(p + 1, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
		const char *e = strchr(p + 1, '\n');
		size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);
		if (!strncmp(p + 1, id, strlen(id)) && p[1 + strlen(id)] == ' ') {
			snprintf(line, cap, "%.*s", (int)n, p + 1);
			return line;
		}
	}
	fail_msg("no stage %s in:\n%s", id, text);
	return NULL;
}

static void test_job_table(void **state)
{
	(void)state;
	const char *json =
		"{\"id\":\"abc\",\"name\":\"clicks\",\"state\":\"RUNNING\",\"duration_ms\":230840,"
		"\"failure\":null,\"vertices\":["
		"{\"id\":0,\"name\":\"read_csv\",\"parallelism\":2,\"state\":\"FINISHED\","
		"\"metrics\":{\"records_in\":1000,\"records_out\":993,\"records_out_per_s\":0,"
		"\"records_out_per_s_avg\":4321,\"late_records\":0,\"bad_records\":7,"
		"\"backpressure_level\":\"ok\",\"watermark_end\":true,\"watermark_ms\":null,"
		"\"watermark_lag_ms\":null},\"tasks\":[]},"
		"{\"id\":1,\"name\":\"window\",\"parallelism\":1,\"state\":\"RUNNING\","
		"\"metrics\":{\"records_in\":993,\"records_out\":12,\"records_out_per_s\":250,"
		"\"records_out_per_s_avg\":3,\"late_records\":41,\"bad_records\":0,"
		"\"backpressure_level\":\"low\",\"watermark_end\":false,"
		"\"watermark_ms\":1000,\"watermark_lag_ms\":2500},\"tasks\":[]}]}";
	int rc;
	char *out = capture(cli_render_job, json, &rc);
	char line[512];
	assert_int_equal(rc, CLI_EXIT_OK);
	assert_non_null(strstr(out, "RUNNING after 3m50s"));
	assert_non_null(strstr(out, "LATE"));
	assert_non_null(strstr(out, "BAD"));
	stage_line(out, "0", line, sizeof(line));
	assert_non_null(strstr(line, "end of input"));
	assert_non_null(strstr(line, " 4321 ")); /* the average */
	assert_non_null(strstr(line, " 7 "));    /* bad records */
	stage_line(out, "1", line, sizeof(line));
	assert_non_null(strstr(line, " 250 ")); /* the current rate */
	assert_non_null(strstr(line, " 41 "));  /* late records */
	assert_non_null(strstr(line, "2.5s"));  /* the watermark's lag */
	assert_null(strstr(line, "end of input"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_job_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
