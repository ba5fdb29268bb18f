// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: ctnetlink's dump of the entries to one port and the
 * replies to each delete (ct_delete, which portmap runs on ADD). Input:
 * [match][flags] then the kernel's datagrams (see fake_kernel.h).
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "cni/conntrack.h"
#include "fake_kernel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cni_ip d4 = { .family = AF_INET, .a = { 10, 0, 0, 1 } };
	static const struct cni_ip d6 = { .family = AF_INET6, .a = { 0xfd, [15] = 1 } };
	struct cni_err err = { 0 };
	struct ct_match m;
	size_t deleted;

	if (size < 2)
		return 0;
	m.family = data[0] & 1 ? AF_INET6 : AF_INET;
	m.l4proto = data[0] & 2 ? IPPROTO_TCP : IPPROTO_UDP;
	m.dport = 53;
	m.daddr = data[0] & 4 ? (m.family == AF_INET ? &d4 : &d6) : NULL;
	fk_start(data + 2, size - 2, data[1] & 1);
	(void)ct_delete(&m, &deleted, &err);
	return 0;
}
