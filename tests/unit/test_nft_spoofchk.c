// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pkg/nft/spoofchk.c without touching nftables: names, builders parsed back,
 * and the batches ADD/DEL/GC send, through wrapped libmnl calls
 * (test_nft_spoofchk.wrap, nft_harness.h) that answer like the kernel, knowing
 * the chains we say exist and failing the message we choose.
 */
#include "nft_harness.h"

#include "cni/err.h"
#include "cni/hash.h"
#include "cni/nft.h"
#include "../../pkg/nft/nft-int.h"

/* Everything of this module lives in the bridge family, keyed by 16-byte ifnames. */
static void fk_reset(void)
{
	fk_reset_for(NFPROTO_BRIDGE, 16);
}

/* ---- tests ---- */

#define CHAIN1 "sc-9662e8b9c85e1dd8-55d96a8a58fb0379"
static const uint8_t MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x5c, 0x01 };
static const struct nft_attach A = { "sctnet", "sctcid1", "eth0" };
#define HOST "vethsct1"

/* The caller-owned socket every call of a plugin invocation shares. */
static struct nft_sock *S;

static int open_sock(void **state)
{
	return nft_open(&S, NULL);
}

static int close_sock(void **state)
{
	nft_close(S);
	return 0;
}

static void test_names(void **state)
{
	char name[NFT_SC_NAMELEN];

	/* Seen in the kernel for network sctnet, container sctcid1, eth0 (sha512sum agrees). */
	assert_int_equal(nft_spoofchk_chain_name("sctnet", "eth0", "sctcid1", name), 0);
	assert_string_equal(name, CHAIN1);
	assert_int_equal(strlen(name), NFT_SC_NAMELEN - 1);
}

static void roundtrip(struct nftnl_rule *r, const char *chain, const char *want_text)
{
	struct nftnl_rule *p = parse_back(r);
	char text[1024];

	assert_string_equal(nftnl_rule_get_str(p, NFTNL_RULE_TABLE), NFT_SC_TABLE);
	assert_string_equal(nftnl_rule_get_str(p, NFTNL_RULE_CHAIN), chain);
	assert_int_equal(nft_rule_expr_text(p, text, sizeof(text)), 0);
	assert_string_equal(text, want_text);
	nftnl_rule_free(p);
}

/* What `nft --debug=netlink` shows for the rules the earlier nft script made. */
static void test_builders(void **state)
{
	roundtrip(nft_spoofchk_rule_dispatch(), "prerouting",
		  "meta load iifname => reg 1 ;lookup reg 1 set ports dreg 0 0x0 ;");
	roundtrip(nft_spoofchk_rule_mac("sc-x", MAC), "sc-x",
		  "payload load 6b @ link header + 6 => reg 1 ;cmp eq reg 1 0x00000002 0x0000015c ;"
		  "immediate reg 0 return ;");
	roundtrip(nft_spoofchk_rule_drop("sc-x"), "sc-x", "immediate reg 0 drop ;");
}

/* ADD reads nothing and sends one batch that makes everything; never EXCL. */
static void test_add_one_batch(void **state)
{
	static const uint16_t want[] = {
		NFT_MSG_NEWTABLE, NFT_MSG_NEWSET, NFT_MSG_NEWCHAIN, NFT_MSG_DELRULE, NFT_MSG_NEWRULE,
		NFT_MSG_NEWCHAIN, NFT_MSG_DELRULE, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE, NFT_MSG_NEWSETELEM,
	};
	struct cni_err err = { 0 };
	struct nftnl_chain *c;
	struct nftnl_set *set;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	uint32_t len = 0;
	const char *key;
	size_t i;

	fk_reset();
	assert_int_equal(nft_spoofchk_add(S, &A, HOST, MAC, &err), 0);
	assert_int_equal(err.code, 0);
	assert_int_equal(fk.batches, 1);
	assert_int_equal(fk.queries, 0);
	want_types(want, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < fk.ntypes; i++)
		assert_false(fk.flags[i] & NLM_F_EXCL);
	assert_string_equal(fk.names[2], NFT_SC_BASE);
	assert_string_equal(fk.names[3], NFT_SC_BASE);	/* the base chain is flushed and refilled */
	assert_string_equal(fk.names[5], CHAIN1);
	assert_string_equal(fk.names[6], CHAIN1);

	/* The base chain parsed back: filter, prerouting, -300, accept. */
	c = nftnl_chain_alloc();
	assert_int_equal(nftnl_chain_nlmsg_parse(last_msg(NFT_MSG_NEWCHAIN, 0), c), 0);
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "filter");
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), 0);
	assert_int_equal(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), -300);
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
	nftnl_chain_free(c);

	/* The map: ifname (16 bytes) to verdict. */
	set = nftnl_set_alloc();
	assert_int_equal(nftnl_set_nlmsg_parse(last_msg(NFT_MSG_NEWSET, 0), set), 0);
	assert_string_equal(nftnl_set_get_str(set, NFTNL_SET_NAME), NFT_SC_MAP);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_FLAGS), NFT_SET_MAP);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_KEY_LEN), 16);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_DATA_TYPE), NFT_DATA_VERDICT);
	nftnl_set_free(set);

	/* The element: the host veth's name, zero-padded, jumping to the attachment chain. */
	set = nftnl_set_alloc();
	assert_int_equal(nftnl_set_elems_nlmsg_parse(last_msg(NFT_MSG_NEWSETELEM, 0), set), 0);
	it = nftnl_set_elems_iter_create(set);
	e = nftnl_set_elems_iter_cur(it);
	assert_non_null(e);
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	assert_int_equal(len, 16);
	assert_memory_equal(key, "vethsct1\0\0\0\0\0\0\0\0", 16);
	assert_int_equal((int)nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT), NFT_JUMP);
	assert_string_equal(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN), CHAIN1);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(set);
}

