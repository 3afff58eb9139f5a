/*
 * test_deb.c - reading .deb/.udeb files: conformance with dpkg-deb and
 * dpkg-scanpackages for every compression dpkg-deb writes, and clean
 * AV_EINVALID errors (naming the file) for truncated, corrupt, hostile
 * or foreign input.
 *
 * Real packages come from dpkg-deb --build; hostile ones are assembled
 * here from tars written with libarchive and a small ar writer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include "aptvault/deb.h"
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "fixtures.h"

/* ---- helpers ----------------------------------------------------------- */

/* The stdout of a shell command; aborts the test if it fails. */
static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...)
{
	char cmd[16384], chunk[4096];
	av_buf out = AV_BUF_INIT;
	va_list ap;
	FILE *p;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s", cmd);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		cr_assert_eq(av_buf_put(&out, chunk, n), 0);
	cr_assert_eq(pclose(p), 0, "command failed: %s", cmd);
	return av_buf_detach(&out);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot write %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void slurp(av_buf *out, const char *path)
{
	cr_assert_eq(av_file_read(out, path, 0), 0, "%s", av_error_last());
}

static char *join(const char *dir, const char *name)
{
	char *p = NULL;

	cr_assert_neq(asprintf(&p, "%s/%s", dir, name), -1);
	return p;
}

/* A directory of its own for one package, so dpkg-scanpackages sees only
 * that package. */
static char *subdir(const char *dir, const char *name)
{
	char *p = join(dir, name);

	cr_assert_eq(av_mkdir_p(p), 0);
	return p;
}

/* An ar member and a tar entry, for crafted packages. */
struct amem {
	const char *name;
	const void *data;
	size_t size;
};

struct tent {
	const char *path;
	char type;		/* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink */
	const char *data;	/* NULL with size > 0: that many zero bytes */
	size_t size;
	const char *link;
};

static void make_ar(av_buf *out, const struct amem *m, size_t n)
{
	cr_assert_eq(av_buf_puts(out, "!<arch>\n"), 0);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(av_buf_printf(out, "%-16s%-12s%-6s%-6s%-8s%-10zu`\n",
					   m[i].name, "0", "0", "0", "100644",
					   m[i].size), 0);
		cr_assert_eq(av_buf_put(out, m[i].data, m[i].size), 0);
		if (m[i].size & 1)
			cr_assert_eq(av_buf_putc(out, '\n'), 0);
	}
}

static la_ssize_t tar_cb(struct archive *a, void *ctx, const void *data, size_t len)
{
	(void)a;
	return av_buf_put(ctx, data, len) ? -1 : (la_ssize_t)len;
}

static void write_entry_data(struct archive *a, const struct tent *e)
{
	static const char zeros[65536];
	size_t left = e->size;

	if (e->data) {
		cr_assert_eq(archive_write_data(a, e->data, e->size), (la_ssize_t)e->size);
		return;
	}
	while (left) {
		size_t n = left < sizeof(zeros) ? left : sizeof(zeros);
		cr_assert_eq(archive_write_data(a, zeros, n), (la_ssize_t)n);
		left -= n;
	}
}

/* libarchive pads its output to 10240 bytes unless told not to. */
static int tar_padding;

static void make_tar(av_buf *out, const struct tent *e, size_t n, int filter)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();

	cr_assert_eq(archive_write_set_format_gnutar(a), ARCHIVE_OK);
	cr_assert_eq(archive_write_set_bytes_in_last_block(a, tar_padding ? 0 : 1),
		     ARCHIVE_OK);
	cr_assert_eq(archive_write_add_filter(a, filter), ARCHIVE_OK);
	cr_assert_eq(archive_write_open(a, out, NULL, tar_cb, NULL), ARCHIVE_OK,
		     "%s", archive_error_string(a));
	for (size_t i = 0; i < n; i++) {
		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_perm(ae, e[i].type == 'd' ? 0755 : 0644);
		archive_entry_set_mtime(ae, 1700000000, 0);
		switch (e[i].type) {
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].link);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].link);
			break;
		default:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t)e[i].size);
		}
		cr_assert_eq(archive_write_header(a, ae), ARCHIVE_OK,
			     "%s", archive_error_string(a));
		if (e[i].type == 'f')
			write_entry_data(a, &e[i]);
	}
	cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
	archive_entry_free(ae);
	archive_write_free(a);
}

static const char good_control[] =
	"Package: crafted\nVersion: 1.0-1\nArchitecture: all\n"
	"Maintainer: T <t@example.org>\nDescription: crafted\n";

