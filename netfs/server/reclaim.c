/*
 * netfs/server/reclaim.c — start-up sweep for temporary files.
 *
 * A netfsd killed with SIGKILL (or a machine that lost power) during a sink
 * write leaves SRV_TMP_PREFIX<pid>-<handle>-<n> files beside their targets:
 * invisible to clients, but taking space forever. srv_reclaim_tmp() walks
 * the export once before the server listens and unlinks them.
 *
 * Rules: directories are opened with O_NOFOLLOW and symlinks never followed;
 * only regular files are removed; the walk stops after SRV_RECLAIM_SCAN_MAX
 * entries or below SRV_RECLAIM_DEPTH_MAX levels (reported as truncated). A
 * file whose name carries the pid of a live process other than this one is
 * kept: another netfsd may export the same tree and be writing it now.
 *
 * Blocking and O(entries): called from main() before the loop runs. One
 * DIR stream per level is open at a time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "netfs/server/srv.h"

#define TMP_PREFIX_LEN (sizeof(SRV_TMP_PREFIX) - 1)

struct sweep {
	struct srv_reclaim *out;
	pid_t self;
};

/* Does the name carry the pid of a live process other than this one? */
static bool owner_alive(const char *name, pid_t self)
{
	const char *p = name + TMP_PREFIX_LEN;
	long pid = 0;

	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9' && pid < 100000000L)
		pid = pid * 10 + (*p++ - '0');
	if (*p != '-' || pid <= 0 || pid == (long)self)
		return false;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static void sweep_file(struct sweep *w, int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return;
	if (owner_alive(name, w->self)) {
		w->out->kept++;
		return;
	}
	if (unlinkat(dirfd, name, 0) == 0) {
		w->out->files++;
		w->out->bytes += (uint64_t)st.st_size;
	}
}

/* Sweeps the directory fd (ownership taken) and, depth first, its subdirectories. */
static void sweep_dir(struct sweep *w, int fd, unsigned depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		return;
	}
	while (!w->out->truncated && (de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		unsigned char type = de->d_type;
		struct stat st;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (++w->out->scanned > SRV_RECLAIM_SCAN_MAX) {
			w->out->truncated = true;
			break;
		}
		if (type == DT_UNKNOWN && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			type = S_ISDIR(st.st_mode)   ? DT_DIR
			       : S_ISREG(st.st_mode) ? DT_REG
						     : DT_UNKNOWN;
		if (type == DT_REG && strncmp(name, SRV_TMP_PREFIX, TMP_PREFIX_LEN) == 0) {
			sweep_file(w, fd, name);
		} else if (type == DT_DIR) {
			if (depth + 1 >= SRV_RECLAIM_DEPTH_MAX) {
				w->out->truncated = true;
				continue;
			}
			int child =
				openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (child >= 0)
				sweep_dir(w, child, depth + 1);
		}
	}
	closedir(d);
}

int srv_reclaim_tmp(const struct srv *s, struct srv_reclaim *out)
{
	struct sweep w = {.out = out, .self = getpid()};
	int root;

	memset(out, 0, sizeof(*out));
	root = openat(s->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return sd_err_from_errno(errno);
	sweep_dir(&w, root, 0);
	return 0;
}
