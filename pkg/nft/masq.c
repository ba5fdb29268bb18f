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
#define ATTEMPTS 5
#define TEXT_MAX 2048

/* nft's datatype numbers, so `nft list` prints the maps' keys as addresses. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8

enum tag_kind { TAG_ELEM = 1, TAG_TAKEOVER, TAG_GUARD, TAG_BASE, TAG_CHAIN };
#define TAG(kind, i) ((int)(kind) << 20 | (int)(i))
#define TAG_KIND(t) ((t) < 0 ? 0 : (t) >> 20)
#define TAG_IDX(t) ((t) & 0xfffff)

/* ---- dumps and lookups ---- */

struct rules {
	struct nftnl_rule **v;
	size_t n, cap;
};

static void rules_free(struct rules *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		nftnl_rule_free(rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

static int rules_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rules *rs = data;
	struct nftnl_rule *r;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 8;
		struct nftnl_rule **v = realloc(rs->v, cap * sizeof(*v));

		if (!v)
			return MNL_CB_ERROR;
		rs->v = v;
		rs->cap = cap;
	}
	r = nftnl_rule_alloc();
	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return MNL_CB_ERROR;
	}
	rs->v[rs->n++] = r;
	return MNL_CB_OK;
}

/* The rules of one chain (the kernel filters the dump by table and chain). */
static int dump_rules(struct nft_sock *s, uint16_t family, const char *table, const char *chain,
		      struct rules *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nftnl_rule *r = nftnl_rule_alloc();
	int ret;

	if (!r)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, family, NLM_F_DUMP, 0);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	ret = nft_sock_query(s, nlh, rules_cb, out);
	if (ret < 0)
		rules_free(out);
	return ret == -ENOENT ? 0 : ret;
}

static int ignore_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

/* 0 if the chain exists, -ENOENT if it (or its table) does not. */
static int chain_exists(struct nft_sock *s, uint16_t family, const char *table, const char *chain)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, family, NLM_F_ACK, 0);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return nft_sock_query(s, nlh, ignore_cb, NULL);
}

struct elem_get {
	uint32_t verdict;
	char chain[NFT_MASQ_NAMELEN + 64];
	bool found;
};

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct elem_get *g = data;
	struct nftnl_set *set = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (!set)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, set) < 0) {
		nftnl_set_free(set);
		return MNL_CB_ERROR;
	}
	it = nftnl_set_elems_iter_create(set);
	if (it && (e = nftnl_set_elems_iter_cur(it))) {
		g->found = true;
		g->verdict = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT);
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN))
			snprintf(g->chain, sizeof(g->chain), "%s",
				 nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN));
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(set);
	return MNL_CB_OK;
}

static const char *map_of(const struct cni_ip *ip)
{
	return ip->family == AF_INET ? NFT_MASQ_MAP4 : NFT_MASQ_MAP6;
}

static struct nftnl_set *elem_set(const struct cni_ip *ip, const char *chain)
{
	struct nftnl_set *set = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!set || !e) {
		/* libnftnl's destructors do not accept NULL. */
		if (set)
			nftnl_set_free(set);
		if (e)
			nftnl_set_elem_free(e);
		return NULL;
	}
	nftnl_set_set_u32(set, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(set, NFTNL_SET_TABLE, NFT_MASQ_TABLE);
	nftnl_set_set_str(set, NFTNL_SET_NAME, map_of(ip));
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, ip->a, (uint32_t)cni_ip_bytes(ip));
	if (chain) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NFT_GOTO);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	}
	nftnl_set_elem_add(set, e);
	return set;
}

static int elem_get(struct nft_sock *s, const struct cni_ip *ip, struct elem_get *g)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nftnl_set *set = elem_set(ip, NULL);

	if (!set)
		return -ENOMEM;
	memset(g, 0, sizeof(*g));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_ACK, 0);
	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	return nft_sock_query(s, nlh, elem_cb, g);
}

/* ---- batch messages ---- */

static int b_table(struct nft_batch *b)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_MASQ_TABLE);
	nlh = nft_batch_add(b, NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_CREATE,
			    "adding table inet %s", NFT_MASQ_TABLE);
	if (nlh)
		nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return nlh ? 0 : -ENOMEM;
}

