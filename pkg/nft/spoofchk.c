// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * MAC spoof check for bridge ports, in table bridge cnip_spoofchk:
 *
 *   chain prerouting (filter, prerouting, priority -300): iifname vmap @ports
 *   map ports: host veth name : jump sc-<H(net)>-<H(ifname:cid)>
 *   chain sc-..., one per attachment, commented with network, ifname and
 *     container ID: ether saddr MAC return; drop
 *
 * A frame costs one hash lookup however many pods share the bridge (the
 * reference walks one iifname rule per pod, then two chains).
 *
 * ADD is one batch that needs no reading first: table, map and chains are
 * created without EXCL (a no-op when present), and the base chain and the
 * attachment chain are flushed and refilled, so a repeated ADD or a new MAC
 * leaves exactly one ruleset. The element is the one thing a plain re-add
 * cannot replace: the kernel refuses (EBUSY, EEXIST on newer kernels) an
 * element that jumps elsewhere, and the retry deletes it first.
 *
 * DEL deletes an element only if it is ours: the batch first re-adds it
 * jumping to our chain, which the kernel accepts when it already does (or is
 * absent) and refuses when it jumps elsewhere; then the listing of the map
 * finds what really points at our chain. Kernel 6.1 (Debian 12) has no
 * DESTROY messages, hence these dances.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter_bridge.h>
#include <linux/netfilter/nf_tables.h>

#include "cni/hash.h"
#include "cni/nft.h"
#include "nft-int.h"
#include "spoofchk-int.h"

#define FAM NFPROTO_BRIDGE
#define ATTEMPTS 5
#define TEXT_MAX 1024
#define BASE_PRIO (-300)
/* nft's datatype number for ifname, so `nft list` prints the keys as names. */
#define NFT_TYPE_IFNAME 41
#define NFT_HOST_ENDIAN 1

enum tag_kind { TAG_ELEM = 1, TAG_TAKEOVER, TAG_GUARD, TAG_CHAIN };
#define TAG(kind, i) ((int)(kind) << 20 | (int)(i))
#define TAG_KIND(t) ((t) < 0 ? 0 : (t) >> 20)

/* ---- names and builders ---- */

int nft_spoofchk_chain_name(const char *network, const char *ifname, const char *cid,
			    char out[NFT_SC_NAMELEN])
{
	char *key;

	if (asprintf(&key, "%s:%s", ifname, cid) < 0)
		return -ENOMEM;
	memcpy(out, NFT_SC_PFX, NFT_SC_PFXLEN);
	cni_sha512_hex(network, strlen(network), out + NFT_SC_PFXLEN, NFT_SC_HASH);
	out[NFT_SC_PFXLEN + NFT_SC_HASH] = '-';
	cni_sha512_hex(key, strlen(key), out + NFT_SC_PFXLEN + NFT_SC_HASH + 1, NFT_SC_HASH);
	free(key);
	return 0;
}

static bool put(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return false;
	nftnl_rule_add_expr(r, e);
	return true;
}

static struct nftnl_expr *e_verdict(uint32_t verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	}
	return e;
}

static struct nftnl_rule *rule_new(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (r) {
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, FAM);
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_SC_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	}
	return r;
}

struct nftnl_rule *nft_spoofchk_rule_dispatch(void)
{
	struct nftnl_rule *r = rule_new(NFT_SC_BASE);
	struct nftnl_expr *meta, *lookup;

