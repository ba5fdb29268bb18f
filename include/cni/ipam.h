/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_IPAM_H
#define CNI_IPAM_H

#include "cni/err.h"
#include "cni/result.h"

struct cni_ctx;

/*
 * A plugin that carries an IPAM plugin's code (bridge, ptp: host-local) runs
 * it in-process instead of executing it, when the file that CNI_PATH finds
 * for ipam.type is this same build of it (cni_build_is_ours): the same checks,
 * result and errors, without a process. Any other file is executed.
 */
struct cni_plugin;
void ipam_set_builtin(const struct cni_plugin *p);

/*
 * Runs the IPAM plugin named by ipam.type (found in CNI_PATH: a regular
 * executable, no '/' in the name) with our environment, CNI_COMMAND set to
 * command, and the same stdin bytes. Its stderr passes through. A result
 * (ADD) goes to *out when out is not NULL; its error JSON becomes err with
 * its own code and message; no output and a non-zero exit, or garbage, is
 * CNI_ERR_IPAM. A conf without IPAM is a successful no-op (empty result).
 */
int ipam_exec(const struct cni_ctx *ctx, const char *command, struct cni_result **out,
	      struct cni_err *err) __attribute__((warn_unused_result));

/*
 * The verbs, with ctx->err. ipam_del also serves the rollback of a failed ADD.
 * ipam_status reports the plugin's own error as it is, and a plugin missing
 * from CNI_PATH as CNI_ERR_NOT_AVAILABLE (it could not serve an ADD).
 */
int ipam_add(struct cni_ctx *ctx, struct cni_result **out) __attribute__((warn_unused_result));
int ipam_del(struct cni_ctx *ctx);
int ipam_check(struct cni_ctx *ctx) __attribute__((warn_unused_result));
int ipam_status(struct cni_ctx *ctx) __attribute__((warn_unused_result));
int ipam_gc(struct cni_ctx *ctx);

#endif
