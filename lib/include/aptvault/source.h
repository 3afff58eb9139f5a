/*
 * source.h - Debian source packages (.dsc) and uploads (.changes).
 *
 * Reading a .dsc verifies every file it lists (size and every checksum it
 * gives) in the .dsc's directory, and turns it into the stanza a Sources
 * index carries (Source renamed to Package, Files/Checksums-* including
 * the .dsc itself, canonical order, no Directory).
 */
#ifndef AV_SOURCE_H
#define AV_SOURCE_H

#include "deb822.h"
#include "digest.h"

typedef struct av_source_file {
	char *name;		/* base name, as listed */
	char *path;		/* where it was found */
	av_digests digests;	/* computed from the file */
} av_source_file;

typedef struct av_dsc_info {
	av_stanza *stanza;	/* Sources stanza, owned */
	av_source_file *files;	/* the .dsc first, then the listed files */
	size_t nfiles;
	int was_signed;
} av_dsc_info;

/* keyring: NULL skips signature verification; else the .dsc must carry a
 * good signature by a key in that keyring (AV_ESIGNATURE). */
int av_dsc_read(av_dsc_info **out, const char *path, const char *keyring);
void av_dsc_info_free(av_dsc_info *info);

typedef struct av_changes_info {
	av_stanza *stanza;	/* the .changes fields, owned */
	av_source_file *files;	/* listed files, verified */
	size_t nfiles;
	int was_signed;
} av_changes_info;

typedef struct av_changes_opts {
	const char *keyring;	/* verify against this keyring */
	int accept_unsigned;	/* an unsigned .changes is fine */
	int ignore_signatures;	/* do not verify at all */
} av_changes_opts;

int av_changes_read(av_changes_info **out, const char *path,
		    const av_changes_opts *opts);
void av_changes_info_free(av_changes_info *info);

#endif