	if (!r)
		return NULL;
	meta = nftnl_expr_alloc("meta");
	if (meta) {
		nftnl_expr_set_u32(meta, NFTNL_EXPR_META_KEY, NFT_META_IIFNAME);
		nftnl_expr_set_u32(meta, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	lookup = meta ? nftnl_expr_alloc("lookup") : NULL;
	if (lookup) {
		nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_str(lookup, NFTNL_EXPR_LOOKUP_SET, NFT_SC_MAP);
		/* The kernel reports flags 0 back; say it so built and dumped rules compare equal. */
		nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_FLAGS, 0);
	}
	if (put(r, meta) && put(r, lookup))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/* ether saddr MAC return: the bridge family's link header is Ethernet, no dependency needed. */
struct nftnl_rule *nft_spoofchk_rule_mac(const char *chain, const uint8_t mac[6])
{
	struct nftnl_rule *r = rule_new(chain);
	struct nftnl_expr *pl, *cmp;

	if (!r)
		return NULL;
	pl = nftnl_expr_alloc("payload");
	if (pl) {
		nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_LL_HEADER);
		nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_OFFSET, 6);
		nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_LEN, 6);
		nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	cmp = pl ? nftnl_expr_alloc("cmp") : NULL;
	if (cmp) {
		nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, mac, 6);
	}
	if (put(r, pl) && put(r, cmp) && put(r, e_verdict((uint32_t)NFT_RETURN)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

struct nftnl_rule *nft_spoofchk_rule_drop(const char *chain)
{
	struct nftnl_rule *r = rule_new(chain);

	if (r && put(r, e_verdict(NF_DROP)))
		return r;
	if (r)
		nftnl_rule_free(r);
	return NULL;
}

/* ---- queries ---- */

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
		struct nftnl_rule **v = reallocarray(rs->v, cap, sizeof(*v));

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

/* The rules of one chain; a missing chain or table is an empty list. */
static int dump_rules(struct nft_sock *s, const char *table, const char *chain, struct rules *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret;

	if (!r)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, FAM, NLM_F_DUMP, 0);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	ret = nft_sock_query(s, nlh, rules_cb, out);
	if (ret < 0)
		rules_free(out);
	return ret == -ENOENT ? 0 : ret;
}

struct chain_info {
	bool base;
	uint32_t hooknum;
	int32_t prio;
	char type[16];
};

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct chain_info *ci = data;
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		nftnl_chain_free(c);
		return MNL_CB_ERROR;
	}
	if (ci && nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) {
		ci->base = true;
		ci->hooknum = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
		ci->prio = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
		if (nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE))
			snprintf(ci->type, sizeof(ci->type), "%s", nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE));
	}
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

/* 0 if the chain exists (described in ci, may be NULL), -ENOENT if it or its table does not. */
static int chain_get(struct nft_sock *s, const char *table, const char *chain, struct chain_info *ci)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -ENOMEM;
	if (ci)
		memset(ci, 0, sizeof(*ci));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, FAM, NLM_F_ACK, 0);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return nft_sock_query(s, nlh, chain_cb, ci);
}

struct elem {
	char key[IFNAMSIZ + 1];
	uint32_t verdict;
	char chain[NFT_CHAIN_MAXNAMELEN];
};

struct elems {
	struct elem *v;
	size_t n, cap;
};

static int elem_one(struct nftnl_set_elem *e, void *data)
{
	struct elems *es = data;
	struct elem *el;
	const void *k;
	uint32_t klen = 0;

	if (es->n == es->cap) {
		size_t cap = es->cap ? 2 * es->cap : 16;
		struct elem *v = reallocarray(es->v, cap, sizeof(*v));

		if (!v)
			return -1;
		es->v = v;
		es->cap = cap;
	}
	el = &es->v[es->n];
	memset(el, 0, sizeof(*el));
	k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	if (!k)
		return 0;
	memcpy(el->key, k, klen < IFNAMSIZ ? klen : IFNAMSIZ);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT))
		el->verdict = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN))
		snprintf(el->chain, sizeof(el->chain), "%s", nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN));
	es->n++;
	return 0;
}

static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *set = nftnl_set_alloc();
	int ret = MNL_CB_OK;

	if (!set)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, set) < 0 || nftnl_set_elem_foreach(set, elem_one, data) < 0)
		ret = MNL_CB_ERROR;
	nftnl_set_free(set);
	return ret;
}

static void elems_free(struct elems *es)
{
	free(es->v);
	memset(es, 0, sizeof(*es));
}

/* The map with one element (key set) or none; NULL on ENOMEM. */
static struct nftnl_set *map_with(const char *key, const char *chain)
{
	struct nftnl_set *set = nftnl_set_alloc();
	struct nftnl_set_elem *e;
	char k[IFNAMSIZ] = { 0 };

	if (!set)
		return NULL;
	nftnl_set_set_u32(set, NFTNL_SET_FAMILY, FAM);
	nftnl_set_set_str(set, NFTNL_SET_TABLE, NFT_SC_TABLE);
	nftnl_set_set_str(set, NFTNL_SET_NAME, NFT_SC_MAP);
	if (!key)
		return set;
	e = nftnl_set_elem_alloc();
	if (!e) {
		nftnl_set_free(set);
		return NULL;
	}
	/* Keys are what meta iifname loads: the name, zero-padded to IFNAMSIZ. */
	strncpy(k, key, sizeof(k) - 1);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, k, sizeof(k));
	if (chain) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_JUMP);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	}
	nftnl_set_elem_add(set, e);
	return set;
}

