// SPDX-License-Identifier: GPL-2.0-or-later
/* ptp's config keys and both layouts' plans, without a kernel. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/ptp/ptp.h"

#define IPAM_DUAL                                                                                  \
	"{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\"},"   \
	"{\"address\":\"fd00::5/64\",\"gateway\":\"fd00::1\"}],"                                        \
	"\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"192.168.0.0/16\",\"gw\":\"10.1.0.254\"}],"     \
	"\"dns\":{\"nameservers\":[\"10.1.0.53\"]}}"

static struct cni_conf *conf_of(const char *keys)
{
	char buf[1024];
	struct cni_conf *c = NULL;
	struct cni_err err = { 0 };

	snprintf(buf, sizeof(buf), "{\"cniVersion\":\"1.0.0\",\"name\":\"pttnet\",\"type\":\"ptp\"%s%s}",
		 *keys ? "," : "", keys);
	if (cni_conf_parse(buf, strlen(buf), &c, &err))
		fail_msg("conf parse: %s", err.msg);
	return c;
}

static int ptp_conf_of(const char *keys, struct ptp_conf *out, struct cni_err *err)
{
	struct cni_conf *c = conf_of(keys);
	int ret = ptp_conf_parse(c, out, err);

	cni_conf_free(c);
	return ret;
}

static int conf_code(const char *keys)
{
	struct cni_err err = { 0 };
	struct ptp_conf pc = { .mtu = 4242 };

	assert_int_not_equal(ptp_conf_of(keys, &pc, &err), 0);
	assert_int_equal(pc.mtu, 4242);		/* out-param untouched */
	assert_true(strlen(err.msg) > 0);
	return err.code;
}

static void test_conf_defaults(void **state)
{
	struct ptp_conf pc;

	assert_int_equal(ptp_conf_of("", &pc, NULL), 0);
	assert_false(pc.ipmasq);
	assert_false(pc.proxy_arp);
	assert_int_equal(pc.mtu, 0);
	assert_int_equal(pc.rp_filter, PTP_RP_UNSET);

	/* proxyArp defaults to strict rp_filter, as Calico; an explicit value wins. */
	assert_int_equal(ptp_conf_of("\"proxyArp\":true", &pc, NULL), 0);
	assert_true(pc.proxy_arp);
	assert_int_equal(pc.rp_filter, 1);
	assert_int_equal(ptp_conf_of("\"proxyArp\":true,\"rpFilter\":0", &pc, NULL), 0);
	assert_int_equal(pc.rp_filter, 0);

	/* Keys match case-insensitively, as Go's decoder. */
	assert_int_equal(ptp_conf_of("\"IPMASQ\":true,\"MTU\":1400,\"ipmasqbackend\":\"iptables\","
				     "\"RpFilter\":2",
				     &pc, NULL),
			 0);
	assert_true(pc.ipmasq);
	assert_int_equal(pc.mtu, 1400);
	assert_int_equal(pc.rp_filter, 2);
	assert_int_equal(ptp_conf_of("\"ipMasqBackend\":\"nftables\",\"mtu\":null", &pc, NULL), 0);
	assert_int_equal(pc.mtu, 0);
}

static void test_conf_errors(void **state)
{
	assert_int_equal(conf_code("\"rpFilter\":3"), CNI_ERR_CONFIG);
	assert_int_equal(conf_code("\"rpFilter\":-1"), CNI_ERR_CONFIG);
	assert_int_equal(conf_code("\"mtu\":10"), CNI_ERR_CONFIG);
	assert_int_equal(conf_code("\"mtu\":70000"), CNI_ERR_CONFIG);
	assert_int_equal(conf_code("\"mtu\":1400.5"), CNI_ERR_CONFIG);
	assert_int_equal(conf_code("\"ipMasqBackend\":\"pf\""), CNI_ERR_UNSUPPORTED_FIELD);
	assert_int_equal(conf_code("\"ipMasq\":\"yes\""), CNI_ERR_DECODE);
	assert_int_equal(conf_code("\"proxyArp\":1"), CNI_ERR_DECODE);
}

