/*
 * deploy/sim/sim_cli.c — hands `stardust sim ARGS` to the stardust-sim
 * script (sim_cli.h).
 */
#include "deploy/sim/sim_cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIM_CLI_ARGS_MAX 256 /* arguments passed through */

/* The directory of the running program into dir (no trailing slash). */
static int sim_cli_self_dir(char *dir, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
	if (n <= 0)
		return -1;
	dir[n] = '\0';
	char *slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

int sim_cli_main(int argc, char **argv)
{
	char *args[SIM_CLI_ARGS_MAX + 2];
	char dir[PATH_MAX], path[PATH_MAX + 64];
	if (argc < 1 || argc > SIM_CLI_ARGS_MAX) {
		fprintf(stderr, "stardust sim: between 0 and %d arguments\n", SIM_CLI_ARGS_MAX - 1);
		return 1;
	}
	args[0] = "stardust-sim";
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	args[argc] = NULL;
	const char *env = getenv("STARDUST_SIM");
	if (env && *env) {
		execv(env, args);
		fprintf(stderr, "stardust sim: cannot run $STARDUST_SIM=%s: %s\n", env,
			strerror(errno));
		return 1;
	}
	if (sim_cli_self_dir(dir, sizeof dir) == 0) {
		snprintf(path, sizeof path, "%s/../deploy/sim/stardust-sim", dir);
		if (access(path, X_OK) == 0)
			execv(path, args);
		snprintf(path, sizeof path, "%s/stardust-sim", dir);
		if (access(path, X_OK) == 0)
			execv(path, args);
	}
	execvp("stardust-sim", args);
	fprintf(stderr, "stardust sim: cannot find stardust-sim (set STARDUST_SIM): %s\n",
		strerror(errno));
	return 1;
}
