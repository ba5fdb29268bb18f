/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private to pkg/nft (and its unit tests): the netfilter socket, batches, builders. */
#ifndef CNIP_NFT_INT_H
#define CNIP_NFT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

#include "cni/err.h"
#include "cni/ip.h"

struct mnl_socket;
struct nftnl_rule;

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

/* Callback for each reply message of a query; return MNL_CB_OK/STOP/ERROR. */
typedef int (*nft_msg_cb)(const struct nlmsghdr *nlh, void *data);
/*
 * Sends one GET request (nlh built by the caller, seq/portid filled here) and
 * feeds every reply to cb; follows multipart dumps to NLMSG_DONE. Returns 0 or
 * the kernel's -errno (-ENOENT for a missing object), without touching err:
 * callers decide whether a missing object is an error.
 */
int nft_sock_query(struct nft_sock *s, struct nlmsghdr *nlh, nft_msg_cb cb, void *data)
	__attribute__((warn_unused_result));

/* ---- masquerade internals exposed for tests ---- */
#define NFT_MASQ_TABLE "cnip_masquerade"
#define NFT_MASQ_CHAIN "postrouting"
#define NFT_MASQ_MAP4 "masq_ip4"
#define NFT_MASQ_MAP6 "masq_ip6"
#define NFT_MASQ_HASH 16
/* Chain names start with a letter: nft's command line cannot name "94f0..." unquoted. */
#define NFT_MASQ_PFX "masq-"
#define NFT_MASQ_PFXLEN 5
/* Length of the attachment key "<16 hex>-<16 hex>" */
#define NFT_MASQ_KEYLEN (2 * NFT_MASQ_HASH + 1)
#define NFT_MASQ_NAMELEN (NFT_MASQ_PFXLEN + NFT_MASQ_KEYLEN + 1)

/* The per-attachment chain name, "masq-" H(network) "-" H(ifname ":" containerID);
 * the part after "masq-" is what the reference's nftables backend starts its
 * comments with. */
int nft_masq_chain_name(const char *network, const char *ifname, const char *cid,
			char out[NFT_MASQ_NAMELEN]) __attribute__((warn_unused_result));
/* The reference iptables backend's chain: "CNI-" + 24 hex of sha512(network + cid). */
int nft_masq_ipt_chain_name(const char *network, const char *cid, char out[29])
	__attribute__((warn_unused_result));

/* Builders; NULL on ENOMEM. */
struct nftnl_rule *nft_masq_rule_pod(const char *chain, const struct cni_prefix *ip);
struct nftnl_rule *nft_masq_rule_multicast(int family);
struct nftnl_rule *nft_masq_rule_dispatch(int family);

/* A rule's expressions as text (nftnl's own notation), to compare rules. */
int nft_rule_expr_text(const struct nftnl_rule *r, char *buf, size_t size);
/* The rule's comment (userdata) copied into buf; "" if none. */
void nft_rule_comment(const struct nftnl_rule *r, char *buf, size_t size);

#endif
