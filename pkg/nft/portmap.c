// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hostPort mapping in table inet cnip_hostport (see cni/nft.h for the
 * picture). A packet for the node costs one fib lookup and up to four hash
 * lookups, however many pods map ports; ADD and DEL change one chain and its
 * map elements, so their cost does not grow with the pods either.
 *
 * Ownership lives in the elements: an element's verdict names the chain of
 * the attachment that holds the host port. ADD adds elements without EXCL,
 * which the kernel accepts when the element already leads to our chain and
 * refuses (EBUSY/EEXIST) when it leads to another's: that refusal is the
 * duplicate hostPort, reported with the holder's identity from its chain
 * comment, and nothing of the batch commits. DEL deletes an element only
 * after re-adding it with our verdict in the same batch (the guard), so it
 * never removes another attachment's mapping.
 *
 * The DNAT rule of each mapping carries "hostport PROTO HOSTIP PORT" as its
 * comment: DEL without the mappings finds the elements from there.
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
#include "nft-int.h"

#define T NFT_PM_TABLE
#define FAM NFPROTO_INET
#define PRIO_DSTNAT (-100)
#define PRIO_SRCNAT 100
#define RTN_LOCAL_U32 2u		/* RTN_LOCAL, as fib's addrtype result */
#define REF_TABLE "cni_hostport"	/* the reference's nftables backend, ip and ip6 */
#define IPT_TOP "CNI-HOSTPORT-DNAT"
#define IPT_OLD_TOP "CNI-HOSTPORT-SNAT"

enum tag_kind { TAG_ELEM = 1, TAG_GUARD, TAG_BASE };
#define TAG(kind, i) ((int)(kind) << 20 | (int)(i))
#define TAG_KIND(t) ((t) < 0 ? 0 : (t) >> 20)
#define TAG_IDX(t) ((t) & 0xfffff)

/* nft's concatenated types: each part 6 bits, first part highest. */
#define CONCAT2(a, b) ((a) << 6 | (b))
#define CONCAT3(a, b, c) (((a) << 6 | (b)) << 6 | (c))
#define TYPE_PROTO 12
#define TYPE_SERVICE 13

