/*
 * query.h - aptly's package query language.
 *
 *   query   := or
 *   or      := and ('|' and)*
 *   and     := unary (',' unary)*
 *   unary   := '!' unary | '(' query ')' | term
 *   term    := FIELD '(' [op] value ')'        field query, FIELD may be
 *                                              $Source $SourceVersion
 *                                              $Architecture $Version
 *                                              $PackageType or any field
 *            | NAME [ '(' op VERSION ')' ] [ '{' ARCH '}' ]
 *                                              dependency-style: matches
 *                                              Package or Provides
 *            | NAME_VERSION_ARCH               direct reference
 *   op      := '=' | '<<' | '<=' | '>>' | '>=' | '%' (glob) | '~' (regex)
 *
 * Values may be quoted with "..." (backslash escapes).  Parse errors are
 * AV_EINVALID with "column N: ..." pointing at the offending character.
 */
#ifndef AV_QUERY_H
#define AV_QUERY_H

#include "package.h"
#include "buf.h"

typedef struct av_query av_query;

int av_query_parse(av_query **out, const char *text);
/* Combine several command-line queries with '|' (aptly's rule for
 * "repo remove NAME Q1 Q2"). */
int av_query_parse_argv(av_query **out, int argc, char *const argv[]);
/* "@file" reads the query from a file, "@-" from stdin; otherwise text. */
int av_query_load(av_buf *out, const char *arg);
/* 1 if the package matches, 0 if not. */
int av_query_match(const av_query *q, const av_pkg *p);
/* When q can only match packages of names it spells out ("Name (= x)"
 * terms and name_version_arch references, joined by '|', or bounding a
 * ','): 1 and those names in *out (borrowed from q; free the array),
 * so a caller can look them up instead of testing every package; 0 when
 * not; <0 on error. */
int av_query_names(const av_query *q, const char ***out, size_t *n);
void av_query_free(av_query *q);

#endif
