/*
 * dataflow/df_explain.c — df_plan_explain: the physical plan as text.
 *
 *   job "wordcount": 2 stages, 4 tasks, bounded
 *   stage 0 "s0:text+flat_map+filter+map+combine" x2 (tasks 0-1)
 *     source read_text "netfs://corpus/all.txt"
 *     chain  flat_map -> filter -> map -> combine
 *     out 0  hash(1 key field) -> stage 1 in 0
 *   ...
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dataflow/df_plan.h"

struct tbuf {
	char *p;
	size_t cap, len;
};

static void put(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->len < b->cap ? b->p + b->len : NULL,
			  b->len < b->cap ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n;
}

static const char *const chan_names[] = {"forward", "hash", "broadcast", "gather"};
static const char *const src_names[] = {"read_text", "read_csv", "generate"};
static const char *const sink_names[] = {"write_text", "write_csv", "collect", "print"};

static void put_ann(struct tbuf *b, const struct df_job *job, const struct df_annotation *a)
{
	static const char *const names[] = {"region", "region", "zone",  "label",
					    "near",   "spread", "prefer"};
	put(b, "    @%s(", names[a->kind]);
	switch (a->kind) {
	case DF_ANN_NOT_REGION:
		put(b, "not_in = ");
		/* fall through */
	case DF_ANN_REGION:
	case DF_ANN_ZONE:
		if (a->n_values > 1 || a->kind == DF_ANN_NOT_REGION)
			put(b, "[");
		for (unsigned i = 0; i < a->n_values; i++)
			put(b, "%s\"%s\"", i ? ", " : "", a->values[i]);
		if (a->n_values > 1 || a->kind == DF_ANN_NOT_REGION)
			put(b, "]");
		break;
	case DF_ANN_LABEL:
		put(b, "%s = \"%s\"", a->key, a->values[0]);
		break;
	case DF_ANN_NEAR:
		put(b, "stage %u", a->near_stage);
		if (a->max_latency_us)
			put(b, ", max_latency = %lldus", (long long)a->max_latency_us);
		break;
	case DF_ANN_SPREAD:
		put(b, "by = \"%s\"", a->key);
		break;
	case DF_ANN_PREFER:
		put(b, "%s = \"%s\", weight = %d", a->key, a->values[0], a->weight);
		break;
	}
	put(b, ")%s\n", a->job_default ? "  (job default)" : "");
	(void)job;
}

size_t df_plan_explain(const struct df_job *job, char *buf, size_t cap)
{
	struct tbuf b = {buf, cap, 0};

	if (cap)
		buf[0] = 0;
	put(&b, "job \"%s\": %u stage%s, %u task%s, %s\n", job->name, job->n_stages,
	    job->n_stages == 1 ? "" : "s", job->n_tasks, job->n_tasks == 1 ? "" : "s",
	    df_job_bounded(job) ? "bounded" : "unbounded");
	for (unsigned i = 0; i < job->n_stages; i++) {
		const struct pstage *s = job->stages[i];
		const struct df_stage_info *si = &job->stage_info[i];
		put(&b, "stage %u \"%s\" x%u (tasks %u-%u)%s\n", i, s->name, si->parallelism,
		    si->first_task, si->first_task + si->parallelism - 1,
		    s->bounded ? "" : " unbounded");
		if (s->source >= 0) {
			const struct df_source_info *src = &job->sources[s->source];
			if (src->kind == DF_SRC_GENERATE)
				put(&b, "  source generate(%llu)\n",
				    (unsigned long long)src->generate_n);
			else
				put(&b, "  source %s \"%s\"\n",
				    src->follow
					    ? (src->kind == DF_SRC_CSV ? "tail_csv" : "tail_text")
					    : src_names[src->kind],
				    src->path);
		}
		for (unsigned c = 0; c < job->n_chans; c++)
			if (job->chans[c].to_stage == i)
				put(&b, "  in %u   %s <- stage %u out %u\n", job->chans[c].to_input,
				    chan_names[job->chans[c].kind], job->chans[c].from_stage,
				    job->chans[c].from_output);
		if (s->plan.n_ops) {
			put(&b, "  chain ");
			for (unsigned k = 0; k < s->plan.n_ops; k++)
				put(&b, "%s%s", k ? " -> " : "", s->labels[k]);
			put(&b, "\n");
		}
		for (unsigned o = 0; o < s->plan.n_outs; o++) {
			const struct df_outlet *ol = &s->plan.outs[o];
			if (ol->kind == OUT_SINK) {
				const struct df_sink_info *sk = &job->sinks[ol->sink_id];
				put(&b, "  out %u  sink %s%s%s%s%s\n", o, sink_names[sk->kind],
				    sk->path ? " \"" : "", sk->path ? sk->path : "",
				    sk->path ? "\"" : "", ol->from_late ? "  (late records)" : "");
				continue;
			}
			for (unsigned c = 0; c < job->n_chans; c++) {
				const struct df_channel_info *ch = &job->chans[c];
				if (ch->from_stage != i || ch->from_output != o)
					continue;
				put(&b, "  out %u  %s", o, chan_names[ch->kind]);
				if (ch->kind == DF_CHAN_HASH)
					put(&b, "(%u key field%s)", ol->key_width,
					    ol->key_width == 1 ? "" : "s");
				put(&b, " -> stage %u in %u%s\n", ch->to_stage, ch->to_input,
				    ol->from_late ? "  (late records)" : "");
			}
		}
		for (unsigned k = 0; k < s->n_anns; k++)
			put_ann(&b, job, &s->anns[k]);
	}
	return b.len;
}

