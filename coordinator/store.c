/*
 * coordinator/store.c — the job store in --state-dir, so that a restarted
 * coordinator knows its jobs: "<state-dir>/jobs/<id>.json", one file per job,
 * each written whole to a temporary name, synced and renamed (atomic).
 *
 * What a record holds: the job's id, name and text (recompiled on load) with
 * its --constraint/--prefer flags, its state with the time each state was
 * entered, the failure code and root exception, the attempt count, the
 * fault-tolerance options, and the latest completed checkpoint (the same
 * metadata JSON as on netfs) with the checkpoint history and counts.
 *
 * Saved on every state change and every completed checkpoint. Writes are
 * small (the job text is at most COORD_JOB_TEXT_MAX) and run on the loop.
 *
 * Loading (coord_jobs_load, before the loop runs): ended jobs are listed as
 * they ended; the others come back RESTARTING with no placement, so the
 * recovery tick redeploys them (from their latest checkpoint) once enough
 * nodes have registered again. When more records exist than the table holds
 * (COORD_JOBS_MAX), the oldest ended jobs' records are removed, as the table
 * evicts them. A record that cannot be read is skipped and logged, never
 * fatal.
 */
#include "coordinator/checkpoint_priv.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "coordinator/checkpoint_api.h"
#include "placement/placement.h"

#define STORE_FORMAT     1
#define STORE_DIR        "jobs"
#define STORE_PATH_MAX   4096       /* bytes: a path in the state directory */
#define STORE_RECORD_MAX (8u << 20) /* bytes: one record (escaped text, checkpoint metadata) */
#define STORE_FILES_MAX  65536u     /* records one load looks at */

/* The --constraint/--prefer flags as given (compile.c keeps them parsed, with their text). */
static void record_constraints(cJSON *o, const struct coord_job *job)
{
	const struct coord_compiled *c = job->compiled;
	cJSON *arr = cJSON_AddArrayToObject(o, "constraints");
	for (size_t i = 0; c && i < c->n_constraints; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "text", c->constraints[i].origin);
		cJSON_AddBoolToObject(e, "prefer", c->constraints[i].soft);
		cJSON_AddItemToArray(arr, e);
	}
}

/* The latest root cause: what ended (or last restarted) the job. */
static void record_exception(cJSON *o, const struct coord_job *job)
{
	const struct coord_exception *e = coord_job_root_exception(job);
	if (!e)
		return;
	cJSON *x = cJSON_AddObjectToObject(o, "exception");
	cJSON_AddNumberToObject(x, "code", e->code);
	cJSON_AddStringToObject(x, "message", e->message);
	cJSON_AddNumberToObject(x, "task_id", (double)e->task_id);
	if (e->node)
		cJSON_AddStringToObject(x, "node", e->node);
	cJSON_AddNumberToObject(x, "at_us", (double)e->at_us);
}

static void record_checkpoints(cJSON *o, const struct coord_job *job)
{
	const struct coord_chk *c = job->chk;
	if (!c)
		return;
	if (c->latest_id) {
		char *meta = coord__chk_to_json(job, c->latest_id, c->latest,
						coord__chk_kept(c, c->latest_id));
		cJSON *m = meta ? cJSON_Parse(meta) : NULL;
		free(meta);
		if (m)
			cJSON_AddItemToObject(o, "checkpoint", m);
		cJSON_AddNumberToObject(o, "next_checkpoint", (double)c->next_id);
	}
	cJSON *k = cJSON_AddObjectToObject(o, "checkpoints");
	cJSON_AddNumberToObject(k, "completed", (double)c->completed);
	cJSON_AddNumberToObject(k, "failed", (double)c->failed);
	cJSON_AddNumberToObject(k, "restored", (double)c->restored);
	cJSON_AddNumberToObject(k, "last_duration_us", (double)c->last_duration_us);
	cJSON_AddNumberToObject(k, "last_size", (double)c->last_size);
	cJSON *sp = cJSON_AddArrayToObject(k, "savepoints");
	for (size_t i = 0; i < c->n_kept; i++)
		cJSON_AddItemToArray(sp, cJSON_CreateNumber((double)c->kept[i]));
	cJSON *hist = cJSON_AddArrayToObject(k, "history");
	for (size_t i = 0; i < c->n_hist; i++) {
		const struct chk_hist *h = &c->hist[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "id", (double)h->id);
		cJSON_AddBoolToObject(e, "savepoint", h->savepoint);
		cJSON_AddBoolToObject(e, "completed", h->completed);
		cJSON_AddNumberToObject(e, "trigger_us", (double)h->trigger_us);
		cJSON_AddNumberToObject(e, "ack_us", (double)h->ack_us);
		cJSON_AddNumberToObject(e, "size", (double)h->size);
		cJSON_AddNumberToObject(e, "alignment_us", (double)h->alignment_us);
		cJSON_AddItemToArray(hist, e);
	}
}

