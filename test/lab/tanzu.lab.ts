/**
 * The Tanzu half of the real-systems lab (lab/README.md), fast. No Supervisor here: what runs is
 * - real: a kube-apiserver (with etcd) serving Cluster API's MachineDeployment CRD (v1.10.10,
 *   vendored in schemas/tanzu/), and the back end's readiness wait (`waitForNodePools`) reading it
 *   through the v1beta1 API with a kubeconfig;
 * - STAND-IN for Cluster API's MachineDeployment controller: this spec writes the `status` a rolling
 *   update goes through (surge to replicas+1, new machines ready one by one, the old one deleted);
 * - STAND-IN for vCenter's namespace REST API (test/lab/vcenter-namespace-standin.ts; vcsim v0.46.3
 *   has no `/access` calls and ignores `resource_spec`): the limits and access resources' providers
 *   create, update and delete against it, called directly and as Pulumi dynamic resources under the
 *   real Pulumi engine (the lab's CLI build through the Automation API, a file backend, the engine's
 *   `pulumi-nodejs` provider running the serialized providers in a process of its own).
 * - real: the same API server serving tanzu-framework's TanzuKubernetesRelease CRD and Cluster API's
 *   ClusterClass CRD (v1.10.10), both vendored in schemas/tanzu/, and the release check
 *   (`readSupervisorReleaseObjects` + `checkSupervisorRelease`, and `TanzuCluster` itself) reading
 *   them through the API with a kubeconfig, under the API server's real RBAC;
 * - STAND-IN for VMware's TKr controller: this spec writes the TKrs' `Ready`/`Compatible` conditions
 *   through the status subresource; STAND-IN for the Supervisor's ClusterClass: a class with
 *   VMware's resolve annotation and a minimal spec (no CAPI webhooks run here); STAND-IN for the
 *   Pulumi engine in the component part: the SDK's mock runtime (the vSphere provider cannot be built
 *   here, lab/README.md), so the vSphere resources are recorded, not created.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { readSchemaFile } from "../../src/codegen/schemas";
import {
  namespaceAccessProvider,
  namespaceLimitsProvider,
  vcenterSession,
  waitForNodePools,
  CLUSTER_NAME_LABEL,
  DEPLOYMENT_NAME_LABEL,
  NamespaceAccessResource,
  NamespaceLimitsResource,
  type NamespaceGrant,
  type NamespaceLimits,
} from "../../components/tanzu";
import {
  TanzuCluster,
  checkSupervisorRelease,
  readSupervisorReleaseObjects,
  resolveTanzuSettings,
  tokenKubeconfig,
  type TanzuSettings,
} from "../../components/tanzu";
import { runUnderMocks } from "../../src/plan/mock-runtime";
import { referenceRaw } from "../tanzu/helpers";
import { inlineStack, makeEngine } from "./engine";
import { ApiError, ControlPlane, kubeconfig, waitFor } from "./control-plane";
import { Parts, ROOT, Tool, pick, resolveTools } from "./tools";
import type { Stack } from "@pulumi/pulumi/automation";
import * as vsphereBinding from "../../components/vsphere/binding";
import { managedClasses, vmClassArgs } from "../../components/tanzu/vm-classes";
import { readStackFile } from "../../src/plan/stack-file";
import { VSPHERE_PROVIDER_ENV, devVsphere, engineWithVsphere, govcClient, startVcsim, vcsimProviderConfig } from "./vcsim";
import { startVcenterStandin, type VcenterStandin } from "./vcenter-namespace-standin";

const log = (s: string) => console.log(`      ${s}`);
const NS = "spark";
/** The stand-in's namespace the engine's stack acts on. */
const ENGINE_NS = "spark-engine";
const CLUSTER = "spark";
const VKS_PUBLIC = "vmware-system-vks-public";
const GOOD = "v1.31.4---vmware.1-fips-vkr.3";
const INCOMPATIBLE = "v1.30.8---vmware.1-fips-vkr.1";
const LEGACY = "v1.29.4---vmware.3-fips.1-tkg.1";

/** The reference stack's Tanzu settings with another release / class (resolved; must be valid). */
function tanzuSettings(release: string, clusterClass = "builtin-generic-v3.4.0"): TanzuSettings {
  const raw = referenceRaw();
  raw.cluster.release = release;
  raw.cluster.clusterClass = clusterClass;
  const { settings, errors } = resolveTanzuSettings(raw);
  assert.deepEqual(errors, []);
  return settings;
}

/** A MachineDeployment as Cluster API's topology controller makes one for a node pool (the fields the CRD requires). */
function machineDeployment(pool: string, replicas: number): Record<string, unknown> {
  return {
    apiVersion: "cluster.x-k8s.io/v1beta1",
    kind: "MachineDeployment",
    metadata: { name: `${CLUSTER}-${pool}-x7k2p`, namespace: NS, labels: { [CLUSTER_NAME_LABEL]: CLUSTER, [DEPLOYMENT_NAME_LABEL]: pool } },
    spec: {
      clusterName: CLUSTER,
      replicas,
      selector: { matchLabels: { [DEPLOYMENT_NAME_LABEL]: pool } },
      template: {
        metadata: { labels: { [DEPLOYMENT_NAME_LABEL]: pool } },
        spec: {
          clusterName: CLUSTER,
          version: "v1.31.4+vmware.1-fips",
          bootstrap: { configRef: { apiVersion: "bootstrap.cluster.x-k8s.io/v1beta1", kind: "KubeadmConfigTemplate", name: `${CLUSTER}-${pool}` } },
          infrastructureRef: { apiVersion: "vmware.infrastructure.cluster.x-k8s.io/v1beta1", kind: "VSphereMachineTemplate", name: `${CLUSTER}-${pool}` },
        },
      },
    },
  };
}

