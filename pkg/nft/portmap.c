// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hostPort mapping, a feature of the attachment engine (attach.h), in table
 * inet cnip_hostport (see cni/nft.h for the picture):
 *
 *   chains prerouting and output (nat, dstnat): fib daddr type != local
 *     return; then one vmap lookup per family and kind of key
 *   maps hostip4/6 (host address . protocol . port) and hostport4/6
 *     (protocol . port, every local address): key : goto pm-...
 *   chain pm-<H(net)>-<H(ifname:cid)>, one per attachment: per mapping and
 *     pod family, the marks for what must be masqueraded, then the DNAT,
 *     commented "hostport PROTO HOSTIP PORT" (DEL finds the keys there)
 *   chain masq-bit<N> (nat, srcnat): meta mark & 1<<N masquerade
 *
 * Exclusive: a key whose element leads to another attachment fails ADD with
 * CNI_ERR_EXISTS naming the holder, which keeps its mapping. A packet costs
 * one fib lookup and at most four hash lookups, however many pods map ports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "cni/hash.h"
#include "cni/nft.h"
#include "attach.h"

#define T NFT_PM_TABLE
#define FAM NFPROTO_INET
#define PRIO_DSTNAT (-100)
#define PRIO_SRCNAT 100
#define RTN_LOCAL_U32 2u		/* RTN_LOCAL, as fib's addrtype result */
#define REF_TABLE "cni_hostport"	/* the reference's nftables backend, ip and ip6 */
#define IPT_TOP "CNI-HOSTPORT-DNAT"
#define IPT_OLD_TOP "CNI-HOSTPORT-SNAT"


/* nft's concatenated types: each part 6 bits, first part highest. */
#define CONCAT2(a, b) ((a) << 6 | (b))
#define CONCAT3(a, b, c) (((a) << 6 | (b)) << 6 | (c))
#define TYPE_PROTO 12
#define TYPE_SERVICE 13

static const struct nft_map maps[4] = {
	{ .family = FAM, .table = T, .name = NFT_PM_HOSTIP4,
	  .key_type = CONCAT3(NFT_TYPE_IPADDR, TYPE_PROTO, TYPE_SERVICE), .key_len = 12, .id = 1 },
	{ .family = FAM, .table = T, .name = NFT_PM_HOSTPORT4,
	  .key_type = CONCAT2(TYPE_PROTO, TYPE_SERVICE), .key_len = 8, .id = 2 },
	{ .family = FAM, .table = T, .name = NFT_PM_HOSTIP6,
	  .key_type = CONCAT3(NFT_TYPE_IP6ADDR, TYPE_PROTO, TYPE_SERVICE), .key_len = 24, .id = 3 },
	{ .family = FAM, .table = T, .name = NFT_PM_HOSTPORT6,
	  .key_type = CONCAT2(TYPE_PROTO, TYPE_SERVICE), .key_len = 8, .id = 4 },
};
static const struct nft_hook prerouting = { "nat", NF_INET_PRE_ROUTING, PRIO_DSTNAT, false };
static const struct nft_hook output = { "nat", NF_INET_LOCAL_OUT, PRIO_DSTNAT, false };
static const struct nft_hook postrouting = { "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT, false };

struct entry {
	int family;
	uint8_t proto;
	uint16_t host_port, container_port;
	struct cni_ip host_ip;		/* of family; all zero: every local address */
	uint8_t key[24];
	const struct nft_map *map;
};

static bool specific(const struct entry *e)
{
	return !cni_ip_is_zero(&e->host_ip);
}

static void entry_key(struct entry *e)
{
	bool v4 = e->family == AF_INET;
	size_t alen = specific(e) ? (v4 ? 4 : 16) : 0;
	uint16_t port = htons(e->host_port);

	memset(e->key, 0, sizeof(e->key));
	memcpy(e->key, e->host_ip.a, alen);
	e->key[alen] = e->proto;
	memcpy(e->key + alen + 4, &port, 2);
	e->map = &maps[(v4 ? 0 : 2) + (alen ? 0 : 1)];
}

const char *nft_pm_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	}
	return NULL;
}

