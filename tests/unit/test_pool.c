/*
 * test_pool.c - the content-addressed pool: a verified copy (never a hard
 * link to the source), move for --remove-files, nothing
 * left behind on failure (failpoints), and the failpoint mechanism.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <criterion/criterion.h>
#include "aptvault/pool.h"
#include "aptvault/digest.h"
#include "aptvault/failpoint.h"
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "fixtures.h"

struct env {
	char *base;	/* holds root/ and src/ */
	char *root;
	char *src;	/* a .deb in base/src */
	av_digests d;
	av_buf pool;	/* where src goes */
};

static char *join(const char *dir, const char *name)
{
	char *p = NULL;

	cr_assert_neq(asprintf(&p, "%s/%s", dir, name), -1);
	return p;
}

static void env_init(struct env *e)
{
	char *srcdir;

	unsetenv("APTVAULT_FAILPOINTS");
	av_failpoint_reset();
	e->base = fx_tmpdir();
	e->root = join(e->base, "root");
	srcdir = join(e->base, "src");
	cr_assert_eq(av_mkdir_p(e->root), 0);
	cr_assert_eq(av_mkdir_p(srcdir), 0);
	e->src = fx_make_deb(srcdir, "pooled", "1.0", "all", NULL, NULL);
	cr_assert_eq(av_digests_file(&e->d, e->src), 0, "%s", av_error_last());
	av_buf_init(&e->pool, 0);
	cr_assert_eq(av_pool_path(&e->pool, e->root, e->d.sha256), 0);
	free(srcdir);
}

static void env_free(struct env *e)
{
	unsetenv("APTVAULT_FAILPOINTS");
	av_remove_tree(e->base);
	av_buf_dispose(&e->pool);
	free(e->src);
	free(e->root);
	free(e->base);
}

static struct stat stat_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return st;
}

/* Entries in root/tmp (absent counts as empty). */
static int tmp_entries(const struct env *e)
{
	char *tmp = join(e->root, "tmp");
	DIR *d = opendir(tmp);
	struct dirent *de;
	int n = 0;

	free(tmp);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void assert_pool_file_is_src(const struct env *e)
{
	av_digests got;

	cr_assert_eq(av_digests_file(&got, e->pool.ptr), 0, "%s", av_error_last());
	cr_assert_str_eq(got.sha256, e->d.sha256);
	cr_assert_eq(got.size, e->d.size);
	cr_assert(S_ISREG(stat_of(e->pool.ptr).st_mode));
}

static void assert_nothing_left(const struct env *e)
{
	cr_assert_eq(av_pool_has(e->root, e->d.sha256), 0);
	cr_assert_eq(access(e->pool.ptr, F_OK), -1);
	cr_assert_eq(tmp_entries(e), 0, "a temporary was left in %s/tmp", e->root);
}

/* ---- paths -------------------------------------------------------------- */

Test(pool, path_fans_out_by_the_first_two_hex_digits)
{
	const char *sha = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
	av_buf b = AV_BUF_INIT;

	cr_assert_eq(av_pool_path(&b, "/r", sha), 0);
	cr_assert_str_eq(b.ptr, "/r/pool/ab/abcdef0123456789abcdef0123456789"
			 "abcdef0123456789abcdef0123456789");
	av_buf_dispose(&b);
}

Test(pool, malformed_sha256_is_rejected)
{
	const char *bad[] = { "", "abc", "../../etc/passwd",
		"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
		"abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567890",
		"abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678/" };
	av_buf b = AV_BUF_INIT;
	av_digests d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(av_pool_path(&b, "/r", bad[i]), AV_EINVALID, "%s", bad[i]);
		cr_assert_eq(av_pool_has("/r", bad[i]), 0);
		if (strlen(bad[i]) >= sizeof(d.sha256))
			continue;
		memset(&d, 0, sizeof(d));
		memcpy(d.sha256, bad[i], strlen(bad[i]) + 1);
		cr_assert_eq(av_pool_import("/r", "/nonexistent", &d, AV_POOL_COPY),
			     AV_EINVALID);
	}
	cr_assert_eq(b.len, 0);
}

/* ---- COPY ---------------------------------------------------------------- */

Test(pool, import_copies_and_never_links_the_source)
{
	struct env e;
	struct stat s, p;

	env_init(&e);
	cr_assert_eq(av_pool_has(e.root, e.d.sha256), 0);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0,
		     "%s", av_error_last());
	cr_assert_eq(av_pool_has(e.root, e.d.sha256), 1);
	s = stat_of(e.src);
	p = stat_of(e.pool.ptr);
	cr_assert_neq(s.st_ino, p.st_ino, "the pool file is not the source's inode");
	cr_assert_eq(p.st_nlink, 1);
	cr_assert_eq(s.st_nlink, 1);
	assert_pool_file_is_src(&e);
	cr_assert_eq(tmp_entries(&e), 0);
	env_free(&e);
}

