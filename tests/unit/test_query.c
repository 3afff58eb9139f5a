/* test_query.c - aptly's package query language: every term form and
 * operator, aptly's matching rules, exact parse errors, and a fuzz loop. */
#include <fcntl.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include "aptvault/query.h"
#include "aptvault/package.h"
#include "aptvault/deb822.h"
#include "aptvault/error.h"
#include "fixtures.h"

static const struct {
	av_pkg_type type;
	const char *text;
} pkg_texts[] = {
	{ AV_PKG_DEB,
	  "Package: nginx\nVersion: 1.22.1-9\nArchitecture: amd64\n"
	  "Source: nginx\nPriority: optional\nSection: httpd\n"
	  "Provides: httpd, httpd-cgi, nginx-abi-1.22.1-7\n" },
	{ AV_PKG_DEB,
	  "Package: nginx-common\nVersion: 1.22.1-9\nArchitecture: all\n"
	  "Source: nginx\nPriority: optional\nSection: httpd\n" },
	{ AV_PKG_SOURCE,
	  "Package: nginx\nVersion: 1.22.1-9\nArchitecture: any all\n"
	  "Section: httpd\nPriority: optional\n" },
	{ AV_PKG_DEB,
	  "Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\n"
	  "Source: glibc\nPriority: required\nSection: libs\n" },
	{ AV_PKG_DEB,
	  "Package: libc6\nVersion: 2.36-9\nArchitecture: i386\n"
	  "Source: glibc\nPriority: required\nSection: libs\n" },
	{ AV_PKG_DEB,
	  "Package: libc6-dev\nVersion: 2.36-9\nArchitecture: amd64\n"
	  "Source: glibc\nPriority: optional\nSection: contrib/libdevel\n" },
	{ AV_PKG_DEB,
	  "Package: apache2\nVersion: 2.4.57-2\nArchitecture: amd64\n"
	  "Priority: optional\nSection: httpd\nProvides: httpd, httpd-cgi\n" },
	{ AV_PKG_DEB,
	  "Package: python3-cffi-backend\nVersion: 1.15.1-5+b1\n"
	  "Architecture: amd64\nSource: python-cffi (1.15.1-5)\n"
	  "Priority: optional\nSection: python\n"
	  "Provides: python3-cffi-backend-api-9729,"
	  " python3-cffi-backend-api-max (= 10495),"
	  " python3-cffi-backend-api-min (= 9729)\n" },
	{ AV_PKG_UDEB,
	  "Package: di-utils\nVersion: 1.143\nArchitecture: amd64\n"
	  "Source: debian-installer-utils\nSection: debian-installer\n" },
	{ AV_PKG_DEB,
	  "Package: foo\nVersion: 1:2.0~rc1+dfsg-1\nArchitecture: amd64\n"
	  "Description: say \"hi\", it's fine\n" },
	{ AV_PKG_DEB, "Package: bar\nVersion: 1.9\nArchitecture: arm64\n" },
	{ AV_PKG_DEB, "Package: bar\nVersion: 1.10\nArchitecture: arm64\n" },
};

#define NPKGS (sizeof(pkg_texts) / sizeof(pkg_texts[0]))

static av_pkg *pkgs[NPKGS];

static av_pkg *make_pkg(const char *text, av_pkg_type type)
{
	av_stanza *s = NULL;
	av_pkg *p = NULL;

	cr_assert_eq(av_deb822_parse_one(&s, text, strlen(text)), 0, "%s",
		     av_error_last());
	cr_assert_eq(av_pkg_new(&p, s, type), 0, "%s", av_error_last());
	return p;
}

static void setup(void)
{
	for (size_t i = 0; i < NPKGS; i++)
		pkgs[i] = make_pkg(pkg_texts[i].text, pkg_texts[i].type);
}

static void teardown(void)
{
	for (size_t i = 0; i < NPKGS; i++)
		av_pkg_free(pkgs[i]);
}

TestSuite(query, .init = setup, .fini = teardown);

/* The keys of the fixture packages the query matches, in fixture order,
 * space-separated. */
static char *matches(const char *text)
{
	static char out[4096];
	av_query *q = NULL;
	av_buf keys = AV_BUF_INIT;

	cr_assert_eq(av_query_parse(&q, text), 0, "query %s: %s", text,
		     av_error_last());
	for (size_t i = 0; i < NPKGS; i++) {
		if (!av_query_match(q, pkgs[i]))
			continue;
		if (keys.len)
			cr_assert_eq(av_buf_putc(&keys, ' '), 0);
		cr_assert_eq(av_pkg_key(&keys, pkgs[i]), 0);
	}
	snprintf(out, sizeof(out), "%s", av_buf_cstr(&keys));
	av_buf_dispose(&keys);
	av_query_free(q);
	return out;
}

#define MATCH(query, expect) \
	cr_assert_str_eq(matches(query), expect, "query: %s", query)

/* The parse error message (asserting AV_EINVALID). */
static const char *parse_error(const char *text)
{
	av_query *q = NULL;
	int rc = av_query_parse(&q, text);

	cr_assert_eq(rc, AV_EINVALID, "query %s: rc %d", text, rc);
	cr_assert_null(q);
	return av_error_last();
}

