// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: tuning's keys and the sysctl key to /proc/sys path mapping. */
#include "fuzz.h"
#include "tuning/conf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cni_cmd cmds[] = { CNI_CMD_ADD, CNI_CMD_GC };
	struct cni_ctx ctx;
	struct tn_conf c;
	size_t i, k;

	if (fz_ctx_open(data, size, &ctx) < 0)
		return 0;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		fz_ctx_cmd(&ctx, cmds[i]);
		if (tn_conf_load(&ctx, &c) < 0)
			continue;
		/* Every path written must stay a plain path under net/. */
		for (k = 0; ctx.ifname && k < c.n_sysctl; k++)
			if (strncmp(c.sysctl[k].path, "net/", 4) || strstr(c.sysctl[k].path, "/../") ||
			    strstr(c.sysctl[k].path, "//"))
				abort();
		(void)tn_conf_touches_link(&c);
		tn_conf_release(&c);
	}
	fz_ctx_close(&ctx);
	return 0;
}
