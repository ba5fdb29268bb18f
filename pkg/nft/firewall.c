// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The firewall plugin's rules.
 *
 * A packet dropped by one nftables base chain is gone, but an accept only
 * ends the chain that said it: the next base chain on the hook still sees
 * the packet. A node whose iptables FORWARD policy is DROP (Docker leaves it
 * so; on Debian 12 that is iptables-nft, table ip filter) therefore drops pod
 * traffic whatever another table accepts. The accept must live in that
 * chain. We keep iptables-nft able to read it (native `ct` expressions make
 * `iptables-save` give up on the whole table), so the decision is taken in
 * our own table and carried across by one packet mark bit:
 *
 *   table inet cnip_firewall
 *     chain forward   (filter, forward, priority -10)
 *       meta mark & ~BIT              clears what anyone else left there
 *       iifname vmap @isolation       ingress policies: jump iso-<bridge>
 *       ip saddr @pods4 ..., ip daddr @pods4 ct ...   mark what pods may pass
 *     maps pods4/pods6: pod address : owner (its chain's hash)
 *     chain fw-<H(net)>-<H(ifname:cid)>: the attachment's record (the same
 *       marks for its address), never jumped to
 *     chain forward-out (filter, forward, priority 10)
 *       meta mark & ~BIT              so the bit never leaves the hook
 *     chain iso-<bridge>: oifname != <bridge> oifname @bridges drop
 *                         (isolated: oifname <bridge> drop first)
 *   table ip filter / ip6 filter (created as iptables-nft would when absent)
 *     chain FORWARD: jump CNIP-FORWARD first
 *     chain CNIP-FORWARD: jump <iptablesAdminChainName>; meta mark & BIT accept
 *     chain <iptablesAdminChainName>: the administrator's, never touched
 *
 * iptables shows ours as `-A FORWARD -j CNIP-FORWARD`,
 * `-A CNIP-FORWARD -j CNI-ADMIN` and `-m mark --mark 0x100000/0x100000 -j
 * ACCEPT`: an administrator's DROP in the admin chain still wins, as with
 * the reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/udata.h>

#include "cni/nft.h"
#include "attach.h"
#include "nft-int.h"

#define FAM NFPROTO_INET
#define PRIO_BEFORE (-10)
#define PRIO_AFTER 10
/* The bit that carries "admitted" from our chain to iptables' FORWARD. */
#define FW_MARK 0x00100000u
#define T "cnip_firewall"
#define BASE "forward"
#define AFTER "forward-out"
#define MAP4 "pods4"
#define MAP6 "pods6"
#define ISO_MAP "isolation"		/* ingress bridge : jump iso-<bridge> */
#define ISO_OUT "isolating"		/* bridges with a policy : goto iso-drop */
#define ISO_PFX "iso-"
#define ISO_DROP "iso-drop"
#define IPT_TABLE "filter"
#define IPT_CHAIN "CNIP-FORWARD"
#define PFX "fw-"

/* iptables-nft's own FORWARD: created only where absent, and then without a policy. */
static const struct nft_hook ipt_forward = { "filter", NF_INET_FORWARD, 0 /* NF_IP_PRI_FILTER */, false };

static const struct nft_map iso_map = {
	.family = FAM, .table = T, .name = ISO_MAP, .key_type = NFT_TYPE_IFNAME,
	.key_len = IFNAMSIZ, .id = 11, .host_order = true,
};
static const struct nft_map iso_out = {
	.family = FAM, .table = T, .name = ISO_OUT, .key_type = NFT_TYPE_IFNAME,
	.key_len = IFNAMSIZ, .id = 12, .host_order = true,
};

static void ifname_key(const char *name, char k[IFNAMSIZ])
{
	memset(k, 0, IFNAMSIZ);
	memcpy(k, name, strnlen(name, IFNAMSIZ - 1));
}

/* meta mark & BIT == BIT (want) or reg1 = mark & ~BIT (clear, then set). */
static bool put_mark_test(struct nftnl_rule *r)
{
	uint32_t bit = FW_MARK;

	return nft_put(r, nft_e_meta(NFT_META_MARK, NFT_REG_1)) &&
	       nft_put(r, nft_e_bitwise(NFT_REG_1, &bit, NULL, 4)) &&
	       nft_put(r, nft_e_cmp(NFT_REG_1, NFT_CMP_EQ, &bit, 4));
}