static const struct tent good_control_tar[] = {
	{ "./", 'd', NULL, 0, NULL },
	{ "./control", 'f', good_control, sizeof(good_control) - 1, NULL },
};

static const struct tent good_data_tar[] = {
	{ "./", 'd', NULL, 0, NULL },
	{ "./usr/", 'd', NULL, 0, NULL },
	{ "./usr/bin/", 'd', NULL, 0, NULL },
	{ "./usr/bin/crafted", 'f', "#!/bin/sh\n", 10, NULL },
};

/* A package from given control and data tars (gzip), members as named. */
static void make_deb_from(av_buf *out, const char *version,
			  const char *ctl_name, const struct tent *ctl, size_t nctl,
			  const char *data_name, const struct tent *data, size_t ndata)
{
	av_buf c = AV_BUF_INIT, d = AV_BUF_INIT;
	struct amem m[3];
	size_t n = 0;

	make_tar(&c, ctl, nctl, ARCHIVE_FILTER_GZIP);
	make_tar(&d, data, ndata, ARCHIVE_FILTER_GZIP);
	m[n++] = (struct amem){ "debian-binary", version, strlen(version) };
	if (ctl_name)
		m[n++] = (struct amem){ ctl_name, c.ptr, c.len };
	if (data_name)
		m[n++] = (struct amem){ data_name, d.ptr, d.len };
	make_ar(out, m, n);
	av_buf_dispose(&c);
	av_buf_dispose(&d);
}

static void make_good_deb(av_buf *out)
{
	make_deb_from(out, "2.0\n", "control.tar.gz", good_control_tar, 2,
		      "data.tar.gz", good_data_tar, 4);
}

/* av_deb_read of these bytes written to DIR/bad.deb must be AV_EINVALID,
 * with a message naming the file and containing want (if not NULL). */
static void expect_invalid_file(const char *dir, const void *data, size_t len,
				const char *want)
{
	char *path = join(dir, "bad.deb");
	av_deb_info *info = NULL;
	int rc;

	write_bytes(path, data, len);
	rc = av_deb_read(&info, path);
	cr_assert_eq(rc, AV_EINVALID, "rc %d for %zu bytes: %s", rc, len,
		     av_error_last());
	cr_assert_null(info);
	cr_assert_not_null(strstr(av_error_last(), path),
			   "message does not name the file: %s", av_error_last());
	if (want)
		cr_assert_not_null(strstr(av_error_last(), want),
				   "expected '%s' in: %s", want, av_error_last());
	free(path);
}

static void expect_invalid_mem(const void *data, size_t len)
{
	av_deb_info *info = NULL;
	int rc = av_deb_read_mem(&info, data, len);

	cr_assert_eq(rc, AV_EINVALID, "rc %d for %zu bytes: %s", rc, len,
		     av_error_last());
	cr_assert_null(info);
	cr_assert_neq(av_error_last()[0], '\0');
}

/* ---- conformance with dpkg --------------------------------------------- */

/* What dpkg-scanpackages says about the file, minus Filename, plus the
 * SHA512 it does not print, in its field order. */
static char *scanpackages_stanza(const char *path, const char *type)
{
	char *dir = strdup(path), *scan, *sha512, *line, *out;
	av_buf want = AV_BUF_INIT;
	size_t n;

	*strrchr(dir, '/') = '\0';
	scan = capture("cd '%s' && dpkg-scanpackages -t %s -m . /dev/null 2>/dev/null",
		       dir, type);
	sha512 = capture("sha512sum < '%s' | cut -d' ' -f1 | tr -d '\\n'", path);
	n = strlen(scan);
	cr_assert_gt(n, 2);
	cr_assert_str_eq(scan + n - 2, "\n\n", "not exactly one stanza");
	scan[n - 1] = '\0';
	for (char *p = scan; *p; p = line + 1) {
		line = strchr(p, '\n');
		if (!strncmp(p, "Filename: ", 10))
			continue;
		cr_assert_eq(av_buf_put(&want, p, (size_t)(line - p) + 1), 0);
		if (!strncmp(p, "SHA256: ", 8) && !strstr(scan, "\nSHA512: "))
			cr_assert_eq(av_buf_printf(&want, "SHA512: %s\n", sha512), 0);
	}
	out = av_buf_detach(&want);
	free(scan);
	free(sha512);
	free(dir);
	return out;
}

