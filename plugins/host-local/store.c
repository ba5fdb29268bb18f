// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lease files, lock and index of host-local.
 *
 * The reference's files are the truth: <dir>/<ip> with "<cid>\r\n<ifname>",
 * <dir>/last_reserved_ip.<set>, and flock(<dir>/lock) around every change, so
 * that the reference and we can take turns on one node with pods running.
 *
 * The reference finds a container's leases by reading every file of <dir>.
 * We keep an index instead, in <dir>/.cnip/ (a dot name: globs, the
 * reference's IP parsing and its content matching all pass over it):
 *   idx.<gen>/<h>   h = 32 hex of SHA-512(cid "\0" ifname); holds
 *                   "cid\nifname\n" and the names of that owner's lease
 *                   files, one a line (ifname "" for old cid-only leases)
 *   stamp           "cnip-host-local-index 1 <gen> <sec>.<nsec>": the
 *                   generation in use and the mtime <dir> had when it was
 *                   last known to match the leases
 *   tmp.<pid>.<n>   files being written
 *   boot            the kernel's boot_id of the last call: see boot_check()
 * The index is trusted only while <dir>'s mtime equals the stamp. Every
 * change of a lease (create, unlink), by us or by the reference, changes that
 * mtime; after our own changes we set it back to a whole second two seconds
 * in the past and stamp that value, so any later change by anyone, at any
 * timestamp granularity up to one second, makes the stamp disagree and the
 * next operation rebuild the index from the lease files (one full read, as the
 * reference does on every call). On top of that, every index hit is checked
 * against its lease file, and a lease that disagrees also forces a rebuild.
 * A crash mid-operation leaves <dir> changed but not stamped: rebuild again.
 * (Only a wall clock stepped back onto the stamped second, on a file system
 * with one-second timestamps, could hide a change; a lease missed that way
 * is a leak that GC reclaims, never an address given twice, because claims
 * never trust the index: they rely on link() alone.)
 *
 * A lease is claimed by link()ing a complete temporary file to <dir>/<ip>:
 * link fails when the name exists, so an address is given out once, and no
 * lease is ever seen half-written. The reference instead creates the file with
 * O_EXCL and then writes; killed in between it leaves an empty file. Both of
 * us write leases only under the lock, so an empty lease seen while holding
 * the lock has a dead writer, and we reclaim it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cni/conf.h"
#include "cni/file.h"
#include "cni/hash.h"
#include "range.h"
#include "store.h"

#define DEFAULT_DATA_DIR "/var/lib/cni/networks"
#define LAST_IP_PREFIX "last_reserved_ip."
#define INDEX_DIR ".cnip"
#define STAMP_MAGIC "cnip-host-local-index 1"
#define KEY_HEX 32
#define MAX_LEASE_SIZE 4096
#define MAX_ENTRY_SIZE (1 << 20)
/*
 * Leases and last_reserved_ip 0600, as upstream writes them since v1.4 (a
 * lease names its container; v1.1.1 used 0644); the lock 0750, as the reference.
 */
#define LEASE_MODE 0600
#define LOCK_MODE 0750

struct hl_store {
	int dirfd;		/* <dataDir>/<network> */
	int lockfd;
	int cnipfd;		/* <dir>/.cnip, -1 until needed */
	int idxfd;		/* <dir>/.cnip/idx.<gen>, -1 until the index is loaded */
	unsigned long gen;
	bool index_ok;		/* idxfd matches the leases */
	bool dirty;		/* we changed <dir>: stamp it on close */
	unsigned int tmp_seq;
	size_t boot_released;	/* leases of an earlier boot released on open */
	char path[PATH_MAX];
};

/* A lease file name and its owner, as found by a scan. */
struct lease {
	char *cid;
	char *ifname;
	char name[CNI_IP_STRLEN];
};

struct names {
	char (*v)[CNI_IP_STRLEN];
	size_t n;
};

static void names_free(struct names *n)
{
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

static int names_add(struct names *n, const char *name)
{
	char (*v)[CNI_IP_STRLEN];

	if (strlen(name) >= CNI_IP_STRLEN)
		return -EINVAL;
	v = realloc(n->v, (n->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	n->v = v;
	strcpy(n->v[n->n++], name);
	return 0;
}

/* Content is ours to parse: the reference compares TrimSpace(content). */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || (e[-1] >= '\t' && e[-1] <= '\r')))
		e--;
	*e = '\0';
	return s;
}

/* Owners must keep the lease format unambiguous and stay out of paths. */
static bool valid_owner(const char *cid, const char *ifname)
{
	const char *p;

	if (!cid || !*cid || !ifname || strlen(cid) + strlen(ifname) + 2 >= MAX_LEASE_SIZE)
		return false;
	for (p = cid; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '/')
			return false;
	for (p = ifname; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '/')
			return false;
	return true;
}

/* Why valid_owner() refused: the skel has checked the characters, so a length. */
static int owner_error(const char *cid, const char *ifname, struct cni_err *err)
{
	size_t n = (cid ? strlen(cid) : 0) + (ifname ? strlen(ifname) : 0);

	if (n + 2 >= MAX_LEASE_SIZE)
		return cni_err_set(err, CNI_ERR_ENV, 0,
				   "CNI_CONTAINERID and CNI_IFNAME (%zu bytes) do not fit a lease file "
				   "(%d bytes at most)", n, MAX_LEASE_SIZE - 3);
	return cni_err_set(err, CNI_ERR_ENV, 0, "invalid lease owner \"%s\" / \"%s\"",
			   cid ? cid : "", ifname ? ifname : "");
}

/* Owners come from lease files of at most MAX_LEASE_SIZE bytes, or pass valid_owner(). */
static void key_hash(const char *cid, const char *ifname, char out[KEY_HEX + 1])
{
	char buf[MAX_LEASE_SIZE + 2];
	size_t lc = strnlen(cid, MAX_LEASE_SIZE), li = strnlen(ifname, MAX_LEASE_SIZE - lc);

	memcpy(buf, cid, lc);
	buf[lc] = '\0';
	memcpy(buf + lc + 1, ifname, li);
	cni_sha512_hex(buf, lc + li + 1, out, KEY_HEX);
}

/*
 * A lease's content (buf, NUL-terminated, is cut up): 0 with *cid, *ifname
 * pointing into buf ("" for the old format), -ENODATA when empty.
 */
static int lease_parse(char *buf, const char **cid, const char **ifname)
{
	char *s, *sep;

	s = trim(buf);
	if (!*s)
		return -ENODATA;
	sep = strstr(s, "\r\n");
	if (sep) {
		*sep = '\0';
		*ifname = sep + 2;
	} else {
		*ifname = "";
	}
	*cid = s;
	return 0;
}

/* Reads a lease: lease_parse() of its content, or -ENOENT, -EINVAL. */
static int read_lease(int dirfd, const char *name, char *buf, size_t size, const char **cid,
		      const char **ifname)
{
	int ret;

	ret = cni_file_read(dirfd, name, buf, size, NULL, NULL);
	return ret < 0 ? ret : lease_parse(buf, cid, ifname);
}

static bool is_lease_name(const char *name)
{
	struct cni_ip ip;

	if (name[0] == '.' || !strcmp(name, "lock") ||
	    !strncmp(name, LAST_IP_PREFIX, sizeof(LAST_IP_PREFIX) - 1))
		return false;
	return strlen(name) < CNI_IP_STRLEN && !cni_ip_parse(name, &ip);
}

static void tmp_name(struct hl_store *s, char buf[64])
{
	snprintf(buf, 64, "tmp.%ld.%u", (long)getpid(), s->tmp_seq++);
}

/*
 * Writes data to a fresh temporary file in .cnip. A stale file of that name
 * (a crashed process with our pid) may still be linked as a lease: unlink it
 * rather than truncate it.
 */
static int write_tmp(struct hl_store *s, char name[64], const void *data, size_t len)
{
	int fd, ret;

	tmp_name(s, name);
	if (unlinkat(s->cnipfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	fd = openat(s->cnipfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    LEASE_MODE);
	if (fd < 0)
		return -errno;
	ret = cni_file_write_all(fd, data, len);
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (ret)
		unlinkat(s->cnipfd, name, 0);
	return ret;
}

/* Replaces dfd/name atomically; a symlink there is replaced, never followed. */
static int replace_file(struct hl_store *s, int dfd, const char *name, const void *data,
			size_t len)
{
	char tmp[64];
	int ret;

	ret = write_tmp(s, tmp, data, len);
	if (ret < 0)
		return ret;
	if (renameat(s->cnipfd, tmp, dfd, name) < 0) {
		ret = -errno;
		unlinkat(s->cnipfd, tmp, 0);
	}
	return ret;
}

/* A DIR stream over dfd's directory on a descriptor of its own; NULL with errno set. */
static DIR *dir_open(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), e;
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

static int remove_tree_entries(int dfd)
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	d = dir_open(dfd);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT && !ret)
			ret = -errno;
	closedir(d);
	return ret;
}

static int remove_dir_at(int parent, const char *name)
{
	int fd, ret;

	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ret = remove_tree_entries(fd);
	close(fd);
	if (!ret && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		ret = -errno;
	return ret;
}

static int open_cnip(struct hl_store *s, bool create)
{
	if (s->cnipfd >= 0)
		return 0;
	if (create && mkdirat(s->dirfd, INDEX_DIR, 0700) == 0)
		s->dirty = true;
	else if (create && errno != EEXIST)
		return -errno;
	s->cnipfd = openat(s->dirfd, INDEX_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return s->cnipfd < 0 ? -errno : 0;
}

/*
 * Backdates <dir>'s mtime and records it with the generation in use; see the
 * comment on top. Without a stamp the next run rebuilds, which is safe.
 */
static int stamp(struct hl_store *s)
{
	struct timespec now, ts[2];
	struct stat st;
	char buf[128];
	int n, ret;

	clock_gettime(CLOCK_REALTIME, &now);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = now.tv_sec - 2;
	ts[1].tv_nsec = 0;
	if (futimens(s->dirfd, ts) < 0 || fstat(s->dirfd, &st) < 0) {
		ret = -errno;
		goto fail;
	}
	n = snprintf(buf, sizeof(buf), STAMP_MAGIC " %lu %lld.%09ld\n", s->gen,
		     (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	ret = replace_file(s, s->cnipfd, "stamp", buf, (size_t)n);
	if (ret < 0)
		goto fail;
	s->dirty = false;
	return 0;
fail:
	unlinkat(s->cnipfd, "stamp", 0);
	return ret;
}

/* 0 when the stamp and idx.<gen> agree with <dir>; else < 0 and the caller rebuilds. */
static int load_index(struct hl_store *s)
{
	char buf[128], gen_name[32];
	unsigned long gen;
	long long sec;
	long nsec;
	struct stat st;
	int ret;

	ret = open_cnip(s, false);
	if (ret < 0)
		return ret;
	ret = cni_file_read(s->cnipfd, "stamp", buf, sizeof(buf), NULL, NULL);
	if (ret < 0)
		return ret;
	if (sscanf(buf, STAMP_MAGIC " %lu %lld.%ld", &gen, &sec, &nsec) != 3)
		return -EINVAL;
	if (fstat(s->dirfd, &st) < 0)
		return -errno;
	if (st.st_mtim.tv_sec != sec || st.st_mtim.tv_nsec != nsec)
		return -ESTALE;
	snprintf(gen_name, sizeof(gen_name), "idx.%lu", gen);
	if (s->idxfd >= 0)
		close(s->idxfd);
	s->idxfd = openat(s->cnipfd, gen_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->idxfd < 0)
		return -errno;
	s->gen = gen;
	s->index_ok = true;
	return 0;
}

static int lease_cmp(const void *a, const void *b)
{
	const struct lease *x = a, *y = b;
	int c = strcmp(x->cid, y->cid);

	if (!c)
		c = strcmp(x->ifname, y->ifname);
	return c ? c : strcmp(x->name, y->name);
}

static int write_entry(struct hl_store *s, int dfd, bool fresh, const char *cid, const char *ifname,
		       const struct names *n)
{
	char h[KEY_HEX + 1];
	char *buf, *p;
	size_t i, len = strlen(cid) + strlen(ifname) + 2 + n->n * CNI_IP_STRLEN + 1;
	int fd, ret = 0;

	key_hash(cid, ifname, h);
	if (!n->n)
		return unlinkat(dfd, h, 0) < 0 && errno != ENOENT ? -errno : 0;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	p = buf + sprintf(buf, "%s\n%s\n", cid, ifname);
	for (i = 0; i < n->n; i++)
		p += sprintf(p, "%s\n", n->v[i]);
	if (!fresh) {
		ret = replace_file(s, dfd, h, buf, (size_t)(p - buf));
		goto out;
	}
	/* A new generation directory nobody reads yet: write in place. */
	fd = openat(dfd, h, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = cni_file_write_all(fd, buf, (size_t)(p - buf));
	if (close(fd) < 0 && !ret)
		ret = -errno;
out:
	free(buf);
	return ret;
}

/* Best effort: a leftover generation only costs space, and the next rebuild retries. */
static void remove_old_generations(struct hl_store *s)
{
	char keep[32], names[64][32];
	struct dirent *de;
	size_t n = 0, i;
	unsigned long g;
	DIR *d;

	snprintf(keep, sizeof(keep), "idx.%lu", s->gen);
	d = dir_open(s->cnipfd);
	if (!d)
		return;
	while ((de = readdir(d)) && n < 64)
		if (sscanf(de->d_name, "idx.%lu", &g) == 1 && strcmp(de->d_name, keep) &&
		    strlen(de->d_name) < sizeof(names[0]))
			strcpy(names[n++], de->d_name);
	closedir(d);
	for (i = 0; i < n; i++)
		remove_dir_at(s->cnipfd, names[i]);
}

/*
 * Reads every lease (the reference's full walk), drops those keep() refuses
 * and empty ones when keep is given, and writes a new index generation.
 */
static int rebuild(struct hl_store *s, bool (*keep)(void *, const char *, const char *),
		   void *ctx, size_t *released, struct cni_err *err)
{
	struct lease *leases = NULL, *l;
	size_t n = 0, cap = 0, i, j, nrel = 0;
	unsigned long gen = s->gen, g;
	char buf[MAX_LEASE_SIZE], gen_name[32];
	const char *cid, *ifname;
	struct dirent *de;
	struct names grp = { 0 };
	DIR *d = NULL;
	int idxfd = -1, ret;

	ret = open_cnip(s, true);
	if (ret < 0)
		goto io;
	/* Leftovers of crashed runs: temporary files and old generations. */
	d = dir_open(s->cnipfd);
	if (!d) {
		ret = -errno;
		goto io;
	}
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "tmp.", 4))
			unlinkat(s->cnipfd, de->d_name, 0);
		else if (sscanf(de->d_name, "idx.%lu", &g) == 1 && g > gen)
			gen = g;
	}
	closedir(d);
	d = NULL;
	gen++;
	snprintf(gen_name, sizeof(gen_name), "idx.%lu", gen);
	if (mkdirat(s->cnipfd, gen_name, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		goto io;
	}
	idxfd = openat(s->cnipfd, gen_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (idxfd < 0) {
		ret = -errno;
		goto io;
	}

	d = dir_open(s->dirfd);
	if (!d) {
		ret = -errno;
		goto io;
	}
	while ((de = readdir(d))) {
		if (!is_lease_name(de->d_name))
			continue;
		ret = read_lease(s->dirfd, de->d_name, buf, sizeof(buf), &cid, &ifname);
		if (ret == -ENODATA && keep) {
			if (unlinkat(s->dirfd, de->d_name, 0) == 0) {
				s->dirty = true;
				nrel++;
			}
			continue;
		}
		/* Leases no valid request can name stay out of the index, and go on GC. */
		if (ret < 0 || (!valid_owner(cid, ifname) && !keep))
			continue;
		if (keep && (!valid_owner(cid, ifname) || !keep(ctx, cid, ifname))) {
			if (unlinkat(s->dirfd, de->d_name, 0) < 0) {
				ret = -errno;
				cni_err_set(err, CNI_ERR_IO, ret, "releasing %s/%s", s->path, de->d_name);
				goto out;
			}
			s->dirty = true;
			nrel++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			l = realloc(leases, cap * sizeof(*l));
			if (!l) {
				ret = -ENOMEM;
				goto io;
			}
			leases = l;
		}
		l = &leases[n];
		l->cid = strdup(cid);
		l->ifname = strdup(ifname);
		strcpy(l->name, de->d_name);
		n++;
		if (!l->cid || !l->ifname) {
			ret = -ENOMEM;
			goto io;
		}
	}
	closedir(d);
	d = NULL;

	if (n)
		qsort(leases, n, sizeof(*leases), lease_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && !strcmp(leases[j].cid, leases[i].cid) &&
			    !strcmp(leases[j].ifname, leases[i].ifname); j++) {
			ret = names_add(&grp, leases[j].name);
			if (ret < 0)
				goto io;
		}
		ret = write_entry(s, idxfd, true, leases[i].cid, leases[i].ifname, &grp);
		names_free(&grp);
		if (ret < 0)
			goto io;
	}

	/* Switch: the new generation is in use once the stamp names it. */
	if (s->idxfd >= 0)
		close(s->idxfd);
	s->idxfd = idxfd;
	idxfd = -1;
	s->gen = gen;
	s->index_ok = true;
	ret = stamp(s);
	if (ret < 0)
		goto io;
	remove_old_generations(s);
	if (released)
		*released = nrel;
	ret = 0;
	goto out;
io:
	if (ret == -ENOMEM)
		cni_err_set(err, CNI_ERR_INTERNAL, ret, "indexing leases in %s", s->path);
	else
		cni_err_set(err, CNI_ERR_IO, ret, "indexing leases in %s", s->path);
out:
	if (d)
		closedir(d);
	if (idxfd >= 0)
		close(idxfd);
	names_free(&grp);
	for (i = 0; i < n; i++) {
		free(leases[i].cid);
		free(leases[i].ifname);
	}
	free(leases);
	return ret;
}

static int ensure_index(struct hl_store *s, struct cni_err *err)
{
	if (s->index_ok)
		return 0;
	if (load_index(s) == 0)
		return 0;
	return rebuild(s, NULL, NULL, NULL, err);
}

/*
 * An index entry's content (buf, NUL-terminated, is cut up): the lease names
 * it lists for (cid, ifname); -ESTALE when it names another owner.
 */
static int entry_parse(char *buf, const char *cid, const char *ifname, struct names *out)
{
	char *line, *save = NULL;
	struct names n = { 0 };
	int ret;

	line = strtok_r(buf, "\n", &save);
	if (!line || strcmp(line, cid))
		goto stale;
	/* strtok_r skips empty lines: the old format's empty ifname needs care. */
	if (!*ifname) {
		if (save && *save == '\n')
			save++;
		else
			goto stale;
	} else {
		line = strtok_r(NULL, "\n", &save);
		if (!line || strcmp(line, ifname))
			goto stale;
	}
	while ((line = strtok_r(NULL, "\n", &save)))
		if ((ret = names_add(&n, line)) < 0)
			goto fail;
	*out = n;
	return 0;
stale:
	ret = -ESTALE;
fail:
	names_free(&n);
	return ret;
}

/*
 * The lease names the index lists for (cid, ifname); -ESTALE when an entry
 * is unreadable or names another owner.
 */
static int entry_read(struct hl_store *s, const char *cid, const char *ifname, struct names *out)
{
	char h[KEY_HEX + 1], *buf = NULL;
	int ret;

	key_hash(cid, ifname, h);
	ret = cni_file_read(s->idxfd, h, NULL, MAX_ENTRY_SIZE, &buf, NULL);
	if (ret == -ENOENT) {
		*out = (struct names){ 0 };
		return 0;
	}
	if (ret == 0)
		ret = entry_parse(buf, cid, ifname, out);
	free(buf);
	return ret;
}

/* Entry names whose lease still names (cid, ifname); -ESTALE if any does not. */
static int entry_verified(struct hl_store *s, const char *cid, const char *ifname,
			  struct names *out)
{
	char buf[MAX_LEASE_SIZE];
	const char *c, *i;
	size_t k;
	int ret;

	ret = entry_read(s, cid, ifname, out);
	if (ret < 0)
		return ret;
	for (k = 0; k < out->n; k++) {
		if (read_lease(s->dirfd, out->v[k], buf, sizeof(buf), &c, &i) < 0 ||
		    strcmp(c, cid) || strcmp(i, ifname)) {
			names_free(out);
			return -ESTALE;
		}
	}
	return 0;
}

/* Index lookup with one rebuild when the index turns out wrong. */
static int lookup(struct hl_store *s, const char *cid, const char *ifname, struct names *out,
		  struct cni_err *err)
{
	int ret, tries;

	for (tries = 0; tries < 2; tries++) {
		ret = ensure_index(s, err);
		if (ret < 0)
			return ret;
		ret = entry_verified(s, cid, ifname, out);
		if (ret != -ESTALE)
			break;
		s->index_ok = false;
		ret = rebuild(s, NULL, NULL, NULL, err);
		if (ret < 0)
			return ret;
	}
	if (ret == -ESTALE)
		return cni_err_set(err, CNI_ERR_IO, -EIO,
				   "index of %s disagrees with its leases after a rebuild", s->path);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_IO, ret, "reading the lease index of %s", s->path);
	return 0;
}

/* Adds or removes one name in the entry of (cid, ifname). */
static int entry_update(struct hl_store *s, const char *cid, const char *ifname, const char *name,
			bool add)
{
	struct names n = { 0 }, m = { 0 };
	size_t i;
	int ret;

	ret = entry_read(s, cid, ifname, &n);
	if (ret < 0)
		return ret;
	for (i = 0; i < n.n && !ret; i++)
		if (strcmp(n.v[i], name))
			ret = names_add(&m, n.v[i]);
	if (!ret && add)
		ret = names_add(&m, name);
	if (!ret)
		ret = write_entry(s, s->idxfd, false, cid, ifname, &m);
	names_free(&n);
	names_free(&m);
	return ret;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * flock() with a deadline. A blocking flock() can only be cut short by a
 * signal, and arming one (a SIGALRM handler, an interval timer) would change
 * process-wide state under the caller: try without blocking instead, backing
 * off from 0.25 ms to 8 ms between tries. Holders keep the lock for a few
 * milliseconds, so a waiter loses little to the polling.
 */
static int lock_wait(int fd, int timeout_ms)
{
	struct timespec pause = { 0, 250000 };
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 8000000)
			pause.tv_nsec *= 2;
	}
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* This boot's id; the unit tests point it elsewhere to boot again. */
static const char *boot_id_path = "/proc/sys/kernel/random/boot_id";

static bool keep_none(void *ctx, const char *cid, const char *ifname)
{
	return false;
}

/*
 * A reboot ends every pod, but their leases stay on disk and exhaust the
 * range (the reference's most-reported problem): nobody sends DEL for a pod
 * that died with the node, or only after the runtime finds it. .cnip/boot
 * holds the boot id of the last call on this network; every call checks it
 * under the lock before anything else, so when it names another boot, every
 * lease in <dir> comes from an earlier boot and is released. The new id is
 * written only after that, so a crash in between only repeats the release.
 * A directory without the file (made by the reference or an older cnip) gets
 * it from the first call that may create things, releasing nothing: who knows
 * which boot those leases are from.
 */
static int boot_check(struct hl_store *s, bool create, struct cni_err *err)
{
	char now[64], was[64];
	bool known;
	int ret;

	if (cni_file_read(AT_FDCWD, boot_id_path, now, sizeof(now), NULL, NULL) < 0 || !*trim(now))
		return 0;	/* no procfs: nothing to compare with */
	ret = open_cnip(s, true);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_IO, ret, "opening %s/" INDEX_DIR, s->path);
	known = cni_file_read(s->cnipfd, "boot", was, sizeof(was), NULL, NULL) == 0;
	if (known && !strcmp(trim(was), trim(now)))
		return 0;
	if (!known && !create)
		return 0;
	if (known) {
		ret = hl_store_gc(s, keep_none, NULL, &s->boot_released, err);
		if (ret < 0)
			return ret;
	}
	snprintf(was, sizeof(was), "%s\n", trim(now));
	ret = replace_file(s, s->cnipfd, "boot", was, strlen(was));
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_IO, ret, "recording the boot id in %s/" INDEX_DIR "/boot",
				   s->path);
	return 0;
}

size_t hl_store_boot_released(const struct hl_store *s)
{
	return s->boot_released;
}

int hl_store_open(const char *data_dir, const char *network, bool create, int timeout_ms,
		  struct hl_store **out, struct cni_err *err)
{
	struct hl_store *s;
	int datafd = -1, ret;

	if (!data_dir || !*data_dir)
		data_dir = DEFAULT_DATA_DIR;
	/* The name becomes one path component: cni_valid_name() allows no '/' and no leading '.'. */
	if (!cni_valid_name(network) || strlen(network) > NAME_MAX)
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid network name \"%s\"",
				   network ? network : "");
	s = calloc(1, sizeof(*s));
	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "host-local store");
	s->dirfd = s->lockfd = s->cnipfd = s->idxfd = -1;
	if (snprintf(s->path, sizeof(s->path), "%s/%s", data_dir, network) >= (int)sizeof(s->path)) {
		ret = cni_err_set(err, CNI_ERR_CONFIG, -ENAMETOOLONG, "dataDir %s", data_dir);
		goto fail;
	}
	if (create && (ret = mkdir_p(data_dir, 0755)) < 0) {
		cni_err_set(err, CNI_ERR_IO, ret, "creating dataDir %s", data_dir);
		goto fail;
	}
	datafd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (datafd < 0) {
		ret = -errno;
		if (ret != -ENOENT || create)
			cni_err_set(err, CNI_ERR_IO, ret, "opening dataDir %s", data_dir);
		goto fail;
	}
	if (create && mkdirat(datafd, network, 0755) < 0 && errno != EEXIST) {
		ret = cni_err_set(err, CNI_ERR_IO, -errno, "creating %s", s->path);
		goto fail;
	}
	s->dirfd = openat(datafd, network, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd < 0) {
		ret = -errno;
		if (ret != -ENOENT || create)
			cni_err_set(err, CNI_ERR_IO, ret, "opening %s", s->path);
		goto fail;
	}
	s->lockfd = openat(s->dirfd, "lock", O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, LOCK_MODE);
	if (s->lockfd < 0) {
		ret = cni_err_set(err, CNI_ERR_IO, -errno, "opening %s/lock", s->path);
		goto fail;
	}
	ret = lock_wait(s->lockfd, timeout_ms);
	if (ret == -ETIMEDOUT) {
		cni_err_set(err, CNI_ERR_TRY_AGAIN, ret, "waiting %d ms for %s/lock", timeout_ms,
			    s->path);
		goto fail;
	} else if (ret < 0) {
		cni_err_set(err, CNI_ERR_IO, ret, "locking %s/lock", s->path);
		goto fail;
	}
	ret = boot_check(s, create, err);
	if (ret < 0)
		goto fail;
	close(datafd);
	*out = s;
	return 0;
