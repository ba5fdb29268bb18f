// SPDX-License-Identifier: GPL-2.0-or-later
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/build.h"
#include "cni/json.h"
#include "cni/netns.h"
#include "cni/skel.h"

#define STDIN_MAX (16u << 20)
#define LATEST "1.1.0"

static const struct cni_command_info {
	const char *name;
	enum cni_cmd cmd;
	const char *min_version;	/* the config must be at least this */
} commands[] = {
	{ "ADD", CNI_CMD_ADD, NULL },
	{ "DEL", CNI_CMD_DEL, NULL },
	{ "CHECK", CNI_CMD_CHECK, "0.4.0" },
	{ "STATUS", CNI_CMD_STATUS, "1.1.0" },
	{ "GC", CNI_CMD_GC, "1.1.0" },
	{ "VERSION", CNI_CMD_VERSION, NULL },
};

/* Which variables each verb needs, as libcni's skel asks for them. */
enum { NEED_ID = 1, NEED_NETNS = 2, NEED_IF = 4, NEED_PATH = 8 };
static const unsigned int needs[] = {
	[CNI_CMD_ADD] = NEED_ID | NEED_NETNS | NEED_IF | NEED_PATH,
	[CNI_CMD_DEL] = NEED_ID | NEED_IF | NEED_PATH,
	[CNI_CMD_CHECK] = NEED_ID | NEED_NETNS | NEED_IF | NEED_PATH,
	[CNI_CMD_STATUS] = NEED_PATH,
	[CNI_CMD_GC] = NEED_PATH,
	[CNI_CMD_VERSION] = 0,
};

void cni_skel_print_error(const struct cni_err *err, const char *version, FILE *f)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (o && cJSON_AddStringToObject(o, "cniVersion", version ? version : LATEST) &&
	    cJSON_AddNumberToObject(o, "code", err->code ? err->code : CNI_ERR_INTERNAL) &&
	    cJSON_AddStringToObject(o, "msg", err->msg[0] ? err->msg : "unknown error") &&
	    (!err->details[0] || cJSON_AddStringToObject(o, "details", err->details)))
		text = cJSON_PrintUnformatted(o);
	if (text)
		fprintf(f, "%s\n", text);
	else
		fprintf(f, "{\"code\":%d,\"msg\":\"out of memory\"}\n", CNI_ERR_INTERNAL);
	fflush(f);
	free(text);
	cJSON_Delete(o);
}

