// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "nl-internal.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000	/* linux/if.h, which clashes with net/if.h */
#endif

static const enum mnl_attr_data_type link_policy[IFLA_MAX + 1] = {
	[IFLA_IFNAME] = MNL_TYPE_NUL_STRING,
	[IFLA_ADDRESS] = MNL_TYPE_BINARY,
	[IFLA_MTU] = MNL_TYPE_U32,
	[IFLA_TXQLEN] = MNL_TYPE_U32,
	[IFLA_MASTER] = MNL_TYPE_U32,
	[IFLA_OPERSTATE] = MNL_TYPE_U8,
	[IFLA_LINK] = MNL_TYPE_U32,
	[IFLA_LINK_NETNSID] = MNL_TYPE_U32,
	[IFLA_LINKINFO] = MNL_TYPE_NESTED,
};

static const enum mnl_attr_data_type info_policy[IFLA_INFO_MAX + 1] = {
	[IFLA_INFO_KIND] = MNL_TYPE_NUL_STRING,
	[IFLA_INFO_DATA] = MNL_TYPE_NESTED,
	[IFLA_INFO_SLAVE_KIND] = MNL_TYPE_NUL_STRING,
	[IFLA_INFO_SLAVE_DATA] = MNL_TYPE_NESTED,
};

static const enum mnl_attr_data_type br_policy[IFLA_BR_MAX + 1] = {
	[IFLA_BR_VLAN_FILTERING] = MNL_TYPE_U8,
};

static const enum mnl_attr_data_type brport_policy[IFLA_BRPORT_MAX + 1] = {
	[IFLA_BRPORT_MODE] = MNL_TYPE_U8,
	[IFLA_BRPORT_ISOLATED] = MNL_TYPE_U8,
};

/* IFLA_LINKINFO: the kind says how to read the data next to it. */
static int link_parse_info(const struct nlattr *nest, struct nl_link *l)
{
	const struct nlattr *info[IFLA_INFO_MAX + 1], *tb[IFLA_BRPORT_MAX + 1];
	const struct nlattr *br[IFLA_BR_MAX + 1];

	if (nl_parse_nested(nest, info, info_policy, IFLA_INFO_MAX) < 0)
		return -EBADMSG;
	if (info[IFLA_INFO_KIND])
		snprintf(l->kind, sizeof(l->kind), "%s", mnl_attr_get_str(info[IFLA_INFO_KIND]));
	if (!strcmp(l->kind, "bridge") && info[IFLA_INFO_DATA]) {
		if (nl_parse_nested(info[IFLA_INFO_DATA], br, br_policy, IFLA_BR_MAX) < 0)
			return -EBADMSG;
		if (br[IFLA_BR_VLAN_FILTERING])
			l->vlan_filtering = mnl_attr_get_u8(br[IFLA_BR_VLAN_FILTERING]);
	}
	if (info[IFLA_INFO_SLAVE_KIND] && info[IFLA_INFO_SLAVE_DATA] &&
	    !strcmp(mnl_attr_get_str(info[IFLA_INFO_SLAVE_KIND]), "bridge")) {
		if (nl_parse_nested(info[IFLA_INFO_SLAVE_DATA], tb, brport_policy, IFLA_BRPORT_MAX) < 0)
			return -EBADMSG;
		if (tb[IFLA_BRPORT_MODE])
			l->hairpin = mnl_attr_get_u8(tb[IFLA_BRPORT_MODE]);
		if (tb[IFLA_BRPORT_ISOLATED])
			l->isolated = mnl_attr_get_u8(tb[IFLA_BRPORT_ISOLATED]);
	}
	return 0;
}

static int link_parse(const struct nlmsghdr *nlh, struct nl_link *out)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nl_link l = { .link_netnsid = -1 };

	if (nl_parse(nlh, sizeof(*ifi), tb, link_policy, IFLA_MAX) < 0 || !tb[IFLA_IFNAME] ||
	    mnl_attr_get_payload_len(tb[IFLA_IFNAME]) > NL_IFNAMSIZ)
		return -EBADMSG;
	l.ifindex = ifi->ifi_index;
	l.flags = ifi->ifi_flags;
	l.up = ifi->ifi_flags & IFF_UP;
	l.promisc = ifi->ifi_flags & IFF_PROMISC;
	l.allmulti = ifi->ifi_flags & IFF_ALLMULTI;
	strcpy(l.name, mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == NL_MAC_LEN)
		memcpy(l.mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), NL_MAC_LEN);
	if (tb[IFLA_MTU])
		l.mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_TXQLEN])
		l.txqlen = mnl_attr_get_u32(tb[IFLA_TXQLEN]);
	if (tb[IFLA_MASTER])
		l.master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_OPERSTATE])
		l.operstate = mnl_attr_get_u8(tb[IFLA_OPERSTATE]);
	if (tb[IFLA_LINK])
		l.link = (int)mnl_attr_get_u32(tb[IFLA_LINK]);
	if (tb[IFLA_LINK_NETNSID])
		l.link_netnsid = (int)mnl_attr_get_u32(tb[IFLA_LINK_NETNSID]);
	if (tb[IFLA_LINKINFO] && link_parse_info(tb[IFLA_LINKINFO], &l) < 0)
		return -EBADMSG;
	*out = l;
	return 0;
}

