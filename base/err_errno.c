/*
 * base/err_errno.c — the one place errno values become SD_E* codes.
 * Hosted builds only: the freestanding image has no errno.
 */
#include <errno.h>

#include "base/err.h"

int sd_err_from_errno(int errnum)
{
	switch (errnum) {
	case 0:
		return SD_OK;
	case EINVAL:
		return SD_EINVAL;
	case ENOMEM:
		return SD_ENOMEM;
	case EAGAIN:
	case EINPROGRESS:
	case EINTR:
		return SD_EAGAIN;
	case ENOENT:
		return SD_ENOENT;
	case EEXIST:
		return SD_EEXIST;
	case EPERM:
	case EACCES:
	case EROFS:
		return SD_EPERM;
	case ELOOP:
	case EXDEV:
		return SD_EPATH;
	case ENOTDIR:
		return SD_ENOTDIR;
	case EISDIR:
		return SD_EISDIR;
	case ENAMETOOLONG:
	case E2BIG:
	case EMSGSIZE:
	case EFBIG:
		return SD_ETOOBIG;
	case ECONNRESET:
	case EPIPE:
		return SD_ECONNRESET;
	case ECONNREFUSED:
		return SD_ECONNREFUSED;
	case ETIMEDOUT:
		return SD_ETIMEDOUT;
	case ECANCELED:
		return SD_ECANCELED;
	case ENOSPC:
	case EDQUOT:
		return SD_ENOSPC;
	case EMFILE:
	case ENFILE:
		return SD_ELIMIT;
	case EBUSY:
		return SD_EBUSY;
	case ENOSYS:
	case EOPNOTSUPP:
		return SD_ENOTSUP;
	case EADDRINUSE:
		return SD_EADDRINUSE;
	case EHOSTUNREACH:
	case ENETUNREACH:
		return SD_EUNREACH;
	case EOVERFLOW:
	case ERANGE:
		return SD_EOVERFLOW;
	case ENODEV:
	case ENXIO:
		return SD_ENODEV;
	default:
		return SD_EIO;
	}
}
