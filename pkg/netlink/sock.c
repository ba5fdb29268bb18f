// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/netlink.h>
#include <linux/sockios.h>

#include "cni/netns.h"
#include "nl-internal.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

void nl_sock_close(struct nl_sock *sk)
{
	if (!sk)
		return;
	if (sk->nl)
		mnl_socket_close(sk->nl);
	free(sk->buf);
	free(sk);
}

/*
 * A netlink socket belongs to the netns it was created in, for good: enter
 * the target only for socket(), and come back before anything can fail.
 */
int nl_sock_open_bus(int netns_fd, int bus, struct nl_sock **out, struct cni_err *err)
{
	struct nl_sock *sk = NULL;
	int saved = -1, one = 1, ret, e = 0;

	sk = calloc(1, sizeof(*sk));
	if (sk)
		sk->buf = malloc(NL_RECV_SIZE);
	if (!sk || !sk->buf) {
		ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "allocating a netlink socket");
		goto fail;
	}
	if (netns_fd >= 0) {
		ret = cni_netns_enter(netns_fd, &saved, err);
		if (ret < 0)
			goto fail;
	}
	sk->nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!sk->nl)
		e = errno;
	cni_netns_leave(saved);
	if (!sk->nl) {
		ret = cni_err_set(err, CNI_ERR_NETLINK, -e, "opening a netlink socket");
		goto fail;
	}
	/*
	 * Old kernels lack these; the requests still work, only with less detail.
	 * Strict checking makes rtnetlink honour a dump's filters (the link of
	 * an address dump, the table and oif of a route dump) instead of sending
	 * everything; the dump callbacks filter again for kernels without it.
	 */
	mnl_socket_setsockopt(sk->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(sk->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (bus == NETLINK_ROUTE)
		mnl_socket_setsockopt(sk->nl, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	if (mnl_socket_bind(sk->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = cni_err_set(err, CNI_ERR_NETLINK, -errno, "binding a netlink socket");
		goto fail;
	}
	sk->portid = mnl_socket_get_portid(sk->nl);
	sk->seq = (unsigned int)time(NULL);
	*out = sk;
	sk = NULL;
	ret = 0;
fail:
	nl_sock_close(sk);
	return ret;
}

int nl_sock_open(int netns_fd, struct nl_sock **out, struct cni_err *err)
{
	return nl_sock_open_bus(netns_fd, NETLINK_ROUTE, out, err);
}

int64_t nl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int nl_events_open(struct nl_sock *sk, unsigned int group, struct nl_sock **out, struct cni_err *err)
{
	struct nl_sock *ev = NULL;
	int nsfd, ret;

	nsfd = ioctl(mnl_socket_get_fd(sk->nl), SIOCGSKNS);
	if (nsfd < 0)
		return cni_err_set(err, CNI_ERR_NETLINK, -errno, "finding the netns of a netlink socket");
	ret = nl_sock_open(nsfd, &ev, err);
	close(nsfd);
	if (ret < 0)
		return ret;
	if (mnl_socket_setsockopt(ev->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		ret = cni_err_set(err, CNI_ERR_NETLINK, -errno, "subscribing to netlink group %u", group);
		nl_sock_close(ev);
		return ret;
	}
	*out = ev;
	return 0;
}

int nl_events_recv(struct nl_sock *ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - nl_now_ms();
		struct pollfd pfd = { .fd = mnl_socket_get_fd(ev->nl), .events = POLLIN };
		ssize_t n;
		int ret;

		ret = poll(&pfd, 1, left > 0 ? (int)(left > INT32_MAX ? INT32_MAX : left) : 0);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -ETIMEDOUT;
		n = mnl_socket_recvfrom(ev->nl, ev->buf, NL_RECV_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return (int)n;
	}
}

struct nlmsghdr *nl_msg_new(void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

int nl_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nl_attrs *a = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, a->max) < 0 || a->policy[type] == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, a->policy[type]) < 0)
		return MNL_CB_ERROR;
	a->tb[type] = attr;
	return MNL_CB_OK;
}

int nl_parse(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
	     const enum mnl_attr_data_type *policy, unsigned int max)
{
	struct nl_attrs a = { .tb = tb, .policy = policy, .max = max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen)
		return -EBADMSG;
	return mnl_attr_parse(nlh, hdrlen, nl_attr_cb, &a) == MNL_CB_OK ? 0 : -EBADMSG;
}

int nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
		    const enum mnl_attr_data_type *policy, unsigned int max)
{
	struct nl_attrs a = { .tb = tb, .policy = policy, .max = max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	return mnl_attr_parse_nested(nest, nl_attr_cb, &a) == MNL_CB_OK ? 0 : -EBADMSG;
}

int nl_attr_get_ip(const struct nlattr *attr, int family, struct cni_ip *out)
{
	size_t len = family == AF_INET ? 4 : 16;

	if ((family != AF_INET && family != AF_INET6) || mnl_attr_get_payload_len(attr) != len)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->a, mnl_attr_get_payload(attr), len);
	return 0;
}

static const enum mnl_attr_data_type extack_policy[NLMSGERR_ATTR_MAX + 1] = {
	[NLMSGERR_ATTR_MSG] = MNL_TYPE_NUL_STRING,
};

