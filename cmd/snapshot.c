/*
 * snapshot.c - `aptvault snapshot`: immutable package lists (aptly's
 * grammar): create, list, show, search, rename, drop, diff, merge, pull,
 * filter, verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "aptvault/snapshot.h"
#include "aptvault/listops.h"
#include "aptvault/deps.h"
#include "aptvault/plist.h"
#include "aptvault/format.h"
#include "aptvault/txn.h"
#include "aptvault/error.h"
#include "banned.h"

/* ---- shared ------------------------------------------------------------- */

static int print_set(cli_printer *p, const av_pkgset *set)
{
	av_buf key = AV_BUF_INIT;
	int rc = 0;

	for (size_t i = 0; i < av_pkgset_count(set) && !rc; i++) {
		const av_pkg *pkg = av_pkgset_at(set, i, NULL);
		av_buf_clear(&key);
		if (!(rc = av_pkg_key(&key, pkg)))
			rc = cli_print_pkg(key.ptr, pkg, p);
	}
	av_buf_dispose(&key);
	return rc;
}

static int count_list(av_ctx *ctx, const git_oid *list, size_t *n)
{
	av_plist *l = NULL;
	int rc = av_plist_open(&l, ctx->store, list);

	if (!rc)
		rc = av_plist_count(l, n);
	av_plist_free(l);
	return rc;
}

static void format_time(char *out, size_t size, double t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* ---- create, list, show ------------------------------------------------- */

static const cli_opt create_opts[] = {
	{ "description", OPT_VALUE, "TEXT", "a description for the snapshot" },
	{ NULL },
};

static int cmd_create(cli *c, int argc, char **argv)
{
	const char *desc = cli_value(c, "description");
	av_ctx *ctx = cli_ctx(c);
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if (argc == 2 && !strcmp(argv[1], "empty"))
		rc = av_snapshot_create_empty(ctx, argv[0], desc);
	else if (argc == 4 && !strcmp(argv[1], "from") &&
		 (!strcmp(argv[2], "repo") || !strcmp(argv[2], "mirror")))
		rc = av_snapshot_create_from(ctx, argv[0], argv[2], argv[3], desc);
	else
		return cli_usage(c, "expected 'NAME from repo REPO', 'NAME from mirror "
				 "MIRROR' or 'NAME empty'");
	if (rc)
		return cli_fail(c, rc);
	if (!cli_quiet(c))
		printf("snapshot '%s' created\n", argv[0]);
	return 0;
}

static cJSON *snapshot_json(av_ctx *ctx, const char *name, const av_state *st, int *rc)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(st->meta, "created");
	const cJSON *sources = cJSON_GetObjectItemCaseSensitive(st->meta, "sources");
	char hex[GIT_OID_HEXSZ + 1];
	size_t n = 0;

	if ((*rc = count_list(ctx, &st->packages, &n))) {
		cJSON_Delete(o);
		return NULL;
	}
	git_oid_tostr(hex, sizeof(hex), &st->commit);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "description", av_state_get(st, "description", ""));
	cJSON_AddStringToObject(o, "origin", av_state_get(st, "origin", ""));
	cJSON_AddNumberToObject(o, "created", cJSON_IsNumber(created) ? created->valuedouble
				: (double)st->time);
	cJSON_AddNumberToObject(o, "packages", (double)n);
	cJSON_AddItemToObject(o, "sources", sources ? cJSON_Duplicate(sources, 1) :
			      cJSON_CreateArray());
	cJSON_AddStringToObject(o, "state", hex);
	git_oid_tostr(hex, sizeof(hex), &st->packages);
	cJSON_AddStringToObject(o, "listTree", git_oid_is_zero(&st->packages) ? "" : hex);
	return o;
}

static const cli_opt list_opts[] = {
	{ "sort", OPT_VALUE, "name|time", "order of the list (default: name)" },
	{ "raw", OPT_FLAG, NULL, "print names only, one per line" },
	{ NULL },
};

