// SPDX-License-Identifier: GPL-2.0-or-later
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cni/json.h"
#include "cni/result.h"

const char *const cni_versions[] = {
	"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", NULL,
};

static int version_index(const char *v)
{
	int i;

	for (i = 0; v && cni_versions[i]; i++)
		if (!strcmp(v, cni_versions[i]))
			return i;
	return -1;
}

bool cni_version_known(const char *version)
{
	return version_index(version) >= 0;
}

int cni_version_cmp(const char *a, const char *b)
{
	return version_index(a) - version_index(b);
}

struct cni_result *cni_result_new(void)
{
	return calloc(1, sizeof(struct cni_result));
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cni_dns_clear(struct cni_dns *dns)
{
	strv_free(dns->nameservers, dns->n_nameservers);
	strv_free(dns->search, dns->n_search);
	strv_free(dns->options, dns->n_options);
	free(dns->domain);
	memset(dns, 0, sizeof(*dns));
}

bool cni_dns_is_empty(const struct cni_dns *dns)
{
	return !dns->n_nameservers && !dns->domain && !dns->n_search && !dns->n_options;
}

static void iface_clear(struct cni_iface *i)
{
	free(i->name);
	free(i->mac);
	free(i->sandbox);
	free(i->socket_path);
	free(i->pci_id);
}

void cni_result_free(struct cni_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n_ifaces; i++)
		iface_clear(&r->ifaces[i]);
	free(r->ifaces);
	free(r->ips);
	free(r->routes);
	cni_dns_clear(&r->dns);
	free(r);
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int strv_copy(char ***dst, size_t *ndst, char *const *src, size_t n)
{
	char **v;
	size_t i;

	*dst = NULL;
	*ndst = 0;
	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (dup_str(&v[i], src[i]) < 0) {
			strv_free(v, i);
			return -ENOMEM;
		}
	}
	*dst = v;
	*ndst = n;
	return 0;
}

int cni_dns_copy(struct cni_dns *dst, const struct cni_dns *src)
{
	struct cni_dns d = { 0 };

	if (strv_copy(&d.nameservers, &d.n_nameservers, src->nameservers, src->n_nameservers) < 0 ||
	    strv_copy(&d.search, &d.n_search, src->search, src->n_search) < 0 ||
	    strv_copy(&d.options, &d.n_options, src->options, src->n_options) < 0 ||
	    dup_str(&d.domain, src->domain) < 0) {
		cni_dns_clear(&d);
		return -ENOMEM;
	}
	cni_dns_clear(dst);
	*dst = d;
	return 0;
}

/* Grows *arr by one zeroed element; returns its index or -ENOMEM. */
static int grow(void **arr, size_t *n, size_t size)
{
	void *p = realloc(*arr, (*n + 1) * size);

	if (!p)
		return -ENOMEM;
	memset((char *)p + *n * size, 0, size);
	*arr = p;
	return (int)(*n)++;
}

int cni_result_add_iface(struct cni_result *r, const char *name, const char *mac, const char *sandbox)
{
	struct cni_iface i = { 0 };
	int idx;

	if (dup_str(&i.name, name ? name : "") < 0 || dup_str(&i.mac, mac) < 0 ||
	    dup_str(&i.sandbox, sandbox && *sandbox ? sandbox : NULL) < 0)
		goto fail;
	idx = grow((void **)&r->ifaces, &r->n_ifaces, sizeof(i));
	if (idx < 0)
		goto fail;
	r->ifaces[idx] = i;
	return idx;
fail:
	iface_clear(&i);
	return -ENOMEM;
}

int cni_result_add_ip(struct cni_result *r, const struct cni_prefix *addr, const struct cni_ip *gw,
		      int iface)
{
	int idx = grow((void **)&r->ips, &r->n_ips, sizeof(*r->ips));

	if (idx < 0)
		return idx;
	r->ips[idx].addr = *addr;
	if (gw)
		r->ips[idx].gw = *gw;
	r->ips[idx].iface = iface;
	return idx;
}

