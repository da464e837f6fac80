/* Unit tests for base/err: the table is consistent and errno maps sanely. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"

static const int all_codes[] = {
#define CODE(name, value, msg) name,
	SD_ERR_TABLE(CODE)
#undef CODE
};

static void test_codes_negative_unique_and_named(void **state)
{
	size_t n = sizeof(all_codes) / sizeof(all_codes[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_true(all_codes[i] < 0);
		assert_string_not_equal(sd_strerror(all_codes[i]), "unknown error");
		assert_string_not_equal(sd_errname(all_codes[i]), "SD_E?");
		for (size_t j = i + 1; j < n; j++)
			assert_int_not_equal(all_codes[i], all_codes[j]);
	}
	assert_string_equal(sd_strerror(0), "success");
	assert_string_equal(sd_errname(SD_ENOENT), "SD_ENOENT");
	assert_string_equal(sd_strerror(-100000), "unknown error");
	assert_string_equal(sd_errname(12345), "SD_E?");
}

static void test_errno_mapping(void **state)
{
	(void)state;
	assert_int_equal(sd_err_from_errno(0), SD_OK);
	assert_int_equal(sd_err_from_errno(ENOENT), SD_ENOENT);
	assert_int_equal(sd_err_from_errno(EAGAIN), SD_EAGAIN);
	assert_int_equal(sd_err_from_errno(ECONNREFUSED), SD_ECONNREFUSED);
	assert_int_equal(sd_err_from_errno(ELOOP), SD_EPATH);
	assert_int_equal(sd_err_from_errno(EPIPE), SD_ECONNRESET);
	/* Anything unmapped is an I/O error, never success. */
	assert_int_equal(sd_err_from_errno(ECHILD), SD_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes_negative_unique_and_named),
		cmocka_unit_test(test_errno_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