static int by_time(const void *a, const void *b)
{
	double ta = cJSON_GetObjectItem(*(cJSON *const *)a, "created")->valuedouble;
	double tb = cJSON_GetObjectItem(*(cJSON *const *)b, "created")->valuedouble;
	int c = (ta > tb) - (ta < tb);

	return c ? c : strcmp(cJSON_GetObjectItem(*(cJSON *const *)a, "name")->valuestring,
			     cJSON_GetObjectItem(*(cJSON *const *)b, "name")->valuestring);
}

static int cmd_list(cli *c, int argc, char **argv)
{
	const char *sort = cli_value(c, "sort");
	av_ctx *ctx = cli_ctx(c);
	cJSON **items = NULL, *arr;
	char **names = NULL;
	size_t n = 0, k = 0;
	int rc = 0;

	(void)argc;
	(void)argv;
	if (!ctx)
		return cli_exit_code(c);
	if (sort && strcmp(sort, "name") && strcmp(sort, "time"))
		return cli_usage(c, "--sort takes 'name' or 'time', not '%s'", sort);
	if ((rc = av_snapshot_names(ctx, &names, &n)))
		return cli_fail(c, rc);
	if (!(items = calloc(n + 1, sizeof(*items)))) {
		av_store_names_free(names, n);
		return cli_fail(c, av_error_set(AV_ERROR, "out of memory"));
	}
	for (size_t i = 0; i < n && !rc; i++) {
		av_state *st = NULL;
		if ((rc = av_snapshot_open(ctx, names[i], &st)) == AV_ENOTFOUND) {
			rc = 0;		/* dropped meanwhile */
			continue;
		}
		if (!rc && (items[k] = snapshot_json(ctx, names[i], st, &rc)))
			k++;
		av_state_free(st);
	}
	av_store_names_free(names, n);
	if (!rc && sort && !strcmp(sort, "time") && k)
		qsort(items, k, sizeof(*items), by_time);
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < k; i++)
		cJSON_AddItemToArray(arr, items[i]);
	free(items);
	if (rc) {
		cJSON_Delete(arr);
		return cli_fail(c, rc);
	}
	if (cli_json(c))
		return cli_print_json(c, arr);
	for (cJSON *o = arr->child; o; o = o->next) {
		const char *d = cJSON_GetObjectItem(o, "description")->valuestring;
		if (cli_flag(c, "raw"))
			printf("%s\n", cJSON_GetObjectItem(o, "name")->valuestring);
		else
			printf(" * %s: %s (packages: %d)\n",
			       cJSON_GetObjectItem(o, "name")->valuestring, d,
			       cJSON_GetObjectItem(o, "packages")->valueint);
	}
	if (!k && !cli_quiet(c) && !cli_flag(c, "raw"))
		printf("No snapshots found, create one with 'aptvault snapshot create'.\n");
	cJSON_Delete(arr);
	return 0;
}

static const cli_opt show_opts[] = {
	{ "with-packages", OPT_FLAG, NULL, "list the snapshot's packages too" },
	{ NULL },
};

static void print_snapshot(const cJSON *o)
{
	char when[64];
	const cJSON *s;

	format_time(when, sizeof(when), cJSON_GetObjectItem(o, "created")->valuedouble);
	printf("Name: %s\nCreated At: %s\nDescription: %s\nNumber of packages: %d\n",
	       cJSON_GetObjectItem(o, "name")->valuestring, when,
	       cJSON_GetObjectItem(o, "description")->valuestring,
	       cJSON_GetObjectItem(o, "packages")->valueint);
	printf("Origin: %s\nSources:\n", cJSON_GetObjectItem(o, "origin")->valuestring);
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(o, "sources"))
		printf("  %s %s (state %.12s)\n", cJSON_GetObjectItem(s, "kind")->valuestring,
		       cJSON_GetObjectItem(s, "name")->valuestring,
		       cJSON_GetObjectItem(s, "state")->valuestring);
}

