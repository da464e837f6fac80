/*
 * coordinator/api_render.c — the JSON documents the HTTP API serves.
 *
 * Shapes follow Flink's REST API where it fits (jobs with vertices, each
 * with parallelism, state and metrics; a root exception and the rest), with
 * snake_case keys. Times are Unix epoch milliseconds (*_ms), durations
 * milliseconds, sizes bytes. Every renderer returns owned text (free()) or
 * NULL when memory ran out. docs/api.md shows an example of each.
 */
#include "coordinator/coord_priv.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* Backpressure level thresholds, as Flink: share of time spent waiting. */
#define BACKPRESSURE_LOW  0.10
#define BACKPRESSURE_HIGH 0.50

static char *finish(cJSON *root)
{
	char *text = root ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	return text;
}

static void add_ms(cJSON *o, const char *key, uint64_t us)
{
	if (us == 0)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, (double)(us / 1000));
}

static cJSON *node_json(const struct coord_node *n, uint64_t now_us)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)n->id);
	cJSON_AddStringToObject(o, "name", n->name);
	cJSON_AddStringToObject(o, "state", coord_node_state_name(n->state));
	cJSON_AddStringToObject(o, "region", n->region);
	cJSON_AddStringToObject(o, "zone", n->zone);
	cJSON *labels = cJSON_AddObjectToObject(o, "labels");
	for (size_t i = 0; i < n->n_labels; i++)
		cJSON_AddStringToObject(labels, n->labels[i].key, n->labels[i].value);
	cJSON_AddNumberToObject(o, "slots", n->slots);
	cJSON_AddNumberToObject(o, "memory_bytes", (double)n->memory_bytes);
	cJSON_AddStringToObject(o, "platform", n->platform);
	cJSON_AddStringToObject(o, "version", n->version);
	char ep[COORD_NAME_MAX + 16];
	snprintf(ep, sizeof(ep), "%s:%u", n->data_host, n->data_port);
	cJSON_AddStringToObject(o, "data_endpoint", ep);
	add_ms(o, "registered_at_ms", n->registered_at_us);
	add_ms(o, "last_heartbeat_ms", n->last_heartbeat_us);
	add_ms(o, "state_since_ms", n->state_at_us);
	uint64_t age = now_us > n->last_heartbeat_us ? now_us - n->last_heartbeat_us : 0;
	cJSON_AddNumberToObject(o, "heartbeat_age_ms", (double)(age / 1000));
	cJSON_AddNumberToObject(o, "heartbeats", (double)n->heartbeats);
	if (n->rtt_us < 0)
		cJSON_AddNullToObject(o, "rtt_us");
	else
		cJSON_AddNumberToObject(o, "rtt_us", (double)n->rtt_us);
	cJSON *m = cJSON_AddObjectToObject(o, "metrics");
	cJSON_AddNumberToObject(m, "mem_used_bytes", (double)n->metrics.mem_used_bytes);
	cJSON_AddNumberToObject(m, "mem_limit_bytes", (double)n->metrics.mem_limit_bytes);
	cJSON_AddNumberToObject(m, "tasks_running", n->metrics.tasks_running);
	cJSON_AddNumberToObject(m, "cpu_busy_us", (double)n->metrics.cpu_busy_us);
	cJSON_AddNumberToObject(m, "uptime_us", (double)n->metrics.uptime_us);
	cJSON_AddNumberToObject(m, "net_bytes_in", (double)n->metrics.net_bytes_in);
	cJSON_AddNumberToObject(m, "net_bytes_out", (double)n->metrics.net_bytes_out);
	return o;
}

char *coord_render_nodes(const struct coord_registry *r, uint64_t now_us)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "nodes");
	for (size_t i = 0; i < r->n_nodes; i++)
		cJSON_AddItemToArray(arr, node_json(r->nodes[i], now_us));
	return finish(root);
}

static uint64_t job_start_us(const struct coord_job *job)
{
	return job->state_at_us[COORD_JOB_CREATED];
}

static uint64_t job_end_us(const struct coord_job *job)
{
	return coord_job_state_terminal(job->state) ? job->state_at_us[job->state] : 0;
}

static cJSON *task_counts_json(const struct coord_job *job)
{
	static const int states[] = {
		SD__CONTROL__TASK_STATE__TASK_UNKNOWN, SD__CONTROL__TASK_STATE__TASK_DEPLOYING,
		SD__CONTROL__TASK_STATE__TASK_RUNNING, SD__CONTROL__TASK_STATE__TASK_FINISHED,
		SD__CONTROL__TASK_STATE__TASK_FAILED,  SD__CONTROL__TASK_STATE__TASK_CANCELED,
	};
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "total", (double)job->n_tasks);
	for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
		size_t k = 0;
		for (size_t i = 0; i < job->n_tasks; i++)
			k += job->tasks[i].state == states[s];
		cJSON_AddNumberToObject(o, coord_task_state_name(states[s]), (double)k);
	}
	return o;
}

