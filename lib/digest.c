/* digest.c - four digests in one pass, with OpenSSL's EVP (see digest.h). */
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
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
	for (int i = 0; i < 4; i++)
		if (!EVP_DigestUpdate(h->ctx[i], data, len))
			return av_error_set(AV_ERROR, "digest update failed");
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

int av_digests_mem(av_digests *out, const void *data, size_t len)
{
	av_hasher *h = NULL;
	int rc;

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
