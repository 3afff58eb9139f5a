/*
 * repo.c - `aptvault repo`: local repositories (aptly's grammar).
 * Each verb parses, calls lib/repo.h, prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "aptvault/repo.h"
#include "aptvault/format.h"
#include "aptvault/plist.h"
#include "aptvault/source.h"
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "aptvault/txn.h"
#include <errno.h>
#include "banned.h"

/* ---- shared helpers ---------------------------------------------------- */

static void oid_hex(char out[GIT_OID_HEXSZ + 1], const git_oid *oid)
{
	git_oid_tostr(out, GIT_OID_HEXSZ + 1, oid);
}

static cJSON *change_json(const av_change *chg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "added", (double)chg->added);
	cJSON_AddNumberToObject(o, "replaced", (double)chg->replaced);
	cJSON_AddNumberToObject(o, "unchanged", (double)chg->unchanged);
	cJSON_AddNumberToObject(o, "removed", (double)chg->removed);
	return o;
}

static int count_packages(av_ctx *ctx, const av_state *st, size_t *n)
{
	av_plist *l = NULL;
	int rc = av_plist_open(&l, ctx->store, &st->packages);

	if (!rc)
		rc = av_plist_count(l, n);
	av_plist_free(l);
	return rc;
}

/* ---- verbs ------------------------------------------------------------- */

static const cli_opt create_opts[] = {
	{ "comment", OPT_VALUE, "TEXT", "a comment for the repo" },
	{ "distribution", OPT_VALUE, "DIST", "default distribution when publishing" },
	{ "component", OPT_VALUE, "COMP", "default component when publishing (main)" },
	{ "exist-ok", OPT_FLAG, NULL, "succeed if the repo already exists" },
	{ NULL },
};

static int cmd_create(cli *c, int argc, char **argv)
{
	av_repo_settings set = { cli_value(c, "comment"), cli_value(c, "distribution"),
				 cli_value(c, "component") };
	av_ctx *ctx = cli_ctx(c);
	int created, rc;

	if (!ctx)
		return cli_exit_code(c);
	if (argc == 4 && !strcmp(argv[1], "from") && !strcmp(argv[2], "snapshot")) {
		if ((rc = av_repo_create_from_snapshot(ctx, argv[0], &set, argv[3])))
			return cli_fail(c, rc);
		created = 1;
	} else if (argc > 1) {
		return cli_usage(c, "expected 'NAME' or 'NAME from snapshot SNAPSHOT'");
	} else if ((rc = av_repo_create(ctx, argv[0], &set, cli_flag(c, "exist-ok"),
					&created))) {
		return cli_fail(c, rc);
	}
	if (!cli_quiet(c))
		printf(created ? "repo '%s' created\n" : "repo '%s' already exists\n", argv[0]);
	return 0;
}

static const cli_opt list_opts[] = {
	{ "raw", OPT_FLAG, NULL, "print names only, one per line" },
	{ NULL },
};

static cJSON *repo_json(av_ctx *ctx, const char *name, const av_state *st, int *rc)
{
	cJSON *o = cJSON_CreateObject();
	char hex[GIT_OID_HEXSZ + 1];
	size_t n = 0;

	if ((*rc = count_packages(ctx, st, &n))) {
		cJSON_Delete(o);
		return NULL;
	}
	oid_hex(hex, &st->commit);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "comment", av_state_get(st, "comment", ""));
	cJSON_AddStringToObject(o, "distribution", av_state_get(st, "distribution", ""));
	cJSON_AddStringToObject(o, "component", av_state_get(st, "component", "main"));
	cJSON_AddNumberToObject(o, "packages", (double)n);
	cJSON_AddStringToObject(o, "state", hex);
	cJSON_AddNumberToObject(o, "modified", (double)st->time);
	return o;
}

