#!/usr/bin/env bash
# The .deb packages as users get them: cpack builds them from a build tree, lintian finds no error, dpkg installs
# them on this machine, the installed agent, launcher, CLI, preload library and collector run from their installed
# paths, and purge removes them with their state and the collector's user. Ends with "N passed, N failed".
# Usage: packages_test.sh BUILD_DIR   (root; nothing of credtrace may be installed already)
set -uo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/credtrace-packages-XXXXXX)
passed=0 failed=0
check() {  # check "what" command...
  local what=$1; shift
  if "$@" >"$work/out" 2>&1; then passed=$((passed + 1)); echo "ok: $what"
  else failed=$((failed + 1)); echo "FAIL: $what"; sed 's/^/  | /' "$work/out" | tail -20; fi
}
purge() {
  dpkg --purge credtrace-agent credtrace-collector >/dev/null 2>&1 || true
  rm -rf "$work"
}
for package in credtrace-agent credtrace-collector; do  # any trace of an installation (config-files too): hands off
  if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -qv 'not-installed'; then
    echo "$package is on this machine already: not touching it"; rm -rf "$work"; echo "0 passed, 1 failed"; exit 1
  fi
done
trap purge EXIT

(cd "$build" && rm -f credtrace-agent_*.deb credtrace-collector_*.deb && cpack -G DEB -B "$work/debs") >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; echo "0 passed, 1 failed"; exit 1; }
agent_deb=$(ls "$work"/debs/credtrace-agent_*.deb)
collector_deb=$(ls "$work"/debs/credtrace-collector_*.deb)

check "agent package depends on the libraries it links (shlibdeps)" \
  sh -c "dpkg-deb -f '$agent_deb' Depends | grep -q 'libbpf1' && dpkg-deb -f '$agent_deb' Depends | grep -q 'libprotobuf'"
check "the default config is a conffile" sh -c "dpkg-deb -e '$agent_deb' '$work/ctl' && grep -qx /etc/credtrace/credtrace.yaml '$work/ctl/conffiles'"
check "lintian reports no error" lintian --fail-on error --no-tag-display-limit "$agent_deb" "$collector_deb"
check "dpkg installs both packages" sh -c "dpkg -i '$agent_deb' '$collector_deb' > '$work/install.out' 2>&1"
check "installed agent runs (--version)" /usr/bin/credtrace-agent --version
check "installed agent accepts the installed config" /usr/bin/credtrace-agent --config /etc/credtrace/credtrace.yaml --check-config
check "installed launcher finds the CLI in /usr/lib/credtrace" sh -c '/usr/bin/credtrace --help | grep -q scan'
check "installed CLI scans a file" sh -c "printf 'GITHUB_TOKEN=ghp_%s\n' 0123456789abcdefghijABCDEFGHIJ012345 > '$work/x.env' && /usr/bin/credtrace scan '$work/x.env' | grep -q github"
check "credtrace run preloads the installed library" \
  sh -c '/usr/bin/credtrace run -- sh -c "echo \$LD_PRELOAD" | grep -qx /usr/lib/credtrace/libcredtrace-preload.so'
check "installed collector runs (--version)" /usr/bin/credtrace-collector --version
check "the agent's user owns its private state directory" sh -c '[ "$(stat -c %U:%a /var/lib/credtrace)" = credtrace:700 ]'
check "the agent's unit exposure is at most 4.0 (systemd-analyze security)" \
  systemd-analyze security --offline=true --threshold=40 /lib/systemd/system/credtrace-agent.service
check "collector has its own system user and state" sh -c 'id credtrace-collector && [ "$(stat -c %U:%a /var/lib/credtrace-collector)" = credtrace-collector:700 ]'
check "the installed unit verifies (systemd-analyze verify)" systemd-analyze verify /lib/systemd/system/credtrace-agent.service
cat >"$work/agent.yaml" <<CFG
state_dir: $work/state
output:
  json: $work/events.jsonl
mcp:
  scan_user_homes: false
CFG
check "the collector's unit verifies and its exposure is low" sh -c '
  systemd-analyze verify /lib/systemd/system/credtrace-collector.service &&
  systemd-analyze security --offline=true --threshold=20 /lib/systemd/system/credtrace-collector.service'
