// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: host-local's resolvConf reader. Its fopen() is pointed
 * at the input (fmemopen), so no file is written per execution.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static const uint8_t *fz_data;
static size_t fz_size;

static FILE *fz_fopen(const char *path, const char *mode)
{
	/* fmemopen() of zero bytes fails; an empty file reads as no line. */
	return fmemopen(fz_size ? (void *)fz_data : (void *)"", fz_size ? fz_size : 1, "r");
}

#define fopen fz_fopen
#include "host-local/config.c"
#include "host-local/range.c"
#undef fopen

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_dns dns = { 0 };
	struct cni_err err = { 0 };

	fz_data = data;
	fz_size = size;
	if (hl_resolv_conf_parse("resolv.conf", &dns, &err) == 0)
		cni_dns_clear(&dns);
	return 0;
}
