/*
 * coordinator/registry.c — the node registry (coord_registry_*).
 *
 * Nodes register over the control stream; the registry checks the join
 * token and protocol version, keeps labels, slots and the last heartbeat's
 * metrics, and marks nodes LOST when their heartbeats stop. No I/O and no
 * clock: the caller passes "now" and owns the connection behind n->conn.
 *
 * Nodes are never freed while the registry lives: jobs keep node ids, and a
 * node that comes back under its name gets its record and id back.
 */
#include "coordinator/coord.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

int coord_registry_init(struct coord_registry *r, const char *join_token,
			uint64_t heartbeat_timeout_us)
{
	memset(r, 0, sizeof(*r));
	r->next_id = 1;
	r->heartbeat_timeout_us = heartbeat_timeout_us;
	r->heartbeat_interval_ms = COORD_HEARTBEAT_INTERVAL_MS;
	/* Heartbeat at least three times per timeout so one late beat is not fatal. */
	if (heartbeat_timeout_us / 3000 < r->heartbeat_interval_ms) {
		r->heartbeat_interval_ms = (uint32_t)(heartbeat_timeout_us / 3000);
		if (r->heartbeat_interval_ms == 0)
			r->heartbeat_interval_ms = 1;
	}
	if (join_token && join_token[0]) {
		r->join_token = strdup(join_token);
		if (!r->join_token)
			return SD_ENOMEM;
	}
	return 0;
}

static void node_free_fields(struct coord_node *n)
{
	free(n->name);
	free(n->region);
	free(n->zone);
	free(n->platform);
	free(n->version);
	free(n->data_host);
	for (size_t i = 0; i < n->n_labels; i++) {
		free(n->labels[i].key);
		free(n->labels[i].value);
	}
	free(n->labels);
	n->labels = NULL;
	n->n_labels = 0;
}

void coord_registry_fini(struct coord_registry *r)
{
	for (size_t i = 0; i < r->n_nodes; i++) {
		node_free_fields(r->nodes[i]);
		free(r->nodes[i]);
	}
	free(r->nodes);
	free(r->join_token);
	memset(r, 0, sizeof(*r));
}

const char *coord_node_state_name(enum coord_node_state s)
{
	switch (s) {
	case COORD_NODE_READY:
		return "ready";
	case COORD_NODE_LOST:
		return "lost";
	case COORD_NODE_GONE:
		return "gone";
	}
	return "unknown";
}

/* Constant-time comparison so the token cannot be guessed byte by byte. */
static bool token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);
	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

static bool field_ok(const char *s, size_t max, bool required)
{
	if (!s || !s[0])
		return !required;
	return strnlen(s, max) < max;
}

static int refuse(struct coord_registry *r, int code, char *reason, size_t cap, const char *fmt,
		  ...) __attribute__((format(printf, 5, 6)));

