/*
 * import.c - read, verify and store package files (see import.h).
 *
 * Workers (one per core) read files and place them in the pool; the
 * calling thread then writes the blobs, because one libgit2 repository
 * is never shared between threads.
 */
#include <stdio.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/stat.h>
#include "aptvault/import.h"
#include "aptvault/deb.h"
#include "aptvault/source.h"
#include "aptvault/pool.h"
#include "aptvault/buf.h"
#include "aptvault/lock.h"
#include "aptvault/failpoint.h"
#include "internal.h"

typedef enum { F_DEB, F_UDEB, F_DSC } ftype;

typedef struct job {
	char *path;
	ftype type;
	atomic_int finished;	/* set by the worker when the fields below are */
	/* results, filled by a worker */
	int rc;
	char *error;
	av_pkg *pkg;
	char *contents;
	size_t contents_len;
	char **sources;
	size_t nsources;
} job;

typedef struct jobs {
	job *v;
	size_t n, alloc;
	av_buf errors;		/* scan errors: missing paths, unknown types */
	size_t nerrors;
} jobs;

typedef struct work {
	jobs *jobs;
	const char *root;
	atomic_size_t next;	/* the next job to claim */
	pthread_mutex_t mu;	/* with cv: a job finished */
	pthread_cond_t cv;
} work;

/* Flush the store's buffer past this many bytes, so memory stays bounded
 * however many files one command imports. */
#define FLUSH_BYTES ((size_t)32 << 20)

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static int file_type(const char *path, ftype *out)
{
	if (ends_with(path, ".deb"))
		*out = F_DEB;
	else if (ends_with(path, ".udeb"))
		*out = F_UDEB;
	else if (ends_with(path, ".dsc"))
		*out = F_DSC;
	else
		return 0;
	return 1;
}

static int add_error(jobs *js, const char *fmt, const char *path, const char *why)
{
	js->nerrors++;
	return av_buf_printf(&js->errors, fmt, path, why);
}

static int add_job(jobs *js, const char *path, ftype t)
{
	job *j;

	if (av_array_grow((void **)&js->v, &js->alloc, js->n + 1, sizeof(*js->v)))
		return AV_ERROR;
	j = &js->v[js->n];
	memset(j, 0, sizeof(*j));
	if (!(j->path = av_strdup(path)))
		return AV_ERROR;
	j->type = t;
	js->n++;
	return 0;
}

