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
	char *split;		/* copy with NULs, in key's block */
	git_oid oid;
} ref;

typedef struct refs {
	ref *v;
	size_t n, alloc;
} refs;

static void refs_dispose(refs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].key);
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
	/* key and its split copy in one block */
	if (!(e->key = av_malloc(2 * (len + 1))))
		return AV_ERROR;
	memcpy(e->key, key, len + 1);
	e->split = e->key + len + 1;
	if (av_pkg_key_split(key, e->split, &e->name, &e->version, &e->arch)) {
		free(e->key);
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
	av_rawtree a = { AV_BUF_INIT, NULL, 0, 0 }, b = { AV_BUF_INIT, NULL, 0, 0 };
	size_t ia = 0, ib = 0;
	int rc = 0;

	if (!git_oid_is_zero(ta) && (rc = av_store_tree_raw(s, ta, &a)))
		goto done;
	if (!git_oid_is_zero(tb) && (rc = av_store_tree_raw(s, tb, &b)))
		goto done;
	while (!rc && (ia < a.n || ib < b.n)) {
		const av_rawent *ea = ia < a.n ? &a.e[ia] : NULL;
		const av_rawent *eb = ib < b.n ? &b.e[ib] : NULL;
		int c = !ea ? 1 : !eb ? -1 : strcmp(ea->name, eb->name);

		if (c == 0 && !git_oid_cmp(ea->oid, eb->oid)) {
			ia++;
			ib++;
			continue;
		}
		if (c <= 0) {
			rc = refs_add(ra, ea->name, ea->oid);
			ia++;
		}
		if (c >= 0 && !rc) {
			rc = refs_add(rb, eb->name, eb->oid);
			ib++;
		}
	}
	if (!rc && ra->n)
		qsort(ra->v, ra->n, sizeof(*ra->v), ref_cmp);
	if (!rc && rb->n)
		qsort(rb->v, rb->n, sizeof(*rb->v), ref_cmp);
done:
	av_rawtree_dispose(&a);
	av_rawtree_dispose(&b);
	return rc;
}