static int b_map(struct nft_batch *b, int family)
{
	struct nftnl_set *set = nftnl_set_alloc();
	const char *name = family == AF_INET ? NFT_MASQ_MAP4 : NFT_MASQ_MAP6;
	struct nlmsghdr *nlh;

	if (!set)
		return -ENOMEM;
	nftnl_set_set_u32(set, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(set, NFTNL_SET_TABLE, NFT_MASQ_TABLE);
	nftnl_set_set_str(set, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(set, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, family == AF_INET ? 4 : 16);
	nftnl_set_set_u32(set, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	nftnl_set_set_u32(set, NFTNL_SET_DATA_LEN, 0);
	/* Newer kernels refuse a NEWSET without an ID, even for a named set. */
	nftnl_set_set_u32(set, NFTNL_SET_ID, family == AF_INET ? 1 : 2);
	nlh = nft_batch_add(b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE,
			    "adding map inet %s %s", NFT_MASQ_TABLE, name);
	if (nlh)
		nftnl_set_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	return nlh ? 0 : -ENOMEM;
}

static int b_chain(struct nft_batch *b, uint16_t type, uint16_t family, const char *table,
		   const char *name, bool base, const char *comment, uint16_t flags)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (base) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_POST_ROUTING);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 100);	/* srcnat */
	}
	if (comment) {
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 16);
		char trunc[NFTNL_UDATA_COMMENT_MAXLEN];

		snprintf(trunc, sizeof(trunc), "%s", comment);
		if (!u || !nftnl_udata_put_strz(u, NFTNL_UDATA_CHAIN_COMMENT, trunc)) {
			nftnl_udata_buf_free(u);
			nftnl_chain_free(c);
			return -ENOMEM;
		}
		nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(u),
				     nftnl_udata_buf_len(u));
		nftnl_udata_buf_free(u);
	}
	nlh = nft_batch_add(b, type, family, flags, "%s chain %s %s %s",
			    type == NFT_MSG_NEWCHAIN ? "adding" : "deleting",
			    family == NFPROTO_INET ? "inet" : family == NFPROTO_IPV4 ? "ip" : "ip6",
			    table, name);
	if (nlh)
		nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return nlh ? 0 : -ENOMEM;
}

