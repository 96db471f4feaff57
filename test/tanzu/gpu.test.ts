/**
 * vGPU VM classes and a GPU node pool on the Tanzu back end (components/tanzu/gpu.ts): the class
 * inputs against the vendored provider schema, the pool's taint and label in the rendered Cluster
 * (checked against the CAPI CRD), and the refusals with their keys; each with a negative control.
 */
import * as assert from "node:assert/strict";
import { resolveTanzuSettings } from "../../components/tanzu";
import { vmClassArgs } from "../../components/tanzu/vm-classes";
import { renderCapiCluster } from "../../components/tanzu/render";
import { GPU_TAINT } from "../../components/cluster/gpu";
import { checkResourceInputs } from "../support/vsphere-schema";
import { capiClusterProblems, reference, referenceRaw } from "./helpers";

const CLASS = "vsphere:index/virtualMachineClass:VirtualMachineClass";

function withGpuPool(raw: Record<string, any>): void {
  raw.vmClasses.gpu = { cpus: 8, memoryGiB: 64, vgpuDevices: ["grid_a100-40c"] };
  raw.cluster.nodePools.push({ name: "gpu", replicas: 2, vmClass: "gpu" });
  raw.cluster.sparkPool = "workers";
}

describe("Tanzu: vGPU VM classes and a GPU node pool", () => {
  it("a vGPU class reserves all its memory and carries vgpuDevices; its inputs match the provider schema", () => {
    const s = reference(withGpuPool);
    const spec = s.vmClasses.gpu;
    assert.deepEqual(spec.vgpuDevices, ["grid_a100-40c"]);
    const args = vmClassArgs(s.namespace.name, "gpu", spec);
    assert.equal(args.memoryReservation, 100);
    assert.deepEqual(args.vgpuDevices, ["grid_a100-40c"]);
    assert.match(args.name, /-gpu-8c-64g-r0-100-grid-a100-40c$/);
    assert.deepEqual(checkResourceInputs(CLASS, args as unknown as Record<string, unknown>), []);
    // Negative control: a class without GPUs has none of it.
    const plain = vmClassArgs(s.namespace.name, "worker", s.vmClasses.worker);
    assert.equal(plain.vgpuDevices, undefined);
    assert.equal(plain.memoryReservation, undefined);
  });

  it("the GPU node pool is tainted and labelled in the rendered Cluster (valid against the CAPI CRD); the CPU pool is not", () => {
    const s = reference(withGpuPool);
    const gpu = s.cluster.nodePools.find((p) => p.name === "gpu")!;
    assert.deepEqual(gpu.taints, [{ ...GPU_TAINT }]);
    assert.equal(gpu.labels["nvidia.com/gpu.present"], "true");
    assert.deepEqual(s.cluster.nodePools.find((p) => p.name === "workers")!.taints, []);
    const manifest = renderCapiCluster(s) as Record<string, any>;
    assert.deepEqual(capiClusterProblems(manifest, "nested"), []);
    assert.match(JSON.stringify(manifest), /nvidia\.com\/gpu/);
  });

  it("refuses a vGPU class with a partial memory reservation, a bad profile name, no profile, and a GPU pool for the CPU executors", () => {
    const raw = referenceRaw();
    withGpuPool(raw);
    raw.vmClasses.gpu.memoryReservation = 50;
    raw.vmClasses.bad = { cpus: 8, memoryGiB: 64, vgpuDevices: ["A100 40C"] };
    raw.vmClasses.none = { cpus: 8, memoryGiB: 64, vgpuDevices: [] };
    raw.cluster.sparkPool = "gpu";
    const { errors } = resolveTanzuSettings(raw);
    const got = errors.map((e) => `${e.path}: ${e.message}`).join("\n");
    assert.match(got, /vsphere-spark:tanzu\.vmClasses\.gpu\.memoryReservation: must be 100 with vgpuDevices/);
    assert.match(got, /vsphere-spark:tanzu\.vmClasses\.bad\.vgpuDevices\[0\]: "A100 40C" is not an NVIDIA vGPU profile name/);
    assert.match(got, /vsphere-spark:tanzu\.vmClasses\.none\.vgpuDevices: lists no vGPU profile/);
    assert.match(got, /vsphere-spark:tanzu\.cluster\.sparkPool: node pool "gpu" is a vGPU pool/);
    // Negative control: the same pool with the CPU pool for the executors is accepted.
    const ok = referenceRaw();
    withGpuPool(ok);
    assert.deepEqual(resolveTanzuSettings(ok).errors, []);
  });
});
