/*
 * test_lock.c - per-resource flocks between real processes: exclusive
 * excludes everything, shared coexists with shared, timeouts wait then
 * fail with the busy message, a killed holder's lock is released by the
 * kernel, the lock set is fixed once taken (I3) and taken in one sorted
 * order, so two processes locking {a,b} and {b,a} never deadlock.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <criterion/criterion.h>
#include "aptvault/lock.h"
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "fixtures.h"

static char *root;

static void setup(void)
{
	root = fx_tmpdir();
}

static void teardown(void)
{
	av_remove_tree(root);
	free(root);
}

TestSuite(lock, .init = setup, .fini = teardown, .timeout = 60);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct key {
	const char *kind, *name;
	av_lock_mode mode;
} key;

/* A lock set of keys (terminated by a NULL kind), acquired. */
static int take(av_lockset **out, const key *keys, double timeout)
{
	av_lockset *ls = NULL;
	int rc;

	*out = NULL;
	if ((rc = av_lockset_new(&ls, root)))
		return rc;
	for (const key *k = keys; k->kind; k++)
		if ((rc = av_lockset_add(ls, k->kind, k->name, k->mode)))
			goto fail;
	if ((rc = av_lockset_acquire(ls, timeout)))
		goto fail;
	*out = ls;
	return 0;
fail:
	av_lockset_free(ls);
	return rc;
}

/*
 * A child that takes keys, says so on a pipe (one byte: 'y' held, 'n'
 * failed), then holds them until the parent closes its end of a second
 * pipe (or forever when hold_forever, to be killed).
 */
typedef struct holder {
	pid_t pid;
	int release_fd;		/* parent's end: closing it releases */
} holder;

/* Release ends the parent holds open, which a new child must not keep. */
static int open_release_fds[16];
static int nopen_release_fds;

static void close_inherited(void)
{
	for (int i = 0; i < nopen_release_fds; i++)
		close(open_release_fds[i]);
}

static holder hold(const key *keys, int hold_forever)
{
	int ready[2], release[2];
	holder h;
	char c;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	h.pid = fork();
	cr_assert_neq(h.pid, -1);
	if (h.pid == 0) {
		av_lockset *ls = NULL;
		int rc;
		close(ready[0]);
		close(release[1]);
		close_inherited();
		rc = take(&ls, keys, -1);
		c = rc ? 'n' : 'y';
		if (write(ready[1], &c, 1) != 1)
			_exit(3);
		if (hold_forever)
			for (;;)
				pause();
		while (read(release[0], &c, 1) < 0 && errno == EINTR)
			;
		av_lockset_free(ls);
		_exit(rc ? 1 : 0);
	}
	close(ready[1]);
	close(release[0]);
	cr_assert_eq(read(ready[0], &c, 1), 1);
	cr_assert_eq(c, 'y', "the holder could not take its locks");
	close(ready[0]);
	h.release_fd = release[1];
	open_release_fds[nopen_release_fds++] = h.release_fd;
	return h;
}

static void forget(int fd)
{
	for (int i = 0; i < nopen_release_fds; i++)
		if (open_release_fds[i] == fd)
			open_release_fds[i] = open_release_fds[--nopen_release_fds];
	close(fd);
}

