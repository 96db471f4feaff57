/**
 * `vsphere-spark:kubernetes`: what the user may say about the Kubernetes cluster, the defaults
 * (applied here and nowhere else), and one validator that reports every problem at once.
 */
import type { FieldError } from "../validation";
import { describeValue, isDnsSubdomain } from "../validation";
import { ConfigReader } from "../config-reader";
import { cidrsOverlap, parseCidr } from "../net";
import { parseQuantity, parseThreshold } from "../quantity";
import { DEFAULT_KERNEL_RESERVATION, KernelReservationModel, kernelReservationErrors } from "./node-capacity";
import { clusterAddOns, coveredVersions } from "./add-ons";
import type { CertificateRenewalSettings } from "./cert-renewal";
import { DEFAULT_CERTIFICATE_RENEWAL, resolveCertificateRenewal } from "./cert-renewal";
import type { EtcdBackupSettings } from "./etcd-backup";
import { DEFAULT_ETCD_BACKUP, resolveEtcdBackup } from "./etcd-backup";

export type InstallMode = "preinstalled" | "packages";
export type CniKind = "antrea" | "calico";
export type StorageClassKind = "none" | "vsphere-csi";

/** Resource → quantity, e.g. `{ cpu: "100m", memory: "1Gi" }`. */
export type ResourceReservation = Partial<Record<ReservedResource, string>>;
export type ReservedResource = "cpu" | "memory" | "ephemeral-storage" | "pid";
export const RESERVED_RESOURCES: readonly ReservedResource[] = ["cpu", "memory", "ephemeral-storage", "pid"];

export type EvictionSignal =
  | "memory.available"
  | "nodefs.available"
  | "nodefs.inodesFree"
  | "imagefs.available"
  | "imagefs.inodesFree"
  | "containerfs.available"
  | "containerfs.inodesFree"
  | "pid.available";
export const EVICTION_SIGNALS: readonly EvictionSignal[] = [
  "memory.available",
  "nodefs.available",
  "nodefs.inodesFree",
  "imagefs.available",
  "imagefs.inodesFree",
  "containerfs.available",
  "containerfs.inodesFree",
  "pid.available",
];

export interface KubeletSettings {
  kubeReserved: ResourceReservation;
  systemReserved: ResourceReservation;
  /** Always the full set: the kubelet drops every default signal as soon as one key is set. */
  evictionHard: Partial<Record<EvictionSignal, string>>;
}

export interface CniSettings {
  kind: CniKind;
  /** Helm chart version, pinned (Antrea `2.2.0`; Calico's tigera-operator `v3.29.1`). */
  version: string;
}

/**
 * Which StorageClass later layers (Spark volumes, shuffle spill on PVCs) should use. Not installed
 * by this layer: `vsphere-csi` means "the vSphere CSI driver (`csi.vsphere.vmware.com`) will be
 * installed and this class created"; `none` means executors use node-local `emptyDir` only.
 */
export interface StorageClassSettings {
  kind: StorageClassKind;
  /** StorageClass object name. */
  name: string;
  /** vSphere storage policy (SPBM) the class maps to; vsphere-csi only. */
  storagePolicyName?: string;
}