struct link_get {
	struct nl_link link;
	bool found;
};

static int link_get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_get *g = data;

	if (nlh->nlmsg_type != RTM_NEWLINK || g->found)
		return MNL_CB_ERROR;
	if (link_parse(nlh, &g->link) < 0)
		return MNL_CB_ERROR;
	g->found = true;
	return MNL_CB_OK;
}

static struct nlmsghdr *link_msg(void *buf, uint16_t type, uint16_t flags, int family, int ifindex)
{
	struct nlmsghdr *nlh = nl_msg_new(buf, type, flags);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = family;
	ifi->ifi_index = ifindex;
	return nlh;
}

/* One GETLINK by name (ifindex 0) or by index. */
static int link_get(struct nl_sock *sk, const char *name, int ifindex, struct nl_link *out)
{
	char buf[NL_SEND_SIZE];
	struct link_get g = { .found = false };
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, AF_UNSPEC, ifindex);
	int ret;

	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	ret = nl_talk(sk, nlh, link_get_cb, &g);
	if (ret < 0)
		return ret;
	if (!g.found)
		return -ENODEV;
	*out = g.link;
	return 0;
}

int nl_link_get(struct nl_sock *sk, const char *name, struct nl_link *out, struct cni_err *err)
{
	int ret = nl_check_name(name, "link name", err);

	if (ret < 0)
		return ret;
	ret = link_get(sk, name, 0, out);
	if (ret < 0)
		return nl_fail(sk, err, ret, "looking up link %s", name);
	return 0;
}

int nl_link_get_index(struct nl_sock *sk, int ifindex, struct nl_link *out, struct cni_err *err)
{
	int ret;

	if (ifindex <= 0)
		return cni_err_set(err, CNI_ERR_NETLINK, -ENODEV, "looking up link %d", ifindex);
	ret = link_get(sk, NULL, ifindex, out);
	if (ret < 0)
		return nl_fail(sk, err, ret, "looking up link %d", ifindex);
	return 0;
}

const char *nl_link_label(struct nl_sock *sk, int ifindex, char *buf)
{
	char ext[sizeof(sk->ext_msg)];
	struct nl_link l;

	memcpy(ext, sk->ext_msg, sizeof(ext));
	if (ifindex > 0 && link_get(sk, NULL, ifindex, &l) == 0)
		snprintf(buf, NL_LABEL_LEN, "%s", l.name);
	else
		snprintf(buf, NL_LABEL_LEN, "ifindex %d", ifindex);
	memcpy(sk->ext_msg, ext, sizeof(ext));
	return buf;
}

/* Created links are looked up by name: the socket's netns holds `name`. */
static int link_created(struct nl_sock *sk, const char *name, int *ifindex, struct cni_err *err)
{
	struct nl_link l;
	int ret;

	if (!ifindex)
		return 0;
	ret = nl_link_get(sk, name, &l, err);
	if (ret < 0)
		return ret;
	*ifindex = l.ifindex;
	return 0;
}

int nl_link_add_veth(struct nl_sock *sk, const struct nl_veth *v, int *ifindex, struct cni_err *err)
{
	struct nlattr *info, *data, *peer;
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	ret = nl_check_name(v->name, "veth name", err);
	if (ret == 0)
		ret = nl_check_name(v->peer_name, "veth peer name", err);
	if (ret < 0)
		return ret;
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->name);
	if (v->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	if (v->mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, NL_MAC_LEN, v->mac);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of their own. */
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->peer_name);
	if (v->peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)v->peer_netns_fd);
	if (v->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	if (v->peer_mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, NL_MAC_LEN, v->peer_mac);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	ret = nl_talk(sk, nlh, NULL, NULL);
	if (ret < 0)
		return nl_fail(sk, err, ret, "creating veth %s (peer %s)", v->name, v->peer_name);
	return link_created(sk, v->name, ifindex, err);
}

