/*
 * snapshot.h - immutable, named package lists.
 *
 * A snapshot is a state (state.h) under refs/snapshots/NAME whose
 * meta.json holds its description, creation time, how it was made
 * ("origin": repo, mirror, snapshot, empty, merge, pull, filter) and its
 * sources: kind, name and the exact state (commit) each was read at.
 * Taking a snapshot of a repo or mirror reuses its package-list tree, so
 * it costs the same whatever the size.  Snapshots never change; rename
 * and drop are the only updates.
 */
#ifndef AV_SNAPSHOT_H
#define AV_SNAPSHOT_H

#include "repo.h"

typedef struct av_snapshot_source {
	const char *kind;	/* "repo", "mirror", "snapshot" */
	const char *name;
	git_oid state;		/* the source's commit that was read */
} av_snapshot_source;

/* NAME from repo/mirror/snapshot SOURCE: O(1), the list tree is reused. */
int av_snapshot_create_from(av_ctx *c, const char *name, const char *kind,
			    const char *source, const char *description);
int av_snapshot_create_empty(av_ctx *c, const char *name, const char *description);

/*
 * Derive a new snapshot NAME from source snapshots: they are locked
 * shared (so none is dropped or renamed meanwhile), read fresh, and fn
 * computes the new list tree from their states.  NAME is created
 * atomically (I4).  origin is recorded in meta.json.
 */
typedef int (*av_derive_fn)(av_ctx *c, av_state *const *sources, size_t n,
			    git_oid *out_list, void *payload);
int av_snapshot_derive(av_ctx *c, const char *name, const char *const *sources,
		       size_t n, const char *origin, const char *description,
		       av_derive_fn fn, void *payload);

int av_snapshot_open(av_ctx *c, const char *name, av_state **out);
int av_snapshot_names(av_ctx *c, char ***names, size_t *n);
int av_snapshot_rename(av_ctx *c, const char *from, const char *to);
/* Refuses while other snapshots were made from it unless force. */
int av_snapshot_drop(av_ctx *c, const char *name, int force);

/* Write a package set as a list tree (deps.h's sets hold the blobs). */
struct av_pkgset;
int av_pkgset_write(av_store *s, const struct av_pkgset *set, git_oid *out);


#endif
