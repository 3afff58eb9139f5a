/*
 * store.c - the metadata store on libgit2 (see store.h).
 *
 * Writes go to a mempack backend of top priority, so nothing a failed
 * command built ever reaches the disk.  av_store_flush() then writes the
 * new objects (tracked by oid as they are written) either as fsynced loose
 * objects or, past a handful, as one packfile we serialise ourselves
 * without delta search and hand to libgit2's indexer.
 */
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <libdeflate.h>
#include <openssl/evp.h>
#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include "aptvault/store.h"
#include "aptvault/file.h"
#include "aptvault/failpoint.h"
#include "packwrite.h"
#include "packread.h"
#include "internal.h"

/* Up to this many new objects are written loose; more go to one pack. */
#define LOOSE_MAX 16

struct av_store {
	char *root;
	char *dbdir;
	git_repository *repo;
	git_odb *odb;
	git_odb_backend *mempack;	/* owned by odb */
	struct libdeflate_compressor *zloose[2];	/* loose objects: stored, level 1 */
	int tmpfile;			/* O_TMPFILE linked through /proc/self/fd:
					 * 0 not known yet, 1 yes, -1 named files */
	git_oid *pending;		/* oids written since the last flush */
	size_t npending, apending;
	size_t buffered;		/* blob bytes since the last flush */
	av_store_stats stats;
	size_t history_limit;
	av_packr *packs;		/* for av_store_tree_raw; reopened after a pack */
	int defer;			/* flushes skip fsync (av_store_defer_sync) */
	int deferred;			/* and some did: av_store_settle owes a sync */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

/*
 * Debian's libgit2 is built with mbedTLS, and git_libgit2_init() has it
 * parse the whole system CA bundle (/etc/ssl/certs/ca-certificates.crt,
 * ~150 certificates): 4-6 ms of every command, a fifth of a snapshot
 * merge, for HTTPS remotes aptvault never uses (the store is local;
 * mirrors download through libcurl, which does not use mbedTLS).  This
 * definition takes the place of libmbedx509's for libgit2 (the linker
 * exports it because libgit2 references it), so no certificate is
 * loaded.  Should anything ever ask libgit2 for an HTTPS remote, it
 * would trust no server: it fails closed.
 */
int mbedtls_x509_crt_parse_file(void *chain, const char *path);
int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	(void)chain;
	(void)path;
	return 0;
}

static void global_init(void)
{
	if (git_libgit2_init() < 0) {
		init_rc = -1;
		return;
	}
	/* I6: objects and refs are fsynced before they are visible. */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	/* Trees over 4 KB are never cached by default; our buckets are. */
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE,
			 (size_t)1 << 20);
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_BLOB,
			 (size_t)64 << 10);
	/* We write trees of objects we just wrote; checking each entry's
	 * existence would probe every pack per entry. */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
	/* Re-hashing every object read (sha1dc) cost a fifth of a merge and
	 * of a full list load.  Our packs are written by packwrite with zlib
	 * streams whose Adler-32 still catches a damaged object on read. */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
}

static int lib_init(void)
{
	pthread_once(&init_once, global_init);
	if (init_rc)
		return av_error_set(AV_ERROR, "cannot initialise libgit2");
	return 0;
}

static int make_layout(const char *root)
{
	static const char *const dirs[] = { "db", "pool", "locks", "tmp", "public" };
	char path[4096];
	int rc;

	if ((rc = av_mkdir_p(root)))
		return rc;
	for (size_t i = 0; i < AV_ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		if ((rc = av_mkdir_p(path)))
			return rc;
	}
	return 0;
}

/* Create db/ once, even when several processes race to do it. */
static int init_db(const char *root, const char *dbdir)
{
	char path[4096];
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	int fd, rc = 0, err;

	snprintf(path, sizeof(path), "%s/locks/.init", root);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot open '%s'", path);
	if (flock(fd, LOCK_EX) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot lock '%s'", path);
		goto done;
	}
	snprintf(path, sizeof(path), "%s/HEAD", dbdir);
	if (av_is_file(path))
		goto done;
	if ((err = git_repository_init(&repo, dbdir, 1)) < 0 ||
	    (err = git_repository_config(&cfg, repo)) < 0 ||
	    (err = git_config_set_string(cfg, "core.logAllRefUpdates", "always")) < 0) {
		rc = av_error_from_git(err, "cannot create the database");
		goto done;
	}
done:
	git_config_free(cfg);
	git_repository_free(repo);
	close(fd);
	return rc;
}

