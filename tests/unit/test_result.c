// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cni/result.h"

#define DNS_JSON "\"dns\":{\"nameservers\":[\"10.96.0.10\"],\"domain\":\"cluster.local\"," \
	"\"search\":[\"svc.cluster.local\"],\"options\":[\"ndots:5\"]}"

static const char full_110[] =
	"{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"0a:58:0a:16:00:01\",\"mtu\":1500},"
	"{\"name\":\"veth1\",\"mac\":\"aa:bb:cc:dd:ee:01\"},"
	"{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:02\",\"sandbox\":\"/run/netns/p1\"}],"
	"\"ips\":[{\"interface\":2,\"address\":\"10.22.0.5/16\",\"gateway\":\"10.22.0.1\"},"
	"{\"interface\":2,\"address\":\"fd00::5/64\",\"gateway\":\"fd00::1\"},"
	"{\"interface\":2,\"address\":\"10.23.0.5/16\"}],"
	"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.22.0.1\",\"mtu\":1400,\"advmss\":1360,\"priority\":10,"
	"\"table\":100,\"scope\":0},{\"dst\":\"::/0\"}]," DNS_JSON "}";

static const char full_100[] =
	"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"0a:58:0a:16:00:01\"},"
	"{\"name\":\"veth1\",\"mac\":\"aa:bb:cc:dd:ee:01\"},"
	"{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:02\",\"sandbox\":\"/run/netns/p1\"}],"
	"\"ips\":[{\"interface\":2,\"address\":\"10.22.0.5/16\",\"gateway\":\"10.22.0.1\"},"
	"{\"interface\":2,\"address\":\"fd00::5/64\",\"gateway\":\"fd00::1\"},"
	"{\"interface\":2,\"address\":\"10.23.0.5/16\"}],"
	"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.22.0.1\"},{\"dst\":\"::/0\"}]," DNS_JSON "}";

#define FULL_04X(v)                                                                                      \
	"{\"cniVersion\":\"" v "\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"0a:58:0a:16:00:01\"},"   \
	"{\"name\":\"veth1\",\"mac\":\"aa:bb:cc:dd:ee:01\"},"                                            \
	"{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:02\",\"sandbox\":\"/run/netns/p1\"}],"              \
	"\"ips\":[{\"version\":\"4\",\"interface\":2,\"address\":\"10.22.0.5/16\",\"gateway\":\"10.22.0.1\"}," \
	"{\"version\":\"6\",\"interface\":2,\"address\":\"fd00::5/64\",\"gateway\":\"fd00::1\"},"        \
	"{\"version\":\"4\",\"interface\":2,\"address\":\"10.23.0.5/16\"}],"                              \
	"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.22.0.1\"},{\"dst\":\"::/0\"}]," DNS_JSON "}"

#define FULL_02X(v)                                                                                      \
	"{\"cniVersion\":\"" v "\",\"ip4\":{\"ip\":\"10.22.0.5/16\",\"gateway\":\"10.22.0.1\","          \
	"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.22.0.1\"}]},"                                    \
	"\"ip6\":{\"ip\":\"fd00::5/64\",\"gateway\":\"fd00::1\",\"routes\":[{\"dst\":\"::/0\"}]}," DNS_JSON "}"

/* What a 0.2.0 result becomes in newer versions: no interfaces, one IP per family. */
static const char legacy_100[] =
	"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.22.0.5/16\",\"gateway\":\"10.22.0.1\"},"
	"{\"address\":\"fd00::5/64\",\"gateway\":\"fd00::1\"}],"
	"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.22.0.1\"},{\"dst\":\"::/0\"}]," DNS_JSON "}";
static const char legacy_031[] =
	"{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":\"10.22.0.5/16\",\"gateway\":\"10.22.0.1\"},"
	"{\"version\":\"6\",\"address\":\"fd00::5/64\",\"gateway\":\"fd00::1\"}],"
	"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.22.0.1\"},{\"dst\":\"::/0\"}]," DNS_JSON "}";

