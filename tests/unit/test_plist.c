/*
 * test_plist.c - package lists as two-level trees: put/get/remove/count,
 * iteration order, identical and conflicting puts, write and reopen, the
 * bucket layout and its spread, lazy bucket loading, and the cost bound
 * of I10: one new entry in a 10,000-entry list reads 2 trees and writes 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "aptvault/plist.h"
#include "aptvault/store.h"
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "fixtures.h"

static char *root;
static av_store *s;

static void setup(void)
{
	root = fx_tmpdir();
	cr_assert_eq(av_store_open(&s, root, 1), 0, "%s", av_error_last());
}

static void teardown(void)
{
	av_store_free(s);
	av_remove_tree(root);
	free(root);
}

TestSuite(plist, .init = setup, .fini = teardown, .timeout = 60);

static git_oid blob(const char *fmt, int n)
{
	char text[128];
	git_oid oid;

	snprintf(text, sizeof(text), fmt, n);
	cr_assert_eq(av_store_blob_write(s, &oid, text, strlen(text)), 0);
	return oid;
}

static void reopen_store(void)
{
	av_store_free(s);
	cr_assert_eq(av_store_open(&s, root, 0), 0, "%s", av_error_last());
}

static int bucket_of(const char *key)
{
	const char *us = strchr(key, '_');
	char hh[3];

	av_plist_bucket(hh, key, us ? (size_t)(us - key) : strlen(key));
	return (int)strtol(hh, NULL, 16);
}

typedef struct seen {
	char keys[64][64];
	git_oid oids[64];
	int n;
	int stop_after;
} seen;

static int collect(const char *key, const git_oid *oid, void *payload)
{
	seen *sn = payload;

	cr_assert_lt(sn->n, 64);
	snprintf(sn->keys[sn->n], sizeof(sn->keys[0]), "%s", key);
	git_oid_cpy(&sn->oids[sn->n], oid);
	sn->n++;
	return sn->stop_after && sn->n == sn->stop_after ? 7 : 0;
}

static const char *const some_keys[] = {
	"hello_2.12-1_amd64", "hello_2.10-3_amd64", "hello_2.12-1_i386",
	"libc6_2.36-9_amd64", "nginx_1.22.1-9_amd64", "nginx_1.22.1-9_source",
	"zsh_5.9-4_amd64", "a_1_all", "python3-cffi-backend_1.15.1-5+b1_amd64",
	"foo_1:2.0~rc1_amd64",
};
#define NKEYS (sizeof(some_keys) / sizeof(some_keys[0]))

static void check_order(const seen *sn)
{
	for (int i = 1; i < sn->n; i++) {
		int b0 = bucket_of(sn->keys[i - 1]), b1 = bucket_of(sn->keys[i]);
		cr_assert(b0 < b1 || (b0 == b1 && strcmp(sn->keys[i - 1], sn->keys[i]) < 0),
			  "'%s' (bucket %02x) listed before '%s' (bucket %02x)",
			  sn->keys[i - 1], b0, sn->keys[i], b1);
	}
}

Test(plist, put_get_remove_count_and_foreach_in_bucket_then_key_order)
{
	av_plist *l = NULL;
	git_oid oids[NKEYS], got;
	seen sn = { 0 };
	size_t n;

	cr_assert_eq(av_plist_open(&l, s, NULL), 0);
	cr_assert_eq(av_plist_count(l, &n), 0);
	cr_assert_eq(n, 0);
	for (size_t i = 0; i < NKEYS; i++) {
		oids[i] = blob("package %d\n", (int)i);
		cr_assert_eq(av_plist_put(l, some_keys[i], &oids[i], 0), 0, "%s",
			     av_error_last());
	}
	cr_assert_eq(av_plist_count(l, &n), 0);
	cr_assert_eq(n, NKEYS);
	for (size_t i = 0; i < NKEYS; i++) {
		cr_assert_eq(av_plist_get(l, some_keys[i], &got), 0, "%s", some_keys[i]);
		cr_assert(git_oid_equal(&got, &oids[i]));
	}
	cr_assert_eq(av_plist_get(l, "hello_9_amd64", &got), AV_ENOTFOUND);
	cr_assert(strstr(av_error_last(), "'hello_9_amd64'"), "%s", av_error_last());
	cr_assert_eq(av_plist_foreach(l, collect, &sn), 0);
	cr_assert_eq(sn.n, (int)NKEYS);
	check_order(&sn);

	cr_assert_eq(av_plist_remove(l, "hello_2.10-3_amd64"), 0);
	cr_assert_eq(av_plist_remove(l, "hello_2.10-3_amd64"), AV_ENOTFOUND);
	cr_assert_eq(av_plist_remove(l, "never_1_all"), AV_ENOTFOUND);
	cr_assert_eq(av_plist_get(l, "hello_2.10-3_amd64", &got), AV_ENOTFOUND);
	cr_assert_eq(av_plist_get(l, "hello_2.12-1_amd64", &got), 0);
	cr_assert_eq(av_plist_count(l, &n), 0);
	cr_assert_eq(n, NKEYS - 1);
	av_plist_free(l);
}

Test(plist, foreach_stops_at_the_first_nonzero_return)
{
	av_plist *l = NULL;
	seen sn = { .stop_after = 3 };

	cr_assert_eq(av_plist_open(&l, s, NULL), 0);
	for (size_t i = 0; i < NKEYS; i++) {
		git_oid o = blob("p%d\n", (int)i);
		cr_assert_eq(av_plist_put(l, some_keys[i], &o, 0), 0);
	}
	cr_assert_eq(av_plist_foreach(l, collect, &sn), 7);
	cr_assert_eq(sn.n, 3);
	av_plist_free(l);
}

Test(plist, versions_of_one_name_share_a_bucket)
{
	cr_assert_eq(bucket_of("hello_2.12-1_amd64"), bucket_of("hello_2.10-3_i386"));
	cr_assert_eq(bucket_of("hello_1_source"), bucket_of("hello"));
	/* FNV-1a of "" is the offset basis 0x811c9dc5: bucket c5. */
	{
		char hh[3];
		av_plist_bucket(hh, "", 0);
		cr_assert_str_eq(hh, "c5");
		av_plist_bucket(hh, "hello_x", 5);
		cr_assert_eq(strtol(hh, NULL, 16), bucket_of("hello_1_all"));
	}
}

