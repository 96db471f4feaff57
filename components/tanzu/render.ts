/**
 * Pure renderers of the Tanzu back end: VM class names and arguments, the vSphere Namespace
 * arguments, and the workload cluster as a Cluster API `Cluster` (both ClusterClass variable
 * generations) or a `TanzuKubernetesCluster` v1alpha3. No resource, no engine.
 */
import type { NodeVolume, TanzuSettings, Taint } from "./types";
import { classNameOf, vmClassName } from "./vm-classes";
import { DEFAULT_KUBERNETES_SETTINGS, type KubeletSettings } from "../cluster/settings";
import { formatCpuMilli, parseQuantity } from "../quantity";

/**
 * The vSphere Namespace as the plan shows it and as the component creates it: names here; the
 * component turns the storage-policy and content-library names into ids with the provider's lookups
 * (`getPolicy`, `getContentLibrary`). Every VM class defined is bound to the namespace.
 */
export function namespaceSpec(settings: TanzuSettings): {
  name: string;
  supervisor: string;
  storagePolicies: string[];
  contentLibraries: string[];
  vmClasses: string[];
  access: TanzuSettings["namespace"]["access"];
} {
  return {
    name: settings.namespace.name,
    supervisor: settings.supervisor.id,
    storagePolicies: [...settings.namespace.storagePolicies],
    contentLibraries: [...settings.namespace.contentLibraries],
    vmClasses: Object.entries(settings.vmClasses).map(([k, v]) => vmClassName(settings.namespace.name, k, v)),
    access: settings.namespace.access.map((g) => ({ ...g })),
  };
}

type Manifest = Record<string, unknown>;

const gi = (n: number) => `${n}Gi`;
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** The Secret the flat generation's `trust` variable refers to (docs: `<cluster>-user-trusted-ca-secret`, values double base64). */
export function trustedCaSecretName(cluster: string): string {
  return `${cluster}-user-trusted-ca-secret`;
}

function flatVolumes(volumes: NodeVolume[], storageClass: string) {
  return volumes.map((v) => ({ name: v.name, mountPath: v.mountPath, storageClass: v.storageClass ?? storageClass, capacity: { storage: gi(v.capacityGiB) } }));
}
function nestedVolumes(volumes: NodeVolume[], storageClass: string) {
  return volumes.map((v) => ({ name: v.name, mountPath: v.mountPath, storageClass: v.storageClass ?? storageClass, capacity: gi(v.capacityGiB) }));
}
function taintList(taints: Taint[]) {
  return taints.map((t) => (t.value === undefined ? { key: t.key, effect: t.effect } : { key: t.key, value: t.value, effect: t.effect }));
}

/**
 * The nested generation's `resourceConfiguration.systemReserved`, from the Kubernetes layer's
 * kubelet reservations (kube + system reserved, lumped): with `automatic: false` the nodes reserve
 * what the worker pool's allocatable model (`nodeAllocatable`) subtracts, instead of a size-based
 * automatic amount, so Spark sizing holds on these nodes as on kubeadm's. The flat generation has
 * no such variable (its nodes keep the ClusterClass's reservations; set `spark.nodeAllocatable`
 * from `kubectl describe node` there).
 */
export function systemReserved(kubelet: KubeletSettings): { automatic: false; cpu: string; memory: string } {
  const sum = (k: "cpu" | "memory") => (parseQuantity(kubelet.kubeReserved[k] ?? "0") ?? 0) + (parseQuantity(kubelet.systemReserved[k] ?? "0") ?? 0);
  return { automatic: false, cpu: formatCpuMilli(Math.round(sum("cpu") * 1000)), memory: `${Math.ceil(sum("memory") / 2 ** 20)}Mi` };
}

interface Variable {
  name: string;
  value: unknown;
}

/**
 * The ClusterClass variables, cluster-wide and per machine deployment, for one generation.
 * Sources: vsphere-tmm/vsphere-supervisor `cluster-clusterclass-examples.md` at 04ac4cab (sections
 * "builtin-generic-v3.4.0" and "tanzukubernetescluster or builtin-generic-v3.1.0"); the schemas
 * in schemas/tanzu/clusterclass-variables-*.json are written from the same examples.
 */
