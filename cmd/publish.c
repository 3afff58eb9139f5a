/*
 * publish.c - `aptvault publish`: signed, atomic distributions that apt
 * reads (aptly's grammar): snapshot, repo, switch, update, drop, list,
 * show, source.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "aptvault/publish.h"
#include "aptvault/compress.h"
#include "aptvault/error.h"
#include "banned.h"

/* ---- options ------------------------------------------------------------ */

#define GEN_OPTS \
	{ "component", OPT_LIST, "NAME[,NAME]", "component of each source, in order " \
	  "(default main)" }, \
	{ "architectures", OPT_LIST, "ARCH[,ARCH]", "architectures to publish; " \
	  "'source' adds Sources (default: those of the packages, then as published)" }, \
	{ "origin", OPT_VALUE, "TEXT", "Origin field of the Release" }, \
	{ "label", OPT_VALUE, "TEXT", "Label field of the Release" }, \
	{ "suite", OPT_VALUE, "TEXT", "Suite field (default: the distribution)" }, \
	{ "codename", OPT_VALUE, "TEXT", "Codename field (default: the distribution)" }, \
	{ "version", OPT_VALUE, "TEXT", "Version field of the Release" }, \
	{ "notautomatic", OPT_VALUE, "yes|no", "NotAutomatic: yes" }, \
	{ "butautomaticupgrades", OPT_VALUE, "yes|no", "ButAutomaticUpgrades: yes" }, \
	{ "acquire-by-hash", OPT_VALUE, "yes|no", "by-hash/ indexes and " \
	  "Acquire-By-Hash: yes (default yes)" }, \
	{ "by-hash-keep", OPT_VALUE, "DURATION", "how long superseded by-hash " \
	  "indexes stay (default 1d)" }, \
	{ "valid-for", OPT_VALUE, "DURATION", "Valid-Until this long after Date " \
	  "(30m, 12h, 7d; 0 none)" }, \
	{ "signed-by", OPT_VALUE, "FPR|PATH", "Signed-By field of the Release" }, \
	{ "gpg-key", OPT_LIST, "KEY", "key that signs (repeatable: every key signs; " \
	  "default: gpgKeys, then gpg's default key)" }, \
	{ "keyring", OPT_VALUE, "DIR", "GnuPG home holding the secret keys " \
	  "(default: $GNUPGHOME)" }, \
	{ "passphrase-file", OPT_VALUE, "FILE", "file whose first line is the " \
	  "key's passphrase" }, \
	{ "batch", OPT_FLAG, NULL, "never ask for a passphrase" }, \
	{ "skip-signing", OPT_FLAG, NULL, "no InRelease or Release.gpg" }, \
	{ "skip-contents", OPT_VALUE, "yes|no", "no Contents indexes" }, \
	{ "skip-bz2", OPT_FLAG, NULL, "accepted for aptly; no bz2 is made unless " \
	  "--compress asks" }, \
	{ "compress", OPT_LIST, "xz,gz[,zst,bz2]", "compressed Packages and Sources " \
	  "to make (default xz,gz)" }

static const cli_opt create_opts[] = {
	{ "distribution", OPT_VALUE, "DIST", "distribution name (default: the repo's)" },
	GEN_OPTS,
	{ NULL },
};

static const cli_opt update_opts[] = {
	GEN_OPTS,
	{ NULL },
};

static const cli_opt drop_opts[] = {
	{ "force-drop", OPT_FLAG, NULL, "drop even if the pool cannot be cleaned up" },
	{ NULL },
};

static const cli_opt list_opts[] = {
	{ "raw", OPT_FLAG, NULL, "one 'PREFIX DIST' per line" },
	{ NULL },
};

static const cli_opt source_opts[] = {
	{ "component", OPT_LIST, "NAME[,NAME]", "component of each source" },
	{ "kind", OPT_VALUE, "snapshot|repo", "what the sources are (default: as "
	  "the distribution's components)" },
	{ "prefix", OPT_VALUE, "PREFIX", "the distribution's prefix (default .)" },
	{ NULL },
};