describe("real-systems lab: the Tanzu back end's Supervisor calls (real kube-apiserver with the CAPI CRD; stand-ins for CAPI's controller and vCenter's namespace API)", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-lab-tanzu-"));
  let tools: Record<string, Tool> = {};
  let cp: ControlPlane | undefined;
  let vc: VcenterStandin | undefined;
  const parts = new Parts(() => tools, log);
  const CP_TOOLS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"];

  before(async function () {
    tools = resolveTools(["etcd", "kubernetes", "kwok", "pulumi"]);
    for (const t of Object.values(tools)) log(`tool ${t.name}: ${t.source}${t.path ? ` ${t.path}` : ""}${t.source === "built" ? ` (${t.seconds} s)` : ""}`);
    vc = await startVcenterStandin("administrator@vsphere.local", "lab-pw", [NS, ENGINE_NS]);
    const { paths, missing } = pick(tools, CP_TOOLS);
    if (missing.length) return;
    const t0 = Date.now();
    cp = await ControlPlane.start(path.join(dir, "cluster"), paths as any, log);
    const crd = parse(readSchemaFile("tanzu/cluster.x-k8s.io_machinedeployments.capi-v1.10.10.yaml"));
    await cp.admin.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    await waitFor("the MachineDeployment CRD Established", async () => {
      const c = await cp!.admin.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      return (c.status?.conditions ?? []).some((x: any) => x.type === "Established" && x.status === "True") ? true : undefined;
    });
    await cp.admin.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    // The release check's objects: the TKr CRD (tanzu-framework) and the ClusterClass CRD (CAPI v1.10.10).
    for (const file of ["tanzu/run.tanzu.vmware.com_tanzukubernetesreleases.tanzu-framework.yaml", "tanzu/cluster.x-k8s.io_clusterclasses.capi-v1.10.10.yaml"]) {
      const c = parse(readSchemaFile(file));
      await cp.admin.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", c);
      await waitFor(`the ${c.spec.names.kind} CRD Established`, async () => {
        const got = await cp!.admin.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${c.metadata.name}`);
        return (got.status?.conditions ?? []).some((x: any) => x.type === "Established" && x.status === "True") ? true : undefined;
      });
    }
    await cp.admin.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: VKS_PUBLIC } });
    log(`lab: kube-apiserver serving Cluster API's MachineDeployment and ClusterClass CRDs (v1.10.10) and the TKr CRD, ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  });

  after(function () {
    cp?.stop();
    vc?.close();
    parts.summary("Tanzu lab");
    log(`Tanzu lab: logs in ${dir}`);
  });

  const mdPath = (pool: string) => `/apis/cluster.x-k8s.io/v1beta1/namespaces/${NS}/machinedeployments/${CLUSTER}-${pool}-x7k2p`;
  /** STAND-IN for CAPI's MachineDeployment controller: writes one status through the status subresource. */
  async function setStatus(pool: string, status: Record<string, number>): Promise<void> {
    const md = await cp!.admin.get(mdPath(pool));
    md.status = { observedGeneration: md.metadata.generation, ...status };
    await cp!.admin.request("PUT", `${mdPath(pool)}/status`, md);
  }

  it("the readiness wait returns only when every pool's MachineDeployment is rolled out (a rolling update with surge, through the real API)", async function () {
    parts.need(this, "node pool readiness wait", CP_TOOLS, { up: cp !== undefined, name: "the control plane" });
    const api = cp!.admin;
    // The real API server refuses what the CRD does not allow: a MachineDeployment without clusterName.
    const bad = machineDeployment("bad", 1) as any;
    delete bad.spec.clusterName;
    await assert.rejects(api.post(`/apis/cluster.x-k8s.io/v1beta1/namespaces/${NS}/machinedeployments`, bad), (e: ApiError) => e.status === 422 && /clusterName/.test(e.body));

    for (const [pool, n] of [["workers", 4], ["gpu", 1]] as const) await api.post(`/apis/cluster.x-k8s.io/v1beta1/namespaces/${NS}/machinedeployments`, machineDeployment(pool, n));
    await setStatus("gpu", { replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 });
    // workers mid-rollout: maxSurge 1 → 5 machines, the new template on 1 of them.
    const steps: Record<string, number>[] = [
      { replicas: 5, updatedReplicas: 1, readyReplicas: 4, availableReplicas: 4 },
      { replicas: 5, updatedReplicas: 2, readyReplicas: 5, availableReplicas: 4 },
      { replicas: 5, updatedReplicas: 3, readyReplicas: 5, availableReplicas: 4 },
      { replicas: 5, updatedReplicas: 4, readyReplicas: 5, availableReplicas: 4 },
      { replicas: 4, updatedReplicas: 4, readyReplicas: 4, availableReplicas: 4 },
    ];
    await setStatus("workers", steps[0]);
    const kc = kubeconfig(cp!.server, { ca: cp!.ca, cert: (api as any).creds.cert, key: (api as any).creds.key });
    const t0 = Date.now();
    let finished = 0;
    const waiting = waitForNodePools({ kubeconfig: kc, namespace: NS, cluster: CLUSTER, expected: { workers: 4, gpu: 1 }, timeoutMs: 60_000, intervalMs: 200 }).then(() => (finished = Date.now()));
    let last = 0;
    for (const s of steps.slice(1)) {
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(finished, 0, `returned before the rollout finished (at ${JSON.stringify(steps[last])})`);
      await setStatus("workers", s);
      last++;
    }
    const doneAt = Date.now();
    await waiting;
    assert.ok(finished >= doneAt, "returned only after the last machine was replaced");
    log(`node pools: the wait returned ${finished - doneAt} ms after the stand-in controller reported the rollout done (${((finished - t0) / 1000).toFixed(1)} s in all)`);
  });

  it("a pool that does not become ready: the timeout names the pool and what it lacks", async function () {
    parts.need(this, "node pool readiness timeout", CP_TOOLS, { up: cp !== undefined, name: "the control plane" });
    await setStatus("workers", { replicas: 4, updatedReplicas: 4, readyReplicas: 3, availableReplicas: 3 });
    const kc = kubeconfig(cp!.server, { ca: cp!.ca, cert: (cp!.admin as any).creds.cert, key: (cp!.admin as any).creds.key });
    const t0 = Date.now();
    await assert.rejects(
      waitForNodePools({ kubeconfig: kc, namespace: NS, cluster: CLUSTER, expected: { workers: 4, gpu: 1, extra: 2 }, timeoutMs: 2_000, intervalMs: 200 }),
      (e: Error) => {
        log(`timeout after ${Date.now() - t0} ms: ${e.message.slice(0, 300)}`);
        return /workers \(spark-workers-x7k2p\): 3 of 4 ready, 3 of 4 available; extra: no MachineDeployment yet/.test(e.message) && !/gpu/.test(e.message);
      },
    );
  });

  it("an autoscaled pool: the wait accepts the count the autoscaler set within the bounds, once rolled out (through the real API)", async function () {
    parts.need(this, "node pool readiness wait, autoscaled pool", CP_TOOLS, { up: cp !== undefined, name: "the control plane" });
    const api = cp!.admin;
    // STAND-IN for the Cluster Autoscaler: it scales the MachineDeployment's spec.replicas (4 → 6, within 2..8).
    const md = await api.get(mdPath("workers"));
    md.spec.replicas = 6;
    await api.request("PUT", mdPath("workers"), md);
    await setStatus("workers", { replicas: 6, updatedReplicas: 6, readyReplicas: 5, availableReplicas: 5 });
    const kc = kubeconfig(cp!.server, { ca: cp!.ca, cert: (api as any).creds.cert, key: (api as any).creds.key });
    const expected = { workers: { min: 2, max: 8 }, gpu: 1 };
    await assert.rejects(waitForNodePools({ kubeconfig: kc, namespace: NS, cluster: CLUSTER, expected, timeoutMs: 1_500, intervalMs: 200 }), /workers \(spark-workers-x7k2p\): 5 of 6 ready, 5 of 6 available/);
    await setStatus("workers", { replicas: 6, updatedReplicas: 6, readyReplicas: 6, availableReplicas: 6 });
    await waitForNodePools({ kubeconfig: kc, namespace: NS, cluster: CLUSTER, expected, timeoutMs: 5_000, intervalMs: 200 });
    // Negative control: the same MachineDeployments against the fixed count of 4 are not rolled out.
    await assert.rejects(waitForNodePools({ kubeconfig: kc, namespace: NS, cluster: CLUSTER, expected: { workers: 4, gpu: 1 }, timeoutMs: 1_000, intervalMs: 200 }), /spec\.replicas 6, not yet 4/);
    log("autoscaled pool: 5 of 6 ready kept the wait; 6 of 6 (within 2..8) ended it; the fixed count 4 did not");
  });

  it("namespace limits: set, one removed (*_unset), all removed on delete, against the stand-in vCenter namespace API", async function () {
    parts.need(this, "namespace limits (stand-in vCenter)", []);
    const ns = () => vc!.namespaces.get(NS)!.resource_spec;
    const inputs = { server: vc!.url, user: "administrator@vsphere.local", password: "lab-pw", namespace: NS, insecureSkipTlsVerify: true, limits: { vcpuMHz: 2400, cpuMHz: 700000, memoryMiB: 2252800, storageMiB: 2048000 } };
    await namespaceLimitsProvider.create(inputs);
    assert.deepEqual(ns(), { cpu_limit: 700000, memory_limit: 2252800, storage_request_limit: 2048000 });
    await namespaceLimitsProvider.update!(NS, inputs, { ...inputs, limits: { vcpuMHz: 2400, cpuMHz: 700000 } });
    assert.deepEqual(ns(), { cpu_limit: 700000 }, "the limits removed from the stack are gone from vCenter");
    await namespaceLimitsProvider.delete!(NS, inputs);
    assert.deepEqual(ns(), {}, "deleting the resource removes every limit");
    await assert.rejects(namespaceLimitsProvider.create({ ...inputs, password: "wrong" }), /vCenter login as administrator@vsphere.local failed: HTTP 401/);
  });

  it("namespace access: grant, change the role, revoke, against the stand-in vCenter namespace API", async function () {
    parts.need(this, "namespace access (stand-in vCenter)", []);
    const list = () => vc!.namespaces.get(NS)!.access_list;
    const base = { server: vc!.url, user: "administrator@vsphere.local", password: "lab-pw", namespace: NS, insecureSkipTlsVerify: true };
    const devs = { ...base, grant: { subject: "spark-devs", domain: "vsphere.local", type: "GROUP" as const, role: "EDIT" as const } };
    const ana = { ...base, grant: { subject: "ana", domain: "corp.example", type: "USER" as const, role: "VIEW" as const } };
    const a = await namespaceAccessProvider.create(devs);
    const b = await namespaceAccessProvider.create(ana);
    assert.deepEqual(list(), [
      { domain: "vsphere.local", subject: "spark-devs", subject_type: "GROUP", role: "EDIT" },
      { domain: "corp.example", subject: "ana", subject_type: "USER", role: "VIEW" },
    ]);
    await namespaceAccessProvider.update!(b.id, ana, { ...ana, grant: { ...ana.grant, role: "OWNER" } });
    assert.equal(list()[1].role, "OWNER");
    await namespaceAccessProvider.delete!(a.id, devs);
    assert.deepEqual(list().map((x) => x.subject), ["ana"]);
    await assert.rejects(namespaceAccessProvider.create(ana), /HTTP 400/);
    log(`stand-in vCenter: ${vc!.calls.length} calls, e.g. ${vc!.calls.filter((c) => c.includes("/access/")).slice(0, 2).join("; ")}`);
  });

  it("namespace limits and access as dynamic resources under the real Pulumi engine: up, a limit removed and a role changed, the limits removed, destroy (stand-in vCenter namespace API)", async function () {
    const { pulumi: pulumiBin } = parts.need(this, "namespace limits and access under the real engine (stand-in vCenter)", ["pulumi"]);
    const engine = await makeEngine(path.join(dir, "engine"), pulumiBin);
    const spec = () => vc!.namespaces.get(ENGINE_NS)!.resource_spec;
    const access = () => vc!.namespaces.get(ENGINE_NS)!.access_list;
    const patchesSoFar = () => vc!.patches.filter((p) => p.namespace === ENGINE_NS).length;
    /** What components/tanzu/cluster.ts registers for the namespace: the limits (when any) and one grant per subject. */
    const program = (limits: NamespaceLimits | undefined, role: NamespaceGrant["role"], password = "lab-pw") => async () => {
      const conn = { server: vc!.url, user: "administrator@vsphere.local", password: pulumi.secret(password), namespace: ENGINE_NS, insecureSkipTlsVerify: true };
      if (limits) new NamespaceLimitsResource("spark-namespace-limits", { ...conn, limits });
      new NamespaceAccessResource("spark-access-group-spark-devs@vsphere.local", { ...conn, grant: { subject: "spark-devs", domain: "vsphere.local", type: "GROUP", role } });
      return {};
    };
    const out: string[] = [];
    const run = async (label: string, limits: NamespaceLimits | undefined, role: NamespaceGrant["role"]) => {
      const stack = await inlineStack(engine, "tanzu-namespace-lab", "lab", program(limits, role), { dynamicProviders: true });
      const t0 = Date.now();
      const r = await stack.up({ onOutput: (s) => out.push(s) });
      log(`engine: ${label}: ${r.summary.result}, ${JSON.stringify(r.summary.resourceChanges)}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      assert.equal(r.summary.result, "succeeded");
      return { stack, changes: r.summary.resourceChanges ?? {} };
    };
    const full: NamespaceLimits = { vcpuMHz: 2400, cpuMHz: 700000, memoryMiB: 2252800, storageMiB: 2048000 };
    try {
      let { stack, changes } = await run("create", full, "EDIT");
      assert.equal(changes.create, 3, "the stack, the limits and the grant created");
      assert.deepEqual(spec(), { cpu_limit: 700000, memory_limit: 2252800, storage_request_limit: 2048000 });
      assert.deepEqual(access(), [{ domain: "vsphere.local", subject: "spark-devs", subject_type: "GROUP", role: "EDIT" }]);
      // The providers' diff is stable: the same program is no change for the engine.
      await stack.preview({ expectNoChanges: true, onOutput: (s) => out.push(s) });

      // The password is a secret in the state file, inputs and outputs (the Automation API's export
      // decrypts secrets, so the backend's file is read). Control: the grant's subject, not secret, is there.
      const file = fs.readFileSync(path.join(engine.dir, "state/.pulumi/stacks/tanzu-namespace-lab/lab.json"), "utf8");
      assert.ok(file.includes("spark-devs") && !file.includes("lab-pw"), "the vCenter password is not in the state in clear text");
      const secretSig = "4dabf18193072939515e22adb298388d";
      for (const r of JSON.parse(file).checkpoint.latest.resources.filter((x: any) => x.type.startsWith("pulumi-nodejs:dynamic")))
        for (const k of ["inputs", "outputs"]) assert.equal(r[k].password?.[secretSig], "1b47061264138c4ac30d75fd1eb44270", `${r.urn} ${k}.password is a secret`);

      const before = patchesSoFar();
      ({ changes } = await run("memory and storage limits removed, role EDIT → OWNER", { vcpuMHz: 2400, cpuMHz: 700000 }, "OWNER"));
      assert.equal(changes.update, 2);
      const patch = vc!.patches.filter((p) => p.namespace === ENGINE_NS).slice(before);
      assert.deepEqual(patch.map((p) => p.body), [{ resource_spec: { cpu_limit: 700000, memory_limit_unset: true, storage_request_limit_unset: true } }]);
      assert.deepEqual(spec(), { cpu_limit: 700000 }, "vCenter no longer holds the limits removed from the stack");
      assert.equal(access()[0].role, "OWNER");

      ({ changes } = await run("the limits section removed", undefined, "OWNER"));
      assert.equal(changes.delete, 1);
      assert.deepEqual(spec(), {}, "deleting the limits resource unsets every limit");

      const down = await stack.destroy({ onOutput: (s) => out.push(s) });
      assert.equal(down.summary.result, "succeeded");
      assert.deepEqual(access(), [], "destroy revoked the grant");

      // Negative control for the `*_unset` check: a PATCH that only leaves the field out (what the
      // resource sent before) keeps the old limit, so the assertion above would fail on it.
      const call = await vcenterSession({ server: vc!.url, user: "administrator@vsphere.local", password: "lab-pw", insecureSkipTlsVerify: true });
      await call("PATCH", `/api/vcenter/namespaces/instances/${ENGINE_NS}`, { resource_spec: { cpu_limit: 1, memory_limit: 2 } });
      await call("PATCH", `/api/vcenter/namespaces/instances/${ENGINE_NS}`, { resource_spec: { cpu_limit: 1 } });
      assert.deepEqual(spec(), { cpu_limit: 1, memory_limit: 2 });
      await call("PATCH", `/api/vcenter/namespaces/instances/${ENGINE_NS}`, { resource_spec: { cpu_limit_unset: true, memory_limit_unset: true } });

      // Negative control: a wrong password fails `pulumi up` with the provider's error, through the engine.
      const bad = await inlineStack(engine, "tanzu-namespace-lab", "bad", program(full, "EDIT", "wrong"), { dynamicProviders: true });
      const failed: string[] = [];
      await assert.rejects(bad.up({ onOutput: (s) => failed.push(s) }));
      assert.match(failed.join(""), /vCenter login as administrator@vsphere\.local failed: HTTP 401/);
      assert.deepEqual(spec(), {}, "nothing was set with the wrong password");
      await bad.destroy({ onOutput: () => {} });
    } catch (e) {
      log(`engine output (tail): ${out.join("").slice(-3000)}`);
      throw e;
    }
  });
  /**
   * STAND-IN for VMware's TKr controller: a TKr as the Supervisor lists it, its conditions set through
   * the status subresource. Written in the CRD's storage version, v1alpha1: tanzu-framework's
   * conversion webhook does not run here, so the API server converts by changing apiVersion only
   * (strategy None) and prunes to each version's schema; read back through v1alpha3, as the stack
   * reads TKrs, the name, labels, `spec.version` and `status.conditions` are what remains.
   */
  async function putTkr(name: string, o: { ready: string; compatible: string; reason?: string; labels?: Record<string, string> }): Promise<void> {
    const api = cp!.admin;
    const version = `v${name.slice(1).split("---").join("+")}`;
    const created = await api.post("/apis/run.tanzu.vmware.com/v1alpha1/tanzukubernetesreleases", {
      apiVersion: "run.tanzu.vmware.com/v1alpha1",
      kind: "TanzuKubernetesRelease",
      metadata: { name, labels: o.labels ?? {} },
      spec: { version, kubernetesVersion: version.split("-")[0], repository: "lab.invalid/tkg" },
    });
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const cond = (type: string, status: string) => ({ type, status, lastTransitionTime: now, ...(status === "True" ? {} : { reason: o.reason ?? "Incompatible", message: o.reason?.toLowerCase() ?? "incompatible", severity: "Warning" }) });
    created.status = { conditions: [cond("Ready", o.ready), cond("Compatible", o.compatible)] };
    await api.request("PUT", `/apis/run.tanzu.vmware.com/v1alpha1/tanzukubernetesreleases/${name}/status`, created);
    const back = await api.get(`/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesreleases/${name}`);
    assert.equal(back.spec?.version, version);
    assert.equal(back.status?.conditions?.length, 2);
  }

  it("release check: the Supervisor's TKr and ClusterClass read through the real API; Ready+Compatible passes, incompatible, missing, unselected and an absent class are refused", async function () {
    parts.need(this, "release check against the TKr and ClusterClass CRDs", CP_TOOLS, { up: cp !== undefined, name: "the control plane" });
    const api = cp!.admin;
    // The real API server refuses what the CRD does not allow: a v1alpha3 TKr without spec.kubernetes.
    await assert.rejects(
      api.post("/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesreleases", { apiVersion: "run.tanzu.vmware.com/v1alpha3", kind: "TanzuKubernetesRelease", metadata: { name: "v1.0.0---bad" }, spec: { version: "v1.0.0+bad" } }),
      (e: ApiError) => e.status === 422 && /kubernetes/.test(e.body),
    );
    await putTkr(GOOD, { ready: "True", compatible: "True" });
    await putTkr(INCOMPATIBLE, { ready: "False", compatible: "False", reason: "Incompatible" });
    await putTkr(LEGACY, { ready: "True", compatible: "True", labels: { "run.tanzu.vmware.com/legacy-tkr": "" } });
    // STAND-IN for the Supervisor's class: the resolve annotation as a label query that leaves legacy TKrs out.
    await api.post(`/apis/cluster.x-k8s.io/v1beta1/namespaces/${VKS_PUBLIC}/clusterclasses`, {
      apiVersion: "cluster.x-k8s.io/v1beta1",
      kind: "ClusterClass",
      metadata: { name: "builtin-generic-v3.4.0", namespace: VKS_PUBLIC, annotations: { "run.tanzu.vmware.com/resolve-tkr": "!run.tanzu.vmware.com/legacy-tkr" } },
      spec: {
        infrastructure: { ref: { apiVersion: "vmware.infrastructure.cluster.x-k8s.io/v1beta1", kind: "VSphereClusterTemplate", name: "builtin-generic-v3.4.0" } },
        controlPlane: { ref: { apiVersion: "controlplane.cluster.x-k8s.io/v1beta1", kind: "KubeadmControlPlaneTemplate", name: "builtin-generic-v3.4.0" } },
      },
    });
    const kc = kubeconfig(cp!.server, { ca: cp!.ca, cert: (api as any).creds.cert, key: (api as any).creds.key });
    const check = async (s: TanzuSettings) => checkSupervisorRelease(s, await readSupervisorReleaseObjects(kc, s, { tkr: true, clusterClass: true }));
    const rows: [string, TanzuSettings, string | undefined, RegExp | undefined][] = [
      ["Ready and Compatible, selected by the class", tanzuSettings(GOOD), undefined, undefined],
      ["Compatible False", tanzuSettings(INCOMPATIBLE), "vsphere-spark:tanzu.cluster.release", /is not Ready on this Supervisor \(Ready False, Incompatible: incompatible\)/],
      ["not on the Supervisor", tanzuSettings("v1.32.0---vmware.1-fips-vkr.1"), "vsphere-spark:tanzu.cluster.release", /the Supervisor has no TanzuKubernetesRelease "v1\.32\.0---vmware\.1-fips-vkr\.1"/],
      ["a legacy TKr the class's selector leaves out", tanzuSettings(LEGACY), "vsphere-spark:tanzu.cluster.release", /does not match the release's labels, so the TKr resolver webhook would deny the Cluster/],
      ["a class not on the Supervisor", tanzuSettings(GOOD, "builtin-generic-v3.5.0"), "vsphere-spark:tanzu.cluster.clusterClass", /the Supervisor has no ClusterClass "builtin-generic-v3\.5\.0" in namespace vmware-system-vks-public/],
    ];
    for (const [what, s, key, re] of rows) {
      const r = await check(s);
      log(`release check, ${what}: ${r.errors.length === 0 ? "passes" : r.errors.map((e) => `${e.path}: ${e.message.slice(0, 160)}`).join("; ")}`);
      if (!key) assert.deepEqual(r.errors, [], what);
      else {
        assert.equal(r.errors[0]?.path, key, what);
        assert.match(r.errors[0].message, re!, what);
      }
    }

    // Under the API server's RBAC: a service account with no grant gets the server's 403, named; with
    // a ClusterRole to get TKrs and a Role to get ClusterClasses it passes.
    await api.post(`/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "tkr-reader" } });
    const tr = await api.post(`/api/v1/namespaces/${NS}/serviceaccounts/tkr-reader/token`, { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } });
    const saKc = tokenKubeconfig({ name: "lab-sa", server: cp!.server, token: tr.status.token, namespace: NS, caPem: cp!.ca });
    const denied = checkSupervisorRelease(tanzuSettings(GOOD), await readSupervisorReleaseObjects(saKc, tanzuSettings(GOOD), { tkr: true, clusterClass: true }));
    assert.equal(denied.errors.length, 2);
    assert.match(denied.errors[0].message, /could not read TanzuKubernetesRelease "v1\.31\.4---vmware\.1-fips-vkr\.3" from the Supervisor: HTTP 403: .*forbidden/);
    log(`release check without RBAC: ${denied.errors[0].message.slice(0, 220)}`);
    await api.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "tkr-reader" }, rules: [{ apiGroups: ["run.tanzu.vmware.com"], resources: ["tanzukubernetesreleases"], verbs: ["get"] }] });
    await api.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "tkr-reader" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "tkr-reader" }, subjects: [{ kind: "ServiceAccount", name: "tkr-reader", namespace: NS }] });
    await api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${VKS_PUBLIC}/roles`, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "class-reader" }, rules: [{ apiGroups: ["cluster.x-k8s.io"], resources: ["clusterclasses"], verbs: ["get"] }] });
    await api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${VKS_PUBLIC}/rolebindings`, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "class-reader" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "class-reader" }, subjects: [{ kind: "ServiceAccount", name: "tkr-reader", namespace: NS }] });
    await waitFor("the grants in force", async () => {
      const r = checkSupervisorRelease(tanzuSettings(GOOD), await readSupervisorReleaseObjects(saKc, tanzuSettings(GOOD), { tkr: true, clusterClass: true }));
      return r.errors.length === 0 ? true : undefined;
    }, 30_000);
  });

  it("release check in TanzuCluster (mock engine, real API server): an incompatible release registers nothing; the compatible one registers namespace, classes and cluster", async function () {
    parts.need(this, "TanzuCluster's release check against the real API server", CP_TOOLS, { up: cp !== undefined, name: "the control plane" });
    const api = cp!.admin;
    if (!(await api.exists(`/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesreleases/${GOOD}`))) this.skip();
    const kc = kubeconfig(cp!.server, { ca: cp!.ca, cert: (api as any).creds.cert, key: (api as any).creds.key });
    const run = (release: string) => {
      const raw = referenceRaw();
      raw.cluster.release = release;
      raw.supervisor.access = "kubeconfig";
      delete raw.supervisor.user;
      return runUnderMocks(
        {
          project: "vsphere-spark",
          stack: "tanzu-lab",
          config: {},
          invokes: { "vsphere:index/getPolicy:getPolicy": () => ({ id: "policy-1" }), "vsphere:index/getContentLibrary:getContentLibrary": () => ({ id: "lib-1" }) },
          outputs: { "kubernetes:core/v1:Secret": () => ({ data: { value: Buffer.from("clusters:\n- cluster:\n    server: https://10.0.0.1:6443\n").toString("base64") } }) },
        },
        async () => {
          const c = new TanzuCluster("spark", { tanzu: raw, supervisorKubeconfig: kc, password: "pw", vcenter: { server: "vcenter.lab.local", user: "administrator@vsphere.local" } });
          return { id: c.apiEndpoint } as Record<string, any>;
        },
      );
    };
    const made = (rs: { type: string; name: string }[] | undefined) => (rs ?? []).filter((x) => /^vsphere:|cluster\.x-k8s\.io|^kubernetes:core/.test(x.type)).map((x) => x.name);
    let caught: any;
    await run(INCOMPATIBLE).catch((e) => (caught = e));
    assert.ok(caught, "refused");
    assert.match(String(caught.message), /args\.tanzu\.cluster\.release: TanzuKubernetesRelease v1\.30\.8---vmware\.1-fips-vkr\.1 is not Ready on this Supervisor/);
    assert.deepEqual(made(caught.recordedResources), [], "no VM class, namespace, Secret or Cluster registered");
    log(`TanzuCluster, incompatible release: refused, ${made(caught.recordedResources).length} resources registered`);
    const ok = await run(GOOD);
    const names = made(ok.resources);
    for (const n of ["spark-namespace", "spark-class-worker", "spark-cluster"]) assert.ok(names.includes(n), `${n} in ${names.join(", ")}`);
    log(`TanzuCluster, compatible release: ${names.length} resources registered (${names.join(", ")})`);
  });
});

