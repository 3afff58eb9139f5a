/* fixtures.c - see fixtures.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "fixtures.h"

char *fx_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	char *p;

	snprintf(tmpl, sizeof(tmpl), "%s/avtest.XXXXXX", base && *base ? base : "/tmp");
	p = mkdtemp(tmpl);
	cr_assert_not_null(p, "mkdtemp failed");
	return strdup(p);
}

int fx_sh(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1)
		return -1;
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void fx_write(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot write %s", path);
	fputs(content, f);
	cr_assert_eq(fclose(f), 0);
}

char *fx_make_deb(const char *dir, const char *name, const char *version,
		  const char *arch, const char *extra, const char *comp)
{
	char root[2048], path[8192], out[8192];
	const char *bare = strchr(version, ':') ? strchr(version, ':') + 1 : version;

	snprintf(root, sizeof(root), "%s/build-%s-%s-%s", dir, name, bare, arch);
	cr_assert_eq(fx_sh("mkdir -p '%s/DEBIAN' '%s/usr/share/doc/%s' '%s/usr/bin'",
			   root, root, name, root), 0);
	snprintf(path, sizeof(path), "%s/DEBIAN/control", root);
	{
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		fprintf(f, "Package: %s\nVersion: %s\nArchitecture: %s\n"
			"Maintainer: Test Maintainer <test@example.org>\n"
			"Section: misc\nPriority: optional\n%s"
			"Description: test package %s\n This is %s, built by the tests.\n",
			name, version, arch, extra ? extra : "", name, name);
		cr_assert_eq(fclose(f), 0);
	}
	snprintf(path, sizeof(path), "%s/usr/share/doc/%s/README", root, name);
	fx_write(path, name);
	snprintf(path, sizeof(path), "%s/usr/bin/%s", root, name);
	fx_write(path, "#!/bin/sh\necho hello\n");
	snprintf(out, sizeof(out), "%s/%s_%s_%s.deb", dir, name, bare, arch);
	cr_assert_eq(fx_sh("dpkg-deb -Z%s --root-owner-group --build '%s' '%s' >/dev/null",
			   comp ? comp : "gzip", root, out), 0, "dpkg-deb failed for %s", out);
	return strdup(out);
}
