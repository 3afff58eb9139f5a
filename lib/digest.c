/* digest.c - four digests in one pass, with OpenSSL's EVP (see digest.h). */
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <openssl/evp.h>
#include "aptvault/digest.h"
#include "internal.h"

struct av_hasher {
	EVP_MD_CTX *ctx[4];
	uint64_t size;
};

static const EVP_MD *md_at(int i)
{
	switch (i) {
	case 0: return EVP_md5();
	case 1: return EVP_sha1();
	case 2: return EVP_sha256();
	default: return EVP_sha512();
	}
}

static int hasher_reset(av_hasher *h)
{
	h->size = 0;
	for (int i = 0; i < 4; i++)
		if (!EVP_DigestInit_ex(h->ctx[i], md_at(i), NULL))
			return av_error_set(AV_ERROR, "cannot initialise digest");
	return 0;
}

int av_hasher_new(av_hasher **out)
{
	av_hasher *h = av_calloc(1, sizeof(*h));

	if (!h)
		return AV_ERROR;
	for (int i = 0; i < 4; i++) {
		if (!(h->ctx[i] = EVP_MD_CTX_new())) {
			av_hasher_free(h);
			return av_error_set(AV_ERROR, "out of memory");
		}
	}
	if (hasher_reset(h)) {
		av_hasher_free(h);
		return AV_ERROR;
	}
	*out = h;
	return 0;
}

int av_hasher_update(av_hasher *h, const void *data, size_t len)
{
	const unsigned char *p = data;

	/* Slices that stay in cache while all four digests read them. */
	for (size_t off = 0; off < len; off += 64 << 10) {
		size_t n = len - off < (64 << 10) ? len - off : 64 << 10;
		for (int i = 0; i < 4; i++)
			if (!EVP_DigestUpdate(h->ctx[i], p + off, n))
				return av_error_set(AV_ERROR, "digest update failed");
	}
	h->size += len;
	return 0;
}

static void hex(char *out, const unsigned char *md, unsigned n)
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

int av_hasher_final(av_hasher *h, av_digests *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char *dst[4] = { out->md5, out->sha1, out->sha256, out->sha512 };
	unsigned n;

	for (int i = 0; i < 4; i++) {
		if (!EVP_DigestFinal_ex(h->ctx[i], md, &n))
			return av_error_set(AV_ERROR, "digest final failed");
		hex(dst[i], md, n);
	}
	out->size = h->size;
	return hasher_reset(h);
}

void av_hasher_free(av_hasher *h)
{
	if (!h)
		return;
	for (int i = 0; i < 4; i++)
		EVP_MD_CTX_free(h->ctx[i]);
	free(h);
}

/* Digests first..last of a buffer, one shot each (for a thread). */
typedef struct digest_job {
	const void *data;
	size_t len;
	int first, last;
	char *dst[4];
	int ok;
} digest_job;

static void *digest_run(void *arg)
{
	digest_job *j = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n;

	j->ok = 1;
	for (int i = j->first; i <= j->last; i++) {
		if (!EVP_Digest(j->data, j->len, md, &n, md_at(i), NULL)) {
			j->ok = 0;
			break;
		}
		hex(j->dst[i], md, n);
	}
	return NULL;
}

int av_digests_mem(av_digests *out, const void *data, size_t len)
{
	av_hasher *h = NULL;
	int rc;

	/* A large buffer (a published index) is read by two threads: SHA256
	 * and SHA512 on one, MD5 and SHA1 on this one. */
	if (len >= (1 << 20)) {
		digest_job a = { data, len, 0, 1, { out->md5, out->sha1, out->sha256,
						    out->sha512 }, 0 };
		digest_job b = a;
		pthread_t th;
		int threaded;
		b.first = 2;
		b.last = 3;
		threaded = pthread_create(&th, NULL, digest_run, &b) == 0;
		digest_run(&a);
		if (threaded)
			pthread_join(th, NULL);
		else
			digest_run(&b);
		if (!a.ok || !b.ok)
			return av_error_set(AV_ERROR, "digest failed");
		out->size = len;
		return 0;
	}
	if ((rc = av_hasher_new(&h)))
		return rc;
	if (!(rc = av_hasher_update(h, data, len)))
		rc = av_hasher_final(h, out);
	av_hasher_free(h);
	return rc;
}

int av_digests_file(av_digests *out, const char *path)
{
	static _Thread_local unsigned char chunk[1 << 17];
	av_hasher *h = NULL;
	ssize_t n;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return av_error_set_errno(errno == ENOENT ? AV_ENOTFOUND : AV_EIO,
					  errno, "cannot open '%s'", path);
	if ((rc = av_hasher_new(&h)))
		goto done;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = av_error_set_errno(AV_EIO, errno, "cannot read '%s'", path);
			goto done;
		}
		if ((rc = av_hasher_update(h, chunk, (size_t)n)))
			goto done;
	}
	rc = av_hasher_final(h, out);
done:
	av_hasher_free(h);
	close(fd);
	return rc;
}

void av_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[32];
	unsigned n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	hex(out, md, n);
}
