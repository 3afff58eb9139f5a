/*
 * cli.h - what every family binary shares: one table of verbs, each with
 * its options; parsing (--name=value, --name value, -name=value); --help;
 * the --completion-helper the shell completion asks; the global options;
 * error printing and exit codes (0 ok, 1 failure, 2 usage, 75 busy).
 */
#ifndef AV_CLI_H
#define AV_CLI_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "aptvault/repo.h"
#include "aptvault/config.h"
#include "aptvault/deps.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_BUSY 75

/*
 * A package set loaded whole (60,000 packages) is left for the exit to
 * reclaim rather than freed package by package (tens of milliseconds),
 * except in sanitizer builds, whose leak checker must see it freed.  Only
 * for sets a command holds until it exits.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CLI_FREE_AT_EXIT(fn, p) fn(p)
#else
#define CLI_FREE_AT_EXIT(fn, p) ((void)(p))
#endif

typedef enum cli_opt_kind {
	OPT_FLAG,	/* --x, --x=true|false */
	OPT_VALUE,	/* --x=V or --x V; the last one wins */
	OPT_LIST,	/* repeatable; also comma lists are the verb's business */
} cli_opt_kind;

typedef struct cli_opt {
	const char *name;
	cli_opt_kind kind;
	const char *arg;	/* placeholder in help: "TEXT" */
	const char *help;
} cli_opt;

typedef struct cli cli;
typedef int (*cli_fn)(cli *c, int argc, char **argv);

typedef struct cli_verb {
	const char *name;
	cli_fn fn;
	const char *args;	/* "NAME FILE|DIR..." */
	int min_args, max_args;	/* max -1: unlimited */
	const char *summary;
	const cli_opt *opts;	/* ends with { NULL } ; may be NULL */
} cli_verb;

typedef struct cli_family {
	const char *name;
	const char *summary;
	const cli_verb *verbs;	/* ends with { NULL } */
} cli_family;

int cli_main(const cli_family *f, int argc, char **argv);

const char *cli_value(cli *c, const char *name);
int cli_flag(cli *c, const char *name);
size_t cli_list(cli *c, const char *name, const char ***out);
int cli_json(cli *c);
int cli_quiet(cli *c);
/* Should long operations draw progress (a terminal, not quiet, not CI)? */
int cli_progress_wanted(cli *c);
void cli_progress(void *c, size_t done, size_t total);

/* Open the configuration and the store (once); NULL after printing an
 * error (cli_exit_code then says which). */
av_ctx *cli_ctx(cli *c);
const av_config *cli_config(cli *c);

/* Print "aptvault: error: <av_error_last()>" and return the exit code
 * for rc. */
int cli_fail(cli *c, int rc);
/* Print a usage error for the current verb and return 2. */
int cli_usage(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse queries given as arguments (each may be @FILE or @-), OR'ed
 * together; on failure prints the error and returns its exit code. */
int cli_queries(cli *c, int argc, char **argv, av_query **out);
/*
 * Printing packages: one key per line (or --format's template, or, with
 * --json, an array of package objects), each line after an optional
 * prefix.  cli_print_pkg is an av_pkg_cb; cli_printer_finish ends a
 * listing: it prints the JSON array, and an empty result says "no
 * packages found" and gives exit 1, as aptly does.
 */
typedef struct cli_printer {
	cli *c;
	const char *format;
	const char *prefix;
	cJSON *array;		/* owned until finished; NULL without --json */
	size_t count;
} cli_printer;

void cli_printer_init(cli_printer *p, cli *c, const char *prefix);
int cli_print_pkg(const char *key, const av_pkg *pkg, void *payload);
int cli_printer_finish(cli_printer *p);
void cli_printer_dispose(cli_printer *p);

/* The dependency options of the verbs that resolve dependencies, with
 * their defaults from the configuration (dependencyFollow*,
 * architectures). */
#define CLI_DEP_OPTS \
	{ "dep-follow-recommends", OPT_FLAG, NULL, "follow Recommends too" }, \
	{ "dep-follow-suggests", OPT_FLAG, NULL, "follow Suggests too" }, \
	{ "dep-follow-source", OPT_FLAG, NULL, "add the source package of each binary" }, \
	{ "dep-follow-all-variants", OPT_FLAG, NULL, "follow every alternative of " \
	  "'a | b', not the first satisfiable one" }, \
	{ "architectures", OPT_VALUE, "LIST", "comma-separated architectures to " \
	  "resolve for (default: those present)" }, \
	{ "dep-policy", OPT_VALUE, "aptly|debian", "match dependencies as aptly 1.5 " \
	  "does (default) or as dpkg does: versioned Provides, Multi-Arch, :native" }

typedef struct cli_dep_opts {
	av_dep_opts o;
	char *archbuf;
	const char *archs[64];
} cli_dep_opts;

/* 0, or a usage error's exit code (bad --dep-policy). */
int cli_dep_opts_init(cli *c, cli_dep_opts *d);
void cli_dep_opts_dispose(cli_dep_opts *d);

/* The rename verb of any family: kind is "repo", "snapshot", ... */
int cli_rename(cli *c, const char *kind, char **argv);

/* Print (pretty) and free a JSON document; returns an exit code. */
int cli_print_json(cli *c, cJSON *doc);
/* The exit code of the last failure. */
int cli_exit_code(cli *c);

#endif
