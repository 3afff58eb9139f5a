/*
 * test_repo.c - local repositories through lib/repo.h: create (and
 * exist_ok), edit, list, rename, drop; adding real .debs imported with
 * av_import_files; conflicts that change nothing; remove by query; copy
 * and move between repos; concurrent adds (I5); and I10: adding one
 * package to a 10,000-package repo reads the repo ref once and writes
 * O(log n) trees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <criterion/criterion.h>
#include "aptvault/repo.h"
#include "aptvault/plist.h"
#include "aptvault/import.h"
#include "aptvault/txn.h"
#include "aptvault/lock.h"
#include "aptvault/query.h"
#include "aptvault/package.h"
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "fixtures.h"

static char *base, *root, *debs;
static av_store *store;
static av_ctx ctx;

static char *join(const char *dir, const char *name)
{
	char *p = NULL;

	cr_assert_neq(asprintf(&p, "%s/%s", dir, name), -1);
	return p;
}

static void setup(void)
{
	base = fx_tmpdir();
	root = join(base, "root");
	debs = join(base, "debs");
	cr_assert_eq(av_mkdir_p(debs), 0);
	cr_assert_eq(av_store_open(&store, root, 1), 0, "%s", av_error_last());
	ctx = (av_ctx){ store, -1, "test" };
}

static void teardown(void)
{
	av_store_free(store);
	av_remove_tree(base);
	free(debs);
	free(root);
	free(base);
}

TestSuite(repo, .init = setup, .fini = teardown, .timeout = 60);

static void create(const char *name)
{
	int created = 0;

	cr_assert_eq(av_repo_create(&ctx, name, NULL, 0, &created), 0, "%s",
		     av_error_last());
	cr_assert_eq(created, 1);
}

static git_oid ref_of(const char *name)
{
	av_buf ref = AV_BUF_INIT;
	git_oid oid;

	cr_assert_eq(av_txn_refname(&ref, "repo", name), 0);
	av_store_ref_read(store, ref.ptr, &oid);
	av_buf_dispose(&ref);
	return oid;
}

/* Import the given .deb paths (NULL-terminated). */
static av_import *import(char *const *paths)
{
	av_import *imp = NULL;
	size_t n = 0;

	while (paths[n])
		n++;
	cr_assert_eq(av_import_files(&imp, store, paths, n, NULL), 0, "%s", av_error_last());
	return imp;
}

/* Import one freshly built .deb into a subdirectory sub of debs. */
static av_import *import_deb(const char *sub, const char *name, const char *version,
			     const char *arch, const char *extra)
{
	char *dir = join(debs, sub);
	char *path;
	av_import *imp;

	cr_assert_eq(av_mkdir_p(dir), 0);
	path = fx_make_deb(dir, name, version, arch, extra, NULL);
	imp = import((char *[]){ path, NULL });
	free(path);
	free(dir);
	return imp;
}

typedef struct listing {
	char keys[32][96];
	int n;
} listing;

static int list_cb(const char *key, const av_pkg *pkg, void *payload)
{
	listing *l = payload;

	cr_assert_not_null(pkg->name);
	if (l->n < 32)
		snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", key);
	l->n++;
	return 0;
}

static listing list(const char *name)
{
	av_state *st = NULL;
	listing l = { 0 };

	cr_assert_eq(av_repo_open(&ctx, name, &st), 0, "%s", av_error_last());
	cr_assert_eq(av_list_select(store, &st->packages, NULL, list_cb, &l), 0, "%s",
		     av_error_last());
	av_state_free(st);
	return l;
}

static int listed(const listing *l, const char *key)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->keys[i], key))
			return 1;
	return 0;
}

/* --- create, open, edit, names --- */

