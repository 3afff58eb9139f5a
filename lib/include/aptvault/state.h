/*
 * state.h - the state of a resource: one commit whose tree holds
 * meta.json (settings, cJSON) and packages/ (a plist tree).
 *
 * States are not chained by parent: history lives in the ref's reflog
 * with a retention limit, so old states and their pool files can go.
 */
#ifndef AV_STATE_H
#define AV_STATE_H

#include <git2.h>
#include <cjson/cJSON.h>
#include "store.h"

typedef struct av_state {
	cJSON *meta;		/* owned; an object */
	git_oid packages;	/* plist tree; zero = empty */
	git_oid aux;		/* kind-specific tree ("aux"); zero = none */
	git_oid commit;		/* where it was loaded from; zero if new */
	long long time;		/* commit time */
} av_state;

int av_state_new(av_state **out);
int av_state_load(av_state **out, av_store *s, const git_oid *commit);
/* Write meta.json + packages/ and a commit; *out is the commit. */
int av_state_write(av_store *s, const av_state *st, const char *message, git_oid *out);
void av_state_free(av_state *st);

/* Borrowed string setting from meta, or def. */
const char *av_state_get(const av_state *st, const char *key, const char *def);
int av_state_set(av_state *st, const char *key, const char *value);

#endif