static int cmd_list(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	cJSON *arr = NULL;
	char **names = NULL;
	size_t n = 0;
	int rc;

	(void)argc;
	(void)argv;
	if (!ctx)
		return cli_exit_code(c);
	if ((rc = av_repo_names(ctx, &names, &n)))
		return cli_fail(c, rc);
	if (cli_json(c))
		arr = cJSON_CreateArray();
	for (size_t i = 0; i < n && !rc; i++) {
		av_state *st = NULL;
		cJSON *o = NULL;

		if (cli_flag(c, "raw") && !arr) {
			printf("%s\n", names[i]);
			continue;
		}
		rc = av_repo_open(ctx, names[i], &st);
		if (rc == AV_ENOTFOUND) {	/* dropped meanwhile */
			rc = 0;
			continue;
		}
		if (!rc && (o = repo_json(ctx, names[i], st, &rc))) {
			if (arr) {
				cJSON_AddItemToArray(arr, o);
			} else {
				const char *comment = av_state_get(st, "comment", "");
				printf(" * %s%s%s%s (packages: %d)\n", names[i],
				       *comment ? " [" : "", comment, *comment ? "]" : "",
				       cJSON_GetObjectItem(o, "packages")->valueint);
				cJSON_Delete(o);
			}
		}
		av_state_free(st);
	}
	av_store_names_free(names, n);
	if (rc) {
		cJSON_Delete(arr);
		return cli_fail(c, rc);
	}
	if (arr)
		return cli_print_json(c, arr);
	if (!n && !cli_quiet(c) && !cli_flag(c, "raw"))
		printf("No repos found, create one with 'aptvault repo create NAME'.\n");
	return 0;
}

static const cli_opt show_opts[] = {
	{ "with-packages", OPT_FLAG, NULL, "list the repo's packages too" },
	{ NULL },
};

static void print_repo(const char *name, const av_state *st, const cJSON *o)
{
	printf("Name: %s\nComment: %s\nDefault Distribution: %s\n"
	       "Default Component: %s\nNumber of packages: %d\n", name,
	       av_state_get(st, "comment", ""), av_state_get(st, "distribution", ""),
	       av_state_get(st, "component", "main"),
	       cJSON_GetObjectItem(o, "packages")->valueint);
}

