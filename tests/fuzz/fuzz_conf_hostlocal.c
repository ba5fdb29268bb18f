// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: host-local's ipam object (ranges, legacy subnet,
 * runtimeConfig.ipRanges, requested IPs from CNI_ARGS, args and
 * runtimeConfig, routes), then the range sets in use: each one's string,
 * lookups, and the first addresses of the allocation order.
 */
#include "fuzz.h"
#include "host-local/config.c"
#include "host-local/range.c"

static void sets_use(const struct hl_conf *c)
{
	char buf[256], rbuf[HL_RANGE_STRLEN];
	const struct hl_range *r;
	struct hl_iter it;
	struct cni_ip ip;
	size_t i, k;

	for (i = 0; i < c->n_sets; i++) {
		const struct hl_rangeset *s = &c->sets[i];

		(void)hl_rangeset_string(s, buf, sizeof(buf));
		(void)hl_rangeset_family(s);
		for (k = 0; k < s->n; k++)
			(void)hl_range_string(&s->r[k], rbuf);
		for (k = 0; k < c->n_req; k++)
			(void)hl_rangeset_find(s, &c->req[k]);
		hl_iter_init(&it, s, c->n_req ? &c->req[0] : NULL);
		/* An address handed out lies in the range it came from, never on its gateway. */
		for (k = 0; k < 8 && hl_iter_next(&it, &ip, &r); k++)
			if (!hl_range_contains(r, &ip) || cni_ip_equal(&ip, &r->gw))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err err = { 0 };
	struct hl_conf *c = NULL;
	struct cni_ctx ctx;

	if (fz_ctx_open(data, size, &ctx) < 0)
		return 0;
	if (hl_conf_load(ctx.conf, cni_args_get(ctx.args, "IP"), true, &c, &err) == 0) {
		sets_use(c);
		hl_conf_free(c);
	}
	err = (struct cni_err){ 0 };
	if (hl_conf_load(ctx.conf, NULL, false, &c, &err) == 0)
		hl_conf_free(c);
	fz_ctx_close(&ctx);
	return 0;
}
