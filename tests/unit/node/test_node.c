/*
 * tests/unit/node/test_node.c — deployed tasks on two in-process nodes over
 * loopback: hash, broadcast and forward routing checked against an
 * independent computation, split edges, sinks committed or discarded, a bad
 * plan, cancel, and an allocation failure at the plat seam.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "node/core/node.h"
#include "node/core/sched.h"
#include "node/plat/hosted/plat_hosted.h"
#include "node/plat/plat.h"
#include "node_testlib.h"

static struct node *NA, *NB;

static int setup(void **state)
{
	struct node_config c = {.region = "r",
				.slots = 8,
				.listen_host = "127.0.0.1",
				.task_ops = &test_task_ops,
				.fs_ops = &test_fs_ops,
				.token = "t"};

	(void)state;
	assert_int_equal(plat_init(), 0);
	sched_init();
	test_fs_reset();
	c.name = "na";
	assert_int_equal(node_open(&c, &NA), 0);
	c.name = "nb";
	assert_int_equal(node_open(&c, &NB), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_close(NA);
	node_close(NB);
	return 0;
}

/* ---- deploy builder ------------------------------------------------------- */

struct dep {
	Sd__Control__Deploy d;
	Sd__Control__Channel ch[2][8], *chp[2][8];
	Sd__Control__InputSplit sp[4], *spp[4];
	Sd__Control__SinkTarget sink;
};

static void dep_init(struct dep *x, const char *job, uint32_t task, uint32_t part, const char *plan)
{
	memset(x, 0, sizeof(*x));
	sd__control__deploy__init(&x->d);
	x->d.job_id = (char *)job;
	x->d.task_id = task;
	x->d.partition = part;
	x->d.plan.data = (uint8_t *)plan;
	x->d.plan.len = strlen(plan);
	x->d.netfs_token = "";
	x->d.inputs = x->chp[0];
	x->d.outputs = x->chp[1];
	x->d.splits = x->spp;
}

/* dir 0 = input, 1 = output */
static void dep_chan(struct dep *x, int dir, uint32_t dfch, uint32_t from, uint32_t to,
		     struct node *peer, Sd__Control__Partitioning kind, uint32_t credits)
{
	size_t k = dir ? x->d.n_outputs++ : x->d.n_inputs++;
	Sd__Control__Channel *c = &x->ch[dir][k];

	sd__control__channel__init(c);
	c->channel_id = ((uint64_t)dfch << 32) | ((uint64_t)from << 16) | to;
	c->df_channel = dfch;
	c->producer_partition = from;
	c->consumer_partition = to;
	c->port = 1; /* every task here has one port each way */
	c->peer_node = peer == NA ? "na" : "nb";
	c->peer_host = "127.0.0.1";
	c->peer_port = node_data_port(peer);
	c->partitioning = kind;
	c->credits = credits;
	x->chp[dir][k] = c;
}

static void dep_split(struct dep *x, const char *path, uint64_t off, uint64_t len)
{
	Sd__Control__InputSplit *s = &x->sp[x->d.n_splits];

	sd__control__input_split__init(s);
	s->server = "127.0.0.1:1";
	s->path = (char *)path;
	s->offset = off;
	s->length = len;
	x->spp[x->d.n_splits++] = s;
}

static void dep_sink(struct dep *x, const char *path)
{
	sd__control__sink_target__init(&x->sink);
	x->sink.server = "127.0.0.1:1";
	x->sink.path = (char *)path;
	x->d.sink = &x->sink;
}

static bool all_idle(void *arg)
{
	(void)arg;
	return node_tasks_running(NA) == 0 && node_tasks_running(NB) == 0;
}

static void run_all(void)
{
	assert_int_equal(sched_run(all_idle, NULL), 0);
}

static Sd__Control__TaskState state_of(struct node *n, const char *job, uint32_t task,
				       struct node_task_view *v)
{
	assert_int_equal(node_task_view(n, job, task, v), 0);
	return v->state;
}

