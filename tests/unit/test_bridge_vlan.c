// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The bridge plugin's VLAN keys, run for real against a kernel that says yes.
 *
 * This machine's kernel lacks CONFIG_BRIDGE_VLAN_FILTERING, so the plugin's
 * VLAN requests would all fail with EOPNOTSUPP. Here the libmnl transport is
 * wrapped: every request goes to the real kernel of the throwaway node except
 * the VLAN ones, which a small fake answers as a filtering kernel would:
 *  - IFLA_BR_VLAN_FILTERING in an RTM_NEWLINK/SETLINK is recorded and stripped,
 *    the rest of the request (a bridge create, say) goes to the kernel, and
 *    from then on every link reply about that bridge carries vlan_filtering 1;
 *  - AF_BRIDGE RTM_SETLINK/DELLINK with IFLA_BRIDGE_VLAN_INFO are parsed,
 *    checked as the kernel checks them (vid 1..4094, ranges, no PVID range),
 *    recorded and acknowledged.
 * Full ADDs run the plugin's own add() (linked from its archive) with a ctx
 * as the skel builds it, the sanitized host-local as IPAM and a pod netns in
 * the runner's throwaway node; the tests assert the recorded VLAN requests and
 * the real kernel state around them (ports, the "<bridge>.<vlan>" gateway).
 *
 * Where we differ from the reference (containernetworking/plugins bridge.go):
 *  - vlanTrunk ranges: the reference expands minID..maxID into one
 *    BridgeVlanAdd per VID (11 requests for 10-20); we send one
 *    RANGE_BEGIN/RANGE_END pair. The kernel state is the same.
 *  - preserveDefaultVlan false (upstream's default since v1.8; true before):
 *    upstream dumps the port's VLANs and deletes each (only the default PVID
 *    exists then); we delete VID 1, the default_pvid a bridge has unless
 *    someone changed it, without a dump.
 *  - "vlan" with "vlanTrunk" (upstream v1.8): vlan is the trunk's native,
 *    untagged PVID; a trunk without vlan gets VLAN 1 as native. A vlan that
 *    the trunk lists too, which upstream accepts and then re-adds tagged
 *    (the port loses its PVID), we refuse with code 7.
 *  - Every invalid id: the reference returns a plain error (code 999,
 *    "everything else"); we say code 7, invalid config, with its text.
 *  - An existing bridge without vlan_filtering: the reference leaves it off
 *    (the VLANs it adds then filter nothing); we turn it on.
 *  - The reference also turns filtering on for "vlanTrunk": [] (non-nil list);
 *    we only do so when there is a VLAN to configure.
 *  - Like the reference, the "<bridge>.<vlan>" gateway interface follows
 *    [bridge, host veth, pod] in the result's interfaces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../plugins/bridge/bridge.h"

/* faults.h's transport wrappers (disarmed: pure pass-through) become the inner layer of ours. */
#define __wrap_mnl_socket_sendto vlt_inner_sendto
#define __wrap_mnl_socket_recvfrom vlt_inner_recvfrom
#include "faults.h"
#undef __wrap_mnl_socket_sendto
#undef __wrap_mnl_socket_recvfrom

#include <linux/if_bridge.h>
#include <linux/if_link.h>

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len);
ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz);

#define VLT_MAX_REQS 64
#define VLT_MAX_BRIDGES 16
#define VLT_EXTACK "vlt: refused"

enum vlt_kind { VLT_FILTERING, VLT_ADD, VLT_DEL };

/* One VLAN request as the fake kernel saw it. */
struct vlt_req {
	enum vlt_kind kind;
	int ifindex;			/* 0: a bridge create, see name */
	char name[IF_NAMESIZE];		/* IFLA_IFNAME of a create */
	uint8_t filtering;		/* VLT_FILTERING: the value asked for */
	uint16_t vid, vid_end;		/* vid == vid_end: one VLAN */
	uint16_t flags;			/* PVID | UNTAGGED, range bits removed */
	uint16_t first_flags, last_flags;	/* raw flags of the first and last VLAN_INFO */
	int n_info;			/* VLAN_INFO attributes in the request */
	bool has_br_flags;
	uint16_t br_flags;		/* IFLA_BRIDGE_FLAGS (absent: master) */
	bool refused;
};

static struct {
	struct vlt_req req[VLT_MAX_REQS];
	size_t n;
	int filtering[VLT_MAX_BRIDGES];	/* bridges the fake reports with vlan_filtering 1 */
	size_t n_filtering;
	int refuse_at;			/* 1-based port VLAN request to refuse; 0: none */
	int n_port;			/* port VLAN requests so far */
	bool overflow;			/* more requests than req[] holds */
	char bad[160];			/* first malformed request, "" if none */
	const struct mnl_socket *ack_sk;
	char ack[512];
	size_t ack_len;
} vlt;

static void vlt_reset(void)
{
	vlt.n = 0;
	vlt.overflow = false;
	vlt.refuse_at = 0;
	vlt.n_port = 0;
	vlt.bad[0] = '\0';
	vlt.ack_sk = NULL;
	vlt.ack_len = 0;
}

static bool vlt_is_filtering(int ifindex)
{
	size_t i;

	for (i = 0; i < vlt.n_filtering; i++)
		if (vlt.filtering[i] == ifindex)
			return true;
	return false;
}

static void vlt_set_filtering(int ifindex, bool on)
{
	size_t i;

	for (i = 0; i < vlt.n_filtering; i++)
		if (vlt.filtering[i] == ifindex) {
			if (!on)
				vlt.filtering[i] = vlt.filtering[--vlt.n_filtering];
			return;
		}
	if (on && vlt.n_filtering < VLT_MAX_BRIDGES)
		vlt.filtering[vlt.n_filtering++] = ifindex;
}

static struct vlt_req *vlt_record(enum vlt_kind kind, int ifindex)
{
	struct vlt_req *r;

	/* A fault pass sends many; only their validity matters there. */
	if (vlt.n == VLT_MAX_REQS) {
		vlt.overflow = true;
		vlt.n = 0;
	}
	r = &vlt.req[vlt.n++];
	*r = (struct vlt_req){ .kind = kind, .ifindex = ifindex };
	return r;
}

