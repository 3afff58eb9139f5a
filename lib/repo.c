/* repo.c - local repositories (see repo.h). */
#include <stdio.h>
#include "aptvault/repo.h"
#include "aptvault/publish.h"
#include "aptvault/plist.h"
#include "aptvault/txn.h"
#include "aptvault/deps.h"
#include "internal.h"

static const char KIND[] = "repo";

static int not_found(const char *name)
{
	return av_error_set(AV_ENOTFOUND, "repo '%s' does not exist; see 'aptvault repo list'",
			    name);
}

static int begin(av_ctx *c, av_txn **t)
{
	av_txn_opts o = { c->lock_timeout, c->command };
	return av_txn_begin(t, c->store, &o);
}

/* Lock name exclusively and load its state fresh (I2). */
static int begin_one(av_ctx *c, const char *name, av_txn **t, av_state **st)
{
	git_oid oid;
	int rc;

	*t = NULL;
	*st = NULL;
	if ((rc = begin(c, t)) ||
	    (rc = av_txn_declare(*t, KIND, name, AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_lock(*t)))
		return rc;
	if ((rc = av_txn_read(*t, KIND, name, &oid)) == AV_ENOTFOUND)
		return not_found(name);
	if (rc)
		return rc;
	return av_state_load(st, c->store, &oid);
}

static int apply_settings(av_state *st, const av_repo_settings *set)
{
	int rc = 0;

	if (set && set->comment)
		rc = av_state_set(st, "comment", set->comment);
	if (!rc && set && set->distribution)
		rc = av_state_set(st, "distribution", set->distribution);
	if (!rc && set && set->component)
		rc = av_state_set(st, "component", set->component);
	return rc;
}

/* The history message: the command line and what it changed. */
static void history_message(char *msg, size_t size, av_ctx *c, const char *summary)
{
	snprintf(msg, size, "%s%s%s", c->command ? c->command : "aptvault",
		 summary ? " -- " : "", summary ? summary : "");
}

/* Write st (with list as its packages, when given) as name's new state
 * and stage it in t; *out is the new commit. */
static int stage_state(av_ctx *c, av_txn *t, const char *name, av_state *st,
		       av_plist *list, const char *summary, git_oid *out)
{
	char msg[1024];
	int rc;

	history_message(msg, sizeof(msg), c, summary);
	if (list && (rc = av_plist_write(list, &st->packages)))
		return rc;
	if ((rc = av_state_write(c->store, st, msg, out)))
		return rc;
	return av_txn_stage(t, KIND, name, out);
}

/* stage_state, then commit the txn. */
static int commit_state(av_ctx *c, av_txn *t, const char *name, av_state *st,
			av_plist *list, const char *summary, av_change *chg)
{
	char msg[1024];
	git_oid commit;
	int rc;

	history_message(msg, sizeof(msg), c, summary);
	if ((rc = stage_state(c, t, name, st, list, summary, &commit)) ||
	    (rc = av_txn_commit(t, msg)))
		return rc;
	if (chg) {
		git_oid_cpy(&chg->before, &st->commit);
		git_oid_cpy(&chg->after, &commit);
	}
	return 0;
}

int av_repo_create(av_ctx *c, const char *name, const av_repo_settings *set,
		   int exist_ok, int *created)
{
	av_txn *t = NULL;
	av_state *st = NULL;
	git_oid oid;
	int rc;

	if (created)
		*created = 0;
	if ((rc = av_name_check(KIND, name)) || (rc = begin(c, &t)) ||
	    (rc = av_txn_declare(t, KIND, name, AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_lock(t)))
		goto done;
	rc = av_txn_read(t, KIND, name, &oid);
	if (rc == 0) {
		rc = exist_ok ? 0 : av_error_set(AV_EEXISTS, "repo '%s' already exists", name);
		goto done;
	}
	if (rc != AV_ENOTFOUND)
		goto done;
	if ((rc = av_state_new(&st)) ||
	    (rc = av_state_set(st, "comment", "")) ||
	    (rc = av_state_set(st, "distribution", "")) ||
	    (rc = av_state_set(st, "component", "main")) ||
	    (rc = apply_settings(st, set)) ||
	    (rc = commit_state(c, t, name, st, NULL, "created", NULL)))
		goto done;
	if (created)
		*created = 1;
done:
	/* The CAS backstop reports "'refs/repos/x' already exists": say it
	 * the way users name things. */
	if (rc == AV_EEXISTS && !exist_ok)
		av_error_set(AV_EEXISTS, "repo '%s' already exists", name);
	else if (rc == AV_EEXISTS)
		rc = 0;
	av_state_free(st);
	av_txn_free(t);
	return rc;
}

int av_repo_create_from_snapshot(av_ctx *c, const char *name, const av_repo_settings *set,
				 const char *snap)
{
	av_txn *t = NULL;
	av_state *st = NULL, *src = NULL;
	git_oid oid;
	char summary[512];
	int rc;

	if ((rc = av_name_check(KIND, name)) || (rc = begin(c, &t)) ||
	    (rc = av_txn_declare(t, KIND, name, AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_declare(t, "snapshot", snap, AV_LOCK_SHARED)) ||
	    (rc = av_txn_lock(t)))
		goto done;
	if ((rc = av_txn_read(t, KIND, name, &oid)) == 0) {
		rc = av_error_set(AV_EEXISTS, "repo '%s' already exists", name);
		goto done;
	}
	if (rc != AV_ENOTFOUND)
		goto done;
	if ((rc = av_txn_read(t, "snapshot", snap, &oid)) == AV_ENOTFOUND) {
		rc = av_error_set(AV_ENOTFOUND, "snapshot '%s' does not exist; see "
				  "'aptvault snapshot list'", snap);
		goto done;
	}
	if (rc || (rc = av_state_load(&src, c->store, &oid)) ||
	    (rc = av_state_new(&st)) || (rc = av_state_set(st, "comment", "")) ||
	    (rc = av_state_set(st, "distribution", "")) ||
	    (rc = av_state_set(st, "component", "main")) || (rc = apply_settings(st, set)))
		goto done;
	git_oid_cpy(&st->packages, &src->packages);
	snprintf(summary, sizeof(summary), "created from snapshot %s", snap);
	rc = commit_state(c, t, name, st, NULL, summary, NULL);
	if (rc == AV_EEXISTS)
		av_error_set(AV_EEXISTS, "repo '%s' already exists", name);
done:
	av_state_free(src);
	av_state_free(st);
	av_txn_free(t);
	return rc;
}

int av_resource_open(av_ctx *c, const char *kind, const char *name, av_state **out)
{
	av_buf ref = AV_BUF_INIT;
	git_oid oid;
	int rc;

	*out = NULL;
	if ((rc = av_txn_refname(&ref, kind, name)))
		goto done;
	rc = av_store_ref_read(c->store, ref.ptr, &oid);
	if (rc == AV_ENOTFOUND)
		rc = av_error_set(AV_ENOTFOUND, "%s '%s' does not exist; see 'aptvault %s "
				  "list'", kind, name, kind);
	if (!rc)
		rc = av_state_load(out, c->store, &oid);
done:
	av_buf_dispose(&ref);
	return rc;
}

int av_repo_open(av_ctx *c, const char *name, av_state **out)
{
	return av_resource_open(c, KIND, name, out);
}

int av_repo_names(av_ctx *c, char ***names, size_t *n)
{
	return av_store_ref_names(c->store, av_txn_ref_prefix(KIND), names, n);
}

int av_repo_edit(av_ctx *c, const char *name, const av_repo_settings *set)
{
	av_txn *t = NULL;
	av_state *st = NULL;
	int rc;

	if (!(rc = begin_one(c, name, &t, &st)) && !(rc = apply_settings(st, set)))
		rc = commit_state(c, t, name, st, NULL, "edited", NULL);
	av_state_free(st);
	av_txn_free(t);
	return rc;
}

int av_resource_rename(av_ctx *c, const char *kind, const char *from, const char *to)
{
	av_txn_opts o = { c->lock_timeout, c->command };
	av_txn *t = NULL;
	git_oid old, clash;
	int rc;

	if ((rc = av_name_check(kind, to)) || (rc = av_txn_begin(&t, c->store, &o)) ||
	    (rc = av_txn_declare(t, kind, from, AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_declare(t, kind, to, AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_lock(t)))
		goto done;
	if ((rc = av_txn_read(t, kind, from, &old)) == AV_ENOTFOUND) {
		rc = av_error_set(AV_ENOTFOUND, "%s '%s' does not exist; see 'aptvault %s "
				  "list'", kind, from, kind);
		goto done;
	}
	if (rc)
		goto done;
	if ((rc = av_txn_read(t, kind, to, &clash)) == 0) {
		rc = av_error_set(AV_EEXISTS, "cannot rename %s '%s': %s '%s' already "
				  "exists", kind, from, kind, to);
		goto done;
	}
	if (rc != AV_ENOTFOUND || (rc = av_txn_stage(t, kind, to, &old)) ||
	    (rc = av_txn_stage(t, kind, from, NULL)))
		goto done;
	rc = av_txn_commit(t, c->command);
done:
	av_txn_free(t);
	return rc;
}

int av_repo_rename(av_ctx *c, const char *from, const char *to)
{
	return av_resource_rename(c, KIND, from, to);
}

int av_repo_drop(av_ctx *c, const char *name, int force)
{
	av_txn *t = NULL;
	git_oid oid;
	int rc;

	if ((rc = begin(c, &t)) || (rc = av_txn_declare(t, KIND, name, AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_lock(t)))
		goto done;
	if ((rc = av_txn_read(t, KIND, name, &oid)) == AV_ENOTFOUND) {
		rc = not_found(name);
		goto done;
	}
	if (!rc && !force) {
		/* Published content stays pinned; 'publish update' would fail. */
		av_buf where = AV_BUF_INIT;
		if ((rc = av_publish_users(c, KIND, name, NULL, &where)) == 1)
			rc = av_error_set(AV_ECONFLICT, "repo '%s' is published at %s; use "
					  "--force to drop it anyway", name, where.ptr);
		av_buf_dispose(&where);
	}
	if (rc || (rc = av_txn_stage(t, KIND, name, NULL)))
		goto done;
	rc = av_txn_commit(t, c->command);
done:
	av_txn_free(t);
	return rc;
}

static int change_summary(char *buf, size_t size, const av_change *chg)
{
	return snprintf(buf, size, "+%zu -%zu ~%zu", chg->added, chg->removed,
			chg->replaced);
}

int av_repo_add(av_ctx *c, const char *name, const av_import *imp, int force_replace,
		av_change *out)
{
	av_txn *t = NULL;
	av_state *st = NULL;
	av_plist *list = NULL;
	av_change chg = { 0 };
	av_buf conflicts = AV_BUF_INIT;
	size_t nconflicts = 0;
	char summary[128];
	int rc;

	if ((rc = begin_one(c, name, &t, &st)) ||
	    (rc = av_plist_open(&list, c->store, &st->packages)))
		goto done;
	for (size_t i = 0; i < imp->n; i++) {
		const av_import_item *it = &imp->items[i];
		git_oid old;
		int had = av_plist_get(list, it->key, &old) == 0;

		rc = av_plist_put(list, it->key, &it->blob, force_replace);
		if (rc == AV_ECONFLICT) {
			nconflicts++;
			av_buf_printf(&conflicts, "\n  %s (from %s)", it->key, it->sources[0]);
			continue;
		}
		if (rc < 0)
			goto done;
		if (rc == 1)
			chg.unchanged++;
		else if (had)
			chg.replaced++;
		else
			chg.added++;
		rc = 0;
	}
	if (nconflicts) {
		rc = av_error_set(AV_ECONFLICT, "repo '%s' already has %zu of these packages "
				  "with different content; nothing was added (use "
				  "--force-replace to replace them):%s", name, nconflicts,
				  av_buf_cstr(&conflicts));
		goto done;
	}
	if (chg.added || chg.replaced) {
		change_summary(summary, sizeof(summary), &chg);
		if ((rc = commit_state(c, t, name, st, list, summary, &chg)))
			goto done;
	}
	if (out)
		*out = chg;
done:
	av_buf_dispose(&conflicts);
	av_plist_free(list);
	av_state_free(st);
	av_txn_free(t);
	return rc;
}

typedef struct select_ctx {
	av_store *store;
	const av_query *q;
	av_pkg_cb cb;
	void *payload;
} select_ctx;

static int select_one(const char *key, const git_oid *oid, void *payload)
{
	select_ctx *sc = payload;
	git_blob *blob = NULL;
	av_pkg *pkg = NULL;
	int rc;

	if ((rc = av_store_blob_read(sc->store, &blob, oid)))
		return rc;
	rc = av_pkg_parse(&pkg, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	if (rc)
		return av_error_wrap(rc, "package '%s'", key);
	if (!sc->q || av_query_match(sc->q, pkg))
		rc = sc->cb(key, pkg, sc->payload);
	av_pkg_free(pkg);
	return rc;
}

int av_list_select(av_store *s, const git_oid *list, const av_query *q,
		   av_pkg_cb cb, void *payload)
{
	select_ctx sc = { s, q, cb, payload };
	av_plist *l = NULL;
	int rc;

	if (!(rc = av_plist_open(&l, s, list)))
		rc = av_plist_foreach(l, select_one, &sc);
	av_plist_free(l);
	return rc;
}

/* Collect selected keys (and report them) for remove/copy. */
typedef struct picked {
	char **keys;
	git_oid *oids;
	size_t n, alloc, oalloc;
	av_pkg_cb cb;
	void *payload;
	av_plist *src;
} picked;

static int pick(const char *key, const av_pkg *pkg, void *payload)
{
	picked *p = payload;
	int rc;

	if ((rc = av_array_grow((void **)&p->keys, &p->alloc, p->n + 1, sizeof(*p->keys))) ||
	    (rc = av_array_grow((void **)&p->oids, &p->oalloc, p->n + 1, sizeof(*p->oids))))
		return rc;
	if (!(p->keys[p->n] = av_strdup(key)))
		return AV_ERROR;
	if ((rc = av_plist_get(p->src, key, &p->oids[p->n]))) {
		free(p->keys[p->n]);
		return rc;
	}
	p->n++;
	return p->cb ? p->cb(key, pkg, p->payload) : 0;
}

static void picked_dispose(picked *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->keys[i]);
	free(p->keys);
	free(p->oids);
}

static int select_into(av_ctx *c, av_plist *list, const git_oid *tree, const av_query *q,
		       picked *p)
{
	p->src = list;
	return av_list_select(c->store, tree, q, pick, p);
}

int av_repo_remove(av_ctx *c, const char *name, const av_query *q, int dry_run,
		   av_pkg_cb cb, void *payload, av_change *out)
{
	av_txn *t = NULL;
	av_state *st = NULL;
	av_plist *list = NULL;
	picked p = { .cb = cb, .payload = payload };
	av_change chg = { 0 };
	char summary[128];
	int rc;

	if ((rc = begin_one(c, name, &t, &st)) ||
	    (rc = av_plist_open(&list, c->store, &st->packages)) ||
	    (rc = select_into(c, list, &st->packages, q, &p)))
		goto done;
	for (size_t i = 0; i < p.n; i++)
		if ((rc = av_plist_remove(list, p.keys[i])))
			goto done;
	chg.removed = p.n;
	if (!dry_run && p.n) {
		change_summary(summary, sizeof(summary), &chg);
		if ((rc = commit_state(c, t, name, st, list, summary, &chg)))
			goto done;
	}
	if (out)
		*out = chg;
done:
	picked_dispose(&p);
	av_plist_free(list);
	av_state_free(st);
	av_txn_free(t);
	return rc;
}

static int load_locked(av_ctx *c, av_txn *t, const char *name, av_state **st)
{
	git_oid oid;
	int rc = av_txn_read(t, KIND, name, &oid);

	if (rc == AV_ENOTFOUND)
		return not_found(name);
	return rc ? rc : av_state_load(st, c->store, &oid);
}

/* The matches of q in src plus what they need that dst lacks. */
static int select_with_deps(av_ctx *c, av_plist *slist, const av_state *sst,
			    const av_state *dst, const av_query *q,
			    const av_dep_opts *deps, picked *p)
{
	av_pkgset *from = NULL, *have = NULL, *out = NULL;
	av_buf key = AV_BUF_INIT;
	int rc;

	p->src = slist;
	if ((rc = av_pkgset_load(&from, c->store, &sst->packages)) ||
	    (rc = av_pkgset_load(&have, c->store, &dst->packages)) ||
	    (rc = av_pkgset_new(&out)) ||
	    (rc = av_deps_filter(from, q, 1, have, deps, out)))
		goto done;
	for (size_t i = 0; i < av_pkgset_count(out) && !rc; i++) {
		const av_pkg *pkg = av_pkgset_at(out, i, NULL);
		av_buf_clear(&key);
		if (!(rc = av_pkg_key(&key, pkg)))
			rc = pick(key.ptr, pkg, p);
	}
done:
	av_buf_dispose(&key);
	av_pkgset_free(out);
	av_pkgset_free(have);
	av_pkgset_free(from);
	return rc;
}

int av_repo_copy(av_ctx *c, const char *src, const char *dst, const av_query *q,
		 int move, int dry_run, const av_dep_opts *deps, av_pkg_cb cb,
		 void *payload, av_change *out)
{
	av_txn *t = NULL;
	av_state *sst = NULL, *dst_st = NULL;
	av_plist *slist = NULL, *dlist = NULL;
	picked p = { .cb = cb, .payload = payload };
	av_change chg = { 0 };
	av_buf conflicts = AV_BUF_INIT;
	size_t nconflicts = 0;
	char summary[128];
	int rc;

	if (!strcmp(src, dst)) {
		rc = av_error_set(AV_EINVALID, "source and destination are both repo '%s'", src);
		goto done;
	}
	/* A copy only reads src, but its name must stay stable meanwhile. */
	if ((rc = begin(c, &t)) ||
	    (rc = av_txn_declare(t, KIND, src, move ? AV_LOCK_EXCLUSIVE : AV_LOCK_SHARED)) ||
	    (rc = av_txn_declare(t, KIND, dst, AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_lock(t)) ||
	    (rc = load_locked(c, t, src, &sst)) || (rc = load_locked(c, t, dst, &dst_st)) ||
	    (rc = av_plist_open(&slist, c->store, &sst->packages)) ||
	    (rc = av_plist_open(&dlist, c->store, &dst_st->packages)))
		goto done;
	if ((rc = deps ? select_with_deps(c, slist, sst, dst_st, q, deps, &p) :
	     select_into(c, slist, &sst->packages, q, &p)))
		goto done;
	for (size_t i = 0; i < p.n; i++) {
		rc = av_plist_put(dlist, p.keys[i], &p.oids[i], 0);
		if (rc == AV_ECONFLICT) {
			nconflicts++;
			av_buf_printf(&conflicts, "\n  %s", p.keys[i]);
			continue;
		}
		if (rc < 0)
			goto done;
		if (rc == 1)
			chg.unchanged++;
		else
			chg.added++;
		if (move && (rc = av_plist_remove(slist, p.keys[i])))
			goto done;
		rc = 0;
	}
	if (nconflicts) {
		rc = av_error_set(AV_ECONFLICT, "repo '%s' already has %zu of these packages "
				  "with different content; nothing was %s:%s", dst, nconflicts,
				  move ? "moved" : "copied", av_buf_cstr(&conflicts));
		goto done;
	}
	if (dry_run || (!chg.added && !move) || !p.n)
		goto report;
	if (chg.added) {
		change_summary(summary, sizeof(summary), &chg);
		if ((rc = stage_state(c, t, dst, dst_st, dlist, summary, &chg.after)))
			goto done;
	}
	if (move) {
		git_oid moved;
		av_change schg = { .removed = p.n };
		change_summary(summary, sizeof(summary), &schg);
		if ((rc = stage_state(c, t, src, sst, slist, summary, &moved)))
			goto done;
	}
	git_oid_cpy(&chg.before, &dst_st->commit);
	{
		char msg[1024];
		change_summary(summary, sizeof(summary), &chg);
		history_message(msg, sizeof(msg), c, summary);
		if ((rc = av_txn_commit(t, msg)))
			goto done;
	}
report:
	if (out)
		*out = chg;
done:
	av_buf_dispose(&conflicts);
	picked_dispose(&p);
	av_plist_free(slist);
	av_plist_free(dlist);
	av_state_free(sst);
	av_state_free(dst_st);
	av_txn_free(t);
	return rc;
}