export function clusterVariables(settings: TanzuSettings, kubelet: KubeletSettings = DEFAULT_KUBERNETES_SETTINGS.kubelet): {
  cluster: Variable[];
  controlPlane: Variable[];
  pools: Record<string, Variable[]>;
} {
  const c = settings.cluster;
  const cpClass = classNameOf(settings, c.controlPlane.vmClass);
  const cluster: Variable[] = [
    { name: "vmClass", value: cpClass },
    { name: "storageClass", value: c.storageClass },
  ];
  const controlPlane: Variable[] = [];
  const pools: Record<string, Variable[]> = {};
  if (c.variables === "flat") {
    cluster.push({ name: "defaultStorageClass", value: c.storageClass });
    if (c.controlPlane.volumes.length > 0) cluster.push({ name: "controlPlaneVolumes", value: flatVolumes(c.controlPlane.volumes, c.storageClass) });
    if (c.proxy) cluster.push({ name: "proxy", value: { httpProxy: c.proxy.httpProxy, httpsProxy: c.proxy.httpsProxy, noProxy: c.proxy.noProxy } });
    if (c.trustedCas.length > 0) cluster.push({ name: "trust", value: { additionalTrustedCAs: c.trustedCas.map((t) => ({ name: t.name })) } });
    // One server: the flat `ntp` variable is a string (the resolver refuses more than one).
    if (c.ntpServers.length > 0) cluster.push({ name: "ntp", value: c.ntpServers[0] });
    for (const p of c.nodePools) {
      const o: Variable[] = [];
      const cls = classNameOf(settings, p.vmClass);
      if (cls !== cpClass) o.push({ name: "vmClass", value: cls });
      if (p.volumes.length > 0) o.push({ name: "nodePoolVolumes", value: flatVolumes(p.volumes, c.storageClass) });
      const labels = Object.entries(p.labels);
      if (labels.length > 0) o.push({ name: "nodePoolLabels", value: labels.map(([key, value]) => ({ key, value })) });
      if (p.taints.length > 0) o.push({ name: "nodePoolTaints", value: taintList(p.taints) });
      pools[p.name] = o;
    }
  } else {
    const os: Record<string, unknown> = {};
    if (c.proxy) os.systemProxy = { http: c.proxy.httpProxy, https: c.proxy.httpsProxy, noProxy: c.proxy.noProxy };
    if (c.trustedCas.length > 0) os.trust = { additionalTrustedCAs: c.trustedCas.map((t) => ({ caCert: { content: t.pem } })) };
    if (c.ntpServers.length > 0) os.ntp = { servers: [...c.ntpServers] };
    if (Object.keys(os).length > 0) cluster.push({ name: "osConfiguration", value: os });
    cluster.push({ name: "vsphereOptions", value: { persistentVolumes: { defaultStorageClass: c.storageClass } } });
    cluster.push({ name: "resourceConfiguration", value: { systemReserved: systemReserved(kubelet) } });
    if (c.controlPlane.volumes.length > 0) controlPlane.push({ name: "volumes", value: nestedVolumes(c.controlPlane.volumes, c.storageClass) });
    for (const p of c.nodePools) {
      const o: Variable[] = [];
      const cls = classNameOf(settings, p.vmClass);
      if (cls !== cpClass) o.push({ name: "vmClass", value: cls });
      if (p.volumes.length > 0) o.push({ name: "volumes", value: nestedVolumes(p.volumes, c.storageClass) });
      const node: Record<string, unknown> = {};
      if (Object.keys(p.labels).length > 0) node.labels = { ...p.labels };
      // The nested schema requires a value on every taint (the example marks key, value, effect REQUIRED).
      if (p.taints.length > 0) node.taints = p.taints.map((t) => ({ key: t.key, value: t.value ?? "", effect: t.effect }));
      if (Object.keys(node).length > 0) o.push({ name: "node", value: node });
      pools[p.name] = o;
    }
  }
  return { cluster, controlPlane, pools };
}

