// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: nf_tables replies, through the real query and batch
 * transport (pkg/nft/sock.c) into each reader: rule listings (and what we
 * do with a listed rule: its jumps, text and comment, the comparison CHECK
 * makes), a chain lookup, map element dumps and lookups, the chain listing
 * GC plans from, the acks and errors of a batch, and whole masquerade and
 * spoof-check operations built on them. Input: [operation][flags] then the
 * kernel's datagrams (see fake_kernel.h), each a series of records:
 *   0  a control message, copied (NOOP, ERROR, DONE, OVERRUN; another type
 *      becomes one of these)
 *   1  the object the request asked for (a chain, a rule, set elements):
 *      its fields read from the input and the message built by libnftnl.
 *      The kernel answers a chain query with chains only, and libnftnl
 *      exits when a rule is parsed as a chain.
 * Data messages are built rather than copied because libnftnl, which parses
 * them for us as for nft(8), trusts the kernel's layout and crashes on some
 * garbage (a jump verdict without its chain: strdup(NULL)); what we fuzz is
 * our handling of what it hands back, and the transport around it.
 *
 * libnftnl trusts the kernel: an attribute of a known type with a bad size
 * makes it print "nf_tables kernel ABI is broken" and exit(). That is no bug
 * of ours, but it ends the process, which libFuzzer calls a crash. So exit()
 * is interposed: called from inside an input, it returns to the harness
 * through longjmp, and what the input had allocated until then (it was
 * abandoned midway, never freed) is excused from the leak check.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <sanitizer/allocator_interface.h>
#include <sanitizer/lsan_interface.h>

#include "cni/err.h"
#include "cni/nft.h"
#include "nft/nft-int.h"
#include "fake_kernel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nft_sock *sk;

/* Blocks allocated and not yet freed during the current input. */
#define LIVE_MAX 4096
static struct {
	bool on, overflow, in_input;
	const volatile void *p[LIVE_MAX];
	size_t n;
	jmp_buf back;
	pthread_t thread;		/* the one running inputs */
	FILE *devnull;
} fz;

static void on_malloc(const volatile void *p, size_t size)
{
	if (!fz.on)
		return;
	if (fz.n < LIVE_MAX)
		fz.p[fz.n++] = p;
	else
		fz.overflow = true;
}

static void on_free(const volatile void *p)
{
	size_t i;

	if (!fz.on)
		return;
	for (i = fz.n; i-- > 0;)
		if (fz.p[i] == p) {
			fz.p[i] = fz.p[--fz.n];
			return;
		}
}

void exit(int status)
{
	static void (*real_exit)(int);

	/* libFuzzer's own threads exit too (-max_total_time): let them. */
	if (fz.in_input && pthread_equal(pthread_self(), fz.thread)) {
		fz.in_input = false;
		longjmp(fz.back, 1);
	}
	if (!real_exit)
		real_exit = (void (*)(int))dlsym(RTLD_NEXT, "exit");
	real_exit(status);
	__builtin_unreachable();
}

/* ---- datagrams built from records ---- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint32_t rd_u32(struct rd *r, unsigned int bytes)
{
	uint32_t v = 0;

	while (bytes-- && r->n) {
		v = v << 8 | *r->p++;
		r->n--;
	}
	return v;
}

/*
 * A string of 1 to 63 bytes, length first; NUL inside ends it early. Never
 * empty: libnftnl puts "" without its NUL, then calls its own empty string
 * an ABI breakage and exits.
 */
static void rd_str(struct rd *r, char out[64])
{
	size_t len = rd_u32(r, 1) % 64, i;

	for (i = 0; i < len && r->n; i++, r->p++, r->n--)
		out[i] = (char)*r->p;
	out[i] = '\0';
	if (!out[0])
		strcpy(out, "-");
}

static size_t rd_data(struct rd *r, uint8_t *out, size_t max)
{
	size_t len = rd_u32(r, 1) % (max + 1), i;

	for (i = 0; i < len && r->n; i++, r->p++, r->n--)
		out[i] = *r->p;
	return i;
}

/*
 * A verdict: code, and the chain exactly when the code is jump or goto, as
 * the kernel sends it (libnftnl strdup()s a missing chain of a jump, and
 * frees a chain only for a jump or goto).
 */
enum kind { U32, STR, DATA, VERDICT };

