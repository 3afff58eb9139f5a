/*
 * deb822.c - control stanzas (see deb822.h).
 *
 * The reader walks the input line by line with memchr and copies each
 * value once: into a reused scratch buffer while its continuation lines
 * arrive, then into the value's own allocation.  Nothing is allocated
 * per character, and every size is checked before it is copied.
 */
#include <stdint.h>
#include <strings.h>
#include "aptvault/deb822.h"
#include "internal.h"

const av_deb822_limits av_deb822_default_limits = {
	.max_field = (size_t)1 << 20,
	.max_stanza = (size_t)4 << 20,
	.max_fields = 512,
};

static int is_blank_char(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int is_blank_line(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_blank_char(p[i]))
			return 0;
	return 1;
}

/* Field names: printable ASCII except ':' (and no spaces). */
static int is_name_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ':';
}

static int check_name(const char *name, size_t n)
{
	if (!n)
		return av_error_set(AV_EINVALID, "empty field name");
	for (size_t i = 0; i < n; i++)
		if (!is_name_char((unsigned char)name[i]))
			return av_error_set(AV_EINVALID,
					    "invalid character 0x%02x in field name",
					    (unsigned char)name[i]);
	return 0;
}

/*
 * A value must write back as one field: every '\n' starts a continuation
 * line (space or tab) that is not blank, and nothing follows a final
 * '\n'.  Otherwise a value could end the stanza or forge a field.
 */
static int check_value(const char *name, const char *value)
{
	const char *p = value;

	while ((p = strchr(p, '\n'))) {
		const char *e;

		p++;
		if (*p != ' ' && *p != '\t')
			return av_error_set(AV_EINVALID,
					    "field '%s': continuation line must start with a space",
					    name);
		e = strchr(p, '\n');
		if (is_blank_line(p, e ? (size_t)(e - p) : strlen(p)))
			return av_error_set(AV_EINVALID,
					    "field '%s': value holds a blank line; write it as ' .'",
					    name);
	}
	return 0;
}

/* ---- stanzas ---------------------------------------------------------- */

int av_stanza_new(av_stanza **out)
{
	*out = av_calloc(1, sizeof(**out));
	return *out ? 0 : AV_ERROR;
}

void av_stanza_free(av_stanza *s)
{
	if (!s)
		return;
	for (size_t i = 0; !s->block && i < s->count; i++) {
		free(s->fields[i].name);
		free(s->fields[i].value);
	}
	free(s->block);
	free(s->fields);
	free(s);
}

/* Give every field its own allocations, before one is replaced or freed. */
static int stanza_unblock(av_stanza *s)
{
	size_t i;

	if (!s->block)
		return 0;
	for (i = 0; i < s->count; i++) {
		char *n = av_strdup(s->fields[i].name), *v = av_strdup(s->fields[i].value);

		if (!n || !v) {
			free(n);
			free(v);
			break;
		}
		s->fields[i].name = n;
		s->fields[i].value = v;
	}
	if (i < s->count) {	/* undo: all or nothing */
		while (i--) {
			free(s->fields[i].name);
			free(s->fields[i].value);
		}
		return AV_ERROR;
	}
	free(s->block);
	s->block = NULL;
	return 0;
}

/* Append a field, taking ownership of name and value (also on failure). */
static int stanza_push(av_stanza *s, char *name, char *value)
{
	if (!name || !value ||
	    av_array_grow((void **)&s->fields, &s->alloc, s->count + 1,
			  sizeof(*s->fields))) {
		free(name);
		free(value);
		return AV_ERROR;
	}
	s->fields[s->count].name = name;
	s->fields[s->count].value = value;
	s->count++;
	return 0;
}

int av_stanza_dup(av_stanza **out, const av_stanza *s)
{
	av_stanza *d = NULL;
	int rc;

	*out = NULL;
	if ((rc = av_stanza_new(&d)))
		return rc;
	for (size_t i = 0; i < s->count; i++) {
		rc = stanza_push(d, av_strdup(s->fields[i].name),
				 av_strdup(s->fields[i].value));
		if (rc)
			goto done;
	}
	*out = d;
	d = NULL;
done:
	av_stanza_free(d);
	return rc;
}

