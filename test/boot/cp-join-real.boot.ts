/**
 * A REAL `kubeadm join --control-plane` in the boot lab (issue 17; `npm run test:boot:cp-join-real`):
 * two guests of the real-kubeadm image (real-k8s.ts: the real kubeadm, kubelet, kubectl v1.34.4 and the
 * real control plane's images) on one lab network (a bridge joining their taps, so they reach each
 * other on 6443, 2379, 2380 and 10250). The first boots the program's first control plane, whose
 * `kubeadm init --upload-certs` runs for real (as in real-kubeadm.boot.ts); once its API answers
 * through the endpoint, the second boots the program's render of the SECOND control plane of the same
 * stack and its bootstrap runs the real `kubeadm join`, in one of two renders (see `renders`): first-up
 * (the same plan run: the init token, `controlPlane.certificateKey`, the shared CA files downloaded
 * from kube-system/kubeadm-certs) or day-two (rendered from an applied state holding only the first:
 * the shared CA files in its guestinfo, the join token, no certificate key). Before it, the negative
 * control, whose real kubeadm join fails at its preflight: the same render without the certificate key
 * (first-up) or without one shared file (day-two). VSPHERE_SPARK_BOOT_CP_JOIN_PATHS picks the renders
 * (default both, one after the other).
 *
 * Stand-ins (each says so): the guestinfo channel (as everywhere in the lab), the registry
 * (guest-kubeadm/lab-registry imports the images), CoreDNS's image (never run: no pod network), and
 * the load balancer: tcp-forward.ts forwards the endpoint 192.168.1.2:6443 to the FIRST control
 * plane's API server only (HAProxy would balance over every ready one; the join needs the first);
 * day-two only, the Kubernetes provider (`applyTokenSecret`).
 *
 * Read from the real systems, inside the first guest while both run (its collector waits for this):
 * etcd's member list (its v3 JSON API, with the etcd CA's healthcheck client certificate) with two
 * started voting members (the joiner's learner promoted), both API servers' /readyz, the second's Node
 * with the control-plane role. The second guest reports after the first has powered off (its journal:
 * the join's phases; the bootstrap's done mark). Measured: every boot, the join's phases, host load.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { BootResult, Image, KUBEADM_CONTROL_PLANE_CPUS, Lab, LabNetwork, ProgramVm, boot, buildImage, programResources, programState, programVms, withDocuments } from "./lab";
import { k8sPayload, K8sPayload } from "./real-k8s";
import { InitAttempt, initAttempts, journalLines, kubeadmAttempts } from "./kubeadm-journal";
import { KUBEADM_CONFIG_PATH } from "../../components/cluster/kubeadm";
import { adminGroup } from "../../components/cluster/pki";
import { realisticOutputs, tmpDir } from "../cluster/helpers";
import { resolveTools } from "../lab/tools";

const VERSION = "1.34.4";
const SETS = [`vsphere-spark:kubernetes={version: ${VERSION}, installMode: preinstalled, cni: {kind: antrea, version: 2.2.0}}`, "vsphere-spark:workersPerHost=1"];
const ENDPOINT = "192.168.1.2";
const DONE = "/var/lib/vsphere-spark/bootstrap.done";
const GAVE_UP = "/var/lib/vsphere-spark/bootstrap.gave-up";
const FW = "/sys/firmware/qemu_fw_cfg/by_name/opt/lab";
const MEMORY_MIB = Number(process.env.VSPHERE_SPARK_BOOT_KUBEADM_MEMORY ?? 4096);
const TIMEOUT_S = Number(process.env.VSPHERE_SPARK_BOOT_KUBEADM_TIMEOUT ?? 2400);
const VCPUS = KUBEADM_CONTROL_PLANE_CPUS;
const JOURNAL = "journalctl -b --no-pager -u cloud-final.service -u vsphere-spark-bootstrap.service";

interface WriteFile {
  path: string;
  content: string;
}
const userDataOf = (vm: ProgramVm) => parse(vm.userData.replace(/^#cloud-config\n/, ""), { version: "1.1" }) as { write_files: WriteFile[] };
const addressOf = (vm: ProgramVm) => /addresses:\n\s+- (\d+\.\d+\.\d+\.\d+)\/24/.exec(vm.metaData)![1];

/**
 * The first guest's wait (its collector's `until`, run every 3 s): the join is complete when etcd lists
 * two started voting members (name set, not a learner), the joiner's Node has the control-plane role,
 * and both API servers pass /readyz and both etcd members /health in the same pass (a pass where one
 * does not is logged in `pair-readyz-not-ready`, and the wait goes on: under emulation etcd's
 * readiness blinks). At that moment, while both guests run, it keeps what it read
 * under /run/lab-pair (the report's `pair-*` sections), and every change of etcd's member list on the
 * way (`pair-history`: the learner, then its promotion).
 */
