// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "nl-internal.h"

_Static_assert((int)NL_ROUTE_UNICAST == (int)RTN_UNICAST && (int)NL_ROUTE_LOCAL == (int)RTN_LOCAL, "route types");
_Static_assert(NL_TABLE_MAIN == RT_TABLE_MAIN && NL_TABLE_LOCAL == RT_TABLE_LOCAL, "tables");

static bool route_ok(const struct nl_route *r)
{
	int f = r->dst.ip.family;

	return (f == AF_INET || f == AF_INET6) && r->dst.len <= cni_ip_bits(&r->dst.ip) &&
	       (!r->gw.family || r->gw.family == f) && (!r->src.family || r->src.family == f);
}

/* "10.1.0.0/16 via 10.0.0.1 dev eth0 table 254" for messages. */
static void route_describe(struct nl_sock *sk, const struct nl_route *r, char *buf, size_t len)
{
	char dst[CNI_PREFIX_STRLEN], gw[CNI_IP_STRLEN], label[NL_LABEL_LEN];
	struct cni_prefix net = cni_prefix_network(&r->dst);
	int n;

	n = snprintf(buf, len, "%s", r->dst.len ? cni_prefix_format(&net, dst) : "default");
	if (r->gw.family && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " via %s", cni_ip_format(&r->gw, gw));
	if (r->oif && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " dev %s", nl_link_label(sk, r->oif, label));
	if (r->table && r->table != RT_TABLE_MAIN && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " table %u", r->table);
}

static int route_change(struct nl_sock *sk, uint16_t type, uint16_t flags, const struct nl_route *r,
			struct cni_err *err, const char *what)
{
	bool del = type == RTM_DELROUTE;
	uint32_t table = r->table ? r->table : RT_TABLE_MAIN;
	char buf[NL_SEND_SIZE], desc[256];
	struct cni_prefix net;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int n, ret;

	if (!route_ok(r))
		return cni_err_set(err, CNI_ERR_NETLINK, -EINVAL, "%s a route: invalid addresses", what);
	n = cni_ip_bytes(&r->dst.ip);
	nlh = nl_msg_new(buf, type, flags);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = r->dst.ip.family;
	rtm->rtm_dst_len = r->dst.len;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	/* Deleting: unset fields are wildcards (scope NOWHERE, protocol and type 0). */
	rtm->rtm_protocol = r->protocol ? r->protocol : del ? 0 : RTPROT_BOOT;
	rtm->rtm_scope = r->scope ? r->scope : del ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
	rtm->rtm_type = r->type ? r->type : del ? RTN_UNSPEC : RTN_UNICAST;
	if (r->onlink)
		rtm->rtm_flags |= RTNH_F_ONLINK;
	/* The kernel refuses a destination with host bits set. */
	net = cni_prefix_network(&r->dst);
	if (r->dst.len)
		mnl_attr_put(nlh, RTA_DST, n, net.ip.a);
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (r->gw.family)
		mnl_attr_put(nlh, RTA_GATEWAY, n, r->gw.a);
	if (r->src.family)
		mnl_attr_put(nlh, RTA_PREFSRC, n, r->src.a);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	if (r->priority)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->priority);
	if (!del && (r->mtu || r->advmss)) {
		struct nlattr *m = mnl_attr_nest_start(nlh, RTA_METRICS);

		if (r->mtu)
			mnl_attr_put_u32(nlh, RTAX_MTU, r->mtu);
		if (r->advmss)
			mnl_attr_put_u32(nlh, RTAX_ADVMSS, r->advmss);
		mnl_attr_nest_end(nlh, m);
	}
	ret = nl_talk(sk, nlh, NULL, NULL);
	if (ret < 0) {
		route_describe(sk, r, desc, sizeof(desc));
		return nl_fail(sk, err, ret, "%s route %s", what, desc);
	}
	return 0;
}

int nl_route_add(struct nl_sock *sk, const struct nl_route *r, struct cni_err *err)
{
	return route_change(sk, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r, err, "adding");
}

/* Without NLM_F_EXCL, as upstream's RouteAddEcmp: the kernel's rules decide what shares a destination. */
int nl_route_merge(struct nl_sock *sk, const struct nl_route *r, struct cni_err *err)
{
	return route_change(sk, RTM_NEWROUTE, NLM_F_CREATE, r, err, "adding");
}

int nl_route_replace(struct nl_sock *sk, const struct nl_route *r, struct cni_err *err)
{
	return route_change(sk, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, err, "replacing");
}

int nl_route_del(struct nl_sock *sk, const struct nl_route *r, struct cni_err *err)
{
	return route_change(sk, RTM_DELROUTE, 0, r, err, "deleting");
}

