/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_NFT_H
#define CNI_NFT_H

#include <stddef.h>

struct cni_err;
struct cni_prefix;

/* Who an attachment is: the network's name, the container ID, the pod ifname. */
struct nft_masq_id {
	const char *network;
	const char *container_id;
	const char *ifname;
};

/*
 * Masquerade traffic from each pod address of ips (with the pod's prefix
 * length, "10.22.0.5/16") to anything outside that prefix, except multicast.
 * Works in the netns of the calling thread, in one nftables transaction:
 * all of it commits or nothing changes. Idempotent: a repeated ADD leaves the
 * same ruleset; an address owned by another attachment is taken over.
 * Returns 0 or -errno with err filled (code CNI_ERR_NFT, naming the object).
 */
int nft_masq_add(const struct nft_masq_id *id, const struct cni_prefix *ips, size_t n,
		 struct cni_err *err) __attribute__((warn_unused_result));

/*
 * Removes the attachment's masquerade: ours, and what the reference plugins
 * made for it (iptables chain CNI-<hash> in ip/ip6 nat and its POSTROUTING
 * jumps; rules of table inet cni_plugins_masquerade). ips may be empty (n = 0):
 * what we made is found from id alone. Nothing there is success. Continues
 * past errors and returns the first one.
 */
int nft_masq_del(const struct nft_masq_id *id, const struct cni_prefix *ips, size_t n,
		 struct cni_err *err) __attribute__((warn_unused_result));

/*
 * 0 if our masquerade for id covers exactly ips; -ENOENT with err (code
 * CNI_ERR_CHECK) saying what is missing or different; other -errno on failure.
 */
int nft_masq_check(const struct nft_masq_id *id, const struct cni_prefix *ips, size_t n,
		   struct cni_err *err) __attribute__((warn_unused_result));

/*
 * Removes every attachment of network (ours, and the reference's nftables
 * backend rules) whose (container_id, ifname) is not in keep (keep[i].network
 * is ignored). Continues past errors and returns the first one.
 */
int nft_masq_gc(const char *network, const struct nft_masq_id *keep, size_t nkeep,
		struct cni_err *err) __attribute__((warn_unused_result));

#endif
