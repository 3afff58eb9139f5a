/* test_package.c - package identity, validation and the stored blob. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "aptvault/package.h"
#include "aptvault/error.h"
#include "fixtures.h"

static av_stanza *stanza_of(const char *text)
{
	av_stanza *s = NULL;

	cr_assert_eq(av_deb822_parse_one(&s, text, strlen(text)), 0, "%s", av_error_last());
	return s;
}

static int new_rc(const char *text, av_pkg_type type)
{
	av_pkg *p = NULL;
	int rc = av_pkg_new(&p, stanza_of(text), type);

	if (rc)
		cr_assert_null(p);
	av_pkg_free(p);
	return rc;
}

Test(package, new_sets_identity_from_stanza)
{
	av_pkg *p = NULL;

	cr_assert_eq(av_pkg_new(&p, stanza_of("Package: hello\nVersion: 1:2.10-3\n"
					      "Architecture: amd64\n"), AV_PKG_DEB), 0);
	cr_assert_str_eq(p->name, "hello");
	cr_assert_str_eq(p->version, "1:2.10-3");
	cr_assert_str_eq(p->arch, "amd64");
	cr_assert_eq(p->type, AV_PKG_DEB);
	av_pkg_free(p);
}

Test(package, source_package_arch_is_source_whatever_the_field_says)
{
	av_pkg *p = NULL;

	cr_assert_eq(av_pkg_new(&p, stanza_of("Package: hello\nVersion: 2.10-3\n"
					      "Architecture: any all\n"), AV_PKG_SOURCE), 0);
	cr_assert_str_eq(p->arch, "source");
	av_pkg_free(p);
}

Test(package, new_rejects_missing_identity_fields)
{
	cr_assert_eq(new_rc("Version: 1\nArchitecture: all\n", AV_PKG_DEB), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "'Package'"), "%s", av_error_last());
	cr_assert_eq(new_rc("Package: a\nArchitecture: all\n", AV_PKG_DEB), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "'Version'"), "%s", av_error_last());
	cr_assert_eq(new_rc("Package: a\nVersion: 1\n", AV_PKG_UDEB), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "'Architecture'"), "%s", av_error_last());
}

Test(package, new_rejects_malformed_version)
{
	cr_assert_eq(new_rc("Package: a\nVersion: abc\nArchitecture: all\n", AV_PKG_DEB),
		     AV_EINVALID);
	cr_assert_eq(new_rc("Package: a\nVersion: 1.0_1\nArchitecture: all\n", AV_PKG_DEB),
		     AV_EINVALID);
	cr_assert_eq(new_rc("Package: a\nVersion: 1.0-\nArchitecture: all\n", AV_PKG_DEB),
		     AV_EINVALID);
}

Test(package, new_rejects_names_and_archs_that_break_keys)
{
	cr_assert_eq(new_rc("Package: a_b\nVersion: 1\nArchitecture: all\n", AV_PKG_DEB),
		     AV_EINVALID);
	cr_assert_eq(new_rc("Package: Abc\nVersion: 1\nArchitecture: all\n", AV_PKG_DEB),
		     AV_EINVALID);
	cr_assert_eq(new_rc("Package: -ab\nVersion: 1\nArchitecture: all\n", AV_PKG_DEB),
		     AV_EINVALID);
	cr_assert_eq(new_rc("Package: ab\nVersion: 1\nArchitecture: x_y\n", AV_PKG_DEB),
		     AV_EINVALID);
	cr_assert_eq(new_rc("Package: ab\nVersion: 1\nArchitecture: amd64 i386\n",
			    AV_PKG_DEB), AV_EINVALID);
	cr_assert_eq(new_rc("Package: g++-12\nVersion: 1\nArchitecture: arm64\n",
			    AV_PKG_DEB), 0);
	cr_assert_eq(new_rc("Package: libc6.1\nVersion: 1\nArchitecture: kfreebsd-amd64\n",
			    AV_PKG_DEB), 0);
}

static char *serialize(const av_pkg *p)
{
	av_buf b = AV_BUF_INIT;

	cr_assert_eq(av_pkg_serialize(&b, p), 0, "%s", av_error_last());
	return av_buf_detach(&b);
}

Test(package, serialize_writes_canonical_stanza_with_type_last)
{
	av_pkg *p = NULL;
	char *text;

	cr_assert_eq(av_pkg_new(&p, stanza_of(
		"Aptvault-Contents: 0123abcd\nDescription: d\n more\nFilename: pool/x.deb\n"
		"SHA256: s\nSize: 10\nArchitecture: all\nVersion: 1.0\nPackage: x\n"
		"X-Extra: e\nDepends: y\n"), AV_PKG_UDEB), 0);
	text = serialize(p);
	cr_assert_str_eq(text, "Package: x\nVersion: 1.0\nArchitecture: all\nDepends: y\n"
			 "Size: 10\nSHA256: s\nDescription: d\n more\nX-Extra: e\n"
			 "Aptvault-Contents: 0123abcd\nAptvault-Type: udeb\n");
	free(text);
	av_pkg_free(p);
}

Test(package, serialize_orders_source_fields_and_drops_directory)
{
	av_pkg *p = NULL;
	char *text;

	cr_assert_eq(av_pkg_new(&p, stanza_of(
		"Package: hello\nFiles:\n abc 1 hello_1.0.dsc\nDirectory: pool/main/h/hello\n"
		"Version: 1.0\nArchitecture: any\nFormat: 3.0 (native)\nBinary: hello\n"),
		AV_PKG_SOURCE), 0);
	text = serialize(p);
	cr_assert_str_eq(text, "Format: 3.0 (native)\nPackage: hello\nBinary: hello\n"
			 "Architecture: any\nVersion: 1.0\nFiles:\n abc 1 hello_1.0.dsc\n"
			 "Aptvault-Type: source\n");
	free(text);
	av_pkg_free(p);
}

Test(package, parse_reads_back_type_and_reserializes_identically)
{
	static const av_pkg_type types[] = { AV_PKG_DEB, AV_PKG_UDEB, AV_PKG_SOURCE };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		av_pkg *p = NULL, *q = NULL;
		char *a, *b;

		cr_assert_eq(av_pkg_new(&p, stanza_of("Package: z\nVersion: 2~rc1-1\n"
						      "Architecture: i386\nSource: zz (2)\n"),
					types[i]), 0);
		a = serialize(p);
		cr_assert_eq(av_pkg_parse(&q, a, strlen(a)), 0, "%s", av_error_last());
		cr_assert_eq(q->type, types[i]);
		cr_assert_str_eq(q->arch, p->arch);
		b = serialize(q);
		cr_assert_str_eq(a, b);
		free(a);
		free(b);
		av_pkg_free(p);
		av_pkg_free(q);
	}
}

Test(package, parse_without_type_field_means_deb)
{
	av_pkg *p = NULL;
	const char *t = "Package: a\nVersion: 1\nArchitecture: all\n";

	cr_assert_eq(av_pkg_parse(&p, t, strlen(t)), 0);
	cr_assert_eq(p->type, AV_PKG_DEB);
	av_pkg_free(p);
}

Test(package, parse_rejects_unknown_type_and_bad_blobs)
{
	av_pkg *p = NULL;
	const char *t = "Package: a\nVersion: 1\nArchitecture: all\nAptvault-Type: rpm\n";

	cr_assert_eq(av_pkg_parse(&p, t, strlen(t)), AV_EINVALID);
	cr_assert_null(p);
	cr_assert_eq(av_pkg_parse(&p, "", 0), AV_EINVALID);
	cr_assert_eq(av_pkg_parse(&p, "A: 1\n\nB: 2\n", 11), AV_EINVALID);
	cr_assert_eq(av_pkg_parse(&p, "Package: a\n", 11), AV_EINVALID);
	cr_assert_null(p);
}

Test(package, key_joins_name_version_arch_and_splits_back)
{
	av_pkg *p = NULL;
	av_buf key = AV_BUF_INIT;
	const char *n, *v, *a;
	char *buf;

	cr_assert_eq(av_pkg_new(&p, stanza_of("Package: libfoo1\nVersion: 1:2.0~b1-3+deb12u1\n"
					      "Architecture: arm64\n"), AV_PKG_DEB), 0);
	cr_assert_eq(av_pkg_key(&key, p), 0);
	cr_assert_str_eq(av_buf_cstr(&key), "libfoo1_1:2.0~b1-3+deb12u1_arm64");
	buf = malloc(key.len + 1);
	cr_assert_eq(av_pkg_key_split(key.ptr, buf, &n, &v, &a), 0);
	cr_assert_str_eq(n, "libfoo1");
	cr_assert_str_eq(v, "1:2.0~b1-3+deb12u1");
	cr_assert_str_eq(a, "arm64");
	free(buf);
	av_buf_dispose(&key);
	av_pkg_free(p);
}

Test(package, key_split_rejects_malformed_keys)
{
	static const char *const bad[] = {
		"", "abc", "a_b", "_1_all", "a__all", "a_1_", "a_b_", "__",
	};
	char buf[32];
	const char *n, *v, *a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(av_pkg_key_split(bad[i], buf, &n, &v, &a), AV_EINVALID,
			     "key '%s'", bad[i]);
	cr_assert_eq(av_pkg_key_split("hello_2.10-3_source", buf, &n, &v, &a), 0);
	cr_assert_str_eq(a, "source");
}

static void source_of(const char *stanza, av_pkg_type type, const char *name,
		      const char *version)
{
	av_pkg *p = NULL;
	av_buf n = AV_BUF_INIT, v = AV_BUF_INIT;

	cr_assert_eq(av_pkg_new(&p, stanza_of(stanza), type), 0, "%s", av_error_last());
	cr_assert_eq(av_pkg_source(p, &n, &v), 0, "%s", av_error_last());
	cr_assert_str_eq(av_buf_cstr(&n), name);
	cr_assert_str_eq(av_buf_cstr(&v), version);
	av_buf_dispose(&n);
	av_buf_dispose(&v);
	av_pkg_free(p);
}

Test(package, source_defaults_to_own_name_and_version)
{
	source_of("Package: a\nVersion: 1.0-1\nArchitecture: all\n", AV_PKG_DEB,
		  "a", "1.0-1");
	source_of("Package: a\nVersion: 1.0-1\nArchitecture: any\n", AV_PKG_SOURCE,
		  "a", "1.0-1");
}

Test(package, source_field_gives_name_and_optional_version)
{
	source_of("Package: a\nVersion: 1.0-1\nArchitecture: all\nSource: s\n",
		  AV_PKG_DEB, "s", "1.0-1");
	source_of("Package: a\nVersion: 1.0-1+b1\nArchitecture: all\nSource: s (1.0-1)\n",
		  AV_PKG_DEB, "s", "1.0-1");
	source_of("Package: a\nVersion: 3\nArchitecture: all\nSource: s(1:2)\n",
		  AV_PKG_UDEB, "s", "1:2");
}

Test(package, malformed_source_field_is_rejected)
{
	static const char *const bad[] = { "s (1.0", "s (1) x", "s ()", "(1)", "s t" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		av_pkg *p = NULL;
		av_buf n = AV_BUF_INIT, v = AV_BUF_INIT;
		av_stanza *s = stanza_of("Package: a\nVersion: 1\nArchitecture: all\n");

		cr_assert_eq(av_stanza_set(s, "Source", bad[i]), 0);
		cr_assert_eq(av_pkg_new(&p, s, AV_PKG_DEB), 0);
		cr_assert_eq(av_pkg_source(p, &n, &v), AV_EINVALID, "Source: %s", bad[i]);
		av_buf_dispose(&n);
		av_buf_dispose(&v);
		av_pkg_free(p);
	}
}

Test(package, type_names)
{
	cr_assert_str_eq(av_pkg_type_str(AV_PKG_DEB), "deb");
	cr_assert_str_eq(av_pkg_type_str(AV_PKG_UDEB), "udeb");
	cr_assert_str_eq(av_pkg_type_str(AV_PKG_SOURCE), "source");
}

/* The stanza dpkg-deb reports for a real .deb becomes a package. */
Test(package, control_of_real_deb_makes_a_package)
{
	char *dir = fx_tmpdir(), *deb, path[4096];
	char data[16384];
	av_pkg *p = NULL;
	FILE *f;
	size_t n;

	deb = fx_make_deb(dir, "realpkg", "2:1.2.3-4", "amd64", "Depends: libc6\n", NULL);
	cr_assert_eq(fx_sh("dpkg-deb -f '%s' > '%s/control'", deb, dir), 0);
	snprintf(path, sizeof(path), "%s/control", dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(data, 1, sizeof(data), f);
	fclose(f);
	cr_assert_eq(av_pkg_parse(&p, data, n), 0, "%s", av_error_last());
	cr_assert_str_eq(p->name, "realpkg");
	cr_assert_str_eq(p->version, "2:1.2.3-4");
	cr_assert_str_eq(p->arch, "amd64");
	av_pkg_free(p);
	fx_sh("rm -rf '%s'", dir);
	free(deb);
	free(dir);
}