int av_store_open(av_store **out, const char *root, int create)
{
	av_store *s = NULL;
	char path[4096];
	int rc, err;

	*out = NULL;
	if ((rc = lib_init()))
		return rc;
	if (!(s = av_calloc(1, sizeof(*s))))
		return AV_ERROR;
	snprintf(path, sizeof(path), "%s/db", root);
	if (!(s->root = av_strdup(root)) || !(s->dbdir = av_strdup(path))) {
		rc = AV_ERROR;
		goto fail;
	}
	if (create) {
		if ((rc = make_layout(root)) || (rc = init_db(root, s->dbdir)))
			goto fail;
	} else if (!av_is_dir(s->dbdir)) {
		rc = av_error_set(AV_ENOTFOUND,
				  "'%s' is not an aptvault root (no db/ inside)", root);
		goto fail;
	}
	if ((err = git_repository_open_bare(&s->repo, s->dbdir)) < 0 ||
	    (err = git_repository_odb(&s->odb, s->repo)) < 0 ||
	    (err = git_mempack_new(&s->mempack)) < 0 ||
	    (err = git_odb_add_backend(s->odb, s->mempack, 1000)) < 0) {
		rc = av_error_from_git(err, "cannot open the database");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	av_store_free(s);
	return rc;
}

void av_store_free(av_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < 2; i++)
		if (s->zloose[i])
			libdeflate_free_compressor(s->zloose[i]);
	git_odb_free(s->odb);
	git_repository_free(s->repo);
	free(s->pending);
	av_packr_free(s->packs);
	free(s->dbdir);
	free(s->root);
	free(s);
}

const char *av_store_root(const av_store *s)
{
	return s->root;
}

git_repository *av_store_git(av_store *s)
{
	return s->repo;
}

const av_store_stats *av_store_stats_get(const av_store *s)
{
	return &s->stats;
}

void av_store_stats_reset(av_store *s)
{
	memset(&s->stats, 0, sizeof(s->stats));
}

void av_store_set_history_limit(av_store *s, size_t keep)
{
	s->history_limit = keep;
}

static int pending_add(av_store *s, const git_oid *oid)
{
	if (av_array_grow((void **)&s->pending, &s->apending, s->npending + 1,
			  sizeof(*s->pending)))
		return AV_ERROR;
	git_oid_cpy(&s->pending[s->npending++], oid);
	return 0;
}

/* The git object id of data: SHA-1 over "TYPE LEN\0" and data, with
 * OpenSSL (several times faster than libgit2's collision-detecting SHA-1;
 * every object we hash is our own). */
static int object_hash(git_oid *out, git_object_t type, const void *data, size_t len)
{
	unsigned char sum[EVP_MAX_MD_SIZE];
	char head[64];
	unsigned int slen = 0;
	int hlen = snprintf(head, sizeof(head), "%s %zu", git_object_type2string(type), len);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) &&
		 EVP_DigestUpdate(c, head, (size_t)hlen + 1) &&
		 EVP_DigestUpdate(c, data, len) && EVP_DigestFinal_ex(c, sum, &slen);

	EVP_MD_CTX_free(c);
	if (!ok || slen != GIT_OID_RAWSZ)
		return av_error_set(AV_ERROR, "cannot hash object");
	git_oid_fromraw(out, sum);
	return 0;
}

/*
 * Blobs and raw trees bypass git_odb_write: on a miss it re-scans the pack
 * directory (one readdir per new object, 10,000 of them in a bulk import).
 * We hash, look up without refreshing, and put new objects straight in the
 * mempack.
 */
static int object_write(av_store *s, git_oid *out, git_object_t type, const void *data,
			size_t len)
{
	int err, rc;

	if ((rc = object_hash(out, type, data, len)))
		return rc;
	if (git_odb_exists_ext(s->odb, out, GIT_ODB_LOOKUP_NO_REFRESH))
		return 0;
	if ((err = s->mempack->write(s->mempack, out, data, len, type)) < 0)
		return av_error_from_git(err, "cannot write object");
	s->buffered += len;
	return pending_add(s, out);
}

