/*
 * node/core/sched.h — the node's cooperative scheduler.
 *
 * One loop per node (per process): tasks are coroutines with small stacks
 * that run until they block (sched_wait, sched_sleep_until), yield, or
 * finish. Loop-context code (socket callbacks, timers) wakes them through
 * wait queues. When nothing is runnable the loop sleeps in plat_wait() until
 * the next timer or socket event: it never spins.
 *
 *   sched_init();
 *   sched_spawn("map-3", 0, task_main, arg, NULL);
 *   sched_run(NULL, NULL);                 // until sched_stop() or no work
 *
 * Context rules (asserted): sched_yield_task/sched_wait/sched_sleep_until/
 * sched_maybe_yield only in a task; sched_run/sched_run_once only on the
 * loop (never in a task); wake and timer calls anywhere.
 *
 * Fairness: a task that does long work calls sched_maybe_yield() per batch;
 * it yields when it has run SCHED_SLICE_US since it was last resumed.
 * Runnable tasks are served round-robin, and socket events are polled
 * between rounds, so I/O is never starved by busy tasks.
 */
#ifndef SD_NODE_CORE_SCHED_H
#define SD_NODE_CORE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __SANITIZE_ADDRESS__
#define SCHED_STACK_DEFAULT (256u << 10) /* bytes: ASan frames are large */
#else
#define SCHED_STACK_DEFAULT (64u << 10) /* bytes per task stack */
#endif
#define SCHED_SLICE_US 2000u /* us a task runs before sched_maybe_yield yields */

struct sched_task;

/* Tasks waiting for something; zero-initialised is an empty queue.
 * wakes counts sched_wake_all calls, waiters or not: a task that may block
 * elsewhere between checking its condition and waiting here snapshots it
 * first and waits only if it did not move (no lost wakeup). */
struct sched_waitq {
	struct sched_task *head, *tail;
	uint32_t wakes;
};

/* A loop-context callback at a deadline; zero-initialised is disarmed. */
struct sched_timer {
	uint64_t deadline_us;
	void (*fn)(void *arg);
	void *arg;
	bool armed;
	struct sched_timer *next;
};

struct sched_stats {
	uint64_t busy_us;  /* time spent running tasks and callbacks */
	uint64_t switches; /* context switches into tasks */
	uint64_t sleeps;   /* times the loop slept in plat_wait */
	uint32_t tasks_alive;
};

/* Once, after plat_init(). */
void sched_init(void);

/*
 * Starts fn(arg) as a task (stack_size 0 = SCHED_STACK_DEFAULT). The task is
 * freed by the scheduler when fn returns; out (may be NULL) borrows it until
 * then. SD_ENOMEM.
 */
int sched_spawn(const char *name, size_t stack_size, void (*fn)(void *arg), void *arg,
		struct sched_task **out);

/* The running task, or NULL on the loop. */
struct sched_task *sched_current(void);
static inline bool sched_in_task(void)
{
	return sched_current() != NULL;
}
const char *sched_task_name(const struct sched_task *t);

/* Task context: give the others a turn. */
void sched_yield_task(void);

/* Task context: yields when the current slice is used up. Cheap when not. */
void sched_maybe_yield(void);

/* Task context: sleeps until the plat_now_us() deadline. */
void sched_sleep_until(uint64_t deadline_us);

/*
 * Task context: blocks on q until woken (returns 0) or the deadline passes
 * (SD_ETIMEDOUT; UINT64_MAX = no deadline). Callers re-check their condition.
 */
int sched_wait(struct sched_waitq *q, uint64_t deadline_us);

/* Makes every task on q runnable. Any context. */
void sched_wake_all(struct sched_waitq *q);

/* Makes t runnable if it is blocked (wait or sleep). Any context. */
void sched_wake_task(struct sched_task *t);

/* Arms (or re-arms) a timer; fn runs on the loop once the deadline passes. */
void sched_timer_start(struct sched_timer *t, uint64_t deadline_us, void (*fn)(void *), void *arg);
void sched_timer_stop(struct sched_timer *t);

/*
 * Loop: runs rounds until done(arg) is true (checked each round; NULL =
 * until sched_stop() or no tasks, timers or sockets want anything — for a
 * node that is "until sched_stop()"). Returns 0 or a plat_wait error.
 */
int sched_run(bool (*done)(void *arg), void *arg);

/* One round: runnable tasks, due timers, socket events (sleeps if idle and may_sleep). */
int sched_run_once(bool may_sleep);

/* Makes sched_run return after the current round. Any context. */
void sched_stop(void);

void sched_get_stats(struct sched_stats *out);

#endif /* SD_NODE_CORE_SCHED_H */
