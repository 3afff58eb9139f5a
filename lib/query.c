/*
 * query.c - aptly's package query language (see query.h).
 *
 * The language and its meaning follow aptly (query/lex.go, query/syntax.go,
 * deb/query.go, deb/package.go and the "Package Queries" page):
 *
 *  - A word starting with '$', or with an uppercase letter and holding no
 *    '_', is a field; anything else is a package name, or a direct
 *    reference "name_version_arch" when no condition follows it.
 *  - A field without a condition matches when the field is not empty; a
 *    condition without an operator means '='.
 *  - Fields compare as byte strings, except $Version (and $SourceVersion,
 *    see below) which use dpkg's ordering.  `Version` itself is a plain
 *    string, as aptly documents.
 *  - $Architecture (= A) and a {A} restriction accept packages of
 *    architecture A, and "all" packages for every A but "source".
 *  - $Source and $SourceVersion are empty for source packages.
 *  - '%' is a shell pattern where '*' and '?' do not match '/' (Go's
 *    filepath.Match); '~' is an unanchored POSIX extended regex.
 *
 * Where we differ from aptly, on purpose:
 *  - '(' ends a bare word, so "nginx(>= 1.0)" parses (aptly's lexer tests
 *    IndexRune(...) > 0 and so never stops at '(').
 *  - $SourceVersion compares with dpkg's ordering (aptly compares it as a
 *    string); a version comparison against an empty value never matches.
 *  - An unknown $field is a parse error, not an always-empty field.
 *  - Versioned conditions also match Provides entries "name (= V)" when V
 *    satisfies them; an unversioned Provides entry satisfies only an
 *    unversioned query (Debian policy 7.5).
 *
 * A parsed query is a tree whose and/or nodes are n-ary, so a long chain
 * of terms costs no stack; only '(' and '!' nest, and they are capped.
 * Matching allocates nothing except for absurdly long Source or Provides
 * values.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>
#include "aptvault/query.h"
#include "aptvault/version.h"
#include "aptvault/file.h"
#include "internal.h"

#define QUERY_MAX_LEN ((size_t)64 * 1024)
#define QUERY_MAX_DEPTH 256
#define QUERY_FILE_MAX ((size_t)1024 * 1024)
#define EXCERPT_MAX 60

typedef enum qkind {
	Q_OR,
	Q_AND,
	Q_NOT,
	Q_FIELD,	/* Field (op value) */
	Q_DEP,		/* name (op version) {arch} */
	Q_REF,		/* name_version_arch */
} qkind;

typedef enum qop {
	OP_NONE = 0,	/* no condition */
	OP_LT,
	OP_LE,
	OP_EQ,
	OP_GE,
	OP_GT,
	OP_GLOB,
	OP_REGEX,
} qop;

typedef enum qfield {
	F_STANZA = 0,	/* any control field, looked up by name */
	F_NAME,
	F_SOURCE,
	F_SOURCE_VERSION,
	F_ARCH,
	F_VERSION,
	F_TYPE,
} qfield;

struct av_query {
	qkind kind;
	qop op;
	qfield field;
	char *name;	/* field or package name */
	char *value;	/* condition value; version of a reference */
	char *arch;	/* {arch}; arch of a reference */
	regex_t re;
	int has_re;
	av_query **kids;
	size_t nkids;
	size_t alloc;
};

static const struct {
	const char *name;
	qfield field;
} special_fields[] = {
	{ "Name", F_NAME },
	{ "$Source", F_SOURCE },
	{ "$SourceVersion", F_SOURCE_VERSION },
	{ "$Architecture", F_ARCH },
	{ "$Version", F_VERSION },
	{ "$PackageType", F_TYPE },
};

/* ---- the tree ---------------------------------------------------------- */

void av_query_free(av_query *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nkids; i++)
		av_query_free(q->kids[i]);
	free(q->kids);
	if (q->has_re)
		regfree(&q->re);
	free(q->name);
	free(q->value);
	free(q->arch);
	free(q);
}

static av_query *node_new(qkind kind)
{
	av_query *q = av_calloc(1, sizeof(*q));

	if (q)
		q->kind = kind;
	return q;
}

