/**
 * The rules for changing a running kubeadm cluster (docs/lifecycle.md): given the state the last
 * `pulumi up` applied and the state this one would apply, which changes are refused (each with the
 * config key and the exact steps to do it by hand) and which are only noted (safe, or reaching new
 * nodes only). Pure; `test/cluster/lifecycle.test.ts` holds the table.
 *
 * How it is used (the Tanzu back end's rollout rule, components/tanzu/rollout.ts, is the model):
 * - `KubeadmVsphereCluster` exports the state it applied as the stack output `clusterLifecycle`
 *   (`clusterLifecycleState`); the program reads the last deployed value back through a
 *   StackReference to the stack itself (`lastAppliedClusterState`) *before* the cluster component is
 *   created, and the component refuses to register anything when the check refuses.
 * - The offline plan runs the same check given a previous state (`plan --previous FILE`, or the base
 *   plan's `clusterLifecycle` output under `plan --compare`).
 *
 * Facts the rules rest on (cited where they are used):
 * - Kubernetes version-skew policy (kubernetes/website content/en/releases/version-skew-policy.md,
 *   release-1.35): "kubelet must not be newer than kube-apiserver"; HA kube-apiserver instances
 *   within one minor version; kubeadm upgrades one minor version at a time
 *   (content/en/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade.md: "skipping MINOR versions
 *   when upgrading is unsupported").
 * - hashicorp/terraform-provider-vsphere @ f9e95e27558fe265afd59ccfbbb35b623b5cdcd6,
 *   vsphere/virtual_machine_config_structure.go, `expandCPUCountConfig` / `expandMemorySizeConfig`:
 *   adding vCPUs without `cpu_hot_add_enabled` (its pre-update value), removing vCPUs without
 *   `cpu_hot_remove_enabled`, adding memory without `memory_hot_add_enabled`, and removing memory
 *   always set `reboot_required`: the provider powers the VM off and on. The VMs here set none of
 *   the hot-add flags, so every vCPU or memory change of a running VM is a power cycle.
 * - The same provider (components/vsphere/reboot.ts holds it as a table, REBOOT_ON_ANY_CHANGE):
 *   vsphere/resource_vsphere_virtual_machine.go, applyVirtualDevices: a `pci_device_id` change sets
 *   `reboot_required` (passthrough devices are not hot-pluggable), so a GPU worker whose devices change
 *   (other PCI ids, or another GPU count) is powered off and on like a resize. Its 64-bit MMIO window
 *   (`pciPassthru.64bitMMIOSizeGB`) is an `extraConfig` key, and the VMs' `extraConfig` is
 *   ignoreChanges (components/vsphere/topology.ts: it carries the first-boot user-data): a new window
 *   never reaches a running VM, which then boots with the old window and its new devices.
 * - The same provider, vsphere/resource_vsphere_virtual_machine.go CustomizeDiff: every `clone.*`
 *   change is ForceNew (src/plan/compare/replacement.ts holds it as a table).
 * - kubernetes/kubernetes @ 00886ac01fec1c8432967e8bb597828f46a9ba8b, cmd/kubeadm/app/constants/
 *   constants.go: `CertificateValidityPeriod = time.Hour * 24 * 365` (every signed leaf certificate),
 *   `CACertificateValidityPeriod` ten years, `DefaultCertTokenDuration = 2 * time.Hour` (the upload-certs
 *   token: kube-system/kubeadm-certs is gone two hours after `kubeadm init --upload-certs`).
 *   kubernetes/website content/en/docs/tasks/administer-cluster/kubeadm/kubeadm-certs.md: a control
 *   plane upgrade renews the leaf certificates; `kubeadm certs renew` renews them by hand.
 */
import * as pulumi from "@pulumi/pulumi";
import { selfStackReference } from "../self-reference";
import type { FieldError } from "../validation";
import { ConfigReader } from "../config-reader";
import type { ClusterSpec } from "./topology";
import { controlPlaneNodes } from "./topology";
import { parseKubernetesVersion } from "./settings";
import { APISERVER_PORT } from "./types";
import { LEAF_CERTIFICATE_DAYS } from "./cert-renewal";
import { DEFAULT_REBOOT_TIMEOUT_MINUTES } from "./power-cycle";
import { quorum } from "./retire";

/** The stack output that carries the applied state. */
export const LIFECYCLE_OUTPUT = "clusterLifecycle";
/** Version of the state's shape; a reader refuses a state of another format rather than guess. */
export const LIFECYCLE_STATE_FORMAT = 1;

export interface LifecycleNode {
  name: string;
  role: "control-plane" | "worker" | "load-balancer";
  address: string;
  macAddress: string;
  cpus: number;
  memoryMiB: number;
  /**
   * The scratch disk at /var/lib/kubelet (`vmProfiles.<p>.scratchDiskGiB`; 0: none). Absent in a state
   * written before it was recorded (or rebuilt from `vms`): unknown, and then not compared.
   */
  scratchDiskGiB?: number;
  /**
   * The node's failure domain (`vsphere-spark:zones`; its `topology.kubernetes.io/zone` label, set at
   * first boot). Absent: the node has no zone (a stack without zones, or a state written before zones).
   */
  zone?: string;
  /**
   * A GPU worker's passthrough devices as its VM has them (components/vsphere/gpu.ts, gpuVmInputs):
   * the hosts' PCI ids (`pciDeviceIds`) and the 64-bit MMIO window (GiB). Absent: no devices, or a
   * state written before they were recorded (then not compared).
   */
  gpu?: NodeDevices;
}

/** A VM's passthrough devices (vSphere-layer facts the change rules record, LifecycleContext.devices). */
export interface NodeDevices {
  pciDeviceIds: string[];
  mmioSizeGiB: number;
}

/** What the rules compare between two updates (plain JSON, stored as a stack output). */
export interface ClusterLifecycleState {
  format: number;
  clusterName: string;
  kubernetesVersion: string;
  installMode: string;
  /** The VM template every node was cloned from (`inventory.template`). */
  template: string;
  endpoint: { kind: string; address: string; port: number };
  podCidr: string;
  serviceCidr: string;
  dnsDomain: string;
  /** Every node; control planes in their order (the first one ran `kubeadm init`). */
  nodes: LifecycleNode[];
  /** Settings read at a node's first boot only, by the config key (leaf) they come from. */
  firstBoot: Record<string, unknown>;
  /** When the cluster was first created (ISO date; carried from update to update). */
  createdAt?: string;
  /** Rebuilt from an older stack's `vms` output (`stateFromVmsOutput`): only the nodes are known. */
  legacy?: boolean;
  /**
   * Every worker and control-plane VM was registered with its retirement hook (beforeDelete), so
   * removing one in the next update drains it first (components/cluster/retire-hooks.ts). Absent in
   * a state written by an older version.
   */
  retireHooks?: boolean;
  /**
   * Control planes joining this cluster once it exists are rendered by a version that joins them
   * with the shared CA files in their guestinfo and the workers' join token (kubeadm's manual
   * certificate distribution, components/cluster/topology.ts renderControlPlaneNode), and this
   * update kept that token's Secret in kube-system (KubeadmClusterAccess): adding control planes
   * needs nothing by hand. Absent in a state written by an older version.
   */
  sharedPkiJoins?: boolean;
}

