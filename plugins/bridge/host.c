// SPDX-License-Identifier: GPL-2.0-or-later
/* The node side of the bridge plugin: the bridge, its ports, its gateway addresses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cni/knob.h"
#include "cni/podnet.h"
#include "bridge.h"

/* Hands a scratch error (with its kernel details) to err unless err already holds one. */
static int err_take(struct cni_err *err, const struct cni_err *from, int ret)
{
	if (err && !cni_err_is_set(err))
		*err = *from;
	return ret;
}

/* rp_filter of a bridge or port, when the config sets one. */
static int rp_filter_set(struct nl_sock *sk, const struct br_conf *c, int ifindex, const char *ifname,
			 struct cni_err *err)
{
	struct knob_link l = { .sk = sk, .netns_fd = -1, .ifindex = ifindex, .ifname = ifname };
	struct knob k = { "ipv4/conf/rp_filter", c->rp_filter, 0 };

	if (c->rp_filter < 0)
		return 0;
	return knob_set(&l, &k, 1, err);
}

static int br_create(struct nl_sock *sk, const struct br_conf *c, struct nl_link *out, struct cni_err *err)
{
	uint8_t mac[NL_MAC_LEN];
	struct nl_bridge b = {
		.name = c->bridge,
		.mtu = c->mtu,
		.vlan_filtering = c->vlan || c->n_trunk,
		.mac = mac,
	};
	struct cni_err scratch = { 0 };
	int ret;

	/*
	 * The MAC goes in the request that creates the bridge: a bridge whose
	 * address was set never follows its lowest port, so every concurrent
	 * ADD sees, and reports, the MAC the bridge keeps. Random and locally
	 * administered, as the kernel would pick it.
	 */
	if (getrandom(mac, sizeof(mac), 0) != sizeof(mac))
		return cni_err_set(err, CNI_ERR_IO, -errno, "choosing a MAC for bridge %s", c->bridge);
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
	ret = nl_link_add_bridge(sk, &b, NULL, &scratch);
	/* A parallel ADD made it first: adopt theirs. */
	if (ret < 0 && ret != -EEXIST)
		return err_take(err, &scratch, ret);
	ret = nl_link_get(sk, c->bridge, out, err);
	if (ret < 0)
		return ret;
	/* We own the bridge's routes: router advertisements must not add any. */
	return knob_set(&(struct knob_link){ .sk = sk, .netns_fd = -1, .ifindex = out->ifindex,
					     .ifname = out->name },
			&(struct knob){ "ipv6/conf/accept_ra", 0, KNOB_MISSING_OK }, 1, err);
}

int br_ensure(struct nl_sock *sk, const struct br_conf *c, struct nl_link *out, struct cni_err *err)
{
	struct cni_err scratch = { 0 };
	bool changed = false;
	struct nl_link br;
	int ret;

	ret = nl_link_get(sk, c->bridge, &br, &scratch);
	if (ret == -ENODEV)
		ret = br_create(sk, c, &br, err);
	else if (ret < 0)
		return err_take(err, &scratch, ret);
	if (ret < 0)
		return ret;
	if (strcmp(br.kind, "bridge"))
		return cni_err_set(err, CNI_ERR_EXISTS, -EEXIST, "%s already exists but is not a bridge", c->bridge);
	if ((c->vlan || c->n_trunk) && !br.vlan_filtering) {
		ret = nl_bridge_set_vlan_filtering(sk, br.ifindex, true, err);
		if (ret < 0)
			return ret;
		br.vlan_filtering = true;
	}
	if (c->promisc && !br.promisc) {
		ret = nl_link_set_promisc(sk, br.ifindex, true, err);
		if (ret < 0)
			return ret;
		changed = true;
	}
	if (c->proxy_arp) {
		/* Without proxy_delay=0 the kernel delays proxy answers by up to 0.8 s. */
		static const struct knob proxy[] = {
			{ "ipv4/conf/proxy_arp", 1, 0 },
			{ "ipv4/neigh/proxy_delay", 0, 0 },
		};

		ret = knob_set(&(struct knob_link){ .sk = sk, .netns_fd = -1, .ifindex = br.ifindex,
						    .ifname = br.name }, proxy, 2, err);
		if (ret < 0)
			return ret;
	}
	ret = rp_filter_set(sk, c, br.ifindex, br.name, err);
	if (ret < 0)
		return ret;
	if (!br.up) {
		ret = nl_link_set_up(sk, br.ifindex, true, err);
		if (ret < 0)
			return ret;
		changed = true;
	}
	/* Read it back only when we changed it: every ADD passes here. */
	if (changed)
		return nl_link_get_index(sk, br.ifindex, out, err);
	*out = br;
	return 0;
}