/* Append kid to q; on failure kid is freed. */
static int node_add(av_query *q, av_query *kid)
{
	void *arr = q->kids;
	int rc;

	if ((rc = av_array_grow(&arr, &q->alloc, q->nkids + 1, sizeof(*q->kids)))) {
		av_query_free(kid);
		return rc;
	}
	q->kids = arr;
	q->kids[q->nkids++] = kid;
	return 0;
}

/* ---- lexer ------------------------------------------------------------- */

typedef enum tok {
	T_EOF,
	T_LPAREN,
	T_RPAREN,
	T_LCURLY,
	T_RCURLY,
	T_OR,
	T_AND,
	T_NOT,
	T_OP,
	T_STRING,
} tok;

typedef struct parser {
	const char *text;
	size_t len;
	size_t pos;	/* where the next token starts scanning */
	tok tok;	/* current token, text[start, end) */
	size_t start, end;
	qop op;		/* for T_OP */
	int quoted;	/* for T_STRING */
	int depth;
} parser;

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Characters that end a bare word (aptly's lexer, plus '('). */
static int ends_word(char c)
{
	return is_blank(c) || (c && strchr("()|,!{}", c));
}

static int is_op_char(char c)
{
	return c && strchr("<>=%~!", c);
}

/* Copy text at most max bytes, control characters as '?', cut on a UTF-8
 * boundary; returns 1 if truncated. */
static int sanitize(char *buf, size_t bufsz, const char *s, size_t n, size_t max)
{
	size_t i, o = 0;
	int cut = n > max;

	if (cut) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n && o + 1 < bufsz; i++)
		buf[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[o] = '\0';
	return cut;
}

static int perr(const parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 1-based line and column (in characters) of byte offset at. */
static void locate(const parser *p, size_t at, size_t *line, size_t *col)
{
	*line = *col = 1;
	for (size_t i = 0; i < at && i < p->len; i++) {
		if (p->text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)p->text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* "query 'TEXT': [line L, ]column C: MESSAGE". */
static int perr(const parser *p, size_t at, const char *fmt, ...)
{
	char msg[512], excerpt[4 * EXCERPT_MAX + 1];
	size_t line, col, first_nl;
	const char *nl;
	va_list ap;
	int cut;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	locate(p, at, &line, &col);
	nl = memchr(p->text, '\n', p->len);
	first_nl = nl ? (size_t)(nl - p->text) : p->len;
	cut = sanitize(excerpt, sizeof(excerpt), p->text, first_nl, EXCERPT_MAX);
	if (nl)
		return av_error_set(AV_EINVALID, "query '%s...': line %zu, column %zu: %s",
				    excerpt, line, col, msg);
	return av_error_set(AV_EINVALID, "query '%s%s': column %zu: %s",
			    excerpt, cut ? "..." : "", col, msg);
}

static qop relop_to_op(av_relop r)
{
	switch (r) {
	case AV_REL_LT: return OP_LT;
	case AV_REL_LE: return OP_LE;
	case AV_REL_GE: return OP_GE;
	case AV_REL_GT: return OP_GT;
	default: return OP_EQ;
	}
}

static int lex_quoted(parser *p, size_t i)
{
	char q = p->text[i++];

	while (i < p->len && p->text[i] != q)
		i += p->text[i] == '\\' && i + 1 < p->len ? 2 : 1;
	if (i >= p->len)
		return perr(p, p->start, "unterminated quoted string");
	p->tok = T_STRING;
	p->quoted = 1;
	p->end = i + 1;
	return 0;
}

/* Scan the next token into p->tok. */
static int lex(parser *p)
{
	const char *s = p->text;
	size_t i = p->pos;
	av_relop rel;
	int n, rc = 0;

	while (i < p->len && is_blank(s[i]))
		i++;
	p->start = i;
	p->end = i + 1;
	p->quoted = 0;
	if (i >= p->len) {
		p->tok = T_EOF;
		p->end = i;
	} else if (s[i] == '(') {
		p->tok = T_LPAREN;
	} else if (s[i] == ')') {
		p->tok = T_RPAREN;
	} else if (s[i] == '{') {
		p->tok = T_LCURLY;
	} else if (s[i] == '}') {
		p->tok = T_RCURLY;
	} else if (s[i] == '|') {
		p->tok = T_OR;
	} else if (s[i] == ',') {
		p->tok = T_AND;
	} else if (s[i] == '!') {
		p->tok = T_NOT;
	} else if (s[i] == '%' || s[i] == '~') {
		p->tok = T_OP;
		p->op = s[i] == '%' ? OP_GLOB : OP_REGEX;
	} else if ((n = av_relop_parse(s + i, &rel)) > 0) {
		p->tok = T_OP;
		p->op = relop_to_op(rel);
		p->end = i + (size_t)n;
	} else if (s[i] == '"' || s[i] == '\'') {
		rc = lex_quoted(p, i);
	} else {
		while (i < p->len && !ends_word(s[i]))
			i++;
		p->tok = T_STRING;
		p->end = i;
	}
	p->pos = p->end;
	return rc;
}

/* The current string token, unquoted, as a new string. */
static char *tok_string(const parser *p)
{
	const char *s = p->text + p->start;
	size_t n = p->end - p->start;
	char *out, *o;

	if (!p->quoted)
		return av_strndup(s, n);
	if (!(out = o = av_malloc(n)))
		return NULL;
	for (size_t i = 1; i + 1 < n; i++) {
		if (s[i] == '\\')
			i++;
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/* "expected WHAT" at the current token, naming it unless at the end. */
static int expected(const parser *p, const char *what)
{
	char t[4 * 40 + 1];
	int cut;

	if (p->tok == T_EOF)
		return perr(p, p->start, "expected %s", what);
	cut = sanitize(t, sizeof(t), p->text + p->start, p->end - p->start, 40);
	return perr(p, p->start, "expected %s, found '%s%s'", what, t,
		    cut ? "..." : "");
}

/* ---- parser ------------------------------------------------------------ */

static int parse_or(parser *p, av_query **out);

/* A bad operator such as "!=", "=>" or "<>": the run of operator
 * characters starting at the current token. */
static int unknown_operator(const parser *p)
{
	size_t e = p->start;
	char t[32];

	while (e < p->len && is_op_char(p->text[e]) && e - p->start < 8)
		e++;
	sanitize(t, sizeof(t), p->text + p->start, e - p->start, 8);
	return perr(p, p->start, "unknown operator '%s'; expected one of "
		    "= << <= >> >= %% ~", t);
}

/* '(' [op] value ')'; the current token is '('.  *value_at is where the
 * value starts, for messages about it. */
static int parse_condition(parser *p, qop *op, char **value, size_t *value_at,
			   const char *what)
{
	int rc;

	*op = OP_EQ;
	if ((rc = lex(p)))
		return rc;
	if (p->tok == T_NOT)
		return unknown_operator(p);
	if (p->tok == T_OP) {
		if (p->end < p->len && is_op_char(p->text[p->end]))
			return unknown_operator(p);
		*op = p->op;
		if ((rc = lex(p)))
			return rc;
	}
	if (p->tok != T_STRING)
		return expected(p, what);
	*value_at = p->start;
	if (!(*value = tok_string(p)))
		return AV_ERROR;
	if ((rc = lex(p)))
		return rc;
	if (p->tok != T_RPAREN)
		return expected(p, "')'");
	return lex(p);
}

static int compile_regex(parser *p, av_query *q, size_t at)
{
	char err[256];
	int r;

	if (q->op != OP_REGEX)
		return 0;
	if ((r = regcomp(&q->re, q->value, REG_EXTENDED | REG_NOSUB))) {
		regerror(r, &q->re, err, sizeof(err));
		regfree(&q->re);
		return perr(p, at, "bad regular expression '%s': %s", q->value, err);
	}
	q->has_re = 1;
	return 0;
}

static int is_field_name(const char *s)
{
	return *s == '$' || (isupper((unsigned char)*s) && !strchr(s, '_'));
}

/* aptly's rule: the first '_' ends the name, the last starts the arch. */
static int split_ref(av_query *q)
{
	char *first = strchr(q->name, '_'), *last;

	if (!first || !(last = strrchr(first + 1, '_')))
		return 0;
	if (!(q->value = av_strndup(first + 1, (size_t)(last - first - 1))) ||
	    !(q->arch = av_strdup(last + 1)))
		return AV_ERROR;
	*first = '\0';
	q->kind = Q_REF;
	return 1;
}

static int parse_field(parser *p, av_query *q, size_t name_at)
{
	size_t value_at;
	int rc;

	q->kind = Q_FIELD;
	q->field = F_STANZA;
	for (size_t i = 0; i < AV_ARRAY_SIZE(special_fields); i++)
		if (!strcasecmp(q->name, special_fields[i].name))
			q->field = special_fields[i].field;
	if (*q->name == '$' && q->field == F_STANZA)
		return perr(p, name_at, "unknown field '%s'; expected $Source, "
			    "$SourceVersion, $Architecture, $Version, "
			    "$PackageType or a control field", q->name);
	if (p->tok == T_LPAREN) {
		if ((rc = parse_condition(p, &q->op, &q->value, &value_at, "value")) ||
		    (rc = compile_regex(p, q, value_at)))
			return rc;
	}
	if (p->tok == T_LCURLY)
		return perr(p, p->start, "'{arch}' applies to package names, "
			    "not to field '%s'; add ', $Architecture (ARCH)' "
			    "instead", q->name);
	return 0;
}

/* '{' arch '}'; the current token is '{'. */
static int parse_arch(parser *p, av_query *q)
{
	int rc;

	if ((rc = lex(p)))
		return rc;
	if (p->tok != T_STRING)
		return expected(p, "architecture");
	if (!(q->arch = tok_string(p)))
		return AV_ERROR;
	if (!*q->arch)
		return perr(p, p->start, "architecture is empty");
	if ((rc = lex(p)))
		return rc;
	if (p->tok != T_RCURLY)
		return expected(p, "'}'");
	return lex(p);
}

static int parse_dep(parser *p, av_query *q)
{
	size_t value_at;
	int rc;

	q->kind = Q_DEP;
	if (p->tok == T_LPAREN) {
		if ((rc = parse_condition(p, &q->op, &q->value, &value_at, "version")) ||
		    (rc = compile_regex(p, q, value_at)))
			return rc;
	} else if ((rc = split_ref(q))) {
		return rc < 0 ? rc : 0;
	}
	if (p->tok == T_LCURLY)
		return parse_arch(p, q);
	return 0;
}

static int parse_term(parser *p, av_query **out)
{
	av_query *q = NULL;
	size_t name_at = p->start;
	int rc;

	if (p->tok != T_STRING)
		return expected(p, "package name or field");
	if (!(q = node_new(Q_DEP)) || !(q->name = tok_string(p))) {
		rc = AV_ERROR;
		goto done;
	}
	if (!*q->name) {
		rc = perr(p, name_at, "package name is empty");
		goto done;
	}
	if ((rc = lex(p)))
		goto done;
	if (is_field_name(q->name))
		rc = parse_field(p, q, name_at);
	else
		rc = parse_dep(p, q);
done:
	if (rc) {
		av_query_free(q);
		q = NULL;
	}
	*out = q;
	return rc;
}

static int enter(parser *p)
{
	if (++p->depth > QUERY_MAX_DEPTH)
		return perr(p, p->start, "query nests too deeply (limit %d)",
			    QUERY_MAX_DEPTH);
	return 0;
}

static int parse_group(parser *p, av_query **out)
{
	size_t open_at = p->start;
	int rc;

	*out = NULL;
	if ((rc = enter(p)) || (rc = lex(p)) || (rc = parse_or(p, out)))
		return rc;
	if (p->tok != T_RPAREN) {
		size_t line, col;

		locate(p, open_at, &line, &col);
		if (p->tok == T_EOF && memchr(p->text, '\n', p->len))
			rc = perr(p, p->start, "expected ')' to close the '(' "
				  "at line %zu, column %zu", line, col);
		else if (p->tok == T_EOF)
			rc = perr(p, p->start, "expected ')' to close the '(' "
				  "at column %zu", col);
		else
			rc = expected(p, "',', '|' or ')'");
		av_query_free(*out);
		*out = NULL;
		return rc;
	}
	p->depth--;
	if ((rc = lex(p))) {
		av_query_free(*out);
		*out = NULL;
	}
	return rc;
}

static int parse_unary(parser *p, av_query **out)
{
	av_query *q = NULL, *kid = NULL;
	int rc;

	*out = NULL;
	if (p->tok == T_LPAREN)
		return parse_group(p, out);
	if (p->tok != T_NOT)
		return parse_term(p, out);
	if ((rc = enter(p)) || (rc = lex(p)) || (rc = parse_unary(p, &kid)))
		return rc;
	p->depth--;
	if (!(q = node_new(Q_NOT))) {
		av_query_free(kid);
		return AV_ERROR;
	}
	if ((rc = node_add(q, kid))) {
		av_query_free(q);
		return rc;
	}
	*out = q;
	return 0;
}

/* sub (SEP sub)*: one n-ary node, or sub alone. */
static int parse_list(parser *p, av_query **out, tok sep, qkind kind,
		      int (*sub)(parser *, av_query **))
{
	av_query *q = NULL, *kid = NULL;
	int rc;

	*out = NULL;
	if ((rc = sub(p, &kid)))
		return rc;
	if (p->tok != sep) {
		*out = kid;
		return 0;
	}
	if (!(q = node_new(kind))) {
		av_query_free(kid);
		return AV_ERROR;
	}
	if ((rc = node_add(q, kid)))
		goto done;
	while (p->tok == sep) {
		if ((rc = lex(p)) || (rc = sub(p, &kid)) || (rc = node_add(q, kid)))
			goto done;
	}
done:
	if (rc)
		av_query_free(q);
	else
		*out = q;
	return rc;
}

static int parse_and(parser *p, av_query **out)
{
	return parse_list(p, out, T_AND, Q_AND, parse_unary);
}

static int parse_or(parser *p, av_query **out)
{
	return parse_list(p, out, T_OR, Q_OR, parse_and);
}

int av_query_parse(av_query **out, const char *text)
{
	parser p = { 0 };
	av_query *q = NULL;
	int rc;

	*out = NULL;
	if (!text)
		return av_error_set(AV_EINVALID, "query is empty");
	p.text = text;
	p.len = strlen(text);
	if (p.len > QUERY_MAX_LEN)
		return av_error_set(AV_EINVALID, "query is too long (%zu bytes, "
				    "limit %zu)", p.len, QUERY_MAX_LEN);
	if ((rc = lex(&p)))
		return rc;
	if (p.tok == T_EOF)
		return av_error_set(AV_EINVALID, "query is empty");
	if ((rc = parse_or(&p, &q)))
		return rc;
	if (p.tok == T_RPAREN)
		rc = perr(&p, p.start, "unbalanced ')'");
	else if (p.tok != T_EOF)
		rc = expected(&p, "',', '|' or end of query");
	if (rc) {
		av_query_free(q);
		return rc;
	}
	*out = q;
	return 0;
}

int av_query_parse_argv(av_query **out, int argc, char *const argv[])
{
	av_query *q = NULL, *kid = NULL;
	int rc;

	*out = NULL;
	if (argc < 1)
		return av_error_set(AV_EINVALID, "no query given");
	if (argc == 1)
		return av_query_parse(out, argv[0]);
	if (!(q = node_new(Q_OR)))
		return AV_ERROR;
	for (int i = 0; i < argc; i++) {
		if ((rc = av_query_parse(&kid, argv[i])) || (rc = node_add(q, kid)))
			goto done;
	}
	*out = q;
	q = NULL;
done:
	av_query_free(q);
	return rc;
}

/* ---- loading ----------------------------------------------------------- */

static int read_stdin(av_buf *out)
{
	char chunk[65536];
	size_t oldmax = out->max;
	ssize_t n;
	int rc = 0;

	out->max = out->len + QUERY_FILE_MAX;
	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = av_error_set_errno(AV_EIO, errno, "cannot read query "
						"from standard input");
			break;
		}
		if ((rc = av_buf_put(out, chunk, (size_t)n))) {
			av_error_wrap(rc, "query from standard input");
			break;
		}
	}
	out->max = oldmax;
	return rc;
}

int av_query_load(av_buf *out, const char *arg)
{
	size_t start = out->len;
	int rc;

	if (arg[0] != '@')
		return av_buf_puts(out, arg);
	if (!arg[1])
		return av_error_set(AV_EINVALID, "query file name is empty; "
				    "use '@FILE' or '@-' for standard input");
	if (!strcmp(arg, "@-"))
		rc = read_stdin(out);
	else if ((rc = av_file_read(out, arg + 1, QUERY_FILE_MAX)))
		av_error_wrap(rc, "cannot load query");
	if (rc) {
		av_buf_truncate(out, start);
		return rc;
	}
	while (out->len > start && is_blank(out->ptr[out->len - 1]))
		out->len--;
	if (out->ptr)
		out->ptr[out->len] = '\0';
	return 0;
}

/* ---- matching ---------------------------------------------------------- */

/* A NUL-terminated copy of s[0, n), on the stack unless very long. */
typedef struct scratch {
	char small[256];
	char *heap;
} scratch;

static const char *scratch_str(scratch *sc, const char *s, size_t n)
{
	char *d = sc->small;

	if (n >= sizeof(sc->small)) {
		free(sc->heap);
		if (!(d = sc->heap = av_malloc(n + 1)))
			return NULL;
	}
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static int arch_matches(const av_pkg *p, const char *arch)
{
	if (!strcmp(p->arch, "all") && strcmp(arch, "source"))
		return 1;
	return !strcmp(p->arch, arch);
}

static int rel_holds(qop op, int c)
{
	switch (op) {
	case OP_LT: return c < 0;
	case OP_LE: return c <= 0;
	case OP_EQ: return c == 0;
	case OP_GE: return c >= 0;
	case OP_GT: return c > 0;
	default: return 0;
	}
}

/* Does v satisfy the query's condition?  versions: dpkg ordering. */
static int value_matches(const av_query *q, const char *v, int versions)
{
	switch (q->op) {
	case OP_NONE:
		return *v != '\0';
	case OP_GLOB:
		return !fnmatch(q->value, v, FNM_PATHNAME);
	case OP_REGEX:
		return !regexec(&q->re, v, 0, NULL, 0);
	default:
		break;
	}
	if (!versions)
		return rel_holds(q->op, strcmp(v, q->value));
	return *v && rel_holds(q->op, av_version_compare(v, q->value));
}

static const char *trim(const char *s, const char *e, const char **end)
{
	while (s < e && is_blank(*s))
		s++;
	while (e > s && is_blank(e[-1]))
		e--;
	*end = e;
	return s;
}

/* $Source / $SourceVersion (aptly's GetField): empty for source
 * packages, from "Source: name (version)" or the package's own. */
static const char *source_part(const av_pkg *p, int version, scratch *sc)
{
	const char *src, *open, *close, *s, *e;

	if (p->type == AV_PKG_SOURCE)
		return "";
	src = av_stanza_get(p->stanza, "Source");
	if (!src || !*src)
		return version ? p->version : p->name;
	open = strchr(src, '(');
	if (!version) {
		s = trim(src, open ? open : src + strlen(src), &e);
		return scratch_str(sc, s, (size_t)(e - s));
	}
	if (!open || !(close = strrchr(open, ')')))
		return p->version;
	s = trim(open + 1, close, &e);
	return scratch_str(sc, s, (size_t)(e - s));
}

static int match_field(const av_query *q, const av_pkg *p)
{
	scratch sc = { .heap = NULL };
	const char *v;
	int r, versions = 0;

	switch (q->field) {
	case F_NAME: v = p->name; break;
	case F_SOURCE: v = source_part(p, 0, &sc); break;
	case F_SOURCE_VERSION: v = source_part(p, 1, &sc); versions = 1; break;
	case F_TYPE: v = av_pkg_type_str(p->type); break;
	case F_VERSION:
		if (q->op == OP_NONE)
			return 1;
		v = p->version;
		versions = 1;
		break;
	case F_ARCH:
		if (q->op == OP_EQ)
			return arch_matches(p, q->value);
		v = p->arch;
		break;
	default:
		v = av_stanza_get(p->stanza, q->name);
		break;
	}
	r = v ? value_matches(q, v, versions) : value_matches(q, "", 0);
	free(sc.heap);
	return r;
}

/* One Provides entry: "name" or "name (= version)". */
typedef struct provide {
	const char *name, *ver;
	size_t name_len, ver_len;
} provide;

/* Parse the entry at s into pv; returns where the next entry starts. */
static const char *next_provide(const char *s, provide *pv)
{
	const char *e;

	while (is_blank(*s) || *s == ',')
		s++;
	pv->name = s;
	while (*s && !is_blank(*s) && !strchr(",(|", *s))
		s++;
	pv->name_len = (size_t)(s - pv->name);
	pv->ver = NULL;
	pv->ver_len = 0;
	while (is_blank(*s))
		s++;
	if (*s == '(') {
		for (s++; is_blank(*s); s++)
			;
		if (*s == '=' && s[1] != '=' && s[1] != '<' && s[1] != '>') {
			for (s++; is_blank(*s); s++)
				;
			for (e = s; *e && !is_blank(*e) && *e != ')' && *e != ','; e++)
				;
			if (e > s) {
				pv->ver = s;
				pv->ver_len = (size_t)(e - s);
			}
		}
	}
	while (*s && *s != ',')
		s++;
	return s;
}

/* Is there a Provides entry for q->name satisfying q's condition? */
static int provides_match(const av_query *q, const av_pkg *p)
{
	const char *s = av_stanza_get(p->stanza, "Provides");
	size_t n = strlen(q->name);
	scratch sc = { .heap = NULL };
	int r = 0;

	while (s && *s && !r) {
		provide pv;
		const char *v;

		s = next_provide(s, &pv);
		if (pv.name_len != n || memcmp(pv.name, q->name, n))
			continue;
		if (q->op == OP_NONE)
			r = 1;
		else if (pv.ver && (v = scratch_str(&sc, pv.ver, pv.ver_len)))
			r = value_matches(q, v, 1);
	}
	free(sc.heap);
	return r;
}

static int match_dep(const av_query *q, const av_pkg *p)
{
	if (q->arch && !arch_matches(p, q->arch))
		return 0;
	if (!strcmp(p->name, q->name) &&
	    (q->op == OP_NONE || value_matches(q, p->version, 1)))
		return 1;
	return provides_match(q, p);
}

static int names_of(const av_query *q, const char ***v, size_t *n, size_t *alloc)
{
	const char *name = NULL;
	int rc;

	switch (q->kind) {
	case Q_OR:
		for (size_t i = 0; i < q->nkids; i++)
			if ((rc = names_of(q->kids[i], v, n, alloc)) <= 0)
				return rc;
		return 1;
	case Q_AND:	/* the first part that names its packages bounds the rest */
		for (size_t i = 0; i < q->nkids; i++) {
			size_t at = *n;

			if ((rc = names_of(q->kids[i], v, n, alloc)))
				return rc;
			*n = at;
		}
		return 0;
	case Q_FIELD:
		if (q->field == F_NAME && q->op == OP_EQ)
			name = q->value;
		break;
	case Q_REF:
		name = q->name;
		break;
	default:
		break;
	}
	if (!name)
		return 0;
	if (av_array_grow((void **)v, alloc, *n + 1, sizeof(**v)))
		return AV_ERROR;
	(*v)[(*n)++] = name;
	return 1;
}

int av_query_names(const av_query *q, const char ***out, size_t *n)
{
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = names_of(q, out, n, &alloc)) <= 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int av_query_match(const av_query *q, const av_pkg *p)
{
	switch (q->kind) {
	case Q_OR:
		for (size_t i = 0; i < q->nkids; i++)
			if (av_query_match(q->kids[i], p))
				return 1;
		return 0;
	case Q_AND:
		for (size_t i = 0; i < q->nkids; i++)
			if (!av_query_match(q->kids[i], p))
				return 0;
		return 1;
	case Q_NOT:
		return !av_query_match(q->kids[0], p);
	case Q_FIELD:
		return match_field(q, p);
	case Q_DEP:
		return match_dep(q, p);
	case Q_REF:
		return !strcmp(p->name, q->name) && !strcmp(p->version, q->value) &&
		       !strcmp(p->arch, q->arch);
	}
	return 0;
}
