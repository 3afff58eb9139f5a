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

/* Only the SHA-256 (lowercase hex) of a memory block. */
void av_sha256_hex(char out[65], const void *data, size_t len);

#endif