/* ---- corpus and independent checks ------------------------------------------ */

static char *make_corpus(int lines, size_t *len)
{
	size_t cap = (size_t)lines * 16 + 1, n = 0;
	char *s = malloc(cap);

	for (int i = 0; i < lines; i++)
		n += (size_t)snprintf(s + n, cap - n, "w%d-%d\n", i % 97, i);
	*len = n;
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted lines of text (copies). */
static char **lines_of(const char *text, size_t len, size_t *n)
{
	char **v = malloc(sizeof(char *) * (len + 1));
	size_t k = 0, i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t m = nl ? (size_t)(nl - text - i) : len - i;

		v[k] = strndup(text + i, m);
		k++;
		i += m + 1;
	}
	qsort(v, k, sizeof(char *), cmp_str);
	*n = k;
	return v;
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Sinks' lines (concatenated, sorted) must equal the corpus lines exactly. */
static void assert_same_lines(const char *want, size_t wlen, const char *got, size_t glen)
{
	size_t nw, ng;
	char **w = lines_of(want, wlen, &nw), **g = lines_of(got, glen, &ng);

	assert_int_equal(ng, nw);
	for (size_t i = 0; i < nw; i++)
		assert_string_equal(g[i], w[i]);
	free_lines(w, nw);
	free_lines(g, ng);
}

/* ---- tests -------------------------------------------------------------------- */

/*
 * 2 sources on na (two splits of one file) hash-partition to 2 sinks (one on
 * each node). Every line lands once, in partition hash % 2.
 */
static void test_hash_wordcount_shape(void **state)
{
	struct dep s0, s1, k0, k1;
	size_t len, l0, l1;
	char *corpus = make_corpus(3000, &len);
	const char *o0, *o1;
	char *both;
	struct node_task_view v;

	(void)state;
	test_fs_put("in.txt", corpus, len);
	dep_init(&s0, "j1", 0, 0, "H2");
	dep_split(&s0, "in.txt", 0, len / 2);
	dep_chan(&s0, 1, 0, 0, 0, NB, SD__CONTROL__PARTITIONING__PART_HASH, 4);
	dep_chan(&s0, 1, 0, 0, 1, NA, SD__CONTROL__PARTITIONING__PART_HASH, 4);
	dep_init(&s1, "j1", 1, 1, "H2");
	dep_split(&s1, "in.txt", len / 2, 0);
	dep_chan(&s1, 1, 0, 1, 0, NB, SD__CONTROL__PARTITIONING__PART_HASH, 4);
	dep_chan(&s1, 1, 0, 1, 1, NA, SD__CONTROL__PARTITIONING__PART_HASH, 4);
	dep_init(&k0, "j1", 2, 0, "S");
	dep_chan(&k0, 0, 0, 0, 0, NA, SD__CONTROL__PARTITIONING__PART_HASH, 4);
	dep_chan(&k0, 0, 0, 1, 0, NA, SD__CONTROL__PARTITIONING__PART_HASH, 4);
	dep_sink(&k0, "out");
	dep_init(&k1, "j1", 3, 1, "S");
	dep_chan(&k1, 0, 0, 0, 1, NA, SD__CONTROL__PARTITIONING__PART_HASH, 4);
	dep_chan(&k1, 0, 0, 1, 1, NA, SD__CONTROL__PARTITIONING__PART_HASH, 4);
	dep_sink(&k1, "out");
	char why[256] = "";
	assert_int_equal(node_deploy(NB, &k0.d, why, sizeof(why)), 0);
	assert_int_equal(node_deploy(NA, &k1.d, why, sizeof(why)), 0);
	assert_int_equal(node_deploy(NA, &s0.d, why, sizeof(why)), 0);
	assert_int_equal(node_deploy(NA, &s1.d, why, sizeof(why)), 0);
	run_all();
	for (uint32_t t = 0; t < 2; t++)
		assert_int_equal(state_of(NA, "j1", t, &v), SD__CONTROL__TASK_STATE__TASK_FINISHED);
	assert_int_equal(state_of(NB, "j1", 2, &v), SD__CONTROL__TASK_STATE__TASK_FINISHED);
	assert_int_equal(v.records_in > 0, 1);
	assert_int_equal(state_of(NA, "j1", 3, &v), SD__CONTROL__TASK_STATE__TASK_FINISHED);
	node_job_done(NA, "j1", true);
	node_job_done(NB, "j1", true);
	run_all();
	sched_run_once(false);
	o0 = test_fs_get("out.j1.part-00000", &l0);
	o1 = test_fs_get("out.j1.part-00001", &l1);
	assert_non_null(o0);
	assert_non_null(o1);
	both = malloc(l0 + l1 + 1);
	memcpy(both, o0, l0);
	memcpy(both + l0, o1, l1);
	assert_same_lines(corpus, len, both, l0 + l1);
	/* Independent check of the partitioning: every line in out.p hashes to p. */
	for (int p = 0; p < 2; p++) {
		const char *o = p ? o1 : o0;
		size_t l = p ? l1 : l0, i = 0;

		while (i < l) {
			const char *nl = memchr(o + i, '\n', l - i);
			size_t m = (size_t)(nl - o - i);

			assert_int_equal(test_hash(o + i, m) % 2, (uint32_t)p);
			i += m + 1;
		}
	}
	free(both);
	free(corpus);
}

/* Broadcast: every consumer sees every record. */
static void test_broadcast(void **state)
{
	struct dep s, k0, k1;
	size_t len, l;
	char *corpus = make_corpus(500, &len);
	char why[256] = "";

	(void)state;
	test_fs_put("b.txt", corpus, len);
	dep_init(&s, "j2", 0, 0, "B");
	dep_split(&s, "b.txt", 0, 0);
	dep_chan(&s, 1, 0, 0, 0, NA, SD__CONTROL__PARTITIONING__PART_BROADCAST, 2);
	dep_chan(&s, 1, 0, 0, 1, NB, SD__CONTROL__PARTITIONING__PART_BROADCAST, 2);
	dep_init(&k0, "j2", 1, 0, "S");
	dep_chan(&k0, 0, 0, 0, 0, NB, SD__CONTROL__PARTITIONING__PART_BROADCAST, 2);
	dep_sink(&k0, "b");
	dep_init(&k1, "j2", 2, 1, "S");
	dep_chan(&k1, 0, 0, 0, 1, NB, SD__CONTROL__PARTITIONING__PART_BROADCAST, 2);
	dep_sink(&k1, "b");
	assert_int_equal(node_deploy(NB, &s.d, why, sizeof(why)), 0);
	assert_int_equal(node_deploy(NA, &k0.d, why, sizeof(why)), 0);
	assert_int_equal(node_deploy(NB, &k1.d, why, sizeof(why)), 0);
	run_all();
	node_job_done(NA, "j2", true);
	node_job_done(NB, "j2", true);
	run_all();
	const char *o = test_fs_get("b.j2.part-00000", &l);
	assert_non_null(o);
	assert_same_lines(corpus, len, o, l);
	o = test_fs_get("b.j2.part-00001", &l);
	assert_non_null(o);
	assert_same_lines(corpus, len, o, l);
	free(corpus);
}

/*
 * A streaming sink (Deploy.sink.append): the part file is visible from the
 * start, output arrives in appends of whole lines no larger than
 * NODE_SINK_APPEND_MAX, and it stays (all of it) when the task ends.
 */
static void test_append_sink(void **state)
{
	struct dep k;
	size_t len, l;
	char *corpus = make_corpus(80000, &len);
	char why[256] = "";

	(void)state;
	assert_true(len > 2 * NODE_SINK_APPEND_MAX);
	test_fs_put("a.txt", corpus, len);
	/* The source task sinks itself: whole source chunks of lines fill the
	 * buffer past NODE_SINK_APPEND_MAX, so appends must cut at newlines. */
	dep_init(&k, "ja", 0, 0, "S");
	dep_split(&k, "a.txt", 0, 0);
	dep_sink(&k, "live");
	k.sink.append = true;
	assert_int_equal(node_deploy(NA, &k.d, why, sizeof(why)), 0);
	run_all();
	const char *o = test_fs_get("live.ja.part-00000", &l);
	assert_non_null(o); /* visible without any commit */
	assert_same_lines(corpus, len, o, l);
	assert_true(test_fs_append_stats()->appends >= 3);
	assert_int_equal(test_fs_append_stats()->not_whole_lines, 0);
	assert_true(test_fs_append_stats()->max_len <= NODE_SINK_APPEND_MAX);
	node_job_done(NA, "ja", false); /* a failed/canceled end keeps it too */
	run_all();
	assert_non_null(test_fs_get("live.ja.part-00000", &l));
	assert_int_equal(test_fs_open_sinks(), 0);
	free(corpus);
}

/* Splits at every offset: records are never cut, lost or duplicated. */
static void test_split_edges(void **state)
{
	const char *text = "alpha\nbe\n\ngamma-delta\nx\nlonger line here\nlast-no-newline";
	size_t len = strlen(text);
	char why[256] = "";

	(void)state;
	test_fs_put("e.txt", text, len);
	for (size_t a = 1; a < len; a += 3) {
		for (size_t b = a + 1; b <= len; b += 5) {
			struct dep s, k;
			char job[48];
			size_t l;
			const char *o;

			snprintf(job, sizeof(job), "e%zu-%zu", a, b);
			dep_init(&s, job, 0, 0, "F");
			dep_split(&s, "e.txt", 0, a);
			dep_split(&s, "e.txt", a, b - a);
			dep_split(&s, "e.txt", b, 0);
			dep_chan(&s, 1, 0, 0, 0, NA, SD__CONTROL__PARTITIONING__PART_FORWARD, 1);
			dep_init(&k, job, 1, 0, "S");
			dep_chan(&k, 0, 0, 0, 0, NA, SD__CONTROL__PARTITIONING__PART_FORWARD, 1);
			dep_sink(&k, job);
			assert_int_equal(node_deploy(NA, &s.d, why, sizeof(why)), 0);
			assert_int_equal(node_deploy(NA, &k.d, why, sizeof(why)), 0);
			run_all();
			node_job_done(NA, job, true);
			char part[160];

			snprintf(part, sizeof(part), "%s.%s.part-00000", job, job);
			o = test_fs_get(part, &l);
			assert_non_null(o);
			assert_same_lines(text, len, o, l);
		}
	}
}

/* A failed job discards its sinks; a bad plan fails its task with a reason. */
static void test_bad_plan_and_discard(void **state)
{
	struct dep s, k;
	struct node_task_view v;
	char why[256] = "";
	size_t l;

	(void)state;
	test_fs_put("x.txt", "a\nb\n", 4);
	dep_init(&s, "j3", 0, 0, "?bad");
	dep_split(&s, "x.txt", 0, 0);
	dep_chan(&s, 1, 0, 0, 0, NB, SD__CONTROL__PARTITIONING__PART_FORWARD, 2);
	dep_init(&k, "j3", 1, 0, "S");
	dep_chan(&k, 0, 0, 0, 0, NA, SD__CONTROL__PARTITIONING__PART_FORWARD, 2);
	dep_sink(&k, "x.out");
	assert_int_equal(node_deploy(NA, &s.d, why, sizeof(why)), 0);
	assert_int_equal(node_deploy(NB, &k.d, why, sizeof(why)), 0);
	/* the producer fails at once; the consumer waits until the job is canceled */
	while (state_of(NA, "j3", 0, &v) != SD__CONTROL__TASK_STATE__TASK_FAILED)
		sched_run_once(true);
	assert_int_equal(v.error, SD_EPROTO);
	assert_non_null(strstr(v.reason, "plan"));
	node_cancel_job(NB, "j3", "task 0 failed");
	run_all();
	assert_int_equal(state_of(NB, "j3", 1, &v), SD__CONTROL__TASK_STATE__TASK_CANCELED);
	node_job_done(NA, "j3", false);
	node_job_done(NB, "j3", false);
	assert_null(test_fs_get("x.out.j3.part-00000", &l));
	assert_int_equal(test_fs_open_sinks(), 0);
	/* Deploy errors: duplicate task, no slot. */
	dep_init(&k, "j4", 1, 0, "S");
	assert_int_equal(node_deploy(NA, &k.d, why, sizeof(why)), 0);
	assert_int_equal(node_deploy(NA, &k.d, why, sizeof(why)), SD_EEXIST);
	assert_non_null(strstr(why, "already"));
	run_all();
	node_job_done(NA, "j4", true);
}

/* Regression (issue 4): the coordinator sends Cancel and JobDone together;
 * a task still unwinding at JobDone kept its channels, and the next job using
 * the same channel ids was refused ("input channel ...: already exists"). */
static void test_job_done_while_unwinding_releases_channels(void **state)
{
	struct dep k, k2;
	struct node_task_view v;
	char why[256] = "";

	(void)state;
	dep_init(&k, "j8", 1, 0, "S"); /* its producer never comes: it waits */
	dep_chan(&k, 0, 0, 0, 0, NA, SD__CONTROL__PARTITIONING__PART_FORWARD, 2);
	dep_sink(&k, "y.out");
	assert_int_equal(node_deploy(NB, &k.d, why, sizeof(why)), 0);
	for (int i = 0; i < 5; i++)
		sched_run_once(false);
	assert_int_equal(state_of(NB, "j8", 1, &v), SD__CONTROL__TASK_STATE__TASK_RUNNING);
	node_cancel_job(NB, "j8", "canceled by request");
	node_job_done(NB, "j8", false); /* before the task has run its cancel */
	run_all();
	assert_int_equal(node_task_view(NB, "j8", 1, &v), SD_ENOENT);
	assert_int_equal(test_fs_open_sinks(), 0);
	/* The same channel ids in the next job are free again. */
	dep_init(&k2, "j9", 1, 0, "S");
	dep_chan(&k2, 0, 0, 0, 0, NA, SD__CONTROL__PARTITIONING__PART_FORWARD, 2);
	why[0] = '\0';
	assert_int_equal(node_deploy(NB, &k2.d, why, sizeof(why)), 0);
	node_cancel_job(NB, "j9", "test");
	node_job_done(NB, "j9", false);
	run_all();
	assert_int_equal(node_task_view(NB, "j9", 1, &v), SD_ENOENT);
}

/* An allocation failure during deploy is reported, not a crash, and leaks nothing. */
static void test_alloc_fault_on_deploy(void **state)
{
	char why[256];
	size_t before = plat_mem_used();
	int failures = 0;

	(void)state;
	for (uint64_t nth = 1; nth <= 12; nth++) {
		struct dep k;
		int rc;

		dep_init(&k, "j5", 1, 0, "S");
		dep_chan(&k, 0, 0, 0, 0, NB, SD__CONTROL__PARTITIONING__PART_FORWARD, 2);
		why[0] = '\0';
		plat_hosted_fail_alloc_nth(nth);
		rc = node_deploy(NA, &k.d, why, sizeof(why));
		plat_hosted_fail_alloc_nth(0);
		if (rc < 0) {
			assert_int_equal(rc, SD_ENOMEM);
			failures++;
		} else {
			node_cancel_job(NA, "j5", "test");
			run_all();
			node_job_done(NA, "j5", false);
		}
		sched_run_once(false);
	}
	assert_true(failures >= 3);
	assert_true(plat_mem_used() <= before + 256 * 1024); /* connection buffers at most */
}

/* A lost connection fails the tasks using it with a reason naming the peer. */
static void test_lost_peer_fails_task(void **state)
{
	struct dep s, k;
	struct node_task_view v;
	char why[256] = "";

	(void)state;
	dep_init(&k, "j6", 1, 0, "S");
	dep_chan(&k, 0, 0, 0, 0, NB, SD__CONTROL__PARTITIONING__PART_FORWARD, 2);
	dep_init(&s, "j6", 0, 0, "F");
	/* the producer never sends: it has an input nobody feeds */
	dep_chan(&s, 0, 1, 0, 0, NB, SD__CONTROL__PARTITIONING__PART_FORWARD, 2);
	dep_chan(&s, 1, 0, 0, 0, NA, SD__CONTROL__PARTITIONING__PART_FORWARD, 2);
	assert_int_equal(node_deploy(NA, &k.d, why, sizeof(why)), 0);
	assert_int_equal(node_deploy(NB, &s.d, why, sizeof(why)), 0);
	for (int i = 0; i < 50; i++)
		sched_run_once(false);
	plat_hosted_drop_all_connections();
	run_all();
	assert_int_equal(state_of(NA, "j6", 1, &v), SD__CONTROL__TASK_STATE__TASK_FAILED);
	assert_int_equal(v.error, SD_ELOST);
	assert_non_null(strstr(v.reason, "nb"));
	assert_int_equal(state_of(NB, "j6", 0, &v), SD__CONTROL__TASK_STATE__TASK_FAILED);
	assert_non_null(strstr(v.reason, "na"));
	node_job_done(NA, "j6", false);
	node_job_done(NB, "j6", false);
}

/*
 * A slow sink on nb back-pressures the source on na: the producer waits
 * (counted), and node memory stays bounded by credits, not by the input.
 */
static void test_slow_sink_backpressure(void **state)
{
	struct dep s, k;
	struct node_task_view vs, vk;
	size_t len, l, before;
	char *corpus = make_corpus(200000, &len); /* ~2.5 MB */
	char why[256] = "";
	const char *o;

	(void)state;
	test_fs_put("slow.txt", corpus, len);
	test_fs_set_write_delay_us(300);
	plat_hosted_reset_mem_peak();
	before = plat_mem_used();
	dep_init(&s, "j7", 0, 0, "F");
	dep_split(&s, "slow.txt", 0, 0);
	dep_chan(&s, 1, 0, 0, 0, NB, SD__CONTROL__PARTITIONING__PART_FORWARD, 2);
	dep_init(&k, "j7", 1, 0, "S");
	dep_chan(&k, 0, 0, 0, 0, NA, SD__CONTROL__PARTITIONING__PART_FORWARD, 2);
	dep_sink(&k, "slow");
	assert_int_equal(node_deploy(NA, &s.d, why, sizeof(why)), 0);
	assert_int_equal(node_deploy(NB, &k.d, why, sizeof(why)), 0);
	run_all();
	test_fs_set_write_delay_us(0);
	assert_int_equal(state_of(NA, "j7", 0, &vs), SD__CONTROL__TASK_STATE__TASK_FINISHED);
	assert_int_equal(state_of(NB, "j7", 1, &vk), SD__CONTROL__TASK_STATE__TASK_FINISHED);
	assert_true(vs.backpressure_us > 0);
	assert_int_equal(vs.records_in, 200000);
	assert_int_equal(vk.records_in, 200000);
	o = test_fs_get("slow.j7.part-00000", &l);
	assert_non_null(o);
	assert_same_lines(corpus, len, o, l);
	/* The input went through 2-batch credits: the peak grew by buffers, not by the input. */
	assert_true(plat_mem_peak() < before + 700 * 1024);
	assert_true(plat_mem_peak() - before < len / 3); /* well under the input itself */
	node_job_done(NA, "j7", true);
	node_job_done(NB, "j7", true);
	free(corpus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hash_wordcount_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broadcast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_plan_and_discard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_done_while_unwinding_releases_channels,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_fault_on_deploy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_peer_fails_task, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_sink_backpressure, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