Test(repo, create_makes_a_repo_with_default_settings)
{
	av_state *st = NULL;
	av_repo_settings set = { .comment = "my packages", .distribution = "bookworm" };
	int created = -1;

	cr_assert_eq(av_repo_open(&ctx, "main", &st), AV_ENOTFOUND);
	cr_assert_str_eq(av_error_last(), "repo 'main' does not exist; see 'aptvault repo list'");
	cr_assert_eq(av_repo_create(&ctx, "main", NULL, 0, &created), 0, "%s",
		     av_error_last());
	cr_assert_eq(created, 1);
	cr_assert_eq(av_repo_open(&ctx, "main", &st), 0, "%s", av_error_last());
	cr_assert_str_eq(av_state_get(st, "comment", "?"), "");
	cr_assert_str_eq(av_state_get(st, "distribution", "?"), "");
	cr_assert_str_eq(av_state_get(st, "component", "?"), "main");
	cr_assert(git_oid_equal(&st->commit, &(git_oid){ 0 }) == 0);
	av_state_free(st);

	cr_assert_eq(av_repo_create(&ctx, "other", &set, 0, NULL), 0);
	cr_assert_eq(av_repo_open(&ctx, "other", &st), 0);
	cr_assert_str_eq(av_state_get(st, "comment", "?"), "my packages");
	cr_assert_str_eq(av_state_get(st, "distribution", "?"), "bookworm");
	cr_assert_str_eq(av_state_get(st, "component", "?"), "main");
	av_state_free(st);
}

Test(repo, creating_an_existing_repo_is_eexists_unless_exist_ok)
{
	git_oid before;
	int created = -1;

	create("main");
	before = ref_of("main");
	cr_assert_eq(av_repo_create(&ctx, "main", NULL, 0, &created), AV_EEXISTS);
	cr_assert_str_eq(av_error_last(), "repo 'main' already exists");
	cr_assert_eq(created, 0);
	cr_assert_eq(av_repo_create(&ctx, "main", NULL, 1, &created), 0, "%s",
		     av_error_last());
	cr_assert_eq(created, 0);
	cr_assert(git_oid_equal(&before, &(git_oid){ 0 }) == 0);
	{
		git_oid after = ref_of("main");
		cr_assert(git_oid_equal(&before, &after), "exist_ok rewrote the repo");
	}
}

Test(repo, create_refuses_invalid_names)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "tab\there" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(av_repo_create(&ctx, bad[i], NULL, 0, NULL), AV_EINVALID,
			     "'%s' accepted", bad[i]);
	/* Odd but valid names work and list back as given. */
	create("with space");
	create("x.lock");
	create("\xc3\xbcn\xc3\xaf");
	{
		char **names = NULL;
		size_t n = 0;
		cr_assert_eq(av_repo_names(&ctx, &names, &n), 0);
		cr_assert_eq(n, 3);
		cr_assert_str_eq(names[0], "with space");
		cr_assert_str_eq(names[1], "x.lock");
		cr_assert_str_eq(names[2], "\xc3\xbcn\xc3\xaf");
		av_store_names_free(names, n);
	}
}

Test(repo, edit_changes_only_the_given_settings)
{
	av_repo_settings set = { .comment = "new comment" };
	av_state *st = NULL;

	create("main");
	cr_assert_eq(av_repo_edit(&ctx, "main", &set), 0, "%s", av_error_last());
	cr_assert_eq(av_repo_open(&ctx, "main", &st), 0);
	cr_assert_str_eq(av_state_get(st, "comment", "?"), "new comment");
	cr_assert_str_eq(av_state_get(st, "component", "?"), "main");
	av_state_free(st);
	cr_assert_eq(av_repo_edit(&ctx, "absent", &set), AV_ENOTFOUND);
}

/* --- add --- */

