/*
 * version.h - Debian version comparison, exactly as dpkg does it.
 *
 * [epoch:]upstream[-revision]; '~' sorts before everything, even the end
 * of the string; letters sort before non-letters.  Conformance with
 * `dpkg --compare-versions` is tested on thousands of pairs.
 */
#ifndef AV_VERSION_H
#define AV_VERSION_H

typedef enum av_relop {
	AV_REL_NONE = 0,	/* no constraint */
	AV_REL_LT,		/* << */
	AV_REL_LE,		/* <= (and the obsolete <) */
	AV_REL_EQ,		/* = */
	AV_REL_GE,		/* >= (and the obsolete >) */
	AV_REL_GT,		/* >> */
} av_relop;

/* <0, 0, >0 like strcmp.  Never fails: malformed input compares the way
 * dpkg would compare it after its lenient parse. */
int av_version_compare(const char *a, const char *b);

/* 0 if v is a syntactically valid Debian version, else AV_EINVALID with
 * a message naming the problem. */
int av_version_check(const char *v);

/* Does version v satisfy "op ref"?  AV_REL_NONE is always satisfied. */
int av_version_satisfies(const char *v, av_relop op, const char *ref);

/* Parse "<<", "<=", "=", ">=", ">>", "<", ">"; returns the number of
 * characters consumed (0 if none matched). */
int av_relop_parse(const char *s, av_relop *out);
const char *av_relop_str(av_relop op);

#endif
