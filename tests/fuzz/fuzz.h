/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNIP_FUZZ_H
#define CNIP_FUZZ_H

/*
 * What the config harnesses share. An input is the stdin a plugin would
 * read, optionally followed by a NUL and the CNI_ARGS string: the fuzzer
 * learns both, and the seeds show the layout. A harness is one translation
 * unit with the plugin files it fuzzes #included (wireguard-tools' way), so
 * static helpers are in reach and no plugin archive is linked.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/args.h"
#include "cni/conf.h"
#include "cni/skel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits data into config and CNI_ARGS and fills ctx as the skel would; 0 or -1. */
static inline int fz_ctx_open(const uint8_t *data, size_t size, struct cni_ctx *ctx)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t clen = nul ? (size_t)(nul - data) : size;
	struct cni_err err = { 0 };
	char *args = NULL;

	*ctx = (struct cni_ctx){ .cmd = CNI_CMD_ADD, .command = "ADD", .container_id = "fuzz",
				 .netns = "/run/netns/fuzz", .netns_fd = -1, .ifname = "eth0",
				 .path = "/opt/cni/bin" };
	if (cni_conf_parse((const char *)data, clen, &ctx->conf, &err) < 0)
		return -1;
	if (nul) {
		args = strndup((const char *)nul + 1, size - clen - 1);
		if (!args || cni_args_parse(args, &ctx->args, &err) < 0)
			ctx->args = NULL;
		free(args);
	}
	/* The skel never hands a plugin NULL args: no CNI_ARGS is an empty set. */
	if (!ctx->args && cni_args_parse(NULL, &ctx->args, &err) < 0) {
		cni_conf_free(ctx->conf);
		return -1;
	}
	return 0;
}

/* The same ctx for another command (ifname NULL for STATUS and GC, as the skel does). */
static inline void fz_ctx_cmd(struct cni_ctx *ctx, enum cni_cmd cmd)
{
	static const char *const names[] = { "ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION" };

	ctx->cmd = cmd;
	ctx->command = names[cmd];
	ctx->ifname = cmd == CNI_CMD_STATUS || cmd == CNI_CMD_GC ? NULL : "eth0";
	ctx->container_id = cmd == CNI_CMD_STATUS || cmd == CNI_CMD_GC ? NULL : "fuzz";
	ctx->err = (struct cni_err){ 0 };
}

static inline void fz_ctx_close(struct cni_ctx *ctx)
{
	cni_args_free(ctx->args);
	cni_conf_free(ctx->conf);
}

#endif
