/* test_compress.c - index files joined from pieces, read by the real tools. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <lzma.h>
#include <zstd.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include "aptvault/compress.h"
#include "aptvault/error.h"
#include "fixtures.h"

#define TEXT_SIZE	((size_t)1 << 20)
#define CHUNK_SIZE	((size_t)100 * 1000)
#define MAX_CHUNKS	64
#define APT_HELPER	"/usr/lib/apt/apt-helper"

static const av_comp all_comps[] = {
	AV_COMP_NONE, AV_COMP_GZ, AV_COMP_XZ, AV_COMP_ZST, AV_COMP_BZ2,
};

/* ---- a deterministic Packages-like text, cut at stanza boundaries ---- */

static uint64_t rng_state;

static unsigned rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng_state >> 33);
}

static const char *word(void)
{
	static const char *words[] = { "library", "utility", "for", "the",
		"GNU", "system", "data", "files", "package", "contains",
		"shared", "development", "headers", "documentation", "python",
		"module", "perl", "tool", "network", "daemon", "client" };

	return words[rng() % (sizeof(words) / sizeof(words[0]))];
}

static void hex(char *p, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = "0123456789abcdef"[rng() & 15];
	p[n] = '\0';
}

static void gen_text(av_buf *out, size_t target)
{
	char md5[33], sha[65];

	rng_state = 42;
	for (unsigned n = 0; out->len < target; n++) {
		hex(md5, 32);
		hex(sha, 64);
		cr_assert_eq(av_buf_printf(out,
			"Package: pkg%u\nVersion: %u.%u-%u\nArchitecture: amd64\n"
			"Maintainer: Dev %u <dev%u@example.org>\nInstalled-Size: %u\n"
			"Depends: libc6 (>= 2.%u), pkg%u\n"
			"Filename: pool/main/p/pkg%u/pkg%u_%u_amd64.deb\nSize: %u\n"
			"MD5sum: %s\nSHA256: %s\nDescription: %s %s %s\n %s %s %s.\n\n",
			n, rng() % 10, rng() % 20, rng() % 5, rng() % 50, rng() % 50,
			rng() % 9000, rng() % 36, rng() % (n + 1), n, n, rng() % 10,
			rng() % 900000, md5, sha, word(), word(), word(), word(),
			word(), word()), 0);
	}
}

/* Chunks of about size bytes, each ending after a stanza's blank line. */
static size_t cut_chunks(const av_buf *text, size_t size, av_comp_span *out)
{
	size_t n = 0, at = 0;

	while (at < text->len) {
		const char *end = text->ptr + text->len, *p;

		p = at + size >= text->len ? end : strstr(text->ptr + at + size, "\n\n");
		p = p && p != end ? p + 2 : end;
		cr_assert_lt(n, MAX_CHUNKS);
		out[n].ptr = text->ptr + at;
		out[n].len = (size_t)(p - (text->ptr + at));
		at += out[n++].len;
	}
	return n;
}

/* ---- making files ---- */

struct made {
	av_buf pieces[MAX_CHUNKS];
	av_comp_span spans[MAX_CHUNKS];
	size_t n;
	av_buf file;
};

static void make(struct made *m, av_comp c, const av_comp_span *chunks, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(av_comp_piece(c, &m->pieces[i], chunks[i].ptr,
					   chunks[i].len), 0, "%s", av_error_last());
		m->spans[i].ptr = m->pieces[i].ptr;
		m->spans[i].len = m->pieces[i].len;
	}
	cr_assert_eq(av_comp_join(c, &m->file, m->spans, n), 0, "%s", av_error_last());
}

static void made_dispose(struct made *m)
{
	for (size_t i = 0; i < m->n; i++)
		av_buf_dispose(&m->pieces[i]);
	av_buf_dispose(&m->file);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot write %s", path);
	cr_assert(len == 0 || fwrite(data, 1, len, f) == len);
	cr_assert_eq(fclose(f), 0);
}