int av_list_diff(av_store *s, const git_oid *a, const git_oid *b, av_diff_cb cb,
		 void *payload)
{
	git_oid ba[256], bb[256];
	refs ra[256] = { { 0 } }, rb[256] = { { 0 } };
	pairs p = { 0 };
	int rc;

	if ((rc = av_plist_buckets(s, a, ba, NULL)) || (rc = av_plist_buckets(s, b, bb, NULL)))
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

/*
 * aptly merges whole lists.  A name lives in one bucket, so we merge bucket
 * by bucket: the same steps on each bucket's part of the lists give each
 * bucket's part of aptly's result, and buckets that no source changed are
 * reused without being read.  One thing crosses buckets: aptly's loop ends
 * when the right list runs out, keeping what is left of the left list even
 * if the right list overrode that package just before (see merge_two).
 */
typedef struct merge_src {
	const git_oid *list;
	int end;		/* bucket of the list's last ref; -1 empty, -2 not known yet */
} merge_src;

/* The bucket holding src's last ref in aptly's order (read once, and only
 * when aptly's end-of-list rule could change a bucket's result). */
static int src_end_bucket(av_store *s, merge_src *src, int *out)
{
	git_oid b[AV_PLIST_NBUCKETS];
	refs best = { 0 };
	int rc;

	if (src->end != -2) {
		*out = src->end;
		return 0;
	}
	if ((rc = av_plist_buckets(s, src->list, b, NULL)))
		return rc;
	src->end = -1;
	for (int i = 0; i < AV_PLIST_NBUCKETS && !rc; i++) {
		refs r = { 0 };

		if (git_oid_is_zero(&b[i]))
			continue;
		if (!(rc = bucket_delta(s, &b[i], &(git_oid){ { 0 } }, &r, &(refs){ 0 })) &&
		    r.n && (!best.n || ref_cmp(&r.v[r.n - 1], &best.v[0]) > 0)) {
			refs_dispose(&best);
			rc = refs_add(&best, r.v[r.n - 1].key, &r.v[r.n - 1].oid);
			src->end = i;
		}
		refs_dispose(&r);
	}
	refs_dispose(&best);
	*out = src->end;
	return rc;
}

typedef struct end_query {
	av_store *s;
	merge_src *src;
	int bucket;
	/* When only some packages of the bucket are merged (merge_pair):
	 * whether the bucket's part of r goes on after them. */
	int (*more_after)(struct end_query *q, int *out);
	void *arg;
} end_query;

/* aptly's PackageRefList.Merge(r, overrideMatching, ignoreConflicting=0)
 * on one bucket: out holds pointers into l and r.  *q says whether r's
 * part in this bucket ends where the whole of r ends. */
static int merge_two(const ref *const *l, size_t ll, const ref *const *r, size_t lr,
		     int override, end_query *q, const ref ***out, size_t *nout)
{
	const ref **res = av_calloc(ll + lr + 1, sizeof(*res));
	const ref *overridden = NULL;
	size_t il = 0, ir = 0, n = 0;
	int rc = 0;

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
			/* Where r goes on in other buckets, aptly drops the rest
			 * of an overridden package; where r ends, it keeps it. */
			if (overridden && same_pkg(l[il], overridden)) {
				int end;

				int more = 0;

				if ((rc = src_end_bucket(q->s, q->src, &end)) ||
				    (q->more_after && (rc = q->more_after(q, &more))))
					break;
				if (end != q->bucket || more)
					while (il < ll && same_pkg(l[il], overridden))
						il++;
			}
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
	if (rc) {
		free(res);
		return rc;
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

static const ref **ref_ptrs(const refs *r)
{
	const ref **v = av_calloc(r->n + 1, sizeof(*v));

	for (size_t i = 0; v && i < r->n; i++)
		v[i] = &r->v[i];
	return v;
}

/* The sources' bucket trees t[0..k) (all non-empty, in source order) into
 * *out: reused when the result is one of them, else written. */
static int merge_bucket(av_store *s, const git_oid *const *t, merge_src *const *src,
			size_t k, av_merge_mode mode, int bucket, git_oid *out, size_t *count)
{
	refs *r = av_calloc(k, sizeof(*r));
	const ref **acc = NULL, **next = NULL, **rv = NULL;
	av_plist_ent *ents = NULL;
	size_t nacc = 0, nnext = 0, m = 0;
	int rc = 0;

	if (!r)
		return AV_ERROR;
	for (size_t j = 0; j < k && !rc; j++)
		rc = bucket_delta(s, t[j], &(git_oid){ { 0 } }, &r[j], &(refs){ 0 });
	if (rc)
		goto done;
	if (!(acc = ref_ptrs(&r[0]))) {
		rc = AV_ERROR;
		goto done;
	}
	nacc = r[0].n;
	for (size_t j = 1; j < k; j++) {
		end_query q = { s, src[j], bucket, NULL, NULL };

		if (!(rv = ref_ptrs(&r[j]))) {
			rc = AV_ERROR;
			goto done;
		}
		rc = merge_two(acc, nacc, rv, r[j].n, mode == AV_MERGE_REPLACE, &q, &next,
			       &nnext);
		free(rv);
		rv = NULL;
		if (rc)
			goto done;
		free(acc);
		acc = next;
		nacc = nnext;
	}
	if (mode == AV_MERGE_LATEST)
		nacc = keep_latest(acc, nacc);
	if (nacc)
		qsort(acc, nacc, sizeof(*acc), key_cmp);
	/* the result is a source's bucket: reuse its tree */
	for (size_t j = 0; j < k; j++) {
		size_t same = 0;

		if (r[j].n != nacc)
			continue;
		while (same < nacc && acc[same] >= r[j].v && acc[same] < r[j].v + r[j].n)
			same++;
		if (same == nacc) {
			git_oid_cpy(out, t[j]);
			*count = nacc;
			goto done;
		}
	}
	*count = 0;
	if (!nacc) {
		memset(out, 0, sizeof(*out));
		goto done;
	}
	if (!(ents = av_calloc(nacc, sizeof(*ents)))) {
		rc = AV_ERROR;
		goto done;
	}
	for (size_t i = 0; i < nacc; i++) {
		/* one key twice (never expected): the later one, as put did */
		if (m && !strcmp(ents[m - 1].key, acc[i]->key))
			m--;
		ents[m].key = acc[i]->key;
		ents[m++].oid = &acc[i]->oid;
	}
	rc = av_plist_bucket_write(s, ents, m, out);
	*count = m;
done:
	free(ents);
	free(acc);
	for (size_t j = 0; j < k; j++)
		refs_dispose(&r[j]);
	free(r);
	return rc;
}

/*
 * Two sources, one bucket: usually nearly the same.  aptly's merge decides
 * each name+arch on its own refs, and a name whose entries are the same
 * on both sides (same keys, same content) comes out as it is.  So only
 * the names with a difference go through merge_two; the rest are copied
 * from the trees without being split or sorted.  Returns 1 (not done)
 * when too many names differ for that to pay.
 */
#define PAIR_MAX_TOUCHED 32

typedef struct span_name {
	const char *p;
	size_t n;
} span_name;

typedef struct pair_ctx {
	const av_rawtree *r;
	const span_name *touched;
	size_t ntouched;
} pair_ctx;

static span_name key_name(const char *key)
{
	const char *us = strchr(key, '_');

	return (span_name){ key, us ? (size_t)(us - key) : strlen(key) };
}

static int is_touched(const span_name *t, size_t n, span_name x)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].n == x.n && !memcmp(t[i].p, x.p, x.n))
			return 1;
	return 0;
}

