/* tests/unit/node/node_testlib.c — see node_testlib.h. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "node/core/sched.h"
#include "node/plat/plat.h"
#include "node_testlib.h"

#define TB_MAX (64u << 10)

struct tt {
	struct node_task_io io;
	char mode;
	unsigned nparts;
};

uint32_t test_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static int tt_open(const uint8_t *plan, size_t len, const struct node_task_io *io, uint64_t budget,
		   void **out)
{
	struct tt *t;

	(void)budget;
	if (len < 1 || !strchr("FHBS", plan[0]) || (plan[0] == 'H' && len < 2))
		return SD_EPROTO;
	t = calloc(1, sizeof(*t));
	if (!t)
		return SD_ENOMEM;
	t->io = *io;
	t->mode = (char)plan[0];
	t->nparts = plan[0] == 'H' ? (unsigned)(plan[1] - '0') : 1;
	*out = t;
	return 0;
}

struct tbatch {
	uint8_t buf[16 + TB_MAX];
	size_t len;
	uint32_t rows;
};

static void tb_reset(struct tbatch *b)
{
	memset(b->buf, 0, 16);
	b->buf[0] = 'S';
	b->buf[1] = 'D';
	b->buf[2] = 'B';
	b->buf[3] = 1;
	b->len = 16;
	b->rows = 0;
}

static int tb_flush(struct tt *t, struct tbatch *b, unsigned part)
{
	int rc = 0;

	if (!b->rows)
		return 0;
	memcpy(b->buf + 4, &b->rows, 4);
	rc = t->io.emit(t->io.arg, 0, part, b->buf, b->len);
	tb_reset(b);
	return rc;
}

/* One record to the right place (sink: a line). */
static int tt_record(struct tt *t, struct tbatch *bs, const char *r, uint32_t n)
{
	unsigned part = 0;
	struct tbatch *b;

	if (t->mode == 'S') {
		char line[4096];

		if (n >= sizeof(line))
			return SD_ETOOBIG;
		memcpy(line, r, n);
		line[n] = '\n';
		return t->io.sink(t->io.arg, 0, line, n + 1);
	}
	if (t->mode == 'H')
		part = test_hash(r, n) % t->nparts;
	b = &bs[part];
	if (b->len + 4 + n > sizeof(b->buf)) {
		int rc = tb_flush(t, b, part);

		if (rc)
			return rc;
	}
	memcpy(b->buf + b->len, &n, 4);
	memcpy(b->buf + b->len + 4, r, n);
	b->len += 4 + n;
	b->rows++;
	return 0;
}

static int tt_flush_all(struct tt *t, struct tbatch *bs)
{
	for (unsigned p = 0; p < t->nparts; p++) {
		int rc = tb_flush(t, &bs[p], p);

		if (rc)
			return rc;
	}
	return 0;
}

static int tt_push_lines(void *h, const char *text, size_t len)
{
	struct tt *t = h;
	struct tbatch *bs = malloc(sizeof(*bs) * t->nparts);
	size_t i = 0;
	int rc = 0;

	if (!bs)
		return SD_ENOMEM;
	for (unsigned p = 0; p < t->nparts; p++)
		tb_reset(&bs[p]);
	while (i < len && rc == 0) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;

		rc = tt_record(t, bs, text + i, (uint32_t)n);
		i += n + 1;
	}
	if (rc == 0)
		rc = tt_flush_all(t, bs);
	free(bs);
	return rc;
}

static int tt_push(void *h, unsigned in, const uint8_t *batch, size_t len)
{
	struct tt *t = h;
	struct tbatch *bs = malloc(sizeof(*bs) * t->nparts);
	size_t off = 16;
	int rc = 0;

	(void)in;
	if (!bs)
		return SD_ENOMEM;
	for (unsigned p = 0; p < t->nparts; p++)
		tb_reset(&bs[p]);
	while (off + 4 <= len && rc == 0) {
		uint32_t n;

		memcpy(&n, batch + off, 4);
		if (off + 4 + n > len) {
			rc = SD_EPROTO;
			break;
		}
		rc = tt_record(t, bs, (const char *)batch + off + 4, n);
		off += 4 + n;
	}
	if (rc == 0)
		rc = tt_flush_all(t, bs);
	free(bs);
	return rc;
}

static int tt_watermark(void *h, unsigned in, int64_t ts)
{
	struct tt *t = h;

	(void)in;
	return t->mode == 'S' ? 0 : t->io.emit_watermark(t->io.arg, 0, ts);
}

static int tt_end_input(void *h, unsigned in)
{
	(void)h;
	(void)in;
	return 0;
}

static void tt_close(void *h)
{
	free(h);
}

static const char *tt_error(void *h)
{
	(void)h;
	return "";
}

static uint32_t tt_batch_records(const uint8_t *b, size_t len)
{
	uint32_t r = 0;

	if (len >= 8)
		memcpy(&r, b + 4, 4);
	return r;
}

static bool tt_is_source(void *h)
{
	(void)h;
	return false;
}

const struct node_task_ops test_task_ops = {
	.open = tt_open,
	.push = tt_push,
	.push_lines = tt_push_lines,
	.generate = NULL,
	.watermark = tt_watermark,
	.end_input = tt_end_input,
	.close = tt_close,
	.error = tt_error,
	.batch_records = tt_batch_records,
	.is_source = tt_is_source,
};

/* ---- in-memory files ------------------------------------------------------ */

#define FS_FILES 512