function pairCheck(self: ProgramVm, joiner: ProgramVm): string {
  const j = addressOf(joiner);
  // (the API servers' certificates name their own addresses, not 127.0.0.1; etcd's name 127.0.0.1)
  const s = addressOf(self);
  return `set -eu
D=/run/lab-pair
mkdir -p "$D"
kc() { kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=20s "$@"; }
E=(--cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key)
test -f ${DONE}
members=$(curl -sf --max-time 10 "\${E[@]}" -X POST https://127.0.0.1:2379/v3/cluster/member/list -d '{}')
# (python3 only when the list changed: the check runs every 3 s on an emulated CPU)
list=$(echo "$members" | grep -o '"members":.*')
if [ "$list" != "$(cat "$D/.last" 2>/dev/null)" ]; then
  echo "$list" >"$D/.last"
  echo "$(date -Is) $(echo "$members" | python3 -c 'import json,sys; print(" ".join(sorted("%s:%s" % (m.get("name") or "(unstarted)", "learner" if m.get("isLearner") else "voter") for m in json.load(sys.stdin)["members"])))')" >>"$D/history"
fi
[ "$(tail -n 1 "$D/history" | cut -d' ' -f2-)" = "${[self.name, joiner.name].sort().map((n) => `${n}:voter`).join(" ")}" ]
kc get node ${joiner.name} -o jsonpath='{.metadata.labels}' | grep -q '"node-role.kubernetes.io/control-plane"'
# Both API servers ready and both etcd members healthy in the same pass; each pass that is not is kept
# (readyz-not-ready: the checks that failed), and the wait goes on.
ok=1
for a in ${s} ${j}; do
  if ! kc --server "https://$a:6443" get --raw '/readyz?verbose' >"$D/.readyz-$a" 2>&1; then
    ok=0
    echo "$(date -Is) $a $(grep -o '\\[-\\][a-z-]*' "$D/.readyz-$a" | tr '\\n' ' ')" >>"$D/readyz-not-ready"
  fi
done
for a in 127.0.0.1 ${j}; do
  curl -sS --max-time 10 "\${E[@]}" "https://$a:2379/health" >"$D/.etcd-health-$a" 2>&1 || true
  grep -q '"health":"true"' "$D/.etcd-health-$a" || { ok=0; echo "$(date -Is) etcd $a $(cat "$D/.etcd-health-$a")" >>"$D/readyz-not-ready"; }
done
[ "$ok" = 1 ]
date -Is >"$D/at"
echo "$members" >"$D/members"
for a in ${s} ${j}; do cp "$D/.readyz-$a" "$D/readyz-$a"; done
for a in 127.0.0.1 ${j}; do cp "$D/.etcd-health-$a" "$D/etcd-health-$a"; done
kc get nodes -o wide >"$D/nodes"
kc get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.labels}{"\\n"}{end}' >"$D/node-labels"
kc get pods -n kube-system -o wide >"$D/pods"
`;
}
/** The first guest's own sections: what pairCheck kept. */
const PAIR_SECTIONS = `for f in /run/lab-pair/*; do [ -f "$f" ] && sec "pair-\${f##*/}" cat "$f"; done`;

interface PairRun {
  first: BootResult;
  negative: BootResult;
  second: BootResult;
  /** Seconds after the first guest's QEMU started. */
  apiReadyThroughEndpoint: number;
  negativeStart: number;
  secondStart: number;
  wallClock: number;
  load: number[];
}

/** Shell: true when `address` takes no TCP connection on 6443, 2379 or 10250 (its guest is off). */
const firstOff = (address: string) => `! { ${[6443, 2379, 10250].map((p) => `timeout 5 bash -c 'exec 3<>/dev/tcp/${address}/${p}' 2>/dev/null`).join(" || ")}; }`;

