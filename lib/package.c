/*
 * package.c - a package as aptvault stores it (see package.h).
 *
 * The stored blob is the canonical stanza: fields in dpkg's index order,
 * Filename/Directory dropped, Aptvault-Type set and every Aptvault-*
 * field last.  Serializing a parsed blob gives the same bytes, so equal
 * packages have equal blob ids.
 */
#include <ctype.h>
#include <strings.h>
#include "aptvault/package.h"
#include "aptvault/version.h"
#include "internal.h"

#define AV_PKG_TYPE_FIELD "Aptvault-Type"
#define AV_PKG_PRIVATE_PREFIX "Aptvault-"

const char *av_pkg_type_str(av_pkg_type t)
{
	switch (t) {
	case AV_PKG_DEB: return "deb";
	case AV_PKG_UDEB: return "udeb";
	case AV_PKG_SOURCE: return "source";
	default: return "unknown";
	}
}

static int type_parse(const char *s, av_pkg_type *out)
{
	for (int t = AV_PKG_DEB; t <= AV_PKG_SOURCE; t++) {
		if (!strcmp(s, av_pkg_type_str((av_pkg_type)t))) {
			*out = (av_pkg_type)t;
			return 0;
		}
	}
	return av_error_set(AV_EINVALID, "unknown package type '%s'; "
			    "expected deb, udeb or source", s);
}

/* Debian policy 5.6.1: lowercase letters, digits, '+', '-', '.', starting
 * alphanumeric.  '_' in particular would break "name_version_arch". */
static int check_name(const char *name)
{
	if (!*name)
		return av_error_set(AV_EINVALID, "package name is empty");
	if (!islower((unsigned char)*name) && !isdigit((unsigned char)*name))
		return av_error_set(AV_EINVALID, "package name '%s' must start "
				    "with a lowercase letter or digit", name);
	for (const char *p = name; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    !strchr("+-.", *p))
			return av_error_set(AV_EINVALID, "package name '%s': "
					    "invalid character '%c'", name, *p);
	return 0;
}