static bool jumps(uint32_t verdict)
{
	return verdict == (uint32_t)NFT_JUMP || verdict == (uint32_t)NFT_GOTO;
}
static const struct {
	const char *name;
	struct { uint16_t attr; enum kind kind; } a[5];
} exprs[] = {
	/* Data and verdict share a union in libnftnl: data set after a chain leaks it. */
	{ "immediate", { { NFTNL_EXPR_IMM_DREG, U32 }, { NFTNL_EXPR_IMM_VERDICT, VERDICT } } },
	{ "cmp", { { NFTNL_EXPR_CMP_SREG, U32 }, { NFTNL_EXPR_CMP_OP, U32 }, { NFTNL_EXPR_CMP_DATA, DATA } } },
	{ "payload", { { NFTNL_EXPR_PAYLOAD_DREG, U32 }, { NFTNL_EXPR_PAYLOAD_BASE, U32 },
		       { NFTNL_EXPR_PAYLOAD_OFFSET, U32 }, { NFTNL_EXPR_PAYLOAD_LEN, U32 } } },
	{ "meta", { { NFTNL_EXPR_META_KEY, U32 }, { NFTNL_EXPR_META_DREG, U32 } } },
	{ "lookup", { { NFTNL_EXPR_LOOKUP_SREG, U32 }, { NFTNL_EXPR_LOOKUP_DREG, U32 },
		      { NFTNL_EXPR_LOOKUP_SET, STR }, { NFTNL_EXPR_LOOKUP_FLAGS, U32 } } },
	{ "nat", { { NFTNL_EXPR_NAT_TYPE, U32 }, { NFTNL_EXPR_NAT_FAMILY, U32 },
		   { NFTNL_EXPR_NAT_REG_ADDR_MIN, U32 }, { NFTNL_EXPR_NAT_REG_PROTO_MIN, U32 },
		   { NFTNL_EXPR_NAT_FLAGS, U32 } } },
	{ "ct", { { NFTNL_EXPR_CT_DREG, U32 }, { NFTNL_EXPR_CT_KEY, U32 } } },
	{ "bitwise", { { NFTNL_EXPR_BITWISE_SREG, U32 }, { NFTNL_EXPR_BITWISE_DREG, U32 },
		       { NFTNL_EXPR_BITWISE_LEN, U32 }, { NFTNL_EXPR_BITWISE_MASK, DATA },
		       { NFTNL_EXPR_BITWISE_XOR, DATA } } },
	{ "masq", { { NFTNL_EXPR_MASQ_FLAGS, U32 } } },
	{ "fib", { { NFTNL_EXPR_FIB_DREG, U32 }, { NFTNL_EXPR_FIB_RESULT, U32 },
		   { NFTNL_EXPR_FIB_FLAGS, U32 } } },
	{ "immediate", { { NFTNL_EXPR_IMM_DREG, U32 }, { NFTNL_EXPR_IMM_DATA, DATA } } },
};

/* An expression: its kind, then a presence mask and each present attribute. */
static struct nftnl_expr *expr_read(struct rd *r)
{
	unsigned int k = rd_u32(r, 1) % (sizeof(exprs) / sizeof(exprs[0])), mask = rd_u32(r, 1), i;
	struct nftnl_expr *e = nftnl_expr_alloc(exprs[k].name);
	uint8_t data[64];
	char str[64];
	size_t len;
	uint32_t v;

	for (i = 0; e && i < 5 && exprs[k].a[i].attr; i++) {
		if (!(mask & 1u << i))
			continue;
		switch (exprs[k].a[i].kind) {
		case U32:
			nftnl_expr_set_u32(e, exprs[k].a[i].attr, rd_u32(r, 4));
			break;
		case STR:
			rd_str(r, str);
			nftnl_expr_set_str(e, exprs[k].a[i].attr, str);
			break;
		case DATA:
			len = rd_data(r, data, sizeof(data));
			nftnl_expr_set(e, exprs[k].a[i].attr, data, (uint32_t)len);
			break;
		case VERDICT:
			v = rd_u32(r, 4);
			nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, v);
			if (jumps(v)) {
				rd_str(r, str);
				nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, str);
			}
			break;
		}
	}
	return e;
}

/* Message header fields of a record: flags (MULTI, DUMP_INTR, ...) and the seq's low byte. */
static struct nlmsghdr *rec_hdr(struct rd *r, uint8_t *dst, uint16_t type, uint16_t family)
{
	uint16_t flags = (uint16_t)rd_u32(r, 2);
	uint32_t seq = rd_u32(r, 1);

	return nftnl_nlmsg_build_hdr((char *)dst, type, family, flags, seq);
}