static const struct nft_map maps[4] = {
	{ FAM, T, NFT_PM_HOSTIP4, CONCAT3(NFT_TYPE_IPADDR, TYPE_PROTO, TYPE_SERVICE), 12, 1, false },
	{ FAM, T, NFT_PM_HOSTPORT4, CONCAT2(TYPE_PROTO, TYPE_SERVICE), 8, 2, false },
	{ FAM, T, NFT_PM_HOSTIP6, CONCAT3(NFT_TYPE_IP6ADDR, TYPE_PROTO, TYPE_SERVICE), 24, 3, false },
	{ FAM, T, NFT_PM_HOSTPORT6, CONCAT2(TYPE_PROTO, TYPE_SERVICE), 8, 4, false },
};
static const struct nft_hook prerouting = { "nat", NF_INET_PRE_ROUTING, PRIO_DSTNAT, false };
static const struct nft_hook output = { "nat", NF_INET_LOCAL_OUT, PRIO_DSTNAT, false };
static const struct nft_hook postrouting = { "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT, false };

/* One mapping for one pod family: an element and the rules behind it. */
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

struct fam {
	uint8_t nfproto;
	uint32_t alen, saddr, daddr;
};

static struct fam fam_of(int family)
{
	if (family == AF_INET)
		return (struct fam){ NFPROTO_IPV4, 4, 12, 16 };
	return (struct fam){ NFPROTO_IPV6, 16, 8, 24 };
}

static bool put_nfproto(struct nftnl_rule *r, const struct fam *f)
{
	return nft_put(r, nft_e_meta(NFT_META_NFPROTO, NFT_REG_1)) &&
	       nft_put(r, nft_e_cmp(NFT_REG_1, NFT_CMP_EQ, &f->nfproto, 1));
}

/* ip saddr/daddr [!=] p (a mask only below the full length). */
static bool put_addr(struct nftnl_rule *r, const struct fam *f, bool dst, const struct cni_prefix *p,
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

static bool put_cond(struct nftnl_rule *r, const struct fam *f, const struct nft_pm_match *c)
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
	struct fam f = fam_of(e->family);
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
	struct fam f = fam_of(e->family);
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
	struct fam f = fam_of(e->family);
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

static int sink_batch(void *ctx, struct nftnl_rule *r, const char *what)
{
	return nft_b_rule_add(ctx, r, what);
}

/* The dispatch rules of chain hostports, i = 0..3 as maps[]. */
static struct nftnl_rule *rule_dispatch(int i)
{
	bool v4 = i < 2, addr = !(i % 2);
	struct fam f = fam_of(v4 ? AF_INET : AF_INET6);
	struct nftnl_rule *r = nft_rule_new(FAM, T, NFT_PM_DISPATCH, NULL);
	unsigned int reg = 0;
	bool ok;

	if (!r)
		return NULL;
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

/* fib daddr type local jump hostports: only what is addressed to the node itself. */
static struct nftnl_rule *rule_local(const char *chain)
{
	static const uint32_t local = RTN_LOCAL_U32;
	struct nftnl_rule *r = nft_rule_new(FAM, T, chain, NULL);

	if (r && nft_put(r, nft_e_fib_daddr_type(NFT_REG_1)) &&
	    nft_put(r, nft_e_cmp(NFT_REG_1, NFT_CMP_EQ, &local, 4)) &&
	    nft_put(r, nft_e_verdict(NFT_JUMP, NFT_PM_DISPATCH)))
		return r;
	nftnl_rule_free(r);
	return NULL;
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

/* ---- shared objects ---- */

/* Table, maps, hostports and the two hooks, each chain created with its rules (EXCL). */
static int b_base(struct nft_batch *b)
{
	int ret = nft_b_table(b, FAM, T);
	size_t i;

	for (i = 0; !ret && i < 4; i++)
		ret = nft_b_map(b, &maps[i]);
	if (!ret)
		ret = nft_b_chain(b, NFT_MSG_NEWCHAIN, FAM, T, NFT_PM_DISPATCH, NULL, NULL,
				  NLM_F_CREATE | NLM_F_EXCL);
	nft_batch_tag(b, TAG(TAG_BASE, 0));
	for (i = 0; !ret && i < 4; i++)
		ret = nft_b_rule_add(b, rule_dispatch((int)i), "vmap dispatch");
	if (!ret)
		ret = nft_b_chain(b, NFT_MSG_NEWCHAIN, FAM, T, NFT_PM_PREROUTING, &prerouting, NULL,
				  NLM_F_CREATE | NLM_F_EXCL);
	nft_batch_tag(b, TAG(TAG_BASE, 1));
	if (!ret)
		ret = nft_b_rule_add(b, rule_local(NFT_PM_PREROUTING), "fib daddr type local");
	if (!ret)
		ret = nft_b_chain(b, NFT_MSG_NEWCHAIN, FAM, T, NFT_PM_OUTPUT, &output, NULL,
				  NLM_F_CREATE | NLM_F_EXCL);
	nft_batch_tag(b, TAG(TAG_BASE, 2));
	if (!ret)
		ret = nft_b_rule_add(b, rule_local(NFT_PM_OUTPUT), "fib daddr type local");
	return ret;
}

static int b_masq(struct nft_batch *b, unsigned int bit)
{
	char name[NFT_NAME_MAX], what[64];
	int ret;

	masq_chain_name(bit, name);
	snprintf(what, sizeof(what), "meta mark & 0x%x masquerade", 1u << bit);
	ret = nft_b_table(b, FAM, T);
	if (!ret)
		ret = nft_b_chain(b, NFT_MSG_NEWCHAIN, FAM, T, name, &postrouting, NULL,
				  NLM_F_CREATE | NLM_F_EXCL);
	nft_batch_tag(b, TAG(TAG_BASE, 3));
	if (!ret)
		ret = nft_b_rule_add(b, rule_masq(name, bit), what);
	return ret;
}

/* ---- the attachment's chain as the kernel holds it ---- */

/* The entries named by the DNAT rules' comments (no container port: DEL needs only keys). */
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

static bool key_in(const struct entry *e, const struct entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].map == e->map && !memcmp(v[i].key, e->key, e->map->key_len))
			return true;
	return false;
}

/* NEWSETELEM key : goto chain, or DELSETELEM key (chain NULL). */
static int b_elem(struct nft_batch *b, const struct entry *e, const char *chain)
{
	return nft_b_elem(b, e->map, e->key, (uint32_t)NFT_GOTO, chain);
}

/* Guarded delete of each key of v not in skip: only an element leading to chain goes. */
static int b_release(struct nft_batch *b, const char *chain, const struct entry *v, size_t n,
		     const struct entry *skip, size_t nskip, const struct entry *keep, size_t nkeep)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < n; i++) {
		if (key_in(&v[i], skip, nskip) || key_in(&v[i], keep, nkeep))
			continue;
		ret = b_elem(b, &v[i], chain);
		nft_batch_tag(b, TAG(TAG_GUARD, i));
		if (!ret)
			ret = b_elem(b, &v[i], NULL);
	}
	return ret;
}

