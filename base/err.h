/*
 * base/err.h — the one error table every Stardust module shares.
 *
 * Functions return 0 on success or a negative SD_E* code from the table
 * below. sd_strerror() turns a code into a short message for people; callers
 * add the context (path, node, job, file:line:col) in their own message.
 *
 * errno is converted to this table in exactly one place (sd_err_from_errno,
 * hosted builds only); lwIP's err_t likewise in node/plat/metal.
 *
 * Three kinds of failure, three mechanisms (../CONTRIBUTING.md):
 *   expected runtime failure  -> an SD_E* code
 *   caller misuse             -> SD_EINVAL at the API boundary
 *   broken invariant          -> assert()
 *
 * Codes are stable: append new entries, never renumber.
 */
#ifndef SD_BASE_ERR_H
#define SD_BASE_ERR_H

/* X(name, value, message) */
#define SD_ERR_TABLE(X)                                                           \
	X(SD_EINVAL, -1, "invalid argument")                                      \
	X(SD_ENOMEM, -2, "out of memory")                                         \
	X(SD_EAGAIN, -3, "try again: operation would block")                      \
	X(SD_EIO, -4, "input/output error")                                       \
	X(SD_ENOENT, -5, "no such file, job, node or entry")                      \
	X(SD_EEXIST, -6, "already exists")                                        \
	X(SD_EPERM, -7, "not permitted")                                          \
	X(SD_EAUTH, -8, "authentication failed: bad or missing token")            \
	X(SD_EPROTO, -9, "malformed message")                                     \
	X(SD_EVERSION, -10, "protocol version mismatch")                          \
	X(SD_ETOOBIG, -11, "message or request larger than the limit")            \
	X(SD_ETRUNC, -12, "truncated message")                                    \
	X(SD_EUNKNOWNTYPE, -13, "unknown message type")                           \
	X(SD_ECLOSED, -14, "connection closed by peer")                           \
	X(SD_ECONNRESET, -15, "connection reset")                                 \
	X(SD_ECONNREFUSED, -16, "connection refused")                             \
	X(SD_ETIMEDOUT, -17, "timed out")                                         \
	X(SD_ECANCELED, -18, "canceled")                                          \
	X(SD_ECHECKSUM, -19, "checksum mismatch: data corrupted")                 \
	X(SD_ENOSPC, -20, "no space left")                                        \
	X(SD_ELIMIT, -21, "configured limit reached")                             \
	X(SD_EBUSY, -22, "resource busy")                                         \
	X(SD_ENOTSUP, -23, "not supported")                                       \
	X(SD_EADDRINUSE, -24, "address already in use")                           \
	X(SD_EUNREACH, -25, "host or network unreachable")                        \
	X(SD_EPATH, -26, "path refused: escapes the export root or is malformed") \
	X(SD_ENOTDIR, -27, "not a directory")                                     \
	X(SD_EISDIR, -28, "is a directory")                                       \
	X(SD_ESYNTAX, -29, "syntax error")                                        \
	X(SD_ETYPE, -30, "type error")                                            \
	X(SD_EPLAN, -31, "job cannot be planned")                                 \
	X(SD_EINFEASIBLE, -32, "no placement satisfies the hard constraints")     \
	X(SD_ELOST, -33, "node lost")                                             \
	X(SD_ESTATE, -34, "operation not valid in the current state")             \
	X(SD_EOVERFLOW, -35, "value out of range")                                \
	X(SD_EEOF, -36, "end of stream")                                          \
	X(SD_ENODEV, -37, "no such device")                                       \
	X(SD_EINTERNAL, -38, "internal error")

enum sd_err {
	SD_OK = 0,
#define SD__ERR_ENUM(name, value, msg) name = (value),
	SD_ERR_TABLE(SD__ERR_ENUM)
#undef SD__ERR_ENUM
};

/* Returns a static string for any int; unknown codes get a generic text. */
const char *sd_strerror(int err);

/* Returns the code's name ("SD_ENOENT"), or "SD_E?" for unknown codes. */
const char *sd_errname(int err);

/* Converts a positive errno value to an SD_E* code (hosted builds only). */
int sd_err_from_errno(int errnum);

#endif /* SD_BASE_ERR_H */
