/*
 * publish.c - published distributions (see publish.h, DESIGN.md §4).
 *
 * The work of one publish, in order:
 *   gather     read every component's list (keys and blob ids only)
 *   chunk      per index group, sort the entries and cut them into
 *              chunks; a chunk's key hashes its entries and options
 *   build      chunks the previous generation does not have are rendered
 *              (blobs read once, on this thread) and compressed (worker
 *              threads), then stored as one tree each
 *   assemble   each index file is its chunks' texts or pieces joined; a
 *              file whose chunk list did not change is linked from the
 *              live generation, not rebuilt
 *   pool       check, then link, the package files of new chunks
 *   release    Release, InRelease, Release.gpg, by-hash/
 *   switch     sync, exchange the directories, move the ref
 */
#include <stdio.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "aptvault/publish.h"
#include "aptvault/compress.h"
#include "aptvault/digest.h"
#include "aptvault/failpoint.h"
#include "aptvault/file.h"
#include "aptvault/lock.h"
#include "aptvault/package.h"
#include "aptvault/plist.h"
#include "aptvault/pool.h"
#include "aptvault/txn.h"
#include "aptvault/version.h"
#include "internal.h"

static const char KIND[] = "published";
static const char CHUNK_VERSION[] = "aptvault-chunk-3";

#define NCOMP 5			/* av_comp values */
#define CHUNK_MAX 1024		/* entries, at a name boundary */
/*
 * A chunk ends after a name whose hash has these bits clear: one name in
 * 16 (about 50 stanzas, 37 KB of text at 10,000 packages of the bench
 * corpus).  Smaller chunks make a republish re-render and recompress
 * less (xz costs ~26 ms per 100 KB; and the chunk a change falls in is
 * on average twice the mean, as large chunks are likelier to be hit)
 * but make more objects per publish and cost gzip about 2% of ratio.
 */
#define CHUNK_MASK 15u

enum { G_BIN, G_SRC };

/* ---- names ---- */

static int check_path(const char *what, const char *s, int allow_dot)
{
	const char *p = s, *seg;

	if (!*s)
		return av_error_set(AV_EINVALID, "%s is empty", what);
	if (allow_dot && !strcmp(s, "."))
		return 0;
	if (strlen(s) > 200)
		return av_error_set(AV_EINVALID, "%s '%.40s...' is too long", what, s);
	for (seg = p;; p++) {
		if (*p == '/' || !*p) {
			size_t len = (size_t)(p - seg);
			if (!len || (len == 1 && seg[0] == '.') ||
			    (len == 2 && seg[0] == '.' && seg[1] == '.'))
				return av_error_set(AV_EINVALID, "%s '%s' has an empty, '.' or "
						    "'..' part", what, s);
			if (!*p)
				return 0;
			seg = p + 1;
		} else if ((unsigned char)*p < 0x21 || *p == 0x7f || *p == ':') {
			return av_error_set(AV_EINVALID, "%s '%s' contains '%c'; use "
					    "letters, digits, . _ + - and /", what, s,
					    *p == ':' ? ':' : '?');
		}
	}
}

static const char *norm_prefix(const char *prefix)
{
	return prefix && *prefix ? prefix : ".";
}

/* The published resource name: "PREFIX DIST" (neither holds a space). */
static int pub_name(av_buf *out, const char *prefix, const char *dist)
{
	int rc;

	if (strchr(prefix, ':'))
		return av_error_set(AV_EINVALID, "prefix '%s' names a storage endpoint; only "
				    "the default storage ($ROOT/public) is supported", prefix);
	if ((rc = check_path("prefix", prefix, 1)) ||
	    (rc = check_path("distribution", dist, 0)))
		return rc;
	return av_buf_printf(out, "%s %s", prefix, dist);
}

static int not_published(const char *prefix, const char *dist)
{
	return av_error_set(AV_ENOTFOUND, "distribution '%s' is not published at prefix "
			    "'%s'; see 'aptvault publish list'", dist, prefix);
}

/* $ROOT/public[/PREFIX] */
static int pub_root(av_buf *out, av_ctx *c, const char *prefix)
{
	if (!strcmp(prefix, "."))
		return av_buf_printf(out, "%s/public", av_store_root(c->store));
	return av_buf_printf(out, "%s/public/%s", av_store_root(c->store), prefix);
}

/* ---- entries and chunks ---- */

typedef struct entry {
	char *split;		/* name\0version\0arch\0, in its comp's text */
	const char *name, *version, *arch;
	uint64_t pre;		/* the name's first 8 bytes, big-endian: sorts fast */
	git_oid blob;
} entry;

typedef struct comp {
	char *name, *kind, *source;
	git_oid state, list;
	entry *e;
	size_t n, alloc;
	/* The entries' strings, side by side in blocks (10,000 allocations
	 * of their own were spread over the heap: sorting them missed the
	 * cache on every version it read). */
	char **text;
	size_t ntext, textalloc, textused, textcap;
	int has_udeb;		/* known after build */
	entry **order;		/* e by name, version, arch (once, for all groups) */
} comp;

typedef struct chunk {
	char key[65];
	int kind;		/* G_BIN, G_SRC */
	comp *cp;
	entry **e;		/* borrowed from the group */
	size_t n;
	git_oid tree;		/* stored tree (after build) */
	int cached;		/* found in the previous generation */
	int foreign;		/* found in another distribution's state */
	int built;
	struct chunk *same;	/* an identical chunk earlier in this run */
	/* Built data: texts 0 deb/src, 1 udeb; contents 0, 1. */
	av_buf text[2], contents[2], contents_gz[2], files;
	av_buf piece[2][NCOMP];
	/* Read by the store's thread for the workers: each entry's package
	 * blob and (with Contents) its file list. */
	av_buf *raw, *rawc;
} chunk;

typedef struct group {
	comp *cp;
	int kind;
	char *arch;		/* NULL for sources */
	entry **e;
	size_t n;
	chunk **ch;
	size_t nch;
} group;

typedef struct pfile {
	char sha[65];
	char *key;		/* the package's name_version_arch */
	char *rel;		/* pool/... */
} pfile;

typedef struct pfiles {
	pfile *v;
	size_t n, alloc;
} pfiles;

typedef struct pubctx {
	av_ctx *c;
	const av_publish_opts *o;
	const char *prefix, *dist;
	av_buf pubname;
	av_state *old;		/* the live state; NULL on a first publish */
	cJSON *meta;		/* the new meta.json (owned until the state) */
	comp *cps;
	size_t ncp;
	char **archs;
	size_t narch;
	int with_sources, contents, by_hash;
	unsigned compress;
	group *g;
	size_t ng, galloc;
	chunk **all;		/* every distinct chunk of this publish */
	size_t nall, allalloc;
	chunk **bykey;		/* the first chunk of each key (open addressing) */
	size_t bykey_cap, bykey_n;
	git_tree *old_chunks;	/* aux/chunks of the live state */
	git_tree **other_chunks;	/* aux/chunks of the other distributions */
	size_t nother;
	av_buf root, live, stage;	/* $ROOT/public/PREFIX, dists/DIST, staging */
	cJSON *files;		/* path -> {key, size, hashes} */
	av_buf release;
	av_publish_result *res;
	long long now;
	pfiles linked;		/* pool links this run made */
	av_buf intent;		/* the pending list naming them until the ref moves */
	struct {		/* the pool, linked on its own thread */
		pfiles want;	/* files of the chunks new to this generation */
		pthread_t th;
		int started, rc, code;
		pfiles clash;	/* a file there with other content */
		char err[1024];
	} pool;
	int live_ok;		/* the live generation is the one old describes */
	struct wjob **jobs;	/* index files being hashed and written */
	size_t njobs, jalloc, jdone;
} pubctx;

static void raw_free(chunk *k)
{
	for (size_t i = 0; k->raw && i < k->n; i++) {
		av_buf_dispose(&k->raw[i]);
		av_buf_dispose(&k->rawc[i]);
	}
	free(k->raw);
	free(k->rawc);
	k->raw = k->rawc = NULL;
}

static void chunk_free(chunk *k)
{
	if (!k)
		return;
	for (int i = 0; i < 2; i++) {
		av_buf_dispose(&k->text[i]);
		av_buf_dispose(&k->contents[i]);
		av_buf_dispose(&k->contents_gz[i]);
		for (int j = 0; j < NCOMP; j++)
			av_buf_dispose(&k->piece[i][j]);
	}
	av_buf_dispose(&k->files);
	raw_free(k);
	free(k);
}

static void pfiles_dispose(pfiles *f);

static int jobs_finish(pubctx *p);
static int pool_finish(pubctx *p);

static void pubctx_dispose(pubctx *p)
{
	jobs_finish(p);
	pool_finish(p);
	pfiles_dispose(&p->pool.want);
	pfiles_dispose(&p->pool.clash);
	free(p->jobs);
	av_buf_dispose(&p->intent);
	pfiles_dispose(&p->linked);
	for (size_t i = 0; i < p->ncp; i++) {
		for (size_t j = 0; j < p->cps[i].ntext; j++)
			free(p->cps[i].text[j]);
		free(p->cps[i].text);
		free(p->cps[i].e);
		free(p->cps[i].order);
		free(p->cps[i].name);
		free(p->cps[i].kind);
		free(p->cps[i].source);
	}
	free(p->cps);
	for (size_t i = 0; i < p->narch; i++)
		free(p->archs[i]);
	free(p->archs);
	for (size_t i = 0; i < p->ng; i++) {
		free(p->g[i].e);
		free(p->g[i].ch);
		free(p->g[i].arch);
	}
	free(p->g);
	for (size_t i = 0; i < p->nall; i++)
		chunk_free(p->all[i]);
	free(p->all);
	free(p->bykey);
	git_tree_free(p->old_chunks);
	for (size_t i = 0; i < p->nother; i++)
		git_tree_free(p->other_chunks[i]);
	free(p->other_chunks);
	av_state_free(p->old);
	cJSON_Delete(p->meta);
	cJSON_Delete(p->files);
	av_buf_dispose(&p->pubname);
	av_buf_dispose(&p->root);
	av_buf_dispose(&p->live);
	av_buf_dispose(&p->stage);
	av_buf_dispose(&p->release);
}

/* len bytes of cp's text. */
static char *comp_text(comp *cp, size_t len)
{
	enum { BLOCK = 64 << 10 };
	char *t;

	if (cp->textused + len > cp->textcap) {
		size_t cap = len > BLOCK ? len : BLOCK;
		if (av_array_grow((void **)&cp->text, &cp->textalloc, cp->ntext + 1,
				  sizeof(*cp->text)) ||
		    !(t = av_malloc(cap)))
			return NULL;
		cp->text[cp->ntext++] = t;
		cp->textused = 0;
		cp->textcap = cap;
	}
	t = cp->text[cp->ntext - 1] + cp->textused;
	cp->textused += len;
	return t;
}

static int gather_one(const char *key, const git_oid *blob, void *payload)
{
	comp *cp = payload;
	entry *e;
	size_t len = strlen(key);
	int rc;

	if ((rc = av_array_grow((void **)&cp->e, &cp->alloc, cp->n + 1, sizeof(*cp->e))))
		return rc;
	e = &cp->e[cp->n];
	if (!(e->split = comp_text(cp, len + 1)))
		return AV_ERROR;
	if ((rc = av_pkg_key_split(key, e->split, &e->name, &e->version, &e->arch)))
		return av_error_set(AV_EINVALID, "malformed package key '%s'", key);
	e->pre = 0;
	for (size_t i = 0; i < 8 && e->name[i]; i++)
		e->pre |= (uint64_t)(unsigned char)e->name[i] << (56 - 8 * i);
	git_oid_cpy(&e->blob, blob);
	cp->n++;
	return 0;
}

/* By name: by their first bytes as one number (strcmp's order: a name
 * shorter than 8 is padded with the NUL it ends with), so most
 * comparisons of 10,000 names read no string. */
static int name_cmp(const void *a, const void *b)
{
	const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
	int r = x->pre < y->pre ? -1 : x->pre > y->pre;

	if (!r && (x->pre & 0xff))
		r = strcmp(x->name + 8, y->name + 8);
	return r;
}

/* By name, version, arch. */
static int entry_cmp(const void *a, const void *b)
{
	const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
	int r = name_cmp(a, b);

	if (!r)
		r = av_version_compare(x->version, y->version);
	if (!r)
		r = strcmp(x->arch, y->arch);
	return r;
}

