// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: ptp's keys and its layout plan, from IPAM's result (the
 * prevResult stands in for it) and from a result ADD printed (CHECK).
 */
#include "fuzz.h"
#include "ptp/conf.c"
#include "ptp/layout.c"

static void plan_use(struct ptp_plan *p)
{
	struct cni_prefix *masq = NULL;
	struct nl_route *routes = NULL;
	size_t n = 0;

	if (ptp_plan_masq(p, &masq, &n) == 0)
		free(masq);
	if (ptp_plan_pod_routes(p, 2, &routes, &n) == 0)
		free(routes);
	ptp_plan_clear(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err err = { 0 };
	struct ptp_plan plan;
	struct cni_ctx ctx;
	struct ptp_conf c;

	if (fz_ctx_open(data, size, &ctx) < 0)
		return 0;
	if (ptp_conf_parse(ctx.conf, &c, &err) < 0 || !ctx.conf->prev_result)
		goto out;
	if (ptp_plan_from_ipam(&c, ctx.conf->prev_result, &ctx.conf->dns, &plan, &err) == 0)
		plan_use(&plan);
	err = (struct cni_err){ 0 };
	if (ptp_plan_from_result(&c, ctx.conf->prev_result, "eth0", ctx.netns, &plan, &err) == 0)
		plan_use(&plan);
out:
	fz_ctx_close(&ctx);
	return 0;
}
