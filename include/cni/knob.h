/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_KNOB_H
#define CNI_KNOB_H

/*
 * The per-interface knobs of one link (the files under
 * /proc/sys/net/{ipv4,ipv6}/{conf,neigh}/<ifname>/), set and checked the same
 * way by every plugin. A knob is named by its directory and file without the
 * link: "ipv4/conf/arp_notify", "ipv4/neigh/proxy_delay", "ipv6/conf/accept_ra".
 * Values are integers (proxy_delay in USER_HZ ticks, as the file shows it).
 * Arbitrary net/ paths stay with sysctl_read()/sysctl_write().
 * Fallible calls return 0 or -errno and fill err (may be NULL).
 */

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"

struct nl_sock;

struct knob_link {
	struct nl_sock *sk;		/* a route socket in the link's netns */
	int netns_fd;			/* the link's netns; -1: the calling thread's */
	int ifindex;
	const char *ifname;
};

/* The knob may be absent (IPv6 knobs where IPv6 is disabled): skip it. */
#define KNOB_MISSING_OK 0x1

struct knob {
	const char *name;
	int value;
	unsigned int flags;
};

/*
 * Sets k[0..n) on the link in that order, each only where it differs (so a
 * read-only /proc/sys is fine when nothing changes). A missing knob without
 * KNOB_MISSING_OK is -ENOENT (CNI_ERR_IO), a bad name -EINVAL.
 */
int knob_set(const struct knob_link *l, const struct knob *k, size_t n, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * CHECK of k[0..n): a knob holding another value fails with CNI_ERR_CHECK
 * (-EINVAL, "sysctl net/ipv4/conf/veth1/rp_filter is 0, want 2"); a missing
 * knob is -ENOENT unless KNOB_MISSING_OK.
 */
int knob_check(const struct knob_link *l, const struct knob *k, size_t n, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * Node-wide forwarding (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding) of
 * sk's netns, which must be the calling thread's: turns on what is asked and
 * off, or (check) fails with CNI_ERR_CHECK (-EINVAL) where it is off.
 */
int knob_forwarding_set(struct nl_sock *sk, bool v4, bool v6, struct cni_err *err)
	__attribute__((warn_unused_result));
int knob_forwarding_check(struct nl_sock *sk, bool v4, bool v6, struct cni_err *err)
	__attribute__((warn_unused_result));

#endif
