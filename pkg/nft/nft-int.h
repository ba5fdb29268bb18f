/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to pkg/nft (and its unit tests): the netfilter socket, batches,
 * the object builders and lookups every feature shares, expression
 * builders, and each feature's names and rule builders. The attachment
 * engine that drives the features is in attach.h.
 */
#ifndef CNIP_NFT_INT_H
#define CNIP_NFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>

#include "cni/conf.h"
#include "cni/err.h"
#include "cni/ip.h"

struct mnl_socket;
struct nftnl_rule;
struct nft_attach;

/* One NETLINK_NETFILTER socket, bound in the netns current at open time. */
struct nft_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

int nft_sock_open(struct nft_sock *s, struct cni_err *err) __attribute__((warn_unused_result));
void nft_sock_close(struct nft_sock *s);

/*
 * A transaction being built: NFNL_MSG_BATCH_BEGIN, messages, BATCH_END in one
 * contiguous buffer. Each message gets a description so an error reply,
 * found by sequence number, names the object that failed.
 */
struct nft_batch {
	char *buf;
	size_t len, cap;
	struct nlmsghdr *open;		/* message whose payload is being written */
	uint32_t seq0;			/* seq of BATCH_BEGIN; message i has seq0 + 1 + i */
	size_t nmsg;
	char **what;			/* nmsg descriptions */
	int *tag;			/* nmsg caller tags, -1 unless set */
	size_t what_cap;
};

void nft_batch_init(struct nft_batch *b);
void nft_batch_release(struct nft_batch *b);
/* Starts message `type` (NFT_MSG_*); the caller writes its payload into the
 * returned header with a nftnl_*_nlmsg_build_payload(). NULL on ENOMEM. */
struct nlmsghdr *nft_batch_add(struct nft_batch *b, uint16_t type, uint16_t family,
			       uint16_t flags, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Tags the last message added, to find it again when it fails. */
static inline void nft_batch_tag(struct nft_batch *b, int tag)
{
	if (b->nmsg)
		b->tag[b->nmsg - 1] = tag;
}
/* Closes the batch and builds the final buffer (BEGIN ... END). */
int nft_batch_finish(struct nft_batch *b, uint32_t seq0) __attribute__((warn_unused_result));

/*
 * Sends a finished batch and reads every reply. 0 only when no reply is an
 * error; else the first failing message's -errno, described in err (code
 * CNI_ERR_NFT), and its index in *failed (SIZE_MAX for the batch itself).
 */
int nft_sock_batch(struct nft_sock *s, struct nft_batch *b, size_t *failed, struct cni_err *err)
	__attribute__((warn_unused_result));

/* Attempts of a dump the kernel marks interrupted (NLM_F_DUMP_INTR). */
#define NFT_DUMP_RETRIES 10

/*
 * mnl_nlmsg_ok() compares (int)nlmsg_len, so a length above INT_MAX passes it
 * and mnl_nlmsg_next() then never advances: check it unsigned.
 */
static inline bool nft_msg_ok(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned int)len;
}

/* Callback for each data message of a reply; MNL_CB_OK, anything else fails the query. */
typedef int (*nft_msg_cb)(const struct nlmsghdr *nlh, void *data);
/*
 * Sends one GET request (nlh built by the caller, seq/portid filled here) and
 * feeds every reply to cb, reading the reply to its end whatever happens. A
 * dump the kernel marks interrupted is redone, after reset(data) (may be
 * NULL), up to NFT_DUMP_RETRIES times, then fails with -EAGAIN. Returns 0 or
 * the kernel's -errno (-ENOENT for a missing object), -EBADMSG for a bad
 * reply or a failed cb, without touching err: callers decide whether a
 * missing object is an error.
 */
int nft_sock_query(struct nft_sock *s, struct nlmsghdr *nlh, nft_msg_cb cb,
		   void (*reset)(void *), void *data) __attribute__((warn_unused_result));

/* ---- objects every feature uses (objs.c) ---- */

