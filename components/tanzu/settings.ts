/**
 * `vsphere-spark:tanzu`: what the user may say about the vSphere with Tanzu back end (the Supervisor
 * to use, the vSphere Namespace to carve out, the VM classes, the workload cluster), the defaults
 * (applied here and nowhere else, in `DEFAULT_TANZU_SETTINGS`), and one resolver that reports every
 * problem at once with its exact key.
 */
import { gpuNodePool, readVmClassGpu } from "./gpu";
import type { FieldError } from "../validation";
import { describeValue, editDistance, isDnsLabel, isDnsSubdomain, labelKeyError, labelValueError } from "../validation";
import { ConfigReader, type Obj } from "../config-reader";
import { cidrContains, cidrsOverlap, isIPv4, parseCidr } from "../net";
import { capacityErrors } from "./capacity";
import { vmClassName } from "./vm-classes";

export * from "./types";
import type { AutoscaleBounds, NodeOs, NamespaceGrant, NamespaceLimits, NodePoolSettings, NodeVolume, ProxySettings, SupervisorAccess, TanzuClusterApi, TanzuContext, TanzuSettings, Taint, TrustedCa, VariablesGeneration, VmClassSpec } from "./types";

/** The ClusterClass of VKS 3.4 (vSphere 8.0U3+), and the namespace it lives in. */
export const DEFAULT_CLUSTER_CLASS = "builtin-generic-v3.4.0";
export const VKS_PUBLIC_NAMESPACE = "vmware-system-vks-public";

/**
 * Defaults, in one table. The CIDRs are the TanzuKubernetesCluster defaults (vendored README,
 * schemas/tanzu): 192.168.0.0/16 for pods, 10.96.0.0/12 for services.
 */
export const DEFAULT_TANZU_SETTINGS = {
  supervisorPort: 6443,
  access: "sso" as SupervisorAccess,
  insecureSkipTlsVerify: false,
  vcpuMHz: 2400,
  clusterName: "spark",
  api: "cluster" as TanzuClusterApi,
  clusterClass: DEFAULT_CLUSTER_CLASS,
  controlPlaneReplicas: 3 as 1 | 3,
  podCidr: "192.168.0.0/16",
  serviceCidr: "10.96.0.0/12",
  serviceDomain: "cluster.local",
  cni: "antrea" as const,
  readyTimeoutMinutes: 60,
};

/**
 * A Kubernetes release name: `v1.31.4---vmware.1-fips-vkr.3`, `v1.26.5---vmware.2-fips.1-tkg.1`
 * (the TKR/KR name: the semver with `+` written as `---`).
 */
export const RELEASE_NAME = /^v1\.(\d+)\.(\d+)---vmware\.\d+(-[a-z0-9]+(\.[a-z0-9]+)*)*$/;

/**
 * The oldest Kubernetes minor accepted on Tanzu: 1.25, the first without PodSecurityPolicy (removed
 * upstream in 1.25, kubernetes/kubernetes CHANGELOG-1.25). TKG clusters up to v1.24 enforce PSP and
 * admit pods only through a RoleBinding to VMware's `psp:vmware-system-privileged` (or `-restricted`)
 * ClusterRole (vSphere with Tanzu docs, "Using Pod Security Policies with Tanzu Kubernetes
 * Clusters"); from v1.25 they use Pod Security Admission, which the Spark layer's namespace labels
 * configure. Refusing the old releases is simpler and safer than binding a privileged policy to
 * every service account.
 */
export const MIN_TANZU_MINOR = 25;

/** The Kubernetes minor of a release name (`v1.31.4---vmware.1-fips-vkr.3` → 31). */
export function releaseMinor(release: string): number | undefined {
  const m = RELEASE_NAME.exec(release);
  return m ? Number(m[1]) : undefined;
}

/**
 * The variables generation a ClusterClass uses, when its name tells: `tanzukubernetescluster` and
 * `builtin-generic-vX.Y.Z` before 3.2.0 are flat, 3.2.0 and later nested; others unknown.
 */
export function generationOfClass(clusterClass: string): VariablesGeneration | undefined {
  if (clusterClass === "tanzukubernetescluster") return "flat";
  const m = /^builtin-generic-v(\d+)\.(\d+)\.(\d+)$/.exec(clusterClass);
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 3 || (major === 3 && minor >= 2) ? "nested" : "flat";
}

/**
 * Where the ClusterClass lives by default: VKS 3.4 moved the `builtin-generic-*` classes to the
 * system namespace `vmware-system-vks-public` (class `builtin-generic-v3.4.0` and later); up to VKS
 * 3.3 (`builtin-generic-v3.3.0` and before) and for `tanzukubernetescluster` they are in every
 * vSphere Namespace, so the Cluster names no `classNamespace`. Sources: vsphere-tmm/vsphere-supervisor
 * `cluster-clusterclass-examples.md` at 04ac4cab (the v3.4.0 example sets
 * `classNamespace: vmware-system-vks-public`, the earlier ones none).
 */
