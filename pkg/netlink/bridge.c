// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_bridge.h>
#include <linux/rtnetlink.h>

#include "nl-internal.h"

_Static_assert(NL_VLAN_PVID == BRIDGE_VLAN_INFO_PVID, "PVID flag");
_Static_assert(NL_VLAN_UNTAGGED == BRIDGE_VLAN_INFO_UNTAGGED, "UNTAGGED flag");

#define VLAN_FLAGS (NL_VLAN_PVID | NL_VLAN_UNTAGGED)

static void vlan_put(struct nlmsghdr *nlh, uint16_t vid, uint16_t flags)
{
	struct bridge_vlan_info vi = { .flags = flags, .vid = vid };

	mnl_attr_put(nlh, IFLA_BRIDGE_VLAN_INFO, sizeof(vi), &vi);
}

static int vlan_change(struct nl_sock *sk, uint16_t type, int ifindex, uint16_t vid,
		       uint16_t vid_end, unsigned int flags, struct cni_err *err)
{
	const char *what = type == RTM_SETLINK ? "adding" : "removing";
	char buf[NL_SEND_SIZE], label[NL_LABEL_LEN];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *spec;
	int ret;

	if (!vid_end)
		vid_end = vid;
	if (vid < 1 || vid > 4094 || vid_end < vid || vid_end > 4094 ||
	    (vid_end != vid && (flags & NL_VLAN_PVID)) ||
	    (flags & ~(unsigned int)(VLAN_FLAGS | NL_VLAN_SELF)))
		return cni_err_set(err, CNI_ERR_NETLINK, -EINVAL, "%s vlan %u-%u (flags %#x): invalid",
				   what, vid, vid_end, flags);
	nlh = nl_msg_new(buf, type, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = ifindex;
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	/* Without SELF the request goes to the port's master; a bridge has none. */
	if (flags & NL_VLAN_SELF)
		mnl_attr_put_u16(nlh, IFLA_BRIDGE_FLAGS, BRIDGE_FLAGS_SELF);
	if (vid == vid_end) {
		vlan_put(nlh, vid, flags & VLAN_FLAGS);
	} else {
		vlan_put(nlh, vid, (flags & VLAN_FLAGS) | BRIDGE_VLAN_INFO_RANGE_BEGIN);
		vlan_put(nlh, vid_end, (flags & VLAN_FLAGS) | BRIDGE_VLAN_INFO_RANGE_END);
	}
	mnl_attr_nest_end(nlh, spec);
	ret = nl_talk(sk, nlh, NULL, NULL);
	if (ret < 0) {
		nl_link_label(sk, ifindex, label);
		if (vid == vid_end)
			return nl_fail(sk, err, ret, "%s vlan %u %s %s", what, vid,
				       type == RTM_SETLINK ? "to" : "from", label);
		return nl_fail(sk, err, ret, "%s vlans %u-%u %s %s", what, vid, vid_end,
			       type == RTM_SETLINK ? "to" : "from", label);
	}
	return 0;
}

int nl_bridge_vlan_add(struct nl_sock *sk, int ifindex, uint16_t vid, uint16_t vid_end,
		       unsigned int flags, struct cni_err *err)
{
	return vlan_change(sk, RTM_SETLINK, ifindex, vid, vid_end, flags, err);
}

int nl_bridge_vlan_del(struct nl_sock *sk, int ifindex, uint16_t vid, uint16_t vid_end,
		       unsigned int flags, struct cni_err *err)
{
	return vlan_change(sk, RTM_DELLINK, ifindex, vid, vid_end, flags, err);
}

struct vlan_list {
	int ifindex;
	struct nl_vlan *v;
	size_t n, cap;
	int range_start;		/* -1 outside a RANGE_BEGIN..RANGE_END pair */
};

static int vlan_push(struct vlan_list *l, uint16_t vid, uint16_t vid_end, unsigned int flags)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct nl_vlan *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct nl_vlan){ .vid = vid, .vid_end = vid_end, .flags = flags };
	return 0;
}

static int vlan_list_cb(const struct nlmsghdr *nlh, void *data)
{
	static const enum mnl_attr_data_type policy[IFLA_MAX + 1] = {
		[IFLA_AF_SPEC] = MNL_TYPE_NESTED,
	};
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1], *a;
	struct vlan_list *l = data;

	if (nlh->nlmsg_type != RTM_NEWLINK || nl_parse(nlh, sizeof(*ifi), tb, policy, IFLA_MAX) < 0)
		return MNL_CB_ERROR;
	if (ifi->ifi_index != l->ifindex || !tb[IFLA_AF_SPEC])
		return MNL_CB_OK;
	mnl_attr_for_each_nested(a, tb[IFLA_AF_SPEC]) {
		const struct bridge_vlan_info *vi;

		if (mnl_attr_get_type(a) != IFLA_BRIDGE_VLAN_INFO)
			continue;
		if (mnl_attr_validate2(a, MNL_TYPE_BINARY, sizeof(*vi)) < 0)
			return MNL_CB_ERROR;
		vi = mnl_attr_get_payload(a);
		if (vi->flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) {
			l->range_start = vi->vid;
			continue;
		}
		if ((vi->flags & BRIDGE_VLAN_INFO_RANGE_END) && (l->range_start < 0 ||
								 l->range_start > vi->vid))
			return MNL_CB_ERROR;
		if (vlan_push(l, vi->flags & BRIDGE_VLAN_INFO_RANGE_END ? (uint16_t)l->range_start : vi->vid,
			      vi->vid, vi->flags & VLAN_FLAGS) < 0)
			return MNL_CB_ERROR;
		l->range_start = -1;
	}
	return MNL_CB_OK;
}

static void vlan_list_reset(void *data)
{
	struct vlan_list *l = data;

	l->n = 0;
	l->range_start = -1;
}

int nl_bridge_vlan_list(struct nl_sock *sk, int ifindex, struct nl_vlan **out, size_t *n,
			struct cni_err *err)
{
	struct vlan_list l = { .ifindex = ifindex, .range_start = -1 };
	char buf[NL_SEND_SIZE], label[NL_LABEL_LEN];
	struct nlmsghdr *nlh = nl_msg_new(buf, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int ret;

	ifi->ifi_family = AF_BRIDGE;
	/* Compressed: a trunk of 4094 VLANs is one range, not 4094 attributes. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN_COMPRESSED);
	ret = nl_dump(sk, nlh, vlan_list_cb, vlan_list_reset, &l);
	if (ret < 0) {
		free(l.v);
		return nl_fail(sk, err, ret, "listing the vlans of %s", nl_link_label(sk, ifindex, label));
	}
	if (!l.n) {
		free(l.v);
		l.v = NULL;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}
