// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cni/err.h"

/*
 * Codes whose message says all there is: the errno that travels with them
 * only tells callers which path failed ("...: Invalid argument" after a
 * config error reads as noise). Kernel and I/O failures keep strerror.
 */
static bool self_explaining(int code)
{
	switch (code) {
	case CNI_ERR_VERSION:
	case CNI_ERR_UNSUPPORTED_FIELD:
	case CNI_ERR_DECODE:
	case CNI_ERR_CONFIG:
	case CNI_ERR_EXHAUSTED:
	case CNI_ERR_EXISTS:
	case CNI_ERR_CHECK:
	case CNI_ERR_DAD:
		return true;
	default:
		return false;
	}
}

int cni_err_set(struct cni_err *err, int code, int neg_errno, const char *fmt, ...)
{
	int ret = neg_errno < 0 ? neg_errno : -EINVAL;
	va_list ap;
	size_t n;

	if (!err || err->code)
		return ret;
	err->code = code;
	err->errnum = neg_errno < 0 ? -neg_errno : 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	if (neg_errno < 0 && !self_explaining(code) && n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(-neg_errno));
	return ret;
}

void cni_err_details(struct cni_err *err, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (!err)
		return;
	n = strlen(err->details);
	if (n && n + 2 < sizeof(err->details)) {
		strcpy(err->details + n, "; ");
		n += 2;
	}
	if (n >= sizeof(err->details) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(err->details + n, sizeof(err->details) - n, fmt, ap);
	va_end(ap);
}

void cni_err_clear(struct cni_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}
