// SPDX-License-Identifier: GPL-2.0-or-later
/* The node's side of a ptp attachment: knobs, addresses and routes of the host veth. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/knob.h"
#include "ptp.h"

int ptp_host_forwarding(struct nl_sock *host, const struct ptp_plan *p, struct cni_err *err)
{
	return knob_forwarding_set(host, p->has_v4, p->has_v6, err);
}

/*
 * Before the link comes up: IPv6 on it, without DAD (its gateway address is
 * usable at once, and proxyArp's link-local is derived from the fixed MAC,
 * whatever the node's addr_gen_mode), proxy ARP answering at once.
 * check: only what a later change could undo (the IPv6 ones are no CHECK's business).
 */
static size_t host_knobs(const struct ptp_conf *c, const struct ptp_plan *p, bool check,
			 struct knob k[7])
{
	size_t n = 0;

	if (p->has_v6 && !check) {
		k[n++] = (struct knob){ "ipv6/conf/disable_ipv6", 0, 0 };
		k[n++] = (struct knob){ "ipv6/conf/accept_dad", 0, 0 };
		if (p->proxy_arp)
			k[n++] = (struct knob){ "ipv6/conf/addr_gen_mode", 0, 0 };
	}
	if (p->has_v4 && p->proxy_arp) {
		/* proxy_arp answers only on an interface that forwards. */
		if (!check)
			k[n++] = (struct knob){ "ipv4/conf/forwarding", 1, 0 };
		k[n++] = (struct knob){ "ipv4/conf/proxy_arp", 1, 0 };
		k[n++] = (struct knob){ "ipv4/neigh/proxy_delay", 0, 0 };
	}
	if (c->rp_filter != PTP_RP_UNSET)
		k[n++] = (struct knob){ "ipv4/conf/rp_filter", c->rp_filter, 0 };
	return n;
}

static struct nl_route host_route(const struct ptp_addr *a, int oif)
{
	struct nl_route r = { .dst = { .ip = a->pod.ip, .len = (uint8_t)cni_ip_bits(&a->pod.ip) },
			      .oif = oif };

	/* IPv6 has no route scopes; the kernel reports universe. */
	if (a->pod.ip.family == AF_INET)
		r.scope = a->host_route_scope;
	return r;
}

int ptp_host_setup(struct nl_sock *host, const struct ptp_conf *c, const struct ptp_plan *p,
		   const struct nl_link *veth, struct cni_err *err)
{
	struct knob_link kl = { .sk = host, .netns_fd = -1, .ifindex = veth->ifindex,
				.ifname = veth->name };
	struct cni_err scratch = { 0 };
	struct knob k[7];
	size_t i;
	int ret;

	ret = knob_set(&kl, k, host_knobs(c, p, false, k), err);
	if (!ret)
		ret = nl_link_set_up(host, veth->ifindex, true, err);
	for (i = 0; !ret && i < p->n_addrs; i++) {
		const struct ptp_addr *a = &p->addrs[i];
		struct nl_addr na = { .ifindex = veth->ifindex, .prefix = a->host_addr };
		struct nl_route r = host_route(a, veth->ifindex);

		if (a->host_addr.ip.family) {
			if (na.prefix.ip.family == AF_INET6)
				na.flags = NL_ADDR_NODAD;
			/* Two pod addresses may share a gateway. */
			ret = nl_addr_add(host, &na, &scratch);
			if (ret == -EEXIST) {
				cni_err_clear(&scratch);
				ret = 0;
			} else if (ret < 0) {
				ret = ptp_err_take(err, &scratch, ret);
				break;
			}
		}
		/* Replace: a crashed pod's veth may still claim this address. */
		ret = nl_route_replace(host, &r, err);
	}
	return ret;
}

static bool addr_has(const struct nl_addr *v, size_t n, const struct cni_prefix *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].prefix.len == p->len && cni_ip_equal(&v[i].prefix.ip, &p->ip))
			return true;
	return false;
}

static bool route_has(const struct nl_route *v, size_t n, const struct nl_route *want)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].dst.len == want->dst.len && cni_ip_equal(&v[i].dst.ip, &want->dst.ip) &&
		    v[i].oif == want->oif && !v[i].gw.family)
			return true;
	return false;
}

static int check_addrs(struct nl_sock *host, const struct ptp_plan *p, const struct nl_link *veth,
		       struct cni_err *err)
{
	struct nl_addr *have = NULL;
	char s[CNI_PREFIX_STRLEN];
	size_t i, n = 0;
	int ret;

