/* Unit tests for base/parse: sizes and host:port, good and bad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/parse.h"

static void test_sizes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(sd_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(sd_parse_size("256M", &v), 0);
	assert_int_equal(v, 256ull << 20);
	assert_int_equal(sd_parse_size("2g", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(sd_parse_size("16k", &v), 0);
	assert_int_equal(v, 16384);
	assert_int_equal(sd_parse_size("", &v), SD_EINVAL);
	assert_int_equal(sd_parse_size("0", &v), SD_EINVAL);
	assert_int_equal(sd_parse_size("-5M", &v), SD_EINVAL);
	assert_int_equal(sd_parse_size("12MB", &v), SD_EINVAL);
	assert_int_equal(sd_parse_size("M", &v), SD_EINVAL);
	assert_int_equal(sd_parse_size("99999999999999G", &v), SD_EINVAL); /* overflows */
}

static void test_hostports(void **state)
{
	char host[16];
	uint16_t port;

	(void)state;
	assert_int_equal(sd_parse_hostport("10.0.2.2:7000", host, sizeof(host), &port), 0);
	assert_string_equal(host, "10.0.2.2");
	assert_int_equal(port, 7000);
	assert_int_equal(sd_parse_hostport("127.0.0.1:0", host, sizeof(host), &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(sd_parse_hostport(":80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(sd_parse_hostport("nocolon", host, sizeof(host), &port), SD_EINVAL);
	assert_int_equal(sd_parse_hostport("h:65536", host, sizeof(host), &port), SD_EINVAL);
	assert_int_equal(sd_parse_hostport("h:", host, sizeof(host), &port), SD_EINVAL);
	assert_int_equal(sd_parse_hostport("h:-1", host, sizeof(host), &port), SD_EINVAL);
	assert_int_equal(sd_parse_hostport("h:80x", host, sizeof(host), &port), SD_EINVAL);
	assert_int_equal(sd_parse_hostport("a-very-long-host-name:1", host, sizeof(host), &port),
			 SD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_hostports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