/* Queues the kernel's answer (an ACK when error is 0) to req for the next read on nl. */
static void vlt_queue_reply(const struct mnl_socket *nl, const struct nlmsghdr *req, int error)
{
	struct nlmsghdr *r;
	struct nlmsgerr *e;

	memset(vlt.ack, 0, sizeof(vlt.ack));
	r = mnl_nlmsg_put_header(vlt.ack);
	r->nlmsg_type = NLMSG_ERROR;
	r->nlmsg_flags = NLM_F_CAPPED;
	r->nlmsg_seq = req->nlmsg_seq;
	r->nlmsg_pid = mnl_socket_get_portid(nl);
	e = mnl_nlmsg_put_extra_header(r, sizeof(*e));
	e->error = error;
	e->msg = *req;
	if (error) {
		r->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_strz(r, NLMSGERR_ATTR_MSG, VLT_EXTACK);
	}
	vlt.ack_sk = nl;
	vlt.ack_len = r->nlmsg_len;
}

/* IFLA_LINKINFO / IFLA_INFO_DATA / IFLA_BR_VLAN_FILTERING of a link request, or NULL. */
static const struct nlattr *vlt_filtering_attr(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *b, *c;

	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(a) != IFLA_LINKINFO)
			continue;
		mnl_attr_for_each_nested(b, a) {
			if (mnl_attr_get_type(b) != IFLA_INFO_DATA)
				continue;
			mnl_attr_for_each_nested(c, b)
				if (mnl_attr_get_type(c) == IFLA_BR_VLAN_FILTERING)
					return c;
		}
	}
	return NULL;
}

static void vlt_copy_attr(struct nlmsghdr *nlh, const struct nlattr *a)
{
	mnl_attr_put(nlh, a->nla_type, mnl_attr_get_payload_len(a), mnl_attr_get_payload(a));
}

/*
 * Copies a link message into out with IFLA_BR_VLAN_FILTERING removed from its
 * IFLA_INFO_DATA, or, with add, set to 1 (an INFO_DATA is made if missing).
 */
static struct nlmsghdr *vlt_rewrite(const struct nlmsghdr *in, void *out, bool add)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(out);
	const struct nlattr *a, *b, *c;
	struct nlattr *info, *data;
	bool has_data;

	nlh->nlmsg_type = in->nlmsg_type;
	nlh->nlmsg_flags = in->nlmsg_flags;
	nlh->nlmsg_seq = in->nlmsg_seq;
	nlh->nlmsg_pid = in->nlmsg_pid;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg)), mnl_nlmsg_get_payload(in),
	       sizeof(struct ifinfomsg));
	mnl_attr_for_each(a, in, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(a) != IFLA_LINKINFO) {
			vlt_copy_attr(nlh, a);
			continue;
		}
		info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		has_data = false;
		mnl_attr_for_each_nested(b, a) {
			if (mnl_attr_get_type(b) != IFLA_INFO_DATA) {
				vlt_copy_attr(nlh, b);
				continue;
			}
			has_data = true;
			data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
			mnl_attr_for_each_nested(c, b)
				if (mnl_attr_get_type(c) != IFLA_BR_VLAN_FILTERING)
					vlt_copy_attr(nlh, c);
			if (add)
				mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, 1);
			/* An emptied IFLA_INFO_DATA is as good as none to the kernel. */
			mnl_attr_nest_end(nlh, data);
		}
		if (add && !has_data) {
			data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
			mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, 1);
			mnl_attr_nest_end(nlh, data);
		}
		mnl_attr_nest_end(nlh, info);
	}
	return nlh;
}

/* The fake's side of vlan_filtering: record, strip, let the kernel do the rest. */
static ssize_t vlt_filtering_send(const struct mnl_socket *nl, const struct nlmsghdr *req,
				  const struct nlattr *attr)
{
	static char out[16384];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(req);
	const struct nlattr *a;
	struct vlt_req *r = vlt_record(VLT_FILTERING, ifi->ifi_index);
	struct nlmsghdr *nlh;
	bool existed = false;
	ssize_t ret;

	if (req->nlmsg_len > sizeof(out) / 2) {
		snprintf(vlt.bad, sizeof(vlt.bad), "link request of %u bytes", req->nlmsg_len);
		return -1;
	}
	r->filtering = mnl_attr_get_u8(attr);
	mnl_attr_for_each(a, req, sizeof(*ifi))
		if (mnl_attr_get_type(a) == IFLA_IFNAME)
			snprintf(r->name, sizeof(r->name), "%s", mnl_attr_get_str(a));
	if (!ifi->ifi_index && r->name[0])
		existed = if_nametoindex(r->name) > 0;
	nlh = vlt_rewrite(req, out, false);
	ret = vlt_inner_sendto(nl, nlh, nlh->nlmsg_len);
	if (ret < 0)
		return ret;
	/* rtnetlink handles a request inside sendmsg(): a bridge it made exists now. */
	if (ifi->ifi_index)
		vlt_set_filtering(ifi->ifi_index, r->filtering);
	else if (r->name[0] && !existed && if_nametoindex(r->name))
		vlt_set_filtering((int)if_nametoindex(r->name), r->filtering);
	return (ssize_t)req->nlmsg_len;
}

