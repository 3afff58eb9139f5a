/*
 * test_source.c - .dsc and .changes reading against real source packages
 * built with dpkg-source and dpkg-genchanges; the Sources stanza is
 * compared with dpkg-scansources' output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <unistd.h>
#include <sys/stat.h>
#include <criterion/criterion.h>
#include "aptvault/source.h"
#include "aptvault/file.h"
#include "aptvault/error.h"
#include "fixtures.h"

static char *dir;
static char home_a[4096], home_b[4096], keyring[4096];

static char *at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A path under the test directory (a few live at once). */
static char *at(const char *fmt, ...)
{
	static char paths[8][4096];
	static int next;
	char *p = paths[next++ % 8];
	int n = snprintf(p, 4096, "%s/", dir);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p + n, 4096 - (size_t)n, fmt, ap);
	va_end(ap);
	return p;
}

static void setup(void)
{
	dir = fx_tmpdir();
	setenv("TMPDIR", dir, 1);
	home_a[0] = home_b[0] = '\0';
}

static void teardown(void)
{
	if (home_a[0])
		fx_sh("gpgconf --homedir '%s' --kill all 2>/dev/null", home_a);
	if (home_b[0])
		fx_sh("gpgconf --homedir '%s' --kill all 2>/dev/null", home_b);
	fx_sh("rm -rf '%s'", dir);
	free(dir);
}

TestSuite(source, .init = setup, .fini = teardown);

/* ---- fixtures ---------------------------------------------------------- */

static void make_keys(void)
{
	snprintf(home_a, sizeof(home_a), "%s/home-a", dir);
	snprintf(home_b, sizeof(home_b), "%s/home-b", dir);
	snprintf(keyring, sizeof(keyring), "%s/keyring.gpg", dir);
	cr_assert_eq(fx_sh("mkdir -m 700 '%s' '%s' && "
			   "gpg --homedir '%s' --batch --passphrase '' --quick-gen-key "
			   "'A <a@example.org>' ed25519 sign never 2>/dev/null && "
			   "gpg --homedir '%s' --batch --passphrase '' --quick-gen-key "
			   "'B <b@example.org>' ed25519 sign never 2>/dev/null && "
			   "gpg --homedir '%s' --export > '%s'", home_a, home_b, home_a,
			   home_b, home_a, keyring), 0, "gpg key generation failed");
}

/* Clearsign file in place with the key of home. */
static void sign_file(const char *home, const char *file)
{
	cr_assert_eq(fx_sh("gpg --homedir '%s' --batch --yes --clearsign -o '%s.asc' "
			   "'%s' 2>/dev/null && mv '%s.asc' '%s'", home, file, file,
			   file, file), 0, "gpg --clearsign failed");
}

static void write_debian_dir(const char *tree, const char *version,
			     const char *format)
{
	char p[4096];

	cr_assert_eq(fx_sh("mkdir -p '%s/debian/source'", tree), 0);
	snprintf(p, sizeof(p), "%s/debian/control", tree);
	fx_write(p, "Source: hello\nSection: misc\nPriority: optional\n"
		 "Maintainer: Test Maintainer <test@example.org>\n"
		 "Build-Depends: debhelper-compat (= 13)\n"
		 "Standards-Version: 4.6.2\nHomepage: https://example.org/hello\n\n"
		 "Package: hello\nArchitecture: any\nDepends: ${misc:Depends}\n"
		 "Description: test source package\n Built by the aptvault tests.\n");
	snprintf(p, sizeof(p), "%s/debian/changelog", tree);
	{
		FILE *f = fopen(p, "w");
		cr_assert_not_null(f);
		fprintf(f, "hello (%s) unstable; urgency=medium\n\n  * Initial release.\n\n"
			" -- Test Maintainer <test@example.org>  Mon, 01 Jan 2024 "
			"00:00:00 +0000\n", version);
		cr_assert_eq(fclose(f), 0);
	}
	snprintf(p, sizeof(p), "%s/debian/rules", tree);
	fx_write(p, "#!/usr/bin/make -f\n%:\n\tdh $@\n");
	snprintf(p, sizeof(p), "%s/debian/source/format", tree);
	fx_write(p, format);
}

