/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_NETNS_H
#define CNI_NETNS_H

#include <stdbool.h>

#include "cni/err.h"

/*
 * Opens a network namespace by path: an nsfs mount (/run/netns/x) or
 * /proc/PID/ns/net. -ENOENT when it is gone (CNI_ERR_UNKNOWN_CONTAINER),
 * -EINVAL when the path is not a netns (CNI_ERR_ENV). *fd is O_CLOEXEC.
 */
int cni_netns_open(const char *path, int *fd, struct cni_err *err) __attribute__((warn_unused_result));
/* Is fd the network namespace this thread is in now? */
bool cni_netns_is_current(int fd);
/* Switches this thread into fd; *saved receives a handle to come back with. */
int cni_netns_enter(int fd, int *saved, struct cni_err *err) __attribute__((warn_unused_result));
/* Returns to the saved netns and closes it; -1 is a no-op. Failing to return is fatal: aborts. */
void cni_netns_leave(int saved);
/* Runs fn(arg) inside fd and comes back; returns fn's result. */
int cni_netns_run(int fd, int (*fn)(void *arg), void *arg, struct cni_err *err);

#endif
