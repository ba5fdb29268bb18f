// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cni/build.h"
#include "cni/ipam.h"
#include "cni/json.h"
#include "cni/skel.h"

extern char **environ;

static const struct cni_plugin *builtin;

void ipam_set_builtin(const struct cni_plugin *p)
{
	builtin = p;
}

#define OUT_MAX (4u << 20)

/* Finds name in the ':'-separated dirs: a regular, executable file. */
static int find_in_path(const char *name, const char *dirs, char **out, struct cni_err *err)
{
	const char *p = dirs ? dirs : "";

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "invalid IPAM plugin type \"%s\": must be a plain file name", name);
	while (*p) {
		size_t n = strcspn(p, ":");
		char *path;
		struct stat st;

		if (n && asprintf(&path, "%.*s/%s", (int)n, p, name) >= 0) {
			if (!stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK)) {
				*out = path;
				return 0;
			}
			free(path);
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return cni_err_set(err, CNI_ERR_CONFIG, -ENOENT,
			   "failed to find IPAM plugin \"%s\" in CNI_PATH \"%s\"", name, dirs ? dirs : "");
}

/* Our environment with CNI_COMMAND replaced. */
static char **make_env(const char *command)
{
	size_t n = 0, i, j = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "CNI_COMMAND=", 12))
			env[j++] = environ[i];
	if (asprintf(&env[j], "CNI_COMMAND=%s", command) < 0) {
		free(env);
		return NULL;
	}
	return env;
}

static void free_env(char **env)
{
	size_t i;

	if (!env)
		return;
	for (i = 0; env[i]; i++)
		if (!strncmp(env[i], "CNI_COMMAND=", 12))
			free(env[i]);
	free(env);
}