static int proto_of(const char *name)
{
	static const uint8_t p[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	size_t i;

	for (i = 0; i < sizeof(p); i++)
		if (!strcmp(name, nft_pm_proto_name(p[i])))
			return p[i];
	return -1;
}

/* "hostport tcp 0.0.0.0 8080": the DNAT rule's comment, and what DEL reads back. */
static void entry_comment(const struct entry *e, char *buf, size_t size)
{
	char a[CNI_IP_STRLEN];

	snprintf(buf, size, "hostport %s %s %u", nft_pm_proto_name(e->proto),
		 cni_ip_format(&e->host_ip, a), e->host_port);
}

static bool entry_parse(const char *c, struct entry *e)
{
	char proto[8], addr[CNI_IP_STRLEN];
	unsigned int port;
	int p;

	if (sscanf(c, "hostport %7s %45s %u", proto, addr, &port) != 3 || port == 0 || port > 65535)
		return false;
	p = proto_of(proto);
	if (p < 0 || cni_ip_parse(addr, &e->host_ip) < 0)
		return false;
	e->family = e->host_ip.family;
	e->proto = (uint8_t)p;
	e->host_port = (uint16_t)port;
	entry_key(e);
	return true;
}

/* The entries of pm: each mapping for each pod family its host address allows. */
static int entries_of(const struct nft_portmap *pm, struct entry **out, size_t *n)
{
	const struct cni_prefix *pods[2] = { &pm->pod4, &pm->pod6 };
	struct entry *v = calloc(2 * pm->n + 1, sizeof(*v));
	size_t i, k, m = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < pm->n; i++) {
		for (k = 0; k < 2; k++) {
			const struct nft_pm_map *mp = &pm->maps[i];
			int f = k ? AF_INET6 : AF_INET;
			struct entry *e = &v[m];

			if (pods[k]->ip.family != f || (mp->host_ip.family && mp->host_ip.family != f))
				continue;
			e->family = f;
			e->proto = mp->proto;
			e->host_port = mp->host_port;
			e->container_port = mp->container_port;
			if (mp->host_ip.family)
				e->host_ip = mp->host_ip;
			else
				e->host_ip.family = f;
			entry_key(e);
			m++;
		}
	}
	*out = v;
	*n = m;
	return 0;
}

/* ---- rules ---- */

static bool put_nfproto(struct nftnl_rule *r, const struct nft_fam *f)
{
	return nft_put(r, nft_e_meta(NFT_META_NFPROTO, NFT_REG_1)) &&
	       nft_put(r, nft_e_cmp(NFT_REG_1, NFT_CMP_EQ, &f->nfproto, 1));
}

/* ip saddr/daddr [!=] p (a mask only below the full length). */
static bool put_addr(struct nftnl_rule *r, const struct nft_fam *f, bool dst, const struct cni_prefix *p,
		     bool neg)
{
	struct cni_prefix net = cni_prefix_network(p);
	uint8_t mask[16] = { 0 };
	unsigned int i;

	if (!nft_put(r, nft_e_payload(NFT_PAYLOAD_NETWORK_HEADER, dst ? f->daddr : f->saddr, f->alen,
				      NFT_REG_1)))
		return false;
	if (p->len < f->alen * 8) {
		for (i = 0; i < p->len; i++)
			mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		if (!nft_put(r, nft_e_bitwise(NFT_REG_1, mask, NULL, f->alen)))
			return false;
	}
	return nft_put(r, nft_e_cmp(NFT_REG_1, neg ? NFT_CMP_NEQ : NFT_CMP_EQ, net.ip.a, f->alen));
}

static bool put_cond(struct nftnl_rule *r, const struct nft_fam *f, const struct nft_pm_match *c)
{
	char name[16] = { 0 };
	uint32_t len = sizeof(name);

	switch (c->kind) {
	case NFT_PM_SADDR:
	case NFT_PM_DADDR:
		return put_addr(r, f, c->kind == NFT_PM_DADDR, &c->addr, c->neg);
	case NFT_PM_IIFNAME:
	case NFT_PM_OIFNAME:
		memcpy(name, c->ifname, strnlen(c->ifname, sizeof(name) - 1));
		if (c->prefix)
			len = (uint32_t)strlen(name);
		return nft_put(r, nft_e_meta(c->kind == NFT_PM_IIFNAME ? NFT_META_IIFNAME :
					     NFT_META_OIFNAME, NFT_REG_1)) &&
		       nft_put(r, nft_e_cmp(NFT_REG_1, c->neg ? NFT_CMP_NEQ : NFT_CMP_EQ, name, len));
	}
	return false;
}

