// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The two layouts, as data. Nothing here touches the kernel, so the unit
 * tests can check every address and route a layout implies.
 *
 * reference: pod eth0 10.1.0.5/24, its connected route replaced by
 *   "10.1.0.1 dev eth0 scope link" + "10.1.0.0/24 via 10.1.0.1"; the host
 *   veth holds 10.1.0.1/32 (the same on every host veth: local addresses are
 *   answered through the local table, whatever device holds them), and the
 *   node routes "10.1.0.5 dev vethX".
 * proxyArp: pod eth0 10.1.0.5/32 with "169.254.1.1 dev eth0 scope link" and
 *   routes via 169.254.1.1, an address nobody holds: the host veth answers
 *   ARP for it by proxy_arp. IPv6 goes via the host veth's link-local
 *   address, predictable because the host veth MAC is fixed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ptp.h"

const uint8_t ptp_proxy_mac[NL_MAC_LEN] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };
const struct cni_ip ptp_proxy_gw4 = { .family = AF_INET, .a = { 169, 254, 1, 1 } };
/* fe80:: + EUI-64 of ee:ee:ee:ee:ee:ee (universal/local bit flipped: ec). */
const struct cni_ip ptp_proxy_gw6 = {
	.family = AF_INET6,
	.a = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xec, 0xee, 0xee, 0xff, 0xfe, 0xee, 0xee, 0xee },
};

void ptp_plan_clear(struct ptp_plan *p)
{
	if (!p)
		return;
	free(p->addrs);
	cni_result_free(p->result);
	memset(p, 0, sizeof(*p));
}

static const struct cni_ip *proxy_gw(int family)
{
	return family == AF_INET ? &ptp_proxy_gw4 : &ptp_proxy_gw6;
}

static struct cni_prefix host_prefix(const struct cni_ip *ip)
{
	struct cni_prefix p = { .ip = *ip, .len = (uint8_t)cni_ip_bits(ip) };

	return p;
}

/* Fills a from the pod IP with its network (ipam) and the layout. */
static int addr_plan(bool proxy_arp, const struct cni_prefix *ipam, const struct cni_ip *gw,
		     struct ptp_addr *a, struct cni_err *err)
{
	char s[CNI_PREFIX_STRLEN];

	memset(a, 0, sizeof(*a));
	a->ipam = *ipam;
	a->subnet = cni_prefix_network(ipam);
	if (proxy_arp) {
		a->pod = host_prefix(&ipam->ip);
		a->gw = *proxy_gw(ipam->ip.family);
		a->host_route_scope = NL_SCOPE_LINK;
		return 0;
	}
	if (!gw || gw->family != ipam->ip.family)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				   "address %s has no gateway: the ptp layout routes the pod through it "
				   "(set the IPAM gateway, or use \"proxyArp\": true)",
				   cni_prefix_format(ipam, s));
	if (cni_ip_equal(gw, &ipam->ip))
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "address %s is its own gateway",
				   cni_prefix_format(ipam, s));
	a->pod = *ipam;
	a->gw = *gw;
	a->host_addr = host_prefix(gw);
	/* The reference adds this route with scope host; keep its kernel state. */
	a->host_route_scope = NL_SCOPE_HOST;
	return 0;
}

