/* digest.c - four digests in one pass, with OpenSSL's EVP (see digest.h). */
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <inttypes.h>
/* The one-algorithm interfaces are deprecated in OpenSSL 3, and the only
 * way to keep a digest's state past the process (av_digests_resume). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
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

int av_digests_mem(av_digests *out, const void *data, size_t len)
{
	/* A large buffer (a published index) is read by two threads there. */
	return av_digests_resume(out, NULL, data, len, NULL, 0, NULL);
}

/* (a heap buffer, not a static thread-local one: every thread the
 * process starts would zero that, fault it in and not use it) */
#define FILE_CHUNK (64 << 10)

int av_digests_file(av_digests *out, const char *path)
{
	unsigned char *chunk = NULL;
	av_hasher *h = NULL;
	ssize_t n;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return av_error_set_errno(errno == ENOENT ? AV_ENOTFOUND : AV_EIO,
					  errno, "cannot open '%s'", path);
	if (!(chunk = av_malloc(FILE_CHUNK))) {
		rc = AV_ERROR;
		goto done;
	}
	if ((rc = av_hasher_new(&h)))
		goto done;
	while ((n = read(fd, chunk, FILE_CHUNK)) != 0) {
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
	free(chunk);
	close(fd);
	return rc;
}

/* ---- digests that resume ---- */

typedef struct dstate {
	MD5_CTX md5;
	SHA_CTX sha1;
	SHA256_CTX sha256;
	SHA512_CTX sha512;
} dstate;

static void alg_update(dstate *s, int i, const void *d, size_t n)
{
	switch (i) {
	case 0: MD5_Update(&s->md5, d, n); break;
	case 1: SHA1_Update(&s->sha1, d, n); break;
	case 2: SHA256_Update(&s->sha256, d, n); break;
	default: SHA512_Update(&s->sha512, d, n); break;
	}
}

static void alg_copy(dstate *to, const dstate *from, int i)
{
	switch (i) {
	case 0: to->md5 = from->md5; break;
	case 1: to->sha1 = from->sha1; break;
	case 2: to->sha256 = from->sha256; break;
	default: to->sha512 = from->sha512; break;
	}
}

static void hex_put(av_buf *out, const void *p, size_t n, int *rc)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;

	for (size_t i = 0; i < n && !*rc; i++) {
		char two[2] = { digits[b[i] >> 4], digits[b[i] & 15] };
		*rc = av_buf_put(out, two, 2);
	}
}

static int hex_get(const char **s, void *p, size_t n)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = (*s)[k];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (d < 0)
				return -1;
			v = v * 16 + d;
		}
		b[i] = (unsigned char)v;
		*s += 2;
	}
	return 0;
}

/*
 * Saved as "avd1 SIZE L0 L1 L2 L3 HEX...": the stream's length, the size
 * of each state (another OpenSSL layout is refused) and the states.  The
 * bytes of a partial block past its end are zeroed, so the same stream
 * always saves the same text.
 */
static int save_state(av_buf *out, const dstate *s, uint64_t size)
{
	dstate c = *s;
	int rc;

	memset((unsigned char *)c.md5.data + c.md5.num, 0, sizeof(c.md5.data) - c.md5.num);
	memset((unsigned char *)c.sha1.data + c.sha1.num, 0, sizeof(c.sha1.data) - c.sha1.num);
	memset((unsigned char *)c.sha256.data + c.sha256.num, 0,
	       sizeof(c.sha256.data) - c.sha256.num);
	memset(c.sha512.u.p + c.sha512.num, 0, sizeof(c.sha512.u.p) - c.sha512.num);
	rc = av_buf_printf(out, "avd1 %" PRIu64 " %zu %zu %zu %zu ", size, sizeof(c.md5),
			   sizeof(c.sha1), sizeof(c.sha256), sizeof(c.sha512));
	hex_put(out, &c.md5, sizeof(c.md5), &rc);
	hex_put(out, &c.sha1, sizeof(c.sha1), &rc);
	hex_put(out, &c.sha256, sizeof(c.sha256), &rc);
	hex_put(out, &c.sha512, sizeof(c.sha512), &rc);
	return rc;
}

int64_t av_digests_saved_size(const char *saved)
{
	uint64_t size;

	if (!saved || sscanf(saved, "avd1 %" SCNu64, &size) != 1 || size > INT64_MAX)
		return -1;
	return (int64_t)size;
}

/* A saved state, checked against the length it claims: every state
 * counts the bits it has read and holds the partial block's length. */
