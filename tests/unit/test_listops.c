/*
 * test_listops.c - diff and merge of package lists by key: aptly's
 * results on aptly's ordering, and the cost bound of diff (equal
 * buckets are never read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "aptvault/listops.h"
#include "aptvault/plist.h"
#include "aptvault/store.h"
#include "aptvault/error.h"
#include "fixtures.h"

static av_store *store;
static char *root;

static void setup(void)
{
	root = fx_tmpdir();
	cr_assert_eq(av_store_open(&store, root, 1), 0, "%s", av_error_last());
}

static void teardown(void)
{
	av_store_free(store);
	fx_sh("rm -rf '%s'", root);
	free(root);
}

TestSuite(listops, .init = setup, .fini = teardown);

/* A list from "key" or "key=content" words; content defaults to the key. */
static git_oid list_of(const char *const *keys)
{
	av_plist *l = NULL;
	git_oid tree;

	cr_assert_eq(av_plist_open(&l, store, NULL), 0);
	for (; *keys; keys++) {
		char key[256];
		const char *eq = strchr(*keys, '=');
		const char *content = eq ? eq + 1 : *keys;
		git_oid blob;
		snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - *keys) : (int)strlen(*keys),
			 *keys);
		cr_assert_eq(av_store_blob_write(store, &blob, content, strlen(content)), 0);
		cr_assert_eq(av_plist_put(l, key, &blob, 1), 0);
	}
	cr_assert_eq(av_plist_write(l, &tree), 0);
	av_plist_free(l);
	cr_assert_eq(av_store_flush(store), 0);
	return tree;
}

static int collect_key(const char *key, const git_oid *oid, void *payload)
{
	char *out = payload;
	(void)oid;
	if (*out)
		strcat(out, " ");
	strcat(out, key);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_words(char *s)
{
	char copy[4096], *words[128];
	size_t n = 0;

	snprintf(copy, sizeof(copy), "%s", s);
	for (char *p = copy, *q; p && *p; p = q) {
		if ((q = strchr(p, ' ')))
			*q++ = '\0';
		words[n++] = p;
	}
	qsort(words, n, sizeof(*words), cmp_str);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, words[i]);
	}
}

/* The keys of a list, sorted, space-separated. */
static void keys_of(const git_oid *tree, char *out)
{
	av_plist *l = NULL;

	out[0] = '\0';
	cr_assert_eq(av_plist_open(&l, store, tree), 0);
	cr_assert_eq(av_plist_foreach(l, collect_key, out), 0);
	av_plist_free(l);
	sort_words(out);
}

static void merged(av_merge_mode mode, const git_oid *lists, size_t n, const char *want)
{
	git_oid out;
	char got[4096], expect[4096];

	cr_assert_eq(av_list_merge(store, lists, n, mode, &out), 0, "%s", av_error_last());
	keys_of(&out, got);
	snprintf(expect, sizeof(expect), "%s", want);
	sort_words(expect);
	cr_assert_str_eq(got, expect);
}

Test(listops, merge_default_the_rightmost_source_wins_per_name_and_arch)
{
	git_oid l[2];

	l[0] = list_of((const char *[]){ "a_1.0_amd64", "a_1.1_amd64", "b_1.0_amd64",
					  "c_2.0_all", NULL });
	l[1] = list_of((const char *[]){ "a_0.9_amd64", "c_3.0_all", "d_1.0_arm64", NULL });
	merged(AV_MERGE_REPLACE, l, 2, "a_0.9_amd64 b_1.0_amd64 c_3.0_all d_1.0_arm64");
}

Test(listops, merge_replace_keeps_other_architectures_of_a_name)
{
	git_oid l[2];

	l[0] = list_of((const char *[]){ "a_1.0_amd64", "a_1.0_arm64", NULL });
	l[1] = list_of((const char *[]){ "a_2.0_amd64", NULL });
	merged(AV_MERGE_REPLACE, l, 2, "a_1.0_arm64 a_2.0_amd64");
}

Test(listops, merge_no_remove_keeps_every_version)
{
	git_oid l[2];

	l[0] = list_of((const char *[]){ "a_1.0_amd64", "b_1.0_amd64", NULL });
	l[1] = list_of((const char *[]){ "a_0.9_amd64", "a_1.0_amd64", NULL });
	merged(AV_MERGE_NO_REMOVE, l, 2, "a_0.9_amd64 a_1.0_amd64 b_1.0_amd64");
}

