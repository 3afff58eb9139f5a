/*
 * test_store.c - the metadata store: root layout (also when many processes
 * create it at once), buffered objects made durable by one flush (one pack
 * past 16 objects, loose below), discard, compare-and-swap refs (create,
 * update, delete, the 16-process create race of I4), stale ref locks,
 * injected failures, reversible name encoding and bounded history.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <criterion/criterion.h>
#include "aptvault/store.h"
#include "aptvault/txn.h"
#include "aptvault/lock.h"
#include "aptvault/failpoint.h"
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "fixtures.h"

static char *base;	/* the test's temporary directory */
static char *root;	/* base/root */

static char *join(const char *dir, const char *name)
{
	char *p = NULL;

	cr_assert_neq(asprintf(&p, "%s/%s", dir, name), -1);
	return p;
}

static void setup(void)
{
	unsetenv("APTVAULT_FAILPOINTS");
	av_failpoint_reset();
	base = fx_tmpdir();
	root = join(base, "root");
}

static void teardown(void)
{
	unsetenv("APTVAULT_FAILPOINTS");
	av_remove_tree(base);
	free(root);
	free(base);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 60);

static av_store *open_store(void)
{
	av_store *s = NULL;

	cr_assert_eq(av_store_open(&s, root, 1), 0, "open: %s", av_error_last());
	return s;
}

static git_oid put_blob(av_store *s, const char *text)
{
	git_oid oid;

	cr_assert_eq(av_store_blob_write(s, &oid, text, strlen(text)), 0, "%s",
		     av_error_last());
	return oid;
}

/* The content of blob oid as read through a fresh handle, or NULL. */
static char *read_fresh(const git_oid *oid)
{
	av_store *s = open_store();
	git_blob *b = NULL;
	char *text = NULL;

	if (av_store_blob_read(s, &b, oid) == 0)
		text = strndup(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	git_blob_free(b);
	av_store_free(s);
	return text;
}

/* Each oids[i] reads back, through a fresh handle, as fmt with i. */
static void assert_texts(const git_oid *oids, int n, const char *fmt)
{
	char text[64];

	for (int i = 0; i < n; i++) {
		char *got = read_fresh(&oids[i]);
		snprintf(text, sizeof(text), fmt, i);
		cr_assert_not_null(got, "object %d cannot be read", i);
		cr_assert_str_eq(got, text);
		free(got);
	}
}

static git_oid ref_fresh(const char *refname)
{
	av_store *s = open_store();
	git_oid oid;

	av_store_ref_read(s, refname, &oid);
	av_store_free(s);
	return oid;
}

static int loose_exists(const git_oid *oid)
{
	char hex[GIT_OID_HEXSZ + 1], path[4096];

	git_oid_tostr(hex, sizeof(hex), oid);
	snprintf(path, sizeof(path), "%s/db/objects/%.2s/%s", root, hex, hex + 2);
	return av_is_file(path);
}

static size_t files_in(const char *sub, const char *suffix)
{
	char *dir = join(root, sub);
	char **names = NULL;
	size_t n = 0;

	cr_assert_eq(av_dir_list(dir, suffix, &names, &n), 0, "%s", av_error_last());
	av_dir_list_free(names, n);
	free(dir);
	return n;
}

static int update(av_store *s, const char *ref, const git_oid *expected,
		  const git_oid *target, const char *msg)
{
	av_ref_update u = { .refname = ref, .locked = 1 };

	if (expected)
		git_oid_cpy(&u.expected, expected);
	if (target)
		git_oid_cpy(&u.target, target);
	return av_store_ref_update(s, &u, msg);
}

/* --- children: fork, block on a pipe, run, report through the exit code --- */

typedef int (*child_fn)(int i, void *arg);

/* Map a lib return code to an exit status and back. */
static int rc_to_status(int rc)
{
	return rc <= 0 ? -rc : 100;
}

/*
 * Fork n children; each runs prepare(i) (may be NULL), then blocks on a
 * pipe until every child is forked, then runs fn(i).  status[i] gets
 * -rc of fn, or 200+signal if the child died.
 */
static void run_children(int n, child_fn prepare, child_fn fn, void *arg, int *status)
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
			int rc = 0;
			close(p[1]);
			if (prepare)
				rc = prepare(i, arg);
			while (read(p[0], &c, 1) < 0 && errno == EINTR)
				;
			if (!rc)
				rc = fn(i, arg);
			if (rc && getenv("AV_TEST_VERBOSE"))
				fprintf(stderr, "child %d: %d %s\n", i, rc, av_error_last());
			_exit(rc_to_status(rc));
		}
	}
	close(p[0]);
	close(p[1]);	/* EOF: every child starts now */
	for (int i = 0; i < n; i++) {
		int st;
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
	}
}

/* --- layout --- */

Test(store, open_creates_the_layout_and_a_bare_db_that_logs_every_ref)
{
	static const char *const dirs[] = { "db", "pool", "locks", "tmp", "public" };
	av_store *s = NULL;
	git_config *cfg = NULL;
	git_buf val = { 0 };

	cr_assert_eq(av_store_open(&s, root, 0), AV_ENOTFOUND);
	cr_assert_null(s);
	cr_assert(strstr(av_error_last(), "is not an aptvault root"), "%s", av_error_last());
	s = open_store();
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *d = join(root, dirs[i]);
		cr_assert(av_is_dir(d), "%s missing", d);
		free(d);
	}
	cr_assert(git_repository_is_bare(av_store_git(s)));
	cr_assert_str_eq(av_store_root(s), root);
	cr_assert_eq(git_repository_config_snapshot(&cfg, av_store_git(s)), 0);
	cr_assert_eq(git_config_get_string_buf(&val, cfg, "core.logAllRefUpdates"), 0);
	cr_assert_str_eq(val.ptr, "always");
	git_buf_dispose(&val);
	git_config_free(cfg);
	av_store_free(s);
	/* Reopening without create works once the root exists. */
	cr_assert_eq(av_store_open(&s, root, 0), 0, "%s", av_error_last());
	av_store_free(s);
	cr_assert_eq(fx_sh("git --git-dir='%s/db' rev-parse --is-bare-repository "
			   ">/dev/null 2>&1", root), 0);
}

