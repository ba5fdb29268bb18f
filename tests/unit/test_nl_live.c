// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The netlink and sysctl modules against the real kernel. run-unit.sh gives
 * this process a throwaway netns ("node"); the tests make a second one
 * ("pod") with unshare() and keep only its fd.
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
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <cmocka.h>

#include "cni/nl.h"
#include "cni/sysctl.h"

static int node_fd = -1, pod_fd = -1;
static struct nl_sock *node, *pod;

static const uint8_t mac_host[6] = { 0x02, 0x6e, 0x6c, 0x74, 0x00, 0x01 };
static const uint8_t mac_pod[6] = { 0x02, 0x6e, 0x6c, 0x74, 0x00, 0x02 };
static const uint8_t mac_br[6] = { 0x02, 0x6e, 0x6c, 0x74, 0x00, 0x03 };

/* Output of a shell command (tests only: cross-checks with iproute2). */
static char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *sh(const char *fmt, ...)
{
	char cmd[1024], *out = NULL;
	size_t len = 0, cap = 0;
	va_list ap;
	FILE *f;
	int c;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((c = fgetc(f)) != EOF) {
		if (len + 2 > cap) {
			cap = cap ? cap * 2 : 256;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		out[len++] = (char)c;
	}
	pclose(f);
	if (!out)
		out = calloc(1, 1);
	else
		out[len] = '\0';
	return out;
}

#define IN_POD "nsenter --net=/proc/%d/fd/%d "
#define POD_ARGS getpid(), pod_fd

static void sh_check(bool want, const char *needle, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sh_check(bool want, const char *needle, const char *fmt, ...)
{
	char cmd[1024], *out;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out = sh("%s", cmd);
	if (!strstr(out, needle) == want)
		fail_msg("`%s` printed '%s', expected %s'%s'", cmd, out, want ? "" : "no ", needle);
	free(out);
}

#define assert_sh_contains(needle, ...) sh_check(true, needle, __VA_ARGS__)
#define assert_sh_lacks(needle, ...) sh_check(false, needle, __VA_ARGS__)

static int setup(void **state)
{
	struct cni_err err = { 0 };

	node_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(node_fd >= 0);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	/* No O_CLOEXEC: nsenter in sh() reaches it through /proc/PID/fd. */
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
	nl_sock_close(NULL);
	close(node_fd);
	close(pod_fd);
	return 0;
}

/* A veth nltvN in the node with its peer nltpN in the pod; returns the host ifindex. */
static int make_veth(const char *name, const char *peer, int *peer_index)
{
	struct nl_veth v = { .name = name, .peer_name = peer, .peer_netns_fd = pod_fd };
	struct cni_err err = { 0 };
	struct nl_link l;
	int ifindex = 0;

	assert_int_equal(nl_link_add_veth(node, &v, &ifindex, &err), 0);
	assert_true(ifindex > 0);
	if (peer_index) {
		assert_int_equal(nl_link_get(pod, peer, &l, &err), 0);
		*peer_index = l.ifindex;
	}
	return ifindex;
}

static void test_veth(void **state)
{
	struct nl_veth v = {
		.name = "nltv0", .peer_name = "nltp0", .peer_netns_fd = pod_fd, .mtu = 1400,
		.mac = mac_host, .peer_mac = mac_pod,
	};
	struct cni_err err = { 0 };
	struct nl_link l, p;
	int ifindex = 0, peer;

	assert_int_equal(nl_link_add_veth(node, &v, &ifindex, &err), 0);
	assert_int_equal(nl_link_get_index(node, ifindex, &l, &err), 0);
	assert_string_equal(l.name, "nltv0");
	assert_string_equal(l.kind, "veth");
	assert_int_equal(l.mtu, 1400);
	assert_memory_equal(l.mac, mac_host, 6);
	assert_false(l.up);
	assert_int_equal(l.master, 0);
	/* The peer lives elsewhere: the kernel says so with a netns id. */
	assert_true(l.link_netnsid >= 0);

	assert_int_equal(nl_link_get(pod, "nltp0", &p, &err), 0);
	assert_string_equal(p.kind, "veth");
	assert_int_equal(p.mtu, 1400);
	assert_memory_equal(p.mac, mac_pod, 6);
	assert_int_equal(p.ifindex, l.link);
	assert_int_equal(nl_link_get(node, "nltp0", &p, NULL), -ENODEV);
	assert_sh_contains("\"ifname\":\"nltp0\"", IN_POD "ip -j link show", POD_ARGS);
	assert_sh_lacks("nltp0", "ip -o link");

	/* Either name taken: EEXIST, with what we tried in the message. */
	assert_int_equal(nl_link_add_veth(node, &v, NULL, &err), -EEXIST);
	assert_int_equal(err.code, CNI_ERR_NETLINK);
	assert_int_equal(err.errnum, EEXIST);
	assert_non_null(strstr(err.msg, "creating veth nltv0 (peer nltp0)"));
	assert_non_null(strstr(err.msg, strerror(EEXIST)));
	cni_err_clear(&err);
	v.name = "nltv1";
	assert_int_equal(nl_link_add_veth(node, &v, NULL, &err), -EEXIST);
	assert_int_equal(nl_link_get(node, "nltv1", &l, NULL), -ENODEV);
	cni_err_clear(&err);

	assert_int_equal(nl_link_get(node, "nltnone", &l, &err), -ENODEV);
	assert_string_equal(err.msg, "looking up link nltnone: No such device");
	cni_err_clear(&err);
	assert_int_equal(nl_link_get_index(node, 99999, &l, &err), -ENODEV);
	cni_err_clear(&err);
	v.name = "nlt456789abcdef0";	/* 16 bytes: one too many */
	assert_int_equal(nl_link_add_veth(node, &v, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "nlt456789abcdef0"));
	cni_err_clear(&err);

	/* Deleting one end takes the pair. */
	assert_int_equal(nl_link_get(pod, "nltp0", &p, &err), 0);
	peer = p.ifindex;
	assert_int_equal(nl_link_del(node, ifindex, &err), 0);
	assert_int_equal(nl_link_get(pod, "nltp0", &p, NULL), -ENODEV);
	assert_int_equal(nl_link_get_index(pod, peer, &p, NULL), -ENODEV);
	assert_int_equal(nl_link_del(node, ifindex, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "deleting link"));
}

static void test_link_set(void **state)
{
	struct cni_err err = { 0 };
	struct nl_link l;
	int ifindex = make_veth("nltv2", "nltp2", NULL);

	assert_int_equal(nl_link_set_mtu(node, ifindex, 1280, &err), 0);
	assert_int_equal(nl_link_set_mac(node, ifindex, mac_br, &err), 0);
	assert_int_equal(nl_link_set_promisc(node, ifindex, true, &err), 0);
	assert_int_equal(nl_link_set_up(node, ifindex, true, &err), 0);
	assert_int_equal(nl_link_get_index(node, ifindex, &l, &err), 0);
	assert_int_equal(l.mtu, 1280);
	assert_memory_equal(l.mac, mac_br, 6);
	assert_true(l.promisc);
	assert_true(l.up);
	assert_sh_contains("\"promiscuity\":1", "ip -j -d link show dev nltv2");
	assert_sh_contains("02:6e:6c:74:00:03", "ip -j link show dev nltv2");

	assert_int_equal(nl_link_set_promisc(node, ifindex, false, &err), 0);
	assert_int_equal(nl_link_set_up(node, ifindex, false, &err), 0);
	assert_int_equal(nl_link_get_index(node, ifindex, &l, &err), 0);
	assert_false(l.promisc);
	assert_false(l.up);
	assert_sh_contains("\"promiscuity\":0", "ip -j -d link show dev nltv2");

	/* The kernel's reason travels in details. */
	assert_int_equal(nl_link_set_mtu(node, ifindex, 10, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "setting mtu 10 on nltv2"));
	assert_true(err.details[0] != '\0');
	cni_err_clear(&err);
	assert_int_equal(nl_link_set_up(node, 99999, true, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "ifindex 99999"));
	assert_int_equal(nl_link_del(node, ifindex, &err), 0);
}

static void test_bridge(void **state)
{
	struct nl_bridge b = { .name = "nltbr0", .mtu = 1450, .mac = mac_br };
	struct cni_err err = { 0 };
	int br = 0, port, ret;
	struct nl_link l;

	assert_int_equal(nl_link_add_bridge(node, &b, &br, &err), 0);
	assert_int_equal(nl_link_get(node, "nltbr0", &l, &err), 0);
	assert_int_equal(l.ifindex, br);
	assert_string_equal(l.kind, "bridge");
	assert_false(l.vlan_filtering);
	assert_int_equal(l.mtu, 1450);
	assert_memory_equal(l.mac, mac_br, 6);
	assert_sh_contains("\"vlan_filtering\":0", "ip -j -d link show dev nltbr0");
	assert_int_equal(nl_link_add_bridge(node, &b, NULL, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "creating bridge nltbr0"));
	cni_err_clear(&err);

	/* Kernels built without CONFIG_BRIDGE_VLAN_FILTERING refuse to turn it on. */
	ret = nl_bridge_set_vlan_filtering(node, br, true, &err);
	if (ret == -EOPNOTSUPP) {
		assert_non_null(strstr(err.msg, "turning vlan_filtering on for nltbr0"));
		cni_err_clear(&err);
	} else {
		assert_int_equal(ret, 0);
		assert_int_equal(nl_link_get_index(node, br, &l, &err), 0);
		assert_true(l.vlan_filtering);
		assert_sh_contains("\"vlan_filtering\":1", "ip -j -d link show dev nltbr0");
		assert_int_equal(nl_bridge_set_vlan_filtering(node, br, false, &err), 0);
		assert_int_equal(nl_link_get_index(node, br, &l, &err), 0);
		assert_false(l.vlan_filtering);
	}

	port = make_veth("nltv3", "nltp3", NULL);
	assert_int_equal(nl_link_set_master(node, port, br, &err), 0);
	assert_int_equal(nl_link_get_index(node, port, &l, &err), 0);
	assert_int_equal(l.master, br);
	assert_false(l.hairpin);
	assert_false(l.isolated);

	assert_int_equal(nl_bridge_port_set_hairpin(node, port, true, &err), 0);
	assert_int_equal(nl_bridge_port_set_isolated(node, port, true, &err), 0);
	assert_int_equal(nl_link_get_index(node, port, &l, &err), 0);
	assert_true(l.hairpin);
	assert_true(l.isolated);
	assert_sh_contains("\"hairpin\":true", "ip -j -d link show dev nltv3");
	assert_sh_contains("\"isolated\":true", "ip -j -d link show dev nltv3");
	assert_int_equal(nl_bridge_port_set_hairpin(node, port, false, &err), 0);
	assert_int_equal(nl_link_get_index(node, port, &l, &err), 0);
	assert_false(l.hairpin);
	assert_true(l.isolated);
	assert_sh_contains("\"hairpin\":false", "ip -j -d link show dev nltv3");

	/* Port flags on a link that is no port: the bridge code refuses. */
	assert_int_equal(nl_bridge_port_set_hairpin(node, br, true, &err) < 0, 1);
	assert_non_null(strstr(err.msg, "turning hairpin on for nltbr0"));
	cni_err_clear(&err);
	assert_int_equal(nl_link_set_master(node, port, 0, &err), 0);
	assert_int_equal(nl_link_get_index(node, port, &l, &err), 0);
	assert_int_equal(l.master, 0);
	assert_int_equal(nl_link_set_master(node, port, 99999, &err) < 0, 1);
	assert_non_null(strstr(err.msg, "attaching nltv3 to ifindex 99999"));
	cni_err_clear(&err);
	assert_int_equal(nl_link_del(node, port, &err), 0);
	assert_int_equal(nl_link_del(node, br, &err), 0);
}

static const struct nl_vlan *find_vlan(const struct nl_vlan *v, size_t n, uint16_t vid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].vid == vid)
			return &v[i];
	return NULL;
}