static int cmd_show(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_state *st = NULL;
	cJSON *o = NULL;
	int rc;

	(void)argc;
	if (!ctx)
		return cli_exit_code(c);
	if ((rc = av_repo_open(ctx, argv[0], &st)) || !(o = repo_json(ctx, argv[0], st, &rc)))
		goto fail;
	if (cli_flag(c, "with-packages")) {
		cli_printer p = { .c = c };
		if (cli_json(c))
			p.array = cJSON_AddArrayToObject(o, "packageList");
		else {
			print_repo(argv[0], st, o);
			printf("Packages:\n");
			p.prefix = "  ";
		}
		rc = av_list_select(ctx->store, &st->packages, NULL, cli_print_pkg, &p);
		p.array = NULL;		/* it belongs to o */
		if (rc)
			goto fail;
	} else if (!cli_json(c)) {
		print_repo(argv[0], st, o);
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

static const cli_opt edit_opts[] = {
	{ "comment", OPT_VALUE, "TEXT", "set the comment" },
	{ "distribution", OPT_VALUE, "DIST", "set the default distribution" },
	{ "component", OPT_VALUE, "COMP", "set the default component" },
	{ NULL },
};

static int cmd_edit(cli *c, int argc, char **argv)
{
	av_repo_settings set = { cli_value(c, "comment"), cli_value(c, "distribution"),
				 cli_value(c, "component") };
	av_ctx *ctx = cli_ctx(c);
	int rc;

	(void)argc;
	if (!ctx)
		return cli_exit_code(c);
	if (!set.comment && !set.distribution && !set.component)
		return cli_usage(c, "nothing to change: give --comment, --distribution or "
				 "--component");
	if ((rc = av_repo_edit(ctx, argv[0], &set)))
		return cli_fail(c, rc);
	if (!cli_quiet(c))
		printf("repo '%s' edited\n", argv[0]);
	return 0;
}

static int cmd_rename(cli *c, int argc, char **argv)
{
	(void)argc;
	return cli_rename(c, "repo", argv);
}

static const cli_opt drop_opts[] = {
	{ "force", OPT_FLAG, NULL, "drop even if the repo is in use" },
	{ NULL },
};

static int cmd_drop(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	int rc;

	(void)argc;
	if (!ctx)
		return cli_exit_code(c);
	if ((rc = av_repo_drop(ctx, argv[0], cli_flag(c, "force"))))
		return cli_fail(c, rc);
	if (!cli_quiet(c))
		printf("repo '%s' dropped\n", argv[0]);
	return 0;
}

static void report_change(cli *c, const char *what, const char *name, const av_change *chg)
{
	if (cli_json(c)) {
		cJSON *o = change_json(chg);
		cJSON_AddStringToObject(o, "repo", name);
		cli_print_json(c, o);
		return;
	}
	if (cli_quiet(c))
		return;
	printf("repo '%s': %zu %s", name, chg->added, what);
	if (chg->replaced)
		printf(", %zu replaced", chg->replaced);
	if (chg->unchanged)
		printf(", %zu already there", chg->unchanged);
	if (chg->removed)
		printf(", %zu removed", chg->removed);
	printf("\n");
}

static const cli_opt add_opts[] = {
	{ "remove-files", OPT_FLAG, NULL, "remove the files once they are added" },
	{ "force-replace", OPT_FLAG, NULL, "replace packages with the same name, "
	  "version and architecture but different content" },
	{ NULL },
};

static int cmd_add(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_import_opts io = { 0 };
	av_import *imp = NULL;
	av_change chg = { 0 };
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	io.threads = (unsigned)av_config_num(cli_config(c), "importThreads");
	io.lock_timeout = ctx->lock_timeout;
	if (cli_progress_wanted(c)) {
		io.progress = cli_progress;
		io.progress_payload = c;
	}
	if ((rc = av_import_files(&imp, ctx->store, argv + 1, (size_t)argc - 1, &io)) ||
	    (rc = av_repo_add(ctx, argv[0], imp, cli_flag(c, "force-replace"), &chg)))
		goto done;
	if (cli_flag(c, "remove-files"))
		rc = av_import_remove_sources(imp);
	report_change(c, "added", argv[0], &chg);
done:
	av_import_free(imp);
	return rc ? cli_fail(c, rc) : 0;
}

static const cli_opt remove_opts[] = {
	{ "dry-run", OPT_FLAG, NULL, "show what would be removed, change nothing" },
	{ NULL },
};

static int cmd_remove(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_query *q = NULL;
	cli_printer p;
	av_change chg = { 0 };
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if ((rc = cli_queries(c, argc - 1, argv + 1, &q)))
		return rc;
	cli_printer_init(&p, c, cli_flag(c, "dry-run") ? "would remove " : "removing ");
	rc = av_repo_remove(ctx, argv[0], q, cli_flag(c, "dry-run"), cli_print_pkg, &p, &chg);
	av_query_free(q);
	if (rc) {
		cli_printer_dispose(&p);
		return cli_fail(c, rc);
	}
	if (p.array) {
		cJSON *o = change_json(&chg);
		cJSON_AddStringToObject(o, "repo", argv[0]);
		cJSON_AddBoolToObject(o, "dryRun", cli_flag(c, "dry-run"));
		cJSON_AddItemToObject(o, "packages", p.array);
		return cli_print_json(c, o);
	}
	return 0;
}

static const cli_opt copy_opts[] = {
	{ "dry-run", OPT_FLAG, NULL, "show what would be done, change nothing" },
	{ "with-deps", OPT_FLAG, NULL, "also take the dependencies the destination "
	  "lacks" },
	CLI_DEP_OPTS,
	{ NULL },
};

static int copy_or_move(cli *c, int argc, char **argv, int move)
{
	av_ctx *ctx = cli_ctx(c);
	av_query *q = NULL;
	cli_printer p;
	cli_dep_opts d;
	av_change chg = { 0 };
	int dry = cli_flag(c, "dry-run"), rc;

	if (!ctx)
		return cli_exit_code(c);
	if ((rc = cli_queries(c, argc - 2, argv + 2, &q)))
		return rc;
	cli_printer_init(&p, c, dry ? (move ? "would move " : "would copy ") :
			 (move ? "moving " : "copying "));
	if ((rc = cli_dep_opts_init(c, &d))) {
		cli_dep_opts_dispose(&d);
		cli_printer_dispose(&p);
		av_query_free(q);
		return rc;
	}
	rc = av_repo_copy(ctx, argv[0], argv[1], q, move, dry,
			  cli_flag(c, "with-deps") ? &d.o : NULL, cli_print_pkg, &p, &chg);
	cli_dep_opts_dispose(&d);
	av_query_free(q);
	if (rc) {
		cli_printer_dispose(&p);
		return cli_fail(c, rc);
	}
	if (p.array) {
		cJSON *o = change_json(&chg);
		cJSON_AddStringToObject(o, "from", argv[0]);
		cJSON_AddStringToObject(o, "to", argv[1]);
		cJSON_AddBoolToObject(o, "dryRun", dry);
		cJSON_AddItemToObject(o, "packages", p.array);
		return cli_print_json(c, o);
	}
	return 0;
}

static int cmd_copy(cli *c, int argc, char **argv)
{
	return copy_or_move(c, argc, argv, 0);
}

static int cmd_move(cli *c, int argc, char **argv)
{
	return copy_or_move(c, argc, argv, 1);
}

static const cli_opt search_opts[] = {
	{ "format", OPT_VALUE, "TEMPLATE", "print each package with a template, "
	  "e.g. '{{.Package}} {{.Version}}'" },
	{ NULL },
};

static int cmd_search(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_state *st = NULL;
	av_query *q = NULL;
	cli_printer p;
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if (argc > 1 && (rc = cli_queries(c, argc - 1, argv + 1, &q)))
		return rc;
	cli_printer_init(&p, c, NULL);
	if (!(rc = av_repo_open(ctx, argv[0], &st)))
		rc = av_list_select(ctx->store, &st->packages, q, cli_print_pkg, &p);
	av_state_free(st);
	av_query_free(q);
	if (rc) {
		cli_printer_dispose(&p);
		return cli_fail(c, rc);
	}
	return cli_printer_finish(&p);
}

typedef struct log_ctx {
	cli *c;
	cJSON *arr;
} log_ctx;

static int print_history(const av_history_entry *e, void *payload)
{
	log_ctx *l = payload;
	char when[64], old_hex[GIT_OID_HEXSZ + 1], new_hex[GIT_OID_HEXSZ + 1];
	time_t t = (time_t)e->when;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	oid_hex(old_hex, &e->old_oid);
	oid_hex(new_hex, &e->new_oid);
	if (l->arr) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "time", when);
		cJSON_AddNumberToObject(o, "timestamp", (double)e->when);
		cJSON_AddStringToObject(o, "old", old_hex);
		cJSON_AddStringToObject(o, "new", new_hex);
		cJSON_AddStringToObject(o, "command", e->message);
		cJSON_AddItemToArray(l->arr, o);
	} else {
		printf("%s  %.12s  %s\n", when, new_hex, e->message);
	}
	return 0;
}

