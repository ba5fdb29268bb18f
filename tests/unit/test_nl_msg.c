// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The netlink module without the kernel: mnl_socket_sendto/recvfrom are
 * wrapped (test_nl_msg.wrap). Requests are parsed back and checked; replies
 * are canned (ACK, extack errors, multipart dumps, DUMP_INTR, garbage).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <libmnl/libmnl.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netconf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <cmocka.h>

#include "cni/nl.h"

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len);
ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz);

#define MAX_MSGS 16
#define MSG_SIZE 8192

/* What the library sent, in order. */
static uint8_t sent[MAX_MSGS][MSG_SIZE];
static size_t sent_len[MAX_MSGS];
static int nsent;
static uint32_t last_seq;

/* Canned datagrams; seq and portid are patched to the last request unless keep_seq. */
static struct {
	uint8_t buf[MSG_SIZE];
	size_t len;
	bool keep_seq;
} replies[MAX_MSGS];
static int nreplies, next_reply;

static struct nl_sock *sk;

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;

	assert_true(nsent < MAX_MSGS);
	assert_true(len <= MSG_SIZE);
	assert_int_equal(len, nlh->nlmsg_len);
	memcpy(sent[nsent], buf, len);
	sent_len[nsent++] = len;
	last_seq = nlh->nlmsg_seq;
	return (ssize_t)len;
}

ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz)
{
	int i = next_reply;
	int len;
	struct nlmsghdr *nlh;

	if (i >= nreplies) {
		errno = EAGAIN;
		return -1;
	}
	next_reply++;
	assert_true(replies[i].len <= bufsiz);
	memcpy(buf, replies[i].buf, replies[i].len);
	len = (int)replies[i].len;
	if (!replies[i].keep_seq)
		for (nlh = buf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			nlh->nlmsg_seq = last_seq;
			nlh->nlmsg_pid = mnl_socket_get_portid(nl);
		}
	return (ssize_t)replies[i].len;
}

static int reset(void **state)
{
	nsent = 0;
	nreplies = next_reply = 0;
	memset(replies, 0, sizeof(replies));
	return 0;
}

static int setup(void **state)
{
	struct cni_err err = { 0 };

	assert_int_equal(nl_sock_open(-1, &sk, &err), 0);
	return 0;
}

static int teardown(void **state)
{
	nl_sock_close(sk);
	return 0;
}

/* Starts a message at the end of datagram i (a new datagram when i == nreplies). */
static struct nlmsghdr *reply_msg(int i, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	assert_true(i < MAX_MSGS);
	if (i == nreplies)
		nreplies++;
	nlh = mnl_nlmsg_put_header(replies[i].buf + replies[i].len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

static void reply_done(int i, struct nlmsghdr *nlh)
{
	replies[i].len += nlh->nlmsg_len;
}

/* An NLMSG_ERROR (error 0 = ACK), capped, with an optional extack message. */
static void queue_error(int error, const char *extack)
{
	struct nlmsghdr *nlh = reply_msg(nreplies, NLMSG_ERROR, NLM_F_CAPPED);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	e->error = error;
	e->msg.nlmsg_len = 64;	/* capped: only the request's header comes back */
	if (extack) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, extack);
	}
	reply_done(nreplies - 1, nlh);
}

static void queue_ack(void)
{
	queue_error(0, NULL);
}

static void add_done(int i)
{
	struct nlmsghdr *nlh = reply_msg(i, NLMSG_DONE, NLM_F_MULTI);
	int zero = 0;

	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(zero)), &zero, sizeof(zero));
	reply_done(i, nlh);
}

static void add_link(int i, uint16_t flags, int ifindex, const char *name)
{
	struct nlmsghdr *nlh = reply_msg(i, RTM_NEWLINK, flags);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 0x2a };
	struct nlattr *info, *data;

	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP | IFF_PROMISC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, 1400);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	mnl_attr_put_u32(nlh, IFLA_MASTER, 3);
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, 6);
	mnl_attr_put_u32(nlh, IFLA_LINK, 2);
	mnl_attr_put_u32(nlh, IFLA_LINK_NETNSID, 0);
	mnl_attr_put_u32(nlh, 999, 0);	/* from a newer kernel: skipped */
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_ISOLATED, 1);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	reply_done(i, nlh);
}

static void add_route(int i, uint16_t flags, const char *dst, int len, uint32_t metric)
{
	struct nlmsghdr *nlh = reply_msg(i, RTM_NEWROUTE, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct cni_ip ip, gw;
	struct nlattr *mx;

	assert_int_equal(cni_ip_parse(dst, &ip), 0);
	assert_int_equal(cni_ip_parse("10.0.0.1", &gw), 0);
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_flags = RTNH_F_ONLINK;
	mnl_attr_put(nlh, RTA_DST, 4, ip.a);
	mnl_attr_put(nlh, RTA_GATEWAY, 4, gw.a);
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	mnl_attr_put_u32(nlh, RTA_OIF, 7);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	mx = mnl_attr_nest_start(nlh, RTA_METRICS);
	mnl_attr_put_u32(nlh, RTAX_MTU, 1300);
	mnl_attr_nest_end(nlh, mx);
	reply_done(i, nlh);
}

/* Attribute lookup in a request, by type, at one nesting level. */
static const struct nlattr *find_in(const void *start, size_t len, uint16_t type)
{
	const struct nlattr *attr;

	mnl_attr_for_each_payload(start, len)
		if (mnl_attr_get_type(attr) == type)
			return attr;
	return NULL;
}

static const struct nlattr *find_attr(const struct nlmsghdr *nlh, size_t hdrlen, uint16_t type)
{
	return find_in((const char *)mnl_nlmsg_get_payload(nlh) + hdrlen,
		       mnl_nlmsg_get_payload_len(nlh) - hdrlen, type);
}

static const struct nlattr *find_nested(const struct nlattr *nest, uint16_t type)
{
	assert_true(mnl_attr_get_type(nest) == (nest->nla_type & NLA_TYPE_MASK));
	return find_in(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), type);
}

