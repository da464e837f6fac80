/*
 * tests/unit/node/node_testlib.h — a test-only operator chain (node_task_ops)
 * and an in-memory file seam (node_fs_ops) for node tests.
 *
 * Plan bytes: "F" forward, "H" hash (by record bytes, over plan[1]-'0'
 * partitions), "B" broadcast, "S" sink; anything else is rejected.
 * Batches use dataflow's header (rows at offset 4) and a body of records,
 * each u32 length + bytes.
 */
#ifndef NODE_TESTLIB_H
#define NODE_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/core/node.h"

extern const struct node_task_ops test_task_ops;
extern const struct node_fs_ops test_fs_ops;

uint32_t test_hash(const char *s, size_t n);

/* In-memory files: put a file; read what sinks committed. */
void test_fs_reset(void);
void test_fs_put(const char *path, const char *data, size_t len);
/* Committed content of path, or NULL. */
const char *test_fs_get(const char *path, size_t *len);
unsigned test_fs_open_sinks(void);
/* Every 256th sink write sleeps this long (a slow sink); 0 = none. */
void test_fs_set_write_delay_us(uint64_t us);

/* Streaming sinks append straight to the committed table; what they did: */
struct append_stats {
	unsigned appends, not_whole_lines; /* appends not ending with '\n' */
	size_t max_len;
};
const struct append_stats *test_fs_append_stats(void);

#endif