Test(plist, identical_put_is_1_a_different_blob_conflicts_unless_replace)
{
	av_plist *l = NULL;
	git_oid a = blob("a %d\n", 0), b = blob("b %d\n", 0), got;
	size_t n;

	cr_assert_eq(av_plist_open(&l, s, NULL), 0);
	cr_assert_eq(av_plist_put(l, "hello_1.0_amd64", &a, 0), 0);
	cr_assert_eq(av_plist_put(l, "hello_1.0_amd64", &a, 0), 1);
	cr_assert_eq(av_plist_put(l, "hello_1.0_amd64", &a, 1), 1);
	cr_assert_eq(av_plist_put(l, "hello_1.0_amd64", &b, 0), AV_ECONFLICT);
	cr_assert_str_eq(av_error_last(), "package 'hello_1.0_amd64' already exists with "
			 "different content");
	cr_assert_eq(av_plist_get(l, "hello_1.0_amd64", &got), 0);
	cr_assert(git_oid_equal(&got, &a), "a refused put changed the entry");
	cr_assert_eq(av_plist_put(l, "hello_1.0_amd64", &b, 1), 0);
	cr_assert_eq(av_plist_get(l, "hello_1.0_amd64", &got), 0);
	cr_assert(git_oid_equal(&got, &b));
	cr_assert_eq(av_plist_count(l, &n), 0);
	cr_assert_eq(n, 1);
	av_plist_free(l);
}