/* A .deb rebuilt at the same path (dpkg-deb rewrites the inode in place)
 * must not change what the pool holds under the old checksum. */
Test(pool, rewriting_the_source_in_place_leaves_the_pool_file_alone)
{
	struct env e;
	char *copy;

	env_init(&e);
	copy = join(e.base, "before");
	cr_assert_eq(fx_sh("cp '%s' '%s'", e.src, copy), 0);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0,
		     "%s", av_error_last());
	/* truncate and rewrite the same inode */
	cr_assert_eq(fx_sh("printf 'rebuilt' > '%s'", e.src), 0);
	cr_assert_eq(fx_sh("cmp -s '%s' '%s'", copy, e.pool.ptr), 0,
		     "the pool file changed with its source");
	free(copy);
	env_free(&e);
}

Test(pool, importing_twice_makes_no_second_copy)
{
	struct env e;
	struct stat first, second;

	env_init(&e);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0);
	first = stat_of(e.pool.ptr);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0);
	second = stat_of(e.pool.ptr);
	cr_assert_eq(first.st_ino, second.st_ino, "the second import made a second copy");
	cr_assert_eq(second.st_nlink, 1);
	cr_assert_eq(tmp_entries(&e), 0);
	env_free(&e);
}

Test(pool, the_staged_copy_when_the_fast_path_is_off)
{
	struct env e;
	struct stat s, p, again;

	env_init(&e);
	setenv("APTVAULT_FAILPOINTS", "pool-link", 1);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0,
		     "%s", av_error_last());
	s = stat_of(e.src);
	p = stat_of(e.pool.ptr);
	cr_assert_neq(s.st_ino, p.st_ino);
	cr_assert_eq(p.st_nlink, 1);
	cr_assert_eq(s.st_nlink, 1);
	assert_pool_file_is_src(&e);
	/* the second import is a stat, not a copy */
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0);
	again = stat_of(e.pool.ptr);
	cr_assert_eq(again.st_ino, p.st_ino);
	cr_assert_eq(again.st_mtim.tv_nsec, p.st_mtim.tv_nsec);
	cr_assert_eq(tmp_entries(&e), 0);
	env_free(&e);
}

Test(pool, copy_across_filesystems)
{
	struct env e;
	char *other = NULL;
	struct stat shm;

	env_init(&e);
	if (stat("/dev/shm", &shm) < 0 || shm.st_dev == stat_of(e.root).st_dev ||
	    access("/dev/shm", W_OK) < 0) {
		env_free(&e);
		cr_skip_test("no second writable filesystem at /dev/shm");
	}
	cr_assert_neq(asprintf(&other, "/dev/shm/avtest-pool-%d.deb", (int)getpid()), -1);
	cr_assert_eq(fx_sh("cp '%s' '%s'", e.src, other), 0);
	cr_assert_eq(av_pool_import(e.root, other, &e.d, AV_POOL_COPY), 0,
		     "%s", av_error_last());
	cr_assert_neq(stat_of(other).st_ino, stat_of(e.pool.ptr).st_ino);
	assert_pool_file_is_src(&e);
	/* MOVE across filesystems copies, then removes the source */
	unlink(e.pool.ptr);
	cr_assert_eq(av_pool_import(e.root, other, &e.d, AV_POOL_MOVE), 0,
		     "%s", av_error_last());
	cr_assert_eq(access(other, F_OK), -1);
	assert_pool_file_is_src(&e);
	cr_assert_eq(tmp_entries(&e), 0);
	free(other);
	env_free(&e);
}

Test(pool, copy_of_a_changed_file_is_a_conflict_and_leaves_nothing)
{
	struct env e;
	av_digests wrong;

	env_init(&e);
	setenv("APTVAULT_FAILPOINTS", "pool-link", 1);
	wrong = e.d;
	wrong.sha256[10] = wrong.sha256[10] == '0' ? '1' : '0';
	av_buf_clear(&e.pool);
	cr_assert_eq(av_pool_path(&e.pool, e.root, wrong.sha256), 0);
	cr_assert_eq(av_pool_import(e.root, e.src, &wrong, AV_POOL_COPY), AV_ECONFLICT);
	cr_assert_not_null(strstr(av_error_last(), "changed while being imported"),
			   "%s", av_error_last());
	cr_assert_not_null(strstr(av_error_last(), e.src));
	cr_assert_eq(access(e.pool.ptr, F_OK), -1);
	cr_assert_eq(tmp_entries(&e), 0);
	/* a size change, on the copy path */
	wrong = e.d;
	wrong.size++;
	cr_assert_eq(av_pool_import(e.root, e.src, &wrong, AV_POOL_COPY), AV_ECONFLICT);
	cr_assert_eq(tmp_entries(&e), 0);
	env_free(&e);
}

