// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctnetlink: dump the entries of one destination port (filtered in the
 * kernel), then delete each by its original tuple. Two steps because a
 * netlink socket cannot take requests while it is answering a dump, and
 * ctnetlink's own flush only filters by mark.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "cni/conntrack.h"
#include "nl-internal.h"

/* The kernel's CTA_FILTER_F_* (net/netfilter/nf_internals.h, not in the uapi). */
#define CT_F_IP_DST (1u << 1)
#define CT_F_PROTO_NUM (1u << 3)
#define CT_F_PROTO_DST_PORT (1u << 5)

/* One entry to delete: its original tuple as the kernel sent it, and its zone. */
struct ct_entry {
	char tuple[128];
	size_t len;
	uint16_t zone;			/* network order, as CTA_ZONE carries it */
	bool has_zone;
};

struct ct_list {
	const struct ct_match *m;
	struct ct_entry *v;
	size_t n, cap;
};

static struct nlmsghdr *ct_msg(void *buf, uint16_t type, uint16_t flags, int family)
{
	struct nlmsghdr *nlh = nl_msg_new(buf, (NFNL_SUBSYS_CTNETLINK << 8) | type, flags);
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	g->nfgen_family = (uint8_t)family;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

static void put_tuple(struct nlmsghdr *nlh, const struct ct_match *m)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG), *n;

	if (m->daddr) {
		n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
		mnl_attr_put(nlh, m->family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST,
			     m->family == AF_INET ? 4 : 16, m->daddr->a);
		mnl_attr_nest_end(nlh, n);
	}
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, m->l4proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(m->dport));
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
}

/* Does the original tuple match? Checked here too: an old kernel ignores CTA_FILTER. */
static bool tuple_matches(const struct nlattr *tuple, const struct ct_match *m)
{
	static const enum mnl_attr_data_type tp[CTA_TUPLE_MAX + 1] = {
		[CTA_TUPLE_IP] = MNL_TYPE_NESTED, [CTA_TUPLE_PROTO] = MNL_TYPE_NESTED,
	};
	static const enum mnl_attr_data_type ip[CTA_IP_MAX + 1] = {
		[CTA_IP_V4_DST] = MNL_TYPE_BINARY, [CTA_IP_V6_DST] = MNL_TYPE_BINARY,
	};
	static const enum mnl_attr_data_type pp[CTA_PROTO_MAX + 1] = {
		[CTA_PROTO_NUM] = MNL_TYPE_U8, [CTA_PROTO_DST_PORT] = MNL_TYPE_U16,
	};
	const struct nlattr *t[CTA_TUPLE_MAX + 1], *a[CTA_IP_MAX + 1], *p[CTA_PROTO_MAX + 1];
	int dst = m->family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST;
	struct cni_ip d;

	if (nl_parse_nested(tuple, t, tp, CTA_TUPLE_MAX) < 0 || !t[CTA_TUPLE_PROTO] ||
	    nl_parse_nested(t[CTA_TUPLE_PROTO], p, pp, CTA_PROTO_MAX) < 0 || !p[CTA_PROTO_NUM] ||
	    !p[CTA_PROTO_DST_PORT])
		return false;
	if (mnl_attr_get_u8(p[CTA_PROTO_NUM]) != m->l4proto ||
	    ntohs(mnl_attr_get_u16(p[CTA_PROTO_DST_PORT])) != m->dport)
		return false;
	if (!m->daddr)
		return true;
	return t[CTA_TUPLE_IP] && nl_parse_nested(t[CTA_TUPLE_IP], a, ip, CTA_IP_MAX) == 0 && a[dst] &&
	       nl_attr_get_ip(a[dst], m->family, &d) == 0 && cni_ip_equal(&d, m->daddr);
}

static int entry_cb(const struct nlmsghdr *nlh, void *data)
{
	static const enum mnl_attr_data_type pol[CTA_MAX + 1] = {
		[CTA_TUPLE_ORIG] = MNL_TYPE_NESTED, [CTA_ZONE] = MNL_TYPE_U16,
	};
	const struct nlattr *tb[CTA_MAX + 1];
	struct ct_list *l = data;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct ct_entry *e;
	size_t len;

	if (nl_parse(nlh, sizeof(*g), tb, pol, CTA_MAX) < 0)
		return MNL_CB_ERROR;
	if (g->nfgen_family != l->m->family || !tb[CTA_TUPLE_ORIG] ||
	    !tuple_matches(tb[CTA_TUPLE_ORIG], l->m))
		return MNL_CB_OK;
	len = mnl_attr_get_payload_len(tb[CTA_TUPLE_ORIG]);
	if (len > sizeof(e->tuple))
		return MNL_CB_ERROR;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct ct_entry *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			return MNL_CB_ERROR;
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n++];
	memcpy(e->tuple, mnl_attr_get_payload(tb[CTA_TUPLE_ORIG]), len);
	e->len = len;
	e->has_zone = tb[CTA_ZONE] != NULL;
	e->zone = e->has_zone ? mnl_attr_get_u16(tb[CTA_ZONE]) : 0;
	return MNL_CB_OK;
}

static void list_reset(void *data)
{
	((struct ct_list *)data)->n = 0;
}

int ct_delete(const struct ct_match *m, size_t *deleted, struct cni_err *err)
{
	char buf[NL_SEND_SIZE];
	struct ct_list l = { .m = m };
	struct nl_sock *sk = NULL;
	struct nlmsghdr *nlh;
	struct nlattr *f;
	size_t i, n = 0;
	int ret;

	if (!m || (m->family != AF_INET && m->family != AF_INET6) ||
	    (m->daddr && m->daddr->family != m->family))
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "conntrack: bad match");
	ret = nl_sock_open_bus(-1, NETLINK_NETFILTER, &sk, err);
	if (ret < 0)
		return ret;
	nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, m->family);
	put_tuple(nlh, m);
	f = mnl_attr_nest_start(nlh, CTA_FILTER);
	mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS,
			 CT_F_PROTO_NUM | CT_F_PROTO_DST_PORT | (m->daddr ? CT_F_IP_DST : 0));
	mnl_attr_put_u32(nlh, CTA_FILTER_REPLY_FLAGS, 0);
	mnl_attr_nest_end(nlh, f);
	ret = nl_dump(sk, nlh, entry_cb, list_reset, &l);
	if (ret < 0) {
		nl_fail(sk, err, ret, "conntrack: listing %s entries to port %u",
			m->family == AF_INET ? "IPv4" : "IPv6", m->dport);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		struct nlattr *t;

		nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, 0, m->family);
		t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
		memcpy(mnl_nlmsg_get_payload_tail(nlh), l.v[i].tuple, l.v[i].len);
		nlh->nlmsg_len += MNL_ALIGN(l.v[i].len);
		mnl_attr_nest_end(nlh, t);
		if (l.v[i].has_zone)
			mnl_attr_put_u16(nlh, CTA_ZONE, l.v[i].zone);
		ret = nl_talk(sk, nlh, NULL, NULL);
		if (ret == -ENOENT) {
			ret = 0;	/* expired or deleted by someone else meanwhile */
			continue;
		}
		if (ret < 0) {
			nl_fail(sk, err, ret, "conntrack: deleting an entry to port %u", m->dport);
			goto out;
		}
		n++;
	}
	if (deleted)
		*deleted = n;
out:
	free(l.v);
	nl_sock_close(sk);
	return ret;
}
