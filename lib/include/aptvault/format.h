/*
 * format.h - presenting packages: aptly-style templates and JSON.
 */
#ifndef AV_FORMAT_H
#define AV_FORMAT_H

#include <cjson/cJSON.h>
#include "package.h"
#include "buf.h"

/*
 * Expand a template: "{{.Field}}" is the stanza field (case-insensitive,
 * "" when absent), "{{.Key}}" the package key, "\n" and "\t" escapes are
 * honoured.  An unterminated "{{" is AV_EINVALID.
 */
int av_pkg_format(av_buf *out, const av_pkg *p, const char *tmpl);

/* The package as a JSON object: every public field, plus "Key" and
 * "PackageType".  NULL when out of memory. */
cJSON *av_pkg_json(const av_pkg *p);

#endif
