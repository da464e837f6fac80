/*
 * placement/constraint.c — constraints: the CLI flag parser
 * (plc_constraint_parse), the formatter, adding to a model, and the unary
 * test "does this node pass this constraint".
 *
 * Flag grammar (one flag value, no spaces needed, spaces around tokens ok):
 *   flag   := [stage ':'] key op value [':' weight]      (weight: --prefer only)
 *   op     := '=' | '!='
 *   key    := region | zone | near | spread | max-per-node | label.KEY | KEY
 *   value  := name {(',' | '|') name}                   (region, zone, labels)
 *           | stage ['<' ['='] number ['ms']]            (near)
 *           | zone | region                              (spread)
 *           | integer                                    (max-per-node)
 */
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "placement/plc_priv.h"

void plc__appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	size_t room = *len < cap ? cap - *len : 0;

	va_start(ap, fmt);
	int n = vsnprintf(room ? buf + *len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

/* ---- parsing --------------------------------------------------------- */

struct plc__cursor {
	const char *s;
	char *err;
	size_t err_cap;
};

static int plc__syntax(struct plc__cursor *cur, const char *fmt, const char *what)
{
	if (cur->err && cur->err_cap)
		snprintf(cur->err, cur->err_cap, fmt, what);
	return SD_ESYNTAX;
}

static bool plc__name_char(char c)
{
	return c > ' ' && c != 0x7f && !strchr(",|:=!<", c);
}

/* Copies the trimmed [b, e) into dst (PLC_NAME_MAX); false if empty, too
 * long or holding a character names may not have. */
static bool plc__take_name(const char *b, const char *e, char *dst)
{
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	if (b == e || (size_t)(e - b) >= PLC_NAME_MAX)
		return false;
	for (const char *p = b; p < e; p++)
		if (!plc__name_char(*p))
			return false;
	memcpy(dst, b, (size_t)(e - b));
	dst[e - b] = '\0';
	return true;
}

static int plc__parse_set(struct plc__cursor *cur, const char *b, const char *e,
			  struct plc_constraint *c)
{
	while (b <= e) {
		const char *sep = b;

		while (sep < e && *sep != ',' && *sep != '|')
			sep++;
		if (c->n_values == PLC_SET_MAX)
			return plc__syntax(cur, "too many values in %s (at most 8)", cur->s);
		if (!plc__take_name(b, sep, c->values[c->n_values]))
			return plc__syntax(cur, "bad or empty name in \"%s\"", cur->s);
		c->n_values++;
		b = sep + 1;
	}
	return 0;
}

/* Parses a number (digits, optional fraction) in [b, e); false if malformed. */
static bool plc__take_number(const char *b, const char *e, double *out)
{
	char tmp[32];

	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	if (b == e || (size_t)(e - b) >= sizeof(tmp))
		return false;
	for (const char *p = b; p < e; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return false;
	memcpy(tmp, b, (size_t)(e - b));
	tmp[e - b] = '\0';
	char *end;
	double v = strtod(tmp, &end);

	if (*end || !(v >= 0.0) || v > 1e9)
		return false;
	*out = v;
	return true;
}

static int plc__parse_near(struct plc__cursor *cur, const char *b, const char *e,
			   struct plc_constraint *c)
{
	const char *lt = memchr(b, '<', (size_t)(e - b));

	c->kind = PLC_NEAR;
	if (!plc__take_name(b, lt ? lt : e, c->near_stage))
		return plc__syntax(cur, "near needs a stage name: \"%s\"", cur->s);
	if (!lt)
		return 0;
	const char *nb = lt + 1, *ne = e;

	if (nb < ne && *nb == '=')
		nb++;
	while (ne > nb && isspace((unsigned char)ne[-1]))
		ne--;
	if (ne - nb >= 2 && ne[-2] == 'm' && ne[-1] == 's')
		ne -= 2;
	if (!plc__take_number(nb, ne, &c->max_rtt_ms) || c->max_rtt_ms <= 0.0)
		return plc__syntax(cur, "near bound must be a positive number of ms: \"%s\"",
				   cur->s);
	return 0;
}

static int plc__parse_value(struct plc__cursor *cur, const char *key, const char *b, const char *e,
			    struct plc_constraint *c)
{
	bool neg = c->negate;
	double v;

	if (strcmp(key, "near") == 0 || strcmp(key, "spread") == 0 ||
	    strcmp(key, "max-per-node") == 0 || strcmp(key, "max_per_node") == 0) {
		if (neg)
			return plc__syntax(cur,
					   "\"!=\" only works with region, zone and labels: \"%s\"",
					   cur->s);
	}
	if (strcmp(key, "near") == 0)
		return plc__parse_near(cur, b, e, c);
	if (strcmp(key, "spread") == 0) {
		char what[PLC_NAME_MAX];

		c->kind = PLC_SPREAD;
		if (!plc__take_name(b, e, what) ||
		    (strcmp(what, "zone") && strcmp(what, "region") && strcmp(what, "zones") &&
		     strcmp(what, "regions")))
			return plc__syntax(cur, "spread takes zone or region: \"%s\"", cur->s);
		c->attr = what[0] == 'z' ? PLC_ATTR_ZONE : PLC_ATTR_REGION;
		return 0;
	}
	if (strcmp(key, "max-per-node") == 0 || strcmp(key, "max_per_node") == 0) {
		c->kind = PLC_MAX_PER_NODE;
		if (!plc__take_number(b, e, &v) || v < 1.0 || v > 1e6 || v != (double)(int)v)
			return plc__syntax(cur, "max-per-node takes a whole number >= 1: \"%s\"",
					   cur->s);
		c->max_per_node = (int)v;
		return 0;
	}
	c->kind = PLC_MATCH;
	if (strcmp(key, "region") == 0) {
		c->attr = PLC_ATTR_REGION;
	} else if (strcmp(key, "zone") == 0) {
		c->attr = PLC_ATTR_ZONE;
	} else {
		const char *k = strncmp(key, "label.", 6) == 0 ? key + 6 : key;

		c->attr = PLC_ATTR_LABEL;
		if (!plc__take_name(k, k + strlen(k), c->label_key))
			return plc__syntax(cur, "bad label key in \"%s\"", cur->s);
	}
	return plc__parse_set(cur, b, e, c);
}

/* Splits off a trailing ":WEIGHT" from [b, *e) for --prefer. */
static int plc__parse_weight(struct plc__cursor *cur, const char *b, const char **e,
			     struct plc_constraint *c)
{
	const char *colon = NULL;

	for (const char *p = b; p < *e; p++)
		if (*p == ':')
			colon = p;
	c->soft = true;
	c->weight = PLC_PREFER_WEIGHT;
	if (!colon)
		return 0;
	if (!plc__take_number(colon + 1, *e, &c->weight))
		return plc__syntax(cur, "preference weight must be a number: \"%s\"", cur->s);
	*e = colon;
	return 0;
}

int plc_constraint_parse(const char *text, bool prefer, struct plc_constraint *out, char *err,
			 size_t err_cap)
{
	struct plc__cursor cur = {text, err, err_cap};

	if (!out)
		return SD_EINVAL;
	memset(out, 0, sizeof(*out));
	if (err && err_cap)
		err[0] = '\0';
	if (!text || strlen(text) >= PLC_TEXT_MAX)
		return plc__syntax(&cur, "constraint missing or too long%s", "");
	memcpy(out->origin, text, strlen(text) + 1);
	const char *eq = strchr(text, '=');

	if (!eq)
		return plc__syntax(&cur, "expected key=value or key!=value: \"%s\"", text);
	const char *kend = eq;

	if (eq > text && eq[-1] == '!') {
		out->negate = true;
		kend = eq - 1;
	}
	const char *kb = text, *colon = memchr(text, ':', (size_t)(kend - text));
	char key[PLC_NAME_MAX + 8];

	if (colon) {
		if (!plc__take_name(text, colon, out->stage))
			return plc__syntax(&cur, "bad stage name before ':' in \"%s\"", text);
		kb = colon + 1;
	}
	if (!plc__take_name(kb, kend, key))
		return plc__syntax(&cur, "bad key in \"%s\"", text);
	const char *vb = eq + 1, *ve = text + strlen(text);

	if (prefer) {
		int e = plc__parse_weight(&cur, vb, &ve, out);

		if (e)
			return e;
	}
	int e = plc__parse_value(&cur, key, vb, ve, out);

	if (e)
		return e;
	if (prefer && out->kind != PLC_MATCH)
		return plc__syntax(
			&cur, "--prefer only takes region, zone or label matches: \"%s\"", text);
	return 0;
}

/* ---- formatting ------------------------------------------------------ */

static const char *plc__attr_name(const struct plc_constraint *c)
{
	switch (c->attr) {
	case PLC_ATTR_REGION:
		return "region";
	case PLC_ATTR_ZONE:
		return "zone";
	case PLC_ATTR_LABEL:
		return c->label_key;
	}
	return "?";
}

static int plc__format_canonical(const struct plc_constraint *c, char *buf, size_t cap)
{
	size_t len = 0;

	if (cap)
		buf[0] = '\0';
	switch (c->kind) {
	case PLC_MATCH:
		plc__appendf(buf, cap, &len, "%s%s %s {", c->attr == PLC_ATTR_LABEL ? "label " : "",
			     plc__attr_name(c), c->negate ? "not in" : "in");
		for (size_t i = 0; i < c->n_values; i++)
			plc__appendf(buf, cap, &len, "%s%s", i ? ", " : "", c->values[i]);
		plc__appendf(buf, cap, &len, "}");
		break;
	case PLC_NEAR:
		plc__appendf(buf, cap, &len, "near(%s) within %g ms", c->near_stage,
			     c->max_rtt_ms > 0.0 ? c->max_rtt_ms : PLC_NEAR_DEFAULT_MS);
		break;
	case PLC_MAX_PER_NODE:
		plc__appendf(buf, cap, &len, "at most %d task%s per node", c->max_per_node,
			     c->max_per_node == 1 ? "" : "s");
		break;
	case PLC_SPREAD:
		plc__appendf(buf, cap, &len, "spread over %s",
			     c->attr == PLC_ATTR_ZONE ? "zones" : "regions");
		break;
	}
	if (c->soft)
		plc__appendf(buf, cap, &len, " (preferred, weight %g)", c->weight);
	return (int)len;
}

int plc_constraint_format(const struct plc_constraint *c, char *buf, size_t cap)
{
	if (c->origin[0]) {
		size_t len = strlen(c->origin);

		if (cap)
			snprintf(buf, cap, "%s", c->origin);
		return (int)len;
	}
	return plc__format_canonical(c, buf, cap);
}

int plc__constraint_canonical(const struct plc_constraint *c, char *buf, size_t cap)
{
	return plc__format_canonical(c, buf, cap);
}

/* ---- the model's constraints ------------------------------------------ */

static bool plc__terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static int plc__validate(const struct plc_constraint *c)
{
	if (!plc__terminated(c->stage, PLC_NAME_MAX) ||
	    !plc__terminated(c->label_key, PLC_NAME_MAX) ||
	    !plc__terminated(c->near_stage, PLC_NAME_MAX) ||
	    !plc__terminated(c->origin, PLC_TEXT_MAX))
		return SD_EINVAL;
	if (c->soft && (c->kind != PLC_MATCH || !(c->weight >= 0.0) || c->weight > 1e12))
		return SD_EINVAL;
	switch (c->kind) {
	case PLC_MATCH:
		if (c->n_values < 1 || c->n_values > PLC_SET_MAX)
			return SD_EINVAL;
		for (size_t i = 0; i < c->n_values; i++)
			if (!plc__terminated(c->values[i], PLC_NAME_MAX))
				return SD_EINVAL;
		if (c->attr == PLC_ATTR_LABEL && !c->label_key[0])
			return SD_EINVAL;
		return c->attr <= PLC_ATTR_LABEL ? 0 : SD_EINVAL;
	case PLC_NEAR:
		return c->max_rtt_ms >= 0.0 && c->near_stage[0] ? 0 : SD_EINVAL;
	case PLC_MAX_PER_NODE:
		return c->max_per_node >= 1 ? 0 : SD_EINVAL;
	case PLC_SPREAD:
		return c->attr == PLC_ATTR_REGION || c->attr == PLC_ATTR_ZONE ? 0 : SD_EINVAL;
	}
	return SD_EINVAL;
}

int plc_model_add_constraint(struct plc_model *m, const struct plc_constraint *c)
{
	if (!m || !c)
		return SD_EINVAL;
	int err = plc__validate(c);

	if (err)
		return err;
	int stage = c->stage[0] ? plc_model_find_stage(m, c->stage) : -1;
	int near = c->kind == PLC_NEAR ? plc_model_find_stage(m, c->near_stage) : -1;

	if ((c->stage[0] && stage < 0) || (c->kind == PLC_NEAR && near < 0))
		return SD_ENOENT;
	struct plc__cons *k = PLC__PUSH(m->cons);

	if (!k)
		return SD_ENOMEM;
	k->c = *c;
	if (k->c.kind == PLC_NEAR && k->c.max_rtt_ms <= 0.0)
		k->c.max_rtt_ms = PLC_NEAR_DEFAULT_MS;
	k->stage = stage;
	k->near_stage = near;
	return (int)(m->cons.n - 1);
}

bool plc__applies(const struct plc__cons *k, int stage)
{
	return k->stage < 0 || k->stage == stage;
}

const char *plc__node_attr(const struct plc_model *m, const struct plc_constraint *c, int node)
{
	const struct plc__node *n = &m->nodes.v[node];

	switch (c->attr) {
	case PLC_ATTR_REGION:
		return m->regions.v[n->region].name;
	case PLC_ATTR_ZONE:
		return n->zone;
	case PLC_ATTR_LABEL:
		for (size_t i = 0; i < n->n_labels; i++)
			if (strcmp(n->keys[i], c->label_key) == 0)
				return n->values[i];
		return NULL;
	}
	return NULL;
}

bool plc__match_node(const struct plc_model *m, const struct plc_constraint *c, int node)
{
	if (c->kind != PLC_MATCH)
		return true;
	const char *v = plc__node_attr(m, c, node);
	bool in = false;

	for (size_t i = 0; v && i < c->n_values && !in; i++)
		in = strcmp(v, c->values[i]) == 0;
	return c->negate ? !in : in;
}