check "the agents' token file is the collector group's only" sh -c '
  [ "$(stat -c %U:%G:%a /etc/credtrace/collector/agent-tokens)" = root:credtrace-collector:640 ] &&
  [ "$(grep -cv "^#" /etc/credtrace/collector/agent-tokens)" = 1 ]'
check "the collector's settings are conffiles" sh -c "dpkg-deb -e '$collector_deb' '$work/cctl' &&
  grep -qx /etc/credtrace/collector.yaml '$work/cctl/conffiles' && [ -x '$work/cctl/prerm' ] &&
  grep -qx /etc/logrotate.d/credtrace-agent '$work/ctl/conffiles'"
check "the maintainer scripts printed no token (install)" sh -c "
  token=\$(grep -v '^#' /etc/credtrace/collector/agent-tokens) && [ \${#token} -ge 40 ] && ! grep -qF -- \"\$token\" '$work/install.out'"
check "no partial token file is left beside it" sh -c '[ -z "$(ls /etc/credtrace/collector | grep -v "^agent-tokens$")" ]'
collector_exec=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/credtrace-collector.service)
collector_check=$(sed -n 's/^ExecStartPre=//p' /lib/systemd/system/credtrace-collector.service)
check "the collector's unit reads the installed config file" sh -c "echo '$collector_exec' | grep -q -- '--config /etc/credtrace/collector.yaml'"
check "the installed collector config validates as the collector's user (the unit's ExecStartPre)" sh -c "
  setpriv --reuid credtrace-collector --regid credtrace-collector --init-groups --inh-caps=-all --bounding-set=-all \
    $collector_check"
# The unit's own command line, as its user, with no capability; a port flag over the file's (a flag wins).
check "installed collector serves as its own user with no capabilities, from the unit's command line" sh -c "
  setpriv --reuid credtrace-collector --regid credtrace-collector --init-groups \
    --inh-caps=-all --bounding-set=-all $collector_exec --listen 127.0.0.1:18787 \
    >'$work/collector.log' 2>&1 & pid=\$!
  for i in \$(seq 50); do curl -fsS http://127.0.0.1:18787/healthz >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS http://127.0.0.1:18787/healthz; rc=\$?; kill \$pid; wait \$pid; cat '$work/collector.log'; [ \$rc -eq 0 ] &&
  [ -f /var/lib/credtrace-collector/collector.db ]"
check "installed agent starts its probes and stops cleanly" sh -c "
  /usr/bin/credtrace-agent --config '$work/agent.yaml' >'$work/agent.log' 2>&1 & pid=\$!
  for i in \$(seq 100); do grep -q agent_ready '$work/events.jsonl' 2>/dev/null && break; sleep 0.2; done
  kill -TERM \$pid; wait \$pid && grep -q agent_ready '$work/events.jsonl'"
token_sum=$(sha256sum /etc/credtrace/collector/agent-tokens)
check "reinstalling (the upgrade path of the maintainer scripts) keeps the agents' token" sh -c "
  dpkg -i '$agent_deb' '$collector_deb' > '$work/reinstall.out' 2>&1 &&
  [ \"\$(sha256sum /etc/credtrace/collector/agent-tokens)\" = '$token_sum' ] &&
  [ -z \"\$(ls /etc/credtrace/collector | grep -v '^agent-tokens\$')\" ]"
check "the maintainer scripts printed no token (upgrade)" sh -c "
  token=\$(grep -v '^#' /etc/credtrace/collector/agent-tokens) && ! grep -qF -- \"\$token\" '$work/reinstall.out'"
check "the logrotate snippet parses" logrotate -d /etc/logrotate.d/credtrace-agent
check "logrotate rotates the agent's events file as its user and recreates it private" sh -c "
  printf '{\"type\":\"agent_ready\"}\n' > /var/log/credtrace/events.jsonl && chown credtrace:credtrace /var/log/credtrace/events.jsonl &&
  logrotate -f -s '$work/logrotate.state' /etc/logrotate.d/credtrace-agent &&
  [ -s /var/log/credtrace/events.jsonl.1 ] && [ \"\$(stat -c %U:%a /var/log/credtrace/events.jsonl)\" = credtrace:600 ] &&
  [ \"\$(stat -c %U /var/log/credtrace/events.jsonl.1)\" = credtrace ]"
check "purge removes the packages, their state and their users" sh -c '
  dpkg --purge credtrace-agent credtrace-collector >/dev/null &&
  [ ! -e /usr/bin/credtrace-agent ] && [ ! -e /etc/credtrace/credtrace.yaml ] && [ ! -e /etc/credtrace/collector.yaml ] &&
  [ ! -e /etc/logrotate.d/credtrace-agent ] && [ ! -e /var/lib/credtrace ] &&
  [ ! -e /var/lib/credtrace-collector ] && [ ! -e /etc/credtrace/collector ] && ! id credtrace-collector 2>/dev/null && ! id credtrace 2>/dev/null'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
