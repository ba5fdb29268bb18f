// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test driver for pkg/nft masquerade, used by tests/integration/nft-*.sh:
 *   nftmasq add|del|check NETWORK CONTAINERID IFNAME [PREFIX...]
 *   nftmasq gc NETWORK [CONTAINERID/IFNAME...]
 * Exit 0 on success; else prints "code=N errno=E: msg [details]" to stderr, exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/err.h"
#include "cni/ip.h"
#include "cni/nft.h"

static int usage(void)
{
	fprintf(stderr, "usage: nftmasq add|del|check NET CID IFNAME [PREFIX...]\n"
			"       nftmasq gc NET [CID/IFNAME...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct cni_err err = { 0 };
	struct cni_prefix *ips = NULL;
	struct cni_attachment *keep = NULL;
	struct nft_attach id;
	struct nft_sock *s = NULL;
	size_t n = 0, i;
	int ret;

	if (argc < 3)
		return usage();
	if (nft_open(&s, &err) < 0) {
		ret = -1;
		goto done;
	}
	if (!strcmp(argv[1], "gc")) {
		n = (size_t)(argc - 3);
		keep = calloc(n + 1, sizeof(*keep));
		for (i = 0; keep && i < n; i++) {
			char *slash = strchr(argv[3 + i], '/');

			if (!slash)
				return usage();
			*slash = '\0';
			keep[i].container_id = argv[3 + i];
			keep[i].ifname = slash + 1;
		}
		ret = nft_masq_gc(s, argv[2], keep, n, &err);
		goto done;
	}
	if (argc < 5)
		return usage();
	id = (struct nft_attach){ .network = argv[2], .container_id = argv[3], .ifname = argv[4] };
	n = (size_t)(argc - 5);
	ips = calloc(n + 1, sizeof(*ips));
	for (i = 0; ips && i < n; i++)
		if (cni_prefix_parse(argv[5 + i], &ips[i]) < 0) {
			fprintf(stderr, "bad prefix %s\n", argv[5 + i]);
			return 2;
		}
	if (!strcmp(argv[1], "add"))
		ret = nft_masq_add(s, &id, ips, n, &err);
	else if (!strcmp(argv[1], "del"))
		ret = nft_masq_del(s, &id, ips, n, &err);
	else if (!strcmp(argv[1], "check"))
		ret = nft_masq_check(s, &id, ips, n, &err);
	else
		return usage();
done:
	nft_close(s);
	free(ips);
	free(keep);
	if (ret < 0) {
		fprintf(stderr, "code=%d errno=%d: %s%s%s\n", err.code, err.errnum, err.msg,
			err.details[0] ? " | " : "", err.details);
		return 1;
	}
	return 0;
}
