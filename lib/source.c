/* source.c - .dsc and .changes files and the files they list (see source.h). */
#include <stdio.h>
#include <inttypes.h>
#include <strings.h>
#include <sys/stat.h>
#include "aptvault/source.h"
#include "aptvault/sign.h"
#include "aptvault/file.h"
#include "aptvault/version.h"
#include "internal.h"

#define CONTROL_MAX ((size_t)4 << 20)
#define NAME_MAX_LEN 255

/* The checksum fields, weakest first; Files carries the MD5s. */
enum { H_MD5, H_SHA1, H_SHA256, H_SHA512, H_COUNT };

static const struct {
	const char *field;
	const char *label;
	size_t hexlen;
} hashes[H_COUNT] = {
	{ "Files", "MD5", 32 },
	{ "Checksums-Sha1", "SHA1", 40 },
	{ "Checksums-Sha256", "SHA256", 64 },
	{ "Checksums-Sha512", "SHA512", 128 },
};

static const char *digest_of(const av_digests *d, int k)
{
	switch (k) {
	case H_MD5: return d->md5;
	case H_SHA1: return d->sha1;
	case H_SHA256: return d->sha256;
	default: return d->sha512;
	}
}

/* ---- what a control file lists ---------------------------------------- */

typedef struct listed {
	char *name;
	uint64_t size;
	char *hash[H_COUNT];	/* as listed; NULL when not */
} listed;

typedef struct listing {
	listed *v;
	size_t n, alloc;
	const char *ctl;	/* the control file, for messages */
	int changes;		/* Files has section and priority */
} listing;

static void listing_dispose(listing *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		for (int k = 0; k < H_COUNT; k++)
			free(l->v[i].hash[k]);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

static listed *listing_find(const listing *l, const char *name, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i].name) == len && !memcmp(l->v[i].name, name, len))
			return &l->v[i];
	return NULL;
}

typedef struct token {
	const char *p;
	size_t n;
} token;

/* Split a line on blanks into at most max tokens; returns the count, or
 * max + 1 if there are more. */
static size_t split(const char *line, size_t len, token *tok, size_t max)
{
	const char *p = line, *end = line + len;
	size_t n = 0;

	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			return n;
		if (n == max)
			return max + 1;
		tok[n].p = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		tok[n].n = (size_t)(p - tok[n].p);
		n++;
	}
}

static int is_hex(const token *t, size_t want)
{
	if (t->n != want)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (!strchr("0123456789abcdefABCDEF", t->p[i]))
			return 0;
	return 1;
}

