/*
 * base/parse.h — small parsers for command lines and configuration, shared
 * by every program and the node image (portable: no OS calls).
 *
 *   sd_parse_size("256M", &bytes)                      -> 268435456
 *   sd_parse_hostport("10.0.2.2:7000", host, sizeof(host), &port)
 */
#ifndef SD_BASE_PARSE_H
#define SD_BASE_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A byte count: digits with an optional K, M or G suffix (powers of 1024,
 * either case). 0 or SD_EINVAL (empty, junk, zero, or overflow).
 */
int sd_parse_size(const char *text, uint64_t *out);

/*
 * "host:port" (the last ':' splits, so the host may not hold one). Copies
 * the host into host[cap]; port 0 is accepted (listen on any port).
 * 0 or SD_EINVAL (no ':', host too long, port not a number up to 65535).
 */
int sd_parse_hostport(const char *text, char *host, size_t cap, uint16_t *port);

#endif /* SD_BASE_PARSE_H */
