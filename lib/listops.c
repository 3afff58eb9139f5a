/* listops.c - diff and merge of package lists by key (see listops.h). */
#include <stdio.h>
#include "aptvault/listops.h"
#include "aptvault/plist.h"
#include "aptvault/package.h"
#include "aptvault/version.h"
#include "aptvault/buf.h"
#include "internal.h"

/* One list entry, split: "arch name version" order is aptly's. */
typedef struct ref {
	char *key;		/* name_version_arch, owned */
	const char *name, *version, *arch;	/* into split */
	char *split;		/* owned copy with NULs */
	git_oid oid;
} ref;

typedef struct refs {
	ref *v;
	size_t n, alloc;
} refs;

static void refs_dispose(refs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].key);
		free(r->v[i].split);
	}
	free(r->v);
	r->v = NULL;
	r->n = r->alloc = 0;
}

static int refs_add(refs *r, const char *key, const git_oid *oid)
{
	ref *e;
	size_t len = strlen(key);

	if (av_array_grow((void **)&r->v, &r->alloc, r->n + 1, sizeof(*r->v)))
		return AV_ERROR;
	e = &r->v[r->n];
	memset(e, 0, sizeof(*e));
	if (!(e->key = av_strdup(key)) || !(e->split = av_malloc(len + 1))) {
		free(e->key);
		return AV_ERROR;
	}
	if (av_pkg_key_split(key, e->split, &e->name, &e->version, &e->arch)) {
		free(e->key);
		free(e->split);
		return AV_EINVALID;
	}
	git_oid_cpy(&e->oid, oid);
	r->n++;
	return 0;
}

/* aptly's ref order: architecture, name, version (bytewise), content. */
static int ref_cmp(const void *pa, const void *pb)
{
	const ref *a = pa, *b = pb;
	int c;

	if ((c = strcmp(a->arch, b->arch)) || (c = strcmp(a->name, b->name)) ||
	    (c = strcmp(a->version, b->version)))
		return c;
	return git_oid_cmp(&a->oid, &b->oid);
}

static int same_pkg(const ref *a, const ref *b)
{
	return !strcmp(a->arch, b->arch) && !strcmp(a->name, b->name);
}

static int collect(const char *key, const git_oid *oid, void *payload)
{
	return refs_add(payload, key, oid);
}

static int load_refs(av_store *s, const git_oid *list, refs *out)
{
	av_plist *l = NULL;
	int rc;

	if (!(rc = av_plist_open(&l, s, list)))
		rc = av_plist_foreach(l, collect, out);
	av_plist_free(l);
	if (!rc && out->n)
		qsort(out->v, out->n, sizeof(*out->v), ref_cmp);
	return rc;
}

/* ---- diff ---------------------------------------------------------------- */

typedef struct pair {
	const ref *l, *r;
} pair;

typedef struct pairs {
	pair *v;
	size_t n, alloc;
} pairs;

static int push_pair(pairs *p, const ref *l, const ref *r)
{
	if (av_array_grow((void **)&p->v, &p->alloc, p->n + 1, sizeof(*p->v)))
		return AV_ERROR;
	p->v[p->n].l = l;
	p->v[p->n].r = r;
	p->n++;
	return 0;
}

/* aptly's diff of two sorted ref lists, with its compaction of a removal
 * and an addition of the same name+arch into one "changed" entry. */
static int diff_refs(const refs *a, const refs *b, pairs *out)
{
	size_t il = 0, ir = 0;
	int rc = 0;

	while (!rc && (il < a->n || ir < b->n)) {
		const ref *rl = il < a->n ? &a->v[il] : NULL;
		const ref *rr = ir < b->n ? &b->v[ir] : NULL;
		int rel = !rl ? 1 : !rr ? -1 : ref_cmp(rl, rr);
		pair *last = out->n ? &out->v[out->n - 1] : NULL;

		if (rel == 0) {
			il++;
			ir++;
		} else if (rel < 0) {
			if (last && !last->l && same_pkg(last->r, rl))
				last->l = rl;
			else
				rc = push_pair(out, rl, NULL);
			il++;
		} else {
			if (last && !last->r && same_pkg(last->l, rr))
				last->r = rr;
			else
				rc = push_pair(out, NULL, rr);
			ir++;
		}
	}
	return rc;
}