static int scan(jobs *js, const char *path, int explicit)
{
	struct stat st;
	ftype t;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (stat(path, &st) < 0)
		return add_error(js, "  %s: %s\n", path, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		if (file_type(path, &t))
			return add_job(js, path, t);
		if (explicit)
			return add_error(js, "  %s: %s\n", path,
					 "not a .deb, .udeb or .dsc file");
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return explicit ? add_error(js, "  %s: %s\n", path, "not a file") : 0;
	if (!(d = opendir(path)))
		return add_error(js, "  %s: %s\n", path, strerror(errno));
	while (!rc && (e = readdir(d))) {
		av_buf child = AV_BUF_INIT;
		if (e->d_name[0] == '.')
			continue;
		if (!(rc = av_buf_printf(&child, "%s/%s", path, e->d_name)))
			rc = scan(js, child.ptr, 0);
		av_buf_dispose(&child);
	}
	closedir(d);
	return rc;
}

static int add_source(job *j, const char *path)
{
	char **v = av_realloc(j->sources, (j->nsources + 1) * sizeof(*v));

	if (!v)
		return AV_ERROR;
	j->sources = v;
	if (!(v[j->nsources] = av_strdup(path)))
		return AV_ERROR;
	j->nsources++;
	return 0;
}

static int run_deb(job *j, const char *root)
{
	av_deb_info *info = NULL;
	av_stanza *s;
	int rc;

	if ((rc = av_deb_read(&info, j->path)))
		return rc;
	if ((rc = av_pool_import(root, j->path, &info->digests,
				 AV_POOL_COPY | AV_POOL_NOSYNC)))
		goto done;
	s = info->stanza;
	info->stanza = NULL;
	if ((rc = av_pkg_new(&j->pkg, s, j->type == F_UDEB ? AV_PKG_UDEB : AV_PKG_DEB)))
		goto done;
	{
		const char *pt = av_stanza_get(j->pkg->stanza, "Package-Type");
		if (pt && !strcmp(pt, "udeb"))
			j->pkg->type = AV_PKG_UDEB;
	}
	j->contents = info->contents;
	j->contents_len = info->contents_len;
	info->contents = NULL;
	rc = add_source(j, j->path);
done:
	av_deb_info_free(info);
	return rc;
}

static int run_dsc(job *j, const char *root)
{
	av_dsc_info *info = NULL;
	av_stanza *s;
	int rc;

	if ((rc = av_dsc_read(&info, j->path, NULL)))
		return rc;
	for (size_t i = 0; i < info->nfiles && !rc; i++)
		rc = av_pool_import(root, info->files[i].path, &info->files[i].digests,
				    AV_POOL_COPY | AV_POOL_NOSYNC);
	for (size_t i = 0; i < info->nfiles && !rc; i++)
		rc = add_source(j, info->files[i].path);
	if (rc)
		goto done;
	s = info->stanza;
	info->stanza = NULL;
	rc = av_pkg_new(&j->pkg, s, AV_PKG_SOURCE);
done:
	av_dsc_info_free(info);
	return rc;
}

static void run_job(work *w, job *j)
{
	av_error_clear();
	j->rc = j->type == F_DSC ? run_dsc(j, w->root) : run_deb(j, w->root);
	if (j->rc)
		j->error = av_strdup(av_error_last());
	pthread_mutex_lock(&w->mu);
	atomic_store(&j->finished, 1);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Claim and run one job; 0 when none is left. */
static int run_next(work *w)
{
	size_t i = atomic_fetch_add(&w->next, 1);

	if (i >= w->jobs->n)
		return 0;
	run_job(w, &w->jobs->v[i]);
	return 1;
}

static void *worker(void *arg)
{
	while (run_next(arg))
		;
	return NULL;
}

static unsigned thread_count(const av_import_opts *o, size_t njobs)
{
	long n = o && o->threads ? (long)o->threads : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > 16)
		n = 16;
	if ((size_t)n > njobs)
		n = njobs ? (long)njobs : 1;
	return (unsigned)n;
}

/* Wait until job j is finished, helping with the others meanwhile. */
static void await(work *w, job *j)
{
	while (!atomic_load(&j->finished)) {
		if (run_next(w))
			continue;
		pthread_mutex_lock(&w->mu);
		while (!atomic_load(&j->finished))
			pthread_cond_wait(&w->cv, &w->mu);
		pthread_mutex_unlock(&w->mu);
	}
}

static void job_dispose(job *j)
{
	free(j->path);
	free(j->error);
	av_pkg_free(j->pkg);
	free(j->contents);
	for (size_t i = 0; i < j->nsources; i++)
		free(j->sources[i]);
	free(j->sources);
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const av_import_item *)a)->key, ((const av_import_item *)b)->key);
}

/* Write one job's blobs and move it into an item. */
static int store_job(av_store *s, job *j, av_import_item *it)
{
	av_buf text = AV_BUF_INIT, key = AV_BUF_INIT;
	git_oid contents;
	int rc;

	if (av_failpoint("import-store"))
		return av_error_set(AV_EIO, "cannot store '%s': injected failure "
				    "(failpoint import-store)", j->path);
	if (j->contents) {
		char hex[GIT_OID_HEXSZ + 1];
		if ((rc = av_store_blob_write(s, &contents, j->contents, j->contents_len)))
			goto done;
		git_oid_tostr(hex, sizeof(hex), &contents);
		if ((rc = av_stanza_set(j->pkg->stanza, "Aptvault-Contents", hex)))
			goto done;
	}
	if ((rc = av_pkg_serialize(&text, j->pkg)) ||
	    (rc = av_store_blob_write(s, &it->blob, text.ptr, text.len)) ||
	    (rc = av_pkg_key(&key, j->pkg)))
		goto done;
	it->key = av_buf_detach(&key);
	it->type = j->pkg->type;
	it->sources = j->sources;
	it->nsources = j->nsources;
	j->sources = NULL;
	j->nsources = 0;
	/* Stored: what the job read is no longer needed. */
	av_pkg_free(j->pkg);
	j->pkg = NULL;
	free(j->contents);
	j->contents = NULL;
done:
	av_buf_dispose(&text);
	av_buf_dispose(&key);
	return rc;
}

