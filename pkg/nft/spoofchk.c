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
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter_bridge.h>
#include <linux/netfilter/nf_tables.h>

#include "cni/nft.h"
#include "nft-int.h"

#define FAM NFPROTO_BRIDGE
#define BASE_PRIO (-300)

enum tag_kind { TAG_ELEM = 1, TAG_TAKEOVER, TAG_GUARD, TAG_CHAIN };
#define TAG(kind, i) ((int)(kind) << 20 | (int)(i))
#define TAG_KIND(t) ((t) < 0 ? 0 : (t) >> 20)

static const struct nft_map ports = {
	FAM, NFT_SC_TABLE, NFT_SC_MAP, NFT_TYPE_IFNAME, IFNAMSIZ, 1, true,
};
/* Before everything else on the bridge, as the reference's: dstnat is -300 here. */
static const struct nft_hook prerouting = { "filter", NF_BR_PRE_ROUTING, BASE_PRIO, true };

/* Keys are what meta iifname loads: the name, zero-padded to IFNAMSIZ. */
static void port_key(const char *name, char k[IFNAMSIZ])
{
	memset(k, 0, IFNAMSIZ);
	memcpy(k, name, strnlen(name, IFNAMSIZ - 1));
}

/* NEWSETELEM port : jump chain, or DELSETELEM port (chain NULL). */
static int b_elem(struct nft_batch *b, const char *port, const char *chain)
{
	char k[IFNAMSIZ];

	port_key(port, k);
	return nft_b_elem(b, &ports, k, (uint32_t)NFT_JUMP, chain);
}

/* Never EXCL: an existing chain is a no-op, which keeps ADD free of reads. */
static int b_chain(struct nft_batch *b, uint16_t type, const char *table, const char *name,
		   const struct nft_hook *hook, const char *comment)
{
	return nft_b_chain(b, type, FAM, table, name, hook, comment,
			   type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0);
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

static void mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* Arguments checked, the attachment chain named; for ADD and CHECK (need the MAC and host veth). */
static int prepare(const struct nft_spoofchk *a, const uint8_t mac[6], char chain[NFT_SC_NAMELEN],
		   struct cni_err *err)
{
	int ret = check_args(a, true, err);

	if (ret < 0)
		return ret;
	if (!mac)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "macspoofchk: MAC required");
	ret = nft_spoofchk_chain_name(a->network, a->ifname, a->container_id, chain);
	return ret < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, ret, "macspoofchk") : 0;
}

/* ---- ADD ---- */

struct add_state {
	const struct nft_spoofchk *a;
	const char *chain;
	const uint8_t *mac;
	bool takeover;			/* the port's element jumps elsewhere: delete it first */
};

static int add_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	struct add_state *st = ctx;
	const struct nft_spoofchk *a = st->a;
	char comment[NFTNL_UDATA_COMMENT_MAXLEN + 1], what[64], m[18];
	size_t failed = SIZE_MAX;
	struct nft_batch b;
	int ret, tag;

	snprintf(comment, sizeof(comment), "net: %s, if: %s, id: %s", a->network, a->ifname,
		 a->container_id);
	mac_format(st->mac, m);
	snprintf(what, sizeof(what), "ether saddr %s return", m);
	nft_batch_init(&b);
	ret = nft_b_table(&b, FAM, NFT_SC_TABLE);
	if (!ret)
		ret = nft_b_map(&b, &ports);
	if (!ret)
		ret = b_chain(&b, NFT_MSG_NEWCHAIN, NFT_SC_TABLE, NFT_SC_BASE, &prerouting, NULL);
	/* Refilled in every ADD: exactly one dispatch rule whatever was there, without reading. */
	if (!ret)
		ret = nft_b_rule_del(&b, FAM, NFT_SC_TABLE, NFT_SC_BASE, 0);
	if (!ret)
		ret = nft_b_rule_add(&b, nft_spoofchk_rule_dispatch(), "iifname vmap @" NFT_SC_MAP);
	if (!ret)
		ret = b_chain(&b, NFT_MSG_NEWCHAIN, NFT_SC_TABLE, st->chain, NULL, comment);
	if (!ret)
		ret = nft_b_rule_del(&b, FAM, NFT_SC_TABLE, st->chain, 0);
	if (!ret)
		ret = nft_b_rule_add(&b, nft_spoofchk_rule_mac(st->chain, st->mac), what);
	if (!ret)
		ret = nft_b_rule_add(&b, nft_spoofchk_rule_drop(st->chain), "drop");
	if (!ret && st->takeover) {
		ret = b_elem(&b, a->host_ifname, NULL);
		nft_batch_tag(&b, TAG(TAG_TAKEOVER, 0));
	}
	if (!ret) {
		ret = b_elem(&b, a->host_ifname, st->chain);
		nft_batch_tag(&b, TAG(TAG_ELEM, 0));
	}
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building spoof-check batch");
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
	if (ret == 0 || failed == SIZE_MAX)
		goto out;
	/* The port's element jumps elsewhere (a stale attachment): replace it; or it went away. */
	tag = b.tag[failed];
	if (TAG_KIND(tag) == TAG_ELEM && ret != -ENOENT)
		st->takeover = true;
	else if (TAG_KIND(tag) == TAG_TAKEOVER && ret == -ENOENT)
		st->takeover = false;