/** Polls the endpoint's /readyz from inside the lab network until it answers 200 (or `stop` settles). */
async function waitReady(net: LabNetwork, address: string, stop: Promise<unknown>, limitS: number): Promise<void> {
  let stopped = false;
  stop.then(() => (stopped = true), () => (stopped = true));
  const t0 = Date.now();
  for (;;) {
    const code = await new Promise<number | null>((resolve) => net.exec(["curl", "-ksf", "--max-time", "5", "-o", "/dev/null", `https://${address}:6443/readyz`]).on("exit", resolve));
    if (code === 0) return;
    if (stopped) throw new Error("the first control plane's boot ended before its API answered through the endpoint");
    if (Date.now() - t0 > limitS * 1000) throw new Error(`no /readyz through ${address}:6443 in ${limitS} s`);
    await new Promise((r) => setTimeout(r, 5000));
  }
}

/**
 * The two renders of the second control plane, each joining the first's real cluster:
 * - `first-up`: the same plan run as the first (`pulumi up` of a new stack): the init token and
 *   `controlPlane.certificateKey`; kubeadm downloads the shared CA files from kube-system/kubeadm-certs
 *   (uploaded by the first's `kubeadm init --upload-certs`). Negative control: the certificate key
 *   removed: the node has no shared CA file.
 * - `day-two`: rendered from an applied state (`clusterLifecycle`) holding only the first control
 *   plane (`pulumi up` on a running cluster; the mocks shared with the first's run, so one PKI): the
 *   eight shared CA/SA files in its guestinfo, the workers' join token, no certificate key (kubeadm's
 *   manual certificate distribution). The token's Secret is the one that update's plan records
 *   (components/cluster/access.ts), applied by the lab with kubectl through the endpoint: the STAND-IN
 *   for the program's Kubernetes provider (no Pulumi engine here), with a client certificate the lab
 *   signs from the program's CA for the program's admin identity. Negative control: one shared file
 *   (front-proxy-ca.key) removed from the same render.
 */
type Variant = "first-up" | "day-two";
const VARIANTS: Variant[] = (process.env.VSPHERE_SPARK_BOOT_CP_JOIN_PATHS ?? "first-up,day-two").split(",").map((v) => v.trim() as Variant);

interface Renders {
  first: ProgramVm;
  joiner: ProgramVm;
  negative: Record<string, string>;
  /** What the negative control's kubeadm must say, and the phase it must fail in. */
  negativeSays: RegExp;
  negativePhase: string;
  /** The join token's Secret as the program's Kubernetes provider would create it (day-two). */
  tokenSecret?: Record<string, unknown>;
  /** The program's admin credentials (its `kubeconfig` output's: the mocks' admin certificate and key). */
  admin?: { certPem: string; keyPem: string };
}

