// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * IP masquerade for pod addresses, in table inet cnip_masquerade:
 *
 *   chain postrouting (nat, postrouting, srcnat):
 *     ip daddr 224.0.0.0/4 return; ip6 daddr ff00::/8 return
 *     ip saddr vmap @masq_ip4; ip6 saddr vmap @masq_ip6
 *   map masq_ip4/6: pod address : goto masq-<H(net)>-<H(ifname:cid)>
 *   chain masq-<H(net)>-<H(ifname:cid)>, one per attachment, commented with
 *     network, ifname and container ID; one rule per pod address:
 *     ip saddr POD ip daddr != SUBNET masquerade  (comment "POD/LEN")
 *
 * Why this shape: a packet costs one hash lookup however many pods the node
 * runs (the reference walks one rule per pod), and ADD/DEL touch only named
 * objects of one attachment: a map element is found by its key, the chain
 * by its name, the prefixes by listing that one chain. Nothing on ADD or DEL
 * lists the whole ruleset; only GC lists our chains.
 *
 * A map element belongs to whichever chain it points at. To delete an element
 * only if it is ours, the batch first re-adds it pointing at our chain (no
 * EXCL): the kernel accepts that when it already points there (or is absent)
 * and refuses with EBUSY when it points elsewhere, failing the whole batch,
 * so we retry without it (EEXIST on newer kernels). ADD takes over an address owned by another (stale)
 * attachment by deleting the element before adding it, after such an EBUSY.
 * Kernel 6.1 (Debian 12) has no DESTROY messages, hence these dances.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "cni/hash.h"
#include "cni/nft.h"
#include "nft-int.h"

#define REF_TABLE "cni_plugins_masquerade"
#define REF_CHAIN "masq_checks"

enum tag_kind { TAG_ELEM = 1, TAG_TAKEOVER, TAG_GUARD, TAG_BASE, TAG_CHAIN };
#define TAG(kind, i) ((int)(kind) << 20 | (int)(i))
#define TAG_KIND(t) ((t) < 0 ? 0 : (t) >> 20)
#define TAG_IDX(t) ((t) & 0xfffff)

static const struct nft_map map4 = {
	NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_MAP4, NFT_TYPE_IPADDR, 4, 1, false,
};
static const struct nft_map map6 = {
	NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_MAP6, NFT_TYPE_IP6ADDR, 16, 2, false,
};
static const struct nft_hook postrouting = { "nat", NF_INET_POST_ROUTING, 100 /* srcnat */, false };

static const struct nft_map *map_of(const struct cni_ip *ip)
{
	return ip->family == AF_INET ? &map4 : &map6;
}

/* NEWSETELEM ip : goto chain, or DELSETELEM ip (chain NULL). */
static int b_elem(struct nft_batch *b, const struct cni_ip *ip, const char *chain)
{
	return nft_b_elem(b, map_of(ip), ip->a, (uint32_t)NFT_GOTO, chain);
}

static int b_rule_del(struct nft_batch *b, uint16_t family, const char *table, const char *chain,
		      uint64_t handle)
{
	return nft_b_rule_del(b, family, table, chain, handle);
}

static int b_delchain(struct nft_batch *b, uint16_t family, const char *table, const char *chain)
{
	return nft_b_chain(b, NFT_MSG_DELCHAIN, family, table, chain, NULL, NULL, 0);
}

static bool ip_in(const struct cni_ip *ip, const struct cni_ip *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cni_ip_equal(ip, &v[i]))
			return true;
	return false;
}

/* The pod prefix a rule of an attachment chain carries in its comment. */
static bool rule_prefix(const struct nftnl_rule *r, struct cni_prefix *p)
{
	char c[NFTNL_UDATA_COMMENT_MAXLEN];

	nft_rule_comment(r, c, sizeof(c));
	return c[0] && cni_prefix_parse(c, p) == 0;
}

/* Does the chain hold exactly the rules we would build for ips, in order? */
static int rules_match(const struct nft_rules *have, const char *chain, const struct cni_prefix *ips,
		       size_t n, size_t *bad)
{
	size_t i;
	int same;

	if (have->n != n) {
		*bad = have->n < n ? have->n : n;
		return 0;
	}
	for (i = 0; i < n; i++) {
		same = nft_rule_same(nft_masq_rule_pod(chain, &ips[i]), have->v[i], true);
		if (same <= 0) {
			*bad = i;
			return same;
		}
	}
	*bad = SIZE_MAX;
	return 1;
}

