/**
 * Does the Supervisor offer `cluster.release`, and does `cluster.clusterClass` accept it? Checked
 * against the Supervisor's own objects at `pulumi preview`/`up`, before the Cluster is sent. VMware
 * publishes no table pairing `builtin-generic-vX.Y.Z` classes with Kubernetes releases that could be
 * cited, so none is written here: what decides on a Supervisor is what is checked, in the same way.
 *
 * How a Supervisor resolves `spec.topology.version` (sources):
 * - VMware vSphere 8.0 docs, "TKr Resolution" (vsphere-with-tanzu-tkg GUID-B3417114-5BDE-4096-B375-D9382891AD92):
 *   on a Cluster create or update the TKr Resolver mutating webhook runs; the Cluster or its
 *   ClusterClass must carry the annotation `run.tanzu.vmware.com/resolve-tkr`, otherwise resolution
 *   is skipped; its value is a label query over the TKrs ("an empty string selects all TKrs");
 *   `spec.topology.version` is a version prefix; when no TKr satisfies it "the Cluster create/update
 *   request is denied"; the resolved TKr's name goes to the label `run.tanzu.vmware.com/tkr`.
 * - The webhook's code, vmware-tanzu/tanzu-framework at f09fc60924b23fe3daecccf189d07b889bdce48e (the
 *   last commit with the `tkr/` tree, 2023-03-31; Apache-2.0):
 *   `tkr/util/resolution/resolution.go` `ConstructQuery`/`selectorFromAnnotation` (the Cluster's
 *   annotation first, then the ClusterClass's; none: no query);
 *   `tkr/resolver/internal/resolver_impl.go` `normalizeOSImageQuery` (adds `!incompatible,
 *   !deactivated,!invalid` and the version-prefix label to the selector), `augmentTKR` (labels a TKr
 *   with every prefix of its version, and `incompatible` when its `Compatible` condition is False),
 *   `setReadyCondition` (`Ready` False when a TKr carries `incompatible`, `deactivated` or
 *   `invalid`), `possiblyNarrowToExactMatch` (a TKr whose name is the version's label wins);
 *   `apis/run/util/version/version.go` `Label` (`+` → `---`) and `Prefixes`;
 *   `apis/run/v1alpha3/tanzukubernetesrelease_types.go` (condition and label names).
 * - VMware vSphere 8.0 docs, "Using Kubernetes Releases with TKG Service Clusters"
 *   (GUID-B3122965-56DC-4D34-83E4-07032AFAB483): `kubectl get tkr` lists NAME, VERSION, READY,
 *   COMPATIBLE; a TKr showing False/False there is not usable for new clusters.
 * - VMware vSphere 8.0 docs, "Using the Cluster v1beta1 API" (GUID-69E52B31-6DEC-412D-B60E-FE733156F708):
 *   the `tanzukubernetescluster` ClusterClass carries `run.tanzu.vmware.com/resolve-tkr: ""`.
 * Who sets `Compatible` on a Supervisor is VMware's TKr controller, which is not public (tanzu-framework's
 * `tkr/controller/tkr-source/compatibility/reconciler.go` is the TKG management-cluster one); so the
 * condition is read, never recomputed.
 */
import type { FieldError } from "../validation";
import type { TanzuSettings } from "./types";
import { RESOLVE_OS_IMAGE_ANNOTATION, resolveOsImage } from "./render";

export const RESOLVE_TKR_ANNOTATION = "run.tanzu.vmware.com/resolve-tkr";
/** Labels the resolver refuses (tanzu-framework `apis/run/v1alpha3/tanzukubernetesrelease_types.go`). */
export const UNWANTED_TKR_LABELS = ["incompatible", "deactivated", "invalid"] as const;

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** The parts of a TanzuKubernetesRelease read here (run.tanzu.vmware.com, vendored CRD in schemas/tanzu). */
export interface TkrObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { version?: string; osImages?: { name?: string }[] };
  status?: { conditions?: Condition[] };
}

/** The parts of an OSImage read here (run.tanzu.vmware.com/v1alpha3 `osimages`, cluster-scoped). */
export interface OsImageObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { kubernetesVersion?: string; os?: { type?: string; name?: string; version?: string; arch?: string }; image?: { type?: string } };
}

