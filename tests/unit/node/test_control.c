/*
 * tests/unit/node/test_control.c — the control client against a tiny fake
 * coordinator (a thread with blocking sockets): register, heartbeat with
 * metrics, deploy/ack/status, cancel, a failed task's reason, reconnect after
 * the coordinator drops the connection, and refusal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "node/core/node.h"
#include "node/core/sched.h"
#include "node/plat/plat.h"
#include "node_testlib.h"
#include "proto/wire.h"

struct fake {
	int lfd;
	uint16_t port;
	atomic_int done;
	bool refuse;
	/* what the fake saw, checked by the main thread */
	char reg_name[64], reg_platform[16], reg_label[64];
	uint32_t reg_slots, reg_data_port;
	uint64_t hb_seq;
	uint64_t hb_uptime;
	int ack_err;
	int st_finished, st_canceled, st_failed;
	int failed_code;
	char canceled_msg[256], failed_msg[256];
	int registrations;
	char error[256]; /* first thing that went wrong in the thread */
};

static int fake_listen(struct fake *f)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(f->lfd, 4))
		return -1;
	getsockname(f->lfd, (struct sockaddr *)&sa, &len);
	f->port = ntohs(sa.sin_port);
	return 0;
}

/* Blocking: the next frame (message owned by the caller). */
static int read_frame(int fd, struct wire_reader *rd, struct wire_frame *out)
{
	for (;;) {
		/* wire_reader_next wants a buffer: only ask once bytes arrived */
		int rc = rd->end > rd->start ? wire_reader_next(rd, NULL, out) : SD_EAGAIN;
		uint8_t *p;
		size_t n;
		ssize_t k;

		if (rc != SD_EAGAIN)
			return rc;
		wire_reader_space(rd, &p, &n);
		k = recv(fd, p, n, 0);
		if (k <= 0)
			return SD_ECLOSED;
		wire_reader_commit(rd, (size_t)k);
	}
}

static void send_msg(int fd, uint16_t type, const ProtobufCMessage *m)
{
	uint8_t buf[8192];
	long n = wire_encode(type, m, NULL, 0, buf, sizeof(buf));

	if (n > 0)
		send(fd, buf, (size_t)n, MSG_NOSIGNAL);
}

static void send_deploy(int fd, const char *job, uint32_t task, const char *plan, bool with_input,
			uint16_t self_port)
{
	Sd__Control__Deploy d = SD__CONTROL__DEPLOY__INIT;
	Sd__Control__Channel ch = SD__CONTROL__CHANNEL__INIT, *chp = &ch;

	d.job_id = (char *)job;
	d.task_id = task;
	d.plan.data = (uint8_t *)plan;
	d.plan.len = strlen(plan);
	if (with_input) { /* from the node itself: nobody ever produces */
		ch.channel_id = 99;
		ch.port = 1;
		ch.peer_node = "ctl-node";
		ch.peer_host = "127.0.0.1";
		ch.peer_port = self_port;
		ch.credits = 2;
		d.n_inputs = 1;
		d.inputs = &chp;
	}
	send_msg(fd, WIRE_CTL_DEPLOY, &d.base);
}

/* Reads frames until a TaskStatus for task reaches state (records what it saw). */
static int await_status(struct fake *f, int fd, struct wire_reader *rd, uint32_t task, int state)
{
	for (;;) {
		struct wire_frame fr;
		int rc = read_frame(fd, rd, &fr), hit = 0;

		if (rc)
			return rc;
		if (fr.hdr.type == WIRE_CTL_DEPLOY_ACK) {
			Sd__Control__DeployAck *a = (Sd__Control__DeployAck *)fr.msg;

			if (a->error_code)
				f->ack_err = a->error_code;
		} else if (fr.hdr.type == WIRE_CTL_HEARTBEAT) {
			Sd__Control__Heartbeat *h = (Sd__Control__Heartbeat *)fr.msg;

			f->hb_seq = h->seq;
			f->hb_uptime = h->metrics ? h->metrics->uptime_us : 0;
		} else if (fr.hdr.type == WIRE_CTL_TASK_STATUS) {
			Sd__Control__TaskStatus *s = (Sd__Control__TaskStatus *)fr.msg;

			if (s->task_id == task && (int)s->state == state) {
				hit = 1;
				if (state == SD__CONTROL__TASK_STATE__TASK_FINISHED)
					f->st_finished++;
				if (state == SD__CONTROL__TASK_STATE__TASK_CANCELED) {
					f->st_canceled++;
					snprintf(f->canceled_msg, sizeof(f->canceled_msg), "%s",
						 s->error_message);
				}
				if (state == SD__CONTROL__TASK_STATE__TASK_FAILED) {
					f->st_failed++;
					f->failed_code = s->error_code;
					snprintf(f->failed_msg, sizeof(f->failed_msg), "%s",
						 s->error_message);
				}
			}
		}
		wire_frame_release(&fr, NULL);
		if (hit)
			return 0;
	}
}