/*
 * A child that exits without reading its stdin makes our write fail with
 * EPIPE and raise SIGPIPE, which would kill us. Library code must not change
 * the process's dispositions (nor hand SIG_IGN to later children), so the
 * signal is blocked in this thread around the writes, and one it raised is
 * consumed before the old mask comes back: pipes have no MSG_NOSIGNAL.
 */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
	g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void sigpipe_unblock(struct sigpipe_guard *g, bool raised)
{
	static const struct timespec now = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	/* One that was pending before us is somebody else's to receive. */
	if (raised && !g->was_pending)
		while (sigtimedwait(&set, NULL, &now) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/*
 * Feeds in to the child's stdin and collects its stdout at the same time, so
 * neither side can block on a full pipe.
 */
static int pump(int in_fd, const char *in, size_t in_len, int out_fd, char **out, size_t *out_len)
{
	size_t cap = 4096, n = 0, off = 0;
	char *buf = malloc(cap + 1), *p;
	struct sigpipe_guard guard;
	struct pollfd pfd[2];
	bool epipe = false;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	sigpipe_block(&guard);
	if (!in_len) {
		close(in_fd);
		in_fd = -1;
	}
	while (out_fd >= 0) {
		int nfds = 0, i;

		if (in_fd >= 0)
			pfd[nfds++] = (struct pollfd){ .fd = in_fd, .events = POLLOUT };
		pfd[nfds++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
		if (poll(pfd, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		for (i = 0; i < nfds; i++) {
			ssize_t r;

			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == in_fd) {
				r = write(in_fd, in + off, in_len - off);
				epipe = epipe || (r < 0 && errno == EPIPE);
				if (r < 0 && errno != EAGAIN && errno != EINTR)
					off = in_len; /* the child stopped reading; it will say why */
				else if (r > 0)
					off += (size_t)r;
				if (off == in_len) {
					close(in_fd);
					in_fd = -1;
				}
				continue;
			}
			if (n == cap) {
				if (cap >= OUT_MAX) {
					ret = -EFBIG;
					goto out;
				}
				cap *= 2;
				p = realloc(buf, cap + 1);
				if (!p) {
					ret = -ENOMEM;
					goto out;
				}
				buf = p;
			}
			r = read(out_fd, buf + n, cap - n);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				out_fd = -1;
				break;
			}
			n += (size_t)r;
		}
	}
out:
	if (in_fd >= 0)
		close(in_fd);
	sigpipe_unblock(&guard, epipe);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

/* The child's error JSON becomes ours, keeping its code and message. */
static int child_error(const char *type, const char *command, const char *out, size_t len, int status,
		       struct cni_err *err)
{
	struct cni_json *j = NULL;
	long long code = 0;
	const char *msg = NULL, *details = NULL;

	if (len && cni_json_parse(out, len, &j, NULL) == 0 &&
	    cni_json_get_int(j, "code", 1, 0x7fffffff, &code, NULL) == 0 && code &&
	    cni_json_get_str(j, "msg", &msg, NULL) == 0 &&
	    cni_json_get_str(j, "details", &details, NULL) == 0) {
		if (!cni_err_is_set(err)) {
			cni_err_set(err, (int)code, 0, "%s", msg ? msg : "");
			if (details && *details)
				cni_err_details(err, "%s", details);
		}
	} else if (WIFEXITED(status)) {
		cni_err_set(err, CNI_ERR_IPAM, 0, "IPAM plugin \"%s\" %s exited with status %d and %s",
			    type, command, WEXITSTATUS(status), len ? "no error JSON" : "no output");
	} else {
		cni_err_set(err, CNI_ERR_IPAM, 0, "IPAM plugin \"%s\" %s was killed by signal %d",
			    type, command, WTERMSIG(status));
	}
	cni_json_free(j);
	return -EIO;
}

int ipam_exec(const struct cni_ctx *ctx, const char *command, struct cni_result **out,
	      struct cni_err *err)
{
	const char *type = ctx->conf->ipam_type;
	int in_pipe[2] = { -1, -1 }, out_pipe[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_init = false, attr_init = false;
	char *path = NULL, *output = NULL, **env = NULL;
	size_t out_len = 0;
	pid_t pid = -1;
	int ret, status = 0;

	if (!type) {
		if (out && !(*out = cni_result_new()))
			return cni_err_set(err, CNI_ERR_IO, -ENOMEM, "IPAM");
		return 0;
	}
	ret = find_in_path(type, ctx->path, &path, err);
	if (ret < 0)
		return ret;
	/* The file is this very build of the plugin: what it would do, done here. */
	if (builtin && !strcmp(type, builtin->name) && cni_build_is_ours(path)) {
		free(path);
		return cni_skel_call(builtin, command, ctx->conf->raw, ctx->conf->raw_len, out, err);
	}
	env = make_env(command);
	if (!env || pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0) {
		ret = cni_err_set(err, CNI_ERR_IO, env ? -errno : -ENOMEM, "starting IPAM plugin \"%s\"", type);
		goto out;
	}
	ret = -posix_spawn_file_actions_init(&fa);
	fa_init = !ret;
	if (!ret)
		ret = -posix_spawn_file_actions_adddup2(&fa, in_pipe[0], STDIN_FILENO);
	if (!ret)
		ret = -posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
	if (!ret) {
		ret = -posix_spawnattr_init(&attr);
		attr_init = !ret;
	}
	/*
	 * The plugin starts as a runtime would start it: SIGPIPE at its default
	 * and unblocked, whatever our own runtime left us with.
	 */
	if (!ret) {
		sigset_t def, mask;

		sigemptyset(&def);
		sigaddset(&def, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, NULL, &mask);
		sigdelset(&mask, SIGPIPE);
		ret = -posix_spawnattr_setsigdefault(&attr, &def);
		if (!ret)
			ret = -posix_spawnattr_setsigmask(&attr, &mask);
		if (!ret)
			ret = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	}
	if (!ret) {
		char *argv[] = { path, NULL };

		ret = -posix_spawn(&pid, path, &fa, &attr, argv, env);
	}
	if (ret < 0) {
		pid = -1;
		cni_err_set(err, CNI_ERR_IO, ret, "starting IPAM plugin \"%s\"", path);
		goto out;
	}
	close(in_pipe[0]);
	close(out_pipe[1]);
	in_pipe[0] = out_pipe[1] = -1;
	ret = pump(in_pipe[1], ctx->conf->raw, ctx->conf->raw_len, out_pipe[0], &output, &out_len);
	in_pipe[1] = -1;
	if (ret < 0) {
		kill(pid, SIGKILL);
		cni_err_set(err, CNI_ERR_IO, ret, "reading from IPAM plugin \"%s\"", type);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (ret < 0)
		goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		ret = child_error(type, command, output, out_len, status, err);
		goto out;
	}
	if (out) {
		struct cni_err perr = { 0 };

		ret = cni_result_parse(output, out_len, out, &perr);
		if (ret < 0)
			cni_err_set(err, perr.code, ret, "IPAM plugin \"%s\" returned an invalid result (%s)",
				    type, perr.msg);
	}
out:
	if (attr_init)
		posix_spawnattr_destroy(&attr);
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (in_pipe[0] >= 0)
		close(in_pipe[0]);
	if (in_pipe[1] >= 0)
		close(in_pipe[1]);
	if (out_pipe[0] >= 0)
		close(out_pipe[0]);
	if (out_pipe[1] >= 0)
		close(out_pipe[1]);
	free_env(env);
	free(output);
	free(path);
	return ret;
}

int ipam_add(struct cni_ctx *ctx, struct cni_result **out)
{
	return ipam_exec(ctx, "ADD", out, &ctx->err);
}

int ipam_del(struct cni_ctx *ctx)
{
	return ipam_exec(ctx, "DEL", NULL, &ctx->err);
}

int ipam_check(struct cni_ctx *ctx)
{
	return ipam_exec(ctx, "CHECK", NULL, &ctx->err);
}

int ipam_status(struct cni_ctx *ctx)
{
	struct cni_err e = { 0 };
	int ret = ipam_exec(ctx, "STATUS", NULL, &e);

	/* A plugin that is not there cannot serve an ADD either: "not available" (50). */
	if (ret == -ENOENT && e.code == CNI_ERR_CONFIG)
		e.code = CNI_ERR_NOT_AVAILABLE;
	if (ret < 0 && !cni_err_is_set(&ctx->err))
		ctx->err = e;
	return ret;
}

int ipam_gc(struct cni_ctx *ctx)
{
	return ipam_exec(ctx, "GC", NULL, &ctx->err);
}
