// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tuning: a meta plugin that changes the pod interface (MAC, promisc, MTU,
 * allmulti, txqueuelen) and namespaced net.* sysctls of the pod, keeping the
 * original values in dataDir so that DEL restores them.
 *
 * ADD: keys → allowlist → (in the pod) original values recorded on disk
 * before anything changes → sysctls → link. A failure restores what was
 * recorded. Unlike the reference, sysctls are restored by DEL too, a
 * repeated ADD keeps the first originals, and GC removes state files of
 * attachments that are gone.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cni/json.h"
#include "cni/netns.h"
#include "cni/nl.h"
#include "cni/podnet.h"
#include "cni/skel.h"
#include "cni/sysctl.h"
#include "tuning.h"

struct tn_run {
	struct cni_ctx *ctx;
	struct tn_conf *conf;
	struct tn_state *state;
	const char *file;
	struct cni_result *result;
};

/* The knob's file must stay under /proc/sys/net once links are followed. */
static int sysctl_resolve(const struct tn_sysctl *s, struct cni_err *err)
{
	char file[TN_PATH_MAX + 16], real[PATH_MAX];

	snprintf(file, sizeof(file), "/proc/sys/%s", s->path);
	if (!realpath(file, real))
		return errno == ENOENT ?
		       cni_err_set(err, CNI_ERR_CONFIG, -ENOENT,
				   "sysctl %s: no such key in the pod's network namespace", s->key) :
		       cni_err_set(err, CNI_ERR_IO, -errno, "sysctl %s", s->key);
	if (strncmp(real, "/proc/sys/net/", 14))
		return cni_err_set(err, CNI_ERR_CONFIG, -EPERM,
				   "invalid net sysctl key \"%s\": %s is outside /proc/sys/net", s->key, real);
	return 0;
}

/* Multi-valued knobs read back with tabs where the config may have spaces. */
static bool same_value(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ' || *a == '\t')
			a++;
		while (*b == ' ' || *b == '\t')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if ((*a == ' ' || *a == '\t') != (*b == ' ' || *b == '\t'))
			return false;
		for (; *a && *a != ' ' && *a != '\t'; a++, b++)
			if (*a != *b)
				return false;
		if (*b && *b != ' ' && *b != '\t')
			return false;
	}
}

/* Puts back every value st recorded; continues past errors, returns the first. */
static int restore(struct nl_sock *sk, const char *ifname, const struct tn_state *st,
		   struct cni_err *err)
{
	struct nl_link l;
	uint8_t mac[NL_MAC_LEN];
	int ret = 0, r;
	size_t i;

	if (sk && nl_link_get(sk, ifname, &l, NULL) == 0) {
		if (st->mtu)
			ret = nl_link_set_mtu(sk, l.ifindex, st->mtu, err);
		if (st->mac && podnet_mac_parse(st->mac, mac) == 0) {
			r = nl_link_set_mac(sk, l.ifindex, mac, err);
			ret = ret ? ret : r;
		}
		if (st->promisc != TN_UNSET) {
			r = nl_link_set_promisc(sk, l.ifindex, st->promisc == TN_ON, err);
			ret = ret ? ret : r;
		}
		if (st->allmulti != TN_UNSET) {
			r = nl_link_set_allmulti(sk, l.ifindex, st->allmulti == TN_ON, err);
			ret = ret ? ret : r;
		}
		if (st->txqlen >= 0) {
			r = nl_link_set_txqlen(sk, l.ifindex, (unsigned int)st->txqlen, err);
			ret = ret ? ret : r;
		}
	}
	for (i = 0; i < st->n_sysctl; i++) {
		r = sysctl_write(st->sysctl[i].path, st->sysctl[i].value, err);
		/* An interface's knobs leave with the interface: nothing to restore. */
		if (r == -ENOENT)
			continue;
		ret = ret ? ret : r;
	}
	return ret;
}

