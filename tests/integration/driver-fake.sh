#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# hack/cnictl against recording fake plugins: what each plugin of a chain
# gets on stdin and in its environment for ADD, CHECK, DEL, GC and STATUS
# (name/cniVersion/prevResult/runtimeConfig injection, order, the libcni
# cache file), and how errors come back.
source "$CNIP_TOP/tests/lib.sh"
CNICTL=$CNIP_TOP/hack/cnictl
FAKE=$TMP/fakebin
LOGD=$TMP/calls
mkdir -p "$FAKE" "$LOGD"
export E2E_REC_LOG=$LOGD CNI_PATH=$FAKE CNI_CACHE_DIR=$TMP/cache

# A plugin that records stdin and CNI_* env, appends itself to the result,
# and fails with code .fail when its config asks.
cat >"$FAKE/e2e-rec" <<'EOF'
#!/bin/bash
me=$(basename "$0")
conf=$(cat)
n=$(($(cat "$E2E_REC_LOG/seq" 2>/dev/null || echo 0) + 1))
echo "$n" >"$E2E_REC_LOG/seq"
f=$(printf '%s/%03d-%s-%s' "$E2E_REC_LOG" "$n" "$CNI_COMMAND" "$me")
printf '%s' "$conf" >"$f.json"
env | grep '^CNI_' | sort >"$f.env"
if [ "$CNI_COMMAND" = VERSION ]; then
	echo '{"cniVersion":"1.1.0","supportedVersions":["0.3.1","0.4.0","1.0.0","1.1.0"]}'
	exit 0
fi
code=$(jq -r --arg c "$CNI_COMMAND" 'if (.failOn // "ADD") == $c then (.fail // empty) else empty end' <<<"$conf")
if [ -n "$code" ]; then
	jq -cn --argjson c "$code" --arg v "$(jq -r .cniVersion <<<"$conf")" \
		'{cniVersion: $v, code: $c, msg: "fake failure", details: "asked to"}'
	exit 1
fi
[ "$CNI_COMMAND" = ADD ] || exit 0
jq -c --arg me "$me" '(.prevResult // {cniVersion: .cniVersion, interfaces: [], ips: []})
	| .interfaces += [{name: $me}]' <<<"$conf"
EOF
chmod +x "$FAKE/e2e-rec"
ln -s e2e-rec "$FAKE/e2e-a"
ln -s e2e-rec "$FAKE/e2e-b"