Test(listops, merge_latest_keeps_the_highest_version_by_dpkg_order)
{
	git_oid l[3];

	/* "1.10" sorts before "1.9" bytewise but is newer for dpkg */
	l[0] = list_of((const char *[]){ "a_1.9_amd64", "b_1:0.1_amd64", NULL });
	l[1] = list_of((const char *[]){ "a_1.10_amd64", "b_2.0_amd64", NULL });
	l[2] = list_of((const char *[]){ "a_1.10~rc1_amd64", "c_1_all", NULL });
	merged(AV_MERGE_LATEST, l, 3, "a_1.10_amd64 b_1:0.1_amd64 c_1_all");
}

Test(listops, merge_of_one_source_copies_it)
{
	git_oid l[1];

	l[0] = list_of((const char *[]){ "a_1.0_amd64", "a_1.1_amd64", NULL });
	merged(AV_MERGE_REPLACE, l, 1, "a_1.0_amd64 a_1.1_amd64");
}

Test(listops, merge_of_the_same_identity_with_other_content_takes_the_right)
{
	git_oid l[2], out, blob;
	av_plist *pl = NULL;

	l[0] = list_of((const char *[]){ "a_1.0_amd64=left", NULL });
	l[1] = list_of((const char *[]){ "a_1.0_amd64=right", NULL });
	cr_assert_eq(av_list_merge(store, l, 2, AV_MERGE_NO_REMOVE, &out), 0);
	cr_assert_eq(av_plist_open(&pl, store, &out), 0);
	cr_assert_eq(av_plist_get(pl, "a_1.0_amd64", &blob), 0);
	av_plist_free(pl);
	{
		git_oid want;
		git_odb_hash(&want, "right", 5, GIT_OBJECT_BLOB);
		cr_assert(git_oid_equal(&blob, &want));
	}
}

typedef struct diffs {
	char text[4096];
	int n;
} diffs;

static int collect_diff(const av_diff_entry *e, void *payload)
{
	diffs *d = payload;
	char line[256];

	snprintf(line, sizeof(line), "%s%s/%s:%s>%s", d->n++ ? " " : "", e->name, e->arch,
		 e->left ? e->left : "-", e->right ? e->right : "-");
	strcat(d->text, line);
	return 0;
}

Test(listops, diff_reports_added_removed_and_changed_by_name_and_arch)
{
	git_oid a = list_of((const char *[]){ "a_1.0_amd64", "b_1.0_amd64", "c_1.0_all",
					       "x_1_amd64", NULL });
	git_oid b = list_of((const char *[]){ "a_1.1_amd64", "c_1.0_all", "d_2.0_arm64",
					       "x_1_amd64=changed", NULL });
	diffs d = { "", 0 };

	cr_assert_eq(av_list_diff(store, &a, &b, collect_diff, &d), 0, "%s", av_error_last());
	cr_assert_str_eq(d.text, "a/amd64:1.0>1.1 b/amd64:1.0>- d/arm64:->2.0 x/amd64:1>1");
}

Test(listops, diff_of_equal_lists_reads_only_the_roots)
{
	static char keys[600][32];
	const char *list[601];
	git_oid a, b;
	diffs d = { "", 0 };

	for (int i = 0; i < 600; i++) {
		snprintf(keys[i], sizeof(keys[i]), "pkg%d_1.0_amd64", i);
		list[i] = keys[i];
	}
	list[600] = NULL;
	a = list_of(list);
	b = list_of(list);
	av_store_stats_reset(store);
	cr_assert_eq(av_list_diff(store, &a, &b, collect_diff, &d), 0);
	cr_assert_eq(d.n, 0);
	cr_assert_eq(av_store_stats_get(store)->objects_read, 2, "read %lu objects",
		     av_store_stats_get(store)->objects_read);
}

Test(listops, diff_of_a_one_package_change_reads_one_bucket_per_side)
{
	static char keys[2000][32];
	const char *list[2001];
	git_oid a, b;
	diffs d = { "", 0 };

	for (int i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "pkg%d_1.0_amd64", i);
		list[i] = keys[i];
	}
	list[2000] = NULL;
	a = list_of(list);
	snprintf(keys[1234], sizeof(keys[1234]), "pkg1234_1.1_amd64");
	b = list_of(list);
	av_store_stats_reset(store);
	cr_assert_eq(av_list_diff(store, &a, &b, collect_diff, &d), 0);
	cr_assert_str_eq(d.text, "pkg1234/amd64:1.0>1.1");
	/* two roots + one bucket on each side */
	cr_assert_eq(av_store_stats_get(store)->objects_read, 4, "read %lu objects",
		     av_store_stats_get(store)->objects_read);
}

/*
 * aptly's merge appends the rest of the left list as soon as the right
 * list is exhausted, without its override check: an overridden package's
 * other versions survive when nothing follows on the right.  Results must
 * equal aptly's, so this is kept (and any per-bucket shortcut must keep
 * it too: the previous test is the case where something does follow).
 */
