#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What an ADD costs on a node full of pods: in a throwaway node namespace,
# bridge (ipMasq) and ptp ADDs of one or two plugin builds, interleaved ADD by
# ADD, first with few netns on the node, then after filling it with NPODS pods
# (each in its own netns). Prints the median wall and CPU time (user+system of
# the plugin and its IPAM child) per lane, then for each build the files an
# ADD opens under /proc/sys (strace) and the top of a `perf record -g` of 10
# bridge ADDs at NPODS. Numbers, not assertions.
#   hack/netns-scale.sh DIR [DIR2] [NPODS]   (DIR: a directory of our plugins; NPODS default 600)
set -euo pipefail
A=$(realpath "$1"); B=${2:+$(realpath "$2")}; NP=${3:-600}
if [ "${SCALE_INSIDE:-}" != 1 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "netns-scale: needs root" >&2; exit 1; }
	"$(dirname "$0")/deps.sh"
	exec env SCALE_INSIDE=1 unshare --net --mount --propagation private -- "$0" "$@"
fi
for d in /run/netns /var/lib/cni; do mount -t tmpfs netns-scale $d; done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# fork/exec/wait4 runner: "wall_ms cpu_ms exit" without a shell's own cost in the figures
cat >$W/run1.c <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
int main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	int st;
	pid_t p;

	clock_gettime(CLOCK_MONOTONIC, &a);
	p = fork();
	if (!p) {
		dup2(open(argv[1], O_RDONLY), 0);
		dup2(open("/dev/null", O_WRONLY), 1);
		execv(argv[2], argv + 2);
		_exit(127);
	}
	wait4(p, &st, 0, &ru);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f %.3f %d\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6,
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3, WIFEXITED(st) ? WEXITSTATUS(st) : 128);
	return 0;
}
C
cc -O2 -o $W/run1 $W/run1.c
ip link set lo up
# An uplink with a default route, as a node has.
ip link add nsc-up type veth peer name nsc-up1
ip link set nsc-up up
ip addr add 192.0.2.1/24 dev nsc-up
ip route add default via 192.0.2.254 dev nsc-up
echo '{"cniVersion":"1.0.0","name":"nscbr","type":"bridge","bridge":"nscbr0","isGateway":true,"ipMasq":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.88.0.0/16"}]]}}' >$W/bridge.json
echo '{"cniVersion":"1.0.0","name":"nscptp","type":"ptp","ipam":{"type":"host-local","ranges":[[{"subnet":"10.99.0.0/16"}]]}}' >$W/ptp.json
seq=0
add() { # dir plugin -> "wall cpu exit"
	seq=$((seq + 1))
	ip netns add nsc-$seq
	CNI_COMMAND=ADD CNI_CONTAINERID=nsc-$seq CNI_NETNS=/run/netns/nsc-$seq CNI_IFNAME=eth0 CNI_PATH=$1 \
		$W/run1 $W/$2.json "$1/$2"
}
med() { sort -n | awk '{a[NR]=$1} END {printf "%7.2f", a[int((NR+1)/2)]}'; }
lane() { # tag plugin n
	local dirs=($A $B) i j
	for j in "${!dirs[@]}"; do : >$W/lane.$j; done
	for ((i = 0; i < $3; i++)); do
		for j in "${!dirs[@]}"; do add "${dirs[$j]}" $2 >>$W/lane.$j; done
	done
	for j in "${!dirs[@]}"; do
		awk '$3 != 0 {bad++} END {if (bad) print "  " bad " ADDs FAILED"}' $W/lane.$j
		printf '%-12s %-28s wall %s  cpu %s ms (medians of %d)\n' "$1" "${dirs[$j]}" \
			"$(awk '{print $1}' $W/lane.$j | med)" "$(awk '{print $2}' $W/lane.$j | med)" "$3"
	done
}
lane bridge-low bridge 40
lane ptp-low ptp 40
n=$(ls /run/netns | wc -l)
while [ "$n" -lt "$NP" ]; do add $A bridge >/dev/null; n=$((n + 1)); done
echo "netns on the node: $(ls /run/netns | wc -l)"
lane bridge-high bridge 30
lane ptp-high ptp 30
for d in $A $B; do
	for p in bridge ptp; do
		seq=$((seq + 1)); ip netns add nsc-$seq
		CNI_COMMAND=ADD CNI_CONTAINERID=nsc-$seq CNI_NETNS=/run/netns/nsc-$seq CNI_IFNAME=eth0 CNI_PATH=$d \
			strace -f -e trace=openat -o $W/strace.txt "$d/$p" <$W/$p.json >/dev/null
		echo "$d/$p ADD opens under /proc/sys:"
		grep -o '"/proc/sys/[^"]*", O_[A-Z_|]*' $W/strace.txt | sed 's/^/    /' || echo "    nothing"
	done
	for i in $(seq 1 10); do ip netns add nsc-pf$i; done
	perf record -q -g -o $W/perf.data -- bash -c "for i in \$(seq 1 10); do CNI_COMMAND=ADD \
		CNI_CONTAINERID=nsc-pf\$i CNI_NETNS=/run/netns/nsc-pf\$i CNI_IFNAME=eth0 CNI_PATH=$d \
		$d/bridge <$W/bridge.json >/dev/null; done" 2>/dev/null
	echo "$d/bridge: top of perf record -g, 10 ADDs at $NP netns (self time, the plugin's process):"
	perf report -i $W/perf.data --no-children --sort sym --comm bridge --stdio -g none 2>/dev/null |
		grep '%' | grep -v '^#' | head -8 | sed 's/^/    /'
	for i in $(seq 1 10); do ip netns del nsc-pf$i; done
done
