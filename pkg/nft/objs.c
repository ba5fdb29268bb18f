// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What every feature does with nftables objects, the family
 * and table given: batch messages for tables, maps, chains, rules and map
 * elements; lookups of one chain, one chain's rules, a map's elements; GC's
 * listing of stale attachment chains; and the bounded retry of a change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "cni/nft.h"
#include "nft-int.h"

#define TEXT_MAX 2048
/* nft's BYTEORDER_HOST_ENDIAN: without it nft prints ifname keys as big-endian numbers. */
#define NFT_HOST_ENDIAN 1

const char *nft_family_name(uint16_t family)
{
	switch (family) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_BRIDGE:
		return "bridge";
	}
	return "?";
}

/* ---- batch messages ---- */

int nft_b_table(struct nft_batch *b, uint16_t family, const char *table)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nft_batch_add(b, NFT_MSG_NEWTABLE, family, NLM_F_CREATE, "adding table %s %s",
			    nft_family_name(family), table);
	if (nlh)
		nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return nlh ? 0 : -ENOMEM;
}

int nft_b_table_del(struct nft_batch *b, uint16_t family, const char *table)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nft_batch_add(b, NFT_MSG_DELTABLE, family, 0, "deleting table %s %s",
			    nft_family_name(family), table);
	if (nlh)
		nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return nlh ? 0 : -ENOMEM;
}

/* The map, with one element (key given: verdict chain, or none) or none; NULL on ENOMEM. */
static struct nftnl_set *map_with(const struct nft_map *m, const void *key, uint32_t verdict,
				  const char *chain)
{
	struct nftnl_set *set = nftnl_set_alloc();
	struct nftnl_set_elem *e;

	if (!set)
		return NULL;
	nftnl_set_set_u32(set, NFTNL_SET_FAMILY, m->family);
	nftnl_set_set_str(set, NFTNL_SET_TABLE, m->table);
	nftnl_set_set_str(set, NFTNL_SET_NAME, m->name);
	if (!key)
		return set;
	e = nftnl_set_elem_alloc();
	if (!e) {
		nftnl_set_free(set);
		return NULL;
	}
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, m->key_len);
	if (chain && m->owner) {
		char owner[NFT_HASH] = { 0 };
		size_t n = strlen(chain);

		/* The chain's hash, the end of its name; the data is exactly NFT_HASH bytes. */
		memcpy(owner, chain + (n > NFT_HASH ? n - NFT_HASH : 0), n < NFT_HASH ? n : NFT_HASH);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, owner, NFT_HASH);
	} else if (chain) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, verdict);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	}
	nftnl_set_elem_add(set, e);
	return set;
}

int nft_b_map(struct nft_batch *b, const struct nft_map *m)
{
	struct nftnl_set *set = map_with(m, NULL, 0, NULL);
	struct nftnl_udata_buf *u = NULL;
	struct nlmsghdr *nlh = NULL;

	if (!set)
		return -ENOMEM;
	nftnl_set_set_u32(set, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, m->key_type);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, m->key_len);
	nftnl_set_set_u32(set, NFTNL_SET_DATA_TYPE, m->owner ? NFT_TYPE_IFNAME : NFT_DATA_VERDICT);
	nftnl_set_set_u32(set, NFTNL_SET_DATA_LEN, m->owner ? NFT_HASH : 0);
	/* Newer kernels refuse a NEWSET without an ID, even for a named set. */
	nftnl_set_set_u32(set, NFTNL_SET_ID, m->id);
	if (m->host_order || m->owner) {
		u = nftnl_udata_buf_alloc(64);
		if (!u || (m->host_order &&
			   !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_HOST_ENDIAN)) ||
		    (m->owner && !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATABYTEORDER, NFT_HOST_ENDIAN)))
			goto out;
		nftnl_set_set_data(set, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
				   nftnl_udata_buf_len(u));
	}
	/* A lazy map comes with its rule: EXCL, so two ADDs cannot both add the rule. */
	nlh = nft_batch_add(b, NFT_MSG_NEWSET, m->family, NLM_F_CREATE | (m->lazy ? NLM_F_EXCL : 0),
			    "adding map %s %s %s", nft_family_name(m->family), m->table, m->name);
	if (nlh)
		nftnl_set_nlmsg_build_payload(nlh, set);
out:
	if (u)
		nftnl_udata_buf_free(u);
	nftnl_set_free(set);
	return nlh ? 0 : -ENOMEM;
}

