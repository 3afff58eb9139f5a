/* search.c - packages across every resource (see search.h). */
#include <stdio.h>
#include "aptvault/search.h"
#include "aptvault/plist.h"
#include "aptvault/txn.h"
#include "internal.h"

const char *const av_list_kinds[] = { "repo", "mirror", "snapshot", NULL };

/* An open-addressing set of oids: each package is matched once. */
typedef struct oidset {
	git_oid *slots;
	unsigned char *used;
	size_t cap, n;
} oidset;

static size_t slot_of(const git_oid *o, size_t cap)
{
	size_t h;

	memcpy(&h, o->id, sizeof(h));
	return h & (cap - 1);
}

static int oidset_add(oidset *s, const git_oid *o)
{
	if (s->n * 2 >= s->cap) {
		oidset bigger = { 0 };
		bigger.cap = s->cap ? s->cap * 2 : 1024;
		if (!(bigger.slots = av_calloc(bigger.cap, sizeof(*bigger.slots))) ||
		    !(bigger.used = av_calloc(bigger.cap, 1))) {
			free(bigger.slots);
			return AV_ERROR;
		}
		for (size_t i = 0; i < s->cap; i++)
			if (s->used[i])
				oidset_add(&bigger, &s->slots[i]);
		free(s->slots);
		free(s->used);
		*s = bigger;
	}
	for (size_t i = slot_of(o, s->cap);; i = (i + 1) & (s->cap - 1)) {
		if (!s->used[i]) {
			s->used[i] = 1;
			git_oid_cpy(&s->slots[i], o);
			s->n++;
			return 1;
		}
		if (!git_oid_cmp(&s->slots[i], o))
			return 0;
	}
}

typedef struct walk {
	av_store *store;
	const av_query *q;
	av_found_cb cb;
	void *payload;
	oidset seen;
} walk;

static int visit(const char *key, const git_oid *oid, void *payload)
{
	walk *w = payload;
	git_blob *blob = NULL;
	av_pkg *pkg = NULL;
	int rc = oidset_add(&w->seen, oid);

	if (rc <= 0)
		return rc;
	if ((rc = av_store_blob_read(w->store, &blob, oid)))
		return rc;
	rc = av_pkg_parse(&pkg, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	if (rc)
		return av_error_wrap(rc, "package '%s'", key);
	if (!w->q || av_query_match(w->q, pkg))
		rc = w->cb(key, pkg, oid, w->payload);
	av_pkg_free(pkg);
	return rc;
}

/* Call fn for the package list of every resource of every kind. */
typedef int (*list_fn)(const char *kind, const char *name, const av_state *st, void *p);

static int each_list(av_ctx *c, list_fn fn, void *payload)
{
	int rc = 0;

	for (size_t k = 0; av_list_kinds[k] && !rc; k++) {
		char **names = NULL;
		size_t n = 0;
		if ((rc = av_store_ref_names(c->store, av_txn_ref_prefix(av_list_kinds[k]),
					     &names, &n)))
			break;
		for (size_t i = 0; i < n && !rc; i++) {
			av_buf ref = AV_BUF_INIT;
			av_state *st = NULL;
			git_oid oid;
			rc = av_txn_refname(&ref, av_list_kinds[k], names[i]);
			if (!rc && (rc = av_store_ref_read(c->store, ref.ptr, &oid)) == AV_ENOTFOUND)
				rc = 0;	/* dropped meanwhile */
			else if (!rc && !(rc = av_state_load(&st, c->store, &oid)))
				rc = fn(av_list_kinds[k], names[i], st, payload);
			av_state_free(st);
			av_buf_dispose(&ref);
		}
		av_store_names_free(names, n);
	}
	return rc;
}

static int walk_list(const char *kind, const char *name, const av_state *st, void *p)
{
	walk *w = p;
	av_plist *l = NULL;
	int rc;

	(void)kind;
	(void)name;
	if (!(rc = av_plist_open(&l, w->store, &st->packages)))
		rc = av_plist_foreach(l, visit, w);
	av_plist_free(l);
	return rc;
}

int av_search_all(av_ctx *c, const av_query *q, av_found_cb cb, void *payload)
{
	walk w = { c->store, q, cb, payload, { 0 } };
	int rc = each_list(c, walk_list, &w);

	free(w.seen.slots);
	free(w.seen.used);
	return rc;
}

typedef struct refwalk {
	av_store *store;
	const char *key;
	const git_oid *blob;
	av_ref_cb cb;
	void *payload;
} refwalk;

static int ref_list(const char *kind, const char *name, const av_state *st, void *p)
{
	refwalk *r = p;
	av_plist *l = NULL;
	git_oid oid;
	int rc;

	if ((rc = av_plist_open(&l, r->store, &st->packages)))
		return rc;
	rc = av_plist_get(l, r->key, &oid);
	av_plist_free(l);
	if (rc == AV_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	return git_oid_cmp(&oid, r->blob) ? 0 : r->cb(kind, name, r->payload);
}

int av_search_references(av_ctx *c, const char *key, const git_oid *blob,
			 av_ref_cb cb, void *payload)
{
	refwalk r = { c->store, key, blob, cb, payload };
	return each_list(c, ref_list, &r);
}
