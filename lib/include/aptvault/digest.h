/*
 * digest.h - MD5, SHA-1, SHA-256 and SHA-512 computed in one pass.
 *
 * Debian indexes list all four; computing them in one read of the data is
 * what keeps import and publishing I/O-bound rather than hash-bound.
 */
#ifndef AV_DIGEST_H
#define AV_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include "aptvault/buf.h"

typedef struct av_digests {
	uint64_t size;
	char md5[33];
	char sha1[41];
	char sha256[65];
	char sha512[129];
} av_digests;

typedef struct av_hasher av_hasher;

int av_hasher_new(av_hasher **out);
int av_hasher_update(av_hasher *h, const void *data, size_t len);
/* Finish into out; the hasher is reset and may be reused. */
int av_hasher_final(av_hasher *h, av_digests *out);
void av_hasher_free(av_hasher *h);

int av_digests_mem(av_digests *out, const void *data, size_t len);
int av_digests_file(av_digests *out, const char *path);

/*
 * Digests of a stream that can stop and resume in another process: a
 * published index file is rehashed only from the last saved point before
 * its first changed byte.
 *
 * av_digests_resume hashes data as the continuation of the stream that
 * `from` saved (NULL: data is the start).  For each marks[i] (ascending
 * offsets into data, at most len) it appends the state after that many
 * bytes to saved[i] as text; out gets the digests of the whole stream.
 * A saved text names the stream's length and the layout of the states it
 * holds; one this build cannot use is AV_EINVALID (the caller hashes from
 * the start instead).
 */
int av_digests_resume(av_digests *out, const char *from, const void *data, size_t len,
		      const size_t *marks, size_t nmarks, av_buf *saved);
/* The same over data in pieces (marks are offsets into their sum). */
typedef struct av_dspan {
	const void *ptr;
	size_t len;
} av_dspan;
int av_digests_resume_v(av_digests *out, const char *from, const av_dspan *v, size_t nv,
			const size_t *marks, size_t nmarks, av_buf *saved);
/* The stream length a saved text names; -1 if it is not one. */
int64_t av_digests_saved_size(const char *saved);

/* Only the SHA-256 (lowercase hex) of a memory block. */
void av_sha256_hex(char out[65], const void *data, size_t len);

#endif
