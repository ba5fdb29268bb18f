/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNIP_TEST_FAULTS_H
#define CNIP_TEST_FAULTS_H

/*
 * Fault injection at every state-changing kernel request of a plugin's ADD,
 * shared by test_faults_bridge.c and test_faults_ptp.c. It is a header, not a
 * .c, because every non-test_*.c of tests/unit is linked into every unit test,
 * and these wrappers must exist only in the binaries that ask for them.
 *
 * The wrapped libmnl transport passes every request to the real kernel of the
 * throwaway node (run-unit.sh) except the Nth state-changing one (RTM_NEW*,
 * RTM_DEL*, RTM_SET* and nftables batches): that one is not sent, and the next
 * read on its socket returns an NLMSG_ERROR with -EPERM and an extack text,
 * as the kernel would. For N = 1, 2, ... a full ADD must fail with that error
 * and leave nothing of the attachment behind; the first N that is never
 * reached is the clean ADD, followed by DEL (twice) and the same checks.
 * FLT_TRACE=1 prints each refused request and the error; FLT_TRACE=2 also
 * lists every state-changing request as it is sent.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <cjson/cJSON.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/netfilter/nfnetlink.h>

#include "cni/args.h"
#include "cni/conf.h"
#include "cni/err.h"
#include "cni/netns.h"
#include "cni/podnet.h"
#include "cni/result.h"
#include "cni/skel.h"

#define FLT_EXTACK "flt: injected fault"
#define FLT_MAX_FAULTS 200
#define FLT_IFNAME "eth0"
#define FLT_NAME_LEN 32

ssize_t __real_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len);
ssize_t __real_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz);
ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len);
ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz);

static struct {
	int fail_at;			/* 1-based state-changing request to refuse; 0: none */
	bool fail_rest;			/* refuse every one from fail_at on, not only that one */
	int seen;			/* state-changing requests since flt_arm() */
	int proto;			/* NETLINK_ROUTE or NETLINK_NETFILTER of the refused one */
	char what[64];			/* its name, for failure messages */
	const struct mnl_socket *pending_sk;
	char pending[1024];		/* the canned reply, 0 when none is queued */
	size_t pending_len;
	bool trace;			/* FLT_TRACE=2: list every state-changing request */
	char names[FLT_MAX_FAULTS + 2][FLT_NAME_LEN];	/* [i]: request #i since flt_arm() */
} flt;

static void flt_arm(int n)
{
	flt.fail_at = n;
	flt.seen = 0;
	flt.proto = -1;
	flt.what[0] = '\0';
	flt.pending_sk = NULL;
	flt.pending_len = 0;
}

static int flt_proto(const struct mnl_socket *nl)
{
	socklen_t len = sizeof(int);
	int proto = -1;

	if (getsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0)
		return -1;
	return proto;
}

static const char *flt_rtm_name(uint16_t type, char *buf, size_t len)
{
	static const char *const op[] = { "NEW", "DEL", "GET", "SET" };
	static const char *const obj[] = { "LINK", "ADDR", "ROUTE", "NEIGH", "RULE", "QDISC" };
	unsigned int i = (unsigned int)(type - RTM_BASE);

	if (i / 4 < sizeof(obj) / sizeof(obj[0]))
		snprintf(buf, len, "RTM_%s%s", op[i % 4], obj[i / 4]);
	else
		snprintf(buf, len, "rtnetlink type %u", type);
	return buf;
}

/* Requests that change kernel state; GETs and dumps pass through untouched. */
static bool flt_changes_state(int proto, const struct nlmsghdr *nlh)
{
	if (proto == NETLINK_ROUTE)
		return nlh->nlmsg_type >= RTM_BASE && nlh->nlmsg_type < RTM_MAX &&
		       (nlh->nlmsg_type - RTM_BASE) % 4 != 2;
	if (proto == NETLINK_NETFILTER)
		return nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN;
	return false;
}

