// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/hash.h"
#include "cni/knob.h"
#include "cni/podnet.h"

/* Hands a scratch error (with its kernel details) to err unless err already holds one. */
static int err_take(struct cni_err *err, const struct cni_err *from, int ret)
{
	if (err && !cni_err_is_set(err))
		*err = *from;
	return ret;
}

/*
 * The reference picks a random name, so a crashed ADD leaks a veth nobody can
 * find again. Hashing the attachment's identity gives the same name on every
 * try: a re-ADD replaces its own leftover and DEL finds the link without the
 * netns. 8 hex digits keep "veth" + hash within IFNAMSIZ and leave 2^32 names,
 * so two attachments of one node collide with negligible odds; the ':'
 * separators stop "a"+"bc" and "ab"+"c" from hashing alike.
 */
void podnet_veth_name(const char *network, const char *container_id, const char *ifname,
		      char out[PODNET_VETH_NAMELEN])
{
	char key[512], hex[9];
	int n;

	n = snprintf(key, sizeof(key), "%s:%s:%s", network, container_id, ifname);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(key))
		n = sizeof(key) - 1;
	cni_sha512_hex(key, (size_t)n, hex, 8);
	snprintf(out, PODNET_VETH_NAMELEN, "veth%s", hex);
}

char *podnet_mac_format(const uint8_t mac[NL_MAC_LEN], char *out)
{
	snprintf(out, PODNET_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int podnet_mac_parse(const char *s, uint8_t out[NL_MAC_LEN])
{
	uint8_t mac[NL_MAC_LEN];
	int i, hi, lo;

	if (!s || strlen(s) != PODNET_MAC_STRLEN - 1)
		return -EINVAL;
	for (i = 0; i < NL_MAC_LEN; i++) {
		hi = hexval(s[3 * i]);
		lo = hexval(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < NL_MAC_LEN - 1 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out, mac, NL_MAC_LEN);
	return 0;
}

/*
 * The node owns the routes of the host end, as in the reference: a pod must
 * not give the node a default route or an address by sending router
 * advertisements, which the node accepts while it does not forward IPv6.
 * The knob is absent on a node without IPv6.
 */
static int host_no_ra(struct nl_sock *host, const struct nl_link *l, struct cni_err *err)
{
	static const struct knob no_ra = { "ipv6/conf/accept_ra", 0, KNOB_MISSING_OK };
	struct knob_link kl = { .sk = host, .netns_fd = -1, .ifindex = l->ifindex, .ifname = l->name };

	return knob_set(&kl, &no_ra, 1, err);
}

int podnet_veth_create(struct nl_sock *host, struct nl_sock *pod, const struct podnet_veth_req *req,
		       struct podnet_veth *out, struct cni_err *err)
{
	struct nl_veth v = {
		.name = req->host_name,
		.peer_name = req->pod_ifname,
		.peer_netns_fd = req->pod_netns_fd,
		.mtu = req->mtu,
		.mac = req->host_mac,
		.peer_mac = req->pod_mac,
	};
	struct cni_err scratch = { 0 };
	struct podnet_veth res = { 0 };
	struct nl_link l;
	int ret;

	/*
	 * A pod that already has the interface is a live attachment, not a
	 * leftover: refuse before touching anything (its host end has our name).
	 */
	ret = nl_link_get(pod, req->pod_ifname, &l, &scratch);
	if (ret == 0)
		return cni_err_set(err, CNI_ERR_EXISTS, -EEXIST,
				   "container interface %s already exists", req->pod_ifname);
	if (ret != -ENODEV)
		return err_take(err, &scratch, ret);
	cni_err_clear(&scratch);
	ret = nl_link_get(host, req->host_name, &l, &scratch);
	if (ret == 0 && strcmp(l.kind, "veth") != 0)
		return cni_err_set(err, CNI_ERR_EXISTS, -EEXIST,
				   "host interface name %s is taken by a %s link that is not ours",
				   req->host_name, l.kind[0] ? l.kind : "kindless");
	/*
	 * Our own name, and this pod lacks the interface. A veth dies with its
	 * peer's netns, so a peer in another netns means the attachment is live
	 * there: the same container ID and ifname from a second netns. Deleting
	 * it would cut that pod off while IPAM hands its lease to this one.
	 */
	if (ret == 0 && l.link_netnsid >= 0)
		return cni_err_set(err, CNI_ERR_EXISTS, -EEXIST,
				   "attachment %s/%s is live in another network namespace (host veth %s, "
				   "peer netns id %d): DEL it first",
				   req->container_id ? req->container_id : "?", req->pod_ifname,
				   req->host_name, l.link_netnsid);
	/*
	 * A peer in the node's own netns is nobody's pod: a leftover under our
	 * name, replaced (its peer goes with it).
	 */
	if (ret == 0) {
		ret = nl_link_del(host, l.ifindex, err);
		if (ret < 0 && ret != -ENODEV)
			return ret;
		cni_err_clear(&scratch);
	} else if (ret != -ENODEV) {
		return err_take(err, &scratch, ret);
	}

	/* One lookup after the create serves both ifindex and MAC. */
	ret = nl_link_add_veth(host, &v, NULL, err);
	if (ret < 0)
		return ret;
	ret = nl_link_get(host, req->host_name, &l, err);
	if (ret < 0)
		return ret;
	res.host_ifindex = l.ifindex;
	ret = host_no_ra(host, &l, err);
	if (ret < 0)
		goto fail;
	memcpy(res.host_mac, l.mac, NL_MAC_LEN);
	snprintf(res.host_name, sizeof(res.host_name), "%s", l.name);
	ret = nl_link_get(pod, req->pod_ifname, &l, err);
	if (ret < 0)
		goto fail;
	memcpy(res.pod_mac, l.mac, NL_MAC_LEN);
	snprintf(res.pod_name, sizeof(res.pod_name), "%s", l.name);
	res.pod_ifindex = l.ifindex;
	*out = res;
	return 0;
fail:
	/* Half-made is worse than nothing: the caller has no handle to undo it. */
	(void)!nl_link_del(host, res.host_ifindex, NULL);
	return ret;
}

/*
 * Like the reference: IPv6 addresses need IPv6 on, on lo too (the pod reaches
 * its own). Where IPv6 is gone altogether, adding the address says so.
 * accept_dad before any address: the kernel's own link-local would stay
 * tentative (unusable as a source) for the ~1-2 s of DAD. arp_notify:
 * neighbours learn the new MAC at once when an address moves to a new pod.
 */
static int pod_knobs(struct nl_sock *pod, const struct podnet_conf *c, int ifindex, bool has_v6,
		     struct cni_err *err)
{
	static const struct knob v6_on = { "ipv6/conf/disable_ipv6", 0, KNOB_MISSING_OK };
	struct knob_link lo = { .sk = pod, .netns_fd = c->netns_fd, .ifindex = 1, .ifname = "lo" };
	struct knob_link eth = { .sk = pod, .netns_fd = c->netns_fd, .ifindex = ifindex,
				 .ifname = c->ifname };
	struct knob k[5];
	size_t n = 0;
	int ret;

	if (has_v6) {
		ret = knob_set(&lo, &v6_on, 1, err);
		if (ret < 0)
			return ret;
		k[n++] = v6_on;
	}
	/* The pod's IPv6 addresses survive a link flap, as IPv4's do (upstream v1.7). */
	if (has_v6)
		k[n++] = (struct knob){ "ipv6/conf/keep_addr_on_down", 1, 0 };
	/*
	 * DAD only when the operator asks for it; enhanced_dad then tells our
	 * own looped-back probes from a real duplicate's (upstream's enabledad).
	 */
	if (c->enable_dad)
		k[n++] = (struct knob){ "ipv6/conf/enhanced_dad", 1, has_v6 ? 0 : KNOB_MISSING_OK };
	k[n++] = (struct knob){ "ipv6/conf/accept_dad", c->enable_dad, has_v6 ? 0 : KNOB_MISSING_OK };
	k[n++] = (struct knob){ "ipv4/conf/arp_notify", 1, 0 };
	return knob_set(&eth, k, n, err);
}

static bool ip_for_iface(const struct cni_ipcfg *ip, int iface)
{
	return ip->iface == iface;
}

/* The gateway of the first address of family with one, as ConfigureIface picks it. */
static const struct cni_ip *family_gw(const struct cni_result *r, int iface, int family)
{
	size_t i;

	for (i = 0; i < r->n_ips; i++)
		if (ip_for_iface(&r->ips[i], iface) && r->ips[i].addr.ip.family == family &&
		    r->ips[i].gw.family == family)
			return &r->ips[i].gw;
	return NULL;
}

static void route_from_result(const struct cni_result *r, const struct cni_route *rt, int iface,
			      int ifindex, struct nl_route *out)
{
	const struct cni_ip *gw = rt->gw.family ? &rt->gw : family_gw(r, iface, rt->dst.ip.family);

	memset(out, 0, sizeof(*out));
	out->dst = cni_prefix_network(&rt->dst);
	if (gw)
		out->gw = *gw;
	out->oif = ifindex;
	out->mtu = rt->mtu > 0 ? (uint32_t)rt->mtu : 0;
	out->advmss = rt->advmss > 0 ? (uint32_t)rt->advmss : 0;
	out->priority = rt->priority > 0 ? (uint32_t)rt->priority : 0;
	if (rt->table > 0)
		out->table = (uint32_t)rt->table;
	if (rt->scope >= 0)
		out->scope = (uint8_t)rt->scope;
}

/* A link the caller just made is not read again: the knobs' read finds it gone. */
static int pod_ifindex(struct nl_sock *pod, const struct podnet_conf *c, int *ifindex,
		       struct cni_err *err)
{
	struct nl_link l;
	int ret;

	if (c->ifindex > 0) {
		*ifindex = c->ifindex;
		return 0;
	}
	ret = nl_link_get(pod, c->ifname, &l, err);
	if (!ret)
		*ifindex = l.ifindex;
	return ret;
}

int podnet_pod_configure(struct nl_sock *pod, const struct podnet_conf *c, const struct cni_result *r,
			 struct cni_err *err)
{
	bool has_v6 = false;
	int ifindex = 0;
	size_t i;
	int ret;

	ret = pod_ifindex(pod, c, &ifindex, err);
	if (ret < 0)
		return ret;
	for (i = 0; i < r->n_ips; i++)
		if (ip_for_iface(&r->ips[i], c->iface) && r->ips[i].addr.ip.family == AF_INET6)
			has_v6 = true;
	ret = pod_knobs(pod, c, ifindex, has_v6, err);
	if (ret < 0)
		return ret;
	for (i = 0; i < r->n_ips; i++) {
		struct nl_addr a = { .ifindex = ifindex, .prefix = r->ips[i].addr };

		if (!ip_for_iface(&r->ips[i], c->iface))
			continue;
		if (a.prefix.ip.family == AF_INET6 && !c->enable_dad)
			a.flags = NL_ADDR_NODAD;
		ret = nl_addr_add(pod, &a, err);
		if (ret < 0)
			return ret;
	}
	if (!c->link_down) {
		ret = nl_link_set_up(pod, ifindex, true, err);
		if (ret < 0)
			return ret;
	}
	/* Addresses usable when ADD returns, and a duplicate fails it (upstream v1.7). */
	if (c->enable_dad && has_v6 && !c->link_down) {
		ret = nl_addr_wait_dad(pod, ifindex, PODNET_DAD_TIMEOUT_MS, err);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < r->n_routes; i++) {
		struct nl_route rt;
		struct cni_err scratch = { 0 };

		route_from_result(r, &r->routes[i], c->iface, ifindex, &rt);
		/* Routes sharing a destination all land (ECMP), as upstream adds them. */
		ret = nl_route_merge(pod, &rt, &scratch);
		/* The same route listed twice, or one the kernel made already. */
		if (ret == -EEXIST)
			continue;
		if (ret < 0)
			return err_take(err, &scratch, ret);
	}
	return 0;
}

/* The veth whose peer is the pod's link: IFLA_LINK of the pod end is the host ifindex. */
static int peer_from_pod(struct nl_sock *host, struct nl_sock *pod, const char *ifname,
			 struct nl_link *out)
{
	struct nl_link pl, hl;
	int ret;

	ret = nl_link_get(pod, ifname, &pl, NULL);
	if (ret < 0)
		return ret;
	if (strcmp(pl.kind, "veth") != 0 || pl.link <= 0)
		return -ENODEV;
	ret = nl_link_get_index(host, pl.link, &hl, NULL);
	if (ret < 0)
		return ret;
	/* The same ifindex may name an unrelated link when the peer lives elsewhere. */
	if (strcmp(hl.kind, "veth") != 0 || hl.link != pl.ifindex)
		return -ENODEV;
	*out = hl;
	return 0;
}

int podnet_host_peer(struct nl_sock *host, struct nl_sock *pod, const char *ifname,
		     const char *host_name, struct nl_link *out, struct cni_err *err)
{
	struct nl_link l;
	int ret = -ENODEV;

	if (pod)
		ret = peer_from_pod(host, pod, ifname, &l);
	if (ret < 0 && host_name) {
		ret = nl_link_get(host, host_name, &l, NULL);
		if (ret == 0 && strcmp(l.kind, "veth") != 0)
			ret = -ENODEV;
	}
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NETLINK, ret, "finding the host end of %s", ifname);
	*out = l;
	return 0;
}

int podnet_veth_remove(struct nl_sock *host, struct nl_sock *pod, const char *ifname,
		       const char *host_name, struct cni_err *err)
{
	struct cni_err scratch = { 0 };
	struct nl_link l;
	int ret;

	if (pod) {
		ret = nl_link_get(pod, ifname, &l, &scratch);
		if (ret == 0)
			ret = nl_link_del(pod, l.ifindex, &scratch);
		if (ret < 0 && ret != -ENODEV)
			return err_take(err, &scratch, ret);
		cni_err_clear(&scratch);
	}
	/* The pod end is gone but its netns lives on elsewhere, or the pod never got it. */
	if (host && host_name) {
		ret = nl_link_get(host, host_name, &l, &scratch);
		if (ret == 0 && !strcmp(l.kind, "veth"))
			ret = nl_link_del(host, l.ifindex, &scratch);
		if (ret < 0 && ret != -ENODEV)
			return err_take(err, &scratch, ret);
	}
	return 0;
}

static bool addr_present(const struct nl_addr *list, size_t n, const struct cni_prefix *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i].prefix.len == p->len && cni_ip_equal(&list[i].prefix.ip, &p->ip))
			return true;
	return false;
}

