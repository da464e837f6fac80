/*
 * bench/node/bench_exchange.c — records/s between two hosted nodes.
 *
 *   bench_node_exchange [RECORDS] [ROWS_PER_BATCH] [CREDITS]
 *
 * Two processes (fork), each one node loop with its own exchange mux, one
 * TCP connection between them on loopback. The producer task runs a
 * stateless map/filter in C over generated (key, value) rows — value =
 * key * 3, keep keys with key % 8 != 0 — packs survivors in dataflow's batch
 * layout (16-byte header, two 8-byte ints per row) and sends them on a
 * credit-controlled channel; the consumer task checks and counts every row.
 * Prints input and delivered records/s, MB/s, and back-pressure time.
 * Goal (issue 4): >= 5 M records/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "node/core/chan.h"
#include "node/core/sched.h"
#include "node/plat/plat.h"

#define ROW_BYTES 16

static uint64_t n_records = 20000000;
static uint32_t rows_per_batch = 1024;
static uint32_t credits = 16;

struct result {
	uint64_t rows, batches, bytes, checksum;
	uint64_t us;
	int rc;
};

struct prod {
	struct chan_mux *mux;
	uint16_t peer_port;
	struct result r;
	bool done;
};

static void put_header(uint8_t *b, uint32_t rows, uint32_t body)
{
	memset(b, 0, 16);
	b[0] = 'S';
	b[1] = 'D';
	b[2] = 'B';
	b[3] = 1;
	memcpy(b + 4, &rows, 4);
	b[8] = 2; /* fields */
	memcpy(b + 12, &body, 4);
}

static void producer(void *arg)
{
	struct prod *p = arg;
	struct chan_out *out;
	uint8_t *batch = malloc(16 + (size_t)rows_per_batch * ROW_BYTES);
	uint64_t key = 0, t0;
	struct chan_counters cc;

	p->r.rc = chan_out_open(p->mux, 1, "nb", "127.0.0.1", p->peer_port, NULL, &out);
	t0 = plat_now_us();
	while (p->r.rc == 0 && key < n_records) {
		uint32_t rows = 0;
		uint8_t *w = batch + 16;

		for (uint32_t i = 0; i < rows_per_batch && key < n_records; i++, key++) {
			uint64_t v = key * 3; /* map */

			if (key % 8 == 0) /* filter */
				continue;
			memcpy(w, &key, 8);
			memcpy(w + 8, &v, 8);
			w += ROW_BYTES;
			rows++;
		}
		put_header(batch, rows, rows * ROW_BYTES);
		p->r.rc = chan_out_send(out, batch, 16 + (size_t)rows * ROW_BYTES, rows, 0);
		p->r.rows += rows;
		p->r.batches++;
		sched_maybe_yield();
	}
	if (p->r.rc == 0)
		p->r.rc = chan_out_finish(out);
	p->r.us = plat_now_us() - t0;
	chan_out_counters(out, &cc);
	fprintf(stderr, "producer: back-pressured %.1f ms of %.1f ms\n", cc.backpressure_us / 1e3,
		p->r.us / 1e3);
	chan_out_close(out);
	free(batch);
	p->done = true;
}

struct cons {
	struct chan_mux *mux;
	uint16_t peer_port;
	struct result r;
	bool done;
	struct sched_waitq notify;
};

static void consumer(void *arg)
{
	struct cons *c = arg;
	struct chan_in *in;
	struct chan_batch *b;
	uint64_t t0 = 0;

	c->r.rc =
		chan_in_open(c->mux, 1, "na", "127.0.0.1", c->peer_port, credits, &c->notify, &in);
	while (c->r.rc == 0) {
		int rc = chan_in_pop(in, &b);

		if (rc == 0) {
			sched_wait(&c->notify, UINT64_MAX);
			continue;
		}
		if (rc < 0) {
			c->r.rc = rc == SD_EEOF ? 0 : rc;
			break;
		}
		if (!t0)
			t0 = plat_now_us();
		for (uint32_t i = 0; i < b->records; i++) {
			uint64_t k, v;

			memcpy(&k, b->data + 16 + (size_t)i * ROW_BYTES, 8);
			memcpy(&v, b->data + 16 + (size_t)i * ROW_BYTES + 8, 8);
			c->r.checksum += k ^ v;
		}
		c->r.rows += b->records;
		c->r.bytes += b->len;
		c->r.batches++;
		chan_in_release(in, b);
		sched_maybe_yield();
	}
	c->r.us = plat_now_us() - t0;
	chan_in_close(in);
	c->done = true;
}

