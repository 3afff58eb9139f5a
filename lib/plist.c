/* plist.c - package lists as two-level git trees (see plist.h). */
#include <stdio.h>
#include "aptvault/plist.h"
#include "internal.h"

#define NBUCKETS AV_PLIST_NBUCKETS

typedef struct entry {
	char *key;
	git_oid oid;
} entry;

typedef struct bucket {
	entry *e;
	size_t n, alloc;
	git_oid tree;		/* the stored subtree; zero when none */
	int loaded;
	int dirty;
} bucket;

struct av_plist {
	av_store *store;
	bucket b[NBUCKETS];
	git_oid counts_blob;	/* the root's "n" entry; zero when none */
	size_t *counts;		/* its numbers, read on first need */
	av_rawtree raw;		/* the last bucket tree read */
};

#define COUNTS_NAME "n"


uint32_t av_plist_name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

void av_plist_bucket(char out[3], const char *name, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t h = av_plist_name_hash(name, len);

	out[0] = hex[(h >> 4) & 15];
	out[1] = hex[h & 15];
	out[2] = '\0';
}

static int bucket_index(const char *key)
{
	const char *us = strchr(key, '_');
	char hh[3];

	av_plist_bucket(hh, key, us ? (size_t)(us - key) : strlen(key));
	return (int)strtol(hh, NULL, 16);
}

int av_plist_open(av_plist **out, av_store *s, const git_oid *tree)
{
	av_plist *l = av_calloc(1, sizeof(*l));
	git_tree *root = NULL;
	int rc = 0;

	*out = NULL;
	if (!l)
		return AV_ERROR;
	l->store = s;
	if (!tree || git_oid_is_zero(tree)) {
		for (int i = 0; i < NBUCKETS; i++)
			l->b[i].loaded = 1;
		*out = l;
		return 0;
	}
	if ((rc = av_store_tree_read(s, &root, tree)))
		goto fail;
	for (int i = 0; i < NBUCKETS; i++)
		l->b[i].loaded = 1;	/* absent buckets are empty */
	for (size_t i = 0; i < git_tree_entrycount(root); i++) {
		const git_tree_entry *te = git_tree_entry_byindex(root, i);
		const char *name = git_tree_entry_name(te);
		char *end;
		long idx = strtol(name, &end, 16);

		if (!strcmp(name, COUNTS_NAME) && git_tree_entry_type(te) == GIT_OBJECT_BLOB) {
			git_oid_cpy(&l->counts_blob, git_tree_entry_id(te));
			continue;
		}
		if (strlen(name) != 2 || *end || idx < 0 || idx >= NBUCKETS ||
		    git_tree_entry_type(te) != GIT_OBJECT_TREE) {
			rc = av_error_set(AV_EINVALID, "package list has a stray entry '%s'",
					  name);
			goto fail;
		}
		git_oid_cpy(&l->b[idx].tree, git_tree_entry_id(te));
		l->b[idx].loaded = 0;
	}
	git_tree_free(root);
	*out = l;
	return 0;
fail:
	git_tree_free(root);
	av_plist_free(l);
	return rc;
}

void av_plist_free(av_plist *l)
{
	if (!l)
		return;
	for (int i = 0; i < NBUCKETS; i++) {
		for (size_t j = 0; j < l->b[i].n; j++)
			free(l->b[i].e[j].key);
		free(l->b[i].e);
	}
	free(l->counts);
	av_rawtree_dispose(&l->raw);
	free(l);
}

/* The root's bucket sizes, when it records them. */
static int read_counts(av_plist *l)
{
	git_blob *b = NULL;
	const char *p, *end;
	char hex[GIT_OID_HEXSZ + 1];
	int rc;

	if (l->counts || git_oid_is_zero(&l->counts_blob))
		return 0;
	if ((rc = av_store_blob_read(l->store, &b, &l->counts_blob)))
		return rc;
	if (!(l->counts = av_calloc(NBUCKETS, sizeof(*l->counts)))) {
		git_blob_free(b);
		return AV_ERROR;
	}
	p = git_blob_rawcontent(b);
	end = p + git_blob_rawsize(b);
	for (int i = 0; i < NBUCKETS && !rc; i++) {
		size_t v = 0;
		const char *d = p;

		while (p < end && *p >= '0' && *p <= '9')
			v = v * 10 + (size_t)(*p++ - '0');
		/* (a loaded bucket may have changed since: its size is its own) */
		if (p == d || p == end || *p++ != (i == NBUCKETS - 1 ? '\n' : ' ') ||
		    (!l->b[i].loaded && (!v) != git_oid_is_zero(&l->b[i].tree)))
			rc = av_error_set(AV_EINVALID, "package list: bad bucket sizes in %s",
					  git_oid_tostr(hex, sizeof(hex), &l->counts_blob));
		l->counts[i] = v;
	}
	git_blob_free(b);
	if (rc) {
		free(l->counts);
		l->counts = NULL;
	}
	return rc;
}

