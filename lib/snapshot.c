/* snapshot.c - immutable named package lists (see snapshot.h). */
#include <stdio.h>
#include <time.h>
#include "aptvault/snapshot.h"
#include "aptvault/txn.h"
#include "aptvault/deps.h"
#include "aptvault/plist.h"
#include "aptvault/publish.h"
#include "internal.h"

static const char KIND[] = "snapshot";

static int not_found(const char *kind, const char *name)
{
	return av_error_set(AV_ENOTFOUND, "%s '%s' does not exist; see 'aptvault %s list'",
			    kind, name, kind);
}

int av_snapshot_open(av_ctx *c, const char *name, av_state **out)
{
	return av_resource_open(c, KIND, name, out);
}

int av_snapshot_names(av_ctx *c, char ***names, size_t *n)
{
	return av_store_ref_names(c->store, av_txn_ref_prefix(KIND), names, n);
}

/* meta.json of a new snapshot. */
static int new_state(av_state **out, const char *origin, const char *description,
		     const av_snapshot_source *src, size_t n)
{
	av_state *st = NULL;
	cJSON *arr;
	int rc;

	if ((rc = av_state_new(&st)) ||
	    (rc = av_state_set(st, "description", description ? description : "")) ||
	    (rc = av_state_set(st, "origin", origin)))
		goto fail;
	{
		/* Milliseconds: snapshots made within a second still sort. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		cJSON_AddNumberToObject(st->meta, "created", (double)ts.tv_sec +
					(double)(ts.tv_nsec / 1000000) / 1000.0);
	}
	if (!(arr = cJSON_AddArrayToObject(st->meta, "sources"))) {
		rc = av_error_set(AV_ERROR, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), &src[i].state);
		cJSON_AddStringToObject(o, "kind", src[i].kind);
		cJSON_AddStringToObject(o, "name", src[i].name);
		cJSON_AddStringToObject(o, "state", hex);
		cJSON_AddItemToArray(arr, o);
	}
	*out = st;
	return 0;
fail:
	av_state_free(st);
	return rc;
}

/* Create NAME (already locked exclusively in t and read absent). */
static int create_locked(av_ctx *c, av_txn *t, const char *name, av_state *st)
{
	char msg[1024];
	git_oid commit;
	int rc;

	snprintf(msg, sizeof(msg), "%s -- created", c->command ? c->command : "aptvault");
	if ((rc = av_state_write(c->store, st, msg, &commit)) ||
	    (rc = av_txn_stage(t, KIND, name, &commit)))
		return rc;
	rc = av_txn_commit(t, msg);
	if (rc == AV_EEXISTS)
		rc = av_error_set(AV_EEXISTS, "snapshot '%s' already exists", name);
	return rc;
}

/* Begin a txn on NAME (exclusive) plus sources of kind skind (shared),
 * and check NAME is free. */
static int begin_create(av_ctx *c, av_txn **t, const char *name, const char *skind,
			const char *const *sources, size_t n)
{
	av_txn_opts o = { c->lock_timeout, c->command };
	git_oid oid;
	int rc;

	*t = NULL;
	if ((rc = av_name_check(KIND, name)) || (rc = av_txn_begin(t, c->store, &o)) ||
	    (rc = av_txn_declare(*t, KIND, name, AV_LOCK_EXCLUSIVE)))
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = av_txn_declare(*t, skind, sources[i], AV_LOCK_SHARED)))
			return rc;
	if ((rc = av_txn_lock(*t)))
		return rc;
	rc = av_txn_read(*t, KIND, name, &oid);
	if (rc == 0)
		return av_error_set(AV_EEXISTS, "snapshot '%s' already exists", name);
	return rc == AV_ENOTFOUND ? 0 : rc;
}

/* Read a locked source's state. */
static int read_source(av_ctx *c, av_txn *t, const char *kind, const char *name,
		       av_state **st)
{
	git_oid oid;
	int rc = av_txn_read(t, kind, name, &oid);

	if (rc == AV_ENOTFOUND)
		return not_found(kind, name);
	return rc ? rc : av_state_load(st, c->store, &oid);
}

int av_snapshot_create_from(av_ctx *c, const char *name, const char *kind,
			    const char *source, const char *description)
{
	av_txn *t = NULL;
	av_state *src = NULL, *st = NULL;
	av_snapshot_source s = { kind, source, { { 0 } } };
	char desc[1024];
	int rc;

	if (!av_txn_ref_prefix(kind) || !strcmp(kind, "published"))
		return av_error_set(AV_EINVALID, "cannot take a snapshot of a %s", kind);
	/* The source is locked shared: it may keep changing afterwards, but
	 * it cannot vanish or be renamed while we read it. */
	if ((rc = begin_create(c, &t, name, kind, &source, 1)) ||
	    (rc = read_source(c, t, kind, source, &src)))
		goto done;
	git_oid_cpy(&s.state, &src->commit);
	if (!description) {
		snprintf(desc, sizeof(desc), "Snapshot from %s '%s'", kind, source);
		description = desc;
	}
	if ((rc = new_state(&st, kind, description, &s, 1)))
		goto done;
	git_oid_cpy(&st->packages, &src->packages);	/* O(1): the same tree */
	rc = create_locked(c, t, name, st);
done:
	av_state_free(st);
	av_state_free(src);
	av_txn_free(t);
	return rc;
}

int av_snapshot_create_empty(av_ctx *c, const char *name, const char *description)
{
	av_txn *t = NULL;
	av_state *st = NULL;
	int rc;

	if (!(rc = begin_create(c, &t, name, NULL, NULL, 0)) &&
	    !(rc = new_state(&st, "empty", description ? description : "Empty snapshot",
			     NULL, 0)))
		rc = create_locked(c, t, name, st);
	av_state_free(st);
	av_txn_free(t);
	return rc;
}

