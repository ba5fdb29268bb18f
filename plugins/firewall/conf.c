// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <string.h>

#include "cni/json.h"
#include "cni/nl.h"
#include "cni/skel.h"
#include "firewall.h"

/* What iptables accepts as a user chain name (xt_entry_target's 29 bytes). */
static bool chain_name_ok(const char *s)
{
	static const char *const builtin[] = { "ACCEPT", "DROP", "RETURN", "QUEUE", "CONTINUE",
					       "INPUT", "OUTPUT", "FORWARD", "PREROUTING",
					       "POSTROUTING", NULL };
	size_t i, n = strlen(s);

	if (n == 0 || n > 28 || s[0] == '-' || s[0] == '!')
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '"' || s[i] == '\'' || (unsigned char)s[i] >= 0x7f)
			return false;
	for (i = 0; builtin[i]; i++)
		if (!strcmp(s, builtin[i]))
			return false;
	return true;
}

int fw_conf_load(struct cni_ctx *ctx, struct fw_conf *c)
{
	const struct cni_json *root = ctx->conf->root;
	const struct cni_result *prev = ctx->conf->prev_result;
	struct cni_err *err = &ctx->err;
	const char *backend = NULL, *policy = NULL;
	int ret;

	*c = (struct fw_conf){ .admin_chain = "CNI-ADMIN" };
	ret = cni_json_get_str(root, "backend", &backend, err);
	if (!ret)
		ret = cni_json_get_str(root, "iptablesAdminChainName", &c->admin_chain, err);
	if (!ret)
		ret = cni_json_get_str(root, "ingressPolicy", &policy, err);
	if (ret < 0)
		return ret;
	if (backend && !strcmp(backend, "firewalld"))
		return cni_err_set(err, CNI_ERR_UNSUPPORTED_FIELD, 0,
				   "unsupported field backend=\"firewalld\": cnip programs nftables itself "
				   "(use \"iptables\", \"nftables\" or leave it out)");
	if (backend && *backend && strcmp(backend, "iptables") && strcmp(backend, "nftables"))
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				   "invalid backend \"%s\": must be \"iptables\" or \"nftables\"", backend);
	if (!chain_name_ok(c->admin_chain))
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				   "invalid iptablesAdminChainName \"%s\": 1 to 28 printable characters, "
				   "no spaces, not a built-in chain or target", c->admin_chain);
	if (!policy || !*policy || !strcmp(policy, "open"))
		c->policy = FW_OPEN;
	else if (!strcmp(policy, "same-bridge"))
		c->policy = FW_SAME_BRIDGE;
	else if (!strcmp(policy, "isolated"))
		c->policy = FW_ISOLATED;
	else
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "unknown ingress policy: \"%s\"", policy);
	if (c->policy == FW_OPEN || ctx->cmd == CNI_CMD_DEL || ctx->cmd == CNI_CMD_GC ||
	    ctx->cmd == CNI_CMD_STATUS)
		return 0;
	if (!prev || !prev->n_ifaces || !prev->ifaces[0].name || !*prev->ifaces[0].name ||
	    strlen(prev->ifaces[0].name) >= NL_IFNAMSIZ)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				   "interface needs to be set for ingress policy \"%s\", make sure to chain "
				   "\"firewall\" plugin with \"bridge\"", policy);
	c->bridge = prev->ifaces[0].name;
	return 0;
}
