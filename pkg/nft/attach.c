// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The attachment engine: ADD, DEL, CHECK and GC of one feature's nftables
 * objects for one attachment (network, container ID, ifname), whatever the
 * feature. How a feature plugs in (see struct nft_feature in nft-int.h):
 *
 *   - its table and family, its maps (verdict maps whose elements lead to
 *     attachment chains), its base chains with their hooks and fixed rules;
 *   - the prefix of its attachment chains, named pfx H(network) "-"
 *     H(ifname ":" cid) and commented with network, ifname and container ID;
 *   - builders: the rules of an attachment's chain and the element keys that
 *     lead to it, both from the feature's own spec (addresses, a MAC, port
 *     mappings); optionally the key a rule of that chain serves (from its
 *     comment), so DEL finds the elements without the spec;
 *   - policies: stateless (ADD reads nothing, flushes and refills: the keys
 *     of an attachment never change) or not (ADD reads the chain, releases
 *     keys it no longer has); exclusive (an element leading elsewhere fails
 *     ADD naming its owner) or not (it is taken over: the owner is stale);
 *   - hooks for what other implementations left (the reference plugins).
 *
 * Every change is one nftables transaction. Kernel 6.1 (Debian 12) has no
 * DESTROY messages, so two dances stand in for them. A guarded delete:
 * the batch first re-adds the element leading to our chain (no EXCL), which
 * the kernel accepts when it already does (or is absent) and refuses with
 * EBUSY (EEXIST on newer kernels) when it leads elsewhere, failing the whole
 * batch; the retry leaves that element alone. A takeover: the same refusal
 * on ADD makes the retry delete the element before adding it. Races between
 * invocations end in EBUSY/EEXIST/ENOENT and a bounded retry (nft_retry).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>

#include "attach.h"

enum tag_kind { TAG_ELEM = 1, TAG_TAKEOVER, TAG_GUARD, TAG_CHAIN, TAG_LAZY };
#define TAG(kind, i) ((int)(kind) << 20 | (int)(i))
#define TAG_KIND(t) ((t) < 0 ? 0 : (t) >> 20)
#define TAG_IDX(t) ((t) & 0xfffff)

int nft_open(struct nft_sock **out, struct cni_err *err)
{
	struct nft_sock *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "nftables socket");
	ret = nft_sock_open(s, err);
	if (ret < 0) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void nft_close(struct nft_sock *s)
{
	if (!s)
		return;
	nft_sock_close(s);
	free(s);
}

/* ---- keys ---- */

void nft_keys_free(struct nft_keys *ks)
{
	if (!ks)
		return;
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

bool nft_keys_have(const struct nft_keys *ks, const struct nft_key *k)
{
	size_t i;

	for (i = 0; ks && i < ks->n; i++)
		if (ks->v[i].map == k->map && !memcmp(ks->v[i].data, k->data, sizeof(k->data)))
			return true;
	return false;
}

int nft_keys_add(struct nft_keys *ks, const struct nft_key *k)
{
	if (nft_keys_have(ks, k))
		return 0;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 8;
		struct nft_key *v = reallocarray(ks->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		ks->v = v;
		ks->cap = cap;
	}
	ks->v[ks->n++] = *k;
	return 0;
}

/* ---- names and arguments ---- */

struct nft_att {
	const struct nft_feature *f;
	const struct nft_attach *a;	/* NULL for GC's stale chains */
	char chain[NFT_NAME_MAX];
	const void *spec;		/* the feature's, NULL on DEL without it */
};

int nft_attach_check_id(const struct nft_feature *f, const struct nft_attach *a, struct cni_err *err)
{
	if (!a || !a->network || !a->container_id || !a->ifname)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL,
				   "%s: network, container ID and ifname are required", f->what);
	return 0;
}

