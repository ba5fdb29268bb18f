// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "nl-internal.h"

_Static_assert(NL_ADDR_NODAD == IFA_F_NODAD, "NODAD flag");
_Static_assert(NL_ADDR_NOPREFIXROUTE == IFA_F_NOPREFIXROUTE, "NOPREFIXROUTE flag");
_Static_assert((int)NL_SCOPE_LINK == (int)RT_SCOPE_LINK && (int)NL_SCOPE_HOST == (int)RT_SCOPE_HOST, "scopes");

static bool prefix_ok(const struct cni_prefix *p)
{
	return (p->ip.family == AF_INET || p->ip.family == AF_INET6) && p->len <= cni_ip_bits(&p->ip);
}

static int addr_change(struct nl_sock *sk, uint16_t type, uint16_t flags, const struct nl_addr *a,
		       struct cni_err *err, const char *what, const char *prep)
{
	char buf[NL_SEND_SIZE], label[NL_LABEL_LEN], pfx[CNI_PREFIX_STRLEN];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int ret, n;

	if (!prefix_ok(&a->prefix) || a->ifindex <= 0)
		return cni_err_set(err, CNI_ERR_NETLINK, -EINVAL, "%s an address: invalid address or link",
				   what);
	n = cni_ip_bytes(&a->prefix.ip);
	nlh = nl_msg_new(buf, type, flags);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = a->prefix.ip.family;
	ifa->ifa_prefixlen = a->prefix.len;
	ifa->ifa_flags = a->flags & 0xff;
	ifa->ifa_scope = a->scope;
	ifa->ifa_index = a->ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, n, a->prefix.ip.a);
	mnl_attr_put(nlh, IFA_ADDRESS, n, a->prefix.ip.a);
	/* As `ip addr add ... brd +` and the Go netlink library do. */
	if (type == RTM_NEWADDR && a->prefix.ip.family == AF_INET && a->prefix.len < 31) {
		struct cni_ip brd = cni_prefix_last(&a->prefix);

		mnl_attr_put(nlh, IFA_BROADCAST, 4, brd.a);
	}
	/* Flags above bit 7 (NOPREFIXROUTE) exist only as IFA_FLAGS. */
	if (type == RTM_NEWADDR && a->flags)
		mnl_attr_put_u32(nlh, IFA_FLAGS, a->flags);
	ret = nl_talk(sk, nlh, NULL, NULL);
	if (ret < 0)
		return nl_fail(sk, err, ret, "%s %s %s %s", what, cni_prefix_format(&a->prefix, pfx), prep,
			       nl_link_label(sk, a->ifindex, label));
	return 0;
}

int nl_addr_add(struct nl_sock *sk, const struct nl_addr *a, struct cni_err *err)
{
	return addr_change(sk, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, a, err, "adding", "to");
}

int nl_addr_replace(struct nl_sock *sk, const struct nl_addr *a, struct cni_err *err)
{
	return addr_change(sk, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, a, err, "replacing", "on");
}

int nl_addr_del(struct nl_sock *sk, const struct nl_addr *a, struct cni_err *err)
{
	return addr_change(sk, RTM_DELADDR, 0, a, err, "removing", "from");
}

struct addr_list {
	int ifindex, family;
	struct nl_addr *v;
	size_t n, cap;
};

static const enum mnl_attr_data_type addr_policy[IFA_MAX + 1] = {
	[IFA_ADDRESS] = MNL_TYPE_BINARY,
	[IFA_LOCAL] = MNL_TYPE_BINARY,
	[IFA_FLAGS] = MNL_TYPE_U32,
};

static int addr_list_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1], *addr;
	struct addr_list *l = data;
	struct nl_addr a = { 0 };

	if (nlh->nlmsg_type != RTM_NEWADDR || nl_parse(nlh, sizeof(*ifa), tb, addr_policy, IFA_MAX) < 0)
		return MNL_CB_ERROR;
	if ((ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) ||
	    (l->family != AF_UNSPEC && ifa->ifa_family != l->family) ||
	    (l->ifindex && (int)ifa->ifa_index != l->ifindex))
		return MNL_CB_OK;
	/* On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours. */
	addr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!addr || nl_attr_get_ip(addr, ifa->ifa_family, &a.prefix.ip) < 0 ||
	    ifa->ifa_prefixlen > cni_ip_bits(&a.prefix.ip))
		return MNL_CB_ERROR;
	a.prefix.len = ifa->ifa_prefixlen;
	a.ifindex = (int)ifa->ifa_index;
	a.flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	a.scope = ifa->ifa_scope;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct nl_addr *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			return MNL_CB_ERROR;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = a;
	return MNL_CB_OK;
}