static size_t rec_chain(struct rd *r, uint8_t *dst)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	unsigned int mask = rd_u32(r, 1);
	struct nlmsghdr *nlh = rec_hdr(r, dst, NFT_MSG_NEWCHAIN, NFPROTO_INET);
	uint8_t ud[64];
	char str[64];
	size_t len = 0;

	if (!c)
		return 0;
	rd_str(r, str);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, str);
	rd_str(r, str);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, str);
	if (mask & 1) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, rd_u32(r, 1));
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, (int32_t)rd_u32(r, 4));
	}
	if (mask & 2) {
		rd_str(r, str);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, str);
	}
	if (mask & 4) {
		/* Raw userdata: how the comment is found in it is ours to get right. */
		len = rd_data(r, ud, sizeof(ud));
		nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, ud, (uint32_t)len);
	}
	if (mask & 8)
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, rd_u32(r, 1));
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	return nlh->nlmsg_len;
}

static size_t rec_rule(struct rd *r, uint8_t *dst)
{
	struct nftnl_rule *rule = nftnl_rule_alloc();
	unsigned int mask = rd_u32(r, 1), n, i;
	struct nlmsghdr *nlh = rec_hdr(r, dst, NFT_MSG_NEWRULE, NFPROTO_INET);
	uint8_t ud[64];
	char str[64];
	size_t len;

	if (!rule)
		return 0;
	rd_str(r, str);
	nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, str);
	rd_str(r, str);
	nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, str);
	nftnl_rule_set_u64(rule, NFTNL_RULE_HANDLE, rd_u32(r, 2));
	if (mask & 1) {
		len = rd_data(r, ud, sizeof(ud));
		nftnl_rule_set_data(rule, NFTNL_RULE_USERDATA, ud, (uint32_t)len);
	}
	for (n = rd_u32(r, 1) % 8, i = 0; i < n; i++) {
		struct nftnl_expr *e = expr_read(r);

		if (e)
			nftnl_rule_add_expr(rule, e);
	}
	nftnl_rule_nlmsg_build_payload(nlh, rule);
	nftnl_rule_free(rule);
	return nlh->nlmsg_len;
}

static size_t rec_elems(struct rd *r, uint8_t *dst)
{
	struct nftnl_set *set = nftnl_set_alloc();
	struct nlmsghdr *nlh = rec_hdr(r, dst, NFT_MSG_NEWSETELEM, NFPROTO_INET);
	unsigned int n, i, mask;
	uint8_t key[64];
	char str[64];
	size_t len;

	if (!set)
		return 0;
	rd_str(r, str);
	nftnl_set_set_str(set, NFTNL_SET_TABLE, str);
	rd_str(r, str);
	nftnl_set_set_str(set, NFTNL_SET_NAME, str);
	for (n = rd_u32(r, 1) % 8, i = 0; i < n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();

		if (!e)
			break;
		mask = rd_u32(r, 1);
		len = rd_data(r, key, sizeof(key));
		if (mask & 1)
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, (uint32_t)len);
		if (mask & 2) {
			uint32_t v = rd_u32(r, 4);

			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, v);
			if (jumps(v)) {
				rd_str(r, str);
				nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, str);
			}
		}
		nftnl_set_elem_add(set, e);
	}
	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	return nlh->nlmsg_len;
}

/* A data message is at most this long here; room for one is checked before building. */
#define REC_MAX 4096

static size_t build(const uint8_t *src, size_t len, uint8_t *dst, size_t cap)
{
	struct rd r = { src, len };
	size_t off = 0, n;

	while (r.n && cap - off >= REC_MAX) {
		uint8_t *m = dst + off;

		memset(m, 0, REC_MAX);
		if (rd_u32(&r, 1) % 2 == 0) {
			n = rd_u32(&r, 2);
			if (n > r.n)
				n = r.n;
			if (n > REC_MAX)
				n = REC_MAX;
			memcpy(m, r.p, n);
			r.p += n;
			r.n -= n;
			/*
			 * Only control messages raw: data messages go to libnftnl. A
			 * length shorter than the record would let the reader take
			 * raw bytes after it for a header, so it may only be longer.
			 */
			if (n < sizeof(struct nlmsghdr))
				n = sizeof(struct nlmsghdr);
			if (((struct nlmsghdr *)m)->nlmsg_type >= NLMSG_MIN_TYPE ||
			    ((struct nlmsghdr *)m)->nlmsg_type == 0)
				((struct nlmsghdr *)m)->nlmsg_type = 1 + ((struct nlmsghdr *)m)->nlmsg_type % 4;
			if (((struct nlmsghdr *)m)->nlmsg_len < n)
				((struct nlmsghdr *)m)->nlmsg_len = (uint32_t)n;
		} else if ((fk.req_type & 0xff) == NFT_MSG_GETCHAIN) {
			n = rec_chain(&r, m);
		} else if ((fk.req_type & 0xff) == NFT_MSG_GETSETELEM) {
			n = rec_elems(&r, m);
		} else {
			/* GETRULE, and a batch: its reader skips anything but errors. */
			n = rec_rule(&r, m);
		}
		off += NLMSG_ALIGN(n);
	}
	return off < cap ? off : cap;
}

