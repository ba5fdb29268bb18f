// SPDX-License-Identifier: GPL-2.0-or-later
/* The bridge plugin's configuration: the reference's keys and its checks. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cni/json.h"
#include "cni/podnet.h"
#include "bridge.h"

void br_conf_release(struct br_conf *c)
{
	free(c->trunk);
	c->trunk = NULL;
	c->n_trunk = 0;
}

static int trunk_load(const struct cni_json *arr, struct br_conf *c, struct cni_err *err)
{
	size_t n = cni_json_len(arr), i;

	if (!n)
		return 0;
	c->trunk = calloc(n, sizeof(*c->trunk));
	if (!c->trunk)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "reading vlanTrunk");
	for (i = 0; i < n; i++) {
		const struct cni_json *o = cni_json_at(arr, i);
		long long id = LLONG_MIN, min = LLONG_MIN, max = LLONG_MIN;
		int ret;

		if (!cni_json_is_object(o))
			return cni_err_set(err, CNI_ERR_DECODE, -EINVAL, "vlanTrunk[%zu] is not an object", i);
		ret = cni_json_get_int(o, "id", -1000000, 1000000, &id, err);
		if (!ret)
			ret = cni_json_get_int(o, "minID", -1000000, 1000000, &min, err);
		if (!ret)
			ret = cni_json_get_int(o, "maxID", -1000000, 1000000, &max, err);
		if (ret < 0)
			return ret;
		/* The reference's messages, so users find the same answers. */
		if (min != LLONG_MIN || max != LLONG_MIN) {
			if (min == LLONG_MIN || max == LLONG_MIN)
				return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
						   "minID and maxID should be configured simultaneously, %s is missing",
						   min == LLONG_MIN ? "minID" : "maxID");
			if (min < 1 || min > 4094)
				return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "incorrect trunk minID parameter");
			if (max < 1 || max > 4094)
				return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "incorrect trunk maxID parameter");
			if (max < min)
				return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
						   "minID is greater than maxID in trunk parameter");
			c->trunk[c->n_trunk].min = (uint16_t)min;
			c->trunk[c->n_trunk++].max = (uint16_t)max;
		}
		if (id != LLONG_MIN) {
			if (id < 1 || id > 4094)
				return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "incorrect trunk id parameter");
			/* An entry with both id and a range adds both, as the reference does. */
			if (min != LLONG_MIN || max != LLONG_MIN) {
				struct br_trunk *t = realloc(c->trunk, (n + c->n_trunk + 1) * sizeof(*t));

				if (!t)
					return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "reading vlanTrunk");
				c->trunk = t;
			}
			c->trunk[c->n_trunk].min = (uint16_t)id;
			c->trunk[c->n_trunk++].max = (uint16_t)id;
		}
	}
	return 0;
}

/* MAC: CNI_ARGS MAC, overridden by args.cni.mac, overridden by runtimeConfig.mac. */
static int mac_load(struct cni_ctx *ctx, struct br_conf *c)
{
	const char *src[3] = {
		cni_args_get(ctx->args, "MAC"),
		cni_json_string(cni_conf_args_cni(ctx->conf, "mac")),
		cni_json_string(cni_conf_runtime(ctx->conf, "mac")),
	};
	int i;

	for (i = 2; i >= 0; i--) {
		if (!src[i])
			continue;
		if (podnet_mac_parse(src[i], c->mac) < 0)
			return cni_err_set(&ctx->err, CNI_ERR_CONFIG, -EINVAL, "invalid MAC address \"%s\"", src[i]);
		c->has_mac = true;
		return 0;
	}
	return 0;
}

