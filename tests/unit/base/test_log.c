/* Unit tests for base/log: levels filter, sinks receive whole lines, long
 * lines are cut and marked instead of overflowing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"

struct captured {
	int calls;
	enum sd_log_level level;
	char who[32];
	char line[SD_LOG_LINE_MAX];
};

static void capture_sink(void *arg, enum sd_log_level level, const char *who, const char *line)
{
	struct captured *c = arg;

	c->calls++;
	c->level = level;
	strncpy(c->who, who, sizeof(c->who) - 1);
	strncpy(c->line, line, sizeof(c->line) - 1);
}

static void test_levels_and_sink(void **state)
{
	struct captured c = {0};

	(void)state;
	sd_log_set_sink(capture_sink, &c);
	sd_log_set_level(SD_LOG_WARN);
	sd_log_info("t", "dropped %d", 1);
	assert_int_equal(c.calls, 0);
	sd_log_error("netfsd", "path %s: %s", "a/../b", sd_strerror(SD_EPATH));
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.level, SD_LOG_ERROR);
	assert_string_equal(c.who, "netfsd");
	assert_non_null(strstr(c.line, "a/../b"));
	sd_log_set_sink(NULL, NULL);
	sd_log_set_level(SD_LOG_INFO);
}

static void test_long_line_is_cut(void **state)
{
	static char big[3 * SD_LOG_LINE_MAX];
	struct captured c = {0};

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	sd_log_set_sink(capture_sink, &c);
	sd_log_error("t", "%s", big);
	assert_int_equal(c.calls, 1);
	assert_int_equal(strlen(c.line), SD_LOG_LINE_MAX - 2);
	assert_string_equal(c.line + strlen(c.line) - 3, "...");
	sd_log_set_sink(NULL, NULL);
}

static void test_parse_level(void **state)
{
	enum sd_log_level l;

	(void)state;
	assert_int_equal(sd_log_parse_level("debug", &l), 0);
	assert_int_equal(l, SD_LOG_DEBUG);
	assert_int_equal(sd_log_parse_level("loud", &l), SD_EINVAL);
	assert_string_equal(sd_log_level_name(SD_LOG_WARN), "warn");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels_and_sink),
		cmocka_unit_test(test_long_line_is_cut),
		cmocka_unit_test(test_parse_level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
