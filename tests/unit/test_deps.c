/*
 * test_deps.c - the dependency resolver: parsing Depends-style fields
 * (alternatives, relations, qualifiers, [arch] lists, <profiles>, malformed
 * input), package sets (add/replace/remove, key order, architectures, load
 * reading each blob once, big lists read in parallel, unflushed ones too),
 * search (name, version, arch all, Provides bare and versioned, Multi-Arch,
 * by aptly's rules and by dpkg's), verify (aptly's formatting and sorting,
 * once per architecture pass, alternatives, what a settled group hides,
 * all-variants, follow-*, --architectures), filter with and without deps,
 * pull (replace, no-remove, all-matches, no-deps, architectures), and two
 * conformance tests running the real aptly 1.5 on .debs built with
 * dpkg-deb, a hand-made corpus and a generated one (DEPS_SEED=N picks
 * another; DEPS_DEBUG=1 prints what aptly answered).  Those two are
 * skipped, with a SKIP line and not counted as passed, without aptly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "aptvault/deps.h"
#include "aptvault/deb.h"
#include "aptvault/deb822.h"
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "aptvault/plist.h"
#include "aptvault/query.h"
#include "aptvault/store.h"
#include "fixtures.h"

TestSuite(deps, .timeout = 120);

/* ---- helpers -------------------------------------------------------------- */

static av_pkg *mkpkg_type(av_pkg_type type, const char *name, const char *version,
			  const char *arch, const char *extra)
{
	char text[4096];
	av_stanza *st = NULL;
	av_pkg *p = NULL;

	snprintf(text, sizeof(text), "Package: %s\nVersion: %s\nArchitecture: %s\n%s",
		 name, version, arch, extra ? extra : "");
	cr_assert_eq(av_deb822_parse_one(&st, text, strlen(text)), 0, "%s", av_error_last());
	cr_assert_eq(av_pkg_new(&p, st, type), 0, "%s", av_error_last());
	return p;
}

static void add(av_pkgset *set, const char *name, const char *version, const char *arch,
		const char *extra)
{
	cr_assert_eq(av_pkgset_add(set, mkpkg_type(AV_PKG_DEB, name, version, arch, extra),
				   NULL), 0, "%s", av_error_last());
}

static void add_source(av_pkgset *set, const char *name, const char *version)
{
	cr_assert_eq(av_pkgset_add(set, mkpkg_type(AV_PKG_SOURCE, name, version, "any",
						   NULL), NULL), 0);
}

static av_pkgset *newset(void)
{
	av_pkgset *s = NULL;

	cr_assert_eq(av_pkgset_new(&s), 0);
	return s;
}

/* The keys of a set in order, space-separated (static buffer). */
static const char *keys(const av_pkgset *set)
{
	static char out[32768];
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < av_pkgset_count(set); i++) {
		const av_pkg *p = av_pkgset_at(set, i, NULL);
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s_%s_%s",
					i ? " " : "", p->name, p->version, p->arch);
		cr_assert_lt(len, sizeof(out));
	}
	return out;
}

typedef struct lines {
	char text[8192];
	size_t len;
	int n;
} lines;

static int collect_line(const char *dep, void *payload)
{
	lines *l = payload;

	l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s%s",
				   l->n++ ? "\n" : "", dep);
	cr_assert_lt(l->len, sizeof(l->text));
	return 0;
}

static const char *verify(const av_pkgset *set, const av_pkgset *const *extra, size_t n,
			  const av_dep_opts *o)
{
	static lines l;

	memset(&l, 0, sizeof(l));
	cr_assert_eq(av_deps_verify(set, extra, n, o, collect_line, &l), 0, "%s",
		     av_error_last());
	return l.text;
}

static av_query *query(const char *text)
{
	av_query *q = NULL;

	cr_assert_eq(av_query_parse(&q, text), 0, "%s", av_error_last());
	return q;
}

static const char *filter(const av_pkgset *src, const char *q, int with_deps,
			  const av_pkgset *have, const av_dep_opts *o)
{
	av_pkgset *out = newset();
	av_query *qq = q ? query(q) : NULL;
	static char res[32768];

	cr_assert_eq(av_deps_filter(src, qq, with_deps, have, o, out), 0, "%s",
		     av_error_last());
	snprintf(res, sizeof(res), "%s", keys(out));
	av_query_free(qq);
	av_pkgset_free(out);
	return res;
}

typedef struct pulled {
	char out[32768], added[32768], removed[32768];
} pulled;

static void pull(pulled *r, const av_pkgset *dst, const av_pkgset *src, const char *q,
		 const av_pull_opts *o)
{
	av_pkgset *out = newset(), *added = newset(), *removed = newset();
	av_query *qq = query(q);

	cr_assert_eq(av_deps_pull(dst, src, (const av_query *const *)&qq, 1, o, out, added,
				  removed), 0, "%s", av_error_last());
	snprintf(r->out, sizeof(r->out), "%s", keys(out));
	snprintf(r->added, sizeof(r->added), "%s", keys(added));
	snprintf(r->removed, sizeof(r->removed), "%s", keys(removed));
	av_query_free(qq);
	av_pkgset_free(out);
	av_pkgset_free(added);
	av_pkgset_free(removed);
}

typedef struct found {
	char text[2048];
	size_t len;
} found;

static int collect_pkg(const av_pkg *p, const git_oid *blob, void *payload)
{
	found *f = payload;

	(void)blob;
	f->len += (size_t)snprintf(f->text + f->len, sizeof(f->text) - f->len, "%s%s_%s_%s",
				   f->len ? " " : "", p->name, p->version, p->arch);
	return 0;
}

/* Candidates for the single dependency text, for arch. */
static const char *search(const av_pkgset *set, const char *dep, const char *arch,
			  const av_dep_opts *o)
{
	static found f;
	av_deplist l;

	memset(&f, 0, sizeof(f));
	cr_assert_eq(av_deps_parse(&l, dep, NULL), 0, "%s", av_error_last());
	cr_assert_eq(l.n, 1);
	cr_assert_eq(l.v[0].n, 1);
	cr_assert_eq(av_pkgset_search(set, &l.v[0].alts[0], arch, o, collect_pkg, &f), 0);
	av_deplist_dispose(&l);
	return f.text;
}

/* ---- parsing ------------------------------------------------------------- */

Test(deps, parse_splits_groups_and_alternatives)
{
	av_deplist l;

	cr_assert_eq(av_deps_parse(&l, "libc6 (>= 2.36), mta | postfix (>> 3.0)\n  , adduser",
				   NULL), 0, "%s", av_error_last());
	cr_assert_eq(l.n, 3);
	cr_assert_eq(l.v[0].n, 1);
	cr_assert_str_eq(l.v[0].alts[0].name, "libc6");
	cr_assert_eq(l.v[0].alts[0].op, AV_REL_GE);
	cr_assert_str_eq(l.v[0].alts[0].version, "2.36");
	cr_assert_null(l.v[0].alts[0].arch);
	cr_assert_eq(l.v[1].n, 2);
	cr_assert_str_eq(l.v[1].alts[0].name, "mta");
	cr_assert_eq(l.v[1].alts[0].op, AV_REL_NONE);
	cr_assert_null(l.v[1].alts[0].version);
	cr_assert_str_eq(l.v[1].alts[1].name, "postfix");
	cr_assert_eq(l.v[1].alts[1].op, AV_REL_GT);
	cr_assert_str_eq(l.v[2].alts[0].name, "adduser");
	av_deplist_dispose(&l);
}

