// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * IP masquerade for pod addresses, a feature of the attachment engine
 * (attach.h), in table inet cnip_masquerade:
 *
 *   chain postrouting (nat, postrouting, srcnat):
 *     ip daddr 224.0.0.0/4 return; ip6 daddr ff00::/8 return
 *     ip saddr vmap @masq_ip4; ip6 saddr vmap @masq_ip6
 *   map masq_ip4/6: pod address : goto masq-<H(net)>-<H(ifname:cid)>
 *   chain masq-<H(net)>-<H(ifname:cid)>, one per attachment, commented with
 *     network, ifname and container ID; one rule per pod address:
 *     ip saddr POD ip daddr != SUBNET masquerade  (comment "POD/LEN")
 *
 * A packet costs one hash lookup however many pods the node runs (the
 * reference walks one rule per pod). ADD reads the attachment chain and
 * releases the addresses it no longer has; an address whose element leads
 * to another (stale) attachment is taken over. The rule comments let DEL
 * find the elements without the addresses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "cni/nft.h"
#include "attach.h"

#define REF_TABLE "cni_plugins_masquerade"
#define REF_CHAIN "masq_checks"

/* The pod addresses of one attachment. */
struct masq_spec {
	const struct cni_prefix *ips;
	size_t n;
};

static const struct nft_map maps[2] = {
	{ NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_MAP4, NFT_TYPE_IPADDR, 4, 1, false },
	{ NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_MAP6, NFT_TYPE_IP6ADDR, 16, 2, false },
};

/* The dispatch chain: multicast is never masqueraded, then one lookup per family. */
static struct nftnl_rule *base_rule(size_t i, uint32_t arg, char what[NFT_WHAT_MAX])
{
	static const char *const whats[] = {
		"ip daddr 224.0.0.0/4 return", "ip6 daddr ff00::/8 return",
		"ip saddr vmap", "ip6 saddr vmap",
	};
	int family = i % 2 ? AF_INET6 : AF_INET;

	snprintf(what, NFT_WHAT_MAX, "%s", whats[i]);
	return i < 2 ? nft_masq_rule_multicast(family) : nft_masq_rule_dispatch(family);
}

static const struct nft_base bases[1] = {
	{ NFT_MASQ_CHAIN, { "nat", NF_INET_POST_ROUTING, 100 /* srcnat */, false }, 4, base_rule, 0 },
};

static void key_of(const struct cni_ip *ip, struct nft_key *k)
{
	memset(k, 0, sizeof(*k));
	k->map = ip->family == AF_INET ? 0 : 1;
	memcpy(k->data, ip->a, ip->family == AF_INET ? 4 : 16);
}

static int masq_rules(const char *chain, const void *spec, struct nft_built *v, size_t max)
{
	const struct masq_spec *ms = spec;
	size_t i;

	if (ms->n > max)
		return -E2BIG;
	for (i = 0; i < ms->n; i++) {
		cni_prefix_format(&ms->ips[i], v[i].what);
		v[i].r = nft_masq_rule_pod(chain, &ms->ips[i]);
		if (!v[i].r) {
			while (i--)
				nftnl_rule_free(v[i].r);
			return -ENOMEM;
		}
	}
	return (int)ms->n;
}

static int masq_keys(const void *spec, struct nft_keys *out)
{
	const struct masq_spec *ms = spec;
	struct nft_key k;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < ms->n; i++) {
		key_of(&ms->ips[i].ip, &k);
		ret = nft_keys_add(out, &k);
	}
	return ret;
}

/* Each rule's comment is the pod prefix it masquerades: its address is the key. */
static bool masq_rule_key(const struct nftnl_rule *r, struct nft_key *k)
{
	char c[NFTNL_UDATA_COMMENT_MAXLEN];
	struct cni_prefix p;

	nft_rule_comment(r, c, sizeof(c));
	if (!c[0] || cni_prefix_parse(c, &p) < 0)
		return false;
	key_of(&p.ip, k);
	return true;
}

static void masq_describe(const void *spec, char *buf, size_t size)
{
	const struct masq_spec *ms = spec;
	char a[CNI_PREFIX_STRLEN];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < ms->n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "",
					cni_prefix_format(&ms->ips[i], a));
}

struct refnft_state {
	const char *prefix;
	const struct nft_names *keep;
};

/*
 * The reference nftables backend: rules of inet cni_plugins_masquerade
 * masq_checks whose comment starts with prefix ("H(net)-H(if:cid)" for one
 * attachment, "H(net)-" for a network) and, for GC, whose attachment hash is
 * not among keep (chain names of ours, "masq-" + that hash).
 */
