/**
 * Shared fixtures and checkers for the Spark layer's tests. Reference data is the vendored copy in
 * `schemas/spark/` (origin and licence in its README).
 */
import { parse } from "yaml";
import { readSchemaFile } from "../../src/codegen/schemas";
import { SparkSettings, WorkerShape, resolveSparkSettings } from "../../components/spark";
import { kernelReservedMiB } from "../../components/cluster/node-capacity";


/**
 * A worker pool as the kubeadm back end reports it with its default kubelet settings, from honest
 * node capacity: allocatable = (VM RAM − the kernel's share) − kubeReserved 1Gi − systemReserved 1Gi
 * − eviction 500Mi; CPU 16 − 100m − 100m; DaemonSets 400m / 0 (Antrea 2.2.0's agent, kube-proxy) and
 * add-on pods 400m / 240 MiB (CoreDNS × 2, antrea-controller) (components/cluster/add-ons.ts).
 */
export function kubeadmWorkers(count: number, cpus: number, memoryMiB: number): WorkerShape {
  return {
    count,
    vm: { cpus, memoryMiB },
    allocatable: { cpu: (cpus * 1000 - 200) / 1000, memoryMiB: memoryMiB - kernelReservedMiB(memoryMiB) - 2048 - 500 },
    daemonSetRequests: { cpu: 0.4, memoryMiB: 0 },
    addOnPods: { cpu: 0.4, memoryMiB: 240 },
  };
}

/** The paper's workers, 16 vCPU / 120 GiB: allocatable 15.8 CPU / 118176 MiB (the kernel keeps 2156 MiB). */
export function referenceWorkers(count = 16): WorkerShape {
  return kubeadmWorkers(count, 16, 122880);
}

/** The dense shape: 32 vCPU / 256 GiB (the kernel keeps 4428 MiB): allocatable 31.8 CPU / 255168 MiB. */
export function denseWorkers(count = 8): WorkerShape {
  return kubeadmWorkers(count, 32, 262144);
}

/** The paper's settings on top of the library defaults: a 10 GiB heap step gives its exact 100g. */
export const PAPER = { executor: { heapGranularityGiB: 10 } } as const;

/** Resolves raw settings and fails the test on any validation error. */
export function settingsOf(raw: unknown = {}): SparkSettings {
  const { settings, errors } = resolveSparkSettings(raw);
  if (errors.length > 0) throw new Error(`unexpected settings errors: ${JSON.stringify(errors)}`);
  return settings;
}

// ---------------------------------------------------------------------------------------------
// Spark key catalogue (k8s-config-keys.json) and the checker.

interface KeyEntry {
  key: string;
  internal?: boolean;
}
interface KeyCatalogue {
  k8sKeys: KeyEntry[];
  coreKeys: KeyEntry[];
  excludedUnmergedKeys: KeyEntry[];
  prefixes: { prefix: string }[];
  volumeSyntax: { types: string[]; subkeys: string[] };
}

export function loadKeyCatalogue(): KeyCatalogue {
  return JSON.parse(readSchemaFile("spark/k8s-config-keys.json")) as KeyCatalogue;
}

/**
 * Spark core properties the layer emits that the catalogue (Kubernetes keys + sizing keys) does
 * not list. Each is a documented Spark property (spark.apache.org/docs/latest/configuration.html):
 *  - spark.submit.deployMode: client or cluster (what --deploy-mode sets);
 *  - spark.driver.host, spark.driver.port, spark.driver.blockManager.port: client-mode driver
 *    address and fixed ports executors connect back to;
 *  - spark.eventLog.enabled, spark.eventLog.dir: event logs for the History Server;
 *  - spark.decommission.enabled, spark.storage.decommission.{enabled, shuffleBlocks.enabled,
 *    rddBlocks.enabled}: executor decommissioning (core/src/main/scala/org/apache/spark/internal/
 *    config/package.scala: DECOMMISSION_ENABLED, STORAGE_DECOMMISSION_*, since 3.1.0).
 */
export const CORE_KEY_ALLOW_LIST: readonly string[] = [
  "spark.submit.deployMode",
  "spark.driver.host",
  "spark.driver.port",
  "spark.driver.blockManager.port",
  "spark.eventLog.enabled",
  "spark.eventLog.dir",
  "spark.decommission.enabled",
  "spark.storage.decommission.enabled",
  "spark.storage.decommission.shuffleBlocks.enabled",
  "spark.storage.decommission.rddBlocks.enabled",
];

