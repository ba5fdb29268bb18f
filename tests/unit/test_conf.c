// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cni/conf.h"
#include "cni/json.h"

static struct cni_conf *parse_ok(const char *s)
{
	struct cni_conf *c = NULL;
	struct cni_err err = { 0 };

	if (cni_conf_parse(s, strlen(s), &c, &err))
		fail_msg("parse failed: %d %s", err.code, err.msg);
	return c;
}

static int parse_code(const char *s)
{
	struct cni_conf *c = NULL;
	struct cni_err err = { 0 };

	assert_int_not_equal(cni_conf_parse(s, strlen(s), &c, &err), 0);
	assert_null(c);
	assert_true(strlen(err.msg) > 0);
	return err.code;
}

static void test_basic(void **state)
{
	struct cni_conf *c = parse_ok(
		"{\"cniVersion\":\"1.0.0\",\"name\":\"mynet\",\"type\":\"bridge\",\"bridge\":\"cni0\","
		"\"isGateway\":true,\"mtu\":1400,\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.1.0.0/16\"},"
		"\"dns\":{\"nameservers\":[\"1.1.1.1\"]},\"runtimeConfig\":{\"mac\":\"aa:bb:cc:dd:ee:ff\"},"
		"\"args\":{\"cni\":{\"ips\":[\"10.1.0.9\"]}}}");
	const char *s = NULL;
	bool b = false;
	long long n = 0;

	assert_string_equal(c->cni_version, "1.0.0");
	assert_string_equal(c->name, "mynet");
	assert_string_equal(c->type, "bridge");
	assert_string_equal(c->ipam_type, "host-local");
	assert_int_equal(c->dns.n_nameservers, 1);
	assert_null(c->prev_result);
	assert_false(c->has_valid);
	assert_int_equal(cni_json_get_str(c->root, "bridge", &s, NULL), 0);
	assert_string_equal(s, "cni0");
	assert_int_equal(cni_json_get_bool(c->root, "isGateway", &b, NULL), 0);
	assert_true(b);
	assert_int_equal(cni_json_get_int(c->root, "mtu", 0, 65535, &n, NULL), 0);
	assert_int_equal(n, 1400);
	assert_string_equal(cni_json_string(cni_conf_runtime(c, "mac")), "aa:bb:cc:dd:ee:ff");
	assert_int_equal(cni_json_len(cni_conf_args_cni(c, "ips")), 1);
	assert_memory_equal(c->raw, "{\"cniVersion\"", 13);
	cni_conf_free(c);
	cni_conf_free(NULL);
}

/* Go's decoder matches keys case-insensitively and the last match wins:
 * containerd's CRI really sends "HostPort", podman "hostPort". */
static void test_case_insensitive(void **state)
{
	struct cni_conf *c = parse_ok("{\"CNIVERSION\":\"0.4.0\",\"Name\":\"n\",\"TYPE\":\"ptp\","
				      "\"IPMasq\":true,\"ipmasq\":false,\"hostPort\":1,\"HostPort\":2,"
				      "\"Ipam\":{\"Type\":\"host-local\"},\"mtu\":null}");
	bool masq = false;
	long long port = 0, mtu = 7;

	assert_string_equal(c->cni_version, "0.4.0");
	assert_string_equal(c->name, "n");
	assert_string_equal(c->ipam_type, "host-local");
	assert_int_equal(cni_json_get_bool(c->root, "ipMasq", &masq, NULL), 0);
	assert_false(masq);
	assert_int_equal(cni_json_get_int(c->root, "HostPort", 0, 65535, &port, NULL), 0);
	assert_int_equal(port, 2);
	port = 0;
	assert_int_equal(cni_json_get_int(c->root, "hostport", 0, 65535, &port, NULL), 0);
	assert_int_equal(port, 2);
	/* null reads as absent: the default stays. */
	assert_int_equal(cni_json_get_int(c->root, "mtu", 0, 65535, &mtu, NULL), 0);
	assert_int_equal(mtu, 7);
	cni_conf_free(c);
}