/* What the kernel answers to a refused message: a capped error with an extack text. */
static void flt_queue_error(const struct mnl_socket *nl, const struct nlmsghdr *req)
{
	struct nlmsghdr *r;
	struct nlmsgerr *e;
	char text[128];

	memset(flt.pending, 0, sizeof(flt.pending));
	r = mnl_nlmsg_put_header(flt.pending);
	r->nlmsg_type = NLMSG_ERROR;
	r->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
	r->nlmsg_seq = req->nlmsg_seq;
	r->nlmsg_pid = mnl_socket_get_portid(nl);
	e = mnl_nlmsg_put_extra_header(r, sizeof(*e));
	e->error = -EPERM;
	e->msg = *req;
	snprintf(text, sizeof(text), "%s at %s (#%d)", FLT_EXTACK, flt.what, flt.seen);
	mnl_attr_put_strz(r, NLMSGERR_ATTR_MSG, text);
	flt.pending_sk = nl;
	flt.pending_len = r->nlmsg_len;
}

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int proto;

	if (!flt.fail_at || len < sizeof(*nlh))
		return __real_mnl_socket_sendto(nl, buf, len);
	proto = flt_proto(nl);
	if (!flt_changes_state(proto, nlh))
		return __real_mnl_socket_sendto(nl, buf, len);
	if (++flt.seen <= FLT_MAX_FAULTS + 1) {
		char *name = flt.names[flt.seen];

		if (proto == NETLINK_NETFILTER)
			snprintf(name, FLT_NAME_LEN, "nftables batch");
		else
			flt_rtm_name(nlh->nlmsg_type, name, FLT_NAME_LEN);
		if (flt.trace)
			fprintf(stderr, "    #%d %s\n", flt.seen, name);
	}
	if (flt.fail_rest ? flt.seen < flt.fail_at : flt.seen != flt.fail_at)
		return __real_mnl_socket_sendto(nl, buf, len);
	flt.proto = proto;
	snprintf(flt.what, sizeof(flt.what), "%s", flt.names[flt.seen]);
	/* A batch fails at its first message; none of it commits. */
	if (proto == NETLINK_NETFILTER && len >= NLMSG_ALIGN(nlh->nlmsg_len) + sizeof(*nlh))
		nlh = (const struct nlmsghdr *)((const char *)buf + NLMSG_ALIGN(nlh->nlmsg_len));
	flt_queue_error(nl, nlh);
	return (ssize_t)len;
}

ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz)
{
	size_t n = flt.pending_len;

	if (!n || flt.pending_sk != nl)
		return __real_mnl_socket_recvfrom(nl, buf, bufsiz);
	if (n > bufsiz)
		n = bufsiz;
	memcpy(buf, flt.pending, n);
	flt.pending_len = 0;
	flt.pending_sk = NULL;
	return (ssize_t)n;
}

/* ---- the test node ---- */

static char *flt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs a shell command and returns its stdout (malloc'ed; never NULL). */
static char *flt_sh(const char *fmt, ...)
{
	char *cmd = NULL, *out = NULL;
	size_t cap = 0, len = 0;
	va_list ap;
	FILE *f;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	f = popen(cmd, "r");
	assert_non_null(f);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		n = (int)fread(out + len, 1, cap - len - 1, f);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	pclose(f);
	free(cmd);
	return out;
}

static void flt_run_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void flt_run_ok(const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
	free(cmd);
}

/* An uplink with default routes: ptp's proxyArp layout wants a route covering 169.254.1.1. */
static void flt_node_setup(void)
{
	flt_run_ok("ip link add fltup type veth peer name fltupp && "
		   "sysctl -qw net.ipv6.conf.fltup.accept_dad=0 && "
		   "ip addr add 192.0.2.1/24 dev fltup && ip addr add 2001:db8::1/64 dev fltup && "
		   "ip link set fltup up && ip link set fltupp up && "
		   "ip route add default via 192.0.2.2 && ip -6 route add default via 2001:db8::2");
}

/* ---- one attachment, faulted at every request ---- */

/* Occurrences of needle in s: an error says strerror once, not once per layer. */
static int flt_count(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle))) {
		s += strlen(needle);
		n++;
	}
	return n;
}

struct flt_case {
	const struct cni_plugin *plugin;
	const char *conf_tmpl;		/* network config; "@DATADIR@" stands for the dataDir */
	const char *network;		/* its "name" */
	const char *container_id;
	const char *pod_netns;		/* name under /run/netns */
	const char *bridge;		/* node link that may stay (NULL: none) */
	const char *marks[4];		/* ruleset text only this attachment's nft objects carry */
	bool nft;			/* ADD makes nftables objects */
	size_t n_ips;			/* leases a clean ADD takes */
};

