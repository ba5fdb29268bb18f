// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ptp: a routed veth per pod, in the reference's layout (pod keeps the IPAM
 * prefix, routes via the gateway held by the host veth) or, with
 * "proxyArp": true, in Calico's (pod /32 via 169.254.1.1, answered by proxy
 * ARP on the host veth). See layout.c for the routes of each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cni/ipam.h"
#include "cni/nft.h"
#include "cni/nl.h"
#include "cni/podnet.h"
#include "cni/skel.h"
#include "ptp.h"

static struct nft_attach masq_id(const struct cni_ctx *ctx)
{
	struct nft_attach id = {
		.network = ctx->conf->name,
		.container_id = ctx->container_id,
		.ifname = ctx->ifname,
	};

	return id;
}

static int add_masq(struct cni_ctx *ctx, struct nft_sock *nft, const struct ptp_plan *p)
{
	struct nft_attach id = masq_id(ctx);
	struct cni_prefix *v = NULL;
	size_t n;
	int ret;

	ret = ptp_plan_masq(p, &v, &n);
	if (ret < 0)
		return cni_err_set(&ctx->err, CNI_ERR_INTERNAL, ret, "masquerade");
	ret = nft_masq_add(nft, &id, v, n, &ctx->err);
	free(v);
	return ret;
}

/* The interfaces of the result: host veth, then the pod's (ips[].interface = 1). */
static int result_ifaces(struct cni_ctx *ctx, const struct ptp_conf *c, const struct podnet_veth *veth,
			 struct cni_result *r)
{
	char hmac[PODNET_MAC_STRLEN], pmac[PODNET_MAC_STRLEN];
	int h, p;

	h = cni_result_add_iface(r, veth->host_name, podnet_mac_format(veth->host_mac, hmac), NULL);
	p = h < 0 ? h : cni_result_add_iface(r, veth->pod_name, podnet_mac_format(veth->pod_mac, pmac),
					     ctx->netns);
	if (p < 0)
		return cni_err_set(&ctx->err, CNI_ERR_INTERNAL, -ENOMEM, "building the result");
	r->ifaces[h].mtu = r->ifaces[p].mtu = (int)c->mtu;
	return 0;
}

static int ptp_add(struct cni_ctx *ctx, struct cni_result **out)
{
	char host_name[PODNET_VETH_NAMELEN];
	struct cni_result *ipam = NULL, addrs;
	struct ptp_plan p = { 0 };
	struct nl_sock *host = NULL, *pod = NULL;
	struct nft_sock *nft = NULL;
	struct podnet_veth_req req = { 0 };
	struct podnet_conf pc = { 0 };
	struct podnet_veth veth;
	struct nl_link hl;
	struct ptp_conf c;
	bool leased = false, wired = false, masq = false;
	int ret;

	ret = ptp_conf_parse(ctx->conf, &c, &ctx->err);
	if (ret < 0)
		return ret;
	/*
	 * The veth before IPAM (the reference does it the other way round): our
	 * host-local hands a retried ADD its existing lease, so a duplicate ADD
	 * of a live attachment that got as far as IPAM would, rolling back,
	 * release the lease the live attachment holds under the same id. It
	 * fails on the existing interface first instead.
	 */
	ret = nl_sock_open(-1, &host, &ctx->err);
	if (!ret)
		ret = nl_sock_open(ctx->netns_fd, &pod, &ctx->err);
	if (ret < 0)
		goto fail;
	podnet_veth_name(ctx->conf->name, ctx->container_id, ctx->ifname, host_name);
	req.host_name = host_name;
	req.pod_ifname = ctx->ifname;
	req.container_id = ctx->container_id;
	req.pod_netns_fd = ctx->netns_fd;
	req.mtu = c.mtu;
	req.host_mac = c.proxy_arp ? ptp_proxy_mac : NULL;
	ret = podnet_veth_create(host, pod, &req, &veth, &ctx->err);
	if (ret < 0)
		goto fail;
	wired = true;

	ret = ipam_add(ctx, &ipam);
	if (ret < 0)
		goto fail;
	leased = true;
	/* The families IPAM gave decide the node's forwarding knobs. */
	ret = ptp_plan_from_ipam(&c, ipam, &ctx->conf->dns, &p, &ctx->err);
	if (!ret)
		ret = ptp_host_forwarding(host, &p, &ctx->err);
	if (ret < 0)
		goto fail;
	ret = nl_link_get_index(host, veth.host_ifindex, &hl, &ctx->err);
	if (!ret)
		ret = ptp_host_setup(host, &c, &p, &hl, &ctx->err);
	if (ret < 0)
		goto fail;

	/* podnet puts the addresses; the routes are the layout's, so they come after. */
	pc.ifindex = veth.pod_ifindex;
	pc.ifname = ctx->ifname;
	pc.netns_fd = ctx->netns_fd;
	pc.iface = p.pod_iface;
	addrs = *p.result;
	addrs.n_routes = 0;
	ret = podnet_pod_configure(pod, &pc, &addrs, &ctx->err);
	if (!ret)
		ret = ptp_pod_routes(pod, &p, veth.pod_ifindex, &ctx->err);
	if (ret < 0)
		goto fail;

	if (c.ipmasq) {
		ret = nft_open(&nft, &ctx->err);
		if (!ret)
			ret = add_masq(ctx, nft, &p);
		if (ret < 0)
			goto fail;
		masq = true;
	}
	ret = result_ifaces(ctx, &c, &veth, p.result);
	if (ret < 0)
		goto fail;
	*out = p.result;
	p.result = NULL;
fail:
	/* Undo in reverse; ctx->err keeps the first error, undo failures go to scratch. */
	if (ret < 0 && masq) {
		struct nft_attach id = masq_id(ctx);
		struct cni_err scratch = { 0 };

		(void)!nft_masq_del(nft, &id, NULL, 0, &scratch);
	}
	if (ret < 0 && leased)
		ipam_del(ctx);
	if (ret < 0 && wired) {
		struct cni_err scratch = { 0 };

		(void)!podnet_veth_remove(host, pod, ctx->ifname, host_name, &scratch);
	}
	nft_close(nft);
	nl_sock_close(pod);
	nl_sock_close(host);
	ptp_plan_clear(&p);
	cni_result_free(ipam);
	return ret;
}

