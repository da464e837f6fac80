/*
 * coordinator/compile.c — where the coordinator meets dataflow/: compile a
 * submission, describe the plan as JSON, and build each task's Deploy
 * (operator chain bytes, channel endpoints, input splits, sink).
 *
 * Wiring (which partitions a channel connects, ports, channel keys, part
 * names) is dataflow's (df_task_wiring, df_channel_key): this file only
 * copies its answers into Deploy messages.
 */
#include "coordinator/coord_priv.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/dataflow.h"
#include "placement/placement.h"

const char *coord__netfs_path(const char *uri)
{
	return strncmp(uri, "netfs://", 8) == 0 ? uri + 8 : uri;
}

int coord_sink_part_name(char *out, size_t cap, const char *path, const char *job_id,
			 uint32_t attempt, uint32_t partition)
{
	return df_sink_part_name(out, cap, path, job_id, attempt, partition);
}

char *coord__strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void coord__free_compiled(struct coord_job *job)
{
	struct coord_compiled *c = job->compiled;
	if (!c)
		return;
	df_job_free(c->df);
	free(c->constraints);
	for (size_t i = 0; i < c->n_splits; i++)
		free(c->splits[i].path);
	free(c->splits);
	free(c->explain);
	free(c->placement);
	free(c);
	job->compiled = NULL;
}

static int parse_flags(struct coord_compiled *c, const struct coord_submit *sub, char *err,
		       size_t err_cap)
{
	size_t n = sub->n_constraints + sub->n_preferences;
	if (n > COORD_CONSTRAINTS_MAX) {
		snprintf(err, err_cap, "more than %u constraints and preferences",
			 COORD_CONSTRAINTS_MAX);
		return SD_ELIMIT;
	}
	if (n == 0)
		return 0;
	c->constraints = calloc(n, sizeof(*c->constraints));
	if (!c->constraints)
		return SD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		bool pref = i >= sub->n_constraints;
		const char *text =
			pref ? sub->preferences[i - sub->n_constraints] : sub->constraints[i];
		char why[PLC_TEXT_MAX];
		if (plc_constraint_parse(text, pref, &c->constraints[i], why, sizeof(why))) {
			snprintf(err, err_cap, "%s \"%s\": %s", pref ? "--prefer" : "--constraint",
				 text, why);
			return SD_EINVAL;
		}
		c->n_constraints = i + 1;
	}
	return 0;
}

static int fill_stages_and_tasks(struct coord_job *job, const struct df_job *df)
{
	unsigned ns = 0;
	const struct df_stage_info *st = df_job_stages(df, &ns);
	unsigned nt = df_job_task_count(df);
	job->stages = calloc(ns ? ns : 1, sizeof(*job->stages));
	job->tasks = calloc(nt ? nt : 1, sizeof(*job->tasks));
	if (!job->stages || !job->tasks)
		return SD_ENOMEM;
	for (unsigned i = 0; i < ns; i++) {
		job->stages[i].stage_id = st[i].id;
		job->stages[i].parallelism = st[i].parallelism;
		job->stages[i].name = coord__strndup(st[i].name ? st[i].name : "", 256);
		job->n_stages = i + 1;
		if (!job->stages[i].name)
			return SD_ENOMEM;
	}
	for (unsigned i = 0; i < nt; i++) {
		struct df_task_info ti;
		if (df_job_task(df, i, &ti))
			return SD_EINTERNAL;
		job->tasks[i].task_id = ti.task_id;
		job->tasks[i].stage_id = ti.stage;
		job->tasks[i].partition = ti.partition;
		job->tasks[i].counters.watermark_us = INT64_MIN;
	}
	job->n_tasks = nt;
	return 0;
}

static const char *chan_kind_name(enum df_chan_kind k)
{
	static const char *const names[] = {"forward", "hash", "broadcast", "gather"};
	return (unsigned)k < 4 ? names[k] : "?";
}

