/**
 * `plan --compare` against the real preview (issue 18, item 9): edits of the Kubernetes side run
 * through the real Pulumi engine and pulumi-resource-kubernetes (the lab's builds, driven by the
 * Automation API) on the lab's real API server, `pulumi preview --diff` after an `up` of the base;
 * the engine's step for each resource is held against what src/plan/compare says for the same pair.
 *
 * The corpus here is the part the real engine can run in this lab: the Kubernetes provider's
 * configuration (server moved on the same cluster, with and without a stable clusterIdentifier, the
 * identifier changed) and Kubernetes objects (a label, a ConfigMap's data, a namespace rename). The
 * vSphere side (reboots, VM replacement, DRS, N+1) cannot run here: pulumi-resource-vsphere cannot
 * be built in this lab (lab/README.md), and reboots are decided by that provider at apply time, not
 * in its preview, which is why compare must say them.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { diffPlans } from "../../src/plan/compare/diff";
import { DATA_MUTABLE } from "../../components/cluster/backend";
import type { Plan } from "../../src/plan/plan";
import { ControlPlane, kubeconfig } from "./control-plane";
import { Engine, inlineStack, makeEngine, npmVersion } from "./engine";
import { Parts, ROOT, Tool, pick, resolveTools } from "./tools";

const PROVIDER_VERSION = npmVersion("@pulumi/kubernetes", ROOT);
const log = (s: string) => console.log(`      ${s}`);

/** One side of an edit: what the program is given. */
interface Side {
  host: "127.0.0.1" | "localhost";
  clusterIdentifier?: string;
  namespace: string;
  team: string;
  data: string;
  /** The stack's providers set DATA_MUTABLE (components/cluster/backend.ts); false: a provider without it. */
  mutable?: boolean;
}

const BASE: Side = { host: "127.0.0.1", namespace: "preview-lab", team: "a", data: "1" };

/** The program: a provider, a Namespace and a ConfigMap in it (what the Spark layer does, in small). */
function program(side: Side, port: number, creds: { ca: string; cert: string; key: string }) {
  return async () => {
    const provider = new k8s.Provider("lab-k8s", {
      kubeconfig: pulumi.secret(kubeconfig(`https://${side.host}:${port}`, creds)),
      ...(side.clusterIdentifier ? { clusterIdentifier: side.clusterIdentifier } : {}),
      ...(side.mutable === false ? {} : DATA_MUTABLE),
    });
    const ns = new k8s.core.v1.Namespace("preview-ns", { metadata: { name: side.namespace, labels: { team: side.team } } }, { provider });
    new k8s.core.v1.ConfigMap("preview-cm", { metadata: { name: "preview", namespace: ns.metadata.name }, data: { k: side.data } }, { provider });
    return {};
  };
}

/** The same program as the offline plan records it (inputs as the SDK sends them, secrets redacted). */
function planOfSide(side: Side, port: number): Plan {
  return {
    formatVersion: 1,
    stack: "lab",
    configFile: "lab",
    simulated: "",
    endpoint: { kind: "external", address: side.host, port },
    counts: {},
    hosts: [],
    artifacts: [],
    outputs: {},
    resources: [
      { type: "pulumi:providers:kubernetes", name: "lab-k8s", parent: null, inputs: { kubeconfig: "[secret]", ...(side.clusterIdentifier ? { clusterIdentifier: side.clusterIdentifier } : {}), ...(side.mutable === false ? {} : { enableSecretMutable: "true", enableConfigMapMutable: "true" }) } },
      { type: "kubernetes:core/v1:Namespace", name: "preview-ns", parent: null, provider: "lab-k8s", inputs: { apiVersion: "v1", kind: "Namespace", metadata: { name: side.namespace, labels: { team: side.team } } } },
      {
        type: "kubernetes:core/v1:ConfigMap",
        name: "preview-cm",
        parent: null,
        provider: "lab-k8s",
        inputs: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "preview", namespace: side.namespace }, data: { k: side.data } },
      },
    ],
  };
}

/** The engine's step per resource name in a preview: same, update, replace (any replacement step), create, delete. */
function steps(events: EngineEvent[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (!m || m.type === "pulumi:pulumi:Stack") continue;
    const name = m.urn.split("::").pop()!;
    const op = ["replace", "create-replacement", "delete-replaced"].includes(m.op) ? "replace" : m.op;
    if (out[name] !== "replace") out[name] = op;
  }
  return out;
}

/** What compare says per resource name (unchanged ones: same). */
function model(base: Side, head: Side, port: number): Record<string, string> {
  const d = diffPlans(planOfSide(base, port), planOfSide(head, port));
  const out: Record<string, string> = { "preview-ns": "same", "preview-cm": "same" };
  for (const r of d.resources) if (r.type.startsWith("kubernetes:")) out[r.name] = r.action;
  const p = d.providers.find((x) => x.name === "lab-k8s");
  out["lab-k8s"] = p ? (p.action === "replace" ? "replace" : "update") : JSON.stringify(planOfSide(base, port).resources[0]) === JSON.stringify(planOfSide(head, port).resources[0]) ? "same" : "update";
  return out;
}