static int add_skip(struct entry **skip, size_t *n, const struct entry *e)
{
	struct entry *v = reallocarray(*skip, *n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[(*n)++] = *e;
	*skip = v;
	return 0;
}

/* "hostPort 8080/tcp on 0.0.0.0 is held by container X (ifname eth0, network N)". */
static int conflict(struct nft_sock *s, const struct entry *e, struct cni_err *err)
{
	struct nft_elems el = { 0 };
	struct nft_chain_info ci = { 0 };
	char a[CNI_IP_STRLEN];
	const char *who = "another attachment";

	if (nft_get_elems(s, e->map, e->key, &el) == 0 && el.n &&
	    nft_chain_get(s, FAM, T, el.v[0].chain, &ci) == 0 && ci.comment[0])
		who = ci.comment;
	if (specific(e))
		cni_ip_format(&e->host_ip, a);
	else
		snprintf(a, sizeof(a), "every local IPv%c address", e->family == AF_INET ? '4' : '6');
	cni_err_set(err, CNI_ERR_EXISTS, -EADDRINUSE,
		    "hostPort %u/%s on %s is already mapped to another pod (%s); the mapping stays with it",
		    e->host_port, nft_pm_proto_name(e->proto), a, who);
	nft_elems_free(&el);
	return -EADDRINUSE;
}

/* ---- ADD ---- */

static int prepare(const struct nft_portmap *pm, char chain[NFT_PM_NAMELEN], struct cni_err *err)
{
	int ret;

	if (!pm || !pm->network || !pm->container_id || !pm->ifname || pm->mark_bit > 31 ||
	    (pm->n && !pm->maps))
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL,
				   "portmap: network, container ID and ifname are required");
	ret = nft_attach_name(NFT_PM_PFX, pm->network, pm->ifname, pm->container_id, chain);
	return ret < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, ret, "portmap") : 0;
}

struct add_state {
	const struct nft_portmap *pm;
	const char *chain;
	struct entry *v;
	size_t n;
	struct entry *skip;		/* old keys another attachment holds now */
	size_t nskip;
};

