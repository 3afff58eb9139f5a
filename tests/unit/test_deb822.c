/* test_deb822.c - control stanza parsing, writing, limits and unsigning. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <criterion/criterion.h>
#include "aptvault/deb822.h"
#include "aptvault/error.h"
#include "fixtures.h"

static const char two_stanzas[] =
	"Package: hello\n"
	"Version: 2.10-3\n"
	"Architecture: amd64\n"
	"Description: example package\n"
	" The GNU hello program.\n"
	" .\n"
	"  Indented line.\n"
	"\n"
	"Package: src\n"
	"Files:\n"
	" d41d8cd98f00b204e9800998ecf8427e 0 src_1.0.tar.gz\n"
	" 0cc175b9c0f1b6a831c399e269772661 12 src_1.0.dsc\n"
	"Empty:\n";

/* All stanzas of text, or the error code. */
static int parse_all(const char *text, size_t len, const av_deb822_limits *lim,
		     av_stanza **out, size_t max, size_t *n)
{
	av_deb822_reader *r = NULL;
	int rc;

	*n = 0;
	cr_assert_eq(av_deb822_reader_new(&r, text, len, lim), 0);
	while ((rc = av_deb822_next(r, &out[*n])) == 1) {
		cr_assert_lt(*n, max);
		(*n)++;
	}
	av_deb822_reader_free(r);
	return rc;
}

static void free_all(av_stanza **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		av_stanza_free(s[i]);
}

static int parse_err(const char *text, const av_deb822_limits *lim)
{
	av_stanza *s[8];
	size_t n;
	int rc = parse_all(text, strlen(text), lim, s, 8, &n);

	free_all(s, n);
	return rc;
}

