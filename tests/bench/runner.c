// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * `make bench`: drives our plugins, the reference plugins and the floor
 * program (tests/bench/floor.c) side by side, as a runtime does (fork/exec,
 * CNI environment, config on stdin), and prints one markdown table per phase.
 * Podman's chain runs against netavark in the floor's place.
 * Times come from CLOCK_MONOTONIC around fork()..wait4(), CPU and peak RSS
 * from wait4()'s rusage of each child (which covers the IPAM plugin it runs),
 * so nothing of the harness but a fork and a wait is in any figure.
 * Lanes interleave (pod i: ours, reference, floor, in an order rotating with
 * i) so all three see the same machine. Asserts nothing.
 *
 * Runs inside a throwaway node (hack/bench.sh: unshare --net --mount, tmpfs
 * on /run/netns, /var/lib/cni, /run/cni); creates each pod netns itself,
 * outside the timed section, as a runtime does just before ADD. Everything it
 * creates is named bch*. Parameters come from the environment (see usage()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { OURS, REF, FLOOR, NLANES };
static const char lane_char[NLANES] = { 'o', 'r', 'f' };
static const char *const lane_name[NLANES] = { "ours", "reference", "floor" };

/* The plugins the start-up and size phases look at, where they exist. */
static const char *const plugins[] = { "loopback", "bridge", "ptp", "host-local", "portmap", "tuning", NULL };

/*
 * What the third lane runs: the floor program for a bridge or a ptp ADD, or,
 * for podman's chain, netavark (podman's own network backend) on the same
 * bridge network and port mapping. FLOOR_BRIDGE_GARP is the bridge floor with
 * arp_notify on the pod's interface, as the plugins (ours and the reference's)
 * set it: its pod's gratuitous ARP is flooded to every port of the bridge.
 */
enum floor_kind { FLOOR_NONE, FLOOR_BRIDGE, FLOOR_BRIDGE_GARP, FLOOR_PTP, FLOOR_NETAVARK };

static bool floor_bridged(enum floor_kind k)
{
	return k == FLOOR_BRIDGE || k == FLOOR_BRIDGE_GARP;
}

#define NETAVARK "/usr/lib/podman/netavark"
/* netavark's --config directory, on the throwaway node's tmpfs. */
#define NETAVARK_DIR "/run/cni/bchnetavark"

/* One kind of network the phases attach pods to. */
struct netdef {
	const char *key; /* its name in BENCH_NETS */
	const char *label;
	const char *type; /* plugin executed: bridge, ptp, loopback */
	bool masq, dual;
	enum floor_kind floor;
	/* Plugins chained after type, as a conflist lists them; NULL: none. */
	const char *const *chain;
};

static const char *const CHAIN_PORTMAP[] = { "portmap", NULL };
static const char *const CHAIN_PODMAN[] = { "portmap", "firewall", "tuning", NULL };

static const struct netdef NET_LO = { "loopback", "loopback", "loopback", false, false, FLOOR_NONE, NULL };
static const struct netdef NET_BR = { "bridge", "bridge", "bridge", false, false, FLOOR_BRIDGE, NULL };
static const struct netdef NET_BRG = { "bridge-garp", "bridge (GARP floor)", "bridge", false,
				       false, FLOOR_BRIDGE_GARP, NULL };
static const struct netdef NET_BRM = { "bridge-masq", "bridge ipMasq", "bridge", true, false, FLOOR_BRIDGE, NULL };
static const struct netdef NET_PTP = { "ptp", "ptp", "ptp", false, false, FLOOR_PTP, NULL };
static const struct netdef NET_PTP6 = { "ptp-dual", "ptp dual-stack", "ptp", false, true, FLOOR_NONE, NULL };
static const struct netdef NET_CHAIN = { "portmap", "bridge ipMasq + portmap", "bridge", true, false, FLOOR_BRIDGE,
					 CHAIN_PORTMAP };
static const struct netdef NET_PODMAN = { "podman", "podman chain", "bridge", true, false, FLOOR_NETAVARK, CHAIN_PODMAN };

/* One instance of a netdef: a network per lane, each with its own bridge and /16. */
struct net {
	const struct netdef *d;
	int id;
	bool lane[NLANES];
	char name[NLANES][32];
	char bridge[NLANES][16];
	int octet[NLANES];
	char conf[NLANES][768];
};

struct pod {
	char ns[NLANES][64];
	char cid[NLANES][32];
	char veth[16]; /* the floor's host end */
	/* The result of the last plugin of the chain, which libcni caches for DEL. */
	char *res[NLANES];
};

struct sample {
	double wall, cpu; /* ms */
	long rss;	  /* KiB */
	bool ok;
};

struct series {
	double *v;
	int n, cap;
};

static struct {
	const char *ours, *ref, *tools, *phases, *nets;
	int pods, bucket, reps, conc_pods, leases, settle;
	bool shared_node; /* BENCH_NODES=shared: every lane in the runner's own netns */
	double busy;
	const char *third; /* what the third column of the table being printed holds */
	int net_ids, subnet_next;
	int node_gen; /* the lanes' nodes are renewed for each network: their names' number */
	int failures_shown;
} B;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : def;
}

static const char *env_str(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/* Whether a comma-separated list (or "all") names name. */
static bool listed(const char *list, const char *name)
{
	const char *p = list;
	size_t len = strlen(name);

	if (!strcmp(p, "all"))
		return true;
	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
			return true;
		p += len;
	}
	return false;
}

static bool phase(const char *name)
{
	return listed(B.phases, name);
}

/* Setup that is not measured (bridges for the floor, clean-up) goes through ip(8). */
static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: setup command failed: %s\n", cmd);
}

/* ---------- statistics ---------- */

static void series_add(struct series *s, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			die("out of memory");
	}
	s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of v[from..to); -1 when empty. */
static double pct(const struct series *s, int from, int to, double p)
{
	int n = to - from, rank;
	double *tmp, r;

	if (n <= 0)
		return -1;
	tmp = xcalloc(n, sizeof(*tmp));
	memcpy(tmp, s->v + from, n * sizeof(*tmp));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	rank = (int)(p * n + 0.999999);
	rank = rank < 1 ? 1 : rank > n ? n : rank;
	r = tmp[rank - 1];
	free(tmp);
	return r;
}

static double median(const struct series *s)
{
	return pct(s, 0, s->n, 0.5);
}

static double maxof(const struct series *s)
{
	return pct(s, 0, s->n, 1.0);
}

static void series_reset(struct series *s)
{
	s->n = 0;
}

/* ---------- output ---------- */

enum unit { MS, MIB, KIB, COUNT };

static void cell(double v, enum unit u)
{
	if (v < 0)
		printf(" – |");
	else if (u == MS)
		printf(" %.*f ms |", v < 10 ? 2 : 1, v);
	else if (u == MIB)
		printf(" %.2f MiB |", v / 1024);
	else if (u == KIB)
		printf(" %.0f KiB |", v / 1024);
	else
		printf(" %.0f |", v);
}

static void ratio(double a, double b)
{
	if (a < 0 || b <= 0)
		printf(" – |");
	else
		printf(" %.2f× |", a / b);
}

static void table(const char *title, const char *note)
{
	printf("\n### %s\n\n", title);
	if (note)
		printf("%s\n\n", note);
	printf("| | ours | reference | %s | ours/ref | ours/%s |\n", B.third, B.third);
	printf("|---|---:|---:|---:|---:|---:|\n");
}

static void row(const char *label, const double v[NLANES], enum unit u)
{
	printf("| %s |", label);
	for (int l = 0; l < NLANES; l++)
		cell(v[l], u);
	if (u == COUNT) {
		printf(" – | – |\n");
		return;
	}
	ratio(v[OURS], v[REF]);
	ratio(v[OURS], v[FLOOR]);
	printf("\n");
}