/* DIR/native/hello_1.0.dsc, format 3.0 (native). */
static char *make_native(void)
{
	cr_assert_eq(fx_sh("mkdir -p '%s/native/hello-1.0' && echo hi > "
			   "'%s/native/hello-1.0/README'", dir, dir), 0);
	write_debian_dir(at("native/hello-1.0"), "1.0", "3.0 (native)\n");
	cr_assert_eq(fx_sh("cd '%s/native' && dpkg-source -b hello-1.0 >/dev/null 2>&1",
			   dir), 0, "dpkg-source failed");
	return strdup(at("native/hello_1.0.dsc"));
}

/* DIR/quilt/hello_1.0-1.dsc with an orig tarball, and with changes the
 * source-only .changes made by dpkg-genchanges. */
static char *make_quilt(int sign_dsc)
{
	cr_assert_eq(fx_sh("mkdir -p '%s/quilt/hello-1.0' && cd '%s/quilt' && "
			   "echo hi > hello-1.0/README && seq 1 5000 > hello-1.0/data && "
			   "tar czf hello_1.0.orig.tar.gz hello-1.0", dir, dir), 0);
	write_debian_dir(at("quilt/hello-1.0"), "1.0-1", "3.0 (quilt)\n");
	cr_assert_eq(fx_sh("cd '%s/quilt' && dpkg-source -b hello-1.0 >/dev/null 2>&1",
			   dir), 0, "dpkg-source failed");
	if (sign_dsc)
		sign_file(home_a, at("quilt/hello_1.0-1.dsc"));
	cr_assert_eq(fx_sh("cd '%s/quilt/hello-1.0' && dpkg-genchanges -S "
			   "-O../hello_1.0-1_source.changes >/dev/null 2>&1", dir), 0,
		     "dpkg-genchanges failed");
	return strdup(at("quilt/hello_1.0-1.dsc"));
}

/* ---- helpers ----------------------------------------------------------- */

static void assert_error(int rc, int code, const char *needle)
{
	cr_assert_eq(rc, code, "rc %d (want %d): %s", rc, code, av_error_last());
	cr_assert(strstr(av_error_last(), needle), "message '%s' lacks '%s'",
		  av_error_last(), needle);
}

