// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: firewall's keys, for ADD (needs prevResult's interface) and DEL. */
#include "fuzz.h"
#include "firewall/conf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cni_cmd cmds[] = { CNI_CMD_ADD, CNI_CMD_DEL, CNI_CMD_GC };
	struct cni_ctx ctx;
	struct fw_conf c;
	size_t i;

	if (fz_ctx_open(data, size, &ctx) < 0)
		return 0;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		fz_ctx_cmd(&ctx, cmds[i]);
		if (fw_conf_load(&ctx, &c) == 0 && c.bridge && strlen(c.bridge) >= NL_IFNAMSIZ)
			abort();
	}
	fz_ctx_close(&ctx);
	return 0;
}