int cni_result_add_route(struct cni_result *r, const struct cni_prefix *dst, const struct cni_ip *gw)
{
	int idx = grow((void **)&r->routes, &r->n_routes, sizeof(*r->routes));

	if (idx < 0)
		return idx;
	r->routes[idx].dst = *dst;
	if (gw)
		r->routes[idx].gw = *gw;
	r->routes[idx].table = -1;
	r->routes[idx].scope = -1;
	return idx;
}

struct cni_result *cni_result_dup(const struct cni_result *r)
{
	struct cni_result *d = cni_result_new();
	size_t i;

	if (!d)
		return NULL;
	for (i = 0; i < r->n_ifaces; i++) {
		const struct cni_iface *s = &r->ifaces[i];
		int idx = cni_result_add_iface(d, s->name, s->mac, s->sandbox);

		if (idx < 0 || dup_str(&d->ifaces[idx].socket_path, s->socket_path) < 0 ||
		    dup_str(&d->ifaces[idx].pci_id, s->pci_id) < 0)
			goto fail;
		d->ifaces[idx].mtu = s->mtu;
	}
	if (r->n_ips) {
		d->ips = malloc(r->n_ips * sizeof(*r->ips));
		if (!d->ips)
			goto fail;
		memcpy(d->ips, r->ips, r->n_ips * sizeof(*r->ips));
		d->n_ips = r->n_ips;
	}
	if (r->n_routes) {
		d->routes = malloc(r->n_routes * sizeof(*r->routes));
		if (!d->routes)
			goto fail;
		memcpy(d->routes, r->routes, r->n_routes * sizeof(*r->routes));
		d->n_routes = r->n_routes;
	}
	if (cni_dns_copy(&d->dns, &r->dns) < 0)
		goto fail;
	return d;
fail:
	cni_result_free(d);
	return NULL;
}

/* ---- parsing ---- */

static int parse_strv(const struct cni_json *obj, const char *key, char ***out, size_t *n,
		      struct cni_err *err)
{
	const struct cni_json *arr = NULL;
	char **v = NULL;
	size_t i, len;
	int ret;

	ret = cni_json_get_array(obj, key, &arr, err);
	if (ret < 0 || !arr)
		return ret;
	len = cni_json_len(arr);
	if (!len)
		return 0;
	v = calloc(len, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		const char *s = cni_json_string(cni_json_at(arr, i));

		if (!s) {
			strv_free(v, i);
			return cni_err_set(err, CNI_ERR_DECODE, 0,
					   "cannot decode \"%s\": expected an array of strings", key);
		}
		if (dup_str(&v[i], s) < 0) {
			strv_free(v, i);
			return -ENOMEM;
		}
	}
	strv_free(*out, *n);
	*out = v;
	*n = len;
	return 0;
}

int cni_dns_parse(const struct cni_json *j, struct cni_dns *out, struct cni_err *err)
{
	struct cni_dns d = { 0 };
	const char *domain = NULL;
	int ret;

	if (!j)
		return 0;
	if (!cni_json_is_object(j))
		return cni_err_set(err, CNI_ERR_DECODE, 0, "cannot decode \"dns\": expected an object");
	ret = parse_strv(j, "nameservers", &d.nameservers, &d.n_nameservers, err);
	if (!ret)
		ret = parse_strv(j, "search", &d.search, &d.n_search, err);
	if (!ret)
		ret = parse_strv(j, "options", &d.options, &d.n_options, err);
	if (!ret)
		ret = cni_json_get_str(j, "domain", &domain, err);
	if (!ret && domain && *domain)
		ret = dup_str(&d.domain, domain);
	if (ret < 0) {
		cni_dns_clear(&d);
		return ret;
	}
	cni_dns_clear(out);
	*out = d;
	return 0;
}