static int check_ips(const struct cni_prefix *ips, size_t n, struct cni_err *err)
{
	char a[CNI_PREFIX_STRLEN];
	size_t i, j;

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

static int check_id(const struct nft_masq_id *id, struct cni_err *err)
{
	if (!id || !id->network || !id->container_id || !id->ifname)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL,
				   "masquerade: network, container ID and ifname are required");
	return 0;
}

/* Arguments checked, the attachment chain named. */
static int prepare(const struct nft_masq_id *id, const struct cni_prefix *ips, size_t n,
		   char chain[NFT_MASQ_NAMELEN], struct cni_err *err)
{
	int ret = check_id(id, err);

	if (!ret)
		ret = check_ips(ips, n, err);
	if (ret < 0)
		return ret;
	ret = nft_masq_chain_name(id->network, id->ifname, id->container_id, chain);
	return ret < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, ret, "masquerade") : 0;
}

/* ---- ADD ---- */

struct add_state {
	const struct nft_masq_id *id;
	const char *chain;
	const struct cni_prefix *ips;
	size_t n;
	bool *takeover;			/* per ip: delete the element first (owned elsewhere) */
	struct cni_ip *skip;		/* stale addresses of ours now owned elsewhere */
	size_t nskip;
};

/* Table, maps and the dispatch chain with its four rules. */
static int b_base(struct nft_batch *b, bool chain)
{
	int ret = nft_b_table(b, NFPROTO_INET, NFT_MASQ_TABLE);

	if (!ret)
		ret = nft_b_map(b, &map4);
	if (!ret)
		ret = nft_b_map(b, &map6);
	if (ret || !chain)
		return ret;
	/* EXCL: a concurrent ADD that made it first makes us retry, not duplicate rules. */
	ret = nft_b_chain(b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_CHAIN,
			  &postrouting, NULL, NLM_F_CREATE | NLM_F_EXCL);
	nft_batch_tag(b, TAG(TAG_BASE, 0));
	if (!ret)
		ret = nft_b_rule_add(b, nft_masq_rule_multicast(AF_INET), "ip daddr 224.0.0.0/4 return");
	if (!ret)
		ret = nft_b_rule_add(b, nft_masq_rule_multicast(AF_INET6), "ip6 daddr ff00::/8 return");
	if (!ret)
		ret = nft_b_rule_add(b, nft_masq_rule_dispatch(AF_INET), "ip saddr vmap");
	if (!ret)
		ret = nft_b_rule_add(b, nft_masq_rule_dispatch(AF_INET6), "ip6 saddr vmap");
	return ret;
}

/* The attachment's rules, replacing have's; addresses have served and ips drop are released. */
static int b_refill(struct nft_batch *b, struct add_state *st, const struct nft_rules *have, bool flush)
{
	int ret = 0;
	size_t i, j;

	for (i = 0; !ret && i < have->n; i++) {
		struct cni_prefix old;
		bool kept = false;

		if (!rule_prefix(have->v[i], &old) || ip_in(&old.ip, st->skip, st->nskip))
			continue;
		for (j = 0; j < st->n; j++)
			kept |= cni_ip_equal(&old.ip, &st->ips[j].ip);
		if (kept)
			continue;
		ret = b_elem(b, &old.ip, st->chain);
		nft_batch_tag(b, TAG(TAG_GUARD, i));
		if (!ret)
			ret = b_elem(b, &old.ip, NULL);
	}
	if (!ret && flush)
		ret = b_rule_del(b, NFPROTO_INET, NFT_MASQ_TABLE, st->chain, 0);
	for (i = 0; !ret && i < st->n; i++) {
		char what[CNI_PREFIX_STRLEN];

		ret = nft_b_rule_add(b, nft_masq_rule_pod(st->chain, &st->ips[i]),
				     cni_prefix_format(&st->ips[i], what));
	}
	return ret;
}

