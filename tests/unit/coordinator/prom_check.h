/*
 * tests/unit/coordinator/prom_check.h — a strict, independent checker for the
 * Prometheus text exposition format 0.0.4, written from the format's
 * description (not from coordinator/metrics.c). Header-only, for tests.
 *
 *   prom_parse(text, &doc, err, cap)  0, or -1 with the first problem in err
 *   prom_value(&doc, name, labels)    a sample's value (labels as written
 *                                     between the braces, NULL for none);
 *                                     -1e300 when absent
 *   prom_type_of(&doc, name)          the TYPE declared for a sample's family
 *
 * Rules enforced: every line ends in \n; "# TYPE name kind" at most once per
 * name and before its samples; every sample has a declared TYPE (stricter
 * than the format, as we always declare); metric and label names match
 * [a-zA-Z_:][a-zA-Z0-9_:]* / [a-zA-Z_][a-zA-Z0-9_]*; label values use only
 * the \\ \" \n escapes; values parse as floats (or +Inf, -Inf, NaN).
 */
#ifndef SD_TESTS_PROM_CHECK_H
#define SD_TESTS_PROM_CHECK_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_MAX_SAMPLES 4096
#define PROM_MAX_TYPES   512
#define PROM_NAME_MAX    200
#define PROM_LABELS_MAX  1024

struct prom_sample {
	char name[PROM_NAME_MAX];
	char labels[PROM_LABELS_MAX];
	double value;
};

struct prom_type {
	char name[PROM_NAME_MAX];
	char kind[16];
	bool has_samples;
};

struct prom_doc {
	struct prom_sample *samples;
	size_t n_samples;
	struct prom_type types[PROM_MAX_TYPES];
	size_t n_types;
};

static inline bool prom__name_ok(const char *s, size_t n, bool metric)
{
	if (n == 0 || n >= PROM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = isalpha((unsigned char)c) || c == '_' || (metric && c == ':') ||
			  (i > 0 && isdigit((unsigned char)c));
		if (!ok)
			return false;
	}
	return true;
}

static inline struct prom_type *prom__find_type(struct prom_doc *d, const char *name)
{
	for (size_t i = 0; i < d->n_types; i++)
		if (strcmp(d->types[i].name, name) == 0)
			return &d->types[i];
	return NULL;
}

static inline int prom__fail(char *err, size_t cap, size_t line, const char *what)
{
	snprintf(err, cap, "line %zu: %s", line, what);
	return -1;
}

/* Parses {a="b",c="d"}; p points after '{'; returns the position after '}' or NULL. */
static inline const char *prom__labels(const char *p, const char *end)
{
	while (p < end && *p != '}') {
		const char *n = p;
		while (p < end && *p != '=')
			p++;
		if (p >= end || !prom__name_ok(n, (size_t)(p - n), false))
			return NULL;
		p++;
		if (p >= end || *p != '"')
			return NULL;
		p++;
		while (p < end && *p != '"') {
			if (*p == '\\') {
				p++;
				if (p >= end || (*p != '\\' && *p != '"' && *p != 'n'))
					return NULL;
			}
			p++;
		}
		if (p >= end)
			return NULL;
		p++; /* closing quote */
		if (p < end && *p == ',')
			p++;
		else if (p < end && *p != '}')
			return NULL;
	}
	return p < end ? p + 1 : NULL;
}

static inline int prom__comment(struct prom_doc *d, const char *p, const char *end, size_t ln,
				char *err, size_t cap)
{
	bool type = end - p > 7 && strncmp(p, "# TYPE ", 7) == 0;
	bool help = end - p > 7 && strncmp(p, "# HELP ", 7) == 0;
	if (!type && !help)
		return 0; /* a plain comment */
	p += 7;
	const char *n = p;
	while (p < end && *p != ' ')
		p++;
	if (!prom__name_ok(n, (size_t)(p - n), true) || p >= end)
		return prom__fail(err, cap, ln, "bad HELP/TYPE line");
	if (!help) {
		char kind[16];
		size_t kl = (size_t)(end - p - 1);
		if (kl == 0 || kl >= sizeof(kind))
			return prom__fail(err, cap, ln, "bad TYPE kind");
		memcpy(kind, p + 1, kl);
		kind[kl] = '\0';
		if (strcmp(kind, "counter") && strcmp(kind, "gauge") && strcmp(kind, "histogram") &&
		    strcmp(kind, "summary") && strcmp(kind, "untyped"))
			return prom__fail(err, cap, ln, "unknown TYPE kind");
		char name[PROM_NAME_MAX];
		memcpy(name, n, (size_t)(p - n));
		name[p - n] = '\0';
		if (prom__find_type(d, name) || d->n_types == PROM_MAX_TYPES)
			return prom__fail(err, cap, ln, "TYPE declared twice");
		struct prom_type *t = &d->types[d->n_types++];
		snprintf(t->name, sizeof(t->name), "%s", name);
		snprintf(t->kind, sizeof(t->kind), "%s", kind);
	}
	return 0;
}

