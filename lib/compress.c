/*
 * compress.c - compressed index files from cached pieces (see compress.h).
 *
 * Levels, measured on a 100 KB chunk of generated Packages text (one
 * core, liblzma 5.4.1, libzstd 1.5.4, zlib 1.2.13; the test
 * log_the_cost_of_one_100k_chunk in tests/unit/test_compress.c logs
 * some of these figures again):
 *
 *   gzip -6  28946 bytes   2.5 ms     gzip -9  28559 bytes   3.4 ms
 *   xz -6    24252 bytes  33.5 ms     xz -6, dictionary cut to the chunk
 *                                             24252 bytes  26.3 ms
 *   xz -9    24252 bytes  40.4 ms     (the same options as -6 but the
 *                                      dictionary, useless below 8 MiB)
 *   zstd 12  26980 bytes   5.3 ms     zstd 15  24614 bytes  14.8 ms
 *   zstd 16-18 24587 bytes 19 ms      zstd 19  24540 bytes  34.4 ms
 *
 * So: gzip -6 (gzip's default: -9 is 1.3% smaller but a third slower,
 * and a first publish of 10,000 packages spent 43% of its time in zlib
 * at -9: 1.37 s against 1.01 s at -6 with the other changes of that
 * commit); xz preset 6, with the dictionary cut to the chunk's size (same
 * output size, a fifth faster, 2.5 MiB of encoder memory per thread
 * instead of 93 MiB, and 192 KiB for apt to decode instead of 8 MiB);
 * zstd 15, within 0.3% of 19 at 2.3 times the speed.
 */
#include <stdint.h>
#include <limits.h>
#define ZLIB_CONST
#include <zlib.h>
#include <libdeflate.h>
#include <lzma.h>
#include <zstd.h>
#include <bzlib.h>
#include "aptvault/compress.h"
#include "internal.h"

#define GZ_LEVEL	6
#define GZ_XFL		0		/* neither fastest nor maximum */
#define GZ_OS_UNIX	3
#define GZ_HEAD		10
#define GZ_TAIL		8
#define XZ_PRESET	6
#define XZ_CHECK	LZMA_CHECK_CRC64
#define XZ_PIECE_MAGIC	"AVxz"
#define XZ_PIECE_VER	1
#define XZ_PIECE_HEAD	24
#define XZ_MEMLIMIT	((uint64_t)256 << 20)	/* xz -9 needs 65 MiB */
#define ZST_LEVEL	15
#define BZ2_BLOCK	9
#define STEP		((size_t)1 << 30)	/* what fits a uInt/unsigned */
#define OUT_STEP	((size_t)1 << 16)

static const struct comp_info {
	const char *name;
	const char *ext;
	const char *magic;
	size_t magic_len;
} infos[] = {
	[AV_COMP_NONE] = { "none", "", "", 0 },
	[AV_COMP_GZ] = { "gzip", ".gz", "\x1f\x8b\x08", 3 },
	[AV_COMP_XZ] = { "xz", ".xz", XZ_PIECE_MAGIC, 4 },
	[AV_COMP_ZST] = { "zstd", ".zst", "\x28\xb5\x2f\xfd", 4 },
	[AV_COMP_BZ2] = { "bzip2", ".bz2", "BZh", 3 },
};

static const struct comp_info *info_of(av_comp c)
{
	return (unsigned)c < AV_ARRAY_SIZE(infos) ? &infos[c] : NULL;
}

static int bad_comp(av_comp c)
{
	return av_error_set(AV_EINVALID, "unknown compression %d", (int)c);
}

const char *av_comp_ext(av_comp c)
{
	const struct comp_info *i = info_of(c);

	return i ? i->ext : "";
}

