/*
 * node/core/node.c — the node object: configuration, deploy (copying a
 * Deploy message into a task and spawning its coroutine), cancel, job end
 * (commit or discard sinks, drop tasks), and views for control and tests.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "dataflow/dataflow.h"
#include "node/core/node_priv.h"

static char *dup_str(const char *s)
{
	size_t n = strlen(s ? s : "");
	char *d = plat_alloc(n + 1);

	if (d) {
		memcpy(d, s ? s : "", n);
		d[n] = '\0';
	}
	return d;
}

int node_open(const struct node_config *cfg, struct node **out)
{
	struct node *n;
	int rc;

	if (!cfg || !cfg->name || !*cfg->name || strlen(cfg->name) >= CHAN_NAME_MAX ||
	    cfg->n_labels > NODE_LABELS_MAX || !out)
		return SD_EINVAL;
	n = plat_calloc(1, sizeof(*n));
	if (!n)
		return SD_ENOMEM;
	snprintf(n->name, sizeof(n->name), "%s", cfg->name);
	snprintf(n->region, sizeof(n->region), "%s", cfg->region ? cfg->region : "");
	snprintf(n->zone, sizeof(n->zone), "%s", cfg->zone ? cfg->zone : "");
	snprintf(n->token, sizeof(n->token), "%s", cfg->token ? cfg->token : "");
	snprintf(n->advertise_host, sizeof(n->advertise_host), "%s",
		 cfg->advertise_host ? cfg->advertise_host
				     : (cfg->listen_host ? cfg->listen_host : "127.0.0.1"));
	for (unsigned i = 0; i < cfg->n_labels; i++) {
		n->label_store[2 * i] = dup_str(cfg->labels[i].key);
		n->label_store[2 * i + 1] = dup_str(cfg->labels[i].value);
		n->labels[i].key = n->label_store[2 * i];
		n->labels[i].value = n->label_store[2 * i + 1];
		n->n_labels++;
		if (!n->labels[i].key || !n->labels[i].value) {
			rc = SD_ENOMEM;
			goto out_free_node;
		}
	}
	n->slots = cfg->slots ? cfg->slots : 1;
	n->memory_bytes = cfg->memory_bytes;
	n->ops = cfg->task_ops ? cfg->task_ops : &node_df_task_ops;
	n->fs = cfg->fs_ops ? cfg->fs_ops : &node__netfs_fs_ops;
	n->exit_on_refusal = cfg->exit_on_refusal;
	n->started_us = plat_now_us();
	rc = chan_mux_open(n->name, cfg->listen_host ? cfg->listen_host : "127.0.0.1",
			   cfg->listen_port, n->token, &n->mux);
	if (rc < 0)
		goto out_free_node;
	if (cfg->coordinator_host) {
		rc = node__ctl_start(n, cfg->coordinator_host, cfg->coordinator_port);
		if (rc < 0)
			goto out_close_mux;
	}
	*out = n;
	return 0;
out_close_mux:
	chan_mux_close(n->mux);
out_free_node:
	for (unsigned i = 0; i < NODE_LABELS_MAX * 2; i++)
		plat_free(n->label_store[i]);
	plat_free(n);
	return rc;
}

uint16_t node_data_port(const struct node *n)
{
	return chan_mux_port(n->mux);
}

struct chan_mux *node_mux(struct node *n)
{
	return n->mux;
}

static bool task_active(const struct node_task *t)
{
	return !t->coroutine_done;
}

unsigned node_tasks_running(const struct node *n)
{
	unsigned k = 0;

	for (const struct node_task *t = n->tasks; t; t = t->next)
		k += task_active(t);
	return k;
}

/* The task of the newest attempt of job here, or NULL. */
static struct node_task *find_task(struct node *n, const char *job, uint32_t id)
{
	struct node_task *best = NULL;

	for (struct node_task *t = n->tasks; t; t = t->next)
		if (t->task_id == id && !strcmp(t->job_id, job) &&
		    (!best || t->attempt > best->attempt))
			best = t;
	return best;
}

/* Tasks holding a slot: running and not being torn down. */
static unsigned slots_in_use(const struct node *n)
{
	unsigned k = 0;

	for (const struct node_task *t = n->tasks; t; t = t->next)
		k += !t->coroutine_done && !t->cancel;
	return k;
}

void node__task_free(struct node_task *t)
{
	assert(t->coroutine_done || !t->co);
	node__sink_drop(t);
	for (unsigned i = 0; i < t->n_outs; i++)
		chan_out_close(t->outs[i].ch);
	for (unsigned i = 0; i < t->n_ins; i++)
		chan_in_close(t->ins[i].ch);
	plat_free(t->outs);
	plat_free(t->ins);
	plat_free(t->port_wm);
	plat_free(t->splits);
	plat_free(t->plan);
	plat_free(t);
}

