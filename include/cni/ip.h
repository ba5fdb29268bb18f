/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_IP_H
#define CNI_IP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address; IPv4 lives in the first 4 bytes of a. */
struct cni_ip {
	int family;			/* AF_INET or AF_INET6; 0 = unset */
	uint8_t a[16];
};

/* An address with a prefix length; host bits are kept ("10.0.0.5/24"). */
struct cni_prefix {
	struct cni_ip ip;
	uint8_t len;
};

#define CNI_IP_STRLEN 46		/* INET6_ADDRSTRLEN */
#define CNI_PREFIX_STRLEN 50

/* Parse a bare address. IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4, as in Go. -EINVAL if bad. */
int cni_ip_parse(const char *s, struct cni_ip *out) __attribute__((warn_unused_result));
/* Parse "addr/len". -EINVAL if bad. */
int cni_prefix_parse(const char *s, struct cni_prefix *out) __attribute__((warn_unused_result));

static inline int cni_ip_bytes(const struct cni_ip *ip)
{
	return ip->family == AF_INET ? 4 : 16;
}

static inline int cni_ip_bits(const struct cni_ip *ip)
{
	return ip->family == AF_INET ? 32 : 128;
}

/* Write into buf of CNI_IP_STRLEN / CNI_PREFIX_STRLEN bytes; return buf. */
char *cni_ip_format(const struct cni_ip *ip, char *buf);
char *cni_prefix_format(const struct cni_prefix *p, char *buf);

bool cni_ip_equal(const struct cni_ip *a, const struct cni_ip *b);
/* Orders by family, then numerically. */
int cni_ip_cmp(const struct cni_ip *a, const struct cni_ip *b);
bool cni_ip_is_zero(const struct cni_ip *ip);
/* An IPv6 address of the form ::ffff:a.b.c.d (kept as IPv6 by cni_prefix_parse). */
bool cni_ip_is_v4_mapped(const struct cni_ip *ip);

/* The network: host bits cleared. */
struct cni_prefix cni_prefix_network(const struct cni_prefix *p);
/* The last address of the prefix (broadcast for IPv4). */
struct cni_ip cni_prefix_last(const struct cni_prefix *p);
bool cni_prefix_contains(const struct cni_prefix *p, const struct cni_ip *ip);
bool cni_prefix_overlaps(const struct cni_prefix *a, const struct cni_prefix *b);

/* ip + 1 / ip - 1 with wrap-around inside the family. */
void cni_ip_next(struct cni_ip *ip);
void cni_ip_prev(struct cni_ip *ip);

#endif