export function defaultClassNamespace(clusterClass: string): string | undefined {
  const m = /^builtin-generic-v(\d+)\.(\d+)\.(\d+)$/.exec(clusterClass);
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 3 || (major === 3 && minor >= 4) ? VKS_PUBLIC_NAMESPACE : undefined;
}

/**
 * The class VKS ships that a name not quite like one was meant to be (`builtin-generic-v3.4`,
 * `builtin-generic-3.4.0`, `tanzukubernetesclusters`), or undefined for a name of its own.
 */
export function nearMissClusterClass(clusterClass: string): string | undefined {
  if (generationOfClass(clusterClass)) return undefined;
  const b = /^builtin[-_]?generic[-_]?v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/i.exec(clusterClass);
  if (b) return `builtin-generic-v${b[1]}.${b[2] ?? "0"}.${b[3] ?? "0"}`;
  if (editDistance(clusterClass.toLowerCase(), "tanzukubernetescluster") <= 3) return "tanzukubernetescluster";
  return undefined;
}

/** The StorageClass name vSphere derives from a storage policy name (lower case, blanks to `-`). */
export function storageClassOfPolicy(policy: string): string {
  return policy.trim().toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^-+|-+$/g, "");
}

const KEYS = {
  top: ["supervisor", "namespace", "vmClasses", "cluster"],
  supervisor: ["id", "address", "networks", "releaseLibrary", "port", "access", "user", "caPem", "insecureSkipTlsVerify"],
  namespace: ["name", "storagePolicies", "contentLibraries", "limits", "access"],
  access: ["subject", "type", "role"],
  limits: ["cpuMHz", "memoryGiB", "storageGiB", "vcpuMHz"],
  vmClass: ["cpus", "memoryGiB", "cpuReservation", "memoryReservation", "guaranteed", "existing", "vgpuDevices"],
  cluster: [
    "name", "api", "clusterClass", "classNamespace", "variables", "release", "controlPlane", "nodePools", "sparkPool",
    "storageClass", "podCidr", "serviceCidr", "serviceDomain", "cni", "trustedCas", "proxy", "readyTimeoutMinutes",
    "ntpServers", "os",
  ],
  os: ["name", "version"],
  controlPlane: ["replicas", "vmClass", "volumes"],
  nodePool: ["name", "replicas", "minReplicas", "maxReplicas", "vmClass", "volumes", "labels", "taints"],
  volume: ["name", "mountPath", "capacityGiB", "storageClass"],
  taint: ["key", "value", "effect"],
  trustedCa: ["name", "pem"],
  proxy: ["httpProxy", "httpsProxy", "noProxy"],
} as const;

const PEM_CERT = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/;
const PROXY_URL = /^https?:\/\/[^\s/]+(:\d+)?\/?$/;

/**
 * Applies the defaults to what the user wrote and validates it. `errors` lists every problem with
 * its full config path; `settings` is always complete (placeholders where the input was unusable).
 * Cross-field rules (class references, capacity) are checked too: see `checkTanzuSettings`.
 */