out:
	nft_batch_release(&b);
	return ret;
}

int nft_spoofchk_add(const struct nft_spoofchk *a, const uint8_t mac[6], struct cni_err *err)
{
	struct nft_sock s = { 0 };
	char chain[NFT_SC_NAMELEN];
	struct add_state st = { a, chain, mac, false };
	int ret;

	ret = prepare(a, mac, chain, err);
	if (ret < 0)
		return ret;
	ret = nft_sock_open(&s, err);
	if (ret == 0)
		ret = nft_retry(&s, add_once, &st, err);
	nft_sock_close(&s);
	return ret;
}

/* ---- DEL ---- */

struct del_state {
	const char *chain;
	const char *host;		/* the port expected to jump to chain, or NULL */
	const struct nft_elems *hint;	/* a fresh listing of the map to use first, or NULL */
	struct nft_elems list;
	bool listed;			/* guessing failed: list the map */
	int attempt;
};

/*
 * Removes chain and the elements jumping to it, in one batch. When the guess
 * (host) is wrong (the element jumps elsewhere, or another element holds the
 * chain), the next attempt lists the map.
 */
static int del_ours_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	struct del_state *st = ctx;
	const struct nft_elems *es = st->attempt++ == 0 && st->hint ? st->hint : &st->list;
	size_t failed = SIZE_MAX, i;
	struct nft_batch b;
	char k[IFNAMSIZ + 1] = "";
	int ret;

	ret = nft_chain_get(s, FAM, NFT_SC_TABLE, st->chain, NULL);
	if (ret == -ENOENT)
		return 0;	/* no chain, so no element can jump to it: nothing of ours is left */
	if (ret == 0 && st->listed && es == &st->list) {
		nft_elems_free(&st->list);
		ret = nft_get_elems(s, &ports, NULL, &st->list);
	}
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading chain bridge %s %s",
				   NFT_SC_TABLE, st->chain);
	nft_batch_init(&b);
	if (!st->listed) {
		ret = b_elem(&b, st->host, st->chain);
		nft_batch_tag(&b, TAG(TAG_GUARD, 0));
		if (!ret)
			ret = b_elem(&b, st->host, NULL);
	}
	for (i = 0; st->listed && !ret && i < es->n; i++) {
		if (!nft_elem_leads_to(&es->v[i], st->chain))
			continue;
		memcpy(k, es->v[i].key, IFNAMSIZ);
		ret = b_elem(&b, k, st->chain);
		nft_batch_tag(&b, TAG(TAG_GUARD, i));
		if (!ret)
			ret = b_elem(&b, k, NULL);
	}
	if (!ret)
		ret = nft_b_rule_del(&b, FAM, NFT_SC_TABLE, st->chain, 0);
	if (!ret) {
		ret = b_chain(&b, NFT_MSG_DELCHAIN, NFT_SC_TABLE, st->chain, NULL, NULL);
		nft_batch_tag(&b, TAG(TAG_CHAIN, 0));
	}
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building spoof-check batch");
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
	if ((ret == -EBUSY || ret == -EEXIST) && failed != SIZE_MAX &&
	    (TAG_KIND(b.tag[failed]) == TAG_GUARD || TAG_KIND(b.tag[failed]) == TAG_CHAIN))
		st->listed = true;
out:
	nft_batch_release(&b);
	return ret;
}

static int del_ours(struct nft_sock *s, const char *chain, const char *host,
		    const struct nft_elems *hint, struct cni_err *err)
{
	struct del_state st = { chain, host, hint, { 0 }, !host, 0 };
	int ret = nft_retry(s, del_ours_once, &st, err);

	nft_elems_free(&st.list);
	return ret;
}

struct ref_state {
	char *iface, *mac, *comment;
};