struct flt_env {
	char data_dir[64];
	char netns_path[128];
	char conf[2048];
	int netns_fd;
};

/* tmpl with its first "key" replaced by val, into out (no heap: a failed assert jumps out). */
static void flt_subst(char *out, size_t len, const char *tmpl, const char *key, const char *val)
{
	const char *at = strstr(tmpl, key);

	assert_non_null(at);
	assert_true((size_t)snprintf(out, len, "%.*s%s%s", (int)(at - tmpl), tmpl, val,
				     at + strlen(key)) < len);
}

static void flt_env_open(const struct flt_case *k, struct flt_env *e)
{
	const char *top = getenv("CNIP_TOP");
	char path[512];

	if (!top)
		top = ".";
	snprintf(path, sizeof(path), "%s/build/san/bin", top);
	if (system("nft list ruleset >/dev/null 2>&1") != 0)
		skip();
	snprintf(e->conf, sizeof(e->conf), "%s/host-local", path);
	if (access(e->conf, X_OK) < 0)
		fail_msg("%s: not built (make unit builds it)", e->conf);
	snprintf(e->data_dir, sizeof(e->data_dir), "/tmp/flt-XXXXXX");
	assert_non_null(mkdtemp(e->data_dir));
	flt_subst(e->conf, sizeof(e->conf), k->conf_tmpl, "@DATADIR@", e->data_dir);
	flt_run_ok("ip netns add %s", k->pod_netns);
	snprintf(e->netns_path, sizeof(e->netns_path), "/run/netns/%s", k->pod_netns);
	assert_int_equal(cni_netns_open(e->netns_path, &e->netns_fd, NULL), 0);
	/* IPAM runs as a child with our environment, as the runtime would give it. */
	setenv("CNI_CONTAINERID", k->container_id, 1);
	setenv("CNI_NETNS", e->netns_path, 1);
	setenv("CNI_IFNAME", FLT_IFNAME, 1);
	setenv("CNI_PATH", path, 1);
	unsetenv("CNI_ARGS");
}

static void flt_env_close(const struct flt_case *k, struct flt_env *e)
{
	close(e->netns_fd);
	flt_run_ok("ip netns del %s && rm -rf %s", k->pod_netns, e->data_dir);
}

/* One verb through the plugin's own entry, with a ctx as the skel builds it. */
static int flt_verb(const struct flt_case *k, struct flt_env *e, enum cni_cmd cmd,
		    const char *conf_text, char **result, struct cni_err *err)
{
	struct cni_ctx ctx = { .cmd = cmd, .netns_fd = e->netns_fd };
	struct cni_result *r = NULL;
	int ret;

	ctx.command = cmd == CNI_CMD_ADD ? "ADD" : "DEL";
	ctx.container_id = k->container_id;
	ctx.netns = e->netns_path;
	ctx.ifname = FLT_IFNAME;
	ctx.path = getenv("CNI_PATH");
	setenv("CNI_COMMAND", ctx.command, 1);
	assert_int_equal(cni_args_parse(NULL, &ctx.args, NULL), 0);
	assert_int_equal(cni_conf_parse(conf_text, strlen(conf_text), &ctx.conf, NULL), 0);
	if (cmd == CNI_CMD_ADD) {
		ret = k->plugin->add(&ctx, &r);
		if (ret == 0)
			assert_int_equal(cni_result_format(r, ctx.conf->cni_version, result, NULL), 0);
	} else {
		ret = k->plugin->del(&ctx);
	}
	*err = ctx.err;
	cni_result_free(r);
	cni_conf_free(ctx.conf);
	cni_args_free(ctx.args);
	return ret;
}

/* The config a runtime sends with DEL: the same, plus ADD's result as prevResult. */
static char *flt_with_prev(const char *conf, const char *result)
{
	cJSON *root = cJSON_Parse(conf), *prev = cJSON_Parse(result);
	char *text;

	assert_non_null(root);
	assert_non_null(prev);
	cJSON_AddItemToObject(root, "prevResult", prev);
	text = cJSON_PrintUnformatted(root);
	assert_non_null(text);
	cJSON_Delete(root);
	return text;
}

