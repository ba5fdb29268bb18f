// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tuning's keys, read as the reference reads them: the config's own keys,
 * then CNI_ARGS MAC, runtimeConfig.mac and args.cni (each overriding the
 * one before), with sysctl keys mapped to paths under /proc/sys/net.
 */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/args.h"
#include "cni/json.h"
#include "cni/podnet.h"
#include "cni/skel.h"
#include "tuning.h"

int tn_sysctl_path(const char *key, const char *ifname, char *out, size_t len)
{
	const char *sub = NULL, *comp;
	size_t klen, ilen = strlen(ifname), i, o = 0, clen;
	bool dotted;

	if (!key || !*key)
		return -EINVAL;
	klen = strlen(key);
	/* sysctl(8): the first separator tells the form. */
	dotted = strcspn(key, "./") < klen && key[strcspn(key, "./")] == '.';
	for (i = 0; i < klen; i++) {
		if (!sub && !strncmp(key + i, "IFNAME", 6)) {
			/* The interface name goes in verbatim: its dots are dots. */
			if (o + ilen >= len)
				return -EINVAL;
			memcpy(out + o, ifname, ilen);
			o += ilen;
			i += 5;
			sub = key + i;
			continue;
		}
		if (o + 1 >= len)
			return -EINVAL;
		if (dotted && (key[i] == '.' || key[i] == '/'))
			out[o++] = key[i] == '.' ? '/' : '.';
		else
			out[o++] = key[i];
	}
	out[o] = '\0';
	if (strncmp(out, "net/", 4))
		return -EINVAL;
	for (comp = out; *comp; comp += clen + (comp[clen] == '/')) {
		clen = strcspn(comp, "/");
		if (clen == 0 || (clen == 1 && comp[0] == '.') ||
		    (clen == 2 && comp[0] == '.' && comp[1] == '.'))
			return -EINVAL;
	}
	return out[o - 1] == '/' ? -EINVAL : 0;
}

/* Appends key = value, or replaces the value of a key seen before (override). */
static int sysctl_put(struct tn_conf *c, const char *key, const char *value, bool dup_ok,
		      struct cni_err *err)
{
	struct tn_sysctl *v;
	size_t i;

	for (i = 0; i < c->n_sysctl; i++) {
		if (strcmp(c->sysctl[i].key, key))
			continue;
		if (!dup_ok)
			return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
					   "duplicated sysctl keys are not allowed: \"%s\"", key);
		c->sysctl[i].value = value;
		return 0;
	}
	v = realloc(c->sysctl, (c->n_sysctl + 1) * sizeof(*v));
	if (!v)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "reading sysctl");
	c->sysctl = v;
	c->sysctl[c->n_sysctl++] = (struct tn_sysctl){ .key = key, .value = value };
	return 0;
}