static void check_control_fields(const av_deb_info *info, const char *path)
{
	char *field = capture("dpkg-deb --field '%s'", path);
	av_stanza *ctl = NULL;

	cr_assert_eq(av_deb822_parse_one(&ctl, field, strlen(field)), 0,
		     "%s", av_error_last());
	cr_assert_gt(ctl->count, 3);
	for (size_t i = 0; i < ctl->count; i++) {
		const char *got = av_stanza_get(info->stanza, ctl->fields[i].name);
		cr_assert_not_null(got, "field %s missing", ctl->fields[i].name);
		cr_assert_str_eq(got, ctl->fields[i].value, "field %s",
				 ctl->fields[i].name);
	}
	cr_assert_eq(info->stanza->count, ctl->count + 5);
	av_stanza_free(ctl);
	free(field);
}

/* dpkg-deb --contents without directories, "./" stripped, sorted. */
static char *dpkg_contents(const char *path)
{
	return capture("dpkg-deb --contents '%s' | grep -v '^d' | "
		       "sed -E 's/^([^ ]+ +){5}//; s/ -> .*$//; s/ link to .*$//; "
		       "s|^\\./||' | LC_ALL=C sort -u", path);
}

static void check_against_dpkg(const char *path, const char *type)
{
	av_deb_info *info = NULL;
	av_buf got = AV_BUF_INIT;
	char *want, *contents;
	struct stat st;

	cr_assert_eq(av_deb_read(&info, path), 0, "%s", av_error_last());
	check_control_fields(info, path);

	want = scanpackages_stanza(path, type);
	cr_assert_eq(av_stanza_write(&got, info->stanza), 0);
	cr_assert_str_eq(av_buf_cstr(&got), want);

	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(info->digests.size, (uint64_t)st.st_size);

	contents = dpkg_contents(path);
	cr_assert_str_eq(info->contents, contents);
	cr_assert_eq(info->contents_len, strlen(contents));

	free(contents);
	free(want);
	av_buf_dispose(&got);
	av_deb_info_free(info);
}

static const char rich_fields[] =
	"Source: rich-src (1.0-1)\n"
	"Depends: libc6 (>= 2.36),\n libfoo1 | libbar2,\n  libbaz\n"
	"Multi-Arch: foreign\n"
	"Homepage: https://example.org/\n"
	"X-Custom-Field: kept\n";

static void check_compression(const char *comp)
{
	char *dir = fx_tmpdir(), *sub = subdir(dir, comp);
	char *deb = fx_make_deb(sub, "pkg", "1:2.0~rc1-3", "amd64", rich_fields, comp);

	check_against_dpkg(deb, "deb");
	free(deb);
	av_remove_tree(dir);
	free(sub);
	free(dir);
}

Test(deb, gzip_matches_dpkg_deb_and_scanpackages)
{
	check_compression("gzip");
}

Test(deb, xz_matches_dpkg_deb_and_scanpackages)
{
	check_compression("xz");
}

Test(deb, zstd_matches_dpkg_deb_and_scanpackages)
{
	check_compression("zstd");
}

Test(deb, uncompressed_matches_dpkg_deb_and_scanpackages)
{
	check_compression("none");
}

/* Symlinks, hard links, empty files, spaces and UTF-8 in names, nested
 * directories, maintainer scripts in control.tar. */
Test(deb, rich_tree_contents_match_dpkg_deb)
{
	char *dir = fx_tmpdir(), *sub = subdir(dir, "rich"), *deb = join(sub, "rich.deb");

	cr_assert_eq(fx_sh("set -e; cd '%s'; mkdir -p root/DEBIAN root/usr/bin "
			   "'root/usr/share/with space/deep/er' root/etc root/var/lib/empty; "
			   "printf 'Package: rich\\nVersion: 1\\nArchitecture: amd64\\n"
			   "Maintainer: T <t@e.org>\\nDescription: r\\n x\\n' > root/DEBIAN/control; "
			   "printf '#!/bin/sh\\nexit 0\\n' > root/DEBIAN/postinst; chmod 755 root/DEBIAN/postinst; "
			   "echo /etc/rich.conf > root/DEBIAN/conffiles; echo x > root/etc/rich.conf; "
			   "echo a > root/usr/bin/rich; ln root/usr/bin/rich root/usr/bin/rich-hard; "
			   "ln -s rich root/usr/bin/rich-link; ln -s /nonexistent root/usr/bin/dangling; "
			   ": > 'root/usr/share/with space/deep/er/empty file'; "
			   "echo u > 'root/usr/share/with space/caf\xc3\xa9.txt'; "
			   "dpkg-deb -Zxz --root-owner-group --build root '%s' >/dev/null",
			   dir, deb), 0);
	check_against_dpkg(deb, "deb");
	free(deb);
	av_remove_tree(dir);
	free(sub);
	free(dir);
}

