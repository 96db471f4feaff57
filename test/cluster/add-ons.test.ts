/**
 * What the stack's own add-ons request on the workers, per CNI and chart version (components/cluster/
 * add-ons.ts), and the settings check that keeps `workerDaemonSetRequests` at or above it.
 * Facts from the charts: antrea-io/antrea build/charts/antrea/values.yaml (v2.0.0 to v2.5.3),
 * tigera/operator pkg/render (v1.34 to v1.38, pinned by projectcalico/calico's tigera-operator chart),
 * kubeadm's CoreDNS and kube-proxy manifests.
 */
import * as assert from "node:assert/strict";
import { clusterAddOns, podRequests } from "../../components/cluster/add-ons";
import { DEFAULT_KUBERNETES_SETTINGS, resolveKubernetesSettings } from "../../components/cluster/settings";
import { workerPool } from "../../components/cluster/worker-pool";

describe("cluster layer: the add-ons' requests on workers", () => {
  const table: { kind: "antrea" | "calico"; version: string; daemonSets: { cpuMilli: number; memoryMiB: number }; deployments: { cpuMilli: number; memoryMiB: number } }[] = [
    // antrea-agent: install-cni 100m (init), antrea-agent 200m + antrea-ovs 200m; kube-proxy nothing.
    // CoreDNS 2 × (100m, 70Mi); antrea-controller 200m / 100Mi.
    { kind: "antrea", version: "2.2.0", daemonSets: { cpuMilli: 400, memoryMiB: 0 }, deployments: { cpuMilli: 400, memoryMiB: 240 } },
    { kind: "antrea", version: "2.0.0", daemonSets: { cpuMilli: 400, memoryMiB: 0 }, deployments: { cpuMilli: 400, memoryMiB: 240 } },
    { kind: "antrea", version: "2.5.3", daemonSets: { cpuMilli: 400, memoryMiB: 0 }, deployments: { cpuMilli: 400, memoryMiB: 240 } },
    // The operator renders calico-node, csi-node-driver, typha, kube-controllers without requests.
    { kind: "calico", version: "v3.29.1", daemonSets: { cpuMilli: 0, memoryMiB: 0 }, deployments: { cpuMilli: 200, memoryMiB: 140 } },
    { kind: "calico", version: "v3.28.0", daemonSets: { cpuMilli: 0, memoryMiB: 0 }, deployments: { cpuMilli: 200, memoryMiB: 140 } },
  ];
  for (const t of table) {
    it(`${t.kind} ${t.version}: DaemonSets ${t.daemonSets.cpuMilli}m / ${t.daemonSets.memoryMiB} MiB per worker, add-on pods ${t.deployments.cpuMilli}m / ${t.deployments.memoryMiB} MiB`, () => {
      const a = clusterAddOns(t.kind, t.version);
      assert.equal(a.cniKnown, true);
      assert.deepEqual(a.daemonSets, t.daemonSets);
      assert.deepEqual(a.deployments, t.deployments);
    });
  }

  it("a pod requests max(largest init container, sum of containers), per resource", () => {
    assert.deepEqual(podRequests({ initContainers: [{ name: "i", cpuMilli: 100, memoryMiB: 0 }], containers: [{ name: "a", cpuMilli: 200, memoryMiB: 0 }, { name: "b", cpuMilli: 200, memoryMiB: 0 }] }), { cpuMilli: 400, memoryMiB: 0 });
    assert.deepEqual(podRequests({ initContainers: [{ name: "i", cpuMilli: 500, memoryMiB: 64 }], containers: [{ name: "a", cpuMilli: 200, memoryMiB: 10 }] }), { cpuMilli: 500, memoryMiB: 64 });
  });

  it("a chart version outside the table: only kubeadm's own add-ons are known", () => {
    const a = clusterAddOns("antrea", "1.15.0");
    assert.equal(a.cniKnown, false);
    assert.deepEqual(a.daemonSets, { cpuMilli: 0, memoryMiB: 0 });
    assert.deepEqual(a.deployments, { cpuMilli: 200, memoryMiB: 140 });
  });

  it("the default DaemonSet requests are Antrea 2.2.0's (the pinned CNI), no longer the 300m guess", () => {
    assert.deepEqual(DEFAULT_KUBERNETES_SETTINGS.workerDaemonSetRequests, { cpu: "400m", memory: "0Mi" });
    assert.deepEqual(resolveKubernetesSettings({}).settings.workerDaemonSetRequests, { cpu: "400m", memory: "0Mi" });
    const calico = resolveKubernetesSettings({ cni: { kind: "calico" } });
    assert.deepEqual(calico.errors, []);
    assert.deepEqual(calico.settings.workerDaemonSetRequests, { cpu: "0m", memory: "0Mi" });
    assert.deepEqual(workerPool([{ cpus: 16, memoryMiB: 122880 }], calico.settings).addOnPods, { cpu: 0.2, memoryMiB: 140 });
  });

  it("more than the stack's own (a CSI node plugin, a log agent) is accepted", () => {
    const r = resolveKubernetesSettings({ workerDaemonSetRequests: { cpu: "600m", memory: "512Mi" } });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.settings.workerDaemonSetRequests, { cpu: "600m", memory: "512Mi" });
  });

  it("negative control: less CPU than Antrea's agent requests (the old 300m default) is refused, naming the leaf key and the containers", () => {
    const r = resolveKubernetesSettings({ workerDaemonSetRequests: { cpu: "300m", memory: "512Mi" } }, "vsphere-spark:kubernetes");
    assert.deepEqual(r.errors.map((e) => e.path), ["vsphere-spark:kubernetes.workerDaemonSetRequests.cpu"]);
    assert.match(r.errors[0].message, /is 300m, less than the stack's own DaemonSets request on each worker with antrea 2\.2\.0: 400m \(kube-proxy: kube-proxy 0m; antrea-agent: antrea-agent 200m \+ antrea-ovs 200m\)/);
  });

  it("on Tanzu (the release brings its own CNI) a given value is taken as it is; the chart's numbers stay the default estimate", () => {
    const r = resolveKubernetesSettings({ workerDaemonSetRequests: { cpu: "300m", memory: "512Mi" } }, "vsphere-spark:kubernetes", { cniInstalledByStack: false });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.settings.workerDaemonSetRequests, { cpu: "300m", memory: "512Mi" });
    assert.deepEqual(resolveKubernetesSettings({}, "vsphere-spark:kubernetes", { cniInstalledByStack: false }).settings.workerDaemonSetRequests, { cpu: "400m", memory: "0Mi" });
  });

  it("a CNI version outside the table needs the requests given, naming the key", () => {
    const r = resolveKubernetesSettings({ cni: { kind: "antrea", version: "1.15.0" } }, "vsphere-spark:kubernetes");
    assert.deepEqual(r.errors.map((e) => e.path), ["vsphere-spark:kubernetes.workerDaemonSetRequests"]);
    assert.match(r.errors[0].message, /antrea 1\.15\.0's DaemonSets are not in this library's table \(antrea 2\.0\.0 to 2\.5\.x/);
    const given = resolveKubernetesSettings({ cni: { kind: "antrea", version: "1.15.0" }, workerDaemonSetRequests: { cpu: "500m", memory: "64Mi" } });
    assert.deepEqual(given.errors, []);
    assert.deepEqual(given.settings.workerDaemonSetRequests, { cpu: "500m", memory: "64Mi" });
  });
});
