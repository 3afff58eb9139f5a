/* config.c - JSON configuration with a strict schema (see config.h). */
#include <stdio.h>
#include <unistd.h>
#include "aptvault/config.h"
#include "aptvault/file.h"
#include "internal.h"

typedef enum { T_STR, T_NUM, T_BOOL, T_STRLIST } vtype;

static const struct setting {
	const char *key;
	vtype type;
	const char *def;	/* JSON text of the default */
	const char *doc;
} schema[] = {
	{ "rootDir", T_STR, "\"\"", "the root directory (default ~/.aptvault)" },
	{ "lockTimeout", T_NUM, "-1", "seconds to wait for a lock; -1 waits forever" },
	{ "historyLimit", T_NUM, "100", "history entries kept per resource; 0 keeps all" },
	{ "architectures", T_STRLIST, "[]", "architectures to consider; empty means all" },
	{ "dependencyFollowSuggests", T_BOOL, "false", "follow Suggests" },
	{ "dependencyFollowRecommends", T_BOOL, "false", "follow Recommends" },
	{ "dependencyFollowAllVariants", T_BOOL, "false", "follow every alternative" },
	{ "dependencyFollowSource", T_BOOL, "false", "follow source packages" },
	{ "downloadConcurrency", T_NUM, "4", "parallel downloads" },
	{ "gpgKeys", T_STRLIST, "[]", "keys that sign publications" },
	{ "gpgKeyring", T_STR, "\"\"", "keyring to verify signatures against" },
	{ "importThreads", T_NUM, "0", "threads reading packages; 0 uses every core" },
	{ "dependencyPolicy", T_STR, "\"aptly\"", "how dependencies match: aptly or debian" },
};

static const struct setting *find_setting(const char *key)
{
	for (size_t i = 0; i < AV_ARRAY_SIZE(schema); i++)
		if (!strcmp(schema[i].key, key))
			return &schema[i];
	return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (lb >= AV_ARRAY_SIZE(row))
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t sub = prev + ((a[i - 1] | 32) != (b[j - 1] | 32));
			size_t best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
			row[j] = sub < best ? sub : best;
			prev = cur;
		}
	}
	return row[lb];
}

static const char *closest(const char *key)
{
	const char *best = NULL;
	size_t bestd = 4;

	for (size_t i = 0; i < AV_ARRAY_SIZE(schema); i++) {
		size_t d = edit_distance(key, schema[i].key);
		if (d < bestd) {
			bestd = d;
			best = schema[i].key;
		}
	}
	return best;
}

static int type_ok(const cJSON *v, vtype t)
{
	switch (t) {
	case T_STR: return cJSON_IsString(v);
	case T_NUM: return cJSON_IsNumber(v);
	case T_BOOL: return cJSON_IsBool(v);
	case T_STRLIST:
		if (!cJSON_IsArray(v))
			return 0;
		for (const cJSON *e = v->child; e; e = e->next)
			if (!cJSON_IsString(e))
				return 0;
		return 1;
	}
	return 0;
}

static const char *type_name(vtype t)
{
	switch (t) {
	case T_STR: return "a string";
	case T_NUM: return "a number";
	case T_BOOL: return "true or false";
	default: return "a list of strings";
	}
}

int av_config_validate(const cJSON *doc, const char *origin)
{
	if (!cJSON_IsObject(doc))
		return av_error_set(AV_EINVALID, "config '%s': not a JSON object", origin);
	for (const cJSON *v = doc->child; v; v = v->next) {
		const struct setting *s = find_setting(v->string);
		if (!s) {
			const char *hint = closest(v->string);
			if (hint)
				return av_error_set(AV_EINVALID, "config '%s': unknown key '%s'; "
						    "did you mean '%s'?", origin, v->string, hint);
			return av_error_set(AV_EINVALID, "config '%s': unknown key '%s'; "
					    "see aptvault.conf(5)", origin, v->string);
		}
		if (!type_ok(v, s->type))
			return av_error_set(AV_EINVALID, "config '%s': '%s' must be %s",
					    origin, v->string, type_name(s->type));
	}
	return 0;
}