/* The plan as JSON: stages, channels, sources, sinks, and the readable text. */
static char *plan_json(const struct coord_job *job, const struct coord_compiled *c)
{
	const struct df_job *df = c->df;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", df_job_name(df) ? df_job_name(df) : "");
	cJSON_AddBoolToObject(o, "bounded", df_job_bounded(df));
	cJSON_AddStringToObject(o, "explain", c->explain ? c->explain : "");
	unsigned n;
	const struct df_stage_info *st = df_job_stages(df, &n);
	cJSON *arr = cJSON_AddArrayToObject(o, "stages");
	for (unsigned i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "id", st[i].id);
		cJSON_AddStringToObject(s, "name", st[i].name ? st[i].name : "");
		cJSON_AddNumberToObject(s, "parallelism", st[i].parallelism);
		cJSON_AddNumberToObject(s, "first_task", st[i].first_task);
		cJSON_AddNumberToObject(s, "inputs", st[i].n_inputs);
		cJSON_AddNumberToObject(s, "outputs", st[i].n_outputs);
		cJSON_AddBoolToObject(s, "bounded", st[i].bounded);
		cJSON_AddItemToArray(arr, s);
	}
	const struct df_channel_info *ch = df_job_channels(df, &n);
	arr = cJSON_AddArrayToObject(o, "channels");
	for (unsigned i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "id", ch[i].id);
		cJSON_AddNumberToObject(s, "from_stage", ch[i].from_stage);
		cJSON_AddNumberToObject(s, "to_stage", ch[i].to_stage);
		cJSON_AddStringToObject(s, "kind", chan_kind_name(ch[i].kind));
		cJSON_AddItemToArray(arr, s);
	}
	const struct df_source_info *src = df_job_sources(df, &n);
	arr = cJSON_AddArrayToObject(o, "sources");
	for (unsigned i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "stage", src[i].stage);
		if (src[i].path)
			cJSON_AddStringToObject(s, "path", src[i].path);
		else
			cJSON_AddNullToObject(s, "path");
		cJSON_AddBoolToObject(s, "follow", src[i].follow);
		cJSON_AddItemToArray(arr, s);
	}
	const struct df_sink_info *sk = df_job_sinks(df, &n);
	arr = cJSON_AddArrayToObject(o, "sinks");
	for (unsigned i = 0; i < n; i++) {
		static const char *const kinds[] = {"text", "csv", "collect", "print"};
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "stage", sk[i].stage);
		cJSON_AddStringToObject(s, "kind",
					(unsigned)sk[i].kind < 4 ? kinds[sk[i].kind] : "?");
		if (sk[i].path)
			cJSON_AddStringToObject(s, "path", sk[i].path);
		else
			cJSON_AddNullToObject(s, "path");
		char out[COORD_PATH_MAX];
		if (coord_sink_output(out, sizeof(out), job, sk[i].id, sk[i].path) == 0)
			cJSON_AddStringToObject(s, "output", out);
		cJSON_AddItemToArray(arr, s);
	}
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/*
 * Where a job's file sinks are, for its status: per written sink its final
 * output and whether it streams; streaming jobs also list the part files
 * their tasks append to (the output while the job runs and after it ends).
 */
void *coord__sinks_json(const struct coord_job *job)
{
	cJSON *arr = cJSON_CreateArray();
	const struct coord_compiled *c = job->compiled;
	if (!arr || !c || !c->df)
		return arr;
	bool streaming = !df_job_bounded(c->df);
	unsigned n, nst;
	const struct df_sink_info *sk = df_job_sinks(c->df, &n);
	const struct df_stage_info *st = df_job_stages(c->df, &nst);
	for (unsigned i = 0; i < n; i++) {
		bool first = true; /* the first sink of a stage is the written one */
		for (unsigned k = 0; k < i; k++)
			first &= sk[k].stage != sk[i].stage;
		char out[COORD_PATH_MAX], part[COORD_PATH_MAX];
		if (!first || sk[i].stage >= nst ||
		    coord_sink_output(out, sizeof(out), job, sk[i].id, sk[i].path))
			continue;
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "output", out);
		cJSON_AddBoolToObject(s, "streaming", streaming);
		cJSON *parts = cJSON_AddArrayToObject(s, "parts");
		for (unsigned p = 0; streaming && p < st[sk[i].stage].parallelism; p++)
			if (coord_sink_part_name(part, sizeof(part), out, job->id, 0, p) == 0)
				cJSON_AddItemToArray(parts, cJSON_CreateString(part));
		cJSON_AddItemToArray(arr, s);
	}
	return arr;
}

