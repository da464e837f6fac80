/*
 * node/core/sched.c — run queue, wait queues, sleepers, timers, the loop.
 *
 * Costs: the run queue and wait queues are O(1); finding the next deadline
 * scans the sleepers and timers, O(tasks + timers) per idle round — both
 * are bounded by the node's slots and connections, i.e. tens.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "node/core/sched.h"
#include "node/plat/plat.h"

enum task_state { TASK_RUNNABLE, TASK_BLOCKED, TASK_DONE };

struct sched_task {
	struct plat_ctx ctx;
	void *stack;
	size_t stack_size;
	void (*fn)(void *);
	void *arg;
	char name[32];
	enum task_state state;
	struct sched_task *run_next;  /* run queue */
	struct sched_task *wait_next; /* wait queue */
	struct sched_waitq *waitq;    /* where it waits, or NULL */
	struct sched_task *all_next;  /* every live task */
	uint64_t wake_at;             /* deadline when blocked; UINT64_MAX none */
	bool timed_out;
};

static struct {
	struct plat_ctx loop_ctx;
	struct sched_task *current;
	struct sched_task *run_head, *run_tail;
	struct sched_task *all;
	struct sched_task *dead; /* finished: freed on the loop */
	struct sched_timer *timers;
	uint64_t slice_start;
	bool stop;
	bool initialised;
	struct sched_stats stats;
} S;

void sched_init(void)
{
	memset(&S, 0, sizeof(S));
	S.initialised = true;
}

static void run_push(struct sched_task *t)
{
	assert(t->state == TASK_RUNNABLE);
	t->run_next = NULL;
	if (S.run_tail)
		S.run_tail->run_next = t;
	else
		S.run_head = t;
	S.run_tail = t;
}

static struct sched_task *run_pop(void)
{
	struct sched_task *t = S.run_head;

	if (t) {
		S.run_head = t->run_next;
		if (!S.run_head)
			S.run_tail = NULL;
	}
	return t;
}

static void task_entry(void *arg)
{
	struct sched_task *t = arg;

	t->fn(t->arg);
	t->state = TASK_DONE;
	plat_ctx_switch(&t->ctx, &S.loop_ctx);
	assert(!"a finished task was resumed");
}

int sched_spawn(const char *name, size_t stack_size, void (*fn)(void *arg), void *arg,
		struct sched_task **out)
{
	struct sched_task *t;

	assert(S.initialised);
	if (!fn)
		return SD_EINVAL;
	if (!stack_size)
		stack_size = SCHED_STACK_DEFAULT;
	t = plat_calloc(1, sizeof(*t));
	if (!t)
		return SD_ENOMEM;
	t->stack = plat_stack_alloc(stack_size);
	if (!t->stack) {
		plat_free(t);
		return SD_ENOMEM;
	}
	t->stack_size = stack_size;
	t->fn = fn;
	t->arg = arg;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "task");
	t->wake_at = UINT64_MAX;
	plat_ctx_init(&t->ctx, t->stack, stack_size, task_entry, t);
	t->state = TASK_RUNNABLE;
	t->all_next = S.all;
	S.all = t;
	S.stats.tasks_alive++;
	run_push(t);
	if (out)
		*out = t;
	return 0;
}

struct sched_task *sched_current(void)
{
	return S.current;
}

const char *sched_task_name(const struct sched_task *t)
{
	return t ? t->name : "loop";
}

/* Task context: back to the loop. */
static void switch_to_loop(void)
{
	struct sched_task *t = S.current;

	assert(t && "blocking call outside a task");
	plat_ctx_switch(&t->ctx, &S.loop_ctx);
	/* resumed by the loop, which set S.current = t */
	assert(S.current == t);
}

void sched_yield_task(void)
{
	struct sched_task *t = S.current;

	assert(t && "sched_yield_task outside a task");
	run_push(t);
	switch_to_loop();
}

void sched_maybe_yield(void)
{
	assert(S.current && "sched_maybe_yield outside a task");
	if (plat_now_us() - S.slice_start >= SCHED_SLICE_US)
		sched_yield_task();
}

static void waitq_remove(struct sched_waitq *q, struct sched_task *t)
{
	struct sched_task **pp, *prev = NULL;

	for (pp = &q->head; *pp; prev = *pp, pp = &(*pp)->wait_next) {
		if (*pp == t) {
			*pp = t->wait_next;
			if (q->tail == t)
				q->tail = prev;
			t->wait_next = NULL;
			return;
		}
	}
	assert(!"task not on its wait queue");
}

/* Makes a blocked task runnable; reason: woken or timed out. */
static void unblock(struct sched_task *t, bool timed_out)
{
	assert(t->state == TASK_BLOCKED);
	if (t->waitq) {
		waitq_remove(t->waitq, t);
		t->waitq = NULL;
	}
	t->timed_out = timed_out;
	t->wake_at = UINT64_MAX;
	t->state = TASK_RUNNABLE;
	run_push(t);
}

