/* cli.c - option tables, help, completion and exit codes (see cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include "cli.h"
#include "aptvault/error.h"
#include "aptvault/buf.h"
#include "aptvault/format.h"
#include "banned.h"

static const cli_opt global_opts[] = {
	{ "root", OPT_VALUE, "DIR", "the aptvault root (default: rootDir, else ~/.aptvault)" },
	{ "config", OPT_VALUE, "FILE", "read only this configuration file" },
	{ "json", OPT_FLAG, NULL, "print JSON instead of text" },
	{ "quiet", OPT_FLAG, NULL, "print nothing but errors; no progress" },
	{ "lock-timeout", OPT_VALUE, "SECONDS", "wait at most this long for locks "
	  "(default: wait)" },
	{ "no-wait", OPT_FLAG, NULL, "fail at once (exit 75) when a lock is held" },
	{ "help", OPT_FLAG, NULL, "show help for the command" },
	{ NULL },
};

typedef struct cli_val {
	const cli_opt *opt;
	const char *value;
} cli_val;

struct cli {
	const cli_family *family;
	const cli_verb *verb;
	cli_val *vals;
	size_t nvals;
	char **pos;
	int npos;
	av_config *config;
	av_store *store;
	av_ctx ctx;
	char *cmdline;
	int exit_code;
	int progress_drawn;
};

static const cli_opt *find_opt(const cli_opt *opts, const char *name, size_t len)
{
	for (const cli_opt *o = opts; o && o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

static void print_opts(FILE *f, const cli_opt *opts)
{
	for (const cli_opt *o = opts; o && o->name; o++) {
		char head[128];
		snprintf(head, sizeof(head), "--%s%s%s", o->name, o->arg ? "=" : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  %-28s %s\n", head, o->help);
	}
}

static void family_help(FILE *f, const cli_family *fam)
{
	fprintf(f, "usage: aptvault %s VERB [ARGS...] [OPTIONS]\n\n%s\n\nverbs:\n",
		fam->name, fam->summary);
	for (const cli_verb *v = fam->verbs; v->name; v++)
		fprintf(f, "  %-10s %s\n", v->name, v->summary);
	fprintf(f, "\nglobal options:\n");
	print_opts(f, global_opts);
	fprintf(f, "\nRun 'aptvault %s VERB --help' for a verb's options; "
		"'man aptvault-%s' for details.\n", fam->name, fam->name);
}

static void verb_help(FILE *f, const cli_family *fam, const cli_verb *v)
{
	fprintf(f, "usage: aptvault %s %s %s\n\n%s\n", fam->name, v->name,
		v->args ? v->args : "", v->summary);
	if (v->opts && v->opts->name) {
		fprintf(f, "\noptions:\n");
		print_opts(f, v->opts);
	}
	fprintf(f, "\nglobal options:\n");
	print_opts(f, global_opts);
}

static int finish_stdout(void)
{
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "aptvault: error: cannot write output: %s\n", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* `aptvault-FAMILY --completion-helper [VERB]`: words for the shell. */
static int completion(const cli_family *fam, const char *verb)
{
	if (!verb) {
		for (const cli_verb *v = fam->verbs; v->name; v++)
			printf("%s\n", v->name);
		return finish_stdout();
	}
	for (const cli_verb *v = fam->verbs; v->name; v++) {
		if (strcmp(v->name, verb))
			continue;
		for (const cli_opt *o = v->opts; o && o->name; o++)
			printf("--%s%s\n", o->name, o->kind == OPT_FLAG ? "" : "=");
	}
	for (const cli_opt *o = global_opts; o->name; o++)
		printf("--%s%s\n", o->name, o->kind == OPT_FLAG ? "" : "=");
	return finish_stdout();
}

int cli_usage(cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aptvault: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c->verb)
		fprintf(stderr, "\nusage: aptvault %s %s %s\n(see 'aptvault %s %s --help')\n",
			c->family->name, c->verb->name, c->verb->args ? c->verb->args : "",
			c->family->name, c->verb->name);
	else
		fprintf(stderr, "\n(see 'aptvault %s --help')\n", c->family->name);
	c->exit_code = CLI_EXIT_USAGE;
	return CLI_EXIT_USAGE;
}

static int add_val(cli *c, const cli_opt *o, const char *value)
{
	cli_val *v = realloc(c->vals, (c->nvals + 1) * sizeof(*v));

	if (!v)
		return -1;
	c->vals = v;
	v[c->nvals].opt = o;
	v[c->nvals].value = value;
	c->nvals++;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
		*out = 0;
		return 0;
	}
	return -1;
}