static int open_create(int i, void *arg)
{
	av_store *s = NULL;
	git_oid oid;
	char text[64];
	int rc;

	(void)arg;
	if ((rc = av_store_open(&s, root, 1)))
		return rc;
	snprintf(text, sizeof(text), "child %d\n", i);
	if (!(rc = av_store_blob_write(s, &oid, text, strlen(text))))
		rc = av_store_flush(s);
	av_store_free(s);
	return rc;
}

Test(store, eight_processes_creating_one_fresh_root_at_once_all_succeed)
{
	int status[8];

	for (int round = 0; round < 10; round++) {
		free(root);
		cr_assert_neq(asprintf(&root, "%s/root%d", base, round), -1);
		run_children(8, NULL, open_create, NULL, status);
		for (int i = 0; i < 8; i++)
			cr_assert_eq(status[i], 0, "round %d child %d: status %d", round, i,
				     status[i]);
		for (int i = 0; i < 8; i++) {
			char text[64];
			git_oid oid;
			char *got;
			snprintf(text, sizeof(text), "child %d\n", i);
			git_odb_hash(&oid, text, strlen(text), GIT_OBJECT_BLOB);
			got = read_fresh(&oid);
			cr_assert_not_null(got, "round %d: blob of child %d lost", round, i);
			cr_assert_str_eq(got, text);
			free(got);
		}
	}
}

/* --- objects --- */

Test(store, blob_written_and_flushed_reads_back_after_reopen)
{
	av_store *s = open_store();
	git_oid oid = put_blob(s, "Package: hello\n");
	git_blob *b = NULL;
	char *got;

	/* Readable from the write buffer before the flush... */
	cr_assert_eq(av_store_blob_read(s, &b, &oid), 0);
	git_blob_free(b);
	/* ...but not on disk. */
	cr_assert_null(read_fresh(&oid));
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	cr_assert_eq(av_store_stats_get(s)->objects_written, 1);
	cr_assert_eq(av_store_stats_get(s)->blobs_written, 1);
	av_store_free(s);
	got = read_fresh(&oid);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, "Package: hello\n");
	free(got);
}

Test(store, flush_of_more_than_16_objects_writes_exactly_one_pack)
{
	av_store *s = open_store();
	const av_store_stats *st = av_store_stats_get(s);
	git_oid oids[40];
	char text[64];

	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "object %d\n", i);
		oids[i] = put_blob(s, text);
	}
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	cr_assert_eq(st->packs_written, 1);
	cr_assert_eq(st->objects_written, 40);
	cr_assert_eq(st->blobs_written, 40);
	cr_assert_eq(files_in("db/objects/pack", ".pack"), 1);
	cr_assert_eq(files_in("db/objects/pack", ".idx"), 1);
	for (int i = 0; i < 40; i++)
		cr_assert_not(loose_exists(&oids[i]), "object %d is also loose", i);
	av_store_free(s);
	assert_texts(oids, 40, "object %d\n");
	/* git itself agrees the pack is sound. */
	cr_assert_eq(fx_sh("git --git-dir='%s/db' verify-pack '%s'/db/objects/pack/*.idx",
			   root, root), 0);
}

Test(store, flush_of_exactly_17_objects_packs_and_16_stay_loose)
{
	av_store *s = open_store();
	const av_store_stats *st = av_store_stats_get(s);
	git_oid oids[17];
	char text[64];

	for (int i = 0; i < 16; i++) {
		snprintf(text, sizeof(text), "loose %d\n", i);
		oids[i] = put_blob(s, text);
	}
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	cr_assert_eq(st->packs_written, 0);
	cr_assert_eq(st->objects_written, 16);
	cr_assert_eq(files_in("db/objects/pack", ".pack"), 0);
	for (int i = 0; i < 16; i++)
		cr_assert(loose_exists(&oids[i]), "object %d is not loose", i);

	av_store_stats_reset(s);
	for (int i = 0; i < 17; i++) {
		snprintf(text, sizeof(text), "packed %d\n", i);
		oids[i] = put_blob(s, text);
	}
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	cr_assert_eq(st->packs_written, 1);
	cr_assert_eq(st->objects_written, 17);
	cr_assert_eq(files_in("db/objects/pack", ".pack"), 1);
	for (int i = 0; i < 17; i++)
		cr_assert_not(loose_exists(&oids[i]));
	av_store_free(s);
}

Test(store, discard_drops_buffered_objects)
{
	av_store *s = open_store();
	git_oid kept = put_blob(s, "kept\n"), dropped;
	git_blob *b = NULL;

	cr_assert_eq(av_store_flush(s), 0);
	dropped = put_blob(s, "dropped\n");
	av_store_discard(s);
	cr_assert_neq(av_store_blob_read(s, &b, &dropped), 0);
	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(av_store_stats_get(s)->objects_written, 1);
	av_store_free(s);
	cr_assert_null(read_fresh(&dropped));
	free(read_fresh(&kept));
	cr_assert(loose_exists(&kept));
	cr_assert_not(loose_exists(&dropped));
}

Test(store, writing_an_existing_object_again_does_not_write_it_twice)
{
	av_store *s = open_store();
	const av_store_stats *st = av_store_stats_get(s);
	git_oid a, b;

	/* Twice in one batch: written once. */
	a = put_blob(s, "same\n");
	b = put_blob(s, "same\n");
	cr_assert(git_oid_equal(&a, &b));
	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(st->objects_written, 1);
	/* Again in a later batch, and through a fresh handle: not at all. */
	put_blob(s, "same\n");
	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(st->objects_written, 1);
	av_store_free(s);
	s = open_store();
	put_blob(s, "same\n");
	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(av_store_stats_get(s)->objects_written, 0);
	av_store_free(s);
	/* Also when it already sits in a pack. */
	s = open_store();
	for (int i = 0; i < 20; i++) {
		char text[32];
		snprintf(text, sizeof(text), "p%d\n", i);
		put_blob(s, text);
	}
	cr_assert_eq(av_store_flush(s), 0);
	av_store_stats_reset(s);
	for (int i = 0; i < 20; i++) {
		char text[32];
		snprintf(text, sizeof(text), "p%d\n", i);
		put_blob(s, text);
	}
	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(av_store_stats_get(s)->objects_written, 0);
	cr_assert_eq(av_store_stats_get(s)->packs_written, 0);
	av_store_free(s);
}

