// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * load: churns pods through CNI chains the way a runtime does, for
 * tests/integration/load.sh (issue 10, load).
 *
 *   load BINDIR PODS WORKERS LIVE PING_EVERY CONFLIST...
 *
 * Pod i (0..PODS-1) belongs to network i % NETS and to worker i % WORKERS;
 * it gets netns /run/netns/ld-i, container ID ld-c<i>, ifname eth0 and one
 * hostPort mapping 20000+i -> 80/tcp (runtimeConfig.portMappings, to the
 * plugins whose capabilities ask for it). Each worker, a process of its own,
 * for each of its pods: makes the netns, runs ADD down the chain (each
 * plugin gets the previous result as prevResult, as libcni), checks that the
 * pod's eth0 carries the address of the result, then keeps the pod alive
 * while it adds its next ones; once it holds more than LIVE pods, it runs
 * CHECK of the oldest (the cached result as prevResult), DEL up the chain
 * in reverse (same prevResult) and removes its netns; every tenth pod gets
 * a second DEL once its netns is gone, as runtimes retry. Every
 * PING_EVERY-th pod pings the oldest pod its worker holds (same network).
 * So ADD, CHECK and DEL of up to WORKERS * (LIVE + 1) live pods overlap on
 * the same bridge, host-local store and nftables tables.
 *
 * Every plugin invocation must exit 0 with nothing on stderr; any other is
 * an error, printed with its output. At the end the parent checks that no
 * two pods of one network held the same IPv4 address at the same time (from
 * the end of one's ADD to the start of its DEL) and prints one line:
 *   pods=.. workers=.. invocations=.. errors=.. duplicates=.. pings=.. maxlive=.. seconds=..
 * Exit 0 only if errors and duplicates are 0.
 *
 * Environment: LOAD_TRACE=1 prints each invocation's wall and CPU time;
 * LOAD_LSAN_EVERY=N (sanitized plugins): only every N-th pod's invocations
 * keep LeakSanitizer on (the rest get detect_leaks=0 added to ASAN_OPTIONS),
 * since the leak scan at exit is half of what a sanitized plugin costs.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_NETS 4
#define HOSTPORT_BASE 20000

struct pod {
	uint32_t ip4;          /* network order, 0 until ADD succeeded */
	double t_added;        /* ADD returned */
	double t_del;          /* DEL began */
	bool failed;
};

struct stats {
	long invocations, errors, pings, maxlive;
};

static const char *bindir;
static double last_cpu;         /* CPU seconds of the last invocation, its children included */
static int lsan_every;          /* LOAD_LSAN_EVERY: only every n-th pod's plugins look for leaks */
static bool trace;              /* LOAD_TRACE=1: one line per invocation with its time */
static cJSON *nets[MAX_NETS];
static int nnets;
static struct pod *pods;         /* shared with the workers */
static struct stats *wstats;     /* one per worker, shared */
static long *live;               /* pods between ADD and DEL now, shared */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "load: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		die("%s: %s", path, strerror(errno));
	if (getdelim(&buf, &len, '\0', f) < 0)
		die("%s: empty", path);
	fclose(f);
	return buf;
}

/* Reads all of fd into a NUL-terminated buffer grown as needed. */
static void drain(int fd, char **buf, size_t *len, size_t *cap, bool *open_)
{
	ssize_t n;

	if (*cap - *len < 4096) {
		*cap = *cap * 2 + 4096;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			die("out of memory");
	}
	n = read(fd, *buf + *len, *cap - *len - 1);
	if (n <= 0) {
		*open_ = false;
		close(fd);
	} else {
		*len += n;
	}
	(*buf)[*len] = '\0';
}

/*
 * Runs BINDIR/plugin with the CNI environment and conf on stdin; returns its
 * exit status (or 128+signal) and hands back stdout and stderr.
 */
