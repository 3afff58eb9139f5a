/*
 * deb822.h - control stanzas: Packages, Sources, Release, .dsc, .changes,
 * DEBIAN/control.
 *
 * A stanza is an ordered list of (name, value) fields.  Names compare
 * case-insensitively.  A value is stored as written after "Name:", with
 * the first line's leading blanks removed and continuation lines kept
 * verbatim (their leading space included) joined by '\n'.  A value whose
 * first line is empty (Files:, Checksums-*:) starts with '\n'.  Writing a
 * stanza back gives the same text, so a parse/write round trip is exact
 * for well-formed input.
 *
 * Every field, stanza and field count is capped (av_deb822_limits):
 * hostile input fails with AV_EINVALID and a "line N: ..." message.
 */
#ifndef AV_DEB822_H
#define AV_DEB822_H

#include <stddef.h>
#include "buf.h"

typedef struct av_field {
	char *name;
	char *value;
} av_field;

typedef struct av_stanza {
	av_field *fields;
	size_t count;
	size_t alloc;
	char *block;		/* when set, every name and value points into it */
} av_stanza;

typedef struct av_deb822_limits {
	size_t max_field;	/* bytes in one value */
	size_t max_stanza;	/* bytes in one stanza */
	size_t max_fields;	/* fields in one stanza */
} av_deb822_limits;

/* 1 MiB per field, 4 MiB per stanza, 512 fields. */
extern const av_deb822_limits av_deb822_default_limits;

int av_stanza_new(av_stanza **out);
void av_stanza_free(av_stanza *s);
int av_stanza_dup(av_stanza **out, const av_stanza *s);

/* The value of a field (case-insensitive name) or NULL. Borrowed. */
const char *av_stanza_get(const av_stanza *s, const char *name);
/* Replace the value in place if present, else append. */
int av_stanza_set(av_stanza *s, const char *name, const char *value);
/* 0 if removed, AV_ENOTFOUND if absent. */
int av_stanza_del(av_stanza *s, const char *name);

/* Append the stanza's text ("Name: value\n" per field, no blank line). */
int av_stanza_write(av_buf *out, const av_stanza *s);

typedef enum av_stanza_kind {
	AV_STANZA_BINARY,	/* Packages index / DEBIAN/control */
	AV_STANZA_SOURCE,	/* Sources index */
} av_stanza_kind;

/* Put fields in the canonical order apt and dpkg-scanpackages use for
 * that kind; unknown fields follow the known ones in their original
 * order. */
int av_stanza_sort_canonical(av_stanza *s, av_stanza_kind kind);

typedef struct av_deb822_reader av_deb822_reader;

/* The reader borrows data for its lifetime. lim NULL = defaults.
 * Comment lines ('#' in column 0) are skipped. */
int av_deb822_reader_new(av_deb822_reader **out, const char *data, size_t len,
			 const av_deb822_limits *lim);
/* 1 and *out set: a stanza; 0: end of input; <0: error. */
int av_deb822_next(av_deb822_reader *r, av_stanza **out);
void av_deb822_reader_free(av_deb822_reader *r);

/* Exactly one stanza (a control file, a .dsc body); AV_EINVALID if the
 * input holds none or more than one. */
int av_deb822_parse_one(av_stanza **out, const char *data, size_t len);

/* Exactly one stanza as av_stanza_write writes it ("Name: value" lines,
 * continuation lines starting with a space or tab, nothing else), read
 * into one block.  1 and *out set; 0 when the text is not in that form
 * (parse it with av_deb822_parse_one, which also says what is wrong);
 * <0 on error.  The stored packages are in this form: loading a list of
 * 60,000 is two allocations per package instead of two per field. */
int av_deb822_parse_canonical(av_stanza **out, const char *data, size_t len);

/*
 * If data is an OpenPGP clearsigned message, put its dash-unescaped body
 * in out and set *was_signed = 1; otherwise copy data and set it to 0.
 * Malformed armor (BEGIN without SIGNATURE, ...) is AV_EINVALID.
 */
int av_deb822_unsign(av_buf *out, const char *data, size_t len, int *was_signed);

/*
 * Iterate over the lines of a multi-line value such as Files or
 * Checksums-Sha256 (" md5 size name" per line), skipping the empty first
 * line.  Returns 1 with the line's bounds, 0 at the end.
 */
int av_deb822_next_line(const char **cursor, const char **line, size_t *len);

#endif