static int cmd_log(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	av_state *st = NULL;
	av_buf ref = AV_BUF_INIT;
	log_ctx l = { c, NULL };
	int rc;

	(void)argc;
	if (!ctx)
		return cli_exit_code(c);
	if ((rc = av_repo_open(ctx, argv[0], &st)))
		return cli_fail(c, rc);
	av_state_free(st);
	if (cli_json(c))
		l.arr = cJSON_CreateArray();
	if (!(rc = av_txn_refname(&ref, "repo", argv[0])))
		rc = av_store_history(ctx->store, ref.ptr, print_history, &l);
	av_buf_dispose(&ref);
	if (rc) {
		cJSON_Delete(l.arr);
		return cli_fail(c, rc);
	}
	return l.arr ? cli_print_json(c, l.arr) : 0;
}

static const cli_opt include_opts[] = {
	{ "repo", OPT_VALUE, "TEMPLATE", "repo to add to; {{.Distribution}} and other "
	  ".changes fields are expanded (default {{.Distribution}})" },
	{ "keyring", OPT_VALUE, "FILE", "keyring to verify .changes signatures with" },
	{ "accept-unsigned", OPT_FLAG, NULL, "accept unsigned .changes files" },
	{ "ignore-signatures", OPT_FLAG, NULL, "do not verify signatures" },
	{ "no-remove-files", OPT_FLAG, NULL, "keep the files after including them" },
	{ "force-replace", OPT_FLAG, NULL, "replace packages with the same identity "
	  "but different content" },
	{ NULL },
};

