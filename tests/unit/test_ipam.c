// SPDX-License-Identifier: GPL-2.0-or-later
/* IPAM delegation against the fake plugins in tests/fixtures/ipam. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/ipam.h"
#include "cni/skel.h"

static char fixtures[4096];

static int setup(void **state)
{
	const char *top = getenv("CNIP_TOP");

	snprintf(fixtures, sizeof(fixtures), "/nonexistent:%s/tests/fixtures/ipam", top ? top : ".");
	return 0;
}

/* A ctx whose config names the given IPAM type. */
static struct cni_ctx *ctx_for(const char *type)
{
	struct cni_ctx *ctx = calloc(1, sizeof(*ctx));
	char conf[512];

	snprintf(conf, sizeof(conf),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"type\":\"bridge\",\"ipam\":{\"type\":\"%s\"}}",
		 type);
	assert_int_equal(cni_conf_parse(conf, strlen(conf), &ctx->conf, &ctx->err), 0);
	ctx->path = fixtures;
	ctx->netns_fd = -1;
	return ctx;
}

static void ctx_free(struct cni_ctx *ctx)
{
	cni_conf_free(ctx->conf);
	free(ctx);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);

	assert_non_null(f);
	assert_true(fread(buf, 1, 65535, f) > 0);
	fclose(f);
	return buf;
}

static void test_ok(void **state)
{
	struct cni_ctx *ctx = ctx_for("fake-ok");
	struct cni_result *r = NULL;
	char logbase[] = "/tmp/cnip-ipam-XXXXXX", path[64];
	char *in, *env;
	int fd = mkstemp(logbase);

	close(fd);
	setenv("FAKE_IPAM_LOG", logbase, 1);
	setenv("CNI_COMMAND", "VERSION", 1);
	setenv("CNI_CONTAINERID", "abc", 1);
	assert_int_equal(ipam_add(ctx, &r), 0);
	assert_non_null(r);
	assert_int_equal(r->n_ips, 1);
	assert_int_equal(r->n_routes, 1);
	assert_int_equal(r->dns.n_nameservers, 1);
	assert_string_equal(r->dns.nameservers[0], "10.9.0.53");
	/* Same stdin bytes, same environment, CNI_COMMAND replaced. */
	snprintf(path, sizeof(path), "%s.stdin", logbase);
	in = slurp(path);
	assert_string_equal(in, ctx->conf->raw);
	unlink(path);
	snprintf(path, sizeof(path), "%s.env", logbase);
	env = slurp(path);
	assert_non_null(strstr(env, "CNI_COMMAND=ADD\n"));
	assert_null(strstr(env, "CNI_COMMAND=VERSION"));
	assert_non_null(strstr(env, "CNI_CONTAINERID=abc\n"));
	unlink(path);
	unlink(logbase);
	unsetenv("FAKE_IPAM_LOG");
	free(in);
	free(env);
	cni_result_free(r);
	/* DEL runs it with CNI_COMMAND=DEL and ignores the output. */
	assert_int_equal(ipam_del(ctx), 0);
	assert_int_equal(ipam_check(ctx), 0);
	assert_int_equal(ipam_status(ctx), 0);
	assert_int_equal(ipam_gc(ctx), 0);
	assert_int_equal(ctx->err.code, 0);
	ctx_free(ctx);
}

static void test_error_json(void **state)
{
	struct cni_ctx *ctx = ctx_for("fake-error");
	struct cni_result *r = NULL;

	assert_int_not_equal(ipam_add(ctx, &r), 0);
	assert_null(r);
	assert_int_equal(ctx->err.code, 11);
	assert_string_equal(ctx->err.msg, "range is busy");
	assert_string_equal(ctx->err.details, "try later");
	ctx_free(ctx);
}

static void test_garbage(void **state)
{
	struct cni_ctx *ctx = ctx_for("fake-garbage");
	struct cni_result *r = NULL;

	assert_int_not_equal(ipam_add(ctx, &r), 0);
	assert_null(r);
	assert_int_equal(ctx->err.code, CNI_ERR_DECODE);
	assert_non_null(strstr(ctx->err.msg, "fake-garbage"));
	ctx_free(ctx);
}

static void test_silent_failure(void **state)
{
	struct cni_ctx *ctx = ctx_for("fake-silent-fail");

	assert_int_not_equal(ipam_del(ctx), 0);
	assert_int_equal(ctx->err.code, CNI_ERR_IPAM);
	assert_non_null(strstr(ctx->err.msg, "status 3"));
	ctx_free(ctx);
}

