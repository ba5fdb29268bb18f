// SPDX-License-Identifier: GPL-2.0-or-later
/* firewall's keys, without a kernel: defaults, every ingress policy, the refusals and their codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cni/conf.h"
#include "cni/skel.h"
#include "../../plugins/firewall/firewall.h"

#define PREV "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"fwlbr0\"}," \
	     "{\"name\":\"eth0\",\"sandbox\":\"/run/netns/p\"}],\"ips\":[{\"address\":\"10.1.0.5/24\",\"interface\":1}]}"

static struct cni_ctx ctx;

static int parse(const char *keys, enum cni_cmd cmd, struct fw_conf *c)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "{\"cniVersion\":\"1.0.0\",\"name\":\"fwlnet\",\"type\":\"firewall\"%s%s}",
		 *keys ? "," : "", keys);
	cni_conf_free(ctx.conf);
	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = cmd;
	if (cni_conf_parse(buf, strlen(buf), &ctx.conf, &ctx.err))
		fail_msg("conf parse: %s", ctx.err.msg);
	return fw_conf_load(&ctx, c);
}

static void bad(const char *keys, enum cni_cmd cmd, int code, const char *want)
{
	struct fw_conf c;

	if (!parse(keys, cmd, &c))
		fail_msg("accepted: %s", keys);
	if (ctx.err.code != code || !strstr(ctx.err.msg, want))
		fail_msg("%s: code %d \"%s\", want %d with \"%s\"", keys, ctx.err.code, ctx.err.msg, code, want);
}

static void defaults(void **state)
{
	struct fw_conf c;

	assert_int_equal(parse(PREV, CNI_CMD_ADD, &c), 0);
	assert_string_equal(c.admin_chain, "CNI-ADMIN");
	assert_int_equal(c.policy, FW_OPEN);
	assert_null(c.bridge);
	/* The reference's values, firewalldZone ignored, keys in any case as Go reads them. */
	assert_int_equal(parse("\"Backend\":\"iptables\",\"firewalldZone\":\"public\",\"IPTablesAdminChainName\":\"MY-ADMIN\"," PREV,
			       CNI_CMD_ADD, &c), 0);
	assert_string_equal(c.admin_chain, "MY-ADMIN");
	assert_int_equal(parse("\"backend\":\"nftables\"," PREV, CNI_CMD_ADD, &c), 0);
	assert_int_equal(parse("\"backend\":\"\"," PREV, CNI_CMD_ADD, &c), 0);
}

static void policies(void **state)
{
	struct fw_conf c;

	assert_int_equal(parse("\"ingressPolicy\":\"open\"," PREV, CNI_CMD_ADD, &c), 0);
	assert_int_equal(c.policy, FW_OPEN);
	assert_null(c.bridge);
	assert_int_equal(parse("\"ingressPolicy\":\"same-bridge\"," PREV, CNI_CMD_ADD, &c), 0);
	assert_int_equal(c.policy, FW_SAME_BRIDGE);
	assert_string_equal(c.bridge, "fwlbr0");
	assert_int_equal(parse("\"ingressPolicy\":\"isolated\"," PREV, CNI_CMD_CHECK, &c), 0);
	assert_int_equal(c.policy, FW_ISOLATED);
	assert_string_equal(c.bridge, "fwlbr0");
	/* DEL and GC need no bridge: they remove by attachment. */
	assert_int_equal(parse("\"ingressPolicy\":\"isolated\"", CNI_CMD_DEL, &c), 0);
	assert_int_equal(parse("\"ingressPolicy\":\"same-bridge\"", CNI_CMD_GC, &c), 0);
}

static void refusals(void **state)
{
	bad("\"backend\":\"firewalld\"," PREV, CNI_CMD_ADD, CNI_ERR_UNSUPPORTED_FIELD, "backend=\"firewalld\"");
	bad("\"backend\":\"ebtables\"," PREV, CNI_CMD_ADD, CNI_ERR_CONFIG, "invalid backend");
	bad("\"backend\":7," PREV, CNI_CMD_ADD, CNI_ERR_DECODE, "backend");
	bad("\"ingressPolicy\":\"closed\"," PREV, CNI_CMD_ADD, CNI_ERR_CONFIG, "unknown ingress policy");
	bad("\"ingressPolicy\":\"closed\"", CNI_CMD_DEL, CNI_ERR_CONFIG, "unknown ingress policy");
	bad("\"iptablesAdminChainName\":\"\"," PREV, CNI_CMD_ADD, CNI_ERR_CONFIG, "iptablesAdminChainName");
	bad("\"iptablesAdminChainName\":\"two words\"," PREV, CNI_CMD_ADD, CNI_ERR_CONFIG, "iptablesAdminChainName");
	bad("\"iptablesAdminChainName\":\"DROP\"," PREV, CNI_CMD_ADD, CNI_ERR_CONFIG, "iptablesAdminChainName");
	bad("\"iptablesAdminChainName\":\"-j\"," PREV, CNI_CMD_ADD, CNI_ERR_CONFIG, "iptablesAdminChainName");
	bad("\"iptablesAdminChainName\":\"A-NAME-LONGER-THAN-TWENTY-EIGHT\"," PREV, CNI_CMD_ADD, CNI_ERR_CONFIG,
	    "iptablesAdminChainName");
	/* A policy needs the bridge: prevResult's first interface, as the reference reads it. */
	bad("\"ingressPolicy\":\"same-bridge\"", CNI_CMD_ADD, CNI_ERR_CONFIG, "chain \"firewall\" plugin with \"bridge\"");
	bad("\"ingressPolicy\":\"isolated\",\"prevResult\":{\"cniVersion\":\"1.0.0\",\"ips\":[]}", CNI_CMD_ADD,
	    CNI_ERR_CONFIG, "interface needs to be set");
}

static int teardown(void **state)
{
	cni_conf_free(ctx.conf);
	ctx.conf = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(policies),
		cmocka_unit_test(refusals),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