int av_comp_parse(av_comp *out, const char *name)
{
	static const struct { const char *name; av_comp c; } names[] = {
		{ "none", AV_COMP_NONE }, { "gz", AV_COMP_GZ },
		{ "gzip", AV_COMP_GZ }, { "xz", AV_COMP_XZ },
		{ "zst", AV_COMP_ZST }, { "zstd", AV_COMP_ZST },
		{ "bz2", AV_COMP_BZ2 }, { "bzip2", AV_COMP_BZ2 },
	};

	for (size_t i = 0; i < AV_ARRAY_SIZE(names); i++) {
		if (!strcmp(name, names[i].name)) {
			*out = names[i].c;
			return 0;
		}
	}
	return av_error_set(AV_EINVALID, "unknown compression '%s'; "
			    "use none, gz, xz, zst or bz2", name);
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static const char *xz_strerror(lzma_ret r)
{
	switch (r) {
	case LZMA_MEM_ERROR: return "out of memory";
	case LZMA_MEMLIMIT_ERROR: return "needs more than 256 MiB of memory";
	case LZMA_FORMAT_ERROR: return "not in xz format";
	case LZMA_OPTIONS_ERROR: return "unsupported options";
	case LZMA_DATA_ERROR: return "data is corrupt";
	case LZMA_BUF_ERROR: return "unexpected end of compressed data";
	case LZMA_PROG_ERROR: return "invalid arguments";
	default: return "unexpected liblzma error";
	}
}

/* ---- gzip ---- */

static void gz_put_header(unsigned char *p)
{
	static const unsigned char head[GZ_HEAD] = {
		0x1f, 0x8b, 8, 0, 0, 0, 0, 0, GZ_XFL, GZ_OS_UNIX
	};

	memcpy(p, head, GZ_HEAD);
}

/*
 * The deflate stream is libdeflate's (whole buffer at once: a chunk is
 * in memory anyway); the header and trailer are ours.  On the test's
 * 100 KB chunk, libdeflate 1.14 at level 6 gives 26457 bytes in 1.9 ms
 * where zlib 1.2.13 at 6 gave 28946 bytes in 2.5 ms on the chunk the
 * figures at the top were measured on (not the same text: compare the
 * sizes with care).  Published through the whole command, the first
 * publish of the bench's 3,395-package set went from 0.45 to 0.35 s
 * with this and the per-worker store readers of the same commit.
 */
static int gz_piece(av_buf *out, const unsigned char *data, size_t len)
{
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(GZ_LEVEL);
	unsigned char *p;
	size_t bound, n;
	int rc;

	if (!c)
		return av_error_set(AV_ERROR, "cannot start libdeflate's compressor");
	bound = libdeflate_deflate_compress_bound(c, len);
	if ((rc = av_buf_grow(out, GZ_HEAD + bound + GZ_TAIL))) {
		libdeflate_free_compressor(c);
		return rc;
	}
	p = (unsigned char *)out->ptr + out->len;
	gz_put_header(p);
	n = libdeflate_deflate_compress(c, data, len, p + GZ_HEAD, bound);
	libdeflate_free_compressor(c);
	if (!n)
		return av_error_set(AV_ERROR, "libdeflate could not compress %zu bytes", len);
	p += GZ_HEAD + n;
	put_le32(p, libdeflate_crc32(0, data, len));
	put_le32(p + 4, (uint32_t)len);	/* ISIZE is the size mod 2^32 */
	out->len += GZ_HEAD + n + GZ_TAIL;
	out->ptr[out->len] = '\0';
	return 0;
}

/* ---- xz ---- */

/* The preset's dictionary, cut to the smallest power of two that holds
 * the whole chunk: a bigger one cannot find more matches. */
static uint32_t xz_dict_for(size_t len, uint32_t preset_dict)
{
	uint32_t d = LZMA_DICT_SIZE_MIN;

	while (d < len && d < preset_dict)
		d *= 2;
	return d < preset_dict ? d : preset_dict;
}

static void xz_piece_header(unsigned char *p, uint64_t uncompressed,
			    uint64_t unpadded)
{
	memset(p, 0, XZ_PIECE_HEAD);
	memcpy(p, XZ_PIECE_MAGIC, 4);
	p[4] = XZ_PIECE_VER;
	p[5] = XZ_CHECK;
	put_le64(p + 8, uncompressed);
	put_le64(p + 16, unpadded);
}

/* An empty chunk adds nothing to the stream: no block, and join skips it. */
static int xz_empty_piece(av_buf *out)
{
	unsigned char head[XZ_PIECE_HEAD];

	xz_piece_header(head, 0, 0);
	return av_buf_put(out, head, sizeof(head));
}

static int xz_piece(av_buf *out, const unsigned char *data, size_t len)
{
	lzma_options_lzma opt;
	lzma_filter filters[2];
	lzma_block block;
	size_t bound, pos = 0;
	lzma_ret r;
	int rc;

	if (len == 0)
		return xz_empty_piece(out);
	if (lzma_lzma_preset(&opt, XZ_PRESET))
		return av_error_set(AV_ERROR, "cannot compress with xz: "
				    "liblzma has no preset %d", XZ_PRESET);
	opt.dict_size = xz_dict_for(len, opt.dict_size);
	filters[0].id = LZMA_FILTER_LZMA2;
	filters[0].options = &opt;
	filters[1].id = LZMA_VLI_UNKNOWN;
	filters[1].options = NULL;
	memset(&block, 0, sizeof(block));
	block.version = 0;
	block.check = XZ_CHECK;
	block.filters = filters;
	if (!(bound = lzma_block_buffer_bound(len)))
		return av_error_set(AV_EINVALID, "cannot compress with xz: "
				    "chunk of %zu bytes is too large", len);
	if ((rc = av_buf_grow(out, XZ_PIECE_HEAD + bound)))
		return rc;
	r = lzma_block_buffer_encode(&block, NULL, data, len,
			(uint8_t *)out->ptr + out->len + XZ_PIECE_HEAD, &pos, bound);
	if (r != LZMA_OK)
		return av_error_set(AV_ERROR, "cannot compress with xz: %s",
				    xz_strerror(r));
	xz_piece_header((unsigned char *)out->ptr + out->len, len,
			lzma_block_unpadded_size(&block));
	out->len += XZ_PIECE_HEAD + pos;
	out->ptr[out->len] = '\0';
	return 0;
}

struct xz_block {
	const uint8_t *data;	/* the padded block */
	size_t size;
	lzma_vli unpadded;
	lzma_vli uncompressed;
};

static int bad_piece(size_t i, const char *why)
{
	return av_error_set(AV_EINVALID, "cannot join xz piece %zu: %s; "
			    "discard the cached piece and compress it again",
			    i, why);
}

/* Does the block's own header (CRC32-protected) agree with ours? */
static int xz_block_check(const struct xz_block *b, size_t i)
{
	lzma_filter filters[LZMA_FILTERS_MAX + 1];
	lzma_block block;
	lzma_ret r;
	int ok;

	memset(&block, 0, sizeof(block));
	block.version = 0;
	block.check = XZ_CHECK;
	block.filters = filters;
	block.header_size = lzma_block_header_size_decode(b->data[0]);
	if (b->data[0] == 0 || block.header_size > b->size)
		return bad_piece(i, "no block header");
	if ((r = lzma_block_header_decode(&block, NULL, b->data)) != LZMA_OK)
		return bad_piece(i, xz_strerror(r));
	for (size_t f = 0; filters[f].id != LZMA_VLI_UNKNOWN; f++)
		free(filters[f].options);
	ok = block.uncompressed_size == b->uncompressed &&
	     block.compressed_size != LZMA_VLI_UNKNOWN &&
	     lzma_block_unpadded_size(&block) == b->unpadded;
	return ok ? 0 : bad_piece(i, "sizes disagree with the block header");
}

/* Read piece i's header; an empty chunk's piece has b->size 0. */
static int xz_piece_parse(struct xz_block *b, const av_comp_span *p, size_t i)
{
	const unsigned char *h = p->ptr;
	static const unsigned char zero[2];

	memset(b, 0, sizeof(*b));
	if (p->len < XZ_PIECE_HEAD || memcmp(h, XZ_PIECE_MAGIC, 4))
		return bad_piece(i, "not an xz piece");
	if (h[4] != XZ_PIECE_VER || h[5] != XZ_CHECK || memcmp(h + 6, zero, 2))
		return bad_piece(i, "unsupported piece format");
	b->uncompressed = get_le64(h + 8);
	b->unpadded = get_le64(h + 16);
	b->data = h + XZ_PIECE_HEAD;
	b->size = p->len - XZ_PIECE_HEAD;
	if (b->unpadded == 0)
		return b->uncompressed == 0 && b->size == 0 ? 0 :
			bad_piece(i, "sizes disagree with the piece length");
	if (b->unpadded > LZMA_VLI_MAX || b->uncompressed > LZMA_VLI_MAX ||
	    ((b->unpadded + 3) & ~(lzma_vli)3) != b->size)
		return bad_piece(i, "sizes disagree with the piece length");
	return xz_block_check(b, i);
}

static int xz_put_flags(av_buf *out, lzma_vli backward_size, int footer)
{
	lzma_stream_flags flags;
	uint8_t head[LZMA_STREAM_HEADER_SIZE];
	lzma_ret r;

	memset(&flags, 0, sizeof(flags));
	flags.version = 0;
	flags.check = XZ_CHECK;
	flags.backward_size = backward_size;
	r = footer ? lzma_stream_footer_encode(&flags, head) :
		lzma_stream_header_encode(&flags, head);
	if (r != LZMA_OK)
		return av_error_set(AV_ERROR, "cannot write xz stream %s: %s",
				    footer ? "footer" : "header", xz_strerror(r));
	return av_buf_put(out, head, sizeof(head));
}

static int xz_put_index(av_buf *out, const lzma_index *idx)
{
	lzma_vli size = lzma_index_size(idx);
	size_t pos = 0;
	lzma_ret r;
	int rc;

	if ((rc = av_buf_grow(out, size)))
		return rc;
	r = lzma_index_buffer_encode(idx, (uint8_t *)out->ptr + out->len, &pos, size);
	if (r != LZMA_OK)
		return av_error_set(AV_ERROR, "cannot write xz index: %s",
				    xz_strerror(r));
	out->len += pos;
	out->ptr[out->len] = '\0';
	return 0;
}

static int xz_join(av_buf *out, const av_comp_span *pieces, size_t n)
{
	lzma_index *idx = lzma_index_init(NULL);
	struct xz_block b;
	lzma_ret r;
	int rc;

	if (!idx)
		return av_error_set(AV_ERROR, "cannot join xz pieces: out of memory");
	if ((rc = xz_put_flags(out, 0, 0)))
		goto done;
	for (size_t i = 0; i < n; i++) {
		if ((rc = xz_piece_parse(&b, &pieces[i], i)))
			goto done;
		if (b.size == 0)
			continue;
		r = lzma_index_append(idx, NULL, b.unpadded, b.uncompressed);
		if (r != LZMA_OK) {
			rc = av_error_set(AV_EINVALID, "cannot join xz piece %zu: "
					  "%s", i, xz_strerror(r));
			goto done;
		}
		if ((rc = av_buf_put(out, b.data, b.size)))
			goto done;
	}
	if (!(rc = xz_put_index(out, idx)))
		rc = xz_put_flags(out, lzma_index_size(idx), 1);
done:
	lzma_index_end(idx, NULL);
	return rc;
}

/* ---- zstd ---- */

static int zst_piece(av_buf *out, const unsigned char *data, size_t len)
{
	ZSTD_CCtx *cctx = NULL;
	size_t bound = ZSTD_compressBound(len), r;
	int rc;

	if (ZSTD_isError(bound) || bound == 0)
		return av_error_set(AV_EINVALID, "cannot compress with zstd: "
				    "chunk of %zu bytes is too large", len);
	if ((rc = av_buf_grow(out, bound)))
		return rc;
	if (!(cctx = ZSTD_createCCtx()))
		return av_error_set(AV_ERROR, "cannot compress with zstd: out of memory");
	r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, ZST_LEVEL);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(r))
		r = ZSTD_compress2(cctx, out->ptr + out->len, bound, data, len);
	ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(r))
		return av_error_set(AV_ERROR, "cannot compress with zstd: %s",
				    ZSTD_getErrorName(r));
	out->len += r;
	out->ptr[out->len] = '\0';
	return 0;
}