int av_store_blob_write(av_store *s, git_oid *out, const void *data, size_t len)
{
	return object_write(s, out, GIT_OBJECT_BLOB, data, len);
}

int av_store_tree_write_raw(av_store *s, git_oid *out, const void *data, size_t len)
{
	return object_write(s, out, GIT_OBJECT_TREE, data, len);
}

int av_store_blob_read(av_store *s, git_blob **out, const git_oid *oid)
{
	int err = git_blob_lookup(out, s->repo, oid);
	char hex[GIT_OID_HEXSZ + 1];

	s->stats.objects_read++;
	if (err < 0)
		return av_error_from_git(err, git_oid_tostr(hex, sizeof(hex), oid));
	return 0;
}

struct av_store_reader {
	git_repository *repo;
	git_odb *odb;
	av_packr *packs;	/* the fast path for whole packed objects */
	char *dbdir;
	unsigned long reads;
};

/* Object oid of type want appended to out: from the mapped packs when it
 * is a whole object there (opening them into *packs on first use), else
 * through libgit2's odb (buffered, loose, deltified).  out is unchanged
 * on error. */
static int read_object(av_packr **packs, const char *dbdir, git_odb *odb, const git_oid *oid,
		       git_object_t want, av_buf *out)
{
	git_odb_object *obj = NULL;
	char hex[GIT_OID_HEXSZ + 1], path[4096];
	git_object_t type = GIT_OBJECT_INVALID;
	size_t at = out->len;
	int rc, err;

	if (!*packs) {
		if (snprintf(path, sizeof(path), "%s/objects/pack", dbdir) >= (int)sizeof(path))
			return av_error_set(AV_EINVALID, "path too long: %s", dbdir);
		if ((rc = av_packr_open(packs, path)))
			return rc;
	}
	if ((rc = av_packr_read(*packs, oid, out, &type)) == AV_ENOTFOUND) {
		if ((err = git_odb_read(&obj, odb, oid)) < 0)
			return av_error_from_git(err, git_oid_tostr(hex, sizeof(hex), oid));
		type = git_odb_object_type(obj);
		rc = av_buf_put(out, git_odb_object_data(obj), git_odb_object_size(obj));
		git_odb_object_free(obj);
	}
	if (!rc && type != want)
		rc = av_error_set(AV_EINVALID, "object %s is not a %s",
				  git_oid_tostr(hex, sizeof(hex), oid), git_object_type2string(want));
	if (rc)
		out->len = at;
	return rc;
}

int av_store_reader_open(av_store *s, av_store_reader **out)
{
	av_store_reader *r = av_calloc(1, sizeof(*r));
	int err;

	if (!r || !(r->dbdir = av_strdup(s->dbdir))) {
		free(r);
		return AV_ERROR;
	}
	if ((err = git_repository_open_bare(&r->repo, s->dbdir)) < 0 ||
	    (err = git_repository_odb(&r->odb, r->repo)) < 0) {
		av_store_reader_free(r);
		return av_error_from_git(err, "cannot open the store for reading");
	}
	*out = r;
	return 0;
}

int av_store_reader_blob(av_store_reader *r, av_buf *out, const git_oid *oid)
{
	r->reads++;
	return read_object(&r->packs, r->dbdir, r->odb, oid, GIT_OBJECT_BLOB, out);
}

unsigned long av_store_reader_reads(const av_store_reader *r)
{
	return r ? r->reads : 0;
}

void av_store_reader_free(av_store_reader *r)
{
	if (!r)
		return;
	av_packr_free(r->packs);
	free(r->dbdir);
	git_odb_free(r->odb);
	git_repository_free(r->repo);
	free(r);
}

int av_store_tree_read(av_store *s, git_tree **out, const git_oid *oid)
{
	int err = git_tree_lookup(out, s->repo, oid);
	char hex[GIT_OID_HEXSZ + 1];

	s->stats.objects_read++;
	if (err < 0)
		return av_error_from_git(err, git_oid_tostr(hex, sizeof(hex), oid));
	return 0;
}

