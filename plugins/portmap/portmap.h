/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNIP_PORTMAP_H
#define CNIP_PORTMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/conf.h"
#include "cni/err.h"
#include "cni/nft.h"

#define PORTMAP_MARK_BIT 13		/* the reference's default; Kubernetes uses 14 and 15 */

/* The plugin's keys, the runtime's mappings and the pod's addresses from prevResult. */
struct portmap_conf {
	bool snat;
	bool masq_all;
	unsigned int mark_bit;
	const char *external_chain;	/* externalSetMarkChain, or NULL */
	const char *backend;		/* as given, or NULL */
	struct nft_pm_map *maps;
	size_t n;
	struct nft_pm_match *cond4, *cond6;
	size_t ncond4, ncond6;
	struct cni_prefix pod4, pod6;	/* ip.family 0: none */
};

/*
 * Reads the keys, runtimeConfig.portMappings (keys in any case, as CRI
 * capitalises them) and, when there is a prevResult, the pod's first address
 * of each family on ifname. Bad values are CNI_ERR_CONFIG or CNI_ERR_DECODE;
 * a condition nftables cannot express through libnftnl is
 * CNI_ERR_UNSUPPORTED_FIELD naming the key. Free with portmap_conf_clear().
 */
int portmap_conf_parse(const struct cni_conf *conf, const char *ifname, struct portmap_conf *out,
		       struct cni_err *err) __attribute__((warn_unused_result));
void portmap_conf_clear(struct portmap_conf *c);

/*
 * Parses conditionsV4/V6 (key names it in errors, family is AF_INET or
 * AF_INET6): the reference's nftables form ("ip saddr != 10.0.0.0/8",
 * "iifname eth0") or its iptables form ("!", "-d", "10.0.0.0/8", "-i",
 * "eth+"); *iptables tells which. *out is NULL when there is none.
 */
int portmap_conditions_parse(const char *key, const char *const *words, size_t nwords, int family,
			     bool *iptables, struct nft_pm_match **out, size_t *n, struct cni_err *err)
	__attribute__((warn_unused_result));

#endif
