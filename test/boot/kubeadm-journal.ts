/**
 * Reading a real `kubeadm init` from the guest's journal (real-kubeadm.boot.ts): the lines the
 * bootstrap and kubeadm printed (`journalctl -o short-iso-precise` of cloud-final and the bootstrap's
 * unit), split into kubeadm init attempts (the bootstrap logs "kubeadm init: attempt N of 8" before
 * each), with the time each of kubeadm's phases first printed its `[phase]` prefix.
 */

/**
 * kubeadm init's phases as kubeadm v1.34 prints them (their `[name]` prefix), in its order
 * (k8s.io/kubernetes v1.34.4 cmd/kubeadm/app/cmd/init.go, NewCmdInit's phases, and the prefixes
 * cmd/kubeadm/app/cmd/phases/init/*.go print; `kubelet-check` and `control-plane-check` are the
 * wait-control-plane phase's two waits).
 */
export const INIT_PHASES = [
  "preflight",
  "certs",
  "kubeconfig",
  "etcd",
  "control-plane",
  "kubelet-start",
  "wait-control-plane",
  "kubelet-check",
  "control-plane-check",
  "upload-config",
  "upload-certs",
  "mark-control-plane",
  "bootstrap-token",
  "kubelet-finalize",
  "addons",
];

export interface JournalLine {
  at: number;
  text: string;
}

/** `journalctl -o short-iso-precise` lines: time (ms since epoch) and message. */
export function journalLines(text: string): JournalLine[] {
  return (text ?? "").split("\n").flatMap((l) => {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:?\d\d) \S+ [^:]+: (.*)$/.exec(l);
    return m ? [{ at: Date.parse(m[1]), text: m[2] }] : [];
  });
}

export interface InitAttempt {
  /** When the bootstrap logged the attempt (ms since epoch). */
  start: number;
  /** Phase → seconds after `start` when kubeadm first printed `[phase]`. */
  phases: Record<string, number>;
  /** kubeadm printed its success message (after its last phase, addons). */
  succeeded: boolean;
  /** Seconds after `start` when it succeeded, or when the bootstrap logged it failed. */
  end?: number;
  /** The phase kubeadm named when it failed ("error execution phase X"). */
  failedPhase?: string;
  lastLines: string[];
}

/**
 * The prefixes a control-plane `kubeadm join` v1.34.4 printed in the boot lab (cp-join-real.boot.ts,
 * 2026-12-05, the first-up join), in its order: preflight; control-plane-prepare (download-certs with a
 * certificate key, certs, kubeconfig, control-plane); check-etcd; kubelet-start (with `[patches]`);
 * control-plane-join's etcd; the kubelet's wait (`[kubelet-check]`, then the TLS bootstrap under
 * `[kubelet-start]`); mark-control-plane; wait-control-plane (`[control-plane-check]`). Reading a
 * join keeps any other `[prefix]` too.
 */
export const JOIN_PHASES = [
  "preflight",
  "download-certs",
  "certs",
  "kubeconfig",
  "control-plane",
  "check-etcd",
  "kubelet-start",
  "patches",
  "etcd",
  "kubelet-check",
  "mark-control-plane",
  "control-plane-check",
];

/** Per kubeadm init attempt: when each phase first printed, in seconds after the attempt began. */
export function initAttempts(lines: JournalLine[]): InitAttempt[] {
  return kubeadmAttempts(lines, "init");
}

/**
 * Per kubeadm `op` attempt (the bootstrap logs "kubeadm <op>: attempt N of 8"): when each phase's
 * prefix first printed, whether kubeadm printed its success (init: "Your Kubernetes control-plane has
 * initialized successfully"; a control-plane join: "This node has joined the cluster and a new control
 * plane instance was created"), and the phase it named when it failed.
 */
export function kubeadmAttempts(lines: JournalLine[], op: "init" | "join"): InitAttempt[] {
  const known = op === "init" ? INIT_PHASES : undefined;
  const success = op === "init" ? /Your Kubernetes control-plane has initialized successfully/ : /This node has joined the cluster and a new control plane instance was created/;
  const out: InitAttempt[] = [];
  for (const l of lines) {
    if (new RegExp(`vsphere-spark: kubeadm ${op}: attempt \\d+ of`).test(l.text)) {
      out.push({ start: l.at, phases: {}, succeeded: false, lastLines: [] });
      continue;
    }
    const cur = out[out.length - 1];
    if (!cur) continue;
    cur.lastLines = [...cur.lastLines, l.text].slice(-15);
    const m = /^\[([a-z-]+)\]/.exec(l.text);
    if (m && (known ? known.includes(m[1]) : true) && cur.phases[m[1]] === undefined) cur.phases[m[1]] = (l.at - cur.start) / 1000;
    const f = /error execution phase ([a-z/-]+)/.exec(l.text);
    if (f && cur.failedPhase === undefined) cur.failedPhase = f[1];
    if (success.test(l.text)) {
      cur.succeeded = true;
      cur.end = (l.at - cur.start) / 1000;
    }
    if (cur.end === undefined && new RegExp(`vsphere-spark: attempt \\d+/\\d+ failed: kubeadm_${op}`).test(l.text)) cur.end = (l.at - cur.start) / 1000;
  }
  return out;
}
