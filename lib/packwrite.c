/* packwrite.c - packfile + .idx v2 writer (see packwrite.h). */
#include <stdio.h>
#include <stdint.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <libdeflate.h>
#include <openssl/evp.h>
#include "packwrite.h"
#include "aptvault/file.h"
#include "aptvault/buf.h"
#include "internal.h"

#define OUTBUF (1 << 20)
/* Blobs up to this size are stored, not deflated (see av_packw_add). */
#define STORED_BLOB_MAX (16 << 10)

typedef struct entry {
	git_oid oid;
	uint32_t crc;
	uint64_t offset;
} entry;

struct av_packw {
	int sync;		/* fsync the files and the directory (default) */
	char *dir;
	char tmp[4096];
	int fd;
	size_t count, n;
	entry *e;
	uint64_t offset;
	EVP_MD_CTX *sha1;
	/* libdeflate, not zlib: level 1 deflates a publish's index chunks
	 * about twice as fast; level 0 writes stored blocks */
	struct libdeflate_compressor *fast, *store;
	unsigned char *out;	/* write buffer */
	size_t outlen;
	unsigned char *zbuf;
	size_t zcap;
};

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t k = write(fd, c, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += k;
		len -= (size_t)k;
	}
	return 0;
}

static int drain(av_packw *w)
{
	if (w->outlen && write_all(w->fd, w->out, w->outlen) < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot write pack '%s'", w->tmp);
	w->outlen = 0;
	return 0;
}

/* Append to the pack: hashed for the trailer, buffered for the disk. */
static int put(av_packw *w, const void *data, size_t len)
{
	const unsigned char *p = data;
	int rc;

	EVP_DigestUpdate(w->sha1, data, len);
	w->offset += len;
	while (len) {
		size_t room = OUTBUF - w->outlen, k = len < room ? len : room;
		memcpy(w->out + w->outlen, p, k);
		w->outlen += k;
		p += k;
		len -= k;
		if (w->outlen == OUTBUF && (rc = drain(w)))
			return rc;
	}
	return 0;
}

int av_packw_new(av_packw **out, const char *pack_dir, size_t count)
{
	av_packw *w = av_calloc(1, sizeof(*w));
	unsigned char head[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2 };
	int rc;

	*out = NULL;
	if (!w)
		return AV_ERROR;
	w->fd = -1;
	if (count > UINT32_MAX) {
		rc = av_error_set(AV_EINVALID, "too many objects for one pack");
		goto fail;
	}
	if (!(w->dir = av_strdup(pack_dir)) || !(w->e = av_calloc(count ? count : 1, sizeof(*w->e))) ||
	    !(w->out = av_malloc(OUTBUF)) || !(w->sha1 = EVP_MD_CTX_new()) ||
	    !EVP_DigestInit_ex(w->sha1, EVP_sha1(), NULL)) {
		rc = av_error_set(AV_ERROR, "out of memory");
		goto fail;
	}
	if (!(w->fast = libdeflate_alloc_compressor(1)) ||
	    !(w->store = libdeflate_alloc_compressor(0))) {
		rc = av_error_set(AV_ERROR, "cannot start compression");
		goto fail;
	}
	w->count = count;
	w->sync = 1;
	if ((rc = av_mkdir_p(pack_dir)))
		goto fail;
	snprintf(w->tmp, sizeof(w->tmp), "%s/tmp_pack_XXXXXX", pack_dir);
	if ((w->fd = mkstemp(w->tmp)) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot create a pack in '%s'", pack_dir);
		w->tmp[0] = '\0';
		goto fail;
	}
	head[8] = (unsigned char)(count >> 24);
	head[9] = (unsigned char)(count >> 16);
	head[10] = (unsigned char)(count >> 8);
	head[11] = (unsigned char)count;
	if ((rc = put(w, head, sizeof(head))))
		goto fail;
	*out = w;
	return 0;
fail:
	av_packw_free(w);
	return rc;
}

/* gzip, xz (and our xz pieces), zstd and bzip2 data: deflating it again
 * costs time and saves nothing (publishing stores its compressed index
 * chunks). */
static int compressed(const unsigned char *d, size_t len)
{
	static const unsigned char xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	static const unsigned char zst[] = { 0x28, 0xb5, 0x2f, 0xfd };

	if (len < 6)
		return 0;
	return (d[0] == 0x1f && d[1] == 0x8b) || !memcmp(d, xz, sizeof(xz)) ||
	       !memcmp(d, "AVxz", 4) || !memcmp(d, zst, sizeof(zst)) ||
	       (d[0] == 'B' && d[1] == 'Z' && d[2] == 'h');
}

/*
 * Stored, not deflated: trees (their ids do not compress, and a list has
 * hundreds), small blobs (package stanzas, about 800 bytes: inflating
 * one costs 4.4 us in libdeflate, mostly building its Huffman tables,
 * against 0.12 us to copy it; a 60,000-package list is read whole by
 * filter, pull, verify and publish) and compressed data.  Their metadata
 * grows by about 1.7 times, a few percent of an archive whose pool holds
 * the .debs.
 */
int av_packw_stored(git_object_t type, const void *data, size_t len)
{
	return type == GIT_OBJECT_TREE ||
	       (type == GIT_OBJECT_BLOB && (len <= STORED_BLOB_MAX || compressed(data, len)));
}

int av_packw_add(av_packw *w, const git_oid *oid, git_object_t type,
		 const void *data, size_t len)
{
	unsigned char hdr[16];
	size_t n = 0, size = len, bound, zlen;
	struct libdeflate_compressor *z;
	unsigned char c;
	uint32_t crc;
	int rc;

	if (w->n >= w->count)
		return av_error_set(AV_ERROR, "internal error: pack overflow");
	if (w->n && git_oid_cmp(&w->e[w->n - 1].oid, oid) >= 0)
		return av_error_set(AV_ERROR, "internal error: pack objects out of order");
	c = (unsigned char)((type << 4) | (size & 15));
	size >>= 4;
	while (size) {
		hdr[n++] = c | 0x80;
		c = size & 0x7f;
		size >>= 7;
	}
	hdr[n++] = c;
	z = av_packw_stored(type, data, len) ? w->store : w->fast;
	bound = libdeflate_zlib_compress_bound(z, len);
	if (bound > w->zcap) {
		unsigned char *z = av_realloc(w->zbuf, bound);
		if (!z)
			return AV_ERROR;
		w->zbuf = z;
		w->zcap = bound;
	}
	if (!(zlen = libdeflate_zlib_compress(z, data, len, w->zbuf, w->zcap)))
		return av_error_set(AV_ERROR, "cannot compress object");
	git_oid_cpy(&w->e[w->n].oid, oid);
	w->e[w->n].offset = w->offset;
	crc = libdeflate_crc32(0, hdr, n);
	crc = libdeflate_crc32(crc, w->zbuf, zlen);
	w->e[w->n].crc = crc;
	if ((rc = put(w, hdr, n)) || (rc = put(w, w->zbuf, zlen)))
		return rc;
	w->n++;
	return 0;
}

static void be32(av_buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };
	av_buf_put(b, x, 4);
}

