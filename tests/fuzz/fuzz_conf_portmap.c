// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: portmap's keys, portMappings and both forms of conditionsV4/V6. */
#include "fuzz.h"
#include "portmap/conf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err err = { 0 };
	struct portmap_conf c;
	struct cni_ctx ctx;

	if (fz_ctx_open(data, size, &ctx) < 0)
		return 0;
	if (portmap_conf_parse(ctx.conf, ctx.ifname, &c, &err) == 0)
		portmap_conf_clear(&c);
	fz_ctx_close(&ctx);
	return 0;
}