static int del_refnft_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	const struct refnft_state *st = ctx;
	char c[NFTNL_UDATA_COMMENT_MAXLEN];
	size_t i, j, plen = strlen(st->prefix);
	struct nft_rules have = { 0 };
	struct nft_batch b;
	int ret;

	ret = nft_dump_rules(s, NFPROTO_INET, REF_TABLE, REF_CHAIN, &have);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s",
				   REF_TABLE, REF_CHAIN);
	nft_batch_init(&b);
	for (i = 0; !ret && i < have.n; i++) {
		bool kept = false;

		nft_rule_comment(have.v[i], c, sizeof(c));
		if (strncmp(c, st->prefix, plen))
			continue;
		for (j = 0; st->keep && j < st->keep->n; j++)
			kept |= !strncmp(c, st->keep->v[j] + NFT_MASQ_PFXLEN, NFT_MASQ_KEYLEN);
		if (!kept)
			ret = nft_b_rule_del(&b, NFPROTO_INET, REF_TABLE, REF_CHAIN,
					 nftnl_rule_get_u64(have.v[i], NFTNL_RULE_HANDLE));
	}
	nft_rules_free(&have);
	if (!ret)
		ret = nft_sock_batch(s, &b, NULL, err);
	else
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building batch");
	nft_batch_release(&b);
	return ret;
}

/* What the reference's iptables and nftables backends made for the attachment. */
static int masq_del_legacy(struct nft_sock *s, const struct nft_attach *a, struct cni_err *err)
{
	char chain[NFT_MASQ_NAMELEN], ipt[29];
	/* The reference's comment starts with "H(net)-H(if:cid)", our chain's name after "masq-". */
	struct refnft_state ref = { chain + NFT_MASQ_PFXLEN, NULL };
	int ret, r;

	ret = nft_masq_chain_name(a->network, a->ifname, a->container_id, chain);
	if (!ret)
		ret = nft_masq_ipt_chain_name(a->network, a->container_id, ipt);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "masquerade");
	ret = nft_ipt_chain_del(s, NFPROTO_IPV4, ipt, "POSTROUTING", err);
	r = nft_ipt_chain_del(s, NFPROTO_IPV6, ipt, "POSTROUTING", err);
	ret = ret ? ret : r;
	r = nft_retry(s, del_refnft_once, &ref, err);
	return ret ? ret : r;
}

/* The reference nftables backend's rules of network whose attachment is not kept. */
static int masq_gc_legacy(struct nft_sock *s, const char *network, const struct nft_names *kept,
			  struct cni_err *err)
{
	char prefix[NFT_NAME_MAX];
	struct refnft_state ref = { prefix + NFT_MASQ_PFXLEN, kept };

	nft_network_prefix(NFT_MASQ_PFX, network, prefix);
	return nft_retry(s, del_refnft_once, &ref, err);
}

static const struct nft_feature masq = {
	.what = "masquerade",
	.family = NFPROTO_INET,
	.table = NFT_MASQ_TABLE,
	.maps = maps,
	.nmaps = 2,
	.bases = bases,
	.nbases = 1,
	.pfx = NFT_MASQ_PFX,
	.verdict = (uint32_t)NFT_GOTO,
	.rule_comments = true,
	.rules = masq_rules,
	.keys = masq_keys,
	.rule_key = masq_rule_key,
	.describe = masq_describe,
	.del_legacy = masq_del_legacy,
	.gc_legacy = masq_gc_legacy,
};

static int check_ips(const struct cni_prefix *ips, size_t n, struct cni_err *err)
{
	char a[CNI_PREFIX_STRLEN];
	size_t i, j;

	if (n > NFT_RULES_MAX)
		return cni_err_set(err, CNI_ERR_INTERNAL, -E2BIG, "masquerade: %zu addresses, at most %d",
				   n, NFT_RULES_MAX);
	for (i = 0; i < n; i++) {
		if ((ips[i].ip.family != AF_INET && ips[i].ip.family != AF_INET6) ||
		    ips[i].len > cni_ip_bits(&ips[i].ip))
			return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "masquerade: bad address #%zu", i);
		for (j = 0; j < i; j++)
			if (cni_ip_equal(&ips[i].ip, &ips[j].ip))
				return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL,
						   "masquerade: address %s listed twice",
						   cni_prefix_format(&ips[i], a));
	}
	return 0;
}

int nft_masq_add(struct nft_sock *s, const struct nft_attach *a, const struct cni_prefix *ips,
		 size_t n, struct cni_err *err)
{
	struct masq_spec ms = { ips, n };
	int ret = check_ips(ips, n, err);

	/* No address, nothing to masquerade; the identity is still checked. */
	if (ret == 0 && n == 0)
		return nft_attach_check_id(&masq, a, err);
	return ret < 0 ? ret : nft_attach_add(s, &masq, a, &ms, err);
}

int nft_masq_del(struct nft_sock *s, const struct nft_attach *a, const struct cni_prefix *ips,
		 size_t n, struct cni_err *err)
{
	struct masq_spec ms = { ips, n };
	int ret = check_ips(ips, n, err);

	return ret < 0 ? ret : nft_attach_del(s, &masq, a, n ? &ms : NULL, err);
}

int nft_masq_check(struct nft_sock *s, const struct nft_attach *a, const struct cni_prefix *ips,
		   size_t n, struct cni_err *err)
{
	struct masq_spec ms = { ips, n };
	int ret = check_ips(ips, n, err);

	if (ret == 0 && n == 0)
		return nft_attach_check_id(&masq, a, err);
	return ret < 0 ? ret : nft_attach_check(s, &masq, a, &ms, err);
}

int nft_masq_gc(struct nft_sock *s, const char *network, const struct cni_attachment *keep, size_t n,
		struct cni_err *err)
{
	return nft_attach_gc(s, &masq, network, keep, n, err);
}
