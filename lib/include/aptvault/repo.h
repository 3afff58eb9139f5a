/*
 * repo.h - local repositories: named, mutable package lists.
 *
 * Every mutating function follows the protocol of txn.h: it declares its
 * resources, locks them, reads them fresh, decides, and commits with
 * compare-and-swap.  Functions that only read take no lock: reading a ref
 * pins an immutable state.
 */
#ifndef AV_REPO_H
#define AV_REPO_H

#include "store.h"
#include "state.h"
#include "import.h"
#include "query.h"

/* What every command passes down. */
typedef struct av_ctx {
	av_store *store;
	double lock_timeout;	/* <0 wait forever, 0 fail at once */
	const char *command;	/* the command line, for history */
} av_ctx;

typedef struct av_repo_settings {
	const char *comment;		/* NULL: unchanged (create: "") */
	const char *distribution;
	const char *component;		/* create default: "main" */
} av_repo_settings;

typedef struct av_change {
	size_t added, replaced, unchanged, removed;
	git_oid before, after;		/* commits; zero when absent */
} av_change;

/* Called for each package a command selects or changes. */
typedef int (*av_pkg_cb)(const char *key, const av_pkg *pkg, void *payload);

int av_repo_create(av_ctx *c, const char *name, const av_repo_settings *set,
		   int exist_ok, int *created);
/* A new repo holding exactly the packages of snapshot snap (O(1): the
 * list tree is shared). */
int av_repo_create_from_snapshot(av_ctx *c, const char *name, const av_repo_settings *set,
				 const char *snap);
/* A resource's current state by kind ("repo", "mirror", "snapshot"), no
 * lock; AV_ENOTFOUND names it the way users do. */
int av_resource_open(av_ctx *c, const char *kind, const char *name, av_state **out);
/* Rename a resource of any kind: both names locked, the new one must be
 * free; the new ref is created before the old one goes (a crash between
 * leaves both names, never neither). */
int av_resource_rename(av_ctx *c, const char *kind, const char *from, const char *to);
/* The repo's current state (no lock). AV_ENOTFOUND names the repo. */
int av_repo_open(av_ctx *c, const char *name, av_state **out);
int av_repo_names(av_ctx *c, char ***names, size_t *n);
int av_repo_edit(av_ctx *c, const char *name, const av_repo_settings *set);
int av_repo_rename(av_ctx *c, const char *from, const char *to);
int av_repo_drop(av_ctx *c, const char *name, int force);

int av_repo_add(av_ctx *c, const char *name, const av_import *imp, int force_replace,
		av_change *out);
int av_repo_remove(av_ctx *c, const char *name, const av_query *q, int dry_run,
		   av_pkg_cb cb, void *payload, av_change *out);
/* Copy (or move) the packages of src matching q into dst; with deps
 * (NULL: none), also their dependencies from src that dst does not
 * satisfy yet (aptly's --with-deps). */
struct av_dep_opts;
int av_repo_copy(av_ctx *c, const char *src, const char *dst, const av_query *q,
		 int move, int dry_run, const struct av_dep_opts *deps, av_pkg_cb cb,
		 void *payload, av_change *out);

/* Packages of a package-list tree matching q (NULL: all), in key order
 * within buckets.  Each blob is read once. */
int av_list_select(av_store *s, const git_oid *list, const av_query *q,
		   av_pkg_cb cb, void *payload);

#endif