static struct cni_result *result_of(const char *json)
{
	struct cni_result *r = NULL;
	struct cni_err err = { 0 };

	if (cni_result_parse(json, strlen(json), &r, &err))
		fail_msg("result parse: %s", err.msg);
	return r;
}

static void assert_prefix(const struct cni_prefix *p, const char *want)
{
	char s[CNI_PREFIX_STRLEN];

	assert_string_equal(cni_prefix_format(p, s), want);
}

static void assert_ip(const struct cni_ip *ip, const char *want)
{
	char s[CNI_IP_STRLEN];

	if (!*want) {
		assert_int_equal(ip->family, 0);
		return;
	}
	assert_string_equal(cni_ip_format(ip, s), want);
}

static void assert_route(const struct nl_route *r, const char *dst, const char *gw, const char *src,
			 int scope)
{
	assert_prefix(&r->dst, dst);
	assert_ip(&r->gw, gw);
	assert_ip(&r->src, src);
	assert_int_equal(r->scope, scope);
	assert_int_equal(r->oif, 7);
}

static void plan(bool proxy_arp, struct ptp_plan *p)
{
	struct ptp_conf c = { .proxy_arp = proxy_arp, .rp_filter = PTP_RP_UNSET };
	struct cni_result *ipam = result_of(IPAM_DUAL);
	struct cni_err err = { 0 };

	if (ptp_plan_from_ipam(&c, ipam, NULL, p, &err))
		fail_msg("plan: %s", err.msg);
	cni_result_free(ipam);
}

static void test_reference_layout(void **state)
{
	struct ptp_plan p;
	struct nl_route *r;
	size_t n;

	plan(false, &p);
	assert_true(p.has_v4 && p.has_v6);
	assert_int_equal(p.n_addrs, 2);
	assert_prefix(&p.addrs[0].pod, "10.1.0.5/24");
	assert_prefix(&p.addrs[0].host_addr, "10.1.0.1/32");
	assert_prefix(&p.addrs[1].host_addr, "fd00::1/128");
	assert_int_equal(p.addrs[0].host_route_scope, NL_SCOPE_HOST);

	/* The result is IPAM's, addresses on interface 1, routes untouched. */
	assert_int_equal(p.result->n_ips, 2);
	assert_int_equal(p.result->ips[0].iface, 1);
	assert_prefix(&p.result->ips[1].addr, "fd00::5/64");
	assert_ip(&p.result->ips[1].gw, "fd00::1");
	assert_int_equal(p.result->n_routes, 2);
	assert_int_equal(p.result->routes[0].gw.family, 0);
	assert_string_equal(p.result->dns.nameservers[0], "10.1.0.53");

	assert_int_equal(ptp_plan_pod_routes(&p, 7, &r, &n), 0);
	assert_int_equal(n, 6);
	assert_route(&r[0], "10.1.0.1/32", "", "10.1.0.5", NL_SCOPE_LINK);
	assert_route(&r[1], "10.1.0.0/24", "10.1.0.1", "10.1.0.5", 0);
	assert_route(&r[2], "fd00::1/128", "", "fd00::5", NL_SCOPE_LINK);
	assert_route(&r[3], "fd00::/64", "fd00::1", "fd00::5", 0);
	/* A route without gw goes via its family's gateway, as ConfigureIface does. */
	assert_route(&r[4], "0.0.0.0/0", "10.1.0.1", "", 0);
	assert_route(&r[5], "192.168.0.0/16", "10.1.0.254", "", 0);
	free(r);
	ptp_plan_clear(&p);
	ptp_plan_clear(&p);	/* clearing twice is harmless */
}

