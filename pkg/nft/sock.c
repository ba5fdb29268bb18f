// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The nftables transport: one NETLINK_NETFILTER socket, NFNL batches with an
 * ACK asked for every message, and plain GET requests and dumps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-int.h"

/* libmnl 1.0.4 has no MNL_SOCKET_DUMP_SIZE; the kernel fills dump skbs up to 32 KiB. */
#define NFT_RECV_BUF 65536
/* Room reserved for one message of ours; the largest (a rule) stays well below. */
#define NFT_MSG_ROOM 8192

int nft_sock_open(struct nft_sock *s, struct cni_err *err)
{
	struct mnl_socket *nl;
	int one = 1, ret;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return cni_err_set(err, CNI_ERR_NFT, -errno, "opening netfilter netlink socket");
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = cni_err_set(err, CNI_ERR_NFT, -errno, "binding netfilter netlink socket");
		mnl_socket_close(nl);
		return ret;
	}
	/* Best effort: older kernels just echo whole requests and give no message text. */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	s->nl = nl;
	s->portid = mnl_socket_get_portid(nl);
	s->seq = (uint32_t)time(NULL);
	return 0;
}

void nft_sock_close(struct nft_sock *s)
{
	if (!s || !s->nl)
		return;
	mnl_socket_close(s->nl);
	s->nl = NULL;
}

void nft_batch_init(struct nft_batch *b)
{
	memset(b, 0, sizeof(*b));
}

void nft_batch_release(struct nft_batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->nmsg; i++)
		free(b->what[i]);
	free(b->what);
	free(b->tag);
	free(b->buf);
	nft_batch_init(b);
}

static void batch_close_open(struct nft_batch *b)
{
	if (b->open) {
		b->len += NLMSG_ALIGN(b->open->nlmsg_len);
		b->open = NULL;
	}
}

static int batch_reserve(struct nft_batch *b, size_t need)
{
	size_t cap;
	char *nbuf;

	if (b->cap - b->len >= need)
		return 0;
	cap = b->cap ? b->cap : 16384;
	while (cap - b->len < need)
		cap *= 2;
	nbuf = realloc(b->buf, cap);
	if (!nbuf)
		return -ENOMEM;
	memset(nbuf + b->cap, 0, cap - b->cap);
	b->buf = nbuf;
	b->cap = cap;
	return 0;
}