static struct nftnl_rule *rule_mark_clear(const char *chain)
{
	struct nftnl_rule *r = nft_rule_new(FAM, T, chain, NULL);
	uint32_t mask = ~(uint32_t)FW_MARK;

	if (r && nft_put(r, nft_e_meta(NFT_META_MARK, NFT_REG_1)) &&
	    nft_put(r, nft_e_bitwise(NFT_REG_1, &mask, NULL, 4)) &&
	    nft_put(r, nft_e_meta_set(NFT_META_MARK, NFT_REG_1)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/* iifname vmap @isolation */
static struct nftnl_rule *rule_iso_dispatch(void)
{
	struct nftnl_rule *r = nft_rule_new(FAM, T, BASE, NULL);

	if (r && nft_put(r, nft_e_meta(NFT_META_IIFNAME, NFT_REG_1)) &&
	    nft_put(r, nft_e_vmap(ISO_MAP, NFT_REG_1)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/*
 * same-bridge: oifname != bridge oifname vmap @isolating (every bridge with
 * a policy leads to iso-drop); isolated: oifname bridge drop.
 */
static struct nftnl_rule *rule_iso(const char *chain, const char *bridge, bool same)
{
	struct nftnl_rule *r = nft_rule_new(FAM, T, chain,
					    same ? "isolated: no traffic between its pods" :
						   "same-bridge: no traffic to other isolating bridges");
	char k[IFNAMSIZ];

	ifname_key(bridge, k);
	if (r && nft_put(r, nft_e_meta(NFT_META_OIFNAME, NFT_REG_1)) &&
	    nft_put(r, nft_e_cmp(NFT_REG_1, same ? NFT_CMP_EQ : NFT_CMP_NEQ, k, IFNAMSIZ)) &&
	    nft_put(r, same ? nft_e_verdict(NF_DROP, NULL) : nft_e_vmap(ISO_OUT, NFT_REG_1)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

static struct nftnl_rule *rule_drop(const char *chain)
{
	struct nftnl_rule *r = nft_rule_new(FAM, T, chain, NULL);

	if (r && nft_put(r, nft_e_verdict(NF_DROP, NULL)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

static struct nftnl_rule *rule_jump(uint16_t family, const char *table, const char *chain,
				    const char *target, const char *comment)
{
	struct nftnl_rule *r = nft_rule_new(family, table, chain, comment);

	if (r && nft_put(r, nft_e_verdict(NFT_JUMP, target)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

static struct nftnl_rule *rule_ipt_accept(uint16_t family)
{
	struct nftnl_rule *r = nft_rule_new(family, IPT_TABLE, IPT_CHAIN,
					    "cnip firewall: accepted by inet " T);

	if (r && put_mark_test(r) && nft_put(r, nft_e_verdict(NF_ACCEPT, NULL)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/* ---- iptables' FORWARD ---- */

struct hookin {
	uint16_t family;		/* NFPROTO_IPV4 or NFPROTO_IPV6 */
	const char *admin;
};

/* What of the family's iptables part is there. */
struct hookin_seen {
	bool fwd, ours, admin_chain;	/* chains FORWARD, CNIP-FORWARD, the admin's */
	bool jump, admin, accept;	/* FORWARD -> ours; ours -> admin; ours' accept */
};

/*
 * Is r our mark accept, however it was written back (iptables-restore turns
 * it into iptables-nft's own form, with a counter and an xtables comment)?
 */
static bool is_mark_accept(const struct nftnl_rule *r)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	const struct nftnl_expr *e;
	int step = 0;
	bool accept = false;
	uint32_t len;

	if (!it)
		return false;
	while ((e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
		const uint32_t *d;

		if (!strcmp(name, "meta") && nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY) == NFT_META_MARK &&
		    nftnl_expr_is_set(e, NFTNL_EXPR_META_DREG)) {
			step = 1;
		} else if (!strcmp(name, "bitwise") && step == 1) {
			d = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &len);
			step = len == 4 && *d == FW_MARK ? 2 : 0;
		} else if (!strcmp(name, "cmp") && step == 2) {
			d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
			step = len == 4 && *d == FW_MARK &&
			       nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP) == NFT_CMP_EQ ? 3 : 0;
		} else if (!strcmp(name, "immediate") && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT)) {
			accept = step == 3 && nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT) == NF_ACCEPT;
		}
	}
	nftnl_expr_iter_destroy(it);
	return accept;
}

/* Reads the two short chains (FORWARD holds the node's own few rules, never one per pod). */
static int hookin_read(struct nft_sock *s, const struct hookin *h, struct hookin_seen *seen,
		       struct cni_err *err)
{
	const char *fam = nft_family_name(h->family);
	struct nft_rules fwd = { 0 }, ours = { 0 };
	struct nft_chain_info ci;
	size_t i;
	int ret;

	*seen = (struct hookin_seen){ 0 };
	ret = nft_chain_get(s, h->family, IPT_TABLE, "FORWARD", &ci);
	seen->fwd = ret == 0;
	if (seen->fwd && (!ci.base || ci.hooknum != NF_INET_FORWARD))
		return cni_err_set(err, CNI_ERR_NFT, -EINVAL,
				   "nftables: %s filter FORWARD is not a base chain on the forward hook", fam);
	if (seen->fwd)
		ret = nft_dump_rules(s, h->family, IPT_TABLE, "FORWARD", &fwd);
	if (ret == 0 || ret == -ENOENT) {
		ret = nft_chain_get(s, h->family, IPT_TABLE, IPT_CHAIN, NULL);
		seen->ours = ret == 0;
	}
	if (seen->ours)
		ret = nft_dump_rules(s, h->family, IPT_TABLE, IPT_CHAIN, &ours);
	if (ret == 0 || ret == -ENOENT) {
		ret = nft_chain_get(s, h->family, IPT_TABLE, h->admin, NULL);
		seen->admin_chain = ret == 0;
	}
	if (ret < 0 && ret != -ENOENT) {
		ret = cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading %s filter FORWARD", fam);
		goto out;
	}
	ret = 0;
	for (i = 0; i < fwd.n; i++)
		seen->jump |= nft_rule_jumps_to(fwd.v[i], IPT_CHAIN);
	for (i = 0; i < ours.n; i++)
		seen->admin |= nft_rule_jumps_to(ours.v[i], h->admin);
	for (i = 0; i < ours.n; i++)
		seen->accept |= is_mark_accept(ours.v[i]);
out:
	nft_rules_free(&fwd);
	nft_rules_free(&ours);
	return ret;
}

/* Adds what is missing of the family's iptables part; the admin chain is made empty, never changed. */
static int hookin_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	const struct hookin *h = ctx;
	struct hookin_seen seen;
	size_t failed = SIZE_MAX;
	struct nft_batch b;
	int ret;

	ret = hookin_read(s, h, &seen, err);
	if (ret < 0 || (seen.fwd && seen.ours && seen.admin_chain && seen.jump && seen.admin && seen.accept))
		return ret;
	nft_batch_init(&b);
	ret = nft_b_table(&b, h->family, IPT_TABLE);
	if (!ret && !seen.fwd)
		ret = nft_b_chain(&b, NFT_MSG_NEWCHAIN, h->family, IPT_TABLE, "FORWARD", &ipt_forward,
				  NULL, NLM_F_CREATE);
	/* EXCL when new: of two ADDs racing to make it, one retries and then finds it whole. */
	if (!ret)
		ret = nft_b_chain(&b, NFT_MSG_NEWCHAIN, h->family, IPT_TABLE, IPT_CHAIN, NULL, NULL,
				  NLM_F_CREATE | (seen.ours ? 0 : NLM_F_EXCL));
	if (!ret && !seen.admin_chain)
		ret = nft_b_chain(&b, NFT_MSG_NEWCHAIN, h->family, IPT_TABLE, h->admin, NULL, NULL,
				  NLM_F_CREATE);
	if (!ret && !seen.admin)
		ret = nft_b_rule_insert(&b, rule_jump(h->family, IPT_TABLE, IPT_CHAIN, h->admin,
						      "cnip firewall: admin overrides"),
					"jump to the admin chain");
	if (!ret && !seen.accept)
		ret = nft_b_rule_add(&b, rule_ipt_accept(h->family), "meta mark accept");
	if (!ret && !seen.jump)
		ret = nft_b_rule_insert(&b, rule_jump(h->family, IPT_TABLE, "FORWARD", IPT_CHAIN,
						      "cnip firewall"),
					"jump " IPT_CHAIN);
	if (ret < 0)
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building the %s filter batch",
			    nft_family_name(h->family));
	else
		ret = nft_sock_batch(s, &b, &failed, err);
	nft_batch_release(&b);
	return ret;
}

static int hookin_check(struct nft_sock *s, const struct hookin *h, struct cni_err *err)
{
	const char *fam = nft_family_name(h->family);
	struct hookin_seen seen;
	int ret = hookin_read(s, h, &seen, err);

	if (ret < 0)
		return ret;
	if (!seen.jump)
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "%s filter FORWARD does not jump to " IPT_CHAIN, fam);
	if (!seen.admin || !seen.admin_chain)
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "%s filter " IPT_CHAIN " does not jump to %s",
				   fam, h->admin);
	if (!seen.accept)
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "%s filter " IPT_CHAIN " lacks its mark accept rule",
				   fam);
	return 0;
}

/* ---- ingress policies: table-level, one chain per bridge ---- */

struct iso {
	const char *bridge;
	bool isolated;
	bool want;			/* the rules as they should be (CHECK) */
};

/*
 * Our table's maps for the policies, and the bridge's chain, refilled on
 * each ADD with a policy (the last policy wins); an "open" ADD runs it only
 * while the maps are missing. Nothing here is per pod; the engine adds the
 * pods' maps and base chains after this, in its own transaction.
 */
static int iso_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	const struct iso *is = ctx;
	char chain[NFT_NAME_MAX], k[IFNAMSIZ];
	size_t failed = SIZE_MAX;
	struct nft_batch b;
	int ret;

	nft_batch_init(&b);
	ret = nft_b_table(&b, FAM, T);
	if (!ret)
		ret = nft_b_map(&b, &iso_map);
	if (!ret)
		ret = nft_b_map(&b, &iso_out);
	if (!ret)
		ret = nft_b_chain(&b, NFT_MSG_NEWCHAIN, FAM, T, ISO_DROP, NULL, NULL, NLM_F_CREATE);
	if (!ret)
		ret = nft_b_rule_del(&b, FAM, T, ISO_DROP, 0);
	if (!ret)
		ret = nft_b_rule_add(&b, rule_drop(ISO_DROP), "drop");
	if (!ret && is->bridge) {
		snprintf(chain, sizeof(chain), ISO_PFX "%s", is->bridge);
		ifname_key(is->bridge, k);
		ret = nft_b_chain(&b, NFT_MSG_NEWCHAIN, FAM, T, chain, NULL, NULL, NLM_F_CREATE);
		if (!ret)
			ret = nft_b_rule_del(&b, FAM, T, chain, 0);
		if (!ret && is->isolated)
			ret = nft_b_rule_add(&b, rule_iso(chain, is->bridge, true), "oifname drop");
		if (!ret)
			ret = nft_b_rule_add(&b, rule_iso(chain, is->bridge, false),
					     "oifname vmap @" ISO_OUT);
		if (!ret)
			ret = nft_b_elem(&b, &iso_out, k, (uint32_t)NFT_GOTO, ISO_DROP);
		if (!ret)
			ret = nft_b_elem(&b, &iso_map, k, (uint32_t)NFT_JUMP, chain);
	}
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building the firewall batch");
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
out:
	nft_batch_release(&b);
	return ret;
}

/* ---- the pods' own rules: the attachment engine's feature ---- */

static const struct nft_map fw_maps[2] = {
	{ .family = FAM, .table = T, .name = MAP4, .key_type = NFT_TYPE_IPADDR, .key_len = 4, .id = 1,
	  .owner = true },
	{ .family = FAM, .table = T, .name = MAP6, .key_type = NFT_TYPE_IP6ADDR, .key_len = 16, .id = 2,
	  .owner = true },
};
/* The same maps as earlier versions made them: address : jump fw-..., rewritten by fw_migrate(). */
static const struct nft_map fw_maps_v1[2] = {
	{ .family = FAM, .table = T, .name = MAP4, .key_type = NFT_TYPE_IPADDR, .key_len = 4, .id = 1 },
	{ .family = FAM, .table = T, .name = MAP6, .key_type = NFT_TYPE_IP6ADDR, .key_len = 16, .id = 2 },
};

enum fw_kind { FW_FROM, FW_REPLY, FW_DNAT };

/*
 * meta nfproto F  ip saddr X            meta mark set mark | BIT   (from the pod)
 * meta nfproto F  ip daddr X  ct state established,related  ...   (its replies)
 * meta nfproto F  ip daddr X  ct status dnat                ...   (published ports)
 * X: the pod's address (its record, commented with the prefix so DEL finds
 * the elements without addresses), or @pods4/@pods6 (ip NULL, the base chain).
 */
static struct nftnl_rule *rule_mark(const char *chain, int family, const struct cni_prefix *ip,
				    enum fw_kind k)
{
	struct nft_fam f = nft_fam_of(family);
	char comment[CNI_PREFIX_STRLEN];
	uint32_t ct_key = k == FW_REPLY ? NFT_CT_STATE : NFT_CT_STATUS;
	uint32_t ct_bits = k == FW_REPLY ? NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED) :
					   IPS_DST_NAT;
	uint32_t zero = 0, keep = ~(uint32_t)FW_MARK, bit = FW_MARK;
	struct nftnl_rule *r = nft_rule_new(FAM, T, chain, ip ? cni_prefix_format(ip, comment) : NULL);
	bool ok;

	ok = r && nft_put(r, nft_e_meta(NFT_META_NFPROTO, NFT_REG_1)) &&
	     nft_put(r, nft_e_cmp(NFT_REG_1, NFT_CMP_EQ, &f.nfproto, 1)) &&
	     nft_put(r, nft_e_payload(NFT_PAYLOAD_NETWORK_HEADER, k == FW_FROM ? f.saddr : f.daddr, f.alen,
				      NFT_REG_1)) &&
	     nft_put(r, ip ? nft_e_cmp(NFT_REG_1, NFT_CMP_EQ, ip->ip.a, f.alen) :
			     nft_e_lookup(family == AF_INET ? MAP4 : MAP6, NFT_REG_1));
	if (ok && k != FW_FROM)
		ok = nft_put(r, nft_e_ct(ct_key, NFT_REG_1)) &&
		     nft_put(r, nft_e_bitwise(NFT_REG_1, &ct_bits, NULL, 4)) &&
		     nft_put(r, nft_e_cmp(NFT_REG_1, NFT_CMP_NEQ, &zero, 4));
	/* mark | BIT, as nft writes it: (mark & ~BIT) ^ BIT */
	ok = ok && nft_put(r, nft_e_meta(NFT_META_MARK, NFT_REG_1)) &&
	     nft_put(r, nft_e_bitwise(NFT_REG_1, &keep, &bit, 4)) &&
	     nft_put(r, nft_e_meta_set(NFT_META_MARK, NFT_REG_1));
	if (ok)
		return r;
	nftnl_rule_free(r);
	return NULL;
}

static struct nftnl_rule *base_forward(size_t i, uint32_t arg, char what[NFT_WHAT_MAX])
{
	static const char *const whats[] = {
		"meta mark clear", "iifname vmap @" ISO_MAP,
		"ip saddr @" MAP4 " mark", "ip6 saddr @" MAP6 " mark",
		"ip daddr @" MAP4 " ct state established,related mark",
		"ip6 daddr @" MAP6 " ct state established,related mark",
		"ip daddr @" MAP4 " ct status dnat mark", "ip6 daddr @" MAP6 " ct status dnat mark",
	};

	snprintf(what, NFT_WHAT_MAX, "%s", whats[i]);
	switch (i) {
	case 0:
		return rule_mark_clear(BASE);
	case 1:
		return rule_iso_dispatch();
	default:
		return rule_mark(BASE, i % 2 ? AF_INET6 : AF_INET, NULL, (enum fw_kind)((i - 2) / 2));
	}
}

static struct nftnl_rule *base_after(size_t i, uint32_t arg, char what[NFT_WHAT_MAX])
{
	snprintf(what, NFT_WHAT_MAX, "meta mark clear");
	return rule_mark_clear(AFTER);
}

static const struct nft_base fw_bases[2] = {
	{ BASE, { "filter", NF_INET_FORWARD, PRIO_BEFORE, false }, 8, base_forward, 0 },
	{ AFTER, { "filter", NF_INET_FORWARD, PRIO_AFTER, false }, 1, base_after, 0 },
};

static int fw_rules(const char *chain, const void *spec, struct nft_built *v, size_t max)
{
	const struct nft_fw *fw = spec;
	static const char *const kinds[] = { "from", "replies to", "published ports of" };
	char a[CNI_PREFIX_STRLEN];
	size_t i, n = 0;
	int k;

	for (i = 0; i < fw->n; i++) {
		for (k = FW_FROM; k <= FW_DNAT; k++) {
			if (n == max)
				return -E2BIG;
			v[n].r = rule_mark(chain, fw->ips[i].ip.family, &fw->ips[i], (enum fw_kind)k);
			if (!v[n].r)
				return -ENOMEM;
			snprintf(v[n].what, NFT_WHAT_MAX, "mark %s %s", kinds[k],
				 cni_prefix_format(&fw->ips[i], a));
			n++;
		}
	}
	return (int)n;
}

static void key_of(const struct cni_ip *ip, struct nft_key *k)
{
	memset(k, 0, sizeof(*k));
	k->map = ip->family == AF_INET ? 0 : 1;
	memcpy(k->data, ip->a, ip->family == AF_INET ? 4 : 16);
}

static int fw_keys(const void *spec, struct nft_keys *out)
{
	const struct nft_fw *fw = spec;
	struct nft_key k;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < fw->n; i++) {
		key_of(&fw->ips[i].ip, &k);
		ret = nft_keys_add(out, &k);
	}
	return ret;
}

static int fw_rule_keys(const struct nftnl_rule *r, struct nft_keys *out)
{
	char c[NFTNL_UDATA_COMMENT_MAXLEN];
	struct cni_prefix p;
	struct nft_key k;

	nft_rule_comment(r, c, sizeof(c));
	if (!c[0] || cni_prefix_parse(c, &p) < 0)
		return 0;
	key_of(&p.ip, &k);
	return nft_keys_add(out, &k);
}

static void fw_describe(const void *spec, char *buf, size_t size)
{
	const struct nft_fw *fw = spec;
	char a[CNI_PREFIX_STRLEN];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < fw->n && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? " " : "", cni_prefix_format(&fw->ips[i], a));
}

static const struct nft_feature fw_feature = {
	.what = "firewall",
	.family = FAM,
	.table = T,
	.maps = fw_maps,
	.nmaps = 2,
	.bases = fw_bases,
	.nbases = 2,
	.pfx = PFX,
	.rule_comments = true,
	.rules = fw_rules,
	.keys = fw_keys,
	.rule_keys = fw_rule_keys,
	.describe = fw_describe,
};

/* ---- version 1's verdict maps, rewritten ---- */

/* 1 if map i of fw_maps_v1 is there as a verdict map, 0 if not (missing, or an owner map), -errno. */
static int fw_v1_map(struct nft_sock *s, size_t i)
{
	uint32_t dtype = 0;
	int ret = nft_map_get(s, &fw_maps_v1[i], &dtype);

	if (ret == -ENOENT)
		return 0;
	return ret < 0 ? ret : dtype == NFT_DATA_VERDICT;
}

/*
 * Before 2026-12-06, pods4 and pods6 were verdict maps (address : jump fw-...), and
 * every commit validated every pod's chain. The first ADD, DEL or GC that
 * finds them rewrites the table in one transaction, so no packet sees it
 * half made: the base chain's rules go, the maps are made again as owner
 * maps holding every pod's element (its chain's hash), the new rules come
 * in. The fw- chains stay as they are: their rules are the records. Every
 * version makes both maps together, so pods4 alone tells (one request on
 * the way of every ADD and DEL).
 */
static int migrate_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	struct nft_elems el[2] = { { 0 } };
	size_t i, j, failed = SIZE_MAX;
	int old[2] = { 0, 0 };
	struct nft_batch b;
	int ret;

	(void)ctx;
	nft_batch_init(&b);
	ret = old[0] = fw_v1_map(s, 0);
	if (ret > 0)
		ret = old[1] = fw_v1_map(s, 1);
	for (i = 0; ret >= 0 && i < 2; i++)
		if (old[i] > 0)
			ret = nft_get_elems(s, &fw_maps_v1[i], NULL, &el[i]);
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading the maps of inet " T);
		goto out;
	}
	if (!old[0])
		goto out;
	/* The rules go first: a map a rule still looks up cannot be deleted. */
	ret = nft_b_rule_del(&b, FAM, T, BASE, 0);
	for (i = 0; !ret && i < 2; i++) {
		if (old[i])
			ret = nft_b_map_del(&b, &fw_maps_v1[i]);
		if (!ret)
			ret = nft_b_map(&b, &fw_maps[i]);
		for (j = 0; !ret && j < el[i].n; j++)
			if (el[i].v[j].verdict == (uint32_t)NFT_JUMP || el[i].v[j].verdict == (uint32_t)NFT_GOTO)
				ret = nft_b_elem(&b, &fw_maps[i], el[i].v[j].key, 0, el[i].v[j].chain);
	}
	if (!ret)
		ret = nft_b_base_rules(&b, &fw_feature, &fw_bases[0], false);
	if (ret < 0)
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building the firewall batch");
	else
		ret = nft_sock_batch(s, &b, &failed, err);
out:
	nft_elems_free(&el[0]);
	nft_elems_free(&el[1]);
	nft_batch_release(&b);
	return ret;
}

static int fw_migrate(struct nft_sock *s, struct cni_err *err)
{
	return nft_retry(s, migrate_once, NULL, err);
}

/* ---- CHECK of a bridge's ingress policy ---- */

static int iso_check(struct nft_sock *s, const struct iso *is, struct cni_err *err)
{
	char chain[NFT_NAME_MAX], k[IFNAMSIZ];
	struct nft_elems in = { 0 }, out = { 0 };
	struct nft_rules have = { 0 };
	size_t n = is->isolated ? 2 : 1, i;
	int ret;

	snprintf(chain, sizeof(chain), ISO_PFX "%s", is->bridge);
	ifname_key(is->bridge, k);
	ret = nft_dump_rules(s, FAM, T, chain, &have);
	if (!ret)
		ret = nft_get_elems(s, &iso_map, k, &in);
	if (!ret)
		ret = nft_get_elems(s, &iso_out, k, &out);
	if (ret < 0) {
		ret = cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading the ingress policy of %s",
				  is->bridge);
		goto out;
	}
	for (i = 0; i < have.n && i < n; i++) {
		ret = nft_rule_same(rule_iso(chain, is->bridge, is->isolated && i == 0), have.v[i], true);
		if (ret <= 0)
			break;
	}
	if (ret < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, ret, "firewall: comparing rules");
	else if (have.n != n || i != n || in.n != 1 || !nft_elem_leads_to(&in.v[0], chain) || out.n != 1)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "ingress policy %s of bridge %s: chain "
				  "inet " T " %s or its map elements differ",
				  is->isolated ? "isolated" : "same-bridge", is->bridge, chain);
	else
		ret = 0;
out:
	nft_rules_free(&have);
	nft_elems_free(&in);
	nft_elems_free(&out);
	return ret;
}

