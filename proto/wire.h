/*
 * proto/wire.h — the framing every Stardust TCP stream uses.
 *
 * A frame is a fixed 16-byte header, a protobuf-c message (the body), and an
 * optional raw attachment (record batches, file bytes) that travels without
 * protobuf re-encoding:
 *
 *   offset size  field
 *   0      2     magic 'S' 'D'
 *   2      1     protocol version (WIRE_VERSION)
 *   3      1     flags, 0 in version 1
 *   4      2     message type (WIRE_MSG_TABLE), big-endian
 *   6      2     reserved, 0
 *   8      4     body length, big-endian
 *   12     4     attachment length, big-endian
 *
 * Lengths are checked against the caller's frame limit before anything is
 * allocated. Unknown types, bad magic, non-zero reserved bits and other
 * versions are errors: the connection is closed with a clear reason.
 *
 * Interface:
 *   wire_encode()            header + body + attachment into a caller buffer
 *   wire_header_decode()     validate a header
 *   wire_decode()            a complete frame -> message (returns owned)
 *   wire_reader_*()          reassemble frames from a byte stream
 *
 * Ownership: decoded messages are owned by the caller and released with
 * wire_frame_release(); attachments borrow the frame buffer and stay valid
 * until the next wire_reader_next() or wire_reader_fini().
 */
#ifndef SD_PROTO_WIRE_H
#define SD_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/control.pb-c.h"
#include "proto/data.pb-c.h"
#include "proto/netfs.pb-c.h"

#define WIRE_VERSION           1u
#define WIRE_HEADER_SIZE       16u
#define WIRE_FRAME_MAX         (16u << 20) /* bytes: largest frame any side accepts */
#define WIRE_CONTROL_FRAME_MAX (4u << 20)  /* bytes: control streams (deploy plans) */
#define WIRE_READER_MIN_BUF    4096u       /* bytes: initial reassembly buffer */

/*
 * X(name, number, descriptor): control 1-31, data 32-63, netfs 64-127.
 * Numbers are part of the protocol: never reuse one.
 */
#define WIRE_MSG_TABLE(X)                                                  \
	X(CTL_REGISTER, 1, sd__control__register__descriptor)              \
	X(CTL_REGISTER_ACK, 2, sd__control__register_ack__descriptor)      \
	X(CTL_HEARTBEAT, 3, sd__control__heartbeat__descriptor)            \
	X(CTL_HEARTBEAT_ACK, 4, sd__control__heartbeat_ack__descriptor)    \
	X(CTL_DEPLOY, 5, sd__control__deploy__descriptor)                  \
	X(CTL_DEPLOY_ACK, 6, sd__control__deploy_ack__descriptor)          \
	X(CTL_CANCEL, 7, sd__control__cancel__descriptor)                  \
	X(CTL_TASK_STATUS, 8, sd__control__task_status__descriptor)        \
	X(CTL_JOB_DONE, 9, sd__control__job_done__descriptor)              \
	X(CTL_GOODBYE, 10, sd__control__goodbye__descriptor)               \
	X(CTL_CHECKPOINT, 11, sd__control__checkpoint__descriptor)         \
	X(CTL_CHECKPOINT_ACK, 12, sd__control__checkpoint_ack__descriptor) \
	X(DATA_HELLO, 32, sd__data__hello__descriptor)                     \
	X(DATA_BATCH, 33, sd__data__batch__descriptor)                     \
	X(DATA_CREDIT, 34, sd__data__credit__descriptor)                   \
	X(DATA_WATERMARK, 35, sd__data__watermark__descriptor)             \
	X(DATA_END_OF_STREAM, 36, sd__data__end_of_stream__descriptor)     \
	X(DATA_CHANNEL_ERROR, 37, sd__data__channel_error__descriptor)     \
	X(DATA_BARRIER, 38, sd__data__barrier__descriptor)                 \
	X(NFS_HELLO, 64, sd__netfs__hello__descriptor)                     \
	X(NFS_HELLO_ACK, 65, sd__netfs__hello_ack__descriptor)             \
	X(NFS_ERROR, 66, sd__netfs__error__descriptor)                     \
	X(NFS_LIST_REQ, 67, sd__netfs__list_req__descriptor)               \
	X(NFS_LIST_RESP, 68, sd__netfs__list_resp__descriptor)             \
	X(NFS_STAT_REQ, 69, sd__netfs__stat_req__descriptor)               \
	X(NFS_STAT_RESP, 70, sd__netfs__stat_resp__descriptor)             \
	X(NFS_READ_REQ, 71, sd__netfs__read_req__descriptor)               \
	X(NFS_READ_CHUNK, 72, sd__netfs__read_chunk__descriptor)           \
	X(NFS_TAIL_REQ, 73, sd__netfs__tail_req__descriptor)               \
	X(NFS_APPEND_REQ, 74, sd__netfs__append_req__descriptor)           \
	X(NFS_APPEND_RESP, 75, sd__netfs__append_resp__descriptor)         \
	X(NFS_CREATE_REQ, 76, sd__netfs__create_req__descriptor)           \
	X(NFS_CREATE_RESP, 77, sd__netfs__create_resp__descriptor)         \
	X(NFS_WRITE_REQ, 78, sd__netfs__write_req__descriptor)             \
	X(NFS_COMMIT_REQ, 79, sd__netfs__commit_req__descriptor)           \
	X(NFS_DELETE_REQ, 80, sd__netfs__delete_req__descriptor)           \
	X(NFS_OK, 81, sd__netfs__ok__descriptor)                           \
	X(NFS_CANCEL_REQ, 82, sd__netfs__cancel_req__descriptor)           \
	X(NFS_CONCAT_REQ, 83, sd__netfs__concat_req__descriptor)           \
	X(NFS_TRUNCATE_REQ, 84, sd__netfs__truncate_req__descriptor)