/* Parse options anywhere among the arguments; "--" ends them. */
static int parse(cli *c, int argc, char **argv)
{
	int only_pos = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		const cli_opt *o;
		size_t len;

		if (only_pos || a[0] != '-' || !a[1]) {
			c->pos[c->npos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		name = a + (a[1] == '-' ? 2 : 1);
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = find_opt(c->verb ? c->verb->opts : NULL, name, len);
		if (!o)
			o = find_opt(global_opts, name, len);
		if (!o)
			return cli_usage(c, "unknown option '%.*s'", (int)(len + (name - a)), a);
		if (o->kind == OPT_FLAG) {
			int b = 1;
			if (eq && parse_bool(eq + 1, &b))
				return cli_usage(c, "option '--%s' takes true or false, not '%s'",
						 o->name, eq + 1);
			if (add_val(c, o, b ? "true" : "false"))
				return CLI_EXIT_FAIL;
			continue;
		}
		if (!eq && i + 1 >= argc)
			return cli_usage(c, "option '--%s' needs a value", o->name);
		if (add_val(c, o, eq ? eq + 1 : argv[++i]))
			return CLI_EXIT_FAIL;
	}
	return 0;
}

const char *cli_value(cli *c, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < c->nvals; i++)
		if (!strcmp(c->vals[i].opt->name, name))
			v = c->vals[i].value;
	return v;
}

int cli_flag(cli *c, const char *name)
{
	const char *v = cli_value(c, name);
	return v && !strcmp(v, "true");
}

size_t cli_list(cli *c, const char *name, const char ***out)
{
	static const char *vals[256];
	size_t n = 0;

	for (size_t i = 0; i < c->nvals && n < 256; i++)
		if (!strcmp(c->vals[i].opt->name, name))
			vals[n++] = c->vals[i].value;
	*out = vals;
	return n;
}

int cli_json(cli *c)
{
	return cli_flag(c, "json");
}

int cli_quiet(cli *c)
{
	return cli_flag(c, "quiet");
}

int cli_progress_wanted(cli *c)
{
	const char *ci = getenv("CI");

	return !cli_quiet(c) && isatty(2) && !(ci && *ci && strcmp(ci, "false"));
}

void cli_progress(void *payload, size_t done, size_t total)
{
	cli *c = payload;

	if (!total)
		return;
	if (done < total && done % 64)
		return;
	fprintf(stderr, "\r%s %s: %zu/%zu (%zu%%)", c->family->name, c->verb->name, done,
		total, done * 100 / total);
	if (done == total)
		fputc('\n', stderr);
	c->progress_drawn = 1;
}

int cli_exit_code(cli *c)
{
	return c->exit_code;
}

int cli_fail(cli *c, int rc)
{
	const char *msg = av_error_last();

	fprintf(stderr, "aptvault: error: %s\n", *msg ? msg : av_error_name(rc));
	c->exit_code = rc == AV_EBUSY ? CLI_EXIT_BUSY : CLI_EXIT_FAIL;
	return c->exit_code;
}