static int read_stdin(char **out, size_t *len, struct cni_err *err)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1), *p;
	ssize_t r;

	if (!buf)
		return cni_err_set(err, CNI_ERR_IO, -ENOMEM, "reading stdin");
	for (;;) {
		if (n == cap) {
			if (cap >= STDIN_MAX) {
				free(buf);
				return cni_err_set(err, CNI_ERR_IO, -EFBIG, "reading stdin");
			}
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				return cni_err_set(err, CNI_ERR_IO, -ENOMEM, "reading stdin");
			}
			buf = p;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		/* A runtime that closed stdin sends nothing: that is empty input, not an I/O error. */
		if (r < 0 && errno != EBADF) {
			int e = -errno;

			free(buf);
			return cni_err_set(err, CNI_ERR_IO, e, "reading stdin");
		}
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* The cniVersion an error should carry: the config's when it says a known one. */
static const char *guess_version(const char *buf, size_t len, char *out, size_t outlen)
{
	struct cni_json *j = NULL;
	const char *v = NULL;

	snprintf(out, outlen, LATEST);
	if (cni_json_parse(buf, len, &j, NULL) == 0 && cni_json_get_str(j, "cniVersion", &v, NULL) == 0 && v)
		snprintf(out, outlen, "%s", *v ? v : "0.1.0");
	cni_json_free(j);
	if (!cni_version_known(out))
		snprintf(out, outlen, LATEST);
	return out;
}

static int print_version(FILE *f)
{
	int i;

	/* The guessed version is the input's cniVersion when it is one we speak. */
	fputs("\"supportedVersions\":[", f);
	for (i = 0; cni_versions[i]; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", cni_versions[i]);
	fputs("]}\n", f);
	return fflush(f) == EOF ? 1 : 0;
}

static int env_error(struct cni_err *err, const char *var, const char *why, const char *val)
{
	if (val)
		return cni_err_set(err, CNI_ERR_ENV, 0, "%s %s: \"%s\"", var, why, val);
	return cni_err_set(err, CNI_ERR_ENV, 0, "%s %s", var, why);
}

static int read_env(struct cni_ctx *ctx, unsigned int need, bool reads_args)
{
	const char *id = getenv("CNI_CONTAINERID"), *netns = getenv("CNI_NETNS");
	const char *ifname = getenv("CNI_IFNAME"), *path = getenv("CNI_PATH");
	int ret;

	if ((need & NEED_ID) && (!id || !*id))
		return env_error(&ctx->err, "CNI_CONTAINERID", "is not set", NULL);
	if ((need & NEED_NETNS) && (!netns || !*netns))
		return env_error(&ctx->err, "CNI_NETNS", "is not set", NULL);
	if ((need & NEED_IF) && (!ifname || !*ifname))
		return env_error(&ctx->err, "CNI_IFNAME", "is not set", NULL);
	if ((need & NEED_PATH) && (!path || !*path))
		return env_error(&ctx->err, "CNI_PATH", "is not set", NULL);
	if ((need & NEED_ID) && !cni_valid_name(id))
		return env_error(&ctx->err, "CNI_CONTAINERID", "has invalid characters", id);
	if ((need & NEED_IF) && !cni_valid_ifname(ifname))
		return env_error(&ctx->err, "CNI_IFNAME",
				 "is not a valid interface name (1-15 bytes, no '/', ':' or space)", ifname);
	ctx->container_id = need & NEED_ID ? id : NULL;
	ctx->netns = netns;
	ctx->ifname = need & NEED_IF ? ifname : NULL;
	ctx->path = path;
	ret = cni_args_parse(getenv("CNI_ARGS"), &ctx->args, &ctx->err);
	/*
	 * Only a plugin that reads CNI_ARGS judges its syntax: the reference's
	 * loopback and ptp never parse it, so a runtime's odd CNI_ARGS must not
	 * fail them (ptp's IPAM still does, as the reference's host-local).
	 */
	if (ret == -EINVAL && !reads_args) {
		cni_err_clear(&ctx->err);
		ret = cni_args_parse(NULL, &ctx->args, &ctx->err);
	}
	return ret;
}

static int open_netns(struct cni_ctx *ctx, const struct cni_plugin *p)
{
	int ret;

	if (p->no_netns || !ctx->netns || !*ctx->netns ||
	    ctx->cmd == CNI_CMD_STATUS || ctx->cmd == CNI_CMD_GC)
		return 0;
	ret = cni_netns_open(ctx->netns, &ctx->netns_fd, &ctx->err);
	/* DEL is best effort: a pod whose netns is gone still has host state to clean. */
	if (ret == -ENOENT && ctx->cmd == CNI_CMD_DEL) {
		cni_err_clear(&ctx->err);
		return 0;
	}
	if (ret < 0)
		return ret;
	if (cni_netns_is_current(ctx->netns_fd))
		return cni_err_set(&ctx->err, CNI_ERR_ENV, 0,
				   "CNI_NETNS \"%s\" is the plugin's own network namespace; refusing to "
				   "touch the node's interfaces", ctx->netns);
	return 0;
}

/* ADD leaves its result in *text, formatted in the config's version. */
static int dispatch(struct cni_ctx *ctx, const struct cni_plugin *p, char **text)
{
	struct cni_result *result = NULL;
	int ret;

	switch (ctx->cmd) {
	case CNI_CMD_ADD:
		if (!p->add)
			return cni_err_set(&ctx->err, CNI_ERR_INTERNAL, -ENOTSUP, "ADD is not implemented");
		ret = p->add(ctx, &result);
		if (ret < 0)
			break;
		if (!result)
			result = cni_result_new();
		if (!result) {
			ret = cni_err_set(&ctx->err, CNI_ERR_IO, -ENOMEM, "ADD");
			break;
		}
		/* A result the config's version cannot express fails ADD, so undo it. */
		ret = cni_result_format(result, ctx->conf->cni_version, text, &ctx->err);
		if (ret < 0) {
			if (p->del) {
				struct cni_err scratch = { 0 };
				struct cni_err saved = ctx->err;

				ctx->err = scratch;
				p->del(ctx);
				ctx->err = saved;
			}
			break;
		}
		break;
	case CNI_CMD_DEL:
		ret = p->del ? p->del(ctx) : 0;
		break;
	case CNI_CMD_CHECK:
		ret = p->check ? p->check(ctx) : 0;
		break;
	case CNI_CMD_STATUS:
		ret = p->status ? p->status(ctx) : 0;
		break;
	case CNI_CMD_GC:
		/*
		 * Without cni.dev/valid-attachments nothing tells a leak from a
		 * live pod: every plugin keeps everything.
		 */
		ret = p->gc && ctx->conf->has_valid ? p->gc(ctx) : 0;
		break;
	default:
		ret = -EINVAL;
	}
	cni_result_free(result);
	return ret;
}

static const struct cni_command_info *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

/*
 * Everything after CNI_COMMAND and stdin, for a plugin process and for a
 * plugin run in-process alike: the environment as this verb needs it, the
 * config, CNI_ARGS, the netns, the verb.
 */
static int run(struct cni_ctx *ctx, const struct cni_plugin *p, const struct cni_command_info *c,
	       const char *input, size_t len, char **text)
{
	int ret;

	ctx->cmd = c->cmd;
	ctx->command = c->name;
	ret = read_env(ctx, needs[ctx->cmd], p->args_known != NULL);
	if (ret < 0)
		return ret;
	ret = cni_conf_parse(input, len, &ctx->conf, &ctx->err);
	if (ret < 0)
		return ret;
	if (c->min_version && cni_version_cmp(ctx->conf->cni_version, c->min_version) < 0)
		return cni_err_set(&ctx->err, CNI_ERR_VERSION, 0,
				   "config version \"%s\" does not allow %s (needs %s or later)",
				   ctx->conf->cni_version, ctx->command, c->min_version);
	if (p->args_known) {
		ret = cni_args_check(ctx->args, p->args_known, &ctx->err);
		if (ret < 0)
			return ret;
	}
	ret = open_netns(ctx, p);
	if (ret < 0)
		return ret;
	return dispatch(ctx, p, text);
}

static void ctx_release(struct cni_ctx *ctx)
{
	if (ctx->netns_fd >= 0)
		close(ctx->netns_fd);
	cni_conf_free(ctx->conf);
	cni_args_free(ctx->args);
}

int cni_skel_call(const struct cni_plugin *p, const char *command, const char *input, size_t len,
		  struct cni_result **out, struct cni_err *err)
{
	const struct cni_command_info *c = find_command(command);
	struct cni_ctx ctx = { .netns_fd = -1 };
	struct cni_err perr = { 0 };
	char *text = NULL;
	int ret;

	if (!c || c->cmd == CNI_CMD_VERSION)
		return cni_err_set(err, CNI_ERR_INTERNAL, -EINVAL, "%s in-process", command);
	ret = run(&ctx, p, c, input, len, &text);
	if (ret < 0) {
		if (!ctx.err.code)
			cni_err_set(&ctx.err, CNI_ERR_INTERNAL, ret, "%s failed", command);
		if (!cni_err_is_set(err))
			*err = ctx.err;
		ret = -EIO;	/* as a plugin process's error: its code and message are in err */
		goto out;
	}
	/* Through the text the process would print: the same result, version and all. */
	if (out && text) {
		ret = cni_result_parse(text, strlen(text), out, &perr);
		if (ret < 0)
			cni_err_set(err, perr.code, ret, "%s returned an invalid result (%s)", p->name, perr.msg);
	}
out:
	free(text);
	ctx_release(&ctx);
	return ret;
}

int cni_skel_main(const struct cni_plugin *p)
{
	struct cni_ctx ctx = { .netns_fd = -1 };
	const char *cmd = getenv("CNI_COMMAND");
	const struct cni_command_info *c;
	char version[16];
	char *input = NULL, *text = NULL;
	size_t len = 0;
	int ret;

	if (!cmd || !*cmd) {
		fprintf(stderr, "%s\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, "
			"0.4.0, 1.0.0, 1.1.0\nbuild %s\n", p->about ? p->about : p->name, cni_build_id());
		return 0;
	}
	ret = read_stdin(&input, &len, &ctx.err);
	guess_version(input ? input : "", len, version, sizeof(version));
	if (ret < 0)
		goto out;
	c = find_command(cmd);
	if (!c) {
		ret = env_error(&ctx.err, "CNI_COMMAND", "is not one of ADD, DEL, CHECK, STATUS, GC, VERSION",
				cmd);
		goto out;
	}
	if (c->cmd == CNI_CMD_VERSION) {
		printf("{\"cniVersion\":\"%s\",", version);
		ret = print_version(stdout) ? -EIO : 0;
		goto out;
	}
	ret = run(&ctx, p, c, input, len, &text);
	if (!ret && text && (printf("%s\n", text) < 0 || fflush(stdout) == EOF))
		ret = cni_err_set(&ctx.err, CNI_ERR_IO, -EIO, "writing result");
out:
	if (ret < 0) {
		if (!ctx.err.code)
			cni_err_set(&ctx.err, CNI_ERR_INTERNAL, ret, "%s failed", cmd ? cmd : "plugin");
		cni_skel_print_error(&ctx.err, version, stdout);
	}
	ctx_release(&ctx);
	free(text);
	free(input);
	return ret < 0 ? 1 : 0;
}
