// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * IP masquerade for pod addresses, a feature of the attachment engine
 * (attach.h), in table inet cnip_masq:
 *
 *   chain postrouting (nat, postrouting, srcnat):
 *     ip saddr . ip daddr & <mask of /L> @excl4_L return   one per prefix length in use
 *     ip daddr 224.0.0.0/4 return; ip6 daddr ff00::/8 return
 *     ip saddr @pods4 masquerade; ip6 saddr @pods6 masquerade
 *   map pods4/6: pod address : owner (the attachment's hash)
 *   map excl4_L/6_L: pod address . its prefix's network : owner; made with
 *     its rule by the first pod of that length, and kept (an empty map costs
 *     one lookup per new connection), as the table and base chain are
 *   chain masq-<H(net)>-<H(ifname:cid)>, one per attachment, commented with
 *     network, ifname and container ID: the attachment's record, never
 *     jumped to; one rule per pod address saying what the maps do for it:
 *     ip saddr POD ip daddr != SUBNET masquerade  (comment "POD/LEN")
 *
 * A new connection costs a few hash lookups however many pods the node
 * runs, and so does a commit: no map element leads to a chain, so nf_tables
 * does not validate one chain per pod at each commit, as it did for the
 * verdict maps of version 1 (table inet cnip_masquerade, one goto element per
 * pod). DEL, CHECK and GC still read and remove what version 1 made; GC
 * drops its table once no element is left. ADD reads the record chain and
 * releases the addresses it no longer has; an address whose element names
 * another (stale) attachment is taken over. The rule comments let DEL find
 * the elements without the addresses.
 */
#include <errno.h>
#include <pthread.h>
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

/* Maps: pods4, pods6, then excl4_0 .. excl4_32 and excl6_0 .. excl6_128 (made when first used). */
#define EXCL4 2
#define EXCL6 (EXCL4 + 33)
#define NMAPS (EXCL6 + 129)
#define CONCAT2(a, b) ((a) << 6 | (b))

static struct nft_map maps[NMAPS];
static char excl_names[NMAPS - EXCL4][12];

static void maps_fill(void)
{
	size_t i;

	maps[0] = (struct nft_map){ .family = NFPROTO_INET, .table = NFT_MASQ_TABLE,
				    .name = NFT_MASQ_PODS4, .key_type = NFT_TYPE_IPADDR,
				    .key_len = 4, .id = 1, .owner = true };
	maps[1] = (struct nft_map){ .family = NFPROTO_INET, .table = NFT_MASQ_TABLE,
				    .name = NFT_MASQ_PODS6, .key_type = NFT_TYPE_IP6ADDR,
				    .key_len = 16, .id = 2, .owner = true };
	for (i = EXCL4; i < NMAPS; i++) {
		bool v4 = i < EXCL6;
		uint32_t t = v4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR;

		snprintf(excl_names[i - EXCL4], sizeof(excl_names[0]), "excl%c_%zu", v4 ? '4' : '6',
			 i - (v4 ? EXCL4 : EXCL6));
		maps[i] = (struct nft_map){ .family = NFPROTO_INET, .table = NFT_MASQ_TABLE,
					    .name = excl_names[i - EXCL4],
					    .key_type = CONCAT2(t, t), .key_len = v4 ? 8 : 32,
					    .id = (uint32_t)i + 1, .owner = true, .lazy = true };
	}
}

/* Every public function first: the table is built once per process. */
static void maps_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, maps_fill);
}

static const struct nft_map maps_v1[2] = {
	{ .family = NFPROTO_INET, .table = NFT_MASQ_TABLE_V1, .name = NFT_MASQ_MAP4,
	  .key_type = NFT_TYPE_IPADDR, .key_len = 4, .id = 1 },
	{ .family = NFPROTO_INET, .table = NFT_MASQ_TABLE_V1, .name = NFT_MASQ_MAP6,
	  .key_type = NFT_TYPE_IP6ADDR, .key_len = 16, .id = 2 },
};

/* Multicast is never masqueraded; then one lookup per family. arg: 1 for version 1's chain. */
static struct nftnl_rule *base_rule(size_t i, uint32_t arg, char what[NFT_WHAT_MAX])
{
	static const char *const whats[2][4] = {
		{ "ip daddr 224.0.0.0/4 return", "ip6 daddr ff00::/8 return",
		  "ip saddr @pods4 masquerade", "ip6 saddr @pods6 masquerade" },
		{ "ip daddr 224.0.0.0/4 return", "ip6 daddr ff00::/8 return",
		  "ip saddr vmap", "ip6 saddr vmap" },
	};
	int family = i % 2 ? AF_INET6 : AF_INET;