/* An attribute of the veth peer: LINKINFO > INFO_DATA > VETH_INFO_PEER, after its ifinfomsg. */
static const struct nlattr *peer_attr(const struct nlmsghdr *nlh, uint16_t type)
{
	const struct nlattr *info = find_attr(nlh, sizeof(struct ifinfomsg), IFLA_LINKINFO);
	const struct nlattr *data, *peer;

	assert_non_null(info);
	data = find_nested(info, IFLA_INFO_DATA);
	assert_non_null(data);
	peer = find_nested(data, VETH_INFO_PEER);
	assert_non_null(peer);
	assert_true(mnl_attr_get_payload_len(peer) >= sizeof(struct ifinfomsg));
	return find_in((const char *)mnl_attr_get_payload(peer) + sizeof(struct ifinfomsg),
		       mnl_attr_get_payload_len(peer) - sizeof(struct ifinfomsg), type);
}

static const struct nlmsghdr *sent_msg(int i)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)sent[i];

	assert_true(i < nsent);
	assert_true(mnl_nlmsg_ok(nlh, (int)sent_len[i]));
	assert_true(nlh->nlmsg_flags & NLM_F_REQUEST);
	assert_true(nlh->nlmsg_flags & NLM_F_ACK);
	return nlh;
}

static void test_veth_request(void **state)
{
	static const uint8_t mac[6] = { 2, 1, 2, 3, 4, 5 }, pmac[6] = { 2, 5, 4, 3, 2, 1 };
	struct nl_veth v = { .name = "nltv0", .peer_name = "eth0", .peer_netns_fd = 5, .mtu = 1400,
			     .mac = mac, .peer_mac = pmac };
	const struct nlattr *info, *data, *peer, *a;
	const struct nlmsghdr *nlh;
	struct cni_err err = { 0 };
	size_t off = sizeof(struct ifinfomsg);
	int ifindex = 0;

	queue_ack();
	add_link(nreplies, 0, 42, "nltv0");
	queue_ack();
	assert_int_equal(nl_link_add_veth(sk, &v, &ifindex, &err), 0);
	assert_int_equal(ifindex, 42);
	assert_int_equal(nsent, 2);

	nlh = sent_msg(0);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL);
	assert_string_equal(mnl_attr_get_str(find_attr(nlh, off, IFLA_IFNAME)), "nltv0");
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, off, IFLA_MTU)), 1400);
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, off, IFLA_ADDRESS)), mac, 6);
	info = find_attr(nlh, off, IFLA_LINKINFO);
	assert_non_null(info);
	assert_true(info->nla_type & NLA_F_NESTED);
	assert_string_equal(mnl_attr_get_str(find_nested(info, IFLA_INFO_KIND)), "veth");
	data = find_nested(info, IFLA_INFO_DATA);
	assert_non_null(data);
	peer = find_nested(data, VETH_INFO_PEER);
	assert_non_null(peer);
	/* The peer nest starts with its own ifinfomsg, then attributes. */
	assert_true(mnl_attr_get_payload_len(peer) > sizeof(struct ifinfomsg));
	assert_string_equal(mnl_attr_get_str(peer_attr(nlh, IFLA_IFNAME)), "eth0");
	assert_int_equal(mnl_attr_get_u32(peer_attr(nlh, IFLA_NET_NS_FD)), 5);
	assert_int_equal(mnl_attr_get_u32(peer_attr(nlh, IFLA_MTU)), 1400);
	a = peer_attr(nlh, IFLA_ADDRESS);
	assert_memory_equal(mnl_attr_get_payload(a), pmac, 6);

	/* Then a lookup by name for the ifindex. */
	nlh = sent_msg(1);
	assert_int_equal(nlh->nlmsg_type, RTM_GETLINK);
	assert_string_equal(mnl_attr_get_str(find_attr(nlh, off, IFLA_IFNAME)), "nltv0");
	assert_int_not_equal(sent_msg(0)->nlmsg_seq, nlh->nlmsg_seq);

	/* Too long a name never reaches the kernel. */
	v.peer_name = "eth0123456789abc";
	assert_int_equal(nl_link_add_veth(sk, &v, NULL, &err), -EINVAL);
	assert_int_equal(nsent, 2);
	assert_non_null(strstr(err.msg, "veth peer name"));
}

static void test_link_parse(void **state)
{
	struct cni_err err = { 0 };
	struct nl_link l;

	add_link(0, 0, 9, "nltv9");
	queue_ack();
	assert_int_equal(nl_link_get_index(sk, 9, &l, &err), 0);
	assert_int_equal(((const struct ifinfomsg *)mnl_nlmsg_get_payload(sent_msg(0)))->ifi_index, 9);
	assert_int_equal(l.ifindex, 9);
	assert_string_equal(l.name, "nltv9");
	assert_string_equal(l.kind, "veth");
	assert_int_equal(l.mtu, 1400);
	assert_int_equal(l.mac[5], 0x2a);
	assert_int_equal(l.master, 3);
	assert_int_equal(l.operstate, NL_OPER_UP);
	assert_int_equal(l.link, 2);
	assert_int_equal(l.link_netnsid, 0);
	assert_true(l.up);
	assert_true(l.promisc);
	assert_true(l.hairpin);
	assert_true(l.isolated);
	assert_false(l.vlan_filtering);
}