static int att_init(struct nft_att *t, const struct nft_feature *f, const struct nft_attach *a,
		    const void *spec, struct cni_err *err)
{
	int ret = nft_attach_check_id(f, a, err);

	if (ret < 0)
		return ret;
	t->f = f;
	t->a = a;
	t->spec = spec;
	ret = nft_attach_name(f->pfx, a->network, a->ifname, a->container_id, t->chain);
	return ret < 0 ? cni_err_set(err, CNI_ERR_INTERNAL, ret, "%s", f->what) : 0;
}

static const char *fam(const struct nft_feature *f)
{
	return nft_family_name(f->family);
}

/* The attachment's rules, built afresh (nft_rule_same consumes what it compares). */
static int build_rules(const struct nft_att *t, struct nft_built *v, size_t *n)
{
	int ret = t->f->rules(t->chain, t->spec, v, NFT_RULES_MAX);

	if (ret < 0)
		return ret;
	*n = (size_t)ret;
	return 0;
}

static void built_free(struct nft_built *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].r)
			nftnl_rule_free(v[i].r);
}

/* 1 if have holds exactly the attachment's rules, 0 if not; *bad: the first that differs. */
static int rules_match(const struct nft_att *t, const struct nft_rules *have, size_t *bad)
{
	struct nft_built *want = calloc(NFT_RULES_MAX, sizeof(*want));
	size_t n = 0, i = 0;
	int ret = want ? build_rules(t, want, &n) : -ENOMEM, same = 1;

	if (ret < 0) {
		free(want);
		return ret;
	}
	for (i = 0; same > 0 && i < n; i++) {
		if (i >= have->n) {
			same = 0;
			break;
		}
		same = nft_rule_same(want[i].r, have->v[i], t->f->rule_comments);
		want[i].r = NULL;
	}
	built_free(want, n);
	free(want);
	if (same > 0 && have->n != n)
		same = 0;
	*bad = i;
	return same;
}

/* The keys the rules of an attachment chain serve (features that record them). */
static int rule_keys(const struct nft_feature *f, const struct nft_rules *have, struct nft_keys *out)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && f->rule_keys && i < have->n; i++)
		ret = f->rule_keys(have->v[i], out);
	return ret;
}

static int b_elem(struct nft_batch *b, const struct nft_feature *f, const struct nft_key *k,
		  const char *chain)
{
	return nft_b_elem(b, &f->maps[k->map], k->data, f->verdict, chain);
}

/* Re-add leading to chain, then delete: refused as a whole if it leads elsewhere. */
static int b_guarded_del(struct nft_batch *b, const struct nft_feature *f, const struct nft_key *k,
			 const char *chain, size_t idx)
{
	int ret = b_elem(b, f, k, chain);

	nft_batch_tag(b, TAG(TAG_GUARD, idx));
	return ret ? ret : b_elem(b, f, k, NULL);
}

int nft_b_base_rules(struct nft_batch *b, const struct nft_feature *f, const struct nft_base *bc,
		     bool flush)
{
	int ret = flush ? nft_b_rule_del(b, f->family, f->table, bc->name, 0) : 0;
	size_t j;

	for (j = 0; !ret && j < bc->nrules; j++) {
		char what[NFT_WHAT_MAX] = "";
		struct nftnl_rule *r = bc->rule(j, bc->arg, what);

		ret = nft_b_rule_add(b, r, what);
	}
	return ret;
}

/* Table, maps, base chains: created (EXCL unless stateless) where missing, and their fixed rules. */
static int b_base(struct nft_batch *b, const struct nft_feature *f, const bool *missing)
{
	int ret = nft_b_table(b, f->family, f->table);
	size_t i;

	for (i = 0; !ret && i < f->nmaps; i++)
		if (!f->maps[i].lazy)
			ret = nft_b_map(b, &f->maps[i]);
	for (i = 0; !ret && i < f->nbases; i++) {
		const struct nft_base *bc = &f->bases[i];

		if (!f->stateless && !missing[i])
			continue;
		/* EXCL: a concurrent ADD that made it first makes us retry, not duplicate rules. */
		ret = nft_b_chain(b, NFT_MSG_NEWCHAIN, f->family, f->table, bc->name, &bc->hook, NULL,
				  NLM_F_CREATE | (f->stateless ? 0 : NLM_F_EXCL));
		/* Stateless: refilled in every ADD, exactly its rules whatever was there. */
		if (!ret)
			ret = nft_b_base_rules(b, f, bc, f->stateless);
	}
	return ret;
}

