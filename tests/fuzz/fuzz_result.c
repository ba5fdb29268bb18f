// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: results of any version (IPAM output, prevResult), and
 * the round trip: what we print must parse back to the same text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_result *r = NULL, *back = NULL;
	struct cni_err err = { 0 };
	char *a = NULL, *b = NULL;

	if (cni_result_parse((const char *)data, size, &r, &err))
		return 0;
	if (cni_result_format(r, "1.1.0", &a, &err) == 0) {
		if (cni_result_parse(a, strlen(a), &back, &err))
			abort();
		if (cni_result_format(back, "1.1.0", &b, &err) || strcmp(a, b))
			abort();
	}
	free(a);
	free(b);
	cni_result_free(back);
	cni_result_free(r);
	return 0;
}
