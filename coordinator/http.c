/*
 * coordinator/http.c — one HTTP/1.1 server connection (coord_http_conn_*).
 *
 * Bytes in (coord_http_conn_feed), requests assembled with Debian's
 * http-parser, routed through coord_api_handle, response bytes out through
 * the write callback. Pipelined requests are answered in order; keep-alive
 * follows HTTP/1.1 rules. Limits (coord.h): URL, header count and bytes,
 * body. Anything malformed or over a limit gets a 4xx JSON error naming the
 * problem and the connection closes; so do other HTTP versions than 1.x
 * (400 for HTTP/0.9's bare "GET /", 505 for 2 and above), which http-parser
 * would accept. No sockets and no clock here, so the fuzz target and the unit
 * tests drive exactly what the daemon runs; the daemon times each request's
 * phases (coord_http_conn_phase) against its deadlines.
 *
 * Memory: the URL and headers live in fixed buffers inside the connection;
 * the body grows on demand up to COORD_HTTP_BODY_MAX.
 */
#include "coordinator/coord.h"

#include <assert.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

struct header_slot {
	size_t name_off; /* into hbuf */
	size_t value_off;
};

struct coord_http_conn {
	http_parser parser;
	struct coord_api *api;
	coord_http_write_fn *write;
	void *arg;
	char url[COORD_HTTP_URL_MAX + 1];
	size_t url_len;
	/* Header bytes plus a NUL after each name and each value. */
	char hbuf[COORD_HTTP_HEADER_BYTES_MAX + 2 * COORD_HTTP_HEADERS_MAX + 2];
	size_t hlen;     /* bytes used in hbuf, NULs included */
	size_t hcontent; /* header bytes received, NULs excluded */
	struct header_slot slots[COORD_HTTP_HEADERS_MAX];
	size_t n_headers;
	bool in_value; /* the last header callback was a value */
	char *body;    /* owned */
	size_t body_len;
	size_t body_cap;
	int limit_status; /* a callback hit a limit: 413, 414, 431 */
	const char *limit_message;
	bool complete; /* a whole request is waiting to be answered */
	bool closed;   /* answered with Connection: close; ignore further bytes */
	enum coord_http_phase phase;
	uint64_t requests; /* begun on this connection */
};

static struct coord_http_conn *conn_of(http_parser *p)
{
	return (struct coord_http_conn *)p->data;
}

static int over_limit(struct coord_http_conn *c, int status, const char *message)
{
	c->limit_status = status;
	c->limit_message = message;
	return -1; /* stops the parser */
}

/*
 * 0 when the request line names HTTP/1.x (or has not named a version yet:
 * on_message_begin says 1.1 until the parser reads one), else the status
 * to refuse it with. http-parser takes a bare "GET /" as HTTP/0.9, whose
 * response would have no status line or headers.
 */
static int version_refusal(const http_parser *p, const char **message)
{
	if (p->http_major == 1)
		return 0;
	if (p->http_major == 0) {
		*message = "HTTP/0.9 and HTTP/0.x requests are not supported: send HTTP/1.1";
		return 400;
	}
	*message = "HTTP version not supported: send HTTP/1.1";
	return 505;
}

static int on_message_begin(http_parser *p)
{
	struct coord_http_conn *c = conn_of(p);
	p->http_major = 1; /* until the request line says otherwise (version_refusal) */
	p->http_minor = 1;
	c->phase = COORD_HTTP_HEAD;
	c->requests++;
	c->url_len = 0;
	c->hlen = 0;
	c->hcontent = 0;
	c->n_headers = 0;
	c->in_value = false;
	c->body_len = 0;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct coord_http_conn *c = conn_of(p);
	if (len > COORD_HTTP_URL_MAX - c->url_len)
		return over_limit(c, 414, "request target longer than the limit");
	memcpy(c->url + c->url_len, at, len);
	c->url_len += len;
	return 0;
}