/* Does r's part of the bucket have refs after the merged names' (in
 * aptly's order)?  Yes unless its last ref is of a merged name. */
static int pair_more_after(end_query *q, int *out)
{
	pair_ctx *c = q->arg;
	refs last = { 0 };
	int rc = 0;

	for (size_t i = 0; i < c->r->n && !rc; i++) {
		refs one = { 0 };

		if (!(rc = refs_add(&one, c->r->e[i].name, c->r->e[i].oid)) &&
		    (!last.n || ref_cmp(&one.v[0], &last.v[0]) > 0)) {
			refs_dispose(&last);
			last = one;
			continue;
		}
		refs_dispose(&one);
	}
	if (!rc)
		*out = last.n && !is_touched(c->touched, c->ntouched, key_name(last.v[0].key));
	refs_dispose(&last);
	return rc;
}

static int merge_pair(av_store *s, const git_oid *const *t, merge_src *rsrc, av_merge_mode mode,
		      int bucket, git_oid *out, size_t *count)
{
	av_rawtree a = { AV_BUF_INIT, NULL, 0, 0 }, b = { AV_BUF_INIT, NULL, 0, 0 };
	span_name touched[PAIR_MAX_TOUCHED];
	size_t na, nb, nt = 0, ia = 0, ib = 0, nres = 0, m = 0, k = 0;
	refs la = { 0 }, rb = { 0 };
	const ref **pl = NULL, **pr = NULL, **res = NULL;
	av_plist_ent *ents = NULL;
	pair_ctx ctx;
	end_query q = { s, rsrc, bucket, pair_more_after, &ctx };
	int rc;

	if ((rc = av_store_tree_raw(s, t[0], &a)) || (rc = av_store_tree_raw(s, t[1], &b)))
		goto done;
	na = a.n;
	nb = b.n;
	/* the names with an entry that is not on both sides alike */
	while (ia < na || ib < nb) {
		const av_rawent *ea = ia < na ? &a.e[ia] : NULL;
		const av_rawent *eb = ib < nb ? &b.e[ib] : NULL;
		int c = !ea ? 1 : !eb ? -1 : strcmp(ea->name, eb->name);
		const av_rawent *odd = NULL;

		if (c == 0) {
			if (git_oid_cmp(ea->oid, eb->oid))
				odd = ea;
			ia++;
			ib++;
		} else if (c < 0) {
			odd = ea;
			ia++;
		} else {
			odd = eb;
			ib++;
		}
		if (odd && !is_touched(touched, nt, key_name(odd->name))) {
			if (nt == PAIR_MAX_TOUCHED) {
				rc = 1;
				goto done;
			}
			touched[nt++] = key_name(odd->name);
		}
	}
	/* their refs on each side, through aptly's merge */
	for (size_t i = 0; i < na && !rc; i++)
		if (is_touched(touched, nt, key_name(a.e[i].name)))
			rc = refs_add(&la, a.e[i].name, a.e[i].oid);
	for (size_t i = 0; i < nb && !rc; i++)
		if (is_touched(touched, nt, key_name(b.e[i].name)))
			rc = refs_add(&rb, b.e[i].name, b.e[i].oid);
	if (rc)
		goto done;
	if (la.n)
		qsort(la.v, la.n, sizeof(*la.v), ref_cmp);
	if (rb.n)
		qsort(rb.v, rb.n, sizeof(*rb.v), ref_cmp);
	ctx = (pair_ctx){ &b, touched, nt };
	if (!(pl = ref_ptrs(&la)) || !(pr = ref_ptrs(&rb))) {
		rc = AV_ERROR;
		goto done;
	}
	if ((rc = merge_two(pl, la.n, pr, rb.n, mode == AV_MERGE_REPLACE, &q, &res, &nres)))
		goto done;
	if (nres)
		qsort(res, nres, sizeof(*res), key_cmp);
	/* the result is one side's bucket: reuse its tree */
	for (int side = 0; side < 2; side++) {
		const refs *r = side ? &rb : &la;
		size_t same = 0;

		while (same < nres && res[same] >= r->v && res[same] < r->v + r->n)
			same++;
		if (same == nres && nres == r->n) {
			git_oid_cpy(out, t[side]);
			*count = side ? nb : na;
			goto done;
		}
	}
	/* the untouched entries of a (all also in b) and the merged ones, in
	 * key order */
	if (!(ents = av_calloc(na + nres + 1, sizeof(*ents)))) {
		rc = AV_ERROR;
		goto done;
	}
	for (size_t i = 0; i <= na; i++) {
		const av_rawent *e = NULL;

		if (i < na) {
			e = &a.e[i];
			if (is_touched(touched, nt, key_name(e->name)))
				continue;
		}
		while (k < nres && (!e || strcmp(res[k]->key, e->name) < 0)) {
			if (m && !strcmp(ents[m - 1].key, res[k]->key))
				m--;	/* one key twice (never expected): the later */
			ents[m].key = res[k]->key;
			ents[m++].oid = &res[k++]->oid;
		}
		if (e) {
			ents[m].key = e->name;
			ents[m++].oid = e->oid;
		}
	}
	if (m)
		rc = av_plist_bucket_write(s, ents, m, out);
	else
		memset(out, 0, sizeof(*out));
	*count = m;
done:
	free(ents);
	free(res);
	free(pl);
	free(pr);
	refs_dispose(&la);
	refs_dispose(&rb);
	av_rawtree_dispose(&a);
	av_rawtree_dispose(&b);
	return rc;
}

