// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portmap: hostPort mappings for a pod, chained after an interface plugin
 * whose prevResult names the pod's addresses. ADD: nftables mappings (one
 * transaction), stale UDP conntrack entries flushed, route_localnet on the
 * interface that leads to the pod so 127.0.0.1:hostPort works; the
 * prevResult passes through. DEL finds everything from the attachment's
 * identity alone, and also removes what the reference portmap made.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "cni/conntrack.h"
#include "cni/knob.h"
#include "cni/nl.h"
#include "cni/skel.h"
#include "portmap.h"

static struct nft_portmap attachment(const struct cni_ctx *ctx, const struct portmap_conf *c)
{
	struct nft_portmap pm = {
		.network = ctx->conf->name,
		.container_id = ctx->container_id,
		.ifname = ctx->ifname,
		.pod4 = c->pod4,
		.pod6 = c->pod6,
		.maps = c->maps,
		.n = c->n,
		.snat = c->snat,
		.masq_all = c->masq_all,
		.mark_bit = c->mark_bit,
		.cond4 = c->cond4,
		.cond6 = c->cond6,
		.ncond4 = c->ncond4,
		.ncond6 = c->ncond6,
	};

	return pm;
}

/*
 * A UDP "connection" that began before the mapping existed keeps its
 * untranslated conntrack entry and never reaches the pod; one that began
 * before DEL keeps going to the pod that is gone. Both entries must go. Best
 * effort, as in the reference: the mappings themselves are in place.
 */
static void flush_udp(int family, uint16_t port, const struct cni_ip *host_ip)
{
	struct ct_match m = { family, IPPROTO_UDP, port, NULL };
	struct cni_err scratch = { 0 };

	if (host_ip && host_ip->family == family && !cni_ip_is_zero(host_ip))
		m.daddr = host_ip;
	(void)!ct_delete(&m, NULL, &scratch);
}

static void flush_mappings(const struct portmap_conf *c)
{
	size_t i, k;

	for (i = 0; i < c->n; i++) {
		const struct nft_pm_map *m = &c->maps[i];

		for (k = 0; k < 2; k++) {
			int f = k ? AF_INET6 : AF_INET;
			const struct cni_prefix *pod = k ? &c->pod6 : &c->pod4;

			if (m->proto == IPPROTO_UDP && pod->ip.family == f &&
			    (!m->host_ip.family || m->host_ip.family == f))
				flush_udp(f, m->host_port, &m->host_ip);
		}
	}
}

static void flush_gone(const struct nft_pm_gone *g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (g[i].proto == IPPROTO_UDP)
			flush_udp(g[i].family, g[i].port, &g[i].host_ip);
}

/*
 * 127.0.0.1 -> 127.0.0.1:hostPort is DNAT'ed in OUTPUT and then routed out
 * of the interface that leads to the pod; the kernel drops it as a martian
 * there unless that interface has route_localnet (as the reference sets).
 * CHECK verifies it.
 */
static int route_localnet(const struct cni_prefix *pod, bool check, struct cni_err *err)
{
	static const struct knob localnet = { "ipv4/conf/route_localnet", 1, 0 };
	struct nl_sock *sk = NULL;
	struct knob_link kl = { 0 };
	struct nl_route r;
	struct nl_link l;
	int ret;

	ret = nl_sock_open(-1, &sk, err);
	if (ret < 0)
		return ret;
	/* No route to the pod, no interface to set: the reference skips it too. */
	if (nl_route_get(sk, &pod->ip, &r, NULL) < 0 || r.oif <= 0)
		goto out;
	ret = nl_link_get_index(sk, r.oif, &l, err);
	if (ret < 0)
		goto out;
	kl.sk = sk;
	kl.netns_fd = -1;
	kl.ifindex = l.ifindex;
	kl.ifname = l.name;
	ret = check ? knob_check(&kl, &localnet, 1, err) : knob_set(&kl, &localnet, 1, err);
out:
	nl_sock_close(sk);
	return ret;
}