static void assert_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void assert_message(const char *fmt, ...)
{
	char want[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	cr_assert_str_eq(av_error_last(), want);
}

static char *stanza_text(const av_stanza *s)
{
	av_buf b = AV_BUF_INIT;

	cr_assert_eq(av_stanza_write(&b, s), 0);
	return av_buf_detach(&b);
}

/* Our stanza equals dpkg-scansources' for the .dsc in pkgdir, except for
 * Directory (publishing adds it) and Checksums-Sha512 (dpkg has none). */
static void assert_matches_scansources(const av_dsc_info *info, const char *pkgdir)
{
	av_buf sources = AV_BUF_INIT;
	av_stanza *theirs = NULL, *ours = NULL;
	char *a, *b;

	cr_assert_eq(fx_sh("cd '%s' && dpkg-scansources . > Sources.txt 2>/dev/null",
			   pkgdir), 0, "dpkg-scansources failed");
	cr_assert_eq(av_file_read(&sources, at("%s/Sources.txt", pkgdir + strlen(dir) + 1),
				  0), 0);
	cr_assert_eq(av_deb822_parse_one(&theirs, sources.ptr, sources.len), 0,
		     "%s", av_error_last());
	cr_assert_eq(av_stanza_del(theirs, "Directory"), 0);
	cr_assert_eq(av_stanza_dup(&ours, info->stanza), 0);
	cr_assert_eq(av_stanza_del(ours, "Checksums-Sha512"), 0);
	a = stanza_text(ours);
	b = stanza_text(theirs);
	cr_assert_str_eq(a, b);
	cr_assert_null(av_stanza_get(info->stanza, "Directory"));
	cr_assert_null(av_stanza_get(info->stanza, "Source"));
	free(a);
	free(b);
	av_stanza_free(ours);
	av_stanza_free(theirs);
	av_buf_dispose(&sources);
}

/* The Checksums-Sha512 value sha512sum gives for these files. */
static char *sha512_list(const char *pkgdir, const char *files)
{
	av_buf b = AV_BUF_INIT;

	cr_assert_eq(fx_sh("cd '%s' && for f in %s; do printf '\\n %%s %%s %%s' "
			   "\"$(sha512sum $f | cut -d' ' -f1)\" \"$(stat -c %%s $f)\" $f; "
			   "done > sha512.txt", pkgdir, files), 0);
	cr_assert_eq(av_file_read(&b, at("%s/sha512.txt", pkgdir + strlen(dir) + 1), 0), 0);
	return av_buf_detach(&b);
}

static long file_size(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return (long)st.st_size;
}

static char *sha256_of(const char *path)
{
	av_buf b = AV_BUF_INIT;

	cr_assert_eq(fx_sh("sha256sum '%s' | cut -c1-64 | tr -d '\\n' > '%s/sum'",
			   path, dir), 0);
	cr_assert_eq(av_file_read(&b, at("sum"), 0), 0);
	return av_buf_detach(&b);
}

/* A hand-written .dsc in DIR/hand/NAME with body (no signature). */
static char *hand_dsc(const char *name, const char *body)
{
	cr_assert_eq(fx_sh("mkdir -p '%s/hand'", dir), 0);
	fx_write(at("hand/%s", name), body);
	return strdup(at("hand/%s", name));
}

/* ---- .dsc -------------------------------------------------------------- */

Test(source, native_dsc_matches_dpkg_scansources)
{
	char *dsc = make_native();
	av_dsc_info *info = NULL;

	cr_assert_eq(av_dsc_read(&info, dsc, NULL), 0, "%s", av_error_last());
	cr_assert_eq(info->was_signed, 0);
	cr_assert_eq(info->nfiles, 2);
	cr_assert_str_eq(info->files[0].name, "hello_1.0.dsc");
	cr_assert_str_eq(info->files[0].path, dsc);
	cr_assert_str_eq(info->files[1].name, "hello_1.0.tar.xz");
	cr_assert_str_eq(info->files[1].path, at("native/hello_1.0.tar.xz"));
	cr_assert_eq(info->files[1].digests.size,
		     (uint64_t)file_size(at("native/hello_1.0.tar.xz")));
	assert_matches_scansources(info, at("native"));
	av_dsc_info_free(info);
	free(dsc);
}

Test(source, quilt_dsc_matches_dpkg_scansources_and_sha512sum)
{
	char *dsc = make_quilt(0), *sha512;
	av_dsc_info *info = NULL;

	cr_assert_eq(av_dsc_read(&info, dsc, NULL), 0, "%s", av_error_last());
	cr_assert_eq(info->nfiles, 3);
	cr_assert_str_eq(info->files[1].name, "hello_1.0.orig.tar.gz");
	cr_assert_str_eq(info->files[2].name, "hello_1.0-1.debian.tar.xz");
	assert_matches_scansources(info, at("quilt"));
	sha512 = sha512_list(at("quilt"), "hello_1.0-1.dsc hello_1.0.orig.tar.gz "
			     "hello_1.0-1.debian.tar.xz");
	cr_assert_str_eq(av_stanza_get(info->stanza, "Checksums-Sha512"), sha512);
	cr_assert_str_eq(av_stanza_get(info->stanza, "Package"), "hello");
	cr_assert_str_eq(av_stanza_get(info->stanza, "Version"), "1.0-1");
	free(sha512);
	av_dsc_info_free(info);
	free(dsc);
}

Test(source, relative_dsc_path_finds_files_beside_it)
{
	char *dsc = make_native();
	av_dsc_info *info = NULL;

	cr_assert_eq(chdir(at("native")), 0);
	cr_assert_eq(av_dsc_read(&info, "hello_1.0.dsc", NULL), 0, "%s", av_error_last());
	cr_assert_str_eq(info->files[1].path, "./hello_1.0.tar.xz");
	av_dsc_info_free(info);
	free(dsc);
}

Test(source, signed_dsc_verifies_against_keyring)
{
	char *dsc;
	av_dsc_info *info = NULL;

	make_keys();
	dsc = make_quilt(1);
	cr_assert_eq(av_dsc_read(&info, dsc, keyring), 0, "%s", av_error_last());
	cr_assert_eq(info->was_signed, 1);
	assert_matches_scansources(info, at("quilt"));
	av_dsc_info_free(info);
	/* without a keyring the signature is not checked but still seen */
	cr_assert_eq(av_dsc_read(&info, dsc, NULL), 0, "%s", av_error_last());
	cr_assert_eq(info->was_signed, 1);
	assert_matches_scansources(info, at("quilt"));
	av_dsc_info_free(info);
	free(dsc);
}

Test(source, dsc_signature_problems_are_signature_errors)
{
	char *dsc;
	av_dsc_info *info = NULL;

	make_keys();
	dsc = make_quilt(0);
	assert_error(av_dsc_read(&info, dsc, keyring), AV_ESIGNATURE, "no signature");
	cr_assert(!strncmp(av_error_last(), "'", 1), "%s", av_error_last());
	cr_assert(strstr(av_error_last(), dsc), "%s", av_error_last());
	sign_file(home_b, dsc);
	assert_error(av_dsc_read(&info, dsc, keyring), AV_ESIGNATURE, "unknown key");
	sign_file(home_a, dsc);
	cr_assert_eq(fx_sh("sed -i 's/^Version: 1.0-1/Version: 1.0-2/' '%s'", dsc), 0);
	assert_error(av_dsc_read(&info, dsc, keyring), AV_ESIGNATURE, "bad signature");
	cr_assert_null(info);
	free(dsc);
}

Test(source, wrong_checksum_names_file_and_both_hashes)
{
	char *dsc = make_quilt(0);
	char *real = sha256_of(at("quilt/hello_1.0.orig.tar.gz"));
	const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";
	av_dsc_info *info = NULL;

	cr_assert_eq(fx_sh("sed -i 's/%s/%s/' '%s'", real, zero, dsc), 0);
	cr_assert_eq(av_dsc_read(&info, dsc, NULL), AV_EINVALID);
	assert_message("'%s': 'hello_1.0.orig.tar.gz' has SHA256 %s, expected %s",
		       dsc, real, zero);
	cr_assert_null(info);
	free(real);
	free(dsc);
}

Test(source, changed_content_of_same_size_is_caught)
{
	char *dsc = make_native();
	av_dsc_info *info = NULL;

	cr_assert_eq(fx_sh("printf 'X' | dd of='%s' bs=1 seek=100 conv=notrunc "
			   "2>/dev/null", at("native/hello_1.0.tar.xz")), 0);
	assert_error(av_dsc_read(&info, dsc, NULL), AV_EINVALID,
		     "'hello_1.0.tar.xz' has SHA256 ");
	free(dsc);
}

Test(source, missing_listed_file_is_not_found)
{
	char *dsc = make_quilt(0);
	av_dsc_info *info = NULL;

	cr_assert_eq(unlink(at("quilt/hello_1.0.orig.tar.gz")), 0);
	cr_assert_eq(av_dsc_read(&info, dsc, NULL), AV_ENOTFOUND);
	assert_message("'%s': listed file 'hello_1.0.orig.tar.gz' is missing", dsc);
	free(dsc);
}

Test(source, truncated_orig_tarball_is_a_size_mismatch)
{
	char *dsc = make_quilt(0);
	const char *orig = at("quilt/hello_1.0.orig.tar.gz");
	long size = file_size(orig);
	av_dsc_info *info = NULL;

	cr_assert_eq(truncate(orig, 100), 0);
	cr_assert_eq(av_dsc_read(&info, dsc, NULL), AV_EINVALID);
	assert_message("'%s': 'hello_1.0.orig.tar.gz' has size 100, expected %ld",
		       dsc, size);
	free(dsc);
}

Test(source, listed_directory_is_refused)
{
	char *dsc = make_native();
	av_dsc_info *info = NULL;

	cr_assert_eq(fx_sh("cd '%s/native' && rm hello_1.0.tar.xz && mkdir "
			   "hello_1.0.tar.xz", dir), 0);
	assert_error(av_dsc_read(&info, dsc, NULL), AV_EINVALID, "not a regular file");
	free(dsc);
}

static const char empty_md5[] = "d41d8cd98f00b204e9800998ecf8427e";

Test(source, path_traversal_names_are_refused)
{
	static const char *const names[] = {
		"../evil.tar.xz", "sub/evil.tar.xz", ".evil.tar.xz", "/etc/passwd",
	};
	av_dsc_info *info = NULL;
	char body[1024], *dsc;

	/* the target exists: refusing must not depend on it being absent */
	fx_write(at("evil.tar.xz"), "");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(body, sizeof(body), "Format: 3.0 (native)\nSource: evil\n"
			 "Version: 1.0\nFiles:\n %s 0 %s\n", empty_md5, names[i]);
		dsc = hand_dsc("evil_1.0.dsc", body);
		assert_error(av_dsc_read(&info, dsc, NULL), AV_EINVALID,
			     "unsafe file name");
		cr_assert(strstr(av_error_last(), names[i]), "%s", av_error_last());
		free(dsc);
	}
	/* also when only a Checksums field carries the bad name */
	snprintf(body, sizeof(body), "Format: 3.0 (native)\nSource: evil\nVersion: 1.0\n"
		 "Checksums-Sha1:\n da39a3ee5e6b4b0d3255bfef95601890afd80709 0 ../evil.tar.xz\n"
		 "Files:\n %s 0 evil.tar.xz\n", empty_md5);
	dsc = hand_dsc("evil_1.0.dsc", body);
	assert_error(av_dsc_read(&info, dsc, NULL), AV_EINVALID, "unsafe file name");
	free(dsc);
}

