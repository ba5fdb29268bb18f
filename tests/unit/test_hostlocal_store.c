// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * host-local lease store: the reference's files byte for byte, the index
 * kept honest against changes made behind its back, atomic claims, the lock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../plugins/host-local/range.c"

/*
 * Seams into store.c and the file helpers it uses: write() that may write less than asked, as the kernel
 * may (a signal, a full device), and malloc() that records its largest request.
 */
static size_t write_limit;	/* 0: whole writes */
static size_t malloc_max;

static ssize_t seam_write(int fd, const void *buf, size_t n)
{
	return write(fd, buf, write_limit && n > write_limit ? write_limit : n);
}

static void *seam_malloc(size_t n)
{
	if (n > malloc_max)
		malloc_max = n;
	return malloc(n);
}

#define write seam_write
#define malloc seam_malloc
#include "../../pkg/cni/file.c"
#include "../../plugins/host-local/store.c"
#undef write
#undef malloc

#define NET "hltnet"

static char top[64];
static char dir[128];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	strcpy(top, "/tmp/hlt-store.XXXXXX");
	assert_non_null(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/" NET, top);
	umask(022);
	return 0;
}

static int teardown(void **state)
{
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static struct cni_ip ip_of(const char *s)
{
	struct cni_ip ip;

	assert_int_equal(cni_ip_parse(s, &ip), 0);
	return ip;
}

static struct hl_store *open_store(void)
{
	struct cni_err err = { 0 };
	struct hl_store *s = NULL;

	assert_int_equal(hl_store_open(top, NET, true, 1000, &s, &err), 0);
	assert_non_null(s);
	return s;
}

static void reserve(struct hl_store *s, const char *ip, const char *cid, const char *ifname,
		    unsigned int set)
{
	struct cni_err err = { 0 };
	struct cni_ip a = ip_of(ip);

	assert_int_equal(hl_store_reserve(s, &a, cid, ifname, set, &err), 0);
}

static void file_is(const char *name, const char *want, mode_t mode)
{
	char path[256], buf[256];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	assert_string_equal(buf, want);
	assert_int_equal(st.st_mode & 07777, mode);
}

static void write_file(const char *name, const char *content)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static bool exists(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* The addresses of (cid, ifname), formatted and joined by spaces. */
static const char *found(struct hl_store *s, const char *cid, const char *ifname)
{
	static char out[512];
	struct cni_ip ips[8];
	struct cni_err err = { 0 };
	char buf[CNI_IP_STRLEN];
	size_t n = 99, i;

	assert_int_equal(hl_store_find(s, cid, ifname, ips, 8, &n, &err), 0);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? " " : "",
			 cni_ip_format(&ips[i], buf));
	return out;
}

static unsigned long stamp_gen(void)
{
	char path[256], buf[128];
	unsigned long gen = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/.cnip/stamp", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, STAMP_MAGIC " %lu", &gen) != 1)
		gen = 0;
	fclose(f);
	return gen;
}

static void test_reference_format(void **state)
{
	struct hl_store *s = open_store();
	struct cni_ip ip;
	struct stat st;
	char path[256];

	reserve(s, "10.1.0.2", "c1", "eth0", 0);
	reserve(s, "fd00::2", "c1", "eth0", 1);
	hl_store_close(s);
	file_is("10.1.0.2", "c1\r\neth0", 0600);
	file_is("fd00::2", "c1\r\neth0", 0600);
	file_is("last_reserved_ip.0", "10.1.0.2", 0600);
	file_is("last_reserved_ip.1", "fd00::2", 0600);
	file_is("lock", "", 0750);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(path, sizeof(path), "%s/.cnip", dir);
	assert_int_equal(stat(path, &st), 0);

	s = open_store();
	assert_int_equal(hl_store_last_reserved(s, 0, &ip), 0);
	assert_true(cni_ip_equal(&ip, &(struct cni_ip){ AF_INET, { 10, 1, 0, 2 } }));
	assert_int_equal(hl_store_last_reserved(s, 7, &ip), -ENOENT);
	hl_store_close(s);
}

static void test_claim_once(void **state)
{
	struct hl_store *s = open_store();
	struct cni_err err = { 0 };
	struct cni_ip a = ip_of("10.1.0.5");

	reserve(s, "10.1.0.5", "c1", "eth0", 0);
	assert_int_equal(hl_store_reserve(s, &a, "c2", "eth0", 0, &err), -EEXIST);
	assert_int_equal(err.code, 0);
	assert_int_equal(hl_store_reserve(s, &a, "c1", "eth0", 0, &err), -EEXIST);
	assert_false(hl_store_is_free(s, &a));
	a = ip_of("10.1.0.6");
	assert_true(hl_store_is_free(s, &a));
	hl_store_close(s);
	file_is("10.1.0.5", "c1\r\neth0", LEASE_MODE);
}

static void test_find_and_release(void **state)
{
	struct hl_store *s = open_store();
	struct cni_err err = { 0 };
	size_t n = 99;

	reserve(s, "10.1.0.2", "c1", "eth0", 0);
	reserve(s, "fd00::2", "c1", "eth0", 1);
	reserve(s, "10.1.0.3", "c1", "eth1", 0);
	reserve(s, "10.1.0.4", "c2", "eth0", 0);
	assert_string_equal(found(s, "c1", "eth0"), "10.1.0.2 fd00::2");
	hl_store_close(s);

	/* A second run uses the stamped index without rebuilding it. */
	s = open_store();
	assert_string_equal(found(s, "c1", "eth0"), "10.1.0.2 fd00::2");
	assert_string_equal(found(s, "c1", "eth1"), "10.1.0.3");
	assert_string_equal(found(s, "c3", "eth0"), "");
	assert_int_equal(hl_store_release(s, "c1", "eth0", &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(found(s, "c1", "eth0"), "");
	assert_false(exists("10.1.0.2"));
	assert_false(exists("fd00::2"));
	assert_true(exists("10.1.0.3"));
	/* DEL is idempotent. */
	assert_int_equal(hl_store_release(s, "c1", "eth0", &n, &err), 0);
	assert_int_equal(n, 0);
	hl_store_close(s);
	assert_int_equal(stamp_gen(), 1);

	s = open_store();
	assert_string_equal(found(s, "c2", "eth0"), "10.1.0.4");
	hl_store_close(s);
	assert_int_equal(stamp_gen(), 1);
}

/* What the reference does while we are away must show up. */
static void test_changes_behind_our_back(void **state)
{
	struct hl_store *s = open_store();
	char path[256];

	reserve(s, "10.1.0.2", "c1", "eth0", 0);
	reserve(s, "10.1.0.3", "c2", "eth0", 0);
	hl_store_close(s);
	assert_int_equal(stamp_gen(), 1);

	/* The reference adds a lease right after our run, within the same tick. */
	write_file("10.1.0.9", "c9\r\neth0");
	s = open_store();
	assert_string_equal(found(s, "c9", "eth0"), "10.1.0.9");
	hl_store_close(s);
	assert_int_equal(stamp_gen(), 2);

	/* The reference releases one. */
	snprintf(path, sizeof(path), "%s/10.1.0.2", dir);
	assert_int_equal(unlink(path), 0);
	s = open_store();
	assert_string_equal(found(s, "c1", "eth0"), "");
	hl_store_close(s);

	/* A lease rewritten in place leaves the mtime alone; the check on use catches it. */
	write_file("10.1.0.3", "c7\r\neth0");
	s = open_store();
	assert_string_equal(found(s, "c2", "eth0"), "");
	assert_string_equal(found(s, "c7", "eth0"), "10.1.0.3");
	hl_store_close(s);

	/* The index thrown away entirely. */
	snprintf(path, sizeof(path), "%s/.cnip", dir);
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	s = open_store();
	assert_string_equal(found(s, "c9", "eth0"), "10.1.0.9");
	hl_store_close(s);
}

static void test_old_format(void **state)
{
	struct hl_store *s = open_store();
	struct cni_err err = { 0 };
	size_t n;

	hl_store_close(s);
	write_file("10.1.0.5", "c5");
	write_file("10.1.0.6", "c6");
	write_file("10.1.0.7", "  c6\r\neth0\n");
	s = open_store();
	/* A cid-only lease matches every ifname of its container. */
	assert_string_equal(found(s, "c5", "eth1"), "10.1.0.5");
	assert_int_equal(hl_store_release(s, "c5", "eth1", &n, &err), 0);
	assert_int_equal(n, 1);
	assert_false(exists("10.1.0.5"));
	/* ...but goes only when no current lease matched, like the reference. */
	assert_string_equal(found(s, "c6", "eth0"), "10.1.0.7 10.1.0.6");
	assert_int_equal(hl_store_release(s, "c6", "eth0", &n, &err), 0);
	assert_int_equal(n, 1);
	assert_false(exists("10.1.0.7"));
	assert_true(exists("10.1.0.6"));
	hl_store_close(s);
}

static void test_empty_lease_is_reclaimed(void **state)
{
	struct hl_store *s = open_store();

	hl_store_close(s);
	/* The reference killed between O_EXCL create and write. */
	write_file("10.1.0.7", "");
	s = open_store();
	assert_true(hl_store_is_free(s, &(struct cni_ip){ AF_INET, { 10, 1, 0, 7 } }));
	reserve(s, "10.1.0.7", "c1", "eth0", 0);
	hl_store_close(s);
	file_is("10.1.0.7", "c1\r\neth0", LEASE_MODE);
}

/* A crashed run may leave our temporary name linked to a lease: never truncate it. */
static void test_stale_tmp_not_truncated(void **state)
{
	struct hl_store *s = open_store();
	char a[256], b[256];

	reserve(s, "10.1.0.2", "c1", "eth0", 0);
	hl_store_close(s);
	snprintf(a, sizeof(a), "%s/10.1.0.2", dir);
	snprintf(b, sizeof(b), "%s/.cnip/tmp.%ld.0", dir, (long)getpid());
	assert_int_equal(link(a, b), 0);
	s = open_store();
	reserve(s, "10.1.0.3", "c2", "eth0", 0);
	hl_store_close(s);
	file_is("10.1.0.2", "c1\r\neth0", LEASE_MODE);
	file_is("10.1.0.3", "c2\r\neth0", LEASE_MODE);
}

static void test_no_symlinks_no_escape(void **state)
{
	struct hl_store *s = open_store();
	struct cni_err err = { 0 };
	struct cni_ip a = ip_of("10.1.0.9");
	char path[256];

	reserve(s, "10.1.0.2", "c1", "eth0", 0);
	hl_store_close(s);
	snprintf(path, sizeof(path), "%s/10.1.0.9", dir);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	s = open_store();
	assert_false(hl_store_is_free(s, &a));
	assert_int_equal(hl_store_reserve(s, &a, "c2", "eth0", 0, &err), -EEXIST);
	assert_int_equal(hl_store_reserve(s, &a, "c2/../x", "eth0", 0, &err), -EINVAL);
	cni_err_clear(&err);
	assert_int_equal(hl_store_reserve(s, &a, "c2", "eth0\r\nx", 0, &err), -EINVAL);
	cni_err_clear(&err);
	hl_store_close(s);

	/* A symlinked last_reserved_ip is replaced, not written through. */
	snprintf(path, sizeof(path), "%s/last_reserved_ip.0", dir);
	unlink(path);
	write_file("../target", "keep");
	assert_int_equal(symlink("../target", path), 0);
	s = open_store();
	reserve(s, "10.1.0.3", "c3", "eth0", 0);
	hl_store_close(s);
	file_is("../target", "keep", 0644);
	file_is("last_reserved_ip.0", "10.1.0.3", LEASE_MODE);

	/* A symlinked lock or network directory is refused. */
	snprintf(path, sizeof(path), "%s/lock", dir);
	unlink(path);
	assert_int_equal(symlink("/tmp", path), 0);
	assert_int_equal(hl_store_open(top, NET, true, 1000, &s, &err), -ELOOP);
	assert_int_equal(err.code, CNI_ERR_IO);
	cni_err_clear(&err);
	snprintf(path, sizeof(path), "%s/other", top);
	assert_int_equal(symlink("/tmp", path), 0);
	assert_true(hl_store_open(top, "other", true, 1000, &s, &err) < 0);
	cni_err_clear(&err);

	assert_int_equal(hl_store_open(top, "..", true, 1000, &s, &err), -EINVAL);
	assert_int_equal(err.code, CNI_ERR_CONFIG);
	cni_err_clear(&err);
	assert_int_equal(hl_store_open(top, "a/b", true, 1000, &s, &err), -EINVAL);
	cni_err_clear(&err);
	assert_int_equal(hl_store_open(top, ".cnip", true, 1000, &s, &err), -EINVAL);
	cni_err_clear(&err);
	/* DEL of a network never seen: nothing is created. */
	assert_int_equal(hl_store_open(top, "nonet", false, 1000, &s, &err), -ENOENT);
	assert_int_equal(err.code, 0);
	snprintf(path, sizeof(path), "%s/nonet", top);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_lock_timeout(void **state)
{
	struct hl_store *s = open_store(), *t = NULL;
	struct cni_err err = { 0 };
	long long t0;

	/* flock belongs to the open file: a second open in this process contends. */
	t0 = now_ms();
	assert_int_equal(hl_store_open(top, NET, true, 200, &t, &err), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 200);
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(err.code, CNI_ERR_TRY_AGAIN);
	assert_null(t);
	hl_store_close(s);
	cni_err_clear(&err);
	assert_int_equal(hl_store_open(top, NET, true, 200, &t, &err), 0);
	hl_store_close(t);
}

static bool keep_c1(void *ctx, const char *cid, const char *ifname)
{
	(*(int *)ctx)++;
	return !strcmp(cid, "c1") && (!strcmp(ifname, "eth0") || !*ifname);
}

static void test_gc(void **state)
{
	struct hl_store *s = open_store();
	struct cni_err err = { 0 };
	size_t released = 0;
	int calls = 0;

	reserve(s, "10.1.0.2", "c1", "eth0", 0);
	reserve(s, "10.1.0.3", "c1", "eth1", 0);
	reserve(s, "10.1.0.4", "c2", "eth0", 0);
	hl_store_close(s);
	write_file("10.1.0.5", "c1");
	write_file("10.1.0.6", "");
	write_file("10.1.0.7", "c3\r\neth0");
	s = open_store();
	assert_int_equal(hl_store_gc(s, keep_c1, &calls, &released, &err), 0);
	assert_int_equal(released, 4);
	assert_int_equal(calls, 5);
	assert_string_equal(found(s, "c1", "eth0"), "10.1.0.2 10.1.0.5");
	assert_string_equal(found(s, "c2", "eth0"), "");
	hl_store_close(s);
	assert_true(exists("10.1.0.2"));
	assert_true(exists("10.1.0.5"));
	assert_false(exists("10.1.0.3"));
	assert_false(exists("10.1.0.4"));
	assert_false(exists("10.1.0.6"));
	assert_false(exists("10.1.0.7"));
	assert_true(exists("lock"));
	assert_true(exists("last_reserved_ip.0"));
}

/* Many leases made by the reference: one rebuild, then lookups read no lease but their own. */
static void test_many_leases(void **state)
{
	struct hl_store *s = open_store();
	char name[32], content[64];
	int i;

	hl_store_close(s);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "10.2.%d.%d", i / 250, i % 250 + 1);
		snprintf(content, sizeof(content), "cid-%d\r\neth0", i);
		write_file(name, content);
	}
	s = open_store();
	assert_string_equal(found(s, "cid-2999", "eth0"), "10.2.11.250");
	hl_store_close(s);
	s = open_store();
	assert_string_equal(found(s, "cid-1234", "eth0"), "10.2.4.235");
	hl_store_close(s);
	assert_int_equal(stamp_gen(), 1);
}

/* Claims from many processes at once never share an address. */
static void test_parallel_claims(void **state)
{
	enum { PROCS = 8, EACH = 20 };
	pid_t pids[PROCS];
	int i, st, count = 0;
	struct dirent *de;
	DIR *d;

	hl_store_close(open_store());
	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (!pids[i]) {
			char cid[32];
			int k, ok = 0;

			for (k = 0; k < EACH; k++) {
				struct hl_store *s = NULL;
				struct cni_err err = { 0 };
				struct hl_range r[1];
				struct hl_rangeset set = { r, 1 };
				struct hl_iter it;
				struct cni_ip ip, last;

				if (hl_store_open(top, NET, true, 10000, &s, &err) ||
				    hl_range_init(r, "10.3.0.0/16", NULL, NULL, NULL, &err))
					_exit(2);
				snprintf(cid, sizeof(cid), "p%d-%d", i, k);
				hl_iter_init(&it, &set,
					     hl_store_last_reserved(s, 0, &last) ? NULL : &last);
				while (hl_iter_next(&it, &ip, NULL))
					if (!hl_store_reserve(s, &ip, cid, "eth0", 0, &err)) {
						ok++;
						break;
					}
				hl_store_close(s);
			}
			_exit(ok == EACH ? 0 : 1);
		}
	}
	for (i = 0; i < PROCS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)))
		count += is_lease_name(de->d_name);
	closedir(d);
	assert_int_equal(count, PROCS * EACH);
	/* Round robin handed out 10.3.0.2 up to the count, each once. */
	assert_true(exists("10.3.0.161"));
	assert_false(exists("10.3.0.162"));
}