Test(repo, add_imports_real_debs_into_the_repo_and_the_pool)
{
	char *p1 = fx_make_deb(debs, "hello", "2.10-3", "amd64", NULL, NULL);
	char *p2 = fx_make_deb(debs, "hello", "2.10-3", "i386", NULL, NULL);
	char *p3 = fx_make_deb(debs, "hello-doc", "2.10-3", "all", NULL, "xz");
	av_import *imp;
	av_change chg = { 0 };
	listing l;

	create("main");
	imp = import((char *[]){ p1, p2, p3, NULL });
	cr_assert_eq(imp->n, 3);
	cr_assert_eq(av_repo_add(&ctx, "main", imp, 0, &chg), 0, "%s", av_error_last());
	cr_assert_eq(chg.added, 3);
	cr_assert_eq(chg.replaced, 0);
	cr_assert_eq(chg.unchanged, 0);
	cr_assert(!git_oid_is_zero(&chg.before) && !git_oid_is_zero(&chg.after));
	{
		git_oid now = ref_of("main");
		cr_assert(git_oid_equal(&now, &chg.after));
	}
	l = list("main");
	cr_assert_eq(l.n, 3);
	cr_assert(listed(&l, "hello_2.10-3_amd64"));
	cr_assert(listed(&l, "hello_2.10-3_i386"));
	cr_assert(listed(&l, "hello-doc_2.10-3_all"));
	cr_assert_eq(fx_sh("test \"$(find '%s/pool' -type f | wc -l)\" = 3", root), 0);
	/* Adding the same files again changes nothing. */
	{
		git_oid before = ref_of("main"), after;
		cr_assert_eq(av_repo_add(&ctx, "main", imp, 0, &chg), 0);
		cr_assert_eq(chg.unchanged, 3);
		cr_assert_eq(chg.added, 0);
		after = ref_of("main");
		cr_assert(git_oid_equal(&before, &after), "a no-op add moved the ref");
	}
	av_import_free(imp);
	free(p1);
	free(p2);
	free(p3);
}

Test(repo, add_of_a_different_package_with_the_same_identity_conflicts_and_changes_nothing)
{
	av_import *a = import_deb("a", "hello", "1.0", "amd64", NULL);
	av_import *b = import_deb("b", "hello", "1.0", "amd64", "Homepage: https://x.example\n");
	av_change chg = { 0 };
	git_oid before, after, blob;
	av_state *st = NULL;
	av_plist *l = NULL;

	create("main");
	cr_assert_eq(av_repo_add(&ctx, "main", a, 0, NULL), 0);
	before = ref_of("main");
	cr_assert(!git_oid_equal(&a->items[0].blob, &b->items[0].blob));
	cr_assert_eq(av_repo_add(&ctx, "main", b, 0, &chg), AV_ECONFLICT);
	cr_assert(strstr(av_error_last(), "hello_1.0_amd64"), "%s", av_error_last());
	cr_assert(strstr(av_error_last(), "nothing was added"), "%s", av_error_last());
	cr_assert(strstr(av_error_last(), b->items[0].sources[0]), "%s", av_error_last());
	after = ref_of("main");
	cr_assert(git_oid_equal(&before, &after));
	/* --force-replace replaces it. */
	cr_assert_eq(av_repo_add(&ctx, "main", b, 1, &chg), 0, "%s", av_error_last());
	cr_assert_eq(chg.replaced, 1);
	cr_assert_eq(chg.added, 0);
	cr_assert_eq(av_repo_open(&ctx, "main", &st), 0);
	cr_assert_eq(av_plist_open(&l, store, &st->packages), 0);
	cr_assert_eq(av_plist_get(l, "hello_1.0_amd64", &blob), 0);
	cr_assert(git_oid_equal(&blob, &b->items[0].blob));
	av_plist_free(l);
	av_state_free(st);
	av_import_free(a);
	av_import_free(b);
}

Test(repo, add_to_a_missing_repo_is_enotfound)
{
	av_import *a = import_deb("a", "hello", "1.0", "amd64", NULL);

	cr_assert_eq(av_repo_add(&ctx, "absent", a, 0, NULL), AV_ENOTFOUND);
	cr_assert_str_eq(av_error_last(), "repo 'absent' does not exist; see 'aptvault repo list'");
	av_import_free(a);
}