Test(source, hand_written_dsc_with_empty_file_reads)
{
	av_dsc_info *info = NULL;
	av_digests self;
	char body[1024], want[1024], *dsc;

	snprintf(body, sizeof(body), "Format: 3.0 (native)\nSource: tiny\n"
		 "Version: 2:1.0~rc1\nFiles:\n %s 0 tiny.tar.xz\n", empty_md5);
	dsc = hand_dsc("tiny.dsc", body);
	fx_write(at("hand/tiny.tar.xz"), "");
	cr_assert_eq(av_dsc_read(&info, dsc, NULL), 0, "%s", av_error_last());
	cr_assert_eq(info->nfiles, 2);
	cr_assert_eq(av_digests_mem(&self, body, strlen(body)), 0);
	snprintf(want, sizeof(want), "\n %s %zu tiny.dsc\n %s 0 tiny.tar.xz",
		 self.md5, strlen(body), empty_md5);
	cr_assert_str_eq(av_stanza_get(info->stanza, "Files"), want);
	cr_assert_str_eq(av_stanza_get(info->stanza, "Package"), "tiny");
	cr_assert_str_eq(av_stanza_get(info->stanza, "Version"), "2:1.0~rc1");
	av_dsc_info_free(info);
	free(dsc);
}

static void assert_garbage(const char *name, const char *body, const char *needle)
{
	av_dsc_info *info = NULL;
	char *dsc = hand_dsc(name, body);

	assert_error(av_dsc_read(&info, dsc, NULL), AV_EINVALID, needle);
	cr_assert(strstr(av_error_last(), dsc), "message does not name the file: %s",
		  av_error_last());
	cr_assert_null(info);
	free(dsc);
}