/* ---------- running a program ---------- */

/* One invocation: argv, environment and stdin, as the runtime would give them. */
struct inv {
	char path[PATH_MAX];
	char args[6][PATH_MAX];
	char *argv[8];
	char env[6][PATH_MAX + 32];
	char *envp[7];
	const char *in;
	const char *node; /* the netns path it runs in; NULL: the runner's */
};

struct job {
	unsigned int id;
	int out, err;
	int pod;
	struct sample s;
};

/*
 * Children are forked by a zygote: a process forked from the runner before it
 * allocates anything. exec() charges the peak RSS of the mm it replaces to the
 * child's ru_maxrss; a child forked (not vforked) from the small zygote
 * replaces a copy of a few anonymous pages, so the figure is the plugin's own
 * peak. The zygote also does the timing, right around fork() and wait4().
 */
struct zreq {
	unsigned int id;
	char node[64];
	unsigned int argc, envc;
	char strings[3 * 8 * (PATH_MAX + 32)];
};

struct zres {
	unsigned int id;
	int status;
	double wall;
	struct rusage ru;
};

static int zygote_sock = -1;

static void zygote_serve(int sock)
{
	struct {
		pid_t pid;
		unsigned int id;
		double t0;
	} kids[64] = { 0 };
	char cbuf[CMSG_SPACE(3 * sizeof(int))], cur[64] = "";
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		_exit(1);
	for (;;) {
		struct pollfd pfd[2] = { { sock, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		struct signalfd_siginfo si;
		struct rusage ru;
		int status;
		pid_t pid;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			;
		while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
			double t1 = now_ms();
			int k;

			for (k = 0; k < 64 && kids[k].pid != pid; k++)
				;
			if (k == 64)
				continue;
			struct zres r = { kids[k].id, status, t1 - kids[k].t0, ru };

			kids[k].pid = 0;
			if (send(sock, &r, sizeof(r), 0) != sizeof(r))
				_exit(1);
		}
		if (pfd[0].revents & (POLLHUP | POLLERR))
			_exit(0);
		if (!(pfd[0].revents & POLLIN))
			continue;

		static struct zreq q;
		struct iovec iov = { &q, sizeof(q) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		char *argv[10] = { 0 }, *envp[10] = { 0 }, *p;
		int fds[3], k;
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			_exit(0);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		if (!c || c->cmsg_type != SCM_RIGHTS || q.argc > 9 || q.envc > 9)
			_exit(1);
		memcpy(fds, CMSG_DATA(c), sizeof(fds));
		p = q.strings;
		for (unsigned int i = 0; i < q.argc; i++, p += strlen(p) + 1)
			argv[i] = p;
		for (unsigned int i = 0; i < q.envc; i++, p += strlen(p) + 1)
			envp[i] = p;
		for (k = 0; k < 64 && kids[k].pid; k++)
			;
		if (k == 64)
			_exit(1);
		/* The child is born in its lane's node; switching is not timed. */
		if (strcmp(cur, q.node)) {
			int fd = q.node[0] ? open(q.node, O_RDONLY | O_CLOEXEC) : home;

			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
				_exit(1);
			if (fd != home)
				close(fd);
			snprintf(cur, sizeof(cur), "%s", q.node);
		}
		kids[k].id = q.id;
		kids[k].t0 = now_ms();
		pid = fork();
		if (pid == 0) {
			sigprocmask(SIG_UNBLOCK, &mask, NULL);
			if (dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0)
				_exit(126);
			execve(argv[0], argv, envp);
			_exit(127);
		}
		kids[k].pid = pid;
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		if (pid < 0)
			_exit(1);
	}
}

static void zygote_start(void)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		zygote_serve(sv[1]);
	}
	close(sv[1]);
	zygote_sock = sv[0];
}

static int memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		die("memfd_create: %s", strerror(errno));
	return fd;
}

static void job_start(struct job *j, struct inv *v)
{
	static unsigned int ids;
	static struct zreq q;
	char cbuf[CMSG_SPACE(3 * sizeof(int))] = { 0 };
	struct iovec iov = { &q, 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int in = memfd("bch-in"), fds[3];
	size_t len = v->in ? strlen(v->in) : 0;
	char *p = q.strings;

	if (len && write(in, v->in, len) != (ssize_t)len)
		die("writing stdin: %s", strerror(errno));
	lseek(in, 0, SEEK_SET);
	j->out = memfd("bch-out");
	j->err = memfd("bch-err");
	j->id = q.id = ++ids;
	snprintf(q.node, sizeof(q.node), "%s", v->node ? v->node : "");
	q.argc = q.envc = 0;
	for (int i = 0; v->argv[i]; i++, q.argc++)
		p = stpcpy(p, v->argv[i]) + 1;
	for (int i = 0; v->envp[i]; i++, q.envc++)
		p = stpcpy(p, v->envp[i]) + 1;
	iov.iov_len = (size_t)(p - (char *)&q);
	fds[0] = in;
	fds[1] = j->out;
	fds[2] = j->err;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(zygote_sock, &mh, 0) < 0)
		die("asking the zygote to run %s: %s", v->path, strerror(errno));
	close(in);
}

/* Waits for any started job to end; returns its id, fills its sample. */
static unsigned int job_wait(struct sample *s)
{
	struct zres r;

	if (recv(zygote_sock, &r, sizeof(r), 0) != sizeof(r))
		die("the zygote died");
	s->wall = r.wall;
	s->cpu = (r.ru.ru_utime.tv_sec + r.ru.ru_stime.tv_sec) * 1e3 +
		 (r.ru.ru_utime.tv_usec + r.ru.ru_stime.tv_usec) / 1e3;
	s->rss = r.ru.ru_maxrss;
	s->ok = WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
	return r.id;
}

static char *fd_slurp(int fd)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = xcalloc(1, len + 1);

	if (len > 0 && pread(fd, buf, len, 0) != len)
		die("reading output: %s", strerror(errno));
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
		buf[--len] = '\0';
	return buf;
}

/* Output and errors of a finished job; stdout returned when out != NULL. */
static void job_collect(struct job *j, const char *what, char **out)
{
	char *o = fd_slurp(j->out);

	if (!j->s.ok && B.failures_shown++ < 10) {
		char *e = fd_slurp(j->err);

		fprintf(stderr, "bench: %s failed: %s %s\n", what, o, e);
		free(e);
	}
	if (out)
		*out = o;
	else
		free(o);
	close(j->out);
	close(j->err);
}

static struct sample run(struct inv *v, const char *what, char **out)
{
	struct job j = { 0 };

	job_start(&j, v);
	if (job_wait(&j.s) != j.id)
		die("the zygote answered for another job");
	job_collect(&j, what, out);
	return j.s;
}

static void inv_cni(struct inv *v, const char *dir, const char *plugin, const char *cmd,
		    const char *cid, const char *netns, const char *conf)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->path, sizeof(v->path), "%s/%s", dir, plugin);
	v->argv[0] = v->path;
	snprintf(v->env[0], sizeof(v->env[0]), "CNI_COMMAND=%s", cmd);
	snprintf(v->env[1], sizeof(v->env[1]), "CNI_CONTAINERID=%s", cid);
	snprintf(v->env[2], sizeof(v->env[2]), "CNI_NETNS=%s", netns);
	snprintf(v->env[3], sizeof(v->env[3]), "CNI_IFNAME=eth0");
	snprintf(v->env[4], sizeof(v->env[4]), "CNI_PATH=%s", dir);
	/* The reference's ipMasq and portmap exec iptables. */
	snprintf(v->env[5], sizeof(v->env[5]), "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
	for (int i = 0; i < 6; i++)
		v->envp[i] = v->env[i];
	v->in = conf;
}