static int parse_prefix(const struct cni_json *obj, const char *key, bool required,
			struct cni_prefix *out, struct cni_err *err)
{
	const char *s = NULL;
	int ret = cni_json_get_str(obj, key, &s, err);

	if (ret < 0)
		return ret;
	if (!s)
		return required ? cni_err_set(err, CNI_ERR_DECODE, 0, "result: missing \"%s\"", key) : 0;
	if (cni_prefix_parse(s, out) < 0)
		return cni_err_set(err, CNI_ERR_DECODE, 0, "result: invalid CIDR \"%s\" in \"%s\"", s, key);
	return 0;
}

static int parse_ip(const struct cni_json *obj, const char *key, struct cni_ip *out,
		    struct cni_err *err)
{
	const char *s = NULL;
	int ret = cni_json_get_str(obj, key, &s, err);

	if (ret < 0 || !s || !*s)
		return ret;
	if (cni_ip_parse(s, out) < 0)
		return cni_err_set(err, CNI_ERR_DECODE, 0, "result: invalid IP \"%s\" in \"%s\"", s, key);
	return 0;
}

static int parse_route(struct cni_result *r, const struct cni_json *j, struct cni_err *err)
{
	struct cni_prefix dst;
	struct cni_ip gw = { 0 };
	long long v[5] = { 0, 0, 0, -1, -1 };
	static const char *const keys[5] = { "mtu", "advmss", "priority", "table", "scope" };
	struct cni_route *rt;
	int i, idx, ret;

	if (!cni_json_is_object(j))
		return cni_err_set(err, CNI_ERR_DECODE, 0, "result: a route must be an object");
	ret = parse_prefix(j, "dst", true, &dst, err);
	if (!ret)
		ret = parse_ip(j, "gw", &gw, err);
	for (i = 0; !ret && i < 5; i++)
		ret = cni_json_get_int(j, keys[i], i < 3 ? 0 : -1, 0x7fffffff, &v[i], err);
	if (ret < 0)
		return ret;
	idx = cni_result_add_route(r, &dst, &gw);
	if (idx < 0)
		return idx;
	rt = &r->routes[idx];
	rt->mtu = (int)v[0];
	rt->advmss = (int)v[1];
	rt->priority = (int)v[2];
	rt->table = (int)v[3];
	rt->scope = (int)v[4];
	return 0;
}

static int parse_routes(struct cni_result *r, const struct cni_json *obj, struct cni_err *err)
{
	const struct cni_json *arr = NULL;
	size_t i;
	int ret = cni_json_get_array(obj, "routes", &arr, err);

	for (i = 0; !ret && i < cni_json_len(arr); i++)
		ret = parse_route(r, cni_json_at(arr, i), err);
	return ret;
}

/* 0.1.0 / 0.2.0: "ip4" and "ip6" objects, each with ip, gateway, routes. */
static int parse_legacy(struct cni_result *r, const struct cni_json *j, struct cni_err *err)
{
	static const char *const keys[2] = { "ip4", "ip6" };
	int i, ret = 0;

	for (i = 0; !ret && i < 2; i++) {
		const struct cni_json *o = NULL;
		struct cni_prefix addr;
		struct cni_ip gw = { 0 };

		ret = cni_json_get_object(j, keys[i], &o, err);
		if (ret < 0 || !o)
			continue;
		ret = parse_prefix(o, "ip", true, &addr, err);
		if (!ret)
			ret = parse_ip(o, "gateway", &gw, err);
		if (!ret && cni_result_add_ip(r, &addr, &gw, -1) < 0)
			ret = -ENOMEM;
		if (!ret)
			ret = parse_routes(r, o, err);
	}
	return ret;
}

