/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake kernel of the pkg/nft unit tests, #included by each (a .c file
 * here would be linked into every unit test, wraps and all): wrapped
 * mnl_socket_sendto/recvfrom (see test_nft*.wrap) that answer batches like
 * nf_tables, failing the message chosen, and queries from a few known
 * chains. Each test file keeps the last batch's types, flags and names.
 */
#ifndef CNIP_NFT_HARNESS_H
#define CNIP_NFT_HARNESS_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

/* ---- the fake kernel ---- */

#define MAXMSG 64
#define MAXCHAINS 8
static struct {
	uint16_t family;		/* every batch message must be of it; 0: any */
	uint32_t keylen;		/* every element key must be this long; 0: any */
	bool lose_acks;			/* answer nothing to successful messages */
	int fail_type;			/* NFT_MSG_* to refuse in a batch, -1 none */
	int fail_nth;			/* which occurrence of it (0 = first) */
	int fail_errno;
	int fail_batches;		/* refuse only in this many batches; 0: all */
	const char *extack;
	/* Builds the error reply of the refused message instead of fk_error(). */
	void (*err_hook)(const struct nlmsghdr *req, int error);
	int intr_dumps;			/* mark this many dumps interrupted (NLM_F_DUMP_INTR) */
	/* Replies stay queued until read, and a dump asked for while an earlier
	 * reply is unread gets EBUSY, as netlink_dump_start() answers while the
	 * socket's previous dump still runs. Otherwise each request clears the queue. */
	bool kernel_queue;
	int send_errno;			/* sendto itself fails */
	const char *chains[MAXCHAINS];	/* chains GETCHAIN finds (any table) */
	const char *dump[MAXCHAINS][2];	/* chains a GETCHAIN dump lists: table, name */
	uint16_t types[MAXMSG];		/* last batch's message types, BEGIN/END excluded */
	uint16_t flags[MAXMSG];
	char names[MAXMSG][64];		/* chain name of chain messages, key of element messages */
	char last[1 << 16];		/* the last batch, to parse messages back */
	size_t ntypes, lastlen;
	int batches, queries, elem_dumps;
	char q[1 << 16];		/* queued reply datagrams, each prefixed by its length */
	size_t qlen, qoff;
} fk;

/* family and keylen: what every batch message and element key must be (0: any). */
static void fk_reset_for(uint16_t family, uint32_t keylen)
{
	memset(&fk, 0, sizeof(fk));
	fk.fail_type = -1;
	fk.family = family;
	fk.keylen = keylen;
}

static void fk_push(const struct nlmsghdr *nlh)
{
	uint32_t len = nlh->nlmsg_len;

	assert_true(fk.qlen + sizeof(len) + len <= sizeof(fk.q));
	memcpy(fk.q + fk.qlen, &len, sizeof(len));
	memcpy(fk.q + fk.qlen + sizeof(len), nlh, len);
	fk.qlen += sizeof(len) + len;
}

static void fk_error(const struct nlmsghdr *req, int error, const char *msg)
{
	char buf[512] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = req->nlmsg_seq;
	nlh->nlmsg_flags = NLM_F_CAPPED | (msg ? NLM_F_ACK_TLVS : 0);
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg = *req;
	if (msg)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
	fk_push(nlh);
}

static void fk_done(const struct nlmsghdr *req, uint16_t flags)
{
	char buf[64] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI | flags;
	nlh->nlmsg_seq = req->nlmsg_seq;
	mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	fk_push(nlh);
}