static void inv_argv(struct inv *v, const char *path, const char *const args[])
{
	memset(v, 0, sizeof(*v));
	snprintf(v->path, sizeof(v->path), "%s", path);
	v->argv[0] = v->path;
	for (int i = 0; args[i] && i < 6; i++) {
		snprintf(v->args[i], sizeof(v->args[i]), "%s", args[i]);
		v->argv[i + 1] = v->args[i];
	}
}

static const char *lane_dir(int lane)
{
	return lane == OURS ? B.ours : B.ref;
}

/* ---------- namespaces and networks ---------- */

/* A named netns as `ip netns add` makes it: a bind mount of a fresh netns under /run/netns. */
static void netns_add(const char *path)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd, e = 0;

	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (self < 0 || fd < 0)
		die("creating %s: %s", path, strerror(errno));
	close(fd);
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare: %s", strerror(errno));
	if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
		e = errno;
	if (setns(self, CLONE_NEWNET) < 0)
		die("back to the node netns: %s", strerror(errno));
	close(self);
	if (e)
		die("mounting %s: %s", path, strerror(e));
}

static void netns_del(const char *path)
{
	umount2(path, MNT_DETACH);
	unlink(path);
}

/*
 * Each lane's node: a netns of its own that holds only that lane's pods, as a
 * node of a cluster does (the plugins' veths, routes, rules and sysctls of one
 * lane never share tables with another's), made afresh for each network (see
 * nodes_renew). BENCH_NODES=shared puts every lane in the runner's own netns,
 * as earlier runs did.
 */
static const char *lane_node(int lane)
{
	static char path[NLANES][48];

	if (B.shared_node)
		return NULL;
	snprintf(path[lane], sizeof(path[lane]), "/run/netns/bchnode%d-%c", B.node_gen, lane_char[lane]);
	return path[lane];
}

/* ip(8)'s option for a lane's node: -n and the name under /run/netns. */
static const char *ip_n(int lane)
{
	static char opt[NLANES][32];

	if (B.shared_node)
		return "";
	snprintf(opt[lane], sizeof(opt[lane]), "-n %s", strrchr(lane_node(lane), '/') + 1);
	return opt[lane];
}

static void nodes_add(void)
{
	for (int l = 0; l < NLANES && !B.shared_node; l++) {
		netns_add(lane_node(l));
		sh("ip %s link set lo up", ip_n(l));
	}
}

static int subnet_octet(void)
{
	if (B.subnet_next > 250)
		die("out of /16s for networks");
	return B.subnet_next++;
}

static void net_init(struct net *n, const struct netdef *d, bool floor)
{
	char ipam[256];

	memset(n, 0, sizeof(*n));
	n->d = d;
	n->id = B.net_ids++;
	n->lane[OURS] = n->lane[REF] = true;
	n->lane[FLOOR] = floor && d->floor != FLOOR_NONE && (d->floor != FLOOR_NETAVARK || !access(NETAVARK, X_OK));
	for (int l = 0; l < NLANES; l++) {
		if (!n->lane[l])
			continue;
		snprintf(n->name[l], sizeof(n->name[l]), "bch%d%c", n->id, lane_char[l]);
		snprintf(n->bridge[l], sizeof(n->bridge[l]), "bch%d%c", n->id, lane_char[l]);
		n->octet[l] = subnet_octet();
		snprintf(ipam, sizeof(ipam),
			 "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.%d.0.0/16\"}]%s]}",
			 n->octet[l], d->dual ? (l == OURS ? ",[{\"subnet\":\"fd00:bc0::/64\"}]"
							   : ",[{\"subnet\":\"fd00:bc1::/64\"}]")
					      : "");
		if (!strcmp(d->type, "loopback"))
			snprintf(n->conf[l], sizeof(n->conf[l]),
				 "{\"cniVersion\":\"1.0.0\",\"name\":\"%s\",\"type\":\"loopback\"}", n->name[l]);
		else if (!strcmp(d->type, "bridge"))
			snprintf(n->conf[l], sizeof(n->conf[l]),
				 "{\"cniVersion\":\"1.0.0\",\"name\":\"%s\",\"type\":\"bridge\",\"bridge\":\"%s\","
				 "\"isGateway\":true,\"ipMasq\":%s,\"hairpinMode\":true,%s}",
				 n->name[l], n->bridge[l], d->masq ? "true" : "false", ipam);
		else
			snprintf(n->conf[l], sizeof(n->conf[l]),
				 "{\"cniVersion\":\"1.0.0\",\"name\":\"%s\",\"type\":\"ptp\",\"ipMasq\":%s,%s}",
				 n->name[l], d->masq ? "true" : "false", ipam);
	}
	if (n->lane[FLOOR] && floor_bridged(d->floor))
		sh("ip %s link add %s type bridge && ip %s addr add 10.%d.0.1/16 dev %s && ip %s link set %s up",
		   ip_n(FLOOR), n->bridge[FLOOR], ip_n(FLOOR), n->octet[FLOOR], n->bridge[FLOOR], ip_n(FLOOR),
		   n->bridge[FLOOR]);
}

/*
 * Every lane's node replaced by a fresh one. A node keeps what a network's
 * plugins set: ptp dual-stack turns IPv6 forwarding on, and with it every
 * later veth delete on that node took ~20 ms more (1,000 floor pods per node,
 * DELs interleaved: 29 ms without, 48 ms with), in the lanes that had run it
 * and not in the floor's. The zygote is sent home first so that it holds no old
 * node; their teardown then runs before the next phase's settle() returns.
 */
static void nodes_renew(void)
{
	static const char *const args[] = { NULL };
	struct inv v;

	for (int l = 0; l < NLANES; l++)
		netns_del(lane_node(l));
	inv_argv(&v, "/bin/true", args);
	run(&v, "the zygote's way home", NULL);
	B.node_gen++;
	nodes_add();
}

/* The plugins leave their bridges, rules and sysctls behind, as on a node; the next network starts clean. */
static void net_fini(struct net *n)
{
	if (!B.shared_node) {
		nodes_renew();
		return;
	}
	for (int l = 0; l < NLANES; l++)
		if (n->lane[l] && !strcmp(n->d->type, "bridge"))
			sh("ip link del %s 2>/dev/null || true", n->bridge[l]);
}

static void pod_init(struct pod *p, const struct net *n, int i)
{
	memset(p, 0, sizeof(*p));
	for (int l = 0; l < NLANES; l++) {
		snprintf(p->ns[l], sizeof(p->ns[l]), "/run/netns/bch%d%c%d", n->id, lane_char[l], i);
		snprintf(p->cid[l], sizeof(p->cid[l]), "bch%d%c%06d", n->id, lane_char[l], i);
	}
	snprintf(p->veth, sizeof(p->veth), "bch%dv%d", n->id, i);
}

static void pod_netns(struct pod *p, const struct net *n, bool add)
{
	for (int l = 0; l < NLANES; l++)
		if (n->lane[l]) {
			if (add)
				netns_add(p->ns[l]);
			else
				netns_del(p->ns[l]);
		}
}

static void pod_free(struct pod *p)
{
	for (int l = 0; l < NLANES; l++) {
		free(p->res[l]);
		p->res[l] = NULL;
	}
}