Test(store, trees_and_commits_are_counted_by_type)
{
	av_store *s = open_store();
	const av_store_stats *st = av_store_stats_get(s);
	git_treebuilder *tb = NULL;
	git_oid blob = put_blob(s, "x\n"), tree, commit;
	git_commit *c = NULL;

	cr_assert_eq(git_treebuilder_new(&tb, av_store_git(s), NULL), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, tb, "x", &blob, GIT_FILEMODE_BLOB), 0);
	cr_assert_eq(av_store_tree_write(s, &tree, tb), 0);
	git_treebuilder_free(tb);
	cr_assert_eq(av_store_commit_write(s, &commit, &tree, "a message"), 0,
		     "%s", av_error_last());
	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(st->objects_written, 3);
	cr_assert_eq(st->blobs_written, 1);
	cr_assert_eq(st->trees_written, 1);
	cr_assert_eq(st->commits_written, 1);
	cr_assert_eq(av_store_commit_read(s, &c, &commit), 0);
	cr_assert_str_eq(git_commit_message(c), "a message");
	cr_assert_eq(git_commit_parentcount(c), 0, "states are not chained by parent");
	git_commit_free(c);
	cr_assert_eq(st->objects_read, 1);
	av_store_free(s);
}

/* --- refs --- */

#define REF "refs/repos/main"

Test(store, ref_created_from_zero_exists_and_a_second_create_is_eexists)
{
	av_store *s = open_store();
	git_oid a = put_blob(s, "a\n"), b = put_blob(s, "b\n"), got;

	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(av_store_ref_read(s, REF, &got), AV_ENOTFOUND);
	cr_assert(git_oid_is_zero(&got));
	cr_assert_eq(update(s, REF, NULL, &a, "create"), 0, "%s", av_error_last());
	cr_assert_eq(av_store_stats_get(s)->refs_written, 1);
	cr_assert_eq(av_store_ref_read(s, REF, &got), 0);
	cr_assert(git_oid_equal(&got, &a));
	cr_assert_eq(update(s, REF, NULL, &b, "create again"), AV_EEXISTS);
	cr_assert(strstr(av_error_last(), "already exists"), "%s", av_error_last());
	cr_assert_eq(av_store_stats_get(s)->refs_written, 1);
	got = ref_fresh(REF);
	cr_assert(git_oid_equal(&got, &a), "the losing create moved the ref");
	av_store_free(s);
}

Test(store, cas_with_a_wrong_expected_value_is_a_conflict_and_leaves_the_ref)
{
	av_store *s = open_store();
	git_oid a = put_blob(s, "a\n"), b = put_blob(s, "b\n"), c = put_blob(s, "c\n"), got;

	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(update(s, REF, NULL, &a, "create"), 0);
	cr_assert_eq(update(s, REF, &b, &c, "stale"), AV_ECONFLICT);
	cr_assert(strstr(av_error_last(), REF), "%s", av_error_last());
	got = ref_fresh(REF);
	cr_assert(git_oid_equal(&got, &a));
	/* The right expected value moves it. */
	cr_assert_eq(update(s, REF, &a, &b, "move"), 0, "%s", av_error_last());
	got = ref_fresh(REF);
	cr_assert(git_oid_equal(&got, &b));
	/* Updating an absent ref from a non-zero value is a conflict too. */
	cr_assert_eq(update(s, "refs/repos/absent", &a, &b, "x"), AV_ECONFLICT);
	cr_assert_eq(av_store_ref_read(s, "refs/repos/absent", &got), AV_ENOTFOUND);
	av_store_free(s);
}

Test(store, delete_is_a_compare_and_swap_too)
{
	av_store *s = open_store();
	git_oid a = put_blob(s, "a\n"), b = put_blob(s, "b\n"), got;

	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(update(s, REF, NULL, &a, "create"), 0);
	cr_assert_eq(update(s, REF, &b, NULL, "delete stale"), AV_ECONFLICT);
	got = ref_fresh(REF);
	cr_assert(git_oid_equal(&got, &a));
	cr_assert_eq(update(s, REF, &a, NULL, "delete"), 0, "%s", av_error_last());
	cr_assert_eq(av_store_ref_read(s, REF, &got), AV_ENOTFOUND);
	/* Deleting what is already gone from a non-zero value conflicts. */
	cr_assert_eq(update(s, REF, &a, NULL, "delete again"), AV_ECONFLICT);
	/* And the name can be created again. */
	cr_assert_eq(update(s, REF, NULL, &b, "recreate"), 0, "%s", av_error_last());
	av_store_free(s);
}