static void read_file(const char *path, av_buf *out)
{
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	cr_assert_not_null(f, "cannot read %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		cr_assert_eq(av_buf_put(out, chunk, n), 0);
	cr_assert_eq(fclose(f), 0);
}

static void require_tool(const char *tool)
{
	cr_assert_eq(fx_sh("command -v %s >/dev/null 2>&1", tool), 0,
		     "'%s' is not installed; these tests need it", tool);
}

/* The system tool and apt's own reader give back exactly want. */
static void expect_tools_read(av_comp c, const av_buf *file, const av_buf *want)
{
	static const char *tools[] = { "cat", "gzip", "xz", "zstd", "bzip2" };
	char *dir = fx_tmpdir(), name[64], cmd[64], path[4200];
	av_buf got = AV_BUF_INIT;

	require_tool(tools[c]);
	cr_assert_eq(access(APT_HELPER, X_OK), 0, "%s is missing (apt)", APT_HELPER);
	snprintf(name, sizeof(name), "Packages%s", av_comp_ext(c));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_file(path, file->ptr, file->len);
	snprintf(cmd, sizeof(cmd), c == AV_COMP_NONE ? "cat" : "%s -dc", tools[c]);
	for (int apt = 0; apt < 2; apt++) {
		const char *run = apt ? APT_HELPER " cat-file" : cmd;

		cr_assert_eq(fx_sh("%s '%s' > '%s/out'", run, path, dir), 0,
			     "'%s %s' failed", run, name);
		snprintf(path, sizeof(path), "%s/out", dir);
		av_buf_clear(&got);
		read_file(path, &got);
		cr_assert_eq(got.len, want->len, "'%s %s' gave %zu bytes, want %zu",
			     run, name, got.len, want->len);
		cr_assert(!want->len || !memcmp(got.ptr, want->ptr, want->len),
			  "'%s %s' gave other bytes", run, name);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	}
	cr_assert_eq(fx_sh("rm -rf '%s'", dir), 0);
	av_buf_dispose(&got);
	free(dir);
}

static void expect_round_trip(av_comp c, const av_buf *file, const av_buf *want)
{
	av_buf got = AV_BUF_INIT;

	cr_assert_eq(av_comp_decompress(c, &got, file->ptr, file->len, want->len),
		     0, "%s", av_error_last());
	cr_assert_eq(got.len, want->len);
	cr_assert(!want->len || !memcmp(got.ptr, want->ptr, want->len));
	av_buf_dispose(&got);
}

/* Cut a 1 MB text in chunks, join their pieces, and read the file back. */
static void check_chunked_file(av_comp c, size_t chunk_size, size_t want_chunks)
{
	av_buf text = AV_BUF_INIT;
	av_comp_span chunks[MAX_CHUNKS];
	struct made m;
	size_t n;

	gen_text(&text, TEXT_SIZE);
	n = cut_chunks(&text, chunk_size, chunks);
	cr_assert_geq(n, want_chunks);
	make(&m, c, chunks, n);
	expect_tools_read(c, &m.file, &text);
	expect_round_trip(c, &m.file, &text);
	made_dispose(&m);
	av_buf_dispose(&text);
}

Test(compress, gzip_members_joined_are_read_by_gzip_and_apt)
{
	check_chunked_file(AV_COMP_GZ, CHUNK_SIZE, 10);
}

Test(compress, zstd_frames_joined_are_read_by_zstd_and_apt)
{
	check_chunked_file(AV_COMP_ZST, CHUNK_SIZE, 10);
}

Test(compress, uncompressed_pieces_join_by_concatenation)
{
	check_chunked_file(AV_COMP_NONE, CHUNK_SIZE, 10);
}

Test(compress, bzip2_whole_text_as_one_piece_is_read_by_bzip2_and_apt)
{
	check_chunked_file(AV_COMP_BZ2, 2 * TEXT_SIZE, 1);
}

/* lzma_stream_decoder without LZMA_CONCATENATED, as apt decodes: one
 * lzma_code loop must reach the end having produced the whole text. */
static void expect_one_xz_stream(const av_buf *file, const av_buf *want)
{
	lzma_stream s = LZMA_STREAM_INIT;
	av_buf got = AV_BUF_INIT;
	lzma_ret r;

	cr_assert_eq(av_buf_grow(&got, want->len + 1), 0);
	cr_assert_eq(lzma_stream_decoder(&s, UINT64_MAX, 0), LZMA_OK);
	s.next_in = (const uint8_t *)file->ptr;
	s.avail_in = file->len;
	s.next_out = (uint8_t *)got.ptr;
	s.avail_out = want->len + 1;
	do
		r = lzma_code(&s, LZMA_FINISH);
	while (r == LZMA_OK);
	cr_assert_eq(r, LZMA_STREAM_END, "lzma_code: %d", (int)r);
	cr_assert_eq(s.avail_in, 0, "bytes after the first stream");
	cr_assert_eq(s.total_out, want->len);
	cr_assert(!want->len || !memcmp(got.ptr, want->ptr, want->len));
	lzma_end(&s);
	av_buf_dispose(&got);
}

/* `xz --robot --list` counts the streams and blocks. */
static void expect_xz_list(const av_buf *file, int streams, size_t blocks)
{
	char *dir = fx_tmpdir(), path[4200], want[64];
	av_buf got = AV_BUF_INIT;

	snprintf(path, sizeof(path), "%s/Packages.xz", dir);
	write_file(path, file->ptr, file->len);
	cr_assert_eq(fx_sh("xz --robot --list '%s' | grep '^totals' > '%s/list'",
			   path, dir), 0);
	snprintf(path, sizeof(path), "%s/list", dir);
	read_file(path, &got);
	snprintf(want, sizeof(want), "totals\t%d\t%zu\t", streams, blocks);
	cr_assert(!strncmp(av_buf_cstr(&got), want, strlen(want)),
		  "xz --list: %s", av_buf_cstr(&got));
	cr_assert_eq(fx_sh("rm -rf '%s'", dir), 0);
	av_buf_dispose(&got);
	free(dir);
}

Test(compress, xz_blocks_joined_are_one_stream_read_by_xz_and_apt)
{
	av_buf text = AV_BUF_INIT;
	av_comp_span chunks[MAX_CHUNKS];
	struct made m;
	size_t n;

	gen_text(&text, TEXT_SIZE);
	n = cut_chunks(&text, CHUNK_SIZE, chunks);
	cr_assert_geq(n, 10);
	make(&m, AV_COMP_XZ, chunks, n);
	expect_tools_read(AV_COMP_XZ, &m.file, &text);
	expect_one_xz_stream(&m.file, &text);
	expect_xz_list(&m.file, 1, n);
	expect_round_trip(AV_COMP_XZ, &m.file, &text);
	made_dispose(&m);
	av_buf_dispose(&text);
}

Test(compress, same_input_gives_same_bytes_and_pieces_do_not_depend_on_neighbours)
{
	av_buf text = AV_BUF_INIT;
	av_comp_span chunks[MAX_CHUNKS];

	gen_text(&text, 3 * CHUNK_SIZE);
	cr_assert_geq(cut_chunks(&text, CHUNK_SIZE, chunks), 2);
	for (size_t k = 0; k < sizeof(all_comps) / sizeof(all_comps[0]); k++) {
		av_comp c = all_comps[k];
		size_t n = c == AV_COMP_BZ2 ? 1 : 2;
		struct made ab, again;
		av_buf a = AV_BUF_INIT;

		make(&ab, c, chunks, n);
		make(&again, c, chunks, n);
		cr_assert_eq(ab.file.len, again.file.len, "%s", av_comp_ext(c));
		cr_assert(!memcmp(ab.file.ptr, again.file.ptr, ab.file.len));
		cr_assert_eq(av_comp_piece(c, &a, chunks[0].ptr, chunks[0].len), 0);
		cr_assert_eq(a.len, ab.pieces[0].len, "%s", av_comp_ext(c));
		cr_assert(!memcmp(a.ptr, ab.pieces[0].ptr, a.len));
		av_buf_dispose(&a);
		made_dispose(&ab);
		made_dispose(&again);
	}
	av_buf_dispose(&text);
}

Test(compress, no_chunks_and_an_empty_chunk_give_files_of_nothing)
{
	av_buf empty = AV_BUF_INIT;
	av_comp_span none = { "", 0 };

	for (size_t k = 0; k < sizeof(all_comps) / sizeof(all_comps[0]); k++) {
		av_comp c = all_comps[k];
		struct made zero, one;

		make(&zero, c, NULL, 0);
		make(&one, c, &none, 1);
		cr_assert_eq(zero.file.len == 0, c == AV_COMP_NONE, "%s", av_comp_ext(c));
		expect_tools_read(c, &zero.file, &empty);
		expect_tools_read(c, &one.file, &empty);
		expect_round_trip(c, &zero.file, &empty);
		expect_round_trip(c, &one.file, &empty);
		if (c == AV_COMP_XZ) {
			expect_one_xz_stream(&zero.file, &empty);
			expect_one_xz_stream(&one.file, &empty);
		}
		made_dispose(&zero);
		made_dispose(&one);
	}
}

Test(compress, a_single_chunk_gives_a_complete_file_in_every_format)
{
	static const char stanza[] = "Package: hello\nVersion: 2.10-3\n\n";
	av_comp_span chunk = { stanza, sizeof(stanza) - 1 };
	av_buf want = AV_BUF_INIT;

	cr_assert_eq(av_buf_puts(&want, stanza), 0);
	for (size_t k = 0; k < sizeof(all_comps) / sizeof(all_comps[0]); k++) {
		struct made m;

		make(&m, all_comps[k], &chunk, 1);
		expect_tools_read(all_comps[k], &m.file, &want);
		expect_round_trip(all_comps[k], &m.file, &want);
		made_dispose(&m);
	}
	av_buf_dispose(&want);
}

Test(compress, an_empty_chunk_among_others_is_skipped_in_xz)
{
	av_comp_span chunks[3] = { { "a\n\n", 3 }, { "", 0 }, { "b\n", 2 } };
	av_buf want = AV_BUF_INIT;
	struct made m;

	cr_assert_eq(av_buf_puts(&want, "a\n\nb\n"), 0);
	make(&m, AV_COMP_XZ, chunks, 3);
	expect_one_xz_stream(&m.file, &want);
	expect_xz_list(&m.file, 1, 2);
	made_dispose(&m);
	av_buf_dispose(&want);
}

/* Join one xz piece whose byte at is changed; it must fail cleanly. */
static void expect_bad_xz_piece(size_t at, unsigned char xor)
{
	static const char text[] = "Package: a\n\nPackage: b\n";
	av_buf piece = AV_BUF_INIT, out = AV_BUF_INIT;
	av_comp_span span;

	cr_assert_eq(av_comp_piece(AV_COMP_XZ, &piece, text, sizeof(text) - 1), 0);
	cr_assert_lt(at, piece.len);
	piece.ptr[at] ^= (char)xor;
	span.ptr = piece.ptr;
	span.len = piece.len;
	cr_assert_eq(av_buf_puts(&out, "keep"), 0);
	cr_assert_eq(av_comp_join(AV_COMP_XZ, &out, &span, 1), AV_EINVALID,
		     "byte %zu", at);
	cr_assert_str_eq(av_buf_cstr(&out), "keep", "out changed on failure");
	cr_assert(strstr(av_error_last(), "xz piece 0"), "%s", av_error_last());
	av_buf_dispose(&piece);
	av_buf_dispose(&out);
}

Test(compress, a_corrupt_xz_piece_header_fails_the_join)
{
	expect_bad_xz_piece(0, 0x20);		/* magic */
	expect_bad_xz_piece(4, 0x02);		/* piece version */
	expect_bad_xz_piece(5, 0x05);		/* check ID */
	expect_bad_xz_piece(8, 0x01);		/* uncompressed size */
	expect_bad_xz_piece(16, 0x04);		/* unpadded size, same padding */
	expect_bad_xz_piece(16, 0x01);		/* unpadded size */
	expect_bad_xz_piece(23, 0x80);		/* unpadded size, huge */
	expect_bad_xz_piece(24, 0xff);		/* block header size */
	expect_bad_xz_piece(26, 0x01);		/* block header, under its CRC */
}

Test(compress, pieces_of_another_format_and_several_bzip2_pieces_are_refused)
{
	av_buf gz = AV_BUF_INIT, bz = AV_BUF_INIT, out = AV_BUF_INIT;
	av_comp_span span, two[2];

	cr_assert_eq(av_comp_piece(AV_COMP_GZ, &gz, "x\n", 2), 0);
	span.ptr = gz.ptr;
	span.len = gz.len;
	cr_assert_eq(av_comp_join(AV_COMP_XZ, &out, &span, 1), AV_EINVALID);
	cr_assert_eq(av_comp_join(AV_COMP_ZST, &out, &span, 1), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "not in zstd format"), "%s", av_error_last());
	cr_assert_eq(av_comp_piece(AV_COMP_BZ2, &bz, "x\n", 2), 0);
	two[0].ptr = two[1].ptr = bz.ptr;
	two[0].len = two[1].len = bz.len;
	cr_assert_eq(av_comp_join(AV_COMP_BZ2, &out, two, 2), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "one piece"), "%s", av_error_last());
	cr_assert_eq(out.len, 0);
	cr_assert_eq(av_comp_join((av_comp)42, &out, &span, 1), AV_EINVALID);
	cr_assert_eq(av_comp_piece((av_comp)-1, &out, "x", 1), AV_EINVALID);
	av_buf_dispose(&gz);
	av_buf_dispose(&bz);
	av_buf_dispose(&out);
}