Test(plist, a_written_list_reopens_with_the_same_entries)
{
	av_plist *l = NULL;
	git_oid oids[NKEYS], tree, tree2, got;
	seen before = { 0 }, after = { 0 };
	size_t n;

	cr_assert_eq(av_plist_open(&l, s, NULL), 0);
	for (size_t i = 0; i < NKEYS; i++) {
		oids[i] = blob("package %d\n", (int)i);
		cr_assert_eq(av_plist_put(l, some_keys[i], &oids[i], 0), 0);
	}
	cr_assert_eq(av_plist_foreach(l, collect, &before), 0);
	cr_assert_eq(av_plist_write(l, &tree), 0, "%s", av_error_last());
	/* Writing again without changes gives the same tree. */
	cr_assert_eq(av_plist_write(l, &tree2), 0);
	cr_assert(git_oid_equal(&tree, &tree2));
	av_plist_free(l);
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	reopen_store();

	cr_assert_eq(av_plist_open(&l, s, &tree), 0, "%s", av_error_last());
	cr_assert_eq(av_plist_count(l, &n), 0);
	cr_assert_eq(n, NKEYS);
	for (size_t i = 0; i < NKEYS; i++) {
		cr_assert_eq(av_plist_get(l, some_keys[i], &got), 0);
		cr_assert(git_oid_equal(&got, &oids[i]));
	}
	cr_assert_eq(av_plist_foreach(l, collect, &after), 0);
	cr_assert_eq(after.n, before.n);
	for (int i = 0; i < after.n; i++)
		cr_assert_str_eq(after.keys[i], before.keys[i], "order changed at %d", i);
	/* An unchanged reopened list writes back to the same tree, and nothing
	 * new reaches the disk. */
	av_store_stats_reset(s);
	cr_assert_eq(av_plist_write(l, &tree2), 0);
	cr_assert(git_oid_equal(&tree, &tree2));
	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(av_store_stats_get(s)->objects_written, 0);
	av_plist_free(l);
}

Test(plist, the_tree_is_hh_buckets_of_name_version_arch_blobs)
{
	av_plist *l = NULL;
	git_oid tree, a = blob("a %d\n", 1);
	git_tree *t = NULL, *bt = NULL;
	char hh[3];

	cr_assert_eq(av_plist_open(&l, s, NULL), 0);
	cr_assert_eq(av_plist_put(l, "hello_1.0_amd64", &a, 0), 0);
	cr_assert_eq(av_plist_write(l, &tree), 0);
	av_plist_free(l);
	av_plist_bucket(hh, "hello", 5);
	cr_assert_eq(git_tree_lookup(&t, av_store_git(s), &tree), 0);
	cr_assert_eq(git_tree_entrycount(t), 2, "a bucket and the sizes");
	cr_assert_str_eq(git_tree_entry_name(git_tree_entry_byindex(t, 0)), hh);
	cr_assert_eq(git_tree_entry_type(git_tree_entry_byindex(t, 0)), GIT_OBJECT_TREE);
	cr_assert_str_eq(git_tree_entry_name(git_tree_entry_byindex(t, 1)), "n");
	cr_assert_eq(git_tree_entry_type(git_tree_entry_byindex(t, 1)), GIT_OBJECT_BLOB);
	{
		git_blob *nb = NULL;
		char want[1024] = "";
		int at = (int)strtol(hh, NULL, 16);

		for (int i = 0; i < 256; i++) {
			strcat(want, i == at ? "1" : "0");
			strcat(want, i == 255 ? "\n" : " ");
		}
		cr_assert_eq(git_blob_lookup(&nb, av_store_git(s),
					     git_tree_entry_id(git_tree_entry_byindex(t, 1))), 0);
		cr_assert_eq((size_t)git_blob_rawsize(nb), strlen(want));
		cr_assert(!memcmp(git_blob_rawcontent(nb), want, strlen(want)));
		git_blob_free(nb);
	}
	cr_assert_eq(git_tree_lookup(&bt, av_store_git(s),
				     git_tree_entry_id(git_tree_entry_byindex(t, 0))), 0);
	cr_assert_eq(git_tree_entrycount(bt), 1);
	cr_assert_str_eq(git_tree_entry_name(git_tree_entry_byindex(bt, 0)), "hello_1.0_amd64");
	cr_assert(git_oid_equal(git_tree_entry_id(git_tree_entry_byindex(bt, 0)), &a));
	git_tree_free(bt);
	git_tree_free(t);
}