export function resolveTanzuSettings(
  raw: unknown,
  path = "vsphere-spark:tanzu",
  context: TanzuContext = {},
): { settings: TanzuSettings; errors: FieldError[] } {
  const r = new ConfigReader();
  const d = DEFAULT_TANZU_SETTINGS;
  if (raw === undefined || raw === null) r.err(path, "is required when the back end is tanzu");
  const o = raw === undefined || raw === null ? undefined : r.object(raw, path, KEYS.top);

  // --- supervisor
  const sp = `${path}.supervisor`;
  if (o) r.has(o, "supervisor", path);
  const so = o?.supervisor === undefined ? undefined : r.object(o.supervisor, sp, KEYS.supervisor);
  const access = r.oneOf(so, "access", sp, d.access, ["sso", "kubeconfig"] as const);
  const supervisor: TanzuSettings["supervisor"] = {
    id: r.requiredString(so, "id", sp, (v) => (v.trim() === v && v.length > 0 ? undefined : `must be the Supervisor's id, got "${v}"`)) ?? "",
    address: r.requiredString(so, "address", sp, (v) => (isDnsSubdomain(v) || isIPv4(v) ? undefined : `"${v}" is not a host name or IPv4 address`)) ?? "",
    networks: r.stringList(so, "networks", sp, []),
    port: r.number(so, "port", sp, d.supervisorPort, { integer: true, min: 1, max: 65535 }),
    access,
    insecureSkipTlsVerify: r.boolean(so, "insecureSkipTlsVerify", sp, d.insecureSkipTlsVerify),
  };
  const user = access === "sso" ? r.requiredString(so, "user", sp, (v) => (/^[^@\s]+@[^@\s]+$/.test(v) ? undefined : `must be an SSO user like "administrator@vsphere.local", got "${v}"`)) : r.optString(so, "user", sp);
  if (user !== undefined) {
    if (access !== "sso") r.err(`${sp}.user`, `only applies when access is "sso"`);
    else supervisor.user = user;
  }
  const releaseLibrary = r.optString(so, "releaseLibrary", sp);
  if (releaseLibrary !== undefined) supervisor.releaseLibrary = releaseLibrary;
  const caPem = r.optString(so, "caPem", sp, (v) => (PEM_CERT.test(v) ? undefined : "must be a PEM certificate (-----BEGIN CERTIFICATE-----)"));
  if (caPem !== undefined) supervisor.caPem = caPem;
  if (caPem !== undefined && supervisor.insecureSkipTlsVerify) r.err(`${sp}.insecureSkipTlsVerify`, "cannot be true when caPem is set");

  // --- namespace
  const np = `${path}.namespace`;
  if (o) r.has(o, "namespace", path);
  const no = o?.namespace === undefined ? undefined : r.object(o.namespace, np, KEYS.namespace);
  const namespace: TanzuSettings["namespace"] = {
    name: r.requiredString(no, "name", np, (v) => (isDnsLabel(v) ? undefined : `"${v}" is not a DNS label (lower case letters, digits, "-"; at most 63)`)) ?? "",
    storagePolicies: r.stringList(no, "storagePolicies", np, []),
    contentLibraries: r.stringList(no, "contentLibraries", np, []),
    access: [],
  };
  if (no?.access !== undefined) {
    const seen = new Set<string>();
    (r.list(no.access, `${np}.access`) ?? []).forEach((item, i) => {
      const ip = `${np}.access[${i}]`;
      const ao = r.object(item, ip, KEYS.access);
      if (!ao) return;
      const subject = r.requiredString(ao, "subject", ip, (v) => (/^[^@\s/]+@[^@\s/]+$/.test(v) ? undefined : `must be an SSO user or group with its domain, like "spark-devs@vsphere.local", got "${v}"`));
      const type = r.oneOf(ao, "type", ip, "user", ["user", "group"] as const);
      const role = r.oneOf(ao, "role", ip, "edit", ["edit", "owner", "view"] as const);
      if (subject === undefined) return;
      const at = subject.lastIndexOf("@");
      const grant: NamespaceGrant = { subject: subject.slice(0, at), domain: subject.slice(at + 1), type: type === "group" ? "GROUP" : "USER", role: role.toUpperCase() as NamespaceGrant["role"] };
      const key = `${grant.type} ${subject.toLowerCase()}`;
      if (seen.has(key)) r.err(`${ip}.subject`, `${type} "${subject}" is listed twice (one role per subject)`);
      else namespace.access.push(grant);
      seen.add(key);
    });
  }
  // The Kubernetes release (TKR) library is the Supervisor's, set in the TKG Service settings;
  // attached to a namespace as a VM Service library it makes no release available (VMware docs,
  // "Administering Kubernetes Releases for TKG Service Clusters").
  namespace.contentLibraries.forEach((l, i) => {
    if (supervisor.releaseLibrary !== undefined && l === supervisor.releaseLibrary)
      r.err(`${np}.contentLibraries[${i}]`, `"${l}" is the Kubernetes release library (supervisor.releaseLibrary): VMware manages it in the TKG Service settings, and attaching it as a VM Service library here does not make releases available; remove it from this list`);
    else if (/kubernetes (service )?content library|\btkr\b|tanzu kubernetes release/i.test(l))
      r.err(`${np}.contentLibraries[${i}]`, `"${l}" looks like the Kubernetes release library: that one is set in the TKG Service settings (say it as supervisor.releaseLibrary), not attached as a VM Service library; list only VM Service image libraries here`);
  });
  if (no && namespace.storagePolicies.length === 0 && no.storagePolicies === undefined) r.err(`${np}.storagePolicies`, "is required: at least one storage policy for the node disks");
  else if (no && Array.isArray(no.storagePolicies) && no.storagePolicies.length === 0) r.err(`${np}.storagePolicies`, "must list at least one storage policy");
  if (no?.limits !== undefined) {
    const lp = `${np}.limits`;
    const lo = r.object(no.limits, lp, KEYS.limits);
    if (lo) {
      const limits: NamespaceLimits = { vcpuMHz: r.number(lo, "vcpuMHz", lp, d.vcpuMHz, { integer: true, min: 100, max: 10000 }) };
      const cpu = r.optNumber(lo, "cpuMHz", lp, { integer: true, min: 1 });
      const mem = r.optNumber(lo, "memoryGiB", lp, { exclusiveMin: 0 });
      const sto = r.optNumber(lo, "storageGiB", lp, { exclusiveMin: 0 });
      if (cpu !== undefined) limits.cpuMHz = cpu;
      if (mem !== undefined) limits.memoryMiB = Math.round(mem * 1024);
      if (sto !== undefined) limits.storageMiB = Math.round(sto * 1024);
      namespace.limits = limits;
    }
  }

  // --- VM classes
  const cp = `${path}.vmClasses`;
  const nsName = namespace.name === "" ? "namespace" : namespace.name;
  const vmClasses: Record<string, VmClassSpec> = {};
  if (o) r.has(o, "vmClasses", path);
  if (o?.vmClasses !== undefined) {
    const co = o.vmClasses;
    if (typeof co !== "object" || co === null || Array.isArray(co)) r.err(cp, `must be an object of VM classes by name, got ${describeValue(co)}`);
    else {
      if (Object.keys(co).length === 0) r.err(cp, "must define at least one VM class");
      for (const [key, v] of Object.entries(co as Obj)) {
        const p = `${cp}.${key}`;
        if (!isDnsLabel(key)) r.err(p, `"${key}" is not a DNS label (the class name is derived from it)`);
        const x = r.object(v, p, KEYS.vmClass);
        if (!x) continue;
        const cpus = r.requiredNumber(x, "cpus", p, { integer: true, min: 1, max: 768 });
        const memGiB = r.requiredNumber(x, "memoryGiB", p, { exclusiveMin: 0, max: 24576 });
        const cpuRes = r.optNumber(x, "cpuReservation", p, { integer: true, min: 0, max: 100 });
        const memRes = r.optNumber(x, "memoryReservation", p, { integer: true, min: 0, max: 100 });
        const existing = r.optString(x, "existing", p, (v) => (isDnsSubdomain(v) ? undefined : `"${v}" is not a VM class name`));
        // `guaranteed: true`: VMware's "guaranteed" class shape, the whole CPU and memory reserved
        // (cpuReservation = memoryReservation = 100, vm-classes.ts), for JVM-heavy executors.
        const guaranteed = r.boolean(x, "guaranteed", p, false);
        if (guaranteed)
          for (const k of ["cpuReservation", "memoryReservation"] as const)
            if (x[k] !== undefined) r.err(`${p}.${k}`, `cannot be set with guaranteed: true (which reserves 100 percent)`);
        if (memGiB !== undefined && !Number.isInteger(memGiB * 1024)) r.err(`${p}.memoryGiB`, `must be a whole number of MiB, got ${memGiB} GiB`);
        if (cpus === undefined || memGiB === undefined || !Number.isInteger(memGiB * 1024) || !isDnsLabel(key)) continue;
        const spec: VmClassSpec = { cpus, memoryMiB: memGiB * 1024 };
        if (cpuRes !== undefined) spec.cpuReservation = cpuRes;
        if (memRes !== undefined) spec.memoryReservation = memRes;
        if (guaranteed) Object.assign(spec, { cpuReservation: 100, memoryReservation: 100 });
        readVmClassGpu(r, x, p, spec);
        if (existing !== undefined) {
          // An adopted class is vCenter's as it is: its reservations are not ours to say.
          for (const k of ["cpuReservation", "memoryReservation", "guaranteed"] as const)
            if (x[k] !== undefined) r.err(`${p}.${k}`, `cannot be set with existing (the class "${existing}" keeps its own reservations)`);
          spec.existing = existing;
          vmClasses[key] = spec;
          continue;
        }
        // The namespace's name is part of the class name (vm-classes.ts); without a valid one the length is not known yet.
        const derived = vmClassName(nsName, key, spec);
        if (!isDnsLabel(derived)) r.err(p, `the class name derived from namespace, key and size ("${derived}") is longer than 63 characters: shorten the key or namespace.name, or adopt a class with existing`);
        else vmClasses[key] = spec;
      }
    }
  }
  const classKeys = o?.vmClasses && typeof o.vmClasses === "object" && !Array.isArray(o.vmClasses) ? Object.keys(o.vmClasses as Obj) : [];
  const classRef = (v: string) => (classKeys.includes(v) ? undefined : `"${v}" is not one of vmClasses (${classKeys.join(", ") || "none defined"})`);

  // --- cluster
  const kp = `${path}.cluster`;
  if (o) r.has(o, "cluster", path);
  const ko = o?.cluster === undefined ? undefined : r.object(o.cluster, kp, KEYS.cluster);
  const api = r.oneOf(ko, "api", kp, d.api, ["cluster", "tkc"] as const);
  const clusterClass = r.string(ko, "clusterClass", kp, d.clusterClass, (v) => (isDnsSubdomain(v) ? undefined : `"${v}" is not a ClusterClass name`));
  if (api === "tkc" && ko?.clusterClass !== undefined) r.err(`${kp}.clusterClass`, `only applies when api is "cluster"`);
  const known = generationOfClass(clusterClass);
  const variables = r.oneOf(ko, "variables", kp, known ?? "nested", ["flat", "nested"] as const);
  if (api === "cluster" && known && ko?.variables !== undefined && variables !== known)
    r.err(`${kp}.variables`, `ClusterClass ${clusterClass} uses the ${known} variables, not ${variables}`);
  const nearMiss = api === "cluster" && ko?.clusterClass !== undefined ? nearMissClusterClass(clusterClass) : undefined;
  if (nearMiss !== undefined)
    r.err(`${kp}.clusterClass`, `"${clusterClass}" is not a ClusterClass VKS ships (did you mean "${nearMiss}"? \`kubectl get clusterclass -A\` on the Supervisor lists them)`);
  else if (api === "cluster" && !known && ko?.variables === undefined && ko?.clusterClass !== undefined)
    r.err(`${kp}.variables`, `is required for ClusterClass ${clusterClass}, a class of your own: say "flat" (like builtin-generic-v3.1.0 and before) or "nested" (like v3.2.0 and later)`);
  if (api === "tkc" && ko?.variables !== undefined) r.err(`${kp}.variables`, `only applies when api is "cluster"`);
  let classNamespace = r.optString(ko, "classNamespace", kp, (v) => (isDnsLabel(v) ? undefined : `"${v}" is not a namespace name`));
  if (classNamespace !== undefined && api === "tkc") r.err(`${kp}.classNamespace`, `only applies when api is "cluster"`);
  // The builtin-generic classes live in a system namespace from VKS 3.4 on; before, and tanzukubernetescluster, in every vSphere Namespace.
  if (classNamespace === undefined && api === "cluster") classNamespace = defaultClassNamespace(clusterClass);

  const volumes = (x: Obj | undefined, p: string): NodeVolume[] => {
    const v = x?.volumes;
    if (v === undefined) return [];
    const items = r.list(v, `${p}.volumes`) ?? [];
    const out: NodeVolume[] = [];
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const ip = `${p}.volumes[${i}]`;
      const vo = r.object(item, ip, KEYS.volume);
      if (!vo) return;
      const name = r.requiredString(vo, "name", ip, (s) => (isDnsLabel(s) ? undefined : `"${s}" is not a DNS label`));
      const mountPath = r.requiredString(vo, "mountPath", ip, (s) => (/^\/[^\s]*[^/\s]$/.test(s) ? undefined : `"${s}" is not an absolute path`));
      const capacityGiB = r.requiredNumber(vo, "capacityGiB", ip, { integer: true, min: 1 });
      const storageClass = r.optString(vo, "storageClass", ip, (s) => (isDnsSubdomain(s) ? undefined : `"${s}" is not a StorageClass name`));
      if (name !== undefined && seen.has(name)) r.err(`${ip}.name`, `duplicate volume name "${name}"`);
      if (name !== undefined) seen.add(name);
      if (name === undefined || mountPath === undefined || capacityGiB === undefined) return;
      out.push(storageClass === undefined ? { name, mountPath, capacityGiB } : { name, mountPath, capacityGiB, storageClass });
    });
    return out;
  };

  const cpo = ko?.controlPlane === undefined ? undefined : r.object(ko.controlPlane, `${kp}.controlPlane`, KEYS.controlPlane);
  if (ko) r.has(ko, "controlPlane", kp);
  const cpReplicas = r.number(cpo, "replicas", `${kp}.controlPlane`, d.controlPlaneReplicas, { integer: true, min: 1, max: 3 });
  if (cpo?.replicas !== undefined && cpReplicas === 2) r.err(`${kp}.controlPlane.replicas`, "must be 1 or 3 (etcd needs an odd quorum), got 2");
  const controlPlane: TanzuSettings["cluster"]["controlPlane"] = {
    replicas: cpReplicas === 1 ? 1 : 3,
    vmClass: r.requiredString(cpo, "vmClass", `${kp}.controlPlane`, classRef) ?? "",
    volumes: volumes(cpo, `${kp}.controlPlane`),
  };

  const nodePools: NodePoolSettings[] = [];
  /** Pool name → its index in the list as written (for error paths). */
  const poolIndex = new Map<string, number>();
  if (ko) r.has(ko, "nodePools", kp);
  if (ko?.nodePools !== undefined) {
    const items = r.list(ko.nodePools, `${kp}.nodePools`) ?? [];
    if (Array.isArray(ko.nodePools) && items.length === 0) r.err(`${kp}.nodePools`, "must list at least one node pool");
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const ip = `${kp}.nodePools[${i}]`;
      const po = r.object(item, ip, KEYS.nodePool);
      if (!po) return;
      const name = r.requiredString(po, "name", ip, (s) => (isDnsLabel(s) ? undefined : `"${s}" is not a DNS label`));
      if (name !== undefined && seen.has(name)) r.err(`${ip}.name`, `duplicate node pool name "${name}"`);
      if (name !== undefined) seen.add(name);
      let replicas: number | undefined;
      let autoscale: AutoscaleBounds | undefined;
      if (po.minReplicas === undefined && po.maxReplicas === undefined) replicas = r.requiredNumber(po, "replicas", ip, { integer: true, min: 0, max: 1000 });
      else {
        // Cluster API's autoscaler: bounds as MachineDeployment annotations, replicas left unset in
        // the topology (see AUTOSCALER_MIN_ANNOTATION in render.ts).
        const min = r.requiredNumber(po, "minReplicas", ip, { integer: true, min: 0, max: 1000 });
        const max = r.requiredNumber(po, "maxReplicas", ip, { integer: true, min: 1, max: 1000 });
        if (po.replicas !== undefined)
          r.err(`${ip}.replicas`, "cannot be set with minReplicas/maxReplicas: the Cluster Autoscaler owns the replicas, and Cluster API's autoscaler docs require them unset in the Cluster topology (set, the topology controller and the autoscaler fight over them)");
        if (api === "tkc") r.err(`${ip}.${po.minReplicas !== undefined ? "minReplicas" : "maxReplicas"}`, `only applies when api is "cluster": a TanzuKubernetesCluster node pool has no annotations for the autoscaler's bounds`);
        if (min === 0) r.err(`${ip}.minReplicas`, "must be at least 1: scaling a pool from zero needs the autoscaler's capacity annotations, which this stack does not write");
        if (min !== undefined && max !== undefined && max < min) r.err(`${ip}.maxReplicas`, `${max} is less than minReplicas ${min}`);
        if (min !== undefined && max !== undefined && min >= 1 && max >= min && po.replicas === undefined && api === "cluster") {
          replicas = min;
          autoscale = { min, max };
        }
      }
      const vmClass = r.requiredString(po, "vmClass", ip, classRef);
      const labels = r.stringMap(po, "labels", ip, (k, v, p) => {
        if (labelKeyError(k)) r.err(p, `"${k}" is not a Kubernetes label key`);
        else if (labelValueError(v)) r.err(p, `"${v}" is not a Kubernetes label value`);
      });
      const taints: Taint[] = [];
      if (po.taints !== undefined) {
        (r.list(po.taints, `${ip}.taints`) ?? []).forEach((t, j) => {
          const tp = `${ip}.taints[${j}]`;
          const to = r.object(t, tp, KEYS.taint);
          if (!to) return;
          const key = r.requiredString(to, "key", tp, (s) => (labelKeyError(s) ? `"${s}" is not a taint key` : undefined));
          const value = r.optString(to, "value", tp, (s) => (labelValueError(s) ? `"${s}" is not a taint value` : undefined));
          const effect = to.effect === undefined ? (r.has(to, "effect", tp), undefined) : r.oneOf(to, "effect", tp, "NoSchedule", ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const);
          if (key !== undefined && effect !== undefined) taints.push(value === undefined ? { key, effect } : { key, value, effect });
        });
      }
      const vols = volumes(po, ip);
      if (name !== undefined && replicas !== undefined && vmClass !== undefined) {
        nodePools.push(gpuNodePool(autoscale ? { name, replicas, autoscale, vmClass, volumes: vols, labels, taints } : { name, replicas, vmClass, volumes: vols, labels, taints }, vmClasses));
        if (!poolIndex.has(name)) poolIndex.set(name, i);
      }
    });
  }
  const poolNames = nodePools.map((p) => p.name);
  const sparkPool = r.optString(ko, "sparkPool", kp, (v) => (poolNames.length === 0 || poolNames.includes(v) ? undefined : `"${v}" is not one of nodePools (${poolNames.join(", ")})`));
  const spark = nodePools.find((p) => p.name === (sparkPool ?? poolNames[0]));
  // The CPU executors' pool cannot be a vGPU pool: its nodes carry the GPU taint (tanzu/gpu.ts).
  if (spark && vmClasses[spark.vmClass]?.vgpuDevices?.length) {
    r.err(ko?.sparkPool !== undefined ? `${kp}.sparkPool` : `${kp}.nodePools[${poolIndex.get(spark.name)}].vmClass`, `node pool "${spark.name}" is a vGPU pool (class "${spark.vmClass}" has vgpuDevices): its nodes are tainted ${"nvidia.com/gpu"}; run the executors on a pool without GPUs (sparkPool)`);
  }
  if (spark && spark.replicas === 0)
    r.err(`${kp}.nodePools[${poolIndex.get(spark.name)}].replicas`, `must be at least 1: executors run on pool "${spark.name}"`);
  if (sparkPool === undefined && ko?.sparkPool === undefined && nodePools.length > 1)
    r.err(`${kp}.sparkPool`, `is required with more than one node pool: name the pool executors run on (${poolNames.join(", ")})`);

  const storageClassDefault = namespace.storagePolicies[0] === undefined ? "" : storageClassOfPolicy(namespace.storagePolicies[0]);
  const storageClass = r.string(ko, "storageClass", kp, storageClassDefault, (v) => (isDnsSubdomain(v) ? undefined : `"${v}" is not a StorageClass name`));

  const cidr = (v: string) => (parseCidr(v) ? undefined : `"${v}" is not an IPv4 CIDR with host bits clear, like "192.168.0.0/16"`);
  const podCidr = r.string(ko, "podCidr", kp, d.podCidr, cidr);
  const serviceCidr = r.string(ko, "serviceCidr", kp, d.serviceCidr, cidr);
  const pod = parseCidr(podCidr);
  const svc = parseCidr(serviceCidr);
  if (pod && svc && cidrsOverlap(pod, svc)) r.err(`${kp}.serviceCidr`, `${serviceCidr} overlaps podCidr ${podCidr}`);
  if (pod && pod.prefixLength > 24) r.err(`${kp}.podCidr`, `${podCidr} is too small: each node takes a /24`);
  if (svc && (svc.prefixLength < 12 || svc.prefixLength > 24)) r.err(`${kp}.serviceCidr`, `prefix length must be between /12 and /24, got /${svc.prefixLength}`);
  // The Supervisor's own addresses must stay reachable from the nodes: a pod or service network that
  // holds one routes it into the cluster (one node's pod /24 would capture the Supervisor's VIP).
  // VMware: "Cannot overlap with Supervisor Cluster" (TanzuKubernetesCluster network settings), and
  // the vSphere Automation API's `NCPClusterNetworkEnableSpec.pod_cidrs` ("should not overlap with
  // ... ingress_cidrs, egress_cidrs, or other services running in the datacenter").
  supervisor.networks.forEach((n, i) => {
    if (!parseCidr(n)) r.err(`${sp}.networks[${i}]`, `"${n}" is not an IPv4 CIDR with host bits clear, like "192.168.10.0/24"`);
  });
  for (const [key, net] of [["podCidr", pod], ["serviceCidr", svc]] as const) {
    if (!net) continue;
    const value = key === "podCidr" ? podCidr : serviceCidr;
    if (isIPv4(supervisor.address) && cidrContains(net, supervisor.address))
      r.err(`${kp}.${key}`, `${value} contains the Supervisor's address ${supervisor.address} (${sp}.address): the nodes would route it into the cluster; choose a range outside the Supervisor's networks`);
    supervisor.networks.forEach((n, i) => {
      const c = parseCidr(n);
      if (c && cidrsOverlap(net, c)) r.err(`${kp}.${key}`, `${value} overlaps the Supervisor's network ${n} (${sp}.networks[${i}])`);
    });
  }

  const trustedCas: TrustedCa[] = [];
  if (ko?.trustedCas !== undefined) {
    const seen = new Set<string>();
    (r.list(ko.trustedCas, `${kp}.trustedCas`) ?? []).forEach((item, i) => {
      const ip = `${kp}.trustedCas[${i}]`;
      const to = r.object(item, ip, KEYS.trustedCa);
      if (!to) return;
      const name = r.requiredString(to, "name", ip, (s) => (isDnsLabel(s) ? undefined : `"${s}" is not a DNS label`));
      const pem = r.requiredString(to, "pem", ip, (s) => (PEM_CERT.test(s) ? undefined : "must be one PEM certificate (-----BEGIN CERTIFICATE-----)"));
      if (name !== undefined && seen.has(name)) r.err(`${ip}.name`, `duplicate name "${name}"`);
      if (name !== undefined) seen.add(name);
      if (name !== undefined && pem !== undefined) trustedCas.push({ name, pem });
    });
  }
  const serviceDomain = r.string(ko, "serviceDomain", kp, d.serviceDomain, (v) => (isDnsSubdomain(v) ? undefined : `"${v}" is not a DNS domain`));
  let proxy: ProxySettings | undefined;
  if (ko?.proxy !== undefined) {
    const pp = `${kp}.proxy`;
    const po = r.object(ko.proxy, pp, KEYS.proxy);
    const url = (s: string) => (PROXY_URL.test(s) ? undefined : `"${s}" is not a proxy URL like "http://proxy.example:3128"`);
    const httpProxy = r.requiredString(po, "httpProxy", pp, url);
    const httpsProxy = r.requiredString(po, "httpsProxy", pp, url);
    const noProxy = r.stringList(po, "noProxy", pp, []);
    if (po && httpProxy !== undefined && httpsProxy !== undefined) {
      // The cluster's own networks and its service domain (the one configured) never go through the proxy.
      const implicit = [podCidr, serviceCidr, `.${serviceDomain}`].filter((x) => !noProxy.includes(x));
      proxy = { httpProxy, httpsProxy, noProxy: [...noProxy, ...implicit] };
    }
  }

  // NTP: the nested generation's `osConfiguration.ntp.servers` (a list), the flat generation's `ntp`
  // (one string); a TanzuKubernetesCluster has no NTP field (v1alpha2 CRD, schemas/tanzu; VMware's
  // v1alpha3 settings list none). Source: vsphere-tmm/vsphere-supervisor cluster-clusterclass-examples.md at 04ac4cab.
  const ntpServers = r.stringList(ko, "ntpServers", kp, [], (v) => (isDnsSubdomain(v) || isIPv4(v) ? undefined : `"${v}" is not a host name or IPv4 address`));
  // Duplicates, at their index as written (the list above leaves bad items out).
  if (Array.isArray(ko?.ntpServers))
    (ko!.ntpServers as unknown[]).forEach((v, i, all) => {
      if (typeof v === "string" && all.indexOf(v) !== i) r.err(`${kp}.ntpServers[${i}]`, `"${v}" is listed twice`);
    });
  if (ko?.ntpServers !== undefined && Array.isArray(ko.ntpServers) && ko.ntpServers.length === 0) r.err(`${kp}.ntpServers`, "must list at least one server (leave the key out for the ClusterClass's default)");
  if (ko?.ntpServers !== undefined && api === "tkc") r.err(`${kp}.ntpServers`, `only applies when api is "cluster": a TanzuKubernetesCluster has no NTP setting`);
  else if (api === "cluster" && variables === "flat" && ntpServers.length > 1)
    r.err(`${kp}.ntpServers`, `the flat ClusterClass variables (${clusterClass}) take one NTP server (the \`ntp\` variable is a string), got ${ntpServers.length}`);
  // The node OS: annotation `run.tanzu.vmware.com/resolve-os-image: os-name=<name>[,os-version=<v>]`.
  let os: NodeOs | undefined;
  if (ko?.os !== undefined) {
    const op = `${kp}.os`;
    const oo = r.object(ko.os, op, KEYS.os);
    if (oo) {
      r.has(oo, "name", op);
      const name = oo.name === undefined ? undefined : r.oneOf(oo, "name", op, "ubuntu", ["ubuntu", "photon"] as const);
      const version = r.optString(oo, "version", op, (v) => (/^\d+(\.\d+)*$/.test(v) ? undefined : `"${v}" is not an OS version like "24.04"`));
      if (name !== undefined && (oo.name === "ubuntu" || oo.name === "photon")) os = version === undefined ? { name } : { name, version };
    }
  }

  const release = r.requiredString(ko, "release", kp, (v) =>
    !RELEASE_NAME.test(v)
      ? `"${v}" is not a Kubernetes release name like "v1.31.4---vmware.1-fips-vkr.3" (\`kubectl get kr\`; "+" is written "---")`
      : releaseMinor(v)! < MIN_TANZU_MINOR
        ? `${v} is Kubernetes 1.${releaseMinor(v)}, which enforces PodSecurityPolicy: TKG clusters up to v1.24 admit a pod only through a binding to a PSP ` +
          `(VMware's psp:vmware-system-privileged / -restricted), which the Spark layer does not create, so its pods would be rejected. Use a release of v1.${MIN_TANZU_MINOR} or later (Pod Security Admission)`
        : undefined,
  );

  const settings: TanzuSettings = {
    supervisor,
    namespace,
    vmClasses,
    cluster: {
      name: r.string(ko, "name", kp, d.clusterName, (v) => (isDnsLabel(v) && v.length <= 41 ? undefined : `"${v}" is not a DNS label of at most 41 characters`)),
      api,
      clusterClass: api === "cluster" ? clusterClass : "",
      variables: api === "cluster" ? variables : "nested",
      release: release ?? "",
      controlPlane,
      nodePools,
      sparkPool: sparkPool ?? poolNames[0] ?? "",
      storageClass,
      podCidr,
      serviceCidr,
      serviceDomain,
      cni: r.oneOf(ko, "cni", kp, d.cni, ["antrea", "calico"] as const),
      trustedCas,
      ntpServers,
      readyTimeoutMinutes: r.number(ko, "readyTimeoutMinutes", kp, d.readyTimeoutMinutes, { exclusiveMin: 0, max: 480 }),
    },
  };
  if (classNamespace !== undefined && api === "cluster") settings.cluster.classNamespace = classNamespace;
  if (proxy) settings.cluster.proxy = proxy;
  if (os) settings.cluster.os = os;
  if (api === "cluster" && ko?.cni !== undefined) r.err(`${kp}.cni`, `only applies when api is "tkc" (the ClusterClass installs Antrea)`);
  // Capacity whenever the pieces it adds up resolved cleanly (else its totals would be wrong).
  const sizing = [`${path}.vmClasses`, `${kp}.controlPlane`, `${kp}.nodePools`, `${np}.limits`];
  if (!r.errors.some((e) => sizing.some((p) => e.path === p || e.path.startsWith(`${p}.`) || e.path.startsWith(`${p}[`))))
    r.errors.push(...capacityErrors(settings, context, path));
  return { settings, errors: r.errors };
}