/* The checks br_afspec() makes, then the record; returns the errno to answer. */
static int vlt_port_vlan(const struct nlmsghdr *req)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(req);
	const struct bridge_vlan_info *last = NULL;
	const struct nlattr *a, *b;
	struct vlt_req *r = vlt_record(req->nlmsg_type == RTM_SETLINK ? VLT_ADD : VLT_DEL, ifi->ifi_index);

	mnl_attr_for_each(a, req, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) != IFLA_AF_SPEC)
			continue;
		mnl_attr_for_each_nested(b, a) {
			const struct bridge_vlan_info *vi;

			if (mnl_attr_get_type(b) == IFLA_BRIDGE_FLAGS) {
				if (mnl_attr_validate(b, MNL_TYPE_U16) < 0)
					goto bad;
				r->has_br_flags = true;
				r->br_flags = mnl_attr_get_u16(b);
				continue;
			}
			if (mnl_attr_get_type(b) != IFLA_BRIDGE_VLAN_INFO)
				continue;
			if (mnl_attr_validate2(b, MNL_TYPE_BINARY, sizeof(*vi)) < 0)
				goto bad;
			vi = mnl_attr_get_payload(b);
			if (vi->vid < 1 || vi->vid > 4094)
				goto bad;
			if (r->n_info++ == 0) {
				r->first_flags = vi->flags;
				r->vid = vi->vid;
			}
			r->last_flags = vi->flags;
			r->vid_end = vi->vid;
			r->flags = vi->flags & (BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED);
			if (last && (last->flags & BRIDGE_VLAN_INFO_RANGE_BEGIN)) {
				/* br_vlan_valid_range(): an END after a BEGIN, same flags, no PVID. */
				if (!(vi->flags & BRIDGE_VLAN_INFO_RANGE_END) || vi->vid <= last->vid ||
				    ((vi->flags ^ last->flags) & ~(BRIDGE_VLAN_INFO_RANGE_BEGIN |
								   BRIDGE_VLAN_INFO_RANGE_END)) ||
				    (vi->flags & BRIDGE_VLAN_INFO_PVID))
					goto bad;
			} else if (vi->flags & BRIDGE_VLAN_INFO_RANGE_END) {
				goto bad;
			}
			last = vi;
		}
	}
	if (!r->n_info || (last->flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) ||
	    (r->has_br_flags && (r->br_flags & ~(BRIDGE_FLAGS_MASTER | BRIDGE_FLAGS_SELF))))
		goto bad;
	if (++vlt.n_port == vlt.refuse_at) {
		r->refused = true;
		return -EOPNOTSUPP;
	}
	return 0;
bad:
	if (!vlt.bad[0])
		snprintf(vlt.bad, sizeof(vlt.bad), "malformed VLAN request #%zu on ifindex %d", vlt.n,
			 ifi->ifi_index);
	return -EINVAL;
}

static bool vlt_is_port_vlan(const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if ((nlh->nlmsg_type != RTM_SETLINK && nlh->nlmsg_type != RTM_DELLINK) || ifi->ifi_family != AF_BRIDGE)
		return false;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
		if (mnl_attr_get_type(a) == IFLA_AF_SPEC)
			return true;
	return false;
}

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	const struct nlattr *attr;

	if (len < sizeof(*nlh) + sizeof(struct ifinfomsg) || nlh->nlmsg_len != len ||
	    flt_proto(nl) != NETLINK_ROUTE)
		return vlt_inner_sendto(nl, buf, len);
	if (vlt_is_port_vlan(nlh)) {
		int error = vlt_port_vlan(nlh);

		/* An armed faults.h pass counts these too, under a name of their own. */
		if (flt.fail_at && ++flt.seen <= FLT_MAX_FAULTS + 1) {
			snprintf(flt.names[flt.seen], FLT_NAME_LEN, "bridge vlan %s",
				 nlh->nlmsg_type == RTM_SETLINK ? "add" : "del");
			if (flt.trace)
				fprintf(stderr, "    #%d %s\n", flt.seen, flt.names[flt.seen]);
		}
		if (flt.fail_at && flt.seen == flt.fail_at) {
			flt.proto = NETLINK_ROUTE;
			snprintf(flt.what, sizeof(flt.what), "%s", flt.names[flt.seen]);
			flt_queue_error(nl, nlh);
			return (ssize_t)len;
		}
		vlt_queue_reply(nl, nlh, error);
		return (ssize_t)len;
	}
	if ((nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_SETLINK) &&
	    (attr = vlt_filtering_attr(nlh)))
		return vlt_filtering_send(nl, nlh, attr);
	return vlt_inner_sendto(nl, buf, len);
}

/* Is this a link reply about a bridge the fake has filtering on? */
static bool vlt_needs_filtering(const struct nlmsghdr *m)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(m);
	const struct nlattr *a, *b;

	if (m->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(m) < sizeof(*ifi) ||
	    !vlt_is_filtering(ifi->ifi_index))
		return false;
	mnl_attr_for_each(a, m, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) != IFLA_LINKINFO)
			continue;
		mnl_attr_for_each_nested(b, a)
			if (mnl_attr_get_type(b) == IFLA_INFO_KIND && !strcmp(mnl_attr_get_str(b), "bridge"))
				return true;
	}
	return false;
}

ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz)
{
	static char out[65536 + 4096];
	const struct nlmsghdr *m;
	size_t n = vlt.ack_len, used = 0;
	ssize_t got;
	int len;

	if (n && vlt.ack_sk == nl) {
		if (n > bufsiz)
			n = bufsiz;
		memcpy(buf, vlt.ack, n);
		vlt.ack_len = 0;
		vlt.ack_sk = NULL;
		return (ssize_t)n;
	}
	got = vlt_inner_recvfrom(nl, buf, bufsiz);
	if (got <= 0 || !vlt.n_filtering || flt_proto(nl) != NETLINK_ROUTE)
		return got;
	len = (int)got;
	for (m = buf; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
		/* Each rewrite adds at most 12 bytes; leave room for it. */
		if (used + m->nlmsg_len + 16 > sizeof(out))
			break;
		if (vlt_needs_filtering(m))
			used += NLMSG_ALIGN(vlt_rewrite(m, out + used, true)->nlmsg_len);
		else {
			memcpy(out + used, m, m->nlmsg_len);
			used += NLMSG_ALIGN(m->nlmsg_len);
		}
	}
	if (len != 0 || used > bufsiz) {
		snprintf(vlt.bad, sizeof(vlt.bad), "cannot add vlan_filtering to a reply of %zd bytes", got);
		return got;
	}
	memcpy(buf, out, used);
	return (ssize_t)used;
}

/* ---- assertions ---- */

static const char *const vlt_kind_name[] = { "filtering", "add", "del" };