static int changes_files(char *const *paths, int n, char ***out, size_t *nout);

static int include_one(cli *c, av_ctx *ctx, const char *path)
{
	av_changes_opts co = { cli_value(c, "keyring"), cli_flag(c, "accept-unsigned"),
			       cli_flag(c, "ignore-signatures") };
	av_changes_info *ch = NULL;
	av_import *imp = NULL;
	av_import_opts io = { 0 };
	av_buf repo = AV_BUF_INIT;
	av_change chg = { 0 };
	char **files = NULL;
	size_t nfiles = 0;
	const char *tmpl = cli_value(c, "repo");
	int rc;

	io.lock_timeout = ctx->lock_timeout;
	if (cli_progress_wanted(c)) {
		io.progress = cli_progress;
		io.progress_payload = c;
	}
	if ((rc = av_changes_read(&ch, path, &co)))
		goto done;
	if (!(files = calloc(ch->nfiles + 1, sizeof(*files)))) {
		rc = av_error_set(AV_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < ch->nfiles; i++) {
		const char *p = ch->files[i].path;
		size_t len = strlen(p);
		if ((len > 4 && !strcmp(p + len - 4, ".deb")) ||
		    (len > 5 && !strcmp(p + len - 5, ".udeb")) ||
		    (len > 4 && !strcmp(p + len - 4, ".dsc")))
			files[nfiles++] = ch->files[i].path;
	}
	if (!nfiles) {
		rc = av_error_set(AV_EINVALID, "'%s' lists no .deb, .udeb or .dsc file", path);
		goto done;
	}
	{
		/* The repo name: the template over the .changes fields. */
		av_pkg fake = { .stanza = ch->stanza, .name = "", .version = "", .arch = "" };
		if ((rc = av_pkg_format(&repo, &fake, tmpl ? tmpl : "{{.Distribution}}")))
			goto done;
	}
	if ((rc = av_import_files(&imp, ctx->store, files, nfiles, &io)) ||
	    (rc = av_repo_add(ctx, av_buf_cstr(&repo), imp, cli_flag(c, "force-replace"),
			      &chg)))
		goto done;
	if (!cli_flag(c, "no-remove-files")) {
		for (size_t i = 0; i < ch->nfiles && !rc; i++)
			if (remove(ch->files[i].path) < 0)
				rc = av_error_set_errno(AV_EIO, errno, "cannot remove '%s'",
							ch->files[i].path);
		if (!rc && remove(path) < 0)
			rc = av_error_set_errno(AV_EIO, errno, "cannot remove '%s'", path);
	}
	if (!rc)
		report_change(c, "added", av_buf_cstr(&repo), &chg);
done:
	if (rc)
		av_error_wrap(rc, "'%s'", path);
	free(files);
	av_buf_dispose(&repo);
	av_import_free(imp);
	av_changes_info_free(ch);
	return rc;
}

static int cmd_include(cli *c, int argc, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	char **changes = NULL;
	size_t n = 0;
	int rc, failed = 0;

	if (!ctx)
		return cli_exit_code(c);
	if ((rc = changes_files(argv, argc, &changes, &n)))
		return cli_fail(c, rc);
	if (!n) {
		av_error_set(AV_EINVALID, "no .changes files found");
		return cli_fail(c, AV_EINVALID);
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = include_one(c, ctx, changes[i]))) {
			cli_fail(c, rc);
			failed = 1;
		}
		free(changes[i]);
	}
	free(changes);
	return failed ? cli_exit_code(c) : 0;
}