/** The acknowledgements a user gives after doing a refusal's steps (`vsphere-spark:lifecycle`). */
export interface LifecycleSettings {
  /** Nodes prepared by hand for this change, as the refusal's steps say. */
  preparedNodes: string[];
  /** Allows going from several control planes to one (no etcd quorum left to lose, no HA either). */
  allowSingleControlPlane: boolean;
  /** The Kubernetes version every node runs after a manual `kubeadm upgrade`. */
  upgradedKubernetesVersion?: string;
  /** How long retiring a node may wait for its pods' evictions (PodDisruptionBudgets); default 15. */
  drainTimeoutMinutes?: number;
  /** How long a node powered off and on by an update (a resize) may take to come back; default 15. */
  rebootTimeoutMinutes?: number;
}

export const DEFAULT_LIFECYCLE_SETTINGS: LifecycleSettings = { preparedNodes: [], allowSingleControlPlane: false };
const LIFECYCLE_KEYS = ["preparedNodes", "allowSingleControlPlane", "upgradedKubernetesVersion", "drainTimeoutMinutes", "rebootTimeoutMinutes"] as const;

/** `vsphere-spark:lifecycle` with its defaults, and every problem with it. */
export function resolveLifecycleSettings(raw: unknown, path = "vsphere-spark:lifecycle"): { settings: LifecycleSettings; errors: FieldError[] } {
  const r = new ConfigReader();
  if (raw === undefined || raw === null) return { settings: { ...DEFAULT_LIFECYCLE_SETTINGS, preparedNodes: [] }, errors: [] };
  const o = r.object(raw, path, LIFECYCLE_KEYS);
  const preparedNodes = r.stringList(o, "preparedNodes", path, []);
  const allowSingleControlPlane = r.boolean(o, "allowSingleControlPlane", path, false);
  const upgradedKubernetesVersion = r.optString(o, "upgradedKubernetesVersion", path, (v) =>
    parseKubernetesVersion(v) ? undefined : `"${v}" is not a pinned version like "1.32.0"`,
  );
  const drainTimeoutMinutes = r.optNumber(o, "drainTimeoutMinutes", path, { min: 1, max: 1440 });
  const drain = drainTimeoutMinutes !== undefined ? { drainTimeoutMinutes } : {};
  const rebootTimeoutMinutes = r.optNumber(o, "rebootTimeoutMinutes", path, { min: 1, max: 1440 });
  const reboot = rebootTimeoutMinutes !== undefined ? { rebootTimeoutMinutes } : {};
  return { settings: { preparedNodes, allowSingleControlPlane, upgradedKubernetesVersion, ...drain, ...reboot }, errors: r.errors };
}

/** The node-level inputs the state needs besides the cluster spec. */
export interface LifecycleContext {
  /** `inventory.template`. */
  template: string;
  /** The previous state's `createdAt`, or now for a new cluster (absent in the offline plan: no clock). */
  createdAt?: string;
  /** Passthrough devices per VM name (the vSphere layer's GPU placement); absent or missing: none. */
  devices?: Record<string, NodeDevices>;
}

/** The state this update applies (deterministic: the same decisions give the same JSON). */
export function clusterLifecycleState(spec: ClusterSpec, ctx: LifecycleContext): ClusterLifecycleState {
  const s = spec.settings;
  const cps = controlPlaneNodes(spec);
  // Control planes first, in their order; then the others in the spec's order.
  const ordered = [...cps, ...spec.nodes.filter((n) => n.role !== "control-plane")];
  return {
    format: LIFECYCLE_STATE_FORMAT,
    clusterName: spec.clusterName,
    kubernetesVersion: s.version,
    installMode: s.installMode,
    template: ctx.template,
    endpoint: { kind: spec.endpoint.kind, address: spec.endpoint.address, port: spec.endpoint.port },
    podCidr: s.podCidr,
    serviceCidr: s.serviceCidr,
    dnsDomain: s.dnsDomain,
    nodes: ordered.map((n) => ({ name: n.name, role: n.role, address: n.address, macAddress: n.macAddress, cpus: n.cpus, memoryMiB: n.memoryMiB, scratchDiskGiB: n.scratchDiskGiB ?? 0, ...(n.topology ? { zone: n.topology.zone } : {}), ...(ctx.devices?.[n.name] ? { gpu: { pciDeviceIds: [...ctx.devices[n.name].pciDeviceIds], mmioSizeGiB: ctx.devices[n.name].mmioSizeGiB } } : {}) })),
    firstBoot: {
      "network.dnsServers": [...spec.network.dnsServers],
      "network.searchDomains": [...spec.network.searchDomains],
      "kubernetes.bootstrapTokenTtl": s.bootstrapTokenTtl,
      "kubernetes.adminUser": s.adminUser,
      "kubernetes.sshAuthorizedKeys": [...s.sshAuthorizedKeys],
      "kubernetes.kubeReserved": s.kubelet.kubeReserved,
      "kubernetes.systemReserved": s.kubelet.systemReserved,
      "kubernetes.evictionHard": s.kubelet.evictionHard,
      "kubernetes.installMode": s.installMode,
      "kubernetes.packageRevision": s.packageRevision,
      "kubernetes.kubeVipVersion": s.kubeVipVersion,
      "kubernetes.certificateRenewal": s.certificateRenewal,
      "kubernetes.etcdBackup": s.etcdBackup,
    },
    ...(ctx.createdAt !== undefined ? { createdAt: ctx.createdAt } : {}),
    retireHooks: true,
    sharedPkiJoins: true,
  };
}

const ROLES = ["control-plane", "worker", "load-balancer"];
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A previous state read back from the stack output. `undefined` when there is none (a new stack);
 * `problem` when there is one this program does not understand (refused rather than taken as new).
 */
export function parseClusterLifecycleState(v: unknown): { state?: ClusterLifecycleState; problem?: string } {
  if (v === undefined || v === null) return {};
  const bad = (why: string) => ({ problem: `the stack output ${LIFECYCLE_OUTPUT} is not a state this program understands (${why})` });
  if (!isObj(v)) return bad("not an object");
  if (v.format !== LIFECYCLE_STATE_FORMAT) return bad(`format ${JSON.stringify(v.format)}, expected ${LIFECYCLE_STATE_FORMAT}`);
  for (const k of ["clusterName", "kubernetesVersion", "installMode", "template", "podCidr", "serviceCidr", "dnsDomain"]) {
    if (typeof v[k] !== "string") return bad(`${k} is not a string`);
  }
  const e = v.endpoint;
  if (!isObj(e) || typeof e.kind !== "string" || typeof e.address !== "string" || typeof e.port !== "number") return bad("endpoint");
  if (!Array.isArray(v.nodes)) return bad("nodes is not a list");
  for (const n of v.nodes) {
    if (!isObj(n) || typeof n.name !== "string" || !ROLES.includes(n.role as string) || typeof n.address !== "string" || typeof n.macAddress !== "string" || typeof n.cpus !== "number" || typeof n.memoryMiB !== "number" || (n.scratchDiskGiB !== undefined && typeof n.scratchDiskGiB !== "number") || (n.zone !== undefined && typeof n.zone !== "string") || (n.gpu !== undefined && !devicesOk(n.gpu)))
      return bad(`node ${JSON.stringify(isObj(n) ? n.name : n)}`);
  }
  if (!isObj(v.firstBoot)) return bad("firstBoot");
  if (v.createdAt !== undefined && typeof v.createdAt !== "string") return bad("createdAt");
  if (v.retireHooks !== undefined && typeof v.retireHooks !== "boolean") return bad("retireHooks");
  if (v.sharedPkiJoins !== undefined && typeof v.sharedPkiJoins !== "boolean") return bad("sharedPkiJoins");
  return { state: v as unknown as ClusterLifecycleState };
}

