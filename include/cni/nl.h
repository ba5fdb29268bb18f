/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_NL_H
#define CNI_NL_H

/*
 * rtnetlink for the plugins: links, bridge ports and VLANs, addresses, routes.
 * Every fallible call returns 0 or -errno and, on failure, fills err (may be
 * NULL) with code CNI_ERR_NETLINK, "<what we did>: strerror" in msg and the
 * kernel's extended ack text in details. Names must be shorter than 16 bytes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni/err.h"
#include "cni/ip.h"

#define NL_IFNAMSIZ 16			/* IFNAMSIZ, with the NUL */
#define NL_MAC_LEN 6

/* Values equal the kernel's (RT_SCOPE_*, IFA_F_*, RTN_*, RT_TABLE_*). */
enum nl_scope {
	NL_SCOPE_UNIVERSE = 0,
	NL_SCOPE_LINK = 253,
	NL_SCOPE_HOST = 254,
};

enum nl_addr_flags {
	NL_ADDR_NODAD = 0x02,
	NL_ADDR_NOPREFIXROUTE = 0x200,
};

enum nl_route_type {
	NL_ROUTE_UNICAST = 1,		/* 0 in a request means unicast too */
	NL_ROUTE_LOCAL = 2,
};

#define NL_TABLE_MAIN 254
#define NL_TABLE_LOCAL 255
#define NL_TABLE_ANY UINT32_MAX		/* nl_route_list(): every table */

/* Operational states (IF_OPER_*). */
enum nl_oper {
	NL_OPER_UNKNOWN = 0,
	NL_OPER_DOWN = 2,
	NL_OPER_UP = 6,
};

/* A netlink route socket bound to one network namespace. */
struct nl_sock;

struct nl_link {
	int ifindex;
	char name[NL_IFNAMSIZ];
	char kind[NL_IFNAMSIZ];		/* "veth", "bridge", ...; "" if none */
	uint8_t mac[NL_MAC_LEN];	/* zero if the link has no Ethernet address */
	unsigned int mtu;
	int master;			/* ifindex of the bridge, 0 if none */
	unsigned int flags;		/* IFF_UP, IFF_PROMISC (as set by us), IFF_LOWER_UP, ... */
	uint8_t operstate;		/* enum nl_oper */
	bool up;			/* IFF_UP */
	bool promisc;			/* IFF_PROMISC set by a user, not by the bridge */
	bool allmulti;			/* IFF_ALLMULTI set by a user */
	unsigned int txqlen;		/* IFLA_TXQLEN */
	int link;			/* veth: the peer's ifindex (in link_netnsid's netns) */
	int link_netnsid;		/* -1 if the peer lives in this netns */
	bool vlan_filtering;		/* bridge only */
	bool hairpin;			/* bridge port only */
	bool isolated;			/* bridge port only */
};

/* Veth pair: `name` in the socket's netns, `peer_name` in peer_netns_fd. */
struct nl_veth {
	const char *name;
	const char *peer_name;
	int peer_netns_fd;		/* -1: the socket's netns */
	unsigned int mtu;		/* 0: kernel default, both ends */
	const uint8_t *mac;		/* NULL: random */
	const uint8_t *peer_mac;	/* NULL: random */
};

struct nl_bridge {
	const char *name;
	unsigned int mtu;		/* 0: kernel default */
	bool vlan_filtering;
	const uint8_t *mac;		/* NULL: follows its ports */
};

/* Flags of a bridge VLAN (BRIDGE_VLAN_INFO_*), plus SELF for the bridge device itself. */
enum nl_vlan_flags {
	NL_VLAN_PVID = 0x2,
	NL_VLAN_UNTAGGED = 0x4,
	NL_VLAN_SELF = 0x10000,		/* request only: the bridge's own VLANs */
};

/* One VLAN range of a port as the kernel reports it (vid == vid_end for one VLAN). */
struct nl_vlan {
	uint16_t vid;
	uint16_t vid_end;
	unsigned int flags;		/* NL_VLAN_PVID | NL_VLAN_UNTAGGED */
};

struct nl_addr {
	int ifindex;
	struct cni_prefix prefix;
	unsigned int flags;		/* enum nl_addr_flags; IFA_F_* on reading */
	uint8_t scope;			/* enum nl_scope */
};

/*
 * A route. Zero means the default for each field when adding: table main,
 * protocol boot, type unicast, scope universe, no gateway (gw.family 0), no
 * prefsrc, metric 0 (IPv6: 1024). When deleting, zero fields match anything.
 */