calls() { find "$LOGD" -name '*.json' -printf '%f\n' | sort | sed 's/^[0-9]*-//; s/\.json$//' | paste -sd' '; }
call() { cat "$(find "$LOGD" -name "*-$1.json" | sort | sed -n "${2:-1}p")"; }
callenv() { cat "$(find "$LOGD" -name "*-$1.env" | sort | sed -n "${2:-1}p")"; }
reset_calls() { rm -f "$LOGD"/*; }
cnictl_run() {
	set +e
	OUT=$("$CNICTL" "$@" 2>"$TMP/cnictl.err")
	RC=$?
	set -e
}

cat >"$TMP/net.conflist" <<'EOF'
{"cniVersion": "1.0.0", "name": "e2efake", "plugins": [
  {"type": "e2e-a", "capabilities": {"portMappings": true, "mac": true, "ips": false}, "a": 1},
  {"type": "e2e-b", "b": 2}]}
EOF
NETNS=$(mkpod e2efp1)
CAPS='{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"bandwidth":{"ingressRate":1},"ips":["10.1.2.3/24"]}'

note "ADD"
cnictl_run add "$TMP/net.conflist" "$NETNS" --id e2ecid1 --ifname eth1 \
	--args 'K8S_POD_NAME=x;IgnoreUnknown=1' --cap-args "$CAPS"
[ "$RC" -eq 0 ] || fail "ADD exited $RC: $OUT $(cat "$TMP/cnictl.err")"
assert_eq "$(calls)" "ADD-e2e-a ADD-e2e-b" "ADD order"
a=$(call ADD-e2e-a)
jq_ok "$a" '.name == "e2efake" and .cniVersion == "1.0.0" and (has("prevResult") | not) and .a == 1'
jq_ok "$a" '.runtimeConfig == {portMappings: [{hostPort: 8080, containerPort: 80, protocol: "tcp"}]}' \
	"runtimeConfig must hold only capabilities the plugin enables and the runtime gave"
env_a=$(callenv ADD-e2e-a)
for kv in CNI_COMMAND=ADD CNI_CONTAINERID=e2ecid1 "CNI_NETNS=$NETNS" CNI_IFNAME=eth1 \
	'CNI_ARGS=K8S_POD_NAME=x;IgnoreUnknown=1' "CNI_PATH=$FAKE"; do
	grep -qxF "$kv" <<<"$env_a" || fail "plugin env lacks $kv: $env_a"
done
b=$(call ADD-e2e-b)
jq_ok "$b" '(has("runtimeConfig") | not) and .prevResult.interfaces == [{name: "e2e-a"}] and .b == 2'
jq_ok "$OUT" '.interfaces == [{name: "e2e-a"}, {name: "e2e-b"}] and .cniVersion == "1.0.0"' "final result"
cache=$TMP/cache/results/e2efake-e2ecid1-eth1
[ -f "$cache" ] || fail "no cache file $cache"
c=$(cat "$cache")
jq_ok "$c" '.kind == "cniCacheV1" and .containerId == "e2ecid1" and .ifName == "eth1" and .networkName == "e2efake"'
jq_ok "$c" ".netns == \"$NETNS\" and .cniArgs == [[\"K8S_POD_NAME\",\"x\"],[\"IgnoreUnknown\",\"1\"]]"
jq_ok "$c" ".capabilityArgs == $CAPS and .result.interfaces == [{name: \"e2e-a\"}, {name: \"e2e-b\"}]"
cmp -s <(jq -r .config <<<"$c" | base64 -d) "$TMP/net.conflist" || fail "cached config is not the conflist's bytes"
assert_eq "$(stat -c %a "$cache")" 600 "cache file mode"
note "ADD: chain order, injection, env, runtimeConfig filtering and the libcni cache file hold"

note "CHECK"
reset_calls
cnictl_run check "$TMP/net.conflist" "$NETNS" --id e2ecid1 --ifname eth1 --cap-args "$CAPS"
[ "$RC" -eq 0 ] || fail "CHECK exited $RC: $OUT"
assert_eq "$(calls)" "CHECK-e2e-a CHECK-e2e-b" "CHECK order"
jq_ok "$(call CHECK-e2e-a)" '.prevResult.interfaces == [{name: "e2e-a"}, {name: "e2e-b"}] and (.runtimeConfig | has("portMappings"))'
jq_ok "$(call CHECK-e2e-b)" '.prevResult.interfaces == [{name: "e2e-a"}, {name: "e2e-b"}]'

note "DEL, twice"
reset_calls
cnictl_run del "$TMP/net.conflist" "$NETNS" --id e2ecid1 --ifname eth1 --cap-args "$CAPS"
[ "$RC" -eq 0 ] || fail "DEL exited $RC: $OUT"
assert_eq "$(calls)" "DEL-e2e-b DEL-e2e-a" "DEL runs in reverse"
jq_ok "$(call DEL-e2e-b)" '.prevResult.interfaces == [{name: "e2e-a"}, {name: "e2e-b"}]'
jq_ok "$(call DEL-e2e-a)" '.runtimeConfig.portMappings[0].hostPort == 8080'
[ ! -e "$cache" ] || fail "DEL left the cache file"
reset_calls
cnictl_run del "$TMP/net.conflist" "" --id e2ecid1 --ifname eth1
[ "$RC" -eq 0 ] || fail "second DEL exited $RC: $OUT"
jq_ok "$(call DEL-e2e-a)" 'has("prevResult") | not' "a DEL without cache has no prevResult"
grep -qxF CNI_NETNS= <<<"$(callenv DEL-e2e-a)" || fail "empty netns not passed as empty CNI_NETNS"

note "errors propagate: code, JSON and exit status"
jq '.plugins[1].fail = 7' "$TMP/net.conflist" >"$TMP/fail.conflist"
reset_calls
cnictl_run add "$TMP/fail.conflist" "$NETNS" --id e2ecid2
assert_eq "$RC" 1 "exit status of a failed ADD"
jq_ok "$OUT" '.code == 7 and .msg == "fake failure" and .details == "asked to"'
[ ! -e "$TMP/cache/results/e2efake-e2ecid2-eth0" ] || fail "a failed ADD was cached"
jq '.plugins[1].type = "e2e-missing"' "$TMP/net.conflist" >"$TMP/missing.conflist"
cnictl_run add "$TMP/missing.conflist" "$NETNS" --id e2ecid2
[ "$RC" -ne 0 ] || fail "ADD with a missing plugin succeeded"
jq_ok "$OUT" '.msg | contains("e2e-missing")'
jq '.plugins[0].type = "../e2e-a"' "$TMP/net.conflist" >"$TMP/slash.conflist"
cnictl_run add "$TMP/slash.conflist" "$NETNS" --id e2ecid2
assert_eq "$RC" 2 "a plugin type with / is refused"
cnictl_run add "$TMP/net.conflist" "$NETNS" --id 'bad id'
assert_eq "$RC" 2 "an invalid container id is refused"
cnictl_run add "$TMP/net.conflist" "$NETNS" --id e2ecid2 --ifname 'a/b'
assert_eq "$RC" 2 "an invalid ifname is refused"

note "GC and STATUS (cniVersion 1.1.0)"
jq '.cniVersion = "1.1.0"' "$TMP/net.conflist" >"$TMP/v11.conflist"
NETNS2=$(mkpod e2efp2)
"$CNICTL" add "$TMP/v11.conflist" "$NETNS" --id e2ekeep --args 'K=1' >/dev/null
"$CNICTL" add "$TMP/v11.conflist" "$NETNS2" --id e2estale --args 'K=2' --cap-args "$CAPS" >/dev/null
reset_calls
VALID='[{"containerID":"e2ekeep","ifname":"eth0"}]'
cnictl_run gc "$TMP/v11.conflist" --valid "$VALID"
[ "$RC" -eq 0 ] || fail "GC exited $RC: $OUT"
assert_eq "$(calls)" "DEL-e2e-b DEL-e2e-a GC-e2e-a GC-e2e-b" "GC: DEL of the stale attachment, then GC of each plugin"
grep -qxF "CNI_NETNS=$NETNS2" <<<"$(callenv DEL-e2e-a)" || fail "stale DEL did not use the cached netns"
grep -qxF "CNI_ARGS=K=2" <<<"$(callenv DEL-e2e-a)" || fail "stale DEL did not use the cached CNI_ARGS"
grep -qxF "CNI_CONTAINERID=e2estale" <<<"$(callenv DEL-e2e-a)" || fail "stale DEL: wrong container"
jq_ok "$(call DEL-e2e-a)" '.runtimeConfig.portMappings[0].hostPort == 8080' "stale DEL: cached capability args"
jq_ok "$(call GC-e2e-a)" ".\"cni.dev/valid-attachments\" == $VALID and (has(\"prevResult\") | not) and (has(\"runtimeConfig\") | not) and .cniVersion == \"1.1.0\""
grep -qxF "CNI_CONTAINERID=" <<<"$(callenv GC-e2e-a)" || fail "GC with a container id"
[ -e "$TMP/cache/results/e2efake-e2ekeep-eth0" ] || fail "GC removed a valid attachment's cache"
[ ! -e "$TMP/cache/results/e2efake-e2estale-eth0" ] || fail "GC kept the stale attachment's cache"
reset_calls
cnictl_run gc "$TMP/net.conflist" --valid '[]'
assert_eq "$(calls)" "DEL-e2e-b DEL-e2e-a" "GC of a 1.0.0 list: DEL of what is cached, no GC verb"
[ ! -e "$TMP/cache/results/e2efake-e2ekeep-eth0" ] || fail "GC kept an attachment missing from --valid"

reset_calls
cnictl_run status "$TMP/v11.conflist"
[ "$RC" -eq 0 ] || fail "STATUS exited $RC"
assert_eq "$(calls)" "STATUS-e2e-a STATUS-e2e-b" "STATUS order"
reset_calls
cnictl_run status "$TMP/net.conflist"
if [ "$RC" -ne 0 ] || [ -n "$(calls)" ]; then fail "STATUS of a 1.0.0 list must be a no-op"; fi
jq '.plugins[0].fail = 50 | .plugins[0].failOn = "STATUS"' "$TMP/v11.conflist" >"$TMP/st.conflist"
reset_calls
cnictl_run status "$TMP/st.conflist"
assert_eq "$RC" 1 "failed STATUS exit"
jq_ok "$OUT" '.code == 50'
assert_eq "$(calls)" "STATUS-e2e-a" "STATUS stops at the first error"

note "lookup by name, single .conf, cnitool's default container id, old versions"
mkdir -p "$TMP/netd"
echo '{"cniVersion":"0.3.1","name":"e2esingle","type":"e2e-a"}' >"$TMP/netd/20-single.conf"
cp "$TMP/net.conflist" "$TMP/netd/10-fake.conflist"
reset_calls
NETCONFPATH=$TMP/netd cnictl_run add e2efake "$NETNS"
[ "$RC" -eq 0 ] || fail "ADD by network name: $OUT"
cid=cnitool-$(printf '%s' "$NETNS" | sha512sum | cut -c1-20)
grep -qxF "CNI_CONTAINERID=$cid" <<<"$(callenv ADD-e2e-a)" || fail "default container id is not cnitool's"
reset_calls
NETCONFPATH=$TMP/netd cnictl_run add e2esingle "$NETNS" --id e2eone
[ "$RC" -eq 0 ] || fail "ADD of a single .conf by name: $OUT"
jq_ok "$(call ADD-e2e-a)" '.name == "e2esingle" and .cniVersion == "0.3.1" and .type == "e2e-a"'
jq_ok "$(jq -r .config "$TMP/cache/results/e2esingle-e2eone-eth0" | base64 -d)" \
	'.name == "e2esingle" and (.plugins | length) == 1'
cnictl_run check "$TMP/netd/20-single.conf" "$NETNS" --id e2eone
assert_eq "$RC" 2 "CHECK refused below 0.4.0"
reset_calls
cnictl_run del "$TMP/netd/20-single.conf" "$NETNS" --id e2eone
jq_ok "$(call DEL-e2e-a)" 'has("prevResult") | not' "no prevResult on DEL below 0.4.0"
echo "driver-fake: ok"
