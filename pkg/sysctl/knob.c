// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every path lookup under /proc/sys/net walks dentry hash chains as long as
 * the number of network namespaces on the machine (each netns has its own
 * "net", "ipv4", "conf" dentries under shared parents): on a node with
 * hundreds of pods it was the costliest thing an ADD did. So knobs go through
 * rtnetlink where the kernel offers it: IPv4 knobs are stored with one
 * RTM_SETLINK, and one RTM_GETLINK reads the IPv4 and IPv6 knobs of the link,
 * so CHECK reads no file and a file is opened (once) only to change a knob
 * netlink cannot set, through the plugin's own procfs (sysctl.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include "cni/knob.h"
#include "cni/netns.h"
#include "cni/nl.h"
#include "cni/sysctl.h"

#define KNOB_PATH_MAX 128
#define KNOB_BATCH_MAX 16

/*
 * The IPv4 knobs by their sysctl names. set: the sysctl handler only stores
 * the value (and tells netconf listeners of rp_filter and proxy_arp), so
 * storing it through rtnetlink is the same; SET_ON: it flushes the route
 * cache when the knob is turned off, so only turning it on goes that way.
 * The others (forwarding, disable_xfrm, ...) do more and keep their file.
 */
enum { NL_NO, NL_SET, NL_SET_ON };

static const struct {
	const char *name;
	unsigned int id;
	int set;
} v4_knobs[] = {
	{ "accept_local", IPV4_DEVCONF_ACCEPT_LOCAL, NL_SET_ON },
	{ "accept_redirects", IPV4_DEVCONF_ACCEPT_REDIRECTS, NL_SET },
	{ "accept_source_route", IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE, NL_SET },
	{ "arp_accept", IPV4_DEVCONF_ARP_ACCEPT, NL_SET },
	{ "arp_announce", IPV4_DEVCONF_ARP_ANNOUNCE, NL_SET },
	{ "arp_filter", IPV4_DEVCONF_ARPFILTER, NL_SET },
	{ "arp_ignore", IPV4_DEVCONF_ARP_IGNORE, NL_SET },
	{ "arp_notify", IPV4_DEVCONF_ARP_NOTIFY, NL_SET },
	{ "bc_forwarding", IPV4_DEVCONF_BC_FORWARDING, NL_NO },
	{ "bootp_relay", IPV4_DEVCONF_BOOTP_RELAY, NL_SET },
	{ "disable_policy", IPV4_DEVCONF_NOPOLICY, NL_NO },
	{ "disable_xfrm", IPV4_DEVCONF_NOXFRM, NL_NO },
	{ "drop_gratuitous_arp", IPV4_DEVCONF_DROP_GRATUITOUS_ARP, NL_SET },
	{ "drop_unicast_in_l2_multicast", IPV4_DEVCONF_DROP_UNICAST_IN_L2_MULTICAST, NL_SET },
	{ "force_igmp_version", IPV4_DEVCONF_FORCE_IGMP_VERSION, NL_NO },
	{ "forwarding", IPV4_DEVCONF_FORWARDING, NL_NO },
	{ "ignore_routes_with_linkdown", IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN, NL_NO },
	{ "log_martians", IPV4_DEVCONF_LOG_MARTIANS, NL_SET },
	{ "mc_forwarding", IPV4_DEVCONF_MC_FORWARDING, NL_NO },
	{ "medium_id", IPV4_DEVCONF_MEDIUM_ID, NL_SET },
	{ "promote_secondaries", IPV4_DEVCONF_PROMOTE_SECONDARIES, NL_NO },
	{ "proxy_arp", IPV4_DEVCONF_PROXY_ARP, NL_SET },
	{ "proxy_arp_pvlan", IPV4_DEVCONF_PROXY_ARP_PVLAN, NL_SET },
	{ "route_localnet", IPV4_DEVCONF_ROUTE_LOCALNET, NL_SET_ON },
	{ "rp_filter", IPV4_DEVCONF_RP_FILTER, NL_SET },
	{ "secure_redirects", IPV4_DEVCONF_SECURE_REDIRECTS, NL_SET },
	{ "send_redirects", IPV4_DEVCONF_SEND_REDIRECTS, NL_SET },
	{ "shared_media", IPV4_DEVCONF_SHARED_MEDIA, NL_SET },
	{ "src_valid_mark", IPV4_DEVCONF_SRC_VMARK, NL_NO },
	{ "tag", IPV4_DEVCONF_TAG, NL_SET },
};

