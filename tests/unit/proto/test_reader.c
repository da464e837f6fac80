/*
 * Unit tests for the wire_reader stream reassembly: frames split at every
 * byte, several frames per read, hostile headers that must not grow the
 * buffer, sticky errors, and the buffer shrinking back after a big frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "wire_test_util.h"

static uint8_t stream[1 << 20];

/* Appends a Batch frame with an attachment of attach_len bytes. */
static size_t put_batch(uint8_t *out, size_t cap, uint64_t seq, size_t attach_len)
{
	static uint8_t payload[600000];
	Sd__Data__Batch b = SD__DATA__BATCH__INIT;
	long n;

	for (size_t i = 0; i < attach_len; i++)
		payload[i] = (uint8_t)(seq + i);
	b.channel_id = 7;
	b.seq = seq;
	b.record_count = (uint32_t)attach_len;
	n = wire_encode(WIRE_DATA_BATCH, &b.base, payload, attach_len, out, cap);
	assert_true(n > 0);
	return (size_t)n;
}

static void check_batch(const struct wire_frame *f, uint64_t seq, size_t attach_len)
{
	assert_int_equal(f->hdr.type, WIRE_DATA_BATCH);
	assert_int_equal(((Sd__Data__Batch *)f->msg)->seq, seq);
	assert_int_equal(f->attach_len, attach_len);
	for (size_t i = 0; i < attach_len; i++)
		assert_int_equal(f->attach[i], (uint8_t)(seq + i));
}

static void test_byte_by_byte(void **state)
{
	struct wire_reader r;
	struct wire_frame f;
	size_t len = 0, got = 0;

	(void)state;
	for (uint64_t s = 0; s < 5; s++)
		len += put_batch(stream + len, sizeof(stream) - len, s, 100 * s);
	assert_int_equal(wire_reader_init(&r, WIRE_FRAME_MAX), 0);
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(wire_reader_feed(&r, stream + i, 1), 0);
		int rc;
		while ((rc = wire_reader_next(&r, NULL, &f)) == 0) {
			check_batch(&f, got, 100 * got);
			wire_frame_release(&f, NULL);
			got++;
		}
		assert_int_equal(rc, SD_EAGAIN);
	}
	assert_int_equal(got, 5);
	wire_reader_fini(&r);
}

static void test_fresh_reader_wants_bytes(void **state)
{
	struct wire_reader r;
	struct wire_frame f;

	(void)state;
	assert_int_equal(wire_reader_init(&r, WIRE_FRAME_MAX), 0);
	assert_int_equal(wire_reader_next(&r, NULL, &f), SD_EAGAIN);
	assert_null(f.msg);
	wire_reader_fini(&r);
}

static void test_many_frames_in_one_read(void **state)
{
	struct wire_reader r;
	struct wire_frame f;
	size_t len = 0;

	(void)state;
	for (uint64_t s = 0; s < 200; s++)
		len += put_batch(stream + len, sizeof(stream) - len, s, s % 17);
	assert_int_equal(wire_reader_init(&r, WIRE_FRAME_MAX), 0);
	assert_int_equal(wire_reader_feed(&r, stream, len), 0);
	for (uint64_t s = 0; s < 200; s++) {
		assert_int_equal(wire_reader_next(&r, NULL, &f), 0);
		check_batch(&f, s, s % 17);
		wire_frame_release(&f, NULL);
	}
	assert_int_equal(wire_reader_next(&r, NULL, &f), SD_EAGAIN);
	wire_reader_fini(&r);
}

static void test_hostile_header_does_not_grow_buffer(void **state)
{
	struct wire_reader r;
	struct wire_frame f;
	uint8_t *where;
	size_t avail;
	size_t n = put_batch(stream, sizeof(stream), 1, 10);

	(void)state;
	(void)n;
	stream[8] = 0x7f; /* body length ~2 GiB */
	assert_int_equal(wire_reader_init(&r, WIRE_CONTROL_FRAME_MAX), 0);
	assert_int_equal(wire_reader_feed(&r, stream, WIRE_HEADER_SIZE), 0);
	assert_int_equal(wire_reader_next(&r, NULL, &f), SD_ETOOBIG);
	assert_true(r.cap <= WIRE_READER_MIN_BUF);
	/* The error is sticky: the stream is out of sync for good. */
	assert_int_equal(wire_reader_space(&r, &where, &avail), SD_ETOOBIG);
	assert_int_equal(wire_reader_next(&r, NULL, &f), SD_ETOOBIG);
	wire_reader_fini(&r);
}

static void test_bad_version_mid_stream(void **state)
{
	struct wire_reader r;
	struct wire_frame f;
	size_t a = put_batch(stream, sizeof(stream), 0, 3);
	size_t b = put_batch(stream + a, sizeof(stream) - a, 1, 3);

	(void)state;
	stream[a + 2] = 9; /* second frame: version 9 */
	assert_int_equal(wire_reader_init(&r, WIRE_FRAME_MAX), 0);
	assert_int_equal(wire_reader_feed(&r, stream, a + b), 0);
	assert_int_equal(wire_reader_next(&r, NULL, &f), 0);
	check_batch(&f, 0, 3);
	wire_frame_release(&f, NULL);
	assert_int_equal(wire_reader_next(&r, NULL, &f), SD_EVERSION);
	wire_reader_fini(&r);
}

static void test_big_frame_then_shrink(void **state)
{
	struct wire_reader r;
	struct wire_frame f;
	uint8_t *where;
	size_t avail;
	size_t n = put_batch(stream, sizeof(stream), 3, 500000);

	(void)state;
	assert_int_equal(wire_reader_init(&r, WIRE_FRAME_MAX), 0);
	/* Feed in uneven pieces, as recv() would. */
	for (size_t off = 0; off < n;) {
		size_t k = (n - off) < 7777 ? (n - off) : 7777;
		assert_int_equal(wire_reader_feed(&r, stream + off, k), 0);
		off += k;
	}
	assert_true(r.cap >= n);
	assert_int_equal(wire_reader_next(&r, NULL, &f), 0);
	check_batch(&f, 3, 500000);
	wire_frame_release(&f, NULL);
	assert_int_equal(wire_reader_space(&r, &where, &avail), 0);
	assert_true(r.cap <= WIRE_READER_MIN_BUF);
	wire_reader_fini(&r);
}

static void test_limit_below_frame(void **state)
{
	struct wire_reader r;
	struct wire_frame f;
	size_t n = put_batch(stream, sizeof(stream), 0, 5000);

	(void)state;
	assert_int_equal(wire_reader_init(&r, 4096), 0);
	assert_int_equal(wire_reader_feed(&r, stream, WIRE_HEADER_SIZE), 0);
	assert_int_equal(wire_reader_next(&r, NULL, &f), SD_ETOOBIG);
	wire_reader_fini(&r);
	assert_int_equal(wire_reader_init(&r, n), 0);
	assert_int_equal(wire_reader_feed(&r, stream, n), 0);
	assert_int_equal(wire_reader_next(&r, NULL, &f), 0);
	wire_frame_release(&f, NULL);
	wire_reader_fini(&r);
	assert_int_equal(wire_reader_init(&r, 8), SD_EINVAL);
	assert_int_equal(wire_reader_init(&r, (size_t)WIRE_FRAME_MAX + 1), SD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_reader_wants_bytes),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_many_frames_in_one_read),
		cmocka_unit_test(test_hostile_header_does_not_grow_buffer),
		cmocka_unit_test(test_bad_version_mid_stream),
		cmocka_unit_test(test_big_frame_then_shrink),
		cmocka_unit_test(test_limit_below_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