/* Every prefix of a good file, and the file with one byte changed, is an
 * error (never a crash), and out keeps what it had. */
static void expect_damage_detected(av_comp c, const av_buf *file, size_t text_len)
{
	size_t cuts[] = { 0, 1, 5, file->len / 2, file->len - 4, file->len - 1 };
	av_buf out = AV_BUF_INIT;
	av_buf copy = AV_BUF_INIT;

	cr_assert_eq(av_buf_puts(&out, "keep"), 0);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		cr_assert_lt(av_comp_decompress(c, &out, file->ptr, cuts[i], 2 * text_len),
			     0, "%s cut at %zu", av_comp_ext(c), cuts[i]);
		cr_assert_str_eq(av_buf_cstr(&out), "keep");
	}
	cr_assert_eq(av_buf_put(&copy, file->ptr, file->len), 0);
	copy.ptr[file->len / 2] ^= 0x55;
	cr_assert_lt(av_comp_decompress(c, &out, copy.ptr, copy.len, 2 * text_len),
		     0, "%s with a changed byte", av_comp_ext(c));
	cr_assert_eq(av_buf_put(&copy, "\0\0\0\0", 4), 0);
	copy.ptr[file->len / 2] ^= 0x55;
	cr_assert_eq(av_comp_decompress(c, &out, copy.ptr, copy.len, 2 * text_len),
		     AV_EINVALID, "%s with trailing zeros", av_comp_ext(c));
	cr_assert_str_eq(av_buf_cstr(&out), "keep");
	av_buf_dispose(&copy);
	av_buf_dispose(&out);
}