Test(repo, history_records_each_change_with_the_command)
{
	av_import *a = import_deb("a", "hello", "1.0", "amd64", NULL);

	create("main");
	cr_assert_eq(av_repo_add(&ctx, "main", a, 0, NULL), 0);
	cr_assert_eq(fx_sh("grep -q 'test -- created' '%s/db/logs/refs/repos/main'", root), 0);
	cr_assert_eq(fx_sh("grep -q 'test -- +1 -0 ~0' '%s/db/logs/refs/repos/main'", root), 0);
	cr_assert_eq(fx_sh("test \"$(wc -l < '%s/db/logs/refs/repos/main')\" = 2", root), 0);
	av_import_free(a);
}

/* --- rename, drop --- */

Test(repo, rename_moves_the_repo_and_the_old_name_is_gone)
{
	av_import *a = import_deb("a", "hello", "1.0", "amd64", NULL);
	av_import *b = import_deb("b", "other", "1.0", "amd64", NULL);
	git_oid before = { { 0 } }, after;
	listing l;

	create("old");
	cr_assert_eq(av_repo_add(&ctx, "old", a, 0, NULL), 0);
	before = ref_of("old");
	cr_assert_eq(av_repo_rename(&ctx, "old", "new"), 0, "%s", av_error_last());
	after = ref_of("new");
	cr_assert(git_oid_equal(&before, &after), "rename changed the state");
	cr_assert_eq(av_repo_add(&ctx, "old", b, 0, NULL), AV_ENOTFOUND);
	cr_assert(strstr(av_error_last(), "repo 'old' does not exist"), "%s", av_error_last());
	l = list("new");
	cr_assert_eq(l.n, 1);
	cr_assert(listed(&l, "hello_1.0_amd64"));
	/* The new name takes adds. */
	cr_assert_eq(av_repo_add(&ctx, "new", b, 0, NULL), 0);
	cr_assert_eq(list("new").n, 2);
	{
		char **names = NULL;
		size_t n = 0;
		cr_assert_eq(av_repo_names(&ctx, &names, &n), 0);
		cr_assert_eq(n, 1);
		cr_assert_str_eq(names[0], "new");
		av_store_names_free(names, n);
	}
	av_import_free(a);
	av_import_free(b);
}

Test(repo, rename_onto_an_existing_repo_or_from_a_missing_one_fails)
{
	git_oid a0, b0, a1, b1;

	create("a");
	create("b");
	a0 = ref_of("a");
	b0 = ref_of("b");
	cr_assert_eq(av_repo_rename(&ctx, "a", "b"), AV_EEXISTS);
	cr_assert_str_eq(av_error_last(), "cannot rename repo 'a': repo 'b' already exists");
	cr_assert_eq(av_repo_rename(&ctx, "zz", "c"), AV_ENOTFOUND);
	cr_assert_eq(av_repo_rename(&ctx, "a", "x/y"), AV_EINVALID);
	a1 = ref_of("a");
	b1 = ref_of("b");
	cr_assert(git_oid_equal(&a0, &a1) && git_oid_equal(&b0, &b1));
	cr_assert_eq(av_store_ref_read(store, "refs/repos/c", &a1), AV_ENOTFOUND);
}

Test(repo, drop_deletes_the_repo)
{
	av_state *st = NULL;

	create("main");
	create("keep");
	cr_assert_eq(av_repo_drop(&ctx, "main", 0), 0, "%s", av_error_last());
	cr_assert_eq(av_repo_open(&ctx, "main", &st), AV_ENOTFOUND);
	cr_assert_eq(av_repo_drop(&ctx, "main", 0), AV_ENOTFOUND);
	cr_assert_eq(av_repo_open(&ctx, "keep", &st), 0);
	av_state_free(st);
	/* The name can be used again. */
	create("main");
}

/* --- remove, copy, move --- */