Test(source, garbage_dsc_is_invalid)
{
	cr_assert_eq(fx_sh("mkdir -p '%s/hand' && : > '%s/hand/x.tar.xz'", dir, dir), 0);
	assert_garbage("a.dsc", "this is not a control file\n", "");
	assert_garbage("b.dsc", "", "");
	assert_garbage("c.dsc", "\x01\x02\x03\xff\xfe binary junk\n\x00", "");
	assert_garbage("d.dsc", "Source: a\nVersion: 1\n\nSource: b\nVersion: 2\n", "");
	assert_garbage("e.dsc", "Format: 1.0\nSource: x\nVersion: 1.0\n",
		       "missing required field 'Files'");
	assert_garbage("f.dsc", "Format: 1.0\nSource: x\nFiles:\n "
		       "d41d8cd98f00b204e9800998ecf8427e 0 x.tar.xz\n",
		       "missing required field 'Version'");
	assert_garbage("g.dsc", "Source: x\nVersion: 1.0\nFiles:\n "
		       "d41d8cd98f00b204e9800998ecf8427e 0 x.tar.xz\n",
		       "missing required field 'Format'");
	assert_garbage("h.dsc", "Format: 1.0\nSource: xy\nVersion: 1.0\nFiles:\n"
		       " nothex 0 x.tar.xz\n", "bad MD5 'nothex'");
	assert_garbage("i.dsc", "Format: 1.0\nSource: xy\nVersion: 1.0\nFiles:\n "
		       "d41d8cd98f00b204e9800998ecf8427e 12a x.tar.xz\n", "bad size '12a'");
	assert_garbage("j.dsc", "Format: 1.0\nSource: xy\nVersion: 1.0\nFiles:\n "
		       "d41d8cd98f00b204e9800998ecf8427e x.tar.xz\n", "malformed line in Files");
	assert_garbage("k.dsc", "Format: 1.0\nSource: xy\nVersion: 1.0\nFiles:\n "
		       "d41d8cd98f00b204e9800998ecf8427e 99999999999999999999999 x.tar.xz\n",
		       "bad size");
	assert_garbage("l.dsc", "Format: 1.0\nSource: ../x\nVersion: 1.0\nFiles:\n "
		       "d41d8cd98f00b204e9800998ecf8427e 0 x.tar.xz\n",
		       "bad source package name '../x'");
	assert_garbage("m.dsc", "Format: 1.0\nSource: xy\nVersion: 1.0/../2\nFiles:\n "
		       "d41d8cd98f00b204e9800998ecf8427e 0 x.tar.xz\n", "bad version");
	assert_garbage("n.dsc", "Format: 1.0\nSource: xy\nVersion: 1.0\nFiles:\n "
		       "d41d8cd98f00b204e9800998ecf8427e 0 x.tar.xz\n d41d8cd98f00b204e9800998"
		       "ecf8427e 0 x.tar.xz\n", "listed twice in Files");
	assert_garbage("o.dsc", "Format: 1.0\nSource: xy\nVersion: 1.0\nFiles:\n "
		       "d41d8cd98f00b204e9800998ecf8427e 0 x.tar.xz\nChecksums-Sha1:\n "
		       "da39a3ee5e6b4b0d3255bfef95601890afd80709 0 y.tar.xz\n",
		       "'y.tar.xz' is listed in Checksums-Sha1 but not in Files");
	assert_garbage("p.dsc", "Format: 1.0\nSource: xy\nVersion: 1.0\nFiles:\n "
		       "d41d8cd98f00b204e9800998ecf8427e 0 x.tar.xz\nChecksums-Sha1:\n "
		       "da39a3ee5e6b4b0d3255bfef95601890afd80709 7 x.tar.xz\n",
		       "'x.tar.xz' has size 0 in Files but 7 in Checksums-Sha1");
	assert_garbage("q.dsc", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
		       "Format: 1.0\nSource: xy\n", "");
	assert_garbage("r.dsc", "Format: 1.0\nSource: xy\nVersion: 1.0\nFiles:\n", "");
}