/* ---- bzip2 ---- */

static const char *bz_strerror(int r)
{
	switch (r) {
	case BZ_MEM_ERROR: return "out of memory";
	case BZ_OUTBUFF_FULL: return "output overflow";
	case BZ_DATA_ERROR: return "data is corrupt";
	case BZ_DATA_ERROR_MAGIC: return "not in bzip2 format";
	case BZ_UNEXPECTED_EOF: return "unexpected end of compressed data";
	case BZ_CONFIG_ERROR: return "libbz2 is miscompiled";
	default: return "unexpected libbz2 error";
	}
}

static int bz2_piece(av_buf *out, const unsigned char *data, size_t len)
{
	size_t bound = len + len / 100 + 600;	/* bzlib's documented bound */
	unsigned dlen;
	int r, rc;

	if (len > UINT_MAX || bound > UINT_MAX)
		return av_error_set(AV_EINVALID, "cannot compress with bzip2: "
				    "%zu bytes is over its 4 GiB limit", len);
	if ((rc = av_buf_grow(out, bound)))
		return rc;
	dlen = (unsigned)bound;
	/* bzlib only reads source; its prototype predates const */
	r = BZ2_bzBuffToBuffCompress(out->ptr + out->len, &dlen,
				     (char *)(uintptr_t)data, (unsigned)len,
				     BZ2_BLOCK, 0, 0);
	if (r != BZ_OK)
		return av_error_set(AV_ERROR, "cannot compress with bzip2: %s",
				    bz_strerror(r));
	out->len += dlen;
	out->ptr[out->len] = '\0';
	return 0;
}

