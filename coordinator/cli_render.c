/*
 * coordinator/cli_render.c — human-readable tables from the API's JSON.
 *
 * Each renderer takes the exact text the endpoint served (what `-o json`
 * prints) and writes a table to stdout. A document that does not have the
 * expected shape is an error (exit 1), never a half-printed table.
 */
#include "coordinator/cli.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "-";
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool has_num(const cJSON *o, const char *key)
{
	return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, key));
}

static int bad_shape(cJSON *doc, const char *what)
{
	fprintf(stderr, "stardust: unexpected %s document from the coordinator\n", what);
	cJSON_Delete(doc);
	return CLI_EXIT_ERROR;
}

static void fmt_duration(double ms, char *out, size_t cap)
{
	if (ms < 1000)
		snprintf(out, cap, "%.0fms", ms);
	else if (ms < 60000)
		snprintf(out, cap, "%.1fs", ms / 1000);
	else
		snprintf(out, cap, "%.0fm%02.0fs", ms / 60000, (double)((long)(ms / 1000) % 60));
}

int cli_render_nodes(const char *json)
{
	cJSON *doc = cJSON_Parse(json);
	const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(doc, "nodes");
	if (!cJSON_IsArray(nodes))
		return bad_shape(doc, "nodes");
	printf("%-20s %-6s %-12s %-8s %5s %9s %10s  %s\n", "NAME", "STATE", "REGION", "ZONE",
	       "SLOTS", "RTT", "HEARTBEAT", "LABELS");
	const cJSON *n;
	cJSON_ArrayForEach(n, nodes)
	{
		char rtt[32] = "-", hb[32], labels[512] = "";
		if (has_num(n, "rtt_us"))
			snprintf(rtt, sizeof(rtt), "%.2fms", num(n, "rtt_us") / 1000);
		fmt_duration(num(n, "heartbeat_age_ms"), hb, sizeof(hb));
		const cJSON *l;
		size_t used = 0;
		cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(n, "labels"))
		{
			if (!cJSON_IsString(l) || used >= sizeof(labels))
				continue;
			int w = snprintf(labels + used, sizeof(labels) - used, "%s%s=%s",
					 used ? "," : "", l->string, l->valuestring);
			used += w > 0 ? (size_t)w : 0;
		}
		printf("%-20s %-6s %-12s %-8s %5.0f %9s %10s  %s\n", str(n, "name"),
		       str(n, "state"), str(n, "region"), str(n, "zone"), num(n, "slots"), rtt, hb,
		       labels[0] ? labels : "-");
	}
	if (cJSON_GetArraySize(nodes) == 0)
		printf("(no nodes registered)\n");
	cJSON_Delete(doc);
	return CLI_EXIT_OK;
}

int cli_render_jobs(const char *json)
{
	cJSON *doc = cJSON_Parse(json);
	const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(doc, "jobs");
	if (!cJSON_IsArray(jobs))
		return bad_shape(doc, "jobs");
	printf("%-32s  %-16s %-9s %10s %7s\n", "ID", "NAME", "STATE", "DURATION", "TASKS");
	const cJSON *j;
	cJSON_ArrayForEach(j, jobs)
	{
		char dur[32];
		fmt_duration(num(j, "duration_ms"), dur, sizeof(dur));
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "tasks");
		printf("%-32s  %-16.16s %-9s %10s %3.0f/%-3.0f\n", str(j, "id"), str(j, "name"),
		       str(j, "state"), dur, num(t, "FINISHED"), num(t, "total"));
	}
	if (cJSON_GetArraySize(jobs) == 0)
		printf("(no jobs)\n");
	cJSON_Delete(doc);
	return CLI_EXIT_OK;
}

int cli_render_job(const char *json)
{
	cJSON *doc = cJSON_Parse(json);
	const cJSON *vertices = cJSON_GetObjectItemCaseSensitive(doc, "vertices");
	if (!cJSON_IsArray(vertices))
		return bad_shape(doc, "job");
	char dur[32];
	fmt_duration(num(doc, "duration_ms"), dur, sizeof(dur));
	printf("job %s (%s): %s after %s\n", str(doc, "id"), str(doc, "name"), str(doc, "state"),
	       dur);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, "failure");
	if (cJSON_IsObject(f))
		printf("failure: %s (%s)\n", str(f, "message"), str(f, "code"));
	const cJSON *sk;
	cJSON_ArrayForEach(sk, cJSON_GetObjectItemCaseSensitive(doc, "sinks"))
	{
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(sk, "parts");
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sk, "streaming")) &&
		    cJSON_GetArraySize(p) > 0)
			printf("sink %s (streaming, appended to %s ... %d parts)\n",
			       str(sk, "output"), cJSON_GetArrayItem(p, 0)->valuestring,
			       cJSON_GetArraySize(p));
		else
			printf("sink %s\n", str(sk, "output"));
	}
	printf("%-4s %-28s %4s %-9s %12s %12s %10s %8s\n", "ID", "STAGE", "PAR", "STATE",
	       "RECORDS-IN", "RECORDS-OUT", "REC/S", "BACKPR");
	const cJSON *v;
	cJSON_ArrayForEach(v, vertices)
	{
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "metrics");
		printf("%-4.0f %-28.28s %4.0f %-9s %12.0f %12.0f %10.0f %8s\n", num(v, "id"),
		       str(v, "name"), num(v, "parallelism"), str(v, "state"), num(m, "records_in"),
		       num(m, "records_out"), num(m, "records_out_per_s"),
		       str(m, "backpressure_level"));
	}
	printf("%-5s %-5s %-4s %-9s %-20s %s\n", "TASK", "STAGE", "PART", "STATE", "NODE",
	       "REGION");
	cJSON_ArrayForEach(v, vertices)
	{
		const cJSON *t;
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(v, "tasks")) printf(
			"%-5.0f %-5.0f %-4.0f %-9s %-20s %s\n", num(t, "task_id"), num(v, "id"),
			num(t, "partition"), str(t, "state"), str(t, "node"), str(t, "region"));
	}
	cJSON_Delete(doc);
	return CLI_EXIT_OK;
}

void cli_render_progress(const char *json, char *out, size_t cap)
{
	cJSON *doc = cJSON_Parse(json);
	size_t used = 0;
	int w = snprintf(out, cap, "%s", str(doc, "state"));
	used = w > 0 ? (size_t)w : 0;
	const cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "vertices"))
	{
		if (used >= cap)
			break;
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "metrics");
		w = snprintf(out + used, cap - used, " | %.0f:%s %.0f rec/s", num(v, "id"),
			     str(v, "state"), num(m, "records_out_per_s"));
		used += w > 0 ? (size_t)w : 0;
	}
	cJSON_Delete(doc);
}