static int parse_current(struct cni_result *r, const struct cni_json *j, struct cni_err *err)
{
	const struct cni_json *arr = NULL;
	size_t i;
	int ret;

	ret = cni_json_get_array(j, "interfaces", &arr, err);
	for (i = 0; !ret && i < cni_json_len(arr); i++) {
		const struct cni_json *o = cni_json_at(arr, i);
		const char *name = NULL, *mac = NULL, *sandbox = NULL, *sock = NULL, *pci = NULL;
		long long mtu = 0;
		int idx;

		if (!cni_json_is_object(o))
			return cni_err_set(err, CNI_ERR_DECODE, 0, "result: an interface must be an object");
		ret = cni_json_get_str(o, "name", &name, err);
		if (!ret)
			ret = cni_json_get_str(o, "mac", &mac, err);
		if (!ret)
			ret = cni_json_get_str(o, "sandbox", &sandbox, err);
		if (!ret)
			ret = cni_json_get_str(o, "socketPath", &sock, err);
		if (!ret)
			ret = cni_json_get_str(o, "pciID", &pci, err);
		if (!ret)
			ret = cni_json_get_int(o, "mtu", 0, 0x7fffffff, &mtu, err);
		if (ret < 0)
			return ret;
		idx = cni_result_add_iface(r, name, mac && *mac ? mac : NULL, sandbox);
		if (idx < 0 || dup_str(&r->ifaces[idx].socket_path, sock && *sock ? sock : NULL) < 0 ||
		    dup_str(&r->ifaces[idx].pci_id, pci && *pci ? pci : NULL) < 0)
			return -ENOMEM;
		r->ifaces[idx].mtu = (int)mtu;
	}
	arr = NULL;
	if (!ret)
		ret = cni_json_get_array(j, "ips", &arr, err);
	for (i = 0; !ret && i < cni_json_len(arr); i++) {
		const struct cni_json *o = cni_json_at(arr, i);
		struct cni_prefix addr;
		struct cni_ip gw = { 0 };
		long long iface = -1;

		if (!cni_json_is_object(o))
			return cni_err_set(err, CNI_ERR_DECODE, 0, "result: an ip must be an object");
		ret = parse_prefix(o, "address", true, &addr, err);
		if (!ret)
			ret = parse_ip(o, "gateway", &gw, err);
		if (!ret)
			ret = cni_json_get_int(o, "interface", -1, 0x7fffffff, &iface, err);
		if (!ret && gw.family && gw.family != addr.ip.family)
			ret = cni_err_set(err, CNI_ERR_DECODE, 0,
					  "result: gateway and address of an ip differ in family");
		if (ret < 0)
			return ret;
		if (iface >= (long long)r->n_ifaces)
			return cni_err_set(err, CNI_ERR_DECODE, 0,
					   "result: ip refers to interface %lld of %zu", iface, r->n_ifaces);
		if (cni_result_add_ip(r, &addr, &gw, (int)iface) < 0)
			return -ENOMEM;
	}
	if (!ret)
		ret = parse_routes(r, j, err);
	return ret;
}

int cni_result_from_json(const struct cni_json *j, const char *version, struct cni_result **out,
			 struct cni_err *err)
{
	struct cni_result *r;
	const struct cni_json *dns = NULL;
	int ret;

	if (!cni_json_is_object(j))
		return cni_err_set(err, CNI_ERR_DECODE, 0, "result: expected a JSON object");
	if (!version) {
		ret = cni_json_get_str(j, "cniVersion", &version, err);
		if (ret < 0)
			return ret;
	}
	if (version && *version && !cni_version_known(version))
		return cni_err_set(err, CNI_ERR_VERSION, 0,
				   "result: unsupported cniVersion \"%s\"", version);
	r = cni_result_new();
	if (!r)
		return -ENOMEM;
	/* Decide the format by what is there: a runtime may label a result oddly. */
	if (!cni_json_get(j, "ips") && !cni_json_get(j, "interfaces") &&
	    (cni_json_get(j, "ip4") || cni_json_get(j, "ip6")))
		ret = parse_legacy(r, j, err);
	else
		ret = parse_current(r, j, err);
	if (!ret)
		ret = cni_json_get_object(j, "dns", &dns, err);
	if (!ret)
		ret = cni_dns_parse(dns, &r->dns, err);
	if (ret < 0) {
		cni_result_free(r);
		return ret == -ENOMEM ? cni_err_set(err, CNI_ERR_IO, ret, "result") : ret;
	}
	*out = r;
	return 0;
}