int av_list_merge(av_store *s, const git_oid *lists, size_t n, av_merge_mode mode,
		  git_oid *out)
{
	git_oid (*b)[AV_PLIST_NBUCKETS] = NULL;
	size_t (*cnt)[AV_PLIST_NBUCKETS] = NULL, nres[AV_PLIST_NBUCKETS];
	git_oid res[AV_PLIST_NBUCKETS];
	const git_oid **t = NULL;
	merge_src *src = NULL, **tsrc = NULL;
	int rc = 0;

	if (!n)
		return av_error_set(AV_EINVALID, "merge needs at least one source");
	if (!(b = av_calloc(n, sizeof(*b))) || !(cnt = av_calloc(n, sizeof(*cnt))) ||
	    !(t = av_calloc(n, sizeof(*t))) ||
	    !(src = av_calloc(n, sizeof(*src))) || !(tsrc = av_calloc(n, sizeof(*tsrc)))) {
		rc = AV_ERROR;
		goto done;
	}
	for (size_t j = 0; j < n && !rc; j++) {
		src[j].list = &lists[j];
		src[j].end = -2;
		rc = av_plist_buckets(s, &lists[j], b[j], cnt[j]);
	}
	for (int i = 0; i < AV_PLIST_NBUCKETS && !rc; i++) {
		size_t k = 0, same = 0, first = 0;

		/* an empty part changes nothing in aptly's merge */
		for (size_t j = 0; j < n; j++) {
			if (git_oid_is_zero(&b[j][i]))
				continue;
			same += k && !git_oid_cmp(&b[j][i], t[0]);
			first = k ? first : j;
			t[k] = &b[j][i];
			tsrc[k++] = &src[j];
		}
		memset(&res[i], 0, sizeof(res[i]));
		nres[i] = 0;
		if (!k)
			continue;
		/* one part, or equal parts: merging equal refs keeps them */
		if (same == k - 1 && mode != AV_MERGE_LATEST) {
			git_oid_cpy(&res[i], t[0]);
			nres[i] = cnt[first][i];
		} else if (k != 2 || mode == AV_MERGE_LATEST ||
			   (rc = merge_pair(s, t, tsrc[1], mode, i, &res[i], &nres[i])) == 1) {
			rc = merge_bucket(s, t, tsrc, k, mode, i, &res[i], &nres[i]);
		}
	}
	if (!rc)
		rc = av_plist_root_write(s, res, nres, out);
done:
	free(tsrc);
	free(src);
	free(t);
	free(cnt);
	free(b);
	return rc;
}
