/*
 * base/err.c — sd_strerror() and sd_errname() over the table in err.h.
 * Portable: no OS calls (builds freestanding too).
 */
#include "base/err.h"

const char *sd_strerror(int err)
{
	switch (err) {
	case SD_OK:
		return "success";
#define SD__ERR_MSG(name, value, msg) \
	case name:                    \
		return msg;
		SD_ERR_TABLE(SD__ERR_MSG)
#undef SD__ERR_MSG
	default:
		return "unknown error";
	}
}

const char *sd_errname(int err)
{
	switch (err) {
	case SD_OK:
		return "SD_OK";
#define SD__ERR_NAME(name, value, msg) \
	case name:                     \
		return #name;
		SD_ERR_TABLE(SD__ERR_NAME)
#undef SD__ERR_NAME
	default:
		return "SD_E?";
	}
}
