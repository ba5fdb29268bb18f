// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * firewall: a meta plugin that lets each pod's traffic through the node's
 * forwarding filter, and published ports to the pod, with the reference's
 * keys (backend, iptablesAdminChainName, ingressPolicy). The rules and why
 * they look so: pkg/nft/firewall.c.
 *
 * ADD: keys → the pod's addresses from prevResult → rules. DEL needs
 * neither the netns nor prevResult (the attachment's chain names its
 * addresses); with prevResult it also removes the reference's per-pod rules.
 */
#include <errno.h>
#include <stdlib.h>

#include "cni/nft.h"
#include "cni/skel.h"
#include "firewall.h"

/* The pod's addresses in prevResult, as a fresh array (NULL and 0 when none). */
static int prev_ips(const struct cni_ctx *ctx, struct cni_prefix **out, size_t *n)
{
	const struct cni_result *r = ctx->conf->prev_result;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!r || !r->n_ips)
		return 0;
	*out = calloc(r->n_ips, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < r->n_ips; i++)
		(*out)[i] = r->ips[i].addr;
	*n = r->n_ips;
	return 0;
}

static int need_prev(struct cni_ctx *ctx)
{
	if (ctx->conf->prev_result)
		return 0;
	return cni_err_set(&ctx->err, CNI_ERR_CONFIG, -EINVAL, "missing prevResult from earlier plugin");
}

/* What ADD and CHECK work from: keys, addresses, the socket. */
struct fw_run {
	struct fw_conf c;
	struct nft_fw fw;
	struct cni_prefix *ips;
	struct nft_attach a;
	struct nft_sock *nft;
};

static int fw_open(struct cni_ctx *ctx, struct fw_run *run, bool prev)
{
	size_t n;
	int ret;

	*run = (struct fw_run){ .a = { ctx->conf->name, ctx->container_id, ctx->ifname } };
	ret = fw_conf_load(ctx, &run->c);
	if (!ret && prev)
		ret = need_prev(ctx);
	if (!ret && prev_ips(ctx, &run->ips, &n) < 0)
		ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, -ENOMEM, "firewall");
	if (ret < 0)
		return ret;
	run->fw = (struct nft_fw){
		.ips = run->ips, .n = n, .admin_chain = run->c.admin_chain,
		.bridge = run->c.bridge, .isolated = run->c.policy == FW_ISOLATED,
	};
	return nft_open(&run->nft, &ctx->err);
}

static void fw_close(struct fw_run *run)
{
	nft_close(run->nft);
	free(run->ips);
}

static int fw_add(struct cni_ctx *ctx, struct cni_result **result)
{
	struct cni_result *r = NULL;
	struct fw_run run;
	int ret = fw_open(ctx, &run, true);

	/* The result first: nothing to undo when memory runs out. */
	if (!ret && !(r = cni_result_dup(ctx->conf->prev_result)))
		ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, -ENOMEM, "building the result");
	if (!ret)
		ret = nft_fw_add(run.nft, &run.a, &run.fw, &ctx->err);
	if (!ret)
		*result = r;
	else
		cni_result_free(r);
	fw_close(&run);
	return ret;
}

static int fw_del(struct cni_ctx *ctx)
{
	struct fw_run run;
	int ret = fw_open(ctx, &run, false);

	if (!ret)
		ret = nft_fw_del(run.nft, &run.a, run.fw.ips, run.fw.n, &ctx->err);
	fw_close(&run);
	return ret;
}

static int fw_check(struct cni_ctx *ctx)
{
	struct fw_run run;
	int ret = fw_open(ctx, &run, true);

	if (!ret)
		ret = nft_fw_check(run.nft, &run.a, &run.fw, &ctx->err);
	fw_close(&run);
	return ret;
}

static int fw_gc(struct cni_ctx *ctx)
{
	const struct cni_conf *conf = ctx->conf;
	struct nft_sock *nft = NULL;
	struct fw_conf c;
	int ret;

	ret = fw_conf_load(ctx, &c);
	if (ret < 0)
		return ret;
	ret = nft_open(&nft, &ctx->err);
	if (!ret)
		ret = nft_fw_gc(nft, conf->name, conf->valid, conf->n_valid, &ctx->err);
	nft_close(nft);
	return ret;
}

static int fw_status(struct cni_ctx *ctx)
{
	struct fw_conf c;

	return fw_conf_load(ctx, &c);
}

static const struct cni_plugin firewall = {
	.name = "firewall",
	.about = "CNI firewall plugin (cnip): pod traffic and published ports through the node's FORWARD filter",
	.add = fw_add,
	.del = fw_del,
	.check = fw_check,
	.status = fw_status,
	.gc = fw_gc,
};

int main(void)
{
	return cni_skel_main(&firewall);
}