/* ---- what the reference firewall left for a pod address ---- */

/* Does r match ip at the address offset off (payload + cmp eq) and accept? */
static bool ref_rule_for(const struct nftnl_rule *r, const struct cni_ip *ip, uint32_t off)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nft_fam f = nft_fam_of(ip->family);
	const struct nftnl_expr *e;
	bool loaded = false, addr = false, accept = false;
	uint32_t len;

	if (!it)
		return false;
	while ((e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		if (!strcmp(name, "payload"))
			loaded = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE) == NFT_PAYLOAD_NETWORK_HEADER &&
				 nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET) == off &&
				 nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN) == f.alen;
		else if (!strcmp(name, "cmp") && loaded) {
			const void *d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);

			addr |= nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP) == NFT_CMP_EQ && len == f.alen &&
				!memcmp(d, ip->a, f.alen);
			loaded = false;
		} else if (!strcmp(name, "immediate") &&
			   nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT)) {
			accept = nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT) == NF_ACCEPT;
		}
	}
	nftnl_expr_iter_destroy(it);
	return addr && accept;
}

struct ref_del {
	uint16_t family;
	const struct cni_prefix *ips;
	size_t n;
};

/*
 * The reference's rules for each address, in chain CNI-FORWARD of ip/ip6
 * filter: `-d IP -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT` and
 * `-s IP -j ACCEPT`. They name no container: only an address can find them.
 */