int nft_b_map_del(struct nft_batch *b, const struct nft_map *m)
{
	struct nftnl_set *set = map_with(m, NULL, 0, NULL);
	struct nlmsghdr *nlh;

	if (!set)
		return -ENOMEM;
	nlh = nft_batch_add(b, NFT_MSG_DELSET, m->family, 0, "deleting map %s %s %s",
			    nft_family_name(m->family), m->table, m->name);
	if (nlh)
		nftnl_set_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	return nlh ? 0 : -ENOMEM;
}

int nft_b_chain(struct nft_batch *b, uint16_t type, uint16_t family, const char *table,
		const char *name, const struct nft_hook *hook, const char *comment, uint16_t flags)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (hook) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, hook->type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook->hooknum);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, hook->prio);
		if (hook->policy_accept)
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
	nlh = nft_batch_add(b, type, family, flags, "%s chain %s %s %s",
			    type == NFT_MSG_NEWCHAIN ? "adding" : "deleting", nft_family_name(family),
			    table, name);
	if (nlh)
		nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return nlh ? 0 : -ENOMEM;
}

int nft_b_rule_add(struct nft_batch *b, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh;
	uint16_t family;

	if (!r)
		return -ENOMEM;
	family = (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY);
	nlh = nft_batch_add(b, NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND,
			    "adding rule '%s' to chain %s %s %s", what, nft_family_name(family),
			    nftnl_rule_get_str(r, NFTNL_RULE_TABLE), nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

int nft_b_rule_insert(struct nft_batch *b, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh;
	uint16_t family;

	if (!r)
		return -ENOMEM;
	family = (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY);
	/* Without NLM_F_APPEND and a position, the kernel puts the rule first. */
	nlh = nft_batch_add(b, NFT_MSG_NEWRULE, family, NLM_F_CREATE,
			    "inserting rule '%s' into chain %s %s %s", what, nft_family_name(family),
			    nftnl_rule_get_str(r, NFTNL_RULE_TABLE), nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

int nft_b_rule_del(struct nft_batch *b, uint16_t family, const char *table, const char *chain,
		   uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *fam = nft_family_name(family);
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (handle) {
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
		nlh = nft_batch_add(b, NFT_MSG_DELRULE, family, 0,
				    "deleting rule handle %llu of chain %s %s %s",
				    (unsigned long long)handle, fam, table, chain);
	} else {
		nlh = nft_batch_add(b, NFT_MSG_DELRULE, family, 0, "flushing chain %s %s %s", fam, table,
				    chain);
	}
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOMEM;
}

/*
 * A concatenation as nft prints it ("192.0.2.1 . udp . 8080"): nft's type is
 * 6 bits per part, first part highest; each part fills whole 32-bit words.
 */
static bool concat_text(const struct nft_map *m, const uint8_t *b, char *out, size_t size)
{
	uint32_t parts[5], t = m->key_type, pos = 0;
	size_t n = 0, i, off = 0;

	while (t && n < 5) {
		parts[n++] = t & 63;
		t >>= 6;
	}
	if (n < 2 || t)
		return false;
	for (i = n; i-- > 0;) {
		char a[INET6_ADDRSTRLEN];
		uint32_t len = parts[i] == NFT_TYPE_IP6ADDR ? 16 : parts[i] == NFT_TYPE_IPADDR ? 4 :
			       parts[i] == 12 ? 1 : parts[i] == 13 ? 2 : 0;

		if (!len || pos + len > m->key_len)
			return false;
		if (len >= 4)
			inet_ntop(len == 4 ? AF_INET : AF_INET6, b + pos, a, sizeof(a));
		else if (len == 1)
			snprintf(a, sizeof(a), "%s", b[pos] == 6 ? "tcp" : b[pos] == 17 ? "udp" :
				 b[pos] == 132 ? "sctp" : "?");
		else
			snprintf(a, sizeof(a), "%u", (unsigned int)(b[pos] << 8 | b[pos + 1]));
		off += (size_t)snprintf(out + off, off < size ? size - off : 0, "%s%s",
					i == n - 1 ? "" : " . ", a);
		pos += (len + 3) / 4 * 4;
	}
	return off < size;
}

void nft_key_text(const struct nft_map *m, const void *key, char *out, size_t size)
{
	const uint8_t *b = key;
	char k[17] = "";
	size_t i, off;

	if (m->key_type == NFT_TYPE_IPADDR || m->key_type == NFT_TYPE_IP6ADDR) {
		if (!inet_ntop(m->key_type == NFT_TYPE_IPADDR ? AF_INET : AF_INET6, key, out, (socklen_t)size))
			snprintf(out, size, "?");
		return;
	}
	if (m->key_type == NFT_TYPE_IFNAME) {
		memcpy(k, key, m->key_len < 16 ? m->key_len : 16);
		snprintf(out, size, "\"%s\"", k);
		return;
	}
	if (concat_text(m, b, out, size))
		return;
	off = (size_t)snprintf(out, size, "0x");
	for (i = 0; i < m->key_len && off + 3 <= size; i++)
		off += (size_t)snprintf(out + off, size - off, "%02x", b[i]);
}

int nft_b_elem(struct nft_batch *b, const struct nft_map *m, const void *key, uint32_t verdict,
	       const char *chain)
{
	struct nftnl_set *set = map_with(m, key, verdict, chain);
	const char *fam = nft_family_name(m->family);
	char k[2 * NFT_KEY_MAX + 8];
	struct nlmsghdr *nlh;

	if (!set)
		return -ENOMEM;
	nft_key_text(m, key, k, sizeof(k));
	if (chain && m->owner)
		nlh = nft_batch_add(b, NFT_MSG_NEWSETELEM, m->family, NLM_F_CREATE,
				    "adding element %s : owner %s to map %s %s %s", k, chain, fam,
				    m->table, m->name);
	else if (chain)
		nlh = nft_batch_add(b, NFT_MSG_NEWSETELEM, m->family, NLM_F_CREATE,
				    "adding element %s : %s %s to map %s %s %s", k,
				    verdict == (uint32_t)NFT_GOTO ? "goto" : "jump", chain, fam, m->table,
				    m->name);
	else
		nlh = nft_batch_add(b, NFT_MSG_DELSETELEM, m->family, 0,
				    "deleting element %s from map %s %s %s", k, fam, m->table, m->name);
	if (nlh)
		nftnl_set_elems_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	return nlh ? 0 : -ENOMEM;
}

/* ---- lookups ---- */

void nft_rules_free(struct nft_rules *rs)
{
	size_t i;

	if (!rs)
		return;
	for (i = 0; i < rs->n; i++)
		nftnl_rule_free(rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

static void rules_reset(void *data)
{
	nft_rules_free(data);
}

static int rules_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_rules *rs = data;
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

int nft_dump_rules(struct nft_sock *s, uint16_t family, const char *table, const char *chain,
		   struct nft_rules *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret;

	if (!r)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, family, NLM_F_DUMP, 0);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	ret = nft_sock_query(s, nlh, rules_cb, rules_reset, out);
	if (ret < 0)
		nft_rules_free(out);
	return ret == -ENOENT ? 0 : ret;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_chain_info *ci = data;
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		nftnl_chain_free(c);
		return MNL_CB_ERROR;
	}
	if (ci && nftnl_chain_is_set(c, NFTNL_CHAIN_USERDATA)) {
		uint32_t len = 0;
		const void *ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len);
		const char *cm = nft_udata_str(ud, len, NFTNL_UDATA_CHAIN_COMMENT);

		if (cm)
			snprintf(ci->comment, sizeof(ci->comment), "%s", cm);
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

int nft_chain_get(struct nft_sock *s, uint16_t family, const char *table, const char *chain,
		  struct nft_chain_info *ci)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -ENOMEM;
	if (ci)
		memset(ci, 0, sizeof(*ci));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, family, NLM_F_ACK, 0);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return nft_sock_query(s, nlh, chain_cb, NULL, ci);
}

void nft_elems_free(struct nft_elems *es)
{
	if (!es)
		return;
	free(es->v);
	memset(es, 0, sizeof(*es));
}

static void elems_reset(void *data)
{
	nft_elems_free(data);
}

int nft_elems_push(struct nft_elems *es, const struct nft_elem *e)
{
	if (es->n == es->cap) {
		size_t cap = es->cap ? 2 * es->cap : 16;
		struct nft_elem *v = reallocarray(es->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		es->v = v;
		es->cap = cap;
	}
	es->v[es->n++] = *e;
	return 0;
}

static int elem_one(struct nftnl_set_elem *e, void *data)
{
	struct nft_elems *es = data;
	struct nft_elem *el;
	const void *k;
	uint32_t klen = 0;

	if (es->n == es->cap) {
		size_t cap = es->cap ? 2 * es->cap : 16;
		struct nft_elem *v = reallocarray(es->v, cap, sizeof(*v));

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
	el->klen = klen < sizeof(el->key) ? klen : sizeof(el->key);
	memcpy(el->key, k, el->klen);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT))
		el->verdict = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN))
		snprintf(el->chain, sizeof(el->chain), "%s", nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN));
	else if (!el->verdict && nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
		uint32_t dlen = 0;
		const char *d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dlen);

		snprintf(el->chain, sizeof(el->chain), "%.*s", (int)(dlen < NFT_HASH ? dlen : NFT_HASH), d);
	}
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