static int build_index(av_packw *w, const unsigned char *pack_sum, av_buf *idx)
{
	static const unsigned char magic[8] = { 0xff, 't', 'O', 'c', 0, 0, 0, 2 };
	unsigned char sum[EVP_MAX_MD_SIZE];
	uint32_t fan[256] = { 0 }, large = 0;
	unsigned slen;

	for (size_t i = 0; i < w->n; i++)
		fan[w->e[i].oid.id[0]]++;
	for (int i = 1; i < 256; i++)
		fan[i] += fan[i - 1];
	av_buf_put(idx, magic, sizeof(magic));
	for (int i = 0; i < 256; i++)
		be32(idx, fan[i]);
	for (size_t i = 0; i < w->n; i++)
		av_buf_put(idx, w->e[i].oid.id, GIT_OID_RAWSZ);
	for (size_t i = 0; i < w->n; i++)
		be32(idx, w->e[i].crc);
	for (size_t i = 0; i < w->n; i++)
		be32(idx, w->e[i].offset < 0x80000000u ? (uint32_t)w->e[i].offset :
		     0x80000000u | large++);
	for (size_t i = 0; i < w->n; i++) {
		if (w->e[i].offset < 0x80000000u)
			continue;
		be32(idx, (uint32_t)(w->e[i].offset >> 32));
		be32(idx, (uint32_t)w->e[i].offset);
	}
	av_buf_put(idx, pack_sum, GIT_OID_RAWSZ);
	EVP_Digest(idx->ptr, idx->len, sum, &slen, EVP_sha1(), NULL);
	return av_buf_put(idx, sum, GIT_OID_RAWSZ);
}

int av_packw_finish(av_packw *w)
{
	unsigned char sum[EVP_MAX_MD_SIZE];
	char hex[GIT_OID_HEXSZ + 1], path[4096], idxtmp[4200];
	av_buf idx = AV_BUF_INIT;
	git_oid packid;
	unsigned slen;
	int rc, fd = -1;

	if (w->n != w->count)
		return av_error_set(AV_ERROR, "internal error: pack has %zu of %zu objects",
				    w->n, w->count);
	EVP_DigestFinal_ex(w->sha1, sum, &slen);
	if ((rc = put(w, sum, GIT_OID_RAWSZ)) || (rc = drain(w)))
		return rc;
	if (w->sync && fsync(w->fd) < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot sync pack '%s'", w->tmp);
	if ((rc = build_index(w, sum, &idx)))
		goto done;
	snprintf(idxtmp, sizeof(idxtmp), "%s.idx", w->tmp);
	fd = open(idxtmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	if (fd < 0 || write_all(fd, idx.ptr, idx.len) < 0 || (w->sync && fsync(fd) < 0)) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot write pack index '%s'", idxtmp);
		unlink(idxtmp);
		goto done;
	}
	git_oid_fromraw(&packid, sum);
	git_oid_tostr(hex, sizeof(hex), &packid);
	snprintf(path, sizeof(path), "%s/pack-%s.pack", w->dir, hex);
	fchmod(w->fd, 0444);
	if (rename(w->tmp, path) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot install pack '%s'", path);
		unlink(idxtmp);
		goto done;
	}
	w->tmp[0] = '\0';
	snprintf(path, sizeof(path), "%s/pack-%s.idx", w->dir, hex);
	if (rename(idxtmp, path) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot install pack index '%s'", path);
		unlink(idxtmp);
		goto done;
	}
	rc = w->sync ? av_fsync_dir(w->dir) : 0;
done:
	if (fd >= 0)
		close(fd);
	av_buf_dispose(&idx);
	return rc;
}

void av_packw_free(av_packw *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp[0])
		unlink(w->tmp);
	libdeflate_free_compressor(w->fast);
	libdeflate_free_compressor(w->store);
	EVP_MD_CTX_free(w->sha1);
	free(w->zbuf);
	free(w->out);
	free(w->e);
	free(w->dir);
	free(w);
}

void av_packw_nosync(av_packw *w)
{
	w->sync = 0;
}