static int ref_del_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	const struct ref_del *rd = ctx;
	struct nft_rules have = { 0 };
	size_t i, j, failed = SIZE_MAX;
	struct nft_batch b;
	int ret;

	nft_batch_init(&b);
	ret = nft_dump_rules(s, rd->family, IPT_TABLE, "CNI-FORWARD", &have);
	if (ret < 0) {
		ret = ret == -ENOENT ? 0 :
		      cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing %s filter CNI-FORWARD",
				  nft_family_name(rd->family));
		goto out;
	}
	for (i = 0; !ret && i < have.n; i++) {
		for (j = 0; j < rd->n; j++) {
			const struct cni_ip *ip = &rd->ips[j].ip;
			struct nft_fam f = nft_fam_of(ip->family);

			if (f.nfproto != rd->family ||
			    (!ref_rule_for(have.v[i], ip, f.saddr) && !ref_rule_for(have.v[i], ip, f.daddr)))
				continue;
			ret = nft_b_rule_del(&b, rd->family, IPT_TABLE, "CNI-FORWARD",
					     nftnl_rule_get_u64(have.v[i], NFTNL_RULE_HANDLE));
			break;
		}
	}
	if (ret < 0)
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building the firewall batch");
	else if (b.nmsg)
		ret = nft_sock_batch(s, &b, &failed, err);