int br_conf_load(struct cni_ctx *ctx, struct br_conf *c)
{
	const struct cni_json *root = ctx->conf->root, *trunk = NULL;
	struct cni_err *err = &ctx->err;
	long long mtu = 0, vlan = 0, rp = -1;
	size_t i;
	int ret;

	*c = (struct br_conf){
		.bridge = "cni0",
		.rp_filter = -1,
		.l3 = ctx->conf->ipam_type != NULL,
	};
	ret = cni_json_get_str(root, "bridge", &c->bridge, err);
	if (!ret)
		ret = cni_json_get_bool(root, "isGateway", &c->is_gw, err);
	if (!ret)
		ret = cni_json_get_bool(root, "isDefaultGateway", &c->is_default_gw, err);
	if (!ret)
		ret = cni_json_get_bool(root, "forceAddress", &c->force_address, err);
	if (!ret)
		ret = cni_json_get_bool(root, "ipMasq", &c->ip_masq, err);
	if (!ret)
		ret = cni_json_get_str(root, "ipMasqBackend", &c->ip_masq_backend, err);
	if (!ret)
		ret = cni_json_get_int(root, "mtu", 0, 65535, &mtu, err);
	if (!ret)
		ret = cni_json_get_bool(root, "hairpinMode", &c->hairpin, err);
	if (!ret)
		ret = cni_json_get_bool(root, "promiscMode", &c->promisc, err);
	if (!ret)
		ret = cni_json_get_int(root, "vlan", -1000000, 1000000, &vlan, err);
	if (!ret)
		ret = cni_json_get_array(root, "vlanTrunk", &trunk, err);
	if (!ret)
		ret = cni_json_get_bool(root, "preserveDefaultVlan", &c->preserve_default_vlan, err);
	if (!ret)
		ret = cni_json_get_bool(root, "macspoofchk", &c->macspoofchk, err);
	if (!ret)
		ret = cni_json_get_bool(root, "enabledad", &c->enable_dad, err);
	if (!ret)
		ret = cni_json_get_bool(root, "disableContainerInterface", &c->disable_container_iface, err);
	if (!ret)
		ret = cni_json_get_bool(root, "portIsolation", &c->port_isolation, err);
	if (!ret)
		ret = cni_json_get_bool(root, "proxyArp", &c->proxy_arp, err);
	if (!ret)
		ret = cni_json_get_int(root, "rpFilter", 0, 2, &rp, err);
	if (ret < 0)
		return ret;
	c->mtu = (unsigned int)mtu;
	c->rp_filter = (int)rp;
	if (!*c->bridge || strlen(c->bridge) >= NL_IFNAMSIZ || strchr(c->bridge, '/') ||
	    strchr(c->bridge, ' ') || strchr(c->bridge, ':'))
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "invalid bridge name \"%s\"", c->bridge);
	if (vlan < 0 || vlan > 4094)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "invalid VLAN ID %lld (must be between 0 and 4094)",
				   vlan);
	c->vlan = (uint16_t)vlan;
	if (c->ip_masq_backend && strcmp(c->ip_masq_backend, "nftables") && strcmp(c->ip_masq_backend, "iptables"))
		return cni_err_set(err, CNI_ERR_UNSUPPORTED_FIELD, 0,
				   "unsupported field ipMasqBackend=\"%s\": must be \"nftables\" or \"iptables\"",
				   c->ip_masq_backend);
	if (c->is_default_gw)
		c->is_gw = true;
	if (c->hairpin && c->promisc)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				   "cannot set hairpin mode and promiscuous mode at the same time");
	ret = trunk_load(trunk, c, err);
	if (ret < 0)
		goto fail;
	/* With vlanTrunk, vlan is the trunk's native VLAN: untagged, so not among the tagged ones. */
	for (i = 0; c->vlan && i < c->n_trunk; i++)
		if (c->trunk[i].min <= c->vlan && c->vlan <= c->trunk[i].max) {
			ret = cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
					  "vlan %u is the native (untagged) VLAN of the trunk and cannot be in vlanTrunk too",
					  c->vlan);
			goto fail;
		}
	ret = mac_load(ctx, c);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	br_conf_release(c);
	return ret;
}
