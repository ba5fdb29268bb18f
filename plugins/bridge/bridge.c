// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bridge: pods on a Linux bridge, as the reference plugin does it, plus a
 * rollback of failed ADDs, DEL/CHECK/GC that work without the pod, and
 * deterministic host veth names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/ipam.h"
#include "cni/nft.h"
#include "cni/podnet.h"
#include "cni/knob.h"
#include "bridge.h"

/* The reference polls the port for up to ~2.5 s; we wait on netlink events as long. */
#define PORT_UP_TIMEOUT_MS 2500

/* The host veth, the bridge, the pod: result indexes, as the reference reports them. */
enum { IF_BRIDGE, IF_HOST, IF_POD };

static const char *const bridge_args[] = { "MAC", "IP", NULL };

struct br_state {
	struct br_conf c;
	struct nl_sock *node, *pod;
	struct nft_sock *nft;		/* masquerade and spoof check share it */
	struct nft_attach id;
	char host_name[PODNET_VETH_NAMELEN];
};

static int state_open(struct cni_ctx *ctx, struct br_state *s, bool need_pod)
{
	struct cni_err scratch = { 0 };
	int ret;

	ret = br_conf_load(ctx, &s->c);
	if (ret < 0)
		return ret;
	s->id = (struct nft_attach){ ctx->conf->name, ctx->container_id, ctx->ifname };
	if (ctx->container_id && ctx->ifname)
		podnet_veth_name(ctx->conf->name, ctx->container_id, ctx->ifname, s->host_name);
	ret = nl_sock_open(-1, &s->node, &ctx->err);
	/* One nftables socket for the whole invocation, masquerade and spoof check alike. */
	if (ret == 0 && (s->c.ip_masq || s->c.macspoofchk))
		ret = nft_open(&s->nft, &ctx->err);
	if (ret < 0 || ctx->netns_fd < 0)
		return ret;
	ret = nl_sock_open(ctx->netns_fd, &s->pod, need_pod ? &ctx->err : &scratch);
	/* DEL: a netns we cannot enter counts as gone. */
	return need_pod ? ret : 0;
}

static void state_close(struct br_state *s)
{
	nl_sock_close(s->pod);
	nl_sock_close(s->node);
	nft_close(s->nft);
	br_conf_release(&s->c);
}

/* The pod addresses of r on iface (masquerade and spoof check are keyed on them). */
static struct cni_prefix *result_ips(const struct cni_result *r, int iface, size_t *n)
{
	struct cni_prefix *p = calloc(r && r->n_ips ? r->n_ips : 1, sizeof(*p));
	size_t i;

	*n = 0;
	for (i = 0; p && r && i < r->n_ips; i++)
		if (iface < 0 || r->ips[i].iface == iface)
			p[(*n)++] = r->ips[i].addr;
	return p;
}

/* The reference's calcGateways: a gateway for every IP, and isDefaultGateway's routes. */
static int gateways(const struct br_conf *c, struct cni_result *r, struct cni_err *err)
{
	bool has_default[2] = { false, false };
	size_t i;

	for (i = 0; i < r->n_routes; i++)
		if (r->routes[i].dst.len == 0)
			has_default[r->routes[i].dst.ip.family == AF_INET6] = true;
	for (i = 0; i < r->n_ips; i++) {
		struct cni_ipcfg *ip = &r->ips[i];
		int v6 = ip->addr.ip.family == AF_INET6;

		if (!ip->gw.family) {
			struct cni_prefix net = cni_prefix_network(&ip->addr);

			ip->gw = net.ip;
			cni_ip_next(&ip->gw);
		}
		if (c->is_default_gw && !has_default[v6]) {
			struct cni_prefix def = { .ip = { .family = ip->addr.ip.family } };

			if (cni_result_add_route(r, &def, &r->ips[i].gw) < 0)
				return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "building the result");
			has_default[v6] = true;
		}
	}
	return 0;
}