/*
 * The lazy maps the keys need and the kernel lacks, each with its rule first
 * in bases[0]. The map goes in with EXCL: an ADD that made it first fails
 * this batch with EEXIST and the retry finds it.
 */
static int b_lazy(struct nft_sock *s, struct nft_batch *b, const struct nft_feature *f,
		  const struct nft_keys *keys)
{
	size_t i, j;
	int ret = 0;

	for (i = 0; !ret && i < keys->n; i++) {
		const struct nft_map *m = &f->maps[keys->v[i].map];
		char what[NFT_WHAT_MAX] = "";
		bool seen = false;

		for (j = 0; j < i; j++)
			seen |= keys->v[j].map == keys->v[i].map;
		if (!m->lazy || seen)
			continue;
		ret = nft_map_get(s, m, NULL);
		if (ret != -ENOENT)
			continue;
		ret = nft_b_map(b, m);
		nft_batch_tag(b, TAG(TAG_LAZY, i));
		if (!ret)
			ret = nft_b_rule_insert(b, f->lazy_rule(m, what), what);
	}
	return ret;
}

static int b_rules(struct nft_batch *b, const struct nft_att *t)
{
	struct nft_built *v = calloc(NFT_RULES_MAX, sizeof(*v));
	size_t n = 0, i;
	int ret = v ? build_rules(t, v, &n) : -ENOMEM;

	for (i = 0; !ret && i < n; i++) {
		ret = nft_b_rule_add(b, v[i].r, v[i].what);
		v[i].r = NULL;
	}
	if (v)
		built_free(v, n);
	free(v);
	return ret;
}

/* ---- ADD ---- */

struct add_state {
	struct nft_att t;
	struct nft_keys keys;		/* what the attachment's elements are */
	bool *takeover;			/* per key: delete the element first (owned elsewhere) */
	struct nft_keys skip;		/* old keys of ours now owned elsewhere */
};

/* exclusive: who holds the element of k, as an error. */
static int refuse_owned(struct nft_sock *s, const struct nft_att *t, const struct nft_key *k,
			struct cni_err *err)
{
	const struct nft_map *m = &t->f->maps[k->map];
	struct nft_elems el = { 0 };
	char key[NFT_WHAT_MAX];
	int ret;

	struct nft_chain_info ci = { 0 };

	nft_key_text(m, k->data, key, sizeof(key));
	ret = nft_get_elems(s, m, k->data, &el);
	/* The holder's chain comment names its network, ifname and container ID. */
	if (ret == 0 && el.n)
		ret = nft_chain_get(s, t->f->family, t->f->table, el.v[0].chain, &ci);
	/* EADDRINUSE: not one nft_retry() repeats. */
	ret = cni_err_set(err, t->f->owned_code ? t->f->owned_code : CNI_ERR_NFT, -EADDRINUSE,
			  "%s: %s is already held by another attachment (%s); it keeps it", t->f->what,
			  key, ret == 0 && ci.comment[0] ? ci.comment : el.n ? el.v[0].chain : "?");
	nft_elems_free(&el);
	return ret;
}