static int cmd_show(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_state *st = NULL;
	cJSON *o = NULL;
	cli_printer p = { .c = c };
	int rc;

	(void)argc;
	if (!ctx)
		return cli_exit_code(c);
	if ((rc = av_snapshot_open(ctx, argv[0], &st)) ||
	    !(o = snapshot_json(ctx, argv[0], st, &rc)))
		goto fail;
	if (!cli_json(c))
		print_snapshot(o);
	if (cli_flag(c, "with-packages")) {
		if (cli_json(c)) {
			p.array = cJSON_AddArrayToObject(o, "packageList");
		} else {
			printf("Packages:\n");
			p.prefix = "  ";
		}
		rc = av_list_select(ctx->store, &st->packages, NULL, cli_print_pkg, &p);
		p.array = NULL;		/* it belongs to o */
		if (rc)
			goto fail;
	}
	av_state_free(st);
	if (cli_json(c))
		return cli_print_json(c, o);
	cJSON_Delete(o);
	return 0;
fail:
	cJSON_Delete(o);
	av_state_free(st);
	return cli_fail(c, rc);
}

/* ---- search ---------------------------------------------------------------- */

static const cli_opt search_opts[] = {
	{ "with-deps", OPT_FLAG, NULL, "include the dependencies of the matches" },
	{ "format", OPT_VALUE, "TEMPLATE", "print each package with a template" },
	CLI_DEP_OPTS,
	{ NULL },
};

static int cmd_search(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_state *st = NULL;
	av_query *q = NULL;
	av_pkgset *set = NULL, *out = NULL;
	cli_printer p;
	cli_dep_opts d;
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if (argc > 1 && (rc = cli_queries(c, argc - 1, argv + 1, &q)))
		return rc;
	if ((rc = cli_dep_opts_init(c, &d))) {
		cli_dep_opts_dispose(&d);
		av_query_free(q);
		return rc;
	}
	cli_printer_init(&p, c, NULL);
	if ((rc = av_snapshot_open(ctx, argv[0], &st)))
		goto done;
	if (!cli_flag(c, "with-deps") || !q) {
		rc = av_list_select(ctx->store, &st->packages, q, cli_print_pkg, &p);
		goto done;
	}
	if (!(rc = av_pkgset_load(&set, ctx->store, &st->packages)) &&
	    !(rc = av_pkgset_new(&out)) &&
	    !(rc = av_deps_filter(set, q, 1, NULL, &d.o, out)))
		rc = print_set(&p, out);
done:
	av_pkgset_free(out);
	av_pkgset_free(set);
	av_state_free(st);
	av_query_free(q);
	cli_dep_opts_dispose(&d);
	if (rc) {
		cli_printer_dispose(&p);
		return cli_fail(c, rc);
	}
	return cli_printer_finish(&p);
}

/* ---- rename, drop ------------------------------------------------------- */

static int cmd_rename(cli *c, int argc, char **argv)
{
	(void)argc;
	return cli_rename(c, "snapshot", argv);
}

static const cli_opt drop_opts[] = {
	{ "force", OPT_FLAG, NULL, "drop even if other snapshots were made from it" },
	{ NULL },
};

static int cmd_drop(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	int rc;

	(void)argc;
	if (!ctx)
		return cli_exit_code(c);
	if ((rc = av_snapshot_drop(ctx, argv[0], cli_flag(c, "force"))))
		return cli_fail(c, rc);
	if (!cli_quiet(c))
		printf("snapshot '%s' dropped\n", argv[0]);
	return 0;
}

/* ---- diff ------------------------------------------------------------------ */

static const cli_opt diff_opts[] = {
	{ "only-matching", OPT_FLAG, NULL, "show only packages present in both, "
	  "with different versions" },
	{ NULL },
};

typedef struct diffout {
	cli *c;
	cJSON *arr;
	int only_matching;
	size_t n;
} diffout;

