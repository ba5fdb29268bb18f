// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cni/sysctl.h"

#define SYSCTL_VALUE_MAX 4096
#define PROC_DIR "/proc/"

/*
 * A lookup under /proc/sys/net walks dentry hash chains as long as the
 * number of netns that ever looked the same names up through that procfs
 * instance: every netns has its own "net" dentry under the one parent, and
 * the node's /proc collects one per pod whose knobs a plugin ever set.
 * On a node with 400 pods the first lookup from a new pod took 1 ms, 40
 * times the cost on an empty node. A procfs instance of our own (fsopen(2))
 * has a dcache of its own: its lookups cost the same whatever the node
 * holds, and the node's /proc stays as it was. It resolves net/ in the
 * calling thread's netns as /proc does. Made once per process, on first
 * use; where it cannot be (no fsopen, no CAP_SYS_ADMIN, a seccomp filter),
 * /proc serves.
 */
static int proc_root(void)
{
	static int root = -2;
	int fs;

	if (root != -2)
		return root;
	root = -1;
	/* Raw system calls: glibc wraps them only since 2.36, above what our packages require. */
	fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
	if (fs < 0)
		return root;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		root = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
				    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	close(fs);
	if (root < 0)
		root = -1;
	return root;
}

/* file is PROC_DIR "sys/...": opened in our own procfs when there is one. */
static int open_knob(const char *file, int flags)
{
	int root = proc_root();

	return root >= 0 ? openat(root, file + strlen(PROC_DIR), flags) : open(file, flags);
}

/* /proc/sys/net follows setns(); the same knobs under /sys do not. */
static int sysctl_path(const char *path, char *out, size_t len, struct cni_err *err)
{
	const char *p;
	int n;

	if (!path || strncmp(path, "net/", 4) != 0)
		return cni_err_set(err, CNI_ERR_IO, -EINVAL, "sysctl %s: not under net/",
				   path ? path : "(null)");
	for (p = path; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return cni_err_set(err, CNI_ERR_IO, -EINVAL, "sysctl %s: \"..\" in the path",
					   path);
	}
	n = snprintf(out, len, PROC_DIR "sys/%s", path);
	if (n < 0 || (size_t)n >= len)
		return cni_err_set(err, CNI_ERR_IO, -ENAMETOOLONG, "sysctl %.64s...", path);
	return 0;
}

/* Reads at most len - 1 bytes from the start of fd, NUL-terminated, trailing newline dropped. */
static int read_fd(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len, 0);

	if (n < 0)
		return -errno;
	if ((size_t)n >= len)
		return -EOVERFLOW;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

static int read_value(const char *file, char *buf, size_t len)
{
	int fd, ret;

	fd = open_knob(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = read_fd(fd, buf, len);
	close(fd);
	return ret;
}

int sysctl_read(const char *path, char *buf, size_t len, struct cni_err *err)
{
	char file[4096], val[SYSCTL_VALUE_MAX];
	int ret;

	ret = sysctl_path(path, file, sizeof(file), err);
	if (ret < 0)
		return ret;
	ret = read_value(file, val, sizeof(val));
	if (ret == 0 && strlen(val) >= len)
		ret = -EOVERFLOW;
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_IO, ret, "reading sysctl %s", path);
	strcpy(buf, val);
	return 0;
}

int sysctl_write(const char *path, const char *value, struct cni_err *err)
{
	char file[4096], cur[SYSCTL_VALUE_MAX];
	size_t len = value ? strlen(value) : 0;
	int fd = -1, ret, refused = 0;
	ssize_t n;

	ret = sysctl_path(path, file, sizeof(file), err);
	if (ret < 0)
		return ret;
	if (!value || len == 0 || len >= SYSCTL_VALUE_MAX)
		return cni_err_set(err, CNI_ERR_IO, -EINVAL, "writing sysctl %s: bad value", path);
	/*
	 * One open serves the read and the write. Reading first tells a missing
	 * knob (-ENOENT) apart from a refused write, and a value already there
	 * needs no write (read-only /proc/sys).
	 */
	fd = open_knob(file, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM)) {
		refused = errno;
		fd = open_knob(file, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = read_fd(fd, cur, sizeof(cur));
	if (ret < 0 || !strcmp(cur, value))
		goto out;
	if (refused) {
		ret = -refused;
		goto out;
	}
	n = pwrite(fd, value, len, 0);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
out:
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_IO, ret, "writing %s to sysctl %s", value, path);
	return 0;
}
