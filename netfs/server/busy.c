/*
 * netfs/server/busy.c — the paths running jobs hold (stardust-netfsd).
 *
 * A concat holds its target exclusively and its sources shared; a truncate
 * holds its file exclusively. While a path is held, requests that would
 * write it (append, concat, truncate, delete, commit onto it) get SD_EBUSY
 * instead of racing with a job on a worker thread. Keys are normalized paths
 * (srv_path_normalize), so one file has one key unless it is hard-linked:
 * concat.c compares inodes for that case.
 *
 * Loop only: jobs acquire on the loop before they are queued and release in
 * their done callback. One entry per held path, freed with its last holder;
 * each call costs a hash of the path and a walk of one bucket.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "netfs/server/srv.h"

struct srv_busy {
	struct srv_busy *next;
	unsigned shared; /* concats reading the path */
	bool exclusive;  /* a job writing it */
	char path[];     /* normalized */
};

/* FNV-1a: paths come from clients, but a bucket only costs a longer walk. */
static unsigned bucket_of(const char *norm)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)norm; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % SRV_BUSY_BUCKETS;
}

static struct srv_busy **find(struct srv_busy *const *head, const char *norm)
{
	struct srv_busy *const *pp = head;

	while (*pp && strcmp((*pp)->path, norm) != 0)
		pp = &(*pp)->next;
	return (struct srv_busy **)pp;
}

int srv_busy_acquire(struct srv *s, const char *norm, bool exclusive)
{
	struct srv_busy **pp = find(&s->busy[bucket_of(norm)], norm), *b = *pp;
	size_t len;

	if (b) {
		if (exclusive || b->exclusive)
			return SD_EBUSY;
		b->shared++;
		return 0;
	}
	len = strlen(norm);
	b = malloc(sizeof(*b) + len + 1);
	if (!b)
		return SD_ENOMEM;
	b->next = NULL;
	b->shared = exclusive ? 0 : 1;
	b->exclusive = exclusive;
	memcpy(b->path, norm, len + 1);
	*pp = b;
	return 0;
}

void srv_busy_release(struct srv *s, const char *norm, bool exclusive)
{
	struct srv_busy **pp = find(&s->busy[bucket_of(norm)], norm), *b = *pp;

	assert(b && "releasing a path no job holds");
	assert(exclusive ? b->exclusive : b->shared > 0);
	if (exclusive)
		b->exclusive = false;
	else
		b->shared--;
	if (!b->exclusive && b->shared == 0) {
		*pp = b->next;
		free(b);
	}
}

bool srv_busy_held(const struct srv *s, const char *norm)
{
	return *find(&s->busy[bucket_of(norm)], norm) != NULL;
}