/* What every rule of an entry starts with: family, conditions, destination, protocol, port. */
static struct nftnl_rule *entry_rule(const struct nft_portmap *pm, const char *chain,
				     const struct entry *e, const char *comment)
{
	struct nft_fam f = nft_fam_of(e->family);
	const struct nft_pm_match *cv = e->family == AF_INET ? pm->cond4 : pm->cond6;
	size_t i, nc = e->family == AF_INET ? pm->ncond4 : pm->ncond6;
	uint16_t port = htons(e->host_port);
	struct nftnl_rule *r = nft_rule_new(FAM, T, chain, comment);
	bool ok;

	if (!r)
		return NULL;
	ok = put_nfproto(r, &f);
	for (i = 0; ok && i < nc; i++)
		ok = put_cond(r, &f, &cv[i]);
	if (ok && specific(e)) {
		struct cni_prefix h = { e->host_ip, (uint8_t)(f.alen * 8) };

		ok = put_addr(r, &f, true, &h, false);
	}
	ok = ok && nft_put(r, nft_e_meta(NFT_META_L4PROTO, NFT_REG_1)) &&
	     nft_put(r, nft_e_cmp(NFT_REG_1, NFT_CMP_EQ, &e->proto, 1)) &&
	     nft_put(r, nft_e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1)) &&
	     nft_put(r, nft_e_cmp(NFT_REG_1, NFT_CMP_EQ, &port, 2));
	if (ok)
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/* ... [ip saddr SRC] meta mark set meta mark | bit */
static struct nftnl_rule *rule_mark(const struct nft_portmap *pm, const char *chain,
				    const struct entry *e, const struct cni_prefix *src)
{
	struct nft_fam f = nft_fam_of(e->family);
	uint32_t bit = 1u << pm->mark_bit, keep = ~bit;
	struct nftnl_rule *r = entry_rule(pm, chain, e, NULL);

	if (!r)
		return NULL;
	if ((!src || put_addr(r, &f, false, src, false)) &&
	    nft_put(r, nft_e_meta(NFT_META_MARK, NFT_REG_1)) &&
	    nft_put(r, nft_e_bitwise(NFT_REG_1, &keep, &bit, 4)) &&
	    nft_put(r, nft_e_meta_set(NFT_META_MARK, NFT_REG_1)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/* ... dnat ip to POD:PORT, commented with the entry. */
static struct nftnl_rule *rule_dnat(const struct nft_portmap *pm, const char *chain,
				    const struct entry *e)
{
	const struct cni_prefix *pod = e->family == AF_INET ? &pm->pod4 : &pm->pod6;
	struct nft_fam f = nft_fam_of(e->family);
	uint16_t port = htons(e->container_port);
	char comment[96];
	struct nftnl_rule *r;

	entry_comment(e, comment, sizeof(comment));
	r = entry_rule(pm, chain, e, comment);
	if (!r)
		return NULL;
	if (nft_put(r, nft_e_imm(NFT_REG_1, pod->ip.a, f.alen)) &&
	    nft_put(r, nft_e_imm(NFT_REG_2, &port, 2)) &&
	    nft_put(r, nft_e_dnat(f.nfproto, NFT_REG_1, NFT_REG_2)))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

/*
 * The attachment chain's rules, in order: for each entry, when snat, the marks
 * for what must be masqueraded (the pod's own subnet, which covers hairpin
 * and pods beside it; 127.0.0.1 for the node's loopback; everything with
 * masqAll), then the DNAT. The marks come first: the DNAT ends the chain.
 */
typedef int (*rule_sink)(void *ctx, struct nftnl_rule *r, const char *what);

static int build_rules(const struct nft_portmap *pm, const char *chain, const struct entry *v,
		       size_t n, rule_sink sink, void *ctx)
{
	static const struct cni_prefix lo = { { AF_INET, { 127, 0, 0, 1 } }, 32 };
	char what[96];
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < n; i++) {
		const struct entry *e = &v[i];
		const struct cni_prefix *pod = e->family == AF_INET ? &pm->pod4 : &pm->pod6;
		struct cni_prefix net = cni_prefix_network(pod);

		entry_comment(e, what, sizeof(what));
		if (pm->snat && pm->masq_all) {
			ret = sink(ctx, rule_mark(pm, chain, e, NULL), "mark for masquerade");
		} else if (pm->snat) {
			ret = sink(ctx, rule_mark(pm, chain, e, &net), "mark hairpin for masquerade");
			if (!ret && e->family == AF_INET)
				ret = sink(ctx, rule_mark(pm, chain, e, &lo), "mark localhost for masquerade");
		}
		if (!ret)
			ret = sink(ctx, rule_dnat(pm, chain, e), what);
	}
	return ret;
}

static int sink_built(void *ctx, struct nftnl_rule *r, const char *what);

/* Base rules of prerouting and output: only what is addressed to the node goes on. */
static struct nftnl_rule *rule_hook(const char *chain, size_t i, char what[NFT_WHAT_MAX])
{
	static const uint32_t local = RTN_LOCAL_U32;
	struct nftnl_rule *r = nft_rule_new(FAM, T, chain, NULL);
	unsigned int reg = 0;
	struct nft_fam f;
	bool ok, v4, addr;

	if (!r)
		return NULL;
	if (i == 0) {
		snprintf(what, NFT_WHAT_MAX, "fib daddr type != local return");
		if (nft_put(r, nft_e_fib_daddr_type(NFT_REG_1)) &&
		    nft_put(r, nft_e_cmp(NFT_REG_1, NFT_CMP_NEQ, &local, 4)) &&
		    nft_put(r, nft_e_verdict(NFT_RETURN, NULL)))
			return r;
		nftnl_rule_free(r);
		return NULL;
	}
	/* i = 1..4: hostip4, hostport4, hostip6, hostport6 */
	i--;
	v4 = i < 2;
	addr = !(i % 2);
	f = nft_fam_of(v4 ? AF_INET : AF_INET6);
	snprintf(what, NFT_WHAT_MAX, "vmap @%s", maps[i].name);
	ok = put_nfproto(r, &f);
	if (ok && addr) {
		ok = nft_put(r, nft_e_payload(NFT_PAYLOAD_NETWORK_HEADER, f.daddr, f.alen, nft_reg32(0)));
		reg = f.alen / 4;
	}
	ok = ok && nft_put(r, nft_e_meta(NFT_META_L4PROTO, nft_reg32(reg))) &&
	     nft_put(r, nft_e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, nft_reg32(reg + 1))) &&
	     nft_put(r, nft_e_vmap(maps[i].name, nft_reg32(0)));
	if (ok)
		return r;
	nftnl_rule_free(r);
	return NULL;
}

static struct nftnl_rule *base_pre(size_t i, uint32_t arg, char what[NFT_WHAT_MAX])
{
	return rule_hook(NFT_PM_PREROUTING, i, what);
}

static struct nftnl_rule *base_out(size_t i, uint32_t arg, char what[NFT_WHAT_MAX])
{
	return rule_hook(NFT_PM_OUTPUT, i, what);
}

/* meta mark & bit == bit masquerade */
static struct nftnl_rule *rule_masq(const char *chain, unsigned int mark_bit)
{
	uint32_t bit = 1u << mark_bit;
	struct nftnl_rule *r = nft_rule_new(FAM, T, chain, NULL);

	if (r && nft_put(r, nft_e_meta(NFT_META_MARK, NFT_REG_1)) &&
	    nft_put(r, nft_e_bitwise(NFT_REG_1, &bit, NULL, 4)) &&
	    nft_put(r, nft_e_cmp(NFT_REG_1, NFT_CMP_EQ, &bit, 4)) &&
	    nft_put(r, nftnl_expr_alloc("masq")))
		return r;
	nftnl_rule_free(r);
	return NULL;
}

static void masq_chain_name(unsigned int bit, char out[NFT_NAME_MAX])
{
	snprintf(out, NFT_NAME_MAX, NFT_PM_MASQ_PFX "%u", bit);
}

static struct nftnl_rule *base_masq(size_t i, uint32_t bit, char what[NFT_WHAT_MAX])
{
	char name[NFT_NAME_MAX];

	masq_chain_name(bit, name);
	snprintf(what, NFT_WHAT_MAX, "meta mark & 0x%x masquerade", 1u << bit);
	return rule_masq(name, bit);
}

/* ---- the feature ---- */

/* What the engine's callbacks get: the mappings and their entries. */
struct pm_spec {
	const struct nft_portmap *pm;
	const struct entry *v;
	size_t n;
};

struct built_sink {
	struct nft_built *v;
	size_t n, max;
};

static int sink_built(void *ctx, struct nftnl_rule *r, const char *what)
{
	struct built_sink *b = ctx;

	if (!r)
		return -ENOMEM;
	if (b->n >= b->max) {
		nftnl_rule_free(r);
		return -E2BIG;
	}
	b->v[b->n].r = r;
	snprintf(b->v[b->n].what, NFT_WHAT_MAX, "%s", what);
	b->n++;
	return 0;
}

static int pm_rules(const char *chain, const void *spec, struct nft_built *v, size_t max)
{
	const struct pm_spec *ps = spec;
	struct built_sink b = { v, 0, max };
	int ret = build_rules(ps->pm, chain, ps->v, ps->n, sink_built, &b);

	if (ret < 0) {
		while (b.n--)
			nftnl_rule_free(v[b.n].r);
		return ret;
	}
	return (int)b.n;
}

static void key_of(const struct entry *e, struct nft_key *k)
{
	memset(k, 0, sizeof(*k));
	k->map = (uint8_t)(e->map - maps);
	memcpy(k->data, e->key, e->map->key_len);
}

static int pm_keys(const void *spec, struct nft_keys *out)
{
	const struct pm_spec *ps = spec;
	struct nft_key k;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < ps->n; i++) {
		key_of(&ps->v[i], &k);
		ret = nft_keys_add(out, &k);
	}
	return ret;
}

/* The DNAT rule's comment names its key. */
static int pm_rule_keys(const struct nftnl_rule *r, struct nft_keys *out)
{
	char c[NFTNL_UDATA_COMMENT_MAXLEN];
	struct entry e = { 0 };
	struct nft_key k;

	nft_rule_comment(r, c, sizeof(c));
	if (!entry_parse(c, &e))
		return 0;
	key_of(&e, &k);
	return nft_keys_add(out, &k);
}

static void pm_describe(const void *spec, char *buf, size_t size)
{
	const struct pm_spec *ps = spec;
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < ps->n && off < size; i++) {
		char c[96];

		entry_comment(&ps->v[i], c, sizeof(c));
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", c + 9);
	}
}

