/* state.c - resource states: meta.json + packages/ in one commit (see state.h). */
#include <stdio.h>
#include "aptvault/state.h"
#include "internal.h"

int av_state_new(av_state **out)
{
	av_state *st = av_calloc(1, sizeof(*st));

	if (!st)
		return AV_ERROR;
	if (!(st->meta = cJSON_CreateObject())) {
		free(st);
		return av_error_set(AV_ERROR, "out of memory");
	}
	*out = st;
	return 0;
}

void av_state_free(av_state *st)
{
	if (!st)
		return;
	cJSON_Delete(st->meta);
	free(st);
}

int av_state_load(av_state **out, av_store *s, const git_oid *commit_oid)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_blob *blob = NULL;
	const git_tree_entry *te;
	av_state *st = NULL;
	int rc;

	*out = NULL;
	if ((rc = av_store_commit_read(s, &commit, commit_oid)) ||
	    (rc = av_store_tree_read(s, &tree, git_commit_tree_id(commit))))
		goto done;
	if (!(st = av_calloc(1, sizeof(*st)))) {
		rc = AV_ERROR;
		goto done;
	}
	git_oid_cpy(&st->commit, commit_oid);
	st->time = (long long)git_commit_time(commit);
	if ((te = git_tree_entry_byname(tree, "packages")))
		git_oid_cpy(&st->packages, git_tree_entry_id(te));
	if ((te = git_tree_entry_byname(tree, "aux")))
		git_oid_cpy(&st->aux, git_tree_entry_id(te));
	if (!(te = git_tree_entry_byname(tree, "meta.json"))) {
		rc = av_error_set(AV_EINVALID, "state %s has no meta.json",
				  git_oid_tostr_s(commit_oid));
		goto done;
	}
	if ((rc = av_store_blob_read(s, &blob, git_tree_entry_id(te))))
		goto done;
	st->meta = cJSON_ParseWithLength(git_blob_rawcontent(blob),
					 (size_t)git_blob_rawsize(blob));
	if (!st->meta || !cJSON_IsObject(st->meta)) {
		rc = av_error_set(AV_EINVALID, "state %s has a malformed meta.json",
				  git_oid_tostr_s(commit_oid));
		goto done;
	}
	*out = st;
	st = NULL;
done:
	av_state_free(st);
	git_blob_free(blob);
	git_tree_free(tree);
	git_commit_free(commit);
	return rc;
}

int av_state_write(av_store *s, const av_state *st, const char *message, git_oid *out)
{
	git_treebuilder *tb = NULL;
	git_oid meta_oid, tree_oid;
	char *json = NULL;
	int err, rc = 0;

	if (!(json = cJSON_PrintUnformatted(st->meta)))
		return av_error_set(AV_ERROR, "cannot serialise settings");
	if ((rc = av_store_blob_write(s, &meta_oid, json, strlen(json))))
		goto done;
	if ((err = git_treebuilder_new(&tb, av_store_git(s), NULL)) < 0 ||
	    (err = git_treebuilder_insert(NULL, tb, "meta.json", &meta_oid,
					  GIT_FILEMODE_BLOB)) < 0) {
		rc = av_error_from_git(err, "cannot build state");
		goto done;
	}
	if (git_oid_is_zero(&st->packages)) {
		/* An empty package list is the empty tree. */
		git_treebuilder *empty = NULL;
		git_oid empty_oid;
		if ((err = git_treebuilder_new(&empty, av_store_git(s), NULL)) < 0) {
			rc = av_error_from_git(err, "cannot build state");
			goto done;
		}
		rc = av_store_tree_write(s, &empty_oid, empty);
		git_treebuilder_free(empty);
		if (rc)
			goto done;
		err = git_treebuilder_insert(NULL, tb, "packages", &empty_oid,
					     GIT_FILEMODE_TREE);
	} else {
		err = git_treebuilder_insert(NULL, tb, "packages", &st->packages,
					     GIT_FILEMODE_TREE);
	}
	if (err >= 0 && !git_oid_is_zero(&st->aux))
		err = git_treebuilder_insert(NULL, tb, "aux", &st->aux, GIT_FILEMODE_TREE);
	if (err < 0) {
		rc = av_error_from_git(err, "cannot build state");
		goto done;
	}
	if ((rc = av_store_tree_write(s, &tree_oid, tb)))
		goto done;
	rc = av_store_commit_write(s, out, &tree_oid, message);
done:
	git_treebuilder_free(tb);
	cJSON_free(json);
	return rc;
}

const char *av_state_get(const av_state *st, const char *key, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(st->meta, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : def;
}

int av_state_set(av_state *st, const char *key, const char *value)
{
	cJSON *v = cJSON_CreateString(value);

	if (!v)
		return av_error_set(AV_ERROR, "out of memory");
	if (cJSON_GetObjectItemCaseSensitive(st->meta, key))
		cJSON_ReplaceItemInObjectCaseSensitive(st->meta, key, v);
	else
		cJSON_AddItemToObject(st->meta, key, v);
	return 0;
}
