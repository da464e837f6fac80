/*
 * dataflow/df_batch.c — the record batch codec (format in dataflow.h), the
 * row-as-bytes encoding used for hash keys and operator state, and hashing.
 *
 * Fixed-width fields are copied with memcpy in host order; the format is
 * defined little endian and every Stardust target (x86_64) is.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dataflow/df_exec.h"

static void put_field(struct df_wbuf *w, uint8_t kind, const union df_val *v)
{
	if (kind == DF_BOOL) {
		df__w_u8(w, (uint8_t)(v->i != 0));
	} else if (kind == DF_STR) {
		df__w_u32(w, v->s.n);
		df__w_bytes(w, v->s.p, v->s.n);
	} else {
		df__w_bytes(w, &v->i, 8);
	}
}

void df__row_encode(struct df_wbuf *w, const uint8_t *kinds, const union df_val *row, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put_field(w, kinds[i], &row[i]);
}

void df__row_decode(const uint8_t *p, const uint8_t *kinds, union df_val *row, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (kinds[i] == DF_BOOL) {
			row[i].i = *p++;
		} else if (kinds[i] == DF_STR) {
			uint32_t l;
			memcpy(&l, p, 4);
			row[i].s.p = (const char *)p + 4;
			row[i].s.n = l;
			p += 4 + l;
		} else {
			memcpy(&row[i].i, p, 8);
			p += 8;
		}
	}
}

void df__bb_init(struct df_bb *b, uint16_t nfields, bool timed)
{
	memset(b, 0, sizeof(*b));
	b->nfields = nfields;
	b->timed = timed;
	df__w_bytes(&b->w, (uint8_t[DF_BATCH_HEADER]){0}, DF_BATCH_HEADER);
}

void df__bb_add(struct df_bb *b, const uint8_t *kinds, const union df_val *row, int64_t ts)
{
	if (b->timed)
		df__w_bytes(&b->w, &ts, 8);
	df__row_encode(&b->w, kinds, row, b->nfields);
	b->rows++;
}

size_t df__bb_bytes(const struct df_bb *b)
{
	return b->w.len - DF_BATCH_HEADER;
}

const uint8_t *df__bb_finish(struct df_bb *b, size_t *len)
{
	uint8_t *h;
	uint32_t body;
	if (b->w.oom)
		return NULL;
	h = b->w.p;
	body = (uint32_t)(b->w.len - DF_BATCH_HEADER);
	h[0] = 'S';
	h[1] = 'D';
	h[2] = 'B';
	h[3] = 1;
	memcpy(h + 4, &b->rows, 4);
	memcpy(h + 8, &b->nfields, 2);
	h[10] = b->timed ? 1 : 0;
	h[11] = 0;
	memcpy(h + 12, &body, 4);
	*len = b->w.len;
	return h;
}

void df__bb_clear(struct df_bb *b)
{
	b->w.len = DF_BATCH_HEADER;
	b->rows = 0;
}

void df__bb_free(struct df_bb *b)
{
	free(b->w.p);
	memset(b, 0, sizeof(*b));
}

int df__br_open(struct df_br *r, const uint8_t *batch, size_t len, uint16_t nfields)
{
	uint32_t rows, body;
	uint16_t nf;
	if (len < DF_BATCH_HEADER || batch[0] != 'S' || batch[1] != 'D' || batch[2] != 'B' ||
	    batch[3] != 1)
		return SD_EPROTO;
	memcpy(&rows, batch + 4, 4);
	memcpy(&nf, batch + 8, 2);
	memcpy(&body, batch + 12, 4);
	if (nf != nfields || body != len - DF_BATCH_HEADER || (batch[10] & ~1u))
		return SD_EPROTO;
	r->p = batch + DF_BATCH_HEADER;
	r->end = batch + len;
	r->rows_left = rows;
	r->nfields = nf;
	r->timed = batch[10] & 1;
	return 0;
}

int df__br_next(struct df_br *r, const uint8_t *kinds, union df_val *row, int64_t *ts)
{
	const uint8_t *p = r->p;
	if (r->rows_left == 0)
		return p == r->end ? 0 : SD_EPROTO;
	*ts = 0;
	if (r->timed) {
		if (r->end - p < 8)
			return SD_EPROTO;
		memcpy(ts, p, 8);
		p += 8;
	}
	for (unsigned i = 0; i < r->nfields; i++) {
		if (kinds[i] == DF_BOOL) {
			if (p >= r->end)
				return SD_EPROTO;
			row[i].i = *p++;
		} else if (kinds[i] == DF_STR) {
			uint32_t l;
			if (r->end - p < 4)
				return SD_EPROTO;
			memcpy(&l, p, 4);
			p += 4;
			if ((size_t)(r->end - p) < l)
				return SD_EPROTO;
			row[i].s.p = (const char *)p;
			row[i].s.n = l;
			p += l;
		} else {
			if (r->end - p < 8)
				return SD_EPROTO;
			memcpy(&row[i].i, p, 8);
			p += 8;
		}
	}
	r->p = p;
	r->rows_left--;
	return 1;
}

/* A fast 64-bit hash (multiply-mix over 8-byte words, murmur3's finaliser),
 * not cryptographic. */
static inline uint64_t fmix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v * 0x9e3779b97f4a7c15ull;
	h = (h << 31 | h >> 33) * 0xbf58476d1ce4e5b9ull;
	return h;
}

uint64_t df__hash_bytes(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t h = 0x243f6a8885a308d3ull ^ n;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		h = mix(h, v);
		p += 8;
		n -= 8;
	}
	if (n >= 4) { /* two overlapping fixed-size loads: no variable-size copy */
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		h = mix(h, (uint64_t)lo | (uint64_t)hi << 32);
	} else if (n) {
		h = mix(h, (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16);
	}
	return fmix(h);
}

uint64_t df__hash_row(const uint8_t *kinds, const union df_val *row, unsigned n)
{
	uint64_t h = 0x1234567;
	for (unsigned i = 0; i < n; i++) {
		if (kinds[i] == DF_STR)
			h = mix(h, df__hash_bytes(row[i].s.p, row[i].s.n));
		else if (kinds[i] == DF_BOOL)
			h = mix(h, (uint64_t)(row[i].i != 0));
		else
			h = mix(h, (uint64_t)row[i].i);
	}
	h ^= h >> 29;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 32);
}
