/*
 * coordinator/cli.h — the `stardust` command-line tool (prefix cli_).
 *
 *   cli.c         argument parsing, commands, exit codes
 *   cli_http.c    libcurl requests to the coordinator, error mapping
 *   cli_render.c  human-readable tables from the API's JSON
 *   cli_run.c     `stardust run`: a private local cluster as child processes
 *
 * Exit codes (docs/cli.md) are part of the interface: scripts rely on them.
 */
#ifndef SD_COORD_CLI_H
#define SD_COORD_CLI_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_VERSION             "0.1.0"
#define CLI_DEFAULT_COORDINATOR "http://127.0.0.1:8080"
#define CLI_RESPONSE_MAX        (64u << 20) /* bytes: largest response accepted */
#define CLI_JOB_FILE_MAX        (1u << 20)  /* bytes: a job file (COORD_JOB_TEXT_MAX) */
#define CLI_POLL_MS             200u        /* wait loop period */
#define CLI_SAVEPOINT_POLL_MS   100u        /* `savepoint`: checkpoint statistics polled */
#define CLI_SAVEPOINT_WAIT_MS   60000u      /* `savepoint`: for it to complete or fail */
#define CLI_CONNECT_TIMEOUT_S   5L
#define CLI_REQUEST_TIMEOUT_S   30L

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_ERROR = 1,
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_UNREACHABLE = 3,
	CLI_EXIT_NOT_FOUND = 4,
	CLI_EXIT_JOB_FAILED = 5,
	CLI_EXIT_INFEASIBLE = 6,
};

struct cli_ctx {
	const char *coordinator; /* base URL, no trailing slash needed */
	const char *token;       /* bearer token or NULL */
	bool json;               /* -o json */
	bool tty;                /* stderr is a terminal: show progress */
};

struct cli_response {
	long status; /* HTTP status; 0 when the coordinator was unreachable */
	char *body;  /* owned, NUL-terminated */
	size_t len;
	char error[256]; /* transport error text when status == 0 */
};

/*
 * One request. body may be NULL. Returns 0 with resp filled (body owned:
 * cli_response_free) or CLI_EXIT_UNREACHABLE / CLI_EXIT_ERROR with a message
 * already printed.
 */
int cli_request(const struct cli_ctx *ctx, const char *method, const char *path, const char *body,
		const char *content_type, struct cli_response *resp);
void cli_response_free(struct cli_response *resp);

/* Maps a non-2xx response to an exit code and prints its error for people. */
int cli_report_error(const char *what, const struct cli_response *resp);

/* Tables (cli_render.c). Each takes the endpoint's JSON text; returns an exit code. */
int cli_render_nodes(const char *json);
int cli_render_jobs(const char *json);
int cli_render_job(const char *json);
int cli_render_checkpoints(const char *json);
/* Formats a byte count for people ("1.5MiB"). */
void cli_fmt_bytes(double bytes, char *out, size_t cap);
/* Formats milliseconds for people, each unit cut, never rounded up:
 * "950ms", "59.9s", "3m50s", "2h05m". */
void cli_fmt_duration(double ms, char *out, size_t cap);
/* One line of progress for a running job (stage states, records/s). */
void cli_render_progress(const char *json, char *out, size_t cap);

/* Reads a whole file (at most max bytes) into an owned NUL-terminated buffer. */
char *cli_read_file(const char *path, size_t max, size_t *len);

/* `stardust submit`'s wait loop: polls until the job ends. Returns an exit code. */
int cli_wait_job(const struct cli_ctx *ctx, const char *id, bool print_final);

/*
 * Prints each sink's output of a finished job from the file service at
 * netfs ("host:port", token may be NULL) and removes collect()/print()
 * results there. Prints a note on stderr when it cannot.
 */
void cli_print_results(const struct cli_ctx *ctx, const char *netfs, const char *token,
		       const char *id);

/* `stardust run` (cli_run.c). argv starts after "run". */
int cli_run_main(const struct cli_ctx *ctx, int argc, char **argv);

/* Set by the SIGINT/SIGTERM handler; wait loops check it. */
extern volatile int cli_interrupted;

#endif /* SD_COORD_CLI_H */
