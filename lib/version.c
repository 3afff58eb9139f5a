/* version.c - dpkg's version comparison (see version.h). */
#include <ctype.h>
#include "aptvault/version.h"
#include "internal.h"

typedef struct parsed {
	unsigned long epoch;
	const char *upstream;	/* [upstream, upstream_end) */
	const char *upstream_end;
	const char *revision;	/* NUL-terminated, "" when absent */
} parsed;

/* ASCII classes, as dpkg's c_isdigit and friends: the <ctype.h> ones
 * depend on the locale and cost a call each (sorting 10,000 packages
 * compares versions some 12,000 times). */
static inline int c_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int c_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int c_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static void parse(parsed *p, const char *v)
{
	const char *colon, *dash, *end;

	while (c_space((unsigned char)*v))
		v++;
	end = v + strlen(v);
	while (end > v && c_space((unsigned char)end[-1]))
		end--;
	p->epoch = 0;
	colon = memchr(v, ':', (size_t)(end - v));
	if (colon) {
		p->epoch = strtoul(v, NULL, 10);
		v = colon + 1;
	}
	dash = NULL;
	for (const char *s = v; s < end; s++)
		if (*s == '-')
			dash = s;
	p->upstream = v;
	p->upstream_end = dash ? dash : end;
	p->revision = dash ? dash + 1 : end;
	/* revision runs to end; callers compare with explicit bounds */
	(void)end;
}

static int order(int c)
{
	if (c_digit(c))
		return 0;
	if (c_alpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

/* dpkg's verrevcmp over [a, ae) and [b, be). */
static int verrevcmp(const char *a, const char *ae, const char *b, const char *be)
{
#define CH(p, e) ((p) < (e) ? (unsigned char)*(p) : 0)
	while (a < ae || b < be) {
		int first_diff = 0;

		while ((a < ae && !c_digit(CH(a, ae))) || (b < be && !c_digit(CH(b, be)))) {
			int ac = order(CH(a, ae));
			int bc = order(CH(b, be));
			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (a < ae && *a == '0')
			a++;
		while (b < be && *b == '0')
			b++;
		while (c_digit(CH(a, ae)) && c_digit(CH(b, be))) {
			if (!first_diff)
				first_diff = CH(a, ae) - CH(b, be);
			a++;
			b++;
		}
		if (c_digit(CH(a, ae)))
			return 1;
		if (c_digit(CH(b, be)))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
#undef CH
}

static const char *trim_end(const char *s)
{
	const char *e = s + strlen(s);

	while (e > s && c_space((unsigned char)e[-1]))
		e--;
	return e;
}

int av_version_compare(const char *a, const char *b)
{
	parsed pa, pb;
	int r;

	parse(&pa, a);
	parse(&pb, b);
	if (pa.epoch != pb.epoch)
		return pa.epoch > pb.epoch ? 1 : -1;
	r = verrevcmp(pa.upstream, pa.upstream_end, pb.upstream, pb.upstream_end);
	if (r)
		return r;
	return verrevcmp(pa.revision, trim_end(pa.revision),
			 pb.revision, trim_end(pb.revision));
}

int av_version_check(const char *v)
{
	const char *colon, *p, *dash = NULL, *up;

	if (!*v)
		return av_error_set(AV_EINVALID, "version number is empty");
	for (p = v; *p; p++)
		if (isspace((unsigned char)*p))
			return av_error_set(AV_EINVALID,
					    "version '%s' has embedded spaces", v);
	colon = strchr(v, ':');
	up = v;
	if (colon) {
		if (colon == v)
			return av_error_set(AV_EINVALID, "version '%s': epoch is empty", v);
		for (p = v; p < colon; p++)
			if (!isdigit((unsigned char)*p))
				return av_error_set(AV_EINVALID,
						    "version '%s': epoch is not a number", v);
		errno = 0;
		if (strtoul(v, NULL, 10) > 2147483647UL || errno == ERANGE)
			return av_error_set(AV_EINVALID, "version '%s': epoch is too big", v);
		up = colon + 1;
		if (!*up)
			return av_error_set(AV_EINVALID,
					    "version '%s': nothing after colon", v);
	}
	for (p = up; *p; p++)
		if (*p == '-')
			dash = p;
	if (dash && !dash[1])
		return av_error_set(AV_EINVALID, "version '%s': revision is empty", v);
	if (dash == up || !*up)
		return av_error_set(AV_EINVALID, "version '%s': upstream version is empty", v);
	if (!isdigit((unsigned char)*up))
		return av_error_set(AV_EINVALID,
				    "version '%s' does not start with a digit", v);
	for (p = up; *p && p != dash; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-+~:", *p))
			return av_error_set(AV_EINVALID,
					    "version '%s': invalid character '%c'", v, *p);
	for (p = dash ? dash + 1 : ""; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".+~", *p))
			return av_error_set(AV_EINVALID,
					    "version '%s': invalid character '%c' in revision", v, *p);
	return 0;
}

int av_version_satisfies(const char *v, av_relop op, const char *ref)
{
	int c;

	if (op == AV_REL_NONE)
		return 1;
	c = av_version_compare(v, ref);
	switch (op) {
	case AV_REL_LT: return c < 0;
	case AV_REL_LE: return c <= 0;
	case AV_REL_EQ: return c == 0;
	case AV_REL_GE: return c >= 0;
	case AV_REL_GT: return c > 0;
	default: return 1;
	}
}

int av_relop_parse(const char *s, av_relop *out)
{
	static const struct { const char *tok; av_relop op; } ops[] = {
		{ "<<", AV_REL_LT }, { "<=", AV_REL_LE }, { ">>", AV_REL_GT },
		{ ">=", AV_REL_GE }, { "=", AV_REL_EQ }, { "<", AV_REL_LE },
		{ ">", AV_REL_GE },
	};

	for (size_t i = 0; i < AV_ARRAY_SIZE(ops); i++) {
		size_t n = strlen(ops[i].tok);
		if (!strncmp(s, ops[i].tok, n)) {
			*out = ops[i].op;
			return (int)n;
		}
	}
	return 0;
}

const char *av_relop_str(av_relop op)
{
	switch (op) {
	case AV_REL_LT: return "<<";
	case AV_REL_LE: return "<=";
	case AV_REL_EQ: return "=";
	case AV_REL_GE: return ">=";
	case AV_REL_GT: return ">>";
	default: return "";
	}
}
