/* packread.c - whole objects from mapped packs (see packread.h). */
#include <stdio.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <libdeflate.h>
#include "packread.h"
#include "internal.h"

typedef struct pack {
	const unsigned char *idx, *data;
	size_t idx_len, data_len;
	uint32_t count;
} pack;

struct av_packr {
	pack *v;
	size_t n, alloc;
	size_t last;		/* the pack of the last hit: asked first */
	struct libdeflate_decompressor *dec;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int map_file(const char *path, const unsigned char **out, size_t *len)
{
	struct stat st;
	void *m;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_size <= 0) {
		close(fd);
		return -1;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	*out = m;
	*len = (size_t)st.st_size;
	return 0;
}

static void pack_unmap(pack *k)
{
	if (k->idx)
		munmap((void *)k->idx, k->idx_len);
	if (k->data)
		munmap((void *)k->data, k->data_len);
}

/* A pack and its version-2 index; a pair that is not what we expect is
 * left to libgit2. */
static int pack_map(pack *k, const char *dir, const char *idx_name)
{
	char path[4096];
	size_t base = strlen(idx_name) - 4;

	memset(k, 0, sizeof(*k));
	if (snprintf(path, sizeof(path), "%s/%s", dir, idx_name) >= (int)sizeof(path) ||
	    map_file(path, &k->idx, &k->idx_len))
		return -1;
	if (k->idx_len < 8 + 1024 + 40 || memcmp(k->idx, "\377tOc\0\0\0\2", 8))
		goto bad;
	k->count = be32(k->idx + 8 + 255 * 4);
	if (k->idx_len < 8 + 1024 + (size_t)k->count * 28 + 40)
		goto bad;
	if (snprintf(path, sizeof(path), "%s/%.*s.pack", dir, (int)base, idx_name) >=
	    (int)sizeof(path) || map_file(path, &k->data, &k->data_len))
		goto bad;
	if (k->data_len < 12 + 20 || memcmp(k->data, "PACK", 4) || be32(k->data + 8) != k->count)
		goto bad;
	return 0;
bad:
	pack_unmap(k);
	memset(k, 0, sizeof(*k));
	return -1;
}

int av_packr_open(av_packr **out, const char *pack_dir)
{
	av_packr *p = av_calloc(1, sizeof(*p));
	DIR *d;
	struct dirent *de;

	*out = NULL;
	if (!p)
		return AV_ERROR;
	if (!(p->dec = libdeflate_alloc_decompressor())) {
		free(p);
		return av_error_set(AV_ERROR, "out of memory");
	}
	if ((d = opendir(pack_dir))) {
		while ((de = readdir(d))) {
			size_t len = strlen(de->d_name);

			if (len < 5 || strcmp(de->d_name + len - 4, ".idx") ||
			    av_array_grow((void **)&p->v, &p->alloc, p->n + 1, sizeof(*p->v)))
				continue;
			if (!pack_map(&p->v[p->n], pack_dir, de->d_name))
				p->n++;
		}
		closedir(d);
	}
	*out = p;
	return 0;
}

void av_packr_free(av_packr *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		pack_unmap(&p->v[i]);
	free(p->v);
	if (p->dec)
		libdeflate_free_decompressor(p->dec);
	free(p);
}

/* The object's offset in k, or -1. */
static long long find(const pack *k, const git_oid *oid)
{
	const unsigned char *fan = k->idx + 8, *ids = fan + 1024;
	uint32_t lo = oid->id[0] ? be32(fan + 4 * (oid->id[0] - 1)) : 0;
	uint32_t hi = be32(fan + 4 * oid->id[0]);

	if (hi > k->count || lo > hi)
		return -1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(ids + (size_t)mid * 20, oid->id, 20);

		if (!c) {
			const unsigned char *offs = ids + (size_t)k->count * 24;
			uint32_t o = be32(offs + (size_t)mid * 4);

			if (o & 0x80000000u) {
				const unsigned char *big = offs + (size_t)k->count * 4 +
							   (size_t)(o & 0x7fffffffu) * 8;
				if (big + 8 > k->idx + k->idx_len - 40)
					return -1;
				return (long long)((uint64_t)be32(big) << 32 | be32(big + 4));
			}
			return o;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int av_packr_read(av_packr *p, const git_oid *oid, av_buf *out, git_object_t *type)
{
	char hex[GIT_OID_HEXSZ + 1];

	/* the objects of one list mostly sit in one pack: start with the
	 * pack of the last hit */
	for (size_t j = 0; j < p->n; j++) {
		size_t i = j ? (j == p->last ? 0 : j) : p->last;
		const pack *k = &p->v[i];
		long long off = find(k, oid);
		const unsigned char *q, *end;
		size_t size = 0, used = 0;
		unsigned shift = 4;
		int t, rc;

		if (off < 12)
			continue;
		end = k->data + k->data_len - 20;
		if ((size_t)off >= k->data_len - 20)
			return av_error_set(AV_EINVALID, "object %s: offset out of its pack",
					    git_oid_tostr(hex, sizeof(hex), oid));
		q = k->data + off;
		t = (*q >> 4) & 7;
		size = *q & 15;
		while (*q++ & 0x80) {
			if (q >= end || shift > 57)
				return av_error_set(AV_EINVALID, "object %s: bad header in its pack",
						    git_oid_tostr(hex, sizeof(hex), oid));
			size |= (size_t)(*q & 0x7f) << shift;
			shift += 7;
		}
		if (t < GIT_OBJECT_COMMIT || t > GIT_OBJECT_TAG)
			return AV_ENOTFOUND;	/* a delta: libgit2's business */
		/* deflate expands at most 1032 times: a bigger size is damage,
		 * not a reason to allocate it */
		if (size / 1032 > (size_t)(end - q))
			return av_error_set(AV_EINVALID, "object %s is damaged in its pack",
					    git_oid_tostr(hex, sizeof(hex), oid));
		if ((rc = av_buf_grow(out, size)))
			return rc;
		if (libdeflate_zlib_decompress_ex(p->dec, q, (size_t)(end - q),
						  out->ptr + out->len, size, &used, NULL) !=
		    LIBDEFLATE_SUCCESS)
			return av_error_set(AV_EINVALID, "object %s is damaged in its pack",
					    git_oid_tostr(hex, sizeof(hex), oid));
		out->len += size;
		out->ptr[out->len] = '\0';
		*type = (git_object_t)t;
		p->last = i;
		return 0;
	}
	return AV_ENOTFOUND;
}
