/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_PODNET_H
#define CNI_PODNET_H

/*
 * Pod-side wiring shared by the veth plugins (bridge, ptp): the host veth
 * name, the veth pair, the pod interface's addresses, routes and knobs, its
 * removal and its CHECK. Host-side policy (bridge ports, host routes,
 * masquerade) stays with each plugin. Fallible calls return 0 or -errno and
 * fill err (may be NULL; first error wins).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni/err.h"
#include "cni/nl.h"
#include "cni/result.h"

/* "veth" + 8 hex digits + NUL. */
#define PODNET_VETH_NAMELEN 13
#define PODNET_MAC_STRLEN 18

/*
 * The host veth name of an attachment: "veth" + the first 8 hex digits of
 * sha512(network ":" container_id ":" ifname). Cannot fail.
 */
void podnet_veth_name(const char *network, const char *container_id, const char *ifname,
		      char out[PODNET_VETH_NAMELEN]);

/* "aa:bb:cc:dd:ee:ff" into out (PODNET_MAC_STRLEN bytes); returns out. */
char *podnet_mac_format(const uint8_t mac[NL_MAC_LEN], char *out);
/* Parses "aa:bb:cc:dd:ee:ff" (either case); -EINVAL if bad. */
int podnet_mac_parse(const char *s, uint8_t out[NL_MAC_LEN]) __attribute__((warn_unused_result));

struct podnet_veth_req {
	const char *host_name;		/* usually podnet_veth_name() */
	const char *pod_ifname;		/* CNI_IFNAME */
	int pod_netns_fd;		/* the pod netns (pod's socket must be bound there) */
	unsigned int mtu;		/* 0: kernel default */
	const uint8_t *pod_mac;		/* NULL: random */
	const uint8_t *host_mac;	/* NULL: random */
	const char *container_id;	/* CNI_CONTAINERID, for messages */
};

struct podnet_veth {
	char host_name[NL_IFNAMSIZ];
	int host_ifindex;
	uint8_t host_mac[NL_MAC_LEN];
	char pod_name[NL_IFNAMSIZ];
	int pod_ifindex;
	uint8_t pod_mac[NL_MAC_LEN];
};

/*
 * Creates the veth pair in one request, the pod end straight in the pod netns
 * under req->pod_ifname. A veth already named req->host_name whose peer is in
 * the node's netns is a leftover and is deleted first (with its peer). The
 * host end gets accept_ra=0 (the node owns its routes).
 * Fails with CNI_ERR_EXISTS (-EEXIST) when the pod already has pod_ifname,
 * when host_name is a veth whose peer lives in another netns (the same
 * attachment is live there), or when host_name is taken by a link that is not
 * a veth.
 * host and pod are sockets in the node and pod netns.
 */
int podnet_veth_create(struct nl_sock *host, struct nl_sock *pod, const struct podnet_veth_req *req,
		       struct podnet_veth *out, struct cni_err *err)
	__attribute__((warn_unused_result));

/* How long an enabledad ADD waits for IPv6 DAD: upstream's dadSettleTimeout. */
#define PODNET_DAD_TIMEOUT_MS 5000

struct podnet_conf {
	int ifindex;			/* the pod interface (in pod's netns) */
	const char *ifname;		/* its name, for sysctls and messages */
	int netns_fd;			/* the pod netns, for sysctls */
	int iface;			/* configure r->ips[] whose iface == this index */
	bool enable_dad;		/* false: accept_dad=0 and IFA_F_NODAD; true: DAD, awaited */
	bool link_down;			/* true: leave the interface down (disableContainerInterface) */
};

/*
 * Configures the pod interface from r, like upstream's ipam.ConfigureIface:
 * when r has IPv6, IPv6 enabled (disable_ipv6=0 on lo and ifname) and
 * keep_addr_on_down=1; accept_dad=0 (enable_dad: enhanced_dad=1,
 * accept_dad=1) and arp_notify=1 before any address; the addresses; link up;
 * with enable_dad, the wait for IPv6 DAD (CNI_ERR_DAD when it fails); then
 * each route via its own gw or else via the first gateway of its family,
 * added beside routes of the same destination (ECMP) and skipped when the
 * same route exists already.
 */
int podnet_pod_configure(struct nl_sock *pod, const struct podnet_conf *c, const struct cni_result *r,
			 struct cni_err *err) __attribute__((warn_unused_result));

/*
 * Finds the host end of the pod's veth ifname: by the peer ifindex seen from
 * the pod (pod may be NULL when the netns is gone), else by host_name (may be
 * NULL). -ENODEV when neither is there.
 */
int podnet_host_peer(struct nl_sock *host, struct nl_sock *pod, const char *ifname,
		     const char *host_name, struct nl_link *out, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * Removes the attachment's veth: the pod interface ifname (pod may be NULL
 * when the netns is gone) and, if it survived, the host veth host_name (may be
 * NULL). Absent links are success: DEL is idempotent.
 */
int podnet_veth_remove(struct nl_sock *host, struct nl_sock *pod, const char *ifname,
		       const char *host_name, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * CHECK of the pod interface: it exists, is up (unless link_down), has the MAC
 * of r->ifaces[c->iface] when that has one, every address of r for that
 * interface, and every route of r through it. Differences fail with
 * CNI_ERR_CHECK (-ENOENT).
 */
int podnet_pod_check(struct nl_sock *pod, const struct podnet_conf *c, const struct cni_result *r,
		     struct cni_err *err) __attribute__((warn_unused_result));

#endif