int nft_get_elems(struct nft_sock *s, const struct nft_map *m, const void *key, struct nft_elems *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *set = map_with(m, key, 0, NULL);
	struct nlmsghdr *nlh;
	int ret;

	if (!set)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, m->family, key ? NLM_F_ACK : NLM_F_DUMP, 0);
	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	ret = nft_sock_query(s, nlh, elems_cb, elems_reset, out);
	if (ret < 0)
		nft_elems_free(out);
	return ret == -ENOENT ? 0 : ret;
}

bool nft_elem_leads_to(const struct nft_elem *e, const char *chain)
{
	size_t n = strlen(chain);

	if (!e->verdict)
		return strlen(e->chain) == NFT_HASH && n >= NFT_HASH && !strcmp(e->chain, chain + n - NFT_HASH);
	return (e->verdict == (uint32_t)NFT_JUMP || e->verdict == (uint32_t)NFT_GOTO) &&
	       !strcmp(e->chain, chain);
}

/* data: where the map's data type goes, or NULL. */
static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *set;
	uint32_t *dtype = data;

	if (!dtype)
		return MNL_CB_OK;
	set = nftnl_set_alloc();
	if (!set || nftnl_set_nlmsg_parse(nlh, set) < 0) {
		nftnl_set_free(set);
		return MNL_CB_ERROR;
	}
	/* A plain set has none: 0. */
	*dtype = nftnl_set_is_set(set, NFTNL_SET_DATA_TYPE) ? nftnl_set_get_u32(set, NFTNL_SET_DATA_TYPE) : 0;
	nftnl_set_free(set);
	return MNL_CB_OK;
}