#define PARSE_ERR(query, msg) \
	cr_assert_str_eq(parse_error(query), msg, "query: %s", query)

#define NGINX_AMD64 "nginx_1.22.1-9_amd64"
#define NGINX_COMMON "nginx-common_1.22.1-9_all"
#define NGINX_SRC "nginx_1.22.1-9_source"
#define LIBC6_AMD64 "libc6_2.36-9_amd64"
#define LIBC6_I386 "libc6_2.36-9_i386"
#define LIBC6_DEV "libc6-dev_2.36-9_amd64"
#define APACHE2 "apache2_2.4.57-2_amd64"
#define CFFI "python3-cffi-backend_1.15.1-5+b1_amd64"
#define DI_UTILS "di-utils_1.143_amd64"
#define FOO "foo_1:2.0~rc1+dfsg-1_amd64"
#define BAR19 "bar_1.9_arm64"
#define BAR110 "bar_1.10_arm64"
#define ALL NGINX_AMD64 " " NGINX_COMMON " " NGINX_SRC " " LIBC6_AMD64 " " \
	LIBC6_I386 " " LIBC6_DEV " " APACHE2 " " CFFI " " DI_UTILS " " FOO \
	" " BAR19 " " BAR110

/* ---- dependency-style terms -------------------------------------------- */

