/*
 * config.h - the JSON configuration.
 *
 * Files, later ones overriding earlier ones key by key:
 *   /etc/aptvault.json, ~/.config/aptvault/config.json, $ROOT/aptvault.json
 * or only the file given with --config.  An unknown or misspelt key is an
 * error naming the file and the key (and the closest known key), and a
 * value of the wrong type is an error naming both: aptly silently ignores
 * such mistakes.
 */
#ifndef AV_CONFIG_H
#define AV_CONFIG_H

#include <cjson/cJSON.h>
#include "buf.h"

typedef struct av_config {
	cJSON *values;		/* effective settings, every known key present */
	char **files;		/* the files that were read, in order */
	size_t nfiles;
} av_config;

typedef struct av_config_opts {
	const char *config_file;	/* --config: read only this file */
	const char *root;		/* --root or APTVAULT_ROOT, may be NULL */
} av_config_opts;

int av_config_load(av_config **out, const av_config_opts *opts);
void av_config_free(av_config *c);

/* Typed getters; the key must be a known one. */
const char *av_config_str(const av_config *c, const char *key);
double av_config_num(const av_config *c, const char *key);
int av_config_bool(const av_config *c, const char *key);
const cJSON *av_config_get(const av_config *c, const char *key);

/* The effective root directory: opts->root, else rootDir, else
 * ~/.aptvault.  Borrowed. */
const char *av_config_root(const av_config *c);

/* Check one JSON document against the schema (used by load and tests). */
int av_config_validate(const cJSON *doc, const char *origin);

#endif
