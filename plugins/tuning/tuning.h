/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNIP_TUNING_H
#define CNIP_TUNING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni/err.h"
#include "cni/nl.h"

struct cni_ctx;

#define TN_DATADIR "/run/cni/tuning"
#define TN_ALLOWLIST "/etc/cni/tuning/allowlist.conf"
/* Room for a /proc/sys path of any knob the kernel has. */
#define TN_PATH_MAX 256

/* A tri-state key: absent, or explicitly false/true. */
enum tn_tri { TN_UNSET = -1, TN_OFF = 0, TN_ON = 1 };

struct tn_sysctl {
	const char *key;		/* as written in the config */
	char path[TN_PATH_MAX];		/* "net/ipv4/conf/eth0/rp_filter" */
	const char *value;
};

struct tn_conf {
	const char *data_dir;
	struct tn_sysctl *sysctl;
	size_t n_sysctl;
	bool has_mac;
	uint8_t mac[NL_MAC_LEN];
	enum tn_tri promisc;
	unsigned int mtu;		/* 0: unset */
	long long txqlen;		/* -1: unset */
	enum tn_tri allmulti;
};

/*
 * Reads the tuning keys (config, args.cni, runtimeConfig.mac, CNI_ARGS MAC)
 * and maps each sysctl key to its path for ctx->ifname. Errors: code 6 for a
 * value of the wrong type, 7 for anything invalid. Free with tn_conf_release().
 */
int tn_conf_load(struct cni_ctx *ctx, struct tn_conf *c) __attribute__((warn_unused_result));
void tn_conf_release(struct tn_conf *c);
/* Does the config change the link itself (not only sysctls)? */
bool tn_conf_touches_link(const struct tn_conf *c);

/*
 * "net.ipv4.conf.IFNAME.rp_filter" or "net/ipv4/conf/IFNAME/rp_filter" to
 * "net/ipv4/conf/<ifname>/rp_filter". In the dotted form '/' stands for '.',
 * as in sysctl(8), so "net.ipv4.conf.eth0/100.rp_filter" names eth0.100. The
 * first "IFNAME" becomes ifname. -EINVAL unless the result is a plain path
 * under net/ (no empty, "." or ".." component).
 */
int tn_sysctl_path(const char *key, const char *ifname, char *out, size_t len)
	__attribute__((warn_unused_result));

/*
 * /etc/cni/tuning/allowlist.conf, when it exists: one extended regular
 * expression a line; every sysctl key must match one (anywhere in the key,
 * as Go's regexp.MatchString). Code 7 naming the key otherwise.
 */
int tn_allowlist_check(const struct tn_conf *c, const char *file, struct cni_err *err)
	__attribute__((warn_unused_result));

/*
 * What the attachment's interface was before tuning changed it, kept in
 * <dataDir>/<containerID>_<ifname>.json in the reference's format (mac,
 * promisc, mtu, allmulti, txQLen) plus what only we keep: the original
 * value of each sysctl we wrote, and the attachment's identity for GC.
 */
struct tn_saved_sysctl {
	char *path;
	char *value;
};

struct tn_state {
	char *network, *container_id, *ifname;	/* NULL in the reference's files */
	char *mac;				/* NULL: not changed */
	enum tn_tri promisc, allmulti;
	unsigned int mtu;			/* 0: not changed */
	long long txqlen;			/* -1: not changed */
	struct tn_saved_sysctl *sysctl;
	size_t n_sysctl;
};

/*
 * dataDir must be a directory, or not exist yet: -ELOOP when it is a symlink
 * (not followed, as host-local treats its network directory), -ENOTDIR when
 * it is something else, -errno when lstat fails otherwise.
 */
int tn_datadir_check(const char *dir) __attribute__((warn_unused_result));
void tn_state_init(struct tn_state *s);
void tn_state_release(struct tn_state *s);
/* <dir>/<cid>_<ifname>.json into out; -ENAMETOOLONG if it does not fit. */
int tn_state_file(const char *dir, const char *cid, const char *ifname, char *out, size_t len)
	__attribute__((warn_unused_result));
/*
 * -ENOENT when there is no file; -EINVAL when it is not a regular file (a
 * symlink included) or too big; -EBADMSG when it is not a state file.
 */
int tn_state_load(const char *file, struct tn_state *s) __attribute__((warn_unused_result));
/* Removes the temporary file a save of file leaves when killed: 0, or -errno (ENOENT is 0). */
int tn_state_tmp_unlink(const char *file) __attribute__((warn_unused_result));
/* A temporary state file this old (seconds) has a dead writer: a save takes milliseconds. */
#define TN_TMP_STALE_SECS 10
/* Writes s atomically (0600, a temporary file renamed over), creating dir (0700). */
int tn_state_save(const char *dir, const char *file, const struct tn_state *s)
	__attribute__((warn_unused_result));
/* Records path's original value unless s already has it; -ENOMEM. */
int tn_state_add_sysctl(struct tn_state *s, const char *path, const char *value)
	__attribute__((warn_unused_result));

#endif
