/*
 * dataflow/tools/local.c — stardust-local: compile a job and run it in one
 * process over local files (hosted developer tool; not part of the
 * portable library).
 *
 *   stardust-local [--plan | --json | --dot] [--root DIR] [--parallelism N]
 *                  [--memory BYTES] [--stats] JOB.sd
 *
 * netfs://X maps to DIR/X (default DIR "."). Every task runs through the
 * real node-facing API: its plan is encoded with df_task_plan_encode and
 * opened with df_task_open, batches travel as encoded bytes between tasks,
 * watermarks are merged per input as a node would (minimum over the
 * producers). Stages run in order, each task to completion. Tail sources
 * read the file's current content and then end (so window jobs finish).
 * File sinks are written to a temporary name and renamed when the job
 * succeeds; collect() output is printed at the end, print() as it comes.
 */
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "dataflow/dataflow.h"

#define LOCAL_CHUNK (1u << 20) /* bytes of input per df_task_push_lines */

struct item {
	uint8_t *batch; /* NULL: a watermark */
	size_t len;
	int64_t wm;
};

struct input {
	struct item *items;
	size_t n, cap;
	int64_t *producer_wm; /* per producer partition */
	unsigned n_producers;
	int64_t delivered;
};

struct ltask {
	struct df_task *t;
	unsigned id, stage, partition;
	struct input in[2];
	struct local *L;
};

struct sinkout {
	FILE *f;
	char *final, *tmp;
	char *collected;
	size_t clen, ccap;
};

struct local {
	struct df_job *job;
	const char *root;
	struct ltask *tasks;
	unsigned n_tasks;
	struct sinkout *sinks;
	unsigned n_sinks;
	uint64_t memory;
	int failed;
};

static int push_item(struct input *in, const uint8_t *b, size_t len, int64_t wm)
{
	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 64;
		struct item *ni = realloc(in->items, cap * sizeof(*ni));
		if (!ni)
			return SD_ENOMEM;
		in->items = ni;
		in->cap = cap;
	}
	struct item *it = &in->items[in->n];
	it->batch = NULL;
	it->len = len;
	it->wm = wm;
	if (b) {
		if (!(it->batch = malloc(len)))
			return SD_ENOMEM;
		memcpy(it->batch, b, len);
	}
	in->n++;
	return 0;
}

static const struct df_channel_info *find_chan(struct local *L, unsigned stage, unsigned out)
{
	unsigned n;
	const struct df_channel_info *c = df_job_channels(L->job, &n);
	for (unsigned i = 0; i < n; i++)
		if (c[i].from_stage == stage && c[i].from_output == out)
			return &c[i];
	return NULL;
}

static int on_emit(void *arg, unsigned out, unsigned part, const uint8_t *batch, size_t len)
{
	struct ltask *lt = arg;
	struct local *L = lt->L;
	unsigned ns;
	const struct df_stage_info *st = df_job_stages(L->job, &ns);
	const struct df_channel_info *c = find_chan(L, lt->stage, out);
	if (!c)
		return SD_EINVAL;
	const struct df_stage_info *to = &st[c->to_stage];
	for (unsigned p = 0; p < to->parallelism; p++) {
		if (c->kind != DF_CHAN_BROADCAST && p != part)
			continue;
		int rc = push_item(&L->tasks[to->first_task + p].in[c->to_input], batch, len, 0);
		if (rc)
			return rc;
	}
	return 0;
}