/* The number of entries of bucket i, reading as little as it can. */
static int load(av_plist *l, bucket *b);
static int bucket_count(av_plist *l, int i, size_t *out)
{
	bucket *b = &l->b[i];
	int rc;

	if (b->loaded) {
		*out = b->n;
		return 0;
	}
	if ((rc = read_counts(l)))
		return rc;
	if (l->counts) {
		*out = l->counts[i];
		return 0;
	}
	if ((rc = load(l, b)))
		return rc;
	*out = b->n;
	return 0;
}

/* A bucket's tree, read raw: a walk of a whole list reads 256 of them,
 * and libgit2 would parse each into an object and inflate it through
 * zlib's stream (a state and a window allocated per tree). */
static int load(av_plist *l, bucket *b)
{
	av_rawtree *t = &l->raw;
	int rc;

	if (b->loaded)
		return 0;
	if ((rc = av_store_tree_raw(l->store, &b->tree, t)) ||
	    (rc = av_array_grow((void **)&b->e, &b->alloc, t->n, sizeof(*b->e))))
		return rc;
	for (size_t i = 0; i < t->n; i++) {
		if (!(b->e[b->n].key = av_strdup(t->e[i].name)))
			return AV_ERROR;
		git_oid_cpy(&b->e[b->n].oid, t->e[i].oid);
		b->n++;
	}
	b->loaded = 1;
	return 0;
}

/* Index of key in b, or -(insertion point) - 1. */
static long find(const bucket *b, const char *key)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(b->e[mid].key, key);
		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

int av_plist_get(av_plist *l, const char *key, git_oid *out)
{
	bucket *b = &l->b[bucket_index(key)];
	long i;
	int rc;

	if ((rc = load(l, b)))
		return rc;
	if ((i = find(b, key)) < 0)
		return av_error_set(AV_ENOTFOUND, "package '%s' is not in the list", key);
	git_oid_cpy(out, &b->e[i].oid);
	return 0;
}

int av_plist_put(av_plist *l, const char *key, const git_oid *blob, int replace)
{
	bucket *b = &l->b[bucket_index(key)];
	long i;
	size_t at;
	int rc;

	if ((rc = load(l, b)))
		return rc;
	if ((i = find(b, key)) >= 0) {
		if (!git_oid_cmp(&b->e[i].oid, blob))
			return 1;
		if (!replace)
			return av_error_set(AV_ECONFLICT, "package '%s' already exists "
					    "with different content", key);
		git_oid_cpy(&b->e[i].oid, blob);
		b->dirty = 1;
		return 0;
	}
	at = (size_t)(-i - 1);
	if ((rc = av_array_grow((void **)&b->e, &b->alloc, b->n + 1, sizeof(*b->e))))
		return rc;
	memmove(&b->e[at + 1], &b->e[at], (b->n - at) * sizeof(*b->e));
	if (!(b->e[at].key = av_strdup(key))) {
		memmove(&b->e[at], &b->e[at + 1], (b->n - at) * sizeof(*b->e));
		return AV_ERROR;
	}
	git_oid_cpy(&b->e[at].oid, blob);
	b->n++;
	b->dirty = 1;
	return 0;
}

int av_plist_remove(av_plist *l, const char *key)
{
	bucket *b = &l->b[bucket_index(key)];
	long i;
	int rc;

	if ((rc = load(l, b)))
		return rc;
	if ((i = find(b, key)) < 0)
		return av_error_set(AV_ENOTFOUND, "package '%s' is not in the list", key);
	free(b->e[i].key);
	memmove(&b->e[i], &b->e[i + 1], (b->n - (size_t)i - 1) * sizeof(*b->e));
	b->n--;
	b->dirty = 1;
	return 0;
}

int av_plist_bucket_write(av_store *s, const av_plist_ent *v, size_t n, git_oid *out)
{
	av_buf t = AV_BUF_INIT;
	int rc = 0;

	/* git's tree format; for blob entries its order is strcmp order */
	for (size_t i = 0; i < n && !rc; i++) {
		if (i && strcmp(v[i - 1].key, v[i].key) >= 0)
			rc = av_error_set(AV_ERROR, "package list keys out of order at '%s'",
					  v[i].key);
		else if (!*v[i].key || strchr(v[i].key, '/'))
			rc = av_error_set(AV_EINVALID, "'%s' cannot name a package list entry",
					  v[i].key);
		else if (!(rc = av_buf_puts(&t, "100644 ")) &&
			 !(rc = av_buf_put(&t, v[i].key, strlen(v[i].key) + 1)))
			rc = av_buf_put(&t, v[i].oid->id, GIT_OID_RAWSZ);
	}
	if (!rc)
		rc = av_store_tree_write_raw(s, out, t.ptr ? t.ptr : "", t.len);
	av_buf_dispose(&t);
	return rc;
}