	ret = nl_addr_list(host, veth->ifindex, AF_UNSPEC, &have, &n, err);
	for (i = 0; !ret && i < p->n_addrs; i++) {
		const struct ptp_addr *a = &p->addrs[i];
		struct cni_prefix ll = { .ip = a->gw, .len = 64 };

		if (a->host_addr.ip.family && !addr_has(have, n, &a->host_addr))
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "host veth %s lacks address %s",
					  veth->name, cni_prefix_format(&a->host_addr, s));
		else if (p->proxy_arp && a->gw.family == AF_INET6 && !addr_has(have, n, &ll))
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "host veth %s lacks link-local %s, the pod's IPv6 gateway",
					  veth->name, cni_prefix_format(&ll, s));
	}
	/* proxyArp: a host address would make the node answer as that address, not by proxy. */
	for (i = 0; !ret && p->proxy_arp && i < n; i++)
		if (have[i].prefix.ip.family == AF_INET ||
		    (have[i].prefix.ip.family == AF_INET6 && have[i].scope != NL_SCOPE_LINK))
			ret = cni_err_set(err, CNI_ERR_CHECK, -EEXIST,
					  "host veth %s has address %s; the proxyArp layout has none",
					  veth->name, cni_prefix_format(&have[i].prefix, s));
	free(have);
	return ret;
}

static int check_routes(struct nl_sock *host, const struct ptp_plan *p, const struct nl_link *veth,
			struct cni_err *err)
{
	struct nl_route *have = NULL;
	char s[CNI_IP_STRLEN];
	size_t i, n = 0;
	int ret;

	ret = nl_route_list(host, AF_UNSPEC, NL_TABLE_MAIN, veth->ifindex, &have, &n, err);
	for (i = 0; !ret && i < p->n_addrs; i++) {
		struct nl_route want = host_route(&p->addrs[i], veth->ifindex);

		if (!route_has(have, n, &want))
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "node has no route %s dev %s",
					  cni_ip_format(&want.dst.ip, s), veth->name);
	}
	free(have);
	return ret;
}

/*
 * proxy_arp answers only for an address the node routes through another
 * interface: without such a route (a node with no default route) pods can
 * never resolve 169.254.1.1. Policy rules are not evaluated: any table counts.
 */
static int check_proxy_route(struct nl_sock *host, const struct nl_link *veth, struct cni_err *err)
{
	struct nl_route *have = NULL;
	bool found = false;
	size_t i, n = 0;
	int ret;

	ret = nl_route_list(host, AF_INET, NL_TABLE_ANY, 0, &have, &n, err);
	for (i = 0; !ret && !found && i < n; i++)
		found = (have[i].type == NL_ROUTE_UNICAST || !have[i].type) && have[i].oif != veth->ifindex &&
			cni_prefix_contains(&have[i].dst, &ptp_proxy_gw4);
	if (!ret && !found)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENETUNREACH,
				  "the node has no route covering 169.254.1.1 (a default route does): "
				  "proxy ARP cannot answer for the pod's gateway");
	free(have);
	return ret;
}

int ptp_host_check(struct nl_sock *host, const struct ptp_conf *c, const struct ptp_plan *p,
		   const struct nl_link *veth, struct cni_err *err)
{
	struct knob_link kl = { .sk = host, .netns_fd = -1, .ifindex = veth->ifindex,
				.ifname = veth->name };
	struct knob k[7];
	int ret;

	if (strcmp(veth->kind, "veth"))
		return cni_err_set(err, CNI_ERR_CHECK, -EINVAL, "host interface %s is not a veth",
				   veth->name);
	if (!veth->up)
		return cni_err_set(err, CNI_ERR_CHECK, -ENETDOWN, "host veth %s is down", veth->name);
	if (p->proxy_arp && memcmp(veth->mac, ptp_proxy_mac, NL_MAC_LEN))
		return cni_err_set(err, CNI_ERR_CHECK, -EINVAL,
				   "host veth %s lost the proxyArp layout's MAC ee:ee:ee:ee:ee:ee", veth->name);
	ret = knob_forwarding_check(host, p->has_v4, p->has_v6, err);
	if (!ret)
		ret = knob_check(&kl, k, host_knobs(c, p, true, k), err);
	if (!ret && p->has_v4 && p->proxy_arp)
		ret = check_proxy_route(host, veth, err);
	if (!ret)
		ret = check_addrs(host, p, veth, err);
	if (!ret)
		ret = check_routes(host, p, veth, err);
	return ret;
}
