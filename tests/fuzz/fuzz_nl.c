// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: rtnetlink replies, through the real request/dump engine
 * (nl_talk, nl_dump and their ACK, error, extack, DONE and DUMP_INTR
 * handling) into each parser: a link, the address, route and bridge VLAN
 * dumps, a route lookup, the per-device knobs and RTM_GETNETCONF. Input:
 * [operation][flags] then the kernel's datagrams (see fake_kernel.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include "cni/nl.h"
#include "fake_kernel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nl_sock *sk;

static void use_link(const struct nl_link *l)
{
	/* The names we print and compare must be terminated within the struct. */
	if (memchr(l->name, 0, sizeof(l->name)) == NULL || memchr(l->kind, 0, sizeof(l->kind)) == NULL)
		abort();
}

static void run(uint8_t op, struct cni_err *err)
{
	static const uint8_t mac[NL_MAC_LEN] = { 2, 0, 0, 0, 0, 1 };
	struct nl_devconf dc[] = {
		{ .family = AF_INET, .id = IPV4_DEVCONF_FORWARDING },
		{ .family = AF_INET, .id = IPV4_DEVCONF_RP_FILTER },
		{ .family = AF_INET6, .id = DEVCONF_ACCEPT_DAD },
		{ .family = AF_INET6, .id = DEVCONF_DISABLE_IPV6 },
	};
	struct nl_veth veth = { .name = "veth0", .peer_name = "eth0", .peer_netns_fd = -1,
				.mac = mac };
	struct cni_ip dst = { .family = AF_INET, .a = { 10, 0, 0, 1 } };
	struct nl_addr *addrs = NULL;
	struct nl_route *routes = NULL, route;
	struct nl_vlan *vlans = NULL;
	struct nl_link link;
	size_t n = 0;
	bool on;
	int ifindex;

	switch (op % 12) {
	case 0:
		if (nl_link_get(sk, "eth0", &link, err) == 0)
			use_link(&link);
		break;
	case 1:
		if (nl_link_get_index(sk, 7, &link, err) == 0)
			use_link(&link);
		break;
	case 2:
		if (nl_addr_list(sk, 0, AF_UNSPEC, &addrs, &n, err) == 0)
			free(addrs);
		break;
	case 3:
		if (nl_addr_list(sk, 7, AF_INET6, &addrs, &n, err) == 0)
			free(addrs);
		break;
	case 4:
		if (nl_route_list(sk, AF_UNSPEC, NL_TABLE_ANY, 0, &routes, &n, err) == 0)
			free(routes);
		break;
	case 5:
		if (nl_route_list(sk, AF_INET6, 0, 7, &routes, &n, err) == 0)
			free(routes);
		break;
	case 6:
		(void)nl_route_get(sk, &dst, &route, err);
		break;
	case 7:
		if (nl_bridge_vlan_list(sk, 7, &vlans, &n, err) == 0)
			free(vlans);
		break;
	case 8:
		(void)nl_devconf_get(sk, 7, dc, sizeof(dc) / sizeof(dc[0]), err);
		break;
	case 9:
		(void)nl_devconf_forwarding(sk, op & 0x80 ? AF_INET6 : AF_INET, &on, err);
		break;
	case 10:
		/* An ACK or an error with its extack text; then the new link's index. */
		(void)nl_link_add_veth(sk, &veth, &ifindex, err);
		break;
	case 11:
		(void)nl_link_set_up(sk, 7, true, err);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err err = { 0 };

	if (size < 2)
		return 0;
	if (!sk && nl_sock_open(-1, &sk, &err) < 0) {
		fprintf(stderr, "fuzz_nl: %s\n", err.msg);
		abort();
	}
	fk_start(data + 2, size - 2, data[1] & 1);
	run(data[0], &err);
	return 0;
}
