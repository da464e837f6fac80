/*
 * coordinator/place.c — where the coordinator meets placement/: a model
 * from the registry's READY nodes and the compiled job (stages as "s<id>",
 * tasks in task-id order, channel edges, source reads from the netfs
 * server's region, every stage annotation and CLI flag as a constraint),
 * solved by plc_solve. The assignment goes into each task's node_id and the
 * explanation into the plan JSON.
 */
#include "coordinator/coord_priv.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/dataflow.h"
#include "placement/placement.h"

#define PLACEMENT_TEXT_MAX (64u << 10) /* bytes of rendered explanation kept */

static void stage_name(char *out, size_t cap, unsigned id)
{
	snprintf(out, cap, "s%u", id);
}

/* Adds the READY nodes; map[i] = registry node of model node i. */
static int add_nodes(struct plc_model *m, const struct coord_registry *r,
		     const struct coord_node **map, size_t *n_map)
{
	*n_map = 0;
	for (size_t i = 0; i < r->n_nodes; i++) {
		const struct coord_node *n = r->nodes[i];
		if (n->state != COORD_NODE_READY)
			continue;
		struct plc_label labels[PLC_LABELS_MAX];
		size_t nl = n->n_labels < PLC_LABELS_MAX ? n->n_labels : PLC_LABELS_MAX;
		for (size_t k = 0; k < nl; k++)
			labels[k] = (struct plc_label){n->labels[k].key, n->labels[k].value};
		struct plc_node_spec spec = {
			.name = n->name,
			.region = n->region[0] ? n->region : "default",
			.zone = n->zone,
			.labels = labels,
			.n_labels = nl,
			.slots = (int)(n->slots ? n->slots : 1),
			.load = n->slots ? (double)n->metrics.tasks_running / n->slots : 0,
		};
		if (spec.load > 1)
			spec.load = 1;
		int rc = plc_model_add_node(m, &spec);
		if (rc < 0)
			return rc;
		map[(*n_map)++] = n;
	}
	return 0;
}

static int add_graph(struct plc_model *m, const struct coord_job *job, int netfs)
{
	const struct coord_compiled *c = job->compiled;
	char name[32];
	for (size_t i = 0; i < job->n_stages; i++) {
		stage_name(name, sizeof(name), job->stages[i].stage_id);
		if (plc_model_add_stage(m, name) != (int)i)
			return SD_EINTERNAL;
	}
	for (size_t i = 0; i < job->n_tasks; i++)
		if (plc_model_add_task(m, (int)job->tasks[i].stage_id,
				       (int)job->tasks[i].partition) != (int)i)
			return SD_EINTERNAL;
	unsigned nch;
	const struct df_channel_info *ch = df_job_channels(c->df, &nch);
	for (unsigned k = 0; k < nch; k++)
		for (size_t a = 0; a < job->n_tasks; a++) {
			if (job->tasks[a].stage_id != ch[k].from_stage)
				continue;
			for (size_t b = 0; b < job->n_tasks; b++) {
				if (job->tasks[b].stage_id != ch[k].to_stage)
					continue;
				bool link = df_chan_connects(ch[k].kind, job->tasks[a].partition,
							     job->tasks[b].partition);
				if (link && plc_model_add_channel(m, (int)a, (int)b,
								  COORD_CHANNEL_RATE_GUESS) < 0)
					return SD_ENOMEM;
			}
		}
	if (netfs < 0)
		return 0;
	unsigned nsrc;
	const struct df_source_info *src = df_job_sources(c->df, &nsrc);
	for (unsigned k = 0; k < nsrc; k++)
		for (size_t a = 0; a < job->n_tasks; a++)
			if (src[k].path && job->tasks[a].stage_id == src[k].stage &&
			    plc_model_add_source_read(m, (int)a, netfs, COORD_SOURCE_RATE_GUESS) <
				    0)
				return SD_ENOMEM;
	return 0;
}

