/*
 * base/log.c — level filter, bounded formatting, and the sink hook.
 * Portable; the stderr sink is compiled only when SD_HOSTED is defined.
 */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

#ifdef SD_HOSTED
#include <time.h>

static void log_stderr_sink(void *arg, enum sd_log_level level, const char *who, const char *line)
{
	struct timespec now;
	struct tm tm;
	char stamp[32] = "";

	(void)arg;
	if (clock_gettime(CLOCK_REALTIME, &now) == 0 && gmtime_r(&now.tv_sec, &tm))
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %-5s %s: %s\n", stamp, now.tv_nsec / 1000000L,
		sd_log_level_name(level), who, line);
}
#define LOG_DEFAULT_SINK log_stderr_sink
#else
#define LOG_DEFAULT_SINK NULL
#endif

static sd_log_sink_fn *log_sink = LOG_DEFAULT_SINK;
static void *log_sink_arg;
static enum sd_log_level log_level = SD_LOG_INFO;

void sd_log_set_sink(sd_log_sink_fn *sink, void *arg)
{
	log_sink = sink ? sink : LOG_DEFAULT_SINK;
	log_sink_arg = sink ? arg : NULL;
}

void sd_log_set_level(enum sd_log_level level)
{
	log_level = level;
}

enum sd_log_level sd_log_get_level(void)
{
	return log_level;
}

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

const char *sd_log_level_name(enum sd_log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

int sd_log_parse_level(const char *text, enum sd_log_level *out)
{
	if (!text || !out)
		return SD_EINVAL;
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*out = (enum sd_log_level)i;
			return 0;
		}
	}
	return SD_EINVAL;
}

void sd_vlogf(enum sd_log_level level, const char *who, const char *fmt, va_list ap)
{
	char line[SD_LOG_LINE_MAX];
	int n;

	if (level < log_level || !log_sink)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		memcpy(line + sizeof(line) - 5, "...", 4); /* mark the cut */
	log_sink(log_sink_arg, level, who ? who : "-", line);
}

void sd_logf(enum sd_log_level level, const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sd_vlogf(level, who, fmt, ap);
	va_end(ap);
}