void av_rawtree_dispose(av_rawtree *t)
{
	av_buf_dispose(&t->data);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

int av_store_tree_raw(av_store *s, const git_oid *oid, av_rawtree *out)
{
	char hex[GIT_OID_HEXSZ + 1];
	const char *p, *end;
	int rc;

	av_buf_clear(&out->data);
	out->n = 0;
	s->stats.objects_read++;
	if ((rc = read_object(&s->packs, s->dbdir, s->odb, oid, GIT_OBJECT_TREE, &out->data)))
		return rc;
	/* "MODE NAME\0" and 20 bytes, again and again */
	p = out->data.ptr;
	end = p + out->data.len;
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p)), *nul;

		if (!sp || !(nul = memchr(sp, '\0', (size_t)(end - sp))) ||
		    (size_t)(end - nul) < 1 + GIT_OID_RAWSZ || nul == sp + 1)
			return av_error_set(AV_EINVALID, "tree %s is damaged",
					    git_oid_tostr(hex, sizeof(hex), oid));
		if ((rc = av_array_grow((void **)&out->e, &out->alloc, out->n + 1,
					sizeof(*out->e))))
			return rc;
		out->e[out->n++] = (av_rawent){ sp + 1, (const git_oid *)(nul + 1), *p == '4' };
		p = nul + 1 + GIT_OID_RAWSZ;
	}
	return 0;
}

int av_store_commit_read(av_store *s, git_commit **out, const git_oid *oid)
{
	int err = git_commit_lookup(out, s->repo, oid);
	char hex[GIT_OID_HEXSZ + 1];

	s->stats.objects_read++;
	if (err < 0)
		return av_error_from_git(err, git_oid_tostr(hex, sizeof(hex), oid));
	return 0;
}

int av_store_tree_write(av_store *s, git_oid *out, git_treebuilder *tb)
{
	int err = git_treebuilder_write(out, tb);

	if (err < 0)
		return av_error_from_git(err, "cannot write tree");
	return pending_add(s, out);
}

int av_store_commit_write(av_store *s, git_oid *out, const git_oid *tree_oid,
			  const char *message)
{
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	int err;

	if ((err = git_signature_now(&sig, "aptvault", "aptvault@localhost")) < 0 ||
	    (err = git_tree_lookup(&tree, s->repo, tree_oid)) < 0 ||
	    (err = git_commit_create(out, s->repo, NULL, sig, sig, NULL, message,
				     tree, 0, NULL)) < 0) {
		git_tree_free(tree);
		git_signature_free(sig);
		return av_error_from_git(err, "cannot write commit");
	}
	git_tree_free(tree);
	git_signature_free(sig);
	return pending_add(s, out);
}

static int oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* Sort, dedupe and keep only the oids that live in the mempack. */
static size_t pending_new_objects(av_store *s)
{
	size_t n = 0;

	qsort(s->pending, s->npending, sizeof(*s->pending), oid_cmp);
	for (size_t i = 0; i < s->npending; i++) {
		if (n && !git_oid_cmp(&s->pending[n - 1], &s->pending[i]))
			continue;
		if (!s->mempack->exists(s->mempack, &s->pending[i]))
			continue;
		git_oid_cpy(&s->pending[n++], &s->pending[i]);
	}
	return n;
}

static void count_written(av_store *s, git_object_t type)
{
	s->stats.objects_written++;
	if (type == GIT_OBJECT_BLOB)
		s->stats.blobs_written++;
	else if (type == GIT_OBJECT_TREE)
		s->stats.trees_written++;
	else if (type == GIT_OBJECT_COMMIT)
		s->stats.commits_written++;
}

/*
 * One loose object, as git reads it (zlib of "TYPE SIZE\0" and the data),
 * deflated in one call by libdeflate (libgit2's loose backend set up a
 * zlib stream per object: a third of a republish's store writes), or
 * stored where a pack would store it (av_packw_stored).  The
 * bytes go to an unnamed file (O_TMPFILE) that is linked into place
 * complete, else to a temporary renamed into place; both fsynced first,
 * and the directory after, unless the flush is deferred (then the
 * caller's syncfs makes them durable before any ref names them, I6).
 */