/* Every element of the map (key given) or the one of key; a missing map is no element. */
static int get_elems(struct nft_sock *s, const char *key, struct elems *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *set = map_with(key, NULL);
	struct nlmsghdr *nlh;
	int ret;

	if (!set)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, FAM, key ? NLM_F_ACK : NLM_F_DUMP, 0);
	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	ret = nft_sock_query(s, nlh, elems_cb, out);
	if (ret < 0)
		elems_free(out);
	return ret == -ENOENT ? 0 : ret;
}

/* ---- batch messages ---- */

static int b_table(struct nft_batch *b)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, FAM);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_SC_TABLE);
	nlh = nft_batch_add(b, NFT_MSG_NEWTABLE, FAM, NLM_F_CREATE, "adding table bridge %s", NFT_SC_TABLE);
	if (nlh)
		nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return nlh ? 0 : -ENOMEM;
}

static int b_map(struct nft_batch *b)
{
	struct nftnl_set *set = map_with(NULL, NULL);
	struct nftnl_udata_buf *u;
	struct nlmsghdr *nlh;

	if (!set)
		return -ENOMEM;
	nftnl_set_set_u32(set, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, NFT_TYPE_IFNAME);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, IFNAMSIZ);
	nftnl_set_set_u32(set, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	nftnl_set_set_u32(set, NFTNL_SET_DATA_LEN, 0);
	/* Newer kernels refuse a NEWSET without an ID, even for a named set. */
	nftnl_set_set_u32(set, NFTNL_SET_ID, 1);
	/* nft reads keys as big endian unless told; names are host order (its BYTEORDER_HOST_ENDIAN). */
	u = nftnl_udata_buf_alloc(64);
	if (!u || !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_HOST_ENDIAN)) {
		if (u)
			nftnl_udata_buf_free(u);
		nftnl_set_free(set);
		return -ENOMEM;
	}
	nftnl_set_set_data(set, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	nlh = nft_batch_add(b, NFT_MSG_NEWSET, FAM, NLM_F_CREATE, "adding map bridge %s %s",
			    NFT_SC_TABLE, NFT_SC_MAP);
	if (nlh)
		nftnl_set_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	return nlh ? 0 : -ENOMEM;
}

static int b_chain(struct nft_batch *b, uint16_t type, const char *table, const char *name,
		   bool base, const char *comment)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, FAM);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (base) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_BR_PRE_ROUTING);
		/* Before everything else on the bridge, as the reference's: dstnat is -300 here. */
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, BASE_PRIO);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	if (comment) {
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 16);
		char trunc[NFTNL_UDATA_COMMENT_MAXLEN];

		snprintf(trunc, sizeof(trunc), "%s", comment);
		if (!u || !nftnl_udata_put_strz(u, NFTNL_UDATA_CHAIN_COMMENT, trunc)) {
			if (u)
				nftnl_udata_buf_free(u);
			nftnl_chain_free(c);
			return -ENOMEM;
		}
		nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(u),
				     nftnl_udata_buf_len(u));
		nftnl_udata_buf_free(u);
	}
	/* Never EXCL: an existing chain is a no-op, which keeps ADD free of reads. */
	nlh = nft_batch_add(b, type, FAM, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0,
			    "%s chain bridge %s %s", type == NFT_MSG_NEWCHAIN ? "adding" : "deleting",
			    table, name);
	if (nlh)
		nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return nlh ? 0 : -ENOMEM;
}