static void copy_name(char *out, const char *s)
{
	snprintf(out, PLC_NAME_MAX, "%s", s ? s : "");
}

/* One dataflow annotation as a placement constraint scoped to its stage. */
static int ann_constraint(const struct df_annotation *a, unsigned stage, struct plc_constraint *c)
{
	memset(c, 0, sizeof(*c));
	stage_name(c->stage, sizeof(c->stage), stage);
	c->kind = PLC_MATCH;
	size_t nv = a->n_values < PLC_SET_MAX ? a->n_values : PLC_SET_MAX;
	switch (a->kind) {
	case DF_ANN_NOT_REGION:
		c->negate = true;
		/* fall through */
	case DF_ANN_REGION:
		c->attr = PLC_ATTR_REGION;
		break;
	case DF_ANN_ZONE:
		c->attr = PLC_ATTR_ZONE;
		break;
	case DF_ANN_LABEL:
	case DF_ANN_PREFER:
		if (a->key && !strcmp(a->key, "region"))
			c->attr = PLC_ATTR_REGION;
		else if (a->key && !strcmp(a->key, "zone"))
			c->attr = PLC_ATTR_ZONE;
		else {
			c->attr = PLC_ATTR_LABEL;
			copy_name(c->label_key, a->key);
		}
		nv = nv ? 1 : 0;
		if (a->kind == DF_ANN_PREFER) {
			c->soft = true;
			c->weight = a->weight > 0 ? a->weight : PLC_PREFER_WEIGHT;
		}
		break;
	case DF_ANN_NEAR:
		c->kind = PLC_NEAR;
		stage_name(c->near_stage, sizeof(c->near_stage), a->near_stage);
		c->max_rtt_ms = (double)a->max_latency_us / 1000.0;
		return 0;
	case DF_ANN_SPREAD:
		c->kind = PLC_SPREAD;
		c->attr = a->key && !strcmp(a->key, "region") ? PLC_ATTR_REGION : PLC_ATTR_ZONE;
		return 0;
	default:
		return SD_ENOTSUP;
	}
	for (size_t i = 0; i < nv; i++)
		copy_name(c->values[i], a->values[i]);
	c->n_values = nv;
	return 0;
}