static int invoke(const char *plugin, const char *cmd, int i, const char *conf,
		  char **out, char **err)
{
	int in[2], o[2], e[2], status;
	size_t olen = 0, ocap = 0, elen = 0, ecap = 0;
	bool oopen = true, eopen = true;
	struct rusage ru;
	char path[512];
	pid_t pid;

	*out = *err = NULL;
	if (pipe(in) || pipe(o) || pipe(e))
		die("pipe: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", bindir, plugin);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		char cid[64], netns[64];

		snprintf(cid, sizeof(cid), "ld-c%d", i);
		snprintf(netns, sizeof(netns), "/run/netns/ld-%d", i);
		dup2(in[0], 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(in[0]); close(in[1]); close(o[0]); close(o[1]); close(e[0]); close(e[1]);
		setenv("CNI_COMMAND", cmd, 1);
		setenv("CNI_CONTAINERID", cid, 1);
		setenv("CNI_NETNS", netns, 1);
		setenv("CNI_IFNAME", "eth0", 1);
		setenv("CNI_PATH", bindir, 1);
		unsetenv("CNI_ARGS");
		if (lsan_every > 1 && i % lsan_every && getenv("ASAN_OPTIONS")) {
			char opts[1024];

			snprintf(opts, sizeof(opts), "%s:detect_leaks=0", getenv("ASAN_OPTIONS"));
			setenv("ASAN_OPTIONS", opts, 1);
		}
		signal(SIGPIPE, SIG_DFL);
		execl(path, plugin, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	/* Configs are a few KiB: they fit the pipe, and the plugin reads all of stdin first. */
	if (write(in[1], conf, strlen(conf)) < 0) {
		/* EPIPE: the plugin died early, its exit status tells */
	}
	close(in[1]);
	while (oopen || eopen) {
		struct pollfd p[2] = { { oopen ? o[0] : -1, POLLIN, 0 }, { eopen ? e[0] : -1, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (p[0].revents)
			drain(o[0], out, &olen, &ocap, &oopen);
		if (p[1].revents)
			drain(e[0], err, &elen, &ecap, &eopen);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4: %s", strerror(errno));
	last_cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (!*out)
		*out = strdup("");
	if (!*err)
		*err = strdup("");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static struct stats *me;

static void error(int i, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stdout, "ERROR pod ld-%d: ", i);
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	fflush(stdout);
	va_end(ap);
	me->errors++;
	pods[i].failed = true;
}

/* The config libcni gives plugin p of network n for pod i. */
static char *plugin_conf(int n, const cJSON *p, int i, const char *prev)
{
	cJSON *c = cJSON_Duplicate(p, 1), *caps;
	char *s;

	cJSON_AddItemToObject(c, "name", cJSON_Duplicate(cJSON_GetObjectItem(nets[n], "name"), 1));
	cJSON_AddItemToObject(c, "cniVersion", cJSON_Duplicate(cJSON_GetObjectItem(nets[n], "cniVersion"), 1));
	if (prev) {
		cJSON *r = cJSON_Parse(prev);

		if (!r)
			die("pod ld-%d: a result that is not JSON: %s", i, prev);
		cJSON_AddItemToObject(c, "prevResult", r);
	}
	caps = cJSON_GetObjectItem(p, "capabilities");
	if (cJSON_IsTrue(cJSON_GetObjectItem(caps, "portMappings"))) {
		char rc[160];

		snprintf(rc, sizeof(rc),
			 "{\"portMappings\":[{\"hostPort\":%d,\"containerPort\":80,\"protocol\":\"tcp\"}]}",
			 HOSTPORT_BASE + i);
		cJSON_AddItemToObject(c, "runtimeConfig", cJSON_Parse(rc));
	}
	s = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	return s;
}

/* One plugin call; false (and one error reported) unless exit 0 and a quiet stderr. */
static bool call(int n, const cJSON *p, const char *cmd, int i, const char *prev, char **result)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(p, "type"));
	char *conf = plugin_conf(n, p, i, prev), *out, *err;
	double t;
	int rc;
	bool ok;

	t = now();
	rc = invoke(type, cmd, i, conf, &out, &err);
	me->invocations++;
	if (trace)
		printf("TRACE ld-%d %s %s %.3fs cpu %.3fs\n", i, type, cmd, now() - t, last_cpu);
	ok = rc == 0 && !*err;
	if (!ok)
		error(i, "%s %s exit %d: stdout: %s stderr: %s", type, cmd, rc, out, err);
	free(conf);
	free(err);
	if (ok && result)
		*result = out;
	else
		free(out);
	return ok;
}

/* ADD down the chain; the last plugin's output is the result to cache. */
static char *chain_add(int n, int i)
{
	const cJSON *list = cJSON_GetObjectItem(nets[n], "plugins"), *p;
	char *prev = NULL, *out;

	cJSON_ArrayForEach(p, list) {
		if (!call(n, p, "ADD", i, prev, &out)) {
			free(prev);
			return NULL;
		}
		free(prev);
		prev = out;
	}
	return prev;
}

static void chain_check(int n, int i, const char *cached)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(nets[n], "plugins"))
		if (!call(n, p, "CHECK", i, cached, NULL))
			return;
}

/* DEL in reverse, every plugin even after one failed (libcni stops; we want to count them all). */
static void chain_del(int n, int i, const char *cached)
{
	const cJSON *list = cJSON_GetObjectItem(nets[n], "plugins");
	int k;

	for (k = cJSON_GetArraySize(list) - 1; k >= 0; k--)
		call(n, cJSON_GetArrayItem(list, k), "DEL", i, cached, NULL);
}

/* As `ip netns add`: a new network namespace bind-mounted on /run/netns/ld-i. */
static int netns_add(int i)
{
	char path[64];
	int self, fd, ret = -1;

	snprintf(path, sizeof(path), "/run/netns/ld-%d", i);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die("/proc/self/ns/net: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) == 0 &&
	    mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) == 0)
		ret = 0;
	else
		ret = -errno;
	if (setns(self, CLONE_NEWNET))
		die("setns back: %s", strerror(errno));
	close(self);
	if (ret)
		unlink(path);
	return ret;
}

