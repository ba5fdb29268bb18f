/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_NL_INTERNAL_H
#define CNI_NL_INTERNAL_H

/* Shared by the files of pkg/netlink only: the request/dump engine and attribute helpers. */

#include <stdarg.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

#include "cni/nl.h"

/* libmnl 1.0.4 has no MNL_SOCKET_DUMP_SIZE; the kernel never builds dump skbs above 32 KiB. */
#define NL_RECV_SIZE 32768
#define NL_SEND_SIZE 8192
#define NL_DUMP_RETRIES 8

struct nl_sock {
	struct mnl_socket *nl;
	unsigned int portid;
	unsigned int seq;
	char ext_msg[256];		/* extack text of the last reply, "" if none */
	char *buf;			/* NL_RECV_SIZE bytes */
};

/*
 * mnl_nlmsg_ok() compares (int)nlmsg_len, so a length above INT_MAX passes it
 * and mnl_nlmsg_next() then never advances: check it unsigned.
 */
static inline bool nl_msg_ok(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned int)len;
}

/* Called for every data message of a reply; return MNL_CB_OK or MNL_CB_ERROR (-> -EBADMSG). */
typedef int (*nl_msg_cb)(const struct nlmsghdr *nlh, void *data);

/*
 * Sends nlh (seq and NLM_F_ACK set here) and reads the reply up to its ACK,
 * error or NLMSG_DONE, handing data messages to cb (may be NULL). Returns 0,
 * the kernel's -errno (sk->ext_msg holds its text), -EINTR if a dump was
 * interrupted, or -EBADMSG for a malformed reply. Sets no cni_err.
 */
int nl_talk(struct nl_sock *sk, struct nlmsghdr *nlh, nl_msg_cb cb, void *data);

/* nl_talk() for a dump, retried on NLM_F_DUMP_INTR after calling reset(data). */
int nl_dump(struct nl_sock *sk, struct nlmsghdr *nlh, nl_msg_cb cb, void (*reset)(void *),
	    void *data);

/* Records "<fmt>: strerror(-ret)" and the kernel's extack in err; returns ret. */
int nl_fail(struct nl_sock *sk, struct cni_err *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* 0 if name is a usable interface name, else -EINVAL with err set (what = "veth name"). */
int nl_check_name(const char *name, const char *what, struct cni_err *err);

/*
 * Attribute table parsing: tb[type] is set for every type up to max whose
 * policy entry is not MNL_TYPE_UNSPEC and which validates; unknown types are
 * skipped; a known type of bad size fails the parse.
 */
struct nl_attrs {
	const struct nlattr **tb;
	const enum mnl_attr_data_type *policy;
	unsigned int max;
};

int nl_attr_cb(const struct nlattr *attr, void *data);
int nl_parse(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
	     const enum mnl_attr_data_type *policy, unsigned int max);
int nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
		    const enum mnl_attr_data_type *policy, unsigned int max);

/* "eth0" (looked up) or "ifindex 7" for messages; keeps sk->ext_msg. buf: NL_LABEL_LEN bytes. */
#define NL_LABEL_LEN 32
const char *nl_link_label(struct nl_sock *sk, int ifindex, char *buf);

/* Helpers for the ip <-> attribute glue. */
int nl_attr_get_ip(const struct nlattr *attr, int family, struct cni_ip *out);

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
int64_t nl_now_ms(void);

/*
 * Opens a second socket in the netns of sk, subscribed to the rtnetlink
 * multicast group (RTNLGRP_*): subscribe first, then read the state through
 * sk, and no change after that read can be missed.
 */
int nl_events_open(struct nl_sock *sk, unsigned int group, struct nl_sock **out, struct cni_err *err);

/*
 * Waits without sleeping for the next batch of events on ev until deadline
 * (nl_now_ms() clock): its length in ev->buf, -ETIMEDOUT, -ENOBUFS when the
 * kernel dropped events (read the state again), or another -errno.
 */
int nl_events_recv(struct nl_sock *ev, int64_t deadline);

/* The stack buffer a request is built in; NL_SEND_SIZE is ample for rtnetlink requests. */
/* nl_sock_open() for another netlink bus (NETLINK_NETFILTER for ctnetlink). */
int nl_sock_open_bus(int netns_fd, int bus, struct nl_sock **out, struct cni_err *err)
	__attribute__((warn_unused_result));

struct nlmsghdr *nl_msg_new(void *buf, uint16_t type, uint16_t flags);

#endif
