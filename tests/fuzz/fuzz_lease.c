// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: what host-local reads back from its data directory, at
 * the buffer level (store.c's lease_parse() and entry_parse(), which its file
 * readers call): a lease file, the index entry of the owner that lease names
 * (and of its old-format owner), a last_reserved_ip file, and each part as a
 * directory entry name. Input: lease NUL entry NUL last_reserved_ip.
 */
#include <stddef.h>
#include <stdint.h>

#include "host-local/store.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Part i of data (NUL-separated) in a buffer of its own, so ASan sees an overread. */
static char *part(const uint8_t *data, size_t size, int i)
{
	const uint8_t *p = data, *end = data + size, *nul;

	for (; i > 0 && p < end; i--) {
		nul = memchr(p, 0, (size_t)(end - p));
		if (!nul)
			return NULL;
		p = nul + 1;
	}
	if (i > 0)
		return NULL;
	nul = memchr(p, 0, (size_t)(end - p));
	return strndup((const char *)p, (size_t)((nul ? nul : end) - p));
}

static void entry(const char *text, const char *cid, const char *ifname)
{
	struct names n = { 0 };
	char *buf = strdup(text);
	size_t i;

	if (buf && entry_parse(buf, cid, ifname, &n) == 0) {
		for (i = 0; i < n.n; i++)
			(void)is_lease_name(n.v[i]);
		names_free(&n);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *lease = part(data, size, 0), *idx = part(data, size, 1), *last = part(data, size, 2);
	char h[KEY_HEX + 1], *copy = NULL;
	const char *cid, *ifname;
	struct cni_ip ip;

	/* cni_file_read() refuses a lease of MAX_LEASE_SIZE bytes or more. */
	if (!lease || strlen(lease) >= MAX_LEASE_SIZE)
		goto out;
	(void)is_lease_name(lease);
	copy = strdup(lease);
	if (!copy || lease_parse(copy, &cid, &ifname) < 0)
		goto out;
	/* rebuild() indexes only owners a request could name; key_hash() takes any lease's. */
	(void)valid_owner(cid, ifname);
	key_hash(cid, ifname, h);
	if (idx && strlen(idx) < MAX_ENTRY_SIZE) {
		entry(idx, cid, ifname);
		entry(idx, cid, "");
	}
	if (last && strlen(last) < 128)
		(void)cni_ip_parse(trim(last), &ip);
out:
	free(copy);
	free(lease);
	free(idx);
	free(last);
	return 0;
}