int cli_queries(cli *c, int argc, char **argv, av_query **out)
{
	av_buf text = AV_BUF_INIT;
	char **texts = calloc((size_t)argc + 1, sizeof(*texts));
	int rc = 0, n = 0;

	*out = NULL;
	if (!texts)
		return cli_fail(c, av_error_set(AV_ERROR, "out of memory"));
	for (int i = 0; i < argc && !rc; i++) {
		av_buf_clear(&text);
		if (!(rc = av_query_load(&text, argv[i])) && !(texts[n++] = av_buf_detach(&text)))
			rc = AV_ERROR;
	}
	if (!rc)
		rc = av_query_parse_argv(out, n, texts);
	for (int i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	av_buf_dispose(&text);
	return rc ? cli_fail(c, rc) : 0;
}

static int flag_or_config(cli *c, const char *flag, const char *key)
{
	const char *v = cli_value(c, flag);
	return v ? !strcmp(v, "true") : av_config_bool(cli_config(c), key);
}

int cli_dep_opts_init(cli *c, cli_dep_opts *d)
{
	const char *a = cli_value(c, "architectures");
	const char *policy = cli_value(c, "dep-policy");
	size_t n = 0;

	memset(d, 0, sizeof(*d));
	d->o.follow_recommends = flag_or_config(c, "dep-follow-recommends",
						"dependencyFollowRecommends");
	d->o.follow_suggests = flag_or_config(c, "dep-follow-suggests",
					      "dependencyFollowSuggests");
	d->o.follow_source = flag_or_config(c, "dep-follow-source", "dependencyFollowSource");
	d->o.follow_all_variants = flag_or_config(c, "dep-follow-all-variants",
						  "dependencyFollowAllVariants");
	if (a && *a && (d->archbuf = strdup(a))) {
		for (char *p = d->archbuf, *q; p && n < 63; p = q) {
			if ((q = strchr(p, ',')))
				*q++ = '\0';
			if (*p)
				d->archs[n++] = p;
		}
	} else if (cli_config(c)) {
		const cJSON *e;
		cJSON_ArrayForEach(e, av_config_get(cli_config(c), "architectures"))
			if (n < 63 && cJSON_IsString(e))
				d->archs[n++] = e->valuestring;
	}
	d->archs[n] = NULL;
	d->o.architectures = n ? d->archs : NULL;
	if (!policy && cli_config(c))
		policy = av_config_str(cli_config(c), "dependencyPolicy");
	if (policy && strcmp(policy, "aptly") && strcmp(policy, "debian"))
		return cli_usage(c, "dependency policy must be 'aptly' or 'debian', not '%s'",
				 policy);
	d->o.debian_policy = policy && !strcmp(policy, "debian");
	return 0;
}

void cli_dep_opts_dispose(cli_dep_opts *d)
{
	free(d->archbuf);
	d->archbuf = NULL;
}

void cli_printer_init(cli_printer *p, cli *c, const char *prefix)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->prefix = prefix;
	p->format = cli_value(c, "format");
	if (cli_json(c))
		p->array = cJSON_CreateArray();
}

int cli_print_pkg(const char *key, const av_pkg *pkg, void *payload)
{
	cli_printer *p = payload;
	av_buf line = AV_BUF_INIT;
	int rc;

	p->count++;
	if (p->array) {
		cJSON *o = av_pkg_json(pkg);
		if (!o)
			return av_error_set(AV_ERROR, "out of memory");
		cJSON_AddItemToArray(p->array, o);
		return 0;
	}
	if (cli_quiet(p->c))
		return 0;
	rc = p->format ? av_pkg_format(&line, pkg, p->format) : av_buf_puts(&line, key);
	if (!rc)
		printf("%s%s\n", p->prefix ? p->prefix : "", av_buf_cstr(&line));
	av_buf_dispose(&line);
	return rc;
}

int cli_printer_finish(cli_printer *p)
{
	cJSON *arr = p->array;

	p->array = NULL;
	if (arr) {
		if (cli_print_json(p->c, arr))
			return CLI_EXIT_FAIL;
	} else if (!p->count && !cli_quiet(p->c)) {
		fprintf(stderr, "aptvault: no packages found\n");
	}
	return p->count ? 0 : CLI_EXIT_FAIL;
}

void cli_printer_dispose(cli_printer *p)
{
	cJSON_Delete(p->array);
	p->array = NULL;
}

int cli_rename(cli *c, const char *kind, char **argv)
{
	av_ctx *ctx = cli_ctx(c);
	int rc;

	if (!ctx)
		return cli_exit_code(c);
	if ((rc = av_resource_rename(ctx, kind, argv[0], argv[1])))
		return cli_fail(c, rc);
	if (!cli_quiet(c))
		printf("%s '%s' renamed to '%s'\n", kind, argv[0], argv[1]);
	return 0;
}

int cli_print_json(cli *c, cJSON *doc)
{
	char *text = doc ? cJSON_Print(doc) : NULL;

	cJSON_Delete(doc);
	if (!text) {
		fprintf(stderr, "aptvault: error: out of memory\n");
		return c->exit_code = CLI_EXIT_FAIL;
	}
	fputs(text, stdout);
	fputc('\n', stdout);
	cJSON_free(text);
	return CLI_EXIT_OK;
}

static double lock_timeout(cli *c, const av_config *cfg, int *bad)
{
	const char *v = cli_value(c, "lock-timeout");
	char *end;
	double t;

	*bad = 0;
	if (cli_flag(c, "no-wait"))
		return 0;
	if (!v)
		return av_config_num(cfg, "lockTimeout");
	t = strtod(v, &end);
	if (end == v || *end || t < 0) {
		*bad = 1;
		return 0;
	}
	return t;
}

