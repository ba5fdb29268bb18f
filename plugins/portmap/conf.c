// SPDX-License-Identifier: GPL-2.0-or-later
#include <limits.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>

#include "cni/json.h"
#include "portmap.h"

void portmap_conf_clear(struct portmap_conf *c)
{
	if (!c)
		return;
	free(c->maps);
	free(c->cond4);
	free(c->cond6);
	memset(c, 0, sizeof(*c));
}

/* ---- conditionsV4/V6 ---- */

struct words {
	char **v;
	size_t n, i;
	char *buf;
};

/* The reference joins the strings with spaces into one rule text: split that text again. */
static int split(const char *const *in, size_t nin, struct words *w)
{
	size_t len = 1, i;
	char *p, *save = NULL, *tok;

	for (i = 0; i < nin; i++)
		len += strlen(in[i]) + 1;
	w->buf = calloc(1, len);
	w->v = calloc(len, sizeof(*w->v));
	if (!w->buf || !w->v)
		return -ENOMEM;
	for (i = 0, p = w->buf; i < nin; i++)
		p += sprintf(p, "%s ", in[i]);
	for (tok = strtok_r(w->buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
		w->v[w->n++] = tok;
	return 0;
}

static const char *next(struct words *w)
{
	return w->i < w->n ? w->v[w->i++] : NULL;
}

static int unsupported(struct cni_err *err, const char *key, const char *what, const char *word)
{
	return cni_err_set(err, CNI_ERR_UNSUPPORTED_FIELD, -EOPNOTSUPP,
			   "%s: %s \"%s\" cannot be programmed through libnftnl; supported: %s", key, what,
			   word ? word : "(end)",
			   "ip/ip6 saddr|daddr [!=] ADDR[/LEN], [meta] iifname|oifname [!=] NAME[*] "
			   "(iptables form: [!] -s|-d ADDR[/LEN], [!] -i|-o NAME[+])");
}

static int read_addr(const char *key, const char *word, int family, struct cni_prefix *out,
		     struct cni_err *err)
{
	if (!word)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "%s: address missing", key);
	if (strchr(word, '/') ? cni_prefix_parse(word, out) < 0 :
	    cni_ip_parse(word, &out->ip) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "%s: \"%s\" is not an address", key, word);
	if (!strchr(word, '/'))
		out->len = (uint8_t)cni_ip_bits(&out->ip);
	if (out->ip.family != family)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "%s: \"%s\" is not an %s address", key,
				   word, family == AF_INET ? "IPv4" : "IPv6");
	return 0;
}

/* An interface name, quoted or not; a trailing wildcard (nft "*", iptables "+") matches a prefix. */
static int read_ifname(const char *key, const char *word, char wild, struct nft_pm_match *m,
		       struct cni_err *err)
{
	size_t len = word ? strlen(word) : 0;

	if (len >= 2 && word[0] == '"' && word[len - 1] == '"') {
		word++;
		len -= 2;
	}
	if (len && word[len - 1] == wild) {
		m->prefix = true;
		len--;
	}
	if ((!len && !m->prefix) || len >= sizeof(m->ifname) || memchr(word, '"', len))
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "%s: bad interface name \"%s\"", key,
				   word ? word : "");
	memcpy(m->ifname, word, len);
	m->ifname[len] = '\0';
	return 0;
}

static int parse_nft(const char *key, struct words *w, int family, struct nft_pm_match *m,
		     struct cni_err *err)
{
	const char *ipx = family == AF_INET ? "ip" : "ip6", *word = next(w), *op;

	if (word && !strcmp(word, "meta"))
		word = next(w);
	if (!word)
		return unsupported(err, key, "condition", word);
	if (!strcmp(word, ipx)) {
		word = next(w);
		if (!word || (strcmp(word, "saddr") && strcmp(word, "daddr")))
			return unsupported(err, key, "match", word);
		m->kind = !strcmp(word, "saddr") ? NFT_PM_SADDR : NFT_PM_DADDR;
	} else if (!strcmp(word, "iifname") || !strcmp(word, "oifname")) {
		m->kind = !strcmp(word, "iifname") ? NFT_PM_IIFNAME : NFT_PM_OIFNAME;
	} else {
		return unsupported(err, key, "match", word);
	}
	op = w->i < w->n ? w->v[w->i] : NULL;
	if (op && (!strcmp(op, "!=") || !strcmp(op, "=="))) {
		m->neg = op[0] == '!';
		w->i++;
	}
	word = next(w);
	if (m->kind == NFT_PM_SADDR || m->kind == NFT_PM_DADDR)
		return read_addr(key, word, family, &m->addr, err);
	return read_ifname(key, word, '*', m, err);
}

static int parse_ipt(const char *key, struct words *w, int family, struct nft_pm_match *m,
		     struct cni_err *err)
{
	const char *word = next(w);

