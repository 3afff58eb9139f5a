/*
 * deb.c - read .deb and .udeb files (see deb.h).
 *
 * The file is read into memory once (mmap for big files); the four
 * digests are computed over that block, the outer ar archive is walked
 * here, the members are decompressed here straight from the block, and
 * libarchive parses the tars, so nothing is copied but the control file
 * and the file names.
 *
 * Member order and names follow dpkg-deb: debian-binary first, then
 * control.tar[.gz|.xz|.zst], then data.tar[.gz|.xz|.zst|.bz2|.lzma];
 * members whose name starts with '_' may sit in between and are
 * ignored, as is anything after data.tar.
 */
#include <stdio.h>
#include <inttypes.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <archive.h>
#include <archive_entry.h>
#define ZLIB_CONST
#include <zlib.h>
#include <lzma.h>
#include <zstd.h>
#include <bzlib.h>
#include "aptvault/deb.h"
#include "internal.h"

#define AR_MAGIC	"!<arch>\n"
#define AR_MAGIC_LEN	8
#define AR_HDR_LEN	60
#define CONTROL_MAX	((size_t)16 << 20)	/* control.tar, uncompressed */
#define CONTENTS_MAX	((size_t)64 << 20)	/* the contents list */
#define ENTRY_PATH_MAX	4096			/* one path in data.tar */
#define READ_MAX	((size_t)64 << 20)	/* above this, mmap the file */
#define XZ_MEMLIMIT	((uint64_t)256 << 20)	/* xz -9 needs 65 MiB */
#define UNZIP_CHUNK	65536

enum deb_zip { ZIP_NONE, ZIP_GZIP, ZIP_XZ, ZIP_LZMA, ZIP_ZSTD, ZIP_BZIP2 };

/* What a member's name suffix says about its compression. */
struct deb_comp {
	const char *ext;
	enum deb_zip zip;
	int control_ok;		/* dpkg accepts it for control.tar */
};

static const struct deb_comp deb_comps[] = {
	{ "", ZIP_NONE, 1 },
	{ ".gz", ZIP_GZIP, 1 },
	{ ".xz", ZIP_XZ, 1 },
	{ ".zst", ZIP_ZSTD, 1 },
	{ ".bz2", ZIP_BZIP2, 0 },
	{ ".lzma", ZIP_LZMA, 0 },
};

struct deb_member {
	char name[17];		/* trailing blanks and '/' removed, printable */
	const unsigned char *data;
	size_t size;
	const struct deb_comp *comp;
};

struct deb_reader {
	const char *label;	/* the file name, for messages */
	const unsigned char *data;
	size_t len;
	size_t pos;
};

static void member_name(char out[17], const unsigned char *raw)
{
	size_t n = 16;

	while (n > 0 && raw[n - 1] == ' ')
		n--;
	if (n > 0 && raw[n - 1] == '/')
		n--;
	for (size_t i = 0; i < n; i++)
		out[i] = raw[i] >= 0x20 && raw[i] < 0x7f ? (char)raw[i] : '?';
	out[n] = '\0';
}

/* The decimal size field: digits, then blanks only. */
static int member_size(size_t *out, const unsigned char *raw)
{
	size_t v = 0, i = 0;

	for (; i < 10 && raw[i] >= '0' && raw[i] <= '9'; i++)
		v = v * 10 + (size_t)(raw[i] - '0');
	if (i == 0)
		return -1;
	for (; i < 10; i++)
		if (raw[i] != ' ')
			return -1;
	*out = v;
	return 0;
}

/* 1 and *m filled: a member; 0: end of the archive; <0: error. */
static int ar_next(struct deb_reader *r, struct deb_member *m)
{
	const unsigned char *h = r->data + r->pos;
	size_t left = r->len - r->pos, need;

	if (left == 0)
		return 0;
	if (left < AR_HDR_LEN)
		return av_error_set(AV_EINVALID, "'%s' is truncated: member header "
				    "at offset %zu needs %d bytes, %zu left",
				    r->label, r->pos, AR_HDR_LEN, left);
	member_name(m->name, h);
	if (h[58] != '`' || h[59] != '\n' || member_size(&m->size, h + 48))
		return av_error_set(AV_EINVALID, "'%s' is corrupt: bad ar member "
				    "header at offset %zu", r->label, r->pos);
	left -= AR_HDR_LEN;
	need = m->size + (m->size & 1);		/* members are 2-byte aligned */
	if (need > left)
		return av_error_set(AV_EINVALID, "'%s' is truncated: member '%s' "
				    "needs %zu bytes, %zu left",
				    r->label, m->name, need, left);
	m->data = h + AR_HDR_LEN;
	r->pos += AR_HDR_LEN + need;
	return 1;
}