static int add_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	struct add_state *st = ctx;
	struct nft_batch b;
	struct nft_rules have = { 0 };
	char comment[NFTNL_UDATA_COMMENT_MAXLEN + 1];
	int ret, base, xe, match = 0, tag;
	size_t i, bad, failed = SIZE_MAX;

	nft_batch_init(&b);
	base = nft_chain_get(s, NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_CHAIN, NULL);
	xe = base < 0 && base != -ENOENT ? base :
	     nft_chain_get(s, NFPROTO_INET, NFT_MASQ_TABLE, st->chain, NULL);
	if (xe < 0 && xe != -ENOENT) {
		ret = cni_err_set(err, CNI_ERR_NFT, xe, "nftables: looking up chain inet %s %s",
				  NFT_MASQ_TABLE, st->chain);
		goto out;
	}
	if (xe == 0) {
		ret = nft_dump_rules(s, NFPROTO_INET, NFT_MASQ_TABLE, st->chain, &have);
		if (ret < 0) {
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s",
				    NFT_MASQ_TABLE, st->chain);
			goto out;
		}
		match = rules_match(&have, st->chain, st->ips, st->n, &bad);
		if (match < 0) {
			ret = cni_err_set(err, CNI_ERR_NFT, match, "nftables: comparing rules");
			goto out;
		}
	}
	ret = b_base(&b, base == -ENOENT);
	if (!ret && xe == -ENOENT) {
		snprintf(comment, sizeof(comment), "net: %s, if: %s, id: %s", st->id->network,
			 st->id->ifname, st->id->container_id);
		ret = nft_b_chain(&b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NFT_MASQ_TABLE, st->chain, NULL,
				  comment, NLM_F_CREATE | NLM_F_EXCL);
		nft_batch_tag(&b, TAG(TAG_CHAIN, 0));
	}
	if (!ret && match == 0)
		ret = b_refill(&b, st, &have, xe == 0);
	for (i = 0; !ret && i < st->n; i++) {
		if (st->takeover[i]) {
			ret = b_elem(&b, &st->ips[i].ip, NULL);
			nft_batch_tag(&b, TAG(TAG_TAKEOVER, i));
		}
		if (!ret) {
			ret = b_elem(&b, &st->ips[i].ip, st->chain);
			nft_batch_tag(&b, TAG(TAG_ELEM, i));
		}
	}
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building masquerade batch");
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
	if (ret == 0 || failed == SIZE_MAX)
		goto out;
	/* Lost a race or met an address owned elsewhere: adjust for the next attempt. */
	tag = b.tag[failed];
	if (TAG_KIND(tag) == TAG_GUARD) {
		struct cni_prefix old;
		struct cni_ip *ns;

		if (rule_prefix(have.v[TAG_IDX(tag)], &old) &&
		    (ns = reallocarray(st->skip, st->nskip + 1, sizeof(*st->skip)))) {
			st->skip = ns;
			st->skip[st->nskip++] = old.ip;
		}
	} else if (TAG_KIND(tag) == TAG_ELEM && (ret == -EBUSY || ret == -EEXIST)) {
		st->takeover[TAG_IDX(tag)] = true;
	} else if (TAG_KIND(tag) == TAG_TAKEOVER && ret == -ENOENT) {
		st->takeover[TAG_IDX(tag)] = false;
	}
out:
	nft_rules_free(&have);
	nft_batch_release(&b);
	return ret;
}

int nft_masq_add(const struct nft_masq_id *id, const struct cni_prefix *ips, size_t n,
		 struct cni_err *err)
{
	struct nft_sock s = { 0 };
	char chain[NFT_MASQ_NAMELEN];
	struct add_state st = { id, chain, ips, n, NULL, NULL, 0 };
	int ret;

	ret = prepare(id, ips, n, chain, err);
	if (ret < 0 || n == 0)
		return ret;
	st.takeover = calloc(n, sizeof(*st.takeover));
	if (!st.takeover)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "masquerade");
	ret = nft_sock_open(&s, err);
	if (ret == 0)
		ret = nft_retry(&s, add_once, &st, err);
	nft_sock_close(&s);
	free(st.takeover);
	free(st.skip);
	return ret;
}

/* ---- DEL ---- */

struct del_state {
	const char *chain;
	const struct cni_prefix *ips;
	size_t n;
	struct cni_ip *skip;		/* addresses whose element another chain owns */
	size_t nskip;
};