async function renders(variant: Variant): Promise<Renders> {
  const sim = realisticOutputs();
  const vms = await programVms(SETS, undefined, sim);
  const first = Object.values(vms).find((v) => /kind: InitConfiguration/.test(v.userData))!;
  assert.ok(first, "the first control plane");
  let joiner: ProgramVm;
  let tokenSecret: Record<string, unknown> | undefined;
  let admin: Renders["admin"];
  if (variant === "first-up") {
    joiner = Object.values(vms).find((v) => v.name.endsWith("esxi-02-control-plane"))!;
  } else {
    const state = await programState(SETS, sim);
    const previous = { ...state, nodes: (state.nodes as { name: string }[]).filter((n) => !/^esxi-0[23]-control-plane$/.test(n.name)) };
    const r = await programResources(SETS, previous, sim);
    joiner = Object.values(r.vms).find((v) => v.name.endsWith("esxi-02-control-plane"))!;
    tokenSecret = r.resources.find((x) => x.type === "kubernetes:core/v1:Secret" && /join-token$/.test(x.name))?.inputs;
    assert.ok(tokenSecret, "the update's join token Secret");
    // The admin certificate and key the plan's mocks made for the program (the same handlers return
    // what they made for a resource's name): what its Kubernetes provider authenticates with.
    const certName = r.resources.find((x) => x.type === "tls:index/locallySignedCert:LocallySignedCert" && /-admin-cert$/.test(x.name))!.name;
    const keyName = r.resources.find((x) => x.type === "tls:index/privateKey:PrivateKey" && /-admin-key$/.test(x.name))!.name;
    admin = {
      certPem: String(sim["tls:index/locallySignedCert:LocallySignedCert"](certName, {}).certPem),
      keyPem: String(sim["tls:index/privateKey:PrivateKey"](keyName, {}).privateKeyPem),
    };
  }
  assert.ok(joiner, "the second control plane");
  const ud = userDataOf(joiner);
  let negativeSays: RegExp;
  let negativePhase: string;
  if (variant === "first-up") {
    const cfg = ud.write_files.find((f) => f.path === KUBEADM_CONFIG_PATH)!;
    const stripped = cfg.content.replace(/^ {2}certificateKey: \S+\n/m, "");
    assert.notEqual(stripped, cfg.content, "the join render has a certificate key");
    cfg.content = stripped;
    negativeSays = /couldn't load the certificate file \/etc\/kubernetes\/pki\/ca\.crt/;
    negativePhase = "preflight";
  } else {
    const cfg = ud.write_files.find((f) => f.path === KUBEADM_CONFIG_PATH)!;
    assert.doesNotMatch(cfg.content, /certificateKey/, "the day-two join has no certificate key");
    const n = ud.write_files.length;
    ud.write_files = ud.write_files.filter((f) => f.path !== "/etc/kubernetes/pki/front-proxy-ca.key");
    assert.equal(ud.write_files.length, n - 1, "the day-two join render carries front-proxy-ca.key");
    // A missing CA KEY passes kubeadm's preflight as an external CA ("assuming external key for
    // front-proxy CA", a warning: cmd/kubeadm/app/phases/certs/certs.go); the join then fails in
    // control-plane-prepare/certs, signing front-proxy-client, still before kubelet-start and etcd
    // (measured 2026-12-05). A missing certificate would fail the preflight itself.
    negativeSays = /could not load expected certificate "front-proxy-client" or validate the existence of key "front-proxy-ca"/;
    negativePhase = "control-plane-prepare/certs";
  }
  const negative = withDocuments(joiner.extraConfig, `#cloud-config\n${stringify(ud, { version: "1.1", lineWidth: 0 })}`);
  return { first, joiner, negative, negativeSays, negativePhase, tokenSecret, admin };
}

/**
 * STAND-IN for the program's Kubernetes provider creating the join token's Secret (day-two): `kubectl
 * apply` of the Secret the plan recorded, from the host's side of the lab network through the endpoint,
 * with the program's admin certificate (CN kubernetes-admin, its adminGroup, signed by its cluster CA).
 * Retried for 3 minutes, as the provider retries (the emulated API server can be slow to answer).
 */
async function applyTokenSecret(net: LabNetwork, secret: Record<string, unknown>, joiner: ProgramVm, admin: { certPem: string; keyPem: string }): Promise<string> {
  const kubectl = resolveTools(["kubernetes"]).kubectl?.path;
  if (!kubectl) throw new Error("no kubectl (lab/build-tools.sh kubernetes)");
  const file = (p: string) => userDataOf(joiner).write_files.find((f) => f.path === p)!.content;
  const cert = admin.certPem;
  const key = { privateKeyPem: admin.keyPem };
  assert.match(execFileSync("openssl", ["x509", "-noout", "-subject"], { input: cert, encoding: "utf8" }), new RegExp(`O ?= ?${adminGroup(VERSION)}, CN ?= ?kubernetes-admin`));
  const dir = tmpDir("token-secret");
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  fs.writeFileSync(
    path.join(dir, "kubeconfig"),
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "lab", cluster: { server: `https://${ENDPOINT}:6443`, "certificate-authority-data": b64(file("/etc/kubernetes/pki/ca.crt")) } }],
      users: [{ name: "lab", user: { "client-certificate-data": b64(cert), "client-key-data": b64(key.privateKeyPem) } }],
      contexts: [{ name: "lab", context: { cluster: "lab", user: "lab" } }],
      "current-context": "lab",
    }),
    { mode: 0o600 },
  );
  fs.writeFileSync(path.join(dir, "secret.json"), JSON.stringify(secret));
  const t0 = Date.now();
  let out = "";
  for (;;) {
    const p = net.exec([kubectl, "--kubeconfig", path.join(dir, "kubeconfig"), "--request-timeout=30s", "apply", "-f", path.join(dir, "secret.json")]);
    out = "";
    p.stdout?.on("data", (d) => (out += d));
    p.stderr?.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => p.on("exit", resolve));
    if (code === 0) break;
    if (Date.now() - t0 > 180_000) throw new Error(`kubectl apply of the join token's Secret failed (${code}): ${out}`);
    console.log(`      (kubectl apply of the join token's Secret: ${out.trim()}; again in 10 s)`);
    await new Promise((r) => setTimeout(r, 10_000));
  }
  return out.trim();
}

