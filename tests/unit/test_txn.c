/*
 * test_txn.c - the mutation protocol: reads only under a lock (I2), stages
 * only under an exclusive lock after a fresh read, no declaration after
 * locking (I3), objects durable before the ref moves (I6), an uncommitted
 * transaction leaves nothing (I7), a foreign writer is a loud conflict,
 * and 16 real processes adding to one list lose nothing (I5) and race to
 * create one name with exactly one winner (I4).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <criterion/criterion.h>
#include "aptvault/txn.h"
#include "aptvault/state.h"
#include "aptvault/plist.h"
#include "aptvault/failpoint.h"
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "fixtures.h"

static char *root;

static void setup(void)
{
	unsetenv("APTVAULT_FAILPOINTS");
	av_failpoint_reset();
	root = fx_tmpdir();
}

static void teardown(void)
{
	unsetenv("APTVAULT_FAILPOINTS");
	av_remove_tree(root);
	free(root);
}

TestSuite(txn, .init = setup, .fini = teardown, .timeout = 60);

static av_store *open_store(void)
{
	av_store *s = NULL;

	cr_assert_eq(av_store_open(&s, root, 1), 0, "open: %s", av_error_last());
	return s;
}

static git_oid ref_fresh(const char *refname)
{
	av_store *s = open_store();
	git_oid oid;

	av_store_ref_read(s, refname, &oid);
	av_store_free(s);
	return oid;
}

static int readable_fresh(const git_oid *oid)
{
	av_store *s = open_store();
	git_odb *odb = NULL;
	int yes;

	cr_assert_eq(git_repository_odb(&odb, av_store_git(s)), 0);
	yes = git_odb_exists(odb, oid);
	git_odb_free(odb);
	av_store_free(s);
	return yes;
}

/* Write a state with the given comment; *out is its commit. */
static void new_state(av_store *s, const char *comment, git_oid *out)
{
	av_state *st = NULL;

	cr_assert_eq(av_state_new(&st), 0);
	cr_assert_eq(av_state_set(st, "comment", comment), 0);
	cr_assert_eq(av_state_write(s, st, "test", out), 0, "%s", av_error_last());
	av_state_free(st);
}

static av_txn *begin(av_store *s, const char *kind, const char *name, av_lock_mode mode)
{
	av_txn_opts o = { .lock_timeout = 5, .command = "test" };
	av_txn *t = NULL;

	cr_assert_eq(av_txn_begin(&t, s, &o), 0, "%s", av_error_last());
	if (kind)
		cr_assert_eq(av_txn_declare(t, kind, name, mode), 0, "%s", av_error_last());
	return t;
}

/* Create repo name holding a fresh state with comment "v0". */
static git_oid create(av_store *s, const char *name)
{
	av_txn *t = begin(s, "repo", name, AV_LOCK_EXCLUSIVE);
	git_oid seen, c;

	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_eq(av_txn_read(t, "repo", name, &seen), AV_ENOTFOUND);
	cr_assert(git_oid_is_zero(&seen));
	new_state(s, "v0", &c);
	cr_assert_eq(av_txn_stage(t, "repo", name, &c), 0, "%s", av_error_last());
	cr_assert_eq(av_txn_commit(t, "create"), 0, "%s", av_error_last());
	av_txn_free(t);
	return c;
}

Test(txn, kinds_map_to_ref_namespaces_and_names_are_encoded)
{
	av_buf b = AV_BUF_INIT;

	cr_assert_str_eq(av_txn_ref_prefix("repo"), "refs/repos/");
	cr_assert_str_eq(av_txn_ref_prefix("mirror"), "refs/mirrors/");
	cr_assert_str_eq(av_txn_ref_prefix("snapshot"), "refs/snapshots/");
	cr_assert_str_eq(av_txn_ref_prefix("published"), "refs/published/");
	cr_assert_null(av_txn_ref_prefix("bogus"));
	cr_assert_eq(av_txn_refname(&b, "snapshot", "nightly 2024.01"), 0);
	cr_assert_str_eq(av_buf_cstr(&b), "refs/snapshots/nightly%202024%2E01");
	cr_assert_neq(av_txn_refname(&b, "bogus", "x"), 0);
	av_buf_dispose(&b);
}

