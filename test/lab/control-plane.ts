/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler, built from their Go modules (lab/tools/), plus kwok, the lab's stand-in for the
 * kubelets and containers: it keeps the Node objects the lab registers Ready and moves the pods the
 * real scheduler binds to them to Running (and a Job's pods to Succeeded). Nothing listens beyond
 * 127.0.0.1.
 *
 * The API server runs as kubeadm starts it, less what needs a node: RBAC and Node authorization, the
 * admission plugins on by default (PodSecurity, ResourceQuota, LimitRanger, ServiceAccount,
 * Priority, DefaultStorageClass, …) plus NodeRestriction, service-account tokens signed by the lab's
 * key. The controller manager and the scheduler use the lab's admin credentials (kubeadm gives each
 * its own identity; the lab does not need to test that).
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { atExit } from "../support/at-exit";
import { freePort } from "../support/net";

export interface ControlPlaneBinaries {
  etcd: string;
  "kube-apiserver": string;
  "kube-controller-manager": string;
  "kube-scheduler": string;
  kwok: string;
}

/** `openssl ARGS` in `dir` (the lab specs make their certificates with it). */
export function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * The lab's PKI: a CA, the API server's serving certificate, an admin client, the service-account key
 * pair. A CA and service-account key already in `dir` (a cluster's own, as `ControlPlaneOptions.pki`
 * gives them) are used as they are, as kubeadm uses the shared ones it finds in /etc/kubernetes/pki.
 */
function makePki(dir: string, address: string): void {
  const has = (f: string) => fs.existsSync(path.join(dir, f));
  if (!has("ca.crt") || !has("ca.key")) openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=vsphere-spark-lab-ca");
  const sign = (name: string, subj: string, ext: string) => {
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj);
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
  };
  const ips = [...new Set(["127.0.0.1", address, "10.96.0.1"])].map((ip) => `IP:${ip}`).join(",");
  sign("apiserver", "/CN=kube-apiserver", `subjectAltName=${ips},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n`);
  sign("admin", "/O=system:masters/CN=lab-admin", "extendedKeyUsage=clientAuth\n");
  if (!has("sa.key")) openssl(dir, "genrsa", "-out", "sa.key", "2048");
  if (!has("sa.pub")) openssl(dir, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub");
}

/** Where the API server serves and with which CA; default: a free port of 127.0.0.1 and a CA of the lab's own. */
export interface ControlPlaneOptions {
  /** The address the API server binds and advertises (its serving certificate names it). */
  address?: string;
  port?: number;
  /** PEM files to start from, by name in kubeadm's /etc/kubernetes/pki (ca.crt, ca.key, sa.key, sa.pub). */
  pki?: Record<string, string>;
}

export interface Credentials {
  ca: string;
  cert?: string;
  key?: string;
  token?: string;
}

/** A kubeconfig for `server` with `creds` (PEM text inline). */
export function kubeconfig(server: string, creds: Credentials, user = "lab"): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const u: Record<string, string> = {};
  if (creds.cert && creds.key) {
    u["client-certificate-data"] = b64(creds.cert);
    u["client-key-data"] = b64(creds.key);
  }
  if (creds.token) u.token = creds.token;
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "lab", cluster: { server, "certificate-authority-data": b64(creds.ca) } }],
    users: [{ name: user, user: u }],
    contexts: [{ name: "lab", context: { cluster: "lab", user } }],
    "current-context": "lab",
  });
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${body.slice(0, 500)}`);
  }
}

/** A minimal Kubernetes API client (JSON over HTTPS with the lab's credentials). */
export class Api {
  private readonly agent: https.Agent;
  constructor(
    readonly server: string,
    readonly creds: Credentials,
  ) {
    this.agent = new https.Agent({ ca: creds.ca, cert: creds.cert, key: creds.key, keepAlive: false });
  }

  request<T = any>(method: string, p: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const url = new URL(p, this.server);
    const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            accept: "application/json",
            ...(data !== undefined ? { "content-type": contentType, "content-length": Buffer.byteLength(data) } : {}),
            ...(this.creds.token ? { authorization: `Bearer ${this.creds.token}` } : {}),
          },
          timeout: 30_000,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c) => (text += c));
          res.on("end", () => {
            if ((res.statusCode ?? 0) >= 300) reject(new ApiError(res.statusCode ?? 0, text, `${method} ${p}`));
            else {
              try {
                resolve(text && /json/.test(String(res.headers["content-type"])) ? JSON.parse(text) : (text as T));
              } catch (e) {
                reject(e);
              }
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${p}: timed out`)));
      req.on("error", reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  }
  get<T = any>(p: string): Promise<T> {
    return this.request<T>("GET", p);
  }
  post<T = any>(p: string, body: unknown): Promise<T> {
    return this.request<T>("POST", p, body);
  }
  async exists(p: string): Promise<boolean> {
    try {
      await this.get(p);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return false;
      throw e;
    }
  }
}

