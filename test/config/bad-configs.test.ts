/**
 * A corpus of bad stack configurations, each with the error it must produce. Every case starts
 * from the reference stack (Pulumi.dev.yaml) and changes it the way a user might get it wrong.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { FieldError } from "../../components/validation";
import { decideStack } from "../../src/config/decisions";
import { flatten, readStackFile } from "../../src/plan/stack-file";

const ROOT = path.resolve(__dirname, "../../..");
export function referenceConfig(): Record<string, unknown> {
  return readStackFile(path.join(ROOT, "Pulumi.dev.yaml"));
}

type Cfg = Record<string, any>;
interface Case {
  name: string;
  change: (c: Cfg) => void;
  secretKeys?: string[];
  /** Each expected error: exact path and a pattern its message must match. */
  expect: { path: string; message: RegExp }[];
}

const K = (k: string) => `vsphere-spark:${k}`;

export const BAD_CONFIGS: Case[] = [
  {
    name: "a host allocated more vCPU than its logical cores",
    change: (c) => (c[K("hosts")][1].cpuThreads = 64),
    expect: [{ path: `${K("hosts")}[1]`, message: /host "esxi-02" is allocated 72 vCPU but has 64 logical cores.*vsphere-spark:overcommit\.cpu/ }],
  },
  {
    name: "a host allocated more memory than it has",
    change: (c) => (c[K("hosts")][3].memoryGiB = 512),
    expect: [{ path: `${K("hosts")}[3]`, message: /host "esxi-04" is allocated 544 GiB of memory but has 512 GiB/ }],
  },
  {
    name: "overcommit that is still not enough",
    change: (c) => {
      c[K("hosts")][0].cpuThreads = 32;
      c[K("overcommit")] = { cpu: 2 };
    },
    expect: [{ path: `${K("hosts")}[0]`, message: /72 vCPU but has 32 logical cores \(× overcommit 2 = 64\)/ }],
  },
  {
    name: "an even control-plane count",
    change: (c) => (c[K("controlPlane")] = { count: 2 }),
    expect: [{ path: K("controlPlane"), message: /odd number of VMs .* got 2/ }],
  },
  {
    name: "a zero control-plane count",
    change: (c) => (c[K("controlPlane")] = { count: 0 }),
    expect: [{ path: K("controlPlane"), message: /odd number of VMs .* got 0/ }],
  },
  {
    name: "two control-plane VMs on one host",
    change: (c) => (c[K("controlPlane")] = { hosts: ["esxi-01", "esxi-02", "esxi-01"] }),
    expect: [{ path: `${K("controlPlane")}.hosts[2]`, message: /two control-plane VMs on host "esxi-01"/ }],
  },
  {
    name: "a control-plane host that does not exist",
    change: (c) => (c[K("controlPlane")] = { hosts: ["esxi-01", "esxi-02", "esxi-09"] }),
    expect: [{ path: `${K("controlPlane")}.hosts[2]`, message: /unknown host "esxi-09"/ }],
  },
  {
    name: "zero workers",
    change: (c) => (c[K("workersPerHost")] = 0),
    expect: [{ path: K("workersPerHost"), message: /no worker VMs/ }],
  },
  {
    name: "a negative worker count",
    change: (c) => (c[K("workersPerHost")] = -1),
    expect: [{ path: K("workersPerHost"), message: /must be at least 0, got -1/ }],
  },
  {
    name: "workersPerHost of the wrong type",
    change: (c) => (c[K("workersPerHost")] = "four"),
    expect: [{ path: K("workersPerHost"), message: /must be a whole number, got "four"/ }],
  },
  {
    name: "a fractional vCPU count",
    change: (c) => (c[K("vmProfiles")].worker.cpus = 15.5),
    expect: [{ path: `${K("vmProfiles")}.worker.cpus`, message: /must be a whole number, got 15.5/ }],
  },
  {
    name: "a cluster name DNS would reject",
    change: (c) => (c[K("clusterName")] = "Spark_Cluster"),
    expect: [{ path: K("clusterName"), message: /"Spark_Cluster" is not a valid DNS label/ }],
  },
  {
    name: "a host id DNS would reject",
    change: (c) => (c[K("hosts")][0].id = "esxi_01"),
    expect: [{ path: `${K("hosts")}[0].id`, message: /"esxi_01" is not a valid DNS label/ }],
  },
  {
    name: "a host given by IP address with no id",
    change: (c) => (c[K("hosts")][0] = { name: "10.0.0.11", cpuThreads: 96, memoryGiB: 768 }),
    expect: [{ path: `${K("hosts")}[0].id`, message: /is required: no DNS-safe id can be derived from the host name "10.0.0.11"/ }],
  },
  {
    name: "two hosts with the same id",
    change: (c) => (c[K("hosts")][1].name = "esxi-01.other.local"),
    expect: [{ path: `${K("hosts")}[1].id`, message: /host id "esxi-01" is also used by vsphere-spark:hosts\[0\]/ }],
  },
  {
    name: "a vCenter inventory name vSphere rejects",
    change: (c) => (c[K("inventory")].datastore = "ds/01%"),
    expect: [{ path: `${K("inventory")}.datastore`, message: /contains a character vSphere rejects/ }],
  },
  {
    name: "a folder path with an empty segment",
    change: (c) => (c[K("inventory")].folder = "/spark//vms"),
    expect: [{ path: `${K("inventory")}.folder`, message: /is not a folder path/ }],
  },
  {
    name: "a missing inventory entry",
    change: (c) => delete c[K("inventory")].template,
    expect: [{ path: `${K("inventory")}.template`, message: /is required/ }],
  },
  {
    name: "a misspelled project key",
    change: (c) => (c[K("workerPerHost")] = 3),
    expect: [{ path: K("workerPerHost"), message: /unknown configuration key \(did you mean "workersPerHost"\?\); known keys: vsphere-spark:backend, vsphere-spark:clusterName/ }],
  },
  {
    name: "a misspelled nested key",
    change: (c) => (c[K("hosts")][2].cpuTreads = 96),
    expect: [{ path: `${K("hosts")}[2].cpuTreads`, message: /unknown key "cpuTreads" \(did you mean "cpuThreads"\?\); known keys: name, id, cpuThreads/ }],
  },
  {
    name: "a misspelled vSphere provider key",
    change: (c) => (c["vsphere:vsphereServr"] = "vc"),
    expect: [{ path: "vsphere:vsphereServr", message: /not a configuration key of the vSphere provider \(did you mean "vsphereServer"\?\)/ }],
  },
  {
    name: "the vCenter password in clear text",
    change: (c) => (c["vsphere:password"] = "hunter2"),
    expect: [{ path: "vsphere:password", message: /stored in clear text.*pulumi config set --secret vsphere:password/ }],
  },
  {
    name: "hosts that is not a list",
    change: (c) => (c[K("hosts")] = { name: "esxi-01" }),
    expect: [{ path: K("hosts"), message: /must be a list, got an object/ }],
  },
  {
    name: "an endpoint kind that does not exist",
    change: (c) => (c[K("endpoint")] = { kind: "nginx" }),
    expect: [{ path: `${K("endpoint")}.kind`, message: /must be one of "haproxy", "kube-vip", "external", got "nginx"/ }],
  },
  {
    name: "kube-vip without a virtual IP",
    change: (c) => (c[K("endpoint")] = { kind: "kube-vip" }),
    expect: [{ path: `${K("endpoint")}.address`, message: /is required/ }],
  },
  {
    name: "a kube-vip address already used by a VM",
    change: (c) => {
      c[K("endpoint")] = { kind: "kube-vip", address: "192.168.1.10" };
      c[K("network")].addresses = {};
    },
    expect: [{ path: `${K("endpoint")}.address`, message: /the kube-vip virtual IP 192\.168\.1\.10 is also the address of VM esxi-01-control-plane/ }],
  },
  {
    name: "an endpoint host that is not a listed host",
    change: (c) => (c[K("endpoint")] = { kind: "haproxy", host: "esxi-4" }),
    expect: [{ path: `${K("endpoint")}.host`, message: /unknown host "esxi-4" \(did you mean "esxi-04"\?\) \(host ids are: esxi-01, esxi-02, esxi-03, esxi-04\)/ }],
  },
  {
    name: "an external load balancer at a VM's address",
    change: (c) => {
      c[K("endpoint")] = { kind: "external", address: "192.168.1.32" };
      c[K("network")].addresses = {};
    },
    expect: [{ path: `${K("endpoint")}.address`, message: /the external load balancer's address 192\.168\.1\.32 is also the address of VM esxi-02-worker-1/ }],
  },
  {
    name: "an external load balancer inside the service network",
    change: (c) => {
      c[K("endpoint")] = { kind: "external", address: "10.96.0.10" };
      c[K("network")].addresses = {};
    },
    expect: [{ path: `${K("endpoint")}.address`, message: /10\.96\.0\.10 lies inside the service network \(serviceCidr\) 10\.96\.0\.0\/12/ }],
  },
  {
    name: "a kube-vip address inside a host's address block",
    change: (c) => {
      c[K("endpoint")] = { kind: "kube-vip", address: "192.168.1.25" };
      c[K("network")].addresses = {};
    },
    expect: [{ path: `${K("endpoint")}.address`, message: /192\.168\.1\.25 lies inside host "esxi-01"'s address block 192\.168\.1\.10–192\.168\.1\.29: adding VMs there would hand it to a VM/ }],
  },
  {
    name: "a gateway that is the network's own address",
    change: (c) => (c[K("network")].gateway = "192.168.1.0"),
    expect: [{ path: `${K("network")}.gateway`, message: /192\.168\.1\.0 is the network's own network or broadcast address/ }],
  },
  {
    name: "a pinned MAC outside VMware's manual range",
    change: (c) => (c[K("network")].macAddresses = { "esxi-01-worker-1": "00:50:56:40:00:01" }),
    expect: [{ path: `${K("network")}.macAddresses.esxi-01-worker-1`, message: /00:50:56:40:00:01 is outside VMware's range for manual MACs, 00:50:56:00:00:00–00:50:56:3f:ff:ff/ }],
  },
  {
    name: "a pinned MAC for a VM that does not exist",
    change: (c) => (c[K("network")].macAddresses = { "esxi-09-worker-1": "00:50:56:00:00:01" }),
    expect: [{ path: `${K("network")}.macAddresses.esxi-09-worker-1`, message: /no VM is named "esxi-09-worker-1"/ }],
  },
  {
    name: "an executor heap that does not fit the workers (the leaf key, not its parent)",
    change: (c) => (c[K("spark")].executor = { memory: "110g" }),
    expect: [{ path: `${K("spark")}.executor.memory`, message: /executor memory 110g does not fit/ }],
  },
  {
    name: "a kernel share that is not a share",
    change: (c) => (c[K("kubernetes")].kernelReservation = { fraction: 0.7 }),
    expect: [{ path: `${K("kubernetes")}.kernelReservation.fraction`, message: /must be a share of the RAM in \[0, 0\.5\), got 0\.7/ }],
  },
  {
    name: "a misspelt project namespace",
    change: (c) => (c["vsphere-sprak:workersPerHost"] = 3),
    expect: [{ path: "vsphere-sprak:workersPerHost", message: /unknown namespace "vsphere-sprak" \(did you mean "vsphere-spark:workersPerHost"\?\)/ }],
  },
  {
    name: "a misspelt provider namespace",
    change: (c) => (c["vshpere:user"] = "admin"),
    expect: [{ path: "vshpere:user", message: /unknown namespace "vshpere" \(did you mean "vsphere:user"\?\)/ }],
  },
  {
    name: "a provider flag that is not true or false",
    change: (c) => (c["vsphere:allowUnverifiedSsl"] = "yes"),
    expect: [{ path: "vsphere:allowUnverifiedSsl", message: /must be "true" or "false", got "yes"/ }],
  },
  {
    name: "a provider timeout that is not a number",
    change: (c) => (c["vsphere:apiTimeout"] = "5m"),
    expect: [{ path: "vsphere:apiTimeout", message: /must be a whole number, got "5m"/ }],
  },
  {
    name: "one pod network overlapping the VM network (one error, not one per VM)",
    change: (c) => (c[K("kubernetes")] = { podCidr: "192.168.0.0/16" }),
    expect: [{ path: `${K("kubernetes")}.podCidr`, message: /pod network \(podCidr\) 192\.168\.0\.0\/16 overlaps the VM network 192\.168\.1\.0\/24/ }],
  },
  {
    name: "an even control-plane count beside an unrelated host error",
    change: (c) => {
      c[K("controlPlane")] = { count: 2 };
      c[K("hosts")][2].cpuThreads = "many";
    },
    expect: [
      { path: K("controlPlane"), message: /odd number of VMs .* got 2/ },
      { path: `${K("hosts")}[2].cpuThreads`, message: /must be a whole number, got "many"/ },
    ],
  },
  {
    name: "an address outside the network",
    change: (c) => (c[K("network")].addresses["esxi-01-worker-1"] = "10.1.1.1"),
    expect: [{ path: `${K("network")}.addresses.esxi-01-worker-1`, message: /10\.1\.1\.1 of esxi-01-worker-1 is outside the network 192\.168\.1\.0\/24/ }],
  },
  {
    name: "two VMs with one address",
    change: (c) => (c[K("network")].addresses["esxi-02-worker-1"] = "192.168.1.13"),
    expect: [{ path: `${K("network")}.addresses.esxi-02-worker-1`, message: /address 192\.168\.1\.13 of esxi-02-worker-1 is already used by esxi-01-worker-2/ }],
  },
  {
    name: "an address override for a VM that does not exist",
    change: (c) => (c[K("network")].addresses["esxi-05-worker-1"] = "192.168.1.200"),
    expect: [{ path: `${K("network")}.addresses.esxi-05-worker-1`, message: /no VM is named "esxi-05-worker-1"/ }],
  },
  {
    name: "a gateway outside the network",
    change: (c) => (c[K("network")].gateway = "192.168.2.1"),
    expect: [{ path: `${K("network")}.gateway`, message: /192\.168\.2\.1 is outside the network 192\.168\.1\.0\/24/ }],
  },
  {
    name: "a CIDR with host bits set",
    change: (c) => (c[K("network")].cidr = "192.168.1.7/24"),
    expect: [{ path: `${K("network")}.cidr`, message: /is not an IPv4 CIDR/ }],
  },
  {
    name: "more workers than an address block holds",
    change: (c) => {
      c[K("workersPerHost")] = 19;
      c[K("network")].addressing = { blockSize: 20 };
      c[K("overcommit")] = { cpu: 4, memory: 4 };
    },
    expect: [{ path: `${K("network")}.addressing.blockSize`, message: /more workers than its address block holds \(18 with blockSize 20\)/ }],
  },
  {
    name: "a VM network that overlaps the service network",
    change: (c) => {
      c[K("network")] = { ...c[K("network")], cidr: "10.96.0.0/16", gateway: "10.96.0.1", dnsServers: ["10.96.0.1"], addresses: {} };
    },
    expect: [{ path: `${K("kubernetes")}.serviceCidr`, message: /overlaps the VM network 10\.96\.0\.0\/16/ }],
  },
  {
    name: "a CNI the cluster layer does not install",
    change: (c) => (c[K("kubernetes")] = { cni: { kind: "flannel" } }),
    expect: [{ path: `${K("kubernetes")}.cni.kind`, message: /must be one of "antrea", "calico", got "flannel"/ }],
  },
  {
    name: "a misspelled Spark executor setting",
    change: (c) => (c[K("spark")] = { executor: { executorPerNode: 2 } }),
    expect: [{ path: `${K("spark")}.executor.executorPerNode`, message: /unknown key "executorPerNode" \(did you mean "executorsPerNode"\?\)/ }],
  },
  {
    name: "a scratch disk the size of the boot disk (the guest tells them apart by size)",
    change: (c) => (c[K("vmProfiles")].worker.scratchDiskGiB = 100),
    expect: [{ path: `${K("vmProfiles")}.worker.scratchDiskGiB`, message: /must differ from diskGiB \(100\)/ }],
  },
  {
    // /proc/meminfo counts kB: 151 MiB copied from there is 154624. Once produced 19 errors naming
    // vsphere-spark:kubernetes and internal paths (cluster.nodes[0].memoryMiB); now one, at the key.
    name: "a kernel reservation written in kB, the unit /proc/meminfo uses",
    change: (c) => (c[K("kubernetes")].kernelReservation = { fixedMiB: 154624, fraction: 0.016314 }),
    expect: [{ path: `${K("kubernetes")}.kernelReservation.fixedMiB`, message: /is 154624 MiB, more than any kernel keeps .*154624 kB would be 151 MiB/ }],
  },
  {
    name: "registry credentials without the secret password",
    change: (c) => (c[K("spark")] = { deployMode: "client", image: "registry.lab.local:5000/spark-tf:1.0", registryCredentials: { server: "registry.lab.local:5000", username: "ci" } }),
    expect: [{ path: K("registryPassword"), message: /is required when vsphere-spark:spark\.registryCredentials is set: run `pulumi config set --secret vsphere-spark:registryPassword`/ }],
  },
  {
    name: "the registry password in clear text",
    change: (c) => (c[K("registryPassword")] = "hunter2"),
    expect: [{ path: K("registryPassword"), message: /stored in clear text/ }],
  },
];

function run(c: Cfg, secretKeys: string[] = []): FieldError[] {
  const flat = flatten(c);
  // Everything the program checks before registering a resource (decideStack), not only the keys.
  return decideStack(flat.values, [...flat.secretKeys, ...secretKeys]).errors;
}

describe("stack configuration: bad configurations", () => {
  it("the reference stack is valid", () => {
    assert.deepEqual(run(referenceConfig()), []);
  });

  it(`the corpus holds at least 20 cases (${BAD_CONFIGS.length})`, () => {
    assert.ok(BAD_CONFIGS.length >= 20);
  });

  for (const c of BAD_CONFIGS) {
    it(`rejects ${c.name}`, () => {
      const cfg = referenceConfig() as Cfg;
      c.change(cfg);
      const errors = run(cfg, c.secretKeys);
      // Exactly the expected errors: each one present, and nothing else.
      const got = JSON.stringify(errors, null, 2);
      for (const e of c.expect) {
        const hit = errors.find((x) => x.path === e.path && e.message.test(x.message));
        assert.ok(hit, `expected an error at ${e.path} matching ${e.message}; got:\n${got}`);
      }
      assert.equal(errors.length, c.expect.length, `expected exactly ${c.expect.length} error(s); got:\n${got}`);
    });
  }

  it("reports every problem at once", () => {
    const cfg = referenceConfig() as Cfg;
    cfg[K("workerPerHost")] = 3;
    cfg[K("hosts")][0].cpuThreads = 8;
    cfg[K("clusterName")] = "Bad Name";
    cfg[K("network")].gateway = "nope";
    const errors = run(cfg);
    const paths = errors.map((e) => e.path);
    for (const p of [K("workerPerHost"), `${K("hosts")}[0]`, K("clusterName"), `${K("network")}.gateway`]) {
      assert.ok(paths.includes(p), `missing ${p} in ${JSON.stringify(paths)}`);
    }
  });

  it("accepts the password when it is a secret", () => {
    const cfg = referenceConfig() as Cfg;
    cfg["vsphere:password"] = { secure: "v1:abc" };
    assert.deepEqual(run(cfg), []);
  });

  it("allows an overcommitted host when overcommit is set", () => {
    const cfg = referenceConfig() as Cfg;
    cfg[K("hosts")][1].cpuThreads = 64;
    cfg[K("overcommit")] = { cpu: 1.5 };
    assert.deepEqual(run(cfg), []);
  });
});