export interface KubernetesSettings {
  /** Kubernetes version, pinned: `1.31.4` (kubeadm API v1beta4 from 1.31, v1beta3 before). */
  version: string;
  /** `packages`: install containerd (distribution package) and kubeadm/kubelet/kubectl from pkgs.k8s.io at first boot; `preinstalled`: the template has them (checked at boot). */
  installMode: InstallMode;
  /** Debian revision of the pkgs.k8s.io packages (`kubeadm=<version>-<revision>`). */
  packageRevision: string;
  podCidr: string;
  serviceCidr: string;
  dnsDomain: string;
  kubelet: KubeletSettings;
  cni: CniSettings;
  /** How long `pulumi up` waits for `/readyz` through the endpoint (and nodes wait for it). */
  readinessTimeoutMinutes: number;
  /**
   * TTL of the bootstrap tokens (default 24h). The init token expires that long after `kubeadm init`;
   * the workers' join token is renewed for that long by every `pulumi up`, so workers added later
   * join. `0s` = never expires (not recommended: the token sits in every worker's guestinfo).
   */
  bootstrapTokenTtl: string;
  storageClass: StorageClassSettings;
  /** Admin login created on every node when `sshAuthorizedKeys` is not empty. */
  adminUser: string;
  sshAuthorizedKeys: string[];
  /** kube-vip image tag (used only when the endpoint kind is `kube-vip`). */
  kubeVipVersion: string;
  /**
   * What the DaemonSets on each worker request (CNI agent, kube-proxy, and any CSI node plugin, log
   * or metrics agent added later): the Spark executor sizing subtracts it from the node allocatable.
   * Default: what the stack's own DaemonSets request, from the CNI chart of the pinned version
   * (components/cluster/add-ons.ts); a value below that is refused.
   */
  workerDaemonSetRequests: { cpu: string; memory: string };
  /**
   * The share of each VM's RAM the guest kernel keeps (MemTotal = RAM − fixedMiB − fraction × RAM):
   * the kubelet's memory capacity is MemTotal, not the VM's size. Default: fitted to Debian 12's
   * cloud kernel measured under QEMU (components/cluster/node-capacity.ts).
   */
  kernelReservation: KernelReservationModel;
  /** kubeadm's leaf certificates renewed on each control plane before they expire (components/cluster/cert-renewal.ts). */
  certificateRenewal: CertificateRenewalSettings;
  /** etcd snapshots on a schedule, on each control plane (components/cluster/etcd-backup.ts). */
  etcdBackup: EtcdBackupSettings;
}

export const DEFAULT_CNI_VERSIONS: Record<CniKind, string> = { antrea: "2.2.0", calico: "v3.29.1" };
/** Pod CIDR per CNI. Both use 10.244.0.0/16: Calico's own default 192.168.0.0/16 collides with the
 * reference design's node network (192.168.1.0/24), so the Calico IP pool is set explicitly. */
export const DEFAULT_POD_CIDRS: Record<CniKind, string> = { antrea: "10.244.0.0/16", calico: "10.244.0.0/16" };

/**
 * Defaults. Reservations are modest on purpose: on the reference 16 vCPU / 120 GiB worker they leave
 * cpu 15.8 and 120332 MiB allocatable (16 − 0.1 − 0.1; 122880 − 1024 − 1024 − 500), so the
 * 15-core / 112640 MiB Spark executor still fits after the CNI agent and kube-proxy DaemonSets
 * (Antrea's agent requests 200m; kube-proxy requests nothing).
 * evictionHard is kubelet's Linux default set with `memory.available` raised from 100Mi to 500Mi
 * (a JVM-heavy node needs headroom before the OOM killer).
 */
export const DEFAULT_KUBERNETES_SETTINGS: KubernetesSettings = {
  version: "1.31.4",
  installMode: "packages",
  packageRevision: "1.1",
  podCidr: DEFAULT_POD_CIDRS.antrea,
  serviceCidr: "10.96.0.0/12",
  dnsDomain: "cluster.local",
  kubelet: {
    kubeReserved: { cpu: "100m", memory: "1Gi", "ephemeral-storage": "1Gi" },
    systemReserved: { cpu: "100m", memory: "1Gi", "ephemeral-storage": "1Gi" },
    evictionHard: {
      "memory.available": "500Mi",
      "nodefs.available": "10%",
      "nodefs.inodesFree": "5%",
      "imagefs.available": "15%",
      "imagefs.inodesFree": "5%",
    },
  },
  cni: { kind: "antrea", version: DEFAULT_CNI_VERSIONS.antrea },
  readinessTimeoutMinutes: 30,
  bootstrapTokenTtl: "24h",
  storageClass: { kind: "none", name: "vsphere-csi" },
  adminUser: "kadmin",
  sshAuthorizedKeys: [],
  kubeVipVersion: "v0.8.7",
  // The DaemonSets the stack installs: Antrea 2.2.0's agent requests 400m (antrea-agent 200m +
  // antrea-ovs 200m; its install-cni init container 100m), kube-proxy nothing (add-ons.ts).
  workerDaemonSetRequests: daemonSetDefault("antrea", DEFAULT_CNI_VERSIONS.antrea)!,
  kernelReservation: { ...DEFAULT_KERNEL_RESERVATION },
  certificateRenewal: { ...DEFAULT_CERTIFICATE_RENEWAL },
  etcdBackup: { ...DEFAULT_ETCD_BACKUP },
};