/**
 * The Tanzu GPU stack's VM classes (Pulumi.tanzu-gpu.yaml, issue 21) under the real vSphere provider
 * 4.17.0, against vcsim's namespace-management VM class API (govmomi `vapi/namespace/simulator`, the
 * STAND-IN for vCenter; it keeps each class's CPU, memory, reservations and devices as given): the
 * classes the stack manages, with the inputs `TanzuCluster` gives them (`managedClasses`,
 * `vmClassArgs`), the vGPU class with its NVIDIA profile. Only with a pulumi-resource-vsphere binary
 * (VSPHERE_SPARK_LAB_PULUMI_RESOURCE_VSPHERE, as vsphere.lab.ts); pending otherwise. The Supervisor
 * side (namespace, Cluster) is not run here: see the spec above.
 */
describe("real-systems lab: the Tanzu GPU stack's VM classes under the real vSphere provider (vcsim's VM class API: stand-in for vCenter)", function () {
  this.timeout(0);
  const PROVIDER_ENV = VSPHERE_PROVIDER_ENV;
  const providerBin = process.env[PROVIDER_ENV];
  const title = "the tanzu-gpu stack's VM classes: up (the vGPU class with its profile), read back, a second preview, destroy";
  const parts = new Parts(() => tools, log);
  let tools: Record<string, Tool> = {};
  if (!providerBin) {
    parts.notRun.push(`${title} (pulumi-resource-vsphere 4.17.0 cannot be built here and ${PROVIDER_ENV} is not set, see lab/README.md)`);
    it(`${title} (NOT RUN: pulumi-resource-vsphere 4.17.0 cannot be built here and ${PROVIDER_ENV} is not set, see lab/README.md)`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-lab-tanzu-classes-"));
  let sim: Awaited<ReturnType<typeof startVcsim>> | undefined;
  let stack: Stack | undefined;
  const raw = readStackFile(path.join(ROOT, "Pulumi.tanzu-gpu.yaml"))["vsphere-spark:tanzu"];
  const { settings, errors } = resolveTanzuSettings(raw);
  const classes = managedClasses(settings).map(([key, spec]) => ({ key, args: vmClassArgs(settings.namespace.name, key, spec) }));
  /** vcsim's classes by id, over its REST API (govc namespace.vmclass.ls). */
  const vcenterClasses = (): Record<string, any>[] => (govcClient(tools.govc.path!, () => sim!.url).govc("namespace.vmclass.ls", "-json") as Record<string, any>[] | null) ?? [];

  before(async function () {
    assert.deepEqual(errors, []);
    tools = resolveTools(["vcsim", "pulumi"]);
    if (!tools.vcsim?.path || !tools.pulumi?.path) return;
    sim = await startVcsim(tools.vcsim.path, dir, devVsphere().v);
    const engine = await engineWithVsphere(path.join(dir, "engine"), tools.pulumi.path, providerBin, PROVIDER_ENV, log);
    stack = await inlineStack(engine, "lab-tanzu-classes", "tanzu-gpu", async () => {
      for (const c of classes) new vsphereBinding.VirtualMachineClass(`spark-class-${c.key}`, c.args);
    });
    await stack.setAllConfig(vcsimProviderConfig(sim));
  });

  after(function () {
    sim?.proc.kill();
    parts.summary("tanzu VM classes lab");
  });

  it(`${title}; negative control: the read-back sees a class whose profile is changed in vCenter by hand`, async function () {
    parts.need(this, "tanzu-gpu VM classes", ["vcsim", "govc", "pulumi"]);
    const gpu = classes.find((c) => c.args.vgpuDevices?.length);
    assert.ok(gpu, "the tanzu-gpu stack has a vGPU class");
    const up = await stack!.up({ onOutput: (o) => fs.appendFileSync(path.join(dir, "up.log"), o) });
    log(`up: ${JSON.stringify(up.summary.resourceChanges)}`);
    const held = (): Record<string, { cpus: number; memory: number; memoryReservation: number; vgpu: string[] }> =>
      Object.fromEntries(
        vcenterClasses().map((x) => [x.id, { cpus: x.cpu_count, memory: x.memory_mb, memoryReservation: x.memory_reservation ?? 0, vgpu: (x.devices?.vgpu_devices ?? []).map((g: { profile_name: string }) => g.profile_name) }]),
      );
    const expected = Object.fromEntries(classes.map((c) => [c.args.name, { cpus: c.args.cpus, memory: c.args.memory, memoryReservation: c.args.memoryReservation ?? 0, vgpu: c.args.vgpuDevices ?? [] }]));
    assert.deepEqual(held(), expected);
    log(`vcsim holds ${Object.keys(expected).length} classes as the stack gives them: ${Object.entries(expected).map(([n, c]) => `${n} (${c.cpus} vCPU, ${c.memory} MB${c.vgpu.length ? `, vGPU ${c.vgpu.join(",")}` : ""})`).join("; ")}`);
    const pre = await stack!.preview({ diff: true, onOutput: (o) => fs.appendFileSync(path.join(dir, "preview-2.log"), o) });
    assert.deepEqual(Object.entries(pre.changeSummary).filter(([op, n]) => op !== "same" && n > 0), [], JSON.stringify(pre.changeSummary));
    // Negative control: the same read-back sees a class edited in vCenter by hand (govc namespace.vmclass.update).
    const gc = govcClient(tools.govc.path!, () => sim!.url);
    gc.govcText("namespace.vmclass.update", "-cpus", String(gpu.args.cpus), "-memory", String(gpu.args.memory), gpu.args.name);
    const edited = held()[gpu.args.name];
    assert.notDeepEqual(edited, expected[gpu.args.name], "the read-back sees the profile removed by hand");
    // What the provider does with that drift: its read of a class sets no attribute (terraform-provider-vsphere
    // vsphere/resource_vsphere_virtual_machine_class.go, resourceVsphereVMClassRead), so a refresh sees none.
    const refreshed = await stack!.preview({ diff: true, refresh: true, onOutput: (o) => fs.appendFileSync(path.join(dir, "preview-refresh.log"), o) });
    log(`a profile removed by hand: vcsim holds ${JSON.stringify(edited)}; preview --refresh ${JSON.stringify(refreshed.changeSummary)} (the provider's read of a class sets nothing: no drift is seen)`);
    // The README says so (vSphere with Tanzu, "VM classes edited in vCenter"): pinned here, so a provider that starts reading classes back fails this line.
    assert.deepEqual(Object.entries(refreshed.changeSummary).filter(([op, n]) => op !== "same" && n > 0), [], "the provider sees no drift of a VM class");
    const down = await stack!.destroy({ onOutput: (o) => fs.appendFileSync(path.join(dir, "destroy.log"), o) });
    log(`destroy: ${JSON.stringify(down.summary.resourceChanges)}`);
    assert.deepEqual(held(), {});
  });
});
