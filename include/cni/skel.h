/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_SKEL_H
#define CNI_SKEL_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/args.h"
#include "cni/conf.h"
#include "cni/err.h"
#include "cni/result.h"

enum cni_cmd {
	CNI_CMD_ADD,
	CNI_CMD_DEL,
	CNI_CMD_CHECK,
	CNI_CMD_STATUS,
	CNI_CMD_GC,
	CNI_CMD_VERSION,
};

/* What a verb gets: validated environment, parsed config, an error slot. */
struct cni_ctx {
	enum cni_cmd cmd;
	const char *command;		/* "ADD", ... as in CNI_COMMAND */
	const char *container_id;	/* NULL for STATUS and GC */
	const char *netns;		/* CNI_NETNS; NULL or "" allowed for DEL */
	int netns_fd;			/* opened CNI_NETNS, -1 if none or gone (DEL) */
	const char *ifname;		/* NULL for STATUS and GC */
	const char *path;		/* CNI_PATH */
	struct cni_args *args;		/* CNI_ARGS, never NULL */
	struct cni_conf *conf;
	struct cni_err err;		/* fill on failure; skel prints it */
};

/*
 * A plugin registers its verbs. Each returns 0 or -errno with ctx->err set
 * (an unset err is reported as CNI_ERR_INTERNAL with strerror). ADD hands
 * its result to the skel, which prints it in the config's cniVersion.
 * A NULL verb answers success (STATUS, GC) or "not supported". gc runs only
 * when the config holds cni.dev/valid-attachments (conf->has_valid).
 */
struct cni_plugin {
	const char *name;
	const char *about;			/* printed with no CNI_COMMAND */
	const char *const *args_known;		/* CNI_ARGS keys understood; NULL: not checked */
	bool no_netns;				/* IPAM: CNI_NETNS is not opened */
	int (*add)(struct cni_ctx *ctx, struct cni_result **result);
	int (*del)(struct cni_ctx *ctx);
	int (*check)(struct cni_ctx *ctx);
	int (*status)(struct cni_ctx *ctx);
	int (*gc)(struct cni_ctx *ctx);
};

/* The whole process: reads env and stdin, dispatches, prints; returns the exit code. */
int cni_skel_main(const struct cni_plugin *plugin);

/*
 * Runs plugin p's verb command in this process, as cni_skel_main would run it
 * in its own with this environment (CNI_COMMAND aside) and input on stdin:
 * the same checks, the same result (ADD, into *out when out is not NULL,
 * through the text the plugin would print). Its failure is -EIO with its
 * code and message in err, unless err was already set.
 */
int cni_skel_call(const struct cni_plugin *p, const char *command, const char *input, size_t len,
		  struct cni_result **out, struct cni_err *err) __attribute__((warn_unused_result));

/* Prints err as CNI error JSON ({cniVersion, code, msg, details}) on f. */
void cni_skel_print_error(const struct cni_err *err, const char *version, FILE *f);

#endif
