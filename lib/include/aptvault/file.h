/*
 * file.h - small filesystem helpers with durable semantics.
 *
 * av_file_write_atomic is the only way lib/ replaces a file: write to a
 * temporary in the same directory, fsync it, rename over the target, fsync
 * the directory (DESIGN.md I6: durable before visible).
 */
#ifndef AV_FILE_H
#define AV_FILE_H

#include <stddef.h>
#include "buf.h"

/* Read a whole file, failing with AV_EINVALID past max bytes. */
int av_file_read(av_buf *out, const char *path, size_t max);
int av_file_write_atomic(const char *path, const void *data, size_t len);
/* mkdir -p, mode 0755. */
int av_mkdir_p(const char *path);
int av_fsync_dir(const char *dir);
/* Is path an existing directory / regular file? */
int av_is_dir(const char *path);
int av_is_file(const char *path);
/* Names of the entries of dir ending in suffix ("" for all), sorted,
 * without "." entries. */
int av_dir_list(const char *dir, const char *suffix, char ***out, size_t *n);
void av_dir_list_free(char **names, size_t n);
/* rm -rf; missing is not an error. */
int av_remove_tree(const char *path);

#endif