/* The bucket subtrees of a list root, indexed by bucket number. */
static int buckets(av_store *s, const git_oid *list, git_oid out[256])
{
	git_tree *t = NULL;
	int rc;

	memset(out, 0, 256 * sizeof(*out));
	if (!list || git_oid_is_zero(list))
		return 0;
	if ((rc = av_store_tree_read(s, &t, list)))
		return rc;
	for (size_t i = 0; i < git_tree_entrycount(t); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		long idx = strtol(git_tree_entry_name(e), NULL, 16);
		if (idx >= 0 && idx < 256)
			git_oid_cpy(&out[idx], git_tree_entry_id(e));
	}
	git_tree_free(t);
	return 0;
}

static int pair_cmp(const void *pa, const void *pb)
{
	const pair *a = pa, *b = pb;
	const ref *x = a->l ? a->l : a->r, *y = b->l ? b->l : b->r;
	int c;

	if ((c = strcmp(x->name, y->name)) || (c = strcmp(x->arch, y->arch)))
		return c;
	return strcmp(x->version, y->version);
}

/*
 * The entries of two buckets that are not in both with the same content,
 * found by walking the two trees in step (their entries are sorted by
 * key); only those are split into refs.  Equal refs never change aptly's
 * diff output, so leaving them out gives the same result for a fraction
 * of the work.
 */
static int bucket_delta(av_store *s, const git_oid *ta, const git_oid *tb, refs *ra,
			refs *rb)
{
	git_tree *a = NULL, *b = NULL;
	size_t ia = 0, ib = 0, na = 0, nb = 0;
	int rc = 0;

	if (!git_oid_is_zero(ta) && (rc = av_store_tree_read(s, &a, ta)))
		return rc;
	if (!git_oid_is_zero(tb) && (rc = av_store_tree_read(s, &b, tb)))
		goto done;
	na = a ? git_tree_entrycount(a) : 0;
	nb = b ? git_tree_entrycount(b) : 0;
	while (!rc && (ia < na || ib < nb)) {
		const git_tree_entry *ea = ia < na ? git_tree_entry_byindex(a, ia) : NULL;
		const git_tree_entry *eb = ib < nb ? git_tree_entry_byindex(b, ib) : NULL;
		int c = !ea ? 1 : !eb ? -1 : strcmp(git_tree_entry_name(ea),
						       git_tree_entry_name(eb));

		if (c == 0 && !git_oid_cmp(git_tree_entry_id(ea), git_tree_entry_id(eb))) {
			ia++;
			ib++;
			continue;
		}
		if (c <= 0) {
			rc = refs_add(ra, git_tree_entry_name(ea), git_tree_entry_id(ea));
			ia++;
		}
		if (c >= 0 && !rc) {
			rc = refs_add(rb, git_tree_entry_name(eb), git_tree_entry_id(eb));
			ib++;
		}
	}
	if (!rc && ra->n)
		qsort(ra->v, ra->n, sizeof(*ra->v), ref_cmp);
	if (!rc && rb->n)
		qsort(rb->v, rb->n, sizeof(*rb->v), ref_cmp);
done:
	git_tree_free(a);
	git_tree_free(b);
	return rc;
}

int av_list_diff(av_store *s, const git_oid *a, const git_oid *b, av_diff_cb cb,
		 void *payload)
{
	git_oid ba[256], bb[256];
	refs ra[256] = { { 0 } }, rb[256] = { { 0 } };
	pairs p = { 0 };
	int rc;

	if ((rc = buckets(s, a, ba)) || (rc = buckets(s, b, bb)))
		return rc;
	/* Same name, same bucket: a bucket is a closed world for the diff. */
	for (int i = 0; i < 256 && !rc; i++) {
		if (!git_oid_cmp(&ba[i], &bb[i]))
			continue;
		if (!(rc = bucket_delta(s, &ba[i], &bb[i], &ra[i], &rb[i])))
			rc = diff_refs(&ra[i], &rb[i], &p);
	}
	if (!rc && p.n)
		qsort(p.v, p.n, sizeof(*p.v), pair_cmp);
	for (size_t i = 0; i < p.n && !rc; i++) {
		const ref *x = p.v[i].l ? p.v[i].l : p.v[i].r;
		av_diff_entry e = {
			x->name, x->arch, p.v[i].l ? p.v[i].l->version : NULL,
			p.v[i].r ? p.v[i].r->version : NULL,
			p.v[i].l && p.v[i].r && !strcmp(p.v[i].l->version, p.v[i].r->version),
		};
		rc = cb(&e, payload);
	}
	free(p.v);
	for (int i = 0; i < 256; i++) {
		refs_dispose(&ra[i]);
		refs_dispose(&rb[i]);
	}
	return rc;
}