static void netns_del(int i)
{
	char path[64];

	snprintf(path, sizeof(path), "/run/netns/ld-%d", i);
	if (umount2(path, MNT_DETACH) || unlink(path))
		error(i, "removing %s: %s", path, strerror(errno));
}

/* The IPv4 address on the pod's eth0, read with a socket opened inside its netns. */
static uint32_t pod_addr(int i)
{
	char path[64];
	struct ifreq ifr = { .ifr_name = "eth0" };
	int self, fd, s;
	uint32_t a = 0;

	snprintf(path, sizeof(path), "/run/netns/ld-%d", i);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || self < 0)
		die("opening netns: %s", strerror(errno));
	if (setns(fd, CLONE_NEWNET))
		die("setns: %s", strerror(errno));
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (setns(self, CLONE_NEWNET))
		die("setns back: %s", strerror(errno));
	if (s >= 0 && ioctl(s, SIOCGIFADDR, &ifr) == 0)
		a = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr;
	if (s >= 0)
		close(s);
	close(fd);
	close(self);
	return a;
}

/* ping -c1 from pod i to addr, inside i's netns. */
static bool ping(int i, uint32_t addr)
{
	char path[64], dst[INET_ADDRSTRLEN];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "/run/netns/ld-%d", i);
	inet_ntop(AF_INET, &addr, dst, sizeof(dst));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(path, O_RDONLY);
		int null = open("/dev/null", O_WRONLY);

		if (fd < 0 || setns(fd, CLONE_NEWNET))
			_exit(126);
		dup2(null, 1);
		execlp("ping", "ping", "-c1", "-W5", "-q", dst, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct held {
	int pod;
	char *result;
};

static void retire(struct held *h)
{
	int i = h->pod, n = i % nnets;

	pods[i].t_del = now();
	__atomic_fetch_sub(live, 1, __ATOMIC_RELAXED);
	chain_check(n, i, h->result);
	chain_del(n, i, h->result);
	netns_del(i);
	/* A runtime repeats DEL, often once the netns is gone: every tenth pod gets that. */
	if (i % 10 == 5)
		chain_del(n, i, h->result);
	free(h->result);
}

static void worker(int w, int npods, int nworkers, int keep, int ping_every)
{
	struct held *q = calloc(keep + 1, sizeof(*q));
	int head = 0, len = 0, i, r;

	me = &wstats[w];
	for (i = w; i < npods; i += nworkers) {
		int n = i % nnets;
		char *res;
		cJSON *j, *ip;
		const char *a;
		struct in_addr want;
		long l;

		r = netns_add(i);
		if (r) {
			error(i, "netns: %s", strerror(-r));
			continue;
		}
		res = chain_add(n, i);
		if (!res) {
			/* What a runtime does after a failed ADD. */
			pods[i].t_del = now();
			chain_del(n, i, NULL);
			netns_del(i);
			continue;
		}
		pods[i].t_added = now();
		j = cJSON_Parse(res);
		ip = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "ips"), 0);
		a = cJSON_GetStringValue(cJSON_GetObjectItem(ip, "address"));
		if (!a || !strchr(a, '/')) {
			error(i, "ADD result without an address: %s", res);
		} else {
			char addr[64];

			snprintf(addr, sizeof(addr), "%.*s", (int)(strchr(a, '/') - a), a);
			if (inet_pton(AF_INET, addr, &want) != 1)
				error(i, "ADD result address %s is not IPv4", a);
			else
				pods[i].ip4 = want.s_addr;
		}
		cJSON_Delete(j);
		if (pods[i].ip4) {
			uint32_t got = pod_addr(i);

			if (got != pods[i].ip4) {
				char ws[INET_ADDRSTRLEN], gs[INET_ADDRSTRLEN];

				inet_ntop(AF_INET, &pods[i].ip4, ws, sizeof(ws));
				inet_ntop(AF_INET, &got, gs, sizeof(gs));
				error(i, "eth0 in the netns carries %s, the result says %s", got ? gs : "no IPv4 address", ws);
			}
		}
		l = __atomic_add_fetch(live, 1, __ATOMIC_RELAXED);
		if (l > me->maxlive)
			me->maxlive = l;
		if (ping_every && i % ping_every == 0 && len > 0 && pods[q[head].pod].ip4 && pods[i].ip4) {
			me->pings++;
			if (!ping(i, pods[q[head].pod].ip4)) {
				struct in_addr d = { pods[q[head].pod].ip4 };

				error(i, "ping to pod ld-%d (%s) failed", q[head].pod, inet_ntoa(d));
			}
		}
		q[(head + len) % (keep + 1)] = (struct held){ i, res };
		len++;
		if (len > keep) {
			retire(&q[head]);
			head = (head + 1) % (keep + 1);
			len--;
		}
	}
	while (len > 0) {
		retire(&q[head]);
		head = (head + 1) % (keep + 1);
		len--;
	}
	free(q);
}

