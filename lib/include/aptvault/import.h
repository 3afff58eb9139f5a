/*
 * import.h - turn package files into stored packages, all or nothing.
 *
 * av_import_files() finds .deb/.udeb/.dsc files (directories searched
 * recursively), reads and verifies every one on several threads, puts
 * their files in the pool and their stanzas in the store's write buffer.
 * If any file is bad, it fails with AV_EINVALID naming every bad file and
 * why, and the caller commits nothing (I7); pool files already placed are
 * reused by the next attempt.  Nothing here takes a lock or reads a ref:
 * package files and blobs are content-addressed, so they decide nothing.
 */
#ifndef AV_IMPORT_H
#define AV_IMPORT_H

#include <git2.h>
#include "store.h"
#include "package.h"

typedef void (*av_progress_cb)(void *payload, size_t done, size_t total);

typedef struct av_import_opts {
	unsigned threads;		/* 0: one per core */
	double lock_timeout;		/* for the fence; <0 waits (the default
					 * when opts is NULL) */
	av_progress_cb progress;	/* may be NULL */
	void *progress_payload;
} av_import_opts;

typedef struct av_import_item {
	char *key;		/* name_version_arch */
	git_oid blob;		/* the package's stanza blob */
	av_pkg_type type;
	char **sources;		/* the files it came from (for --remove-files) */
	size_t nsources;
} av_import_item;

typedef struct av_import {
	av_import_item *items;	/* sorted by key, one per key */
	size_t n;
	/* The maintenance fence, held shared from before the first pool
	 * file is written until av_import_free(): db cleanup, which takes it
	 * exclusively, cannot sweep what this import is about to reference
	 * (I8).  Free the import after the commit that references it. */
	struct av_lockset *fence;
} av_import;

int av_import_files(av_import **out, av_store *s, char *const *paths, size_t npaths,
		    const av_import_opts *opts);
/* Remove the files the packages came from (after a successful commit). */
int av_import_remove_sources(const av_import *imp);
void av_import_free(av_import *imp);

/* Read and verify one package file (no store, no pool): for tests and
 * for `package show` of a file. */
int av_import_read_file(av_pkg **out, char **contents, const char *path);

#endif