/* The IPv6 knobs RTM_GETLINK reports as the file shows them (read only: rtnetlink cannot set them). */
static const struct {
	const char *name;
	unsigned int id;
} v6_knobs[] = {
	{ "accept_dad", DEVCONF_ACCEPT_DAD },
	{ "accept_ra", DEVCONF_ACCEPT_RA },
	{ "addr_gen_mode", DEVCONF_ADDR_GEN_MODE },
	{ "autoconf", DEVCONF_AUTOCONF },
	{ "disable_ipv6", DEVCONF_DISABLE_IPV6 },
	{ "enhanced_dad", DEVCONF_ENHANCED_DAD },
	{ "forwarding", DEVCONF_FORWARDING },
	{ "keep_addr_on_down", DEVCONF_KEEP_ADDR_ON_DOWN },
	{ "proxy_ndp", DEVCONF_PROXY_NDP },
};

/* How one knob is reached. */
struct knob_way {
	struct nl_devconf dc;		/* dc.family 0: not reported by rtnetlink */
	bool nl_set;			/* stored through RTM_SETLINK */
	char path[KNOB_PATH_MAX];	/* its file, for writes and messages */
};

/* Hands a scratch error (with its details) to err unless err already holds one. */
static int err_take(struct cni_err *err, const struct cni_err *from, int ret)
{
	if (err && !cni_err_is_set(err))
		*err = *from;
	return ret;
}

/* "ipv4/conf/rp_filter" + "eth0": its file and, where rtnetlink reports it, its id. */
static int knob_way(const struct knob *k, const char *ifname, struct knob_way *w,
		    struct cni_err *err)
{
	const char *name = k->name, *file = name ? strrchr(name, '/') : NULL;
	size_t i;
	int n;

	if (!file || file == name || !file[1] || !ifname || !*ifname || strchr(ifname, '/') ||
	    !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "knob %s of %s: bad name",
				   name ? name : "(null)", ifname ? ifname : "(null)");
	n = snprintf(w->path, KNOB_PATH_MAX, "net/%.*s/%s%s", (int)(file - name), name, ifname, file);
	if (n < 0 || n >= KNOB_PATH_MAX)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENAMETOOLONG, "knob %s of %s", name, ifname);
	memset(&w->dc, 0, sizeof(w->dc));
	w->nl_set = false;
	file++;
	if (!strncmp(name, "ipv4/conf/", 10) && file == name + 10) {
		for (i = 0; i < sizeof(v4_knobs) / sizeof(v4_knobs[0]); i++) {
			if (strcmp(v4_knobs[i].name, file))
				continue;
			w->dc = (struct nl_devconf){ .family = AF_INET, .id = v4_knobs[i].id };
			w->nl_set = v4_knobs[i].set == NL_SET ||
				    (v4_knobs[i].set == NL_SET_ON && k->value != 0);
		}
	} else if (!strncmp(name, "ipv6/conf/", 10) && file == name + 10) {
		for (i = 0; i < sizeof(v6_knobs) / sizeof(v6_knobs[0]); i++)
			if (!strcmp(v6_knobs[i].name, file))
				w->dc = (struct nl_devconf){ .family = AF_INET6, .id = v6_knobs[i].id };
	}
	return 0;
}

struct knob_files {
	const struct knob *k;
	struct knob_way *w;
	size_t n;
	bool check;
	struct cni_err *err;
};

/* The knobs rtnetlink cannot reach, through /proc/sys in the calling thread's netns. */
static int knob_files_run(void *arg)
{
	const struct knob_files *f = arg;
	struct cni_err scratch;
	char want[16], have[32];
	size_t i;
	int ret;

	for (i = 0; i < f->n; i++) {
		if (!f->w[i].path[0])
			continue;
		cni_err_clear(&scratch);
		snprintf(want, sizeof(want), "%d", f->k[i].value);
		if (f->check)
			ret = sysctl_read(f->w[i].path, have, sizeof(have), &scratch);
		else
			ret = sysctl_write(f->w[i].path, want, &scratch);
		if (ret == -ENOENT && (f->k[i].flags & KNOB_MISSING_OK))
			continue;
		if (ret < 0)
			return err_take(f->err, &scratch, ret);
		if (f->check && strcmp(have, want))
			return cni_err_set(f->err, CNI_ERR_CHECK, -EINVAL, "sysctl %s is %s, want %s",
					   f->w[i].path, have, want);
	}
	return 0;
}

