/*
 * coordinator/metrics.c — GET /metrics in the Prometheus text format 0.0.4.
 *
 * Names carry the stardust_ prefix, counters end in _total, values are in
 * base units (seconds, bytes). Label values are escaped (\\ \" \n). Each
 * family is written once with its HELP and TYPE lines. Per-job families
 * carry the job id as the label job="...". O(nodes + tasks).
 */
#include "coordinator/coord.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable text buffer; on allocation failure it turns sticky-failed. */
struct mbuf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

static void mb_vprintf(struct mbuf *b, const char *fmt, va_list ap)
{
	if (b->failed)
		return;
	for (;;) {
		va_list aq;
		va_copy(aq, ap);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, aq);
		va_end(aq);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n + 1;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void mb_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	mb_vprintf(b, fmt, ap);
	va_end(ap);
}

static void mb_escaped(struct mbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			mb_printf(b, "\\\\");
		else if (*s == '"')
			mb_printf(b, "\\\"");
		else if (*s == '\n')
			mb_printf(b, "\\n");
		else
			mb_printf(b, "%c", *s);
	}
}

static void family(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u(struct mbuf *b, const char *name, uint64_t v)
{
	mb_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void node_families(struct mbuf *b, const struct coord_registry *r)
{
	family(b, "stardust_nodes", "gauge", "Nodes known to the coordinator, by state.");
	for (int s = COORD_NODE_READY; s <= COORD_NODE_GONE; s++)
		mb_printf(b, "stardust_nodes{state=\"%s\"} %zu\n",
			  coord_node_state_name((enum coord_node_state)s),
			  coord_registry_count(r, (enum coord_node_state)s));
	family(b, "stardust_node_registrations_total", "counter", "Node registrations accepted.");
	sample_u(b, "stardust_node_registrations_total", r->registrations_total);
	family(b, "stardust_node_registrations_refused_total", "counter",
	       "Node registrations refused (token, version, malformed, duplicate).");
	sample_u(b, "stardust_node_registrations_refused_total", r->refusals_total);
	family(b, "stardust_node_heartbeats_total", "counter", "Heartbeats received from nodes.");
	sample_u(b, "stardust_node_heartbeats_total", r->heartbeats_total);
	family(b, "stardust_nodes_lost_total", "counter",
	       "Times a node was marked lost after missing heartbeats.");
	sample_u(b, "stardust_nodes_lost_total", r->lost_total);

	family(b, "stardust_node_rtt_seconds", "gauge",
	       "Last control round-trip time each node measured.");
	for (size_t i = 0; i < r->n_nodes; i++) {
		const struct coord_node *n = r->nodes[i];
		if (n->rtt_us < 0)
			continue;
		mb_printf(b, "stardust_node_rtt_seconds{node=\"");
		mb_escaped(b, n->name);
		mb_printf(b, "\",region=\"");
		mb_escaped(b, n->region);
		mb_printf(b, "\"} %.6f\n", (double)n->rtt_us / 1e6);
	}
	family(b, "stardust_node_memory_used_bytes", "gauge", "Memory each node reports in use.");
	for (size_t i = 0; i < r->n_nodes; i++) {
		mb_printf(b, "stardust_node_memory_used_bytes{node=\"");
		mb_escaped(b, r->nodes[i]->name);
		mb_printf(b, "\"} %llu\n", (unsigned long long)r->nodes[i]->metrics.mem_used_bytes);
	}
	family(b, "stardust_node_slots", "gauge", "Task slots each node offers.");
	for (size_t i = 0; i < r->n_nodes; i++) {
		mb_printf(b, "stardust_node_slots{node=\"");
		mb_escaped(b, r->nodes[i]->name);
		mb_printf(b, "\"} %u\n", r->nodes[i]->slots);
	}
}

static void job_families(struct mbuf *b, const struct coord_jobs *t)
{
	family(b, "stardust_jobs", "gauge", "Jobs the coordinator holds, by state.");
	for (int s = 0; s < COORD_JOB_STATE_COUNT; s++) {
		size_t k = 0;
		for (size_t i = 0; i < t->n_jobs; i++)
			k += t->jobs[i]->state == (enum coord_job_state)s;
		mb_printf(b, "stardust_jobs{state=\"%s\"} %zu\n",
			  coord_job_state_name((enum coord_job_state)s), k);
	}
	family(b, "stardust_jobs_submitted_total", "counter", "Jobs accepted for running.");
	sample_u(b, "stardust_jobs_submitted_total", t->submitted_total);
	family(b, "stardust_jobs_ended_total", "counter", "Jobs that ended, by final state.");
	for (int s = COORD_JOB_FINISHED; s <= COORD_JOB_CANCELED; s++)
		mb_printf(b, "stardust_jobs_ended_total{state=\"%s\"} %llu\n",
			  coord_job_state_name((enum coord_job_state)s),
			  (unsigned long long)t->finished_total[s]);
	family(b, "stardust_task_status_updates_total", "counter",
	       "Task status reports received from nodes.");
	sample_u(b, "stardust_task_status_updates_total", t->task_updates_total);

	static const struct {
		const char *name, *help;
		size_t off;
	} fams[] = {
		{"stardust_stage_records_in_total", "Records into each stage of each job.",
		 offsetof(struct coord_counters, records_in)},
		{"stardust_stage_records_out_total", "Records out of each stage of each job.",
		 offsetof(struct coord_counters, records_out)},
		{"stardust_stage_bytes_in_total", "Bytes into each stage of each job.",
		 offsetof(struct coord_counters, bytes_in)},
		{"stardust_stage_bytes_out_total", "Bytes out of each stage of each job.",
		 offsetof(struct coord_counters, bytes_out)},
	};
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		family(b, fams[f].name, "counter", fams[f].help);
		for (size_t j = 0; j < t->n_jobs; j++) {
			const struct coord_job *job = t->jobs[j];
			for (size_t s = 0; s < job->n_stages; s++) {
				struct coord_counters c;
				coord_job_stage_counters(job, job->stages[s].stage_id, &c);
				uint64_t v;
				memcpy(&v, (const char *)&c + fams[f].off, sizeof(v));
				mb_printf(b, "%s{job=\"%s\",stage=\"%u\"} %llu\n", fams[f].name,
					  job->id, job->stages[s].stage_id, (unsigned long long)v);
			}
		}
	}
}

/* Restarts and checkpoints; per job only for jobs that checkpoint (or did). */
static void fault_tolerance_families(struct mbuf *b, const struct coord_jobs *t)
{
	family(b, "stardust_jobs_restarts_total", "counter",
	       "Job restarts this coordinator began, all jobs together.");
	sample_u(b, "stardust_jobs_restarts_total", t->restarts_total);
	family(b, "stardust_job_restarts_total", "counter",
	       "Restarts each job has begun (coordinator restarts included).");
	for (size_t j = 0; j < t->n_jobs; j++)
		mb_printf(b, "stardust_job_restarts_total{job=\"%s\"} %u\n", t->jobs[j]->id,
			  coord_job_restarts(t->jobs[j]));
	static const struct {
		const char *name, *type, *help;
	} fams[] = {
		{"stardust_checkpoints_completed_total", "counter",
		 "Checkpoints (and savepoints) each job completed."},
		{"stardust_checkpoints_failed_total", "counter",
		 "Checkpoints each job aborted: a failed acknowledgement, a timeout, a restart."},
		{"stardust_checkpoint_last_duration_seconds", "gauge",
		 "From trigger to completion, the latest completed checkpoint of each job."},
		{"stardust_checkpoint_last_size_bytes", "gauge",
		 "Bytes of operator state in the latest completed checkpoint of each job."},
	};
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		family(b, fams[f].name, fams[f].type, fams[f].help);
		for (size_t j = 0; j < t->n_jobs; j++) {
			const struct coord_job *job = t->jobs[j];
			struct coord_chk_stats st;
			coord_job_chk_stats(job, &st);
			if (!job->ft.checkpoint_us && !st.completed && !st.failed)
				continue;
			if (f >= 2 && !st.latest_id)
				continue; /* no completed checkpoint to describe */
			mb_printf(b, "%s{job=\"%s\"} ", fams[f].name, job->id);
			if (f == 0)
				mb_printf(b, "%llu\n", (unsigned long long)st.completed);
			else if (f == 1)
				mb_printf(b, "%llu\n", (unsigned long long)st.failed);
			else if (f == 2)
				mb_printf(b, "%.6f\n", (double)st.last_duration_us / 1e6);
			else
				mb_printf(b, "%llu\n", (unsigned long long)st.last_size);
		}
	}
}