static void release(holder h)
{
	int st;

	forget(h.release_fd);
	cr_assert_eq(waitpid(h.pid, &st, 0), h.pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static const key X_EX[] = { { "repo", "x", AV_LOCK_EXCLUSIVE }, { NULL, NULL, 0 } };
static const key X_SH[] = { { "repo", "x", AV_LOCK_SHARED }, { NULL, NULL, 0 } };

Test(lock, exclusive_excludes_exclusive_with_the_busy_message)
{
	holder h = hold(X_EX, 0);
	av_lockset *ls = NULL;

	cr_assert_eq(take(&ls, X_EX, 0), AV_EBUSY);
	cr_assert_null(ls);
	cr_assert_str_eq(av_error_last(), "repo 'x' is busy: another command holds its lock");
	cr_assert_eq(av_error_code(), AV_EBUSY);
	release(h);
	cr_assert_eq(take(&ls, X_EX, 0), 0, "%s", av_error_last());
	av_lockset_free(ls);
}

Test(lock, exclusive_excludes_shared_and_shared_excludes_exclusive)
{
	holder h = hold(X_EX, 0);
	av_lockset *ls = NULL;

	cr_assert_eq(take(&ls, X_SH, 0), AV_EBUSY);
	release(h);
	h = hold(X_SH, 0);
	cr_assert_eq(take(&ls, X_EX, 0), AV_EBUSY);
	cr_assert_str_eq(av_error_last(), "repo 'x' is busy: another command holds its lock");
	release(h);
}

Test(lock, shared_and_shared_coexist)
{
	holder h1 = hold(X_SH, 0), h2 = hold(X_SH, 0);
	av_lockset *ls = NULL;

	cr_assert_eq(take(&ls, X_SH, 0), 0, "%s", av_error_last());
	cr_assert(av_lockset_holds(ls, "repo", "x", AV_LOCK_SHARED));
	cr_assert_not(av_lockset_holds(ls, "repo", "x", AV_LOCK_EXCLUSIVE));
	av_lockset_free(ls);
	release(h1);
	release(h2);
}

Test(lock, different_names_and_kinds_do_not_exclude_each_other)
{
	static const key others[] = {
		{ "repo", "y", AV_LOCK_EXCLUSIVE },
		{ "mirror", "x", AV_LOCK_EXCLUSIVE },
		{ "repo", "x.lock", AV_LOCK_EXCLUSIVE },
		{ NULL, NULL, 0 },
	};
	holder h = hold(X_EX, 0);
	av_lockset *ls = NULL;

	cr_assert_eq(take(&ls, others, 0), 0, "%s", av_error_last());
	av_lockset_free(ls);
	release(h);
}

Test(lock, a_timeout_waits_then_fails_after_it_has_passed)
{
	holder h = hold(X_EX, 0);
	av_lockset *ls = NULL;
	double t0 = now(), elapsed;

	cr_assert_eq(take(&ls, X_EX, 0.3), AV_EBUSY);
	elapsed = now() - t0;
	cr_assert_geq(elapsed, 0.3, "gave up after %.3f s", elapsed);
	cr_assert_lt(elapsed, 1.5, "waited %.3f s for a 0.3 s timeout", elapsed);
	cr_assert_str_eq(av_error_last(), "repo 'x' is busy: another command holds its lock");
	/* Timeout 0 fails at once. */
	t0 = now();
	cr_assert_eq(take(&ls, X_EX, 0), AV_EBUSY);
	cr_assert_lt(now() - t0, 0.2);
	release(h);
}

static int take_after(int delay_ms, int *out_rc, double timeout)
{
	holder h = hold(X_EX, 0);
	av_lockset *ls = NULL;
	pid_t pid = fork();
	double t0;
	int rc;

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		usleep((useconds_t)delay_ms * 1000);
		_exit(0);	/* closes the last copy of the release pipe */
	}
	forget(h.release_fd);	/* the parent's copy; the timer child holds another */
	t0 = now();
	rc = take(&ls, X_EX, timeout);
	*out_rc = rc;
	av_lockset_free(ls);
	waitpid(pid, NULL, 0);
	waitpid(h.pid, NULL, 0);
	return (int)((now() - t0) * 1000);
}

Test(lock, a_waiting_acquire_gets_the_lock_once_the_holder_lets_go)
{
	int rc, ms;

	ms = take_after(200, &rc, 5);
	cr_assert_eq(rc, 0, "%s", av_error_last());
	cr_assert_geq(ms, 150, "did not wait for the holder (%d ms)", ms);
	ms = take_after(200, &rc, -1);
	cr_assert_eq(rc, 0, "%s", av_error_last());
	cr_assert_geq(ms, 150);
}

Test(lock, a_killed_holders_lock_is_released_by_the_kernel)
{
	holder h = hold(X_EX, 1);
	av_lockset *ls = NULL;
	int st;

	cr_assert_eq(take(&ls, X_EX, 0), AV_EBUSY);
	cr_assert_eq(kill(h.pid, SIGKILL), 0);
	cr_assert_eq(waitpid(h.pid, &st, 0), h.pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	forget(h.release_fd);
	cr_assert_eq(take(&ls, X_EX, 0), 0, "%s", av_error_last());
	av_lockset_free(ls);
}

Test(lock, keys_added_after_acquire_are_refused)
{
	av_lockset *ls = NULL;

	cr_assert_eq(take(&ls, X_EX, 0), 0);
	cr_assert_neq(av_lockset_add(ls, "repo", "late", AV_LOCK_EXCLUSIVE), 0);
	cr_assert(strstr(av_error_last(), "declared after the lock set was taken"), "%s",
		  av_error_last());
	cr_assert_not(av_lockset_holds(ls, "repo", "late", AV_LOCK_SHARED));
	/* Nor can a set be taken twice. */
	cr_assert_neq(av_lockset_acquire(ls, 0), 0);
	cr_assert(av_lockset_holds(ls, "repo", "x", AV_LOCK_EXCLUSIVE));
	/* The refused key was never locked: another process can take it. */
	{
		static const key late[] = { { "repo", "late", AV_LOCK_EXCLUSIVE },
					    { NULL, NULL, 0 } };
		holder h = hold(late, 0);
		release(h);
	}
	av_lockset_free(ls);
}

Test(lock, declaring_a_key_twice_keeps_the_stronger_mode)
{
	av_lockset *ls = NULL;

	cr_assert_eq(av_lockset_new(&ls, root), 0);
	cr_assert_eq(av_lockset_add(ls, "repo", "x", AV_LOCK_SHARED), 0);
	cr_assert_eq(av_lockset_add(ls, "repo", "x", AV_LOCK_EXCLUSIVE), 0);
	cr_assert_eq(av_lockset_add(ls, "repo", "x", AV_LOCK_SHARED), 0);
	cr_assert_not(av_lockset_holds(ls, "repo", "x", AV_LOCK_SHARED),
		      "holds before acquire");
	cr_assert_eq(av_lockset_acquire(ls, 0), 0);
	cr_assert(av_lockset_holds(ls, "repo", "x", AV_LOCK_EXCLUSIVE));
	/* Really exclusive: a shared taker elsewhere is refused. */
	{
		pid_t pid = fork();
		int st;
		cr_assert_neq(pid, -1);
		if (pid == 0) {
			av_lockset *other = NULL;
			_exit(take(&other, X_SH, 0) == AV_EBUSY ? 0 : 1);
		}
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	av_lockset_release(ls);
	cr_assert_not(av_lockset_holds(ls, "repo", "x", AV_LOCK_SHARED));
	av_lockset_free(ls);
}

Test(lock, a_failed_acquire_holds_nothing)
{
	static const key ab[] = { { "repo", "a", AV_LOCK_EXCLUSIVE },
				  { "repo", "b", AV_LOCK_EXCLUSIVE },
				  { NULL, NULL, 0 } };
	static const key b[] = { { "repo", "b", AV_LOCK_EXCLUSIVE }, { NULL, NULL, 0 } };
	static const key a[] = { { "repo", "a", AV_LOCK_EXCLUSIVE }, { NULL, NULL, 0 } };
	holder h = hold(b, 0);
	av_lockset *ls = NULL;

	/* a is taken first, then b is busy: a must be let go again. */
	cr_assert_eq(take(&ls, ab, 0), AV_EBUSY);
	cr_assert_str_eq(av_error_last(), "repo 'b' is busy: another command holds its lock");
	{
		holder ha = hold(a, 0);
		release(ha);
	}
	release(h);
}

/*
 * Sorted order, deterministically: while "repo/a" is held elsewhere, a
 * process declaring {b, a} must block on a before touching b, so b stays
 * free for a third party.
 */
Test(lock, keys_are_taken_in_sorted_order_not_declaration_order)
{
	static const key a[] = { { "repo", "a", AV_LOCK_EXCLUSIVE }, { NULL, NULL, 0 } };
	static const key b[] = { { "repo", "b", AV_LOCK_EXCLUSIVE }, { NULL, NULL, 0 } };
	holder h = hold(a, 0);
	av_lockset *ls = NULL;
	int started[2], st;
	pid_t pid;
	char c;

	cr_assert_eq(pipe(started), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		static const key ba[] = { { "repo", "b", AV_LOCK_EXCLUSIVE },
					  { "repo", "a", AV_LOCK_EXCLUSIVE },
					  { NULL, NULL, 0 } };
		av_lockset *mine = NULL;
		close(started[0]);
		c = 's';
		if (write(started[1], &c, 1) != 1)
			_exit(3);
		_exit(take(&mine, ba, 1.0) == AV_EBUSY ? 0 : 1);
	}
	close(started[1]);
	cr_assert_eq(read(started[0], &c, 1), 1);
	close(started[0]);
	usleep(300 * 1000);	/* the child is now waiting inside acquire */
	cr_assert_eq(take(&ls, b, 0), 0, "b was taken before a: not sorted order");
	av_lockset_free(ls);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	release(h);
}

static int lock_loop(const key *keys, int iterations)
{
	for (int i = 0; i < iterations; i++) {
		av_lockset *ls = NULL;
		int rc = take(&ls, keys, -1);
		if (rc)
			return rc;
		if (!av_lockset_holds(ls, "repo", "a", AV_LOCK_EXCLUSIVE) ||
		    !av_lockset_holds(ls, "repo", "b", AV_LOCK_EXCLUSIVE))
			return AV_ERROR;
		if (i % 16 == 0)
			usleep(200);	/* widen the window between the two flocks' users */
		av_lockset_free(ls);
	}
	return 0;
}

Test(lock, two_processes_locking_ab_and_ba_200_times_never_deadlock, .timeout = 30)
{
	static const key ab[] = { { "repo", "a", AV_LOCK_EXCLUSIVE },
				  { "repo", "b", AV_LOCK_EXCLUSIVE },
				  { NULL, NULL, 0 } };
	static const key ba[] = { { "repo", "b", AV_LOCK_EXCLUSIVE },
				  { "repo", "a", AV_LOCK_EXCLUSIVE },
				  { NULL, NULL, 0 } };
	pid_t pids[2];
	double t0 = now();

	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1);
		if (pids[i] == 0) {
			alarm(20);	/* a deadlock kills the child: SIGALRM below */
			_exit(lock_loop(i ? ba : ab, 200) ? 1 : 0);
		}
	}
	for (int i = 0; i < 2; i++) {
		int st;
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(!WIFSIGNALED(st), "process %d killed by signal %d (deadlock?)", i,
			  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "process %d failed", i);
	}
	cr_assert_lt(now() - t0, 20);
}

Test(lock, lock_files_live_under_locks_kind_with_encoded_names)
{
	static const key odd[] = { { "repo", "a/b..c", AV_LOCK_EXCLUSIVE },
				   { NULL, NULL, 0 } };
	av_lockset *ls = NULL;
	char *path = NULL;

	cr_assert_eq(take(&ls, odd, 0), 0, "%s", av_error_last());
	cr_assert_neq(asprintf(&path, "%s/locks/repo/a%%2Fb%%2E%%2Ec", root), -1);
	cr_assert(av_is_file(path), "%s missing", path);
	free(path);
	av_lockset_free(ls);
}