static int b_rule_add(struct nft_batch *b, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nlh = nft_batch_add(b, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_CREATE | NLM_F_APPEND,
			    "adding rule %s to chain inet %s %s", what, NFT_MASQ_TABLE,
			    nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

/* handle 0: every rule of the chain (a flush). */
static int b_rule_del(struct nft_batch *b, uint16_t family, const char *table, const char *chain,
		      uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (handle)
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	if (handle)
		nlh = nft_batch_add(b, NFT_MSG_DELRULE, family, 0, "deleting rule handle %llu of chain %s %s",
				    (unsigned long long)handle, table, chain);
	else
		nlh = nft_batch_add(b, NFT_MSG_DELRULE, family, 0, "flushing chain %s %s", table, chain);
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

static int b_elem(struct nft_batch *b, uint16_t type, const struct cni_ip *ip, const char *chain)
{
	struct nftnl_set *set = elem_set(ip, chain);
	char a[CNI_IP_STRLEN];
	struct nlmsghdr *nlh;

	if (!set)
		return -ENOMEM;
	cni_ip_format(ip, a);
	if (chain)
		nlh = nft_batch_add(b, type, NFPROTO_INET, NLM_F_CREATE,
				    "adding element %s : goto %s to map inet %s %s", a, chain,
				    NFT_MASQ_TABLE, map_of(ip));
	else
		nlh = nft_batch_add(b, type, NFPROTO_INET, 0, "deleting element %s from map inet %s %s",
				    a, NFT_MASQ_TABLE, map_of(ip));
	if (nlh)
		nftnl_set_elems_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	return nlh ? 0 : -ENOMEM;
}

/* Keeps the last attempt's error: retries must not be reported, the final failure must. */
static int keep_err(struct cni_err *err, const struct cni_err *tmp, int ret)
{
	if (ret < 0 && err && !err->code)
		*err = *tmp;
	return ret;
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

/* Both rules print the same expressions and carry the same comment. */
static bool rule_same(const struct nftnl_rule *want, const struct nftnl_rule *have)
{
	char *a = malloc(TEXT_MAX), *b = malloc(TEXT_MAX);
	char ca[NFTNL_UDATA_COMMENT_MAXLEN], cb[NFTNL_UDATA_COMMENT_MAXLEN];
	bool same = false;

	if (a && b && nft_rule_expr_text(want, a, TEXT_MAX) == 0 &&
	    nft_rule_expr_text(have, b, TEXT_MAX) == 0 && !strcmp(a, b)) {
		nft_rule_comment(want, ca, sizeof(ca));
		nft_rule_comment(have, cb, sizeof(cb));
		same = !strcmp(ca, cb);
	}
	free(a);
	free(b);
	return same;
}

/*
 * A built rule as the kernel would give it back: serialised and parsed, so
 * both sides of rule_same() went through the same parser.
 */
static struct nftnl_rule *rule_roundtrip(struct nftnl_rule *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nftnl_rule *p;

	if (!r)
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET, 0, 0);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	p = nftnl_rule_alloc();
	if (p && nftnl_rule_nlmsg_parse(nlh, p) < 0) {
		nftnl_rule_free(p);
		p = NULL;
	}
	return p;
}

/* Does the chain hold exactly the rules we would build for ips, in order? */
static int rules_match(const struct rules *have, const char *chain, const struct cni_prefix *ips,
		       size_t n, size_t *bad)
{
	size_t i;

	if (have->n != n) {
		*bad = have->n < n ? have->n : n;
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct nftnl_rule *want = rule_roundtrip(nft_masq_rule_pod(chain, &ips[i]));
		bool same;

		if (!want)
			return -ENOMEM;
		same = rule_same(want, have->v[i]);
		nftnl_rule_free(want);
		if (!same) {
			*bad = i;
			return 0;
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

/* ---- ADD ---- */

struct add_state {
	bool *takeover;			/* per ip: delete the element first (owned elsewhere) */
	struct cni_ip *skip;		/* stale addresses of ours now owned elsewhere */
	size_t nskip;
};

static int add_once(struct nft_sock *s, const struct nft_masq_id *id, const char *chain,
		    const struct cni_prefix *ips, size_t n, struct add_state *st, int *tag,
		    struct cni_err *err)
{
	struct nft_batch b;
	struct rules have = { 0 };
	char comment[NFTNL_UDATA_COMMENT_MAXLEN + 1];
	int ret, base, xe, match = 0;
	size_t i, bad, failed = SIZE_MAX;

	nft_batch_init(&b);
	base = chain_exists(s, NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_CHAIN);
	xe = base < 0 && base != -ENOENT ? base : chain_exists(s, NFPROTO_INET, NFT_MASQ_TABLE, chain);
	if (xe < 0 && xe != -ENOENT) {
		ret = cni_err_set(err, CNI_ERR_NFT, xe, "nftables: looking up chain inet %s %s",
				  NFT_MASQ_TABLE, chain);
		goto out;
	}
	if (xe == 0) {
		ret = dump_rules(s, NFPROTO_INET, NFT_MASQ_TABLE, chain, &have);
		if (ret < 0) {
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s",
				    NFT_MASQ_TABLE, chain);
			goto out;
		}
		match = rules_match(&have, chain, ips, n, &bad);
		if (match < 0) {
			ret = cni_err_set(err, CNI_ERR_NFT, match, "nftables: comparing rules");
			goto out;
		}
	}

	ret = b_table(&b);
	if (!ret)
		ret = b_map(&b, AF_INET);
	if (!ret)
		ret = b_map(&b, AF_INET6);
	if (!ret && base == -ENOENT) {
		/* EXCL: a concurrent ADD that made it first makes us retry, not duplicate rules. */
		ret = b_chain(&b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_CHAIN, true,
			      NULL, NLM_F_CREATE | NLM_F_EXCL);
		nft_batch_tag(&b, TAG(TAG_BASE, 0));
		if (!ret)
			ret = b_rule_add(&b, nft_masq_rule_multicast(AF_INET), "ip daddr 224.0.0.0/4 return");
		if (!ret)
			ret = b_rule_add(&b, nft_masq_rule_multicast(AF_INET6), "ip6 daddr ff00::/8 return");
		if (!ret)
			ret = b_rule_add(&b, nft_masq_rule_dispatch(AF_INET), "ip saddr vmap");
		if (!ret)
			ret = b_rule_add(&b, nft_masq_rule_dispatch(AF_INET6), "ip6 saddr vmap");
	}
	if (!ret && xe == -ENOENT) {
		snprintf(comment, sizeof(comment), "net: %s, if: %s, id: %s", id->network, id->ifname,
			 id->container_id);
		ret = b_chain(&b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NFT_MASQ_TABLE, chain, false, comment,
			      NLM_F_CREATE | NLM_F_EXCL);
		nft_batch_tag(&b, TAG(TAG_CHAIN, 0));
	}
	if (!ret && match == 0) {
		/* Addresses this chain served before and no longer does: release their elements. */
		for (i = 0; !ret && i < have.n; i++) {
			struct cni_prefix old;
			bool kept = false;
			size_t j;

			if (!rule_prefix(have.v[i], &old) || ip_in(&old.ip, st->skip, st->nskip))
				continue;
			for (j = 0; j < n; j++)
				kept |= cni_ip_equal(&old.ip, &ips[j].ip);
			if (kept)
				continue;
			ret = b_elem(&b, NFT_MSG_NEWSETELEM, &old.ip, chain);
			nft_batch_tag(&b, TAG(TAG_GUARD, i));
			if (!ret)
				ret = b_elem(&b, NFT_MSG_DELSETELEM, &old.ip, NULL);
		}
		if (!ret && xe == 0)
			ret = b_rule_del(&b, NFPROTO_INET, NFT_MASQ_TABLE, chain, 0);
		for (i = 0; !ret && i < n; i++) {
			char what[CNI_PREFIX_STRLEN];

			ret = b_rule_add(&b, nft_masq_rule_pod(chain, &ips[i]),
					 cni_prefix_format(&ips[i], what));
		}
	}
	for (i = 0; !ret && i < n; i++) {
		if (st->takeover[i]) {
			ret = b_elem(&b, NFT_MSG_DELSETELEM, &ips[i].ip, NULL);
			nft_batch_tag(&b, TAG(TAG_TAKEOVER, i));
		}
		if (!ret) {
			ret = b_elem(&b, NFT_MSG_NEWSETELEM, &ips[i].ip, chain);
			nft_batch_tag(&b, TAG(TAG_ELEM, i));
		}
	}
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building masquerade batch");
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
	if (ret < 0 && failed != SIZE_MAX) {
		*tag = b.tag[failed];
		if (TAG_KIND(*tag) == TAG_GUARD) {
			struct cni_prefix old;

			if (rule_prefix(have.v[TAG_IDX(*tag)], &old) &&
			    (st->skip = reallocarray(st->skip, st->nskip + 1, sizeof(*st->skip))))
				st->skip[st->nskip++] = old.ip;
		}
	}
out:
	rules_free(&have);
	nft_batch_release(&b);
	return ret;
}

int nft_masq_add(const struct nft_masq_id *id, const struct cni_prefix *ips, size_t n,
		 struct cni_err *err)
{
	struct nft_sock s = { 0 };
	struct add_state st = { 0 };
	struct cni_err tmp;
	char chain[NFT_MASQ_NAMELEN];
	int ret, attempt, tag;

	ret = check_id(id, err);
	if (!ret)
		ret = check_ips(ips, n, err);
	if (ret < 0 || n == 0)
		return ret;
	ret = nft_masq_chain_name(id->network, id->ifname, id->container_id, chain);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "masquerade");
	st.takeover = calloc(n, sizeof(*st.takeover));
	if (!st.takeover)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "masquerade");
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		goto out;
	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		cni_err_clear(&tmp);
		tag = -1;
		ret = add_once(&s, id, chain, ips, n, &st, &tag, &tmp);
		if (ret == 0 || (ret != -EBUSY && ret != -EEXIST && ret != -ENOENT))
			break;
		/* Lost a race or met an address owned elsewhere: adjust and go again. */
		if (TAG_KIND(tag) == TAG_ELEM && (ret == -EBUSY || ret == -EEXIST))
			st.takeover[TAG_IDX(tag)] = true;
		else if (TAG_KIND(tag) == TAG_TAKEOVER && ret == -ENOENT)
			st.takeover[TAG_IDX(tag)] = false;
	}
	keep_err(err, &tmp, ret);
out:
	nft_sock_close(&s);
	free(st.takeover);
	free(st.skip);
	return ret;
}

/* ---- DEL ---- */

/* Removes our attachment chain and the map elements pointing at it. */
static int del_ours(struct nft_sock *s, const char *chain, const struct cni_prefix *ips, size_t n,
		    struct cni_err *err)
{
	struct cni_ip *keys = NULL, *skip = NULL;
	size_t nkeys, nskip = 0, i, failed;
	struct cni_err tmp;
	int ret = 0, attempt;

	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		struct rules have = { 0 };
		struct nft_batch b;

		cni_err_clear(&tmp);
		ret = chain_exists(s, NFPROTO_INET, NFT_MASQ_TABLE, chain);
		if (ret == -ENOENT) {
			/* No chain, so no element can point at it: nothing of ours is left. */
			ret = 0;
			break;
		}
		if (ret == 0)
			ret = dump_rules(s, NFPROTO_INET, NFT_MASQ_TABLE, chain, &have);
		if (ret < 0) {
			cni_err_set(&tmp, CNI_ERR_NFT, ret, "nftables: looking up chain inet %s %s",
				    NFT_MASQ_TABLE, chain);
			break;
		}
		free(keys);
		keys = calloc(have.n + n + 1, sizeof(*keys));
		if (!keys) {
			rules_free(&have);
			ret = cni_err_set(&tmp, CNI_ERR_INTERNAL, -ENOMEM, "masquerade");
			break;
		}
		nkeys = 0;
		for (i = 0; i < have.n + n; i++) {
			struct cni_prefix p;

			if (i >= have.n)
				p = ips[i - have.n];
			else if (!rule_prefix(have.v[i], &p))
				continue;
			if (!ip_in(&p.ip, keys, nkeys) && !ip_in(&p.ip, skip, nskip))
				keys[nkeys++] = p.ip;
		}
		rules_free(&have);

		nft_batch_init(&b);
		for (i = 0; !ret && i < nkeys; i++) {
			ret = b_elem(&b, NFT_MSG_NEWSETELEM, &keys[i], chain);
			nft_batch_tag(&b, TAG(TAG_GUARD, i));
			if (!ret)
				ret = b_elem(&b, NFT_MSG_DELSETELEM, &keys[i], NULL);
		}
		if (!ret)
			ret = b_rule_del(&b, NFPROTO_INET, NFT_MASQ_TABLE, chain, 0);
		if (!ret)
			ret = b_chain(&b, NFT_MSG_DELCHAIN, NFPROTO_INET, NFT_MASQ_TABLE, chain, false, NULL, 0);
		if (ret < 0) {
			nft_batch_release(&b);
			cni_err_set(&tmp, CNI_ERR_NFT, ret, "nftables: building masquerade batch");
			break;
		}
		failed = SIZE_MAX;
		ret = nft_sock_batch(s, &b, &failed, &tmp);
		if ((ret == -EBUSY || ret == -EEXIST) && failed != SIZE_MAX &&
		    TAG_KIND(b.tag[failed]) == TAG_GUARD) {
			struct cni_ip *ns = reallocarray(skip, nskip + 1, sizeof(*skip));

			if (ns) {
				skip = ns;
				skip[nskip++] = keys[TAG_IDX(b.tag[failed])];
			}
		}
		nft_batch_release(&b);
		if (ret == 0 || (ret != -EBUSY && ret != -EEXIST && ret != -ENOENT))
			break;
	}
	free(keys);
	free(skip);
	return keep_err(err, &tmp, ret);
}

static bool jumps_to(const struct nftnl_rule *r, const char *chain)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	bool yes = false;

	while (it && !yes && (e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
		int v;

		if (!name || strcmp(name, "immediate") || !nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN))
			continue;
		v = (int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
		yes = (v == NFT_JUMP || v == NFT_GOTO) &&
		      !strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN), chain);
	}
	nftnl_expr_iter_destroy(it);
	return yes;
}