Test(deps, parse_reads_every_relation_like_aptly)
{
	static const struct { const char *text; av_relop op; } cases[] = {
		{ "a (<< 1)", AV_REL_LT }, { "a (<= 1)", AV_REL_LE }, { "a (= 1)", AV_REL_EQ },
		{ "a (>= 1)", AV_REL_GE }, { "a (>> 1)", AV_REL_GT }, { "a (< 1)", AV_REL_LE },
		{ "a (> 1)", AV_REL_GE }, { "a (1)", AV_REL_EQ }, { "a(>=1)", AV_REL_GE },
		{ "a ( >=  1 )", AV_REL_GE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		av_deplist l;
		cr_assert_eq(av_deps_parse(&l, cases[i].text, NULL), 0, "%s: %s", cases[i].text,
			     av_error_last());
		cr_assert_eq(l.v[0].alts[0].op, cases[i].op, "%s", cases[i].text);
		cr_assert_str_eq(l.v[0].alts[0].version, "1", "%s", cases[i].text);
		av_deplist_dispose(&l);
	}
}

Test(deps, parse_keeps_architecture_qualifiers)
{
	av_deplist l;

	cr_assert_eq(av_deps_parse(&l, "python3:any (>= 3.11), libc6:native, gcc:i386", NULL), 0);
	cr_assert_str_eq(l.v[0].alts[0].name, "python3");
	cr_assert_str_eq(l.v[0].alts[0].arch, "any");
	cr_assert_str_eq(l.v[0].alts[0].version, "3.11");
	cr_assert_str_eq(l.v[1].alts[0].arch, "native");
	cr_assert_str_eq(l.v[2].alts[0].arch, "i386");
	av_deplist_dispose(&l);
}

Test(deps, parse_architecture_lists_drop_alternatives_for_other_architectures)
{
	const char *text = "a [amd64] | b [!amd64], c [i386 armhf], d [linux-any], "
			   "e [any-i386], f [!hurd-any]";
	av_deplist l;

	cr_assert_eq(av_deps_parse(&l, text, "amd64"), 0, "%s", av_error_last());
	cr_assert_eq(l.n, 3);	/* c and e are not for amd64 */
	cr_assert_eq(l.v[0].n, 1);
	cr_assert_str_eq(l.v[0].alts[0].name, "a");
	cr_assert_str_eq(l.v[1].alts[0].name, "d");
	cr_assert_str_eq(l.v[2].alts[0].name, "f");
	av_deplist_dispose(&l);

	cr_assert_eq(av_deps_parse(&l, text, "i386"), 0);
	cr_assert_eq(l.n, 5);
	cr_assert_str_eq(l.v[0].alts[0].name, "b");
	av_deplist_dispose(&l);

	cr_assert_eq(av_deps_parse(&l, text, "hurd-i386"), 0);
	cr_assert_eq(l.n, 2);	/* b (not amd64), e (any-i386) */
	cr_assert_str_eq(l.v[1].alts[0].name, "e");
	av_deplist_dispose(&l);

	cr_assert_eq(av_deps_parse(&l, text, NULL), 0);	/* no architecture: keep all */
	cr_assert_eq(l.n, 5);
	cr_assert_eq(l.v[0].n, 2);
	av_deplist_dispose(&l);
}

Test(deps, parse_ignores_build_profiles)
{
	av_deplist l;

	cr_assert_eq(av_deps_parse(&l, "a <!nocheck>, b (>= 1) [amd64] <stage1> <cross>",
				   "amd64"), 0, "%s", av_error_last());
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.v[0].alts[0].name, "a");
	cr_assert_str_eq(l.v[1].alts[0].version, "1");
	av_deplist_dispose(&l);
}

Test(deps, parse_skips_empty_groups)
{
	av_deplist l;

	cr_assert_eq(av_deps_parse(&l, " a, , b,", NULL), 0);
	cr_assert_eq(l.n, 2);
	av_deplist_dispose(&l);
	cr_assert_eq(av_deps_parse(&l, "", NULL), 0);
	cr_assert_eq(l.n, 0);
	av_deplist_dispose(&l);
}

Test(deps, parse_rejects_malformed_input)
{
	static const char *const bad[] = {
		"a (>= 1.0", "a (=< 1)", "a (== 1)", "a (<> 1)", "a | | b", "a |", "a (>=)",
		"(>= 1)", "a b", "a [amd64", "a [!amd64 i386]", "a []", "a:", "a <nocheck",
		"a (>> 1) extra", "a (1 2)", "a:any:x",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		av_deplist l;
		cr_assert_eq(av_deps_parse(&l, bad[i], "amd64"), AV_EINVALID, "'%s' accepted",
			     bad[i]);
		cr_assert_neq(strstr(av_error_last(), "malformed dependency"), NULL, "%s",
			      av_error_last());
		cr_assert_eq(l.n, 0);
		cr_assert_null(l.v);
	}
}

Test(deps, format_prints_like_aptly)
{
	av_dep d = { "libc6", "amd64", AV_REL_GE, "2.36" };
	av_buf b = AV_BUF_INIT;

	cr_assert_eq(av_dep_format(&b, &d), 0);
	cr_assert_str_eq(av_buf_cstr(&b), "libc6 (>= 2.36) [amd64]");
	av_buf_clear(&b);
	d.op = AV_REL_NONE;
	cr_assert_eq(av_dep_format(&b, &d), 0);
	cr_assert_str_eq(av_buf_cstr(&b), "libc6 [amd64]");
	av_buf_clear(&b);
	d.arch = NULL;
	cr_assert_eq(av_dep_format(&b, &d), 0);
	cr_assert_str_eq(av_buf_cstr(&b), "libc6");
	av_buf_dispose(&b);
}

/* ---- sets ------------------------------------------------------------------- */

Test(deps, set_is_in_key_order_and_add_replaces_the_same_key)
{
	av_pkgset *s = newset();
	const git_oid *blob;
	git_oid oid;

	add(s, "zlib", "1", "amd64", NULL);
	add(s, "app", "2", "amd64", NULL);
	add(s, "app", "10", "amd64", NULL);
	add(s, "app", "2", "all", NULL);
	cr_assert_str_eq(keys(s), "app_10_amd64 app_2_all app_2_amd64 zlib_1_amd64");
	memset(&oid, 7, sizeof(oid));
	cr_assert_eq(av_pkgset_add(s, mkpkg_type(AV_PKG_DEB, "zlib", "1", "amd64",
						 "Depends: x\n"), &oid), 0);
	cr_assert_eq(av_pkgset_count(s), 4);
	cr_assert_not_null(av_pkgset_get(s, "zlib_1_amd64", &blob));
	cr_assert_eq(git_oid_cmp(blob, &oid), 0);
	cr_assert_str_eq(av_stanza_get(av_pkgset_get(s, "zlib_1_amd64", NULL)->stanza,
				       "Depends"), "x");
	cr_assert_null(av_pkgset_get(s, "zlib_2_amd64", NULL));
	av_pkgset_free(s);
}

Test(deps, set_remove_keeps_the_index_in_step)
{
	av_pkgset *s = newset();

	add(s, "a", "1", "amd64", "Provides: v\n");
	add(s, "b", "1", "amd64", "Provides: v\n");
	add(s, "c", "1", "amd64", NULL);
	cr_assert_str_eq(search(s, "v", "amd64", NULL), "a_1_amd64 b_1_amd64");
	cr_assert_eq(av_pkgset_remove(s, "a_1_amd64"), 0);
	cr_assert_eq(av_pkgset_remove(s, "a_1_amd64"), AV_ENOTFOUND);
	cr_assert_str_eq(search(s, "v", "amd64", NULL), "b_1_amd64");
	cr_assert_str_eq(keys(s), "b_1_amd64 c_1_amd64");
	add(s, "a", "2", "amd64", "Provides: v\n");
	cr_assert_str_eq(search(s, "v", "amd64", NULL), "a_2_amd64 b_1_amd64");
	cr_assert_str_eq(keys(s), "a_2_amd64 b_1_amd64 c_1_amd64");
	av_pkgset_free(s);
}

