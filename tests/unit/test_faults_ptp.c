// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ptp ADD refused at each kernel request in turn (faults.h), in both layouts:
 * every failed ADD must remove all it made. The plugin's own files are
 * linked from its archive, so its verbs run here exactly as in the binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../plugins/ptp/ptp.h"

#include "faults.h"

static void faults_ptp_reference_layout(void **state)
{
	static const struct flt_case k = {
		.plugin = &ptp_plugin,
		.conf_tmpl = "{\"cniVersion\":\"1.0.0\",\"name\":\"flt-ptp\",\"type\":\"ptp\",\"ipMasq\":true,"
			     "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"@DATADIR@\","
			     "\"ranges\":[[{\"subnet\":\"10.77.2.0/24\"}],[{\"subnet\":\"fd77:2::/64\"}]],"
			     "\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"::/0\"}]}}",
		.network = "flt-ptp",
		.container_id = "flt-ptp-1",
		.pod_netns = "fltpodptp",
		.marks = { "10.77.2.", "fd77:2::" },
		.nft = true,
		.n_ips = 2,
	};

	flt_run(&k);
}

static void faults_ptp_proxy_arp_layout(void **state)
{
	static const struct flt_case k = {
		.plugin = &ptp_plugin,
		.conf_tmpl = "{\"cniVersion\":\"1.0.0\",\"name\":\"flt-ptpx\",\"type\":\"ptp\",\"ipMasq\":true,"
			     "\"proxyArp\":true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"@DATADIR@\","
			     "\"ranges\":[[{\"subnet\":\"10.77.3.0/24\"}],[{\"subnet\":\"fd77:3::/64\"}]],"
			     "\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"::/0\"}]}}",
		.network = "flt-ptpx",
		.container_id = "flt-ptpx-1",
		.pod_netns = "fltpodptpx",
		.marks = { "10.77.3.", "fd77:3::" },
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
		cmocka_unit_test(faults_ptp_reference_layout),
		cmocka_unit_test(faults_ptp_proxy_arp_layout),
	};

	return cmocka_run_group_tests(tests, node_setup, NULL);
}