Test(deb, udeb_matches_scanpackages)
{
	char *dir = fx_tmpdir(), *sub = subdir(dir, "udeb");
	char *deb = fx_make_deb(sub, "inst", "0.5", "amd64",
				"Package-Type: udeb\n", "xz");
	char *udeb = NULL;

	cr_assert_neq(asprintf(&udeb, "%.*s.udeb", (int)(strlen(deb) - 4), deb), -1);
	cr_assert_eq(rename(deb, udeb), 0);
	check_against_dpkg(udeb, "udeb");
	free(udeb);
	free(deb);
	av_remove_tree(dir);
	free(sub);
	free(dir);
}

Test(deb, contents_are_sorted_files_without_directories)
{
	char *dir = fx_tmpdir();
	char *deb = fx_make_deb(dir, "hello", "1.0", "all", NULL, NULL);
	av_deb_info *info = NULL;
	char *size;

	cr_assert_eq(av_deb_read(&info, deb), 0, "%s", av_error_last());
	cr_assert_str_eq(info->contents, "usr/bin/hello\nusr/share/doc/hello/README\n");
	cr_assert_str_eq(av_stanza_get(info->stanza, "Package"), "hello");
	size = capture("stat -c %%s '%s' | tr -d '\\n'", deb);
	cr_assert_str_eq(av_stanza_get(info->stanza, "Size"), size);
	free(size);
	av_deb_info_free(info);
	free(deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, read_mem_gives_the_same_result_as_read)
{
	char *dir = fx_tmpdir();
	char *deb = fx_make_deb(dir, "same", "1.0", "all", NULL, "xz");
	av_deb_info *a = NULL, *b = NULL;
	av_buf bytes = AV_BUF_INIT, sa = AV_BUF_INIT, sb = AV_BUF_INIT;

	slurp(&bytes, deb);
	cr_assert_eq(av_deb_read(&a, deb), 0, "%s", av_error_last());
	cr_assert_eq(av_deb_read_mem(&b, bytes.ptr, bytes.len), 0, "%s", av_error_last());
	av_stanza_write(&sa, a->stanza);
	av_stanza_write(&sb, b->stanza);
	cr_assert_str_eq(sa.ptr, sb.ptr);
	cr_assert_str_eq(a->contents, b->contents);
	cr_assert_str_eq(a->digests.sha512, b->digests.sha512);
	av_buf_dispose(&sa);
	av_buf_dispose(&sb);
	av_buf_dispose(&bytes);
	av_deb_info_free(a);
	av_deb_info_free(b);
	free(deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, digests_in_control_file_are_replaced_by_real_ones)
{
	char *dir = fx_tmpdir();
	char *deb = fx_make_deb(dir, "liar", "1.0", "all",
				"Size: 1\nMD5sum: 00000000000000000000000000000000\n", NULL);
	av_deb_info *info = NULL;

	cr_assert_eq(av_deb_read(&info, deb), 0, "%s", av_error_last());
	cr_assert_str_eq(av_stanza_get(info->stanza, "MD5sum"), info->digests.md5);
	cr_assert_neq(strcmp(av_stanza_get(info->stanza, "Size"), "1"), 0);
	av_deb_info_free(info);
	free(deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, crafted_package_with_underscore_member_and_lzma_reads)
{
	av_buf c = AV_BUF_INIT, d = AV_BUF_INIT, deb = AV_BUF_INIT;
	av_deb_info *info = NULL;
	struct amem m[4];

	make_tar(&c, good_control_tar, 2, ARCHIVE_FILTER_XZ);
	make_tar(&d, good_data_tar, 4, ARCHIVE_FILTER_BZIP2);
	m[0] = (struct amem){ "debian-binary", "2.0\n", 4 };
	m[1] = (struct amem){ "_gpgorigin", "sig", 3 };
	m[2] = (struct amem){ "control.tar.xz", c.ptr, c.len };
	m[3] = (struct amem){ "data.tar.bz2", d.ptr, d.len };
	make_ar(&deb, m, 4);
	cr_assert_eq(av_deb_read_mem(&info, deb.ptr, deb.len), 0, "%s", av_error_last());
	cr_assert_str_eq(info->contents, "usr/bin/crafted\n");
	cr_assert_str_eq(av_stanza_get(info->stanza, "Package"), "crafted");
	av_deb_info_free(info);
	av_buf_dispose(&c);
	av_buf_dispose(&d);
	av_buf_dispose(&deb);
}

/* gzip as dpkg reads it (zlib's gzread): concatenated members are read,
 * anything else after the first member is ignored. */
Test(deb, gzip_trailing_zeros_and_concatenated_members_are_read)
{
	av_buf c = AV_BUF_INIT, d = AV_BUF_INIT, d2 = AV_BUF_INIT, deb = AV_BUF_INIT;
	av_deb_info *info = NULL;
	struct amem m[3];
	size_t half;

	tar_padding = 1;
	make_tar(&c, good_control_tar, 2, ARCHIVE_FILTER_GZIP);
	make_tar(&d, good_data_tar, 4, ARCHIVE_FILTER_XZ);
	tar_padding = 0;
	cr_assert_eq(c.len % 10240, 0);
	m[0] = (struct amem){ "debian-binary", "2.0\n", 4 };
	m[1] = (struct amem){ "control.tar.gz", c.ptr, c.len };
	m[2] = (struct amem){ "data.tar.xz", d.ptr, d.len };
	make_ar(&deb, m, 3);
	cr_assert_eq(av_deb_read_mem(&info, deb.ptr, deb.len), 0, "%s", av_error_last());
	cr_assert_str_eq(info->contents, "usr/bin/crafted\n");
	av_deb_info_free(info);

	/* the uncompressed tar split in two gzip members */
	av_buf_clear(&c);
	make_tar(&c, good_control_tar, 2, ARCHIVE_FILTER_NONE);
	half = c.len / 2;
	{
		char *dir = fx_tmpdir(), *a = join(dir, "a"), *b = join(dir, "b");
		write_bytes(a, c.ptr, half);
		write_bytes(b, c.ptr + half, c.len - half);
		cr_assert_eq(fx_sh("cd '%s' && gzip -n a b && cat a.gz b.gz > ab.gz", dir), 0);
		av_buf_clear(&d2);
		free(a);
		a = join(dir, "ab.gz");
		slurp(&d2, a);
		free(a);
		free(b);
		av_remove_tree(dir);
		free(dir);
	}
	m[1] = (struct amem){ "control.tar.gz", d2.ptr, d2.len };
	av_buf_clear(&deb);
	make_ar(&deb, m, 3);
	cr_assert_eq(av_deb_read_mem(&info, deb.ptr, deb.len), 0, "%s", av_error_last());
	cr_assert_str_eq(av_stanza_get(info->stanza, "Package"), "crafted");
	av_deb_info_free(info);

	/* a gzip member cut short is not */
	m[1].size = d2.len / 2 + 3;
	av_buf_clear(&deb);
	make_ar(&deb, m, 3);
	expect_invalid_mem(deb.ptr, deb.len);
	cr_assert_not_null(strstr(av_error_last(), "control.tar.gz"), "%s", av_error_last());
	av_buf_dispose(&c);
	av_buf_dispose(&d);
	av_buf_dispose(&d2);
	av_buf_dispose(&deb);
}

/* ---- bad input ---------------------------------------------------------- */

Test(deb, truncated_at_every_offset_is_invalid)
{
	char *dir = fx_tmpdir();
	char *deb = fx_make_deb(dir, "trunc", "1.0", "all", NULL, "xz");
	av_buf bytes = AV_BUF_INIT;

	slurp(&bytes, deb);
	for (size_t off = 0; off < bytes.len; off++)
		expect_invalid_mem(bytes.ptr, off);
	for (size_t off = 0; off < bytes.len; off += 37)
		expect_invalid_file(dir, bytes.ptr, off, off ? "truncated" : "empty");
	expect_invalid_file(dir, bytes.ptr, bytes.len - 1, "truncated");
	av_buf_dispose(&bytes);
	free(deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, truncation_message_says_what_is_missing)
{
	char *dir = fx_tmpdir();
	av_buf deb = AV_BUF_INIT;
	char want[128];
	size_t data_at;

	make_good_deb(&deb);
	data_at = (size_t)((char *)memmem(deb.ptr, deb.len, "data.tar.gz", 11) - deb.ptr);
	cr_assert_lt(data_at + 160, deb.len);
	snprintf(want, sizeof(want), "member 'data.tar.gz' needs %zu bytes, 100 left",
		 (deb.len - data_at - 60));
	expect_invalid_file(dir, deb.ptr, data_at + 60 + 100, want);
	av_buf_dispose(&deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, empty_file_is_invalid)
{
	char *dir = fx_tmpdir();

	expect_invalid_file(dir, "", 0, "is empty");
	av_remove_tree(dir);
	free(dir);
}

Test(deb, garbage_is_not_an_ar_archive)
{
	char *dir = fx_tmpdir();

	expect_invalid_file(dir, "hello world, not a package\n", 27, "not an ar archive");
	expect_invalid_file(dir, "!<arch>", 7, "not an ar archive");
	expect_invalid_file(dir, "!<arch>\n", 8, "empty ar archive");
	av_remove_tree(dir);
	free(dir);
}

Test(deb, random_bytes_are_invalid)
{
	char *dir = fx_tmpdir();
	unsigned char buf[4096];

	srand(42);
	for (int round = 0; round < 300; round++) {
		size_t len = (size_t)(rand() % (int)sizeof(buf)) + 1;
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)rand();
		if (round % 2 && len > 8)
			memcpy(buf, "!<arch>\n", 8);
		expect_invalid_mem(buf, len);
	}
	expect_invalid_file(dir, buf, sizeof(buf), NULL);
	av_remove_tree(dir);
	free(dir);
}

/* Any single-byte change of a real package: read or rejected, no crash. */
Test(deb, mutated_packages_never_crash)
{
	char *dir = fx_tmpdir();
	char *deb = fx_make_deb(dir, "mut", "1.0", "all", NULL, "gzip");
	av_buf bytes = AV_BUF_INIT;

	slurp(&bytes, deb);
	srand(7);
	for (int round = 0; round < 3000; round++) {
		av_deb_info *info = NULL;
		size_t at = (size_t)rand() % bytes.len;
		char old = bytes.ptr[at];
		int rc;

		bytes.ptr[at] = (char)rand();
		rc = av_deb_read_mem(&info, bytes.ptr, bytes.len);
		cr_assert(rc == 0 || rc == AV_EINVALID, "rc %d: %s", rc, av_error_last());
		av_deb_info_free(info);
		bytes.ptr[at] = old;
	}
	av_buf_dispose(&bytes);
	free(deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, missing_control_member_is_invalid)
{
	char *dir = fx_tmpdir();
	av_buf deb = AV_BUF_INIT;

	make_deb_from(&deb, "2.0\n", NULL, NULL, 0, "data.tar.gz", good_data_tar, 4);
	expect_invalid_file(dir, deb.ptr, deb.len,
			    "unexpected member 'data.tar.gz' where 'control.tar' should be");
	av_buf_clear(&deb);
	make_deb_from(&deb, "2.0\n", "control.tar.gz", good_control_tar, 2, NULL, NULL, 0);
	expect_invalid_file(dir, deb.ptr, deb.len, "no 'data.tar' member");
	av_buf_dispose(&deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, wrong_first_member_or_format_version_is_invalid)
{
	char *dir = fx_tmpdir();
	av_buf deb = AV_BUF_INIT;
	struct amem m[1] = { { "control.tar.gz", "x", 1 } };

	make_ar(&deb, m, 1);
	expect_invalid_file(dir, deb.ptr, deb.len, "first member is 'control.tar.gz'");
	av_buf_clear(&deb);
	make_deb_from(&deb, "3.0\n", "control.tar.gz", good_control_tar, 2,
		      "data.tar.gz", good_data_tar, 4);
	expect_invalid_file(dir, deb.ptr, deb.len, "format version '3.0'");
	av_buf_clear(&deb);
	make_deb_from(&deb, "2.0", "control.tar.gz", good_control_tar, 2,
		      "data.tar.gz", good_data_tar, 4);
	expect_invalid_file(dir, deb.ptr, deb.len, "format version");
	av_buf_dispose(&deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, unsupported_compression_is_invalid)
{
	char *dir = fx_tmpdir();
	av_buf deb = AV_BUF_INIT;

	make_deb_from(&deb, "2.0\n", "control.tar.bz2", good_control_tar, 2,
		      "data.tar.gz", good_data_tar, 4);
	expect_invalid_file(dir, deb.ptr, deb.len,
			    "unsupported compression for member 'control.tar.bz2'");
	av_buf_clear(&deb);
	make_deb_from(&deb, "2.0\n", "control.tar.gz", good_control_tar, 2,
		      "data.tar.lz4", good_data_tar, 4);
	expect_invalid_file(dir, deb.ptr, deb.len, "'data.tar.lz4'");
	av_buf_dispose(&deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, compression_not_matching_the_name_is_invalid)
{
	char *dir = fx_tmpdir();
	av_buf deb = AV_BUF_INIT;

	/* gzip data in members named .xz and uncompressed */
	make_deb_from(&deb, "2.0\n", "control.tar.gz", good_control_tar, 2,
		      "data.tar.xz", good_data_tar, 4);
	expect_invalid_file(dir, deb.ptr, deb.len, "'data.tar.xz'");
	av_buf_clear(&deb);
	make_deb_from(&deb, "2.0\n", "control.tar", good_control_tar, 2,
		      "data.tar.gz", good_data_tar, 4);
	expect_invalid_file(dir, deb.ptr, deb.len, "'control.tar'");
	av_buf_dispose(&deb);
	av_remove_tree(dir);
	free(dir);
}

/* Is the member at data, once decompressed by the real tool, exactly
 * the original tar?  Then a changed byte was slack (a gzip timestamp,
 * padding bits, an unused code length) and accepting it is right. */
static int same_output(const char *dir, const char *tool, const void *data, size_t len)
{
	char *member = join(dir, "member");
	int rc;

	write_bytes(member, data, len);
	rc = fx_sh("cd '%s' && %s -dc member 2>/dev/null | cmp -s - orig.tar", dir, tool);
	free(member);
	return rc == 0;
}

/* Change every byte of the data member's stream in turn: each change is
 * rejected, unless the real decompressor gives the same tar. */
static void flip_data_bytes(const char *comp, const char *ext, const char *tool)
{
	char *dir = fx_tmpdir();
	char *deb = fx_make_deb(dir, "flip", "1.0", "all", NULL, comp);
	av_buf bytes = AV_BUF_INIT;
	char name[32];
	size_t size;
	char *hdr, *data;

	slurp(&bytes, deb);
	snprintf(name, sizeof(name), "data.tar%s", ext);
	hdr = memmem(bytes.ptr, bytes.len, name, strlen(name));
	cr_assert_not_null(hdr);
	size = strtoul(hdr + 48, NULL, 10);
	data = hdr + 60;
	cr_assert_eq(fx_sh("cd '%s' && ar p '%s' %s | %s -dc > orig.tar", dir, deb,
			   name, tool), 0);
	for (size_t at = 0; at < size; at++) {
		av_deb_info *info = NULL;
		int rc;

		data[at] ^= 0x5a;
		rc = av_deb_read_mem(&info, bytes.ptr, bytes.len);
		if (rc == 0)
			cr_assert(same_output(dir, tool, data, size),
				  "%s: changing byte %zu of %zu was not noticed",
				  comp, at, size);
		else
			cr_assert_not_null(strstr(av_error_last(), name), "%s",
					   av_error_last());
		cr_assert(rc == 0 || rc == AV_EINVALID);
		av_deb_info_free(info);
		data[at] ^= 0x5a;
	}
	av_buf_dispose(&bytes);
	free(deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, corrupt_xz_stream_is_invalid)
{
	flip_data_bytes("xz", ".xz", "xz");
}

Test(deb, corrupt_gzip_stream_is_invalid)
{
	flip_data_bytes("gzip", ".gz", "gzip");
}

Test(deb, corrupt_zstd_stream_is_invalid)
{
	flip_data_bytes("zstd", ".zst", "zstd");
}

Test(deb, bad_ar_header_is_invalid)
{
	char *dir = fx_tmpdir();
	av_buf deb = AV_BUF_INIT;

	make_good_deb(&deb);
	memcpy(deb.ptr + 8 + 48, "12a4      ", 10);
	expect_invalid_file(dir, deb.ptr, deb.len, "bad ar member header at offset 8");
	av_buf_clear(&deb);
	make_good_deb(&deb);
	memcpy(deb.ptr + 8 + 48, "8888888888", 10);
	expect_invalid_file(dir, deb.ptr, deb.len, "member 'debian-binary' needs 8888888888 bytes");
	av_buf_dispose(&deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, control_tar_without_control_file_is_invalid)
{
	static const struct tent ctl[] = {
		{ "./", 'd', NULL, 0, NULL },
		{ "./md5sums", 'f', "x\n", 2, NULL },
		{ "./control/", 'd', NULL, 0, NULL },
	};
	char *dir = fx_tmpdir();
	av_buf deb = AV_BUF_INIT;

	make_deb_from(&deb, "2.0\n", "control.tar.gz", ctl, 3, "data.tar.gz", good_data_tar, 4);
	expect_invalid_file(dir, deb.ptr, deb.len, "no control file in member 'control.tar.gz'");
	av_buf_dispose(&deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, invalid_control_file_is_invalid)
{
	static const char junk[] = "this is not a control file\n";
	static const char nopkg[] = "Version: 1\nArchitecture: all\n";
	static const char two[] = "Package: a\n\nPackage: b\n";
	const struct tent bad[][2] = {
		{ { "./", 'd', NULL, 0, NULL }, { "./control", 'f', junk, sizeof(junk) - 1, NULL } },
		{ { "./", 'd', NULL, 0, NULL }, { "./control", 'f', nopkg, sizeof(nopkg) - 1, NULL } },
		{ { "./", 'd', NULL, 0, NULL }, { "./control", 'f', two, sizeof(two) - 1, NULL } },
		{ { "./", 'd', NULL, 0, NULL }, { "./control", 'f', "", 0, NULL } },
	};
	char *dir = fx_tmpdir();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		av_buf deb = AV_BUF_INIT;
		make_deb_from(&deb, "2.0\n", "control.tar.gz", bad[i], 2,
			      "data.tar.gz", good_data_tar, 4);
		expect_invalid_file(dir, deb.ptr, deb.len, "invalid control file");
		av_buf_dispose(&deb);
	}
	av_remove_tree(dir);
	free(dir);
}

Test(deb, control_tar_over_16_mib_is_invalid)
{
	const struct tent ctl[] = {
		{ "./", 'd', NULL, 0, NULL },
		{ "./control", 'f', good_control, sizeof(good_control) - 1, NULL },
		{ "./md5sums", 'f', NULL, (size_t)17 << 20, NULL },
	};
	char *dir = fx_tmpdir();
	av_buf deb = AV_BUF_INIT;

	make_deb_from(&deb, "2.0\n", "control.tar.gz", ctl, 3, "data.tar.gz", good_data_tar, 4);
	cr_assert_lt(deb.len, (size_t)1 << 20);
	expect_invalid_file(dir, deb.ptr, deb.len, "expands beyond 16777216 bytes");
	av_buf_dispose(&deb);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, hostile_paths_in_data_tar_are_invalid)
{
	char *dir = fx_tmpdir(), *longpath = malloc(5000);
	av_buf deb = AV_BUF_INIT;
	struct tent data[2] = {
		{ "./", 'd', NULL, 0, NULL },
		{ "./usr/bin/new\nline", 'f', "x", 1, NULL },
	};

	make_deb_from(&deb, "2.0\n", "control.tar.gz", good_control_tar, 2, "data.tar.gz", data, 2);
	expect_invalid_file(dir, deb.ptr, deb.len, "newline");
	memset(longpath, 'a', 4999);
	longpath[0] = '/';
	longpath[4999] = '\0';
	data[1].path = longpath;
	av_buf_clear(&deb);
	make_deb_from(&deb, "2.0\n", "control.tar.gz", good_control_tar, 2, "data.tar.gz", data, 2);
	expect_invalid_file(dir, deb.ptr, deb.len, "longer than 4096 bytes");
	av_buf_dispose(&deb);
	free(longpath);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, contents_list_over_64_mib_is_invalid, .timeout = 300)
{
	enum { N = 17000, LEN = 4000 };
	struct tent *data = calloc(N, sizeof(*data));
	char *names = malloc((size_t)N * (LEN + 1));
	char *dir = fx_tmpdir();
	av_buf deb = AV_BUF_INIT;

	for (size_t i = 0; i < N; i++) {
		char *p = names + i * (LEN + 1);
		memset(p, 'x', LEN);
		snprintf(p, 16, "./f%08zu/", i);
		p[strlen(p)] = 'x';
		p[LEN] = '\0';
		data[i] = (struct tent){ p, 'f', "", 0, NULL };
	}
	make_deb_from(&deb, "2.0\n", "control.tar.gz", good_control_tar, 2, "data.tar.gz", data, N);
	expect_invalid_file(dir, deb.ptr, deb.len, "exceeds 67108864 bytes");
	av_buf_dispose(&deb);
	free(names);
	free(data);
	av_remove_tree(dir);
	free(dir);
}

Test(deb, missing_file_is_not_found_and_directory_is_invalid)
{
	char *dir = fx_tmpdir(), *missing = join(dir, "nope.deb");
	av_deb_info *info = NULL;

	cr_assert_eq(av_deb_read(&info, missing), AV_ENOTFOUND);
	cr_assert_not_null(strstr(av_error_last(), missing));
	cr_assert_eq(av_deb_read(&info, dir), AV_EINVALID);
	cr_assert_not_null(strstr(av_error_last(), "not a regular file"));
	cr_assert_null(info);
	av_deb_info_free(NULL);
	free(missing);
	av_remove_tree(dir);
	free(dir);
}
