/* file.c - durable file helpers (see file.h). */
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include "aptvault/file.h"
#include "internal.h"

int av_file_read(av_buf *out, const char *path, size_t max)
{
	char chunk[65536];
	ssize_t n;
	int fd, rc = 0;
	size_t oldmax = out->max;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return av_error_set_errno(errno == ENOENT ? AV_ENOTFOUND : AV_EIO,
					  errno, "cannot open '%s'", path);
	if (max)
		out->max = out->len + max;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = av_error_set_errno(AV_EIO, errno, "cannot read '%s'", path);
			break;
		}
		if ((rc = av_buf_put(out, chunk, (size_t)n))) {
			av_error_wrap(rc, "'%s'", path);
			break;
		}
	}
	out->max = oldmax;
	close(fd);
	return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int av_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot open directory '%s'", dir);
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = av_error_set_errno(AV_EIO, errno, "cannot sync directory '%s'", dir);
	close(fd);
	return rc;
}

static void dir_of(char *out, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, size, ".");
	else if (slash == path)
		snprintf(out, size, "/");
	else
		snprintf(out, size, "%.*s", (int)(slash - path), path);
}

int av_file_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[4096], dir[4096];
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp))
		return av_error_set(AV_EINVALID, "path too long: '%s'", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot create '%s'", tmp);
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return av_error_set_errno(AV_EIO, e, "cannot write '%s'", path);
	}
	fchmod(fd, 0644);
	close(fd);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return av_error_set_errno(AV_EIO, e, "cannot rename into '%s'", path);
	}
	dir_of(dir, sizeof(dir), path);
	return av_fsync_dir(dir);
}

int av_mkdir_p(const char *path)
{
	char tmp[4096];
	size_t len = strlen(path), made = 0;
	char *slash[256];

	if (len == 0 || len >= sizeof(tmp))
		return av_error_set(AV_EINVALID, "bad directory path '%s'", path);
	memcpy(tmp, path, len + 1);
	/* From the deepest: usually only the last part is missing (a pool
	 * directory under existing ones), so one mkdir, not one per part. */
	for (;;) {
		char *s;
		if (mkdir(tmp, 0755) == 0 || errno == EEXIST)
			break;
		if (errno != ENOENT || made == AV_ARRAY_SIZE(slash) || !(s = strrchr(tmp, '/')) ||
		    s == tmp)
			return av_error_set_errno(AV_EIO, errno, "cannot create '%s'", tmp);
		*s = '\0';
		slash[made++] = s;
	}
	while (made) {
		*slash[--made] = '/';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return av_error_set_errno(AV_EIO, errno, "cannot create '%s'", tmp);
	}
	return 0;
}

int av_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int av_is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int av_remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 :
			av_error_set_errno(AV_EIO, errno, "cannot stat '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return av_error_set_errno(AV_EIO, errno, "cannot remove '%s'", path);
		return 0;
	}
	if (!(d = opendir(path)))
		return av_error_set_errno(AV_EIO, errno, "cannot open '%s'", path);
	while (!rc && (e = readdir(d))) {
		char child[4096];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		rc = av_remove_tree(child);
	}
	closedir(d);
	if (!rc && rmdir(path) < 0 && errno != ENOENT)
		rc = av_error_set_errno(AV_EIO, errno, "cannot remove '%s'", path);
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int av_dir_list(const char *dir, const char *suffix, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t count = 0, alloc = 0, slen = strlen(suffix);

	*out = NULL;
	*n = 0;
	if (!d)
		return av_error_set_errno(errno == ENOENT ? AV_ENOTFOUND : AV_EIO, errno,
					  "cannot open directory '%s'", dir);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < slen || strcmp(e->d_name + len - slen, suffix))
			continue;
		if (av_array_grow((void **)&names, &alloc, count + 1, sizeof(*names)) ||
		    !(names[count] = av_strdup(e->d_name))) {
			closedir(d);
			av_dir_list_free(names, count);
			return AV_ERROR;
		}
		count++;
	}
	closedir(d);
	if (count)
		qsort(names, count, sizeof(*names), str_cmp);
	*out = names;
	*n = count;
	return 0;
}

void av_dir_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