/* The next member that is not an ignorable '_' one. */
static int ar_next_real(struct deb_reader *r, struct deb_member *m)
{
	int rc;

	while ((rc = ar_next(r, m)) == 1 && m->name[0] == '_')
		;
	return rc;
}

/* At most 16 bytes of untrusted text, for a message. */
static const char *printable(char out[17], const unsigned char *p, size_t n)
{
	size_t i;

	if (n > 0 && p[n - 1] == '\n')
		n--;
	for (i = 0; i < n && i < 16; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[i] = '\0';
	return out;
}

static int check_version(const struct deb_reader *r, const struct deb_member *m)
{
	const unsigned char *p = m->data, *end = m->data + m->size;
	char shown[17];

	if (strcmp(m->name, "debian-binary"))
		return av_error_set(AV_EINVALID, "'%s' is not a debian package: first "
				    "member is '%s', not 'debian-binary'",
				    r->label, m->name);
	if (m->size >= 2 && p[0] == '2' && p[1] == '.') {
		for (p += 2; p < end && *p >= '0' && *p <= '9'; p++)
			;
		if (p > m->data + 2 && p < end && *p == '\n')
			return 0;
	}
	return av_error_set(AV_EINVALID, "'%s' has unsupported package format "
			    "version '%s' (expected 2.x)", r->label,
			    printable(shown, m->data, m->size));
}

/* Find the member "<base>" + a known compression suffix. */
static int expect_member(struct deb_reader *r, struct deb_member *m,
			 const char *base, int is_control)
{
	size_t n = strlen(base);
	int rc = ar_next_real(r, m);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return av_error_set(AV_EINVALID, "'%s' is not a debian package: "
				    "no '%s' member", r->label, base);
	if (strncmp(m->name, base, n))
		return av_error_set(AV_EINVALID, "'%s' is not a debian package: "
				    "unexpected member '%s' where '%s' should be",
				    r->label, m->name, base);
	for (size_t i = 0; i < AV_ARRAY_SIZE(deb_comps); i++) {
		const struct deb_comp *c = &deb_comps[i];
		if (strcmp(m->name + n, c->ext) || (is_control && !c->control_ok))
			continue;
		m->comp = c;
		return 0;
	}
	return av_error_set(AV_EINVALID, "'%s' uses unsupported compression for "
			    "member '%s'", r->label, m->name);
}

static int tar_error(const struct deb_reader *r, const struct deb_member *m,
		     struct archive *a)
{
	const char *why = a ? archive_error_string(a) : NULL;

	return av_error_set(AV_EINVALID, "'%s' is corrupt: member '%s': %s",
			    r->label, m->name, why ? why : "cannot read archive");
}

/*
 * Members are decompressed here, not by libarchive's filters: libarchive
 * does not check gzip's CRC, and stops reading where the tar ends, so a
 * stream's trailing check would go unverified.  Each decoder reads the
 * member from memory and hands libarchive plain tar; once the tar has
 * ended, the rest of the stream is drained so that its checks run.
 */
struct unzip {
	enum deb_zip zip;
	int live;			/* the decoder needs ending */
	int ended;			/* the stream ended, checks passed */
	const unsigned char *next;	/* input not yet given to the decoder */
	size_t left;
	union {
		z_stream z;
		lzma_stream x;
		ZSTD_DStream *zs;
		bz_stream b;
	} u;
	unsigned char out[];		/* UNZIP_CHUNK bytes */
};

/* Up to cap bytes of input, for a decoder whose avail_in is empty. */
static size_t unzip_take(struct unzip *u, const unsigned char **p, size_t cap)
{
	size_t n = u->left < cap ? u->left : cap;

	*p = u->next;
	u->next += n;
	u->left -= n;
	return n;
}

/* Do the decoder's unread input and what follows start with magic? */
static int followed_by(const struct unzip *u, const unsigned char *in,
		       size_t avail, const char *magic, size_t n)
{
	unsigned char head[4];
	size_t a = avail < n ? avail : n;

	if (a + u->left < n)
		return 0;
	if (a)
		memcpy(head, in, a);
	if (n > a)
		memcpy(head + a, u->next, n - a);
	return !memcmp(head, magic, n);
}

static int gz_step(struct unzip *u, size_t *produced, const char **why)
{
	z_stream *z = &u->u.z;
	int zr;

	if (z->avail_in == 0)
		z->avail_in = (uInt)unzip_take(u, &z->next_in, 1u << 30);
	z->next_out = u->out;
	z->avail_out = UNZIP_CHUNK;
	zr = inflate(z, Z_NO_FLUSH);
	*produced = UNZIP_CHUNK - z->avail_out;
	if (zr == Z_STREAM_END) {
		/* Like zlib's gzread (dpkg's reader): go on if another member
		 * follows, ignore anything else. */
		if (!followed_by(u, z->next_in, z->avail_in, "\x1f\x8b", 2)) {
			u->ended = 1;
			return 0;
		}
		zr = inflateReset(z);
	}
	if (zr == Z_OK)
		return 0;
	*why = zr == Z_BUF_ERROR ? "unexpected end of compressed data" :
		z->msg ? z->msg : "corrupt compressed data";
	return -1;
}

static const char *xz_error(lzma_ret r)
{
	switch (r) {
	case LZMA_FORMAT_ERROR: return "not in the format its name says";
	case LZMA_BUF_ERROR: return "unexpected end of compressed data";
	case LZMA_MEMLIMIT_ERROR: return "needs more than 256 MiB to decompress";
	case LZMA_MEM_ERROR: return "out of memory";
	case LZMA_OPTIONS_ERROR: return "unsupported compression options";
	default: return "compressed data is corrupt";
	}
}

static int xz_step(struct unzip *u, size_t *produced, const char **why)
{
	lzma_stream *x = &u->u.x;
	lzma_ret r;

	if (x->avail_in == 0)
		x->avail_in = unzip_take(u, &x->next_in, SIZE_MAX);
	x->next_out = u->out;
	x->avail_out = UNZIP_CHUNK;
	r = lzma_code(x, LZMA_FINISH);	/* all the input is there */
	*produced = UNZIP_CHUNK - x->avail_out;
	if (r == LZMA_STREAM_END)
		u->ended = 1;
	else if (r != LZMA_OK)
		*why = xz_error(r);
	return r == LZMA_OK || r == LZMA_STREAM_END ? 0 : -1;
}

static int zstd_step(struct unzip *u, size_t *produced, const char **why)
{
	ZSTD_inBuffer in = { u->next, u->left, 0 };
	ZSTD_outBuffer out = { u->out, UNZIP_CHUNK, 0 };
	size_t r = ZSTD_decompressStream(u->u.zs, &out, &in);

	u->next += in.pos;
	u->left -= in.pos;
	*produced = out.pos;
	if (ZSTD_isError(r)) {
		*why = ZSTD_getErrorName(r);
		return -1;
	}
	if (u->left || out.pos == out.size)
		return 0;
	if (r != 0) {		/* a frame is unfinished and input is over */
		*why = "unexpected end of compressed data";
		return -1;
	}
	u->ended = 1;
	return 0;
}

static const char *bz_error(int r)
{
	switch (r) {
	case BZ_DATA_ERROR_MAGIC: return "not in the format its name says";
	case BZ_MEM_ERROR: return "out of memory";
	case BZ_OK: return "unexpected end of compressed data";
	default: return "compressed data is corrupt";
	}
}

static int bz_step(struct unzip *u, size_t *produced, const char **why)
{
	bz_stream *b = &u->u.b;
	const unsigned char *in;
	int r;

	if (b->avail_in == 0) {
		b->avail_in = (unsigned)unzip_take(u, &in, 1u << 30);
		b->next_in = (char *)(uintptr_t)in;	/* bzlib only reads it */
	}
	b->next_out = (char *)u->out;
	b->avail_out = UNZIP_CHUNK;
	r = BZ2_bzDecompress(b);
	*produced = UNZIP_CHUNK - b->avail_out;
	if (r == BZ_STREAM_END) {
		char *next_in = b->next_in;
		unsigned avail_in = b->avail_in;

		if (!followed_by(u, (const unsigned char *)next_in, avail_in, "BZh", 3)) {
			u->ended = 1;
			return 0;
		}
		/* another stream follows, as bzip2 -d reads */
		BZ2_bzDecompressEnd(b);
		r = BZ2_bzDecompressInit(b, 0, 0);
		b->next_in = next_in;
		b->avail_in = avail_in;
		u->live = r == BZ_OK;
	}
	if (r == BZ_OK && (*produced || b->avail_in || u->left))
		return 0;
	*why = bz_error(r);
	return -1;
}

static la_ssize_t unzip_read(struct archive *a, void *ctx, const void **buf)
{
	struct unzip *u = ctx;
	size_t produced = 0;
	const char *why = NULL;
	int rc = 0;

	while (!u->ended && produced == 0 && rc == 0) {
		switch (u->zip) {
		case ZIP_GZIP: rc = gz_step(u, &produced, &why); break;
		case ZIP_XZ:
		case ZIP_LZMA: rc = xz_step(u, &produced, &why); break;
		case ZIP_ZSTD: rc = zstd_step(u, &produced, &why); break;
		case ZIP_BZIP2: rc = bz_step(u, &produced, &why); break;
		default: u->ended = 1;
		}
	}
	if (rc) {
		archive_set_error(a, EINVAL, "%s", why);
		return ARCHIVE_FATAL;
	}
	*buf = u->out;
	return (la_ssize_t)produced;
}

static int unzip_start(struct unzip *u)
{
	lzma_stream init = LZMA_STREAM_INIT;

	switch (u->zip) {
	case ZIP_GZIP:
		u->live = inflateInit2(&u->u.z, 16 + MAX_WBITS) == Z_OK;
		break;
	case ZIP_XZ:
		u->u.x = init;
		u->live = lzma_stream_decoder(&u->u.x, XZ_MEMLIMIT,
					      LZMA_CONCATENATED) == LZMA_OK;
		break;
	case ZIP_LZMA:
		u->u.x = init;
		u->live = lzma_alone_decoder(&u->u.x, XZ_MEMLIMIT) == LZMA_OK;
		break;
	case ZIP_ZSTD:
		u->live = (u->u.zs = ZSTD_createDStream()) != NULL;
		break;
	case ZIP_BZIP2:
		u->live = BZ2_bzDecompressInit(&u->u.b, 0, 0) == BZ_OK;
		break;
	default:
		break;
	}
	return u->live ? 0 : av_error_set(AV_ERROR, "cannot start a decompressor");
}

static void unzip_free(struct unzip *u)
{
	if (u && u->live) {
		switch (u->zip) {
		case ZIP_GZIP: inflateEnd(&u->u.z); break;
		case ZIP_XZ:
		case ZIP_LZMA: lzma_end(&u->u.x); break;
		case ZIP_ZSTD: ZSTD_freeDStream(u->u.zs); break;
		case ZIP_BZIP2: BZ2_bzDecompressEnd(&u->u.b); break;
		default: break;
		}
	}
	free(u);
}

static int unzip_new(struct unzip **out, const struct deb_member *m)
{
	struct unzip *u = av_malloc(sizeof(*u) + UNZIP_CHUNK);

	if (!u)
		return AV_ERROR;
	memset(u, 0, sizeof(*u));	/* not the output buffer */
	u->zip = m->comp->zip;
	u->next = m->data;
	u->left = m->size;
	*out = u;
	return unzip_start(u);
}

/* A nested tar, read from memory through its decompressor. */
struct tar_src {
	struct archive *a;
	struct unzip *uz;	/* NULL for an uncompressed member */
};

static void tar_close(struct tar_src *t)
{
	archive_read_free(t->a);
	unzip_free(t->uz);
}

static int tar_open(struct tar_src *t, const struct deb_reader *r,
		    const struct deb_member *m)
{
	int rc, ar;

	if (!(t->a = archive_read_new()))
		return av_error_set(AV_ERROR, "out of memory");
	if (archive_read_support_format_tar(t->a) != ARCHIVE_OK)
		return av_error_set(AV_ERROR, "libarchive cannot read '%s'", m->name);
	if (m->comp->zip == ZIP_NONE) {
		ar = archive_read_open_memory(t->a, m->data, m->size);
	} else {
		if ((rc = unzip_new(&t->uz, m)))
			return rc;
		ar = archive_read_open(t->a, t->uz, NULL, unzip_read, NULL);
	}
	return ar == ARCHIVE_OK ? 0 : tar_error(r, m, t->a);
}

/* After the tar's end: decompress the rest, so its checks run. */
static int tar_finish(struct tar_src *t, const struct deb_reader *r,
		      const struct deb_member *m)
{
	const void *buf;
	la_ssize_t n;

	if (!t->uz)
		return 0;
	while ((n = unzip_read(t->a, t->uz, &buf)) > 0)
		;
	return n < 0 ? tar_error(r, m, t->a) : 0;
}

/* ARCHIVE_OK: an entry; ARCHIVE_EOF: the end; else an error (set). */
static int tar_next(struct archive *a, struct archive_entry **e,
		    const struct deb_reader *r, const struct deb_member *m)
{
	int ar = archive_read_next_header(a, e);

	if (ar == ARCHIVE_WARN)
		ar = ARCHIVE_OK;
	if (ar != ARCHIVE_OK && ar != ARCHIVE_EOF)
		tar_error(r, m, a);
	return ar;
}

/* The entry's path without leading "./" and "/"; "" for the root. */
static const char *entry_path(struct archive_entry *e)
{
	const char *p = archive_entry_pathname(e);

	if (!p)
		return NULL;
	for (;;) {
		if (p[0] == '.' && p[1] == '/')
			p += 2;
		else if (p[0] == '/')
			p++;
		else
			return p;
	}
}

static int read_entry_data(av_buf *out, struct archive *a,
			   const struct deb_reader *r, const struct deb_member *m)
{
	int rc;

	for (;;) {
		la_ssize_t n;

		if ((rc = av_buf_grow(out, 65536)))
			return av_error_set(AV_EINVALID, "'%s' is too large to read: "
					    "member '%s' expands beyond %zu bytes",
					    r->label, m->name, CONTROL_MAX);
		n = archive_read_data(a, out->ptr + out->len, 65536);
		if (n < 0)
			return tar_error(r, m, a);
		if (n == 0)
			return 0;
		out->len += (size_t)n;
		out->ptr[out->len] = '\0';
	}
}

/* Read ./control out of control.tar, reading the whole tar so that a
 * corrupt stream is noticed. */
static int read_control(av_buf *ctl, const struct deb_reader *r,
			const struct deb_member *m)
{
	struct tar_src t = { NULL, NULL };
	struct archive_entry *e;
	size_t total = 0;
	int found = 0, ar, rc;

	if ((rc = tar_open(&t, r, m)))
		goto done;
	while ((ar = tar_next(t.a, &e, r, m)) == ARCHIVE_OK) {
		const char *p = entry_path(e);
		int64_t sz = archive_entry_size(e);

		if (sz < 0 || (uint64_t)sz > CONTROL_MAX - total) {
			rc = av_error_set(AV_EINVALID, "'%s' is too large to read: "
					  "member '%s' expands beyond %zu bytes",
					  r->label, m->name, CONTROL_MAX);
			goto done;
		}
		total += (size_t)sz;
		if (found || !p || strcmp(p, "control") ||
		    archive_entry_filetype(e) != AE_IFREG)
			continue;
		if ((rc = read_entry_data(ctl, t.a, r, m)))
			goto done;
		found = 1;
	}
	if (ar != ARCHIVE_EOF)
		rc = AV_EINVALID;
	else if ((rc = tar_finish(&t, r, m)))
		;
	else if (!found)
		rc = av_error_set(AV_EINVALID, "'%s' has no control file in "
				  "member '%s'", r->label, m->name);
done:
	tar_close(&t);
	return rc;
}

struct path_list {
	av_buf names;		/* NUL-separated */
	size_t *offs;
	size_t count, alloc;
};

static int add_path(struct path_list *l, const char *p,
		    const struct deb_reader *r, const struct deb_member *m)
{
	size_t n = strlen(p);

	if (n > ENTRY_PATH_MAX)
		return av_error_set(AV_EINVALID, "'%s' has a path longer than %d "
				    "bytes in member '%s'", r->label,
				    ENTRY_PATH_MAX, m->name);
	if (memchr(p, '\n', n))
		return av_error_set(AV_EINVALID, "'%s' has a path containing a "
				    "newline in member '%s'", r->label, m->name);
	if (av_array_grow((void **)&l->offs, &l->alloc, l->count + 1,
			  sizeof(*l->offs)))
		return AV_ERROR;
	l->offs[l->count++] = l->names.len;
	if (av_buf_put(&l->names, p, n + 1))
		return av_error_set(AV_EINVALID, "'%s' lists too many files: the "
				    "list of member '%s' exceeds %zu bytes",
				    r->label, m->name, CONTENTS_MAX);
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sort, drop duplicates, join with '\n'. */
static int join_paths(av_deb_info *info, struct path_list *l)
{
	const char **v = av_calloc(l->count, sizeof(*v));
	char *out = NULL, *w;
	int rc = AV_ERROR;

	if (!v)
		goto done;
	for (size_t i = 0; i < l->count; i++)
		v[i] = l->names.ptr + l->offs[i];
	qsort(v, l->count, sizeof(*v), cmp_path);
	if (!(out = w = av_malloc(l->names.len + 1)))
		goto done;
	for (size_t i = 0; i < l->count; i++) {
		size_t n = strlen(v[i]);
		if (i > 0 && !strcmp(v[i], v[i - 1]))
			continue;
		memcpy(w, v[i], n);
		w += n;
		*w++ = '\n';
	}
	*w = '\0';
	info->contents = out;
	info->contents_len = (size_t)(w - out);
	rc = 0;
done:
	free(v);
	return rc;
}

static int read_contents(av_deb_info *info, const struct deb_reader *r,
			 const struct deb_member *m)
{
	struct path_list l = { AV_BUF_INIT, NULL, 0, 0 };
	struct tar_src t = { NULL, NULL };
	struct archive_entry *e;
	int ar, rc;

	av_buf_init(&l.names, CONTENTS_MAX);
	if ((rc = tar_open(&t, r, m)))
		goto done;
	while ((ar = tar_next(t.a, &e, r, m)) == ARCHIVE_OK) {
		const char *p = entry_path(e);

		if (!p) {
			rc = av_error_set(AV_EINVALID, "'%s' is corrupt: member '%s' "
					  "has an entry without a path",
					  r->label, m->name);
			goto done;
		}
		if (archive_entry_filetype(e) == AE_IFDIR || !*p)
			continue;
		if ((rc = add_path(&l, p, r, m)))
			goto done;
	}
	if (ar != ARCHIVE_EOF)
		rc = AV_EINVALID;
	else if (!(rc = tar_finish(&t, r, m)))
		rc = join_paths(info, &l);
done:
	tar_close(&t);
	free(l.offs);
	av_buf_dispose(&l.names);
	return rc;
}

static int control_stanza(av_stanza **out, const av_buf *ctl,
			  const struct deb_reader *r)
{
	static const char *const required[] = { "Package", "Version", "Architecture" };
	av_stanza *s = NULL;
	int rc;

	if ((rc = av_deb822_parse_one(&s, av_buf_cstr(ctl), ctl->len)))
		return av_error_wrap(AV_EINVALID, "'%s' has an invalid control file",
				     r->label);
	for (size_t i = 0; i < AV_ARRAY_SIZE(required); i++) {
		if (av_stanza_get(s, required[i]))
			continue;
		av_stanza_free(s);
		return av_error_set(AV_EINVALID, "'%s' has an invalid control file: "
				    "no '%s' field", r->label, required[i]);
	}
	*out = s;
	return 0;
}

/* Size and the digests, named the way dpkg-scanpackages names them. */
static int add_digests(av_stanza *s, const av_digests *d)
{
	char size[32];
	int rc;

	snprintf(size, sizeof(size), "%" PRIu64, d->size);
	if ((rc = av_stanza_set(s, "Size", size)) ||
	    (rc = av_stanza_set(s, "MD5sum", d->md5)) ||
	    (rc = av_stanza_set(s, "SHA1", d->sha1)) ||
	    (rc = av_stanza_set(s, "SHA256", d->sha256)) ||
	    (rc = av_stanza_set(s, "SHA512", d->sha512)))
		return rc;
	return av_stanza_sort_canonical(s, AV_STANZA_BINARY);
}

static int check_ar(struct deb_reader *r, struct deb_member *ctl_m,
		    struct deb_member *data_m)
{
	struct deb_member m;
	int rc;

	if (r->len == 0)
		return av_error_set(AV_EINVALID, "'%s' is empty", r->label);
	if (r->len < AR_MAGIC_LEN || memcmp(r->data, AR_MAGIC, AR_MAGIC_LEN))
		return av_error_set(AV_EINVALID, "'%s' is not a debian package: "
				    "not an ar archive", r->label);
	r->pos = AR_MAGIC_LEN;
	if ((rc = ar_next(r, &m)) < 0)
		return rc;
	if (rc == 0)
		return av_error_set(AV_EINVALID, "'%s' is not a debian package: "
				    "empty ar archive", r->label);
	if ((rc = check_version(r, &m)) ||
	    (rc = expect_member(r, ctl_m, "control.tar", 1)))
		return rc;
	return expect_member(r, data_m, "data.tar", 0);
}

static int deb_parse(av_deb_info **out, const char *label,
		     const unsigned char *data, size_t len)
{
	struct deb_reader r = { label, data, len, 0 };
	struct deb_member ctl_m, data_m;
	av_buf ctl = AV_BUF_INIT;
	av_deb_info *info = NULL;
	int rc;

	av_buf_init(&ctl, CONTROL_MAX);
	if ((rc = check_ar(&r, &ctl_m, &data_m)))
		goto done;
	if (!(info = av_calloc(1, sizeof(*info)))) {
		rc = AV_ERROR;
		goto done;
	}
	if ((rc = read_control(&ctl, &r, &ctl_m)) ||
	    (rc = control_stanza(&info->stanza, &ctl, &r)) ||
	    (rc = read_contents(info, &r, &data_m)) ||
	    (rc = av_digests_mem(&info->digests, data, len)) ||
	    (rc = add_digests(info->stanza, &info->digests)))
		goto done;
	*out = info;
	info = NULL;
done:
	av_deb_info_free(info);
	av_buf_dispose(&ctl);
	return rc;
}

int av_deb_read_mem(av_deb_info **out, const void *data, size_t len)
{
	return deb_parse(out, "(memory)", data, len);
}

static int read_full(int fd, unsigned char *buf, size_t size, size_t *got)
{
	size_t n = 0;

	while (n < size) {
		ssize_t k = read(fd, buf + n, size - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*got = n;
	return 0;
}

/* Small files are read (cheaper than a mapping); big ones are mapped. */
static int load(int fd, const char *path, size_t size, unsigned char **data,
		size_t *len, int *mapped)
{
	void *p;

	if (size <= READ_MAX) {
		if (!(*data = av_malloc(size)))
			return AV_ERROR;
		if (read_full(fd, *data, size, len) < 0)
			return av_error_set_errno(AV_EIO, errno, "cannot read '%s'", path);
		return 0;
	}
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return av_error_set_errno(AV_EIO, errno, "cannot map '%s'", path);
	madvise(p, size, MADV_SEQUENTIAL);
	*data = p;
	*len = size;
	*mapped = 1;
	return 0;
}

int av_deb_read(av_deb_info **out, const char *path)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int fd, mapped = 0, rc;
	struct stat st;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return av_error_set_errno(errno == ENOENT ? AV_ENOTFOUND : AV_EIO,
					  errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot stat '%s'", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = av_error_set(AV_EINVALID, "'%s' is not a regular file", path);
		goto done;
	}
	if (st.st_size > 0 &&
	    (rc = load(fd, path, (size_t)st.st_size, &data, &len, &mapped)))
		goto done;
	rc = deb_parse(out, path, data, len);
done:
	if (mapped)
		munmap(data, len);
	else
		free(data);
	close(fd);
	return rc;
}

void av_deb_info_free(av_deb_info *info)
{
	if (!info)
		return;
	av_stanza_free(info->stanza);
	free(info->contents);
	free(info);
}