static int print_diff(const av_diff_entry *e, void *payload)
{
	diffout *d = payload;
	const char *mark = !e->left ? "+" : !e->right ? "-" : "!";

	if (d->only_matching && (!e->left || !e->right))
		return 0;
	d->n++;
	if (d->arr) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", e->name);
		cJSON_AddStringToObject(o, "arch", e->arch);
		if (e->left)
			cJSON_AddStringToObject(o, "left", e->left);
		else
			cJSON_AddNullToObject(o, "left");
		if (e->right)
			cJSON_AddStringToObject(o, "right", e->right);
		else
			cJSON_AddNullToObject(o, "right");
		cJSON_AddItemToArray(d->arr, o);
		return 0;
	}
	if (d->n == 1)
		printf("  Arch   | Package                                  | Version in A"
		       "                             | Version in B\n");
	printf("%s %-6s | %-40s | %-40s | %s\n", mark, e->arch, e->name,
	       e->left ? e->left : "-", e->right ? e->right : "-");
	return 0;
}

static int cmd_diff(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_state *a = NULL, *b = NULL;
	diffout d = { c, NULL, cli_flag(c, "only-matching"), 0 };
	int rc;

	(void)argc;
	if (!ctx)
		return cli_exit_code(c);
	if (cli_json(c))
		d.arr = cJSON_CreateArray();
	if (!(rc = av_snapshot_open(ctx, argv[0], &a)) &&
	    !(rc = av_snapshot_open(ctx, argv[1], &b)))
		rc = av_list_diff(ctx->store, &a->packages, &b->packages, print_diff, &d);
	av_state_free(a);
	av_state_free(b);
	if (rc) {
		cJSON_Delete(d.arr);
		return cli_fail(c, rc);
	}
	if (d.arr)
		return cli_print_json(c, d.arr);
	if (!d.n && !cli_quiet(c))
		printf("Snapshots are identical.\n");
	return 0;
}

/* ---- merge, filter, pull ----------------------------------------------- */

static const cli_opt merge_opts[] = {
	{ "latest", OPT_FLAG, NULL, "keep only the latest version of each package" },
	{ "no-remove", OPT_FLAG, NULL, "keep every version from every source" },
	{ "description", OPT_VALUE, "TEXT", "a description for the new snapshot" },
	{ NULL },
};

static int merge_fn(av_ctx *ctx, av_state *const *src, size_t n, git_oid *out, void *p)
{
	const av_merge_mode *mode = p;
	git_oid *lists = calloc(n, sizeof(*lists));
	int rc;

	if (!lists)
		return av_error_set(AV_ERROR, "out of memory");
	for (size_t i = 0; i < n; i++)
		git_oid_cpy(&lists[i], &src[i]->packages);
	rc = av_list_merge(ctx->store, lists, n, *mode, out);
	free(lists);
	return rc;
}

static int report_created(cli *c, av_ctx *ctx, const char *name)
{
	av_state *st = NULL;
	size_t n = 0;
	int rc;

	if (cli_quiet(c))
		return 0;
	if ((rc = av_snapshot_open(ctx, name, &st)) || (rc = count_list(ctx, &st->packages, &n))) {
		av_state_free(st);
		return cli_fail(c, rc);
	}
	printf("snapshot '%s' created with %zu packages\n", name, n);
	av_state_free(st);
	return 0;
}

static int cmd_merge(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_merge_mode mode = AV_MERGE_REPLACE;
	char desc[1024];
	size_t len = 0;
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if (cli_flag(c, "latest") && cli_flag(c, "no-remove"))
		return cli_usage(c, "--latest and --no-remove exclude each other");
	if (cli_flag(c, "latest"))
		mode = AV_MERGE_LATEST;
	else if (cli_flag(c, "no-remove"))
		mode = AV_MERGE_NO_REMOVE;
	len = (size_t)snprintf(desc, sizeof(desc), "Merged from sources:");
	for (int i = 1; i < argc && len < sizeof(desc); i++)
		len += (size_t)snprintf(desc + len, sizeof(desc) - len, "%s '%s'",
					i > 1 ? "," : "", argv[i]);
	rc = av_snapshot_derive(ctx, argv[0], (const char *const *)argv + 1, (size_t)argc - 1,
				"merge", cli_value(c, "description") ?
				cli_value(c, "description") : desc, merge_fn, &mode);
	if (rc)
		return cli_fail(c, rc);
	return report_created(c, ctx, argv[0]);
}