static void test_proxy_arp_layout(void **state)
{
	struct ptp_plan p;
	struct nl_route *r;
	size_t n;

	plan(true, &p);
	assert_prefix(&p.addrs[0].pod, "10.1.0.5/32");
	assert_prefix(&p.addrs[1].pod, "fd00::5/128");
	assert_prefix(&p.addrs[0].subnet, "10.1.0.0/24");
	assert_int_equal(p.addrs[0].host_addr.ip.family, 0);
	assert_int_equal(p.addrs[1].host_addr.ip.family, 0);
	assert_int_equal(p.addrs[0].host_route_scope, NL_SCOPE_LINK);

	assert_prefix(&p.result->ips[0].addr, "10.1.0.5/32");
	assert_ip(&p.result->ips[0].gw, "169.254.1.1");
	assert_ip(&p.result->ips[1].gw, "fe80::ecee:eeff:feee:eeee");
	/* Pod networks first, then IPAM's routes, all via the layout's gateways. */
	assert_int_equal(p.result->n_routes, 4);
	assert_prefix(&p.result->routes[0].dst, "10.1.0.0/24");
	assert_ip(&p.result->routes[0].gw, "169.254.1.1");
	assert_prefix(&p.result->routes[1].dst, "fd00::/64");
	assert_ip(&p.result->routes[1].gw, "fe80::ecee:eeff:feee:eeee");
	assert_prefix(&p.result->routes[3].dst, "192.168.0.0/16");
	assert_ip(&p.result->routes[3].gw, "169.254.1.1");

	assert_int_equal(ptp_plan_pod_routes(&p, 7, &r, &n), 0);
	/* IPv6's gateway is link-local: on-link without a route of its own. */
	assert_int_equal(n, 5);
	assert_route(&r[0], "169.254.1.1/32", "", "10.1.0.5", NL_SCOPE_LINK);
	assert_route(&r[1], "10.1.0.0/24", "169.254.1.1", "", 0);
	assert_route(&r[2], "fd00::/64", "fe80::ecee:eeff:feee:eeee", "", 0);
	assert_route(&r[3], "0.0.0.0/0", "169.254.1.1", "", 0);
	free(r);
	ptp_plan_clear(&p);
}

