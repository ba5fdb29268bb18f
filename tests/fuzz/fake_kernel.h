/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNIP_FUZZ_FAKE_KERNEL_H
#define CNIP_FUZZ_FAKE_KERNEL_H

/*
 * The kernel of the reply harnesses: mnl_socket_sendto/recvfrom are wrapped
 * (fuzz_<name>.wrap), as in the unit tests, so the library builds its real
 * requests on a real (bound, never used) socket and the fuzz input becomes
 * what the kernel answers. Requests are swallowed; each recvfrom hands out
 * the next datagram of the input, and EAGAIN once they are used up.
 *
 * Datagrams are [u16 length, little endian][bytes]. Unless the input asks
 * to keep them raw, every message of a datagram gets the sequence number of
 * the last request plus the low byte of its own (0: the reply to that
 * request; k: message k of a batch), and a port id of 1 becomes the
 * socket's: otherwise the fuzzer would have to guess both to get past the
 * "is this ours" checks. A harness may set fk.build to make each datagram
 * out of its bytes instead of copying them (fuzz_nft builds its messages).
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <libmnl/libmnl.h>

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len);
ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz);

static struct {
	const uint8_t *data;
	size_t size, off;
	bool raw;
	uint32_t seq;			/* of the last request sent */
	uint16_t req_type;		/* and its type */
	unsigned int sent;
	/* Writes the datagram made of src into dst (cap bytes); returns its length. */
	size_t (*build)(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);
} fk;

static void fk_start(const uint8_t *data, size_t size, bool raw)
{
	fk.data = data;
	fk.size = size;
	fk.off = 0;
	fk.raw = raw;
	fk.seq = 0;
	fk.sent = 0;
}

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;

	if (len >= sizeof(*nlh)) {
		fk.seq = nlh->nlmsg_seq;
		fk.req_type = nlh->nlmsg_type;
	}
	fk.sent++;
	return (ssize_t)len;
}

ssize_t __wrap_mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz)
{
	struct nlmsghdr *nlh;
	size_t len;
	int left;

	if (fk.size - fk.off < 2) {
		errno = EAGAIN;
		return -1;
	}
	len = (size_t)fk.data[fk.off] | (size_t)fk.data[fk.off + 1] << 8;
	fk.off += 2;
	if (len > fk.size - fk.off)
		len = fk.size - fk.off;
	if (len > bufsiz) {
		/* What libmnl reports for a datagram larger than the buffer (MSG_TRUNC). */
		fk.off += len;
		errno = ENOSPC;
		return -1;
	}
	if (fk.build) {
		size_t n = fk.build(fk.data + fk.off, len, buf, bufsiz);

		fk.off += len;
		len = n;
	} else {
		memcpy(buf, fk.data + fk.off, len);
		fk.off += len;
	}
	left = (int)len;
	for (nlh = buf; !fk.raw && left >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
		       nlh->nlmsg_len <= (unsigned int)left;
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		nlh->nlmsg_seq = fk.seq + (nlh->nlmsg_seq & 0xff);
		if (nlh->nlmsg_pid == 1)
			nlh->nlmsg_pid = mnl_socket_get_portid(nl);
	}
	return (ssize_t)len;
}

#endif