static int cmp_pod(const void *a, const void *b)
{
	const struct pod *x = &pods[*(const int *)a], *y = &pods[*(const int *)b];
	uint32_t xa = ntohl(x->ip4), ya = ntohl(y->ip4);

	if (xa != ya)
		return xa < ya ? -1 : 1;
	return x->t_added < y->t_added ? -1 : x->t_added > y->t_added;
}

/* Pods of network n that held one address at overlapping times. */
static long duplicates(int n, int npods)
{
	int *idx = malloc(sizeof(int) * npods), k, m = 0;
	long dup = 0;
	double end = 0;

	for (k = n; k < npods; k += nnets)
		if (pods[k].ip4)
			idx[m++] = k;
	qsort(idx, m, sizeof(int), cmp_pod);
	for (k = 0; k < m; k++) {
		struct pod *p = &pods[idx[k]];

		if (k > 0 && p->ip4 == pods[idx[k - 1]].ip4 && p->t_added < end) {
			struct in_addr a = { p->ip4 };

			printf("DUPLICATE %s: pod ld-%d got it while another pod of its network held it\n",
			       inet_ntoa(a), idx[k]);
			dup++;
		}
		if (k == 0 || p->ip4 != pods[idx[k - 1]].ip4 || p->t_del > end)
			end = p->t_del;
	}
	free(idx);
	return dup;
}

int main(int argc, char **argv)
{
	int npods, nworkers, keep, ping_every, w, n, status;
	struct stats total = { 0 };
	long dup = 0;
	double t0;
	size_t sz;
	void *shm;

	if (argc < 7)
		die("usage: load BINDIR PODS WORKERS LIVE PING_EVERY CONFLIST...");
	bindir = argv[1];
	trace = getenv("LOAD_TRACE") && *getenv("LOAD_TRACE") == '1';
	lsan_every = getenv("LOAD_LSAN_EVERY") ? atoi(getenv("LOAD_LSAN_EVERY")) : 1;
	npods = atoi(argv[2]);
	nworkers = atoi(argv[3]);
	keep = atoi(argv[4]);
	ping_every = atoi(argv[5]);
	if (npods < 1 || nworkers < 1 || keep < 0 || ping_every < 0 || npods > 60000)
		die("bad numbers");
	for (n = 0; n + 6 < argc; n++) {
		char *s;

		if (n == MAX_NETS)
			die("at most %d networks", MAX_NETS);
		s = slurp(argv[6 + n]);
		nets[n] = cJSON_Parse(s);
		if (!cJSON_IsArray(cJSON_GetObjectItem(nets[n], "plugins")))
			die("%s: not a conflist", argv[6 + n]);
		free(s);
	}
	nnets = n;

	sz = sizeof(struct pod) * npods + sizeof(struct stats) * nworkers + sizeof(long);
	shm = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	pods = shm;
	wstats = (struct stats *)(pods + npods);
	live = (long *)(wstats + nworkers);

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN); /* a plugin that exits before reading its config */
	t0 = now();
	for (w = 0; w < nworkers; w++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			worker(w, npods, nworkers, keep, ping_every);
			fflush(stdout);
			_exit(0);
		}
	}
	for (w = 0; w < nworkers; w++) {
		if (wait(&status) < 0)
			die("wait: %s", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("ERROR a worker died (status %d)\n", status);
			total.errors++;
		}
	}
	for (w = 0; w < nworkers; w++) {
		total.invocations += wstats[w].invocations;
		total.errors += wstats[w].errors;
		total.pings += wstats[w].pings;
		if (wstats[w].maxlive > total.maxlive)
			total.maxlive = wstats[w].maxlive;
	}
	for (n = 0; n < nnets; n++)
		dup += duplicates(n, npods);
	printf("pods=%d workers=%d invocations=%ld errors=%ld duplicates=%ld pings=%ld maxlive=%ld seconds=%.1f\n",
	       npods, nworkers, total.invocations, total.errors, dup, total.pings, total.maxlive, now() - t0);
	return total.errors || dup ? 1 : 0;
}