static void add_three(const char *repo)
{
	char *p1 = fx_make_deb(debs, "hello", "1.0", "amd64", NULL, NULL);
	char *p2 = fx_make_deb(debs, "hello", "1.0", "i386", NULL, NULL);
	char *p3 = fx_make_deb(debs, "world", "2.0", "amd64", NULL, NULL);
	av_import *imp = import((char *[]){ p1, p2, p3, NULL });

	cr_assert_eq(av_repo_add(&ctx, repo, imp, 0, NULL), 0, "%s", av_error_last());
	av_import_free(imp);
	free(p1);
	free(p2);
	free(p3);
}

Test(repo, remove_by_query_removes_exactly_the_matches)
{
	av_query *q = NULL;
	av_change chg = { 0 };
	listing seen = { 0 }, l;
	git_oid before, after;

	create("main");
	add_three("main");
	cr_assert_eq(av_query_parse(&q, "$Architecture (i386)"), 0, "%s", av_error_last());
	/* A dry run reports and changes nothing. */
	before = ref_of("main");
	cr_assert_eq(av_repo_remove(&ctx, "main", q, 1, list_cb, &seen, &chg), 0, "%s",
		     av_error_last());
	cr_assert_eq(chg.removed, 1);
	cr_assert_eq(seen.n, 1);
	cr_assert_str_eq(seen.keys[0], "hello_1.0_i386");
	after = ref_of("main");
	cr_assert(git_oid_equal(&before, &after), "a dry run moved the ref");
	/* The real thing. */
	cr_assert_eq(av_repo_remove(&ctx, "main", q, 0, NULL, NULL, &chg), 0);
	cr_assert_eq(chg.removed, 1);
	l = list("main");
	cr_assert_eq(l.n, 2);
	cr_assert_not(listed(&l, "hello_1.0_i386"));
	cr_assert(listed(&l, "hello_1.0_amd64"));
	cr_assert(listed(&l, "world_2.0_amd64"));
	/* Nothing left to match: nothing changes. */
	before = ref_of("main");
	cr_assert_eq(av_repo_remove(&ctx, "main", q, 0, NULL, NULL, &chg), 0);
	cr_assert_eq(chg.removed, 0);
	after = ref_of("main");
	cr_assert(git_oid_equal(&before, &after));
	av_query_free(q);
	cr_assert_eq(av_query_parse(&q, "hello"), 0);
	cr_assert_eq(av_repo_remove(&ctx, "main", q, 0, NULL, NULL, &chg), 0);
	cr_assert_eq(chg.removed, 1);
	l = list("main");
	cr_assert_eq(l.n, 1);
	cr_assert(listed(&l, "world_2.0_amd64"));
	cr_assert_eq(av_repo_remove(&ctx, "absent", q, 0, NULL, NULL, &chg), AV_ENOTFOUND);
	av_query_free(q);
}

Test(repo, copy_adds_to_the_destination_and_leaves_the_source)
{
	av_query *q = NULL;
	av_change chg = { 0 };
	git_oid src_before, src_after;
	listing l;

	create("src");
	create("dst");
	add_three("src");
	src_before = ref_of("src");
	cr_assert_eq(av_query_parse(&q, "hello"), 0);
	cr_assert_eq(av_repo_copy(&ctx, "src", "dst", q, 0, 0, NULL, NULL, NULL, &chg), 0, "%s",
		     av_error_last());
	cr_assert_eq(chg.added, 2);
	l = list("dst");
	cr_assert_eq(l.n, 2);
	cr_assert(listed(&l, "hello_1.0_amd64") && listed(&l, "hello_1.0_i386"));
	src_after = ref_of("src");
	cr_assert(git_oid_equal(&src_before, &src_after), "copy changed the source");
	/* All of it (NULL query). */
	cr_assert_eq(av_repo_copy(&ctx, "src", "dst", NULL, 0, 0, NULL, NULL, NULL, &chg), 0);
	cr_assert_eq(list("dst").n, 3);
	cr_assert_eq(av_repo_copy(&ctx, "src", "src", NULL, 0, 0, NULL, NULL, NULL, &chg),
		     AV_EINVALID);
	cr_assert_eq(av_repo_copy(&ctx, "src", "absent", NULL, 0, 0, NULL, NULL, NULL, &chg),
		     AV_ENOTFOUND);
	cr_assert_eq(av_repo_copy(&ctx, "absent", "dst", NULL, 0, 0, NULL, NULL, NULL, &chg),
		     AV_ENOTFOUND);
	av_query_free(q);
}

