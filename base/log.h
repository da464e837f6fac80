/*
 * base/log.h — one logging helper for every module.
 *
 *   sd_log_info("netfsd", "serving %s on %s", root, addr);
 *   sd_log_error("coord", "job %s: %s", id, sd_strerror(rc));
 *
 * A line is formatted into a bounded stack buffer (SD_LOG_LINE_MAX, longer
 * lines are cut and marked) and handed to the sink. Hosted builds default to
 * a stderr sink with a wall-clock timestamp; the node image installs a serial
 * console sink with sd_log_set_sink(). Not thread-safe by design: every
 * Stardust process is one event loop.
 */
#ifndef SD_BASE_LOG_H
#define SD_BASE_LOG_H

#include <stdarg.h>

#define SD_LOG_LINE_MAX 1024 /* bytes per formatted line, with the NUL */

enum sd_log_level {
	SD_LOG_DEBUG = 0,
	SD_LOG_INFO = 1,
	SD_LOG_WARN = 2,
	SD_LOG_ERROR = 3,
	SD_LOG_OFF = 4,
};

/* A sink receives one complete line without a trailing newline. */
typedef void sd_log_sink_fn(void *arg, enum sd_log_level level, const char *who, const char *line);

/* Installs a sink; NULL restores the default (stderr hosted, none freestanding). */
void sd_log_set_sink(sd_log_sink_fn *sink, void *arg);

/* Lines below level are dropped. Default SD_LOG_INFO. */
void sd_log_set_level(enum sd_log_level level);
enum sd_log_level sd_log_get_level(void);

/* Parses "debug", "info", "warn", "error", "off"; returns 0 or SD_EINVAL. */
int sd_log_parse_level(const char *text, enum sd_log_level *out);

const char *sd_log_level_name(enum sd_log_level level);

void sd_logf(enum sd_log_level level, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sd_vlogf(enum sd_log_level level, const char *who, const char *fmt, va_list ap);

#define sd_log_debug(who, ...) sd_logf(SD_LOG_DEBUG, (who), __VA_ARGS__)
#define sd_log_info(who, ...)  sd_logf(SD_LOG_INFO, (who), __VA_ARGS__)
#define sd_log_warn(who, ...)  sd_logf(SD_LOG_WARN, (who), __VA_ARGS__)
#define sd_log_error(who, ...) sd_logf(SD_LOG_ERROR, (who), __VA_ARGS__)

#endif /* SD_BASE_LOG_H */