fail:
	if (datafd >= 0)
		close(datafd);
	hl_store_close(s);
	return ret;
}

void hl_store_close(struct hl_store *s)
{
	if (!s)
		return;
	if (s->dirty && s->index_ok && s->cnipfd >= 0)
		stamp(s);
	else if (s->dirty && s->cnipfd >= 0)
		unlinkat(s->cnipfd, "stamp", 0);
	if (s->idxfd >= 0)
		close(s->idxfd);
	if (s->cnipfd >= 0)
		close(s->cnipfd);
	/* Closing the last descriptor of the lock file releases the flock. */
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s);
}

const char *hl_store_path(const struct hl_store *s)
{
	return s->path;
}

static int find_names(struct hl_store *s, const char *cid, const char *ifname, struct names *cur,
		      struct names *old, struct cni_err *err)
{
	int ret;

	if (!valid_owner(cid, ifname) || !*ifname)
		return owner_error(cid, ifname, err);
	ret = lookup(s, cid, ifname, cur, err);
	if (ret < 0)
		return ret;
	ret = lookup(s, cid, "", old, err);
	if (ret < 0)
		names_free(cur);
	return ret;
}

int hl_store_find(struct hl_store *s, const char *cid, const char *ifname, struct cni_ip *ips,
		  size_t max, size_t *n, struct cni_err *err)
{
	struct names cur = { 0 }, old = { 0 };
	size_t i, k = 0;
	int ret;

	ret = find_names(s, cid, ifname, &cur, &old, err);
	if (ret < 0)
		return ret;
	for (i = 0; i < cur.n + old.n; i++) {
		const char *name = i < cur.n ? cur.v[i] : old.v[i - cur.n];

		if (k < max && cni_ip_parse(name, &ips[k]) == 0)
			k++;
	}
	*n = k;
	names_free(&cur);
	names_free(&old);
	return 0;
}