Test(txn, read_without_the_lock_is_refused)
{
	av_store *s = open_store();
	av_txn *t = begin(s, "repo", "main", AV_LOCK_EXCLUSIVE);
	git_oid oid;

	create(s, "main");
	cr_assert_neq(av_txn_read(t, "repo", "main", &oid), 0, "read before lock");
	cr_assert(strstr(av_error_last(), "without its lock (I2)"), "%s", av_error_last());
	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_neq(av_txn_read(t, "repo", "undeclared", &oid), 0, "undeclared read");
	cr_assert_eq(av_txn_read(t, "repo", "main", &oid), 0, "%s", av_error_last());
	av_txn_free(t);
	av_store_free(s);
}

Test(txn, declare_after_lock_is_refused)
{
	av_store *s = open_store();
	av_txn *t = begin(s, "repo", "main", AV_LOCK_EXCLUSIVE);

	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_neq(av_txn_declare(t, "repo", "other", AV_LOCK_EXCLUSIVE), 0);
	cr_assert(strstr(av_error_last(), "declared after locking (I3)"), "%s",
		  av_error_last());
	av_txn_free(t);
	av_store_free(s);
}

Test(txn, stage_without_an_exclusive_lock_is_refused)
{
	av_store *s = open_store();
	git_oid c0 = create(s, "main"), seen, c1;
	av_txn *t = begin(s, "repo", "main", AV_LOCK_SHARED);

	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_eq(av_txn_read(t, "repo", "main", &seen), 0);
	cr_assert(git_oid_equal(&seen, &c0));
	new_state(s, "v1", &c1);
	cr_assert_neq(av_txn_stage(t, "repo", "main", &c1), 0);
	cr_assert(strstr(av_error_last(), "staged without an exclusive lock"), "%s",
		  av_error_last());
	cr_assert_eq(av_txn_commit(t, "nothing staged"), 0);
	av_txn_free(t);
	seen = ref_fresh("refs/repos/main");
	cr_assert(git_oid_equal(&seen, &c0));
	av_store_free(s);
}

Test(txn, stage_without_a_prior_read_is_refused)
{
	av_store *s = open_store();
	git_oid c0 = create(s, "main"), c1, got;
	av_txn *t = begin(s, "repo", "main", AV_LOCK_EXCLUSIVE);

	cr_assert_eq(av_txn_lock(t), 0);
	new_state(s, "v1", &c1);
	cr_assert_neq(av_txn_stage(t, "repo", "main", &c1), 0);
	cr_assert_neq(av_txn_stage(t, "repo", "undeclared", &c1), 0);
	av_txn_free(t);
	got = ref_fresh("refs/repos/main");
	cr_assert(git_oid_equal(&got, &c0));
	av_store_free(s);
}

Test(txn, commit_makes_objects_durable_then_moves_the_ref)
{
	av_store *s = open_store();
	git_oid c0 = create(s, "main"), seen, c1, got;
	av_txn *t = begin(s, "repo", "main", AV_LOCK_EXCLUSIVE);
	av_state *st = NULL;

	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_eq(av_txn_read(t, "repo", "main", &seen), 0);
	cr_assert(git_oid_equal(&seen, &c0));
	new_state(s, "v1", &c1);
	cr_assert_not(readable_fresh(&c1), "objects reached the disk before commit");
	cr_assert_eq(av_txn_stage(t, "repo", "main", &c1), 0);
	cr_assert_eq(av_txn_commit(t, "edit\nwith a second line"), 0, "%s", av_error_last());
	av_txn_free(t);
	av_store_free(s);

	/* A fresh handle sees the new ref and can load everything it reaches. */
	s = open_store();
	cr_assert_eq(av_store_ref_read(s, "refs/repos/main", &got), 0);
	cr_assert(git_oid_equal(&got, &c1));
	cr_assert_eq(av_state_load(&st, s, &got), 0, "%s", av_error_last());
	cr_assert_str_eq(av_state_get(st, "comment", NULL), "v1");
	av_state_free(st);
	av_store_free(s);
}