static int knob_do(const struct knob_link *l, const struct knob *k, size_t n, bool check,
		   struct cni_err *err)
{
	struct nl_devconf dc[KNOB_BATCH_MAX], set[KNOB_BATCH_MAX];
	struct knob_way w[KNOB_BATCH_MAX];
	struct knob_files f = { .k = k, .w = w, .n = n, .check = check, .err = err };
	size_t i, ndc = 0, nset = 0, nfiles = 0;
	int ret;

	if (n > KNOB_BATCH_MAX)
		return cni_err_set(err, CNI_ERR_INTERNAL, -E2BIG, "%zu knobs in one call", n);
	for (i = 0; i < n; i++) {
		ret = knob_way(&k[i], l->ifname, &w[i], err);
		if (ret < 0)
			return ret;
		if (w[i].dc.family)
			dc[ndc++] = w[i].dc;
	}
	if (ndc) {
		ret = nl_devconf_get(l->sk, l->ifindex, dc, ndc, err);
		if (ret < 0)
			return ret;
	}
	/* What rtnetlink reported is settled here; the rest is left to the files. */
	for (i = 0, ndc = 0; i < n; i++) {
		const struct nl_devconf *d;

		if (!w[i].dc.family)
			continue;
		d = &dc[ndc++];
		if (!d->found && d->family == AF_INET6 && (k[i].flags & KNOB_MISSING_OK)) {
			w[i].path[0] = '\0';
			continue;
		}
		if (!d->found)
			continue;
		if (d->value == k[i].value) {
			w[i].path[0] = '\0';
			continue;
		}
		if (check)
			return cni_err_set(err, CNI_ERR_CHECK, -EINVAL, "sysctl %s is %d, want %d",
					   w[i].path, d->value, k[i].value);
		if (w[i].nl_set) {
			set[nset] = *d;
			set[nset++].value = k[i].value;
			w[i].path[0] = '\0';
		}
	}
	for (i = 0; i < n; i++)
		nfiles += w[i].path[0] != '\0';
	/* Files first, in the caller's order: disable_ipv6 may have to come before the others. */
	if (nfiles) {
		if (l->netns_fd >= 0)
			ret = cni_netns_run(l->netns_fd, knob_files_run, &f, err);
		else
			ret = knob_files_run(&f);
		if (ret < 0)
			return ret;
	}
	if (nset)
		return nl_devconf_set(l->sk, l->ifindex, set, nset, err);
	return 0;
}

int knob_set(const struct knob_link *l, const struct knob *k, size_t n, struct cni_err *err)
{
	return knob_do(l, k, n, false, err);
}

int knob_check(const struct knob_link *l, const struct knob *k, size_t n, struct cni_err *err)
{
	return knob_do(l, k, n, true, err);
}

static const char *const forwarding_path[2] = {
	"net/ipv4/ip_forward",
	"net/ipv6/conf/all/forwarding",
};

/*
 * RTM_GETNETCONF tells whether the node forwards without a path lookup; the
 * file is written only when it does not (netlink has no way to switch it on
 * for every link at once). A kernel without netconf falls back to the file.
 */
static int forwarding(struct nl_sock *sk, bool v4, bool v6, bool check, struct cni_err *err)
{
	static const int family[2] = { AF_INET, AF_INET6 };
	bool want[2] = { v4, v6 };
	struct cni_err scratch;
	char have[16];
	bool on;
	int i, ret;

	for (i = 0; i < 2; i++) {
		if (!want[i])
			continue;
		cni_err_clear(&scratch);
		ret = nl_devconf_forwarding(sk, family[i], &on, &scratch);
		if (ret == 0 && on)
			continue;
		if (ret == 0 && check)
			return cni_err_set(err, CNI_ERR_CHECK, -EINVAL, "sysctl %s is 0, want 1",
					   forwarding_path[i]);
		if (!check) {
			ret = sysctl_write(forwarding_path[i], "1", err);
			if (ret < 0)
				return ret;
			continue;
		}
		ret = sysctl_read(forwarding_path[i], have, sizeof(have), err);
		if (ret < 0)
			return ret;
		if (strcmp(have, "1"))
			return cni_err_set(err, CNI_ERR_CHECK, -EINVAL, "sysctl %s is %s, want 1",
					   forwarding_path[i], have);
	}
	return 0;
}

int knob_forwarding_set(struct nl_sock *sk, bool v4, bool v6, struct cni_err *err)
{
	return forwarding(sk, v4, v6, false, err);
}

int knob_forwarding_check(struct nl_sock *sk, bool v4, bool v6, struct cni_err *err)
{
	return forwarding(sk, v4, v6, true, err);
}
