/*
 * error.h - the one error convention of libaptvault.
 *
 * Every lib/ function that can fail returns int: 0 (AV_OK) or one of the
 * negative codes below, and leaves a human message in a thread-local slot
 * read with av_error_last().  lib/ never prints and never exits; cmd/ maps
 * codes to exit statuses and prints "aptvault: error: <message>".
 *
 * Messages follow git: lowercase, no final period, the subject quoted,
 * what failed first, then why, then what to do.
 */
#ifndef AV_ERROR_H
#define AV_ERROR_H

#include <stdarg.h>

enum {
	AV_OK = 0,
	AV_ERROR = -1,		/* anything else (out of memory, libgit2 failure) */
	AV_ENOTFOUND = -2,	/* a named thing does not exist */
	AV_EEXISTS = -3,	/* a name is taken */
	AV_EBUSY = -4,		/* a lock is held by another command */
	AV_ECONFLICT = -5,	/* same identity, different content; CAS mismatch */
	AV_EINVALID = -6,	/* malformed or hostile input */
	AV_ESIGNATURE = -7,	/* signature missing, bad or untrusted */
	AV_EIO = -8,		/* the operating system said no */
};

/* Set the thread's message and return code, so callers can write
 * `return av_error_set(AV_EINVALID, "bad field '%s'", name);`. */
int av_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like av_error_set, with ": strerror(errno_value)" appended. */
int av_error_set_errno(int code, int errno_value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend "CONTEXT: " to the current message; returns code unchanged. */
int av_error_wrap(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Take libgit2's last error as ours (code AV_ERROR unless mapped). */
int av_error_from_git(int git_code, const char *what);

/* The thread's last message; never NULL ("" when none). Borrowed. */
const char *av_error_last(void);

/* The thread's last code (0 when none). */
int av_error_code(void);

void av_error_clear(void);

/* A short noun for a code: "not found", "busy", ... */
const char *av_error_name(int code);

#endif