	snprintf(what, NFT_WHAT_MAX, "%s", whats[arg][i]);
	if (i < 2)
		return nft_masq_rule_multicast(arg ? NFT_MASQ_TABLE_V1 : NFT_MASQ_TABLE, family);
	return arg ? nft_masq_rule_dispatch(family) : nft_masq_rule_pods(family);
}

static struct nftnl_rule *excl_rule(const struct nft_map *m, char what[NFT_WHAT_MAX])
{
	size_t i = (size_t)(m - maps);
	bool v4 = i < EXCL6;
	unsigned int len = (unsigned int)(i - (v4 ? EXCL4 : EXCL6));

	snprintf(what, NFT_WHAT_MAX, "%s saddr . %s daddr & /%u @%s return", v4 ? "ip" : "ip6",
		 v4 ? "ip" : "ip6", len, m->name);
	return nft_masq_rule_excl(v4 ? AF_INET : AF_INET6, len, m->name);
}

#define SRCNAT { "nat", NF_INET_POST_ROUTING, 100 /* srcnat */, false }
static const struct nft_base bases[1] = { { NFT_MASQ_CHAIN, SRCNAT, 4, base_rule, 0 } };
static const struct nft_base bases_v1[1] = { { NFT_MASQ_CHAIN, SRCNAT, 4, base_rule, 1 } };

/* The keys of p: its address in pods4/6 and, unless v1, (address . network) in its length's excl map. */
static int keys_of(const struct cni_prefix *p, bool v1, struct nft_keys *out)
{
	bool v4 = p->ip.family == AF_INET;
	size_t alen = v4 ? 4 : 16;
	struct cni_prefix net = cni_prefix_network(p);
	struct nft_key k = { .map = v4 ? 0 : 1 };
	int ret;

	memcpy(k.data, p->ip.a, alen);
	ret = nft_keys_add(out, &k);
	if (ret < 0 || v1)
		return ret;
	memset(&k, 0, sizeof(k));
	k.map = (uint8_t)((v4 ? EXCL4 : EXCL6) + p->len);
	memcpy(k.data, p->ip.a, alen);
	memcpy(k.data + alen, net.ip.a, alen);
	return nft_keys_add(out, &k);
}

static int rules_in(const char *table, const char *chain, const void *spec, struct nft_built *v,
		    size_t max)
{
	const struct masq_spec *ms = spec;
	size_t i;

	if (ms->n > max)
		return -E2BIG;
	for (i = 0; i < ms->n; i++) {
		cni_prefix_format(&ms->ips[i], v[i].what);
		v[i].r = nft_masq_rule_pod(table, chain, &ms->ips[i]);
		if (!v[i].r) {
			while (i--)
				nftnl_rule_free(v[i].r);
			return -ENOMEM;
		}
	}
	return (int)ms->n;
}

static int masq_rules(const char *chain, const void *spec, struct nft_built *v, size_t max)
{
	return rules_in(NFT_MASQ_TABLE, chain, spec, v, max);
}

static int masq_rules_v1(const char *chain, const void *spec, struct nft_built *v, size_t max)
{
	return rules_in(NFT_MASQ_TABLE_V1, chain, spec, v, max);
}

static int spec_keys(const void *spec, bool v1, struct nft_keys *out)
{
	const struct masq_spec *ms = spec;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < ms->n; i++)
		ret = keys_of(&ms->ips[i], v1, out);
	return ret;
}

static int masq_keys(const void *spec, struct nft_keys *out)
{
	return spec_keys(spec, false, out);
}

static int masq_keys_v1(const void *spec, struct nft_keys *out)
{
	return spec_keys(spec, true, out);
}

/* Each rule's comment is the pod prefix it masquerades: the keys follow from it. */
static int comment_keys(const struct nftnl_rule *r, bool v1, struct nft_keys *out)
{
	char c[NFTNL_UDATA_COMMENT_MAXLEN];
	struct cni_prefix p;

	nft_rule_comment(r, c, sizeof(c));
	if (!c[0] || cni_prefix_parse(c, &p) < 0 || p.len > cni_ip_bits(&p.ip))
		return 0;
	return keys_of(&p, v1, out);
}

static int masq_rule_keys(const struct nftnl_rule *r, struct nft_keys *out)
{
	return comment_keys(r, false, out);
}