/* ---- pieces and joins ---- */

int av_comp_piece(av_comp c, av_buf *out, const void *data, size_t len)
{
	size_t start = out->len;
	int rc;

	switch (c) {
	case AV_COMP_NONE: rc = av_buf_put(out, data, len); break;
	case AV_COMP_GZ: rc = gz_piece(out, data, len); break;
	case AV_COMP_XZ: rc = xz_piece(out, data, len); break;
	case AV_COMP_ZST: rc = zst_piece(out, data, len); break;
	case AV_COMP_BZ2: rc = bz2_piece(out, data, len); break;
	default: return bad_comp(c);
	}
	if (rc)
		av_buf_truncate(out, start);
	return rc;
}

/* Formats whose pieces are complete files: check and concatenate. */
static int cat_join(av_comp c, av_buf *out, const av_comp_span *pieces, size_t n)
{
	const struct comp_info *info = info_of(c);
	int rc;

	if (n == 0 && c != AV_COMP_NONE)
		return av_comp_piece(c, out, "", 0);
	if (n > 1 && c == AV_COMP_BZ2)
		return av_error_set(AV_EINVALID, "cannot join %zu bzip2 pieces: "
				    "not every reader reads past the first "
				    "stream; compress the index as one piece", n);
	for (size_t i = 0; i < n; i++) {
		if (info->magic_len && (pieces[i].len < info->magic_len ||
		    memcmp(pieces[i].ptr, info->magic, info->magic_len)))
			return av_error_set(AV_EINVALID, "cannot join %s piece "
					    "%zu: not in %s format", info->name,
					    i, info->name);
		if ((rc = av_buf_put(out, pieces[i].ptr, pieces[i].len)))
			return rc;
	}
	return 0;
}