/** What the stack's own DaemonSets request with this CNI, as quantities; undefined when the version is not in the table. */
export function daemonSetDefault(kind: CniKind, version: string): { cpu: string; memory: string } | undefined {
  const a = clusterAddOns(kind, version);
  return a.cniKnown ? { cpu: `${a.daemonSets.cpuMilli}m`, memory: `${a.daemonSets.memoryMiB}Mi` } : undefined;
}

/** The oldest Kubernetes minor this library renders for (pkgs.k8s.io repositories, v1beta3). */
export const MIN_KUBERNETES_MINOR = 28;

export function parseKubernetesVersion(v: string): { major: number; minor: number; patch: number } | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

const TOP_KEYS = [
  "version",
  "installMode",
  "packageRevision",
  "podCidr",
  "serviceCidr",
  "dnsDomain",
  "kubeReserved",
  "systemReserved",
  "evictionHard",
  "cni",
  "readinessTimeoutMinutes",
  "bootstrapTokenTtl",
  "storageClass",
  "adminUser",
  "sshAuthorizedKeys",
  "kubeVipVersion",
  "workerDaemonSetRequests",
  "kernelReservation",
  "certificateRenewal",
  "etcdBackup",
] as const;

const SSH_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;
const DURATION = /^(0|(\d+(\.\d+)?(h|m|s|ms))+)$/;
const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * Applies the defaults to what the user wrote and validates it. `errors` lists every problem with
 * its full config path; `settings` is always complete (defaults where the input was unusable).
 */