static void test_error_extack(void **state)
{
	struct nl_veth v = { .name = "nltv0", .peer_name = "eth0", .peer_netns_fd = -1 };
	struct cni_err err = { 0 };
	struct nl_link l = { .ifindex = 77 };

	queue_error(-EEXIST, "nlt: the kernel explains");
	assert_int_equal(nl_link_add_veth(sk, &v, NULL, &err), -EEXIST);
	assert_int_equal(err.code, CNI_ERR_NETLINK);
	assert_int_equal(err.errnum, EEXIST);
	assert_string_equal(err.msg, "creating veth nltv0 (peer eth0): File exists");
	assert_string_equal(err.details, "nlt: the kernel explains");
	/* No IFLA_NET_NS_FD when the peer stays; no MTU when none is asked for. */
	assert_non_null(peer_attr(sent_msg(0), IFLA_IFNAME));
	assert_null(peer_attr(sent_msg(0), IFLA_NET_NS_FD));
	assert_null(peer_attr(sent_msg(0), IFLA_MTU));

	/* The first error wins. */
	queue_error(-ENODEV, NULL);
	assert_int_equal(nl_link_get(sk, "nltx", &l, &err), -ENODEV);
	assert_int_equal(l.ifindex, 77);	/* out-param untouched on failure */
	assert_int_equal(err.errnum, EEXIST);
	cni_err_clear(&err);

	/* Uncapped: the whole request comes back before the TLVs. */
	{
		struct nlmsghdr *nlh = reply_msg(nreplies, NLMSG_ERROR, NLM_F_ACK_TLVS);
		struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e) + 16);

		e->error = -ENODEV;
		e->msg.nlmsg_len = sizeof(struct nlmsghdr) + 16;
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "uncapped text");
		reply_done(nreplies - 1, nlh);
	}
	assert_int_equal(nl_link_get(sk, "nltx", &l, &err), -ENODEV);
	assert_string_equal(err.msg, "looking up link nltx: No such device");
	assert_string_equal(err.details, "uncapped text");
	cni_err_clear(&err);

	/* NULL err is fine. */
	queue_error(-EPERM, "x");
	assert_int_equal(nl_link_del(sk, 5, NULL), -EPERM);
}

static void test_seq_check(void **state)
{
	struct cni_err err = { 0 };

	/* A stale error from an earlier request is skipped, not taken as our answer. */
	queue_error(-EBUSY, "stale");
	replies[0].keep_seq = true;
	((struct nlmsghdr *)replies[0].buf)->nlmsg_seq = 12345;
	queue_ack();
	assert_int_equal(nl_link_set_up(sk, 4, true, &err), 0);
	assert_int_equal(next_reply, 2);
	assert_int_equal(nsent, 1);
	{
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(sent_msg(0));

		assert_int_equal(sent_msg(0)->nlmsg_type, RTM_SETLINK);
		assert_int_equal(ifi->ifi_index, 4);
		assert_int_equal(ifi->ifi_change, IFF_UP);
		assert_int_equal(ifi->ifi_flags, IFF_UP);
	}
}

static void test_dump_multipart(void **state)
{
	struct cni_err err = { 0 };
	struct nl_route *r = NULL;
	size_t n = 0;

	add_route(0, NLM_F_MULTI, "10.1.0.0", 16, 10);
	add_route(0, NLM_F_MULTI, "10.2.0.0", 16, 20);
	add_route(1, NLM_F_MULTI, "10.3.0.0", 16, 30);
	add_done(1);
	assert_int_equal(nl_route_list(sk, AF_INET, 0, 0, &r, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(nsent, 1);
	assert_true(sent_msg(0)->nlmsg_flags & NLM_F_DUMP);
	assert_int_equal(sent_msg(0)->nlmsg_type, RTM_GETROUTE);
	assert_int_equal(r[0].dst.ip.a[1], 1);
	assert_int_equal(r[2].dst.ip.a[1], 3);
	assert_int_equal(r[2].priority, 30);
	assert_int_equal(r[1].dst.len, 16);
	assert_int_equal(r[1].gw.a[3], 1);
	assert_int_equal(r[1].oif, 7);
	assert_int_equal(r[1].mtu, 1300);
	assert_true(r[1].onlink);
	assert_int_equal(r[1].table, NL_TABLE_MAIN);
	free(r);

	/* A dump that fails halfway reports it in NLMSG_DONE. */
	reset(state);
	add_route(0, NLM_F_MULTI, "10.1.0.0", 16, 10);
	{
		struct nlmsghdr *nlh = reply_msg(0, NLMSG_DONE, NLM_F_MULTI);
		int e = -EMSGSIZE;

		memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(e)), &e, sizeof(e));
		reply_done(0, nlh);
	}
	r = (struct nl_route *)&err;	/* must stay as it is */
	assert_int_equal(nl_route_list(sk, AF_INET, 0, 0, &r, &n, &err), -EMSGSIZE);
	assert_ptr_equal(r, &err);
	assert_non_null(strstr(err.msg, "listing routes"));
}

static void test_dump_intr(void **state)
{
	struct cni_err err = { 0 };
	struct nl_route *r = NULL;
	size_t n = 0;
	int i;

	/* First pass interrupted (two routes seen); the retry sees one. */
	add_route(0, NLM_F_MULTI | NLM_F_DUMP_INTR, "10.1.0.0", 16, 10);
	add_route(0, NLM_F_MULTI | NLM_F_DUMP_INTR, "10.2.0.0", 16, 10);
	add_done(0);
	add_route(1, NLM_F_MULTI, "10.9.0.0", 16, 10);
	add_done(1);
	assert_int_equal(nl_route_list(sk, AF_INET, 0, 0, &r, &n, &err), 0);
	assert_int_equal(nsent, 2);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].dst.ip.a[1], 9);
	assert_int_not_equal(sent_msg(0)->nlmsg_seq, sent_msg(1)->nlmsg_seq);
	free(r);

	/* Always interrupted: give up after a bounded number of tries. */
	reset(state);
	for (i = 0; i < MAX_MSGS; i++) {
		add_route(i, NLM_F_MULTI | NLM_F_DUMP_INTR, "10.1.0.0", 16, 10);
		add_done(i);
	}
	assert_int_equal(nl_route_list(sk, AF_INET, 0, 0, &r, &n, &err), -EAGAIN);
	assert_true(nsent > 1 && nsent < MAX_MSGS);
}