static bool prod_done(void *a)
{
	return ((struct prod *)a)->done;
}

static bool cons_done(void *a)
{
	return ((struct cons *)a)->done;
}

int main(int argc, char **argv)
{
	int port_pipe[2], back_pipe[2], res_pipe[2]; /* child->parent, parent->child */
	struct chan_mux *mux;
	uint16_t port;
	pid_t pid;
	uint64_t expect_rows = 0, expect_sum = 0;

	if (argc > 1)
		n_records = strtoull(argv[1], NULL, 10);
	if (argc > 2)
		rows_per_batch = (uint32_t)strtoul(argv[2], NULL, 10);
	if (argc > 3)
		credits = (uint32_t)strtoul(argv[3], NULL, 10);
	for (uint64_t k = 0; k < n_records; k++)
		if (k % 8) {
			expect_rows++;
			expect_sum += k ^ (k * 3);
		}
	if (pipe(port_pipe) || pipe(back_pipe) || pipe(res_pipe))
		return 1;
	pid = fork();
	if (pid == 0) { /* consumer node */
		struct cons c = {0};

		plat_init();
		sched_init();
		if (chan_mux_open("nb", "127.0.0.1", 0, "", &mux))
			_exit(1);
		port = chan_mux_port(mux);
		if (write(port_pipe[1], &port, sizeof(port)) != sizeof(port))
			_exit(1);
		if (read(back_pipe[0], &c.peer_port, sizeof(port)) != sizeof(port))
			_exit(1);
		c.mux = mux;
		sched_spawn("consumer", 0, consumer, &c, NULL);
		sched_run(cons_done, &c);
		if (write(res_pipe[1], &c.r, sizeof(c.r)) != sizeof(c.r))
			_exit(1);
		_exit(0);
	}
	{ /* producer node */
		struct prod p = {0};
		struct result cr;
		uint16_t myport;

		if (read(port_pipe[0], &p.peer_port, sizeof(port)) != sizeof(port))
			return 1;
		plat_init();
		sched_init();
		if (chan_mux_open("na", "127.0.0.1", 0, "", &mux))
			return 1;
		myport = chan_mux_port(mux);
		if (write(back_pipe[1], &myport, sizeof(myport)) != sizeof(myport))
			return 1;
		p.mux = mux;
		sched_spawn("producer", 0, producer, &p, NULL);
		sched_run(prod_done, &p);
		if (read(res_pipe[0], &cr, sizeof(cr)) != sizeof(cr))
			return 1;
		waitpid(pid, NULL, 0);
		printf("exchange: %llu input records (%u rows/batch, %u credits), %llu delivered\n",
		       (unsigned long long)n_records, rows_per_batch, credits,
		       (unsigned long long)cr.rows);
		printf("  producer rc %d consumer rc %d, rows %s, checksum %s\n", p.r.rc, cr.rc,
		       cr.rows == expect_rows ? "ok" : "MISMATCH",
		       cr.checksum == expect_sum ? "ok" : "MISMATCH");
		printf("  input records/s:     %.2f M\n", n_records / (double)p.r.us);
		printf("  delivered records/s: %.2f M  (%.0f MB/s of batches)\n",
		       cr.rows / (double)cr.us, cr.bytes / (double)cr.us);
		return cr.rows == expect_rows && cr.checksum == expect_sum ? 0 : 1;
	}
}
