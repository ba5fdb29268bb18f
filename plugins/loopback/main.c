// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * loopback: brings "lo" up in the pod. Like the reference it ignores
 * CNI_IFNAME (the CRI plugin calls it with CNI_IFNAME=lo, others with eth0).
 */
#include <errno.h>
#include <string.h>

#include "cni/ip.h"
#include "cni/nl.h"
#include "cni/skel.h"

/* A socket in the pod and its lo; the caller closes *sk, also on failure. */
static int lo_get(struct cni_ctx *ctx, struct nl_sock **sk, struct nl_link *lo)
{
	int ret = nl_sock_open(ctx->netns_fd, sk, &ctx->err);

	return ret < 0 ? ret : nl_link_get(*sk, "lo", lo, &ctx->err);
}

static int lo_set(struct cni_ctx *ctx, bool up)
{
	struct nl_sock *sk = NULL;
	struct nl_link lo;
	int ret;

	ret = lo_get(ctx, &sk, &lo);
	if (!ret)
		ret = nl_link_set_up(sk, lo.ifindex, up, &ctx->err);
	nl_sock_close(sk);
	return ret;
}

static int lo_add(struct cni_ctx *ctx, struct cni_result **result)
{
	static const struct cni_prefix addrs[2] = {
		{ .ip = { .family = AF_INET, .a = { 127, 0, 0, 1 } }, .len = 8 },
		{ .ip = { .family = AF_INET6, .a = { [15] = 1 } }, .len = 128 },
	};
	struct cni_result *r;
	int ret, i, idx;

	ret = lo_set(ctx, true);
	if (ret < 0)
		return ret;
	/* Chained after another plugin, the result passes through unchanged. */
	if (ctx->conf->prev_result) {
		r = cni_result_dup(ctx->conf->prev_result);
		goto done;
	}
	r = cni_result_new();
	idx = r ? cni_result_add_iface(r, "lo", "00:00:00:00:00:00", ctx->netns) : -ENOMEM;
	for (i = 0; idx >= 0 && i < 2; i++)
		if (cni_result_add_ip(r, &addrs[i], NULL, idx) < 0)
			idx = -ENOMEM;
	if (idx < 0) {
		cni_result_free(r);
		r = NULL;
	}
done:
	if (!r)
		return cni_err_set(&ctx->err, CNI_ERR_IO, -ENOMEM, "building the result");
	*result = r;
	return 0;
}

static int lo_del(struct cni_ctx *ctx)
{
	int ret;

	/* Nothing to undo when the pod's netns is already gone. */
	if (ctx->netns_fd < 0)
		return 0;
	ret = lo_set(ctx, false);
	if (ret == -ENODEV) {
		cni_err_clear(&ctx->err);
		ret = 0;
	}
	return ret;
}

static int lo_check(struct cni_ctx *ctx)
{
	struct nl_sock *sk = NULL;
	struct nl_link lo;
	int ret;

	ret = lo_get(ctx, &sk, &lo);
	if (!ret && !lo.up)
		ret = cni_err_set(&ctx->err, CNI_ERR_CHECK, -ENETDOWN, "interface lo is down");
	nl_sock_close(sk);
	return ret;
}

static const struct cni_plugin loopback = {
	.name = "loopback",
	.about = "CNI loopback plugin (cnip): brings lo up in the pod's network namespace",
	.add = lo_add,
	.del = lo_del,
	.check = lo_check,
};

int main(void)
{
	return cni_skel_main(&loopback);
}