/**
 * The Cluster Autoscaler's bounds of a node group, on a MachineDeployment (or, in a managed
 * topology, on `workers.machineDeployments[].metadata.annotations`, which the topology controller
 * copies onto it). Sources: kubernetes/autoscaler `cluster-autoscaler/cloudprovider/clusterapi/README.md`
 * ("Enabling Autoscaling"; "Autoscaling with ClusterClass and Managed Topologies": the topology's
 * `replicas` must be left unset, or "replicas become unpredictable"), reproduced in Cluster API's book
 * `docs/book/src/tasks/automated-machine-management/autoscaling.md`; Cluster API
 * `internal/webhooks/machinedeployment.go` (`calculateMachineDeploymentReplicas`: a new
 * MachineDeployment without replicas and with both annotations starts at the min size).
 */
export const AUTOSCALER_MIN_ANNOTATION = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size";
export const AUTOSCALER_MAX_ANNOTATION = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size";

/**
 * The node OS choice of TKG Service: `run.tanzu.vmware.com/resolve-os-image: os-name=ubuntu` (or
 * `photon`; `os-name=ubuntu,os-version=24.04` for a version), on a TanzuKubernetesCluster's metadata,
 * and in a Cluster topology on `controlPlane.metadata.annotations` and each
 * `workers.machineDeployments[].metadata.annotations` (vsphere-tmm/vsphere-supervisor
 * cluster-clusterclass-examples.md at 04ac4cab, Section 1; schemas/tanzu/README.md for the TKC).
 */
export const RESOLVE_OS_IMAGE_ANNOTATION = "run.tanzu.vmware.com/resolve-os-image";

/** The annotation's value for an OS choice. */
export function resolveOsImage(os: NonNullable<TanzuSettings["cluster"]["os"]>): string {
  return os.version === undefined ? `os-name=${os.name}` : `os-name=${os.name},os-version=${os.version}`;
}

/** Which Cluster API annotation asks pulumi-kubernetes to wait for a condition (v4.18+). */
export const WAIT_FOR_ANNOTATION = "pulumi.com/waitFor";

/**
 * The workload cluster as a Cluster API `Cluster` (`cluster.x-k8s.io/v1beta1`) on the Supervisor's
 * ClusterClass. Field shapes: cluster-api `config/crd/bases/cluster.x-k8s.io_clusters.yaml` v1.10.10
 * (vendored in schemas/tanzu/, the tests validate against it).
 */
export function renderCapiCluster(settings: TanzuSettings, kubelet: KubeletSettings = DEFAULT_KUBERNETES_SETTINGS.kubelet): Manifest {
  const c = settings.cluster;
  const vars = clusterVariables(settings, kubelet);
  const osAnnotations = c.os ? { [RESOLVE_OS_IMAGE_ANNOTATION]: resolveOsImage(c.os) } : undefined;
  const controlPlane: Record<string, unknown> = { replicas: c.controlPlane.replicas };
  if (osAnnotations) controlPlane.metadata = { annotations: { ...osAnnotations } };
  if (vars.controlPlane.length > 0) controlPlane.variables = { overrides: vars.controlPlane };
  const topology: Record<string, unknown> = { class: c.clusterClass };
  if (c.classNamespace !== undefined) topology.classNamespace = c.classNamespace;
  Object.assign(topology, {
    version: c.release,
    controlPlane,
    workers: {
      machineDeployments: c.nodePools.map((p) => {
        const md: Record<string, unknown> = { class: "node-pool", name: p.name };
        const annotations: Record<string, string> = { ...osAnnotations };
        // An autoscaled pool: its bounds, and no replicas (the autoscaler owns them).
        if (p.autoscale) Object.assign(annotations, { [AUTOSCALER_MIN_ANNOTATION]: String(p.autoscale.min), [AUTOSCALER_MAX_ANNOTATION]: String(p.autoscale.max) });
        else md.replicas = p.replicas;
        if (Object.keys(annotations).length > 0) md.metadata = { annotations };
        if (vars.pools[p.name].length > 0) md.variables = { overrides: vars.pools[p.name] };
        return md;
      }),
    },
    variables: vars.cluster,
  });
  return {
    apiVersion: "cluster.x-k8s.io/v1beta1",
    kind: "Cluster",
    metadata: { name: c.name, namespace: settings.namespace.name, annotations: { [WAIT_FOR_ANNOTATION]: "condition=Ready" } },
    spec: {
      clusterNetwork: {
        pods: { cidrBlocks: [c.podCidr] },
        services: { cidrBlocks: [c.serviceCidr] },
        serviceDomain: c.serviceDomain,
      },
      topology,
    },
  };
}

