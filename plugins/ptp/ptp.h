/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PTP_H
#define PTP_H

/*
 * ptp internals: config, the layout plan (pure: what goes where, computed
 * from the IPAM result), and the host/pod steps that apply or check it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni/conf.h"
#include "cni/err.h"
#include "cni/ip.h"
#include "cni/nl.h"
#include "cni/result.h"
#include "cni/skel.h"

/* rpFilter absent: leave the host veth's rp_filter as the kernel made it. */
#define PTP_RP_UNSET (-1)

struct ptp_conf {
	bool ipmasq;
	bool proxy_arp;			/* Calico-style layout */
	unsigned int mtu;		/* 0: kernel default */
	int rp_filter;			/* 0, 1, 2 or PTP_RP_UNSET */
};

/*
 * Hands a scratch error to err whole (its message already ends in strerror,
 * and its details carry the kernel's extack) unless err holds one already.
 */
static inline int ptp_err_take(struct cni_err *err, const struct cni_err *from, int ret)
{
	if (err && !cni_err_is_set(err))
		*err = *from;
	return ret;
}

/* Reads the plugin keys of conf; CNI_ERR_CONFIG / CNI_ERR_DECODE on bad values. */
int ptp_conf_parse(const struct cni_conf *conf, struct ptp_conf *out, struct cni_err *err)
	__attribute__((warn_unused_result));

/* The proxyArp layout's fixed host veth MAC and the gateways it implies. */
extern const uint8_t ptp_proxy_mac[NL_MAC_LEN];
extern const struct cni_ip ptp_proxy_gw4;	/* 169.254.1.1 */
extern const struct cni_ip ptp_proxy_gw6;	/* link-local of ptp_proxy_mac (EUI-64) */

/* One pod address and everything derived from it. */
struct ptp_addr {
	struct cni_prefix ipam;		/* as IPAM gave it: pod IP with the pod network's length */
	struct cni_prefix pod;		/* what the pod's interface holds */
	struct cni_prefix subnet;	/* the pod network (host bits cleared) */
	struct cni_ip gw;		/* the pod's next hop */
	struct cni_prefix host_addr;	/* the host veth's address; family 0 = none */
	uint8_t host_route_scope;	/* of the podIP/32 route on the host */
};

struct ptp_plan {
	bool proxy_arp;
	struct ptp_addr *addrs;
	size_t n_addrs;
	bool has_v4, has_v6;
	int pod_iface;			/* index of the pod interface in result */
	struct cni_result *result;	/* what ADD prints (interfaces filled by the caller) */
};

/*
 * Plans the layout from IPAM's result (its ips go to interface 1, the pod).
 * Fails with CNI_ERR_IPAM when IPAM gave no address, CNI_ERR_CONFIG when the
 * reference layout lacks a gateway or an address's prefix cannot hold it.
 * dns (may be NULL or empty) overrides IPAM's. Free with ptp_plan_clear().
 */
int ptp_plan_from_ipam(const struct ptp_conf *c, const struct cni_result *ipam,
		       const struct cni_dns *dns, struct ptp_plan *out, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * The same plan rebuilt from a result ADD printed (CHECK's prevResult):
 * addresses of the interface named ifname with sandbox netns. CNI_ERR_CHECK
 * when prevResult does not describe this attachment.
 */
int ptp_plan_from_result(const struct ptp_conf *c, const struct cni_result *prev, const char *ifname,
			 const char *netns, struct ptp_plan *out, struct cni_err *err)
	__attribute__((warn_unused_result));
void ptp_plan_clear(struct ptp_plan *p);

/* The masquerade prefixes: each pod IP with its pod network's length. malloc'ed (n may be 0). */
int ptp_plan_masq(const struct ptp_plan *p, struct cni_prefix **out, size_t *n)
	__attribute__((warn_unused_result));

/* The routes the layout puts in the pod, in order, IPAM's routes last. malloc'ed. */
int ptp_plan_pod_routes(const struct ptp_plan *p, int oif, struct nl_route **out, size_t *n)
	__attribute__((warn_unused_result));

/* Host side (node netns: the calling thread's) */

/* ip_forward / IPv6 all.forwarding as the plan's families need. */
int ptp_host_forwarding(struct nl_sock *host, const struct ptp_plan *p, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Knobs of the new, still down, host veth, then link up, addresses and pod routes. */
int ptp_host_setup(struct nl_sock *host, const struct ptp_conf *c, const struct ptp_plan *p,
		   const struct nl_link *veth, struct cni_err *err)
	__attribute__((warn_unused_result));
/* CHECK: the host veth is ours and carries what setup put there. CNI_ERR_CHECK otherwise. */
int ptp_host_check(struct nl_sock *host, const struct ptp_conf *c, const struct ptp_plan *p,
		   const struct nl_link *veth, struct cni_err *err)
	__attribute__((warn_unused_result));

/* Pod side (socket in the pod netns) */

/* Replaces connected routes by the layout's and adds IPAM's routes. */
int ptp_pod_routes(struct nl_sock *pod, const struct ptp_plan *p, int ifindex, struct cni_err *err)
	__attribute__((warn_unused_result));
/* CHECK: the layout's routes are there and no connected route bypasses the gateway. */
int ptp_pod_check_routes(struct nl_sock *pod, const struct ptp_plan *p, int ifindex,
			 struct cni_err *err) __attribute__((warn_unused_result));

/* The plugin's verbs, for main.c and the unit tests that drive them. */
extern const struct cni_plugin ptp_plugin;

#endif