static int add_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	struct add_state *st = ctx;
	const struct nft_portmap *pm = st->pm;
	char comment[NFTNL_UDATA_COMMENT_MAXLEN], masq[NFT_NAME_MAX];
	struct nft_rules have = { 0 };
	struct entry *old = NULL;
	size_t nold = 0, i, failed = SIZE_MAX;
	struct nft_batch b;
	int ret, base, mq = 0, tag;

	nft_batch_init(&b);
	masq_chain_name(pm->mark_bit, masq);
	/* The masquerade chain is made after the base: when it is there, so is the base. */
	base = pm->snat ? nft_chain_get(s, FAM, T, masq, NULL) : -ENOENT;
	if (base == -ENOENT) {
		mq = pm->snat ? -ENOENT : 0;
		base = nft_chain_get(s, FAM, T, NFT_PM_DISPATCH, NULL);
	}
	if (base < 0 && base != -ENOENT) {
		ret = cni_err_set(err, CNI_ERR_NFT, base, "nftables: looking up table inet %s", T);
		goto out;
	}
	/* A repeated ADD: the elements of mappings it no longer has must go. */
	ret = nft_dump_rules(s, FAM, T, st->chain, &have);
	if (!ret)
		ret = entries_of_rules(&have, &old, &nold);
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s", T, st->chain);
		goto out;
	}
	ret = base == -ENOENT ? b_base(&b) : 0;
	if (!ret && mq == -ENOENT)
		ret = b_masq(&b, pm->mark_bit);
	snprintf(comment, sizeof(comment), "net: %s, if: %s, id: %s", pm->network, pm->ifname,
		 pm->container_id);
	if (!ret)
		ret = nft_b_chain(&b, NFT_MSG_NEWCHAIN, FAM, T, st->chain, NULL, comment, NLM_F_CREATE);
	if (!ret && have.n)
		ret = nft_b_rule_del(&b, FAM, T, st->chain, 0);
	if (!ret)
		ret = b_release(&b, st->chain, old, nold, st->skip, st->nskip, st->v, st->n);
	if (!ret)
		ret = build_rules(pm, st->chain, st->v, st->n, sink_batch, &b);
	for (i = 0; !ret && i < st->n; i++) {
		ret = b_elem(&b, &st->v[i], st->chain);
		nft_batch_tag(&b, TAG(TAG_ELEM, i));
	}
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building portmap batch");
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
	if (ret == 0 || failed == SIZE_MAX)
		goto out;
	tag = b.tag[failed];
	if (TAG_KIND(tag) == TAG_ELEM && (ret == -EBUSY || ret == -EEXIST)) {
		/* Not ours to take: the batch committed nothing, the holder keeps it. */
		cni_err_clear(err);
		ret = conflict(s, &st->v[TAG_IDX(tag)], err);
	} else if (TAG_KIND(tag) == TAG_GUARD && (ret == -EBUSY || ret == -EEXIST)) {
		if (add_skip(&st->skip, &st->nskip, &old[TAG_IDX(tag)]) < 0)
			ret = -ENOMEM;
	}
	/* TAG_BASE EEXIST: another ADD made the base meanwhile; the retry sees it. */
out:
	free(old);
	nft_rules_free(&have);
	nft_batch_release(&b);
	return ret;
}

int nft_portmap_add(const struct nft_portmap *pm, struct cni_err *err)
{
	char chain[NFT_PM_NAMELEN];
	struct add_state st = { pm, chain, NULL, 0, NULL, 0 };
	struct nft_sock s = { 0 };
	size_t i, j;
	int ret;

	ret = prepare(pm, chain, err);
	if (ret < 0)
		return ret;
	ret = entries_of(pm, &st.v, &st.n);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "portmap");
	for (i = 0; i < st.n; i++)
		for (j = 0; j < i; j++)
			if (st.v[i].map == st.v[j].map &&
			    !memcmp(st.v[i].key, st.v[j].key, st.v[i].map->key_len)) {
				char a[CNI_IP_STRLEN];

				ret = cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
						  "portMappings: hostPort %u/%s on %s is mapped twice",
						  st.v[i].host_port, nft_pm_proto_name(st.v[i].proto),
						  cni_ip_format(&st.v[i].host_ip, a));
				goto out;
			}
	ret = nft_sock_open(&s, err);
	if (ret == 0)
		ret = nft_retry(&s, add_once, &st, err);
	nft_sock_close(&s);
out:
	free(st.v);
	free(st.skip);
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

struct del_state {
	const char *chain;
	struct entry *skip;		/* keys another attachment holds */
	size_t nskip;
	struct gone_list *gone;
};