/* .changes files among paths (directories: one level, like aptly). */
static int changes_files(char *const *paths, int n, char ***out, size_t *nout)
{
	char **v = NULL;
	size_t count = 0;
	int rc = 0;

	for (int i = 0; i < n && !rc; i++) {
		char **entries = NULL;
		size_t ne = 0;

		if (!av_is_dir(paths[i])) {
			char **g = realloc(v, (count + 1) * sizeof(*v));
			if (!g || !(g[count] = strdup(paths[i]))) {
				v = g ? g : v;
				rc = av_error_set(AV_ERROR, "out of memory");
				break;
			}
			v = g;
			count++;
			continue;
		}
		if ((rc = av_dir_list(paths[i], ".changes", &entries, &ne)))
			break;
		for (size_t k = 0; k < ne && !rc; k++) {
			av_buf p = AV_BUF_INIT;
			char **g = realloc(v, (count + 1) * sizeof(*v));
			if (!g || av_buf_printf(&p, "%s/%s", paths[i], entries[k])) {
				v = g ? g : v;
				rc = av_error_set(AV_ERROR, "out of memory");
				av_buf_dispose(&p);
				break;
			}
			v = g;
			v[count++] = av_buf_detach(&p);
		}
		av_dir_list_free(entries, ne);
	}
	if (rc) {
		for (size_t k = 0; k < count; k++)
			free(v[k]);
		free(v);
		return rc;
	}
	*out = v;
	*nout = count;
	return 0;
}

static const cli_verb verbs[] = {
	{ "create", cmd_create, "NAME [from snapshot SNAPSHOT]", 1, 4,
	  "create a local repository, empty or from a snapshot", create_opts },
	{ "list", cmd_list, "", 0, 0, "list local repositories", list_opts },
	{ "show", cmd_show, "NAME", 1, 1, "show a repository's settings and size", show_opts },
	{ "edit", cmd_edit, "NAME", 1, 1, "change a repository's settings", edit_opts },
	{ "rename", cmd_rename, "OLD NEW", 2, 2, "rename a repository", NULL },
	{ "drop", cmd_drop, "NAME", 1, 1, "delete a repository", drop_opts },
	{ "add", cmd_add, "NAME FILE|DIR...", 2, -1, "add .deb, .udeb and .dsc files "
	  "(all or nothing)", add_opts },
	{ "remove", cmd_remove, "NAME QUERY...", 2, -1, "remove the packages matching "
	  "queries", remove_opts },
	{ "copy", cmd_copy, "SRC DST QUERY...", 3, -1, "copy matching packages to "
	  "another repo", copy_opts },
	{ "move", cmd_move, "SRC DST QUERY...", 3, -1, "move matching packages to "
	  "another repo", copy_opts },
	{ "search", cmd_search, "NAME [QUERY...]", 1, -1, "list a repo's packages "
	  "matching a query", search_opts },
	{ "include", cmd_include, "FILE.changes|DIR...", 1, -1, "add the packages of "
	  ".changes uploads", include_opts },
	{ "log", cmd_log, "NAME", 1, 1, "show a repo's history", NULL },
	{ NULL },
};

static const cli_family family = {
	"repo", "Local package repositories: create them, add packages, copy, move, "
	"remove and search.", verbs,
};

int main(int argc, char **argv)
{
	return cli_main(&family, argc, argv);
}
