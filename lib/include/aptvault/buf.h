/*
 * buf.h - a growable byte buffer with a hard size cap.
 *
 * Everything read from outside (control files, Packages, Release, JSON)
 * is collected in an av_buf whose cap makes hostile input fail with
 * AV_EINVALID instead of exhausting memory.  The content is always
 * NUL-terminated (ptr[len] == 0) once anything was added.
 */
#ifndef AV_BUF_H
#define AV_BUF_H

#include <stddef.h>

typedef struct av_buf {
	char *ptr;
	size_t len;
	size_t cap;	/* allocated, excluding the terminating NUL */
	size_t max;	/* hard cap on len; 0 means AV_BUF_DEFAULT_MAX */
} av_buf;

#define AV_BUF_DEFAULT_MAX ((size_t)1 << 30)
#define AV_BUF_INIT { NULL, 0, 0, 0 }

void av_buf_init(av_buf *b, size_t max);
int av_buf_grow(av_buf *b, size_t extra);
/* Give back what was allocated beyond the content (for buffers kept a
 * long time after they were filled). */
void av_buf_shrink(av_buf *b);
int av_buf_put(av_buf *b, const void *data, size_t len);
int av_buf_puts(av_buf *b, const char *s);
int av_buf_putc(av_buf *b, char c);
int av_buf_printf(av_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The content as a C string; "" for an empty buffer. Borrowed. */
const char *av_buf_cstr(const av_buf *b);
void av_buf_clear(av_buf *b);
void av_buf_truncate(av_buf *b, size_t len);
/* Hand the allocation to the caller (never NULL on success: "" if empty). */
char *av_buf_detach(av_buf *b);
void av_buf_dispose(av_buf *b);

#endif