int nft_map_get(struct nft_sock *s, const struct nft_map *m, uint32_t *dtype)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *set = map_with(m, NULL, 0, NULL);
	struct nlmsghdr *nlh;

	if (!set)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, m->family, NLM_F_ACK, 0);
	nftnl_set_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	return nft_sock_query(s, nlh, set_cb, NULL, dtype);
}

/* ---- rules compared ---- */

bool nft_rule_jumps_to(const struct nftnl_rule *r, const char *chain)
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

/* A built rule (consumed) as the kernel would give it back: serialised and parsed. */
static struct nftnl_rule *rule_roundtrip(struct nftnl_rule *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nftnl_rule *p;

	if (!r)
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
				    0, 0);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	p = nftnl_rule_alloc();
	if (p && nftnl_rule_nlmsg_parse(nlh, p) < 0) {
		nftnl_rule_free(p);
		p = NULL;
	}
	return p;
}

int nft_rule_same(struct nftnl_rule *want, const struct nftnl_rule *have, bool comment)
{
	char *a = malloc(TEXT_MAX), *b = malloc(TEXT_MAX);
	char ca[NFTNL_UDATA_COMMENT_MAXLEN], cb[NFTNL_UDATA_COMMENT_MAXLEN];
	struct nftnl_rule *w = rule_roundtrip(want);
	int ret = -ENOMEM;

	if (!a || !b || !w)
		goto out;
	ret = nft_rule_expr_text(w, a, TEXT_MAX) == 0 && nft_rule_expr_text(have, b, TEXT_MAX) == 0 &&
	      !strcmp(a, b);
	if (ret && comment) {
		nft_rule_comment(w, ca, sizeof(ca));
		nft_rule_comment(have, cb, sizeof(cb));
		ret = !strcmp(ca, cb);
	}
out:
	if (w)
		nftnl_rule_free(w);
	free(a);
	free(b);
	return ret;
}

/* ---- GC ---- */

void nft_names_free(struct nft_names *nm)
{
	if (!nm)
		return;
	free(nm->v);
	memset(nm, 0, sizeof(*nm));
}

static int names_add(struct nft_names *nm, const char *name)
{
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? 2 * nm->cap : 16;
		char (*v)[NFT_NAME_MAX] = reallocarray(nm->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		nm->v = v;
		nm->cap = cap;
	}
	snprintf(nm->v[nm->n++], NFT_NAME_MAX, "%s", name);
	return 0;
}

static bool names_have(const struct nft_names *nm, const char *name)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		if (!strcmp(nm->v[i], name))
			return true;
	return false;
}

struct chain_filter {
	const char *table, *prefix;
	size_t len;
	const struct nft_names *kept;
	struct nft_names *out;
};