int av_comp_join(av_comp c, av_buf *out, const av_comp_span *pieces, size_t n)
{
	size_t start = out->len;
	int rc;

	if (!info_of(c))
		return bad_comp(c);
	rc = c == AV_COMP_XZ ? xz_join(out, pieces, n) : cat_join(c, out, pieces, n);
	if (rc)
		av_buf_truncate(out, start);
	return rc;
}

/* ---- decompression ---- */

/*
 * One decoder over the whole input.  A step decodes into dst (room
 * bytes), advances in/left past what it consumed, and sets ended once
 * the data is over and its checks passed; it returns 0 or sets why.
 */
struct unzip {
	av_comp c;
	int live;
	int ended;
	const unsigned char *in;	/* input not yet given to the decoder */
	size_t left;
	const char *why;
	union {
		z_stream z;
		lzma_stream x;
		ZSTD_DCtx *zs;
		bz_stream b;
	} u;
};

static size_t unzip_take(struct unzip *u, const unsigned char **p)
{
	size_t n = min_size(u->left, STEP);

	*p = u->in;
	u->in += n;
	u->left -= n;
	return n;
}

static int gz_step(struct unzip *u, unsigned char *dst, size_t room, size_t *got)
{
	z_stream *z = &u->u.z;
	int zr;

	if (z->avail_in == 0)
		z->avail_in = (uInt)unzip_take(u, &z->next_in);
	z->next_out = dst;
	z->avail_out = (uInt)room;
	zr = inflate(z, Z_NO_FLUSH);
	*got = room - z->avail_out;
	if (zr == Z_STREAM_END) {
		if (z->avail_in == 0 && u->left == 0) {
			u->ended = 1;
			return 0;
		}
		/* Another member follows, as gzip -d and zlib's gzread read;
		 * anything else must start like one and fails below. */
		zr = inflateReset(z);
	}
	if (zr == Z_OK)
		return 0;
	u->why = zr == Z_BUF_ERROR ? "unexpected end of compressed data" :
		z->msg ? z->msg : "data is corrupt";
	return -1;
}