/* Records what ADD is about to change, unless an earlier ADD recorded it already. */
static int record(struct tn_run *rn, const struct nl_link *l)
{
	struct tn_state *st = rn->state;
	struct tn_conf *c = rn->conf;
	char val[4096], mac[PODNET_MAC_STRLEN];
	size_t i;
	int ret;

	for (i = 0; i < c->n_sysctl; i++) {
		ret = sysctl_resolve(&c->sysctl[i], &rn->ctx->err);
		if (!ret)
			ret = sysctl_read(c->sysctl[i].path, val, sizeof(val), &rn->ctx->err);
		if (!ret && tn_state_add_sysctl(st, c->sysctl[i].path, val) < 0)
			ret = -ENOMEM;
		if (ret < 0)
			return ret;
	}
	if (!l)
		return 0;
	if (c->has_mac && !st->mac && !(st->mac = strdup(podnet_mac_format(l->mac, mac))))
		return -ENOMEM;
	if (c->promisc != TN_UNSET && st->promisc == TN_UNSET)
		st->promisc = l->promisc ? TN_ON : TN_OFF;
	if (c->mtu && !st->mtu)
		st->mtu = l->mtu;
	if (c->allmulti != TN_UNSET && st->allmulti == TN_UNSET)
		st->allmulti = l->allmulti ? TN_ON : TN_OFF;
	if (c->txqlen >= 0 && st->txqlen < 0)
		st->txqlen = l->txqlen;
	return 0;
}

static int apply(struct tn_run *rn, struct nl_sock *sk, const struct nl_link *l)
{
	struct tn_conf *c = rn->conf;
	struct cni_err *err = &rn->ctx->err;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < c->n_sysctl; i++)
		ret = sysctl_write(c->sysctl[i].path, c->sysctl[i].value, err);
	if (!l || ret)
		return ret;
	if (c->has_mac)
		ret = nl_link_set_mac(sk, l->ifindex, c->mac, err);
	if (!ret && c->promisc != TN_UNSET)
		ret = nl_link_set_promisc(sk, l->ifindex, c->promisc == TN_ON, err);
	if (!ret && c->mtu)
		ret = nl_link_set_mtu(sk, l->ifindex, c->mtu, err);
	if (!ret && c->allmulti != TN_UNSET)
		ret = nl_link_set_allmulti(sk, l->ifindex, c->allmulti == TN_ON, err);
	if (!ret && c->txqlen >= 0)
		ret = nl_link_set_txqlen(sk, l->ifindex, (unsigned int)c->txqlen, err);
	return ret;
}

static int state_identity(struct tn_state *st, const struct cni_ctx *ctx)
{
	free(st->network);
	free(st->container_id);
	free(st->ifname);
	st->network = strdup(ctx->conf->name);
	st->container_id = strdup(ctx->container_id);
	st->ifname = strdup(ctx->ifname);
	return st->network && st->container_id && st->ifname ? 0 : -ENOMEM;
}

/* The result is prevResult with the pod interface's new MAC. */
static int add_result(struct tn_run *rn)
{
	struct cni_result *r = cni_result_dup(rn->ctx->conf->prev_result);
	char mac[PODNET_MAC_STRLEN];
	size_t i;

	if (!r)
		return -ENOMEM;
	for (i = 0; rn->conf->has_mac && i < r->n_ifaces; i++) {
		if (strcmp(r->ifaces[i].name, rn->ctx->ifname))
			continue;
		free(r->ifaces[i].mac);
		r->ifaces[i].mac = strdup(podnet_mac_format(rn->conf->mac, mac));
		if (!r->ifaces[i].mac) {
			cni_result_free(r);
			return -ENOMEM;
		}
	}
	rn->result = r;
	return 0;
}

static int datadir_usable(struct cni_ctx *ctx, const char *dir)
{
	int ret = tn_datadir_check(dir);

	if (ret == -ELOOP)
		return cni_err_set(&ctx->err, CNI_ERR_IO, ret, "dataDir %s is a symlink; not following it", dir);
	if (ret < 0)
		return cni_err_set(&ctx->err, CNI_ERR_IO, ret, "dataDir %s", dir);
	return 0;
}