static int port_vlans(struct nl_sock *sk, const struct br_conf *c, uint16_t vlan, int ifindex,
		      struct cni_err *err)
{
	struct cni_err scratch = { 0 };
	size_t i;
	int ret = 0;

	if (!vlan && !c->n_trunk)
		return 0;
	/*
	 * A new port joins the default VLAN 1 untagged; it leaves it unless
	 * preserveDefaultVlan (upstream v1.8 made false the default).
	 */
	if (!c->preserve_default_vlan) {
		ret = nl_bridge_vlan_del(sk, ifindex, 1, 1, 0, &scratch);
		if (ret < 0 && ret != -ENOENT && ret != -EINVAL)
			return err_take(err, &scratch, ret);
	}
	if (vlan) {
		ret = nl_bridge_vlan_add(sk, ifindex, vlan, vlan, NL_VLAN_PVID | NL_VLAN_UNTAGGED, err);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < c->n_trunk; i++) {
		ret = nl_bridge_vlan_add(sk, ifindex, c->trunk[i].min, c->trunk[i].max, 0, err);
		if (ret < 0)
			return ret;
	}
	/* A trunk without vlan keeps VLAN 1 as its native VLAN, as upstream v1.8 does. */
	if (!vlan && c->n_trunk)
		ret = nl_bridge_vlan_add(sk, ifindex, 1, 1, NL_VLAN_PVID | NL_VLAN_UNTAGGED, err);
	return ret < 0 ? ret : 0;
}

int br_port_setup(struct nl_sock *sk, const struct br_conf *c, int bridge, int ifindex,
		  const char *ifname, struct cni_err *err)
{
	int ret;

	ret = nl_link_set_master(sk, ifindex, bridge, err);
	/* The kernel says only "Exchange full" (BR_MAX_PORTS is 1024, port 0 unused). */
	if (ret == -EXFULL) {
		cni_err_clear(err);
		return cni_err_set(err, CNI_ERR_NETLINK, ret,
				   "bridge %s is full (a Linux bridge holds at most 1023 ports): attaching %s",
				   c->bridge, ifname);
	}
	if (!ret && c->hairpin)
		ret = nl_bridge_port_set_hairpin(sk, ifindex, true, err);
	if (!ret && c->port_isolation)
		ret = nl_bridge_port_set_isolated(sk, ifindex, true, err);
	if (!ret)
		ret = port_vlans(sk, c, c->vlan, ifindex, err);
	if (!ret)
		ret = rp_filter_set(sk, c, ifindex, ifname, err);
	if (!ret)
		ret = nl_link_set_up(sk, ifindex, true, err);
	return ret;
}

/*
 * With a VLAN the gateway must live in that VLAN: like the reference, a veth
 * "<bridge>.<vlan>" whose other end is an untagged PVID port of the bridge.
 */
int br_gateway_link(struct nl_sock *sk, const struct br_conf *c, const struct nl_link *br,
		    bool create, struct nl_link *out, struct cni_err *err)
{
	char name[32], peer[PODNET_VETH_NAMELEN], vid[8];
	struct cni_err scratch = { 0 };
	struct nl_veth v = { .peer_netns_fd = -1 };
	struct nl_link l, pl;
	int ret;

	if (!c->vlan) {
		*out = *br;
		return 0;
	}
	snprintf(name, sizeof(name), "%s.%u", c->bridge, c->vlan);
	if (strlen(name) >= NL_IFNAMSIZ)
		return cni_err_set(err, CNI_ERR_CONFIG, -ENAMETOOLONG,
				   "gateway interface name %s is too long; use a shorter bridge name", name);
	ret = nl_link_get(sk, name, &l, &scratch);
	if (ret == 0 || !create) {
		if (ret < 0)
			return err_take(err, &scratch, ret);
		*out = l;
		return 0;
	}
	if (ret != -ENODEV)
		return err_take(err, &scratch, ret);
	snprintf(vid, sizeof(vid), "%u", c->vlan);
	podnet_veth_name(c->bridge, "vlan-gateway", vid, peer);
	v.name = name;
	v.peer_name = peer;
	v.mtu = br->mtu;
	ret = nl_link_add_veth(sk, &v, NULL, &scratch);
	if (ret < 0 && ret != -EEXIST)
		return err_take(err, &scratch, ret);
	ret = nl_link_get(sk, peer, &pl, err);
	if (!ret) {
		struct br_conf pc = *c;

		pc.hairpin = pc.port_isolation = false;
		pc.n_trunk = 0;
		pc.rp_filter = -1;
		ret = br_port_setup(sk, &pc, br->ifindex, pl.ifindex, peer, err);
	}
	if (!ret)
		ret = nl_link_get(sk, name, &l, err);
	if (!ret)
		ret = nl_link_set_up(sk, l.ifindex, true, err);
	if (!ret)
		ret = nl_link_get_index(sk, l.ifindex, out, err);
	return ret;
}