static int has_str(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

static int add_group(pubctx *p, comp *cp, int kind, const char *arch)
{
	group *g;
	int rc;

	if ((rc = av_array_grow((void **)&p->g, &p->galloc, p->ng + 1, sizeof(*p->g))))
		return rc;
	g = &p->g[p->ng];
	memset(g, 0, sizeof(*g));
	g->cp = cp;
	g->kind = kind;
	if (arch && !(g->arch = av_strdup(arch)))
		return AV_ERROR;
	if (cp->n && !(g->e = av_calloc(cp->n, sizeof(*g->e))))
		return AV_ERROR;
	/* Sorted once for all its groups: each takes its entries in order. */
	if (cp->n && !cp->order) {
		if (!(cp->order = av_calloc(cp->n, sizeof(*cp->order))))
			return AV_ERROR;
		for (size_t i = 0; i < cp->n; i++)
			cp->order[i] = &cp->e[i];
		/* By name, then each name's few entries by version and arch:
		 * a third of the version comparisons of one sort by all. */
		qsort(cp->order, cp->n, sizeof(*cp->order), name_cmp);
		for (size_t i = 0, j; i < cp->n; i = j) {
			for (j = i + 1; j < cp->n && !name_cmp(&cp->order[i], &cp->order[j]); j++)
				;
			/* (a handful each: inserted in place) */
			for (size_t a = i + 1; a < j; a++)
				for (size_t b = a; b > i && entry_cmp(&cp->order[b - 1],
								      &cp->order[b]) > 0; b--) {
					entry *x = cp->order[b];
					cp->order[b] = cp->order[b - 1];
					cp->order[b - 1] = x;
				}
		}
	}
	for (size_t i = 0; i < cp->n; i++) {
		const char *a = cp->order[i]->arch;
		int in = kind == G_SRC ? !strcmp(a, "source")
				       : (!strcmp(a, arch) || !strcmp(a, "all"));
		if (in)
			g->e[g->n++] = cp->order[i];
	}
	p->ng++;
	return 0;
}

static size_t key_slot(const chunk *const *t, size_t cap, const char *key)
{
	uint64_t h;
	size_t i;

	memcpy(&h, key, sizeof(h));	/* hex of a SHA-256: spread enough */
	for (i = (size_t)((h * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1); t[i];
	     i = (i + 1) & (cap - 1))
		if (!strcmp(t[i]->key, key))
			break;
	return i;
}

/* The chunk of this run already keyed like k, or NULL (k is the first). */
static int key_first(pubctx *p, chunk *k, chunk **first)
{
	size_t i;

	if ((p->bykey_n + 1) * 2 > p->bykey_cap) {
		size_t cap = p->bykey_cap ? p->bykey_cap * 2 : 1024;
		chunk **t = av_calloc(cap, sizeof(*t));
		if (!t)
			return AV_ERROR;
		for (size_t j = 0; j < p->bykey_cap; j++)
			if (p->bykey[j])
				t[key_slot((const chunk *const *)t, cap, p->bykey[j]->key)] =
					p->bykey[j];
		free(p->bykey);
		p->bykey = t;
		p->bykey_cap = cap;
	}
	i = key_slot((const chunk *const *)p->bykey, p->bykey_cap, k->key);
	*first = p->bykey[i];
	if (!p->bykey[i]) {
		p->bykey[i] = k;
		p->bykey_n++;
	}
	return 0;
}

/* Cut group g into chunks and key each.  A key is the SHA-256 of its
 * chunk's entries and options, hashed in one call (the four-digest
 * hasher per chunk cost more than the sorting). */
static int chunk_group(pubctx *p, group *g)
{
	av_buf in = AV_BUF_INIT;
	size_t start = 0, alloc = 0;
	int rc = 0;

	for (size_t i = 0; i < g->n && !rc; i++) {
		int last = i + 1 == g->n;
		int boundary = last || (strcmp(g->e[i]->name, g->e[i + 1]->name) &&
					((av_plist_name_hash(g->e[i]->name, strlen(g->e[i]->name)) &
					  CHUNK_MASK) == 0 ||
					 i + 1 - start >= CHUNK_MAX));
		chunk *k;

		if (!boundary)
			continue;
		if ((rc = av_array_grow((void **)&g->ch, &alloc, g->nch + 1, sizeof(*g->ch))))
			break;
		if (!(k = av_calloc(1, sizeof(*k)))) {
			rc = AV_ERROR;
			break;
		}
		k->kind = g->kind;
		k->cp = g->cp;
		k->e = g->e + start;
		k->n = i + 1 - start;
		av_buf_clear(&in);
		rc = av_buf_printf(&in, "%s%c%d%c%s%c%u%c%d%c", CHUNK_VERSION, 0, g->kind, 0,
				   g->cp->name, 0, p->compress, 0, p->contents, 0);
		for (size_t j = 0; j < k->n && !rc; j++) {
			const entry *e = k->e[j];
			if (!(rc = av_buf_put(&in, e->name, strlen(e->name) + 1)) &&
			    !(rc = av_buf_put(&in, e->version, strlen(e->version) + 1)) &&
			    !(rc = av_buf_put(&in, e->arch, strlen(e->arch) + 1)))
				rc = av_buf_put(&in, e->blob.id, GIT_OID_RAWSZ);
		}
		if (rc) {
			free(k);
			break;
		}
		av_sha256_hex(k->key, in.ptr, in.len);
		/* One chunk object per key in this run. */
		if ((rc = av_array_grow((void **)&p->all, &p->allalloc, p->nall + 1,
					sizeof(*p->all))) ||
		    (rc = key_first(p, k, &k->same))) {
			free(k);
			break;
		}
		p->all[p->nall++] = k;
		g->ch[g->nch++] = k;
		start = i + 1;
	}
	av_buf_dispose(&in);
	return rc;
}

/* ---- rendering a chunk (this thread: it reads the store) ---- */

static int pool_dir(av_buf *out, const char *comp_name, const char *source)
{
	size_t x = strncmp(source, "lib", 3) || strlen(source) < 4 ? 1 : 4;

	return av_buf_printf(out, "pool/%s/%.*s/%s", comp_name, (int)x, source, source);
}

/* A chunk's "files" line: "SHA256 KEY PATH" (neither key nor path holds
 * a space). */
static int file_line(av_buf *files, const char *sha256, const char *key, const char *path)
{
	return av_buf_printf(files, "%s %s %s\n", sha256, key, path);
}

/* The stanza as an index carries it: our fields out, where it lives in,
 * canonical order, a blank line after. */
static int emit_stanza(const av_pkg *pkg, const char *field, const char *value,
		       av_stanza_kind kind, av_buf *text)
{
	int rc;

	if (((rc = av_stanza_del(pkg->stanza, "Aptvault-Type")) < 0 && rc != AV_ENOTFOUND) ||
	    ((rc = av_stanza_del(pkg->stanza, "Aptvault-Contents")) < 0 && rc != AV_ENOTFOUND))
		return rc;
	if ((rc = av_stanza_set(pkg->stanza, field, value)) ||
	    (rc = av_stanza_sort_canonical(pkg->stanza, kind)) ||
	    (rc = av_stanza_write(text, pkg->stanza)))
		return rc;
	return av_buf_putc(text, '\n');
}

static int render_binary(chunk *k, const av_pkg *pkg, const av_buf *list, av_buf *text)
{
	av_buf src = AV_BUF_INIT, ver = AV_BUF_INIT, path = AV_BUF_INIT, key = AV_BUF_INIT;
	av_buf tail = AV_BUF_INIT;
	const char *sha = av_stanza_get(pkg->stanza, "SHA256");
	const char *cont = av_stanza_get(pkg->stanza, "Aptvault-Contents");
	const char *bare = strchr(pkg->version, ':');
	int u = pkg->type == AV_PKG_UDEB;
	int rc;

	if (!sha)
		return av_error_set(AV_EINVALID, "package %s_%s_%s has no SHA256",
				    pkg->name, pkg->version, pkg->arch);
	bare = bare ? bare + 1 : pkg->version;
	if ((rc = av_pkg_source(pkg, &src, &ver)) ||
	    (rc = pool_dir(&path, k->cp->name, src.ptr)) ||
	    (rc = av_buf_printf(&path, "/%s_%s_%s.%s", pkg->name, bare, pkg->arch,
				u ? "udeb" : "deb")) ||
	    (rc = av_pkg_key(&key, pkg)) ||
	    (rc = file_line(&k->files, sha, key.ptr, path.ptr)))
		goto done;
	if (cont && list->len) {
		/* Contents lines: "path section/name", sorted later (put in
		 * pieces: a package has many files, printf was a cost). */
		const char *sec = av_stanza_get(pkg->stanza, "Section");
		const char *d = list->ptr, *end = d + list->len;
		av_buf *out = &k->contents[u];
		if ((rc = av_buf_printf(&tail, " %s/%s\n", sec ? sec : "misc", pkg->name)))
			goto done;
		while (d < end && !rc) {
			const char *nl = memchr(d, '\n', (size_t)(end - d));
			size_t len = nl ? (size_t)(nl - d) : (size_t)(end - d);
			if (len && !(rc = av_buf_put(out, d, len)))
				rc = av_buf_put(out, tail.ptr, tail.len);
			d += len + 1;
		}
		if (rc)
			goto done;
	}
	rc = emit_stanza(pkg, "Filename", path.ptr, AV_STANZA_BINARY, text);
done:
	av_buf_dispose(&key);
	av_buf_dispose(&src);
	av_buf_dispose(&ver);
	av_buf_dispose(&path);
	av_buf_dispose(&tail);
	return rc;
}

static int render_source(chunk *k, const av_pkg *pkg, av_buf *text)
{
	av_buf dir = AV_BUF_INIT, path = AV_BUF_INIT, key = AV_BUF_INIT;
	const char *sums = av_stanza_get(pkg->stanza, "Checksums-Sha256");
	int rc;

	if (!sums)
		return av_error_set(AV_EINVALID, "source package %s_%s has no "
				    "Checksums-Sha256", pkg->name, pkg->version);
	if ((rc = pool_dir(&dir, k->cp->name, pkg->name)) || (rc = av_pkg_key(&key, pkg)))
		goto done;
	/* " sha256 size name" per line. */
	for (const char *l = sums; *l && !rc;) {
		char sha[65], name[256];
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		char line[512];
		unsigned long long size;
		if (len && len < sizeof(line)) {
			memcpy(line, l, len);
			line[len] = 0;
			if (sscanf(line, " %64s %llu %255s", sha, &size, name) == 3) {
				av_buf_clear(&path);
				if (!(rc = av_buf_printf(&path, "%s/%s", dir.ptr, name)))
					rc = file_line(&k->files, sha, key.ptr, path.ptr);
			}
		}
		l += len + (nl ? 1 : 0);
	}
	if (rc)
		goto done;
	rc = emit_stanza(pkg, "Directory", dir.ptr, AV_STANZA_SOURCE, text);
done:
	av_buf_dispose(&key);
	av_buf_dispose(&dir);
	av_buf_dispose(&path);
	return rc;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the lines of buf (each ending in '\n') in place. */
static int sort_lines(av_buf *buf)
{
	char **lines = NULL, *copy = NULL;
	size_t n = 0, alloc = 0, w = 0;
	int rc = 0;

	if (!buf->len)
		return 0;
	if (!(copy = av_malloc(buf->len + 1)))
		return AV_ERROR;
	memcpy(copy, buf->ptr, buf->len);
	copy[buf->len] = 0;
	for (char *l = copy; *l;) {
		char *nl = strchr(l, '\n');
		if ((rc = av_array_grow((void **)&lines, &alloc, n + 1, sizeof(*lines))))
			goto done;
		lines[n++] = l;
		if (!nl)
			break;
		*nl = 0;
		l = nl + 1;
	}
	qsort(lines, n, sizeof(*lines), line_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(lines[i]);
		memcpy(buf->ptr + w, lines[i], len);
		buf->ptr[w + len] = '\n';
		w += len + 1;
	}
done:
	free(lines);
	free(copy);
	return rc;
}

/* Sorted "path qual" lines to "path qual,qual..." (split at the last
 * space: a path may hold spaces, a qualified name does not). */
static int group_paths(av_buf *lines)
{
	av_buf text = AV_BUF_INIT;
	const char *l = lines->ptr, *end = lines->ptr + lines->len;
	const char *prev = NULL;
	size_t prevlen = 0, prevline = 0;
	int rc = 0;

	if (!lines->len)
		return 0;
	while (l < end && !rc) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *sp;
		size_t len = (size_t)(nl - l), plen;
		for (sp = nl; sp > l && *sp != ' '; sp--)
			;
		plen = (size_t)(sp - l);
		if (prev && prevline == len && !memcmp(prev, l, len))
			;	/* the same package again (another version) */
		else if (prev && plen == prevlen && !memcmp(prev, l, plen))
			rc = av_buf_printf(&text, ",%.*s", (int)(len - plen - 1), sp + 1);
		else
			rc = av_buf_printf(&text, "%s%.*s", prev ? "\n" : "", (int)len, l);
		prev = l;
		prevlen = plen;
		prevline = len;
		l = nl + 1;
	}
	if (!rc)
		rc = av_buf_putc(&text, '\n');
	if (!rc) {
		av_buf_dispose(lines);
		*lines = text;
	} else {
		av_buf_dispose(&text);
	}
	return rc;
}

/* Parse and render a chunk from its raw blobs (a worker: no store). */
static int render_chunk(chunk *k)
{
	int rc = 0;

	for (size_t i = 0; i < k->n && !rc; i++) {
		av_pkg *pkg = NULL;
		if ((rc = av_pkg_parse(&pkg, k->raw[i].ptr ? k->raw[i].ptr : "", k->raw[i].len)))
			break;
		if (k->kind == G_SRC)
			rc = render_source(k, pkg, &k->text[0]);
		else
			rc = render_binary(k, pkg, &k->rawc[i], &k->text[pkg->type == AV_PKG_UDEB]);
		av_pkg_free(pkg);
	}
	raw_free(k);
	for (int t = 0; t < 2 && !rc; t++)
		if (!(rc = sort_lines(&k->contents[t])))
			rc = group_paths(&k->contents[t]);
	/* Kept until the files are made: no slack (a third of the text). */
	for (int t = 0; t < 2; t++) {
		av_buf_shrink(&k->text[t]);
		av_buf_shrink(&k->contents[t]);
	}
	av_buf_shrink(&k->files);
	return rc;
}

/* Read a chunk's blobs for render_chunk (with the worker's own reader). */
static int read_chunk(av_store_reader *s, chunk *k, int contents)
{
	static const char tag[] = "\nAptvault-Contents: ";
	int rc = 0;

	if (!(k->raw = av_calloc(k->n + 1, sizeof(*k->raw))) ||
	    !(k->rawc = av_calloc(k->n + 1, sizeof(*k->rawc))))
		return AV_ERROR;
	for (size_t i = 0; i < k->n && !rc; i++) {
		const char *at;
		git_oid oid;
		if ((rc = av_store_reader_blob(s, &k->raw[i], &k->e[i]->blob)))
			break;
		/* The file list's id, found without parsing the stanza. */
		if (!contents || !k->raw[i].len ||
		    !(at = memmem(k->raw[i].ptr, k->raw[i].len, tag, sizeof(tag) - 1)))
			continue;
		at += sizeof(tag) - 1;
		if ((size_t)(k->raw[i].ptr + k->raw[i].len - at) < GIT_OID_HEXSZ ||
		    git_oid_fromstrn(&oid, at, GIT_OID_HEXSZ) < 0)
			return av_error_set(AV_EINVALID, "package %s has a malformed "
					    "Aptvault-Contents", k->e[i]->name);
		rc = av_store_reader_blob(s, &k->rawc[i], &oid);
	}
	return rc;
}

/* ---- compressing chunks (worker threads: no store access) ---- */

/*
 * Making the chunks this run needs: each worker (the calling thread is
 * one) takes the next chunk, reads its blobs with its own store reader,
 * renders and compresses it.  The store's own handle is not used
 * meanwhile.
 */
typedef struct work {
	pubctx *p;
	chunk **todo;
	size_t n;
	size_t next;
	size_t done;
	unsigned long reads;
	pthread_mutex_t mu;
	int rc;
	char err[512];
} work;

static int compress_chunk(const pubctx *p, chunk *k)
{
	int rc;

	for (int t = 0; t < 2; t++)
		if (k->contents[t].len) {
			if ((rc = av_comp_piece(AV_COMP_GZ, &k->contents_gz[t], k->contents[t].ptr,
						k->contents[t].len)))
				return rc;
			/* Only the gzip part is kept. */
			av_buf_shrink(&k->contents_gz[t]);
			av_buf_dispose(&k->contents[t]);
		}
	for (int t = 0; t < 2; t++)
		for (int c = 1; c < NCOMP; c++) {
			if (!(p->compress & (1u << c)) || c == AV_COMP_BZ2 ||
			    !k->text[t].len)
				continue;
			if ((rc = av_comp_piece((av_comp)c, &k->piece[t][c], k->text[t].ptr,
						k->text[t].len)))
				return rc;
			/* Pieces are grown to the compressor's bound (the
			 * text's size); they are kept a fifth of that. */
			av_buf_shrink(&k->piece[t][c]);
		}
	return 0;
}

static void work_fail(work *w, int rc)
{
	pthread_mutex_lock(&w->mu);
	if (!w->rc) {
		w->rc = rc;
		snprintf(w->err, sizeof(w->err), "%s", av_error_last());
	}
	pthread_mutex_unlock(&w->mu);
}

static void work_loop(work *w, int report)
{
	av_store_reader *r = NULL;
	int rc;

	if ((rc = av_store_reader_open(w->p->c->store, &r))) {
		work_fail(w, rc);
		return;
	}
	for (;;) {
		size_t i, done;
		pthread_mutex_lock(&w->mu);
		i = w->rc ? w->n : w->next++;
		done = w->done;
		pthread_mutex_unlock(&w->mu);
		if (i >= w->n)
			break;
		if (report && w->p->o->progress)
			w->p->o->progress(w->p->o->progress_payload, done, w->n);
		if ((rc = read_chunk(r, w->todo[i], w->p->contents)) ||
		    (rc = render_chunk(w->todo[i])) || (rc = compress_chunk(w->p, w->todo[i]))) {
			work_fail(w, rc);
			break;
		}
		pthread_mutex_lock(&w->mu);
		w->done++;
		pthread_mutex_unlock(&w->mu);
	}
	pthread_mutex_lock(&w->mu);
	w->reads += av_store_reader_reads(r);
	pthread_mutex_unlock(&w->mu);
	av_store_reader_free(r);
}

static void *worker(void *arg)
{
	work_loop(arg, 0);
	return NULL;
}

static int make_all(pubctx *p, chunk **todo, size_t n)
{
	work w = { p, todo, n, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER, 0, "" };
	pthread_t th[8];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nth = ncpu < 1 ? 1 : (size_t)ncpu, started = 0;

	if (!n)
		return 0;
	if (nth > AV_ARRAY_SIZE(th))
		nth = AV_ARRAY_SIZE(th);
	for (size_t i = 1; i < nth && i < n; i++)
		if (!pthread_create(&th[started], NULL, worker, &w))
			started++;
	work_loop(&w, 1);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&w.mu);
	/* The readers' reads count as the store's (I10 counters). */
	((av_store_stats *)av_store_stats_get(p->c->store))->objects_read += w.reads;
	if (w.rc)
		return av_error_set(w.rc, "%s", w.err);
	return 0;
}

/* ---- the chunk store: aux/chunks/KEY is a tree of named blobs ---- */

static const char *piece_name(char out[16], int t, int c)
{
	snprintf(out, 16, "p%d%s", t, av_comp_ext((av_comp)c));
	return out;
}

static int tb_blob(av_store *s, git_treebuilder *tb, const char *name, const av_buf *b)
{
	git_oid oid;
	int rc, err;

	if ((rc = av_store_blob_write(s, &oid, b->ptr ? b->ptr : "", b->len)))
		return rc;
	if ((err = git_treebuilder_insert(NULL, tb, name, &oid, GIT_FILEMODE_BLOB)) < 0)
		return av_error_from_git(err, "cannot build index chunk");
	return 0;
}

static int store_chunk(av_store *s, chunk *k)
{
	git_treebuilder *tb = NULL;
	char name[16];
	int err, rc;

	if ((err = git_treebuilder_new(&tb, av_store_git(s), NULL)) < 0)
		return av_error_from_git(err, "cannot build index chunk");
	rc = tb_blob(s, tb, "files", &k->files);
	for (int t = 0; t < 2 && !rc; t++) {
		snprintf(name, sizeof(name), "t%d", t);
		if ((rc = tb_blob(s, tb, name, &k->text[t])))
			break;
		snprintf(name, sizeof(name), "c%d.gz", t);
		if (k->contents_gz[t].len && (rc = tb_blob(s, tb, name, &k->contents_gz[t])))
			break;
		/* An empty text is never joined (make_index), so its pieces
		 * are not kept. */
		for (int c = 1; c < NCOMP && !rc; c++)
			if (k->text[t].len && k->piece[t][c].len)
				rc = tb_blob(s, tb, piece_name(name, t, c), &k->piece[t][c]);
	}
	if (!rc)
		rc = av_store_tree_write(s, &k->tree, tb);
	git_treebuilder_free(tb);
	return rc;
}

/* A built chunk's data by blob name, still in memory; NULL if not. */
static const av_buf *chunk_mem(const chunk *k, const char *name)
{
	if (!k->built)
		return NULL;
	if (!strcmp(name, "files"))
		return &k->files;
	if (name[0] == 't' && (name[1] == '0' || name[1] == '1') && !name[2])
		return &k->text[name[1] - '0'];
	if (name[0] == 'c' && (name[1] == '0' || name[1] == '1') && !strcmp(name + 2, ".gz"))
		return k->contents_gz[name[1] - '0'].len ? &k->contents_gz[name[1] - '0'] : NULL;
	if (name[0] == 'p' && (name[1] == '0' || name[1] == '1'))
		for (int c = 1; c < NCOMP; c++)
			if (!strcmp(name + 2, av_comp_ext((av_comp)c)))
				return k->text[name[1] - '0'].len ? &k->piece[name[1] - '0'][c]
								  : NULL;
	return NULL;
}

/*
 * Blob NAME of chunk k appended to out: from memory when this run built
 * the chunk, else from its tree.  *found (if not NULL) says whether the
 * chunk has it; without found, a missing blob is an error.
 */
static int chunk_get(av_store *s, const chunk *k, const char *name, av_buf *out, int *found)
{
	git_tree *t = NULL;
	git_blob *b = NULL;
	const git_tree_entry *te;
	const chunk *src = k->same ? k->same : k;
	const av_buf *mem;
	int rc;

	if (found)
		*found = 1;
	if (src->built) {
		if ((mem = chunk_mem(src, name)))
			return av_buf_put(out, mem->ptr ? mem->ptr : "", mem->len);
		if (found) {
			*found = 0;
			return 0;
		}
	}
	if ((rc = av_store_tree_read(s, &t, &src->tree)))
		return rc;
	if (!(te = git_tree_entry_byname(t, name))) {
		if (found)
			*found = 0;
		else
			rc = av_error_set(AV_EINVALID, "index chunk %.12s has no '%s'", k->key,
					  name);
		goto done;
	}
	if ((rc = av_store_blob_read(s, &b, git_tree_entry_id(te))))
		goto done;
	rc = av_buf_put(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
done:
	git_blob_free(b);
	git_tree_free(t);
	return rc;
}

static int chunk_blob(av_store *s, const chunk *k, const char *name, av_buf *out)
{
	return chunk_get(s, k, name, out, NULL);
}

static int ref_of(av_store *s, const char *kind, const char *name, git_oid *out);

/* The chunk trees of every other published distribution (pinned by
 * their states, so reusing them is safe). */
static int other_chunks(pubctx *p)
{
	av_store *st = p->c->store;
	char **names = NULL;
	size_t n = 0;
	int rc;

	/* Only each state's commit and aux tree are read: parsing every
	 * meta.json (with its file layouts) on every publish is not needed. */
	if ((rc = av_store_ref_names(st, av_txn_ref_prefix(KIND), &names, &n)))
		return rc;
	if (n && !(p->other_chunks = av_calloc(n, sizeof(*p->other_chunks)))) {
		rc = AV_ERROR;
		goto done;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		git_commit *commit = NULL;
		git_tree *root = NULL, *aux = NULL;
		const git_tree_entry *te;
		git_oid oid;
		if (!strcmp(names[i], p->pubname.ptr) || (rc = ref_of(st, KIND, names[i], &oid)) ||
		    git_oid_is_zero(&oid))
			continue;
		if (!(rc = av_store_commit_read(st, &commit, &oid)) &&
		    !(rc = av_store_tree_read(st, &root, git_commit_tree_id(commit))) &&
		    (te = git_tree_entry_byname(root, "aux")) &&
		    !(rc = av_store_tree_read(st, &aux, git_tree_entry_id(te))) &&
		    (te = git_tree_entry_byname(aux, "chunks")) &&
		    !(rc = av_store_tree_read(st, &p->other_chunks[p->nother],
					      git_tree_entry_id(te))))
			p->nother++;
		git_tree_free(aux);
		git_tree_free(root);
		git_commit_free(commit);
	}
done:
	av_store_names_free(names, n);
	return rc;
}

/* Find cached chunks, build the rest. */
static int build_chunks(pubctx *p)
{
	av_store *s = p->c->store;
	chunk **todo = NULL;
	size_t ntodo = 0;
	int rc = 0;

	if (p->nall && !(todo = av_calloc(p->nall, sizeof(*todo))))
		return AV_ERROR;
	for (size_t i = 0; i < p->nall; i++) {
		chunk *k = p->all[i];
		const git_tree_entry *te;
		if (k->same)
			continue;
		if (p->old_chunks && (te = git_tree_entry_byname(p->old_chunks, k->key))) {
			git_oid_cpy(&k->tree, git_tree_entry_id(te));
			k->cached = 1;
			p->res->chunks_reused++;
			continue;
		}
		/* A chunk is a pure function of its key: another distribution
		 * that published the same entries made it already. */
		for (size_t j = 0; j < p->nother && !k->cached; j++)
			if ((te = git_tree_entry_byname(p->other_chunks[j], k->key))) {
				git_oid_cpy(&k->tree, git_tree_entry_id(te));
				k->cached = k->foreign = 1;
				p->res->chunks_reused++;
			}
		if (!k->cached)
			todo[ntodo++] = k;
	}
	if ((rc = make_all(p, todo, ntodo)))
		goto done;
	for (size_t i = 0; i < ntodo; i++) {
		if ((rc = store_chunk(s, todo[i])))
			goto done;
		todo[i]->built = 1;
		p->res->chunks_built++;
	}
	for (size_t i = 0; i < p->nall; i++)
		if (p->all[i]->same) {
			git_oid_cpy(&p->all[i]->tree, &p->all[i]->same->tree);
			p->all[i]->cached = p->all[i]->same->cached;
			p->all[i]->foreign = p->all[i]->same->foreign;
		}
done:
	free(todo);
	return rc;
}

/* ---- writing the generation ---- */

/* mkdir -p of the directory part of path (path is restored). */
static int mkdir_parent(char *path)
{
	char *slash = strrchr(path, '/');
	int rc;

	if (!slash)
		return 0;
	*slash = 0;
	rc = av_mkdir_p(path);
	*slash = '/';
	return rc;
}

/*
 * A file in the staged generation, written in pieces: bytes from memory,
 * and ranges of a live file copied in the kernel (copy_file_range: no
 * user-space copy, no buffer to fill) or, where it cannot, written from
 * the file's mapping.
 */
typedef struct sfile {
	int fd;
	av_buf path;
} sfile;

static int sfile_open(pubctx *p, sfile *f, const char *rel)
{
	int rc;

	f->fd = -1;
	memset(&f->path, 0, sizeof(f->path));
	if ((rc = av_buf_printf(&f->path, "%s/%s", p->stage.ptr, rel)) ||
	    (rc = mkdir_parent(f->path.ptr)))
		return rc;
	if (av_failpoint("publish-write"))
		return av_error_set(AV_EIO, "cannot write '%s': injected failure "
				    "(failpoint publish-write)", rel);
	if ((f->fd = open(f->path.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot create '%s'", f->path.ptr);
	return 0;
}

static int sfile_put(sfile *f, const void *data, size_t len)
{
	const char *d = data;

	while (len) {
		ssize_t w = write(f->fd, d, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return av_error_set_errno(AV_EIO, w < 0 ? errno : ENOSPC,
						  "cannot write '%s'", f->path.ptr);
		d += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Bytes [off, off + len) of the live file in (mapped at map) appended. */
static int sfile_copy(sfile *f, int in, const char *map, size_t off, size_t len)
{
	static _Thread_local int plain;	/* copy_file_range refused here */
	loff_t at = (loff_t)off;

	while (len && !plain) {
		ssize_t n = copy_file_range(in, &at, f->fd, NULL, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP ||
			      errno == EINVAL)) {
			plain = 1;
			break;
		}
		if (n < 0)
			return av_error_set_errno(AV_EIO, errno, "cannot write '%s'", f->path.ptr);
		if (n == 0)
			return av_error_set(AV_EIO, "cannot write '%s': its live copy is shorter "
					    "than recorded; publish again", f->path.ptr);
		len -= (size_t)n;
	}
	return len ? sfile_put(f, map + (size_t)at, len) : 0;
}

/* Close (st, if not NULL, gets the file's status first); counts it.
 * Its writeback starts now, so that most of it is on disk by the time
 * the generation's syncfs (which alone makes it durable, I6) waits. */
static int sfile_close(pubctx *p, sfile *f, struct stat *st, int rc)
{
	if (f->fd >= 0) {
		if (!rc)
			(void)sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		if (!rc && st && fstat(f->fd, st) < 0)
			rc = av_error_set_errno(AV_EIO, errno, "cannot stat '%s'", f->path.ptr);
		if (close(f->fd) < 0 && !rc)
			rc = av_error_set_errno(AV_EIO, errno, "cannot write '%s'", f->path.ptr);
		f->fd = -1;
	}
	if (!rc)
		__atomic_fetch_add(&p->res->files_written, 1, __ATOMIC_RELAXED);
	av_buf_dispose(&f->path);
	return rc;
}

/* Write data to stage/rel (creating directories). */
static int stage_write(pubctx *p, const char *rel, const void *data, size_t len)
{
	sfile f;
	int rc;

	if (!(rc = sfile_open(p, &f, rel)))
		rc = sfile_put(&f, data, len);
	return sfile_close(p, &f, NULL, rc);
}

/* Hard link from (an existing file) to stage/rel. */
static int stage_link(pubctx *p, const char *from, const char *rel)
{
	av_buf path = AV_BUF_INIT;
	int rc;

	if ((rc = av_buf_printf(&path, "%s/%s", p->stage.ptr, rel)))
		goto done;
	/* Directories only when the link says they are missing. */
	{
		int r = link(from, path.ptr);
		if (r < 0 && errno == ENOENT) {
			if ((rc = mkdir_parent(path.ptr)))
				goto done;
			r = link(from, path.ptr);
		}
		if (r < 0 && errno != EEXIST)
			rc = av_error_set_errno(AV_EIO, errno, "cannot link '%s' to '%s'", from,
						path.ptr);
	}
done:
	av_buf_dispose(&path);
	return rc;
}

static cJSON *digests_json(const av_digests *d, const char *key)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (key)
		cJSON_AddStringToObject(o, "key", key);
	cJSON_AddNumberToObject(o, "size", (double)d->size);
	cJSON_AddStringToObject(o, "md5", d->md5);
	cJSON_AddStringToObject(o, "sha1", d->sha1);
	cJSON_AddStringToObject(o, "sha256", d->sha256);
	cJSON_AddStringToObject(o, "sha512", d->sha512);
	return o;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Record rel in the new file list. */
static int note_file(pubctx *p, const char *rel, const av_digests *d, const char *key)
{
	cJSON *o = digests_json(d, key);

	if (!o)
		return av_error_set(AV_ERROR, "out of memory");
	cJSON_AddItemToObject(p->files, rel, o);
	return 0;
}

/*
 * What make() produces for an index file: its bytes, or (when the live
 * generation's copy begins with the same chunks and a digest state was
 * saved there) only the bytes after that prefix, which is copied from
 * the live file and not hashed again.
 */
typedef struct seg {
	int live;		/* a range of the live file, else of data */
	size_t at, len;
} seg;

/*
 * Where each chunk is in a file of a concatenated format: its key, offset
 * and length.  Recorded as one string, "KEY OFFSET LENGTH" lines (as
 * arrays of three, cJSON printed the numbers through sprintf and read
 * them back: most of a republish's time in meta.json).
 */
typedef struct lay {
	char key[65];
	size_t off, len;
} lay;

typedef struct made {
	av_buf data;		/* the bytes not in the live file */
	seg *seg;		/* the file after prefix; none: data is */
	size_t nseg, segalloc;
	size_t len;		/* of the file after prefix */
	int has_layout;		/* concatenated: the layout below is recorded */
	lay *lay;		/* per chunk, in order */
	size_t nlay, layalloc;
	size_t prefix;		/* bytes copied from the live file, not hashed */
	char *from;		/* owned: the live file's path */
	char *state;		/* owned: the digest state after prefix */
	cJSON *kept;		/* the live record's checkpoints up to prefix */
} made;

static int lay_add(made *m, const char *key, size_t off, size_t len)
{
	lay *l;
	int rc;

	if ((rc = av_array_grow((void **)&m->lay, &m->layalloc, m->nlay + 1, sizeof(*m->lay))))
		return rc;
	l = &m->lay[m->nlay++];
	snprintf(l->key, sizeof(l->key), "%s", key);
	l->off = off;
	l->len = len;
	return 0;
}

static int lay_text(av_buf *out, const lay *l, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++)
		rc = av_buf_printf(out, "%s %zu %zu\n", l[i].key, l[i].off, l[i].len);
	return rc;
}

/* The recorded text read back; -1 if it is not one. */
static ssize_t lay_parse(const char *s, lay **out)
{
	lay *v = NULL;
	size_t n = 0, alloc = 0;

	while (*s) {
		const char *sp = strchr(s, ' ');
		char *end;
		lay l;
		if (!sp || sp - s != 64 || sp[1] < '0' || sp[1] > '9' ||
		    av_array_grow((void **)&v, &alloc, n + 1, sizeof(*v)))
			goto bad;
		memcpy(l.key, s, 64);
		l.key[64] = 0;
		errno = 0;
		l.off = strtoull(sp + 1, &end, 10);
		if (errno || *end != ' ')
			goto bad;
		s = end + 1;
		if (*s < '0' || *s > '9')
			goto bad;
		l.len = strtoull(s, &end, 10);
		if (errno || *end != '\n')
			goto bad;
		s = end + 1;
		v[n++] = l;
	}
	*out = v;
	return (ssize_t)n;
bad:
	free(v);
	av_error_clear();
	return -1;
}

/* len more bytes, from the live file at `at` or from data at `at`. */
static int made_add(made *m, int live, size_t at, size_t len)
{
	seg *last = m->nseg ? &m->seg[m->nseg - 1] : NULL;
	int rc;

	m->len += len;
	if (last && last->live == live && last->at + last->len == at) {
		last->len += len;
		return 0;
	}
	if ((rc = av_array_grow((void **)&m->seg, &m->segalloc, m->nseg + 1, sizeof(*m->seg))))
		return rc;
	m->seg[m->nseg].live = live;
	m->seg[m->nseg].at = at;
	m->seg[m->nseg++].len = len;
	return 0;
}

static void made_dispose(made *m)
{
	free(m->seg);
	av_buf_dispose(&m->data);
	free(m->lay);
	cJSON_Delete(m->kept);
	free(m->from);
	free(m->state);
	memset(m, 0, sizeof(*m));
}

/*
 * An index file whose content is determined by key: linked from the
 * live generation when that one was made from the same key, else
 * produced by make().
 */
typedef int (*make_fn)(pubctx *p, void *arg, made *out);

/*
 * Checkpoints: the digest state saved at chunk ends, about every
 * CHECKPOINT_EVERY bytes (or a 64th of a larger file), kept in the
 * file's record as "resume": [[entries, offset, state]...].  A
 * republish resumes hashing from the last one before its first changed
 * chunk: on average half of a large Packages is neither read nor hashed.
 * Each costs about 1 KB of meta.json; at 512 KB a Packages.gz of 1.7 MB
 * (10,000 packages) was hashed whole for a change in its first fifth,
 * and the four digests cost 4.5 ms of CPU per MB.
 */
#define CHECKPOINT_EVERY ((size_t)256 << 10)

/*
 * Hashing and writing an index file runs on a thread while this one
 * makes the next file (reading the store, which only this thread does);
 * jobs_finish joins them and records the files in order.
 */
typedef struct wjob {
	pubctx *p;
	char *rel, *key;
	made m;
	size_t nmarks;
	size_t *marks;		/* offsets into m.data */
	size_t *mark_entries;	/* layout entries before each mark */
	av_buf *saved;		/* the state at each mark */
	av_digests d;
	struct stat st;		/* of the written file */
	pthread_t th;
	int started, joined, rc;
	char err[512];
} wjob;

/* Where this file's checkpoints go: chunk ends past the prefix that
 * cross a multiple of the interval. */
static int wjob_marks(wjob *j)
{
	size_t total = j->m.prefix + j->m.len, every = total / 64, n = j->m.nlay;

	if (every < CHECKPOINT_EVERY)
		every = CHECKPOINT_EVERY;
	if (!n)
		return 0;
	if (!(j->marks = av_calloc(n, sizeof(*j->marks))) ||
	    !(j->mark_entries = av_calloc(n, sizeof(*j->mark_entries))) ||
	    !(j->saved = av_calloc(n, sizeof(*j->saved))))
		return AV_ERROR;
	for (size_t i = 0; i < n; i++) {
		size_t off = j->m.lay[i].off, end = off + j->m.lay[i].len;
		if (end > j->m.prefix && end / every > off / every) {
			j->marks[j->nmarks] = end - j->m.prefix;
			j->mark_entries[j->nmarks++] = i + 1;
		}
	}
	return 0;
}

/* The file's bytes written: the prefix and the segments. */
typedef struct wcopy {
	wjob *j;
	sfile *f;
	int live;
	const char *map;
	const seg *v;
	const av_dspan *span;
	size_t nv;
	int rc;
	char err[512];
} wcopy;

static int wcopy_write(wcopy *w)
{
	const made *m = &w->j->m;
	int rc;

	if ((rc = sfile_open(w->j->p, w->f, w->j->rel)) ||
	    (m->prefix && (rc = sfile_copy(w->f, w->live, w->map, 0, m->prefix))))
		return rc;
	for (size_t i = 0; i < w->nv && !rc; i++)
		rc = w->v[i].live ? sfile_copy(w->f, w->live, w->map, w->v[i].at, w->v[i].len)
				  : sfile_put(w->f, w->span[i].ptr, w->span[i].len);
	/* Its writeback starts as soon as it is written (beside a long
	 * hashing: most of it is on disk before the generation's syncfs);
	 * sfile_close starts what is left. */
	if (!rc)
		(void)sync_file_range(w->f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return rc;
}

static void *wcopy_run(void *arg)
{
	wcopy *w = arg;

	if ((w->rc = wcopy_write(w)))
		snprintf(w->err, sizeof(w->err), "%s", av_error_last());
	return NULL;
}

/* Files from this size are written on a thread of their own while they
 * are hashed: the kernel's copy of a large Packages (page by page into
 * the page cache) took as long as a tenth of its hashing, after it. */
#define WRITE_BESIDE ((size_t)1 << 20)

/*
 * Hash and write the file: its segments, the live file's ones read
 * through a mapping (the page cache, no copy) and copied in the kernel.
 */
static int wjob_write(wjob *j)
{
	made *m = &j->m;
	seg whole = { 0, 0, m->data.len };
	const seg *v = m->nseg ? m->seg : &whole;
	size_t nv = m->nseg ? m->nseg : 1;
	av_dspan *span = NULL;
	char *map = NULL;
	size_t mapped = 0;
	int live = -1, rc, beside = 0;
	sfile f = { -1, AV_BUF_INIT };
	wcopy w = { 0 };
	pthread_t th;

	if (!m->nseg)
		m->len = m->data.len;
	if ((rc = wjob_marks(j)))
		return rc;
	if (m->from) {
		struct stat st;
		if ((live = open(m->from, O_RDONLY | O_CLOEXEC)) < 0 || fstat(live, &st) < 0) {
			rc = av_error_set_errno(AV_EIO, errno, "cannot open '%s'", m->from);
			goto done;
		}
		mapped = (size_t)st.st_size;
		if (mapped && (map = mmap(NULL, mapped, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
					  live, 0)) == MAP_FAILED) {
			map = NULL;
			rc = av_error_set_errno(AV_EIO, errno, "cannot map '%s'", m->from);
			goto done;
		}
	}
	if (!(span = av_calloc(nv, sizeof(*span)))) {
		rc = AV_ERROR;
		goto done;
	}
	for (size_t i = 0; i < nv; i++) {
		if (v[i].live && v[i].at + v[i].len > mapped) {
			rc = av_error_set(AV_EIO, "'%s' is shorter than recorded; publish again",
					  m->from);
			goto done;
		}
		span[i].ptr = v[i].live ? map + v[i].at : m->data.ptr ? m->data.ptr + v[i].at : "";
		span[i].len = v[i].len;
	}
	if (m->prefix > mapped) {
		rc = av_error_set(AV_EIO, "'%s' is shorter than recorded; publish again", m->from);
		goto done;
	}
	w = (wcopy){ j, &f, live, map, v, span, nv, 0, "" };
	if (m->prefix + m->len >= WRITE_BESIDE)
		beside = pthread_create(&th, NULL, wcopy_run, &w) == 0;
	rc = av_digests_resume_v(&j->d, m->state, span, nv, j->marks, j->nmarks, j->saved);
	if (beside) {
		pthread_join(th, NULL);
		if (!rc && w.rc)
			rc = av_error_set(w.rc, "%s", w.err);
	} else if (!rc) {
		rc = wcopy_write(&w);
	}
done:
	rc = sfile_close(j->p, &f, &j->st, rc);
	if (map)
		munmap(map, mapped);
	if (live >= 0)
		close(live);
	free(span);
	return rc;
}

static void *wjob_run(void *arg)
{
	wjob *j = arg;

	if ((j->rc = wjob_write(j)))
		snprintf(j->err, sizeof(j->err), "%s", av_error_last());
	else
		__atomic_fetch_add(&j->p->res->resumed_bytes, j->m.prefix, __ATOMIC_RELAXED);
	av_buf_dispose(&j->m.data);
	return NULL;
}

static void wjob_join(wjob *j)
{
	if (j->started && !j->joined)
		pthread_join(j->th, NULL);
	j->joined = 1;
}

static void wjob_free(wjob *j)
{
	for (size_t i = 0; i < j->nmarks; i++)
		av_buf_dispose(&j->saved[i]);
	free(j->saved);
	free(j->marks);
	free(j->mark_entries);
	made_dispose(&j->m);
	free(j->rel);
	free(j->key);
	free(j);
}

static int wjob_start(pubctx *p, const char *rel, const char *key, made *m)
{
	wjob *j;
	int rc;

	/* At most four running (their data is what they do not copy from
	 * the live files): a fifth waits for the oldest. */
	while (p->njobs - p->jdone >= 4)
		wjob_join(p->jobs[p->jdone++]);
	if ((rc = av_array_grow((void **)&p->jobs, &p->jalloc, p->njobs + 1, sizeof(*p->jobs))))
		return rc;
	if (!(j = av_calloc(1, sizeof(*j))))
		return AV_ERROR;
	j->p = p;
	j->rel = av_strdup(rel);
	j->key = av_strdup(key);
	if (!j->rel || !j->key) {
		wjob_free(j);
		return AV_ERROR;
	}
	j->m = *m;
	memset(m, 0, sizeof(*m));
	p->jobs[p->njobs++] = j;
	if (pthread_create(&j->th, NULL, wjob_run, j) == 0)
		j->started = 1;
	else
		wjob_run(j);
	return 0;
}

/* The file's record: digests, layout and checkpoints. */
static int file_mtime(av_buf *out, const struct stat *st)
{
	return av_buf_printf(out, "%lld.%09ld", (long long)st->st_mtim.tv_sec,
			     (long)st->st_mtim.tv_nsec);
}

static int wjob_record(pubctx *p, wjob *j)
{
	av_buf mt = AV_BUF_INIT, text = AV_BUF_INIT;
	cJSON *o, *resume;
	int rc;

	if ((rc = note_file(p, j->rel, &j->d, j->key)) || !j->m.has_layout)
		return rc;
	o = cJSON_GetObjectItemCaseSensitive(p->files, j->rel);
	/* Its modification time: a live copy edited since is not reused. */
	if ((rc = file_mtime(&mt, &j->st)))
		return rc;
	cJSON_AddStringToObject(o, "mtime", mt.ptr);
	av_buf_dispose(&mt);
	if ((rc = lay_text(&text, j->m.lay, j->m.nlay)))
		return rc;
	cJSON_AddStringToObject(o, "layout", av_buf_cstr(&text));
	av_buf_dispose(&text);
	resume = j->m.kept ? j->m.kept : cJSON_CreateArray();
	j->m.kept = NULL;
	if (!resume)
		return av_error_set(AV_ERROR, "out of memory");
	cJSON_AddItemToObject(o, "resume", resume);
	for (size_t i = 0; i < j->nmarks; i++) {
		cJSON *e = cJSON_CreateArray();
		if (!e)
			return av_error_set(AV_ERROR, "out of memory");
		cJSON_AddItemToArray(e, cJSON_CreateNumber((double)j->mark_entries[i]));
		cJSON_AddItemToArray(e, cJSON_CreateNumber((double)(j->m.prefix + j->marks[i])));
		cJSON_AddItemToArray(e, cJSON_CreateString(j->saved[i].ptr));
		cJSON_AddItemToArray(resume, e);
	}
	return 0;
}

static int jobs_finish(pubctx *p)
{
	int rc = 0;

	for (size_t i = 0; i < p->njobs; i++) {
		wjob *j = p->jobs[i];
		wjob_join(j);
		if (!rc && j->rc)
			rc = av_error_set(j->rc, "%s", j->err);
		if (!rc)
			rc = wjob_record(p, j);
		wjob_free(j);
	}
	p->njobs = p->jdone = 0;
	return rc;
}

static int index_file(pubctx *p, const char *rel, const char *key, make_fn make, void *arg)
{
	const cJSON *oldf = NULL;
	av_buf from = AV_BUF_INIT;
	made m;
	int rc;

	memset(&m, 0, sizeof(m));
	if (p->old && p->live_ok)
		oldf = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(p->old->meta, "files"), rel);
	if (oldf && jstr(oldf, "key") && !strcmp(jstr(oldf, "key"), key)) {
		if ((rc = av_buf_printf(&from, "%s/%s", p->live.ptr, rel)))
			goto done;
		if (av_is_file(from.ptr) == 1) {
			if ((rc = stage_link(p, from.ptr, rel)))
				goto done;
			cJSON_AddItemToObject(p->files, rel, cJSON_Duplicate(oldf, 1));
			p->res->files_reused++;
			goto done;
		}
	}
	if (!(rc = make(p, arg, &m)))
		rc = wjob_start(p, rel, key, &m);
done:
	made_dispose(&m);
	av_buf_dispose(&from);
	return rc;
}

/*
 * The live generation's copy of an index, as the byte range each chunk
 * has in it (its "layout", see lay), so a republish copies
 * unchanged chunks from the file (in the kernel) instead of reading them
 * from the store, and hashes them from its mapping.  Used only when the
 * file is there with the size and modification time the state recorded
 * (not edited since: its bytes are taken as the record says they are).
 */
typedef struct live_file {
	int fd;
	char *path;
	const cJSON *resume;
	lay *entry;		/* the live file's layout */
	size_t n;
} live_file;

static void splice_close(live_file *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->path);
	free(sp->entry);
	sp->fd = -1;
	sp->path = NULL;
	sp->entry = NULL;
}

static void splice_open(pubctx *p, const char *rel, live_file *sp)
{
	const cJSON *oldf, *size;
	const char *mtime, *layout;
	av_buf path = AV_BUF_INIT, mt = AV_BUF_INIT;
	struct stat st;
	ssize_t n;

	memset(sp, 0, sizeof(*sp));
	sp->fd = -1;
	if (!p->old || !p->live_ok)
		return;
	oldf = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(p->old->meta, "files"), rel);
	size = cJSON_GetObjectItemCaseSensitive(oldf, "size");
	layout = jstr(oldf, "layout");
	sp->resume = cJSON_GetObjectItemCaseSensitive(oldf, "resume");
	mtime = jstr(oldf, "mtime");
	/* (a layout that is no string, as older builds wrote it, is not
	 * used: the file is made whole once) */
	if (!layout || !cJSON_IsNumber(size) || (n = lay_parse(layout, &sp->entry)) < 0 ||
	    av_buf_printf(&path, "%s/%s", p->live.ptr, rel))
		goto fail;
	sp->n = (size_t)n;
	sp->fd = open(path.ptr, O_RDONLY | O_CLOEXEC);
	if (sp->fd < 0 || fstat(sp->fd, &st) < 0 || (double)st.st_size != size->valuedouble ||
	    (mtime && (file_mtime(&mt, &st) || strcmp(mt.ptr, mtime))))
		goto fail;
	sp->path = path.ptr;
	av_buf_dispose(&mt);
	return;
fail:
	av_buf_dispose(&mt);
	av_buf_dispose(&path);
	splice_close(sp);
}

/* Where chunk key's bytes are in the live file; 0 if they are not.
 * Chunks come in order, so the search starts where the last one ended. */
static int splice_find(const live_file *sp, size_t *hint, const char *key, size_t *off,
		       size_t *len)
{
	if (sp->fd < 0)
		return 0;
	for (size_t t = 0; t < sp->n; t++) {
		size_t i = (*hint + t) % sp->n;
		if (strcmp(sp->entry[i].key, key))
			continue;
		*off = sp->entry[i].off;
		*len = sp->entry[i].len;
		*hint = i + 1;
		return 1;
	}
	return 0;
}

/*
 * How much of the live file the new one begins with, and from where its
 * digests resume: the new chunks' first n match the live layout's first
 * n entries; the last checkpoint at or before entry n (its offset where
 * entry n-1 ends, its state of that length) is the resume point.
 * Returns the number of chunks it covers (0: none).
 */
static size_t splice_resume(live_file *sp, const group *g, made *m)
{
	size_t n = 0, best = 0, best_off = 0;
	const char *best_state = NULL;
	const cJSON *it;
	av_digests check;

	if (sp->fd < 0 || !cJSON_IsArray(sp->resume))
		return 0;
	while (n < g->nch && n < sp->n && !strcmp(sp->entry[n].key, g->ch[n]->key))
		n++;
	cJSON_ArrayForEach(it, sp->resume) {
		const cJSON *e = cJSON_GetArrayItem(it, 0), *o = cJSON_GetArrayItem(it, 1);
		const cJSON *s = cJSON_GetArrayItem(it, 2);
		size_t entries, off, len;
		if (!cJSON_IsNumber(e) || !cJSON_IsNumber(o) || !cJSON_IsString(s) ||
		    e->valuedouble < 1 || e->valuedouble > (double)n)
			continue;
		entries = (size_t)e->valuedouble;
		/* It must agree with the layout and with its own length. */
		off = sp->entry[entries - 1].off;
		len = sp->entry[entries - 1].len;
		if (entries <= best || o->valuedouble != (double)(off + len) ||
		    av_digests_saved_size(s->valuestring) != (int64_t)(off + len))
			continue;
		/* And be a state this build can resume (another OpenSSL's is
		 * not): then the file is hashed from its start. */
		if (av_digests_resume(&check, s->valuestring, "", 0, NULL, 0, NULL)) {
			av_error_clear();
			continue;
		}
		best = entries;
		best_off = off + len;
		best_state = s->valuestring;
	}
	if (!best)
		return 0;
	if (!(m->from = av_strdup(sp->path)) || !(m->state = av_strdup(best_state)) ||
	    !(m->kept = cJSON_CreateArray()))
		goto fail;
	cJSON_ArrayForEach(it, sp->resume) {
		const cJSON *e = cJSON_GetArrayItem(it, 0);
		if (cJSON_IsNumber(e) && e->valuedouble >= 1 && e->valuedouble <= (double)best)
			cJSON_AddItemToArray(m->kept, cJSON_Duplicate(it, 1));
	}
	for (size_t i = 0; i < best; i++)
		if (lay_add(m, sp->entry[i].key, sp->entry[i].off, sp->entry[i].len))
			goto fail;
	m->prefix = best_off;
	return best;
fail:
	free(m->from);
	free(m->state);
	cJSON_Delete(m->kept);
	m->from = m->state = NULL;
	m->kept = NULL;
	m->nlay = 0;
	return 0;
}

/*
 * An index file that is its chunks' blobs NAME joined: plain text, gzip
 * members and zstd frames by concatenation (so they can be spliced from
 * the live file, and the layout records where each chunk went), xz
 * blocks by av_comp_join.  Chunks without NAME (an empty text) add
 * nothing.
 */
static int join_chunks(pubctx *p, const char *rel, const group *g, const char *name, av_comp c,
		       made *m)
{
	av_store *s = p->c->store;
	int concat = c == AV_COMP_NONE || c == AV_COMP_GZ || c == AV_COMP_ZST;
	av_buf *out = &m->data;
	av_buf *pieces = NULL;
	av_comp_span *sp = NULL;
	live_file live;
	size_t n = 0, first = 0, hint = 0;
	int rc = 0;

	if (!(pieces = av_calloc(g->nch + 1, sizeof(*pieces))) ||
	    !(sp = av_calloc(g->nch + 1, sizeof(*sp)))) {
		free(pieces);
		return AV_ERROR;
	}
	splice_open(p, rel, &live);
	if (concat) {
		m->has_layout = 1;
		first = splice_resume(&live, g, m);
		hint = first;
	}
	/* Concatenated formats: segments, the chunks the live file has as
	 * ranges of it (not read here), the others appended to out. */
	for (size_t i = first; i < g->nch && !rc; i++) {
		const chunk *k = g->ch[i];
		av_buf *dst = concat ? out : &pieces[n];
		size_t before = dst->len, at = m->prefix + m->len, off, len;
		int found = 1;
		if (concat && splice_find(&live, &hint, k->key, &off, &len)) {
			if (!len)
				continue;
			if (!m->from && !(m->from = av_strdup(live.path))) {
				rc = AV_ERROR;
				break;
			}
			rc = made_add(m, 1, off, len);
		} else {
			rc = chunk_get(s, k, name, dst, &found);
			if (rc || !found || dst->len == before)
				continue;
			len = dst->len - before;
			if (concat)
				rc = made_add(m, 0, before, len);
		}
		if (!rc && concat)
			rc = lay_add(m, k->key, at, len);
		n++;
	}
	if (rc)
		goto done;
	if (concat) {
		/* An empty file (an empty compressed stream); none of its
		 * bytes are segments. */
		if (!n && !first) {
			m->nseg = 0;
			rc = av_comp_join(c, out, NULL, 0);
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			sp[i].ptr = pieces[i].ptr;
			sp[i].len = pieces[i].len;
		}
		rc = av_comp_join(c, out, sp, n);
	}
done:
	splice_close(&live);
	for (size_t i = 0; i <= g->nch; i++)
		av_buf_dispose(&pieces[i]);
	free(pieces);
	free(sp);
	return rc;
}

typedef struct idx_arg {
	group *g;
	int t;		/* text 0/1 */
	int c;		/* av_comp */
	const char *rel;
} idx_arg;

static int make_index(pubctx *p, void *arg, made *out)
{
	idx_arg *a = arg;
	char name[16];
	int rc;

	if (a->c == AV_COMP_BZ2) {
		/* bzip2 cannot be joined: the whole text at once. */
		made text;
		av_buf piece = AV_BUF_INIT;
		av_comp_span sp;
		memset(&text, 0, sizeof(text));
		snprintf(name, sizeof(name), "t%d", a->t);
		rc = join_chunks(p, "", a->g, name, AV_COMP_NONE, &text);
		if (!rc)
			rc = av_comp_piece(AV_COMP_BZ2, &piece,
					   text.data.ptr ? text.data.ptr : "", text.data.len);
		sp.ptr = piece.ptr;
		sp.len = piece.len;
		if (!rc)
			rc = av_comp_join(AV_COMP_BZ2, &out->data, &sp, 1);
		av_buf_dispose(&piece);
		made_dispose(&text);
		return rc;
	}
	if (a->c == AV_COMP_NONE)
		snprintf(name, sizeof(name), "t%d", a->t);
	else
		piece_name(name, a->t, a->c);
	return join_chunks(p, a->rel, a->g, name, (av_comp)a->c, out);
}

/* The key of a whole index file: its chunks and how it is encoded. */
static int file_key(char out[65], const group *g, const char *what)
{
	av_buf in = AV_BUF_INIT;
	int rc = av_buf_put(&in, what, strlen(what) + 1);

	for (size_t i = 0; i < g->nch && !rc; i++)
		rc = av_buf_put(&in, g->ch[i]->key, 64);
	if (!rc)
		av_sha256_hex(out, in.ptr, in.len);
	av_buf_dispose(&in);
	return rc;
}

/*
 * Contents: each chunk's lines, sorted by path with the packages of one
 * path on one line, were gzipped when the chunk was built; the file is
 * those members joined.  So a path owned by packages of two chunks has
 * a line in each chunk's part (apt-file and command-not-found read every
 * line), and the file is sorted within chunks, not across them: that is
 * what lets a republish recompress one chunk's part instead of the whole
 * list.
 */
static int make_contents(pubctx *p, void *arg, made *out)
{
	idx_arg *a = arg;
	char name[8];

	snprintf(name, sizeof(name), "c%d.gz", a->t);
	return join_chunks(p, a->rel, a->g, name, AV_COMP_GZ, out);
}

static int has_text(pubctx *p, const group *g, int t, int *out)
{
	char name[8];
	int rc = 0;

	*out = 0;
	snprintf(name, sizeof(name), "t%d", t);
	for (size_t i = 0; i < g->nch && !*out && !rc; i++) {
		const chunk *k = g->ch[i]->same ? g->ch[i]->same : g->ch[i];
		if (k->built) {
			*out = k->text[t].len > 0;
		} else {
			av_buf b = AV_BUF_INIT;
			rc = chunk_blob(p->c->store, g->ch[i], name, &b);
			*out = b.len > 0;
			av_buf_dispose(&b);
		}
	}
	return rc;
}

static const char *opt_str(pubctx *p, const char *k)
{
	return jstr(p->meta, k);
}

/* dists/DIST/COMP/DIR/Release, the per-index Release apt may read. */
static int small_release(pubctx *p, const char *rel, const char *comp_name,
			 const char *arch)
{
	av_buf b = AV_BUF_INIT;
	av_digests d;
	const char *v;
	int rc;

	av_buf_printf(&b, "Archive: %s\n", opt_str(p, "suite") ? opt_str(p, "suite") : p->dist);
	if ((v = opt_str(p, "origin")))
		av_buf_printf(&b, "Origin: %s\n", v);
	if ((v = opt_str(p, "label")))
		av_buf_printf(&b, "Label: %s\n", v);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->meta, "notautomatic")))
		av_buf_printf(&b, "NotAutomatic: yes\n");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->meta, "butautomaticupgrades")))
		av_buf_printf(&b, "ButAutomaticUpgrades: yes\n");
	av_buf_printf(&b, "Component: %s\n", comp_name);
	rc = av_buf_printf(&b, "Architecture: %s\n", arch);
	if (!rc)
		rc = av_digests_mem(&d, b.ptr, b.len);
	if (!rc)
		rc = stage_write(p, rel, b.ptr, b.len);
	if (!rc)
		rc = note_file(p, rel, &d, NULL);
	av_buf_dispose(&b);
	return rc;
}