Test(compress, truncated_or_damaged_files_fail_to_decompress)
{
	av_buf text = AV_BUF_INIT;
	av_comp_span chunks[MAX_CHUNKS];
	size_t n;

	gen_text(&text, 3 * CHUNK_SIZE);
	n = cut_chunks(&text, CHUNK_SIZE, chunks);
	for (size_t k = 1; k < sizeof(all_comps) / sizeof(all_comps[0]); k++) {
		av_comp c = all_comps[k];
		struct made m;

		make(&m, c, chunks, c == AV_COMP_BZ2 ? 1 : n);
		expect_damage_detected(c, &m.file, text.len);
		made_dispose(&m);
	}
	av_buf_dispose(&text);
}

Test(compress, a_second_xz_stream_is_an_error_as_apt_would_drop_it)
{
	av_buf a = AV_BUF_INIT, twice = AV_BUF_INIT, out = AV_BUF_INIT;
	av_comp_span span;

	cr_assert_eq(av_comp_piece(AV_COMP_XZ, &a, "x\n", 2), 0);
	span.ptr = a.ptr;
	span.len = a.len;
	cr_assert_eq(av_comp_join(AV_COMP_XZ, &twice, &span, 1), 0);
	cr_assert_eq(av_comp_join(AV_COMP_XZ, &twice, &span, 1), 0);
	cr_assert_eq(av_comp_decompress(AV_COMP_XZ, &out, twice.ptr, twice.len, 100),
		     AV_EINVALID);
	cr_assert(strstr(av_error_last(), "after the end of the xz stream"),
		  "%s", av_error_last());
	cr_assert_eq(out.len, 0);
	av_buf_dispose(&a);
	av_buf_dispose(&twice);
	av_buf_dispose(&out);
}

