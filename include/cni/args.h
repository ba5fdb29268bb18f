/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_ARGS_H
#define CNI_ARGS_H

#include "cni/err.h"

/* CNI_ARGS: "K=V;K=V". Keys are case-sensitive, as the reference's LoadArgs. */
struct cni_args;

/* Splits s (NULL or "" = no args). A pair without '=' is CNI_ERR_ENV. */
int cni_args_parse(const char *s, struct cni_args **out, struct cni_err *err)
	__attribute__((warn_unused_result));
void cni_args_free(struct cni_args *a);
/* Value of key, NULL when absent. */
const char *cni_args_get(const struct cni_args *a, const char *key);
/*
 * Every key must be in known (NULL-terminated; IgnoreUnknown is always
 * known) unless IgnoreUnknown is 1/true; else CNI_ERR_ENV naming the key.
 */
int cni_args_check(const struct cni_args *a, const char *const *known, struct cni_err *err)
	__attribute__((warn_unused_result));

#endif
