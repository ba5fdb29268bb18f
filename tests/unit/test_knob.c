// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The knob module against the real kernel: knobs set through knob_set() (by
 * whichever way the module takes) are read back through /proc/sys in the
 * link's netns, and knob_check() sees changes made behind its back.
 * run-unit.sh gives this process a throwaway netns ("node"); the pod netns is
 * made with unshare() and kept only as an fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <cmocka.h>

#include "cni/knob.h"
#include "cni/nl.h"
#include "cni/sysctl.h"

static int node_fd = -1, pod_fd = -1;
static struct nl_sock *node, *pod;

/* The first line of a shell command's output, without its newline (tests only). */
static void sh_line(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void sh_line(char *out, size_t len, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	pclose(f);
	out[strcspn(out, "\n")] = '\0';
}

/* /proc/sys/net/<rel> as the pod (pod = true) or the node sees it. */
static void assert_proc(bool in_pod, const char *rel, const char *want)
{
	char have[256];

	if (in_pod)
		sh_line(have, sizeof(have), "nsenter --net=/proc/%d/fd/%d cat /proc/sys/net/%s 2>&1",
			getpid(), pod_fd, rel);
	else
		sh_line(have, sizeof(have), "cat /proc/sys/net/%s 2>&1", rel);
	if (strcmp(have, want))
		fail_msg("/proc/sys/net/%s%s is '%s', want '%s'", rel, in_pod ? " (pod)" : "", have, want);
}

static int setup(void **state)
{
	struct cni_err err = { 0 };

	node_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(node_fd >= 0);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	/* No O_CLOEXEC: nsenter reaches it through /proc/PID/fd. */
	pod_fd = open("/proc/self/ns/net", O_RDONLY);
	assert_true(pod_fd >= 0);
	assert_int_equal(setns(node_fd, CLONE_NEWNET), 0);
	assert_int_equal(nl_sock_open(-1, &node, &err), 0);
	assert_int_equal(nl_sock_open(pod_fd, &pod, &err), 0);
	return 0;
}

static int teardown(void **state)
{
	nl_sock_close(node);
	nl_sock_close(pod);
	close(node_fd);
	close(pod_fd);
	return 0;
}

/* A veth: host end `name` in the node, `peer` in the pod; fills both links. */
static void make_veth(const char *name, const char *peer, struct nl_link *hl, struct nl_link *pl)
{
	struct nl_veth v = { .name = name, .peer_name = peer, .peer_netns_fd = pod_fd };
	struct cni_err err = { 0 };

	assert_int_equal(nl_link_add_veth(node, &v, NULL, &err), 0);
	assert_int_equal(nl_link_get(node, name, hl, &err), 0);
	assert_int_equal(nl_link_get(pod, peer, pl, &err), 0);
}

static void test_pod_knobs(void **state)
{
	static const struct knob k[] = {
		{ "ipv6/conf/disable_ipv6", 0, 0 },
		{ "ipv6/conf/accept_dad", 0, 0 },
		{ "ipv6/conf/addr_gen_mode", 1, 0 },
		{ "ipv4/conf/arp_notify", 1, 0 },
		{ "ipv4/conf/rp_filter", 2, 0 },
		{ "ipv4/conf/proxy_arp", 1, 0 },
		{ "ipv4/conf/route_localnet", 1, 0 },
		{ "ipv4/conf/forwarding", 1, 0 },
		{ "ipv4/neigh/proxy_delay", 0, 0 },
	};
	struct cni_err err = { 0 };
	struct nl_link hl, pl;
	struct knob_link l = { .sk = pod, .netns_fd = pod_fd };
	char cmd[256];

	make_veth("knbv0", "knbp0", &hl, &pl);
	l.ifindex = pl.ifindex;
	l.ifname = pl.name;
	/* The pod netns starts with the kernel's defaults, the node's may differ: the pod's count. */
	assert_proc(true, "ipv4/conf/knbp0/arp_notify", "0");
	assert_proc(true, "ipv4/conf/knbp0/rp_filter", "0");
	assert_int_equal(knob_set(&l, k, sizeof(k) / sizeof(k[0]), &err), 0);
	assert_proc(true, "ipv6/conf/knbp0/disable_ipv6", "0");
	assert_proc(true, "ipv6/conf/knbp0/accept_dad", "0");
	assert_proc(true, "ipv6/conf/knbp0/addr_gen_mode", "1");
	assert_proc(true, "ipv4/conf/knbp0/arp_notify", "1");
	assert_proc(true, "ipv4/conf/knbp0/rp_filter", "2");
	assert_proc(true, "ipv4/conf/knbp0/proxy_arp", "1");
	assert_proc(true, "ipv4/conf/knbp0/route_localnet", "1");
	assert_proc(true, "ipv4/conf/knbp0/forwarding", "1");
	assert_proc(true, "ipv4/neigh/knbp0/proxy_delay", "0");
	/* The node's same-named knobs are untouched: the pod's link only. */
	assert_proc(false, "ipv4/conf/knbv0/arp_notify", "0");
	assert_int_equal(knob_check(&l, k, sizeof(k) / sizeof(k[0]), &err), 0);
	/* Idempotent. */
	assert_int_equal(knob_set(&l, k, sizeof(k) / sizeof(k[0]), &err), 0);
	assert_int_equal(err.code, 0);

	/* Changed behind our back: CHECK names the knob, the value and the wanted one. */
	snprintf(cmd, sizeof(cmd), "nsenter --net=/proc/%d/fd/%d sh -c "
		 "'echo 0 >/proc/sys/net/ipv4/conf/knbp0/rp_filter'", getpid(), pod_fd);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(knob_check(&l, k, sizeof(k) / sizeof(k[0]), &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_CHECK);
	assert_string_equal(err.msg, "sysctl net/ipv4/conf/knbp0/rp_filter is 0, want 2");
	cni_err_clear(&err);
	assert_int_equal(knob_set(&l, &k[4], 1, &err), 0);
	assert_proc(true, "ipv4/conf/knbp0/rp_filter", "2");
	assert_int_equal(nl_link_del(node, hl.ifindex, &err), 0);
}

static void test_node_knobs(void **state)
{
	static const struct knob k[] = {
		{ "ipv6/conf/accept_ra", 0, KNOB_MISSING_OK },
		{ "ipv4/conf/rp_filter", 1, 0 },
	};
	struct cni_err err = { 0 };
	struct nl_link hl, pl;
	struct knob_link l = { .sk = node, .netns_fd = -1 };

	make_veth("knbv1", "knbp1", &hl, &pl);
	l.ifindex = hl.ifindex;
	l.ifname = hl.name;
	assert_int_equal(knob_set(&l, k, 2, &err), 0);
	assert_proc(false, "ipv6/conf/knbv1/accept_ra", "0");
	assert_proc(false, "ipv4/conf/knbv1/rp_filter", "1");
	assert_int_equal(knob_check(&l, k, 2, &err), 0);
	assert_int_equal(nl_link_del(node, hl.ifindex, &err), 0);
}

static void test_missing_and_bad(void **state)
{
	struct knob k = { "ipv6/conf/accept_ra", 0, KNOB_MISSING_OK };
	struct knob v4 = { "ipv4/conf/rp_filter", 1, 0 };
	struct knob_link l = { .sk = node, .netns_fd = -1 };
	struct cni_err err = { 0 };
	struct nl_link hl, pl;

	/* Below 1280 bytes of MTU a link loses IPv6 altogether, knobs and all. */
	make_veth("knbv2", "knbp2", &hl, &pl);
	assert_int_equal(nl_link_set_mtu(node, hl.ifindex, 1000, &err), 0);
	assert_proc(false, "ipv6/conf/knbv2/accept_ra",
		    "cat: /proc/sys/net/ipv6/conf/knbv2/accept_ra: No such file or directory");
	l.ifindex = hl.ifindex;
	l.ifname = hl.name;
	assert_int_equal(knob_set(&l, &k, 1, &err), 0);
	assert_int_equal(knob_check(&l, &k, 1, &err), 0);
	k.flags = 0;
	assert_int_equal(knob_set(&l, &k, 1, &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_IO);
	assert_non_null(strstr(err.msg, "net/ipv6/conf/knbv2/accept_ra"));
	cni_err_clear(&err);
	assert_int_equal(knob_check(&l, &k, 1, &err), -ENOENT);
	cni_err_clear(&err);
	/* Its IPv4 knobs are still there. */
	assert_int_equal(knob_set(&l, &v4, 1, &err), 0);
	assert_proc(false, "ipv4/conf/knbv2/rp_filter", "1");

	/* A link that is gone is an error, not a missing knob. */
	assert_int_equal(nl_link_del(node, hl.ifindex, &err), 0);
	assert_true(knob_set(&l, &v4, 1, &err) < 0);
	assert_int_equal(err.code, CNI_ERR_NETLINK);
	cni_err_clear(&err);

	/* A name without its directory, or a link name that is a path. */
	k.name = "rp_filter";
	assert_int_equal(knob_set(&l, &k, 1, &err), -EINVAL);
	cni_err_clear(&err);
	k.name = "ipv4/conf/rp_filter";
	l.ifname = "../all";
	assert_int_equal(knob_set(&l, &k, 1, &err), -EINVAL);
	cni_err_clear(&err);
	assert_int_equal(knob_set(&l, &k, 0, &err), 0);
}

/* The rtnetlink calls under the module, against the files the kernel shows. */
static void test_devconf_live(void **state)
{
	struct nl_devconf set[] = {
		{ .family = AF_INET, .id = IPV4_DEVCONF_ARP_ANNOUNCE, .value = 2 },
		{ .family = AF_INET, .id = IPV4_DEVCONF_ACCEPT_LOCAL, .value = 1 },
	};
	struct nl_devconf get[] = {
		{ .family = AF_INET, .id = IPV4_DEVCONF_ARP_ANNOUNCE },
		{ .family = AF_INET, .id = IPV4_DEVCONF_LOG_MARTIANS },
		{ .family = AF_INET6, .id = DEVCONF_ACCEPT_RA },
		{ .family = AF_INET6, .id = DEVCONF_HOPLIMIT },
	};
	struct cni_err err = { 0 };
	struct nl_link hl, pl;
	bool on = false;
	char cmd[256];

	make_veth("knbv3", "knbp3", &hl, &pl);
	assert_int_equal(nl_devconf_set(pod, pl.ifindex, set, 2, &err), 0);
	assert_proc(true, "ipv4/conf/knbp3/arp_announce", "2");
	assert_proc(true, "ipv4/conf/knbp3/accept_local", "1");
	/* Written through the files, read through rtnetlink. */
	snprintf(cmd, sizeof(cmd), "nsenter --net=/proc/%d/fd/%d sh -c 'echo 1 "
		 ">/proc/sys/net/ipv4/conf/knbp3/log_martians; echo 0 "
		 ">/proc/sys/net/ipv6/conf/knbp3/accept_ra; echo 17 "
		 ">/proc/sys/net/ipv6/conf/knbp3/hop_limit'", getpid(), pod_fd);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(nl_devconf_get(pod, pl.ifindex, get, 4, &err), 0);
	assert_true(get[0].found && get[1].found && get[2].found && get[3].found);
	assert_int_equal(get[0].value, 2);
	assert_int_equal(get[1].value, 1);
	assert_int_equal(get[2].value, 0);
	assert_int_equal(get[3].value, 17);

	assert_int_equal(sysctl_write("net/ipv4/ip_forward", "0", &err), 0);
	assert_int_equal(nl_devconf_forwarding(node, AF_INET, &on, &err), 0);
	assert_false(on);
	assert_int_equal(sysctl_write("net/ipv4/ip_forward", "1", &err), 0);
	assert_int_equal(nl_devconf_forwarding(node, AF_INET, &on, &err), 0);
	assert_true(on);
	assert_int_equal(sysctl_write("net/ipv6/conf/all/forwarding", "1", &err), 0);
	assert_int_equal(nl_devconf_forwarding(node, AF_INET6, &on, &err), 0);
	assert_true(on);
	assert_int_equal(nl_link_del(node, hl.ifindex, &err), 0);
}

static void test_forwarding(void **state)
{
	struct cni_err err = { 0 };

	assert_int_equal(sysctl_write("net/ipv4/ip_forward", "0", &err), 0);
	assert_int_equal(sysctl_write("net/ipv6/conf/all/forwarding", "0", &err), 0);
	assert_int_equal(knob_forwarding_check(node, false, false, &err), 0);
	assert_int_equal(knob_forwarding_check(node, true, false, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_CHECK);
	assert_string_equal(err.msg, "sysctl net/ipv4/ip_forward is 0, want 1");
	cni_err_clear(&err);
	assert_int_equal(knob_forwarding_check(node, false, true, &err), -EINVAL);
	assert_string_equal(err.msg, "sysctl net/ipv6/conf/all/forwarding is 0, want 1");
	cni_err_clear(&err);

	assert_int_equal(knob_forwarding_set(node, true, false, &err), 0);
	assert_proc(false, "ipv4/ip_forward", "1");
	assert_proc(false, "ipv6/conf/all/forwarding", "0");
	assert_int_equal(knob_forwarding_set(node, true, true, &err), 0);
	assert_proc(false, "ipv4/ip_forward", "1");
	assert_proc(false, "ipv6/conf/all/forwarding", "1");
	assert_int_equal(knob_forwarding_check(node, true, true, &err), 0);
	/* Already on: nothing to do, and nothing turned off. */
	assert_int_equal(knob_forwarding_set(node, false, false, &err), 0);
	assert_proc(false, "ipv4/ip_forward", "1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_knobs),
		cmocka_unit_test(test_node_knobs),
		cmocka_unit_test(test_missing_and_bad),
		cmocka_unit_test(test_devconf_live),
		cmocka_unit_test(test_forwarding),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