int cni_result_parse(const char *text, size_t len, struct cni_result **out, struct cni_err *err)
{
	struct cni_json *j = NULL;
	int ret;

	ret = cni_json_parse(text, len, &j, err);
	if (!ret)
		ret = cni_result_from_json(j, NULL, out, err);
	cni_json_free(j);
	return ret;
}

/* ---- printing ---- */

static bool add_str(cJSON *o, const char *k, const char *v)
{
	return cJSON_AddStringToObject(o, k, v) != NULL;
}

static bool add_strv(cJSON *o, const char *k, char *const *v, size_t n)
{
	cJSON *a;
	size_t i;

	if (!n)
		return true;
	a = cJSON_AddArrayToObject(o, k);
	for (i = 0; a && i < n; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(v[i])))
			return false;
	return a != NULL;
}

static bool add_dns(cJSON *o, const struct cni_dns *dns)
{
	cJSON *d = cJSON_AddObjectToObject(o, "dns");

	return d && add_strv(d, "nameservers", dns->nameservers, dns->n_nameservers) &&
	       (!dns->domain || add_str(d, "domain", dns->domain)) &&
	       add_strv(d, "search", dns->search, dns->n_search) &&
	       add_strv(d, "options", dns->options, dns->n_options);
}

/* A new object appended to arr; NULL on ENOMEM. */
static cJSON *add_item(cJSON *arr)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

/* Adds key: n unless n is "unset" (below min). */
static bool add_num(cJSON *o, const char *k, int n, int min)
{
	return n < min || cJSON_AddNumberToObject(o, k, n);
}

static bool add_route(cJSON *arr, const struct cni_route *rt, bool v11)
{
	char buf[CNI_PREFIX_STRLEN];
	cJSON *o = add_item(arr);

	return o && add_str(o, "dst", cni_prefix_format(&rt->dst, buf)) &&
	       (!rt->gw.family || add_str(o, "gw", cni_ip_format(&rt->gw, buf))) &&
	       (!v11 || (add_num(o, "mtu", rt->mtu, 1) && add_num(o, "advmss", rt->advmss, 1) &&
			 add_num(o, "priority", rt->priority, 1) && add_num(o, "table", rt->table, 0) &&
			 add_num(o, "scope", rt->scope, 0)));
}

/* routes of one family (0 = all) into an array created on first use. */
static bool add_routes(cJSON *o, const struct cni_result *r, int family, bool v11)
{
	cJSON *arr = NULL;
	size_t i;

	for (i = 0; i < r->n_routes; i++) {
		if (family && r->routes[i].dst.ip.family != family)
			continue;
		if (!arr && !(arr = cJSON_AddArrayToObject(o, "routes")))
			return false;
		if (!add_route(arr, &r->routes[i], v11))
			return false;
	}
	return true;
}

static bool add_iface(cJSON *arr, const struct cni_iface *it, bool v11)
{
	cJSON *o = add_item(arr);

	return o && add_str(o, "name", it->name ? it->name : "") &&
	       (!it->mac || add_str(o, "mac", it->mac)) &&
	       (!v11 || add_num(o, "mtu", it->mtu, 1)) &&
	       (!it->sandbox || add_str(o, "sandbox", it->sandbox)) &&
	       (!v11 || !it->socket_path || add_str(o, "socketPath", it->socket_path)) &&
	       (!v11 || !it->pci_id || add_str(o, "pciID", it->pci_id));
}

