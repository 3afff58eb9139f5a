/*
 * package.h - a package as aptvault stores it.
 *
 * A package is one canonical stanza (DESIGN.md §2): the control fields in
 * canonical order plus Size/MD5sum/SHA1/SHA256/SHA512 for binaries, or the
 * Sources fields (Package, Version, Files, Checksums-*) for source
 * packages.  Fields named "Aptvault-*" are ours, never published:
 *   Aptvault-Type: deb | udeb | source
 *   Aptvault-Contents: <oid of the blob listing the .deb's files>
 * Filename and Directory are never stored: publishing computes them.
 *
 * Identity is (name, version, arch); arch is "source" for source
 * packages.  The key "name_version_arch" names the package in lists.
 */
#ifndef AV_PACKAGE_H
#define AV_PACKAGE_H

#include "deb822.h"
#include "buf.h"

typedef enum av_pkg_type {
	AV_PKG_DEB = 0,
	AV_PKG_UDEB,
	AV_PKG_SOURCE,
} av_pkg_type;

typedef struct av_pkg {
	av_stanza *stanza;	/* owned */
	const char *name;	/* borrowed from stanza */
	const char *version;
	const char *arch;	/* "source" for source packages */
	av_pkg_type type;
} av_pkg;

/* Take ownership of s (also on failure); AV_EINVALID if Package, Version
 * or Architecture is missing or the version is malformed. */
int av_pkg_new(av_pkg **out, av_stanza *s, av_pkg_type type);
/* Parse a stored blob (canonical stanza with Aptvault-Type). */
int av_pkg_parse(av_pkg **out, const char *data, size_t len);
/* Canonical text of the package, the exact bytes stored as its blob. */
int av_pkg_serialize(av_buf *out, const av_pkg *p);
void av_pkg_free(av_pkg *p);

/* "name_version_arch" into out (appended). */
int av_pkg_key(av_buf *out, const av_pkg *p);
/* Split a key; each part is written NUL-terminated into parts (which
 * must hold strlen(key)+1 bytes); returns AV_EINVALID if malformed. */
int av_pkg_key_split(const char *key, char *buf, const char **name,
		     const char **version, const char **arch);

/* The source package name and version a binary was built from
 * (Source: "name (version)" or the package's own), appended to name and
 * version. */
int av_pkg_source(const av_pkg *p, av_buf *name, av_buf *version);

const char *av_pkg_type_str(av_pkg_type t);

#endif
