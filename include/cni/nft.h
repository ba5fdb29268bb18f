/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_NFT_H
#define CNI_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni/conf.h"
#include "cni/ip.h"

struct cni_err;
struct cni_prefix;

/*
 * nftables for the plugins: masquerade, MAC spoof check, hostPort mapping.
 * Every feature keeps one chain per attachment in its own table and map
 * elements keyed by what a packet carries (address, port, ifname), so a
 * packet costs a hash lookup and ADD and DEL touch only one attachment's
 * objects. Masquerade's elements hold their owner as data and its chains are
 * records; the others' elements jump to the chain. Each change is one nftables
 * transaction (all or nothing). Errors: 0 or -errno with err filled (code
 * CNI_ERR_NFT naming the object; CHECK differences CNI_ERR_CHECK, -ENOENT).
 */

/* A NETLINK_NETFILTER socket, owned by the caller: one per invocation. */
struct nft_sock;

/* Opens one in the netns of the calling thread; nft_close(NULL) is a no-op. */
int nft_open(struct nft_sock **out, struct cni_err *err) __attribute__((warn_unused_result));
void nft_close(struct nft_sock *s);

/* Who an attachment is: the network's name, the container ID, the pod ifname. */
struct nft_attach {
	const char *network;
	const char *container_id;
	const char *ifname;
};

/*
 * Masquerade traffic from each pod address of ips (with the pod's prefix
 * length, "10.22.0.5/16") to anything outside that prefix, except multicast.
 * Table "inet cnip_masq". Idempotent: a repeated ADD leaves the same
 * ruleset; an address owned by another attachment is taken over.
 */
int nft_masq_add(struct nft_sock *s, const struct nft_attach *a, const struct cni_prefix *ips,
		 size_t n, struct cni_err *err) __attribute__((warn_unused_result));

/*
 * Removes the attachment's masquerade: ours (also what versions with table
 * inet cnip_masquerade made), and what the reference plugins
 * made for it (iptables chain CNI-<hash> in ip/ip6 nat and its POSTROUTING
 * jumps; rules of table inet cni_plugins_masquerade). ips may be empty (n = 0):
 * what we made is found from a alone. Nothing there is success. Continues
 * past errors and returns the first one.
 */
int nft_masq_del(struct nft_sock *s, const struct nft_attach *a, const struct cni_prefix *ips,
		 size_t n, struct cni_err *err) __attribute__((warn_unused_result));

/*
 * 0 if our masquerade for a covers exactly ips (an attachment made by a
 * version with table inet cnip_masquerade is checked there); CNI_ERR_CHECK
 * saying what differs.
 */
int nft_masq_check(struct nft_sock *s, const struct nft_attach *a, const struct cni_prefix *ips,
		   size_t n, struct cni_err *err) __attribute__((warn_unused_result));

/*
 * Removes every attachment of network (ours, those of table inet
 * cnip_masquerade, and the reference's nftables backend rules) whose
 * (container_id, ifname) is not in keep (GC's cni.dev/valid-attachments as
 * parsed), and the table inet cnip_masquerade once it serves no address.
 * Continues past errors and returns the first one.
 */
int nft_masq_gc(struct nft_sock *s, const char *network, const struct cni_attachment *keep,
		size_t nkeep, struct cni_err *err) __attribute__((warn_unused_result));

/*
 * MAC spoof check (bridge "macspoofchk"): frames entering the bridge from the
 * host veth host_ifname must carry the pod's MAC. Table "bridge cnip_spoofchk".
 * ADD installs or replaces the attachment's rules for mac (idempotent; a port
 * element left by another attachment is taken over).
 */
int nft_spoofchk_add(struct nft_sock *s, const struct nft_attach *a, const char *host_ifname,
		     const uint8_t mac[6], struct cni_err *err) __attribute__((warn_unused_result));

/*
 * Removes the attachment's rules and what the reference bridge's macspoofchk
 * made for it (table bridge nat: chains cni-br-iface-<cid>-<ifname>[-mac] and
 * the PREROUTING rule commented macspoofchk-<cid>-<ifname>). host_ifname may
 * be NULL. Nothing there is success; continues past errors, returns the first.
 */
int nft_spoofchk_del(struct nft_sock *s, const struct nft_attach *a, const char *host_ifname,
		     struct cni_err *err) __attribute__((warn_unused_result));

/* 0 when the base chain, the attachment chain (for mac) and the port's element
 * are as ADD makes them; CNI_ERR_CHECK saying what differs otherwise. */
int nft_spoofchk_check(struct nft_sock *s, const struct nft_attach *a, const char *host_ifname,
		       const uint8_t mac[6], struct cni_err *err) __attribute__((warn_unused_result));

/* Removes our rules of every attachment of network not in keep (as nft_masq_gc). */
int nft_spoofchk_gc(struct nft_sock *s, const char *network, const struct cni_attachment *keep,
		    size_t n, struct cni_err *err) __attribute__((warn_unused_result));

