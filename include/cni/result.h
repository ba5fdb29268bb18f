/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_RESULT_H
#define CNI_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cni/err.h"
#include "cni/ip.h"

struct cni_json;

/*
 * One model for every result version. Parsing converts any version in
 * (0.1.0 ... 1.1.0) to it, printing converts it to the version asked for,
 * following libcni's conversion rules.
 */
struct cni_iface {
	char *name;
	char *mac;			/* "aa:bb:..", NULL if none */
	char *sandbox;			/* netns path for pod-side interfaces, else NULL */
	int mtu;			/* 1.1.0; 0 = unset */
	char *socket_path;		/* 1.1.0 */
	char *pci_id;			/* 1.1.0 */
};

struct cni_ipcfg {
	struct cni_prefix addr;		/* address with prefix length */
	struct cni_ip gw;		/* family 0 = no gateway */
	int iface;			/* index into ifaces, -1 = none */
};

struct cni_route {
	struct cni_prefix dst;
	struct cni_ip gw;		/* family 0 = none */
	int mtu, advmss, priority;	/* 1.1.0; 0 = unset */
	int table, scope;		/* 1.1.0; -1 = unset */
};

struct cni_dns {
	char **nameservers;
	size_t n_nameservers;
	char *domain;
	char **search;
	size_t n_search;
	char **options;
	size_t n_options;
};

struct cni_result {
	struct cni_iface *ifaces;
	size_t n_ifaces;
	struct cni_ipcfg *ips;
	size_t n_ips;
	struct cni_route *routes;
	size_t n_routes;
	struct cni_dns dns;
};

/* The CNI versions we speak, oldest first, NULL-terminated. */
extern const char *const cni_versions[];
/* 1 if version is one we speak, 0 otherwise. "" is not accepted here (callers map it to 0.1.0). */
bool cni_version_known(const char *version);
/* strcmp-like order of two known versions. */
int cni_version_cmp(const char *a, const char *b);

struct cni_result *cni_result_new(void);
void cni_result_free(struct cni_result *r);
/* Deep copy; NULL on ENOMEM. */
struct cni_result *cni_result_dup(const struct cni_result *r);

/* Appenders return the new element's index, or -ENOMEM. Strings are copied; NULL allowed. */
int cni_result_add_iface(struct cni_result *r, const char *name, const char *mac, const char *sandbox);
int cni_result_add_ip(struct cni_result *r, const struct cni_prefix *addr, const struct cni_ip *gw,
		      int iface);
int cni_result_add_route(struct cni_result *r, const struct cni_prefix *dst, const struct cni_ip *gw);
/* Copies every string of src into dst (replacing it). */
int cni_dns_copy(struct cni_dns *dst, const struct cni_dns *src);
void cni_dns_clear(struct cni_dns *dns);
bool cni_dns_is_empty(const struct cni_dns *dns);
/* Parses a "dns" object (nameservers, domain, search, options). */
int cni_dns_parse(const struct cni_json *j, struct cni_dns *out, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * Parse a result of any version from a JSON node (prevResult, an IPAM
 * plugin's output). version is the result's cniVersion if known (a prevResult
 * has the config's), or NULL to read it from the object.
 */
int cni_result_from_json(const struct cni_json *j, const char *version, struct cni_result **out,
			 struct cni_err *err) __attribute__((warn_unused_result));
int cni_result_parse(const char *text, size_t len, struct cni_result **out, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * JSON text of r in the given version; caller frees. Fails with
 * CNI_ERR_VERSION when the version cannot hold the result (0.2.0 needs an IP).
 */
int cni_result_format(const struct cni_result *r, const char *version, char **out,
		      struct cni_err *err) __attribute__((warn_unused_result));
/* Formats and writes to f with a trailing newline. */
int cni_result_print(const struct cni_result *r, const char *version, FILE *f,
		     struct cni_err *err) __attribute__((warn_unused_result));

#endif
