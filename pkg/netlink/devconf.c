// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-device IP knobs through rtnetlink rather than /proc/sys: every path
 * lookup under /proc/sys/net walks dentry hash chains as long as the number of
 * network namespaces on the machine, while these requests cost the same on a
 * node with one pod or a thousand.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>

#include "nl-internal.h"

/* Enough for every IPv4 knob; a request is a few bytes per knob. */
#define DEVCONF_SET_MAX 64

int nl_devconf_set(struct nl_sock *sk, int ifindex, const struct nl_devconf *c, size_t n,
		   struct cni_err *err)
{
	char buf[NL_SEND_SIZE], label[NL_LABEL_LEN];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *spec, *af, *conf;
	size_t i;
	int ret;

	if (n > DEVCONF_SET_MAX)
		return cni_err_set(err, CNI_ERR_INTERNAL, -E2BIG, "%zu IPv4 knobs in one request", n);
	for (i = 0; i < n; i++)
		if (c[i].family != AF_INET || c[i].id == 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL,
					   "knob %u of family %d cannot be set through rtnetlink",
					   c[i].id, c[i].family);
	if (n == 0)
		return 0;
	nlh = nl_msg_new(buf, RTM_SETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	af = mnl_attr_nest_start(nlh, AF_INET);
	/* IFLA_INET_CONF holds one u32 per knob, its type being the knob's id. */
	conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);
	for (i = 0; i < n; i++)
		mnl_attr_put_u32(nlh, (uint16_t)c[i].id, (uint32_t)c[i].value);
	mnl_attr_nest_end(nlh, conf);
	mnl_attr_nest_end(nlh, af);
	mnl_attr_nest_end(nlh, spec);
	ret = nl_talk(sk, nlh, NULL, NULL);
	if (ret < 0)
		return nl_fail(sk, err, ret, "setting IPv4 knobs of %s", nl_link_label(sk, ifindex, label));
	return 0;
}

struct devconf_get {
	struct nl_devconf *c;
	size_t n;
	bool seen;
};

static const enum mnl_attr_data_type getlink_policy[IFLA_MAX + 1] = {
	[IFLA_AF_SPEC] = MNL_TYPE_NESTED,
};

/* IFLA_INET_CONF / IFLA_INET6_CONF: arrays of 32-bit values, IPv4's from id 1, IPv6's from 0. */
static void devconf_fill(struct devconf_get *g, int family, const struct nlattr *arr)
{
	size_t len = mnl_attr_get_payload_len(arr) / sizeof(int32_t), i, slot;
	const char *p = mnl_attr_get_payload(arr);
	int32_t v;

	for (i = 0; i < g->n; i++) {
		if (g->c[i].family != family)
			continue;
		if (family == AF_INET && g->c[i].id == 0)
			continue;
		slot = family == AF_INET ? g->c[i].id - 1 : g->c[i].id;
		if (slot >= len)
			continue;
		memcpy(&v, p + slot * sizeof(v), sizeof(v));
		g->c[i].value = v;
		g->c[i].found = true;
	}
}

static int devconf_get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct devconf_get *g = data;
	const struct nlattr *tb[IFLA_MAX + 1], *af, *a;

	if (nlh->nlmsg_type != RTM_NEWLINK || g->seen ||
	    nl_parse(nlh, sizeof(struct ifinfomsg), tb, getlink_policy, IFLA_MAX) < 0)
		return MNL_CB_ERROR;
	g->seen = true;
	if (!tb[IFLA_AF_SPEC])
		return MNL_CB_OK;
	mnl_attr_for_each_nested(af, tb[IFLA_AF_SPEC]) {
		uint16_t family = mnl_attr_get_type(af);
		uint16_t want = family == AF_INET ? IFLA_INET_CONF : IFLA_INET6_CONF;

		if (family != AF_INET && family != AF_INET6)
			continue;
		if (mnl_attr_validate(af, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		mnl_attr_for_each_nested(a, af)
			if (mnl_attr_get_type(a) == want)
				devconf_fill(g, family, a);
	}
	return MNL_CB_OK;
}

int nl_devconf_get(struct nl_sock *sk, int ifindex, struct nl_devconf *c, size_t n,
		   struct cni_err *err)
{
	char buf[NL_SEND_SIZE], label[NL_LABEL_LEN];
	struct devconf_get g = { .c = c, .n = n };
	struct nlmsghdr *nlh = nl_msg_new(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	size_t i;
	int ret;

	for (i = 0; i < n; i++)
		c[i].found = false;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	ret = nl_talk(sk, nlh, devconf_get_cb, &g);
	if (ret == 0 && !g.seen)
		ret = -ENODEV;
	if (ret < 0) {
		for (i = 0; i < n; i++)
			c[i].found = false;
		return nl_fail(sk, err, ret, "reading the IP knobs of %s",
			       nl_link_label(sk, ifindex, label));
	}
	return 0;
}

static const enum mnl_attr_data_type netconf_policy[NETCONFA_MAX + 1] = {
	[NETCONFA_IFINDEX] = MNL_TYPE_U32,
	[NETCONFA_FORWARDING] = MNL_TYPE_U32,
};

struct netconf_get {
	int forwarding;		/* -1 until the reply says */
};

static int netconf_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NETCONFA_MAX + 1];
	struct netconf_get *g = data;

	if (nlh->nlmsg_type != RTM_NEWNETCONF ||
	    nl_parse(nlh, sizeof(struct netconfmsg), tb, netconf_policy, NETCONFA_MAX) < 0)
		return MNL_CB_ERROR;
	if (tb[NETCONFA_IFINDEX] && (int32_t)mnl_attr_get_u32(tb[NETCONFA_IFINDEX]) != NETCONFA_IFINDEX_ALL)
		return MNL_CB_OK;
	if (tb[NETCONFA_FORWARDING])
		g->forwarding = mnl_attr_get_u32(tb[NETCONFA_FORWARDING]) != 0;
	return MNL_CB_OK;
}

int nl_devconf_forwarding(struct nl_sock *sk, int family, bool *on, struct cni_err *err)
{
	char buf[NL_SEND_SIZE];
	struct netconf_get g = { .forwarding = -1 };
	struct nlmsghdr *nlh = nl_msg_new(buf, RTM_GETNETCONF, 0);
	struct netconfmsg *ncm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ncm));
	const char *what = family == AF_INET6 ? "IPv6" : "IPv4";
	int ret;

	if (family != AF_INET && family != AF_INET6)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EAFNOSUPPORT, "forwarding of family %d", family);
	ncm->ncm_family = (uint8_t)family;
	mnl_attr_put_u32(nlh, NETCONFA_IFINDEX, (uint32_t)NETCONFA_IFINDEX_ALL);
	ret = nl_talk(sk, nlh, netconf_cb, &g);
	if (ret == 0 && g.forwarding < 0)
		ret = -EBADMSG;
	if (ret < 0)
		return nl_fail(sk, err, ret, "reading whether the node forwards %s", what);
	*on = g.forwarding;
	return 0;
}
