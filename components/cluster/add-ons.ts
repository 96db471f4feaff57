/**
 * What the cluster's own add-ons request on the workers, per CNI and chart version, read from the
 * charts and manifests the stack installs (pure data + arithmetic; the Spark sizing subtracts it):
 *
 * - DaemonSets run one pod on every worker: the CNI's node agent and kube-proxy.
 * - Deployments of the add-ons (CoreDNS, the CNI's controller) tolerate nothing that keeps them off
 *   the workers, so each replica may land on any worker; the sizing counts them on every node
 *   (they may all land on the same one).
 *
 * A pod requests max(the largest init container, the sum of its containers) per resource
 * (Kubernetes' effective request: pkg/api/v1/resource/helpers.go, PodRequests; the scheduler's
 * NodeResourcesFit uses it).
 *
 * Sources (each fact below names its file; versions are the chart tags):
 * - Antrea: antrea-io/antrea build/charts/antrea/values.yaml (agent.installCNI / antreaAgent /
 *   antreaOVS .resources, controller.antreaController.resources) and templates/agent/daemonset.yaml
 *   (install-cni is an init container; antrea-ipsec only with trafficEncryptionMode ipsec, default
 *   "none"; the stack installs the chart with `values: {}`, components/cluster/cni.ts). Identical
 *   in every 2.x tag from v2.0.0 to v2.5.3: install-cni 100m, antrea-agent 200m, antrea-ovs 200m,
 *   antrea-controller 200m / 100Mi.
 * - Calico: projectcalico/calico charts/tigera-operator/values.yaml pins the operator
 *   (v3.28.x → v1.34.x, v3.29.x → v1.36.x, v3.30.x → v1.38.x); tigera/operator
 *   pkg/render/node.go (calico-node: `Resources: c.nodeResources()`), pkg/render/csi.go (no
 *   resources), pkg/render/typha.go, pkg/render/kubecontrollers/kube-controllers.go all take
 *   rmeta.GetResourceRequirements (pkg/render/common/meta/meta.go), which returns empty
 *   requirements unless the Installation sets componentResources (the stack's values do not); the
 *   chart's own operator pod has `resources: {}`. So Calico requests nothing.
 * - kubeadm: kube-proxy's DaemonSet has no resources (cmd/kubeadm/app/phases/addons/proxy/
 *   manifests.go); CoreDNS, 2 replicas (constants.CoreDNSReplicas), requests cpu 100m, memory 70Mi
 *   (cmd/kubeadm/app/phases/addons/dns/manifests.go) and tolerates the control-plane taint, so it
 *   lands on workers as readily as on control planes.
 */
import type { CniKind } from "./settings";

export interface ContainerRequests {
  name: string;
  cpuMilli: number;
  memoryMiB: number;
}

export interface AddOnPod {
  /** Workload name, e.g. `antrea-agent`. */
  name: string;
  kind: "DaemonSet" | "Deployment";
  /** Deployment replicas (DaemonSets: one per node). */
  replicas: number;
  initContainers: ContainerRequests[];
  containers: ContainerRequests[];
  /** Where the numbers come from (repository path at the version). */
  source: string;
}

export interface Requests {
  cpuMilli: number;
  memoryMiB: number;
}

/** The pod's effective request: max(largest init container, sum of containers), per resource. */
export function podRequests(p: Pick<AddOnPod, "initContainers" | "containers">): Requests {
  const sum = (k: keyof Requests) => p.containers.reduce((s, c) => s + c[k], 0);
  const init = (k: keyof Requests) => Math.max(0, ...p.initContainers.map((c) => c[k]));
  return { cpuMilli: Math.max(sum("cpuMilli"), init("cpuMilli")), memoryMiB: Math.max(sum("memoryMiB"), init("memoryMiB")) };
}

const c = (name: string, cpuMilli: number, memoryMiB = 0): ContainerRequests => ({ name, cpuMilli, memoryMiB });