static int result_build(struct cni_ctx *ctx, const struct br_conf *c, const struct cni_result *ipam,
			const struct podnet_veth *v, struct cni_result **out)
{
	char mac[PODNET_MAC_STRLEN];
	struct cni_result *r = cni_result_new();
	int ret = r ? 0 : -ENOMEM;
	size_t i;

	if (!ret && cni_result_add_iface(r, c->bridge, NULL, NULL) < 0)
		ret = -ENOMEM;
	if (!ret && cni_result_add_iface(r, v->host_name, podnet_mac_format(v->host_mac, mac), NULL) < 0)
		ret = -ENOMEM;
	if (!ret && cni_result_add_iface(r, v->pod_name, podnet_mac_format(v->pod_mac, mac), ctx->netns) < 0)
		ret = -ENOMEM;
	for (i = 0; !ret && i < ipam->n_ips; i++)
		if (cni_result_add_ip(r, &ipam->ips[i].addr, ipam->ips[i].gw.family ? &ipam->ips[i].gw : NULL,
				      IF_POD) < 0)
			ret = -ENOMEM;
	for (i = 0; !ret && i < ipam->n_routes; i++) {
		const struct cni_route *rt = &ipam->routes[i];
		int idx = cni_result_add_route(r, &rt->dst, rt->gw.family ? &rt->gw : NULL);

		if (idx < 0)
			ret = idx;
		else
			r->routes[idx] = (struct cni_route){ r->routes[idx].dst, r->routes[idx].gw, rt->mtu,
							     rt->advmss, rt->priority, rt->table, rt->scope };
	}
	if (!ret)
		ret = cni_dns_copy(&r->dns, cni_dns_is_empty(&ctx->conf->dns) ? &ipam->dns : &ctx->conf->dns);
	if (!ret && c->mtu) {
		r->ifaces[IF_HOST].mtu = (int)c->mtu;
		r->ifaces[IF_POD].mtu = (int)c->mtu;
	}
	if (ret < 0) {
		cni_result_free(r);
		return cni_err_set(&ctx->err, CNI_ERR_INTERNAL, ret, "building the result");
	}
	*out = r;
	return 0;
}

/*
 * The gateway addresses go on the bridge (or its VLAN interface, returned in
 * *gl) and the node forwards. br is the bridge as br_ensure read it, before
 * this ADD's port joined: its MAC is the one pinned. Without a VLAN, br is
 * read again after (its MAC, pinned, is the result's).
 */
static int gateway_setup(struct br_state *s, struct nl_link *br, const struct cni_result *r,
			 struct nl_link *gl_out, struct cni_err *err)
{
	bool v4 = false, v6 = false, added = false;
	struct nl_link gl, now;
	size_t i;
	int ret;

	ret = br_gateway_link(s->node, &s->c, br, true, &gl, err);
	for (i = 0; !ret && i < r->n_ips; i++) {
		struct cni_prefix gw = { .ip = r->ips[i].gw, .len = r->ips[i].addr.len };

		ret = br_gateway_addr(s->node, &s->c, &gl, &gw, &added, err);
		v4 |= gw.ip.family == AF_INET;
		v6 |= gw.ip.family == AF_INET6;
	}
	if (!ret)
		ret = br_gateway_pin(s->node, &gl, added, &now, err);
	if (!ret)
		ret = knob_forwarding_set(s->node, v4, v6, err);
	if (ret < 0)
		return ret;
	if (gl.ifindex == br->ifindex)
		*br = now;
	else
		gl = now;
	*gl_out = gl;
	return 0;
}