/* The TLVs start at off bytes into the payload of an ERROR or DONE message. */
static void nl_read_extack(struct nl_sock *sk, const struct nlmsghdr *nlh, size_t off)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { 0 };
	struct nl_attrs a = { .tb = tb, .policy = extack_policy, .max = NLMSGERR_ATTR_MAX };
	size_t len = mnl_nlmsg_get_payload_len(nlh);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off >= len)
		return;
	if (mnl_attr_parse_payload((const char *)mnl_nlmsg_get_payload(nlh) + off, len - off,
				   nl_attr_cb, &a) != MNL_CB_OK || !tb[NLMSGERR_ATTR_MSG])
		return;
	snprintf(sk->ext_msg, sizeof(sk->ext_msg), "%s", mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
}

/* Returns the errno of an NLMSG_ERROR (0 for an ACK), or -EBADMSG if it is malformed. */
static int nl_read_error(struct nl_sock *sk, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t len = mnl_nlmsg_get_payload_len(nlh), off;

	if (len < sizeof(*e))
		return -EBADMSG;
	if (nlh->nlmsg_flags & NLM_F_CAPPED) {
		off = sizeof(*e);
	} else {
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return -EBADMSG;
		off = sizeof(e->error) + MNL_ALIGN(e->msg.nlmsg_len);
	}
	nl_read_extack(sk, nlh, off);
	if (e->error > 0 || e->error < -4095)
		return -EBADMSG;
	return e->error;
}

/* The error of a NLMSG_DONE: a dump that failed halfway says so here. */
static int nl_read_done(struct nl_sock *sk, const struct nlmsghdr *nlh)
{
	int e;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(e))
		return 0;
	memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
	nl_read_extack(sk, nlh, sizeof(e));
	return e > 0 || e < -4095 ? -EBADMSG : e;
}

int nl_talk(struct nl_sock *sk, struct nlmsghdr *nlh, nl_msg_cb cb, void *data)
{
	bool done = false, intr = false;
	unsigned int seq;
	int ret = 0;

	if (++sk->seq == 0)
		sk->seq = 1;
	seq = sk->seq;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	sk->ext_msg[0] = '\0';
	if (mnl_socket_sendto(sk->nl, nlh, nlh->nlmsg_len) < 0)
		return errno ? -errno : -EIO;

	while (!done) {
		const struct nlmsghdr *m;
		ssize_t n = mnl_socket_recvfrom(sk->nl, sk->buf, NL_RECV_SIZE);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* ENOSPC: libmnl saw MSG_TRUNC; the rest of this reply is lost. */
			return errno == ENOSPC ? -EMSGSIZE : errno ? -errno : -EIO;
		}
		if (n == 0)
			return -EBADMSG;
		len = (int)n;
		for (m = (const struct nlmsghdr *)sk->buf; nl_msg_ok(m, len);
		     m = mnl_nlmsg_next(m, &len)) {
			int e;

			/* Left over from an earlier request, or not for us at all. */
			if (m->nlmsg_seq != seq || (m->nlmsg_pid && m->nlmsg_pid != sk->portid))
				continue;
			switch (m->nlmsg_type) {
			case NLMSG_NOOP:
				continue;
			case NLMSG_ERROR:
				e = nl_read_error(sk, m);
				if (!ret)
					ret = e;
				done = true;
				break;
			case NLMSG_DONE:
				e = nl_read_done(sk, m);
				if (!ret)
					ret = e;
				done = true;
				break;
			case NLMSG_OVERRUN:
				if (!ret)
					ret = -EBADMSG;
				done = true;
				break;
			default:
				if (m->nlmsg_flags & NLM_F_DUMP_INTR)
					intr = true;
				/* After a bad message, keep reading to the end so that the
				 * next request does not find the rest of this reply. */
				if (!ret && cb && cb(m, data) != MNL_CB_OK)
					ret = -EBADMSG;
				break;
			}
			if (done)
				break;
		}
		/* Bytes that are no message: we cannot tell where the reply ends. */
		if (!done && len != 0)
			return -EBADMSG;
	}
	if (!ret && intr)
		ret = -EINTR;
	return ret;
}

int nl_dump(struct nl_sock *sk, struct nlmsghdr *nlh, nl_msg_cb cb, void (*reset)(void *),
	    void *data)
{
	int i, ret = -EINTR;

	for (i = 0; i < NL_DUMP_RETRIES && ret == -EINTR; i++) {
		if (i && reset)
			reset(data);
		ret = nl_talk(sk, nlh, cb, data);
	}
	/* Still interrupted: the table changes faster than we can read it. */
	return ret == -EINTR ? -EAGAIN : ret;
}

int nl_fail(struct nl_sock *sk, struct cni_err *err, int ret, const char *fmt, ...)
{
	char what[CNI_ERR_MSG_MAX];
	va_list ap;

	if (!err || cni_err_is_set(err))
		return ret < 0 ? ret : -EINVAL;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ret = cni_err_set(err, CNI_ERR_NETLINK, ret, "%s", what);
	if (sk && sk->ext_msg[0])
		cni_err_details(err, "%s", sk->ext_msg);
	return ret;
}

int nl_check_name(const char *name, const char *what, struct cni_err *err)
{
	size_t len = name ? strnlen(name, NL_IFNAMSIZ) : 0;

	if (len == 0 || len >= NL_IFNAMSIZ)
		return cni_err_set(err, CNI_ERR_NETLINK, -EINVAL,
				   "%s \"%.32s\": must be 1 to %d bytes", what, name ? name : "",
				   NL_IFNAMSIZ - 1);
	if (strchr(name, '/') || strchr(name, ':') || strpbrk(name, " \t\n") ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return cni_err_set(err, CNI_ERR_NETLINK, -EINVAL, "%s \"%s\": not a valid interface name",
				   what, name);
	return 0;
}
