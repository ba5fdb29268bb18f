/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_CONNTRACK_H
#define CNI_CONNTRACK_H

/*
 * Connection tracking entries through ctnetlink (NETLINK_NETFILTER), in the
 * netns of the calling thread. Failures fill err with CNI_ERR_NETLINK.
 */

#include <stddef.h>
#include <stdint.h>

#include "cni/err.h"
#include "cni/ip.h"

/* Which entries: those whose original direction goes to dport over l4proto. */
struct ct_match {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t l4proto;		/* IPPROTO_UDP, ... */
	uint16_t dport;			/* host byte order */
	const struct cni_ip *daddr;	/* original destination, or NULL for any */
};

/*
 * Deletes every matching entry: a UDP stream that began before a DNAT rule
 * existed keeps its untranslated entry, and so keeps missing the pod, until
 * the entry goes. The kernel filters the dump (5.8+; older ones send all and
 * we filter here). An entry that vanishes meanwhile is no error. *deleted
 * (may be NULL) gets the count. Returns 0 or -errno.
 */
int ct_delete(const struct ct_match *m, size_t *deleted, struct cni_err *err)
	__attribute__((warn_unused_result));

#endif