/* "30", "30s", "15m", "12h", "7d" -> seconds; -1 if malformed. */
static long long parse_duration(const char *s)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	v = strtoll(s, &end, 10);
	if (v < 0 || end == s)
		return -1;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		return v;
	if (!strcmp(end, "m"))
		return v * 60;
	if (!strcmp(end, "h"))
		return v * 3600;
	if (!strcmp(end, "d"))
		return v * 86400;
	return -1;
}

static int yes_no(cli *c, const char *name, int *out)
{
	const char *v = cli_value(c, name);

	*out = -1;
	if (!v)
		return 0;
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return cli_usage(c, "--%s takes yes or no, not '%s'", name, v);
	return 0;
}

/* Comma lists of a repeatable option, split; *out owns the copies. */
typedef struct strv {
	char **v;
	size_t n;
} strv;

static void strv_free(strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int split_opt(cli *c, const char *name, strv *out)
{
	const char **vals = NULL;
	size_t n = cli_list(c, name, &vals);

	out->v = NULL;
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = vals[i];
		while (*p) {
			size_t len = strcspn(p, ",");
			char **nv;
			if (len) {
				if (!(nv = realloc(out->v, (out->n + 1) * sizeof(*nv))))
					return av_error_set(AV_ERROR, "out of memory");
				out->v = nv;
				if (!(out->v[out->n] = strndup(p, len)))
					return av_error_set(AV_ERROR, "out of memory");
				out->n++;
			}
			p += len + (p[len] == ',');
		}
	}
	return 0;
}

typedef struct pub_args {
	av_publish_opts o;
	strv archs, keys, comps;
	const char **keyv;
} pub_args;

static void pub_args_dispose(pub_args *a)
{
	strv_free(&a->archs);
	strv_free(&a->keys);
	strv_free(&a->comps);
	free(a->keyv);
}

/* The options every generating verb shares; 0 or an exit code. */
static int pub_args_init(cli *c, pub_args *a)
{
	const av_config *cfg = cli_config(c);
	const char *v;
	strv comp = { 0 };
	int rc;

	memset(a, 0, sizeof(*a));
	a->o.valid_for = -1;
	a->o.byhash_keep = 86400;
	if ((rc = yes_no(c, "notautomatic", &a->o.notautomatic)) ||
	    (rc = yes_no(c, "butautomaticupgrades", &a->o.butautomaticupgrades)) ||
	    (rc = yes_no(c, "acquire-by-hash", &a->o.acquire_by_hash)) ||
	    (rc = yes_no(c, "skip-contents", &a->o.skip_contents)))
		return rc;
	if ((v = cli_value(c, "valid-for")) && (a->o.valid_for = parse_duration(v)) < 0)
		return cli_usage(c, "--valid-for takes a duration like 12h or 7d, not '%s'", v);
	if ((v = cli_value(c, "by-hash-keep")) && (a->o.byhash_keep = parse_duration(v)) < 0)
		return cli_usage(c, "--by-hash-keep takes a duration like 1d, not '%s'", v);
	a->o.origin = cli_value(c, "origin");
	a->o.label = cli_value(c, "label");
	a->o.suite = cli_value(c, "suite");
	a->o.codename = cli_value(c, "codename");
	a->o.version = cli_value(c, "version");
	a->o.signed_by = cli_value(c, "signed-by");
	a->o.skip_signing = cli_flag(c, "skip-signing");
	a->o.sign.gnupghome = cli_value(c, "keyring");
	a->o.sign.passphrase_file = cli_value(c, "passphrase-file");
	a->o.sign.batch = cli_flag(c, "batch");
	if (split_opt(c, "architectures", &a->archs) || split_opt(c, "gpg-key", &a->keys) ||
	    split_opt(c, "compress", &comp) || split_opt(c, "component", &a->comps)) {
		strv_free(&comp);
		return cli_fail(c, AV_ERROR);
	}
	a->o.architectures = (const char *const *)a->archs.v;
	a->o.narchitectures = a->archs.n;
	for (size_t i = 0; i < comp.n; i++) {
		av_comp cc;
		if (av_comp_parse(&cc, comp.v[i])) {
			rc = cli_usage(c, "--compress takes xz, gz, zst and bz2, not '%s'",
				       comp.v[i]);
			strv_free(&comp);
			return rc;
		}
		if (cc != AV_COMP_NONE)
			a->o.compress |= 1u << cc;
	}
	strv_free(&comp);
	if (!a->keys.n && cfg) {
		const cJSON *k = av_config_get(cfg, "gpgKeys"), *it;
		cJSON_ArrayForEach(it, k) {
			char **nv = realloc(a->keys.v, (a->keys.n + 1) * sizeof(*nv));
			if (!nv || !cJSON_IsString(it))
				break;
			a->keys.v = nv;
			a->keys.v[a->keys.n++] = strdup(it->valuestring);
		}
	}
	if (a->keys.n) {
		if (!(a->keyv = calloc(a->keys.n + 1, sizeof(*a->keyv))))
			return cli_fail(c, av_error_set(AV_ERROR, "out of memory"));
		for (size_t i = 0; i < a->keys.n; i++)
			a->keyv[i] = a->keys.v[i];
		a->o.sign.keys = a->keyv;
	}
	if (cli_progress_wanted(c)) {
		a->o.progress = cli_progress;
		a->o.progress_payload = c;
	}
	return 0;
}

