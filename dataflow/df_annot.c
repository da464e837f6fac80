/*
 * dataflow/df_annot.c — placement annotations and job options.
 *
 *   @region("eu-west")  @region(in = ["a", "b"])  @region(not_in = ["us-east"])
 *   @zone("a")  @label(tier = "edge")  @near(clicks, max_latency = 20ms)
 *   @spread  @spread(by = "zone")  @prefer(region = "eu-west", weight = 50)
 *   job "x" { parallelism = 4, region = "eu-west", @spread(by = "zone") }
 *
 * Annotations become plain df_annotation records for placement/.
 */
#include <string.h>

#include "base/err.h"
#include "dataflow/df_plan.h"

static int aerr(struct df_cx *cx, const struct df_ast *a, const char *msg)
{
	return df__error(cx, SD_ETYPE, a->line, a->col, "@%s: %s", a->name, msg);
}

/* A string or a list of strings -> values. */
static int str_list(struct df_cx *cx, const struct df_ast *a, const struct df_ast *v,
		    struct df_annotation *out)
{
	const char **vals;
	unsigned n = v->k == A_LIST ? v->n : 1;
	if (!(vals = df__arena_alloc(cx->a, sizeof(*vals) * (n ? n : 1))))
		return df__error(cx, SD_ENOMEM, 0, 0, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		const struct df_ast *s = v->k == A_LIST ? v->kids[i] : v;
		if (s->k != A_STR)
			return aerr(cx, a, "expected a string or a list of strings");
		vals[i] = s->sval;
	}
	if (n == 0)
		return aerr(cx, a, "expected at least one name");
	out->values = vals;
	out->n_values = n;
	return 0;
}

static int kv(struct df_cx *cx, const struct df_ast *a, const char *key, const struct df_ast *v,
	      struct df_annotation *out)
{
	if (v->k != A_STR)
		return aerr(cx, a, "expected name = \"value\"");
	out->key = key;
	return str_list(cx, a, v, out);
}

int df__annotation_parse(struct df_cx *cx, struct df_job *job, const struct df_ast *a,
			 struct lnode *target, struct df_annotation *out, const struct lnode **near)
{
	unsigned first = target ? 1 : 0, nargs = a->n - first;
	const struct df_ast *const *args = (const struct df_ast *const *)a->kids + first;
	const char *const *names = a->names + first;
	const char *nm = a->name;

	memset(out, 0, sizeof(*out));
	out->weight = 10;
	if (!strcmp(nm, "region") || !strcmp(nm, "zone")) {
		out->kind = nm[0] == 'r' ? DF_ANN_REGION : DF_ANN_ZONE;
		if (nargs != 1)
			return aerr(cx, a,
				    "expected one name, a list, in = [...] or not_in = [...]");
		if (names[0] && !strcmp(names[0], "not_in") && out->kind == DF_ANN_REGION)
			out->kind = DF_ANN_NOT_REGION;
		else if (names[0] && strcmp(names[0], "in") != 0)
			return aerr(cx, a, "expected in = [...] or not_in = [...]");
		return str_list(cx, a, args[0], out);
	}
	if (!strcmp(nm, "label")) {
		out->kind = DF_ANN_LABEL;
		if (nargs != 1 || !names[0])
			return aerr(cx, a, "expected @label(key = \"value\")");
		return kv(cx, a, names[0], args[0], out);
	}
	if (!strcmp(nm, "prefer")) {
		out->kind = DF_ANN_PREFER;
		bool have = false;
		for (unsigned i = 0; i < nargs; i++) {
			if (!names[i])
				return aerr(cx, a, "expected @prefer(region = \"x\", weight = 50)");
			if (!strcmp(names[i], "weight")) {
				if (args[i]->k != A_INT || args[i]->ival < 0 ||
				    args[i]->ival > 1000)
					return aerr(cx, a, "weight must be an integer 0..1000");
				out->weight = (int)args[i]->ival;
			} else if (have) {
				return aerr(cx, a, "one preference per annotation");
			} else if (kv(cx, a, names[i], args[i], out)) {
				return cx->err;
			} else {
				have = true;
			}
		}
		return have ? 0 : aerr(cx, a, "expected what to prefer, e.g. region = \"eu-west\"");
	}
	if (!strcmp(nm, "spread")) {
		out->kind = DF_ANN_SPREAD;
		out->key = "zone";
		if (nargs == 0)
			return 0;
		if (nargs != 1 || !names[0] || strcmp(names[0], "by") || args[0]->k != A_STR)
			return aerr(cx, a, "expected @spread or @spread(by = \"zone\")");
		out->key = args[0]->sval;
		return 0;
	}
	if (!strcmp(nm, "near")) {
		out->kind = DF_ANN_NEAR;
		if (!target)
			return aerr(cx, a, "@near belongs on a stage, not on the job");
		if (nargs < 1 || names[0] || args[0]->k != A_IDENT)
			return aerr(cx, a, "expected @near(stream_name, max_latency = 20ms)");
		for (unsigned i = 1; i < nargs; i++) {
			if (!names[i] || strcmp(names[i], "max_latency") || args[i]->k != A_DUR)
				return aerr(cx, a, "expected max_latency = <duration>");
			out->max_latency_us = args[i]->ival;
		}
		for (unsigned i = job->n_nodes; i-- > 0;)
			if (job->nodes[i]->let_name &&
			    !strcmp(job->nodes[i]->let_name, args[0]->name)) {
				*near = job->nodes[i];
				return 0;
			}
		return df__error(cx, SD_ETYPE, args[0]->line, args[0]->col,
				 "@near: unknown stream '%s': expected a name bound with let",
				 args[0]->name);
	}
	return aerr(cx, a,
		    "unknown annotation: expected @region, @zone, @label, @near, "
		    "@spread, @prefer or @parallelism");
}

