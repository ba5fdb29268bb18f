// SPDX-License-Identifier: GPL-2.0-or-later
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cni/conf.h"
#include "cni/json.h"

bool cni_valid_name(const char *s)
{
	if (!s || !isalnum((unsigned char)*s))
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

bool cni_valid_ifname(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

void cni_conf_free(struct cni_conf *conf)
{
	if (!conf)
		return;
	cni_result_free(conf->prev_result);
	cni_dns_clear(&conf->dns);
	free(conf->valid);
	cni_json_free((struct cni_json *)conf->root);
	free((char *)conf->raw);
	free(conf);
}

static int parse_attachments(struct cni_conf *c, struct cni_err *err)
{
	static const char *const keys[] = { "cni.dev/valid-attachments", "cni.dev/attachments" };
	const struct cni_json *arr = NULL;
	size_t i, n;
	int k, ret;

	for (k = 0; k < 2 && !arr; k++) {
		ret = cni_json_get_array(c->root, keys[k], &arr, err);
		if (ret < 0)
			return ret;
	}
	if (!arr)
		return 0;
	c->has_valid = true;
	n = cni_json_len(arr);
	c->valid = calloc(n ? n : 1, sizeof(*c->valid));
	if (!c->valid)
		return cni_err_set(err, CNI_ERR_IO, -ENOMEM, "reading attachments");
	for (i = 0; i < n; i++) {
		const struct cni_json *a = cni_json_at(arr, i);
		struct cni_attachment *v = &c->valid[c->n_valid];

		if (!cni_json_is_object(a))
			return cni_err_set(err, CNI_ERR_DECODE, 0,
					   "%s: each attachment must be an object", keys[k - 1]);
		ret = cni_json_get_str(a, "containerID", &v->container_id, err);
		if (!ret)
			ret = cni_json_get_str(a, "ifname", &v->ifname, err);
		if (ret < 0)
			return ret;
		if (!v->container_id || !v->ifname)
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "%s: attachment %zu lacks containerID or ifname", keys[k - 1], i);
		c->n_valid++;
	}
	return 0;
}

static int parse(struct cni_conf *c, struct cni_err *err)
{
	const struct cni_json *prev = NULL, *dns = NULL;
	const char *ipam_type = NULL;
	int ret;

	if (!cni_json_is_object(c->root))
		return cni_err_set(err, CNI_ERR_DECODE, 0, "network config must be a JSON object");
	c->cni_version = "";
	ret = cni_json_get_str(c->root, "cniVersion", &c->cni_version, err);
	if (ret < 0)
		return ret;
	if (!*c->cni_version)
		c->cni_version = "0.1.0";
	if (!cni_version_known(c->cni_version))
		return cni_err_set(err, CNI_ERR_VERSION, 0,
				   "incompatible CNI versions: config is \"%s\", plugin supports "
				   "[0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0]", c->cni_version);
	ret = cni_json_get_str(c->root, "name", &c->name, err);
	if (!ret)
		ret = cni_json_get_str(c->root, "type", &c->type, err);
	if (!ret)
		ret = cni_json_get_object(c->root, "ipam", &c->ipam, err);
	if (!ret)
		ret = cni_json_get_str(c->ipam, "type", &ipam_type, err);
	if (!ret)
		ret = cni_json_get_object(c->root, "runtimeConfig", &c->runtime_config, err);
	if (!ret)
		ret = cni_json_get_object(c->root, "args", &c->args, err);
	if (!ret)
		ret = cni_json_get_object(c->root, "dns", &dns, err);
	if (!ret)
		ret = cni_dns_parse(dns, &c->dns, err);
	if (!ret)
		ret = cni_json_get_object(c->root, "prevResult", &prev, err);
	if (ret < 0)
		return ret;
	if (!c->name || !*c->name)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "missing network name");
	if (!cni_valid_name(c->name))
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "invalid network name \"%s\": must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$",
				   c->name);
	c->ipam_type = ipam_type && *ipam_type ? ipam_type : NULL;
	if (prev) {
		ret = cni_result_from_json(prev, c->cni_version, &c->prev_result, err);
		if (ret < 0)
			return ret;
	}
	return parse_attachments(c, err);
}

int cni_conf_parse(const char *raw, size_t len, struct cni_conf **out, struct cni_err *err)
{
	struct cni_conf *c = calloc(1, sizeof(*c));
	struct cni_json *root = NULL;
	char *copy = NULL;
	int ret = -ENOMEM;

	if (!c || !(copy = malloc(len + 1))) {
		cni_err_set(err, CNI_ERR_IO, ret, "reading network config");
		goto fail;
	}
	memcpy(copy, raw, len);
	copy[len] = '\0';
	c->raw = copy;
	c->raw_len = len;
	ret = cni_json_parse(copy, len, &root, err);
	if (ret < 0)
		goto fail;
	c->root = root;
	ret = parse(c, err);
	if (ret < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	if (c)
		cni_conf_free(c);
	else
		free(copy);
	return ret;
}

const struct cni_json *cni_conf_args_cni(const struct cni_conf *conf, const char *key)
{
	return cni_json_get(cni_json_get(conf->args, "cni"), key);
}

const struct cni_json *cni_conf_runtime(const struct cni_conf *conf, const char *key)
{
	return cni_json_get(conf->runtime_config, key);
}

bool cni_conf_is_valid_attachment(const struct cni_conf *conf, const char *container_id,
				  const char *ifname)
{
	size_t i;

	for (i = 0; i < conf->n_valid; i++)
		if (!strcmp(conf->valid[i].container_id, container_id) &&
		    !strcmp(conf->valid[i].ifname, ifname))
			return true;
	return false;
}