Test(deps, set_architectures_are_sorted_without_all_and_source)
{
	av_pkgset *s = newset();
	const char **archs = NULL;
	size_t n = 0;

	add(s, "a", "1", "i386", NULL);
	add(s, "b", "1", "all", NULL);
	add(s, "c", "1", "amd64", NULL);
	add(s, "d", "1", "i386", NULL);
	add_source(s, "a", "1");
	cr_assert_eq(av_pkgset_architectures(s, &archs, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(archs[0], "amd64");
	cr_assert_str_eq(archs[1], "i386");
	free(archs);
	av_pkgset_free(s);
}

Test(deps, load_reads_each_blob_once)
{
	char *root = fx_tmpdir();
	av_store *st = NULL;
	av_plist *l = NULL;
	av_pkgset *set = NULL;
	git_oid tree;
	const git_oid *blob;
	int n = 300;

	cr_assert_eq(av_store_open(&st, root, 1), 0, "%s", av_error_last());
	cr_assert_eq(av_plist_open(&l, st, NULL), 0);
	for (int i = 0; i < n; i++) {
		char name[32], key[64];
		av_pkg *p;
		av_buf text = AV_BUF_INIT;
		git_oid oid;

		snprintf(name, sizeof(name), "pkg%03d", i);
		p = mkpkg_type(AV_PKG_DEB, name, "1.0", i % 2 ? "amd64" : "all",
			       i ? "Depends: pkg000\n" : NULL);
		cr_assert_eq(av_pkg_serialize(&text, p), 0);
		cr_assert_eq(av_store_blob_write(st, &oid, text.ptr, text.len), 0);
		snprintf(key, sizeof(key), "%s_1.0_%s", name, p->arch);
		cr_assert_eq(av_plist_put(l, key, &oid, 0), 0);
		av_buf_dispose(&text);
		av_pkg_free(p);
	}
	cr_assert_eq(av_plist_write(l, &tree), 0);
	cr_assert_eq(av_store_flush(st), 0);
	av_plist_free(l);
	av_store_free(st);
	cr_assert_eq(av_store_open(&st, root, 0), 0);

	av_store_stats_reset(st);
	cr_assert_eq(av_pkgset_load(&set, st, &tree), 0, "%s", av_error_last());
	cr_assert_eq(av_pkgset_count(set), (size_t)n);
	/* n blobs, the root tree and its bucket trees: nothing twice */
	cr_assert_leq(av_store_stats_get(st)->objects_read, (unsigned long)n + 1 + 256);
	cr_assert_geq(av_store_stats_get(st)->objects_read, (unsigned long)n + 1);
	cr_assert_not_null(av_pkgset_get(set, "pkg007_1.0_amd64", &blob));
	cr_assert(!git_oid_is_zero(blob));
	cr_assert_str_eq(verify(set, NULL, 0, NULL), "");
	av_pkgset_free(set);
	av_store_free(st);
	av_remove_tree(root);
	free(root);
}

/* A list of n packages in st (flushed or not); returns its tree. */
static git_oid write_list(av_store *st, int n, int flush)
{
	av_plist *l = NULL;
	git_oid tree;

	cr_assert_eq(av_plist_open(&l, st, NULL), 0);
	for (int i = 0; i < n; i++) {
		char name[32], key[64], deps[64];
		av_buf text = AV_BUF_INIT;
		av_pkg *p;
		git_oid oid;

		snprintf(name, sizeof(name), "pkg%05d", i);
		snprintf(deps, sizeof(deps), "Depends: pkg%05d, gone%d\n", (i * 7) % n, i % 3);
		p = mkpkg_type(AV_PKG_DEB, name, "1.0", i % 2 ? "amd64" : "i386", deps);
		cr_assert_eq(av_pkg_serialize(&text, p), 0);
		cr_assert_eq(av_store_blob_write(st, &oid, text.ptr, text.len), 0);
		snprintf(key, sizeof(key), "%s_1.0_%s", name, p->arch);
		cr_assert_eq(av_plist_put(l, key, &oid, 0), 0);
		av_buf_dispose(&text);
		av_pkg_free(p);
	}
	cr_assert_eq(av_plist_write(l, &tree), 0);
	if (flush)
		cr_assert_eq(av_store_flush(st), 0);
	av_plist_free(l);
	return tree;
}

static void check_big_set(const av_pkgset *set, int n)
{
	const git_oid *blob;

	cr_assert_eq(av_pkgset_count(set), (size_t)n);
	for (int i = 0; i < n; i += 997) {
		char key[64];
		snprintf(key, sizeof(key), "pkg%05d_1.0_%s", i, i % 2 ? "amd64" : "i386");
		cr_assert_not_null(av_pkgset_get(set, key, &blob), "%s", key);
		cr_assert(!git_oid_is_zero(blob));
	}
	/* every package depends on one of the set, which is found only when
	 * its architecture matches, and on gone0..gone2 */
	cr_assert_neq(strstr(verify(set, NULL, 0, NULL), "gone2 [i386]"), NULL);
}

Test(deps, load_of_a_big_list_gives_the_same_set_as_a_small_read)
{
	char *root = fx_tmpdir();
	av_store *st = NULL;
	av_pkgset *set = NULL;
	git_oid tree;
	int n = 6000;

	cr_assert_eq(av_store_open(&st, root, 1), 0, "%s", av_error_last());
	tree = write_list(st, n, 1);
	av_store_free(st);
	cr_assert_eq(av_store_open(&st, root, 0), 0);
	cr_assert_eq(av_pkgset_load(&set, st, &tree), 0, "%s", av_error_last());
	check_big_set(set, n);
	av_pkgset_free(set);
	av_store_free(st);
	av_remove_tree(root);
	free(root);
}

Test(deps, load_of_a_big_list_not_yet_flushed_reads_it_all)
{
	char *root = fx_tmpdir();
	av_store *st = NULL;
	av_pkgset *set = NULL;
	git_oid tree;
	int n = 5000;

	/* the blobs are only in this store's memory: other readers cannot
	 * see them, so the caller reads them itself */
	cr_assert_eq(av_store_open(&st, root, 1), 0, "%s", av_error_last());
	tree = write_list(st, n, 0);
	cr_assert_eq(av_pkgset_load(&set, st, &tree), 0, "%s", av_error_last());
	check_big_set(set, n);
	av_pkgset_free(set);
	av_store_discard(st);
	av_store_free(st);
	av_remove_tree(root);
	free(root);
}

/* ---- search ---------------------------------------------------------------- */

static av_pkgset *search_corpus(void)
{
	av_pkgset *s = newset();

	add(s, "libfoo", "1.0", "amd64", NULL);
	add(s, "libfoo", "1.10", "amd64", NULL);
	add(s, "libfoo", "1.9", "amd64", NULL);
	add(s, "libfoo", "1.9", "i386", NULL);
	add(s, "libfoo", "1.9", "all", NULL);
	add(s, "prov", "5.0", "amd64", "Provides: libfoo, virt, vers (= 2.0)\n");
	add(s, "tool", "1", "i386", "Multi-Arch: foreign\n");
	add(s, "py", "3", "i386", "Multi-Arch: allowed\n");
	add(s, "same", "1", "i386", "Multi-Arch: same\n");
	add(s, "doc", "1", "all", NULL);
	add_source(s, "foo", "1.9");
	return s;
}

Test(deps, search_by_name_is_newest_first_then_providers)
{
	av_pkgset *s = search_corpus();

	cr_assert_str_eq(search(s, "libfoo", "amd64", NULL),
			 "libfoo_1.10_amd64 libfoo_1.9_all libfoo_1.9_amd64 libfoo_1.0_amd64 "
			 "prov_5.0_amd64");
	cr_assert_str_eq(search(s, "libfoo", NULL, NULL),
			 "libfoo_1.10_amd64 libfoo_1.9_all libfoo_1.9_amd64 libfoo_1.9_i386 "
			 "libfoo_1.0_amd64 prov_5.0_amd64");
	cr_assert_str_eq(search(s, "nothing", "amd64", NULL), "");
	av_pkgset_free(s);
}

Test(deps, search_honours_version_constraints)
{
	av_pkgset *s = search_corpus();

	cr_assert_str_eq(search(s, "libfoo (>= 1.9)", "amd64", NULL),
			 "libfoo_1.10_amd64 libfoo_1.9_all libfoo_1.9_amd64");
	cr_assert_str_eq(search(s, "libfoo (<< 1.9)", "amd64", NULL), "libfoo_1.0_amd64");
	cr_assert_str_eq(search(s, "libfoo (= 1.10)", "i386", NULL), "");
	cr_assert_str_eq(search(s, "libfoo (>> 1.10)", "amd64", NULL), "");
	av_pkgset_free(s);
}

Test(deps, search_architecture_all_matches_every_architecture_but_source)
{
	av_pkgset *s = search_corpus();

	cr_assert_str_eq(search(s, "doc", "armhf", NULL), "doc_1_all");
	cr_assert_str_eq(search(s, "doc", "source", NULL), "");
	cr_assert_str_eq(search(s, "foo (= 1.9)", "source", NULL), "foo_1.9_source");
	cr_assert_str_eq(search(s, "libfoo:i386 (= 1.9)", "amd64", NULL),
			 "libfoo_1.9_all libfoo_1.9_i386");
	av_pkgset_free(s);
}

Test(deps, search_aptly_takes_only_bare_provides_for_unversioned_dependencies)
{
	av_pkgset *s = search_corpus();

	cr_assert_str_eq(search(s, "virt", "amd64", NULL), "prov_5.0_amd64");
	cr_assert_str_eq(search(s, "virt", "i386", NULL), "");
	cr_assert_str_eq(search(s, "virt (>= 1)", "amd64", NULL), "");
	/* aptly 1.5 reads "vers (= 2.0)" as one opaque name */
	cr_assert_str_eq(search(s, "vers", "amd64", NULL), "");
	cr_assert_str_eq(search(s, "vers (>= 1)", "amd64", NULL), "");
	av_pkgset_free(s);
}

Test(deps, search_debian_policy_honours_versioned_provides)
{
	av_pkgset *s = search_corpus();
	av_dep_opts o = { .debian_policy = 1 };

	cr_assert_str_eq(search(s, "vers", "amd64", &o), "prov_5.0_amd64");
	cr_assert_str_eq(search(s, "vers (>= 1)", "amd64", &o), "prov_5.0_amd64");
	cr_assert_str_eq(search(s, "vers (>> 2.0)", "amd64", &o), "");
	cr_assert_str_eq(search(s, "virt (>= 1)", "amd64", &o), "");
	cr_assert_str_eq(search(s, "virt", "amd64", &o), "prov_5.0_amd64");
	av_pkgset_free(s);
}

Test(deps, search_aptly_ignores_multi_arch)
{
	av_pkgset *s = search_corpus();

	cr_assert_str_eq(search(s, "tool", "amd64", NULL), "");
	cr_assert_str_eq(search(s, "py:any", "amd64", NULL), "");
	cr_assert_str_eq(search(s, "py:any", "i386", NULL), "py_3_i386");
	/* ":native" is taken as an architecture named "native" */
	cr_assert_str_eq(search(s, "libfoo:native", "amd64", NULL), "libfoo_1.9_all");
	av_pkgset_free(s);
}

Test(deps, search_debian_policy_applies_multi_arch_rules)
{
	av_pkgset *s = search_corpus();
	av_dep_opts o = { .debian_policy = 1 };

	cr_assert_str_eq(search(s, "tool", "amd64", &o), "tool_1_i386");	/* foreign */
	cr_assert_str_eq(search(s, "tool:any", "amd64", &o), "tool_1_i386");
	cr_assert_str_eq(search(s, "py", "amd64", &o), "");			/* allowed */
	cr_assert_str_eq(search(s, "py:any", "amd64", &o), "py_3_i386");
	cr_assert_str_eq(search(s, "same", "amd64", &o), "");			/* same */
	cr_assert_str_eq(search(s, "same:any", "amd64", &o), "");
	cr_assert_str_eq(search(s, "same", "i386", &o), "same_1_i386");
	cr_assert_str_eq(search(s, "libfoo:native (= 1.9)", "amd64", &o),
			 "libfoo_1.9_all libfoo_1.9_amd64");
	/* "all" is the native architecture, not every one */
	cr_assert_str_eq(search(s, "libfoo:i386 (= 1.9)", "amd64", &o), "libfoo_1.9_i386");
	av_pkgset_free(s);
}

/* ---- verify --------------------------------------------------------------- */

Test(deps, verify_lists_missing_dependencies_sorted_in_aptly_format)
{
	av_pkgset *s = newset();

	add(s, "app", "1", "amd64", "Depends: zlib (>= 2), libc6, missing-b\n"
				     "Pre-Depends: missing-a\n");
	add(s, "app", "1", "i386", "Depends: zlib (>= 2), libc6\n");
	add(s, "libc6", "2", "amd64", NULL);
	add(s, "zlib", "1", "amd64", NULL);
	cr_assert_str_eq(verify(s, NULL, 0, NULL),
			 "libc6 [i386]\n"
			 "missing-a [amd64]\n"
			 "missing-b [amd64]\n"
			 "zlib (>= 2) [amd64]\n"
			 "zlib (>= 2) [i386]");
	av_pkgset_free(s);
}

Test(deps, verify_reports_a_dependency_once_per_architecture_pass)
{
	av_pkgset *s = newset();
	av_dep_opts o = { .follow_source = 1 };

	add(s, "a", "1", "amd64", "Depends: gone\n");
	add(s, "b", "1", "amd64", "Depends: gone\n");
	add(s, "c", "1", "i386", "Depends: gone\n");
	add(s, "doc", "1", "all", "Depends: other:armhf\n");
	cr_assert_str_eq(verify(s, NULL, 0, NULL),
			 "gone [amd64]\ngone [i386]\nother [armhf]\nother [armhf]");
	add_source(s, "a", "1");
	add_source(s, "b", "1");
	add_source(s, "c", "1");
	/* like aptly: doc's "doc (= 1) [source]" is checked for amd64 and
	 * i386, and "source" is an architecture of the set now */
	cr_assert_str_eq(verify(s, NULL, 0, &o),
			 "doc (= 1) [source]\ndoc (= 1) [source]\n"
			 "gone [amd64]\ngone [i386]\nother [armhf]\nother [armhf]");
	av_pkgset_free(s);
}

Test(deps, verify_alternatives_are_missing_only_when_none_is_found)
{
	av_pkgset *s = newset();
	av_dep_opts all = { .follow_all_variants = 1 };

	add(s, "app", "1", "amd64", "Depends: a | b, c | d | e, x | x:any\n");
	add(s, "b", "1", "amd64", NULL);
	cr_assert_str_eq(verify(s, NULL, 0, NULL),
			 "c [amd64]\nd [amd64]\ne [amd64]\nx [amd64]");
	cr_assert_str_eq(verify(s, NULL, 0, &all),
			 "a [amd64]\nc [amd64]\nd [amd64]\ne [amd64]\nx [amd64]");
	av_pkgset_free(s);
}

Test(deps, verify_a_missing_alternative_of_a_settled_group_is_not_reported_again)
{
	av_pkgset *s = newset();

	/* aptly 1.5: p1 searches absent0 and n04 [amd64], finds n13: its group
	 * is settled, but both stay known as missing for the rest of the pass,
	 * so p2's "n04 | absent1" reports only absent1 */
	add(s, "p1", "1", "amd64", "Depends: absent0 | n04:amd64 | n13:any\n");
	add(s, "p2", "1", "amd64", "Depends: n04 | absent1\n");
	add(s, "n04", "1", "i386", NULL);
	add(s, "n13", "1", "amd64", NULL);
	cr_assert_str_eq(verify(s, NULL, 0, NULL), "absent1 [amd64]");
	av_pkgset_free(s);
}

Test(deps, verify_looks_in_the_extra_sets)
{
	av_pkgset *s = newset(), *e1 = newset(), *e2 = newset();
	const av_pkgset *extra[] = { e1, e2 };

	add(s, "app", "1", "amd64", "Depends: a, b (>= 2), c\n");
	add(e1, "a", "1", "all", NULL);
	add(e2, "b", "2", "amd64", NULL);
	add(e2, "d", "1", "i386", NULL);	/* an architecture of e2 only */
	cr_assert_str_eq(verify(s, extra, 2, NULL), "c [amd64]");
	cr_assert_str_eq(verify(s, NULL, 0, NULL), "a [amd64]\nb (>= 2) [amd64]\nc [amd64]");
	av_pkgset_free(s);
	av_pkgset_free(e1);
	av_pkgset_free(e2);
}

Test(deps, verify_follows_recommends_suggests_and_source_when_asked)
{
	av_pkgset *s = newset();
	av_dep_opts rec = { .follow_recommends = 1 }, sug = { .follow_suggests = 1 };
	av_dep_opts src = { .follow_source = 1 };

	add(s, "app", "1.0-1", "amd64", "Source: appsrc (0.9)\nRecommends: r\nSuggests: s\n");
	add(s, "lib", "2", "amd64", "Source: libsrc\n");
	add(s, "solo", "3", "amd64", NULL);
	add_source(s, "solo", "3");
	cr_assert_str_eq(verify(s, NULL, 0, NULL), "");
	cr_assert_str_eq(verify(s, NULL, 0, &rec), "r [amd64]");
	cr_assert_str_eq(verify(s, NULL, 0, &sug), "s [amd64]");
	cr_assert_str_eq(verify(s, NULL, 0, &src),
			 "appsrc (= 0.9) [source]\nlibsrc (= 2) [source]");
	av_pkgset_free(s);
}

Test(deps, verify_architectures_limit_what_is_checked)
{
	av_pkgset *s = newset();
	const char *const amd64[] = { "amd64", NULL }, *const armhf[] = { "armhf", NULL };
	av_dep_opts o = { .architectures = amd64 }, o2 = { .architectures = armhf };

	add(s, "a", "1", "amd64", "Depends: x\n");
	add(s, "b", "1", "i386", "Depends: y\n");
	add(s, "c", "1", "all", "Depends: z\n");
	cr_assert_str_eq(verify(s, NULL, 0, &o), "x [amd64]\nz [amd64]");
	cr_assert_str_eq(verify(s, NULL, 0, &o2), "z [armhf]");
	av_pkgset_free(s);
}

Test(deps, verify_fails_without_architectures_or_on_malformed_dependencies)
{
	av_pkgset *s = newset(), *t = newset();

	cr_assert_eq(av_deps_verify(s, NULL, 0, NULL, collect_line, &(lines){ 0 }),
		     AV_EINVALID);
	cr_assert_neq(strstr(av_error_last(), "--architectures"), NULL);
	add(t, "x", "1", "amd64", "Depends: a (=> 1)\n");
	cr_assert_eq(av_deps_verify(t, NULL, 0, NULL, collect_line, &(lines){ 0 }),
		     AV_EINVALID);
	cr_assert_neq(strstr(av_error_last(), "x_1_amd64"), NULL, "%s", av_error_last());
	av_pkgset_free(s);
	av_pkgset_free(t);
}

Test(deps, verify_debian_policy_uses_versioned_provides_and_multi_arch)
{
	av_pkgset *s = newset();
	av_dep_opts o = { .debian_policy = 1 };

	add(s, "app", "1", "amd64", "Depends: api (>= 2), tool, py:any, libc6:native\n");
	add(s, "impl", "1", "amd64", "Provides: api (= 3)\n");
	add(s, "tool", "1", "i386", "Multi-Arch: foreign\n");
	add(s, "py", "3", "i386", "Multi-Arch: allowed\n");
	add(s, "libc6", "2", "amd64", NULL);
	cr_assert_str_eq(verify(s, NULL, 0, &o), "");
	cr_assert_str_eq(verify(s, NULL, 0, NULL),
			 "api (>= 2) [amd64]\nlibc6 [native]\npy [amd64]\ntool [amd64]");
	av_pkgset_free(s);
}

/* ---- filter -------------------------------------------------------------- */

static av_pkgset *filter_corpus(void)
{
	av_pkgset *s = newset();

	add(s, "app", "1", "amd64", "Depends: lib (>= 2), mta | postfix, virt\n"
				     "Recommends: rec\nSuggests: sug\nSource: appsrc (0.9)\n");
	add(s, "app", "1", "i386", "Depends: lib (>= 2), ionly\n");
	add(s, "lib", "1", "amd64", NULL);
	add(s, "lib", "2", "amd64", "Depends: libc6\n");
	add(s, "lib", "3", "amd64", "Depends: libc6 (>= 3)\n");
	add(s, "lib", "3", "i386", "Depends: libc6\n");
	add(s, "libc6", "2", "amd64", NULL);
	add(s, "libc6", "2", "i386", NULL);
	add(s, "mta", "1", "amd64", NULL);
	add(s, "postfix", "1", "amd64", NULL);
	add(s, "ionly", "1", "i386", NULL);
	add(s, "p1", "1", "amd64", "Provides: virt\n");
	add(s, "p2", "1", "amd64", "Provides: virt\n");
	add(s, "rec", "1", "all", "Depends: recdep\n");
	add(s, "recdep", "1", "amd64", NULL);
	add(s, "sug", "1", "all", NULL);
	add_source(s, "appsrc", "0.9");
	return s;
}

Test(deps, filter_without_deps_takes_the_matches_only)
{
	av_pkgset *s = filter_corpus();

	cr_assert_str_eq(filter(s, "app", 0, NULL, NULL), "app_1_amd64 app_1_i386");
	cr_assert_str_eq(filter(s, "lib (>= 3)", 0, NULL, NULL), "lib_3_amd64 lib_3_i386");
	cr_assert_str_eq(filter(s, "virt", 0, NULL, NULL), "p1_1_amd64 p2_1_amd64");
	cr_assert_str_eq(filter(s, "nothing", 1, NULL, NULL), "");
	av_pkgset_free(s);
}

Test(deps, filter_with_deps_resolves_transitively_newest_first)
{
	av_pkgset *s = filter_corpus();

	/* lib 3 needs libc6 (>= 3), which is missing: it is taken anyway;
	 * "mta | postfix" takes both (neither was there); virt takes its
	 * first provider */
	cr_assert_str_eq(filter(s, "app", 1, NULL, NULL),
			 "app_1_amd64 app_1_i386 ionly_1_i386 lib_3_amd64 lib_3_i386 "
			 "libc6_2_i386 mta_1_amd64 p1_1_amd64 postfix_1_amd64");
	av_pkgset_free(s);
}

Test(deps, filter_takes_every_alternative_when_none_is_there)
{
	av_pkgset *s = newset();

	add(s, "app", "1", "amd64", "Depends: a | b | c, d | e\n");
	add(s, "a", "1", "amd64", NULL);
	add(s, "b", "1", "amd64", NULL);
	add(s, "d", "1", "amd64", NULL);
	add(s, "e", "1", "amd64", "Provides: a\n");
	/* like aptly: a and b are both missing, both are pulled; and d | e
	 * too, even though e provides a */
	cr_assert_str_eq(filter(s, "app", 1, NULL, NULL),
			 "a_1_amd64 app_1_amd64 b_1_amd64 d_1_amd64 e_1_amd64");
	cr_assert_str_eq(filter(s, "app | d", 1, NULL, NULL),
			 "a_1_amd64 app_1_amd64 b_1_amd64 d_1_amd64");
	av_pkgset_free(s);
}

Test(deps, filter_skips_what_an_earlier_addition_satisfied)
{
	av_pkgset *s = newset();

	/* x and y are missing in the same round; adding x (which provides
	 * y) satisfies y before it is looked at */
	add(s, "app", "1", "amd64", "Depends: x, y\n");
	add(s, "x", "1", "amd64", "Provides: y\n");
	add(s, "y", "1", "amd64", NULL);
	cr_assert_str_eq(filter(s, "app", 1, NULL, NULL), "app_1_amd64 x_1_amd64");
	av_pkgset_free(s);
}

Test(deps, filter_does_not_pull_what_a_settled_group_hid_earlier_in_the_pass)
{
	av_pkgset *s = newset();

	/* as aptly 1.5 does: a1 (first in index order) finds live1 missing but
	 * is satisfied by have1, which hides live1 from b1; when b1 comes first
	 * (zz after z1), live2 is pulled */
	add(s, "a1", "1", "amd64", "Depends: live1 | have1\n");
	add(s, "b1", "1", "amd64", "Depends: live1\n");
	add(s, "have1", "1", "amd64", NULL);
	add(s, "live1", "1", "amd64", NULL);
	add(s, "z1", "1", "amd64", "Depends: live2\n");
	add(s, "zz", "1", "amd64", "Depends: live2 | have1\n");
	add(s, "live2", "1", "amd64", NULL);
	cr_assert_str_eq(filter(s, "a1 | b1 | have1", 1, NULL, NULL),
			 "a1_1_amd64 b1_1_amd64 have1_1_amd64");
	cr_assert_str_eq(filter(s, "zz | z1 | have1", 1, NULL, NULL),
			 "have1_1_amd64 live2_1_amd64 z1_1_amd64 zz_1_amd64");
	av_pkgset_free(s);
}

Test(deps, filter_all_variants_takes_every_candidate)
{
	av_pkgset *s = filter_corpus();
	av_dep_opts o = { .follow_all_variants = 1 };

	cr_assert_str_eq(filter(s, "app", 1, NULL, &o),
			 "app_1_amd64 app_1_i386 ionly_1_i386 lib_2_amd64 lib_3_amd64 "
			 "lib_3_i386 libc6_2_amd64 libc6_2_i386 mta_1_amd64 p1_1_amd64 "
			 "p2_1_amd64 postfix_1_amd64");
	av_pkgset_free(s);
}

Test(deps, filter_follows_recommends_suggests_and_source)
{
	av_pkgset *s = filter_corpus();
	av_dep_opts o = { .follow_recommends = 1, .follow_suggests = 1, .follow_source = 1 };
	av_dep_opts rec = { .follow_recommends = 1 };

	cr_assert_str_eq(filter(s, "app (= 1) {amd64}", 1, NULL, &rec),
			 "app_1_amd64 lib_3_amd64 mta_1_amd64 p1_1_amd64 postfix_1_amd64 "
			 "rec_1_all recdep_1_amd64");
	cr_assert_str_eq(filter(s, "app (= 1) {amd64}", 1, NULL, &o),
			 "app_1_amd64 appsrc_0.9_source lib_3_amd64 mta_1_amd64 p1_1_amd64 "
			 "postfix_1_amd64 rec_1_all recdep_1_amd64 sug_1_all");
	av_pkgset_free(s);
}

Test(deps, filter_architectures_limit_what_is_resolved)
{
	av_pkgset *s = filter_corpus();
	const char *const i386[] = { "i386", NULL };
	av_dep_opts o = { .architectures = i386 };

	cr_assert_str_eq(filter(s, "app", 1, NULL, &o),
			 "app_1_amd64 app_1_i386 ionly_1_i386 lib_3_i386 libc6_2_i386");
	av_pkgset_free(s);
}

Test(deps, filter_leaves_out_what_have_satisfies)
{
	av_pkgset *s = filter_corpus(), *have = newset();

	add(have, "lib", "9", "amd64", NULL);
	add(have, "postfix", "0", "amd64", NULL);
	cr_assert_str_eq(filter(s, "app {amd64}", 1, have, NULL), "app_1_amd64 p1_1_amd64");
	av_pkgset_free(have);
	av_pkgset_free(s);
}

Test(deps, filter_with_deps_fails_without_architectures)
{
	av_pkgset *s = newset(), *out = newset();

	add(s, "doc", "1", "all", NULL);
	cr_assert_eq(av_deps_filter(s, NULL, 1, NULL, NULL, out), AV_EINVALID);
	cr_assert_eq(av_deps_filter(s, NULL, 0, NULL, NULL, out), 0);
	cr_assert_str_eq(keys(out), "doc_1_all");
	av_pkgset_free(s);
	av_pkgset_free(out);
}

/* ---- pull ------------------------------------------------------------------ */

static void pull_corpus(av_pkgset **dst, av_pkgset **src)
{
	*dst = newset();
	*src = newset();
	add(*dst, "foo", "1.0", "amd64", NULL);
	add(*dst, "bar", "1.0", "all", NULL);
	add(*dst, "baz", "1.0", "amd64", "Provides: bar\n");
	add(*dst, "compat", "1.0", "amd64", "Provides: foo\n");
	add(*dst, "keep", "1.0", "amd64", NULL);
	add(*src, "foo", "2.0", "amd64", "Depends: bar (>= 2)\n");
	add(*src, "foo", "1.5", "amd64", NULL);
	add(*src, "foo", "2.0", "i386", NULL);
	add(*src, "bar", "2.0", "amd64", NULL);
	add(*src, "bar", "3.0", "all", NULL);
}

Test(deps, pull_replaces_the_same_name_and_architecture)
{
	av_pkgset *dst, *src;
	av_pull_opts o = { 0 };
	pulled r;

	pull_corpus(&dst, &src);
	pull(&r, dst, src, "foo", &o);
	/* aptly 1.5 removes what provides the name too (compat), and an "all"
	 * package only for another "all" one (baz stays) */
	cr_assert_str_eq(r.out, "bar_3.0_all baz_1.0_amd64 foo_2.0_amd64 keep_1.0_amd64");
	cr_assert_str_eq(r.added, "bar_3.0_all foo_2.0_amd64");
	cr_assert_str_eq(r.removed, "bar_1.0_all compat_1.0_amd64 foo_1.0_amd64");
	av_pkgset_free(dst);
	av_pkgset_free(src);
}

Test(deps, pull_no_remove_keeps_the_old_versions)
{
	av_pkgset *dst, *src;
	av_pull_opts o = { .no_remove = 1 };
	pulled r;

	pull_corpus(&dst, &src);
	pull(&r, dst, src, "foo", &o);
	cr_assert_str_eq(r.out, "bar_1.0_all bar_3.0_all baz_1.0_amd64 compat_1.0_amd64 "
			 "foo_1.0_amd64 foo_2.0_amd64 keep_1.0_amd64");
	cr_assert_str_eq(r.removed, "");
	av_pkgset_free(dst);
	av_pkgset_free(src);
}

Test(deps, pull_all_matches_takes_every_version)
{
	av_pkgset *dst, *src;
	av_pull_opts o = { .all_matches = 1 };
	pulled r;

	pull_corpus(&dst, &src);
	pull(&r, dst, src, "foo", &o);
	cr_assert_str_eq(r.out, "bar_3.0_all baz_1.0_amd64 foo_1.5_amd64 foo_2.0_amd64 "
			 "keep_1.0_amd64");
	av_pkgset_free(dst);
	av_pkgset_free(src);
}

Test(deps, pull_no_deps_takes_the_matches_only)
{
	av_pkgset *dst, *src;
	av_pull_opts o = { .no_deps = 1 };
	pulled r;

	pull_corpus(&dst, &src);
	pull(&r, dst, src, "foo", &o);
	cr_assert_str_eq(r.out, "bar_1.0_all baz_1.0_amd64 foo_2.0_amd64 keep_1.0_amd64");
	cr_assert_str_eq(r.added, "foo_2.0_amd64");
	av_pkgset_free(dst);
	av_pkgset_free(src);
}

Test(deps, pull_is_limited_to_the_architectures)
{
	av_pkgset *dst, *src;
	const char *const both[] = { "amd64", "i386", NULL };
	av_pull_opts o = { .deps.architectures = both };
	pulled r;

	pull_corpus(&dst, &src);
	pull(&r, dst, src, "foo", &o);
	cr_assert_str_eq(r.added, "bar_3.0_all foo_2.0_amd64 foo_2.0_i386");
	av_pkgset_free(dst);
	av_pkgset_free(src);
}

Test(deps, pull_debian_policy_removes_same_named_packages_only)
{
	av_pkgset *dst, *src;
	av_pull_opts o = { .deps.debian_policy = 1 };
	pulled r;

	pull_corpus(&dst, &src);
	pull(&r, dst, src, "foo", &o);
	cr_assert_str_eq(r.removed, "bar_1.0_all foo_1.0_amd64");
	av_pkgset_free(dst);
	av_pkgset_free(src);
}

Test(deps, pull_keeps_a_key_already_in_the_destination)
{
	av_pkgset *dst = newset(), *src = newset();
	av_pull_opts o = { .no_remove = 1 };
	const git_oid *blob;
	git_oid a, b;
	pulled r;

	memset(&a, 1, sizeof(a));
	memset(&b, 2, sizeof(b));
	cr_assert_eq(av_pkgset_add(dst, mkpkg_type(AV_PKG_DEB, "foo", "1", "amd64", NULL), &a), 0);
	cr_assert_eq(av_pkgset_add(src, mkpkg_type(AV_PKG_DEB, "foo", "1", "amd64", NULL), &b), 0);
	pull(&r, dst, src, "foo", &o);
	cr_assert_str_eq(r.added, "");
	o.no_remove = 0;
	pull(&r, dst, src, "foo", &o);	/* removed, then the pulled one added */
	cr_assert_str_eq(r.added, "foo_1_amd64");
	cr_assert_str_eq(r.removed, "foo_1_amd64");
	cr_assert_not_null(av_pkgset_get(dst, "foo_1_amd64", &blob));
	cr_assert_eq(git_oid_cmp(blob, &a), 0);
	av_pkgset_free(dst);
	av_pkgset_free(src);
}

Test(deps, pull_fails_when_the_destination_has_no_architecture)
{
	av_pkgset *dst = newset(), *src = newset(), *out = newset();
	av_pull_opts o = { 0 };
	av_query *q = query("foo");

	add(src, "foo", "1", "amd64", NULL);
	cr_assert_eq(av_deps_pull(dst, src, (const av_query *const *)&q, 1, &o, out, NULL,
				  NULL), AV_EINVALID);
	av_query_free(q);
	av_pkgset_free(dst);
	av_pkgset_free(src);
	av_pkgset_free(out);
}

/* ---- conformance with aptly 1.5 -------------------------------------------- */

typedef struct corpus_pkg {
	const char *snap;	/* "main" or "upd" */
	const char *name, *version, *arch, *extra;
} corpus_pkg;

/* Realistic shapes; no name that gets pulled has several providers, since
 * aptly picks among those at random. */
static const corpus_pkg corpus[] = {
	{ "main", "app", "1.0-1", "amd64", "Source: appsrc (0.9)\nDepends: libfoo (>= 1.2), "
	  "mta | postfix, python3:any (>= 3.9), awk\nRecommends: app-doc\n"
	  "Suggests: app-extra\n" },
	{ "main", "app", "1.0-1", "i386", "Source: appsrc (0.9)\nDepends: libfoo (>= 1.2), "
	  "mta | postfix\n" },
	{ "main", "app", "0.9-1", "amd64", "Source: appsrc (0.9)\nDepends: libfoo\n" },
	{ "main", "app-compat", "1.0", "amd64", "Provides: app\n" },
	{ "main", "app-doc", "1.0-1", "all", "Source: appsrc (0.9)\nDepends: app (= 1.0-1)\n" },
	{ "main", "app-extra", "1.0-1", "all", "Depends: extra-missing (>= 1), libbar:i386\n" },
	{ "main", "libfoo", "1.0-1", "amd64", "Source: foo\nDepends: libc6 (>= 2.30)\n" },
	{ "main", "libfoo", "1.3-1", "amd64", "Source: foo\nDepends: libc6 (>= 2.30)\n"
	  "Pre-Depends: multiarch-support\nMulti-Arch: same\n" },
	{ "main", "libfoo", "1.3-1", "i386", "Source: foo\nDepends: libc6 (>= 2.30)\n"
	  "Pre-Depends: multiarch-support\nMulti-Arch: same\n" },
	{ "main", "libc6", "2.36-9", "amd64", "Source: glibc\nMulti-Arch: same\n" },
	{ "main", "libc6", "2.36-9", "i386", "Source: glibc\nMulti-Arch: same\n" },
	{ "main", "multiarch-support", "2.36-9", "amd64", "Source: glibc\n" },
	{ "main", "postfix", "3.7.6-1", "amd64", "Provides: mail-transport-agent\n"
	  "Depends: adduser, libc6 (>= 2.34)\n" },
	{ "main", "exim4", "4.96-1", "amd64", "Provides: mail-transport-agent\n" },
	{ "main", "python3", "3.11.2-1", "amd64", "Multi-Arch: allowed\n" },
	{ "main", "adduser", "3.134", "all", "Depends: passwd\n" },
	{ "main", "passwd", "4.13", "amd64", NULL },
	{ "main", "mawk", "1.3.4-1", "amd64", "Provides: awk\nMulti-Arch: foreign\n" },
	{ "main", "tool", "2.0", "amd64", "Depends: vlib (>= 1.0) | libfoo, awk\n"
	  "Provides: toolkit (= 2.0)\n" },
	{ "main", "needs-toolkit", "1.0", "amd64", "Depends: toolkit (>= 1)\n" },
	{ "main", "needs-toolkit2", "1.0", "amd64", "Depends: toolkit\n" },
	{ "main", "native-user", "1.0", "amd64", "Depends: libc6:native\n" },
	{ "main", "cross", "1.0", "all", "Depends: libc6:i386, libbar:i386\n" },
	{ "main", "ionly", "1.0", "i386", "Depends: libc6\n" },
	{ "upd", "app", "2.0-1", "amd64", "Source: appsrc (2.0)\nDepends: libfoo (>= 2.0), "
	  "newdep, mta | postfix\nRecommends: app-doc (>= 2)\n" },
	{ "upd", "app", "2.0-1", "i386", "Source: appsrc (2.0)\nDepends: libfoo (>= 2.0)\n" },
	{ "upd", "app", "1.5-1", "amd64", "Source: appsrc (1.5)\nDepends: oldlib\n" },
	{ "upd", "app-doc", "2.0-1", "all", "Source: appsrc (2.0)\n" },
	{ "upd", "libfoo", "2.0-1", "amd64", "Source: foo\nDepends: libc6 (>= 2.36)\n" },
	{ "upd", "libfoo", "2.1-1", "amd64", "Source: foo\nDepends: libc6 (>= 2.36)\n" },
	{ "upd", "libfoo", "2.1-1", "i386", "Source: foo\nDepends: libc6 (>= 2.36)\n" },
	{ "upd", "libc6", "2.37-1", "amd64", "Source: glibc\n" },
	{ "upd", "newdep", "1.0", "all", "Depends: newdep2 | adduser, libc6\n" },
	{ "upd", "newdep2", "1.0", "amd64", NULL },
	{ "upd", "oldlib", "0.1", "amd64", NULL },
	{ "upd", "postfix", "3.8.0-1", "amd64", "Provides: mail-transport-agent\n" },
};

typedef struct conformance {
	char *dir;
	char conf[4096];
	av_pkgset *main, *upd;
} conformance;

static char *capture(const char *fmt, ...)
{
	char cmd[8192], chunk[4096];
	size_t len = 0;
	char *out = calloc(1, 1);
	va_list ap;
	FILE *p;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_not_null(p = popen(cmd, "r"), "%s", cmd);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		cr_assert_not_null(out = realloc(out, len + n + 1));
		memcpy(out + len, chunk, n);
		out[len += n] = '\0';
	}
	cr_assert_eq(pclose(p), 0, "'%s' failed:\n%s", cmd, out);
	return out;
}

static int aptly(conformance *c, const char *fmt, ...)
{
	char args[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return fx_sh("aptly -config='%s' %s >/dev/null 2>&1", c->conf, args);
}

static int str_qcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The keys of an aptly snapshot, sorted, space-separated. */
static char *aptly_keys(conformance *c, const char *snap)
{
	char *text = capture("aptly -config='%s' snapshot show -with-packages '%s'", c->conf,
			     snap);
	char *v[1024], *line, *save = NULL, *out;
	size_t n = 0, len = 0;
	int in = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "Packages:", 9)) {
			in = 1;
			continue;
		}
		while (in && *line == ' ')
			line++;
		if (in && *line && n < 1024)
			v[n++] = line;
	}
	qsort(v, n, sizeof(*v), str_qcmp);
	out = calloc(1, 32768);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, 32768 - len, "%s%s", i ? " " : "", v[i]);
	free(text);
	return out;
}

