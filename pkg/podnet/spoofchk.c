// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * MAC spoof check in a bridge-family nftables table. Like the reference (which
 * drives nft through go-nft), this hands one script to `nft -f -`: every
 * change is a single kernel transaction. Idempotence without reading state
 * first: "add X; delete X" always succeeds whether X existed or not, and the
 * base chain is flushed and refilled with its one vmap rule each time.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cni/hash.h"
#include "cni/json.h"
#include "cni/podnet.h"

#define SC_TABLE "cnip_spoofchk"
#define SC_HASH 16
#define SC_PFX "sc-"
#define SC_PFXLEN 3
/* "sc-" keeps nft from reading a hash that starts with a digit as a number. */
#define SC_CHAINLEN (SC_PFXLEN + 2 * SC_HASH + 2)
#define SC_OUT_MAX (4u << 20)

extern char **environ;

static const char *const nft_paths[] = { "/usr/sbin/nft", "/sbin/nft", "/usr/local/sbin/nft",
					 "/usr/bin/nft", NULL };

static void sc_chain(const char *network, const char *cid, const char *ifname, char out[SC_CHAINLEN])
{
	char key[512];
	int n;

	memcpy(out, SC_PFX, SC_PFXLEN);
	cni_sha512_hex(network, strlen(network), out + SC_PFXLEN, SC_HASH);
	out[SC_PFXLEN + SC_HASH] = '-';
	n = snprintf(key, sizeof(key), "%s:%s", ifname, cid);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(key))
		n = sizeof(key) - 1;
	cni_sha512_hex(key, (size_t)n, out + SC_PFXLEN + SC_HASH + 1, SC_HASH);
}

/* Runs nft with args, script on stdin; stdout+stderr into *out (may be NULL). */
static int nft_exec(const char *const *args, const char *script, char **out, struct cni_err *err)
{
	int in[2] = { -1, -1 }, op[2] = { -1, -1 }, status = 0, ret, i;
	posix_spawn_file_actions_t fa;
	const char *argv[8];
	const char *path = NULL;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	pid_t pid;

	for (i = 0; nft_paths[i] && !path; i++)
		if (access(nft_paths[i], X_OK) == 0)
			path = nft_paths[i];
	if (!path)
		return cni_err_set(err, CNI_ERR_NFT, -ENOENT, "macspoofchk needs the nft tool, not found");
	argv[0] = "nft";
	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0) {
		ret = cni_err_set(err, CNI_ERR_NFT, -errno, "starting nft");
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, op[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, op[1], STDERR_FILENO);
	ret = -posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(op[1]);
	in[0] = op[1] = -1;
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "starting %s", path);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Scripts are a few hundred bytes: far below the pipe buffer, no deadlock. */
	if (script && write(in[1], script, strlen(script)) < 0)
		ret = -errno;
	close(in[1]);
	in[1] = -1;
	for (;;) {
		ssize_t r;

		if (len + 4096 > cap) {
			char *p = cap < SC_OUT_MAX ? realloc(buf, cap ? cap * 2 : 8192) : NULL;

			if (!p) {
				ret = -ENOMEM;
				break;
			}
			buf = p;
			cap = cap ? cap * 2 : 8192;
		}
		r = read(op[0], buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	if (buf)
		buf[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ret < 0) {
		cni_err_set(err, CNI_ERR_NFT, ret, "running nft");
	} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		bool fresh = err && !cni_err_is_set(err);

		ret = cni_err_set(err, CNI_ERR_NFT, -EIO, "nft %s failed", args[0]);
		if (fresh && buf && len)
			cni_err_details(err, "%.900s", buf);
	}
	if (!ret && out) {
		*out = buf;
		buf = NULL;
	}
out:
	for (i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (op[i] >= 0)
			close(op[i]);
	}
	free(buf);
	return ret;
}

static int nft_script(const char *script, struct cni_err *err)
{
	static const char *const args[] = { "-f", "-", NULL };

	return nft_exec(args, script, NULL, err);
}