static cJSON *job_summary_json(const struct coord_job *job, uint64_t now_us)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", job->id);
	cJSON_AddStringToObject(o, "name", job->name);
	cJSON_AddStringToObject(o, "state", coord_job_state_name(job->state));
	add_ms(o, "start_time_ms", job_start_us(job));
	add_ms(o, "end_time_ms", job_end_us(job));
	uint64_t end = job_end_us(job) ? job_end_us(job) : now_us;
	uint64_t dur = end > job_start_us(job) ? end - job_start_us(job) : 0;
	cJSON_AddNumberToObject(o, "duration_ms", (double)(dur / 1000));
	cJSON_AddNumberToObject(o, "attempt", job->attempt);
	cJSON_AddItemToObject(o, "tasks", task_counts_json(job));
	return o;
}

char *coord_render_jobs(const struct coord_jobs *t, uint64_t now_us)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "jobs");
	/* Newest first, like Flink's overview. */
	for (size_t i = t->n_jobs; i-- > 0;) {
		cJSON_AddItemToArray(arr, job_summary_json(t->jobs[i], now_us));
	}
	return finish(root);
}

static const char *stage_state(const struct coord_job *job, uint32_t stage_id)
{
	size_t total = 0, finished = 0, running = 0, deploying = 0;
	for (size_t i = 0; i < job->n_tasks; i++) {
		const struct coord_task *task = &job->tasks[i];
		if (task->stage_id != stage_id)
			continue;
		total++;
		switch (task->state) {
		case SD__CONTROL__TASK_STATE__TASK_FAILED:
			return "FAILED";
		case SD__CONTROL__TASK_STATE__TASK_CANCELED:
			return "CANCELED";
		case SD__CONTROL__TASK_STATE__TASK_FINISHED:
			finished++;
			break;
		case SD__CONTROL__TASK_STATE__TASK_RUNNING:
			running++;
			break;
		case SD__CONTROL__TASK_STATE__TASK_DEPLOYING:
			deploying++;
			break;
		default:
			break;
		}
	}
	if (total > 0 && finished == total)
		return "FINISHED";
	if (running)
		return "RUNNING";
	if (deploying)
		return "DEPLOYING";
	return "CREATED";
}

static const char *backpressure_level(uint64_t waited_us, uint64_t elapsed_us)
{
	if (elapsed_us == 0)
		return "ok";
	double ratio = (double)waited_us / (double)elapsed_us;
	if (ratio > BACKPRESSURE_HIGH)
		return "high";
	if (ratio > BACKPRESSURE_LOW)
		return "low";
	return "ok";
}

static void add_counters(cJSON *o, const struct coord_counters *c, uint64_t run_us, uint32_t tasks,
			 uint64_t now_us)
{
	double secs = (double)run_us / 1e6;
	cJSON_AddNumberToObject(o, "records_in", (double)c->records_in);
	cJSON_AddNumberToObject(o, "records_out", (double)c->records_out);
	cJSON_AddNumberToObject(o, "bytes_in", (double)c->bytes_in);
	cJSON_AddNumberToObject(o, "bytes_out", (double)c->bytes_out);
	cJSON_AddNumberToObject(o, "records_in_per_s", secs > 0 ? c->records_in / secs : 0);
	cJSON_AddNumberToObject(o, "records_out_per_s", secs > 0 ? c->records_out / secs : 0);
	cJSON_AddNumberToObject(o, "late_records", (double)c->late_records);
	cJSON_AddNumberToObject(o, "backpressure_us", (double)c->backpressure_us);
	cJSON_AddStringToObject(
		o, "backpressure_level",
		backpressure_level(c->backpressure_us, run_us * (tasks ? tasks : 1)));
	if (c->watermark_us == INT64_MIN || c->watermark_us <= 0) {
		cJSON_AddNullToObject(o, "watermark_ms");
		cJSON_AddNullToObject(o, "watermark_lag_ms");
	} else {
		cJSON_AddNumberToObject(o, "watermark_ms", (double)(c->watermark_us / 1000));
		int64_t lag = (int64_t)now_us - c->watermark_us;
		cJSON_AddNumberToObject(o, "watermark_lag_ms", (double)(lag > 0 ? lag / 1000 : 0));
	}
}

