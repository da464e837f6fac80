/*
 * coordinator/api.c — HTTP routing for the coordinator (coord_api_handle).
 *
 * A parsed request in, a response out; no sockets here (http.c does bytes,
 * server.c does libuv). Routes (docs/api.md):
 *
 *   GET    /v1/overview                GET /v1/nodes
 *   GET    /v1/jobs                    POST /v1/jobs          (auth)
 *   GET    /v1/jobs/:id                DELETE /v1/jobs/:id    (auth)
 *   GET    /v1/jobs/:id/plan           GET /v1/jobs/:id/exceptions
 *   GET    /v1/jobs/:id/checkpoints    POST /v1/jobs/:id/savepoints (auth)
 *   POST   /v1/plan                    (auth; explain without running)
 *   GET    /metrics
 *
 * Errors are JSON: {"error": "what was wrong", "code": "SD_E..."}.
 */
#include "coordinator/coord_priv.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"

#define JSON_TYPE    "application/json"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define ERR_MAX      4096 /* bytes: an error message, with the NUL */

static void set_json(struct coord_http_response *resp, int status, char *body)
{
	resp->status = body ? status : 500;
	resp->content_type = JSON_TYPE;
	if (!body) {
		static const char oom[] = "{\"error\":\"out of memory\",\"code\":\"SD_ENOMEM\"}";
		body = strdup(oom);
	}
	resp->body = body;
	resp->body_len = body ? strlen(body) : 0;
}

void coord_api_error(struct coord_http_response *resp, int status, int code, const char *message)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", message);
	cJSON_AddStringToObject(o, "code", sd_errname(code));
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	resp->extra_header = NULL;
	set_json(resp, status, text);
}

static const char *header(const struct coord_http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/* Constant-time so the token cannot be found byte by byte. */
static bool token_matches(const char *given, size_t given_len, const char *want)
{
	size_t want_len = strlen(want);
	unsigned diff = given_len != want_len;
	for (size_t i = 0; i < given_len; i++)
		diff |= (unsigned char)given[i] ^ (unsigned char)want[want_len ? i % want_len : 0];
	return diff == 0;
}

static bool authorized(const struct coord_api *api, const struct coord_http_request *req)
{
	if (!api->token || !api->token[0])
		return true;
	const char *auth = header(req, "Authorization");
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	const char *t = auth + 7;
	while (*t == ' ')
		t++;
	size_t len = strlen(t);
	while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
		len--;
	return token_matches(t, len, api->token);
}

/* Echo only printable ASCII from a request: the JSON must stay valid UTF-8. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void method_not_allowed(struct coord_http_response *resp, const char *allow)
{
	char msg[128];
	snprintf(msg, sizeof(msg), "method not allowed here; allowed: %s", allow);
	coord_api_error(resp, 405, SD_EINVAL, msg);
	/* Static strings: the connection layer writes them as they are. */
	if (strcmp(allow, "GET") == 0)
		resp->extra_header = "Allow: GET";
	else if (strcmp(allow, "GET, POST") == 0)
		resp->extra_header = "Allow: GET, POST";
	else if (strcmp(allow, "GET, DELETE") == 0)
		resp->extra_header = "Allow: GET, DELETE";
	else
		resp->extra_header = "Allow: POST";
}

static int submit_status(int rc)
{
	switch (rc) {
	case SD_ENOTSUP:
		return 501;
	case SD_ESYNTAX:
	case SD_ETYPE:
	case SD_EPLAN:
	case SD_EINVAL:
		return 400;
	case SD_EINFEASIBLE:
		return 409;
	case SD_ENOENT:
		return 422;
	case SD_ELOST:
		return 503;
	case SD_ECONNREFUSED:
	case SD_EUNREACH:
	case SD_ETIMEDOUT:
		return 502;
	case SD_ETOOBIG:
		return 413;
	case SD_ELIMIT:
		return 503;
	default:
		return 500;
	}
}

#define SUBMIT_FLAGS_MAX         64      /* constraints + preferences in one request */
#define SUBMIT_CHECKPOINT_US_MAX 86400e6 /* "checkpoint_us": at most a day */

struct submit_req {
	cJSON *doc; /* owned: the parsed body, when JSON */
	const char *flags[SUBMIT_FLAGS_MAX];
	struct coord_submit sub; /* borrows doc and the request */
};

