/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_SYSCTL_H
#define CNI_SYSCTL_H

#include <stddef.h>

#include "cni/err.h"

/*
 * Paths are relative to /proc/sys and must start with "net/"
 * ("net/ipv4/conf/eth0/rp_filter"); they act on the netns of the calling
 * thread. A path with a ".." component is -EINVAL; a knob that does not exist
 * (IPv6 disabled, no such link) is -ENOENT. Failures fill err (CNI_ERR_IO).
 */

/* Writes value unless the knob already holds it (so read-only /proc/sys is fine then). */
int sysctl_write(const char *path, const char *value, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Reads the value without its trailing newline into buf; -EOVERFLOW if len is too small. */
int sysctl_read(const char *path, char *buf, size_t len, struct cni_err *err)
	__attribute__((warn_unused_result));

#endif
