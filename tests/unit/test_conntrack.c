// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ct_delete() against a stand-in for ctnetlink (libmnl wrapped): the dump it
 * asks for (kernel-side filter on protocol, port and address), the entries it
 * picks from the reply (it filters again: old kernels ignore CTA_FILTER), and
 * the delete of each by its original tuple and zone.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "cni/conntrack.h"

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len);
ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz);

#define MAXM 8
#define SZ 8192
static uint8_t sent[MAXM][SZ];
static int nsent;
static uint32_t last_seq;
/* What the fake kernel answers: the dump's entries, then each delete's errno. */
static uint8_t dump[SZ];
static size_t dump_len;
static int delete_errno;
static bool in_dump;

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;

	assert_true(nsent < MAXM && len <= SZ);
	memcpy(sent[nsent++], buf, len);
	last_seq = nlh->nlmsg_seq;
	in_dump = nlh->nlmsg_flags & NLM_F_DUMP;
	return (ssize_t)len;
}

static size_t put_done(uint8_t *buf, int type, int error)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_seq = last_seq;
	if (type == NLMSG_ERROR) {
		struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

		e->error = error;
		memcpy(&e->msg, sent[nsent - 1], sizeof(e->msg));
		nlh->nlmsg_flags = NLM_F_CAPPED;
	} else {
		int *e = mnl_nlmsg_put_extra_header(nlh, sizeof(int));

		*e = error;
		nlh->nlmsg_flags = NLM_F_MULTI;
	}
	return nlh->nlmsg_len;
}

ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz)
{
	uint8_t *b = buf;
	size_t len = 0;
	struct nlmsghdr *nlh;
	int left;

	if (in_dump) {
		memcpy(b, dump, dump_len);
		for (left = (int)dump_len, nlh = buf; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			nlh->nlmsg_seq = last_seq;
		len = dump_len + put_done(b + dump_len, NLMSG_DONE, 0);
		in_dump = false;
	} else {
		len = put_done(b, NLMSG_ERROR, delete_errno);
	}
	return (ssize_t)len;
}

/* An IPv4 UDP entry src:sport -> dst:dport in zone (0: no CTA_ZONE). */
static void add_entry(const char *src, const char *dst, uint8_t proto, uint16_t sport, uint16_t dport,
		      uint16_t zone)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(dump + dump_len);
	struct nfgenmsg *g;
	struct nlattr *t, *n;
	struct in_addr a;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nlh->nlmsg_flags = NLM_F_MULTI;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_INET;
	t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	inet_pton(AF_INET, src, &a);
	mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, &a);
	inet_pton(AF_INET, dst, &a);
	mnl_attr_put(nlh, CTA_IP_V4_DST, 4, &a);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
	if (zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(zone));
	dump_len += nlh->nlmsg_len;
}

static int reset(void **state)
{
	nsent = 0;
	dump_len = 0;
	delete_errno = 0;
	in_dump = false;
	return 0;
}

/* The attribute of type under nlh (after the nfgenmsg), or NULL. */
static const struct nlattr *attr(const struct nlmsghdr *nlh, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == type)
			return a;
	return NULL;
}

static const struct nlattr *nested(const struct nlattr *nest, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) == type)
			return a;
	return NULL;
}

