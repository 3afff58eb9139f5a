/*
 * deps.h - package sets and the dependency resolver.
 *
 * An av_pkgset is a package list loaded into memory once per command and
 * indexed once, by name and by what each package Provides, so resolving
 * never rescans the candidates per dependency (issue: "index the candidate
 * set once per command").  Everything here follows aptly's semantics
 * (deb/list.go, deb/package.go, cmd/snapshot_pull.go), because users
 * switching from aptly must get the same package sets.
 */
#ifndef AV_DEPS_H
#define AV_DEPS_H

#include <git2.h>
#include "store.h"
#include "package.h"
#include "query.h"
#include "version.h"

/* ---- parsed dependencies ------------------------------------------------ */

typedef struct av_dep {
	char *name;
	char *arch;		/* qualifier after ':' ("any", "native", an
				 * arch) or NULL */
	av_relop op;		/* AV_REL_NONE: no version constraint */
	char *version;		/* NULL when op is AV_REL_NONE */
} av_dep;

typedef struct av_dep_alt {	/* a | b | c */
	av_dep *alts;
	size_t n;
} av_dep_alt;

typedef struct av_deplist {	/* a, b | c, d */
	av_dep_alt *v;
	size_t n;
} av_deplist;

/* Parse a Depends-style field for architecture arch: "[...]" architecture
 * restrictions that exclude arch drop that alternative, "<...>" build
 * profiles are ignored (the alternative is kept).  AV_EINVALID with the
 * offending text on malformed input. */
int av_deps_parse(av_deplist *out, const char *value, const char *arch);
void av_deplist_dispose(av_deplist *l);
/* "name (op version) [arch]" as aptly prints a dependency in verify
 * output; " (op version)" only when versioned, " [arch]" only when arch
 * is set (verify always sets it: the qualifier, or the architecture
 * being checked). */
int av_dep_format(av_buf *out, const av_dep *d);

/* ---- package sets -------------------------------------------------------- */

typedef struct av_pkgset av_pkgset;

int av_pkgset_new(av_pkgset **out);
/* Every package of a package-list tree, each blob read once.  A big list
 * is read by a few threads, each with its own av_store on s's root, so
 * those reads do not count in s's stats. */
int av_pkgset_load(av_pkgset **out, av_store *s, const git_oid *list);
void av_pkgset_free(av_pkgset *set);

/* Add a package (the set takes ownership of pkg, also on failure) with
 * its blob.  A key already present is replaced. */
int av_pkgset_add(av_pkgset *set, av_pkg *pkg, const git_oid *blob);
int av_pkgset_remove(av_pkgset *set, const char *key);
size_t av_pkgset_count(const av_pkgset *set);
/* The i-th package in key order (0 <= i < count); borrowed. */
const av_pkg *av_pkgset_at(const av_pkgset *set, size_t i, const git_oid **blob);
const av_pkg *av_pkgset_get(const av_pkgset *set, const char *key, const git_oid **blob);

/* Architectures present in the set, sorted, excluding "all" and "source"
 * (aptly's default for --architectures).  *out is the caller's, released
 * with free(); the strings in it are borrowed from the set. */
int av_pkgset_architectures(const av_pkgset *set, const char ***out, size_t *n);

/* ---- resolving ----------------------------------------------------------- */

typedef struct av_dep_opts {
	int follow_recommends;
	int follow_suggests;
	int follow_source;		/* add the source package of each binary */
	int follow_all_variants;	/* every alternative, not the first
					 * satisfiable one */
	const char *const *architectures;	/* NULL-terminated; NULL: those
						 * of the set being resolved */
	int debian_policy;	/* resolve as dpkg does (versioned Provides,
				 * Multi-Arch, ":native") instead of exactly
				 * as aptly 1.5, which ignores all three */
} av_dep_opts;

/* Packages of set satisfying d for architecture arch (NULL: any), in
 * aptly's order: packages named d->name (newest first), then providers.
 * The rules are aptly 1.5's unless o->debian_policy (o may be NULL): see
 * deps.c.  cb is called per candidate; a non-zero return stops and is
 * returned.  A set indexes itself on first search, so even a const set
 * must not be used by two threads at once. */
typedef int (*av_pkgset_cb)(const av_pkg *pkg, const git_oid *blob, void *payload);
int av_pkgset_search(const av_pkgset *set, const av_dep *d, const char *arch,
		     const av_dep_opts *o, av_pkgset_cb cb, void *payload);

/* Unsatisfied dependencies of every package in set, looking for
 * providers in set and in the extra sets (aptly's snapshot verify).
 * Architectures default to those of set, "source" included.  cb gets the
 * missing dependencies formatted as aptly prints them, sorted, exactly as
 * aptly 1.5 reports them: once per architecture checked (so one with an
 * explicit architecture, "x (= 1) [source]" from an "all" package, can
 * come twice), and not at all after being found missing in a group that
 * another alternative satisfied (see deps.c).  AV_EINVALID if there is no
 * architecture to check. */
typedef int (*av_missing_cb)(const char *dep, void *payload);
int av_deps_verify(const av_pkgset *set, const av_pkgset *const *extra, size_t nextra,
		   const av_dep_opts *o, av_missing_cb cb, void *payload);

/* aptly's Filter: the packages of src matching q (NULL: all), plus, with
 * with_deps, their dependencies resolved transitively within src
 * (dependencies already satisfied by `have`, when given, are not
 * pulled).  Adds to out. */
int av_deps_filter(const av_pkgset *src, const av_query *q, int with_deps,
		   const av_pkgset *have, const av_dep_opts *o, av_pkgset *out);

/* aptly's snapshot pull: into a copy of dst, the packages of src matching
 * the queries and the architectures (default: dst's), newest version of
 * each name/arch unless all_matches, with their dependencies from src
 * unless no_deps; each pulled package replaces the same name+arch in dst
 * unless no_remove.  out (empty) receives the result; added/removed
 * (either may be NULL) receive what changed. */
typedef struct av_pull_opts {
	int no_deps;
	int no_remove;
	int all_matches;
	av_dep_opts deps;
} av_pull_opts;
int av_deps_pull(const av_pkgset *dst, const av_pkgset *src, const av_query *const *queries,
		 size_t nqueries, const av_pull_opts *o, av_pkgset *out,
		 av_pkgset *added, av_pkgset *removed);

#endif