/*
 * The reference iptables backend (iptables-nft on Debian 12): chain
 * CNI-<hash> in table nat and the POSTROUTING rules that jump to it. The
 * POSTROUTING listing happens only when that chain exists.
 */
static int del_iptables(struct nft_sock *s, uint16_t family, const char *chain, struct cni_err *err)
{
	const char *fam = family == NFPROTO_IPV4 ? "ip" : "ip6";
	struct cni_err tmp;
	int ret = 0, attempt;
	size_t i;

	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		struct rules post = { 0 };
		struct nft_batch b;

		cni_err_clear(&tmp);
		ret = chain_exists(s, family, "nat", chain);
		if (ret == -ENOENT) {
			ret = 0;
			break;
		}
		if (ret == 0)
			ret = dump_rules(s, family, "nat", "POSTROUTING", &post);
		if (ret < 0) {
			cni_err_set(&tmp, CNI_ERR_NFT, ret, "nftables: looking up chain %s nat %s", fam, chain);
			break;
		}
		nft_batch_init(&b);
		for (i = 0; !ret && i < post.n; i++)
			if (jumps_to(post.v[i], chain))
				ret = b_rule_del(&b, family, "nat", "POSTROUTING",
						 nftnl_rule_get_u64(post.v[i], NFTNL_RULE_HANDLE));
		rules_free(&post);
		if (!ret)
			ret = b_rule_del(&b, family, "nat", chain, 0);
		if (!ret)
			ret = b_chain(&b, NFT_MSG_DELCHAIN, family, "nat", chain, false, NULL, 0);
		if (!ret)
			ret = nft_sock_batch(s, &b, NULL, &tmp);
		else
			cni_err_set(&tmp, CNI_ERR_NFT, ret, "nftables: building batch");
		nft_batch_release(&b);
		if (ret != -ENOENT)
			break;
	}
	return keep_err(err, &tmp, ret);
}