enum wire_type {
	WIRE_NONE = 0,
#define WIRE__ENUM(name, num, desc) WIRE_##name = (num),
	WIRE_MSG_TABLE(WIRE__ENUM)
#undef WIRE__ENUM
};

struct wire_header {
	uint8_t version;
	uint8_t flags;
	uint16_t type;
	uint32_t body_len;
	uint32_t attach_len;
};

struct wire_frame {
	struct wire_header hdr;
	ProtobufCMessage *msg; /* owned: wire_frame_release() */
	const uint8_t *attach; /* borrows the reader's buffer; NULL when empty */
	size_t attach_len;
};

/* The descriptor for a type, or NULL when the type is unknown. */
const ProtobufCMessageDescriptor *wire_descriptor(uint16_t type);

/* "CTL_REGISTER" etc., or "unknown" — for messages to people. */
const char *wire_type_name(uint16_t type);

/* Bytes wire_encode() will write for msg and attach_len. */
size_t wire_frame_size(const ProtobufCMessage *msg, size_t attach_len);

/*
 * Writes one frame into out (capacity cap). msg must be of type's descriptor.
 * Borrows msg and attach. Returns bytes written, or SD_EINVAL (mismatch),
 * SD_ETOOBIG (exceeds cap or WIRE_FRAME_MAX).
 */
long wire_encode(uint16_t type, const ProtobufCMessage *msg, const void *attach, size_t attach_len,
		 uint8_t *out, size_t cap);

/*
 * Validates a header. len < WIRE_HEADER_SIZE -> SD_ETRUNC. Otherwise
 * SD_EPROTO (magic, flags, reserved), SD_EVERSION, SD_EUNKNOWNTYPE, or
 * SD_ETOOBIG when body + attachment exceed max_frame - header.
 */
int wire_header_decode(const uint8_t *buf, size_t len, size_t max_frame, struct wire_header *out);

/*
 * Decodes one complete frame held in buf[0..len). Returns 0 and fills out,
 * or a header error, SD_ETRUNC when len is short of the frame, SD_EPROTO when
 * the body does not unpack or trailing bytes follow the frame. alloc may be
 * NULL for the protobuf-c default allocator.
 */
int wire_decode(const uint8_t *buf, size_t len, size_t max_frame, ProtobufCAllocator *alloc,
		struct wire_frame *out);

/* Frees the message of a decoded frame; the frame may be reused. */
void wire_frame_release(struct wire_frame *frame, ProtobufCAllocator *alloc);

/*
 * Stream reassembly. The buffer starts at WIRE_READER_MIN_BUF and grows only
 * to the size of a frame whose header already validated, never beyond
 * max_frame. One reader per connection.
 *
 *   wire_reader_init(&r, WIRE_CONTROL_FRAME_MAX);
 *   loop: wire_reader_space(&r, &p, &n); k = recv(fd, p, n); wire_reader_commit(&r, k);
 *         while ((rc = wire_reader_next(&r, NULL, &f)) == 0) { handle(&f); wire_frame_release(&f, NULL); }
 *         rc == SD_EAGAIN: need more bytes; any other rc: close the connection.
 */
struct wire_reader {
	uint8_t *buf;
	size_t cap;       /* bytes allocated */
	size_t start;     /* first unconsumed byte */
	size_t end;       /* one past the last received byte */
	size_t max_frame; /* bytes */
	int error;        /* sticky: after an error the stream is unusable */
};

int wire_reader_init(struct wire_reader *r, size_t max_frame);
void wire_reader_fini(struct wire_reader *r);

/* Where to put received bytes; may grow the buffer. SD_ENOMEM, or the sticky error. */
int wire_reader_space(struct wire_reader *r, uint8_t **where, size_t *avail);
void wire_reader_commit(struct wire_reader *r, size_t n);

/* Convenience: copies len bytes in (space + commit); SD_ETOOBIG never, SD_ENOMEM. */
int wire_reader_feed(struct wire_reader *r, const void *data, size_t len);

/*
 * Returns 0 with the next frame (message owned by the caller), SD_EAGAIN when
 * no complete frame is buffered, or an error that is sticky for the reader.
 */
int wire_reader_next(struct wire_reader *r, ProtobufCAllocator *alloc, struct wire_frame *out);

#endif /* SD_PROTO_WIRE_H */
