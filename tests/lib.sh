# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by integration tests. run-integration.sh has already put the test
# in its own throwaway node (network + mount namespace, tmpfs /run/netns).
set -euo pipefail
: "${CNIP_BIN:?}" "${CNIP_TOP:?}"
REF_BIN=${REF_BIN:-/usr/lib/cni}
FIXTURES=$CNIP_TOP/tests/fixtures
TMP=$(mktemp -d /tmp/cnip/t.XXXXXX)

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "--- $*"; }

# cni_run PLUGIN COMMAND CONF_JSON [VAR=VALUE...]: runs the plugin as a runtime
# would; sets OUT (stdout), ERR (stderr) and RC. Defaults come from CNI_* of
# the caller's environment (CONTAINERID, NETNS, IFNAME), overridable per call.
cni_run() {
	local plugin=$1 cmd=$2 conf=$3
	shift 3
	local bin=$plugin
	[[ $plugin == */* ]] || bin=$CNIP_BIN/$plugin
	set +e
	OUT=$(printf '%s' "$conf" | env CNI_COMMAND="$cmd" \
		CNI_CONTAINERID="${CID-}" CNI_NETNS="${NETNS-}" CNI_IFNAME="${IFNAME-eth0}" \
		CNI_PATH="${CNI_PATH_DIRS:-$CNIP_BIN:$REF_BIN}" CNI_ARGS="${CNI_ARGS_VAL-}" \
		"$@" "$bin" 2>"$TMP/stderr")
	RC=$?
	set -e
	ERR=$(cat "$TMP/stderr")
	[ -z "$ERR" ] || printf '    stderr: %s\n' "$ERR" >&2
	return 0
}

# cni_ok PLUGIN COMMAND CONF [VAR=VALUE...]: like cni_run, but must succeed.
cni_ok() {
	cni_run "$@"
	[ "$RC" -eq 0 ] || fail "$1 $2 exited $RC: $OUT $ERR"
}

# cni_err PLUGIN COMMAND CONF CODE [VAR=VALUE...]: must fail with that CNI code,
# as error JSON on stdout, exit 1, carrying a cniVersion.
cni_err() {
	local plugin=$1 cmd=$2 conf=$3 code=$4
	shift 4
	cni_run "$plugin" "$cmd" "$conf" "$@"
	[ "$RC" -eq 1 ] || fail "$plugin $cmd: expected exit 1, got $RC: $OUT"
	echo "$OUT" | jq -e --argjson c "$code" '.code == $c and (.msg | length > 0) and (.cniVersion | type == "string")' >/dev/null ||
		fail "$plugin $cmd: expected error code $code, got: $OUT"
}

# jq_ok JSON FILTER [MESSAGE]: asserts a jq filter is true on JSON.
jq_ok() {
	echo "$1" | jq -e "$2" >/dev/null || fail "${3:-jq '$2' does not hold} on: $1"
}

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', want '$2'"
}

mkpod() {
	ip netns add "$1"
	echo "/run/netns/$1"
}

# Masquerade of pods on this node, ours and the reference's: rules that masquerade (all but
# the fixed ones of our base chain, which serve every pod) and elements of our pod maps.
masq_state() {
	nft -j list ruleset | jq '[.nftables[] | .rule // empty | select((.expr | tostring | contains("masquerade")) and
		((.table == "cnip_masq" and .chain == "postrouting") | not))] + [.nftables[] | .map // empty |
		select(.table == "cnip_masq" and (.name | test("^(pods|excl)"))) | .elem // [] | .[]] | length'
}