static int b_rule(struct nft_batch *b, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nlh = nft_batch_add(b, NFT_MSG_NEWRULE, FAM, NLM_F_CREATE | NLM_F_APPEND,
			    "adding rule '%s' to chain bridge %s %s", what, NFT_SC_TABLE,
			    nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

/* handle 0: every rule of the chain (a flush). */
static int b_rule_del(struct nft_batch *b, const char *table, const char *chain, uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, FAM);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (handle) {
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
		nlh = nft_batch_add(b, NFT_MSG_DELRULE, FAM, 0, "deleting rule handle %llu of chain bridge %s %s",
				    (unsigned long long)handle, table, chain);
	} else {
		nlh = nft_batch_add(b, NFT_MSG_DELRULE, FAM, 0, "flushing chain bridge %s %s", table, chain);
	}
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

/* NEWSETELEM key : jump chain, or DELSETELEM key (chain NULL). */
static int b_elem(struct nft_batch *b, const char *key, const char *chain)
{
	struct nftnl_set *set = map_with(key, chain);
	struct nlmsghdr *nlh;

	if (!set)
		return -ENOMEM;
	if (chain)
		nlh = nft_batch_add(b, NFT_MSG_NEWSETELEM, FAM, NLM_F_CREATE,
				    "adding element \"%s\" : jump %s to map bridge %s %s", key, chain,
				    NFT_SC_TABLE, NFT_SC_MAP);
	else
		nlh = nft_batch_add(b, NFT_MSG_DELSETELEM, FAM, 0,
				    "deleting element \"%s\" from map bridge %s %s", key, NFT_SC_TABLE,
				    NFT_SC_MAP);
	if (nlh)
		nftnl_set_elems_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	return nlh ? 0 : -ENOMEM;
}

/* ---- shared checks ---- */

/* Keeps the last attempt's error: retries must not be reported, the final failure must. */
static int keep_err(struct cni_err *err, const struct cni_err *tmp, int ret)
{
	if (ret < 0 && err && !err->code)
		*err = *tmp;
	return ret;
}

static bool retryable(int ret)
{
	return ret == -EBUSY || ret == -EEXIST || ret == -ENOENT;
}

static bool ifname_ok(const char *s)
{
	return s && *s && strlen(s) < IFNAMSIZ;
}

static int check_args(const struct nft_spoofchk *a, bool need_host, struct cni_err *err)
{
	if (!a || !a->network || !a->container_id || !a->ifname)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL,
				   "macspoofchk: network, container ID and ifname are required");
	if ((need_host || a->host_ifname) && !ifname_ok(a->host_ifname))
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "macspoofchk: bad host interface name '%s'",
				   a->host_ifname ? a->host_ifname : "");
	return 0;
}

/* A built rule as the kernel would give it back, to compare with what it holds. */
static struct nftnl_rule *rule_roundtrip(struct nftnl_rule *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nftnl_rule *p;

	if (!r)
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, FAM, 0, 0);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	p = nftnl_rule_alloc();
	if (p && nftnl_rule_nlmsg_parse(nlh, p) < 0) {
		nftnl_rule_free(p);
		p = NULL;
	}
	return p;
}

/*
 * 1 if have does what want (built, consumed here) does, 0 if not, -ENOMEM.
 * Comments are not compared: rules written by earlier versions carry one.
 */
static int rule_same(struct nftnl_rule *want, const struct nftnl_rule *have)
{
	char *a = malloc(TEXT_MAX), *b = malloc(TEXT_MAX);
	struct nftnl_rule *w = rule_roundtrip(want);
	int ret = -ENOMEM;

	if (a && b && w)
		ret = nft_rule_expr_text(w, a, TEXT_MAX) == 0 && nft_rule_expr_text(have, b, TEXT_MAX) == 0 &&
		      !strcmp(a, b);
	if (w)
		nftnl_rule_free(w);
	free(a);
	free(b);
	return ret;
}

static void mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* ---- ADD ---- */

static int add_once(struct nft_sock *s, const struct nft_spoofchk *a, const char *chain,
		    const uint8_t mac[6], bool takeover, int *tag, struct cni_err *err)
{
	char comment[NFTNL_UDATA_COMMENT_MAXLEN + 1], what[64], m[18];
	size_t failed = SIZE_MAX;
	struct nft_batch b;
	int ret;

	snprintf(comment, sizeof(comment), "net: %s, if: %s, id: %s", a->network, a->ifname,
		 a->container_id);
	mac_format(mac, m);
	snprintf(what, sizeof(what), "ether saddr %s return", m);
	nft_batch_init(&b);
	ret = b_table(&b);
	if (!ret)
		ret = b_map(&b);
	if (!ret)
		ret = b_chain(&b, NFT_MSG_NEWCHAIN, NFT_SC_TABLE, NFT_SC_BASE, true, NULL);
	/* Refilled in every ADD: exactly one dispatch rule whatever was there, without reading. */
	if (!ret)
		ret = b_rule_del(&b, NFT_SC_TABLE, NFT_SC_BASE, 0);
	if (!ret)
		ret = b_rule(&b, nft_spoofchk_rule_dispatch(), "iifname vmap @" NFT_SC_MAP);
	if (!ret)
		ret = b_chain(&b, NFT_MSG_NEWCHAIN, NFT_SC_TABLE, chain, false, comment);
	if (!ret)
		ret = b_rule_del(&b, NFT_SC_TABLE, chain, 0);
	if (!ret)
		ret = b_rule(&b, nft_spoofchk_rule_mac(chain, mac), what);
	if (!ret)
		ret = b_rule(&b, nft_spoofchk_rule_drop(chain), "drop");
	if (!ret && takeover) {
		ret = b_elem(&b, a->host_ifname, NULL);
		nft_batch_tag(&b, TAG(TAG_TAKEOVER, 0));
	}
	if (!ret) {
		ret = b_elem(&b, a->host_ifname, chain);
		nft_batch_tag(&b, TAG(TAG_ELEM, 0));
	}
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building spoof-check batch");
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
	if (ret < 0 && failed != SIZE_MAX)
		*tag = b.tag[failed];
out:
	nft_batch_release(&b);
	return ret;
}