/* Every end names its port (Channel.port = port + 1, dataflow's wiring). */
static int check_ends(Sd__Control__Channel *const *list, size_t n, const char *what, char *why,
		      size_t cap)
{
	for (size_t i = 0; i < n; i++)
		if (list[i]->port == 0 || list[i]->port > NODE_PORTS_MAX) {
			snprintf(why, cap, "%s channel %llu: port %u is malformed", what,
				 (unsigned long long)list[i]->channel_id, list[i]->port);
			return SD_EINVAL;
		}
	return 0;
}

static int open_channels(struct node *n, struct node_task *t, const Sd__Control__Deploy *d,
			 char *why, size_t cap)
{
	int rc;

	rc = check_ends(d->outputs, d->n_outputs, "output", why, cap);
	if (rc == 0)
		rc = check_ends(d->inputs, d->n_inputs, "input", why, cap);
	if (rc < 0)
		return rc;
	t->outs = plat_calloc(d->n_outputs ? d->n_outputs : 1, sizeof(*t->outs));
	t->ins = plat_calloc(d->n_inputs ? d->n_inputs : 1, sizeof(*t->ins));
	if (!t->outs || !t->ins)
		return SD_ENOMEM;
	for (size_t i = 0; i < d->n_outputs; i++) {
		const Sd__Control__Channel *c = d->outputs[i];
		struct node_out *o = &t->outs[t->n_outs];

		rc = chan_out_open(n->mux, c->channel_id, c->peer_node, c->peer_host,
				   (uint16_t)c->peer_port, &t->cancel, &o->ch);
		if (rc < 0) {
			snprintf(why, cap, "output channel %llu: %s",
				 (unsigned long long)c->channel_id, sd_strerror(rc));
			return rc;
		}
		chan_out_set_notify(o->ch, &t->notify);
		o->port = c->port - 1;
		o->consumer_part = c->consumer_partition;
		o->broadcast = c->partitioning == SD__CONTROL__PARTITIONING__PART_BROADCAST;
		t->n_outs++;
	}
	for (size_t i = 0; i < d->n_inputs; i++) {
		const Sd__Control__Channel *c = d->inputs[i];
		struct node_in *in = &t->ins[t->n_ins];

		rc = chan_in_open(n->mux, c->channel_id, c->peer_node, c->peer_host,
				  (uint16_t)c->peer_port,
				  c->credits > CHAN_CREDITS_MAX ? CHAN_CREDITS_MAX : c->credits,
				  &t->notify, &in->ch);
		if (rc < 0) {
			snprintf(why, cap, "input channel %llu: %s",
				 (unsigned long long)c->channel_id, sd_strerror(rc));
			return rc;
		}
		in->port = c->port - 1;
		if (in->port + 1 > t->n_in_ports)
			t->n_in_ports = in->port + 1;
		t->n_ins++;
	}
	t->port_wm = plat_calloc(t->n_in_ports ? t->n_in_ports : 1, sizeof(*t->port_wm));
	if (!t->port_wm)
		return SD_ENOMEM;
	for (unsigned p = 0; p < t->n_in_ports; p++)
		t->port_wm[p] = INT64_MIN;
	return 0;
}

static int copy_splits(struct node_task *t, const Sd__Control__Deploy *d)
{
	if (!d->n_splits)
		return 0;
	t->splits = plat_calloc(d->n_splits, sizeof(*t->splits));
	if (!t->splits)
		return SD_ENOMEM;
	for (size_t i = 0; i < d->n_splits; i++) {
		struct node_split *s = &t->splits[i];

		if (strlen(d->splits[i]->server) >= sizeof(s->server) ||
		    strlen(d->splits[i]->path) >= sizeof(s->path))
			return SD_EINVAL;
		snprintf(s->server, sizeof(s->server), "%s", d->splits[i]->server);
		snprintf(s->path, sizeof(s->path), "%s", d->splits[i]->path);
		s->offset = d->splits[i]->offset;
		s->length = d->splits[i]->length;
		s->follow = d->splits[i]->follow;
		t->n_splits++;
	}
	return 0;
}