static int parse_list(const cJSON *doc, const char *key, struct submit_req *s, size_t *count,
		      char *err, size_t cap)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(doc, key);
	const cJSON *e;
	/* Lists share s->flags one after the other: this one starts after every
	 * string an earlier list took (count may be one of those counters). */
	size_t first = s->sub.n_constraints + s->sub.n_preferences;
	assert(first <= SUBMIT_FLAGS_MAX);
	*count = 0;
	if (l && !cJSON_IsArray(l)) {
		snprintf(err, cap, "\"%s\" must be an array of strings", key);
		return SD_EINVAL;
	}
	cJSON_ArrayForEach(e, l)
	{
		size_t used = first + *count;
		if (!cJSON_IsString(e) || used == SUBMIT_FLAGS_MAX) {
			snprintf(err, cap, "\"%s\" must be an array of at most %u strings", key,
				 SUBMIT_FLAGS_MAX);
			return SD_EINVAL;
		}
		s->flags[used] = e->valuestring;
		(*count)++;
	}
	return 0;
}

/* "checkpoint_us" (a whole number of microseconds) and "from_savepoint" (a path). */
static int parse_ft_fields(const cJSON *doc, struct coord_submit *sub, char *err, size_t cap)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "checkpoint_us");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, "from_savepoint");
	if (c && (!cJSON_IsNumber(c) || c->valuedouble < 0 ||
		  c->valuedouble > SUBMIT_CHECKPOINT_US_MAX ||
		  c->valuedouble != (double)(int64_t)c->valuedouble)) {
		snprintf(err, cap, "\"checkpoint_us\" must be a whole number from 0 (none) to %.0f",
			 SUBMIT_CHECKPOINT_US_MAX);
		return SD_EINVAL;
	}
	if (f && (!cJSON_IsString(f) || !f->valuestring[0] ||
		  strlen(f->valuestring) >= COORD_PATH_MAX)) {
		snprintf(err, cap, "\"from_savepoint\" must be a path of 1 to %u bytes",
			 COORD_PATH_MAX - 1);
		return SD_EINVAL;
	}
	if (c)
		sub->checkpoint_us = (int64_t)c->valuedouble;
	if (f)
		sub->from_savepoint = f->valuestring;
	return 0;
}

/*
 * The body is either JSON {"text": "...", "name": "...", "constraints":
 * ["k=v"], "prefer": ["k=v:w"], "checkpoint_us": N, "from_savepoint": "..."}
 * or, with any other content type, the job text itself.
 */
static int parse_submit(const struct coord_http_request *req, struct submit_req *s, char *err,
			size_t cap)
{
	const char *ct = header(req, "Content-Type");
	memset(s, 0, sizeof(*s));
	s->sub.checkpoint_us = -1; /* the job's own */
	if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
		s->sub.text = req->body;
		s->sub.text_len = req->body_len;
		return 0;
	}
	s->doc = cJSON_ParseWithLength(req->body, req->body_len);
	if (!s->doc || !cJSON_IsObject(s->doc)) {
		snprintf(err, cap, "request body is not a JSON object");
		return SD_EINVAL;
	}
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(s->doc, "text");
	if (!cJSON_IsString(t)) {
		snprintf(err, cap, "\"text\" (the job source, a string) is missing");
		return SD_EINVAL;
	}
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(s->doc, "name");
	if (n && !cJSON_IsString(n)) {
		snprintf(err, cap, "\"name\" must be a string");
		return SD_EINVAL;
	}
	int rc = parse_list(s->doc, "constraints", s, &s->sub.n_constraints, err, cap);
	if (rc == 0)
		rc = parse_list(s->doc, "prefer", s, &s->sub.n_preferences, err, cap);
	if (rc == 0)
		rc = parse_ft_fields(s->doc, &s->sub, err, cap);
	if (rc)
		return rc;
	s->sub.constraints = s->flags;
	s->sub.preferences = s->flags + s->sub.n_constraints;
	s->sub.text = t->valuestring;
	s->sub.text_len = strlen(t->valuestring);
	s->sub.name = n ? n->valuestring : NULL;
	return 0;
}