static cJSON *task_json(const struct coord_jobs *t, const struct coord_task *task, uint64_t run_us,
			uint64_t now_us)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "task_id", task->task_id);
	cJSON_AddNumberToObject(o, "partition", task->partition);
	cJSON_AddStringToObject(o, "state", coord_task_state_name(task->state));
	const struct coord_node *n = coord_registry_find_id(t->registry, task->node_id);
	if (n) {
		cJSON_AddStringToObject(o, "node", n->name);
		cJSON_AddStringToObject(o, "region", n->region);
	} else {
		cJSON_AddNullToObject(o, "node");
		cJSON_AddNullToObject(o, "region");
	}
	add_counters(cJSON_AddObjectToObject(o, "metrics"), &task->counters, run_us, 1, now_us);
	if (task->error_message) {
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "code", sd_errname(task->error_code));
		cJSON_AddStringToObject(e, "message", task->error_message);
	}
	return o;
}

static cJSON *vertex_json(const struct coord_jobs *t, const struct coord_job *job,
			  const struct coord_stage *st, uint64_t run_us, uint64_t now_us)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", st->stage_id);
	cJSON_AddStringToObject(o, "name", st->name ? st->name : "");
	cJSON_AddNumberToObject(o, "parallelism", st->parallelism);
	cJSON_AddStringToObject(o, "state", stage_state(job, st->stage_id));
	struct coord_counters c;
	coord_job_stage_counters(job, st->stage_id, &c);
	add_counters(cJSON_AddObjectToObject(o, "metrics"), &c, run_us, st->parallelism, now_us);
	cJSON *tasks = cJSON_AddArrayToObject(o, "tasks");
	for (size_t i = 0; i < job->n_tasks; i++)
		if (job->tasks[i].stage_id == st->stage_id)
			cJSON_AddItemToArray(tasks, task_json(t, &job->tasks[i], run_us, now_us));
	return o;
}

/* Restarts and a checkpoint summary (GET /v1/jobs/:id/checkpoints has the rest). */
static void add_fault_tolerance(cJSON *o, const struct coord_job *job)
{
	cJSON_AddNumberToObject(o, "restarts", coord_job_restarts(job));
	add_ms(o, "restart_at_ms", job->state == COORD_JOB_RESTARTING ? job->restart_at_us : 0);
	struct coord_chk_stats st;
	coord_job_chk_stats(job, &st);
	cJSON *c = cJSON_AddObjectToObject(o, "checkpoints");
	cJSON_AddNumberToObject(c, "completed", (double)st.completed);
	cJSON_AddNumberToObject(c, "failed", (double)st.failed);
	if (st.latest_id)
		cJSON_AddNumberToObject(c, "latest_id", (double)st.latest_id);
	else
		cJSON_AddNullToObject(c, "latest_id");
	cJSON_AddNumberToObject(c, "interval_ms", (double)(job->ft.checkpoint_us / 1000));
}

char *coord_render_job(const struct coord_jobs *t, const struct coord_job *job, uint64_t now_us)
{
	cJSON *o = job_summary_json(job, now_us);
	cJSON *ts = cJSON_AddObjectToObject(o, "timestamps");
	for (int s = 0; s < COORD_JOB_STATE_COUNT; s++)
		add_ms(ts, coord_job_state_name((enum coord_job_state)s), job->state_at_us[s]);
	const struct coord_exception *root = coord_job_root_exception(job);
	if (job->state == COORD_JOB_FAILED && root) {
		cJSON *f = cJSON_AddObjectToObject(o, "failure");
		cJSON_AddStringToObject(f, "code", sd_errname(root->code));
		cJSON_AddStringToObject(f, "message", root->message);
	} else {
		cJSON_AddNullToObject(o, "failure");
	}
	add_fault_tolerance(o, job);
	uint64_t run_start = job->state_at_us[COORD_JOB_RUNNING];
	uint64_t end = job_end_us(job) ? job_end_us(job) : now_us;
	uint64_t run_us = run_start && end > run_start ? end - run_start : 0;
	cJSON *sinks = coord__sinks_json(job);
	if (sinks)
		cJSON_AddItemToObject(o, "sinks", sinks);
	cJSON *v = cJSON_AddArrayToObject(o, "vertices");
	for (size_t i = 0; i < job->n_stages; i++)
		cJSON_AddItemToArray(v, vertex_json(t, job, &job->stages[i], run_us, now_us));
	return finish(o);
}