static int report(cli *c, const char *verb, const av_publish_result *r, int rc)
{
	if (rc)
		return cli_fail(c, rc);
	if (cli_json(c)) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "published", r->where);
		cJSON_AddNumberToObject(o, "packages", (double)r->packages);
		cJSON_AddNumberToObject(o, "chunks_built", (double)r->chunks_built);
		cJSON_AddNumberToObject(o, "chunks_reused", (double)r->chunks_reused);
		cJSON_AddNumberToObject(o, "files_written", (double)r->files_written);
		cJSON_AddNumberToObject(o, "files_reused", (double)r->files_reused);
		cJSON_AddNumberToObject(o, "resumed_bytes", (double)r->resumed_bytes);
		cJSON_AddNumberToObject(o, "pool_linked", (double)r->pool_linked);
		cJSON_AddNumberToObject(o, "pool_removed", (double)r->pool_removed);
		return cli_print_json(c, o);
	}
	if (!cli_quiet(c))
		printf("%s %s: %zu packages; %zu index files written, %zu reused; "
		       "%zu pool files linked, %zu removed\n", verb, r->where, r->packages,
		       r->files_written, r->files_reused, r->pool_linked, r->pool_removed);
	return 0;
}

/* ---- snapshot, repo ----------------------------------------------------- */

