/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNIP_FIREWALL_H
#define CNIP_FIREWALL_H

#include <stdbool.h>

struct cni_ctx;

enum fw_policy { FW_OPEN, FW_SAME_BRIDGE, FW_ISOLATED };

struct fw_conf {
	const char *admin_chain;	/* iptablesAdminChainName, "CNI-ADMIN" */
	enum fw_policy policy;		/* ingressPolicy */
	const char *bridge;		/* prevResult's interfaces[0] when a policy needs it */
};

/*
 * Reads the firewall keys. backend "firewalld" is code 2 (we never talk to
 * firewalld), another unknown backend or ingressPolicy code 7; an ingress
 * policy needs the bridge from prevResult (code 7 without one). Pointers
 * live as long as ctx->conf.
 */
int fw_conf_load(struct cni_ctx *ctx, struct fw_conf *c) __attribute__((warn_unused_result));

#endif
