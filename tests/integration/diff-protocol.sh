#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Differential test of the protocol skel: every case of the table runs against
# our plugin and Debian's reference (v1.1.1) on the same stdin and environment,
# and the two must agree on exit status, on the CNI error code, and on the
# result (jq -S), except where the table says how and why we differ on purpose
# (README "Protocol" and each plugin's "differently" list).
# loopback and host-local carry the skel (host-local is the one that reads CNI_ARGS).
# DQP_SHOW=1 prints both sides of every case.
source "$CNIP_TOP/tests/lib.sh"

NS=dqp-p1
NETNS=$(mkpod $NS)
DATA=$TMP/data		# host-local dataDir, one per side
mkdir -p "$DATA/ours" "$DATA/ref"
ncase=0 nfail=0

# side_run SIDE PLUGIN STDIN [VAR=VAL | -VAR ...]: runs one side with only the
# CNI environment given (env -i); "-VAR" removes VAR from the defaults, "@none"
# as STDIN gives the plugin an empty stdin. Sets S_RC and S_OUT (stdout).
side_run() {
	local side=$1 plugin=$2 in=$3 kv
	shift 3
	local -A env=([CNI_COMMAND]=ADD [CNI_CONTAINERID]=dqp-c1 [CNI_NETNS]=$NETNS
		[CNI_IFNAME]=eth0 [CNI_PATH]=/nonexistent)
	for kv in "$@"; do
		if [[ $kv == -* ]]; then unset "env[${kv#-}]"; else env[${kv%%=*}]=${kv#*=}; fi
	done
	local args=() k bin=$CNIP_BIN/$plugin
	for k in "${!env[@]}"; do args+=("$k=${env[$k]}"); done
	[ "$side" = ours ] || bin=$REF_BIN/$plugin
	# Each side and case gets its own lease directory (DQP_DIR names one that
# several cases share): cases stay independent.
	in=${in//@DATA/$DATA/$side/${DQP_DIR:-$ncase}}
	set +e
	if [ "$in" = @none ]; then
		S_OUT=$(env -i "${args[@]}" "$bin" </dev/null 2>"$TMP/stderr.$side")
	else
		S_OUT=$(printf '%s' "$in" | env -i "${args[@]}" "$bin" 2>"$TMP/stderr.$side")
	fi
	S_RC=$?
	set -e
}

# summary: "ok <jq -S -c of stdout, or empty>" or "E<code>" or "rc=N <raw>".
summary() {
	if [ "$S_RC" = 0 ]; then
		if [ -z "$S_OUT" ]; then echo "ok"; else echo "ok $(echo "$S_OUT" | jq -S -c . 2>/dev/null || echo "BADJSON $S_OUT")"; fi
	elif [ "$S_RC" = 1 ] && code=$(echo "$S_OUT" | jq -e -r '.code' 2>/dev/null); then
		echo "E$code"
	else
		echo "rc=$S_RC $S_OUT"
	fi
}

# t EXPECT PLUGIN STDIN [VAR=VAL | -VAR ...]
#   EXPECT "same": both sides print the same summary (result, or error code);
#   alternatives are separated by "|".
#   EXPECT "E<ours>/E<ref>": both fail, with these codes (ours the more precise one).
#   EXPECT "<ours>/<ref>" with "ok" on either side: an intended difference; the
#   table line must carry a comment saying why. Either side may be a pattern
#   ("E*": any error code).
# Our error JSON must always carry a cniVersion (the reference's often does not).
t() {
	local expect=$1 plugin=$2 in=$3 a b ma mb want
	shift 3
	ncase=$((ncase + 1))
	side_run ours "$plugin" "$in" "$@"
	a=$(summary)
	ma=$(echo "$S_OUT" | jq -r '.msg? // empty' 2>/dev/null || true)
	if [ "$S_RC" != 0 ] && ! echo "$S_OUT" | jq -e '.cniVersion | type == "string"' >/dev/null 2>&1; then
		a="$a(no cniVersion)"
	fi
	side_run ref "$plugin" "$in" "$@"
	b=$(summary)
	mb=$(echo "$S_OUT" | jq -r '.msg? // empty' 2>/dev/null || true)
	[ -z "${DQP_SHOW:-}" ] || printf 'case %d: %s %s %s\n  ours %s %s\n  ref  %s %s\n' "$ncase" "$plugin" "$in" "$*" "$a" "$ma" "$b" "$mb"
	local alt alts
	IFS='|' read -r -a alts <<<"$expect"
	for alt in "${alts[@]}"; do
		if [ "$alt" = same ]; then
			[ "$a" = "$b" ] && return 0
		else
			# shellcheck disable=SC2053 # a pattern: E? means any code
			[[ "${a%% *}/${b%% *}" == $alt ]] && return 0
		fi
	done
	want=$expect
	nfail=$((nfail + 1))
	printf 'MISMATCH case %d (%s, want %s): %s stdin=%s env: %s\n  ours: %s %s\n  ref:  %s %s\n' \
		"$ncase" "$plugin" "$want" "$plugin" "$in" "$*" "$a" "$ma" "$b" "$mb" >&2
}

L10='{"cniVersion":"1.0.0","name":"dqpnet","type":"loopback"}'
L04='{"cniVersion":"0.4.0","name":"dqpnet","type":"loopback"}'
L11='{"cniVersion":"1.1.0","name":"dqpnet","type":"loopback"}'
H10='{"cniVersion":"1.0.0","name":"dqpnet","type":"host-local","ipam":{"type":"host-local","subnet":"10.77.0.0/24","dataDir":"@DATA"}}'
lo() { printf '{"cniVersion":"1.0.0","name":"dqpnet","type":"loopback"%s}' "${1:+,$1}"; }
H11=${H10/1.0.0/1.1.0}
# VERSION: the reference answers "cniVersion":"1.0.0" (its newest) whatever it is
# asked; we echo the input's version when we speak it (0.1.0 for ""), else our
# newest (DESIGN.md 1; libcni reads either). supportedVersions: the
# reference's plus 1.1.0, which we also speak (STATUS, GC).
vt() {
	local in=$1 a b
	shift
	ncase=$((ncase + 1))
	side_run ours loopback "$in" CNI_COMMAND=VERSION "$@"
	a=$(summary)
	side_run ref loopback "$in" CNI_COMMAND=VERSION "$@"
	b=$(summary)
	[ -z "${DQP_SHOW:-}" ] || printf 'case %d: VERSION %s %s\n  ours %s\n  ref  %s\n' "$ncase" "$in" "$*" "$a" "$b"
	local v
	v=$(echo "$in" | jq -r 'if type == "object" and (.cniVersion | type) == "string" then .cniVersion else "x" end' 2>/dev/null) || v=x
	[ -n "$in" ] && [ "$in" != @none ] || v=x
	case $v in "") v=0.1.0 ;; 0.1.0 | 0.2.0 | 0.3.0 | 0.3.1 | 0.4.0 | 1.0.0 | 1.1.0) ;; *) v=1.1.0 ;; esac
	local want=${b//\"1.0.0\"\]/\"1.0.0\",\"1.1.0\"\]}
	want=${want/\{\"cniVersion\":\"1.0.0\"/\{\"cniVersion\":\"$v\"}
	[ "$b" = 'ok {"cniVersion":"1.0.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0"]}' ] &&
		[ "$a" = "$want" ] && return 0
	nfail=$((nfail + 1))
	printf 'MISMATCH case %d (VERSION, want %s): stdin=%s env: %s\n  ours: %s\n  ref:  %s\n' \
		"$ncase" "$want" "$in" "$*" "$a" "$b" >&2
}

note "CNI_COMMAND: every verb, lower case, unknown"
t E105/E999 loopback "$L10" CNI_COMMAND=CHECK	# lo still down: both refuse
t same loopback "$L10" CNI_COMMAND=ADD
t same loopback "$L10" CNI_COMMAND=CHECK
t same loopback "$L04" CNI_COMMAND=CHECK
t same loopback "$L10" CNI_COMMAND=DEL
t same loopback "$L10" CNI_COMMAND=DEL
t same loopback '{"cniVersion":"0.3.1","name":"dqpnet","type":"loopback"}' CNI_COMMAND=CHECK	# CHECK needs 0.4.0
for cmd in add del check version status gc Add FOO ' ADD' 'ADD '; do
	t same loopback "$L10" "CNI_COMMAND=$cmd"
done
# STATUS and GC are CNI 1.1 verbs, which the reference (spec 1.0.0) does not
# know: we want a 1.1.0 config for them (code 1 below it) and implement them.
t E1/E4 loopback "$L10" CNI_COMMAND=STATUS
t E1/E4 loopback "$L10" CNI_COMMAND=GC
t ok/E4 loopback "$L11" CNI_COMMAND=STATUS
t ok/E4 loopback "$L11" CNI_COMMAND=GC
t ok/E4 host-local "$H11" CNI_COMMAND=STATUS
t ok/E4 host-local "$H11" CNI_COMMAND=GC
# cniVersion 1.1.0 is ours only (README: Protocol).
t ok/E1 loopback "$L11" CNI_COMMAND=ADD
t ok/E1 loopback "$L11" CNI_COMMAND=DEL
vt "$L10"
t same loopback "$L10" CNI_COMMAND=	# about line on stderr, exit 0
t same loopback "$L10" -CNI_COMMAND

note "each missing or empty variable, per verb"
for cmd in ADD DEL CHECK; do
	for v in CNI_CONTAINERID CNI_NETNS CNI_IFNAME CNI_PATH; do
		t same loopback "$L10" CNI_COMMAND=$cmd -$v
		t same loopback "$L10" CNI_COMMAND=$cmd $v=
		t same host-local "$H10" CNI_COMMAND=$cmd -$v
		t same host-local "$H10" CNI_COMMAND=$cmd $v=
	done
done
# STATUS and GC need only CNI_PATH (spec 1.1); the reference does not know them
# (it asks for a container id first: code 3).
for cmd in STATUS GC; do
	for v in CNI_CONTAINERID CNI_NETNS CNI_IFNAME; do
		t 'ok/E[34]' loopback "$L11" CNI_COMMAND=$cmd -$v
		t 'ok/E[34]' host-local "$H11" CNI_COMMAND=$cmd $v=
	done
	t E4/E4 loopback "$L11" CNI_COMMAND=$cmd -CNI_PATH
	t E4/E4 host-local "$H11" CNI_COMMAND=$cmd CNI_PATH=
done
for v in CNI_CONTAINERID CNI_NETNS CNI_IFNAME CNI_PATH; do
	vt "$L10" -$v
	vt "$L10" $v=
done

note "CNI_IFNAME edges"
for ifn in 123456789012345 1234567890123456 . .. a/b a:b 'a b' "$(printf 'a\tb')" eth0. ' ' '-' 'é'; do
	t same loopback "$L10" "CNI_IFNAME=$ifn"
	t same host-local "$H10" "CNI_IFNAME=$ifn"
	t same host-local "$H10" CNI_COMMAND=DEL "CNI_IFNAME=$ifn"
done

note "CNI_CONTAINERID edges"
for id in a 0 _a .a -a a_b.c-D 'a b' a/b a:b 'a;b' 'é' "$(printf '%0300d' 0)"; do
	t same loopback "$L10" "CNI_CONTAINERID=$id"
	t same host-local "$H10" "CNI_CONTAINERID=$id"
	t same host-local "$H10" CNI_COMMAND=DEL "CNI_CONTAINERID=$id"
done

note "CNI_ARGS forms: host-local parses them as the reference's LoadArgs; loopback never reads them"
# The reference says 999 for every CNI_ARGS error; we say 4 (invalid environment).
for a in 'IgnoreUnknown=1;' ';' ';;' 'IgnoreUnknown=1;;K=V' 'K=V=W' 'IgnoreUnknown=1;K=V=W' 'IP=10.77.0.9=1' 'K=' 'IgnoreUnknown=1;K=' \
	'=V' 'K' 'IgnoreUnknown=1;K' 'IgnoreUnknown=1;FOO=bar' 'IgnoreUnknown=true;FOO=bar' 'IgnoreUnknown=TRUE;FOO=bar' \
	'IgnoreUnknown=True;FOO=bar' 'IgnoreUnknown=0;FOO=bar' 'IgnoreUnknown=false;FOO=bar' 'IgnoreUnknown=yes;FOO=bar' \
	'IgnoreUnknown=' 'IgnoreUnknown=1' 'FOO=bar' 'ignoreunknown=1;FOO=bar' 'IP=10.77.0.9' 'IP=' \
	'IgnoreUnknown=1;K8S_POD_NAME=p;K8S_POD_NAMESPACE=n;K8S_POD_INFRA_CONTAINER_ID=x;K8S_POD_UID=u'; do
	DQP_DIR=args$ncase
	for cmd in ADD CHECK DEL CHECK; do
		t 'same|E4/E999|E105/E999' host-local "$H10" "CNI_ARGS=$a" CNI_COMMAND=$cmd
	done
	unset DQP_DIR
	t same loopback "$L10" "CNI_ARGS=$a"
	t same loopback "$L10" "CNI_ARGS=$a" CNI_COMMAND=DEL
done
# A requested address outside the ranges is a config error (7); the reference says 999.
t E7/E999 host-local "$H10" CNI_ARGS=IP=10.99.0.9
# Not ours to judge on DEL: a malformed requested IP does not block the release
# of the lease (the reference's DEL fails, and the pod's lease leaks).
DQP_DIR=ipnonsense t same host-local "$H10" CNI_ARGS=IP=10.77.0.9
DQP_DIR=ipnonsense t ok/E999 host-local "$H10" CNI_ARGS=IP=nonsense CNI_COMMAND=DEL
[ ! -e "$DATA/ours/ipnonsense/dqpnet/10.77.0.9" ] || fail "DEL with IP=nonsense kept the lease"
# An empty key is refused even with IgnoreUnknown (the reference lets "=V" through).
t E4/ok host-local "$H10" 'CNI_ARGS=IgnoreUnknown=1;=V'
t same loopback "$L10" 'CNI_ARGS=IgnoreUnknown=1;=V'

note "cniVersion"
for v in '"0.3.0"' '"1.0.0"' '""' '"1.1"' '"v1.0.0"' '"1.0"' '"2.0.0"' '"1.0.0 "' '"0.4"' 1 1.0 null true '{}' '[]'; do
	t same loopback "{\"cniVersion\":$v,\"name\":\"dqpnet\",\"type\":\"loopback\"}" CNI_COMMAND=DEL
	vt "{\"cniVersion\":$v}"
done
for v in '"1.0.0"' '""' '"1.1"' '"v1.0.0"' '"1.0"' '"2.0.0"' '"1.0.0 "' '"0.4"' 1 1.0 null true '{}' '[]'; do
	t same loopback "{\"cniVersion\":$v,\"name\":\"dqpnet\",\"type\":\"loopback\"}"
	t same host-local "{\"cniVersion\":$v,\"name\":\"dqpnet\",\"ipam\":{\"subnet\":\"10.77.0.0/24\",\"dataDir\":\"@DATA\"}}"
done
for v in 0.3.0 0.3.1 0.4.0; do
	# The reference's loopback labels its 1.0.0 result with the older version
	# and so drops ips[].version, which 0.3.x/0.4.0 require; we print the
	# version's own layout (host-local, which converts, agrees with us).
	t 'ok/ok' loopback "{\"cniVersion\":\"$v\",\"name\":\"dqpnet\",\"type\":\"loopback\"}"
	side_run ours loopback "{\"cniVersion\":\"$v\",\"name\":\"dqpnet\",\"type\":\"loopback\"}"
	jq_ok "$S_OUT" '[.ips[].version] == ["4","6"]'
	t same host-local "{\"cniVersion\":\"$v\",\"name\":\"dqpnet\",\"ipam\":{\"subnet\":\"10.77.0.0/24\",\"dataDir\":\"@DATA\"}}"
done
for v in 0.1.0 0.2.0; do
	# README loopback: the reference prints the 0.3 layout labelled 0.1.0/0.2.0.
	t 'ok/ok' loopback "{\"cniVersion\":\"$v\",\"name\":\"dqpnet\",\"type\":\"loopback\"}"
	t same host-local "{\"cniVersion\":\"$v\",\"name\":\"dqpnet\",\"ipam\":{\"subnet\":\"10.77.0.0/24\",\"dataDir\":\"@DATA\"}}"
done
t same loopback '{"name":"dqpnet","type":"loopback"}'
t same loopback '{"name":"dqpnet","type":"loopback"}' CNI_COMMAND=DEL
t same host-local '{"name":"dqpnet","ipam":{"subnet":"10.77.0.0/24","dataDir":"@DATA"}}'
for in in '{}' @none '' '{"cniVersion":"0.4.0","name":"x"}' 'garbage' '{"cniVersion":"9.9.9"}' '{"cniVersion":"1.1.0"}' \
	'{"cniVersion":"0.1.0"}' '{"cniVersion":"0.2.0"}' '{"cniVersion":"0.3.1"}' '[]' 'null' '{"cniVersion":"1.0.0"} x'; do
	vt "$in"
done

note "name and type"
for n in '' '"dqpnet"' '""' '"-x"' '"_x"' '"a b"' '"a/b"' '"a.b_c-D"' '"."' '".."' 1 null '"é"'; do
	t same loopback "{\"cniVersion\":\"1.0.0\"${n:+,\"name\":$n},\"type\":\"loopback\"}"
	t same loopback "{\"cniVersion\":\"1.0.0\"${n:+,\"name\":$n},\"type\":\"loopback\"}" CNI_COMMAND=DEL
	t 'same|E6/E999' host-local "{\"cniVersion\":\"1.0.0\"${n:+,\"name\":$n},\"ipam\":{\"subnet\":\"10.77.0.0/24\",\"dataDir\":\"@DATA\"}}"
done
t same loopback '{"cniVersion":"1.0.0","name":"dqpnet"}'
t same loopback '{"cniVersion":"1.0.0","name":"dqpnet","type":""}'
# A wrongly typed key: 6 (decode error), the reference 999.
t E6/E999 loopback '{"cniVersion":"1.0.0","name":"dqpnet","type":1}'
t E6/E999 host-local '{"cniVersion":"1.0.0","name":"dqpnet","ipam":{"subnet":"10.77.0.0/24","dataDir":"@DATA"},"args":1}'
t E6/E999 host-local '{"cniVersion":"1.0.0","name":"dqpnet","ipam":{"subnet":"10.77.0.0/24","dataDir":"@DATA"},"runtimeConfig":"x"}'
# Our config parser types the well-known keys for every plugin; the reference's
# loopback does not read "args" and "runtimeConfig", so it lets them pass.
t E6/ok loopback '{"cniVersion":"1.0.0","name":"dqpnet","type":"loopback","args":1}'
t E6/ok loopback '{"cniVersion":"1.0.0","name":"dqpnet","type":"loopback","runtimeConfig":"x"}'
t E6/E999 loopback '{"cniVersion":"1.0.0","name":"dqpnet","type":"loopback","dns":[]}'
t E6/E999 host-local '{"cniVersion":"1.0.0","name":"dqpnet","ipam":[]}'
t same loopback '{"cniVersion":"1.0.0","name":"dqpnet","type":"loopback","unknownKey":[1,{"a":null}]}'

note "malformed stdin"
for in in '{"cniVersion":"1.0.0","name":' 'garbage' '' @none '[]' '[1]' '"str"' 42 \
	"$L10 x" "$L10 {}" "$L10$L10" " $L10 " "$(printf '%s\n\n' "$L10")" '{"cniVersion":"1.0.0","name":"dqpnet","type":"loopback",}' \
	'{"cniVersion":"1.0.0","name":"dqp\u006eet","type":"loopback"}'; do
	t same loopback "$in"
	t same loopback "$in" CNI_COMMAND=DEL
done
# A UTF-8 byte order mark: cJSON skips it, Go refuses it (libcni refuses such a
# file before any plugin runs, so no runtime sends one).
t ok/E6 loopback "$(printf '\xef\xbb\xbf%s' "$L10")"
# JSON null is no network config: 6 (decode); the reference reads it as an
# empty object and misses the name (7).
t E6/E7 loopback 'null'
t E6/E7 loopback 'null' CNI_COMMAND=DEL

note "duplicate keys and key case: Go's decoder matches case-insensitively, the last match wins"
t same loopback '{"cniVersion":"0.4.0","cniVersion":"1.0.0","name":"dqpnet","type":"loopback"}'
t same loopback '{"cniVersion":"1.0.0","cniVersion":"0.9.0","name":"dqpnet","type":"loopback"}'
t same loopback '{"CNIVersion":"1.0.0","name":"dqpnet","type":"loopback"}'
t same loopback '{"cniversion":"1.0.0","name":"dqpnet","type":"loopback"}'
t same loopback '{"cniVersion":"0.4.0","CNIVERSION":"1.0.0","name":"dqpnet","type":"loopback"}'
t same loopback '{"CNIVERSION":"0.4.0","cniVersion":"1.0.0","name":"dqpnet","type":"loopback"}'
t same loopback '{"cniVersion":"1.0.0","NAME":"dqpnet","type":"loopback"}'
t same loopback '{"cniVersion":"1.0.0","name":"dqpnet","Name":"-bad","type":"loopback"}'
t same loopback '{"cniVersion":"1.0.0","name":"-bad","Name":"dqpnet","type":"loopback"}'
t same loopback '{"cniVersion":"1.0.0","name":"dqpnet","name":"","type":"loopback"}'
t same loopback '{"cniVersion":"1.0.0","name":"dqpnet","type":"loopback","PrevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.77.2.2/24"}]}}'
t same host-local '{"cniVersion":"1.0.0","name":"dqpnet","IPAM":{"Subnet":"10.77.0.0/24","DataDir":"@DATA"}}'
t same host-local '{"cniVersion":"1.0.0","name":"dqpnet","ipam":{"subnet":"10.77.9.0/24","subnet":"10.77.0.0/24","dataDir":"@DATA"}}'

note "prevResult in every form; chained loopback passes it through"
P020='{"cniVersion":"0.2.0","ip4":{"ip":"10.77.1.5/24","gateway":"10.77.1.1","routes":[{"dst":"0.0.0.0/0"}]},"ip6":{"ip":"fd77::5/64"},"dns":{"nameservers":["10.77.1.53"]}}'
P031='{"cniVersion":"0.3.1","interfaces":[{"name":"eth0","mac":"0a:00:00:00:00:01","sandbox":"/run/netns/dqp-p1"}],"ips":[{"version":"4","interface":0,"address":"10.77.1.5/24","gateway":"10.77.1.1"},{"version":"6","address":"fd77::5/64"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.77.1.1"}],"dns":{"nameservers":["10.77.1.53"],"domain":"d","search":["s"],"options":["o"]}}'
P040=${P031/0.3.1/0.4.0}
P100='{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"0a:00:00:00:00:01","sandbox":"/run/netns/dqp-p1"},{"name":"veth1"}],"ips":[{"interface":0,"address":"10.77.1.5/24","gateway":"10.77.1.1"},{"interface":1,"address":"fd77::5/64"}],"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0","gw":"fd77::1"}],"dns":{}}'
lp() { printf '{"cniVersion":"%s","name":"dqpnet","type":"loopback","prevResult":%s}' "$1" "$2"; }
# Same version on both sides of the chain (what libcni sends): identical.
t same loopback "$(lp 1.0.0 "$P100")"
t same loopback "$(lp 0.3.1 "$P031")"
t same loopback "$(lp 0.4.0 "$P040")"
t same loopback "$(lp 0.2.0 "$P020")"
t same loopback "$(lp 1.0.0 "$P100")" CNI_COMMAND=CHECK
t same loopback "$(lp 0.4.0 "$P040")" CNI_COMMAND=CHECK
t same loopback "$(lp 1.0.0 "$P100")" CNI_COMMAND=DEL
t same loopback "$(lp 1.0.0 '{"cniVersion":"1.0.0"}')"
t same loopback "$(lp 1.0.0 '{"cniVersion":"1.0.0","ips":[]}')"
# Another version: we convert it to the config's (DESIGN.md 1), the reference
# refuses ("result type supports [1.0.0] but unmarshalled CNIVersion is ...").
for pv in "$P020" "$P031" "$P040" "$P100"; do
	for v in 1.0.0 0.4.0; do
		[ "$(echo "$pv" | jq -r .cniVersion)" = "$v" ] && continue
		t 'same|ok/E999' loopback "$(lp $v "$pv")"	# 0.3.x and 0.4.0 share the reference's parser
		side_run ours loopback "$(lp $v "$pv")"
		want=$(echo "$pv" | jq -S -c --arg v "$v" '
			if .cniVersion == "0.2.0" then
				{cniVersion: $v, dns, ips: [(.ip4 | {address: .ip, gateway}), (.ip6 | {address: .ip})],
				 routes: [.ip4.routes[] | {dst}]}
			else . + {cniVersion: $v} | .ips |= map(del(.version)) end
			| if $v == "0.4.0" then .ips |= map(. + {version: (if (.address | test(":")) then "6" else "4" end)}) else . end
			| del(..|nulls)')
		assert_eq "$(echo "$S_OUT" | jq -S -c 'del(..|nulls)')" "$want" "prevResult $pv converted to $v"
	done
done
t E1/E999 loopback "$(lp 0.2.0 "$P100" | jq -c '.prevResult.ips = []')"	# nothing a 0.2.0 result can say
# We read a prevResult by its shape, whatever its label says (result.c).
t ok/E999 loopback "$(lp 1.0.0 '{"cniVersion":"7.0.0"}')"
t same loopback "$(lp 1.0.0 '{}')"
t same loopback "$(lp 0.4.0 '{}')"
# prevResult without cniVersion: read in the config's version. The reference
# then prints an empty "version" in 0.4.0 ips[]; we name the family.
t ok/ok loopback "$(lp 0.4.0 '{"ips":[{"address":"10.77.1.5/24"}]}')"
side_run ours loopback "$(lp 0.4.0 '{"ips":[{"address":"10.77.1.5/24"}]}')"
jq_ok "$S_OUT" '.ips == [{"version":"4","address":"10.77.1.5/24"}]'
t same loopback "$(lp 1.0.0 '{"ips":[{"address":"10.77.1.5/24"}]}')"
t same loopback "$(lp 1.0.0 null)"
t E6/E999 loopback "$(lp 1.0.0 '"x"')"
t E6/E999 loopback "$(lp 1.0.0 '[]')"

echo "$ncase cases, $nfail mismatches"
[ "$nfail" -eq 0 ] || fail "$nfail of $ncase cases differ from the reference"