static size_t stanza_find(const av_stanza *s, const char *name)
{
	int first = name[0] | 0x20;	/* names are ASCII */
	size_t i;

	for (i = 0; i < s->count; i++)
		if ((s->fields[i].name[0] | 0x20) == first && !strcasecmp(s->fields[i].name, name))
			break;
	return i;
}

const char *av_stanza_get(const av_stanza *s, const char *name)
{
	size_t i = stanza_find(s, name);

	return i < s->count ? s->fields[i].value : NULL;
}

int av_stanza_set(av_stanza *s, const char *name, const char *value)
{
	size_t i;
	char *v;
	int rc;

	if ((rc = check_name(name, strlen(name))) || (rc = check_value(name, value)) ||
	    (rc = stanza_unblock(s)))
		return rc;
	i = stanza_find(s, name);
	if (i == s->count)
		return stanza_push(s, av_strdup(name), av_strdup(value));
	if (!(v = av_strdup(value)))
		return AV_ERROR;
	free(s->fields[i].value);
	s->fields[i].value = v;
	return 0;
}

int av_stanza_del(av_stanza *s, const char *name)
{
	size_t i = stanza_find(s, name);
	int rc;

	if (i == s->count)
		return av_error_set(AV_ENOTFOUND, "field '%s' not found", name);
	if ((rc = stanza_unblock(s)))
		return rc;
	free(s->fields[i].name);
	free(s->fields[i].value);
	memmove(&s->fields[i], &s->fields[i + 1],
		(s->count - i - 1) * sizeof(*s->fields));
	s->count--;
	return 0;
}

int av_stanza_write(av_buf *out, const av_stanza *s)
{
	for (size_t i = 0; i < s->count; i++) {
		const av_field *f = &s->fields[i];
		size_t nl = strlen(f->name), vl = strlen(f->value);
		int space = vl && f->value[0] != '\n';
		int rc = av_buf_grow(out, nl + vl + 3);

		if (rc)
			return rc;
		memcpy(out->ptr + out->len, f->name, nl);
		out->len += nl;
		out->ptr[out->len++] = ':';
		if (space)
			out->ptr[out->len++] = ' ';
		memcpy(out->ptr + out->len, f->value, vl);
		out->len += vl;
		out->ptr[out->len++] = '\n';
		out->ptr[out->len] = '\0';
	}
	return 0;
}

/* ---- canonical order -------------------------------------------------- */

/* dpkg-scanpackages' order (Dpkg::Control::FieldsCore, CTRL_INDEX_PKG),
 * with SHA512 after SHA256 and Description-md5 after Description. */
static const char *const binary_order[] = {
	"Package", "Package-Type", "Source", "Version", "Kernel-Version",
	"Built-For-Profiles", "Auto-Built-Package", "Architecture",
	"Subarchitecture", "Installer-Menu-Item", "Build-Essential",
	"Essential", "Protected", "Origin", "Bugs", "Maintainer",
	"Installed-Size", "Pre-Depends", "Depends", "Recommends", "Suggests",
	"Enhances", "Conflicts", "Breaks", "Replaces", "Provides",
	"Built-Using", "Static-Built-Using", "Filename", "Size", "MD5sum",
	"SHA1", "SHA256", "SHA512", "Section", "Priority", "Multi-Arch",
	"Homepage", "Description", "Description-md5", "Tag", "Task",
};

/* dpkg-scansources' order (CTRL_INDEX_SRC), with Checksums-Sha512. */
static const char *const source_order[] = {
	"Format", "Package", "Binary", "Architecture", "Version", "Priority",
	"Section", "Origin", "Maintainer", "Uploaders", "Homepage",
	"Description", "Standards-Version", "Vcs-Browser", "Vcs-Arch",
	"Vcs-Bzr", "Vcs-Cvs", "Vcs-Darcs", "Vcs-Git", "Vcs-Hg", "Vcs-Mtn",
	"Vcs-Svn", "Testsuite", "Testsuite-Triggers", "Build-Depends",
	"Build-Depends-Arch", "Build-Depends-Indep", "Build-Conflicts",
	"Build-Conflicts-Arch", "Build-Conflicts-Indep", "Package-List",
	"Directory", "Checksums-Md5", "Checksums-Sha1", "Checksums-Sha256",
	"Checksums-Sha512", "Files",
};