Test(pool, a_source_of_another_size_is_a_conflict)
{
	struct env e;

	env_init(&e);
	cr_assert_eq(fx_sh("echo more >> '%s'", e.src), 0);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), AV_ECONFLICT);
	cr_assert_not_null(strstr(av_error_last(), "changed while being imported"),
			   "%s", av_error_last());
	assert_nothing_left(&e);
	cr_assert_eq(stat_of(e.src).st_nlink, 1);
	env_free(&e);
}

Test(pool, missing_source_is_not_found)
{
	struct env e;

	env_init(&e);
	cr_assert_eq(unlink(e.src), 0);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), AV_ENOTFOUND);
	cr_assert_not_null(strstr(av_error_last(), e.src));
	assert_nothing_left(&e);
	env_free(&e);
}

Test(pool, symlinked_source_puts_the_file_in_the_pool)
{
	struct env e;
	char *link = NULL;

	env_init(&e);
	link = join(e.base, "link.deb");
	cr_assert_eq(symlink(e.src, link), 0);
	cr_assert_eq(av_pool_import(e.root, link, &e.d, AV_POOL_COPY), 0, "%s", av_error_last());
	assert_pool_file_is_src(&e);
	cr_assert_eq(unlink(e.pool.ptr), 0);
	cr_assert_eq(av_pool_import(e.root, link, &e.d, AV_POOL_MOVE), 0, "%s", av_error_last());
	assert_pool_file_is_src(&e);
	cr_assert_eq(access(link, F_OK), -1, "the symlink was not removed");
	cr_assert_eq(access(e.src, F_OK), 0);
	free(link);
	env_free(&e);
}

Test(pool, damaged_pool_file_is_replaced)
{
	struct env e;

	env_init(&e);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0);
	cr_assert_eq(unlink(e.pool.ptr), 0);
	fx_write(e.pool.ptr, "short");
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0, "%s", av_error_last());
	assert_pool_file_is_src(&e);
	env_free(&e);
}

Test(pool, the_fast_copy_needs_no_staging_directory)
{
	struct env e;
	char *tmp;

	env_init(&e);
	tmp = join(e.root, "tmp");
	cr_assert_eq(av_is_dir(tmp), 0);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0, "%s", av_error_last());
	cr_assert_eq(av_is_dir(tmp), 0, "the fast path must not stage");
	assert_pool_file_is_src(&e);
	free(tmp);
	env_free(&e);
}

Test(pool, missing_tmp_directory_is_created_by_the_copy_path)
{
	struct env e;
	char *tmp;

	env_init(&e);
	tmp = join(e.root, "tmp");
	cr_assert_eq(av_is_dir(tmp), 0);
	setenv("APTVAULT_FAILPOINTS", "pool-link", 1);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0, "%s", av_error_last());
	cr_assert_eq(av_is_dir(tmp), 1);
	free(tmp);
	env_free(&e);
}

/* ---- failures -------------------------------------------------------- */

static void check_write_failure(av_pool_mode mode, const char *failpoints)
{
	struct env e;
	struct stat before;

	env_init(&e);
	before = stat_of(e.src);
	setenv("APTVAULT_FAILPOINTS", failpoints, 1);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, mode), AV_EIO);
	cr_assert_str_eq(av_error_last(), "cannot write pool file: injected failure "
			 "(failpoint pool-write)");
	assert_nothing_left(&e);
	/* the source is untouched, even when it was being moved */
	cr_assert_eq(stat_of(e.src).st_ino, before.st_ino);
	cr_assert_eq(stat_of(e.src).st_nlink, 1);
	unsetenv("APTVAULT_FAILPOINTS");
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, mode), 0, "%s", av_error_last());
	assert_pool_file_is_src(&e);
	env_free(&e);
}

Test(pool, write_failure_via_the_fast_copy_leaves_nothing)
{
	check_write_failure(AV_POOL_COPY, "pool-write");
}

Test(pool, write_failure_via_copy_leaves_nothing)
{
	check_write_failure(AV_POOL_COPY, "pool-link,pool-write");
}

Test(pool, write_failure_while_moving_puts_the_source_back)
{
	check_write_failure(AV_POOL_MOVE, "pool-write");
}

Test(pool, write_failure_while_moving_by_copy_keeps_the_source)
{
	check_write_failure(AV_POOL_MOVE, "pool-write,pool-link");
}

/* ---- MOVE ------------------------------------------------------------- */