/* Pod addresses of prevResult (any prefix length: DEL finds masquerade by address). */
static int prev_ips(const struct cni_result *prev, struct cni_prefix **out, size_t *n)
{
	struct cni_prefix *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!prev || !prev->n_ips)
		return 0;
	v = calloc(prev->n_ips, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < prev->n_ips; i++)
		v[i] = prev->ips[i].addr;
	*out = v;
	*n = prev->n_ips;
	return 0;
}

/*
 * Best effort and idempotent: every step runs whatever the others did, and
 * the first error is reported. Works with the netns gone or CNI_NETNS empty.
 */
static int ptp_del(struct cni_ctx *ctx)
{
	char host_name[PODNET_VETH_NAMELEN];
	struct nl_sock *host = NULL, *pod = NULL;
	struct cni_prefix *ips = NULL;
	struct ptp_conf c;
	size_t n = 0;
	int ret, r;

	ret = ptp_conf_parse(ctx->conf, &c, &ctx->err);
	if (ret < 0)
		return ret;
	ret = ipam_del(ctx);

	podnet_veth_name(ctx->conf->name, ctx->container_id, ctx->ifname, host_name);
	r = nl_sock_open(-1, &host, &ctx->err);
	if (!r && ctx->netns_fd >= 0)
		r = nl_sock_open(ctx->netns_fd, &pod, &ctx->err);
	/* The pod end takes its peer along; the host name covers a netns that is gone. */
	if (!r)
		r = podnet_veth_remove(host, pod, ctx->ifname, host_name, &ctx->err);
	ret = ret ? ret : r;
	nl_sock_close(pod);
	nl_sock_close(host);

	if (c.ipmasq) {
		struct nft_attach id = masq_id(ctx);
		struct nft_sock *nft = NULL;

		r = prev_ips(ctx->conf->prev_result, &ips, &n);
		if (r < 0)
			r = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, r, "masquerade");
		else
			r = nft_open(&nft, &ctx->err);
		if (!r)
			r = nft_masq_del(nft, &id, ips, n, &ctx->err);
		ret = ret ? ret : r;
		nft_close(nft);
		free(ips);
	}
	return ret;
}

/* The host end named in prevResult (the interface without a sandbox) must be the pod's peer. */
static int check_host_name(struct cni_ctx *ctx, const struct cni_result *prev, const struct nl_link *hl)
{
	char mac[PODNET_MAC_STRLEN];
	size_t i;

	for (i = 0; i < prev->n_ifaces; i++) {
		const struct cni_iface *f = &prev->ifaces[i];

		if (f->sandbox && *f->sandbox)
			continue;
		if (!f->name || strcmp(f->name, hl->name))
			return cni_err_set(&ctx->err, CNI_ERR_CHECK, -EINVAL,
					   "the pod's peer is %s, prevResult names %s", hl->name,
					   f->name ? f->name : "none");
		if (f->mac && *f->mac && strcasecmp(f->mac, podnet_mac_format(hl->mac, mac)))
			return cni_err_set(&ctx->err, CNI_ERR_CHECK, -EINVAL,
					   "host veth %s has MAC %s, prevResult says %s", hl->name, mac, f->mac);
	}
	return 0;
}