/* One item per key: the same package twice is fine, two different
 * packages with one identity are not. */
static int dedupe(av_import *imp, av_buf *errors, size_t *nerrors)
{
	size_t n = 0;

	qsort(imp->items, imp->n, sizeof(*imp->items), item_cmp);
	for (size_t i = 0; i < imp->n; i++) {
		av_import_item *prev = n ? &imp->items[n - 1] : NULL;
		if (prev && !strcmp(prev->key, imp->items[i].key)) {
			if (git_oid_cmp(&prev->blob, &imp->items[i].blob)) {
				(*nerrors)++;
				av_buf_printf(errors, "  %s: %s\n", imp->items[i].sources[0],
					      "same name, version and architecture as another "
					      "file in this batch, different content");
			}
			for (size_t k = 0; k < imp->items[i].nsources; k++)
				free(imp->items[i].sources[k]);
			free(imp->items[i].sources);
			free(imp->items[i].key);
			continue;
		}
		imp->items[n++] = imp->items[i];
	}
	imp->n = n;
	return 0;
}

/*
 * The calling thread stores each job's result, in order, as soon as it is
 * finished (and reads files itself while it waits), so storing overlaps
 * reading and what was read is freed at once.
 */
static int consume(av_store *s, work *w, av_import *imp, const av_import_opts *o)
{
	jobs *js = w->jobs;
	int rc = 0;

	for (size_t i = 0; i < js->n; i++) {
		job *j = &js->v[i];

		await(w, j);
		if (j->rc) {
			add_error(js, "  %s: %s\n", j->path, j->error ? j->error : "failed");
		} else if (!js->nerrors) {
			if (!(rc = store_job(s, j, &imp->items[imp->n])))
				imp->n++;
			if (!rc && av_store_buffered(s) > FLUSH_BYTES)
				rc = av_store_flush(s);
			if (rc) {
				/* Stop claiming and stop waiting: jobs nobody claims
				 * would never finish.  The caller joins the workers. */
				atomic_store(&w->next, js->n);
				break;
			}
		}
		if (o && o->progress)
			o->progress(o->progress_payload, i + 1, js->n);
	}
	return rc;
}

static int read_and_store(av_store *s, jobs *js, av_import *imp, const av_import_opts *o)
{
	pthread_t tids[16];
	unsigned n = thread_count(o, js->n), started = 0;
	work w = { .jobs = js, .root = av_store_root(s) };
	int rc;

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	for (unsigned i = 1; i < n; i++)
		if (pthread_create(&tids[started], NULL, worker, &w) == 0)
			started++;
	rc = consume(s, &w, imp, o);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return rc;
}