Test(pool, move_renames_the_source_into_the_pool)
{
	struct env e;
	struct stat before;

	env_init(&e);
	before = stat_of(e.src);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_MOVE), 0, "%s", av_error_last());
	cr_assert_eq(access(e.src, F_OK), -1);
	cr_assert_eq(stat_of(e.pool.ptr).st_ino, before.st_ino);
	cr_assert_eq(stat_of(e.pool.ptr).st_nlink, 1);
	assert_pool_file_is_src(&e);
	cr_assert_eq(tmp_entries(&e), 0);
	env_free(&e);
}

Test(pool, move_by_copy_removes_the_source)
{
	struct env e;

	env_init(&e);
	setenv("APTVAULT_FAILPOINTS", "pool-link", 1);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_MOVE), 0, "%s", av_error_last());
	cr_assert_eq(access(e.src, F_OK), -1);
	assert_pool_file_is_src(&e);
	cr_assert_eq(tmp_entries(&e), 0);
	env_free(&e);
}

Test(pool, move_of_a_file_already_pooled_removes_the_source)
{
	struct env e;
	char *copy;

	env_init(&e);
	copy = join(e.base, "copy.deb");
	cr_assert_eq(fx_sh("cp '%s' '%s'", e.src, copy), 0);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0);
	cr_assert_eq(av_pool_import(e.root, copy, &e.d, AV_POOL_MOVE), 0, "%s", av_error_last());
	cr_assert_eq(access(copy, F_OK), -1);
	assert_pool_file_is_src(&e);
	free(copy);
	env_free(&e);
}

Test(pool, move_of_the_pool_file_itself_keeps_it)
{
	struct env e;

	env_init(&e);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_MOVE), 0);
	cr_assert_eq(av_pool_import(e.root, e.pool.ptr, &e.d, AV_POOL_MOVE), 0,
		     "%s", av_error_last());
	assert_pool_file_is_src(&e);
	env_free(&e);
}

/* ---- failpoints ------------------------------------------------------- */

Test(failpoint, unset_or_unlisted_never_fails)
{
	unsetenv("APTVAULT_FAILPOINTS");
	cr_assert_eq(av_failpoint("pool-write"), 0);
	setenv("APTVAULT_FAILPOINTS", "pool-writer,xpool-write,pool", 1);
	cr_assert_eq(av_failpoint("pool-write"), 0);
	setenv("APTVAULT_FAILPOINTS", "", 1);
	cr_assert_eq(av_failpoint("pool-write"), 0);
}

Test(failpoint, plain_name_fails_every_hit)
{
	setenv("APTVAULT_FAILPOINTS", "a,pool-write,b", 1);
	for (int i = 0; i < 5; i++)
		cr_assert_neq(av_failpoint("pool-write"), 0);
	cr_assert_neq(av_failpoint("a"), 0);
	cr_assert_eq(av_failpoint("c"), 0);
}

Test(failpoint, name_eq_n_fails_only_the_nth_hit)
{
	av_failpoint_reset();
	setenv("APTVAULT_FAILPOINTS", "other=1,pool-write=3", 1);
	cr_assert_eq(av_failpoint("pool-write"), 0);
	cr_assert_eq(av_failpoint("pool-write"), 0);
	cr_assert_neq(av_failpoint("pool-write"), 0);
	cr_assert_eq(av_failpoint("pool-write"), 0);
	cr_assert_neq(av_failpoint("other"), 0);
	cr_assert_eq(av_failpoint("other"), 0);
	av_failpoint_reset();
	cr_assert_eq(av_failpoint("pool-write"), 0);
	cr_assert_eq(av_failpoint("pool-write"), 0);
	cr_assert_neq(av_failpoint("pool-write"), 0);
}

Test(pool, second_of_two_imports_fails_with_pool_write_eq_2)
{
	struct env e;
	char *dir;
	char *other;
	av_digests d2;

	env_init(&e);
	dir = join(e.base, "src2");
	cr_assert_eq(av_mkdir_p(dir), 0);
	other = fx_make_deb(dir, "other", "1.0", "all", NULL, NULL);
	cr_assert_eq(av_digests_file(&d2, other), 0);
	setenv("APTVAULT_FAILPOINTS", "pool-write=2", 1);
	cr_assert_eq(av_pool_import(e.root, e.src, &e.d, AV_POOL_COPY), 0, "%s", av_error_last());
	cr_assert_eq(av_pool_import(e.root, other, &d2, AV_POOL_COPY), AV_EIO);
	cr_assert_eq(av_pool_has(e.root, e.d.sha256), 1);
	cr_assert_eq(av_pool_has(e.root, d2.sha256), 0);
	cr_assert_eq(tmp_entries(&e), 0);
	free(other);
	free(dir);
	env_free(&e);
}