static void http_families(struct mbuf *b, const struct coord_api *api)
{
	family(b, "stardust_http_requests_total", "counter", "HTTP requests routed.");
	sample_u(b, "stardust_http_requests_total", api->stats.requests_total);
	family(b, "stardust_http_responses_total", "counter", "HTTP responses by status class.");
	for (int c = 1; c <= 5; c++)
		mb_printf(b, "stardust_http_responses_total{class=\"%dxx\"} %llu\n", c,
			  (unsigned long long)api->stats.responses_by_class[c]);
	family(b, "stardust_http_bad_requests_total", "counter",
	       "HTTP requests refused before routing: malformed or over a limit.");
	sample_u(b, "stardust_http_bad_requests_total", api->stats.bad_requests_total);
	family(b, "stardust_http_connections_total", "counter", "HTTP connections accepted.");
	sample_u(b, "stardust_http_connections_total", api->stats.connections_total);
	family(b, "stardust_http_connections_refused_total", "counter",
	       "HTTP connections refused, or closed to make room, at a connection cap.");
	sample_u(b, "stardust_http_connections_refused_total",
		 api->stats.connections_refused_total);
	family(b, "stardust_http_connections_idle_closed_total", "counter",
	       "HTTP connections closed by a deadline: idle, or a request head or body too slow.");
	sample_u(b, "stardust_http_connections_idle_closed_total", api->stats.idle_closed_total);
	family(b, "stardust_http_connections", "gauge", "HTTP connections open.");
	sample_u(b, "stardust_http_connections", api->stats.connections_open);
}

char *coord_metrics_render(const struct coord_api *api, uint64_t now_us)
{
	struct mbuf b = {.cap = 4096};
	b.p = malloc(b.cap);
	if (!b.p)
		return NULL;
	b.p[0] = '\0';
	uint64_t up = now_us > api->started_at_us ? now_us - api->started_at_us : 0;
	family(&b, "stardust_coordinator_uptime_seconds", "gauge",
	       "Seconds since the coordinator started.");
	mb_printf(&b, "stardust_coordinator_uptime_seconds %.3f\n", (double)up / 1e6);
	node_families(&b, api->registry);
	job_families(&b, api->jobs);
	fault_tolerance_families(&b, api->jobs);
	http_families(&b, api);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