/* Sources names[0..n) of kind, with --component's names in order. */
static av_publish_component *components(const pub_args *a, const char *kind,
					char **names, size_t n)
{
	av_publish_component *comps = calloc(n, sizeof(*comps));

	if (!comps) {
		av_error_set(AV_ERROR, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		comps[i].component = a->comps.n ? a->comps.v[i] : NULL;
		comps[i].kind = kind;
		comps[i].name = names[i];
	}
	return comps;
}

static int publish_new(cli *c, const char *kind, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	pub_args a;
	av_publish_component *comps = NULL;
	av_publish_result r = { 0 };
	size_t n;
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if ((rc = pub_args_init(c, &a)))
		goto done;
	n = a.comps.n ? a.comps.n : 1;
	if ((size_t)argc != n && (size_t)argc != n + 1) {
		rc = cli_usage(c, "%zu component%s need%s %zu %s name%s (and an optional "
			       "prefix), not %d arguments", n, n == 1 ? "" : "s",
			       n == 1 ? "s" : "", n, kind, n == 1 ? "" : "s", argc);
		goto done;
	}
	if (!(comps = components(&a, kind, argv, n))) {
		rc = cli_fail(c, AV_ERROR);
		goto done;
	}
	a.o.prefix = (size_t)argc == n + 1 ? argv[n] : NULL;
	a.o.distribution = cli_value(c, "distribution");
	rc = report(c, "published", &r, av_publish_create(ctx, &a.o, comps, n, &r));
done:
	free(comps);
	av_publish_result_dispose(&r);
	pub_args_dispose(&a);
	return rc;
}

static int cmd_snapshot(cli *c, int argc, char **argv)
{
	return publish_new(c, "snapshot", argc, argv);
}

static int cmd_repo(cli *c, int argc, char **argv)
{
	return publish_new(c, "repo", argc, argv);
}

/* ---- switch, update, drop ----------------------------------------------- */

static int cmd_switch(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	pub_args a;
	av_publish_component *comps = NULL;
	av_publish_result r = { 0 };
	size_t n, first;
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if ((rc = pub_args_init(c, &a)))
		goto done;
	n = a.comps.n ? a.comps.n : 1;
	if ((size_t)argc - 1 == n) {
		first = 1;
	} else if ((size_t)argc - 1 == n + 1) {
		first = 2;
		a.o.prefix = argv[1];
	} else {
		rc = cli_usage(c, "give DIST, an optional prefix and %zu snapshot%s", n,
			       n == 1 ? "" : "s");
		goto done;
	}
	if (!(comps = components(&a, "snapshot", argv + first, n))) {
		rc = cli_fail(c, AV_ERROR);
		goto done;
	}
	a.o.distribution = argv[0];
	rc = report(c, "switched", &r, av_publish_switch(ctx, &a.o, comps, n, &r));
done:
	free(comps);
	av_publish_result_dispose(&r);
	pub_args_dispose(&a);
	return rc;
}

static int cmd_update(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	pub_args a;
	av_publish_result r = { 0 };
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if (!(rc = pub_args_init(c, &a))) {
		a.o.distribution = argv[0];
		a.o.prefix = argc > 1 ? argv[1] : NULL;
		rc = report(c, "updated", &r, av_publish_update(ctx, &a.o, &r));
	}
	av_publish_result_dispose(&r);
	pub_args_dispose(&a);
	return rc;
}

static int cmd_drop(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	rc = av_publish_drop(ctx, argc > 1 ? argv[1] : NULL, argv[0], cli_flag(c, "force-drop"));
	if (rc)
		return cli_fail(c, rc);
	if (!cli_quiet(c))
		printf("Published distribution '%s' at prefix '%s' dropped.\n", argv[0],
		       argc > 1 ? argv[1] : ".");
	return 0;
}

/* ---- list, show --------------------------------------------------------- */

static cJSON *pub_json(const av_state *st)
{
	cJSON *o = cJSON_Duplicate(st->meta, 1);
	char hex[GIT_OID_HEXSZ + 1];

	if (!o)
		return NULL;
	/* What a user wants to see; the file list stays internal. */
	cJSON_DeleteItemFromObjectCaseSensitive(o, "files");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "byhash");
	cJSON_AddStringToObject(o, "commit", git_oid_tostr(hex, sizeof(hex), &st->commit));
	return o;
}

static void print_components(const cJSON *arr, const char *indent)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		printf("%s%s: %s %s [%.12s]\n", indent,
		       cJSON_GetObjectItem(it, "component")->valuestring,
		       cJSON_GetObjectItem(it, "kind")->valuestring,
		       cJSON_GetObjectItem(it, "name")->valuestring,
		       cJSON_GetObjectItem(it, "state") ?
		       cJSON_GetObjectItem(it, "state")->valuestring : "staged");
}

static void print_strs(const cJSON *arr)
{
	const cJSON *it;
	int first = 1;

	cJSON_ArrayForEach(it, arr) {
		printf("%s%s", first ? "" : ", ", it->valuestring);
		first = 0;
	}
}

static int cmd_list(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_state **all = NULL;
	size_t n = 0;
	int rc;

	(void)argc;
	(void)argv;
	if (!ctx)
		return cli_exit_code(c);
	if ((rc = av_publish_all(ctx, &all, &n)))
		return cli_fail(c, rc);
	if (cli_json(c)) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, pub_json(all[i]));
		av_publish_all_free(all, n);
		return cli_print_json(c, arr);
	}
	for (size_t i = 0; i < n; i++) {
		const char *pr = av_state_get(all[i], "prefix", ".");
		const char *d = av_state_get(all[i], "distribution", "?");
		if (cli_flag(c, "raw")) {
			printf("%s %s\n", pr, d);
			continue;
		}
		printf(" * %s/%s [", pr, d);
		print_strs(cJSON_GetObjectItem(all[i]->meta, "architectures"));
		printf("] publishes:\n");
		print_components(cJSON_GetObjectItem(all[i]->meta, "components"), "     ");
	}
	if (!n && !cli_quiet(c) && !cli_flag(c, "raw"))
		printf("No published distributions; publish one with 'aptvault publish "
		       "snapshot' or 'aptvault publish repo'.\n");
	av_publish_all_free(all, n);
	return 0;
}