static int ipt_name(const char *pfx, const char *network, const char *cid, char out[29])
{
	char *s;
	size_t n = 4 + strlen(pfx);

	if (asprintf(&s, "%s%s", network, cid) < 0)
		return -ENOMEM;
	memcpy(out, "CNI-", 4);
	memcpy(out + 4, pfx, strlen(pfx));
	cni_sha512_hex(s, strlen(s), out + n, 28 - n);
	free(s);
	return 0;
}

/*
 * The reference nftables backend: rules of ip/ip6 cni_hostport commented with
 * the container ID; the table itself once no mapping of any container is left
 * in it (the reference makes it again on its next ADD).
 */
static int del_refnft_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	static const char *const chains[] = { "hostports", "hostip_hostports", "masquerading" };
	static const uint16_t fams[] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	const char *cid = ctx;
	char c[NFTNL_UDATA_COMMENT_MAXLEN];
	struct nft_batch b;
	size_t f, k, i, left;
	int ret = 0;

	nft_batch_init(&b);
	for (f = 0; !ret && f < 2; f++) {
		ret = nft_chain_get(s, fams[f], REF_TABLE, chains[0], NULL);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		for (k = 0, left = 0; !ret && k < 3; k++) {
			struct nft_rules have = { 0 };

			ret = nft_dump_rules(s, fams[f], REF_TABLE, chains[k], &have);
			for (i = 0; !ret && i < have.n; i++) {
				nft_rule_comment(have.v[i], c, sizeof(c));
				if (strcmp(c, cid))
					left++;
				else
					ret = nft_b_rule_del(&b, fams[f], REF_TABLE, chains[k],
							     nftnl_rule_get_u64(have.v[i], NFTNL_RULE_HANDLE));
			}
			nft_rules_free(&have);
		}
		if (!ret && !left)
			ret = nft_b_table_del(&b, fams[f], REF_TABLE);
		if (ret < 0)
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: table %s %s",
				    nft_family_name(fams[f]), REF_TABLE);
	}
	if (!ret)
		ret = nft_sock_batch(s, &b, NULL, err);
	nft_batch_release(&b);
	return ret;
}

