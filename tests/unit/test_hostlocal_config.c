// SPDX-License-Identifier: GPL-2.0-or-later
/* host-local config: LoadIPAMConfig's order, defaults and requested addresses; resolv.conf. */
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include "../../plugins/host-local/range.h"
#include "../../plugins/host-local/config.h"

static struct cni_conf *conf_of(const char *json)
{
	struct cni_err err = { 0 };
	struct cni_conf *conf = NULL;

	assert_int_equal(cni_conf_parse(json, strlen(json), &conf, &err), 0);
	return conf;
}

static const char *ip_str(const struct cni_ip *ip)
{
	static char buf[4][CNI_IP_STRLEN];
	static int n;

	return cni_ip_format(ip, buf[n++ % 4]);
}

static void test_order_and_defaults(void **state)
{
	struct cni_conf *conf = conf_of(
		"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\","
		"\"ipam\":{\"type\":\"host-local\",\"Subnet\":\"10.1.0.0/24\",\"rangeEnd\":\"10.1.0.9\","
		"\"DataDir\":\"/tmp/x\",\"resolvConf\":\"\","
		"\"ranges\":[[{\"subnet\":\"fd00::/64\",\"gateway\":\"fd00::fe\"}]],"
		"\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\",\"priority\":5}]},"
		"\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"10.2.0.0/16\",\"rangeStart\":\"10.2.3.4\"}]],"
		"\"ips\":[\"10.1.0.7/24\"]},"
		"\"args\":{\"cni\":{\"ips\":[\"::ffff:10.2.0.9\",\"\"]}}}");
	struct cni_err err = { 0 };
	struct hl_conf *c = NULL;

	assert_int_equal(hl_conf_load(conf, "fd00::7", true, &c, &err), 0);
	assert_int_equal(c->n_sets, 3);
	assert_string_equal(ip_str(&c->sets[0].r[0].start), "10.2.3.4");
	assert_string_equal(ip_str(&c->sets[0].r[0].end), "10.2.255.254");
	assert_string_equal(ip_str(&c->sets[1].r[0].start), "10.1.0.1");
	assert_string_equal(ip_str(&c->sets[1].r[0].end), "10.1.0.9");
	assert_string_equal(ip_str(&c->sets[2].r[0].gw), "fd00::fe");
	/* CNI_ARGS first, then args.cni.ips, then runtimeConfig.ips; mapped IPv4 is IPv4. */
	assert_int_equal(c->n_req, 3);
	assert_string_equal(ip_str(&c->req[0]), "fd00::7");
	assert_string_equal(ip_str(&c->req[1]), "10.2.0.9");
	assert_int_equal(c->req[1].family, AF_INET);
	assert_string_equal(ip_str(&c->req[2]), "10.1.0.7");
	assert_int_equal(c->n_routes, 2);
	assert_string_equal(ip_str(&c->routes[1].gw), "10.1.0.254");
	assert_int_equal(c->routes[1].priority, 5);
	assert_int_equal(c->routes[0].gw.family, 0);
	assert_int_equal(c->routes[0].table, -1);
	assert_string_equal(c->data_dir, "/tmp/x");
	assert_null(c->resolv_conf);
	hl_conf_free(c);

	/* DEL and GC read only dataDir, so a broken range does not block them. */
	cni_conf_free(conf);
	conf = conf_of("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\","
		       "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.1.0.0/31\"}}");
	assert_int_equal(hl_conf_load(conf, NULL, true, &c, &err), -EINVAL);
	assert_string_equal(err.msg, "invalid range set 0: Network 10.1.0.0/31 too small to allocate from");
	cni_err_clear(&err);
	assert_int_equal(hl_conf_load(conf, NULL, false, &c, &err), 0);
	assert_null(c->data_dir);
	hl_conf_free(c);
	cni_conf_free(conf);
}