/* Removes our chain and the elements leading to it. */
static int del_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	struct del_state *st = ctx;
	struct nft_rules have = { 0 };
	struct entry *v = NULL;
	size_t n = 0, i, failed = SIZE_MAX;
	struct nft_batch b;
	int ret;

	nft_batch_init(&b);
	ret = nft_chain_get(s, FAM, T, st->chain, NULL);
	if (ret == -ENOENT)
		return 0;	/* no chain, so no element can lead to it */
	if (ret == 0)
		ret = nft_dump_rules(s, FAM, T, st->chain, &have);
	if (!ret)
		ret = entries_of_rules(&have, &v, &n);
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s", T, st->chain);
		goto out;
	}
	ret = b_release(&b, st->chain, v, n, st->skip, st->nskip, NULL, 0);
	if (!ret)
		ret = nft_b_rule_del(&b, FAM, T, st->chain, 0);
	if (!ret)
		ret = nft_b_chain(&b, NFT_MSG_DELCHAIN, FAM, T, st->chain, NULL, NULL, 0);
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building portmap batch");
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
	if ((ret == -EBUSY || ret == -EEXIST) && failed != SIZE_MAX &&
	    TAG_KIND(b.tag[failed]) == TAG_GUARD) {
		if (add_skip(&st->skip, &st->nskip, &v[TAG_IDX(b.tag[failed])]) < 0)
			ret = -ENOMEM;
	}
	for (i = 0; ret == 0 && i < n; i++)
		if (!key_in(&v[i], st->skip, st->nskip) && gone_add(st->gone, &v[i]) < 0)
			ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "portmap");
out:
	free(v);
	nft_rules_free(&have);
	nft_batch_release(&b);
	return ret;
}

static int del_ours(struct nft_sock *s, const char *chain, struct gone_list *gone, struct cni_err *err)
{
	struct del_state st = { chain, NULL, 0, gone };
	int ret = nft_retry(s, del_once, &st, err);

	free(st.skip);
	return ret;
}

/* The reference iptables backend's chain: "CNI-" pfx + hex of sha512(network + cid), 28 bytes. */
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

static void gone_out(struct gone_list *g, struct nft_pm_gone **gone, size_t *ngone)
{
	if (gone) {
		*gone = g->v;
		*ngone = g->n;
		g->v = NULL;
	}
	free(g->v);
}

int nft_portmap_del(const struct nft_portmap *pm, struct nft_pm_gone **gone, size_t *ngone,
		    struct cni_err *err)
{
	char chain[NFT_PM_NAMELEN];
	struct gone_list g = { 0 };
	struct nft_sock s = { 0 };
	int ret, r;

	ret = prepare(pm, chain, err);
	if (ret < 0)
		return ret;
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;
	ret = del_ours(&s, chain, &g, err);
	r = del_reference(&s, pm->network, pm->container_id, err);
	ret = ret ? ret : r;
	nft_sock_close(&s);
	gone_out(&g, gone, ngone);
	return ret;
}

/* ---- CHECK ---- */

struct cmp_state {
	const struct nft_rules *have;
	size_t i;
	int same;			/* 1 while equal, 0 different, -errno */
};

static int sink_compare(void *ctx, struct nftnl_rule *r, const char *what)
{
	struct cmp_state *c = ctx;

	if (!r)
		return -ENOMEM;
	if (c->same <= 0 || c->i >= c->have->n) {
		nftnl_rule_free(r);
		c->same = c->same < 0 ? c->same : 0;
		c->i++;
		return 0;
	}
	c->same = nft_rule_same(r, c->have->v[c->i++], true);
	return 0;
}

/* The rules of chain equal the n built by make(i) (or by build_rules when make is NULL). */
static int check_chain(struct nft_sock *s, const char *chain,
		       struct nftnl_rule *(*make)(int, unsigned int), int n, const struct nft_portmap *pm, const struct entry *v, size_t nv,
		       struct cni_err *err)
{
	struct nft_rules have = { 0 };
	struct cmp_state c = { &have, 0, 1 };
	int ret, i;

	ret = nft_chain_get(s, FAM, T, chain, NULL);
	if (ret == 0)
		ret = nft_dump_rules(s, FAM, T, chain, &have);
	if (ret == -ENOENT)
		return cni_err_set(err, CNI_ERR_CHECK, ret, "portmap: chain inet %s %s missing", T, chain);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain inet %s %s", T, chain);
	if (make) {
		for (i = 0; i < n && c.same > 0; i++)
			ret = sink_compare(&c, make(i, pm ? pm->mark_bit : 0), NULL);
	} else {
		ret = build_rules(pm, chain, v, nv, sink_compare, &c);
	}
	if (ret < 0 || c.same < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, ret < 0 ? ret : c.same, "portmap");
	else if (!c.same || c.i != have.n)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "portmap: chain inet %s %s has %zu rules, not the %zu expected (or they differ)",
				  T, chain, have.n, c.i);
	nft_rules_free(&have);
	return ret;
}