static cJSON *record(const struct coord_job *job)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "format", STORE_FORMAT);
	cJSON_AddStringToObject(o, "id", job->id);
	cJSON_AddStringToObject(o, "name", job->name);
	cJSON_AddStringToObject(o, "text", job->text ? job->text : "");
	record_constraints(o, job);
	cJSON_AddStringToObject(o, "state", coord_job_state_name(job->state));
	cJSON *at = cJSON_AddObjectToObject(o, "state_at_us");
	for (int s = 0; s < COORD_JOB_STATE_COUNT; s++)
		if (job->state_at_us[s])
			cJSON_AddNumberToObject(at, coord_job_state_name((enum coord_job_state)s),
						(double)job->state_at_us[s]);
	cJSON_AddNumberToObject(o, "failure_code", job->failure_code);
	record_exception(o, job);
	cJSON_AddNumberToObject(o, "attempt", job->attempt);
	cJSON *ft = cJSON_AddObjectToObject(o, "ft");
	cJSON_AddNumberToObject(ft, "checkpoint_us", (double)job->ft.checkpoint_us);
	cJSON_AddNumberToObject(ft, "restart", job->ft.restart);
	cJSON_AddNumberToObject(ft, "restart_attempts", job->ft.restart_attempts);
	cJSON_AddNumberToObject(ft, "restart_delay_us", (double)job->ft.restart_delay_us);
	cJSON_AddNumberToObject(ft, "restart_delay_max_us", (double)job->ft.restart_delay_max_us);
	record_checkpoints(o, job);
	return o;
}

/* Writes text to dir/name through a synced temporary file and a rename. */
static int write_atomic(const char *dir, const char *name, const char *text)
{
	char tmp[STORE_PATH_MAX], path[STORE_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp))
		return SD_ETOOBIG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return sd_err_from_errno(errno);
	size_t len = strlen(text), done = 0;
	int rc = 0;
	while (done < len && rc == 0) {
		ssize_t k = write(fd, text + done, len - done);
		if (k < 0 && errno != EINTR)
			rc = sd_err_from_errno(errno);
		else if (k > 0)
			done += (size_t)k;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = sd_err_from_errno(errno);
	if (close(fd) < 0 && rc == 0)
		rc = sd_err_from_errno(errno);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = sd_err_from_errno(errno);
	if (rc)
		unlink(tmp);
	return rc;
}

void coord__store_save(struct coord_jobs *t, const struct coord_job *job)
{
	if (!t->state_dir || !job->text)
		return;
	char dir[STORE_PATH_MAX], name[COORD_ID_LEN + 8];
	snprintf(dir, sizeof(dir), "%s/" STORE_DIR, t->state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		sd_log_warn("coord", "job store %s: %s", dir, strerror(errno));
		return;
	}
	cJSON *o = record(job);
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	snprintf(name, sizeof(name), "%s.json", job->id);
	int rc = text ? write_atomic(dir, name, text) : SD_ENOMEM;
	free(text);
	if (rc)
		sd_log_warn("coord", "job store: saving job %s: %s", job->id, sd_strerror(rc));
}

void coord__store_remove(const struct coord_jobs *t, const char *id)
{
	if (!t->state_dir)
		return;
	char path[STORE_PATH_MAX];
	snprintf(path, sizeof(path), "%s/" STORE_DIR "/%s.json", t->state_dir, id);
	if (unlink(path) < 0 && errno != ENOENT)
		sd_log_warn("coord", "job store: removing %s: %s", path, strerror(errno));
}

/* ---- loading ---- */

