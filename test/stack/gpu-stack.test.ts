/**
 * The GPU example stack (Pulumi.gpu.yaml) through the real program under the offline plan: GPU VMs
 * with their passthrough inputs, the device plugin installed only here, GPU nodes tainted and
 * labelled at registration, GPU executors in the Spark plan; bad GPU input refused with its key.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { parse } from "yaml";
import { plan } from "../../src/plan/plan";
import { unwrapSecrets } from "../../src/plan/mock-runtime";
import { decideStack } from "../../src/config/decisions";
import { flatten, readStackFile } from "../../src/plan/stack-file";
import { realisticOutputs } from "../cluster/helpers";
import { DEVICE_PLUGIN_CHART, GPU_TAINT } from "../../components/cluster/gpu";

const ROOT = path.resolve(__dirname, "../../..");
const VM = "vsphere:index/virtualMachine:VirtualMachine";
const RELEASE = "kubernetes:helm.sh/v3:Release";

describe("the GPU example stack (Pulumi.gpu.yaml)", function () {
  this.timeout(120_000);

  it("plans GPU VMs with passthrough inputs, the device plugin, tainted GPU nodes and GPU executors", async () => {
    const r = await plan({ stack: "gpu", cwd: ROOT, simulate: realisticOutputs() });
    if (!r.ok) assert.fail(JSON.stringify(r.errors, null, 2));
    const vms = r.recorded.filter((x) => x.type === VM);
    assert.equal(vms.length, 24, "the reference 20 VMs and 4 GPU workers");
    const gpuVms = vms.filter((v) => v.inputs.pciDeviceIds !== undefined);
    assert.deepEqual(gpuVms.map((v) => v.inputs.name).sort(), ["esxi-03-gpu-worker-1", "esxi-03-gpu-worker-2", "esxi-04-gpu-worker-1", "esxi-04-gpu-worker-2"]);
    for (const v of gpuVms) {
      assert.equal(v.inputs.memoryReservation, v.inputs.memory);
      assert.equal(v.inputs.memoryReservationLockedToMax, true);
      assert.equal(v.inputs.firmware, "efi");
      assert.ok(v.inputs.hostSystemId !== undefined, "pci_device_id needs host_system_id (terraform-provider-vsphere)");
      const extra = unwrapSecrets(v.inputs.extraConfig) as Record<string, string>;
      assert.equal(extra["pciPassthru.use64bitMMIO"], "TRUE");
      assert.equal(extra["pciPassthru.64bitMMIOSizeGB"], "256");
      assert.ok(Object.keys(extra).some((k) => k.startsWith("guestinfo.")), "the cloud-init guestinfo is kept beside the MMIO keys");
    }
    assert.deepEqual(gpuVms.map((v) => v.inputs.pciDeviceIds), [["0000:3b:00.0"], ["0000:af:00.0"], ["0000:3b:00.0"], ["0000:af:00.0"]]);
    // Negative control: the CPU workers carry none of it.
    for (const v of vms.filter((x) => x.inputs.pciDeviceIds === undefined)) assert.equal(v.inputs.memoryReservation, undefined);

    const releases = r.recorded.filter((x) => x.type === RELEASE);
    assert.equal(releases.length, 2);
    const dp = releases.find((x) => x.inputs.chart === DEVICE_PLUGIN_CHART.chart)!;
    assert.equal(dp.inputs.version, "0.17.1");

    const kubeadm = (vm: string) => parse(r.artifacts.find((a) => a.path === `kubeadm/${vm}.yaml`)!.content);
    const gpuReg = kubeadm("esxi-03-gpu-worker-1").nodeRegistration;
    assert.deepEqual(gpuReg.taints, [{ ...GPU_TAINT }]);
    assert.deepEqual(gpuReg.kubeletExtraArgs, [{ name: "node-labels", value: "nvidia.com/gpu.present=true" }]);
    assert.equal(kubeadm("esxi-03-worker-1").nodeRegistration.taints, undefined);

    const spark = (r.plan as any).spark;
    assert.equal(spark.conf["spark.executor.instances"], "16", "CPU executors on the 16 CPU workers only");
    assert.equal(spark.gpu.conf["spark.executor.instances"], "4");
    assert.equal(spark.gpu.conf["spark.executor.resource.gpu.vendor"], "nvidia.com");
    assert.deepEqual(spark.gpu.executorPod.limits, { "nvidia.com/gpu": "1" });
    assert.deepEqual({ requested: spark.gpu.utilization.gpusRequested, total: spark.gpu.utilization.gpusTotal }, { requested: 4, total: 4 });
    assert.match(r.sectionText.join("\n"), /GPU utilization: 4 of 4 GPUs/);
    // The namespace's quota holds one GPU application beside the CPU one, GPUs included; the pod
    // templates ConfigMap carries the GPU executor template.
    const byKind = (k: string) => r.recorded.filter((x) => x.type === k).map((x) => x.inputs as any);
    const quota = byKind("kubernetes:core/v1:ResourceQuota")[0];
    assert.equal(quota.spec.hard["requests.nvidia.com/gpu"], "4");
    const cms = byKind("kubernetes:core/v1:ConfigMap");
    assert.ok(cms.some((c) => c.data?.["executor-gpu.yaml"]?.includes("nvidia.com/gpu.present")));
    assert.ok(cms.some((c) => c.data?.["spark-gpu.conf"]?.includes("spark.executor.resource.gpu.vendor nvidia.com")));
  });

  it("the reference stack has no GPU VM and no device plugin (installed only when a GPU pool exists)", async () => {
    const r = await plan({ stack: "dev", cwd: ROOT });
    if (!r.ok) assert.fail(JSON.stringify(r.errors));
    assert.equal(r.recorded.filter((x) => x.type === RELEASE).length, 1);
    assert.ok(r.recorded.filter((x) => x.type === VM).every((v) => v.inputs.pciDeviceIds === undefined));
  });

  it("refuses bad GPU input naming each key, all at once, before any resource", () => {
    const cfg = readStackFile(path.join(ROOT, "Pulumi.gpu.yaml")) as Record<string, any>;
    cfg["vsphere-spark:spark"].gpu = { gpusPerExecutor: 1, taskGpuAmount: 2 };
    cfg["vsphere-spark:hosts"][0].gpuWorkers = 1;
    cfg["vsphere-spark:hosts"][3].gpuWorkers = 3;
    const flat = flatten(cfg);
    const errors = decideStack(flat.values, flat.secretKeys).errors;
    const got = errors.map((e) => `${e.path}: ${e.message}`).join("\n");
    assert.match(got, /vsphere-spark:spark\.gpu\.taskGpuAmount: is 2 GPUs per task but an executor has 1/);
    assert.match(got, /vsphere-spark:hosts\[0\]\.gpuWorkers: host "esxi-01" has no GPUs/);
    assert.match(got, /vsphere-spark:hosts\[3\]\.gpuWorkers: 3 GPU workers × 1 GPUs need 3 devices/);
    // Negative control: the file as written decides.
    const ok = flatten(readStackFile(path.join(ROOT, "Pulumi.gpu.yaml")));
    assert.deepEqual(decideStack(ok.values, ok.secretKeys).errors, []);
  });
});