static int parse_size(const token *t, uint64_t *out)
{
	uint64_t v = 0;

	if (!t->n || t->n > 20)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		unsigned d = (unsigned)(t->p[i] - '0');
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A listed name is a plain file in the control file's directory. */
static int check_name(const listing *l, const token *t)
{
	if (!t->n || t->n > NAME_MAX_LEN)
		return av_error_set(AV_EINVALID, "'%s': listed file name of %zu bytes",
				    l->ctl, t->n);
	if (memchr(t->p, '/', t->n) || t->p[0] == '.')
		return av_error_set(AV_EINVALID, "'%s': unsafe file name '%.*s' "
				    "(contains '/' or starts with '.')",
				    l->ctl, (int)t->n, t->p);
	for (size_t i = 0; i < t->n; i++)
		if ((unsigned char)t->p[i] < 0x20 || t->p[i] == 0x7f)
			return av_error_set(AV_EINVALID, "'%s': control character in "
					    "listed file name", l->ctl);
	return 0;
}

static int add_listed(listing *l, const token *name, uint64_t size, listed **out)
{
	listed *e;
	int rc;

	if ((rc = av_array_grow((void **)&l->v, &l->alloc, l->n + 1, sizeof(*l->v))))
		return rc;
	e = &l->v[l->n];
	memset(e, 0, sizeof(*e));
	if (!(e->name = av_strndup(name->p, name->n)))
		return AV_ERROR;
	e->size = size;
	l->n++;
	*out = e;
	return 0;
}

/* Find (Files: create) the entry a line of field k describes. */
static int entry_for(listing *l, int k, const token *name, uint64_t size,
		     listed **out)
{
	listed *e = listing_find(l, name->p, name->n);

	if (e && e->hash[k])
		return av_error_set(AV_EINVALID, "'%s': '%s' is listed twice in %s",
				    l->ctl, e->name, hashes[k].field);
	if (!e && k != H_MD5)
		return av_error_set(AV_EINVALID, "'%s': '%.*s' is listed in %s but "
				    "not in Files", l->ctl, (int)name->n, name->p,
				    hashes[k].field);
	if (e && e->size != size)
		return av_error_set(AV_EINVALID, "'%s': '%s' has size %" PRIu64
				    " in Files but %" PRIu64 " in %s", l->ctl,
				    e->name, e->size, size, hashes[k].field);
	if (e) {
		*out = e;
		return 0;
	}
	return add_listed(l, name, size, out);
}

static int parse_line(listing *l, int k, const char *line, size_t len)
{
	size_t want = (k == H_MD5 && l->changes) ? 5 : 3;
	token tok[5];
	uint64_t size;
	listed *e = NULL;
	int rc;

	if (split(line, len, tok, 5) != want)
		return av_error_set(AV_EINVALID, "'%s': malformed line in %s: '%.*s'",
				    l->ctl, hashes[k].field, (int)(len > 200 ? 200 : len),
				    line);
	if ((rc = check_name(l, &tok[want - 1])))
		return rc;
	if (!is_hex(&tok[0], hashes[k].hexlen))
		return av_error_set(AV_EINVALID, "'%s': bad %s '%.*s' for '%.*s'",
				    l->ctl, hashes[k].label, (int)(tok[0].n > 200 ? 200 : tok[0].n),
				    tok[0].p, (int)tok[want - 1].n, tok[want - 1].p);
	if (parse_size(&tok[1], &size))
		return av_error_set(AV_EINVALID, "'%s': bad size '%.*s' for '%.*s'",
				    l->ctl, (int)(tok[1].n > 30 ? 30 : tok[1].n), tok[1].p,
				    (int)tok[want - 1].n, tok[want - 1].p);
	if ((rc = entry_for(l, k, &tok[want - 1], size, &e)))
		return rc;
	if (!(e->hash[k] = av_strndup(tok[0].p, tok[0].n)))
		return AV_ERROR;
	return 0;
}

static int listing_parse(listing *l, const av_stanza *s)
{
	for (int k = 0; k < H_COUNT; k++) {
		const char *cursor = av_stanza_get(s, hashes[k].field), *line;
		size_t len;
		int rc;

		if (!cursor)
			continue;
		while (av_deb822_next_line(&cursor, &line, &len))
			if ((rc = parse_line(l, k, line, len)))
				return rc;
	}
	if (!l->n)
		return av_error_set(AV_EINVALID, "'%s': Files lists no file", l->ctl);
	return 0;
}

/* ---- checking the listed files ----------------------------------------- */

static int check_size(const listing *l, const listed *e, uint64_t size)
{
	if (size != e->size)
		return av_error_set(AV_EINVALID, "'%s': '%s' has size %" PRIu64
				    ", expected %" PRIu64, l->ctl, e->name,
				    size, e->size);
	return 0;
}

static int check_digests(const listing *l, const listed *e, const av_digests *d)
{
	int rc;

	if ((rc = check_size(l, e, d->size)))
		return rc;
	for (int k = H_COUNT - 1; k >= 0; k--)
		if (e->hash[k] && strcasecmp(e->hash[k], digest_of(d, k)))
			return av_error_set(AV_EINVALID, "'%s': '%s' has %s %s, "
					    "expected %s", l->ctl, e->name,
					    hashes[k].label, digest_of(d, k), e->hash[k]);
	return 0;
}

static int verify_one(av_source_file *f, const listing *l, const listed *e,
		      const char *dir)
{
	struct stat st;
	av_buf path = AV_BUF_INIT;
	int rc;

	if ((rc = av_buf_printf(&path, "%s/%s", dir, e->name)))
		goto done;
	if (stat(path.ptr, &st) < 0) {
		rc = errno == ENOENT ?
			av_error_set(AV_ENOTFOUND, "'%s': listed file '%s' is missing",
				     l->ctl, e->name) :
			av_error_set_errno(AV_EIO, errno, "'%s': cannot stat '%s'",
					   l->ctl, path.ptr);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = av_error_set(AV_EINVALID, "'%s': listed file '%s' is not a "
				  "regular file", l->ctl, e->name);
		goto done;
	}
	/* a wrong size fails before reading the file */
	if ((rc = check_size(l, e, (uint64_t)st.st_size)) ||
	    (rc = av_digests_file(&f->digests, path.ptr)) ||
	    (rc = check_digests(l, e, &f->digests)))
		goto done;
	if (!(f->name = av_strdup(e->name))) {
		rc = AV_ERROR;
		goto done;
	}
	f->path = av_buf_detach(&path);
	rc = f->path ? 0 : AV_ERROR;
done:
	av_buf_dispose(&path);
	return rc;
}

static void files_free(av_source_file *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++) {
		free(files[i].name);
		free(files[i].path);
	}
	free(files);
}

/* Verify every listed file into files[first..] (zeroed); *nfiles counts
 * the entries touched, so the caller frees them also on failure. */
