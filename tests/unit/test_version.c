/*
 * test_version.c - Debian version comparison and syntax, checked by hand
 * on tricky pairs and against `dpkg --compare-versions` on thousands.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "aptvault/version.h"
#include "aptvault/error.h"
#include "fixtures.h"

typedef struct pair {
	const char *a, *b;
	int want;	/* sign of compare(a, b) */
} pair;

static const pair tricky[] = {
	{ "1.0", "1.0", 0 },
	{ "1.0", "1.0-0", 0 },			/* absent revision is "0"-ish */
	{ "1.0-0", "1.0-00", 0 },
	{ "0:1.0", "1.0", 0 },			/* absent epoch is 0 */
	{ "01:1.0", "1:1.0", 0 },
	{ "1:0.1", "2.0", 1 },			/* epoch wins */
	{ "2:0", "10:0", -1 },
	{ "1.01", "1.1", 0 },			/* leading zeros */
	{ "1.001", "1.1", 0 },
	{ "1.10", "1.9", 1 },			/* numeric, not lexical */
	{ "9", "10", -1 },
	{ "1.0~rc1", "1.0", -1 },		/* ~ sorts before the end */
	{ "1.0~", "1.0", -1 },
	{ "1.0~~", "1.0~", -1 },
	{ "1.0~~a", "1.0~~", 1 },
	{ "1~", "1", -1 },
	{ "1~a", "1~", 1 },
	{ "3.0~rc1-1", "3.0~beta2-1", 1 },
	{ "1.0~dfsg-1", "1.0-1", -1 },
	{ "1.0+dfsg-1", "1.0-1", 1 },
	{ "1.0", "1.0+", -1 },			/* end before non-letters */
	{ "1.0a", "1.0", 1 },
	{ "1.0a", "1.0+", -1 },			/* letters before non-letters */
	{ "1.0a", "1.0.", -1 },
	{ "1.0.", "1.0+", 1 },			/* non-letters by ASCII */
	{ "1a", "1A", 1 },			/* letters by ASCII */
	{ "1.0-a", "1.0-A", 1 },
	{ "1.2.3", "1.2.3.0", -1 },
	{ "1.0", "1.0.0", -1 },
	{ "0.0", "0", 1 },
	{ "1.0-1", "1.0-2", -1 },
	{ "1.0-1", "1.0-1.1", -1 },
	{ "1.0-10", "1.0-9", 1 },
	{ "1.0-1~bpo1", "1.0-1", -1 },
	{ "1.0-1+b1", "1.0-1", 1 },
	{ "1.0-1ubuntu1", "1.0-1", 1 },
	{ "1.0-1ubuntu1", "1.0-1build1", 1 },
	{ "1-1-1", "1-1", 1 },			/* revision after the last '-' */
	{ "1:2:3", "1:2", 1 },			/* ':' allowed after an epoch */
	{ "2.0-1", "10.0-1", -1 },
	{ "7.6p2-4", "7.6-0", 1 },
	{ "1.0.3-3", "1.0-1", 1 },
	{ "1.3", "1.2.2-2", 1 },
	{ "0-pre", "0-pree", -1 },
	{ "1.1.6r2-2", "1.1.6r-1", 1 },
	{ "2.6b2-1", "2.6b-2", 1 },
	{ "98.1p5-1", "98.1-pre2-b6-2", -1 },
	{ "0.4a6-2", "0.4-1", 1 },
	{ "1:3.0.5+dfsg-1", "1:3.0.5+dfsg-1~deb10u1", 1 },
	{ "0000000000000000000001", "1", 0 },
	{ "99999999999999999999", "99999999999999999998", 1 },	/* no overflow */
	{ "1.0~~~~", "1.0~~~", -1 },
};

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

Test(version, tricky_pairs_compare_like_dpkg)
{
	for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
		const pair *p = &tricky[i];

		cr_expect_eq(sign(av_version_compare(p->a, p->b)), p->want,
			     "compare(%s, %s) should be %d", p->a, p->b, p->want);
		cr_expect_eq(sign(av_version_compare(p->b, p->a)), -p->want,
			     "compare(%s, %s) should be %d", p->b, p->a, -p->want);
	}
}

Test(version, satisfies_follows_relation)
{
	cr_assert(av_version_satisfies("1.0", AV_REL_LT, "1.1"));
	cr_assert(!av_version_satisfies("1.1", AV_REL_LT, "1.1"));
	cr_assert(av_version_satisfies("1.1", AV_REL_LE, "1.1"));
	cr_assert(av_version_satisfies("1.0", AV_REL_EQ, "1.0-0"));
	cr_assert(av_version_satisfies("1:1", AV_REL_GE, "2"));
	cr_assert(av_version_satisfies("1.0", AV_REL_GT, "1.0~"));
	cr_assert(av_version_satisfies("anything", AV_REL_NONE, "1"));
}

