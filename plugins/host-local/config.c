// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/json.h"
#include "config.h"

void hl_conf_free(struct hl_conf *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_sets; i++)
		free(c->sets[i].r);
	free(c->sets);
	free(c->req);
	free(c->routes);
	free(c);
}

/* A requested address as the reference's ip.IP reads it: "a.b.c.d" or "a.b.c.d/len". */
static int parse_requested(const char *s, struct cni_ip *out)
{
	char buf[CNI_PREFIX_STRLEN];
	struct cni_prefix p;
	const char *slash = strchr(s, '/');

	if (!slash)
		return cni_ip_parse(s, out);
	if (cni_prefix_parse(s, &p) || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	/* cni_ip_parse turns v4-mapped into IPv4, like the reference's ToIP(). */
	return cni_ip_parse(buf, out);
}

static int add_requested(struct hl_conf *c, const struct cni_ip *ip)
{
	struct cni_ip *v = realloc(c->req, (c->n_req + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->req = v;
	c->req[c->n_req++] = *ip;
	return 0;
}

static int load_requested(struct hl_conf *c, const struct cni_json *arr, const char *what,
			  struct cni_err *err)
{
	struct cni_ip ip;
	size_t i;
	int ret;

	if (arr && !cni_json_is_array(arr))
		return cni_err_set(err, CNI_ERR_DECODE, 0, "%s must be an array", what);
	for (i = 0; i < cni_json_len(arr); i++) {
		const char *s = cni_json_string(cni_json_at(arr, i));

		if (!s)
			return cni_err_set(err, CNI_ERR_DECODE, 0, "%s[%zu] must be a string",
					   what, i);
		if (!*s)
			continue;
		if (parse_requested(s, &ip))
			return cni_err_set(err, CNI_ERR_CONFIG, 0,
					   "%s: invalid IP address %s", what, s);
		ret = add_requested(c, &ip);
		if (ret < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, ret, "%s", what);
	}
	return 0;
}

static int add_set(struct hl_conf *c, struct hl_rangeset *set)
{
	struct hl_rangeset *v = realloc(c->sets, (c->n_sets + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->sets = v;
	c->sets[c->n_sets++] = *set;
	set->r = NULL;
	set->n = 0;
	return 0;
}

/* One range from its object; messages come back bare, the caller names the set. */
static int load_range(const struct cni_json *o, struct hl_range *r, struct cni_err *err)
{
	const char *subnet = NULL, *start = NULL, *end = NULL, *gw = NULL;
	int ret;

	if (!cni_json_is_object(o))
		return cni_err_set(err, CNI_ERR_DECODE, 0, "a range must be an object");
	ret = cni_json_get_str(o, "subnet", &subnet, err);
	if (!ret)
		ret = cni_json_get_str(o, "rangeStart", &start, err);
	if (!ret)
		ret = cni_json_get_str(o, "rangeEnd", &end, err);
	if (!ret)
		ret = cni_json_get_str(o, "gateway", &gw, err);
	if (ret < 0)
		return ret;
	/* Go leaves an empty string unset. */
	return hl_range_init(r, subnet, start && *start ? start : NULL, end && *end ? end : NULL,
			     gw && *gw ? gw : NULL, err);
}

static int load_set(struct hl_conf *c, const struct cni_json *arr, struct cni_err *err)
{
	struct hl_rangeset set = { 0 };
	struct cni_err e = { 0 };
	size_t i, n = cni_json_len(arr);
	int ret = 0;

	if (!cni_json_is_array(arr))
		return cni_err_set(err, CNI_ERR_DECODE, 0,
				   "invalid range set %zu: a range set must be an array", c->n_sets);
	set.r = calloc(n ? n : 1, sizeof(*set.r));
	if (!set.r)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "range set");
	for (i = 0; i < n && !ret; i++)
		ret = load_range(cni_json_at(arr, i), &set.r[i], &e);
	set.n = n;
	if (!ret)
		ret = hl_rangeset_check(&set, &e);
	if (ret < 0) {
		cni_err_set(err, e.code, 0, "invalid range set %zu: %s", c->n_sets, e.msg);
		goto out;
	}
	ret = add_set(c, &set);
	if (ret < 0)
		cni_err_set(err, CNI_ERR_INTERNAL, ret, "range set");
out:
	free(set.r);
	return ret;
}

static int load_sets(struct hl_conf *c, const struct cni_json *arr, struct cni_err *err)
{
	size_t i;
	int ret = 0;

	if (arr && !cni_json_is_array(arr))
		return cni_err_set(err, CNI_ERR_DECODE, 0, "ranges must be an array of range sets");
	for (i = 0; i < cni_json_len(arr) && !ret; i++)
		ret = load_set(c, cni_json_at(arr, i), err);
	return ret;
}

static int load_routes(struct hl_conf *c, const struct cni_json *ipam, struct cni_err *err)
{
	static const char *const keys[5] = { "mtu", "advmss", "priority", "table", "scope" };
	const struct cni_json *arr = NULL;
	size_t i;
	int ret, k;

	ret = cni_json_get_array(ipam, "routes", &arr, err);
	if (ret < 0 || !arr)
		return ret;
	c->routes = calloc(cni_json_len(arr) + 1, sizeof(*c->routes));
	if (!c->routes)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "routes");
	for (i = 0; i < cni_json_len(arr); i++) {
		const struct cni_json *o = cni_json_at(arr, i);
		struct cni_route *rt = &c->routes[i];
		const char *dst = NULL, *gw = NULL;
		long long v[5] = { 0, 0, 0, -1, -1 };

		if (!cni_json_is_object(o))
			return cni_err_set(err, CNI_ERR_DECODE, 0, "routes[%zu] must be an object", i);
		ret = cni_json_get_str(o, "dst", &dst, err);
		if (!ret)
			ret = cni_json_get_str(o, "gw", &gw, err);
		for (k = 0; !ret && k < 5; k++)
			ret = cni_json_get_int(o, keys[k], k < 3 ? 0 : -1, 0x7fffffff, &v[k], err);
		if (ret < 0)
			return ret;
		if (!dst || cni_prefix_parse(dst, &rt->dst))
			return cni_err_set(err, CNI_ERR_CONFIG, 0, "routes[%zu]: invalid dst \"%s\"",
					   i, dst ? dst : "");
		if (gw && *gw && cni_ip_parse(gw, &rt->gw))
			return cni_err_set(err, CNI_ERR_CONFIG, 0, "routes[%zu]: invalid gw \"%s\"",
					   i, gw);
		rt->mtu = (int)v[0];
		rt->advmss = (int)v[1];
		rt->priority = (int)v[2];
		rt->table = (int)v[3];
		rt->scope = (int)v[4];
		c->n_routes++;
	}
	return 0;
}

/* The reference's order: runtimeConfig.ipRanges, then the legacy range, then ranges. */
static int load_all_sets(struct hl_conf *c, const struct cni_conf *conf, struct cni_err *err)
{
	const struct cni_json *ipam = conf->ipam, *ranges = NULL;
	const char *subnet = NULL;
	struct hl_rangeset legacy = { 0 };
	struct cni_err e = { 0 };
	size_t i, j, n4 = 0, n6 = 0;
	int ret;

	ret = load_sets(c, cni_conf_runtime(conf, "ipRanges"), err);
	if (ret < 0)
		return ret;
	ret = cni_json_get_str(ipam, "subnet", &subnet, err);
	if (ret < 0)
		return ret;
	if (subnet) {
		legacy.r = calloc(1, sizeof(*legacy.r));
		if (!legacy.r)
			return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "range");
		legacy.n = 1;
		ret = load_range(ipam, legacy.r, &e);
		if (!ret)
			ret = add_set(c, &legacy);
		free(legacy.r);
		if (ret < 0)
			return cni_err_set(err, e.code ? e.code : CNI_ERR_INTERNAL, e.code ? 0 : ret,
					   "invalid range set %zu: %s", c->n_sets, e.msg);
	}
	ret = cni_json_get_array(ipam, "ranges", &ranges, err);
	if (!ret)
		ret = load_sets(c, ranges, err);
	if (ret < 0)
		return ret;
	if (!c->n_sets)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "no IP ranges specified");

	for (i = 0; i < c->n_sets; i++) {
		if (hl_rangeset_family(&c->sets[i]) == AF_INET)
			n4++;
		else
			n6++;
	}
	if ((n4 > 1 || n6 > 1) && cni_version_cmp(conf->cni_version, "0.3.0") < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "CNI version %s does not support more than 1 address per family",
				   conf->cni_version);
	for (i = 0; i < c->n_sets; i++)
		for (j = i + 1; j < c->n_sets; j++)
			if (hl_rangeset_overlaps(&c->sets[i], &c->sets[j]))
				return cni_err_set(err, CNI_ERR_CONFIG, 0,
						   "range set %zu overlaps with %zu", i, j);
	return 0;
}

int hl_conf_load(const struct cni_conf *conf, const char *env_ip, bool ranges,
		 struct hl_conf **out, struct cni_err *err)
{
	const struct cni_json *ipam = conf->ipam;
	struct hl_conf *c;
	struct cni_ip ip;
	int ret;

	if (!ipam || !cni_json_is_object(ipam))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "IPAM config missing 'ipam' key");
	c = calloc(1, sizeof(*c));
	if (!c)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "ipam config");
	ret = cni_json_get_str(ipam, "dataDir", &c->data_dir, err);
	if (ret < 0 || !ranges)
		goto out;
	ret = cni_json_get_str(ipam, "resolvConf", &c->resolv_conf, err);
	if (!ret)
		ret = load_routes(c, ipam, err);
	if (ret < 0)
		goto out;

	if (env_ip && *env_ip) {
		if (parse_requested(env_ip, &ip)) {
			ret = cni_err_set(err, CNI_ERR_ENV, 0,
					  "CNI_ARGS: error parsing value of \"IP\": invalid IP address %s",
					  env_ip);
			goto out;
		}
		ret = add_requested(c, &ip);
		if (ret < 0) {
			cni_err_set(err, CNI_ERR_INTERNAL, ret, "CNI_ARGS IP");
			goto out;
		}
	}
	ret = load_requested(c, cni_conf_args_cni(conf, "ips"), "args.cni.ips", err);
	if (!ret)
		ret = load_requested(c, cni_conf_runtime(conf, "ips"), "runtimeConfig.ips", err);
	if (!ret)
		ret = load_all_sets(c, conf, err);