static bool valid_id(const char *id)
{
	size_t n = 0;
	for (; id[n] && n <= COORD_ID_LEN; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == COORD_ID_LEN;
}

struct coord_job *coord__job_adopt(struct coord_jobs *t, const char *id, const char *name,
				   uint64_t now_us)
{
	if (!valid_id(id) || coord_jobs_find(t, id) || t->n_jobs >= COORD_JOBS_MAX)
		return NULL;
	return coord__job_new(t, id, name, now_us);
}

static const char *json_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int state_from_name(const char *name, enum coord_job_state *out)
{
	for (int s = 0; name && s < COORD_JOB_STATE_COUNT; s++)
		if (strcmp(name, coord_job_state_name((enum coord_job_state)s)) == 0) {
			*out = (enum coord_job_state)s;
			return 0;
		}
	return SD_EPROTO;
}

/* A parsed record whose shape was checked; strings borrow doc. */
struct rec {
	cJSON *doc; /* owned */
	const char *id, *name, *text;
	enum coord_job_state state;
	uint64_t created_us;
	uint64_t attempt;
	struct coord_ft ft;
};

static int rec_ft(struct rec *r, char *why, size_t cap)
{
	const cJSON *ft = cJSON_GetObjectItemCaseSensitive(r->doc, "ft");
	uint64_t restart = 0, attempts = 0;
	if (!coord__json_u64(ft, "checkpoint_us", &r->ft.checkpoint_us) ||
	    !coord__json_u64(ft, "restart", &restart) || restart > COORD_RESTART_BACKOFF ||
	    !coord__json_u64(ft, "restart_attempts", &attempts) || attempts > UINT32_MAX ||
	    !coord__json_u64(ft, "restart_delay_us", &r->ft.restart_delay_us) ||
	    !coord__json_u64(ft, "restart_delay_max_us", &r->ft.restart_delay_max_us)) {
		snprintf(why, cap, "\"ft\" is missing or malformed");
		return SD_EPROTO;
	}
	r->ft.restart = (enum coord_restart_kind)restart;
	r->ft.restart_attempts = (uint32_t)attempts;
	return 0;
}

/* Parses and checks a record read from file (borrowed); r->doc owned on success. */
static int rec_parse(struct rec *r, const char *text, size_t len, const char *file, char *why,
		     size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->doc = cJSON_ParseWithLength(text, len);
	uint64_t format = 0;
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(r->doc, "state_at_us");
	int rc = SD_EPROTO;
	if (!cJSON_IsObject(r->doc) || !coord__json_u64(r->doc, "format", &format))
		snprintf(why, cap, "not a job record (JSON object with \"format\")");
	else if (format != STORE_FORMAT)
		snprintf(why, cap, "record format %llu, this coordinator reads %d",
			 (unsigned long long)format, STORE_FORMAT),
			rc = SD_EVERSION;
	else if (!(r->id = json_str(r->doc, "id")) || !valid_id(r->id) ||
		 strncmp(file, r->id, COORD_ID_LEN) != 0 || strcmp(file + COORD_ID_LEN, ".json"))
		snprintf(why, cap, "\"id\" is missing, malformed or not the file's name");
	else if (!(r->name = json_str(r->doc, "name")) || strlen(r->name) > COORD_NAME_MAX)
		snprintf(why, cap, "\"name\" is missing or too long");
	else if (!(r->text = json_str(r->doc, "text")) || !r->text[0] ||
		 strlen(r->text) > COORD_JOB_TEXT_MAX)
		snprintf(why, cap, "\"text\" is missing, empty or too long");
	else if (state_from_name(json_str(r->doc, "state"), &r->state))
		snprintf(why, cap, "\"state\" is missing or unknown");
	else if (!cJSON_IsObject(at) || !coord__json_u64(at, "CREATED", &r->created_us))
		snprintf(why, cap, "\"state_at_us\" is missing or has no CREATED time");
	else if (!coord__json_u64(r->doc, "attempt", &r->attempt) || r->attempt > UINT32_MAX ||
		 !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r->doc, "failure_code")))
		snprintf(why, cap, "\"attempt\" or \"failure_code\" is missing or malformed");
	else
		rc = rec_ft(r, why, cap);
	if (rc) {
		cJSON_Delete(r->doc);
		r->doc = NULL;
	}
	return rc;
}