static void test_garbage(void **state)
{
	struct cni_err err = { 0 };
	struct nl_link l;
	struct nl_route *r = NULL;
	size_t n = 0;

	/* A message claiming more bytes than arrived. */
	add_link(0, 0, 9, "nltv9");
	replies[0].len -= 8;
	assert_int_equal(nl_link_get_index(sk, 9, &l, &err), -EBADMSG);
	cni_err_clear(&err);

	/* Bytes that are no message at all. */
	reset(state);
	nreplies = 1;
	memset(replies[0].buf, 0xff, 40);
	replies[0].len = 40;
	replies[0].keep_seq = true;
	assert_int_equal(nl_link_get_index(sk, 9, &l, &err), -EBADMSG);
	cni_err_clear(&err);
	reset(state);
	nreplies = 1;
	replies[0].len = 3;
	assert_int_equal(nl_link_get_index(sk, 9, &l, &err), -EBADMSG);
	cni_err_clear(&err);

	/* An error message too short to hold a struct nlmsgerr. */
	reset(state);
	{
		struct nlmsghdr *nlh = reply_msg(0, NLMSG_ERROR, 0);

		mnl_nlmsg_put_extra_header(nlh, 4);
		reply_done(0, nlh);
	}
	assert_int_equal(nl_link_set_up(sk, 4, true, &err), -EBADMSG);
	cni_err_clear(&err);

	/* An attribute of the wrong size fails the parse; the reply is read to its end. */
	reset(state);
	{
		struct nlmsghdr *nlh = reply_msg(0, RTM_NEWROUTE, NLM_F_MULTI);
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		uint16_t bad = 1;

		rtm->rtm_family = AF_INET;
		rtm->rtm_dst_len = 8;
		mnl_attr_put(nlh, RTA_OIF, sizeof(bad), &bad);
		reply_done(0, nlh);
	}
	add_route(1, NLM_F_MULTI, "10.1.0.0", 16, 10);
	add_done(1);
	queue_ack();
	assert_int_equal(nl_route_list(sk, AF_INET, 0, 0, &r, &n, &err), -EBADMSG);
	assert_int_equal(next_reply, 2);
	cni_err_clear(&err);
	/* The next request gets its own answer. */
	assert_int_equal(nl_link_set_up(sk, 4, true, &err), 0);

	/* A dst of 5 bytes for IPv4, a prefix longer than the family. */
	reset(state);
	{
		struct nlmsghdr *nlh = reply_msg(0, RTM_NEWROUTE, NLM_F_MULTI);
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		uint8_t five[5] = { 0 };

		rtm->rtm_family = AF_INET;
		rtm->rtm_dst_len = 40;
		mnl_attr_put(nlh, RTA_DST, sizeof(five), five);
		reply_done(0, nlh);
	}
	add_done(0);
	assert_int_equal(nl_route_list(sk, AF_INET, 0, 0, &r, &n, &err), -EBADMSG);
	cni_err_clear(&err);

	/* Nothing at all: the socket error comes through. */
	reset(state);
	assert_int_equal(nl_link_set_up(sk, 4, true, &err), -EAGAIN);
}

static void test_route_request(void **state)
{
	struct nl_route r = { .oif = 7, .priority = 50, .mtu = 1300, .advmss = 1260, .onlink = true,
			      .scope = NL_SCOPE_UNIVERSE, .table = 1000 };
	const size_t off = sizeof(struct rtmsg);
	const struct nlmsghdr *nlh;
	const struct rtmsg *rtm;
	const struct nlattr *mx;
	struct cni_err err = { 0 };
	struct cni_ip ip;

	assert_int_equal(cni_prefix_parse("10.98.1.2/16", &r.dst), 0);
	assert_int_equal(cni_ip_parse("10.99.0.1", &r.gw), 0);
	queue_ack();
	assert_int_equal(nl_route_add(sk, &r, &err), 0);
	nlh = sent_msg(0);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWROUTE);
	assert_int_equal(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL | NLM_F_REPLACE),
			 NLM_F_CREATE | NLM_F_EXCL);
	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len, 16);
	assert_int_equal(rtm->rtm_table, RT_TABLE_UNSPEC);	/* > 255: only in RTA_TABLE */
	assert_int_equal(rtm->rtm_protocol, RTPROT_BOOT);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
	assert_true(rtm->rtm_flags & RTNH_F_ONLINK);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, off, RTA_TABLE)), 1000);
	assert_int_equal(cni_ip_parse("10.98.0.0", &ip), 0);
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, off, RTA_DST)), ip.a, 4);
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, off, RTA_GATEWAY)), r.gw.a, 4);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, off, RTA_OIF)), 7);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, off, RTA_PRIORITY)), 50);
	assert_null(find_attr(nlh, off, RTA_PREFSRC));
	mx = find_attr(nlh, off, RTA_METRICS);
	assert_non_null(mx);
	assert_int_equal(mnl_attr_get_u32(find_nested(mx, RTAX_MTU)), 1300);
	assert_int_equal(mnl_attr_get_u32(find_nested(mx, RTAX_ADVMSS)), 1260);

	/* Delete: unset fields become wildcards, no metrics. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(cni_prefix_parse("fd00::/64", &r.dst), 0);
	queue_ack();
	assert_int_equal(nl_route_del(sk, &r, &err), 0);
	nlh = sent_msg(1);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_DELROUTE);
	assert_int_equal(rtm->rtm_family, AF_INET6);
	assert_int_equal(rtm->rtm_table, RT_TABLE_MAIN);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_NOWHERE);
	assert_int_equal(rtm->rtm_protocol, 0);
	assert_int_equal(rtm->rtm_type, RTN_UNSPEC);
	assert_int_equal(mnl_attr_get_payload_len(find_attr(nlh, off, RTA_DST)), 16);
	assert_null(find_attr(nlh, off, RTA_METRICS));
	assert_null(find_attr(nlh, off, RTA_GATEWAY));

	/* Replace, and a default route has no RTA_DST. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(cni_prefix_parse("0.0.0.0/0", &r.dst), 0);
	queue_ack();
	assert_int_equal(nl_route_replace(sk, &r, &err), 0);
	nlh = sent_msg(2);
	assert_int_equal(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_REPLACE | NLM_F_EXCL),
			 NLM_F_CREATE | NLM_F_REPLACE);
	assert_null(find_attr(nlh, off, RTA_DST));
	assert_int_equal(((const struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_table, RT_TABLE_MAIN);
}

/*
 * nl_route_merge sends no NLM_F_EXCL (upstream's RouteAddEcmp); a dumped
 * multipath route comes back as one entry per next hop, each with its gateway
 * and link; a next hop running past its attribute is malformed.
 */
