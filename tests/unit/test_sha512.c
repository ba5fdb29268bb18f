// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cni/hash.h"

static void hex_is(const void *data, size_t len, const char *want)
{
	char got[129];

	cni_sha512_hex(data, len, got, 128);
	assert_string_equal(got, want);
}

/* FIPS 180-4 example vectors (NIST CSRC "SHA512.pdf"). */
static void test_fips_vectors(void **state)
{
	hex_is("abc", 3,
	       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	       "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	hex_is("", 0,
	       "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	       "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
	hex_is("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	       112,
	       "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
	       "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}

static void test_million_a(void **state)
{
	char *buf = malloc(1000000);

	assert_non_null(buf);
	memset(buf, 'a', 1000000);
	hex_is(buf, 1000000,
	       "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
	       "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
	free(buf);
}

static void test_prefix_and_raw(void **state)
{
	uint8_t raw[CNI_SHA512_LEN];
	char h[25];

	cni_sha512("abc", 3, raw);
	assert_int_equal(raw[0], 0xdd);
	assert_int_equal(raw[63], 0x9f);
	memset(h, 'x', sizeof(h));
	cni_sha512_hex("abc", 3, h, 24);
	assert_string_equal(h, "ddaf35a193617abacc417349");
	cni_sha512_hex("abc", 3, h, 0);
	assert_string_equal(h, "");
	cni_sha512_hex("abc", 3, h, 1);
	assert_string_equal(h, "d");
}

/* Every length around the block and padding boundaries, against sha512sum. */
static void test_against_sha512sum(void **state)
{
	char path[] = "/tmp/cnip-sha512-XXXXXX";
	unsigned char buf[300];
	char cmd[128], want[129], got[129];
	size_t len;
	int fd;

	if (access("/usr/bin/sha512sum", X_OK) != 0)
		skip();
	for (len = 0; len < sizeof(buf); len++)
		buf[len] = (unsigned char)(len * 7 + 3);
	for (len = 0; len <= sizeof(buf); len += (len > 100 && len < 230) ? 1 : 13) {
		FILE *f;

		fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, buf, len), (ssize_t)len);
		close(fd);
		snprintf(cmd, sizeof(cmd), "sha512sum %s", path);
		f = popen(cmd, "r");
		assert_non_null(f);
		assert_int_equal(fscanf(f, "%128s", want), 1);
		pclose(f);
		unlink(path);
		strcpy(path, "/tmp/cnip-sha512-XXXXXX");
		cni_sha512_hex(buf, len, got, 128);
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_prefix_and_raw),
		cmocka_unit_test(test_against_sha512sum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
