// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <string.h>

#include "cni/json.h"
#include "ptp.h"

/* A veth refuses MTUs below the IPv4 minimum; above 65535 it has no room. */
#define MTU_MIN 68
#define MTU_MAX 65535

int ptp_conf_parse(const struct cni_conf *conf, struct ptp_conf *out, struct cni_err *err)
{
	struct ptp_conf c = { .rp_filter = PTP_RP_UNSET };
	const struct cni_json *root = conf->root;
	const char *backend = NULL;
	long long mtu = 0, rp = PTP_RP_UNSET;
	int ret;

	ret = cni_json_get_bool(root, "ipMasq", &c.ipmasq, err);
	if (!ret)
		ret = cni_json_get_bool(root, "proxyArp", &c.proxy_arp, err);
	if (!ret)
		ret = cni_json_get_str(root, "ipMasqBackend", &backend, err);
	if (!ret)
		ret = cni_json_get_int(root, "mtu", 0, MTU_MAX, &mtu, err);
	if (!ret)
		ret = cni_json_get_int(root, "rpFilter", 0, 2, &rp, err);
	if (ret < 0)
		return ret;
	/*
	 * Both backends of the reference are accepted; ours is always nftables,
	 * and DEL/GC also remove what the reference's iptables backend made.
	 */
	if (backend && strcmp(backend, "nftables") && strcmp(backend, "iptables"))
		return cni_err_set(err, CNI_ERR_UNSUPPORTED_FIELD, 0,
				   "unsupported field ipMasqBackend=\"%s\": must be \"nftables\" or \"iptables\"",
				   backend);
	if (mtu && mtu < MTU_MIN)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "mtu %lld: must be 0 or %d..%d", mtu,
				   MTU_MIN, MTU_MAX);
	c.mtu = (unsigned int)mtu;
	/* Calico's default for its routed veths: a pod cannot spoof another's source. */
	if (rp == PTP_RP_UNSET && c.proxy_arp)
		rp = 1;
	c.rp_filter = (int)rp;
	*out = c;
	return 0;
}