/* aptly's verify output: the lines after "Missing dependencies (N):". */
static char *aptly_verify(conformance *c, const char *args)
{
	char *text = capture("aptly -config='%s' snapshot verify %s 2>&1", c->conf, args);
	char *m = strstr(text, "Missing dependencies");
	char *out = calloc(1, strlen(text) + 1), *o = out;

	if (m && (m = strchr(m, '\n'))) {
		for (char *line = m + 1; *line; ) {
			char *e = strchrnul(line, '\n');
			if (!strncmp(line, "  ", 2)) {
				o += sprintf(o, "%s%.*s", o == out ? "" : "\n", (int)(e - line - 2),
					     line + 2);
			}
			line = *e ? e + 1 : e;
		}
	}
	free(text);
	return out;
}

static void conformance_source(conformance *c);

static void conformance_setup(conformance *c, const corpus_pkg *pkgs, size_t npkgs,
			      int with_source)
{
	char debs[4096];

	c->dir = fx_tmpdir();
	c->main = newset();
	c->upd = newset();
	snprintf(c->conf, sizeof(c->conf), "%s/aptly.conf", c->dir);
	{
		char text[8192];
		snprintf(text, sizeof(text), "{\"rootDir\": \"%s/aptly\", \"architectures\": [],"
			 " \"gpgDisableSign\": true, \"gpgDisableVerify\": true}\n", c->dir);
		fx_write(c->conf, text);
	}
	for (size_t i = 0; i < npkgs; i++) {
		const corpus_pkg *cp = &pkgs[i];
		char extra[1024];
		av_deb_info *info = NULL;
		av_pkg *p = NULL;
		char *path;

		snprintf(debs, sizeof(debs), "%s/%s", c->dir, cp->snap);
		cr_assert_eq(fx_sh("mkdir -p '%s'", debs), 0);
		snprintf(extra, sizeof(extra), "%s", cp->extra ? cp->extra : "");
		path = fx_make_deb(debs, cp->name, cp->version, cp->arch, extra, NULL);
		cr_assert_eq(av_deb_read(&info, path), 0, "%s", av_error_last());
		cr_assert_eq(av_pkg_new(&p, info->stanza, AV_PKG_DEB), 0, "%s", av_error_last());
		info->stanza = NULL;
		av_deb_info_free(info);
		cr_assert_eq(av_pkgset_add(!strcmp(cp->snap, "main") ? c->main : c->upd, p, NULL),
			     0);
		free(path);
	}
	/* build directories next to the .debs would be imported too */
	cr_assert_eq(fx_sh("rm -rf '%s'/main/build-* '%s'/upd/build-*", c->dir, c->dir), 0);
	if (with_source)
		conformance_source(c);
	cr_assert_eq(aptly(c, "repo create main"), 0);
	cr_assert_eq(aptly(c, "repo create upd"), 0);
	cr_assert_eq(aptly(c, "repo add main '%s/main'", c->dir), 0);
	cr_assert_eq(aptly(c, "repo add upd '%s/upd'", c->dir), 0);
	cr_assert_eq(aptly(c, "snapshot create main from repo main"), 0);
	cr_assert_eq(aptly(c, "snapshot create upd from repo upd"), 0);
	{
		char *k = aptly_keys(c, "main");
		cr_assert_str_eq(k, keys(c->main), "corpus differs from aptly's");
		free(k);
	}
}