static int plan_add(struct ptp_plan *p, const struct ptp_addr *a)
{
	struct ptp_addr *v = reallocarray(p->addrs, p->n_addrs + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	p->addrs = v;
	v[p->n_addrs++] = *a;
	p->has_v4 |= a->ipam.ip.family == AF_INET;
	p->has_v6 |= a->ipam.ip.family == AF_INET6;
	return 0;
}

static bool has_route(const struct cni_result *r, const struct cni_prefix *dst)
{
	struct cni_prefix want = cni_prefix_network(dst), have;
	size_t i;

	for (i = 0; i < r->n_routes; i++) {
		have = cni_prefix_network(&r->routes[i].dst);
		if (have.len == want.len && cni_ip_equal(&have.ip, &want.ip))
			return true;
	}
	return false;
}

static int route_copy(struct cni_result *r, const struct cni_route *src, const struct cni_ip *gw)
{
	int idx = cni_result_add_route(r, &src->dst, gw);

	if (idx < 0)
		return idx;
	r->routes[idx].mtu = src->mtu;
	r->routes[idx].advmss = src->advmss;
	r->routes[idx].priority = src->priority;
	r->routes[idx].table = src->table;
	r->routes[idx].scope = src->scope;
	return 0;
}

/*
 * The result's routes. The reference prints IPAM's as they are. proxyArp
 * names its gateway in every route (IPAM's gateways are addresses the pod
 * cannot reach without a connected subnet) and lists the pod network first:
 * the result then still says which network the pod's /32 belongs to.
 */
static int plan_routes(const struct ptp_plan *p, const struct cni_result *ipam, struct cni_result *r)
{
	size_t i;
	int ret;

	if (!p->proxy_arp) {
		for (i = 0; i < ipam->n_routes; i++) {
			const struct cni_route *s = &ipam->routes[i];

			ret = route_copy(r, s, s->gw.family ? &s->gw : NULL);
			if (ret < 0)
				return ret;
		}
		return 0;
	}
	for (i = 0; i < p->n_addrs; i++) {
		const struct ptp_addr *a = &p->addrs[i];

		if (a->subnet.len == cni_ip_bits(&a->subnet.ip) || has_route(r, &a->subnet))
			continue;
		ret = cni_result_add_route(r, &a->subnet, &a->gw);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < ipam->n_routes; i++) {
		const struct cni_route *s = &ipam->routes[i];

		if (has_route(r, &s->dst))
			continue;
		ret = route_copy(r, s, proxy_gw(s->dst.ip.family));
		if (ret < 0)
			return ret;
	}
	return 0;
}

int ptp_plan_from_ipam(const struct ptp_conf *c, const struct cni_result *ipam,
		       const struct cni_dns *dns, struct ptp_plan *out, struct cni_err *err)
{
	struct ptp_plan p = { .proxy_arp = c->proxy_arp, .pod_iface = 1 };
	struct ptp_addr a;
	size_t i;
	int ret = -ENOMEM;

	if (!ipam->n_ips)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				   "IPAM gave no address: ptp routes pods by address and needs an IPAM plugin");
	p.result = cni_result_new();
	if (!p.result)
		goto fail;
	for (i = 0; i < ipam->n_ips; i++) {
		const struct cni_ipcfg *ip = &ipam->ips[i];

		ret = addr_plan(c->proxy_arp, &ip->addr, ip->gw.family ? &ip->gw : NULL, &a, err);
		if (!ret)
			ret = plan_add(&p, &a);
		if (!ret && cni_result_add_ip(p.result, &a.pod, &a.gw, 1) < 0)
			ret = -ENOMEM;
		if (ret < 0)
			goto fail;
	}
	ret = plan_routes(&p, ipam, p.result);
	/* Only a config that sets DNS overrides IPAM's, as in the reference. */
	if (!ret)
		ret = cni_dns_copy(&p.result->dns, dns && !cni_dns_is_empty(dns) ? dns : &ipam->dns);
	if (ret < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	/* No-op when addr_plan() said why already: the first error wins. */
	cni_err_set(err, CNI_ERR_INTERNAL, ret, "planning the ptp layout");
	ptp_plan_clear(&p);
	return ret;
}

/*
 * proxyArp's prevResult holds /32s: the pod network is the most specific
 * route via the gateway that contains the address (ADD listed it first).
 */
static struct cni_prefix network_of(const struct cni_result *r, const struct cni_ipcfg *ip)
{
	struct cni_prefix best = ip->addr;
	bool found = false;
	size_t i;

	for (i = 0; i < r->n_routes; i++) {
		const struct cni_route *rt = &r->routes[i];

		if (rt->dst.ip.family != ip->addr.ip.family || rt->dst.len >= cni_ip_bits(&rt->dst.ip) ||
		    !cni_ip_equal(&rt->gw, &ip->gw) || !cni_prefix_contains(&rt->dst, &ip->addr.ip))
			continue;
		if (!found || rt->dst.len > best.len) {
			best.len = rt->dst.len;
			found = true;
		}
	}
	return best;
}

int ptp_plan_from_result(const struct ptp_conf *c, const struct cni_result *prev, const char *ifname,
			 const char *netns, struct ptp_plan *out, struct cni_err *err)
{
	struct ptp_plan p = { .proxy_arp = c->proxy_arp };
	struct cni_err scratch = { 0 };
	char s[CNI_PREFIX_STRLEN];
	struct ptp_addr a;
	size_t i;
	int iface = -1, ret;

	for (i = 0; i < prev->n_ifaces; i++)
		if (prev->ifaces[i].name && !strcmp(prev->ifaces[i].name, ifname) &&
		    prev->ifaces[i].sandbox && netns && !strcmp(prev->ifaces[i].sandbox, netns))
			iface = (int)i;
	if (iface < 0)
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				   "prevResult has no interface %s in sandbox %s", ifname, netns ? netns : "");
	for (i = 0; i < prev->n_ips; i++) {
		const struct cni_ipcfg *ip = &prev->ips[i];
		struct cni_prefix ipam = ip->addr;

		if (ip->iface != iface)
			continue;
		if (c->proxy_arp) {
			if (ip->addr.len != cni_ip_bits(&ip->addr.ip) ||
			    !cni_ip_equal(&ip->gw, proxy_gw(ip->addr.ip.family))) {
				ret = cni_err_set(err, CNI_ERR_CHECK, -EINVAL,
						  "prevResult address %s is not the proxyArp layout's "
						  "(a host prefix via its fixed gateway)",
						  cni_prefix_format(&ip->addr, s));
				goto fail;
			}
			ipam = network_of(prev, ip);
		}
		ret = addr_plan(c->proxy_arp, &ipam, ip->gw.family ? &ip->gw : NULL, &a, &scratch);
		if (ret < 0) {
			/* A prevResult that ADD could not have made is a CHECK failure. */
			cni_err_set(err, CNI_ERR_CHECK, ret, "prevResult: %s", scratch.msg);
			goto fail;
		}
		if (plan_add(&p, &a) < 0) {
			ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "planning the ptp layout");
			goto fail;
		}
	}
	if (!p.n_addrs) {
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "prevResult has no address on %s", ifname);
		goto fail;
	}
	p.pod_iface = iface;
	p.result = cni_result_dup(prev);
	if (!p.result) {
		ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "planning the ptp layout");
		goto fail;
	}
	*out = p;
	return 0;
