// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cni/ip.h"

static void test_parse_format(void **state)
{
	static const struct { const char *in, *out; int family; } cases[] = {
		{ "10.1.2.3", "10.1.2.3", AF_INET },
		{ "::ffff:10.1.2.3", "10.1.2.3", AF_INET },
		{ "fd00::1", "fd00::1", AF_INET6 },
		{ "FD00:0:0::01", "fd00::1", AF_INET6 },
		/* Go's form, where inet_ntop would print ::0.10.0.11 */
		{ "::a:b", "::a:b", AF_INET6 },
		{ "::1", "::1", AF_INET6 },
		{ "::", "::", AF_INET6 },
		{ "1:0:0:1:0:0:0:1", "1:0:0:1::1", AF_INET6 },
		{ "1:0:0:0:1:0:0:1", "1::1:0:0:1", AF_INET6 },
		{ "1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0", AF_INET6 },
		{ "fd00:1:2:3:4:5:6:0", "fd00:1:2:3:4:5:6:0", AF_INET6 },
		{ "fd00::", "fd00::", AF_INET6 },
	};
	char buf[CNI_IP_STRLEN];
	struct cni_ip ip;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cni_ip_parse(cases[i].in, &ip), 0);
		assert_int_equal(ip.family, cases[i].family);
		assert_string_equal(cni_ip_format(&ip, buf), cases[i].out);
	}
	assert_int_not_equal(cni_ip_parse("10.1.2", &ip), 0);
	assert_int_not_equal(cni_ip_parse("10.1.2.3/24", &ip), 0);
	assert_int_not_equal(cni_ip_parse("", &ip), 0);
	assert_int_not_equal(cni_ip_parse(NULL, &ip), 0);
}

static void test_prefix(void **state)
{
	struct cni_prefix p, n, q;
	struct cni_ip ip, last;
	char buf[CNI_PREFIX_STRLEN];

	assert_int_equal(cni_prefix_parse("10.22.3.7/16", &p), 0);
	assert_string_equal(cni_prefix_format(&p, buf), "10.22.3.7/16");
	n = cni_prefix_network(&p);
	assert_string_equal(cni_prefix_format(&n, buf), "10.22.0.0/16");
	last = cni_prefix_last(&p);
	assert_string_equal(cni_ip_format(&last, buf), "10.22.255.255");
	assert_int_equal(cni_ip_parse("10.22.200.1", &ip), 0);
	assert_true(cni_prefix_contains(&p, &ip));
	assert_int_equal(cni_ip_parse("10.23.0.1", &ip), 0);
	assert_false(cni_prefix_contains(&p, &ip));
	assert_int_equal(cni_prefix_parse("10.22.128.0/17", &q), 0);
	assert_true(cni_prefix_overlaps(&p, &q));
	assert_int_equal(cni_prefix_parse("fd00:1::5/65", &p), 0);
	n = cni_prefix_network(&p);
	assert_string_equal(cni_prefix_format(&n, buf), "fd00:1::/65");
	last = cni_prefix_last(&p);
	assert_string_equal(cni_ip_format(&last, buf), "fd00:1::7fff:ffff:ffff:ffff");
	assert_int_not_equal(cni_prefix_parse("10.0.0.0/33", &p), 0);
	assert_int_not_equal(cni_prefix_parse("10.0.0.0/", &p), 0);
	assert_int_not_equal(cni_prefix_parse("10.0.0.0/08", &p), 0);
	assert_int_not_equal(cni_prefix_parse("10.0.0.0", &p), 0);
	assert_int_not_equal(cni_prefix_parse("fd00::/129", &p), 0);
	assert_int_equal(cni_prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(cni_ip_parse("1.2.3.4", &ip), 0);
	assert_true(cni_prefix_contains(&p, &ip));
}

static void test_next_prev(void **state)
{
	struct cni_ip ip;
	char buf[CNI_IP_STRLEN];

	assert_int_equal(cni_ip_parse("10.0.0.255", &ip), 0);
	cni_ip_next(&ip);
	assert_string_equal(cni_ip_format(&ip, buf), "10.0.1.0");
	cni_ip_prev(&ip);
	assert_string_equal(cni_ip_format(&ip, buf), "10.0.0.255");
	assert_int_equal(cni_ip_parse("255.255.255.255", &ip), 0);
	cni_ip_next(&ip);
	assert_string_equal(cni_ip_format(&ip, buf), "0.0.0.0");
	assert_int_equal(cni_ip_parse("fd00::ffff", &ip), 0);
	cni_ip_next(&ip);
	assert_string_equal(cni_ip_format(&ip, buf), "fd00::1:0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_next_prev),
	};

	return cmocka_run_group_tests_name("ip", tests, NULL, NULL);
}