typedef struct ranked {
	size_t rank;
	av_field field;
} ranked;

static int ranked_cmp(const void *a, const void *b)
{
	const ranked *x = a, *y = b;

	return (x->rank > y->rank) - (x->rank < y->rank);
}

static size_t field_rank(const char *name, const char *const *order,
			 size_t n, size_t pos)
{
	for (size_t i = 0; i < n; i++)
		if ((order[i][0] | 0x20) == (name[0] | 0x20) &&
		    !strcasecmp(order[i], name))
			return i;
	return n + pos;	/* unknown: after the known ones, in input order */
}

int av_stanza_sort_canonical(av_stanza *s, av_stanza_kind kind)
{
	const char *const *order = kind == AV_STANZA_SOURCE ? source_order : binary_order;
	size_t n = kind == AV_STANZA_SOURCE ? AV_ARRAY_SIZE(source_order)
					    : AV_ARRAY_SIZE(binary_order);
	ranked *r;

	if (s->count < 2)
		return 0;
	if (!(r = av_malloc(s->count * sizeof(*r))))
		return AV_ERROR;
	for (size_t i = 0; i < s->count; i++) {
		r[i].rank = field_rank(s->fields[i].name, order, n, i);
		r[i].field = s->fields[i];
	}
	/* ranks are unique (no duplicate names), so qsort is stable here */
	qsort(r, s->count, sizeof(*r), ranked_cmp);
	for (size_t i = 0; i < s->count; i++)
		s->fields[i] = r[i].field;
	free(r);
	return 0;
}

/* ---- reader ----------------------------------------------------------- */

struct av_deb822_reader {
	const char *data;
	size_t len;
	size_t pos;
	size_t lineno;		/* number of the last line taken */
	av_deb822_limits lim;
	av_buf val;		/* the value being collected */
	char *name;		/* its field's name, NULL when none */
	size_t name_line;
};

/* The next line of [data, data+len) from *pos, without its '\n'. */
static int take_line(const char *data, size_t len, size_t *pos,
		     const char **line, size_t *n)
{
	const char *s, *nl;

	if (*pos >= len)
		return 0;
	s = data + *pos;
	nl = memchr(s, '\n', len - *pos);
	*n = nl ? (size_t)(nl - s) : len - *pos;
	*pos += *n + (nl ? 1 : 0);
	*line = s;
	return 1;
}

int av_deb822_reader_new(av_deb822_reader **out, const char *data, size_t len,
			 const av_deb822_limits *lim)
{
	av_deb822_reader *r = av_calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return AV_ERROR;
	r->data = data;
	r->len = data ? len : 0;
	r->lim = lim ? *lim : av_deb822_default_limits;
	av_buf_init(&r->val, 0);
	*out = r;
	return 0;
}

void av_deb822_reader_free(av_deb822_reader *r)
{
	if (!r)
		return;
	free(r->name);
	av_buf_dispose(&r->val);
	free(r);
}

static int line_error(const av_deb822_reader *r, const char *what)
{
	return av_error_set(AV_EINVALID, "line %zu: %s", r->lineno, what);
}

/* Move the pending field (r->name, r->val) into s. */
static int flush_field(av_deb822_reader *r, av_stanza *s)
{
	char *name = r->name;

	if (!name)
		return 0;
	r->name = NULL;
	return stanza_push(s, name, av_strndup(av_buf_cstr(&r->val), r->val.len));
}