static int br_add(struct cni_ctx *ctx, struct cni_result **out)
{
	struct br_state s = { 0 };
	struct cni_result *ipam = NULL, *r = NULL;
	struct cni_prefix *ips = NULL;
	struct podnet_veth v = { 0 };
	struct nl_link br;
	bool veth_made = false, ipam_done = false, masq_done = false, br_read = false;
	char mac[PODNET_MAC_STRLEN];
	size_t nips = 0;
	int ret;

	ret = state_open(ctx, &s, true);
	if (ret < 0)
		goto fail;
	/* Addresses on an interface left down serve nothing (upstream v1.5); DEL still cleans up. */
	if (s.c.disable_container_iface && s.c.l3) {
		ret = cni_err_set(&ctx->err, CNI_ERR_CONFIG, -EINVAL,
				  "disableContainerInterface cannot be used with ipam (IPAM plugin \"%s\"): "
				  "addresses need the interface up", ctx->conf->ipam_type);
		goto fail;
	}
	ret = br_ensure(s.node, &s.c, &br, &ctx->err);
	if (ret < 0)
		goto fail;
	ret = podnet_veth_create(s.node, s.pod, &(struct podnet_veth_req){
		.host_name = s.host_name, .pod_ifname = ctx->ifname, .container_id = ctx->container_id,
		.pod_netns_fd = ctx->netns_fd,
		.mtu = s.c.mtu, .pod_mac = s.c.has_mac ? s.c.mac : NULL }, &v, &ctx->err);
	if (ret < 0)
		goto fail;
	veth_made = true;
	ret = br_port_setup(s.node, &s.c, br.ifindex, v.host_ifindex, v.host_name, &ctx->err);
	if (ret < 0)
		goto fail;
	ret = s.c.l3 ? ipam_add(ctx, &ipam) : 0;
	if (ret < 0)
		goto fail;
	ipam_done = s.c.l3;
	if (!ipam && !(ipam = cni_result_new())) {
		ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, -ENOMEM, "building the result");
		goto fail;
	}
	ret = result_build(ctx, &s.c, ipam, &v, &r);
	if (ret == 0 && s.c.is_gw)
		ret = gateways(&s.c, r, &ctx->err);
	if (ret < 0)
		goto fail;
	/*
	 * The node's side before the pod's link comes up: that wakes the kernel's
	 * workers (link watch, IPv6 address configuration), which hold the RTNL
	 * lock for a while, and a request of ours that needs it then waits.
	 */
	if (s.c.is_gw && r->n_ips) {
		struct nl_link gl;

		ret = gateway_setup(&s, &br, r, &gl, &ctx->err);
		br_read = !s.c.vlan;
		if (ret < 0)
			goto fail;
		/* Like the reference, a VLAN's gateway interface is reported after the pod's. */
		if (s.c.vlan && cni_result_add_iface(r, gl.name, podnet_mac_format(gl.mac, mac), NULL) < 0) {
			ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, -ENOMEM, "building the result");
			goto fail;
		}
	}
	ret = podnet_pod_configure(s.pod, &(struct podnet_conf){
		.ifindex = v.pod_ifindex, .ifname = ctx->ifname, .netns_fd = ctx->netns_fd, .iface = IF_POD,
		.enable_dad = s.c.enable_dad, .link_down = s.c.disable_container_iface }, r, &ctx->err);
	if (ret < 0)
		goto fail;
	/* A veth is up only once both ends are: a down pod end never gets there. */
	if (!s.c.disable_container_iface) {
		ret = nl_link_wait_up(s.node, v.host_ifindex, PORT_UP_TIMEOUT_MS, &ctx->err);
		if (ret < 0)
			goto fail;
	}
	ips = result_ips(r, IF_POD, &nips);
	if (!ips) {
		ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, -ENOMEM, "building the result");
		goto fail;
	}
	if (s.c.ip_masq && nips) {
		ret = nft_masq_add(s.nft, &s.id, ips, nips, &ctx->err);
		if (ret < 0)
			goto fail;
		masq_done = true;
	}
	if (s.c.macspoofchk) {
		ret = nft_spoofchk_add(s.nft, &s.id, v.host_name, v.pod_mac, &ctx->err);
		if (ret < 0)
			goto fail;
	}
	/* The bridge's MAC settles once it has a port (and is pinned with a gateway). */
	ret = br_read ? 0 : nl_link_get_index(s.node, br.ifindex, &br, &ctx->err);
	if (ret < 0)
		goto fail;
	free(r->ifaces[IF_BRIDGE].mac);
	r->ifaces[IF_BRIDGE].mac = strdup(podnet_mac_format(br.mac, mac));
	if (!r->ifaces[IF_BRIDGE].mac) {
		ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, -ENOMEM, "building the result");
		goto fail;
	}
	*out = r;
	r = NULL;
	goto out;
fail:
	/* Undo in reverse; ctx->err keeps the first error, undo failures only go to stderr. */
	if (masq_done) {
		struct cni_err e = { 0 };

		if (nft_masq_del(s.nft, &s.id, ips, nips, &e) < 0)
			fprintf(stderr, "bridge: rollback: %s\n", e.msg);
	}
	if (ipam_done)
		ipam_del(ctx);
	if (veth_made) {
		/* One error per step: the first error set wins, so a shared one would mislabel. */
		struct cni_err spoof = { 0 }, link = { 0 };

		if (s.c.macspoofchk && nft_spoofchk_del(s.nft, &s.id, v.host_name, &spoof) < 0)
			fprintf(stderr, "bridge: rollback: %s\n", spoof.msg);
		if (podnet_veth_remove(s.node, s.pod, ctx->ifname, s.host_name, &link) < 0)
			fprintf(stderr, "bridge: rollback: %s\n", link.msg);
	}
out:
	free(ips);
	cni_result_free(r);
	cni_result_free(ipam);
	state_close(&s);
	return ret;
}

