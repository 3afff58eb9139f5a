/*
 * deps.c - package sets and the dependency resolver (see deps.h).
 *
 * The rules are aptly 1.5's, read in its code (deb/list.go: VerifyDependencies,
 * Filter, Search, PrepareIndex; deb/package.go: GetDependencies,
 * MatchesDependency, MatchesArchitecture; deb/version.go: ParseDependency;
 * cmd/snapshot_{verify,filter,pull}.go) and checked against the aptly 1.5.0
 * binary (its -dep-verbose-resolve trace shows every step):
 *
 *  - A package's dependencies are Depends, Pre-Depends, then Recommends and
 *    Suggests when asked, then with follow-source "SRC (= VER) [source]",
 *    SRC and VER taken from Source: or the package's own.  Source packages
 *    have none but that one.
 *  - They are checked per architecture (sorted for filter and pull), package
 *    by package in index order: name, newest version first, architecture.
 *    "all" packages are checked under every architecture but "source".
 *  - A dependency without qualifier, or with ":any", is for the architecture
 *    being checked; any other qualifier, ":native" included, is taken
 *    literally.  Multi-Arch is not looked at.
 *  - A candidate matches by name (version constraint honoured; architecture
 *    equal, or "all"), or, for an unversioned dependency only, by a Provides
 *    entry that is a bare name: "Provides: foo (= 1)" satisfies nothing.
 *    Name matches come first, newest first; then providers.
 *  - Alternatives are searched in order; the first found settles the group
 *    (all-variants: every one is looked at).  Each pass over an architecture
 *    remembers what it found missing: a missing alternative is reported the
 *    first time it is searched in the pass, unless its own group is then
 *    settled by a later alternative, and never again in that pass, even
 *    from a group where nothing else is found.  So "a | b" with a and b
 *    missing reports both, and filter pulls both; and "x | y" with y found
 *    hides x from every later package of the pass (aptly neither reports
 *    nor pulls x for them: verified with the 1.5.0 binary).  The same
 *    "x (= 1) [source]" from an "all" package comes once per architecture.
 *  - filter repeats verify-then-add until nothing is added: a missing
 *    dependency already satisfied by what was added is skipped, else the
 *    first candidate not yet taken is added (all of them with all-variants).
 *  - pull filters the source with the queries limited to the architectures
 *    (default: the destination's), then walks the result in index order: the
 *    first package of each name+arch removes from the destination whatever
 *    matches "name [arch]", providers included, unless no-remove, and is
 *    added; later ones only with all-matches.  A key already there is kept.
 *
 * Where we differ from aptly, on purpose:
 *  - aptly lists the providers of a name in Go map order, so which provider
 *    filter pulls for a virtual package is random; we take the first in
 *    index order.
 *  - Versions compare as dpkg does (aptly splits the revision at the first
 *    '-', which matters only for upstream versions holding a '-').
 *  - "[arch]" lists and "<profile>" lists are honoured (aptly takes them as
 *    part of the name; dpkg-deb refuses them in binary packages anyway), and
 *    malformed relations are AV_EINVALID where aptly is sometimes lenient.
 *  - With debian_policy the matching is dpkg's instead: a versioned
 *    dependency is satisfied by "Provides: name (= V)" when V satisfies it;
 *    Multi-Arch: foreign packages satisfy any architecture, ":any" wants
 *    Multi-Arch: allowed, ":native" and "all" mean the architecture being
 *    checked; pull then removes only same-named packages (aptly >= 1.6).
 *
 * Resolution is incremental.  aptly re-verifies the whole result after each
 * round of additions.  But a dependency found stays found (what satisfies
 * only grows), and one nothing in the source provides can never change
 * anything; so a package whose groups are each settled by their first
 * alternative that can matter is skipped in later rounds, and a round
 * walks, in aptly's order, only the packages the last round added and the
 * few groups still open.  That gives aptly's result without re-reading the
 * whole result per round (see round_arch).
 *
 * Sets share their packages (refcounted nodes), so filtering 60,000 packages
 * copies pointers, and what is parsed from a package (Provides, dependency
 * fields) is parsed once whatever the number of sets holding it.  Nothing
 * here is thread-safe: a set indexes and sorts itself lazily, even when
 * const.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <strings.h>
#include <unistd.h>
#include "aptvault/deps.h"
#include "aptvault/plist.h"
#include "internal.h"

/* ---- a string-keyed hash map ------------------------------------------ */

typedef struct slot {
	const char *key;	/* borrowed; NULL: empty slot */
	void *val;
	uint64_t hash;
} slot;

typedef struct smap {
	slot *s;
	size_t n, cap;		/* cap is 0 or a power of two */
} smap;

static uint64_t str_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* The slot holding key, or the empty slot where it would go. */
static slot *smap_slot(const smap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		slot *sl = &m->s[i];
		if (!sl->key || (sl->hash == h && !strcmp(sl->key, key)))
			return sl;
	}
}

static void *smap_get_h(const smap *m, const char *key, uint64_t h)
{
	slot *sl;

	if (!m->cap)
		return NULL;
	sl = smap_slot(m, key, h);
	return sl->key ? sl->val : NULL;
}

static void *smap_get(const smap *m, const char *key)
{
	return m->cap ? smap_get_h(m, key, str_hash(key)) : NULL;
}

/* Room for need entries at a load factor of at most 1/2. */
static int smap_reserve(smap *m, size_t need)
{
	size_t cap = m->cap ? m->cap : 16, oldcap = m->cap;
	slot *old = m->s;

	while (cap / 2 < need)
		cap *= 2;
	if (cap == oldcap)
		return 0;
	if (!(m->s = av_calloc(cap, sizeof(*m->s)))) {
		m->s = old;
		return AV_ERROR;
	}
	m->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*smap_slot(m, old[i].key, old[i].hash) = old[i];
	free(old);
	return 0;
}

/* Map key (borrowed: it must live as long as the entry) to val; an
 * existing entry takes the new key pointer, so it never fails then. */
static int smap_put_h(smap *m, const char *key, uint64_t h, void *val)
{
	slot *sl = m->cap ? smap_slot(m, key, h) : NULL;
	int rc;

	if (!sl || !sl->key) {
		if ((rc = smap_reserve(m, m->n + 1)))
			return rc;
		sl = smap_slot(m, key, h);
		m->n++;
	}
	sl->key = key;
	sl->hash = h;
	sl->val = val;
	return 0;
}

static int smap_put(smap *m, const char *key, void *val)
{
	return smap_put_h(m, key, str_hash(key), val);
}

/* Linear probing: shift back the entries that probed past the hole. */
static void smap_del(smap *m, const char *key)
{
	size_t mask = m->cap - 1, i;
	slot *sl;

	if (!m->cap || !(sl = smap_slot(m, key, str_hash(key)))->key)
		return;
	i = (size_t)(sl - m->s);
	for (size_t j = (i + 1) & mask; m->s[j].key; j = (j + 1) & mask) {
		size_t home = (size_t)m->s[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	m->s[i].key = NULL;
	m->n--;
}

static void smap_dispose(smap *m)
{
	free(m->s);
	memset(m, 0, sizeof(*m));
}

/* ---- parsing dependency fields ------------------------------------------ */

typedef struct span {
	const char *p;
	size_t n;
} span;

/* One alternative as written; group numbers the alternatives of "a | b". */
typedef struct rawdep {
	span name, arch, ver;
	av_relop op;
	size_t group;
} rawdep;

typedef struct rawlist {
	rawdep *v;
	size_t n, alloc;
	size_t ngroups;
	size_t chars;		/* bytes the strings take, NULs included */
} rawlist;

static int is_name_char(char c)
{
	return c && !isspace((unsigned char)c) && !strchr(",|()[]<>:", c);
}

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && isspace((unsigned char)*p))
		p++;
	return p;
}

static void trim(const char *s, const char *e, const char **ts, const char **te)
{
	s = skip_ws(s, e);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*ts = s;
	*te = e;
}

static int alt_error(const char *s, const char *e, const char *why)
{
	return av_error_set(AV_EINVALID, "malformed dependency '%.*s': %s",
			    (int)(e - s), s, why);
}

/* Does arch belong to pattern [p, p+n): an architecture, "any",
 * "any-CPU" or "OS-any" (Debian's architecture wildcards)? */
static int arch_wildcard(const char *arch, const char *p, size_t n)
{
	const char *dash = strchr(arch, '-');

	if ((n == 3 && !memcmp(p, "any", 3)) || (strlen(arch) == n && !memcmp(p, arch, n)))
		return 1;
	if (n > 4 && !memcmp(p, "any-", 4)) {
		const char *cpu = dash ? strrchr(arch, '-') + 1 : arch;
		return strlen(cpu) == n - 4 && !memcmp(cpu, p + 4, n - 4);
	}
	if (n > 4 && !memcmp(p + n - 4, "-any", 4)) {
		if (!dash)	/* a bare CPU name is a Linux architecture */
			return n - 4 == 5 && !memcmp(p, "linux", 5);
		return (size_t)(dash - arch) == n - 4 && !memcmp(p, arch, n - 4);
	}
	return 0;
}

/* "(OP VERSION)" at *pp; no operator means "=", as in aptly. */
static int parse_version(const char **pp, const char *e, rawdep *d, const char *s)
{
	const char *p = skip_ws(*pp + 1, e);

	d->op = AV_REL_EQ;
	if (p < e && strchr("<>=", *p)) {
		p += av_relop_parse(p, &d->op);
		if (p < e && strchr("<>=", *p))
			return alt_error(s, e, "unknown relation");
	}
	d->ver.p = p = skip_ws(p, e);
	while (p < e && !isspace((unsigned char)*p) && *p != ')')
		p++;
	d->ver.n = (size_t)(p - d->ver.p);
	p = skip_ws(p, e);
	if (!d->ver.n || p >= e || *p != ')')
		return alt_error(s, e, "expected '(OP VERSION)'");
	*pp = p + 1;
	return 0;
}