/* The table, map and base chain, made sure of in every transaction. */
#define SC_PREAMBLE \
	"add table bridge " SC_TABLE "\n" \
	"add map bridge " SC_TABLE " ports { type ifname : verdict; }\n" \
	"add chain bridge " SC_TABLE " prerouting { type filter hook prerouting priority -300; policy accept; }\n" \
	"flush chain bridge " SC_TABLE " prerouting\n" \
	"add rule bridge " SC_TABLE " prerouting iifname vmap @ports\n"

/* Appends the removal of one attachment: its element and its chain. */
static int sc_del_lines(char *buf, size_t size, const char *host_ifname, const char *chain)
{
	/* The chain must exist before an element can jump to it. */
	return snprintf(buf, size,
			"add chain bridge " SC_TABLE " %s\n"
			"add element bridge " SC_TABLE " ports { \"%s\" : jump %s }\n"
			"delete element bridge " SC_TABLE " ports { \"%s\" }\n"
			"flush chain bridge " SC_TABLE " %s\n"
			"delete chain bridge " SC_TABLE " %s\n",
			chain, host_ifname, chain, host_ifname, chain, chain);
}

static bool name_ok(const char *s)
{
	return s && *s && strlen(s) < NL_IFNAMSIZ && !strpbrk(s, "\"\\\n ");
}

int podnet_spoofchk_add(const struct podnet_spoofchk *a, const uint8_t mac[NL_MAC_LEN], struct cni_err *err)
{
	char chain[SC_CHAINLEN], m[PODNET_MAC_STRLEN], script[2048];
	int n;

	if (!name_ok(a->host_ifname))
		return cni_err_set(err, CNI_ERR_NFT, -EINVAL, "macspoofchk: bad interface name");
	sc_chain(a->network, a->container_id, a->ifname, chain);
	podnet_mac_format(mac, m);
	/* The old element goes first: its chain cannot be flushed while a jump may change. */
	n = snprintf(script, sizeof(script), SC_PREAMBLE
		     "add chain bridge " SC_TABLE " %s\n"
		     "flush chain bridge " SC_TABLE " %s\n"
		     "add rule bridge " SC_TABLE " %s ether saddr %s return comment \"macspoofchk %s %s %s\"\n"
		     "add rule bridge " SC_TABLE " %s drop\n"
		     "add element bridge " SC_TABLE " ports { \"%s\" : jump %s }\n",
		     chain, chain, chain, m, a->network, a->ifname, a->container_id, chain,
		     a->host_ifname, chain);
	if (n < 0 || (size_t)n >= sizeof(script))
		return cni_err_set(err, CNI_ERR_NFT, -ENAMETOOLONG, "macspoofchk: names too long");
	return nft_script(script, err);
}

int podnet_spoofchk_del(const struct podnet_spoofchk *a, struct cni_err *err)
{
	char chain[SC_CHAINLEN], script[2048];
	size_t n;

	if (!name_ok(a->host_ifname))
		return cni_err_set(err, CNI_ERR_NFT, -EINVAL, "macspoofchk: bad interface name");
	sc_chain(a->network, a->container_id, a->ifname, chain);
	n = (size_t)snprintf(script, sizeof(script), "%s", SC_PREAMBLE);
	sc_del_lines(script + n, sizeof(script) - n, a->host_ifname, chain);
	return nft_script(script, err);
}