Test(store, several_refs_update_in_one_call_with_cas)
{
	av_store *s = open_store();
	git_oid a = put_blob(s, "a\n"), b = put_blob(s, "b\n"), got;
	av_ref_update u[2] = { { .refname = "refs/repos/one" },
			       { .refname = "refs/repos/two" } };

	cr_assert_eq(av_store_flush(s), 0);
	git_oid_cpy(&u[0].target, &a);
	git_oid_cpy(&u[1].target, &b);
	cr_assert_eq(av_store_refs_update(s, u, 2, "both"), 0, "%s", av_error_last());
	cr_assert_eq(av_store_stats_get(s)->refs_written, 2);
	got = ref_fresh("refs/repos/one");
	cr_assert(git_oid_equal(&got, &a));
	got = ref_fresh("refs/repos/two");
	cr_assert(git_oid_equal(&got, &b));
	/* Second call with the same (now stale) expectation: create → EEXISTS. */
	cr_assert_eq(av_store_refs_update(s, u, 2, "both again"), AV_EEXISTS);
	/* Swap them, then delete one and move the other. */
	git_oid_cpy(&u[0].expected, &a);
	git_oid_cpy(&u[1].expected, &a);	/* wrong */
	git_oid_cpy(&u[1].target, &a);
	cr_assert_eq(av_store_refs_update(s, u, 2, "bad"), AV_ECONFLICT);
	got = ref_fresh("refs/repos/two");
	cr_assert(git_oid_equal(&got, &b));
	git_oid_cpy(&u[1].expected, &b);
	memset(&u[0].target, 0, sizeof(git_oid));
	cr_assert_eq(av_store_refs_update(s, u, 2, "delete one"), 0, "%s", av_error_last());
	cr_assert_eq(av_store_ref_read(s, "refs/repos/one", &got), AV_ENOTFOUND);
	cr_assert_eq(av_store_ref_read(s, "refs/repos/two", &got), 0);
	cr_assert(git_oid_equal(&got, &a));
	av_store_free(s);
}

static void write_stale_lock(const char *refname)
{
	char path[4096], dir[4096];

	snprintf(dir, sizeof(dir), "%s/db/%s", root, refname);
	*strrchr(dir, '/') = '\0';
	cr_assert_eq(av_mkdir_p(dir), 0);
	snprintf(path, sizeof(path), "%s/db/%s.lock", root, refname);
	fx_write(path, "debris of a process killed mid-update\n");
}

static int stale_lock_exists(const char *refname)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/db/%s.lock", root, refname);
	return av_is_file(path);
}

Test(store, a_stale_ref_lock_left_by_a_crash_is_removed_and_the_update_succeeds)
{
	av_store *s = open_store();
	git_oid a = put_blob(s, "a\n"), b = put_blob(s, "b\n"), got;
	av_ref_update u[2] = { { .refname = "refs/repos/m1", .locked = 1 },
			       { .refname = "refs/repos/m2", .locked = 1 } };

	cr_assert_eq(av_store_flush(s), 0);
	/* On update of an existing ref. */
	cr_assert_eq(update(s, REF, NULL, &a, "create"), 0);
	write_stale_lock(REF);
	cr_assert_eq(update(s, REF, &a, &b, "update"), 0, "%s", av_error_last());
	cr_assert_not(stale_lock_exists(REF));
	got = ref_fresh(REF);
	cr_assert(git_oid_equal(&got, &b));
	/* On create. */
	write_stale_lock("refs/repos/new");
	cr_assert_eq(update(s, "refs/repos/new", NULL, &a, "create"), 0, "%s",
		     av_error_last());
	cr_assert_not(stale_lock_exists("refs/repos/new"));
	/* On delete. */
	write_stale_lock(REF);
	cr_assert_eq(update(s, REF, &b, NULL, "delete"), 0, "%s", av_error_last());
	cr_assert_not(stale_lock_exists(REF));
	cr_assert_eq(av_store_ref_read(s, REF, &got), AV_ENOTFOUND);
	/* In a multi-ref update. */
	git_oid_cpy(&u[0].target, &a);
	git_oid_cpy(&u[1].target, &b);
	write_stale_lock("refs/repos/m2");
	cr_assert_eq(av_store_refs_update(s, u, 2, "both"), 0, "%s", av_error_last());
	cr_assert_not(stale_lock_exists("refs/repos/m2"));
	got = ref_fresh("refs/repos/m2");
	cr_assert(git_oid_equal(&got, &b));
	av_store_free(s);
}

Test(store, failpoint_store_ref_fails_with_eio_and_leaves_the_ref)
{
	av_store *s = open_store();
	git_oid a = put_blob(s, "a\n"), b = put_blob(s, "b\n"), got;
	av_ref_update u[2] = { { .refname = REF }, { .refname = "refs/repos/other" } };

	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(update(s, REF, NULL, &a, "create"), 0);
	cr_assert_eq(setenv("APTVAULT_FAILPOINTS", "store-ref", 1), 0);
	av_failpoint_reset();
	cr_assert_eq(update(s, REF, &a, &b, "update"), AV_EIO);
	cr_assert(strstr(av_error_last(), "failpoint store-ref"), "%s", av_error_last());
	git_oid_cpy(&u[0].expected, &a);
	git_oid_cpy(&u[0].target, &b);
	git_oid_cpy(&u[1].target, &b);
	cr_assert_eq(av_store_refs_update(s, u, 2, "both"), AV_EIO);
	cr_assert_eq(av_store_stats_get(s)->refs_written, 1);
	got = ref_fresh(REF);
	cr_assert(git_oid_equal(&got, &a));
	cr_assert_eq(av_store_ref_read(s, "refs/repos/other", &got), AV_ENOTFOUND);
	unsetenv("APTVAULT_FAILPOINTS");
	cr_assert_eq(update(s, REF, &a, &b, "update"), 0, "%s", av_error_last());
	av_store_free(s);
}

Test(store, failpoint_store_pack_fails_the_commit_with_eio_and_leaves_the_ref)
{
	av_store *s = open_store();
	git_oid a = put_blob(s, "a\n"), last = { { 0 } }, got;
	av_txn *t = NULL;
	char text[32];

	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(update(s, REF, NULL, &a, "create"), 0);
	cr_assert_eq(setenv("APTVAULT_FAILPOINTS", "store-pack", 1), 0);
	av_failpoint_reset();
	cr_assert_eq(av_txn_begin(&t, s, NULL), 0, "%s", av_error_last());
	cr_assert_eq(av_txn_declare(t, "repo", "main", AV_LOCK_EXCLUSIVE), 0);
	cr_assert_eq(av_txn_lock(t), 0);
	cr_assert_eq(av_txn_read(t, "repo", "main", &got), 0);
	for (int i = 0; i < 30; i++) {
		snprintf(text, sizeof(text), "new %d\n", i);
		last = put_blob(s, text);
	}
	cr_assert_eq(av_txn_stage(t, "repo", "main", &last), 0);
	cr_assert_eq(av_txn_commit(t, "add"), AV_EIO);
	cr_assert(strstr(av_error_last(), "failpoint store-pack"), "%s", av_error_last());
	av_txn_free(t);
	cr_assert_eq(av_store_stats_get(s)->refs_written, 1);
	cr_assert_eq(av_store_stats_get(s)->packs_written, 0);
	got = ref_fresh(REF);
	cr_assert(git_oid_equal(&got, &a), "the ref moved although its objects failed");
	cr_assert_eq(files_in("db/objects/pack", ""), 0, "the failed pack left files behind");
	cr_assert_null(read_fresh(&last));
	av_store_free(s);
}