static int accept_register(struct fake *f, struct wire_reader *rd, int *fd_out)
{
	struct wire_frame fr;
	Sd__Control__RegisterAck ack = SD__CONTROL__REGISTER_ACK__INIT;
	int fd = accept(f->lfd, NULL, NULL);

	int rc;

	wire_reader_init(rd, WIRE_CONTROL_FRAME_MAX);
	rc = fd < 0 ? -1 : read_frame(fd, rd, &fr);
	if (rc || fr.hdr.type != WIRE_CTL_REGISTER) {
		snprintf(f->error, sizeof(f->error), "register: %s type %u errno %d fd %d",
			 sd_errname(rc), rc ? 0 : fr.hdr.type, errno, fd);
		return -1;
	}
	{
		Sd__Control__Register *r = (Sd__Control__Register *)fr.msg;

		snprintf(f->reg_name, sizeof(f->reg_name), "%s", r->name);
		snprintf(f->reg_platform, sizeof(f->reg_platform), "%s", r->platform);
		if (r->n_labels)
			snprintf(f->reg_label, sizeof(f->reg_label), "%s=%s", r->labels[0]->key,
				 r->labels[0]->value);
		f->reg_slots = r->slots;
		f->reg_data_port = r->data_port;
	}
	wire_frame_release(&fr, NULL);
	f->registrations++;
	ack.accepted = !f->refuse;
	ack.reason = f->refuse ? "token rejected" : "";
	ack.node_id = 7;
	ack.heartbeat_interval_ms = 20;
	send_msg(fd, WIRE_CTL_REGISTER_ACK, &ack.base);
	*fd_out = fd;
	return 0;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct wire_reader rd;
	Sd__Control__Cancel cancel = SD__CONTROL__CANCEL__INIT;
	int fd;

	if (accept_register(f, &rd, &fd))
		goto out;
	if (f->refuse)
		goto out_close;
	send_deploy(fd, "job-1", 1, "S", false, 0);
	if (await_status(f, fd, &rd, 1, SD__CONTROL__TASK_STATE__TASK_FINISHED))
		snprintf(f->error, sizeof(f->error), "no FINISHED");
	send_deploy(fd, "job-2", 2, "S", true, (uint16_t)f->reg_data_port);
	if (await_status(f, fd, &rd, 2, SD__CONTROL__TASK_STATE__TASK_RUNNING))
		snprintf(f->error, sizeof(f->error), "no RUNNING");
	cancel.job_id = "job-2";
	cancel.reason = "user asked";
	send_msg(fd, WIRE_CTL_CANCEL, &cancel.base);
	if (await_status(f, fd, &rd, 2, SD__CONTROL__TASK_STATE__TASK_CANCELED))
		snprintf(f->error, sizeof(f->error), "no CANCELED");
	send_deploy(fd, "job-3", 3, "?", false, 0);
	if (await_status(f, fd, &rd, 3, SD__CONTROL__TASK_STATE__TASK_FAILED))
		snprintf(f->error, sizeof(f->error), "no FAILED");
	/* Drop the node: it must come back and register again. */
	close(fd);
	wire_reader_fini(&rd);
	if (accept_register(f, &rd, &fd))
		snprintf(f->error, sizeof(f->error), "no re-register");
	/* After the reconnect a heartbeat arrives with metrics. */
	f->hb_seq = 0;
	while (!f->hb_seq) {
		struct wire_frame fr;

		if (read_frame(fd, &rd, &fr))
			break;
		if (fr.hdr.type == WIRE_CTL_HEARTBEAT) {
			Sd__Control__Heartbeat *h = (Sd__Control__Heartbeat *)fr.msg;

			f->hb_seq = h->seq;
			f->hb_uptime = h->metrics ? h->metrics->uptime_us : 0;
		}
		wire_frame_release(&fr, NULL);
	}
out_close:
	close(fd);
	wire_reader_fini(&rd);
out:
	atomic_store(&f->done, 1);
	return NULL;
}