static bool route_present(const struct nl_route *list, size_t n, const struct nl_route *want)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct nl_route *r = &list[i];

		if (r->dst.len != want->dst.len || !cni_ip_equal(&r->dst.ip, &want->dst.ip))
			continue;
		if (want->gw.family && !cni_ip_equal(&r->gw, &want->gw))
			continue;
		if (r->oif && r->oif != want->oif)
			continue;
		return true;
	}
	return false;
}

int podnet_pod_check(struct nl_sock *pod, const struct podnet_conf *c, const struct cni_result *r,
		     struct cni_err *err)
{
	char buf[CNI_PREFIX_STRLEN], mac[PODNET_MAC_STRLEN];
	struct nl_addr *addrs = NULL;
	struct nl_route *routes = NULL;
	size_t na = 0, nr = 0, i;
	struct cni_err scratch = { 0 };
	struct nl_link l;
	int ret;

	ret = nl_link_get(pod, c->ifname, &l, &scratch);
	if (ret == -ENODEV)
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "container interface %s is missing",
				   c->ifname);
	if (ret < 0)
		return err_take(err, &scratch, ret);
	if (!c->link_down && !l.up) {
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "container interface %s is down", c->ifname);
		goto out;
	}
	if (c->iface >= 0 && (size_t)c->iface < r->n_ifaces && r->ifaces[c->iface].mac &&
	    *r->ifaces[c->iface].mac && strcasecmp(r->ifaces[c->iface].mac, podnet_mac_format(l.mac, mac))) {
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "container interface %s has MAC %s, the result says %s", c->ifname, mac,
				  r->ifaces[c->iface].mac);
		goto out;
	}
	ret = nl_addr_list(pod, l.ifindex, AF_UNSPEC, &addrs, &na, err);
	if (ret < 0)
		goto out;
	for (i = 0; i < r->n_ips; i++) {
		if (!ip_for_iface(&r->ips[i], c->iface) || addr_present(addrs, na, &r->ips[i].addr))
			continue;
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "container interface %s lacks address %s",
				  c->ifname, cni_prefix_format(&r->ips[i].addr, buf));
		goto out;
	}
	ret = nl_route_list(pod, AF_UNSPEC, NL_TABLE_ANY, 0, &routes, &nr, err);
	if (ret < 0)
		goto out;
	for (i = 0; i < r->n_routes; i++) {
		struct nl_route want;

		route_from_result(r, &r->routes[i], c->iface, l.ifindex, &want);
		if (route_present(routes, nr, &want))
			continue;
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "container route to %s is missing",
				  cni_prefix_format(&want.dst, buf));
		goto out;
	}
out:
	free(addrs);
	free(routes);
	return ret;
}