/* A source package for the binaries of "appsrc" in main. */
static void conformance_source(conformance *c)
{
	char dsc[4096];

	snprintf(dsc, sizeof(dsc), "%s/main/appsrc_0.9.dsc", c->dir);
	fx_write(dsc, "Format: 3.0 (native)\nSource: appsrc\nBinary: app, app-doc\n"
		 "Architecture: any all\nVersion: 0.9\nMaintainer: T <t@example.org>\n"
		 "Checksums-Sha256:\n e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		 "7852b855 0 appsrc_0.9.tar.xz\nFiles:\n d41d8cd98f00b204e9800998ecf8427e 0 "
		 "appsrc_0.9.tar.xz\n");
	snprintf(dsc, sizeof(dsc), "%s/main/appsrc_0.9.tar.xz", c->dir);
	fx_write(dsc, "");
	add_source(c->main, "appsrc", "0.9");
}

/* aptly's flags for a set of options. */
static void flags_of(char *out, size_t size, const av_dep_opts *o)
{
	size_t n = 0;

	out[0] = '\0';
	if (o->follow_recommends)
		n += (size_t)snprintf(out + n, size - n, " -dep-follow-recommends");
	if (o->follow_suggests)
		n += (size_t)snprintf(out + n, size - n, " -dep-follow-suggests");
	if (o->follow_source)
		n += (size_t)snprintf(out + n, size - n, " -dep-follow-source");
	if (o->follow_all_variants)
		n += (size_t)snprintf(out + n, size - n, " -dep-follow-all-variants");
	if (o->architectures) {
		n += (size_t)snprintf(out + n, size - n, " -architectures=");
		for (size_t i = 0; o->architectures[i]; i++)
			n += (size_t)snprintf(out + n, size - n, "%s%s", i ? "," : "",
					      o->architectures[i]);
	}
}