static int hbuf_append(struct coord_http_conn *c, const char *at, size_t len)
{
	if (len > COORD_HTTP_HEADER_BYTES_MAX - c->hcontent)
		return over_limit(c, 431, "request headers larger than the limit");
	assert(c->hlen + len <= sizeof(c->hbuf) - 2);
	memcpy(c->hbuf + c->hlen, at, len);
	c->hlen += len;
	c->hcontent += len;
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct coord_http_conn *c = conn_of(p);
	if (c->in_value || c->n_headers == 0) {
		if (c->n_headers == COORD_HTTP_HEADERS_MAX)
			return over_limit(c, 431, "too many request headers");
		if (c->n_headers > 0)
			c->hbuf[c->hlen++] = '\0'; /* ends the previous value */
		c->slots[c->n_headers].name_off = c->hlen;
		c->slots[c->n_headers].value_off = SIZE_MAX;
		c->n_headers++;
		c->in_value = false;
	}
	return hbuf_append(c, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct coord_http_conn *c = conn_of(p);
	if (c->n_headers == 0)
		return -1; /* parser bug guard: a value before any field */
	if (!c->in_value) {
		c->hbuf[c->hlen++] = '\0'; /* ends the name */
		c->slots[c->n_headers - 1].value_off = c->hlen;
		c->in_value = true;
	}
	return hbuf_append(c, at, len);
}

static int on_headers_complete(http_parser *p)
{
	struct coord_http_conn *c = conn_of(p);
	const char *why;
	int status = version_refusal(p, &why);
	if (status)
		return over_limit(c, status, why);
	if (c->n_headers > 0) {
		struct header_slot *last = &c->slots[c->n_headers - 1];
		if (last->value_off == SIZE_MAX) { /* a field with no value */
			c->hbuf[c->hlen++] = '\0';
			last->value_off = c->hlen;
		}
		c->hbuf[c->hlen++] = '\0';
	}
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > COORD_HTTP_BODY_MAX)
		return over_limit(c, 413, "request body larger than the limit");
	c->phase = COORD_HTTP_BODY;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct coord_http_conn *c = conn_of(p);
	if (len > COORD_HTTP_BODY_MAX - c->body_len)
		return over_limit(c, 413, "request body larger than the limit");
	if (c->body_len + len + 1 > c->body_cap) {
		size_t cap = c->body_cap ? c->body_cap : 1024;
		while (cap < c->body_len + len + 1)
			cap *= 2;
		char *b = realloc(c->body, cap);
		if (!b)
			return over_limit(c, 503, "out of memory for the request body");
		c->body = b;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct coord_http_conn *c = conn_of(p);
	c->complete = true;
	c->phase = COORD_HTTP_WAITING;
	http_parser_pause(p, 1); /* answer before parsing a pipelined request */
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

struct coord_http_conn *coord_http_conn_new(struct coord_api *api, coord_http_write_fn *write,
					    void *arg)
{
	struct coord_http_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->api = api;
	c->write = write;
	c->arg = arg;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	return c;
}

void coord_http_conn_free(struct coord_http_conn *c)
{
	if (!c)
		return;
	free(c->body);
	free(c);
}

static const char *reason_phrase(int status)
{
	switch (status) {
#define XX(num, name, string) \
	case num:             \
		return #string;
		HTTP_STATUS_MAP(XX)
#undef XX
	default:
		return "Unknown";
	}
}

/* Writes one response: head and body in one buffer, one write. */
static int send_response(struct coord_http_conn *c, const struct coord_http_response *r,
			 bool head_only, bool keep_alive)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n%s%sConnection: %s\r\n\r\n",
			 r->status, reason_phrase(r->status),
			 r->content_type ? r->content_type : "application/json", r->body_len,
			 r->extra_header ? r->extra_header : "", r->extra_header ? "\r\n" : "",
			 keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= sizeof(head))
		return SD_EINTERNAL;
	size_t body = head_only ? 0 : r->body_len;
	char *out = malloc((size_t)n + body);
	if (!out)
		return SD_ENOMEM;
	memcpy(out, head, (size_t)n);
	if (body)
		memcpy(out + n, r->body, body);
	int rc = c->write(c->arg, out, (size_t)n + body);
	free(out);
	return rc;
}

/* Answers a request the parser refused; the connection then closes. */
static int send_error(struct coord_http_conn *c, int status, const char *message)
{
	struct coord_http_response r;
	memset(&r, 0, sizeof(r));
	coord_api_error(&r, status, status == 413 ? SD_ETOOBIG : SD_EPROTO, message);
	c->api->stats.bad_requests_total++;
	c->api->stats.responses_by_class[status / 100]++;
	int rc = send_response(c, &r, false, false);
	free(r.body);
	c->closed = true;
	return rc ? rc : SD_ECLOSED;
}

static int answer(struct coord_http_conn *c)
{
	c->complete = false;
	bool keep_alive = http_should_keep_alive(&c->parser) != 0;
	c->url[c->url_len] = '\0';
	if (c->url_len == 0 || c->url[0] != '/')
		return send_error(c, 400, "request target must be an absolute path (origin-form)");
	struct coord_http_header hdrs[COORD_HTTP_HEADERS_MAX];
	for (size_t i = 0; i < c->n_headers; i++) {
		hdrs[i].name = c->hbuf + c->slots[i].name_off;
		hdrs[i].value = c->hbuf + c->slots[i].value_off;
	}
	char *q = strchr(c->url, '?');
	if (q)
		*q++ = '\0';
	if (c->body)
		c->body[c->body_len] = '\0';
	struct coord_http_request req = {
		.method = (int)c->parser.method,
		.path = c->url,
		.query = q,
		.headers = hdrs,
		.n_headers = c->n_headers,
		.body = c->body ? c->body : "",
		.body_len = c->body_len,
	};
	struct coord_http_response resp;
	coord_api_handle(c->api, &req, &resp);
	int rc = send_response(c, &resp, req.method == HTTP_HEAD, keep_alive);
	free(resp.body);
	if (rc)
		return rc;
	if (!keep_alive) {
		c->closed = true;
		return SD_ECLOSED;
	}
	return 0;
}

int coord_http_conn_feed(struct coord_http_conn *c, const char *data, size_t len)
{
	if (c->closed)
		return SD_ECLOSED;
	size_t off = 0;
	while (off < len) {
		size_t n = http_parser_execute(&c->parser, &parser_settings, data + off, len - off);
		off += n;
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
		if (c->limit_status)
			return send_error(c, c->limit_status, c->limit_message);
		if (e == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			if (c->complete) {
				int rc = answer(c);
				if (rc)
					return rc;
			}
			continue;
		}
		if (e != HPE_OK) {
			char msg[160];
			snprintf(msg, sizeof(msg), "malformed HTTP request: %s (%s)",
				 http_errno_description(e), http_errno_name(e));
			return send_error(c, 400, msg);
		}
		if (c->parser.upgrade)
			return send_error(c, 400, "protocol upgrade is not supported");
		if (n == 0)
			return send_error(c, 400, "malformed HTTP request");
	}
	/* A version seen before the head ends: an HTTP/0.9 client sends no headers. */
	const char *why;
	int status = c->phase == COORD_HTTP_HEAD ? version_refusal(&c->parser, &why) : 0;
	if (status)
		return send_error(c, status, why);
	return 0;
}

enum coord_http_phase coord_http_conn_phase(const struct coord_http_conn *c, uint64_t *requests)
{
	*requests = c->requests;
	return c->phase;
}

void coord_http_conn_eof(struct coord_http_conn *c)
{
	c->closed = true;
}