static int verify_all(av_source_file *files, size_t first, size_t *nfiles,
		      const listing *l, const char *dir)
{
	int rc;

	for (size_t i = 0; i < l->n; i++) {
		*nfiles = first + i + 1;
		if ((rc = verify_one(&files[first + i], l, &l->v[i], dir)))
			return rc;
	}
	return 0;
}

/* ---- reading the control file ------------------------------------------ */

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return av_strdup(".");
	if (slash == path)
		return av_strdup("/");
	return av_strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The body of raw: verified against keyring when given, else unsigned. */
static int control_body(av_buf *body, const av_buf *raw, const char *keyring,
			int *was_signed)
{
	int rc;

	if (!keyring)
		return av_deb822_unsign(body, raw->ptr, raw->len, was_signed);
	if ((rc = av_sign_verify_clear(raw->ptr, raw->len, keyring, body, NULL)))
		return rc;
	*was_signed = 1;
	return 0;
}

static int require(const av_stanza *s, const char *ctl, const char *const *names)
{
	for (; *names; names++) {
		const char *v = av_stanza_get(s, *names);

		if (!v || !*v)
			return av_error_set(AV_EINVALID, "'%s': missing required "
					    "field '%s'", ctl, *names);
	}
	return 0;
}

/* Policy 5.6.1: [a-z0-9][a-z0-9+.-]+; it becomes a pool path component.
 * A .changes may say "name (version)". */
static int check_source(const av_stanza *s, const char *ctl)
{
	const char *name = av_stanza_get(s, "Source");
	size_t n = strcspn(name, " \t");

	if (n < 2 || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", name[0]) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789+.-") != n)
		return av_error_set(AV_EINVALID, "'%s': bad source package name '%.*s'",
				    ctl, (int)(n > 100 ? 100 : n), name);
	if (av_version_check(av_stanza_get(s, "Version")))
		return av_error_wrap(AV_EINVALID, "'%s': bad version", ctl);
	return 0;
}

static int read_control(av_stanza **out, av_buf *raw, const char *path,
			const char *keyring, int *was_signed)
{
	av_buf body = AV_BUF_INIT;
	int rc;

	*out = NULL;
	if ((rc = av_file_read(raw, path, CONTROL_MAX)))
		goto done;
	if ((rc = control_body(&body, raw, keyring, was_signed)) ||
	    (rc = av_deb822_parse_one(out, body.ptr, body.len)))
		av_error_wrap(rc, "'%s'", path);
done:
	av_buf_dispose(&body);
	return rc;
}

/* ---- .dsc -------------------------------------------------------------- */

static int set_file_lists(av_stanza *s, const av_source_file *files, size_t n)
{
	av_buf v = AV_BUF_INIT;
	int rc = 0;

	for (int k = 0; k < H_COUNT && !rc; k++) {
		av_buf_clear(&v);
		for (size_t i = 0; i < n && !rc; i++)
			rc = av_buf_printf(&v, "\n %s %" PRIu64 " %s",
					   digest_of(&files[i].digests, k),
					   files[i].digests.size, files[i].name);
		if (!rc)
			rc = av_stanza_set(s, hashes[k].field, v.ptr);
	}
	av_buf_dispose(&v);
	return rc;
}

/* The Sources stanza: Source becomes Package, the lists gain the .dsc. */
static int sources_stanza(av_stanza **out, const av_stanza *dsc,
			  const av_source_file *files, size_t n)
{
	av_stanza *s = NULL;
	char *name = NULL;
	int rc;

	*out = NULL;
	if ((rc = av_stanza_dup(&s, dsc)))
		goto done;
	if (!(name = av_strdup(av_stanza_get(dsc, "Source")))) {
		rc = AV_ERROR;
		goto done;
	}
	av_stanza_del(s, "Source");
	if ((rc = av_stanza_set(s, "Package", name)) ||
	    (rc = set_file_lists(s, files, n)) ||
	    (rc = av_stanza_sort_canonical(s, AV_STANZA_SOURCE)))
		goto done;
	*out = s;
	s = NULL;
done:
	free(name);
	av_stanza_free(s);
	return rc;
}

static int dsc_self(av_source_file *f, const char *path, const av_buf *raw)
{
	int rc;

	if ((rc = av_digests_mem(&f->digests, raw->ptr, raw->len)))
		return rc;
	if (!(f->name = av_strdup(base_of(path))) || !(f->path = av_strdup(path)))
		return AV_ERROR;
	return 0;
}