/* Names of the links in a netns ("" = ours), from `ip -j link`. */
static size_t flt_links(const char *netns, char names[][IF_NAMESIZE], size_t max)
{
	char *out = flt_sh("ip %s%s -j link show", *netns ? "-n " : "", netns);
	cJSON *arr = cJSON_Parse(out), *l;
	size_t n = 0;

	assert_non_null(arr);
	cJSON_ArrayForEach(l, arr) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(l, "ifname");

		assert_true(cJSON_IsString(name));
		assert_true(n < max);
		snprintf(names[n++], IF_NAMESIZE, "%s", name->valuestring);
	}
	cJSON_Delete(arr);
	free(out);
	return n;
}

/* Lease files of the network: those named by an address (not the lock, cursors or .cnip index). */
static size_t flt_leases(const struct flt_case *k, const struct flt_env *e, const char *when)
{
	char dir[256], buf[16];
	struct dirent *d;
	size_t n = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/%s", e->data_dir, k->network);
	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((d = readdir(dp)))
		if (inet_pton(AF_INET, d->d_name, buf) == 1 || inet_pton(AF_INET6, d->d_name, buf) == 1) {
			if (when)
				print_error("%s: lease %s left\n", when, d->d_name);
			n++;
		}
	closedir(dp);
	return n;
}

/* Objects of an attachment in `nft -j list ruleset`: its chains, map elements and marks. */
static size_t flt_nft_objects(const struct flt_case *k, const char *when)
{
	char *out = flt_sh("nft -j list ruleset");
	cJSON *root = cJSON_Parse(out), *o;
	size_t n = 0, i;

	assert_non_null(root);
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(root, "nftables")) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "chain");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "map");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");

		/* One attachment at a time: any attachment chain or element is its. */
		if (cJSON_IsString(name) && (!strncmp(name->valuestring, "masq-", 5) ||
					     !strncmp(name->valuestring, "sc-", 3))) {
			if (when)
				print_error("%s: chain %s left\n", when, name->valuestring);
			n++;
		}
		if (m && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "elem")) > 0) {
			if (when)
				print_error("%s: elements left in map %s\n", when,
					    cJSON_GetObjectItemCaseSensitive(m, "name")->valuestring);
			n++;
		}
	}
	for (i = 0; k->marks[i]; i++)
		if (strstr(out, k->marks[i])) {
			if (when)
				print_error("%s: ruleset still mentions %s\n", when, k->marks[i]);
			n++;
		}
	cJSON_Delete(root);
	free(out);
	return n;
}

/* Nothing of the attachment is left; the bridge (and its gateway addresses) may stay. */
static void flt_assert_clean(const struct flt_case *k, const struct flt_env *e, const char *when)
{
	char names[16][IF_NAMESIZE], hv[PODNET_VETH_NAMELEN];
	size_t n, i, leases;

	podnet_veth_name(k->network, k->container_id, FLT_IFNAME, hv);
	if (if_nametoindex(hv))
		fail_msg("%s: host veth %s left", when, hv);
	n = flt_links("", names, 16);
	for (i = 0; i < n; i++)
		if (strcmp(names[i], "lo") && strcmp(names[i], "fltup") && strcmp(names[i], "fltupp") &&
		    (!k->bridge || strcmp(names[i], k->bridge)))
			fail_msg("%s: node link %s left", when, names[i]);
	n = flt_links(k->pod_netns, names, 16);
	for (i = 0; i < n; i++)
		if (strcmp(names[i], "lo"))
			fail_msg("%s: pod link %s left", when, names[i]);
	leases = flt_leases(k, e, when);
	if (leases)
		fail_msg("%s: %zu lease files left in %s/%s", when, leases, e->data_dir, k->network);
	if (flt_nft_objects(k, when))
		fail_msg("%s: nftables objects of the attachment left", when);
}

/* What a clean ADD made is all there, so the clean checks can see each part. */
static void flt_assert_made(const struct flt_case *k, const struct flt_env *e)
{
	char names[16][IF_NAMESIZE], hv[PODNET_VETH_NAMELEN];

	podnet_veth_name(k->network, k->container_id, FLT_IFNAME, hv);
	assert_true(if_nametoindex(hv) > 0);
	assert_int_equal(flt_links(k->pod_netns, names, 16), 2);
	assert_int_equal(flt_leases(k, e, NULL), k->n_ips);
	if (k->nft)
		assert_true(flt_nft_objects(k, NULL) > 0);
}

