/*
 * dataflow/df_task_input.c — what enters a task: source lines (text and
 * csv), generated records, batches, watermarks and ends of input; plus the
 * small accessors.
 *
 * Every entry point borrows its input for the call only: rows whose keys
 * still point into it (queued aggregate lookups, batched maps) are run
 * through before it returns (df__task_input_done). Strings unquoted from
 * csv go into the task's scratch arena, reset every DF_SCRATCH_ROWS rows.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_task_priv.h"

static bool parse_i64(const char *p, size_t n, int64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	bool neg = false;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < n && (p[i] == '-' || p[i] == '+'))
		neg = p[i++] == '-';
	if (i == n)
		return false;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX + neg)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool parse_field(struct df_task *t, uint8_t kind, const char *p, size_t n, union df_val *v)
{
	char buf[64], *end;
	switch (kind) {
	case DF_STR:
		v->s.p = p;
		v->s.n = (uint32_t)n;
		return true;
	case DF_INT:
		return parse_i64(p, n, &v->i);
	case DF_TIME: /* csv times and durations are integer milliseconds */
	case DF_DUR:
		if (!parse_i64(p, n, &v->i) || v->i > INT64_MAX / 1000 || v->i < INT64_MIN / 1000)
			return false;
		v->i *= 1000;
		return true;
	case DF_BOOL:
		if (n == 4 && !memcmp(p, "true", 4))
			v->i = 1;
		else if (n == 5 && !memcmp(p, "false", 5))
			v->i = 0;
		else
			return false;
		return true;
	case DF_FLOAT:
		if (n == 0 || n >= sizeof buf)
			return false;
		memcpy(buf, p, n);
		buf[n] = 0;
		v->f = strtod(buf, &end);
		return end != buf;
	}
	(void)t;
	return false;
}

/* Splits one csv line into the row; quoted fields ("a,b", "say ""hi""") are
 * unquoted into scratch. Returns false for a malformed line. */
static bool parse_csv(struct df_task *t, const char *p, size_t n, union df_val *row,
		      const uint8_t *kinds, unsigned w)
{
	size_t i = 0;
	for (unsigned f = 0; f < w; f++) {
		const char *fp = p + i;
		size_t fl;
		if (i < n && p[i] == '"') {
			char *o = df__arena_alloc(&t->scratch, n - i + 1);
			size_t k = 0;
			if (!o)
				return false;
			for (i++;; i++) {
				if (i >= n)
					return false;
				if (p[i] == '"') {
					if (i + 1 < n && p[i + 1] == '"') {
						o[k++] = '"';
						i++;
						continue;
					}
					i++;
					break;
				}
				o[k++] = p[i];
			}
			fp = o;
			fl = k;
		} else {
			const char *c = memchr(p + i, ',', n - i);
			fl = (size_t)((c ? c : p + n) - fp);
			i += fl;
		}
		if (!parse_field(t, kinds[f], fp, fl, &row[f]))
			return false;
		if (f + 1 < w) {
			if (i >= n || p[i] != ',')
				return false;
			i++;
		}
	}
	return i == n;
}

static int check_state(struct df_task *t)
{
	if (t->err)
		return t->err;
	if (t->finished)
		return df__task_fail(t, SD_ESTATE, "input after the end of all inputs");
	return 0;
}

/* Every DF_SCRATCH_ROWS rows the scratch arena is reset, after the queued
 * lookups whose keys may point into it. */
static int scratch_tick(struct df_task *t)
{
	if (++t->scratch_rows >= DF_SCRATCH_ROWS) {
		if (t->pend_ops && df__op_drain(t))
			return t->err;
		df__arena_reset(&t->scratch);
		t->scratch_rows = 0;
	}
	return 0;
}

/* One input row into the chain: collected for the batch-at-a-time maps and
 * filters, or run through the chain now. */
static int run_row(struct df_task *t, const union df_val *row, int64_t ts)
{
	if (t->vec_ops) {
		unsigned w = t->plan.ops[0]->in_width;
		if (w == 1)
			t->vin[t->vn] = row[0];
		else
			memcpy(t->vin + (size_t)t->vn * w, row, w * sizeof(*row));
		t->vts[t->vn] = ts;
		return ++t->vn == DF_VEC_ROWS ? df__vec_flush(t) : 0;
	}
	if (df__run(t, 0, row, ts))
		return t->err;
	return scratch_tick(t);
}

int df_task_push_lines(struct df_task *t, const char *text, size_t len)
{
	union df_val row[DF_WIDTH_MAX];
	const uint8_t *kinds;
	unsigned w;
	size_t i = 0;

	if (!t || (!text && len))
		return SD_EINVAL;
	if (check_state(t))
		return t->err;
	if (t->plan.source != DF_SRC_TEXT && t->plan.source != DF_SRC_CSV)
		return df__task_fail(t, SD_EINVAL, "push_lines on a task that reads no text");
	kinds = t->plan.n_ops ? t->plan.ops[0]->in_kinds : t->plan.out_kinds;
	w = t->plan.n_ops ? t->plan.ops[0]->in_width : t->plan.out_width;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - text) : len, n = e - i;
		const char *line = text + i;
		i = nl ? e + 1 : len;
		if (n && line[n - 1] == '\r')
			n--;
		t->stats.records_in++;
		if (t->plan.source == DF_SRC_TEXT) {
			row[0].s.p = line;
			row[0].s.n = (uint32_t)n;
		} else if (n == 0) {
			continue;
		} else if (!parse_csv(t, line, n, row, kinds, w)) {
			t->stats.bad_records++;
			continue;
		}
		if (run_row(t, row, 0))
			return t->err;
	}
	return df__task_input_done(t);
}

