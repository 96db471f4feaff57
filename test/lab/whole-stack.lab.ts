/**
 * The whole reference stack under the real engine (issue 16, goal 2): `Pulumi.dev.yaml` as
 * `src/main.ts` deploys it (deployStack: VMs, PKI, guestinfo, readiness gate, CNI, join token, Spark)
 * with the real pulumi-resource-vsphere, -tls, -random and -kubernetes, against vcsim, and a real
 * control plane serving the stack's endpoint with the PKI the program generated.
 *
 * Simulated, and named so in the output:
 *   - vCenter, the ESXi hosts and the guests: vcsim (test/lab/vcsim.ts);
 *   - kubeadm init on the first control plane: the lab reads that VM's guestinfo back from vcsim, as
 *     the guest's cloud-init would, writes the shared PKI it carries (ca.crt/key, sa.key/pub) and
 *     starts the real etcd and kube-apiserver with it on the endpoint's address (no HAProxy: the API
 *     server binds the load balancer's address itself), then does what kubeadm's init phases do that
 *     the program relies on (the `kubeadm:cluster-admins` binding);
 *   - the kubelets: kwok, keeping a Node for each VM vcsim powered on (named as the VM);
 *   - the control planes' stacked etcd members (the 3 → 5 → 3 part): real etcd the lab starts at their
 *     addresses with the program's etcd CA (NodeEtcd);
 *   - the CNI chart: a stand-in chart of the same name and version (one ConfigMap) served over HTTPS
 *     at the chart repository's own address, resolved inside the lab's network namespace, with a
 *     certificate of the lab's CA (SSL_CERT_FILE): the real chart cannot be fetched here.
 *
 * It needs three provider binaries the Go module proxy does not serve (lab/README.md) and a network
 * namespace of its own (the stack's addresses, 192.168.1.0/24, made local there; /etc/hosts bound
 * there), so it runs only as
 *
 *   VSPHERE_SPARK_LAB_PULUMI_RESOURCE_VSPHERE=… VSPHERE_SPARK_LAB_PULUMI_RESOURCE_TLS=… \
 *   VSPHERE_SPARK_LAB_PULUMI_RESOURCE_RANDOM=… npm run lab:stack
 *
 * and is pending (NOT RUN, with the reason) anywhere else, at no cost.
 */
import { execFileSync } from "node:child_process";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import type { EngineEvent, Stack, UpResult } from "@pulumi/pulumi/automation";
import { deployStack } from "../../src/stack";
import { loadFlatConfig } from "../../src/plan/plan";
import type { StackDecisions } from "../../src/config/decisions";
import { cniRelease } from "../../components/cluster/cni";
import { DEVICE_PLUGIN_CHART } from "../../components/cluster/gpu";
import * as vsphere from "../../components/vsphere/binding";
import type { VsphereDecisions } from "../../components/vsphere/settings";
import { Api, ApiError, ControlPlane, ControlPlaneBinaries, openssl, waitFor } from "./control-plane";
import { inlineStack, makeEngine, npmVersion } from "./engine";
import { LabVm, labVms, nodeObject } from "./nodes";
import { EtcdLab, makeEtcdPki, sampler } from "./etcd-cluster";
import { labStack, registration } from "./stack";
import { Parts, ROOT, Tool, pick, resolveTools } from "./tools";
import { VCSIM_PARALLEL, govcClient, stackVsphere, startVcsim, vcsimProviderConfig } from "./vcsim";
import { VmLayer, compareVmLayer, expectedVmLayer, observedVmLayer } from "./vsphere-readback";

const log = (s: string) => console.log(`      ${s}`);

/** The provider binaries the lab cannot build, by plugin name: the variable naming each, the version the SDK asks for. */
const PROVIDERS = {
  vsphere: { env: "VSPHERE_SPARK_LAB_PULUMI_RESOURCE_VSPHERE", version: vsphere.providerVersion },
  tls: { env: "VSPHERE_SPARK_LAB_PULUMI_RESOURCE_TLS", version: npmVersion("@pulumi/tls", ROOT) },
  random: { env: "VSPHERE_SPARK_LAB_PULUMI_RESOURCE_RANDOM", version: npmVersion("@pulumi/random", ROOT) },
} as const;
/** Set by lab/in-netns.sh, which runs the command in a network and mount namespace of its own. */
const NETNS_ENV = "VSPHERE_SPARK_LAB_NETNS";
/** A host vcsim has from the start and the stack adds later (the 3 → 5 → 3 part). */
const SPARE_HOST = { name: "esxi-05.lab.local", cpuThreads: 96, memoryGiB: 768 };

/**
 * Whether this process is in a network namespace of the lab's own (lab/in-netns.sh): loopback is its
 * only interface. The machine's own namespace has its network interface besides, and is never touched.
 */
function inOwnNetns(): boolean {
  try {
    const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).split("\n").filter(Boolean);
    return links.length === 1 && /^\d+: lo:/.test(links[0]);
  } catch {
    return false;
  }
}

/** A chart the stack installs (name, version, repository URL, namespace): the CNI's, and the NVIDIA device plugin's when there are GPU workers. */
interface ChartRef {
  chart: string;
  version: string;
  repo: string;
  namespace: string;
}

/** The charts `deployStack` installs for the stack's decisions (components/cluster/access.ts). */
function stackCharts(d: StackDecisions, v: VsphereDecisions): ChartRef[] {
  const c = cniRelease(d.kubernetes);
  const gpu = v.slots.some((s) => s.gpus);
  return [{ chart: c.chart, version: c.version, repo: c.repo, namespace: c.namespace }, ...(gpu ? [{ ...DEVICE_PLUGIN_CHART }] : [])];
}

/**
 * STAND-IN for the chart repositories: each chart the stack pins (name, version), holding one
 * ConfigMap that says what it is, packaged by `tar` as `helm package` lays a chart out, and each
 * repository's index.yaml, served over HTTPS on 127.0.0.1:443 with a certificate of a lab CA for the
 * repositories' host names. Returns the CA file (for SSL_CERT_FILE) and the host names (for /etc/hosts).
 */