static void addr_list_reset(void *data)
{
	((struct addr_list *)data)->n = 0;
}

int nl_addr_list(struct nl_sock *sk, int ifindex, int family, struct nl_addr **out, size_t *n,
		 struct cni_err *err)
{
	struct addr_list l = { .ifindex = ifindex, .family = family };
	char buf[NL_SEND_SIZE], label[NL_LABEL_LEN];
	struct nlmsghdr *nlh = nl_msg_new(buf, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	int ret;

	ifa->ifa_family = family;
	/* With strict checking the kernel dumps only this link (addr_list_cb still filters). */
	ifa->ifa_index = (uint32_t)ifindex;
	ret = nl_dump(sk, nlh, addr_list_cb, addr_list_reset, &l);
	if (ret < 0) {
		free(l.v);
		return nl_fail(sk, err, ret, "listing the addresses of %s",
			       ifindex ? nl_link_label(sk, ifindex, label) : "all links");
	}
	if (!l.n) {
		free(l.v);
		l.v = NULL;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

/* 1 when no IPv6 address of ifindex is tentative, 0 while one is, -EADDRINUSE with *bad when DAD failed. */
static int dad_state(struct nl_sock *sk, int ifindex, struct cni_prefix *bad, struct cni_err *err)
{
	struct nl_addr *a = NULL;
	size_t n = 0, i;
	int ret;

	ret = nl_addr_list(sk, ifindex, AF_INET6, &a, &n, err);
	if (ret < 0)
		return ret;
	ret = 1;
	for (i = 0; i < n; i++) {
		if (a[i].flags & IFA_F_DADFAILED) {
			*bad = a[i].prefix;
			ret = -EADDRINUSE;
			break;
		}
		if (a[i].flags & IFA_F_TENTATIVE)
			ret = 0;
	}
	free(a);
	return ret;
}

/*
 * Address events are subscribed to before the first look, so the end of DAD
 * cannot slip between a look and the wait; any event (or lost events) means
 * look again, which costs one small dump of one link's addresses.
 */
int nl_addr_wait_dad(struct nl_sock *sk, int ifindex, int timeout_ms, struct cni_err *err)
{
	int64_t deadline = nl_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char label[NL_LABEL_LEN], pfx[CNI_PREFIX_STRLEN];
	struct cni_prefix bad = { 0 };
	struct nl_sock *ev = NULL;
	struct nl_link l;
	int ret, n;

	ret = nl_events_open(sk, RTNLGRP_IPV6_IFADDR, &ev, err);
	if (ret < 0)
		return ret;
	for (;;) {
		ret = dad_state(sk, ifindex, &bad, err);
		if (ret != 0)
			break;
		n = nl_events_recv(ev, deadline);
		if (n == -ETIMEDOUT) {
			/* A link that is not up does no DAD yet: settled for now, as upstream decides. */
			ret = nl_link_get_index(sk, ifindex, &l, err);
			if (ret == 0 && l.operstate != NL_OPER_UP)
				ret = 1;
			else if (ret == 0)
				ret = cni_err_set(err, CNI_ERR_DAD, -ETIMEDOUT,
						  "IPv6 duplicate address detection on %s did not finish within %d ms",
						  nl_link_label(sk, ifindex, label), timeout_ms);
			break;
		}
		if (n < 0 && n != -ENOBUFS) {
			ret = nl_fail(sk, err, n, "waiting for IPv6 duplicate address detection on %s",
				      nl_link_label(sk, ifindex, label));
			break;
		}
	}
	nl_sock_close(ev);
	if (ret == -EADDRINUSE)
		return cni_err_set(err, CNI_ERR_DAD, ret,
				   "IPv6 duplicate address detection failed for %s on %s: another node on the link uses it",
				   cni_prefix_format(&bad, pfx), nl_link_label(sk, ifindex, label));
	return ret < 0 ? ret : 0;
}