/**
 * The Secret holding the trusted CAs for the flat generation's `trust` variable (key = the CA's
 * name, value = base64 of the base64 PEM, as the VMware docs for TKG Service 3.x require); none for
 * the nested generation (inline `caCert.content`) and for a TanzuKubernetesCluster (inline `data`).
 */
export function renderTrustedCaSecret(settings: TanzuSettings): Manifest | undefined {
  const c = settings.cluster;
  if (c.api !== "cluster" || c.variables !== "flat" || c.trustedCas.length === 0) return undefined;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: trustedCaSecretName(c.name), namespace: settings.namespace.name },
    type: "Opaque",
    data: Object.fromEntries(c.trustedCas.map((t) => [t.name, b64(b64(t.pem))])),
  };
}

/**
 * The workload cluster as a `TanzuKubernetesCluster` `run.tanzu.vmware.com/v1alpha3`. Fields: the
 * vendored README in schemas/tanzu (VMware vSphere 8 "TKG Service" docs; v1alpha2 CRD of
 * vmware-tanzu/tanzu-framework c13327aa, which the tests validate against).
 */
export function renderTkc(settings: TanzuSettings): Manifest {
  const c = settings.cluster;
  const tkr = { reference: { name: c.release } };
  const vols = (v: NodeVolume[]) => v.map((x) => ({ name: x.name, mountPath: x.mountPath, capacity: { storage: gi(x.capacityGiB) }, ...(x.storageClass ? { storageClass: x.storageClass } : {}) }));
  const controlPlane: Record<string, unknown> = {
    replicas: c.controlPlane.replicas,
    vmClass: classNameOf(settings, c.controlPlane.vmClass),
    storageClass: c.storageClass,
    tkr,
  };
  if (c.controlPlane.volumes.length > 0) controlPlane.volumes = vols(c.controlPlane.volumes);
  const network: Record<string, unknown> = {
    cni: { name: c.cni },
    pods: { cidrBlocks: [c.podCidr] },
    services: { cidrBlocks: [c.serviceCidr] },
    serviceDomain: c.serviceDomain,
  };
  if (c.proxy) network.proxy = { httpProxy: c.proxy.httpProxy, httpsProxy: c.proxy.httpsProxy, noProxy: c.proxy.noProxy };
  if (c.trustedCas.length > 0) network.trust = { additionalTrustedCAs: c.trustedCas.map((t) => ({ name: t.name, data: b64(t.pem) })) };
  return {
    apiVersion: "run.tanzu.vmware.com/v1alpha3",
    kind: "TanzuKubernetesCluster",
    metadata: { name: c.name, namespace: settings.namespace.name, annotations: { [WAIT_FOR_ANNOTATION]: "condition=Ready", ...(c.os ? { [RESOLVE_OS_IMAGE_ANNOTATION]: resolveOsImage(c.os) } : {}) } },
    spec: {
      topology: {
        controlPlane,
        nodePools: c.nodePools.map((p) => {
          const pool: Record<string, unknown> = {
            name: p.name,
            replicas: p.replicas,
            vmClass: classNameOf(settings, p.vmClass),
            storageClass: c.storageClass,
            tkr,
          };
          if (Object.keys(p.labels).length > 0) pool.labels = { ...p.labels };
          if (p.taints.length > 0) pool.taints = taintList(p.taints);
          if (p.volumes.length > 0) pool.volumes = vols(p.volumes);
          return pool;
        }),
      },
      settings: { network, storage: { defaultClass: c.storageClass } },
    },
  };
}

/** Everything applied to the Supervisor for the workload cluster, in apply order. */
export function renderWorkloadCluster(settings: TanzuSettings, kubelet: KubeletSettings = DEFAULT_KUBERNETES_SETTINGS.kubelet): Manifest[] {
  if (settings.cluster.api === "tkc") return [renderTkc(settings)];
  const secret = renderTrustedCaSecret(settings);
  const cluster = renderCapiCluster(settings, kubelet);
  return secret ? [secret, cluster] : [cluster];
}