/* Like an add of what is already there (I10: do each thing once). */
Test(repo, a_copy_that_changes_nothing_writes_no_new_state)
{
	av_change chg = { 0 };
	git_oid d0, d1;

	create("src");
	create("dst");
	add_three("src");
	cr_assert_eq(av_repo_copy(&ctx, "src", "dst", NULL, 0, 0, NULL, NULL, NULL, &chg), 0);
	cr_assert_eq(chg.added, 3);
	d0 = ref_of("dst");
	sleep(1);	/* a new state would get a new commit time, hence a new oid */
	cr_assert_eq(av_repo_copy(&ctx, "src", "dst", NULL, 0, 0, NULL, NULL, NULL, &chg), 0);
	cr_assert_eq(chg.unchanged, 3);
	cr_assert_eq(chg.added, 0);
	d1 = ref_of("dst");
	cr_assert(git_oid_equal(&d0, &d1), "a copy that changed nothing wrote a new state");
	cr_assert_eq(fx_sh("test \"$(wc -l < '%s/db/logs/refs/repos/dst')\" = 2", root), 0,
		     "a copy that changed nothing added a history entry");
}

Test(repo, move_removes_from_the_source)
{
	av_query *q = NULL;
	av_change chg = { 0 };
	listing l;

	create("src");
	create("dst");
	add_three("src");
	cr_assert_eq(av_query_parse(&q, "world"), 0);
	cr_assert_eq(av_repo_copy(&ctx, "src", "dst", q, 1, 0, NULL, NULL, NULL, &chg), 0, "%s",
		     av_error_last());
	cr_assert_eq(chg.added, 1);
	l = list("src");
	cr_assert_eq(l.n, 2);
	cr_assert_not(listed(&l, "world_2.0_amd64"));
	l = list("dst");
	cr_assert_eq(l.n, 1);
	cr_assert(listed(&l, "world_2.0_amd64"));
	/* A dry-run move changes neither. */
	{
		git_oid s0 = ref_of("src"), d0 = ref_of("dst"), s1, d1;
		av_query_free(q);
		cr_assert_eq(av_query_parse(&q, "hello"), 0);
		cr_assert_eq(av_repo_copy(&ctx, "src", "dst", q, 1, 1, NULL, NULL, NULL, &chg), 0);
		cr_assert_eq(chg.added, 2);
		s1 = ref_of("src");
		d1 = ref_of("dst");
		cr_assert(git_oid_equal(&s0, &s1) && git_oid_equal(&d0, &d1));
	}
	av_query_free(q);
}

Test(repo, copy_or_move_onto_a_conflicting_package_changes_neither_repo)
{
	av_import *a = import_deb("a", "hello", "1.0", "amd64", NULL);
	av_import *b = import_deb("b", "hello", "1.0", "amd64", "Homepage: https://x.example\n");
	av_import *c = import_deb("c", "extra", "1.0", "amd64", NULL);
	av_change chg = { 0 };
	git_oid s0, d0, s1, d1;

	create("src");
	create("dst");
	cr_assert_eq(av_repo_add(&ctx, "src", a, 0, NULL), 0);
	cr_assert_eq(av_repo_add(&ctx, "src", c, 0, NULL), 0);
	cr_assert_eq(av_repo_add(&ctx, "dst", b, 0, NULL), 0);
	s0 = ref_of("src");
	d0 = ref_of("dst");
	for (int move = 0; move <= 1; move++) {
		cr_assert_eq(av_repo_copy(&ctx, "src", "dst", NULL, move, 0, NULL, NULL, NULL, &chg),
			     AV_ECONFLICT, "move=%d", move);
		cr_assert(strstr(av_error_last(), "hello_1.0_amd64"), "%s", av_error_last());
		cr_assert(strstr(av_error_last(), move ? "nothing was moved" :
				 "nothing was copied"), "%s", av_error_last());
		s1 = ref_of("src");
		d1 = ref_of("dst");
		cr_assert(git_oid_equal(&s0, &s1), "move=%d changed the source", move);
		cr_assert(git_oid_equal(&d0, &d1), "move=%d changed the destination", move);
	}
	cr_assert_eq(list("src").n, 2);
	cr_assert_eq(list("dst").n, 1);
	av_import_free(a);
	av_import_free(b);
	av_import_free(c);
}