bool hl_store_is_free(struct hl_store *s, const struct cni_ip *ip)
{
	char name[CNI_IP_STRLEN];
	struct stat st;

	if (fstatat(s->dirfd, cni_ip_format(ip, name), &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT;
	return S_ISREG(st.st_mode) && st.st_size == 0;
}

int hl_store_last_reserved(struct hl_store *s, unsigned int set, struct cni_ip *out)
{
	char name[64], buf[128];
	struct cni_ip ip;
	int ret;

	snprintf(name, sizeof(name), LAST_IP_PREFIX "%u", set);
	ret = cni_file_read(s->dirfd, name, buf, sizeof(buf), NULL, NULL);
	if (ret < 0)
		return -ENOENT;
	if (cni_ip_parse(trim(buf), &ip))
		return -ENOENT;
	*out = ip;
	return 0;
}

/* Removes an empty lease (see the top comment); -EEXIST when it holds an owner. */
static int reclaim_empty(struct hl_store *s, const char *name)
{
	char buf[MAX_LEASE_SIZE];
	const char *c, *i;
	int ret;

	ret = read_lease(s->dirfd, name, buf, sizeof(buf), &c, &i);
	if (ret == -ENOENT)
		return 0;
	if (ret != -ENODATA)
		return -EEXIST;
	if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	s->dirty = true;
	return 0;
}

int hl_store_reserve(struct hl_store *s, const struct cni_ip *ip, const char *cid,
		     const char *ifname, unsigned int set, struct cni_err *err)
{
	char name[CNI_IP_STRLEN], tmp[64], last[64], *content = NULL;
	int ret, tries;
	int len;

	if (!valid_owner(cid, ifname) || !*ifname)
		return owner_error(cid, ifname, err);
	ret = ensure_index(s, err);
	if (ret < 0)
		return ret;
	cni_ip_format(ip, name);
	len = asprintf(&content, "%s\r\n%s", cid, ifname);
	if (len < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, -ENOMEM, "reserving %s", name);
	ret = write_tmp(s, tmp, content, (size_t)len);
	free(content);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_IO, ret, "writing a lease in %s/" INDEX_DIR, s->path);
	for (tries = 0; tries < 2; tries++) {
		if (linkat(s->cnipfd, tmp, s->dirfd, name, 0) == 0) {
			ret = 0;
			break;
		}
		ret = -errno;
		if (ret != -EEXIST)
			break;
		ret = reclaim_empty(s, name);
		if (ret < 0)
			break;
		ret = -EEXIST;
	}
	unlinkat(s->cnipfd, tmp, 0);
	if (ret == -EEXIST)
		return ret;
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_IO, ret, "creating lease %s/%s", s->path, name);
	s->dirty = true;

	ret = entry_update(s, cid, ifname, name, true);
	if (ret < 0) {
		unlinkat(s->dirfd, name, 0);
		return cni_err_set(err, CNI_ERR_IO, ret, "indexing lease %s/%s", s->path, name);
	}
	snprintf(last, sizeof(last), LAST_IP_PREFIX "%u", set);
	ret = replace_file(s, s->dirfd, last, name, strlen(name));
	if (ret < 0) {
		/* The index entry still lists the name; verification drops it later. */
		unlinkat(s->dirfd, name, 0);
		s->index_ok = false;
		return cni_err_set(err, CNI_ERR_IO, ret, "writing %s/%s", s->path, last);
	}
	return 0;
}