static void test_plan_errors(void **state)
{
	struct ptp_conf ref = { .rp_filter = PTP_RP_UNSET }, pa = { .proxy_arp = true };
	struct cni_result *nogw = result_of("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.5/24\"}]}");
	struct cni_result *none = result_of("{\"cniVersion\":\"1.0.0\"}");
	struct cni_err err = { 0 };
	struct ptp_plan p = { 0 };

	assert_int_equal(ptp_plan_from_ipam(&ref, nogw, NULL, &p, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "gateway"));
	assert_null(p.result);
	/* proxyArp brings its own gateway. */
	assert_int_equal(ptp_plan_from_ipam(&pa, nogw, NULL, &p, NULL), 0);
	ptp_plan_clear(&p);
	cni_err_clear(&err);
	assert_int_equal(ptp_plan_from_ipam(&pa, none, NULL, &p, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	cni_result_free(nogw);
	cni_result_free(none);
}

static void test_dns_override(void **state)
{
	struct ptp_conf c = { .rp_filter = PTP_RP_UNSET };
	struct cni_result *ipam = result_of(IPAM_DUAL);
	struct cni_dns empty = { 0 }, mine = { 0 };
	char *ns[] = { (char *)"9.9.9.9" };
	struct ptp_plan p;

	assert_int_equal(ptp_plan_from_ipam(&c, ipam, &empty, &p, NULL), 0);
	assert_string_equal(p.result->dns.nameservers[0], "10.1.0.53");
	ptp_plan_clear(&p);
	mine.nameservers = ns;
	mine.n_nameservers = 1;
	assert_int_equal(ptp_plan_from_ipam(&c, ipam, &mine, &p, NULL), 0);
	assert_int_equal(p.result->dns.n_nameservers, 1);
	assert_string_equal(p.result->dns.nameservers[0], "9.9.9.9");
	ptp_plan_clear(&p);
	cni_result_free(ipam);
}

/*
 * What ADD prints, read back as CHECK's prevResult in each version that can
 * carry it, must give the same plan: same masquerade, same pod routes.
 */
static void roundtrip(bool proxy_arp, const char *version)
{
	struct ptp_conf c = { .proxy_arp = proxy_arp, .rp_filter = PTP_RP_UNSET };
	struct cni_prefix *m1, *m2;
	struct nl_route *r1, *r2;
	struct ptp_plan p, q;
	struct cni_result *back;
	struct cni_err err = { 0 };
	size_t n1, n2, i;
	char *text;

	plan(proxy_arp, &p);
	assert_true(cni_result_add_iface(p.result, "veth12345678", "ee:ee:ee:ee:ee:ee", NULL) == 0);
	assert_true(cni_result_add_iface(p.result, "eth0", "02:00:00:00:00:01", "/run/netns/x") == 1);
	assert_int_equal(cni_result_format(p.result, version, &text, &err), 0);
	back = result_of(text);
	if (ptp_plan_from_result(&c, back, "eth0", "/run/netns/x", &q, &err))
		fail_msg("%s: from_result: %s (%s)", version, err.msg, text);
	assert_int_equal(q.pod_iface, 1);
	assert_int_equal(q.n_addrs, p.n_addrs);
	assert_int_equal(ptp_plan_masq(&p, &m1, &n1), 0);
	assert_int_equal(ptp_plan_masq(&q, &m2, &n2), 0);
	assert_int_equal(n1, n2);
	for (i = 0; i < n1; i++) {
		assert_true(cni_ip_equal(&m1[i].ip, &m2[i].ip));
		assert_int_equal(m1[i].len, m2[i].len);
	}
	assert_prefix(&m1[0], "10.1.0.5/24");
	assert_prefix(&m1[1], "fd00::5/64");
	assert_int_equal(ptp_plan_pod_routes(&p, 7, &r1, &n1), 0);
	assert_int_equal(ptp_plan_pod_routes(&q, 7, &r2, &n2), 0);
	assert_int_equal(n1, n2);
	for (i = 0; i < n1; i++) {
		assert_true(cni_ip_equal(&r1[i].dst.ip, &r2[i].dst.ip) && r1[i].dst.len == r2[i].dst.len);
		assert_true(cni_ip_equal(&r1[i].gw, &r2[i].gw) && cni_ip_equal(&r1[i].src, &r2[i].src));
		assert_true(r1[i].scope == r2[i].scope && r1[i].table == r2[i].table);
	}

	/* Another sandbox or interface is not this attachment. */
	cni_err_clear(&err);
	assert_int_equal(ptp_plan_from_result(&c, back, "eth0", "/run/netns/y", &q, &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_CHECK);
	free(r1);
	free(r2);
	free(m1);
	free(m2);
	free(text);
	cni_result_free(back);
	ptp_plan_clear(&p);
	ptp_plan_clear(&q);
}

static void test_roundtrip(void **state)
{
	static const char *const versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };
	size_t i;

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		roundtrip(false, versions[i]);
		roundtrip(true, versions[i]);
	}
}

static void test_prev_not_ours(void **state)
{
	struct ptp_conf pa = { .proxy_arp = true }, ref = { .rp_filter = PTP_RP_UNSET };
	/* A reference-layout result checked under proxyArp (the config changed). */
	struct cni_result *r = result_of(
		"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"veth1\"},"
		"{\"name\":\"eth0\",\"sandbox\":\"/run/netns/x\"}],"
		"\"ips\":[{\"interface\":1,\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\"}]}");
	struct cni_err err = { 0 };
	struct ptp_plan p = { 0 };

	assert_int_equal(ptp_plan_from_result(&pa, r, "eth0", "/run/netns/x", &p, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_CHECK);
	assert_int_equal(ptp_plan_from_result(&ref, r, "eth0", "/run/netns/x", &p, NULL), 0);
	assert_int_equal(p.addrs[0].subnet.len, 24);
	ptp_plan_clear(&p);
	cni_result_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_reference_layout),
		cmocka_unit_test(test_proxy_arp_layout),
		cmocka_unit_test(test_plan_errors),
		cmocka_unit_test(test_dns_override),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_prev_not_ours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