static int write_group(pubctx *p, group *g)
{
	const char *cn = g->cp->name;
	av_buf rel = AV_BUF_INIT, dir = AV_BUF_INIT;
	char key[65];
	int rc = 0, has_udeb = 0;

	if (g->kind == G_SRC)
		rc = av_buf_printf(&dir, "%s/source", cn);
	else
		rc = av_buf_printf(&dir, "%s/binary-%s", cn, g->arch);
	if (rc)
		goto done;
	/* Texts: 0 the main index, 1 udebs (binary groups only). */
	for (int t = 0; t < (g->kind == G_SRC ? 1 : 2) && !rc; t++) {
		const char *base = g->kind == G_SRC ? "Sources" : "Packages";
		if (t == 1) {
			if ((rc = has_text(p, g, 1, &has_udeb)) || !has_udeb)
				break;
			av_buf_clear(&dir);
			if ((rc = av_buf_printf(&dir, "%s/debian-installer/binary-%s", cn,
						g->arch)))
				break;
		}
		for (int c = 0; c < NCOMP && !rc; c++) {
			idx_arg a = { g, t, c, NULL };
			char what[64];
			if (c != AV_COMP_NONE && !(p->compress & (1u << c)))
				continue;
			snprintf(what, sizeof(what), "index %d %d", t, c);
			av_buf_clear(&rel);
			if ((rc = file_key(key, g, what)) ||
			    (rc = av_buf_printf(&rel, "%s/%s%s", dir.ptr, base,
						av_comp_ext((av_comp)c))))
				break;
			a.rel = rel.ptr;
			rc = index_file(p, rel.ptr, key, make_index, &a);
		}
		if (rc)
			break;
		av_buf_clear(&rel);
		if (!(rc = av_buf_printf(&rel, "%s/Release", dir.ptr)))
			rc = small_release(p, rel.ptr, cn, g->kind == G_SRC ? "source" : g->arch);
	}
	if (rc || g->kind == G_SRC || !p->contents)
		goto done;
	for (int t = 0; t < 2 && !rc; t++) {
		idx_arg a = { g, t, AV_COMP_GZ, NULL };
		if (t == 1 && !has_udeb)
			break;
		av_buf_clear(&rel);
		if ((rc = file_key(key, g, t ? "contents-udeb" : "contents")) ||
		    (rc = av_buf_printf(&rel, "%s/Contents-%s%s.gz", cn, t ? "udeb-" : "",
					g->arch)))
			break;
		a.rel = rel.ptr;
		rc = index_file(p, rel.ptr, key, make_contents, &a);
	}
done:
	av_buf_dispose(&rel);
	av_buf_dispose(&dir);
	return rc;
}

