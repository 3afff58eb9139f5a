/*
 * fixtures.h - helpers shared by the unit tests: temporary directories
 * and real .deb files built with dpkg-deb.
 */
#ifndef AV_TEST_FIXTURES_H
#define AV_TEST_FIXTURES_H

#include <stddef.h>

/* A fresh directory under $TMPDIR (or /tmp); never NULL (aborts). The
 * caller owns the string. */
char *fx_tmpdir(void);

/* Run a shell command built from fmt; returns its exit status (or -1). */
int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Build DIR/NAME_VERSION_ARCH.deb with dpkg-deb --build (gzip, -Zgzip
 * unless comp names another: "xz", "zstd", "none").  extra is appended
 * to DEBIAN/control verbatim (may be NULL); the package ships
 * /usr/share/doc/NAME/README and /usr/bin/NAME.  Returns the path
 * (caller frees); aborts the test on failure.
 */
char *fx_make_deb(const char *dir, const char *name, const char *version,
		  const char *arch, const char *extra, const char *comp);

/* Write a file with the given content; aborts on failure. */
void fx_write(const char *path, const char *content);

#endif