Test(compress, decompressing_more_than_max_bytes_is_refused)
{
	av_buf text = AV_BUF_INIT;
	av_comp_span chunk;

	gen_text(&text, CHUNK_SIZE);
	chunk.ptr = text.ptr;
	chunk.len = text.len;
	for (size_t k = 0; k < sizeof(all_comps) / sizeof(all_comps[0]); k++) {
		struct made m;
		av_buf out = AV_BUF_INIT;

		make(&m, all_comps[k], &chunk, 1);
		cr_assert_eq(av_comp_decompress(all_comps[k], &out, m.file.ptr,
						m.file.len, text.len - 1), AV_EINVALID);
		cr_assert(strstr(av_error_last(), "more than"), "%s", av_error_last());
		cr_assert_eq(out.len, 0);
		cr_assert_eq(av_comp_decompress(all_comps[k], &out, m.file.ptr,
						m.file.len, text.len), 0);
		av_buf_dispose(&out);
		made_dispose(&m);
	}
	av_buf_dispose(&text);
}

Test(compress, names_parse_and_unknown_names_are_invalid)
{
	static const struct { const char *name; av_comp c; const char *ext; } ok[] = {
		{ "none", AV_COMP_NONE, "" }, { "gz", AV_COMP_GZ, ".gz" },
		{ "gzip", AV_COMP_GZ, ".gz" }, { "xz", AV_COMP_XZ, ".xz" },
		{ "zst", AV_COMP_ZST, ".zst" }, { "zstd", AV_COMP_ZST, ".zst" },
		{ "bz2", AV_COMP_BZ2, ".bz2" }, { "bzip2", AV_COMP_BZ2, ".bz2" },
	};
	av_comp c = AV_COMP_XZ;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(av_comp_parse(&c, ok[i].name), 0, "%s", ok[i].name);
		cr_assert_eq(c, ok[i].c);
		cr_assert_str_eq(av_comp_ext(c), ok[i].ext);
	}
	c = AV_COMP_XZ;
	cr_assert_eq(av_comp_parse(&c, "lz4"), AV_EINVALID);
	cr_assert_eq(c, AV_COMP_XZ, "out changed on failure");
	cr_assert(strstr(av_error_last(), "unknown compression 'lz4'"),
		  "%s", av_error_last());
	cr_assert_eq(av_comp_parse(&c, ""), AV_EINVALID);
	cr_assert_eq(av_comp_parse(&c, "GZ"), AV_EINVALID);
	cr_assert_str_eq(av_comp_ext((av_comp)99), "");
}