/* Attempts of a change that lost a race or guessed wrong (EBUSY, EEXIST, ENOENT). */
#define NFT_ATTEMPTS 5
/* Room for any chain name we make or look up (ours and the reference's). */
#define NFT_NAME_MAX 64

/* nft's datatype numbers, so `nft list` prints the maps' keys readably. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_IFNAME 41

/* "inet", "ip", "ip6", "bridge": for messages. */
const char *nft_family_name(uint16_t family);

/* The longest element key: a concatenation such as ip6 . l4proto . port is 24 bytes. */
#define NFT_KEY_MAX 64

/*
 * A named map: where it lives, what its keys are, what its elements hold.
 * A verdict map's element jumps or goes to its attachment's chain. An owner
 * map's element holds the attachment's hash (the chain name's last NFT_HASH
 * characters, nft type ifname) and only serves lookups: no element leads to a
 * chain, so a commit does not validate one chain per element (the cost of a
 * verdict map grows with its elements; an owner map's does not).
 */
struct nft_map {
	uint16_t family;
	const char *table, *name;
	uint32_t key_type;		/* NFT_TYPE_*, or nft's concatenation of them */
	uint32_t key_len;		/* bytes, at most NFT_KEY_MAX */
	uint32_t id;			/* NFTA_SET_ID, unique within a batch */
	bool host_order;		/* keys in host byte order (ifnames) */
	bool owner;			/* an owner map, else a verdict map */
	bool lazy;			/* made, with the rule that looks it up, by the first key in it */
};
/* A key as nft prints it (an address, a quoted name, else hex), for messages. */
void nft_key_text(const struct nft_map *m, const void *key, char *out, size_t size);

/* The hook of a base chain. */
struct nft_hook {
	const char *type;		/* "nat", "filter" */
	uint32_t hooknum;
	int32_t prio;
	bool policy_accept;		/* say "policy accept" explicitly */
};

/*
 * Batch messages; each returns 0 or -ENOMEM. Chains and rules name their
 * family, table and chain; a rule builder's rule is consumed (NULL: ENOMEM).
 * nft_b_elem() adds key : verdict chain (owner maps: key : chain's hash), or
 * deletes key when chain is NULL. nft_b_map() makes a lazy map exclusively.
 */
int nft_b_table(struct nft_batch *b, uint16_t family, const char *table);
int nft_b_table_del(struct nft_batch *b, uint16_t family, const char *table);
int nft_b_map(struct nft_batch *b, const struct nft_map *m);
int nft_b_map_del(struct nft_batch *b, const struct nft_map *m);
int nft_b_chain(struct nft_batch *b, uint16_t type, uint16_t family, const char *table,
		const char *name, const struct nft_hook *hook, const char *comment, uint16_t flags);
int nft_b_rule_add(struct nft_batch *b, struct nftnl_rule *r, const char *what);
/* The same, but the rule goes first in its chain. */
int nft_b_rule_insert(struct nft_batch *b, struct nftnl_rule *r, const char *what);
/* handle 0: every rule of the chain (a flush). */
int nft_b_rule_del(struct nft_batch *b, uint16_t family, const char *table, const char *chain,
		   uint64_t handle);
int nft_b_elem(struct nft_batch *b, const struct nft_map *m, const void *key, uint32_t verdict,
	       const char *chain);

/* The rules of one chain, as the kernel lists them. */
struct nft_rules {
	struct nftnl_rule **v;
	size_t n, cap;
};
void nft_rules_free(struct nft_rules *rs);
/* Lists one chain (the kernel filters by table and chain); a missing chain or table is no rule. */
int nft_dump_rules(struct nft_sock *s, uint16_t family, const char *table, const char *chain,
		   struct nft_rules *out) __attribute__((warn_unused_result));

struct nft_chain_info {
	bool base;
	uint32_t hooknum;
	int32_t prio;
	char type[16];
	char comment[128];		/* "" if none */
};
/* 0 if the chain exists (described in ci, may be NULL), -ENOENT if it or its table does not. */
int nft_chain_get(struct nft_sock *s, uint16_t family, const char *table, const char *chain,
		  struct nft_chain_info *ci) __attribute__((warn_unused_result));