/* ADD's work, inside the pod's netns (for the sysctl files). */
static int add_in_pod(void *arg)
{
	struct tn_run *rn = arg;
	struct cni_ctx *ctx = rn->ctx;
	struct nl_sock *sk = NULL;
	struct nl_link l, *lp = NULL;
	bool had_state;
	int ret;

	if (tn_conf_touches_link(rn->conf)) {
		ret = nl_sock_open(ctx->netns_fd, &sk, &ctx->err);
		if (!ret)
			ret = nl_link_get(sk, ctx->ifname, &l, &ctx->err);
		if (ret < 0)
			goto out;
		lp = &l;
	}
	ret = tn_state_load(rn->file, rn->state);
	if (ret < 0 && ret != -ENOENT) {
		ret = cni_err_set(&ctx->err, CNI_ERR_IO, ret, "reading tuning state %s", rn->file);
		goto out;
	}
	had_state = ret == 0;
	if (!had_state)
		tn_state_init(rn->state);
	ret = record(rn, lp);
	if (!ret)
		ret = state_identity(rn->state, ctx);
	if (ret == -ENOMEM)
		ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, ret, "recording original values");
	if (!ret && (rn->state->n_sysctl || lp)) {
		ret = tn_state_save(rn->conf->data_dir, rn->file, rn->state);
		if (ret < 0)
			ret = cni_err_set(&ctx->err, CNI_ERR_IO, ret, "writing tuning state %s", rn->file);
	}
	if (ret < 0)
		goto out;
	ret = apply(rn, sk, lp);
	if (!ret)
		ret = add_result(rn);
	if (ret == -ENOMEM)
		ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, ret, "building the result");
	if (ret < 0) {
		/* Roll back to the values before the first ADD: a failed ADD changes nothing. */
		restore(sk, ctx->ifname, rn->state, NULL);
		if (!had_state)
			unlink(rn->file);
	}
out:
	nl_sock_close(sk);
	return ret;
}

static int need_prev(struct cni_ctx *ctx)
{
	if (ctx->conf->prev_result)
		return 0;
	return cni_err_set(&ctx->err, CNI_ERR_CONFIG, -EINVAL, "Required prevResult missing");
}

static int tn_add(struct cni_ctx *ctx, struct cni_result **result)
{
	char file[PATH_MAX];
	struct tn_conf c;
	struct tn_state st;
	struct tn_run rn = { .ctx = ctx, .conf = &c, .state = &st, .file = file };
	int ret;

	tn_state_init(&st);
	ret = tn_conf_load(ctx, &c);
	if (ret < 0)
		return ret;
	ret = need_prev(ctx);
	if (!ret)
		ret = tn_allowlist_check(&c, TN_ALLOWLIST, &ctx->err);
	if (!ret)
		ret = datadir_usable(ctx, c.data_dir);
	if (!ret && tn_state_file(c.data_dir, ctx->container_id, ctx->ifname, file, sizeof(file)) < 0)
		ret = cni_err_set(&ctx->err, CNI_ERR_CONFIG, -ENAMETOOLONG, "dataDir %s: path too long",
				  c.data_dir);
	if (!ret)
		ret = cni_netns_run(ctx->netns_fd, add_in_pod, &rn, &ctx->err);
	if (!ret)
		*result = rn.result;
	tn_state_release(&st);
	tn_conf_release(&c);
	return ret;
}

struct tn_del {
	struct cni_ctx *ctx;
	const struct tn_state *state;
};

static int del_in_pod(void *arg)
{
	struct tn_del *d = arg;
	struct nl_sock *sk = NULL;
	struct cni_err err = { 0 };

	if (nl_sock_open(d->ctx->netns_fd, &sk, &err) == 0)
		restore(sk, d->ctx->ifname, d->state, &err);
	nl_sock_close(sk);
	/* Best effort, as the reference: a value that cannot go back must not block
	 * the pod's removal. Say so where the runtime logs. */
	if (cni_err_is_set(&err))
		fprintf(stderr, "tuning: restoring %s: %s\n", d->ctx->ifname, err.msg);
	return 0;
}

