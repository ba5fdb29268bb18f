// SPDX-License-Identifier: GPL-2.0-or-later
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/ip.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int cni_ip_parse(const char *s, struct cni_ip *out)
{
	struct cni_ip ip = { 0 };

	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, ip.a) == 1) {
		ip.family = AF_INET;
	} else if (inet_pton(AF_INET6, s, ip.a) == 1) {
		ip.family = AF_INET6;
		if (!memcmp(ip.a, v4mapped, sizeof(v4mapped))) {
			memmove(ip.a, ip.a + 12, 4);
			memset(ip.a + 4, 0, 12);
			ip.family = AF_INET;
		}
	} else {
		return -EINVAL;
	}
	*out = ip;
	return 0;
}

int cni_prefix_parse(const char *s, struct cni_prefix *out)
{
	char buf[CNI_PREFIX_STRLEN];
	struct cni_prefix p = { 0 };
	const char *slash;
	char *end;
	long len;

	if (!s || !(slash = strchr(s, '/')) || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	/* Go's net.ParseCIDR keeps the family as written: "::ffff:1.2.3.4/120" is IPv6. */
	if (inet_pton(AF_INET, buf, p.ip.a) == 1)
		p.ip.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p.ip.a) == 1)
		p.ip.family = AF_INET6;
	else
		return -EINVAL;
	if (slash[1] < '0' || slash[1] > '9' || (slash[1] == '0' && slash[2]))
		return -EINVAL;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || *end || len < 0 || len > cni_ip_bits(&p.ip))
		return -EINVAL;
	p.len = (uint8_t)len;
	*out = p;
	return 0;
}

bool cni_ip_is_v4_mapped(const struct cni_ip *ip)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return ip->family == AF_INET6 && !memcmp(ip->a, prefix, sizeof(prefix));
}

/*
 * Go's net.IP.String(), not inet_ntop(): glibc prints ::a:b as ::0.10.0.11,
 * and results and lease file names must match the reference byte for byte.
 */
char *cni_ip_format(const struct cni_ip *ip, char *buf)
{
	int best = -1, best_len = 0, i, n = 0;

	if (ip->family == AF_INET || cni_ip_is_v4_mapped(ip)) {
		const uint8_t *a = ip->family == AF_INET ? ip->a : ip->a + 12;

		snprintf(buf, CNI_IP_STRLEN, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		return buf;
	}
	if (ip->family != AF_INET6) {
		strcpy(buf, "<nil>");
		return buf;
	}
	/* Go (like RFC 5952) folds the leftmost longest run of two or more zero groups. */
	for (i = 0; i < 8; i++) {
		int j = i;

		while (j < 8 && !ip->a[2 * j] && !ip->a[2 * j + 1])
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		if (j > i)
			i = j;
	}
	if (best_len < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (i == best) {
			n += snprintf(buf + n, CNI_IP_STRLEN - n, "::");
			i += best_len - 1;
			continue;
		}
		if (i && i != best + best_len)
			buf[n++] = ':';
		n += snprintf(buf + n, CNI_IP_STRLEN - n, "%x", (ip->a[2 * i] << 8) | ip->a[2 * i + 1]);
	}
	buf[n] = '\0';
	return buf;
}

char *cni_prefix_format(const struct cni_prefix *p, char *buf)
{
	char ip[CNI_IP_STRLEN];

	snprintf(buf, CNI_PREFIX_STRLEN, "%s/%u", cni_ip_format(&p->ip, ip), p->len);
	return buf;
}

bool cni_ip_equal(const struct cni_ip *a, const struct cni_ip *b)
{
	return a->family == b->family && !memcmp(a->a, b->a, cni_ip_bytes(a));
}

int cni_ip_cmp(const struct cni_ip *a, const struct cni_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a, b->a, cni_ip_bytes(a));
}

bool cni_ip_is_zero(const struct cni_ip *ip)
{
	static const uint8_t zero[16];

	return !memcmp(ip->a, zero, sizeof(zero));
}

static void mask_bits(struct cni_ip *ip, unsigned int len, bool set)
{
	int i, n = cni_ip_bytes(ip);

	for (i = 0; i < n; i++) {
		unsigned int bit = (unsigned int)i * 8;
		uint8_t keep;

		if (bit + 8 <= len)
			continue;
		keep = bit >= len ? 0 : (uint8_t)(0xff << (8 - (len - bit)));
		ip->a[i] = set ? (ip->a[i] | (uint8_t)~keep) : (ip->a[i] & keep);
	}
}

struct cni_prefix cni_prefix_network(const struct cni_prefix *p)
{
	struct cni_prefix n = *p;

	mask_bits(&n.ip, n.len, false);
	return n;
}

struct cni_ip cni_prefix_last(const struct cni_prefix *p)
{
	struct cni_ip ip = p->ip;

	mask_bits(&ip, p->len, true);
	return ip;
}

bool cni_prefix_contains(const struct cni_prefix *p, const struct cni_ip *ip)
{
	struct cni_prefix a = { .ip = *ip, .len = p->len };
	struct cni_prefix na, np;

	if (ip->family != p->ip.family)
		return false;
	na = cni_prefix_network(&a);
	np = cni_prefix_network(p);
	return cni_ip_equal(&na.ip, &np.ip);
}

bool cni_prefix_overlaps(const struct cni_prefix *a, const struct cni_prefix *b)
{
	return cni_prefix_contains(a, &b->ip) || cni_prefix_contains(b, &a->ip);
}

void cni_ip_next(struct cni_ip *ip)
{
	int i;

	for (i = cni_ip_bytes(ip) - 1; i >= 0; i--)
		if (++ip->a[i])
			break;
}

void cni_ip_prev(struct cni_ip *ip)
{
	int i;

	for (i = cni_ip_bytes(ip) - 1; i >= 0; i--)
		if (ip->a[i]--)
			break;
}