Test(source, oversized_dsc_is_invalid)
{
	av_dsc_info *info = NULL;

	cr_assert_eq(fx_sh("mkdir -p '%s/hand' && { printf 'Format: 1.0\\nSource: x\\n"
			   "Description: x\\n'; yes ' filler' | head -c 5000000; } > "
			   "'%s/hand/big.dsc'", dir, dir), 0);
	assert_error(av_dsc_read(&info, at("hand/big.dsc"), NULL), AV_EINVALID,
		     "too large");
}

Test(source, missing_dsc_is_not_found)
{
	av_dsc_info *info = NULL;

	assert_error(av_dsc_read(&info, at("nope_1.0.dsc"), NULL), AV_ENOTFOUND,
		     "nope_1.0.dsc");
	av_dsc_info_free(NULL);
}

/* ---- .changes ---------------------------------------------------------- */

static int read_changes(av_changes_info **info, const char *keyring_path,
			int accept_unsigned, int ignore)
{
	av_changes_opts opts = {
		.keyring = keyring_path,
		.accept_unsigned = accept_unsigned,
		.ignore_signatures = ignore,
	};

	return av_changes_read(info, at("quilt/hello_1.0-1_source.changes"), &opts);
}

Test(source, unsigned_changes_needs_accept_unsigned)
{
	char *dsc = make_quilt(0);
	av_changes_info *info = NULL;

	assert_error(read_changes(&info, NULL, 0, 0), AV_ESIGNATURE, "is not signed");
	cr_assert_null(info);
	cr_assert_eq(read_changes(&info, NULL, 1, 0), 0, "%s", av_error_last());
	cr_assert_eq(info->was_signed, 0);
	cr_assert_eq(info->nfiles, 3);
	cr_assert_str_eq(info->files[0].name, "hello_1.0-1.dsc");
	cr_assert_str_eq(info->files[1].name, "hello_1.0.orig.tar.gz");
	cr_assert_str_eq(info->files[2].name, "hello_1.0-1.debian.tar.xz");
	cr_assert_str_eq(info->files[2].path, at("quilt/hello_1.0-1.debian.tar.xz"));
	cr_assert_str_eq(av_stanza_get(info->stanza, "Source"), "hello");
	cr_assert_str_eq(av_stanza_get(info->stanza, "Distribution"), "unstable");
	av_changes_info_free(info);
	cr_assert_eq(read_changes(&info, NULL, 0, 1), 0, "%s", av_error_last());
	av_changes_info_free(info);
	/* a keyring does not make an unsigned upload acceptable */
	make_keys();
	assert_error(read_changes(&info, keyring, 0, 0), AV_ESIGNATURE, "is not signed");
	free(dsc);
}