static int tn_del(struct cni_ctx *ctx)
{
	char file[PATH_MAX] = "";
	struct tn_conf c;
	struct tn_state st;
	struct tn_del d = { .ctx = ctx, .state = &st };
	int ret;

	ret = tn_conf_load(ctx, &c);
	if (ret < 0)
		return ret;
	ret = datadir_usable(ctx, c.data_dir);
	if (ret < 0 || tn_state_file(c.data_dir, ctx->container_id, ctx->ifname, file, sizeof(file)) < 0) {
		file[0] = '\0';
		goto out;
	}
	ret = tn_state_load(file, &st);
	if (ret < 0) {
		/* Nothing recorded (or not ours to read): nothing to restore. */
		ret = ret == -ENOENT || ret == -EBADMSG ? 0 :
		      cni_err_set(&ctx->err, CNI_ERR_IO, ret, "reading tuning state %s", file);
		if (ret == 0 && unlink(file) < 0 && errno != ENOENT)
			ret = cni_err_set(&ctx->err, CNI_ERR_IO, -errno, "removing %s", file);
		goto out;
	}
	if (ctx->netns_fd >= 0)
		cni_netns_run(ctx->netns_fd, del_in_pod, &d, NULL);
	tn_state_release(&st);
	if (unlink(file) < 0 && errno != ENOENT)
		ret = cni_err_set(&ctx->err, CNI_ERR_IO, -errno, "removing %s", file);
out:
	/* An ADD killed while saving left its temporary file: it is ours too. */
	if (!ret && file[0]) {
		ret = tn_state_tmp_unlink(file);
		if (ret < 0)
			ret = cni_err_set(&ctx->err, CNI_ERR_IO, ret, "removing %s.tmp", file);
	}
	tn_conf_release(&c);
	return ret;
}

struct tn_check {
	struct cni_ctx *ctx;
	const struct tn_conf *conf;
};

static int check_in_pod(void *arg)
{
	struct tn_check *k = arg;
	const struct tn_conf *c = k->conf;
	struct cni_err *err = &k->ctx->err;
	const char *ifn = k->ctx->ifname;
	char val[4096], m1[PODNET_MAC_STRLEN], m2[PODNET_MAC_STRLEN];
	struct nl_sock *sk = NULL;
	struct nl_link l;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < c->n_sysctl; i++) {
		ret = sysctl_resolve(&c->sysctl[i], err);
		if (!ret)
			ret = sysctl_read(c->sysctl[i].path, val, sizeof(val), err);
		if (!ret && !same_value(val, c->sysctl[i].value))
			ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "sysctl %s is %s, configured %s",
					  c->sysctl[i].key, val, c->sysctl[i].value);
	}
	if (ret || !tn_conf_touches_link(c))
		return ret;
	ret = nl_sock_open(k->ctx->netns_fd, &sk, err);
	if (!ret)
		ret = nl_link_get(sk, ifn, &l, err);
	nl_sock_close(sk);
	if (ret < 0)
		return ret;
	if (c->has_mac && memcmp(l.mac, c->mac, NL_MAC_LEN))
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "%s has MAC %s, configured %s", ifn,
				   podnet_mac_format(l.mac, m1), podnet_mac_format(c->mac, m2));
	if (c->promisc != TN_UNSET && l.promisc != (c->promisc == TN_ON))
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "%s has promisc %s, configured %s",
				   ifn, l.promisc ? "on" : "off", c->promisc == TN_ON ? "on" : "off");
	if (c->mtu && l.mtu != c->mtu)
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "%s has MTU %u, configured %u", ifn,
				   l.mtu, c->mtu);
	if (c->allmulti != TN_UNSET && l.allmulti != (c->allmulti == TN_ON))
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "%s has allmulticast %s, configured %s",
				   ifn, l.allmulti ? "on" : "off", c->allmulti == TN_ON ? "on" : "off");
	if (c->txqlen >= 0 && l.txqlen != (unsigned long long)c->txqlen)
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "%s has txqueuelen %u, configured %lld",
				   ifn, l.txqlen, c->txqlen);
	return 0;
}