static int check_arch(const char *arch)
{
	if (!*arch)
		return av_error_set(AV_EINVALID, "architecture is empty");
	for (const char *p = arch; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
			return av_error_set(AV_EINVALID, "architecture '%s': "
					    "invalid character '%c'", arch, *p);
	return 0;
}

static int check_stanza(const av_stanza *s)
{
	static const char *const required[] = { "Package", "Version", "Architecture" };
	int rc;

	for (size_t i = 0; i < AV_ARRAY_SIZE(required); i++)
		if (!av_stanza_get(s, required[i]))
			return av_error_set(AV_EINVALID, "package has no '%s' field",
					    required[i]);
	if ((rc = check_name(av_stanza_get(s, "Package"))))
		return rc;
	if ((rc = av_version_check(av_stanza_get(s, "Version"))))
		return av_error_wrap(rc, "package '%s'", av_stanza_get(s, "Package"));
	return 0;
}

int av_pkg_new(av_pkg **out, av_stanza *s, av_pkg_type type)
{
	av_pkg *p = NULL;
	int rc;

	*out = NULL;
	if (type < AV_PKG_DEB || type > AV_PKG_SOURCE) {
		rc = av_error_set(AV_EINVALID, "unknown package type %d", (int)type);
		goto done;
	}
	if ((rc = check_stanza(s)))
		goto done;
	if (type != AV_PKG_SOURCE &&
	    (rc = check_arch(av_stanza_get(s, "Architecture"))))
		goto done;
	if (!(p = av_calloc(1, sizeof(*p)))) {
		rc = AV_ERROR;
		goto done;
	}
	p->stanza = s;
	s = NULL;
	p->name = av_stanza_get(p->stanza, "Package");
	p->version = av_stanza_get(p->stanza, "Version");
	p->arch = type == AV_PKG_SOURCE ? "source" : av_stanza_get(p->stanza, "Architecture");
	p->type = type;
	*out = p;
done:
	av_stanza_free(s);
	return rc;
}

void av_pkg_free(av_pkg *p)
{
	if (!p)
		return;
	av_stanza_free(p->stanza);
	free(p);
}

int av_pkg_parse(av_pkg **out, const char *data, size_t len)
{
	av_stanza *s = NULL;
	av_pkg_type type = AV_PKG_DEB;
	const char *t;
	int rc;

	*out = NULL;
	/* stored blobs are canonical; anything else gets the full parser */
	if ((rc = av_deb822_parse_canonical(&s, data, len)) < 0 ||
	    (!rc && (rc = av_deb822_parse_one(&s, data, len))))
		return rc;
	t = av_stanza_get(s, AV_PKG_TYPE_FIELD);
	if (t && (rc = type_parse(t, &type))) {
		av_stanza_free(s);
		return rc;
	}
	return av_pkg_new(out, s, type);
}

static int is_private(const av_field *f)
{
	return !strncasecmp(f->name, AV_PKG_PRIVATE_PREFIX,
			    strlen(AV_PKG_PRIVATE_PREFIX));
}

/* Move the Aptvault-* fields after all others, keeping relative order. */
static int private_fields_last(av_stanza *s)
{
	av_field *tmp;
	size_t n = 0;

	if (!(tmp = av_malloc(s->count * sizeof(*tmp))))
		return AV_ERROR;
	for (size_t i = 0; i < s->count; i++)
		if (!is_private(&s->fields[i]))
			tmp[n++] = s->fields[i];
	for (size_t i = 0; i < s->count; i++)
		if (is_private(&s->fields[i]))
			tmp[n++] = s->fields[i];
	memcpy(s->fields, tmp, s->count * sizeof(*tmp));
	free(tmp);
	return 0;
}

int av_pkg_serialize(av_buf *out, const av_pkg *p)
{
	av_stanza *s = NULL;
	av_stanza_kind kind = p->type == AV_PKG_SOURCE ? AV_STANZA_SOURCE
						       : AV_STANZA_BINARY;
	int rc;

	if ((rc = av_stanza_dup(&s, p->stanza)))
		return rc;
	av_stanza_del(s, "Filename");
	av_stanza_del(s, "Directory");
	if ((rc = av_stanza_set(s, AV_PKG_TYPE_FIELD, av_pkg_type_str(p->type))) ||
	    (rc = av_stanza_sort_canonical(s, kind)) ||
	    (rc = private_fields_last(s)))
		goto done;
	rc = av_stanza_write(out, s);
done:
	av_stanza_free(s);
	return rc;
}

int av_pkg_key(av_buf *out, const av_pkg *p)
{
	int rc;

	/* Pieces, not printf: every package loaded gets its key made. */
	if (!(rc = av_buf_puts(out, p->name)) && !(rc = av_buf_putc(out, '_')) &&
	    !(rc = av_buf_puts(out, p->version)) && !(rc = av_buf_putc(out, '_')))
		rc = av_buf_puts(out, p->arch);
	return rc;
}

/*
 * Neither names nor versions nor architectures contain '_', so the first
 * and last '_' are the separators.
 */
int av_pkg_key_split(const char *key, char *buf, const char **name,
		     const char **version, const char **arch)
{
	size_t n = strlen(key);
	char *first, *last;

	memcpy(buf, key, n + 1);
	first = strchr(buf, '_');
	last = strrchr(buf, '_');
	if (!first || first == last || first == buf || last == first + 1 ||
	    !last[1])
		return av_error_set(AV_EINVALID, "malformed package key '%s'; "
				    "expected name_version_arch", key);
	*first = '\0';
	*last = '\0';
	*name = buf;
	*version = first + 1;
	*arch = last + 1;
	return 0;
}

/* "name" or "name (version)", blanks allowed around the parts. */
static int parse_source_field(const char *src, const char **name, size_t *nlen,
			      const char **ver, size_t *vlen)
{
	const char *p = src, *e;

	while (isspace((unsigned char)*p))
		p++;
	*name = p;
	while (*p && !isspace((unsigned char)*p) && *p != '(')
		p++;
	*nlen = (size_t)(p - *name);
	while (isspace((unsigned char)*p))
		p++;
	*ver = NULL;
	*vlen = 0;
	if (*p == '(') {
		for (p++; isspace((unsigned char)*p); p++)
			;
		if (!(e = strchr(p, ')')))
			return av_error_set(AV_EINVALID, "Source field '%s': "
					    "missing ')'", src);
		*ver = p;
		while (e > p && isspace((unsigned char)e[-1]))
			e--;
		*vlen = (size_t)(e - p);
		p = strchr(p, ')') + 1;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (!*nlen || *p || (*ver && !*vlen))
		return av_error_set(AV_EINVALID, "malformed Source field '%s'; "
				    "expected 'name' or 'name (version)'", src);
	return 0;
}

int av_pkg_source(const av_pkg *p, av_buf *name, av_buf *version)
{
	const char *src = p->type == AV_PKG_SOURCE ? NULL
						   : av_stanza_get(p->stanza, "Source");
	const char *n = p->name, *v = p->version;
	size_t nlen = strlen(n), vlen = strlen(v);
	int rc;

	if (src) {
		const char *sv;
		size_t svlen;

		if ((rc = parse_source_field(src, &n, &nlen, &sv, &svlen)))
			return av_error_wrap(rc, "package '%s'", p->name);
		if (sv) {
			v = sv;
			vlen = svlen;
		}
	}
	if ((rc = av_buf_put(name, n, nlen)))
		return rc;
	return av_buf_put(version, v, vlen);
}