static void post_job(struct coord_api *api, const struct coord_http_request *req,
		     struct coord_http_response *resp, bool plan_only)
{
	char err[ERR_MAX];
	struct submit_req s;
	int rc = parse_submit(req, &s, err, sizeof(err));
	if (rc) {
		cJSON_Delete(s.doc);
		coord_api_error(resp, 400, rc, err);
		return;
	}
	s.sub.place = !plan_only || (req->query && strstr(req->query, "placement=1"));
	s.sub.deploy = !plan_only;
	struct coord_job *job = NULL;
	rc = coord_jobs_submit(api->jobs, &s.sub, api->now_us(), &job, err, sizeof(err));
	cJSON_Delete(s.doc);
	if (rc && !job) {
		coord_api_error(resp, submit_status(rc), rc, err);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	if (plan_only) {
		/* The plan (and placement), then the job is forgotten. */
		cJSON *plan = job->plan_json ? cJSON_Parse(job->plan_json) : NULL;
		cJSON_AddItemToObject(o, "plan", plan ? plan : cJSON_CreateNull());
	} else {
		cJSON_AddStringToObject(o, "id", job->id);
		cJSON_AddStringToObject(o, "state", coord_job_state_name(job->state));
	}
	if (rc) {
		cJSON_AddStringToObject(o, "error", err);
		cJSON_AddStringToObject(o, "code", sd_errname(rc));
	}
	char *body = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (plan_only)
		coord_jobs_discard(api->jobs, job);
	set_json(resp, rc ? submit_status(rc) : plan_only ? 200 : 202, body);
}

/* 409 for a savepoint the job cannot take now, saying why. */
static void savepoint_refused(struct coord_http_response *resp, const struct coord_job *job, int rc)
{
	char msg[256];
	struct coord_chk_stats st;
	coord_job_chk_stats(job, &st);
	if (rc == SD_ENOTSUP)
		snprintf(msg, sizeof(msg),
			 "job %s runs without checkpoints (a bounded job, or its interval is 0): "
			 "it has no state to take a savepoint of",
			 job->id);
	else if (rc == SD_EBUSY && job->stop_after_savepoint)
		snprintf(msg, sizeof(msg), "job %s is already stopping with savepoint %llu",
			 job->id, (unsigned long long)job->stop_savepoint_id);
	else if (rc == SD_EBUSY)
		snprintf(msg, sizeof(msg),
			 "job %s: checkpoint %llu is in progress; try again once it ends", job->id,
			 (unsigned long long)st.in_progress_id);
	else
		snprintf(msg, sizeof(msg),
			 "job %s is %s: a savepoint needs every task of the job running", job->id,
			 coord_job_state_name(job->state));
	coord_api_error(resp, 409, rc, msg);
}

/* POST /v1/jobs/:id/savepoints, optional body {"stop": true}. */
static void post_savepoint(struct coord_api *api, const struct coord_http_request *req,
			   struct coord_job *job, struct coord_http_response *resp, uint64_t now_us)
{
	bool stop = false;
	if (req->body_len) {
		cJSON *doc = cJSON_ParseWithLength(req->body, req->body_len);
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "stop");
		bool ok = cJSON_IsObject(doc) && (!st || cJSON_IsBool(st));
		stop = cJSON_IsTrue(st);
		cJSON_Delete(doc);
		if (!ok) {
			coord_api_error(resp, 400, SD_EINVAL,
					"request body must be empty or a JSON object "
					"{\"stop\": true|false}");
			return;
		}
	}
	uint64_t id = 0;
	int rc = !job->ft.checkpoint_us      ? SD_ENOTSUP
		 : job->stop_after_savepoint ? SD_EBUSY
					     : coord_jobs_savepoint(api->jobs, job, now_us, &id);
	if (rc == SD_ENOTSUP || rc == SD_EBUSY || rc == SD_ESTATE) {
		savepoint_refused(resp, job, rc);
		return;
	}
	if (rc) {
		coord_api_error(resp, 500, rc, sd_strerror(rc));
		return;
	}
	if (stop) {
		job->stop_after_savepoint = true;
		job->stop_savepoint_id = id;
		job->version++;
	}
	char dir[COORD_PATH_MAX], path[COORD_PATH_MAX + 32];
	if (coord__chk_dir(dir, sizeof(dir), job) != 0)
		dir[0] = '\0';
	snprintf(path, sizeof(path), "%s/chk-%llu", dir, (unsigned long long)id);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddBoolToObject(o, "stop", stop);
	char *body = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	set_json(resp, 202, body);
}

