/*
 * internal.h - what every lib/ source file includes: the error
 * convention, allocation helpers, and banned.h last.
 */
#ifndef AV_INTERNAL_H
#define AV_INTERNAL_H

#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include "aptvault/error.h"

#define AV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failures become AV_ERROR with a message. */
void *av_malloc(size_t n);
void *av_calloc(size_t n, size_t size);
void *av_realloc(void *p, size_t n);
char *av_strdup(const char *s);
char *av_strndup(const char *s, size_t n);

/* Grow *arr (of *alloc elements of size elem) to hold at least need. */
int av_array_grow(void **arr, size_t *alloc, size_t need, size_t elem);

#include "banned.h"

#endif