function devicesOk(g: unknown): boolean {
  return isObj(g) && Array.isArray(g.pciDeviceIds) && g.pciDeviceIds.every((x) => typeof x === "string") && typeof g.mmioSizeGiB === "number";
}

/**
 * A stack deployed before the `clusterLifecycle` output existed still has its `vms` output (name,
 * role, CPU, memory, address, MAC of every VM): the nodes are checked against it; the rest (version,
 * template, endpoint, networks, first-boot settings) is taken as unchanged, and a note says so.
 * `undefined` when `vms` is not such a map.
 */
export function stateFromVmsOutput(vms: unknown, next: ClusterLifecycleState): ClusterLifecycleState | undefined {
  if (!isObj(vms) || Object.keys(vms).length === 0) return undefined;
  const nodes: LifecycleNode[] = [];
  for (const [name, v] of Object.entries(vms)) {
    if (!isObj(v) || !ROLES.includes(v.role as string) || typeof v.cpus !== "number" || typeof v.memoryMiB !== "number" || typeof v.ipAddress !== "string" || typeof v.macAddress !== "string") return undefined;
    nodes.push({ name, role: v.role as LifecycleNode["role"], address: v.ipAddress, macAddress: v.macAddress, cpus: v.cpus, memoryMiB: v.memoryMiB });
  }
  // Control planes first, in name order (the slot order: host order, as controlPlaneNodes gives them).
  const order = (n: LifecycleNode) => (n.role === "control-plane" ? 0 : 1);
  const ranked = new Map(next.nodes.map((n, i) => [n.name, i]));
  nodes.sort((a, b) => order(a) - order(b) || (ranked.get(a.name) ?? 1e9) - (ranked.get(b.name) ?? 1e9) || (a.name < b.name ? -1 : 1));
  const { createdAt: _unknown, retireHooks: _notYet, sharedPkiJoins: _notKnown, ...rest } = next;
  return { ...rest, nodes, firstBoot: { ...next.firstBoot }, legacy: true } as ClusterLifecycleState;
}

export interface ChangeCheck {
  /** Changes refused, each naming the config key and the steps. Any one refuses the whole update. */
  refusals: FieldError[];
  /** What the update does that a user should know (safe, or not reaching running nodes). */
  notes: string[];
  /**
   * Of `notes`, those on control planes joining and on HAProxy's backends, which `plan --compare`
   * shows as the program words them (src/plan/compare/program-rules.ts); retirements it words itself
   * from the VMs' hooks. Absent when there are none.
   */
  membershipNotes?: string[];
}

export interface CheckOptions {
  /** The acknowledgements (`vsphere-spark:lifecycle`). */
  lifecycle?: LifecycleSettings;
  /** Config key of a leaf, e.g. `inventory.template` → `vsphere-spark:inventory.template`. */
  key?: (leaf: string) => string;
  /** Today, for the certificate expiry note (absent: no note). */
  now?: Date;
}

/** kubeadm's leaf certificate validity (constants.go `CertificateValidityPeriod`), kept with the renewal script. */
export { LEAF_CERTIFICATE_DAYS };

/** JSON with object keys sorted: a state read back from a stack output need not keep key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

/** What the plan says of a retired node (the resource hooks of components/cluster/retire-hooks.ts). */
export const RETIRED_WORKER = "drained and removed before deletion: cordoned, its pods evicted through the eviction API and its Node deleted before its VM is deleted";
export const RETIRED_CP = "drained and removed before deletion: drained, its etcd member removed through the remaining members and its Node deleted before its VM is deleted";
/** kubectl drain's usual timeout in the manual steps, and the hooks' default (retire.ts DEFAULT_DRAIN_TIMEOUT_MINUTES). */
const DEFAULT_DRAIN_MINUTES = 15;

const steps = (lines: string[]) => lines.map((l, i) => `\n      ${i + 1}. ${l}`).join("");
const list = (names: string[]) => names.join(", ");

const ETCDCTL =
  "kubectl -n kube-system exec etcd-<a remaining control plane> -- etcdctl --endpoints=https://127.0.0.1:2379 " +
  "--cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/server.crt --key=/etc/kubernetes/pki/etcd/server.key";
/** Drain through the eviction API: PodDisruptionBudgets are honoured, and the timeout fails naming the pods left. */
const DRAIN = (n: string) => `\`kubectl drain ${n} --ignore-daemonsets --delete-emptydir-data --timeout=15m\``;

/**
 * The rules. No previous state (a new stack): nothing to check. The refusals are every refused
 * change at once; the notes say what reaches running nodes and what does not.
 */