static void load_fails(const char *json, const char *env_ip, int code, const char *msg)
{
	struct cni_conf *conf = conf_of(json);
	struct cni_err err = { 0 };
	struct hl_conf *c = (struct hl_conf *)0x1;

	assert_true(hl_conf_load(conf, env_ip, true, &c, &err) < 0);
	assert_ptr_equal(c, (struct hl_conf *)0x1);
	cni_conf_free(conf);
	assert_int_equal(err.code, code);
	/* Type errors carry the JSON layer's wording: match their start only. */
	if (code == CNI_ERR_DECODE)
		assert_memory_equal(err.msg, msg, strlen(msg));
	else
		assert_string_equal(err.msg, msg);
}

static void test_errors(void **state)
{
	load_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"x\"}", NULL, CNI_ERR_CONFIG,
		   "IPAM config missing 'ipam' key");
	load_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"x\",\"ipam\":{\"type\":\"h\"}}",
		   NULL, CNI_ERR_CONFIG, "no IP ranges specified");
	load_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"x\",\"ipam\":{\"subnet\":\"10.0.0.0/24\"}}",
		   "10.0.0.x", CNI_ERR_ENV,
		   "CNI_ARGS: error parsing value of \"IP\": invalid IP address 10.0.0.x");
	load_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"x\",\"ipam\":{\"subnet\":\"10.0.0.0/24\"},"
		   "\"runtimeConfig\":{\"ips\":[\"10.0.0.1/40\"]}}",
		   NULL, CNI_ERR_CONFIG, "runtimeConfig.ips: invalid IP address 10.0.0.1/40");
	load_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"x\",\"ipam\":{\"subnet\":\"10.0.0.0/24\","
		   "\"ranges\":[[{\"subnet\":\"10.0.0.0/25\"}]]}}",
		   NULL, CNI_ERR_CONFIG, "range set 0 overlaps with 1");
	load_fails("{\"cniVersion\":\"0.2.0\",\"name\":\"n\",\"type\":\"x\",\"ipam\":{"
		   "\"ranges\":[[{\"subnet\":\"fd01::/64\"}],[{\"subnet\":\"fd00::/64\"}]]}}",
		   NULL, CNI_ERR_CONFIG, "CNI version 0.2.0 does not support more than 1 address per family");
	load_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"x\",\"ipam\":{\"ranges\":{}}}",
		   NULL, CNI_ERR_DECODE, "cannot decode \"ranges\"");
	load_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"x\",\"ipam\":{\"ranges\":[[{\"subnet\":5}]]}}",
		   NULL, CNI_ERR_DECODE, "invalid range set 0: cannot decode \"subnet\"");
	load_fails("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"x\",\"ipam\":{\"subnet\":\"10.0.0.0/24\","
		   "\"routes\":[{\"gw\":\"10.0.0.1\"}]}}",
		   NULL, CNI_ERR_CONFIG, "routes[0]: invalid dst \"\"");
}

static void test_resolv_conf(void **state)
{
	char path[] = "/tmp/hlt-resolv.XXXXXX";
	struct cni_dns dns = { 0 };
	struct cni_err err = { 0 };
	FILE *f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# c\n  ; c2\nnameserver 1.1.1.1\nnameserver\tfd00::53 extra\n"
	      "domain a.example\ndomain b.example\nsearch x.example   y.example\n"
	      "options ndots:5 rotate\nbogus line here\nnameserver\n", f);
	fclose(f);
	assert_int_equal(hl_resolv_conf_parse(path, &dns, &err), 0);
	unlink(path);
	assert_int_equal(dns.n_nameservers, 2);
	assert_string_equal(dns.nameservers[1], "fd00::53");
	assert_string_equal(dns.domain, "b.example");
	assert_int_equal(dns.n_search, 2);
	assert_string_equal(dns.search[1], "y.example");
	assert_int_equal(dns.n_options, 2);
	assert_string_equal(dns.options[0], "ndots:5");
	assert_int_equal(hl_resolv_conf_parse(path, &dns, &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_IO);
	assert_int_equal(dns.n_nameservers, 2);
	cni_dns_clear(&dns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_resolv_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
