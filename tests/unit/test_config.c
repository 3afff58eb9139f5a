/*
 * test_config.c - the JSON configuration: defaults, strict schema errors
 * that name the file and the key (with a spelling hint), wrong types,
 * invalid JSON, which files are read and in which order, and where the
 * root comes from.  HOME points into the test's directory, so the
 * developer's own configuration is never read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "aptvault/config.h"
#include "aptvault/error.h"
#include "aptvault/file.h"
#include "fixtures.h"

static char *base, *home;

static char *join(const char *dir, const char *name)
{
	char *p = NULL;

	cr_assert_neq(asprintf(&p, "%s/%s", dir, name), -1);
	return p;
}

static void setup(void)
{
	base = fx_tmpdir();
	home = join(base, "home");
	cr_assert_eq(av_mkdir_p(home), 0);
	cr_assert_eq(setenv("HOME", home, 1), 0);
}

static void teardown(void)
{
	av_remove_tree(base);
	free(home);
	free(base);
}

TestSuite(config, .init = setup, .fini = teardown, .timeout = 30);

/* Write text to dir/name (creating dir); returns the path. */
static char *put(const char *dir, const char *name, const char *text)
{
	char *path = join(dir, name);

	cr_assert_eq(av_mkdir_p(dir), 0);
	fx_write(path, text);
	return path;
}

static char *home_config(const char *text)
{
	char *dir = join(home, ".config/aptvault");
	char *path = put(dir, "config.json", text);

	free(dir);
	return path;
}

static av_config *load(const char *config_file, const char *root)
{
	av_config_opts o = { .config_file = config_file, .root = root };
	av_config *c = NULL;

	cr_assert_eq(av_config_load(&c, &o), 0, "%s", av_error_last());
	cr_assert_not_null(c);
	return c;
}

static int load_fails(const char *config_file, const char *root)
{
	av_config_opts o = { .config_file = config_file, .root = root };
	av_config *c = NULL;
	int rc = av_config_load(&c, &o);

	cr_assert_neq(rc, 0, "loaded although it should fail");
	cr_assert_null(c);
	return rc;
}

Test(config, defaults_when_no_file_exists)
{
	av_config *c;
	char *want = join(home, ".aptvault");

	if (av_is_file("/etc/aptvault.json"))
		cr_skip_test("/etc/aptvault.json exists on this machine");
	c = load(NULL, NULL);
	cr_assert_eq(c->nfiles, 0);
	cr_assert_str_eq(av_config_root(c), want);
	cr_assert_str_eq(av_config_str(c, "rootDir"), want);
	cr_assert_eq(av_config_num(c, "lockTimeout"), -1);
	cr_assert_eq(av_config_num(c, "historyLimit"), 100);
	cr_assert_eq(av_config_num(c, "downloadConcurrency"), 4);
	cr_assert_eq(av_config_num(c, "importThreads"), 0);
	cr_assert_eq(av_config_bool(c, "dependencyFollowSuggests"), 0);
	cr_assert_eq(av_config_bool(c, "dependencyFollowRecommends"), 0);
	cr_assert_eq(av_config_bool(c, "dependencyFollowAllVariants"), 0);
	cr_assert_eq(av_config_bool(c, "dependencyFollowSource"), 0);
	cr_assert_str_eq(av_config_str(c, "gpgKeyring"), "");
	cr_assert_str_eq(av_config_str(c, "dependencyPolicy"), "aptly");
	cr_assert(cJSON_IsArray(av_config_get(c, "architectures")));
	cr_assert_eq(cJSON_GetArraySize(av_config_get(c, "architectures")), 0);
	cr_assert(cJSON_IsArray(av_config_get(c, "gpgKeys")));
	/* Every known key is present in the effective settings. */
	cr_assert_eq(cJSON_GetArraySize(c->values), 13);
	cr_assert_null(av_config_get(c, "noSuchKey"));
	av_config_free(c);
	free(want);
}

Test(config, a_misspelt_key_names_the_file_the_key_and_the_closest_key)
{
	char *path = put(base, "typo.json", "{ \"lockTimout\": 5 }");
	char *want = NULL;

	cr_assert_eq(load_fails(path, NULL), AV_EINVALID);
	cr_assert_neq(asprintf(&want, "config '%s': unknown key 'lockTimout'; did you mean "
			       "'lockTimeout'?", path), -1);
	cr_assert_str_eq(av_error_last(), want);
	free(want);
	free(path);
}