static int tn_check(struct cni_ctx *ctx)
{
	struct tn_conf c;
	struct tn_check k = { .ctx = ctx, .conf = &c };
	int ret;

	ret = tn_conf_load(ctx, &c);
	if (ret < 0)
		return ret;
	ret = need_prev(ctx);
	if (!ret)
		ret = cni_netns_run(ctx->netns_fd, check_in_pod, &k, &ctx->err);
	tn_conf_release(&c);
	return ret;
}

/* dataDir must be usable when it exists; ADD creates it otherwise. */
static int tn_status(struct cni_ctx *ctx)
{
	struct tn_conf c;
	struct stat sb;
	int ret;

	ret = tn_conf_load(ctx, &c);
	if (ret < 0)
		return ret;
	if (stat(c.data_dir, &sb) == 0 && (!S_ISDIR(sb.st_mode) || access(c.data_dir, W_OK | X_OK)))
		ret = cni_err_set(&ctx->err, CNI_ERR_NOT_AVAILABLE, -EACCES,
				  "dataDir %s is not a writable directory", c.data_dir);
	tn_conf_release(&c);
	return ret;
}

/*
 * A temporary state file (NAME.json.tmp) names its attachment but not its
 * network: one of no valid attachment, older than any save takes, is what
 * an ADD killed while saving left. Best effort, as a stale .json is.
 */
static void gc_tmp(struct cni_ctx *ctx, const struct tn_conf *c, const char *path)
{
	char want[PATH_MAX];
	struct stat sb;
	size_t i;

	for (i = 0; i < ctx->conf->n_valid; i++) {
		if (tn_state_file(c->data_dir, ctx->conf->valid[i].container_id, ctx->conf->valid[i].ifname,
				  want, sizeof(want)) == 0 &&
		    !strncmp(want, path, strlen(want)) && !strcmp(path + strlen(want), ".tmp"))
			return;
	}
	if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && time(NULL) - sb.st_mtime >= TN_TMP_STALE_SECS)
		unlink(path);
}

/*
 * Removes the state of this network's attachments that GC's list does not
 * keep. Only our own files say which network they belong to; the
 * reference's are left alone. Continues past errors, returns the first.
 */
static int tn_gc(struct cni_ctx *ctx)
{
	char file[PATH_MAX];
	struct tn_conf c;
	struct tn_state st;
	struct dirent *de;
	size_t nl;
	DIR *d;
	int ret;

	ret = tn_conf_load(ctx, &c);
	if (ret < 0)
		return ret;
	ret = datadir_usable(ctx, c.data_dir);
	if (ret < 0)
		goto out;
	d = opendir(c.data_dir);
	if (!d) {
		if (errno != ENOENT)
			ret = cni_err_set(&ctx->err, CNI_ERR_IO, -errno, "GC: reading %s", c.data_dir);
		goto out;
	}
	while ((de = readdir(d))) {
		nl = strlen(de->d_name);
		if (nl < 6 || snprintf(file, sizeof(file), "%s/%s", c.data_dir, de->d_name) >= (int)sizeof(file))
			continue;
		if (nl > 9 && !strcmp(de->d_name + nl - 9, ".json.tmp")) {
			gc_tmp(ctx, &c, file);
			continue;
		}
		if (strcmp(de->d_name + nl - 5, ".json"))
			continue;
		if (tn_state_load(file, &st) < 0)
			continue;
		if (st.network && st.container_id && st.ifname && !strcmp(st.network, ctx->conf->name) &&
		    !cni_conf_is_valid_attachment(ctx->conf, st.container_id, st.ifname) &&
		    unlink(file) < 0 && errno != ENOENT && !ret)
			ret = cni_err_set(&ctx->err, CNI_ERR_IO, -errno, "GC: removing %s", file);
		tn_state_release(&st);
	}
	closedir(d);
out:
	tn_conf_release(&c);
	return ret;
}

static const char *const tn_args[] = { "MAC", NULL };

static const struct cni_plugin tuning = {
	.name = "tuning",
	.about = "CNI tuning plugin (cnip): pod interface settings and net.* sysctls, restored on DEL",
	.args_known = tn_args,
	.add = tn_add,
	.del = tn_del,
	.check = tn_check,
	.status = tn_status,
	.gc = tn_gc,
};

int main(void)
{
	return cni_skel_main(&tuning);
}