static void sorted_keys_of(char *out, size_t size, const char *spaced)
{
	char buf[32768], *v[1024], *save = NULL;
	size_t n = 0, len = 0;

	snprintf(buf, sizeof(buf), "%s", spaced);
	for (char *t = strtok_r(buf, " ", &save); t && n < 1024; t = strtok_r(NULL, " ", &save))
		v[n++] = t;
	qsort(v, n, sizeof(*v), str_qcmp);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " " : "", v[i]);
}

static int aptly_missing(void)
{
	if (fx_sh("command -v aptly >/dev/null 2>&1") == 0 &&
	    fx_sh("command -v dpkg-deb >/dev/null 2>&1") == 0)
		return 0;
	fprintf(stderr, "SKIP: deps::conformance: aptly or dpkg-deb is not installed; "
		"nothing was compared with aptly\n");
	return 1;
}

static void conformance_teardown(conformance *c)
{
	av_pkgset_free(c->main);
	av_pkgset_free(c->upd);
	av_remove_tree(c->dir);
	free(c->dir);
}

/*
 * verify (alone and with upd as a source), filter --with-deps of each
 * query under each set of options, and pull from upd of each pull query
 * under each set of pull options: the package sets must be aptly's.
 */
static int conformance_compare(conformance *c, const char *const *filters, size_t nf,
			       const char *const *pull_queries, size_t npq)
{
	static const char *const amd64[] = { "amd64", NULL }, *const i386[] = { "i386", NULL };
	const av_dep_opts variants[] = {
		{ 0 },
		{ .follow_recommends = 1 },
		{ .follow_recommends = 1, .follow_suggests = 1 },
		{ .follow_source = 1 },
		{ .follow_all_variants = 1 },
		{ .follow_all_variants = 1, .follow_recommends = 1, .follow_source = 1 },
		{ .architectures = amd64 },
		{ .architectures = i386 },
	};
	const av_pull_opts pulls[] = {
		{ 0 },
		{ .no_remove = 1 },
		{ .all_matches = 1 },
		{ .no_deps = 1 },
		{ .all_matches = 1, .no_remove = 1 },
		{ .deps.follow_recommends = 1 },
		{ .deps.architectures = amd64 },
		{ .deps.follow_all_variants = 1, .deps.follow_source = 1 },
	};
	static char mine[32768];
	char flags[512];
	int checks = 0;

	for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		const av_dep_opts *o = &variants[v];
		char args[1024];
		char *theirs;

		flags_of(flags, sizeof(flags), o);
		snprintf(args, sizeof(args), "%s main", flags);
		theirs = aptly_verify(c, args);
		cr_assert_str_eq(verify(c->main, NULL, 0, o), theirs,
				 "verify%s\nours:\n%s\naptly's:\n%s", flags,
				 verify(c->main, NULL, 0, o), theirs);
		if (getenv("DEPS_DEBUG"))
			fprintf(stderr, "verify%s:\n%s\n", flags, theirs);
		free(theirs);
		snprintf(args, sizeof(args), "%s main upd", flags);
		theirs = aptly_verify(c, args);
		cr_assert_str_eq(verify(c->main, (const av_pkgset *const *)&c->upd, 1, o), theirs,
				 "verify%s main upd\nours:\n%s\naptly's:\n%s", flags,
				 verify(c->main, (const av_pkgset *const *)&c->upd, 1, o), theirs);
		free(theirs);
		checks += 2;

		for (size_t f = 0; f < nf; f++) {
			char name[64];
			snprintf(name, sizeof(name), "f%zu_%zu", v, f);
			cr_assert_eq(aptly(c, "snapshot filter -with-deps%s main %s '%s'", flags,
					   name, filters[f]), 0);
			theirs = aptly_keys(c, name);
			sorted_keys_of(mine, sizeof(mine), filter(c->main, filters[f], 1, NULL, o));
			cr_assert_str_eq(mine, theirs, "filter -with-deps%s '%s'\nours:   %s\n"
					 "aptly's: %s", flags, filters[f], mine, theirs);
			if (getenv("DEPS_DEBUG"))
				fprintf(stderr, "filter%s '%s': %s\n", flags, filters[f], theirs);
			free(theirs);
			checks++;
		}
	}
	for (size_t p = 0; p < sizeof(pulls) / sizeof(pulls[0]); p++) {
		const av_pull_opts *o = &pulls[p];
		char pflags[640];

		flags_of(flags, sizeof(flags), &o->deps);
		snprintf(pflags, sizeof(pflags), "%s%s%s%s", flags,
			 o->no_remove ? " -no-remove" : "", o->all_matches ? " -all-matches" : "",
			 o->no_deps ? " -no-deps" : "");
		for (size_t q = 0; q < npq; q++) {
			static pulled r;
			char name[64], *theirs;

			snprintf(name, sizeof(name), "p%zu_%zu", p, q);
			cr_assert_eq(aptly(c, "snapshot pull%s main upd %s '%s'", pflags, name,
					   pull_queries[q]), 0);
			theirs = aptly_keys(c, name);
			pull(&r, c->main, c->upd, pull_queries[q], o);
			sorted_keys_of(mine, sizeof(mine), r.out);
			cr_assert_str_eq(mine, theirs, "pull%s '%s'\nours:   %s\naptly's: %s", pflags,
					 pull_queries[q], mine, theirs);
			if (getenv("DEPS_DEBUG"))
				fprintf(stderr, "pull%s '%s': %s\n", pflags, pull_queries[q], theirs);
			free(theirs);
			checks++;
		}
	}
	return checks;
}

