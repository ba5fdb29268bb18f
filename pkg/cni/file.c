// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/file.h"

int cni_file_read(int dfd, const char *name, char *buf, size_t size, char **out, size_t *len)
{
	char *mine = NULL;
	struct stat st;
	size_t n = 0;
	ssize_t k;
	int fd, ret = 0;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size >= size) {
		ret = -EINVAL;
		goto out;
	}
	if (!buf) {
		/* One byte more than the file: growth since fstat() shows as too big. */
		size = (size_t)st.st_size + 2;
		buf = mine = malloc(size);
		if (!buf) {
			ret = -ENOMEM;
			goto out;
		}
	}
	while (n < size - 1 && (k = read(fd, buf + n, size - 1 - n)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		n += (size_t)k;
	}
	if (mine && n == size - 1) {
		ret = -EINVAL;
		goto out;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	if (out) {
		*out = mine;
		mine = NULL;
	}
out:
	free(mine);
	close(fd);
	return ret;
}

int cni_file_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t k;

	while (len) {
		k = write(fd, p, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}