/* --- synthetic packages: many, fast --- */

static char source_path[] = "synthetic";

/* A canonical stanza blob for name_1.0_amd64, as import would store it. */
static void synthetic_item(av_import_item *it, const char *name)
{
	char text[512];
	av_pkg *pkg = NULL;
	av_buf canon = AV_BUF_INIT, key = AV_BUF_INIT;

	snprintf(text, sizeof(text),
		 "Package: %s\nVersion: 1.0\nArchitecture: amd64\n"
		 "Maintainer: Test <test@example.org>\nInstalled-Size: 1\n"
		 "Section: misc\nPriority: optional\nSize: 1000\n"
		 "SHA256: 0000000000000000000000000000000000000000000000000000000000000000\n"
		 "Description: synthetic %s\n", name, name);
	cr_assert_eq(av_pkg_parse(&pkg, text, strlen(text)), 0, "%s", av_error_last());
	cr_assert_eq(av_pkg_serialize(&canon, pkg), 0);
	cr_assert_eq(av_pkg_key(&key, pkg), 0);
	cr_assert_eq(av_store_blob_write(store, &it->blob, canon.ptr, canon.len), 0);
	it->key = av_buf_detach(&key);
	it->type = AV_PKG_DEB;
	it->sources = malloc(sizeof(char *));
	it->sources[0] = strdup(source_path);
	it->nsources = 1;
	av_buf_dispose(&canon);
	av_pkg_free(pkg);
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const av_import_item *)a)->key, ((const av_import_item *)b)->key);
}

static av_import *synthetic(int from, int n)
{
	av_import *imp = calloc(1, sizeof(*imp));

	imp->items = calloc((size_t)n, sizeof(*imp->items));
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "pkg%d", from + i);
		synthetic_item(&imp->items[i], name);
	}
	imp->n = (size_t)n;
	qsort(imp->items, imp->n, sizeof(*imp->items), item_cmp);
	return imp;
}

/*
 * I10: "repo add of one package to a 10,000-package repo reads the repo
 * ref once and writes O(log n) tree objects".
 */