Test(deps, conformance_with_aptly, .timeout = 600)
{
	static const char *const filters[] = { "app", "tool | needs-toolkit", "app-extra",
					       "Priority (optional), $Architecture (i386)" };
	static const char *const pull_queries[] = { "app", "libfoo (>= 2.1)", "newdep" };
	conformance c = { 0 };
	int checks;

	if (aptly_missing())
		cr_skip_test("aptly is not installed");
	conformance_setup(&c, corpus, sizeof(corpus) / sizeof(corpus[0]), 1);
	checks = conformance_compare(&c, filters, 4, pull_queries, 3);
	fprintf(stderr, "deps::conformance_with_aptly: %d comparisons with aptly agree\n",
		checks);
	conformance_teardown(&c);
}

/* ---- a generated corpus ---------------------------------------------------- */

static unsigned long gen_state;

static unsigned gen(unsigned n)
{
	gen_state = gen_state * 6364136223846793005ul + 1442695040888963407ul;
	return (unsigned)((gen_state >> 33) % n);
}

/* One random relation: a name of the corpus (or a missing one, or a
 * virtual one), sometimes versioned or qualified. */
static size_t gen_relation(char *out, size_t size, unsigned nnames)
{
	static const char *const ops[] = { ">=", "<<", "=", "<=", ">>" };
	static const char *const vers[] = { "1.0", "1.1", "2.0", "2.1" };
	static const char *const quals[] = { ":any", ":i386", ":amd64", ":native" };
	unsigned k = gen(20);
	size_t n;

	if (k < 2)
		n = (size_t)snprintf(out, size, "absent%u", gen(5));
	else if (k < 5)
		n = (size_t)snprintf(out, size, "virt%u", gen(8));
	else
		n = (size_t)snprintf(out, size, "n%02u", gen(nnames));
	if (k >= 5 && gen(6) == 0)
		n += (size_t)snprintf(out + n, size - n, "%s", quals[gen(4)]);
	if (k >= 2 && gen(3) == 0)
		n += (size_t)snprintf(out + n, size - n, " (%s %s)", ops[gen(5)], vers[gen(4)]);
	return n;
}

