// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/knob.h"
#include "cni/netns.h"
#include "cni/sysctl.h"

#define KNOB_PATH_MAX 128

/* Hands a scratch error (with its details) to err unless err already holds one. */
static int err_take(struct cni_err *err, const struct cni_err *from, int ret)
{
	if (err && !cni_err_is_set(err))
		*err = *from;
	return ret;
}

/* "ipv4/conf/rp_filter" + "eth0" -> "net/ipv4/conf/eth0/rp_filter" */
static int knob_path(const char *name, const char *ifname, char *path, struct cni_err *err)
{
	const char *file = name ? strrchr(name, '/') : NULL;
	int n;

	if (!file || file == name || !file[1] || !ifname || !*ifname || strchr(ifname, '/'))
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "knob %s of %s: bad name",
				   name ? name : "(null)", ifname ? ifname : "(null)");
	n = snprintf(path, KNOB_PATH_MAX, "net/%.*s/%s%s", (int)(file - name), name, ifname, file);
	if (n < 0 || n >= KNOB_PATH_MAX)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENAMETOOLONG, "knob %s of %s", name, ifname);
	return 0;
}

struct knob_op {
	const struct knob_link *l;
	const struct knob *k;
	size_t n;
	bool check;
	struct cni_err *err;
};

static int knob_one(const struct knob_link *l, const struct knob *k, bool check, struct cni_err *err)
{
	struct cni_err scratch = { 0 };
	char path[KNOB_PATH_MAX], want[16], have[32];
	int ret;

	ret = knob_path(k->name, l->ifname, path, err);
	if (ret < 0)
		return ret;
	snprintf(want, sizeof(want), "%d", k->value);
	if (check)
		ret = sysctl_read(path, have, sizeof(have), &scratch);
	else
		ret = sysctl_write(path, want, &scratch);
	if (ret == -ENOENT && (k->flags & KNOB_MISSING_OK))
		return 0;
	if (ret < 0)
		return err_take(err, &scratch, ret);
	if (check && strcmp(have, want))
		return cni_err_set(err, CNI_ERR_CHECK, -EINVAL, "sysctl %s is %s, want %s", path, have,
				   want);
	return 0;
}

/* Runs in the link's netns: /proc/sys/net shows the netns of the calling thread. */
static int knob_run(void *arg)
{
	const struct knob_op *op = arg;
	size_t i;
	int ret = 0;

	for (i = 0; i < op->n && ret == 0; i++)
		ret = knob_one(op->l, &op->k[i], op->check, op->err);
	return ret;
}

static int knob_do(const struct knob_link *l, const struct knob *k, size_t n, bool check,
		   struct cni_err *err)
{
	struct knob_op op = { .l = l, .k = k, .n = n, .check = check, .err = err };

	if (n == 0)
		return 0;
	if (l->netns_fd >= 0)
		return cni_netns_run(l->netns_fd, knob_run, &op, err);
	return knob_run(&op);
}

int knob_set(const struct knob_link *l, const struct knob *k, size_t n, struct cni_err *err)
{
	return knob_do(l, k, n, false, err);
}

int knob_check(const struct knob_link *l, const struct knob *k, size_t n, struct cni_err *err)
{
	return knob_do(l, k, n, true, err);
}

static const char *const forwarding_path[2] = {
	"net/ipv4/ip_forward",
	"net/ipv6/conf/all/forwarding",
};

static int forwarding(bool v4, bool v6, bool check, struct cni_err *err)
{
	bool want[2] = { v4, v6 };
	char have[16];
	int i, ret;

	for (i = 0; i < 2; i++) {
		if (!want[i])
			continue;
		if (!check) {
			ret = sysctl_write(forwarding_path[i], "1", err);
			if (ret < 0)
				return ret;
			continue;
		}
		ret = sysctl_read(forwarding_path[i], have, sizeof(have), err);
		if (ret < 0)
			return ret;
		if (strcmp(have, "1"))
			return cni_err_set(err, CNI_ERR_CHECK, -EINVAL, "sysctl %s is %s, want 1",
					   forwarding_path[i], have);
	}
	return 0;
}

int knob_forwarding_set(struct nl_sock *sk, bool v4, bool v6, struct cni_err *err)
{
	return forwarding(v4, v6, false, err);
}

int knob_forwarding_check(struct nl_sock *sk, bool v4, bool v6, struct cni_err *err)
{
	return forwarding(v4, v6, true, err);
}