Test(version, relop_parse_reads_all_operators)
{
	static const struct { const char *s; av_relop op; int n; } ops[] = {
		{ "<< 1", AV_REL_LT, 2 }, { "<=1", AV_REL_LE, 2 }, { "= 1", AV_REL_EQ, 1 },
		{ ">=", AV_REL_GE, 2 }, { ">>", AV_REL_GT, 2 }, { "< 1", AV_REL_LE, 1 },
		{ "> 1", AV_REL_GE, 1 },
	};
	av_relop op;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		cr_assert_eq(av_relop_parse(ops[i].s, &op), ops[i].n, "%s", ops[i].s);
		cr_assert_eq(op, ops[i].op, "%s", ops[i].s);
	}
	cr_assert_eq(av_relop_parse("1.0", &op), 0);
	cr_assert_str_eq(av_relop_str(AV_REL_LT), "<<");
	cr_assert_str_eq(av_relop_str(AV_REL_GE), ">=");
}

Test(version, check_accepts_valid_versions)
{
	static const char *const ok[] = {
		"0", "1.0", "1:1.0", "1.0-1", "1:2.0~rc1+dfsg-3ubuntu0.1", "1-2-3",
		"1:2:3", "1.0-~", "2.6b2", "1.0+really0.9-1",
		/* dpkg bounds the epoch by INT_MAX, not by its digits */
		"0000000000001:1", "1000000000:1", "2147483647:1",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_expect_eq(av_version_check(ok[i]), 0, "'%s' rejected: %s", ok[i],
			     av_error_last());
}

Test(version, check_rejects_malformed_versions)
{
	static const char *const bad[] = {
		"", "-1", "1.0-", ":1", "1:", "1.0 1", " 1.0", "a1.0", "1:a",
		"1.0_1", "1.0-a_b", "1.0-a:b", "9999999999:1", "2147483648:1",
		"1.0-1-", "x:1", "1.0-1/2", "1.0!", "1:-1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(av_version_check(bad[i]), AV_EINVALID, "'%s' accepted", bad[i]);
		if (*bad[i])
			cr_expect(strstr(av_error_last(), bad[i]) != NULL,
				  "message should name the version: %s", av_error_last());
	}
}

/* ---- conformance with dpkg ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static char pick(const char *set)
{
	return set[rng() % strlen(set)];
}

/* Digits are likelier so numeric runs of several digits occur. */
static const char body_chars[] = "0123456789012345678900aazZ..++~~";

static void gen_version(char *out, size_t cap)
{
	size_t n = 0, len;

	if (rng() % 6 == 0)
		n += (size_t)snprintf(out, cap, "%u:", (unsigned)(rng() % 12));
	out[n++] = pick("0123456789");
	for (len = rng() % 9; len; len--)
		out[n++] = pick(body_chars);
	if (rng() % 5 < 3) {
		if (rng() % 10 == 0)	/* a '-' inside the upstream part */
			out[n++] = '-', out[n++] = pick("0123456789");
		out[n++] = '-';
		out[n++] = pick(body_chars);
		for (len = rng() % 5; len; len--)
			out[n++] = pick(body_chars);
	}
	out[n] = '\0';
}

/* A version close to v, so comparisons reach the interesting parts. */
static void mutate(char *out, size_t cap, const char *v)
{
	size_t n = strlen(v);
	static const char *const tails[] = { "~", "~~", "~a", "0", ".0", "+b1", "a", "-0", "-1" };
	int op = (int)(rng() % 4);

	snprintf(out, cap, "%s", v);
	if (op == 0 || n < 3) {
		const char *t = tails[rng() % (sizeof(tails) / sizeof(tails[0]))];

		if (t[0] == '-' && strchr(v, '-'))
			t = "~";
		snprintf(out + n, cap - n, "%s", t);
	} else if (op == 1) {
		/* replace one body character (never a separator or the first
		 * upstream digit) */
		size_t i = 1 + rng() % (n - 1);

		if (strchr(":-", out[i]) || out[i - 1] == ':')
			return;
		out[i] = pick(body_chars);
	} else if (op == 2) {
		/* a leading zero before some digit run */
		size_t i = 1 + rng() % (n - 1);

		if (out[i] >= '0' && out[i] <= '9' && out[i - 1] != ':' && n + 2 < cap) {
			memmove(out + i + 1, out + i, n - i + 1);
			out[i] = '0';
		}
	} else {
		/* drop the revision or the epoch */
		char *d = strrchr(out, '-'), *c = strchr(out, ':');

		if (d)
			*d = '\0';
		else if (c)
			memmove(out, c + 1, strlen(c + 1) + 1);
	}
}

#define NPAIRS 5200

Test(version, compare_agrees_with_dpkg_on_thousands_of_pairs, .timeout = 600)
{
	char *dir = fx_tmpdir(), path[4096], a[64], b[64];
	char (*pa)[64] = calloc(NPAIRS, 64), (*pb)[64] = calloc(NPAIRS, 64);
	size_t n = 0, disagree = 0;
	FILE *f;
	int r;

	rng_state = 0x2545F4914F6CDD1DULL;
	for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++, n++) {
		snprintf(pa[n], 64, "%s", tricky[i].a);
		snprintf(pb[n], 64, "%s", tricky[i].b);
	}
	while (n < NPAIRS) {
		gen_version(a, sizeof(a));
		if (rng() % 5 < 2)
			gen_version(b, sizeof(b));
		else
			mutate(b, sizeof(b), a);
		if (rng() & 1) {
			snprintf(pa[n], 64, "%s", a);
			snprintf(pb[n], 64, "%s", b);
		} else {
			snprintf(pa[n], 64, "%s", b);
			snprintf(pb[n], 64, "%s", a);
		}
		n++;
	}
	snprintf(path, sizeof(path), "%s/pairs", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %s\n", pa[i], pb[i]);
	cr_assert_eq(fclose(f), 0);

	cr_assert_eq(fx_sh("cd '%s' && while read -r a b; do "
			   "if dpkg --compare-versions \"$a\" lt \"$b\"; then echo -1; "
			   "elif dpkg --compare-versions \"$a\" eq \"$b\"; then echo 0; "
			   "else echo 1; fi; done < pairs > results 2> errors", dir), 0);
	snprintf(path, sizeof(path), "%s/results", dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++) {
		int ours;

		cr_assert_eq(fscanf(f, "%d", &r), 1, "dpkg gave no answer for pair %zu", i);
		ours = sign(av_version_compare(pa[i], pb[i]));
		if (ours != r && !disagree++)
			cr_log_error("first disagreement: '%s' vs '%s': dpkg %d, ours %d",
				     pa[i], pb[i], r, ours);
	}
	fclose(f);
	cr_assert_eq(disagree, 0, "%zu of %zu pairs disagree with dpkg", disagree, n);
	cr_log_info("%zu pairs agree with dpkg --compare-versions", n);
	fx_sh("rm -rf '%s'", dir);
	free(pa);
	free(pb);
	free(dir);
}

#define NCHECK 1500

/* dpkg says "bad syntax" (as an error or a warning) exactly when
 * av_version_check rejects. */
Test(version, check_agrees_with_dpkg_on_generated_versions, .timeout = 600)
{
	static const char wide[] = "0123456789aZ.+~-:_!/%";
	char *dir = fx_tmpdir(), path[4096];
	char (*v)[48] = calloc(NCHECK, 48);
	size_t disagree = 0;
	FILE *f;

	rng_state = 0xDEADBEEFCAFEULL;
	for (size_t i = 0; i < NCHECK; i++) {
		if (i % 2) {
			gen_version(v[i], 48);
			continue;
		}
		/* anything from a wider alphabet, not starting with '-' (an
		 * option to dpkg) */
		size_t len = 1 + rng() % 10;
		for (size_t k = 0; k < len; k++)
			v[i][k] = pick(k ? wide : "0123456789aZ.+~:_");
		v[i][len] = '\0';
	}
	snprintf(path, sizeof(path), "%s/versions", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (size_t i = 0; i < NCHECK; i++)
		fprintf(f, "%s\n", v[i]);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(fx_sh("cd '%s' && while read -r v; do "
			   "if dpkg --compare-versions \"$v\" eq \"$v\" 2>&1 | grep -q 'bad syntax'; "
			   "then echo bad; else echo ok; fi; done < versions > results", dir), 0);
	snprintf(path, sizeof(path), "%s/results", dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	for (size_t i = 0; i < NCHECK; i++) {
		char word[8];
		int dpkg_ok, ours_ok;

		cr_assert_eq(fscanf(f, "%7s", word), 1);
		dpkg_ok = !strcmp(word, "ok");
		ours_ok = av_version_check(v[i]) == 0;
		if (dpkg_ok != ours_ok && !disagree++)
			cr_log_error("first disagreement: '%s': dpkg %s, ours %s (%s)", v[i],
				     dpkg_ok ? "valid" : "invalid", ours_ok ? "valid" : "invalid",
				     ours_ok ? "" : av_error_last());
	}
	fclose(f);
	cr_assert_eq(disagree, 0, "%zu of %d versions disagree with dpkg", disagree, NCHECK);
	fx_sh("rm -rf '%s'", dir);
	free(v);
	free(dir);
}