static int on_watermark(void *arg, unsigned out, int64_t wm)
{
	struct ltask *lt = arg;
	struct local *L = lt->L;
	unsigned ns;
	const struct df_stage_info *st = df_job_stages(L->job, &ns);
	const struct df_channel_info *c = find_chan(L, lt->stage, out);
	if (!c)
		return SD_EINVAL;
	const struct df_stage_info *to = &st[c->to_stage];
	for (unsigned p = 0; p < to->parallelism; p++) {
		struct input *in = &L->tasks[to->first_task + p].in[c->to_input];
		int64_t min = INT64_MAX;
		if (lt->partition < in->n_producers && wm > in->producer_wm[lt->partition])
			in->producer_wm[lt->partition] = wm;
		for (unsigned k = 0; k < in->n_producers; k++)
			if (in->producer_wm[k] < min)
				min = in->producer_wm[k];
		if (min > in->delivered && min != INT64_MAX) {
			in->delivered = min;
			int rc = push_item(in, NULL, 0, min);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int on_sink(void *arg, unsigned sink, const char *text, size_t len)
{
	struct ltask *lt = arg;
	struct local *L = lt->L;
	unsigned n;
	const struct df_sink_info *si = df_job_sinks(L->job, &n);
	struct sinkout *so;
	if (sink >= n)
		return SD_EINVAL;
	so = &L->sinks[sink];
	switch (si[sink].kind) {
	case DF_SINK_PRINT:
		fwrite(text, 1, len, stdout);
		return 0;
	case DF_SINK_COLLECT:
		if (so->clen + len > so->ccap) {
			size_t cap = (so->clen + len) * 2;
			char *nc = realloc(so->collected, cap);
			if (!nc)
				return SD_ENOMEM;
			so->collected = nc;
			so->ccap = cap;
		}
		memcpy(so->collected + so->clen, text, len);
		so->clen += len;
		return 0;
	default:
		return fwrite(text, 1, len, so->f) == len ? 0 : SD_EIO;
	}
}

static char *map_path(struct local *L, const char *url)
{
	const char *rel = url + strlen("netfs://");
	size_t n = strlen(L->root) + strlen(rel) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", L->root, rel);
	return p;
}

static int mkdirs_for(const char *path)
{
	char *d = strdup(path);
	if (!d)
		return SD_ENOMEM;
	for (char *s = d + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(d, 0777) != 0 && errno != EEXIST) {
			int rc = sd_err_from_errno(errno);
			free(d);
			return rc;
		}
		*s = '/';
	}
	free(d);
	return 0;
}

static int open_sinks(struct local *L)
{
	const struct df_sink_info *si = df_job_sinks(L->job, &L->n_sinks);
	if (!(L->sinks = calloc(L->n_sinks + 1, sizeof(*L->sinks))))
		return SD_ENOMEM;
	for (unsigned i = 0; i < L->n_sinks; i++) {
		struct sinkout *so = &L->sinks[i];
		if (si[i].kind != DF_SINK_TEXT && si[i].kind != DF_SINK_CSV)
			continue;
		so->final = map_path(L, si[i].path);
		so->tmp = malloc(strlen(so->final) + 32);
		if (!so->final || !so->tmp)
			return SD_ENOMEM;
		snprintf(so->tmp, strlen(so->final) + 32, "%s.tmp-%d", so->final, (int)getpid());
		if (mkdirs_for(so->final) || !(so->f = fopen(so->tmp, "wb"))) {
			fprintf(stderr, "stardust-local: cannot write %s: %s\n", so->tmp,
				strerror(errno));
			return SD_EIO;
		}
	}
	return 0;
}

static int close_sinks(struct local *L, bool commit)
{
	int rc = 0;
	for (unsigned i = 0; i < L->n_sinks; i++) {
		struct sinkout *so = &L->sinks[i];
		if (so->f) {
			if (fclose(so->f) != 0)
				rc = SD_EIO;
			if (commit && !rc && rename(so->tmp, so->final) != 0)
				rc = sd_err_from_errno(errno);
			if (!commit || rc)
				unlink(so->tmp);
		}
		if (commit && so->collected)
			fwrite(so->collected, 1, so->clen, stdout);
		free(so->final);
		free(so->tmp);
		free(so->collected);
	}
	free(L->sinks);
	return rc;
}

static int task_failed(struct ltask *lt, int rc)
{
	const char *why = lt->t ? df_task_error(lt->t) : "";
	fprintf(stderr, "stardust-local: task %u (stage %u partition %u) failed: %s%s%s\n", lt->id,
		lt->stage, lt->partition, sd_strerror(rc), *why ? ": " : "", why);
	return rc;
}

/* Feeds one file to a source task in chunks cut at newlines. */
static int feed_file(struct ltask *lt, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t have = 0;
	int rc = 0;
	if (!f) {
		fprintf(stderr, "stardust-local: cannot read %s: %s\n", path, strerror(errno));
		return SD_ENOENT;
	}
	if (!(buf = malloc(LOCAL_CHUNK))) {
		fclose(f);
		return SD_ENOMEM;
	}
	for (;;) {
		size_t n = fread(buf + have, 1, LOCAL_CHUNK - have, f);
		have += n;
		if (have == 0)
			break;
		size_t cut = have;
		if (n != 0) {
			while (cut > 0 && buf[cut - 1] != '\n')
				cut--;
			if (cut == 0)
				cut = have; /* a line longer than the chunk: pass as is */
		}
		if ((rc = df_task_push_lines(lt->t, buf, cut)))
			break;
		memmove(buf, buf + cut, have - cut);
		have -= cut;
		if (n == 0 && have == 0)
			break;
	}
	free(buf);
	fclose(f);
	return rc;
}

static int run_source(struct local *L, struct ltask *lt, const struct df_stage_info *st)
{
	unsigned n;
	const struct df_source_info *src = &df_job_sources(L->job, &n)[st->source];
	int rc = 0;

	if (src->kind == DF_SRC_GENERATE) {
		bool done = false;
		while (!done && !rc)
			rc = df_task_generate(lt->t, 65536, &done);
		return rc ? rc : df_task_end_input(lt->t, 0);
	}
	char *pattern = map_path(L, src->path);
	glob_t g;
	if (!pattern)
		return SD_ENOMEM;
	int gr = glob(pattern, 0, NULL, &g);
	if (gr == GLOB_NOMATCH)
		fprintf(stderr, "stardust-local: warning: %s matches no file\n", pattern);
	free(pattern);
	for (size_t k = 0; gr == 0 && k < g.gl_pathc && !rc; k++)
		if (k % st->parallelism == lt->partition)
			rc = feed_file(lt, g.gl_pathv[k]);
	if (gr == 0)
		globfree(&g);
	return rc ? rc : df_task_end_input(lt->t, 0);
}

static int run_task(struct local *L, struct ltask *lt, const struct df_stage_info *st)
{
	int rc = 0;
	if (st->source >= 0)
		return run_source(L, lt, st);
	for (unsigned i = 0; i < st->n_inputs && !rc; i++) {
		struct input *in = &lt->in[i];
		for (size_t k = 0; k < in->n && !rc; k++) {
			struct item *it = &in->items[k];
			rc = it->batch ? df_task_push(lt->t, i, it->batch, it->len)
				       : df_task_watermark(lt->t, i, it->wm);
			free(it->batch);
			it->batch = NULL;
		}
		if (!rc)
			rc = df_task_end_input(lt->t, i);
	}
	return rc;
}

static int open_tasks(struct local *L)
{
	unsigned ns, nc;
	const struct df_stage_info *st = df_job_stages(L->job, &ns);
	const struct df_channel_info *ch = df_job_channels(L->job, &nc);

	L->n_tasks = df_job_task_count(L->job);
	if (!(L->tasks = calloc(L->n_tasks, sizeof(*L->tasks))))
		return SD_ENOMEM;
	for (unsigned id = 0; id < L->n_tasks; id++) {
		struct ltask *lt = &L->tasks[id];
		struct df_task_info ti;
		uint8_t *plan;
		size_t len;
		int rc;
		df_job_task(L->job, id, &ti);
		lt->id = id;
		lt->stage = ti.stage;
		lt->partition = ti.partition;
		lt->L = L;
		for (unsigned c = 0; c < nc; c++) {
			if (ch[c].to_stage != ti.stage)
				continue;
			struct input *in = &lt->in[ch[c].to_input];
			in->n_producers = st[ch[c].from_stage].parallelism;
			in->delivered = INT64_MIN;
			if (!(in->producer_wm = malloc(sizeof(int64_t) * in->n_producers)))
				return SD_ENOMEM;
			for (unsigned k = 0; k < in->n_producers; k++)
				in->producer_wm[k] = INT64_MIN;
		}
		struct df_task_io io = {lt, on_emit, on_watermark, on_sink};
		if ((rc = df_task_plan_encode(L->job, id, &plan, &len)))
			return rc;
		rc = df_task_open(plan, len, &io, L->memory, &lt->t);
		free(plan);
		if (rc)
			return task_failed(lt, rc);
	}
	return 0;
}

static void close_tasks(struct local *L, bool stats)
{
	for (unsigned id = 0; L->tasks && id < L->n_tasks; id++) {
		struct ltask *lt = &L->tasks[id];
		if (lt->t && stats) {
			struct df_task_stats s;
			df_task_get_stats(lt->t, &s);
			fprintf(stderr,
				"task %u stage %u/%u: in %llu out %llu late %llu bad %llu\n", id,
				lt->stage, lt->partition, (unsigned long long)s.records_in,
				(unsigned long long)s.records_out,
				(unsigned long long)s.late_records,
				(unsigned long long)s.bad_records);
		}
		df_task_close(lt->t);
		for (int i = 0; i < 2; i++) {
			for (size_t k = 0; k < lt->in[i].n; k++)
				free(lt->in[i].items[k].batch);
			free(lt->in[i].items);
			free(lt->in[i].producer_wm);
		}
	}
	free(L->tasks);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: stardust-local [--plan | --json | --dot] [--root DIR] [--parallelism N] "
		"[--memory BYTES] [--stats] JOB.sd\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct local L = {.root = "."};
	struct df_compile_opts opts = {0};
	bool plan_only = false, stats = false;
	size_t (*plan_fn)(const struct df_job *, char *, size_t) = df_plan_explain;
	const char *file = NULL;
	struct df_diag diag;
	size_t len;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--plan"))
			plan_only = true;
		else if (!strcmp(argv[i], "--json"))
			plan_fn = df_plan_json, plan_only = true;
		else if (!strcmp(argv[i], "--dot"))
			plan_fn = df_plan_dot, plan_only = true;
		else if (!strcmp(argv[i], "--stats"))
			stats = true;
		else if (!strcmp(argv[i], "--root") && i + 1 < argc)
			L.root = argv[++i];
		else if (!strcmp(argv[i], "--parallelism") && i + 1 < argc)
			opts.default_parallelism = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--memory") && i + 1 < argc)
			L.memory = strtoull(argv[++i], NULL, 10);
		else if (argv[i][0] == '-' || file)
			return usage();
		else
			file = argv[i];
	}
	if (!file)
		return usage();
	char *src = read_file(file, &len);
	if (!src) {
		fprintf(stderr, "stardust-local: cannot read %s: %s\n", file, strerror(errno));
		return 1;
	}
	rc = df_compile(src, len, file, &opts, &L.job, &diag);
	free(src);
	if (rc) {
		fputs(diag.text, stderr);
		return 1;
	}
	if (plan_only) {
		size_t need = plan_fn(L.job, NULL, 0) + 1;
		char *text = malloc(need);
		if (text) {
			plan_fn(L.job, text, need);
			fputs(text, stdout);
		}
		free(text);
		df_job_free(L.job);
		return text ? 0 : 1;
	}
	rc = open_sinks(&L);
	if (!rc)
		rc = open_tasks(&L);
	unsigned ns;
	const struct df_stage_info *st = df_job_stages(L.job, &ns);
	for (unsigned s = 0; s < ns && !rc; s++)
		for (unsigned p = 0; p < st[s].parallelism && !rc; p++) {
			struct ltask *lt = &L.tasks[st[s].first_task + p];
			if ((rc = run_task(&L, lt, &st[s])))
				task_failed(lt, rc);
		}
	close_tasks(&L, stats);
	int crc = close_sinks(&L, rc == 0);
	df_job_free(L.job);
	if (!rc && crc)
		fprintf(stderr, "stardust-local: committing outputs: %s\n", sd_strerror(crc));
	return rc || crc ? 1 : 0;
}
