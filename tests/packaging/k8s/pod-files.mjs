// A container's fake pod filesystem (its ConfigMap and Secret mounts, as the kubelet writes them) and its command line moved there.
//
// node pod-files.mjs KIND CONTAINER SECRETS_YAML ROOT < rendering
//   KIND: the workload (DaemonSet, Deployment...) of which the rendering holds exactly one. CONTAINER: its container.
//   SECRETS_YAML: the Secrets the pod mounts (data base64, stringData plain). ConfigMaps come from the rendering.
//   ROOT: the fake root, absent or empty; a mount at /etc/x is written at ROOT/etc/x.
// Each volumeMount whose volume is a configMap, a secret or a projected volume of those is written as the kubelet's
// atomic writer lays it out: every key (or the items' key -> path mapping) under a timestamped directory, ..data a
// symlink to it, each top-level name a symlink into ..data, modes from items[].mode or defaultMode (0644 otherwise;
// the fsGroup chown is not emulated). A subPath mount is the resolved file itself, as the kubelet bind-mounts it.
// Other volumes (hostPath, emptyDir, persistentVolumeClaim...) are not faked; they are listed on stderr.
// Then the container's environment (env, envFrom, fieldRefs of a fake pod on node-1, the API server's address) and
// command + args ($(VAR) expanded) are printed on stdout, with every absolute path under a faked mountPath moved under
// ROOT; a ConfigMap file the command line names (the config file) gets the same rewrite of its text, in place under
// ROOT (lines are kept: a FILE:LINE:COLUMN error still points at the rendered line).
// A missing ConfigMap, Secret or key that is not optional is an error (the kubelet would not start the pod). Exit 1.
import {
  chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from "node:fs";
import { dirname, join, posix } from "node:path";
import { parseAllDocuments } from "yaml";

const [kind, containerName, secretsFile, root] = process.argv.slice(2);
if (!root) {
  console.error("usage: node pod-files.mjs KIND CONTAINER SECRETS_YAML ROOT < rendering");
  process.exit(2);
}
const say = (line) => console.error(line);
const die = (message) => { say(`pod-files: ${message}`); process.exit(1); };
if (existsSync(root) && readdirSync(root).length > 0) die(`${root} is not empty: a fake root starts empty`);

// YAML 1.1, as the API machinery reads manifests (0400 is octal there).
const load = (text) => parseAllDocuments(text, { version: "1.1" }).map((d) => {
  if (d.errors.length) die(`YAML: ${d.errors[0].message}`);
  return d.toJS();
}).filter((o) => o !== null && typeof o === "object");
const rendering = load(readFileSync(0, "utf8"));
const secretObjects = load(readFileSync(secretsFile, "utf8"));

const workloads = rendering.filter((o) => o.kind === kind);
if (workloads.length !== 1) die(`the rendering holds ${workloads.length} ${kind} objects, not one`);
const workload = workloads[0];
const namespace = workload.metadata.namespace ?? "default";
const pod = workload.spec?.template?.spec ?? die(`${kind} ${workload.metadata.name} has no pod template`);
const container = (pod.containers ?? []).find((c) => c.name === containerName) ??
  die(`${kind} ${workload.metadata.name} has no container ${containerName}`);
const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));

const byName = (objects, objectKind) => new Map(objects.filter((o) => o.kind === objectKind)
  .filter((o) => (o.metadata.namespace ?? namespace) === namespace).map((o) => [o.metadata.name, o]));
const configMaps = byName(rendering, "ConfigMap");
const secrets = byName(secretObjects, "Secret");

// key -> Buffer of one ConfigMap or Secret, as the API server stores it.
function configMapKeys(object) {
  const keys = new Map(Object.entries(object.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), "utf8")]));
  for (const [k, v] of Object.entries(object.binaryData ?? {})) keys.set(k, Buffer.from(v, "base64"));
  return keys;
}
function secretKeys(object) {
  const keys = new Map(Object.entries(object.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]));
  for (const [k, v] of Object.entries(object.stringData ?? {})) keys.set(k, Buffer.from(String(v), "utf8"));
  return keys;
}

// The files of one configMap or secret source: [{path, bytes, mode, configMap}] (path relative to the volume).
function sourceFiles(what, source, defaultMode) {
  const isSecret = what === "secret";
  const name = isSecret ? source.secretName ?? source.name : source.name;
  const object = (isSecret ? secrets : configMaps).get(name);
  if (!object) {
    if (source.optional) return [];
    die(`no ${isSecret ? "Secret" : "ConfigMap"} ${namespace}/${name}`);
  }
  const keys = isSecret ? secretKeys(object) : configMapKeys(object);
  const mode = source.defaultMode ?? defaultMode ?? 0o644;
  const configMap = !isSecret;
  if (!source.items) return [...keys].map(([key, bytes]) => ({ path: key, bytes, mode, configMap }));
  return source.items.flatMap((item) => {
    if (keys.has(item.key)) return [{ path: item.path, bytes: keys.get(item.key), mode: item.mode ?? mode, configMap }];
    if (source.optional) return [];
    die(`${isSecret ? "Secret" : "ConfigMap"} ${namespace}/${name} has no key ${item.key}`);
  });
}