/*
 * hostPort mapping (portmap), a feature of the attachment engine. Table "inet
 * cnip_hostport": base chains prerouting and output (nat, dstnat) let only
 * packets addressed to the node itself on (fib daddr type local) and look
 * them up in four verdict maps: hostip4/hostip6 (host address . protocol .
 * port) and hostport4/hostport6 (protocol . port, every local address). Each
 * element leads to the attachment's chain "pm-" H(network) "-" H(ifname ":"
 * cid), which marks what must be masqueraded and DNATs to the pod. Base chain
 * "masq-bit<N>" (nat, srcnat) masquerades packets carrying mark bit N. ADD
 * and DEL touch only the attachment's chain and its elements, in one
 * transaction each. The caller owns the socket (nft_open()). Errors:
 * CNI_ERR_NFT naming the object; a hostPort that another attachment holds is
 * CNI_ERR_EXISTS naming that attachment, which keeps it.
 */

/* One condition of conditionsV4/V6. */
enum nft_pm_match_kind {
	NFT_PM_SADDR,
	NFT_PM_DADDR,
	NFT_PM_IIFNAME,
	NFT_PM_OIFNAME,
};

struct nft_pm_match {
	enum nft_pm_match_kind kind;
	bool neg;			/* != */
	struct cni_prefix addr;		/* SADDR, DADDR */
	char ifname[16];		/* IIFNAME, OIFNAME */
	bool prefix;			/* ifname matches as a prefix ("eth*", iptables "eth+") */
};

/* One port mapping. */
struct nft_pm_map {
	uint8_t proto;			/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
	uint16_t host_port, container_port;
	/* family 0: every local address of each pod family; an all-zero address of a
	 * family (0.0.0.0, ::): every local address of that family only. */
	struct cni_ip host_ip;
};

struct nft_portmap {
	const char *network;
	const char *container_id;
	const char *ifname;
	struct cni_prefix pod4, pod6;	/* the pod's addresses (ip.family 0: none) */
	const struct nft_pm_map *maps;
	size_t n;
	bool snat;			/* masquerade hairpin and localhost traffic */
	bool masq_all;			/* masquerade everything DNAT'ed */
	unsigned int mark_bit;		/* 0..31 */
	const struct nft_pm_match *cond4, *cond6;
	size_t ncond4, ncond6;
};

/* A mapping that went away, for the conntrack flush: host_ip zero means any local address. */
struct nft_pm_gone {
	int family;
	uint8_t proto;
	uint16_t port;
	struct cni_ip host_ip;
};

/* "tcp", "udp", "sctp"; NULL for any other protocol number. */
const char *nft_pm_proto_name(uint8_t proto);

/* Installs or replaces the attachment's mappings (all of them in one transaction). */
int nft_portmap_add(struct nft_sock *s, const struct nft_portmap *pm, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * Removes the attachment's mappings, found from network, container ID and
 * ifname alone (maps and pod addresses may be absent), and what the
 * reference portmap made for the container (iptables-nft chains CNI-DN-<hash>
 * and CNI-SN-<hash> with their jumps; rules commented with the container ID
 * in tables ip/ip6 cni_hostport). *gone (may be NULL; free()) gets what was
 * removed of ours. Nothing there is success; continues past errors.
 */
int nft_portmap_del(struct nft_sock *s, const struct nft_portmap *pm, struct nft_pm_gone **gone,
		    size_t *ngone, struct cni_err *err) __attribute__((warn_unused_result));

/* 0 if every mapping of pm is in place; CNI_ERR_CHECK (-ENOENT) saying what is not. */
int nft_portmap_check(struct nft_sock *s, const struct nft_portmap *pm, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * Removes the mappings of every attachment of network not in keep (ours, and
 * the reference's iptables chains whose jump is commented with network and a
 * container ID not in keep). *gone as for DEL.
 */
int nft_portmap_gc(struct nft_sock *s, const char *network, const struct cni_attachment *keep, size_t nkeep,
		   struct nft_pm_gone **gone, size_t *ngone, struct cni_err *err)
	__attribute__((warn_unused_result));


/*
 * The firewall plugin: each pod address may send, and receive replies and
 * connections DNAT'ed to it, through the node's FORWARD filtering (table
 * inet cnip_firewall, one mark bit carried into iptables-nft's ip/ip6 filter
 * FORWARD where the accept must live; see pkg/nft/firewall.c for the
 * picture). admin_chain (iptablesAdminChainName) is jumped to first. With a
 * bridge, its ingress policy: no traffic to another bridge with a policy,
 * and with isolated none between its own pods either.
 */
struct nft_fw {
	const struct cni_prefix *ips;
	size_t n;
	const char *admin_chain;
	const char *bridge;		/* NULL: ingress policy "open" */
	bool isolated;
};

/* Idempotent; an address owned by another (stale) attachment is taken over. */
int nft_fw_add(struct nft_sock *s, const struct nft_attach *a, const struct nft_fw *fw,
	       struct cni_err *err) __attribute__((warn_unused_result));
/* Removes the attachment's rules (ips may be empty) and the reference's rules for ips. */
int nft_fw_del(struct nft_sock *s, const struct nft_attach *a, const struct cni_prefix *ips, size_t n,
	       struct cni_err *err) __attribute__((warn_unused_result));
int nft_fw_check(struct nft_sock *s, const struct nft_attach *a, const struct nft_fw *fw,
		 struct cni_err *err) __attribute__((warn_unused_result));
int nft_fw_gc(struct nft_sock *s, const char *network, const struct cni_attachment *keep, size_t n,
	      struct cni_err *err) __attribute__((warn_unused_result));

#endif