int br_gateway_addr(struct nl_sock *sk, const struct br_conf *c, const struct nl_link *gl,
		    const struct cni_prefix *gw, bool *added, struct cni_err *err)
{
	int ifindex = gl->ifindex;
	char want[CNI_PREFIX_STRLEN], have[CNI_PREFIX_STRLEN];
	struct cni_err scratch = { 0 };
	struct nl_addr *addrs = NULL;
	struct nl_addr a = { .ifindex = ifindex, .prefix = *gw };
	size_t n = 0, i;
	int ret;

	ret = nl_addr_list(sk, ifindex, gw->ip.family, &addrs, &n, err);
	if (ret < 0)
		return ret;
	cni_prefix_format(gw, want);
	for (i = 0; i < n; i++) {
		const struct nl_addr *e = &addrs[i];
		bool overlap;

		if (e->prefix.len == gw->len && cni_ip_equal(&e->prefix.ip, &gw->ip))
			goto out;
		/* IPv6 allows several addresses on the bridge as long as their subnets are apart. */
		overlap = gw->ip.family == AF_INET || cni_prefix_contains(&e->prefix, &gw->ip) ||
			  cni_prefix_contains(gw, &e->prefix.ip);
		if (!overlap)
			continue;
		if (!c->force_address) {
			ret = cni_err_set(err, CNI_ERR_CONFIG, -EEXIST, "\"%s\" already has an IP address different from %s (%s)",
					  c->bridge, want, cni_prefix_format(&e->prefix, have));
			goto out;
		}
		ret = nl_addr_del(sk, e, err);
		if (ret < 0 && ret != -EADDRNOTAVAIL)
			goto out;
	}
	/* The gateway is ours to own: waiting for DAD on it would only delay the first pods. */
	if (gw->ip.family == AF_INET6)
		a.flags = NL_ADDR_NODAD;
	ret = nl_addr_add(sk, &a, &scratch);
	/* A parallel ADD of the same network may have added it just now (and pins). */
	if (ret == -EEXIST)
		ret = 0;
	else if (ret < 0)
		err_take(err, &scratch, ret);
	else
		*added = true;
out:
	free(addrs);
	return ret;
}

/*
 * A bridge whose MAC nobody set takes the lowest MAC of its ports, so the port
 * this ADD added may have changed it: pin the MAC gl had before, the one the
 * pods already there know their gateway by. Only then, or when a gateway
 * address was just added (as the reference does, so a bridge someone else
 * made keeps its MAC from its first gateway on): setting a MAC, even the same
 * one, flushes the link's ARP and ND caches (NETDEV_CHANGEADDR), every pod's
 * entry on the node. A bridge whose last port left has an all-zero MAC (the
 * reference fails on it): no pod knows one, so the current one is as good.
 */
int br_gateway_pin(struct nl_sock *sk, const struct nl_link *gl, bool added, struct nl_link *now,
		   struct cni_err *err)
{
	static const uint8_t zero[NL_MAC_LEN];
	uint8_t mac[NL_MAC_LEN];
	int ret;

	ret = nl_link_get_index(sk, gl->ifindex, now, err);
	if (ret < 0)
		return ret;
	memcpy(mac, memcmp(gl->mac, zero, NL_MAC_LEN) ? gl->mac : now->mac, NL_MAC_LEN);
	if (!added && !memcmp(mac, now->mac, NL_MAC_LEN))
		return 0;
	ret = nl_link_set_mac(sk, gl->ifindex, mac, err);
	if (!ret)
		memcpy(now->mac, mac, NL_MAC_LEN);
	return ret;
}