int nft_spoofchk_add(const struct nft_spoofchk *a, const uint8_t mac[6], struct cni_err *err)
{
	struct nft_sock s = { 0 };
	char chain[NFT_SC_NAMELEN];
	bool takeover = false;
	struct cni_err tmp;
	int ret, attempt, tag;

	ret = check_args(a, true, err);
	if (ret < 0)
		return ret;
	if (!mac)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "macspoofchk: MAC required");
	ret = nft_spoofchk_chain_name(a->network, a->ifname, a->container_id, chain);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "macspoofchk");
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;
	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		cni_err_clear(&tmp);
		tag = -1;
		ret = add_once(&s, a, chain, mac, takeover, &tag, &tmp);
		if (ret == 0 || !retryable(ret))
			break;
		/* The port's element jumps elsewhere (a stale attachment): replace it; or it went away. */
		if (TAG_KIND(tag) == TAG_ELEM && ret != -ENOENT)
			takeover = true;
		else if (TAG_KIND(tag) == TAG_TAKEOVER && ret == -ENOENT)
			takeover = false;
	}
	keep_err(err, &tmp, ret);
	nft_sock_close(&s);
	return ret;
}

/* ---- DEL ---- */

static bool elem_jumps_to(const struct elem *e, const char *chain)
{
	return (e->verdict == (uint32_t)NFT_JUMP || e->verdict == (uint32_t)NFT_GOTO) &&
	       !strcmp(e->chain, chain);
}

/*
 * Removes chain and the elements jumping to it, in one batch. host (may be
 * NULL) is the element expected to; hint (may be NULL) a fresh listing of the
 * map to use instead. When the guess is wrong (the element jumps elsewhere,
 * or another element holds the chain), the next attempt lists the map.
 */
static int del_ours(struct nft_sock *s, const char *chain, const char *host, const struct elems *hint,
		    struct cni_err *err)
{
	struct elems list = { 0 };
	bool listed = !host;
	struct cni_err tmp;
	int ret = 0, attempt;
	size_t i;

	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		const struct elems *es = attempt == 0 && hint ? hint : &list;
		size_t failed = SIZE_MAX;
		struct nft_batch b;

		cni_err_clear(&tmp);
		ret = chain_get(s, NFT_SC_TABLE, chain, NULL);
		if (ret == -ENOENT) {
			/* No chain, so no element can jump to it: nothing of ours is left. */
			ret = 0;
			break;
		}
		if (ret == 0 && listed && es == &list) {
			elems_free(&list);
			ret = get_elems(s, NULL, &list);
		}
		if (ret < 0) {
			cni_err_set(&tmp, CNI_ERR_NFT, ret, "nftables: reading chain bridge %s %s",
				    NFT_SC_TABLE, chain);
			break;
		}
		nft_batch_init(&b);
		if (!listed) {
			ret = b_elem(&b, host, chain);
			nft_batch_tag(&b, TAG(TAG_GUARD, 0));
			if (!ret)
				ret = b_elem(&b, host, NULL);
		}
		for (i = 0; listed && !ret && i < es->n; i++) {
			if (!elem_jumps_to(&es->v[i], chain))
				continue;
			ret = b_elem(&b, es->v[i].key, chain);
			nft_batch_tag(&b, TAG(TAG_GUARD, i));
			if (!ret)
				ret = b_elem(&b, es->v[i].key, NULL);
		}
		if (!ret)
			ret = b_rule_del(&b, NFT_SC_TABLE, chain, 0);
		if (!ret) {
			ret = b_chain(&b, NFT_MSG_DELCHAIN, NFT_SC_TABLE, chain, false, NULL);
			nft_batch_tag(&b, TAG(TAG_CHAIN, 0));
		}
		if (ret < 0) {
			nft_batch_release(&b);
			cni_err_set(&tmp, CNI_ERR_NFT, ret, "nftables: building spoof-check batch");
			break;
		}
		ret = nft_sock_batch(s, &b, &failed, &tmp);
		if ((ret == -EBUSY || ret == -EEXIST) && failed != SIZE_MAX &&
		    (TAG_KIND(b.tag[failed]) == TAG_GUARD || TAG_KIND(b.tag[failed]) == TAG_CHAIN))
			listed = true;
		nft_batch_release(&b);
		if (ret == 0 || !retryable(ret))
			break;
	}
	elems_free(&list);
	return keep_err(err, &tmp, ret);
}

