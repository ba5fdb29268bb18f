// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Builders for the masquerade and spoof-check rules and the names they live
 * under, plus the small readers (expression text, comment) used to compare
 * what the kernel holds with what we would build.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "cni/hash.h"
#include "nft-int.h"

static int hash_join(const char *a, const char *sep, const char *b, char *out, size_t nhex)
{
	char *s;

	if (asprintf(&s, "%s%s%s", a, sep, b) < 0)
		return -ENOMEM;
	cni_sha512_hex(s, strlen(s), out, nhex);
	free(s);
	return 0;
}

void nft_network_prefix(const char *pfx, const char *network, char *out)
{
	size_t n = strlen(pfx);

	memcpy(out, pfx, n);
	cni_sha512_hex(network, strlen(network), out + n, NFT_HASH);
	out[n + NFT_HASH] = '-';
	out[n + NFT_HASH + 1] = '\0';
}

int nft_attach_name(const char *pfx, const char *network, const char *ifname, const char *cid,
		    char *out)
{
	char h[NFT_HASH + 1];
	int ret;

	ret = hash_join(ifname, ":", cid, h, NFT_HASH);
	if (ret < 0)
		return ret;
	nft_network_prefix(pfx, network, out);
	memcpy(out + strlen(out), h, NFT_HASH + 1);
	return 0;
}

int nft_masq_chain_name(const char *network, const char *ifname, const char *cid,
			char out[NFT_MASQ_NAMELEN])
{
	return nft_attach_name(NFT_MASQ_PFX, network, ifname, cid, out);
}

int nft_spoofchk_chain_name(const char *network, const char *ifname, const char *cid,
			    char out[NFT_SC_NAMELEN])
{
	return nft_attach_name(NFT_SC_PFX, network, ifname, cid, out);
}

int nft_masq_ipt_chain_name(const char *network, const char *cid, char out[29])
{
	memcpy(out, "CNI-", 4);
	return hash_join(network, "", cid, out + 4, 24);
}

/* The shared builders (expr.c) with everything in register 1, as these rules need. */
#define put nft_put
#define rule_new nft_rule_new
#define e_meta(key) nft_e_meta(key, NFT_REG_1)
#define e_cmp(op, data, len) nft_e_cmp(NFT_REG_1, op, data, len)
#define e_payload(base, off, len) nft_e_payload(base, off, len, NFT_REG_1)
#define e_net(off, len) e_payload(NFT_PAYLOAD_NETWORK_HEADER, off, len)
#define e_mask(mask, len) nft_e_bitwise(NFT_REG_1, mask, NULL, len)
#define e_verdict(v) nft_e_verdict(v, NULL)
#define e_vmap(set) nft_e_vmap(set, NFT_REG_1)