struct route_list {
	int family, oif;
	uint32_t table;
	struct nl_route *v;
	size_t n, cap;
	size_t base;		/* entries of earlier dumps, kept when one restarts */
};

static const enum mnl_attr_data_type route_policy[RTA_MAX + 1] = {
	[RTA_DST] = MNL_TYPE_BINARY,
	[RTA_GATEWAY] = MNL_TYPE_BINARY,
	[RTA_PREFSRC] = MNL_TYPE_BINARY,
	[RTA_OIF] = MNL_TYPE_U32,
	[RTA_PRIORITY] = MNL_TYPE_U32,
	[RTA_TABLE] = MNL_TYPE_U32,
	[RTA_METRICS] = MNL_TYPE_NESTED,
	[RTA_MULTIPATH] = MNL_TYPE_BINARY,
};

static const enum mnl_attr_data_type nexthop_policy[RTA_MAX + 1] = {
	[RTA_GATEWAY] = MNL_TYPE_BINARY,
};

static const enum mnl_attr_data_type metrics_policy[RTAX_MAX + 1] = {
	[RTAX_MTU] = MNL_TYPE_U32,
	[RTAX_ADVMSS] = MNL_TYPE_U32,
};

/* *mp: the RTA_MULTIPATH attribute, NULL if the route has one next hop. */
static int route_parse(const struct nlmsghdr *nlh, struct nl_route *out, const struct nlattr **mp)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1], *mx[RTAX_MAX + 1];
	struct nl_route r = { 0 };
	int f;

	if (nl_parse(nlh, sizeof(*rtm), tb, route_policy, RTA_MAX) < 0)
		return -EBADMSG;
	f = rtm->rtm_family;
	r.dst.ip.family = f;
	r.dst.len = rtm->rtm_dst_len;
	if (r.dst.len > cni_ip_bits(&r.dst.ip))
		return -EBADMSG;
	if ((tb[RTA_DST] && nl_attr_get_ip(tb[RTA_DST], f, &r.dst.ip) < 0) ||
	    (tb[RTA_GATEWAY] && nl_attr_get_ip(tb[RTA_GATEWAY], f, &r.gw) < 0) ||
	    (tb[RTA_PREFSRC] && nl_attr_get_ip(tb[RTA_PREFSRC], f, &r.src) < 0))
		return -EBADMSG;
	r.table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	r.oif = tb[RTA_OIF] ? (int)mnl_attr_get_u32(tb[RTA_OIF]) : 0;
	r.priority = tb[RTA_PRIORITY] ? mnl_attr_get_u32(tb[RTA_PRIORITY]) : 0;
	r.scope = rtm->rtm_scope;
	r.protocol = rtm->rtm_protocol;
	r.type = rtm->rtm_type;
	r.onlink = rtm->rtm_flags & RTNH_F_ONLINK;
	if (tb[RTA_METRICS]) {
		if (nl_parse_nested(tb[RTA_METRICS], mx, metrics_policy, RTAX_MAX) < 0)
			return -EBADMSG;
		r.mtu = mx[RTAX_MTU] ? mnl_attr_get_u32(mx[RTAX_MTU]) : 0;
		r.advmss = mx[RTAX_ADVMSS] ? mnl_attr_get_u32(mx[RTAX_ADVMSS]) : 0;
	}
	*out = r;
	*mp = tb[RTA_MULTIPATH];
	return 0;
}

/* Appends r unless it is not through l->oif. */
static int route_list_push(struct route_list *l, const struct nl_route *r)
{
	if (l->oif && r->oif != l->oif)
		return MNL_CB_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct nl_route *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			return MNL_CB_ERROR;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *r;
	return MNL_CB_OK;
}

/* The gateway of one next hop (RTA_GATEWAY inside it); none is fine. */
static int nexthop_gw(const struct rtnexthop *nh, int family, struct cni_ip *gw)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct nl_attrs a = { tb, nexthop_policy, RTA_MAX };

	if (mnl_attr_parse_payload(RTNH_DATA(nh), nh->rtnh_len - RTNH_LENGTH(0), nl_attr_cb, &a) < 0)
		return -EBADMSG;
	if (tb[RTA_GATEWAY])
		return nl_attr_get_ip(tb[RTA_GATEWAY], family, gw);
	return 0;
}