static inline int prom__sample(struct prom_doc *d, const char *p, const char *end, size_t ln,
			       char *err, size_t cap)
{
	const char *n = p;
	while (p < end && *p != '{' && *p != ' ')
		p++;
	if (!prom__name_ok(n, (size_t)(p - n), true))
		return prom__fail(err, cap, ln, "bad metric name");
	if (d->n_samples == PROM_MAX_SAMPLES)
		return prom__fail(err, cap, ln, "too many samples");
	struct prom_sample *s = &d->samples[d->n_samples];
	memcpy(s->name, n, (size_t)(p - n));
	s->name[p - n] = '\0';
	s->labels[0] = '\0';
	struct prom_type *t = prom__find_type(d, s->name);
	if (!t)
		return prom__fail(err, cap, ln, "sample without a TYPE line");
	t->has_samples = true;
	if (p < end && *p == '{') {
		const char *after = prom__labels(p + 1, end);
		if (!after || (size_t)(after - p - 2) >= PROM_LABELS_MAX)
			return prom__fail(err, cap, ln, "bad labels");
		memcpy(s->labels, p + 1, (size_t)(after - p - 2));
		s->labels[after - p - 2] = '\0';
		p = after;
	}
	if (p >= end || *p != ' ')
		return prom__fail(err, cap, ln, "no space before the value");
	p++;
	char num[64];
	const char *v = p;
	while (p < end && *p != ' ')
		p++;
	if (p == v || (size_t)(p - v) >= sizeof(num))
		return prom__fail(err, cap, ln, "missing value");
	memcpy(num, v, (size_t)(p - v));
	num[p - v] = '\0';
	char *e;
	if (!strcmp(num, "+Inf") || !strcmp(num, "-Inf") || !strcmp(num, "NaN")) {
		s->value = 0;
	} else {
		s->value = strtod(num, &e);
		if (*e)
			return prom__fail(err, cap, ln, "value is not a number");
	}
	if (p < end) { /* optional integer timestamp */
		strtoll(p + 1, &e, 10);
		if (e != end)
			return prom__fail(err, cap, ln, "trailing garbage");
	}
	d->n_samples++;
	return 0;
}

static inline void prom_free(struct prom_doc *d)
{
	free(d->samples);
	d->samples = NULL;
}

static inline int prom_parse(const char *text, struct prom_doc *d, char *err, size_t cap)
{
	memset(d, 0, sizeof(*d));
	d->samples = calloc(PROM_MAX_SAMPLES, sizeof(*d->samples));
	if (!d->samples)
		return prom__fail(err, cap, 0, "out of memory");
	size_t ln = 0;
	const char *p = text;
	while (*p) {
		ln++;
		const char *end = strchr(p, '\n');
		int rc;
		if (!end)
			rc = prom__fail(err, cap, ln, "last line does not end in a newline");
		else if (end == p)
			rc = 0;
		else if (*p == '#')
			rc = prom__comment(d, p, end, ln, err, cap);
		else
			rc = prom__sample(d, p, end, ln, err, cap);
		if (rc) {
			prom_free(d);
			return rc;
		}
		p = end + 1;
	}
	return 0;
}

static inline double prom_value(const struct prom_doc *d, const char *name, const char *labels)
{
	for (size_t i = 0; i < d->n_samples; i++)
		if (!strcmp(d->samples[i].name, name) &&
		    !strcmp(d->samples[i].labels, labels ? labels : ""))
			return d->samples[i].value;
	return -1e300;
}

static inline const char *prom_type_of(const struct prom_doc *d, const char *name)
{
	for (size_t i = 0; i < d->n_types; i++)
		if (!strcmp(d->types[i].name, name))
			return d->types[i].kind;
	return NULL;
}

#endif /* SD_TESTS_PROM_CHECK_H */