int sched_wait(struct sched_waitq *q, uint64_t deadline_us)
{
	struct sched_task *t = S.current;

	assert(t && "sched_wait outside a task");
	t->state = TASK_BLOCKED;
	t->wake_at = deadline_us;
	t->waitq = q;
	if (q) {
		t->wait_next = NULL;
		if (q->tail)
			q->tail->wait_next = t;
		else
			q->head = t;
		q->tail = t;
	}
	switch_to_loop();
	return t->timed_out ? SD_ETIMEDOUT : 0;
}

void sched_sleep_until(uint64_t deadline_us)
{
	while (plat_now_us() < deadline_us)
		sched_wait(NULL, deadline_us);
}

void sched_wake_all(struct sched_waitq *q)
{
	q->wakes++;
	while (q->head)
		unblock(q->head, false);
}

void sched_wake_task(struct sched_task *t)
{
	if (t && t->state == TASK_BLOCKED)
		unblock(t, false);
}

void sched_timer_start(struct sched_timer *t, uint64_t deadline_us, void (*fn)(void *), void *arg)
{
	if (t->armed)
		sched_timer_stop(t);
	t->deadline_us = deadline_us;
	t->fn = fn;
	t->arg = arg;
	t->armed = true;
	t->next = S.timers;
	S.timers = t;
}

void sched_timer_stop(struct sched_timer *t)
{
	struct sched_timer **pp;

	if (!t->armed)
		return;
	for (pp = &S.timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->armed = false;
}

/* Loop: runs each timer whose deadline passed; returns the next deadline. */
static uint64_t fire_timers(uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct sched_timer *t;
	bool fired;

	do {
		fired = false;
		for (t = S.timers; t; t = t->next) {
			if (t->deadline_us <= now) {
				sched_timer_stop(t);
				t->fn(t->arg); /* may start or stop any timer: rescan */
				fired = true;
				break;
			}
		}
	} while (fired);
	for (t = S.timers; t; t = t->next)
		if (t->deadline_us < next)
			next = t->deadline_us;
	return next;
}

/* Loop: wakes sleepers whose deadline passed; returns the next deadline. */
static uint64_t wake_sleepers(uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct sched_task *t;

	for (t = S.all; t; t = t->all_next) {
		if (t->state != TASK_BLOCKED || t->wake_at == UINT64_MAX)
			continue;
		if (t->wake_at <= now)
			unblock(t, true);
		else if (t->wake_at < next)
			next = t->wake_at;
	}
	return next;
}

static void reap(void)
{
	while (S.dead) {
		struct sched_task *t = S.dead, **pp;

		S.dead = t->run_next;
		for (pp = &S.all; *pp != t; pp = &(*pp)->all_next)
			;
		*pp = t->all_next;
		plat_stack_free(t->stack, t->stack_size);
		plat_free(t);
		S.stats.tasks_alive--;
	}
}

/* Loop: resumes t until it blocks, yields or finishes. */
static void resume(struct sched_task *t)
{
	assert(!S.current && "tasks do not resume tasks");
	S.current = t;
	S.slice_start = plat_now_us();
	S.stats.switches++;
	plat_ctx_switch(&S.loop_ctx, &t->ctx);
	S.current = NULL;
	S.stats.busy_us += plat_now_us() - S.slice_start;
	if (t->state == TASK_DONE) {
		t->run_next = S.dead;
		S.dead = t;
	}
}

static int run_round(bool may_sleep, bool (*done)(void *), void *arg)
{
	struct sched_task *last = S.run_tail, *t;
	uint64_t now, next, next_sleeper, deadline;
	int rc;

	assert(!S.current && "sched_run inside a task");
	/* Only the tasks runnable at the start of the round: yielders go next round. */
	while (last && (t = run_pop())) {
		resume(t);
		if (t == last)
			break;
	}
	reap();
	now = plat_now_us();
	next = fire_timers(now);
	next_sleeper = wake_sleepers(now);
	if (next_sleeper < next)
		next = next_sleeper;
	deadline = (S.run_head || S.stop || !may_sleep || (done && done(arg))) ? 0 : next;
	if (deadline)
		S.stats.sleeps++;
	rc = plat_wait(deadline);
	return rc < 0 ? rc : 0;
}

int sched_run_once(bool may_sleep)
{
	return run_round(may_sleep, NULL, NULL);
}

int sched_run(bool (*done)(void *arg), void *arg)
{
	S.stop = false;
	for (;;) {
		int rc;

		if (done ? done(arg) : S.stop)
			break;
		if (S.stop)
			break;
		rc = run_round(true, done, arg);
		if (rc < 0)
			return rc;
	}
	S.stop = false;
	return 0;
}

void sched_stop(void)
{
	S.stop = true;
}

void sched_get_stats(struct sched_stats *out)
{
	*out = S.stats;
}