/* A map of strings, as Go decodes map[string]string: member names are exact. */
static int sysctl_load(struct tn_conf *c, const struct cni_json *obj, const char *where,
		       bool dup_ok, struct cni_err *err)
{
	const struct cni_json *m;
	size_t i;
	int ret;

	if (!obj)
		return 0;
	if (!cni_json_is_object(obj))
		return cni_err_set(err, CNI_ERR_DECODE, -EINVAL, "%s: expected an object", where);
	for (i = 0; i < cni_json_len(obj); i++) {
		m = cni_json_at(obj, i);
		if (!cni_json_is_string(m))
			return cni_err_set(err, CNI_ERR_DECODE, -EINVAL,
					   "%s \"%s\": expected a string value", where, cni_json_key(m));
		ret = sysctl_put(c, cni_json_key(m), cni_json_string(m), dup_ok, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int mac_set(struct tn_conf *c, const char *s, struct cni_err *err)
{
	if (!s || !*s)
		return 0;
	if (podnet_mac_parse(s, c->mac) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "invalid MAC address \"%s\"", s);
	c->has_mac = true;
	return 0;
}

static int tri_get(const struct cni_json *obj, const char *key, enum tn_tri *out, struct cni_err *err)
{
	bool v;
	int ret;

	if (!cni_json_get(obj, key))
		return 0;
	ret = cni_json_get_bool(obj, key, &v, err);
	if (ret == 0)
		*out = v ? TN_ON : TN_OFF;
	return ret;
}

/* The link keys, from the config's top level or from args.cni. */
static int link_keys(struct tn_conf *c, const struct cni_json *obj, struct cni_err *err)
{
	long long mtu = -1;
	const char *mac = NULL;
	int ret;

	ret = cni_json_get_str(obj, "mac", &mac, err);
	if (!ret)
		ret = mac_set(c, mac, err);
	if (!ret)
		ret = tri_get(obj, "promisc", &c->promisc, err);
	if (!ret)
		ret = tri_get(obj, "allmulti", &c->allmulti, err);
	if (!ret)
		ret = cni_json_get_int(obj, "mtu", 0, INT_MAX, &mtu, err);
	if (!ret && mtu >= 0)
		c->mtu = (unsigned int)mtu;
	if (!ret)
		ret = cni_json_get_int(obj, "txQLen", 0, UINT32_MAX, &c->txqlen, err);
	return ret;
}

int tn_conf_load(struct cni_ctx *ctx, struct tn_conf *c)
{
	const struct cni_json *root = ctx->conf->root, *acni;
	struct cni_err *err = &ctx->err;
	const char *rt_mac = cni_json_string(cni_conf_runtime(ctx->conf, "mac"));
	size_t i;
	int ret;

	*c = (struct tn_conf){
		.data_dir = TN_DATADIR,
		.promisc = TN_UNSET,
		.allmulti = TN_UNSET,
		.txqlen = -1,
	};
	acni = cni_json_get(ctx->conf->args, "cni");
	ret = cni_json_get_str(root, "dataDir", &c->data_dir, err);
	if (!ret && (!*c->data_dir || c->data_dir[0] != '/'))
		ret = cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				  "dataDir \"%s\" must be an absolute path", c->data_dir);
	if (!ret)
		ret = sysctl_load(c, cni_json_get(root, "sysctl"), "sysctl", false, err);
	if (!ret)
		ret = link_keys(c, root, err);
	if (!ret)
		ret = mac_set(c, cni_args_get(ctx->args, "MAC"), err);
	if (!ret)
		ret = mac_set(c, rt_mac, err);
	/* args.cni wins over everything, sysctl keys included (merged, not replaced). */
	if (!ret && acni)
		ret = sysctl_load(c, cni_json_get(acni, "sysctl"), "args.cni.sysctl", true, err);
	if (!ret && acni)
		ret = link_keys(c, acni, err);
	/* STATUS and GC have no interface: their sysctl keys are not used. */
	for (i = 0; !ret && ctx->ifname && i < c->n_sysctl; i++)
		if (tn_sysctl_path(c->sysctl[i].key, ctx->ifname,
				   c->sysctl[i].path, sizeof(c->sysctl[i].path)) < 0)
			ret = cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
					  "invalid net sysctl key \"%s\": not a path under net/",
					  c->sysctl[i].key);
	if (ret < 0)
		tn_conf_release(c);
	return ret;
}

void tn_conf_release(struct tn_conf *c)
{
	free(c->sysctl);
	c->sysctl = NULL;
	c->n_sysctl = 0;
}

bool tn_conf_touches_link(const struct tn_conf *c)
{
	return c->has_mac || c->promisc != TN_UNSET || c->mtu || c->txqlen >= 0 ||
	       c->allmulti != TN_UNSET;
}

int tn_allowlist_check(const struct tn_conf *c, const char *file, struct cni_err *err)
{
	char line[1024], *s, *e;
	regex_t *re = NULL;
	size_t n = 0, i, j;
	bool ok;
	FILE *f;
	int ret = 0;

	f = fopen(file, "re");
	if (!f)
		return errno == ENOENT ? 0 :
		       cni_err_set(err, CNI_ERR_IO, -errno, "reading the sysctl allowlist %s", file);
	while (!ret && fgets(line, sizeof(line), f)) {
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		for (e = s + strlen(s); e > s && strchr(" \t\r\n", e[-1]); e--)
			;
		*e = '\0';
		if (!*s)
			continue;
		regex_t *v = realloc(re, (n + 1) * sizeof(*re));

		if (!v) {
			ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "reading the sysctl allowlist");
			break;
		}
		re = v;
		if (regcomp(&re[n], s, REG_EXTENDED | REG_NOSUB))
			ret = cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
					  "sysctl allowlist %s: invalid expression \"%s\"", file, s);
		else
			n++;
	}
	if (!ret && ferror(f))
		ret = cni_err_set(err, CNI_ERR_IO, -EIO, "reading the sysctl allowlist %s", file);
	for (i = 0; !ret && i < c->n_sysctl; i++) {
		for (ok = false, j = 0; !ok && j < n; j++)
			ok = regexec(&re[j], c->sysctl[i].key, 0, NULL, 0) == 0;
		if (!ok)
			ret = cni_err_set(err, CNI_ERR_CONFIG, -EPERM,
					  "sysctl %s is not allowed by %s", c->sysctl[i].key, file);
	}
	for (i = 0; i < n; i++)
		regfree(&re[i]);
	free(re);
	fclose(f);
	return ret;
}