static int start_field(av_deb822_reader *r, av_stanza *s, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	const char *v, *e = line + n;
	size_t nlen;
	int rc;

	if (!colon)
		return line_error(r, "expected 'Name: value' (no ':' in line)");
	nlen = (size_t)(colon - line);
	if ((rc = check_name(line, nlen)))
		return av_error_wrap(rc, "line %zu", r->lineno);
	if (s->count >= r->lim.max_fields)
		return av_error_set(AV_EINVALID, "line %zu: more than %zu fields in one stanza",
				    r->lineno, r->lim.max_fields);
	for (size_t i = 0; i < s->count; i++)
		if (strlen(s->fields[i].name) == nlen &&
		    !strncasecmp(s->fields[i].name, line, nlen))
			return av_error_set(AV_EINVALID, "line %zu: duplicate field '%.*s'",
					    r->lineno, (int)nlen, line);
	for (v = colon + 1; v < e && is_blank_char(*v); v++)
		;
	while (e > v && is_blank_char(e[-1]))
		e--;
	if ((size_t)(e - v) > r->lim.max_field)
		return av_error_set(AV_EINVALID, "line %zu: field '%.*s' is longer than %zu bytes",
				    r->lineno, (int)nlen, line, r->lim.max_field);
	if (!(r->name = av_strndup(line, nlen)))
		return AV_ERROR;
	r->name_line = r->lineno;
	av_buf_clear(&r->val);
	return av_buf_put(&r->val, v, (size_t)(e - v));
}

static int add_continuation(av_deb822_reader *r, const char *line, size_t n)
{
	int rc;

	if (!r->name)
		return line_error(r, "continuation line before any field");
	if (n && line[n - 1] == '\r')
		n--;
	if (r->val.len + 1 + n > r->lim.max_field)
		return av_error_set(AV_EINVALID, "line %zu: field '%s' is longer than %zu bytes",
				    r->lineno, r->name, r->lim.max_field);
	if ((rc = av_buf_putc(&r->val, '\n')))
		return rc;
	return av_buf_put(&r->val, line, n);
}

/* One non-blank, non-comment line of a stanza. */
static int take_stanza_line(av_deb822_reader *r, av_stanza *s, const char *line,
			    size_t n)
{
	int rc;

	if (memchr(line, '\0', n))
		return line_error(r, "NUL byte in control data");
	if (line[0] == ' ' || line[0] == '\t')
		return add_continuation(r, line, n);
	if ((rc = flush_field(r, s)))
		return rc;
	return start_field(r, s, line, n);
}

int av_deb822_next(av_deb822_reader *r, av_stanza **out)
{
	av_stanza *s = NULL;
	const char *line;
	size_t n, bytes = 0;
	int rc = 0;

	*out = NULL;
	free(r->name);
	r->name = NULL;
	while (take_line(r->data, r->len, &r->pos, &line, &n)) {
		r->lineno++;
		if (is_blank_line(line, n)) {
			if (s)
				break;
			continue;
		}
		if (line[0] == '#')
			continue;
		bytes += n + 1;
		if (bytes > r->lim.max_stanza) {
			rc = av_error_set(AV_EINVALID, "line %zu: stanza is longer than %zu bytes",
					  r->lineno, r->lim.max_stanza);
			goto done;
		}
		if (!s && (rc = av_stanza_new(&s)))
			goto done;
		if ((rc = take_stanza_line(r, s, line, n)))
			goto done;
	}
	if (s && (rc = flush_field(r, s)))
		goto done;
	rc = s ? 1 : 0;
	*out = s;
	s = NULL;
done:
	av_stanza_free(s);
	return rc;
}

int av_deb822_parse_one(av_stanza **out, const char *data, size_t len)
{
	av_deb822_reader *r = NULL;
	av_stanza *s = NULL, *extra = NULL;
	int rc;

	*out = NULL;
	if ((rc = av_deb822_reader_new(&r, data, len, NULL)))
		return rc;
	rc = av_deb822_next(r, &s);
	if (rc == 0)
		rc = av_error_set(AV_EINVALID, "no control stanza in input");
	if (rc < 0)
		goto done;
	rc = av_deb822_next(r, &extra);
	if (rc > 0)
		rc = av_error_set(AV_EINVALID, "line %zu: more than one stanza in input",
				  r->lineno);
	if (rc < 0)
		goto done;
	*out = s;
	s = NULL;
done:
	av_stanza_free(extra);
	av_stanza_free(s);
	av_deb822_reader_free(r);
	return rc;
}