Test(store, a_failed_pack_keeps_the_objects_buffered_for_a_retry)
{
	av_store *s = open_store();
	git_oid oids[20];
	char text[32];

	for (int i = 0; i < 20; i++) {
		snprintf(text, sizeof(text), "retry %d\n", i);
		oids[i] = put_blob(s, text);
	}
	cr_assert_eq(setenv("APTVAULT_FAILPOINTS", "store-pack=1", 1), 0);
	av_failpoint_reset();
	cr_assert_eq(av_store_flush(s), AV_EIO);
	cr_assert_eq(files_in("db/objects/pack", ".pack"), 0);
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	cr_assert_eq(av_store_stats_get(s)->packs_written, 1);
	cr_assert_eq(av_store_stats_get(s)->objects_written, 20);
	av_store_free(s);
	for (int i = 0; i < 20; i++)
		free(read_fresh(&oids[i]));
	cr_assert_eq(files_in("db/objects/pack", ".pack"), 1);
}

/* --- I4 at the store: the create race --- */

static av_store *race_store;
static int race_round;

static int race_prepare(int i, void *arg)
{
	char text[64];
	git_oid *target = arg;
	int rc;

	if ((rc = av_store_open(&race_store, root, 0)))
		return rc;
	snprintf(text, sizeof(text), "round %d child %d\n", race_round, i);
	if ((rc = av_store_blob_write(race_store, &target[i], text, strlen(text))))
		return rc;
	return av_store_flush(race_store);
}

static int race_create_as(int i, void *arg, int locked)
{
	git_oid *target = arg;
	char ref[64];
	av_ref_update u = { .refname = ref, .locked = locked };

	snprintf(ref, sizeof(ref), "refs/repos/race%d", race_round);
	git_oid_cpy(&u.target, &target[i]);
	return av_store_ref_update(race_store, &u, "create");
}

static int race_create(int i, void *arg)
{
	return race_create_as(i, arg, 0);
}