Test(plist, emptying_a_bucket_drops_it_and_an_empty_list_is_the_empty_tree)
{
	av_plist *l = NULL;
	git_oid tree, a = blob("a %d\n", 1), b = blob("b %d\n", 2);
	git_tree *t = NULL;

	cr_assert_eq(av_plist_open(&l, s, NULL), 0);
	cr_assert_eq(av_plist_put(l, "hello_1.0_amd64", &a, 0), 0);
	cr_assert_eq(av_plist_put(l, "zsh_5.9_amd64", &b, 0), 0);
	cr_assert_neq(bucket_of("hello"), bucket_of("zsh"));
	cr_assert_eq(av_plist_write(l, &tree), 0);
	av_plist_free(l);
	cr_assert_eq(av_plist_open(&l, s, &tree), 0);
	cr_assert_eq(av_plist_remove(l, "zsh_5.9_amd64"), 0);
	cr_assert_eq(av_plist_write(l, &tree), 0);
	cr_assert_eq(git_tree_lookup(&t, av_store_git(s), &tree), 0);
	cr_assert_eq(git_tree_entrycount(t), 2, "the emptied bucket is still there");
	git_tree_free(t);
	cr_assert_eq(av_plist_remove(l, "hello_1.0_amd64"), 0);
	cr_assert_eq(av_plist_write(l, &tree), 0);
	cr_assert_str_eq(git_oid_tostr_s(&tree), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
	av_plist_free(l);
	/* Opening the zero oid, NULL or the empty tree are all the empty list. */
	{
		git_oid zero = { { 0 } };
		size_t n = 1;
		cr_assert_eq(av_plist_open(&l, s, &zero), 0);
		cr_assert_eq(av_plist_count(l, &n), 0);
		cr_assert_eq(n, 0);
		av_plist_free(l);
		cr_assert_eq(av_plist_open(&l, s, &tree), 0);
		cr_assert_eq(av_plist_count(l, &n), 0);
		cr_assert_eq(n, 0);
		av_plist_free(l);
	}
}

Test(plist, a_root_with_a_stray_entry_is_invalid)
{
	git_treebuilder *tb = NULL;
	git_oid a = blob("a %d\n", 1), tree;
	av_plist *l = NULL;

	cr_assert_eq(git_treebuilder_new(&tb, av_store_git(s), NULL), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, tb, "README", &a, GIT_FILEMODE_BLOB), 0);
	cr_assert_eq(av_store_tree_write(s, &tree, tb), 0);
	git_treebuilder_free(tb);
	cr_assert_eq(av_plist_open(&l, s, &tree), AV_EINVALID);
	cr_assert_null(l);
	cr_assert(strstr(av_error_last(), "stray entry 'README'"), "%s", av_error_last());
	/* A two-hex-digit name that is a blob, not a bucket tree, too. */
	cr_assert_eq(git_treebuilder_new(&tb, av_store_git(s), NULL), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, tb, "ab", &a, GIT_FILEMODE_BLOB), 0);
	cr_assert_eq(av_store_tree_write(s, &tree, tb), 0);
	git_treebuilder_free(tb);
	cr_assert_eq(av_plist_open(&l, s, &tree), AV_EINVALID);
}

/* Build an n-entry list "pkgI_1.0_amd64" -> blob "Package: pkgI ..." and
 * make it durable; returns its tree. */