for (const variant of VARIANTS) {
  describe(`boot lab: a real kubeadm join --control-plane, ${variant} (v${VERSION}, TCG, two guests)`, function () {
    this.timeout(0);
    let payload: K8sPayload;
    let image: Image;
    const lab = new Lab(() => image);
    let imageSeconds = 0;
    let rr: Renders;
    let run: Promise<PairRun>;
    let applied = "";

    before(async function () {
      const t = Date.now();
      const r = k8sPayload(`v${VERSION}`);
      if (!r.payload) {
        console.log(`      NOT RUN: missing tools: ${r.missing!.join(", ")}`);
        this.skip();
      }
      payload = r.payload!;
      image = buildImage(payload.dir);
      imageSeconds = Math.round((Date.now() - t) / 1000);
      rr = await renders(variant);
      const { first, joiner } = rr;
      console.log(
        `      STAND-INS: the load balancer (tcp-forward.ts: 192.168.1.2:6443 to the first control plane's API only), the registry (lab-registry), the guestinfo channel (vmware-rpctool), CoreDNS's image${variant === "day-two" ? ", the Kubernetes provider (kubectl apply of the plan's join token Secret)" : ""}`,
      );
      const a1 = addressOf(first);
      const load: number[] = [];
      const sampler = setInterval(() => load.push(os.loadavg()[0]), 10_000);
      const chain = lab.chain(
        [ENDPOINT],
        async (net): Promise<PairRun> => {
          const t0 = Date.now();
          const since = () => Math.round((Date.now() - t0) / 1000);
          const firstBoot = boot(image, net, {
            extraConfig: first.extraConfig,
            mac: first.macAddress!,
            dataDisksGiB: first.dataDisksGiB,
            vcpus: VCPUS,
            memoryMiB: MEMORY_MIB,
            tap: "lab0",
            until: `test -f ${GAVE_UP} || bash ${FW}/pair-check/raw`,
            labFiles: { "pair-check": pairCheck(first, joiner), sections: PAIR_SECTIONS, "kubeadm-report": "cluster" },
            timeoutSeconds: TIMEOUT_S,
          });
          firstBoot.catch(() => undefined);
          // The joiners boot once the first's API answers through the endpoint: on 2 cores, a second
          // guest's boot and image import beside the init would slow its control plane towards
          // kubeadm's 4-minute wait.
          await waitReady(net, ENDPOINT, firstBoot, TIMEOUT_S);
          const apiReadyThroughEndpoint = since();
          if (rr.tokenSecret) applied = await applyTokenSecret(net, rr.tokenSecret, joiner, rr.admin!);
          const negativeStart = since();
          const negative = await boot(image, net, {
            extraConfig: rr.negative,
            mac: joiner.macAddress!,
            dataDisksGiB: joiner.dataDisksGiB,
            vcpus: VCPUS,
            memoryMiB: MEMORY_MIB,
            tap: "lab1",
            until: `${JOURNAL} | grep -q 'error execution phase' || test -f ${GAVE_UP} || test -f ${DONE}`,
            labFiles: { "kubeadm-report": "journal" },
            timeoutSeconds: 1200,
          });
          const secondStart = since();
          // The joiner reports once the first has powered off (after its collector read the cluster):
          // with two etcd members, either one's power-off takes the other's quorum. Off: none of its
          // API server's, etcd's or kubelet's ports takes a TCP connection, twice 5 s apart (an HTTP
          // request is no test: a loaded first guest's API server can take longer than any timeout).
          const second = boot(image, net, {
            extraConfig: joiner.extraConfig,
            mac: joiner.macAddress!,
            dataDisksGiB: joiner.dataDisksGiB,
            vcpus: VCPUS,
            memoryMiB: MEMORY_MIB,
            tap: "lab1",
            until: `(test -f ${DONE} || test -f ${GAVE_UP}) && ${firstOff(a1)} && sleep 5 && ${firstOff(a1)}`,
            labFiles: { "kubeadm-report": "journal" },
            timeoutSeconds: TIMEOUT_S,
          });
          return { first: await firstBoot, negative, second: await second, apiReadyThroughEndpoint, negativeStart, secondStart, wallClock: since(), load };
        },
        { forwardTo: a1, vcpus: 2 * VCPUS, taps: 2 },
      );
      run = chain.result.finally(() => clearInterval(sampler));
      run.catch(() => undefined);
    });
    after(() => lab.down());

    const phasesOf = (a?: InitAttempt) => a && { succeeded: a.succeeded, seconds: a.end, failedPhase: a.failedPhase, phases: a.phases };
    const bootClock = (r: BootResult) => Date.parse((r.report["boot-clock"] ?? "").split("\n")[0]);

    it(`the first control plane's real kubeadm init; the second's real kubeadm join --control-plane (${variant === "first-up" ? "certificate key" : "shared CA files, join token"}) runs to its end; etcd has two voting members; both API servers ready; the Node is a control plane (measured)`, async () => {
      const r = await run;
      const { first, joiner } = rr;
      const l1 = journalLines(r.first.report["kubeadm-journal"]);
      const l2 = journalLines(r.second.report["kubeadm-journal"]);
      const inits = initAttempts(l1);
      const joins = kubeadmAttempts(l2, "join");
      const at = (lines: typeof l1, re: RegExp, b: number) => {
        const l = lines.find((x) => re.test(x.text));
        return l ? Math.round((l.at - b) / 1000) : undefined;
      };
      const b1 = bootClock(r.first);
      const b2 = bootClock(r.second);
      const loads = r.load.length ? r.load : [os.loadavg()[0]];
      const measured = {
        variant,
        image: imageSeconds,
        first: {
          boot: r.first.seconds,
          kubeadmInitStartAfterBoot: inits[0] ? Math.round((inits[0].start - b1) / 1000) : undefined,
          init: inits.map(phasesOf),
          doneAfterBoot: at(l1, /vsphere-spark: control plane initialised/, b1),
          apiReadyThroughEndpointAfterQemuStart: r.apiReadyThroughEndpoint,
        },
        tokenSecretApplied: applied || undefined,
        negative: { startedAfterFirst: r.negativeStart, boot: r.negative.seconds },
        second: {
          startedAfterFirst: r.secondStart,
          boot: r.second.seconds,
          kubeadmJoinStartAfterBoot: joins[0] ? Math.round((joins[0].start - b2) / 1000) : undefined,
          join: joins.map(phasesOf),
          doneAfterBoot: at(l2, /vsphere-spark: joined the cluster/, b2),
        },
        pairCheckedAt: r.first.report["pair-at"]?.trim(),
        memberHistory: r.first.report["pair-history"],
        passesNotReady: (r.first.report["pair-readyz-not-ready"] ?? "").split("\n").filter(Boolean),
        wallClock: r.wallClock,
        hostLoad: { min: Math.min(...loads), max: Math.max(...loads), mean: Math.round((loads.reduce((a, b) => a + b, 0) / loads.length) * 100) / 100, cores: os.availableParallelism() },
      };
      console.log(`      measured: ${JSON.stringify(measured, null, 1)}`);
      const out = process.env.VSPHERE_SPARK_BOOT_KUBEADM_OUT;
      if (out) {
        for (const [name, b] of Object.entries({ first: r.first, negative: r.negative, second: r.second })) {
          fs.mkdirSync(path.join(out, variant, name), { recursive: true });
          for (const [k, v] of Object.entries(b.report)) fs.writeFileSync(path.join(out, variant, name, `${k}.txt`), v);
          fs.writeFileSync(path.join(out, variant, name, "console.log"), b.console);
        }
        fs.writeFileSync(path.join(out, variant, "measured.json"), JSON.stringify(measured, null, 1));
      }
      // The init.
      const why1 = `\n${inits.map((a) => a.lastLines.join("\n")).join("\n---\n")}\n${r.first.report["cloud-init-output"]}`;
      assert.ok(inits.some((a) => a.succeeded), `no kubeadm init reached its last phase${why1}`);
      assert.match(r.first.report.marks, /control plane initialised/, r.first.report.marks);
      // The join: kubeadm printed its success after its last phase; the bootstrap's done mark.
      const why2 = `\n${joins.map((a) => a.lastLines.join("\n")).join("\n---\n")}\n${r.second.report["cloud-init-output"]}\n${r.second.report["kubeadm-journal"]}`;
      assert.ok(joins.length > 0, `kubeadm join never started${why2}`);
      const ok = joins.find((a) => a.succeeded);
      assert.ok(ok, `no kubeadm join reached its end${why2}`);
      const phases = variant === "first-up" ? ["preflight", "download-certs", "certs", "kubelet-start", "etcd", "mark-control-plane"] : ["preflight", "certs", "kubelet-start", "etcd", "mark-control-plane"];
      for (const p of phases) assert.ok(ok.phases[p] !== undefined, `the join printed [${p}]: ${JSON.stringify(ok.phases)}`);
      if (variant === "day-two") assert.equal(ok.phases["download-certs"], undefined, "no certificates downloaded (no certificate key)");
      assert.match(r.second.report.marks, /joined the cluster/, r.second.report.marks);
      assert.match(r.second.report.marks, /kubeadm join finished/, r.second.report.marks);
      // One PKI: the shared files on the second are the first's (downloaded, or from its guestinfo).
      const digest = (b: BootResult, f: string) => new RegExp(`^([0-9a-f]{64})  /etc/kubernetes/pki/${f.replace(/\./g, "\\.")}$`, "m").exec(b.report.pki)?.[1];
      for (const f of ["ca.crt", "ca.key", "sa.pub", "sa.key", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key"]) {
        assert.ok(digest(r.second, f), `${f} on the second\n${r.second.report.pki}`);
        assert.equal(digest(r.second, f), digest(r.first, f), `${f}: the same on both`);
      }
      // Read inside the first guest while both ran.
      const a1 = addressOf(first);
      const a2 = addressOf(joiner);
      const rep = (k: string) => r.first.report[k] ?? "";
      const why = `\n${rep("pair-history")}\n${rep("pair-nodes")}\n${rep("pair-pods")}`;
      assert.ok(rep("pair-at"), `the first guest's wait never saw the join complete (timed out)${why}`);
      const members = (JSON.parse(rep("pair-members")) as { members: { name?: string; isLearner?: boolean; peerURLs: string[] }[] }).members;
      assert.deepEqual(members.map((m) => m.name).sort(), [first.name, joiner.name].sort(), rep("pair-members"));
      for (const m of members) assert.ok(!m.isLearner, `${m.name} is a voting member`);
      assert.deepEqual(members.find((m) => m.name === joiner.name)!.peerURLs, [`https://${a2}:2380`]);
      for (const a of [a1, a2]) assert.match(rep(`pair-readyz-${a}`), /readyz check passed/, `${a}: ${rep(`pair-readyz-${a}`)}`);
      assert.match(rep(`pair-etcd-health-${a2}`), /"health":"true"/, rep(`pair-etcd-health-${a2}`));
      for (const n of [first.name, joiner.name]) assert.match(rep("pair-nodes"), new RegExp(`^${n} +\\S+ +control-plane`, "m"), rep("pair-nodes"));
    });

    it(`negative control: the same join render ${variant === "first-up" ? "without its certificate key fails at the real kubeadm's preflight" : "without one shared file (front-proxy-ca.key) fails in the real kubeadm's control-plane-prepare/certs, before kubelet-start and etcd"}`, async () => {
      const r = await run;
      const text = r.negative.report["kubeadm-journal"] ?? "";
      const joins = kubeadmAttempts(journalLines(text), "join");
      console.log(`      negative control: ${JSON.stringify(joins.map(phasesOf))}; kubeadm said: ${(/One or more conditions[^\n]*|failure loading [^\n]*/.exec(text) ?? ["(nothing)"])[0]}`);
      assert.ok(joins.length > 0, `kubeadm join never started\n${text}\n${r.negative.report["cloud-init-output"]}`);
      assert.equal(joins[0].failedPhase, rr.negativePhase, text);
      for (const a of joins) for (const p of ["kubelet-start", "etcd", "mark-control-plane"]) assert.equal(a.phases[p], undefined, `no [${p}]: nothing changed in the cluster`);
      assert.ok(!joins.some((a) => a.succeeded), "no join succeeded");
      assert.match(text, rr.negativeSays, text);
      assert.doesNotMatch(r.negative.report.marks, /joined the cluster/);
    });
  });
}