typedef struct filterjob {
	av_query *q;
	int with_deps;
	cli_dep_opts *d;
} filterjob;

static int filter_fn(av_ctx *ctx, av_state *const *src, size_t n, git_oid *out, void *p)
{
	filterjob *f = p;
	av_pkgset *set = NULL, *res = NULL;
	int rc;

	(void)n;
	if (!(rc = av_pkgset_load(&set, ctx->store, &src[0]->packages)) &&
	    !(rc = av_pkgset_new(&res)) &&
	    !(rc = av_deps_filter(set, f->q, f->with_deps, NULL, &f->d->o, res)))
		rc = av_pkgset_write(ctx->store, res, out);
	av_pkgset_free(res);
	CLI_FREE_AT_EXIT(av_pkgset_free, set);
	return rc;
}

static const cli_opt filter_opts[] = {
	{ "with-deps", OPT_FLAG, NULL, "include the dependencies of the matches" },
	{ "description", OPT_VALUE, "TEXT", "a description for the new snapshot" },
	CLI_DEP_OPTS,
	{ NULL },
};

static int cmd_filter(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	filterjob f = { NULL, cli_flag(c, "with-deps"), NULL };
	cli_dep_opts d;
	char desc[1024];
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if ((rc = cli_queries(c, argc - 2, argv + 2, &f.q)))
		return rc;
	if ((rc = cli_dep_opts_init(c, &d))) {
		cli_dep_opts_dispose(&d);
		av_query_free(f.q);
		return rc;
	}
	f.d = &d;
	snprintf(desc, sizeof(desc), "Filtered '%s', query was: '%s'", argv[0], argv[2]);
	rc = av_snapshot_derive(ctx, argv[1], (const char *const *)argv, 1, "filter",
				cli_value(c, "description") ? cli_value(c, "description") : desc,
				filter_fn, &f);
	av_query_free(f.q);
	cli_dep_opts_dispose(&d);
	if (rc)
		return cli_fail(c, rc);
	return report_created(c, ctx, argv[1]);
}

typedef struct pulljob {
	av_query **q;
	size_t nq;
	av_pull_opts o;
	cli *c;
	int dry_run;
} pulljob;

static int print_change(cli *c, const char *what, const av_pkgset *set)
{
	av_buf key = AV_BUF_INIT;
	int rc = 0;

	if (cli_quiet(c) || cli_json(c))
		return 0;
	for (size_t i = 0; i < av_pkgset_count(set) && !rc; i++) {
		av_buf_clear(&key);
		if (!(rc = av_pkg_key(&key, av_pkgset_at(set, i, NULL))))
			printf("%s %s\n", what, key.ptr);
	}
	av_buf_dispose(&key);
	return rc;
}

static int pull_compute(av_ctx *ctx, const av_state *dst_st, const av_state *src_st,
			pulljob *j, av_pkgset **res)
{
	av_pkgset *dst = NULL, *src = NULL, *added = NULL, *removed = NULL;
	int rc;

	*res = NULL;
	if (!(rc = av_pkgset_load(&dst, ctx->store, &dst_st->packages)) &&
	    !(rc = av_pkgset_load(&src, ctx->store, &src_st->packages)) &&
	    !(rc = av_pkgset_new(res)) && !(rc = av_pkgset_new(&added)) &&
	    !(rc = av_pkgset_new(&removed)) &&
	    !(rc = av_deps_pull(dst, src, (const av_query *const *)j->q, j->nq, &j->o, *res,
				added, removed)) &&
	    !(rc = print_change(j->c, j->dry_run ? "would remove" : "removing", removed)))
		rc = print_change(j->c, j->dry_run ? "would add" : "adding", added);
	av_pkgset_free(removed);
	av_pkgset_free(added);
	CLI_FREE_AT_EXIT(av_pkgset_free, src);
	CLI_FREE_AT_EXIT(av_pkgset_free, dst);
	return rc;
}