static void test_dump_request_and_delete(void **state)
{
	struct ct_match m = { AF_INET, IPPROTO_UDP, 5353, NULL };
	struct cni_err err = { 0 };
	const struct nlmsghdr *req, *del;
	const struct nlattr *f, *t, *p;
	size_t n = 99;

	add_entry("192.0.2.2", "192.0.2.1", IPPROTO_UDP, 41000, 5353, 7);
	/* What an old kernel that ignores the filter would add: another port, TCP. */
	add_entry("192.0.2.2", "192.0.2.1", IPPROTO_UDP, 41000, 53, 0);
	add_entry("192.0.2.2", "192.0.2.1", IPPROTO_TCP, 41000, 5353, 0);
	assert_int_equal(ct_delete(&m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(nsent, 2);

	req = (const struct nlmsghdr *)sent[0];
	assert_int_equal(req->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
	assert_true(req->nlmsg_flags & NLM_F_DUMP);
	assert_int_equal(((const struct nfgenmsg *)mnl_nlmsg_get_payload(req))->nfgen_family, AF_INET);
	f = attr(req, CTA_FILTER);
	assert_non_null(f);
	/* CTA_FILTER_F_CTA_PROTO_NUM | CTA_FILTER_F_CTA_PROTO_DST_PORT: no address asked. */
	assert_int_equal(mnl_attr_get_u32(nested(f, CTA_FILTER_ORIG_FLAGS)), (1u << 3) | (1u << 5));
	t = attr(req, CTA_TUPLE_ORIG);
	p = nested(t, CTA_TUPLE_PROTO);
	assert_int_equal(mnl_attr_get_u8(nested(p, CTA_PROTO_NUM)), IPPROTO_UDP);
	assert_int_equal(ntohs(mnl_attr_get_u16(nested(p, CTA_PROTO_DST_PORT))), 5353);
	assert_null(nested(t, CTA_TUPLE_IP));

	/* The delete carries the entry's own tuple (source port too) and its zone. */
	del = (const struct nlmsghdr *)sent[1];
	assert_int_equal(del->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE);
	t = attr(del, CTA_TUPLE_ORIG);
	p = nested(t, CTA_TUPLE_PROTO);
	assert_int_equal(ntohs(mnl_attr_get_u16(nested(p, CTA_PROTO_SRC_PORT))), 41000);
	assert_int_equal(ntohs(mnl_attr_get_u16(nested(p, CTA_PROTO_DST_PORT))), 5353);
	assert_non_null(nested(t, CTA_TUPLE_IP));
	assert_int_equal(ntohs(mnl_attr_get_u16(attr(del, CTA_ZONE))), 7);
}

static void test_address_filter(void **state)
{
	struct cni_ip d = { AF_INET, { 192, 0, 2, 1 } };
	struct ct_match m = { AF_INET, IPPROTO_UDP, 5353, &d };
	struct cni_err err = { 0 };
	size_t n = 0;

	add_entry("192.0.2.2", "192.0.2.9", IPPROTO_UDP, 41000, 5353, 0);
	add_entry("192.0.2.2", "192.0.2.1", IPPROTO_UDP, 41001, 5353, 0);
	assert_int_equal(ct_delete(&m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(mnl_attr_get_u32(nested(attr((const struct nlmsghdr *)sent[0], CTA_FILTER),
						  CTA_FILTER_ORIG_FLAGS)),
			 (1u << 1) | (1u << 3) | (1u << 5));
	assert_non_null(nested(attr((const struct nlmsghdr *)sent[0], CTA_TUPLE_ORIG), CTA_TUPLE_IP));
}

static void test_vanished_entry_is_no_error(void **state)
{
	struct ct_match m = { AF_INET, IPPROTO_UDP, 5353, NULL };
	struct cni_err err = { 0 };
	size_t n = 99;

	add_entry("192.0.2.2", "192.0.2.1", IPPROTO_UDP, 41000, 5353, 0);
	delete_errno = -ENOENT;
	assert_int_equal(ct_delete(&m, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(err.code, 0);
}

static void test_delete_refused(void **state)
{
	struct ct_match m = { AF_INET, IPPROTO_UDP, 5353, NULL };
	struct cni_err err = { 0 };

	add_entry("192.0.2.2", "192.0.2.1", IPPROTO_UDP, 41000, 5353, 0);
	delete_errno = -EPERM;
	assert_int_equal(ct_delete(&m, NULL, &err), -EPERM);
	assert_int_equal(err.code, CNI_ERR_NETLINK);
	assert_non_null(strstr(err.msg, "5353"));
}

static void test_bad_match(void **state)
{
	struct cni_ip d6 = { AF_INET6, { 0 } };
	struct ct_match m = { AF_INET, IPPROTO_UDP, 53, &d6 };
	struct cni_err err = { 0 };

	assert_int_equal(ct_delete(&m, NULL, &err), -EINVAL);
	assert_int_equal(nsent, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_dump_request_and_delete, reset),
		cmocka_unit_test_setup(test_address_filter, reset),
		cmocka_unit_test_setup(test_vanished_entry_is_no_error, reset),
		cmocka_unit_test_setup(test_delete_refused, reset),
		cmocka_unit_test_setup(test_bad_match, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