/*
 * What the reference (v1.1.1) makes for cid/ifname in table bridge nat:
 * PREROUTING rule `iifname X jump cni-br-iface-<cid>-<ifname>` commented
 * "macspoofchk-<cid>-<ifname>", that chain jumping to "...-mac", which holds
 * `ether saddr MAC return; drop`. One lookup when there is none.
 */
static int del_reference_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	const struct ref_state *st = ctx;
	char c[NFTNL_UDATA_COMMENT_MAXLEN];
	struct nft_rules pre = { 0 };
	struct nft_batch b;
	int ret, ei, em;
	size_t i;

	ei = nft_chain_get(s, FAM, NFT_SC_REF_TABLE, st->iface, NULL);
	em = ei < 0 && ei != -ENOENT ? ei : nft_chain_get(s, FAM, NFT_SC_REF_TABLE, st->mac, NULL);
	ret = em < 0 && em != -ENOENT ? em : 0;
	if (ret == 0 && ei == -ENOENT && em == -ENOENT)
		return 0;
	if (ret == 0)
		ret = nft_dump_rules(s, FAM, NFT_SC_REF_TABLE, NFT_SC_REF_BASE, &pre);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading table bridge %s",
				   NFT_SC_REF_TABLE);
	nft_batch_init(&b);
	for (i = 0; !ret && i < pre.n; i++) {
		nft_rule_comment(pre.v[i], c, sizeof(c));
		if (!strcmp(c, st->comment) || (ei == 0 && nft_rule_jumps_to(pre.v[i], st->iface)) ||
		    (em == 0 && nft_rule_jumps_to(pre.v[i], st->mac)))
			ret = nft_b_rule_del(&b, FAM, NFT_SC_REF_TABLE, NFT_SC_REF_BASE,
					     nftnl_rule_get_u64(pre.v[i], NFTNL_RULE_HANDLE));
	}
	nft_rules_free(&pre);
	/* Flushes first: the iface chain's jump holds the mac chain. */
	if (!ret && ei == 0)
		ret = nft_b_rule_del(&b, FAM, NFT_SC_REF_TABLE, st->iface, 0);
	if (!ret && em == 0)
		ret = nft_b_rule_del(&b, FAM, NFT_SC_REF_TABLE, st->mac, 0);
	if (!ret && ei == 0)
		ret = b_chain(&b, NFT_MSG_DELCHAIN, NFT_SC_REF_TABLE, st->iface, NULL, NULL);
	if (!ret && em == 0)
		ret = b_chain(&b, NFT_MSG_DELCHAIN, NFT_SC_REF_TABLE, st->mac, NULL, NULL);
	if (!ret)
		ret = nft_sock_batch(s, &b, NULL, err);
	else
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building spoof-check batch");
	nft_batch_release(&b);
	return ret;
}

static int del_reference(struct nft_sock *s, const char *cid, const char *ifname, struct cni_err *err)
{
	struct ref_state st = { NULL, NULL, NULL };
	int ret = 0;

	if (asprintf(&st.iface, NFT_SC_REF_PFX "%s-%s", cid, ifname) < 0)
		st.iface = NULL;
	if (st.iface && asprintf(&st.mac, "%s-mac", st.iface) < 0)
		st.mac = NULL;
	if (st.mac && asprintf(&st.comment, NFT_SC_REF_COMMENT "%s-%s", cid, ifname) < 0)
		st.comment = NULL;
	if (!st.comment)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "macspoofchk");
	/* Names the kernel could not have accepted: the reference made nothing. */
	else if (strlen(st.mac) < NFT_CHAIN_MAXNAMELEN)
		ret = nft_retry(s, del_reference_once, &st, err);
	free(st.comment);
	free(st.mac);
	free(st.iface);
	return ret;
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
	struct nft_rules have = { 0 };
	struct nft_chain_info ci;
	int ret, same = 0;

	ret = nft_chain_get(s, FAM, NFT_SC_TABLE, NFT_SC_BASE, &ci);
	if (ret == -ENOENT)
		return cni_err_set(err, CNI_ERR_CHECK, ret, "macspoofchk: chain bridge %s %s missing",
				   NFT_SC_TABLE, NFT_SC_BASE);
	if (ret == 0 && (!ci.base || ci.hooknum != NF_BR_PRE_ROUTING || ci.prio != BASE_PRIO ||
			 strcmp(ci.type, "filter")))
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				   "macspoofchk: chain bridge %s %s is not a filter prerouting -300 base chain",
				   NFT_SC_TABLE, NFT_SC_BASE);
	if (ret == 0)
		ret = nft_dump_rules(s, FAM, NFT_SC_TABLE, NFT_SC_BASE, &have);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading chain bridge %s %s",
				   NFT_SC_TABLE, NFT_SC_BASE);
	/* Comments are not compared: rules written by earlier versions carry one. */
	if (have.n == 1)
		same = nft_rule_same(nft_spoofchk_rule_dispatch(), have.v[0], false);
	if (same < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, same, "macspoofchk");
	else if (!same)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "macspoofchk: chain bridge %s %s does not hold just 'iifname vmap @%s'",
				  NFT_SC_TABLE, NFT_SC_BASE, NFT_SC_MAP);
	nft_rules_free(&have);
	return ret;
}

