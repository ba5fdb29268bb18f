// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: the network config parser, prevResult included, and the
 * result printer for every version it can be asked for. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/args.h"
#include "cni/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_conf *conf = NULL;
	struct cni_args *args = NULL;
	struct cni_err err = { 0 };
	const char *const *v;
	char *text = NULL;

	if (cni_conf_parse((const char *)data, size, &conf, &err) == 0) {
		for (v = cni_versions; conf->prev_result && *v; v++) {
			struct cni_err e = { 0 };

			if (cni_result_format(conf->prev_result, *v, &text, &e) == 0)
				free(text);
		}
		cni_conf_free(conf);
	}
	/* The same bytes as CNI_ARGS, when they are a string. */
	if (size < 4096 && !memchr(data, 0, size)) {
		char *s = strndup((const char *)data, size);
		static const char *const known[] = { "IP", "MAC", NULL };

		if (s && cni_args_parse(s, &args, &err) == 0) {
			(void)!cni_args_check(args, known, &err);
			cni_args_free(args);
		}
		free(s);
	}
	return 0;
}
