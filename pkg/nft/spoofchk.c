// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * MAC spoof check for bridge ports, a feature of the attachment engine
 * (attach.h), in table bridge cnip_spoofchk:
 *
 *   chain prerouting (filter, prerouting, priority -300): iifname vmap @ports
 *   map ports: host veth name : jump sc-<H(net)>-<H(ifname:cid)>
 *   chain sc-..., one per attachment, commented with network, ifname and
 *     container ID: ether saddr MAC return; drop
 *
 * A frame costs one hash lookup however many pods share the bridge (the
 * reference walks one iifname rule per pod, then two chains). The key of an
 * attachment (its host veth) never changes, so ADD is stateless: one batch,
 * nothing read first; the base and attachment chains are flushed and
 * refilled, so a repeated ADD or a new MAC leaves exactly one ruleset. DEL
 * guesses the element from the host veth's name, or lists the map.
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
#include "attach.h"

#define FAM NFPROTO_BRIDGE

struct sc_spec {
	const char *host;		/* host veth, the bridge port; NULL on DEL when unknown */
	const uint8_t *mac;		/* NULL on DEL */
};

static const struct nft_map ports = {
	.family = FAM, .table = NFT_SC_TABLE, .name = NFT_SC_MAP, .key_type = NFT_TYPE_IFNAME,
	.key_len = IFNAMSIZ, .id = 1, .host_order = true,
};

static struct nftnl_rule *base_rule(size_t i, uint32_t arg, char what[NFT_WHAT_MAX])
{
	snprintf(what, NFT_WHAT_MAX, "iifname vmap @" NFT_SC_MAP);
	return nft_spoofchk_rule_dispatch();
}

/* Before everything else on the bridge, as the reference's: dstnat is -300 here. */
static const struct nft_base bases[1] = {
	{ NFT_SC_BASE, { "filter", NF_BR_PRE_ROUTING, -300, true }, 1, base_rule, 0 },
};

static void mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

static int sc_rules(const char *chain, const void *spec, struct nft_built *v, size_t max)
{
	const struct sc_spec *sc = spec;
	char m[18];

	if (max < 2)
		return -E2BIG;
	mac_format(sc->mac, m);
	snprintf(v[0].what, sizeof(v[0].what), "ether saddr %s return", m);
	snprintf(v[1].what, sizeof(v[1].what), "drop");
	v[0].r = nft_spoofchk_rule_mac(chain, sc->mac);
	v[1].r = nft_spoofchk_rule_drop(chain);
	if (v[0].r && v[1].r)
		return 2;
	if (v[0].r)
		nftnl_rule_free(v[0].r);
	if (v[1].r)
		nftnl_rule_free(v[1].r);
	return -ENOMEM;
}

/* Keys are what meta iifname loads: the name, zero-padded to IFNAMSIZ. */
static int sc_keys(const void *spec, struct nft_keys *out)
{
	const struct sc_spec *sc = spec;
	struct nft_key k = { 0 };

	if (!sc->host)
		return 0;
	memcpy(k.data, sc->host, strnlen(sc->host, IFNAMSIZ - 1));
	return nft_keys_add(out, &k);
}

static void sc_describe(const void *spec, char *buf, size_t size)
{
	const struct sc_spec *sc = spec;
	char m[18];

	mac_format(sc->mac, m);
	snprintf(buf, size, "'ether saddr %s return; drop'", m);
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
		ret = nft_b_chain(&b, NFT_MSG_DELCHAIN, FAM, NFT_SC_REF_TABLE, st->iface, NULL, NULL, 0);
	if (!ret && em == 0)
		ret = nft_b_chain(&b, NFT_MSG_DELCHAIN, FAM, NFT_SC_REF_TABLE, st->mac, NULL, NULL, 0);
	if (!ret)
		ret = nft_sock_batch(s, &b, NULL, err);
	else
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building spoof-check batch");
	nft_batch_release(&b);
	return ret;
}

static int sc_del_legacy(struct nft_sock *s, const struct nft_attach *a, struct cni_err *err)
{
	struct ref_state st = { NULL, NULL, NULL };
	int ret = 0;

	if (asprintf(&st.iface, NFT_SC_REF_PFX "%s-%s", a->container_id, a->ifname) < 0)
		st.iface = NULL;
	if (st.iface && asprintf(&st.mac, "%s-mac", st.iface) < 0)
		st.mac = NULL;
	if (st.mac && asprintf(&st.comment, NFT_SC_REF_COMMENT "%s-%s", a->container_id, a->ifname) < 0)
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

static const struct nft_feature spoofchk = {
	.what = "macspoofchk",
	.family = FAM,
	.table = NFT_SC_TABLE,
	.maps = &ports,
	.nmaps = 1,
	.bases = bases,
	.nbases = 1,
	.pfx = NFT_SC_PFX,
	.verdict = (uint32_t)NFT_JUMP,
	.stateless = true,
	.rules = sc_rules,
	.keys = sc_keys,
	.describe = sc_describe,
	.del_legacy = sc_del_legacy,
};

static bool ifname_ok(const char *s)
{
	return s && *s && strlen(s) < IFNAMSIZ;
}

static int check_host(const char *host, bool need, struct cni_err *err)
{
	if ((need || host) && !ifname_ok(host))
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "macspoofchk: bad host interface name '%s'",
				   host ? host : "");
	return 0;
}

/* What ADD and CHECK need alike: a valid identity, the host veth's name and the MAC. */
static int check_spec(const struct nft_attach *a, const struct sc_spec *sc, struct cni_err *err)
{
	int ret = nft_attach_check_id(&spoofchk, a, err);

	if (!ret)
		ret = check_host(sc->host, true, err);
	if (!ret && !sc->mac)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "macspoofchk: MAC required");
	return ret;
}

int nft_spoofchk_add(struct nft_sock *s, const struct nft_attach *a, const char *host_ifname,
		     const uint8_t mac[6], struct cni_err *err)
{
	struct sc_spec sc = { host_ifname, mac };
	int ret = check_spec(a, &sc, err);

	return ret < 0 ? ret : nft_attach_add(s, &spoofchk, a, &sc, err);
}

int nft_spoofchk_del(struct nft_sock *s, const struct nft_attach *a, const char *host_ifname,
		     struct cni_err *err)
{
	struct sc_spec sc = { host_ifname, NULL };
	int ret = check_host(host_ifname, false, err);

	return ret < 0 ? ret : nft_attach_del(s, &spoofchk, a, &sc, err);
}

int nft_spoofchk_check(struct nft_sock *s, const struct nft_attach *a, const char *host_ifname,
		       const uint8_t mac[6], struct cni_err *err)
{
	struct sc_spec sc = { host_ifname, mac };
	int ret = check_spec(a, &sc, err);

	return ret < 0 ? ret : nft_attach_check(s, &spoofchk, a, &sc, err);
}

int nft_spoofchk_gc(struct nft_sock *s, const char *network, const struct cni_attachment *keep, size_t n,
		    struct cni_err *err)
{
	return nft_attach_gc(s, &spoofchk, network, keep, n, err);
}