/*
 * The reference iptables backend's scaffolding in ip/ip6 nat, once its
 * dispatch chain CNI-HOSTPORT-DNAT is empty: the jumps from PREROUTING,
 * OUTPUT and POSTROUTING and the chains CNI-HOSTPORT-DNAT, -MASQ and -SETMARK
 * (the reference makes them again on its next ADD). Best effort: a chain
 * still referenced (a CNI-DN chain no jump leads to) keeps the batch from
 * committing, and everything stays as it was.
 */
static void ipt_scaffold_del(struct nft_sock *s, uint16_t fam)
{
	static const char *const parents[] = { "PREROUTING", "OUTPUT", "POSTROUTING" };
	static const char *const chains[] = { IPT_TOP, "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK" };
	struct nft_rules have = { 0 };
	struct cni_err scratch = { 0 };
	struct nft_batch b;
	size_t k, i;
	int ret;

	if (nft_chain_get(s, fam, "nat", IPT_TOP, NULL) < 0 ||
	    nft_dump_rules(s, fam, "nat", IPT_TOP, &have) < 0 || have.n) {
		nft_rules_free(&have);
		return;
	}
	nft_batch_init(&b);
	for (k = 0, ret = 0; !ret && k < 3; k++) {
		ret = nft_dump_rules(s, fam, "nat", parents[k], &have);
		for (i = 0; !ret && i < have.n; i++)
			if (nft_rule_jumps_to(have.v[i], chains[k == 2 ? 1 : 0]))
				ret = nft_b_rule_del(&b, fam, "nat", parents[k],
						     nftnl_rule_get_u64(have.v[i], NFTNL_RULE_HANDLE));
		nft_rules_free(&have);
	}
	for (k = 0; !ret && k < 3; k++) {
		if (nft_chain_get(s, fam, "nat", chains[k], NULL) < 0)
			continue;
		ret = nft_b_rule_del(&b, fam, "nat", chains[k], 0);
		if (!ret)
			ret = nft_b_chain(&b, NFT_MSG_DELCHAIN, fam, "nat", chains[k], NULL, NULL, 0);
	}
	if (!ret)
		(void)!nft_sock_batch(s, &b, NULL, &scratch);
	nft_batch_release(&b);
}

