// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The benchmark's floor: only the kernel work of a bridge (or ptp) ADD, in as
 * few requests as the kernel allows, with no configuration to parse, no IPAM,
 * no checks beyond the kernel's acks. Linked statically (raw netlink, no
 * libmnl) so start-up costs what exec of a static program costs. Not a plugin;
 * tests/bench/runner.c drives it with arguments instead of a CNI config:
 *
 *   floor bridge NETNS BRIDGE HOSTVETH ADDR/PLEN GW   veth with its peer eth0 in
 *       NETNS, host end on BRIDGE and up, hairpin; in NETNS: ADDR, up, default via GW
 *   floor bridge-garp NETNS BRIDGE HOSTVETH ADDR/PLEN GW   the same, with arp_notify=1 on
 *       eth0 before its address, as the plugins set it: the pod announces itself
 *       with a gratuitous ARP when eth0 comes up, which the bridge floods to every port
 *   floor ptp NETNS HOSTVETH ADDR GW                   veth, host end up with GW/32 and
 *       a /32 route to ADDR; in NETNS: ADDR/32, up, GW/32 on link, default via GW
 *   floor del HOSTVETH                                 delete the host end (and so the pair)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct msg {
	struct nlmsghdr h;
	char data[1024];
};

static void die(const char *what, int err)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(err));
	exit(1);
}

static void *tail(struct msg *m)
{
	return (char *)m + NLMSG_ALIGN(m->h.nlmsg_len);
}

static void *put_hdr(struct msg *m, size_t len)
{
	void *p = tail(m);

	memset(p, 0, NLMSG_ALIGN(len));
	m->h.nlmsg_len = NLMSG_ALIGN(m->h.nlmsg_len) + len;
	return p;
}

static struct rtattr *put(struct msg *m, unsigned short type, const void *val, size_t len)
{
	struct rtattr *a = tail(m);

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), val, len);
	m->h.nlmsg_len = NLMSG_ALIGN(m->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void put_u32(struct msg *m, unsigned short type, unsigned int v)
{
	put(m, type, &v, sizeof(v));
}

static void put_str(struct msg *m, unsigned short type, const char *s)
{
	put(m, type, s, strlen(s) + 1);
}

static void end(struct msg *m, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)tail(m) - (char *)nest);
}

static void start(struct msg *m, unsigned short type, unsigned short flags)
{
	m->h.nlmsg_len = NLMSG_HDRLEN;
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m->h.nlmsg_seq++;
}

/* Send one request and wait for its ack; any error ends the program. */
static void talk(int fd, struct msg *m, const char *what)
{
	char buf[4096];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ssize_t n;

	if (send(fd, m, m->h.nlmsg_len, 0) < 0)
		die(what, errno);
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		die(what, errno);
	if (!NLMSG_OK(h, n) || h->nlmsg_type != NLMSG_ERROR)
		die(what, EBADMSG);
	if (((struct nlmsgerr *)NLMSG_DATA(h))->error)
		die(what, -((struct nlmsgerr *)NLMSG_DATA(h))->error);
}

static int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		die("netlink socket", errno);
	return fd;
}

/* SIOCGIFINDEX works on any socket, the netlink one included: no extra socket. */
static int ifindex(int fd, const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		die(name, errno);
	return ifr.ifr_ifindex;
}

static struct in_addr addr(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		die(s, EINVAL);
	return a;
}

static void link_msg(struct msg *m, unsigned short type, unsigned short flags, int family, int index,
		     unsigned int up)
{
	struct ifinfomsg *ifi;

	start(m, type, flags);
	ifi = put_hdr(m, sizeof(*ifi));
	ifi->ifi_family = (unsigned char)family;
	ifi->ifi_index = index;
	ifi->ifi_flags = up;
	ifi->ifi_change = up;
}

/* One RTM_NEWLINK: the pair, the peer already eth0 in the pod, the host end up (on its master). */
static void veth_add(int fd, struct msg *m, const char *host, int master, int podfd)
{
	struct rtattr *info, *data, *peer;

	link_msg(m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0, IFF_UP);
	put_str(m, IFLA_IFNAME, host);
	if (master)
		put_u32(m, IFLA_MASTER, (unsigned int)master);
	info = put(m, IFLA_LINKINFO, NULL, 0);
	put_str(m, IFLA_INFO_KIND, "veth");
	data = put(m, IFLA_INFO_DATA, NULL, 0);
	peer = put(m, VETH_INFO_PEER, NULL, 0);
	put_hdr(m, sizeof(struct ifinfomsg));
	put_str(m, IFLA_IFNAME, "eth0");
	put_u32(m, IFLA_NET_NS_FD, (unsigned int)podfd);
	end(m, peer);
	end(m, data);
	end(m, info);
	talk(fd, m, "creating the veth");
}