/** The parts of a ClusterClass read here (cluster.x-k8s.io/v1beta1). */
export interface ClusterClassObject {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: {
    controlPlane?: { metadata?: { annotations?: Record<string, string> } };
    workers?: { machineDeployments?: { class?: string; template?: { metadata?: { annotations?: Record<string, string> } } }[] };
  };
}

/** What one read of the Supervisor gave; a key left out was not read (nothing to say about it). */
export type Observed<T> = { state: "found"; object: T } | { state: "missing" } | { state: "unreadable"; error: string };
export interface SupervisorReleaseObjects {
  tkr?: Observed<TkrObject>;
  clusterClass?: Observed<ClusterClassObject>;
  /** The OSImages the TKr lists in `spec.osImages` that exist (read when the TKr lists any). */
  osImages?: OsImageObject[];
}

/** tanzu-framework `version.Label`: a SemVer version as a label value / TKr name (`+` → `---`). */
export function versionLabel(v: string): string {
  return `v${v.replace(/^v/, "").split("+").join("---")}`;
}

const alnum = (ch: string) => /[A-Za-z0-9]/.test(ch);

/**
 * tanzu-framework `version.Prefixes`: every prefix of a version at a delimiter, itself included
 * (`v1.17.9---vmware.2` → `v1.17.9---vmware.2`, `v1.17.9---vmware`, `v1.17.9`, `v1.17`, `v1`).
 */
export function versionPrefixes(v: string): string[] {
  const out: string[] = [];
  for (let s = v; s !== ""; ) {
    out.push(s);
    let i = s.length;
    while (i > 0 && alnum(s[i - 1])) i--;
    while (i > 0 && !alnum(s[i - 1])) i--;
    s = s.slice(0, i);
  }
  return out;
}

/** One requirement of a Kubernetes label selector (apimachinery `labels.Parse`). */
export interface LabelRequirement {
  key: string;
  op: "exists" | "!exists" | "=" | "!=" | "in" | "notin" | "gt" | "lt";
  values: string[];
}

/**
 * Parses a label selector in Kubernetes' string form (k8s.io/apimachinery `pkg/labels/selector.go`
 * `Parse`): requirements separated by commas, each `key`, `!key`, `key=v`, `key==v`, `key!=v`,
 * `key in (a,b)`, `key notin (a,b)`, `key>n`, `key<n`. The empty string selects everything.
 */