/* The port's element jumps elsewhere (EBUSY): the retry deletes it first, and succeeds quietly. */
static void test_add_takeover(void **state)
{
	struct cni_err err = { 0 };

	fk_reset();
	fk.fail_type = NFT_MSG_NEWSETELEM;
	fk.fail_errno = EBUSY;
	fk.fail_batches = 1;
	assert_int_equal(nft_spoofchk_add(S, &A, HOST, MAC, &err), 0);
	assert_int_equal(err.code, 0);
	assert_int_equal(fk.batches, 2);
	assert_int_equal(fk.types[fk.ntypes - 2], NFT_MSG_DELSETELEM);
	assert_string_equal(fk.names[fk.ntypes - 2], "vethsct1");
	assert_int_equal(fk.types[fk.ntypes - 1], NFT_MSG_NEWSETELEM);

	/* Refused every time: bounded, and the last error names the element. */
	fk_reset();
	fk.fail_type = NFT_MSG_NEWSETELEM;
	fk.fail_errno = EEXIST;
	assert_int_equal(nft_spoofchk_add(S, &A, HOST, MAC, &err), -EEXIST);
	assert_true(fk.batches > 1 && fk.batches <= 5);
	assert_int_equal(err.code, CNI_ERR_NFT);
	assert_non_null(strstr(err.msg, "element \"vethsct1\" : jump " CHAIN1));
}

/* A refused rule fails ADD at once, naming the rule and chain, with the kernel's text. */
static void test_add_error_named(void **state)
{
	struct cni_err err = { 0 };

	fk_reset();
	fk.fail_type = NFT_MSG_NEWRULE;
	fk.fail_nth = 1;
	fk.fail_errno = EPERM;
	fk.extack = "sct: refused";
	assert_int_equal(nft_spoofchk_add(S, &A, HOST, MAC, &err), -EPERM);
	assert_int_equal(fk.batches, 1);
	assert_int_equal(err.code, CNI_ERR_NFT);
	assert_int_equal(err.errnum, EPERM);
	assert_non_null(strstr(err.msg, "ether saddr 02:00:00:00:5c:01 return"));
	assert_non_null(strstr(err.msg, CHAIN1));
	assert_non_null(strstr(err.details, "sct: refused"));
}

/* The socket refusing the batch is an error of its own, not a retry. */
static void test_transport_failure(void **state)
{
	struct cni_err err = { 0 };

	fk_reset();
	fk.send_errno = ENOBUFS;
	assert_int_equal(nft_spoofchk_add(S, &A, HOST, MAC, &err), -ENOBUFS);
	assert_int_equal(err.code, CNI_ERR_NFT);
	assert_non_null(strstr(err.msg, "sending nftables batch"));

	/* A query failing the same way fails DEL, with context. */
	cni_err_clear(&err);
	assert_int_equal(nft_spoofchk_del(S, &A, HOST, &err), -ENOBUFS);
	assert_int_equal(err.code, CNI_ERR_NFT);
	assert_non_null(strstr(err.msg, CHAIN1));
}

/* Nothing there: DEL sends no batch, after three lookups (ours, the reference's two chains). */
static void test_del_nothing(void **state)
{
	struct cni_err err = { 0 };

	fk_reset();
	assert_int_equal(nft_spoofchk_del(S, &A, HOST, &err), 0);
	assert_int_equal(err.code, 0);
	assert_int_equal(fk.batches, 0);
	assert_int_equal(fk.queries, 3);
}