static int merge_file(av_config *c, const char *path, int required)
{
	av_buf text = AV_BUF_INIT;
	cJSON *doc = NULL;
	int rc;

	if ((rc = av_file_read(&text, path, 1 << 20))) {
		av_buf_dispose(&text);
		if (rc == AV_ENOTFOUND && !required) {
			av_error_clear();
			return 0;
		}
		return rc;
	}
	if (!(doc = cJSON_ParseWithLength(av_buf_cstr(&text), text.len))) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = at && at >= text.ptr ? (size_t)(at - text.ptr) : 0;
		av_buf_dispose(&text);
		return av_error_set(AV_EINVALID, "config '%s': invalid JSON near byte %zu",
				    path, off);
	}
	av_buf_dispose(&text);
	if ((rc = av_config_validate(doc, path)))
		goto done;
	for (cJSON *v = doc->child; v; v = v->next) {
		cJSON *copy = cJSON_Duplicate(v, 1);
		if (!copy) {
			rc = av_error_set(AV_ERROR, "out of memory");
			goto done;
		}
		cJSON_ReplaceItemInObjectCaseSensitive(c->values, v->string, copy);
	}
	{
		char **files = av_realloc(c->files, (c->nfiles + 1) * sizeof(*files));
		if (!files) {
			rc = AV_ERROR;
			goto done;
		}
		c->files = files;
	}
	if (!(c->files[c->nfiles] = av_strdup(path))) {
		rc = AV_ERROR;
		goto done;
	}
	c->nfiles++;
done:
	cJSON_Delete(doc);
	return rc;
}

static int set_defaults(av_config *c)
{
	if (!(c->values = cJSON_CreateObject()))
		return av_error_set(AV_ERROR, "out of memory");
	for (size_t i = 0; i < AV_ARRAY_SIZE(schema); i++) {
		cJSON *v = cJSON_Parse(schema[i].def);
		if (!v)
			return av_error_set(AV_ERROR, "internal error: bad default");
		cJSON_AddItemToObject(c->values, schema[i].key, v);
	}
	return 0;
}

static int set_root(av_config *c, const char *root)
{
	cJSON *v = cJSON_CreateString(root);

	if (!v)
		return av_error_set(AV_ERROR, "out of memory");
	cJSON_ReplaceItemInObjectCaseSensitive(c->values, "rootDir", v);
	return 0;
}

int av_config_load(av_config **out, const av_config_opts *opts)
{
	av_config *c = av_calloc(1, sizeof(*c));
	const char *home = getenv("HOME");
	char path[4096];
	int rc;

	*out = NULL;
	if (!c)
		return AV_ERROR;
	if ((rc = set_defaults(c)))
		goto fail;
	if (opts && opts->config_file) {
		if ((rc = merge_file(c, opts->config_file, 1)))
			goto fail;
	} else {
		if ((rc = merge_file(c, "/etc/aptvault.json", 0)))
			goto fail;
		if (home && *home) {
			snprintf(path, sizeof(path), "%s/.config/aptvault/config.json", home);
			if ((rc = merge_file(c, path, 0)))
				goto fail;
		}
	}
	if (opts && opts->root && *opts->root && (rc = set_root(c, opts->root)))
		goto fail;
	if (!*av_config_str(c, "rootDir")) {
		snprintf(path, sizeof(path), "%s/.aptvault", home && *home ? home : ".");
		if ((rc = set_root(c, path)))
			goto fail;
	}
	if (!(opts && opts->config_file)) {
		/* The root's own settings; it may not move the root. */
		char root[2048];
		snprintf(root, sizeof(root), "%s", av_config_root(c));
		snprintf(path, sizeof(path), "%s/aptvault.json", root);
		if ((rc = merge_file(c, path, 0)) || (rc = set_root(c, root)))
			goto fail;
	}
	*out = c;
	return 0;
fail:
	av_config_free(c);
	return rc;
}

void av_config_free(av_config *c)
{
	if (!c)
		return;
	cJSON_Delete(c->values);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c);
}

const cJSON *av_config_get(const av_config *c, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(c->values, key);
}

const char *av_config_str(const av_config *c, const char *key)
{
	const cJSON *v = av_config_get(c, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

double av_config_num(const av_config *c, const char *key)
{
	const cJSON *v = av_config_get(c, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int av_config_bool(const av_config *c, const char *key)
{
	return cJSON_IsTrue(av_config_get(c, key));
}

const char *av_config_root(const av_config *c)
{
	return av_config_str(c, "rootDir");
}
