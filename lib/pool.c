/*
 * pool.c - content-addressed package files (see pool.h).
 *
 * AV_POOL_COPY first tries a hard link straight to the pool name (atomic,
 * no staging).  Otherwise an import stages the file as
 * $ROOT/tmp/import-XXXXXX/data: the source itself renamed there (for
 * AV_POOL_MOVE), or a copy hashed on the way.  The
 * staged file is checked against the caller's digests, synced, and
 * renamed into pool/ab/<sha256>; the pool directory is synced after.
 * The private staging directory is removed whatever happens, so a failed
 * import leaves nothing behind, and a moved source is put back.
 */
#include <stdio.h>
#include <inttypes.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include "aptvault/pool.h"
#include "aptvault/file.h"
#include "aptvault/failpoint.h"
#include "internal.h"

#define COPY_CHUNK ((size_t)1 << 18)

static int is_sha256(const char *s)
{
	size_t i = 0;

	for (; (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'); i++)
		;
	return i == 64 && s[i] == '\0';
}

int av_pool_path(av_buf *out, const char *root, const char *sha256)
{
	if (!is_sha256(sha256))
		return av_error_set(AV_EINVALID, "bad sha256 '%s': expected 64 "
				    "lowercase hex digits", sha256);
	return av_buf_printf(out, "%s/pool/%.2s/%s", root, sha256, sha256);
}

int av_pool_has(const char *root, const char *sha256)
{
	av_buf path = AV_BUF_INIT;
	struct stat st;
	int has;

	if (av_pool_path(&path, root, sha256))
		return 0;
	has = stat(path.ptr, &st) == 0 && S_ISREG(st.st_mode);
	av_buf_dispose(&path);
	return has;
}

struct import {
	const char *root;
	const char *src;
	const av_digests *d;
	av_pool_mode mode;
	av_buf target;		/* pool/ab/<sha256> */
	av_buf tmpdir;		/* tmp/import-XXXXXX, private to this import */
	av_buf staged;		/* tmpdir/data */
	int moved;		/* src was renamed to staged */
	int replace;		/* the pool file exists but is damaged */
	int nosync;		/* the caller calls av_pool_sync() */
};

static int changed(const struct import *im, const char *why)
{
	return av_error_set(AV_ECONFLICT, "file '%s' changed while being "
			    "imported: %s; import it again", im->src, why);
}

static int make_tmpdir(struct import *im)
{
	size_t base;
	int rc;

	if ((rc = av_buf_printf(&im->tmpdir, "%s/tmp", im->root)))
		return rc;
	base = im->tmpdir.len;
	for (int tries = 0; ; tries++) {
		if ((rc = av_buf_puts(&im->tmpdir, "/import-XXXXXX")))
			break;
		if (mkdtemp(im->tmpdir.ptr))
			return av_buf_printf(&im->staged, "%s/data", im->tmpdir.ptr);
		av_buf_truncate(&im->tmpdir, base);
		if (errno != ENOENT || tries > 0) {
			rc = av_error_set_errno(AV_EIO, errno, "cannot create a "
						"temporary directory in '%s'",
						im->tmpdir.ptr);
			break;
		}
		if ((rc = av_mkdir_p(im->tmpdir.ptr)))
			break;
	}
	av_buf_clear(&im->tmpdir);
	return rc;
}

/* A linked or moved file: the right size, a regular file, on disk. */
static int check_staged(const struct import *im)
{
	struct stat st;
	char why[128];
	int fd, rc = 0;

	if ((fd = open(im->staged.ptr, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot open '%s'",
					  im->staged.ptr);
	if (fstat(fd, &st) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot stat '%s'", im->staged.ptr);
	} else if (!S_ISREG(st.st_mode)) {
		rc = changed(im, "it is no longer a regular file");
	} else if ((uint64_t)st.st_size != im->d->size) {
		snprintf(why, sizeof(why), "size is %" PRIu64 ", expected %" PRIu64,
			 (uint64_t)st.st_size, im->d->size);
		rc = changed(im, why);
	} else if (!im->nosync && fsync(fd) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot sync '%s'", im->staged.ptr);
	}
	close(fd);
	return rc;
}

/* Hard link (COPY) or rename (MOVE) src to staged; 1 if that worked. */
static int try_link(struct import *im)
{
	struct stat st;

	if (av_failpoint("pool-link"))
		return 0;
	if (im->mode == AV_POOL_COPY)
		return 0;	/* a copy, never a link: see copy_direct */
	/* Renaming a symlink would put the link, not the file, in the pool. */
	if (lstat(im->src, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (rename(im->src, im->staged.ptr) < 0)
		return 0;
	im->moved = 1;
	return 1;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy in to out, hashing what was read; -1 with errno on a write
 * error, -2 with errno on a read error. */
static int copy_fd(int in, int out, EVP_MD_CTX *ctx, unsigned char *buf,
		   uint64_t *size)
{
	for (;;) {
		ssize_t n = read(in, buf, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -2;
		if (n == 0)
			return 0;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		if (write_all(out, buf, (size_t)n) < 0)
			return -1;
		*size += (uint64_t)n;
	}
}

static int verify_copy(const struct import *im, EVP_MD_CTX *ctx, uint64_t size)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[65], why[128];
	unsigned n = 0;

	if (size != im->d->size) {
		snprintf(why, sizeof(why), "size is %" PRIu64 ", expected %" PRIu64,
			 size, im->d->size);
		return changed(im, why);
	}
	if (!EVP_DigestFinal_ex(ctx, md, &n) || n != 32)
		return av_error_set(AV_ERROR, "sha256 failed");
	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	if (strcmp(hex, im->d->sha256))
		return changed(im, "sha256 differs from the one computed when it was read");
	return 0;
}

static int copy_staged(const struct import *im)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = av_malloc(COPY_CHUNK);
	uint64_t size = 0;
	int in = -1, out = -1, rc = AV_ERROR, c;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto done;
	if ((in = open(im->src, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = av_error_set_errno(errno == ENOENT ? AV_ENOTFOUND : AV_EIO,
					errno, "cannot open '%s'", im->src);
		goto done;
	}
	if ((out = open(im->staged.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0644)) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot create '%s'",
					im->staged.ptr);
		goto done;
	}
	if ((c = copy_fd(in, out, ctx, buf, &size)) < 0 || (!im->nosync && fsync(out) < 0)) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot %s '%s'",
					c == -2 ? "read" : "write pool file from",
					im->src);
		goto done;
	}
	rc = verify_copy(im, ctx, size);
done:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* mkdir the first len bytes of path, syncing the parent if it is new
 * (unless the caller syncs the whole pool later). */
static int mkdir_synced(char *path, size_t len, int nosync)
{
	char saved = path[len], *slash;
	int rc = 0;

	path[len] = '\0';
	if (mkdir(path, 0755) == 0) {
		if (!nosync) {
			slash = strrchr(path, '/');
			*slash = '\0';
			rc = av_fsync_dir(path);
			*slash = '/';
		}
	} else if (errno != EEXIST) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot create '%s'", path);
	}
	path[len] = saved;
	return rc;
}

/* pool/ and pool/ab/ for the target. */
static int make_pool_dirs(struct import *im)
{
	size_t ab = im->target.len - 65, pool = ab - 3;
	int rc;

	if ((rc = mkdir_synced(im->target.ptr, pool, im->nosync)))
		return rc;
	return mkdir_synced(im->target.ptr, ab, im->nosync);
}

/* Rename staged to target (keeping a target that appeared meanwhile). */
static int rename_staged(const struct import *im)
{
	unsigned flags = im->replace ? 0 : RENAME_NOREPLACE;

	if (renameat2(AT_FDCWD, im->staged.ptr, AT_FDCWD, im->target.ptr, flags) == 0)
		return 0;
	if (errno == EEXIST)
		return 0;
	if (errno == EINVAL || errno == ENOSYS)
		return rename(im->staged.ptr, im->target.ptr);
	return -1;
}

static int publish(struct import *im)
{
	int rc;

	if (av_failpoint("pool-write"))
		return av_error_set(AV_EIO, "cannot write pool file: injected "
				    "failure (failpoint pool-write)");
	if (rename_staged(im) < 0) {
		if (errno != ENOENT)
			goto fail;
		if ((rc = make_pool_dirs(im)))
			return rc;
		if (rename_staged(im) < 0)
			goto fail;
	}
	im->moved = 0;
	if (im->nosync)
		return 0;
	im->target.ptr[im->target.len - 65] = '\0';
	rc = av_fsync_dir(im->target.ptr);
	im->target.ptr[im->target.len - 65] = '/';
	return rc;
fail:
	return av_error_set_errno(AV_EIO, errno, "cannot write pool file '%s'",
				  im->target.ptr);
}

/* AV_POOL_MOVE: drop the source, unless it is the pool file itself. */
static int remove_source(const struct import *im)
{
	struct stat a, b;
	char *ra = NULL, *rb = NULL;
	int same = 0;

	if (lstat(im->src, &a) == 0 && stat(im->target.ptr, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		ra = realpath(im->src, NULL);
		rb = realpath(im->target.ptr, NULL);
		same = ra && rb && !strcmp(ra, rb);
		free(ra);
		free(rb);
	}
	if (!same && unlink(im->src) < 0 && errno != ENOENT)
		return av_error_set_errno(AV_EIO, errno, "cannot remove '%s' after "
					  "importing it", im->src);
	return 0;
}

/* 1 if the pool already holds the file, 0 if not. */
static int present(struct import *im)
{
	struct stat st;

	if (stat(im->target.ptr, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((uint64_t)st.st_size == im->d->size)
		return 1;
	im->replace = 1;
	return 0;
}

static void cleanup(struct import *im)
{
	/* A moved source goes back; if it cannot, it stays staged rather
	 * than being lost. */
	if (im->moved && rename(im->staged.ptr, im->src) == 0)
		im->moved = 0;
	if (im->staged.len && !im->moved)
		unlink(im->staged.ptr);
	if (im->tmpdir.len)
		rmdir(im->tmpdir.ptr);
}

/*
 * The fast path of AV_POOL_COPY: an unnamed file (O_TMPFILE) in the pool
 * directory, filled with a copy that is hashed as it is written and
 * checked against the digests computed when the file was read, then
 * linked to its pool name: link(2) is atomic and the inode
 * is complete, so no staging directory is needed (a mkdir and rmdir per
 * file were a third of a bulk import).
 *
 * Not a hard link to the source: a user who rebuilds a .deb at the same
 * path rewrites that inode in place (dpkg-deb does), and the pool file,
 * and every published copy, would silently change under its checksums.
 *
 * 1: done; 0: use the staged path (no O_TMPFILE here); <0: error.
 */
static int copy_direct(struct import *im)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	char fdpath[64];
	uint64_t size = 0;
	int in = -1, out = -1, rc = 0, c;
	size_t dir = im->target.len - 65;

	if (im->mode != AV_POOL_COPY || im->replace || av_failpoint("pool-link"))
		return 0;
	if (av_failpoint("pool-write"))
		return av_error_set(AV_EIO, "cannot write pool file: injected "
				    "failure (failpoint pool-write)");
	if ((in = open(im->src, O_RDONLY | O_CLOEXEC)) < 0)
		return av_error_set_errno(errno == ENOENT ? AV_ENOTFOUND : AV_EIO, errno,
					  "cannot open '%s'", im->src);
	im->target.ptr[dir] = '\0';
	out = open(im->target.ptr, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (out < 0 && errno == ENOENT) {
		im->target.ptr[dir] = '/';
		if ((rc = make_pool_dirs(im)))
			goto done;
		im->target.ptr[dir] = '\0';
		out = open(im->target.ptr, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	}
	im->target.ptr[dir] = '/';
	if (out < 0)
		goto done;	/* no O_TMPFILE: the staged path */
	if (!(ctx = EVP_MD_CTX_new()) || !(buf = av_malloc(COPY_CHUNK)) ||
	    !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = av_error_set(AV_ERROR, "out of memory");
		goto done;
	}
	if ((c = copy_fd(in, out, ctx, buf, &size)) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot %s '%s'",
					c == -2 ? "read" : "write pool file from", im->src);
		goto done;
	}
	if ((rc = verify_copy(im, ctx, size)))
		goto done;
	if (!im->nosync && fsync(out) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot sync pool file '%s'",
					im->target.ptr);
		goto done;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", out);
	if (linkat(AT_FDCWD, fdpath, AT_FDCWD, im->target.ptr, AT_SYMLINK_FOLLOW) < 0 &&
	    errno != EEXIST) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot write pool file '%s'",
					im->target.ptr);
		goto done;
	}
	rc = 1;
	if (!im->nosync) {
		im->target.ptr[dir] = '\0';
		if (av_fsync_dir(im->target.ptr) < 0)
			rc = AV_EIO;
		im->target.ptr[dir] = '/';
	}
done:
	if (out >= 0)
		close(out);
	close(in);
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int stage(struct import *im)
{
	int rc;

	if ((rc = make_tmpdir(im)))
		return rc;
	if (try_link(im))
		return check_staged(im);
	return copy_staged(im);
}

int av_pool_import(const char *root, const char *src, const av_digests *d,
		   av_pool_mode mode)
{
	struct import im = { root, src, d, mode & ~AV_POOL_NOSYNC, AV_BUF_INIT,
			     AV_BUF_INIT, AV_BUF_INIT, 0, 0, !!(mode & AV_POOL_NOSYNC) };
	int rc;

	if ((rc = av_pool_path(&im.target, root, d->sha256)))
		goto done;
	if (!present(&im)) {
		if ((rc = copy_direct(&im)) < 0)
			goto done;
		if (rc == 0 && ((rc = stage(&im)) || (rc = publish(&im))))
			goto done;
		rc = 0;
	}
	if (im.mode == AV_POOL_MOVE)
		rc = remove_source(&im);
done:
	cleanup(&im);
	av_buf_dispose(&im.staged);
	av_buf_dispose(&im.tmpdir);
	av_buf_dispose(&im.target);
	return rc;
}

int av_pool_sync(const char *root)
{
	av_buf path = AV_BUF_INIT;
	int fd, rc = 0;

	if ((rc = av_buf_printf(&path, "%s/pool", root)))
		return rc;
	if ((fd = open(path.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? 0 : av_error_set_errno(AV_EIO, errno,
							      "cannot open '%s'", path.ptr);
	} else {
		if (syncfs(fd) < 0)
			rc = av_error_set_errno(AV_EIO, errno, "cannot sync '%s'", path.ptr);
		close(fd);
	}
	av_buf_dispose(&path);
	return rc;
}