/* Removes our attachment chain and the map elements pointing at it. */
static int del_ours_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	struct del_state *st = ctx;
	struct nft_rules have = { 0 };
	struct cni_ip *keys = NULL, *ns;
	size_t nkeys = 0, i, failed = SIZE_MAX;
	struct nft_batch b;
	int ret;

	nft_batch_init(&b);
	ret = nft_chain_get(s, NFPROTO_INET, NFT_MASQ_TABLE, st->chain, NULL);
	if (ret == -ENOENT)
		return 0;	/* no chain, so no element can point at it: nothing of ours is left */
	if (ret == 0)
		ret = nft_dump_rules(s, NFPROTO_INET, NFT_MASQ_TABLE, st->chain, &have);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: looking up chain inet %s %s",
				   NFT_MASQ_TABLE, st->chain);
	keys = calloc(have.n + st->n + 1, sizeof(*keys));
	if (!keys) {
		ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "masquerade");
		goto out;
	}
	for (i = 0; i < have.n + st->n; i++) {
		struct cni_prefix p;

		if (i >= have.n)
			p = st->ips[i - have.n];
		else if (!rule_prefix(have.v[i], &p))
			continue;
		if (!ip_in(&p.ip, keys, nkeys) && !ip_in(&p.ip, st->skip, st->nskip))
			keys[nkeys++] = p.ip;
	}
	for (i = 0; !ret && i < nkeys; i++) {
		ret = b_elem(&b, &keys[i], st->chain);
		nft_batch_tag(&b, TAG(TAG_GUARD, i));
		if (!ret)
			ret = b_elem(&b, &keys[i], NULL);
	}
	if (!ret)
		ret = b_rule_del(&b, NFPROTO_INET, NFT_MASQ_TABLE, st->chain, 0);
	if (!ret)
		ret = b_delchain(&b, NFPROTO_INET, NFT_MASQ_TABLE, st->chain);
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building masquerade batch");
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
	/* The guard failed: another chain owns that address now; leave its element alone. */
	if ((ret == -EBUSY || ret == -EEXIST) && failed != SIZE_MAX &&
	    TAG_KIND(b.tag[failed]) == TAG_GUARD &&
	    (ns = reallocarray(st->skip, st->nskip + 1, sizeof(*ns)))) {
		st->skip = ns;
		st->skip[st->nskip++] = keys[TAG_IDX(b.tag[failed])];
	}
out:
	free(keys);
	nft_rules_free(&have);
	nft_batch_release(&b);
	return ret;
}

static int del_ours(struct nft_sock *s, const char *chain, const struct cni_prefix *ips, size_t n,
		    struct cni_err *err)
{
	struct del_state st = { chain, ips, n, NULL, 0 };
	int ret = nft_retry(s, del_ours_once, &st, err);

	free(st.skip);
	return ret;
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
			ret = b_rule_del(&b, NFPROTO_INET, REF_TABLE, REF_CHAIN,
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

int nft_masq_del(const struct nft_masq_id *id, const struct cni_prefix *ips, size_t n,
		 struct cni_err *err)
{
	struct nft_sock s = { 0 };
	char chain[NFT_MASQ_NAMELEN], ipt[29];
	/* The reference's comment starts with "H(net)-H(if:cid)", our chain's name after "masq-". */
	struct refnft_state ref = { chain + NFT_MASQ_PFXLEN, NULL };
	int ret, r;

	ret = prepare(id, ips, n, chain, err);
	if (ret < 0)
		return ret;
	ret = nft_masq_ipt_chain_name(id->network, id->container_id, ipt);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "masquerade");
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;
	ret = del_ours(&s, chain, ips, n, err);
	r = nft_ipt_chain_del(&s, NFPROTO_IPV4, ipt, "POSTROUTING", err);
	ret = ret ? ret : r;
	r = nft_ipt_chain_del(&s, NFPROTO_IPV6, ipt, "POSTROUTING", err);
	ret = ret ? ret : r;
	r = nft_retry(&s, del_refnft_once, &ref, err);
	ret = ret ? ret : r;
	nft_sock_close(&s);
	return ret;
}

/* ---- CHECK ---- */

/* The dispatch chain: exactly the four rules ADD makes. */
static int check_base(struct nft_sock *s, struct cni_err *err)
{
	struct nft_rules have = { 0 };
	struct nftnl_rule *want;
	int ret, same = 1;
	size_t i;

	ret = nft_chain_get(s, NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_CHAIN, NULL);
	if (ret == 0)
		ret = nft_dump_rules(s, NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_CHAIN, &have);
	if (ret == -ENOENT)
		return cni_err_set(err, CNI_ERR_CHECK, ret, "masquerade: chain inet %s %s missing",
				   NFT_MASQ_TABLE, NFT_MASQ_CHAIN);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s",
				   NFT_MASQ_TABLE, NFT_MASQ_CHAIN);
	for (i = 0; same > 0 && i < 4; i++) {
		want = i < 2 ? nft_masq_rule_multicast(i % 2 ? AF_INET6 : AF_INET) :
			       nft_masq_rule_dispatch(i % 2 ? AF_INET6 : AF_INET);
		if (i >= have.n) {
			nftnl_rule_free(want);
			same = 0;
		} else {
			same = nft_rule_same(want, have.v[i], true);
		}
	}
	if (same < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, same, "masquerade");
	else if (!same)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "masquerade: rule %zu of chain inet %s %s differs", i,
				  NFT_MASQ_TABLE, NFT_MASQ_CHAIN);
	nft_rules_free(&have);
	return ret;
}

