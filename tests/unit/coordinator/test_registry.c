/*
 * tests/unit/coordinator/test_registry.c — the node registry: join token and
 * version checks, field limits, duplicates, heartbeats, RTT, liveness.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "coordinator/coord.h"

#define SEC 1000000ull

static Sd__Control__Label label_a = {PROTOBUF_C_MESSAGE_INIT(&sd__control__label__descriptor),
				     "rack", "r7"};
static Sd__Control__Label *labels[] = {&label_a};

static Sd__Control__Register reg_msg(const char *name, const char *token)
{
	Sd__Control__Register m = SD__CONTROL__REGISTER__INIT;
	m.protocol_version = WIRE_VERSION;
	m.name = (char *)name;
	m.region = "eu-west";
	m.zone = "eu-west-a";
	m.n_labels = 1;
	m.labels = labels;
	m.slots = 4;
	m.memory_bytes = 1u << 30;
	m.data_host = "127.0.0.1";
	m.data_port = 9100;
	m.token = (char *)token;
	m.platform = "hosted";
	m.version = "0.1.0";
	return m;
}

static void test_register_ok(void **state)
{
	struct coord_registry r;
	assert_int_equal(coord_registry_init(&r, "J", 5 * SEC), 0);
	Sd__Control__Register m = reg_msg("n1", "J");
	struct coord_node *n = NULL;
	char reason[COORD_REASON_MAX];
	int conn;
	assert_int_equal(
		coord_registry_register(&r, &m, 10 * SEC, &conn, &n, reason, sizeof(reason)), 0);
	assert_non_null(n);
	assert_int_equal(n->id, 1);
	assert_string_equal(n->name, "n1");
	assert_string_equal(coord_node_label(n, "region"), "eu-west");
	assert_string_equal(coord_node_label(n, "zone"), "eu-west-a");
	assert_string_equal(coord_node_label(n, "rack"), "r7");
	assert_null(coord_node_label(n, "missing"));
	assert_int_equal(n->slots, 4);
	assert_int_equal(n->state, COORD_NODE_READY);
	assert_ptr_equal(n->conn, &conn);
	assert_int_equal(n->rtt_us, -1);
	assert_int_equal(r.registrations_total, 1);
	assert_ptr_equal(coord_registry_find_name(&r, "n1"), n);
	assert_ptr_equal(coord_registry_find_id(&r, 1), n);
	coord_registry_fini(&r);
}

static void test_refusals(void **state)
{
	struct coord_registry r;
	assert_int_equal(coord_registry_init(&r, "J", 5 * SEC), 0);
	struct coord_node *n = NULL;
	char reason[COORD_REASON_MAX];

	Sd__Control__Register m = reg_msg("n1", "wrong");
	assert_int_equal(coord_registry_register(&r, &m, 1, NULL, &n, reason, sizeof(reason)),
			 SD_EAUTH);
	assert_non_null(strstr(reason, "token"));

	m = reg_msg("n1", NULL); /* no token at all */
	assert_int_equal(coord_registry_register(&r, &m, 1, NULL, &n, reason, sizeof(reason)),
			 SD_EAUTH);

	m = reg_msg("n1", "J");
	m.protocol_version = WIRE_VERSION + 1;
	assert_int_equal(coord_registry_register(&r, &m, 1, NULL, &n, reason, sizeof(reason)),
			 SD_EVERSION);
	assert_non_null(strstr(reason, "version"));

	m = reg_msg("", "J");
	assert_int_equal(coord_registry_register(&r, &m, 1, NULL, &n, reason, sizeof(reason)),
			 SD_EINVAL);

	char long_name[COORD_NAME_MAX + 8];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	m = reg_msg(long_name, "J");
	assert_int_equal(coord_registry_register(&r, &m, 1, NULL, &n, reason, sizeof(reason)),
			 SD_EINVAL);

	m = reg_msg("n1", "J");
	assert_int_equal(coord_registry_register(&r, &m, 1, NULL, &n, reason, sizeof(reason)), 0);
	assert_int_equal(coord_registry_register(&r, &m, 2, NULL, &n, reason, sizeof(reason)),
			 SD_EEXIST);
	assert_non_null(strstr(reason, "n1"));
	assert_int_equal(r.refusals_total, 6);
	assert_int_equal(r.n_nodes, 1);
	coord_registry_fini(&r);
}

static void test_no_token_configured(void **state)
{
	struct coord_registry r;
	assert_int_equal(coord_registry_init(&r, NULL, 5 * SEC), 0);
	Sd__Control__Register m = reg_msg("n1", "anything");
	struct coord_node *n;
	char reason[COORD_REASON_MAX];
	assert_int_equal(coord_registry_register(&r, &m, 1, NULL, &n, reason, sizeof(reason)), 0);
	coord_registry_fini(&r);
}