struct nlmsghdr *nft_batch_add(struct nft_batch *b, uint16_t type, uint16_t family,
			       uint16_t flags, const char *fmt, ...)
{
	struct nlmsghdr *nlh;
	va_list ap;
	char *what;
	int n;

	batch_close_open(b);
	if (batch_reserve(b, 2 * NFT_MSG_ROOM) < 0)
		return NULL;
	if (b->nmsg == b->what_cap) {
		size_t cap = b->what_cap ? 2 * b->what_cap : 16;
		char **nw = realloc(b->what, cap * sizeof(*nw));
		int *nt;

		if (!nw)
			return NULL;
		b->what = nw;
		nt = realloc(b->tag, cap * sizeof(*nt));
		if (!nt)
			return NULL;
		b->tag = nt;
		b->what_cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if (b->len == 0) {
		nlh = nftnl_batch_begin(b->buf, 0);
		b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	b->tag[b->nmsg] = -1;
	b->what[b->nmsg++] = what;
	nlh = nftnl_nlmsg_build_hdr(b->buf + b->len, type, family, flags | NLM_F_ACK, 0);
	b->open = nlh;
	return nlh;
}

int nft_batch_finish(struct nft_batch *b, uint32_t seq0)
{
	struct nlmsghdr *nlh;
	size_t off;
	uint32_t seq = seq0;

	if (!b->nmsg)
		return 0;
	if (b->open && b->open->nlmsg_len > NFT_MSG_ROOM)
		return -EMSGSIZE;
	batch_close_open(b);
	if (batch_reserve(b, NFT_MSG_ROOM) < 0)
		return -ENOMEM;
	nlh = nftnl_batch_end(b->buf + b->len, 0);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	for (off = 0; off < b->len; off += NLMSG_ALIGN(nlh->nlmsg_len)) {
		nlh = (struct nlmsghdr *)(b->buf + off);
		nlh->nlmsg_seq = seq++;
	}
	b->seq0 = seq0;
	return 0;
}

/*
 * The kernel's NLMSGERR_ATTR_MSG, if the error carries one. Its TLVs follow
 * the echoed request, padded to NLMSG_ALIGN, or only its header when CAPPED;
 * an echo shorter than a header is malformed, not a reason to read elsewhere.
 */
static const char *extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t len = mnl_nlmsg_get_payload_len(nlh), off = sizeof(*e);
	const struct nlattr *attr;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || len < sizeof(*e))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(e->msg))
			return NULL;
		off = sizeof(e->error) + NLMSG_ALIGN((size_t)e->msg.nlmsg_len);
	}
	if (off >= len)
		return NULL;
	mnl_attr_for_each(attr, nlh, off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

static int set_nonblock(struct nft_sock *s, int on)
{
	int fd = mnl_socket_get_fd(s->nl);
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

int nft_sock_batch(struct nft_sock *s, struct nft_batch *b, size_t *failed, struct cni_err *err)
{
	size_t acks = 0, first = SIZE_MAX;
	int first_errno = 0, ret;
	char *rbuf = NULL, ext[256] = "";
	bool has_err = false;

	if (!b->nmsg)
		return 0;
	ret = nft_batch_finish(b, s->seq);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NFT, ret, "building nftables batch");
	s->seq += (uint32_t)b->nmsg + 2;
	if (b->nmsg > 64) {
		/* Every message is acked; make room so no ack is dropped. */
		int sz = (int)(b->nmsg * 1024 + 65536);

		if (mnl_socket_setsockopt(s->nl, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
			mnl_socket_setsockopt(s->nl, SO_RCVBUF, &sz, sizeof(sz));
	}
	rbuf = malloc(NFT_RECV_BUF);
	if (!rbuf) {
		ret = cni_err_set(err, CNI_ERR_NFT, -ENOMEM, "nftables batch");
		goto out;
	}
	if (mnl_socket_sendto(s->nl, b->buf, b->len) < 0) {
		ret = cni_err_set(err, CNI_ERR_NFT, -errno, "sending nftables batch");
		goto out;
	}
	/*
	 * The kernel runs the whole batch inside sendmsg(), so every reply is
	 * queued by now: read without blocking until all acks are in or the
	 * queue is empty (a fatal error ends the replies early).
	 */
	ret = set_nonblock(s, 1);
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "nftables socket");
		goto out;
	}
	while (acks < b->nmsg) {
		ssize_t n = mnl_socket_recvfrom(s->nl, rbuf, NFT_RECV_BUF);
		const struct nlmsghdr *nlh;
		int len;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			ret = -errno;
			set_nonblock(s, 0);
			cni_err_set(err, CNI_ERR_NFT, ret, "reading nftables batch replies");
			goto out;
		}
		len = (int)n;
		for (nlh = (const struct nlmsghdr *)rbuf; nft_msg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e;
			size_t idx;

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (nlh->nlmsg_seq < b->seq0 || nlh->nlmsg_seq > b->seq0 + b->nmsg + 1)
				continue;	/* not ours: a stale reply */
			acks++;
			if (!e->error)
				continue;
			/* seq0 is BATCH_BEGIN: the batch itself failed. */
			idx = nlh->nlmsg_seq == b->seq0 || nlh->nlmsg_seq > b->seq0 + b->nmsg ?
				SIZE_MAX : nlh->nlmsg_seq - b->seq0 - 1;
			/* Later errors are often consequences of the first one. */
			if (!has_err || idx < first) {
				const char *m = extack_msg(nlh);

				has_err = true;
				first = idx;
				/* No errno is below -4095: anything else is a broken reply. */
				first_errno = e->error < 0 && e->error >= -4095 ? e->error : -EBADMSG;
				snprintf(ext, sizeof(ext), "%s", m ? m : "");
			}
		}
	}
	set_nonblock(s, 0);
	if (has_err) {
		bool was_set = cni_err_is_set(err);

		ret = cni_err_set(err, CNI_ERR_NFT, first_errno < 0 ? first_errno : -EPROTO,
				  "nftables: %s", first == SIZE_MAX ? "batch" : b->what[first]);
		if (!was_set && ext[0])
			cni_err_details(err, "kernel: %s", ext);
		if (failed)
			*failed = first;
		goto out;
	}
	if (acks < b->nmsg) {
		/* Every message asked for an ACK: a missing one means we cannot tell what committed. */
		ret = cni_err_set(err, CNI_ERR_NFT, -EIO, "nftables: %zu of %zu messages unacknowledged",
				  b->nmsg - acks, b->nmsg);
		goto out;
	}
	ret = 0;
out:
	free(rbuf);
	return ret;
}