static bool rule_jumps_to(const struct nftnl_rule *r, const char *chain)
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
	if (it)
		nftnl_expr_iter_destroy(it);
	return yes;
}

/*
 * What the reference (v1.1.1) makes for cid/ifname in table bridge nat:
 * PREROUTING rule `iifname X jump cni-br-iface-<cid>-<ifname>` commented
 * "macspoofchk-<cid>-<ifname>", that chain jumping to "...-mac", which holds
 * `ether saddr MAC return; drop`. One lookup when there is none.
 */
static int del_reference(struct nft_sock *s, const char *cid, const char *ifname, struct cni_err *err)
{
	char *iface = NULL, *mac = NULL, *comment = NULL, c[NFTNL_UDATA_COMMENT_MAXLEN];
	struct cni_err tmp;
	int ret = 0, attempt, ei, em;
	size_t i;

	cni_err_clear(&tmp);
	if (asprintf(&iface, NFT_SC_REF_PFX "%s-%s", cid, ifname) < 0)
		iface = NULL;
	if (iface && asprintf(&mac, "%s-mac", iface) < 0)
		mac = NULL;
	if (mac && asprintf(&comment, NFT_SC_REF_COMMENT "%s-%s", cid, ifname) < 0)
		comment = NULL;
	if (!comment) {
		ret = cni_err_set(&tmp, CNI_ERR_INTERNAL, -ENOMEM, "macspoofchk");
		goto out;
	}
	/* Names the kernel could not have accepted: the reference made nothing. */
	if (strlen(mac) >= NFT_CHAIN_MAXNAMELEN)
		goto out;
	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		struct rules pre = { 0 };
		struct nft_batch b;

		cni_err_clear(&tmp);
		ei = chain_get(s, NFT_SC_REF_TABLE, iface, NULL);
		em = ei < 0 && ei != -ENOENT ? ei : chain_get(s, NFT_SC_REF_TABLE, mac, NULL);
		ret = em < 0 && em != -ENOENT ? em : 0;
		if (ret == 0 && ei == -ENOENT && em == -ENOENT)
			break;
		if (ret == 0)
			ret = dump_rules(s, NFT_SC_REF_TABLE, NFT_SC_REF_BASE, &pre);
		if (ret < 0) {
			cni_err_set(&tmp, CNI_ERR_NFT, ret, "nftables: reading table bridge %s", NFT_SC_REF_TABLE);
			break;
		}
		nft_batch_init(&b);
		for (i = 0; !ret && i < pre.n; i++) {
			nft_rule_comment(pre.v[i], c, sizeof(c));
			if (!strcmp(c, comment) || (ei == 0 && rule_jumps_to(pre.v[i], iface)) ||
			    (em == 0 && rule_jumps_to(pre.v[i], mac)))
				ret = b_rule_del(&b, NFT_SC_REF_TABLE, NFT_SC_REF_BASE,
						 nftnl_rule_get_u64(pre.v[i], NFTNL_RULE_HANDLE));
		}
		rules_free(&pre);
		/* Flushes first: the iface chain's jump holds the mac chain. */
		if (!ret && ei == 0)
			ret = b_rule_del(&b, NFT_SC_REF_TABLE, iface, 0);
		if (!ret && em == 0)
			ret = b_rule_del(&b, NFT_SC_REF_TABLE, mac, 0);
		if (!ret && ei == 0)
			ret = b_chain(&b, NFT_MSG_DELCHAIN, NFT_SC_REF_TABLE, iface, false, NULL);
		if (!ret && em == 0)
			ret = b_chain(&b, NFT_MSG_DELCHAIN, NFT_SC_REF_TABLE, mac, false, NULL);
		if (!ret)
			ret = nft_sock_batch(s, &b, NULL, &tmp);
		else
			cni_err_set(&tmp, CNI_ERR_NFT, ret, "nftables: building spoof-check batch");
		nft_batch_release(&b);
		if (ret == 0 || !retryable(ret))
			break;
	}