static git_oid build_list(int n, const char *prefix)
{
	av_plist *l = NULL;
	git_oid tree;
	char key[64];

	cr_assert_eq(av_plist_open(&l, s, NULL), 0);
	for (int i = 0; i < n; i++) {
		char text[128];
		git_oid oid;
		snprintf(key, sizeof(key), "%s%d_1.0_amd64", prefix, i);
		snprintf(text, sizeof(text), "Package: %s%d\nVersion: 1.0\n"
			 "Architecture: amd64\n", prefix, i);
		cr_assert_eq(av_store_blob_write(s, &oid, text, strlen(text)), 0);
		cr_assert_eq(av_plist_put(l, key, &oid, 0), 0);
	}
	cr_assert_eq(av_plist_write(l, &tree), 0, "%s", av_error_last());
	av_plist_free(l);
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	return tree;
}

Test(plist, ten_thousand_names_spread_over_all_256_buckets)
{
	static const char *const prefixes[] = { "pkg", "lib", "python3-" };

	for (size_t p = 0; p < 3; p++) {
		int count[256] = { 0 }, min = 1 << 30, max = 0;
		for (int i = 0; i < 10000; i++) {
			char name[64], hh[3];
			snprintf(name, sizeof(name), "%s%d", prefixes[p], i);
			av_plist_bucket(hh, name, strlen(name));
			count[strtol(hh, NULL, 16)]++;
		}
		for (int b = 0; b < 256; b++) {
			if (count[b] < min)
				min = count[b];
			if (count[b] > max)
				max = count[b];
		}
		/* Mean 39: a fair hash stays well within [mean/3, 3 mean]. */
		cr_assert_geq(min, 13, "prefix %s: a bucket holds only %d", prefixes[p], min);
		cr_assert_leq(max, 117, "prefix %s: a bucket holds %d", prefixes[p], max);
	}
}

Test(plist, buckets_are_read_lazily_and_once)
{
	git_oid tree = build_list(2000, "pkg"), got;
	av_plist *l = NULL;
	const av_store_stats *st = av_store_stats_get(s);
	size_t n;
	int other = 1;

	reopen_store();
	st = av_store_stats_get(s);
	cr_assert_eq(av_plist_open(&l, s, &tree), 0);
	cr_assert_eq(st->objects_read, 1, "open reads the root only");
	cr_assert_eq(av_plist_get(l, "pkg0_1.0_amd64", &got), 0);
	cr_assert_eq(st->objects_read, 2);
	cr_assert_eq(av_plist_get(l, "pkg0_1.0_amd64", &got), 0);
	cr_assert_eq(av_plist_get(l, "pkg0_2.0_amd64", &got), AV_ENOTFOUND);
	cr_assert_eq(st->objects_read, 2, "a bucket was read twice");
	for (;; other++) {
		char name[32];
		snprintf(name, sizeof(name), "pkg%d", other);
		if (bucket_of(name) != bucket_of("pkg0"))
			break;
	}
	{
		char key[64];
		snprintf(key, sizeof(key), "pkg%d_1.0_amd64", other);
		cr_assert_eq(av_plist_get(l, key, &got), 0);
	}
	cr_assert_eq(st->objects_read, 3);
	/* counting reads the root's bucket sizes, not the buckets */
	cr_assert_eq(av_plist_count(l, &n), 0);
	cr_assert_eq(n, 2000);
	cr_assert_eq(st->objects_read, 4, "count read %lu objects", st->objects_read);
	av_plist_free(l);
}

/*
 * I10: one new entry in a 10,000-entry list reads the root and one bucket
 * and writes one bucket and the root; nothing else.
 */