static int add_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	struct add_state *st = ctx;
	const struct nft_feature *f = st->t.f;
	bool missing[NFT_BASES_MAX] = { 0 };
	char comment[NFTNL_UDATA_COMMENT_MAXLEN + 1];
	struct nft_rules have = { 0 };
	struct nft_keys old = { 0 };
	struct nft_batch b;
	int ret = 0, xe = -ENOENT, match = 0, tag;
	size_t i, bad, failed = SIZE_MAX;

	nft_batch_init(&b);
	for (i = 0; !f->stateless && !ret && i < f->nbases; i++) {
		ret = nft_chain_get(s, f->family, f->table, f->bases[i].name, NULL);
		missing[i] = ret == -ENOENT;
		if (ret == -ENOENT)
			ret = 0;
	}
	if (!f->stateless && !ret)
		xe = nft_chain_get(s, f->family, f->table, st->t.chain, NULL);
	if (ret < 0 || (xe < 0 && xe != -ENOENT)) {
		ret = cni_err_set(err, CNI_ERR_NFT, ret < 0 ? ret : xe,
				  "nftables: looking up chain %s %s %s", fam(f), f->table, st->t.chain);
		goto out;
	}
	if (xe == 0) {
		ret = nft_dump_rules(s, f->family, f->table, st->t.chain, &have);
		if (!ret)
			ret = rules_match(&st->t, &have, &bad);
		if (ret < 0) {
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain %s %s %s", fam(f),
				    f->table, st->t.chain);
			goto out;
		}
		match = ret;
	}
	ret = b_base(&b, f, missing);
	if (!ret && f->lazy_rule) {
		ret = b_lazy(s, &b, f, &st->keys);
		if (ret < 0 && ret != -ENOMEM) {
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: looking up the maps of %s %s",
				    fam(f), f->table);
			goto out;
		}
	}
	snprintf(comment, sizeof(comment), "net: %s, if: %s, id: %s", st->t.a->network,
		 st->t.a->ifname, st->t.a->container_id);
	if (!ret && xe == -ENOENT) {
		ret = nft_b_chain(&b, NFT_MSG_NEWCHAIN, f->family, f->table, st->t.chain, NULL, comment,
				  NLM_F_CREATE | (f->stateless ? 0 : NLM_F_EXCL));
		nft_batch_tag(&b, TAG(TAG_CHAIN, 0));
	}
	/* Keys the chain served and no longer does are released, if still ours. */
	if (!ret && xe == 0 && !match)
		ret = rule_keys(f, &have, &old);
	for (i = 0; !ret && i < old.n; i++)
		if (!nft_keys_have(&st->keys, &old.v[i]) && !nft_keys_have(&st->skip, &old.v[i]))
			ret = b_guarded_del(&b, f, &old.v[i], st->t.chain, i);
	if (!ret && (f->stateless || (xe == 0 && !match)))
		ret = nft_b_rule_del(&b, f->family, f->table, st->t.chain, 0);
	if (!ret && (f->stateless || !match))
		ret = b_rules(&b, &st->t);
	for (i = 0; !ret && i < st->keys.n; i++) {
		if (st->takeover[i]) {
			ret = b_elem(&b, f, &st->keys.v[i], NULL);
			nft_batch_tag(&b, TAG(TAG_TAKEOVER, i));
		}
		if (!ret) {
			ret = b_elem(&b, f, &st->keys.v[i], st->t.chain);
			nft_batch_tag(&b, TAG(TAG_ELEM, i));
		}
	}
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building %s batch", f->what);
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
	if (ret == 0 || failed == SIZE_MAX)
		goto out;
	/* Lost a race or met an element owned elsewhere: adjust for the next attempt. */
	tag = b.tag[failed];
	if (TAG_KIND(tag) == TAG_GUARD && (ret == -EBUSY || ret == -EEXIST)) {
		if (nft_keys_add(&st->skip, &old.v[TAG_IDX(tag)]) < 0)
			ret = -ENOMEM;
	} else if (TAG_KIND(tag) == TAG_ELEM && (ret == -EBUSY || ret == -EEXIST)) {
		if (f->exclusive) {
			/* Not ours to take: fail for good, naming the holder. */
			cni_err_clear(err);
			ret = refuse_owned(s, &st->t, &st->keys.v[TAG_IDX(tag)], err);
		} else {
			st->takeover[TAG_IDX(tag)] = true;
		}
	} else if (TAG_KIND(tag) == TAG_TAKEOVER && ret == -ENOENT) {
		st->takeover[TAG_IDX(tag)] = false;
	}
out:
	nft_keys_free(&old);
	nft_rules_free(&have);
	nft_batch_release(&b);
	return ret;
}