struct mfile {
	char path[256];
	char *data;
	size_t len;
	bool used;
};

static struct mfile files[FS_FILES], committed[FS_FILES];
static unsigned open_sinks;
static struct append_stats append_stats;

struct rh {
	struct mfile *f;
	size_t pos;
};

struct wh {
	char path[256];
	char *data;
	size_t len, cap;
};

static struct mfile *find(struct mfile *tab, const char *path)
{
	for (int i = 0; i < FS_FILES; i++)
		if (tab[i].used && !strcmp(tab[i].path, path))
			return &tab[i];
	return NULL;
}

static void put(struct mfile *tab, const char *path, const char *data, size_t len)
{
	struct mfile *f = find(tab, path);

	for (int i = 0; !f && i < FS_FILES; i++)
		if (!tab[i].used)
			f = &tab[i];
	free(f->data);
	f->used = true;
	strncpy(f->path, path, sizeof(f->path) - 1);
	f->data = malloc(len + 1);
	memcpy(f->data, data, len);
	f->len = len;
}

void test_fs_reset(void)
{
	for (int i = 0; i < FS_FILES; i++) {
		free(files[i].data);
		free(committed[i].data);
	}
	memset(files, 0, sizeof(files));
	memset(committed, 0, sizeof(committed));
	open_sinks = 0;
	memset(&append_stats, 0, sizeof(append_stats));
}

void test_fs_put(const char *path, const char *data, size_t len)
{
	put(files, path, data, len);
}

const char *test_fs_get(const char *path, size_t *len)
{
	struct mfile *f = find(committed, path);

	if (!f)
		return NULL;
	*len = f->len;
	return f->data;
}

unsigned test_fs_open_sinks(void)
{
	return open_sinks;
}

static int mf_open_read(void *ctx, const char *server, const char *token, const char *path,
			uint64_t offset, bool follow, void **h)
{
	struct mfile *f = find(files, path);
	struct rh *r;

	(void)ctx;
	(void)server;
	(void)token;
	(void)follow;
	if (!f)
		return SD_ENOENT;
	r = calloc(1, sizeof(*r));
	r->f = f;
	r->pos = offset;
	*h = r;
	return 0;
}

/* Reads in small odd pieces so split edges fall everywhere. */
static long mf_read(void *h, uint8_t *buf, size_t cap)
{
	struct rh *r = h;
	size_t n = r->f->len > r->pos ? r->f->len - r->pos : 0;

	if (n > cap)
		n = cap;
	if (n > 37)
		n = 37;
	memcpy(buf, r->f->data + r->pos, n);
	r->pos += n;
	return (long)n;
}

static void mf_close_read(void *h)
{
	free(h);
}

static int mf_create(void *ctx, const char *server, const char *token, const char *path, void **h)
{
	struct wh *w = calloc(1, sizeof(*w));

	(void)ctx;
	(void)server;
	(void)token;
	strncpy(w->path, path, sizeof(w->path) - 1);
	open_sinks++;
	*h = w;
	return 0;
}

static uint64_t write_delay_us;

void test_fs_set_write_delay_us(uint64_t us)
{
	write_delay_us = us;
}

static int mf_write(void *h, const void *data, size_t len)
{
	struct wh *w = h;

	static unsigned writes;

	if (write_delay_us && ++writes % 256 == 0)
		sched_sleep_until(plat_now_us() + write_delay_us);
	if (w->len + len > w->cap) {
		w->cap = (w->len + len) * 2;
		w->data = realloc(w->data, w->cap);
	}
	memcpy(w->data + w->len, data, len);
	w->len += len;
	return 0;
}

static void mf_discard(void *h)
{
	struct wh *w = h;

	open_sinks--;
	free(w->data);
	free(w);
}

static int mf_commit(void *h)
{
	struct wh *w = h;

	put(committed, w->path, w->data ? w->data : "", w->len);
	mf_discard(h);
	return 0;
}

const struct append_stats *test_fs_append_stats(void)
{
	return &append_stats;
}

/* Appends go straight to the visible (committed) table, as on netfs. */
static int mf_open_append(void *ctx, const char *server, const char *token, const char *path,
			  void **h)
{
	struct wh *w = calloc(1, sizeof(*w));

	(void)ctx;
	(void)server;
	(void)token;
	strncpy(w->path, path, sizeof(w->path) - 1);
	if (!find(committed, path))
		put(committed, path, "", 0);
	open_sinks++;
	*h = w;
	return 0;
}

static int mf_append(void *h, const void *data, size_t len)
{
	struct wh *w = h;
	struct mfile *f = find(committed, w->path);
	char *p = realloc(f->data, f->len + len + 1);

	if (!p)
		return -1;
	memcpy(p + f->len, data, len);
	f->data = p;
	f->len += len;
	append_stats.appends++;
	if (len > append_stats.max_len)
		append_stats.max_len = len;
	if (!len || ((const char *)data)[len - 1] != '\n')
		append_stats.not_whole_lines++;
	return 0;
}

static void mf_close_append(void *h)
{
	open_sinks--;
	free(h);
}

const struct node_fs_ops test_fs_ops = {
	.open_append = mf_open_append,
	.append = mf_append,
	.close_append = mf_close_append,
	.ctx = NULL,
	.open_read = mf_open_read,
	.read = mf_read,
	.close_read = mf_close_read,
	.create = mf_create,
	.write = mf_write,
	.commit = mf_commit,
	.discard = mf_discard,
};