int df_task_generate(struct df_task *t, uint64_t max, bool *done)
{
	union df_val row[1];
	if (!t || !done)
		return SD_EINVAL;
	if (check_state(t))
		return t->err;
	if (t->plan.source != DF_SRC_GENERATE)
		return df__task_fail(t, SD_EINVAL, "generate on a task without generate()");
	if (t->vec_ops && t->plan.ops[0]->in_width == 1) { /* straight into the batch */
		uint64_t k = 0;
		while (k < max && t->gen_next < t->gen_end) {
			uint64_t m = DF_VEC_ROWS - t->vn, left = t->gen_end - t->gen_next;
			m = m < max - k ? m : max - k;
			m = m < left ? m : left;
			for (uint64_t j = 0; j < m; j++) {
				t->vin[t->vn].i = (int64_t)t->gen_next++;
				t->vts[t->vn++] = 0;
			}
			k += m;
			t->stats.records_in += m;
			if (t->vn == DF_VEC_ROWS && df__vec_flush(t))
				return t->err;
		}
		*done = t->gen_next >= t->gen_end;
		return df__task_input_done(t);
	}
	for (uint64_t k = 0; k < max && t->gen_next < t->gen_end; k++) {
		row[0].i = (int64_t)t->gen_next++;
		t->stats.records_in++;
		if (run_row(t, row, 0))
			return t->err;
	}
	*done = t->gen_next >= t->gen_end;
	return df__task_input_done(t);
}

int df_task_push(struct df_task *t, unsigned in, const uint8_t *batch, size_t len)
{
	union df_val row[DF_WIDTH_MAX];
	struct df_br r;
	int64_t ts;
	int rc;
	bool join;

	if (!t || !batch)
		return SD_EINVAL;
	if (check_state(t))
		return t->err;
	if (in >= t->plan.n_inputs || t->ended[in])
		return df__task_fail(t, SD_EINVAL, "push on input %u, which is unknown or ended",
				     in);
	if (df__br_open(&r, batch, len, t->plan.in_width[in]))
		return df__task_fail(t, SD_EPROTO, "malformed batch on input %u", in);
	join = t->plan.n_ops && t->plan.ops[0]->kind == P_JOIN;
	while ((rc = df__br_next(&r, t->plan.in_kinds[in], row, &ts)) == 1) {
		t->stats.records_in++;
		ts = ts > DF_TIME_MAX ? DF_TIME_MAX : ts < -DF_TIME_MAX ? -DF_TIME_MAX : ts;
		if (join ? df__join_push(t, in, row, ts) || scratch_tick(t) : run_row(t, row, ts))
			return t->err;
	}
	if (rc < 0)
		return df__task_fail(t, SD_EPROTO, "malformed batch on input %u", in);
	return df__task_input_done(t);
}

static int64_t inputs_watermark(const struct df_task *t)
{
	int64_t w = INT64_MAX;
	for (unsigned i = 0; i < t->plan.n_inputs; i++)
		if (!t->ended[i] && t->in_wm[i] < w)
			w = t->in_wm[i];
	return w;
}

int df_task_watermark(struct df_task *t, unsigned in, int64_t event_time_us)
{
	if (!t)
		return SD_EINVAL;
	if (check_state(t))
		return t->err;
	if (in >= t->plan.n_inputs)
		return df__task_fail(t, SD_EINVAL, "watermark on unknown input %u", in);
	if (event_time_us < -DF_TIME_MAX)
		event_time_us = -DF_TIME_MAX;
	if (event_time_us > DF_TIME_MAX && event_time_us != INT64_MAX)
		event_time_us = DF_TIME_MAX;
	if (event_time_us <= t->in_wm[in])
		return 0;
	t->in_wm[in] = event_time_us;
	int64_t w = inputs_watermark(t);
	return w == DF_WM_NONE || w == INT64_MAX ? 0 : df__task_watermark_from(t, 0, w);
}

int df_task_end_input(struct df_task *t, unsigned in)
{
	if (!t)
		return SD_EINVAL;
	if (t->err)
		return t->err;
	if (t->finished)
		return 0;
	if (in >= (t->plan.n_inputs ? t->plan.n_inputs : 1u))
		return df__task_fail(t, SD_EINVAL, "end of unknown input %u", in);
	if (!t->ended[in]) {
		t->ended[in] = true;
		t->n_ended++;
	}
	if (t->n_ended < (t->plan.n_inputs ? t->plan.n_inputs : 1u)) {
		int64_t w = inputs_watermark(t);
		return w == DF_WM_NONE || w == INT64_MAX ? 0 : df__task_watermark_from(t, 0, w);
	}
	return df__task_finish(t);
}

void df_task_get_stats(const struct df_task *t, struct df_task_stats *out)
{
	*out = t->stats;
}

const char *df_task_error(const struct df_task *t)
{
	return t->errmsg;
}

unsigned df_task_n_inputs(const struct df_task *t)
{
	return t->plan.n_inputs;
}

unsigned df_task_n_outputs(const struct df_task *t)
{
	unsigned n = 0;
	for (unsigned o = 0; o < t->plan.n_outs; o++)
		n += t->plan.outs[o].kind == OUT_CHANNEL;
	return n;
}

bool df_task_is_source(const struct df_task *t)
{
	return t->plan.source >= 0;
}

int df_task_source_kind(const struct df_task *t)
{
	return t->plan.source;
}