static void rules_use(struct nft_rules *rs)
{
	char text[2048], comment[256];
	size_t i;

	for (i = 0; i < rs->n; i++) {
		(void)nft_rule_jumps_to(rs->v[i], "masq-x");
		(void)nft_rule_expr_text(rs->v[i], text, sizeof(text));
		nft_rule_comment(rs->v[i], comment, sizeof(comment));
		(void)nft_rule_same(nft_masq_rule_multicast(NFT_MASQ_TABLE, AF_INET), rs->v[i], true);
	}
	nft_rules_free(rs);
}

static void run(uint8_t op, struct cni_err *err)
{
	static const struct nft_map map = { .family = NFPROTO_INET, .table = "t", .name = "m",
					    .key_type = NFT_TYPE_IPADDR, .key_len = 4 };
	static const uint8_t key[4] = { 10, 0, 0, 1 }, mac[6] = { 2, 0, 0, 0, 0, 1 };
	static const struct nft_attach a = { "net", "cid", "eth0" };
	static const struct cni_attachment keep[] = { { "k", "eth0" } };
	struct cni_prefix ips[2] = {
		{ .ip = { .family = AF_INET, .a = { 10, 22, 0, 5 } }, .len = 16 },
		{ .ip = { .family = AF_INET6, .a = { 0xfd, [15] = 5 } }, .len = 64 },
	};
	struct nft_names kept = { 0 }, stale = { 0 };
	struct nft_rules rs = { 0 };
	struct nft_elems es = { 0 };
	struct nft_chain_info ci;
	struct nft_batch b;

	switch (op % 11) {
	case 0:
		if (nft_dump_rules(sk, NFPROTO_INET, "t", "c", &rs) == 0)
			rules_use(&rs);
		break;
	case 1:
		(void)nft_chain_get(sk, NFPROTO_BRIDGE, "t", "c", &ci);
		break;
	case 2:
		if (nft_get_elems(sk, &map, NULL, &es) == 0)
			nft_elems_free(&es);
		break;
	case 3:
		if (nft_get_elems(sk, &map, key, &es) == 0)
			nft_elems_free(&es);
		break;
	case 4:
		if (nft_gc_plan(sk, NFPROTO_INET, "t", "masq-", "gc", "net", keep, 1, &kept, &stale,
				err) == 0) {
			nft_names_free(&kept);
			nft_names_free(&stale);
		}
		break;
	case 5:
		nft_batch_init(&b);
		if (nft_b_table(&b, NFPROTO_INET, "t") == 0 &&
		    nft_b_rule_del(&b, NFPROTO_INET, "t", "c", 0) == 0 &&
		    nft_b_table_del(&b, NFPROTO_INET, "t") == 0)
			(void)nft_sock_batch(sk, &b, NULL, err);
		nft_batch_release(&b);
		break;
	case 6:
		(void)nft_masq_check(sk, &a, ips, 2, err);
		break;
	case 7:
		(void)nft_masq_add(sk, &a, ips, 2, err);
		break;
	case 8:
		(void)nft_masq_del(sk, &a, ips, 2, err);
		break;
	case 9:
		(void)nft_masq_gc(sk, "net", keep, 1, err);
		break;
	case 10:
		(void)nft_spoofchk_check(sk, &a, "veth0", mac, err);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err err = { 0 };
	FILE *saved;
	size_t i;

	if (size < 2)
		return 0;
	if (!sk && nft_open(&sk, &err) < 0) {
		fprintf(stderr, "fuzz_nft: %s\n", err.msg);
		abort();
	}
	if (!fz.devnull) {
		fz.devnull = fopen("/dev/null", "w");
		fk.build = build;
		__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
	}
	fk_start(data + 2, size - 2, data[1] & 1);
	fz.n = 0;
	fz.overflow = false;
	fz.thread = pthread_self();
	/* libnftnl's complaint would cost a write per input; ASan reports go to fd 2 anyway. */
	saved = stderr;
	stderr = fz.devnull;
	if (setjmp(fz.back) == 0) {
		fz.on = fz.in_input = true;
		run(data[0], &err);
		fz.on = fz.in_input = false;
	} else {
		fz.on = false;
		for (i = 0; i < fz.n; i++)
			__lsan_ignore_object((const void *)fz.p[i]);
		if (fz.overflow)
			abort();	/* more blocks than we can excuse: raise LIVE_MAX */
	}
	stderr = saved;
	return 0;
}