Test(config, hints_are_case_insensitive_and_only_for_close_keys)
{
	char *path = put(base, "case.json", "{ \"RootDir\": \"/x\" }");

	cr_assert_eq(load_fails(path, NULL), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "did you mean 'rootDir'?"), "%s", av_error_last());
	free(path);
	path = put(base, "far.json", "{ \"colour\": true }");
	cr_assert_eq(load_fails(path, NULL), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "unknown key 'colour'; see aptvault.conf(5)"),
		  "%s", av_error_last());
	cr_assert_null(strstr(av_error_last(), "did you mean"));
	free(path);
	/* A very long key gets no hint and no crash. */
	{
		char doc[512];
		snprintf(doc, sizeof(doc), "{ \"%0200d\": 1 }", 0);
		path = put(base, "long.json", doc);
		cr_assert_eq(load_fails(path, NULL), AV_EINVALID);
		cr_assert(strstr(av_error_last(), "see aptvault.conf(5)"), "%s", av_error_last());
		free(path);
	}
}

Test(config, a_value_of_the_wrong_type_names_the_key_and_the_type)
{
	static const struct {
		const char *doc, *msg;
	} cases[] = {
		{ "{ \"lockTimeout\": \"soon\" }", "'lockTimeout' must be a number" },
		{ "{ \"rootDir\": 5 }", "'rootDir' must be a string" },
		{ "{ \"dependencyFollowSource\": \"yes\" }",
		  "'dependencyFollowSource' must be true or false" },
		{ "{ \"architectures\": \"amd64\" }", "'architectures' must be a list of strings" },
		{ "{ \"gpgKeys\": [\"A\", 1] }", "'gpgKeys' must be a list of strings" },
		{ "{ \"historyLimit\": null }", "'historyLimit' must be a number" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = put(base, "type.json", cases[i].doc);
		char *want = NULL;
		cr_assert_eq(load_fails(path, NULL), AV_EINVALID);
		cr_assert_neq(asprintf(&want, "config '%s': %s", path, cases[i].msg), -1);
		cr_assert_str_eq(av_error_last(), want);
		free(want);
		free(path);
	}
}

Test(config, invalid_json_and_non_objects_are_refused_with_the_file_named)
{
	char *path = put(base, "bad.json", "{ \"lockTimeout\": 5, }");

	cr_assert_eq(load_fails(path, NULL), AV_EINVALID);
	cr_assert(strstr(av_error_last(), path), "%s", av_error_last());
	cr_assert(strstr(av_error_last(), "invalid JSON near byte"), "%s", av_error_last());
	free(path);
	path = put(base, "list.json", "[1, 2]");
	cr_assert_eq(load_fails(path, NULL), AV_EINVALID);
	cr_assert(strstr(av_error_last(), "not a JSON object"), "%s", av_error_last());
	free(path);
	path = put(base, "empty.json", "");
	cr_assert_eq(load_fails(path, NULL), AV_EINVALID);
	free(path);
}

Test(config, a_valid_file_sets_every_type)
{
	char *path = put(base, "all.json",
			 "{ \"lockTimeout\": 2.5, \"historyLimit\": 0,"
			 "  \"architectures\": [\"amd64\", \"arm64\"],"
			 "  \"dependencyFollowSuggests\": true,"
			 "  \"gpgKeyring\": \"/k.gpg\" }");
	av_config *c = load(path, NULL);
	const cJSON *archs = av_config_get(c, "architectures");

	cr_assert_eq(av_config_num(c, "lockTimeout"), 2.5);
	cr_assert_eq(av_config_num(c, "historyLimit"), 0);
	cr_assert_eq(av_config_bool(c, "dependencyFollowSuggests"), 1);
	cr_assert_str_eq(av_config_str(c, "gpgKeyring"), "/k.gpg");
	cr_assert_eq(cJSON_GetArraySize(archs), 2);
	cr_assert_str_eq(cJSON_GetArrayItem(archs, 1)->valuestring, "arm64");
	/* Untouched keys keep their defaults. */
	cr_assert_eq(av_config_num(c, "downloadConcurrency"), 4);
	av_config_free(c);
	free(path);
}

Test(config, later_files_override_earlier_ones_key_by_key)
{
	char *root = join(base, "root");
	char *hc = NULL, *rc_path = NULL;
	char *home_doc = NULL;
	av_config *c;

	if (av_is_file("/etc/aptvault.json"))
		cr_skip_test("/etc/aptvault.json exists on this machine");
	cr_assert_neq(asprintf(&home_doc, "{ \"rootDir\": \"%s\", \"lockTimeout\": 7,"
			       " \"historyLimit\": 5 }", root), -1);
	hc = home_config(home_doc);
	rc_path = put(root, "aptvault.json", "{ \"historyLimit\": 9 }");
	c = load(NULL, NULL);
	cr_assert_str_eq(av_config_root(c), root);
	cr_assert_eq(av_config_num(c, "lockTimeout"), 7);
	cr_assert_eq(av_config_num(c, "historyLimit"), 9);
	cr_assert_eq(c->nfiles, 2);
	cr_assert_str_eq(c->files[0], hc);
	cr_assert_str_eq(c->files[1], rc_path);
	av_config_free(c);
	free(home_doc);
	free(hc);
	free(rc_path);
	free(root);
}

Test(config, the_root_option_beats_rootDir_and_its_aptvault_json_is_read)
{
	char *a = join(base, "a"), *b = join(base, "b");
	char *home_doc = NULL, *bfile, *afile, *hc;
	av_config *c;

	cr_assert_neq(asprintf(&home_doc, "{ \"rootDir\": \"%s\" }", a), -1);
	hc = home_config(home_doc);
	afile = put(a, "aptvault.json", "{ \"lockTimeout\": 1 }");
	bfile = put(b, "aptvault.json", "{ \"lockTimeout\": 2 }");
	/* rootDir from the home config: a, and a's file. */
	c = load(NULL, NULL);
	cr_assert_str_eq(av_config_root(c), a);
	cr_assert_eq(av_config_num(c, "lockTimeout"), 1);
	av_config_free(c);
	/* --root b wins over rootDir: b, and b's file only. */
	c = load(NULL, b);
	cr_assert_str_eq(av_config_root(c), b);
	cr_assert_eq(av_config_num(c, "lockTimeout"), 2);
	for (size_t i = 0; i < c->nfiles; i++)
		cr_assert_str_neq(c->files[i], afile, "the other root's file was read");
	cr_assert_str_eq(c->files[c->nfiles - 1], bfile);
	av_config_free(c);
	/* An empty --root is no --root. */
	c = load(NULL, "");
	cr_assert_str_eq(av_config_root(c), a);
	av_config_free(c);
	free(home_doc);
	free(hc);
	free(afile);
	free(bfile);
	free(a);
	free(b);
}

Test(config, the_roots_own_file_cannot_move_the_root)
{
	char *r = join(base, "r");
	char *rfile = put(r, "aptvault.json", "{ \"rootDir\": \"/elsewhere\", "
			  "\"historyLimit\": 3 }");
	av_config *c = load(NULL, r);

	cr_assert_str_eq(av_config_root(c), r);
	cr_assert_eq(av_config_num(c, "historyLimit"), 3);
	av_config_free(c);
	free(rfile);
	free(r);
}

Test(config, an_error_in_the_roots_file_names_that_file)
{
	char *r = join(base, "r");
	char *rfile = put(r, "aptvault.json", "{ \"lockTimout\": 3 }");

	cr_assert_eq(load_fails(NULL, r), AV_EINVALID);
	cr_assert(strstr(av_error_last(), rfile), "%s", av_error_last());
	cr_assert(strstr(av_error_last(), "did you mean 'lockTimeout'?"), "%s", av_error_last());
	free(rfile);
	free(r);
}

Test(config, with_a_config_file_only_that_file_is_read)
{
	char *r = join(base, "r");
	char *hc = home_config("{ \"lockTimeout\": 7 }");
	char *rfile = put(r, "aptvault.json", "{ \"downloadConcurrency\": 9 }");
	char *only = put(base, "only.json", "{ \"historyLimit\": 3 }");
	av_config *c = load(only, r);

	cr_assert_eq(c->nfiles, 1);
	cr_assert_str_eq(c->files[0], only);
	cr_assert_eq(av_config_num(c, "historyLimit"), 3);
	cr_assert_eq(av_config_num(c, "lockTimeout"), -1, "the home config was read");
	cr_assert_eq(av_config_num(c, "downloadConcurrency"), 4, "the root's file was read");
	cr_assert_str_eq(av_config_root(c), r);
	av_config_free(c);
	free(only);
	free(rfile);
	free(hc);
	free(r);
}

Test(config, a_missing_config_file_is_an_error_but_missing_default_files_are_not)
{
	char *missing = join(base, "missing.json");

	cr_assert_eq(load_fails(missing, NULL), AV_ENOTFOUND);
	cr_assert(strstr(av_error_last(), missing), "%s", av_error_last());
	free(missing);
	{
		av_config *c = load(NULL, base);	/* no files anywhere */
		av_config_free(c);
	}
}

Test(config, validate_checks_a_document_directly)
{
	cJSON *ok = cJSON_Parse("{ \"importThreads\": 2 }");
	cJSON *bad = cJSON_Parse("{ \"importThread\": 2 }");

	cr_assert_eq(av_config_validate(ok, "inline"), 0);
	cr_assert_eq(av_config_validate(bad, "inline"), AV_EINVALID);
	cr_assert_str_eq(av_error_last(), "config 'inline': unknown key 'importThread'; "
			 "did you mean 'importThreads'?");
	cJSON_Delete(ok);
	cJSON_Delete(bad);
}
