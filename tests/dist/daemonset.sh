#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# conf/cnip-daemonset.yaml checked for the structure the API server
# validates (no cluster here): a well-formed apps/v1 DaemonSet whose selector
# matches its pod labels, only field names the API knows in the parts we
# write, tolerations for every taint, hostPath volumes of /opt/cni/bin and
# /etc/cni/net.d mounted by the init container where its install.sh writes,
# the image tag equal to the package version, and the installer's command.
# shellcheck source=tests/lib.sh
source "$CNIP_TOP/tests/lib.sh"
command -v yq >/dev/null || fail "yq not installed (hack/deps.sh installs it)"
m=$CNIP_TOP/conf/cnip-daemonset.yaml
version=$(dpkg-parsechangelog -l "$CNIP_TOP/dist/debian/changelog" -S Version)
docs=$(yq -c . "$m" | wc -l)
assert_eq "$docs" 1 "YAML documents in $m"
J=$(yq -c . "$m") || fail "$m is not YAML"
ds() { jq_ok "$J" "$1" "${2:-}"; }

ds '.apiVersion == "apps/v1" and .kind == "DaemonSet"' "not an apps/v1 DaemonSet"
ds '.metadata.name | test("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")' "metadata.name is not a DNS label"
ds '.metadata.namespace == "kube-system"' "namespace"
ds '.spec.selector.matchLabels as $s | .spec.template.metadata.labels | contains($s)' \
	"selector does not match the pod template's labels"
ds '.spec.updateStrategy.type == "RollingUpdate"' "updateStrategy"

# Field names allowed where this manifest sets them (a typo is rejected by
# the API server's strict decoding; it must be rejected here too).
P='.spec.template.spec'
ds "[$P | keys[]] - [\"hostNetwork\",\"priorityClassName\",\"nodeSelector\",\"tolerations\",\"automountServiceAccountToken\",
	\"terminationGracePeriodSeconds\",\"initContainers\",\"containers\",\"volumes\",\"serviceAccountName\"] == []" \
	"unknown pod spec fields"
ds "[$P | (.initContainers + .containers)[] | keys[]] - [\"name\",\"image\",\"imagePullPolicy\",\"command\",\"args\",
	\"env\",\"securityContext\",\"volumeMounts\",\"resources\"] == []" "unknown container fields"
ds "[$P | (.initContainers + .containers)[] | .env // [] | .[] | (keys - [\"name\",\"value\"] == [] and (.value | type) == \"string\")] | all" \
	"env entries need a name and a string value"
ds "[$P | (.initContainers + .containers)[] | .name] | (length == (unique | length)) and all(test(\"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$\"))" \
	"container names must be unique DNS labels"
ds "[$P | (.initContainers + .containers)[] | .resources // {} | .. | scalars] | all(type == \"string\")" \
	"resource quantities must be strings"

ds "$P.tolerations | any(.operator == \"Exists\" and (has(\"key\") | not) and (has(\"effect\") | not))" \
	"no toleration of every taint"
ds "[$P.volumes[] | select(.hostPath) | .hostPath.path] | contains([\"/opt/cni/bin\", \"/etc/cni/net.d\"])" \
	"hostPath volumes /opt/cni/bin and /etc/cni/net.d"
ds "[$P.volumes[].name] as \$v | [$P | (.initContainers + .containers)[] | .volumeMounts // [] | .[].name] | all(. as \$n | \$v | index(\$n))" \
	"a volumeMount names no volume"
ds "$P.initContainers | length >= 1" "no init container"
ds "$P.containers | length >= 1" "no container"

# The init container runs install.sh with its directories where the volumes are.
ic=$(jq -c "$P.initContainers[] | select(.command[1] == \"/install.sh\" and (.command | length) == 2)" <<<"$J")
[ -n "$ic" ] || fail "no init container running /bin/sh /install.sh"
jq_ok "$ic" '.command[0] == "/bin/sh"' "init container command"
for pair in CNIP_BIN_DIR:/opt/cni/bin CNIP_CONF_DIR:/etc/cni/net.d; do
	var=${pair%%:*} host=${pair#*:}
	vol=$(jq -r --arg h "$host" "$P.volumes[] | select(.hostPath.path == \$h) | .name" <<<"$J")
	path=$(jq -r --arg v "$vol" '.volumeMounts[] | select(.name == $v) | .mountPath' <<<"$ic")
	env=$(jq -r --arg e "$var" '.env[] | select(.name == $e) | .value' <<<"$ic")
	[ -n "$path" ] || fail "the init container does not mount $host"
	assert_eq "$env" "$path" "$var against the mount of $host"
done
grep -q '^bin=${CNIP_BIN_DIR:-' "$CNIP_TOP/dist/image/install.sh" || fail "install.sh no longer reads CNIP_BIN_DIR"
ds "[$P | (.initContainers + .containers)[] | .image] | all(. == \"localhost/cnip-install:$version\")" \
	"images must be localhost/cnip-install:$version (dist/debian/changelog)"
ds "$P.containers | any(.command == [\"/bin/sh\", \"/install.sh\", \"wait\"])" "no container waiting"
echo "daemonset: ok"
