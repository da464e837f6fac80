/*
 * coordinator/cli_http.c — the CLI's requests to the coordinator (libcurl
 * easy interface, one handle per request) and the mapping of failures to
 * exit codes: unreachable -> 3, 404 -> 4, placement infeasible -> 6.
 */
#include "coordinator/cli.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
	char *p;
	size_t len;
	size_t cap;
	bool overflow;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	if (n > CLI_RESPONSE_MAX - s->len) {
		s->overflow = true;
		return 0; /* aborts the transfer */
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *p = realloc(s->p, cap);
		if (!p)
			return 0;
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, data, n);
	s->len += n;
	s->p[s->len] = '\0';
	return n;
}

int cli_request(const struct cli_ctx *ctx, const char *method, const char *path, const char *body,
		const char *content_type, struct cli_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	char url[2048];
	const char *base = ctx->coordinator;
	size_t bl = strlen(base);
	snprintf(url, sizeof(url), "%.*s%s", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base,
		 path);
	CURL *h = curl_easy_init();
	if (!h) {
		fprintf(stderr, "stardust: cannot initialise libcurl\n");
		return CLI_EXIT_ERROR;
	}
	struct sink s = {0};
	struct curl_slist *hdrs = NULL;
	char line[1024];
	if (ctx->token && ctx->token[0]) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", ctx->token);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		hdrs = curl_slist_append(hdrs, line);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CLI_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, CLI_REQUEST_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	CURLcode rc = curl_easy_perform(h);
	int ret = 0;
	if (rc != CURLE_OK) {
		bool unreachable = rc == CURLE_COULDNT_CONNECT ||
				   rc == CURLE_COULDNT_RESOLVE_HOST ||
				   rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING ||
				   rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR;
		fprintf(stderr, "stardust: %s %s: %s%s\n", method, url,
			s.overflow ? "response too large" : curl_easy_strerror(rc),
			unreachable ? " (is the coordinator running? see --coordinator)" : "");
		free(s.p);
		ret = unreachable ? CLI_EXIT_UNREACHABLE : CLI_EXIT_ERROR;
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		resp->body = s.p ? s.p : strdup("");
		resp->len = s.len;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return ret;
}

void cli_response_free(struct cli_response *resp)
{
	free(resp->body);
	resp->body = NULL;
}

int cli_report_error(const char *what, const struct cli_response *resp)
{
	cJSON *doc = cJSON_Parse(resp->body ? resp->body : "");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(doc, "code");
	const char *msg = cJSON_IsString(err) ? err->valuestring : resp->body;
	const char *name = cJSON_IsString(code) ? code->valuestring : "";
	fprintf(stderr, "stardust: %s: %s (HTTP %ld%s%s)\n", what, msg && msg[0] ? msg : "error",
		resp->status, name[0] ? ", " : "", name);
	int ret = CLI_EXIT_ERROR;
	if (resp->status == 404)
		ret = CLI_EXIT_NOT_FOUND;
	else if (strcmp(name, "SD_EINFEASIBLE") == 0)
		ret = CLI_EXIT_INFEASIBLE;
	cJSON_Delete(doc);
	return ret;
}

char *cli_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	bool bad = !buf || ferror(f) || n > max;
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}