Test(txn, objects_are_on_disk_even_when_the_ref_update_then_fails)
{
	av_store *s = open_store();
	git_oid c0 = create(s, "main"), seen, c1, got;
	av_txn *t = begin(s, "repo", "main", AV_LOCK_EXCLUSIVE);

	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_eq(av_txn_read(t, "repo", "main", &seen), 0);
	new_state(s, "v1", &c1);
	cr_assert_eq(av_txn_stage(t, "repo", "main", &c1), 0);
	cr_assert_eq(setenv("APTVAULT_FAILPOINTS", "store-ref", 1), 0);
	av_failpoint_reset();
	cr_assert_eq(av_txn_commit(t, "edit"), AV_EIO);
	unsetenv("APTVAULT_FAILPOINTS");
	av_txn_free(t);
	/* I6: the flush came first, so the commit was durable before the ref
	 * step was even tried; the ref did not move (I7). */
	cr_assert(readable_fresh(&c1));
	got = ref_fresh("refs/repos/main");
	cr_assert(git_oid_equal(&got, &c0));
	av_store_free(s);
}

Test(txn, an_uncommitted_txn_leaves_nothing)
{
	av_store *s = open_store();
	git_oid c0 = create(s, "main"), seen, c1, got;
	av_txn *t = begin(s, "repo", "main", AV_LOCK_EXCLUSIVE);
	const av_store_stats *stats = av_store_stats_get(s);
	unsigned long written;

	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_eq(av_txn_read(t, "repo", "main", &seen), 0);
	new_state(s, "never", &c1);
	cr_assert_eq(av_txn_stage(t, "repo", "main", &c1), 0);
	written = stats->objects_written;
	av_txn_free(t);	/* no commit */
	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(stats->objects_written, written, "discarded objects were written");
	cr_assert_not(readable_fresh(&c1));
	got = ref_fresh("refs/repos/main");
	cr_assert(git_oid_equal(&got, &c0));
	/* And the locks were released: an exclusive taker gets them at once. */
	{
		av_txn_opts o = { .lock_timeout = 0 };
		cr_assert_eq(av_txn_begin(&t, s, &o), 0);
		cr_assert_eq(av_txn_declare(t, "repo", "main", AV_LOCK_EXCLUSIVE), 0);
		cr_assert_eq(av_txn_lock(t), 0, "%s", av_error_last());
		av_txn_free(t);
	}
	av_store_free(s);
}

Test(txn, a_ref_moved_by_a_foreign_writer_after_the_read_is_a_loud_conflict)
{
	av_store *s = open_store(), *foreign = open_store();
	git_oid c0 = create(s, "main"), seen, c1, c2, got;
	av_txn *t = begin(s, "repo", "main", AV_LOCK_EXCLUSIVE);
	av_ref_update u = { .refname = "refs/repos/main" };

	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_eq(av_txn_read(t, "repo", "main", &seen), 0);
	/* Someone who ignores the flock moves the ref. */
	new_state(foreign, "foreign", &c2);
	cr_assert_eq(av_store_flush(foreign), 0);
	git_oid_cpy(&u.expected, &c0);
	git_oid_cpy(&u.target, &c2);
	cr_assert_eq(av_store_ref_update(foreign, &u, "foreign"), 0);
	new_state(s, "mine", &c1);
	cr_assert_eq(av_txn_stage(t, "repo", "main", &c1), 0);
	cr_assert_eq(av_txn_commit(t, "mine"), AV_ECONFLICT);
	cr_assert(strstr(av_error_last(), "changed under its lock"), "%s", av_error_last());
	av_txn_free(t);
	got = ref_fresh("refs/repos/main");
	cr_assert(git_oid_equal(&got, &c2), "the foreign update was overwritten");
	av_store_free(foreign);
	av_store_free(s);
}