static void test_probe_write(void **state)
{
	struct hl_store *s = open_store();
	struct cni_err err = { 0 };

	assert_int_equal(hl_store_probe_write(s, &err), 0);
	hl_store_close(s);
}

/*
 * Short writes are finished, not taken for errors or left half-written, and
 * reading an index entry costs what the entry holds, not 1 MiB.
 */
static void test_short_writes_small_reads(void **state)
{
	struct hl_store *s = open_store();
	char path[256];

	write_limit = 3;
	reserve(s, "10.1.0.2", "c1", "eth0", 0);
	reserve(s, "fd00::2", "c1", "eth0", 1);
	reserve(s, "10.1.0.3", "c2", "eth0", 0);
	hl_store_close(s);
	file_is("10.1.0.2", "c1\r\neth0", LEASE_MODE);
	/* Thrown away, the index is rebuilt in a fresh generation, three bytes a write. */
	snprintf(path, sizeof(path), "%s/.cnip", dir);
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	s = open_store();
	assert_string_equal(found(s, "c2", "eth0"), "10.1.0.3");
	hl_store_close(s);
	write_limit = 0;
	s = open_store();
	malloc_max = 0;
	assert_string_equal(found(s, "c1", "eth0"), "10.1.0.2 fd00::2");
	assert_true(malloc_max < 4096);
	hl_store_close(s);
}