export function checkClusterChange(previous: ClusterLifecycleState | undefined, next: ClusterLifecycleState, opts: CheckOptions = {}): ChangeCheck {
  const refusals: FieldError[] = [];
  const notes: string[] = [];
  if (!previous) return { refusals, notes };
  if (previous.legacy)
    notes.push(
      `the stack has no ${LIFECYCLE_OUTPUT} output yet (deployed by an earlier version): its nodes are checked against the \`vms\` output; ` +
        "Kubernetes version, template, endpoint, networks and first-boot settings are not checked in this update (this update records them)",
    );
  const ack = opts.lifecycle ?? DEFAULT_LIFECYCLE_SETTINGS;
  const key = opts.key ?? ((leaf: string) => `vsphere-spark:${leaf}`);
  const refuse = (leaf: string, message: string) => refusals.push({ path: key(leaf), message });
  const prepared = new Set(ack.preparedNodes);
  const ackKey = key("lifecycle.preparedNodes");
  const newStack = "build the changed cluster as a new stack (`pulumi stack init`), move the workloads, then `pulumi destroy` the old one";

  // The cluster's identity: the VMs' MACs are derived from its name, the nodes' configuration names it.
  if (previous.clusterName !== next.clusterName) {
    refuse("clusterName", `renames the running cluster (${previous.clusterName} → ${next.clusterName}): every VM's MAC is derived from it and the nodes' kubeadm configuration names it. Steps:${steps([`set it back to "${previous.clusterName}"`, newStack])}`);
  }

  // The API endpoint.
  const pe = previous.endpoint;
  const ne = next.endpoint;
  if (pe.kind !== ne.kind || pe.address !== ne.address || pe.port !== ne.port) {
    refuse(
      "endpoint",
      `changes the API endpoint of a running cluster (${pe.kind} ${pe.address}:${pe.port} → ${ne.kind} ${ne.address}:${ne.port}): the API server certificates' SANs, ` +
        "controlPlaneEndpoint in kube-system/kubeadm-config, kube-public/cluster-info, kube-proxy's kubeconfig and every node's kubelet.conf name the old one, " +
        `and control-plane user-data (kube-vip) is read at first boot only, so the API would become unreachable. Steps:${steps([
          `keep endpoint as it was (kind ${pe.kind}, address ${pe.address}, port ${pe.port})`,
          newStack,
        ])}`,
    );
  }

  // Networks every Pod, Service and the CNI were set up with.
  for (const [leaf, a, b, what] of [
    ["kubernetes.podCidr", previous.podCidr, next.podCidr, "every Pod IP and the CNI's IP pool"],
    ["kubernetes.serviceCidr", previous.serviceCidr, next.serviceCidr, "every Service ClusterIP, the API server certificate (its first address) and kube-dns's address"],
    ["kubernetes.dnsDomain", previous.dnsDomain, next.dnsDomain, "every kubelet's clusterDomain and every Pod's DNS search path"],
  ] as const) {
    if (a !== b) refuse(leaf, `changes ${a} → ${b} on a running cluster: ${what} come from it, so the cluster would be split between old and new nodes. Steps:${steps([`set it back to ${a}`, newStack])}`);
  }

  // Nodes by name: kept, added, removed.
  const prevBy = new Map(previous.nodes.map((n) => [n.name, n]));
  const nextBy = new Map(next.nodes.map((n) => [n.name, n]));
  const kept = next.nodes.filter((n) => prevBy.has(n.name));
  const added = next.nodes.filter((n) => !prevBy.has(n.name));
  const removed = previous.nodes.filter((n) => !nextBy.has(n.name));

  // Template: clone.* is ForceNew, so every kept VM would be replaced at once.
  if (previous.template !== next.template && kept.length > 0) {
    refuse(
      "inventory.template",
      `changes the template (${previous.template} → ${next.template}) of ${kept.length} running VMs: a clone change replaces every one of them in one update ` +
        "(terraform-provider-vsphere: clone.* is ForceNew), control planes and load balancer included, each deleted before its replacement is cloned " +
        `(a VM and its replacement share a name, a MAC and an address, so they cannot exist side by side): every node down at once, etcd's quorum lost with the control planes, the API with the load balancer. Steps:${steps([
          `keep inventory.template: ${previous.template} (new VMs clone it too)`,
          `to patch the nodes' OS, one node at a time: ${DRAIN("<node>")}; on the node \`sudo apt-get update && sudo apt-get upgrade -y && sudo reboot\`; wait until it is Ready; \`kubectl uncordon <node>\` (control planes: wait for \`etcdctl endpoint health\` between nodes)`,
          `or, for a new image: ${newStack}`,
        ])}`,
    );
  }

  // Kubernetes version (refused unless the nodes were upgraded by hand to exactly this version).
  if (previous.kubernetesVersion !== next.kubernetesVersion) {
    const from = parseKubernetesVersion(previous.kubernetesVersion);
    const to = parseKubernetesVersion(next.kubernetesVersion);
    const leaf = "kubernetes.version";
    if (ack.upgradedKubernetesVersion === next.kubernetesVersion && next.installMode !== "preinstalled") {
      notes.push(`${key(leaf)}: ${previous.kubernetesVersion} → ${next.kubernetesVersion}, acknowledged by ${key("lifecycle.upgradedKubernetesVersion")} (every node upgraded by hand): nodes created from now on install ${next.kubernetesVersion}`);
    } else if (from && to && (to.major !== from.major || to.minor < from.minor || (to.minor === from.minor && to.patch < from.patch))) {
      refuse(leaf, `downgrades Kubernetes (${previous.kubernetesVersion} → ${next.kubernetesVersion}): kubeadm does not downgrade a cluster. Steps:${steps([`set it back to ${previous.kubernetesVersion}`])}`);
    } else if (next.installMode === "preinstalled") {
      refuse(
        leaf,
        `changes the Kubernetes version (${previous.kubernetesVersion} → ${next.kubernetesVersion}) with installMode preinstalled: new nodes run the template's kubelet, and a template change is refused while VMs are kept. Steps:${steps([
          `set it back to ${previous.kubernetesVersion}`,
          `${newStack} (with a template carrying ${next.kubernetesVersion})`,
        ])}`,
      );
    } else {
      const skip = from && to && to.minor > from.minor + 1;
      const target = skip ? `1.${from!.minor + 1}.<latest patch>` : next.kubernetesVersion;
      const pkg = (...ps: string[]) =>
        `\`sudo apt-mark unhold ${ps.join(" ")} && sudo apt-get update && sudo apt-get install -y ${ps.map((p) => `${p}='${target}-*'`).join(" ")} && sudo apt-mark hold ${ps.join(" ")}\``;
      const repo = from && to && to.minor !== from.minor ? `; first point /etc/apt/sources.list.d/kubernetes.list at the new minor's repository (…/core:/stable:/v1.${from.minor + 1}/deb/)` : "";
      const cps = previous.nodes.filter((n) => n.role === "control-plane").map((n) => n.name);
      const workers = previous.nodes.filter((n) => n.role === "worker").map((n) => n.name);
      refuse(
        leaf,
        `changes the Kubernetes version of a running cluster (${previous.kubernetesVersion} → ${next.kubernetesVersion}): nothing would upgrade the running nodes (user-data is first-boot only), ` +
          "and workers added afterwards would run a kubelet newer than the API servers, which the version-skew policy forbids (a kubelet must not be newer than kube-apiserver)" +
          (skip ? `; kubeadm upgrades one minor version at a time, so go through 1.${from!.minor + 1} first` : "") +
          `. Steps (kubeadm upgrade, control planes first, one node at a time; drains honour PodDisruptionBudgets):${steps([
            `keep ${key(leaf)}: ${previous.kubernetesVersion} until step 6`,
            `on ${cps[0] ?? "the first control plane"}${repo}: ${pkg("kubeadm")}; \`sudo kubeadm upgrade plan\`; \`sudo kubeadm upgrade apply v${target}\``,
            `on each other control plane in turn (${list(cps.slice(1)) || "none"}): ${pkg("kubeadm")}; \`sudo kubeadm upgrade node\``,
            `each control plane in turn: ${DRAIN("<node>")}; ${pkg("kubelet", "kubectl")}; \`sudo systemctl daemon-reload && sudo systemctl restart kubelet\`; \`kubectl uncordon <node>\``,
            `each worker in turn (${workers.length} of them): ${DRAIN("<node>")}; ${pkg("kubeadm")}; \`sudo kubeadm upgrade node\`; ${pkg("kubelet", "kubectl")}; \`sudo systemctl daemon-reload && sudo systemctl restart kubelet\`; \`kubectl uncordon <node>\``,
            `set ${key(leaf)}: ${target} and ${key("lifecycle.upgradedKubernetesVersion")}: ${target}, then \`pulumi up\` (new nodes install ${target})`,
          ])}`,
      );
    }
  }

  // Kept nodes: address and MAC are first-boot facts of the guest.
  for (const n of kept) {
    const p = prevBy.get(n.name)!;
    if (p.address !== n.address)
      refuse(`network.addresses.${n.name}`, `changes the address of running node ${n.name} (${p.address} → ${n.address}): the guest keeps its first-boot address, so the program would talk to and advertise the wrong one. Steps:${steps([`pin it: ${key(`network.addresses.${n.name}`)}: ${p.address}`])}`);
    if (p.macAddress !== n.macAddress)
      refuse(`network.macAddresses.${n.name}`, `changes the MAC of running node ${n.name} (${p.macAddress} → ${n.macAddress}): the NIC would change in place and no longer match the guest's network configuration (matched by MAC), cutting the node off. Steps:${steps([`pin it: ${key(`network.macAddresses.${n.name}`)}: "${p.macAddress}"`])}`);
  }

  // Control planes.
  const prevCps = previous.nodes.filter((n) => n.role === "control-plane");
  const nextCps = next.nodes.filter((n) => n.role === "control-plane");
  // A different first control plane (its host removed from, or moved in, controlPlane.hosts): only
  // the first render of a cluster runs `kubeadm init`; once a previous state exists every control
  // plane the program renders joins (components/cluster/bootstrap.ts, clusterExists), and a running
  // node never sees its user-data again. So nothing starts a second cluster: the old first one, if it
  // goes, is retired as any control plane (the rules below), and the rest is order.
  if (prevCps.length > 0 && nextCps.length > 0 && prevCps[0].name !== nextCps[0].name) {
    notes.push(
      `${nextCps[0].name} is now first in the control-plane order instead of ${prevCps[0].name}: nothing re-runs \`kubeadm init\` (once the cluster exists every control plane the program renders joins it; running ones keep their first-boot configuration)` +
        (removed.some((n) => n.name === prevCps[0].name) ? `; ${prevCps[0].name}, which ran \`kubeadm init\`, is removed as any other control plane` : ""),
    );
  }
  const removedCps = removed.filter((n) => n.role === "control-plane");
  // Whether the running VMs carry their retirement hook: the engine runs the hook stored with a
  // VM's state, so a VM last registered by an older version (no \`retireHooks\` in the state) is
  // deleted without one.
  const hooked = previous.retireHooks === true && !previous.legacy;
  if (previous.legacy && removedCps.length > 0) {
    refuse(
      "controlPlane",
      `removes control plane(s) ${list(removedCps.map((n) => n.name))} of a stack deployed before the ${LIFECYCLE_OUTPUT} output existed: which control plane ran \`kubeadm init\` is not recorded. Steps:${steps([
        "keep the control planes as they are and `pulumi up` once (it records the state)",
        "then change them (the refusal will then say what to prepare)",
      ])}`,
    );
  }
  const addedCps = added.filter((n) => n.role === "control-plane");
  if (nextCps.length === 1 && prevCps.length > 1 && !ack.allowSingleControlPlane) {
    refuse(
      "controlPlane.count",
      `goes from ${prevCps.length} control planes to 1: the cluster loses its etcd quorum's redundancy and the API's high availability. Steps:${steps([
        `keep ${prevCps.length}, or set ${key("lifecycle.allowSingleControlPlane")}: true as well as doing the steps for each removed control plane`,
      ])}`,
    );
  }
  // Control planes removed: automated (components/cluster/retire-hooks.ts): before each VM is
  // deleted its node is drained, its etcd member removed through the remaining members (refused
  // when that would lose quorum) and its Node deleted, one control plane at a time.
  const retiredCps = removedCps.filter((n) => !prepared.has(n.name));
  // Control planes added: automated when the previous state says the running cluster was last applied
  // by a version that joins them with the shared CA files and the join token (sharedPkiJoins).
  const unpreparedAdds = addedCps.filter((n) => !prepared.has(n.name));
  const canJoin = previous.sharedPkiJoins === true && !previous.legacy;
  // One direction of etcd membership change per update: the added members join one after the other
  // during the update (each a learner until kubeadm promotes it), the removed ones are retired by
  // their VMs' beforeDelete hooks at its end, which the readiness gate (a Ready Node) does not order
  // after the promotions. Adding, then removing, in two updates keeps every change on a cluster
  // whose other members are all voters.
  const mixed = unpreparedAdds.length > 0 && retiredCps.length > 0 && hooked && canJoin;
  if (mixed) {
    refuse(
      "controlPlane",
      `adds control plane${unpreparedAdds.length > 1 ? "s" : ""} ${list(unpreparedAdds.map((n) => n.name))} and removes ${list(retiredCps.map((n) => n.name))} in one update: ` +
        "new etcd members join during the update (each a learner until kubeadm promotes it) while the removed ones are retired at its end, and nothing orders the removals after the promotions. " +
        `Change the control planes one direction at a time. Steps:${steps([
          `first add only: keep ${list(retiredCps.map((n) => n.name))} (list their hosts in ${key("controlPlane.hosts")} with the new ones; an odd count), \`pulumi up\` (the new ones join one after the other)`,
          `then remove only: drop ${list(retiredCps.map((n) => n.name))}' hosts, \`pulumi up\` (each is drained and its etcd member removed, one at a time)`,
        ])}`,
    );
  }
  if (retiredCps.length > 0 && hooked && !mixed) {
    notes.push(
      `control plane${retiredCps.length > 1 ? "s" : ""} ${list(retiredCps.map((n) => n.name))} ${retiredCps.length > 1 ? "are" : "is"} ${RETIRED_CP} (one at a time; the hook refuses a removal that would lose etcd's quorum, and the VM then stays)`,
    );
  }
  const unpreparedCps = removedCps.filter((n) => !prepared.has(n.name));
  if (unpreparedCps.length > 0 && !hooked) {
    const names = unpreparedCps.map((n) => n.name);
    refuse(
      "controlPlane",
      `removes control plane${names.length > 1 ? "s" : ""} ${list(names)} from a running cluster: deleting a VM does not remove its etcd member, ` +
        `and ${removedCps.length > 1 ? "several members gone at once lose etcd's quorum" : "a dead member counts against etcd's quorum until it is removed"}. Steps, one control plane at a time:${steps([
          DRAIN("<node>"),
          "on the node: `sudo kubeadm reset -f` (its remove-etcd-member phase removes the node's etcd member; it only warns when that fails)",
          `check on a remaining control plane that the member is gone: \`${ETCDCTL} member list\`; if not: \`${ETCDCTL} member remove <its id>\`; then \`${ETCDCTL} endpoint health --cluster\``,
          "`kubectl delete node <node>`",
          `list it in ${ackKey} and \`pulumi up\` (its VM is deleted); or: keep the control planes for one \`pulumi up\` (this version binds every VM its retirement hook), then remove them and the hook does these steps`,
        ])}`,
    );
  }
  const membershipNotes: string[] = [];
  if (unpreparedAdds.length > 0 && !canJoin) {
    const names = unpreparedAdds.map((n) => n.name);
    refuse(
      "controlPlane",
      `adds control plane${names.length > 1 ? "s" : ""} ${list(names)} to a running cluster whose applied state ${previous.legacy ? `comes from its \`vms\` output (no ${LIFECYCLE_OUTPUT} yet)` : "was written by an earlier version"}: ` +
        "it does not record that the running cluster can take a control plane that joins with the shared CA files in its guestinfo and the workers' join token " +
        `(the way this version joins them, without the init token, expired ${previous.firstBoot["kubernetes.bootstrapTokenTtl"] ?? "24h"} after the init, or kube-system/kubeadm-certs, deleted two hours after it). Steps:${steps([
          `keep the control planes as they are (${prevCps.length}) and \`pulumi up\` once: it renews the join token's Secret and records it`,
          `then add ${list(names)} and \`pulumi up\`: they join one after the other, nothing to do by hand`,
        ])}`,
    );
  } else if (unpreparedAdds.length > 0 && !mixed) {
    const names = unpreparedAdds.map((n) => n.name);
    const one = names.length === 1;
    membershipNotes.push(
      `control plane${one ? "" : "s"} ${list(names)} join${one ? "s" : ""} the running cluster${one ? "" : " one after the other (each waits until the one before it serves the API)"}: ` +
        `${one ? "it carries" : "each carries"} the shared CA files in ${one ? "its" : "their"} guestinfo (kubeadm's manual certificate distribution: no certificate key, no kube-system/kubeadm-certs) ` +
        `and joins with the workers' join token, renewed by this update; kubeadm adds each etcd member as a learner and promotes it once in sync (${prevCps.length} → ${prevCps.length + names.length} members); the readiness gate waits for ${one ? "it" : "them"}`,
    );
  }

  // Workers removed: automated (components/cluster/retire-hooks.ts): each one is drained through the
  // eviction API and its Node deleted before its VM is deleted.
  const removedWorkers = removed.filter((n) => n.role === "worker");
  const retiredWorkers = removedWorkers.filter((n) => !prepared.has(n.name));
  if (retiredWorkers.length > 0 && hooked) {
    notes.push(
      `worker${retiredWorkers.length > 1 ? "s" : ""} ${list(retiredWorkers.map((n) => n.name))} ${retiredWorkers.length > 1 ? "are" : "is"} ${RETIRED_WORKER} ` +
        `(PodDisruptionBudgets honoured; after ${ack.drainTimeoutMinutes ?? DEFAULT_DRAIN_MINUTES} min (${ackKey.replace(/preparedNodes$/, "drainTimeoutMinutes")}) the update fails naming the blocking budget and the VM stays)`,
    );
  }
  // Workers removed from a state whose VMs carry no retirement hook yet: as before, by hand.
  const unpreparedWorkers = removedWorkers.filter((n) => !prepared.has(n.name));
  if (unpreparedWorkers.length > 0 && !hooked) {
    const names = unpreparedWorkers.map((n) => n.name);
    // GPU workers are counted by hosts[i].gpuWorkers, the others by workersPerHost (or hosts[i].workers).
    refuse(
      unpreparedWorkers.every((n) => prevBy.get(n.name)?.gpu !== undefined) ? "hosts[i].gpuWorkers" : "workersPerHost",
      `removes worker${names.length > 1 ? "s" : ""} ${list(names)} without draining: their pods die with the VMs and the Nodes stay behind NotReady. Steps, for each:${steps([
        DRAIN("<node>"),
        "`kubectl delete node <node>`",
        `list it in ${ackKey}, then \`pulumi up\` (its VM is deleted); or: keep the workers for one \`pulumi up\` (this version binds every VM its retirement hook), then remove them and the hook drains them`,
      ])}`,
    );
  }
  if (removedWorkers.length > 0) notes.push(`${removedWorkers.length} worker(s) removed (${list(removedWorkers.map((n) => n.name))}): Spark's executor count and quota follow the new worker count`);
  if (added.some((n) => n.role === "worker")) notes.push(`worker(s) added (${list(added.filter((n) => n.role === "worker").map((n) => n.name))}): they join with the workers' join token; the readiness gate waits for them`);
  const lbGone = removed.find((n) => n.role === "load-balancer");
  if (lbGone && pe.kind === "haproxy" && ne.kind === "haproxy" && pe.address === ne.address) {
    refuse("endpoint.host", `moves the HAProxy VM (${lbGone.name} is deleted): the API endpoint would be down until the new VM boots. Steps:${steps([`keep the load balancer on its host (${lbGone.name})`, newStack])}`);
  }

  // vCPU and memory of kept VMs, and a GPU worker's passthrough devices: a power cycle each (no
  // hot-add, no hot-plug of passthrough devices), all in one update. Devices are compared only when
  // the previous state recorded them (a state written before GPU devices were: not compared).
  const devicesChanged = (n: LifecycleNode) => {
    const p = prevBy.get(n.name)!;
    return p.gpu !== undefined && canonical(p.gpu.pciDeviceIds) !== canonical(n.gpu?.pciDeviceIds ?? []);
  };
  const resizedOnly = (n: LifecycleNode) => {
    const p = prevBy.get(n.name)!;
    return p.cpus !== n.cpus || p.memoryMiB !== n.memoryMiB;
  };
  const resized = kept.filter((n) => resizedOnly(n) || devicesChanged(n));
  /** What changes on the node, only what does: vCPU, memory, passthrough devices. */
  const change = (n: LifecycleNode) => {
    const p = prevBy.get(n.name)!;
    const parts: string[] = [];
    if (p.cpus !== n.cpus) parts.push(`${p.cpus} → ${n.cpus} vCPU`);
    if (p.memoryMiB !== n.memoryMiB) parts.push(`${p.memoryMiB} → ${n.memoryMiB} MiB`);
    if (devicesChanged(n)) parts.push(`passthrough GPUs [${p.gpu!.pciDeviceIds.join(", ")}] → [${(n.gpu?.pciDeviceIds ?? []).join(", ")}]`);
    return parts.join(", ");
  };
  const shape = (n: LifecycleNode) => `${n.name} ${change(n)}`;
  /** The nodes grouped by their change: "16 → 20 vCPU: a, b, c; 120 → 128 MiB: d". */
  const grouped = (ns: LifecycleNode[]) => {
    const by = new Map<string, string[]>();
    for (const n of ns) by.set(change(n), [...(by.get(change(n)) ?? []), n.name]);
    return [...by].map(([c, names]) => `${c}: ${list(names)}`).join("; ");
  };
  // Automated as a roll (components/cluster/power-cycle-hooks.ts, bound to every worker and control
  // plane on every run): one node at a time over the whole update, each drained before the provider
  // powers it off, back (Ready, a new boot ID; control planes: /readyz and every etcd member healthy)
  // and uncordoned before the next. Refused only where one node down is already too many: the only
  // control plane (the API and etcd are down), or one of two (etcd loses its quorum).
  const rolled: LifecycleNode[] = [];
  for (const [role, leaf] of [
    ["control-plane", "vmProfiles.small"],
    ["worker", "vmProfiles.worker"],
  ] as const) {
    const hit = resized.filter((n) => n.role === role);
    const unprepared = hit.filter((n) => !prepared.has(n.name));
    const alone = role === "control-plane" && unprepared.length > 0 && nextCps.length < 3;
    const gpu = unprepared.some(devicesChanged);
    const why = gpu
      ? unprepared.every((n) => !resizedOnly(n))
        ? "PCI passthrough devices cannot be hot-added or removed (terraform-provider-vsphere: a pci_device_id change sets reboot_required)"
        : "the VMs have no CPU/memory hot-add and PCI passthrough devices cannot be hot-added or removed (terraform-provider-vsphere: reboot_required)"
      : "the VMs have no CPU/memory hot-add";
    if (alone) {
      refuse(
        leaf,
        (nextCps.length === 1
          ? `resizes the only control plane (${grouped(unprepared)}): ${why}, so the vSphere provider powers it off and on, and the API and etcd are down meanwhile`
          : `resizes a control plane of ${nextCps.length} (${grouped(unprepared)}): ${why}, so the vSphere provider powers it off and on, and etcd loses its quorum while it is down (${quorum(nextCps.length)} of ${nextCps.length} members needed)`) +
          `. Steps: add control planes first (3 or more keep etcd's quorum with one down; then the resize rolls through them), or do it by hand in a maintenance window:${steps([
            "shut the guest down, set the new vCPU and memory in vCenter, power it on, wait until the Node is Ready and `etcdctl endpoint health --cluster` passes",
            `when done: list ${unprepared.length > 1 ? "them" : "it"} in ${ackKey}, \`pulumi refresh\`, then \`pulumi up\``,
          ])}`,
      );
    } else rolled.push(...unprepared);
  }
  if (rolled.length > 0) {
    const cps = rolled.filter((n) => n.role === "control-plane");
    const workers = rolled.filter((n) => n.role === "worker");
    const gpus = rolled.filter(devicesChanged);
    notes.push(
      `${rolled.length === 1 ? `${rolled[0].name} is ${devicesChanged(rolled[0]) ? "changed" : "resized"} (${shape(rolled[0])})` : `${rolled.length} nodes are resized (${grouped(rolled)})`}: ` +
        `the vSphere provider powers ${rolled.length === 1 ? "it" : "each"} off and on (no hot-add${gpus.length > 0 ? "; passthrough devices are not hot-pluggable" : ""}), ` +
        `${rolled.length === 1 ? "after its VM's beforeUpdate hook drained it" : `rolled one node at a time${cps.length > 0 && workers.length > 0 ? " (control planes and workers alike)" : ""}: each drained by its VM's beforeUpdate hook first`} ` +
        `(PodDisruptionBudgets honoured, up to ${ack.drainTimeoutMinutes ?? DEFAULT_DRAIN_MINUTES} min${cps.length > 0 ? "; a control plane only while the other etcd members keep the quorum, its leadership handed over" : ""}), ` +
        `then back (Ready with a new boot ID${cps.length > 0 ? "; a control plane also serving /readyz with every etcd member healthy" : ""}, within ${ack.rebootTimeoutMinutes ?? DEFAULT_REBOOT_TIMEOUT_MINUTES} min, ${ackKey.replace(/preparedNodes$/, "rebootTimeoutMinutes")}) and uncordoned by its afterUpdate hook before the next; ` +
        `a failure stops the roll with the rest untouched` +
        (workers.length > 0 ? `; Spark executors on a drained worker are evicted and rescheduled` : "") +
        (gpus.length === 1 ? `; after the boot the device plugin advertises ${gpus[0].gpu?.pciDeviceIds.length ?? 0} nvidia.com/gpu` : gpus.length > 1 ? "; after each boot the device plugin advertises the new nvidia.com/gpu count" : "") +
        (cps.length > 0 ? "; the program reaches etcd on the control planes' port 2379, as retiring one does" : ""),
    );
  }

  // A GPU worker's 64-bit MMIO window: extraConfig is ignoreChanges, so pulumi never writes a new one
  // to a running VM; with more or larger GPUs the old window may be too small for their BARs and the
  // VM fails to power on. Set by hand (one node at a time), then acknowledged.
  const mmio = kept.filter((n) => {
    const p = prevBy.get(n.name)!;
    return p.gpu !== undefined && n.gpu !== undefined && p.gpu.mmioSizeGiB !== n.gpu.mmioSizeGiB;
  });
  const mmioText = (ns: LifecycleNode[]) => list(ns.map((n) => `${n.name} ${prevBy.get(n.name)!.gpu!.mmioSizeGiB} → ${n.gpu!.mmioSizeGiB} GiB`));
  const unpreparedMmio = mmio.filter((n) => !prepared.has(n.name));
  if (unpreparedMmio.length > 0) {
    refuse(
      "vmProfiles.gpu.mmioSizeGiB",
      `changes the 64-bit MMIO window of ${unpreparedMmio.length} running GPU worker(s) (${mmioText(unpreparedMmio)}): pciPassthru.64bitMMIOSizeGB is an extraConfig key and the VMs' extraConfig is ignoreChanges (it carries first-boot user-data), ` +
        `so pulumi up would never write it and the VM keeps the old window (too small a window for its GPUs' BARs and the VM fails to power on). Steps, one node at a time:${steps([
          DRAIN("<node>"),
          "shut the guest down; in vCenter, VM Options → Advanced → Configuration Parameters: set pciPassthru.64bitMMIOSizeGB to the new size (and its PCI devices, if they change); power it on; wait until the Node is Ready",
          "`kubectl uncordon <node>`",
          `when all are done: list them in ${ackKey}, \`pulumi refresh\`, then \`pulumi up\``,
        ])}`,
    );
  } else if (mmio.length > 0) {
    notes.push(`${mmioText(mmio)}: prepared (${ackKey}): the MMIO window was set by hand; pulumi up does not write it (extraConfig is ignoreChanges)`);
  }
  for (const n of resized.filter((x) => x.role === "load-balancer")) {
    notes.push(`${n.name} is resized (${shape(n)}): the vSphere provider powers it off and on, and the API endpoint is down meanwhile`);
  }

  // The scratch disk of kept VMs. The bootstrap formats and mounts it at /var/lib/kubelet at the
  // node's first boot only (components/cluster/cloud-init.ts, scratchDiskLines), so a disk added to a
  // running VM stays unused while the Spark plan sizes executors' scratch (their ephemeral-storage
  // requests) from it, and they stay Pending; a disk removed or resized goes from under a mounted
  // /var/lib/kubelet. Unknown (older state): not compared.
  for (const [role, leaf] of [
    ["control-plane", "vmProfiles.small.scratchDiskGiB"],
    ["worker", "vmProfiles.worker.scratchDiskGiB"],
  ] as const) {
    const changed = kept.filter((n) => {
      const p = prevBy.get(n.name)!;
      return n.role === role && p.scratchDiskGiB !== undefined && p.scratchDiskGiB !== (n.scratchDiskGiB ?? 0);
    });
    if (changed.length === 0) continue;
    const was = prevBy.get(changed[0].name)!.scratchDiskGiB!;
    const now = changed[0].scratchDiskGiB ?? 0;
    refuse(
      leaf,
      `changes the scratch disk of ${changed.length} running ${role === "worker" ? "worker(s)" : "node(s)"} (${list(changed.map((n) => n.name))}: ${was} → ${now} GiB): ` +
        "a node formats and mounts its scratch disk at /var/lib/kubelet at its first boot only, so " +
        (was === 0
          ? "the new disk would stay unused while Spark sizes the executors' scratch space from it (their ephemeral-storage requests would fit no node, and they stay Pending)"
          : "the disk under a mounted /var/lib/kubelet would be removed or resized on a running node") +
        `. Steps:${steps([`keep ${leaf}: ${was} (nodes added later get the same disk)`, newStack])}`,
    );
  }

  // A kept node's zone (components/vsphere/zones.ts). Its zone labels are kubelet --node-labels, read
  // at registration only (a kubelet does not relabel its Node), and the zone decides the VM's compute
  // cluster, datastore, network and subnet: moving it would vMotion the VM to another cluster and
  // network while its guest keeps the old address and its Node the old label, so spreading and
  // pinning by zone would go wrong. It is a replacement: new node, new first boot.
  const moved = kept.filter((n) => (prevBy.get(n.name)!.zone ?? "") !== (n.zone ?? ""));
  const unpreparedMoves = moved.filter((n) => !prepared.has(n.name));
  const zoneOf = (z: string | undefined) => (z ? `zone ${z}` : "no zone");
  const moves = (ns: LifecycleNode[]) => list(ns.map((n) => `${n.name}: ${zoneOf(prevBy.get(n.name)!.zone)} → ${zoneOf(n.zone)}`));
  if (unpreparedMoves.length > 0) {
    refuse(
      "zones",
      `moves ${unpreparedMoves.length} running node(s) to another zone (${moves(unpreparedMoves)}): a node's zone is a replacement, not an update. ` +
        "Its topology.kubernetes.io/zone label is set by the kubelet at first registration only, and the zone decides its compute cluster, datastore, network and subnet; " +
        `an update would migrate the running VM while the guest keeps its old address and the Node its old label. Steps:${steps([
          "keep each host in the zone it is in (zones[].hosts), or, to move it, one node at a time:",
          `${DRAIN("<node>")}, then \`kubectl delete node <node>\`` + " (a control plane: also `etcdctl member remove` it)",
          `list the nodes in ${ackKey}, run \`pulumi up --replace <the VM's URN>\` for each (a new VM, a new first boot in its new zone)`,
        ])}`,
    );
  } else if (moved.length > 0) {
    notes.push(`${moves(moved)}: prepared (${ackKey}); replace each VM with \`pulumi up --replace <urn>\`: a plain update would migrate it without a new first boot, so its Node would keep the old zone label`);
  }

  // First-boot settings: running nodes keep the old value.
  for (const [leaf, before] of Object.entries(previous.firstBoot)) {
    const after = next.firstBoot[leaf];
    if (canonical(before) === canonical(after)) continue;
    const how =
      leaf === "kubernetes.sshAuthorizedKeys"
        ? ` (by hand: edit ~${String(next.firstBoot["kubernetes.adminUser"] ?? "<adminUser>")}/.ssh/authorized_keys on each node)`
        : leaf.startsWith("network.")
          ? " (by hand: edit /etc/netplan/ on each node and `sudo netplan apply`)"
          : leaf === "kubernetes.bootstrapTokenTtl"
            ? " (the workers' join token is renewed with the new TTL from this update on)"
            : "";
    notes.push(`${key(leaf)} changed: running nodes keep the old value (first-boot user-data); nodes created from now on get the new one${how}`);
  }
  if (ne.kind === "haproxy") {
    const lb = next.nodes.find((n) => n.role === "load-balancer")?.name;
    const note = haproxyBackendsNote(prevCps, nextCps, lb);
    if (note) membershipNotes.push(note);
  }
  notes.push(...membershipNotes);

  // Acknowledgements that no longer name anything.
  for (const n of ack.preparedNodes) {
    if (!prevBy.has(n) && !nextBy.has(n)) notes.push(`${ackKey} lists ${n}, which is in neither the running nor the new cluster: drop it`);
  }

  // Credentials over time.
  if (opts.now && previous.createdAt) {
    const created = new Date(previous.createdAt);
    if (!Number.isNaN(created.getTime())) {
      const expires = new Date(created.getTime() + LEAF_CERTIFICATE_DAYS * 86_400_000);
      const days = Math.floor((expires.getTime() - opts.now.getTime()) / 86_400_000);
      notes.push(
        `kubeadm's leaf certificates (API server, etcd, kubelet client, admin.conf) issued at the init on ${previous.createdAt.slice(0, 10)} expire around ${expires.toISOString().slice(0, 10)} ` +
          `(${days >= 0 ? `in ${days} days` : `${-days} days ago`}) unless a \`kubeadm upgrade\` renewed them: check with \`sudo kubeadm certs check-expiration\`; ` +
          "control planes created with kubernetes.certificateRenewal renew them themselves (`systemctl list-timers vsphere-spark-cert-renewal.timer`, `journalctl -u vsphere-spark-cert-renewal`); " +
          "on others, renew on each control plane with `sudo kubeadm certs renew all`, then restart its static pods (move the manifests out of /etc/kubernetes/manifests and back) and copy the new admin.conf",
      );
    }
  }
  return { refusals, notes, ...(membershipNotes.length > 0 ? { membershipNotes } : {}) };
}