int av_import_files(av_import **out, av_store *s, char *const *paths, size_t npaths,
		    const av_import_opts *opts)
{
	jobs js = { 0 };
	av_import *imp = NULL;
	size_t scan_errors;
	int rc = 0;

	*out = NULL;
	av_buf_init(&js.errors, 1 << 20);
	for (size_t i = 0; i < npaths && !rc; i++)
		rc = scan(&js, paths[i], 1);
	if (rc)
		goto done;
	scan_errors = js.nerrors;
	if (!(imp = av_calloc(1, sizeof(*imp))) ||
	    !(imp->items = av_calloc(js.n ? js.n : 1, sizeof(*imp->items)))) {
		rc = AV_ERROR;
		goto done;
	}
	if ((rc = av_lockset_new(&imp->fence, av_store_root(s))) ||
	    (rc = av_lockset_add(imp->fence, "db", "fence", AV_LOCK_SHARED)) ||
	    (rc = av_lockset_acquire(imp->fence, opts ? opts->lock_timeout : -1)))
		goto done;
	if ((rc = read_and_store(s, &js, imp, opts)))
		goto done;
	if (!js.nerrors)
		dedupe(imp, &js.errors, &js.nerrors);
	if (js.nerrors) {
		av_buf_truncate(&js.errors, js.errors.len ? js.errors.len - 1 : 0);
		rc = av_error_set(AV_EINVALID, "%zu of %zu file%s rejected, nothing was "
				  "added:\n%s", js.nerrors, js.n + scan_errors,
				  js.n + scan_errors == 1 ? "" : "s", av_buf_cstr(&js.errors));
		goto done;
	}
	if (!js.n) {
		rc = av_error_set(AV_EINVALID, "no package files found in the given paths");
		goto done;
	}
	/* I6: pool files and blobs are durable before any ref can name them.
	 * Both are content-addressed, so writing them before the lock is
	 * taken decides nothing, and the lock is then held only for the
	 * small list and state update. */
	if ((rc = av_pool_sync(av_store_root(s))) || (rc = av_store_flush(s)))
		goto done;
	*out = imp;
	imp = NULL;
done:
	for (size_t i = 0; i < js.n; i++)
		job_dispose(&js.v[i]);
	free(js.v);
	av_buf_dispose(&js.errors);
	av_import_free(imp);
	return rc;
}

int av_import_remove_sources(const av_import *imp)
{
	int rc = 0;

	for (size_t i = 0; i < imp->n; i++)
		for (size_t k = 0; k < imp->items[i].nsources; k++)
			if (unlink(imp->items[i].sources[k]) < 0 && errno != ENOENT && !rc)
				rc = av_error_set_errno(AV_EIO, errno, "cannot remove '%s'",
							imp->items[i].sources[k]);
	return rc;
}

void av_import_free(av_import *imp)
{
	if (!imp)
		return;
	av_lockset_free(imp->fence);
	for (size_t i = 0; i < imp->n; i++) {
		free(imp->items[i].key);
		for (size_t k = 0; k < imp->items[i].nsources; k++)
			free(imp->items[i].sources[k]);
		free(imp->items[i].sources);
	}
	free(imp->items);
	free(imp);
}

int av_import_read_file(av_pkg **out, char **contents, const char *path)
{
	job j = { 0 };
	int rc;

	*out = NULL;
	if (contents)
		*contents = NULL;
	if (!file_type(path, &j.type))
		return av_error_set(AV_EINVALID, "'%s' is not a .deb, .udeb or .dsc file", path);
	if (!(j.path = av_strdup(path)))
		return AV_ERROR;
	if (j.type == F_DSC) {
		av_dsc_info *info = NULL;
		if (!(rc = av_dsc_read(&info, path, NULL))) {
			rc = av_pkg_new(&j.pkg, info->stanza, AV_PKG_SOURCE);
			info->stanza = NULL;
		}
		av_dsc_info_free(info);
	} else {
		av_deb_info *info = NULL;
		if (!(rc = av_deb_read(&info, path))) {
			rc = av_pkg_new(&j.pkg, info->stanza,
					j.type == F_UDEB ? AV_PKG_UDEB : AV_PKG_DEB);
			info->stanza = NULL;
			j.contents = info->contents;
			info->contents = NULL;
		}
		av_deb_info_free(info);
	}
	if (!rc) {
		*out = j.pkg;
		j.pkg = NULL;
		if (contents) {
			*contents = j.contents;
			j.contents = NULL;
		}
	}
	job_dispose(&j);
	return rc;
}