Test(query, bare_name_matches_every_arch_and_the_source_package)
{
	MATCH("nginx", NGINX_AMD64 " " NGINX_SRC);
	MATCH("libc6", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("nosuch", "");
}

Test(query, bare_name_matches_packages_providing_it)
{
	MATCH("httpd", NGINX_AMD64 " " APACHE2);
	MATCH("nginx-abi-1.22.1-7", NGINX_AMD64);
	MATCH("python3-cffi-backend-api-9729", CFFI);
}

Test(query, version_constraint_uses_dpkg_ordering)
{
	MATCH("libc6 (>= 2.36)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("libc6 (<< 2.36)", "");
	MATCH("libc6 (= 2.36-9)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("libc6 (= 2.36)", "");
	MATCH("libc6 (>> 2.36-8)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("libc6 (<= 2.36-9)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("libc6 (2.36-9)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("foo (>> 1:1.0)", FOO);
	MATCH("foo (<< 1:2.0)", FOO);
	MATCH("foo (>= 2.0)", FOO);
	MATCH("bar (>> 1.9)", BAR110);
}

Test(query, obsolete_lt_and_gt_mean_le_and_ge)
{
	MATCH("libc6 (< 2.36-9)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("libc6 (> 2.36-9)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("libc6 (> 2.37)", "");
}

Test(query, version_glob_and_regex)
{
	MATCH("libc6 (% 2.36-*)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("foo (% 1:2.0~rc?+*)", FOO);
	MATCH("bar (~ ^1\\.1)", BAR110);
	MATCH("nginx (~ 22)", NGINX_AMD64 " " NGINX_SRC);
}

Test(query, versioned_provides_satisfy_versioned_queries)
{
	MATCH("python3-cffi-backend-api-min (<= 9729)", CFFI);
	MATCH("python3-cffi-backend-api-min (= 9729)", CFFI);
	MATCH("python3-cffi-backend-api-min (>> 9729)", "");
	MATCH("python3-cffi-backend-api-max (>= 9729)", CFFI);
	MATCH("python3-cffi-backend-api-max (% 104*)", CFFI);
	MATCH("python3-cffi-backend-api-max", CFFI);
}

Test(query, unversioned_provides_satisfy_only_unversioned_queries)
{
	MATCH("httpd (>= 0)", "");
	MATCH("python3-cffi-backend-api-9729 (>= 1)", "");
	MATCH("httpd (% *)", "");
}

Test(query, arch_restriction_and_arch_all)
{
	MATCH("libc6 {i386}", LIBC6_I386);
	MATCH("libc6 {arm64}", "");
	MATCH("nginx-common {amd64}", NGINX_COMMON);
	MATCH("nginx-common {i386}", NGINX_COMMON);
	MATCH("nginx-common {all}", NGINX_COMMON);
	MATCH("nginx-common {source}", "");
	MATCH("nginx {source}", NGINX_SRC);
	MATCH("nginx {amd64}", NGINX_AMD64);
	MATCH("httpd {i386}", "");
	MATCH("httpd {amd64}", NGINX_AMD64 " " APACHE2);
}

Test(query, version_and_arch_combined)
{
	MATCH("libc6 (>= 2.36) {amd64}", LIBC6_AMD64);
	MATCH("libc6 (>= 2.37) {amd64}", "");
	MATCH("nginx (= 1.22.1-9) {source}", NGINX_SRC);
}

Test(query, direct_reference)
{
	MATCH("libc6_2.36-9_amd64", LIBC6_AMD64);
	MATCH("libc6_2.36-9_arm64", "");
	MATCH("libc6_2.36_amd64", "");
	MATCH("nginx_1.22.1-9_source", NGINX_SRC);
	MATCH("nginx-common_1.22.1-9_all", NGINX_COMMON);
	MATCH(FOO, FOO);
	MATCH(CFFI, CFFI);
}

Test(query, reference_shape_with_condition_is_a_package_name)
{
	MATCH("libc6_2.36-9_amd64 (>= 1)", "");
	MATCH("libc6_2.36", "");
}

/* ---- field queries ------------------------------------------------------ */

Test(query, field_without_operator_means_equal)
{
	MATCH("Priority (required)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("Priority (= required)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("Section (httpd)", NGINX_AMD64 " " NGINX_COMMON " " NGINX_SRC " " APACHE2);
}

Test(query, field_without_condition_means_present)
{
	MATCH("Provides", NGINX_AMD64 " " APACHE2 " " CFFI);
	MATCH("!Source", NGINX_SRC " " APACHE2 " " FOO " " BAR19 " " BAR110);
}

Test(query, field_names_are_case_insensitive)
{
	MATCH("PRIORITY (required)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("$source (glibc)", LIBC6_AMD64 " " LIBC6_I386 " " LIBC6_DEV);
	/* lowercase first letter: a package name, as in aptly */
	MATCH("priority (required)", "");
}

Test(query, missing_field_is_empty_string)
{
	MATCH("Essential (yes)", "");
	MATCH("!Essential", ALL);
	MATCH("Essential (<< a)", ALL);
	MATCH("Essential (\"\")", ALL);
}

Test(query, field_comparison_is_bytewise_string_order)
{
	MATCH("Priority (>> optional)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("Name (<< b)", APACHE2);
	MATCH("Name (<= bar)", APACHE2 " " BAR19 " " BAR110);
	MATCH("Name (>= python3)", CFFI);
}

Test(query, version_field_is_a_string_but_dollar_version_is_a_version)
{
	/* aptly: "$Version has the same value as Version, but comparison
	 * operators use Debian version precedence rules" */
	MATCH("Name (bar), Version (>> 1.10)", BAR19);
	MATCH("Name (bar), $Version (>> 1.10)", "");
	MATCH("Name (bar), $Version (>> 1.9)", BAR110);
	MATCH("$Version (= 1:2.0~rc1+dfsg-1)", FOO);
	MATCH("$Version (<< 1:2.0)", ALL);
	MATCH("$Version", ALL);
}

Test(query, glob_matches_whole_value_and_star_stops_at_slash)
{
	MATCH("Name (% nginx*)", NGINX_AMD64 " " NGINX_COMMON " " NGINX_SRC);
	MATCH("Name (% lib?6)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("Name (% lib?)", "");
	MATCH("Name (% lib[a-c]6)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("Name (% [^l]*-dev)", "");
	MATCH("Name (% ginx)", "");
	MATCH("$Version (% 2.36-*)", LIBC6_AMD64 " " LIBC6_I386 " " LIBC6_DEV);
	MATCH("Section (% contrib/*)", LIBC6_DEV);
	MATCH("Section (% *libdevel)", "");
	MATCH("Section (% */*)", LIBC6_DEV);
}

Test(query, regex_is_unanchored_posix_extended)
{
	MATCH("Name (~ -dev$)", LIBC6_DEV);
	MATCH("Name (~ ginx)", NGINX_AMD64 " " NGINX_COMMON " " NGINX_SRC);
	MATCH("Name (~ \"^(apache2|bar)$\")", APACHE2 " " BAR19 " " BAR110);
	MATCH("Name (~ ^lib[[:alnum:]]+$)", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("Name (~ \"\")", ALL);
}

Test(query, name_field_is_the_package_name_only)
{
	MATCH("Name (nginx)", NGINX_AMD64 " " NGINX_SRC);
	MATCH("Name (httpd)", "");
	MATCH("Package (nginx)", NGINX_AMD64 " " NGINX_SRC);
}

Test(query, dollar_source_is_source_name_for_binaries_only)
{
	MATCH("$Source (nginx)", NGINX_AMD64 " " NGINX_COMMON);
	MATCH("$Source (glibc)", LIBC6_AMD64 " " LIBC6_I386 " " LIBC6_DEV);
	MATCH("$Source (python-cffi)", CFFI);
	MATCH("$Source (apache2)", APACHE2);
	MATCH("$Source (% debian-*)", DI_UTILS);
	MATCH("!$Source", NGINX_SRC);
}

Test(query, dollar_source_version)
{
	MATCH("$SourceVersion (1.15.1-5)", CFFI);
	MATCH("$Version (1.15.1-5)", "");
	/* dpkg order: 1.143 > 1.15 > 1.10 */
	MATCH("$SourceVersion (>= 1.15)", NGINX_AMD64 " " NGINX_COMMON " "
	      LIBC6_AMD64 " " LIBC6_I386 " " LIBC6_DEV " " APACHE2 " " CFFI
	      " " DI_UTILS " " FOO);
	/* empty for source packages, and never a version */
	MATCH("$SourceVersion (<< 99)", NGINX_AMD64 " " NGINX_COMMON " "
	      LIBC6_AMD64 " " LIBC6_I386 " " LIBC6_DEV " " APACHE2 " " CFFI
	      " " DI_UTILS " " BAR19 " " BAR110);
	MATCH("$SourceVersion (= 2.4.57-2)", APACHE2);
	MATCH("$SourceVersion (= 1.22.1-9)", NGINX_AMD64 " " NGINX_COMMON);
	MATCH("$SourceVersion (% 1.15.1-*)", CFFI);
}

Test(query, dollar_architecture)
{
	MATCH("$Architecture (i386)", NGINX_COMMON " " LIBC6_I386);
	MATCH("$Architecture (= source)", NGINX_SRC);
	MATCH("$Architecture (all)", NGINX_COMMON);
	MATCH("$Architecture (% a*)", NGINX_AMD64 " " NGINX_COMMON " " LIBC6_AMD64
	      " " LIBC6_DEV " " APACHE2 " " CFFI " " DI_UTILS " " FOO " " BAR19
	      " " BAR110);
	MATCH("$Architecture (~ ^s)", NGINX_SRC);
	/* the stanza field of a source package is what the .dsc says */
	MATCH("Architecture ('any all')", NGINX_SRC);
}

Test(query, dollar_package_type)
{
	MATCH("$PackageType (deb)", NGINX_AMD64 " " NGINX_COMMON " " LIBC6_AMD64
	      " " LIBC6_I386 " " LIBC6_DEV " " APACHE2 " " CFFI " " FOO " "
	      BAR19 " " BAR110);
	MATCH("$PackageType (udeb)", DI_UTILS);
	MATCH("$PackageType (source)", NGINX_SRC);
}

/* ---- operators, precedence, quoting ------------------------------------ */

Test(query, not_and_or)
{
	MATCH("!libc6, Priority (required)", "");
	MATCH("libc6, !libc6 {i386}", LIBC6_AMD64);
	MATCH("libc6 | apache2", LIBC6_AMD64 " " LIBC6_I386 " " APACHE2);
	MATCH("!!libc6", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("!(libc6 | nginx | Name (% nginx*) | httpd | bar | foo | "
	      "di-utils | $Source (glibc))", CFFI);
}

Test(query, and_binds_tighter_than_or)
{
	/* apache2 | (libc6 , {i386}) */
	MATCH("apache2 | libc6 {i386}, libc6", LIBC6_I386 " " APACHE2);
	MATCH("libc6, libc6 {i386} | apache2", LIBC6_I386 " " APACHE2);
	MATCH("(apache2 | libc6), $Architecture (i386)", LIBC6_I386);
	MATCH("apache2 | libc6, $Architecture (i386)", LIBC6_I386 " " APACHE2);
	MATCH("!apache2 , httpd", NGINX_AMD64);
	MATCH("!(apache2 , httpd)", "nginx_1.22.1-9_amd64 " NGINX_COMMON " "
	      NGINX_SRC " " LIBC6_AMD64 " " LIBC6_I386 " " LIBC6_DEV " " CFFI
	      " " DI_UTILS " " FOO " " BAR19 " " BAR110);
}

Test(query, whitespace_between_tokens_is_insignificant)
{
	MATCH("libc6(>=2.36){i386}", LIBC6_I386);
	MATCH("  libc6 \t(\n>=  2.36 )\r\n{ i386 }  ", LIBC6_I386);
	MATCH("libc6{i386}|apache2", LIBC6_I386 " " APACHE2);
	MATCH("Priority(required),!libc6{amd64}", LIBC6_I386);
}

Test(query, quoted_strings)
{
	MATCH("\"libc6\"", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("'libc6' ('>= 2.36')", "");
	MATCH("'libc6' (>= '2.36')", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("\"Priority\" (\"required\")", LIBC6_AMD64 " " LIBC6_I386);
	MATCH("Description ('say \"hi\", it\\'s fine')", FOO);
	MATCH("Description (\"say \\\"hi\\\", it's fine\")", FOO);
	MATCH("Description (% '*, it*')", FOO);
	MATCH("Name ('a\\b\\c')", "");
}

Test(query, words_may_contain_operator_characters)
{
	MATCH("foo (= 1:2.0~rc1+dfsg-1)", FOO);
	MATCH("Name (% *-dev), $Version (>= 2.36~)", LIBC6_DEV);
}

/* ---- parse_argv, load ---------------------------------------------------- */

Test(query, argv_queries_are_ored)
{
	char *argv[] = { "libc6 {i386}", "apache2", "Name (% bar)" };
	av_query *q = NULL;
	int n = 0;

	cr_assert_eq(av_query_parse_argv(&q, 3, argv), 0, "%s", av_error_last());
	for (size_t i = 0; i < NPKGS; i++)
		n += av_query_match(q, pkgs[i]);
	cr_assert_eq(n, 4);
	av_query_free(q);

	cr_assert_eq(av_query_parse_argv(&q, 1, argv + 1), 0);
	cr_assert(av_query_match(q, pkgs[6]));
	cr_assert_not(av_query_match(q, pkgs[0]));
	av_query_free(q);
}

Test(query, argv_errors)
{
	char *bad[] = { "libc6", "libc6 (", "apache2" };
	av_query *q = NULL;

	cr_assert_eq(av_query_parse_argv(&q, 0, bad), AV_EINVALID);
	cr_assert_str_eq(av_error_last(), "no query given");
	cr_assert_eq(av_query_parse_argv(&q, 3, bad), AV_EINVALID);
	cr_assert_null(q);
	cr_assert_str_eq(av_error_last(), "query 'libc6 (': column 8: expected version");
}

Test(query, load_plain_text_is_copied)
{
	av_buf b = AV_BUF_INIT;

	cr_assert_eq(av_query_load(&b, "nginx (>= 1) \n"), 0);
	cr_assert_str_eq(av_buf_cstr(&b), "nginx (>= 1) \n");
	av_buf_dispose(&b);
}

Test(query, load_file_strips_trailing_whitespace)
{
	char *dir = fx_tmpdir(), path[4096], arg[4200];
	av_buf b = AV_BUF_INIT;
	av_query *q = NULL;

	snprintf(path, sizeof(path), "%s/q", dir);
	fx_write(path, "Priority (required),\n  libc6 {i386}\n\n \t\n");
	snprintf(arg, sizeof(arg), "@%s", path);
	cr_assert_eq(av_query_load(&b, arg), 0, "%s", av_error_last());
	cr_assert_str_eq(av_buf_cstr(&b), "Priority (required),\n  libc6 {i386}");
	cr_assert_eq(av_query_parse(&q, av_buf_cstr(&b)), 0);
	cr_assert(av_query_match(q, pkgs[4]));
	cr_assert_not(av_query_match(q, pkgs[3]));
	av_query_free(q);
	av_buf_dispose(&b);
	fx_sh("rm -rf '%s'", dir);
	free(dir);
}

Test(query, load_errors)
{
	char *dir = fx_tmpdir(), path[4096], arg[4200];
	av_buf b = AV_BUF_INIT;
	FILE *f;

	cr_assert_eq(av_query_load(&b, "@"), AV_EINVALID);
	snprintf(arg, sizeof(arg), "@%s/missing", dir);
	cr_assert_eq(av_query_load(&b, arg), AV_ENOTFOUND);
	cr_assert(strstr(av_error_last(), "missing"), "%s", av_error_last());

	snprintf(path, sizeof(path), "%s/big", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 1024 * 1024 / 8 + 1; i++)
		fputs("nginx | ", f);
	fclose(f);
	snprintf(arg, sizeof(arg), "@%s", path);
	cr_assert_eq(av_query_load(&b, arg), AV_EINVALID);
	cr_assert_eq(b.len, 0);
	av_buf_dispose(&b);
	fx_sh("rm -rf '%s'", dir);
	free(dir);
}

Test(query, load_at_dash_reads_stdin)
{
	char *dir = fx_tmpdir(), path[4096];
	av_buf b = AV_BUF_INIT;
	int saved = dup(0), fd;

	snprintf(path, sizeof(path), "%s/stdin", dir);
	fx_write(path, "apache2 | libc6\n");
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_geq(dup2(fd, 0), 0);
	close(fd);
	cr_assert_eq(av_query_load(&b, "@-"), 0, "%s", av_error_last());
	dup2(saved, 0);
	close(saved);
	cr_assert_str_eq(av_buf_cstr(&b), "apache2 | libc6");
	av_buf_dispose(&b);
	fx_sh("rm -rf '%s'", dir);
	free(dir);
}

/* ---- parse errors ---------------------------------------------------------- */

Test(query, error_empty_query)
{
	PARSE_ERR("", "query is empty");
	PARSE_ERR(" \t\n ", "query is empty");
	PARSE_ERR("\"\"", "query '\"\"': column 1: package name is empty");
}

Test(query, error_missing_version_and_value)
{
	PARSE_ERR("nginx (>= ", "query 'nginx (>= ': column 11: expected version");
	PARSE_ERR("nginx (", "query 'nginx (': column 8: expected version");
	PARSE_ERR("nginx ()", "query 'nginx ()': column 8: expected version, found ')'");
	PARSE_ERR("Priority (", "query 'Priority (': column 11: expected value");
	PARSE_ERR("Priority (= )", "query 'Priority (= )': column 13: "
		  "expected value, found ')'");
}

Test(query, error_missing_close_paren_of_condition)
{
	PARSE_ERR("nginx (>= 1", "query 'nginx (>= 1': column 12: expected ')'");
	PARSE_ERR("nginx (>= 1 2)", "query 'nginx (>= 1 2)': column 13: "
		  "expected ')', found '2'");
	PARSE_ERR("Priority (extra important)", "query 'Priority (extra important)': "
		  "column 17: expected ')', found 'important'");
}

Test(query, error_unknown_operator)
{
	PARSE_ERR("nginx (!= 1)", "query 'nginx (!= 1)': column 8: unknown operator "
		  "'!='; expected one of = << <= >> >= % ~");
	PARSE_ERR("nginx (=> 1)", "query 'nginx (=> 1)': column 8: unknown operator "
		  "'=>'; expected one of = << <= >> >= % ~");
	PARSE_ERR("nginx (<> 1)", "query 'nginx (<> 1)': column 8: unknown operator "
		  "'<>'; expected one of = << <= >> >= % ~");
	PARSE_ERR("Name (== x)", "query 'Name (== x)': column 7: unknown operator "
		  "'=='; expected one of = << <= >> >= % ~");
	PARSE_ERR("nginx (>= >= 1)", "query 'nginx (>= >= 1)': column 11: "
		  "expected version, found '>='");
}

Test(query, error_unbalanced_parens)
{
	PARSE_ERR("(nginx", "query '(nginx': column 7: expected ')' to close the "
		  "'(' at column 1");
	PARSE_ERR("((nginx)", "query '((nginx)': column 9: expected ')' to close the "
		  "'(' at column 1");
	PARSE_ERR("(nginx foo)", "query '(nginx foo)': column 8: expected ',', '|' "
		  "or ')', found 'foo'");
	PARSE_ERR("nginx)", "query 'nginx)': column 6: unbalanced ')'");
	PARSE_ERR("(nginx))", "query '(nginx))': column 8: unbalanced ')'");
	PARSE_ERR("()", "query '()': column 2: expected package name or field, "
		  "found ')'");
}

Test(query, error_trailing_garbage_and_dangling_operators)
{
	PARSE_ERR("nginx foo", "query 'nginx foo': column 7: expected ',', '|' or "
		  "end of query, found 'foo'");
	PARSE_ERR("nginx |", "query 'nginx |': column 8: expected package name or field");
	PARSE_ERR(", nginx", "query ', nginx': column 1: expected package name or "
		  "field, found ','");
	PARSE_ERR("nginx,,apache2", "query 'nginx,,apache2': column 7: expected "
		  "package name or field, found ','");
	PARSE_ERR("!", "query '!': column 2: expected package name or field");
	PARSE_ERR(">= 1", "query '>= 1': column 1: expected package name or field, "
		  "found '>='");
	PARSE_ERR("nginx }", "query 'nginx }': column 7: expected ',', '|' or end "
		  "of query, found '}'");
}

Test(query, error_arch_restriction)
{
	PARSE_ERR("nginx {", "query 'nginx {': column 8: expected architecture");
	PARSE_ERR("nginx {amd64", "query 'nginx {amd64': column 13: expected '}'");
	PARSE_ERR("nginx {amd64 i386}", "query 'nginx {amd64 i386}': column 14: "
		  "expected '}', found 'i386'");
	PARSE_ERR("nginx {''}", "query 'nginx {''}': column 8: architecture is empty");
}

Test(query, error_arch_restriction_on_fields_and_references)
{
	PARSE_ERR("Priority (required) {amd64}", "query 'Priority (required) "
		  "{amd64}': column 21: '{arch}' applies to package names, not to "
		  "field 'Priority'; add ', $Architecture (ARCH)' instead");
	PARSE_ERR("libc6_2.36-9_amd64 {i386}", "query 'libc6_2.36-9_amd64 {i386}': "
		  "column 20: expected ',', '|' or end of query, found '{'");
}

Test(query, error_unterminated_quote)
{
	PARSE_ERR("'nginx", "query ''nginx': column 1: unterminated quoted string");
	PARSE_ERR("Name (\"a\\\")", "query 'Name (\"a\\\")': column 7: "
		  "unterminated quoted string");
	/* a lexing error right after a complete group or condition frees
	 * what was already built (checked under ASan) */
	PARSE_ERR("(nginx) 'x", "query '(nginx) 'x': column 9: unterminated "
		  "quoted string");
	PARSE_ERR("!(a | b, c)\"", "query '!(a | b, c)\"': column 12: "
		  "unterminated quoted string");
	PARSE_ERR("nginx (>= 1)'", "query 'nginx (>= 1)'': column 13: "
		  "unterminated quoted string");
}

Test(query, error_bad_regex_carries_regerror_text)
{
	const char *msg = parse_error("Name (~ \"a(\")");
	char expect[256];
	regex_t re;
	int r = regcomp(&re, "a(", REG_EXTENDED | REG_NOSUB);
	char err[128];

	cr_assert_neq(r, 0);
	regerror(r, &re, err, sizeof(err));
	regfree(&re);
	snprintf(expect, sizeof(expect), "query 'Name (~ \"a(\")': column 9: bad "
		 "regular expression 'a(': %s", err);
	cr_assert_str_eq(msg, expect);
	msg = parse_error("nginx (~ [z-a])");
	cr_assert(strstr(msg, "column 10: bad regular expression '[z-a]': "), "%s", msg);
}

Test(query, error_unknown_special_field)
{
	PARSE_ERR("$Foo (x)", "query '$Foo (x)': column 1: unknown field '$Foo'; "
		  "expected $Source, $SourceVersion, $Architecture, $Version, "
		  "$PackageType or a control field");
}

Test(query, error_columns_count_characters_and_lines)
{
	PARSE_ERR("Name (\xc3\xa9) )", "query 'Name (\xc3\xa9) )': column 10: "
		  "unbalanced ')'");
	PARSE_ERR("nginx |\n  (foo", "query 'nginx |...': line 2, column 7: expected "
		  "')' to close the '(' at line 2, column 3");
	PARSE_ERR("a\x01 b", "query 'a? b': column 4: expected ',', '|' or end of "
		  "query, found 'b'");
}

Test(query, error_long_query_is_abbreviated)
{
	char text[200];

	memset(text, 'a', 150);
	memcpy(text + 150, " )", 3);
	PARSE_ERR(text, "query 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "...': column 152: unbalanced ')'");
}

/* ---- limits ---------------------------------------------------------------- */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *o = s;

	cr_assert_not_null(s);
	memcpy(o, head, hl);
	o += hl;
	for (size_t i = 0; i < n; i++, o += ul)
		memcpy(o, unit, ul);
	memcpy(o, tail, tl + 1);
	return s;
}

Test(query, nesting_is_capped_at_256)
{
	char *ok1 = repeat("", "(", 256, "libc6"), *ok, *deep, *nots;
	av_query *q = NULL;

	ok = repeat(ok1, ")", 256, "");
	cr_assert_eq(av_query_parse(&q, ok), 0, "%s", av_error_last());
	cr_assert(av_query_match(q, pkgs[3]));
	av_query_free(q);

	deep = repeat("", "(", 257, "a");
	{
		char *expect = repeat("query '", "(", 60, "...': column 257: "
				      "query nests too deeply (limit 256)");

		PARSE_ERR(deep, expect);
		free(expect);
	}
	nots = repeat("", "!", 100000, "a");
	cr_assert_eq(av_query_parse(&q, nots), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "query is too long"), "%s", av_error_last());
	free(nots);
	nots = repeat("", "!(", 200, "a");
	cr_assert_eq(av_query_parse(&q, nots), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "column 257: query nests too deeply"),
		  "%s", av_error_last());
	free(nots);
	nots = repeat("", "!", 256, "libc6");
	cr_assert_eq(av_query_parse(&q, nots), 0);
	cr_assert(av_query_match(q, pkgs[3]));
	av_query_free(q);
	free(nots);
	free(ok1);
	free(ok);
	free(deep);
}

Test(query, length_is_capped_at_64k)
{
	char *ok = repeat("", "a|", 32767, "ab"), *big = repeat("", "a|", 32768, "a");
	av_query *q = NULL;

	cr_assert_eq(strlen(ok), 65536);
	cr_assert_eq(av_query_parse(&q, ok), 0, "%s", av_error_last());
	av_query_free(q);
	PARSE_ERR(big, "query is too long (65537 bytes, limit 65536)");
	free(ok);
	free(big);
}

Test(query, long_flat_chains_cost_no_stack)
{
	char *ors = repeat("", "nosuch | ", 7000, "libc6 {i386}");
	char *ands = repeat("", "!nosuch, ", 7000, "libc6 {i386}");
	av_query *q = NULL;

	cr_assert_eq(av_query_parse(&q, ors), 0, "%s", av_error_last());
	cr_assert(av_query_match(q, pkgs[4]));
	cr_assert_not(av_query_match(q, pkgs[3]));
	av_query_free(q);
	cr_assert_eq(av_query_parse(&q, ands), 0, "%s", av_error_last());
	cr_assert(av_query_match(q, pkgs[4]));
	cr_assert_not(av_query_match(q, pkgs[3]));
	av_query_free(q);
	free(ors);
	free(ands);
}

/* ---- fuzz -------------------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}

static const char *const seeds[] = {
	"nginx", "nginx (>= 1.2) {amd64}", "libc6_2.36-9_amd64",
	"!Name (~ .*-dev), mail-transport, $Version (>= 3.5)",
	"Name (% http-*) | $Source (webserver)", "Priority (required)",
	"(a | b), !(c , d) | 'q\\'x' (\"v\\\\\")", "$Architecture (= source)",
	"Description (~ \"^(a|b)+$\")", "x (<< 1) {i386} | y (>> 2), z (% 1*)",
};

/* Parse text; it must either parse (and match without crashing) or fail
 * with AV_EINVALID and a "query ..." message. */
static void fuzz_one(const char *text)
{
	av_query *q = NULL;
	int rc = av_query_parse(&q, text);

	if (rc == 0) {
		cr_assert_not_null(q);
		for (size_t i = 0; i < NPKGS; i++) {
			int m = av_query_match(q, pkgs[i]);
			cr_assert(m == 0 || m == 1);
		}
		av_query_free(q);
		return;
	}
	cr_assert_eq(rc, AV_EINVALID, "input '%s': rc %d", text, rc);
	cr_assert_null(q);
	cr_assert(!strncmp(av_error_last(), "query ", 6), "input '%s': %s", text,
		  av_error_last());
}

Test(query, fuzz_truncations_of_valid_queries)
{
	char buf[256];

	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t n = strlen(seeds[s]);

		fuzz_one(seeds[s]);
		for (size_t cut = 0; cut <= n; cut++) {
			memcpy(buf, seeds[s], cut);
			buf[cut] = '\0';
			fuzz_one(buf);
			memcpy(buf, seeds[s] + cut, n - cut + 1);
			fuzz_one(buf);
		}
	}
}

Test(query, fuzz_random_and_mutated_inputs)
{
	static const char alphabet[] = "()(){}|,!<>=%~\"'\\ \t\n_$aZ19.-+:*?[]^";
	char buf[512];

	rng_state = 0x5eed;
	for (int iter = 0; iter < 30000; iter++) {
		size_t n = rng() % 80, i;
		int mode = (int)(rng() % 3);

		if (mode == 0) {
			for (i = 0; i < n; i++)
				buf[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
		} else if (mode == 1) {
			for (i = 0; i < n; i++)
				buf[i] = (char)(rng() % 255 + 1);
		} else {
			const char *seed = seeds[rng() % (sizeof(seeds) / sizeof(seeds[0]))];

			n = strlen(seed);
			memcpy(buf, seed, n);
			for (int k = (int)(rng() % 4); k >= 0; k--) {
				size_t at = rng() % (n + 1);

				if (rng() % 2 && n < sizeof(buf) - 2) {
					memmove(buf + at + 1, buf + at, n - at);
					n++;
				}
				if (at < n)
					buf[at] = alphabet[rng() % (sizeof(alphabet) - 1)];
			}
		}
		buf[n] = '\0';
		fuzz_one(buf);
	}
}

Test(query, fuzz_deeply_nested_inputs)
{
	char *s;

	rng_state = 0xdeeb;
	for (int iter = 0; iter < 300; iter++) {
		size_t depth = rng() % 400;
		size_t open = rng() % 2 ? depth : rng() % (depth + 1);
		const char *unit = rng() % 3 == 0 ? "!(" : rng() % 2 ? "(" : "!";
		char *head = repeat("", unit, depth, "libc6 | x");

		s = repeat(head, ")", open, "");
		fuzz_one(s);
		free(head);
		free(s);
	}
}

/* ---- speed ------------------------------------------------------------------ */

Test(query, matching_sixty_thousand_packages_is_fast)
{
	enum { N = 60000 };
	av_pkg **many = malloc(N * sizeof(*many));
	char text[512];
	av_query *q = NULL;
	struct timespec t0, t1;
	double ms;
	int hits = 0;

	cr_assert_not_null(many);
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text),
			 "Package: pkg%d\nVersion: 1.%d-1\nArchitecture: %s\n"
			 "Source: src%d (1.%d)\nPriority: %s\nSection: s%d\n"
			 "Provides: virt%d, abi (= %d)\nDescription: package %d\n",
			 i, i % 100, i % 3 ? "amd64" : "all", i % 500, i % 100,
			 i % 10 ? "optional" : "required", i % 30, i % 50, i, i);
		many[i] = make_pkg(text, AV_PKG_DEB);
	}
	cr_assert_eq(av_query_parse(&q, "Name (% pkg1*), $Version (>= 1.50), $Architecture (amd64) | "
				    "$Source (src7), !Priority (optional) | "
				    "virt3 {i386} | abi (>> 59990) | "
				    "Description (~ \"package 4+2$\")"), 0,
		     "%s", av_error_last());
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++)
		hits += av_query_match(q, many[i]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_log_info("matched %d of %d packages in %.1f ms", hits, N, ms);
	cr_assert_gt(hits, 0);
	cr_assert_lt(ms, 2000.0, "took %.1f ms", ms);
	av_query_free(q);
	for (int i = 0; i < N; i++)
		av_pkg_free(many[i]);
	free(many);
}

/* The names a query spells out, which filter looks up instead of testing
 * every package; anything that could match another name gives none. */
static void names_are(const char *text, int want, const char *joined)
{
	av_query *q = NULL;
	const char **v = NULL;
	size_t n = 0;
	char got[256] = "";

	cr_assert_eq(av_query_parse(&q, text), 0, "%s: %s", text, av_error_last());
	cr_assert_eq(av_query_names(q, &v, &n), want, "%s", text);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(got, " ");
		strcat(got, v[i]);
	}
	cr_assert_str_eq(got, joined, "%s", text);
	free(v);
	av_query_free(q);
}

Test(query, names_spelled_out_by_a_query)
{
	names_are("Name (= a) | Name (= b)", 1, "a b");
	names_are("a_1.0_amd64 | Name (= b)", 1, "a b");
	names_are("Name (= a), Priority (optional)", 1, "a");
	names_are("Priority (optional), (Name (= a) | Name (= c))", 1, "a c");
	names_are("hello", 0, "");		/* also its providers */
	names_are("Name (= a) | Priority (optional)", 0, "");
	names_are("!Name (= a)", 0, "");
	names_are("Name (% a*)", 0, "");
	names_are("Name (>> a)", 0, "");
}