int nl_link_add_bridge(struct nl_sock *sk, const struct nl_bridge *b, int *ifindex, struct cni_err *err)
{
	struct nlattr *info, *data;
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	ret = nl_check_name(b->name, "bridge name", err);
	if (ret < 0)
		return ret;
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, b->name);
	if (b->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, b->mtu);
	if (b->mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, NL_MAC_LEN, b->mac);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	/* Kernels without CONFIG_BRIDGE_VLAN_FILTERING refuse the attribute even as 0. */
	if (b->vlan_filtering) {
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, 1);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	ret = nl_talk(sk, nlh, NULL, NULL);
	if (ret < 0)
		return nl_fail(sk, err, ret, "creating bridge %s%s", b->name,
			       b->vlan_filtering ? " with vlan_filtering" : "");
	return link_created(sk, b->name, ifindex, err);
}

/* Sends a built link request; on failure names the link in the message. */
static int link_change(struct nl_sock *sk, struct nlmsghdr *nlh, int ifindex, struct cni_err *err,
		       const char *what)
{
	char label[NL_LABEL_LEN];
	int ret = nl_talk(sk, nlh, NULL, NULL);

	if (ret < 0)
		return nl_fail(sk, err, ret, "%s %s", what, nl_link_label(sk, ifindex, label));
	return 0;
}

int nl_link_del(struct nl_sock *sk, int ifindex, struct cni_err *err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, AF_UNSPEC, ifindex);

	return link_change(sk, nlh, ifindex, err, "deleting link");
}

static int link_set_flag(struct nl_sock *sk, int ifindex, unsigned int flag, bool on,
			 struct cni_err *err, const char *what)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, AF_UNSPEC, ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_change = flag;
	ifi->ifi_flags = on ? flag : 0;
	return link_change(sk, nlh, ifindex, err, what);
}

int nl_link_set_up(struct nl_sock *sk, int ifindex, bool up, struct cni_err *err)
{
	return link_set_flag(sk, ifindex, IFF_UP, up, err, up ? "setting up" : "setting down");
}

int nl_link_set_promisc(struct nl_sock *sk, int ifindex, bool on, struct cni_err *err)
{
	return link_set_flag(sk, ifindex, IFF_PROMISC, on, err,
			     on ? "turning promisc on for" : "turning promisc off for");
}

int nl_link_set_allmulti(struct nl_sock *sk, int ifindex, bool on, struct cni_err *err)
{
	return link_set_flag(sk, ifindex, IFF_ALLMULTI, on, err,
			     on ? "turning allmulticast on for" : "turning allmulticast off for");
}

int nl_link_set_txqlen(struct nl_sock *sk, int ifindex, unsigned int qlen, struct cni_err *err)
{
	char buf[NL_SEND_SIZE], what[48];
	struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, AF_UNSPEC, ifindex);

	mnl_attr_put_u32(nlh, IFLA_TXQLEN, qlen);
	snprintf(what, sizeof(what), "setting txqueuelen %u on", qlen);
	return link_change(sk, nlh, ifindex, err, what);
}

int nl_link_set_mtu(struct nl_sock *sk, int ifindex, unsigned int mtu, struct cni_err *err)
{
	char buf[NL_SEND_SIZE], what[48];
	struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, AF_UNSPEC, ifindex);

	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	snprintf(what, sizeof(what), "setting mtu %u on", mtu);
	return link_change(sk, nlh, ifindex, err, what);
}

int nl_link_set_mac(struct nl_sock *sk, int ifindex, const uint8_t mac[NL_MAC_LEN], struct cni_err *err)
{
	char buf[NL_SEND_SIZE], what[48];
	struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, AF_UNSPEC, ifindex);

	mnl_attr_put(nlh, IFLA_ADDRESS, NL_MAC_LEN, mac);
	snprintf(what, sizeof(what), "setting mac %02x:%02x:%02x:%02x:%02x:%02x on",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return link_change(sk, nlh, ifindex, err, what);
}

int nl_link_set_master(struct nl_sock *sk, int ifindex, int master, struct cni_err *err)
{
	char buf[NL_SEND_SIZE], label[NL_LABEL_LEN], mlabel[NL_LABEL_LEN];
	struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, AF_UNSPEC, ifindex);
	int ret;

	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)(master > 0 ? master : 0));
	ret = nl_talk(sk, nlh, NULL, NULL);
	if (ret < 0 && master > 0)
		return nl_fail(sk, err, ret, "attaching %s to %s", nl_link_label(sk, ifindex, label),
			       nl_link_label(sk, master, mlabel));
	if (ret < 0)
		return nl_fail(sk, err, ret, "detaching %s from its master",
			       nl_link_label(sk, ifindex, label));
	return 0;
}

