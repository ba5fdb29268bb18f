// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: CNI_ARGS ("K=V;K=V"), its lookups and the unknown-key check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[] = { "IP", "MAC", "K8S_POD_NAME", NULL };
	struct cni_args *args = NULL;
	struct cni_err err = { 0 };
	char *s;
	size_t i;

	/* An environment variable ends at its first NUL. */
	s = strndup((const char *)data, size);
	if (!s)
		return 0;
	if (cni_args_parse(s, &args, &err) == 0) {
		for (i = 0; known[i]; i++)
			(void)cni_args_get(args, known[i]);
		(void)cni_args_get(args, "IgnoreUnknown");
		err = (struct cni_err){ 0 };
		(void)cni_args_check(args, known, &err);
		cni_args_free(args);
	}
	free(s);
	return 0;
}