const VOLUME_PREFIXES = ["spark.kubernetes.driver.volumes.", "spark.kubernetes.executor.volumes."];

/** Returns the keys that are not known Spark properties (empty when all are). */
export function unknownSparkKeys(keys: Iterable<string>, cat: KeyCatalogue = loadKeyCatalogue()): string[] {
  const exact = new Set<string>([...cat.k8sKeys, ...cat.coreKeys].map((k) => k.key));
  const internal = new Set(cat.k8sKeys.filter((k) => k.internal).map((k) => k.key));
  const bad: string[] = [];
  for (const key of keys) {
    if (internal.has(key)) {
      bad.push(`${key} (internal)`);
      continue;
    }
    if (exact.has(key) || CORE_KEY_ALLOW_LIST.includes(key)) continue;
    const vol = VOLUME_PREFIXES.find((p) => key.startsWith(p));
    if (vol) {
      // <prefix><type>.<name>.<subkey>
      const m = /^([A-Za-z]+)\.([^.]+)\.(.+)$/.exec(key.slice(vol.length));
      const ok =
        m !== null &&
        cat.volumeSyntax.types.includes(m[1]) &&
        cat.volumeSyntax.subkeys.some((s) => (s.endsWith(".") ? m[3].startsWith(s) && m[3].length > s.length : m[3] === s));
      if (!ok) bad.push(key);
      continue;
    }
    // The longest matching family wins (…authenticate.driver.mounted. before …authenticate.driver.).
    const family = [...cat.prefixes]
      .sort((a, b) => b.prefix.length - a.prefix.length)
      .find((p) => key.startsWith(p.prefix) && key.length > p.prefix.length);
    // A family prefix must not swallow a misspelled exact key of the same namespace
    // (e.g. spark.kubernetes.authenticate.driver.serviceAccountNme).
    if (family && !family.prefix.startsWith("spark.kubernetes.authenticate.")) continue;
    if (family) {
      const suffix = key.slice(family.prefix.length);
      const AUTH_SUFFIXES = ["oauthToken", "oauthTokenFile", "clientKeyFile", "clientCertFile", "caCertFile", "serviceAccountName"];
      if (AUTH_SUFFIXES.includes(suffix)) continue;
    }
    bad.push(key);
  }
  return bad;
}

/** `--conf k=v` keys and the flags' keys of a spark-submit argument list. */
export function keysOfSubmitArgs(args: string[]): string[] {
  const keys: string[] = [];
  const flags: Record<string, string> = { "--driver-memory": "spark.driver.memory", "--executor-memory": "spark.executor.memory", "--deploy-mode": "spark.submit.deployMode" };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--conf") keys.push(args[i + 1].split("=")[0]);
    else if (flags[args[i]]) keys.push(flags[args[i]]);
  }
  return keys;
}