static int loose_write(av_store *s, const git_oid *oid, git_object_t type, const void *data,
		       size_t len, av_buf *in, av_buf *z)
{
	char hex[GIT_OID_HEXSZ + 1], dir[4096], path[4096 + 64], tmp[4096 + 32];
	struct libdeflate_compressor *zc;
	size_t zlen;
	int fd = -1, made_dir = 0, named = 0, level, rc = 0;

	git_oid_tostr(hex, sizeof(hex), oid);
	snprintf(dir, sizeof(dir), "%s/objects/%.2s", s->dbdir, hex);
	snprintf(path, sizeof(path), "%s/%s", dir, hex + 2);
	av_buf_clear(in);
	if ((rc = av_buf_printf(in, "%s %zu", git_object_type2string(type), len)) ||
	    (rc = av_buf_put(in, "", 1)) || (rc = av_buf_put(in, data, len)))
		return rc;
	/* (what a pack would store, as packwrite does) */
	level = av_packw_stored(type, data, len) ? 0 : 1;
	if (!s->zloose[level] && !(s->zloose[level] = libdeflate_alloc_compressor(level)))
		return av_error_set(AV_ERROR, "out of memory");
	zc = s->zloose[level];
	zlen = libdeflate_zlib_compress_bound(zc, in->len);
	av_buf_clear(z);
	if ((rc = av_buf_grow(z, zlen)))
		return rc;
	if (!(zlen = libdeflate_zlib_compress(zc, in->ptr, in->len, z->ptr, zlen)))
		return av_error_set(AV_ERROR, "cannot compress object %s", hex);
	if (mkdir(dir, 0777) == 0)
		made_dir = 1;
	else if (errno != EEXIST)
		return av_error_set_errno(AV_EIO, errno, "cannot create '%s'", dir);
	if (!s->tmpfile)
		s->tmpfile = access("/proc/self/fd", X_OK) == 0 ? 1 : -1;
	if (s->tmpfile < 0 || (fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0444)) < 0) {
		snprintf(tmp, sizeof(tmp), "%s/tmp_obj_XXXXXX", dir);
		if ((fd = mkstemp(tmp)) < 0)
			return av_error_set_errno(AV_EIO, errno, "cannot create an object in '%s'",
						  dir);
		named = 1;
		(void)fchmod(fd, 0444);
	}
	for (size_t off = 0; off < zlen && !rc;) {
		ssize_t w = write(fd, z->ptr + off, zlen - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = av_error_set_errno(AV_EIO, w < 0 ? errno : ENOSPC,
						"cannot write object %s", hex);
		else
			off += (size_t)w;
	}
	if (!rc && !s->defer && fsync(fd) < 0)
		rc = av_error_set_errno(AV_EIO, errno, "cannot sync object %s", hex);
	if (!rc && !named) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0 &&
		    errno != EEXIST)
			rc = av_error_set_errno(AV_EIO, errno, "cannot store object %s", hex);
	} else if (!rc && rename(tmp, path) < 0) {
		rc = av_error_set_errno(AV_EIO, errno, "cannot store object %s", hex);
	}
	if (named && rc)
		unlink(tmp);
	close(fd);
	if (!rc && !s->defer) {
		rc = av_fsync_dir(dir);
		if (!rc && made_dir) {
			snprintf(dir, sizeof(dir), "%s/objects", s->dbdir);
			rc = av_fsync_dir(dir);
		}
	}
	return rc;
}

static int flush_loose(av_store *s, size_t n)
{
	av_buf in = AV_BUF_INIT, z = AV_BUF_INIT;
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		void *data = NULL;
		size_t len = 0;
		git_object_t type;
		int err;

		if ((err = s->mempack->read(&data, &len, &type, s->mempack, &s->pending[i])) < 0)
			return av_error_from_git(err, "cannot read new object");
		if (!(rc = loose_write(s, &s->pending[i], type, data, len, &in, &z)))
			count_written(s, type);
		git_odb_backend_data_free(s->mempack, data);
	}
	av_buf_dispose(&in);
	av_buf_dispose(&z);
	return rc;
}