static void vlt_dump(void)
{
	size_t i;

	for (i = 0; i < vlt.n; i++) {
		const struct vlt_req *r = &vlt.req[i];

		print_message("  #%zu %s ifindex %d%s%s vid %u-%u flags %#x/%#x info %d brflags %s%#x%s\n", i,
			      vlt_kind_name[r->kind], r->ifindex, r->name[0] ? " name " : "", r->name,
			      r->vid, r->vid_end, r->first_flags, r->last_flags, r->n_info,
			      r->has_br_flags ? "" : "(none) ", r->br_flags, r->refused ? " REFUSED" : "");
		if (r->kind == VLT_FILTERING)
			print_message("     vlan_filtering=%u\n", r->filtering);
	}
}

static void vlt_expect_count(size_t n)
{
	if (vlt.bad[0])
		fail_msg("fake kernel: %s", vlt.bad);
	if (vlt.overflow || vlt.n != n) {
		vlt_dump();
		fail_msg("%zu VLAN requests recorded, expected %zu", vlt.n, n);
	}
}

/* Request i turned vlan_filtering on: at create time of name, or on an existing ifindex. */
static void vlt_expect_filtering(size_t i, const char *create_name, int ifindex)
{
	const struct vlt_req *r = &vlt.req[i];

	if (i >= vlt.n || r->kind != VLT_FILTERING || r->filtering != 1 ||
	    (create_name && (r->ifindex || strcmp(r->name, create_name))) ||
	    (!create_name && r->ifindex != ifindex)) {
		vlt_dump();
		fail_msg("request #%zu: expected vlan_filtering 1 %s %s (ifindex %d)", i,
			 create_name ? "creating" : "on", create_name ? create_name : "bridge", ifindex);
	}
}

/*
 * Request i adds (or deletes) vid..vid_end with flags on the port ifindex, sent
 * to the master (no SELF), a range as one RANGE_BEGIN/RANGE_END pair.
 */
static void vlt_expect_vlan(size_t i, enum vlt_kind kind, int ifindex, uint16_t vid, uint16_t vid_end,
			    uint16_t flags)
{
	const struct vlt_req *r = &vlt.req[i];
	bool range = vid != vid_end, ok;

	ok = i < vlt.n && r->kind == kind && r->ifindex == ifindex && r->vid == vid && r->vid_end == vid_end &&
	     r->flags == flags && !(r->has_br_flags && (r->br_flags & BRIDGE_FLAGS_SELF)) && !r->refused;
	if (ok && range)
		ok = r->n_info == 2 && r->first_flags == (flags | BRIDGE_VLAN_INFO_RANGE_BEGIN) &&
		     r->last_flags == (flags | BRIDGE_VLAN_INFO_RANGE_END);
	else if (ok)
		ok = r->n_info == 1 && r->first_flags == flags;
	if (!ok) {
		vlt_dump();
		fail_msg("request #%zu: expected %s vid %u-%u flags %#x on ifindex %d", i, vlt_kind_name[kind],
			 vid, vid_end, flags, ifindex);
	}
}

#define PVID_UNTAGGED (BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED)

/* ---- fixtures ---- */

/* A network's config: the bridge keys given, host-local in tmpl's dataDir. */
#define VLT_CONF(name, keys, ranges) \
	"{\"cniVersion\":\"1.0.0\",\"name\":\"" name "\",\"type\":\"bridge\"," keys "," \
	"\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"@DATADIR@\",\"ranges\":" ranges "}}"

static int vlt_ifindex(const char *name)
{
	int idx = (int)if_nametoindex(name);

	if (!idx)
		fail_msg("no link %s", name);
	return idx;
}

static void vlt_host_veth(const struct flt_case *k, char hv[PODNET_VETH_NAMELEN])
{
	podnet_veth_name(k->network, k->container_id, FLT_IFNAME, hv);
}

static void vlt_link(const char *name, struct nl_link *out)
{
	struct nl_sock *sk = NULL;
	struct cni_err err = { 0 };

	assert_int_equal(nl_sock_open(-1, &sk, &err), 0);
	if (nl_link_get(sk, name, out, &err) < 0) {
		nl_sock_close(sk);
		fail_msg("%s: %s", name, err.msg);
	}
	nl_sock_close(sk);
}

/* The link name has addr (e.g. "10.78.1.1/24") on it, in the kernel. */
static void vlt_expect_addr(const char *name, const char *addr)
{
	char *out = flt_sh("ip -j addr show dev %s", name);
	cJSON *arr = cJSON_Parse(out), *l, *a;
	char have[64];
	bool found = false;

	assert_non_null(arr);
	cJSON_ArrayForEach(l, arr)
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(l, "addr_info")) {
			const cJSON *ip = cJSON_GetObjectItemCaseSensitive(a, "local");
			const cJSON *len = cJSON_GetObjectItemCaseSensitive(a, "prefixlen");

			if (!cJSON_IsString(ip) || !cJSON_IsNumber(len))
				continue;
			snprintf(have, sizeof(have), "%s/%d", ip->valuestring, len->valueint);
			found |= !strcmp(have, addr);
		}
	cJSON_Delete(arr);
	if (!found)
		fail_msg("%s lacks %s: %s", name, addr, out);
	free(out);
}

/* After DEL: the attachment is gone; the node keeps only lo, the uplink and the links in keep. */
static void vlt_expect_gone(const struct flt_case *k, const struct flt_env *e, const char *const *keep,
			    const char *when)
{
	char names[16][IF_NAMESIZE], hv[PODNET_VETH_NAMELEN];
	size_t n, i, j;

	vlt_host_veth(k, hv);
	if (if_nametoindex(hv))
		fail_msg("%s: host veth %s left", when, hv);
	n = flt_links("", names, 16);
	for (i = 0; i < n; i++) {
		bool kept = !strcmp(names[i], "lo") || !strncmp(names[i], "fltup", 5);

		for (j = 0; keep && keep[j]; j++)
			kept |= !strcmp(names[i], keep[j]);
		if (!kept)
			fail_msg("%s: node link %s left", when, names[i]);
	}
	n = flt_links(k->pod_netns, names, 16);
	for (i = 0; i < n; i++)
		if (strcmp(names[i], "lo"))
			fail_msg("%s: pod link %s left", when, names[i]);
	if (flt_leases(k, e, when))
		fail_msg("%s: leases left", when);
}