// The files of a volume, with what it is made of, or null for a volume this script does not fake.
function volumeFiles(volume) {
  if (volume.configMap) return { from: `configMap ${volume.configMap.name}`, files: sourceFiles("configMap", volume.configMap) };
  if (volume.secret) return { from: `secret ${volume.secret.secretName}`, files: sourceFiles("secret", volume.secret) };
  if (!volume.projected) return null;
  const files = [], from = [];
  for (const source of volume.projected.sources ?? []) {
    const what = Object.keys(source).find((k) => k === "configMap" || k === "secret");
    if (!what) die(`projected volume ${volume.name}: source ${Object.keys(source).join(",")} is not faked by this script`);
    from.push(`${what} ${source[what].name}`);
    files.push(...sourceFiles(what, source[what], volume.projected.defaultMode));
  }
  return { from: `projected ${from.join(" + ")}`, files };
}

const hostPath = (containerPath) => join(root, containerPath);

function writeFile(path, bytes, mode) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  chmodSync(path, mode);
}

// The kubelet's atomic writer: ..<timestamp>/ holds the files, ..data -> it, each top-level name -> ..data/name.
// Returns the files as the container sees them: [{path, configMap}].
function writeVolume(mountPath, files) {
  const dir = hostPath(mountPath);
  rmSync(dir, { recursive: true, force: true });  // a mount hides what was at its mount point
  mkdirSync(dir, { recursive: true });
  const payload = `..${new Date().toISOString().slice(0, 19).replace(/[-T:]/g, "_")}.${process.pid}`;  // ..2006_01_02_15_04_05.N
  for (const file of files) writeFile(join(dir, payload, file.path), file.bytes, file.mode);
  symlinkSync(payload, join(dir, "..data"));
  for (const top of new Set(files.map((f) => f.path.split("/")[0]))) symlinkSync(posix.join("..data", top), join(dir, top));
  return files.map((f) => ({ path: posix.join(mountPath, f.path), configMap: f.configMap }));
}

// A subPath mount: the file (or the directory of files) at subPath inside the volume, bind-mounted by itself.
function writeSubPath(mountPath, files, subPath, volumeName) {
  const dir = subPath.replace(/\/$/, "");
  const exact = files.find((f) => f.path === dir);
  const inside = exact ? [{ ...exact, path: "" }] :
    files.filter((f) => f.path.startsWith(dir + "/")).map((f) => ({ ...f, path: f.path.slice(dir.length + 1) }));
  if (inside.length === 0) die(`subPath ${subPath} is not in volume ${volumeName}`);
  rmSync(hostPath(mountPath), { recursive: true, force: true });
  for (const f of inside) writeFile(join(hostPath(mountPath), f.path), f.bytes, f.mode);
  return inside.map((f) => ({ path: posix.join(mountPath, f.path), configMap: f.configMap }));
}

// Mounts in order of depth: a nested mount lands inside its parent's, as the runtime stacks them.
const mounts = [...(container.volumeMounts ?? [])].sort((a, b) =>
  a.mountPath.split("/").length - b.mountPath.split("/").length);
const faked = [];  // mount paths
const configMapFiles = new Set();  // container paths of the files that came from a ConfigMap
for (const mount of mounts) {
  const volume = volumes.get(mount.name) ?? die(`volumeMount ${mount.name}: no such volume`);
  const made = volumeFiles(volume);
  if (!made) {
    say(`not faked: ${mount.mountPath} (${Object.keys(volume).find((k) => k !== "name")} ${mount.name})`);
    continue;
  }
  const mountPath = posix.normalize(mount.mountPath).replace(/(.)\/$/, "$1");
  for (const path of configMapFiles) if (path === mountPath || path.startsWith(mountPath + "/")) configMapFiles.delete(path);
  const written = mount.subPath ? writeSubPath(mountPath, made.files, mount.subPath, mount.name) :
    writeVolume(mountPath, made.files);
  for (const file of written) if (file.configMap) configMapFiles.add(file.path);
  say(`faked: ${mountPath}${mount.subPath ? ` (subPath ${mount.subPath})` : ""} from ${made.from}: ` +
    `${written.length} file${written.length === 1 ? "" : "s"}`);
  faked.push(mountPath);
}
if (faked.length === 0) die(`${kind} ${workload.metadata.name} container ${containerName} mounts no ConfigMap or Secret`);

