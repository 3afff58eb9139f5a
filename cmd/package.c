/*
 * package.c - `aptvault package`: search and inspect packages across every
 * repository (and, as they arrive, mirrors and snapshots).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "aptvault/search.h"
#include "aptvault/format.h"
#include "aptvault/pool.h"
#include "aptvault/error.h"
#include "banned.h"

typedef struct out {
	cli *c;
	av_ctx *ctx;
	cJSON *arr;
	const char *format;
	size_t n;
	int show;
} out;

static int add_ref(const char *kind, const char *name, void *payload)
{
	cJSON *arr = payload;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddItemToArray(arr, o);
	return 0;
}

/* The pool paths of a package's files (one for a .deb; each listed file
 * of a source package). */
static cJSON *files_json(av_ctx *ctx, const av_pkg *pkg)
{
	cJSON *arr = cJSON_CreateArray();
	const char *root = av_store_root(ctx->store);
	const char *sha = av_stanza_get(pkg->stanza, "SHA256");

	if (pkg->type != AV_PKG_SOURCE && sha) {
		av_buf p = AV_BUF_INIT;
		av_pool_path(&p, root, sha);
		cJSON_AddItemToArray(arr, cJSON_CreateString(av_buf_cstr(&p)));
		av_buf_dispose(&p);
	} else if ((sha = av_stanza_get(pkg->stanza, "Checksums-Sha256"))) {
		const char *cur = sha, *line;
		size_t len;
		while (av_deb822_next_line(&cur, &line, &len)) {
			char hex[65];
			av_buf p = AV_BUF_INIT;
			if (len < 64)
				continue;
			memcpy(hex, line, 64);
			hex[64] = '\0';
			av_pool_path(&p, root, hex);
			cJSON_AddItemToArray(arr, cJSON_CreateString(av_buf_cstr(&p)));
			av_buf_dispose(&p);
		}
	}
	return arr;
}

static int found(const char *key, const av_pkg *pkg, const git_oid *blob, void *payload)
{
	out *o = payload;
	cJSON *refs = NULL, *files = NULL;
	int rc = 0;

	o->n++;
	if (o->show && cli_flag(o->c, "with-references")) {
		refs = cJSON_CreateArray();
		if ((rc = av_search_references(o->ctx, key, blob, add_ref, refs))) {
			cJSON_Delete(refs);
			return rc;
		}
	}
	if (o->show && cli_flag(o->c, "with-files"))
		files = files_json(o->ctx, pkg);
	if (o->arr) {
		cJSON *j = av_pkg_json(pkg);
		if (refs)
			cJSON_AddItemToObject(j, "references", refs);
		if (files)
			cJSON_AddItemToObject(j, "files", files);
		cJSON_AddItemToArray(o->arr, j);
		return 0;
	}
	if (!o->show) {
		av_buf line = AV_BUF_INIT;
		rc = o->format ? av_pkg_format(&line, pkg, o->format) : av_buf_puts(&line, key);
		if (!rc)
			printf("%s\n", av_buf_cstr(&line));
		av_buf_dispose(&line);
		return rc;
	}
	{
		av_buf text = AV_BUF_INIT;
		av_stanza *pub = NULL;
		if ((rc = av_stanza_dup(&pub, pkg->stanza)))
			return rc;
		av_stanza_del(pub, "Aptvault-Type");
		av_stanza_del(pub, "Aptvault-Contents");
		rc = av_stanza_write(&text, pub);
		av_stanza_free(pub);
		if (!rc)
			fputs(av_buf_cstr(&text), stdout);
		av_buf_dispose(&text);
	}
	if (files) {
		printf("Files in the pool:\n");
		for (cJSON *f = files->child; f; f = f->next)
			printf("  %s\n", f->valuestring);
	}
	if (refs) {
		printf("References to package:\n");
		for (cJSON *r = refs->child; r; r = r->next)
			printf("  %s %s\n", cJSON_GetObjectItem(r, "kind")->valuestring,
			       cJSON_GetObjectItem(r, "name")->valuestring);
	}
	printf("\n");
	cJSON_Delete(files);
	cJSON_Delete(refs);
	return rc;
}

static int run(cli *c, int argc, char **argv, int show)
{
	av_ctx *ctx = cli_ctx(c);
	av_query *q = NULL;
	out o = { c, ctx, NULL, cli_value(c, "format"), 0, show };
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if (argc && (rc = cli_queries(c, argc, argv, &q)))
		return rc;
	if (cli_json(c))
		o.arr = cJSON_CreateArray();
	rc = av_search_all(ctx, q, found, &o);
	av_query_free(q);
	if (rc) {
		cJSON_Delete(o.arr);
		return cli_fail(c, rc);
	}
	if (o.arr)
		cli_print_json(c, o.arr);
	if (!o.n) {
		if (!cli_json(c) && !cli_quiet(c))
			fprintf(stderr, "aptvault: no packages found\n");
		return CLI_EXIT_FAIL;
	}
	return 0;
}

static int cmd_search(cli *c, int argc, char **argv)
{
	return run(c, argc, argv, 0);
}

static int cmd_show(cli *c, int argc, char **argv)
{
	return run(c, argc, argv, 1);
}

static const cli_opt search_opts[] = {
	{ "format", OPT_VALUE, "TEMPLATE", "print each package with a template, "
	  "e.g. '{{.Package}} {{.Version}}'" },
	{ NULL },
};

static const cli_opt show_opts[] = {
	{ "with-files", OPT_FLAG, NULL, "list the package's files in the pool" },
	{ "with-references", OPT_FLAG, NULL, "list the repos (mirrors, snapshots) "
	  "holding the package" },
	{ NULL },
};

static const cli_verb verbs[] = {
	{ "search", cmd_search, "[QUERY...]", 0, -1, "list packages matching a query in "
	  "every repo", search_opts },
	{ "show", cmd_show, "QUERY...", 1, -1, "show the full stanza of matching "
	  "packages", show_opts },
	{ NULL },
};

static const cli_family family = {
	"package", "Search and inspect packages across every repository.", verbs,
};

int main(int argc, char **argv)
{
	return cli_main(&family, argc, argv);
}
