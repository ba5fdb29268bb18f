// SPDX-License-Identifier: GPL-2.0-or-later
/* portmap's keys, the runtime's mappings, conditionsV4/V6 and the pod's addresses, without a kernel. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/portmap/portmap.h"

#define PREV                                                                                       \
	"\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\"},"              \
	"{\"name\":\"veth1\"},{\"name\":\"eth0\",\"sandbox\":\"/run/netns/p\"}],"                    \
	"\"ips\":[{\"address\":\"10.1.0.9/24\",\"interface\":1},{\"address\":\"10.1.0.5/24\",\"interface\":2}," \
	"{\"address\":\"fd00::5/64\",\"interface\":2},{\"address\":\"fd00::6/64\",\"interface\":2}]}"

static struct cni_conf *conf;

static int parse(const char *keys, struct portmap_conf *c, struct cni_err *err)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "{\"cniVersion\":\"1.0.0\",\"name\":\"pmpnet\",\"type\":\"portmap\"%s%s}",
		 *keys ? "," : "", keys);
	cni_conf_free(conf);
	conf = NULL;
	memset(err, 0, sizeof(*err));
	if (cni_conf_parse(buf, strlen(buf), &conf, err))
		fail_msg("conf parse: %s", err->msg);
	return portmap_conf_parse(conf, "eth0", c, err);
}

static void ok(const char *keys, struct portmap_conf *c)
{
	struct cni_err err;

	if (parse(keys, c, &err))
		fail_msg("%s: %s", keys, err.msg);
}

/* Fails with code, and the message holds want. */
static void bad(const char *keys, int code, const char *want)
{
	struct portmap_conf c;
	struct cni_err err;

	if (!parse(keys, &c, &err))
		fail_msg("accepted: %s", keys);
	if (err.code != code || !strstr(err.msg, want))
		fail_msg("%s: code %d \"%s\", want %d with \"%s\"", keys, err.code, err.msg, code, want);
}

static void test_defaults(void **state)
{
	struct portmap_conf c;

	ok(PREV, &c);
	assert_true(c.snat);
	assert_false(c.masq_all);
	assert_int_equal(c.mark_bit, 13);
	assert_int_equal(c.n, 0);
	assert_null(c.external_chain);
	/* The sandbox's interface, not the host's, and the first of each family. */
	char a[CNI_PREFIX_STRLEN];
	assert_string_equal(cni_prefix_format(&c.pod4, a), "10.1.0.5/24");
	assert_string_equal(cni_prefix_format(&c.pod6, a), "fd00::5/64");
	portmap_conf_clear(&c);
}

static void test_mappings(void **state)
{
	struct portmap_conf c;
	char a[CNI_IP_STRLEN];

	/* CRI capitalises the keys, podman does not: both decode, as with Go. */
	ok("\"runtimeConfig\":{\"portMappings\":[{\"HostPort\":8080,\"ContainerPort\":80,\"Protocol\":\"TCP\"},"
	   "{\"hostPort\":53,\"containerPort\":5353,\"protocol\":\"udp\",\"hostIP\":\"192.0.2.1\"},"
	   "{\"hostPort\":9,\"containerPort\":9,\"protocol\":\"sctp\",\"hostIP\":\"::\"},"
	   "{\"hostPort\":10,\"containerPort\":11}]}", &c);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.maps[0].proto, IPPROTO_TCP);
	assert_int_equal(c.maps[0].host_port, 8080);
	assert_int_equal(c.maps[0].container_port, 80);
	assert_int_equal(c.maps[0].host_ip.family, 0);
	assert_int_equal(c.maps[1].proto, IPPROTO_UDP);
	assert_string_equal(cni_ip_format(&c.maps[1].host_ip, a), "192.0.2.1");
	assert_int_equal(c.maps[2].proto, IPPROTO_SCTP);
	assert_int_equal(c.maps[2].host_ip.family, AF_INET6);
	assert_true(cni_ip_is_zero(&c.maps[2].host_ip));
	assert_int_equal(c.maps[3].proto, IPPROTO_TCP);
	/* No prevResult: no pod address. */
	assert_int_equal(c.pod4.ip.family, 0);
	portmap_conf_clear(&c);
}

static void test_bad_mappings(void **state)
{
	bad("\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":0,\"containerPort\":80}]}", CNI_ERR_CONFIG,
	    "Invalid host port number: 0");
	bad("\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":70000,\"containerPort\":80}]}", CNI_ERR_CONFIG,
	    "Invalid host port number: 70000");
	bad("\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,\"containerPort\":-1}]}", CNI_ERR_CONFIG,
	    "Invalid container port number: -1");
	bad("\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,\"containerPort\":80,\"protocol\":\"icmp\"}]}",
	    CNI_ERR_CONFIG, "protocol \"icmp\"");
	bad("\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,\"containerPort\":80,\"hostIP\":\"nope\"}]}",
	    CNI_ERR_CONFIG, "hostIP \"nope\"");
	bad("\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":\"80\",\"containerPort\":80}]}", CNI_ERR_DECODE,
	    "hostPort");
	bad("\"runtimeConfig\":{\"portMappings\":[80]}", CNI_ERR_DECODE, "portMappings[0]");
	bad("\"runtimeConfig\":{\"portMappings\":{}}", CNI_ERR_DECODE, "portMappings");
}