static void test_versions_and_names(void **state)
{
	struct cni_conf *c = parse_ok("{\"name\":\"n\",\"type\":\"x\"}");

	assert_string_equal(c->cni_version, "0.1.0");
	cni_conf_free(c);
	c = parse_ok("{\"cniVersion\":\"\",\"name\":\"n.1_a-b\",\"type\":\"x\"}");
	assert_string_equal(c->cni_version, "0.1.0");
	cni_conf_free(c);
	assert_int_equal(parse_code("{\"cniVersion\":\"0.5.0\",\"name\":\"n\"}"), CNI_ERR_VERSION);
	assert_int_equal(parse_code("{\"cniVersion\":\"1.0\",\"name\":\"n\"}"), CNI_ERR_VERSION);
	assert_int_equal(parse_code("{\"cniVersion\":1,\"name\":\"n\"}"), CNI_ERR_DECODE);
	assert_int_equal(parse_code("{\"cniVersion\":\"1.0.0\"}"), CNI_ERR_CONFIG);
	assert_int_equal(parse_code("{\"cniVersion\":\"1.0.0\",\"name\":\"\"}"), CNI_ERR_CONFIG);
	assert_int_equal(parse_code("{\"cniVersion\":\"1.0.0\",\"name\":\"-bad\"}"), CNI_ERR_CONFIG);
	assert_int_equal(parse_code("{\"cniVersion\":\"1.0.0\",\"name\":\"a/b\"}"), CNI_ERR_CONFIG);
	assert_int_equal(parse_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":[]}"), CNI_ERR_DECODE);
	assert_int_equal(parse_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\""), CNI_ERR_DECODE);
	assert_int_equal(parse_code("not json"), CNI_ERR_DECODE);
	assert_int_equal(parse_code(""), CNI_ERR_DECODE);
	assert_int_equal(parse_code("[]"), CNI_ERR_DECODE);
}

static void test_prev_result_any_version(void **state)
{
	struct cni_conf *c = parse_ok(
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"loopback\",\"prevResult\":"
		"{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\"}}}");

	assert_non_null(c->prev_result);
	assert_int_equal(c->prev_result->n_ips, 1);
	assert_int_equal(c->prev_result->ips[0].iface, -1);
	cni_conf_free(c);
	c = parse_ok("{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"type\":\"x\",\"prevResult\":"
		     "{\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{\"version\":\"4\",\"interface\":0,"
		     "\"address\":\"10.0.0.2/24\"}]}}");
	assert_int_equal(c->prev_result->n_ifaces, 1);
	assert_int_equal(c->prev_result->ips[0].iface, 0);
	cni_conf_free(c);
	assert_int_equal(parse_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"prevResult\":"
				    "{\"ips\":[{\"address\":\"bogus\"}]}}"), CNI_ERR_DECODE);
}

static void test_gc_attachments(void **state)
{
	struct cni_conf *c = parse_ok(
		"{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"bridge\",\"cni.dev/valid-attachments\":"
		"[{\"containerID\":\"c1\",\"ifname\":\"eth0\"},{\"containerID\":\"c2\",\"ifname\":\"net1\"}]}");

	assert_true(c->has_valid);
	assert_int_equal(c->n_valid, 2);
	assert_true(cni_conf_is_valid_attachment(c, "c2", "net1"));
	assert_false(cni_conf_is_valid_attachment(c, "c2", "eth0"));
	cni_conf_free(c);
	c = parse_ok("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"cni.dev/attachments\":[]}");
	assert_true(c->has_valid);
	assert_int_equal(c->n_valid, 0);
	cni_conf_free(c);
	assert_int_equal(parse_code("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"cni.dev/valid-attachments\":"
				    "[{\"containerID\":\"c1\"}]}"), CNI_ERR_CONFIG);
}

static void test_names(void **state)
{
	assert_true(cni_valid_ifname("eth0"));
	assert_true(cni_valid_ifname("a234567890abcde"));
	assert_false(cni_valid_ifname("a234567890abcdef"));
	assert_false(cni_valid_ifname(""));
	assert_false(cni_valid_ifname("."));
	assert_false(cni_valid_ifname(".."));
	assert_false(cni_valid_ifname("a/b"));
	assert_false(cni_valid_ifname("a:b"));
	assert_false(cni_valid_ifname("a b"));
	assert_true(cni_valid_name("cnitool-0123abcd"));
	assert_true(cni_valid_name("k8s.io-abc_1"));
	assert_false(cni_valid_name("_x"));
	assert_false(cni_valid_name("x y"));
	assert_false(cni_valid_name(""));
}