/* The chain a chain message names, or the key of a one-element set message. */
static void msg_name(const struct nlmsghdr *nlh, int type, char out[64])
{
	out[0] = '\0';
	if (type == NFT_MSG_NEWCHAIN || type == NFT_MSG_DELCHAIN || type == NFT_MSG_GETCHAIN) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		assert_non_null(c);
		assert_int_equal(nftnl_chain_nlmsg_parse(nlh, c), 0);
		if (nftnl_chain_is_set(c, NFTNL_CHAIN_NAME))
			snprintf(out, 64, "%s", nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
		nftnl_chain_free(c);
	}
	if (type == NFT_MSG_DELRULE) {
		/* A rule message carries the chain in NFTA_RULE_CHAIN, not NFTA_CHAIN_NAME. */
		struct nftnl_rule *r = nftnl_rule_alloc();

		assert_non_null(r);
		assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
		snprintf(out, 64, "%s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
		nftnl_rule_free(r);
	}
	if (type == NFT_MSG_NEWSETELEM || type == NFT_MSG_DELSETELEM) {
		struct nftnl_set *s = nftnl_set_alloc();
		struct nftnl_set_elems_iter *it;
		struct nftnl_set_elem *e;
		uint32_t len = 0;

		assert_non_null(s);
		assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
		it = nftnl_set_elems_iter_create(s);
		e = nftnl_set_elems_iter_cur(it);
		assert_non_null(e);
		const char *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

		snprintf(out, 64, "%.*s", (int)len, key);
		if (fk.keylen)
			assert_int_equal(len, fk.keylen);
		nftnl_set_elems_iter_destroy(it);
		nftnl_set_free(s);
	}
}

static void fk_query(const struct nlmsghdr *nlh)
{
	int type = nlh->nlmsg_type & 0xff;
	char name[64];
	size_t i;
	uint16_t intr = 0;

	fk.queries++;
	if (fk.kernel_queue && fk.qoff < fk.qlen && (nlh->nlmsg_flags & NLM_F_DUMP)) {
		fk_error(nlh, -EBUSY, NULL);
		return;
	}
	if ((nlh->nlmsg_flags & NLM_F_DUMP) && fk.intr_dumps > 0) {
		fk.intr_dumps--;
		intr = NLM_F_DUMP_INTR;
	}
	if (type == NFT_MSG_GETCHAIN && !(nlh->nlmsg_flags & NLM_F_DUMP)) {
		bool found = false;

		msg_name(nlh, type, name);
		for (i = 0; i < MAXCHAINS && fk.chains[i]; i++)
			found |= !strcmp(fk.chains[i], name);
		fk_error(nlh, found ? 0 : -ENOENT, NULL);
		return;
	}
	if (type == NFT_MSG_GETCHAIN) {
		for (i = 0; i < MAXCHAINS && fk.dump[i][0]; i++) {
			char buf[1024];
			struct nlmsghdr *r = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, NFPROTO_BRIDGE,
								   NLM_F_MULTI | intr, nlh->nlmsg_seq);
			struct nftnl_chain *c = nftnl_chain_alloc();

			nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, fk.dump[i][0]);
			nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, fk.dump[i][1]);
			nftnl_chain_nlmsg_build_payload(r, c);
			nftnl_chain_free(c);
			fk_push(r);
		}
	}
	if (type == NFT_MSG_GETSETELEM && (nlh->nlmsg_flags & NLM_F_DUMP))
		fk.elem_dumps++;
	if (nlh->nlmsg_flags & NLM_F_DUMP)
		fk_done(nlh, intr);
	else
		fk_error(nlh, -ENOENT, NULL);
}

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len);
ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz);

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len, seen = 0;
	bool refuse;
	uint32_t seq = 0;

	if (!fk.kernel_queue || fk.qoff >= fk.qlen)
		fk.qlen = fk.qoff = 0;
	if (fk.send_errno) {
		errno = fk.send_errno;
		return -1;
	}
	if (nlh->nlmsg_type != NFNL_MSG_BATCH_BEGIN) {
		fk_query(nlh);
		return (ssize_t)len;
	}
	fk.batches++;
	refuse = !fk.fail_batches || fk.batches <= fk.fail_batches;
	fk.ntypes = 0;
	assert_true(len <= sizeof(fk.last));
	memcpy(fk.last, buf, len);
	fk.lastlen = len;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		int type = nlh->nlmsg_type & 0xff;

		if (nlh->nlmsg_type != NFNL_MSG_BATCH_BEGIN)
			assert_int_equal(nlh->nlmsg_seq, seq + 1);
		seq = nlh->nlmsg_seq;
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END)
			continue;
		assert_int_equal(nlh->nlmsg_type >> 8, NFNL_SUBSYS_NFTABLES);
		assert_true(nlh->nlmsg_flags & NLM_F_ACK);
		if (fk.family)
			assert_int_equal(((const struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->nfgen_family,
					 fk.family);
		assert_true(fk.ntypes < MAXMSG);
		msg_name(nlh, type, fk.names[fk.ntypes]);
		fk.flags[fk.ntypes] = nlh->nlmsg_flags;
		fk.types[fk.ntypes++] = (uint16_t)type;
		if (refuse && type == fk.fail_type && seen++ == fk.fail_nth) {
			if (fk.err_hook)
				fk.err_hook(nlh, -fk.fail_errno);
			else
				fk_error(nlh, -fk.fail_errno, fk.extack);
		} else if (!fk.lose_acks) {
			fk_error(nlh, 0, NULL);
		}
	}
	assert_int_equal(left, 0);
	return (ssize_t)len;
}

ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz)
{
	uint32_t len;

	if (fk.qoff >= fk.qlen) {
		errno = EAGAIN;
		return -1;
	}
	memcpy(&len, fk.q + fk.qoff, sizeof(len));
	assert_true(len <= bufsiz);
	memcpy(buf, fk.q + fk.qoff + sizeof(len), len);
	fk.qoff += sizeof(len) + len;
	return (ssize_t)len;
}

/* The nth message of type in the last batch, to parse it back. */
/* Not every test file uses these two. */
__attribute__((unused)) static const struct nlmsghdr *last_msg(int type, int nth)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)fk.last;
	int left = (int)fk.lastlen;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		if (nlh->nlmsg_type >> 8 == NFNL_SUBSYS_NFTABLES && (nlh->nlmsg_type & 0xff) == type &&
		    nth-- == 0)
			return nlh;
	fail_msg("no message %d in the last batch", type);
	return NULL;
}

__attribute__((unused)) static void want_types(const uint16_t *want, size_t n)
{
	size_t i;

	assert_int_equal(fk.ntypes, n);
	for (i = 0; i < n; i++)
		assert_int_equal(fk.types[i], want[i]);
}

/* r (consumed) serialised the way a batch does and parsed back. */
static struct nftnl_rule *parse_back(struct nftnl_rule *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nftnl_rule *p;

	assert_non_null(r);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE,
				    (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), 0, 0);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	p = nftnl_rule_alloc();
	assert_non_null(p);
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, p), 0);
	return p;
}

#endif