/* Global addresses on the pod interface: what DEL must unmasquerade when prevResult is absent. */
static struct cni_prefix *pod_ips(struct br_state *s, const char *ifname, size_t *n)
{
	struct nl_addr *a = NULL;
	struct cni_prefix *p = NULL;
	struct nl_link l;
	size_t na = 0, i;

	*n = 0;
	if (!s->pod || nl_link_get(s->pod, ifname, &l, NULL) < 0 ||
	    nl_addr_list(s->pod, l.ifindex, AF_UNSPEC, &a, &na, NULL) < 0)
		return NULL;
	p = calloc(na ? na : 1, sizeof(*p));
	for (i = 0; p && i < na; i++)
		if (a[i].scope == NL_SCOPE_UNIVERSE)
			p[(*n)++] = a[i].prefix;
	free(a);
	return p;
}

/* Keeps going past failures: DEL is best effort, and reports the first. */
static void keep_first(int *ret, int r)
{
	if (*ret == 0 && r < 0)
		*ret = r;
}

static int br_del(struct cni_ctx *ctx)
{
	struct br_state s = { 0 };
	struct cni_prefix *ips = NULL;
	size_t nips = 0;
	int ret, r;

	ret = state_open(ctx, &s, false);
	if (ret < 0)
		goto out;
	/* The pod's own addresses first; prevResult when the netns is gone. */
	ips = pod_ips(&s, ctx->ifname, &nips);
	if (!nips) {
		free(ips);
		ips = result_ips(ctx->conf->prev_result, -1, &nips);
	}
	if (s.c.ip_masq)
		keep_first(&ret, nft_masq_del(s.nft, &s.id, ips, nips, &ctx->err));
	if (s.c.macspoofchk)
		keep_first(&ret, nft_spoofchk_del(s.nft, &s.id, s.host_name, &ctx->err));
	keep_first(&ret, podnet_veth_remove(s.node, s.pod, ctx->ifname, s.host_name, &ctx->err));
	if (s.c.l3) {
		r = ipam_del(ctx);
		keep_first(&ret, r);
	}
out:
	free(ips);
	state_close(&s);
	return ret;
}

static int check_fail(struct cni_ctx *ctx, const char *what, const char *name)
{
	return cni_err_set(&ctx->err, CNI_ERR_CHECK, -ENOENT, "%s %s", what, name);
}

static int check_host(struct cni_ctx *ctx, struct br_state *s, const struct nl_link *br)
{
	struct nl_link hl;
	int ret;

	ret = podnet_host_peer(s->node, s->pod, ctx->ifname, s->host_name, &hl, NULL);
	if (ret < 0)
		return check_fail(ctx, "no host veth for container interface", ctx->ifname);
	if (hl.master != br->ifindex)
		return check_fail(ctx, "host veth is not a port of bridge", s->c.bridge);
	if (hl.hairpin != s->c.hairpin)
		return cni_err_set(&ctx->err, CNI_ERR_CHECK, -ENOENT, "hairpin mode of %s is %s, expected %s",
				   hl.name, hl.hairpin ? "on" : "off", s->c.hairpin ? "on" : "off");
	if (hl.isolated != s->c.port_isolation)
		return cni_err_set(&ctx->err, CNI_ERR_CHECK, -ENOENT, "isolation of port %s is %s, expected %s",
				   hl.name, hl.isolated ? "on" : "off", s->c.port_isolation ? "on" : "off");
	return 0;
}

static int check_gateways(struct cni_ctx *ctx, struct br_state *s, const struct nl_link *br,
			  const struct cni_result *prev, int iface)
{
	char buf[CNI_PREFIX_STRLEN];
	struct nl_addr *a = NULL;
	struct nl_link gl;
	size_t na = 0, i, j;
	int ret;

	ret = br_gateway_link(s->node, &s->c, br, false, &gl, &ctx->err);
	if (ret == -ENODEV) {
		cni_err_clear(&ctx->err);
		return check_fail(ctx, "missing the VLAN gateway interface of", s->c.bridge);
	}
	if (!ret)
		ret = nl_addr_list(s->node, gl.ifindex, AF_UNSPEC, &a, &na, &ctx->err);
	for (i = 0; !ret && i < prev->n_ips; i++) {
		const struct cni_ipcfg *ip = &prev->ips[i];

		if (ip->iface != iface || !ip->gw.family)
			continue;
		for (j = 0; j < na; j++)
			if (a[j].prefix.len == ip->addr.len && cni_ip_equal(&a[j].prefix.ip, &ip->gw))
				break;
		if (j == na) {
			struct cni_prefix gw = { ip->gw, ip->addr.len };

			ret = cni_err_set(&ctx->err, CNI_ERR_CHECK, -ENOENT, "%s lacks gateway address %s",
					  gl.name, cni_prefix_format(&gw, buf));
		}
	}
	free(a);
	return ret;
}