/* Many new objects: one pack with its index, written by packwrite.c. */
static int flush_pack(av_store *s, size_t n)
{
	av_packw *w = NULL;
	git_object_t *types = NULL;
	char dir[4096];
	int rc = 0, err;

	snprintf(dir, sizeof(dir), "%s/objects/pack", s->dbdir);
	if (!(types = av_calloc(n, sizeof(*types))) || (rc = av_packw_new(&w, dir, n)))
		goto done;
	if (s->defer)
		av_packw_nosync(w);
	/* pending_new_objects() sorted them: the order the index wants. */
	for (size_t i = 0; i < n && !rc; i++) {
		void *data = NULL;
		size_t len = 0;

		if ((err = s->mempack->read(&data, &len, &types[i], s->mempack,
					    &s->pending[i])) < 0) {
			rc = av_error_from_git(err, "cannot read new object");
			goto done;
		}
		rc = av_packw_add(w, &s->pending[i], types[i], data, len);
		git_odb_backend_data_free(s->mempack, data);
	}
	if (rc)
		goto done;
	if (av_failpoint("store-pack")) {
		rc = av_error_set(AV_EIO, "cannot write pack: injected failure "
				  "(failpoint store-pack)");
		goto done;
	}
	if ((rc = av_packw_finish(w)))
		goto done;
	git_odb_refresh(s->odb);
	av_packr_free(s->packs);	/* it does not know the new pack */
	s->packs = NULL;
	for (size_t i = 0; i < n; i++)
		count_written(s, types[i]);
	s->stats.packs_written++;
done:
	av_packw_free(w);
	free(types);
	return rc;
}

int av_store_flush(av_store *s)
{
	size_t n;
	int rc;

	if (!s->npending)
		return 0;
	n = pending_new_objects(s);
	rc = n <= LOOSE_MAX ? flush_loose(s, n) : flush_pack(s, n);
	if (rc)
		return rc;
	s->deferred |= s->defer;
	s->npending = 0;
	s->buffered = 0;
	git_mempack_reset(s->mempack);
	return 0;
}

int av_store_settle(av_store *s, const char *synced)
{
	struct stat a, b;
	int fd, rc = 0;

	if (!s->deferred)
		return 0;
	/* syncfs(synced) covered db/ when they share a filesystem */
	if (!synced || stat(s->dbdir, &a) || stat(synced, &b) || a.st_dev != b.st_dev) {
		if ((fd = open(s->dbdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    syncfs(fd) < 0)
			rc = av_error_set_errno(AV_EIO, errno, "cannot sync '%s'", s->dbdir);
		if (fd >= 0)
			close(fd);
	}
	if (!rc)
		s->deferred = 0;
	return rc;
}

int av_store_defer_sync(av_store *s, int on)
{
	s->defer = on;
	/* Objects left unsynced (a command failed before settling) would be
	 * found by a later write of the same content, which would then not
	 * write them again: make them durable now. */
	return on ? 0 : av_store_settle(s, NULL);
}

/* I6 by mechanism: no ref moves while flushed objects await their sync. */
static int check_settled(av_store *s, const char *refname)
{
	if (!s->deferred)
		return 0;
	return av_error_set(AV_ERROR, "internal error: '%s' would name objects not yet "
			    "synced (deferred flush not settled)", refname);
}

size_t av_store_buffered(const av_store *s)
{
	return s->buffered;
}

void av_store_discard(av_store *s)
{
	s->npending = 0;
	s->buffered = 0;
	git_mempack_reset(s->mempack);
}

int av_store_ref_read(av_store *s, const char *refname, git_oid *out)
{
	int err = git_reference_name_to_id(out, s->repo, refname);

	s->stats.refs_read++;
	if (err == GIT_ENOTFOUND) {
		memset(out, 0, sizeof(*out));
		return AV_ENOTFOUND;
	}
	if (err < 0)
		return av_error_from_git(err, "cannot read ref");
	return 0;
}

/*
 * Under our flock no cooperating process can be half way through a ref
 * update, so a NAME.lock left behind is debris from a crash: remove it.
 */
static int remove_stale_lock(av_store *s, const char *refname)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.lock", s->dbdir, refname);
	if (unlink(path) < 0 && errno != ENOENT)
		return av_error_set_errno(AV_EIO, errno, "cannot remove stale '%s'", path);
	return 0;
}

static void trim_history(av_store *s, const char *refname)
{
	git_reflog *log = NULL;
	size_t n;

	if (!s->history_limit || git_reflog_read(&log, s->repo, refname) < 0)
		return;
	n = git_reflog_entrycount(log);
	if (n > s->history_limit) {
		while (n > s->history_limit)
			git_reflog_drop(log, --n, 0);
		git_reflog_write(log);
	}
	git_reflog_free(log);
}

/* Delete u->refname if it still points at u->expected.  Returns a
 * libgit2 code; GIT_EMODIFIED when the value is not the expected one. */
static int ref_delete(av_store *s, const av_ref_update *u)
{
	git_reference *ref = NULL;
	int err = git_reference_lookup(&ref, s->repo, u->refname);

	if (err == GIT_ENOTFOUND)
		return git_oid_is_zero(&u->expected) ? 0 : GIT_EMODIFIED;
	if (err < 0)
		return err;
	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT ||
	    git_oid_cmp(git_reference_target(ref), &u->expected))
		err = GIT_EMODIFIED;
	else
		err = git_reference_delete(ref);
	git_reference_free(ref);
	return err;
}