/* conf with the previous result injected, as libcni does for chained plugins and DEL. */
static char *with_prev(const char *conf, const char *prev)
{
	size_t len = strlen(conf);
	char *s;

	if (!prev || prev[0] != '{')
		return xstrdup(conf);
	s = xcalloc(1, len + strlen(prev) + 32);
	memcpy(s, conf, len - 1);
	sprintf(s + len - 1, ",\"prevResult\":%s}", prev);
	return s;
}

/* The conf of a plugin chained after the network's own (podman's conflist gives firewall and
 * tuning no keys), with prev as its prevResult. One hostPort per pod and lane. */
static char *chain_conf(const struct net *n, int lane, int i, const char *plugin, const char *prev)
{
	char conf[512];

	if (!strcmp(plugin, "portmap"))
		snprintf(conf, sizeof(conf),
			 "{\"cniVersion\":\"1.0.0\",\"name\":\"%s\",\"type\":\"portmap\","
			 "\"capabilities\":{\"portMappings\":true},\"runtimeConfig\":{\"portMappings\":"
			 "[{\"hostPort\":%d,\"containerPort\":80,\"protocol\":\"tcp\"}]}}",
			 n->name[lane], (lane == OURS ? 20000 : 40000) + i);
	else
		snprintf(conf, sizeof(conf), "{\"cniVersion\":\"1.0.0\",\"name\":\"%s\",\"type\":\"%s\"}",
			 n->name[lane], plugin);
	return with_prev(conf, prev);
}

/* Whether every plugin of d's chain exists on both sides. */
static bool chain_present(const struct netdef *d)
{
	char path[PATH_MAX];

	for (int k = 0; d->chain && d->chain[k]; k++)
		for (int l = OURS; l <= REF; l++) {
			snprintf(path, sizeof(path), "%s/%s", l == OURS ? B.ours : B.ref, d->chain[k]);
			if (access(path, X_OK))
				return false;
		}
	return true;
}

static void sample_add(struct sample *acc, struct sample s)
{
	acc->wall += s.wall;
	acc->cpu += s.cpu;
	acc->rss = s.rss > acc->rss ? s.rss : acc->rss;
	acc->ok = acc->ok && s.ok;
}

/* The floor's argv for pod i, for ADD or DEL. */
static void inv_floor(struct inv *v, const struct net *n, const struct pod *p, int i, bool add)
{
	char path[PATH_MAX], addr[32], gw[32];
	int o = n->octet[FLOOR];

	snprintf(path, sizeof(path), "%s/floor", B.tools);
	snprintf(addr, sizeof(addr), "10.%d.%d.%d%s", o, i / 250, i % 250 + 2,
		 floor_bridged(n->d->floor) ? "/16" : "");
	snprintf(gw, sizeof(gw), "10.%d.255.254", o);
	if (floor_bridged(n->d->floor))
		snprintf(gw, sizeof(gw), "10.%d.0.1", o);
	if (!add)
		inv_argv(v, path, (const char *[]){ "del", p->veth, NULL });
	else if (floor_bridged(n->d->floor))
		inv_argv(v, path, (const char *[]){ n->d->floor == FLOOR_BRIDGE ? "bridge" : "bridge-garp",
						    p->ns[FLOOR], n->bridge[FLOOR], p->veth, addr, gw, NULL });
	else
		inv_argv(v, path, (const char *[]){ "ptp", p->ns[FLOOR], p->veth, addr, gw, NULL });
}

/*
 * netavark setup (or teardown) of pod i, as podman 4 drives it: the network
 * and the container's options as JSON on stdin. netavark 1.4 has no IPAM of
 * its own, so the address is given (static_ips), as podman assigns it; the
 * host port is the pod's own, like the plugins' lanes'. Returns the JSON
 * (v->in points to it), which the caller frees.
 */