/* Reads a whole regular file of at most STORE_RECORD_MAX bytes; *out owned (free). */
static int read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sd_err_from_errno(errno);
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? sd_err_from_errno(errno) : 0;
	if (rc == 0 && !S_ISREG(st.st_mode))
		rc = SD_EINVAL;
	else if (rc == 0 && (uint64_t)st.st_size > STORE_RECORD_MAX)
		rc = SD_ETOOBIG;
	size_t size = rc ? 0 : (size_t)st.st_size, done = 0;
	char *buf = rc ? NULL : malloc(size + 1);
	if (rc == 0 && !buf)
		rc = SD_ENOMEM;
	while (rc == 0 && done < size) {
		ssize_t k = read(fd, buf + done, size - done);
		if (k < 0 && errno != EINTR)
			rc = sd_err_from_errno(errno);
		else if (k == 0)
			rc = SD_EIO; /* shorter than it was a moment ago */
		else if (k > 0)
			done += (size_t)k;
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[size] = '\0';
	*out = buf;
	*len = size;
	return 0;
}

/* Reads and checks dir/file into r (r->doc owned); logs why not. */
static int rec_load(const char *dir, const char *file, struct rec *r)
{
	char path[STORE_PATH_MAX + 64], why[256];
	snprintf(path, sizeof(path), "%s/%.40s", dir, file);
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, &text, &len);
	if (rc) {
		sd_log_warn("coord", "job store: skipping %s: %s", path, sd_strerror(rc));
		return rc;
	}
	rc = rec_parse(r, text, len, file, why, sizeof(why));
	free(text);
	if (rc)
		sd_log_warn("coord", "job store: skipping %s: %s", path, why);
	return rc;
}

/* Recompiles the stored text with its stored flags, as a submission would. */
static int recompile(struct coord_job *job, const cJSON *doc, char *err, size_t cap)
{
	const char *cons[COORD_CONSTRAINTS_MAX], *prefs[COORD_CONSTRAINTS_MAX];
	struct coord_submit sub = {.text = job->text,
				   .text_len = strlen(job->text),
				   .name = job->name,
				   .constraints = cons,
				   .preferences = prefs,
				   .checkpoint_us = -1};
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "constraints"))
	{
		const char *text = json_str(e, "text");
		bool pref = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "prefer"));
		if (!text || sub.n_constraints + sub.n_preferences == COORD_CONSTRAINTS_MAX) {
			snprintf(err, cap, "stored constraints are malformed or too many");
			return SD_EPROTO;
		}
		if (pref)
			prefs[sub.n_preferences++] = text;
		else
			cons[sub.n_constraints++] = text;
	}
	int rc = coord__compile(job, &sub, err, cap);
	if (rc)
		coord__free_compiled(job); /* listed without a plan */
	return rc;
}

static void restore_fields(struct coord_job *job, const struct rec *r)
{
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(r->doc, "state_at_us");
	for (int s = 0; s < COORD_JOB_STATE_COUNT; s++) {
		uint64_t us;
		if (coord__json_u64(at, coord_job_state_name((enum coord_job_state)s), &us))
			job->state_at_us[s] = us;
	}
	job->state = r->state;
	job->failure_code = cJSON_GetObjectItemCaseSensitive(r->doc, "failure_code")->valueint;
	job->attempt = (uint32_t)r->attempt;
	job->ft = r->ft;
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(r->doc, "exception");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(x, "code");
	const cJSON *task = cJSON_GetObjectItemCaseSensitive(x, "task_id");
	uint64_t at_us = 0;
	if (json_str(x, "message") && cJSON_IsNumber(code) && coord__json_u64(x, "at_us", &at_us))
		coord__add_exception(job, code->valueint, json_str(x, "message"),
				     cJSON_IsNumber(task) ? (int64_t)task->valuedouble : -1,
				     json_str(x, "node"), true, at_us);
	job->version++;
}

