/**
 * The node pools' readiness, pure: which MachineDeployment status means "rolled out" (cluster-api
 * v1.10.10 `api/v1beta1/machinedeployment_types.go`), as a table; the kubeconfig reading. The wait
 * itself runs against a real kube-apiserver in the lab (test/lab/tanzu.lab.ts).
 */
import * as assert from "node:assert/strict";
import { kubeconfigAccess, machineDeploymentsPath, nodePoolsNotReady, tokenKubeconfig } from "../../components/tanzu";

const md = (pool: string, replicas: number, status: Record<string, unknown>, extra: { generation?: number; cluster?: string; name?: string } = {}) => ({
  metadata: {
    name: extra.name ?? `spark-${pool}-x7k2p`,
    generation: extra.generation ?? 2,
    labels: { "cluster.x-k8s.io/cluster-name": extra.cluster ?? "spark", "topology.cluster.x-k8s.io/deployment-name": pool },
  },
  spec: { replicas },
  status: { observedGeneration: 2, ...status },
});
const done = (n: number) => ({ replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n });

describe("Tanzu: node pools rolled out (MachineDeployments)", () => {
  const table: [string, unknown[], Record<string, number>, string[]][] = [
    ["all rolled out", [md("workers", 16, done(16)), md("gpu", 2, done(2))], { workers: 16, gpu: 2 }, []],
    ["a pool not created yet", [md("workers", 16, done(16))], { workers: 16, gpu: 2 }, ["gpu: no MachineDeployment yet"]],
    ["another cluster's pool does not count", [md("workers", 16, done(16), { cluster: "other" })], { workers: 16 }, ["workers: no MachineDeployment yet"]],
    ["first creation, 12 of 16", [md("workers", 16, { replicas: 16, updatedReplicas: 16, readyReplicas: 12, availableReplicas: 12 })], { workers: 16 },
      ["workers (spark-workers-x7k2p): 12 of 16 ready, 12 of 16 available"]],
    // A rolling update with maxSurge 1: 17 machines, 5 on the new template. The Cluster is Ready all along.
    ["rolling update in progress", [md("workers", 16, { replicas: 17, updatedReplicas: 5, readyReplicas: 16, availableReplicas: 16 })], { workers: 16 },
      ["workers (spark-workers-x7k2p): 5 of 16 up to date, 1 old machine(s) not yet deleted"]],
    ["a scale-up the controller has not seen", [md("workers", 16, done(16), { generation: 3 })], { workers: 20 },
      ["workers (spark-workers-x7k2p): generation 3 not yet observed (at 2), spec.replicas 16, not yet 20, 16 of 20 up to date, 16 of 20 ready, 16 of 20 available"]],
    ["v1beta2 counts (CAPI 1.9+) must agree too", [md("workers", 4, { ...done(4), v1beta2: { readyReplicas: 3, availableReplicas: 4, upToDateReplicas: 4 } })], { workers: 4 },
      ["workers (spark-workers-x7k2p): 3 of 4 Ready (v1beta2)"]],
    ["v1beta2 all there", [md("workers", 4, { ...done(4), v1beta2: { readyReplicas: 4, availableReplicas: 4, upToDateReplicas: 4 } })], { workers: 4 }, []],
    ["a pool scaled to 0", [md("idle", 0, { replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0 })], { idle: 0 }, []],
    ["no status yet", [{ metadata: { name: "spark-workers-a", generation: 1, labels: { "cluster.x-k8s.io/cluster-name": "spark", "topology.cluster.x-k8s.io/deployment-name": "workers" } }, spec: { replicas: 2 } }], { workers: 2 },
      ["workers (spark-workers-a): generation 1 not yet observed (at 0), 0 of 2 up to date, 0 of 2 ready, 0 of 2 available"]],
  ];
  for (const [what, items, expected, want] of table) it(what, () => assert.deepEqual(nodePoolsNotReady({ items }, "spark", expected), want));

  it("lists one cluster's MachineDeployments by label, through the v1beta1 API", () => {
    assert.equal(machineDeploymentsPath("spark", "spark"), "/apis/cluster.x-k8s.io/v1beta1/namespaces/spark/machinedeployments?labelSelector=cluster.x-k8s.io%2Fcluster-name%3Dspark");
  });

  it("reads the Supervisor kubeconfig: token (sso) or client certificate; refuses exec plugins", () => {
    const k = tokenKubeconfig({ name: "s", server: "https://192.168.10.2:6443", token: "jwt", namespace: "spark", insecureSkipTlsVerify: true });
    assert.deepEqual(kubeconfigAccess(k), { server: "https://192.168.10.2:6443", insecureSkipTlsVerify: true, token: "jwt" });
    const b = (s: string) => Buffer.from(s).toString("base64");
    const cert = `apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: "https://h:6443/", certificate-authority-data: ${b("CA")}}\nusers:\n- name: u\n  user: {client-certificate-data: ${b("CERT")}, client-key-data: ${b("KEY")}}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`;
    assert.deepEqual(kubeconfigAccess(cert), { server: "https://h:6443", caPem: "CA", insecureSkipTlsVerify: false, clientCertPem: "CERT", clientKeyPem: "KEY" });
    assert.throws(() => kubeconfigAccess(cert.replace(/user: \{[^}]*\}/, "user: {exec: {command: kubectl-vsphere}}")), /exec plugin/);
    assert.throws(() => kubeconfigAccess("kind: Config\n"), /no server/);
  });
});