async function startChartStandIn(dir: string, charts: ChartRef[]): Promise<{ caFile: string; hosts: string[]; server: https.Server; requests: string[] }> {
  const root = path.join(dir, "chart-stand-in");
  const routes = new Map<string, () => Buffer | string>();
  for (const c of charts) {
    const repo = new URL(c.repo);
    const chartDir = path.join(root, "pkg", c.chart);
    fs.mkdirSync(path.join(chartDir, "templates"), { recursive: true });
    fs.writeFileSync(path.join(chartDir, "Chart.yaml"), `apiVersion: v2\nname: ${c.chart}\nversion: ${c.version}\ndescription: STAND-IN for the ${c.chart} chart (vsphere-spark lab)\n`);
    fs.writeFileSync(
      path.join(chartDir, "templates", "stand-in.yaml"),
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${c.chart}-stand-in\ndata:\n  note: "STAND-IN for the ${c.chart} ${c.version} chart: the lab cannot fetch the real one"\n`,
    );
    const tgzName = `${c.chart}-${c.version}.tgz`;
    execFileSync("tar", ["-czf", path.join(root, tgzName), "-C", path.join(root, "pkg"), c.chart]);
    const base = repo.pathname.replace(/\/$/, "");
    const index =
      `apiVersion: v1\nentries:\n  ${c.chart}:\n  - apiVersion: v2\n    name: ${c.chart}\n    version: ${c.version}\n` +
      `    created: "2026-01-01T00:00:00Z"\n    urls:\n    - ${repo.origin}${base}/${tgzName}\ngenerated: "2026-01-01T00:00:00Z"\n`;
    routes.set(`${repo.hostname}${base}/index.yaml`, () => index);
    routes.set(`${repo.hostname}${base}/${tgzName}`, () => fs.readFileSync(path.join(root, tgzName)));
  }
  const hosts = [...new Set(charts.map((c) => new URL(c.repo).hostname))];
  openssl(root, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=vsphere-spark-lab-chart-ca");
  openssl(root, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", `/CN=${hosts[0]}`);
  fs.writeFileSync(path.join(root, "srv.ext"), `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(",")}\nextendedKeyUsage=serverAuth\n`);
  openssl(root, "x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.crt", "-days", "2", "-extfile", "srv.ext");
  const requests: string[] = [];
  const server = https.createServer({ key: fs.readFileSync(path.join(root, "srv.key")), cert: fs.readFileSync(path.join(root, "srv.crt")) }, (req, res) => {
    const host = String(req.headers.host ?? "").replace(/:\d+$/, "");
    requests.push(`${req.method} ${host}${req.url}`);
    const body = routes.get(`${host}${req.url}`);
    if (!body) return void res.writeHead(404).end("not found\n");
    res.writeHead(200, { "content-type": req.url!.endsWith(".tgz") ? "application/gzip" : "text/yaml" }).end(body());
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(443, "127.0.0.1", resolve));
  return { caFile: path.join(root, "ca.crt"), hosts, server, requests };
}

/** A VM's cloud-init user-data as vcsim holds it (guestinfo.userdata, gzip+base64), parsed. */
function userDataOf(extraConfig: { key: string; value: string }[]): { write_files?: { path: string; content: string }[] } {
  const e = Object.fromEntries(extraConfig.map((x) => [x.key, x.value]));
  if (e["guestinfo.userdata.encoding"] !== "gzip+base64") throw new Error(`guestinfo.userdata.encoding: ${e["guestinfo.userdata.encoding"]}`);
  return parseYaml(gunzipSync(Buffer.from(e["guestinfo.userdata"], "base64")).toString()) as { write_files?: { path: string; content: string }[] };
}

/** A node of the plan as the guests' stand-in brings it up: its shape and its address. */
type GuestVm = LabVm & { address: string };

/** The plan's workers and control planes with their addresses. */
function guestVms(dec: StackDecisions): GuestVm[] {
  const address = new Map(dec.cluster.plan().hosts.flatMap((h) => h.vms).map((x) => [x.name, x.address ?? ""]));
  return labVms(dec).map((x) => ({ ...x, address: address.get(x.name)! }));
}

/**
 * STAND-IN for the control planes' stacked etcd members: real etcd 3.6 processes the lab starts at the
 * control planes' addresses with kubeadm's ports and TLS, their certificates signed by the etcd CA the
 * program generated (from the first control plane's guestinfo), members named as their nodes, as
 * kubeadm names them. The API server keeps its own data in the etcd of ControlPlane: these members are
 * the cluster the program's retirement hooks remove members from (through the program's own etcd
 * client certificate) and whose quorum the lab samples.
 */
class NodeEtcd extends EtcdLab {
  constructor(
    dir: string,
    bin: string,
    private readonly names: Map<string, string>,
  ) {
    super(dir, bin, [...names.keys()]);
  }
  name(a: string): string {
    return this.names.get(a) ?? a;
  }
  /** What a joining control plane's kubeadm does for etcd: announce the member through a running one, then start it. */
  async join(address: string): Promise<void> {
    const running = [...this.procs.keys()].filter((a) => this.procs.get(a)!.exitCode === null);
    await this.add(running[0], address, false);
    const members = (await this.members(running[0])).map((m) => /https:\/\/([\d.]+):2380/.exec((m.peerURLs ?? [])[0] ?? "")![1]);
    this.start(address, "existing", members);
    await waitFor(`etcd member ${this.name(address)} healthy`, async () => ((await this.healthy(address)) ? true : undefined), 60_000, 200);
  }
}

/**
 * The stacks the lab deploys whole: the reference stack (Pulumi.dev.yaml) with the day-two sequences,
 * and the three-zone stack with its GPU pool (Pulumi.zones.yaml, issue 21: three compute clusters,
 * three subnets, the NVIDIA device plugin release).
 */
/**
 * Why a sample saw fewer of a budget's pods serving than it allows: each pod's Ready condition (its
 * reason: the node lifecycle controller's `NodeNotReady` when the pod's node stopped heartbeating,
 * which under load is kwok's, the kubelets' stand-in, lag) and its node's Ready condition.
 */
async function budgetSnapshot(api: Api, ns: string, app: string): Promise<string> {
  type Doc = { metadata: { name: string; deletionTimestamp?: string }; spec?: { nodeName?: string }; status?: { conditions?: { type: string; status: string; reason?: string }[] } };
  const ready = (x: Doc) => (x.status?.conditions ?? []).find((c) => c.type === "Ready");
  const pods = (await api.get(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${app}`)).items as Doc[];
  const nodes = new Map(((await api.get("/api/v1/nodes")).items as Doc[]).map((n) => [n.metadata.name, ready(n)]));
  return pods
    .map((p) => {
      const r = ready(p);
      const n = p.spec?.nodeName ? nodes.get(p.spec.nodeName) : undefined;
      return `${p.metadata.name}${p.metadata.deletionTimestamp ? " (deleting)" : ""}: Ready ${r?.status ?? "-"}${r?.reason ? ` (${r.reason})` : ""} on ${p.spec?.nodeName ?? "no node"} (node Ready ${n?.status ?? "-"}${n?.reason ? `, ${n.reason}` : ""})`;
    })
    .join("; ");
}

const VARIANTS = [
  { stack: "dev", title: "the whole reference stack", dayTwo: true },
  { stack: "zones", title: "the three-zone stack with a GPU pool", dayTwo: false },
] as const;