/* ---- clearsigned messages -------------------------------------------- */

#define PGP_MSG_BEGIN "-----BEGIN PGP SIGNED MESSAGE-----"
#define PGP_SIG_BEGIN "-----BEGIN PGP SIGNATURE-----"
#define PGP_SIG_END "-----END PGP SIGNATURE-----"

/* Does the line read marker, give or take trailing blanks? */
static int is_marker(const char *line, size_t n, const char *marker)
{
	size_t m = strlen(marker);

	return n >= m && !memcmp(line, marker, m) && is_blank_line(line + m, n - m);
}

typedef struct cursor {
	const char *data;
	size_t len;
	size_t pos;
	size_t lineno;
	const char *line;
	size_t n;
} cursor;

static int cur_next(cursor *c)
{
	if (!take_line(c->data, c->len, &c->pos, &c->line, &c->n))
		return 0;
	c->lineno++;
	return 1;
}

static int cur_error(const cursor *c, const char *what)
{
	return av_error_set(AV_EINVALID, "line %zu: %s", c->lineno, what);
}

/* Plain text must not hold armor that a signed reading would treat
 * differently. */
static int check_unsigned(cursor *c)
{
	do {
		if (c->n >= 15 && !memcmp(c->line, "-----BEGIN PGP ", 15))
			return cur_error(c, "OpenPGP armor outside a clearsigned message");
	} while (cur_next(c));
	return 0;
}

static int skip_armor_headers(cursor *c)
{
	while (cur_next(c)) {
		if (is_blank_line(c->line, c->n))
			return 0;
		if (!memchr(c->line, ':', c->n))
			return cur_error(c, "malformed armor header in clearsigned message");
	}
	return av_error_set(AV_EINVALID,
			    "clearsigned message ends in its armor headers");
}

static int copy_body(cursor *c, av_buf *out)
{
	int rc;

	while (cur_next(c)) {
		const char *p = c->line;
		size_t n = c->n;

		if (is_marker(p, n, PGP_SIG_BEGIN))
			return 0;
		if (n && p[0] == '-') {
			if (n < 2 || p[1] != ' ')
				return cur_error(c, "line starting with '-' is not dash-escaped");
			p += 2;
			n -= 2;
		}
		if ((rc = av_buf_put(out, p, n)) || (rc = av_buf_putc(out, '\n')))
			return rc;
	}
	return av_error_set(AV_EINVALID, "clearsigned message has no signature block");
}

static int check_signature_block(cursor *c)
{
	int ended = 0;

	while (!ended && cur_next(c)) {
		if (is_marker(c->line, c->n, PGP_SIG_END))
			ended = 1;
		else if (c->n >= 5 && !memcmp(c->line, "-----", 5))
			return cur_error(c, "unexpected armor line in signature block");
	}
	if (!ended)
		return av_error_set(AV_EINVALID, "signature block is not terminated");
	while (cur_next(c))
		if (!is_blank_line(c->line, c->n))
			return cur_error(c, "data after the end of the signature");
	return 0;
}

int av_deb822_unsign(av_buf *out, const char *data, size_t len, int *was_signed)
{
	cursor c = { data, data ? len : 0, 0, 0, NULL, 0 };
	size_t start = out->len;
	int rc, found;

	*was_signed = 0;
	while ((found = cur_next(&c)) && is_blank_line(c.line, c.n))
		;
	if (!found || !is_marker(c.line, c.n, PGP_MSG_BEGIN)) {
		if (found && (rc = check_unsigned(&c)))
			return rc;
		return av_buf_put(out, data, c.len);
	}
	if ((rc = skip_armor_headers(&c)) || (rc = copy_body(&c, out)) ||
	    (rc = check_signature_block(&c)))
		goto done;
	*was_signed = 1;
done:
	if (rc)
		av_buf_truncate(out, start);
	return rc;
}

/* ---- multi-line values ------------------------------------------------ */

