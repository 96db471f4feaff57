/** Fixtures for the Tanzu tests: the reference stack's settings and the validators of what we render. */
import * as path from "node:path";
import Ajv from "ajv";
import type { ValidateFunction } from "ajv";
import { parse } from "yaml";
import { readSchemaFile } from "../../src/codegen/schemas";
import { readStackFile } from "../../src/plan/stack-file";
import { RESOLVE_TKR_ANNOTATION, classNamespaceOf, resolveTanzuSettings, type ClusterClassObject, type Observed, type SupervisorReleaseObjects, type TanzuSettings, type TkrObject } from "../../components/tanzu";

/** A PEM-shaped certificate for the renderers (never parsed as X.509). */
export const PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTestOnlyNotARealCertificate0wCgYIKoZIzj0EAwIw\n-----END CERTIFICATE-----\n";

export const ROOT = path.resolve(__dirname, "../../..");

/** `vsphere-spark:tanzu` of Pulumi.tanzu.yaml, as written. */
export function referenceRaw(): Record<string, any> {
  return structuredClone(readStackFile(path.join(ROOT, "Pulumi.tanzu.yaml"))["vsphere-spark:tanzu"]) as Record<string, any>;
}

export function resolved(raw: unknown): TanzuSettings {
  const { settings, errors } = resolveTanzuSettings(raw);
  if (errors.length > 0) throw new Error(JSON.stringify(errors, null, 2));
  return settings;
}

/** The reference settings with `edit` applied to the raw configuration first. */
export function reference(edit: (raw: Record<string, any>) => void = () => {}): TanzuSettings {
  const raw = referenceRaw();
  edit(raw);
  return resolved(raw);
}

const cache = new Map<string, ValidateFunction>();
function compile(key: string, make: () => object): ValidateFunction {
  let v = cache.get(key);
  if (!v) {
    v = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(make());
    cache.set(key, v);
  }
  return v;
}

/** `spec.versions[name].schema.openAPIV3Schema` of a vendored CRD. */
function crdSchema(file: string, version: string): object {
  const crd = parse(readSchemaFile(file)) as { spec: { versions: { name: string; schema: { openAPIV3Schema: object } }[] } };
  const v = crd.spec.versions.find((x) => x.name === version);
  if (!v) throw new Error(`${file} has no version ${version}`);
  return v.schema.openAPIV3Schema;
}

export const capiClusterValidator = () => compile("capi", () => crdSchema("tanzu/cluster.x-k8s.io_clusters.capi-v1.10.10.yaml", "v1beta1"));
export const tkcV1alpha2Validator = () => compile("tkc", () => crdSchema("tanzu/run.tanzu.vmware.com_tanzukubernetesclusters.v1alpha2.tanzu-framework.yaml", "v1alpha2"));
export const variablesValidator = (gen: "flat" | "nested") => compile(`vars-${gen}`, () => JSON.parse(readSchemaFile(`tanzu/clusterclass-variables-${gen}.json`)));