int av_dsc_read(av_dsc_info **out, const char *path, const char *keyring)
{
	static const char *const required[] = {
		"Format", "Source", "Version", "Files", NULL
	};
	av_buf raw = AV_BUF_INIT;
	av_stanza *dsc = NULL;
	av_dsc_info *info = NULL;
	listing l = { .ctl = path };
	char *dir = NULL;
	int rc;

	*out = NULL;
	if (!(info = av_calloc(1, sizeof(*info))) || !(dir = dir_of(path))) {
		rc = AV_ERROR;
		goto done;
	}
	if ((rc = read_control(&dsc, &raw, path, keyring, &info->was_signed)) ||
	    (rc = require(dsc, path, required)) || (rc = check_source(dsc, path)) ||
	    (rc = listing_parse(&l, dsc)))
		goto done;
	if (!(info->files = av_calloc(l.n + 1, sizeof(*info->files)))) {
		rc = AV_ERROR;
		goto done;
	}
	info->nfiles = 1;
	if ((rc = dsc_self(&info->files[0], path, &raw)) ||
	    (rc = verify_all(info->files, 1, &info->nfiles, &l, dir)) ||
	    (rc = sources_stanza(&info->stanza, dsc, info->files, info->nfiles)))
		goto done;
	*out = info;
	info = NULL;
done:
	av_dsc_info_free(info);
	listing_dispose(&l);
	av_stanza_free(dsc);
	av_buf_dispose(&raw);
	free(dir);
	return rc;
}

void av_dsc_info_free(av_dsc_info *info)
{
	if (!info)
		return;
	av_stanza_free(info->stanza);
	files_free(info->files, info->nfiles);
	free(info);
}

/* ---- .changes ---------------------------------------------------------- */

/* Which keyring the .changes is read with (NULL: none), per the policy. */
static int changes_policy(const char **keyring, const av_buf *raw,
			  const char *path, const av_changes_opts *opts)
{
	av_buf body = AV_BUF_INIT;
	int was_signed = 0, rc;

	*keyring = NULL;
	if (opts->ignore_signatures)
		return 0;
	rc = av_deb822_unsign(&body, raw->ptr, raw->len, &was_signed);
	av_buf_dispose(&body);
	if (rc)
		return av_error_wrap(rc, "'%s'", path);
	if (was_signed && !opts->keyring)
		return av_error_set(AV_ESIGNATURE, "no keyring given to verify '%s'; "
				    "pass --keyring or --ignore-signatures", path);
	if (!was_signed && !opts->accept_unsigned)
		return av_error_set(AV_ESIGNATURE, "'%s' is not signed; pass "
				    "--accept-unsigned or --ignore-signatures", path);
	*keyring = was_signed ? opts->keyring : NULL;
	return 0;
}

static int read_changes(av_stanza **out, av_buf *raw, const char *path,
			const av_changes_opts *opts, int *was_signed)
{
	const char *keyring = NULL;
	av_buf body = AV_BUF_INIT;
	int rc;

	*out = NULL;
	if ((rc = av_file_read(raw, path, CONTROL_MAX)) ||
	    (rc = changes_policy(&keyring, raw, path, opts)))
		goto done;
	if ((rc = control_body(&body, raw, keyring, was_signed)) ||
	    (rc = av_deb822_parse_one(out, body.ptr, body.len)))
		av_error_wrap(rc, "'%s'", path);
done:
	av_buf_dispose(&body);
	return rc;
}

int av_changes_read(av_changes_info **out, const char *path,
		    const av_changes_opts *opts)
{
	static const char *const required[] = {
		"Source", "Version", "Architecture", "Files", NULL
	};
	static const av_changes_opts defaults;
	av_buf raw = AV_BUF_INIT;
	av_changes_info *info = NULL;
	listing l = { .ctl = path, .changes = 1 };
	char *dir = NULL;
	int rc;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (!(info = av_calloc(1, sizeof(*info))) || !(dir = dir_of(path))) {
		rc = AV_ERROR;
		goto done;
	}
	if ((rc = read_changes(&info->stanza, &raw, path, opts, &info->was_signed)) ||
	    (rc = require(info->stanza, path, required)) ||
	    (rc = check_source(info->stanza, path)) || (rc = listing_parse(&l, info->stanza)))
		goto done;
	if (!(info->files = av_calloc(l.n, sizeof(*info->files)))) {
		rc = AV_ERROR;
		goto done;
	}
	if ((rc = verify_all(info->files, 0, &info->nfiles, &l, dir)))
		goto done;
	*out = info;
	info = NULL;
done:
	av_changes_info_free(info);
	listing_dispose(&l);
	av_buf_dispose(&raw);
	free(dir);
	return rc;
}

void av_changes_info_free(av_changes_info *info)
{
	if (!info)
		return;
	av_stanza_free(info->stanza);
	files_free(info->files, info->nfiles);
	free(info);
}
