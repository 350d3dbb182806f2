// Validates rendered Kubernetes manifests (multi-document YAML on stdin) against the schemas of kubernetes-models:
// each apiVersion/kind maps to its model class (an unknown kind fails), which is constructed and validate()d; then
// every field name is checked against the model's type declarations (an unknown field fails, as the API server's
// strict field validation would), plus the API rule that refuses allowPrivilegeEscalation: false with CAP_SYS_ADMIN.
// Prints one line per object ("ok KIND NAME" or "FAIL KIND NAME: why"); exits 1 on any failure.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const modelsRoot = join(here, "node_modules", "kubernetes-models");
const apimachineryRoot = join(here, "node_modules", "@kubernetes-models", "apimachinery");

// "apps/v1" -> "apps/v1", "v1" -> "v1", "rbac.authorization.k8s.io/v1" -> same: the package's directory layout.
async function modelClass(apiVersion, kind) {
  if (!/^[a-z0-9.\/-]+$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) return null;
  const file = join(modelsRoot, apiVersion, `${kind}.js`);
  if (!existsSync(file)) return null;
  const module = await import(file);
  return module[kind] ?? null;
}

// Type declarations: interface name -> {field -> type text}; imports resolve type names to declaration files.
const declarations = new Map();
function declarationOf(file) {
  if (declarations.has(file)) return declarations.get(file);
  const text = readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) imports.set(m[1], m[2]);
  const body = text.match(/export interface \w+(?: extends [\w, ]+)? \{([\s\S]*?)\n\}/);
  const fields = new Map();
  if (body) {
    // Top-level members only: '    "name"?: TYPE;' where TYPE may span lines ({ [key: string]: T; }).
    const lines = body[1].split("\n");
    for (let i = 0; i < lines.length; i++) {
      const m = lines[i].match(/^ {4}"([^"]+)"\??: (.*)$/);
      if (!m) continue;
      let type = m[2];
      while (!/;$/.test(type) || (type.match(/\{/g) || []).length > (type.match(/\}/g) || []).length) type += lines[++i].trim();
      fields.set(m[1], type);
    }
  }
  const result = { file, imports, fields, known: !!body };
  declarations.set(file, result);
  return result;
}

function resolveImport(fromFile, specifier) {
  if (specifier.startsWith(".")) return join(dirname(fromFile), specifier.replace(/\.js$/, ".d.ts"));
  if (specifier.startsWith("@kubernetes-models/apimachinery/"))
    return join(apimachineryRoot, specifier.slice("@kubernetes-models/apimachinery/".length) + ".d.ts");
  return null;
}

// Checks `value` against the type text `type` declared in `decl`; pushes "path: unknown field" errors.
function checkType(value, type, decl, path, errors) {
  type = type.replace(/;$/, "").trim();
  if (value === null || typeof value !== "object") return;
  let m;
  if ((m = type.match(/^Array<(.+)>$/))) {
    if (Array.isArray(value)) value.forEach((v, i) => checkType(v, m[1], decl, `${path}[${i}]`, errors));
    return;
  }
  if ((m = type.match(/^\{\s*\[key: string\]: (.+?);?\s*\}$/))) {
    for (const [k, v] of Object.entries(value)) checkType(v, m[1], decl, `${path}.${k}`, errors);
    return;
  }
  if (/^\w+$/.test(type) && decl.imports.has(type)) {
    const file = resolveImport(decl.file, decl.imports.get(type));
    if (file && existsSync(file)) checkObject(value, declarationOf(file), path, errors);
  }
}

function checkObject(value, decl, path, errors) {
  if (!decl.known || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    if (!decl.fields.has(key)) { errors.push(`${path}.${key}: unknown field`); continue; }
    checkType(v, decl.fields.get(key), decl, `${path}.${key}`, errors);
  }
}

// The API server's rule (ValidateSecurityContext): it compares the literal string "CAP_SYS_ADMIN".
function apiRules(object, errors) {
  const visit = (node, path) => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach((v, i) => visit(v, `${path}[${i}]`));
    const sc = node.securityContext;
    if (node.image && sc && sc.allowPrivilegeEscalation === false) {
      if (sc.privileged === true) errors.push(`${path}: allowPrivilegeEscalation false with privileged true`);
      if ((sc.capabilities?.add ?? []).includes("CAP_SYS_ADMIN"))
        errors.push(`${path}: the API refuses allowPrivilegeEscalation false with capabilities.add CAP_SYS_ADMIN`);
    }
    for (const [k, v] of Object.entries(node)) visit(v, `${path}.${k}`);
  };
  visit(object, "");
}

const objects = parseAllDocuments(readFileSync(0, "utf8")).map((d) => d.toJS()).filter((o) => o !== null);
let failures = 0;
for (const object of objects) {
  const name = `${object?.kind ?? "?"} ${object?.metadata?.name ?? "?"}`;
  const errors = [];
  const Model = object && (await modelClass(String(object.apiVersion), String(object.kind)));
  if (!Model) errors.push(`no schema for apiVersion ${object?.apiVersion} kind ${object?.kind}`);
  else {
    try { new Model(object).validate(); } catch (e) { errors.push(e.message); }
    checkObject(object, declarationOf(join(modelsRoot, String(object.apiVersion), `${object.kind}.d.ts`)), "", errors);
    apiRules(object, errors);
  }
  if (errors.length) { failures++; console.log(`FAIL ${name}: ${errors.join("; ")}`); }
  else console.log(`ok ${name}`);
}
if (objects.length === 0) { console.log("FAIL: no object to validate"); failures++; }
process.exit(failures ? 1 : 0);