int coord__compile(struct coord_job *job, const struct coord_submit *sub, char *err, size_t err_cap)
{
	struct coord_compiled *c = calloc(1, sizeof(*c));
	if (!c)
		return SD_ENOMEM;
	job->compiled = c;
	struct df_diag diag;
	memset(&diag, 0, sizeof(diag));
	char file[COORD_NAME_MAX + 4];
	snprintf(file, sizeof(file), "%s", sub->name && sub->name[0] ? sub->name : "job.sd");
	int rc = df_compile(sub->text, sub->text_len, file, NULL, &c->df, &diag);
	if (rc) {
		/* The compiler's own words, as is (file:line:col, the line, a caret). */
		size_t len = strnlen(diag.text, sizeof(diag.text));
		while (len && diag.text[len - 1] == '\n')
			len--;
		snprintf(err, err_cap, "%.*s", (int)len, len ? diag.text : sd_strerror(rc));
		return diag.code < 0 ? diag.code : rc;
	}
	rc = parse_flags(c, sub, err, err_cap);
	if (rc)
		return rc;
	rc = fill_stages_and_tasks(job, c->df);
	if (rc)
		return rc;
	size_t need = df_plan_explain(c->df, NULL, 0);
	c->explain = malloc(need + 1);
	if (!c->explain)
		return SD_ENOMEM;
	df_plan_explain(c->df, c->explain, need + 1);
	if (!sub->name || !sub->name[0]) {
		free(job->name);
		job->name = coord__strndup(df_job_name(c->df) ? df_job_name(c->df) : "job",
					   COORD_NAME_MAX);
		if (!job->name)
			return SD_ENOMEM;
	}
	job->plan_json = plan_json(job, c);
	return job->plan_json ? 0 : SD_ENOMEM;
}

/* ---- Deploy ---- */

static void *scratch_alloc(struct coord_deploy_scratch *s, size_t n)
{
	if (s->n == sizeof(s->mem) / sizeof(s->mem[0]))
		return NULL;
	void *p = calloc(1, n ? n : 1);
	if (p)
		s->mem[s->n++] = p;
	return p;
}

void coord__deploy_scratch_free(struct coord_deploy_scratch *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->mem[i]);
	s->n = 0;
}

static Sd__Control__Partitioning partitioning(enum df_chan_kind k)
{
	switch (k) {
	case DF_CHAN_HASH:
		return SD__CONTROL__PARTITIONING__PART_HASH;
	case DF_CHAN_BROADCAST:
		return SD__CONTROL__PARTITIONING__PART_BROADCAST;
	case DF_CHAN_GATHER:
		return SD__CONTROL__PARTITIONING__PART_GATHER;
	default:
		return SD__CONTROL__PARTITIONING__PART_FORWARD;
	}
}

/* Copies dataflow's wiring of one task into Channel messages. */
static void channel_ends(const struct coord_jobs *t, const struct coord_job *job,
			 const struct df_chan_end *ends, size_t n, Sd__Control__Channel *out)
{
	for (size_t k = 0; k < n; k++) {
		const struct df_chan_end *de = &ends[k];
		Sd__Control__Channel *e = &out[k];
		assert(de->peer_task < job->n_tasks);
		const struct coord_task *pt = &job->tasks[de->peer_task];
		const struct coord_node *pn = coord_registry_find_id(t->registry, pt->node_id);
		sd__control__channel__init(e);
		e->channel_id = df_channel_key(job->id, job->attempt, de->df_channel,
					       de->producer_partition, de->consumer_partition);
		e->df_channel = de->df_channel;
		e->producer_partition = de->producer_partition;
		e->consumer_partition = de->consumer_partition;
		e->peer_task_id = pt->task_id;
		e->peer_node = pn ? pn->name : "";
		e->peer_host = pn ? pn->data_host : "";
		e->peer_port = pn ? pn->data_port : 0;
		e->partitioning = partitioning(de->kind);
		e->credits = COORD_CHANNEL_CREDITS;
		e->port = 1 + de->port; /* this end's operator port, plus one */
	}
}

static int fill_channels(const struct coord_jobs *t, const struct coord_job *job,
			 const struct coord_task *task, bool inputs, Sd__Control__Channel ***list,
			 size_t *n, struct coord_deploy_scratch *s)
{
	const struct coord_compiled *c = job->compiled;
	*n = df_task_wiring(c->df, task->task_id, inputs, NULL, 0);
	if (*n == 0)
		return 0;
	struct df_chan_end *ends = scratch_alloc(s, *n * sizeof(*ends));
	Sd__Control__Channel *arr = scratch_alloc(s, *n * sizeof(*arr));
	*list = scratch_alloc(s, *n * sizeof(**list));
	if (!ends || !arr || !*list)
		return SD_ENOMEM;
	unsigned got = df_task_wiring(c->df, task->task_id, inputs, ends, (unsigned)*n);
	assert(got == *n);
	(void)got;
	channel_ends(t, job, ends, *n, arr);
	for (size_t i = 0; i < *n; i++)
		(*list)[i] = &arr[i];
	return 0;
}