static int copy_checkpointing(struct node_task *t, const Sd__Control__Deploy *d, char *why,
			      size_t cap)
{
	const char *dir = d->checkpoint_dir ? d->checkpoint_dir : "";
	const char *rp = d->restore_path ? d->restore_path : "";
	const char *srv = d->checkpoint_server ? d->checkpoint_server : "";
	const char *sp = d->sink && d->sink->staged_prefix ? d->sink->staged_prefix : "";

	if (strlen(dir) >= sizeof(t->chk_dir) || strlen(rp) >= sizeof(t->restore_path) ||
	    strlen(srv) >= sizeof(t->chk_server) || strlen(sp) >= sizeof(t->staged_prefix)) {
		snprintf(why, cap, "checkpoint paths too long");
		return SD_EINVAL;
	}
	if (d->sink && d->sink->exactly_once && (!*sp || !*dir)) {
		snprintf(why, cap, "an exactly-once sink needs a staged prefix and checkpoints");
		return SD_EINVAL;
	}
	snprintf(t->chk_dir, sizeof(t->chk_dir), "%s", dir);
	snprintf(t->chk_server, sizeof(t->chk_server), "%s", srv);
	snprintf(t->restore_path, sizeof(t->restore_path), "%s", rp);
	snprintf(t->staged_prefix, sizeof(t->staged_prefix), "%s", sp);
	t->restore_id = d->restore_checkpoint;
	t->sink_eo = d->sink && d->sink->exactly_once;
	return 0;
}

static int deploy_check(struct node *n, const Sd__Control__Deploy *d, char *why, size_t cap)
{
	if (!d->job_id || !*d->job_id || strlen(d->job_id) >= NODE_JOB_ID_MAX) {
		snprintf(why, cap, "bad job id");
		return SD_EINVAL;
	}
	struct node_task *same = find_task(n, d->job_id, d->task_id);

	if (same && same->attempt >= d->attempt) {
		snprintf(why, cap, "task %s/%u is already on node %s", d->job_id, d->task_id,
			 n->name);
		return SD_EEXIST;
	}
	if (slots_in_use(n) >= n->slots) {
		snprintf(why, cap, "node %s has no free slot (%u in use)", n->name, n->slots);
		return SD_EBUSY;
	}
	if (d->sink &&
	    (strlen(d->sink->server) >= PLAT_ADDR_MAX || strlen(d->sink->path) >= NODE_PATH_MAX)) {
		snprintf(why, cap, "sink name too long");
		return SD_EINVAL;
	}
	return 0;
}

int node_deploy(struct node *n, const Sd__Control__Deploy *d, char *why, size_t cap)
{
	struct node_task *t;
	char name[48];
	int rc;

	/* A newer attempt supersedes what is left of older ones here. */
	if (d->job_id && d->attempt > 0)
		node_cancel_attempts(n, d->job_id, d->attempt - 1, "superseded by a restart");
	rc = deploy_check(n, d, why, cap);
	if (rc < 0)
		return rc;
	t = plat_calloc(1, sizeof(*t));
	if (!t)
		return SD_ENOMEM;
	t->node = n;
	snprintf(t->job_id, sizeof(t->job_id), "%s", d->job_id);
	t->task_id = d->task_id;
	t->attempt = d->attempt;
	t->stage_id = d->stage_id;
	t->partition = d->partition;
	t->budget = d->memory_budget_bytes;
	snprintf(t->netfs_token, sizeof(t->netfs_token), "%s", d->netfs_token);
	t->watermark_us = INT64_MIN;
	t->state = SD__CONTROL__TASK_STATE__TASK_DEPLOYING;
	t->plan_len = d->plan.len;
	t->plan = plat_alloc(d->plan.len ? d->plan.len : 1);
	rc = t->plan ? 0 : SD_ENOMEM;
	if (rc == 0 && d->plan.len)
		memcpy(t->plan, d->plan.data, d->plan.len);
	if (rc == 0 && d->sink) {
		snprintf(t->sink_server, sizeof(t->sink_server), "%s", d->sink->server);
		/* Streaming parts span attempts; bounded ones are per attempt. */
		rc = df_sink_part_name(t->sink_path, sizeof(t->sink_path), d->sink->path, t->job_id,
				       d->sink->append ? 0 : d->attempt, t->partition);
		t->sink_append = d->sink->append;
	}
	if (rc == 0)
		rc = copy_checkpointing(t, d, why, cap);
	if (rc == 0)
		rc = copy_splits(t, d);
	if (rc == 0)
		rc = open_channels(n, t, d, why, cap);
	snprintf(name, sizeof(name), "%.30s/%u", t->job_id, t->task_id);
	if (rc == 0)
		rc = sched_spawn(name, 0, node__task_main, t, &t->co);
	if (rc < 0) {
		if (!*why)
			snprintf(why, cap, "deploy %s/%u: %s", d->job_id, d->task_id,
				 sd_strerror(rc));
		t->coroutine_done = true;
		node__task_free(t);
		return rc;
	}
	t->next = n->tasks;
	n->tasks = t;
	t->state_at_us = plat_now_us();
	node__ctl_task_changed(n, t);
	return 0;
}

