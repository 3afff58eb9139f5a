/*
 * deb.h - read .deb and .udeb files with libarchive.
 *
 * A .deb is an ar archive: debian-binary ("2.0\n"), control.tar[.gz|.xz|
 * .zst] and data.tar[.gz|.xz|.zst|.bz2].  Reading one gives the stanza
 * apt would see in a Packages index (control fields + Size + the four
 * digests, canonical order, no Filename) and the list of files it
 * installs, for Contents indexes.  Both are computed once, at import, in
 * one read of the file.
 */
#ifndef AV_DEB_H
#define AV_DEB_H

#include "deb822.h"
#include "digest.h"

typedef struct av_deb_info {
	av_stanza *stanza;	/* owned */
	/* Paths of regular files and symlinks in data.tar, without "./",
	 * sorted bytewise, one per line, each ending in '\n'. */
	char *contents;
	size_t contents_len;
	av_digests digests;
} av_deb_info;

/* AV_EINVALID with a message saying what is wrong (truncated, not an ar
 * archive, no control file, bad member) for anything dpkg would reject. */
int av_deb_read(av_deb_info **out, const char *path);
int av_deb_read_mem(av_deb_info **out, const void *data, size_t len);
void av_deb_info_free(av_deb_info *info);

#endif
