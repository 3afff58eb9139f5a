/*
 * failpoint.h - injected failures, for tests.
 *
 * APTVAULT_FAILPOINTS is a comma-separated list of failpoint names, each
 * optionally "name=N".  A plain name fails every time its failpoint is
 * reached; "name=N" fails only the Nth time (counting from 1) in this
 * process.  Code calls av_failpoint("pool-write") just before the step it
 * guards and turns a nonzero answer into the error that step would give,
 * saying "injected failure (failpoint NAME)".
 *
 * Failpoints used by lib/:
 *   pool-write   av_pool_import fails before renaming into the pool
 *   pool-link    av_pool_import behaves as if link(2) and rename(2) of
 *                the source failed (cross-filesystem), forcing a copy
 */
#ifndef AV_FAILPOINT_H
#define AV_FAILPOINT_H

/* Nonzero if this hit of failpoint name must fail. */
int av_failpoint(const char *name);

/* Forget the hit counts (tests that change APTVAULT_FAILPOINTS). */
void av_failpoint_reset(void);

#endif