/* Another thread cannot wake the loop: tick so the predicate is re-checked. */
static struct sched_timer tick;

static void on_tick(void *arg)
{
	(void)arg;
	sched_timer_start(&tick, plat_now_us() + 10000, on_tick, NULL);
}

static bool fake_done(void *arg)
{
	struct fake *f = arg;

	return atomic_load(&f->done) != 0;
}

static struct node *start_node(struct fake *f)
{
	struct node_config c = {.name = "ctl-node",
				.region = "eu",
				.zone = "eu-a",
				.slots = 4,
				.memory_bytes = 1 << 20,
				.listen_host = "127.0.0.1",
				.coordinator_host = "127.0.0.1",
				.coordinator_port = f->port,
				.task_ops = &test_task_ops,
				.fs_ops = &test_fs_ops,
				.token = "tok"};
	struct node *n;

	c.labels[0].key = "gpu";
	c.labels[0].value = "no";
	c.n_labels = 1;
	assert_int_equal(node_open(&c, &n), 0);
	return n;
}

static void test_register_deploy_cancel_reconnect(void **state)
{
	struct fake f = {0};
	pthread_t th;
	struct node *n;

	(void)state;
	assert_int_equal(plat_init(), 0);
	sched_init();
	assert_int_equal(fake_listen(&f), 0);
	pthread_create(&th, NULL, fake_main, &f);
	n = start_node(&f);
	on_tick(NULL);
	assert_int_equal(sched_run(fake_done, &f), 0);
	sched_timer_stop(&tick);
	pthread_join(th, NULL);
	assert_string_equal(f.error, "");
	assert_string_equal(f.reg_name, "ctl-node");
	assert_string_equal(f.reg_platform, "hosted");
	assert_string_equal(f.reg_label, "gpu=no");
	assert_int_equal(f.reg_slots, 4);
	assert_int_equal(f.reg_data_port, node_data_port(n));
	assert_int_equal(f.ack_err, 0);
	assert_int_equal(f.st_finished, 1);
	assert_int_equal(f.st_canceled, 1);
	assert_non_null(strstr(f.canceled_msg, "user asked"));
	assert_int_equal(f.st_failed, 1);
	assert_int_equal(f.failed_code, SD_EPROTO);
	assert_non_null(strstr(f.failed_msg, "plan"));
	assert_int_equal(f.registrations, 2);
	assert_true(f.hb_seq >= 1);
	assert_true(f.hb_uptime > 0);
	node_close(n);
	close(f.lfd);
}

static void test_refused(void **state)
{
	struct fake f = {.refuse = true};
	pthread_t th;
	struct node *n;
	const char *why;

	(void)state;
	assert_int_equal(plat_init(), 0);
	sched_init();
	assert_int_equal(fake_listen(&f), 0);
	pthread_create(&th, NULL, fake_main, &f);
	n = start_node(&f);
	on_tick(NULL);
	while (!node_refused(n, NULL))
		assert_int_equal(sched_run_once(true), 0);
	pthread_join(th, NULL);
	sched_timer_stop(&tick);
	assert_int_equal(node_refused(n, &why), SD_EPERM);
	assert_string_equal(why, "token rejected");
	assert_false(node_registered(n));
	node_close(n);
	close(f.lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_deploy_cancel_reconnect),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