/* The way txn.c calls the store: under the resource's exclusive flock. */
static int race_create_locked(int i, void *arg)
{
	av_lockset *ls = NULL;
	char name[32];
	int rc;

	snprintf(name, sizeof(name), "race%d", race_round);
	if ((rc = av_lockset_new(&ls, root)) ||
	    (rc = av_lockset_add(ls, "repo", name, AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_lockset_acquire(ls, -1)))
		goto done;
	rc = race_create_as(i, arg, 1);
done:
	av_lockset_free(ls);
	return rc;
}

/* strict: every loser must say "already exists"; otherwise a loser may
 * also say the ref is busy (a writer without the flock cannot tell a
 * live ref lock from debris, so it must not remove it). */
static void race(child_fn fn, int strict)
{
	av_store *s = open_store();
	git_oid target[16];
	int status[16];

	av_store_free(s);
	for (race_round = 0; race_round < 50; race_round++) {
		int winners = 0, exists = 0, busy = 0, winner = -1;
		char ref[64], text[64];
		git_oid got, want;

		run_children(16, race_prepare, fn, target, status);
		for (int i = 0; i < 16; i++) {
			if (status[i] == 0) {
				winners++;
				winner = i;
			} else if (status[i] == -AV_EEXISTS) {
				exists++;
			} else if (status[i] == -AV_EBUSY && !strict) {
				busy++;
			}
		}
		cr_assert_eq(winners, 1, "round %d: %d winners", race_round, winners);
		cr_assert_eq(exists + busy, 15, "round %d: %d said 'already exists', "
			     "%d 'busy', %d failed otherwise (run with AV_TEST_VERBOSE=1 to "
			     "see why)", race_round, exists, busy, 15 - exists - busy);
		snprintf(ref, sizeof(ref), "refs/repos/race%d", race_round);
		got = ref_fresh(ref);
		snprintf(text, sizeof(text), "round %d child %d\n", race_round, winner);
		git_odb_hash(&want, text, strlen(text), GIT_OBJECT_BLOB);
		cr_assert(git_oid_equal(&got, &want), "round %d: the ref is not the "
			  "winner's", race_round);
		cr_assert_not(stale_lock_exists(ref));
	}
}

Test(store, of_16_concurrent_creates_under_the_resource_lock_one_wins_50_times,
     .timeout = 120)
{
	race(race_create_locked, 1);
}

/*
 * The compare-and-swap is the backstop for a writer that does not hold the
 * flock (a bug, or a foreign process): on its own it must still let exactly
 * one create win; the rest say "already exists" or "busy".
 */
Test(store, of_16_concurrent_creates_without_the_lock_the_cas_alone_has_one_winner,
     .timeout = 120)
{
	race(race_create, 0);
}

/* --- names --- */

static void roundtrip(const char *name, const char *want)
{
	av_buf enc = AV_BUF_INIT, dec = AV_BUF_INIT;

	cr_assert_eq(av_name_encode(&enc, name), 0);
	cr_assert_str_eq(av_buf_cstr(&enc), want, "encode '%s'", name);
	for (const char *p = av_buf_cstr(&enc); *p; p++)
		cr_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789_+-%", *p), "'%c' in encoded '%s'", *p, enc.ptr);
	cr_assert_eq(av_name_decode(&dec, av_buf_cstr(&enc)), 0);
	cr_assert_str_eq(av_buf_cstr(&dec), name);
	av_buf_dispose(&enc);
	av_buf_dispose(&dec);
}

Test(store, name_encoding_round_trips_tricky_names)
{
	av_buf dec = AV_BUF_INIT;

	roundtrip("plain-Name_1+2", "plain-Name_1+2");
	roundtrip("a.b", "a%2Eb");
	roundtrip("..", "%2E%2E");
	roundtrip("x.lock", "x%2Elock");
	roundtrip("with space", "with%20space");
	roundtrip("\xc3\xbcn\xc3\xaf", "%C3%BCn%C3%AF");	/* ünï */
	roundtrip("%41", "%2541");
	roundtrip("a/b", "a%2Fb");
	roundtrip("stable/updates@{1}~^:?*[\\", "stable%2Fupdates%40%7B1%7D%7E%5E%3A%3F%2A%5B%5C");
	cr_assert_eq(av_name_decode(&dec, "%4"), AV_EINVALID);
	cr_assert_eq(av_name_decode(&dec, "%zz"), AV_EINVALID);
	av_buf_clear(&dec);
	cr_assert_eq(av_name_decode(&dec, "a%2eb"), 0);
	cr_assert_str_eq(av_buf_cstr(&dec), "a.b");
	av_buf_dispose(&dec);
}

Test(store, encoded_names_are_valid_refs_and_list_back_decoded_and_sorted)
{
	static const char *const names[] = {
		"a.b", "..", "x.lock", "with space", "\xc3\xbcn\xc3\xaf", "%41", ".hidden",
		"trailing.", "HEAD",
	};
	const size_t n = sizeof(names) / sizeof(names[0]);
	av_store *s = open_store();
	git_oid a = put_blob(s, "a\n");
	char **got = NULL;
	size_t ngot = 0;

	cr_assert_eq(av_store_flush(s), 0);
	for (size_t i = 0; i < n; i++) {
		av_buf ref = AV_BUF_INIT;
		cr_assert_eq(av_txn_refname(&ref, "repo", names[i]), 0);
		cr_assert_eq(update(s, ref.ptr, NULL, &a, "create"), 0, "'%s': %s",
			     names[i], av_error_last());
		av_buf_dispose(&ref);
	}
	cr_assert_eq(av_store_ref_names(s, "refs/repos/", &got, &ngot), 0);
	cr_assert_eq(ngot, n);
	for (size_t i = 0; i < ngot; i++) {
		int found = 0;
		for (size_t j = 0; j < n; j++)
			found |= !strcmp(got[i], names[j]);
		cr_assert(found, "listed '%s' is not a name we created", got[i]);
		if (i)
			cr_assert_lt(strcmp(got[i - 1], got[i]), 0, "not sorted");
	}
	av_store_names_free(got, ngot);
	cr_assert_eq(av_store_ref_names(s, "refs/mirrors/", &got, &ngot), 0);
	cr_assert_eq(ngot, 0);
	av_store_names_free(got, ngot);
	av_store_free(s);
}

Test(store, name_check_rejects_empty_dots_slashes_and_control_characters)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "/", "a\tb", "a\nb",
					   "\x7f", "x\x1b[31m" };
	static const char *const good[] = { "a.b", "..a", ".hidden", "with space",
					    "\xc3\xbcn\xc3\xaf", "%41", "x.lock", "a-b_c+d" };
	char longname[202];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(av_name_check("repo", bad[i]), AV_EINVALID, "'%s' accepted",
			     bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(av_name_check("repo", good[i]), 0, "'%s': %s", good[i],
			     av_error_last());
	cr_assert_eq(av_name_check("repo", "a/b"), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "repo name 'a/b' contains '/'"), "%s",
		  av_error_last());
	cr_assert_eq(av_name_check("mirror", ""), AV_EINVALID);
	cr_assert_str_eq(av_error_last(), "mirror name is empty");
	memset(longname, 'x', 200);
	longname[200] = '\0';
	cr_assert_eq(av_name_check("repo", longname), 0);
	longname[200] = 'x';
	longname[201] = '\0';
	cr_assert_eq(av_name_check("repo", longname), AV_EINVALID);
}

/* --- history --- */

typedef struct hist {
	char msg[16][64];
	git_oid old_oid[16], new_oid[16];
	long long when[16];
	int n;
} hist;

static int collect(const av_history_entry *e, void *payload)
{
	hist *h = payload;

	if (h->n < 16) {
		snprintf(h->msg[h->n], sizeof(h->msg[0]), "%s", e->message);
		git_oid_cpy(&h->old_oid[h->n], &e->old_oid);
		git_oid_cpy(&h->new_oid[h->n], &e->new_oid);
		h->when[h->n] = e->when;
	}
	h->n++;
	return 0;
}