out:
	nft_rules_free(&have);
	nft_batch_release(&b);
	return ret;
}

/* ---- the verbs ---- */

static bool has_family(const struct cni_prefix *ips, size_t n, int family)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ips[i].ip.family == family)
			return true;
	return false;
}

static int check_spec(const struct nft_fw *fw, struct cni_err *err)
{
	if (!fw || !fw->admin_chain || !*fw->admin_chain || strlen(fw->admin_chain) >= NFT_NAME_MAX)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "firewall: an admin chain is required");
	if (fw->bridge && (!*fw->bridge || strlen(fw->bridge) >= IFNAMSIZ))
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "firewall: bad bridge name");
	return 0;
}

int nft_fw_add(struct nft_sock *s, const struct nft_attach *a, const struct nft_fw *fw,
	       struct cni_err *err)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	struct iso is = { fw ? fw->bridge : NULL, fw && fw->isolated, true };
	struct hookin h;
	int ret, i;

	ret = check_spec(fw, err);
	if (!ret)
		ret = fw_migrate(s, err);
	/* "open" changes no policy: only the map the base chain looks up must be there. */
	if (!ret && (is.bridge || nft_map_get(s, &iso_map, NULL) < 0))
		ret = nft_retry(s, iso_once, &is, err);
	if (!ret)
		ret = nft_attach_add(s, &fw_feature, a, fw, err);
	for (i = 0; !ret && i < 2; i++) {
		if (!has_family(fw->ips, fw->n, fams[i]))
			continue;
		h = (struct hookin){ fams[i] == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6, fw->admin_chain };
		ret = nft_retry(s, hookin_once, &h, err);
		/* A failed ADD leaves none of the pod's rules (the shared chains may stay). */
		if (ret < 0 && nft_attach_del(s, &fw_feature, a, fw, NULL) < 0)
			break;
	}
	return ret;
}