export function resolveKubernetesSettings(
  raw: unknown,
  path = "vsphere-spark:kubernetes",
  /**
   * Whether the stack installs the CNI of `cni` (kubeadm: yes; Tanzu: the release brings its own).
   * Only then is `workerDaemonSetRequests` held at or above the chart's requests; otherwise the
   * chart's numbers are the default (an estimate) and a given value is taken as it is.
   */
  options: { cniInstalledByStack?: boolean } = {},
): { settings: KubernetesSettings; errors: FieldError[] } {
  const r = new ConfigReader();
  const errors = r.errors;
  const err = (p: string, message: string) => r.err(p, message);
  const d = DEFAULT_KUBERNETES_SETTINGS;
  const s: KubernetesSettings = structuredClone(d);
  if (raw === undefined || raw === null) return { settings: s, errors };
  const o = r.object(raw, path, TOP_KEYS);
  if (!o) return { settings: s, errors };
  const str = (key: string, check: (v: string) => string | undefined): string | undefined => r.optString(o, key, path, check);

  s.version =
    str("version", (v) => {
      const p = parseKubernetesVersion(v);
      if (!p) return `"${v}" is not a pinned version like "1.31.4" (no "v", no ranges)`;
      if (p.major !== 1 || p.minor < MIN_KUBERNETES_MINOR)
        return `Kubernetes ${v} is not supported: use 1.${MIN_KUBERNETES_MINOR}.0 or newer`;
      return undefined;
    }) ?? d.version;
  s.installMode = r.oneOf(o, "installMode", path, d.installMode, ["packages", "preinstalled"] as const);
  s.packageRevision =
    str("packageRevision", (v) => (/^\d+(\.\d+)*$/.test(v) ? undefined : `"${v}" is not a Debian revision like "1.1"`)) ??
    d.packageRevision;
  s.dnsDomain =
    str("dnsDomain", (v) => (isDnsSubdomain(v) ? undefined : `"${v}" is not a DNS domain`)) ?? d.dnsDomain;
  s.bootstrapTokenTtl =
    str("bootstrapTokenTtl", (v) =>
      DURATION.test(v) ? undefined : `"${v}" is not a duration like "24h" or "0s" (never expires)`,
    ) ?? d.bootstrapTokenTtl;
  s.adminUser =
    str("adminUser", (v) =>
      LINUX_USER.test(v) && v !== "root" ? undefined : `"${v}" is not a valid non-root Linux user name`,
    ) ?? d.adminUser;
  s.kubeVipVersion =
    str("kubeVipVersion", (v) => (/^v\d+\.\d+\.\d+$/.test(v) ? undefined : `"${v}" is not a pinned tag like "v0.8.7"`)) ??
    d.kubeVipVersion;

  // CNI first: the pod CIDR default depends on it.
  const cni = o.cni === undefined ? undefined : r.object(o.cni, `${path}.cni`, ["kind", "version"]);
  if (cni) {
    s.cni.kind = r.oneOf(cni, "kind", `${path}.cni`, s.cni.kind, ["antrea", "calico"] as const);
    s.cni.version = DEFAULT_CNI_VERSIONS[s.cni.kind];
    const pattern = s.cni.kind === "calico" ? /^v\d+\.\d+\.\d+$/ : /^\d+\.\d+\.\d+$/;
    s.cni.version =
      r.optString(cni, "version", `${path}.cni`, (v) =>
        pattern.test(v) ? undefined : `must be a pinned ${s.cni.kind} chart version like "${DEFAULT_CNI_VERSIONS[s.cni.kind]}", got "${v}"`,
      ) ?? s.cni.version;
  }
  s.podCidr = DEFAULT_POD_CIDRS[s.cni.kind];
  const cidr = (v: string) => (parseCidr(v) ? undefined : `"${v}" is not an IPv4 CIDR with host bits clear, like "10.244.0.0/16"`);
  s.podCidr = str("podCidr", cidr) ?? s.podCidr;
  s.serviceCidr = str("serviceCidr", cidr) ?? d.serviceCidr;
  const pod = parseCidr(s.podCidr);
  const svc = parseCidr(s.serviceCidr);
  if (pod && svc && cidrsOverlap(pod, svc))
    err(`${path}.serviceCidr`, `${s.serviceCidr} overlaps podCidr ${s.podCidr}`);
  if (pod && pod.prefixLength > 24) err(`${path}.podCidr`, `${s.podCidr} is too small: each node takes a /24`);
  if (svc && (svc.prefixLength < 12 || svc.prefixLength > 24))
    err(`${path}.serviceCidr`, `prefix length must be between /12 and /24, got /${svc.prefixLength}`);

  /** A non-negative Kubernetes quantity (`100m`, `1Gi`; a bare number is taken as text). */
  const quantity = (obj: Record<string, unknown>, key: string, p: string, example: string): string | undefined => {
    const q = obj[key];
    const text = typeof q === "number" ? String(q) : q;
    const n = typeof text === "string" ? parseQuantity(text) : undefined;
    if (typeof text === "string" && n !== undefined && n >= 0) return text;
    err(`${p}.${key}`, `must be a non-negative Kubernetes quantity like ${example}, got ${describeValue(q)}`);
    return undefined;
  };

  for (const key of ["kubeReserved", "systemReserved"] as const) {
    const v = o[key] === undefined ? undefined : r.object(o[key], `${path}.${key}`, RESERVED_RESOURCES);
    if (!v) continue;
    const merged: ResourceReservation = { ...d.kubelet[key] };
    for (const res of RESERVED_RESOURCES) {
      if (v[res] === undefined) continue;
      if (v[res] === null) {
        delete merged[res]; // null removes a default reservation
        continue;
      }
      const text = quantity(v, res, `${path}.${key}`, `"100m" or "1Gi"`);
      if (text === undefined) continue;
      if (res === "pid" && !Number.isInteger(parseQuantity(text))) err(`${path}.${key}.${res}`, `must be a whole number of PIDs`);
      else merged[res] = text;
    }
    s.kubelet[key] = merged;
  }

  // DaemonSets: the stack's own (the CNI chart of the pinned version, kube-proxy) at least.
  const dsPath = `${path}.workerDaemonSetRequests`;
  const own = clusterAddOns(s.cni.kind, s.cni.version);
  s.workerDaemonSetRequests = daemonSetDefault(s.cni.kind, s.cni.version) ?? { cpu: "0", memory: "0" };
  const ds = o.workerDaemonSetRequests === undefined ? undefined : r.object(o.workerDaemonSetRequests, dsPath, ["cpu", "memory"]);
  const installed = options.cniInstalledByStack ?? true;
  if (installed && !own.cniKnown && (ds?.cpu === undefined || ds?.memory === undefined)) {
    err(
      dsPath,
      `is required (cpu and memory): the requests of ${s.cni.kind} ${s.cni.version}'s DaemonSets are not in this library's table (${s.cni.kind} ${coveredVersions(s.cni.kind)}, components/cluster/add-ons.ts); give what its agent pods request on each worker, read from that chart`,
    );
  }
  for (const res of ["cpu", "memory"] as const) {
    if (ds?.[res] === undefined) continue;
    const text = quantity(ds, res, dsPath, `"400m" or "512Mi"`);
    if (text === undefined) continue;
    const floor = res === "cpu" ? own.daemonSets.cpuMilli / 1000 : own.daemonSets.memoryMiB * 2 ** 20;
    if (installed && own.cniKnown && (parseQuantity(text) ?? 0) < floor) {
      const what = own.pods.filter((p) => p.kind === "DaemonSet").map((p) => `${p.name}: ${p.containers.map((c) => `${c.name} ${res === "cpu" ? `${c.cpuMilli}m` : `${c.memoryMiB}Mi`}`).join(" + ")}`).join("; ");
      err(`${dsPath}.${res}`, `is ${text}, less than the stack's own DaemonSets request on each worker with ${s.cni.kind} ${s.cni.version}: ${res === "cpu" ? `${own.daemonSets.cpuMilli}m` : `${own.daemonSets.memoryMiB}Mi`} (${what})`);
      continue;
    }
    s.workerDaemonSetRequests[res] = text;
  }

  const krPath = `${path}.kernelReservation`;
  const kr = o.kernelReservation === undefined ? undefined : r.object(o.kernelReservation, krPath, ["fixedMiB", "fraction"]);
  if (kr) {
    const model = { fixedMiB: kr.fixedMiB ?? d.kernelReservation.fixedMiB, fraction: kr.fraction ?? d.kernelReservation.fraction } as Partial<KernelReservationModel>;
    const problems = kernelReservationErrors(model);
    for (const e of problems) err(`${krPath}.${e.field}`, e.message);
    if (problems.length === 0) s.kernelReservation = model as KernelReservationModel;
  }

  const ev = o.evictionHard === undefined ? undefined : r.object(o.evictionHard, `${path}.evictionHard`, EVICTION_SIGNALS);
  for (const sig of EVICTION_SIGNALS) {
    const t = ev?.[sig];
    if (t === undefined) continue;
    if (typeof t !== "string" || !parseThreshold(t))
      err(`${path}.evictionHard.${sig}`, `must be a quantity like "500Mi" or a percentage like "10%", got ${describeValue(t)}`);
    else s.kubelet.evictionHard[sig] = t;
  }

  s.readinessTimeoutMinutes = r.number(o, "readinessTimeoutMinutes", path, d.readinessTimeoutMinutes, { exclusiveMin: 0, max: 240 });

  s.sshAuthorizedKeys = r.stringList(o, "sshAuthorizedKeys", path, d.sshAuthorizedKeys, (k) =>
    SSH_KEY.test(k) ? undefined : `is not an OpenSSH public key line ("ssh-ed25519 AAAA... comment")`,
  );

  s.certificateRenewal = resolveCertificateRenewal(r, o.certificateRenewal, `${path}.certificateRenewal`);
  s.etcdBackup = resolveEtcdBackup(r, o.etcdBackup, `${path}.etcdBackup`);

  const sc = o.storageClass === undefined ? undefined : r.object(o.storageClass, `${path}.storageClass`, ["kind", "name", "storagePolicyName"]);
  if (sc) {
    const scPath = `${path}.storageClass`;
    s.storageClass.kind = r.oneOf(sc, "kind", scPath, s.storageClass.kind, ["none", "vsphere-csi"] as const);
    s.storageClass.name = r.optString(sc, "name", scPath, (v) => (isDnsSubdomain(v) ? undefined : `must be a DNS subdomain, got "${v}"`)) ?? s.storageClass.name;
    const policy = r.optString(sc, "storagePolicyName", scPath);
    if (policy !== undefined && s.storageClass.kind !== "vsphere-csi") err(`${scPath}.storagePolicyName`, `only applies when kind is "vsphere-csi"`);
    else if (policy !== undefined) s.storageClass.storagePolicyName = policy;
  }
  return { settings: s, errors };
}

/** kubeadm API group version for a Kubernetes version: v1beta4 from 1.31, v1beta3 before. */
export function kubeadmApiVersion(version: string): "kubeadm.k8s.io/v1beta4" | "kubeadm.k8s.io/v1beta3" {
  const p = parseKubernetesVersion(version);
  if (!p) throw new Error(`not a Kubernetes version: ${version}`);
  return p.major > 1 || p.minor >= 31 ? "kubeadm.k8s.io/v1beta4" : "kubeadm.k8s.io/v1beta3";
}