/*
 * One request, read to its end: the ACK or error of a GET, the DONE (or
 * error) of a dump. A callback that failed, or a dump marked interrupted,
 * does not stop the reading, so the next request on this socket never meets
 * the rest of this reply.
 */
static int query_once(struct nft_sock *s, struct nlmsghdr *nlh, char *rbuf, nft_msg_cb cb,
		      void *data)
{
	uint32_t seq = ++s->seq;
	bool done = false, intr = false;
	int ret = 0;

	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 0;
	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return errno ? -errno : -EIO;
	while (!done) {
		ssize_t n = mnl_socket_recvfrom(s->nl, rbuf, NFT_RECV_BUF);
		const struct nlmsghdr *m;
		int len, e;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ENOSPC ? -EMSGSIZE : errno ? -errno : -EIO;
		}
		len = (int)n;
		for (m = (const struct nlmsghdr *)rbuf; !done && nft_msg_ok(m, len);
		     m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_seq != seq || (m->nlmsg_pid && m->nlmsg_pid != s->portid))
				continue;	/* left over from an earlier request */
			if (m->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			switch (m->nlmsg_type) {
			case NLMSG_NOOP:
				break;
			case NLMSG_ERROR:
				e = -EBADMSG;
				if (mnl_nlmsg_get_payload_len(m) >= sizeof(struct nlmsgerr))
					e = ((const struct nlmsgerr *)mnl_nlmsg_get_payload(m))->error;
				if (!ret)
					ret = e > 0 || e < -4095 ? -EBADMSG : e;
				done = true;
				break;
			case NLMSG_DONE:
				e = 0;
				if (mnl_nlmsg_get_payload_len(m) >= sizeof(e))
					memcpy(&e, mnl_nlmsg_get_payload(m), sizeof(e));
				if (!ret)
					ret = e > 0 || e < -4095 ? -EBADMSG : e;
				done = true;
				break;
			case NLMSG_OVERRUN:
				if (!ret)
					ret = -EBADMSG;
				done = true;
				break;
			default:
				if (!ret && cb && cb(m, data) != MNL_CB_OK)
					ret = -EBADMSG;
				break;
			}
		}
		/* Bytes that are no message: we cannot tell where the reply ends. */
		if (!done && len != 0)
			return -EBADMSG;
	}
	return !ret && intr ? -EINTR : ret;
}

int nft_sock_query(struct nft_sock *s, struct nlmsghdr *nlh, nft_msg_cb cb,
		   void (*reset)(void *), void *data)
{
	char *rbuf = malloc(NFT_RECV_BUF);
	int i, ret = -EINTR;

	if (!rbuf)
		return -ENOMEM;
	for (i = 0; i < NFT_DUMP_RETRIES && ret == -EINTR; i++) {
		if (i && reset)
			reset(data);
		ret = query_once(s, nlh, rbuf, cb, data);
	}
	free(rbuf);
	/* Still interrupted: the ruleset changes faster than we can read it. */
	return ret == -EINTR ? -EAGAIN : ret;
}
