/*
 * test_digest.c - the four digests, and digests that stop and resume:
 * a resumed stream must give exactly the digests of the whole, whatever
 * the split, and a saved state that does not fit is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "aptvault/digest.h"
#include "aptvault/error.h"
#include "fixtures.h"

static unsigned char *noise(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n ? n : 1);

	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	return p;
}

static void assert_same(const av_digests *a, const av_digests *b)
{
	cr_assert_eq(a->size, b->size);
	cr_assert_str_eq(a->md5, b->md5);
	cr_assert_str_eq(a->sha1, b->sha1);
	cr_assert_str_eq(a->sha256, b->sha256);
	cr_assert_str_eq(a->sha512, b->sha512);
}

Test(digest, known_values)
{
	av_digests d;

	cr_assert_eq(av_digests_mem(&d, "abc", 3), 0);
	cr_assert_str_eq(d.md5, "900150983cd24fb0d6963f7d28e17f72");
	cr_assert_str_eq(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
	cr_assert_str_eq(d.sha256,
			 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cr_assert_eq(av_digests_resume(&d, NULL, "abc", 3, NULL, 0, NULL), 0);
	cr_assert_str_eq(d.md5, "900150983cd24fb0d6963f7d28e17f72");
	cr_assert_str_eq(d.sha512 + 112, "2a9ac94fa54ca49f");
	cr_assert_eq(d.size, 3);
}

/* Sizes around the block lengths (64, 128) and past the two-thread
 * threshold (1 MB). */
Test(digest, resume_from_every_kind_of_mark_equals_the_whole)
{
	static const size_t sizes[] = { 0, 1, 63, 64, 65, 127, 128, 129, 1000,
					(1 << 20) + 77, (3 << 20) + 5 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		size_t n = sizes[s];
		unsigned char *data = noise(n, (unsigned)n + 1);
		size_t marks[5] = { 0, n / 3, n / 3 + 1 > n ? n : n / 3 + 1, n - n / 7, n };
		av_buf saved[5] = { AV_BUF_INIT, AV_BUF_INIT, AV_BUF_INIT, AV_BUF_INIT,
				    AV_BUF_INIT };
		av_digests whole, got;

		cr_assert_eq(av_digests_mem(&whole, data, n), 0);
		cr_assert_eq(av_digests_resume(&got, NULL, data, n, marks, 5, saved), 0);
		assert_same(&got, &whole);
		for (int m = 0; m < 5; m++) {
			cr_assert_eq(av_digests_saved_size(saved[m].ptr), (int64_t)marks[m],
				     "size %zu mark %d", n, m);
			cr_assert_eq(av_digests_resume(&got, saved[m].ptr, data + marks[m],
						       n - marks[m], NULL, 0, NULL), 0,
				     "%s", av_error_last());
			assert_same(&got, &whole);
			av_buf_dispose(&saved[m]);
		}
		free(data);
	}
}

/* A state saved in a resumed run is the state saved in one pass: the
 * texts are equal, so republishing the same content saves the same. */
Test(digest, saved_text_does_not_depend_on_how_the_stream_was_cut)
{
	size_t n = 300000, cut = 100003, mark = 250001;
	unsigned char *data = noise(n, 7);
	av_buf one = AV_BUF_INIT, first = AV_BUF_INIT, two = AV_BUF_INIT;
	size_t m1 = mark, m0 = cut, m2 = mark - cut;
	av_digests a, b;

	cr_assert_eq(av_digests_resume(&a, NULL, data, n, &m1, 1, &one), 0);
	cr_assert_eq(av_digests_resume(&b, NULL, data, cut, &m0, 1, &first), 0);
	cr_assert_eq(av_digests_resume(&b, first.ptr, data + cut, n - cut, &m2, 1, &two), 0);
	assert_same(&a, &b);
	cr_assert_str_eq(one.ptr, two.ptr);
	av_buf_dispose(&one);
	av_buf_dispose(&first);
	av_buf_dispose(&two);
	free(data);
}