int av_snapshot_derive(av_ctx *c, const char *name, const char *const *sources,
		       size_t n, const char *origin, const char *description,
		       av_derive_fn fn, void *payload)
{
	av_txn *t = NULL;
	av_state **states = NULL, *st = NULL;
	av_snapshot_source *src = NULL;
	git_oid list;
	int rc;

	if (!(states = av_calloc(n + 1, sizeof(*states))) ||
	    !(src = av_calloc(n + 1, sizeof(*src)))) {
		rc = AV_ERROR;
		goto done;
	}
	if ((rc = begin_create(c, &t, name, KIND, sources, n)))
		goto done;
	for (size_t i = 0; i < n; i++) {
		if ((rc = read_source(c, t, KIND, sources[i], &states[i])))
			goto done;
		src[i].kind = KIND;
		src[i].name = sources[i];
		git_oid_cpy(&src[i].state, &states[i]->commit);
	}
	if ((rc = fn(c, states, n, &list, payload)) ||
	    (rc = new_state(&st, origin, description, src, n)))
		goto done;
	git_oid_cpy(&st->packages, &list);
	rc = create_locked(c, t, name, st);
done:
	for (size_t i = 0; states && i < n; i++)
		av_state_free(states[i]);
	free(states);
	free(src);
	av_state_free(st);
	av_txn_free(t);
	return rc;
}

int av_snapshot_rename(av_ctx *c, const char *from, const char *to)
{
	return av_resource_rename(c, KIND, from, to);
}

/* Snapshots made from snapshot `name` (found by name, or by its state,
 * which a rename keeps), comma-separated. */
static int children_of(av_ctx *c, const char *name, const git_oid *state, av_buf *out)
{
	char hex[GIT_OID_HEXSZ + 1];
	char **names = NULL;
	size_t n = 0;
	int rc;

	git_oid_tostr(hex, sizeof(hex), state);
	if ((rc = av_snapshot_names(c, &names, &n)))
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		av_state *st = NULL;
		const cJSON *srcs, *s;

		if (!strcmp(names[i], name))
			continue;
		if ((rc = av_snapshot_open(c, names[i], &st)) == AV_ENOTFOUND) {
			rc = 0;
			continue;
		}
		srcs = rc ? NULL : cJSON_GetObjectItemCaseSensitive(st->meta, "sources");
		cJSON_ArrayForEach(s, srcs) {
			const cJSON *k = cJSON_GetObjectItemCaseSensitive(s, "kind");
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(s, "name");
			const cJSON *sv = cJSON_GetObjectItemCaseSensitive(s, "state");
			if (cJSON_IsString(k) && !strcmp(k->valuestring, KIND) &&
			    ((cJSON_IsString(nm) && !strcmp(nm->valuestring, name)) ||
			     (cJSON_IsString(sv) && !strcmp(sv->valuestring, hex)))) {
				rc = av_buf_printf(out, "%s'%s'", out->len ? ", " : "", names[i]);
				break;
			}
		}
		av_state_free(st);
	}
	av_store_names_free(names, n);
	return rc;
}

int av_snapshot_drop(av_ctx *c, const char *name, int force)
{
	av_txn_opts o = { c->lock_timeout, c->command };
	av_buf kids = AV_BUF_INIT;
	av_txn *t = NULL;
	git_oid oid;
	int rc;

	if ((rc = av_txn_begin(&t, c->store, &o)) ||
	    (rc = av_txn_declare(t, KIND, name, AV_LOCK_EXCLUSIVE)) ||
	    (rc = av_txn_lock(t)))
		goto done;
	if ((rc = av_txn_read(t, KIND, name, &oid)) == AV_ENOTFOUND) {
		rc = not_found(KIND, name);
		goto done;
	}
	if (rc)
		goto done;
	/* A published distribution pins the content, but 'publish update'
	 * and 'show' name the snapshot: never drop it under them.  Publishing
	 * holds the snapshot's lock shared, so this check cannot race one. */
	if (!(rc = av_publish_users(c, KIND, name, &oid, &kids)) || rc == 1) {
		if (rc == 1) {
			rc = av_error_set(AV_ECONFLICT, "snapshot '%s' is published at %s; "
					  "switch or drop those first", name, kids.ptr);
			goto done;
		}
	} else {
		goto done;
	}
	/* Derived snapshots pinned the content they took, so dropping only
	 * loses the lineage name; still, aptly asks for --force. */
	if (!force && !(rc = children_of(c, name, &oid, &kids)) && kids.len) {
		rc = av_error_set(AV_ECONFLICT, "snapshot '%s' was used as a source by "
				  "%s; use --force to drop it anyway", name, kids.ptr);
		goto done;
	}
	if (rc || (rc = av_txn_stage(t, KIND, name, NULL)))
		goto done;
	rc = av_txn_commit(t, c->command);
done:
	av_buf_dispose(&kids);
	av_txn_free(t);
	return rc;
}

int av_pkgset_write(av_store *s, const av_pkgset *set, git_oid *out)
{
	av_plist *l = NULL;
	av_buf key = AV_BUF_INIT;
	int rc;

	if ((rc = av_plist_open(&l, s, NULL)))
		return rc;
	for (size_t i = 0; i < av_pkgset_count(set) && !rc; i++) {
		const git_oid *blob = NULL;
		const av_pkg *p = av_pkgset_at(set, i, &blob);
		av_buf_clear(&key);
		if (!(rc = av_pkg_key(&key, p)) &&
		    (rc = av_plist_put(l, key.ptr, blob, 1)) > 0)
			rc = 0;
	}
	if (!rc)
		rc = av_plist_write(l, out);
	av_buf_dispose(&key);
	av_plist_free(l);
	return rc;
}