static int add_constraints(struct plc_model *m, const struct coord_job *job)
{
	const struct coord_compiled *c = job->compiled;
	unsigned ns;
	const struct df_stage_info *st = df_job_stages(c->df, &ns);
	for (unsigned s = 0; s < ns; s++)
		for (unsigned k = 0; k < st[s].n_anns; k++) {
			struct plc_constraint pc;
			if (ann_constraint(&st[s].anns[k], st[s].id, &pc))
				continue;
			int rc = plc_model_add_constraint(m, &pc);
			if (rc < 0)
				return rc;
		}
	for (size_t i = 0; i < c->n_constraints; i++) {
		int rc = plc_model_add_constraint(m, &c->constraints[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Adds {"placement": {...}} to the plan JSON. */
static void record_placement(struct coord_job *job, const struct plc_model *m,
			     const struct plc_result *res, const char *text)
{
	cJSON *plan = job->plan_json ? cJSON_Parse(job->plan_json) : cJSON_CreateObject();
	if (!plan)
		return;
	cJSON *p = cJSON_AddObjectToObject(plan, "placement");
	cJSON_AddBoolToObject(p, "feasible", res->feasible);
	cJSON_AddNumberToObject(p, "cost", res->cost.total);
	cJSON_AddStringToObject(p, "explain", text);
	if (!res->feasible)
		cJSON_AddStringToObject(p, "message", res->message);
	cJSON *tasks = cJSON_AddArrayToObject(p, "tasks");
	for (size_t i = 0; i < res->n_tasks && res->feasible; i++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddNumberToObject(t, "task_id", (double)i);
		int node = res->tasks[i].node;
		cJSON_AddStringToObject(t, "node", node >= 0 ? plc_model_node_name(m, node) : "");
		cJSON_AddStringToObject(t, "region",
					node >= 0 ? plc_model_region_name(m, res->tasks[i].region)
						  : "");
		cJSON_AddNumberToObject(t, "cost", res->tasks[i].cost.total);
		cJSON_AddItemToArray(tasks, t);
	}
	char *s = cJSON_PrintUnformatted(plan);
	cJSON_Delete(plan);
	if (s) {
		free(job->plan_json);
		job->plan_json = s;
	}
}

/* prev: each task's model node to keep (plc_replace), or NULL for a fresh solve. */
static int solve(struct coord_job *job, struct plc_model *m, const struct coord_node **map,
		 const int *prev, char *err, size_t err_cap)
{
	struct plc_result res;
	memset(&res, 0, sizeof(res));
	int rc = prev ? plc_replace(m, prev, &res) : plc_solve(m, &res);
	if (rc && rc != SD_EINFEASIBLE)
		return rc;
	char *text = malloc(PLACEMENT_TEXT_MAX);
	if (text)
		plc_render_text(m, &res, text, PLACEMENT_TEXT_MAX);
	record_placement(job, m, &res, text ? text : "");
	struct coord_compiled *c = job->compiled;
	free(c->placement);
	c->placement = text;
	if (rc == SD_EINFEASIBLE) {
		snprintf(err, err_cap, "placement infeasible: %s", res.message);
	} else {
		for (size_t i = 0; i < job->n_tasks && i < res.n_tasks; i++)
			job->tasks[i].node_id = map[res.tasks[i].node]->id;
	}
	plc_result_free(&res);
	return rc;
}

/* Builds the model and solves; replace: keep tasks whose node is still READY. */
static int place(struct coord_job *job, const struct coord_registry *r,
		 const struct coord_netfs *nfs, bool replace, char *err, size_t err_cap)
{
	if (!job->compiled)
		return SD_EINVAL;
	if (coord_registry_count(r, COORD_NODE_READY) == 0) {
		snprintf(err, err_cap, "placement infeasible: no nodes are registered and ready");
		return SD_EINFEASIBLE;
	}
	struct plc_model *m = plc_model_new();
	const struct coord_node **map = calloc(r->n_nodes, sizeof(*map));
	if (!m || !map) {
		plc_model_free(m);
		free(map);
		return SD_ENOMEM;
	}
	size_t n_map;
	int rc = add_nodes(m, r, map, &n_map);
	/* Source reads cost bytes x RTT from the file service's region, when known. */
	int fs = -1;
	if (rc == 0 && nfs && nfs->host && nfs->region[0])
		fs = plc_model_add_netfs(m, "netfs", nfs->region);
	if (rc == 0)
		rc = add_graph(m, job, fs < 0 ? -1 : fs);
	if (rc == 0)
		rc = add_constraints(m, job);
	int *prev = NULL;
	if (rc == 0 && replace && !(prev = calloc(job->n_tasks ? job->n_tasks : 1, sizeof(*prev))))
		rc = SD_ENOMEM;
	for (size_t i = 0; rc == 0 && prev && i < job->n_tasks; i++) {
		prev[i] = -1; /* its node is gone: place it anew */
		for (size_t k = 0; k < n_map; k++)
			if (map[k]->id == job->tasks[i].node_id)
				prev[i] = (int)k;
	}
	if (rc == 0)
		rc = solve(job, m, map, prev, err, err_cap);
	else if (!err[0])
		snprintf(err, err_cap, "placement model: %s", sd_strerror(rc));
	plc_model_free(m);
	free(prev);
	free(map);
	return rc;
}

int coord__place(struct coord_job *job, const struct coord_registry *r,
		 const struct coord_netfs *nfs, char *err, size_t err_cap)
{
	return place(job, r, nfs, false, err, err_cap);
}

int coord__replace(struct coord_job *job, const struct coord_registry *r,
		   const struct coord_netfs *nfs, char *err, size_t err_cap)
{
	return place(job, r, nfs, true, err, err_cap);
}
