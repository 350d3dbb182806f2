// Checks that every Secret a rendering mounts (pod template volumes, items) exists in a set of Secrets (YAML file
// given as argument) and holds each key the volume projects. Rendering on stdin. Prints what is missing; exit 1 then.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const load = (text) => parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o !== null);
const secrets = new Map(load(readFileSync(process.argv[2], "utf8")).filter((o) => o.kind === "Secret")
  .map((s) => [s.metadata.name, new Set([...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})])]));
const missing = [];
let mounted = 0;
for (const object of load(readFileSync(0, "utf8"))) {
  for (const volume of object.spec?.template?.spec?.volumes ?? []) {
    if (!volume.secret) continue;
    mounted++;
    const keys = secrets.get(volume.secret.secretName);
    if (!keys) { missing.push(`${object.kind} ${object.metadata.name}: no Secret ${volume.secret.secretName}`); continue; }
    for (const item of volume.secret.items ?? [])
      if (!keys.has(item.key)) missing.push(`${object.kind} ${object.metadata.name}: Secret ${volume.secret.secretName} has no key ${item.key}`);
  }
}
if (mounted === 0) missing.push("no Secret volume in the rendering");
for (const line of missing) console.log(line);
console.log(`${mounted} Secret volumes checked`);
process.exit(missing.length ? 1 : 0);