/** Polls `check` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 500): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export class ControlPlane {
  readonly server: string;
  readonly admin: Api;
  readonly adminKubeconfig: string;
  readonly ca: string;
  private readonly procs: { name: string; proc: ChildProcess }[] = [];

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly address = "127.0.0.1",
  ) {
    this.server = `https://${address}:${port}`;
    const pki = path.join(dir, "pki");
    this.ca = fs.readFileSync(path.join(pki, "ca.crt"), "utf8");
    const creds = { ca: this.ca, cert: fs.readFileSync(path.join(pki, "admin.crt"), "utf8"), key: fs.readFileSync(path.join(pki, "admin.key"), "utf8") };
    this.admin = new Api(this.server, creds);
    this.adminKubeconfig = path.join(dir, "admin.kubeconfig");
    fs.writeFileSync(this.adminKubeconfig, kubeconfig(this.server, creds, "lab-admin"), { mode: 0o600 });
  }

  /** Starts etcd, the API server, the controller manager, the scheduler and kwok; resolves when all serve. */
  static async start(dir: string, bin: ControlPlaneBinaries, log: (line: string) => void = () => {}, opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const pki = path.join(dir, "pki");
    fs.mkdirSync(pki, { recursive: true });
    for (const [f, pem] of Object.entries(opts.pki ?? {})) fs.writeFileSync(path.join(pki, f), pem, { mode: 0o600 });
    const address = opts.address ?? "127.0.0.1";
    makePki(pki, address);
    const [etcdClient, etcdPeer, freeApiPort, schedPort, kcmPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
    const apiPort = opts.port ?? freeApiPort;
    const cp = new ControlPlane(dir, apiPort, address);
    const p = (f: string) => path.join(pki, f);
    try {
      const t0 = Date.now();
      cp.run("etcd", bin.etcd, [
        "--name=lab",
        `--data-dir=${path.join(dir, "etcd")}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=lab=http://127.0.0.1:${etcdPeer}`,
        "--log-level=warn",
      ]);
      cp.run("kube-apiserver", bin["kube-apiserver"], [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        `--bind-address=${address}`,
        `--advertise-address=${address}`,
        `--secure-port=${apiPort}`,
        `--tls-cert-file=${p("apiserver.crt")}`,
        `--tls-private-key-file=${p("apiserver.key")}`,
        `--client-ca-file=${p("ca.crt")}`,
        `--service-account-key-file=${p("sa.pub")}`,
        `--service-account-signing-key-file=${p("sa.key")}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range=10.96.0.0/12",
        "--authorization-mode=Node,RBAC",
        // kubeadm's choice; every plugin on by default stays on (PodSecurity, ResourceQuota, …).
        "--enable-admission-plugins=NodeRestriction",
        // kubeadm's: bootstrap tokens (Secrets in kube-system) authenticate joining nodes.
        "--enable-bootstrap-token-auth=true",
        "--allow-privileged=true",
        // No node runs the kubernetes Service's endpoints on loopback (as controller-runtime's envtest).
        "--endpoint-reconciler-type=none",
        "--v=0",
      ]);
      await waitFor("kube-apiserver /readyz", async () => ((await cp.admin.get<string>("/readyz")) === "ok" ? true : undefined), 180_000);
      log(`lab: etcd and kube-apiserver ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      // The controller manager and the scheduler: the admin's identity, serving on loopback, alone.
      const component = (port: number) => [
        `--kubeconfig=${cp.adminKubeconfig}`,
        `--authentication-kubeconfig=${cp.adminKubeconfig}`,
        `--authorization-kubeconfig=${cp.adminKubeconfig}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${port}`,
        "--leader-elect=false",
      ];
      cp.run("kube-controller-manager", bin["kube-controller-manager"], [
        ...component(kcmPort),
        "--use-service-account-credentials=true",
        `--service-account-private-key-file=${p("sa.key")}`,
        `--root-ca-file=${p("ca.crt")}`,
        `--cluster-signing-cert-file=${p("ca.crt")}`,
        `--cluster-signing-key-file=${p("ca.key")}`,
        "--controllers=*,bootstrapsigner,tokencleaner",
      ]);
      cp.run("kube-scheduler", bin["kube-scheduler"], component(schedPort));
      // Stand-in: kwok plays every node's kubelet and container runtime.
      cp.run("kwok (stand-in for kubelets and containers)", bin.kwok, [
        `--kubeconfig=${cp.adminKubeconfig}`,
        "--manage-all-nodes=true",
        // Heartbeats through node Leases, renewed every 10 s, as the kubelet does (its default
        // nodeLeaseDurationSeconds: 40, renewed at a quarter of it; kwok cites kubelet.go). Without it
        // kwok heartbeats by patching each Node's status every 20-25 s (its default node-heartbeat stage), close to the node lifecycle
        // controller's 50 s grace period: under load every Node flapped NotReady (measured in the
        // whole-stack lab: "all Nodes are not-Ready" every ~50 s), the controller marked every pod
        // Ready=False, kwok never set them back, and a PodDisruptionBudget then allowed no eviction.
        "--node-lease-duration-seconds=40",
        "--node-ip=10.244.0.1",
        "--cidr=10.244.0.1/16",
      ]);
      await waitFor("the default service account", async () => ((await cp.admin.exists("/api/v1/namespaces/default/serviceaccounts/default")) ? true : undefined), 120_000);
      log(`lab: controller manager serving (default service account) after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return cp;
    } catch (e) {
      cp.stop();
      throw e;
    }
  }

  private run(name: string, bin: string, args: string[]): void {
    const logFile = path.join(this.dir, `${name.split(" ")[0]}.log`);
    const fd = fs.openSync(logFile, "a");
    const proc = spawn(bin, args, { stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    proc.on("exit", (code, sig) => {
      if (!this.stopping) fs.appendFileSync(logFile, `\n[lab] ${name} exited: code ${code}, signal ${sig}\n`);
    });
    this.procs.push({ name, proc });
    proc.once("exit", atExit(() => proc.kill("SIGKILL")));
  }

  private stopping = false;

  stop(): void {
    this.stopping = true;
    for (const { proc } of [...this.procs].reverse()) proc.kill("SIGTERM");
  }
}
