/*
 * txn.c - the mutation protocol (see txn.h, DESIGN.md §3).
 *
 * The txn remembers, for every ref it read, the oid it saw; a staged
 * update is only accepted for a ref that was read under an exclusive lock,
 * and the commit swaps each ref from exactly that oid.
 */
#include <stdio.h>
#include "aptvault/txn.h"
#include "internal.h"

typedef struct txn_ref {
	char *kind;
	char *name;
	char *refname;
	git_oid seen;		/* value read under the lock; zero = absent */
	git_oid target;		/* staged value; zero = delete */
	int read;
	int staged;
} txn_ref;

struct av_txn {
	av_store *store;
	av_lockset *fence;
	av_lockset *locks;
	txn_ref *refs;
	size_t n, alloc;
	double timeout;
	char *command;
	int locked;
	int committed;
};

static const struct {
	const char *kind;
	const char *prefix;
} kinds[] = {
	{ "repo", "refs/repos/" },
	{ "mirror", "refs/mirrors/" },
	{ "snapshot", "refs/snapshots/" },
	{ "published", "refs/published/" },
	/* Lock only: the pool of a publishing prefix (publish.c). */
	{ "prefix", "refs/prefixes/" },
};

const char *av_txn_ref_prefix(const char *kind)
{
	for (size_t i = 0; i < AV_ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].kind, kind))
			return kinds[i].prefix;
	return NULL;
}

int av_txn_refname(av_buf *out, const char *kind, const char *name)
{
	const char *prefix = av_txn_ref_prefix(kind);
	int rc;

	if (!prefix)
		return av_error_set(AV_ERROR, "internal error: unknown kind '%s'", kind);
	if ((rc = av_buf_puts(out, prefix)))
		return rc;
	return av_name_encode(out, name);
}

int av_txn_begin(av_txn **out, av_store *s, const av_txn_opts *opts)
{
	av_txn *t = av_calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (!t)
		return AV_ERROR;
	t->store = s;
	t->timeout = opts ? opts->lock_timeout : -1;
	if (!(t->command = av_strdup(opts && opts->command ? opts->command : "aptvault"))) {
		rc = AV_ERROR;
		goto fail;
	}
	/* The maintenance fence, shared: db cleanup takes it exclusively so
	 * that it never sweeps what this command is about to reference (I8).
	 * "db/fence" sorts before every resource key, keeping one order. */
	if ((rc = av_lockset_new(&t->fence, av_store_root(s))) ||
	    (rc = av_lockset_add(t->fence, "db", "fence", AV_LOCK_SHARED)) ||
	    (rc = av_lockset_acquire(t->fence, t->timeout)) ||
	    (rc = av_lockset_new(&t->locks, av_store_root(s))))
		goto fail;
	*out = t;
	return 0;
fail:
	av_txn_free(t);
	return rc;
}

static txn_ref *find_ref(av_txn *t, const char *kind, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->refs[i].kind, kind) && !strcmp(t->refs[i].name, name))
			return &t->refs[i];
	return NULL;
}

int av_txn_declare(av_txn *t, const char *kind, const char *name, av_lock_mode mode)
{
	av_buf refname = AV_BUF_INIT;
	txn_ref *r;
	int rc;

	if (t->locked)
		return av_error_set(AV_ERROR, "internal error: %s '%s' declared after "
				    "locking (I3)", kind, name);
	if ((rc = av_lockset_add(t->locks, kind, name, mode)))
		return rc;
	if (find_ref(t, kind, name))
		return 0;
	if ((rc = av_txn_refname(&refname, kind, name)) ||
	    (rc = av_array_grow((void **)&t->refs, &t->alloc, t->n + 1, sizeof(*t->refs))))
		goto done;
	r = &t->refs[t->n];
	memset(r, 0, sizeof(*r));
	if (!(r->kind = av_strdup(kind)) || !(r->name = av_strdup(name))) {
		free(r->kind);
		rc = AV_ERROR;
		goto done;
	}
	r->refname = av_buf_detach(&refname);
	t->n++;
done:
	av_buf_dispose(&refname);
	return rc;
}

int av_txn_lock(av_txn *t)
{
	int rc = av_lockset_acquire(t->locks, t->timeout);

	if (!rc)
		t->locked = 1;
	return rc;
}

int av_txn_read(av_txn *t, const char *kind, const char *name, git_oid *out)
{
	txn_ref *r = find_ref(t, kind, name);
	int rc;

	if (!r || !t->locked)
		return av_error_set(AV_ERROR, "internal error: %s '%s' read without "
				    "its lock (I2)", kind, name);
	rc = av_store_ref_read(t->store, r->refname, out);
	if (rc && rc != AV_ENOTFOUND)
		return rc;
	git_oid_cpy(&r->seen, out);
	r->read = 1;
	return rc;
}

int av_txn_stage(av_txn *t, const char *kind, const char *name, const git_oid *new_oid)
{
	txn_ref *r = find_ref(t, kind, name);

	if (!r || !r->read ||
	    !av_lockset_holds(t->locks, kind, name, AV_LOCK_EXCLUSIVE))
		return av_error_set(AV_ERROR, "internal error: %s '%s' staged without "
				    "an exclusive lock and a fresh read", kind, name);
	if (new_oid)
		git_oid_cpy(&r->target, new_oid);
	else
		memset(&r->target, 0, sizeof(r->target));
	r->staged = 1;
	return 0;
}

int av_txn_commit(av_txn *t, const char *message)
{
	av_ref_update *ups = NULL;
	size_t n = 0;
	char msg[1024];
	int rc;

	/* I6: every object is durable before any ref makes it reachable. */
	if ((rc = av_store_flush(t->store)))
		return rc;
	if (!(ups = av_calloc(t->n ? t->n : 1, sizeof(*ups))))
		return AV_ERROR;
	for (size_t i = 0; i < t->n; i++) {
		if (!t->refs[i].staged)
			continue;
		if (!git_oid_cmp(&t->refs[i].seen, &t->refs[i].target))
			continue;	/* nothing changes */
		ups[n].refname = t->refs[i].refname;
		git_oid_cpy(&ups[n].expected, &t->refs[i].seen);
		git_oid_cpy(&ups[n].target, &t->refs[i].target);
		ups[n].locked = 1;	/* av_txn_stage checked the flock */
		n++;
	}
	/* Reflog messages are one line. */
	snprintf(msg, sizeof(msg), "%s", message ? message : t->command);
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
	/*
	 * git_transaction is not atomic across refs, so each ref is swapped on
	 * its own, deletions last: a crash part way (a rename) can leave a
	 * name twice, never a resource lost.
	 */
	rc = 0;
	for (int pass = 0; pass < 2 && !rc; pass++)
		for (size_t i = 0; i < n && !rc; i++)
			if (git_oid_is_zero(&ups[i].target) == pass)
				rc = av_store_ref_update(t->store, &ups[i], msg);
	free(ups);
	if (!rc)
		t->committed = 1;
	return rc;
}

void av_txn_free(av_txn *t)
{
	if (!t)
		return;
	if (!t->committed)
		av_store_discard(t->store);
	av_lockset_free(t->locks);
	av_lockset_free(t->fence);
	for (size_t i = 0; i < t->n; i++) {
		free(t->refs[i].kind);
		free(t->refs[i].name);
		free(t->refs[i].refname);
	}
	free(t->refs);
	free(t->command);
	free(t);
}
