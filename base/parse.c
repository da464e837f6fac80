/*
 * base/parse.c — sd_parse_size() and sd_parse_hostport(). Portable.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/parse.h"

int sd_parse_size(const char *text, uint64_t *out)
{
	unsigned shift = 0;
	unsigned long long v;
	char *end;

	if (!text || !out || *text < '0' || *text > '9')
		return SD_EINVAL;
	v = strtoull(text, &end, 10);
	switch (*end) {
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	default:
		break;
	}
	if (*end || !v || v > (UINT64_MAX >> shift))
		return SD_EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int sd_parse_hostport(const char *text, char *host, size_t cap, uint16_t *port)
{
	const char *colon;
	unsigned long p;
	char *end;

	if (!text || !host || !port)
		return SD_EINVAL;
	colon = strrchr(text, ':');
	if (!colon || (size_t)(colon - text) >= cap || colon[1] < '0' || colon[1] > '9')
		return SD_EINVAL;
	p = strtoul(colon + 1, &end, 10);
	if (*end || p > 65535)
		return SD_EINVAL;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	*port = (uint16_t)p;
	return 0;
}