// An absolute path under a faked mountPath: the mount path not inside a longer path, then "/" or the path's end.
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const pathChar = "[A-Za-z0-9._~/+@-]";
const underMount = new RegExp(`(?<!${pathChar})(${faked.map(escape)
  .sort((a, b) => b.length - a.length).join("|")})(?:/${pathChar}*)?(?!${pathChar})`, "g");
const rewrite = (text, where) => text.replace(underMount, (whole) => {
  say(`rewrote in ${where}: ${whole} -> ROOT${whole}`);
  return hostPath(whole);
});

// The container's environment as the kubelet gives it: env (value, fieldRef, configMapKeyRef, secretKeyRef), envFrom,
// and the API server's address it always adds. Service links of other Services are not added (nothing here reads
// them); PATH and HOSTNAME come from the image and the runtime.
const fakePod = {
  "metadata.name": `${workload.metadata.name}-fake`, "metadata.namespace": namespace,
  "metadata.uid": "00000000-0000-4000-8000-000000000001",
  "spec.nodeName": "node-1", "spec.serviceAccountName": pod.serviceAccountName ?? "default",
  "status.hostIP": "10.0.0.1", "status.podIP": "10.0.0.2",
};
function keyOf(what, ref) {
  const object = (what === "secret" ? secrets : configMaps).get(ref.name);
  const keys = object && (what === "secret" ? secretKeys(object) : configMapKeys(object));
  if (keys?.has(ref.key)) return keys.get(ref.key).toString("utf8");
  if (ref.optional) return undefined;
  die(`env: no ${what === "secret" ? "Secret" : "ConfigMap"} key ${namespace}/${ref.name}/${ref.key}`);
}
const env = new Map([["PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  ["HOSTNAME", pod.hostNetwork ? "node-1" : fakePod["metadata.name"]]]);
for (const from of container.envFrom ?? []) {
  const what = from.secretRef ? "secret" : "configMap";
  const ref = from.secretRef ?? from.configMapRef;
  const object = (what === "secret" ? secrets : configMaps).get(ref.name);
  if (!object) { if (ref.optional) continue; die(`envFrom: no ${what} ${namespace}/${ref.name}`); }
  const keys = what === "secret" ? secretKeys(object) : configMapKeys(object);
  for (const [k, v] of keys) env.set((from.prefix ?? "") + k, v.toString("utf8"));
}
const expand = (text) => text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name) =>
  whole === "$$" ? "$" : env.has(name) ? env.get(name) : whole);
for (const e of container.env ?? []) {
  let value;
  const field = e.valueFrom?.fieldRef?.fieldPath;
  if (field) value = fakePod[field] ?? die(`env ${e.name}: fieldRef ${field} is not faked`);
  else if (e.valueFrom?.secretKeyRef) value = keyOf("secret", e.valueFrom.secretKeyRef);
  else if (e.valueFrom?.configMapKeyRef) value = keyOf("configMap", e.valueFrom.configMapKeyRef);
  else if (e.valueFrom) die(`env ${e.name}: ${Object.keys(e.valueFrom).join(",")} is not faked`);
  else value = expand(e.value ?? "");
  if (value !== undefined) env.set(e.name, value);
}
env.set("KUBERNETES_SERVICE_HOST", "10.96.0.1");
env.set("KUBERNETES_SERVICE_PORT", "443");
env.set("KUBERNETES_SERVICE_PORT_HTTPS", "443");

const argv = [...(container.command ?? []), ...(container.args ?? [])].map(expand);
if (argv.length === 0) die(`container ${containerName} has no command (the image's entrypoint is not known here)`);
const configFiles = new Set();
for (const arg of argv)
  for (const [path] of arg.matchAll(underMount)) if (configMapFiles.has(posix.normalize(path))) configFiles.add(path);
const rewritten = argv.map((arg) => rewrite(arg, "the command line"));
for (const [name, value] of env) env.set(name, rewrite(value, `$${name}`));
for (const file of configFiles) {
  const path = hostPath(file);
  if (!lstatSync(path, { throwIfNoEntry: false }) || !statSync(path).isFile()) continue;  // the binary says so
  const mode = statSync(path).mode & 0o7777;
  chmodSync(path, mode | 0o200);
  writeFileSync(path, rewrite(readFileSync(path, "utf8"), file));
  chmodSync(path, mode);
}
// stdout: NAME=VALUE of each variable, an empty entry, then the command line; every entry NUL-terminated.
process.stdout.write([...[...env].map(([k, v]) => `${k}=${v}`), "", ...rewritten].map((a) => a + "\0").join(""));