/* A JSON string (the job's strings come from the job text: escape them). */
static void put_js(struct tbuf *b, const char *s)
{
	put(b, "\"");
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			put(b, "\\%c", c);
		else if (c < 0x20)
			put(b, "\\u%04x", c);
		else
			put(b, "%c", c);
	}
	put(b, "\"");
}

static const char *const ann_names[] = {"region", "not_region", "zone",  "label",
					"near",   "spread",     "prefer"};

size_t df_plan_json(const struct df_job *job, char *buf, size_t cap)
{
	struct tbuf b = {buf, cap, 0};

	if (cap)
		buf[0] = 0;
	put(&b, "{\"job\":");
	put_js(&b, job->name);
	put(&b, ",\"bounded\":%s,\"tasks\":%u,\"stages\":[", df_job_bounded(job) ? "true" : "false",
	    job->n_tasks);
	for (unsigned i = 0; i < job->n_stages; i++) {
		const struct pstage *s = job->stages[i];
		const struct df_stage_info *si = &job->stage_info[i];
		put(&b, "%s{\"id\":%u,\"name\":", i ? "," : "", i);
		put_js(&b, s->name);
		put(&b, ",\"parallelism\":%u,\"first_task\":%u,\"bounded\":%s", si->parallelism,
		    si->first_task, s->bounded ? "true" : "false");
		if (s->source >= 0) {
			const struct df_source_info *src = &job->sources[s->source];
			put(&b, ",\"source\":{\"kind\":\"%s\",\"path\":",
			    src->follow ? (src->kind == DF_SRC_CSV ? "tail_csv" : "tail_text")
					: src_names[src->kind]);
			put_js(&b, src->path ? src->path : "");
			put(&b, "}");
		}
		put(&b, ",\"chain\":[");
		for (unsigned k = 0; k < s->plan.n_ops; k++) {
			put(&b, "%s", k ? "," : "");
			put_js(&b, s->labels[k]);
		}
		put(&b, "],\"sinks\":[");
		for (unsigned k = 0; k < s->n_sinks; k++) {
			const struct df_sink_info *sk = &job->sinks[s->sinks[k]];
			put(&b, "%s{\"id\":%u,\"kind\":\"%s\",\"path\":", k ? "," : "", sk->id,
			    sink_names[sk->kind]);
			put_js(&b, sk->path ? sk->path : "");
			put(&b, "}");
		}
		put(&b, "],\"annotations\":[");
		for (unsigned k = 0; k < s->n_anns; k++) {
			const struct df_annotation *a = &s->anns[k];
			put(&b, "%s{\"kind\":\"%s\",\"job_default\":%s", k ? "," : "",
			    ann_names[a->kind], a->job_default ? "true" : "false");
			if (a->key) {
				put(&b, ",\"key\":");
				put_js(&b, a->key);
			}
			put(&b, ",\"values\":[");
			for (unsigned v = 0; v < a->n_values; v++) {
				put(&b, "%s", v ? "," : "");
				put_js(&b, a->values[v]);
			}
			put(&b, "]");
			if (a->kind == DF_ANN_NEAR)
				put(&b, ",\"near_stage\":%u,\"max_latency_us\":%lld", a->near_stage,
				    (long long)a->max_latency_us);
			if (a->kind == DF_ANN_PREFER)
				put(&b, ",\"weight\":%d", a->weight);
			put(&b, "}");
		}
		put(&b, "]}");
	}
	put(&b, "],\"channels\":[");
	for (unsigned c = 0; c < job->n_chans; c++) {
		const struct df_channel_info *ch = &job->chans[c];
		put(&b,
		    "%s{\"id\":%u,\"kind\":\"%s\",\"from_stage\":%u,\"from_output\":%u,"
		    "\"to_stage\":%u,\"to_input\":%u}",
		    c ? "," : "", ch->id, chan_names[ch->kind], ch->from_stage, ch->from_output,
		    ch->to_stage, ch->to_input);
	}
	put(&b, "]}\n");
	return b.len;
}

size_t df_plan_dot(const struct df_job *job, char *buf, size_t cap)
{
	struct tbuf b = {buf, cap, 0};

	if (cap)
		buf[0] = 0;
	put(&b, "digraph job {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
	for (unsigned i = 0; i < job->n_stages; i++) {
		const struct pstage *s = job->stages[i];
		put(&b, "  s%u [label=\"stage %u x%u\\n", i, i, s->parallelism);
		for (unsigned k = 0; k < s->plan.n_ops; k++)
			put(&b, "%s%s", k ? " -> " : "", s->labels[k]);
		put(&b, "\"];\n");
		for (unsigned k = 0; k < s->n_sinks; k++) {
			const struct df_sink_info *sk = &job->sinks[s->sinks[k]];
			put(&b, "  sink%u [shape=note, label=\"%s\"];\n  s%u -> sink%u;\n", sk->id,
			    sink_names[sk->kind], i, sk->id);
		}
	}
	for (unsigned c = 0; c < job->n_chans; c++) {
		const struct df_channel_info *ch = &job->chans[c];
		put(&b, "  s%u -> s%u [label=\"%s\"];\n", ch->from_stage, ch->to_stage,
		    chan_names[ch->kind]);
	}
	put(&b, "}\n");
	return b.len;
}