/* Counts, kept savepoints and history as saved (checkpoint_priv.h's fields). */
static void restore_history(struct coord_job *job, const cJSON *k)
{
	struct coord_chk *c = job->chk;
	char dir[COORD_PATH_MAX];
	(void)coord__json_u64(k, "completed", &c->completed);
	(void)coord__json_u64(k, "failed", &c->failed);
	(void)coord__json_u64(k, "restored", &c->restored);
	(void)coord__json_u64(k, "last_duration_us", &c->last_duration_us);
	(void)coord__json_u64(k, "last_size", &c->last_size);
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(k, "savepoints"))
	{
		uint64_t id =
			cJSON_IsNumber(e) && e->valuedouble > 0 ? (uint64_t)e->valuedouble : 0;
		if (id && !coord__chk_kept(c, id) && c->n_kept < COORD_SAVEPOINTS_MAX)
			c->kept[c->n_kept++] = id;
	}
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(k, "history");
	int n = cJSON_GetArraySize(hist),
	    skip = n > (int)COORD_CHECKPOINT_HISTORY ? n - (int)COORD_CHECKPOINT_HISTORY : 0;
	bool have_dir = coord__chk_dir(dir, sizeof(dir), job) == 0;
	cJSON_ArrayForEach(e, hist)
	{
		struct chk_hist h = {0};
		if (skip > 0 && skip--)
			continue;
		if (!coord__json_u64(e, "id", &h.id) ||
		    !coord__json_u64(e, "trigger_us", &h.trigger_us) ||
		    !coord__json_u64(e, "ack_us", &h.ack_us) ||
		    !coord__json_u64(e, "size", &h.size) ||
		    !coord__json_u64(e, "alignment_us", &h.alignment_us))
			continue;
		h.savepoint = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "savepoint"));
		h.completed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "completed"));
		if (have_dir)
			snprintf(h.path, sizeof(h.path), "%.900s/chk-%llu", dir,
				 (unsigned long long)h.id);
		c->hist[c->n_hist++] = h;
	}
}

/* job->chk from the record's latest checkpoint; 0 when it has none. */
static int restore_checkpoints(struct coord_job *job, const cJSON *doc, char *err, size_t cap)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "checkpoint");
	if (!m)
		return 0;
	uint64_t next = 0;
	(void)coord__json_u64(doc, "next_checkpoint", &next);
	char *meta = cJSON_IsObject(m) ? cJSON_PrintUnformatted(m) : NULL;
	int rc = meta ? coord__chk_adopt(job, meta, strlen(meta), next, err, cap) : SD_EPROTO;
	if (!meta)
		snprintf(err, cap, "\"checkpoint\" is not an object");
	free(meta);
	if (rc == 0)
		restore_history(job, cJSON_GetObjectItemCaseSensitive(doc, "checkpoints"));
	return rc;
}

/* Tasks of an ended job, so that its document adds up. */
static void settle_tasks(struct coord_job *job)
{
	int s = job->state == COORD_JOB_FINISHED ? SD__CONTROL__TASK_STATE__TASK_FINISHED
						 : SD__CONTROL__TASK_STATE__TASK_CANCELED;
	for (size_t i = 0; i < job->n_tasks; i++) {
		job->tasks[i].state = s;
		job->tasks[i].state_at_us = job->state_at_us[job->state];
	}
}

/* A job that had not ended: RESTARTING, placed anew, now (or failed when it cannot be). */
static void come_back(struct coord_jobs *t, struct coord_job *job, int rc, const char *err,
		      uint64_t now_us)
{
	char msg[COORD_ERR_TEXT_MAX + 128];
	job->state = COORD_JOB_RESTARTING;
	job->state_at_us[COORD_JOB_RESTARTING] = now_us ? now_us : 1;
	job->restart_at_us = job->last_restart_us = now_us;
	for (size_t i = 0; i < job->n_tasks; i++) {
		job->tasks[i].node_id = 0; /* node ids are the previous coordinator's */
		job->tasks[i].state = SD__CONTROL__TASK_STATE__TASK_CANCELED;
		job->tasks[i].state_at_us = now_us;
	}
	t->restarts_total++;
	job->version++;
	if (rc) {
		snprintf(msg, sizeof(msg), "the coordinator restarted and cannot bring it back: %s",
			 err);
		coord_job_fail(t, job, rc, msg, -1, NULL, now_us); /* saves it */
		return;
	}
	uint64_t latest = coord__chk_latest(job);
	if (latest)
		snprintf(msg, sizeof(msg),
			 "the coordinator restarted: attempt %u deploys from checkpoint %llu",
			 job->attempt + 1, (unsigned long long)latest);
	else
		snprintf(msg, sizeof(msg),
			 "the coordinator restarted: attempt %u deploys from the beginning",
			 job->attempt + 1);
	coord__add_exception(job, SD_ELOST, msg, -1, NULL, false, now_us);
	sd_log_info("coord", "job %s: %s", job->id, msg);
	coord__store_save(t, job);
}