/* flt_verb() for attachment k: IPAM, a child, takes the container and netns from our environment. */
static int vlt_verb(const struct flt_case *k, struct flt_env *e, enum cni_cmd cmd, const char *conf,
		    char **result, struct cni_err *err)
{
	setenv("CNI_CONTAINERID", k->container_id, 1);
	setenv("CNI_NETNS", e->netns_path, 1);
	return flt_verb(k, e, cmd, conf, result, err);
}

static char *vlt_add_ok(const struct flt_case *k, struct flt_env *e)
{
	struct cni_err err = { 0 };
	char *result = NULL;

	if (vlt_verb(k, e, CNI_CMD_ADD, e->conf, &result, &err) != 0) {
		vlt_dump();
		fail_msg("%s: ADD failed: %s (%s)", k->network, err.msg, err.details);
	}
	if (vlt.bad[0])
		fail_msg("fake kernel: %s", vlt.bad);
	return result;
}

/* DEL twice; it must not touch VLANs (the port's go with the port). */
static void vlt_del_ok(const struct flt_case *k, struct flt_env *e, const char *result,
		       const char *const *keep)
{
	char *conf = flt_with_prev(e->conf, result);
	struct cni_err err = { 0 };
	int i;

	vlt_reset();
	for (i = 0; i < 2; i++)
		if (vlt_verb(k, e, CNI_CMD_DEL, conf, NULL, &err) != 0)
			fail_msg("%s: DEL #%d failed: %s (%s)", k->network, i + 1, err.msg, err.details);
	vlt_expect_count(0);
	vlt_expect_gone(k, e, keep, "after DEL");
	free(conf);
}

/* ---- tests ---- */

/*
 * "vlan": 100 with isGateway, dual-stack: filtering on at create, the host
 * port an untagged PVID member of 100 without VLAN 1 (upstream v1.8's
 * default), and the gateway "<bridge>.100" a veth whose bridge end is an
 * untagged PVID port of 100, without VLAN 1 either.
 */
static void vlan_access_gateway(void **state)
{
	static const struct flt_case k = {
		.plugin = &bridge_plugin,
		.conf_tmpl = VLT_CONF("vlt-acc", "\"bridge\":\"vltbr1\",\"vlan\":100,\"isGateway\":true",
				      "[[{\"subnet\":\"10.78.1.0/24\"}],[{\"subnet\":\"fd78:1::/64\"}]]"),
		.network = "vlt-acc",
		.container_id = "vlt-acc-1",
		.pod_netns = "vltpod1",
		.bridge = "vltbr1",
	};
	struct flt_case k2 = k;
	char hv[PODNET_VETH_NAMELEN], peer[PODNET_VETH_NAMELEN], *result, *result2;
	const char *const keep[] = { "vltbr1", "vltbr1.100", peer, NULL };
	struct nl_link br, gw, gp, host;
	struct flt_env e;
	char *addrs;
	cJSON *r;

	(void)state;
	podnet_veth_name("vltbr1", "vlan-gateway", "100", peer);
	flt_env_open(&k, &e);
	vlt_reset();
	result = vlt_add_ok(&k, &e);
	vlt_host_veth(&k, hv);
	vlt_link("vltbr1", &br);
	vlt_link(hv, &host);
	vlt_link("vltbr1.100", &gw);
	vlt_link(peer, &gp);
	/* The requests: filtering at create, the pod's port, the gateway's port. */
	vlt_expect_count(5);
	vlt_expect_filtering(0, "vltbr1", 0);
	vlt_expect_vlan(1, VLT_DEL, host.ifindex, 1, 1, 0);
	vlt_expect_vlan(2, VLT_ADD, host.ifindex, 100, 100, PVID_UNTAGGED);
	vlt_expect_vlan(3, VLT_DEL, gp.ifindex, 1, 1, 0);
	vlt_expect_vlan(4, VLT_ADD, gp.ifindex, 100, 100, PVID_UNTAGGED);
	/* The real kernel around them. */
	assert_true(br.vlan_filtering);		/* as the fake now reports it */
	assert_int_equal(host.master, br.ifindex);
	assert_int_equal(gp.master, br.ifindex);
	assert_string_equal(gw.kind, "veth");
	assert_int_equal(gw.master, 0);
	assert_true(gw.up);
	vlt_expect_addr("vltbr1.100", "10.78.1.1/24");
	vlt_expect_addr("vltbr1.100", "fd78:1::1/64");
	/* The gateway lives in the VLAN, not on the bridge. */
	addrs = flt_sh("ip -j addr show dev vltbr1");
	assert_null(strstr(addrs, "10.78.1.1"));
	free(addrs);
	r = cJSON_Parse(result);
	assert_non_null(r);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(r, "ips"), 0), "gateway")->valuestring, "10.78.1.1");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "interfaces")), 4);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(r, "interfaces"), 3), "name")->valuestring, "vltbr1.100");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(r, "ips"), 0), "interface")->valueint, 2);
	cJSON_Delete(r);
	vlt_del_ok(&k, &e, result, keep);

	/* A second pod finds bridge and gateway ready: only its own port's VLAN. */
	k2.container_id = "vlt-acc-2";
	vlt_reset();
	result2 = vlt_add_ok(&k2, &e);
	vlt_host_veth(&k2, hv);
	vlt_expect_count(2);
	vlt_expect_vlan(0, VLT_DEL, vlt_ifindex(hv), 1, 1, 0);
	vlt_expect_vlan(1, VLT_ADD, vlt_ifindex(hv), 100, 100, PVID_UNTAGGED);
	assert_int_equal(vlt_ifindex("vltbr1.100"), gw.ifindex);
	vlt_del_ok(&k2, &e, result2, keep);
	free(result2);
	free(result);
	flt_run_ok("ip link del vltbr1.100 && ip link del vltbr1");
	flt_env_close(&k, &e);
}

