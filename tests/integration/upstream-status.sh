#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# STATUS of bridge and ptp forwards to IPAM and reports its answer (upstream
# v1.6; Debian's v1.1.1 speaks CNI 1.0.0 and knows no STATUS): every path -
# success, IPAM's own error with its code, message and details kept, an IPAM
# plugin that fails without error JSON, one missing from CNI_PATH, no IPAM.
. "$(dirname "$0")/../lib.sh"

[ -x "$CNIP_BIN/host-local" ] || skip "needs our host-local (STATUS)"
FAKE_PATH="$FIXTURES/ipam:$CNIP_BIN:$REF_BIN"
# STATUS needs only CNI_COMMAND and CNI_PATH (spec 1.1).
status() {
	local expect=$1 plugin=$2 conf=$3
	shift 3
	if [ "$expect" = ok ]; then
		cni_ok "$plugin" STATUS "$conf" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME= "$@"
		[ -z "$OUT" ] || fail "$plugin STATUS printed: $OUT"
	else
		cni_err "$plugin" STATUS "$conf" "$expect" CNI_CONTAINERID= CNI_NETNS= CNI_IFNAME= "$@"
	fi
}
conf() {
	jq -nc --arg t "$1" --argjson i "$2" '{cniVersion:"1.1.0",name:"ups-st",type:$t,ipam:$i} |
		if $t == "bridge" then .bridge = "ups0" else . end'
}

for plugin in bridge ptp; do
	note "$plugin: STATUS is IPAM's answer"
	# Success: host-local answers ready; the fake shows it really got STATUS and our stdin.
	status ok $plugin "$(conf $plugin '{"type":"host-local","subnet":"10.68.0.0/24","dataDir":"/var/lib/cni/ups"}')"
	C=$(conf $plugin '{"type":"fake-ok"}')
	status ok $plugin "$C" CNI_PATH="$FAKE_PATH" FAKE_IPAM_LOG="$TMP/$plugin"
	grep -qx CNI_COMMAND=STATUS "$TMP/$plugin.env" || fail "$plugin: IPAM did not get STATUS: $(cat "$TMP/$plugin.env")"
	assert_eq "$(cat "$TMP/$plugin.stdin")" "$C" "$plugin: IPAM's stdin"
	# IPAM's own error: code, message and details as IPAM said them.
	status 11 $plugin "$(conf $plugin '{"type":"fake-error"}')" CNI_PATH="$FAKE_PATH"
	jq_ok "$OUT" '.msg == "range is busy" and .details == "try later"'
	# host-local's "not available" (50): a full range.
	mkdir -p /var/lib/cni/ups-full/ups-st
	printf 'ups-other\r\neth0' >/var/lib/cni/ups-full/ups-st/10.68.1.2
	status 50 $plugin "$(conf $plugin '{"type":"host-local","subnet":"10.68.1.0/30","dataDir":"/var/lib/cni/ups-full"}')"
	jq_ok "$OUT" '.msg | test("exhausted")'
	# An IPAM plugin that fails without error JSON: 102, naming it.
	status 102 $plugin "$(conf $plugin '{"type":"fake-silent-fail"}')" CNI_PATH="$FAKE_PATH"
	jq_ok "$OUT" '.msg | test("fake-silent-fail")'
	# Missing from CNI_PATH: ADD could not work either, so "not available" (50;
	# upstream says 999 with the same cause).
	status 50 $plugin "$(conf $plugin '{"type":"ups-no-such-ipam"}')"
	jq_ok "$OUT" '.msg | test("ups-no-such-ipam")'
	# The version rule still comes first: STATUS needs 1.1.0.
	status 1 $plugin "$(conf $plugin '{"type":"host-local","subnet":"10.68.0.0/24"}' | jq -c '.cniVersion = "1.0.0"')"
done

note "no IPAM: an L2 bridge is ready; ptp cannot give a pod an address without IPAM (7)"
status ok bridge "$(conf bridge '{}')"
status ok bridge "$(conf bridge '{}' | jq -c 'del(.ipam)')"
status 7 ptp "$(conf ptp '{}')"
jq_ok "$OUT" '.msg | test("ipam")'
status 7 ptp "$(conf ptp '{}' | jq -c 'del(.ipam)')"
note "ok"
