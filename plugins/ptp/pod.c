// SPDX-License-Identifier: GPL-2.0-or-later
/* The pod's routes in either layout; addresses and link state are podnet's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ptp.h"

/* The kernel's route for an address's prefix; the layout replaces it by a gateway. */
static struct nl_route connected(const struct ptp_addr *a, int oif)
{
	struct nl_route r = { .dst = a->subnet, .oif = oif };

	return r;
}

static bool has_connected(const struct ptp_addr *a)
{
	return a->pod.len < cni_ip_bits(&a->pod.ip);
}

int ptp_pod_routes(struct nl_sock *pod, const struct ptp_plan *p, int ifindex, struct cni_err *err)
{
	struct cni_err scratch = { 0 };
	struct nl_route *v = NULL;
	size_t i, n = 0;
	int ret;

	for (i = 0; i < p->n_addrs; i++) {
		struct nl_route r = connected(&p->addrs[i], ifindex);

		if (!has_connected(&p->addrs[i]))
			continue;
		ret = nl_route_del(pod, &r, &scratch);
		/* Gone already (two addresses of one prefix share it). */
		if (ret < 0 && ret != -ESRCH)
			return ptp_err_take(err, &scratch, ret);
		cni_err_clear(&scratch);
	}
	ret = ptp_plan_pod_routes(p, ifindex, &v, &n);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ret, "planning pod routes");
	for (i = 0; i < n; i++) {
		/* IPAM's routes may share a destination (ECMP), as upstream adds them. */
		ret = nl_route_merge(pod, &v[i], &scratch);
		/* Duplicates are fine: IPAM may list the pod network, two addresses one gateway. */
		if (ret == -EEXIST) {
			cni_err_clear(&scratch);
			ret = 0;
			continue;
		}
		if (ret < 0) {
			ptp_err_take(err, &scratch, ret);
			break;
		}
	}
	free(v);
	return ret < 0 ? ret : 0;
}

static bool same_dst(const struct nl_route *a, const struct nl_route *b)
{
	return a->dst.len == b->dst.len && cni_ip_equal(&a->dst.ip, &b->dst.ip);
}

int ptp_pod_check_routes(struct nl_sock *pod, const struct ptp_plan *p, int ifindex, struct cni_err *err)
{
	struct nl_route *have = NULL, *want = NULL;
	char s[CNI_PREFIX_STRLEN], g[CNI_IP_STRLEN];
	size_t i, j, nh = 0, nw = 0;
	int ret;

	ret = nl_route_list(pod, AF_UNSPEC, NL_TABLE_ANY, ifindex, &have, &nh, err);
	if (ret < 0)
		return ret;
	ret = ptp_plan_pod_routes(p, ifindex, &want, &nw);
	if (ret < 0) {
		ret = cni_err_set(err, CNI_ERR_INTERNAL, ret, "planning pod routes");
		goto out;
	}
	for (i = 0; i < nw; i++) {
		struct nl_route *w = &want[i];
		uint32_t table = w->table ? w->table : NL_TABLE_MAIN;
		bool found = false;

		for (j = 0; !found && j < nh; j++)
			found = same_dst(&have[j], w) && have[j].table == table &&
				(w->gw.family ? cni_ip_equal(&have[j].gw, &w->gw) : !have[j].gw.family);
		if (!found) {
			w->dst = cni_prefix_network(&w->dst);
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "pod has no route %s%s%s",
					  cni_prefix_format(&w->dst, s), w->gw.family ? " via " : "",
					  w->gw.family ? cni_ip_format(&w->gw, g) : "");
			goto out;
		}
	}
	/* A connected pod network would reach other pods without the node. */
	for (i = 0; i < p->n_addrs; i++) {
		struct nl_route c = connected(&p->addrs[i], ifindex);

		for (j = 0; j < nh; j++)
			if (has_connected(&p->addrs[i]) && same_dst(&have[j], &c) && !have[j].gw.family &&
			    have[j].table == NL_TABLE_MAIN && have[j].type == NL_ROUTE_UNICAST) {
				ret = cni_err_set(err, CNI_ERR_CHECK, -EEXIST,
						  "pod has a connected route %s that bypasses its gateway",
						  cni_prefix_format(&c.dst, s));
				goto out;
			}
	}
	ret = 0;
out:
	free(have);
	free(want);
	return ret;
}