/*
 * The reference nftables backend: rules of inet cni_plugins_masquerade
 * masq_checks whose comment starts with prefix ("H(net)-H(if:cid)" for one
 * attachment, "H(net)-" for a network) and, for GC, whose attachment hash is
 * not among keep (nkeep chain names of ours, "masq-" + that hash).
 */
static int del_refnft(struct nft_sock *s, const char *prefix, const char (*keep)[NFT_MASQ_NAMELEN],
		      size_t nkeep, struct cni_err *err)
{
	char c[NFTNL_UDATA_COMMENT_MAXLEN];
	struct cni_err tmp;
	int ret = 0, attempt;
	size_t i, j, plen = strlen(prefix);

	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		struct rules have = { 0 };
		struct nft_batch b;

		cni_err_clear(&tmp);
		ret = dump_rules(s, NFPROTO_INET, REF_TABLE, REF_CHAIN, &have);
		if (ret < 0) {
			cni_err_set(&tmp, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s",
				    REF_TABLE, REF_CHAIN);
			break;
		}
		nft_batch_init(&b);
		for (i = 0; !ret && i < have.n; i++) {
			bool kept = false;

			nft_rule_comment(have.v[i], c, sizeof(c));
			if (strncmp(c, prefix, plen))
				continue;
			for (j = 0; j < nkeep; j++)
				kept |= !strncmp(c, keep[j] + NFT_MASQ_PFXLEN, NFT_MASQ_KEYLEN);
			if (!kept)
				ret = b_rule_del(&b, NFPROTO_INET, REF_TABLE, REF_CHAIN,
						 nftnl_rule_get_u64(have.v[i], NFTNL_RULE_HANDLE));
		}
		rules_free(&have);
		if (!ret)
			ret = nft_sock_batch(s, &b, NULL, &tmp);
		else
			cni_err_set(&tmp, CNI_ERR_NFT, ret, "nftables: building batch");
		nft_batch_release(&b);
		if (ret != -ENOENT)
			break;
	}
	return keep_err(err, &tmp, ret);
}