int nft_attach_add(struct nft_sock *s, const struct nft_feature *f, const struct nft_attach *a,
		   const void *spec, struct cni_err *err)
{
	struct add_state st = { 0 };
	int ret;

	ret = att_init(&st.t, f, a, spec, err);
	if (ret < 0)
		return ret;
	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "%s: no nftables socket", f->what);
	ret = f->keys(spec, &st.keys);
	if (!ret && !(st.takeover = calloc(st.keys.n + 1, sizeof(*st.takeover))))
		ret = -ENOMEM;
	if (ret < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, ret, "%s", f->what);
	else
		ret = nft_retry(s, add_once, &st, err);
	nft_keys_free(&st.keys);
	nft_keys_free(&st.skip);
	free(st.takeover);
	return ret;
}

/* ---- DEL ---- */

struct del_state {
	const struct nft_att *t;
	const struct nft_keys *hint;	/* keys expected to lead to the chain, or NULL */
	const struct nft_elems *listing; /* a fresh listing of every map to use first, or NULL */
	struct nft_elems own;		/* our own listing */
	struct nft_keys skip;		/* keys whose element leads elsewhere */
	bool listed;			/* find the elements by listing the maps */
};

/* Every element of the feature's maps, with its map index in klen's high byte. */
static int list_maps(struct nft_sock *s, const struct nft_feature *f, struct nft_elems *out)
{
	struct nft_elems one = { 0 };
	size_t i, j;
	int ret = 0;

	nft_elems_free(out);
	for (i = 0; !ret && i < f->nmaps; i++) {
		ret = nft_get_elems(s, &f->maps[i], NULL, &one);
		for (j = 0; !ret && j < one.n; j++) {
			one.v[j].map = (uint8_t)i;
			ret = nft_elems_push(out, &one.v[j]);
		}
		nft_elems_free(&one);
	}
	return ret;
}

/* Removes the attachment chain and the elements leading to it, in one batch. */
static int del_once(struct nft_sock *s, void *ctx, struct cni_err *err)
{
	struct del_state *st = ctx;
	const struct nft_feature *f = st->t->f;
	const char *chain = st->t->chain;
	const struct nft_elems *es = st->listing ? st->listing : &st->own;
	struct nft_rules have = { 0 };
	struct nft_keys keys = { 0 };
	size_t failed = SIZE_MAX, i;
	struct nft_batch b;
	int ret;

	nft_batch_init(&b);
	ret = nft_chain_get(s, f->family, f->table, chain, NULL);
	if (ret == -ENOENT)
		return 0;	/* no chain, so no element can lead to it: nothing of ours is left */
	if (ret == 0 && st->listed && !st->listing)
		ret = list_maps(s, f, &st->own);
	if (ret == 0 && !st->listed && f->rule_keys)
		ret = nft_dump_rules(s, f->family, f->table, chain, &have);
	if (ret < 0) {
		ret = cni_err_set(err, CNI_ERR_NFT, ret, "nftables: looking up chain %s %s %s", fam(f),
				  f->table, chain);
		goto out;
	}
	st->listing = NULL;	/* used once: a retry lists afresh */
	for (i = 0; st->listed && !ret && i < es->n; i++) {
		struct nft_key k = { .map = es->v[i].map };

		if (!nft_elem_leads_to(&es->v[i], chain))
			continue;
		memcpy(k.data, es->v[i].key, es->v[i].klen);
		ret = nft_keys_add(&keys, &k);
	}
	/*
	 * The spec's keys are a guess (a pod's address may read back with another
	 * prefix length); a lazy map's key names the map, which may not exist, so
	 * those come only from the chain's rules, which say what ADD made.
	 */
	for (i = 0; !st->listed && !ret && st->hint && i < st->hint->n; i++)
		if (!f->maps[st->hint->v[i].map].lazy || !f->rule_keys)
			ret = nft_keys_add(&keys, &st->hint->v[i]);
	if (!ret && !st->listed)
		ret = rule_keys(f, &have, &keys);
	for (i = 0; !ret && i < keys.n; i++)
		if (!nft_keys_have(&st->skip, &keys.v[i]))
			ret = b_guarded_del(&b, f, &keys.v[i], chain, i);
	if (!ret)
		ret = nft_b_rule_del(&b, f->family, f->table, chain, 0);
	if (!ret) {
		ret = nft_b_chain(&b, NFT_MSG_DELCHAIN, f->family, f->table, chain, NULL, NULL, 0);
		nft_batch_tag(&b, TAG(TAG_CHAIN, 0));
	}
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables: building %s batch", f->what);
		goto out;
	}
	ret = nft_sock_batch(s, &b, &failed, err);
	if ((ret != -EBUSY && ret != -EEXIST) || failed == SIZE_MAX)
		goto out;
	/* The guard failed: another chain owns that key now; leave its element alone. */
	if (TAG_KIND(b.tag[failed]) == TAG_GUARD && nft_keys_add(&st->skip, &keys.v[TAG_IDX(b.tag[failed])]) < 0)
		ret = -ENOMEM;
	/* Something we did not know of still leads to the chain: list the maps. */
	if (TAG_KIND(b.tag[failed]) == TAG_CHAIN)
		st->listed = true;
