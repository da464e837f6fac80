/*
 * Unit tests for proto/wire.c: encoding and one-shot decoding. Every kind of
 * bad frame — truncated, oversized, wrong version, bad magic, reserved bits,
 * unknown type, corrupt body, trailing bytes, random bytes — gets its own
 * error code and never a crash or an allocation sized by the attacker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "wire_test_util.h"

static uint8_t frame_buf[1 << 16];

static size_t encode_register(uint8_t *out, size_t cap)
{
	Sd__Control__Register reg;
	Sd__Control__Label labels[2], *ptrs[2];
	long n;

	sample_register(&reg, labels, ptrs);
	n = wire_encode(WIRE_CTL_REGISTER, &reg.base, NULL, 0, out, cap);
	assert_true(n > (long)WIRE_HEADER_SIZE);
	return (size_t)n;
}

static void test_round_trip_register(void **state)
{
	struct wire_frame f;
	size_t n = encode_register(frame_buf, sizeof(frame_buf));

	(void)state;
	assert_int_equal(wire_decode(frame_buf, n, WIRE_FRAME_MAX, NULL, &f), 0);
	assert_int_equal(f.hdr.type, WIRE_CTL_REGISTER);
	assert_int_equal(f.hdr.version, WIRE_VERSION);
	assert_null(f.attach);
	Sd__Control__Register *r = (Sd__Control__Register *)f.msg;
	assert_string_equal(r->name, "eu-west-1");
	assert_string_equal(r->region, "eu-west");
	assert_int_equal(r->n_labels, 2);
	assert_string_equal(r->labels[1]->key, "gpu");
	assert_int_equal(r->memory_bytes, 256u << 20);
	assert_int_equal(r->data_port, 7100);
	wire_frame_release(&f, NULL);
	assert_null(f.msg);
}

static void test_round_trip_batch_with_attachment(void **state)
{
	Sd__Data__Batch b = SD__DATA__BATCH__INIT;
	uint8_t records[3000];
	struct wire_frame f;
	long n;

	(void)state;
	for (size_t i = 0; i < sizeof(records); i++)
		records[i] = (uint8_t)(i * 7);
	b.channel_id = 42;
	b.seq = 9;
	b.record_count = 100;
	n = wire_encode(WIRE_DATA_BATCH, &b.base, records, sizeof(records), frame_buf,
			sizeof(frame_buf));
	assert_int_equal(n, (long)wire_frame_size(&b.base, sizeof(records)));
	assert_int_equal(wire_decode(frame_buf, (size_t)n, WIRE_FRAME_MAX, NULL, &f), 0);
	assert_int_equal(((Sd__Data__Batch *)f.msg)->channel_id, 42);
	assert_int_equal(f.attach_len, sizeof(records));
	assert_memory_equal(f.attach, records, sizeof(records));
	wire_frame_release(&f, NULL);
}

static void test_encode_rejects_misuse(void **state)
{
	Sd__Data__Credit c = SD__DATA__CREDIT__INIT;
	uint8_t small[8];

	(void)state;
	/* Message does not match the type's descriptor. */
	assert_int_equal(
		wire_encode(WIRE_CTL_REGISTER, &c.base, NULL, 0, frame_buf, sizeof(frame_buf)),
		SD_EINVAL);
	assert_int_equal(wire_encode(999, &c.base, NULL, 0, frame_buf, sizeof(frame_buf)),
			 SD_EINVAL);
	/* Attachment length without bytes. */
	assert_int_equal(
		wire_encode(WIRE_DATA_CREDIT, &c.base, NULL, 5, frame_buf, sizeof(frame_buf)),
		SD_EINVAL);
	assert_int_equal(wire_encode(WIRE_DATA_CREDIT, &c.base, NULL, 0, small, sizeof(small)),
			 SD_ETOOBIG);
}

static void test_every_truncation_is_reported(void **state)
{
	struct wire_frame f;
	size_t n = encode_register(frame_buf, sizeof(frame_buf));

	(void)state;
	for (size_t len = 0; len < n; len++)
		assert_int_equal(wire_decode(frame_buf, len, WIRE_FRAME_MAX, NULL, &f), SD_ETRUNC);
	/* One byte too many is not silently ignored either. */
	assert_int_equal(wire_decode(frame_buf, n + 1, WIRE_FRAME_MAX, NULL, &f), SD_EPROTO);
}