Test(store, history_lists_updates_newest_first_and_its_limit_keeps_the_newest)
{
	av_store *s = open_store();
	git_oid v[8];
	hist h = { 0 };
	long long now = (long long)time(NULL);

	for (int i = 0; i < 8; i++) {
		char text[16];
		snprintf(text, sizeof(text), "v%d\n", i);
		v[i] = put_blob(s, text);
	}
	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(update(s, REF, NULL, &v[0], "m0"), 0);
	for (int i = 1; i < 5; i++) {
		char msg[16];
		snprintf(msg, sizeof(msg), "m%d", i);
		cr_assert_eq(update(s, REF, &v[i - 1], &v[i], msg), 0, "%s", av_error_last());
	}
	cr_assert_eq(av_store_history(s, REF, collect, &h), 0, "%s", av_error_last());
	cr_assert_eq(h.n, 5);
	for (int i = 0; i < 5; i++) {
		char want[16];
		snprintf(want, sizeof(want), "m%d", 4 - i);
		cr_assert_str_eq(h.msg[i], want, "entry %d", i);
		cr_assert(git_oid_equal(&h.new_oid[i], &v[4 - i]));
		cr_assert(h.when[i] >= now - 60 && h.when[i] <= now + 60);
	}
	cr_assert(git_oid_is_zero(&h.old_oid[4]), "the create's old value is zero");
	cr_assert(git_oid_equal(&h.old_oid[0], &v[3]));

	av_store_set_history_limit(s, 3);
	cr_assert_eq(update(s, REF, &v[4], &v[5], "m5"), 0);
	memset(&h, 0, sizeof(h));
	cr_assert_eq(av_store_history(s, REF, collect, &h), 0);
	cr_assert_eq(h.n, 3);
	cr_assert_str_eq(h.msg[0], "m5");
	cr_assert_str_eq(h.msg[1], "m4");
	cr_assert_str_eq(h.msg[2], "m3");
	cr_assert(git_oid_equal(&h.new_oid[2], &v[3]));
	cr_assert_eq(update(s, REF, &v[5], &v[6], "m6"), 0);
	memset(&h, 0, sizeof(h));
	cr_assert_eq(av_store_history(s, REF, collect, &h), 0);
	cr_assert_eq(h.n, 3);
	cr_assert_str_eq(h.msg[0], "m6");
	cr_assert_str_eq(h.msg[2], "m4");
	av_store_free(s);

	/* The trimmed history is what a fresh handle (and git) sees. */
	s = open_store();
	memset(&h, 0, sizeof(h));
	cr_assert_eq(av_store_history(s, REF, collect, &h), 0);
	cr_assert_eq(h.n, 3);
	av_store_free(s);
	cr_assert_eq(fx_sh("test \"$(wc -l < '%s/db/logs/" REF "')\" = 3", root), 0);
}

static int stop_at_two(const av_history_entry *e, void *payload)
{
	(void)e;
	return ++*(int *)payload == 2 ? 42 : 0;
}

Test(store, history_stops_when_the_callback_says_so)
{
	av_store *s = open_store();
	git_oid a = put_blob(s, "a\n"), b = put_blob(s, "b\n");
	int seen = 0;

	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(update(s, REF, NULL, &a, "1"), 0);
	cr_assert_eq(update(s, REF, &a, &b, "2"), 0);
	cr_assert_eq(update(s, REF, &b, &a, "3"), 0);
	cr_assert_eq(av_store_history(s, REF, stop_at_two, &seen), 42);
	cr_assert_eq(seen, 2);
	av_store_free(s);
}

/* ---- readers: whole packed objects straight from the packs ------------- */

/* Blob i of the reader tests: sizes from 0 bytes to 600 KB, many alike
 * (so that git repack makes deltas of them). */
static void reader_text(av_buf *b, int i)
{
	av_buf_clear(b);
	for (int k = 0; k < (i % 5) * 3000 * (i % 3 + 1); k++)
		cr_assert_eq(av_buf_printf(b, "Package: p%d\nLine: %d of blob\n", i % 4, k), 0);
	if (i != 5)	/* blob 5 is empty, every other one unique */
		cr_assert_eq(av_buf_printf(b, "Blob: %d\n", i), 0);
}

static void reader_check_all(av_store *s, const git_oid *oids, int n, const char *what)
{
	av_store_reader *r = NULL;
	av_buf want = AV_BUF_INIT, got = AV_BUF_INIT;

	cr_assert_eq(av_store_reader_open(s, &r), 0, "%s", av_error_last());
	for (int i = 0; i < n; i++) {
		reader_text(&want, i);
		av_buf_clear(&got);
		cr_assert_eq(av_store_reader_blob(r, &got, &oids[i]), 0, "%s: blob %d: %s", what,
			     i, av_error_last());
		cr_assert_eq(got.len, want.len, "%s: blob %d has %zu bytes, not %zu", what, i,
			     got.len, want.len);
		cr_assert(!want.len || !memcmp(got.ptr, want.ptr, want.len), "%s: blob %d", what, i);
	}
	cr_assert_eq(av_store_reader_reads(r), (unsigned long)n);
	av_store_reader_free(r);
	av_buf_dispose(&want);
	av_buf_dispose(&got);
}

Test(store, a_reader_reads_packed_loose_and_deltified_blobs_alike)
{
	av_store *s = open_store();
	av_buf text = AV_BUF_INIT;
	git_oid oids[30];

	for (int i = 0; i < 30; i++) {
		reader_text(&text, i);
		cr_assert_eq(av_store_blob_write(s, &oids[i], text.ptr ? text.ptr : "", text.len), 0);
		if (i == 19 || i == 29)	/* 20 in a pack, then 10 loose */
			cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	}
	cr_assert_eq(files_in("db/objects/pack", ".pack"), 1);
	reader_check_all(s, oids, 30, "packed and loose");
	/* git's own packs hold deltas, which the reader leaves to libgit2:
	 * repack every object with git alone */
	{
		char *list = join(base, "oids");
		FILE *f = fopen(list, "w");
		char hex[GIT_OID_HEXSZ + 1];

		cr_assert_not_null(f);
		for (int i = 0; i < 30; i++)
			fprintf(f, "%s\n", git_oid_tostr(hex, sizeof(hex), &oids[i]));
		cr_assert_eq(fclose(f), 0);
		cr_assert_eq(fx_sh("cd '%s'/db && old=$(ls objects/pack/pack-*) && "
				   "git --git-dir=. pack-objects -q --window=50 objects/pack/pack "
				   "<'%s' >/dev/null && rm -f $old && rm -rf objects/[0-9a-f][0-9a-f] && "
				   "git --git-dir=. verify-pack -v objects/pack/*.idx | "
				   "grep -q '^chain length'", root, list), 0, "git made no deltas");
		free(list);
	}
	reader_check_all(s, oids, 30, "after git repack");
	av_buf_dispose(&text);
	av_store_free(s);
}