int nft_masq_del(const struct nft_masq_id *id, const struct cni_prefix *ips, size_t n,
		 struct cni_err *err)
{
	struct nft_sock s = { 0 };
	char chain[NFT_MASQ_NAMELEN], ipt[29];
	int ret, r;

	ret = check_id(id, err);
	if (!ret)
		ret = check_ips(ips, n, err);
	if (!ret)
		ret = nft_masq_chain_name(id->network, id->ifname, id->container_id, chain);
	if (!ret)
		ret = nft_masq_ipt_chain_name(id->network, id->container_id, ipt);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "masquerade");
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;
	ret = del_ours(&s, chain, ips, n, err);
	r = del_iptables(&s, NFPROTO_IPV4, ipt, err);
	ret = ret ? ret : r;
	r = del_iptables(&s, NFPROTO_IPV6, ipt, err);
	ret = ret ? ret : r;
	/* The reference's comment starts with "H(net)-H(if:cid)", our chain's name after "masq-". */
	r = del_refnft(&s, chain + NFT_MASQ_PFXLEN, NULL, 0, err);
	ret = ret ? ret : r;
	nft_sock_close(&s);
	return ret;
}

/* ---- CHECK ---- */

int nft_masq_check(const struct nft_masq_id *id, const struct cni_prefix *ips, size_t n,
		   struct cni_err *err)
{
	struct nft_sock s = { 0 };
	struct rules have = { 0 };
	char chain[NFT_MASQ_NAMELEN], a[CNI_PREFIX_STRLEN];
	struct nftnl_rule *want[4] = { 0 };
	size_t i, bad;
	int ret, match;