static void test_vlans(void **state)
{
	struct nl_bridge b = { .name = "nltbr1", .vlan_filtering = true };
	struct cni_err err = { 0 };
	struct nl_vlan *v = NULL;
	const struct nl_vlan *x;
	int br, port, ret;
	size_t n = 0;

	ret = nl_link_add_bridge(node, &b, &br, &err);
	if (ret == -EOPNOTSUPP) {
		/* No CONFIG_BRIDGE_VLAN_FILTERING: VLAN requests must fail cleanly. */
		assert_non_null(strstr(err.msg, "creating bridge nltbr1 with vlan_filtering"));
		cni_err_clear(&err);
		b.vlan_filtering = false;
		assert_int_equal(nl_link_add_bridge(node, &b, &br, &err), 0);
		port = make_veth("nltv4", "nltp4", NULL);
		assert_int_equal(nl_link_set_master(node, port, br, &err), 0);
		assert_int_equal(nl_bridge_vlan_add(node, port, 10, 0, NL_VLAN_PVID, &err), -EOPNOTSUPP);
		assert_string_equal(err.msg, "adding vlan 10 to nltv4: Operation not supported");
		cni_err_clear(&err);
		assert_int_equal(nl_bridge_vlan_list(node, port, &v, &n, &err), 0);
		assert_int_equal(n, 0);
		assert_null(v);
		assert_int_equal(nl_link_del(node, port, &err), 0);
		assert_int_equal(nl_link_del(node, br, &err), 0);
		fprintf(stderr, "test_vlans: this kernel has no bridge VLAN filtering\n");
		skip();
	}
	assert_int_equal(ret, 0);
	port = make_veth("nltv4", "nltp4", NULL);
	assert_int_equal(nl_link_set_master(node, port, br, &err), 0);

	/* A new port gets VLAN 1 pvid untagged by default. */
	assert_int_equal(nl_bridge_vlan_list(node, port, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].vid, 1);
	assert_int_equal(v[0].flags, NL_VLAN_PVID | NL_VLAN_UNTAGGED);
	free(v);

	assert_int_equal(nl_bridge_vlan_del(node, port, 1, 0, 0, &err), 0);
	assert_int_equal(nl_bridge_vlan_add(node, port, 10, 0, NL_VLAN_PVID | NL_VLAN_UNTAGGED, &err), 0);
	assert_int_equal(nl_bridge_vlan_add(node, port, 20, 30, 0, &err), 0);
	assert_int_equal(nl_bridge_vlan_list(node, port, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_null(find_vlan(v, n, 1));
	x = find_vlan(v, n, 10);
	assert_non_null(x);
	assert_int_equal(x->vid_end, 10);
	assert_int_equal(x->flags, NL_VLAN_PVID | NL_VLAN_UNTAGGED);
	x = find_vlan(v, n, 20);
	assert_non_null(x);
	assert_int_equal(x->vid_end, 30);
	assert_int_equal(x->flags, 0);
	free(v);
	assert_sh_contains("\"vlan\":20,\"vlanEnd\":30", "bridge -j -c vlan show dev nltv4");
	assert_sh_lacks("\"vlan\":1,", "bridge -j -c vlan show dev nltv4");

	/* The bridge's own VLANs need SELF; remove its default VLAN 1, add 10. */
	assert_int_equal(nl_bridge_vlan_del(node, br, 1, 0, NL_VLAN_SELF, &err), 0);
	assert_int_equal(nl_bridge_vlan_add(node, br, 10, 0, NL_VLAN_SELF | NL_VLAN_UNTAGGED, &err), 0);
	assert_int_equal(nl_bridge_vlan_list(node, br, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].vid, 10);
	assert_int_equal(v[0].flags, NL_VLAN_UNTAGGED);
	free(v);

	/* A range cannot be a PVID; VLAN 4095 does not exist. */
	assert_int_equal(nl_bridge_vlan_add(node, port, 40, 50, NL_VLAN_PVID, &err), -EINVAL);
	cni_err_clear(&err);
	assert_int_equal(nl_bridge_vlan_add(node, port, 4095, 0, 0, &err), -EINVAL);
	cni_err_clear(&err);
	/* Without SELF a bridge has no master to take the request. */
	assert_int_equal(nl_bridge_vlan_add(node, br, 11, 0, 0, &err) < 0, 1);
	assert_non_null(strstr(err.msg, "adding vlan 11 to nltbr1"));
	cni_err_clear(&err);

	assert_int_equal(nl_bridge_vlan_del(node, port, 20, 30, 0, &err), 0);
	assert_int_equal(nl_bridge_vlan_list(node, port, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].vid, 10);
	free(v);
	assert_int_equal(nl_link_del(node, port, &err), 0);
	assert_int_equal(nl_link_del(node, br, &err), 0);
}

static const struct nl_addr *find_addr(const struct nl_addr *a, size_t n, const char *pfx)
{
	struct cni_prefix p;

	assert_int_equal(cni_prefix_parse(pfx, &p), 0);
	for (size_t i = 0; i < n; i++)
		if (cni_ip_equal(&a[i].prefix.ip, &p.ip) && a[i].prefix.len == p.len)
			return &a[i];
	return NULL;
}

static void test_addr(void **state)
{
	struct cni_err err = { 0 };
	struct nl_addr a = { .flags = 0 }, *list = NULL;
	const struct nl_addr *x;
	size_t n = 0;
	int peer;

	make_veth("nltv5", "nltp5", &peer);
	a.ifindex = peer;
	assert_int_equal(cni_prefix_parse("10.99.0.5/24", &a.prefix), 0);
	assert_int_equal(nl_addr_add(pod, &a, &err), 0);
	assert_int_equal(cni_prefix_parse("fd99::5/64", &a.prefix), 0);
	a.flags = NL_ADDR_NODAD;
	assert_int_equal(nl_addr_add(pod, &a, &err), 0);
	assert_int_equal(cni_prefix_parse("fd99:1::5/64", &a.prefix), 0);
	a.flags = NL_ADDR_NODAD | NL_ADDR_NOPREFIXROUTE;
	assert_int_equal(nl_addr_add(pod, &a, &err), 0);
	assert_int_equal(nl_link_set_up(pod, peer, true, &err), 0);

	assert_int_equal(nl_addr_list(pod, peer, AF_INET, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_non_null(find_addr(list, n, "10.99.0.5/24"));
	free(list);
	assert_int_equal(nl_addr_list(pod, peer, AF_INET6, &list, &n, &err), 0);
	x = find_addr(list, n, "fd99::5/64");
	assert_non_null(x);
	assert_true(x->flags & NL_ADDR_NODAD);
	assert_false(x->flags & NL_ADDR_NOPREFIXROUTE);
	x = find_addr(list, n, "fd99:1::5/64");
	assert_non_null(x);
	assert_true(x->flags & NL_ADDR_NOPREFIXROUTE);
	assert_null(find_addr(list, n, "10.99.0.5/24"));
	free(list);
	assert_int_equal(nl_addr_list(pod, 0, AF_UNSPEC, &list, &n, &err), 0);
	assert_true(n >= 3);
	free(list);
	/* The host end has none. */
	assert_int_equal(nl_addr_list(node, 0, AF_INET, &list, &n, &err), 0);
	assert_null(find_addr(list, n, "10.99.0.5/24"));
	free(list);
	assert_sh_contains("\"local\":\"10.99.0.5\",\"prefixlen\":24,\"broadcast\":\"10.99.0.255\"",
			   IN_POD "ip -j addr show dev nltp5", POD_ARGS);
	assert_sh_contains("nodad", IN_POD "ip addr show dev nltp5", POD_ARGS);

	/* NOPREFIXROUTE: no fd99:1::/64 route; the other prefix has one. */
	assert_sh_contains("fd99::/64", IN_POD "ip -6 route", POD_ARGS);
	assert_sh_lacks("fd99:1::/64", IN_POD "ip -6 route", POD_ARGS);

	assert_int_equal(nl_addr_add(pod, &a, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "adding fd99:1::5/64 to nltp5"));
	cni_err_clear(&err);
	/* Replace updates flags in place: fd99::/64 loses its prefix route. */
	assert_int_equal(cni_prefix_parse("fd99::5/64", &a.prefix), 0);
	a.flags = NL_ADDR_NODAD | NL_ADDR_NOPREFIXROUTE;
	assert_int_equal(nl_addr_replace(pod, &a, &err), 0);
	assert_int_equal(nl_addr_list(pod, peer, AF_INET6, &list, &n, &err), 0);
	x = find_addr(list, n, "fd99::5/64");
	assert_non_null(x);
	assert_true(x->flags & NL_ADDR_NOPREFIXROUTE);
	free(list);
	assert_sh_lacks("fd99::/64", IN_POD "ip -6 route", POD_ARGS);
	assert_int_equal(cni_prefix_parse("fd99:1::5/64", &a.prefix), 0);

	assert_int_equal(nl_addr_del(pod, &a, &err), 0);
	assert_int_equal(nl_addr_del(pod, &a, &err), -EADDRNOTAVAIL);
	assert_non_null(strstr(err.msg, "removing fd99:1::5/64 from nltp5"));
	cni_err_clear(&err);
	assert_int_equal(nl_addr_list(pod, peer, AF_INET6, &list, &n, &err), 0);
	assert_null(find_addr(list, n, "fd99:1::5/64"));
	free(list);
	assert_int_equal(nl_link_del(pod, peer, &err), 0);
}

static const struct nl_route *find_route(const struct nl_route *r, size_t n, const char *dst)
{
	struct cni_prefix p;

	assert_int_equal(cni_prefix_parse(dst, &p), 0);
	for (size_t i = 0; i < n; i++)
		if (cni_ip_equal(&r[i].dst.ip, &p.ip) && r[i].dst.len == p.len)
			return &r[i];
	return NULL;
}

static void route_set(struct nl_route *r, const char *dst, const char *gw, int oif)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(cni_prefix_parse(dst, &r->dst), 0);
	if (gw)
		assert_int_equal(cni_ip_parse(gw, &r->gw), 0);
	r->oif = oif;
}

static void test_route(void **state)
{
	struct cni_err err = { 0 };
	struct nl_addr a = { .flags = NL_ADDR_NODAD };
	struct nl_route r, *list = NULL;
	const struct nl_route *x;
	int peer, host;
	size_t n = 0;
	char *out;

	host = make_veth("nltv6", "nltp6", &peer);
	assert_int_equal(nl_link_set_up(node, host, true, &err), 0);
	assert_int_equal(nl_link_set_up(pod, peer, true, &err), 0);
	a.ifindex = peer;
	assert_int_equal(cni_prefix_parse("10.99.0.5/24", &a.prefix), 0);
	assert_int_equal(nl_addr_add(pod, &a, &err), 0);
	assert_int_equal(cni_prefix_parse("fd99::5/64", &a.prefix), 0);
	assert_int_equal(nl_addr_add(pod, &a, &err), 0);

	/* Gateway, metric, mtu, advmss, prefsrc; host bits in dst are dropped. */
	route_set(&r, "10.98.1.2/16", "10.99.0.1", peer);
	r.priority = 50;
	r.mtu = 1300;
	r.advmss = 1260;
	assert_int_equal(cni_ip_parse("10.99.0.5", &r.src), 0);
	assert_int_equal(nl_route_add(pod, &r, &err), 0);
	assert_int_equal(nl_route_add(pod, &r, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "adding route 10.98.0.0/16 via 10.99.0.1 dev nltp6"));
	cni_err_clear(&err);

	/* ptp style: gw/32 scope link, then a subnet via gw with onlink. */
	route_set(&r, "169.254.1.1/32", NULL, peer);
	r.scope = NL_SCOPE_LINK;
	assert_int_equal(nl_route_add(pod, &r, &err), 0);
	route_set(&r, "0.0.0.0/0", "169.254.1.1", peer);
	r.onlink = true;
	assert_int_equal(nl_route_add(pod, &r, &err), 0);
	route_set(&r, "fd98::/64", "fd99::1", peer);
	r.priority = 300;
	assert_int_equal(nl_route_add(pod, &r, &err), 0);

	assert_int_equal(nl_route_list(pod, AF_INET, 0, peer, &list, &n, &err), 0);
	x = find_route(list, n, "10.98.0.0/16");
	assert_non_null(x);
	assert_int_equal(x->priority, 50);
	assert_int_equal(x->mtu, 1300);
	assert_int_equal(x->advmss, 1260);
	assert_int_equal(x->table, NL_TABLE_MAIN);
	assert_int_equal(x->gw.family, AF_INET);
	assert_int_equal(x->src.family, AF_INET);
	x = find_route(list, n, "169.254.1.1/32");
	assert_non_null(x);
	assert_int_equal(x->scope, NL_SCOPE_LINK);
	assert_int_equal(x->gw.family, 0);
	x = find_route(list, n, "0.0.0.0/0");
	assert_non_null(x);
	assert_true(x->onlink);
	assert_null(find_route(list, n, "fd98::/64"));
	free(list);
	out = sh(IN_POD "ip -j route show 10.98.0.0/16", POD_ARGS);
	assert_non_null(strstr(out, "\"gateway\":\"10.99.0.1\""));
	assert_non_null(strstr(out, "\"metric\":50"));
	assert_non_null(strstr(out, "\"prefsrc\":\"10.99.0.5\""));
	free(out);

	assert_int_equal(nl_route_list(pod, AF_INET6, 0, 0, &list, &n, &err), 0);
	x = find_route(list, n, "fd98::/64");
	assert_non_null(x);
	assert_int_equal(x->priority, 300);
	assert_int_equal(x->oif, peer);
	assert_null(find_route(list, n, "10.98.0.0/16"));
	free(list);
	/* The local table holds the addresses as type local. */
	assert_int_equal(nl_route_list(pod, AF_INET, NL_TABLE_LOCAL, 0, &list, &n, &err), 0);
	x = find_route(list, n, "10.99.0.5/32");
	assert_non_null(x);
	assert_int_equal(x->type, NL_ROUTE_LOCAL);
	free(list);

	/* Replace changes the gateway in place; a route in another table stays apart. */
	route_set(&r, "10.98.0.0/16", "10.99.0.2", peer);
	r.priority = 50;
	assert_int_equal(nl_route_replace(pod, &r, &err), 0);
	route_set(&r, "10.98.0.0/16", "10.99.0.3", peer);
	r.table = 1000;
	assert_int_equal(nl_route_add(pod, &r, &err), 0);
	assert_int_equal(nl_route_list(pod, AF_INET, NL_TABLE_ANY, 0, &list, &n, &err), 0);
	assert_true(n >= 5);
	free(list);
	assert_int_equal(nl_route_list(pod, AF_INET, 1000, 0, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].table, 1000);
	free(list);
	assert_int_equal(nl_route_list(pod, AF_INET, 0, peer, &list, &n, &err), 0);
	x = find_route(list, n, "10.98.0.0/16");
	assert_non_null(x);
	assert_int_equal(x->gw.a[3], 2);
	assert_int_equal(x->mtu, 0);
	free(list);

	route_set(&r, "10.98.0.0/16", NULL, 0);
	assert_int_equal(nl_route_del(pod, &r, &err), 0);
	assert_int_equal(nl_route_del(pod, &r, &err), -ESRCH);
	assert_non_null(strstr(err.msg, "deleting route 10.98.0.0/16"));
	cni_err_clear(&err);
	route_set(&r, "10.98.0.0/16", NULL, 0);
	r.table = 1000;
	assert_int_equal(nl_route_del(pod, &r, &err), 0);
	route_set(&r, "fd98::/64", "fd99::1", peer);
	assert_int_equal(nl_route_del(pod, &r, &err), 0);
	assert_int_equal(nl_route_list(pod, AF_UNSPEC, 0, peer, &list, &n, &err), 0);
	assert_null(find_route(list, n, "fd98::/64"));
	assert_null(find_route(list, n, "10.98.0.0/16"));
	assert_non_null(find_route(list, n, "0.0.0.0/0"));
	free(list);

	/* Gateway of the wrong family. */
	route_set(&r, "10.98.0.0/16", "fd99::1", peer);
	assert_int_equal(nl_route_add(pod, &r, &err), -EINVAL);
	cni_err_clear(&err);
	assert_int_equal(nl_link_del(node, host, &err), 0);
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_wait_up(void **state)
{
	struct cni_err err = { 0 };
	struct nl_link l;
	int host, peer;
	int64_t t0;

	host = make_veth("nltv7", "nltp7", &peer);
	assert_int_equal(nl_link_set_up(node, host, true, &err), 0);
	/* The peer is down: no carrier, the wait must run out. */
	t0 = ms_now();
	assert_int_equal(nl_link_wait_up(node, host, 300, &err), -ETIMEDOUT);
	assert_true(ms_now() - t0 >= 290);
	assert_non_null(strstr(err.msg, "waiting for nltv7 to come up"));
	cni_err_clear(&err);

	assert_int_equal(nl_link_set_up(pod, peer, true, &err), 0);
	assert_int_equal(nl_link_wait_up(node, host, 5000, &err), 0);
	assert_int_equal(nl_link_get_index(node, host, &l, &err), 0);
	assert_int_equal(l.operstate, NL_OPER_UP);
	assert_int_equal(nl_link_wait_up(pod, peer, 5000, &err), 0);
	/* Already up: returns at once. */
	t0 = ms_now();
	assert_int_equal(nl_link_wait_up(node, host, 5000, &err), 0);
	assert_true(ms_now() - t0 < 1000);

	assert_int_equal(nl_link_wait_up(node, 99999, 1000, &err), -ENODEV);
	cni_err_clear(&err);
	assert_int_equal(nl_link_del(node, host, &err), 0);
}

static void sysctl_expect(const char *path, const char *want)
{
	struct cni_err err = { 0 };
	char buf[64];

	assert_int_equal(sysctl_read(path, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, want);
}

static void test_sysctl(void **state)
{
	struct cni_err err = { 0 };
	char buf[4];

	make_veth("nltv8", "nltp8", NULL);
	assert_int_equal(sysctl_write("net/ipv4/conf/nltv8/rp_filter", "2", &err), 0);
	sysctl_expect("net/ipv4/conf/nltv8/rp_filter", "2");
	assert_int_equal(sysctl_write("net/ipv4/conf/nltv8/rp_filter", "2", &err), 0);
	assert_int_equal(sysctl_write("net/ipv4/neigh/nltv8/proxy_delay", "0", &err), 0);
	sysctl_expect("net/ipv4/neigh/nltv8/proxy_delay", "0");
	assert_int_equal(sysctl_write("net/ipv4/ip_forward", "0", &err), 0);

	/* Inside the pod: its own knobs, and the node's stay as they were. */
	assert_int_equal(setns(pod_fd, CLONE_NEWNET), 0);
	assert_int_equal(sysctl_write("net/ipv4/conf/nltv8/rp_filter", "1", &err), -ENOENT);
	assert_int_equal(err.errnum, ENOENT);
	cni_err_clear(&err);
	assert_int_equal(sysctl_write("net/ipv4/ip_forward", "1", &err), 0);
	assert_int_equal(sysctl_write("net/ipv6/conf/nltp8/accept_dad", "0", &err), 0);
	assert_int_equal(sysctl_write("net/ipv4/conf/nltp8/arp_notify", "1", &err), 0);
	sysctl_expect("net/ipv4/ip_forward", "1");
	sysctl_expect("net/ipv6/conf/nltp8/accept_dad", "0");
	assert_int_equal(setns(node_fd, CLONE_NEWNET), 0);
	sysctl_expect("net/ipv4/ip_forward", "0");
	assert_sh_contains("1", IN_POD "cat /proc/sys/net/ipv4/ip_forward", POD_ARGS);
	assert_sh_contains("0", "cat /proc/sys/net/ipv4/ip_forward");
	assert_int_equal(sysctl_read("net/ipv4/conf/nltp8/arp_notify", buf, sizeof(buf), &err), -ENOENT);
	cni_err_clear(&err);

	/* Path checks. */
	assert_int_equal(sysctl_write("net/ipv4/../../kernel/hostname", "x", &err), -EINVAL);
	cni_err_clear(&err);
	assert_int_equal(sysctl_write("kernel/hostname", "x", &err), -EINVAL);
	cni_err_clear(&err);
	assert_int_equal(sysctl_write("net/ipv4/conf/..", "1", &err), -EINVAL);
	cni_err_clear(&err);
	assert_int_equal(sysctl_read("net/ipv4/ip_local_port_range", buf, sizeof(buf), &err), -EOVERFLOW);
	cni_err_clear(&err);
	assert_int_equal(sysctl_write("net/ipv4/ip_forward", "on", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "writing on to sysctl net/ipv4/ip_forward"));
	cni_err_clear(&err);
	assert_int_equal(nl_link_get(node, "nltv8", &(struct nl_link){ 0 }, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_veth),
		cmocka_unit_test(test_link_set),
		cmocka_unit_test(test_bridge),
		cmocka_unit_test(test_vlans),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_wait_up),
		cmocka_unit_test(test_sysctl),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_nl_live: needs root (run through tests/run-unit.sh)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