static int refuse(struct coord_registry *r, int code, char *reason, size_t cap, const char *fmt,
		  ...)
{
	r->refusals_total++;
	if (reason && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(reason, cap, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int check_register(struct coord_registry *r, const Sd__Control__Register *msg, char *reason,
			  size_t cap)
{
	if (msg->protocol_version != WIRE_VERSION)
		return refuse(
			r, SD_EVERSION, reason, cap,
			"protocol version %u not supported: this coordinator speaks version %u",
			msg->protocol_version, WIRE_VERSION);
	if (r->join_token && !token_equal(msg->token ? msg->token : "", r->join_token))
		return refuse(r, SD_EAUTH, reason, cap, "join token rejected");
	if (!field_ok(msg->name, COORD_NAME_MAX, true))
		return refuse(r, SD_EINVAL, reason, cap,
			      "node name missing or longer than %u bytes", COORD_NAME_MAX - 1);
	if (!field_ok(msg->region, COORD_NAME_MAX, false) ||
	    !field_ok(msg->zone, COORD_NAME_MAX, false) ||
	    !field_ok(msg->platform, COORD_NAME_MAX, false) ||
	    !field_ok(msg->version, COORD_NAME_MAX, false) ||
	    !field_ok(msg->data_host, COORD_NAME_MAX, false))
		return refuse(r, SD_EINVAL, reason, cap,
			      "region, zone, platform, version or data_host longer than %u bytes",
			      COORD_NAME_MAX - 1);
	if (msg->n_labels > COORD_LABELS_MAX)
		return refuse(r, SD_EINVAL, reason, cap, "more than %u labels", COORD_LABELS_MAX);
	for (size_t i = 0; i < msg->n_labels; i++) {
		const Sd__Control__Label *l = msg->labels[i];
		if (!field_ok(l->key, COORD_NAME_MAX, true) ||
		    !field_ok(l->value, COORD_LABEL_VALUE_MAX, false))
			return refuse(r, SD_EINVAL, reason, cap,
				      "label %zu has an empty or oversized key or value", i);
	}
	if (msg->data_port > 65535)
		return refuse(r, SD_EINVAL, reason, cap, "data_port %u out of range",
			      msg->data_port);
	return 0;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static int node_fill(struct coord_node *n, const Sd__Control__Register *msg)
{
	n->name = dup_or_empty(msg->name);
	n->region = dup_or_empty(msg->region);
	n->zone = dup_or_empty(msg->zone);
	n->platform = dup_or_empty(msg->platform);
	n->version = dup_or_empty(msg->version);
	n->data_host = dup_or_empty(msg->data_host);
	if (!n->name || !n->region || !n->zone || !n->platform || !n->version || !n->data_host)
		return SD_ENOMEM;
	if (msg->n_labels) {
		n->labels = calloc(msg->n_labels, sizeof(*n->labels));
		if (!n->labels)
			return SD_ENOMEM;
		for (size_t i = 0; i < msg->n_labels; i++) {
			n->labels[i].key = dup_or_empty(msg->labels[i]->key);
			n->labels[i].value = dup_or_empty(msg->labels[i]->value);
			n->n_labels = i + 1;
			if (!n->labels[i].key || !n->labels[i].value)
				return SD_ENOMEM;
		}
	}
	n->data_port = msg->data_port;
	n->slots = msg->slots;
	n->memory_bytes = msg->memory_bytes;
	return 0;
}

static int registry_append(struct coord_registry *r, struct coord_node *n)
{
	if (r->n_nodes == r->cap_nodes) {
		size_t cap = r->cap_nodes ? r->cap_nodes * 2 : 16;
		struct coord_node **nodes = realloc(r->nodes, cap * sizeof(*nodes));
		if (!nodes)
			return SD_ENOMEM;
		r->nodes = nodes;
		r->cap_nodes = cap;
	}
	r->nodes[r->n_nodes++] = n;
	return 0;
}

int coord_registry_register(struct coord_registry *r, const Sd__Control__Register *msg,
			    uint64_t now_us, void *conn, struct coord_node **out, char *reason,
			    size_t reason_cap)
{
	if (reason && reason_cap)
		reason[0] = '\0';
	int rc = check_register(r, msg, reason, reason_cap);
	if (rc)
		return rc;
	struct coord_node *n = coord_registry_find_name(r, msg->name);
	bool fresh = n == NULL;
	if (n && n->state == COORD_NODE_READY)
		return refuse(r, SD_EEXIST, reason, reason_cap,
			      "a node named \"%s\" is already registered and alive", msg->name);
	if (fresh && r->n_nodes >= COORD_NODES_MAX)
		return refuse(r, SD_ELIMIT, reason, reason_cap, "registry full (%u nodes)",
			      COORD_NODES_MAX);
	if (fresh) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return SD_ENOMEM;
		n->id = r->next_id++;
	} else {
		node_free_fields(n);
	}
	rc = node_fill(n, msg);
	if (rc == 0 && fresh)
		rc = registry_append(r, n);
	if (rc) {
		node_free_fields(n);
		if (fresh)
			free(n);
		else
			n->state = COORD_NODE_GONE; /* keep the record, it has an id */
		return rc;
	}
	n->state = COORD_NODE_READY;
	n->state_at_us = now_us;
	n->registered_at_us = now_us;
	n->last_heartbeat_us = now_us;
	n->rtt_us = -1;
	n->conn = conn;
	r->registrations_total++;
	*out = n;
	return 0;
}

void coord_registry_heartbeat(struct coord_registry *r, struct coord_node *n,
			      const Sd__Control__Heartbeat *hb, uint64_t now_us)
{
	assert(n->state != COORD_NODE_GONE);
	r->heartbeats_total++;
	n->heartbeats++;
	n->last_seq = hb->seq;
	n->last_heartbeat_us = now_us;
	if (hb->rtt_us > 0 && hb->rtt_us < (uint64_t)INT64_MAX)
		n->rtt_us = (int64_t)hb->rtt_us;
	if (hb->metrics) {
		const Sd__Control__NodeMetrics *m = hb->metrics;
		n->metrics.mem_used_bytes = m->mem_used_bytes;
		n->metrics.mem_limit_bytes = m->mem_limit_bytes;
		n->metrics.tasks_running = m->tasks_running;
		n->metrics.cpu_busy_us = m->cpu_busy_us;
		n->metrics.uptime_us = m->uptime_us;
		n->metrics.net_bytes_in = m->net_bytes_in;
		n->metrics.net_bytes_out = m->net_bytes_out;
	}
	if (n->state == COORD_NODE_LOST) {
		n->state = COORD_NODE_READY;
		n->state_at_us = now_us;
	}
}

void coord_registry_disconnect(struct coord_registry *r, struct coord_node *n, uint64_t now_us)
{
	(void)r;
	n->conn = NULL;
	if (n->state != COORD_NODE_GONE) {
		n->state = COORD_NODE_GONE;
		n->state_at_us = now_us;
	}
}

size_t coord_registry_sweep(struct coord_registry *r, uint64_t now_us,
			    void (*on_lost)(void *arg, struct coord_node *n), void *arg)
{
	size_t lost = 0;
	for (size_t i = 0; i < r->n_nodes; i++) {
		struct coord_node *n = r->nodes[i];
		if (n->state != COORD_NODE_READY)
			continue;
		if (now_us < n->last_heartbeat_us ||
		    now_us - n->last_heartbeat_us <= r->heartbeat_timeout_us)
			continue;
		n->state = COORD_NODE_LOST;
		n->state_at_us = now_us;
		r->lost_total++;
		lost++;
		if (on_lost)
			on_lost(arg, n);
	}
	return lost;
}

struct coord_node *coord_registry_find_id(const struct coord_registry *r, uint64_t id)
{
	for (size_t i = 0; i < r->n_nodes; i++)
		if (r->nodes[i]->id == id)
			return r->nodes[i];
	return NULL;
}

struct coord_node *coord_registry_find_name(const struct coord_registry *r, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < r->n_nodes; i++)
		if (strcmp(r->nodes[i]->name, name) == 0)
			return r->nodes[i];
	return NULL;
}

size_t coord_registry_count(const struct coord_registry *r, enum coord_node_state state)
{
	size_t k = 0;
	for (size_t i = 0; i < r->n_nodes; i++)
		k += r->nodes[i]->state == state;
	return k;
}

const char *coord_node_label(const struct coord_node *n, const char *key)
{
	if (strcmp(key, "region") == 0)
		return n->region;
	if (strcmp(key, "zone") == 0)
		return n->zone;
	for (size_t i = 0; i < n->n_labels; i++)
		if (strcmp(n->labels[i].key, key) == 0)
			return n->labels[i].value;
	return NULL;
}
