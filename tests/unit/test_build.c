// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The build note (pkg/cni/build.c): this test binary carries it, and any file
 * that is not this same build is "not ours" without a read past its end,
 * whatever its headers say (it decides whether an IPAM plugin runs in-process).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/build.h"

static unsigned char *self;
static size_t self_len;
static char dir[64];
static char path[128];

static int setup(void **state)
{
	struct stat st;
	int fd = open("/proc/self/exe", O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	self_len = (size_t)st.st_size;
	self = malloc(self_len);
	if (!self || read(fd, self, self_len) != (ssize_t)self_len)
		return -1;
	close(fd);
	strcpy(dir, "/tmp/cnip-build.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/host-local", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	rmdir(dir);
	free(self);
	return 0;
}

/* Writes len bytes of data as the file at path. */
static void put(const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The offset of our note's header in self. */
static size_t note_offset(void)
{
	const char *id = cni_build_id();
	size_t i;

	for (i = sizeof(Elf64_Nhdr) + 8; i + strlen(id) < self_len; i++)
		if (!memcmp(self + i, id, strlen(id)) && !memcmp(self + i - 8, "cnip", 5))
			return i - 8 - sizeof(Elf64_Nhdr);
	fail_msg("no note in this binary");
	return 0;
}

static void test_self(void **state)
{
	const char *id = cni_build_id();

	assert_int_equal(strlen(id), 24);
	assert_int_equal(strspn(id, "0123456789abcdef"), 24);
	assert_true(cni_build_is_ours("/proc/self/exe"));
	put(self, self_len);
	assert_true(cni_build_is_ours(path));
}

static void test_not_ours(void **state)
{
	unsigned char *copy = malloc(self_len);
	size_t off = note_offset();
	Elf64_Nhdr h;

	assert_false(cni_build_is_ours("/nonexistent/host-local"));
	assert_false(cni_build_is_ours("/dev/null"));
	assert_false(cni_build_is_ours(dir));
	put("#!/bin/sh\nexec true\n", 20);
	assert_false(cni_build_is_ours(path));

	/* Another build: the same file with another id. */
	memcpy(copy, self, self_len);
	memset(copy + off + sizeof(h) + 8, '0', 24);
	put(copy, self_len);
	assert_false(cni_build_is_ours(path));

	/* A note header whose sizes run past the segment. */
	memcpy(copy, self, self_len);
	memcpy(&h, copy + off, sizeof(h));
	h.n_namesz = 0xffffffff;
	memcpy(copy + off, &h, sizeof(h));
	put(copy, self_len);
	assert_false(cni_build_is_ours(path));
	memcpy(copy, self, self_len);
	h.n_namesz = 5;
	h.n_descsz = 0xfffffff0;
	memcpy(copy + off, &h, sizeof(h));
	put(copy, self_len);
	assert_false(cni_build_is_ours(path));

	/* Too many program headers, and a wrong ELF class. */
	memcpy(copy, self, self_len);
	((Elf64_Ehdr *)copy)->e_phnum = 1000;
	put(copy, self_len);
	assert_false(cni_build_is_ours(path));
	memcpy(copy, self, self_len);
	copy[EI_CLASS] = ELFCLASS32;
	put(copy, self_len);
	assert_false(cni_build_is_ours(path));
	free(copy);
}

/* Cut anywhere before the end of the note, the file is not ours; never a crash. */
static void test_truncated(void **state)
{
	size_t end = note_offset() + sizeof(Elf64_Nhdr) + 8 + 32, cut;

	for (cut = 0; cut < end; cut += cut < 128 ? 1 : 61) {
		put(self, cut);
		assert_false(cni_build_is_ours(path));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
