/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private to pkg/nft/spoofchk.c and its unit test: names and rule builders. */
#ifndef CNIP_NFT_SPOOFCHK_INT_H
#define CNIP_NFT_SPOOFCHK_INT_H

#include <stdint.h>

struct nftnl_rule;

#define NFT_SC_TABLE "cnip_spoofchk"
#define NFT_SC_BASE "prerouting"
#define NFT_SC_MAP "ports"
#define NFT_SC_HASH 16
/* "sc-" keeps nft's command line from reading a hash that starts with a digit as a number. */
#define NFT_SC_PFX "sc-"
#define NFT_SC_PFXLEN 3
#define NFT_SC_NAMELEN (NFT_SC_PFXLEN + 2 * NFT_SC_HASH + 2)

/* The reference's (containernetworking/plugins pkg/link/spoofcheck.go). */
#define NFT_SC_REF_TABLE "nat"
#define NFT_SC_REF_BASE "PREROUTING"
#define NFT_SC_REF_PFX "cni-br-iface-"
#define NFT_SC_REF_COMMENT "macspoofchk-"

/* "sc-" H(network) "-" H(ifname ":" cid); -ENOMEM only. */
int nft_spoofchk_chain_name(const char *network, const char *ifname, const char *cid,
			    char out[NFT_SC_NAMELEN]) __attribute__((warn_unused_result));

/* Builders of table bridge cnip_spoofchk's rules; NULL on ENOMEM. */
struct nftnl_rule *nft_spoofchk_rule_dispatch(void);	/* iifname vmap @ports */
struct nftnl_rule *nft_spoofchk_rule_mac(const char *chain, const uint8_t mac[6]);
struct nftnl_rule *nft_spoofchk_rule_drop(const char *chain);

#endif