struct nl_route {
	struct cni_prefix dst;		/* dst.ip.family selects IPv4/IPv6; len 0 = default */
	struct cni_ip gw;
	struct cni_ip src;		/* RTA_PREFSRC */
	int oif;
	uint32_t table;
	uint8_t scope;			/* enum nl_scope */
	uint8_t protocol;		/* RTPROT_* */
	uint8_t type;			/* enum nl_route_type */
	bool onlink;
	uint32_t priority;
	uint32_t mtu;			/* RTAX_MTU, 0 = none */
	uint32_t advmss;		/* RTAX_ADVMSS, 0 = none */
};

/* Sockets */

/* Opens a route socket in the netns of netns_fd (-1: the current one); the
 * calling thread returns to its own netns before this returns. Free with nl_sock_close(). */
int nl_sock_open(int netns_fd, struct nl_sock **out, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Closes the socket; NULL is a no-op. */
void nl_sock_close(struct nl_sock *sk);

/* Links */

/* Fills *out with the link named name; -ENODEV if there is none. */
int nl_link_get(struct nl_sock *sk, const char *name, struct nl_link *out, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Fills *out with the link of ifindex; -ENODEV if there is none. */
int nl_link_get_index(struct nl_sock *sk, int ifindex, struct nl_link *out, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Creates the veth pair in one request (peer straight into its netns); -EEXIST if
 * either name is taken. *ifindex (may be NULL) gets the ifindex of v->name. */
int nl_link_add_veth(struct nl_sock *sk, const struct nl_veth *v, int *ifindex, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Creates a bridge; -EEXIST if the name is taken, -EOPNOTSUPP if vlan_filtering is
 * asked of a kernel without it. *ifindex (may be NULL) gets its ifindex. */
int nl_link_add_bridge(struct nl_sock *sk, const struct nl_bridge *b, int *ifindex, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Deletes the link (a veth takes its peer along); -ENODEV if it is gone. */
int nl_link_del(struct nl_sock *sk, int ifindex, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Sets the link administratively up or down. */
int nl_link_set_up(struct nl_sock *sk, int ifindex, bool up, struct cni_err *err)
	__attribute__((warn_unused_result));
int nl_link_set_mtu(struct nl_sock *sk, int ifindex, unsigned int mtu, struct cni_err *err)
	__attribute__((warn_unused_result));
int nl_link_set_mac(struct nl_sock *sk, int ifindex, const uint8_t mac[NL_MAC_LEN], struct cni_err *err)
	__attribute__((warn_unused_result));
/* Attaches the link to bridge master (0: detaches it, "nomaster"). */
int nl_link_set_master(struct nl_sock *sk, int ifindex, int master, struct cni_err *err)
	__attribute__((warn_unused_result));
int nl_link_set_promisc(struct nl_sock *sk, int ifindex, bool on, struct cni_err *err)
	__attribute__((warn_unused_result));
int nl_link_set_allmulti(struct nl_sock *sk, int ifindex, bool on, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Transmit queue length (ip link set ... txqueuelen). */
int nl_link_set_txqlen(struct nl_sock *sk, int ifindex, unsigned int qlen, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Waits, without sleeping, until the link is operationally up (a veth: both
 * ends up); -ETIMEDOUT after timeout_ms, -ENODEV if it vanishes. */
int nl_link_wait_up(struct nl_sock *sk, int ifindex, int timeout_ms, struct cni_err *err)
	__attribute__((warn_unused_result));

/* Bridges and their ports */

/* Turns VLAN filtering of an existing bridge on or off; -EOPNOTSUPP (even for off)
 * on kernels built without CONFIG_BRIDGE_VLAN_FILTERING, as this test machine's. */
int nl_bridge_set_vlan_filtering(struct nl_sock *sk, int ifindex, bool on, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Hairpin mode of a bridge port (read back in nl_link.hairpin). */
int nl_bridge_port_set_hairpin(struct nl_sock *sk, int ifindex, bool on, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Isolation of a bridge port (read back in nl_link.isolated). */
int nl_bridge_port_set_isolated(struct nl_sock *sk, int ifindex, bool on, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Adds VLANs vid..vid_end (vid_end 0 or == vid: one VLAN) to a port, or to the
 * bridge itself with NL_VLAN_SELF; a range cannot carry NL_VLAN_PVID (-EINVAL). */
int nl_bridge_vlan_add(struct nl_sock *sk, int ifindex, uint16_t vid, uint16_t vid_end,
		       unsigned int flags, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Removes VLANs vid..vid_end from a port (flags: NL_VLAN_SELF for the bridge). */
int nl_bridge_vlan_del(struct nl_sock *sk, int ifindex, uint16_t vid, uint16_t vid_end,
		       unsigned int flags, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Lists the VLAN ranges of a port or bridge into a malloc'ed array (free());
 * *out is NULL when there are none. */
int nl_bridge_vlan_list(struct nl_sock *sk, int ifindex, struct nl_vlan **out, size_t *n,
			struct cni_err *err)
	__attribute__((warn_unused_result));

/* Per-device IP knobs (what /proc/sys/net/ipv{4,6}/conf/<link>/ shows) */

struct nl_devconf {
	int family;			/* AF_INET: id is IPV4_DEVCONF_* (from 1); AF_INET6: DEVCONF_* */
	unsigned int id;
	int value;
	bool found;			/* nl_devconf_get(): the link reports this knob */
};

/*
 * Stores the IPv4 knobs c[0..n) (AF_INET only, else -EINVAL) of ifindex in one
 * RTM_SETLINK (IFLA_AF_SPEC / AF_INET / IFLA_INET_CONF). The kernel only
 * stores them: unlike a sysctl write, no netconf notification and no route
 * cache flush (the caller picks the knobs for which that makes no difference).
 */
int nl_devconf_set(struct nl_sock *sk, int ifindex, const struct nl_devconf *c, size_t n,
		   struct cni_err *err) __attribute__((warn_unused_result));
/*
 * Reads c[0..n) from one RTM_GETLINK (IFLA_AF_SPEC): value and found = true
 * for each knob the link reports; found = false where its family is absent
 * (IPv6 disabled) or the kernel has no such id. -ENODEV if there is no link.
 */
int nl_devconf_get(struct nl_sock *sk, int ifindex, struct nl_devconf *c, size_t n,
		   struct cni_err *err) __attribute__((warn_unused_result));
/* Reads net.ipv4.conf.all.forwarding (AF_INET) or net.ipv6.conf.all.forwarding
 * (AF_INET6) through RTM_GETNETCONF. */
int nl_devconf_forwarding(struct nl_sock *sk, int family, bool *on, struct cni_err *err)
	__attribute__((warn_unused_result));

/* Addresses */

/* Adds the address; -EEXIST if it is there already. */
int nl_addr_add(struct nl_sock *sk, const struct nl_addr *a, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Adds the address or updates its flags and scope. */
int nl_addr_replace(struct nl_sock *sk, const struct nl_addr *a, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Removes the address; -EADDRNOTAVAIL if it is not there. */
int nl_addr_del(struct nl_sock *sk, const struct nl_addr *a, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Lists the addresses of ifindex (0: all links) of family (AF_UNSPEC: both) into a
 * malloc'ed array (free()); *out is NULL when there are none. */
int nl_addr_list(struct nl_sock *sk, int ifindex, int family, struct nl_addr **out, size_t *n,
		 struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * Waits, without sleeping, until no IPv6 address of ifindex (link-local
 * included) is tentative any more. DAD failed for one: CNI_ERR_DAD,
 * -EADDRINUSE, the address named. Still tentative at the deadline:
 * CNI_ERR_DAD, -ETIMEDOUT, unless the link is not operationally up (it does
 * no DAD then; success, as upstream's SettleAddresses decides).
 */
int nl_addr_wait_dad(struct nl_sock *sk, int ifindex, int timeout_ms, struct cni_err *err)
	__attribute__((warn_unused_result));

/* Routes */

/* Adds the route; -EEXIST if it is there already. */
int nl_route_add(struct nl_sock *sk, const struct nl_route *r, struct cni_err *err)
	__attribute__((warn_unused_result));
/*
 * Adds the route beside those with the same destination, table and metric
 * (no NLM_F_EXCL, as upstream's RouteAddEcmp): IPv6 merges gateway routes
 * into one multipath route, IPv4 keeps them as alternatives, the newest
 * first. -EEXIST only when the very same route is there.
 */
int nl_route_merge(struct nl_sock *sk, const struct nl_route *r, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Adds the route or replaces the one with the same destination, table and metric. */
int nl_route_replace(struct nl_sock *sk, const struct nl_route *r, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Deletes the route; -ESRCH if it is not there. */
int nl_route_del(struct nl_sock *sk, const struct nl_route *r, struct cni_err *err)
	__attribute__((warn_unused_result));
/* Lists the routes (any type, cached clones skipped) of family (AF_UNSPEC: both) in
 * table (0: main, NL_TABLE_ANY: all) through oif (0: any) into a malloc'ed array (free()).
 * A multipath route is listed once per next hop, each with its gw and oif. */
int nl_route_list(struct nl_sock *sk, int family, uint32_t table, int oif,
		  struct nl_route **out, size_t *n, struct cni_err *err)
	__attribute__((warn_unused_result));

/* The route the kernel would take to dst (RTM_GETROUTE, no dump): oif, gateway, table. */
int nl_route_get(struct nl_sock *sk, const struct cni_ip *dst, struct nl_route *out,
		 struct cni_err *err) __attribute__((warn_unused_result));

#endif