out:
	free(comment);
	free(mac);
	free(iface);
	return keep_err(err, &tmp, ret);
}

int nft_spoofchk_del(const struct nft_spoofchk *a, struct cni_err *err)
{
	struct nft_sock s = { 0 };
	char chain[NFT_SC_NAMELEN];
	int ret, r;

	ret = check_args(a, false, err);
	if (ret < 0)
		return ret;
	ret = nft_spoofchk_chain_name(a->network, a->ifname, a->container_id, chain);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "macspoofchk");
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;
	ret = del_ours(&s, chain, a->host_ifname, NULL, err);
	r = del_reference(&s, a->container_id, a->ifname, err);
	ret = ret ? ret : r;
	nft_sock_close(&s);
	return ret;
}

/* ---- CHECK ---- */

static int check_base(struct nft_sock *s, struct cni_err *err)
{
	struct rules have = { 0 };
	struct chain_info ci;
	int ret, same = 0;

	ret = chain_get(s, NFT_SC_TABLE, NFT_SC_BASE, &ci);
	if (ret == -ENOENT)
		return cni_err_set(err, CNI_ERR_CHECK, ret, "macspoofchk: chain bridge %s %s missing",
				   NFT_SC_TABLE, NFT_SC_BASE);
	if (ret == 0 && (!ci.base || ci.hooknum != NF_BR_PRE_ROUTING || ci.prio != BASE_PRIO ||
			 strcmp(ci.type, "filter")))
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				   "macspoofchk: chain bridge %s %s is not a filter prerouting -300 base chain",
				   NFT_SC_TABLE, NFT_SC_BASE);
	if (ret == 0)
		ret = dump_rules(s, NFT_SC_TABLE, NFT_SC_BASE, &have);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading chain bridge %s %s",
				   NFT_SC_TABLE, NFT_SC_BASE);
	if (have.n == 1)
		same = rule_same(nft_spoofchk_rule_dispatch(), have.v[0]);
	if (same < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, same, "macspoofchk");
	else if (!same)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "macspoofchk: chain bridge %s %s does not hold just 'iifname vmap @%s'",
				  NFT_SC_TABLE, NFT_SC_BASE, NFT_SC_MAP);
	rules_free(&have);
	return ret;
}

static int check_attachment(struct nft_sock *s, const char *chain, const uint8_t mac[6],
			    struct cni_err *err)
{
	struct rules have = { 0 };
	char m[18];
	int ret, same = 0;

	mac_format(mac, m);
	ret = chain_get(s, NFT_SC_TABLE, chain, NULL);
	if (ret == -ENOENT)
		return cni_err_set(err, CNI_ERR_CHECK, ret, "macspoofchk: chain bridge %s %s missing",
				   NFT_SC_TABLE, chain);
	if (ret == 0)
		ret = dump_rules(s, NFT_SC_TABLE, chain, &have);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading chain bridge %s %s",
				   NFT_SC_TABLE, chain);
	if (have.n == 2)
		same = rule_same(nft_spoofchk_rule_mac(chain, mac), have.v[0]);
	if (same > 0)
		same = rule_same(nft_spoofchk_rule_drop(chain), have.v[1]);
	if (same < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, same, "macspoofchk");
	else if (!same)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "macspoofchk: chain bridge %s %s does not hold just "
				  "'ether saddr %s return; drop' (%zu rules)",
				  NFT_SC_TABLE, chain, m, have.n);
	rules_free(&have);
	return ret;
}

