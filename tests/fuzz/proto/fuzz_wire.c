/*
 * Fuzz target for proto/wire.c: the one-shot decoder and the stream reader
 * over the same bytes, fed in uneven pieces. Decoded frames must re-encode.
 */
#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"
#include "proto/wire.h"

#define FUZZ_MAX_FRAME (1u << 20) /* bytes: keeps runs fast */

static void reencode(const struct wire_frame *f)
{
	size_t need = wire_frame_size(f->msg, f->attach_len);
	uint8_t *out = malloc(need);

	if (!out)
		return;
	if (wire_encode(f->hdr.type, f->msg, f->attach, f->attach_len, out, need) != (long)need)
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_frame f;
	struct wire_reader r;
	int rc;

	if (wire_decode(data, size, FUZZ_MAX_FRAME, NULL, &f) == 0) {
		reencode(&f);
		wire_frame_release(&f, NULL);
	}
	if (wire_reader_init(&r, FUZZ_MAX_FRAME) != 0)
		abort();
	for (size_t off = 0, step = 1; off < size; off += step, step = step * 3 + 1) {
		size_t k = size - off < step ? size - off : step;
		if (wire_reader_feed(&r, data + off, k) != 0)
			break;
		while ((rc = wire_reader_next(&r, NULL, &f)) == 0) {
			reencode(&f);
			wire_frame_release(&f, NULL);
		}
		if (rc != SD_EAGAIN)
			break;
	}
	wire_reader_fini(&r);
	return 0;
}