/* ---- threads ---- */

struct job {
	av_comp c;
	const av_comp_span *chunk;
	av_buf piece;
	int rc;
};

static void *run_job(void *arg)
{
	struct job *j = arg;

	j->rc = av_comp_piece(j->c, &j->piece, j->chunk->ptr, j->chunk->len);
	return NULL;
}

Test(compress, pieces_made_in_parallel_threads_equal_serial_ones)
{
	av_buf text = AV_BUF_INIT;
	av_comp_span chunks[MAX_CHUNKS];
	struct job jobs[8];
	pthread_t tid[8];
	size_t n;

	gen_text(&text, 4 * CHUNK_SIZE);
	n = cut_chunks(&text, CHUNK_SIZE, chunks);
	cr_assert_geq(n, 4);
	for (int i = 0; i < 8; i++) {
		jobs[i] = (struct job){ i < 4 ? AV_COMP_XZ : AV_COMP_ZST,
					&chunks[i % 4], AV_BUF_INIT, -1 };
		cr_assert_eq(pthread_create(&tid[i], NULL, run_job, &jobs[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		av_buf serial = AV_BUF_INIT;

		cr_assert_eq(pthread_join(tid[i], NULL), 0);
		cr_assert_eq(jobs[i].rc, 0);
		cr_assert_eq(av_comp_piece(jobs[i].c, &serial, jobs[i].chunk->ptr,
					   jobs[i].chunk->len), 0);
		cr_assert_eq(serial.len, jobs[i].piece.len);
		cr_assert(!memcmp(serial.ptr, jobs[i].piece.ptr, serial.len));
		av_buf_dispose(&serial);
		av_buf_dispose(&jobs[i].piece);
	}
	av_buf_dispose(&text);
}

/* ---- the figures behind the levels chosen in lib/compress.c ---- */

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void time_xz_preset(const av_buf *text, uint32_t preset)
{
	uint8_t *out = malloc(lzma_stream_buffer_bound(text->len));
	size_t pos = 0;
	double t0 = now_ms();

	cr_assert_not_null(out);
	cr_assert_eq(lzma_easy_buffer_encode(preset, LZMA_CHECK_CRC64, NULL,
		     (const uint8_t *)text->ptr, text->len, out, &pos,
		     lzma_stream_buffer_bound(text->len)), LZMA_OK);
	cr_log_info("xz preset %u (full dictionary): %zu bytes, %.1f ms",
		    preset, pos, now_ms() - t0);
	free(out);
}

static void time_zstd_level(const av_buf *text, int level)
{
	size_t bound = ZSTD_compressBound(text->len), r;
	void *out = malloc(bound);
	double t0 = now_ms();

	cr_assert_not_null(out);
	r = ZSTD_compress(out, bound, text->ptr, text->len, level);
	cr_assert(!ZSTD_isError(r));
	cr_log_info("zstd level %d: %zu bytes, %.1f ms", level, r, now_ms() - t0);
	free(out);
}

Test(compress, log_the_cost_of_one_100k_chunk)
{
	av_buf text = AV_BUF_INIT;

	gen_text(&text, CHUNK_SIZE);
	for (size_t k = 1; k < sizeof(all_comps) / sizeof(all_comps[0]); k++) {
		av_buf piece = AV_BUF_INIT;
		double t0 = now_ms();

		cr_assert_eq(av_comp_piece(all_comps[k], &piece, text.ptr, text.len), 0);
		cr_log_info("av_comp_piece %s: %zu -> %zu bytes, %.1f ms",
			    av_comp_ext(all_comps[k]), text.len, piece.len,
			    now_ms() - t0);
		av_buf_dispose(&piece);
	}
	time_xz_preset(&text, 6);
	time_xz_preset(&text, 9);
	time_zstd_level(&text, 15);
	time_zstd_level(&text, 19);
	av_buf_dispose(&text);
}