static int route_list_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct rtnexthop *nh;
	const struct nlattr *mp;
	struct route_list *l = data;
	struct nl_route r;
	int len;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return MNL_CB_ERROR;
	/* Other families (multicast, MPLS) and cached clones are not routes we manage. */
	if ((rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) ||
	    (l->family != AF_UNSPEC && rtm->rtm_family != l->family) ||
	    (rtm->rtm_flags & RTM_F_CLONED))
		return MNL_CB_OK;
	if (route_parse(nlh, &r, &mp) < 0)
		return MNL_CB_ERROR;
	if (l->table != NL_TABLE_ANY && r.table != l->table)
		return MNL_CB_OK;
	if (!mp)
		return route_list_push(l, &r);
	/* A multipath route: one entry per next hop, each with its own gateway and link. */
	len = mnl_attr_get_payload_len(mp);
	for (nh = mnl_attr_get_payload(mp); len >= (int)sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) &&
	     nh->rtnh_len <= (unsigned int)len; len -= RTNH_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh)) {
		struct nl_route hop = r;

		hop.oif = nh->rtnh_ifindex;
		hop.onlink = nh->rtnh_flags & RTNH_F_ONLINK;
		memset(&hop.gw, 0, sizeof(hop.gw));
		if (nexthop_gw(nh, rtm->rtm_family, &hop.gw) < 0)
			return MNL_CB_ERROR;
		if (route_list_push(l, &hop) != MNL_CB_OK)
			return MNL_CB_ERROR;
	}
	/* The last hop's padding may be missing; a partial hop may not. */
	return len > 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static void route_list_reset(void *data)
{
	struct route_list *l = data;

	l->n = l->base;
}

/*
 * One dump of family. The socket asks for strict checking, so the kernel
 * filters by table and oif itself rather than sending a node's whole table
 * (a /32 per pod with ptp); route_list_cb still filters, for kernels that
 * ignore the request's filters.
 */
static int route_dump(struct nl_sock *sk, int family, struct route_list *l)
{
	char buf[NL_SEND_SIZE];
	struct nlmsghdr *nlh = nl_msg_new(buf, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	int ret;

	rtm->rtm_family = family;
	/* A kernel without this family answers for every family: keep only ours. */
	l->family = family;
	l->base = l->n;
	if (l->table != NL_TABLE_ANY)
		mnl_attr_put_u32(nlh, RTA_TABLE, l->table);
	if (l->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)l->oif);
	ret = nl_dump(sk, nlh, route_list_cb, route_list_reset, l);
	/* A table that does not exist holds no routes. */
	if (ret == -ENOENT && l->table != NL_TABLE_ANY)
		ret = 0;
	return ret;
}

int nl_route_list(struct nl_sock *sk, int family, uint32_t table, int oif,
		  struct nl_route **out, size_t *n, struct cni_err *err)
{
	struct route_list l = { .family = family, .oif = oif, .table = table ? table : RT_TABLE_MAIN };
	bool filtered = l.table != NL_TABLE_ANY || oif;
	int ret;

	/*
	 * Filters go to one family at a time: an AF_UNSPEC dump reaches every
	 * family's dumper, and MPLS's refuses a table filter.
	 */
	if (family == AF_UNSPEC && filtered) {
		ret = route_dump(sk, AF_INET, &l);
		if (!ret)
			ret = route_dump(sk, AF_INET6, &l);
	} else {
		ret = route_dump(sk, family, &l);
	}
	if (ret < 0) {
		free(l.v);
		return nl_fail(sk, err, ret, "listing routes");
	}
	if (!l.n) {
		free(l.v);
		l.v = NULL;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

static int route_get_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *mp;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return MNL_CB_ERROR;
	/* A lookup answers with the one path it chose (RTA_GATEWAY, RTA_OIF), never RTA_MULTIPATH. */
	return route_parse(nlh, data, &mp) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int nl_route_get(struct nl_sock *sk, const struct cni_ip *dst, struct nl_route *out, struct cni_err *err)
{
	char buf[NL_SEND_SIZE], a[CNI_IP_STRLEN];
	struct nlmsghdr *nlh = nl_msg_new(buf, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct nl_route r = { 0 };
	int ret;

	if (dst->family != AF_INET && dst->family != AF_INET6)
		return cni_err_set(err, CNI_ERR_NETLINK, -EINVAL, "route lookup: no address");
	rtm->rtm_family = (uint8_t)dst->family;
	rtm->rtm_dst_len = (uint8_t)cni_ip_bits(dst);
	mnl_attr_put(nlh, RTA_DST, (size_t)cni_ip_bytes(dst), dst->a);
	ret = nl_talk(sk, nlh, route_get_cb, &r);
	if (ret < 0)
		return nl_fail(sk, err, ret, "looking up the route to %s", cni_ip_format(dst, a));
	*out = r;
	return 0;
}
