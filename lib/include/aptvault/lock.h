/*
 * lock.h - per-resource locks with flock(2) on $ROOT/locks/KIND/NAME.
 *
 * A lock set is declared in full, then acquired in one global order
 * (sorted by "KIND/NAME"), so no two commands can deadlock (I3).  Keys may
 * not be added once the set is acquired.  A crashed holder's locks are
 * released by the kernel.
 */
#ifndef AV_LOCK_H
#define AV_LOCK_H

typedef enum av_lock_mode {
	AV_LOCK_SHARED = 0,	/* the name must stay stable */
	AV_LOCK_EXCLUSIVE,	/* the resource is written */
} av_lock_mode;

typedef struct av_lockset av_lockset;

int av_lockset_new(av_lockset **out, const char *root);
/* Declare a key; declaring it twice keeps the stronger mode. */
int av_lockset_add(av_lockset *ls, const char *kind, const char *name, av_lock_mode mode);
/*
 * Take every declared lock in sorted order.  timeout < 0 waits forever,
 * 0 fails at once, > 0 waits that many seconds.  On failure nothing is
 * held and the error is AV_EBUSY: "repo 'x' is busy: another command
 * holds its lock".
 */
int av_lockset_acquire(av_lockset *ls, double timeout);
/* 1 if kind/name is held in at least the given mode. */
int av_lockset_holds(const av_lockset *ls, const char *kind, const char *name,
		     av_lock_mode mode);
void av_lockset_release(av_lockset *ls);
void av_lockset_free(av_lockset *ls);

#endif
