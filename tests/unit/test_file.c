/*
 * test_file.c - the filesystem helpers: av_mkdir_p makes what is
 * missing from the deepest part up, takes what exists, and says which
 * part it could not make.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <criterion/criterion.h>
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "fixtures.h"

static char *path_in(const char *dir, const char *rel)
{
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *p = malloc(n);

	cr_assert_not_null(p);
	snprintf(p, n, "%s/%s", dir, rel);
	return p;
}

Test(file, mkdir_p_makes_every_missing_part)
{
	char *dir = fx_tmpdir();
	char *deep = path_in(dir, "a/b/c/d/e");
	char *mid = path_in(dir, "a/b");

	cr_assert_eq(av_mkdir_p(deep), 0, "%s", av_error_last());
	cr_assert_eq(av_is_dir(deep), 1);
	cr_assert_eq(av_is_dir(mid), 1);
	/* Again, and a part of it: nothing to do, no error. */
	cr_assert_eq(av_mkdir_p(deep), 0);
	cr_assert_eq(av_mkdir_p(mid), 0);
	/* A sibling under an existing part, and a trailing slash. */
	free(deep);
	deep = path_in(dir, "a/b/x/y/");
	cr_assert_eq(av_mkdir_p(deep), 0, "%s", av_error_last());
	cr_assert_eq(av_is_dir(deep), 1);
	fx_sh("rm -rf '%s'", dir);
	free(deep);
	free(mid);
	free(dir);
}

Test(file, mkdir_p_fails_on_a_file_in_the_way_and_names_it)
{
	char *dir = fx_tmpdir();
	char *file = path_in(dir, "plain");
	char *under = path_in(dir, "plain/sub/dir");
	struct stat st;

	fx_write(file, "x");
	cr_assert_eq(av_mkdir_p(under), AV_EIO);
	cr_assert(strstr(av_error_last(), "cannot create"), "%s", av_error_last());
	cr_assert(strstr(av_error_last(), "plain/sub"), "%s", av_error_last());
	/* The file is left as it was. */
	cr_assert_eq(stat(file, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(av_mkdir_p(""), AV_EINVALID);
	fx_sh("rm -rf '%s'", dir);
	free(under);
	free(file);
	free(dir);
}