int av_deb822_next_line(const char **cursor, const char **line, size_t *len)
{
	const char *p = *cursor;

	if (!p)
		return 0;
	while (*p) {
		const char *e = strchr(p, '\n');
		const char *s = p, *t;

		if (!e)
			e = p + strlen(p);
		t = e;
		p = *e ? e + 1 : e;
		while (s < t && is_blank_char(*s))
			s++;
		while (t > s && is_blank_char(t[-1]))
			t--;
		if (s == t)
			continue;
		*line = s;
		*len = (size_t)(t - s);
		*cursor = p;
		return 1;
	}
	*cursor = p;
	return 0;
}

/* ---- canonical stanzas -------------------------------------------------- */

int av_deb822_parse_canonical(av_stanza **out, const char *data, size_t len)
{
	const av_deb822_limits *lim = &av_deb822_default_limits;
	av_stanza *s = NULL;
	char *b, *p, *end;
	size_t nf;

	*out = NULL;
	if (!len || len > lim->max_stanza || data[len - 1] != '\n' || memchr(data, '\r', len))
		return 0;
	nf = 32;	/* grown below when a stanza has more */
	if (av_stanza_new(&s))
		return AV_ERROR;
	if (!(s->block = b = av_malloc(len + 1)) ||
	    !(s->fields = av_malloc(nf * sizeof(*s->fields)))) {
		av_stanza_free(s);
		return AV_ERROR;
	}
	s->alloc = nf;
	memcpy(b, data, len);
	b[len] = '\0';
	end = b + len;
	for (p = b; p < end;) {
		char *colon = p, *v, *e;

		while (colon < end && is_name_char((unsigned char)*colon))
			colon++;
		if (*p == '#' || colon == p || *colon != ':' || s->count == lim->max_fields)
			goto other;
		if (s->count == s->alloc &&
		    av_array_grow((void **)&s->fields, &s->alloc, s->count + 1, sizeof(*s->fields))) {
			av_stanza_free(s);
			return AV_ERROR;
		}
		*colon = '\0';
		v = colon + 1;
		if (*v == ' ') {
			if (is_blank_char(*++v) || *v == '\n')
				goto other;	/* blanks the parser strips */
		} else if (*v != '\n') {
			goto other;		/* "Name:value" */
		} else if (v[1] != ' ' && v[1] != '\t') {
			*v = '\0';		/* "Name:" alone: an empty value */
			s->fields[s->count++] = (av_field){ p, v };
			p = v + 1;
			continue;
		}
		/* data ends with '\n', so every line has one */
		e = memchr(v, '\n', (size_t)(end - v));
		if (e > v && is_blank_char(e[-1]))
			goto other;		/* trailing blanks the parser strips */
		while (e + 1 < end && (e[1] == ' ' || e[1] == '\t')) {
			char *nl = memchr(e + 1, '\n', (size_t)(end - e - 1));

			if (is_blank_line(e + 1, (size_t)(nl - e - 1)))
				goto other;	/* a blank line ends the stanza */
			e = nl;
		}
		if ((size_t)(e - v) > lim->max_field)
			goto other;
		*e = '\0';
		s->fields[s->count++] = (av_field){ p, v };
		p = e + 1;
	}
	/* a name twice: the parser says so.  Names are compared only when a
	 * 64-bit filter of their first letter and length has seen one alike,
	 * and then only with those of that letter and length. */
	{
		size_t len[512];
		uint64_t seen = 0;

		if (s->count > AV_ARRAY_SIZE(len))
			goto other;	/* over the default limit: the parser decides */

		for (size_t i = 0; i < s->count; i++) {
			const char *n = s->fields[i].name;
			uint64_t bit;

			len[i] = strlen(n);
			bit = (uint64_t)1 << (((unsigned)(n[0] | 0x20) + len[i]) & 63);
			if (seen & bit)
				for (size_t j = 0; j < i; j++)
					if (len[j] == len[i] &&
					    (s->fields[j].name[0] | 0x20) == (n[0] | 0x20) &&
					    !strcasecmp(n, s->fields[j].name))
						goto other;
			seen |= bit;
		}
	}
	*out = s;
	return 1;
other:
	av_stanza_free(s);
	return 0;
}
