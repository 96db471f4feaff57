/**
 * A real etcd cluster on loopback for the lab specs (etcd-membership.lab.ts, etcd-snapshot.lab.ts,
 * node-retirement.lab.ts):
 * kubeadm's ports and TLS (https peer URL `https://<address>:2380`, client URL `:2379`, client
 * certificates required), each member on its own 127/8 address.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { atExit } from "../support/at-exit";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { etcdClientUrl, etcdPeerUrl } from "../../components/cluster/etcd-member";
import type { TlsClient } from "../../components/cluster/retire-hooks";
import { openssl, waitFor } from "./control-plane";

export interface Member {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

/** Loopback addresses of this run (the whole of 127/8 is local): kubeadm's ports on each. */
export function addresses(octet = 7, count = 3): string[] {
  const b = (process.pid % 200) + 20;
  return Array.from({ length: count }, (_, i) => `127.${b}.${octet}.${11 + i}`);
}

/**
 * The etcd CA, a server+peer certificate per member, and a client certificate (kubeadm's
 * healthcheck-client). A CA already in `dir` (a cluster's own: ca.crt, ca.key) signs them instead.
 * `sourceAddress`: where the members' connections to each other come from (127.0.0.1 on loopback).
 */
export function makeEtcdPki(dir: string, addrs: string[], sourceAddress = "127.0.0.1"): void {
  if (!fs.existsSync(path.join(dir, "ca.crt")) || !fs.existsSync(path.join(dir, "ca.key")))
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=etcd-ca");
  const sign = (name: string, subj: string, ext: string) => {
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj);
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
  };
  // etcd checks a peer's client certificate against the address the connection comes from: on one
  // machine every member connects from the local route's source address, which each certificate names too.
  for (const a of addrs) sign(`member-${a}`, `/CN=${a}`, `subjectAltName=IP:${a},IP:${sourceAddress}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  sign("client", "/O=system:masters/CN=kube-etcd-healthcheck-client", "extendedKeyUsage=clientAuth\n");
}

export class EtcdLab {
  readonly procs = new Map<string, ChildProcess>();
  readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };
  constructor(
    readonly dir: string,
    readonly etcd: string,
    readonly addrs: string[],
  ) {
    const p = (f: string) => fs.readFileSync(path.join(dir, "pki", f));
    this.tls = { ca: p("ca.crt"), cert: p("client.crt"), key: p("client.key") };
  }

  /** The same client certificate, as the program's etcd client (EtcdApi) and the retire hooks take it. */
  get client(): TlsClient {
    return { caPem: this.tls.ca.toString(), certPem: this.tls.cert.toString(), keyPem: this.tls.key.toString() };
  }

  /** A new cluster of `members` (every address's data emptied first), once each one is healthy. */
  async startCluster(members: string[]): Promise<this> {
    for (const a of this.addrs) this.wipe(a);
    for (const a of members) this.start(a, "new", members);
    await waitFor(`${members.length} members healthy`, async () => ((await Promise.all(members.map((a) => this.healthy(a)))).every(Boolean) ? true : undefined), 60_000, 200);
    return this;
  }

  /** The member ID the member at `via` names its leader, once it names one. */
  leader(via: string): Promise<string> {
    return waitFor(
      "a leader",
      async () => {
        const id = String((await this.call(via, "/v3/maintenance/status", {})).leader ?? "0");
        return id !== "0" ? id : undefined;
      },
      15_000,
      200,
    );
  }

  name(a: string): string {
    return `cp-${this.addrs.indexOf(a)}`;
  }
  dataDir(a: string): string {
    return path.join(this.dir, `data-${a}`);
  }

  /** Starts the member at `a` (kubeadm's stacked etcd flags, TLS everywhere). */
  start(a: string, state: "new" | "existing", initialCluster: string[]): void {
    const pki = (f: string) => path.join(this.dir, "pki", f);
    const args = [
      `--name=${this.name(a)}`,
      `--data-dir=${this.dataDir(a)}`,
      `--listen-client-urls=${etcdClientUrl(a)}`,
      `--advertise-client-urls=${etcdClientUrl(a)}`,
      `--listen-peer-urls=${etcdPeerUrl(a)}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl(a)}`,
      `--initial-cluster=${initialCluster.map((m) => `${this.name(m)}=${etcdPeerUrl(m)}`).join(",")}`,
      `--initial-cluster-state=${state}`,
      `--cert-file=${pki(`member-${a}.crt`)}`,
      `--key-file=${pki(`member-${a}.key`)}`,
      `--trusted-ca-file=${pki("ca.crt")}`,
      "--client-cert-auth=true",
      `--peer-cert-file=${pki(`member-${a}.crt`)}`,
      `--peer-key-file=${pki(`member-${a}.key`)}`,
      `--peer-trusted-ca-file=${pki("ca.crt")}`,
      "--peer-client-cert-auth=true",
      "--snapshot-count=10000",
      "--heartbeat-interval=100",
      "--election-timeout=1000",
      "--log-level=error",
    ];
    const logFile = fs.openSync(path.join(this.dir, `etcd-${a}.log`), "a");
    const proc = spawn(this.etcd, args, { stdio: ["ignore", logFile, logFile] });
    fs.closeSync(logFile);
    // A crashed or interrupted run leaves no etcd behind (test/support/at-exit.ts).
    proc.once("exit", atExit(() => proc.kill("SIGKILL")));
    this.procs.set(a, proc);
  }

  async stop(a: string): Promise<void> {
    const p = this.procs.get(a);
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once("exit", () => r());
      p.kill("SIGKILL");
    });
    this.procs.delete(a);
  }

  /** `reset`: what `kubeadm reset` does to etcd's data directory. */
  wipe(a: string): void {
    fs.rmSync(this.dataDir(a), { recursive: true, force: true });
  }

  call(a: string, p: string, body?: unknown, timeoutMs = 3000): Promise<any> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${etcdClientUrl(a)}${p}`,
        { method: body === undefined ? "GET" : "POST", ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, timeout: timeoutMs, headers: { "content-type": "application/json" } },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => {
            if ((res.statusCode ?? 500) >= 400) reject(new Error(`${a}${p}: ${res.statusCode} ${text}`));
            else resolve(text ? JSON.parse(text) : {});
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${a}${p}: timeout`)));
      req.on("error", reject);
      if (body !== undefined) req.write(JSON.stringify(body));
      req.end();
    });
  }

  async healthy(a: string, timeoutMs = 1500): Promise<boolean> {
    try {
      return (await this.call(a, "/health", undefined, timeoutMs)).health === "true";
    } catch {
      return false;
    }
  }

  async members(via: string): Promise<Member[]> {
    return (await this.call(via, "/v3/cluster/member/list", {})).members ?? [];
  }

  /** What kubeadm's join does first in its control-plane-join phase: announce the member. */
  async add(via: string, a: string, learner: boolean): Promise<Member> {
    // etcd refuses ("unhealthy cluster") until every member has been connected for 5 s
    // (server/etcdserver mayAddMember); kubeadm's AddMember retries with a backoff, so does this.
    const r = await waitFor(`member add ${a}`, () => this.call(via, "/v3/cluster/member/add", { peerURLs: [etcdPeerUrl(a)], isLearner: learner }), 60_000, 500);
    return r.member;
  }

  /** Runs the bootstrap's script, verbatim, as the control plane at `self` would. */
  script(command: string, self: string, endpoints: string[]): { status: number; stderr: string; stdout: string } {
    const pki = (f: string) => path.join(this.dir, "pki", f);
    const r = spawnSync(
      "python3",
      [path.join(this.dir, "vsphere-spark-etcd-member"), command, "--self-peer-url", etcdPeerUrl(self), "--endpoints", endpoints.map(etcdClientUrl).join(","),
        "--cacert", pki("ca.crt"), "--cert", pki("client.crt"), "--key", pki("client.key"), "--timeout", "3"],
      { encoding: "utf8" },
    );
    return { status: r.status ?? -1, stderr: r.stderr, stdout: r.stdout };
  }

  /** As `script`, without blocking the event loop (samplers keep sampling); `onLine` sees each stderr line. */
  scriptAsync(command: string, self: string, endpoints: string[], onLine: (line: string) => void = () => {}): Promise<{ status: number; stderr: string }> {
    const pki = (f: string) => path.join(this.dir, "pki", f);
    const p = spawn(
      "python3",
      [path.join(this.dir, "vsphere-spark-etcd-member"), command, "--self-peer-url", etcdPeerUrl(self), "--endpoints", endpoints.map(etcdClientUrl).join(","),
        "--cacert", pki("ca.crt"), "--cert", pki("client.crt"), "--key", pki("client.key"), "--timeout", "3"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    let partial = "";
    p.stderr!.on("data", (c: Buffer) => {
      stderr += c.toString();
      const lines = (partial + c.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) onLine(l);
    });
    return new Promise((resolve) => p.on("close", (code) => resolve({ status: code ?? -1, stderr })));
  }

  /** One member per peer URL, every listed member started, each one's /health true. */
  async whole(via: string): Promise<{ ok: boolean; why: string }> {
    const ms = await this.members(via);
    const urls = ms.map((m) => (m.peerURLs ?? [])[0]);
    if (new Set(urls).size !== urls.length) return { ok: false, why: `two members for one peer URL: ${urls.join(", ")}` };
    for (const m of ms) {
      const a = /https:\/\/([\d.]+):2380/.exec((m.peerURLs ?? [])[0] ?? "")?.[1];
      if (!m.name) return { ok: false, why: `member ${m.ID} (${urls.join(",")}) never started` };
      if (!a || !(await this.healthy(a))) return { ok: false, why: `member ${m.name} is not healthy` };
    }
    return { ok: true, why: `${ms.length} members, all healthy` };
  }

  down(): void {
    for (const p of this.procs.values()) p.kill("SIGKILL");
    this.procs.clear();
  }
}

/**
 * Samples `/health` of `targets()` every 100 ms until stopped: the moments quorum was lost. A sample
 * where none answers true within 1.5 s is asked again with 8 s to answer (more than etcd's own
 * request timeout, 5 s + 2 election timeouts, within which a linearizable read either succeeds or
 * fails): on two cores under load a slow answer is not a lost quorum, and a lost quorum does not
 * come back by itself in these specs. A leader election's pause is what leaderSampler sees.
 */
export function sampler(lab: EtcdLab, targets: () => string[]) {
  const lost: string[] = [];
  const run = every(100, async () => {
    const t = targets();
    if ((await Promise.all(t.map((a) => lab.healthy(a)))).some(Boolean)) return;
    const at = new Date().toISOString();
    if (!(await Promise.all(t.map((a) => lab.healthy(a, 8000)))).some(Boolean)) lost.push(`${at} none of ${t.join(", ")} healthy (asked twice)`);
  });
  return { lost, ...run, get samples() { return run.samples; } };
}

/**
 * Samples `/v3/maintenance/status` of `targets()` every 50 ms until stopped (a local read: it never
 * waits for a leader, unlike `/health`). Once `removed()` is true (the leaving member's removal has
 * committed), a member that reports as its leader anything but one of `stays()` (member IDs) has no
 * live leader: the moments that happened. This is what etcd's MoveLeader before a removal prevents.
 */
export function leaderSampler(lab: EtcdLab, targets: () => string[], stays: () => ReadonlySet<string>, removed: () => boolean) {
  const leaderless: string[] = [];
  const run = every(50, async () => {
    // Both read when the sample starts: a spec moving on to its next removal (a new `stays`, `removed`
    // false again) while this sample waits must not judge its answers by the next removal's members.
    const after = removed();
    const st = stays();
    const t = targets();
    const leaders = await Promise.all(t.map((a) => lab.call(a, "/v3/maintenance/status", {}, 1500).then((x) => String(x.leader ?? "0"), () => "unreachable")));
    const bad = t.flatMap((a, i) => (st.has(leaders[i]) ? [] : [`${a} reports leader ${leaders[i]}`]));
    if (after && bad.length > 0) leaderless.push(`${new Date().toISOString()} ${bad.join(", ")}`);
  });
  return { leaderless, ...run, get samples() { return run.samples; } };
}

/** Runs `sample` again `pauseMs` after each one ends, until stopped; counts the samples. */
function every(pauseMs: number, sample: () => Promise<void>) {
  let samples = 0;
  let on = true;
  const loop = (async () => {
    while (on) {
      await sample();
      samples++;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    get samples() {
      return samples;
    },
    stop: async () => {
      on = false;
      await loop;
    },
  };
}