out:
	nft_keys_free(&keys);
	nft_rules_free(&have);
	nft_batch_release(&b);
	return ret;
}

static int del_chain(struct nft_sock *s, const struct nft_att *t, const struct nft_keys *hint,
		     const struct nft_elems *listing, struct cni_err *err)
{
	struct del_state st = { t, hint, listing, { 0 }, { 0 }, false };
	int ret;

	/* Nothing tells which elements lead to the chain: list the maps from the start. */
	st.listed = listing || (!t->f->rule_keys && (!hint || !hint->n));
	ret = nft_retry(s, del_once, &st, err);
	nft_elems_free(&st.own);
	nft_keys_free(&st.skip);
	return ret;
}

int nft_attach_del(struct nft_sock *s, const struct nft_feature *f, const struct nft_attach *a,
		   const void *spec, struct cni_err *err)
{
	struct nft_att t;
	struct nft_keys hint = { 0 };
	int ret, r;

	ret = att_init(&t, f, a, spec, err);
	if (ret < 0)
		return ret;
	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "%s: no nftables socket", f->what);
	if (spec) {
		ret = f->keys(spec, &hint);
		if (ret < 0) {
			nft_keys_free(&hint);
			return cni_err_set(err, CNI_ERR_INTERNAL, ret, "%s", f->what);
		}
	}
	ret = del_chain(s, &t, &hint, NULL, err);
	nft_keys_free(&hint);
	if (f->del_legacy) {
		r = f->del_legacy(s, a, err);
		ret = ret ? ret : r;
	}
	return ret;
}

/* ---- CHECK ---- */

/* The set rule r looks up into buf ("" if none). */
static void rule_set(const struct nftnl_rule *r, char *buf, size_t size)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;

	buf[0] = '\0';
	while (it && !buf[0] && (e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		if (name && !strcmp(name, "lookup") && nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_SET))
			snprintf(buf, size, "%s", nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
	}
	if (it)
		nftnl_expr_iter_destroy(it);
}

/* 1 if r is the rule of one of f's lazy maps (lazy[i] set for it), 0 if not, -ENOMEM. */
static int lazy_match(const struct nft_feature *f, const struct nftnl_rule *r, bool *lazy)
{
	char set[NFT_NAME_MAX], what[NFT_WHAT_MAX];
	size_t i;
	int same;

	rule_set(r, set, sizeof(set));
	for (i = 0; set[0] && i < f->nmaps; i++) {
		if (!f->maps[i].lazy || strcmp(f->maps[i].name, set))
			continue;
		same = nft_rule_same(f->lazy_rule(&f->maps[i], what), r, false);
		if (same > 0)
			lazy[i] = true;
		return same;
	}
	return 0;
}