static int xz_step(struct unzip *u, unsigned char *dst, size_t room, size_t *got)
{
	lzma_stream *x = &u->u.x;
	lzma_ret r;

	if (x->avail_in == 0)
		x->avail_in = unzip_take(u, &x->next_in);
	x->next_out = dst;
	x->avail_out = room;
	r = lzma_code(x, u->left ? LZMA_RUN : LZMA_FINISH);
	*got = room - x->avail_out;
	if (r == LZMA_STREAM_END) {
		if (x->avail_in || u->left) {
			u->why = "data after the end of the xz stream (apt "
				 "would ignore it)";
			return -1;
		}
		u->ended = 1;
	} else if (r != LZMA_OK) {
		u->why = xz_strerror(r);
		return -1;
	}
	return 0;
}

static int zst_step(struct unzip *u, unsigned char *dst, size_t room, size_t *got)
{
	ZSTD_inBuffer in = { u->in, u->left, 0 };
	ZSTD_outBuffer out = { dst, room, 0 };
	size_t r = ZSTD_decompressStream(u->u.zs, &out, &in);

	u->in += in.pos;
	u->left -= in.pos;
	*got = out.pos;
	if (ZSTD_isError(r)) {
		u->why = ZSTD_getErrorName(r);
		return -1;
	}
	if (u->left || out.pos == out.size)
		return 0;
	if (r != 0) {		/* a frame is unfinished and input is over */
		u->why = "unexpected end of compressed data";
		return -1;
	}
	u->ended = 1;
	return 0;
}

static int bz2_step(struct unzip *u, unsigned char *dst, size_t room, size_t *got)
{
	bz_stream *b = &u->u.b;
	const unsigned char *in;
	int r;

	if (b->avail_in == 0) {
		b->avail_in = (unsigned)unzip_take(u, &in);
		b->next_in = (char *)(uintptr_t)in;	/* bzlib only reads it */
	}
	b->next_out = (char *)dst;
	b->avail_out = (unsigned)room;
	r = BZ2_bzDecompress(b);
	*got = room - b->avail_out;
	if (r == BZ_STREAM_END) {
		if (b->avail_in || u->left) {
			u->why = "data after the end of the bzip2 stream";
			return -1;
		}
		u->ended = 1;
		return 0;
	}
	if (r == BZ_OK && (*got || b->avail_in || u->left))
		return 0;
	u->why = r == BZ_OK ? "unexpected end of compressed data" : bz_strerror(r);
	return -1;
}

static int none_step(struct unzip *u, unsigned char *dst, size_t room, size_t *got)
{
	*got = min_size(room, u->left);
	memcpy(dst, u->in, *got);
	u->in += *got;
	u->left -= *got;
	u->ended = u->left == 0;
	return 0;
}

