// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cni/netns.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int cni_netns_open(const char *path, int *fd, struct cni_err *err)
{
	struct statfs sfs;
	int f, type;

	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return cni_err_set(err, errno == ENOENT ? CNI_ERR_UNKNOWN_CONTAINER : CNI_ERR_ENV, -errno,
				   "opening netns \"%s\"", path);
	/* A plain file or a stale mount point is not a namespace, whatever its path. */
	if (fstatfs(f, &sfs) < 0 || sfs.f_type != NSFS_MAGIC) {
		close(f);
		return cni_err_set(err, CNI_ERR_ENV, 0, "CNI_NETNS \"%s\" is not a network namespace",
				   path);
	}
	type = ioctl(f, NS_GET_NSTYPE);
	if (type >= 0 && type != CLONE_NEWNET) {
		close(f);
		return cni_err_set(err, CNI_ERR_ENV, 0,
				   "CNI_NETNS \"%s\" is a namespace, but not a network namespace", path);
	}
	*fd = f;
	return 0;
}

bool cni_netns_is_current(int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0 || stat("/proc/thread-self/ns/net", &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int cni_netns_enter(int fd, int *saved, struct cni_err *err)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (self < 0)
		return cni_err_set(err, CNI_ERR_IO, -errno, "opening the current netns");
	if (setns(fd, CLONE_NEWNET) < 0) {
		int e = -errno;

		close(self);
		return cni_err_set(err, CNI_ERR_IO, e, "entering netns");
	}
	*saved = self;
	return 0;
}

void cni_netns_leave(int saved)
{
	if (saved < 0)
		return;
	/* Staying in the pod's netns would make every later step act on the wrong node. */
	if (setns(saved, CLONE_NEWNET) < 0)
		abort();
	close(saved);
}

int cni_netns_run(int fd, int (*fn)(void *arg), void *arg, struct cni_err *err)
{
	int saved = -1, ret;

	ret = cni_netns_enter(fd, &saved, err);
	if (ret < 0)
		return ret;
	ret = fn(arg);
	cni_netns_leave(saved);
	return ret;
}