/* ---- pool files of chunks ---- */

static void pfiles_dispose(pfiles *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].rel);
		free(f->v[i].key);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int pfiles_parse(pfiles *f, const char *d, size_t len)
{
	const char *end = d + len;
	int rc;

	while (d < end) {
		const char *nl = memchr(d, '\n', (size_t)(end - d));
		size_t l = nl ? (size_t)(nl - d) : (size_t)(end - d);
		const char *sp = l > 66 && d[64] == ' ' ? memchr(d + 65, ' ', l - 65) : NULL;
		if (sp) {
			pfile *e;
			if ((rc = av_array_grow((void **)&f->v, &f->alloc, f->n + 1,
						sizeof(*f->v))))
				return rc;
			e = &f->v[f->n];
			memcpy(e->sha, d, 64);
			e->sha[64] = 0;
			e->key = av_strndup(d + 65, (size_t)(sp - d - 65));
			e->rel = av_strndup(sp + 1, l - (size_t)(sp + 1 - d));
			if (!e->key || !e->rel) {
				free(e->key);
				free(e->rel);
				return AV_ERROR;
			}
			f->n++;
		}
		d += l + 1;
	}
	return 0;
}

static int pfiles_add(pfiles *f, const pfile *e)
{
	int rc;

	if ((rc = av_array_grow((void **)&f->v, &f->alloc, f->n + 1, sizeof(*f->v))))
		return rc;
	memcpy(f->v[f->n].sha, e->sha, sizeof(e->sha));
	f->v[f->n].rel = av_strdup(e->rel);
	f->v[f->n].key = av_strdup(e->key);
	if (!f->v[f->n].rel || !f->v[f->n].key) {
		free(f->v[f->n].rel);
		free(f->v[f->n].key);
		return AV_ERROR;
	}
	f->n++;
	return 0;
}

