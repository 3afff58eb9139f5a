/*
 * pool.h - package files, content-addressed by SHA-256.
 *
 * $ROOT/pool/ab/<sha256>: one level of 256 directories, not DESIGN.md's
 * two (pool/ab/cd/): a fresh 10,000-file import made ~9,000 directories
 * there, and ext4 inode allocation was a quarter of the import's CPU
 * (measured: 4.5 s -> 3.7 s wall).  256 directories hold a million files
 * at ~4,000 entries each, which htree directories handle well.
 *
 * Files are written as temp file (in $ROOT/tmp) + fsync
 * + rename, never modified, shared by every resource.  Importing a file
 * that is already there costs a hash, not a copy.
 */
#ifndef AV_POOL_H
#define AV_POOL_H

#include "buf.h"
#include "digest.h"

/* Append the pool path of a file with this SHA-256 to out. */
int av_pool_path(av_buf *out, const char *root, const char *sha256);
/* 1 if present, 0 if not. */
int av_pool_has(const char *root, const char *sha256);

typedef enum av_pool_mode {
	AV_POOL_COPY = 0,	/* a copy (never a hard link to the source) */
	AV_POOL_MOVE,		/* rename when possible (--remove-files) */
	/* OR'ed in: skip the per-file fsyncs; the caller makes the batch
	 * durable with one av_pool_sync() before anything references it
	 * (10,000 fsyncs cost seconds, one syncfs milliseconds). */
	AV_POOL_NOSYNC = 0x100,
} av_pool_mode;

/*
 * Put src into the pool under d->sha256 (already computed by the caller,
 * who read the file).  The copy is verified against d->size and
 * d->sha256 before it is renamed into place; a mismatch is AV_ECONFLICT
 * (the source changed under us) and leaves nothing behind.
 */
int av_pool_import(const char *root, const char *src, const av_digests *d,
		   av_pool_mode mode);

/* Make every pool file written with AV_POOL_NOSYNC durable (syncfs). */
int av_pool_sync(const char *root);

#endif