static int ref_update_once(av_store *s, const av_ref_update *u, const char *message)
{
	git_reference *ref = NULL;
	int err;

	if (git_oid_is_zero(&u->target))
		return ref_delete(s, u);
	err = git_reference_create_matching(&ref, s->repo, u->refname, &u->target,
					    1, &u->expected, message);
	git_reference_free(ref);
	return err;
}

int av_store_ref_update(av_store *s, const av_ref_update *u, const char *message)
{
	int err;

	if (check_settled(s, u->refname))
		return AV_ERROR;
	if (av_failpoint("store-ref"))
		return av_error_set(AV_EIO, "cannot update '%s': injected failure "
				    "(failpoint store-ref)", u->refname);
	err = ref_update_once(s, u, message);
	if (err == GIT_ELOCKED && !u->locked)
		return av_error_set(AV_EBUSY, "'%s' is being updated by another writer",
				    u->refname);
	if (err == GIT_ELOCKED) {
		int rc = remove_stale_lock(s, u->refname);
		if (rc)
			return rc;
		err = ref_update_once(s, u, message);
	}
	/* libgit2 says ENOTFOUND when the ref we expected at an oid is gone:
	 * that is a mismatch like any other. */
	if (err == GIT_EMODIFIED || err == GIT_EEXISTS ||
	    (err == GIT_ENOTFOUND && !git_oid_is_zero(&u->expected))) {
		if (git_oid_is_zero(&u->expected))
			return av_error_set(AV_EEXISTS, "'%s' already exists", u->refname);
		return av_error_set(AV_ECONFLICT,
				    "'%s' changed under its lock (another writer?)",
				    u->refname);
	}
	if (err < 0)
		return av_error_from_git(err, "cannot update ref");
	s->stats.refs_written++;
	if (!git_oid_is_zero(&u->target))
		trim_history(s, u->refname);
	return 0;
}