export function parseLabelSelector(s: string): { requirements: LabelRequirement[] } | { error: string } {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (depth < 0) return { error: `unbalanced ")" in "${s}"` };
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (depth !== 0) return { error: `unbalanced "(" in "${s}"` };
  parts.push(cur);
  if (parts.length === 1 && parts[0].trim() === "") return { requirements: [] };
  const key = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
  const value = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
  const requirements: LabelRequirement[] = [];
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^!\\s*(${key})$`).exec(p))) requirements.push({ key: m[1], op: "!exists", values: [] });
    else if ((m = new RegExp(`^(${key})$`).exec(p))) requirements.push({ key: m[1], op: "exists", values: [] });
    else if ((m = new RegExp(`^(${key})\\s*(==|=|!=)\\s*(${value})$`).exec(p)))
      requirements.push({ key: m[1], op: m[3] === "!=" ? "!=" : "=", values: [m[4]] });
    else if ((m = new RegExp(`^(${key})\\s+(in|notin)\\s*\\(([^()]*)\\)$`).exec(p))) {
      const values = m[4].split(",").map((x) => x.trim());
      if (values.some((x) => !new RegExp(`^${value}$`).test(x))) return { error: `bad value in "${p}"` };
      requirements.push({ key: m[1], op: m[3] as "in" | "notin", values });
    } else if ((m = new RegExp(`^(${key})\\s*([<>])\\s*(-?\\d+)$`).exec(p))) requirements.push({ key: m[1], op: m[3] === ">" ? "gt" : "lt", values: [m[4]] });
    else return { error: `"${p}" is not a label requirement` };
  }
  return { requirements };
}

/** Whether labels satisfy every requirement (apimachinery `Requirement.Matches`). */
export function selectorMatches(requirements: LabelRequirement[], labels: Record<string, string>): boolean {
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "=":
      case "in":
        return has && r.values.includes(v);
      case "!=":
      case "notin":
        return !has || !r.values.includes(v);
      case "gt":
      case "lt": {
        if (!has || !/^-?\d+$/.test(v)) return false;
        return r.op === "gt" ? Number(v) > Number(r.values[0]) : Number(v) < Number(r.values[0]);
      }
    }
  });
}

/**
 * The labels the resolver matches a TKr by (`augmentTKR`): its own, every prefix of its version's
 * label, and `incompatible` when its `Compatible` condition is False.
 */
export function resolverLabels(tkr: TkrObject): Record<string, string> {
  const labels: Record<string, string> = { ...(tkr.metadata?.labels ?? {}) };
  const version = tkr.spec?.version;
  if (version) for (const p of versionPrefixes(versionLabel(version))) labels[p] = labels[p] ?? "";
  if (conditionOf(tkr, "Compatible")?.status === "False") labels.incompatible = "";
  return labels;
}

/**
 * The labels the resolver matches an OSImage by (`augmentOSImage`): its own, the prefixes of its
 * Kubernetes version's label, and `os-type`, `os-name`, `os-version`, `os-arch`, `image-type`.
 */
export function osImageLabels(img: OsImageObject): Record<string, string> {
  const labels: Record<string, string> = { ...(img.metadata?.labels ?? {}) };
  const kv = img.spec?.kubernetesVersion;
  if (kv) for (const p of versionPrefixes(versionLabel(kv))) labels[p] = labels[p] ?? "";
  const os = img.spec?.os ?? {};
  Object.assign(labels, { "os-type": os.type ?? "", "os-name": os.name ?? "", "os-version": os.version ?? "", "os-arch": os.arch ?? "", "image-type": img.spec?.image?.type ?? "" });
  return labels;
}

/** The class's node-pool worker class: what every node pool of the rendered Cluster uses. */
const WORKER_CLASS = "node-pool";

/**
 * The OS rule of the resolver: for the control plane and each node pool, exactly one OSImage shipped
 * by the TKr must match the `resolve-os-image` selector, the Cluster topology's annotation first
 * (what `cluster.os` renders) and else the ClusterClass's (`resolution.go` `ConstructQuery`,
 * `constructMDOSImageQueries`; no annotation anywhere: every image matches); `isUnresolved` in the
 * webhook refuses zero or more than one.
 */
function osProblems(settings: TanzuSettings, tkr: TkrObject, cc: ClusterClassObject | undefined, images: OsImageObject[], path: string): FieldError[] {
  const c = settings.cluster;
  const parts: [string, string | undefined][] = c.os
    ? [["the control plane and every node pool", resolveOsImage(c.os)]]
    : [
        ["the control plane", cc?.spec?.controlPlane?.metadata?.annotations?.[RESOLVE_OS_IMAGE_ANNOTATION]],
        ["the node pools", cc?.spec?.workers?.machineDeployments?.find((m) => m.class === WORKER_CLASS)?.template?.metadata?.annotations?.[RESOLVE_OS_IMAGE_ANNOTATION]],
      ];
  const key = `${path}.cluster.os`;
  const shipped = images.map((i) => `${i.spec?.os?.name ?? "?"} ${i.spec?.os?.version ?? "?"}`).join(", ") || "none";
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const [where, selector] of parts) {
    const sel = selector ?? "";
    if (seen.has(sel)) continue;
    seen.add(sel);
    const parsed = parseLabelSelector(sel);
    if ("error" in parsed) continue;
    const n = images.filter((i) => {
      const l = osImageLabels(i);
      return selectorMatches(parsed.requirements, l) && UNWANTED_TKR_LABELS.every((u) => !(u in l));
    }).length;
    const what = c.os ? `cluster.os (${sel})` : selector === undefined ? "no OS choice (cluster.os unset, and the class sets none)" : `the class's default OS (${sel}, cluster.os unset)`;
    if (n === 1) continue;
    out.push({
      path: key,
      message:
        n === 0
          ? `TanzuKubernetesRelease ${tkr.metadata?.name ?? c.release} ships no OS image for ${where} matching ${what} (it ships: ${shipped}): the TKr resolver webhook would deny the Cluster`
          : `${what} matches ${n} of the OS images TanzuKubernetesRelease ${tkr.metadata?.name ?? c.release} ships for ${where} (${shipped}): the TKr resolver needs exactly one; set cluster.os (and cluster.os.version)`,
    });
  }
  return out;
}