static int release_names(struct hl_store *s, const char *cid, const char *ifname,
			 const struct names *n, struct cni_err *err)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < n->n; i++) {
		if (unlinkat(s->dirfd, n->v[i], 0) < 0 && errno != ENOENT) {
			ret = cni_err_set(err, CNI_ERR_IO, -errno, "releasing %s/%s", s->path, n->v[i]);
			continue;
		}
		s->dirty = true;
	}
	if (!ret) {
		struct names none = { 0 };

		ret = write_entry(s, s->idxfd, false, cid, ifname, &none);
		if (ret < 0)
			cni_err_set(err, CNI_ERR_IO, ret, "updating the index of %s", s->path);
	}
	if (ret < 0)
		s->index_ok = false;
	return ret;
}

int hl_store_release(struct hl_store *s, const char *cid, const char *ifname, size_t *released,
		     struct cni_err *err)
{
	struct names cur = { 0 }, old = { 0 };
	int ret;

	ret = find_names(s, cid, ifname, &cur, &old, err);
	if (ret < 0)
		return ret;
	/* Like the reference: cid-only leases go only when no current one matched. */
	if (cur.n)
		ret = release_names(s, cid, ifname, &cur, err);
	else
		ret = release_names(s, cid, "", &old, err);
	if (!ret && released)
		*released = cur.n ? cur.n : old.n;
	names_free(&cur);
	names_free(&old);
	return ret;
}