static int masq_rule_keys_v1(const struct nftnl_rule *r, struct nft_keys *out)
{
	return comment_keys(r, true, out);
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
static const struct nft_feature masq_v1;

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
	ret = nft_attach_del(s, &masq_v1, a, NULL, err);
	r = nft_ipt_chain_del(s, NFPROTO_IPV4, ipt, "POSTROUTING", err);
	ret = ret ? ret : r;
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
	.nmaps = NMAPS,
	.bases = bases,
	.nbases = 1,
	.pfx = NFT_MASQ_PFX,
	.rule_comments = true,
	.rules = masq_rules,
	.keys = masq_keys,
	.rule_keys = masq_rule_keys,
	.lazy_rule = excl_rule,
	.describe = masq_describe,
	.del_legacy = masq_del_legacy,
	.gc_legacy = masq_gc_legacy,
};

/* Version 1's layout, for what it left: never added to. */
static const struct nft_feature masq_v1 = {
	.what = "masquerade",
	.family = NFPROTO_INET,
	.table = NFT_MASQ_TABLE_V1,
	.maps = maps_v1,
	.nmaps = 2,
	.bases = bases_v1,
	.nbases = 1,
	.pfx = NFT_MASQ_PFX,
	.verdict = (uint32_t)NFT_GOTO,
	.rule_comments = true,
	.rules = masq_rules_v1,
	.keys = masq_keys_v1,
	.rule_keys = masq_rule_keys_v1,
	.describe = masq_describe,
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

	maps_init();
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

	maps_init();
	return ret < 0 ? ret : nft_attach_del(s, &masq, a, n ? &ms : NULL, err);
}

int nft_masq_check(struct nft_sock *s, const struct nft_attach *a, const struct cni_prefix *ips,
		   size_t n, struct cni_err *err)
{
	char chain[NFT_MASQ_NAMELEN];
	struct masq_spec ms = { ips, n };
	int ret = check_ips(ips, n, err);

	maps_init();
	if (ret == 0 && n == 0)
		return nft_attach_check_id(&masq, a, err);
	if (ret < 0)
		return ret;
	ret = nft_attach_check(s, &masq, a, &ms, err);
	/* A pod wired by version 1 is checked against what version 1 made. */
	if (ret == -ENOENT && nft_masq_chain_name(a->network, a->ifname, a->container_id, chain) == 0 &&
	    nft_chain_get(s, NFPROTO_INET, NFT_MASQ_TABLE, chain, NULL) == -ENOENT &&
	    nft_chain_get(s, NFPROTO_INET, NFT_MASQ_TABLE_V1, chain, NULL) == 0) {
		cni_err_clear(err);
		ret = nft_attach_check(s, &masq_v1, a, &ms, err);
	}
	return ret;
}

/* Version 1's table, once none of its map elements is left: nothing there masquerades. */
static int drop_v1(struct nft_sock *s, struct cni_err *err)
{
	struct nft_elems el = { 0 };
	struct nft_batch b;
	size_t i, n = 0;
	int ret;

	ret = nft_chain_get(s, NFPROTO_INET, NFT_MASQ_TABLE_V1, NFT_MASQ_CHAIN, NULL);
	if (ret == -ENOENT)
		return 0;
	for (i = 0; !ret && i < 2; i++) {
		ret = nft_get_elems(s, &maps_v1[i], NULL, &el);
		n += el.n;
		nft_elems_free(&el);
	}
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading table inet %s",
				   NFT_MASQ_TABLE_V1);
	if (n)
		return 0;
	nft_batch_init(&b);
	ret = nft_b_table_del(&b, NFPROTO_INET, NFT_MASQ_TABLE_V1);
	if (!ret)
		ret = nft_sock_batch(s, &b, NULL, err);
	else
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building batch");
	nft_batch_release(&b);
	/* Gone already (another GC): nothing to do. */
	if (ret == -ENOENT) {
		cni_err_clear(err);
		ret = 0;
	}
	return ret;
}

int nft_masq_gc(struct nft_sock *s, const char *network, const struct cni_attachment *keep, size_t n,
		struct cni_err *err)
{
	struct cni_err e1 = { 0 };
	int ret, r;

	maps_init();
	ret = nft_attach_gc(s, &masq, network, keep, n, err);
	/* The first error is kept: later ones go to a scratch error. */
	r = nft_attach_gc(s, &masq_v1, network, keep, n, ret ? &e1 : err);
	if (!r)
		r = drop_v1(s, ret ? &e1 : err);
	return ret ? ret : r;
}
