// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bridge ADD refused at each kernel request in turn (faults.h): every failed
 * ADD must remove all it made. The plugin's own files are compiled in, so its
 * verbs run here exactly as in the binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

int bridge_main(void);
#define main bridge_main
/* host.c names a parameter "bridge", main.c the plugin: host.c first, so nothing shadows. */
#include "../../plugins/bridge/conf.c"
#include "../../plugins/bridge/host.c"
#include "../../plugins/bridge/main.c"
#undef main

#include "faults.h"

static void faults_bridge_dual_stack(void **state)
{
	static const struct flt_case k = {
		.plugin = &bridge,
		.conf_tmpl = "{\"cniVersion\":\"1.0.0\",\"name\":\"flt-br\",\"type\":\"bridge\","
			    "\"bridge\":\"fltbr0\",\"isGateway\":true,\"ipMasq\":true,\"macspoofchk\":true,"
			    "\"hairpinMode\":true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"@DATADIR@\","
			    "\"ranges\":[[{\"subnet\":\"10.77.1.0/24\"}],[{\"subnet\":\"fd77:1::/64\"}]],"
			    "\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"::/0\"}]}}",
		.network = "flt-br",
		.container_id = "flt-bridge-1",
		.pod_netns = "fltpodbr",
		.bridge = "fltbr0",
		.marks = { "10.77.1.", "fd77:1::" },
		.nft = true,
		.n_ips = 2,
	};

	flt_run(&k);
}

static int node_setup(void **state)
{
	flt_node_setup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(faults_bridge_dual_stack),
	};

	return cmocka_run_group_tests(tests, node_setup, NULL);
}