static int fill_splits(const struct coord_jobs *t, const struct coord_job *job,
		       const struct coord_task *task, Sd__Control__Deploy *d,
		       struct coord_deploy_scratch *s, char *server)
{
	const struct coord_compiled *c = job->compiled;
	size_t n = 0;
	for (size_t i = 0; i < c->n_splits; i++)
		n += c->splits[i].task_id == task->task_id;
	if (n == 0)
		return 0;
	Sd__Control__InputSplit *arr = scratch_alloc(s, n * sizeof(*arr));
	d->splits = scratch_alloc(s, n * sizeof(*d->splits));
	if (!arr || !d->splits)
		return SD_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < c->n_splits; i++) {
		const struct coord_split *sp = &c->splits[i];
		if (sp->task_id != task->task_id)
			continue;
		sd__control__input_split__init(&arr[k]);
		arr[k].server = server;
		arr[k].path = sp->path;
		arr[k].offset = sp->offset;
		arr[k].length = sp->length;
		arr[k].follow = sp->follow;
		d->splits[k] = &arr[k];
		k++;
	}
	d->n_splits = k;
	return 0;
}

int coord_sink_output(char *out, size_t cap, const struct coord_job *job, unsigned sink_id,
		      const char *path)
{
	int n = path ? snprintf(out, cap, "%s", coord__netfs_path(path))
		     : snprintf(out, cap, COORD_RESULTS_DIR "/%s/sink-%u", job->id, sink_id);
	return n > 0 && (size_t)n < cap ? 0 : SD_ETOOBIG;
}

static int fill_sink(const struct coord_job *job, const struct coord_task *task,
		     Sd__Control__Deploy *d, struct coord_deploy_scratch *s, char *server)
{
	const struct coord_compiled *c = job->compiled;
	unsigned n;
	const struct df_sink_info *sk = df_job_sinks(c->df, &n);
	for (unsigned i = 0; i < n; i++) {
		if (sk[i].stage != task->stage_id)
			continue;
		Sd__Control__SinkTarget *st = scratch_alloc(s, sizeof(*st));
		char *final = scratch_alloc(s, COORD_PATH_MAX);
		if (!st || !final)
			return SD_ENOMEM;
		int rc = coord_sink_output(final, COORD_PATH_MAX, job, sk[i].id, sk[i].path);
		if (rc)
			return rc;
		sd__control__sink_target__init(st);
		st->server = server;
		/* The final name: the task writes (and commits at JobDone) its part
		 * coord_sink_part_name(final, job, partition); see sinks.c. */
		st->path = final;
		/* Unbounded: the task appends its part as it goes (sinks.c). */
		st->append = !df_job_bounded(c->df);
		d->sink = st;
		return 0; /* one sink per task (Deploy.sink is singular) */
	}
	return 0;
}

int coord__fill_deploy(const struct coord_jobs *t, const struct coord_job *job,
		       const struct coord_task *task, Sd__Control__Deploy *d,
		       struct coord_deploy_scratch *s)
{
	d->job_id = (char *)job->id;
	d->attempt = job->attempt;
	d->task_id = task->task_id;
	d->stage_id = task->stage_id;
	d->partition = task->partition;
	d->parallelism =
		task->stage_id < job->n_stages ? job->stages[task->stage_id].parallelism : 1;
	d->netfs_token = (char *)(t->netfs.token ? t->netfs.token : "");
	const struct coord_compiled *c = job->compiled;
	if (!c)
		return 0; /* a test job: no plan */
	uint8_t *plan = NULL;
	size_t len = 0;
	int rc = df_task_plan_encode(c->df, task->task_id, &plan, &len);
	if (rc)
		return rc;
	if (s->n == sizeof(s->mem) / sizeof(s->mem[0])) {
		free(plan);
		return SD_ENOMEM;
	}
	s->mem[s->n++] = plan;
	d->plan.data = plan;
	d->plan.len = len;
	char *server = scratch_alloc(s, 300);
	if (!server)
		return SD_ENOMEM;
	if (t->netfs.host)
		snprintf(server, 300, "%s:%u", t->netfs.host, t->netfs.port);
	rc = fill_channels(t, job, task, true, &d->inputs, &d->n_inputs, s);
	if (rc == 0)
		rc = fill_channels(t, job, task, false, &d->outputs, &d->n_outputs, s);
	if (rc == 0)
		rc = fill_splits(t, job, task, d, s, server);
	if (rc == 0)
		rc = fill_sink(job, task, d, s, server);
	char *dir = rc ? NULL : scratch_alloc(s, COORD_PATH_MAX * 3);
	if (rc == 0 && !dir)
		rc = SD_ENOMEM;
	if (rc == 0)
		rc = coord__chk_fill_deploy(job, task, d, dir, dir + COORD_PATH_MAX,
					    dir + 2 * COORD_PATH_MAX, COORD_PATH_MAX);
	if (rc == 0 && d->checkpoint_dir && d->checkpoint_dir[0])
		d->checkpoint_server = server;
	return rc;
}