export function ajvErrors(v: ValidateFunction): string[] {
  return (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`);
}

type Var = { name: string; value: unknown };

/** Variables as an object, refusing duplicates; `overrides` replace the cluster-wide values. */
export function variablesObject(list: Var[], overrides: Var[] = []): { value: Record<string, unknown>; problems: string[] } {
  const value: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [where, vars] of [["variables", list], ["overrides", overrides]] as const) {
    const seen = new Set<string>();
    for (const v of vars) {
      if (seen.has(v.name)) problems.push(`${where}: duplicate variable ${v.name}`);
      seen.add(v.name);
      value[v.name] = v.value;
    }
  }
  return { value, problems };
}

/**
 * Every problem with a rendered CAPI Cluster: the CRD's schema, then the variables (cluster-wide,
 * and merged with the control plane's and each machine deployment's overrides) against the schema
 * of the generation.
 */
export function capiClusterProblems(manifest: Record<string, any>, gen: "flat" | "nested"): string[] {
  const problems: string[] = [];
  const crd = capiClusterValidator();
  if (!crd(manifest)) problems.push(...ajvErrors(crd).map((e) => `CRD: ${e}`));
  const topo = manifest.spec?.topology ?? {};
  const vars = variablesValidator(gen);
  const check = (where: string, overrides: Var[] = []) => {
    const { value, problems: dup } = variablesObject(topo.variables ?? [], overrides);
    problems.push(...dup.map((d) => `${where}: ${d}`));
    if (!vars(value)) problems.push(...ajvErrors(vars).map((e) => `${where} variables: ${e}`));
  };
  check("cluster");
  check("controlPlane", topo.controlPlane?.variables?.overrides ?? []);
  for (const md of topo.workers?.machineDeployments ?? []) check(`machineDeployment ${md.name}`, md.variables?.overrides ?? []);
  return problems;
}

/**
 * Every problem with a rendered TanzuKubernetesCluster v1alpha3: the public v1alpha2 schema (the
 * v1alpha3 CRD is not published; see schemas/tanzu/README.md) plus the v1alpha3 differences.
 */
export function tkcProblems(manifest: Record<string, any>): string[] {
  const problems: string[] = [];
  if (manifest.apiVersion !== "run.tanzu.vmware.com/v1alpha3") problems.push(`apiVersion ${manifest.apiVersion}`);
  if (manifest.spec?.distribution !== undefined) problems.push("spec.distribution is gone in v1alpha3");
  const v = tkcV1alpha2Validator();
  const asV2 = { ...manifest, apiVersion: "run.tanzu.vmware.com/v1alpha2" };
  if (!v(asV2)) problems.push(...ajvErrors(v).map((e) => `CRD v1alpha2: ${e}`));
  return problems;
}

/**
 * A TanzuKubernetesRelease as `kubectl get tkr -o yaml` shows one on a Supervisor (the fields the
 * release check reads): name = the version's label, Ready and Compatible conditions.
 */
export function tkrObject(name: string, o: { ready?: string; compatible?: string; labels?: Record<string, string>; version?: string; reason?: string; message?: string } = {}): TkrObject {
  const cond = (type: string, status: string | undefined) =>
    status === undefined ? [] : [{ type, status, lastTransitionTime: "2026-11-01T00:00:00Z", ...(status !== "True" && o.reason ? { reason: o.reason } : {}), ...(status !== "True" && o.message ? { message: o.message } : {}) }];
  return {
    metadata: { name, labels: { ...(o.labels ?? {}) } },
    spec: { version: o.version ?? `v${name.replace(/^v/, "").split("---").join("+")}` },
    status: { conditions: [...cond("Ready", o.ready ?? "True"), ...cond("Compatible", o.compatible ?? "True")] },
  };
}

/** A ClusterClass with (or without, `selector: null`) the TKr resolver's annotation. */
export function clusterClassObject(name: string, namespace: string, selector: string | null = ""): ClusterClassObject {
  return { metadata: { name, namespace, ...(selector === null ? {} : { annotations: { [RESOLVE_TKR_ANNOTATION]: selector } }) } };
}

/** A stand-in Supervisor for `TanzuCluster`'s `readReleaseObjects`: the settings' release Ready and Compatible, the class there. */
export function standInSupervisor(objects: { tkr?: Observed<TkrObject>; clusterClass?: Observed<ClusterClassObject> } = {}) {
  const reads: { tkr: boolean; clusterClass: boolean }[] = [];
  const read = async (_kc: string, s: TanzuSettings, which: { tkr: boolean; clusterClass: boolean }): Promise<SupervisorReleaseObjects> => {
    reads.push(which);
    const out: SupervisorReleaseObjects = {};
    if (which.tkr) out.tkr = objects.tkr ?? { state: "found", object: tkrObject(s.cluster.release) };
    if (which.clusterClass) out.clusterClass = objects.clusterClass ?? { state: "found", object: clusterClassObject(s.cluster.clusterClass, classNamespaceOf(s)) };
    return out;
  };
  return { read, reads };
}