out:
	if (ret < 0) {
		hl_conf_free(c);
		return ret;
	}
	if (c->data_dir && !*c->data_dir)
		c->data_dir = NULL;
	if (c->resolv_conf && !*c->resolv_conf)
		c->resolv_conf = NULL;
	*out = c;
	return 0;
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **p = realloc(*v, (*n + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	*v = p;
	p[*n] = strdup(s);
	if (!p[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

int hl_resolv_conf_parse(const char *path, struct cni_dns *out, struct cni_err *err)
{
	struct cni_dns d = { 0 };
	char *line = NULL, *save, *f[64];
	size_t cap = 0, nf, i;
	FILE *fp;
	int ret = 0;

	fp = fopen(path, "re");
	if (!fp)
		return cni_err_set(err, CNI_ERR_IO, -errno, "reading resolvConf %s", path);
	while (!ret && getline(&line, &cap, fp) >= 0) {
		nf = 0;
		for (f[nf] = strtok_r(line, " \t\r\n\v\f", &save); f[nf] && nf < 63;
		     f[nf] = strtok_r(NULL, " \t\r\n\v\f", &save))
			nf++;
		if (nf < 2 || f[0][0] == '#' || f[0][0] == ';')
			continue;
		if (!strcmp(f[0], "nameserver")) {
			ret = strv_push(&d.nameservers, &d.n_nameservers, f[1]);
		} else if (!strcmp(f[0], "domain")) {
			free(d.domain);
			d.domain = strdup(f[1]);
			ret = d.domain ? 0 : -ENOMEM;
		} else if (!strcmp(f[0], "search")) {
			for (i = 1; i < nf && !ret; i++)
				ret = strv_push(&d.search, &d.n_search, f[i]);
		} else if (!strcmp(f[0], "options")) {
			for (i = 1; i < nf && !ret; i++)
				ret = strv_push(&d.options, &d.n_options, f[i]);
		}
	}
	if (!ret && ferror(fp))
		ret = cni_err_set(err, CNI_ERR_IO, -EIO, "reading resolvConf %s", path);
	else if (ret < 0)
		cni_err_set(err, CNI_ERR_INTERNAL, ret, "reading resolvConf %s", path);
	fclose(fp);
	free(line);
	if (ret < 0) {
		cni_dns_clear(&d);
		return ret;
	}
	cni_dns_clear(out);
	*out = d;
	return 0;
}