/* ---- merge --------------------------------------------------------------- */

/* aptly's PackageRefList.Merge(r, overrideMatching, ignoreConflicting=0):
 * out holds pointers into l and r. */
static int merge_two(const ref *const *l, size_t ll, const ref *const *r, size_t lr,
		     int override, const ref ***out, size_t *nout)
{
	const ref **res = av_calloc(ll + lr + 1, sizeof(*res));
	const ref *overridden = NULL;
	size_t il = 0, ir = 0, n = 0;

	if (!res)
		return AV_ERROR;
	while (il < ll || ir < lr) {
		int rel;

		if (il == ll) {
			while (ir < lr)
				res[n++] = r[ir++];
			break;
		}
		if (ir == lr) {
			while (il < ll)
				res[n++] = l[il++];
			break;
		}
		rel = ref_cmp(l[il], r[ir]);
		if (rel == 0) {
			res[n++] = l[il++];
			ir++;
			overridden = NULL;
			continue;
		}
		/* same name, arch and version, other content: right wins */
		if (same_pkg(l[il], r[ir]) && !strcmp(l[il]->version, r[ir]->version)) {
			res[n++] = r[ir++];
			il++;
			overridden = NULL;
			continue;
		}
		if (override) {
			if (overridden && same_pkg(l[il], overridden)) {
				il++;	/* already overridden from the right */
				continue;
			}
			if (same_pkg(l[il], r[ir])) {
				overridden = l[il];
				res[n++] = r[ir++];
				il++;
				continue;
			}
		}
		if (rel < 0) {
			res[n++] = l[il++];
		} else {
			res[n++] = r[ir++];
			overridden = NULL;
		}
	}
	*out = res;
	*nout = n;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp((*(const ref *const *)a)->key, (*(const ref *const *)b)->key);
}

/* aptly's FilterLatestRefs: of consecutive refs with one name+arch, keep
 * the highest version. */
static size_t keep_latest(const ref **v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (k && same_pkg(v[k - 1], v[i])) {
			if (av_version_compare(v[i]->version, v[k - 1]->version) > 0)
				v[k - 1] = v[i];
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

int av_list_merge(av_store *s, const git_oid *lists, size_t n, av_merge_mode mode,
		  git_oid *out)
{
	refs *src = NULL;
	const ref **acc = NULL, **next = NULL;
	size_t nacc = 0, nnext = 0;
	av_plist *l = NULL;
	int rc = 0;

	if (!n)
		return av_error_set(AV_EINVALID, "merge needs at least one source");
	if (!(src = av_calloc(n, sizeof(*src))))
		return AV_ERROR;
	for (size_t i = 0; i < n && !rc; i++)
		rc = load_refs(s, &lists[i], &src[i]);
	if (rc)
		goto done;
	if (!(acc = av_calloc(src[0].n + 1, sizeof(*acc)))) {
		rc = AV_ERROR;
		goto done;
	}
	for (size_t i = 0; i < src[0].n; i++)
		acc[nacc++] = &src[0].v[i];
	for (size_t i = 1; i < n && !rc; i++) {
		const ref **r = av_calloc(src[i].n + 1, sizeof(*r));
		if (!r) {
			rc = AV_ERROR;
			break;
		}
		for (size_t k = 0; k < src[i].n; k++)
			r[k] = &src[i].v[k];
		rc = merge_two(acc, nacc, r, src[i].n, mode == AV_MERGE_REPLACE, &next, &nnext);
		free(r);
		if (rc)
			break;
		free(acc);
		acc = next;
		nacc = nnext;
	}
	if (rc)
		goto done;
	if (mode == AV_MERGE_LATEST)
		nacc = keep_latest(acc, nacc);
	/* In key order every insertion into a bucket is an append; in aptly's
	 * order each one moved half a bucket (quadratic in bucket size). */
	if (nacc)
		qsort(acc, nacc, sizeof(*acc), key_cmp);
	if ((rc = av_plist_open(&l, s, NULL)))
		goto done;
	for (size_t i = 0; i < nacc && !rc; i++) {
		rc = av_plist_put(l, acc[i]->key, &acc[i]->oid, 1);
		if (rc > 0)
			rc = 0;
	}
	if (!rc)
		rc = av_plist_write(l, out);
done:
	av_plist_free(l);
	free(acc);
	for (size_t i = 0; src && i < n; i++)
		refs_dispose(&src[i]);
	free(src);
	return rc;
}
