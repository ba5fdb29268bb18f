// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "range.h"

static int parse_ip(const char *what, const char *s, struct cni_ip *out, struct cni_err *err)
{
	if (cni_ip_parse(s, out))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid %s address \"%s\"", what, s);
	return 0;
}

int hl_range_init(struct hl_range *out, const char *subnet, const char *start, const char *end,
		  const char *gw, struct cni_err *err)
{
	char buf[CNI_PREFIX_STRLEN], ipbuf[CNI_IP_STRLEN];
	struct hl_range r = { 0 };
	struct cni_prefix net, sub;
	int ret;

	if (!subnet)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "range has no subnet");
	if (cni_prefix_parse(subnet, &sub))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid CIDR address: %s", subnet);
	if (sub.len > cni_ip_bits(&sub.ip) - 2)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "Network %s too small to allocate from",
				   subnet);
	/* Go turns a v4-mapped address into IPv4 but keeps the 128-bit mask. */
	if (cni_ip_is_v4_mapped(&sub.ip))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "IPNet IP and Mask version mismatch");
	net = cni_prefix_network(&sub);
	if (!cni_ip_equal(&net.ip, &sub.ip))
		return cni_err_set(err, CNI_ERR_CONFIG, 0,
				   "Network has host bits set. For a subnet mask of length %u the network address is %s",
				   sub.len, cni_ip_format(&net.ip, ipbuf));
	r.subnet = net;
	cni_prefix_format(&net, buf);

	r.gw = net.ip;
	cni_ip_next(&r.gw);
	if (gw && (ret = parse_ip("gateway", gw, &r.gw, err)))
		return ret;

	if (start) {
		if ((ret = parse_ip("rangeStart", start, &r.start, err)))
			return ret;
	} else {
		r.start = net.ip;
		cni_ip_next(&r.start);
	}
	if (end) {
		if ((ret = parse_ip("rangeEnd", end, &r.end, err)))
			return ret;
	} else {
		r.end = cni_prefix_last(&net);
		if (net.ip.family == AF_INET)
			r.end.a[3]--;
	}
	/* The reference checks start against a given end, then end against start. */
	if (!cni_prefix_contains(&net, &r.start) || (end && r.end.family == r.start.family &&
						      cni_ip_cmp(&r.start, &r.end) > 0))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "RangeStart %s not in network %s",
				   cni_ip_format(&r.start, ipbuf), buf);
	if (!cni_prefix_contains(&net, &r.end) || cni_ip_cmp(&r.end, &r.start) < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "RangeEnd %s not in network %s",
				   cni_ip_format(&r.end, ipbuf), buf);
	*out = r;
	return 0;
}

bool hl_range_contains(const struct hl_range *r, const struct cni_ip *ip)
{
	return ip->family == r->subnet.ip.family && cni_prefix_contains(&r->subnet, ip) &&
	       cni_ip_cmp(ip, &r->start) >= 0 && cni_ip_cmp(ip, &r->end) <= 0;
}

bool hl_range_overlaps(const struct hl_range *a, const struct hl_range *b)
{
	if (a->start.family != b->start.family)
		return false;
	return hl_range_contains(a, &b->start) || hl_range_contains(a, &b->end) ||
	       hl_range_contains(b, &a->start) || hl_range_contains(b, &a->end);
}

char *hl_range_string(const struct hl_range *r, char *buf)
{
	char s[CNI_IP_STRLEN], e[CNI_IP_STRLEN];

	snprintf(buf, HL_RANGE_STRLEN, "%s-%s", cni_ip_format(&r->start, s), cni_ip_format(&r->end, e));
	return buf;
}

int hl_rangeset_check(const struct hl_rangeset *s, struct cni_err *err)
{
	char a[HL_RANGE_STRLEN], b[HL_RANGE_STRLEN];
	size_t i, j;

	if (!s->n)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "empty range set");
	for (i = 1; i < s->n; i++)
		if (s->r[i].start.family != s->r[0].start.family)
			return cni_err_set(err, CNI_ERR_CONFIG, 0, "mixed address families");
	for (i = 0; i < s->n; i++)
		for (j = i + 1; j < s->n; j++)
			if (hl_range_overlaps(&s->r[i], &s->r[j]))
				return cni_err_set(err, CNI_ERR_CONFIG, 0, "subnets %s and %s overlap",
						   hl_range_string(&s->r[i], a),
						   hl_range_string(&s->r[j], b));
	return 0;
}

const struct hl_range *hl_rangeset_find(const struct hl_rangeset *s, const struct cni_ip *ip)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (hl_range_contains(&s->r[i], ip))
			return &s->r[i];
	return NULL;
}

bool hl_rangeset_overlaps(const struct hl_rangeset *a, const struct hl_rangeset *b)
{
	size_t i, j;

	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++)
			if (hl_range_overlaps(&a->r[i], &b->r[j]))
				return true;
	return false;
}

int hl_rangeset_family(const struct hl_rangeset *s)
{
	return s->n ? s->r[0].start.family : 0;
}

char *hl_rangeset_string(const struct hl_rangeset *s, char *buf, size_t len)
{
	char r[HL_RANGE_STRLEN];
	size_t i, n = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < s->n && n < len; i++) {
		int k = snprintf(buf + n, len - n, "%s%s", i ? "," : "", hl_range_string(&s->r[i], r));

		if (k < 0)
			break;
		n += (size_t)k;
	}
	return buf;
}

void hl_iter_init(struct hl_iter *it, const struct hl_rangeset *set, const struct cni_ip *last)
{
	size_t i;

	memset(it, 0, sizeof(*it));
	it->set = set;
	if (!last)
		return;
	for (i = 0; i < set->n; i++) {
		if (hl_range_contains(&set->r[i], last)) {
			/* Next() advances first, so the order starts right after last. */
			it->idx = i;
			it->cur = *last;
			it->have_cur = true;
			return;
		}
	}
}

bool hl_iter_next(struct hl_iter *it, struct cni_ip *ip, const struct hl_range **range)
{
	const struct hl_range *r;

	if (!it->set->n || it->done)
		return false;
	for (;;) {
		r = &it->set->r[it->idx];
		if (!it->have_cur) {
			it->cur = r->start;
			it->first = it->cur;
			it->have_cur = it->have_first = true;
		} else {
			if (cni_ip_equal(&it->cur, &r->end)) {
				it->idx = (it->idx + 1) % it->set->n;
				r = &it->set->r[it->idx];
				it->cur = r->start;
			} else {
				cni_ip_next(&it->cur);
			}
			if (!it->have_first) {
				it->first = it->cur;
				it->have_first = true;
			} else if (cni_ip_equal(&it->cur, &it->first)) {
				it->done = true;
				return false;
			}
		}
		if (cni_ip_equal(&it->cur, &r->gw))
			continue;
		*ip = it->cur;
		if (range)
			*range = r;
		return true;
	}
}