int av_store_refs_update(av_store *s, const av_ref_update *u, size_t n,
			 const char *message)
{
	git_transaction *tx = NULL;
	git_signature *sig = NULL;
	int err = 0, rc = 0;

	if (n == 1)
		return av_store_ref_update(s, u, message);
	if (n && check_settled(s, u[0].refname))
		return AV_ERROR;
	if (av_failpoint("store-ref"))
		return av_error_set(AV_EIO, "cannot update refs: injected failure "
				    "(failpoint store-ref)");
	if ((err = git_transaction_new(&tx, s->repo)) < 0 ||
	    (err = git_signature_now(&sig, "aptvault", "aptvault@localhost")) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		git_oid cur;
		if ((err = git_transaction_lock_ref(tx, u[i].refname)) == GIT_ELOCKED &&
		    u[i].locked) {
			if ((rc = remove_stale_lock(s, u[i].refname)))
				goto done;
			err = git_transaction_lock_ref(tx, u[i].refname);
		}
		if (err < 0)
			goto done;
		/* CAS backstop: the value must still be what the caller read. */
		err = git_reference_name_to_id(&cur, s->repo, u[i].refname);
		if (err == GIT_ENOTFOUND)
			memset(&cur, 0, sizeof(cur));
		else if (err < 0)
			goto done;
		err = 0;
		if (git_oid_cmp(&cur, &u[i].expected)) {
			rc = av_error_set(git_oid_is_zero(&u[i].expected) ? AV_EEXISTS :
					  AV_ECONFLICT, "'%s' changed under its lock",
					  u[i].refname);
			goto done;
		}
		if (git_oid_is_zero(&u[i].target))
			err = git_transaction_remove(tx, u[i].refname);
		else
			err = git_transaction_set_target(tx, u[i].refname, &u[i].target,
							 sig, message);
		if (err < 0)
			goto done;
	}
	if ((err = git_transaction_commit(tx)) < 0)
		goto done;
	s->stats.refs_written += n;
	for (size_t i = 0; i < n; i++)
		if (!git_oid_is_zero(&u[i].target))
			trim_history(s, u[i].refname);
done:
	if (err < 0 && !rc)
		rc = av_error_from_git(err, "cannot update refs");
	git_signature_free(sig);
	git_transaction_free(tx);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int av_store_ref_names(av_store *s, const char *prefix, char ***out, size_t *n)
{
	git_reference_iterator *it = NULL;
	const char *name;
	char glob[1024];
	char **names = NULL;
	size_t count = 0, alloc = 0, plen = strlen(prefix);
	av_buf dec = AV_BUF_INIT;
	int err, rc = 0;

	*out = NULL;
	*n = 0;
	snprintf(glob, sizeof(glob), "%s*", prefix);
	if ((err = git_reference_iterator_glob_new(&it, s->repo, glob)) < 0)
		return av_error_from_git(err, "cannot list refs");
	while ((err = git_reference_next_name(&name, it)) == 0) {
		s->stats.refs_read++;
		av_buf_clear(&dec);
		if ((rc = av_name_decode(&dec, name + plen)) ||
		    (rc = av_array_grow((void **)&names, &alloc, count + 1, sizeof(*names))))
			goto done;
		if (!(names[count] = av_buf_detach(&dec))) {
			rc = AV_ERROR;
			goto done;
		}
		count++;
	}
	if (err != GIT_ITEROVER)
		rc = av_error_from_git(err, "cannot list refs");
done:
	av_buf_dispose(&dec);
	git_reference_iterator_free(it);
	if (rc) {
		av_store_names_free(names, count);
		return rc;
	}
	if (count)	/* names is NULL when there are none: qsort(NULL) is UB */
		qsort(names, count, sizeof(*names), name_cmp);
	*out = names;
	*n = count;
	return 0;
}

void av_store_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int av_store_history(av_store *s, const char *refname, av_history_cb cb, void *payload)
{
	git_reflog *log = NULL;
	int err, rc = 0;

	if ((err = git_reflog_read(&log, s->repo, refname)) < 0)
		return av_error_from_git(err, "cannot read history");
	for (size_t i = 0; i < git_reflog_entrycount(log) && !rc; i++) {
		const git_reflog_entry *e = git_reflog_entry_byindex(log, i);
		const git_signature *who = git_reflog_entry_committer(e);
		av_history_entry h;

		git_oid_cpy(&h.old_oid, git_reflog_entry_id_old(e));
		git_oid_cpy(&h.new_oid, git_reflog_entry_id_new(e));
		h.when = who ? (long long)who->when.time : 0;
		h.message = git_reflog_entry_message(e) ? git_reflog_entry_message(e) : "";
		rc = cb(&h, payload);
	}
	git_reflog_free(log);
	return rc;
}

static int name_char_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-';
}

int av_name_encode(av_buf *out, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p && !rc; p++) {
		if (name_char_plain(*p)) {
			rc = av_buf_putc(out, (char)*p);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			rc = av_buf_put(out, e, 3);
		}
	}
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int av_name_decode(av_buf *out, const char *enc)
{
	int rc = 0;

	for (const char *p = enc; *p && !rc; p++) {
		if (*p != '%') {
			rc = av_buf_putc(out, *p);
			continue;
		}
		if (hexval(p[1]) < 0 || hexval(p[2]) < 0)
			return av_error_set(AV_EINVALID, "bad encoded name '%s'", enc);
		rc = av_buf_putc(out, (char)(hexval(p[1]) * 16 + hexval(p[2])));
		p += 2;
	}
	return rc;
}

int av_name_check(const char *kind, const char *name)
{
	size_t len = strlen(name);

	if (!len)
		return av_error_set(AV_EINVALID, "%s name is empty", kind);
	if (len > 200)
		return av_error_set(AV_EINVALID, "%s name '%.40s...' is too long "
				    "(at most 200 bytes)", kind, name);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return av_error_set(AV_EINVALID, "'%s' is not a valid %s name", name, kind);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/')
			return av_error_set(AV_EINVALID, "%s name '%s' contains '%s'; "
					    "use letters, digits and . _ + -", kind, name,
					    *p == '/' ? "/" : "a control character");
	return 0;
}