static char *inv_netavark(struct inv *v, const struct net *n, const struct pod *p, int i, bool add)
{
	const char *cid = p->cid[FLOOR];
	int o = n->octet[FLOOR];
	char *json = xcalloc(1, 1024);

	inv_argv(v, NETAVARK, (const char *[]){ "--config", NETAVARK_DIR, add ? "setup" : "teardown", p->ns[FLOOR],
					       NULL });
	/* It execs iptables. */
	snprintf(v->env[0], sizeof(v->env[0]), "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
	v->envp[0] = v->env[0];
	snprintf(json, 1024,
		 "{\"container_id\":\"%s\",\"container_name\":\"%s\",\"networks\":{\"%s\":{"
		 "\"interface_name\":\"eth0\",\"static_ips\":[\"10.%d.%d.%d\"]}},\"network_info\":{\"%s\":{"
		 "\"name\":\"%s\",\"id\":\"%064x\",\"driver\":\"bridge\",\"network_interface\":\"%s\","
		 "\"subnets\":[{\"subnet\":\"10.%d.0.0/16\",\"gateway\":\"10.%d.0.1\"}],\"ipv6_enabled\":false,"
		 "\"internal\":false,\"dns_enabled\":false,\"ipam_options\":{\"driver\":\"host-local\"}}},"
		 "\"port_mappings\":[{\"host_ip\":\"\",\"container_port\":80,\"host_port\":%d,\"range\":1,"
		 "\"protocol\":\"tcp\"}]}",
		 cid, cid, n->name[FLOOR], o, i / 250, i % 250 + 2, n->name[FLOOR], n->name[FLOOR], n->id,
		 n->bridge[FLOOR], o, o, 30000 + i);
	v->in = json;
	return json;
}

static struct sample run_in(struct inv *v, int lane, const char *what, char **out)
{
	v->node = lane_node(lane);
	return run(v, what, out);
}

/*
 * One pod's ADD (or DEL) in one lane, as libcni runs a conflist: ADD runs the
 * network's plugin, then each chained plugin with the result so far as its
 * prevResult; DEL runs them in reverse, each with the cached final result.
 * The sample is the sum of all of them; a failed ADD stops the chain.
 */
static struct sample pod_cmd(const struct net *n, struct pod *p, int lane, int i, bool add)
{
	const char *const *chain = n->d->chain;
	struct sample acc = { .ok = true };
	char what[128], *conf, *out;
	int len = 0;
	struct inv v;

	snprintf(what, sizeof(what), "%s %s %s pod %d", lane == FLOOR && n->d->floor == FLOOR_NETAVARK ? "netavark"
		 : lane_name[lane], n->d->label, add ? "ADD" : "DEL", i);
	if (lane == FLOOR && n->d->floor == FLOOR_NETAVARK) {
		conf = inv_netavark(&v, n, p, i, add);
		acc = run_in(&v, lane, what, NULL);
		free(conf);
		return acc;
	}
	if (lane == FLOOR) {
		inv_floor(&v, n, p, i, add);
		return run_in(&v, lane, what, NULL);
	}
	while (chain && chain[len])
		len++;
	if (!add) {
		for (int k = len - 1; k >= 0; k--) {
			conf = chain_conf(n, lane, i, chain[k], p->res[lane]);
			inv_cni(&v, lane_dir(lane), chain[k], "DEL", p->cid[lane], p->ns[lane], conf);
			sample_add(&acc, run_in(&v, lane, what, NULL));
			free(conf);
		}
		conf = with_prev(n->conf[lane], p->res[lane]);
		inv_cni(&v, lane_dir(lane), n->d->type, "DEL", p->cid[lane], p->ns[lane], conf);
		sample_add(&acc, run_in(&v, lane, what, NULL));
		free(conf);
		return acc;
	}
	for (int k = -1; k < len && acc.ok; k++) {
		conf = k < 0 ? xstrdup(n->conf[lane]) : chain_conf(n, lane, i, chain[k], p->res[lane]);
		inv_cni(&v, lane_dir(lane), k < 0 ? n->d->type : chain[k], "ADD", p->cid[lane], p->ns[lane], conf);
		out = NULL;
		sample_add(&acc, run_in(&v, lane, what, &out));
		free(conf);
		/* A failed plugin prints an error, not a result. */
		if (acc.ok) {
			free(p->res[lane]);
			p->res[lane] = out;
		} else {
			free(out);
		}
	}
	return acc;
}

/* ---------- phases ---------- */

static void header(void)
{
	char model[256] = "unknown", line[512], date[64];
	struct utsname u;
	double load[3] = { 0 };
	time_t t = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (f)
		fclose(f);
	uname(&u);
	getloadavg(load, 3);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	printf("## cnip benchmark, %s\n\n", date);
	printf("- machine: kernel %s, %s, %ld CPUs, load average %.2f %.2f %.2f at the start\n", u.release,
	       model, sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
	printf("- ours: %s (%s); reference: %s (%s); floor: %s/floor (static C, raw netlink); netavark: %s (%s)\n",
	       B.ours, env_str("BENCH_OURS_VERSION", "?"), B.ref, env_str("BENCH_REF_VERSION", "?"), B.tools,
	       NETAVARK, access(NETAVARK, X_OK) ? "missing" : env_str("BENCH_NETAVARK_VERSION", "?"));
	printf("- parameters: BENCH_PODS=%d BENCH_BUCKET=%d BENCH_REPS=%d BENCH_CONC_PODS=%d BENCH_LEASES=%d "
	       "BENCH_SETTLE=%d BENCH_PHASES=%s BENCH_NETS=%s BENCH_NODES=%s\n",
	       B.pods, B.bucket, B.reps, B.conc_pods, B.leases, B.settle, B.phases, B.nets,
	       B.shared_node ? "shared" : "lane");
	printf("- nodes: %s\n", B.shared_node ? "every lane's pods on one node (the runner's netns)"
		: "each lane in a node netns of its own, holding only that lane's pods, and made "
		  "afresh for each network; the lanes interleave on one machine");
	printf("- times are wall medians from spawn to reap unless a row says otherwise; CPU is user+system "
	       "of the plugin and the IPAM plugin it runs; RSS is the larger peak of the two\n");
	fflush(stdout);
}

/*
 * Waits (at most BENCH_SETTLE seconds) for the machine to go idle: the kernel
 * tears netns down in the background once their last reference goes, and that
 * work belongs to no phase's figures. Idle: under 10% of all CPUs busy for
 * half a second, as /proc/stat counts them. A machine that never goes idle
 * gets a warning in the output, and no more waiting.
 */
static void settle(void)
{
	unsigned long long v[8], busy, total, prev_busy = 0, prev_total = 0;
	double t0 = now_ms(), frac = 1;

	while (B.settle > 0) {
		FILE *f = fopen("/proc/stat", "r");
		int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
				   &v[4], &v[5], &v[6], &v[7]) : 0;

		if (f)
			fclose(f);
		if (n != 8)
			return;
		busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		total = busy + v[3] + v[4];
		if (prev_total && total > prev_total) {
			frac = (double)(busy - prev_busy) / (double)(total - prev_total);
			if (frac < 0.10)
				return;
		}
		if (now_ms() - t0 > B.settle * 1e3) {
			/* A machine busy with other work stays busy: wait no more, warn at the end. */
			fprintf(stderr, "bench: the machine is %.0f%% busy with other work\n", frac * 100);
			B.busy = frac * 100;
			B.settle = 0;
			return;
		}
		prev_busy = busy;
		prev_total = total;
		nanosleep(&(struct timespec){ 0, 500000000 }, NULL);
	}
}

/*
 * The order of n programs in round i: the n! permutations in turn (i's
 * factorial digits pick from what is left), so each follows each other one
 * about equally often. What ran just before moves a measurement: a veth delete's
 * wall time depends on the RCU grace periods in flight, and with the lanes
 * rotated the floor's DEL always came right after the reference's and ours
 * after the floor's (one pod's DEL read 1.4-1.6x the floor's, 1.0x with
 * alternating orders); in start-up's fixed order the trivial program always ran
 * right after the reference's Go binary and its median moved from 2.4 to 3.2 ms
 * between rows of one run.
 */
static void order_of(int i, int n, int *order)
{
	int left[NLANES + 1];

	for (int k = 0; k < n; k++)
		left[k] = k;
	for (int k = 0; n > 0; k++, n--) {
		int pick = i % n;

		i /= n;
		order[k] = left[pick];
		memmove(&left[pick], &left[pick + 1], (size_t)(n - pick - 1) * sizeof(left[0]));
	}
}

static void startup(void)
{
	const char *conf = "{\"cniVersion\":\"1.0.0\"}";
	struct series w[NLANES + 1] = { 0 }, c[NLANES + 1] = { 0 }, r[NLANES + 1] = { 0 };
	char path[NLANES + 1][PATH_MAX], label[64];
	/* A start is a few ms: many rounds cost little and steady the medians. */
	int reps = B.reps * 8;
	/* Each program's invocation, made once per row: the rounds only run them. */
	struct inv v[NLANES + 1];
	bool present[NLANES + 1];
	struct sample s;

	settle();
	table("Start-up: VERSION",
	      "`CNI_COMMAND=VERSION`, median of 8 × BENCH_REPS, the four programs of a row in every order "
	      "in turn; the floor column is a trivial dynamically linked C program that writes a line and "
	      "exits (tests/bench/trivial.c).");
	snprintf(path[FLOOR], sizeof(path[FLOOR]), "%s/trivial", B.tools);
	snprintf(path[NLANES], sizeof(path[NLANES]), "%s/trivial-static", B.tools);
	for (int p = 0; plugins[p]; p++) {
		snprintf(path[OURS], sizeof(path[OURS]), "%s/%s", B.ours, plugins[p]);
		snprintf(path[REF], sizeof(path[REF]), "%s/%s", B.ref, plugins[p]);
		if (access(path[OURS], X_OK))
			continue;
		for (int l = 0; l <= NLANES; l++) {
			char *slash = strrchr(path[l], '/');

			series_reset(&w[l]);
			series_reset(&c[l]);
			series_reset(&r[l]);
			present[l] = !access(path[l], X_OK);
			*slash = '\0';
			inv_cni(&v[l], path[l], slash + 1, "VERSION", "bch", "/run/netns/none", conf);
			*slash = '/';
		}
		for (int i = 0; i < reps; i++) {
			int order[NLANES + 1];

			order_of(i, NLANES + 1, order);
			for (int k = 0; k <= NLANES; k++) {
				int l = order[k];

				if (!present[l])
					continue;
				s = run(&v[l], "VERSION", NULL);
				series_add(&w[l], s.wall);
				series_add(&c[l], s.cpu);
				series_add(&r[l], s.rss);
			}
		}
		double wv[NLANES], cv[NLANES], rv[NLANES];

		for (int l = 0; l < NLANES; l++) {
			wv[l] = median(&w[l]);
			cv[l] = median(&c[l]);
			rv[l] = maxof(&r[l]);
		}
		snprintf(label, sizeof(label), "%s VERSION", plugins[p]);
		row(label, wv, MS);
		snprintf(label, sizeof(label), "%s VERSION CPU", plugins[p]);
		row(label, cv, MS);
		snprintf(label, sizeof(label), "%s VERSION peak RSS", plugins[p]);
		row(label, rv, MIB);
	}
	printf("\nThe same program linked statically (tests/bench/trivial.c, `-static`): %.2f ms wall, "
	       "%.2f ms CPU, %.2f MiB.\n", median(&w[NLANES]), median(&c[NLANES]), maxof(&r[NLANES]) / 1024);
	for (int l = 0; l <= NLANES; l++) {
		free(w[l].v);
		free(c[l].v);
		free(r[l].v);
	}
	fflush(stdout);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

static long stripped_size(const char *path)
{
	const char *tmp = "/tmp/bch-stripped";
	struct inv v;
	long size;

	if (access(path, R_OK))
		return -1;
	inv_argv(&v, "/usr/bin/strip", (const char *[]){ "-o", tmp, path, NULL });
	size = run(&v, "strip", NULL).ok ? file_size(tmp) : -1;
	unlink(tmp);
	return size;
}

static void sizes(void)
{
	char path[PATH_MAX], label[64];
	double v[NLANES];

	table("Binary sizes",
	      "Stripped, as a package ships them (the reference binaries are stripped Go); the floor is "
	      "static. Ours also load libmnl, libnftnl, libcjson and libc as shared libraries.");
	for (int p = 0; plugins[p]; p++) {
		snprintf(path, sizeof(path), "%s/%s", B.ours, plugins[p]);
		if (access(path, X_OK))
			continue;
		v[OURS] = stripped_size(path);
		snprintf(path, sizeof(path), "%s/%s", B.ref, plugins[p]);
		v[REF] = file_size(path);
		snprintf(path, sizeof(path), "%s/floor", B.tools);
		v[FLOOR] = strcmp(plugins[p], "bridge") && strcmp(plugins[p], "ptp") ? -1 : stripped_size(path);
		snprintf(label, sizeof(label), "%s", plugins[p]);
		row(label, v, KIB);
	}
	fflush(stdout);
}

/* Issue 9's targets for podman's chain against netavark, printed, not asserted. */
static void targets(const char *where, double add, double setup, double del, double teardown)
{
	if (setup <= 0 || teardown <= 0)
		return;
	printf("\nIssue 9's targets, %s (not asserted): setup ours/netavark %.2f× (target at most 0.20×), "
	       "teardown %.2f× (target at most 0.50×).\n", where, add / setup, del / teardown);
}

/* Phase: one pod at a time on an empty node, ADD then DEL, BENCH_REPS times per network. */
static void latency(void)
{
	const struct netdef *defs[] = { &NET_LO, &NET_BR, &NET_BRG, &NET_BRM, &NET_PTP, &NET_PTP6,
					&NET_CHAIN, &NET_PODMAN, NULL };
	struct series add[NLANES] = { 0 }, addc[NLANES] = { 0 }, del[NLANES] = { 0 }, delc[NLANES] = { 0 },
		      rss[NLANES] = { 0 };
	double a[NLANES], a90[NLANES], ac[NLANES], dl[NLANES], dc[NLANES], r[NLANES];
	char label[96];
	int order[NLANES];

	printf("\n### One pod: ADD and DEL latency\n\nOne pod at a time on an otherwise empty node, ADD "
	       "then DEL, BENCH_REPS times per network (dual-stack: at most 5; the reference waits for "
	       "DAD). Peak RSS is the largest of all ADDs.\n\n");
	printf("| | ours | reference | floor | ours/ref | ours/floor |\n|---|---:|---:|---:|---:|---:|\n");
	for (int d = 0; defs[d]; d++) {
		struct net n;
		struct pod p;
		int reps = defs[d]->dual && B.reps > 5 ? 5 : B.reps;

		if (!listed(B.nets, defs[d]->key))
			continue;
		if (!chain_present(defs[d])) {
			printf("\n(%s skipped: a plugin of its chain is missing.)\n", defs[d]->label);
			continue;
		}
		if (defs[d]->floor == FLOOR_NETAVARK) {
			B.third = "netavark";
			table("One pod: podman's chain against netavark",
			      "Podman's CNI network (bridge ipMasq + portmap + firewall + tuning, each plugin "
			      "given the result so far as prevResult, DEL in reverse with the final result), "
			      "one hostPort, against netavark's setup and teardown of the same bridge network "
			      "and port mapping: ADD is setup, DEL is teardown.");
		}
		fprintf(stderr, "bench: one pod, %s\n", defs[d]->label);
		settle();
		net_init(&n, defs[d], true);
		for (int l = 0; l < NLANES; l++) {
			series_reset(&add[l]);
			series_reset(&addc[l]);
			series_reset(&del[l]);
			series_reset(&delc[l]);
			series_reset(&rss[l]);
		}
		for (int i = 0; i < reps; i++) {
			pod_init(&p, &n, i);
			pod_netns(&p, &n, true);
			order_of(i, NLANES, order);
			for (int k = 0; k < NLANES; k++) {
				int l = order[k];
				struct sample s;

				if (!n.lane[l])
					continue;
				s = pod_cmd(&n, &p, l, i, true);
				series_add(&add[l], s.wall);
				series_add(&addc[l], s.cpu);
				series_add(&rss[l], s.rss);
			}
			for (int k = 0; k < NLANES; k++) {
				int l = order[k];
				struct sample s;

				if (!n.lane[l])
					continue;
				s = pod_cmd(&n, &p, l, i, false);
				series_add(&del[l], s.wall);
				series_add(&delc[l], s.cpu);
			}
			pod_netns(&p, &n, false);
			pod_free(&p);
		}
		for (int l = 0; l < NLANES; l++) {
			a[l] = median(&add[l]);
			a90[l] = pct(&add[l], 0, add[l].n, 0.9);
			ac[l] = median(&addc[l]);
			dl[l] = median(&del[l]);
			dc[l] = median(&delc[l]);
			r[l] = maxof(&rss[l]);
		}
		snprintf(label, sizeof(label), "%s ADD", n.d->label);
		row(label, a, MS);
		snprintf(label, sizeof(label), "%s ADD p90", n.d->label);
		row(label, a90, MS);
		snprintf(label, sizeof(label), "%s ADD CPU", n.d->label);
		row(label, ac, MS);
		snprintf(label, sizeof(label), "%s DEL", n.d->label);
		row(label, dl, MS);
		snprintf(label, sizeof(label), "%s DEL CPU", n.d->label);
		row(label, dc, MS);
		snprintf(label, sizeof(label), "%s ADD peak RSS", n.d->label);
		row(label, r, MIB);
		if (n.d->floor == FLOOR_NETAVARK)
			targets("one pod", a[OURS], a[FLOOR], dl[OURS], dl[FLOOR]);
		B.third = "floor";
		fflush(stdout);
		net_fini(&n);
	}
	for (int l = 0; l < NLANES; l++) {
		free(add[l].v);
		free(addc[l].v);
		free(del[l].v);
		free(delc[l].v);
		free(rss[l].v);
	}
}

/* Phase: BENCH_PODS pods on one node, each in its own netns, then all deleted; per bucket. */
static void scale_one(const struct netdef *d)
{
	struct series add[NLANES] = { 0 }, cpu[NLANES] = { 0 }, del[NLANES] = { 0 };
	int errors[NLANES] = { 0 }, order[NLANES], nb = (B.pods + B.bucket - 1) / B.bucket;
	struct pod *pods = xcalloc(B.pods, sizeof(*pods));
	double v[NLANES], first[NLANES], last[NLANES];
	char title[160], label[96], intro[256];
	struct net n;

	if (!listed(B.nets, d->key)) {
		free(pods);
		return;
	}
	settle();
	net_init(&n, d, true);
	if (d->floor == FLOOR_NETAVARK)
		B.third = "netavark";
	for (int i = 0; i < B.pods; i++) {
		if (i % 100 == 0)
			fprintf(stderr, "bench: scale, %s: ADD %d/%d\n", d->label, i, B.pods);
		pod_init(&pods[i], &n, i);
		pod_netns(&pods[i], &n, true);
		order_of(i, NLANES, order);
		for (int k = 0; k < NLANES; k++) {
			int l = order[k];
			struct sample s;

			if (!n.lane[l])
				continue;
			s = pod_cmd(&n, &pods[i], l, i, true);
			series_add(&add[l], s.wall);
			series_add(&cpu[l], s.cpu);
			errors[l] += !s.ok;
		}
	}
	for (int i = 0; i < B.pods; i++) {
		if (i % 100 == 0)
			fprintf(stderr, "bench: scale, %s: DEL %d/%d\n", d->label, i, B.pods);
		order_of(i, NLANES, order);
		for (int k = 0; k < NLANES; k++) {
			int l = order[k];
			struct sample s;

			if (!n.lane[l])
				continue;
			s = pod_cmd(&n, &pods[i], l, i, false);
			series_add(&del[l], s.wall);
			errors[l] += !s.ok;
		}
	}
	/* All netns go after all DELs, so their teardown in the kernel is not in any DEL. */
	for (int i = 0; i < B.pods; i++) {
		pod_netns(&pods[i], &n, false);
		pod_free(&pods[i]);
	}
	free(pods);

	snprintf(title, sizeof(title), "Scale: %s, %d pods", d->label, B.pods);
	snprintf(intro, sizeof(intro), "Each pod in its own netns, %s; medians per bucket. DEL runs in ADD order "
		 "once all pods exist.", B.shared_node ? "every lane's on one node (it holds three times as many pods)"
						       : "each lane's on a node of its own");
	table(title, intro);
	for (int b = 0; b < nb; b++) {
		int from = b * B.bucket, to = from + B.bucket > B.pods ? B.pods : from + B.bucket;

		for (int l = 0; l < NLANES; l++)
			v[l] = n.lane[l] ? pct(&add[l], from, to, 0.5) : -1;
		snprintf(label, sizeof(label), "ADD, pods %d-%d", from + 1, to);
		row(label, v, MS);
	}
	for (int b = 0; b < nb; b++) {
		int from = b * B.bucket, to = from + B.bucket > B.pods ? B.pods : from + B.bucket;

		for (int l = 0; l < NLANES; l++)
			v[l] = n.lane[l] ? pct(&cpu[l], from, to, 0.5) : -1;
		snprintf(label, sizeof(label), "ADD CPU, pods %d-%d", from + 1, to);
		row(label, v, MS);
	}
	for (int b = 0; b < nb; b++) {
		int from = b * B.bucket, to = from + B.bucket > B.pods ? B.pods : from + B.bucket;

		for (int l = 0; l < NLANES; l++)
			v[l] = n.lane[l] ? pct(&del[l], from, to, 0.5) : -1;
		snprintf(label, sizeof(label), "DEL, pods %d-%d", from + 1, to);
		row(label, v, MS);
	}
	printf("\nErrors: ours %d, reference %d, %s %d.\n", errors[OURS], errors[REF], B.third, errors[FLOOR]);
	if (d->floor == FLOOR_NETAVARK && n.lane[FLOOR]) {
		int from = (nb - 1) * B.bucket;

		snprintf(label, sizeof(label), "pods %d-%d", from + 1, B.pods);
		targets(label, pct(&add[OURS], from, B.pods, 0.5), pct(&add[FLOOR], from, B.pods, 0.5),
			pct(&del[OURS], from, B.pods, 0.5), pct(&del[FLOOR], from, B.pods, 0.5));
	}
	for (int c = 0; c < 2 && n.lane[FLOOR] && d->floor != FLOOR_NETAVARK && nb > 1; c++) {
		const struct series *x = c ? cpu : add;

		for (int l = 0; l < NLANES; l++) {
			first[l] = pct(&x[l], 0, B.bucket, 0.5);
			last[l] = pct(&x[l], (nb - 1) * B.bucket, B.pods, 0.5);
		}
		printf("%s ADD above the floor, pods 1-%d → %d-%d: ours %.2f → %.2f ms (%.2f×), "
		       "reference %.2f → %.2f ms (%.2f×).\n", c ? "CPU of one" : "Wall of one", B.bucket,
		       (nb - 1) * B.bucket + 1, B.pods, first[OURS] - first[FLOOR], last[OURS] - last[FLOOR],
		       (last[OURS] - last[FLOOR]) / (first[OURS] - first[FLOOR]), first[REF] - first[FLOOR],
		       last[REF] - last[FLOOR], (last[REF] - last[FLOOR]) / (first[REF] - first[FLOOR]));
	}
	B.third = "floor";
	fflush(stdout);
	net_fini(&n);
	for (int l = 0; l < NLANES; l++) {
		free(add[l].v);
		free(cpu[l].v);
		free(del[l].v);
	}
}

static void scale(void)
{
	scale_one(&NET_BRM);
	scale_one(&NET_BR);
	scale_one(&NET_BRG);
	scale_one(&NET_PTP);
	for (int k = 0; k < 2; k++) {
		const struct netdef *d = k ? &NET_PODMAN : &NET_CHAIN;

		if (!listed(B.nets, d->key))
			continue;
		if (chain_present(d))
			scale_one(d);
		else
			printf("\n(Scale of %s skipped: a plugin of its chain is missing.)\n", d->label);
	}
}

/* BENCH_CONC_PODS ADDs of one lane, par at a time; total wall, per-ADD latencies, errors. */
static void conc_lane(struct net *n, struct pod *pods, int lane, int par, bool add, double *total,
		      struct series *lat, int *errors)
{
	struct job *jobs = xcalloc(par, sizeof(*jobs));
	int next = 0, running = 0;
	double t0 = now_ms();
	char what[96];

	while (next < B.conc_pods || running) {
		for (int k = 0; k < par && next < B.conc_pods; k++) {
			struct inv v;

			if (jobs[k].id)
				continue;
			char *conf = NULL;

			if (lane == FLOOR)
				inv_floor(&v, n, &pods[next], next, add);
			else {
				conf = add ? xstrdup(n->conf[lane]) : with_prev(n->conf[lane], pods[next].res[lane]);
				inv_cni(&v, lane_dir(lane), n->d->type, add ? "ADD" : "DEL", pods[next].cid[lane],
					pods[next].ns[lane], conf);
			}
			jobs[k].pod = next++;
			v.node = lane_node(lane);
			job_start(&jobs[k], &v);
			free(conf);
			running++;
		}
		struct sample s;
		unsigned int id = job_wait(&s);
		int k;

		for (k = 0; k < par && jobs[k].id != id; k++)
			;
		if (k == par)
			die("the zygote answered for an unknown job");
		jobs[k].s = s;
		snprintf(what, sizeof(what), "%s %s pod %d, %d parallel", lane_name[lane], add ? "ADD" : "DEL",
			 jobs[k].pod, par);
		job_collect(&jobs[k], what, lane == FLOOR || !add ? NULL : &pods[jobs[k].pod].res[lane]);
		series_add(lat, s.wall);
		*errors += !s.ok;
		jobs[k].id = 0;
		running--;
	}
	*total = now_ms() - t0;
	free(jobs);
}

static void concurrency(void)
{
	static const int pars[] = { 1, 2, 8, 16 };
	struct pod *pods = xcalloc(B.conc_pods, sizeof(*pods));
	double total[NLANES], p95[NLANES], errs[NLANES];
	struct series lat = { 0 };
	char title[128], label[96];
	struct net n;

	net_init(&n, &NET_BRM, true);
	snprintf(title, sizeof(title), "Concurrency: %d pods ADDed, bridge ipMasq", B.conc_pods);
	table(title, "All pods of one lane at a time with N invocations running at once (each pod's netns "
		     "made beforehand, the DELs after with as many at once, neither timed); total wall "
		     "time, p95 of one ADD, errors.");
	for (unsigned p = 0; p < sizeof(pars) / sizeof(pars[0]); p++) {
		int order[NLANES];

		fprintf(stderr, "bench: concurrency %d\n", pars[p]);
		settle();
		order_of((int)p, NLANES, order);
		for (int k = 0; k < NLANES; k++) {
			int l = order[k], errors = 0;
			double t;

			for (int i = 0; i < B.conc_pods; i++) {
				pod_init(&pods[i], &n, i);
				if (n.lane[l])
					netns_add(pods[i].ns[l]);
			}
			series_reset(&lat);
			conc_lane(&n, pods, l, pars[p], true, &total[l], &lat, &errors);
			p95[l] = pct(&lat, 0, lat.n, 0.95);
			errs[l] = errors;
			conc_lane(&n, pods, l, pars[p], false, &t, &lat, &errors);
			for (int i = 0; i < B.conc_pods; i++) {
				netns_del(pods[i].ns[l]);
				pod_free(&pods[i]);
			}
		}
		snprintf(label, sizeof(label), "%d parallel: all ADDs", pars[p]);
		row(label, total, MS);
		snprintf(label, sizeof(label), "%d parallel: p95 of one ADD", pars[p]);
		row(label, p95, MS);
		snprintf(label, sizeof(label), "%d parallel: errors", pars[p]);
		row(label, errs, COUNT);
		fflush(stdout);
	}
	net_fini(&n);
	free(lat.v);
	free(pods);
}

/* Leases as the reference writes them (the container ID, CRLF, the interface name), from the
 * start of the range on, so that the next free address lies behind all of them. */
static void leases_fill(const char *name, int octet, int count)
{
	char path[PATH_MAX], body[64];

	snprintf(path, sizeof(path), "/var/lib/cni/networks/%s", name);
	mkdir("/var/lib/cni/networks", 0755);
	mkdir(path, 0755);
	for (int i = 0; i < count; i++) {
		int fd, len = snprintf(body, sizeof(body), "bchlease%d\r\neth0", i);

		snprintf(path, sizeof(path), "/var/lib/cni/networks/%s/10.%d.%d.%d", name, octet, (i + 1) / 256,
			 (i + 1) % 256);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, body, len) != len)
			die("writing %s: %s", path, strerror(errno));
		close(fd);
	}
}

