/* Unit tests for placement's model (geography, latency matrix, nodes) and
 * the constraint flag parser and formatter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "placement/placement.h"

static void assert_near(double got, double want, double tol)
{
	if (got < want - tol || got > want + tol)
		fail_msg("got %f, want %f +- %f", got, want, tol);
}

static void test_geo_distance(void **state)
{
	(void)state;
	/* London - New York: 5570 km by the haversine formula on a 6371 km sphere */
	assert_near(plc_geo_distance_km(51.5074, -0.1278, 40.7128, -74.0060), 5570.2, 3.0);
	assert_near(plc_geo_distance_km(10.0, 20.0, 10.0, 20.0), 0.0, 1e-6);
	assert_near(plc_geo_distance_km(0.0, 0.0, 0.0, 180.0), 3.14159265358979 * 6371.0, 1.0);
	assert_near(plc_geo_distance_km(90.0, 0.0, -90.0, 0.0), 3.14159265358979 * 6371.0, 1.0);
	/* Sydney - Mumbai, west across the date-line-free way: about 10160 km */
	assert_near(plc_geo_distance_km(-33.8688, 151.2093, 19.0760, 72.8777), 10160.0, 30.0);
}

static void test_latency_matrix(void **state)
{
	struct plc_model *m = plc_model_new();

	(void)state;
	assert_non_null(m);
	int lon = plc_model_add_region(m, "eu-west", 51.5074, -0.1278);
	int nyc = plc_model_add_region(m, "us-east", 40.7128, -74.0060);

	assert_int_equal(lon, 0);
	assert_int_equal(nyc, 1);
	/* there and back at 2/3 c (199.86 km/ms) plus the base */
	double est = 2.0 * plc_geo_distance_km(51.5074, -0.1278, 40.7128, -74.0060) / 199.86 +
		     PLC_RTT_BASE_MS;

	assert_near(plc_model_region_rtt(m, lon, nyc), est, 1e-9);
	assert_near(plc_model_region_rtt(m, nyc, lon), est, 1e-9);
	assert_near(plc_model_region_rtt(m, lon, lon), PLC_INTRA_RTT_MS, 1e-12);
	/* a region known only by name gets the unknown round trip */
	struct plc_node_spec spec = {"n1", "mars", "a", NULL, 0, 2, 0.0};

	assert_int_equal(plc_model_add_node(m, &spec), 0);
	int mars = plc_model_find_region(m, "mars");

	assert_int_equal(mars, 2);
	assert_near(plc_model_region_rtt(m, mars, lon), PLC_UNKNOWN_RTT_MS, 1e-12);
	/* explicit beats estimate, and survives new coordinates */
	assert_int_equal(plc_model_set_rtt(m, "eu-west", "us-east", 80.0), 0);
	assert_near(plc_model_region_rtt(m, nyc, lon), 80.0, 1e-12);
	assert_int_equal(plc_model_add_region(m, "us-east", 40.0, -75.0), nyc);
	assert_near(plc_model_region_rtt(m, lon, nyc), 80.0, 1e-12);
	/* coordinates for mars now estimate its row */
	assert_int_equal(plc_model_add_region(m, "mars", 51.5074, -0.1278), mars);
	assert_near(plc_model_region_rtt(m, mars, lon), PLC_RTT_BASE_MS, 1e-6);
	/* measured: first replaces, later ones blend */
	assert_int_equal(plc_model_observe_rtt(m, "eu-west", "us-east", 70.0), 0);
	assert_near(plc_model_region_rtt(m, lon, nyc), 70.0, 1e-12);
	assert_int_equal(plc_model_observe_rtt(m, "us-east", "eu-west", 90.0), 0);
	assert_near(plc_model_region_rtt(m, lon, nyc), 0.75 * 70.0 + 0.25 * 90.0, 1e-12);
	assert_int_equal(plc_model_set_rtt(m, "eu-west", "eu-west", 0.4), 0);
	assert_near(plc_model_region_rtt(m, lon, lon), 0.4, 1e-12);
	assert_int_equal(plc_model_set_rtt(m, "eu-west", "us-east", -1.0), SD_EINVAL);
	assert_int_equal(plc_model_add_region(m, "x", 91.0, 0.0), SD_EINVAL);
	plc_model_free(m);
}

