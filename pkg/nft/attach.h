/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The attachment engine of pkg/nft (attach.c): one feature's nftables objects
 * for one attachment, added, removed, checked and garbage-collected the same
 * way for every feature. A feature (masq.c, spoofchk.c; next portmap and
 * firewall) is a const struct nft_feature and four thin public functions
 * that check their own spec and call nft_attach_add/del/check/gc:
 *
 *   table, family      where everything lives, e.g. inet cnip_masquerade
 *   maps               verdict maps (element key -> jump/goto attachment chain)
 *                      or owner maps (key -> the attachment's hash), see nft_map
 *   bases              base chains: hook, and fixed rules built by index
 *   pfx                attachment chains are pfx H(network) "-" H(ifname ":" cid)
 *   rules(chain, spec) the attachment chain's rules for the feature's spec
 *   keys(spec)         the element keys (map index + bytes) leading there
 *   rule_keys(rule)    optional: the keys a rule serves (kept in its comment),
 *                      so DEL without the spec finds the elements; without
 *                      it DEL guesses from the spec, else lists the maps
 *   lazy_rule(map)     the rule of bases[0] that looks up a lazy map (one per
 *                      prefix length, say): inserted first, with the map, by
 *                      the first ADD with a key in it; kept while the table is
 *   stateless          ADD reads nothing, flushes and refills (keys fixed per
 *                      attachment); else ADD reads the chain and releases keys
 *                      it no longer serves
 *   exclusive          an element leading to another chain fails ADD with
 *                      -EADDRINUSE naming it (portmap) instead of a takeover
 *   del_legacy/gc_legacy  what other implementations left (the reference's)
 *
 * The caller owns the socket (nft_open() in the plugin, one per invocation).
 */
#ifndef CNIP_NFT_ATTACH_H
#define CNIP_NFT_ATTACH_H

#include "cni/nft.h"
#include "nft-int.h"

#define NFT_RULES_MAX 4096	/* rules of one attachment chain (portmap: 3 per port and family) */
#define NFT_BASES_MAX 8		/* base chains of one feature */
#define NFT_WHAT_MAX 96		/* a rule's description in messages */

/* An element key: which of the feature's maps, and the key's bytes (zero-padded). */
struct nft_key {
	uint8_t map;
	uint8_t data[NFT_KEY_MAX];
};

struct nft_keys {
	struct nft_key *v;
	size_t n, cap;
};
void nft_keys_free(struct nft_keys *ks);
bool nft_keys_have(const struct nft_keys *ks, const struct nft_key *k);
/* Appends k unless present; -ENOMEM. */
int nft_keys_add(struct nft_keys *ks, const struct nft_key *k) __attribute__((warn_unused_result));

/* A rule built for a batch, with its description for messages. */
struct nft_built {
	struct nftnl_rule *r;
	char what[NFT_WHAT_MAX];
};

/*
 * A base chain and its fixed rules: rule(i, arg, what) builds rule i (NULL on
 * ENOMEM); arg is the feature's, for a base that depends on the config
 * (portmap's masquerade chain of one mark bit).
 */
struct nft_base {
	const char *name;
	struct nft_hook hook;
	size_t nrules;
	struct nftnl_rule *(*rule)(size_t i, uint32_t arg, char what[NFT_WHAT_MAX]);
	uint32_t arg;
};

struct nft_feature {
	const char *what;		/* "masquerade": starts every message */
	uint16_t family;
	const char *table;
	const struct nft_map *maps;
	size_t nmaps;
	const struct nft_base *bases;
	size_t nbases;
	const char *pfx;		/* attachment chain prefix, starts with a letter */
	uint32_t verdict;		/* NFT_JUMP or NFT_GOTO, of the map elements */
	bool stateless;
	bool exclusive;
	bool rule_comments;		/* CHECK compares the comments of attachment rules */
	int owned_code;			/* CNI code of an exclusive refusal (0: CNI_ERR_NFT) */
	/* The attachment chain's rules into v (at most max); count or -ENOMEM. */
	int (*rules)(const char *chain, const void *spec, struct nft_built *v, size_t max);
	/* The keys of spec appended to out; 0 or -errno. */
	int (*keys)(const void *spec, struct nft_keys *out);
	/* The keys rule r serves appended to out (none if it serves none); 0 or -ENOMEM. */
	int (*rule_keys)(const struct nftnl_rule *r, struct nft_keys *out);
	struct nftnl_rule *(*lazy_rule)(const struct nft_map *m, char what[NFT_WHAT_MAX]);
	/* spec in a few words for CHECK's messages ("10.22.0.5/16", a MAC). */
	void (*describe)(const void *spec, char *buf, size_t size);
	int (*del_legacy)(struct nft_sock *s, const struct nft_attach *a, struct cni_err *err);
	int (*gc_legacy)(struct nft_sock *s, const char *network, const struct nft_names *kept,
			 struct cni_err *err);
};

/* The fixed rules of base chain bc into b, after a flush of the chain's rules when flush; -ENOMEM. */
int nft_b_base_rules(struct nft_batch *b, const struct nft_feature *f, const struct nft_base *bc,
		     bool flush);

/* 0 if a names network, container ID and ifname; -EINVAL with err otherwise. */
int nft_attach_check_id(const struct nft_feature *f, const struct nft_attach *a, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * The four verbs; each returns 0 or -errno with err filled. add: idempotent,
 * retried on races; del: spec may be NULL, nothing there is success, the
 * legacy hook runs after ours, first error kept; check: CNI_ERR_CHECK
 * (-ENOENT) saying what differs; gc: removes the attachment chains of network
 * whose (container_id, ifname) is not in keep, one transaction each.
 */
int nft_attach_add(struct nft_sock *s, const struct nft_feature *f, const struct nft_attach *a,
		   const void *spec, struct cni_err *err) __attribute__((warn_unused_result));
int nft_attach_del(struct nft_sock *s, const struct nft_feature *f, const struct nft_attach *a,
		   const void *spec, struct cni_err *err) __attribute__((warn_unused_result));
int nft_attach_check(struct nft_sock *s, const struct nft_feature *f, const struct nft_attach *a,
		     const void *spec, struct cni_err *err) __attribute__((warn_unused_result));
int nft_attach_gc(struct nft_sock *s, const struct nft_feature *f, const char *network,
		  const struct cni_attachment *keep, size_t n, struct cni_err *err)
	__attribute__((warn_unused_result));

#endif
