/*
 * search.h - packages across every resource (`aptvault package ...`).
 *
 * Each distinct package (blob) is read and matched once, however many
 * resources hold it.  No lock is taken: each resource's list is read at
 * one committed state.
 */
#ifndef AV_SEARCH_H
#define AV_SEARCH_H

#include "repo.h"

typedef int (*av_found_cb)(const char *key, const av_pkg *pkg, const git_oid *blob,
			   void *payload);
int av_search_all(av_ctx *c, const av_query *q, av_found_cb cb, void *payload);

/* Resources whose current list holds exactly this package. */
typedef int (*av_ref_cb)(const char *kind, const char *name, void *payload);
int av_search_references(av_ctx *c, const char *key, const git_oid *blob,
			 av_ref_cb cb, void *payload);

/* The kinds of resource that hold package lists, in listing order. */
extern const char *const av_list_kinds[];

#endif