void node_cancel_attempts(struct node *n, const char *job_id, uint32_t max_attempt,
			  const char *reason)
{
	for (struct node_task *t = n->tasks; t; t = t->next) {
		if (strcmp(t->job_id, job_id) || t->attempt > max_attempt || t->coroutine_done)
			continue;
		t->cancel = true;
		if (!t->reason[0])
			snprintf(t->reason, sizeof(t->reason), "%s",
				 reason && *reason ? reason : "canceled by the coordinator");
		sched_wake_task(t->co);
	}
}

void node_cancel_job(struct node *n, const char *job_id, const char *reason)
{
	node_cancel_attempts(n, job_id, UINT32_MAX, reason);
}

void node_drop_attempts(struct node *n, const char *job_id, uint32_t max_attempt)
{
	struct node_task **pp = &n->tasks;

	node_cancel_attempts(n, job_id, max_attempt, "job ended");
	while (*pp) {
		struct node_task *t = *pp;

		if (strcmp(t->job_id, job_id) || t->attempt > max_attempt || !t->coroutine_done) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		node__task_free(t);
	}
	/* Still unwinding after the cancel: each frees itself (and its channels)
	 * when its coroutine ends. */
	for (struct node_task *t = n->tasks; t; t = t->next)
		if (!strcmp(t->job_id, job_id) && t->attempt <= max_attempt)
			t->job_over = true;
}

void node_job_done(struct node *n, const char *job_id, bool succeeded)
{
	(void)succeeded; /* parts were committed by their tasks; the coordinator assembles */
	node_drop_attempts(n, job_id, UINT32_MAX);
}

static bool is_live(const struct node_task *t, Sd__Control__JobRef *const *live, size_t n_live)
{
	for (size_t i = 0; i < n_live; i++)
		if (live[i]->attempt == t->attempt && live[i]->job_id &&
		    !strcmp(live[i]->job_id, t->job_id))
			return true;
	return false;
}

void node_reconcile(struct node *n, Sd__Control__JobRef *const *live, size_t n_live)
{
	bool again = true;

	/* Dropping frees list entries: start over after each job. O(tasks^2), small. */
	while (again) {
		again = false;
		for (struct node_task *t = n->tasks; t; t = t->next) {
			if (t->job_over || is_live(t, live, n_live))
				continue;
			sd_log_warn("node",
				    "%s: dropping task %s/%u (attempt %u): the coordinator "
				    "no longer runs it",
				    n->name, t->job_id, t->task_id, t->attempt);
			char job[NODE_JOB_ID_MAX];
			snprintf(job, sizeof(job), "%s", t->job_id);
			node_drop_attempts(n, job, t->attempt);
			again = true;
			break;
		}
	}
}

/* Task context, the coroutine's last act: t leaves the node's list. */
void node__task_release(struct node_task *t)
{
	struct node_task **pp;

	for (pp = &t->node->tasks; *pp && *pp != t; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = t->next;
	node__task_free(t);
}

int node_task_view(struct node *n, const char *job_id, uint32_t task_id, struct node_task_view *out)
{
	struct node_task *t = find_task(n, job_id, task_id);
	uint64_t bp = 0;

	if (!t)
		return SD_ENOENT;
	for (unsigned i = 0; i < t->n_outs; i++) {
		struct chan_counters c;

		chan_out_counters(t->outs[i].ch, &c);
		bp += c.backpressure_us;
	}
	out->state = t->state;
	out->error = t->error;
	out->reason = t->reason;
	out->records_in = t->records_in;
	out->records_out = t->records_out;
	out->bytes_in = t->bytes_in;
	out->bytes_out = t->bytes_out;
	out->backpressure_us = bp;
	out->watermark_us = t->watermark_us;
	return 0;
}

static bool no_coroutines(void *arg)
{
	const struct node *n = arg;

	return node_tasks_running(n) == 0 && n->chk_writers == 0;
}

void node_close(struct node *n)
{
	if (!n)
		return;
	for (struct node_task *t = n->tasks; t; t = t->next)
		node_cancel_job(n, t->job_id, "node shutting down");
	sched_run(no_coroutines, n);
	node__ctl_stop(n);
	while (n->tasks) {
		struct node_task *t = n->tasks;

		n->tasks = t->next;
		node__task_free(t);
	}
	chan_mux_close(n->mux);
	for (unsigned i = 0; i < NODE_LABELS_MAX * 2; i++)
		plat_free(n->label_store[i]);
	plat_free(n);
}