/* Boots the "kernel" of boot_check() again: a new boot id. */
static void boot_as(const char *id)
{
	static char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/boot_id", top);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", id);
	fclose(f);
	boot_id_path = path;
}

/* Leases of an earlier boot go on the first call of a new one; none before or after. */
static void test_reboot_releases_earlier_boots(void **state)
{
	struct hl_store *s;
	char path[256];

	boot_as("11111111-aaaa-4aaa-8aaa-000000000001");
	s = open_store();
	reserve(s, "10.1.0.2", "c1", "eth0", 0);
	reserve(s, "10.1.0.3", "c2", "eth0", 0);
	hl_store_close(s);
	file_is(".cnip/boot", "11111111-aaaa-4aaa-8aaa-000000000001\n", LEASE_MODE);
	file_is("10.1.0.2", "c1\r\neth0", 0600);

	/* Same boot: everything stays. */
	s = open_store();
	assert_int_equal(hl_store_boot_released(s), 0);
	assert_string_equal(found(s, "c2", "eth0"), "10.1.0.3");
	hl_store_close(s);

	/* A reboot: the first call releases both, even one that only reads (DEL). */
	boot_as("22222222-bbbb-4bbb-8bbb-000000000002");
	{
		struct cni_err err = { 0 };

		assert_int_equal(hl_store_open(top, NET, false, 1000, &s, &err), 0);
	}
	assert_int_equal(hl_store_boot_released(s), 2);
	assert_string_equal(found(s, "c1", "eth0"), "");
	hl_store_close(s);
	assert_false(exists("10.1.0.2"));
	assert_false(exists("10.1.0.3"));
	assert_true(exists("last_reserved_ip.0"));
	file_is(".cnip/boot", "22222222-bbbb-4bbb-8bbb-000000000002\n", LEASE_MODE);
	s = open_store();
	reserve(s, "10.1.0.4", "c3", "eth0", 0);
	hl_store_close(s);
	s = open_store();
	assert_int_equal(hl_store_boot_released(s), 0);
	assert_string_equal(found(s, "c3", "eth0"), "10.1.0.4");
	hl_store_close(s);

	/* No marker (the reference's or an older cnip's directory): nothing goes, the boot is recorded. */
	snprintf(path, sizeof(path), "%s/.cnip/boot", dir);
	assert_int_equal(unlink(path), 0);
	boot_as("33333333-cccc-4ccc-8ccc-000000000003");
	{
		struct cni_err err = { 0 };

		/* A call that creates nothing leaves it unrecorded. */
		assert_int_equal(hl_store_open(top, NET, false, 1000, &s, &err), 0);
		hl_store_close(s);
		assert_false(exists(".cnip/boot"));
	}
	s = open_store();
	assert_int_equal(hl_store_boot_released(s), 0);
	assert_string_equal(found(s, "c3", "eth0"), "10.1.0.4");
	hl_store_close(s);
	file_is(".cnip/boot", "33333333-cccc-4ccc-8ccc-000000000003\n", LEASE_MODE);
	boot_id_path = "/proc/sys/kernel/random/boot_id";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reference_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_and_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_behind_our_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_lease_is_reclaimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_tmp_not_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_symlinks_no_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parallel_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_writes_small_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reboot_releases_earlier_boots, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