static int lost_calls;
static void on_lost(void *arg, struct coord_node *n)
{
	lost_calls++;
	assert_ptr_equal(arg, &lost_calls);
	assert_int_equal(n->state, COORD_NODE_LOST);
}

static void test_heartbeat_and_liveness(void **state)
{
	struct coord_registry r;
	assert_int_equal(coord_registry_init(&r, NULL, 5 * SEC), 0);
	struct coord_node *a, *b;
	char reason[COORD_REASON_MAX];
	Sd__Control__Register m = reg_msg("a", NULL);
	assert_int_equal(coord_registry_register(&r, &m, 100 * SEC, NULL, &a, reason, 64), 0);
	m = reg_msg("b", NULL);
	assert_int_equal(coord_registry_register(&r, &m, 100 * SEC, NULL, &b, reason, 64), 0);

	Sd__Control__NodeMetrics met = SD__CONTROL__NODE_METRICS__INIT;
	met.mem_used_bytes = 12345;
	met.tasks_running = 2;
	Sd__Control__Heartbeat hb = SD__CONTROL__HEARTBEAT__INIT;
	hb.seq = 7;
	hb.metrics = &met;
	hb.rtt_us = 850;
	coord_registry_heartbeat(&r, a, &hb, 104 * SEC);
	assert_int_equal(a->rtt_us, 850);
	assert_int_equal(a->metrics.mem_used_bytes, 12345);
	assert_int_equal(a->metrics.tasks_running, 2);
	assert_int_equal(a->last_seq, 7);
	assert_int_equal(a->heartbeats, 1);

	/* At 105 s exactly b is 5 s old: not yet past the timeout. */
	lost_calls = 0;
	assert_int_equal(coord_registry_sweep(&r, 105 * SEC, on_lost, &lost_calls), 0);
	assert_int_equal(coord_registry_sweep(&r, 105 * SEC + 1, on_lost, &lost_calls), 1);
	assert_int_equal(lost_calls, 1);
	assert_int_equal(b->state, COORD_NODE_LOST);
	assert_int_equal(a->state, COORD_NODE_READY);
	assert_int_equal(coord_registry_count(&r, COORD_NODE_LOST), 1);
	/* Swept again: already lost, not counted twice. */
	assert_int_equal(coord_registry_sweep(&r, 106 * SEC, on_lost, &lost_calls), 0);
	assert_int_equal(r.lost_total, 1);

	/* A lost node that heartbeats again is ready. */
	hb.rtt_us = 0; /* "not measured" keeps the last value */
	coord_registry_heartbeat(&r, b, &hb, 107 * SEC);
	assert_int_equal(b->state, COORD_NODE_READY);
	assert_int_equal(b->rtt_us, -1);

	/* Disconnect: gone, and it may register again with the same id. */
	uint64_t id = b->id;
	coord_registry_disconnect(&r, b, 108 * SEC);
	assert_int_equal(b->state, COORD_NODE_GONE);
	assert_null(b->conn);
	struct coord_node *again;
	assert_int_equal(coord_registry_register(&r, &m, 109 * SEC, NULL, &again, reason, 64), 0);
	assert_ptr_equal(again, b);
	assert_int_equal(again->id, id);
	assert_int_equal(again->state, COORD_NODE_READY);
	assert_int_equal(r.n_nodes, 2);
	coord_registry_fini(&r);
}

static void test_parse_helpers(void **state)
{
	char host[64];
	int port;
	assert_int_equal(coord_parse_hostport("127.0.0.1:8080", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_int_equal(coord_parse_hostport("localhost:0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 0);
	assert_int_equal(coord_parse_hostport("127.0.0.1", host, sizeof(host), &port), SD_EINVAL);
	assert_int_equal(coord_parse_hostport(":80", host, sizeof(host), &port), SD_EINVAL);
	assert_int_equal(coord_parse_hostport("h:99999", host, sizeof(host), &port), SD_EINVAL);
	assert_int_equal(coord_parse_hostport("h:8x", host, sizeof(host), &port), SD_EINVAL);
	uint64_t us;
	assert_int_equal(coord_parse_duration_us("5s", &us), 0);
	assert_int_equal(us, 5 * SEC);
	assert_int_equal(coord_parse_duration_us("250ms", &us), 0);
	assert_int_equal(us, 250000);
	assert_int_equal(coord_parse_duration_us("2m", &us), 0);
	assert_int_equal(us, 120 * SEC);
	assert_int_equal(coord_parse_duration_us("3", &us), 0);
	assert_int_equal(us, 3 * SEC);
	assert_int_equal(coord_parse_duration_us("5h", &us), SD_EINVAL);
	assert_int_equal(coord_parse_duration_us("", &us), SD_EINVAL);
	assert_int_equal(coord_parse_duration_us("-1s", &us), SD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_ok),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_no_token_configured),
		cmocka_unit_test(test_heartbeat_and_liveness),
		cmocka_unit_test(test_parse_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
