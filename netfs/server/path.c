/*
 * netfs/server/path.c — client paths, validated and opened beneath the root.
 *
 * A client path is relative and '/'-separated. Refused (SD_EPATH): absolute
 * paths, '..' components, NUL bytes (checked on the raw frame by session.c),
 * components longer than NAME_MAX, names of temporary files, and any symlink
 * on the way or at the end. Opening uses openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) and falls back to a per-component O_NOFOLLOW walk when
 * the kernel lacks openat2 (or cfg.no_openat2 is set).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/err.h"
#include "netfs/server/srv.h"

int srv_path_normalize(const char *path, bool allow_root, char *out, const char **why)
{
	size_t len = strnlen(path, NFS_PATH_MAX + 1), o = 0;
	const char *p = path;

	*why = "";
	if (len > NFS_PATH_MAX)
		return *why = "path too long", SD_EPATH;
	if (path[0] == '/')
		return *why = "absolute paths are refused", SD_EPATH;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return *why = "'..' is refused", SD_EPATH;
		if (n > NAME_MAX)
			return *why = "a component is longer than NAME_MAX", SD_EPATH;
		if (n >= sizeof(SRV_TMP_PREFIX) - 1 &&
		    memcmp(p, SRV_TMP_PREFIX, sizeof(SRV_TMP_PREFIX) - 1) == 0)
			return *why = "temporary names are reserved", SD_EPATH;
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	if (o == 0) {
		if (!allow_root)
			return *why = "empty path", SD_EPATH;
		out[o++] = '.';
	}
	out[o] = '\0';
	return 0;
}

static int open_openat2(const struct srv *s, const char *norm, int flags, mode_t mode, int *fd)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long r;

	do
		r = syscall(SYS_openat2, s->root_fd, norm, &how, sizeof(how));
	while (r < 0 && errno == EAGAIN);
	if (r < 0)
		return errno == ENOSYS ? SD_ENOTSUP : sd_err_from_errno(errno);
	*fd = (int)r;
	return 0;
}

int srv_open_child_dir(int dirfd, const char *name, int *fd)
{
	int r = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (r < 0 && errno == ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return SD_EPATH; /* a symlink to a directory */
	if (r < 0)
		return sd_err_from_errno(errno);
	/* O_PATH|O_NOFOLLOW opens a symlink itself: refuse it explicitly. */
	if (fstat(r, &st) < 0 || !S_ISDIR(st.st_mode)) {
		close(r);
		return SD_EPATH;
	}
	*fd = r;
	return 0;
}

/* Walks the directories of norm one component at a time; returns the last dir. */
static int walk_dirs(const struct srv *s, const char *norm, bool mkdirs, int *dirfd,
		     const char **base)
{
	char comp[NAME_MAX + 1];
	const char *p = norm, *slash;
	int cur = dup(s->root_fd), next, rc;

	if (cur < 0)
		return sd_err_from_errno(errno);
	while ((slash = strchr(p, '/')) != NULL) {
		size_t n = (size_t)(slash - p);
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (mkdirs && mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
			rc = sd_err_from_errno(errno);
			close(cur);
			return rc;
		}
		rc = srv_open_child_dir(cur, comp, &next);
		close(cur);
		if (rc < 0)
			return rc;
		cur = next;
		p = slash + 1;
	}
	*dirfd = cur;
	*base = p;
	return 0;
}

static int open_walk(const struct srv *s, const char *norm, int flags, mode_t mode, int *fd)
{
	const char *base;
	struct stat st;
	int dirfd, r, rc;

	if (strcmp(norm, ".") == 0) {
		r = openat(s->root_fd, ".", (flags & ~O_CREAT) | O_CLOEXEC);
		if (r < 0)
			return sd_err_from_errno(errno);
		*fd = r;
		return 0;
	}
	if ((rc = walk_dirs(s, norm, false, &dirfd, &base)) < 0)
		return rc;
	r = openat(dirfd, base, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	rc = r < 0 ? sd_err_from_errno(errno) : 0;
	close(dirfd);
	if (rc < 0)
		return rc;
	if (fstat(r, &st) < 0 || S_ISLNK(st.st_mode)) {
		close(r);
		return SD_EPATH;
	}
	*fd = r;
	return 0;
}

int srv_open_beneath(const struct srv *s, const char *norm, int flags, mode_t mode, int *fd)
{
	if (!s->cfg.no_openat2) {
		int rc = open_openat2(s, norm, flags, mode, fd);
		if (rc != SD_ENOTSUP)
			return rc;
	}
	return open_walk(s, norm, flags, mode, fd);
}

int srv_open_parent(const struct srv *s, const char *norm, bool mkdirs, int *dirfd,
		    const char **base)
{
	const char *slash = strrchr(norm, '/');
	char dir[NFS_PATH_MAX + 1];
	int rc;

	if (strcmp(norm, ".") == 0)
		return SD_EPATH;
	if (mkdirs || s->cfg.no_openat2)
		return walk_dirs(s, norm, mkdirs, dirfd, base);
	if (!slash) {
		*base = norm;
		*dirfd = dup(s->root_fd);
		return *dirfd < 0 ? sd_err_from_errno(errno) : 0;
	}
	memcpy(dir, norm, (size_t)(slash - norm));
	dir[slash - norm] = '\0';
	rc = srv_open_beneath(s, dir, O_PATH | O_DIRECTORY, 0, dirfd);
	if (rc == 0)
		*base = slash + 1;
	return rc;
}
