/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_CONF_H
#define CNI_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"
#include "cni/result.h"

struct cni_json;

/* A (containerID, ifname) pair from GC's cni.dev/valid-attachments. */
struct cni_attachment {
	const char *container_id;
	const char *ifname;
};

/*
 * The network configuration from stdin. Common keys are decoded here;
 * plugin keys are read from root with the cni_json getters. Every pointer
 * lives as long as the conf.
 */
struct cni_conf {
	const char *cni_version;		/* "" in the input reads as "0.1.0" */
	const char *name;
	const char *type;
	const struct cni_json *root;
	const struct cni_json *ipam;		/* the "ipam" object, NULL if absent */
	const char *ipam_type;			/* NULL when there is no IPAM (absent or {}) */
	const struct cni_json *runtime_config;	/* "runtimeConfig", NULL if absent */
	const struct cni_json *args;		/* "args", NULL if absent */
	struct cni_result *prev_result;		/* NULL if absent */
	struct cni_dns dns;			/* the config's "dns", possibly empty */
	struct cni_attachment *valid;		/* GC: attachments to keep */
	size_t n_valid;
	bool has_valid;				/* GC: the key was present */
	const char *raw;			/* the bytes read, for IPAM delegation */
	size_t raw_len;
};

/*
 * Parse and validate stdin bytes: JSON (CNI_ERR_DECODE), cniVersion known
 * (CNI_ERR_VERSION), name (CNI_ERR_CONFIG), prevResult in any version. raw is
 * copied. Caller frees with cni_conf_free().
 */
int cni_conf_parse(const char *raw, size_t len, struct cni_conf **out, struct cni_err *err)
	__attribute__((warn_unused_result));
void cni_conf_free(struct cni_conf *conf);

/* args.cni.<key> (newer) or NULL. */
const struct cni_json *cni_conf_args_cni(const struct cni_conf *conf, const char *key);
/* runtimeConfig.<key> or NULL. */
const struct cni_json *cni_conf_runtime(const struct cni_conf *conf, const char *key);

/* Is (container_id, ifname) among GC's valid attachments? */
bool cni_conf_is_valid_attachment(const struct cni_conf *conf, const char *container_id,
				  const char *ifname);

/* Name rules shared by network names and container ids: ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ */
bool cni_valid_name(const char *s);
/* CNI_IFNAME rules: 1..15 bytes, not "." or "..", no '/', ':' or whitespace. */
bool cni_valid_ifname(const char *s);

#endif