static const struct {
	const char *in, *version, *want;
} conversions[] = {
	{ full_110, "1.1.0", full_110 },
	{ full_110, "1.0.0", full_100 },
	{ full_110, "0.4.0", FULL_04X("0.4.0") },
	{ full_110, "0.3.1", FULL_04X("0.3.1") },
	{ full_110, "0.3.0", FULL_04X("0.3.0") },
	{ full_110, "0.2.0", FULL_02X("0.2.0") },
	{ full_110, "0.1.0", FULL_02X("0.1.0") },
	{ full_100, "1.0.0", full_100 },
	{ FULL_04X("0.4.0"), "1.0.0", full_100 },
	{ FULL_04X("0.3.1"), "0.4.0", FULL_04X("0.4.0") },
	{ FULL_02X("0.2.0"), "0.2.0", FULL_02X("0.2.0") },
	{ FULL_02X("0.2.0"), "1.0.0", legacy_100 },
	{ FULL_02X("0.1.0"), "0.3.1", legacy_031 },
	{ legacy_031, "0.2.0", FULL_02X("0.2.0") },
	/* An L2-only result: nothing but interfaces, and an empty dns. */
	{ "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/x\"}]}", "0.4.0",
	  "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/x\"}],\"dns\":{}}" },
};

static void test_conversions(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(conversions) / sizeof(conversions[0]); i++) {
		struct cni_result *r = NULL;
		struct cni_err err = { 0 };
		char *out = NULL;

		print_message("case %zu: -> %s\n", i, conversions[i].version);
		assert_int_equal(cni_result_parse(conversions[i].in, strlen(conversions[i].in), &r, &err), 0);
		assert_int_equal(cni_result_format(r, conversions[i].version, &out, &err), 0);
		assert_string_equal(out, conversions[i].want);
		free(out);
		cni_result_free(r);
	}
}

static void test_roundtrip_dup(void **state)
{
	struct cni_result *r = NULL, *d;
	struct cni_err err = { 0 };
	char *a = NULL, *b = NULL;

	assert_int_equal(cni_result_parse(full_110, sizeof(full_110) - 1, &r, &err), 0);
	d = cni_result_dup(r);
	assert_non_null(d);
	cni_result_free(r);
	assert_int_equal(cni_result_format(d, "1.1.0", &a, &err), 0);
	assert_string_equal(a, full_110);
	assert_int_equal(d->n_ifaces, 3);
	assert_int_equal(d->ips[0].iface, 2);
	assert_int_equal(d->routes[0].table, 100);
	assert_int_equal(d->routes[1].table, -1);
	cni_result_free(d);
	free(a);
	free(b);
	cni_result_free(NULL);
}

static void test_errors(void **state)
{
	static const struct {
		const char *in;
		int code;
	} bad[] = {
		{ "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1\"}]}", 6 },
		{ "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":3}]}", 6 },
		{ "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/24\",\"gateway\":\"fd00::1\"}]}", 6 },
		{ "{\"cniVersion\":\"1.0.0\",\"routes\":[{\"gw\":\"10.0.0.1\"}]}", 6 },
		{ "{\"cniVersion\":\"1.0.0\",\"ips\":{}}", 6 },
		{ "{\"cniVersion\":\"7.0.0\"}", 1 },
		{ "[1,2]", 6 },
		{ "{\"cniVersion\":\"1.0.0\"", 6 },
		{ "{} x", 6 },
		{ "", 6 },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cni_result *r = NULL;
		struct cni_err err = { 0 };

		print_message("bad %zu\n", i);
		assert_int_not_equal(cni_result_parse(bad[i].in, strlen(bad[i].in), &r, &err), 0);
		assert_null(r);
		assert_int_equal(err.code, bad[i].code);
		assert_true(strlen(err.msg) > 0);
	}
}

static void test_legacy_needs_ip(void **state)
{
	struct cni_result *r = cni_result_new();
	struct cni_err err = { 0 };
	char *out = NULL;

	assert_int_equal(cni_result_add_iface(r, "eth0", NULL, "/run/netns/x"), 0);
	assert_int_not_equal(cni_result_format(r, "0.2.0", &out, &err), 0);
	assert_null(out);
	assert_int_equal(err.code, CNI_ERR_VERSION);
	assert_int_not_equal(cni_result_format(r, "2.0.0", &out, &err), 0);
	assert_int_equal(cni_result_format(r, "1.0.0", &out, &err), 0);
	assert_string_equal(out, "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/run/netns/x\"}],\"dns\":{}}");
	free(out);
	cni_result_free(r);
}

static void test_versions(void **state)
{
	assert_true(cni_version_known("0.3.1"));
	assert_false(cni_version_known("0.3.2"));
	assert_false(cni_version_known(""));
	assert_false(cni_version_known("1.1"));
	assert_true(cni_version_cmp("0.4.0", "1.0.0") < 0);
	assert_true(cni_version_cmp("1.1.0", "1.0.0") > 0);
	assert_int_equal(cni_version_cmp("0.3.0", "0.3.0"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_roundtrip_dup),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_legacy_needs_ip),
		cmocka_unit_test(test_versions),
	};

	return cmocka_run_group_tests_name("result", tests, NULL, NULL);
}