static void test_del_ours(void **state)
{
	static const uint16_t guarded[] = {
		NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM, NFT_MSG_DELRULE, NFT_MSG_DELCHAIN,
	};
	static const uint16_t listed[] = { NFT_MSG_DELRULE, NFT_MSG_DELCHAIN };
	struct cni_err err = { 0 };

	fk_reset();
	fk.chains[0] = CHAIN1;
	assert_int_equal(nft_spoofchk_del(S, &A, HOST, &err), 0);
	assert_int_equal(fk.batches, 1);
	want_types(guarded, 4);
	assert_string_equal(fk.names[0], "vethsct1");
	assert_string_equal(fk.names[3], CHAIN1);
	assert_int_equal(fk.elem_dumps, 0);

	/* The chain is held by another element: the retry lists the map instead of guessing. */
	fk_reset();
	fk.chains[0] = CHAIN1;
	fk.fail_type = NFT_MSG_DELCHAIN;
	fk.fail_errno = EBUSY;
	fk.fail_batches = 1;
	assert_int_equal(nft_spoofchk_del(S, &A, HOST, &err), 0);
	assert_int_equal(err.code, 0);
	assert_int_equal(fk.batches, 2);
	assert_int_equal(fk.elem_dumps, 1);
	want_types(listed, 2);

	/* No host name: the map is listed from the start. */
	fk_reset();
	fk.chains[0] = CHAIN1;
	assert_int_equal(nft_spoofchk_del(S, &A, NULL, &err), 0);
	assert_int_equal(fk.elem_dumps, 1);
	want_types(listed, 2);
}

/* The reference's chains for the same cid/ifname go in one batch, rules flushed first. */
static void test_del_reference(void **state)
{
	static const uint16_t want[] = {
		NFT_MSG_DELRULE, NFT_MSG_DELRULE, NFT_MSG_DELCHAIN, NFT_MSG_DELCHAIN,
	};
	struct cni_err err = { 0 };

	fk_reset();
	fk.chains[0] = "cni-br-iface-sctcid1-eth0";
	fk.chains[1] = "cni-br-iface-sctcid1-eth0-mac";
	assert_int_equal(nft_spoofchk_del(S, &A, HOST, &err), 0);
	assert_int_equal(fk.batches, 1);
	want_types(want, 4);
	assert_string_equal(fk.names[2], "cni-br-iface-sctcid1-eth0");
	assert_string_equal(fk.names[3], "cni-br-iface-sctcid1-eth0-mac");
}

/* GC deletes only this network's unlisted chains of our table, one transaction each. */
static void test_gc(void **state)
{
	static const uint16_t want[] = { NFT_MSG_DELRULE, NFT_MSG_DELCHAIN };
	struct cni_attachment keep[1] = { { .container_id = "keep", .ifname = "eth0" } };
	char kept[NFT_SC_NAMELEN], stale[NFT_SC_NAMELEN], other[NFT_SC_NAMELEN];
	struct cni_err err = { 0 };

	assert_int_equal(nft_spoofchk_chain_name("sctnet", "eth0", "keep", kept), 0);
	assert_int_equal(nft_spoofchk_chain_name("sctnet", "eth0", "stale", stale), 0);
	assert_int_equal(nft_spoofchk_chain_name("sctother", "eth0", "stale", other), 0);
	fk_reset();
	fk.dump[0][0] = NFT_SC_TABLE;
	fk.dump[0][1] = NFT_SC_BASE;
	fk.dump[1][0] = NFT_SC_TABLE;
	fk.dump[1][1] = kept;
	fk.dump[2][0] = NFT_SC_TABLE;
	fk.dump[2][1] = stale;
	fk.dump[3][0] = NFT_SC_TABLE;
	fk.dump[3][1] = other;
	fk.dump[4][0] = "nat";
	fk.dump[4][1] = stale;
	fk.chains[0] = stale;
	assert_int_equal(nft_spoofchk_gc(S, "sctnet", keep, 1, &err), 0);
	assert_int_equal(err.code, 0);
	assert_int_equal(fk.batches, 1);
	assert_int_equal(fk.elem_dumps, 1);
	want_types(want, 2);
	assert_string_equal(fk.names[1], stale);

	/* Everything listed: nothing sent. */
	fk_reset();
	fk.dump[0][0] = NFT_SC_TABLE;
	fk.dump[0][1] = kept;
	assert_int_equal(nft_spoofchk_gc(S, "sctnet", keep, 1, &err), 0);
	assert_int_equal(fk.batches, 0);
	assert_int_equal(fk.elem_dumps, 0);
}

static void test_bad_args(void **state)
{
	struct nft_attach noid = { .network = "n", .ifname = "eth0" };
	struct cni_err err = { 0 };

	fk_reset();
	assert_int_equal(nft_spoofchk_add(S, &A, "0123456789abcdef", MAC, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "0123456789abcdef"));
	assert_int_equal(nft_spoofchk_check(S, &noid, "v", MAC, NULL), -EINVAL);
	assert_int_equal(nft_spoofchk_del(S, &noid, "v", NULL), -EINVAL);
	assert_int_equal(nft_spoofchk_gc(S, NULL, NULL, 0, NULL), -EINVAL);
	assert_int_equal(nft_spoofchk_add(S, &A, HOST, NULL, NULL), -EINVAL);
	assert_int_equal(fk.batches + fk.queries, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_add_one_batch),
		cmocka_unit_test(test_add_takeover),
		cmocka_unit_test(test_add_error_named),
		cmocka_unit_test(test_transport_failure),
		cmocka_unit_test(test_del_nothing),
		cmocka_unit_test(test_del_ours),
		cmocka_unit_test(test_del_reference),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, open_sock, close_sock);
}