static void chains_reset(void *data)
{
	nft_names_free(((struct chain_filter *)data)->out);
}

static int chains_cb(const struct nlmsghdr *nlh, void *data)
{
	struct chain_filter *f = data;
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
	if (!table || !name || strcmp(table, f->table) || strlen(name) != f->len ||
	    strncmp(name, f->prefix, strlen(f->prefix)) || names_have(f->kept, name))
		goto out;
	if (names_add(f->out, name) < 0)
		ret = MNL_CB_ERROR;
out:
	nftnl_chain_free(c);
	return ret;
}

int nft_gc_plan(struct nft_sock *s, uint16_t family, const char *table, const char *pfx,
		const char *what, const char *network, const struct cni_attachment *keep, size_t n,
		struct nft_names *kept, struct nft_names *stale, struct cni_err *err)
{
	char prefix[NFT_NAME_MAX], name[NFT_NAME_MAX], buf[MNL_SOCKET_BUFFER_SIZE];
	struct nft_names k = { 0 }, st = { 0 };
	struct chain_filter f = { table, prefix, strlen(pfx) + NFT_KEYLEN, &k, &st };
	struct nlmsghdr *nlh;
	size_t i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		if (!keep[i].container_id || !keep[i].ifname) {
			ret = cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL,
					  "%s: attachment #%zu lacks container ID or ifname", what, i);
			goto out;
		}
		ret = nft_attach_name(pfx, network, keep[i].ifname, keep[i].container_id, name);
		if (!ret)
			ret = names_add(&k, name);
	}
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_INTERNAL, ret, "%s", what);
		goto out;
	}
	nft_network_prefix(pfx, network, prefix);
	/* The kernel does not filter a chain dump by table: GC is the one place we list chains. */
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, family, NLM_F_DUMP, 0);
	ret = nft_sock_query(s, nlh, chains_cb, chains_reset, &f);
	if (ret < 0 && ret != -ENOENT) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chains of %s %s",
			    nft_family_name(family), table);
		goto out;
	}
	ret = 0;
	if (kept) {
		*kept = k;
		k = (struct nft_names){ 0 };
	}
	*stale = st;
	st = (struct nft_names){ 0 };
out:
	nft_names_free(&k);
	nft_names_free(&st);
	return ret;
}

/* ---- the reference's iptables-nft chains ---- */

struct ipt_state {
	uint16_t family;
	const char *chain, *parent;
};

static int ipt_del_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	const struct ipt_state *st = ctx;
	const char *fam = nft_family_name(st->family);
	struct nft_rules par = { 0 };
	struct nft_batch b;
	int ret;
	size_t i;

	ret = nft_chain_get(s, st->family, "nat", st->chain, NULL);
	if (ret == -ENOENT)
		return 0;
	if (ret == 0)
		ret = nft_dump_rules(s, st->family, "nat", st->parent, &par);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: looking up chain %s nat %s", fam,
				   st->chain);
	nft_batch_init(&b);
	for (i = 0; !ret && i < par.n; i++)
		if (nft_rule_jumps_to(par.v[i], st->chain))
			ret = nft_b_rule_del(&b, st->family, "nat", st->parent,
					     nftnl_rule_get_u64(par.v[i], NFTNL_RULE_HANDLE));
	nft_rules_free(&par);
	if (!ret)
		ret = nft_b_rule_del(&b, st->family, "nat", st->chain, 0);
	if (!ret)
		ret = nft_b_chain(&b, NFT_MSG_DELCHAIN, st->family, "nat", st->chain, NULL, NULL, 0);
	if (!ret)
		ret = nft_sock_batch(s, &b, NULL, err);
	else
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building batch");
	nft_batch_release(&b);
	return ret;
}

int nft_ipt_chain_del(struct nft_sock *s, uint16_t family, const char *chain, const char *parent,
		      struct cni_err *err)
{
	struct ipt_state st = { family, chain, parent };

	return nft_retry(s, ipt_del_once, &st, err);
}

/* ---- retries ---- */

bool nft_retryable(int ret)
{
	return ret == -EBUSY || ret == -EEXIST || ret == -ENOENT;
}

int nft_retry(struct nft_sock *s, nft_attempt_fn attempt, void *ctx, struct cni_err *err)
{
	struct cni_err tmp;
	int ret = 0, i;

	for (i = 0; i < NFT_ATTEMPTS; i++) {
		cni_err_clear(&tmp);
		ret = attempt(s, ctx, &tmp);
		if (ret == 0 || !nft_retryable(ret))
			break;
	}
	if (ret < 0 && err && !err->code)
		*err = tmp;
	return ret;
}