static void add_multipath(int i, int n_hops, uint16_t bad_len)
{
	struct nlmsghdr *nlh = reply_msg(i, RTM_NEWROUTE, NLM_F_MULTI);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct nlattr *mp;
	struct cni_ip dst, gw;
	int h;

	assert_int_equal(cni_ip_parse("fd99::", &dst), 0);
	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = 64;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, 16, dst.a);
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, 1024);
	mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
	for (h = 0; h < n_hops; h++) {
		struct rtnexthop *nh = mnl_nlmsg_get_payload_tail(nlh);
		char a[16];

		nlh->nlmsg_len += RTNH_ALIGN(sizeof(*nh));
		memset(nh, 0, sizeof(*nh));
		nh->rtnh_ifindex = 7 + h;
		snprintf(a, sizeof(a), "fd62::%d", 10 + h);
		assert_int_equal(cni_ip_parse(a, &gw), 0);
		mnl_attr_put(nlh, RTA_GATEWAY, 16, gw.a);
		nh->rtnh_len = (uint16_t)((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)nh);
		if (bad_len && h == n_hops - 1)
			nh->rtnh_len = bad_len;
	}
	mnl_attr_nest_end(nlh, mp);
	reply_done(i, nlh);
}

static void test_route_ecmp(void **state)
{
	struct nl_route r = { .oif = 7 }, *v = NULL;
	struct cni_err err = { 0 };
	char buf[CNI_IP_STRLEN];
	size_t n = 0;

	assert_int_equal(cni_prefix_parse("fd99::/64", &r.dst), 0);
	assert_int_equal(cni_ip_parse("fd62::11", &r.gw), 0);
	queue_ack();
	assert_int_equal(nl_route_merge(sk, &r, &err), 0);
	assert_int_equal(sent_msg(0)->nlmsg_type, RTM_NEWROUTE);
	assert_int_equal(sent_msg(0)->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL | NLM_F_REPLACE), NLM_F_CREATE);

	/* Every table: one AF_UNSPEC dump (a table filter asks each family in turn). */
	reset(state);
	add_multipath(0, 2, 0);
	add_route(0, NLM_F_MULTI, "10.1.0.0", 16, 10);
	add_done(0);
	assert_int_equal(nl_route_list(sk, AF_UNSPEC, NL_TABLE_ANY, 0, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].dst.len, 64);
	assert_int_equal(v[0].priority, 1024);
	assert_string_equal(cni_ip_format(&v[0].gw, buf), "fd62::10");
	assert_int_equal(v[0].oif, 7);
	assert_string_equal(cni_ip_format(&v[1].gw, buf), "fd62::11");
	assert_int_equal(v[1].oif, 8);
	assert_int_equal(v[1].dst.len, 64);
	assert_int_equal(v[2].dst.ip.family, AF_INET);
	free(v);

	/* Filtered by link: only the hop through it. */
	reset(state);
	add_multipath(0, 2, 0);
	add_done(0);
	assert_int_equal(nl_route_list(sk, AF_INET6, 0, 8, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(cni_ip_format(&v[0].gw, buf), "fd62::11");
	free(v);

	/* A hop longer than what is left of RTA_MULTIPATH. */
	reset(state);
	add_multipath(0, 2, 200);
	add_done(0);
	assert_int_equal(nl_route_list(sk, AF_INET6, 0, 0, &v, &n, &err), -EBADMSG);
}

static void test_addr_request(void **state)
{
	struct nl_addr a = { .ifindex = 5, .flags = NL_ADDR_NODAD | NL_ADDR_NOPREFIXROUTE,
			     .scope = NL_SCOPE_LINK };
	const size_t off = sizeof(struct ifaddrmsg);
	const struct ifaddrmsg *ifa;
	const struct nlmsghdr *nlh;
	struct cni_err err = { 0 };
	struct cni_ip brd;

	assert_int_equal(cni_prefix_parse("10.22.0.5/16", &a.prefix), 0);
	queue_ack();
	assert_int_equal(nl_addr_add(sk, &a, &err), 0);
	nlh = sent_msg(0);
	ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWADDR);
	assert_true(nlh->nlmsg_flags & NLM_F_EXCL);
	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 16);
	assert_int_equal(ifa->ifa_index, 5);
	assert_int_equal(ifa->ifa_scope, RT_SCOPE_LINK);
	assert_int_equal(ifa->ifa_flags, IFA_F_NODAD);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, off, IFA_FLAGS)),
			 IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, off, IFA_LOCAL)), a.prefix.ip.a, 4);
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, off, IFA_ADDRESS)), a.prefix.ip.a, 4);
	assert_int_equal(cni_ip_parse("10.22.255.255", &brd), 0);
	assert_memory_equal(mnl_attr_get_payload(find_attr(nlh, off, IFA_BROADCAST)), brd.a, 4);

	/* IPv6: no broadcast; the kernel's answer names the address and link. */
	a.flags = 0;
	assert_int_equal(cni_prefix_parse("fd00::5/64", &a.prefix), 0);
	queue_error(-EEXIST, NULL);
	assert_int_equal(nl_addr_add(sk, &a, &err), -EEXIST);
	nlh = sent_msg(1);
	assert_null(find_attr(nlh, off, IFA_BROADCAST));
	assert_null(find_attr(nlh, off, IFA_FLAGS));
	assert_int_equal(mnl_attr_get_payload_len(find_attr(nlh, off, IFA_LOCAL)), 16);
	/* The name lookup for the message got no reply here: the ifindex stands in. */
	assert_string_equal(err.msg, "adding fd00::5/64 to ifindex 5: File exists");
	cni_err_clear(&err);

	a.prefix.len = 129;
	assert_int_equal(nl_addr_add(sk, &a, &err), -EINVAL);
}

