/**
 * GPU workers on vSphere (components/vsphere/gpu.ts): the MMIO rule as a table, placement of
 * passthrough devices, the VM inputs against the vendored provider schema, and every refusal,
 * each with its negative control (the same stack without the mistake is accepted).
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { readStackFile } from "../../src/plan/stack-file";
import { resolveVsphereSettings } from "../../components/vsphere/settings";
import { gpuVmInputs, mmioSizeGiB, pciIdProblem, placeGpuWorkers } from "../../components/vsphere/gpu";
import { schemaPropertyType, checkResourceInputs } from "../support/vsphere-schema";

const ROOT = path.resolve(__dirname, "../../..");
type Cfg = Record<string, any>;

/** The reference stack's vSphere values (Pulumi.dev.yaml), without the namespace. */
function reference(): Cfg {
  const cfg = readStackFile(path.join(ROOT, "Pulumi.dev.yaml")) as Cfg;
  return JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(cfg).filter(([k]) => k.startsWith("vsphere-spark:")).map(([k, v]) => [k.slice("vsphere-spark:".length), v]))));
}

const A100 = (bus: string) => ({ pciId: `0000:${bus}:00.0`, model: "A100-80GB", memoryGiB: 80 });

/** The reference stack with two A100s on esxi-03 and esxi-04 each, one GPU worker of one GPU per GPU. */
function withGpus(): Cfg {
  const c = reference();
  c.hosts[2].gpus = [A100("3b"), A100("af")];
  c.hosts[2].gpuWorkers = 2;
  c.hosts[3].gpus = [A100("3b"), A100("af")];
  c.hosts[3].gpuWorkers = 1;
  c.vmProfiles = { ...(c.vmProfiles ?? {}), gpu: { cpus: 8, memoryGiB: 64, diskGiB: 100, gpus: 1 } };
  return c;
}

const K = (k: string) => `vsphere-spark:${k}`;
const resolve = (c: Cfg) => resolveVsphereSettings(c, K);