static int portmap_add(struct cni_ctx *ctx, struct cni_result **out)
{
	struct nft_sock *s = NULL;
	struct portmap_conf c;
	struct nft_portmap pm;
	struct cni_result *r;
	int ret;

	ret = portmap_conf_parse(ctx->conf, ctx->ifname, &c, &ctx->err);
	if (ret < 0)
		return ret;
	if (!ctx->conf->prev_result) {
		ret = cni_err_set(&ctx->err, CNI_ERR_CONFIG, -EINVAL, "must be called as chained plugin");
		goto out;
	}
	/* The reference returns success and maps nothing: the runtime believes the ports published. */
	if (c.n && !c.pod4.ip.family && !c.pod6.ip.family) {
		ret = cni_err_set(&ctx->err, CNI_ERR_CONFIG, -EINVAL,
				  "portMappings: prevResult has no address of %s in the sandbox to map to",
				  ctx->ifname);
		goto out;
	}
	pm = attachment(ctx, &c);
	if (c.n) {
		ret = nft_open(&s, &ctx->err);
		if (!ret)
			ret = nft_portmap_add(s, &pm, &ctx->err);
		if (!ret && c.snat && c.pod4.ip.family)
			ret = route_localnet(&c.pod4, false, &ctx->err);
		if (ret < 0) {
			struct cni_err scratch = { 0 };

			/* The conflict error leaves the holder's mapping alone: nothing of ours is there. */
			if (s)
				(void)!nft_portmap_del(s, &pm, NULL, NULL, &scratch);
			goto out;
		}
		flush_mappings(&c);
	}
	r = cni_result_dup(ctx->conf->prev_result);
	if (!r) {
		ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, -ENOMEM, "result");
		goto out;
	}
	*out = r;
out:
	nft_close(s);
	portmap_conf_clear(&c);
	return ret;
}

/* Needs neither the netns nor prevResult nor the mappings: the identity finds everything. */
static int portmap_del(struct cni_ctx *ctx)
{
	struct nft_pm_gone *gone = NULL;
	struct nft_sock *s = NULL;
	struct portmap_conf c;
	struct nft_portmap pm;
	size_t n = 0;
	int ret;

	ret = portmap_conf_parse(ctx->conf, ctx->ifname, &c, &ctx->err);
	if (ret < 0)
		return ret;
	pm = attachment(ctx, &c);
	ret = nft_open(&s, &ctx->err);
	if (!ret)
		ret = nft_portmap_del(s, &pm, &gone, &n, &ctx->err);
	nft_close(s);
	flush_gone(gone, n);
	flush_mappings(&c);
	free(gone);
	portmap_conf_clear(&c);
	return ret;
}

static int portmap_check(struct cni_ctx *ctx)
{
	struct nft_sock *s = NULL;
	struct portmap_conf c;
	struct nft_portmap pm;
	int ret;

	ret = portmap_conf_parse(ctx->conf, ctx->ifname, &c, &ctx->err);
	if (ret < 0)
		return ret;
	if (!ctx->conf->prev_result)
		ret = cni_err_set(&ctx->err, CNI_ERR_CONFIG, -EINVAL, "Required prevResult missing");
	pm = attachment(ctx, &c);
	if (!ret && c.n)
		ret = nft_open(&s, &ctx->err);
	if (!ret && c.n)
		ret = nft_portmap_check(s, &pm, &ctx->err);
	nft_close(s);
	if (!ret && c.n && c.snat && c.pod4.ip.family)
		ret = route_localnet(&c.pod4, true, &ctx->err);
	portmap_conf_clear(&c);
	return ret;
}

static int portmap_gc(struct cni_ctx *ctx)
{
	struct nft_pm_gone *gone = NULL;
	struct nft_sock *s = NULL;
	struct portmap_conf c;
	size_t n = 0;
	int ret;

	ret = portmap_conf_parse(ctx->conf, "", &c, &ctx->err);
	if (ret < 0)
		return ret;
	portmap_conf_clear(&c);
	ret = nft_open(&s, &ctx->err);
	if (!ret)
		ret = nft_portmap_gc(s, ctx->conf->name, ctx->conf->valid, ctx->conf->n_valid, &gone, &n,
				     &ctx->err);
	nft_close(s);
	flush_gone(gone, n);
	free(gone);
	return ret;
}

static const struct cni_plugin portmap = {
	.name = "portmap",
	.about = "CNI portmap plugin (cnip): hostPort mappings in nftables, through libnftnl",
	.add = portmap_add,
	.del = portmap_del,
	.check = portmap_check,
	.gc = portmap_gc,
};

int main(void)
{
	return cni_skel_main(&portmap);
}
