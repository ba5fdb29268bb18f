/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_ERR_H
#define CNI_ERR_H

#include <stdbool.h>

/* CNI error codes (SPEC.md "Error"), plus our own from 100 up. */
enum cni_code {
	CNI_ERR_VERSION = 1,		/* incompatible CNI version */
	CNI_ERR_UNSUPPORTED_FIELD = 2,	/* unsupported field in config */
	CNI_ERR_UNKNOWN_CONTAINER = 3,	/* container unknown or gone */
	CNI_ERR_ENV = 4,		/* invalid environment variables */
	CNI_ERR_IO = 5,			/* I/O failure */
	CNI_ERR_DECODE = 6,		/* failed to decode content */
	CNI_ERR_CONFIG = 7,		/* invalid network config */
	CNI_ERR_TRY_AGAIN = 11,		/* try again later */
	CNI_ERR_NOT_AVAILABLE = 50,	/* STATUS: plugin not available */
	CNI_ERR_LIMITED = 51,		/* STATUS: limited connectivity */
	CNI_ERR_NETLINK = 100,		/* the kernel refused a netlink request */
	CNI_ERR_NFT = 101,		/* the kernel refused an nftables batch */
	CNI_ERR_IPAM = 102,		/* the IPAM plugin failed without a code */
	CNI_ERR_EXHAUSTED = 103,	/* no free address in the range */
	CNI_ERR_EXISTS = 104,		/* the interface already exists */
	CNI_ERR_CHECK = 105,		/* CHECK found state that differs */
	CNI_ERR_DAD = 106,		/* IPv6 DAD failed or did not finish (enabledad) */
	CNI_ERR_INTERNAL = 999,		/* what the reference uses for everything else */
};

#define CNI_ERR_MSG_MAX 512
#define CNI_ERR_DETAILS_MAX 1024

/*
 * Context of the first failure. Library code fills it where it knows what
 * failed and returns -errno; the plugin entry prints it. The first error set
 * wins, so a rollback that fails too cannot hide the cause.
 */
struct cni_err {
	int code;			/* 0 while nothing failed */
	int errnum;			/* positive errno, 0 if none */
	char msg[CNI_ERR_MSG_MAX];
	char details[CNI_ERR_DETAILS_MAX];
};

/*
 * Records code and message ("msg: strerror(-neg_errno)" when neg_errno < 0,
 * except for codes whose message explains itself: version, unsupported
 * field, decode, config, exhausted, exists, check, dad) unless an error is
 * already set. Returns neg_errno, or -EINVAL when it is 0,
 * so callers can write `return cni_err_set(err, ...)`. err may be NULL.
 */
int cni_err_set(struct cni_err *err, int code, int neg_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Appends to details (the kernel's extended ack, a child's stderr); call it only right
 * after a cni_err_set() that found err unset (cni_err_is_set() before it). */
void cni_err_details(struct cni_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline bool cni_err_is_set(const struct cni_err *err)
{
	return err && err->code != 0;
}

/* Forgets the error: used where a failure is tolerated (best-effort DEL). */
void cni_err_clear(struct cni_err *err);

#endif