function conditionOf(tkr: TkrObject, type: string): Condition | undefined {
  return (tkr.status?.conditions ?? []).find((c) => c?.type === type);
}

/** Where the ClusterClass is looked up: `classNamespace`, else the vSphere Namespace (where the Cluster is). */
export function classNamespaceOf(settings: TanzuSettings): string {
  return settings.cluster.classNamespace ?? settings.namespace.name;
}

/** The Supervisor API paths of the two objects (TKrs are cluster-scoped; v1alpha3 is vSphere 8's TKr API). */
export function releaseObjectPaths(settings: TanzuSettings): { tkr: string; clusterClass?: string } {
  const c = settings.cluster;
  return {
    tkr: `/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesreleases/${encodeURIComponent(c.release)}`,
    ...(c.api === "cluster" ? { clusterClass: `/apis/cluster.x-k8s.io/v1beta1/namespaces/${encodeURIComponent(classNamespaceOf(settings))}/clusterclasses/${encodeURIComponent(c.clusterClass)}` } : {}),
  };
}

const said = (c: Condition) => [c.reason, c.message].filter((x) => x && x.length > 0).join(": ");

/**
 * The decision, pure: what is wrong with `cluster.release` / `cluster.clusterClass` given what the
 * Supervisor holds. Errors name the key; warnings are what the Supervisor will do that the stack
 * cannot check (a ClusterClass without the resolve annotation).
 *
 * `runningRelease`: the release the last update applied (the `tanzuRollout` output). When it is this
 * one, a TKr that has since become not Ready or not Compatible is a warning, not an error: the
 * webhook does not resolve an unchanged release again when the Cluster's `TKR_DATA` already holds the
 * TKr and its OSImage (`tkr/webhook/cluster/tkr-resolver/cluster/cluster.go` `filterOSImageQuery`),
 * so updates of the running cluster go through; a new cluster or another release would be refused.
 * A TKr that is gone stays an error (that function needs it in the resolver's cache).
 */