static void job_route(struct coord_api *api, const struct coord_http_request *req, const char *rest,
		      struct coord_http_response *resp)
{
	char id[COORD_ID_LEN + 1];
	const char *slash = strchr(rest, '/');
	size_t id_len = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *sub = slash ? slash + 1 : NULL;
	if (id_len == 0 || id_len > COORD_ID_LEN) {
		coord_api_error(resp, 404, SD_ENOENT, "no such job");
		return;
	}
	memcpy(id, rest, id_len);
	id[id_len] = '\0';
	struct coord_job *job = coord_jobs_find(api->jobs, id);
	bool savepoints = sub && strcmp(sub, "savepoints") == 0;
	bool known_sub = !sub || savepoints || strcmp(sub, "plan") == 0 ||
			 strcmp(sub, "exceptions") == 0 || strcmp(sub, "checkpoints") == 0;
	if (!known_sub) {
		coord_api_error(resp, 404, SD_ENOENT, "no such resource");
		return;
	}
	bool is_get = req->method == HTTP_GET || req->method == HTTP_HEAD;
	if (savepoints ? req->method != HTTP_POST
		       : !is_get && !(req->method == HTTP_DELETE && !sub)) {
		method_not_allowed(resp, savepoints ? "POST" : sub ? "GET" : "GET, DELETE");
		return;
	}
	if (!is_get && !authorized(api, req)) {
		coord_api_error(resp, 401, SD_EAUTH, "missing or wrong bearer token");
		resp->extra_header = "WWW-Authenticate: Bearer";
		return;
	}
	if (!job) {
		char msg[96];
		snprintf(msg, sizeof(msg), "no such job: %s", id);
		printable(msg);
		coord_api_error(resp, 404, SD_ENOENT, msg);
		return;
	}
	uint64_t now = api->now_us();
	if (savepoints) {
		post_savepoint(api, req, job, resp, now);
	} else if (req->method == HTTP_DELETE) {
		int rc = coord_jobs_cancel(api->jobs, job, "canceled through the API", now);
		if (rc) {
			char msg[128];
			snprintf(msg, sizeof(msg), "job %s already ended: %s", job->id,
				 coord_job_state_name(job->state));
			coord_api_error(resp, 409, rc, msg);
			return;
		}
		set_json(resp, 202, coord_render_job(api->jobs, job, now));
	} else if (!sub) {
		size_t len;
		set_json(resp, 200, coord_render_job_cached(api->jobs, job, now, &len));
	} else if (strcmp(sub, "plan") == 0) {
		set_json(resp, 200, coord_render_job_plan(job));
	} else if (strcmp(sub, "checkpoints") == 0) {
		set_json(resp, 200, coord_render_job_checkpoints(job));
	} else {
		set_json(resp, 200, coord_render_job_exceptions(job));
	}
}

static void route(struct coord_api *api, const struct coord_http_request *req,
		  struct coord_http_response *resp)
{
	const char *p = req->path;
	bool is_get = req->method == HTTP_GET || req->method == HTTP_HEAD;
	uint64_t now = api->now_us();
	if (strcmp(p, "/metrics") == 0) {
		if (!is_get) {
			method_not_allowed(resp, "GET");
			return;
		}
		char *text = coord_metrics_render(api, now);
		if (!text) {
			coord_api_error(resp, 500, SD_ENOMEM, "out of memory");
			return;
		}
		resp->status = 200;
		resp->content_type = METRICS_TYPE;
		resp->body = text;
		resp->body_len = strlen(text);
		return;
	}
	if (strcmp(p, "/v1/overview") == 0 || strcmp(p, "/v1/nodes") == 0) {
		if (!is_get) {
			method_not_allowed(resp, "GET");
			return;
		}
		if (p[4] == 'o') {
			set_json(resp, 200, coord_render_overview(api, now));
			return;
		}
		set_json(resp, 200, coord_render_nodes(api->registry, now));
		return;
	}
	if (strcmp(p, "/v1/jobs") == 0) {
		if (req->method == HTTP_POST) {
			if (!authorized(api, req)) {
				coord_api_error(resp, 401, SD_EAUTH,
						"missing or wrong bearer token");
				resp->extra_header = "WWW-Authenticate: Bearer";
				return;
			}
			post_job(api, req, resp, false);
			return;
		}
		if (!is_get) {
			method_not_allowed(resp, "GET, POST");
			return;
		}
		set_json(resp, 200, coord_render_jobs(api->jobs, now));
		return;
	}
	if (strcmp(p, "/v1/plan") == 0) {
		if (req->method != HTTP_POST) {
			method_not_allowed(resp, "POST");
			return;
		}
		if (!authorized(api, req)) {
			coord_api_error(resp, 401, SD_EAUTH, "missing or wrong bearer token");
			resp->extra_header = "WWW-Authenticate: Bearer";
			return;
		}
		post_job(api, req, resp, true);
		return;
	}
	if (strncmp(p, "/v1/jobs/", 9) == 0) {
		job_route(api, req, p + 9, resp);
		return;
	}
	char msg[COORD_HTTP_URL_MAX + 32];
	snprintf(msg, sizeof(msg), "no such resource: %s", p);
	printable(msg);
	coord_api_error(resp, 404, SD_ENOENT, msg);
}

void coord_api_handle(struct coord_api *api, const struct coord_http_request *req,
		      struct coord_http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	api->stats.requests_total++;
	route(api, req, resp);
	int cls = resp->status / 100;
	if (cls >= 1 && cls <= 5)
		api->stats.responses_by_class[cls]++;
}