static int pfile_cmp(const void *a, const void *b)
{
	return strcmp(((const pfile *)a)->rel, ((const pfile *)b)->rel);
}

static void pfiles_sort(pfiles *f)
{
	size_t w = 0;

	if (!f->n)
		return;
	qsort(f->v, f->n, sizeof(*f->v), pfile_cmp);
	for (size_t i = 0; i < f->n; i++) {
		if (w && !strcmp(f->v[w - 1].rel, f->v[i].rel)) {
			free(f->v[i].rel);
			free(f->v[i].key);
			continue;
		}
		f->v[w++] = f->v[i];
	}
	f->n = w;
}

static int pfiles_has(const pfiles *f, const char *rel)
{
	pfile key = { "", NULL, (char *)rel };

	return f->n && bsearch(&key, f->v, f->n, sizeof(*f->v), pfile_cmp) != NULL;
}

/* Files of every chunk in a chunks tree (NULL: none). */
static int tree_files(av_store *s, git_tree *chunks, pfiles *out, const git_tree *skip_in)
{
	int rc = 0;

	for (size_t i = 0; chunks && i < git_tree_entrycount(chunks) && !rc; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(chunks, i);
		git_tree *t = NULL;
		git_blob *b = NULL;
		const git_tree_entry *fe;
		if (skip_in && git_tree_entry_byname(skip_in, git_tree_entry_name(te)))
			continue;
		if ((rc = av_store_tree_read(s, &t, git_tree_entry_id(te))))
			break;
		if ((fe = git_tree_entry_byname(t, "files")) &&
		    !(rc = av_store_blob_read(s, &b, git_tree_entry_id(fe))))
			rc = pfiles_parse(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
		git_blob_free(b);
		git_tree_free(t);
	}
	return rc;
}

/*
 * Candidates the chunks built in this run list are published by it: not
 * candidates (a changed chunk's files mostly stay; only the others need
 * the sweep's look at every distribution of the prefix).
 */
static void drop_built(pubctx *p, pfiles *cand)
{
	pfiles built = { 0 };
	size_t w = 0;

	for (size_t i = 0; i < p->nall; i++)
		if (p->all[i]->built &&
		    pfiles_parse(&built, p->all[i]->files.ptr ? p->all[i]->files.ptr : "",
				 p->all[i]->files.len))
			goto done;
	pfiles_sort(&built);
	for (size_t i = 0; i < cand->n; i++) {
		if (pfiles_has(&built, cand->v[i].rel)) {
			free(cand->v[i].rel);
			free(cand->v[i].key);
			continue;
		}
		cand->v[w++] = cand->v[i];
	}
	cand->n = w;
done:
	pfiles_dispose(&built);
}

static int state_chunks(av_store *s, const av_state *st, git_tree **out)
{
	git_tree *aux = NULL;
	const git_tree_entry *te;
	int rc;

	*out = NULL;
	if (!st || git_oid_is_zero(&st->aux))
		return 0;
	if ((rc = av_store_tree_read(s, &aux, &st->aux)))
		return rc;
	if ((te = git_tree_entry_byname(aux, "chunks")))
		rc = av_store_tree_read(s, out, git_tree_entry_id(te));
	git_tree_free(aux);
	return rc;
}

static int same_file(const char *a, const char *b, const char *sha_b, int *same)
{
	struct stat sa, sb;
	av_digests d;
	int rc;

	*same = 0;
	if (stat(a, &sa) < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot read '%s'", a);
	if (stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) {
		*same = 1;
		return 0;
	}
	if ((rc = av_digests_file(&d, a)))
		return rc;
	*same = !strcmp(d.sha256, sha_b);
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	av_buf b = AV_BUF_INIT;
	int rc;

	av_buf_init(&b, (size_t)4 << 30);
	if (!(rc = av_file_read(&b, from, (size_t)4 << 30)))
		rc = av_file_write_atomic(to, b.ptr ? b.ptr : "", b.len);
	av_buf_dispose(&b);
	return rc;
}

static int owners_of(pubctx *p, const char *rel, av_buf *out);

static int collision(pubctx *p, const pfile *f)
{
	av_buf who = AV_BUF_INIT;
	int rc;

	owners_of(p, f->rel, &who);
	rc = av_error_set(AV_ECONFLICT, "pool file '%s' under prefix '%s' already exists "
			  "with other content (owned by %s; this publish of '%s' "
			  "wants sha256 %.16s...); nothing was published", f->rel,
			  p->prefix, who.len ? who.ptr : "no published distribution",
			  p->dist, f->sha);
	av_buf_dispose(&who);
	return rc;
}

/* f is in the pool with other content: pool_finish says whose. */
static int clash(pfiles *clashes, const pfile *f)
{
	int rc;

	if ((rc = pfiles_add(clashes, f)))
		return rc;
	return av_error_set(AV_ECONFLICT, "pool file '%s' already exists with other content",
			    f->rel);
}

static int pending_save(av_ctx *c, const char *prefix, const pfiles *cand, av_buf *saved);

/* A pool file's source and letter directories, if that left them empty
 * (path is cut to the last one tried). */
static void prune_dirs(char *path)
{
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(path, '/');
		if (!slash)
			return;
		*slash = 0;
		if (rmdir(path) < 0)
			return;
	}
}

/* Is path's directory the one in *known?  If not, it becomes it. */
static int same_parent(const char *path, av_buf *known)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (known->len == n && known->ptr && !memcmp(known->ptr, path, n))
		return 1;
	av_buf_clear(known);
	av_buf_put(known, path, n);
	return 0;
}

/* The files of chunks the live generation did not have: built now, or
 * taken from another distribution (maybe of another prefix). */
static int pool_gather(pubctx *p)
{
	pfiles *f = &p->pool.want;
	int rc = 0;

	for (size_t i = 0; i < p->nall && !rc; i++) {
		const chunk *k = p->all[i];
		if (k->same)
			continue;
		if (k->built) {
			rc = pfiles_parse(f, k->files.ptr ? k->files.ptr : "", k->files.len);
		} else if (k->foreign) {
			av_buf b = AV_BUF_INIT;
			if (!(rc = chunk_blob(p->c->store, k, "files", &b)))
				rc = pfiles_parse(f, b.ptr ? b.ptr : "", b.len);
			av_buf_dispose(&b);
		}
	}
	if (!rc)
		pfiles_sort(f);
	return rc;
}

/* Where f goes in the published pool, and its file in ours. */
static int pool_paths(pubctx *p, const pfile *f, av_buf *target, av_buf *src)
{
	int rc;

	av_buf_clear(target);
	av_buf_clear(src);
	if ((rc = av_buf_printf(target, "%s/%s", p->root.ptr, f->rel)))
		return rc;
	return av_pool_path(src, av_store_root(p->c->store), f->sha);
}

/* Links files [from, to) of a pool's missing list (see link_all). */
typedef struct link_part {
	pubctx *p;
	const pfiles *missing;
	size_t from, to;
	pfiles linked, clash;
	size_t count;
	int rc, code;
	char err[1024];
} link_part;

static int link_range(link_part *lp)
{
	pubctx *p = lp->p;
	const char *root = av_store_root(p->c->store);
	const pfile *v = lp->missing->v;
	av_buf target = AV_BUF_INIT, src = AV_BUF_INIT, known = AV_BUF_INIT;
	int rc = 0;

	for (size_t i = lp->from; i < lp->to && !rc; i++) {
		if ((rc = pool_paths(p, &v[i], &target, &src)))
			break;
		if (av_failpoint("publish-link")) {
			rc = av_error_set(AV_EIO, "cannot link '%s': injected failure "
					  "(failpoint publish-link)", v[i].rel);
			break;
		}
		/* A directory not seen yet is made first (on a first publish
		 * most are new: a link that fails first costs a call). */
		if (!same_parent(target.ptr, &known) && (rc = mkdir_parent(target.ptr)))
			break;
		if (link(src.ptr, target.ptr) == 0 ||
		    (errno == ENOENT && !(rc = mkdir_parent(target.ptr)) &&
		     link(src.ptr, target.ptr) == 0)) {
			lp->count++;
			rc = pfiles_add(&lp->linked, &v[i]);
			continue;
		}
		if (rc)
			break;
		if (errno == EEXIST) {
			/* Linked meanwhile by a publish of another distribution. */
			int same;
			if (!(rc = same_file(target.ptr, src.ptr, v[i].sha, &same)) && !same)
				rc = clash(&lp->clash, &v[i]);
			continue;
		}
		if (errno == EXDEV || errno == EPERM || errno == EMLINK) {
			if (!(rc = copy_file(src.ptr, target.ptr))) {
				lp->count++;
				rc = pfiles_add(&lp->linked, &v[i]);
			}
			continue;
		}
		if (errno == ENOENT && !av_pool_has(root, v[i].sha)) {
			/* The links made so far are taken back (publish_run),
			 * and the directories just made for this one go. */
			prune_dirs(target.ptr);
			rc = av_error_set(AV_ENOTFOUND, "package file %s (sha256 %s) is missing "
					  "from the pool; nothing was published",
					  v[i].rel, v[i].sha);
			break;
		}
		rc = av_error_set_errno(AV_EIO, errno, "cannot link '%s'", target.ptr);
	}
	if ((lp->rc = rc)) {
		lp->code = av_error_code();
		snprintf(lp->err, sizeof(lp->err), "%s", av_error_last());
	}
	av_buf_dispose(&known);
	av_buf_dispose(&target);
	av_buf_dispose(&src);
	return rc;
}

static void *link_run(void *arg)
{
	link_range(arg);
	return NULL;
}

/* From this many files on, the links are made by two threads. */
#define LINK_SPLIT 256

/*
 * Link the missing files, in halves on two threads when there are many
 * (a first publish of 3,395 packages: its ~2,000 mkdir and 3,395 link
 * calls outlasted the index files by 25-85 ms, with one core idle).  The
 * halves are split between directories, so no directory is made by
 * both.  What either linked is in p->linked (taken back on failure);
 * the first failure, in list order, is the one reported.
 */
static int link_all(pubctx *p, const pfiles *missing)
{
	link_part part[2] = { { p, missing, 0, missing->n, { 0 }, { 0 }, 0, 0, 0, "" },
			      { p, missing, missing->n, missing->n, { 0 }, { 0 }, 0, 0, 0, "" } };
	pthread_t th;
	int threaded = 0, rc = 0;

	if (missing->n >= LINK_SPLIT) {
		size_t h = missing->n / 2;
		const pfile *v = missing->v;
		while (h < missing->n) {
			const char *a = strrchr(v[h - 1].rel, '/'), *b = strrchr(v[h].rel, '/');
			if (a - v[h - 1].rel != b - v[h].rel ||
			    memcmp(v[h - 1].rel, v[h].rel, (size_t)(a - v[h - 1].rel)))
				break;
			h++;
		}
		part[0].to = part[1].from = h;
		threaded = h < missing->n && pthread_create(&th, NULL, link_run, &part[1]) == 0;
		if (!threaded)
			part[0].to = missing->n;
	}
	link_range(&part[0]);
	if (threaded)
		pthread_join(th, NULL);
	for (int i = 0; i < 2; i++) {
		link_part *lp = &part[i];
		for (size_t j = 0; j < lp->linked.n && !rc; j++)
			rc = pfiles_add(&p->linked, &lp->linked.v[j]);
		for (size_t j = 0; j < lp->clash.n && !rc; j++)
			rc = pfiles_add(&p->pool.clash, &lp->clash.v[j]);
		p->res->pool_linked += lp->count;
	}
	for (int i = 0; i < 2 && !rc; i++)
		if (part[i].rc)
			rc = av_error_set(part[i].code ? part[i].code : part[i].rc, "%s",
					  part[i].err);
	for (int i = 0; i < 2; i++) {
		pfiles_dispose(&part[i].linked);
		pfiles_dispose(&part[i].clash);
	}
	return rc;
}

/*
 * Link p->pool.want into the pool.  It runs on its own thread while the
 * generation is written (which it does not touch), and uses no store
 * handle: a collision is only marked (pool.clash), and pool_finish names
 * its owners.
 */
static int link_pool(pubctx *p)
{
	const pfiles f = p->pool.want;
	pfiles missing = { 0 };
	av_buf target = AV_BUF_INIT, src = AV_BUF_INIT;
	int rc = 0;

	/* Check everything before linking anything; what is there already
	 * (the same file, else a collision) is not linked again. */
	for (size_t i = 0; i < f.n && !rc; i++) {
		struct stat st;
		int same;
		if ((rc = pool_paths(p, &f.v[i], &target, &src)))
			break;
		/* (a source missing from our pool is found by its link:
		 * a stat of each first cost a call per file) */
		if (lstat(target.ptr, &st) < 0) {
			if (errno != ENOENT)
				rc = av_error_set_errno(AV_EIO, errno, "cannot read '%s'",
							target.ptr);
			if (!rc)
				rc = pfiles_add(&missing, &f.v[i]);
			continue;
		}
		if ((rc = same_file(target.ptr, src.ptr, f.v[i].sha, &same)))
			break;
		if (!same)
			rc = clash(&p->pool.clash, &f.v[i]);
	}
	/* Before the first link: a pending list naming what will be linked,
	 * so that files a crash leaves unreferenced are swept later.  It
	 * is removed once the ref has moved. */
	if (!rc && missing.n)
		rc = pending_save(p->c, p->prefix, &missing, &p->intent);
	if (!rc)
		rc = link_all(p, &missing);
	pfiles_dispose(&missing);
	av_buf_dispose(&target);
	av_buf_dispose(&src);
	return rc;
}

static void *pool_thread(void *arg)
{
	pubctx *p = arg;

	if ((p->pool.rc = link_pool(p))) {
		p->pool.code = av_error_code();
		snprintf(p->pool.err, sizeof(p->pool.err), "%s", av_error_last());
	}
	return NULL;
}

/*
 * Link the pool while the generation is written: on a first publish its
 * thousands of mkdir and link calls wait on the filesystem about as long
 * as the index files take.  Neither touches the other's files, and the
 * generation goes live only after pool_finish.
 */
static int pool_start(pubctx *p)
{
	int rc;

	if ((rc = pool_gather(p)))
		return rc;
	if (!p->pool.want.n)
		return 0;
	if (pthread_create(&p->pool.th, NULL, pool_thread, p)) {
		pool_thread(p);		/* no thread: linked now */
		return 0;
	}
	p->pool.started = 1;
	return 0;
}

/* Wait for the pool; its failure, if any, becomes this thread's error,
 * once (later calls, on the way out, only make sure it was joined). */
static int pool_finish(pubctx *p)
{
	int rc;

	if (p->pool.started) {
		pthread_join(p->pool.th, NULL);
		p->pool.started = 0;
	}
	if (!(rc = p->pool.rc))
		return 0;
	p->pool.rc = 0;
	if (p->pool.clash.n)
		collision(p, &p->pool.clash.v[0]);
	else
		av_error_set(p->pool.code ? p->pool.code : rc, "%s", p->pool.err);
	return rc;
}

/* ---- Release, signatures, by-hash ---- */