static void addr_add(int fd, struct msg *m, int index, struct in_addr a, int plen)
{
	struct ifaddrmsg *ifa;

	start(m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifa = put_hdr(m, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_index = (unsigned int)index;
	put(m, IFA_LOCAL, &a, sizeof(a));
	put(m, IFA_ADDRESS, &a, sizeof(a));
	talk(fd, m, "adding the address");
}

/* dst/plen on link when gw is NULL, else via gw. */
static void route_add(int fd, struct msg *m, int index, const struct in_addr *dst, int plen,
		      const struct in_addr *gw)
{
	struct rtmsg *rt;

	start(m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	rt = put_hdr(m, sizeof(*rt));
	rt->rtm_family = AF_INET;
	rt->rtm_dst_len = (unsigned char)plen;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rt->rtm_type = RTN_UNICAST;
	if (plen)
		put(m, RTA_DST, dst, sizeof(*dst));
	if (gw)
		put(m, RTA_GATEWAY, gw, sizeof(*gw));
	put_u32(m, RTA_OIF, (unsigned int)index);
	talk(fd, m, "adding a route");
}

static int ns_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die(path, errno);
	return fd;
}

/* From here on every new socket lives in the pod; the host socket stays where it was. */
static int pod_enter(int podfd)
{
	if (setns(podfd, CLONE_NEWNET) < 0)
		die("entering the pod netns", errno);
	return nl_open();
}

static void pod_finish(int fd, struct msg *m, struct in_addr a, int plen, struct in_addr gw, bool onlink_gw,
		       bool garp)
{
	int eth0 = ifindex(fd, "eth0");

	if (garp) {
		struct rtattr *spec, *inet, *conf;

		link_msg(m, RTM_SETLINK, 0, AF_UNSPEC, eth0, 0);
		spec = put(m, IFLA_AF_SPEC | NLA_F_NESTED, NULL, 0);
		inet = put(m, AF_INET | NLA_F_NESTED, NULL, 0);
		conf = put(m, IFLA_INET_CONF | NLA_F_NESTED, NULL, 0);
		put_u32(m, IPV4_DEVCONF_ARP_NOTIFY, 1);
		end(m, conf);
		end(m, inet);
		end(m, spec);
		talk(fd, m, "setting arp_notify");
	}
	addr_add(fd, m, eth0, a, plen);
	link_msg(m, RTM_NEWLINK, 0, AF_UNSPEC, eth0, IFF_UP);
	talk(fd, m, "setting eth0 up");
	if (onlink_gw)
		route_add(fd, m, eth0, &gw, 32, NULL);
	route_add(fd, m, eth0, &(struct in_addr){ 0 }, 0, &gw);
}

static void bridge_add(char **argv, bool garp)
{
	struct msg m = { 0 };
	int fd = nl_open(), podfd = ns_open(argv[0]), veth, plen;
	char *slash = strchr(argv[3], '/');
	struct rtattr *nest;
	unsigned char on = 1;

	if (!slash)
		die(argv[3], EINVAL);
	*slash = '\0';
	plen = atoi(slash + 1);
	veth_add(fd, &m, argv[2], ifindex(fd, argv[1]), podfd);
	veth = ifindex(fd, argv[2]);
	link_msg(&m, RTM_SETLINK, 0, AF_BRIDGE, veth, 0);
	nest = put(&m, IFLA_PROTINFO | NLA_F_NESTED, NULL, 0);
	put(&m, IFLA_BRPORT_MODE, &on, sizeof(on));
	end(&m, nest);
	talk(fd, &m, "turning hairpin on");
	pod_finish(pod_enter(podfd), &m, addr(argv[3]), plen, addr(argv[4]), false, garp);
}

static void ptp_add(char **argv)
{
	struct msg m = { 0 };
	int fd = nl_open(), podfd = ns_open(argv[0]), veth;
	struct in_addr pod = addr(argv[2]), gw = addr(argv[3]);

	veth_add(fd, &m, argv[1], 0, podfd);
	veth = ifindex(fd, argv[1]);
	addr_add(fd, &m, veth, gw, 32);
	route_add(fd, &m, veth, &pod, 32, NULL);
	pod_finish(pod_enter(podfd), &m, pod, 32, gw, true, false);
}

static void del(const char *host)
{
	struct msg m = { 0 };
	int fd = nl_open();

	link_msg(&m, RTM_DELLINK, 0, AF_UNSPEC, 0, 0);
	put_str(&m, IFLA_IFNAME, host);
	talk(fd, &m, "deleting the veth");
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "bridge"))
		bridge_add(argv + 2, false);
	else if (argc == 7 && !strcmp(argv[1], "bridge-garp"))
		bridge_add(argv + 2, true);
	else if (argc == 6 && !strcmp(argv[1], "ptp"))
		ptp_add(argv + 2);
	else if (argc == 3 && !strcmp(argv[1], "del"))
		del(argv[2]);
	else {
		fprintf(stderr, "usage: floor bridge NETNS BRIDGE HOSTVETH ADDR/PLEN GW\n"
				"       floor bridge-garp NETNS BRIDGE HOSTVETH ADDR/PLEN GW\n"
				"       floor ptp NETNS HOSTVETH ADDR GW\n"
				"       floor del HOSTVETH\n");
		return 2;
	}
	return 0;
}