static void test_nodes_and_graph(void **state)
{
	struct plc_model *m = plc_model_new();
	struct plc_label labels[PLC_LABELS_MAX + 1];

	(void)state;
	for (int i = 0; i <= PLC_LABELS_MAX; i++)
		labels[i] = (struct plc_label){"k", "v"};
	struct plc_node_spec a = {"a", "eu", "z1", labels, 1, 4, 0.5};
	struct plc_node_spec b = {"b", "eu", NULL, NULL, 0, 4, 0.0};

	assert_int_equal(plc_model_add_node(m, &a), 0);
	assert_int_equal(plc_model_add_node(m, &b), 1);
	assert_int_equal(plc_model_add_node(m, &a), SD_EEXIST);
	a.name = "c";
	a.n_labels = PLC_LABELS_MAX + 1;
	assert_int_equal(plc_model_add_node(m, &a), SD_ELIMIT);
	a.n_labels = 1;
	a.load = 1.5;
	assert_int_equal(plc_model_add_node(m, &a), SD_EINVAL);
	a.load = 0.0;
	a.slots = -1;
	assert_int_equal(plc_model_add_node(m, &a), SD_EINVAL);
	assert_int_equal(plc_model_n_nodes(m), 2);
	assert_string_equal(plc_model_node_zone(m, 0), "z1");
	assert_string_equal(plc_model_node_zone(m, 1), "");
	assert_near(plc_model_node_rtt(m, 0, 0), 0.0, 0.0);
	assert_near(plc_model_node_rtt(m, 0, 1), PLC_INTRA_RTT_MS, 1e-12);
	int s = plc_model_add_stage(m, "read");

	assert_int_equal(s, 0);
	assert_int_equal(plc_model_add_stage(m, "read"), SD_EEXIST);
	assert_int_equal(plc_model_add_task(m, 0, 0), 0);
	assert_int_equal(plc_model_add_task(m, 0, 1), 1);
	assert_int_equal(plc_model_add_task(m, 3, 1), SD_EINVAL);
	assert_int_equal(plc_model_add_channel(m, 0, 1, 1e6), 0);
	assert_int_equal(plc_model_add_channel(m, 0, 0, 1e6), SD_EINVAL);
	assert_int_equal(plc_model_add_channel(m, 0, 1, -5.0), SD_EINVAL);
	assert_int_equal(plc_model_add_source_read(m, 0, 0, 1e6), SD_EINVAL); /* no netfs yet */
	assert_int_equal(plc_model_add_netfs(m, "fs", "us"), 0);
	assert_int_equal(plc_model_add_source_read(m, 0, 0, 1e6), 0);
	assert_int_equal(plc_model_find_stage(m, "read"), 0);
	assert_int_equal(plc_model_find_stage(m, "nope"), -1);
	assert_int_equal(plc_model_task_partition(m, 1), 1);
	struct plc_constraint c;

	assert_int_equal(plc_constraint_parse("write:region=eu", false, &c, NULL, 0), 0);
	assert_int_equal(plc_model_add_constraint(m, &c), SD_ENOENT);
	assert_int_equal(plc_constraint_parse("near=nope", false, &c, NULL, 0), 0);
	assert_int_equal(plc_model_add_constraint(m, &c), SD_ENOENT);
	assert_int_equal(plc_constraint_parse("read:near=read", false, &c, NULL, 0), 0);
	assert_int_equal(plc_model_add_constraint(m, &c), 0);
	plc_model_free(m);
}

static struct plc_constraint parse_ok(const char *text, bool prefer)
{
	struct plc_constraint c;
	char err[128];
	int rc = plc_constraint_parse(text, prefer, &c, err, sizeof(err));

	if (rc != 0)
		fail_msg("\"%s\": %s", text, err);
	assert_string_equal(c.origin, text);
	return c;
}