int hl_store_release_ip(struct hl_store *s, const struct cni_ip *ip, const char *cid,
			const char *ifname, struct cni_err *err)
{
	char name[CNI_IP_STRLEN], buf[MAX_LEASE_SIZE];
	const char *c, *i;
	int ret;

	ret = ensure_index(s, err);
	if (ret < 0)
		return ret;
	cni_ip_format(ip, name);
	if (read_lease(s->dirfd, name, buf, sizeof(buf), &c, &i) < 0 || strcmp(c, cid) ||
	    strcmp(i, ifname))
		return 0;
	if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
		return cni_err_set(err, CNI_ERR_IO, -errno, "releasing %s/%s", s->path, name);
	s->dirty = true;
	ret = entry_update(s, cid, ifname, name, false);
	if (ret < 0)
		s->index_ok = false;
	return 0;
}

int hl_store_gc(struct hl_store *s, bool (*keep)(void *ctx, const char *cid, const char *ifname),
		void *ctx, size_t *released, struct cni_err *err)
{
	s->index_ok = false;
	return rebuild(s, keep, ctx, released, err);
}

int hl_store_probe_write(struct hl_store *s, struct cni_err *err)
{
	char tmp[64];
	int ret;

	ret = open_cnip(s, true);
	if (ret == 0)
		ret = write_tmp(s, tmp, "probe", 5);
	if (ret < 0)
		return cni_err_set(err, CNI_ERR_NOT_AVAILABLE, ret, "cannot write to %s", s->path);
	unlinkat(s->cnipfd, tmp, 0);
	return 0;
}