Test(deb822, parse_write_round_trip_is_exact)
{
	av_stanza *s[4];
	av_buf out = AV_BUF_INIT;
	size_t n;

	cr_assert_eq(parse_all(two_stanzas, strlen(two_stanzas), NULL, s, 4, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(av_stanza_write(&out, s[0]), 0);
	cr_assert_eq(av_buf_putc(&out, '\n'), 0);
	cr_assert_eq(av_stanza_write(&out, s[1]), 0);
	cr_assert_str_eq(av_buf_cstr(&out), two_stanzas);
	free_all(s, n);
	av_buf_dispose(&out);
}

Test(deb822, continuation_lines_are_kept_verbatim_joined_by_newline)
{
	av_stanza *s[4];
	size_t n;

	cr_assert_eq(parse_all(two_stanzas, strlen(two_stanzas), NULL, s, 4, &n), 0);
	cr_assert_str_eq(av_stanza_get(s[0], "Description"),
			 "example package\n The GNU hello program.\n .\n  Indented line.");
	cr_assert_str_eq(av_stanza_get(s[1], "files"),
			 "\n d41d8cd98f00b204e9800998ecf8427e 0 src_1.0.tar.gz"
			 "\n 0cc175b9c0f1b6a831c399e269772661 12 src_1.0.dsc");
	cr_assert_str_eq(av_stanza_get(s[1], "Empty"), "");
	cr_assert_null(av_stanza_get(s[1], "Version"));
	free_all(s, n);
}

Test(deb822, first_line_blanks_are_trimmed_and_tab_continues)
{
	av_stanza *s = NULL;
	const char *t = "A:\t  x y  \r\nB: 1\n\tcont\r\n";

	cr_assert_eq(av_deb822_parse_one(&s, t, strlen(t)), 0);
	cr_assert_str_eq(av_stanza_get(s, "A"), "x y");
	cr_assert_str_eq(av_stanza_get(s, "B"), "1\n\tcont");
	av_stanza_free(s);
}

Test(deb822, comments_are_skipped_inside_and_between_stanzas)
{
	const char *t = "# leading comment\n"
			"A: 1\n"
			"# inside\n"
			" cont\n"
			"B: 2\n"
			"\n"
			"#between\n"
			"\n"
			"C: 3\n";
	av_stanza *s[4];
	size_t n;

	cr_assert_eq(parse_all(t, strlen(t), NULL, s, 4, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(s[0]->count, 2);
	cr_assert_str_eq(av_stanza_get(s[0], "A"), "1\n cont");
	cr_assert_str_eq(av_stanza_get(s[1], "C"), "3");
	free_all(s, n);
}

Test(deb822, whitespace_only_lines_separate_stanzas)
{
	const char *t = "\n \n\t\nA: 1\n \t \nB: 2\n\n\n\nC: 3";
	av_stanza *s[4];
	size_t n;

	cr_assert_eq(parse_all(t, strlen(t), NULL, s, 4, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(av_stanza_get(s[2], "C"), "3");
	free_all(s, n);
}

Test(deb822, empty_and_comment_only_input_has_no_stanza)
{
	cr_assert_eq(parse_err("", NULL), 0);
	cr_assert_eq(parse_err("\n\n  \n# c\n", NULL), 0);
}

Test(deb822, field_over_limit_fails_with_line_number)
{
	av_deb822_limits lim = { 10, 1000, 10 };

	cr_assert_eq(parse_err("A: 1\nB: 12345678901\n", &lim), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 2:"), "%s", av_error_last());
	cr_assert_eq(parse_err("A: 1\nB: 12345\n 6789\n", &lim), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 3:"), "%s", av_error_last());
	cr_assert_eq(parse_err("A: 1\nB: 123\n 45\n", &lim), 0);
}

Test(deb822, stanza_over_limit_fails_with_line_number)
{
	av_deb822_limits lim = { 100, 20, 10 };

	cr_assert_eq(parse_err("A: 1\nB: 2\n\nC: 12345\nD: 1234567890\n", &lim),
		     AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 5:"), "%s", av_error_last());
}

Test(deb822, too_many_fields_fails_with_line_number)
{
	av_deb822_limits lim = { 100, 1000, 2 };

	cr_assert_eq(parse_err("A: 1\nB: 2\n\nA: 1\nB: 2\nC: 3\n", &lim), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 6:"), "%s", av_error_last());
}

Test(deb822, default_limits_reject_huge_field)
{
	size_t n = ((size_t)1 << 20) + 10;
	char *t = malloc(n + 8);

	memcpy(t, "A: ", 3);
	memset(t + 3, 'x', n);
	t[n + 3] = '\n';
	t[n + 4] = '\0';
	cr_assert_eq(parse_err(t, NULL), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 1:"), "%s", av_error_last());
	free(t);
}

Test(deb822, duplicate_field_is_rejected_case_insensitively)
{
	cr_assert_eq(parse_err("Package: a\nVersion: 1\npackage: b\n", NULL), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 3:"), "%s", av_error_last());
	cr_assert(strstr(av_error_last(), "duplicate"), "%s", av_error_last());
}

Test(deb822, continuation_before_any_field_is_rejected)
{
	cr_assert_eq(parse_err(" cont\nA: 1\n", NULL), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 1:"), "%s", av_error_last());
	cr_assert_eq(parse_err("A: 1\n\n# c\n cont\n", NULL), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 4:"), "%s", av_error_last());
}

Test(deb822, malformed_field_lines_are_rejected)
{
	cr_assert_eq(parse_err("A: 1\nno colon here\n", NULL), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 2:"), "%s", av_error_last());
	cr_assert_eq(parse_err(": value\n", NULL), AV_EINVALID);
	cr_assert_eq(parse_err("Bad Name: value\n", NULL), AV_EINVALID);
	cr_assert_eq(parse_err("Bad\x01: value\n", NULL), AV_EINVALID);
	cr_assert_eq(parse_err("Bad\xc3\xa9: value\n", NULL), AV_EINVALID);
	cr_assert_eq(parse_err("Ok-Name_1.x: value\n", NULL), 0);
}

Test(deb822, nul_byte_is_rejected)
{
	static const char t[] = "A: 1\nB: x\0y\n";
	av_stanza *s[2];
	size_t n;

	cr_assert_eq(parse_all(t, sizeof(t) - 1, NULL, s, 2, &n), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 2:"), "%s", av_error_last());
	free_all(s, n);
}

Test(deb822, parse_one_wants_exactly_one_stanza)
{
	av_stanza *s = NULL;

	cr_assert_eq(av_deb822_parse_one(&s, "\n# x\n", 5), AV_EINVALID);
	cr_assert_null(s);
	cr_assert_eq(av_deb822_parse_one(&s, "A: 1\n\nB: 2\n", 11), AV_EINVALID);
	cr_assert_null(s);
	cr_assert_eq(av_deb822_parse_one(&s, "\nA: 1\n\n\n", 8), 0);
	cr_assert_str_eq(av_stanza_get(s, "a"), "1");
	av_stanza_free(s);
}

Test(deb822, input_without_final_newline_parses)
{
	av_stanza *s = NULL;

	cr_assert_eq(av_deb822_parse_one(&s, "A: 1\n b", 7), 0);
	cr_assert_str_eq(av_stanza_get(s, "A"), "1\n b");
	av_stanza_free(s);
}

Test(deb822, set_replaces_in_place_and_appends_new)
{
	av_stanza *s = NULL;
	av_buf out = AV_BUF_INIT;

	cr_assert_eq(av_stanza_new(&s), 0);
	cr_assert_eq(av_stanza_set(s, "A", "1"), 0);
	cr_assert_eq(av_stanza_set(s, "B", "2"), 0);
	cr_assert_eq(av_stanza_set(s, "a", "3"), 0);
	cr_assert_eq(av_stanza_set(s, "Files", "\n x 1 f"), 0);
	cr_assert_eq(av_stanza_write(&out, s), 0);
	cr_assert_str_eq(av_buf_cstr(&out), "A: 3\nB: 2\nFiles:\n x 1 f\n");
	cr_assert_eq(av_stanza_del(s, "b"), 0);
	cr_assert_eq(av_stanza_del(s, "B"), AV_ENOTFOUND);
	cr_assert_eq(s->count, 2);
	cr_assert_str_eq(s->fields[1].name, "Files");
	av_stanza_free(s);
	av_buf_dispose(&out);
}

Test(deb822, set_rejects_values_that_would_forge_fields)
{
	av_stanza *s = NULL;

	cr_assert_eq(av_stanza_new(&s), 0);
	cr_assert_eq(av_stanza_set(s, "A", "1\nPackage: evil"), AV_EINVALID);
	cr_assert_eq(av_stanza_set(s, "A", "1\n\nPackage: evil"), AV_EINVALID);
	cr_assert_eq(av_stanza_set(s, "A", "1\n \n next"), AV_EINVALID);
	cr_assert_eq(av_stanza_set(s, "A", "1\n"), AV_EINVALID);
	cr_assert_eq(av_stanza_set(s, "A B", "1"), AV_EINVALID);
	cr_assert_eq(av_stanza_set(s, "A:", "1"), AV_EINVALID);
	cr_assert_eq(av_stanza_set(s, "", "1"), AV_EINVALID);
	cr_assert_eq(s->count, 0);
	av_stanza_free(s);
}

Test(deb822, dup_copies_every_field)
{
	av_stanza *s = NULL, *d = NULL;
	av_buf a = AV_BUF_INIT, b = AV_BUF_INIT;

	cr_assert_eq(av_deb822_parse_one(&s, two_stanzas,
					 (size_t)(strstr(two_stanzas, "\n\n") - two_stanzas) + 1), 0);
	cr_assert_eq(av_stanza_dup(&d, s), 0);
	cr_assert_neq(d->fields, s->fields);
	av_stanza_write(&a, s);
	av_stanza_write(&b, d);
	cr_assert_str_eq(a.ptr, b.ptr);
	av_stanza_free(s);
	av_stanza_free(d);
	av_buf_dispose(&a);
	av_buf_dispose(&b);
}

Test(deb822, next_line_walks_multiline_values)
{
	const char *v = "\n aaa 1 f1\n\tbbb 2 f2  \n \n ccc 3 f3";
	const char *cur = v, *line;
	size_t len;

	cr_assert_eq(av_deb822_next_line(&cur, &line, &len), 1);
	cr_assert_eq(len, 8);
	cr_assert_eq(strncmp(line, "aaa 1 f1", len), 0);
	cr_assert_eq(av_deb822_next_line(&cur, &line, &len), 1);
	cr_assert_eq(strncmp(line, "bbb 2 f2", len), 0);
	cr_assert_eq(len, 8);
	cr_assert_eq(av_deb822_next_line(&cur, &line, &len), 1);
	cr_assert_eq(strncmp(line, "ccc 3 f3", len), 0);
	cr_assert_eq(av_deb822_next_line(&cur, &line, &len), 0);
	cr_assert_eq(av_deb822_next_line(&cur, &line, &len), 0);
	cur = NULL;
	cr_assert_eq(av_deb822_next_line(&cur, &line, &len), 0);
}

/* ---- canonical order ---- */

static char *field_names(const av_stanza *s)
{
	av_buf b = AV_BUF_INIT;

	for (size_t i = 0; i < s->count; i++)
		av_buf_printf(&b, "%s%s", i ? "," : "", s->fields[i].name);
	return av_buf_detach(&b);
}

Test(deb822, canonical_sort_orders_binary_fields_like_dpkg)
{
	const char *t = "Description: d\nX-Custom: 1\nSHA256: s\nFilename: f\n"
			"Depends: c\nVersion: 1\nSection: s\nMD5sum: m\nPackage: p\n"
			"Size: 1\nArchitecture: all\nA-Unknown: 2\nInstalled-Size: 3\n"
			"Maintainer: m\nPriority: o\nPre-Depends: x\nSource: y\n";
	av_stanza *s = NULL;
	char *names;

	cr_assert_eq(av_deb822_parse_one(&s, t, strlen(t)), 0);
	cr_assert_eq(av_stanza_sort_canonical(s, AV_STANZA_BINARY), 0);
	names = field_names(s);
	cr_assert_str_eq(names, "Package,Source,Version,Architecture,Maintainer,"
			 "Installed-Size,Pre-Depends,Depends,Filename,Size,MD5sum,"
			 "SHA256,Section,Priority,Description,X-Custom,A-Unknown");
	free(names);
	av_stanza_free(s);
}

Test(deb822, canonical_sort_orders_source_fields_like_dpkg)
{
	const char *t = "Files:\n x 1 a\nChecksums-Sha256:\n y 1 a\nDirectory: pool/x\n"
			"Version: 1\nBuild-Depends: d\nVcs-Git: g\nBinary: b\n"
			"Package: p\nFormat: 3.0 (quilt)\nMaintainer: m\nZ-Extra: z\n"
			"Architecture: any\nStandards-Version: 4\n";
	av_stanza *s = NULL;
	char *names;

	cr_assert_eq(av_deb822_parse_one(&s, t, strlen(t)), 0);
	cr_assert_eq(av_stanza_sort_canonical(s, AV_STANZA_SOURCE), 0);
	names = field_names(s);
	cr_assert_str_eq(names, "Format,Package,Binary,Architecture,Version,Maintainer,"
			 "Standards-Version,Vcs-Git,Build-Depends,Directory,"
			 "Checksums-Sha256,Files,Z-Extra");
	free(names);
	av_stanza_free(s);
}

/* The order of dpkg-scanpackages itself on a real .deb, from a shuffled
 * copy of its own stanza. */
Test(deb822, canonical_sort_matches_dpkg_scanpackages_output)
{
	char *dir = fx_tmpdir(), *deb, *names_dpkg, *names_ours, path[4096];
	const char *extra = "Depends: libc6 (>= 2.14)\nBreaks: old (<< 1)\n"
			    "Replaces: old (<< 1)\nProvides: virt\nConflicts: bad\n"
			    "Recommends: r\nSuggests: s\nPre-Depends: pd\n"
			    "Homepage: https://example.org\nMulti-Arch: foreign\n"
			    "Source: src (0.9)\nEssential: no\nEnhances: e\n"
			    "Built-Using: bu (= 1)\n";
	av_stanza *s = NULL, *shuffled = NULL;
	FILE *f;
	char data[65536];
	size_t n;

	deb = fx_make_deb(dir, "ordtest", "1.0-1", "amd64", extra, NULL);
	cr_assert_eq(fx_sh("cd '%s' && dpkg-scanpackages -m . /dev/null > Packages 2>/dev/null",
			   dir), 0);
	snprintf(path, sizeof(path), "%s/Packages", dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(data, 1, sizeof(data), f);
	fclose(f);
	cr_assert_eq(av_deb822_parse_one(&s, data, n), 0, "%s", av_error_last());
	cr_assert_gt(s->count, 20);
	cr_assert_eq(av_stanza_new(&shuffled), 0);
	for (size_t i = 0; i < s->count; i++) {
		size_t j = (i * 7 + 3) % s->count;

		while (av_stanza_get(shuffled, s->fields[j].name))
			j = (j + 1) % s->count;
		cr_assert_eq(av_stanza_set(shuffled, s->fields[j].name,
					   s->fields[j].value), 0);
	}
	cr_assert_eq(av_stanza_sort_canonical(shuffled, AV_STANZA_BINARY), 0);
	names_dpkg = field_names(s);
	names_ours = field_names(shuffled);
	cr_assert_str_eq(names_ours, names_dpkg);
	free(names_dpkg);
	free(names_ours);
	av_stanza_free(s);
	av_stanza_free(shuffled);
	fx_sh("rm -rf '%s'", dir);
	free(deb);
	free(dir);
}

/* ---- clearsigned input ---- */

static const char signed_msg[] =
	"-----BEGIN PGP SIGNED MESSAGE-----\n"
	"Hash: SHA256\n"
	"\n"
	"Origin: Test\n"
	"Suite: stable\n"
	"- -----not armor\n"
	"- plain dash-escaped\n"
	"-----BEGIN PGP SIGNATURE-----\n"
	"\n"
	"iQEzBAEBCAAdFiEE\n"
	"=abcd\n"
	"-----END PGP SIGNATURE-----\n";

Test(deb822, unsign_extracts_dash_unescaped_body)
{
	av_buf out = AV_BUF_INIT;
	int was = -1;

	cr_assert_eq(av_deb822_unsign(&out, signed_msg, strlen(signed_msg), &was), 0,
		     "%s", av_error_last());
	cr_assert_eq(was, 1);
	cr_assert_str_eq(av_buf_cstr(&out), "Origin: Test\nSuite: stable\n"
			 "-----not armor\nplain dash-escaped\n");
	av_buf_dispose(&out);
}

Test(deb822, unsign_copies_unsigned_input)
{
	const char *t = "Origin: Test\n -----BEGIN PGP SIGNATURE----- in a value\n";
	av_buf out = AV_BUF_INIT;
	int was = -1;

	cr_assert_eq(av_deb822_unsign(&out, t, strlen(t), &was), 0);
	cr_assert_eq(was, 0);
	cr_assert_str_eq(av_buf_cstr(&out), t);
	av_buf_clear(&out);
	cr_assert_eq(av_deb822_unsign(&out, "", 0, &was), 0);
	cr_assert_eq(was, 0);
	cr_assert_eq(out.len, 0);
	av_buf_dispose(&out);
}

Test(deb822, unsign_accepts_leading_blank_lines_and_crlf_markers)
{
	const char *t = "\n-----BEGIN PGP SIGNED MESSAGE-----\r\n\r\nA: 1\r\n"
			"-----BEGIN PGP SIGNATURE-----\r\nxx\r\n-----END PGP SIGNATURE-----\r\n\n";
	av_buf out = AV_BUF_INIT;
	int was = -1;

	cr_assert_eq(av_deb822_unsign(&out, t, strlen(t), &was), 0, "%s", av_error_last());
	cr_assert_eq(was, 1);
	cr_assert_str_eq(av_buf_cstr(&out), "A: 1\r\n");
	av_buf_dispose(&out);
}

static int unsign_rc(const char *t)
{
	av_buf out = AV_BUF_INIT;
	int was = -1, rc;

	out.max = 0;
	av_buf_puts(&out, "keep");
	rc = av_deb822_unsign(&out, t, strlen(t), &was);
	if (rc)
		cr_assert_str_eq(av_buf_cstr(&out), "keep", "failure must not leave output");
	av_buf_dispose(&out);
	return rc;
}

Test(deb822, unsign_rejects_malformed_armor)
{
	/* BEGIN without SIGNATURE */
	cr_assert_eq(unsign_rc("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nA: 1\n"),
		     AV_EINVALID);
	/* armor headers never end */
	cr_assert_eq(unsign_rc("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n"),
		     AV_EINVALID);
	/* junk armor header */
	cr_assert_eq(unsign_rc("-----BEGIN PGP SIGNED MESSAGE-----\nA 1\n\nA: 1\n"
			       "-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n"),
		     AV_EINVALID);
	/* signature not terminated */
	cr_assert_eq(unsign_rc("-----BEGIN PGP SIGNED MESSAGE-----\n\nA: 1\n"
			       "-----BEGIN PGP SIGNATURE-----\nxx\n"), AV_EINVALID);
	/* unescaped dash line in the body */
	cr_assert_eq(unsign_rc("-----BEGIN PGP SIGNED MESSAGE-----\n\nA: 1\n-x\n"
			       "-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n"),
		     AV_EINVALID);
	/* data after the signature (a second, unsigned part) */
	cr_assert_eq(unsign_rc("-----BEGIN PGP SIGNED MESSAGE-----\n\nA: 1\n"
			       "-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n"
			       "B: evil\n"), AV_EINVALID);
	/* armor lines inside unsigned text */
	cr_assert_eq(unsign_rc("A: 1\n-----BEGIN PGP SIGNATURE-----\nx\n"), AV_EINVALID);
	cr_assert_eq(unsign_rc("A: 1\n-----BEGIN PGP SIGNED MESSAGE-----\n"), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "line 2:"), "%s", av_error_last());
}

/* ---- hostile input ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Parse everything; whatever parses must write back and reparse to the
 * same text. */
static void check_stable(const char *data, size_t len, const av_deb822_limits *lim)
{
	av_deb822_reader *r = NULL;
	av_stanza *s = NULL;
	int rc;

	cr_assert_eq(av_deb822_reader_new(&r, data, len, lim), 0);
	while ((rc = av_deb822_next(r, &s)) == 1) {
		av_buf a = AV_BUF_INIT, b = AV_BUF_INIT;
		av_stanza *again = NULL;

		cr_assert_gt(s->count, 0);
		cr_assert_eq(av_stanza_write(&a, s), 0);
		cr_assert_eq(av_deb822_parse_one(&again, a.ptr, a.len), 0,
			     "reparse failed: %s", av_error_last());
		cr_assert_eq(av_stanza_write(&b, again), 0);
		cr_assert_str_eq(a.ptr, b.ptr);
		av_stanza_free(again);
		av_stanza_free(s);
		av_buf_dispose(&a);
		av_buf_dispose(&b);
	}
	cr_assert(rc == 0 || rc == AV_EINVALID, "rc %d", rc);
	if (rc)
		cr_assert(!strncmp(av_error_last(), "line ", 5), "%s", av_error_last());
	av_deb822_reader_free(r);
}

Test(deb822, random_and_mutated_input_never_crashes)
{
	static const char alphabet[] = "AB:: \t\n\n#-x\r.";
	av_deb822_limits lim = { 64, 256, 8 };
	char data[512];

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int iter = 0; iter < 4000; iter++) {
		size_t len = rng() % sizeof(data);
		int mode = iter % 4;

		if (mode == 0) {
			for (size_t i = 0; i < len; i++)
				data[i] = (char)rng();
		} else if (mode == 1) {
			for (size_t i = 0; i < len; i++)
				data[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
		} else {
			/* a valid document, truncated and with bytes flipped */
			len = rng() % sizeof(two_stanzas);
			memcpy(data, two_stanzas, len);
			for (int k = 0; len && k < (int)(rng() % 4); k++)
				data[rng() % len] = (char)rng();
		}
		check_stable(data, len, mode == 3 ? &lim : NULL);
		{
			av_buf out = AV_BUF_INIT;
			int was;
			(void)av_deb822_unsign(&out, data, len, &was);
			av_buf_dispose(&out);
		}
	}
}

Test(deb822, mutated_clearsigned_input_never_crashes)
{
	char data[sizeof(signed_msg)];

	rng_state = 12345;
	for (int iter = 0; iter < 3000; iter++) {
		av_buf out = AV_BUF_INIT;
		size_t len = rng() % sizeof(signed_msg);
		int was = -1, rc;

		memcpy(data, signed_msg, len);
		for (int k = 0; len && k < (int)(rng() % 3); k++)
			data[rng() % len] = "-\n :ABx"[rng() % 7];
		rc = av_deb822_unsign(&out, data, len, &was);
		cr_assert(rc == 0 || rc == AV_EINVALID);
		if (rc == 0)
			cr_assert(was == 0 || was == 1);
		av_buf_dispose(&out);
	}
}

/* ---- speed ---- */

Test(deb822, parses_sixty_thousand_stanzas_quickly, .timeout = 60)
{
	av_buf text = AV_BUF_INIT;
	av_deb822_reader *r = NULL;
	av_stanza *s = NULL;
	struct timespec t0, t1;
	size_t count = 0;
	double secs;

	for (int i = 0; i < 60000; i++)
		av_buf_printf(&text,
			      "Package: package-%d\nSource: src-%d (1.%d-1)\nVersion: 1.%d-1+b1\n"
			      "Installed-Size: %d\nMaintainer: Some Maintainer <m@example.org>\n"
			      "Architecture: amd64\nDepends: libc6 (>= 2.34), libfoo%d (>= 1.2)\n"
			      "Description: package number %d\n A longer description of it\n"
			      " that spans a few lines.\n .\n More text.\n"
			      "Filename: pool/main/p/package-%d/package-%d_1.%d-1+b1_amd64.deb\n"
			      "Size: %d\nMD5sum: 0cc175b9c0f1b6a831c399e269772661\n"
			      "SHA256: ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\n"
			      "Section: misc\nPriority: optional\n\n",
			      i, i, i, i, i * 3, i, i, i, i, i, i * 7);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(av_deb822_reader_new(&r, text.ptr, text.len, NULL), 0);
	while (av_deb822_next(r, &s) == 1) {
		count++;
		av_stanza_free(s);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	av_deb822_reader_free(r);
	av_buf_dispose(&text);
	cr_assert_eq(count, 60000);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_log_info("60000 stanzas parsed in %.3fs", secs);
#if !defined(__SANITIZE_ADDRESS__)
	cr_assert_lt(secs, 1.0, "60000 stanzas took %.3fs", secs);
#endif
}

/* ---- the canonical fast path ----------------------------------------- */

/* parse_canonical either declines (0) or gives exactly parse_one's fields. */
static int canonical_agrees(const char *text)
{
	av_stanza *fast = NULL, *full = NULL;
	int rc = av_deb822_parse_canonical(&fast, text, strlen(text));

	cr_assert_geq(rc, 0);
	if (!rc)
		return 0;
	cr_assert_eq(av_deb822_parse_one(&full, text, strlen(text)), 0,
		     "accepted what the parser refuses: %s", text);
	cr_assert_eq(fast->count, full->count);
	for (size_t i = 0; i < full->count; i++) {
		cr_assert_str_eq(fast->fields[i].name, full->fields[i].name);
		cr_assert_str_eq(fast->fields[i].value, full->fields[i].value);
	}
	av_stanza_free(fast);
	av_stanza_free(full);
	return 1;
}

Test(deb822, canonical_parse_takes_what_stanza_write_writes_and_equals_the_parser)
{
	static const char *const yes[] = {
		"Package: hello\nVersion: 1.0-1\nArchitecture: amd64\n",
		"Package: hello\nDescription: greet\n the world\n .\n\twith a tab\nSize: 3\n",
		"Package: src\nFiles:\n 0123 12 hello.dsc\n 4567 34 hello.tar.xz\n",
		"Package: e\nEmpty:\nAptvault-Type: deb\n",
		"Package: trailing-in-continuation\nDescription: x\n y  \n",
	};
	static const char *const no[] = {
		"Package:  two-spaces\n",		/* stripped by the parser */
		"Package: trailing \n",		/* stripped by the parser */
		"Package:tight\n",
		"Package: a\n\nPackage: b\n",		/* two stanzas */
		"Package: a\nDescription: x\n \t \nSize: 1\n",	/* blank continuation */
		"Package: a\r\n",
		"Package: a\npackage: b\n",		/* a name twice */
		"# comment\nPackage: a\n",
		" Package: a\n",
		"Package: a",				/* no final newline */
		"Package: a\nnot a field\n",
		"",
	};
	av_stanza *s = NULL;
	av_buf out = AV_BUF_INIT;

	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		cr_assert(canonical_agrees(yes[i]), "declined: %s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		cr_assert_not(canonical_agrees(no[i]), "took: %s", no[i]);
	/* more fields than the first allocation holds */
	for (int i = 0; i < 40; i++)
		cr_assert_eq(av_buf_printf(&out, "Field-%d: value %d\n", i, i), 0);
	cr_assert(canonical_agrees(out.ptr), "declined 40 fields");
	av_buf_clear(&out);
	/* a block stanza writes back exactly and can still be changed */
	cr_assert_eq(av_deb822_parse_canonical(&s, yes[1], strlen(yes[1])), 1);
	cr_assert_eq(av_stanza_write(&out, s), 0);
	cr_assert_str_eq(out.ptr, yes[1]);
	cr_assert_eq(av_stanza_set(s, "Size", "4"), 0);
	cr_assert_eq(av_stanza_del(s, "Description"), 0);
	cr_assert_eq(av_stanza_set(s, "New", "v"), 0);
	av_buf_clear(&out);
	cr_assert_eq(av_stanza_write(&out, s), 0);
	cr_assert_str_eq(out.ptr, "Package: hello\nSize: 4\nNew: v\n");
	av_stanza_free(s);
	av_buf_dispose(&out);
}