	if (word && !strcmp(word, "!")) {
		m->neg = true;
		word = next(w);
	}
	if (!word)
		return unsupported(err, key, "iptables match", word);
	if (!strcmp(word, "-s") || !strcmp(word, "--source") || !strcmp(word, "--src") ||
	    !strcmp(word, "-d") || !strcmp(word, "--destination") || !strcmp(word, "--dst")) {
		m->kind = word[1] == 's' || !strncmp(word, "--s", 3) ? NFT_PM_SADDR : NFT_PM_DADDR;
		return read_addr(key, next(w), family, &m->addr, err);
	}
	if (!strcmp(word, "-i") || !strcmp(word, "--in-interface") || !strcmp(word, "-o") ||
	    !strcmp(word, "--out-interface")) {
		m->kind = word[1] == 'i' || !strncmp(word, "--i", 3) ? NFT_PM_IIFNAME : NFT_PM_OIFNAME;
		return read_ifname(key, next(w), '+', m, err);
	}
	return unsupported(err, key, "iptables match", word);
}

int portmap_conditions_parse(const char *key, const char *const *words, size_t nwords, int family,
			     bool *iptables, struct nft_pm_match **out, size_t *n, struct cni_err *err)
{
	struct words w = { 0 };
	struct nft_pm_match *v = NULL;
	size_t m = 0;
	int ret;

	*out = NULL;
	*n = 0;
	*iptables = false;
	ret = split(words, nwords, &w);
	if (ret < 0) {
		ret = cni_err_set(err, CNI_ERR_INTERNAL, ret, "%s", key);
		goto out;
	}
	if (!w.n)
		goto out;
	/* The reference's own test: an iptables condition starts with '-' or '!'. */
	*iptables = w.v[0][0] == '-' || w.v[0][0] == '!';
	v = calloc(w.n, sizeof(*v));
	if (!v) {
		ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "%s", key);
		goto out;
	}
	while (!ret && w.i < w.n)
		ret = *iptables ? parse_ipt(key, &w, family, &v[m++], err) :
				  parse_nft(key, &w, family, &v[m++], err);
	if (ret < 0)
		goto out;
	*out = v;
	*n = m;
	v = NULL;
out:
	free(v);
	free(w.v);
	free(w.buf);
	return ret;
}

static int conditions(const struct cni_json *root, const char *key, int family, int *form,
		      struct nft_pm_match **out, size_t *n, struct cni_err *err)
{
	const struct cni_json *arr = NULL;
	const char **words = NULL;
	size_t i, len;
	bool ipt;
	int ret;

	*form = 0;
	ret = cni_json_get_array(root, key, &arr, err);
	if (ret < 0 || !arr)
		return ret;
	len = cni_json_len(arr);
	words = calloc(len + 1, sizeof(*words));
	if (!words)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "%s", key);
	for (i = 0; i < len; i++) {
		words[i] = cni_json_string(cni_json_at(arr, i));
		if (!words[i]) {
			free(words);
			return cni_err_set(err, CNI_ERR_DECODE, -EINVAL, "%s: every element must be a string",
					   key);
		}
	}
	ret = portmap_conditions_parse(key, words, len, family, &ipt, out, n, err);
	free(words);
	/* The reference ignores a list whose first string is empty when it picks the backend. */
	if (!ret && *n)
		*form = ipt ? 1 : 2;
	return ret;
}

/* ---- portMappings ---- */

static int parse_mapping(const struct cni_json *j, size_t i, struct nft_pm_map *m, struct cni_err *err)
{
	long long hp = 0, cp = 0;
	const char *proto = NULL, *hip = NULL;
	int ret;

	if (!cni_json_is_object(j))
		return cni_err_set(err, CNI_ERR_DECODE, -EINVAL, "portMappings[%zu]: must be an object", i);
	ret = cni_json_get_int(j, "hostPort", INT_MIN, INT_MAX, &hp, err);
	if (!ret)
		ret = cni_json_get_int(j, "containerPort", INT_MIN, INT_MAX, &cp, err);
	if (!ret)
		ret = cni_json_get_str(j, "protocol", &proto, err);
	if (!ret)
		ret = cni_json_get_str(j, "hostIP", &hip, err);
	if (ret < 0)
		return ret;
	if (cp <= 0 || cp > 65535)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "Invalid container port number: %lld", cp);
	if (hp <= 0 || hp > 65535)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL, "Invalid host port number: %lld", hp);
	m->host_port = (uint16_t)hp;
	m->container_port = (uint16_t)cp;
	/* Docker and Kubernetes default to TCP; CRI sends "tcp", Kubernetes itself "TCP". */
	if (!proto || !*proto || !strcasecmp(proto, "tcp"))
		m->proto = IPPROTO_TCP;
	else if (!strcasecmp(proto, "udp"))
		m->proto = IPPROTO_UDP;
	else if (!strcasecmp(proto, "sctp"))
		m->proto = IPPROTO_SCTP;
	else
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				   "portMappings[%zu]: protocol \"%s\": must be tcp, udp or sctp", i, proto);
	memset(&m->host_ip, 0, sizeof(m->host_ip));
	if (hip && *hip && cni_ip_parse(hip, &m->host_ip) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				   "portMappings[%zu]: hostIP \"%s\" is not an IP address", i, hip);
	return 0;
}