static int ptp_check(struct cni_ctx *ctx)
{
	char host_name[PODNET_VETH_NAMELEN];
	struct nl_sock *host = NULL, *pod = NULL;
	struct cni_prefix *masq = NULL;
	struct ptp_plan p = { 0 };
	struct podnet_conf pc = { 0 };
	struct nl_link pl, hl;
	struct ptp_conf c;
	size_t n;
	int ret;

	ret = ptp_conf_parse(ctx->conf, &c, &ctx->err);
	if (ret < 0)
		return ret;
	if (!ctx->conf->prev_result)
		return cni_err_set(&ctx->err, CNI_ERR_CONFIG, -EINVAL, "CHECK needs prevResult");
	ret = ipam_check(ctx);
	if (ret < 0)
		return ret;
	ret = ptp_plan_from_result(&c, ctx->conf->prev_result, ctx->ifname, ctx->netns, &p, &ctx->err);
	if (!ret)
		ret = nl_sock_open(-1, &host, &ctx->err);
	if (!ret)
		ret = nl_sock_open(ctx->netns_fd, &pod, &ctx->err);
	if (ret < 0)
		goto out;

	pc.ifname = ctx->ifname;
	pc.netns_fd = ctx->netns_fd;
	pc.iface = p.pod_iface;
	ret = podnet_pod_check(pod, &pc, p.result, &ctx->err);
	if (!ret)
		ret = nl_link_get(pod, ctx->ifname, &pl, &ctx->err);
	if (!ret && strcmp(pl.kind, "veth"))
		ret = cni_err_set(&ctx->err, CNI_ERR_CHECK, -EINVAL, "container interface %s is not a veth",
				  ctx->ifname);
	if (!ret)
		ret = ptp_pod_check_routes(pod, &p, pl.ifindex, &ctx->err);
	if (ret < 0)
		goto out;

	podnet_veth_name(ctx->conf->name, ctx->container_id, ctx->ifname, host_name);
	ret = podnet_host_peer(host, pod, ctx->ifname, NULL, &hl, &ctx->err);
	if (ret < 0) {
		ctx->err.code = CNI_ERR_CHECK;
		goto out;
	}
	ret = check_host_name(ctx, p.result, &hl);
	if (!ret)
		ret = ptp_host_check(host, &c, &p, &hl, &ctx->err);
	if (!ret && c.ipmasq) {
		struct nft_attach id = masq_id(ctx);
		struct nft_sock *nft = NULL;

		ret = ptp_plan_masq(&p, &masq, &n);
		if (ret < 0)
			ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, ret, "masquerade");
		else
			ret = nft_open(&nft, &ctx->err);
		if (!ret)
			ret = nft_masq_check(nft, &id, masq, n, &ctx->err);
		nft_close(nft);
	}
out:
	free(masq);
	nl_sock_close(pod);
	nl_sock_close(host);
	ptp_plan_clear(&p);
	return ret;
}

/* Whether ADD could work: ptp has no address without IPAM, then IPAM's own STATUS (upstream v1.6). */
static int ptp_status(struct cni_ctx *ctx)
{
	if (!ctx->conf->ipam_type)
		return cni_err_set(&ctx->err, CNI_ERR_CONFIG, -EINVAL,
				   "ptp needs an IPAM plugin: ipam.type is missing");
	return ipam_status(ctx);
}

/*
 * Leases are IPAM's. Masquerade of attachments the runtime no longer lists
 * goes too, even with ipMasq now off (it may have been on when they were made).
 */
static int ptp_gc(struct cni_ctx *ctx)
{
	struct nft_sock *nft = NULL;
	struct cni_err scratch = { 0 };
	struct ptp_conf c;
	int ret, r;

	ret = ptp_conf_parse(ctx->conf, &c, &ctx->err);
	if (ret < 0)
		return ret;
	ret = ipam_gc(ctx);
	r = nft_open(&nft, c.ipmasq ? &ctx->err : &scratch);
	if (!r)
		r = nft_masq_gc(nft, ctx->conf->name, ctx->conf->valid, ctx->conf->n_valid,
				c.ipmasq ? &ctx->err : &scratch);
	if (c.ipmasq)
		ret = ret ? ret : r;
	nft_close(nft);
	return ret;
}

const struct cni_plugin ptp_plugin = {
	.name = "ptp",
	.about = "CNI ptp plugin (cnip): a routed veth per pod, reference or proxy-ARP layout",
	.add = ptp_add,
	.del = ptp_del,
	.check = ptp_check,
	.status = ptp_status,
	.gc = ptp_gc,
};