static void leases(void)
{
	const int counts[] = { 0, B.leases };
	struct series a[NLANES] = { 0 }, d[NLANES] = { 0 };
	double av[NLANES], dv[NLANES];
	char label[64];

	table("host-local with many leases",
	      "host-local run directly (IPAM only), ADD then DEL of one more container, BENCH_REPS times, "
	      "in a network already holding N leases (written as the reference writes them); one "
	      "untimed ADD+DEL first, since ours builds its index on the first call.");
	for (int c = 0; c < 2; c++) {
		struct net n;

		fprintf(stderr, "bench: host-local, %d leases\n", counts[c]);
		settle();
		net_init(&n, &NET_BR, false);
		for (int l = 0; l < NLANES; l++) {
			series_reset(&a[l]);
			series_reset(&d[l]);
			av[l] = dv[l] = -1;
		}
		for (int l = OURS; l <= REF; l++)
			leases_fill(n.name[l], n.octet[l], counts[c]);
		for (int i = -1; i < B.reps; i++)
			for (int k = 0; k < 2; k++) {
				int l = (i + k + 2) % 2;
				char cid[32];
				struct inv v;
				struct sample s;

				snprintf(cid, sizeof(cid), "bchhl%d", i + 1);
				inv_cni(&v, lane_dir(l), "host-local", "ADD", cid, "/run/netns/bchnone", n.conf[l]);
				s = run(&v, "host-local ADD", NULL);
				if (i >= 0)
					series_add(&a[l], s.wall);
				inv_cni(&v, lane_dir(l), "host-local", "DEL", cid, "/run/netns/bchnone", n.conf[l]);
				s = run(&v, "host-local DEL", NULL);
				if (i >= 0)
					series_add(&d[l], s.wall);
			}
		for (int l = OURS; l <= REF; l++) {
			av[l] = median(&a[l]);
			dv[l] = median(&d[l]);
		}
		snprintf(label, sizeof(label), "ADD, %d leases", counts[c]);
		row(label, av, MS);
		snprintf(label, sizeof(label), "DEL, %d leases", counts[c]);
		row(label, dv, MS);
		fflush(stdout);
	}
	for (int l = 0; l < NLANES; l++) {
		free(a[l].v);
		free(d[l].v);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: runner   (inside a throwaway node; hack/bench.sh sets it up)\n"
		"environment: CNIP_BIN (ours), REF_BIN (reference, /usr/lib/cni), BENCH_TOOLS (floor,\n"
		"  trivial, trivial-static), BENCH_PODS (1000), BENCH_BUCKET (100), BENCH_REPS (30;\n"
		"  10 below 1000 pods), BENCH_CONC_PODS (100; 25 below 1000 pods), BENCH_LEASES (10000),\n"
		"  BENCH_SETTLE (seconds to wait at most for an idle machine between phases, 60),\n"
		"  BENCH_PHASES (all, or a list of startup,sizes,latency,leases,concurrency,scale),\n"
		"  BENCH_NETS (all, or a list of loopback,bridge,bridge-garp,bridge-masq,ptp,ptp-dual,\n"
		"  portmap,podman: the networks the latency and scale phases run; bridge-garp is bridge\n"
		"  against a floor whose pod sends the gratuitous ARP the plugins' pods send),\n"
		"  BENCH_NODES (lane: each lane's plugins run in a node netns of the lane's own; shared:\n"
		"  all lanes in the runner's netns)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double load[3] = { 0 };

	if (argc > 1)
		usage();
	zygote_start();
	B.ours = env_str("CNIP_BIN", NULL);
	B.ref = env_str("REF_BIN", "/usr/lib/cni");
	B.tools = env_str("BENCH_TOOLS", NULL);
	B.phases = env_str("BENCH_PHASES", "all");
	B.nets = env_str("BENCH_NETS", "all");
	B.pods = env_int("BENCH_PODS", 1000);
	B.bucket = env_int("BENCH_BUCKET", 100);
	/* A quick run (fewer pods) is quick in every phase. */
	B.reps = env_int("BENCH_REPS", B.pods >= 1000 ? 30 : 10);
	B.conc_pods = env_int("BENCH_CONC_PODS", B.pods >= 1000 ? 100 : 25);
	B.leases = env_int("BENCH_LEASES", 10000);
	B.settle = env_int("BENCH_SETTLE", 60);
	B.shared_node = !strcmp(env_str("BENCH_NODES", "lane"), "shared");
	B.subnet_next = 100;
	if (!B.ours || !B.tools || B.pods < 1 || B.bucket < 1 || B.reps < 1 || B.conc_pods < 1 || B.leases < 0)
		usage();
	B.third = "floor";
	mkdir(NETAVARK_DIR, 0755);
	nodes_add();
	header();
	if (phase("startup"))
		startup();
	if (phase("sizes"))
		sizes();
	if (phase("latency"))
		latency();
	if (phase("leases"))
		leases();
	if (phase("concurrency"))
		concurrency();
	if (phase("scale"))
		scale();
	getloadavg(load, 3);
	printf("\nLoad average at the end: %.2f %.2f %.2f.\n", load[0], load[1], load[2]);
	if (B.busy > 0)
		printf("\n**The machine was %.0f%% busy with other work between phases: these figures are not "
		       "reliable.**\n", B.busy);
	return 0;
}