static int mappings(const struct cni_conf *conf, struct portmap_conf *c, struct cni_err *err)
{
	const struct cni_json *arr = NULL;
	size_t i, n;
	int ret;

	ret = cni_json_get_array(conf->runtime_config, "portMappings", &arr, err);
	if (ret < 0 || !arr)
		return ret;
	n = cni_json_len(arr);
	c->maps = calloc(n + 1, sizeof(*c->maps));
	if (!c->maps)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "portMappings");
	for (i = 0; i < n; i++) {
		ret = parse_mapping(cni_json_at(arr, i), i, &c->maps[i], err);
		if (ret < 0)
			return ret;
	}
	c->n = n;
	return 0;
}

/*
 * The reference's choice: per family, the first address whose interface (if
 * named) is ifname inside a sandbox.
 */
static void pod_addresses(const struct cni_result *r, const char *ifname, struct portmap_conf *c)
{
	size_t i;

	for (i = 0; r && i < r->n_ips; i++) {
		const struct cni_ipcfg *ip = &r->ips[i];
		struct cni_prefix *slot = ip->addr.ip.family == AF_INET ? &c->pod4 : &c->pod6;

		if (slot->ip.family)
			continue;
		if (ip->iface >= 0 && (size_t)ip->iface < r->n_ifaces) {
			const struct cni_iface *f = &r->ifaces[ip->iface];

			if (!f->name || strcmp(f->name, ifname) || !f->sandbox || !*f->sandbox)
				continue;
		}
		*slot = ip->addr;
	}
}

int portmap_conf_parse(const struct cni_conf *conf, const char *ifname, struct portmap_conf *out,
		       struct cni_err *err)
{
	struct portmap_conf c = { .snat = true, .mark_bit = PORTMAP_MARK_BIT };
	const struct cni_json *root = conf->root;
	long long bit = -1;
	int f4 = 0, f6 = 0, ret;

	ret = cni_json_get_bool(root, "snat", &c.snat, err);
	if (!ret)
		ret = cni_json_get_bool(root, "masqAll", &c.masq_all, err);
	if (!ret)
		ret = cni_json_get_int(root, "markMasqBit", 0, 31, &bit, err);
	if (!ret)
		ret = cni_json_get_str(root, "externalSetMarkChain", &c.external_chain, err);
	if (!ret)
		ret = cni_json_get_str(root, "backend", &c.backend, err);
	if (!ret)
		ret = conditions(root, "conditionsV4", AF_INET, &f4, &c.cond4, &c.ncond4, err);
	if (!ret)
		ret = conditions(root, "conditionsV6", AF_INET6, &f6, &c.cond6, &c.ncond6, err);
	if (!ret)
		ret = mappings(conf, &c, err);
	if (ret < 0)
		goto fail;
	if (bit >= 0 && c.external_chain) {
		ret = cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				  "Cannot specify externalSetMarkChain and markMasqBit");
		goto fail;
	}
	if (bit >= 0)
		c.mark_bit = (unsigned int)bit;
	if (c.backend && strcmp(c.backend, "iptables") && strcmp(c.backend, "nftables")) {
		ret = cni_err_set(err, CNI_ERR_UNSUPPORTED_FIELD, -EINVAL,
				  "unsupported field backend=\"%s\": must be \"iptables\" or \"nftables\"",
				  c.backend);
		goto fail;
	}
	/* As the reference: options of one backend refuse the other when it is asked for by name. */
	if (c.backend && !strcmp(c.backend, "nftables") && (c.external_chain || f4 == 1 || f6 == 1)) {
		ret = cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				  "nftables backend was requested but configuration contains iptables-specific options [%s%s%s]",
				  c.external_chain ? "externalSetMarkChain " : "", f4 == 1 ? "conditionsV4 " : "",
				  f6 == 1 ? "conditionsV6" : "");
		goto fail;
	}
	if (c.backend && !strcmp(c.backend, "iptables") && (f4 == 2 || f6 == 2)) {
		ret = cni_err_set(err, CNI_ERR_CONFIG, -EINVAL,
				  "iptables backend was requested but configuration contains nftables-specific options [%s%s]",
				  f4 == 2 ? "conditionsV4 " : "", f6 == 2 ? "conditionsV6" : "");
		goto fail;
	}
	pod_addresses(conf->prev_result, ifname, &c);
	*out = c;
	return 0;
fail:
	portmap_conf_clear(&c);
	return ret;
}