/** Splits a rendered submit script back into its spark-submit arguments (the lines after the program). */
export function argsOfScript(script: string): string[] {
  const lines = script.split("\n");
  const start = lines.findIndex((l) => /bin\/spark-submit" \\$/.test(l));
  const args: string[] = [];
  for (const raw of lines.slice(start + 1)) {
    const l = raw.trim().replace(/ \\$/, "");
    if (l === "") continue;
    const m = /^(--[a-z-]+) (.*)$/.exec(l);
    const unq = (s: string) => s.replace(/^'(.*)'$/, "$1");
    if (m) args.push(m[1], unq(m[2]));
    else args.push(unq(l));
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// What an API server would reject in a manifest.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUANTITY = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[KMGTPE]i|[mkMGTPE]|)$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function dnsSubdomain(s: string): boolean {
  return s.length <= 253 && s.split(".").every((l) => l.length <= 63 && DNS1123_LABEL.test(l));
}
function labelKeyOk(k: string): boolean {
  const i = k.lastIndexOf("/");
  const prefix = i >= 0 ? k.slice(0, i) : undefined;
  const name = i >= 0 ? k.slice(i + 1) : k;
  return (prefix === undefined || dnsSubdomain(prefix)) && name.length <= 63 && LABEL_NAME.test(name);
}
function labelValueOk(v: unknown): boolean {
  return typeof v === "string" && (v === "" || (v.length <= 63 && LABEL_NAME.test(v)));
}

/** Lists everything in one manifest (recursively, including pod templates) that the API server would reject. */
export function manifestProblems(obj: unknown): string[] {
  const out: string[] = [];
  const o = obj as Record<string, unknown>;
  const kind = String(o.kind);
  const md = (o.metadata ?? {}) as Record<string, unknown>;
  const where = `${kind}/${String(md.name ?? "(template)")}`;
  if (o.kind !== "Pod" || md.name !== undefined) {
    const name = md.name;
    if (typeof name !== "string") out.push(`${where}: metadata.name missing`);
    else {
      const needsLabel = ["Namespace", "Service"].includes(kind);
      const ok = kind === "Service" ? DNS1035_LABEL.test(name) && name.length <= 63 : needsLabel ? DNS1123_LABEL.test(name) && name.length <= 63 : dnsSubdomain(name);
      if (!ok) out.push(`${where}: invalid name "${name}"`);
    }
  }
  if (md.namespace !== undefined && !(typeof md.namespace === "string" && DNS1123_LABEL.test(md.namespace))) out.push(`${where}: invalid namespace`);
  walk(obj, "", (p, v, key) => {
    const flatSelector = key === "selector" && isObj(v) && Object.values(v).every((x) => typeof x === "string");
    if ((key === "labels" || key === "matchLabels" || key === "nodeSelector" || flatSelector) && isObj(v)) {
      for (const [lk, lv] of Object.entries(v)) {
        if (!labelKeyOk(lk)) out.push(`${where}: invalid label key "${lk}" at ${p}`);
        if (!labelValueOk(lv)) out.push(`${where}: invalid label value "${String(lv)}" at ${p}`);
      }
    }
    if ((key === "requests" || key === "limits" || key === "hard" || key === "max" || key === "min" || key === "default" || key === "defaultRequest") && isObj(v)) {
      for (const [rk, rv] of Object.entries(v)) {
        if (typeof rv !== "string" || !QUANTITY.test(rv)) out.push(`${where}: invalid quantity ${rk}=${JSON.stringify(rv)} at ${p}`);
      }
    }
    if (key === "containers" && Array.isArray(v)) {
      for (const c of v) {
        const cn = (c as Record<string, unknown>).name;
        if (typeof cn !== "string" || !DNS1123_LABEL.test(cn) || cn.length > 63) out.push(`${where}: invalid container name ${String(cn)}`);
        for (const port of ((c as Record<string, unknown>).ports as Record<string, unknown>[] | undefined) ?? []) {
          if (port.name !== undefined && !(typeof port.name === "string" && port.name.length <= 15 && IANA_SVC_NAME.test(port.name) && /[a-z]/.test(port.name))) {
            out.push(`${where}: invalid port name ${String(port.name)}`);
          }
        }
      }
    }
  });
  if (kind === "ConfigMap") {
    for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, string>)) {
      if (!/^[-._a-zA-Z0-9]+$/.test(k) || k.length > 253) out.push(`${where}: invalid data key "${k}"`);
      if (k.endsWith(".yaml")) out.push(...manifestProblems(parse(v)).map((e) => `${where}[${k}]: ${e}`));
    }
  }
  if (kind === "Secret") {
    for (const k of Object.keys({ ...((o.data ?? {}) as object), ...((o.stringData ?? {}) as object) })) {
      if (!/^[-._a-zA-Z0-9]+$/.test(k)) out.push(`${where}: invalid secret key "${k}"`);
    }
  }
  return out;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function walk(v: unknown, p: string, visit: (path: string, v: unknown, key: string) => void): void {
  if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${p}[${i}]`, visit));
  else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      visit(`${p}.${k}`, x, k);
      walk(x, `${p}.${k}`, visit);
    }
  }
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = b && v && typeof b === "object" && typeof v === "object" && !Array.isArray(v) ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/**
 * The reference stack's Spark settings (Pulumi.dev.yaml: client mode as in the paper, the paper's
 * 10 GiB heap step) with `raw` on top; fails the test on any validation error.
 */
export function stackSettings(raw: Record<string, unknown> = {}): SparkSettings {
  return settingsOf(merge({ deployMode: "client", executor: { heapGranularityGiB: 10 } }, raw));
}
