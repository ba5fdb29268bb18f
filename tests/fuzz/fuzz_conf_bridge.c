// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: the bridge plugin's keys (vlanTrunk, MAC from three places). */
#include "fuzz.h"
#include "bridge/conf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_ctx ctx;
	struct br_conf c;

	if (fz_ctx_open(data, size, &ctx) < 0)
		return 0;
	if (br_conf_load(&ctx, &c) == 0) {
		/* What ADD relies on: a usable name, VLANs in range, ranges ordered. */
		if (!*c.bridge || strlen(c.bridge) >= NL_IFNAMSIZ || c.vlan > 4094)
			abort();
		for (size_t i = 0; i < c.n_trunk; i++)
			if (c.trunk[i].min < 1 || c.trunk[i].max > 4094 || c.trunk[i].min > c.trunk[i].max)
				abort();
		br_conf_release(&c);
	}
	fz_ctx_close(&ctx);
	return 0;
}