/* A map element as read back: key, verdict (NFT_JUMP/NFT_GOTO, 0 if none) and chain (an owner's hash). */
struct nft_elem {
	uint8_t key[NFT_KEY_MAX];
	uint32_t klen;
	uint8_t map;			/* index of its map in a feature's maps (engine only) */
	uint32_t verdict;
	char chain[NFT_NAME_MAX];
};
struct nft_elems {
	struct nft_elem *v;
	size_t n, cap;
};
void nft_elems_free(struct nft_elems *es);
int nft_elems_push(struct nft_elems *es, const struct nft_elem *e);
/*
 * 0 if the map exists, its data type (NFT_DATA_VERDICT, NFT_TYPE_*) in *dtype
 * when dtype is not NULL; -ENOENT if it or its table does not.
 */
int nft_map_get(struct nft_sock *s, const struct nft_map *m, uint32_t *dtype)
	__attribute__((warn_unused_result));
/* The element of key, or every element (key NULL); a missing map or element is none. */
int nft_get_elems(struct nft_sock *s, const struct nft_map *m, const void *key, struct nft_elems *out)
	__attribute__((warn_unused_result));
/* Does e lead to chain (a verdict map's) or name it as owner (an owner map's)? */
bool nft_elem_leads_to(const struct nft_elem *e, const char *chain);

/* Does the rule jump or go to chain? */
bool nft_rule_jumps_to(const struct nftnl_rule *r, const char *chain);
/*
 * 1 if have does what want (consumed) does, 0 if not, -ENOMEM. want goes
 * through the kernel's serialisation first so both sides parse alike; with
 * comment, the comments must match too.
 */
int nft_rule_same(struct nftnl_rule *want, const struct nftnl_rule *have, bool comment);

/* Chain names; n of them. */
struct nft_names {
	char (*v)[NFT_NAME_MAX];
	size_t n, cap;
};
void nft_names_free(struct nft_names *nm);

/*
 * GC's plan for attachment chains named pfx H(network) "-" H(ifname ":" cid)
 * in family/table: kept gets the chain name of each of keep's attachments
 * (their network field is ignored), stale the listed chains of network that
 * none of them names. what prefixes error messages ("masquerade GC").
 */