static int load_state(dstate *s, uint64_t *size, const char *text)
{
	size_t l[4];
	int at = 0;
	const char *p;
	uint64_t bits;

	if (!text || sscanf(text, "avd1 %" SCNu64 " %zu %zu %zu %zu %n", size, &l[0], &l[1],
			    &l[2], &l[3], &at) != 5 || !at)
		goto bad;
	if (l[0] != sizeof(s->md5) || l[1] != sizeof(s->sha1) || l[2] != sizeof(s->sha256) ||
	    l[3] != sizeof(s->sha512))
		goto bad;
	p = text + at;
	if (strlen(p) != 2 * (l[0] + l[1] + l[2] + l[3]) || hex_get(&p, &s->md5, l[0]) ||
	    hex_get(&p, &s->sha1, l[1]) || hex_get(&p, &s->sha256, l[2]) ||
	    hex_get(&p, &s->sha512, l[3]))
		goto bad;
	bits = *size << 3;
	if (*size >> 61 ||
	    (((uint64_t)s->md5.Nh << 32) | s->md5.Nl) != bits || s->md5.num != *size % 64 ||
	    (((uint64_t)s->sha1.Nh << 32) | s->sha1.Nl) != bits || s->sha1.num != *size % 64 ||
	    (((uint64_t)s->sha256.Nh << 32) | s->sha256.Nl) != bits ||
	    s->sha256.num != *size % 64 || s->sha256.md_len != SHA256_DIGEST_LENGTH ||
	    s->sha512.Nh != 0 || s->sha512.Nl != bits || s->sha512.num != *size % 128 ||
	    s->sha512.md_len != SHA512_DIGEST_LENGTH)
		goto bad;
	return 0;
bad:
	return av_error_set(AV_EINVALID, "saved digest state is not one this build can use");
}

/* Algorithms first..last over the spans, saving each one's state at the
 * marks into at[] (a thread: the algorithms are its own fields of cur). */
typedef struct resume_job {
	dstate *cur, *at;
	const av_dspan *v;
	size_t nv;
	const size_t *marks;
	size_t nmarks;
	int first, last;
} resume_job;

static void resume_save(resume_job *j, size_t *m, size_t pos)
{
	for (; *m < j->nmarks && j->marks[*m] == pos; (*m)++)
		for (int i = j->first; i <= j->last; i++)
			alg_copy(&j->at[*m], j->cur, i);
}

static void *resume_run(void *arg)
{
	resume_job *j = arg;
	size_t m = 0, pos = 0;

	for (size_t s = 0; s < j->nv; s++) {
		const unsigned char *p = j->v[s].ptr;
		size_t left = j->v[s].len;
		while (left) {
			size_t n = left < (64 << 10) ? left : 64 << 10;
			resume_save(j, &m, pos);
			if (m < j->nmarks && j->marks[m] - pos < n)
				n = j->marks[m] - pos;
			/* Slices that stay in cache while the algorithms read them. */
			for (int i = j->first; i <= j->last; i++)
				alg_update(j->cur, i, p, n);
			p += n;
			left -= n;
			pos += n;
		}
	}
	resume_save(j, &m, pos);
	return NULL;
}

int av_digests_resume_v(av_digests *out, const char *from, const av_dspan *v, size_t nv,
			const size_t *marks, size_t nmarks, av_buf *saved)
{
	unsigned char md[SHA512_DIGEST_LENGTH];
	dstate cur, fin, *at = NULL;
	uint64_t base = 0;
	size_t len = 0;
	int rc = 0;

	for (size_t i = 0; i < nv; i++)
		len += v[i].len;
	for (size_t i = 0; i < nmarks; i++)
		if (marks[i] > len || (i && marks[i] < marks[i - 1]))
			return av_error_set(AV_EINVALID, "digest marks out of order");
	if (from) {
		if ((rc = load_state(&cur, &base, from)))
			return rc;
	} else if (!MD5_Init(&cur.md5) || !SHA1_Init(&cur.sha1) || !SHA256_Init(&cur.sha256) ||
		   !SHA512_Init(&cur.sha512)) {
		return av_error_set(AV_ERROR, "cannot initialise digest");
	}
	if (nmarks && !(at = av_calloc(nmarks, sizeof(*at))))
		return AV_ERROR;
	{
		/* Like av_digests_mem: a large stream on two threads. */
		resume_job a = { &cur, at, v, nv, marks, nmarks, 0, 3 }, b;
		pthread_t th;
		int threaded = 0;
		if (len >= (1 << 20)) {
			a.last = 1;
			b = a;
			b.first = 2;
			b.last = 3;
			threaded = pthread_create(&th, NULL, resume_run, &b) == 0;
			if (!threaded)
				a.last = 3;
		}
		resume_run(&a);
		if (threaded)
			pthread_join(th, NULL);
	}
	for (size_t i = 0; i < nmarks && !rc; i++)
		rc = save_state(&saved[i], &at[i], base + marks[i]);
	free(at);
	if (rc)
		return rc;
	fin = cur;
	MD5_Final(md, &fin.md5);
	hex(out->md5, md, MD5_DIGEST_LENGTH);
	SHA1_Final(md, &fin.sha1);
	hex(out->sha1, md, SHA_DIGEST_LENGTH);
	SHA256_Final(md, &fin.sha256);
	hex(out->sha256, md, SHA256_DIGEST_LENGTH);
	SHA512_Final(md, &fin.sha512);
	hex(out->sha512, md, SHA512_DIGEST_LENGTH);
	out->size = base + len;
	return 0;
}

int av_digests_resume(av_digests *out, const char *from, const void *data, size_t len,
		      const size_t *marks, size_t nmarks, av_buf *saved)
{
	av_dspan one = { data, len };

	return av_digests_resume_v(out, from, &one, 1, marks, nmarks, saved);
}

/* (the one-algorithm calls: EVP_Digest, and SHA256() which goes through
 * it, fetch the algorithm each time and cost twice as much on the short
 * inputs this gets, a publish's 2,500 chunk keys) */
void av_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;

	SHA256_Init(&c);
	SHA256_Update(&c, data, len);
	SHA256_Final(md, &c);
	hex(out, md, SHA256_DIGEST_LENGTH);
}
