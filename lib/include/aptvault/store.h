/*
 * store.h - the metadata store: a bare git repository in $ROOT/db.
 *
 * Objects are content-addressed, so writing one that exists costs a hash.
 * Every object a command writes is buffered in memory (a mempack backend)
 * and made durable by av_store_flush() in one go: a single packfile when
 * there are many, fsynced loose objects when there are few.  Refs move
 * only through av_store_ref_update()/av_store_refs_update(), always as a
 * compare-and-swap against the value the caller read (DESIGN.md I1, I4);
 * they are called by txn.c, which holds the covering locks.
 *
 * Resource names are encoded into ref and lock-file names reversibly:
 * [A-Za-z0-9_+-] stand for themselves, every other byte is %XX.
 *
 * Counters of objects and refs read and written let tests prove I10.
 * One av_store per thread (libgit2 repositories are not shared).
 */
#ifndef AV_STORE_H
#define AV_STORE_H

#include <git2.h>
#include "buf.h"

typedef struct av_store av_store;

typedef struct av_store_stats {
	unsigned long objects_read;
	unsigned long objects_written;	/* new objects made durable */
	unsigned long blobs_written;
	unsigned long trees_written;
	unsigned long commits_written;
	unsigned long refs_read;
	unsigned long refs_written;
	unsigned long packs_written;
} av_store_stats;

/* Open $ROOT (creating the layout and db/ when create is set; safe when
 * several processes create the same root at once). */
int av_store_open(av_store **out, const char *root, int create);
void av_store_free(av_store *s);

const char *av_store_root(const av_store *s);
git_repository *av_store_git(av_store *s);
const av_store_stats *av_store_stats_get(const av_store *s);
void av_store_stats_reset(av_store *s);

/* Objects.  Writes are buffered until av_store_flush(). */
int av_store_blob_write(av_store *s, git_oid *out, const void *data, size_t len);
int av_store_blob_read(av_store *s, git_blob **out, const git_oid *oid);

/*
 * A reader: its own repository handle, for one other thread (libgit2
 * handles must not be shared between threads).  It sees what is on disk:
 * objects written before the last av_store_flush, not buffered ones.
 */
typedef struct av_store_reader av_store_reader;
int av_store_reader_open(av_store *s, av_store_reader **out);
/* A blob appended to out (no object cache). */
int av_store_reader_blob(av_store_reader *r, av_buf *out, const git_oid *oid);
unsigned long av_store_reader_reads(const av_store_reader *r);
void av_store_reader_free(av_store_reader *r);
int av_store_tree_read(av_store *s, git_tree **out, const git_oid *oid);
/* A tree's entries straight from its bytes, for walks over hundreds of
 * trees (no object cache, no allocation per entry): names and ids point
 * into data.  Reuse one for many reads; dispose once. */
typedef struct av_rawent {
	const char *name;
	const git_oid *oid;
	int is_tree;
} av_rawent;
typedef struct av_rawtree {
	av_buf data;
	av_rawent *e;
	size_t n, alloc;
} av_rawtree;
int av_store_tree_raw(av_store *s, const git_oid *oid, av_rawtree *out);
void av_rawtree_dispose(av_rawtree *t);
int av_store_tree_write(av_store *s, git_oid *out, git_treebuilder *tb);
/* A tree already in git's format: entries sorted as git sorts them, each
 * "MODE NAME\0" and the 20-byte id.  The caller vouches for the format. */
int av_store_tree_write_raw(av_store *s, git_oid *out, const void *data, size_t len);
int av_store_commit_write(av_store *s, git_oid *out, const git_oid *tree,
			  const char *message);
int av_store_commit_read(av_store *s, git_commit **out, const git_oid *oid);
/* Bytes of blobs buffered since the last flush. */
size_t av_store_buffered(const av_store *s);
/* Write every buffered object durably (I6).  Cheap when none. */
int av_store_flush(av_store *s);
/*
 * Deferred durability, for a command that syncs a whole filesystem anyway
 * (publish syncs its new generation before the switch): while on, flushes
 * write objects without an fsync each.  av_store_settle(s, synced), called
 * after a syncfs of synced's filesystem and before any ref names the
 * objects, makes them durable: nothing more when that filesystem holds
 * db/, else a syncfs of db/'s (synced NULL: always that).  Until then
 * ref updates are refused (I6); turning deferral off settles what is owed.
 */
int av_store_defer_sync(av_store *s, int on);
int av_store_settle(av_store *s, const char *synced);
/* Drop buffered objects (a failed command). */
void av_store_discard(av_store *s);

/* Refs.  A zero oid means "absent". */
int av_store_ref_read(av_store *s, const char *refname, git_oid *out);

typedef struct av_ref_update {
	const char *refname;
	git_oid expected;	/* zero: must not exist */
	git_oid target;		/* zero: delete */
	/* The caller holds the resource's exclusive flock, so a libgit2
	 * NAME.lock found is debris from a crash and may be removed.
	 * Without it a held ref lock is AV_EBUSY: removing another live
	 * writer's lock file would let two creates both win. */
	int locked;
} av_ref_update;

/* Compare-and-swap one ref.  A mismatch is AV_ECONFLICT, except on
 * create, where it is AV_EEXISTS. */
int av_store_ref_update(av_store *s, const av_ref_update *u, const char *message);
/* Several refs in one git transaction (not atomic across refs: see
 * DESIGN.md; callers keep an intent record when that matters). */
int av_store_refs_update(av_store *s, const av_ref_update *u, size_t n,
			 const char *message);

/* Decoded names of the refs under prefix ("refs/repos/"), sorted. */
int av_store_ref_names(av_store *s, const char *prefix, char ***out, size_t *n);
void av_store_names_free(char **names, size_t n);

/* History of a ref, newest first (its reflog). */
typedef struct av_history_entry {
	git_oid old_oid;
	git_oid new_oid;
	long long when;		/* seconds since the epoch */
	const char *message;	/* borrowed for the callback's duration */
} av_history_entry;
typedef int (*av_history_cb)(const av_history_entry *e, void *payload);
int av_store_history(av_store *s, const char *refname, av_history_cb cb, void *payload);
/* Keep at most keep entries of a ref's history (0 = unlimited). */
void av_store_set_history_limit(av_store *s, size_t keep);

/* Name encoding for refs and lock files. */
int av_name_encode(av_buf *out, const char *name);
int av_name_decode(av_buf *out, const char *encoded);
/* A resource name users may choose: non-empty, at most 200 bytes, no
 * control characters, not "." or "..", no '/'. */
int av_name_check(const char *kind, const char *name);

#endif