	ret = check_id(id, err);
	if (!ret)
		ret = check_ips(ips, n, err);
	if (!ret)
		ret = nft_masq_chain_name(id->network, id->ifname, id->container_id, chain);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "masquerade");
	if (n == 0)
		return 0;
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;

	/* The dispatch chain: exactly the four rules ADD makes. */
	ret = chain_exists(&s, NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_CHAIN);
	if (ret == 0)
		ret = dump_rules(&s, NFPROTO_INET, NFT_MASQ_TABLE, NFT_MASQ_CHAIN, &have);
	if (ret == -ENOENT) {
		ret = cni_err_set(err, CNI_ERR_CHECK, ret, "masquerade: chain inet %s %s missing",
				  NFT_MASQ_TABLE, NFT_MASQ_CHAIN);
		goto out;
	} else if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s",
			    NFT_MASQ_TABLE, NFT_MASQ_CHAIN);
		goto out;
	}
	want[0] = rule_roundtrip(nft_masq_rule_multicast(AF_INET));
	want[1] = rule_roundtrip(nft_masq_rule_multicast(AF_INET6));
	want[2] = rule_roundtrip(nft_masq_rule_dispatch(AF_INET));
	want[3] = rule_roundtrip(nft_masq_rule_dispatch(AF_INET6));
	for (i = 0; i < 4; i++) {
		if (!want[i]) {
			ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "masquerade");
			goto out;
		}
		if (i >= have.n || !rule_same(want[i], have.v[i])) {
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "masquerade: rule %zu of chain inet %s %s differs", i + 1,
					  NFT_MASQ_TABLE, NFT_MASQ_CHAIN);
			goto out;
		}
	}
	rules_free(&have);

	/* The attachment chain: one rule per address, in order. */
	ret = chain_exists(&s, NFPROTO_INET, NFT_MASQ_TABLE, chain);
	if (ret == 0)
		ret = dump_rules(&s, NFPROTO_INET, NFT_MASQ_TABLE, chain, &have);
	if (ret == -ENOENT) {
		ret = cni_err_set(err, CNI_ERR_CHECK, ret,
				  "masquerade: chain inet %s %s for %s/%s missing", NFT_MASQ_TABLE,
				  chain, id->container_id, id->ifname);
		goto out;
	} else if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s",
			    NFT_MASQ_TABLE, chain);
		goto out;
	}
	match = rules_match(&have, chain, ips, n, &bad);
	if (match < 0) {
		ret = cni_err_set(err, CNI_ERR_INTERNAL, match, "masquerade");
		goto out;
	}
	if (!match) {
		if (bad < n)
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "masquerade: no rule for %s in chain inet %s %s (has %zu rules)",
					  cni_prefix_format(&ips[bad], a), NFT_MASQ_TABLE, chain, have.n);
		else
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "masquerade: chain inet %s %s has %zu rules, want %zu",
					  NFT_MASQ_TABLE, chain, have.n, n);
		goto out;
	}

	/* Each address must lead to this chain. */
	for (i = 0; i < n; i++) {
		struct elem_get g;

		ret = elem_get(&s, &ips[i].ip, &g);
		if (ret < 0 && ret != -ENOENT) {
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading map inet %s %s",
				    NFT_MASQ_TABLE, map_of(&ips[i].ip));
			goto out;
		}
		if (ret == -ENOENT || !g.found || g.verdict != (uint32_t)NFT_GOTO || strcmp(g.chain, chain)) {
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "masquerade: map inet %s %s sends %s %s%s",
					  NFT_MASQ_TABLE, map_of(&ips[i].ip),
					  cni_ip_format(&ips[i].ip, a),
					  ret == -ENOENT || !g.found ? "nowhere" : "to chain ",
					  ret == -ENOENT || !g.found ? "" : g.chain);
			goto out;
		}
	}
	ret = 0;
