// Asserts the chart's security facts on rendered manifests (multi-document YAML on stdin): the agent DaemonSet's
// privileges, mounts and environment, the RBAC (exactly get/list/watch on pods), no key material in a ConfigMap, and
// the collector's confinement. Argument: "default" or "mtls-postgres" (the values set rendered). Prints "ok: fact" or
// "FAIL: fact (detail)" per fact; exits 1 on any failure.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const variant = process.argv[2] ?? "default";
const objects = parseAllDocuments(readFileSync(0, "utf8")).map((d) => d.toJS()).filter((o) => o !== null);
const find = (kind, suffix) => objects.filter((o) => o.kind === kind && (!suffix || o.metadata.name.endsWith(suffix)));
let failed = 0;
function fact(what, ok, detail = "") {
  if (ok) console.log(`ok: ${what}`);
  else { failed++; console.log(`FAIL: ${what}${detail ? ` (${detail})` : ""}`); }
}
const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

const agentConfigMap = find("ConfigMap", "-agent")[0];
const agentConfig = parseAllDocuments(agentConfigMap.data["credtrace.yaml"])[0].toJS();
const [ds] = find("DaemonSet", "-agent");
fact("one agent DaemonSet", find("DaemonSet").length === 1 && !!ds);
const pod = ds.spec.template.spec;
const agent = pod.containers.find((c) => c.name === "agent");
const sc = agent.securityContext;
const everyContainer = objects.flatMap((o) => o.spec?.template?.spec ? [...(o.spec.template.spec.containers ?? []),
  ...(o.spec.template.spec.initContainers ?? [])] : []);