static const struct {
	const char *field, *dir, *json;
} HASHES[] = {
	{ "MD5Sum", "MD5Sum", "md5" },
	{ "SHA1", "SHA1", "sha1" },
	{ "SHA256", "SHA256", "sha256" },
	{ "SHA512", "SHA512", "sha512" },
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_index(const char *rel)
{
	const char *base = strrchr(rel, '/');

	base = base ? base + 1 : rel;
	return !strncmp(base, "Packages", 8) || !strncmp(base, "Sources", 7) ||
	       !strncmp(base, "Contents-", 9);
}

static void rfc2822(char *out, size_t size, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, size, "%a, %d %b %Y %H:%M:%S UTC", &tm);
}

static int write_release(pubctx *p)
{
	av_buf *b = &p->release;
	const char **paths = NULL;
	size_t n = 0, alloc = 0;
	char date[64];
	const char *v;
	const cJSON *it;
	int rc = 0;

	if ((v = opt_str(p, "origin")))
		av_buf_printf(b, "Origin: %s\n", v);
	if ((v = opt_str(p, "label")))
		av_buf_printf(b, "Label: %s\n", v);
	av_buf_printf(b, "Suite: %s\n", opt_str(p, "suite") ? opt_str(p, "suite") : p->dist);
	av_buf_printf(b, "Codename: %s\n",
		      opt_str(p, "codename") ? opt_str(p, "codename") : p->dist);
	if ((v = opt_str(p, "version")))
		av_buf_printf(b, "Version: %s\n", v);
	rfc2822(date, sizeof(date), p->now);
	av_buf_printf(b, "Date: %s\n", date);
	it = cJSON_GetObjectItemCaseSensitive(p->meta, "valid_for");
	if (cJSON_IsNumber(it) && it->valuedouble > 0) {
		rfc2822(date, sizeof(date), p->now + (long long)it->valuedouble);
		av_buf_printf(b, "Valid-Until: %s\n", date);
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->meta, "notautomatic")))
		av_buf_printf(b, "NotAutomatic: yes\n");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->meta, "butautomaticupgrades")))
		av_buf_printf(b, "ButAutomaticUpgrades: yes\n");
	av_buf_puts(b, "Architectures:");
	for (size_t i = 0; i < p->narch; i++)
		if (strcmp(p->archs[i], "source"))
			av_buf_printf(b, " %s", p->archs[i]);
	av_buf_puts(b, "\nComponents:");
	for (size_t i = 0; i < p->ncp; i++)
		av_buf_printf(b, " %s", p->cps[i].name);
	av_buf_puts(b, "\n");
	if ((v = opt_str(p, "signed_by")))
		av_buf_printf(b, "Signed-By: %s\n", v);
	av_buf_printf(b, "Description: Generated by aptvault\n");
	if (p->by_hash)
		av_buf_puts(b, "Acquire-By-Hash: yes\n");
	cJSON_ArrayForEach(it, p->files) {
		if ((rc = av_array_grow((void **)&paths, &alloc, n + 1, sizeof(*paths))))
			goto done;
		paths[n++] = it->string;
	}
	qsort(paths, n, sizeof(*paths), str_cmp);
	for (size_t h = 0; h < AV_ARRAY_SIZE(HASHES); h++) {
		av_buf_printf(b, "%s:\n", HASHES[h].field);
		for (size_t i = 0; i < n; i++) {
			const cJSON *f = cJSON_GetObjectItemCaseSensitive(p->files, paths[i]);
			const cJSON *sz = cJSON_GetObjectItemCaseSensitive(f, "size");
			av_buf_printf(b, " %s %16.0f %s\n", jstr(f, HASHES[h].json),
				      cJSON_IsNumber(sz) ? sz->valuedouble : 0.0, paths[i]);
		}
	}
	if (!b->ptr)
		rc = av_error_set(AV_ERROR, "out of memory");
	if (!rc)
		rc = stage_write(p, "Release", b->ptr, b->len);
	if (!rc && !p->o->skip_signing) {
		av_buf sig = AV_BUF_INIT;
		if (!(rc = av_sign_clear(&sig, b->ptr, b->len, &p->o->sign)))
			rc = stage_write(p, "InRelease", sig.ptr, sig.len);
		av_buf_clear(&sig);
		if (!rc && !(rc = av_sign_detached(&sig, b->ptr, b->len, &p->o->sign)))
			rc = stage_write(p, "Release.gpg", sig.ptr, sig.len);
		av_buf_dispose(&sig);
		if (rc)
			av_error_wrap(rc, "cannot sign the Release of '%s' (use --skip-signing "
				      "for an unsigned publish)", p->dist);
	}
done:
	free(paths);
	return rc;
}

/* by-hash/ of every index of this generation, and of the previous ones
 * still within their retention (their content is carried over from the
 * live generation). */
static int write_by_hash(pubctx *p)
{
	cJSON *keep = cJSON_CreateArray();
	const cJSON *it;
	av_buf from = AV_BUF_INIT, rel = AV_BUF_INIT;
	int rc = 0;

	if (!keep)
		return av_error_set(AV_ERROR, "out of memory");
	if (!p->by_hash)
		goto done;
	cJSON_ArrayForEach(it, p->files) {
		const char *dir_end = strrchr(it->string, '/');
		if (!is_index(it->string) || !dir_end)
			continue;
		for (size_t h = 0; h < AV_ARRAY_SIZE(HASHES) && !rc; h++) {
			av_buf_clear(&rel);
			av_buf_clear(&from);
			if ((rc = av_buf_printf(&rel, "%.*s/by-hash/%s/%s",
						(int)(dir_end - it->string), it->string,
						HASHES[h].dir, jstr(it, HASHES[h].json))) ||
			    (rc = av_buf_printf(&from, "%s/%s", p->stage.ptr, it->string)))
				break;
			rc = stage_link(p, from.ptr, rel.ptr);
		}
		if (rc)
			goto done;
		cJSON *e = cJSON_Duplicate(it, 1);
		cJSON_DeleteItemFromObjectCaseSensitive(e, "key");
		cJSON_AddStringToObject(e, "path", it->string);
		cJSON_AddNumberToObject(e, "expires", 0);
		cJSON_AddItemToArray(keep, e);
	}
	if (p->old) {
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(p->old->meta, "byhash");
		cJSON_ArrayForEach(it, old) {
			const char *path = jstr(it, "path"), *sha = jstr(it, "sha256");
			const cJSON *ex = cJSON_GetObjectItemCaseSensitive(it, "expires");
			const cJSON *cur;
			double expires = cJSON_IsNumber(ex) ? ex->valuedouble : 0;
			const char *dir_end;
			if (!path || !sha || !(dir_end = strrchr(path, '/')))
				continue;
			cur = cJSON_GetObjectItemCaseSensitive(p->files, path);
			if (cur && jstr(cur, "sha256") && !strcmp(jstr(cur, "sha256"), sha))
				continue;	/* still current */
			if (expires == 0)
				expires = (double)(p->now + p->o->byhash_keep);
			if (expires <= (double)p->now)
				continue;	/* retention over: not carried */
			int carried = 1;
			for (size_t h = 0; h < AV_ARRAY_SIZE(HASHES) && !rc; h++) {
				const char *hex = jstr(it, HASHES[h].json);
				if (!hex)
					continue;
				av_buf_clear(&rel);
				av_buf_clear(&from);
				if ((rc = av_buf_printf(&rel, "%.*s/by-hash/%s/%s",
							(int)(dir_end - path), path,
							HASHES[h].dir, hex)) ||
				    (rc = av_buf_printf(&from, "%s/%s", p->live.ptr, rel.ptr)))
					break;
				if (av_is_file(from.ptr) != 1) {
					carried = 0;
					continue;
				}
				rc = stage_link(p, from.ptr, rel.ptr);
			}
			if (rc)
				goto done;
			if (carried) {
				cJSON *e = cJSON_Duplicate(it, 1);
				cJSON_ReplaceItemInObjectCaseSensitive(e, "expires",
								      cJSON_CreateNumber(expires));
				cJSON_AddItemToArray(keep, e);
			}
		}
	}
done:
	if (rc)
		cJSON_Delete(keep);
	else
		cJSON_AddItemToObject(p->meta, "byhash", keep);
	av_buf_dispose(&from);
	av_buf_dispose(&rel);
	return rc;
}

/* ---- states ---- */

void av_publish_result_dispose(av_publish_result *r)
{
	free(r->where);
	memset(r, 0, sizeof(*r));
}

static int ref_of(av_store *s, const char *kind, const char *name, git_oid *out)
{
	av_buf ref = AV_BUF_INIT;
	int rc;

	/* Absent: 0 with a zero oid. */
	if (!(rc = av_txn_refname(&ref, kind, name)) &&
	    (rc = av_store_ref_read(s, ref.ptr, out)) == AV_ENOTFOUND)
		rc = 0;
	av_buf_dispose(&ref);
	return rc;
}

/* A state by kind and name without a lock; *out NULL when absent. */
static int peek(av_ctx *c, const char *kind, const char *name, av_state **out)
{
	git_oid oid;
	int rc;

	*out = NULL;
	if ((rc = ref_of(c->store, kind, name, &oid)))
		return rc;
	return git_oid_is_zero(&oid) ? 0 : av_state_load(out, c->store, &oid);
}

int av_publish_open(av_ctx *c, const char *prefix, const char *dist, av_state **out)
{
	av_buf name = AV_BUF_INIT;
	int rc;

	prefix = norm_prefix(prefix);
	if (!(rc = pub_name(&name, prefix, dist)) && !(rc = peek(c, KIND, name.ptr, out)) &&
	    !*out)
		rc = not_published(prefix, dist);
	av_buf_dispose(&name);
	return rc;
}

void av_publish_all_free(av_state **states, size_t n)
{
	for (size_t i = 0; i < n; i++)
		av_state_free(states[i]);
	free(states);
}

int av_publish_all(av_ctx *c, av_state ***out, size_t *n)
{
	char **names = NULL;
	size_t nn = 0, k = 0;
	av_state **v = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = av_store_ref_names(c->store, av_txn_ref_prefix(KIND), &names, &nn)))
		return rc;
	if (nn && !(v = av_calloc(nn, sizeof(*v)))) {
		rc = AV_ERROR;
		goto done;
	}
	for (size_t i = 0; i < nn; i++) {
		/* Gone meanwhile: not listed. */
		if ((rc = peek(c, KIND, names[i], &v[k])))
			goto done;
		if (v[k])
			k++;
	}
	*out = v;
	*n = k;
	v = NULL;
	k = 0;
done:
	av_publish_all_free(v, k);
	av_store_names_free(names, nn);
	return rc;
}

int av_publish_users(av_ctx *c, const char *kind, const char *name, const git_oid *state,
		     av_buf *where)
{
	av_state **all = NULL;
	size_t n = 0;
	int found = 0, rc;

	if ((rc = av_publish_all(c, &all, &n)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(all[i]->meta,
									"components")) {
			const char *k = jstr(it, "kind"), *nm = jstr(it, "name");
			const char *st = jstr(it, "state");
			char hex[GIT_OID_HEXSZ + 1] = "";
			if (state)
				git_oid_tostr(hex, sizeof(hex), state);
			if (!k || strcmp(k, kind))
				continue;
			if ((nm && !strcmp(nm, name)) || (st && state && !strcmp(st, hex))) {
				const char *pr = av_state_get(all[i], "prefix", ".");
				const char *d = av_state_get(all[i], "distribution", "?");
				av_buf_printf(where, "%s%s/%s", found ? ", " : "",
					      strcmp(pr, ".") ? pr : ".", d);
				found = 1;
				break;
			}
		}
	}
	av_publish_all_free(all, n);
	return found;
}

static int owners_of(pubctx *p, const char *rel, av_buf *out)
{
	av_state **all = NULL;
	size_t n = 0;
	int rc;

	if ((rc = av_publish_all(p->c, &all, &n)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		git_tree *ch = NULL;
		pfiles f = { 0 };
		if (strcmp(av_state_get(all[i], "prefix", "."), p->prefix))
			continue;
		if (!state_chunks(p->c->store, all[i], &ch) &&
		    !tree_files(p->c->store, ch, &f, NULL)) {
			pfiles_sort(&f);
			if (pfiles_has(&f, rel))
				av_buf_printf(out, "%s'%s'", out->len ? ", " : "",
					      av_state_get(all[i], "distribution", "?"));
		}
		pfiles_dispose(&f);
		git_tree_free(ch);
	}
	av_publish_all_free(all, n);
	return 0;
}

/* $ROOT/tmp/sweep/ENCODED-PREFIX. */
static int pending_dir(av_buf *out, av_ctx *c, const char *prefix)
{
	int rc;

	if ((rc = av_buf_printf(out, "%s/tmp/sweep/", av_store_root(c->store))))
		return rc;
	return av_name_encode(out, prefix);
}

/* Leave candidates for the next sweep of the prefix (a file per run). */
static int pending_save(av_ctx *c, const char *prefix, const pfiles *cand, av_buf *saved)
{
	av_buf dir = AV_BUF_INIT, path = AV_BUF_INIT, body = AV_BUF_INIT;
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	if ((rc = pending_dir(&dir, c, prefix)) || (rc = av_mkdir_p(dir.ptr)) ||
	    (rc = av_buf_printf(&path, "%s/%ld-%ld-%ld.list", dir.ptr, (long)getpid(),
				(long)ts.tv_sec, (long)ts.tv_nsec)))
		goto done;
	for (size_t i = 0; i < cand->n && !rc; i++)
		rc = file_line(&body, cand->v[i].sha, cand->v[i].key, cand->v[i].rel);
	if (!rc)
		rc = av_file_write_atomic(path.ptr, body.ptr ? body.ptr : "", body.len);
	if (!rc && saved)
		rc = av_buf_puts(saved, path.ptr);
done:
	av_buf_dispose(&dir);
	av_buf_dispose(&path);
	av_buf_dispose(&body);
	return rc;
}

/* Take every pending list of the prefix into cand (under the exclusive
 * prefix lock); their names go to taken, to be removed after. */
static int pending_take(av_ctx *c, const char *prefix, pfiles *cand, av_buf *taken)
{
	av_buf dir = AV_BUF_INIT, data = AV_BUF_INIT, path = AV_BUF_INIT;
	char **names = NULL;
	size_t n = 0;
	int rc;

	if ((rc = pending_dir(&dir, c, prefix)))
		goto done;
	if (av_is_dir(dir.ptr) != 1)
		goto done;
	if ((rc = av_dir_list(dir.ptr, ".list", &names, &n)))
		goto done;
	for (size_t i = 0; i < n && !rc; i++) {
		av_buf_clear(&path);
		av_buf_clear(&data);
		if ((rc = av_buf_printf(&path, "%s/%s", dir.ptr, names[i])) ||
		    (rc = av_file_read(&data, path.ptr, (size_t)1 << 30)) ||
		    (rc = pfiles_parse(cand, data.ptr ? data.ptr : "", data.len)))
			break;
		rc = av_buf_printf(taken, "%s%c", path.ptr, 0);
	}
done:
	av_dir_list_free(names, n);
	av_buf_dispose(&dir);
	av_buf_dispose(&data);
	av_buf_dispose(&path);
	return rc;
}

/* A published component's package list, to ask whether it holds a
 * package (and so references its pool files). */
typedef struct holder {
	char *component;
	av_plist *list;
} holder;

static void holders_free(holder *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].component);
		av_plist_free(h[i].list);
	}
	free(h);
}

/* The components of every distribution of the prefix. */
static int holders_open(av_ctx *c, const char *prefix, av_state **all, size_t n,
			holder **out, size_t *nout)
{
	size_t alloc = 0;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const cJSON *it;
		if (strcmp(av_state_get(all[i], "prefix", "."), prefix))
			continue;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(all[i]->meta, "components")) {
			const char *cn = jstr(it, "component"), *lh = jstr(it, "list");
			git_oid oid;
			holder *e;
			if (!cn || !lh || git_oid_fromstr(&oid, lh) < 0)
				continue;
			if ((rc = av_array_grow((void **)out, &alloc, *nout + 1, sizeof(**out))))
				break;
			e = &(*out)[*nout];
			memset(e, 0, sizeof(*e));
			if (!(e->component = av_strdup(cn))) {
				rc = AV_ERROR;
				break;
			}
			(*nout)++;
			if ((rc = av_plist_open(&e->list, c->store, &oid)))
				break;
		}
	}
	return rc;
}

/* Is f (pool/COMPONENT/...) a file of a package some holder lists?
 * A package in a list is published with that file: same key, same
 * content (a collision is refused at publish time).  Keeping a file a
 * list holds for an architecture not published is harmless. */
static int holders_use(holder *h, size_t n, const pfile *f, int *used)
{
	const char *comp = f->rel + 5, *end = strchr(comp, '/');
	git_oid oid;

	*used = 1;
	if (strncmp(f->rel, "pool/", 5) || !end || !f->key || !*f->key)
		return 0;
	*used = 0;
	for (size_t i = 0; i < n && !*used; i++) {
		int rc;
		if (strlen(h[i].component) != (size_t)(end - comp) ||
		    strncmp(h[i].component, comp, (size_t)(end - comp)))
			continue;
		rc = av_plist_get(h[i].list, f->key, &oid);
		if (rc == 0)
			*used = 1;
		else if (rc != AV_ENOTFOUND)
			return rc;
	}
	return 0;
}

/*
 * Remove candidates no distribution of the prefix references, under the
 * prefix's exclusive lock, waiting at most timeout: while another
 * publish of the prefix runs, the candidates are left in a pending list
 * that the next sweep of the prefix takes up.
 */
static int sweep_pool(av_ctx *c, const char *prefix, const char *pubroot, pfiles *cand,
		      double timeout, size_t *removed)
{
	av_lockset *ls = NULL;
	av_state **all = NULL;
	size_t n = 0, nh = 0;
	holder *h = NULL;
	av_buf path = AV_BUF_INIT, taken = AV_BUF_INIT;
	int rc;

	if ((rc = av_lockset_new(&ls, av_store_root(c->store))) ||
	    (rc = av_lockset_add(ls, "prefix", prefix, AV_LOCK_EXCLUSIVE)))
		goto done;
	if ((rc = av_lockset_acquire(ls, timeout))) {
		if (rc == AV_EBUSY)
			rc = cand->n ? pending_save(c, prefix, cand, NULL) : 0;
		goto done;
	}
	if ((rc = pending_take(c, prefix, cand, &taken)))
		goto done;
	if (!cand->n)
		goto done;
	pfiles_sort(cand);
	if ((rc = av_publish_all(c, &all, &n)) || (rc = holders_open(c, prefix, all, n, &h, &nh)))
		goto done;
	for (size_t i = 0; i < cand->n; i++) {
		int used = 1;
		if ((rc = holders_use(h, nh, &cand->v[i], &used)))
			break;
		if (used)
			continue;
		av_buf_clear(&path);
		if ((rc = av_buf_printf(&path, "%s/%s", pubroot, cand->v[i].rel)))
			break;
		if (unlink(path.ptr) == 0) {
			(*removed)++;
			prune_dirs(path.ptr);
		} else if (errno != ENOENT) {
			rc = av_error_set_errno(AV_EIO, errno, "cannot remove '%s'", path.ptr);
			break;
		}
	}
	/* Pending lists are done with once their files are. */
	for (size_t off = 0; !rc && off < taken.len; off += strlen(taken.ptr + off) + 1)
		unlink(taken.ptr + off);
done:
	holders_free(h, nh);
	av_buf_dispose(&path);
	av_buf_dispose(&taken);
	av_publish_all_free(all, n);
	av_lockset_free(ls);
	return rc;
}

