/*
 * proto/wire.c — frame encoding, validation, decoding and stream reassembly.
 * Portable: no OS calls; memory through malloc/realloc/free only.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "proto/wire.h"

#define WIRE_MAGIC0 0x53u /* 'S' */
#define WIRE_MAGIC1 0x44u /* 'D' */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

const ProtobufCMessageDescriptor *wire_descriptor(uint16_t type)
{
	switch (type) {
#define WIRE__DESC(name, num, desc) \
	case num:                   \
		return &desc;
		WIRE_MSG_TABLE(WIRE__DESC)
#undef WIRE__DESC
	default:
		return NULL;
	}
}

const char *wire_type_name(uint16_t type)
{
	switch (type) {
#define WIRE__NAME(name, num, desc) \
	case num:                   \
		return #name;
		WIRE_MSG_TABLE(WIRE__NAME)
#undef WIRE__NAME
	default:
		return "unknown";
	}
}

size_t wire_frame_size(const ProtobufCMessage *msg, size_t attach_len)
{
	return WIRE_HEADER_SIZE + protobuf_c_message_get_packed_size(msg) + attach_len;
}

long wire_encode(uint16_t type, const ProtobufCMessage *msg, const void *attach, size_t attach_len,
		 uint8_t *out, size_t cap)
{
	const ProtobufCMessageDescriptor *desc = wire_descriptor(type);
	size_t body_len, total;

	if (!desc || !msg || msg->descriptor != desc || !out || (attach_len && !attach))
		return SD_EINVAL;
	body_len = protobuf_c_message_get_packed_size(msg);
	if (body_len > WIRE_FRAME_MAX || attach_len > WIRE_FRAME_MAX)
		return SD_ETOOBIG;
	total = WIRE_HEADER_SIZE + body_len + attach_len;
	if (total > WIRE_FRAME_MAX || total > cap)
		return SD_ETOOBIG;

	out[0] = WIRE_MAGIC0;
	out[1] = WIRE_MAGIC1;
	out[2] = WIRE_VERSION;
	out[3] = 0;
	put16(out + 4, type);
	put16(out + 6, 0);
	put32(out + 8, (uint32_t)body_len);
	put32(out + 12, (uint32_t)attach_len);
	size_t packed = protobuf_c_message_pack(msg, out + WIRE_HEADER_SIZE);
	assert(packed == body_len);
	if (attach_len)
		memcpy(out + WIRE_HEADER_SIZE + body_len, attach, attach_len);
	return (long)total;
}

int wire_header_decode(const uint8_t *buf, size_t len, size_t max_frame, struct wire_header *out)
{
	uint64_t payload;

	if (!buf || !out || max_frame < WIRE_HEADER_SIZE)
		return SD_EINVAL;
	if (len < WIRE_HEADER_SIZE)
		return SD_ETRUNC;
	if (buf[0] != WIRE_MAGIC0 || buf[1] != WIRE_MAGIC1)
		return SD_EPROTO;
	if (buf[2] != WIRE_VERSION)
		return SD_EVERSION;
	if (buf[3] != 0 || get16(buf + 6) != 0)
		return SD_EPROTO;
	out->version = buf[2];
	out->flags = buf[3];
	out->type = get16(buf + 4);
	out->body_len = get32(buf + 8);
	out->attach_len = get32(buf + 12);
	if (!wire_descriptor(out->type))
		return SD_EUNKNOWNTYPE;
	/* 64-bit sum: two 32-bit lengths cannot wrap it. */
	payload = (uint64_t)out->body_len + out->attach_len;
	if (payload > max_frame - WIRE_HEADER_SIZE)
		return SD_ETOOBIG;
	return 0;
}

/* buf holds exactly one frame whose header is hdr. */
static int wire_unpack(const uint8_t *buf, const struct wire_header *hdr, ProtobufCAllocator *alloc,
		       struct wire_frame *out)
{
	const ProtobufCMessageDescriptor *desc = wire_descriptor(hdr->type);
	ProtobufCMessage *msg;

	assert(desc);
	msg = protobuf_c_message_unpack(desc, alloc, hdr->body_len, buf + WIRE_HEADER_SIZE);
	if (!msg)
		return SD_EPROTO;
	out->hdr = *hdr;
	out->msg = msg;
	out->attach_len = hdr->attach_len;
	out->attach = hdr->attach_len ? buf + WIRE_HEADER_SIZE + hdr->body_len : NULL;
	return 0;
}

int wire_decode(const uint8_t *buf, size_t len, size_t max_frame, ProtobufCAllocator *alloc,
		struct wire_frame *out)
{
	struct wire_header hdr;
	size_t total;
	int rc;

