/*
 * plist.h - a package list: a git tree keyed by "name_version_arch".
 *
 * Two levels: 256 buckets "hh/" (hh = FNV-1a of the package *name*,
 * low byte, in hex) each holding entries name_version_arch -> package
 * blob.  Changing one entry rewrites one bucket tree and the root, so an
 * update costs O(n/256 + 256) bytes instead of O(n).  Buckets are read
 * lazily, each at most once per list.  A non-empty root also holds a blob
 * "n": the 256 bucket sizes, so counting a list reads one small blob, not
 * every bucket (lists written before it are counted by reading them).
 */
#ifndef AV_PLIST_H
#define AV_PLIST_H

#include <stdint.h>
#include <git2.h>
#include "store.h"

typedef struct av_plist av_plist;

#define AV_PLIST_NBUCKETS 256

/* tree NULL or zero: an empty list. */
int av_plist_open(av_plist **out, av_store *s, const git_oid *tree);
void av_plist_free(av_plist *l);

int av_plist_get(av_plist *l, const char *key, git_oid *out);
/* 0 added or replaced, 1 identical entry already there (nothing done),
 * AV_ECONFLICT the key holds another blob and replace is 0. */
int av_plist_put(av_plist *l, const char *key, const git_oid *blob, int replace);
/* 0 removed, AV_ENOTFOUND absent. */
int av_plist_remove(av_plist *l, const char *key);
/* Write the changed buckets and the root; *out is the list's tree. */
int av_plist_write(av_plist *l, git_oid *out);

typedef int (*av_plist_cb)(const char *key, const git_oid *blob, void *payload);
/* Every entry, in bucket order then key order; stops at a non-zero
 * return of cb and returns it. */
int av_plist_foreach(av_plist *l, av_plist_cb cb, void *payload);
/* Number of entries (reads every bucket). */
int av_plist_count(av_plist *l, size_t *out);

/*
 * Bucket by bucket, for operations that treat each bucket as a closed
 * world (a name lives in one bucket): diff and merge.
 */
/* The bucket subtrees of a list (zero: empty bucket), and with counts
 * set their sizes; list NULL or zero is the empty list. */
int av_plist_buckets(av_store *s, const git_oid *list, git_oid out[AV_PLIST_NBUCKETS],
		     size_t *counts);
typedef struct av_plist_ent {
	const char *key;
	const git_oid *oid;
} av_plist_ent;
/* A bucket subtree of n > 0 entries in strictly increasing key order. */
int av_plist_bucket_write(av_store *s, const av_plist_ent *v, size_t n, git_oid *out);
/* A list root of bucket subtrees (zero ones are left out) and their
 * sizes, which must agree (0 for a zero tree). */
int av_plist_root_write(av_store *s, const git_oid *buckets, const size_t *counts,
			git_oid *out);

/* FNV-1a of a package name: buckets use its low byte, publishing's
 * chunk boundaries its low bits. */
uint32_t av_plist_name_hash(const char *name, size_t len);
/* The bucket name ("hh") of a package name. */
void av_plist_bucket(char out[3], const char *name, size_t name_len);

#endif