/* ---- the publish itself ---- */

enum { MODE_CREATE, MODE_SWITCH, MODE_UPDATE };

typedef struct want {
	char *component, *kind, *name;
	git_oid state, list;
	int pinned;		/* a snapshot's list kept from the live state */
} want;

static void wants_free(want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(w[i].component);
		free(w[i].kind);
		free(w[i].name);
	}
	free(w);
}

static int want_add(want **w, size_t *n, size_t *alloc, const char *component,
		    const char *kind, const char *name)
{
	int rc;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*w)[i].component, component))
			return av_error_set(AV_EINVALID, "component '%s' is given twice",
					    component);
	if ((rc = check_path("component", component, 0)))
		return rc;
	if (strchr(component, '/'))
		return av_error_set(AV_EINVALID, "component '%s' contains '/'", component);
	if (strcmp(kind, "snapshot") && strcmp(kind, "repo"))
		return av_error_set(AV_EINVALID, "cannot publish a %s", kind);
	if ((rc = av_array_grow((void **)w, alloc, *n + 1, sizeof(**w))))
		return rc;
	memset(&(*w)[*n], 0, sizeof(**w));
	(*n)++;
	if (!((*w)[*n - 1].component = av_strdup(component)) ||
	    !((*w)[*n - 1].kind = av_strdup(kind)) || !((*w)[*n - 1].name = av_strdup(name)))
		return AV_ERROR;
	return 0;
}

/* The components a state publishes (or stages, with key "staged"). */
static int wants_from(const av_state *st, const char *key, want **w, size_t *n,
		      size_t *alloc, int pin_snapshots)
{
	const cJSON *it;
	int rc;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st->meta, key)) {
		const char *cn = jstr(it, "component"), *k = jstr(it, "kind");
		const char *nm = jstr(it, "name"), *sth = jstr(it, "state");
		const char *lh = jstr(it, "list");
		if (!cn || !k || !nm)
			return av_error_set(AV_EINVALID, "published state has a malformed "
					    "component");
		if ((rc = want_add(w, n, alloc, cn, k, nm)))
			return rc;
		if (pin_snapshots && !strcmp(k, "snapshot") && sth && lh &&
		    !git_oid_fromstr(&(*w)[*n - 1].state, sth) &&
		    !git_oid_fromstr(&(*w)[*n - 1].list, lh))
			(*w)[*n - 1].pinned = 1;
	}
	return 0;
}

static long long publish_now(void)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (e && *e) {
		v = strtoll(e, &end, 10);
		if (!*end && v >= 0)
			return v;
	}
	return (long long)time(NULL);
}

static int set_str(cJSON *meta, const char *k, const char *v)
{
	if (!v)
		return 0;
	cJSON_DeleteItemFromObjectCaseSensitive(meta, k);
	if (*v && !cJSON_AddStringToObject(meta, k, v))
		return av_error_set(AV_ERROR, "out of memory");
	return 0;
}

static void set_flag(cJSON *meta, const char *k, int v, int def)
{
	if (v < 0 && cJSON_GetObjectItemCaseSensitive(meta, k))
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(meta, k);
	cJSON_AddBoolToObject(meta, k, v < 0 ? def : v);
}

static int apply_opts(pubctx *p)
{
	const av_publish_opts *o = p->o;
	cJSON *m = p->meta, *it;
	int rc;

	if ((rc = set_str(m, "origin", o->origin)) || (rc = set_str(m, "label", o->label)) ||
	    (rc = set_str(m, "suite", o->suite)) || (rc = set_str(m, "codename", o->codename)) ||
	    (rc = set_str(m, "version", o->version)) ||
	    (rc = set_str(m, "signed_by", o->signed_by)))
		return rc;
	set_flag(m, "notautomatic", o->notautomatic, 0);
	set_flag(m, "butautomaticupgrades", o->butautomaticupgrades, 0);
	set_flag(m, "acquire_by_hash", o->acquire_by_hash, 1);
	set_flag(m, "skip_contents", o->skip_contents, 0);
	if (o->valid_for >= 0 || !cJSON_GetObjectItemCaseSensitive(m, "valid_for")) {
		cJSON_DeleteItemFromObjectCaseSensitive(m, "valid_for");
		cJSON_AddNumberToObject(m, "valid_for", o->valid_for > 0 ? (double)o->valid_for : 0);
	}
	p->compress = o->compress;
	if (!p->compress) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "compress")) {
			av_comp cc;
			if (cJSON_IsString(it) && !av_comp_parse(&cc, it->valuestring))
				p->compress |= 1u << cc;
		}
	}
	if (!p->compress)
		p->compress = AV_PUBLISH_COMPRESS_DEFAULT;
	cJSON_DeleteItemFromObjectCaseSensitive(m, "compress");
	it = cJSON_AddArrayToObject(m, "compress");
	for (int c = 1; c < NCOMP; c++)
		if (p->compress & (1u << c))
			cJSON_AddItemToArray(it, cJSON_CreateString(av_comp_ext((av_comp)c) + 1));
	p->by_hash = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "acquire_by_hash"));
	p->contents = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "skip_contents"));
	return 0;
}

static int archs_decide(pubctx *p)
{
	const av_publish_opts *o = p->o;
	const cJSON *it;
	cJSON *arr;
	size_t alloc = 0;
	int rc;

#define ADD_ARCH(a) do { \
	if (!has_str(p->archs, p->narch, (a))) { \
		if ((rc = av_array_grow((void **)&p->archs, &alloc, p->narch + 1, \
					sizeof(*p->archs)))) \
			return rc; \
		if (!(p->archs[p->narch] = av_strdup(a))) \
			return AV_ERROR; \
		p->narch++; \
	} } while (0)

	if (o->narchitectures) {
		for (size_t i = 0; i < o->narchitectures; i++) {
			if ((rc = check_path("architecture", o->architectures[i], 0)))
				return rc;
			if (!strcmp(o->architectures[i], "all"))
				return av_error_set(AV_EINVALID, "'all' is not an architecture "
						    "to publish: its packages go into every "
						    "architecture's index");
			ADD_ARCH(o->architectures[i]);
		}
	} else if (p->old && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
				     p->old->meta, "architectures")) > 0) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(p->old->meta,
									"architectures"))
			if (cJSON_IsString(it))
				ADD_ARCH(it->valuestring);
	} else {
		for (size_t i = 0; i < p->ncp; i++)
			for (size_t j = 0; j < p->cps[i].n; j++)
				if (strcmp(p->cps[i].e[j].arch, "all"))
					ADD_ARCH(p->cps[i].e[j].arch);
		if (!p->narch) {
			size_t total = 0;
			for (size_t i = 0; i < p->ncp; i++)
				total += p->cps[i].n;
			return av_error_set(AV_EINVALID, "cannot tell which architectures to "
					    "publish (%s); give --architectures",
					    total ? "only 'all' packages" : "no packages");
		}
	}
#undef ADD_ARCH
	qsort(p->archs, p->narch, sizeof(*p->archs), str_cmp);
	p->with_sources = has_str(p->archs, p->narch, "source");
	cJSON_DeleteItemFromObjectCaseSensitive(p->meta, "architectures");
	arr = cJSON_AddArrayToObject(p->meta, "architectures");
	for (size_t i = 0; i < p->narch; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(p->archs[i]));
	return 0;
}

/* aux: lists/COMPONENT -> list tree, chunks/KEY -> chunk tree. */
static int write_aux(pubctx *p, git_oid *out, git_oid *chunks_out)
{
	av_store *s = p->c->store;
	git_repository *repo = av_store_git(s);
	git_treebuilder *aux = NULL, *lists = NULL, *chunks = NULL, *empty = NULL;
	git_oid lists_oid, empty_oid;
	int err = 0, rc = 0;

	if ((err = git_treebuilder_new(&aux, repo, NULL)) < 0 ||
	    (err = git_treebuilder_new(&lists, repo, NULL)) < 0 ||
	    (err = git_treebuilder_new(&chunks, repo, NULL)) < 0 ||
	    (err = git_treebuilder_new(&empty, repo, NULL)) < 0)
		goto done;
	if ((rc = av_store_tree_write(s, &empty_oid, empty)))
		goto done;
	for (size_t i = 0; i < p->ncp && err >= 0; i++)
		err = git_treebuilder_insert(NULL, lists, p->cps[i].name,
					     git_oid_is_zero(&p->cps[i].list) ? &empty_oid
									    : &p->cps[i].list,
					     GIT_FILEMODE_TREE);
	for (size_t i = 0; i < p->nall && err >= 0; i++)
		err = git_treebuilder_insert(NULL, chunks, p->all[i]->key, &p->all[i]->tree,
					     GIT_FILEMODE_TREE);
	if (err < 0)
		goto done;
	if ((rc = av_store_tree_write(s, &lists_oid, lists)) ||
	    (rc = av_store_tree_write(s, chunks_out, chunks)))
		goto done;
	if ((err = git_treebuilder_insert(NULL, aux, "lists", &lists_oid,
					  GIT_FILEMODE_TREE)) < 0 ||
	    (err = git_treebuilder_insert(NULL, aux, "chunks", chunks_out,
					  GIT_FILEMODE_TREE)) < 0)
		goto done;
	rc = av_store_tree_write(s, out, aux);
done:
	if (err < 0)
		rc = av_error_from_git(err, "cannot build the published state");
	git_treebuilder_free(aux);
	git_treebuilder_free(lists);
	git_treebuilder_free(chunks);
	git_treebuilder_free(empty);
	return rc;
}

/* The file in each generation naming the state that describes it. */
static const char MARKER[] = ".aptvault-state";

/*
 * Is the live generation the one the state we read describes?  Not when
 * a publish crashed between switching the directories and moving the
 * ref: then nothing is reused from the live files (they would be listed
 * with the old state's digests), and everything is made anew.
 */
static int live_matches(pubctx *p)
{
	av_buf path = AV_BUF_INIT, got = AV_BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];
	int ok = 0;

	if (!p->old)
		return 0;
	git_oid_tostr(hex, sizeof(hex), &p->old->commit);
	if (!av_buf_printf(&path, "%s/%s", p->live.ptr, MARKER) &&
	    !av_file_read(&got, path.ptr, 64))
		ok = got.len >= GIT_OID_HEXSZ && !memcmp(got.ptr, hex, GIT_OID_HEXSZ);
	av_error_clear();
	av_buf_dispose(&path);
	av_buf_dispose(&got);
	return ok;
}

/* ".BASE.new-PID", ".BASE.new-PID.swap", ".BASE.drop-PID": what a crashed
 * publish or drop of this distribution left beside it. */
static int is_debris(const char *name, const char *base)
{
	size_t n = strlen(base);
	const char *p;

	if (name[0] != '.' || strncmp(name + 1, base, n))
		return 0;
	p = name + 1 + n;
	if (!strncmp(p, ".new-", 5))
		p += 5;
	else if (!strncmp(p, ".drop-", 6))
		p += 6;
	else
		return 0;
	if (!(*p >= '0' && *p <= '9'))
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return !*p || !strcmp(p, ".swap");
}

/* Remove the debris of this distribution (its lock is held: no live
 * publish of it can own any). */
static void clean_debris(const char *live)
{
	av_buf dir = AV_BUF_INIT, path = AV_BUF_INIT;
	const char *slash = strrchr(live, '/');
	DIR *d;
	struct dirent *e;

	if (av_buf_printf(&dir, "%.*s", (int)(slash - live), live) ||
	    !(d = opendir(dir.ptr))) {
		av_buf_dispose(&dir);
		return;
	}
	while ((e = readdir(d))) {
		if (!is_debris(e->d_name, slash + 1))
			continue;
		av_buf_clear(&path);
		if (!av_buf_printf(&path, "%s/%s", dir.ptr, e->d_name))
			av_remove_tree(path.ptr);
	}
	closedir(d);
	av_error_clear();
	av_buf_dispose(&dir);
	av_buf_dispose(&path);
}

static int stage_paths(pubctx *p)
{
	const char *slash;
	int rc;

	if ((rc = pub_root(&p->root, p->c, p->prefix)) ||
	    (rc = av_buf_printf(&p->live, "%s/dists/%s", p->root.ptr, p->dist)))
		return rc;
	slash = strrchr(p->live.ptr, '/');
	return av_buf_printf(&p->stage, "%.*s/.%s.new-%ld", (int)(slash - p->live.ptr),
			     p->live.ptr, slash + 1, (long)getpid());
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot open '%s'", dir);
	if (syncfs(fd) < 0)
		rc = av_error_set_errno(AV_EIO, errno, "cannot sync '%s'", dir);
	close(fd);
	return rc;
}

/*
 * Put a and b in each other's place: one renameat2(RENAME_EXCHANGE),
 * so a reader sees the old generation or the new one, never neither.
 * Where the filesystem cannot exchange, two renames (a short window).
 */
static int exchange_dirs(const char *a, const char *b)
{
	av_buf tmp = AV_BUF_INIT;
	int rc = 0;

	if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return av_error_set_errno(AV_EIO, errno, "cannot switch '%s' into place", b);
	if ((rc = av_buf_printf(&tmp, "%s.swap", a)))
		return rc;
	if (rename(b, tmp.ptr) < 0 || rename(a, b) < 0 || rename(tmp.ptr, a) < 0)
		rc = av_error_set_errno(AV_EIO, errno, "cannot switch '%s' into place", b);
	av_buf_dispose(&tmp);
	return rc;
}

static int dir_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Make the staged generation live; *had_live says an old one was
 * exchanged (and now sits at the staging path). */
static int go_live(pubctx *p, int *had_live)
{
	char *slash;
	int rc;

	*had_live = dir_exists(p->live.ptr);
	if (av_failpoint("publish-switch"))
		return av_error_set(AV_EIO, "cannot switch '%s' into place: injected "
				    "failure (failpoint publish-switch)", p->live.ptr);
	if (*had_live)
		rc = exchange_dirs(p->stage.ptr, p->live.ptr);
	else if (rename(p->stage.ptr, p->live.ptr) < 0)
		rc = av_error_set_errno(AV_EIO, errno, "cannot move '%s' into place",
					p->live.ptr);
	else
		rc = 0;
	if (rc)
		return rc;
	slash = strrchr(p->live.ptr, '/');
	*slash = 0;
	av_fsync_dir(p->live.ptr);
	*slash = '/';
	return 0;
}

static int go_back(pubctx *p, int had_live)
{
	if (had_live)
		return exchange_dirs(p->stage.ptr, p->live.ptr);
	return rename(p->live.ptr, p->stage.ptr) < 0 ? AV_EIO : 0;
}

static int default_dist(av_ctx *c, const av_publish_component *comps, size_t n,
			const char **out, av_state **hold)
{
	*out = NULL;
	*hold = NULL;
	if (!n || strcmp(comps[0].kind, "repo"))
		return 0;
	if (peek(c, "repo", comps[0].name, hold))
		return 0;
	if (*hold)
		*out = av_state_get(*hold, "distribution", NULL);
	if (*out && !**out)
		*out = NULL;
	return 0;
}

