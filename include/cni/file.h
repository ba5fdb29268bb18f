/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_FILE_H
#define CNI_FILE_H

#include <stddef.h>

/*
 * Reads the regular file name (relative to dfd, or AT_FDCWD) without following
 * a symlink and without blocking on a FIFO planted in its place; the content
 * is NUL-terminated. Into buf (size bytes) or, when buf is NULL, into a buffer
 * sized to the file that *out receives (free() it). The file must be smaller
 * than size either way. -ENOENT when absent, -EINVAL when it is not a regular
 * file (a symlink included) or too big.
 */
int cni_file_read(int dfd, const char *name, char *buf, size_t size, char **out, size_t *len)
	__attribute__((warn_unused_result));

/* write() until all of data is written: a regular file may take less than asked. */
int cni_file_write_all(int fd, const void *data, size_t len) __attribute__((warn_unused_result));

#endif
