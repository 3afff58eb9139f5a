/*
 * packread.h - read whole objects straight from the store's packs.
 *
 * Loading a package list reads tens of thousands of small blobs.  Through
 * git_odb_read each one costs a zlib stream set up and torn down, a trip
 * through libgit2's pack cache and an allocation; here the .idx and .pack
 * files are mapped once and each object is inflated by libdeflate into
 * the caller's buffer (its size is in the object header).  Only what
 * packwrite writes is handled: whole objects.  Anything else (a delta, an
 * object in no mapped pack, a loose object) is AV_ENOTFOUND, and the
 * caller asks libgit2, which knows every case.
 *
 * A reader belongs to one thread.
 */
#ifndef AV_PACKREAD_H
#define AV_PACKREAD_H

#include <git2.h>
#include "aptvault/buf.h"

typedef struct av_packr av_packr;

/* Map the packs in pack_dir (db/objects/pack) present now. */
int av_packr_open(av_packr **out, const char *pack_dir);
/* The object appended to out and its type: 0, AV_ENOTFOUND (ask
 * libgit2), or AV_EINVALID when the stored object is damaged. */
int av_packr_read(av_packr *p, const git_oid *oid, av_buf *out, git_object_t *type);
void av_packr_free(av_packr *p);

#endif