Test(plist, adding_one_entry_to_10000_reads_2_trees_and_writes_2)
{
	git_oid tree = build_list(10000, "pkg"), oid, tree2;
	av_plist *l = NULL;
	const av_store_stats *st;
	const char *text = "Package: newcomer\nVersion: 1.0\nArchitecture: amd64\n";
	size_t n;

	reopen_store();
	st = av_store_stats_get(s);
	av_store_stats_reset(s);
	cr_assert_eq(av_plist_open(&l, s, &tree), 0);
	cr_assert_eq(av_store_blob_write(s, &oid, text, strlen(text)), 0);
	cr_assert_eq(av_plist_put(l, "newcomer_1.0_amd64", &oid, 0), 0);
	cr_assert_eq(av_plist_write(l, &tree2), 0);
	cr_assert_eq(av_store_flush(s), 0, "%s", av_error_last());
	fprintf(stderr, "I10 plist add-one-to-10000: objects_read=%lu trees_written=%lu "
		"blobs_written=%lu objects_written=%lu packs_written=%lu\n",
		st->objects_read, st->trees_written, st->blobs_written,
		st->objects_written, st->packs_written);
	/* read: the root, the bucket, the root's bucket sizes; written: the
	 * package, the bucket, the new sizes and the root */
	cr_assert_eq(st->trees_written, 2, "trees_written %lu", st->trees_written);
	cr_assert_eq(st->objects_read, 3, "objects_read %lu", st->objects_read);
	cr_assert_eq(st->blobs_written, 2);
	cr_assert_eq(st->objects_written, 4);
	cr_assert_eq(st->packs_written, 0, "a 4-object change went to a pack");
	av_plist_free(l);

	cr_assert_eq(av_plist_open(&l, s, &tree2), 0);
	cr_assert_eq(av_plist_count(l, &n), 0);
	cr_assert_eq(n, 10001);
	av_plist_free(l);
}

/* A root without its bucket sizes (written before they were kept) is
 * counted by reading its buckets; sizes that contradict the root are an
 * error, not a wrong count. */
Test(plist, a_root_without_sizes_is_counted_and_bad_sizes_are_refused)
{
	git_oid tree = build_list(300, "pkg"), bare, bad, sizes;
	git_tree *t = NULL;
	git_treebuilder *tb = NULL;
	av_plist *l = NULL;
	size_t n = 0;
	char text[1024] = "";

	cr_assert_eq(git_tree_lookup(&t, av_store_git(s), &tree), 0);
	cr_assert_eq(git_treebuilder_new(&tb, av_store_git(s), t), 0);
	cr_assert_eq(git_treebuilder_remove(tb, "n"), 0);
	cr_assert_eq(av_store_tree_write(s, &bare, tb), 0);
	cr_assert_eq(av_plist_open(&l, s, &bare), 0);
	cr_assert_eq(av_plist_count(l, &n), 0, "%s", av_error_last());
	cr_assert_eq(n, 300);
	av_plist_free(l);
	/* every bucket said empty */
	for (int i = 0; i < 256; i++)
		strcat(text, i == 255 ? "0\n" : "0 ");
	cr_assert_eq(av_store_blob_write(s, &sizes, text, strlen(text)), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, tb, "n", &sizes, GIT_FILEMODE_BLOB), 0);
	cr_assert_eq(av_store_tree_write(s, &bad, tb), 0);
	cr_assert_eq(av_store_flush(s), 0);
	cr_assert_eq(av_plist_open(&l, s, &bad), 0);
	cr_assert_eq(av_plist_count(l, &n), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "bad bucket sizes"), "%s", av_error_last());
	av_plist_free(l);
	git_treebuilder_free(tb);
	git_tree_free(t);
}

/* Bucket trees are written in git's format by hand: keys out of order or
 * ones git could not hold as a name are refused, not written. */
Test(plist, raw_bucket_writes_refuse_bad_keys)
{
	git_oid a = blob("a %d\n", 1), out;
	av_plist_ent bad[] = { { "x/y_1.0_amd64", &a } };
	av_plist_ent empty[] = { { "", &a } };
	av_plist_ent order[] = { { "b_1.0_amd64", &a }, { "a_1.0_amd64", &a } };

	cr_assert_eq(av_plist_bucket_write(s, bad, 1, &out), AV_EINVALID);
	cr_assert_eq(av_plist_bucket_write(s, empty, 1, &out), AV_EINVALID);
	cr_assert_eq(av_plist_bucket_write(s, order, 2, &out), AV_ERROR);
	cr_assert(strstr(av_error_last(), "out of order"), "%s", av_error_last());
}