fail:
	ptp_plan_clear(&p);
	return ret;
}

int ptp_plan_masq(const struct ptp_plan *p, struct cni_prefix **out, size_t *n)
{
	struct cni_prefix *v = calloc(p->n_addrs ? p->n_addrs : 1, sizeof(*v));
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < p->n_addrs; i++) {
		v[i].ip = p->addrs[i].ipam.ip;
		v[i].len = p->addrs[i].subnet.len;
	}
	*out = v;
	*n = p->n_addrs;
	return 0;
}

static int routes_push(struct nl_route **v, size_t *n, const struct nl_route *r)
{
	struct nl_route *nv = reallocarray(*v, *n + 1, sizeof(**v));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = *r;
	*v = nv;
	return 0;
}

/* The gateway of the first address of family: what the reference's ConfigureIface routes via. */
static const struct cni_ip *family_gw(const struct ptp_plan *p, int family)
{
	size_t i;

	for (i = 0; i < p->n_addrs; i++)
		if (p->addrs[i].gw.family == family)
			return &p->addrs[i].gw;
	return NULL;
}

int ptp_plan_pod_routes(const struct ptp_plan *p, int oif, struct nl_route **out, size_t *n)
{
	struct nl_route *v = NULL, r;
	size_t i, nv = 0;
	int ret = 0;

	for (i = 0; !ret && i < p->n_addrs; i++) {
		const struct ptp_addr *a = &p->addrs[i];

		/* A link-local gateway is on-link already (fe80::/64 dev eth0). */
		if (!(a->gw.family == AF_INET6 && a->gw.a[0] == 0xfe && (a->gw.a[1] & 0xc0) == 0x80)) {
			r = (struct nl_route){ .dst = host_prefix(&a->gw), .oif = oif,
					       .scope = NL_SCOPE_LINK, .src = a->pod.ip };
			ret = routes_push(&v, &nv, &r);
		}
		/* proxyArp's result lists the pod network; the reference's leaves it out. */
		if (!ret && !p->proxy_arp && a->subnet.len < cni_ip_bits(&a->subnet.ip)) {
			r = (struct nl_route){ .dst = a->subnet, .gw = a->gw, .oif = oif, .src = a->pod.ip };
			ret = routes_push(&v, &nv, &r);
		}
	}
	for (i = 0; !ret && p->result && i < p->result->n_routes; i++) {
		const struct cni_route *rt = &p->result->routes[i];
		const struct cni_ip *gw = rt->gw.family ? &rt->gw : family_gw(p, rt->dst.ip.family);

		r = (struct nl_route){ .dst = cni_prefix_network(&rt->dst), .oif = oif };
		if (gw)
			r.gw = *gw;
		r.mtu = rt->mtu > 0 ? (uint32_t)rt->mtu : 0;
		r.advmss = rt->advmss > 0 ? (uint32_t)rt->advmss : 0;
		r.priority = rt->priority > 0 ? (uint32_t)rt->priority : 0;
		r.table = rt->table > 0 ? (uint32_t)rt->table : 0;
		r.scope = rt->scope >= 0 ? (uint8_t)rt->scope : 0;
		ret = routes_push(&v, &nv, &r);
	}
	if (ret < 0) {
		free(v);
		return ret;
	}
	*out = v;
	*n = nv;
	return 0;
}