Test(source, signed_changes_policies)
{
	char *dsc;
	av_changes_info *info = NULL;

	make_keys();
	dsc = make_quilt(1);
	sign_file(home_a, at("quilt/hello_1.0-1_source.changes"));
	cr_assert_eq(read_changes(&info, keyring, 0, 0), 0, "%s", av_error_last());
	cr_assert_eq(info->was_signed, 1);
	cr_assert_eq(info->nfiles, 3);
	av_changes_info_free(info);
	cr_assert_eq(av_changes_read(&info, at("quilt/hello_1.0-1_source.changes"), NULL),
		     AV_ESIGNATURE);
	assert_message("no keyring given to verify '%s'; pass --keyring or "
		       "--ignore-signatures", at("quilt/hello_1.0-1_source.changes"));
	assert_error(read_changes(&info, NULL, 1, 0), AV_ESIGNATURE, "no keyring given");
	cr_assert_eq(read_changes(&info, NULL, 0, 1), 0, "%s", av_error_last());
	av_changes_info_free(info);
	free(dsc);
}

Test(source, changes_with_bad_signature_or_unknown_key_fails)
{
	char *dsc;
	av_changes_info *info = NULL;
	const char *changes;

	make_keys();
	dsc = make_quilt(0);
	changes = strdup(at("quilt/hello_1.0-1_source.changes"));
	sign_file(home_b, changes);
	assert_error(read_changes(&info, keyring, 0, 0), AV_ESIGNATURE, "unknown key");
	cr_assert(strstr(av_error_last(), changes), "%s", av_error_last());
	/* ignoring signatures still reads it */
	cr_assert_eq(read_changes(&info, keyring, 0, 1), 0, "%s", av_error_last());
	av_changes_info_free(info);
	sign_file(home_a, changes);
	cr_assert_eq(fx_sh("sed -i 's/^Distribution: unstable/Distribution: stable/' '%s'",
			   changes), 0);
	assert_error(read_changes(&info, keyring, 0, 0), AV_ESIGNATURE, "bad signature");
	assert_error(av_changes_read(&info, changes, &(av_changes_opts){
			.keyring = at("no-such-keyring") }), AV_ENOTFOUND, "no-such-keyring");
	free((char *)changes);
	free(dsc);
}

