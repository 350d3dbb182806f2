#!/usr/bin/env bash
# The container images as a DaemonSet runs them: scripts/build-images.sh builds them offline from this build tree's
# .deb packages, the agent image's root filesystem is checked (binaries, config, no build tools, no secret) and the
# agent is run from it (read-only root, host /proc at /host/proc, BTF, tracefs, bpffs, the six capabilities only, as
# uid 0), and finds a server started on the host in a Kubernetes-shaped cgroup with its container identity and env
# secret. Containers cannot run here (podman run fails), so the rootfs is entered with unshare -m + chroot + setpriv.
# Ends with "N passed, N failed". Usage: image_test.sh BUILD_DIR   (root; hold /tmp/credtrace-e2e.lock: BPF probes)
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/credtrace-image-XXXXXX)
passed=0 failed=0
check() {  # check "what" command...
  local what=$1; shift
  if "$@" >"$work/out" 2>&1; then passed=$((passed + 1)); echo "ok: $what"
  else failed=$((failed + 1)); echo "FAIL: $what"; sed 's/^/  | /' "$work/out" | tail -20; fi
}
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

rand() { tr -dc "$1" </dev/urandom | head -c "$2"; }
token="ghp_$(rand 'A-Za-z0-9' 36)"
fleet_key="image-test-fleet-key-$(rand 'a-f0-9' 16)"
pod_uid="$(rand 'a-f0-9' 8)-$(rand 'a-f0-9' 4)-$(rand 'a-f0-9' 4)-$(rand 'a-f0-9' 4)-$(rand 'a-f0-9' 12)"
container_id=$(rand 'a-f0-9' 64)
pod_slice=/sys/fs/cgroup/systemd/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${pod_uid//-/_}.slice
scope=$pod_slice/cri-containerd-$container_id.scope
agent_pid="" server_pid="" mounted="" made_cgroups=()
cleanup() {
  [ -n "$server_pid" ] && { pkill -P "$server_pid" 2>/dev/null; kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; }
  [ -n "$agent_pid" ] && { kill -TERM "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; }
  for ((i = ${#made_cgroups[@]} - 1; i >= 0; i--)); do rmdir "${made_cgroups[i]}" 2>/dev/null; done
  [ -n "$mounted" ] && podman image unmount "$mounted" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The images, built offline from this tree's packages.
if ! "$repo/scripts/build-images.sh" --build-dir "$build" >"$work/build.log" 2>&1; then
  sed 's/^/  | /' "$work/build.log" | tail -30; echo "FAIL: scripts/build-images.sh"; failed=1; finish
fi
cat "$work/build.log"
version=$(sed -n 's|^built localhost/credtrace-agent:\([^ ]*\) .*|\1|p' "$work/build.log")
agent_image=localhost/credtrace-agent:$version collector_image=localhost/credtrace-collector:$version
check "both images exist" podman image exists "$agent_image" && check "collector image exists" podman image exists "$collector_image"
inspect() { podman image inspect --format "$2" "$1"; }
check "agent entrypoint is credtrace-agent --config /etc/credtrace/credtrace.yaml" \
  test "$(inspect "$agent_image" '{{json .Config.Entrypoint}}')" = '["/usr/bin/credtrace-agent","--config","/etc/credtrace/credtrace.yaml"]'
check "collector runs as its non-root user 65532" test "$(inspect "$collector_image" '{{.Config.User}}')" = 65532:65532
check "labels name the image and its version" sh -c "
  [ '$(inspect "$agent_image" '{{index .Config.Labels "org.opencontainers.image.title"}}')' = credtrace-agent ] &&
  [ '$(inspect "$collector_image" '{{index .Config.Labels "org.opencontainers.image.version"}}')' = '$version' ]"

# 2. The agent image's root filesystem.
mounted=$agent_image
image_root=$(podman image mount "$agent_image") || { echo "FAIL: podman image mount"; failed=$((failed + 1)); finish; }
check "agent, launcher, CLI and preload library are in the image" sh -c "
  for f in /usr/bin/credtrace-agent /usr/bin/credtrace /usr/lib/credtrace/credtrace-cli \
           /usr/bin/setpriv; do [ -x '$image_root'\$f ] || { echo missing \$f; exit 1; }; done &&
  [ -f '$image_root/usr/lib/credtrace/libcredtrace-preload.so' ]"
check "the default config is in the image" test -s "$image_root/etc/credtrace/credtrace.yaml"
check "no build tools in the image" sh -c "
  for f in gcc cc c++ g++ clang make cmake ld as; do [ ! -e '$image_root'/usr/bin/\$f ] || { echo found \$f; exit 1; }; done"
check "no apt lists, .deb files or package caches left" sh -c "
  [ -z \"\$(ls -A '$image_root'/var/lib/apt/lists 2>/dev/null | grep -v '^lock$\|^partial$')\" ] &&
  [ -z \"\$(find '$image_root' -xdev -name '*.deb' -print -quit)\" ]"
check "no secret in the image (fleet key, tokens, private keys)" sh -c "
  [ ! -e '$image_root'/var/lib/credtrace/fleet.key ] &&
  [ -z \"\$(find '$image_root' -xdev \( -name '*.key' -o -name 'agent-tokens' -o -name 'fleet.key' \) -print -quit)\" ] &&
  ! grep -rlE 'BEGIN [A-Z ]*PRIVATE KEY' '$image_root/etc' '$image_root/var' '$image_root/root' 2>/dev/null | grep -q ."
collector_root=$(podman image mount "$collector_image")
check "the collector image holds no agent token (the package's generated one is removed)" sh -c "
  [ -x '$collector_root/usr/bin/credtrace-collector' ] && [ ! -e '$collector_root/etc/credtrace/collector/agent-tokens' ]"
podman image unmount "$collector_image" >/dev/null

# 3. The agent from that rootfs, as the DaemonSet runs it.
[ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir -p "$work/upper" "$work/ovwork" "$work/root" "$work/state"
chmod 0700 "$work/state"
cat >"$work/credtrace.yaml" <<CFG
state_dir: /var/lib/credtrace
proc_root: /host/proc
health_interval_seconds: 2
output:
  json: "-"
fingerprint:
  key: $fleet_key
mcp:
  scan_user_homes: false
secrets:
  scan_mcp_configs: false
CFG
chmod 0644 "$work/credtrace.yaml"
caps=-all,+bpf,+perfmon,+sys_ptrace,+dac_read_search,+kill,+sys_admin
# In a private mount namespace: the image's layers as the container's root (an overlay gives the runtime's mount
# points, then it is made read-only: readOnlyRootFilesystem), the DaemonSet's mounts, chroot, the six capabilities.
cat >"$work/enter.sh" <<SH
set -e
r=$work/root
mount -t overlay overlay -o lowerdir=$image_root,upperdir=$work/upper,workdir=$work/ovwork \$r
mkdir -p \$r/host/proc \$r/proc \$r/sys \$r/dev \$r/var/lib/credtrace && touch \$r/etc/machine-id
mount --bind \$r \$r && mount -o remount,bind,ro \$r
(cd $work/upper && find . | sort) >$work/upper.before
mount -t proc proc \$r/proc
mount --rbind -o ro /proc \$r/host/proc
mount -t sysfs -o ro sysfs \$r/sys
mount --bind -o ro /sys/kernel/btf \$r/sys/kernel/btf
mount --bind /sys/kernel/tracing \$r/sys/kernel/tracing
mount --bind /sys/fs/bpf \$r/sys/fs/bpf
mount -t tmpfs -o mode=0755,nosuid tmpfs \$r/dev
for d in null zero random urandom; do touch \$r/dev/\$d; mount --bind /dev/\$d \$r/dev/\$d; done
mount --bind $work/state \$r/var/lib/credtrace
mount --bind -o ro $work/credtrace.yaml \$r/etc/credtrace/credtrace.yaml
mount --bind -o ro /etc/machine-id \$r/etc/machine-id
exec chroot \$r /usr/bin/setpriv --reuid=0 --regid=0 --clear-groups --inh-caps=$caps --ambient-caps=$caps \
  --bounding-set=$caps --no-new-privs /usr/bin/credtrace-agent --config /etc/credtrace/credtrace.yaml
SH
unshare -m --propagation private sh "$work/enter.sh" >"$work/events.jsonl" 2>"$work/agent.log" &
agent_pid=$!
wait_for() {  # wait_for SECONDS python-expression-over-e
  python3 - "$work/events.jsonl" "$1" "$2" <<'PY'
import json, sys, time
path, timeout, expr = sys.argv[1], float(sys.argv[2]), sys.argv[3]
deadline = time.time() + timeout
while time.time() < deadline:
    for line in open(path):
        try: e = json.loads(line)
        except ValueError: continue
        if eval(expr): print(json.dumps(e)); sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
PY
}
check "the agent starts from the image's rootfs with the DaemonSet's privileges (agent_ready)" \
  bash -c "$(declare -f wait_for); work=$work; wait_for 60 'e[\"type\"] == \"agent_ready\"' || { tail -20 '$work/agent.log'; exit 1; }"
check "the agent runs as uid 0 with exactly the six capabilities, chrooted in the image" python3 -c "
import os, sys
status = dict(l.split(':', 1) for l in open('/proc/$agent_pid/status').read().splitlines() if ':' in l)
want = sum(1 << b for b in (39, 38, 19, 2, 5, 21))  # bpf perfmon sys_ptrace dac_read_search kill sys_admin
got = {k: int(status[k], 16) for k in ('CapEff', 'CapPrm', 'CapBnd')}
assert all(v == want for v in got.values()), got
assert status['Uid'].split()[0] == '0' and status['NoNewPrivs'].strip() == '1', status['Uid']
assert os.readlink('/proc/$agent_pid/root') == '$work/root', os.readlink('/proc/$agent_pid/root')
assert os.path.basename(os.readlink('/proc/$agent_pid/exe')) == 'credtrace-agent'
"

# 4. A server in a Kubernetes-shaped cgroup (systemd driver, containerd), its GitHub token in its environment.
for dir in "${pod_slice%/*/*}" "${pod_slice%/*}" "$pod_slice" "$scope"; do  # made here, removed at the end
  [ -d "$dir" ] || { mkdir "$dir" && made_cgroups+=("$dir"); }
done
cat >"$work/mcp-server-imagetest" <<'SERVER'
#!/bin/sh
# a stand-in MCP server (stdio): holds its environment for the agent to see, then leaves
sleep 30
SERVER
chmod 0755 "$work/mcp-server-imagetest"
GH="$token" sh -c "echo \$\$ > '$scope/cgroup.procs' && exec env -i PATH=/usr/bin:/bin GITHUB_TOKEN=\"\$GH\" '$work/mcp-server-imagetest'" \
  </dev/null >/dev/null 2>&1 &
server_pid=$!
check "the server's cgroup is the Kubernetes-shaped one" sh -c "sleep 0.3; grep -q 'name=systemd:.*cri-containerd-$container_id.scope' /proc/$server_pid/cgroup"
check "mcp_server_start names the server's container (containerd, id) and pod uid" \
  bash -c "$(declare -f wait_for); work=$work; wait_for 30 'e[\"type\"] == \"mcp_server_start\" and e[\"process\"][\"pid\"] == $server_pid and e[\"workload\"].get(\"container\", {}).get(\"id\") == \"$container_id\" and e[\"workload\"][\"container\"].get(\"runtime\") == \"containerd\" and e[\"workload\"].get(\"kubernetes\", {}).get(\"pod_uid\") == \"$pod_uid\"' ||
  { grep -m3 mcp_server_start '$work/events.jsonl'; exit 1; }"
fp=$(printf '%s' "$token" | openssl dgst -sha256 -hmac "$fleet_key" -r | cut -d' ' -f1)
check "the env secret is reported by fingerprint and preview (secret_exposure, GITHUB_TOKEN, github)" \
  bash -c "$(declare -f wait_for); work=$work; wait_for 30 'e[\"type\"] == \"secret_exposure\" and e[\"source\"][\"name\"] == \"GITHUB_TOKEN\" and e[\"credential\"][\"fingerprint\"] == \"$fp\" and e[\"credential\"][\"preview\"].startswith(\"ghp_\") and e[\"credential\"][\"preview\"].endswith(\"${token: -4}\") and e[\"workload\"].get(\"container\", {}).get(\"id\") == \"$container_id\"' ||
  { grep -m3 secret_exposure '$work/events.jsonl'; exit 1; }"
kill -TERM "$agent_pid"; wait "$agent_pid"; agent_rc=$?
check "the agent stops cleanly on SIGTERM (exit 0)" test "$agent_rc" -eq 0
check "the agent wrote nothing to its root filesystem (read-only; state dir and bpffs only)" \
  sh -c "(cd '$work/upper' && find . | sort) | diff '$work/upper.before' -"
agent_pid=""
check "the raw token appears in no output (events, log, state, this test's log)" sh -c "
  ! grep -rqF -- '$token' '$work/events.jsonl' '$work/agent.log' '$work/state' '$work/build.log'"
finish