fact("no container anywhere is privileged", everyContainer.every((c) => c.securityContext?.privileged !== true));
fact("agent privileged: false", sc.privileged === false);
fact("agent runs as uid 0 (added capabilities reach root only)", sc.runAsUser === 0);
fact("agent allowPrivilegeEscalation: false", sc.allowPrivilegeEscalation === false);
fact("agent readOnlyRootFilesystem: true", sc.readOnlyRootFilesystem === true);
fact("agent drops ALL capabilities", same(sc.capabilities.drop, ["ALL"]));
fact("agent adds exactly BPF PERFMON SYS_PTRACE DAC_READ_SEARCH KILL SYS_ADMIN",
  same(sc.capabilities.add, ["BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "KILL", "SYS_ADMIN"]), sc.capabilities.add.join(" "));
fact("agent seccomp RuntimeDefault", (sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type === "RuntimeDefault");
fact("agent pod: hostPID true, hostNetwork and hostIPC false", pod.hostPID === true && pod.hostNetwork === false && pod.hostIPC === false);
fact("agent pod has no fsGroup (the fleet key must stay 0400)", pod.securityContext?.fsGroup === undefined);
fact("agent pod tolerates every taint", (pod.tolerations ?? []).some((t) => t.operator === "Exists" && !t.key && !t.effect));
fact("agent pod has a priority class", !!pod.priorityClassName &&
  (find("PriorityClass").some((p) => p.metadata.name === pod.priorityClassName) || pod.priorityClassName.startsWith("system-")));
fact("agent has resource requests and a memory limit", !!agent.resources?.requests?.cpu && !!agent.resources?.limits?.memory);
fact("agent update strategy RollingUpdate", ds.spec.updateStrategy?.type === "RollingUpdate");
fact("agent started with --config /etc/credtrace/credtrace.yaml",
  agent.command[0] === "/usr/bin/credtrace-agent" && same(agent.args, ["--config", "/etc/credtrace/credtrace.yaml"]));
const env = Object.fromEntries((agent.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
fact("env NODE_NAME and CREDTRACE_HOST_NAME from spec.nodeName", env.NODE_NAME === "spec.nodeName" && env.CREDTRACE_HOST_NAME === "spec.nodeName");
fact("readiness probe GET /healthz on the metrics port", agent.readinessProbe?.httpGet?.path === "/healthz" &&
  agent.ports?.some((p) => p.name === agent.readinessProbe.httpGet.port && p.containerPort === 9464));

const volumes = Object.fromEntries(pod.volumes.map((v) => [v.name, v]));
const mount = (path) => agent.volumeMounts.find((m) => m.mountPath === path);
const hostMount = (path, hostPath, readOnly) => {
  const m = mount(path);
  return !!m && volumes[m.name]?.hostPath?.path === hostPath && (readOnly === undefined || !!m.readOnly === readOnly);
};
fact("host /proc at /host/proc, read-only", hostMount("/host/proc", "/proc", true));
fact("/sys/kernel/btf read-only", hostMount("/sys/kernel/btf", "/sys/kernel/btf", true));
fact("tracefs /sys/kernel/tracing", hostMount("/sys/kernel/tracing", "/sys/kernel/tracing"));
fact("bpffs /sys/fs/bpf writable (the hold's ledger pin)", hostMount("/sys/fs/bpf", "/sys/fs/bpf", false));
fact("/etc/machine-id read-only", hostMount("/etc/machine-id", "/etc/machine-id", true));
fact("/var/log/pods and /var/log/containers read-only",
  hostMount("/var/log/pods", "/var/log/pods", true) && hostMount("/var/log/containers", "/var/log/containers", true));
fact("state directory /var/lib/credtrace writable", hostMount("/var/lib/credtrace", "/var/lib/credtrace", false));
const configMount = mount("/etc/credtrace/credtrace.yaml");
fact("probe config from the agent ConfigMap", !!configMount && !!volumes[configMount.name]?.configMap);
const fleet = Object.values(volumes).find((v) => v.secret && v.secret.items?.some((i) => i.path === "fleet.key"));
fact("fleet key from a Secret with mode 0400", !!fleet && fleet.secret.defaultMode === 0o400);
const fleetMount = agent.volumeMounts.find((m) => volumes[m.name] === fleet);
fact("fleet key mounted as the file itself (subPath: the agent opens it O_NOFOLLOW, Secret files are symlinks)",
  !!fleetMount && fleetMount.subPath === "fleet.key" && fleetMount.mountPath === agentConfig.fingerprint?.key_file);
const hostWritable = agent.volumeMounts.filter((m) => volumes[m.name]?.hostPath && !m.readOnly).map((m) => m.mountPath);
fact("only tracefs, bpffs, state and preload socket host paths are writable",
  hostWritable.every((p) => ["/sys/kernel/tracing", "/sys/fs/bpf", "/var/lib/credtrace", "/run/credtrace"].includes(p)), hostWritable.join(" "));
const caVolume = Object.values(volumes).find((v) => v.secret?.items?.some((i) => i.path === "ca.crt"));
fact("agent gets only ca.crt of the collector's TLS Secret, never tls.key",
  !!caVolume && caVolume.secret.items.every((i) => i.key === "ca.crt"));

fact("config proc_root /host/proc", agentConfig.proc_root === "/host/proc");
fact("config metrics on 0.0.0.0:9464", agentConfig.metrics?.enabled === true && agentConfig.metrics?.listen === "0.0.0.0:9464");
fact("config kubernetes.api_watch auto", agentConfig.kubernetes?.api_watch === "auto");
fact("config fingerprint.key_file is the Secret's file", agentConfig.fingerprint?.key_file === "/etc/credtrace/fleet/fleet.key");
fact("config collector url is the in-cluster Service over https",
  /^https:\/\/[a-z0-9-]+-collector\.[a-z0-9-]+\.svc:8787$/.test(agentConfig.collector?.url ?? ""), agentConfig.collector?.url);

// No key material in any ConfigMap: no inline key, no PEM, no token/URI values with credentials.
const secretShaped = /-----BEGIN|PRIVATE KEY|postgres(ql)?:\/\/[^\s:]+:[^\s@]+@|ghp_[A-Za-z0-9]{20}|password/i;
const configMapsClean = find("ConfigMap").every((c) => Object.values(c.data ?? {}).every((v) => !secretShaped.test(v)));
fact("no key material in any ConfigMap", configMapsClean && agentConfig.fingerprint?.key === undefined);
fact("the chart renders no Secret (key material is never in values)", find("Secret").length === 0);

// RBAC: exactly get, list, watch on core pods, bound to the agent's ServiceAccount.
const roles = [...find("ClusterRole"), ...find("Role")];
fact("one ClusterRole, rules exactly get/list/watch on pods", roles.length === 1 && roles[0].rules.length === 1 &&
  same(roles[0].rules[0].apiGroups, [""]) && same(roles[0].rules[0].resources, ["pods"]) &&
  same(roles[0].rules[0].verbs, ["get", "list", "watch"]), JSON.stringify(roles.map((r) => r.rules)));
const [binding] = find("ClusterRoleBinding");
fact("ClusterRoleBinding binds it to the agent's ServiceAccount", !!binding && binding.roleRef.name === roles[0].metadata.name &&
  binding.subjects.length === 1 && binding.subjects[0].kind === "ServiceAccount" && binding.subjects[0].name === pod.serviceAccountName);
fact("service account token mounted for the agent only",
  pod.automountServiceAccountToken === true && find("Deployment").every((d) => d.spec.template.spec.automountServiceAccountToken === false));

// Collector.
const [deploy] = find("Deployment", "-collector");
const cpod = deploy.spec.template.spec;
const collector = cpod.containers[0];
fact("collector runs non-root", cpod.securityContext.runAsNonRoot === true && cpod.securityContext.runAsUser > 0);
fact("collector has no capability", same(collector.securityContext.capabilities.drop, ["ALL"]) && !collector.securityContext.capabilities.add);
fact("collector readOnlyRootFilesystem, no escalation", collector.securityContext.readOnlyRootFilesystem === true &&
  collector.securityContext.allowPrivilegeEscalation === false);
fact("collector seccomp RuntimeDefault", cpod.securityContext.seccompProfile?.type === "RuntimeDefault");
fact("collector has no host path, host namespace or host port", !cpod.volumes.some((v) => v.hostPath) && !cpod.hostPID &&
  !cpod.hostNetwork && !collector.ports.some((p) => p.hostPort));
fact("collector started with --config", same(collector.args, ["--config", "/etc/credtrace-collector/collector.yaml"]));
const collectorConfig = parseAllDocuments(find("ConfigMap", "-collector")[0].data["collector.yaml"])[0].toJS();
fact("collector serves TLS from a Secret", !!collectorConfig.tls?.cert && !!collectorConfig.tls?.key &&
  cpod.volumes.some((v) => v.secret && v.secret.items?.some((i) => i.key === "tls.key")));
fact("a Service in front of the collector", find("Service", "-collector").length === 1);
if (variant === "default") {
  fact("SQLite: one replica, strategy Recreate, on a PVC", deploy.spec.replicas === 1 && deploy.spec.strategy.type === "Recreate" &&
    /^sqlite:/.test(collectorConfig.db) && cpod.volumes.some((v) => v.persistentVolumeClaim) && find("PersistentVolumeClaim").length === 1);
} else {
  fact("PostgreSQL: 3 replicas, no PVC", deploy.spec.replicas === 3 && find("PersistentVolumeClaim").length === 0 &&
    !cpod.volumes.some((v) => v.persistentVolumeClaim));
  fact("PostgreSQL URI read from a Secret's file, not argv/env/ConfigMap",
    collectorConfig.db_file === "/etc/credtrace-collector/db/uri" && collectorConfig.db === undefined && !collector.env &&
    cpod.volumes.some((v) => v.secret?.items?.some((i) => i.path === "uri")));
  fact("mTLS: the collector trusts a client CA, the agent presents a client certificate",
    !!collectorConfig.tls?.client_ca && !!agentConfig.collector?.cert_file && !!agentConfig.collector?.key_file);
  fact("reader tokens from a Secret", collectorConfig.reader_tokens_file === "/etc/credtrace-collector/reader-tokens/tokens");
}
process.exit(failed ? 1 : 0);
