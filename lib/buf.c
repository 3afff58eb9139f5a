/* buf.c - bounded growable buffer (see buf.h). */
#include <stdio.h>
#include <stdarg.h>
#include "aptvault/buf.h"
#include "internal.h"

static size_t cap_of(const av_buf *b)
{
	return b->max ? b->max : AV_BUF_DEFAULT_MAX;
}

void av_buf_init(av_buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

int av_buf_grow(av_buf *b, size_t extra)
{
	size_t need, n;
	char *p;

	if (extra > cap_of(b) || b->len > cap_of(b) - extra)
		return av_error_set(AV_EINVALID,
				    "input too large (limit %zu bytes)", cap_of(b));
	need = b->len + extra;
	if (need <= b->cap && b->ptr)
		return 0;
	n = b->cap ? b->cap : 64;
	while (n < need)
		n = n * 3 / 2 + 16;
	p = av_realloc(b->ptr, n + 1);
	if (!p)
		return AV_ERROR;
	if (!b->ptr)
		p[0] = '\0';
	b->ptr = p;
	b->cap = n;
	return 0;
}

void av_buf_shrink(av_buf *b)
{
	char *p;

	if (!b->ptr || b->cap == b->len)
		return;
	/* A failed shrink keeps the larger block: nothing is lost. */
	if ((p = realloc(b->ptr, b->len + 1))) {
		b->ptr = p;
		b->cap = b->len;
	}
}

int av_buf_put(av_buf *b, const void *data, size_t len)
{
	int rc = av_buf_grow(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int av_buf_puts(av_buf *b, const char *s)
{
	return av_buf_put(b, s, strlen(s));
}

int av_buf_putc(av_buf *b, char c)
{
	return av_buf_put(b, &c, 1);
}

int av_buf_printf(av_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return av_error_set(AV_ERROR, "format error");
	if ((rc = av_buf_grow(b, (size_t)n)))
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *av_buf_cstr(const av_buf *b)
{
	return b->ptr ? b->ptr : "";
}

void av_buf_clear(av_buf *b)
{
	av_buf_truncate(b, 0);
}

void av_buf_truncate(av_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->ptr[len] = '\0';
	}
}

char *av_buf_detach(av_buf *b)
{
	char *p = b->ptr;

	if (!p)
		p = av_strdup("");
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void av_buf_dispose(av_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}