static int del_reference(struct nft_sock *s, const char *network, const char *cid, struct cni_err *err)
{
	static const uint16_t fams[] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	char dn[29], sn[29];
	size_t f;
	int ret, r;

	ret = ipt_name("DN-", network, cid, dn);
	if (!ret)
		ret = ipt_name("SN-", network, cid, sn);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "portmap");
	for (f = 0; f < 2; f++) {
		r = nft_ipt_chain_del(s, fams[f], dn, IPT_TOP, err);
		ret = ret ? ret : r;
		r = nft_ipt_chain_del(s, fams[f], sn, IPT_OLD_TOP, err);
		ret = ret ? ret : r;
		ipt_scaffold_del(s, fams[f]);
	}
	r = nft_retry(s, del_refnft_once, (void *)cid, err);
	return ret ? ret : r;
}

static int pm_del_legacy(struct nft_sock *s, const struct nft_attach *a, struct cni_err *err)
{
	return del_reference(s, a->network, a->container_id, err);
}

static const struct nft_feature portmap = {
	.what = "portmap",
	.family = FAM,
	.table = T,
	.maps = maps,
	.nmaps = 4,
	.pfx = NFT_PM_PFX,
	.verdict = (uint32_t)NFT_GOTO,
	.exclusive = true,
	.rule_comments = true,
	.owned_code = CNI_ERR_EXISTS,
	.rules = pm_rules,
	.keys = pm_keys,
	.rule_keys = pm_rule_keys,
	.describe = pm_describe,
	.del_legacy = pm_del_legacy,
};

/* The feature with its base chains: the masquerade chain is the config's mark bit's. */
struct pm_feature {
	struct nft_feature f;
	struct nft_base bases[3];
	char masq[NFT_NAME_MAX];
};

static void feature_of(const struct nft_portmap *pm, struct pm_feature *out)
{
	out->f = portmap;
	out->bases[0] = (struct nft_base){ NFT_PM_PREROUTING, prerouting, 5, base_pre, 0 };
	out->bases[1] = (struct nft_base){ NFT_PM_OUTPUT, output, 5, base_out, 0 };
	masq_chain_name(pm->mark_bit, out->masq);
	out->bases[2] = (struct nft_base){ out->masq, postrouting, 1, base_masq, pm->mark_bit };
	out->f.bases = out->bases;
	out->f.nbases = pm->snat ? 3 : 2;
}

static int prepare(const struct nft_portmap *pm, struct nft_attach *a, struct pm_feature *f,
		   struct cni_err *err)
{
	if (!pm || !pm->network || !pm->container_id || !pm->ifname || pm->mark_bit > 31 ||
	    (pm->n && !pm->maps))
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL,
				   "portmap: network, container ID and ifname are required");
	a->network = pm->network;
	a->container_id = pm->container_id;
	a->ifname = pm->ifname;
	feature_of(pm, f);
	return 0;
}

/* ---- ADD ---- */