static int unzip_start(struct unzip *u)
{
	lzma_stream init = LZMA_STREAM_INIT;

	switch (u->c) {
	case AV_COMP_GZ:
		u->live = inflateInit2(&u->u.z, 16 + MAX_WBITS) == Z_OK;
		break;
	case AV_COMP_XZ:
		u->u.x = init;
		/* no LZMA_CONCATENATED: read what apt reads */
		u->live = lzma_stream_decoder(&u->u.x, XZ_MEMLIMIT, 0) == LZMA_OK;
		break;
	case AV_COMP_ZST:
		u->live = (u->u.zs = ZSTD_createDCtx()) != NULL;
		break;
	case AV_COMP_BZ2:
		u->live = BZ2_bzDecompressInit(&u->u.b, 0, 0) == BZ_OK;
		break;
	default:
		return 0;
	}
	return u->live ? 0 : av_error_set(AV_ERROR, "cannot start the %s "
					  "decompressor", info_of(u->c)->name);
}

static void unzip_end(struct unzip *u)
{
	if (!u->live)
		return;
	switch (u->c) {
	case AV_COMP_GZ: inflateEnd(&u->u.z); break;
	case AV_COMP_XZ: lzma_end(&u->u.x); break;
	case AV_COMP_ZST: ZSTD_freeDCtx(u->u.zs); break;
	case AV_COMP_BZ2: BZ2_bzDecompressEnd(&u->u.b); break;
	default: break;
	}
}

/* Input not yet consumed, to tell a stalled decoder from a busy one. */
static size_t unzip_pending(const struct unzip *u)
{
	switch (u->c) {
	case AV_COMP_GZ: return u->left + u->u.z.avail_in;
	case AV_COMP_XZ: return u->left + u->u.x.avail_in;
	case AV_COMP_BZ2: return u->left + u->u.b.avail_in;
	default: return u->left;
	}
}

static int unzip_step(struct unzip *u, unsigned char *dst, size_t room, size_t *got)
{
	switch (u->c) {
	case AV_COMP_GZ: return gz_step(u, dst, room, got);
	case AV_COMP_XZ: return xz_step(u, dst, room, got);
	case AV_COMP_ZST: return zst_step(u, dst, room, got);
	case AV_COMP_BZ2: return bz2_step(u, dst, room, got);
	default: return none_step(u, dst, room, got);
	}
}

/* Decode everything into out, at most max bytes past start. */
static int unzip_run(struct unzip *u, av_buf *out, size_t start, size_t max)
{
	const char *name = info_of(u->c)->name;
	int stalls = 0, rc;

	while (!u->ended) {
		size_t done = out->len - start, got = 0, before = unzip_pending(u);
		size_t room = max - done < OUT_STEP ? max - done + 1 : OUT_STEP;

		if ((rc = av_buf_grow(out, room)))
			return rc;
		rc = unzip_step(u, (unsigned char *)out->ptr + out->len, room, &got);
		out->len += got;
		out->ptr[out->len] = '\0';
		if (out->len - start > max)
			return av_error_set(AV_EINVALID, "%s data decompresses "
					    "to more than %zu bytes", name, max);
		if (rc)
			return av_error_set(AV_EINVALID, "cannot decompress %s "
					    "data: %s", name, u->why);
		stalls = got || before != unzip_pending(u) ? 0 : stalls + 1;
		if (stalls > 2)
			return av_error_set(AV_EINVALID, "cannot decompress %s "
					    "data: unexpected end of compressed "
					    "data", name);
	}
	return 0;
}

int av_comp_decompress(av_comp c, av_buf *out, const void *data, size_t len,
		       size_t max)
{
	struct unzip u;
	size_t start = out->len;
	int rc;

	if (!info_of(c))
		return bad_comp(c);
	memset(&u, 0, sizeof(u));
	u.c = c;
	u.in = data;
	u.left = len;
	u.ended = c == AV_COMP_NONE && len == 0;
	if (!(rc = unzip_start(&u)))
		rc = unzip_run(&u, out, start, max);
	unzip_end(&u);
	if (rc)
		av_buf_truncate(out, start);
	return rc;
}