Test(txn, a_ref_deleted_by_a_foreign_writer_after_the_read_is_a_conflict_not_a_create)
{
	av_store *s = open_store(), *foreign = open_store();
	git_oid c0 = create(s, "main"), seen, c1, got;
	av_txn *t = begin(s, "repo", "main", AV_LOCK_EXCLUSIVE);
	av_ref_update u = { .refname = "refs/repos/main" };

	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_eq(av_txn_read(t, "repo", "main", &seen), 0);
	git_oid_cpy(&u.expected, &c0);
	cr_assert_eq(av_store_ref_update(foreign, &u, "foreign delete"), 0);
	new_state(s, "mine", &c1);
	cr_assert_eq(av_txn_stage(t, "repo", "main", &c1), 0);
	cr_assert_eq(av_txn_commit(t, "mine"), AV_ECONFLICT, "%s", av_error_last());
	av_txn_free(t);
	cr_assert_eq(av_store_ref_read(s, "refs/repos/main", &got), AV_ENOTFOUND);
	av_store_free(foreign);
	av_store_free(s);
}

Test(txn, an_unchanged_ref_is_not_rewritten)
{
	av_store *s = open_store();
	git_oid c0 = create(s, "main"), seen;
	av_txn *t = begin(s, "repo", "main", AV_LOCK_EXCLUSIVE);

	av_store_stats_reset(s);
	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_eq(av_txn_read(t, "repo", "main", &seen), 0);
	cr_assert_eq(av_txn_stage(t, "repo", "main", &c0), 0);
	cr_assert_eq(av_txn_commit(t, "noop"), 0);
	cr_assert_eq(av_store_stats_get(s)->refs_written, 0);
	cr_assert_eq(av_store_stats_get(s)->refs_read, 1);
	av_txn_free(t);
	av_store_free(s);
}

Test(txn, a_rename_creates_the_new_ref_and_deletes_the_old_one)
{
	av_store *s = open_store();
	git_oid c0 = create(s, "old"), seen, got;
	av_txn *t = begin(s, "repo", "old", AV_LOCK_EXCLUSIVE);

	cr_assert_eq(av_txn_declare(t, "repo", "new", AV_LOCK_EXCLUSIVE), 0);
	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_eq(av_txn_read(t, "repo", "old", &seen), 0);
	cr_assert_eq(av_txn_read(t, "repo", "new", &got), AV_ENOTFOUND);
	cr_assert_eq(av_txn_stage(t, "repo", "new", &seen), 0);
	cr_assert_eq(av_txn_stage(t, "repo", "old", NULL), 0);
	cr_assert_eq(av_txn_commit(t, "rename"), 0, "%s", av_error_last());
	av_txn_free(t);
	cr_assert_eq(av_store_ref_read(s, "refs/repos/old", &got), AV_ENOTFOUND);
	cr_assert_eq(av_store_ref_read(s, "refs/repos/new", &got), 0);
	cr_assert(git_oid_equal(&got, &c0));
	av_store_free(s);
}