static int add_job_ann(struct df_cx *cx, struct df_job *job, const struct df_annotation *an,
		       const struct df_ast *at)
{
	if (job->n_job_anns >= DF_ANNS_MAX)
		return df__error(cx, SD_ELIMIT, at ? at->line : 0, at ? at->col : 0,
				 "too many job-level annotations (limit %d)", DF_ANNS_MAX);
	job->job_anns[job->n_job_anns] = *an;
	job->job_anns[job->n_job_anns++].job_default = true;
	return 0;
}

int df__job_option(struct df_cx *cx, struct df_job *job, const char *key, const struct df_ast *v)
{
	struct df_annotation an;
	const struct lnode *near = NULL;

	if (!strcmp(key, "@")) {
		if (!strcmp(v->name, "parallelism"))
			return df__error(cx, SD_ETYPE, v->line, v->col,
					 "in the job block write parallelism = n");
		if (df__annotation_parse(cx, job, v, NULL, &an, &near))
			return cx->err;
		return add_job_ann(cx, job, &an, v);
	}
	if (!strcmp(key, "parallelism")) {
		if (v->k != A_INT || v->ival < 1 || v->ival > DF_PARALLELISM_MAX)
			return df__error(cx, SD_ETYPE, v->line, v->col,
					 "parallelism must be an integer 1..%d",
					 DF_PARALLELISM_MAX);
		job->default_par = (unsigned)v->ival;
		return 0;
	}
	if (!strcmp(key, "region") || !strcmp(key, "zone")) {
		memset(&an, 0, sizeof(an));
		an.kind = key[0] == 'r' ? DF_ANN_REGION : DF_ANN_ZONE;
		if (v->k != A_STR && v->k != A_LIST)
			return df__error(cx, SD_ETYPE, v->line, v->col,
					 "%s = expects a string or a list", key);
		struct df_ast fake = *v;
		fake.name = key;
		if (str_list(cx, &fake, v, &an))
			return cx->err;
		return add_job_ann(cx, job, &an, v);
	}
	if (!strcmp(key, "checkpoint") || !strcmp(key, "restart_delay") ||
	    !strcmp(key, "restart_delay_max")) {
		if (v->k != A_DUR || v->ival < 0)
			return df__error(cx, SD_ETYPE, v->line, v->col,
					 "%s must be a duration such as 5s or 500ms", key);
		*(key[0] == 'c'                   ? &job->opts.checkpoint_us
		  : !strcmp(key, "restart_delay") ? &job->opts.restart_delay_us
						  : &job->opts.restart_delay_max_us) = v->ival;
		return 0;
	}
	if (!strcmp(key, "restart_attempts")) {
		if (v->k != A_INT || v->ival < 0 || v->ival > DF_RESTART_ATTEMPTS_MAX)
			return df__error(cx, SD_ETYPE, v->line, v->col,
					 "restart_attempts must be an integer 0..%d",
					 DF_RESTART_ATTEMPTS_MAX);
		job->opts.restart_attempts = v->ival;
		return 0;
	}
	if (!strcmp(key, "restart")) {
		static const char *const kinds[] = {"none", "fixed", "backoff"};
		for (int k = 0; v->k == A_STR && k < 3; k++)
			if (!strcmp(v->sval, kinds[k])) {
				job->opts.restart = (enum df_restart_kind)k;
				return 0;
			}
		return df__error(cx, SD_ETYPE, v->line, v->col,
				 "restart must be \"fixed\", \"backoff\" or \"none\"");
	}
	return df__error(cx, SD_ETYPE, v->line, v->col,
			 "unknown job option '%s': expected parallelism, region, zone, "
			 "checkpoint, restart, restart_attempts, restart_delay, "
			 "restart_delay_max or an @annotation",
			 key);
}

void df_job_get_options(const struct df_job *job, struct df_job_options *out)
{
	*out = job->opts;
}

/* "key=value" strings from the command line become job-level annotations. */
int df__job_cli_constraints(struct df_cx *cx, struct df_job *job, const char *const *kvs,
			    unsigned n, bool prefer);
int df__job_cli_constraints(struct df_cx *cx, struct df_job *job, const char *const *kvs,
			    unsigned n, bool prefer)
{
	for (unsigned i = 0; i < n; i++) {
		const char *eq = kvs[i] ? strchr(kvs[i], '=') : NULL;
		struct df_annotation an;
		const char **vals = df__arena_alloc(cx->a, sizeof(*vals));
		if (!eq || eq == kvs[i] || !eq[1])
			return df__error(cx, SD_EINVAL, 0, 0, "bad %s '%s': expected key=value",
					 prefer ? "preference" : "constraint",
					 kvs[i] ? kvs[i] : "");
		memset(&an, 0, sizeof(an));
		an.key = df__arena_strndup(cx->a, kvs[i], (size_t)(eq - kvs[i]));
		if (!vals || !an.key ||
		    !(vals[0] = df__arena_strndup(cx->a, eq + 1, strlen(eq + 1))))
			return df__error(cx, SD_ENOMEM, 0, 0, "out of memory");
		an.values = vals;
		an.n_values = 1;
		an.weight = 10;
		if (prefer)
			an.kind = DF_ANN_PREFER;
		else if (!strcmp(an.key, "region"))
			an.kind = DF_ANN_REGION;
		else if (!strcmp(an.key, "zone"))
			an.kind = DF_ANN_ZONE;
		else
			an.kind = DF_ANN_LABEL;
		if (add_job_ann(cx, job, &an, NULL))
			return cx->err;
	}
	return 0;
}
