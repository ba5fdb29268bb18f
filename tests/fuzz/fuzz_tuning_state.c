// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: tuning's state file (<dataDir>/<cid>_<ifname>.json, the
 * reference's or ours) as tn_state_load() parses it after reading it.
 */
#include <stddef.h>
#include <stdint.h>

#include "tuning/state.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_json *j = NULL;
	struct tn_state s;

	if (size >= TN_STATE_MAX || cni_json_parse((const char *)data, size, &j, NULL) < 0)
		return 0;
	tn_state_init(&s);
	if (state_parse(j, &s) == 0) {
		struct cni_json *back = state_json(&s);

		cni_json_free(back);
	}
	tn_state_release(&s);
	cni_json_free(j);
	return 0;
}
