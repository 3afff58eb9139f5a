/*
 * listops.h - operations on package lists that need only the keys:
 * diff and merge.  Neither reads a package blob: name, version and
 * architecture are in the key, and content identity is the blob oid.
 *
 * Both follow aptly's algorithms on aptly's ordering (architecture, name,
 * version string, content), so their results equal aptly's.
 */
#ifndef AV_LISTOPS_H
#define AV_LISTOPS_H

#include <git2.h>
#include "store.h"

typedef struct av_diff_entry {
	const char *name;
	const char *arch;
	const char *left;	/* version in A, NULL: only in B */
	const char *right;	/* version in B, NULL: only in A */
	int same_version;	/* both present with one version, different content */
} av_diff_entry;

typedef int (*av_diff_cb)(const av_diff_entry *e, void *payload);

/*
 * Differences between lists a and b, sorted by name then architecture.
 * Buckets whose trees are equal are skipped without being read, so the
 * cost follows the size of the change, not of the lists.
 */
int av_list_diff(av_store *s, const git_oid *a, const git_oid *b, av_diff_cb cb,
		 void *payload);

typedef enum av_merge_mode {
	AV_MERGE_REPLACE = 0,	/* the rightmost source with a name+arch wins */
	AV_MERGE_NO_REMOVE,	/* keep every version from every source */
	AV_MERGE_LATEST,	/* keep the highest version of each name+arch */
} av_merge_mode;

/* Merge the lists (left to right) into a new list tree *out. */
int av_list_merge(av_store *s, const git_oid *lists, size_t n, av_merge_mode mode,
		  git_oid *out);

#endif