static int br_check(struct cni_ctx *ctx)
{
	const struct cni_result *prev = ctx->conf->prev_result;
	struct br_state s = { 0 };
	struct cni_prefix *ips = NULL;
	struct nl_link br;
	char mac[PODNET_MAC_STRLEN];
	size_t nips = 0, i;
	int ret, iface = -1;

	if (!prev)
		return cni_err_set(&ctx->err, CNI_ERR_CONFIG, -EINVAL, "required prevResult missing");
	ret = state_open(ctx, &s, true);
	if (ret < 0)
		goto out;
	if (s.c.l3) {
		ret = ipam_check(ctx);
		if (ret < 0)
			goto out;
	}
	for (i = 0; i < prev->n_ifaces; i++)
		if (prev->ifaces[i].sandbox && !strcmp(prev->ifaces[i].name, ctx->ifname))
			iface = (int)i;
	if (iface < 0) {
		ret = check_fail(ctx, "prevResult lists no container interface", ctx->ifname);
		goto out;
	}
	if (nl_link_get(s.node, s.c.bridge, &br, NULL) < 0 || strcmp(br.kind, "bridge")) {
		ret = check_fail(ctx, "missing bridge", s.c.bridge);
		goto out;
	}
	for (i = 0; i < prev->n_ifaces; i++)
		if (!prev->ifaces[i].sandbox && !strcmp(prev->ifaces[i].name, s.c.bridge) &&
		    prev->ifaces[i].mac && strcasecmp(prev->ifaces[i].mac, podnet_mac_format(br.mac, mac))) {
			ret = cni_err_set(&ctx->err, CNI_ERR_CHECK, -ENOENT, "bridge %s has MAC %s, expected %s",
					  s.c.bridge, mac, prev->ifaces[i].mac);
			goto out;
		}
	ret = podnet_pod_check(s.pod, &(struct podnet_conf){ .ifname = ctx->ifname, .netns_fd = ctx->netns_fd,
		.iface = iface, .link_down = s.c.disable_container_iface }, prev, &ctx->err);
	if (!ret)
		ret = check_host(ctx, &s, &br);
	if (!ret && s.c.is_gw)
		ret = check_gateways(ctx, &s, &br, prev, iface);
	if (ret < 0)
		goto out;
	ips = result_ips(prev, iface, &nips);
	if (s.c.ip_masq && nips)
		ret = nft_masq_check(s.nft, &s.id, ips, nips, &ctx->err);
	if (!ret && s.c.macspoofchk) {
		struct nl_link pl;

		ret = nl_link_get(s.pod, ctx->ifname, &pl, &ctx->err);
		if (!ret)
			ret = nft_spoofchk_check(s.nft, &s.id, s.host_name, pl.mac, &ctx->err);
	}
out:
	free(ips);
	state_close(&s);
	return ret;
}

static int br_gc(struct cni_ctx *ctx)
{
	const struct cni_conf *conf = ctx->conf;
	struct nft_sock *nft = NULL;
	int ret = 0;

	if (conf->ipam_type)
		keep_first(&ret, ipam_gc(ctx));
	keep_first(&ret, nft_open(&nft, &ctx->err));
	if (!nft)
		return ret;
	/* Every attachment of this network, whatever this config says of ipMasq/macspoofchk now. */
	keep_first(&ret, nft_masq_gc(nft, conf->name, conf->valid, conf->n_valid, &ctx->err));
	keep_first(&ret, nft_spoofchk_gc(nft, conf->name, conf->valid, conf->n_valid, &ctx->err));
	nft_close(nft);
	return ret;
}

/* IPAM's answer, as upstream v1.6 forwards it; an L2 network (no IPAM type) is always ready. */
static int br_status(struct cni_ctx *ctx)
{
	return ctx->conf->ipam_type ? ipam_status(ctx) : 0;
}

const struct cni_plugin bridge_plugin = {
	.name = "bridge",
	.about = "CNI bridge plugin (cnip): pods on a Linux bridge, nftables masquerade",
	.args_known = bridge_args,
	.add = br_add,
	.del = br_del,
	.check = br_check,
	.status = br_status,
	.gc = br_gc,
};