int nft_fw_del(struct nft_sock *s, const struct nft_attach *a, const struct cni_prefix *ips, size_t n,
	       struct cni_err *err)
{
	struct nft_fw fw = { .ips = ips, .n = n };
	struct ref_del rd = { NFPROTO_IPV4, ips, n };
	int ret, r;

	ret = fw_migrate(s, err);
	if (!ret)
		ret = nft_attach_del(s, &fw_feature, a, n ? &fw : NULL, err);
	if (has_family(ips, n, AF_INET)) {
		r = nft_retry(s, ref_del_once, &rd, err);
		ret = ret ? ret : r;
	}
	if (has_family(ips, n, AF_INET6)) {
		rd.family = NFPROTO_IPV6;
		r = nft_retry(s, ref_del_once, &rd, err);
		ret = ret ? ret : r;
	}
	return ret;
}

int nft_fw_check(struct nft_sock *s, const struct nft_attach *a, const struct nft_fw *fw,
		 struct cni_err *err)
{
	struct iso is = { fw ? fw->bridge : NULL, fw && fw->isolated, true };
	struct hookin h = { NFPROTO_IPV4, fw ? fw->admin_chain : NULL };
	int ret = check_spec(fw, err);

	if (!ret && has_family(fw->ips, fw->n, AF_INET))
		ret = hookin_check(s, &h, err);
	h.family = NFPROTO_IPV6;
	if (!ret && has_family(fw->ips, fw->n, AF_INET6))
		ret = hookin_check(s, &h, err);
	if (!ret && is.bridge)
		ret = iso_check(s, &is, err);
	if (!ret && fw_v1_map(s, 0) > 0)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "firewall: inet " T " still has an earlier cnip's "
				  "verdict maps; the next firewall ADD, DEL or GC on this node rewrites them");
	if (!ret)
		ret = nft_attach_check(s, &fw_feature, a, fw, err);
	return ret;
}

int nft_fw_gc(struct nft_sock *s, const char *network, const struct cni_attachment *keep, size_t n,
	      struct cni_err *err)
{
	int ret = fw_migrate(s, err);

	return ret ? ret : nft_attach_gc(s, &fw_feature, network, keep, n, err);
}
