/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HL_RANGE_H
#define HL_RANGE_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"
#include "cni/ip.h"

/*
 * Ranges and range sets of host-local, with the reference's rules
 * (backend/allocator/range.go, range_set.go): a range lives inside its
 * subnet, the gateway is never handed out, and the ranges of one set share a
 * family and do not overlap.
 */
struct hl_range {
	struct cni_prefix subnet;	/* network address and prefix length */
	struct cni_ip start;		/* first address to hand out, inclusive */
	struct cni_ip end;		/* last one, inclusive */
	struct cni_ip gw;		/* skipped by the iterator, returned in results */
};

struct hl_rangeset {
	struct hl_range *r;
	size_t n;
};

/* "start-end" of a range */
#define HL_RANGE_STRLEN (2 * CNI_IP_STRLEN + 2)


/*
 * Fills r from the strings of a config (start, end, gw may be NULL) with the
 * reference's defaults: start = network + 1, end = broadcast - 1 (IPv4) or
 * the last address (IPv6), gateway = network + 1. Rejects what the reference
 * rejects (/31, /32, /127, /128, host bits, start or end outside the subnet)
 * with CNI_ERR_CONFIG and its messages. r is written only on success.
 */
int hl_range_init(struct hl_range *r, const char *subnet, const char *start, const char *end,
		  const char *gw, struct cni_err *err) __attribute__((warn_unused_result));
bool hl_range_contains(const struct hl_range *r, const struct cni_ip *ip);
bool hl_range_overlaps(const struct hl_range *a, const struct hl_range *b);
/* "start-end" into buf of HL_RANGE_STRLEN bytes; returns buf. */
char *hl_range_string(const struct hl_range *r, char *buf);

/* Family and overlap rules of one set of initialised ranges; CNI_ERR_CONFIG. */
int hl_rangeset_check(const struct hl_rangeset *s, struct cni_err *err)
	__attribute__((warn_unused_result));
/* The range holding ip, or NULL. */
const struct hl_range *hl_rangeset_find(const struct hl_rangeset *s, const struct cni_ip *ip);
bool hl_rangeset_overlaps(const struct hl_rangeset *a, const struct hl_rangeset *b);
/* AF_INET or AF_INET6 of a checked, non-empty set. */
int hl_rangeset_family(const struct hl_rangeset *s);
/* "a-b,c-d" (truncated to fit len); returns buf. */
char *hl_rangeset_string(const struct hl_rangeset *s, char *buf, size_t len);

/*
 * The reference's allocation order (RangeIter): from the address after
 * last (when the set holds it) or from the first range's start, through
 * every range of the set in turn, wrapping around, skipping gateways, and
 * stopping once back where it started.
 */
struct hl_iter {
	const struct hl_rangeset *set;
	size_t idx;
	struct cni_ip cur, first;
	bool have_cur, have_first, done;
};

/* last may be NULL or outside the set (then the order starts at the first range). */
void hl_iter_init(struct hl_iter *it, const struct hl_rangeset *set, const struct cni_ip *last);
/* Next candidate and its range; false when every address was offered once. */
bool hl_iter_next(struct hl_iter *it, struct cni_ip *ip, const struct hl_range **range);

#endif