static void test_missing_and_bad_names(void **state)
{
	static const char *const bad[] = { "no-such-ipam", "fake-noexec", "../ipam/fake-ok", "..", "." };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cni_ctx *ctx = ctx_for(bad[i]);
		struct cni_result *r = NULL;

		assert_int_not_equal(ipam_add(ctx, &r), 0);
		assert_null(r);
		assert_int_equal(ctx->err.code, CNI_ERR_CONFIG);
		assert_non_null(strstr(ctx->err.msg, bad[i]));
		ctx_free(ctx);
	}
}

static void test_big_output(void **state)
{
	struct cni_ctx *ctx = ctx_for("fake-bigstdin");
	struct cni_result *r = NULL;

	assert_int_equal(ipam_add(ctx, &r), 0);
	assert_int_equal(r->n_ips, 1);
	cni_result_free(r);
	ctx_free(ctx);
}

static void test_no_ipam(void **state)
{
	struct cni_ctx ctx = { .netns_fd = -1 };
	struct cni_result *r = NULL;
	const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"l2\",\"type\":\"bridge\",\"ipam\":{}}";

	assert_int_equal(cni_conf_parse(conf, strlen(conf), &ctx.conf, &ctx.err), 0);
	assert_null(ctx.conf->ipam_type);
	assert_int_equal(ipam_add(&ctx, &r), 0);
	assert_non_null(r);
	assert_int_equal(r->n_ips, 0);
	assert_int_equal(ipam_del(&ctx), 0);
	cni_result_free(r);
	cni_conf_free(ctx.conf);
}

/* Whether the child logged SIGPIPE as ignored or blocked (/proc/PID/status masks). */
static bool child_sigpipe(const char *log)
{
	static const char *const lines[] = { "SigIgn:", "SigBlk:" };
	unsigned long long mask = 0;
	char path[128], *buf, *p;
	size_t i;

	snprintf(path, sizeof(path), "%s.sig", log);
	buf = slurp(path);
	for (i = 0; i < 2; i++) {
		p = strstr(buf, lines[i]);
		assert_non_null(p);
		mask |= strtoull(p + strlen(lines[i]), NULL, 16);
	}
	free(buf);
	unlink(path);
	return mask & (1ull << (SIGPIPE - 1));
}

/*
 * A child that exits without reading a large config makes our write fail
 * with EPIPE. That must neither kill us nor change the process's signal
 * state, and every child (a rollback's DEL after an ADD) starts with SIGPIPE
 * at its default, unblocked.
 */
static void test_sigpipe(void **state)
{
	char log[] = "/tmp/cnip-ipam-XXXXXX", *conf;
	struct sigaction sa;
	struct cni_ctx ctx = { .netns_fd = -1, .path = fixtures };
	sigset_t mask, pending;
	size_t n = 1 << 20, i;
	int fd = mkstemp(log), round, ignored_at_start;

	close(fd);
	setenv("FAKE_IPAM_LOG", log, 1);
	conf = malloc(n + 256);
	assert_non_null(conf);
	i = (size_t)sprintf(conf, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\","
			    "\"ipam\":{\"type\":\"fake-sigpipe\"},\"pad\":\"");
	memset(conf + i, 'x', n);
	strcpy(conf + i + n, "\"}");
	assert_int_equal(cni_conf_parse(conf, strlen(conf), &ctx.conf, &ctx.err), 0);
	/* As a runtime may start us: SIGPIPE at its default, then ignored. */
	for (ignored_at_start = 0; ignored_at_start < 2; ignored_at_start++) {
		signal(SIGPIPE, ignored_at_start ? SIG_IGN : SIG_DFL);
		for (round = 0; round < 2; round++) {
			cni_err_clear(&ctx.err);
			assert_int_not_equal(ipam_del(&ctx), 0);
			assert_int_equal(ctx.err.code, 11);
			assert_false(child_sigpipe(log));
			assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
			assert_true(sa.sa_handler == (ignored_at_start ? SIG_IGN : SIG_DFL));
			assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &mask), 0);
			assert_false(sigismember(&mask, SIGPIPE));
			assert_int_equal(sigpending(&pending), 0);
			assert_false(sigismember(&pending, SIGPIPE));
		}
	}
	signal(SIGPIPE, SIG_DFL);
	unsetenv("FAKE_IPAM_LOG");
	unlink(log);
	cni_conf_free(ctx.conf);
	free(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_silent_failure),
		cmocka_unit_test(test_missing_and_bad_names),
		cmocka_unit_test(test_big_output),
		cmocka_unit_test(test_no_ipam),
		cmocka_unit_test(test_sigpipe),
	};

	return cmocka_run_group_tests_name("ipam", tests, setup, NULL);
}