static int pull_fn(av_ctx *ctx, av_state *const *src, size_t n, git_oid *out, void *p)
{
	av_pkgset *res = NULL;
	int rc;

	(void)n;
	if (!(rc = pull_compute(ctx, src[0], src[1], p, &res)))
		rc = av_pkgset_write(ctx->store, res, out);
	av_pkgset_free(res);
	return rc;
}

static const cli_opt pull_opts[] = {
	{ "no-deps", OPT_FLAG, NULL, "do not pull dependencies" },
	{ "no-remove", OPT_FLAG, NULL, "keep the versions already in NAME" },
	{ "all-matches", OPT_FLAG, NULL, "pull every matching version, not only the latest" },
	{ "dry-run", OPT_FLAG, NULL, "show what would be pulled, create nothing" },
	{ "description", OPT_VALUE, "TEXT", "a description for the new snapshot" },
	CLI_DEP_OPTS,
	{ NULL },
};

static int cmd_pull(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	pulljob j = { .c = c, .dry_run = cli_flag(c, "dry-run") };
	cli_dep_opts d;
	char desc[1024];
	int rc = 0;

	if (!ctx)
		return cli_exit_code(c);
	j.nq = (size_t)argc - 3;
	if (!(j.q = calloc(j.nq, sizeof(*j.q))))
		return cli_fail(c, av_error_set(AV_ERROR, "out of memory"));
	for (size_t i = 0; i < j.nq && !rc; i++)
		rc = cli_queries(c, 1, argv + 3 + i, &j.q[i]);
	if (rc)
		goto done;
	if ((rc = cli_dep_opts_init(c, &d))) {
		cli_dep_opts_dispose(&d);
		goto done;
	}
	j.o.no_deps = cli_flag(c, "no-deps");
	j.o.no_remove = cli_flag(c, "no-remove");
	j.o.all_matches = cli_flag(c, "all-matches");
	j.o.deps = d.o;
	if (j.dry_run) {
		av_state *a = NULL, *b = NULL;
		av_pkgset *res = NULL;
		if (!(rc = av_snapshot_open(ctx, argv[0], &a)) &&
		    !(rc = av_snapshot_open(ctx, argv[1], &b)))
			rc = pull_compute(ctx, a, b, &j, &res);
		av_pkgset_free(res);
		av_state_free(a);
		av_state_free(b);
	} else {
		snprintf(desc, sizeof(desc), "Pulled into '%s' with '%s' as source, pull "
			 "request was: '%s'", argv[0], argv[1], argv[3]);
		rc = av_snapshot_derive(ctx, argv[2], (const char *const *)argv, 2, "pull",
					cli_value(c, "description") ? cli_value(c, "description")
					: desc, pull_fn, &j);
	}
	cli_dep_opts_dispose(&d);
	if (rc)
		rc = cli_fail(c, rc);
	else if (!j.dry_run)
		rc = report_created(c, ctx, argv[2]);
done:
	for (size_t i = 0; i < j.nq; i++)
		av_query_free(j.q[i]);
	free(j.q);
	return rc;
}

/* ---- verify ---------------------------------------------------------------- */

static const cli_opt verify_opts[] = {
	CLI_DEP_OPTS,
	{ NULL },
};

typedef struct missing {
	cJSON *arr;
	size_t n;
	int quiet;
} missing;