for (const variant of VARIANTS) describe(`real-systems lab: ${variant.title} (Pulumi.${variant.stack}.yaml) under pulumi up (vcsim, a real control plane on the stack's endpoint)`, function () {
  this.timeout(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vsphere-spark-lab-stack-${variant.stack}-`));
  let tools: Record<string, Tool> = {};
  const parts = new Parts(() => tools, log);
  const title = `${variant.title}: preview, up (readiness gate, CNI${variant.dayTwo ? "" : ", device plugin"}, join token, Spark), read back, preview --expect-no-changes, ${variant.dayTwo ? "day two, " : ""}destroy`;
  const binaries = Object.fromEntries(Object.entries(PROVIDERS).map(([n, p]) => [n, process.env[p.env]])) as Record<keyof typeof PROVIDERS, string | undefined>;
  const missing = Object.entries(PROVIDERS)
    .filter(([n]) => !binaries[n as keyof typeof PROVIDERS])
    .map(([, p]) => p.env);
  const why =
    missing.length > 0
      ? `${missing.join(", ")} not set: these providers cannot be built here, see lab/README.md`
      : process.env[NETNS_ENV] !== "1" || !inOwnNetns()
        ? `not in a network namespace of its own (run it with npm run lab:stack, which uses lab/in-netns.sh)`
        : undefined;
  if (why) {
    parts.notRun.push(`${title} (${why})`);
    it(`${title} (NOT RUN: ${why})`);
    after(() => parts.summary("whole-stack lab"));
    return;
  }

  let d: StackDecisions;
  let v: VsphereDecisions;
  let sim: Awaited<ReturnType<typeof startVcsim>> | undefined;
  let charts: Awaited<ReturnType<typeof startChartStandIn>> | undefined;
  let hostsMounted = false;
  let stack: Stack | undefined;
  let cp: ControlPlane | undefined;
  /** The shared PKI files the first control plane's guestinfo carried (secret: compared, never printed). */
  let guestPki: Record<string, string> = {};
  const need = (ctx: Mocha.Context, part: string, names: string[]) => parts.need(ctx, part, names, { up: sim !== undefined && stack !== undefined, name: "vcsim and the engine" });

  /** govc against vcsim: its text output. */
  const govcRun = (...args: string[]): string =>
    execFileSync(tools.govc.path!, args, { encoding: "utf8", env: { ...process.env, GOVC_URL: sim!.url, GOVC_INSECURE: "1" }, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
  /** govc against vcsim, JSON out. */
  const govc = (...args: string[]): any => JSON.parse(govcRun(...args)); // eslint-disable-line @typescript-eslint/no-explicit-any

  /** The Nodes the guests' stand-in registered. */
  const registered = new Set<string>();
  /** The control planes' etcd, once a spec starts it (STAND-IN for their stacked members: see the 3 → 5 → 3 part). */
  let etcd: NodeEtcd | undefined;
  /** The etcd CA the first control plane's guestinfo carries (/etc/kubernetes/pki/etcd/ca.*). */
  let guestEtcdCa: { crt: string; key: string } | undefined;

  /**
   * `pulumi up` with the guests' stand-in beside it: a loop doing, as soon as vcsim has a VM powered
   * on, what its guest would: the first control plane's kubeadm init (the API server with the PKI its
   * guestinfo carries), a joining control plane's etcd member (when the control planes' etcd runs),
   * and every node's kubelet registering (kwok keeps it Ready). A failure is said at once and fails
   * the run (`pulumi up` would otherwise wait out its readiness timeout first).
   */
  async function upWithGuests(vms: GuestVm[], logName: string, onEvent?: (e: EngineEvent) => void): Promise<UpResult> {
    const folder = `/${v.inventory.datacenter}/vm/${v.inventory.folder}`;
    const first = d.cluster.plan().hosts.flatMap((h) => h.vms).find((x) => x.role === "control-plane")!.name;
    let failed: Error | undefined;
    let stop = false;
    const guests = (async () => {
      while (!stop) {
        try {
          // (The folder is the stack's first resource: not there in the first moments of the first `up`.)
          const folders = (govc("find", "-json", `/${v.inventory.datacenter}/vm`, "-type", "f", "-name", v.inventory.folder) as string[] | null) ?? [];
          const on = new Set(folders.length === 0 ? [] : ((govc("find", "-json", folder, "-type", "m", "-runtime.powerState", "poweredOn") as string[] | null) ?? []).map((p) => p.split("/").pop()!));
          if (!cp && on.has(first)) await kubeadmInit(`${folder}/${first}`, first);
          if (cp) {
            for (const vm of vms) {
              if (registered.has(vm.name) || !on.has(vm.name)) continue;
              if (vm.role === "control-plane" && etcd && !etcd.procs.has(vm.address)) await etcd.join(vm.address);
              await cp.admin.post("/api/v1/nodes", nodeObject(vm, d.kubernetes));
              registered.add(vm.name);
            }
          }
        } catch (e) {
          failed = e as Error;
          log(`the guests' stand-in failed: ${failed.message}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    try {
      return await stack!.up({ parallel: VCSIM_PARALLEL, onOutput: (o) => fs.appendFileSync(path.join(dir, logName), o), ...(onEvent ? { onEvent } : {}) });
    } finally {
      stop = true;
      await guests;
      if (failed) throw failed; // eslint-disable-line no-unsafe-finally
    }
  }

  /** `pulumi up` as the stack is configured: its output in `logName`, each step that changes something pushed onto `ops` (`<op> <type> <name>`). */
  const upRecording = (logName: string, ops: string[]): Promise<UpResult> =>
    stack!.up({
      parallel: VCSIM_PARALLEL,
      onOutput: (o) => fs.appendFileSync(path.join(dir, logName), o),
      onEvent: (e) => {
        const m = e.resourcePreEvent?.metadata;
        if (m && m.op !== "same" && m.op !== "read") ops.push(`${m.op} ${m.type.split(":").pop()} ${m.urn.split("::").pop()}`);
      },
    });

  /** kubeadm init's stand-in on the first control plane (`vmPath` in vcsim): the API server with the PKI its guestinfo carries. */
  async function kubeadmInit(vmPath: string, name: string): Promise<void> {
    const info = govc("vm.info", "-e", "-json", vmPath);
    const files = userDataOf(info.virtualMachines[0].config.extraConfig).write_files ?? [];
    const pki: Record<string, string> = {};
    const etcdCa: Record<string, string> = {};
    for (const f of files) {
      const m = /^\/etc\/kubernetes\/pki\/(ca\.crt|ca\.key|sa\.key|sa\.pub)$/.exec(f.path);
      if (m) pki[m[1]] = f.content;
      const e = /^\/etc\/kubernetes\/pki\/etcd\/ca\.(crt|key)$/.exec(f.path);
      if (e) etcdCa[e[1]] = f.content;
    }
    assert.deepEqual(Object.keys(pki).sort(), ["ca.crt", "ca.key", "sa.key", "sa.pub"], `${name}'s user-data carries the shared PKI`);
    assert.deepEqual(Object.keys(etcdCa).sort(), ["crt", "key"], `${name}'s user-data carries the etcd CA`);
    guestPki = pki;
    guestEtcdCa = { crt: etcdCa.crt, key: etcdCa.key };
    const { paths } = pick(tools, ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
    const t0 = Date.now();
    cp = await ControlPlane.start(path.join(dir, "cluster"), paths as unknown as ControlPlaneBinaries, log, { address: v.endpoint.address, port: v.endpoint.port, pki });
    // kubeadm init's phase that the program's admin certificate relies on (kubeadm 1.29+:
    // cmd/kubeadm/app/phases/kubeconfig, EnsureAdminClusterRoleBinding).
    await cp.admin.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "kubeadm:cluster-admins" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "kubeadm:cluster-admins" }],
    });
    log(`${name} powered on: API server (kubeadm init: stand-in) serving ${cp.server} with the CA its guestinfo carries, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  before(async function () {
    tools = resolveTools([]);
    d = labStack(variant.stack).decisions;
    ({ v } = stackVsphere(variant.stack));
    const { missing: absent } = pick(tools, ["vcsim", "govc", "pulumi", "pulumi-resource-kubernetes", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
    if (absent.length) return;
    // The stack's network, local in this namespace (lo holds the whole prefix, so every VM address and
    // the endpoint can be bound), and the chart repository's name resolved to the stand-in.
    execFileSync("ip", ["link", "set", "lo", "up"]);
    // Each subnet the stack's VMs are on (one per zone with zones), by its gateway's address.
    const subnets = v.zones ? [...new Set(v.zones.map((z) => `${z.gateway}/${z.cidr.split("/")[1]}`))] : [`${v.network.gateway}/${v.network.prefixLength}`];
    for (const a of subnets) execFileSync("ip", ["addr", "replace", a, "dev", "lo"]);
    charts = await startChartStandIn(dir, stackCharts(d, v));
    const hosts = path.join(dir, "hosts");
    fs.writeFileSync(hosts, `127.0.0.1 localhost\n${charts.hosts.map((h) => `127.0.0.1 ${h}\n`).join("")}`);
    execFileSync("mount", ["--bind", hosts, "/etc/hosts"]);
    hostsMounted = true;
    log(`network namespace: ${subnets.join(", ")} on lo; ${charts.hosts.join(", ")} → 127.0.0.1 (STAND-IN chart repositories)`);
    // The day-two parts: a fifth host in vCenter that the stack does not use yet (3 → 5 control planes need five hosts).
    const spare = variant.dayTwo ? [{ ...v.topology.hosts[0], name: SPARE_HOST.name, id: "esxi-05" }] : [];
    sim = await startVcsim(tools.vcsim.path!, dir, { ...v, topology: { ...v.topology, hosts: [...v.topology.hosts, ...spare] } });
    log(`vcsim (stand-in for vCenter, ESXi and the guests) on 127.0.0.1:${sim.port}`);
    const plugins: Record<string, { version: string; file: string }> = {
      kubernetes: { version: npmVersion("@pulumi/kubernetes", ROOT), file: tools["pulumi-resource-kubernetes"].path! },
    };
    for (const [name, p] of Object.entries(PROVIDERS)) {
      const file = binaries[name as keyof typeof PROVIDERS]!;
      const version = execFileSync(file, ["-version"], { encoding: "utf8" }).trim();
      if (version !== p.version) throw new Error(`${p.env}=${file} reports version ${version}; the SDK asks for ${p.version}`);
      plugins[name] = { version, file };
    }
    log(`providers: ${Object.entries(plugins).map(([n, p]) => `${n} ${p.version}`).join(", ")}`);
    const engine = await makeEngine(path.join(dir, "engine"), tools.pulumi.path!, plugins);
    engine.env.SSL_CERT_FILE = charts.caFile;
    stack = await inlineStack(engine, "vsphere-spark", variant.stack, async () => deployStack());
    const { flat } = loadFlatConfig({ stack: variant.stack, cwd: ROOT });
    const config: Record<string, { value: string; secret?: boolean }> = {};
    for (const [k, value] of Object.entries(flat!.values)) config[k] = { value, ...(flat!.secretKeys.includes(k) ? { secret: true } : {}) };
    // The provider pointed at vcsim; its guest-network waits are what vcsim's stand-in guest answers.
    Object.assign(config, vcsimProviderConfig(sim));
    // The readiness gate's timeout: 10 minutes instead of 30, so that a lab run that goes wrong ends sooner.
    const k8sKey = "vsphere-spark:kubernetes";
    config[k8sKey] = { value: JSON.stringify({ ...JSON.parse(flat!.values[k8sKey] ?? "{}"), readinessTimeoutMinutes: 10 }) };
    await stack.setAllConfig(config);
  });

  after(async function () {
    // The lab's hosts file off /etc/hosts again (the next variant binds its own; the run's folder can then go).
    if (hostsMounted) execFileSync("umount", ["/etc/hosts"]);
    etcd?.down();
    cp?.stop();
    sim?.proc.kill();
    charts?.server.close();
    parts.summary("whole-stack lab");
    log(`whole-stack lab: logs and state in ${dir}`);
  });

  it("pulumi preview of the whole stack: every layer's resources, with the real providers (vsphere, tls, random, kubernetes)", async function () {
    need(this, "whole-stack preview", ["pulumi", "vcsim"]);
    const t0 = Date.now();
    const types: Record<string, number> = {};
    const pre = await stack!.preview({
      parallel: VCSIM_PARALLEL,
      onOutput: (o) => fs.appendFileSync(path.join(dir, "preview.log"), o),
      onEvent: (e) => {
        const m = e.resourcePreEvent?.metadata;
        if (m && m.op === "create") types[m.type] = (types[m.type] ?? 0) + 1;
      },
    });
    log(`preview: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${JSON.stringify(pre.changeSummary)}`);
    log(`creates by type: ${Object.entries(types).map(([t, n]) => `${t.split(":").pop()} ${n}`).join(", ")}`);
    assert.equal(types["vsphere:index/virtualMachine:VirtualMachine"], v.slots.length);
    assert.ok((types["tls:index/privateKey:PrivateKey"] ?? 0) > 0 && (types["random:index/randomString:RandomString"] ?? types["random:index/randomPassword:RandomPassword"] ?? 0) > 0, JSON.stringify(types));
  });

  it("pulumi up of the whole stack: the VMs in vcsim, the API at the endpoint with the program's PKI (kubeadm init: stand-in), every node Ready (kwok), the CNI release, the join token, the Spark layer", async function () {
    need(this, "whole-stack up", ["pulumi", "vcsim", "govc", "etcd", "kube-apiserver", "kwok"]);
    const vms = guestVms(d);
    const t0 = Date.now();
    const up = await upWithGuests(vms, "up.log");
    log(`up: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${JSON.stringify(up.summary.resourceChanges)}`);
    assert.equal(registered.size, vms.length, "every node registered");
    log(`chart stand-in requests: ${charts!.requests.join(", ")}`);
  });
  it("read back through the stack's own kubeconfig output: the program's admin certificate is accepted by the API at the endpoint, every node Ready, the CNI release (stand-in chart), the join-token Secret, the Spark namespace; caCertHash is kubeadm's pin of the CA in the guestinfo; negative control: a client certificate of another CA is refused", async function () {
    need(this, "whole-stack read back", ["pulumi", "vcsim", "kube-apiserver"]);
    if (!cp) throw new Error("the up before did not bring the API up");
    const out = await stack!.outputs();
    assert.ok(out.kubeconfig.secret, "the kubeconfig output is a secret");
    const kc = parseYaml(String(out.kubeconfig.value)) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const server = kc.clusters[0].cluster.server as string;
    assert.equal(server, `https://${v.endpoint.address}:${v.endpoint.port}`);
    const b64 = (x: string) => Buffer.from(x, "base64").toString();
    const creds = { ca: b64(kc.clusters[0].cluster["certificate-authority-data"]), cert: b64(kc.users[0].user["client-certificate-data"]), key: b64(kc.users[0].user["client-key-data"]) };
    assert.equal(creds.ca.trim(), guestPki["ca.crt"].trim(), "the kubeconfig's CA is the one the first control plane's guestinfo carries");
    const program = new Api(server, creds);
    const nodes = (await program.get("/api/v1/nodes")).items as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    const ready = nodes.filter((n) => n.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")).map((n) => n.metadata.name); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(ready.sort(), labVms(d).map((x) => x.name).sort());
    const cni = cniRelease(d.kubernetes);
    await program.get(`/api/v1/namespaces/${cni.namespace}/configmaps/${cni.chart}-stand-in`);
    // The workers' join token as a worker's guestinfo carries it (its JoinConfiguration), against the
    // Secret the program keeps in kube-system: the API's bootstrap-token authenticator takes it.
    const worker = labVms(d).find((x) => x.role === "worker")!.name;
    const wInfo = govc("vm.info", "-e", "-json", `/${v.inventory.datacenter}/vm/${v.inventory.folder}/${worker}`);
    const joinDoc = (userDataOf(wInfo.virtualMachines[0].config.extraConfig).write_files ?? [])
      .filter((f) => f.content.includes("kind: JoinConfiguration"))
      .flatMap((f) => parseAllDocuments(f.content).map((x) => x.toJS() as any)) // eslint-disable-line @typescript-eslint/no-explicit-any
      .find((x) => x?.kind === "JoinConfiguration");
    const joinToken = String(joinDoc?.discovery?.bootstrapToken?.token ?? "");
    assert.match(joinToken, /^[a-z0-9]{6}\.[a-z0-9]{16}$/, `${worker}'s JoinConfiguration carries a bootstrap token`);
    const [tokenId, tokenSecret] = joinToken.split(".");
    const secret = await program.get(`/api/v1/namespaces/kube-system/secrets/bootstrap-token-${tokenId}`);
    assert.equal(secret.type, "bootstrap.kubernetes.io/token");
    assert.equal(b64(secret.data["token-secret"]), tokenSecret, "the Secret holds the token the worker joins with");
    const review = (token: string) => new Api(server, { ca: creds.ca, token }).post("/apis/authentication.k8s.io/v1/selfsubjectreviews", { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" });
    const who = (await review(joinToken)).status.userInfo;
    assert.equal(who.username, `system:bootstrap:${tokenId}`);
    assert.ok(who.groups.includes("system:bootstrappers:kubeadm:default-node-token"), JSON.stringify(who.groups));
    const wrong = await review(`${tokenId}.${"0".repeat(16)}`).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(wrong instanceof ApiError && wrong.status === 401, `negative control: a wrong token secret: ${wrong?.message ?? "accepted"}`);
    await program.get(`/api/v1/namespaces/${out.sparkNamespace.value}`);
    // kubeadm's discovery pin: sha256 of the CA certificate's SubjectPublicKeyInfo (DER).
    fs.writeFileSync(path.join(dir, "guest-ca.crt"), guestPki["ca.crt"]);
    const spki = execFileSync("sh", ["-c", `openssl x509 -in '${path.join(dir, "guest-ca.crt")}' -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`], { encoding: "utf8" }).split(" ")[0];
    assert.equal(out.caCertHash.value, `sha256:${spki}`);
    log(`through the program's kubeconfig: ${ready.length} Ready nodes, ${cni.chart} release (stand-in chart), namespace ${out.sparkNamespace.value}; ${worker}'s join token authenticates as ${who.username} (a wrong secret: HTTP 401); caCertHash = sha256 of the guest CA's public key`);
    // Negative control: the same request with a client certificate of a CA the cluster does not trust.
    const other = path.join(dir, "impostor");
    fs.mkdirSync(other, { recursive: true });
    openssl(other, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=impostor-ca");
    openssl(other, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "c.key", "-out", "c.csr", "-subj", "/O=kubeadm:cluster-admins/CN=impostor");
    fs.writeFileSync(path.join(other, "c.ext"), "extendedKeyUsage=clientAuth\n");
    openssl(other, "x509", "-req", "-in", "c.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "c.crt", "-days", "1", "-extfile", "c.ext");
    const impostor = new Api(server, { ca: creds.ca, cert: fs.readFileSync(path.join(other, "c.crt"), "utf8"), key: fs.readFileSync(path.join(other, "c.key"), "utf8") });
    const refused = await impostor.get("/api/v1/nodes").then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(refused instanceof ApiError && refused.status === 401, `negative control: ${refused?.message ?? "accepted"}`);
    log(`negative control: a client certificate of another CA: HTTP ${(refused as ApiError).status}`);
  });

  it("no secret in clear in the engine's output: the CA key, the service-account key and the join token's secret appear in no preview or up log; negative control: the same search finds them in the decrypted guestinfo", async function () {
    need(this, "whole-stack secrets", ["pulumi"]);
    const out = await stack!.outputs();
    assert.ok(out.bootstrapToken.secret && out.kubeconfig.secret, "the token and kubeconfig outputs are secrets");
    const tokenSecret = String(out.bootstrapToken.value).split(".")[1];
    // A line from the middle of each key's PEM body: a leak shows it whole.
    const pemLine = (pem: string) => pem.trim().split("\n")[5];
    const needles = { "ca.key": pemLine(guestPki["ca.key"]), "sa.key": pemLine(guestPki["sa.key"]), "join token secret": tokenSecret };
    const logs = fs.readdirSync(dir).filter((f) => f.endsWith(".log") && /^(preview|up)/.test(f));
    assert.ok(logs.length >= 2, logs.join(", "));
    for (const f of logs) {
      const text = fs.readFileSync(path.join(dir, f), "utf8");
      for (const [what, needle] of Object.entries(needles)) assert.ok(!text.includes(needle), `${what} in clear in ${f}`);
    }
    const guestText = Object.values(guestPki).join("\n");
    assert.ok(guestText.includes(needles["ca.key"]) && guestText.includes(needles["sa.key"]), "negative control: the search finds the keys where they are");
    log(`searched ${logs.join(", ")}: none of ${Object.keys(needles).join(", ")} in clear`);
  });

  it("a second preview of the unchanged stack changes one thing, the join-token Secret's renewal, in place (before the providers set enableSecretMutable: a delete-first replacement on every up)", async function () {
    need(this, "whole-stack idempotence", ["pulumi", "vcsim"]);
    if (!cp) throw new Error("the up before did not bring the API up");
    const changed: string[] = [];
    const pre = await stack!.preview({
      diff: true,
      parallel: VCSIM_PARALLEL,
      onOutput: (o) => fs.appendFileSync(path.join(dir, "preview-2.log"), o),
      onEvent: (e) => {
        const m = e.resourcePreEvent?.metadata;
        // (A read is no change: the program reads its own last outputs through a StackReference.)
        if (m && m.op !== "same" && m.op !== "read") changed.push(`${m.op} ${m.type} ${m.urn.split("::").pop()} [${(m.diffs ?? []).join(", ")}]`);
      },
    });
    log(`second preview: ${JSON.stringify(pre.changeSummary)}`);
    for (const c of changed) log(`  ${c}`);
    // The join token's Secret carries its expiration, renewed on every update (components/cluster/access.ts):
    // the one change a second run makes by design. Anything else is a defect.
    // An update in place (DATA_MUTABLE), never a replacement: a Secret of a fixed name is replaced
    // delete-first (measured before the cluster providers set enableSecretMutable).
    const unexpected = changed.filter((c) => !/^update kubernetes:core\/v1:Secret \S+-join-token \[/.test(c));
    assert.deepEqual(unexpected, []);
    assert.equal(changed.length, 1, "the join-token Secret's renewal is there to see");
  });

  if (variant.stack === "zones") {
    it("the zones and the GPU pool as deployed: each VM in its zone's compute cluster, datastore, network and pool; each GPU worker with its host's A100 by passthrough (read back from vcsim against the plan); each node's zone and region labels and the GPU workers' taint in the kubeadm configuration their guestinfo carries; the device plugin release (stand-in chart) in its namespace; negative control: a VM moved to another zone's cluster in the plan is named", async function () {
      need(this, "whole-stack zones and GPUs", ["pulumi", "vcsim", "govc", "kube-apiserver"]);
      if (!cp) throw new Error("the up before did not bring the API up");
      const gc = govcClient(tools.govc.path!, () => sim!.url);
      const clusters = [...new Set(v.zones!.map((z) => `/${z.datacenter}/host/${z.computeCluster}`))];
      const noGuestinfo = (l: VmLayer): VmLayer => ({ ...l, vms: l.vms.map((x) => ({ ...x, guestinfo: {} })) });
      const observed = noGuestinfo(observedVmLayer(gc.reader, `/${v.inventory.datacenter}/vm/${v.inventory.folder}`, clusters));
      const templateDisk = (gc.govc("device.info", "-json", "-vm", `/${v.inventory.datacenter}/vm/${v.inventory.template}`, "disk-*").devices as { capacityInKB: number }[])[0].capacityInKB / 2 ** 20;
      const expected = noGuestinfo(expectedVmLayer(v, templateDisk, {}));
      assert.deepEqual(compareVmLayer(expected, observed), []);
      const moved = structuredClone(expected);
      moved.vms[0].cluster = v.zones!.find((z) => z.computeCluster !== moved.vms[0].cluster)!.computeCluster;
      assert.ok(compareVmLayer(moved, observed).some((p) => p.startsWith(`${moved.vms[0].name}.cluster:`)), "negative control: a VM in another cluster is named");
      const gpuVms = observed.vms.filter((x) => x.gpu);
      assert.equal(gpuVms.length, v.slots.filter((s) => s.gpus).length);
      log(`vcsim: ${observed.vms.length} VMs in ${clusters.length} clusters as planned (${clusters.map((c) => `${c.split("/").pop()}: ${observed.vms.filter((x) => x.cluster === c.split("/").pop()).length}`).join(", ")}); GPU workers ${gpuVms.map((x) => `${x.name} (${x.gpu!.pciIds.join(",")})`).join(", ")}`);
      // Each node's registration, as its kubeadm configuration in its guestinfo gives it to the kubelet.
      const zoneOf = new Map(v.slots.map((s) => [s.name, v.zones!.find((z) => z.hosts.includes(s.hostId))!]));
      for (const vm of labVms(d)) {
        const info = gc.govc("vm.info", "-e", "-json", `/${v.inventory.datacenter}/vm/${v.inventory.folder}/${vm.name}`);
        const kubeadm = (userDataOf(info.virtualMachines[0].config.extraConfig).write_files ?? []).find((f) => /kind: (Init|Join)Configuration/.test(f.content));
        assert.ok(kubeadm, `${vm.name}: a kubeadm configuration in its user-data`);
        const reg = registration(kubeadm.content);
        const z = zoneOf.get(vm.name)!;
        assert.equal(reg.labels["topology.kubernetes.io/zone"], z.name, `${vm.name}: zone label`);
        assert.equal(reg.labels["topology.kubernetes.io/region"], z.region, `${vm.name}: region label`);
        const gpu = v.slots.find((s) => s.name === vm.name)!.gpus !== undefined;
        assert.equal(reg.taints.some((t) => t.key === "nvidia.com/gpu"), gpu, `${vm.name}: the GPU taint ${gpu ? "" : "not "}there`);
      }
      const plugin = await cp.admin.get(`/api/v1/namespaces/${DEVICE_PLUGIN_CHART.namespace}/configmaps/${DEVICE_PLUGIN_CHART.chart}-stand-in`);
      log(`guestinfo: every node's zone and region labels as its zone, the GPU taint on the ${gpuVms.length} GPU workers only; device plugin release: ${plugin.metadata.namespace}/${plugin.metadata.name} (stand-in chart ${DEVICE_PLUGIN_CHART.version})`);
    });
  }

  if (variant.dayTwo) {
    it("day two, 4 → 3 workers per host with a PodDisruptionBudget in place (issue 17): one pulumi up; each removed worker's beforeDelete hook drains it through the eviction API and deletes its Node before the provider deletes its VM; the budget and the API hold at every sample; Spark's executors follow (16 → 12)", async function () {
      need(this, "whole-stack scale-in", ["pulumi", "vcsim", "govc", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
      if (!cp) throw new Error("the up before did not bring the API up");
      const api = cp.admin;
      const NS = "pdb-lab";
      const removed = labVms(d).filter((x) => x.role === "worker" && /-worker-4$/.test(x.name)).map((x) => x.name);
      assert.equal(removed.length, v.topology.hosts.length);
      // Four replicas that prefer the nodes about to go (one each), and a budget that allows one disruption at a time.
      await api.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
      const affinity = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: removed }] } }] } };
      await api.post(`/apis/apps/v1/namespaces/${NS}/deployments`, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "app", namespace: NS },
        spec: {
          replicas: 4,
          selector: { matchLabels: { app: "app" } },
          template: { metadata: { labels: { app: "app" } }, spec: { affinity, containers: [{ name: "c", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "100m", memory: "64Mi" } } }] } },
        },
      });
      await api.post(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "app", namespace: NS }, spec: { minAvailable: 3, selector: { matchLabels: { app: "app" } } } });
      const pods = async () => ((await api.get(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dapp`)).items as any[]).filter((p) => !p.metadata.deletionTimestamp); // eslint-disable-line @typescript-eslint/no-explicit-any
      const serving = async () => (await pods()).filter((p) => (p.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True")); // eslint-disable-line @typescript-eslint/no-explicit-any
      await waitFor("4 pods serving, the budget allowing one disruption", async () => {
        const b = await api.get(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/app`);
        return (await serving()).length === 4 && b.status?.disruptionsAllowed === 1 ? true : undefined;
      }, 120_000, 500);
      const before = await serving();
      const onRemoved = before.filter((p) => removed.includes(p.spec.nodeName));
      log(`before: 4 pods serving, ${onRemoved.length} on the workers that go (${onRemoved.map((p) => p.spec.nodeName).join(", ")}), budget minAvailable 3`);
      assert.ok(onRemoved.length >= 1, "negative-control precondition: some pods stand on the nodes that go");
      const sizingBefore = (await stack!.outputs()).sparkSizing.value.conf["spark.executor.instances"];
      // Sampled throughout the update: pods serving, /readyz at the endpoint, which VMs vcsim still has.
      let on = true;
      const samples = { n: 0, minServing: Infinity, apiDown: 0, low: "" };
      const nodeGoneAt = new Map<string, number>();
      const vmGoneAt = new Map<string, number>();
      const sampler = (async () => {
        while (on) {
          samples.n++;
          const n = (await serving().catch(() => before)).length;
          if (n < 3 && !samples.low) samples.low = await budgetSnapshot(api, NS, "app").catch((e: Error) => e.message);
          samples.minServing = Math.min(samples.minServing, n);
          if ((await api.get<string>("/readyz").catch(() => "down")) !== "ok") samples.apiDown++;
          const nodes = new Set(((await api.get("/api/v1/nodes").catch(() => ({ items: [] }))).items as any[]).map((n) => n.metadata.name)); // eslint-disable-line @typescript-eslint/no-explicit-any
          const vms = new Set(((govc("find", "-json", `/${v.inventory.datacenter}/vm/${v.inventory.folder}`, "-type", "m") as string[] | null) ?? []).map((p) => p.split("/").pop()!));
          for (const r of removed) {
            if (!nodes.has(r) && !nodeGoneAt.has(r)) nodeGoneAt.set(r, Date.now());
            if (!vms.has(r) && !vmGoneAt.has(r)) vmGoneAt.set(r, Date.now());
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const t0 = Date.now();
      const ops: string[] = [];
      let up: UpResult;
      try {
        await stack!.setConfig("vsphere-spark:workersPerHost", { value: "3" });
        up = await upRecording("up-scale-in.log", ops);
      } finally {
        on = false;
        await sampler;
      }
      log(`up 4 → 3 per host: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${JSON.stringify(up.summary.resourceChanges)}; ${samples.n} samples: at least ${samples.minServing} pods serving, /readyz failed ${samples.apiDown} times`);
      log(`  steps: ${ops.filter((o) => !/^delete (VirtualMachine|ComputeClusterVmGroup|ComputeClusterVmHostRule) /.test(o)).join("; ")}`);
      const hookLines = fs.readFileSync(path.join(dir, "up-scale-in.log"), "utf8").split("\n").filter((l) => /retired worker|retire worker/.test(l));
      for (const l of hookLines.slice(0, 4)) log(`  ${l.trim()}`);
      assert.equal(samples.apiDown, 0, "the API answered at every sample");
      assert.ok(samples.minServing >= 3, `the budget held: at least ${samples.minServing} serving (${samples.low})`);
      const nodes = ((await api.get("/api/v1/nodes")).items as any[]).map((n) => n.metadata.name); // eslint-disable-line @typescript-eslint/no-explicit-any
      assert.deepEqual(nodes.filter((n) => removed.includes(n)), [], "the removed workers' Nodes are deleted");
      assert.equal(nodes.length, labVms(d).length - removed.length);
      for (const r of removed) {
        assert.ok(vmGoneAt.has(r), `${r}: its VM is gone from vcsim`);
        assert.ok(nodeGoneAt.has(r) && nodeGoneAt.get(r)! <= vmGoneAt.get(r)!, `${r}: its Node was deleted before its VM (Node ${nodeGoneAt.get(r)}, VM ${vmGoneAt.get(r)})`);
      }
      const after = await serving();
      assert.equal(after.length, 4);
      assert.deepEqual(after.filter((p) => removed.includes(p.spec.nodeName)), []);
      // The pods that stood on the removed nodes were evicted and replaced elsewhere (new pods).
      const kept = new Set(after.map((p) => p.metadata.uid));
      assert.ok(onRemoved.every((p) => !kept.has(p.metadata.uid)), "the pods on the removed nodes were replaced");
      const sizingAfter = (await stack!.outputs()).sparkSizing.value.conf["spark.executor.instances"];
      log(`Spark executors ${sizingBefore} → ${sizingAfter}; Nodes ${labVms(d).length} → ${nodes.length}; each removed Node deleted before its VM`);
      assert.deepEqual([sizingBefore, sizingAfter], ["16", "12"]);
      // Spark's spark-defaults ConfigMap (the executor count) is updated in place, not replaced delete-first
      // (measured before the cluster providers set enableConfigMapMutable: delete-replaced, then create-replacement).
      assert.deepEqual(ops.filter((o) => /replace/.test(o)), [], "nothing replaced");
    });

    it("day two, the workers' memory + 1 GiB (issue 17): the real vSphere provider powers each VM off and on (no hot-add); the beforeUpdate hook drains it first and the afterUpdate hook waits for it back (a new boot ID) before the next goes down, the budget and the API holding; negative control: two workers listed in lifecycle.preparedNodes (resized by hand: no hook acts) go down uncordoned, and the same checks name them", async function () {
      need(this, "whole-stack resize", ["pulumi", "vcsim", "govc", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
      if (!cp) throw new Error("the up before did not bring the API up");
      const api = cp.admin;
      const NS = "pdb-lab";
      const folder = `/${v.inventory.datacenter}/vm/${v.inventory.folder}`;
      const all = await stack!.getAllConfig();
      const perHost = Number(all["vsphere-spark:workersPerHost"]?.value ?? "4");
      const workers = labVms(d)
        .filter((x) => x.role === "worker" && Number(/-worker-(\d+)$/.exec(x.name)![1]) <= perHost)
        .map((x) => x.name);
      const controlPlanes = labVms(d).filter((x) => x.role === "control-plane").map((x) => x.name);
      // The negative control: two workers the hooks leave alone (resized by hand, says the acknowledgement).
      const prepared = [workers[1], workers[6]];
      const hooked = workers.filter((w) => !prepared.includes(w));
      // The kubelets' boot IDs (STAND-IN: kwok reports none; a real kubelet reads /proc/sys/kernel/random/boot_id).
      let boots = 0;
      const bootId = new Map<string, string>();
      for (const n of [...workers, ...controlPlanes]) {
        const id = `${n}-boot-${boots++}`;
        await api.request("PATCH", `/api/v1/nodes/${n}/status`, { status: { nodeInfo: { bootID: id } } }, "application/merge-patch+json");
        bootId.set(n, id);
      }
      for (const n of workers) assert.equal((await api.get(`/api/v1/nodes/${n}`)).status?.nodeInfo?.bootID, bootId.get(n), `${n}: the stand-in's boot ID is kept`);
      /** A VM's power events in vcsim, oldest first (govc events: one VM per call; vcsim answers at most the last -n; one JSON record per line with GOVC_INDENT=false). */
      type PowerEvent = { key: number; kind: "off" | "on"; at: number };
      const powerEvents = (vm: string): PowerEvent[] =>
        execFileSync(tools.govc.path!, ["events", "-json", "-l", "-n", "100", "-type", "VmPoweredOffEvent", "-type", "VmPoweredOnEvent", `${folder}/${vm}`], {
          encoding: "utf8",
          env: { ...process.env, GOVC_URL: sim!.url, GOVC_INSECURE: "1", GOVC_INDENT: "false" },
          stdio: ["ignore", "pipe", "pipe"],
        })
          .split("\n")
          .filter((l) => l.trim().startsWith("{"))
          .map((l) => JSON.parse(l) as { key: number; type: string; createdTime: string })
          .map((e) => ({ key: e.key, kind: e.type === "VmPoweredOffEvent" ? ("off" as const) : ("on" as const), at: Date.parse(e.createdTime) }))
          .sort((a, b) => a.key - b.key);
      const seenKeys = new Map(workers.concat(controlPlanes).map((n) => [n, new Set(powerEvents(n).map((e) => e.key))]));
      // Every power cycle as the guests' stand-in saw it: the VM's power-off and power-on events (vcsim's
      // times), whether its Node was cordoned and drained when the power-off was seen, and when the
      // stand-in reported the node back (a new boot ID, as the kubelet does after a reboot).
      type Cycle = { node: string; off: number; on: number; back: number; cordoned: boolean; podsLeft: string[] };
      const cycles: Cycle[] = [];
      const open = new Map<string, Cycle>();
      const podsOn = async (n: string) =>
        ((await api.get(`/api/v1/pods?fieldSelector=spec.nodeName%3D${n}`)).items as any[]) // eslint-disable-line @typescript-eslint/no-explicit-any
          .filter((p) => !p.metadata.deletionTimestamp && !(p.metadata.ownerReferences ?? []).some((o: { kind: string }) => o.kind === "DaemonSet"))
          .map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
      const pods = async () => ((await api.get(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dapp`)).items as any[]).filter((p) => !p.metadata.deletionTimestamp); // eslint-disable-line @typescript-eslint/no-explicit-any
      const serving = async () => (await pods()).filter((p) => (p.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True")).length; // eslint-disable-line @typescript-eslint/no-explicit-any
      const servingBefore = await serving();
      let on = true;
      let failed: Error | undefined;
      const samples = { n: 0, minServing: Infinity, apiDown: 0, low: "" };
      const kubelets = (async () => {
        while (on) {
          try {
            for (const n of workers) {
              for (const e of powerEvents(n)) {
                if (seenKeys.get(n)!.has(e.key)) continue;
                seenKeys.get(n)!.add(e.key);
                if (e.kind === "off") {
                  const node = await api.get(`/api/v1/nodes/${n}`);
                  const c: Cycle = { node: n, off: e.at, on: 0, back: 0, cordoned: node.spec?.unschedulable === true, podsLeft: await podsOn(n) };
                  open.set(n, c);
                } else {
                  const c = open.get(n);
                  if (!c) continue;
                  open.delete(n);
                  c.on = e.at;
                  const id = `${n}-boot-${boots++}`;
                  await api.request("PATCH", `/api/v1/nodes/${n}/status`, { status: { nodeInfo: { bootID: id } } }, "application/merge-patch+json");
                  c.back = Date.now();
                  cycles.push(c);
                }
              }
            }
            samples.n++;
            const n = await serving().catch(() => servingBefore);
            if (n < 3 && !samples.low) samples.low = await budgetSnapshot(api, NS, "app").catch((e: Error) => e.message);
            samples.minServing = Math.min(samples.minServing, n);
            if ((await api.get<string>("/readyz").catch(() => "down")) !== "ok") samples.apiDown++;
          } catch (e) {
            failed = e as Error;
            log(`the kubelets' stand-in failed: ${failed.message}`);
            return;
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      const profiles = JSON.parse(all["vsphere-spark:vmProfiles"]!.value);
      const memoryGiB = profiles.worker.memoryGiB + 1;
      const lifecycleKey = "vsphere-spark:lifecycle";
      const lifecycle = JSON.parse(all[lifecycleKey]?.value ?? "{}");
      const t0 = Date.now();
      const ops: string[] = [];
      let up: UpResult;
      try {
        await stack!.setConfig("vsphere-spark:vmProfiles", { value: JSON.stringify({ ...profiles, worker: { ...profiles.worker, memoryGiB } }) });
        await stack!.setConfig(lifecycleKey, { value: JSON.stringify({ ...lifecycle, rebootTimeoutMinutes: 3, preparedNodes: prepared }) });
        up = await upRecording("up-resize.log", ops);
      } finally {
        // (Wait for the last power-on to be seen.)
        await waitFor("every resized VM's power cycle seen", async () => (cycles.length >= workers.length || failed ? true : undefined), 30_000, 250).catch(() => undefined);
        on = false;
        await kubelets;
        await stack!.setConfig(lifecycleKey, { value: JSON.stringify(lifecycle) });
      }
      if (failed) throw failed;
      log(`up, workers' memory ${profiles.worker.memoryGiB} → ${memoryGiB} GiB: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${JSON.stringify(up.summary.resourceChanges)}; ${samples.n} samples: at least ${samples.minServing} of the budget's pods serving, /readyz failed ${samples.apiDown} times`);
      const ordered = [...cycles].sort((a, b) => a.off - b.off);
      for (const c of ordered)
        log(`  ${c.node}${prepared.includes(c.node) ? " (preparedNodes)" : ""}: off +${((c.off - t0) / 1000).toFixed(1)} s, on +${((c.on - t0) / 1000).toFixed(1)} s, back +${((c.back - t0) / 1000).toFixed(1)} s; cordoned ${c.cordoned}, pods left ${c.podsLeft.length}`);
      const hookLines = fs.readFileSync(path.join(dir, "up-resize.log"), "utf8").split("\n").filter((l) => /power cycle|powering/.test(l));
      for (const l of hookLines.slice(0, 3)) log(`  ${l.trim().slice(0, 240)}`);
      // What the provider did: every worker VM resized, each powered off and on once, the control planes untouched.
      for (const w of workers) {
        const c = govc("object.collect", "-json", `${folder}/${w}`, "config.hardware.memoryMB") as { val: number }[];
        assert.equal(c[0].val, memoryGiB * 1024, `${w}: memory resized in vcsim`);
      }
      assert.deepEqual(ordered.map((c) => c.node).sort(), [...workers].sort(), "each worker powered off and on once");
      for (const n of controlPlanes) assert.deepEqual(powerEvents(n).filter((e) => !seenKeys.get(n)!.has(e.key)), [], `${n} (a control plane) was not powered off`);
      assert.equal(samples.apiDown, 0, "the API answered at every sample");
      assert.ok(samples.minServing >= 3, `the budget held: at least ${samples.minServing} serving (${samples.low})`);
      assert.deepEqual(ops.filter((o) => /replace|delete|create/.test(o)), [], "nothing replaced, created or deleted");
      /** The checks the rolling order makes: the node cordoned and drained when it went down, and the node before it back first. */
      const faults = (c: Cycle, i: number): string[] => [
        ...(c.cordoned ? [] : [`${c.node} went down uncordoned`]),
        ...(c.podsLeft.length === 0 ? [] : [`${c.node} went down with ${c.podsLeft.join(", ")} on it`]),
        ...(i > 0 && ordered[i - 1].back > c.off ? [`${c.node} went down before ${ordered[i - 1].node} was back`] : []),
      ];
      const byNode = new Map(ordered.map((c, i) => [c.node, faults(c, i)]));
      for (const w of hooked) {
        const i = ordered.findIndex((c) => c.node === w);
        // (A node that follows a prepared one may go down before it is back: no hook waited for the prepared one.)
        const own = byNode.get(w)!.filter((f) => !(i > 0 && prepared.includes(ordered[i - 1].node) && / before /.test(f)));
        assert.deepEqual(own, [], `${w}: rolled`);
      }
      // Negative control: the same checks see the prepared nodes go down uncordoned.
      for (const w of prepared) assert.ok(byNode.get(w)!.some((f) => /uncordoned/.test(f)), `negative control: ${w} is flagged: ${byNode.get(w)!.join("; ")}`);
      const flagged = [...byNode.values()].flat();
      log(`  negative control (preparedNodes ${prepared.join(", ")}): ${flagged.join("; ")}`);
      for (const n of workers) {
        const node = await api.get(`/api/v1/nodes/${n}`);
        assert.notEqual(node.spec?.unschedulable, true, `${n} uncordoned after`);
        assert.notEqual(node.status?.nodeInfo?.bootID, bootId.get(n), `${n} reported a new boot`);
      }
      assert.equal(await serving(), 4);
    });

    it("changes a running cluster cannot take are refused before anything is touched (issue 17): a Kubernetes minor version bump and a new template each fail `pulumi up` naming the key and the steps, and vcsim's VMs and the stack's state are as before; negative control: the same read-back sees a change that is applied", async function () {
      need(this, "whole-stack refusals", ["pulumi", "vcsim", "govc"]);
      if (!cp) throw new Error("the up before did not bring the API up");
      const folder = `/${v.inventory.datacenter}/vm/${v.inventory.folder}`;
      /** Every VM of the stack in vcsim with its instance UUID, CPUs and memory: what a touched VM would change. */
      const vmsNow = () => {
        const paths = ((govc("find", "-json", folder, "-type", "m") as string[] | null) ?? []).sort();
        return paths.map((p) => {
          const c = govc("object.collect", "-json", p, "config.instanceUuid", "config.hardware.numCPU", "config.hardware.memoryMB") as { name: string; val: unknown }[];
          return [p.split("/").pop(), ...c.map((x) => x.val)];
        });
      };
      const resourcesNow = async () => ((await stack!.exportStack()).deployment.resources as { urn: string }[]).map((r) => r.urn).sort();
      const k8sKey = "vsphere-spark:kubernetes";
      const invKey = "vsphere-spark:inventory";
      const original = { k8s: (await stack!.getConfig(k8sKey)).value, inv: (await stack!.getConfig(invKey)).value };
      const template2 = `${v.inventory.template}-next`;
      govcRun("vm.clone", "-vm", `/${v.inventory.datacenter}/vm/${v.inventory.template}`, "-on=false", "-template=true", template2);
      const [major, minor] = JSON.parse(original.k8s).version.split(".").map(Number);
      const edits: [string, string, string, RegExp][] = [
        [`Kubernetes ${JSON.parse(original.k8s).version} → ${major}.${minor + 1}.0`, k8sKey, JSON.stringify({ ...JSON.parse(original.k8s), version: `${major}.${minor + 1}.0` }), /vsphere-spark:kubernetes\.version/],
        [`template → ${template2}`, invKey, JSON.stringify({ ...JSON.parse(original.inv), template: template2 }), /vsphere-spark:inventory\.template/],
      ];
      for (const [what, key, value, names] of edits) {
        const vms = vmsNow();
        const resources = await resourcesNow();
        await stack!.setConfig(key, { value });
        const err = await stack!.up({ parallel: VCSIM_PARALLEL, onOutput: (o) => fs.appendFileSync(path.join(dir, "up-refused.log"), o) }).then(
          () => undefined,
          (e: Error) => e,
        );
        await stack!.setConfig(key, { value: key === k8sKey ? original.k8s : original.inv });
        assert.ok(err, `${what}: pulumi up must fail`);
        const text = String(err.message);
        assert.match(text, /refused change to a running cluster/, `${what}: ${text.slice(-1500)}`);
        assert.match(text, names, `${what}: the refusal names the key`);
        assert.deepEqual(vmsNow(), vms, `${what}: vcsim's VMs untouched`);
        assert.deepEqual(await resourcesNow(), resources, `${what}: the stack's resources unchanged`);
        const line = text.split("\n").find((l) => names.test(l)) ?? "";
        log(`${what}: refused, nothing touched: ${line.trim().slice(0, 260)}`);
      }
      // Negative control: the read-back sees a change that goes through (one worker's memory, applied by hand in vcsim).
      const before = vmsNow();
      const w = labVms(d).find((x) => x.role === "worker")!.name;
      const memoryNow = (govc("object.collect", "-json", `${folder}/${w}`, "config.hardware.memoryMB") as { val: number }[])[0].val;
      govcRun("vm.change", "-vm", `${folder}/${w}`, "-m", String(memoryNow + 1024));
      assert.notDeepEqual(vmsNow(), before, "negative control: the read-back sees a changed VM");
      govcRun("vm.destroy", `/${v.inventory.datacenter}/vm/${template2}`);
    });

    it("day two, 3 → 5 → 3 control planes (issue 17): a fifth host and two control planes join (their etcd members added, then their Nodes); back to three, each leaving control plane's beforeDelete hook drains it, removes its etcd member through the remaining ones with the program's etcd client certificate and deletes its Node before the provider deletes its VM; etcd quorum sampled throughout, never lost", async function () {
      need(this, "whole-stack control planes", ["pulumi", "vcsim", "govc", "etcd", "kube-apiserver", "kwok"]);
      if (!cp || !guestEtcdCa) throw new Error("the up before did not bring the API up");
      const all = await stack!.getAllConfig();
      const val = (k: string) => all[k]?.value;
      const hosts = [...JSON.parse(val("vsphere-spark:hosts")!), SPARE_HOST];
      const control = JSON.parse(val("vsphere-spark:controlPlane") ?? "{}");
      // The load balancer pinned where it is: its default host (the first without a control plane) would
      // move to the fifth host with five control planes, a replacement the program refuses to take silently.
      const lbHost = v.slots.find((x) => x.role === "load-balancer")!.hostId;
      const endpoint = { ...JSON.parse(val("vsphere-spark:endpoint") ?? "{}"), host: lbHost };
      const sets = (count: number) => [
        `vsphere-spark:endpoint=${JSON.stringify(endpoint)}`,
        `vsphere-spark:hosts=${JSON.stringify(hosts)}`,
        `vsphere-spark:controlPlane=${JSON.stringify({ ...control, count })}`,
        ...(val("vsphere-spark:workersPerHost") ? [`vsphere-spark:workersPerHost=${val("vsphere-spark:workersPerHost")}`] : []),
      ];
      const decide = (count: number) => labStack("dev", sets(count)).decisions;
      const d5 = decide(5);
      const planes = (x: StackDecisions) => guestVms(x).filter((g) => g.role === "control-plane");
      const [cps3, cps5] = [planes(d), planes(d5)];
      assert.equal(cps5.length, 5);
      const leaving = cps5.filter((c) => !cps3.some((k) => k.name === c.name));
      // The control planes' etcd (stand-in for their stacked members), with the program's etcd CA.
      const etcdDir = path.join(dir, "node-etcd");
      fs.mkdirSync(path.join(etcdDir, "pki"), { recursive: true });
      fs.writeFileSync(path.join(etcdDir, "pki", "ca.crt"), guestEtcdCa.crt);
      fs.writeFileSync(path.join(etcdDir, "pki", "ca.key"), guestEtcdCa.key, { mode: 0o600 });
      // (Inside the lab's namespace the members connect to each other from the network's address on loopback.)
      makeEtcdPki(path.join(etcdDir, "pki"), cps5.map((c) => c.address), v.network.gateway);
      etcd = new NodeEtcd(etcdDir, tools.etcd.path!, new Map(cps5.map((c) => [c.address, c.name])));
      await etcd.startCluster(cps3.map((c) => c.address));
      const alive = () => [...etcd!.procs.entries()].filter(([, p]) => p.exitCode === null).map(([a]) => a);
      const quorum = sampler(etcd, alive);
      // The API at the endpoint, sampled beside etcd's quorum throughout both updates.
      const api = { samples: 0, down: [] as string[], on: true };
      const apiLoop = (async () => {
        while (api.on) {
          api.samples++;
          const r = await cp!.admin.get<string>("/readyz").catch((e: Error) => e.message);
          if (r !== "ok") api.down.push(`${new Date().toISOString()} ${String(r).slice(0, 120)}`);
          await new Promise((res) => setTimeout(res, 200));
        }
      })();
      const names = async () => (await etcd!.members(alive()[0])).map((m) => m.name ?? `(unstarted ${m.ID})`).sort();
      const setAll = async (count: number) => {
        for (const kv of sets(count)) {
          const i = kv.indexOf("=");
          await stack!.setConfig(kv.slice(0, i), { value: kv.slice(i + 1) });
        }
      };
      try {
        log(`etcd (stand-in members at the control planes' addresses, the program's etcd CA): ${(await names()).join(", ")}`);
        // 3 → 5, with the fifth host.
        let t0 = Date.now();
        await setAll(5);
        const up5 = await upWithGuests(guestVms(d5), "up-cp5.log");
        log(`up 3 → 5 control planes (and ${SPARE_HOST.name}): ${((Date.now() - t0) / 1000).toFixed(0)} s, ${JSON.stringify(up5.summary.resourceChanges)}; etcd members ${(await names()).join(", ")}`);
        assert.deepEqual(await names(), cps5.map((c) => c.name).sort());
        // 5 → 3.
        const d3 = decide(3);
        const nodeGoneAt = new Map<string, number>();
        const vmGoneAt = new Map<string, number>();
        const memberGoneAt = new Map<string, number>();
        let on = true;
        const watcher = (async () => {
          while (on) {
            const nodes = new Set(((await cp!.admin.get("/api/v1/nodes").catch(() => ({ items: [] }))).items as any[]).map((n) => n.metadata.name)); // eslint-disable-line @typescript-eslint/no-explicit-any
            const vms = new Set(((govc("find", "-json", `/${v.inventory.datacenter}/vm/${v.inventory.folder}`, "-type", "m") as string[] | null) ?? []).map((p) => p.split("/").pop()!));
            const members = new Set(await names().catch(() => cps5.map((c) => c.name)));
            for (const l of leaving) {
              if (!nodes.has(l.name) && !nodeGoneAt.has(l.name)) nodeGoneAt.set(l.name, Date.now());
              if (!vms.has(l.name) && !vmGoneAt.has(l.name)) vmGoneAt.set(l.name, Date.now());
              if (!members.has(l.name) && !memberGoneAt.has(l.name)) memberGoneAt.set(l.name, Date.now());
            }
            await new Promise((r) => setTimeout(r, 200));
          }
        })();
        t0 = Date.now();
        try {
          await setAll(3);
          const up3 = await upWithGuests(guestVms(d3), "up-cp3.log");
          log(`up 5 → 3 control planes: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${JSON.stringify(up3.summary.resourceChanges)}; etcd members ${(await names()).join(", ")}`);
        } finally {
          on = false;
          await watcher;
        }
        assert.deepEqual(await names(), cps3.map((c) => c.name).sort(), "the leaving members removed, the others kept");
        const whole = await etcd.whole(alive().find((a) => cps3.some((c) => c.address === a))!);
        assert.ok(whole.ok, whole.why);
        for (const l of leaving) {
          assert.ok(memberGoneAt.has(l.name) && nodeGoneAt.has(l.name) && vmGoneAt.has(l.name), `${l.name}: member, Node and VM all gone`);
          assert.ok(memberGoneAt.get(l.name)! <= vmGoneAt.get(l.name)! && nodeGoneAt.get(l.name)! <= vmGoneAt.get(l.name)!, `${l.name}: its member and Node went before its VM`);
        }
        log(`leaving ${leaving.map((l) => l.name).join(", ")}: each member removed and Node deleted before its VM; ${whole.why}`);
      } finally {
        await quorum.stop();
        api.on = false;
        await apiLoop;
      }
      log(`etcd quorum: ${quorum.samples} samples, lost ${quorum.lost.length} times; the API's /readyz: ${api.samples} samples, failed ${api.down.length} times`);
      assert.deepEqual(quorum.lost, []);
      assert.deepEqual(api.down, [], "the API at the endpoint answered throughout");
    });

  }

  it("pulumi destroy removes everything: nothing of the stack left in vcsim, and its namespaces gone from the API", async function () {
    need(this, "whole-stack destroy", ["pulumi", "vcsim", "govc"]);
    if (!cp) throw new Error("the up before did not bring the API up");
    const t0 = Date.now();
    // --run-program: the VMs carry the retirement hooks, which a destroy retires nothing with (the whole cluster goes).
    const r = await stack!.destroy({ runProgram: true, parallel: VCSIM_PARALLEL, onOutput: (o) => fs.appendFileSync(path.join(dir, "destroy.log"), o) });
    log(`destroy: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${JSON.stringify(r.summary.resourceChanges)}`);
    const vmsLeft = ((govc("find", "-json", `/${v.inventory.datacenter}/vm`, "-type", "m") as string[] | null) ?? []).filter((p) => !p.endsWith(`/${v.inventory.template}`));
    assert.deepEqual(vmsLeft, []);
    const folders = (govc("find", "-json", `/${v.inventory.datacenter}/vm`, "-type", "f", "-name", v.inventory.folder) as string[] | null) ?? [];
    assert.deepEqual(folders, []);
    const spark = await cp.admin.get(`/api/v1/namespaces/${d.spark.namespace}`).then(
      (ns) => `still there (${ns.status?.phase})`,
      (e: Error) => (e instanceof ApiError && e.status === 404 ? "gone" : e.message),
    );
    assert.ok(spark === "gone" || spark === "still there (Terminating)", `namespace ${d.spark.namespace}: ${spark}`);
    log(`after destroy: no VM, folder or pool of the stack in vcsim; namespace ${d.spark.namespace} ${spark}`);
  });
});