int nft_spoofchk_check(const struct nft_spoofchk *a, const uint8_t mac[6], struct cni_err *err)
{
	struct nft_sock s = { 0 };
	struct elems el = { 0 };
	char chain[NFT_SC_NAMELEN];
	int ret;

	ret = check_args(a, true, err);
	if (ret < 0)
		return ret;
	if (!mac)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "macspoofchk: MAC required");
	ret = nft_spoofchk_chain_name(a->network, a->ifname, a->container_id, chain);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "macspoofchk");
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;
	ret = check_base(&s, err);
	if (!ret)
		ret = check_attachment(&s, chain, mac, err);
	if (!ret) {
		ret = get_elems(&s, a->host_ifname, &el);
		if (ret < 0)
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading map bridge %s %s",
				    NFT_SC_TABLE, NFT_SC_MAP);
		else if (el.n != 1 || el.v[0].verdict != (uint32_t)NFT_JUMP || strcmp(el.v[0].chain, chain))
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "macspoofchk: map bridge %s %s sends %s %s%s", NFT_SC_TABLE,
					  NFT_SC_MAP, a->host_ifname, el.n ? "to chain " : "nowhere",
					  el.n ? el.v[0].chain : "");
	}
	elems_free(&el);
	nft_sock_close(&s);
	return ret;
}

/* ---- GC ---- */

struct chain_names {
	char (*v)[NFT_SC_NAMELEN];
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
	if (!table || !name || strcmp(table, NFT_SC_TABLE) || strlen(name) != NFT_SC_NAMELEN - 1 ||
	    strncmp(name, cn->prefix, strlen(cn->prefix)))
		goto out;
	if (cn->n == cn->cap) {
		size_t cap = cn->cap ? 2 * cn->cap : 16;
		char (*v)[NFT_SC_NAMELEN] = reallocarray(cn->v, cap, sizeof(*v));

		if (!v) {
			ret = MNL_CB_ERROR;
			goto out;
		}
		cn->v = v;
		cn->cap = cap;
	}
	memcpy(cn->v[cn->n++], name, NFT_SC_NAMELEN);
out:
	nftnl_chain_free(c);
	return ret;
}

int nft_spoofchk_gc(const char *network, const struct nft_spoofchk *keep, size_t n,
		    struct cni_err *err)
{
	char prefix[NFT_SC_PFXLEN + NFT_SC_HASH + 2], buf[MNL_SOCKET_BUFFER_SIZE];
	char (*kh)[NFT_SC_NAMELEN] = NULL;
	struct chain_names cn = { 0 };
	struct nft_sock s = { 0 };
	struct elems el = { 0 };
	struct nlmsghdr *nlh;
	int ret = 0, r;
	size_t i, j, k = 0;

	if (!network)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "macspoofchk GC: network required");
	kh = calloc(n + 1, sizeof(*kh));
	if (!kh)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "macspoofchk GC");
	for (i = 0; i < n; i++) {
		if (!keep[i].container_id || !keep[i].ifname) {
			ret = cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL,
					  "macspoofchk GC: attachment #%zu lacks container ID or ifname", i);
			goto out;
		}
		ret = nft_spoofchk_chain_name(network, keep[i].ifname, keep[i].container_id, kh[i]);
		if (ret < 0) {
			cni_err_set(err, CNI_ERR_INTERNAL, ret, "macspoofchk GC");
			goto out;
		}
	}
	memcpy(prefix, NFT_SC_PFX, NFT_SC_PFXLEN);
	cni_sha512_hex(network, strlen(network), prefix + NFT_SC_PFXLEN, NFT_SC_HASH);
	strcat(prefix, "-");
	cn.prefix = prefix;
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		goto out;
	/* The kernel does not filter a chain dump by table: GC is the one place we list chains. */
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, FAM, NLM_F_DUMP, 0);
	ret = nft_sock_query(&s, nlh, chains_cb, &cn);
	if (ret == -ENOENT)
		ret = 0;
	/* Keep only the stale chains; the map is listed once, and only if there are any. */
	for (i = k = 0; ret == 0 && i < cn.n; i++) {
		bool kept = false;

		for (j = 0; j < n && !kept; j++)
			kept = !strcmp(cn.v[i], kh[j]);
		if (!kept)
			memmove(cn.v[k++], cn.v[i], NFT_SC_NAMELEN);
	}
	cn.n = k;
	if (ret == 0 && cn.n)
		ret = get_elems(&s, NULL, &el);
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading table bridge %s", NFT_SC_TABLE);
		goto out;
	}
	/* One transaction per attachment: one that cannot go does not keep the others. */
	for (i = 0; i < cn.n; i++) {
		r = del_ours(&s, cn.v[i], NULL, &el, err);
		ret = ret ? ret : r;
	}
out:
	nft_sock_close(&s);
	elems_free(&el);
	free(cn.v);
	free(kh);
	return ret;
}
