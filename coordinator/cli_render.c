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

void cli_fmt_duration(double ms, char *out, size_t cap)
{
	/* whole milliseconds, and every smaller unit cut (a minute's 59.96 s must
	 * not print as 60 s, nor 3m50s as 4m50s) */
	unsigned long long t = ms > 0 && ms < 1e18 ? (unsigned long long)ms : 0;
	if (t < 1000)
		snprintf(out, cap, "%llums", t);
	else if (t < 60000)
		snprintf(out, cap, "%llu.%llus", t / 1000, t / 100 % 10);
	else if (t < 3600000)
		snprintf(out, cap, "%llum%02llus", t / 60000, t / 1000 % 60);
	else
		snprintf(out, cap, "%lluh%02llum", t / 3600000, t / 60000 % 60);
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
		cli_fmt_duration(num(n, "heartbeat_age_ms"), hb, sizeof(hb));
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
	printf("%-32s  %-16s %-10s %10s %7s %7s\n", "ID", "NAME", "STATE", "DURATION", "TASKS",
	       "ATTEMPT");
	const cJSON *j;
	cJSON_ArrayForEach(j, jobs)
	{
		char dur[32];
		cli_fmt_duration(num(j, "duration_ms"), dur, sizeof(dur));
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "tasks");
		printf("%-32s  %-16.16s %-10s %10s %3.0f/%-3.0f %7.0f\n", str(j, "id"),
		       str(j, "name"), str(j, "state"), dur, num(t, "FINISHED"), num(t, "total"),
		       num(j, "attempt"));
	}
	if (cJSON_GetArraySize(jobs) == 0)
		printf("(no jobs)\n");
	cJSON_Delete(doc);
	return CLI_EXIT_OK;
}

/* "attempt 2 (2 restarts); checkpoints: 14 completed, 1 failed, latest 15". */
static void render_fault_tolerance(const cJSON *doc)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "checkpoints");
	if (!has_num(doc, "attempt") || !cJSON_IsObject(c))
		return; /* a coordinator without restarts and checkpoints */
	char latest[48] = "none";
	if (has_num(c, "latest_id"))
		snprintf(latest, sizeof(latest), "%.0f", num(c, "latest_id"));
	printf("attempt %.0f (%.0f restart%s)", num(doc, "attempt"), num(doc, "restarts"),
	       num(doc, "restarts") == 1 ? "" : "s");
	if (num(c, "interval_ms") > 0 || num(c, "completed") > 0 || num(c, "failed") > 0)
		printf("; checkpoints: %.0f completed, %.0f failed, latest %s", num(c, "completed"),
		       num(c, "failed"), latest);
	else
		printf("; no checkpoints");
	printf("\n");
}

void cli_fmt_bytes(double bytes, char *out, size_t cap)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;
	while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		u++;
	}
	snprintf(out, cap, u ? "%.1f%s" : "%.0f%s", bytes, units[u]);
}

int cli_render_checkpoints(const char *json)
{
	cJSON *doc = cJSON_Parse(json);
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(doc, "history");
	const cJSON *counts = cJSON_GetObjectItemCaseSensitive(doc, "counts");
	const cJSON *restart = cJSON_GetObjectItemCaseSensitive(doc, "restart");
	if (!cJSON_IsArray(hist) || !cJSON_IsObject(counts))
		return bad_shape(doc, "checkpoints");
	char every[32] = "never";
	if (num(doc, "interval_ms") > 0) {
		cli_fmt_duration(num(doc, "interval_ms"), every + 6, sizeof(every) - 6);
		memcpy(every, "every ", 6);
	}
	printf("checkpoints: %.0f completed, %.0f failed, %.0f in progress, %.0f restored; %s\n",
	       num(counts, "completed"), num(counts, "failed"), num(counts, "in_progress"),
	       num(counts, "restored"), every);
	if (cJSON_IsObject(restart))
		printf("restarts: attempt %.0f, strategy %s, at most %.0f\n",
		       num(restart, "attempt"), str(restart, "strategy"),
		       num(restart, "attempts_max"));
	printf("%-6s %-11s %-9s %10s %9s %9s  %s\n", "ID", "STATUS", "SAVEPOINT", "SIZE",
	       "DURATION", "ALIGNMENT", "PATH");
	const cJSON *e;
	cJSON_ArrayForEach(e, hist)
	{
		char size[32], dur[32] = "-", align[32];
		cli_fmt_bytes(num(e, "state_size"), size, sizeof(size));
		if (has_num(e, "end_to_end_duration"))
			cli_fmt_duration(num(e, "end_to_end_duration"), dur, sizeof(dur));
		cli_fmt_duration(num(e, "alignment_ms"), align, sizeof(align));
		printf("%-6.0f %-11s %-9s %10s %9s %9s  %s\n", num(e, "id"), str(e, "status"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "is_savepoint")) ? "yes"
											 : "no",
		       size, dur, align, str(e, "external_path"));
	}
	if (cJSON_GetArraySize(hist) == 0)
		printf("(no checkpoints yet)\n");
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
	cli_fmt_duration(num(doc, "duration_ms"), dur, sizeof(dur));
	printf("job %s (%s): %s after %s\n", str(doc, "id"), str(doc, "name"), str(doc, "state"),
	       dur);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, "failure");
	if (cJSON_IsObject(f))
		printf("failure: %s (%s)\n", str(f, "message"), str(f, "code"));
	render_fault_tolerance(doc);
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
	printf("%-4s %-28s %4s %-9s %12s %12s %10s %10s %8s %8s %6s %12s\n", "ID", "STAGE", "PAR",
	       "STATE", "RECORDS-IN", "RECORDS-OUT", "REC/S", "AVG-REC/S", "LATE", "BAD", "BACKPR",
	       "WM-LAG");
	const cJSON *v;
	cJSON_ArrayForEach(v, vertices)
	{
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "metrics");
		char lag[32] = "-";
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "watermark_end")))
			snprintf(lag, sizeof(lag), "end of input");
		else if (has_num(m, "watermark_lag_ms"))
			cli_fmt_duration(num(m, "watermark_lag_ms"), lag, sizeof(lag));
		printf("%-4.0f %-28.28s %4.0f %-9s %12.0f %12.0f %10.0f %10.0f %8.0f %8.0f %6s "
		       "%12s\n",
		       num(v, "id"), str(v, "name"), num(v, "parallelism"), str(v, "state"),
		       num(m, "records_in"), num(m, "records_out"), num(m, "records_out_per_s"),
		       num(m, "records_out_per_s_avg"), num(m, "late_records"),
		       num(m, "bad_records"), str(m, "backpressure_level"), lag);
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