char *coord_render_job_cached(const struct coord_jobs *t, struct coord_job *job, uint64_t now_us,
			      size_t *len)
{
	bool fresh = job->render_cache && job->render_version == job->version &&
		     now_us >= job->render_at_us &&
		     now_us - job->render_at_us < COORD_RENDER_CACHE_US;
	if (!fresh) {
		char *text = coord_render_job(t, job, now_us);
		if (!text)
			return NULL;
		free(job->render_cache);
		job->render_cache = text;
		job->render_len = strlen(text);
		job->render_version = job->version;
		job->render_at_us = now_us;
	}
	char *copy = malloc(job->render_len + 1);
	if (copy) {
		memcpy(copy, job->render_cache, job->render_len + 1);
		*len = job->render_len;
	}
	return copy;
}

char *coord_render_job_plan(const struct coord_job *job)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", job->id);
	cJSON *plan = job->plan_json ? cJSON_Parse(job->plan_json) : NULL;
	if (plan)
		cJSON_AddItemToObject(o, "plan", plan);
	else
		cJSON_AddNullToObject(o, "plan");
	return finish(o);
}

char *coord_render_job_checkpoints(const struct coord_job *job)
{
	cJSON *o = cJSON_CreateObject();
	if (o)
		coord__chk_render(job, o);
	return finish(o);
}

static cJSON *exception_json(const struct coord_exception *e)
{
	cJSON *o = cJSON_CreateObject();
	add_ms(o, "timestamp_ms", e->at_us);
	cJSON_AddStringToObject(o, "code", sd_errname(e->code));
	cJSON_AddStringToObject(o, "message", e->message);
	if (e->task_id >= 0)
		cJSON_AddNumberToObject(o, "task_id", (double)e->task_id);
	else
		cJSON_AddNullToObject(o, "task_id");
	if (e->node)
		cJSON_AddStringToObject(o, "node", e->node);
	else
		cJSON_AddNullToObject(o, "node");
	cJSON_AddBoolToObject(o, "root_cause", e->root_cause);
	return o;
}

char *coord_render_job_exceptions(const struct coord_job *job)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", job->id);
	const struct coord_exception *root = coord_job_root_exception(job);
	if (root)
		cJSON_AddItemToObject(o, "root_exception", exception_json(root));
	else
		cJSON_AddNullToObject(o, "root_exception");
	cJSON *all = cJSON_AddArrayToObject(o, "exceptions");
	for (size_t i = 0; i < job->n_exceptions; i++)
		cJSON_AddItemToArray(all, exception_json(&job->exceptions[i]));
	cJSON_AddBoolToObject(o, "truncated", job->exceptions_dropped > 0);
	return finish(o);
}

char *coord_render_overview(const struct coord_api *api, uint64_t now_us)
{
	const struct coord_registry *r = api->registry;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "version", api->version ? api->version : "");
	uint64_t up = now_us > api->started_at_us ? now_us - api->started_at_us : 0;
	cJSON_AddNumberToObject(o, "uptime_ms", (double)(up / 1000));
	cJSON *nodes = cJSON_AddObjectToObject(o, "nodes");
	cJSON_AddNumberToObject(nodes, "total", (double)r->n_nodes);
	for (int s = COORD_NODE_READY; s <= COORD_NODE_GONE; s++)
		cJSON_AddNumberToObject(nodes, coord_node_state_name((enum coord_node_state)s),
					(double)coord_registry_count(r, (enum coord_node_state)s));
	uint64_t slots = 0;
	for (size_t i = 0; i < r->n_nodes; i++)
		if (r->nodes[i]->state == COORD_NODE_READY)
			slots += r->nodes[i]->slots;
	cJSON_AddNumberToObject(o, "slots_total", (double)slots);
	cJSON *jobs = cJSON_AddObjectToObject(o, "jobs");
	for (int s = 0; s < COORD_JOB_STATE_COUNT; s++) {
		size_t k = 0;
		for (size_t i = 0; i < api->jobs->n_jobs; i++)
			k += api->jobs->jobs[i]->state == (enum coord_job_state)s;
		cJSON_AddNumberToObject(jobs, coord_job_state_name((enum coord_job_state)s),
					(double)k);
	}
	const struct coord_netfs *nfs = &api->jobs->netfs;
	if (nfs->host) {
		char ep[300];
		snprintf(ep, sizeof(ep), "%s:%u", nfs->host, nfs->port);
		cJSON_AddStringToObject(o, "netfs", ep);
	} else {
		cJSON_AddNullToObject(o, "netfs");
	}
	if (nfs->host && nfs->region[0])
		cJSON_AddStringToObject(o, "netfs_region", nfs->region);
	else
		cJSON_AddNullToObject(o, "netfs_region");
	return finish(o);
}