static bool add_ip(cJSON *arr, const struct cni_ipcfg *ip, bool with_family)
{
	char buf[CNI_PREFIX_STRLEN];
	cJSON *o = add_item(arr);

	return o && (!with_family || add_str(o, "version", ip->addr.ip.family == AF_INET ? "4" : "6")) &&
	       add_num(o, "interface", ip->iface, 0) &&
	       add_str(o, "address", cni_prefix_format(&ip->addr, buf)) &&
	       (!ip->gw.family || add_str(o, "gateway", cni_ip_format(&ip->gw, buf)));
}

/* libcni's convertTo02x: the first IP of each family, routes by destination family. */
static bool format_legacy(cJSON *root, const struct cni_result *r)
{
	static const char *const keys[2] = { "ip4", "ip6" };
	static const int families[2] = { AF_INET, AF_INET6 };
	char buf[CNI_PREFIX_STRLEN];
	size_t i;
	int f;

	for (f = 0; f < 2; f++) {
		const struct cni_ipcfg *first = NULL;
		cJSON *o;

		for (i = 0; i < r->n_ips && !first; i++)
			if (r->ips[i].addr.ip.family == families[f])
				first = &r->ips[i];
		if (!first)
			continue;
		o = cJSON_AddObjectToObject(root, keys[f]);
		if (!o || !add_str(o, "ip", cni_prefix_format(&first->addr, buf)) ||
		    (first->gw.family && !add_str(o, "gateway", cni_ip_format(&first->gw, buf))) ||
		    !add_routes(o, r, families[f], false))
			return false;
	}
	return true;
}

static bool format_current(cJSON *root, const struct cni_result *r, const char *version)
{
	bool with_family = cni_version_cmp(version, "1.0.0") < 0;
	bool v11 = cni_version_cmp(version, "1.1.0") >= 0;
	cJSON *arr = NULL;
	size_t i;

	if (r->n_ifaces && !(arr = cJSON_AddArrayToObject(root, "interfaces")))
		return false;
	for (i = 0; i < r->n_ifaces; i++)
		if (!add_iface(arr, &r->ifaces[i], v11))
			return false;
	if (r->n_ips && !(arr = cJSON_AddArrayToObject(root, "ips")))
		return false;
	for (i = 0; i < r->n_ips; i++)
		if (!add_ip(arr, &r->ips[i], with_family))
			return false;
	return add_routes(root, r, 0, v11);
}

int cni_result_format(const struct cni_result *r, const char *version, char **out,
		      struct cni_err *err)
{
	bool legacy, ok;
	cJSON *root;
	char *text = NULL;

	if (!version || !*version)
		version = "0.1.0";
	if (!cni_version_known(version))
		return cni_err_set(err, CNI_ERR_VERSION, 0, "unsupported cniVersion \"%s\"", version);
	legacy = cni_version_cmp(version, "0.3.0") < 0;
	/* 0.1.0 and 0.2.0 results must carry an IP, as libcni insists. */
	if (legacy && !r->n_ips)
		return cni_err_set(err, CNI_ERR_VERSION, 0,
				   "cannot convert result to version %s: no IP addresses", version);
	root = cJSON_CreateObject();
	ok = root && add_str(root, "cniVersion", version) &&
	     (legacy ? format_legacy(root, r) : format_current(root, r, version)) &&
	     add_dns(root, &r->dns);
	if (ok)
		text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return cni_err_set(err, CNI_ERR_IO, -ENOMEM, "formatting result");
	*out = text;
	return 0;
}

int cni_result_print(const struct cni_result *r, const char *version, FILE *f, struct cni_err *err)
{
	char *text = NULL;
	int ret = cni_result_format(r, version, &text, err);

	if (ret < 0)
		return ret;
	if (fprintf(f, "%s\n", text) < 0 || fflush(f) == EOF)
		ret = cni_err_set(err, CNI_ERR_IO, -errno, "writing result");
	free(text);
	return ret;
}