static int print_missing(const char *dep, void *payload)
{
	missing *m = payload;

	if (m->n++ == 0 && !m->arr && !m->quiet)
		printf("Missing dependencies:\n");
	if (m->arr)
		cJSON_AddItemToArray(m->arr, cJSON_CreateString(dep));
	else if (!m->quiet)
		printf("  %s\n", dep);
	return 0;
}

static int cmd_verify(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_pkgset **sets = NULL;
	missing m = { NULL, 0, cli_quiet(c) };
	cli_dep_opts d;
	int rc = 0;

	if (!ctx)
		return cli_exit_code(c);
	if ((rc = cli_dep_opts_init(c, &d))) {
		cli_dep_opts_dispose(&d);
		return rc;
	}
	if (!(sets = calloc((size_t)argc, sizeof(*sets)))) {
		rc = av_error_set(AV_ERROR, "out of memory");
		goto done;
	}
	for (int i = 0; i < argc && !rc; i++) {
		av_state *st = NULL;
		if (!(rc = av_snapshot_open(ctx, argv[i], &st)))
			rc = av_pkgset_load(&sets[i], ctx->store, &st->packages);
		av_state_free(st);
	}
	if (rc)
		goto done;
	if (cli_json(c))
		m.arr = cJSON_CreateArray();
	rc = av_deps_verify(sets[0], (const av_pkgset *const *)sets + 1, (size_t)argc - 1,
			    &d.o, print_missing, &m);
done:
	for (int i = 0; sets && i < argc; i++)
		CLI_FREE_AT_EXIT(av_pkgset_free, sets[i]);
	CLI_FREE_AT_EXIT(free, sets);
	cli_dep_opts_dispose(&d);
	if (rc) {
		cJSON_Delete(m.arr);
		return cli_fail(c, rc);
	}
	if (m.arr) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "snapshot", argv[0]);
		cJSON_AddItemToObject(o, "missing", m.arr);
		cli_print_json(c, o);
	} else if (!m.n && !cli_quiet(c)) {
		printf("All dependencies are satisfied.\n");
	}
	return m.n ? CLI_EXIT_FAIL : 0;
}

static const cli_verb verbs[] = {
	{ "create", cmd_create, "NAME from repo|mirror SOURCE | NAME empty", 2, 4,
	  "take a snapshot of a repo or mirror (or an empty one)", create_opts },
	{ "list", cmd_list, "", 0, 0, "list snapshots", list_opts },
	{ "show", cmd_show, "NAME", 1, 1, "show a snapshot, where it came from and its "
	  "size", show_opts },
	{ "search", cmd_search, "NAME [QUERY...]", 1, -1, "list a snapshot's packages "
	  "matching a query", search_opts },
	{ "rename", cmd_rename, "OLD NEW", 2, 2, "rename a snapshot", NULL },
	{ "drop", cmd_drop, "NAME", 1, 1, "delete a snapshot", drop_opts },
	{ "diff", cmd_diff, "A B", 2, 2, "show the differences between two snapshots",
	  diff_opts },
	{ "merge", cmd_merge, "DEST SOURCE...", 2, -1, "merge snapshots into a new one",
	  merge_opts },
	{ "pull", cmd_pull, "NAME SOURCE DEST QUERY...", 4, -1, "pull packages (and "
	  "their dependencies) from SOURCE into a copy of NAME called DEST", pull_opts },
	{ "filter", cmd_filter, "SOURCE DEST QUERY...", 3, -1, "make a snapshot of the "
	  "packages of SOURCE matching queries", filter_opts },
	{ "verify", cmd_verify, "NAME [SOURCE...]", 1, -1, "list unsatisfied "
	  "dependencies; exit 0 only when there are none", verify_opts },
	{ NULL },
};

static const cli_family family = {
	"snapshot", "Immutable package lists: take them from repos and mirrors, then "
	"merge, pull, filter, compare and verify them.", verbs,
};

int main(int argc, char **argv)
{
	return cli_main(&family, argc, argv);
}