/*
 * The base chain: its hook, its fixed rules last, and before them (bases[0]
 * only) nothing but the rules of lazy maps; lazy[i] set for each one found.
 */
static int check_base(struct nft_sock *s, const struct nft_feature *f, const struct nft_base *bc,
		      bool *lazy, struct cni_err *err)
{
	struct nft_rules have = { 0 };
	struct nft_chain_info ci;
	size_t i, lead = 0;
	int ret, same = 1;

	ret = nft_chain_get(s, f->family, f->table, bc->name, &ci);
	if (ret == -ENOENT)
		return cni_err_set(err, CNI_ERR_CHECK, ret, "%s: chain %s %s %s missing", f->what, fam(f),
				   f->table, bc->name);
	if (ret == 0 && (!ci.base || ci.hooknum != bc->hook.hooknum || ci.prio != bc->hook.prio ||
			 strcmp(ci.type, bc->hook.type)))
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				   "%s: chain %s %s %s is not a %s base chain at hook %u priority %d",
				   f->what, fam(f), f->table, bc->name, bc->hook.type, bc->hook.hooknum,
				   bc->hook.prio);
	if (ret == 0)
		ret = nft_dump_rules(s, f->family, f->table, bc->name, &have);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain %s %s %s", fam(f),
				   f->table, bc->name);
	if (lazy && have.n > bc->nrules)
		lead = have.n - bc->nrules;
	for (i = 0; same > 0 && i < lead; i++)
		same = lazy_match(f, have.v[i], lazy);
	/* Comments are not compared: rules written by earlier versions may carry one. */
	for (i = 0; same > 0 && i < bc->nrules && lead + i < have.n; i++) {
		char what[NFT_WHAT_MAX];

		same = nft_rule_same(bc->rule(i, bc->arg, what), have.v[lead + i], false);
	}
	if (same < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, same, "%s", f->what);
	else if (!same || have.n != lead + bc->nrules)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "%s: chain %s %s %s does not hold just its %zu rules%s (has %zu)",
				  f->what, fam(f), f->table, bc->name, bc->nrules,
				  lazy ? " and those of its maps" : "", have.n);
	nft_rules_free(&have);
	return ret;
}

static int check_attachment(struct nft_sock *s, const struct nft_att *t, struct cni_err *err)
{
	const struct nft_feature *f = t->f;
	struct nft_rules have = { 0 };
	char spec[NFT_WHAT_MAX * 2];
	size_t bad;
	int ret, match;

	ret = nft_chain_get(s, f->family, f->table, t->chain, NULL);
	if (ret == -ENOENT)
		return cni_err_set(err, CNI_ERR_CHECK, ret, "%s: chain %s %s %s for %s/%s missing", f->what,
				   fam(f), f->table, t->chain, t->a->container_id, t->a->ifname);
	if (ret == 0)
		ret = nft_dump_rules(s, f->family, f->table, t->chain, &have);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "nftables: listing chain %s %s %s", fam(f),
				   f->table, t->chain);
	match = rules_match(t, &have, &bad);
	f->describe(t->spec, spec, sizeof(spec));
	if (match < 0)
		ret = cni_err_set(err, CNI_ERR_INTERNAL, match, "%s", f->what);
	else if (!match)
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
				  "%s: chain %s %s %s does not hold just the rules for %s "
				  "(rule %zu differs; %zu rules)", f->what, fam(f), f->table, t->chain, spec,
				  bad, have.n);
	nft_rules_free(&have);
	return ret;
}

