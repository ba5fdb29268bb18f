// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pkg/podnet against the real kernel: run-unit.sh gives this process a
 * throwaway netns ("node"); each test makes a fresh "pod" netns with
 * unshare() and keeps only its fd. State is read back with netlink and
 * cross-checked with iproute2.
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
#include <cmocka.h>

#include "cni/hash.h"
#include "cni/netns.h"
#include "cni/podnet.h"
#include "cni/sysctl.h"

static int pod_fd = -1;
static struct nl_sock *node, *pod;

static int new_pod(void **state)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	assert_true(self >= 0);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	pod_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(pod_fd >= 0);
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	close(self);
	assert_int_equal(nl_sock_open(-1, &node, NULL), 0);
	assert_int_equal(nl_sock_open(pod_fd, &pod, NULL), 0);
	return 0;
}

static int drop_pod(void **state)
{
	struct nl_link l;

	/* Deleting the pod end takes the host end along. */
	if (nl_link_get(pod, "eth0", &l, NULL) == 0)
		assert_int_equal(nl_link_del(pod, l.ifindex, NULL), 0);
	nl_sock_close(pod);
	nl_sock_close(node);
	pod = node = NULL;
	close(pod_fd);
	pod_fd = -1;
	return 0;
}

static char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *sh(const char *fmt, ...)
{
	char cmd[1024];
	static char out[16384];
	size_t n;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

#define IN_POD "nsenter --net=/proc/%d/fd/%d "

static void test_veth_name(void **state)
{
	char a[PODNET_VETH_NAMELEN], b[PODNET_VETH_NAMELEN], hex[9];

	podnet_veth_name("net", "cid", "eth0", a);
	podnet_veth_name("net", "cid", "eth0", b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 12);
	assert_memory_equal(a, "veth", 4);
	cni_sha512_hex("net:cid:eth0", 12, hex, 8);
	assert_string_equal(a + 4, hex);
	podnet_veth_name("net", "cid", "eth1", b);
	assert_string_not_equal(a, b);
	podnet_veth_name("ne", "tcid", "eth0", b);
	assert_string_not_equal(a, b);
}

static void test_mac(void **state)
{
	uint8_t m[6];
	char s[PODNET_MAC_STRLEN];

	assert_int_equal(podnet_mac_parse("0A:bb:cc:dd:ee:0f", m), 0);
	assert_string_equal(podnet_mac_format(m, s), "0a:bb:cc:dd:ee:0f");
	assert_int_equal(podnet_mac_parse("0a:bb:cc:dd:ee", m), -EINVAL);
	assert_int_equal(podnet_mac_parse("0a-bb-cc-dd-ee-0f", m), -EINVAL);
	assert_int_equal(podnet_mac_parse("0a:bb:cc:dd:ee:0g", m), -EINVAL);
}

static struct cni_result *dual_result(void)
{
	struct cni_result *r = cni_result_new();
	struct cni_prefix a4, a6, d0, d6, extra;
	struct cni_ip g4, g6, egw;

	assert_non_null(r);
	assert_int_equal(cni_prefix_parse("10.88.0.5/24", &a4), 0);
	assert_int_equal(cni_prefix_parse("fd88::5/64", &a6), 0);
	assert_int_equal(cni_ip_parse("10.88.0.1", &g4), 0);
	assert_int_equal(cni_ip_parse("fd88::1", &g6), 0);
	assert_int_equal(cni_prefix_parse("0.0.0.0/0", &d0), 0);
	assert_int_equal(cni_prefix_parse("::/0", &d6), 0);
	assert_int_equal(cni_prefix_parse("192.168.77.0/24", &extra), 0);
	assert_int_equal(cni_ip_parse("10.88.0.254", &egw), 0);
	assert_int_equal(cni_result_add_iface(r, "br", NULL, NULL), 0);
	assert_int_equal(cni_result_add_iface(r, "veth", NULL, NULL), 1);
	assert_int_equal(cni_result_add_iface(r, "eth0", "02:00:00:aa:bb:cc", "/x"), 2);
	assert_int_equal(cni_result_add_ip(r, &a4, &g4, 2), 0);
	assert_int_equal(cni_result_add_ip(r, &a6, &g6, 2), 1);
	/* gw-less routes take the family's gateway; an explicit gw wins */
	assert_true(cni_result_add_route(r, &d0, NULL) >= 0);
	assert_true(cni_result_add_route(r, &d6, NULL) >= 0);
	assert_true(cni_result_add_route(r, &extra, &egw) >= 0);
	return r;
}

static void test_create_configure_check_remove(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0xaa, 0xbb, 0xcc };
	char name[PODNET_VETH_NAMELEN], *out, val[16];
	struct podnet_veth v;
	struct podnet_veth_req req = { .pod_ifname = "eth0", .pod_netns_fd = pod_fd, .mtu = 1400,
				       .pod_mac = mac };
	struct cni_err err = { 0 };
	struct cni_result *r = dual_result();
	struct podnet_conf c = { .ifname = "eth0", .netns_fd = pod_fd, .iface = 2 };
	struct nl_link l;
	int saved;

	podnet_veth_name("brtnet", "c1", "eth0", name);
	req.host_name = name;
	assert_int_equal(podnet_veth_create(node, pod, &req, &v, &err), 0);
	assert_string_equal(v.host_name, name);
	assert_string_equal(v.pod_name, "eth0");
	assert_memory_equal(v.pod_mac, mac, 6);
	assert_int_equal(nl_link_get(node, name, &l, NULL), 0);
	assert_int_equal(l.mtu, 1400);
	assert_int_equal(l.ifindex, v.host_ifindex);
	assert_int_equal(nl_link_set_up(node, v.host_ifindex, true, NULL), 0);

	c.ifindex = v.pod_ifindex;
	assert_int_equal(podnet_pod_configure(pod, &c, r, &err), 0);
	assert_int_equal(err.code, 0);
	out = sh(IN_POD "ip -o addr show dev eth0", getpid(), pod_fd);
	assert_non_null(strstr(out, "10.88.0.5/24"));
	assert_non_null(strstr(out, "fd88::5/64"));
	/*
	 * NODAD: our addresses are never tentative, so ADD needs no DAD wait.
	 * (Only the kernel's own link-local may be, for the moment its DAD work
	 * item takes to run even with accept_dad=0: look at our line alone.)
	 */
	{
		char *line = strstr(out, "fd88::5/64"), *eol = line ? strchr(line, '\n') : NULL;

		if (eol)
			*eol = '\0';
		assert_non_null(line);
		assert_null(strstr(line, "tentative"));
	}
	out = sh(IN_POD "ip -4 route", getpid(), pod_fd);
	assert_non_null(strstr(out, "default via 10.88.0.1 dev eth0"));
	assert_non_null(strstr(out, "192.168.77.0/24 via 10.88.0.254 dev eth0"));
	out = sh(IN_POD "ip -6 route", getpid(), pod_fd);
	assert_non_null(strstr(out, "default via fd88::1 dev eth0"));
	assert_int_equal(cni_netns_enter(pod_fd, &saved, NULL), 0);
	assert_int_equal(sysctl_read("net/ipv6/conf/eth0/accept_dad", val, sizeof(val), NULL), 0);
	assert_string_equal(val, "0");
	assert_int_equal(sysctl_read("net/ipv4/conf/eth0/arp_notify", val, sizeof(val), NULL), 0);
	assert_string_equal(val, "1");
	cni_netns_leave(saved);

	assert_int_equal(podnet_pod_check(pod, &c, r, &err), 0);
	assert_int_equal(podnet_host_peer(node, pod, "eth0", NULL, &l, &err), 0);
	assert_int_equal(l.ifindex, v.host_ifindex);
	assert_int_equal(podnet_host_peer(node, NULL, "eth0", name, &l, &err), 0);
	assert_int_equal(l.ifindex, v.host_ifindex);

	/* CHECK notices a missing route and a wrong MAC */
	sh(IN_POD "ip route del 192.168.77.0/24", getpid(), pod_fd);
	assert_int_equal(podnet_pod_check(pod, &c, r, &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_CHECK);
	assert_non_null(strstr(err.msg, "192.168.77.0/24"));
	cni_err_clear(&err);
	sh(IN_POD "ip route add 192.168.77.0/24 via 10.88.0.254", getpid(), pod_fd);
	free(r->ifaces[2].mac);
	r->ifaces[2].mac = strdup("02:00:00:aa:bb:cd");
	assert_int_equal(podnet_pod_check(pod, &c, r, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "MAC"));
	cni_err_clear(&err);

	assert_int_equal(podnet_veth_remove(node, pod, "eth0", name, &err), 0);
	assert_int_equal(nl_link_get(node, name, &l, NULL), -ENODEV);
	assert_int_equal(nl_link_get(pod, "eth0", &l, NULL), -ENODEV);
	/* DEL is idempotent */
	assert_int_equal(podnet_veth_remove(node, pod, "eth0", name, &err), 0);
	assert_int_equal(podnet_veth_remove(node, NULL, "eth0", name, &err), 0);
	assert_int_equal(podnet_pod_check(pod, &c, r, &err), -ENOENT);
	assert_int_equal(err.code, CNI_ERR_CHECK);
	cni_result_free(r);
}

static void test_stale_and_exists(void **state)
{
	struct podnet_veth_req req = { .host_name = "vethbrt00001", .pod_ifname = "eth0",
				       .pod_netns_fd = pod_fd };
	struct cni_err err = { 0 };
	struct podnet_veth v, v2;
	struct nl_veth stale = { .name = "vethbrt00001", .peer_name = "brtstale", .peer_netns_fd = -1 };
	struct nl_link l;

	/* A crash leftover of the same attachment is replaced, peer and all. */
	assert_int_equal(nl_link_add_veth(node, &stale, NULL, NULL), 0);
	assert_int_equal(podnet_veth_create(node, pod, &req, &v, &err), 0);
	assert_int_equal(nl_link_get(node, "brtstale", &l, NULL), -ENODEV);
	assert_int_equal(nl_link_get(node, "vethbrt00001", &l, NULL), 0);
	assert_int_equal(l.ifindex, v.host_ifindex);

	/* Same pod ifname again (from another host name): 104, nothing made. */
	req.host_name = "vethbrt00002";
	assert_int_equal(podnet_veth_create(node, pod, &req, &v2, &err), -EEXIST);
	assert_int_equal(err.code, CNI_ERR_EXISTS);
	assert_int_equal(nl_link_get(node, "vethbrt00002", &l, NULL), -ENODEV);
	cni_err_clear(&err);

	/* Our name on a link that is not a veth is not ours to delete. */
	struct nl_bridge b = { .name = "vethbrt00003" };

	assert_int_equal(nl_link_add_bridge(node, &b, NULL, NULL), 0);
	req.host_name = "vethbrt00003";
	req.pod_ifname = "eth1";
	assert_int_equal(podnet_veth_create(node, pod, &req, &v2, &err), -EEXIST);
	assert_int_equal(nl_link_get(node, "vethbrt00003", &l, NULL), 0);
	assert_string_equal(l.kind, "bridge");
	assert_int_equal(nl_link_del(node, l.ifindex, NULL), 0);
	cni_err_clear(&err);

	/* Removal by the deterministic name alone, when the pod side is unreachable. */
	assert_int_equal(podnet_veth_remove(node, NULL, "eth0", "vethbrt00001", &err), 0);
	assert_int_equal(nl_link_get(pod, "eth0", &l, NULL), -ENODEV);
}

static void test_l2_and_down(void **state)
{
	struct podnet_veth_req req = { .host_name = "vethbrt00004", .pod_ifname = "eth0",
				       .pod_netns_fd = pod_fd };
	struct podnet_conf c = { .ifname = "eth0", .netns_fd = pod_fd, .iface = 2, .link_down = true };
	struct cni_result *r = cni_result_new();
	struct cni_err err = { 0 };
	struct podnet_veth v;
	struct nl_link l;

	assert_int_equal(podnet_veth_create(node, pod, &req, &v, &err), 0);
	assert_int_equal(podnet_pod_configure(pod, &c, r, &err), 0);
	assert_int_equal(nl_link_get(pod, "eth0", &l, NULL), 0);
	assert_false(l.up);
	assert_int_equal(podnet_pod_check(pod, &c, r, &err), 0);
	c.link_down = false;
	assert_int_equal(podnet_pod_check(pod, &c, r, &err), -ENOENT);
	cni_err_clear(&err);
	assert_int_equal(podnet_pod_configure(pod, &c, r, &err), 0);
	assert_int_equal(podnet_pod_check(pod, &c, r, &err), 0);
	cni_result_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_veth_name),
		cmocka_unit_test(test_mac),
		cmocka_unit_test_setup_teardown(test_create_configure_check_remove, new_pod, drop_pod),
		cmocka_unit_test_setup_teardown(test_stale_and_exists, new_pod, drop_pod),
		cmocka_unit_test_setup_teardown(test_l2_and_down, new_pod, drop_pod),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