/* Loads one checked record into the table; false when it could not. */
static bool load_one(struct coord_jobs *t, const char *dir, const char *file, uint64_t now_us)
{
	struct rec r;
	char err[COORD_ERR_TEXT_MAX] = "";
	if (rec_load(dir, file, &r))
		return false;
	char *text = coord__strndup(r.text, COORD_JOB_TEXT_MAX);
	struct coord_job *job = text ? coord__job_adopt(t, r.id, r.name, now_us) : NULL;
	if (!job) {
		sd_log_warn("coord", "job store: skipping %s/%s: %s", dir, file,
			    coord_jobs_find(t, r.id)      ? "its job is in the table already"
			    : t->n_jobs >= COORD_JOBS_MAX ? "the job table is full"
							  : "out of memory");
		free(text);
		cJSON_Delete(r.doc);
		return false;
	}
	job->text = text;
	restore_fields(job, &r);
	int rc = recompile(job, r.doc, err, sizeof(err));
	if (rc == 0)
		rc = restore_checkpoints(job, r.doc, err, sizeof(err));
	cJSON_Delete(r.doc);
	if (coord_job_state_terminal(job->state)) {
		settle_tasks(job);
		if (rc) /* without its plan (recompiling) or its checkpoints (adopting them) */
			sd_log_warn("coord", "job store: job %s (%s) listed as it ended, but: %s",
				    job->id, coord_job_state_name(job->state), err);
		return true;
	}
	come_back(t, job, rc, err, now_us);
	return true;
}

/* One record found in the first pass. */
struct found {
	char file[COORD_ID_LEN + 6]; /* "<id>.json" */
	uint64_t created_us;
	bool ended;
	bool load;
};

static int found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	if (x->created_us != y->created_us)
		return x->created_us < y->created_us ? -1 : 1;
	return strcmp(x->file, y->file);
}

/* First pass: every readable record, oldest first. *out owned (free). */
static int scan(const char *dir, struct found **out, size_t *n_out)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : sd_err_from_errno(errno);
	struct found *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue; /* ., .., temporaries of an interrupted save */
		struct rec r;
		if (len >= sizeof(v->file) || n == STORE_FILES_MAX) {
			sd_log_warn("coord", "job store: skipping %s/%s: not a job record name",
				    dir, e->d_name);
			continue;
		}
		if (rec_load(dir, e->d_name, &r))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct found *nv = realloc(v, nc * sizeof(*nv));
			if (!nv) {
				cJSON_Delete(r.doc);
				rc = SD_ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		memcpy(v[n].file, e->d_name, len + 1);
		v[n].created_us = r.created_us;
		v[n].ended = coord_job_state_terminal(r.state);
		v[n].load = true;
		n++;
		cJSON_Delete(r.doc);
	}
	closedir(d);
	if (rc) {
		free(v);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof(*v), found_cmp);
	*out = v;
	*n_out = n;
	return 0;
}

int coord_jobs_load(struct coord_jobs *t, uint64_t now_us)
{
	if (!t->state_dir)
		return 0;
	char dir[STORE_PATH_MAX], path[STORE_PATH_MAX + 64];
	int len = snprintf(dir, sizeof(dir), "%s/" STORE_DIR, t->state_dir);
	if (len < 0 || (size_t)len >= sizeof(dir))
		return SD_ETOOBIG;
	struct found *v = NULL;
	size_t n = 0, loaded = 0, back = 0;
	int rc = scan(dir, &v, &n);
	if (rc) {
		sd_log_error("coord", "job store %s: %s", dir, sd_strerror(rc));
		return rc;
	}
	/* More than the table holds: the oldest ended jobs go, as eviction would. */
	size_t room = COORD_JOBS_MAX > t->n_jobs ? COORD_JOBS_MAX - t->n_jobs : 0;
	for (size_t i = 0, excess = n > room ? n - room : 0; i < n && excess; i++) {
		if (!v[i].ended)
			continue;
		v[i].load = false;
		excess--;
		snprintf(path, sizeof(path), "%s/%s", dir, v[i].file);
		sd_log_info("coord", "job store: %s: over %u jobs, removing the oldest ended", path,
			    COORD_JOBS_MAX);
		unlink(path);
	}
	for (size_t i = 0; i < n; i++) {
		if (!v[i].load || !load_one(t, dir, v[i].file, now_us))
			continue;
		loaded++;
		back += t->jobs[t->n_jobs - 1]->state == COORD_JOB_RESTARTING;
	}
	free(v);
	if (loaded)
		sd_log_info("coord", "job store %s: %zu jobs loaded, %zu of them restarting", dir,
			    loaded, back);
	return (int)loaded;
}
