import * as assert from "node:assert/strict";
import { DEFAULT_KUBERNETES_SETTINGS, resolveKubernetesSettings, kubeadmApiVersion } from "../../components/cluster/settings";
import { nodeAllocatable } from "../../components/cluster/allocatable";
import { parseQuantity } from "../../components/quantity";

const P = "vsphere-spark:kubernetes";

describe("cluster settings (vsphere-spark:kubernetes)", () => {
  it("applies every default when nothing is set", () => {
    for (const raw of [undefined, {}]) {
      const r = resolveKubernetesSettings(raw);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.settings, DEFAULT_KUBERNETES_SETTINGS);
    }
    const d = DEFAULT_KUBERNETES_SETTINGS;
    assert.equal(d.version, "1.31.4");
    assert.equal(kubeadmApiVersion(d.version), "kubeadm.k8s.io/v1beta4");
    assert.equal(d.installMode, "packages");
    assert.equal(d.serviceCidr, "10.96.0.0/12");
    assert.deepEqual(d.cni, { kind: "antrea", version: "2.2.0" });
    assert.equal(Object.keys(d.kubelet.evictionHard).length, 5);
  });

  it("reports every problem at once with full paths", () => {
    const { errors } = resolveKubernetesSettings({
      version: "v1.31",
      installMode: "apt",
      podCidr: "10.244.0.1/16",
      serviceCidr: 42,
      kubeReserved: { cpu: "lots", gpu: "1" },
      systemReserved: "1Gi",
      evictionHard: { "memory.available": "-5Mi", "disk.available": "1%" },
      cni: { kind: "flannel", extra: true },
      readinessTimeoutMinutes: 0,
      sshAuthorizedKeys: ["not a key"],
      storageClass: { kind: "nfs", storagePolicyName: "" },
      kubeVipVersion: "latest",
      bogus: 1,
    });
    const paths = errors.map((e) => e.path).sort();
    assert.deepEqual(paths, [
      `${P}.bogus`,
      `${P}.cni.extra`,
      `${P}.cni.kind`,
      `${P}.evictionHard.disk.available`,
      `${P}.evictionHard.memory.available`,
      `${P}.installMode`,
      `${P}.kubeReserved.cpu`,
      `${P}.kubeReserved.gpu`,
      `${P}.kubeVipVersion`,
      `${P}.podCidr`,
      `${P}.readinessTimeoutMinutes`,
      `${P}.serviceCidr`,
      `${P}.sshAuthorizedKeys[0]`,
      `${P}.storageClass.kind`,
      `${P}.storageClass.storagePolicyName`,
      `${P}.systemReserved`,
      `${P}.version`,
    ].sort());
    assert.match(errors.find((e) => e.path === `${P}.bogus`)!.message, /unknown key/);
    assert.deepEqual(resolveKubernetesSettings("x", "k").errors, [{ path: "k", message: 'must be an object, got "x"' }]);
  });

  it("merges reservations and eviction thresholds over the defaults (always the full eviction set)", () => {
    const { settings, errors } = resolveKubernetesSettings({
      kubeReserved: { cpu: "500m" },
      systemReserved: { memory: null },
      evictionHard: { "memory.available": "1Gi" },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(settings.kubelet.kubeReserved, { cpu: "500m", memory: "1Gi", "ephemeral-storage": "1Gi" });
    assert.deepEqual(settings.kubelet.systemReserved, { cpu: "100m", "ephemeral-storage": "1Gi" });
    assert.equal(settings.kubelet.evictionHard["memory.available"], "1Gi");
    assert.equal(settings.kubelet.evictionHard["nodefs.available"], "10%");
  });

  it("picks CNI-specific defaults and checks overlaps", () => {
    const calico = resolveKubernetesSettings({ cni: { kind: "calico" } });
    assert.deepEqual(calico.errors, []);
    assert.deepEqual(calico.settings.cni, { kind: "calico", version: "v3.29.1" });
    assert.equal(calico.settings.podCidr, "10.244.0.0/16");
    const bad = resolveKubernetesSettings({ cni: { kind: "calico", version: "3.29.1" }, podCidr: "10.96.0.0/16" });
    assert.deepEqual(bad.errors.map((e) => e.path).sort(), [`${P}.cni.version`, `${P}.serviceCidr`]);
    assert.match(bad.errors.find((e) => e.path === `${P}.serviceCidr`)!.message, /overlaps podCidr/);
    assert.deepEqual(resolveKubernetesSettings({ version: "1.27.3" }).errors.map((e) => e.path), [`${P}.version`]);
  });
});

describe("node allocatable", () => {
  it("parses Kubernetes quantities", () => {
    assert.equal(parseQuantity("100m"), 0.1);
    assert.equal(parseQuantity("1Gi"), 2 ** 30);
    assert.equal(parseQuantity("500Mi"), 500 * 2 ** 20);
    assert.equal(parseQuantity("1G"), 1e9);
    assert.equal(parseQuantity("2"), 2);
    assert.equal(parseQuantity("1.5"), 1.5);
    assert.equal(parseQuantity("1e3"), 1000);
    assert.equal(parseQuantity("12k"), 12000);
    for (const bad of ["", "1 Gi", "Gi", "1gi", "1GB", "abc", " 1"]) assert.equal(parseQuantity(bad), undefined, bad);
  });

  it("reference worker (16 vCPU / 120 GiB) with the defaults: cpu 15.8, 120332 MiB, fits the 15-core / 112640 MiB executor", () => {
    const a = nodeAllocatable({ cpus: 16, memoryMiB: 122880 }, DEFAULT_KUBERNETES_SETTINGS.kubelet);
    assert.deepEqual(a, { cpu: 15.8, memoryMiB: 120332 });
    const antreaAgentCpu = 0.2;
    assert.ok(a.cpu - antreaAgentCpu >= 15);
    assert.ok(a.memoryMiB >= 114000 && a.memoryMiB >= 112640);
  });

  it("handles decimal units, percentages and missing entries", () => {
    const k = { kubeReserved: { cpu: "250m", memory: "1G" }, systemReserved: {}, evictionHard: { "memory.available": "5%" } };
    // 8192 MiB − 1e9 B (953.67 MiB) − 5% (409.6 MiB) = 6828.7 → 6828
    assert.deepEqual(nodeAllocatable({ cpus: 4, memoryMiB: 8192 }, k), { cpu: 3.75, memoryMiB: 6828 });
    assert.deepEqual(nodeAllocatable({ cpus: 2, memoryMiB: 2048 }, { kubeReserved: {}, systemReserved: {}, evictionHard: {} }), { cpu: 2, memoryMiB: 2048 });
    assert.deepEqual(nodeAllocatable({ cpus: 3, memoryMiB: 1000 }, { kubeReserved: { cpu: "0.1" }, systemReserved: { cpu: "0.2" }, evictionHard: {} }), { cpu: 2.7, memoryMiB: 1000 });
  });
});