/*
 * One pass: ADD refused at request 1, 2, ... until an ADD runs out of requests
 * before the fault (the clean ADD), then DEL twice. Every ADD of a pass must
 * start from the same node so that it sends the same requests (fresh_bridge
 * deletes the bridge before each); the pass checks that request i of the clean
 * ADD is the one ADD i refused, so no request goes unrefused when state that a
 * failed ADD may keep (the bridge, its addresses) shifts the count.
 */
static void flt_pass(const struct flt_case *k, struct flt_env *e, const char *label,
		     bool fresh_bridge)
{
	static char refused[FLT_MAX_FAULTS + 1][FLT_NAME_LEN];
	struct cni_err err;
	char *result = NULL, *del_conf, when[192];
	int n, i, ret, proto, faults = 0;

	for (n = 1; n <= FLT_MAX_FAULTS; n++) {
		if (fresh_bridge)
			flt_run_ok("! ip link show %s >/dev/null 2>&1 || ip link del %s", k->bridge, k->bridge);
		flt_arm(n);
		memset(&err, 0, sizeof(err));
		ret = flt_verb(k, e, CNI_CMD_ADD, e->conf, &result, &err);
		if (flt.seen < n)
			break;
		snprintf(when, sizeof(when), "%s (%s): ADD with %s #%d refused", k->network, label, flt.what, n);
		snprintf(refused[n], FLT_NAME_LEN, "%s", flt.names[n]);
		proto = flt.proto;
		flt_arm(0);
		if (ret == 0)
			fail_msg("%s: ADD succeeded anyway", when);
		if (err.code != (proto == NETLINK_NETFILTER ? CNI_ERR_NFT : CNI_ERR_NETLINK) ||
		    err.errnum != EPERM || !strstr(err.details, FLT_EXTACK) ||
		    flt_count(err.msg, strerror(EPERM)) != 1)
			fail_msg("%s: wrong error: code %d errno %d \"%s\" details \"%s\"", when, err.code,
				 err.errnum, err.msg, err.details);
		flt_assert_clean(k, e, when);
		if (getenv("FLT_TRACE"))
			print_message("%s: %s\n", when, err.msg);
		faults++;
	}
	if (n > FLT_MAX_FAULTS)
		fail_msg("%s (%s): ADD never ran out of requests", k->network, label);
	if (ret != 0)
		fail_msg("%s (%s): clean ADD failed: %s (%s)", k->network, label, err.msg, err.details);
	for (i = 1; i <= flt.seen; i++)
		if (strcmp(refused[i], flt.names[i]))
			fail_msg("%s (%s): request #%d of the clean ADD (%s) was never refused "
				 "(that ADD refused %s): the node changed between ADDs", k->network,
				 label, i, flt.names[i], refused[i]);
	flt_arm(0);
	assert_true(faults > 0);
	print_message("%s (%s): %d requests refused in turn, each ADD rolled back\n", k->network, label,
		      faults);
	flt_assert_made(k, e);

	del_conf = flt_with_prev(e->conf, result);
	snprintf(when, sizeof(when), "%s (%s): after DEL", k->network, label);
	ret = flt_verb(k, e, CNI_CMD_DEL, del_conf, NULL, &err);
	if (ret != 0)
		fail_msg("%s: %s (%s)", when, err.msg, err.details);
	flt_assert_clean(k, e, when);
	ret = flt_verb(k, e, CNI_CMD_DEL, del_conf, NULL, &err);
	if (ret != 0)
		fail_msg("%s again: %s (%s)", when, err.msg, err.details);
	flt_assert_clean(k, e, when);
	free(del_conf);
	free(result);
}

/* A bridge case runs twice: ADDs that create the bridge, then ADDs that find it as DEL left it. */
static void flt_run(const struct flt_case *k)
{
	struct flt_env e;

	flt_env_open(k, &e);
	flt.trace = getenv("FLT_TRACE") && !strcmp(getenv("FLT_TRACE"), "2");
	if (k->bridge) {
		flt_pass(k, &e, "new bridge", true);
		flt_pass(k, &e, "existing bridge", false);
	} else {
		flt_pass(k, &e, "fresh node", false);
	}
	flt_env_close(k, &e);
}

#endif