av_ctx *cli_ctx(cli *c)
{
	av_config_opts co = { cli_value(c, "config"), cli_value(c, "root") };
	int rc, bad;

	if (c->store)
		return &c->ctx;
	if (!co.root)
		co.root = getenv("APTVAULT_ROOT");
	if (!c->config && (rc = av_config_load(&c->config, &co))) {
		cli_fail(c, rc);
		return NULL;
	}
	c->ctx.lock_timeout = lock_timeout(c, c->config, &bad);
	if (bad) {
		cli_usage(c, "--lock-timeout takes a number of seconds, not '%s'",
			  cli_value(c, "lock-timeout"));
		return NULL;
	}
	if ((rc = av_store_open(&c->store, av_config_root(c->config), 1))) {
		cli_fail(c, rc);
		return NULL;
	}
	av_store_set_history_limit(c->store, (size_t)av_config_num(c->config, "historyLimit"));
	c->ctx.store = c->store;
	c->ctx.command = c->cmdline;
	return &c->ctx;
}

const av_config *cli_config(cli *c)
{
	av_config_opts co = { cli_value(c, "config"), cli_value(c, "root") };

	if (!co.root)
		co.root = getenv("APTVAULT_ROOT");
	if (!c->config) {
		int rc = av_config_load(&c->config, &co);
		if (rc) {
			cli_fail(c, rc);
			return NULL;
		}
	}
	return c->config;
}

static char *join_cmdline(const char *family, int argc, char **argv)
{
	av_buf b = AV_BUF_INIT;

	av_buf_printf(&b, "aptvault %s", family);
	for (int i = 0; i < argc; i++) {
		av_buf_putc(&b, ' ');
		if (b.len > 400) {
			av_buf_puts(&b, "...");
			break;
		}
		av_buf_puts(&b, argv[i]);
	}
	return av_buf_detach(&b);
}

static const cli_verb *find_verb(const cli_family *fam, const char *name)
{
	for (const cli_verb *v = fam->verbs; v->name; v++)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

int cli_main(const cli_family *fam, int argc, char **argv)
{
	cli c = { .family = fam };
	int rc, verb_at = -1;

	/* The verb is the first word that is neither an option nor the value
	 * of a global option taking one. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--completion-helper")) {
			/* The verb, if any, is the first other plain word. */
			for (int j = 1; j < argc; j++)
				if (argv[j][0] != '-')
					return completion(fam, argv[j]);
			return completion(fam, NULL);
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-') {
			const char *name = a + (a[1] == '-' ? 2 : 1);
			const cli_opt *o = find_opt(global_opts, name, strcspn(name, "="));
			if (o && o->kind != OPT_FLAG && !strchr(name, '='))
				i++;
			continue;
		}
		verb_at = i;
		break;
	}
	if (verb_at < 0) {
		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-help") ||
			    !strcmp(argv[i], "-h")) {
				family_help(stdout, fam);
				return finish_stdout();
			}
		family_help(stderr, fam);
		return CLI_EXIT_USAGE;
	}
	if (!(c.verb = find_verb(fam, argv[verb_at]))) {
		fprintf(stderr, "aptvault: error: '%s' is not a verb of 'aptvault %s'\n",
			argv[verb_at], fam->name);
		family_help(stderr, fam);
		return CLI_EXIT_USAGE;
	}
	if (!(c.pos = calloc((size_t)argc + 1, sizeof(*c.pos))))
		return CLI_EXIT_FAIL;
	{
		/* Parse everything but argv[0] and the verb. */
		char **rest = calloc((size_t)argc + 1, sizeof(*rest));
		int n = 0;
		if (!rest)
			return CLI_EXIT_FAIL;
		for (int i = 1; i < argc; i++)
			if (i != verb_at)
				rest[n++] = argv[i];
		rc = parse(&c, n, rest);
		c.cmdline = join_cmdline(fam->name, argc - verb_at, argv + verb_at);
		if (!rc && cli_flag(&c, "help")) {
			verb_help(stdout, fam, c.verb);
			rc = finish_stdout();
		} else if (!rc && c.npos < c.verb->min_args) {
			rc = cli_usage(&c, "'%s %s' needs %s", fam->name, c.verb->name,
				       c.verb->args ? c.verb->args : "arguments");
		} else if (!rc && c.verb->max_args >= 0 && c.npos > c.verb->max_args) {
			rc = cli_usage(&c, "too many arguments for '%s %s'", fam->name,
				       c.verb->name);
		} else if (!rc) {
			rc = c.verb->fn(&c, c.npos, c.pos);
			if (!rc)
				rc = finish_stdout();
		}
		free(rest);
	}
	av_store_free(c.store);
	av_config_free(c.config);
	free(c.vals);
	free(c.pos);
	free(c.cmdline);
	return rc;
}