static void test_keys(void **state)
{
	struct portmap_conf c;

	ok("\"snat\":false,\"masqAll\":true,\"markMasqBit\":0", &c);
	assert_false(c.snat);
	assert_true(c.masq_all);
	assert_int_equal(c.mark_bit, 0);
	portmap_conf_clear(&c);
	ok("\"markMasqBit\":31,\"backend\":\"nftables\"", &c);
	assert_int_equal(c.mark_bit, 31);
	portmap_conf_clear(&c);
	ok("\"externalSetMarkChain\":\"KUBE-MARK-MASQ\",\"backend\":\"iptables\"", &c);
	assert_string_equal(c.external_chain, "KUBE-MARK-MASQ");
	assert_int_equal(c.mark_bit, 13);
	portmap_conf_clear(&c);
	bad("\"markMasqBit\":32", CNI_ERR_CONFIG, "markMasqBit");
	bad("\"markMasqBit\":-1", CNI_ERR_CONFIG, "markMasqBit");
	bad("\"markMasqBit\":14,\"externalSetMarkChain\":\"X\"", CNI_ERR_CONFIG,
	    "Cannot specify externalSetMarkChain and markMasqBit");
	bad("\"backend\":\"firewalld\"", CNI_ERR_UNSUPPORTED_FIELD, "backend=\"firewalld\"");
	bad("\"externalSetMarkChain\":\"X\",\"backend\":\"nftables\"", CNI_ERR_CONFIG,
	    "iptables-specific options [externalSetMarkChain");
	bad("\"snat\":\"yes\"", CNI_ERR_DECODE, "snat");
}

static void test_conditions(void **state)
{
	struct portmap_conf c;
	char a[CNI_PREFIX_STRLEN];

	/* The reference joins the strings: one string or one word each reads the same. */
	ok("\"conditionsV4\":[\"ip daddr != 192.0.2.0/24\",\"meta\",\"iifname\",\"eth*\"],"
	   "\"conditionsV6\":[\"ip6\",\"saddr\",\"fd00::1\",\"oifname \\\"cni0\\\"\"]", &c);
	assert_int_equal(c.ncond4, 2);
	assert_int_equal(c.cond4[0].kind, NFT_PM_DADDR);
	assert_true(c.cond4[0].neg);
	assert_string_equal(cni_prefix_format(&c.cond4[0].addr, a), "192.0.2.0/24");
	assert_int_equal(c.cond4[1].kind, NFT_PM_IIFNAME);
	assert_string_equal(c.cond4[1].ifname, "eth");
	assert_true(c.cond4[1].prefix);
	assert_int_equal(c.ncond6, 2);
	assert_int_equal(c.cond6[0].kind, NFT_PM_SADDR);
	assert_false(c.cond6[0].neg);
	assert_int_equal(c.cond6[0].addr.len, 128);
	assert_int_equal(c.cond6[1].kind, NFT_PM_OIFNAME);
	assert_string_equal(c.cond6[1].ifname, "cni0");
	assert_false(c.cond6[1].prefix);
	portmap_conf_clear(&c);

	/* The iptables form of the reference's README. */
	ok("\"conditionsV4\":[\"!\",\"-d\",\"192.0.2.0/24\",\"-i\",\"eth+\"],\"conditionsV6\":[\"!\",\"-d\",\"fc00::/7\"]", &c);
	assert_int_equal(c.ncond4, 2);
	assert_true(c.cond4[0].neg);
	assert_int_equal(c.cond4[0].kind, NFT_PM_DADDR);
	assert_int_equal(c.cond4[1].kind, NFT_PM_IIFNAME);
	assert_true(c.cond4[1].prefix);
	assert_int_equal(c.ncond6, 1);
	portmap_conf_clear(&c);

	/* An empty list, or empty strings, is no condition. */
	ok("\"conditionsV4\":[],\"conditionsV6\":[\"\"]", &c);
	assert_int_equal(c.ncond4 + c.ncond6, 0);
	portmap_conf_clear(&c);

	bad("\"conditionsV4\":[\"tcp dport 80\"]", CNI_ERR_UNSUPPORTED_FIELD, "conditionsV4: match \"tcp\"");
	bad("\"conditionsV6\":[\"ip6 saddr fd00::1 counter\"]", CNI_ERR_UNSUPPORTED_FIELD,
	    "conditionsV6: match \"counter\"");
	bad("\"conditionsV4\":[\"-m\",\"comment\"]", CNI_ERR_UNSUPPORTED_FIELD,
	    "conditionsV4: iptables match \"-m\"");
	bad("\"conditionsV4\":[\"ip6 saddr fd00::1\"]", CNI_ERR_UNSUPPORTED_FIELD, "conditionsV4");
	bad("\"conditionsV4\":[\"ip saddr fd00::1\"]", CNI_ERR_CONFIG, "not an IPv4 address");
	bad("\"conditionsV4\":[\"ip saddr\"]", CNI_ERR_CONFIG, "address missing");
	bad("\"conditionsV4\":[\"iifname abcdefghijklmnopq\"]", CNI_ERR_CONFIG, "bad interface name");
	bad("\"conditionsV4\":[1]", CNI_ERR_DECODE, "conditionsV4");
	/* A form of the other backend, when one is named, as in the reference. */
	bad("\"backend\":\"nftables\",\"conditionsV4\":[\"-d\",\"10.0.0.1\"]", CNI_ERR_CONFIG,
	    "iptables-specific options [conditionsV4");
	bad("\"backend\":\"iptables\",\"conditionsV6\":[\"ip6 daddr ::1\"]", CNI_ERR_CONFIG,
	    "nftables-specific options [conditionsV6");
}

static int teardown(void **state)
{
	cni_conf_free(conf);
	conf = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_mappings),
		cmocka_unit_test(test_bad_mappings),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_conditions),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