Test(store, a_reader_reports_a_damaged_packed_blob)
{
	av_store *s = open_store();
	av_store_reader *r = NULL;
	av_buf text = AV_BUF_INIT, got = AV_BUF_INIT;
	git_oid oids[20];

	for (int i = 0; i < 20; i++) {
		reader_text(&text, i);
		cr_assert_eq(av_store_blob_write(s, &oids[i], text.ptr ? text.ptr : "", text.len), 0);
	}
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	/* flip bytes all through the pack's middle third, where the big blobs
	 * are */
	cr_assert_eq(fx_sh("cd '%s'/db/objects/pack && p=$(ls *.pack) && chmod u+w $p && "
			   "n=$(stat -c %%s $p) && python3 -c \"import sys; f=open(sys.argv[1],'r+b'); "
			   "n=int(sys.argv[2]); [(f.seek(o), f.write(b'\\\\xff')) for o in "
			   "range(n//3, 2*n//3, 97)]\" $p $n", root), 0);
	cr_assert_eq(av_store_reader_open(s, &r), 0);
	{
		int damaged = 0, ours = 0;

		for (int i = 0; i < 20; i++) {
			int rc;

			av_buf_clear(&got);
			rc = av_store_reader_blob(r, &got, &oids[i]);
			if (!rc) {	/* then it must be intact */
				reader_text(&text, i);
				cr_assert(got.len == text.len &&
					  (!got.len || !memcmp(got.ptr, text.ptr, got.len)),
					  "blob %d read back changed", i);
				continue;
			}
			/* a header turned into a delta's goes to libgit2, which
			 * fails in its own words */
			damaged++;
			ours += rc == AV_EINVALID && strstr(av_error_last(), "damaged") != NULL;
		}
		cr_assert_geq(damaged, 1, "no damaged blob was noticed");
		cr_assert_geq(ours, 1, "no damage reported by the reader itself");
	}
	av_store_reader_free(r);
	av_buf_dispose(&text);
	av_buf_dispose(&got);
	av_store_free(s);
}

/* Deferred durability: loose objects and a pack flushed while deferring
 * are whole and readable from another handle; settling after a syncfs of
 * the root's filesystem owes nothing more. */
Test(store, deferred_flushes_write_whole_objects_and_settle)
{
	av_store *s = open_store();
	git_oid few[3], many[40];
	char text[64];

	av_store_defer_sync(s, 1);
	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "loose %d\n", i);
		few[i] = put_blob(s, text);
	}
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "packed %d\n", i);
		many[i] = put_blob(s, text);
	}
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	cr_assert_eq(av_store_stats_get(s)->packs_written, 1);
	cr_assert_eq(av_store_settle(s, root), 0, "%s", av_error_last());
	cr_assert_eq(av_store_defer_sync(s, 0), 0);
	av_store_free(s);
	assert_texts(few, 3, "loose %d\n");
	assert_texts(many, 40, "packed %d\n");
	cr_assert_eq(fx_sh("git --git-dir='%s/db' verify-pack '%s'/db/objects/pack/*.idx",
			   root, root), 0);
}

/* Raw tree reads give libgit2's entries, from the write buffer, loose
 * objects and packs alike, and refuse what is not a tree. */
Test(store, raw_tree_reads_match_libgit2_wherever_the_tree_is)
{
	av_store *s = open_store();
	git_treebuilder *tb = NULL;
	git_oid blobs[20], tree, sub;
	av_rawtree raw = { AV_BUF_INIT, NULL, 0, 0 };
	git_tree *t = NULL;
	char name[32];

	cr_assert_eq(git_treebuilder_new(&tb, av_store_git(s), NULL), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "entry-%02d\n", i);
		blobs[i] = put_blob(s, name);
		name[8] = '\0';
		cr_assert_eq(git_treebuilder_insert(NULL, tb, name, &blobs[i], GIT_FILEMODE_BLOB), 0);
	}
	cr_assert_eq(av_store_tree_write(s, &sub, tb), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, tb, "zz", &sub, GIT_FILEMODE_TREE), 0);
	cr_assert_eq(av_store_tree_write(s, &tree, tb), 0);
	git_treebuilder_free(tb);
	for (int round = 0; round < 2; round++) {	/* buffered, then packed */
		cr_assert_eq(av_store_tree_raw(s, &tree, &raw), 0, "%s", av_error_last());
		cr_assert_eq(git_tree_lookup(&t, av_store_git(s), &tree), 0);
		cr_assert_eq(raw.n, git_tree_entrycount(t));
		for (size_t i = 0; i < raw.n; i++) {
			const git_tree_entry *e = git_tree_entry_byindex(t, i);
			cr_assert_str_eq(raw.e[i].name, git_tree_entry_name(e));
			cr_assert(git_oid_equal(raw.e[i].oid, git_tree_entry_id(e)));
			cr_assert_eq(raw.e[i].is_tree, git_tree_entry_type(e) == GIT_OBJECT_TREE);
		}
		git_tree_free(t);
		cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	}
	cr_assert_eq(av_store_tree_raw(s, &blobs[0], &raw), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "not a tree"), "%s", av_error_last());
	av_rawtree_dispose(&raw);
	av_store_free(s);
}

/* I6 with deferred syncs: while flushed objects await their sync, no ref
 * may name them; settling (or ending the deferral) lets refs move again. */
Test(store, no_ref_moves_while_deferred_objects_are_unsettled)
{
	av_store *s = open_store();
	av_ref_update u = { .refname = "refs/repos/deferred", .locked = 1 };
	av_ref_update two[2] = { { .refname = "refs/repos/d1", .locked = 1 },
				 { .refname = "refs/repos/d2", .locked = 1 } };

	av_store_defer_sync(s, 1);
	u.target = put_blob(s, "deferred\n");
	two[0].target = two[1].target = u.target;
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	cr_assert_eq(av_store_ref_update(s, &u, "test"), AV_ERROR);
	cr_assert(strstr(av_error_last(), "not yet synced"), "%s", av_error_last());
	cr_assert_eq(av_store_refs_update(s, two, 2, "test"), AV_ERROR);
	/* ending the deferral settles what is owed */
	cr_assert_eq(av_store_defer_sync(s, 0), 0, "%s", av_error_last());
	cr_assert_eq(av_store_ref_update(s, &u, "test"), 0, "%s", av_error_last());
	av_store_free(s);
}