const KUBE_PROXY: AddOnPod = {
  name: "kube-proxy",
  kind: "DaemonSet",
  replicas: 1,
  initContainers: [],
  containers: [c("kube-proxy", 0)],
  source: "kubernetes/kubernetes cmd/kubeadm/app/phases/addons/proxy/manifests.go (no resources)",
};

const COREDNS: AddOnPod = {
  name: "coredns",
  kind: "Deployment",
  replicas: 2,
  initContainers: [],
  containers: [c("coredns", 100, 70)],
  source: "kubernetes/kubernetes cmd/kubeadm/app/phases/addons/dns/manifests.go (requests cpu 100m, memory 70Mi; 2 replicas)",
};

interface CniEntry {
  kind: CniKind;
  /** Chart versions this entry was read for. */
  versions: RegExp;
  pods: AddOnPod[];
}

const ANTREA_2X = /^2\.[0-5]\.\d+$/;
const CALICO_328_330 = /^v3\.(28|29|30)\.\d+$/;

/** The CNIs' pods, per chart version (see the sources above). */
export const CNI_ADD_ONS: readonly CniEntry[] = [
  {
    kind: "antrea",
    versions: ANTREA_2X,
    pods: [
      {
        name: "antrea-agent",
        kind: "DaemonSet",
        replicas: 1,
        initContainers: [c("install-cni", 100)],
        containers: [c("antrea-agent", 200), c("antrea-ovs", 200)],
        source: "antrea-io/antrea build/charts/antrea/values.yaml agent.{installCNI,antreaAgent,antreaOVS}.resources (v2.0.0 to v2.5.3)",
      },
      {
        name: "antrea-controller",
        kind: "Deployment",
        replicas: 1,
        initContainers: [],
        containers: [c("antrea-controller", 200, 100)],
        source: "antrea-io/antrea build/charts/antrea/values.yaml controller.antreaController.resources (v2.0.0 to v2.5.3)",
      },
    ],
  },
  {
    kind: "calico",
    versions: CALICO_328_330,
    pods: [
      {
        name: "calico-node",
        kind: "DaemonSet",
        replicas: 1,
        initContainers: [],
        containers: [c("calico-node", 0)],
        source: "tigera/operator pkg/render/node.go + pkg/render/common/meta/meta.go GetResourceRequirements (empty by default; operator v1.34 to v1.38)",
      },
      {
        name: "csi-node-driver",
        kind: "DaemonSet",
        replicas: 1,
        initContainers: [],
        containers: [c("calico-csi", 0), c("csi-node-driver-registrar", 0)],
        source: "tigera/operator pkg/render/csi.go (no resources)",
      },
    ],
  },
];

export interface ClusterAddOns {
  /** Whether the CNI's chart version is in the table (else only kubeadm's own add-ons are counted). */
  cniKnown: boolean;
  pods: AddOnPod[];
  /** Sum of the DaemonSet pods' requests: what every worker gives up. */
  daemonSets: Requests;
  /** Sum of every Deployment replica's requests: what one worker may have to hold in the worst case. */
  deployments: Requests;
}

/** The add-ons the stack installs with this CNI (the CNI's pods only when its chart version is in the table). */
export function clusterAddOns(kind: CniKind, version: string): ClusterAddOns {
  const entry = CNI_ADD_ONS.find((e) => e.kind === kind && e.versions.test(version));
  const pods = [KUBE_PROXY, COREDNS, ...(entry?.pods ?? [])];
  const add = (ps: AddOnPod[]) =>
    ps.reduce((s, p) => {
      const r = podRequests(p);
      return { cpuMilli: s.cpuMilli + r.cpuMilli * p.replicas, memoryMiB: s.memoryMiB + r.memoryMiB * p.replicas };
    }, { cpuMilli: 0, memoryMiB: 0 });
  return { cniKnown: entry !== undefined, pods, daemonSets: add(pods.filter((p) => p.kind === "DaemonSet")), deployments: add(pods.filter((p) => p.kind === "Deployment")) };
}

/** The chart versions the table covers for `kind`, for error messages. */
export function coveredVersions(kind: CniKind): string {
  return kind === "antrea" ? "2.0.0 to 2.5.x" : "v3.28.0 to v3.30.x";
}