/**
 * What HAProxy does when the control planes change. Its backends are written at the load balancer's
 * first boot (components/cluster/haproxy.ts, renderHaproxyConfig: one `server` line per control
 * plane, each checked on /readyz), and the program does not rewrite a running load balancer: it
 * keeps sending the API to the control planes it booted with. Undefined when the set is the same.
 */
export function haproxyBackendsNote(before: { name: string; address: string }[], after: { name: string; address: string }[], loadBalancer?: string): string | undefined {
  const had = new Set(before.map((n) => n.address));
  const has = new Set(after.map((n) => n.address));
  const added = after.filter((n) => !had.has(n.address));
  const removed = before.filter((n) => !has.has(n.address));
  if (added.length === 0 && removed.length === 0) return undefined;
  const lb = loadBalancer ?? "the load balancer";
  const at = (ns: { name: string; address: string }[]) => list(ns.map((n) => `${n.name} ${n.address}`));
  const edits: string[] = [];
  if (added.length > 0) edits.push(`add a line \`server <name> <address>:${APISERVER_PORT} check verify none\` per new control plane (${at(added)}) to the kube-apiservers backend`);
  if (removed.length > 0) edits.push(`remove the \`server\` lines of ${at(removed)}`);
  return (
    `HAProxy's backends are written at the load balancer's first boot: ${lb} keeps sending the API to the control planes it booted with (${at(before)}). ` +
    (added.length > 0 ? `The API stays reachable through them; the new ones take no API traffic through the endpoint until they are added. ` : "") +
    (removed.length > 0 ? `The removed ones fail its /readyz check and are marked down, so the API stays reachable through the others. ` : "") +
    `On ${lb}: in /etc/haproxy/haproxy.cfg ${edits.join(", and ")}, then \`sudo haproxy -c -f /etc/haproxy/haproxy.cfg && sudo systemctl reload haproxy\``
  );
}