int nl_bridge_set_vlan_filtering(struct nl_sock *sk, int ifindex, bool on, struct cni_err *err)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, AF_UNSPEC, ifindex);
	struct nlattr *info, *data;

	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, on);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return link_change(sk, nlh, ifindex, err,
			   on ? "turning vlan_filtering on for" : "turning vlan_filtering off for");
}

/* Port flags go to the bridge (AF_BRIDGE) as IFLA_PROTINFO, which must be flagged nested. */
static int port_set_u8(struct nl_sock *sk, int ifindex, uint16_t attr, bool on, struct cni_err *err,
		       const char *what)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, AF_BRIDGE, ifindex);
	struct nlattr *nest = mnl_attr_nest_start(nlh, IFLA_PROTINFO | NLA_F_NESTED);

	mnl_attr_put_u8(nlh, attr, on);
	mnl_attr_nest_end(nlh, nest);
	return link_change(sk, nlh, ifindex, err, what);
}

int nl_bridge_port_set_hairpin(struct nl_sock *sk, int ifindex, bool on, struct cni_err *err)
{
	return port_set_u8(sk, ifindex, IFLA_BRPORT_MODE, on, err,
			   on ? "turning hairpin on for" : "turning hairpin off for");
}

int nl_bridge_port_set_isolated(struct nl_sock *sk, int ifindex, bool on, struct cni_err *err)
{
	return port_set_u8(sk, ifindex, IFLA_BRPORT_ISOLATED, on, err,
			   on ? "isolating port" : "un-isolating port");
}

/* Devices without carrier reporting stay UNKNOWN; they count as up once running. */
static bool link_is_up(const struct nl_link *l)
{
	if (l->operstate == NL_OPER_UP)
		return true;
	return l->operstate == NL_OPER_UNKNOWN && (l->flags & IFF_UP) && (l->flags & IFF_LOWER_UP);
}

/* 1 when up, 0 to keep waiting, -errno to stop. */
static int wait_check(struct nl_sock *ev, unsigned int seq, int ifindex, int len)
{
	const struct nlmsghdr *m;
	const struct ifinfomsg *ifi;
	struct nl_link l;
	int e;

	for (m = (const struct nlmsghdr *)ev->buf; nl_msg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
		if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_seq == seq) {
			e = -EBADMSG;
			if (mnl_nlmsg_get_payload_len(m) >= sizeof(struct nlmsgerr))
				e = ((const struct nlmsgerr *)mnl_nlmsg_get_payload(m))->error;
			if (e < 0)
				return e;
			continue;
		}
		if ((m->nlmsg_type != RTM_NEWLINK && m->nlmsg_type != RTM_DELLINK) ||
		    mnl_nlmsg_get_payload_len(m) < sizeof(*ifi))
			continue;
		ifi = mnl_nlmsg_get_payload(m);
		if (ifi->ifi_index != ifindex || ifi->ifi_family != AF_UNSPEC)
			continue;
		if (m->nlmsg_type == RTM_DELLINK)
			return -ENODEV;
		if (link_parse(m, &l) == 0 && link_is_up(&l))
			return 1;
	}
	return 0;
}

/* Asks for the state once more; notifications after this cannot be missed. */
static int wait_query(struct nl_sock *ev, int ifindex, unsigned int *seq)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, AF_UNSPEC, ifindex);

	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	nlh->nlmsg_seq = *seq = ++ev->seq;
	return mnl_socket_sendto(ev->nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

/*
 * Link events are subscribed to before asking for the current state, so the
 * answer and every later change land in one queue, watched until the deadline.
 */
int nl_link_wait_up(struct nl_sock *sk, int ifindex, int timeout_ms, struct cni_err *err)
{
	int64_t deadline = nl_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct nl_sock *ev = NULL;
	char label[NL_LABEL_LEN];
	unsigned int seq = 0;
	int ret;

	sk->ext_msg[0] = '\0';
	ret = nl_events_open(sk, RTNLGRP_LINK, &ev, err);
	if (ret < 0)
		return ret;
	ret = wait_query(ev, ifindex, &seq);
	while (ret == 0) {
		int n = nl_events_recv(ev, deadline);

		if (n == -ENOBUFS)
			/* Events were dropped: the state we track may be stale, ask again. */
			ret = wait_query(ev, ifindex, &seq);
		else if (n < 0)
			ret = n;
		else
			ret = wait_check(ev, seq, ifindex, n);
	}
	if (ret == 1)
		ret = 0;
	nl_sock_close(ev);
	if (ret < 0)
		return nl_fail(sk, err, ret, "waiting for %s to come up", nl_link_label(sk, ifindex, label));
	return 0;
}