int nft_gc_plan(struct nft_sock *s, uint16_t family, const char *table, const char *pfx,
		const char *what, const char *network, const struct cni_attachment *keep, size_t n,
		struct nft_names *kept, struct nft_names *stale, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * Runs attempt until it succeeds or fails with an error a retry cannot mend;
 * at most NFT_ATTEMPTS times. attempt adjusts its ctx for the next try. Only
 * the last attempt's error reaches err: retries are not failures.
 */
typedef int (*nft_attempt_fn)(struct nft_sock *s, void *ctx, struct cni_err *err);
int nft_retry(struct nft_sock *s, nft_attempt_fn attempt, void *ctx, struct cni_err *err)
	__attribute__((warn_unused_result));
bool nft_retryable(int ret);

/*
 * Removes an iptables-nft chain of the reference plugins (family ip or ip6,
 * table nat) and every rule of parent that jumps to it; parent is listed only
 * when the chain exists. Nothing there is success.
 */
int nft_ipt_chain_del(struct nft_sock *s, uint16_t family, const char *chain, const char *parent,
		      struct cni_err *err) __attribute__((warn_unused_result));

/* Where IPv4 and IPv6 keep what rules match: nfproto, address length, saddr/daddr offsets. */
struct nft_fam {
	uint8_t nfproto;
	uint32_t alen, saddr, daddr;
};

static inline struct nft_fam nft_fam_of(int family)
{
	if (family == AF_INET)
		return (struct nft_fam){ NFPROTO_IPV4, 4, 12, 16 };
	return (struct nft_fam){ NFPROTO_IPV6, 16, 8, 24 };
}

/* ---- generic expression builders (expr.c) ---- */
struct nftnl_expr;
enum nft_cmp_ops;

/* 32-bit register i (0..15) by the name the kernel reports it under. */
uint32_t nft_reg32(unsigned int i);
/* Appends e to r; false (and nothing appended) when e is NULL. */
bool nft_put(struct nftnl_rule *r, struct nftnl_expr *e);
/* An empty rule of family/table/chain with an optional comment; NULL on ENOMEM. */
struct nftnl_rule *nft_rule_new(uint16_t family, const char *table, const char *chain,
				const char *comment);
struct nftnl_expr *nft_e_meta(uint32_t key, uint32_t dreg);
struct nftnl_expr *nft_e_meta_set(uint32_t key, uint32_t sreg);
struct nftnl_expr *nft_e_cmp(uint32_t sreg, enum nft_cmp_ops op, const void *data, uint32_t len);
struct nftnl_expr *nft_e_payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg);
/* reg = (reg & mask) ^ xor; xor NULL is zero. */
struct nftnl_expr *nft_e_bitwise(uint32_t reg, const void *mask, const void *xor, uint32_t len);
/* A verdict (NF_ACCEPT, NFT_RETURN, ...; NFT_JUMP/NFT_GOTO with chain). */
struct nftnl_expr *nft_e_verdict(int verdict, const char *chain);
/* Loads data into dreg. */
struct nftnl_expr *nft_e_imm(uint32_t dreg, const void *data, uint32_t len);
/* Verdict map lookup of the key in sreg. */
struct nftnl_expr *nft_e_vmap(const char *set, uint32_t sreg);
/* Is the key in sreg (len bytes) in set? */
struct nftnl_expr *nft_e_lookup(const char *set, uint32_t sreg);
/* fib daddr type => dreg */
struct nftnl_expr *nft_e_fib_daddr_type(uint32_t dreg);
/* dnat (nfproto NFPROTO_IPV4/IPV6) to the address in reg_addr, port in reg_port. */
struct nftnl_expr *nft_e_dnat(uint32_t nfproto, uint32_t reg_addr, uint32_t reg_port);
/* ct KEY (NFT_CT_STATE, NFT_CT_STATUS, ...) => dreg */
struct nftnl_expr *nft_e_ct(uint32_t key, uint32_t dreg);

/* ---- names and rule builders (rules.c) ---- */

/* Length of an attachment key "<16 hex>-<16 hex>" */
#define NFT_HASH 16
#define NFT_KEYLEN (2 * NFT_HASH + 1)
/* pfx H(network) "-" H(ifname ":" cid): what the reference's nftables backend starts its
 * masquerade comments with, after pfx. -ENOMEM only; out has strlen(pfx) + NFT_KEYLEN + 1 bytes. */
int nft_attach_name(const char *pfx, const char *network, const char *ifname, const char *cid,
		    char *out) __attribute__((warn_unused_result));
/* pfx H(network) "-": the start of every attachment name of a network. */
void nft_network_prefix(const char *pfx, const char *network, char *out);

/* A rule's expressions as text (nftnl's own notation), to compare rules. */
int nft_rule_expr_text(const struct nftnl_rule *r, char *buf, size_t size);
/* The rule's comment (userdata) copied into buf; "" if none. */
void nft_rule_comment(const struct nftnl_rule *r, char *buf, size_t size);
/* The NUL-terminated string of TLV type in userdata ud (len bytes, may be NULL), or NULL. */
const char *nft_udata_str(const void *ud, uint32_t len, uint8_t type);

/* ---- masquerade ---- */
#define NFT_MASQ_TABLE "cnip_masq"
/* Where versions up to 0.x kept one verdict-map element per pod: read by DEL, CHECK and GC only. */
#define NFT_MASQ_TABLE_V1 "cnip_masquerade"
#define NFT_MASQ_CHAIN "postrouting"
#define NFT_MASQ_PODS4 "pods4"
#define NFT_MASQ_PODS6 "pods6"
#define NFT_MASQ_MAP4 "masq_ip4"
#define NFT_MASQ_MAP6 "masq_ip6"
#define NFT_MASQ_HASH NFT_HASH
/* Chain names start with a letter: nft's command line cannot name "94f0..." unquoted. */
#define NFT_MASQ_PFX "masq-"
#define NFT_MASQ_PFXLEN 5
#define NFT_MASQ_KEYLEN NFT_KEYLEN
#define NFT_MASQ_NAMELEN (NFT_MASQ_PFXLEN + NFT_MASQ_KEYLEN + 1)

