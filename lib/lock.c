/* lock.c - flock(2)-based resource locks taken in one order (see lock.h). */
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
#include <sys/file.h>
#include "aptvault/lock.h"
#include "aptvault/store.h"
#include "aptvault/file.h"
#include "internal.h"

typedef struct lock_key {
	char *kind;
	char *name;
	char *sortkey;		/* "kind/encoded-name": the global order */
	av_lock_mode mode;
	int fd;
} lock_key;

struct av_lockset {
	char *root;
	lock_key *keys;
	size_t n, alloc;
	int acquired;
};

int av_lockset_new(av_lockset **out, const char *root)
{
	av_lockset *ls = av_calloc(1, sizeof(*ls));

	if (!ls || !(ls->root = av_strdup(root))) {
		free(ls);
		return AV_ERROR;
	}
	*out = ls;
	return 0;
}

int av_lockset_add(av_lockset *ls, const char *kind, const char *name, av_lock_mode mode)
{
	av_buf key = AV_BUF_INIT;
	lock_key *k;
	int rc;

	if (ls->acquired)
		return av_error_set(AV_ERROR, "internal error: lock on %s '%s' declared "
				    "after the lock set was taken", kind, name);
	if ((rc = av_buf_printf(&key, "%s/", kind)) || (rc = av_name_encode(&key, name)))
		goto fail;
	for (size_t i = 0; i < ls->n; i++) {
		if (!strcmp(ls->keys[i].sortkey, key.ptr)) {
			if (mode == AV_LOCK_EXCLUSIVE)
				ls->keys[i].mode = mode;
			av_buf_dispose(&key);
			return 0;
		}
	}
	if ((rc = av_array_grow((void **)&ls->keys, &ls->alloc, ls->n + 1, sizeof(*ls->keys))))
		goto fail;
	k = &ls->keys[ls->n];
	memset(k, 0, sizeof(*k));
	k->fd = -1;
	k->mode = mode;
	if (!(k->kind = av_strdup(kind)) || !(k->name = av_strdup(name))) {
		free(k->kind);
		rc = AV_ERROR;
		goto fail;
	}
	k->sortkey = av_buf_detach(&key);
	ls->n++;
	return 0;
fail:
	av_buf_dispose(&key);
	return rc;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const lock_key *)a)->sortkey, ((const lock_key *)b)->sortkey);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_lock_file(const av_lockset *ls, const lock_key *k)
{
	char path[4096], dir[4096];
	int fd;

	snprintf(dir, sizeof(dir), "%s/locks/%s", ls->root, k->kind);
	snprintf(path, sizeof(path), "%s/locks/%s", ls->root, k->sortkey);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) {
		if (av_mkdir_p(dir))
			return -1;
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		av_error_set_errno(AV_EIO, errno, "cannot open lock '%s'", path);
	return fd;
}

static int busy(const lock_key *k)
{
	return av_error_set(AV_EBUSY, "%s '%s' is busy: another command holds its lock",
			    k->kind, k->name);
}

/* Take one lock, waiting until deadline (<0: forever). */
static int take(lock_key *k, double deadline)
{
	int op = k->mode == AV_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH;
	useconds_t pause = 1000;

	if (deadline < 0) {
		while (flock(k->fd, op) < 0)
			if (errno != EINTR)
				return av_error_set_errno(AV_EIO, errno, "cannot lock %s '%s'",
							  k->kind, k->name);
		return 0;
	}
	for (;;) {
		if (flock(k->fd, op | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return av_error_set_errno(AV_EIO, errno, "cannot lock %s '%s'",
						  k->kind, k->name);
		if (now() >= deadline)
			return busy(k);
		usleep(pause);
		if (pause < 50000)
			pause *= 2;
	}
}

int av_lockset_acquire(av_lockset *ls, double timeout)
{
	double deadline = timeout < 0 ? -1 : now() + timeout;
	int rc = 0;

	if (ls->acquired)
		return av_error_set(AV_ERROR, "internal error: lock set taken twice");
	qsort(ls->keys, ls->n, sizeof(*ls->keys), key_cmp);
	for (size_t i = 0; i < ls->n; i++) {
		if ((ls->keys[i].fd = open_lock_file(ls, &ls->keys[i])) < 0) {
			rc = AV_EIO;
			break;
		}
		if ((rc = take(&ls->keys[i], deadline)))
			break;
	}
	ls->acquired = 1;
	if (rc) {
		int code = av_error_code();
		av_lockset_release(ls);
		return code ? code : rc;
	}
	return 0;
}

int av_lockset_holds(const av_lockset *ls, const char *kind, const char *name,
		     av_lock_mode mode)
{
	if (!ls->acquired)
		return 0;
	for (size_t i = 0; i < ls->n; i++) {
		const lock_key *k = &ls->keys[i];
		if (k->fd >= 0 && !strcmp(k->kind, kind) && !strcmp(k->name, name))
			return k->mode >= mode;
	}
	return 0;
}

void av_lockset_release(av_lockset *ls)
{
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->keys[i].fd >= 0) {
			close(ls->keys[i].fd);	/* closing drops the flock */
			ls->keys[i].fd = -1;
		}
	}
}

void av_lockset_free(av_lockset *ls)
{
	if (!ls)
		return;
	av_lockset_release(ls);
	for (size_t i = 0; i < ls->n; i++) {
		free(ls->keys[i].kind);
		free(ls->keys[i].name);
		free(ls->keys[i].sortkey);
	}
	free(ls->keys);
	free(ls->root);
	free(ls);
}