/* Each key's element leads to the chain (names it, in an owner map); a lazy map has its rule. */
static int check_elems(struct nft_sock *s, const struct nft_att *t, const struct nft_keys *keys,
		       const bool *lazy, struct cni_err *err)
{
	const struct nft_feature *f = t->f;
	struct nft_elems el = { 0 };
	char k[NFT_WHAT_MAX];
	int ret = 0;
	size_t i;

	for (i = 0; !ret && i < keys->n; i++) {
		const struct nft_map *m = &f->maps[keys->v[i].map];

		ret = nft_get_elems(s, m, keys->v[i].data, &el);
		nft_key_text(m, keys->v[i].data, k, sizeof(k));
		if (ret < 0)
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading map %s %s %s", fam(f),
				    f->table, m->name);
		else if (m->owner && (el.n != 1 || !nft_elem_leads_to(&el.v[0], t->chain)))
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "%s: map %s %s %s holds %s %s%s", f->what, fam(f),
					  f->table, m->name, k, el.n ? "for owner " : "for nobody",
					  el.n ? el.v[0].chain : "");
		else if (m->lazy && !lazy[keys->v[i].map])
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT,
					  "%s: chain %s %s %s does not look up map %s", f->what,
					  fam(f), f->table, f->bases[0].name, m->name);
		else if (!m->owner && (el.n != 1 || el.v[0].verdict != f->verdict ||
					strcmp(el.v[0].chain, t->chain)))
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "%s: map %s %s %s sends %s %s%s",
					  f->what, fam(f), f->table, m->name, k,
					  el.n ? "to chain " : "nowhere", el.n ? el.v[0].chain : "");
		nft_elems_free(&el);
	}
	return ret;
}

int nft_attach_check(struct nft_sock *s, const struct nft_feature *f,
			   const struct nft_attach *a, const void *spec, struct cni_err *err)
{
	struct nft_keys keys = { 0 };
	struct nft_att t;
	bool *lazy;
	size_t i;
	int ret;

	ret = att_init(&t, f, a, spec, err);
	if (ret < 0)
		return ret;
	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "%s: no nftables socket", f->what);
	lazy = calloc(f->nmaps + 1, sizeof(*lazy));
	if (!lazy)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "%s", f->what);
	for (i = 0; !ret && i < f->nbases; i++)
		ret = check_base(s, f, &f->bases[i], i == 0 && f->lazy_rule ? lazy : NULL, err);
	if (!ret)
		ret = check_attachment(s, &t, err);
	if (!ret) {
		ret = f->keys(spec, &keys);
		if (ret < 0)
			cni_err_set(err, CNI_ERR_INTERNAL, ret, "%s", f->what);
	}
	if (!ret)
		ret = check_elems(s, &t, &keys, lazy, err);
	nft_keys_free(&keys);
	free(lazy);
	return ret;
}

/* ---- GC ---- */

int nft_attach_gc(struct nft_sock *s, const struct nft_feature *f, const char *network,
		  const struct cni_attachment *keep, size_t n, struct cni_err *err)
{
	struct nft_names kept = { 0 }, stale = { 0 };
	struct nft_elems listing = { 0 };
	char what[64];
	int ret, r;
	size_t i;

	if (!network)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "%s GC: network required", f->what);
	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "%s: no nftables socket", f->what);
	snprintf(what, sizeof(what), "%s GC", f->what);
	ret = nft_gc_plan(s, f->family, f->table, f->pfx, what, network, keep, n, &kept, &stale, err);
	/* Features that record no keys in their rules: the maps are listed once, if anything is stale. */
	if (ret == 0 && stale.n && !f->rule_keys) {
		ret = list_maps(s, f, &listing);
		if (ret < 0)
			cni_err_set(err, CNI_ERR_NFT, ret, "nftables: reading table %s %s", fam(f), f->table);
	}
	if (ret < 0)
		goto out;
	/* One transaction per attachment: one that cannot go does not keep the others. */
	for (i = 0; i < stale.n; i++) {
		struct nft_att t = { f, NULL, "", NULL };

		snprintf(t.chain, sizeof(t.chain), "%s", stale.v[i]);
		r = del_chain(s, &t, NULL, f->rule_keys ? NULL : &listing, err);
		ret = ret ? ret : r;
	}
	if (f->gc_legacy) {
		r = f->gc_legacy(s, network, &kept, err);
		ret = ret ? ret : r;
	}
out:
	nft_elems_free(&listing);
	nft_names_free(&kept);
	nft_names_free(&stale);
	return ret;
}
