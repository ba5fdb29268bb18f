/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_NFT_H
#define CNI_NFT_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * MAC spoof check (bridge "macspoofchk"): frames entering the bridge from the
 * host veth must carry the pod's MAC. Table "bridge cnip_spoofchk": base chain
 * prerouting (filter, priority -300) does `iifname vmap @ports`; each
 * attachment owns chain "sc-" H(network) "-" H(ifname ":" containerID) with
 * `ether saddr MAC return; drop`, and map element host_ifname : jump chain.
 * Works in the netns of the calling thread; each change is one nftables
 * transaction (all or nothing). Errors: code CNI_ERR_NFT naming the object.
 */
struct nft_spoofchk {
	const char *network;
	const char *container_id;
	const char *ifname;		/* pod interface (CNI_IFNAME) */
	const char *host_ifname;	/* host veth, the bridge port */
};

/* Installs or replaces the attachment's rules for mac. Idempotent; a map
 * element of host_ifname left by another attachment is taken over. */
int nft_spoofchk_add(const struct nft_spoofchk *a, const uint8_t mac[6], struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * Removes the attachment's rules and what the reference bridge's macspoofchk
 * made for it (table bridge nat: chains cni-br-iface-<cid>-<ifname>[-mac] and
 * the PREROUTING rule commented macspoofchk-<cid>-<ifname>). host_ifname may
 * be NULL. Nothing there is success; continues past errors, returns the first.
 */
int nft_spoofchk_del(const struct nft_spoofchk *a, struct cni_err *err)
	__attribute__((warn_unused_result));

/* 0 when the base chain, the attachment chain (for mac) and the element are
 * as ADD makes them; CNI_ERR_CHECK (-ENOENT) saying what differs otherwise. */
int nft_spoofchk_check(const struct nft_spoofchk *a, const uint8_t mac[6], struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * Removes our rules of every attachment of network whose (container_id,
 * ifname) is not in keep (network and host_ifname of keep are ignored), each
 * in its own transaction. The reference's chains carry no network name and
 * are left alone. Continues past errors and returns the first one.
 */
int nft_spoofchk_gc(const char *network, const struct nft_spoofchk *keep, size_t n,
		    struct cni_err *err) __attribute__((warn_unused_result));

#endif