Test(repo, adding_one_package_to_10000_reads_the_ref_once_and_writes_3_trees)
{
	av_import *big, *one;
	av_change chg = { 0 };
	const av_store_stats *st = av_store_stats_get(store);
	size_t n;

	create("big");
	big = synthetic(0, 10000);
	av_store_stats_reset(store);
	cr_assert_eq(av_repo_add(&ctx, "big", big, 0, &chg), 0, "%s", av_error_last());
	cr_assert_eq(chg.added, 10000);
	fprintf(stderr, "I10 repo bulk add of 10000: objects_written=%lu blobs=%lu trees=%lu "
		"commits=%lu packs=%lu refs_read=%lu refs_written=%lu\n",
		st->objects_written, st->blobs_written, st->trees_written,
		st->commits_written, st->packs_written, st->refs_read, st->refs_written);
	cr_assert_eq(st->packs_written, 1, "a bulk add is one batch");
	cr_assert_eq(st->refs_read, 1);
	av_import_free(big);

	av_store_stats_reset(store);
	one = synthetic(10000, 1);
	cr_assert_eq(av_repo_add(&ctx, "big", one, 0, &chg), 0, "%s", av_error_last());
	fprintf(stderr, "I10 repo add one to 10000: refs_read=%lu refs_written=%lu "
		"objects_read=%lu trees_written=%lu commits_written=%lu blobs_written=%lu "
		"objects_written=%lu packs_written=%lu\n", st->refs_read, st->refs_written,
		st->objects_read, st->trees_written, st->commits_written, st->blobs_written,
		st->objects_written, st->packs_written);
	cr_assert_eq(chg.added, 1);
	cr_assert_eq(st->refs_read, 1, "refs_read %lu", st->refs_read);
	cr_assert_eq(st->refs_written, 1, "refs_written %lu", st->refs_written);
	cr_assert_leq(st->trees_written, 3, "trees_written %lu", st->trees_written);
	cr_assert_eq(st->commits_written, 1, "commits_written %lu", st->commits_written);
	cr_assert_leq(st->objects_read, 6, "objects_read %lu", st->objects_read);
	cr_assert_eq(st->packs_written, 0);
	av_import_free(one);

	{
		av_state *s = NULL;
		av_plist *l = NULL;
		cr_assert_eq(av_repo_open(&ctx, "big", &s), 0);
		cr_assert_eq(av_plist_open(&l, store, &s->packages), 0);
		cr_assert_eq(av_plist_count(l, &n), 0);
		cr_assert_eq(n, 10001);
		av_plist_free(l);
		av_state_free(s);
	}
}

/* --- I5 through the repo API --- */

Test(repo, sixteen_processes_adding_to_one_repo_lose_nothing, .timeout = 120)
{
	pid_t pids[16];
	int p[2];
	listing l;

	create("shared");
	cr_assert_eq(pipe(p), 0);
	for (int i = 0; i < 16; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1);
		if (pids[i] == 0) {
			av_store *s = NULL;
			av_import *imp;
			char c;
			int rc;
			close(p[1]);
			if (av_store_open(&s, root, 0))
				_exit(100);
			av_store_free(store);
			store = s;
			ctx.store = s;
			imp = synthetic(i, 1);	/* pkgI */
			while (read(p[0], &c, 1) < 0 && errno == EINTR)
				;
			rc = av_repo_add(&ctx, "shared", imp, 0, NULL);
			_exit(rc <= 0 ? -rc : 100);
		}
	}
	close(p[0]);
	close(p[1]);
	for (int i = 0; i < 16; i++) {
		int st;
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %d", i, st);
	}
	l = list("shared");
	cr_assert_eq(l.n, 16, "%d of 16 additions survived", l.n);
	for (int i = 0; i < 16; i++) {
		char key[64];
		snprintf(key, sizeof(key), "pkg%d_1.0_amd64", i);
		cr_assert(listed(&l, key), "%s lost", key);
	}
}

/* I8: from its first pool file until it is freed, an import holds the
 * maintenance fence shared, so db cleanup (exclusive) cannot sweep what
 * the coming commit will reference. */
Test(repo, an_import_holds_the_maintenance_fence_until_freed)
{
	av_lockset *cleanup = NULL;
	av_import *imp = import_deb("fence", "fenced", "1.0", "amd64", NULL);

	cr_assert_eq(av_lockset_new(&cleanup, root), 0);
	cr_assert_eq(av_lockset_add(cleanup, "db", "fence", AV_LOCK_EXCLUSIVE), 0);
	cr_assert_eq(av_lockset_acquire(cleanup, 0), AV_EBUSY,
		     "cleanup got the fence while an import was pending");
	av_lockset_free(cleanup);
	av_import_free(imp);
	cr_assert_eq(av_lockset_new(&cleanup, root), 0);
	cr_assert_eq(av_lockset_add(cleanup, "db", "fence", AV_LOCK_EXCLUSIVE), 0);
	cr_assert_eq(av_lockset_acquire(cleanup, 0), 0, "%s", av_error_last());
	av_lockset_free(cleanup);
}