static int check_attachment(struct nft_sock *s, const char *chain, const uint8_t mac[6],
			    struct cni_err *err)
{
	struct nft_rules have = { 0 };
	char m[18];
	int ret, same = 0;

	mac_format(mac, m);
	ret = nft_chain_get(s, FAM, NFT_SC_TABLE, chain, NULL);
	if (ret == -ENOENT)
		return cni_err_set(err, CNI_ERR_CHECK, ret, "macspoofchk: chain bridge %s %s missing",
				   NFT_SC_TABLE, chain);
	if (ret == 0)
		ret = nft_dump_rules(s, FAM, NFT_SC_TABLE, chain, &have);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading chain bridge %s %s",
				   NFT_SC_TABLE, chain);
	if (have.n == 2)
		same = nft_rule_same(nft_spoofchk_rule_mac(chain, mac), have.v[0], false);
	if (same > 0)
		same = nft_rule_same(nft_spoofchk_rule_drop(chain), have.v[1], false);
	if (same < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, same, "macspoofchk");
	else if (!same)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "macspoofchk: chain bridge %s %s does not hold just "
				  "'ether saddr %s return; drop' (%zu rules)",
				  NFT_SC_TABLE, chain, m, have.n);
	nft_rules_free(&have);
	return ret;
}

int nft_spoofchk_check(const struct nft_spoofchk *a, const uint8_t mac[6], struct cni_err *err)
{
	struct nft_sock s = { 0 };
	struct nft_elems el = { 0 };
	char chain[NFT_SC_NAMELEN], k[IFNAMSIZ];
	int ret;

	ret = prepare(a, mac, chain, err);
	if (ret < 0)
		return ret;
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;
	ret = check_base(&s, err);
	if (!ret)
		ret = check_attachment(&s, chain, mac, err);
	if (!ret) {
		port_key(a->host_ifname, k);
		ret = nft_get_elems(&s, &ports, k, &el);
		if (ret < 0)
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading map bridge %s %s",
				    NFT_SC_TABLE, NFT_SC_MAP);
		else if (el.n != 1 || el.v[0].verdict != (uint32_t)NFT_JUMP || strcmp(el.v[0].chain, chain))
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "macspoofchk: map bridge %s %s sends %s %s%s", NFT_SC_TABLE,
					  NFT_SC_MAP, a->host_ifname, el.n ? "to chain " : "nowhere",
					  el.n ? el.v[0].chain : "");
	}
	nft_elems_free(&el);
	nft_sock_close(&s);
	return ret;
}

/* ---- GC ---- */

int nft_spoofchk_gc(const char *network, const struct nft_spoofchk *keep, size_t n,
		    struct cni_err *err)
{
	struct nft_names stale = { 0 };
	struct nft_masq_id *ids = NULL;
	struct nft_sock s = { 0 };
	struct nft_elems el = { 0 };
	int ret, r;
	size_t i;

	if (!network)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "macspoofchk GC: network required");
	ids = calloc(n + 1, sizeof(*ids));
	if (!ids)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "macspoofchk GC");
	for (i = 0; i < n; i++)
		ids[i] = (struct nft_masq_id){ network, keep[i].container_id, keep[i].ifname };
	ret = nft_sock_open(&s, err);
	if (ret == 0)
		ret = nft_gc_plan(&s, FAM, NFT_SC_TABLE, NFT_SC_PFX, "macspoofchk GC", network, ids, n,
				  NULL, &stale, err);
	/* The map is listed once, and only if anything is stale. */
	if (ret == 0 && stale.n) {
		ret = nft_get_elems(&s, &ports, NULL, &el);
		if (ret < 0)
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading table bridge %s", NFT_SC_TABLE);
	}
	if (ret < 0)
		goto out;
	/* One transaction per attachment: one that cannot go does not keep the others. */
	for (i = 0; i < stale.n; i++) {
		r = del_ours(&s, stale.v[i], NULL, &el, err);
		ret = ret ? ret : r;
	}
out:
	nft_sock_close(&s);
	nft_elems_free(&el);
	nft_names_free(&stale);
	free(ids);
	return ret;
}
