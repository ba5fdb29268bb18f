// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * host-local IPAM: addresses from range sets, one per set, leased in files
 * that the reference plugin shares (see store.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/skel.h"
#include "config.h"
#include "hostlocal.h"
#include "range.h"
#include "store.h"

/* The reference waits forever; a runtime copes better with "try again". */
#define LOCK_TIMEOUT_MS 30000

static int lock_timeout_ms(void)
{
	const char *s = getenv("CNIP_HOST_LOCAL_LOCK_TIMEOUT_MS");

	return s && *s ? atoi(s) : LOCK_TIMEOUT_MS;
}

/* Messages like the reference's: no strerror() suffix, but a precise -errno back. */
static int fail(struct cni_ctx *ctx, int code, int neg_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct cni_ctx *ctx, int code, int neg_errno, const char *fmt, ...)
{
	char msg[CNI_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cni_err_set(&ctx->err, code, 0, "%s", msg);
	return neg_errno;
}

static int load(struct cni_ctx *ctx, bool ranges, struct hl_conf **conf)
{
	return hl_conf_load(ctx->conf, cni_args_get(ctx->args, "IP"), ranges, conf, &ctx->err);
}

static int open_store(struct cni_ctx *ctx, const struct hl_conf *c, bool create,
		      struct hl_store **s)
{
	int ret = hl_store_open(c->data_dir, ctx->conf->name, create, lock_timeout_ms(), s, &ctx->err);

	if (!ret && hl_store_boot_released(*s))
		fprintf(stderr, "host-local: released %zu lease(s) of an earlier boot in %s\n",
			hl_store_boot_released(*s), hl_store_path(*s));
	return ret;
}

/* The requested address for each range set (family 0: none); leftovers are an error. */
static int assign_requested(struct cni_ctx *ctx, const struct hl_conf *c, struct cni_ip *want)
{
	char buf[CNI_IP_STRLEN], left[512] = "";
	size_t i, k;

	for (k = 0; k < c->n_req; k++) {
		for (i = 0; i < c->n_sets; i++)
			if (!want[i].family && hl_rangeset_find(&c->sets[i], &c->req[k]))
				break;
		if (i < c->n_sets)
			want[i] = c->req[k];
		else
			snprintf(left + strlen(left), sizeof(left) - strlen(left), " %s",
				 cni_ip_format(&c->req[k], buf));
	}
	if (left[0])
		return fail(ctx, CNI_ERR_CONFIG, -EINVAL,
				   "failed to allocate all requested IPs:%s", left);
	return 0;
}

/* The lease among held[] that lies in set, or NULL. */
static const struct cni_ip *held_in(const struct hl_rangeset *set, const struct cni_ip *held,
				    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (hl_rangeset_find(set, &held[i]))
			return &held[i];
	return NULL;
}

/*
 * One address of range set idx for the container: the one it already holds
 * (a retried ADD), the requested one, or the next free one in round-robin order.
 * *fresh tells whether this call claimed it.
 */
static int allocate(struct cni_ctx *ctx, struct hl_store *s, const struct hl_rangeset *set,
		    unsigned int idx, const struct cni_ip *want, const struct cni_ip *held,
		    struct cni_ip *got, bool *fresh)
{
	char a[CNI_IP_STRLEN], b[CNI_IP_STRLEN], rs[1024];
	const struct hl_range *r;
	struct cni_ip ip, last;
	struct hl_iter it;
	int ret;

	*fresh = false;
	hl_rangeset_string(set, rs, sizeof(rs));
	if (want->family) {
		r = hl_rangeset_find(set, want);
		if (cni_ip_equal(want, &r->gw))
			return fail(ctx, CNI_ERR_CONFIG, -EINVAL,
					   "failed to allocate for range %u: requested ip %s is subnet's gateway",
					   idx, cni_ip_format(want, a));
		if (held && cni_ip_equal(held, want)) {
			*got = *held;
			return 0;
		}
		if (held)
			return fail(ctx, CNI_ERR_EXISTS, -EEXIST,
					   "failed to allocate for range %u: %s/%s already holds %s, not the requested %s",
					   idx, ctx->container_id, ctx->ifname, cni_ip_format(held, a),
					   cni_ip_format(want, b));
		ret = hl_store_reserve(s, want, ctx->container_id, ctx->ifname, idx, &ctx->err);
		if (ret == -EEXIST)
			return fail(ctx, CNI_ERR_EXISTS, ret,
					   "failed to allocate for range %u: requested IP address %s is not available in range set %s",
					   idx, cni_ip_format(want, a), rs);
		if (ret < 0)
			return ret;
		*got = *want;
		*fresh = true;
		return 0;
	}
	if (held) {
		*got = *held;
		return 0;
	}
	hl_iter_init(&it, set, hl_store_last_reserved(s, idx, &last) ? NULL : &last);
	while (hl_iter_next(&it, &ip, NULL)) {
		ret = hl_store_reserve(s, &ip, ctx->container_id, ctx->ifname, idx, &ctx->err);
		if (ret == -EEXIST)
			continue;
		if (ret < 0)
			return ret;
		*got = ip;
		*fresh = true;
		return 0;
	}
	return fail(ctx, CNI_ERR_EXHAUSTED, -ENOSPC,
			   "failed to allocate for range %u: no IP addresses available in range set: %s",
			   idx, rs);
}

static int hl_add(struct cni_ctx *ctx, struct cni_result **result)
{
	struct cni_ip held[HL_STORE_MAX_LEASES], *want = NULL, *got = NULL;
	struct cni_result *res = NULL;
	struct hl_store *s = NULL;
	struct hl_conf *c = NULL;
	bool *fresh = NULL;
	size_t i, n_held = 0;
	int ret;

	ret = load(ctx, true, &c);
	if (ret < 0)
		goto out;
	res = cni_result_new();
	want = calloc(c->n_sets, sizeof(*want));
	got = calloc(c->n_sets, sizeof(*got));
	fresh = calloc(c->n_sets, sizeof(*fresh));
	if (!res || !want || !got || !fresh) {
		ret = cni_err_set(&ctx->err, CNI_ERR_INTERNAL, -ENOMEM, "ADD");
		goto out;
	}
	if (c->resolv_conf && (ret = hl_resolv_conf_parse(c->resolv_conf, &res->dns, &ctx->err)) < 0)
		goto out;
	ret = assign_requested(ctx, c, want);
	if (ret < 0)
		goto out;
	ret = open_store(ctx, c, true, &s);
	if (ret < 0)
		goto out;
	ret = hl_store_find(s, ctx->container_id, ctx->ifname, held, HL_STORE_MAX_LEASES, &n_held,
			    &ctx->err);
	if (ret < 0)
		goto out;
	for (i = 0; i < c->n_sets; i++) {
		ret = allocate(ctx, s, &c->sets[i], (unsigned int)i, &want[i],
			       held_in(&c->sets[i], held, n_held), &got[i], &fresh[i]);
		if (ret < 0)
			goto undo;
	}
	for (i = 0; i < c->n_sets; i++) {
		const struct hl_range *r = hl_rangeset_find(&c->sets[i], &got[i]);
		struct cni_prefix p = { got[i], r->subnet.len };

		ret = cni_result_add_ip(res, &p, &r->gw, -1);
		if (ret < 0)
			goto nomem;
	}
	for (i = 0; i < c->n_routes; i++) {
		ret = cni_result_add_route(res, &c->routes[i].dst, &c->routes[i].gw);
		if (ret < 0)
			goto nomem;
		res->routes[ret] = c->routes[i];
	}
	*result = res;
	res = NULL;
	ret = 0;
	goto out;
nomem:
	cni_err_set(&ctx->err, CNI_ERR_INTERNAL, ret, "ADD");
undo:
	/* Give back what this call claimed; leases of an earlier ADD stay. */
	for (i = 0; i < c->n_sets; i++)
		if (fresh[i] && hl_store_release_ip(s, &got[i], ctx->container_id, ctx->ifname,
						    NULL) < 0)
			cni_err_details(&ctx->err, "could not release %s",
					cni_ip_format(&got[i], (char[CNI_IP_STRLEN]){ 0 }));
out:
	hl_store_close(s);
	hl_conf_free(c);
	cni_result_free(res);
	free(want);
	free(got);
	free(fresh);
	return ret;
}

static int hl_del(struct cni_ctx *ctx)
{
	struct hl_store *s = NULL;
	struct hl_conf *c = NULL;
	int ret;

	/*
	 * The config is checked as ADD checks it, as the reference does (podman's
	 * tests expect ADD's message on teardown), except CNI_ARGS IP=, which
	 * only ADD uses: a malformed one must not leak the lease.
	 */
	ret = hl_conf_load(ctx->conf, NULL, true, &c, &ctx->err);
	if (ret < 0)
		goto out;
	ret = open_store(ctx, c, false, &s);
	if (ret == -ENOENT && !cni_err_is_set(&ctx->err)) {
		ret = 0;	/* never had a lease here */
		goto out;
	}
	if (ret < 0)
		goto out;
	ret = hl_store_release(s, ctx->container_id, ctx->ifname, NULL, &ctx->err);
out:
	hl_store_close(s);
	hl_conf_free(c);
	return ret;
}

/*
 * Stricter than the reference (which is satisfied by any one lease): the
 * container must hold an address in every range set, and every prevResult
 * address inside our ranges must be one of its leases.
 */
static int hl_check(struct cni_ctx *ctx)
{
	struct cni_ip held[HL_STORE_MAX_LEASES];
	const struct cni_result *prev = ctx->conf->prev_result;
	char a[CNI_IP_STRLEN], rs[1024];
	struct hl_store *s = NULL;
	struct hl_conf *c = NULL;
	size_t i, j, n_held = 0;
	int ret;

	ret = load(ctx, true, &c);
	if (ret < 0)
		goto out;
	ret = open_store(ctx, c, false, &s);
	if (ret == -ENOENT && !cni_err_is_set(&ctx->err))
		n_held = 0;
	else if (ret < 0)
		goto out;
	else if ((ret = hl_store_find(s, ctx->container_id, ctx->ifname, held, HL_STORE_MAX_LEASES,
				      &n_held, &ctx->err)) < 0)
		goto out;
	if (!n_held) {
		ret = fail(ctx, CNI_ERR_CHECK, -ENOENT,
				  "host-local: Failed to find address added by container %s",
				  ctx->container_id);
		goto out;
	}
	for (i = 0; i < c->n_sets; i++) {
		if (!held_in(&c->sets[i], held, n_held)) {
			ret = fail(ctx, CNI_ERR_CHECK, -ENOENT,
					  "host-local: container %s (%s) holds no address in range set %zu (%s)",
					  ctx->container_id, ctx->ifname, i,
					  hl_rangeset_string(&c->sets[i], rs, sizeof(rs)));
			goto out;
		}
	}
	for (i = 0; prev && i < prev->n_ips; i++) {
		const struct cni_ip *ip = &prev->ips[i].addr.ip;
		bool ours = false, leased = false;

		for (j = 0; j < c->n_sets; j++)
			ours = ours || hl_rangeset_find(&c->sets[j], ip);
		for (j = 0; j < n_held; j++)
			leased = leased || cni_ip_equal(ip, &held[j]);
		if (ours && !leased) {
			ret = fail(ctx, CNI_ERR_CHECK, -ENOENT,
					  "host-local: %s of prevResult is not leased to container %s (%s)",
					  cni_ip_format(ip, a), ctx->container_id, ctx->ifname);
			goto out;
		}
	}
	ret = 0;
out:
	hl_store_close(s);
	hl_conf_free(c);
	return ret;
}

/* Not available (50) when the leases cannot be written or a range set is full. */
static int hl_status(struct cni_ctx *ctx)
{
	char rs[1024];
	struct hl_store *s = NULL;
	struct hl_conf *c = NULL;
	struct cni_ip ip, last;
	struct hl_iter it;
	bool found;
	size_t i;
	int ret;

	ret = load(ctx, true, &c);
	if (ret < 0)
		goto out;
	ret = open_store(ctx, c, true, &s);
	if (ret < 0) {
		if (ctx->err.code == CNI_ERR_IO)
			ctx->err.code = CNI_ERR_NOT_AVAILABLE;
		goto out;
	}
	ret = hl_store_probe_write(s, &ctx->err);
	if (ret < 0)
		goto out;
	for (i = 0; i < c->n_sets; i++) {
		found = false;
		hl_iter_init(&it, &c->sets[i],
			     hl_store_last_reserved(s, (unsigned int)i, &last) ? NULL : &last);
		while (!found && hl_iter_next(&it, &ip, NULL))
			found = hl_store_is_free(s, &ip);
		if (!found) {
			ret = fail(ctx, CNI_ERR_NOT_AVAILABLE, -ENOSPC,
					  "range set %zu is exhausted: no IP addresses available in range set: %s",
					  i, hl_rangeset_string(&c->sets[i], rs, sizeof(rs)));
			goto out;
		}
	}
	ret = 0;
out:
	hl_store_close(s);
	hl_conf_free(c);
	return ret;
}

/* A cid-only lease (old format) belongs to every interface of its container. */
static bool gc_keep(void *arg, const char *cid, const char *ifname)
{
	const struct cni_conf *conf = arg;
	size_t i;

	if (*ifname)
		return cni_conf_is_valid_attachment(conf, cid, ifname);
	for (i = 0; i < conf->n_valid; i++)
		if (!strcmp(conf->valid[i].container_id, cid))
			return true;
	return false;
}

static int hl_gc(struct cni_ctx *ctx)
{
	struct hl_store *s = NULL;
	struct hl_conf *c = NULL;
	size_t released = 0;
	int ret;

	ret = load(ctx, false, &c);
	if (ret < 0)
		goto out;
	ret = open_store(ctx, c, false, &s);
	if (ret == -ENOENT && !cni_err_is_set(&ctx->err)) {
		ret = 0;
		goto out;
	}
	if (ret < 0)
		goto out;
	ret = hl_store_gc(s, gc_keep, ctx->conf, &released, &ctx->err);
	if (!ret && released)
		fprintf(stderr, "host-local: GC released %zu lease(s) in %s\n", released,
			hl_store_path(s));
out:
	hl_store_close(s);
	hl_conf_free(c);
	return ret;
}

static const char *const known_args[] = { "IP", NULL };

const struct cni_plugin host_local_plugin = {
	.name = "host-local",
	.about = "CNI host-local IPAM plugin (cnip), compatible with the reference's lease files",
	.args_known = known_args,
	.no_netns = true,
	.add = hl_add,
	.del = hl_del,
	.check = hl_check,
	.status = hl_status,
	.gc = hl_gc,
};