/*
 * "vlanTrunk" alone: tagged members (no PVID, no UNTAGGED), one VID and one
 * range, and VLAN 1 back as the native VLAN after the default one left
 * (upstream v1.8).
 */
static void vlan_trunk(void **state)
{
	static const struct flt_case k = {
		.plugin = &bridge_plugin,
		.conf_tmpl = VLT_CONF("vlt-trk", "\"bridge\":\"vltbr2\","
				      "\"vlanTrunk\":[{\"id\":5},{\"minID\":10,\"maxID\":20}]",
				      "[[{\"subnet\":\"10.78.2.0/24\"}]]"),
		.network = "vlt-trk",
		.container_id = "vlt-trk-1",
		.pod_netns = "vltpod2",
		.bridge = "vltbr2",
	};
	const char *const keep[] = { "vltbr2", NULL };
	char hv[PODNET_VETH_NAMELEN], *result;
	struct nl_link host, br;
	struct flt_env e;

	(void)state;
	flt_env_open(&k, &e);
	vlt_reset();
	result = vlt_add_ok(&k, &e);
	vlt_host_veth(&k, hv);
	vlt_link(hv, &host);
	vlt_link("vltbr2", &br);
	assert_int_equal(host.master, br.ifindex);
	vlt_expect_count(5);
	vlt_expect_filtering(0, "vltbr2", 0);
	vlt_expect_vlan(1, VLT_DEL, host.ifindex, 1, 1, 0);
	vlt_expect_vlan(2, VLT_ADD, host.ifindex, 5, 5, 0);
	vlt_expect_vlan(3, VLT_ADD, host.ifindex, 10, 20, 0);
	vlt_expect_vlan(4, VLT_ADD, host.ifindex, 1, 1, PVID_UNTAGGED);
	vlt_del_ok(&k, &e, result, keep);
	free(result);
	flt_run_ok("ip link del vltbr2");
	flt_env_close(&k, &e);
}

/*
 * "preserveDefaultVlan": true keeps VID 1 on each port (no delete), the
 * gateway's port too; a trunk on the same bridge with the default (false)
 * drops it and takes it back as its native VLAN.
 */
static void vlan_preserve_default(void **state)
{
	static const struct flt_case k = {
		.plugin = &bridge_plugin,
		.conf_tmpl = VLT_CONF("vlt-nod", "\"bridge\":\"vltbr3\",\"vlan\":200,\"isGateway\":true,"
				      "\"preserveDefaultVlan\":true",
				      "[[{\"subnet\":\"10.78.3.0/24\"}]]"),
		.network = "vlt-nod",
		.container_id = "vlt-nod-1",
		.pod_netns = "vltpod3",
		.bridge = "vltbr3",
	};
	static const struct flt_case kt = {
		.plugin = &bridge_plugin,
		.conf_tmpl = VLT_CONF("vlt-nodt", "\"bridge\":\"vltbr3\",\"vlanTrunk\":[{\"minID\":300,\"maxID\":301}],"
				      "\"preserveDefaultVlan\":false",
				      "[[{\"subnet\":\"10.78.4.0/24\"}]]"),
		.network = "vlt-nodt",
		.container_id = "vlt-nodt-1",
		.pod_netns = "vltpod4",
		.bridge = "vltbr3",
	};
	char hv[PODNET_VETH_NAMELEN], peer[PODNET_VETH_NAMELEN], *result;
	const char *const keep[] = { "vltbr3", "vltbr3.200", peer, NULL };
	struct nl_link host, gp;
	struct flt_env e;

	(void)state;
	podnet_veth_name("vltbr3", "vlan-gateway", "200", peer);
	flt_env_open(&k, &e);
	vlt_reset();
	result = vlt_add_ok(&k, &e);
	vlt_host_veth(&k, hv);
	vlt_link(hv, &host);
	vlt_link(peer, &gp);
	vlt_expect_count(3);
	vlt_expect_filtering(0, "vltbr3", 0);
	vlt_expect_vlan(1, VLT_ADD, host.ifindex, 200, 200, PVID_UNTAGGED);
	/* Upstream passes preserveDefaultVlan to the gateway's port too. */
	vlt_expect_vlan(2, VLT_ADD, gp.ifindex, 200, 200, PVID_UNTAGGED);
	vlt_expect_addr("vltbr3.200", "10.78.3.1/24");
	vlt_del_ok(&k, &e, result, keep);
	free(result);
	flt_env_close(&k, &e);

	/* A trunk port on the same (filtering) bridge. */
	flt_env_open(&kt, &e);
	vlt_reset();
	result = vlt_add_ok(&kt, &e);
	vlt_host_veth(&kt, hv);
	vlt_link(hv, &host);
	vlt_expect_count(3);
	vlt_expect_vlan(0, VLT_DEL, host.ifindex, 1, 1, 0);
	vlt_expect_vlan(1, VLT_ADD, host.ifindex, 300, 301, 0);
	vlt_expect_vlan(2, VLT_ADD, host.ifindex, 1, 1, PVID_UNTAGGED);
	vlt_del_ok(&kt, &e, result, keep);
	free(result);
	flt_run_ok("ip link del vltbr3.200 && ip link del vltbr3");
	flt_env_close(&kt, &e);
}

/*
 * "vlan" with "vlanTrunk" (upstream v1.8): vlan is the port's native VLAN
 * (untagged PVID), the trunk's VLANs tagged, no VLAN 1; the gateway lives in
 * the native VLAN and its port carries only that one.
 */
