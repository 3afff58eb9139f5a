/*
 * packwrite.h - write a git packfile and its version-2 index directly.
 *
 * libgit2's indexer re-inflates and re-hashes every object we just
 * deflated and hashed; for a bulk import that was a third of the commit
 * step.  We know each object's oid, offset and CRC as we write it, so the
 * .idx is built here.  Objects must be added in ascending oid order, each
 * once, with no deltas.  The pack is fsynced, then renamed into place,
 * .pack before .idx (libgit2 sees a pack once its .idx exists), then the
 * directory is fsynced (I6).
 */
#ifndef AV_PACKWRITE_H
#define AV_PACKWRITE_H

#include <stddef.h>
#include <git2.h>

typedef struct av_packw av_packw;

/* A pack of exactly count objects in pack_dir (db/objects/pack). */
int av_packw_new(av_packw **out, const char *pack_dir, size_t count);
int av_packw_add(av_packw *w, const git_oid *oid, git_object_t type,
		 const void *data, size_t len);
/* Whether an object is stored, not deflated (level 0): trees, small
 * blobs and blobs of compressed data (see av_packw_add). */
int av_packw_stored(git_object_t type, const void *data, size_t len);
/* Leave syncing to the caller (a syncfs before any ref names the pack). */
void av_packw_nosync(av_packw *w);
/* Write the trailer and the index, sync, rename into place. */
int av_packw_finish(av_packw *w);
/* Removes the temporary files of an unfinished pack. */
void av_packw_free(av_packw *w);

#endif
