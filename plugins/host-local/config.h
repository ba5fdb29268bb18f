/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HL_CONFIG_H
#define HL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/conf.h"
#include "cni/err.h"
#include "cni/ip.h"
#include "cni/result.h"
#include "range.h"

/* The ipam object of host-local, as the reference's LoadIPAMConfig reads it. */
struct hl_conf {
	struct hl_rangeset *sets;	/* runtimeConfig.ipRanges, legacy subnet, ranges */
	size_t n_sets;
	struct cni_ip *req;		/* requested: CNI_ARGS IP, args.cni.ips, runtimeConfig.ips */
	size_t n_req;
	struct cni_route *routes;
	size_t n_routes;
	const char *data_dir;		/* NULL = the default; points into conf */
	const char *resolv_conf;	/* NULL = none; points into conf */
};

/*
 * Reads conf->ipam. With ranges false only dataDir is read (DEL and GC need no
 * more, and must work with a config whose ranges went bad). env_ip is CNI_ARGS
 * IP (NULL if absent). Errors: CNI_ERR_CONFIG with the reference's messages,
 * CNI_ERR_ENV for a bad CNI_ARGS IP. Free with hl_conf_free().
 */
int hl_conf_load(const struct cni_conf *conf, const char *env_ip, bool ranges,
		 struct hl_conf **out, struct cni_err *err) __attribute__((warn_unused_result));
void hl_conf_free(struct hl_conf *c);

/*
 * resolv.conf to DNS settings the way the reference reads it: nameserver,
 * domain, search and options lines; comments (# ;) and others skipped.
 * CNI_ERR_IO when the file cannot be read. out is replaced only on success.
 */
int hl_resolv_conf_parse(const char *path, struct cni_dns *out, struct cni_err *err)
	__attribute__((warn_unused_result));

#endif