int nft_portmap_add(struct nft_sock *s, const struct nft_portmap *pm, struct cni_err *err)
{
	struct pm_feature f;
	struct nft_attach a;
	struct pm_spec ps = { pm, NULL, 0 };
	struct entry *v = NULL;
	size_t i, j, n = 0;
	int ret;

	ret = prepare(pm, &a, &f, err);
	if (ret < 0)
		return ret;
	ret = entries_of(pm, &v, &n);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "portmap");
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (v[i].map == v[j].map && !memcmp(v[i].key, v[j].key, v[i].map->key_len)) {
				char ad[CNI_IP_STRLEN];

				ret = cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
						  "portMappings: hostPort %u/%s on %s is mapped twice",
						  v[i].host_port, nft_pm_proto_name(v[i].proto),
						  cni_ip_format(&v[i].host_ip, ad));
				goto out;
			}
	ps.v = v;
	ps.n = n;
	ret = nft_attach_add(s, &f.f, &a, &ps, err);
out:
	free(v);
	return ret;
}

/* ---- DEL ---- */

struct gone_list {
	struct nft_pm_gone *v;
	size_t n;
};

static int gone_add(struct gone_list *g, const struct entry *e)
{
	struct nft_pm_gone *v;
	size_t i;

	if (!g)
		return 0;
	for (i = 0; i < g->n; i++)
		if (g->v[i].family == e->family && g->v[i].proto == e->proto &&
		    g->v[i].port == e->host_port && cni_ip_equal(&g->v[i].host_ip, &e->host_ip))
			return 0;
	v = reallocarray(g->v, g->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[g->n++] = (struct nft_pm_gone){ e->family, e->proto, e->host_port, e->host_ip };
	g->v = v;
	return 0;
}

static int entries_of_rules(const struct nft_rules *have, struct entry **out, size_t *n)
{
	struct entry *v = calloc(have->n + 1, sizeof(*v));
	char c[NFTNL_UDATA_COMMENT_MAXLEN];
	size_t i, m = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < have->n; i++) {
		nft_rule_comment(have->v[i], c, sizeof(c));
		if (entry_parse(c, &v[m]))
			m++;
	}
	*out = v;
	*n = m;
	return 0;
}

static void gone_out(struct gone_list *g, struct nft_pm_gone **gone, size_t *ngone)
{
	if (gone) {
		*gone = g->v;
		*ngone = g->n;
		g->v = NULL;
	}
	free(g->v);
}

/* The mappings the chain holds, for the conntrack flush after it goes. */
static int chain_gone(struct nft_sock *s, const char *chain, struct gone_list *g)
{
	struct nft_rules have = { 0 };
	struct entry *v = NULL;
	size_t n = 0, i;
	int ret;

	ret = nft_dump_rules(s, FAM, T, chain, &have);
	if (!ret)
		ret = entries_of_rules(&have, &v, &n);
	for (i = 0; !ret && i < n; i++)
		ret = gone_add(g, &v[i]);
	free(v);
	nft_rules_free(&have);
	return ret;
}

int nft_portmap_del(struct nft_sock *s, const struct nft_portmap *pm, struct nft_pm_gone **gone,
		    size_t *ngone, struct cni_err *err)
{
	char chain[NFT_PM_NAMELEN];
	struct gone_list g = { 0 };
	struct pm_feature f;
	struct nft_attach a;
	int ret;

	ret = prepare(pm, &a, &f, err);
	if (ret < 0)
		return ret;
	/* Without the spec: the engine finds the keys in the DNAT rules' comments. */
	ret = nft_attach_name(NFT_PM_PFX, pm->network, pm->ifname, pm->container_id, chain);
	if (!ret && gone)
		ret = chain_gone(s, chain, &g);
	if (ret < 0)
		ret = cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s", T, chain);
	else
		ret = nft_attach_del(s, &f.f, &a, NULL, err);
	if (ret < 0)
		g.n = 0;	/* not known to be gone */
	gone_out(&g, gone, ngone);
	return ret;
}

/* ---- CHECK ---- */

int nft_portmap_check(struct nft_sock *s, const struct nft_portmap *pm, struct cni_err *err)
{
	struct pm_feature f;
	struct nft_attach a;
	struct pm_spec ps = { pm, NULL, 0 };
	struct entry *v = NULL;
	size_t n = 0;
	int ret;

	ret = prepare(pm, &a, &f, err);
	if (ret < 0)
		return ret;
	ret = entries_of(pm, &v, &n);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "portmap");
	ps.v = v;
	ps.n = n;
	if (n)
		ret = nft_attach_check(s, &f.f, &a, &ps, err);
	free(v);
	return ret;
}

/* ---- GC ---- */