/* Fails with code 6 and a message holding want. */
static void refuse(const char *s, size_t len, const char *want)
{
	struct cni_conf *c = NULL;
	struct cni_err err = { 0 };

	assert_int_not_equal(cni_conf_parse(s, len, &c, &err), 0);
	assert_null(c);
	if (err.code != CNI_ERR_DECODE || !strstr(err.msg, want))
		fail_msg("%s: got %d \"%s\", want code 6 naming \"%s\"", s, err.code, err.msg, want);
}

#define REFUSE(lit, want) refuse(lit, sizeof(lit) - 1, want)
#define BASE "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\","

/* A NUL cannot reach a C string: every string holding one is refused, naming it. */
static void test_nul_refused(void **state)
{
	struct cni_conf *c;

	REFUSE(BASE "\"bridge\":\"br\\u0000x\"}", "\"bridge\" holds U+0000");
	REFUSE("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"host-local\\u0000x\"}",
	       "\"type\" holds U+0000");
	REFUSE("{\"cniVersion\":\"1.0.0\",\"name\":\"b\\u0000n\",\"type\":\"bridge\"}", "\"name\"");
	REFUSE(BASE "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.91.0.0/24\\u0000junk\"}}",
	       "\"ipam.subnet\" holds U+0000");
	REFUSE(BASE "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"/tmp/x\\u0000/../..\"}}",
	       "\"ipam.dataDir\"");
	REFUSE(BASE "\"ipam\":{\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"}],[{\"subnet\":\"a\\u0000\"}]]}}",
	       "\"ipam.ranges[1][0].subnet\"");
	REFUSE(BASE "\"prevResult\":{\"ips\":[{\"address\":\"10.0.0.2/24\\u0000\"}]}}",
	       "\"prevResult.ips[0].address\"");
	REFUSE(BASE "\"args\":{\"cni\":{\"ips\":[\"10.0.0.2\",\"10.0.0.3\\u0000\"]}}}",
	       "\"args.cni.ips[1]\"");
	REFUSE(BASE "\"runtimeConfig\":{\"mac\":\"aa:bb:cc:dd:ee:ff\\u0000\"}}",
	       "\"runtimeConfig.mac\"");
	/* In a key, too; upper-case hex is the same escape. */
	REFUSE(BASE "\"ipam\":{\"sub\\u0000net\":\"x\"}}", "a key in \"ipam\"");
	REFUSE(BASE "\"x\":\"\\U0000\"}", "invalid JSON");
	REFUSE(BASE "\"bridge\":\"a\\u0000\"}", "U+0000");
	/* A raw NUL byte, raw control characters and invalid UTF-8. */
	REFUSE(BASE "\"bridge\":\"br\0x\"}", "\"bridge\" holds a NUL byte");
	REFUSE(BASE "\"bridge\":\"br\tx\"}", "\"bridge\" holds a raw control character");
	REFUSE(BASE "\"bridge\":\"br\xffx\"}", "\"bridge\" holds invalid UTF-8");
	REFUSE(BASE "\"bridge\":\"\xc0\xae\"}", "invalid UTF-8");		/* overlong '.' */
	REFUSE(BASE "\"bridge\":\"\xed\xa0\x80\"}", "invalid UTF-8");	/* surrogate */
	REFUSE(BASE "\"bridge\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8");	/* > U+10FFFF */
	REFUSE(BASE "\"bridge\":\"\xe2\x82\"}", "invalid UTF-8");		/* truncated */

	/* What looks like it but is not: an escaped backslash before "u0000". */
	c = parse_ok(BASE "\"bridge\":\"a\\\\u0000\",\"x\":[\"\\\\\\\\u0000\"]}");
	assert_string_equal(cni_json_string(cni_json_get(c->root, "bridge")), "a\\u0000");
	cni_conf_free(c);
	c = parse_ok(BASE "\"bridge\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7 \\u00e9\\ud83d\\udc27\"}");
	cni_conf_free(c);
	REFUSE(BASE "\"y\":\"\\\\\\u0000\"}", "\"y\" holds U+0000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_versions_and_names),
		cmocka_unit_test(test_prev_result_any_version),
		cmocka_unit_test(test_gc_attachments),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_nul_refused),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