out:
	for (i = 0; i < 4; i++)
		if (want[i])
			nftnl_rule_free(want[i]);
	rules_free(&have);
	nft_sock_close(&s);
	return ret;
}

/* ---- GC ---- */

struct chain_names {
	char (*v)[NFT_MASQ_NAMELEN];
	size_t n, cap;
	const char *prefix;
};

static int chains_cb(const struct nlmsghdr *nlh, void *data)
{
	struct chain_names *cn = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	const char *table, *name;
	int ret = MNL_CB_OK;

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		ret = MNL_CB_ERROR;
		goto out;
	}
	table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	if (!table || !name || strcmp(table, NFT_MASQ_TABLE) ||
	    strlen(name) != NFT_MASQ_NAMELEN - 1 || strncmp(name, cn->prefix, strlen(cn->prefix)))
		goto out;
	if (cn->n == cn->cap) {
		size_t cap = cn->cap ? 2 * cn->cap : 16;
		char (*v)[NFT_MASQ_NAMELEN] = reallocarray(cn->v, cap, sizeof(*v));

		if (!v) {
			ret = MNL_CB_ERROR;
			goto out;
		}
		cn->v = v;
		cn->cap = cap;
	}
	memcpy(cn->v[cn->n++], name, NFT_MASQ_NAMELEN);
out:
	nftnl_chain_free(c);
	return ret;
}

int nft_masq_gc(const char *network, const struct nft_masq_id *keep, size_t nkeep,
		struct cni_err *err)
{
	struct nft_sock s = { 0 };
	struct chain_names cn = { 0 };
	char (*kh)[NFT_MASQ_NAMELEN] = NULL;
	char prefix[NFT_MASQ_PFXLEN + NFT_MASQ_HASH + 2], buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret = 0, r;
	size_t i, j;

	if (!network)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "masquerade GC: network required");
	kh = calloc(nkeep + 1, sizeof(*kh));
	if (!kh)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "masquerade GC");
	for (i = 0; i < nkeep; i++) {
		if (!keep[i].container_id || !keep[i].ifname) {
			ret = cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL,
					  "masquerade GC: attachment #%zu lacks container ID or ifname", i);
			goto out;
		}
		ret = nft_masq_chain_name(network, keep[i].ifname, keep[i].container_id, kh[i]);
		if (ret < 0) {
			cni_err_set(err, CNI_ERR_INTERNAL, ret, "masquerade GC");
			goto out;
		}
	}
	memcpy(prefix, NFT_MASQ_PFX, NFT_MASQ_PFXLEN);
	cni_sha512_hex(network, strlen(network), prefix + NFT_MASQ_PFXLEN, NFT_MASQ_HASH);
	strcat(prefix, "-");
	cn.prefix = prefix;
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		goto out;

	/* The chain dump is not filtered by table in the kernel: GC is the one place we list. */
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_DUMP, 0);
	ret = nft_sock_query(&s, nlh, chains_cb, &cn);
	if (ret < 0 && ret != -ENOENT) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chains of inet %s", NFT_MASQ_TABLE);
	} else {
		ret = 0;
		for (i = 0; i < cn.n; i++) {
			bool kept = false;

			for (j = 0; j < nkeep; j++)
				kept |= !strcmp(cn.v[i], kh[j]);
			if (kept)
				continue;
			r = del_ours(&s, cn.v[i], NULL, 0, err);
			ret = ret ? ret : r;
		}
	}
	r = del_refnft(&s, prefix + NFT_MASQ_PFXLEN, (const char (*)[NFT_MASQ_NAMELEN])kh, nkeep, err);
	ret = ret ? ret : r;
out:
	nft_sock_close(&s);
	free(cn.v);
	free(kh);
	return ret;
}