Test(source, changes_listing_is_verified)
{
	char *dsc = make_quilt(0);
	av_changes_info *info = NULL;
	const char *deb = at("quilt/hello_1.0-1.debian.tar.xz");
	long size = file_size(deb);

	cr_assert_eq(truncate(deb, 10), 0);
	cr_assert_eq(read_changes(&info, NULL, 1, 0), AV_EINVALID);
	assert_message("'%s': 'hello_1.0-1.debian.tar.xz' has size 10, expected %ld",
		       at("quilt/hello_1.0-1_source.changes"), size);
	cr_assert_eq(unlink(deb), 0);
	assert_error(read_changes(&info, NULL, 1, 0), AV_ENOTFOUND,
		     "listed file 'hello_1.0-1.debian.tar.xz' is missing");
	cr_assert_null(info);
	free(dsc);
}

Test(source, hand_written_changes_need_five_fields_in_files)
{
	av_changes_info *info = NULL;
	av_changes_opts opts = { .accept_unsigned = 1 };
	char body[2048];

	cr_assert_eq(fx_sh("mkdir -p '%s/hand' && : > '%s/hand/x_1.0.tar.xz'", dir, dir), 0);
	snprintf(body, sizeof(body), "Format: 1.8\nSource: x1\nVersion: 1.0\n"
		 "Architecture: source\nDistribution: unstable\nFiles:\n %s 0 x_1.0.tar.xz\n",
		 empty_md5);
	fx_write(at("hand/x.changes"), body);
	assert_error(av_changes_read(&info, at("hand/x.changes"), &opts), AV_EINVALID,
		     "malformed line in Files");
	snprintf(body, sizeof(body), "Format: 1.8\nSource: x1 (0.9)\nVersion: 1.0+b1\n"
		 "Architecture: source\nDistribution: unstable\nFiles:\n"
		 " %s 0 misc optional x_1.0.tar.xz\nChecksums-Sha256:\n"
		 " e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 "
		 "x_1.0.tar.xz\n", empty_md5);
	fx_write(at("hand/x.changes"), body);
	cr_assert_eq(av_changes_read(&info, at("hand/x.changes"), &opts), 0, "%s",
		     av_error_last());
	cr_assert_eq(info->nfiles, 1);
	cr_assert_str_eq(info->files[0].digests.sha256,
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	av_changes_info_free(info);
	snprintf(body, sizeof(body), "Format: 1.8\nSource: x1\nVersion: 1.0\n"
		 "Distribution: unstable\nFiles:\n %s 0 misc optional x_1.0.tar.xz\n",
		 empty_md5);
	fx_write(at("hand/x.changes"), body);
	assert_error(av_changes_read(&info, at("hand/x.changes"), &opts), AV_EINVALID,
		     "missing required field 'Architecture'");
}
