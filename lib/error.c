/* error.c - the thread-local error slot (see error.h). */
#include <stdio.h>
#include <git2.h>
#include "internal.h"

#define AV_ERRMSG_MAX 4096

static _Thread_local char errmsg[AV_ERRMSG_MAX];
static _Thread_local int errcode;

static int set_va(int code, const char *fmt, va_list ap)
{
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	errcode = code;
	return code;
}

int av_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_va(code, fmt, ap);
	va_end(ap);
	return code;
}

int av_error_set_errno(int code, int errno_value, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	set_va(code, fmt, ap);
	va_end(ap);
	n = strlen(errmsg);
	snprintf(errmsg + n, sizeof(errmsg) - n, ": %s", strerror(errno_value));
	return code;
}

int av_error_wrap(int code, const char *fmt, ...)
{
	char prefix[1024];
	char old[AV_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, errmsg, sizeof(old));
	{
		size_t n = strlen(prefix);
		if (n > sizeof(errmsg) - 3)
			n = sizeof(errmsg) - 3;
		memcpy(errmsg, prefix, n);
		memcpy(errmsg + n, ": ", 2);
		n += 2;
		size_t m = strlen(old);
		if (m > sizeof(errmsg) - 1 - n)
			m = sizeof(errmsg) - 1 - n;
		memcpy(errmsg + n, old, m);
		errmsg[n + m] = '\0';
	}
	errcode = code;
	return code;
}

int av_error_from_git(int git_code, const char *what)
{
	const git_error *e = git_error_last();
	int code = AV_ERROR;

	if (git_code == GIT_ENOTFOUND)
		code = AV_ENOTFOUND;
	else if (git_code == GIT_EEXISTS)
		code = AV_EEXISTS;
	else if (git_code == GIT_ELOCKED)
		code = AV_EBUSY;
	else if (git_code == GIT_EMODIFIED)
		code = AV_ECONFLICT;
	return av_error_set(code, "%s: %s", what,
			    e && e->message ? e->message : "libgit2 error");
}

const char *av_error_last(void)
{
	return errmsg;
}

int av_error_code(void)
{
	return errcode;
}

void av_error_clear(void)
{
	errmsg[0] = '\0';
	errcode = 0;
}

const char *av_error_name(int code)
{
	switch (code) {
	case AV_OK: return "ok";
	case AV_ENOTFOUND: return "not found";
	case AV_EEXISTS: return "already exists";
	case AV_EBUSY: return "busy";
	case AV_ECONFLICT: return "conflict";
	case AV_EINVALID: return "invalid input";
	case AV_ESIGNATURE: return "signature";
	case AV_EIO: return "i/o error";
	default: return "error";
	}
}

void *av_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		av_error_set(AV_ERROR, "out of memory (%zu bytes)", n);
	return p;
}

void *av_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		av_error_set(AV_ERROR, "out of memory");
	return p;
}

void *av_realloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);
	if (!p)
		av_error_set(AV_ERROR, "out of memory (%zu bytes)", n);
	return p;
}

char *av_strdup(const char *s)
{
	return av_strndup(s, strlen(s));
}

char *av_strndup(const char *s, size_t n)
{
	char *p = av_malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int av_array_grow(void **arr, size_t *alloc, size_t need, size_t elem)
{
	size_t n = *alloc ? *alloc : 8;
	void *p;

	if (need <= *alloc)
		return 0;
	while (n < need)
		n *= 2;
	p = av_realloc(*arr, n * elem);
	if (!p)
		return AV_ERROR;
	*arr = p;
	*alloc = n;
	return 0;
}
