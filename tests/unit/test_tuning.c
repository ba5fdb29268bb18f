// SPDX-License-Identifier: GPL-2.0-or-later
/* tuning's pure parts: sysctl keys to paths, and the state file round trip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "../../plugins/tuning/tuning.h"

static void path_ok(const char *key, const char *ifname, const char *want)
{
	char out[TN_PATH_MAX];

	assert_int_equal(tn_sysctl_path(key, ifname, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void path_bad(const char *key)
{
	char out[TN_PATH_MAX];

	assert_int_equal(tn_sysctl_path(key, "eth0", out, sizeof(out)), -EINVAL);
}

static void sysctl_paths(void **state)
{
	path_ok("net.ipv4.conf.IFNAME.rp_filter", "eth0", "net/ipv4/conf/eth0/rp_filter");
	path_ok("net/ipv4/conf/IFNAME/rp_filter", "eth0", "net/ipv4/conf/eth0/rp_filter");
	/* The interface name's dots stay dots in either form. */
	path_ok("net.ipv4.conf.IFNAME.rp_filter", "eth0.100", "net/ipv4/conf/eth0.100/rp_filter");
	path_ok("net/ipv6/conf/IFNAME/accept_ra", "v.1", "net/ipv6/conf/v.1/accept_ra");
	/* sysctl(8): in the dotted form '/' stands for '.'. */
	path_ok("net.ipv4.conf.eth0/100.rp_filter", "x", "net/ipv4/conf/eth0.100/rp_filter");
	path_ok("net.core.somaxconn", "eth0", "net/core/somaxconn");
	/* Only the first IFNAME is the interface, as the reference does. */
	path_ok("net.ipv4.conf.IFNAME.IFNAME", "e", "net/ipv4/conf/e/IFNAME");
	path_bad("kernel.hostname");
	path_bad("net");
	path_bad("net.");
	path_bad("net/");
	path_bad("net..core");
	path_bad("net/../kernel/hostname");
	path_bad("net/ipv4/conf/IFNAME/rp_filter/");
	path_bad("net/ipv4/./ip_forward");
	path_bad("net/ipv4/conf/IFNAME/../../../kernel/x");
	path_bad("/net/ipv4/ip_forward");
	path_bad("");
	/* An interface name of ".." is refused by the skel; here it is a component. */
	{
		char out[TN_PATH_MAX];

		assert_int_equal(tn_sysctl_path("net.ipv4.conf.IFNAME.x", "..", out, sizeof(out)), -EINVAL);
		assert_int_equal(tn_sysctl_path("net.core.somaxconn", "e", out, 10), -EINVAL);
	}
}

static void state_roundtrip(void **state)
{
	char dir[] = "/tmp/tntunit.XXXXXX", file[256], sub[300];
	struct tn_state s, r;
	struct stat sb;

	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	assert_int_equal(tn_state_file(sub, "cid_1", "eth0", file, sizeof(file)), 0);
	tn_state_init(&s);
	s.mac = strdup("02:00:00:00:00:01");
	s.network = strdup("n");
	s.container_id = strdup("cid_1");
	s.ifname = strdup("eth0");
	s.mtu = 1500;
	s.promisc = TN_OFF;
	s.txqlen = 0;
	assert_int_equal(tn_state_add_sysctl(&s, "net/ipv4/tcp_rmem", "4096\t131072\t6291456"), 0);
	assert_int_equal(tn_state_add_sysctl(&s, "net/ipv4/tcp_rmem", "other"), 0);
	assert_int_equal(s.n_sysctl, 1);
	assert_int_equal(tn_state_save(sub, file, &s), 0);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(tn_state_load(file, &r), 0);
	assert_string_equal(r.mac, "02:00:00:00:00:01");
	assert_string_equal(r.network, "n");
	assert_string_equal(r.container_id, "cid_1");
	assert_int_equal(r.mtu, 1500);
	assert_int_equal(r.promisc, TN_OFF);
	assert_int_equal(r.allmulti, TN_UNSET);
	assert_int_equal(r.txqlen, 0);
	assert_int_equal(r.n_sysctl, 1);
	assert_string_equal(r.sysctl[0].value, "4096\t131072\t6291456");
	tn_state_release(&r);
	tn_state_release(&s);
	tn_state_release(NULL);

	/* The reference's own file: no identity, pretty-printed. */
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	fputs("{\n \"mac\": \"0a:58:0a:f4:00:05\",\n \"mtu\": 9000\n}", f);
	fclose(f);
	assert_int_equal(tn_state_load(file, &r), 0);
	assert_null(r.network);
	assert_string_equal(r.mac, "0a:58:0a:f4:00:05");
	assert_int_equal(r.mtu, 9000);
	assert_int_equal(r.txqlen, -1);
	tn_state_release(&r);

	f = fopen(file, "w");
	assert_non_null(f);
	fputs("not json", f);
	fclose(f);
	assert_int_equal(tn_state_load(file, &r), -EBADMSG);
	unlink(file);
	assert_int_equal(tn_state_load(file, &r), -ENOENT);
	/* A symlink is never followed. */
	assert_int_equal(symlink("/etc/passwd", file), 0);
	assert_true(tn_state_load(file, &r) < 0);
	unlink(file);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/a", dir);
	rmdir(sub);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sysctl_paths),
		cmocka_unit_test(state_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