Test(listops, merge_keeps_aptlys_behaviour_when_the_right_list_ends)
{
	git_oid l[2];

	l[0] = list_of((const char *[]){ "a_1.0_amd64", "a_1.1_amd64", NULL });
	l[1] = list_of((const char *[]){ "a_0.9_amd64", NULL });
	merged(AV_MERGE_REPLACE, l, 2, "a_0.9_amd64 a_1.1_amd64");
}

/* Merging two lists that differ in one package reads the two roots, their
 * bucket sizes and that package's bucket on each side, and writes one
 * bucket and a root: every other bucket is taken over without being read. */
Test(listops, merge_of_a_one_package_change_reads_and_writes_one_bucket)
{
	static char keys[2000][32];
	const char *list[2001];
	git_oid l[2], out;
	char want[64];
	const av_store_stats *st = av_store_stats_get(store);

	for (int i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "pkg%d_1.0_amd64", i);
		list[i] = keys[i];
	}
	list[2000] = NULL;
	l[0] = list_of(list);
	snprintf(keys[1234], sizeof(keys[1234]), "pkg1234_1.1_amd64");
	l[1] = list_of(list);
	av_store_stats_reset(store);
	cr_assert_eq(av_list_merge(store, l, 2, AV_MERGE_REPLACE, &out), 0, "%s",
		     av_error_last());
	/* each side's root, bucket sizes and one bucket */
	cr_assert_eq(st->objects_read, 6, "read %lu objects", st->objects_read);
	/* the merged bucket equals the right one: nothing new to write */
	cr_assert_eq(av_store_buffered(store), 0);
	cr_assert_eq(git_oid_cmp(&out, &l[1]), 0, "the result is the right list");
	/* the same merge with the package only on the left keeps both */
	av_store_stats_reset(store);
	snprintf(want, sizeof(want), "pkg1234_1.0_amd64");
	cr_assert_eq(av_list_merge(store, l, 2, AV_MERGE_NO_REMOVE, &out), 0);
	cr_assert_eq(st->objects_read, 6, "read %lu objects", st->objects_read);
	cr_assert(av_store_buffered(store) > 0, "one bucket and a root written");
}

/* The end-of-right-list rule across buckets: the override in bucket a is
 * followed on the right only by a package of another bucket, which comes
 * last in aptly's order (arch arm64 > amd64), so a's later left versions go;
 * when that package is on the left only, the right list ends at a. */
Test(listops, merge_end_of_right_list_rule_holds_across_buckets)
{
	git_oid l[3];

	l[0] = list_of((const char *[]){ "a_1.0_amd64", "a_1.1_amd64", "d_1.0_arm64", NULL });
	l[1] = list_of((const char *[]){ "a_0.9_amd64", "d_1.0_arm64", NULL });
	merged(AV_MERGE_REPLACE, l, 2, "a_0.9_amd64 d_1.0_arm64");
	l[1] = list_of((const char *[]){ "a_0.9_amd64", NULL });
	merged(AV_MERGE_REPLACE, l, 2, "a_0.9_amd64 a_1.1_amd64 d_1.0_arm64");
	/* three sources: the rule applies step by step */
	l[1] = list_of((const char *[]){ "a_0.9_amd64", "d_0.5_arm64", NULL });
	l[2] = list_of((const char *[]){ "a_0.8_amd64", NULL });
	merged(AV_MERGE_REPLACE, l, 3, "a_0.8_amd64 d_0.5_arm64");
}

/* a and vm share a bucket (FNV-1a low byte 44).  When only a differs, the
 * merge of the bucket takes vm over as it is; aptly's end-of-right-list
 * rule must still see vm on the right after a. */
Test(listops, merge_end_of_right_list_rule_counts_unchanged_packages_of_the_bucket)
{
	git_oid l[2];

	l[0] = list_of((const char *[]){ "a_1.0_amd64", "a_1.1_amd64", "vm_1.0_amd64", NULL });
	l[1] = list_of((const char *[]){ "a_0.9_amd64", "vm_1.0_amd64", NULL });
	merged(AV_MERGE_REPLACE, l, 2, "a_0.9_amd64 vm_1.0_amd64");
	/* vm last on the right and overridden: the right list ends there */
	l[0] = list_of((const char *[]){ "vm_1.0_amd64", "vm_1.1_amd64", "a_1.0_amd64", NULL });
	l[1] = list_of((const char *[]){ "vm_0.9_amd64", "a_1.0_amd64", NULL });
	merged(AV_MERGE_REPLACE, l, 2, "a_1.0_amd64 vm_0.9_amd64 vm_1.1_amd64");
	merged(AV_MERGE_NO_REMOVE, l, 2, "a_1.0_amd64 vm_0.9_amd64 vm_1.0_amd64 vm_1.1_amd64");
}