static int cmd_show(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_state *st = NULL;
	const cJSON *m, *v;
	char when[64];
	time_t t;
	struct tm tm;
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if ((rc = av_publish_open(ctx, argc > 1 ? argv[1] : NULL, argv[0], &st)))
		return cli_fail(c, rc);
	if (cli_json(c)) {
		cJSON *o = pub_json(st);
		av_state_free(st);
		return cli_print_json(c, o);
	}
	m = st->meta;
	printf("Prefix: %s\nDistribution: %s\nArchitectures: ",
	       av_state_get(st, "prefix", "."), av_state_get(st, "distribution", "?"));
	print_strs(cJSON_GetObjectItem(m, "architectures"));
	printf("\n");
	for (const char *const *k = (const char *const[]){ "origin", "label", "suite",
			"codename", "version", "signed_by", NULL }; *k; k++)
		if ((v = cJSON_GetObjectItem(m, *k)) && cJSON_IsString(v))
			printf("%c%s: %s\n", (*k)[0] - 32, *k + 1, v->valuestring);
	printf("Compress: ");
	print_strs(cJSON_GetObjectItem(m, "compress"));
	printf("\nContents: %s\nAcquire-By-Hash: %s\nSigned: %s\n",
	       cJSON_IsTrue(cJSON_GetObjectItem(m, "skip_contents")) ? "no" : "yes",
	       cJSON_IsTrue(cJSON_GetObjectItem(m, "acquire_by_hash")) ? "yes" : "no",
	       cJSON_IsTrue(cJSON_GetObjectItem(m, "signed")) ? "yes" : "no");
	if ((v = cJSON_GetObjectItem(m, "published")) && cJSON_IsNumber(v)) {
		t = (time_t)v->valuedouble;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("Published: %s\n", when);
	}
	printf("Components:\n");
	print_components(cJSON_GetObjectItem(m, "components"), "  ");
	if ((v = cJSON_GetObjectItem(m, "staged"))) {
		printf("Staged for the next update:\n");
		print_components(v, "  ");
	}
	av_state_free(st);
	return 0;
}

/* ---- source ------------------------------------------------------------- */