export function checkSupervisorRelease(
  settings: TanzuSettings,
  observed: SupervisorReleaseObjects,
  path = "vsphere-spark:tanzu",
  runningRelease?: string,
): { errors: FieldError[]; warnings: string[] } {
  const c = settings.cluster;
  const releaseKey = `${path}.cluster.release`;
  const classKey = `${path}.cluster.clusterClass`;
  const all: FieldError[] = [];
  const warnings: string[] = [];
  const running = runningRelease !== undefined && runningRelease === c.release;
  /** Problems of the TKr's state: errors, or warnings for the release the cluster already runs. */
  const stateProblem = (e: FieldError) =>
    running ? warnings.push(`${e.message.replace(/: the TKr resolver refuses it; pick a release.*$/, "")}: the running cluster keeps it (the Supervisor does not resolve an unchanged release again), but a new cluster on it, or a change back to it, would be refused`) : all.push(e);
  const errors = all;
  const release = c.release;
  const ns = classNamespaceOf(settings);

  let tkr: TkrObject | undefined;
  const t = observed.tkr;
  if (t?.state === "missing")
    errors.push({ path: releaseKey, message: `the Supervisor has no TanzuKubernetesRelease "${release}": \`kubectl get tkr\` lists the releases it offers (names are versions with "+" written "---"); one missing there is not in the Supervisor's Kubernetes release library` });
  else if (t?.state === "unreadable") errors.push({ path: releaseKey, message: `could not read TanzuKubernetesRelease "${release}" from the Supervisor: ${t.error}` });
  else if (t?.state === "found") {
    tkr = t.object;
    for (const type of ["Ready", "Compatible"]) {
      const cond = conditionOf(tkr, type);
      if (!cond) stateProblem({ path: releaseKey, message: `TanzuKubernetesRelease ${release} has no ${type} condition yet (the Supervisor has not reconciled it): wait, or pick one \`kubectl get tkr\` shows READY True and COMPATIBLE True` });
      else if (cond.status !== "True")
        stateProblem({
          path: releaseKey,
          message: `TanzuKubernetesRelease ${release} is not ${type} on this Supervisor (${type} ${cond.status ?? "unset"}${said(cond) ? `, ${said(cond)}` : ""}): the TKr resolver refuses it; pick a release \`kubectl get tkr\` shows READY True and COMPATIBLE True`,
        });
    }
    const compatibleFalse = conditionOf(tkr, "Compatible")?.status === "False";
    const unwanted = UNWANTED_TKR_LABELS.filter((l) => Object.prototype.hasOwnProperty.call(tkr!.metadata?.labels ?? {}, l) && !(l === "incompatible" && compatibleFalse));
    if (unwanted.length > 0) stateProblem({ path: releaseKey, message: `TanzuKubernetesRelease ${release} is labelled ${unwanted.join(", ")}: the TKr resolver never selects such a release` });
    // The Cluster's spec.topology.version is the release name; the resolver takes it as a version
    // prefix, so it must be a prefix of the TKr's own version (as a label).
    const version = tkr.spec?.version;
    if (c.api === "cluster" && version && !versionPrefixes(versionLabel(version)).includes(release))
      errors.push({ path: releaseKey, message: `TanzuKubernetesRelease ${release} is version ${version}, of which "${release}" is not a prefix: the TKr resolver would not resolve spec.topology.version ${release} to it` });
  }

  if (c.api === "cluster") {
    const k = observed.clusterClass;
    if (k?.state === "missing")
      errors.push({ path: classKey, message: `the Supervisor has no ClusterClass "${c.clusterClass}" in namespace ${ns} (\`kubectl get clusterclass -n ${ns}\`)${c.classNamespace === undefined ? "; from VKS 3.4 the builtin classes are in vmware-system-vks-public (set cluster.classNamespace)" : ""}` });
    else if (k?.state === "unreadable") errors.push({ path: classKey, message: `could not read ClusterClass "${c.clusterClass}" in namespace ${ns} from the Supervisor: ${k.error}` });
    else if (k?.state === "found") {
      const selector = k.object.metadata?.annotations?.[RESOLVE_TKR_ANNOTATION];
      if (selector === undefined)
        warnings.push(`ClusterClass ${ns}/${c.clusterClass} has no ${RESOLVE_TKR_ANNOTATION} annotation: the Supervisor's TKr resolver skips the Cluster, so nothing checks that ${release} suits this class before the nodes are built`);
      else {
        const parsed = parseLabelSelector(selector);
        if ("error" in parsed) errors.push({ path: classKey, message: `ClusterClass ${ns}/${c.clusterClass} has a ${RESOLVE_TKR_ANNOTATION} selector that does not parse ("${selector}": ${parsed.error})` });
        else if (tkr && !selectorMatches(parsed.requirements, resolverLabels(tkr)))
          errors.push({
            path: releaseKey,
            message: `TanzuKubernetesRelease ${release} is not one ClusterClass ${ns}/${c.clusterClass} (cluster.clusterClass) accepts: its ${RESOLVE_TKR_ANNOTATION} selector "${selector}" does not match the release's labels, so the TKr resolver webhook would deny the Cluster; pick a release the class selects, or another class`,
          });
      }
    }
  }
  // The OS images: only when they were read, for `api: cluster` (the Cluster the webhook resolves),
  // and when the class was read or cluster.os says the selector.
  const cc = observed.clusterClass?.state === "found" ? observed.clusterClass.object : undefined;
  if (c.api === "cluster" && tkr && observed.osImages && (tkr.spec?.osImages?.length ?? 0) > 0 && (c.os || cc)) {
    const os = osProblems(settings, tkr, cc, observed.osImages, path);
    if (running) for (const e of os) warnings.push(`${e.message}: the running cluster keeps its nodes' images, but this would be refused for a new cluster`);
    else errors.push(...os);
  }
  return { errors, warnings };
}