static struct nftnl_rule *make_dispatch(int i, unsigned int bit)
{
	return rule_dispatch(i);
}

static struct nftnl_rule *make_pre(int i, unsigned int bit)
{
	return rule_local(NFT_PM_PREROUTING);
}

static struct nftnl_rule *make_out(int i, unsigned int bit)
{
	return rule_local(NFT_PM_OUTPUT);
}

static struct nftnl_rule *make_masq(int i, unsigned int bit)
{
	char name[NFT_NAME_MAX];

	masq_chain_name(bit, name);
	return rule_masq(name, bit);
}

int nft_portmap_check(const struct nft_portmap *pm, struct cni_err *err)
{
	char chain[NFT_PM_NAMELEN], masq[NFT_NAME_MAX], a[CNI_IP_STRLEN];
	struct nft_elems el = { 0 };
	struct nft_sock s = { 0 };
	struct entry *v = NULL;
	size_t n = 0, i;
	int ret;

	ret = prepare(pm, chain, err);
	if (ret < 0)
		return ret;
	ret = entries_of(pm, &v, &n);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "portmap");
	if (n == 0)
		goto out;
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		goto out;
	ret = check_chain(&s, NFT_PM_DISPATCH, make_dispatch, 4, pm, NULL, 0, err);
	if (!ret)
		ret = check_chain(&s, NFT_PM_PREROUTING, make_pre, 1, pm, NULL, 0, err);
	if (!ret)
		ret = check_chain(&s, NFT_PM_OUTPUT, make_out, 1, pm, NULL, 0, err);
	if (!ret && pm->snat) {
		masq_chain_name(pm->mark_bit, masq);
		ret = check_chain(&s, masq, make_masq, 1, pm, NULL, 0, err);
	}
	if (!ret)
		ret = check_chain(&s, chain, NULL, 0, pm, v, n, err);
	for (i = 0; !ret && i < n; i++) {
		ret = nft_get_elems(&s, v[i].map, v[i].key, &el);
		if (ret < 0)
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading map inet %s %s", T,
				    v[i].map->name);
		else if (!el.n || !nft_elem_leads_to(&el.v[0], chain))
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "portmap: hostPort %u/%s on %s leads %s%s, not to chain %s",
					  v[i].host_port, nft_pm_proto_name(v[i].proto),
					  cni_ip_format(&v[i].host_ip, a), el.n ? "to chain " : "nowhere",
					  el.n ? el.v[0].chain : "", chain);
		nft_elems_free(&el);
	}
	nft_sock_close(&s);
out:
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
static int gc_iptables(struct nft_sock *s, const char *network, const struct nft_attach *keep,
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

int nft_portmap_gc(const char *network, const struct nft_attach *keep, size_t nkeep,
		   struct nft_pm_gone **gone, size_t *ngone, struct cni_err *err)
{
	struct nft_names stale = { 0 };
	struct gone_list g = { 0 };
	struct nft_sock s = { 0 };
	size_t i;
	int ret, r;

	if (!network)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "portmap GC: network required");
	ret = nft_sock_open(&s, err);
	if (ret < 0)
		return ret;
	ret = nft_gc_plan(&s, FAM, T, NFT_PM_PFX, "portmap GC", network, keep, nkeep, NULL, &stale, err);
	for (i = 0; i < stale.n; i++) {
		r = del_ours(&s, stale.v[i], &g, err);
		ret = ret ? ret : r;
	}
	r = gc_iptables(&s, network, keep, nkeep, err);
	ret = ret ? ret : r;
	nft_sock_close(&s);
	nft_names_free(&stale);
	gone_out(&g, gone, ngone);
	return ret;
}