static void vlan_native_trunk(void **state)
{
	static const struct flt_case k = {
		.plugin = &bridge_plugin,
		.conf_tmpl = VLT_CONF("vlt-nat", "\"bridge\":\"vltbr8\",\"vlan\":100,\"isGateway\":true,"
				      "\"vlanTrunk\":[{\"id\":5},{\"minID\":10,\"maxID\":20}]",
				      "[[{\"subnet\":\"10.78.10.0/24\"}]]"),
		.network = "vlt-nat",
		.container_id = "vlt-nat-1",
		.pod_netns = "vltpod10",
		.bridge = "vltbr8",
	};
	char hv[PODNET_VETH_NAMELEN], peer[PODNET_VETH_NAMELEN], *result;
	const char *const keep[] = { "vltbr8", "vltbr8.100", peer, NULL };
	struct nl_link host, gp;
	struct flt_env e;

	(void)state;
	podnet_veth_name("vltbr8", "vlan-gateway", "100", peer);
	flt_env_open(&k, &e);
	vlt_reset();
	result = vlt_add_ok(&k, &e);
	vlt_host_veth(&k, hv);
	vlt_link(hv, &host);
	vlt_link(peer, &gp);
	vlt_expect_count(7);
	vlt_expect_filtering(0, "vltbr8", 0);
	vlt_expect_vlan(1, VLT_DEL, host.ifindex, 1, 1, 0);
	vlt_expect_vlan(2, VLT_ADD, host.ifindex, 100, 100, PVID_UNTAGGED);
	vlt_expect_vlan(3, VLT_ADD, host.ifindex, 5, 5, 0);
	vlt_expect_vlan(4, VLT_ADD, host.ifindex, 10, 20, 0);
	vlt_expect_vlan(5, VLT_DEL, gp.ifindex, 1, 1, 0);
	vlt_expect_vlan(6, VLT_ADD, gp.ifindex, 100, 100, PVID_UNTAGGED);
	vlt_expect_addr("vltbr8.100", "10.78.10.1/24");
	vlt_del_ok(&k, &e, result, keep);
	free(result);
	flt_run_ok("ip link del vltbr8.100 && ip link del vltbr8");
	flt_env_close(&k, &e);
}

/* A bridge made without VLANs gets filtering once a VLAN network uses it (the reference: never). */
static void vlan_existing_bridge(void **state)
{
	static const struct flt_case plain = {
		.plugin = &bridge_plugin,
		.conf_tmpl = VLT_CONF("vlt-pln", "\"bridge\":\"vltbr4\"", "[[{\"subnet\":\"10.78.5.0/24\"}]]"),
		.network = "vlt-pln",
		.container_id = "vlt-pln-1",
		.pod_netns = "vltpod5",
		.bridge = "vltbr4",
	};
	static const struct flt_case k = {
		.plugin = &bridge_plugin,
		.conf_tmpl = VLT_CONF("vlt-ext", "\"bridge\":\"vltbr4\",\"vlan\":7",
				      "[[{\"subnet\":\"10.78.6.0/24\"}]]"),
		.network = "vlt-ext",
		.container_id = "vlt-ext-1",
		.pod_netns = "vltpod6",
		.bridge = "vltbr4",
	};
	char hv[PODNET_VETH_NAMELEN], plain_hv[PODNET_VETH_NAMELEN], *result, *plain_result;
	const char *const keep[] = { "vltbr4", plain_hv, NULL };
	const char *const keep_br[] = { "vltbr4", NULL };
	struct flt_env pe, e;
	struct nl_link br;

	(void)state;
	vlt_host_veth(&plain, plain_hv);
	flt_env_open(&plain, &pe);
	vlt_reset();
	plain_result = vlt_add_ok(&plain, &pe);
	vlt_expect_count(0);
	vlt_link("vltbr4", &br);
	assert_false(br.vlan_filtering);

	flt_env_open(&k, &e);
	vlt_reset();
	result = vlt_add_ok(&k, &e);
	vlt_host_veth(&k, hv);
	vlt_expect_count(3);
	vlt_expect_filtering(0, NULL, br.ifindex);
	vlt_expect_vlan(1, VLT_DEL, vlt_ifindex(hv), 1, 1, 0);
	vlt_expect_vlan(2, VLT_ADD, vlt_ifindex(hv), 7, 7, PVID_UNTAGGED);
	vlt_del_ok(&k, &e, result, keep);
	vlt_del_ok(&plain, &pe, plain_result, keep_br);
	free(result);
	free(plain_result);
	flt_env_close(&k, &e);
	flt_env_close(&plain, &pe);
	flt_run_ok("ip link del vltbr4");
}

/* A port VLAN the kernel refuses fails the ADD, which takes back its veth and lease. */
static void vlan_refused_rolls_back(void **state)
{
	static const struct flt_case k = {
		.plugin = &bridge_plugin,
		.conf_tmpl = VLT_CONF("vlt-ref", "\"bridge\":\"vltbr5\",\"vlanTrunk\":[{\"id\":5},{\"id\":6}]",
				      "[[{\"subnet\":\"10.78.7.0/24\"}]]"),
		.network = "vlt-ref",
		.container_id = "vlt-ref-1",
		.pod_netns = "vltpod7",
		.bridge = "vltbr5",
	};
	const char *const keep[] = { "vltbr5", NULL };
	struct cni_err err = { 0 };
	char *result = NULL;
	struct flt_env e;

	(void)state;
	flt_env_open(&k, &e);
	vlt_reset();
	vlt.refuse_at = 3;	/* the default VLAN's delete, VLAN 5, then 6 */
	assert_int_not_equal(vlt_verb(&k, &e, CNI_CMD_ADD, e.conf, &result, &err), 0);
	assert_null(result);
	assert_int_equal(err.code, CNI_ERR_NETLINK);
	assert_int_equal(err.errnum, EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "adding vlan 6 to veth"));
	assert_string_equal(err.details, VLT_EXTACK);
	vlt_expect_count(4);
	assert_true(vlt.req[3].refused);
	vlt_expect_gone(&k, &e, keep, "after the refused ADD");
	flt_env_close(&k, &e);
	flt_run_ok("ip link del vltbr5");
}