static void test_parse_good(void **state)
{
	struct plc_constraint c;

	(void)state;
	c = parse_ok("region=eu-west", false);
	assert_int_equal(c.kind, PLC_MATCH);
	assert_int_equal(c.attr, PLC_ATTR_REGION);
	assert_false(c.negate);
	assert_false(c.soft);
	assert_int_equal(c.n_values, 1);
	assert_string_equal(c.values[0], "eu-west");
	assert_string_equal(c.stage, "");
	c = parse_ok("region!=us-east", false);
	assert_true(c.negate);
	assert_string_equal(c.values[0], "us-east");
	c = parse_ok("region=eu-west,us-east|ap-south", false);
	assert_int_equal(c.n_values, 3);
	assert_string_equal(c.values[2], "ap-south");
	c = parse_ok("write_csv:zone=a", false);
	assert_string_equal(c.stage, "write_csv");
	assert_int_equal(c.attr, PLC_ATTR_ZONE);
	c = parse_ok("gpu=true", false);
	assert_int_equal(c.attr, PLC_ATTR_LABEL);
	assert_string_equal(c.label_key, "gpu");
	c = parse_ok("label.disk!=hdd", false);
	assert_string_equal(c.label_key, "disk");
	assert_true(c.negate);
	c = parse_ok("near=clicks", false);
	assert_int_equal(c.kind, PLC_NEAR);
	assert_string_equal(c.near_stage, "clicks");
	assert_true(c.max_rtt_ms == 0.0);
	c = parse_ok("map:near=clicks<=50ms", false);
	assert_string_equal(c.stage, "map");
	assert_near(c.max_rtt_ms, 50.0, 0.0);
	c = parse_ok("near=clicks<12.5", false);
	assert_near(c.max_rtt_ms, 12.5, 0.0);
	c = parse_ok("agg:spread=zone", false);
	assert_int_equal(c.kind, PLC_SPREAD);
	assert_int_equal(c.attr, PLC_ATTR_ZONE);
	c = parse_ok("spread=regions", false);
	assert_int_equal(c.attr, PLC_ATTR_REGION);
	c = parse_ok("max-per-node=2", false);
	assert_int_equal(c.kind, PLC_MAX_PER_NODE);
	assert_int_equal(c.max_per_node, 2);
	c = parse_ok("zone=a:50", true);
	assert_true(c.soft);
	assert_near(c.weight, 50.0, 0.0);
	assert_string_equal(c.values[0], "a");
	c = parse_ok("sink:region=eu-west", true);
	assert_near(c.weight, PLC_PREFER_WEIGHT, 0.0);
	assert_string_equal(c.stage, "sink");
	c = parse_ok(" region = eu-west ", false);
	assert_string_equal(c.values[0], "eu-west");
}

static void test_parse_bad(void **state)
{
	static const char *bad[] = {
		"",
		"region",
		"region=",
		"=x",
		"region=a,,b",
		"region=a,",
		"near!=x",
		"max-per-node=0",
		"max-per-node=1.5",
		"max-per-node=x",
		"spread=rack",
		"region=a b",
		":region=a",
		"near=",
		"near=x<=",
		"near=x<=-3",
		"near=x<=0",
		"region=1,2,3,4,5,6,7,8,9",
	};
	struct plc_constraint c;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (plc_constraint_parse(bad[i], false, &c, err, sizeof(err)) != SD_ESYNTAX)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(plc_constraint_parse("spread=zone", true, &c, err, sizeof(err)),
			 SD_ESYNTAX);
	assert_non_null(strstr(err, "--prefer"));
	assert_int_equal(plc_constraint_parse("zone=a:heavy", true, &c, err, sizeof(err)),
			 SD_ESYNTAX);
	assert_int_equal(plc_constraint_parse(NULL, false, &c, NULL, 0), SD_ESYNTAX);
	assert_int_equal(plc_constraint_parse("zone=a", false, NULL, NULL, 0), SD_EINVAL);
}

static void test_format(void **state)
{
	struct plc_constraint c;
	char buf[PLC_TEXT_MAX];

	(void)state;
	c = parse_ok("region=eu-west,us-east", false);
	assert_int_equal(plc_constraint_format(&c, buf, sizeof(buf)), (int)strlen(c.origin));
	assert_string_equal(buf, "region=eu-west,us-east");
	c.origin[0] = '\0';
	plc_constraint_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "region in {eu-west, us-east}");
	c = parse_ok("zone!=a:5", true);
	c.origin[0] = '\0';
	plc_constraint_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "zone not in {a} (preferred, weight 5)");
	c = parse_ok("gpu=true", false);
	c.origin[0] = '\0';
	plc_constraint_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "label gpu in {true}");
	c = parse_ok("near=src<=30", false);
	c.origin[0] = '\0';
	plc_constraint_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "near(src) within 30 ms");
	c = parse_ok("max-per-node=1", false);
	c.origin[0] = '\0';
	int len = plc_constraint_format(&c, buf, 4);
	assert_int_equal(len, (int)strlen("at most 1 task per node"));
	assert_string_equal(buf, "at ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geo_distance),    cmocka_unit_test(test_latency_matrix),
		cmocka_unit_test(test_nodes_and_graph), cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),       cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