Test(txn, a_held_resource_makes_lock_fail_busy_at_timeout_zero)
{
	av_store *s = open_store();
	av_txn *t = begin(s, "repo", "main", AV_LOCK_EXCLUSIVE);
	int st;
	pid_t pid;

	cr_assert_eq(av_txn_lock(t), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		av_store *cs = NULL;
		av_txn *ct = NULL;
		av_txn_opts o = { .lock_timeout = 0 };
		int rc;
		if (av_store_open(&cs, root, 0) || av_txn_begin(&ct, cs, &o) ||
		    av_txn_declare(ct, "repo", "main", AV_LOCK_SHARED))
			_exit(1);
		rc = av_txn_lock(ct);
		_exit(rc == AV_EBUSY &&
		      !strcmp(av_error_last(), "repo 'main' is busy: another command "
			      "holds its lock") ? 0 : 2);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
	av_txn_free(t);
	av_store_free(s);
}

Test(txn, begin_takes_the_maintenance_fence_shared)
{
	av_store *s = open_store();
	av_lockset *sweep = NULL;
	av_txn *t1 = NULL, *t2 = NULL;
	av_txn_opts o = { .lock_timeout = 0 };
	pid_t pid;
	int st;

	/* Two commands share the fence... */
	cr_assert_eq(av_txn_begin(&t1, s, &o), 0);
	cr_assert_eq(av_txn_begin(&t2, s, &o), 0, "%s", av_error_last());
	/* ...which a sweep elsewhere cannot take exclusively meanwhile. */
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int rc = av_lockset_new(&sweep, root);
		if (!rc)
			rc = av_lockset_add(sweep, "db", "fence", AV_LOCK_EXCLUSIVE);
		if (!rc)
			rc = av_lockset_acquire(sweep, 0);
		_exit(rc == AV_EBUSY ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	av_txn_free(t1);
	av_txn_free(t2);
	/* And while a sweep holds it, begin is busy. */
	cr_assert_eq(av_lockset_new(&sweep, root), 0);
	cr_assert_eq(av_lockset_add(sweep, "db", "fence", AV_LOCK_EXCLUSIVE), 0);
	cr_assert_eq(av_lockset_acquire(sweep, 0), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		av_store *cs = NULL;
		av_txn *ct = NULL;
		if (av_store_open(&cs, root, 0))
			_exit(2);
		_exit(av_txn_begin(&ct, cs, &o) == AV_EBUSY ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	av_lockset_free(sweep);
	av_store_free(s);
}

/* --- many processes --- */

typedef int (*child_fn)(int i);

static void run_children(int n, child_fn fn, int *status)
{
	pid_t pids[64];
	int p[2];

	cr_assert_leq(n, 64);
	cr_assert_eq(pipe(p), 0);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1, "fork: %s", strerror(errno));
		if (pids[i] == 0) {
			char c;
			int rc;
			close(p[1]);
			while (read(p[0], &c, 1) < 0 && errno == EINTR)
				;
			rc = fn(i);
			if (rc && getenv("AV_TEST_VERBOSE"))
				fprintf(stderr, "child %d: %d %s\n", i, rc, av_error_last());
			_exit(rc <= 0 ? -rc : 100);
		}
	}
	close(p[0]);
	close(p[1]);
	for (int i = 0; i < n; i++) {
		int st;
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
	}
}

static int round_no;

/* One whole command: begin, declare, lock, read, add an entry, commit. */
static int add_entry(int i)
{
	av_store *s = NULL;
	av_txn *t = NULL;
	av_txn_opts o = { .lock_timeout = 30, .command = "add" };
	av_state *st = NULL;
	av_plist *l = NULL;
	git_oid cur, blob, commit;
	char key[64], text[128];
	int rc;

	snprintf(key, sizeof(key), "pkg%d-%d_1.0_amd64", round_no, i);
	snprintf(text, sizeof(text), "Package: pkg%d-%d\nVersion: 1.0\n"
		 "Architecture: amd64\n", round_no, i);
	if ((rc = av_store_open(&s, root, 0)) || (rc = av_txn_begin(&t, s, &o)) ||
	    (rc = av_txn_declare(t, "repo", "shared", AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_lock(t)) || (rc = av_txn_read(t, "repo", "shared", &cur)) ||
	    (rc = av_state_load(&st, s, &cur)) ||
	    (rc = av_plist_open(&l, s, &st->packages)) ||
	    (rc = av_store_blob_write(s, &blob, text, strlen(text))))
		goto done;
	if ((rc = av_plist_put(l, key, &blob, 0)) ||
	    (rc = av_plist_write(l, &st->packages)) ||
	    (rc = av_state_write(s, st, "add", &commit)) ||
	    (rc = av_txn_stage(t, "repo", "shared", &commit)) ||
	    (rc = av_txn_commit(t, key)))
		goto done;
done:
	av_plist_free(l);
	av_state_free(st);
	av_txn_free(t);
	av_store_free(s);
	return rc;
}

typedef struct keys {
	char **v;
	size_t n;
} keys;

static int count_key(const char *key, const git_oid *blob, void *payload)
{
	keys *k = payload;

	(void)blob;
	k->v = realloc(k->v, (k->n + 1) * sizeof(*k->v));
	k->v[k->n++] = strdup(key);
	return 0;
}

static int has_key(const keys *k, const char *key)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->v[i], key))
			return 1;
	return 0;
}

static void free_keys(keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
}

