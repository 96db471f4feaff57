/**
 * TanzuCluster under the SDK's mock runtime: the graph it registers, every vSphere input and invoke
 * argument held against the pulumi-vsphere 4.17.0 schema, secrets kept secret, the ClusterHandle,
 * and arguments refused before anything is registered.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { runUnderMocks, unwrapSecrets, isSecretMarker, type MockRunResult } from "../../src/plan/mock-runtime";
import { TanzuCluster, checkRollout, lastAppliedRollout, parseRolloutState, rolloutState, type TanzuClusterArgs } from "../../components/tanzu";
import { ValidationError } from "../../components/validation";
import { checkRecorded } from "../support/vsphere-schema";
import { reference, referenceRaw, standInSupervisor } from "./helpers";

const WORKLOAD_KUBECONFIG = [
  "apiVersion: v1",
  "kind: Config",
  "clusters:",
  "- name: spark",
  "  cluster:",
  "    server: https://192.168.10.5:6443",
  "    certificate-authority-data: Q0E=",
  "users:",
  "- name: spark-admin",
  "  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}",
  "contexts:",
  "- name: spark",
  "  context: {cluster: spark, user: spark-admin}",
  "current-context: spark",
  "",
].join("\n");

const INVOKES = {
  "vsphere:index/getPolicy:getPolicy": (a: Record<string, unknown>) => ({ id: `policy-${String(a.name).length}`, name: a.name }),
  "vsphere:index/getContentLibrary:getContentLibrary": (a: Record<string, unknown>) => ({ id: `lib-${String(a.name).length}`, name: a.name }),
};

async function run(args: Partial<TanzuClusterArgs> & { tanzu: unknown }) {
  const logins: Record<string, unknown>[] = [];
  const options: Record<string, pulumi.CustomResourceOptions> = {};
  const r = await runUnderMocks(
    {
      project: "vsphere-spark",
      stack: "tanzu",
      config: {},
      invokes: INVOKES,
      outputs: {
        "kubernetes:core/v1:Secret": (name) => (name === "spark-kubeconfig" ? { data: { value: Buffer.from(WORKLOAD_KUBECONFIG).toString("base64") } } : {}),
      },
    },
    async () => {
      pulumi.runtime.registerStackTransformation((a) => {
        options[a.name] = a.opts as pulumi.CustomResourceOptions;
        return undefined;
      });
      const c = new TanzuCluster("spark", {
        password: "s3cret-sso",
        vcenter: { server: "vcenter.lab.local", user: "administrator@vsphere.local" },
        login: async (req) => {
          logins.push({ ...req, password: req.password === "s3cret-sso" ? "<ok>" : "<wrong>" });
          return "session-token-123";
        },
        readReleaseObjects: standInSupervisor().read,
        ...args,
      });
      return { ...c.outputs, apiEndpoint: c.apiEndpoint, kubeconfig: c.kubeconfig, workerPool: c.workerPool } as Record<string, any>;
    },
  );
  return { r, logins, options };
}

const inputsOf = (r: MockRunResult<any>, name: string) => unwrapSecrets(r.resources.find((x) => x.name === name)!.inputs) as Record<string, any>;

describe("TanzuCluster under the mock runtime", function () {
  this.timeout(120_000);

  it("registers classes, namespace, Supervisor provider, cluster, kubeconfig read and workload provider, all parented", async () => {
    const raw = referenceRaw();
    raw.namespace.contentLibraries = ["vm-images"]; // a VM Service library (the release library is not attached)
    const { r, logins } = await run({ tanzu: raw });
    const types = r.resources.filter((x) => x.type !== "pulumi:pulumi:Stack").map((x) => `${x.type} ${x.name}`).sort();
    assert.deepEqual(types, [
      "kubernetes:cluster.x-k8s.io/v1beta1:Cluster spark-cluster",
      "kubernetes:core/v1:Secret spark-kubeconfig",
      "pulumi-nodejs:dynamic/NamespaceAccess:Resource spark-access-group-spark-devs@vsphere.local",
      "pulumi:providers:kubernetes spark-k8s",
      "pulumi:providers:kubernetes spark-supervisor",
      "vsphere-spark:tanzu:TanzuCluster spark",
      "vsphere:index/namespace:Namespace spark-namespace",
      "vsphere:index/virtualMachineClass:VirtualMachineClass spark-class-small",
      "vsphere:index/virtualMachineClass:VirtualMachineClass spark-class-worker",
    ]);
    for (const x of r.resources.filter((x) => !["vsphere-spark:tanzu:TanzuCluster", "pulumi:pulumi:Stack"].includes(x.type))) {
      assert.equal(x.parent, "spark", x.name);
      assert.ok(x.name.startsWith("spark-"), x.name);
    }
    assert.deepEqual(inputsOf(r, "spark-class-worker"), { name: "spark-worker-16c-120g", cpus: 16, memory: 122880 });
    const ns = inputsOf(r, "spark-namespace");
    assert.deepEqual(ns, {
      name: "spark",
      supervisor: "8b1e3c4d-5f6a-4b7c-9d8e-0f1a2b3c4d5e",
      storagePolicies: ["policy-27"],
      vmServices: [{ contentLibraries: ["lib-9"], vmClasses: ["spark-worker-16c-120g", "spark-small-8c-64g"] }],
    });
    assert.deepEqual(r.invokes.map((i) => [i.token, i.args.name]), [
      ["vsphere:index/getPolicy:getPolicy", "vSAN Default Storage Policy"],
      ["vsphere:index/getContentLibrary:getContentLibrary", "vm-images"],
    ]);
    const cluster = inputsOf(r, "spark-cluster");
    assert.equal(cluster.kind, "Cluster");
    assert.equal(cluster.metadata.namespace, "spark");
    assert.equal(cluster.metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
    assert.equal(cluster.spec.topology.version, "v1.31.4---vmware.1-fips-vkr.3");
    assert.deepEqual(logins, [{ url: "https://192.168.10.2", user: "administrator@vsphere.local", password: "<ok>", caPem: undefined, insecureSkipTlsVerify: true }]);
    assert.equal(r.outputs.apiEndpoint, "192.168.10.5:6443");
    assert.equal(r.outputs.kubeconfig, WORKLOAD_KUBECONFIG);
    assert.deepEqual(r.outputs.tanzuRollout, { release: "v1.31.4---vmware.1-fips-vkr.3", controlPlaneReplicas: 3, pools: { workers: 16 }, namespace: "spark", contentLibraries: ["vm-images"] });
    assert.equal((r.outputs.workerPool as any).count, 16);
  });

  it("resource options: a class or namespace rename replaces; the cluster waits; the kubeconfig is read after it", async () => {
    const { options } = await run({ tanzu: referenceRaw() });
    assert.deepEqual(options["spark-class-worker"].replaceOnChanges, ["name"]);
    assert.deepEqual(options["spark-namespace"].replaceOnChanges, ["name", "supervisor"]);
    assert.equal(options["spark-namespace"].deleteBeforeReplace, true);
    assert.deepEqual(options["spark-cluster"].customTimeouts, { create: "60m", update: "60m" });
    const deps = options["spark-kubeconfig"].dependsOn as pulumi.Resource[];
    assert.equal(deps.length, 1);
    assert.ok(pulumi.CustomResource.isInstance(deps[0]));
    assert.ok(options["spark-cluster"].provider && options["spark-kubeconfig"].provider === options["spark-cluster"].provider);
  });

  it("every vSphere input and invoke argument matches schema.json (and the check would catch a misspelling)", async () => {
    const { r } = await run({ tanzu: referenceRaw() });
    assert.ok(r.resources.some((x) => x.type.startsWith("vsphere:")));
    assert.deepEqual(checkRecorded({ resources: r.resources, invokes: r.invokes }), []);
    const ns = r.resources.find((x) => x.type === "vsphere:index/namespace:Namespace")!;
    const { storagePolicies, ...rest } = ns.inputs;
    const bad = { ...ns, inputs: { ...rest, storagePolicy: storagePolicies } };
    assert.ok(checkRecorded({ resources: [bad], invokes: [] }).some((p) => p.includes("storagePolicy")));
    const cls = r.resources.find((x) => x.type === "vsphere:index/virtualMachineClass:VirtualMachineClass")!;
    const badClass = { ...cls, inputs: { ...cls.inputs, memory: "122880MB" } };
    assert.ok(checkRecorded({ resources: [badClass], invokes: [] }).some((p) => p.includes("memory")));
  });

  it("secrets stay secret: SSO password, Supervisor kubeconfig with the token, workload kubeconfig", async () => {
    const { r } = await run({ tanzu: referenceRaw() });
    const supervisor = r.resources.find((x) => x.name === "spark-supervisor")!;
    assert.ok(isSecretMarker(supervisor.inputs.kubeconfig));
    assert.match(String((unwrapSecrets(supervisor.inputs) as any).kubeconfig), /token: session-token-123/);
    const workload = r.resources.find((x) => x.name === "spark-k8s")!;
    assert.ok(isSecretMarker(workload.inputs.kubeconfig));
    assert.ok(r.secretOutputs.includes("kubeconfig"));
    const clear = JSON.stringify(r.resources.map((x) => ({ ...x, inputs: Object.fromEntries(Object.entries(x.inputs).filter(([, v]) => !isSecretMarker(v))) })));
    for (const s of ["s3cret-sso", "session-token-123", "Q0VSVA=="]) assert.ok(!clear.includes(s), s);
  });

  it("kubeconfig access: a stored kubeconfig whose SSO token has expired is refused, naming the key and the way out", async () => {
    const raw = referenceRaw();
    raw.supervisor.access = "kubeconfig";
    delete raw.supervisor.user;
    delete raw.namespace.access;
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const expired = `${b64({ alg: "RS256" })}.${b64({ exp: Math.floor(Date.now() / 1000) - 3600 })}.sig`;
    const stored = `apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: ${expired}\n`;
    await assert.rejects(run({ tanzu: raw, supervisorKubeconfig: stored, password: undefined }), /args\.supervisorKubeconfig: the Supervisor kubeconfig in vsphere-spark:tanzuSupervisorKubeconfig carries a session token that expired at .*Use supervisor\.access: sso/);
    // Negative control: the same kubeconfig with a token valid for another hour is accepted.
    const valid = stored.replace(expired, `${b64({ alg: "RS256" })}.${b64({ exp: Math.floor(Date.now() / 1000) + 3600 })}.sig`);
    const { r } = await run({ tanzu: raw, supervisorKubeconfig: valid, password: undefined });
    assert.ok(r.resources.some((x) => x.name === "spark-cluster"));
  });

  it("kubeconfig access uses the given kubeconfig and never logs in; TKC and flat trust Secret variants register", async () => {
    const raw = referenceRaw();
    raw.supervisor.access = "kubeconfig";
    delete raw.supervisor.user;
    raw.cluster.api = "tkc";
    delete raw.cluster.clusterClass;
    delete raw.namespace.access; // the grants need the vCenter password
    const { r, logins } = await run({ tanzu: raw, supervisorKubeconfig: "apiVersion: v1\nkind: Config\n", password: undefined });
    assert.deepEqual(logins, []);
    assert.ok(r.resources.some((x) => x.type === "kubernetes:run.tanzu.vmware.com/v1alpha3:TanzuKubernetesCluster"));
    const flat = referenceRaw();
    flat.cluster.clusterClass = "builtin-generic-v3.1.0";
    flat.cluster.trustedCas = [{ name: "harbor-ca", pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" }];
    const f = await run({ tanzu: flat });
    assert.ok(f.r.resources.some((x) => x.type === "kubernetes:core/v1:Secret" && x.name === "spark-trusted-cas"));
  });

  it("namespace limits: our vCenter REST resource, after the namespace, with the password secret", async () => {
    const raw = referenceRaw();
    raw.namespace.limits = { cpuMHz: 730000, memoryGiB: 2300 };
    const { r } = await run({ tanzu: raw, vcenter: { server: "vcenter.lab.local", user: "administrator@vsphere.local", insecureSkipTlsVerify: true } });
    const limits = r.resources.find((x) => x.name === "spark-namespace-limits")!;
    assert.equal(limits.type, "pulumi-nodejs:dynamic/NamespaceLimits:Resource");
    assert.equal(limits.parent, "spark");
    assert.ok(isSecretMarker(limits.inputs.password));
    const inputs = unwrapSecrets(limits.inputs) as Record<string, any>;
    assert.deepEqual(inputs.limits, { vcpuMHz: 2400, cpuMHz: 730000, memoryMiB: 2355200 });
    assert.equal(inputs.namespace, "spark");
    assert.equal(inputs.server, "vcenter.lab.local");
    assert.equal(inputs.user, "administrator@vsphere.local");
    assert.equal(typeof inputs.__provider, "string");
  });

  it("namespace access: one vCenter REST resource per subject, after the namespace and before the cluster", async () => {
    const raw = referenceRaw();
    raw.namespace.access = [{ subject: "spark-devs@vsphere.local", type: "group" }, { subject: "ana@corp.example", role: "owner" }];
    const { r, options } = await run({ tanzu: raw });
    const grants = r.resources.filter((x) => x.type === "pulumi-nodejs:dynamic/NamespaceAccess:Resource");
    assert.deepEqual(grants.map((g) => g.name), ["spark-access-group-spark-devs@vsphere.local", "spark-access-user-ana@corp.example"]);
    assert.ok(isSecretMarker(grants[0].inputs.password));
    assert.deepEqual((unwrapSecrets(grants[1].inputs) as Record<string, any>).grant, { subject: "ana", domain: "corp.example", type: "USER", role: "OWNER" });
    const deps = (name: string) => ((options[name]?.dependsOn ?? []) as pulumi.Resource[]).map((d) => (d as any).__name ?? "");
    assert.ok(deps("spark-cluster").includes("spark-access-user-ana@corp.example"), deps("spark-cluster").join(", "));
    assert.deepEqual(deps("spark-access-user-ana@corp.example"), ["spark-namespace"]);
    // Without vCenter and the password nothing can grant them: refused before anything is registered.
    await assert.rejects(run({ tanzu: raw, vcenter: undefined }), /args\.vcenter: vcenter and password are required when namespace\.limits or namespace\.access is set/);
  });

  it("refuses a release and replica change against the previous state, before the cluster is registered", async () => {
    const raw = referenceRaw();
    raw.cluster.release = "v1.32.0---vmware.1-fips-vkr.1";
    raw.cluster.nodePools[0].replicas = 12;
    await assert.rejects(
      run({ tanzu: raw, previous: { release: "v1.31.4---vmware.1-fips-vkr.3", controlPlaneReplicas: 3, pools: { workers: 16 } } }),
      (e: Error & { recordedResources?: { type: string }[] }) => /refused update/.test(e.message) && /args\.tanzu\.cluster\.release/.test(e.message),
    );
  });

  it("lastAppliedRollout reads the stack's own last output through a StackReference", async () => {
    const raw = referenceRaw();
    raw.cluster.release = "v1.32.0---vmware.1-fips-vkr.1";
    raw.cluster.nodePools[0].replicas = 12;
    const r = await runUnderMocks(
      {
        project: "vsphere-spark",
        stack: "tanzu",
        config: {},
        invokes: {},
        outputs: { "pulumi:pulumi:StackReference": () => ({ outputs: { tanzuRollout: { release: "v1.31.4---vmware.1-fips-vkr.3", controlPlaneReplicas: 3, pools: { workers: 16 } } } }) },
      },
      async () => {
        const prev = lastAppliedRollout();
        return { prev, errors: prev.apply((p) => checkRollout(parseRolloutState(p), rolloutState(reference((x) => Object.assign(x, raw))))) } as Record<string, unknown>;
      },
    );
    const ref = r.resources.find((x) => x.type === "pulumi:pulumi:StackReference")!;
    assert.equal(ref.name, "organization/vsphere-spark/tanzu");
    assert.deepEqual(r.outputs.prev, { release: "v1.31.4---vmware.1-fips-vkr.3", controlPlaneReplicas: 3, pools: { workers: 16 } });
    assert.equal((r.outputs.errors as { path: string }[])[0].path, "vsphere-spark:tanzu.cluster.release");
  });

  it("bad arguments: every problem at once, nothing registered", async () => {
    const raw = referenceRaw();
    raw.namespace.name = "Bad";
    raw.namespace.limits = { memoryGiB: 4096 };
    let recorded: unknown[] | undefined;
    await assert.rejects(
      run({ tanzu: raw, password: undefined }).catch((e) => {
        recorded = e.recordedResources;
        throw e;
      }),
      (e: unknown) =>
        e instanceof ValidationError &&
        JSON.stringify(e.fieldErrors.map((x) => x.path)) === JSON.stringify(["args.tanzu.namespace.name", "args.password", "args.vcenter"]),
    );
    assert.deepEqual((recorded ?? []).filter((x: any) => x.type !== "pulumi:pulumi:Stack"), []);
  });
});