/* The attachment chain: one rule per address, in order. */
static int check_attachment(struct nft_sock *s, const struct nft_masq_id *id, const char *chain,
			    const struct cni_prefix *ips, size_t n, struct cni_err *err)
{
	struct nft_rules have = { 0 };
	char a[CNI_PREFIX_STRLEN];
	size_t bad;
	int ret, match;

	ret = nft_chain_get(s, NFPROTO_INET, NFT_MASQ_TABLE, chain, NULL);
	if (ret == 0)
		ret = nft_dump_rules(s, NFPROTO_INET, NFT_MASQ_TABLE, chain, &have);
	if (ret == -ENOENT)
		return cni_err_set(err, CNI_ERR_CHECK, ret,
				   "masquerade: chain inet %s %s for %s/%s missing", NFT_MASQ_TABLE,
				   chain, id->container_id, id->ifname);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s",
				   NFT_MASQ_TABLE, chain);
	match = rules_match(&have, chain, ips, n, &bad);
	if (match < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, match, "masquerade");
	else if (!match && bad < n)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "masquerade: no rule for %s in chain inet %s %s (has %zu rules)",
				  cni_prefix_format(&ips[bad], a), NFT_MASQ_TABLE, chain, have.n);
	else if (!match)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "masquerade: chain inet %s %s has %zu rules, want %zu",
				  NFT_MASQ_TABLE, chain, have.n, n);
	nft_rules_free(&have);
	return ret;
}

/* Each address must lead to this chain. */
static int check_elems(struct nft_sock *s, const char *chain, const struct cni_prefix *ips, size_t n,
		       struct cni_err *err)
{
	char a[CNI_PREFIX_STRLEN];
	struct nft_elems el = { 0 };
	int ret = 0;
	size_t i;

	for (i = 0; !ret && i < n; i++) {
		const struct nft_map *m = map_of(&ips[i].ip);

		ret = nft_get_elems(s, m, ips[i].ip.a, &el);
		if (ret < 0)
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading map inet %s %s",
				    NFT_MASQ_TABLE, m->name);
		else if (!el.n || el.v[0].verdict != (uint32_t)NFT_GOTO || strcmp(el.v[0].chain, chain))
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "masquerade: map inet %s %s sends %s %s%s", NFT_MASQ_TABLE,
					  m->name, cni_ip_format(&ips[i].ip, a),
					  el.n ? "to chain " : "nowhere", el.n ? el.v[0].chain : "");
		nft_elems_free(&el);
	}
	return ret;
}

int nft_masq_check(const struct nft_masq_id *id, const struct cni_prefix *ips, size_t n,
		   struct cni_err *err)
{
	struct nft_sock s = { 0 };
	char chain[NFT_MASQ_NAMELEN];
	int ret;

	ret = prepare(id, ips, n, chain, err);
	if (ret < 0 || n == 0)
		return ret;
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;
	ret = check_base(&s, err);
	if (!ret)
		ret = check_attachment(&s, id, chain, ips, n, err);
	if (!ret)
		ret = check_elems(&s, chain, ips, n, err);
	nft_sock_close(&s);
	return ret;
}

/* ---- GC ---- */

int nft_masq_gc(const char *network, const struct nft_masq_id *keep, size_t nkeep,
		struct cni_err *err)
{
	struct nft_names kept = { 0 }, stale = { 0 };
	char prefix[NFT_NAME_MAX];
	struct refnft_state ref = { prefix + NFT_MASQ_PFXLEN, &kept };
	struct nft_sock s = { 0 };
	int ret, r;
	size_t i;

	if (!network)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "masquerade GC: network required");
	nft_network_prefix(NFT_MASQ_PFX, network, prefix);
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;
	ret = nft_gc_plan(&s, NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_PFX, "masquerade GC", network,
			  keep, nkeep, &kept, &stale, err);
	if (ret < 0)
		goto out;
	for (i = 0; i < stale.n; i++) {
		r = del_ours(&s, stale.v[i], NULL, 0, err);
		ret = ret ? ret : r;
	}
	r = nft_retry(&s, del_refnft_once, &ref, err);
	ret = ret ? ret : r;
out:
	nft_sock_close(&s);
	nft_names_free(&kept);
	nft_names_free(&stale);
	return ret;
}
