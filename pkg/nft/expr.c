// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Generic nftables expression builders, free of any feature: each returns a
 * new expression or NULL on ENOMEM, and nft_put() appends it to a rule (a
 * NULL expression makes the whole rule fail). Registers are named the way
 * the kernel dumps them (nft_reg32()), so a rule built here and the same
 * rule read back compare equal.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-int.h"

uint32_t nft_reg32(unsigned int i)
{
	/* The kernel reports a 32-bit register that starts a 128-bit one by the latter's name. */
	return i % 4 ? NFT_REG32_00 + i : NFT_REG_1 + i / 4;
}

bool nft_put(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return false;
	nftnl_rule_add_expr(r, e);
	return true;
}

struct nftnl_rule *nft_rule_new(uint16_t family, const char *table, const char *chain,
				const char *comment)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *u;

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (!comment)
		return r;
	u = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 16);
	if (!u || !nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, comment)) {
		nftnl_udata_buf_free(u);
		nftnl_rule_free(r);
		return NULL;
	}
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	return r;
}

struct nftnl_expr *nft_e_meta(uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return e;
}

struct nftnl_expr *nft_e_meta_set(uint32_t key, uint32_t sreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
	}
	return e;
}

struct nftnl_expr *nft_e_cmp(uint32_t sreg, enum nft_cmp_ops op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

struct nftnl_expr *nft_e_payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return e;
}

struct nftnl_expr *nft_e_bitwise(uint32_t reg, const void *mask, const void *xor, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor ? xor : zero, len);
	}
	return e;
}

struct nftnl_expr *nft_e_verdict(int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
		if (chain)
			nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	}
	return e;
}

struct nftnl_expr *nft_e_imm(uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	}
	return e;
}

struct nftnl_expr *nft_e_vmap(const char *set, uint32_t sreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		/* The kernel reports flags 0 back; say it so built and dumped rules compare equal. */
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
	}
	return e;
}

struct nftnl_expr *nft_e_lookup(const char *set, uint32_t sreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
	}
	return e;
}

struct nftnl_expr *nft_e_fib_daddr_type(uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("fib");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, dreg);
	}
	return e;
}

struct nftnl_expr *nft_e_dnat(uint32_t nfproto, uint32_t reg_addr, uint32_t reg_port)
{
	struct nftnl_expr *e = nftnl_expr_alloc("nat");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, nfproto);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg_addr);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_port);
		/* The kernel reports max = min for a single address and port. */
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, reg_addr);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, reg_port);
		/* What the kernel derives from the registers given, and reports back. */
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS,
				   NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
	}
	return e;
}

struct nftnl_expr *nft_e_ct(uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	}
	return e;
}