static void test_bridge_requests(void **state)
{
	const size_t off = sizeof(struct ifinfomsg);
	const struct nlattr *nest, *attr;
	const struct bridge_vlan_info *vi;
	const struct nlmsghdr *nlh;
	struct cni_err err = { 0 };
	struct nl_vlan *v = NULL;
	int count = 0;
	size_t n = 0;

	queue_ack();
	assert_int_equal(nl_bridge_port_set_hairpin(sk, 6, true, &err), 0);
	nlh = sent_msg(0);
	assert_int_equal(nlh->nlmsg_type, RTM_SETLINK);
	assert_int_equal(((const struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_family, AF_BRIDGE);
	nest = find_attr(nlh, off, IFLA_PROTINFO);
	assert_non_null(nest);
	assert_true(nest->nla_type & NLA_F_NESTED);
	assert_int_equal(mnl_attr_get_u8(find_nested(nest, IFLA_BRPORT_MODE)), 1);
	assert_null(find_nested(nest, IFLA_BRPORT_ISOLATED));

	queue_ack();
	assert_int_equal(nl_bridge_port_set_isolated(sk, 6, false, &err), 0);
	nest = find_attr(sent_msg(1), off, IFLA_PROTINFO);
	assert_int_equal(mnl_attr_get_u8(find_nested(nest, IFLA_BRPORT_ISOLATED)), 0);

	/* A range on the bridge itself. */
	queue_ack();
	assert_int_equal(nl_bridge_vlan_add(sk, 3, 100, 200, NL_VLAN_UNTAGGED | NL_VLAN_SELF, &err), 0);
	nlh = sent_msg(2);
	assert_int_equal(nlh->nlmsg_type, RTM_SETLINK);
	assert_int_equal(((const struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index, 3);
	nest = find_attr(nlh, off, IFLA_AF_SPEC);
	assert_non_null(nest);
	assert_int_equal(mnl_attr_get_u16(find_nested(nest, IFLA_BRIDGE_FLAGS)), BRIDGE_FLAGS_SELF);
	mnl_attr_for_each_nested(attr, nest) {
		if (mnl_attr_get_type(attr) != IFLA_BRIDGE_VLAN_INFO)
			continue;
		vi = mnl_attr_get_payload(attr);
		if (count++ == 0) {
			assert_int_equal(vi->vid, 100);
			assert_int_equal(vi->flags, BRIDGE_VLAN_INFO_UNTAGGED | BRIDGE_VLAN_INFO_RANGE_BEGIN);
		} else {
			assert_int_equal(vi->vid, 200);
			assert_int_equal(vi->flags, BRIDGE_VLAN_INFO_UNTAGGED | BRIDGE_VLAN_INFO_RANGE_END);
		}
	}
	assert_int_equal(count, 2);

	/* Delete one VLAN of a port: DELLINK, no SELF. */
	queue_ack();
	assert_int_equal(nl_bridge_vlan_del(sk, 6, 1, 0, 0, &err), 0);
	nlh = sent_msg(3);
	assert_int_equal(nlh->nlmsg_type, RTM_DELLINK);
	nest = find_attr(nlh, off, IFLA_AF_SPEC);
	assert_null(find_nested(nest, IFLA_BRIDGE_FLAGS));
	vi = mnl_attr_get_payload(find_nested(nest, IFLA_BRIDGE_VLAN_INFO));
	assert_int_equal(vi->vid, 1);
	assert_int_equal(vi->flags, 0);
	assert_int_equal(nl_bridge_vlan_add(sk, 6, 5, 9, NL_VLAN_PVID, &err), -EINVAL);
	assert_int_equal(nsent, 4);
	cni_err_clear(&err);

	/* Listing: compressed ranges of the port asked for; other links ignored. */
	{
		struct nlmsghdr *m;
		struct ifinfomsg *ifi;
		struct nlattr *spec;
		struct bridge_vlan_info info[3] = {
			{ .flags = BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED, .vid = 1 },
			{ .flags = BRIDGE_VLAN_INFO_RANGE_BEGIN, .vid = 10 },
			{ .flags = BRIDGE_VLAN_INFO_RANGE_END, .vid = 20 },
		};
		int port, d = nreplies;

		for (port = 5; port <= 6; port++) {
			m = reply_msg(d, RTM_NEWLINK, NLM_F_MULTI);
			ifi = mnl_nlmsg_put_extra_header(m, sizeof(*ifi));
			ifi->ifi_family = AF_BRIDGE;
			ifi->ifi_index = port;
			mnl_attr_put_strz(m, IFLA_IFNAME, "nltx");
			spec = mnl_attr_nest_start(m, IFLA_AF_SPEC);
			for (int i = port == 6 ? 0 : 1; i < 3; i++)
				mnl_attr_put(m, IFLA_BRIDGE_VLAN_INFO, sizeof(info[i]), &info[i]);
			mnl_attr_nest_end(m, spec);
			reply_done(d, m);
		}
		add_done(d);
	}
	assert_int_equal(nl_bridge_vlan_list(sk, 6, &v, &n, &err), 0);
	nlh = sent_msg(4);
	assert_true(nlh->nlmsg_flags & NLM_F_DUMP);
	assert_int_equal(((const struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_family, AF_BRIDGE);
	assert_int_equal(mnl_attr_get_u32(find_attr(nlh, off, IFLA_EXT_MASK)),
			 RTEXT_FILTER_BRVLAN_COMPRESSED);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].vid, 1);
	assert_int_equal(v[0].vid_end, 1);
	assert_int_equal(v[0].flags, NL_VLAN_PVID | NL_VLAN_UNTAGGED);
	assert_int_equal(v[1].vid, 10);
	assert_int_equal(v[1].vid_end, 20);
	assert_int_equal(v[1].flags, 0);
	free(v);
}

/* A GETLINK answer whose IFLA_AF_SPEC carries IPv4 knobs and, when v6, IPv6 knobs. */
static void add_link_devconf(int i, int ifindex, bool v6)
{
	struct nlmsghdr *nlh = reply_msg(i, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	uint32_t v4conf[IPV4_DEVCONF_MAX] = { 0 };
	int32_t v6conf[DEVCONF_MAX] = { 0 };
	struct nlattr *spec, *af;

	ifi->ifi_index = ifindex;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	v4conf[IPV4_DEVCONF_ARP_NOTIFY - 1] = 1;
	v4conf[IPV4_DEVCONF_RP_FILTER - 1] = 2;
	v6conf[DEVCONF_ACCEPT_DAD] = -1;
	v6conf[DEVCONF_ACCEPT_RA] = 1;
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	af = mnl_attr_nest_start(nlh, AF_INET);
	mnl_attr_put(nlh, IFLA_INET_CONF, sizeof(v4conf), v4conf);
	mnl_attr_nest_end(nlh, af);
	if (v6) {
		af = mnl_attr_nest_start(nlh, AF_INET6);
		mnl_attr_put_u32(nlh, IFLA_INET6_FLAGS, 0);
		mnl_attr_put(nlh, IFLA_INET6_CONF, sizeof(v6conf), v6conf);
		mnl_attr_nest_end(nlh, af);
	}
	/* A family we do not read. */
	af = mnl_attr_nest_start(nlh, AF_BRIDGE);
	mnl_attr_put_u32(nlh, 1, 0);
	mnl_attr_nest_end(nlh, af);
	mnl_attr_nest_end(nlh, spec);
	reply_done(i, nlh);
}

static void test_devconf(void **state)
{
	const struct nl_devconf set[] = {
		{ .family = AF_INET, .id = IPV4_DEVCONF_ARP_NOTIFY, .value = 1 },
		{ .family = AF_INET, .id = IPV4_DEVCONF_RP_FILTER, .value = 2 },
	};
	struct nl_devconf get[] = {
		{ .family = AF_INET, .id = IPV4_DEVCONF_RP_FILTER, .value = 7 },
		{ .family = AF_INET6, .id = DEVCONF_ACCEPT_DAD },
		{ .family = AF_INET6, .id = DEVCONF_ACCEPT_RA },
		{ .family = AF_INET, .id = IPV4_DEVCONF_MAX + 1 },	/* newer than this kernel */
		{ .family = AF_INET, .id = IPV4_DEVCONF_ARP_NOTIFY },
	};
	const struct nl_devconf bad = { .family = AF_INET6, .id = DEVCONF_ACCEPT_DAD };
	const struct nlattr *spec, *af, *conf, *a;
	const struct ifinfomsg *ifi;
	const struct nlmsghdr *nlh;
	struct cni_err err = { 0 };
	int n = 0;

	/* Set: SETLINK, AF_SPEC > AF_INET > INET_CONF > one u32 per knob typed by its id. */
	queue_ack();
	assert_int_equal(nl_devconf_set(sk, 7, set, 2, &err), 0);
	nlh = sent_msg(0);
	ifi = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_SETLINK);
	assert_int_equal(ifi->ifi_index, 7);
	assert_int_equal(ifi->ifi_family, AF_UNSPEC);
	assert_int_equal(ifi->ifi_change, 0);
	spec = find_attr(nlh, sizeof(*ifi), IFLA_AF_SPEC);
	assert_non_null(spec);
	af = find_nested(spec, AF_INET);
	assert_non_null(af);
	assert_null(find_nested(spec, AF_INET6));
	conf = find_nested(af, IFLA_INET_CONF);
	assert_non_null(conf);
	mnl_attr_for_each_nested(a, conf) {
		assert_int_equal(mnl_attr_get_payload_len(a), 4);
		assert_int_equal(mnl_attr_get_type(a), set[n].id);
		assert_int_equal(mnl_attr_get_u32(a), set[n].value);
		n++;
	}
	assert_int_equal(n, 2);
	/* rtnetlink cannot set IPv6 knobs: refused before anything is sent. */
	assert_int_equal(nl_devconf_set(sk, 7, &bad, 1, &err), -EINVAL);
	assert_int_equal(nsent, 1);
	cni_err_clear(&err);
	assert_int_equal(nl_devconf_set(sk, 7, set, 0, &err), 0);
	assert_int_equal(nsent, 1);

	/* Get: one GETLINK by index, values from both families' arrays. */
	add_link_devconf(nreplies, 7, true);
	queue_ack();
	assert_int_equal(nl_devconf_get(sk, 7, get, 5, &err), 0);
	nlh = sent_msg(1);
	ifi = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_GETLINK);
	assert_false(nlh->nlmsg_flags & NLM_F_DUMP);
	assert_int_equal(ifi->ifi_index, 7);
	assert_true(get[0].found);
	assert_int_equal(get[0].value, 2);
	assert_true(get[1].found);
	assert_int_equal(get[1].value, -1);
	assert_true(get[2].found);
	assert_int_equal(get[2].value, 1);
	assert_false(get[3].found);
	assert_true(get[4].found);
	assert_int_equal(get[4].value, 1);

	/* A link without IPv6: its knobs are not found, the IPv4 ones are. */
	reset(state);
	add_link_devconf(0, 7, false);
	queue_ack();
	assert_int_equal(nl_devconf_get(sk, 7, get, 5, &err), 0);
	assert_true(get[0].found);
	assert_false(get[1].found);
	assert_false(get[2].found);

	/* No such link. */
	reset(state);
	queue_error(-ENODEV, NULL);
	assert_int_equal(nl_devconf_get(sk, 99, get, 1, &err), -ENODEV);
	assert_false(get[0].found);
	assert_non_null(strstr(err.msg, "reading the IP knobs of"));
}

static void add_netconf(int i, int family, int32_t ifindex, int32_t forwarding)
{
	struct nlmsghdr *nlh = reply_msg(i, RTM_NEWNETCONF, 0);
	struct netconfmsg *ncm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ncm));

	ncm->ncm_family = family;
	mnl_attr_put_u32(nlh, NETCONFA_IFINDEX, (uint32_t)ifindex);
	mnl_attr_put_u32(nlh, NETCONFA_FORWARDING, (uint32_t)forwarding);
	mnl_attr_put_u32(nlh, NETCONFA_RP_FILTER, 0);
	reply_done(i, nlh);
}

static void test_netconf(void **state)
{
	const struct nlmsghdr *nlh;
	struct cni_err err = { 0 };
	bool on = false;

	add_netconf(0, AF_INET, NETCONFA_IFINDEX_ALL, 1);
	queue_ack();
	assert_int_equal(nl_devconf_forwarding(sk, AF_INET, &on, &err), 0);
	assert_true(on);
	nlh = sent_msg(0);
	assert_int_equal(nlh->nlmsg_type, RTM_GETNETCONF);
	assert_false(nlh->nlmsg_flags & NLM_F_DUMP);
	assert_int_equal(((const struct netconfmsg *)mnl_nlmsg_get_payload(nlh))->ncm_family, AF_INET);
	/* The attributes start after the 1-byte header, aligned to 4. */
	assert_int_equal((int32_t)mnl_attr_get_u32(find_attr(nlh, MNL_ALIGN(sizeof(struct netconfmsg)),
								NETCONFA_IFINDEX)),
			 NETCONFA_IFINDEX_ALL);

	reset(state);
	add_netconf(0, AF_INET6, NETCONFA_IFINDEX_ALL, 0);
	queue_ack();
	assert_int_equal(nl_devconf_forwarding(sk, AF_INET6, &on, &err), 0);
	assert_false(on);
	assert_int_equal(((const struct netconfmsg *)mnl_nlmsg_get_payload(sent_msg(0)))->ncm_family,
			 AF_INET6);

	/* An answer about another device, or none: not an answer. */
	reset(state);
	add_netconf(0, AF_INET, 3, 1);
	queue_ack();
	on = true;
	assert_int_equal(nl_devconf_forwarding(sk, AF_INET, &on, &err), -EBADMSG);
	assert_true(on);
	cni_err_clear(&err);
	reset(state);
	queue_error(-EOPNOTSUPP, NULL);
	assert_int_equal(nl_devconf_forwarding(sk, AF_INET6, &on, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "forwards IPv6"));
	cni_err_clear(&err);
	assert_int_equal(nl_devconf_forwarding(sk, AF_UNSPEC, &on, &err), -EAFNOSUPPORT);
}

/* Dumps ask the kernel to filter (the socket is strict): by link, by table and oif, per family. */
static void test_dump_filters(void **state)
{
	const struct ifaddrmsg *ifa;
	const struct rtmsg *rtm;
	struct nl_route *r = NULL;
	struct nl_addr *a = NULL;
	struct cni_err err = { 0 };
	size_t n = 0;

	add_done(0);
	assert_int_equal(nl_addr_list(sk, 9, AF_INET6, &a, &n, &err), 0);
	ifa = mnl_nlmsg_get_payload(sent_msg(0));
	assert_true(sent_msg(0)->nlmsg_flags & NLM_F_DUMP);
	assert_int_equal(ifa->ifa_index, 9);
	assert_int_equal(ifa->ifa_family, AF_INET6);
	/* Strict checking refuses a dump request with these set. */
	assert_int_equal(ifa->ifa_prefixlen | ifa->ifa_flags | ifa->ifa_scope, 0);

	/* Table and oif over both families: one dump each, routes of both kept. */
	reset(state);
	add_route(0, NLM_F_MULTI, "10.1.0.0", 16, 10);
	add_done(0);
	add_done(1);
	assert_int_equal(nl_route_list(sk, AF_UNSPEC, NL_TABLE_MAIN, 7, &r, &n, &err), 0);
	assert_int_equal(nsent, 2);
	assert_int_equal(n, 1);
	free(r);
	rtm = mnl_nlmsg_get_payload(sent_msg(0));
	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len | rtm->rtm_src_len | rtm->rtm_tos | rtm->rtm_scope |
			 rtm->rtm_flags, 0);
	assert_int_equal(mnl_attr_get_u32(find_attr(sent_msg(0), sizeof(*rtm), RTA_TABLE)), RT_TABLE_MAIN);
	assert_int_equal(mnl_attr_get_u32(find_attr(sent_msg(0), sizeof(*rtm), RTA_OIF)), 7);
	rtm = mnl_nlmsg_get_payload(sent_msg(1));
	assert_int_equal(rtm->rtm_family, AF_INET6);
	assert_int_equal(mnl_attr_get_u32(find_attr(sent_msg(1), sizeof(*rtm), RTA_OIF)), 7);

	/* A kernel that sends the other family anyway (no IPv6 dumper): filtered here. */
	reset(state);
	add_done(0);
	add_route(1, NLM_F_MULTI, "10.1.0.0", 16, 10);
	add_done(1);
	assert_int_equal(nl_route_list(sk, AF_INET6, NL_TABLE_MAIN, 0, &r, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(r);

	/* Every table, every link: one AF_UNSPEC dump without filters. */
	reset(state);
	add_done(0);
	assert_int_equal(nl_route_list(sk, AF_UNSPEC, NL_TABLE_ANY, 0, &r, &n, &err), 0);
	assert_int_equal(nsent, 1);
	rtm = mnl_nlmsg_get_payload(sent_msg(0));
	assert_int_equal(rtm->rtm_family, AF_UNSPEC);
	assert_int_equal(rtm->rtm_table, 0);
	assert_null(find_attr(sent_msg(0), sizeof(*rtm), RTA_TABLE));
	assert_null(find_attr(sent_msg(0), sizeof(*rtm), RTA_OIF));

	/* A table the kernel does not have holds no routes. */
	reset(state);
	queue_error(-ENOENT, "FIB table does not exist");
	assert_int_equal(nl_route_list(sk, AF_INET, 1000, 0, &r, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(err.code, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_veth_request, reset),
		cmocka_unit_test_setup(test_link_parse, reset),
		cmocka_unit_test_setup(test_error_extack, reset),
		cmocka_unit_test_setup(test_seq_check, reset),
		cmocka_unit_test_setup(test_dump_multipart, reset),
		cmocka_unit_test_setup(test_dump_intr, reset),
		cmocka_unit_test_setup(test_garbage, reset),
		cmocka_unit_test_setup(test_route_request, reset),
		cmocka_unit_test_setup(test_route_ecmp, reset),
		cmocka_unit_test_setup(test_addr_request, reset),
		cmocka_unit_test_setup(test_bridge_requests, reset),
		cmocka_unit_test_setup(test_devconf, reset),
		cmocka_unit_test_setup(test_netconf, reset),
		cmocka_unit_test_setup(test_dump_filters, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