static void prefix_mask(unsigned int len, uint8_t mask[16])
{
	unsigned int i;

	memset(mask, 0, 16);
	for (i = 0; i < len && i < 128; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

/*
 * meta nfproto X  ip saddr POD  ip daddr != NET/LEN  masquerade
 * In table cnip_masq this is the attachment's record, never jumped to: it
 * says what the maps do for the pod, and its comment keeps the prefix, so
 * DEL without addresses finds the elements. In version 1's table a verdict
 * map led to it; the nfproto test is there because one chain holds the
 * rules of both families, and an IPv4 rule must never read an IPv6 header.
 */
struct nftnl_rule *nft_masq_rule_pod(const char *table, const char *chain, const struct cni_prefix *ip)
{
	struct nft_fam f = nft_fam_of(ip->ip.family);
	struct cni_prefix net = cni_prefix_network(ip);
	char comment[CNI_PREFIX_STRLEN];
	uint8_t mask[16];
	struct nftnl_rule *r;

	prefix_mask(ip->len, mask);
	r = rule_new(NFPROTO_INET, table, chain, cni_prefix_format(ip, comment));
	if (!r)
		return NULL;
	if (put(r, e_meta(NFT_META_NFPROTO)) && put(r, e_cmp(NFT_CMP_EQ, &f.nfproto, 1)) &&
	    put(r, e_net(f.saddr, f.alen)) && put(r, e_cmp(NFT_CMP_EQ, ip->ip.a, f.alen)) &&
	    put(r, e_net(f.daddr, f.alen)) && put(r, e_mask(mask, f.alen)) &&
	    put(r, e_cmp(NFT_CMP_NEQ, net.ip.a, f.alen)) && put(r, nftnl_expr_alloc("masq")))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/* ip daddr 224.0.0.0/4 return; ip6 daddr ff00::/8 return (one byte decides). */
struct nftnl_rule *nft_masq_rule_multicast(const char *table, int family)
{
	struct nft_fam f = nft_fam_of(family);
	static const uint8_t mask4[4] = { 0xf0 }, mc4[4] = { 0xe0 }, mc6 = 0xff;
	struct nftnl_rule *r = rule_new(NFPROTO_INET, table, NFT_MASQ_CHAIN, NULL);
	bool ok;

	if (!r)
		return NULL;
	ok = put(r, e_meta(NFT_META_NFPROTO)) && put(r, e_cmp(NFT_CMP_EQ, &f.nfproto, 1));
	if (ok && family == AF_INET)
		ok = put(r, e_net(f.daddr, 4)) && put(r, e_mask(mask4, 4)) &&
		     put(r, e_cmp(NFT_CMP_EQ, mc4, 4));
	else if (ok)
		ok = put(r, e_net(f.daddr, 1)) && put(r, e_cmp(NFT_CMP_EQ, &mc6, 1));
	if (ok && put(r, e_verdict(NFT_RETURN)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/* meta nfproto F  ip saddr, the start of both dispatch rules; NULL on ENOMEM. */
static struct nftnl_rule *saddr_rule(const char *table, int family)
{
	struct nft_fam f = nft_fam_of(family);
	struct nftnl_rule *r = rule_new(NFPROTO_INET, table, NFT_MASQ_CHAIN, NULL);

	if (r && put(r, e_meta(NFT_META_NFPROTO)) && put(r, e_cmp(NFT_CMP_EQ, &f.nfproto, 1)) &&
	    put(r, e_net(f.saddr, f.alen)))
		return r;
	if (r)
		nftnl_rule_free(r);
	return NULL;
}

/* Version 1: ip saddr vmap @masq_ip4 (ip6 ... @masq_ip6). */
struct nftnl_rule *nft_masq_rule_dispatch(int family)
{
	struct nftnl_rule *r = saddr_rule(NFT_MASQ_TABLE_V1, family);

	if (!r || put(r, e_vmap(family == AF_INET ? NFT_MASQ_MAP4 : NFT_MASQ_MAP6)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/* ip saddr @pods4 masquerade: one hash lookup per new connection, whatever the pod count. */
struct nftnl_rule *nft_masq_rule_pods(int family)
{
	const char *set = family == AF_INET ? NFT_MASQ_PODS4 : NFT_MASQ_PODS6;
	struct nftnl_rule *r = saddr_rule(NFT_MASQ_TABLE, family);

	if (!r || (put(r, nft_e_lookup(set, NFT_REG_1)) && put(r, nftnl_expr_alloc("masq"))))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/*
 * ip saddr . ip daddr & <mask of len> @set return. The source fills the
 * first 32-bit registers, the masked destination the ones after it, and the
 * lookup reads both as one key (pod . its prefix's network).
 */
struct nftnl_rule *nft_masq_rule_excl(int family, unsigned int len, const char *set)
{
	struct nft_fam f = nft_fam_of(family);
	struct nftnl_rule *r = rule_new(NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_CHAIN, NULL);
	uint32_t sreg = nft_reg32(0), dreg = nft_reg32(f.alen / 4);
	uint8_t mask[16];

	prefix_mask(len, mask);
	if (!r)
		return NULL;
	if (put(r, e_meta(NFT_META_NFPROTO)) && put(r, e_cmp(NFT_CMP_EQ, &f.nfproto, 1)) &&
	    put(r, nft_e_payload(NFT_PAYLOAD_NETWORK_HEADER, f.saddr, f.alen, sreg)) &&
	    put(r, nft_e_payload(NFT_PAYLOAD_NETWORK_HEADER, f.daddr, f.alen, dreg)) &&
	    put(r, nft_e_bitwise(dreg, mask, NULL, f.alen)) && put(r, nft_e_lookup(set, sreg)) &&
	    put(r, e_verdict(NFT_RETURN)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/* iifname vmap @ports: one hash lookup per frame, however many pods share the bridge. */
struct nftnl_rule *nft_spoofchk_rule_dispatch(void)
{
	struct nftnl_rule *r = rule_new(NFPROTO_BRIDGE, NFT_SC_TABLE, NFT_SC_BASE, NULL);

	if (!r)
		return NULL;
	if (put(r, e_meta(NFT_META_IIFNAME)) && put(r, e_vmap(NFT_SC_MAP)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/* ether saddr MAC return: the bridge family's link header is Ethernet, no dependency needed. */
struct nftnl_rule *nft_spoofchk_rule_mac(const char *chain, const uint8_t mac[6])
{
	struct nftnl_rule *r = rule_new(NFPROTO_BRIDGE, NFT_SC_TABLE, chain, NULL);

	if (!r)
		return NULL;
	if (put(r, e_payload(NFT_PAYLOAD_LL_HEADER, 6, 6)) && put(r, e_cmp(NFT_CMP_EQ, mac, 6)) &&
	    put(r, e_verdict(NFT_RETURN)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

struct nftnl_rule *nft_spoofchk_rule_drop(const char *chain)
{
	struct nftnl_rule *r = rule_new(NFPROTO_BRIDGE, NFT_SC_TABLE, chain, NULL);

	if (r && put(r, e_verdict(NF_DROP)))
		return r;
	if (r)
		nftnl_rule_free(r);
	return NULL;
}

int nft_rule_expr_text(const struct nftnl_rule *r, char *buf, size_t size)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	size_t off = 0;
	int ret = 0;

	if (!it)
		return -ENOMEM;
	buf[0] = '\0';
	while ((e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
		int n = snprintf(buf + off, size - off, "%s ", name ? name : "?");

		if (n < 0 || (size_t)n >= size - off) {
			ret = -ENOSPC;
			break;
		}
		off += (size_t)n;
		n = nftnl_expr_snprintf(buf + off, size - off, e, NFTNL_OUTPUT_DEFAULT, 0);
		if (n < 0 || (size_t)n + 2 >= size - off) {
			ret = -ENOSPC;
			break;
		}
		off += (size_t)n;
		buf[off++] = ';';
		buf[off] = '\0';
	}
	nftnl_expr_iter_destroy(it);
	return ret;
}

/*
 * libnftnl 1.2.4's nftnl_udata_parse() hands each TLV to its callback without
 * checking that the TLV's length fits the buffer, and userdata is whatever
 * the program that made the object wrote: walk it here, bounds checked.
 */
const char *nft_udata_str(const void *ud, uint32_t len, uint8_t type)
{
	const uint8_t *p = ud;
	uint32_t off = 0, n;

	while (p && len - off >= 2) {
		n = p[off + 1];
		if (n > len - off - 2)
			return NULL;
		if (p[off] == type && n > 0 && p[off + 2 + n - 1] == '\0')
			return (const char *)p + off + 2;
		off += 2 + n;
	}
	return NULL;
}

void nft_rule_comment(const struct nftnl_rule *r, char *buf, size_t size)
{
	const char *c;
	const void *ud;
	uint32_t len = 0;

	buf[0] = '\0';
	if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		return;
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	c = nft_udata_str(ud, len, NFTNL_UDATA_RULE_COMMENT);
	if (c)
		snprintf(buf, size, "%s", c);
}