/* "masq-" H(network) "-" H(ifname ":" containerID). */
int nft_masq_chain_name(const char *network, const char *ifname, const char *cid,
			char out[NFT_MASQ_NAMELEN]) __attribute__((warn_unused_result));
/* The reference iptables backend's chain: "CNI-" + 24 hex of sha512(network + cid). */
int nft_masq_ipt_chain_name(const char *network, const char *cid, char out[29])
	__attribute__((warn_unused_result));

/* Builders, of table inet `table` (NFT_MASQ_TABLE or _V1); NULL on ENOMEM. */
struct nftnl_rule *nft_masq_rule_pod(const char *table, const char *chain, const struct cni_prefix *ip);
struct nftnl_rule *nft_masq_rule_multicast(const char *table, int family);
/* Version 1: ip saddr vmap @masq_ip4. */
struct nftnl_rule *nft_masq_rule_dispatch(int family);
/* ip saddr @pods4 masquerade (ip6 ... @pods6). */
struct nftnl_rule *nft_masq_rule_pods(int family);
/* ip saddr . ip daddr & <len bits> @set return: a pod's own prefix is not masqueraded. */
struct nftnl_rule *nft_masq_rule_excl(int family, unsigned int len, const char *set);

/* ---- MAC spoof check ---- */
#define NFT_SC_TABLE "cnip_spoofchk"
#define NFT_SC_BASE "prerouting"
#define NFT_SC_MAP "ports"
#define NFT_SC_HASH NFT_HASH
/* "sc-" keeps nft's command line from reading a hash that starts with a digit as a number. */
#define NFT_SC_PFX "sc-"
#define NFT_SC_PFXLEN 3
#define NFT_SC_NAMELEN (NFT_SC_PFXLEN + NFT_KEYLEN + 1)

/* The reference's (containernetworking/plugins pkg/link/spoofcheck.go). */
#define NFT_SC_REF_TABLE "nat"
#define NFT_SC_REF_BASE "PREROUTING"
#define NFT_SC_REF_PFX "cni-br-iface-"
#define NFT_SC_REF_COMMENT "macspoofchk-"

/* "sc-" H(network) "-" H(ifname ":" cid); -ENOMEM only. */
int nft_spoofchk_chain_name(const char *network, const char *ifname, const char *cid,
			    char out[NFT_SC_NAMELEN]) __attribute__((warn_unused_result));

/* Builders of table bridge cnip_spoofchk's rules; NULL on ENOMEM. */
struct nftnl_rule *nft_spoofchk_rule_dispatch(void);	/* iifname vmap @ports */
struct nftnl_rule *nft_spoofchk_rule_mac(const char *chain, const uint8_t mac[6]);
struct nftnl_rule *nft_spoofchk_rule_drop(const char *chain);

/* ---- hostPort mapping ---- */
#define NFT_PM_TABLE "cnip_hostport"
#define NFT_PM_PREROUTING "prerouting"
#define NFT_PM_OUTPUT "output"
#define NFT_PM_HOSTIP4 "hostip4"
#define NFT_PM_HOSTPORT4 "hostport4"
#define NFT_PM_HOSTIP6 "hostip6"
#define NFT_PM_HOSTPORT6 "hostport6"
/* Base chain masquerading packets with mark bit N: "masq-bit13". */
#define NFT_PM_MASQ_PFX "masq-bit"
/* Attachment chains: "pm-" H(network) "-" H(ifname ":" cid). */
#define NFT_PM_PFX "pm-"
#define NFT_PM_NAMELEN (3 + NFT_KEYLEN + 1)

#endif
