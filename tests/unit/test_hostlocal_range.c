// SPDX-License-Identifier: GPL-2.0-or-later
/* host-local ranges: the reference's defaults, validation and allocation order. */
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../plugins/host-local/range.h"

static struct cni_ip ip_of(const char *s)
{
	struct cni_ip ip;

	assert_int_equal(cni_ip_parse(s, &ip), 0);
	return ip;
}

static void ip_is(const struct cni_ip *ip, const char *want)
{
	char buf[CNI_IP_STRLEN];

	assert_string_equal(cni_ip_format(ip, buf), want);
}

static struct hl_range range_ok(const char *subnet, const char *start, const char *end,
				const char *gw)
{
	struct cni_err err = { 0 };
	struct hl_range r;

	assert_int_equal(hl_range_init(&r, subnet, start, end, gw, &err), 0);
	assert_int_equal(err.code, 0);
	return r;
}

static void range_bad(const char *subnet, const char *start, const char *end, const char *want)
{
	struct cni_err err = { 0 };
	struct hl_range r;

	memset(&r, 0xaa, sizeof(r));
	assert_int_equal(hl_range_init(&r, subnet, start, end, NULL, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_string_equal(err.msg, want);
	assert_int_equal(r.start.family, (int)0xaaaaaaaa);	/* untouched on failure */
}

/* Go's net.IP.String(), which names the lease files. */
static void test_ip_string_like_go(void **state)
{
	static const char *const same[] = {
		"::", "::1", "1::", "fd00::2", "2001:db8::1:0:0:1", "1:0:0:2::3",
		"1:0:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", "fe80::a:b:c:d", "10.0.0.1",
		"0.0.0.0", "255.255.255.255", "::a:b", "a::b:0:0:0", "::fffe:0:1",
	};
	struct cni_ip ip;
	size_t i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		ip = ip_of(same[i]);
		ip_is(&ip, same[i]);
	}
	/* glibc's inet_ntop prints these as ::0.10.0.11 and ::1.2.3.4; Go does not. */
	ip = ip_of("::0.10.0.11");
	ip_is(&ip, "::a:b");
	ip = ip_of("::1.2.3.4");
	ip_is(&ip, "::102:304");
	ip = ip_of("2001:DB8:0:0:0:0:0:1");
	ip_is(&ip, "2001:db8::1");
	/* Leftmost of two equal runs. */
	ip = ip_of("1:0:0:2:3:0:0:4");
	ip_is(&ip, "1::2:3:0:0:4");
	/* A v4-mapped address is IPv4 to Go. */
	ip.family = AF_INET6;
	memset(ip.a, 0, 16);
	ip.a[10] = ip.a[11] = 0xff;
	ip.a[12] = 10;
	ip.a[15] = 7;
	ip_is(&ip, "10.0.0.7");
}

static void test_defaults(void **state)
{
	struct hl_range r = range_ok("10.1.2.0/24", NULL, NULL, NULL);
	char buf[HL_RANGE_STRLEN];

	ip_is(&r.start, "10.1.2.1");
	ip_is(&r.end, "10.1.2.254");
	ip_is(&r.gw, "10.1.2.1");
	assert_int_equal(r.subnet.len, 24);
	assert_string_equal(hl_range_string(&r, buf), "10.1.2.1-10.1.2.254");

	r = range_ok("fd00:1::/64", NULL, NULL, NULL);
	ip_is(&r.start, "fd00:1::1");
	ip_is(&r.end, "fd00:1::ffff:ffff:ffff:ffff");
	ip_is(&r.gw, "fd00:1::1");

	r = range_ok("10.1.2.0/30", NULL, NULL, NULL);
	ip_is(&r.start, "10.1.2.1");
	ip_is(&r.end, "10.1.2.2");

	r = range_ok("10.1.2.0/24", "10.1.2.100", "10.1.2.110", "10.1.2.254");
	ip_is(&r.start, "10.1.2.100");
	ip_is(&r.end, "10.1.2.110");
	ip_is(&r.gw, "10.1.2.254");

	/* The network and broadcast addresses are allowed when asked for. */
	r = range_ok("10.1.2.0/24", "10.1.2.0", "10.1.2.255", NULL);
	ip_is(&r.start, "10.1.2.0");
	ip_is(&r.end, "10.1.2.255");

	/* A gateway outside the subnet is the reference's business, not an error. */
	r = range_ok("10.1.2.0/24", NULL, NULL, "192.168.0.1");
	ip_is(&r.gw, "192.168.0.1");
	r = range_ok("10.1.2.0/24", NULL, NULL, "::ffff:10.1.2.9");
	ip_is(&r.gw, "10.1.2.9");
}

static void test_validation(void **state)
{
	range_bad("10.1.2.0/31", NULL, NULL, "Network 10.1.2.0/31 too small to allocate from");
	range_bad("10.1.2.1/32", NULL, NULL, "Network 10.1.2.1/32 too small to allocate from");
	range_bad("fd00::/127", NULL, NULL, "Network fd00::/127 too small to allocate from");
	range_bad("fd00::/128", NULL, NULL, "Network fd00::/128 too small to allocate from");
	range_bad("10.1.2.5/24", NULL, NULL,
		  "Network has host bits set. For a subnet mask of length 24 the network address is 10.1.2.0");
	range_bad("fd00::5/64", NULL, NULL,
		  "Network has host bits set. For a subnet mask of length 64 the network address is fd00::");
	range_bad("10.1.2.0/24", "10.1.3.1", NULL, "RangeStart 10.1.3.1 not in network 10.1.2.0/24");
	range_bad("10.1.2.0/24", NULL, "10.1.3.1", "RangeEnd 10.1.3.1 not in network 10.1.2.0/24");
	range_bad("10.1.2.0/24", "10.1.2.50", "10.1.2.40",
		  "RangeStart 10.1.2.50 not in network 10.1.2.0/24");
	range_bad("10.1.2.0/24", "fd00::1", NULL, "RangeStart fd00::1 not in network 10.1.2.0/24");
	range_bad("10.1.2.0/24", "10.1.2.x", NULL, "invalid rangeStart address \"10.1.2.x\"");
	range_bad("10.1.2.0", NULL, NULL, "invalid CIDR address: 10.1.2.0");
	range_bad("10.1.2.0/33", NULL, NULL, "invalid CIDR address: 10.1.2.0/33");
	range_bad(NULL, NULL, NULL, "range has no subnet");
	range_bad("::ffff:10.0.0.0/120", NULL, NULL, "IPNet IP and Mask version mismatch");
}

static void test_contains_and_sets(void **state)
{
	struct hl_range r[3];
	struct hl_rangeset set = { r, 2 };
	struct cni_err err = { 0 };
	struct cni_ip ip;
	char buf[256];

	r[0] = range_ok("10.1.0.0/24", "10.1.0.10", "10.1.0.20", NULL);
	r[1] = range_ok("10.2.0.0/24", NULL, NULL, NULL);
	assert_int_equal(hl_rangeset_check(&set, &err), 0);
	assert_int_equal(hl_rangeset_family(&set), AF_INET);
	assert_string_equal(hl_rangeset_string(&set, buf, sizeof(buf)),
			    "10.1.0.10-10.1.0.20,10.2.0.1-10.2.0.254");
	ip = ip_of("10.1.0.9");
	assert_null(hl_rangeset_find(&set, &ip));
	ip = ip_of("10.1.0.20");
	assert_ptr_equal(hl_rangeset_find(&set, &ip), &r[0]);
	ip = ip_of("10.2.0.255");
	assert_null(hl_rangeset_find(&set, &ip));
	ip = ip_of("10.2.0.254");
	assert_ptr_equal(hl_rangeset_find(&set, &ip), &r[1]);
	ip = ip_of("fd00::1");
	assert_null(hl_rangeset_find(&set, &ip));

	/* Overlap within a set, named like the reference does. */
	r[2] = range_ok("10.1.0.0/16", "10.1.0.15", "10.1.0.30", NULL);
	set.r = &r[1];
	assert_int_equal(hl_rangeset_check(&set, &err), 0);
	set.r = r;
	set.n = 3;
	assert_int_equal(hl_rangeset_check(&set, &err), -EINVAL);
	assert_string_equal(err.msg, "subnets 10.1.0.10-10.1.0.20 and 10.1.0.15-10.1.0.30 overlap");

	cni_err_clear(&err);
	r[2] = range_ok("fd00::/64", NULL, NULL, NULL);
	assert_int_equal(hl_rangeset_check(&set, &err), -EINVAL);
	assert_string_equal(err.msg, "mixed address families");

	cni_err_clear(&err);
	set.n = 0;
	assert_int_equal(hl_rangeset_check(&set, &err), -EINVAL);
	assert_string_equal(err.msg, "empty range set");
}

static void test_overlaps_between_sets(void **state)
{
	struct hl_range a[1], b[1], c[1];
	struct hl_rangeset sa = { a, 1 }, sb = { b, 1 }, sc = { c, 1 };

	a[0] = range_ok("10.0.0.0/16", NULL, NULL, NULL);
	b[0] = range_ok("10.0.5.0/24", NULL, NULL, NULL);
	c[0] = range_ok("fd00::/64", NULL, NULL, NULL);
	assert_true(hl_rangeset_overlaps(&sa, &sb));
	assert_true(hl_rangeset_overlaps(&sb, &sa));
	assert_false(hl_rangeset_overlaps(&sa, &sc));
	/* Same subnet, disjoint ranges: no overlap (the reference compares ranges). */
	a[0] = range_ok("10.0.0.0/24", "10.0.0.1", "10.0.0.100", NULL);
	b[0] = range_ok("10.0.0.0/24", "10.0.0.101", "10.0.0.200", NULL);
	assert_false(hl_rangeset_overlaps(&sa, &sb));
}

static void order_is(const struct hl_rangeset *set, const char *last, const char *const *want)
{
	struct hl_iter it;
	struct cni_ip ip, l;
	const struct hl_range *r;
	char buf[CNI_IP_STRLEN];
	size_t i;

	if (last)
		l = ip_of(last);
	hl_iter_init(&it, set, last ? &l : NULL);
	for (i = 0; want[i]; i++) {
		assert_true(hl_iter_next(&it, &ip, &r));
		assert_string_equal(cni_ip_format(&ip, buf), want[i]);
		assert_true(hl_range_contains(r, &ip));
	}
	assert_false(hl_iter_next(&it, &ip, &r));
	assert_false(hl_iter_next(&it, &ip, &r));
}

static void test_iteration_order(void **state)
{
	struct hl_range r[2];
	struct hl_rangeset one = { r, 1 }, two = { r, 2 };

	r[0] = range_ok("10.0.0.0/29", NULL, NULL, NULL);
	order_is(&one, NULL, (const char *const[]){ "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5",
						    "10.0.0.6", NULL });
	/* Round robin: after the last reserved address, which comes last. */
	order_is(&one, "10.0.0.4", (const char *const[]){ "10.0.0.5", "10.0.0.6", "10.0.0.2",
							  "10.0.0.3", "10.0.0.4", NULL });
	order_is(&one, "10.0.0.6", (const char *const[]){ "10.0.0.2", "10.0.0.3", "10.0.0.4",
							  "10.0.0.5", "10.0.0.6", NULL });
	/* A last address outside the set (the ranges changed) restarts at the beginning. */
	order_is(&one, "10.9.0.4", (const char *const[]){ "10.0.0.2", "10.0.0.3", "10.0.0.4",
							  "10.0.0.5", "10.0.0.6", NULL });
	order_is(&one, "10.0.0.7", (const char *const[]){ "10.0.0.2", "10.0.0.3", "10.0.0.4",
							  "10.0.0.5", "10.0.0.6", NULL });

	/* Two ranges: the second follows the first, and wraps back to it. */
	r[0] = range_ok("10.0.0.0/24", "10.0.0.1", "10.0.0.3", NULL);
	r[1] = range_ok("10.0.1.0/24", "10.0.1.7", "10.0.1.8", "10.0.1.8");
	order_is(&two, NULL, (const char *const[]){ "10.0.0.2", "10.0.0.3", "10.0.1.7", NULL });
	order_is(&two, "10.0.1.7", (const char *const[]){ "10.0.0.2", "10.0.0.3", "10.0.1.7",
							  NULL });
	order_is(&two, "10.0.0.2", (const char *const[]){ "10.0.0.3", "10.0.1.7", "10.0.0.2",
							  NULL });

	/* Only the gateway: nothing to offer. */
	r[0] = range_ok("10.0.0.0/24", "10.0.0.1", "10.0.0.1", NULL);
	order_is(&one, NULL, (const char *const[]){ NULL });
	order_is(&one, "10.0.0.1", (const char *const[]){ NULL });

	r[0] = range_ok("fd00::/125", NULL, NULL, NULL);
	order_is(&one, "fd00::6", (const char *const[]){ "fd00::7", "fd00::2", "fd00::3", "fd00::4",
							 "fd00::5", "fd00::6", NULL });
}

/* An iteration over a big range hands out each address once, in order. */
static void test_iteration_big(void **state)
{
	struct hl_range r[1];
	struct hl_rangeset one = { r, 1 };
	struct cni_ip ip, prev;
	struct hl_iter it;
	size_t n = 0;

	r[0] = range_ok("10.8.0.0/16", NULL, NULL, NULL);
	prev = ip_of("10.8.0.1");
	hl_iter_init(&it, &one, NULL);
	while (hl_iter_next(&it, &ip, NULL)) {
		assert_true(cni_ip_cmp(&ip, &prev) > 0);
		prev = ip;
		n++;
	}
	assert_int_equal(n, 65533);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_string_like_go),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_contains_and_sets),
		cmocka_unit_test(test_overlaps_between_sets),
		cmocka_unit_test(test_iteration_order),
		cmocka_unit_test(test_iteration_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