/* `dnat name: "N" id: "C"`: the comment of the reference's jumps to CNI-DN-<hash>. */
static bool ipt_comment_parse(const char *c, const char *network, char *cid, size_t size)
{
	const char *p, *q;
	size_t n = strlen(network);

	if (strncmp(c, "dnat name: \"", 12) || strncmp(c + 12, network, n) ||
	    strncmp(c + 12 + n, "\" id: \"", 7))
		return false;
	p = c + 12 + n + 7;
	q = strchr(p, '"');
	if (!q || (size_t)(q - p) >= size)
		return false;
	memcpy(cid, p, (size_t)(q - p));
	cid[q - p] = '\0';
	return true;
}

/* iptables-nft keeps `-m comment` as an xtables match, not as the rule's comment. */
static void xt_comment(const struct nftnl_rule *r, char *buf, size_t size)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;

	nft_rule_comment(r, buf, size);
	while (it && (e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME), *mt;
		const char *info;
		uint32_t len = 0;

		if (!name || strcmp(name, "match") || !(mt = nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME)) ||
		    strcmp(mt, "comment"))
			continue;
		info = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);
		if (info && len)
			snprintf(buf, size, "%.*s", (int)strnlen(info, len), info);
		break;
	}
	if (it)
		nftnl_expr_iter_destroy(it);
}

static const char *rule_jump_target(const struct nftnl_rule *r, char *buf, size_t size)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	const char *found = NULL;

	while (it && !found && (e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		if (name && !strcmp(name, "immediate") && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN)) {
			snprintf(buf, size, "%s", nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
			found = buf;
		}
	}
	if (it)
		nftnl_expr_iter_destroy(it);
	return found;
}

/* The reference's iptables chains of network whose container is not kept. */
static int gc_iptables(struct nft_sock *s, const char *network, const struct cni_attachment *keep,
		       size_t nkeep, struct cni_err *err)
{
	static const uint16_t fams[] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	char c[NFTNL_UDATA_COMMENT_MAXLEN], cid[256], target[NFT_NAME_MAX];
	size_t f, i, k;
	int ret = 0, r;

	for (f = 0; f < 2; f++) {
		struct nft_rules top = { 0 };

		r = nft_dump_rules(s, fams[f], "nat", IPT_TOP, &top);
		if (r < 0) {
			cni_err_set(err, CNI_ERR_NFT, r, "nftables: listing chain %s nat %s",
				    nft_family_name(fams[f]), IPT_TOP);
			ret = ret ? ret : r;
			continue;
		}
		for (i = 0; i < top.n; i++) {
			bool kept = false;

			xt_comment(top.v[i], c, sizeof(c));
			if (!ipt_comment_parse(c, network, cid, sizeof(cid)) ||
			    !rule_jump_target(top.v[i], target, sizeof(target)) ||
			    strncmp(target, "CNI-DN-", 7))
				continue;
			for (k = 0; k < nkeep && !kept; k++)
				kept = keep[k].container_id && !strcmp(keep[k].container_id, cid);
			if (kept)
				continue;
			r = nft_ipt_chain_del(s, fams[f], target, IPT_TOP, err);
			ret = ret ? ret : r;
		}
		nft_rules_free(&top);
		ipt_scaffold_del(s, fams[f]);
	}
	return ret;
}

int nft_portmap_gc(struct nft_sock *s, const char *network, const struct cni_attachment *keep,
		   size_t nkeep, struct nft_pm_gone **gone, size_t *ngone, struct cni_err *err)
{
	struct nft_portmap pm = { .network = network, .container_id = "", .ifname = "" };
	struct nft_names stale = { 0 };
	struct gone_list g = { 0 };
	struct pm_feature f;
	size_t i;
	int ret, r;

	if (!network)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "portmap GC: network required");
	feature_of(&pm, &f);
	/* What the stale chains map, for the conntrack flush; the engine then removes them. */
	if (gone) {
		ret = nft_gc_plan(s, FAM, T, NFT_PM_PFX, "portmap GC", network, keep, nkeep, NULL, &stale,
				  err);
		for (i = 0; !ret && i < stale.n; i++)
			ret = chain_gone(s, stale.v[i], &g);
		nft_names_free(&stale);
		if (ret < 0)
			g.n = 0;
	}
	ret = nft_attach_gc(s, &f.f, network, keep, nkeep, err);
	r = gc_iptables(s, network, keep, nkeep, err);
	ret = ret ? ret : r;
	gone_out(&g, gone, ngone);
	return ret;
}