	if (!out)
		return SD_EINVAL;
	memset(out, 0, sizeof(*out));
	rc = wire_header_decode(buf, len, max_frame, &hdr);
	if (rc < 0)
		return rc;
	total = WIRE_HEADER_SIZE + (size_t)hdr.body_len + hdr.attach_len;
	if (len < total)
		return SD_ETRUNC;
	if (len > total)
		return SD_EPROTO;
	return wire_unpack(buf, &hdr, alloc, out);
}

void wire_frame_release(struct wire_frame *frame, ProtobufCAllocator *alloc)
{
	if (!frame)
		return;
	if (frame->msg)
		protobuf_c_message_free_unpacked(frame->msg, alloc);
	memset(frame, 0, sizeof(*frame));
}

int wire_reader_init(struct wire_reader *r, size_t max_frame)
{
	if (!r || max_frame < WIRE_HEADER_SIZE || max_frame > WIRE_FRAME_MAX)
		return SD_EINVAL;
	memset(r, 0, sizeof(*r));
	r->max_frame = max_frame;
	return 0;
}

void wire_reader_fini(struct wire_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* Bytes the buffered frame needs in all, or WIRE_HEADER_SIZE before its header. */
static int reader_frame_need(struct wire_reader *r, size_t *need)
{
	struct wire_header hdr;
	int rc;

	*need = WIRE_HEADER_SIZE;
	if (r->end - r->start < WIRE_HEADER_SIZE)
		return 0;
	rc = wire_header_decode(r->buf + r->start, r->end - r->start, r->max_frame, &hdr);
	if (rc < 0)
		return rc;
	*need = WIRE_HEADER_SIZE + (size_t)hdr.body_len + hdr.attach_len;
	return 0;
}

int wire_reader_space(struct wire_reader *r, uint8_t **where, size_t *avail)
{
	size_t need, want;
	int rc;

	if (!r || !where || !avail)
		return SD_EINVAL;
	if (r->error)
		return r->error;
	if (r->start == r->end) {
		r->start = r->end = 0;
		/* Give back a buffer a big frame left behind. */
		if (r->cap > 4 * WIRE_READER_MIN_BUF) {
			free(r->buf);
			r->buf = NULL;
			r->cap = 0;
		}
	} else if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	rc = reader_frame_need(r, &need);
	if (rc < 0)
		return r->error = rc;
	/* Room for the whole pending frame; at least the minimum; and, when a
	 * complete frame is already buffered, a little more so reads continue. */
	want = need > WIRE_READER_MIN_BUF ? need : WIRE_READER_MIN_BUF;
	if (r->end >= want)
		want = r->end + WIRE_READER_MIN_BUF;
	if (want > r->cap) {
		uint8_t *grown = realloc(r->buf, want);
		if (!grown)
			return SD_ENOMEM;
		r->buf = grown;
		r->cap = want;
	}
	*where = r->buf + r->end;
	*avail = r->cap - r->end;
	return 0;
}

void wire_reader_commit(struct wire_reader *r, size_t n)
{
	assert(r && r->end + n <= r->cap);
	r->end += n;
}

int wire_reader_feed(struct wire_reader *r, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		uint8_t *where;
		size_t avail;
		int rc = wire_reader_space(r, &where, &avail);
		if (rc < 0)
			return rc;
		if (avail > len)
			avail = len;
		memcpy(where, p, avail);
		wire_reader_commit(r, avail);
		p += avail;
		len -= avail;
	}
	return 0;
}

int wire_reader_next(struct wire_reader *r, ProtobufCAllocator *alloc, struct wire_frame *out)
{
	struct wire_header hdr;
	size_t buffered, total;
	int rc;

	if (!r || !out)
		return SD_EINVAL;
	memset(out, 0, sizeof(*out));
	if (r->error)
		return r->error;
	buffered = r->end - r->start;
	if (buffered < WIRE_HEADER_SIZE)
		return SD_EAGAIN; /* also covers a reader that has no buffer yet */
	rc = wire_header_decode(r->buf + r->start, buffered, r->max_frame, &hdr);
	if (rc == SD_ETRUNC)
		return SD_EAGAIN;
	if (rc < 0)
		return r->error = rc;
	total = WIRE_HEADER_SIZE + (size_t)hdr.body_len + hdr.attach_len;
	if (buffered < total)
		return SD_EAGAIN;
	rc = wire_unpack(r->buf + r->start, &hdr, alloc, out);
	if (rc < 0)
		return r->error = rc;
	r->start += total;
	return 0;
}