static void test_bad_headers(void **state)
{
	struct wire_header h;
	struct wire_frame f;
	uint8_t b[WIRE_HEADER_SIZE];
	size_t n = encode_register(frame_buf, sizeof(frame_buf));

	(void)state;
	memcpy(b, frame_buf, sizeof(b));
	b[0] = 'X';
	assert_int_equal(wire_header_decode(b, sizeof(b), WIRE_FRAME_MAX, &h), SD_EPROTO);

	memcpy(b, frame_buf, sizeof(b));
	b[2] = WIRE_VERSION + 1;
	assert_int_equal(wire_header_decode(b, sizeof(b), WIRE_FRAME_MAX, &h), SD_EVERSION);

	memcpy(b, frame_buf, sizeof(b));
	b[3] = 0x80; /* flags */
	assert_int_equal(wire_header_decode(b, sizeof(b), WIRE_FRAME_MAX, &h), SD_EPROTO);

	memcpy(b, frame_buf, sizeof(b));
	b[7] = 1; /* reserved */
	assert_int_equal(wire_header_decode(b, sizeof(b), WIRE_FRAME_MAX, &h), SD_EPROTO);

	memcpy(b, frame_buf, sizeof(b));
	b[4] = 0x7f; /* type 0x7f.. unknown */
	assert_int_equal(wire_header_decode(b, sizeof(b), WIRE_FRAME_MAX, &h), SD_EUNKNOWNTYPE);

	/* Corrupt body: a valid header over bytes that are not the message. */
	memset(frame_buf + WIRE_HEADER_SIZE, 0xff, n - WIRE_HEADER_SIZE);
	assert_int_equal(wire_decode(frame_buf, n, WIRE_FRAME_MAX, NULL, &f), SD_EPROTO);
	assert_null(f.msg);
}

static void test_oversized_is_refused_before_allocating(void **state)
{
	struct counting_alloc ca;
	struct wire_header h;
	struct wire_frame f;
	size_t n = encode_register(frame_buf, sizeof(frame_buf));

	(void)state;
	/* Claim 4 GiB of body and attachment: both lengths at their maximum. */
	memset(frame_buf + 8, 0xff, 8);
	assert_int_equal(wire_header_decode(frame_buf, n, WIRE_FRAME_MAX, &h), SD_ETOOBIG);
	counting_alloc_init(&ca);
	assert_int_equal(wire_decode(frame_buf, n, WIRE_FRAME_MAX, &ca.base, &f), SD_ETOOBIG);
	assert_int_equal(ca.calls, 0);

	/* A frame within the global limit but above the caller's is refused too. */
	n = encode_register(frame_buf, sizeof(frame_buf));
	assert_int_equal(wire_decode(frame_buf, n, n - 1, NULL, &f), SD_ETOOBIG);
	assert_int_equal(wire_decode(frame_buf, n, n, NULL, &f), 0);
	wire_frame_release(&f, NULL);
}

/* Random bytes after a plausible header: any result is an SD_E* code or a
 * message, allocations stay within a small multiple of the input. */
static void test_random_frames(void **state)
{
	uint64_t seed = 0x5eed5eed12345678ull;
	static uint8_t buf[4096];

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)(xorshift64(&seed) % sizeof(buf));
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)xorshift64(&seed);
		if (len >= WIRE_HEADER_SIZE && (iter & 1)) {
			/* Make most headers valid so the body decoder gets exercised. */
			static const uint16_t types[] = {1, 3, 5, 8, 33, 34, 64, 71, 72, 81};
			uint16_t t = types[xorshift64(&seed) % 10];
			uint32_t body = (uint32_t)(len - WIRE_HEADER_SIZE);
			uint8_t hdr[WIRE_HEADER_SIZE] = {'S',
							 'D',
							 WIRE_VERSION,
							 0,
							 (uint8_t)(t >> 8),
							 (uint8_t)t,
							 0,
							 0,
							 (uint8_t)(body >> 24),
							 (uint8_t)(body >> 16),
							 (uint8_t)(body >> 8),
							 (uint8_t)body,
							 0,
							 0,
							 0,
							 0};
			memcpy(buf, hdr, sizeof(hdr));
		}
		struct counting_alloc ca;
		struct wire_frame f;
		counting_alloc_init(&ca);
		int rc = wire_decode(buf, len, WIRE_FRAME_MAX, &ca.base, &f);
		if (rc == 0) {
			assert_non_null(f.msg);
			wire_frame_release(&f, &ca.base);
		} else {
			assert_true(rc < 0);
			assert_string_not_equal(sd_errname(rc), "SD_E?");
		}
		assert_int_equal(ca.bytes_live, 0);
		assert_true(ca.bytes_peak <= 64 * 1024 + 16 * len);
	}
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(wire_type_name(WIRE_DATA_BATCH), "DATA_BATCH");
	assert_string_equal(wire_type_name(0), "unknown");
	assert_null(wire_descriptor(0));
	assert_ptr_equal(wire_descriptor(WIRE_NFS_OK), &sd__netfs__ok__descriptor);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_register),
		cmocka_unit_test(test_round_trip_batch_with_attachment),
		cmocka_unit_test(test_encode_rejects_misuse),
		cmocka_unit_test(test_every_truncation_is_reported),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_oversized_is_refused_before_allocating),
		cmocka_unit_test(test_random_frames),
		cmocka_unit_test(test_type_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