describe("vSphere GPU workers", () => {
  it("the 64-bit MMIO window: twice the GPUs' memory, rounded up to a power of two (VMware / Denneman)", () => {
    const table: [number, number][] = [
      [8, 32], // the floor: vSphere's default window is 32 GB
      [16, 32], // one 16 GB V100: 2 × 16 = 32
      [32, 64], // two 16 GB V100s: the 2018 VMware blog's worked example (2 × 16 → 64)
      [40, 128],
      [80, 256], // one A100 80GB
      [160, 512],
      [320, 1024], // four A100 80GB
    ];
    for (const [mem, want] of table) assert.equal(mmioSizeGiB(mem), want, `${mem} GiB of GPU memory`);
  });

  it("PCI ids: domain:bus:slot.function in lower-case hex, as ESXi lists passthrough devices", () => {
    assert.equal(pciIdProblem("0000:3b:00.0"), undefined);
    for (const bad of ["3b:00.0", "0000:3B:00.0", "0000:3b:00.8", "0000:3b:00", "PCI-1"]) assert.match(pciIdProblem(bad)!, /not a host PCI device id/, bad);
  });

  it("a stack with GPU workers plans them on their hosts, each with its own devices", () => {
    const r = resolve(withGpus());
    assert.deepEqual(r.errors, []);
    const gpuSlots = r.decisions!.slots.filter((s) => s.gpus);
    assert.deepEqual(
      gpuSlots.map((s) => [s.name, s.gpus!.pciIds, s.gpus!.mmioSizeGiB, s.cpus, s.memoryMiB]),
      [
        ["esxi-03-gpu-worker-1", ["0000:3b:00.0"], 256, 8, 65536],
        ["esxi-03-gpu-worker-2", ["0000:af:00.0"], 256, 8, 65536],
        ["esxi-04-gpu-worker-1", ["0000:3b:00.0"], 256, 8, 65536],
      ],
    );
    // The CPU workers keep their names and addresses; GPU workers take the block's last addresses.
    const base = resolve(reference()).decisions!;
    for (const s of base.slots) assert.equal(r.decisions!.addresses[s.name], base.addresses[s.name], s.name);
    assert.equal(new Set(Object.values(r.decisions!.addresses)).size, r.decisions!.slots.length);
  });

  it("the VM inputs of a GPU worker exist in the provider schema with these types (pulumi-vsphere 4.17.0)", () => {
    const vm = "vsphere:index/virtualMachine:VirtualMachine";
    const inputs = gpuVmInputs(65536, { pciIds: ["0000:3b:00.0"], models: ["A100-80GB"], count: 1, mmioSizeGiB: 256 });
    assert.deepEqual(inputs, {
      pciDeviceIds: ["0000:3b:00.0"],
      memoryReservation: 65536,
      memoryReservationLockedToMax: true,
      firmware: "efi",
      extraConfig: { "pciPassthru.use64bitMMIO": "TRUE", "pciPassthru.64bitMMIOSizeGB": "256" },
    });
    for (const k of Object.keys(inputs)) assert.ok(schemaPropertyType(vm, k), `${k} is an input of ${vm}`);
    const problems = checkResourceInputs(vm, { ...inputs, name: "x", resourcePoolId: "rp" });
    assert.deepEqual(problems, []);
    // Negative control: the VM resource has no vGPU input (why a vGPU profile is refused on kubeadm workers).
    for (const k of ["vgpu", "vgpuProfile", "vgpuDevices", "hostPciDeviceIds"]) assert.equal(schemaPropertyType(vm, k), undefined, k);
    assert.ok(schemaPropertyType("vsphere:index/virtualMachineClass:VirtualMachineClass", "vgpuDevices"));
    assert.ok(checkResourceInputs(vm, { ...inputs, name: "x", resourcePoolId: "rp", vgpu: "grid_a100-40c" }).some((p) => p.includes("vgpu")));
  });

  const cases: { name: string; change: (c: Cfg) => void; expect: { path: string; message: RegExp }[] }[] = [
    {
      name: "GPU workers on a host that has no GPUs",
      change: (c) => (c.hosts[0].gpuWorkers = 1),
      expect: [{ path: `${K("hosts")}[0].gpuWorkers`, message: /host "esxi-01" has no GPUs/ }],
    },
    {
      name: "more GPU workers than the host's devices",
      change: (c) => (c.hosts[3].gpuWorkers = 3),
      expect: [{ path: `${K("hosts")}[3].gpuWorkers`, message: /3 GPU workers × 1 GPUs need 3 devices; host "esxi-04" has 2.*at most 2/ }],
    },
    {
      name: "two GPUs per worker where the host has two devices for two workers",
      change: (c) => (c.vmProfiles.gpu.gpus = 2),
      expect: [{ path: `${K("hosts")}[2].gpuWorkers`, message: /2 GPU workers × 2 GPUs need 4 devices; host "esxi-03" has 2/ }],
    },
    {
      name: "a vGPU profile the host does not offer",
      change: (c) => {
        delete c.vmProfiles.gpu.gpus;
        c.vmProfiles.gpu.vgpuProfile = "grid_a100-20c";
        c.hosts[2].vgpuProfiles = { "grid_a100-40c": 4 };
        c.hosts[3].vgpuProfiles = { "grid_a100-40c": 4 };
      },
      expect: [
        { path: `${K("vmProfiles")}.gpu.vgpuProfile`, message: /"grid_a100-20c" is not among host "esxi-03"'s vGPU profiles \(grid_a100-40c\)/ },
        { path: `${K("vmProfiles")}.gpu.vgpuProfile`, message: /no vGPU input, only pciDeviceIds/ },
      ],
    },
    {
      name: "a GPU device listed twice, with a bad PCI id and no memory",
      change: (c) => {
        c.hosts[2].gpus.push(A100("3b"));
        c.hosts[2].gpus.push({ pciId: "3b:00.0", model: "A100" });
      },
      expect: [
        { path: `${K("hosts")}[2].gpus[2].pciId`, message: /listed twice/ },
        { path: `${K("hosts")}[2].gpus[3].pciId`, message: /not a host PCI device id/ },
        { path: `${K("hosts")}[2].gpus[3].memoryGiB`, message: /is required/ },
      ],
    },
    {
      name: "GPU workers without a GPU profile",
      change: (c) => delete c.vmProfiles.gpu,
      expect: [{ path: `${K("vmProfiles")}.gpu`, message: /is required: host "esxi-03", host "esxi-04" carry GPU workers/ }],
    },
    {
      name: "a GPU profile with both whole GPUs and a vGPU",
      change: (c) => (c.vmProfiles.gpu.vgpuProfile = "grid_a100-40c"),
      expect: [{ path: `${K("vmProfiles")}.gpu.vgpuProfile`, message: /whole GPUs .* or one vGPU profile, not both/ }],
    },
    {
      name: "an MMIO size that is not a power of two",
      change: (c) => (c.vmProfiles.gpu.mmioSizeGiB = 100),
      expect: [{ path: `${K("vmProfiles")}.gpu.mmioSizeGiB`, message: /must be a power of two/ }],
    },
    {
      name: "a misspelled GPU key on a host",
      change: (c) => (c.hosts[2].gpu = c.hosts[2].gpus),
      expect: [{ path: `${K("hosts")}[2].gpu`, message: /unknown key.*gpus/i }],
    },
    {
      name: "GPU workers that overflow the host's vCPUs",
      change: (c) => (c.vmProfiles.gpu.cpus = 64),
      expect: [{ path: `${K("hosts")}[2]`, message: /host "esxi-03" is allocated .* vCPU but has 96 logical cores/ }],
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.name}, naming the key (all problems at once)`, () => {
      const cfg = withGpus();
      c.change(cfg);
      const r = resolve(cfg);
      assert.equal(r.decisions, undefined);
      for (const e of c.expect) {
        assert.ok(
          r.errors.some((x) => x.path === e.path && e.message.test(x.message)),
          `expected ${e.path} ~ ${e.message}; got:\n${r.errors.map((x) => `${x.path}: ${x.message}`).join("\n")}`,
        );
      }
    });
  }

  it("negative control: the same stack without the GPU mistakes is accepted, and without GPUs nothing changes", () => {
    assert.deepEqual(resolve(withGpus()).errors, []);
    const plain = resolve(reference()).decisions!;
    assert.ok(plain.slots.every((s) => !s.gpus && s.profile !== "gpu"));
    assert.equal(plain.topology.gpuProfile, undefined);
  });

  it("placement: each VM takes the next devices of its host in inventory order", () => {
    const devs = [A100("3b"), A100("5e"), A100("af"), A100("d8")];
    const { placed, errors } = placeGpuWorkers([{ id: "h", inventory: { devices: devs, vgpuProfiles: {} }, gpuWorkers: 2 }], { request: { kind: "passthrough", count: 2 } }, { hosts: "hosts", profile: "p" });
    assert.deepEqual(errors, []);
    assert.deepEqual(placed.h.map((g) => g.pciIds), [["0000:3b:00.0", "0000:5e:00.0"], ["0000:af:00.0", "0000:d8:00.0"]]);
    assert.deepEqual(placed.h.map((g) => g.mmioSizeGiB), [512, 512]);
  });
});
