// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bridge ADD refused at each kernel request in turn (faults.h): every failed
 * ADD must remove all it made. The plugin's own archive is linked, so its
 * verbs run here exactly as in the binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../plugins/bridge/bridge.h"

#include "faults.h"

static void faults_bridge_dual_stack(void **state)
{
	static const struct flt_case k = {
		.plugin = &bridge_plugin,
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

/*
 * A rollback whose own steps fail reports each failure with its own message:
 * the veth removal must not be reported with the spoof check's (issue 10 #6).
 * An earlier ADD of the attachment left its masquerade and spoof check rules
 * (its veth went with a crash); a new ADD is refused from its first nftables
 * batch on, so every kernel request of its rollback fails too.
 */
static void faults_bridge_rollback_messages(void **state)
{
	static const struct flt_case k = {
		.plugin = &bridge_plugin,
		.conf_tmpl = "{\"cniVersion\":\"1.0.0\",\"name\":\"flt-brr\",\"type\":\"bridge\","
			    "\"bridge\":\"fltbr0\",\"ipMasq\":true,\"macspoofchk\":true,"
			    "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"@DATADIR@\","
			    "\"ranges\":[[{\"subnet\":\"10.77.2.0/24\"}]]}}",
		.network = "flt-brr",
		.container_id = "flt-bridge-2",
		.pod_netns = "fltpodbr2",
		.bridge = "fltbr0",
		.marks = { "10.77.2." },
		.nft = true,
		.n_ips = 1,
	};
	char log[] = "/tmp/flt-stderr-XXXXXX", *result = NULL, *text, *line;
	struct cni_err err = { 0 };
	struct flt_env e;
	int i, first_nft = 0, fd, saved, link_lines = 0, spoof_lines = 0;

	flt_env_open(&k, &e);
	assert_int_equal(flt_verb(&k, &e, CNI_CMD_ADD, e.conf, &result, &err), 0);
	free(result);
	flt_run_ok("ip -n %s link del " FLT_IFNAME, k.pod_netns);
	/* The same ADD once more, counting its requests, then the same leftovers again. */
	flt_arm(FLT_MAX_FAULTS + 1);
	assert_int_equal(flt_verb(&k, &e, CNI_CMD_ADD, e.conf, &result, &err), 0);
	free(result);
	for (i = 1; i <= flt.seen && !first_nft; i++)
		if (!strcmp(flt.names[i], "nftables batch"))
			first_nft = i;
	flt_arm(0);
	assert_true(first_nft > 0);
	flt_run_ok("ip -n %s link del " FLT_IFNAME, k.pod_netns);

	fd = mkstemp(log);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	flt_arm(first_nft);
	flt.fail_rest = true;
	memset(&err, 0, sizeof(err));
	i = flt_verb(&k, &e, CNI_CMD_ADD, e.conf, &result, &err);
	flt.fail_rest = false;
	flt_arm(0);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	assert_int_not_equal(i, 0);
	text = flt_sh("cat %s; rm -f %s", log, log);
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strstr(line, "rollback"))
			continue;
		print_message("%s\n", line);
		link_lines += strstr(line, "deleting link") != NULL;
		spoof_lines += strstr(line, "spoof") != NULL;
	}
	free(text);
	if (link_lines != 1 || spoof_lines != 1)
		fail_msg("want one rollback line for the veth and one for the spoof check, got %d and %d",
			 link_lines, spoof_lines);
	/* The runtime's DEL cleans up what the failed rollback left. */
	assert_int_equal(flt_verb(&k, &e, CNI_CMD_DEL, e.conf, NULL, &err), 0);
	flt_assert_clean(&k, &e, "DEL after a failed rollback");
	flt_env_close(&k, &e);
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
		cmocka_unit_test(faults_bridge_rollback_messages),
	};

	return cmocka_run_group_tests(tests, node_setup, NULL);
}