/** A Go duration as kubeadm's `ttl` takes it (`24h`, `1h30m`, `0s`), in milliseconds; undefined when not one. */
export function durationMs(d: string): number | undefined {
  if (!/^(0|(\d+(\.\d+)?(h|m|s|ms))+)$/.test(d)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let ms = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) ms += Number(m[1]) * unit[m[2]];
  return ms;
}

/**
 * The workers' join token's generation: the number of the `bootstrapTokenTtl` window `now` falls in
 * (since the epoch). Each update in a new window rotates the token. Undefined without a clock (the
 * offline plan) or with a TTL of `0s` (a token that never expires is never rotated either).
 */
export function joinTokenGeneration(now: Date | undefined, ttl: string): string | undefined {
  const ms = durationMs(ttl);
  if (!now || !ms) return undefined;
  return String(Math.floor(now.getTime() / ms));
}

/**
 * What the readiness gate waits for. Creating a cluster: every control plane and worker. Updating
 * one: the nodes this update adds; the kept ones are reported when NotReady, never fatal (one broken
 * node must not fail every later `pulumi up`).
 */
export function readinessTargets(previous: ClusterLifecycleState | undefined, next: ClusterLifecycleState): { waitFor: string[]; reportOnly: string[] } {
  const k8sNodes = next.nodes.filter((n) => n.role !== "load-balancer").map((n) => n.name);
  if (!previous) return { waitFor: k8sNodes, reportOnly: [] };
  const before = new Set(previous.nodes.map((n) => n.name));
  return { waitFor: k8sNodes.filter((n) => !before.has(n)), reportOnly: k8sNodes.filter((n) => before.has(n)) };
}

/**
 * The state the last `pulumi up` of this very stack exported (`undefined` before the first one), read
 * through a StackReference to the stack itself and awaited, so the check can run before the cluster
 * component registers anything. Pass it as `KubeadmVsphereCluster`'s `previous`.
 */
export async function lastAppliedClusterState(opts?: pulumi.CustomResourceOptions): Promise<unknown> {
  const self = selfStackReference(opts);
  const d = await self.getOutputDetails(LIFECYCLE_OUTPUT);
  const state = d.value ?? d.secretValue;
  if (state !== undefined) return state;
  // An older stack: its VMs (see stateFromVmsOutput).
  const vms = await self.getOutputDetails("vms");
  const v = vms.value ?? vms.secretValue;
  return v === undefined ? undefined : { [LEGACY_VMS]: v };
}

/** The key `lastAppliedClusterState` wraps an older stack's `vms` output in. */
export const LEGACY_VMS = "legacyVmsOutput";