int av_plist_root_write(av_store *s, const git_oid *buckets, const size_t *counts,
			git_oid *out)
{
	static const char hex[] = "0123456789abcdef";
	av_buf t = AV_BUF_INIT, n = AV_BUF_INIT;
	git_oid nblob;
	size_t total = 0;
	int rc = 0;

	for (int i = 0; i < NBUCKETS && !rc; i++) {
		char head[] = { '4', '0', '0', '0', '0', ' ', hex[i >> 4], hex[i & 15], 0 };

		if (git_oid_is_zero(&buckets[i]) != !counts[i])
			rc = av_error_set(AV_ERROR, "package list: bucket %02x has %zu entries "
					  "and %s tree", i, counts[i],
					  counts[i] ? "no" : "a");
		else
			rc = av_buf_printf(&n, "%zu%c", counts[i], i == NBUCKETS - 1 ? '\n' : ' ');
		total += counts[i];
		if (rc || !counts[i])
			continue;
		if (!(rc = av_buf_put(&t, head, sizeof(head))))
			rc = av_buf_put(&t, buckets[i].id, GIT_OID_RAWSZ);
	}
	/* the sizes last ("n" sorts after every "hh"); none in the empty list,
	 * which stays git's empty tree */
	if (!rc && total && !(rc = av_store_blob_write(s, &nblob, n.ptr, n.len)) &&
	    !(rc = av_buf_put(&t, "100644 " COUNTS_NAME, sizeof("100644 " COUNTS_NAME))))
		rc = av_buf_put(&t, nblob.id, GIT_OID_RAWSZ);
	if (!rc)
		rc = av_store_tree_write_raw(s, out, t.ptr ? t.ptr : "", t.len);
	av_buf_dispose(&t);
	av_buf_dispose(&n);
	return rc;
}

int av_plist_buckets(av_store *s, const git_oid *list, git_oid out[AV_PLIST_NBUCKETS],
		     size_t *counts)
{
	av_plist *l = NULL;
	int rc;

	if ((rc = av_plist_open(&l, s, list)))
		return rc;
	for (int i = 0; i < NBUCKETS && !rc; i++) {
		git_oid_cpy(&out[i], &l->b[i].tree);
		if (counts)
			rc = bucket_count(l, i, &counts[i]);
	}
	av_plist_free(l);
	return rc;
}

static int write_bucket(av_plist *l, bucket *b)
{
	av_plist_ent *v;
	int rc;

	if (!b->n) {
		memset(&b->tree, 0, sizeof(b->tree));
		b->dirty = 0;
		return 0;
	}
	if (!(v = av_calloc(b->n, sizeof(*v))))
		return AV_ERROR;
	for (size_t i = 0; i < b->n; i++) {
		v[i].key = b->e[i].key;
		v[i].oid = &b->e[i].oid;
	}
	if (!(rc = av_plist_bucket_write(l->store, v, b->n, &b->tree)))
		b->dirty = 0;
	free(v);
	return rc;
}

int av_plist_write(av_plist *l, git_oid *out)
{
	git_oid roots[NBUCKETS];
	size_t counts[NBUCKETS];
	int rc;

	for (int i = 0; i < NBUCKETS; i++) {
		bucket *b = &l->b[i];

		if ((b->dirty && (rc = write_bucket(l, b))) ||
		    (rc = bucket_count(l, i, &counts[i])))
			return rc;
		git_oid_cpy(&roots[i], &b->tree);
	}
	return av_plist_root_write(l->store, roots, counts, out);
}

int av_plist_foreach(av_plist *l, av_plist_cb cb, void *payload)
{
	int rc;

	for (int i = 0; i < NBUCKETS; i++) {
		bucket *b = &l->b[i];
		if ((rc = load(l, b)))
			return rc;
		for (size_t j = 0; j < b->n; j++)
			if ((rc = cb(b->e[j].key, &b->e[j].oid, payload)))
				return rc;
	}
	return 0;
}

int av_plist_count(av_plist *l, size_t *out)
{
	size_t n = 0;
	int rc;

	for (int i = 0; i < NBUCKETS; i++) {
		size_t k;

		if ((rc = bucket_count(l, i, &k)))
			return rc;
		n += k;
	}
	*out = n;
	return 0;
}
