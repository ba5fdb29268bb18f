/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNIP_BRIDGE_H
#define CNIP_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "cni/nl.h"
#include "cni/skel.h"

struct br_trunk {
	uint16_t min, max;		/* one VLAN: min == max */
};

/* The bridge plugin's keys (DESIGN.md §2) plus proxyArp and rpFilter. */
struct br_conf {
	const char *bridge;		/* "cni0" */
	bool is_gw;			/* isGateway (implied by isDefaultGateway) */
	bool is_default_gw;
	bool force_address;
	bool ip_masq;
	const char *ip_masq_backend;	/* informative only: we always use nftables */
	unsigned int mtu;
	bool hairpin;
	bool promisc;
	uint16_t vlan;			/* 0: none; with a trunk, its native VLAN */
	struct br_trunk *trunk;
	size_t n_trunk;
	bool preserve_default_vlan;	/* default false (upstream v1.8; true before) */
	bool macspoofchk;
	bool enable_dad;
	bool disable_container_iface;
	bool port_isolation;
	bool proxy_arp;
	int rp_filter;			/* -1: leave as is */
	bool has_mac;			/* pod MAC from CNI_ARGS / args / runtimeConfig */
	uint8_t mac[NL_MAC_LEN];
	bool l3;			/* an IPAM plugin is configured */
};

/* Reads and validates the keys from ctx->conf (CNI_ERR_CONFIG / DECODE). */
int br_conf_load(struct cni_ctx *ctx, struct br_conf *c) __attribute__((warn_unused_result));
void br_conf_release(struct br_conf *c);

/* Node side, in the node netns (sk, and sysctls of the calling thread). */

/* Creates or adopts the bridge (accept_ra=0, vlan_filtering, promisc, proxy_arp, rp_filter, up). */
int br_ensure(struct nl_sock *sk, const struct br_conf *c, struct nl_link *out, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Makes ifindex a port of bridge: master, hairpin, isolation, VLANs, rp_filter, up. */
int br_port_setup(struct nl_sock *sk, const struct br_conf *c, int bridge, int ifindex,
		  const char *ifname, struct cni_err *err) __attribute__((warn_unused_result));
/* The link that carries the gateway addresses: the bridge, or "<bridge>.<vlan>" with a VLAN. */
int br_gateway_link(struct nl_sock *sk, const struct br_conf *c, const struct nl_link *br,
		    bool create, struct nl_link *out, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Puts gw/len on the gateway link gl (forceAddress rules as the reference); *added if it did. */
int br_gateway_addr(struct nl_sock *sk, const struct br_conf *c, const struct nl_link *gl,
		    const struct cni_prefix *gw, bool *added, struct cni_err *err)
	__attribute__((warn_unused_result));
/*
 * Pins the gateway link's MAC to gl->mac (gl as read before this ADD's port
 * joined) when it changed since, or when added; *now: the link as it is after.
 */
int br_gateway_pin(struct nl_sock *sk, const struct nl_link *gl, bool added, struct nl_link *now,
		   struct cni_err *err) __attribute__((warn_unused_result));

/* The plugin's verbs, for main.c and the unit tests that drive them. */
extern const struct cni_plugin bridge_plugin;

#endif