/* Refused before any work: code 7, the reference's message, no request, nothing made. */
static void vlan_invalid(void **state)
{
	static const struct {
		const char *keys, *msg;
	} bad[] = {
		{ "\"vlan\":4095", "invalid VLAN ID 4095 (must be between 0 and 4094)" },
		{ "\"vlan\":-1", "invalid VLAN ID -1 (must be between 0 and 4094)" },
		{ "\"vlan\":7,\"vlanTrunk\":[{\"id\":7}]",
		  "vlan 7 is the native (untagged) VLAN of the trunk and cannot be in vlanTrunk too" },
		{ "\"vlan\":8,\"vlanTrunk\":[{\"id\":3},{\"minID\":7,\"maxID\":9}]",
		  "vlan 8 is the native (untagged) VLAN of the trunk and cannot be in vlanTrunk too" },
		{ "\"vlanTrunk\":[{\"minID\":20,\"maxID\":10}]", "minID is greater than maxID in trunk parameter" },
		{ "\"vlanTrunk\":[{\"id\":0}]", "incorrect trunk id parameter" },
		{ "\"vlanTrunk\":[{\"id\":4095}]", "incorrect trunk id parameter" },
		{ "\"vlanTrunk\":[{\"id\":5},{\"id\":-3}]", "incorrect trunk id parameter" },
		{ "\"vlanTrunk\":[{\"minID\":0,\"maxID\":5}]", "incorrect trunk minID parameter" },
		{ "\"vlanTrunk\":[{\"minID\":5,\"maxID\":4095}]", "incorrect trunk maxID parameter" },
		{ "\"vlanTrunk\":[{\"minID\":5}]",
		  "minID and maxID should be configured simultaneously, maxID is missing" },
		{ "\"vlanTrunk\":[{\"maxID\":5}]",
		  "minID and maxID should be configured simultaneously, minID is missing" },
	};
	static const struct flt_case k = {
		.plugin = &bridge_plugin,
		.conf_tmpl = VLT_CONF("vlt-bad", "\"bridge\":\"vltbr6\"", "[[{\"subnet\":\"10.78.8.0/24\"}]]"),
		.network = "vlt-bad",
		.container_id = "vlt-bad-1",
		.pod_netns = "vltpod8",
	};
	struct flt_env e;
	size_t i;

	(void)state;
	flt_env_open(&k, &e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char keys[256], tmpl[1024], conf[2048], *result = NULL;
		struct cni_err err = { 0 };

		snprintf(keys, sizeof(keys), "\"bridge\":\"vltbr6\",\"isGateway\":true,%s", bad[i].keys);
		flt_subst(tmpl, sizeof(tmpl), k.conf_tmpl, "\"bridge\":\"vltbr6\"", keys);
		flt_subst(conf, sizeof(conf), tmpl, "@DATADIR@", e.data_dir);
		vlt_reset();
		if (vlt_verb(&k, &e, CNI_CMD_ADD, conf, &result, &err) == 0)
			fail_msg("%s: ADD succeeded", bad[i].keys);
		/* The reference's text, then strerror. */
		if (err.code != CNI_ERR_CONFIG || strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)))
			fail_msg("%s: code %d \"%s\", expected 7 \"%s\"", bad[i].keys, err.code, err.msg, bad[i].msg);
		vlt_expect_count(0);
		vlt_expect_gone(&k, &e, NULL, bad[i].keys);
	}
	flt_env_close(&k, &e);
}

/*
 * faults.h's pass with VLANs: every request of a trunk ADD with
 * preserveDefaultVlan false, the fake's VLAN ones included, refused in turn,
 * each failed ADD rolled back. No isGateway: the "<bridge>.<vlan>" gateway is
 * node state a failed ADD keeps, like the bridge, and faults.h allows only that.
 */
static void vlan_faults(void **state)
{
	static const struct flt_case k = {
		.plugin = &bridge_plugin,
		.conf_tmpl = VLT_CONF("vlt-flt", "\"bridge\":\"vltbr7\",\"preserveDefaultVlan\":false,"
				      "\"vlanTrunk\":[{\"id\":5},{\"minID\":10,\"maxID\":20}]",
				      "[[{\"subnet\":\"10.78.9.0/24\"}]]"),
		.network = "vlt-flt",
		.container_id = "vlt-flt-1",
		.pod_netns = "vltpod9",
		.bridge = "vltbr7",
		.n_ips = 1,
	};

	(void)state;
	vlt_reset();
	flt_run(&k);
	if (vlt.bad[0])
		fail_msg("fake kernel: %s", vlt.bad);
	flt_run_ok("ip link del vltbr7");
}

/* Each test starts with a fake that knows no filtering bridge. */
static int vlt_setup(void **state)
{
	(void)state;
	memset(&vlt, 0, sizeof(vlt));
	return 0;
}

/*
 * After a failure, so that one failing test does not fail the next: the node
 * (the runner's throwaway netns) loses every link but lo and the uplink, and
 * the pod netns names go (a failed test may still hold a pod netns open).
 */
static int vlt_teardown(void **state)
{
	(void)state;
	return system("for n in $(ip netns list | awk '/^vltpod/ {print $1}'); do ip netns del $n; done; "
		      "for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | "
		      "grep -v -x -e lo -e fltup -e fltupp); do ip link del $l 2>/dev/null; done; true") == 0 ? 0 : -1;
}

static int node_setup(void **state)
{
	(void)state;
	flt_node_setup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(vlan_access_gateway, vlt_setup, vlt_teardown),
		cmocka_unit_test_setup_teardown(vlan_trunk, vlt_setup, vlt_teardown),
		cmocka_unit_test_setup_teardown(vlan_preserve_default, vlt_setup, vlt_teardown),
		cmocka_unit_test_setup_teardown(vlan_native_trunk, vlt_setup, vlt_teardown),
		cmocka_unit_test_setup_teardown(vlan_existing_bridge, vlt_setup, vlt_teardown),
		cmocka_unit_test_setup_teardown(vlan_refused_rolls_back, vlt_setup, vlt_teardown),
		cmocka_unit_test_setup_teardown(vlan_invalid, vlt_setup, vlt_teardown),
		cmocka_unit_test_setup_teardown(vlan_faults, vlt_setup, vlt_teardown),
	};

	return cmocka_run_group_tests(tests, node_setup, NULL);
}