/* "Field: a, b | c" with up to max groups; empty when none. */
static void gen_field(char *out, size_t size, const char *field, unsigned max,
		      unsigned nnames)
{
	unsigned groups = gen(max + 1);
	size_t n;

	out[0] = '\0';
	if (!groups)
		return;
	n = (size_t)snprintf(out, size, "%s: ", field);
	for (unsigned g = 0; g < groups; g++) {
		unsigned alts = gen(4) == 0 ? 2 + gen(2) : 1;
		n += (size_t)snprintf(out + n, size - n, "%s", g ? ", " : "");
		for (unsigned a = 0; a < alts; a++) {
			n += (size_t)snprintf(out + n, size - n, "%s", a ? " | " : "");
			n += gen_relation(out + n, size - n, nnames);
		}
	}
	snprintf(out + n, size - n, "\n");
}

/*
 * Names n00..n29 in main, each in one to three (version, architecture)
 * pairs, and newer ones in upd.  Each virtual name virtN has one provider
 * (aptly would pick among several at random), some versioned, which aptly
 * 1.5 ignores.
 */
static size_t gen_corpus(corpus_pkg *out, size_t max, char (*extra)[1024])
{
	static const char *const archs[] = { "amd64", "i386", "all" };
	static const char *const mvers[] = { "1.0", "1.1", "2.0" }, *const uvers[] = { "2.1", "3.0" };
	static char names[64][8];
	unsigned nnames = 30;
	int provided[8] = { 0 };
	size_t n = 0;

	gen_state = getenv("DEPS_SEED") ? strtoul(getenv("DEPS_SEED"), NULL, 10) : 20260101;
	for (unsigned i = 0; i < nnames; i++)
		snprintf(names[i], sizeof(names[i]), "n%02u", i);
	for (int snap = 0; snap < 2; snap++) {
		for (unsigned i = 0; i < nnames && n < max; i++) {
			unsigned entries = snap ? (gen(3) == 0) : 1 + gen(3);
			int used[3][3] = { { 0 } };

			for (unsigned e = 0; e < entries && n < max; e++) {
				unsigned v = gen(snap ? 2 : 3), a = gen(3);
				/* 512+128+128+64+64 < 1024: the stanza always fits */
				char deps[512], rec[128], sug[128], prov[64] = "", src[64] = "";
				unsigned virt = gen(8);

				if (used[v][a]++)
					continue;
				gen_field(deps, sizeof(deps), "Depends", 3, nnames);
				gen_field(rec, sizeof(rec), "Recommends", 1, nnames);
				gen_field(sug, sizeof(sug), "Suggests", 1, nnames);
				if (!provided[virt] && gen(3) == 0) {
					provided[virt] = 1;
					snprintf(prov, sizeof(prov), "Provides: virt%u%s\n", virt,
						 gen(3) == 0 ? " (= 1.5)" : "");
				}
				if (gen(4) == 0)
					snprintf(src, sizeof(src), "Source: s%02u (0.%u)\n", i, gen(3));
				snprintf(extra[n], sizeof(extra[n]), "%s%s%s%s%s", deps, rec, sug,
					 prov, src);
				out[n] = (corpus_pkg){ snap ? "upd" : "main", names[i],
						       snap ? uvers[v] : mvers[v], archs[a], extra[n] };
				n++;
			}
		}
	}
	return n;
}

Test(deps, conformance_with_aptly_on_a_generated_corpus, .timeout = 600)
{
	static corpus_pkg pkgs[128];
	static char extra[128][1024];
	static const char *const filters[] = { "n00 | n01", "n05", "n03 | n11",
					       "$Architecture (i386)" };
	static const char *const pull_queries[] = { "n00", "n07 | n12", "Name (% n1*)" };
	conformance c = { 0 };
	size_t n;
	int checks;

	if (aptly_missing())
		cr_skip_test("aptly is not installed");
	n = gen_corpus(pkgs, 128, extra);
	for (size_t i = 0; getenv("DEPS_DEBUG") && i < n; i++)
		fprintf(stderr, "%s %s_%s_%s\n%s", pkgs[i].snap, pkgs[i].name, pkgs[i].version,
			pkgs[i].arch, pkgs[i].extra);
	conformance_setup(&c, pkgs, n, 0);
	checks = conformance_compare(&c, filters, 4, pull_queries, 3);
	fprintf(stderr, "deps::conformance_with_aptly_on_a_generated_corpus: %zu packages, "
		"%d comparisons with aptly agree\n", n, checks);
	conformance_teardown(&c);
}