/* "[a !b ...]" at *pp: *keep says whether arch (NULL: any) is in it. */
static int parse_archlist(const char **pp, const char *e, const char *arch,
			  int *keep, const char *s)
{
	const char *p = *pp + 1;
	int pos = 0, neg = 0, hit = 0;

	for (;;) {
		const char *t;
		int not;

		if ((p = skip_ws(p, e)) >= e)
			return alt_error(s, e, "missing ']'");
		if (*p == ']')
			break;
		if ((not = *p == '!'))
			p++;
		for (t = p; p < e && !isspace((unsigned char)*p) && *p != ']'; p++)
			;
		if (p == t)
			return alt_error(s, e, "empty architecture in '[...]'");
		if (not)
			neg++;
		else
			pos++;
		hit |= arch && arch_wildcard(arch, t, (size_t)(p - t));
	}
	if (!pos && !neg)
		return alt_error(s, e, "empty '[...]'");
	if (pos && neg)
		return alt_error(s, e, "'[...]' mixes negated and plain architectures");
	*keep = !arch || (pos ? hit : !hit);
	*pp = p + 1;
	return 0;
}

/* One alternative [s, e), trimmed: name[:arch] [(op ver)] [[archs]] <..>* */
static int parse_alt(const char *s, const char *e, const char *arch, rawdep *d,
		     int *keep)
{
	const char *p = s;
	int rc;

	memset(d, 0, sizeof(*d));
	*keep = 1;
	while (p < e && is_name_char(*p))
		p++;
	if (p == s)
		return alt_error(s, e, "expected a package name");
	d->name = (span){ s, (size_t)(p - s) };
	if (p < e && *p == ':') {
		const char *q = ++p;
		while (p < e && (isalnum((unsigned char)*p) || *p == '-'))
			p++;
		if (p == q)
			return alt_error(s, e, "empty architecture qualifier");
		d->arch = (span){ q, (size_t)(p - q) };
	}
	if ((p = skip_ws(p, e)) < e && *p == '(' && (rc = parse_version(&p, e, d, s)))
		return rc;
	if ((p = skip_ws(p, e)) < e && *p == '[' &&
	    (rc = parse_archlist(&p, e, arch, keep, s)))
		return rc;
	for (p = skip_ws(p, e); p < e && *p == '<'; p = skip_ws(p, e)) {
		const char *q = memchr(p, '>', (size_t)(e - p));
		if (!q)
			return alt_error(s, e, "missing '>'");
		p = q + 1;
	}
	return p < e ? alt_error(s, e, "unexpected text after the dependency") : 0;
}

/* The alternatives of one group [g, ge); groups left empty by "[arch]"
 * lists are dropped, as dpkg does. */
static int parse_group(rawlist *rl, const char *g, const char *ge, const char *arch)
{
	size_t kept = 0;
	int rc;

	for (const char *a = g;;) {
		const char *ae = memchr(a, '|', (size_t)(ge - a)), *s, *e;
		rawdep *d;
		int keep;

		trim(a, ae ? ae : ge, &s, &e);
		if (s == e)
			return av_error_set(AV_EINVALID, "malformed dependency '%.*s': "
					    "empty alternative", (int)(ge - g), g);
		if ((rc = av_array_grow((void **)&rl->v, &rl->alloc, rl->n + 1,
					sizeof(*rl->v))))
			return rc;
		d = &rl->v[rl->n];
		if ((rc = parse_alt(s, e, arch, d, &keep)))
			return rc;
		if (keep) {
			d->group = rl->ngroups;
			rl->chars += d->name.n + 1 + (d->arch.n ? d->arch.n + 1 : 0) +
				     (d->ver.n ? d->ver.n + 1 : 0);
			rl->n++;
			kept++;
		}
		if (!ae)
			break;
		a = ae + 1;
	}
	rl->ngroups += kept > 0;
	return 0;
}

/* Empty groups ("a, , b", a trailing comma) are skipped, not errors. */
static int parse_raw(rawlist *rl, const char *value, const char *arch)
{
	int rc;

	for (const char *g = value;;) {
		const char *ge = g + strcspn(g, ","), *s, *e;

		trim(g, ge, &s, &e);
		if (s < e && (rc = parse_group(rl, s, e, arch)))
			return rc;
		if (!*ge)
			return 0;
		g = ge + 1;
	}
}

static char *put_span(char **c, span sp)
{
	char *r = *c;

	if (!sp.n)
		return NULL;
	memcpy(r, sp.p, sp.n);
	r[sp.n] = '\0';
	*c += sp.n + 1;
	return r;
}

/* One allocation holding the list, its groups, alternatives and strings:
 * the form cached per package, released with free(). */
static int deplist_compact(av_deplist **out, const rawlist *rl)
{
	size_t size = sizeof(av_deplist) + rl->ngroups * sizeof(av_dep_alt) +
		      rl->n * sizeof(av_dep) + rl->chars;
	av_deplist *l = av_calloc(1, size);
	av_dep_alt *g;
	av_dep *d;
	char *c;

	if (!(*out = l))
		return AV_ERROR;
	g = (av_dep_alt *)(l + 1);
	d = (av_dep *)(g + rl->ngroups);
	c = (char *)(d + rl->n);
	l->v = g;
	l->n = rl->ngroups;
	for (size_t i = 0; i < rl->n; i++) {
		const rawdep *r = &rl->v[i];

		d[i].name = put_span(&c, r->name);
		d[i].arch = put_span(&c, r->arch);
		d[i].version = put_span(&c, r->ver);
		d[i].op = r->op;
		if (!g[r->group].alts)
			g[r->group].alts = &d[i];
		g[r->group].n++;
	}
	return 0;
}

static char *dup_span(span sp, int *failed)
{
	char *r;

	if (!sp.n)
		return NULL;
	if (!(r = av_strndup(sp.p, sp.n)))
		*failed = 1;
	return r;
}

/* The public form: every part allocated on its own (av_deplist_dispose). */
static int deplist_build(av_deplist *out, const rawlist *rl)
{
	int failed = 0;

	if (!rl->ngroups)
		return 0;
	if (!(out->v = av_calloc(rl->ngroups, sizeof(*out->v))))
		return AV_ERROR;
	out->n = rl->ngroups;
	for (size_t i = 0; i < rl->n; i++)
		out->v[rl->v[i].group].n++;
	for (size_t j = 0; j < out->n; j++) {
		size_t n = out->v[j].n;
		out->v[j].n = 0;
		if (!(out->v[j].alts = av_calloc(n, sizeof(av_dep))))
			return AV_ERROR;
	}
	for (size_t i = 0; i < rl->n; i++) {
		const rawdep *r = &rl->v[i];
		av_dep_alt *g = &out->v[r->group];
		av_dep *d = &g->alts[g->n++];

		d->name = dup_span(r->name, &failed);
		d->arch = dup_span(r->arch, &failed);
		d->version = dup_span(r->ver, &failed);
		d->op = r->op;
	}
	return failed ? AV_ERROR : 0;
}

int av_deps_parse(av_deplist *out, const char *value, const char *arch)
{
	rawlist rl = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(rc = parse_raw(&rl, value, arch)))
		rc = deplist_build(out, &rl);
	free(rl.v);
	if (rc)
		av_deplist_dispose(out);
	return rc;
}