Test(txn, sixteen_processes_adding_to_one_list_lose_nothing, .timeout = 120)
{
	av_store *s = open_store();
	int status[16];
	const int rounds = 3;

	create(s, "shared");
	av_store_free(s);
	for (round_no = 0; round_no < rounds; round_no++) {
		run_children(16, add_entry, status);
		for (int i = 0; i < 16; i++)
			cr_assert_eq(status[i], 0, "round %d child %d: status %d", round_no, i,
				     status[i]);
	}
	{
		keys k = { 0 };
		av_state *st = NULL;
		av_plist *l = NULL;
		git_oid cur;

		s = open_store();
		cr_assert_eq(av_store_ref_read(s, "refs/repos/shared", &cur), 0);
		cr_assert_eq(av_state_load(&st, s, &cur), 0);
		cr_assert_eq(av_plist_open(&l, s, &st->packages), 0);
		cr_assert_eq(av_plist_foreach(l, count_key, &k), 0);
		cr_assert_eq(k.n, 16 * rounds, "%zu of %d additions survived", k.n, 16 * rounds);
		for (int r = 0; r < rounds; r++)
			for (int i = 0; i < 16; i++) {
				char key[64];
				snprintf(key, sizeof(key), "pkg%d-%d_1.0_amd64", r, i);
				cr_assert(has_key(&k, key), "%s lost", key);
			}
		free_keys(&k);
		av_plist_free(l);
		av_state_free(st);
		/* Every addition is one history entry (plus the create). */
		av_store_free(s);
		cr_assert_eq(fx_sh("test \"$(wc -l < '%s/db/logs/refs/repos/shared')\" = %d",
				   root, 16 * rounds + 1), 0);
	}
}

static int create_one(int i)
{
	av_store *s = NULL;
	av_txn *t = NULL;
	av_txn_opts o = { .lock_timeout = 30, .command = "create" };
	av_state *st = NULL;
	git_oid cur, commit;
	char comment[32];
	int rc;

	snprintf(comment, sizeof(comment), "by %d", i);
	if ((rc = av_store_open(&s, root, 0)) || (rc = av_txn_begin(&t, s, &o)) ||
	    (rc = av_txn_declare(t, "repo", "race", AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_lock(t)))
		goto done;
	rc = av_txn_read(t, "repo", "race", &cur);
	if (rc == 0) {
		rc = AV_EEXISTS;
		goto done;
	}
	if (rc != AV_ENOTFOUND)
		goto done;
	if ((rc = av_state_new(&st)) || (rc = av_state_set(st, "comment", comment)) ||
	    (rc = av_state_write(s, st, "create", &commit)) ||
	    (rc = av_txn_stage(t, "repo", "race", &commit)) ||
	    (rc = av_txn_commit(t, "create")))
		goto done;
done:
	av_state_free(st);
	av_txn_free(t);
	av_store_free(s);
	return rc;
}

Test(txn, of_16_processes_creating_one_name_exactly_one_succeeds, .timeout = 120)
{
	for (int round = 0; round < 10; round++) {
		av_store *s = open_store();
		av_txn *t = NULL;
		git_oid oid;
		int status[16], winners = 0, exists = 0;

		/* Start each round with the name absent. */
		if (av_store_ref_read(s, "refs/repos/race", &oid) == 0) {
			t = begin(s, "repo", "race", AV_LOCK_EXCLUSIVE);
			cr_assert_eq(av_txn_lock(t), 0);
			cr_assert_eq(av_txn_read(t, "repo", "race", &oid), 0);
			cr_assert_eq(av_txn_stage(t, "repo", "race", NULL), 0);
			cr_assert_eq(av_txn_commit(t, "drop"), 0);
			av_txn_free(t);
		}
		av_store_free(s);
		run_children(16, create_one, status);
		for (int i = 0; i < 16; i++) {
			winners += status[i] == 0;
			exists += status[i] == -AV_EEXISTS;
		}
		cr_assert_eq(winners, 1, "round %d: %d winners", round, winners);
		cr_assert_eq(exists, 15, "round %d: %d 'already exists'", round, exists);
	}
}