Test(digest, states_that_do_not_fit_are_refused)
{
	unsigned char *data = noise(5000, 3);
	size_t mark = 4097;
	av_buf saved = AV_BUF_INIT, bad = AV_BUF_INIT;
	av_digests d;
	char *p;

	cr_assert_eq(av_digests_resume(&d, NULL, data, 5000, &mark, 1, &saved), 0);
	/* Another length than the states counted. */
	av_buf_printf(&bad, "avd1 4096%s", strchr(saved.ptr + 5, ' '));
	cr_assert_eq(av_digests_resume(&d, bad.ptr, data, 10, NULL, 0, NULL), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "saved digest state"));
	/* Another layout of the states. */
	av_buf_clear(&bad);
	av_buf_printf(&bad, "%s", saved.ptr);
	p = strchr(bad.ptr + 5, ' ') + 1;
	*p = *p == '9' ? '8' : '9';
	cr_assert_eq(av_digests_resume(&d, bad.ptr, data, 10, NULL, 0, NULL), AV_EINVALID);
	/* Cut short, not hex, not one at all. */
	av_buf_clear(&bad);
	av_buf_put(&bad, saved.ptr, saved.len - 2);
	cr_assert_eq(av_digests_resume(&d, bad.ptr, data, 10, NULL, 0, NULL), AV_EINVALID);
	av_buf_clear(&bad);
	av_buf_printf(&bad, "%s", saved.ptr);
	bad.ptr[bad.len - 1] = 'g';
	cr_assert_eq(av_digests_resume(&d, bad.ptr, data, 10, NULL, 0, NULL), AV_EINVALID);
	cr_assert_eq(av_digests_resume(&d, "avd2 1", data, 10, NULL, 0, NULL), AV_EINVALID);
	cr_assert_eq(av_digests_saved_size("nonsense"), -1);
	/* Marks must lie in the data, in order. */
	{
		size_t marks[2] = { 10, 5 };
		av_buf out[2] = { AV_BUF_INIT, AV_BUF_INIT };
		cr_assert_eq(av_digests_resume(&d, NULL, data, 100, marks, 2, out), AV_EINVALID);
		marks[0] = 101;
		cr_assert_eq(av_digests_resume(&d, NULL, data, 100, marks, 1, out), AV_EINVALID);
	}
	av_buf_dispose(&saved);
	av_buf_dispose(&bad);
	free(data);
}

/* In pieces (empty ones too), with marks on and between the pieces'
 * ends: the digests and saved states of the data in one piece. */
Test(digest, pieces_give_what_the_whole_gives)
{
	size_t n = (2 << 20) + 333;
	unsigned char *data = noise(n, 11);
	size_t cuts[] = { 0, 0, 1, 64, 70000, 70000, 1 << 20, (1 << 20) + 5, n };
	av_dspan v[8];
	size_t marks[] = { 0, 64, 65, 70000, 500000, 1 << 20, n };
	size_t nm = sizeof(marks) / sizeof(*marks);
	av_buf one[7], many[7];
	av_digests a, b;

	for (size_t i = 0; i < 8; i++) {
		v[i].ptr = data + cuts[i];
		v[i].len = cuts[i + 1] - cuts[i];
	}
	memset(one, 0, sizeof(one));
	memset(many, 0, sizeof(many));
	cr_assert_eq(av_digests_resume(&a, NULL, data, n, marks, nm, one), 0);
	cr_assert_eq(av_digests_resume_v(&b, NULL, v, 8, marks, nm, many), 0);
	assert_same(&a, &b);
	for (size_t i = 0; i < nm; i++) {
		cr_assert_str_eq(one[i].ptr, many[i].ptr, "mark %zu", i);
		av_buf_dispose(&one[i]);
		av_buf_dispose(&many[i]);
	}
	free(data);
}