static int cmd_source(cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		av_source_op op;
	} ops[] = {
		{ "add", AV_SOURCE_ADD }, { "update", AV_SOURCE_UPDATE },
		{ "replace", AV_SOURCE_REPLACE }, { "remove", AV_SOURCE_REMOVE },
		{ "drop", AV_SOURCE_DROP },
	};
	av_ctx *ctx = cli_ctx(c);
	const char *prefix = cli_value(c, "prefix"), *kind = cli_value(c, "kind");
	av_publish_component *comps = NULL;
	strv cn = { 0 };
	size_t i, n;
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if (argc < 2)
		return cli_usage(c, "give an action (add, update, replace, remove, list, "
				 "drop) and DIST");
	if (!strcmp(argv[0], "list")) {
		av_state *st = NULL;
		const cJSON *v;
		if ((rc = av_publish_open(ctx, prefix, argv[1], &st)))
			return cli_fail(c, rc);
		v = cJSON_GetObjectItem(st->meta, "staged");
		if (cli_json(c)) {
			cJSON *o = v ? cJSON_Duplicate(v, 1) : cJSON_CreateArray();
			av_state_free(st);
			return cli_print_json(c, o);
		}
		if (v)
			print_components(v, "");
		else if (!cli_quiet(c))
			printf("Nothing staged for '%s'.\n", argv[1]);
		av_state_free(st);
		return 0;
	}
	for (i = 0; i < (sizeof(ops) / sizeof(ops[0])); i++)
		if (!strcmp(ops[i].name, argv[0]))
			break;
	if (i == (sizeof(ops) / sizeof(ops[0])))
		return cli_usage(c, "unknown source action '%s'; use add, update, replace, "
				 "remove, list or drop", argv[0]);
	if (kind && strcmp(kind, "snapshot") && strcmp(kind, "repo"))
		return cli_usage(c, "--kind takes snapshot or repo, not '%s'", kind);
	if (!kind) {
		av_state *st = NULL;
		const cJSON *f;
		if ((rc = av_publish_open(ctx, prefix, argv[1], &st)))
			return cli_fail(c, rc);
		f = cJSON_GetArrayItem(cJSON_GetObjectItem(st->meta, "components"), 0);
		kind = f && cJSON_GetObjectItem(f, "kind") &&
		       !strcmp(cJSON_GetObjectItem(f, "kind")->valuestring, "repo")
			       ? "repo" : "snapshot";
		av_state_free(st);
	}
	if (split_opt(c, "component", &cn))
		return cli_fail(c, AV_ERROR);
	n = (size_t)argc - 2;
	if (ops[i].op == AV_SOURCE_REMOVE) {
		/* remove DIST COMPONENT... */
		n = (size_t)argc - 2;
	} else if (ops[i].op != AV_SOURCE_DROP && cn.n && cn.n != n) {
		rc = cli_usage(c, "%zu components for %zu sources", cn.n, n);
		goto done;
	}
	if (ops[i].op != AV_SOURCE_DROP && !n) {
		rc = cli_usage(c, "give the %s", ops[i].op == AV_SOURCE_REMOVE ?
			       "components to remove" : "sources");
		goto done;
	}
	if (n && !(comps = calloc(n, sizeof(*comps)))) {
		rc = cli_fail(c, av_error_set(AV_ERROR, "out of memory"));
		goto done;
	}
	for (size_t j = 0; j < n; j++) {
		if (ops[i].op == AV_SOURCE_REMOVE) {
			comps[j].component = argv[2 + j];
		} else {
			comps[j].component = cn.n ? cn.v[j] : NULL;
			comps[j].kind = kind;
			comps[j].name = argv[2 + j];
		}
	}
	if ((rc = av_publish_source(ctx, prefix, argv[1], ops[i].op, comps, n))) {
		rc = cli_fail(c, rc);
		goto done;
	}
	if (!cli_quiet(c))
		printf("Staged for '%s'; 'aptvault publish update %s' applies it.\n",
		       argv[1], argv[1]);
done:
	free(comps);
	strv_free(&cn);
	return rc;
}

static const cli_verb verbs[] = {
	{ "snapshot", cmd_snapshot, "SNAPSHOT... [PREFIX]", 1, -1, "publish snapshots, "
	  "one per component", create_opts },
	{ "repo", cmd_repo, "REPO... [PREFIX]", 1, -1, "publish local repos as they are "
	  "now, one per component", create_opts },
	{ "switch", cmd_switch, "DIST [PREFIX] SNAPSHOT...", 2, -1, "point components "
	  "of a published distribution at other snapshots", update_opts },
	{ "update", cmd_update, "DIST [PREFIX]", 1, 2, "republish: re-read local repos, "
	  "apply staged sources", update_opts },
	{ "drop", cmd_drop, "DIST [PREFIX]", 1, 2, "remove a published distribution",
	  drop_opts },
	{ "list", cmd_list, "", 0, 0, "list published distributions", list_opts },
	{ "show", cmd_show, "DIST [PREFIX]", 1, 2, "show a published distribution", NULL },
	{ "source", cmd_source, "add|update|replace|remove|list|drop DIST [SOURCE|COMPONENT...]",
	  2, -1, "stage component changes for the next update", source_opts },
	{ NULL },
};

static const cli_family family = {
	"publish", "Published distributions: signed, atomic, incremental indexes "
	"that apt reads.", verbs,
};

int main(int argc, char **argv)
{
	return cli_main(&family, argc, argv);
}
