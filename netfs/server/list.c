/*
 * netfs/server/list.c — glob listing beneath the export root.
 *
 * The pattern is walked one component at a time with O_NOFOLLOW opens, so a
 * symlink never leads out. Components with wildcards (fnmatch: * ? [...],
 * FNM_PERIOD) match directory entries; the last component's matches are the
 * answer. A pattern without wildcards naming a directory lists its contents.
 * Symlinks and temporary files are never listed. At most SRV_LIST_MAX
 * entries, after at most SRV_LIST_SCAN_MAX directory entries looked at
 * (truncated is set), sorted by path. Cost: O(entries scanned).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "netfs/server/srv.h"

void srv_entry_from_stat(Sd__Netfs__Entry *e, const char *path, const void *statbuf)
{
	const struct stat *st = statbuf;

	sd__netfs__entry__init(e);
	e->path = (char *)path;
	e->size = S_ISDIR(st->st_mode) ? 0 : (uint64_t)st->st_size;
	e->mtime_us = (int64_t)st->st_mtim.tv_sec * 1000000 + st->st_mtim.tv_nsec / 1000;
	e->is_dir = S_ISDIR(st->st_mode);
}

void srv_list_free(struct srv_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->entries[i]->path);
		free(l->entries[i]);
	}
	free(l->entries);
	memset(l, 0, sizeof(*l));
}

static int list_add(struct srv_list *l, const char *path, const struct stat *st)
{
	Sd__Netfs__Entry *e;

	if (l->n >= SRV_LIST_MAX) {
		l->truncated = true;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		Sd__Netfs__Entry **grown = realloc(l->entries, cap * sizeof(*grown));
		if (!grown)
			return SD_ENOMEM;
		l->entries = grown;
		l->cap = cap;
	}
	e = malloc(sizeof(*e));
	char *copy = strdup(path);
	if (!e || !copy) {
		free(e);
		free(copy);
		return SD_ENOMEM;
	}
	srv_entry_from_stat(e, copy, st);
	l->entries[l->n++] = e;
	return 0;
}

static bool has_wildcard(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[')
			return true;
	return false;
}

/* prefix/name into out (NFS_PATH_MAX + 1 bytes); false when too long. */
static bool join(char *out, const char *prefix, const char *name)
{
	size_t lp = strlen(prefix), ln = strlen(name), o = 0;

	if (lp + 1 + ln > NFS_PATH_MAX)
		return false;
	if (lp) {
		memcpy(out, prefix, lp);
		out[lp] = '/';
		o = lp + 1;
	}
	memcpy(out + o, name, ln + 1);
	return true;
}

static bool listable(const char *name)
{
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       strncmp(name, SRV_TMP_PREFIX, sizeof(SRV_TMP_PREFIX) - 1) != 0;
}

/* Every entry of dirfd (borrowed) whose name matches glob (NULL: all). */
static int scan_dir(int dirfd, const char *prefix, const char *glob, const char *rest,
		    struct srv_list *out);

/* Matches rest (remaining pattern components) starting in directory dirfd. */
static int walk(int dirfd, const char *prefix, const char *rest, struct srv_list *out)
{
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	char comp[NAME_MAX + 1], path[NFS_PATH_MAX + 1];
	struct stat st;
	int child, rc;

	memcpy(comp, rest, n);
	comp[n] = '\0';
	if (has_wildcard(comp, n))
		return scan_dir(dirfd, prefix, comp, slash ? slash + 1 : NULL, out);
	if (!join(path, prefix, comp))
		return 0;
	if (slash) {
		if ((rc = srv_open_child_dir(dirfd, comp, &child)) < 0)
			return rc == SD_ENOENT || rc == SD_ENOTDIR ? 0 : rc;
		rc = walk(child, path, slash + 1, out);
		close(child);
		return rc;
	}
	if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : sd_err_from_errno(errno);
	if (S_ISLNK(st.st_mode))
		return 0;
	return list_add(out, path, &st);
}

static int scan_entry(int dirfd, const char *prefix, const char *name, const char *rest,
		      struct srv_list *out)
{
	char path[NFS_PATH_MAX + 1];
	struct stat st;
	int child, rc;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISLNK(st.st_mode))
		return 0; /* vanished or a symlink: not listed */
	if (!join(path, prefix, name))
		return 0;
	if (!rest)
		return list_add(out, path, &st);
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (srv_open_child_dir(dirfd, name, &child) < 0)
		return 0;
	rc = walk(child, path, rest, out);
	close(child);
	return rc;
}

static int scan_dir(int dirfd, const char *prefix, const char *glob, const char *rest,
		    struct srv_list *out)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (fd < 0)
		return sd_err_from_errno(errno);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return SD_ENOMEM;
	}
	while (rc == 0 && !out->truncated && (de = readdir(d)) != NULL) {
		/* Bounds the time one list holds the loop on a huge tree. */
		if (++out->scanned > SRV_LIST_SCAN_MAX) {
			out->truncated = true;
			break;
		}
		if (!listable(de->d_name))
			continue;
		if (glob && fnmatch(glob, de->d_name, FNM_PERIOD) != 0)
			continue;
		rc = scan_entry(dirfd, prefix, de->d_name, rest, out);
	}
	closedir(d);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	const Sd__Netfs__Entry *x = *(Sd__Netfs__Entry *const *)a;
	const Sd__Netfs__Entry *y = *(Sd__Netfs__Entry *const *)b;
	return strcmp(x->path, y->path);
}

int srv_list_glob(const struct srv *s, const char *norm, struct srv_list *out)
{
	int dirfd, rc;

	memset(out, 0, sizeof(*out));
	if ((dirfd = dup(s->root_fd)) < 0)
		return sd_err_from_errno(errno);
	if (strcmp(norm, ".") == 0) {
		rc = scan_dir(dirfd, "", NULL, NULL, out);
	} else if (!has_wildcard(norm, strlen(norm))) {
		/* A directory lists its contents; a file itself. */
		int fd;
		rc = srv_open_beneath(s, norm, O_PATH, 0, &fd);
		if (rc == 0) {
			struct stat st;
			if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
				rc = scan_dir(fd, norm, NULL, NULL, out);
			else
				rc = walk(dirfd, "", norm, out);
			close(fd);
		}
	} else {
		rc = walk(dirfd, "", norm, out);
	}
	close(dirfd);
	if (rc < 0) {
		srv_list_free(out);
		return rc;
	}
	if (out->n > 1)
		qsort(out->entries, out->n, sizeof(*out->entries), cmp_entry);
	return 0;
}