void av_deplist_dispose(av_deplist *l)
{
	for (size_t i = 0; l->v && i < l->n; i++) {
		for (size_t j = 0; l->v[i].alts && j < l->v[i].n; j++) {
			free(l->v[i].alts[j].name);
			free(l->v[i].alts[j].arch);
			free(l->v[i].alts[j].version);
		}
		free(l->v[i].alts);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Pieces appended, not printf: the resolver formats every dependency it
 * evaluates (it dedupes them by their text). */
int av_dep_format(av_buf *out, const av_dep *d)
{
	int rc = av_buf_puts(out, d->name);

	if (!rc && d->op != AV_REL_NONE &&
	    !(rc = av_buf_puts(out, " (")) && !(rc = av_buf_puts(out, av_relop_str(d->op))) &&
	    !(rc = av_buf_putc(out, ' ')) && !(rc = av_buf_puts(out, d->version)))
		rc = av_buf_putc(out, ')');
	if (!rc && d->arch && !(rc = av_buf_puts(out, " [")) && !(rc = av_buf_puts(out, d->arch)))
		rc = av_buf_putc(out, ']');
	return rc;
}

/* ---- packages shared by sets ---------------------------------------------- */

enum { MA_NO = 0, MA_SAME, MA_FOREIGN, MA_ALLOWED };
enum { F_DEPENDS, F_PRE_DEPENDS, F_RECOMMENDS, F_SUGGESTS, NFIELDS };
enum { F_PROVIDES = NFIELDS, F_MULTI_ARCH, NSCANNED };
/* The fields the resolver reads, found in one pass over the stanza. */
static const char *const scanned[NSCANNED] = {
	"Depends", "Pre-Depends", "Recommends", "Suggests", "Provides", "Multi-Arch",
};

typedef struct provide {
	const char *name;
	const char *version;	/* "name (= version)"; NULL if none */
	int bare;		/* the entry is the name alone: all aptly 1.5 sees */
} provide;

typedef struct node {
	av_pkg *pkg;
	char *key;
	git_oid blob;
	size_t refs;
	int parsed;		/* val, prov and multiarch are set */
	int multiarch;
	const char *val[NSCANNED];	/* borrowed from pkg->stanza */
	provide *prov;		/* one allocation, strings included */
	size_t nprov;
	av_deplist *deps[NFIELDS];	/* parsed on first use */
} node;

/* What a package without the field depends on. */
static av_deplist no_deps;

static void node_unref(node *nd)
{
	if (!nd || --nd->refs)
		return;
	for (int f = 0; f < NFIELDS; f++)
		if (nd->deps[f] != &no_deps)
			free(nd->deps[f]);
	free(nd->prov);
	free(nd->key);
	av_pkg_free(nd->pkg);
	free(nd);
}

/* A node with no reference yet (refs 1 once a set holds it); takes pkg. */
static int node_new(node **out, av_pkg *pkg, const git_oid *blob, const char *key)
{
	av_buf k = AV_BUF_INIT;
	node *nd = NULL;
	int rc = 0;

	*out = NULL;
	if (!key && !(rc = av_pkg_key(&k, pkg)))
		key = k.ptr;
	if (rc || !(nd = av_calloc(1, sizeof(*nd))) || !(nd->key = av_strdup(key))) {
		rc = rc ? rc : AV_ERROR;
		free(nd);
		av_pkg_free(pkg);
		goto done;
	}
	nd->pkg = pkg;
	if (blob)
		git_oid_cpy(&nd->blob, blob);
	*out = nd;
done:
	av_buf_dispose(&k);
	return rc;
}

/* One Provides entry [s, e), trimmed; 0 when it names nothing usable. */
static int provide_scan(const char *s, const char *e, span *name, span *ver, int *bare)
{
	const char *p = s;

	while (p < e && is_name_char(*p))
		p++;
	*name = (span){ s, (size_t)(p - s) };
	*ver = (span){ NULL, 0 };
	*bare = p == e;
	if (p < e && *p == ':')
		while (p < e && !isspace((unsigned char)*p) && *p != '(')
			p++;
	if ((p = skip_ws(p, e)) < e && *p == '(') {
		p = skip_ws(p + 1, e);
		if (p >= e || *p != '=' || (p + 1 < e && strchr("<>=", p[1])))
			return 0;	/* policy allows only "=" in Provides */
		ver->p = p = skip_ws(p + 1, e);
		while (p < e && !isspace((unsigned char)*p) && *p != ')')
			p++;
		ver->n = (size_t)(p - ver->p);
	}
	return name->n > 0;
}

static int node_parse_provides(node *nd, const char *value)
{
	size_t max = 1, len = strlen(value), n = 0;
	char *c;

	for (const char *p = value; *p; p++)
		max += *p == ',';
	if (!(nd->prov = av_malloc(max * sizeof(provide) + len + 2 * max)))
		return AV_ERROR;
	c = (char *)(nd->prov + max);
	for (const char *g = value;;) {
		const char *ge = g + strcspn(g, ","), *s, *e;
		span name, ver;
		int bare;

		trim(g, ge, &s, &e);
		if (s < e && provide_scan(s, e, &name, &ver, &bare)) {
			nd->prov[n].name = put_span(&c, name);
			nd->prov[n].version = put_span(&c, ver);
			nd->prov[n++].bare = bare;
		}
		if (!*ge)
			break;
		g = ge + 1;
	}
	nd->nprov = n;
	return 0;
}

/* A source package has none of them, as far as aptly is concerned. */
static void node_scan(node *nd)
{
	static const unsigned char scanned_len[NSCANNED] = { 7, 11, 10, 8, 8, 10 };
	const av_stanza *st = nd->pkg->stanza;

	for (size_t i = 0; nd->pkg->type != AV_PKG_SOURCE && i < st->count; i++) {
		const char *name = st->fields[i].name;
		size_t len = strlen(name);
		for (int f = 0; f < NSCANNED; f++) {
			if (!nd->val[f] && len == scanned_len[f] &&
			    tolower((unsigned char)name[0]) == tolower((unsigned char)scanned[f][0]) &&
			    !strcasecmp(name, scanned[f])) {
				nd->val[f] = st->fields[i].value;
				break;
			}
		}
	}
}

static int node_parse(node *nd)
{
	const char *ma, *pv;
	int rc;

	if (nd->parsed)
		return 0;
	node_scan(nd);
	ma = nd->val[F_MULTI_ARCH];
	pv = nd->val[F_PROVIDES];
	if (ma)
		nd->multiarch = !strcmp(ma, "foreign") ? MA_FOREIGN :
				!strcmp(ma, "allowed") ? MA_ALLOWED :
				!strcmp(ma, "same") ? MA_SAME : MA_NO;
	if (pv && (rc = node_parse_provides(nd, pv)))
		return rc;
	nd->parsed = 1;
	return 0;
}

/*
 * The dependencies in field f of nd.  Cached, unless the field has
 * "[arch]" lists: then parsed for arch into *tmp, which the caller frees.
 */
static int node_deps(node *nd, int f, const char *arch, const av_deplist **out,
		     av_deplist **tmp)
{
	const char *v;
	rawlist rl = { 0 };
	av_deplist *l = NULL;
	int per_arch, rc;

	*tmp = NULL;
	if ((*out = nd->deps[f]))
		return 0;
	if ((rc = node_parse(nd)))
		return rc;
	if (!(v = nd->val[f])) {
		*out = nd->deps[f] = &no_deps;
		return 0;
	}
	per_arch = strchr(v, '[') != NULL;
	if (!(rc = parse_raw(&rl, v, per_arch ? arch : NULL)))
		rc = deplist_compact(&l, &rl);
	free(rl.v);
	if (rc)
		return av_error_wrap(rc, "package '%s': %s", nd->key, scanned[f]);
	*out = l;
	if (per_arch)
		*tmp = l;
	else
		nd->deps[f] = l;
	return 0;
}

/* aptly's index order: name, newest version first, architecture. */
static int index_cmp(const node *a, const node *b)
{
	int c = strcmp(a->pkg->name, b->pkg->name);

	if (!c && !(c = av_version_compare(b->pkg->version, a->pkg->version)) &&
	    !(c = strcmp(a->pkg->arch, b->pkg->arch)))
		c = strcmp(a->pkg->version, b->pkg->version);
	return c;
}

static int index_qcmp(const void *a, const void *b)
{
	return index_cmp(*(node *const *)a, *(node *const *)b);
}

static int key_qcmp(const void *a, const void *b)
{
	return strcmp((*(node *const *)a)->key, (*(node *const *)b)->key);
}

/* aptly's MatchesArchitecture: "all" is every architecture but source. */
static int node_for_arch(const node *nd, const char *arch)
{
	return !strcmp(nd->pkg->arch, arch) ||
	       (!strcmp(nd->pkg->arch, "all") && strcmp(arch, "source"));
}

/* ---- sets ------------------------------------------------------------------- */

/*
 * The packages of one name, or providing one name.  Kept in index order
 * for the searches whose order matters (which candidate is taken); sets
 * that grow while resolving only ask whether something matches, so an
 * addition out of order just marks the vec for sorting on next use: a
 * name provided by 15,000 packages would otherwise cost a quadratic
 * number of moves.
 */
typedef struct vec {
	node **v;
	size_t n, alloc;
	int unsorted;
} vec;

/* A name's packages and its providers: one lookup answers a search. */
enum { IX_NAME, IX_PROV };
typedef struct ixent {
	char *name;
	vec of[2];
} ixent;

typedef struct nodes {
	node **v;
	size_t n, alloc;
} nodes;

struct av_pkgset {
	node **v;
	size_t n, alloc;
	smap bykey;		/* key -> position in v, plus one */
	int sorted;		/* v is in key order */
	int indexed;
	smap index;		/* name -> ixent */
};

#define POS(i) ((void *)(uintptr_t)((i) + 1))

static int nodes_push(nodes *ns, node *nd)
{
	int rc = av_array_grow((void **)&ns->v, &ns->alloc, ns->n + 1, sizeof(*ns->v));

	if (!rc)
		ns->v[ns->n++] = nd;
	return rc;
}

static void ixent_free(ixent *e)
{
	free(e->name);
	free(e->of[IX_NAME].v);
	free(e->of[IX_PROV].v);
	free(e);
}

static void index_dispose(av_pkgset *set)
{
	for (size_t i = 0; i < set->index.cap; i++)
		if (set->index.s[i].key)
			ixent_free(set->index.s[i].val);
	smap_dispose(&set->index);
	set->indexed = 0;
}

int av_pkgset_new(av_pkgset **out)
{
	*out = av_calloc(1, sizeof(**out));
	if (*out)
		(*out)->sorted = 1;
	return *out ? 0 : AV_ERROR;
}

void av_pkgset_free(av_pkgset *set)
{
	if (!set)
		return;
	index_dispose(set);
	for (size_t i = 0; i < set->n; i++)
		node_unref(set->v[i]);
	free(set->v);
	smap_dispose(&set->bykey);
	free(set);
}

static long set_find(const av_pkgset *set, const char *key)
{
	void *pos = smap_get(&set->bykey, key);

	return pos ? (long)((uintptr_t)pos - 1) : -1;
}

/* index_cmp for nodes of one name (a name vec): the names are equal. */
static int version_qcmp(const void *a, const void *b)
{
	const node *x = *(node *const *)a, *y = *(node *const *)b;
	int c = av_version_compare(y->pkg->version, x->pkg->version);

	if (!c && !(c = strcmp(x->pkg->arch, y->pkg->arch)))
		c = strcmp(x->pkg->version, y->pkg->version);
	return c;
}

static void vec_sort(vec *vc, int which)
{
	int (*cmp)(const void *, const void *) = which == IX_NAME ? version_qcmp : index_qcmp;

	if (vc->unsorted && vc->n > 8) {
		qsort(vc->v, vc->n, sizeof(*vc->v), cmp);
	} else if (vc->unsorted) {
		/* Most vecs are a name's few versions: insertion. */
		for (size_t i = 1; i < vc->n; i++) {
			node *x = vc->v[i];
			size_t j = i;
			for (; j && cmp(&vc->v[j - 1], &x) > 0; j--)
				vc->v[j] = vc->v[j - 1];
			vc->v[j] = x;
		}
	}
	vc->unsorted = 0;
}

/* Append nd to name's vec `which`; bulk: the caller sorts every vec
 * afterwards, so the order is not checked here. */
static int vec_add(smap *m, int which, const char *name, node *nd, int bulk)
{
	ixent *e = smap_get(m, name);
	vec *vc;
	int rc;

	if (!e) {
		if (!(e = av_calloc(1, sizeof(*e))) || !(e->name = av_strdup(name)) ||
		    (rc = smap_put(m, e->name, e))) {
			if (e)
				ixent_free(e);
			return AV_ERROR;
		}
	}
	vc = &e->of[which];
	if ((rc = av_array_grow((void **)&vc->v, &vc->alloc, vc->n + 1, sizeof(*vc->v))))
		return rc;
	if (vc->n && (bulk || index_cmp(vc->v[vc->n - 1], nd) > 0))
		vc->unsorted = 1;
	vc->v[vc->n++] = nd;
	return 0;
}

/* Where nd is in vc, or vc->n: a binary search when in order. */
static size_t vec_find(const vec *vc, const node *nd)
{
	size_t lo = 0, hi = vc->n;

	while (!vc->unsorted && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = index_cmp(vc->v[mid], nd);
		if (!c)
			return vc->v[mid] == nd ? mid : vc->n;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (lo = 0; vc->unsorted && lo < vc->n; lo++)
		if (vc->v[lo] == nd)
			return lo;
	return vc->n;
}

static void vec_remove(smap *m, int which, const char *name, const node *nd)
{
	ixent *e = smap_get(m, name);
	vec *vc;
	size_t i;

	if (!e)
		return;
	vc = &e->of[which];
	if ((i = vec_find(vc, nd)) == vc->n)
		return;
	memmove(&vc->v[i], &vc->v[i + 1], (vc->n - i - 1) * sizeof(*vc->v));
	if (--vc->n || e->of[!which].n)
		return;
	smap_del(m, e->name);
	ixent_free(e);
}

/* The names nd provides, each once: is entry i the first of its name? */
static int first_provide(const node *nd, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(nd->prov[j].name, nd->prov[i].name))
			return 0;
	return 1;
}

static int index_add(av_pkgset *set, node *nd, int bulk)
{
	int rc;

	if ((rc = node_parse(nd)) ||
	    (rc = vec_add(&set->index, IX_NAME, nd->pkg->name, nd, bulk)))
		return rc;
	for (size_t i = 0; i < nd->nprov; i++)
		if (first_provide(nd, i) &&
		    (rc = vec_add(&set->index, IX_PROV, nd->prov[i].name, nd, bulk)))
			return rc;
	return 0;
}

static void index_remove(av_pkgset *set, const node *nd)
{
	vec_remove(&set->index, IX_NAME, nd->pkg->name, nd);
	for (size_t i = 0; i < nd->nprov; i++)
		if (first_provide(nd, i))
			vec_remove(&set->index, IX_PROV, nd->prov[i].name, nd);
}

/* Build the name and provides index once; then kept up to date. */
static int index_ensure(const av_pkgset *cset)
{
	av_pkgset *set = (av_pkgset *)cset;	/* a cache: logically const */
	int rc;

	if (set->indexed)
		return 0;
	if ((rc = smap_reserve(&set->index, set->n)))
		return rc;
	for (size_t i = 0; i < set->n; i++) {
		if ((rc = index_add(set, set->v[i], 1))) {
			index_dispose(set);
			return rc;
		}
	}
	for (size_t i = 0; i < set->index.cap; i++) {
		ixent *e = set->index.s[i].val;
		if (set->index.s[i].key) {
			vec_sort(&e->of[IX_NAME], IX_NAME);
			vec_sort(&e->of[IX_PROV], IX_PROV);
		}
	}
	set->indexed = 1;
	return 0;
}

/* Take a reference to nd in set.  0: added or replaced; 1: the key was
 * there and replace is 0, nothing done. */
static int set_insert(av_pkgset *set, node *nd, int replace)
{
	uint64_t h = str_hash(nd->key);	/* hashed once for the find and the put */
	void *pos = smap_get_h(&set->bykey, nd->key, h);
	long i = pos ? (long)((uintptr_t)pos - 1) : -1;
	node *old;
	int rc;

	if (i >= 0) {
		if (!replace || (old = set->v[i]) == nd)
			return 1;
		if (set->indexed)
			index_remove(set, old);
		set->v[i] = nd;
		nd->refs++;
		smap_put_h(&set->bykey, nd->key, h, POS(i));	/* existing: cannot fail */
		node_unref(old);
		return set->indexed ? index_add(set, nd, 0) : 0;
	}
	if ((rc = av_array_grow((void **)&set->v, &set->alloc, set->n + 1, sizeof(*set->v))) ||
	    (rc = smap_put_h(&set->bykey, nd->key, h, POS(set->n))))
		return rc;
	if (set->n && strcmp(set->v[set->n - 1]->key, nd->key) > 0)
		set->sorted = 0;
	set->v[set->n++] = nd;
	nd->refs++;
	return set->indexed ? index_add(set, nd, 0) : 0;
}

/* set_insert for a node no set holds yet: freed if not taken. */
static int set_adopt(av_pkgset *set, node *nd, int replace)
{
	int rc = set_insert(set, nd, replace);

	if (!nd->refs) {
		nd->refs = 1;
		node_unref(nd);
	}
	return rc < 0 ? rc : 0;
}

static void set_delete(av_pkgset *set, size_t i)
{
	node *nd = set->v[i];

	if (set->indexed)
		index_remove(set, nd);
	smap_del(&set->bykey, nd->key);
	if (i != --set->n) {
		set->v[i] = set->v[set->n];
		smap_put(&set->bykey, set->v[i]->key, POS(i));
		set->sorted = 0;
	}
	node_unref(nd);
}

int av_pkgset_add(av_pkgset *set, av_pkg *pkg, const git_oid *blob)
{
	node *nd;
	int rc;

	if ((rc = node_new(&nd, pkg, blob, NULL)))
		return rc;
	return set_adopt(set, nd, 1);
}

int av_pkgset_remove(av_pkgset *set, const char *key)
{
	long i = set_find(set, key);

	if (i < 0)
		return av_error_set(AV_ENOTFOUND, "package '%s' is not in the set", key);
	set_delete(set, (size_t)i);
	return 0;
}

size_t av_pkgset_count(const av_pkgset *set)
{
	return set->n;
}

static void set_sort(const av_pkgset *cset)
{
	av_pkgset *set = (av_pkgset *)cset;	/* a cache: logically const */

	if (set->sorted)
		return;
	if (set->n > 1)
		qsort(set->v, set->n, sizeof(*set->v), key_qcmp);
	for (size_t i = 0; i < set->n; i++)
		smap_put(&set->bykey, set->v[i]->key, POS(i));
	set->sorted = 1;
}

const av_pkg *av_pkgset_at(const av_pkgset *set, size_t i, const git_oid **blob)
{
	if (i >= set->n)
		return NULL;
	set_sort(set);
	if (blob)
		*blob = &set->v[i]->blob;
	return set->v[i]->pkg;
}

const av_pkg *av_pkgset_get(const av_pkgset *set, const char *key, const git_oid **blob)
{
	long i = set_find(set, key);

	if (i < 0)
		return NULL;
	if (blob)
		*blob = &set->v[i]->blob;
	return set->v[i]->pkg;
}

/*
 * Loading.  Reading 60,000 packed blobs is most of what a command costs
 * (libgit2 inflates each one: ~0.55 s, parsing ~0.25 s on our machines),
 * so a big list is read by a few threads, each through its own av_store
 * on the same root (a libgit2 repository is one thread's).  Those reads
 * are not in the caller's stats; lists small enough for tests to count
 * are read by the caller alone.  A blob a worker cannot read (one still
 * only in the caller's unflushed mempack, say) is read again by the
 * caller, whose error is the one reported.
 */
#define LOAD_PARALLEL_MIN 4096
#define LOAD_MAX_WORKERS 4
/* What a loaded package takes in memory, about (60,000 took 300 MB RSS
 * with their indexes; the stanza, its fields and the node are 1.5-2 KB). */
#define LOAD_BYTES_PER_PACKAGE ((size_t)2048)

typedef struct load_entry {
	size_t key;		/* offset in the loader's key arena */
	git_oid oid;
	node *nd;		/* read by a worker, or NULL */
} load_entry;

typedef struct loader {
	av_store *store;
	av_buf keys;
	load_entry *v;
	size_t n, alloc;
} loader;

typedef struct load_job {
	loader *ld;
	size_t from, to;
	pthread_t thread;
	int started;
} load_job;

static int node_from_blob(node **out, const void *data, size_t len, const char *key,
			  const git_oid *oid)
{
	av_pkg *pkg = NULL;
	int rc;

	*out = NULL;
	if ((rc = av_pkg_parse(&pkg, data, len)))
		return av_error_wrap(rc, "package '%s'", key);
	if ((rc = node_new(out, pkg, oid, key)) || (rc = node_parse(*out))) {
		if (*out) {
			(*out)->refs = 1;
			node_unref(*out);
			*out = NULL;
		}
	}
	return rc;
}

static int load_node(node **out, av_store *s, const char *key, const git_oid *oid)
{
	git_blob *blob = NULL;
	int rc;

	*out = NULL;
	if ((rc = av_store_blob_read(s, &blob, oid)))
		return av_error_wrap(rc, "package '%s'", key);
	rc = node_from_blob(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
			    key, oid);
	git_blob_free(blob);
	return rc;
}

static int load_collect(const char *key, const git_oid *oid, void *payload)
{
	loader *ld = payload;
	size_t at = ld->keys.len;
	int rc;

	if ((rc = av_buf_put(&ld->keys, key, strlen(key) + 1)) ||
	    (rc = av_array_grow((void **)&ld->v, &ld->alloc, ld->n + 1, sizeof(*ld->v))))
		return rc;
	ld->v[ld->n++] = (load_entry){ at, *oid, NULL };
	return 0;
}

/*
 * glibc grows a thread's heap by what each allocation lacks, a page or so
 * at a time, each with an mprotect: loading 60,000 packages spent a
 * quarter of the workers' time there.  Taking about the heap size the load
 * will need up front, in 64 KB blocks, and giving it back leaves the heap
 * writable (its pages are returned, not its protection), so the load then
 * grows into it without those calls.  Only an optimisation: any allocator
 * works without it.
 */
static void heap_reserve(size_t bytes)
{
	enum { STEP = (64 << 10) - 64 };	/* below the mmap threshold */
	size_t n = bytes / STEP, k = 0;
	void **v = malloc((n + 1) * sizeof(*v));

	if (!v)
		return;
	while (k < n && (v[k] = malloc(STEP)))
		k++;
	while (k)
		free(v[--k]);
	free(v);
}

/* A worker reads with its own store reader: whole packed blobs straight
 * from the mapped packs, without libgit2's object cache. */
static void *load_worker(void *arg)
{
	load_job *j = arg;
	av_store_reader *r = NULL;
	av_buf raw = AV_BUF_INIT;

	heap_reserve((j->to - j->from) * LOAD_BYTES_PER_PACKAGE);
	if (av_store_reader_open(j->ld->store, &r))
		goto done;
	for (size_t i = j->from; i < j->to; i++) {
		load_entry *e = &j->ld->v[i];

		av_buf_clear(&raw);
		if (av_store_reader_blob(r, &raw, &e->oid) ||
		    node_from_blob(&e->nd, raw.ptr, raw.len, j->ld->keys.ptr + e->key, &e->oid))
			break;	/* the main thread reads the rest and reports */
	}
done:
	av_buf_dispose(&raw);
	av_store_reader_free(r);
	return NULL;
}

static void load_parallel(loader *ld)
{
	load_job jobs[LOAD_MAX_WORKERS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t k = cpus < 2 ? 1 : cpus > LOAD_MAX_WORKERS ? LOAD_MAX_WORKERS : (size_t)cpus;

	if (ld->n < LOAD_PARALLEL_MIN || k < 2)
		return;
	for (size_t i = 0; i < k; i++) {
		jobs[i] = (load_job){ ld, ld->n * i / k, ld->n * (i + 1) / k, 0, 0 };
		jobs[i].started = !pthread_create(&jobs[i].thread, NULL, load_worker, &jobs[i]);
	}
	for (size_t i = 0; i < k; i++)
		if (jobs[i].started)
			pthread_join(jobs[i].thread, NULL);
}

int av_pkgset_load(av_pkgset **out, av_store *s, const git_oid *list)
{
	loader ld = { .store = s, .keys = AV_BUF_INIT };
	av_pkgset *set = NULL;
	av_plist *l = NULL;
	size_t i = 0;
	int rc;

	*out = NULL;
	if ((rc = av_plist_open(&l, s, list)) || (rc = av_plist_foreach(l, load_collect, &ld)) ||
	    (rc = av_pkgset_new(&set)) || (rc = smap_reserve(&set->bykey, ld.n)) ||
	    (rc = av_array_grow((void **)&set->v, &set->alloc, ld.n, sizeof(node *))))
		goto done;
	load_parallel(&ld);
	for (; i < ld.n && !rc; i++) {
		node *nd = ld.v[i].nd;
		ld.v[i].nd = NULL;
		if (!nd && (rc = load_node(&nd, s, ld.keys.ptr + ld.v[i].key, &ld.v[i].oid)))
			break;
		rc = set_adopt(set, nd, 1);
	}
	if (!rc) {
		*out = set;
		set = NULL;
	}
done:
	for (; i < ld.n; i++)
		if (ld.v[i].nd) {
			ld.v[i].nd->refs = 1;
			node_unref(ld.v[i].nd);
		}
	free(ld.v);
	av_buf_dispose(&ld.keys);
	av_plist_free(l);
	av_pkgset_free(set);
	return rc;
}

/* ---- architectures ------------------------------------------------------------ */

typedef struct archlist {
	const char **v;
	size_t n, alloc;
} archlist;

static int str_qcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int archlist_add(archlist *al, const char *arch)
{
	int rc;

	for (size_t i = 0; i < al->n; i++)
		if (!strcmp(al->v[i], arch))
			return 0;
	if ((rc = av_array_grow((void **)&al->v, &al->alloc, al->n + 1, sizeof(*al->v))))
		return rc;
	al->v[al->n++] = arch;
	return 0;
}

/* aptly's PackageList.Architectures, sorted. */
static int archs_of(const av_pkgset *set, int with_source, archlist *al)
{
	const char *last = "";
	int rc;

	for (size_t i = 0; i < set->n; i++) {
		const char *a = set->v[i]->pkg->arch;
		if (!strcmp(a, last) || !strcmp(a, "all") ||
		    (!with_source && !strcmp(a, "source")))
			continue;
		if ((rc = archlist_add(al, a)))
			return rc;
		last = a;
	}
	if (al->n > 1)
		qsort(al->v, al->n, sizeof(*al->v), str_qcmp);
	return 0;
}

/* The architectures to resolve for: the options', else those of set. */
static int archs_resolve(archlist *al, const av_dep_opts *o, const av_pkgset *set,
			 int with_source)
{
	int rc = 0;

	if (o && o->architectures) {
		for (size_t i = 0; o->architectures[i] && !rc; i++)
			if (!(rc = av_array_grow((void **)&al->v, &al->alloc, al->n + 1,
						 sizeof(*al->v))))
				al->v[al->n++] = o->architectures[i];
		if (!rc && al->n > 1)
			qsort(al->v, al->n, sizeof(*al->v), str_qcmp);
	} else {
		rc = archs_of(set, with_source, al);
	}
	if (!rc && !al->n)
		rc = av_error_set(AV_EINVALID, "cannot tell which architectures to resolve "
				  "dependencies for; list them with --architectures");
	return rc;
}

int av_pkgset_architectures(const av_pkgset *set, const char ***out, size_t *n)
{
	archlist al = { 0 };
	int rc = archs_of(set, 0, &al);

	if (rc) {
		free(al.v);
		al.v = NULL;
		al.n = 0;
	}
	*out = al.v;
	*n = al.n;
	return rc;
}

/* ---- searching ------------------------------------------------------------- */

/* A dependency as resolved for one architecture. */
typedef struct edep {
	const char *name;
	av_relop op;
	const char *version;
	const char *arch;	/* wanted (and shown); NULL: any */
	const char *host;	/* the architecture checked (debian_policy) */
	int wild;		/* ":any" (debian_policy) */
} edep;

enum {
	S_POLICY = 1,		/* dpkg's rules, not aptly's */
	S_PROVIDERS = 2,	/* look at Provides too */
	S_ORDERED = 4,		/* visit in index order (else any order) */
};

static void effective(edep *e, const av_dep *d, const char *arch, int policy)
{
	e->name = d->name;
	e->op = d->op;
	e->version = d->version;
	e->host = arch;
	e->wild = 0;
	e->arch = d->arch ? d->arch : arch;
	if (d->arch && !strcmp(d->arch, "any")) {
		e->wild = policy;
		e->arch = policy ? "any" : arch;
	} else if (policy && d->arch && !strcmp(d->arch, "native")) {
		e->arch = arch;
	}
}

/* dpkg's archsatisfied(), with "native" being the architecture checked. */
static int policy_arch_ok(const node *nd, const edep *d)
{
	const char *a = nd->pkg->arch;

	if (!d->arch || !strcmp(d->arch, "source") || !strcmp(a, "source"))
		return !d->arch || !strcmp(a, d->arch);
	if (nd->multiarch == MA_FOREIGN)
		return 1;
	if (d->wild)
		return nd->multiarch == MA_ALLOWED;
	if (!strcmp(a, "all"))
		a = d->host ? d->host : a;
	return !strcmp(a, d->arch);
}

static int arch_ok(const node *nd, const edep *d, int flags)
{
	if (flags & S_POLICY)
		return policy_arch_ok(nd, d);
	return !d->arch || node_for_arch(nd, d->arch);
}

static int provides_ok(const node *nd, const edep *d, int flags)
{
	for (size_t i = 0; i < nd->nprov; i++) {
		const provide *pv = &nd->prov[i];
		if (strcmp(pv->name, d->name))
			continue;
		if (!(flags & S_POLICY)) {
			if (pv->bare && d->op == AV_REL_NONE)
				return 1;
		} else if (d->op == AV_REL_NONE ||
			   (pv->version && av_version_satisfies(pv->version, d->op, d->version))) {
			return 1;
		}
	}
	return 0;
}

/* >0 from fn stops the search and is returned; <0 is an error. */
typedef int (*visit_fn)(node *nd, void *payload);

static int search(const av_pkgset *set, const edep *d, int flags, visit_fn fn, void *payload)
{
	ixent *e;
	vec *vc;
	int rc;

	if ((rc = index_ensure(set)))
		return rc;
	if (!(e = smap_get(&set->index, d->name)))
		return 0;
	vc = &e->of[IX_NAME];
	if (flags & S_ORDERED)
		vec_sort(vc, IX_NAME);
	for (size_t i = 0; i < vc->n; i++)
		if (arch_ok(vc->v[i], d, flags) &&
		    av_version_satisfies(vc->v[i]->pkg->version, d->op, d->version) &&
		    (rc = fn(vc->v[i], payload)))
			return rc;
	if (!(flags & S_PROVIDERS))
		return 0;
	vc = &e->of[IX_PROV];
	if (flags & S_ORDERED)
		vec_sort(vc, IX_PROV);
	for (size_t i = 0; i < vc->n; i++)
		if (arch_ok(vc->v[i], d, flags) && provides_ok(vc->v[i], d, flags) &&
		    (rc = fn(vc->v[i], payload)))
			return rc;
	return 0;
}

static int found(node *nd, void *payload)
{
	(void)nd;
	(void)payload;
	return 1;
}

/* 1 found, 0 not, <0 error. */
static int exists(const av_pkgset *set, const edep *d, int flags)
{
	return search(set, d, flags | S_PROVIDERS, found, NULL);
}

/* The same in any of several sets (NULL entries skipped): what aptly
 * finds in their union, without building it. */
static int exists_any(const av_pkgset *const *sets, size_t n, const edep *d, int flags)
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++)
		if (sets[i])
			rc = exists(sets[i], d, flags);
	return rc;
}

static int policy_flags(const av_dep_opts *o)
{
	return o && o->debian_policy ? S_POLICY : 0;
}

typedef struct public_search {
	av_pkgset_cb cb;
	void *payload;
} public_search;

static int visit_public(node *nd, void *payload)
{
	public_search *ps = payload;

	return ps->cb(nd->pkg, &nd->blob, ps->payload);
}

int av_pkgset_search(const av_pkgset *set, const av_dep *d, const char *arch,
		     const av_dep_opts *o, av_pkgset_cb cb, void *payload)
{
	public_search ps = { cb, payload };
	edep e;

	effective(&e, d, arch, o && o->debian_policy);
	return search(set, &e, policy_flags(o) | S_PROVIDERS | S_ORDERED, visit_public, &ps);
}

/* ---- checking dependencies --------------------------------------------------- */

/* A missing dependency: aptly's text for it, and what to search. */
typedef struct miss {
	char *text;
	edep d;
	char *store;		/* the strings d points to */
} miss;

typedef struct misslist {
	miss *v;
	size_t n, alloc;
} misslist;

static void miss_dispose(miss *m)
{
	free(m->text);
	free(m->store);
}

static void misslist_truncate(misslist *ml, size_t n)
{
	while (ml->n > n)
		miss_dispose(&ml->v[--ml->n]);
}

static void misslist_dispose(misslist *ml)
{
	misslist_truncate(ml, 0);
	free(ml->v);
	memset(ml, 0, sizeof(*ml));
}

static int edep_format(av_buf *out, const edep *d)
{
	av_dep shown = { (char *)d->name, (char *)d->arch, d->op, (char *)d->version };

	av_buf_clear(out);
	return av_dep_format(out, &shown);
}

static const char *store_str(char **c, const char *s)
{
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	memcpy(*c, s, n);
	*c += n;
	return *c - n;
}

static int misslist_push(misslist *ml, const edep *d, const char *text)
{
	const char *parts[] = { d->name, d->version, d->arch, d->host };
	size_t size = 0;
	miss *m;
	char *c;
	int rc;

	for (size_t i = 0; i < AV_ARRAY_SIZE(parts); i++)
		size += parts[i] ? strlen(parts[i]) + 1 : 0;
	if ((rc = av_array_grow((void **)&ml->v, &ml->alloc, ml->n + 1, sizeof(*ml->v))))
		return rc;
	m = &ml->v[ml->n];
	memset(m, 0, sizeof(*m));
	if (!(m->text = av_strdup(text)) || !(c = m->store = av_malloc(size ? size : 1))) {
		miss_dispose(m);
		return AV_ERROR;
	}
	m->d = *d;
	m->d.name = store_str(&c, d->name);
	m->d.version = store_str(&c, d->version);
	m->d.arch = store_str(&c, d->arch);
	m->d.host = store_str(&c, d->host);
	ml->n++;
	return 0;
}

/*
 * An alternative being checked.  In filter, what is known of it lasts from
 * round to round: found stays found (what satisfies only grows), and one
 * with no candidate in the source can never be found nor pulled, so it
 * cannot change anything and is skipped.
 */
enum { W_UNKNOWN = 0, W_FOUND, W_LIVE, W_DEAD };

typedef struct wvar {
	edep d;
	int state;
} wvar;

typedef struct wgroup {
	wvar *v;		/* one allocation, strings included */
	size_t n;
} wgroup;

/* A package's groups that can still change a later round (filter). */
typedef struct witem {
	node *nd;
	wgroup *g;
	size_t n, alloc;
} witem;

static void witem_free(witem *it)
{
	for (size_t i = 0; it && i < it->n; i++)
		free(it->g[i].v);
	if (it)
		free(it->g);
	free(it);
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static int witem_keep(witem *it, const wvar *v, size_t n)
{
	size_t size = n * sizeof(wvar);
	wvar *copy;
	char *c;
	int rc;

	for (size_t i = 0; i < n; i++)
		size += str_size(v[i].d.name) + str_size(v[i].d.version) +
			str_size(v[i].d.arch) + str_size(v[i].d.host);
	if ((rc = av_array_grow((void **)&it->g, &it->alloc, it->n + 1, sizeof(*it->g))) ||
	    !(copy = av_malloc(size)))
		return rc ? rc : AV_ERROR;
	c = (char *)(copy + n);
	for (size_t i = 0; i < n; i++) {
		copy[i] = v[i];
		copy[i].d.name = store_str(&c, v[i].d.name);
		copy[i].d.version = store_str(&c, v[i].d.version);
		copy[i].d.arch = store_str(&c, v[i].d.arch);
		copy[i].d.host = store_str(&c, v[i].d.host);
	}
	it->g[it->n++] = (wgroup){ copy, n };
	return 0;
}

/* One architecture pass of aptly 1.5's VerifyDependencies. */
typedef struct pass {
	const av_pkgset *const *from;	/* where dependencies are looked for */
	size_t nfrom;
	const av_pkgset *src;	/* filter: the candidates; NULL in verify */
	const av_dep_opts *o;
	const char *arch;
	int flags;
	smap seen;		/* missing alternatives searched in this pass */
	char **keys;		/* its keys */
	size_t nkeys, kalloc;
	misslist *out;
	av_buf text, src_name, src_ver;
	wvar *ev;		/* one group, resolved */
	size_t nev, evalloc;
} pass;

static void pass_reset(pass *ps, const char *arch)
{
	smap_dispose(&ps->seen);
	while (ps->nkeys)
		free(ps->keys[--ps->nkeys]);
	ps->arch = arch;
}

static void pass_dispose(pass *ps)
{
	pass_reset(ps, NULL);
	free(ps->keys);
	av_buf_dispose(&ps->text);
	av_buf_dispose(&ps->src_name);
	av_buf_dispose(&ps->src_ver);
	free(ps->ev);
}

static int pass_see(pass *ps, const char *text)
{
	char *k;
	int rc;

	if ((rc = av_array_grow((void **)&ps->keys, &ps->kalloc, ps->nkeys + 1,
				sizeof(*ps->keys))))
		return rc;
	if (!(k = av_strdup(text)))
		return AV_ERROR;
	ps->keys[ps->nkeys++] = k;
	return smap_put(&ps->seen, k, ps);
}

/* Is w found?  In filter, first learn whether it is worth asking again. */
static int eval_one(pass *ps, wvar *w)
{
	int rc;

	if (w->state == W_FOUND || w->state == W_DEAD)
		return w->state == W_FOUND;
	if ((rc = exists_any(ps->from, ps->nfrom, &w->d, ps->flags)) < 0)
		return rc;
	if (rc) {
		w->state = W_FOUND;
		return 1;
	}
	if (ps->src && w->state == W_UNKNOWN) {
		if ((rc = exists(ps->src, &w->d, ps->flags)) < 0)
			return rc;
		w->state = rc ? W_LIVE : W_DEAD;
	}
	return 0;
}

/*
 * aptly 1.5 on one group of alternatives: they are searched in order; one
 * found ends the group (unless all-variants) and drops what the group had
 * gathered; one missing is gathered unless already searched in this pass.
 * A missing alternative stays remembered even when a later one satisfies
 * its group, so "a | b" with b found hides a missing a from every later
 * package of the pass: aptly then never reports nor pulls a for them.
 * *keep says whether the group can still change a later round.
 */
static int eval_group(pass *ps, wvar *v, size_t n, int *keep)
{
	size_t start = ps->out->n;
	int all = ps->o->follow_all_variants, pending = 0, rc;

	*keep = 0;
	for (size_t i = 0; i < n; i++) {
		if ((rc = eval_one(ps, &v[i])) < 0)
			return rc;
		if (rc) {
			if (all)
				continue;
			misslist_truncate(ps->out, start);
			*keep = pending;
			return 0;
		}
		if (v[i].state == W_DEAD)
			continue;
		pending = 1;
		if ((rc = edep_format(&ps->text, &v[i].d)))
			return rc;
		if (smap_get(&ps->seen, ps->text.ptr))
			continue;
		if ((rc = pass_see(ps, ps->text.ptr)) ||
		    (rc = misslist_push(ps->out, &v[i].d, ps->text.ptr)))
			return rc;
	}
	*keep = pending;
	return 0;
}

/* Check ps->ev; with it, keep the group if it can matter again. */
static int check_alts(pass *ps, witem *it)
{
	int keep, rc;

	if ((rc = eval_group(ps, ps->ev, ps->nev, &keep)) || !keep || !it)
		return rc;
	return witem_keep(it, ps->ev, ps->nev);
}

/* aptly's depSliceDeduplicate, on the alternatives as written. */
static int same_dep(const av_dep *a, const av_dep *b, int policy)
{
	const char *aa = a->arch, *ba = b->arch;

	if (!policy) {	/* aptly reads ":any" as no qualifier */
		aa = aa && !strcmp(aa, "any") ? NULL : aa;
		ba = ba && !strcmp(ba, "any") ? NULL : ba;
	}
	return !strcmp(a->name, b->name) && a->op == b->op &&
	       !strcmp(a->version ? a->version : "", b->version ? b->version : "") &&
	       !strcmp(aa ? aa : "", ba ? ba : "");
}

static int check_deplist(pass *ps, const av_deplist *l, witem *it)
{
	int policy = ps->flags & S_POLICY, rc;

	for (size_t g = 0; g < l->n; g++) {
		const av_dep_alt *alt = &l->v[g];
		ps->nev = 0;
		if ((rc = av_array_grow((void **)&ps->ev, &ps->evalloc, alt->n, sizeof(*ps->ev))))
			return rc;
		for (size_t i = 0; i < alt->n; i++) {
			size_t j;
			for (j = 0; j < i && !same_dep(&alt->alts[j], &alt->alts[i], policy); j++)
				;
			if (j < i)
				continue;
			ps->ev[ps->nev].state = W_UNKNOWN;
			effective(&ps->ev[ps->nev++].d, &alt->alts[i], ps->arch, policy);
		}
		if ((rc = check_alts(ps, it)))
			return rc;
	}
	return 0;
}

/* With follow-source: "SRC (= VER) [source]". */
static int check_source(pass *ps, const node *nd, witem *it)
{
	int rc;

	av_buf_clear(&ps->src_name);
	av_buf_clear(&ps->src_ver);
	if ((rc = av_pkg_source(nd->pkg, &ps->src_name, &ps->src_ver)) ||
	    (rc = av_array_grow((void **)&ps->ev, &ps->evalloc, 1, sizeof(*ps->ev))))
		return rc;
	ps->ev[0] = (wvar){ { .name = ps->src_name.ptr, .op = AV_REL_EQ,
			      .version = ps->src_ver.ptr, .arch = "source", .host = ps->arch },
			    W_UNKNOWN };
	ps->nev = 1;
	return check_alts(ps, it);
}

static int check_node(pass *ps, node *nd, witem *it)
{
	const int follow[NFIELDS] = { 1, 1, ps->o->follow_recommends, ps->o->follow_suggests };
	int rc = 0;

	for (int f = 0; f < NFIELDS && !rc; f++) {
		const av_deplist *l;
		av_deplist *tmp;

		if (!follow[f] || (rc = node_deps(nd, f, ps->arch, &l, &tmp)))
			continue;
		rc = check_deplist(ps, l, it);
		free(tmp);
	}
	if (!rc && ps->o->follow_source)
		rc = check_source(ps, nd, it);
	return rc;
}

/* Missing dependencies of pkgs (in index order) for each architecture,
 * looking for them in the sets of from. */
static int check_all(const node *const *pkgs, size_t n, const archlist *archs,
		     const av_pkgset *const *from, size_t nfrom, const av_dep_opts *o,
		     misslist *out)
{
	pass ps = { .from = from, .nfrom = nfrom, .o = o, .flags = policy_flags(o), .out = out };
	int rc = 0;

	for (size_t a = 0; a < archs->n && !rc; a++) {
		pass_reset(&ps, archs->v[a]);
		for (size_t i = 0; i < n && !rc; i++)
			if (node_for_arch(pkgs[i], ps.arch))
				rc = check_node(&ps, (node *)pkgs[i], NULL);
	}
	pass_dispose(&ps);
	return rc;
}

static int set_in_index_order(nodes *out, const av_pkgset *set)
{
	if (!set->n)
		return 0;
	if (!(out->v = av_malloc(set->n * sizeof(*out->v))))
		return AV_ERROR;
	memcpy(out->v, set->v, set->n * sizeof(*out->v));
	out->n = out->alloc = set->n;
	qsort(out->v, out->n, sizeof(*out->v), index_qcmp);
	return 0;
}

static int miss_qcmp(const void *a, const void *b)
{
	return strcmp(((const miss *)a)->text, ((const miss *)b)->text);
}

int av_deps_verify(const av_pkgset *set, const av_pkgset *const *extra, size_t nextra,
		   const av_dep_opts *o, av_missing_cb cb, void *payload)
{
	av_dep_opts none = { 0 };
	const av_pkgset **from = NULL;
	archlist archs = { 0 };
	nodes order = { 0 };
	misslist ml = { 0 };
	int rc;

	o = o ? o : &none;
	if (!(from = av_calloc(nextra + 1, sizeof(*from)))) {
		rc = AV_ERROR;
		goto done;
	}
	from[0] = set;
	for (size_t i = 0; i < nextra; i++)
		from[i + 1] = extra[i];
	if ((rc = archs_resolve(&archs, o, set, 1)) ||
	    (rc = set_in_index_order(&order, set)) ||
	    (rc = check_all((const node *const *)order.v, order.n, &archs, from, nextra + 1,
			    o, &ml)))
		goto done;
	if (ml.n > 1)
		qsort(ml.v, ml.n, sizeof(*ml.v), miss_qcmp);
	for (size_t i = 0; i < ml.n && !rc; i++)
		rc = cb(ml.v[i].text, payload);
done:
	misslist_dispose(&ml);
	free(order.v);
	free(archs.v);
	free(from);
	return rc;
}

/* ---- filter ----------------------------------------------------------------------- */

typedef int (*pick_fn)(const av_pkg *pkg, void *payload);

/* The packages of one architecture still to re-check, any order. */
typedef struct itemlist {
	witem **v;
	size_t n, alloc;
} itemlist;

typedef struct resolver {
	const av_pkgset *src;	/* candidates */
	const av_pkgset *from[2];	/* what satisfies: result, have */
	av_pkgset *result;
	nodes added;		/* this round's additions */
	itemlist *items;	/* per architecture */
	int all_variants;
	int flags;
} resolver;

static int take(node *nd, void *payload)
{
	resolver *r = payload;
	int rc;

	if ((rc = set_insert(r->result, nd, 0)))
		return rc > 0 ? 0 : rc;	/* 1: it was there already */
	if ((rc = nodes_push(&r->added, nd)))
		return rc;
	return !r->all_variants;
}

/* aptly's Filter, for one missing dependency. */
static int satisfy(resolver *r, const edep *d)
{
	int rc;

	if (!r->all_variants && (rc = exists(r->result, d, r->flags)))
		return rc < 0 ? rc : 0;
	rc = search(r->src, d, r->flags | S_PROVIDERS | S_ORDERED, take, r);
	return rc < 0 ? rc : 0;
}

typedef struct round_entry {
	node *nd;
	witem *it;		/* NULL: checked for the first time */
} round_entry;

static int round_entry_qcmp(const void *a, const void *b)
{
	return index_cmp(((const round_entry *)a)->nd, ((const round_entry *)b)->nd);
}

/* Re-check the groups an earlier round kept; drop those settled. */
static int recheck(pass *ps, witem *it)
{
	size_t k = 0;
	int keep, rc = 0;

	for (size_t g = 0; g < it->n; g++) {
		if (!rc)
			rc = eval_group(ps, it->g[g].v, it->g[g].n, &keep);
		if (!rc && keep)
			it->g[k++] = it->g[g];
		else
			free(it->g[g].v);
	}
	it->n = k;
	return rc;
}

static int round_entry_check(pass *ps, round_entry *e, itemlist *il)
{
	witem *it = e->it;
	int rc;

	e->it = NULL;
	if (it)
		rc = recheck(ps, it);
	else if (!(it = av_calloc(1, sizeof(*it))))
		return AV_ERROR;
	else {
		it->nd = e->nd;
		rc = check_node(ps, e->nd, it);
	}
	if (!rc && it->n &&
	    !(rc = av_array_grow((void **)&il->v, &il->alloc, il->n + 1, sizeof(*il->v)))) {
		il->v[il->n++] = it;
		return 0;
	}
	witem_free(it);
	return rc;
}

/*
 * One architecture pass of a round, in index order over the packages it
 * can matter for: those added by the last round, and those kept from
 * earlier ones.  The others would only search dependencies already
 * found, or ones nothing can provide, which changes nothing.
 */
static int round_arch(pass *ps, itemlist *il, const nodes *fresh)
{
	round_entry *e = av_malloc((il->n + fresh->n + 1) * sizeof(*e));
	size_t n = 0;
	int rc = 0;

	if (!e)
		return AV_ERROR;
	for (size_t i = 0; i < il->n; i++)
		e[n++] = (round_entry){ il->v[i]->nd, il->v[i] };
	for (size_t i = 0; i < fresh->n; i++)
		if (node_for_arch(fresh->v[i], ps->arch))
			e[n++] = (round_entry){ fresh->v[i], NULL };
	qsort(e, n, sizeof(*e), round_entry_qcmp);
	il->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			rc = round_entry_check(ps, &e[i], il);
		witem_free(e[i].it);
	}
	free(e);
	return rc;
}

/*
 * aptly re-verifies the whole result after each round of additions and
 * pulls what is missing; this is the same walk, restricted to what can
 * still change (see round_arch).
 */
static int resolve_rounds(resolver *r, const archlist *archs, const av_dep_opts *o)
{
	pass ps = { .from = r->from, .nfrom = 2, .src = r->src, .o = o, .flags = r->flags };
	nodes round = { 0 };
	misslist ml = { 0 };
	int rc = 0;

	ps.out = &ml;
	while (r->added.n && !rc) {
		nodes t = round;
		round = r->added;	/* what the last round added */
		r->added = t;
		r->added.n = 0;
		for (size_t a = 0; a < archs->n && !rc; a++) {
			pass_reset(&ps, archs->v[a]);
			rc = round_arch(&ps, &r->items[a], &round);
		}
		for (size_t i = 0; i < ml.n && !rc; i++)
			rc = satisfy(r, &ml.v[i].d);
		misslist_truncate(&ml, 0);
	}
	pass_dispose(&ps);
	misslist_dispose(&ml);
	free(round.v);
	return rc;
}

static int filter_core(const av_pkgset *src, pick_fn pick, void *pp, const char *const *names,
		       size_t nnames, int with_deps, const av_pkgset *have, const av_dep_opts *o,
		       const archlist *archs, av_pkgset *result)
{
	resolver r = { .src = src, .from = { result, have }, .result = result,
		       .flags = policy_flags(o), .all_variants = o->follow_all_variants };
	int rc = 0;

	if (names) {	/* only packages of these names can match */
		if ((rc = index_ensure(src)))
			return rc;
		for (size_t k = 0; k < nnames && !rc; k++) {
			const ixent *e = smap_get(&src->index, names[k]);
			const vec *vc = e ? &e->of[IX_NAME] : NULL;

			for (size_t i = 0; vc && i < vc->n && !rc; i++)
				if (pick(vc->v[i]->pkg, pp) &&
				    (rc = set_insert(result, vc->v[i], 1)) > 0)
					rc = 0;
		}
	}
	for (size_t i = 0; !names && i < src->n && !rc; i++)
		if (pick(src->v[i]->pkg, pp) &&
		    (rc = set_insert(result, src->v[i], 1)) > 0)
			rc = 0;
	if (rc || !with_deps || !result->n)
		return rc;
	if (!(r.items = av_calloc(archs->n + 1, sizeof(*r.items))) ||
	    av_array_grow((void **)&r.added.v, &r.added.alloc, result->n, sizeof(node *))) {
		rc = AV_ERROR;
	} else {
		memcpy(r.added.v, result->v, result->n * sizeof(node *));
		r.added.n = result->n;
		rc = resolve_rounds(&r, archs, o);
	}
	for (size_t a = 0; r.items && a < archs->n; a++) {
		for (size_t i = 0; i < r.items[a].n; i++)
			witem_free(r.items[a].v[i]);
		free(r.items[a].v);
	}
	free(r.items);
	free(r.added.v);
	return rc;
}

static int pick_query(const av_pkg *pkg, void *payload)
{
	return !payload || av_query_match(payload, pkg);
}

static int set_copy_into(av_pkgset *out, const av_pkgset *in, int replace)
{
	int rc;

	if ((rc = smap_reserve(&out->bykey, out->n + in->n)) ||
	    (rc = av_array_grow((void **)&out->v, &out->alloc, out->n + in->n, sizeof(node *))))
		return rc;
	for (size_t i = 0; i < in->n && rc >= 0; i++)
		rc = set_insert(out, in->v[i], replace);
	return rc < 0 ? rc : 0;
}

/* Hand what in holds to out: a swap when out is empty. */
static int set_move_into(av_pkgset *out, av_pkgset *in)
{
	av_pkgset t;

	if (out->n)
		return set_copy_into(out, in, 1);
	t = *out;
	*out = *in;
	*in = t;
	return 0;
}

int av_deps_filter(const av_pkgset *src, const av_query *q, int with_deps,
		   const av_pkgset *have, const av_dep_opts *o, av_pkgset *out)
{
	av_dep_opts none = { 0 };
	av_pkgset *result = NULL;
	archlist archs = { 0 };
	const char **names = NULL;
	size_t nnames = 0;
	int rc;

	o = o ? o : &none;
	if ((q && (rc = av_query_names(q, &names, &nnames)) < 0) ||
	    (with_deps && (rc = archs_resolve(&archs, o, src, 0))) ||
	    (rc = av_pkgset_new(&result)) ||
	    (rc = filter_core(src, pick_query, (void *)q, names, nnames, with_deps, have, o,
			      &archs, result)))
		goto done;
	rc = set_move_into(out, result);
done:
	av_pkgset_free(result);
	free(names);
	free(archs.v);
	return rc;
}

/* ---- pull --------------------------------------------------------------------------- */

typedef struct pull_pick {
	const av_query *const *q;
	size_t nq;
	const archlist *archs;
} pull_pick;

/* A query, and aptly's "$Architecture (= A1) | ... | $Architecture (= "")". */
static int pick_pull(const av_pkg *pkg, void *payload)
{
	const pull_pick *pp = payload;
	size_t i;

	for (i = 0; i < pp->archs->n && strcmp(pkg->arch, pp->archs->v[i]); i++)
		;
	if (i == pp->archs->n && strcmp(pkg->arch, "all"))
		return 0;
	for (i = 0; i < pp->nq; i++)
		if (av_query_match(pp->q[i], pkg))
			return 1;
	return 0;
}

static int collect(node *nd, void *payload)
{
	return nodes_push(payload, nd);
}

/* Applying a pull to out, a copy of the destination. */
typedef struct puller {
	av_pkgset *out;
	const av_pkgset *dst;
	av_pkgset *pulled;	/* what was added to out so far */
	nodes hit;
} puller;

/*
 * Remove what a pulled package replaces: whatever matches "name [arch]"
 * (providers too in aptly 1.5), among the packages out still holds.  They
 * come from the destination or from earlier pulls, so searching those two
 * indexes spares indexing out.
 */
static int remove_replaced(puller *pl, const node *nd, int flags)
{
	edep d = { .name = nd->pkg->name, .arch = nd->pkg->arch };
	const av_pkgset *where[] = { pl->dst, pl->pulled };
	int rc = 0;

	if (!(flags & S_POLICY))
		flags |= S_PROVIDERS;
	pl->hit.n = 0;
	for (size_t i = 0; i < AV_ARRAY_SIZE(where) && !rc; i++)
		rc = search(where[i], &d, flags & ~S_POLICY, collect, &pl->hit);
	for (size_t i = 0; i < pl->hit.n && !rc; i++) {
		long at = set_find(pl->out, pl->hit.v[i]->key);
		if (at >= 0 && pl->out->v[at] == pl->hit.v[i])
			set_delete(pl->out, (size_t)at);
	}
	return rc;
}

static int pull_add(puller *pl, node *nd)
{
	int rc = set_insert(pl->out, nd, 0);

	if (rc)		/* the key is there already: kept, as aptly does */
		return rc < 0 ? rc : 0;
	rc = set_insert(pl->pulled, nd, 1);
	return rc < 0 ? rc : 0;
}

/* Walk the filtered packages in index order, as aptly's pull does. */
static int pull_apply(puller *pl, const av_pkgset *result, const av_pull_opts *o)
{
	nodes order = { 0 };
	smap seen = { 0 };
	av_buf key = AV_BUF_INIT;
	char **owned = NULL;
	size_t nowned = 0, oalloc = 0;
	int rc;

	if ((rc = set_in_index_order(&order, result)))
		goto done;
	for (size_t i = 0; i < order.n && !rc; i++) {
		node *nd = order.v[i];
		int was;

		av_buf_clear(&key);
		if ((rc = av_buf_printf(&key, "%s_%s", nd->pkg->arch, nd->pkg->name)))
			break;
		was = smap_get(&seen, key.ptr) != NULL;
		if (!o->no_remove && !was &&
		    (rc = remove_replaced(pl, nd, policy_flags(&o->deps))))
			break;
		if ((!was || o->all_matches) && (rc = pull_add(pl, nd)))
			break;
		if (!was &&
		    !(rc = av_array_grow((void **)&owned, &oalloc, nowned + 1, sizeof(*owned)))) {
			owned[nowned++] = av_buf_detach(&key);
			rc = smap_put(&seen, owned[nowned - 1], nd);
		}
	}
done:
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	smap_dispose(&seen);
	av_buf_dispose(&key);
	free(order.v);
	return rc;
}

/* Into diff, the packages of a that b lacks or holds with another blob. */
static int set_diff(av_pkgset *diff, const av_pkgset *a, const av_pkgset *b)
{
	int rc;

	for (size_t i = 0; diff && i < a->n; i++) {
		const node *nd = a->v[i];
		long at = set_find(b, nd->key);
		if (at >= 0 && (b->v[at] == nd || (!git_oid_is_zero(&nd->blob) &&
						   !git_oid_cmp(&nd->blob, &b->v[at]->blob))))
			continue;
		if ((rc = set_insert(diff, a->v[i], 1)) < 0)
			return rc;
	}
	return 0;
}

int av_deps_pull(const av_pkgset *dst, const av_pkgset *src, const av_query *const *queries,
		 size_t nqueries, const av_pull_opts *o, av_pkgset *out,
		 av_pkgset *added, av_pkgset *removed)
{
	av_pkgset *result = NULL;
	archlist archs = { 0 };
	pull_pick pp = { queries, nqueries, &archs };
	puller pl = { .out = out, .dst = dst };
	int rc;

	if ((rc = archs_resolve(&archs, &o->deps, dst, 0)) ||
	    (rc = av_pkgset_new(&result)) || (rc = av_pkgset_new(&pl.pulled)) ||
	    (rc = filter_core(src, pick_pull, &pp, NULL, 0, !o->no_deps, dst, &o->deps, &archs,
			      result)) ||
	    (rc = set_copy_into(out, dst, 1)) || (rc = pull_apply(&pl, result, o)) ||
	    (rc = set_diff(added, out, dst)))
		goto done;
	rc = set_diff(removed, dst, out);
done:
	free(pl.hit.v);
	av_pkgset_free(pl.pulled);
	av_pkgset_free(result);
	free(archs.v);
	return rc;
}
