/*
 * publish.h - published distributions: what apt clients read.
 *
 * A published distribution is (prefix, distribution) -> components, each
 * backed by a snapshot or a local repo pinned at one of its states.  Its
 * state is a commit under refs/published/ whose meta.json holds the
 * settings and whose aux/ tree pins every component's package list and
 * the generated index chunks (so a dropped snapshot's content stays
 * alive while it is published, and republishing reuses what it made).
 *
 * Publishing (DESIGN.md §4):
 *   1. index chunks: each index (Packages of a component and
 *      architecture, Sources, udeb Packages) is its sorted stanzas cut
 *      into chunks at name boundaries chosen by a hash of the name, so
 *      one changed package changes one chunk.  A chunk is rendered and
 *      compressed once (compress.h pieces) and kept under the hash of
 *      its entries;
 *   2. the new dists/DIST generation is built beside the live one;
 *   3. package files are linked into pool/COMPONENT/x/SOURCE/ after a
 *      check pass that refuses a same-named file with other content;
 *   4. by-hash/ copies of every index, this generation's and the
 *      previous ones' still within their retention, are in place;
 *   5. everything is synced, the generation directory is exchanged with
 *      the live one in one renameat2(RENAME_EXCHANGE), and then the ref
 *      moves; a ref failure exchanges the directories back.
 */
#ifndef AV_PUBLISH_H
#define AV_PUBLISH_H

#include "repo.h"
#include "sign.h"

typedef struct av_publish_component {
	const char *component;	/* "main" */
	const char *kind;	/* "snapshot" or "repo" */
	const char *name;
} av_publish_component;

/* Compressions made for Packages and Sources (bit per av_comp). */
#define AV_PUBLISH_COMPRESS_DEFAULT ((1u << 1) | (1u << 2))	/* gz, xz */

typedef struct av_publish_opts {
	const char *prefix;		/* "." or "path/below/public" */
	const char *distribution;
	/* NULL (with n 0): keep what is published, or derive from the
	 * packages on a first publish.  "source" adds Sources indexes. */
	const char *const *architectures;
	size_t narchitectures;
	/* Release fields; NULL keeps what is published (or none). */
	const char *origin, *label, *suite, *codename, *version, *signed_by;
	int notautomatic;		/* -1 keep, 0 no, 1 yes */
	int butautomaticupgrades;	/* -1 keep */
	int acquire_by_hash;		/* -1 keep (first publish: on) */
	int skip_contents;		/* -1 keep (first publish: off) */
	long long valid_for;		/* seconds; -1 keep, 0 none */
	unsigned compress;		/* 0 keep (first: default) */
	long long byhash_keep;		/* seconds old by-hash files stay */
	int skip_signing;
	av_sign_opts sign;
	void (*progress)(void *payload, size_t done, size_t total);
	void *progress_payload;
} av_publish_opts;

/* What one publish did, for output and for tests (counts are stable). */
typedef struct av_publish_result {
	char *where;			/* "PREFIX/dists/DIST", owned */
	size_t chunks_built, chunks_reused;
	size_t files_written, files_reused;	/* under dists/ */
	size_t resumed_bytes;		/* copied from live files, digests resumed */
	size_t pool_linked;			/* new pool links */
	size_t pool_removed;			/* unreferenced, removed */
	size_t packages;
} av_publish_result;

void av_publish_result_dispose(av_publish_result *r);

/* A first publish of prefix/distribution; AV_EEXISTS if it exists. */
int av_publish_create(av_ctx *c, const av_publish_opts *o,
		      const av_publish_component *comps, size_t n,
		      av_publish_result *res);
/* Point components at other snapshots (those named; the others stay). */
int av_publish_switch(av_ctx *c, const av_publish_opts *o,
		      const av_publish_component *comps, size_t n,
		      av_publish_result *res);
/* Republish: re-read the local repos it publishes, apply staged source
 * changes, regenerate what changed. */
int av_publish_update(av_ctx *c, const av_publish_opts *o, av_publish_result *res);
/* Remove the distribution and the pool files nothing else references.
 * A component whose snapshot is gone needs force. */
int av_publish_drop(av_ctx *c, const char *prefix, const char *dist, int force);

/* Staged component changes, applied by the next av_publish_update. */
typedef enum av_source_op {
	AV_SOURCE_ADD,		/* a new component */
	AV_SOURCE_UPDATE,	/* another source for a component */
	AV_SOURCE_REPLACE,	/* the whole component set */
	AV_SOURCE_REMOVE,	/* drop components */
	AV_SOURCE_DROP,		/* forget what is staged */
} av_source_op;
int av_publish_source(av_ctx *c, const char *prefix, const char *dist, av_source_op op,
		      const av_publish_component *comps, size_t n);

/* The published distribution's state (no lock). */
int av_publish_open(av_ctx *c, const char *prefix, const char *dist, av_state **out);
/* Every published distribution's state, sorted by prefix then dist. */
int av_publish_all(av_ctx *c, av_state ***out, size_t *n);
void av_publish_all_free(av_state **states, size_t n);

/* "prefix/dist" of distributions publishing kind NAME (or its state),
 * appended to where, comma separated; 0 none, 1 some. */
int av_publish_users(av_ctx *c, const char *kind, const char *name,
		     const git_oid *state, av_buf *where);

#endif
