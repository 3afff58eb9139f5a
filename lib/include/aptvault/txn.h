/*
 * txn.h - the mutation protocol of DESIGN.md §3, the only way to move a ref.
 *
 *   av_txn_begin     takes the shared maintenance fence
 *   av_txn_declare   every resource the command touches (I3)
 *   av_txn_lock      locks them all, in sorted order
 *   av_txn_read      reads a ref fresh, under its lock (I2)
 *   av_txn_stage     records the new value of a ref read before
 *   av_txn_commit    flushes objects, then CAS-updates the refs (I6, I1)
 *   av_txn_free      discards uncommitted objects and unlocks
 *
 * Kinds map to ref namespaces: "repo" refs/repos/, "mirror" refs/mirrors/,
 * "snapshot" refs/snapshots/, "published" refs/published/.
 */
#ifndef AV_TXN_H
#define AV_TXN_H

#include <git2.h>
#include "store.h"
#include "lock.h"

typedef struct av_txn av_txn;

typedef struct av_txn_opts {
	double lock_timeout;	/* <0 wait forever, 0 fail at once */
	const char *command;	/* recorded in the history message */
} av_txn_opts;

int av_txn_begin(av_txn **out, av_store *s, const av_txn_opts *opts);
int av_txn_declare(av_txn *t, const char *kind, const char *name, av_lock_mode mode);
int av_txn_lock(av_txn *t);
/* 0 with *out set, or AV_ENOTFOUND with *out zeroed. */
int av_txn_read(av_txn *t, const char *kind, const char *name, git_oid *out);
/* new_oid NULL deletes the ref. */
int av_txn_stage(av_txn *t, const char *kind, const char *name, const git_oid *new_oid);
int av_txn_commit(av_txn *t, const char *message);
void av_txn_free(av_txn *t);

/* "refs/repos/" for "repo", ... ; NULL for an unknown kind. */
const char *av_txn_ref_prefix(const char *kind);
/* Full ref name for kind/name into out. */
int av_txn_refname(av_buf *out, const char *kind, const char *name);

#endif