const EDITS: [label: string, base: Partial<Side>, head: Partial<Side>][] = [
  ["API server moved (127.0.0.1 → localhost, same cluster), no clusterIdentifier: provider and everything it manages replaced", {}, { host: "localhost" }],
  ["API server moved with a stable clusterIdentifier (what the kubeadm back end sets): nothing replaced", { clusterIdentifier: "lab" }, { host: "localhost", clusterIdentifier: "lab" }],
  ["clusterIdentifier changed: provider and everything it manages replaced", { clusterIdentifier: "lab" }, { clusterIdentifier: "lab-2" }],
  ["a Namespace label: updated in place", {}, { team: "b" }],
  ["a ConfigMap's data: updated in place (the stack's providers set ConfigMap mutability: DATA_MUTABLE)", {}, { data: "2" }],
  ["negative control: under a provider without DATA_MUTABLE the engine replaces the ConfigMap, and compare (which models the stack's providers) disagrees", { mutable: false }, { data: "2" }],
  ["the namespace renamed: the Namespace and the ConfigMap in it replaced", {}, { namespace: "preview-lab-2" }],
];

describe("plan --compare against the real preview (lab)", function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vsphere-spark-preview-lab-"));
  let tools: Record<string, Tool> = {};
  let cp: ControlPlane | undefined;
  let engine: Engine | undefined;
  let creds: { ca: string; cert: string; key: string };
  const parts = new Parts(() => tools, log);

  before(async function () {
    tools = resolveTools([]);
    const { paths, missing } = pick(tools, ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
    if (missing.length || !tools.pulumi?.path || !tools["pulumi-resource-kubernetes"]?.path) return;
    cp = await ControlPlane.start(path.join(dir, "cluster"), paths as any, log);
    const pki = path.join(cp.dir, "pki");
    creds = { ca: cp.ca, cert: fs.readFileSync(path.join(pki, "admin.crt"), "utf8"), key: fs.readFileSync(path.join(pki, "admin.key"), "utf8") };
    engine = await makeEngine(path.join(dir, "engine"), tools.pulumi.path, { kubernetes: { version: PROVIDER_VERSION, file: tools["pulumi-resource-kubernetes"].path } });
  });

  after(function () {
    cp?.stop();
    parts.summary("preview lab");
    log(`preview lab: logs and state in ${dir}`);
  });

  EDITS.forEach(([label, b, h], i) => {
    it(label, async function () {
      parts.need(this, `preview: ${label}`, ["pulumi", "pulumi-resource-kubernetes", "kube-apiserver"], { up: cp !== undefined && engine !== undefined, name: "the control plane" });
      const base: Side = { ...BASE, ...b };
      const head: Side = { ...base, ...h };
      const name = `edit${i}`;
      const up = await (await inlineStack(engine!, "preview-lab", name, program(base, cp!.port, creds))).up({ onOutput: () => {} });
      assert.equal(up.summary.result, "succeeded");
      const events: EngineEvent[] = [];
      const stack = await inlineStack(engine!, "preview-lab", name, program(head, cp!.port, creds));
      await stack.preview({ diff: true, onEvent: (e) => events.push(e) });
      const real = steps(events);
      const said = model(base, head, cp!.port);
      log(`${label}: engine ${JSON.stringify(real)}; compare ${JSON.stringify(said)}`);
      if (base.mutable === false) {
        assert.deepEqual([real["preview-cm"], said["preview-cm"]], ["replace", "update"], "the check tells the two apart");
      } else {
        for (const r of ["preview-ns", "preview-cm"]) assert.equal(said[r], real[r], `${r}: compare says ${said[r]}, the engine's preview ${real[r]}`);
      }
      assert.equal(said["lab-k8s"] === "replace", real["lab-k8s"] === "replace", `provider: compare ${said["lab-k8s"]}, engine ${real["lab-k8s"]}`);
      if (base.clusterIdentifier && base.clusterIdentifier === head.clusterIdentifier) {
        // Negative control: a model that ignored the identifier would say replace, and the engine disagrees.
        const blind = model({ ...base, clusterIdentifier: undefined }, { ...head, clusterIdentifier: undefined }, cp!.port);
        assert.equal(blind["preview-ns"], "replace");
        assert.notEqual(blind["preview-ns"], real["preview-ns"]);
      }
      const down = await stack.destroy({ onOutput: () => {} });
      assert.equal(down.summary.result, "succeeded");
      await stack.workspace.removeStack(name);
    });
  });
});