int podnet_spoofchk_check(const struct podnet_spoofchk *a, const uint8_t mac[NL_MAC_LEN], struct cni_err *err)
{
	const char *args[] = { "list", "table", "bridge", SC_TABLE, NULL };
	char chain[SC_CHAINLEN], m[PODNET_MAC_STRLEN], want[128], *out = NULL;
	struct cni_err scratch = { 0 };
	char *p;
	int ret;

	sc_chain(a->network, a->container_id, a->ifname, chain);
	podnet_mac_format(mac, m);
	ret = nft_exec(args, NULL, &out, &scratch);
	if (ret < 0) {
		free(out);
		return cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "macspoofchk: no table bridge " SC_TABLE);
	}
	snprintf(want, sizeof(want), "\"%s\" : jump %s", a->host_ifname, chain);
	if (!strstr(out, want)) {
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "macspoofchk: no rule for %s", a->host_ifname);
		goto out;
	}
	snprintf(want, sizeof(want), "chain %s {", chain);
	p = strstr(out, want);
	snprintf(want, sizeof(want), "ether saddr %s return", m);
	if (!p || !strstr(p, want) || (strstr(p, "\n\t}") && strstr(p, want) > strstr(p, "\n\t}"))) {
		ret = cni_err_set(err, CNI_ERR_CHECK, -ENOENT, "macspoofchk: %s does not allow %s only",
				  a->host_ifname, m);
		goto out;
	}
out:
	free(out);
	return ret;
}

int podnet_spoofchk_gc(const char *network, const struct podnet_spoofchk *keep, size_t nkeep,
		       struct cni_err *err)
{
	const char *args[] = { "-j", "list", "table", "bridge", SC_TABLE, NULL };
	char prefix[SC_PFXLEN + SC_HASH + 2], chain[SC_CHAINLEN], *out = NULL, *script = NULL;
	struct cni_json *doc = NULL;
	const struct cni_json *items;
	size_t i, j, k, len = 0, cap = 0;
	bool any = false;
	int ret;

	ret = nft_exec(args, NULL, &out, NULL);
	/* No table: nothing of ours to collect. */
	if (ret < 0) {
		free(out);
		return 0;
	}
	ret = cni_json_parse(out, strlen(out), &doc, err);
	if (ret < 0)
		goto out;
	memcpy(prefix, SC_PFX, SC_PFXLEN);
	cni_sha512_hex(network, strlen(network), prefix + SC_PFXLEN, SC_HASH);
	prefix[SC_PFXLEN + SC_HASH] = '-';
	prefix[SC_PFXLEN + SC_HASH + 1] = '\0';
	cap = 4096;
	script = malloc(cap);
	if (!script) {
		ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "macspoofchk GC");
		goto out;
	}
	len = (size_t)snprintf(script, cap, "%s", SC_PREAMBLE);
	items = cni_json_get(doc, "nftables");
	for (i = 0; i < cni_json_len(items); i++) {
		const char *name = cni_json_string(cni_json_get(cni_json_get(cni_json_at(items, i), "chain"), "name"));
		const char *port = NULL;
		const struct cni_json *map, *elems;
		bool kept = false;

		if (!name || strncmp(name, prefix, strlen(prefix)))
			continue;
		for (k = 0; k < nkeep && !kept; k++) {
			sc_chain(network, keep[k].container_id, keep[k].ifname, chain);
			kept = !strcmp(chain, name);
		}
		if (kept)
			continue;
		/* Find the port that jumps to it in the map. */
		for (j = 0; j < cni_json_len(items) && !port; j++) {
			map = cni_json_get(cni_json_at(items, j), "map");
			elems = cni_json_get(map, "elem");
			for (k = 0; k < cni_json_len(elems) && !port; k++) {
				const struct cni_json *e = cni_json_at(elems, k);
				const char *t = cni_json_string(cni_json_get(cni_json_get(cni_json_at(e, 1), "jump"),
									      "target"));

				if (t && !strcmp(t, name))
					port = cni_json_string(cni_json_at(e, 0));
			}
		}
		if (len + 1024 > cap) {
			char *p = realloc(script, cap * 2);

			if (!p) {
				ret = cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "macspoofchk GC");
				goto out;
			}
			script = p;
			cap *= 2;
		}
		if (port && name_ok(port))
			len += (size_t)sc_del_lines(script + len, cap - len, port, name);
		else
			len += (size_t)snprintf(script + len, cap - len,
						"flush chain bridge " SC_TABLE " %s\n"
						"delete chain bridge " SC_TABLE " %s\n", name, name);
		any = true;
	}
	if (any)
		ret = nft_script(script, err);
out:
	cni_json_free(doc);
	free(script);
	free(out);
	return ret;
}