static int publish_run(av_ctx *c, const av_publish_opts *o, int mode,
		       const av_publish_component *comps, size_t n, av_publish_result *res)
{
	pubctx p;
	av_txn *t = NULL;
	want *w = NULL;
	size_t nw = 0, walloc = 0;
	av_state *hold = NULL, *st = NULL;
	git_oid seen, commit, new_chunks;
	git_tree *new_chunks_tree = NULL;
	pfiles cand = { 0 };
	char msg[1024];
	int rc, had_live = 0, live_switched = 0;

	memset(&p, 0, sizeof(p));
	memset(res, 0, sizeof(*res));
	p.c = c;
	p.o = o;
	p.res = res;
	p.prefix = norm_prefix(o->prefix);
	p.dist = o->distribution;
	p.now = publish_now();
	if (!p.dist && mode == MODE_CREATE)
		default_dist(c, comps, n, &p.dist, &hold);
	if (!p.dist) {
		rc = av_error_set(AV_EINVALID, "no distribution given; use --distribution");
		goto done;
	}
	if ((rc = pub_name(&p.pubname, p.prefix, p.dist)))
		goto done;
	for (int attempt = 0;; attempt++) {
		av_txn_opts to = { c->lock_timeout, c->command };
		av_state *peeked = NULL;

		wants_free(w, nw);
		w = NULL;
		nw = walloc = 0;
		if ((rc = peek(c, KIND, p.pubname.ptr, &peeked)))
			goto done;
		if (mode == MODE_CREATE) {
			if (peeked) {
				av_state_free(peeked);
				rc = av_error_set(AV_EEXISTS, "distribution '%s' is already "
						  "published at prefix '%s'; use 'publish "
						  "switch' or 'publish update'", p.dist, p.prefix);
				goto done;
			}
			for (size_t i = 0; i < n && !rc; i++)
				rc = want_add(&w, &nw, &walloc,
					      comps[i].component ? comps[i].component : "main",
					      comps[i].kind, comps[i].name);
		} else if (!peeked) {
			rc = not_published(p.prefix, p.dist);
		} else if (mode == MODE_SWITCH) {
			rc = wants_from(peeked, "components", &w, &nw, &walloc, 1);
			for (size_t i = 0; i < n && !rc; i++) {
				size_t j;
				const char *cn = comps[i].component;
				if (!cn && nw == 1)
					cn = w[0].component;
				for (j = 0; j < nw && cn; j++)
					if (!strcmp(w[j].component, cn))
						break;
				if (!cn || j == nw) {
					rc = av_error_set(AV_EINVALID, "distribution '%s' has no "
							  "component '%s'", p.dist,
							  cn ? cn : "(give --component)");
					break;
				}
				if (strcmp(w[j].kind, "snapshot")) {
					rc = av_error_set(AV_EINVALID, "component '%s' publishes a "
							  "local repo; switch works on "
							  "snapshots, use 'publish update'", cn);
					break;
				}
				free(w[j].name);
				if (!(w[j].name = av_strdup(comps[i].name)))
					rc = AV_ERROR;
				w[j].pinned = 0;
			}
		} else {
			const cJSON *staged = cJSON_GetObjectItemCaseSensitive(peeked->meta,
									      "staged");
			rc = wants_from(peeked, staged ? "staged" : "components", &w, &nw,
					&walloc, 1);
		}
		if (!rc) {
			if ((rc = av_txn_begin(&t, c->store, &to)) ||
			    (rc = av_txn_declare(t, KIND, p.pubname.ptr, AV_LOCK_EXCLUSIVE)) ||
			    (rc = av_txn_declare(t, "prefix", p.prefix, AV_LOCK_SHARED)))
				goto peeked_done;
			for (size_t i = 0; i < nw && !rc; i++)
				if (!w[i].pinned && !strcmp(w[i].kind, "snapshot"))
					rc = av_txn_declare(t, "snapshot", w[i].name, AV_LOCK_SHARED);
			if (!rc && !(rc = av_txn_lock(t)))
				rc = av_txn_read(t, KIND, p.pubname.ptr, &seen);
			if (rc == AV_ENOTFOUND) {
				git_oid_fromstr(&seen, "0000000000000000000000000000000000000000");
				rc = 0;
			}
		}
peeked_done:
		if (!rc && ((peeked && git_oid_cmp(&seen, &peeked->commit)) ||
			    (!peeked && !git_oid_is_zero(&seen)))) {
			/* Changed between the peek and the lock: plan again. */
			av_state_free(peeked);
			av_txn_free(t);
			t = NULL;
			if (attempt < 8)
				continue;
			rc = av_error_set(AV_EBUSY, "distribution '%s' keeps changing; try "
					  "again", p.dist);
			goto done;
		}
		p.old = peeked;
		if (rc)
			goto done;
		break;
	}
	/* The sources, read fresh (snapshots under their shared locks). */
	if (!(p.cps = av_calloc(nw ? nw : 1, sizeof(*p.cps)))) {
		rc = AV_ERROR;
		goto done;
	}
	for (size_t i = 0; i < nw; i++) {
		comp *cp = &p.cps[p.ncp++];
		if (!(cp->name = av_strdup(w[i].component)) || !(cp->kind = av_strdup(w[i].kind)) ||
		    !(cp->source = av_strdup(w[i].name))) {
			rc = AV_ERROR;
			goto done;
		}
		if (w[i].pinned) {
			cp->state = w[i].state;
			cp->list = w[i].list;
		} else {
			git_oid oid;
			av_state *src = NULL;
			if (!strcmp(w[i].kind, "snapshot"))
				rc = av_txn_read(t, "snapshot", w[i].name, &oid);
			else if (!(rc = ref_of(c->store, "repo", w[i].name, &oid)) &&
				 git_oid_is_zero(&oid))
				rc = AV_ENOTFOUND;
			if (rc == AV_ENOTFOUND)
				rc = av_error_set(AV_ENOTFOUND, "%s '%s' does not exist; see "
						  "'aptvault %s list'", w[i].kind, w[i].name,
						  w[i].kind);
			if (rc || (rc = av_state_load(&src, c->store, &oid)))
				goto done;
			cp->state = src->commit;
			cp->list = src->packages;
			av_state_free(src);
		}
		{
			av_plist *l = NULL;
			if ((rc = av_plist_open(&l, c->store, &cp->list)))
				goto done;
			rc = av_plist_foreach(l, gather_one, cp);
			av_plist_free(l);
			if (rc)
				goto done;
		}
		res->packages += cp->n;
	}
	/* The new settings. */
	p.meta = p.old ? cJSON_Duplicate(p.old->meta, 1) : cJSON_CreateObject();
	p.files = cJSON_CreateObject();
	if (!p.meta || !p.files) {
		rc = av_error_set(AV_ERROR, "out of memory");
		goto done;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(p.meta, "staged");
	cJSON_DeleteItemFromObjectCaseSensitive(p.meta, "files");
	cJSON_DeleteItemFromObjectCaseSensitive(p.meta, "byhash");
	cJSON_DeleteItemFromObjectCaseSensitive(p.meta, "components");
	if ((rc = set_str(p.meta, "prefix", p.prefix)) ||
	    (rc = set_str(p.meta, "distribution", p.dist)) || (rc = apply_opts(&p)) ||
	    (rc = archs_decide(&p)))
		goto done;
	{
		cJSON *arr = cJSON_AddArrayToObject(p.meta, "components");
		for (size_t i = 0; i < p.ncp; i++) {
			cJSON *o2 = cJSON_CreateObject();
			char hex[GIT_OID_HEXSZ + 1];
			cJSON_AddStringToObject(o2, "component", p.cps[i].name);
			cJSON_AddStringToObject(o2, "kind", p.cps[i].kind);
			cJSON_AddStringToObject(o2, "name", p.cps[i].source);
			cJSON_AddStringToObject(o2, "state", git_oid_tostr(hex, sizeof(hex),
									  &p.cps[i].state));
			cJSON_AddStringToObject(o2, "list", git_oid_tostr(hex, sizeof(hex),
									 &p.cps[i].list));
			cJSON_AddItemToArray(arr, o2);
		}
		cJSON_DeleteItemFromObjectCaseSensitive(p.meta, "published");
		cJSON_AddNumberToObject(p.meta, "published", (double)p.now);
		cJSON_DeleteItemFromObjectCaseSensitive(p.meta, "signed");
		cJSON_AddBoolToObject(p.meta, "signed", !o->skip_signing);
	}
	/* Chunks. */
	for (size_t i = 0; i < p.ncp; i++) {
		for (size_t a = 0; a < p.narch && !rc; a++)
			if (strcmp(p.archs[a], "source"))
				rc = add_group(&p, &p.cps[i], G_BIN, p.archs[a]);
		if (!rc && p.with_sources)
			rc = add_group(&p, &p.cps[i], G_SRC, NULL);
		if (rc)
			goto done;
	}
	for (size_t i = 0; i < p.ng; i++)
		if ((rc = chunk_group(&p, &p.g[i])))
			goto done;
	/* The new chunks go to disk now: their blobs leave memory, and the
	 * files are made from the chunks' own buffers. */
	/* Objects are made durable by the generation's syncfs below (I6:
	 * before the ref moves), not by an fsync each. */
	av_store_defer_sync(c->store, 1);
	/* (the paths first: the pool thread links under p.root) */
	if ((rc = stage_paths(&p)) ||
	    (rc = state_chunks(c->store, p.old, &p.old_chunks)) || (rc = other_chunks(&p)) ||
	    (rc = build_chunks(&p)) || (rc = pool_start(&p)) ||
	    (rc = av_store_flush(c->store)))
		goto done;
	/* The generation, beside the live one. */
	clean_debris(p.live.ptr);
	p.live_ok = live_matches(&p);
	if ((rc = av_mkdir_p(p.stage.ptr)))
		goto done;
	for (size_t i = 0; i < p.ng; i++)
		if ((rc = write_group(&p, &p.g[i])))
			goto fail_stage;
	if ((rc = pool_finish(&p)) || (rc = jobs_finish(&p)) || (rc = write_by_hash(&p)) ||
	    (rc = write_release(&p)))
		goto fail_stage;
	cJSON_AddItemToObject(p.meta, "files", p.files);
	p.files = cJSON_CreateObject();
	/* The state, durable before anything is switched (I6). */
	if ((rc = av_state_new(&st)))
		goto fail_stage;
	cJSON_Delete(st->meta);
	st->meta = p.meta;
	p.meta = NULL;
	snprintf(msg, sizeof(msg), "%s", c->command ? c->command : "aptvault publish");
	if ((rc = write_aux(&p, &st->aux, &new_chunks)) ||
	    (rc = av_state_write(c->store, st, msg, &commit)))
		goto fail_stage;
	{
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), &commit);
		hex[GIT_OID_HEXSZ] = '\n';
		if ((rc = stage_write(&p, MARKER, hex, GIT_OID_HEXSZ + 1)))
			goto fail_stage;
	}
	if ((rc = av_store_flush(c->store)) || (rc = sync_dir(p.stage.ptr)) ||
	    (rc = av_store_settle(c->store, p.stage.ptr)) ||
	    (rc = av_store_defer_sync(c->store, 0)))
		goto fail_stage;
	if ((rc = go_live(&p, &had_live)))
		goto fail_stage;
	live_switched = 1;
	/* Tests: a crash between the switch and the ref. */
	if (av_failpoint("publish-crash"))
		_exit(137);
	if ((rc = av_txn_stage(t, KIND, p.pubname.ptr, &commit)) ||
	    (rc = av_txn_commit(t, msg))) {
		int e = av_error_code();
		char why[512];
		snprintf(why, sizeof(why), "%s", av_error_last());
		if (go_back(&p, had_live))
			av_error_set(AV_EIO, "%s; and the previous generation of '%s' could "
				     "not be put back", why, p.live.ptr);
		else
			av_error_set(e ? e : rc, "%s", why);
		live_switched = 0;
		goto fail_stage;
	}
	if (p.intent.len)
		unlink(p.intent.ptr);
	if (had_live)
		av_remove_tree(p.stage.ptr);
	if (!(res->where = av_strdup(p.live.ptr + strlen(av_store_root(c->store)) + 1))) {
		rc = AV_ERROR;
		goto done;
	}
	av_txn_free(t);
	t = NULL;
	/* Package files only the previous generation used, and what earlier
	 * sweeps of the prefix left pending.  The publish is done: a sweep
	 * that fails leaves files behind, never a broken distribution. */
	if (p.old_chunks && !av_store_tree_read(c->store, &new_chunks_tree, &new_chunks) &&
	    !tree_files(c->store, p.old_chunks, &cand, new_chunks_tree))
		drop_built(&p, &cand);
	sweep_pool(c, p.prefix, p.root.ptr, &cand, 0, &res->pool_removed);
	goto done;
fail_stage:
	{
		/* Writers must be done before their directory goes. */
		int e = av_error_code();
		char keep[1024];
		snprintf(keep, sizeof(keep), "%s", av_error_last());
		jobs_finish(&p);
		pool_finish(&p);
		av_error_set(e ? e : rc, "%s", keep);
	}
	if (!live_switched && p.stage.len)
		av_remove_tree(p.stage.ptr);
done:
	/* a failure before the settle: what was flushed is synced now (its
	 * own error, if any, would only hide the first one) */
	(void)av_store_defer_sync(c->store, 0);
	{
		int e = av_error_code();
		char keep[1024];
		size_t gone = 0;
		snprintf(keep, sizeof(keep), "%s", av_error_last());
		pool_finish(&p);
		av_txn_free(t);
		/* A failed publish takes back the pool links it made, unless
		 * another publish of the prefix is running (then the next
		 * sweep does). */
		if (rc && p.linked.n)
			sweep_pool(c, p.prefix, p.root.ptr, &p.linked, 0, &gone);
		if (rc)
			av_error_set(e ? e : rc, "%s", keep);
	}
	pfiles_dispose(&cand);
	git_tree_free(new_chunks_tree);
	av_state_free(st);
	av_state_free(hold);
	wants_free(w, nw);
	pubctx_dispose(&p);
	return rc;
}

int av_publish_create(av_ctx *c, const av_publish_opts *o, const av_publish_component *comps,
		      size_t n, av_publish_result *res)
{
	if (!n)
		return av_error_set(AV_EINVALID, "nothing to publish");
	return publish_run(c, o, MODE_CREATE, comps, n, res);
}

int av_publish_switch(av_ctx *c, const av_publish_opts *o, const av_publish_component *comps,
		      size_t n, av_publish_result *res)
{
	if (!n)
		return av_error_set(AV_EINVALID, "no snapshot to switch to");
	return publish_run(c, o, MODE_SWITCH, comps, n, res);
}

int av_publish_update(av_ctx *c, const av_publish_opts *o, av_publish_result *res)
{
	return publish_run(c, o, MODE_UPDATE, NULL, 0, res);
}

/* ---- drop and staging ---- */

int av_publish_drop(av_ctx *c, const char *prefix, const char *dist, int force)
{
	av_txn_opts to = { c->lock_timeout, c->command };
	av_txn *t = NULL;
	av_state *st = NULL;
	av_buf name = AV_BUF_INIT, root = AV_BUF_INIT, live = AV_BUF_INIT, gone = AV_BUF_INIT;
	git_tree *ch = NULL;
	pfiles cand = { 0 };
	git_oid seen;
	size_t removed = 0;
	int rc, moved = 0;

	prefix = norm_prefix(prefix);
	if ((rc = pub_name(&name, prefix, dist)) || (rc = av_txn_begin(&t, c->store, &to)) ||
	    (rc = av_txn_declare(t, KIND, name.ptr, AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_declare(t, "prefix", prefix, AV_LOCK_SHARED)) ||
	    (rc = av_txn_lock(t)))
		goto done;
	if ((rc = av_txn_read(t, KIND, name.ptr, &seen))) {
		if (rc == AV_ENOTFOUND)
			rc = not_published(prefix, dist);
		goto done;
	}
	if ((rc = av_state_load(&st, c->store, &seen)) ||
	    (rc = state_chunks(c->store, st, &ch)) || (rc = tree_files(c->store, ch, &cand, NULL)))
		goto done;
	pfiles_sort(&cand);
	if ((rc = pub_root(&root, c, prefix)) ||
	    (rc = av_buf_printf(&live, "%s/dists/%s", root.ptr, dist)) ||
	    (rc = av_buf_printf(&gone, "%.*s/.%s.drop-%ld",
				(int)(strrchr(live.ptr, '/') - live.ptr), live.ptr,
				strrchr(live.ptr, '/') + 1, (long)getpid())))
		goto done;
	if (dir_exists(live.ptr)) {
		if (rename(live.ptr, gone.ptr) < 0) {
			rc = av_error_set_errno(AV_EIO, errno, "cannot remove '%s'", live.ptr);
			goto done;
		}
		moved = 1;
	}
	if ((rc = av_txn_stage(t, KIND, name.ptr, NULL)) || (rc = av_txn_commit(t, "dropped"))) {
		if (moved)
			rename(gone.ptr, live.ptr);
		goto done;
	}
	if (moved)
		av_remove_tree(gone.ptr);
	av_txn_free(t);
	t = NULL;
	rc = sweep_pool(c, prefix, root.ptr, &cand, c->lock_timeout, &removed);
	if (rc && force)
		rc = 0;
done:
	av_txn_free(t);
	pfiles_dispose(&cand);
	git_tree_free(ch);
	av_state_free(st);
	av_buf_dispose(&name);
	av_buf_dispose(&root);
	av_buf_dispose(&live);
	av_buf_dispose(&gone);
	return rc;
}

int av_publish_source(av_ctx *c, const char *prefix, const char *dist, av_source_op op,
		      const av_publish_component *comps, size_t n)
{
	av_txn_opts to = { c->lock_timeout, c->command };
	av_txn *t = NULL;
	av_state *st = NULL;
	av_buf name = AV_BUF_INIT;
	want *w = NULL;
	size_t nw = 0, walloc = 0;
	git_oid seen, commit;
	cJSON *arr;
	int rc;

	prefix = norm_prefix(prefix);
	if ((rc = pub_name(&name, prefix, dist)) || (rc = av_txn_begin(&t, c->store, &to)) ||
	    (rc = av_txn_declare(t, KIND, name.ptr, AV_LOCK_EXCLUSIVE)) || (rc = av_txn_lock(t)))
		goto done;
	if ((rc = av_txn_read(t, KIND, name.ptr, &seen))) {
		if (rc == AV_ENOTFOUND)
			rc = not_published(prefix, dist);
		goto done;
	}
	if ((rc = av_state_load(&st, c->store, &seen)))
		goto done;
	if (op != AV_SOURCE_REPLACE && op != AV_SOURCE_DROP &&
	    (rc = wants_from(st, cJSON_GetObjectItemCaseSensitive(st->meta, "staged")
					 ? "staged" : "components", &w, &nw, &walloc, 0)))
		goto done;
	for (size_t i = 0; i < n && !rc; i++) {
		const char *cn = comps[i].component ? comps[i].component : "main";
		size_t j;
		for (j = 0; j < nw; j++)
			if (!strcmp(w[j].component, cn))
				break;
		switch (op) {
		case AV_SOURCE_ADD:
		case AV_SOURCE_REPLACE:
			rc = want_add(&w, &nw, &walloc, cn, comps[i].kind, comps[i].name);
			break;
		case AV_SOURCE_UPDATE:
			if (j == nw) {
				rc = av_error_set(AV_ENOTFOUND, "distribution '%s' has no "
						  "component '%s'", dist, cn);
				break;
			}
			free(w[j].kind);
			free(w[j].name);
			w[j].kind = av_strdup(comps[i].kind);
			w[j].name = av_strdup(comps[i].name);
			if (!w[j].kind || !w[j].name)
				rc = AV_ERROR;
			break;
		case AV_SOURCE_REMOVE:
			if (j == nw) {
				rc = av_error_set(AV_ENOTFOUND, "distribution '%s' has no "
						  "component '%s'", dist, cn);
				break;
			}
			free(w[j].component);
			free(w[j].kind);
			free(w[j].name);
			memmove(&w[j], &w[j + 1], (nw - j - 1) * sizeof(*w));
			nw--;
			break;
		case AV_SOURCE_DROP:
			break;
		}
	}
	if (rc)
		goto done;
	if (op != AV_SOURCE_DROP && !nw) {
		rc = av_error_set(AV_EINVALID, "a distribution needs at least one component");
		goto done;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(st->meta, "staged");
	if (op != AV_SOURCE_DROP) {
		arr = cJSON_AddArrayToObject(st->meta, "staged");
		for (size_t i = 0; i < nw; i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "component", w[i].component);
			cJSON_AddStringToObject(o, "kind", w[i].kind);
			cJSON_AddStringToObject(o, "name", w[i].name);
			cJSON_AddItemToArray(arr, o);
		}
	}
	if ((rc = av_state_write(c->store, st, c->command ? c->command : "publish source",
				 &commit)) ||
	    (rc = av_txn_stage(t, KIND, name.ptr, &commit)))
		goto done;
	rc = av_txn_commit(t, c->command ? c->command : "publish source");
done:
	av_txn_free(t);
	wants_free(w, nw);
	av_state_free(st);
	av_buf_dispose(&name);
	return rc;
}
