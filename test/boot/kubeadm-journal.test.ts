/**
 * Reading kubeadm init's attempts and phase times from the journal (kubeadm-journal.ts), on lines a
 * real kubeadm v1.34.4 init printed in the boot lab (real-kubeadm.boot.ts, 2026-12-05; abridged),
 * and a failed attempt shaped as kubeadm prints one (negative control: not counted as done).
 */
import * as assert from "node:assert/strict";
import { INIT_PHASES, JOIN_PHASES, initAttempts, journalLines, kubeadmAttempts } from "./kubeadm-journal";

const H = "esxi-01-control-plane cloud-init[539]:";
const line = (t: string, text: string) => `2026-12-05T03:${t}+0000 ${H} ${text}`;

const SUCCEEDED = [
  line("11:48.523785", "2026-12-05T03:11:48+00:00 vsphere-spark: ready: load balancer 192.168.1.2:6443 accepting connections"),
  line("11:48.896961", "2026-12-05T03:11:48+00:00 vsphere-spark: kubeadm init: attempt 1 of 8"),
  line("11:56.848253", "[init] Using Kubernetes version: v1.34.4"),
  line("11:56.852842", "[preflight] Running pre-flight checks"),
  line("12:00.048960", '[certs] Using certificateDir folder "/etc/kubernetes/pki"'),
  line("12:04.272000", '[kubeconfig] Using kubeconfig folder "/etc/kubernetes"'),
  line("12:12.489000", '[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"'),
  line("12:12.609000", '[control-plane] Using manifest folder "/etc/kubernetes/manifests"'),
  line("12:13.157000", '[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"'),
  line("12:19.863000", '[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests"'),
  line("12:19.885000", "[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s"),
  line("12:25.058000", "[control-plane-check] Waiting for healthy control plane components. This can take up to 4m0s"),
  line("13:45.077899", "[control-plane-check] kube-apiserver is healthy after 1m20.01680075s"),
  line("13:45.581020", '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace'),
  line("13:46.281000", '[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace'),
  line("13:48.065000", "[mark-control-plane] Marking the node esxi-01-control-plane as control-plane by adding the labels"),
  line("13:48.670000", "[bootstrap-token] Using token: oz1dde.y77ytfgnm0aw8c2b"),
  line("13:49.783000", '[kubelet-finalize] Updating "/etc/kubernetes/kubelet.conf" to point to a rotatable kubelet client certificate and key'),
  line("13:55.518168", "[addons] Applied essential addon: CoreDNS"),
  line("13:57.022294", "Your Kubernetes control-plane has initialized successfully!"),
  line("13:58.000000", "2026-12-05T03:13:58+00:00 vsphere-spark: ready: API server through 192.168.1.2:6443"),
].join("\n");

describe("boot lab: kubeadm init's phases from the journal (kubeadm-journal.ts)", () => {
  it("a real init: one attempt, every phase in kubeadm's order, succeeded after 128 s (measured 2026-12-05)", () => {
    const [a, ...rest] = initAttempts(journalLines(SUCCEEDED));
    assert.equal(rest.length, 0);
    assert.equal(a.succeeded, true);
    assert.equal(a.end, 128.126); // (journal times to the millisecond)
    assert.deepEqual(Object.keys(a.phases), INIT_PHASES, "each phase once, in order");
    assert.equal(a.phases.preflight, 7.956);
    assert.equal(a.phases["upload-config"], 116.685);
    assert.equal(a.failedPhase, undefined);
  });

  it("negative control: an attempt kubeadm failed in wait-control-plane is not done; the retry is a second attempt", () => {
    const text = [
      line("11:48.000000", "2026-12-05T03:11:48+00:00 vsphere-spark: kubeadm init: attempt 1 of 8"),
      line("11:50.000000", "[preflight] Running pre-flight checks"),
      line("12:20.000000", "[control-plane-check] Waiting for healthy control plane components. This can take up to 4m0s"),
      line("16:20.000000", "error execution phase wait-control-plane: failed while waiting for the control plane to start"),
      line("16:21.000000", "2026-12-05T03:16:21+00:00 vsphere-spark: attempt 1/3 failed: kubeadm_init"),
      line("16:36.000000", "2026-12-05T03:16:36+00:00 vsphere-spark: kubeadm init: attempt 2 of 8"),
      line("16:40.000000", "[preflight] Running pre-flight checks"),
    ].join("\n");
    const [a, b] = initAttempts(journalLines(text));
    assert.equal(a.succeeded, false);
    assert.equal(a.failedPhase, "wait-control-plane");
    assert.equal(a.end, 273);
    assert.equal(a.phases.addons, undefined);
    assert.equal(b.succeeded, false);
    assert.equal(b.end, undefined, "still running when the report was taken");
    assert.deepEqual(Object.keys(b.phases), ["preflight"]);
  });

  it("lines before the first attempt, and lines journalctl did not format, count for nothing", () => {
    assert.deepEqual(initAttempts(journalLines(`-- Boot 1 --\n${line("11:00.000000", "[preflight] early")}`)), []);
  });
});

/**
 * A real control-plane `kubeadm join` v1.34.4 (cp-join-real.boot.ts, 2026-12-05, the first-up join:
 * certificate key; abridged), and the negative control's joins without it, failing at preflight.
 */
const J = "esxi-02-control-plane cloud-init[524]:";
const jl = (t: string, text: string) => `2026-12-05T19:${t}+0000 ${J} ${text}`;
const JOINED = [
  jl("52:43.350748", "2026-12-05T19:52:43+00:00 vsphere-spark: kubeadm join (control plane; the shared CA files come from kube-system/kubeadm-certs)"),
  jl("52:43.453427", "2026-12-05T19:52:43+00:00 vsphere-spark: kubeadm join: attempt 1 of 8"),
  jl("52:44.598146", "[preflight] Running pre-flight checks"),
  jl("52:49.679738", '[download-certs] Downloading the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace'),
  jl("52:49.841335", '[certs] Using certificateDir folder "/etc/kubernetes/pki"'),
  jl("52:55.747065", "[kubeconfig] Generating kubeconfig files"),
  jl("52:57.451073", '[control-plane] Using manifest folder "/etc/kubernetes/manifests"'),
  jl("52:57.518114", "[check-etcd] Checking that the etcd cluster is healthy"),
  jl("52:58.402853", '[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/instance-config.yaml"'),
  jl("52:58.537543", '[patches] Applied patch of type "application/strategic-merge-patch+json" to target "kubeletconfiguration"'),
  jl("53:02.682362", "[etcd] Announced new etcd member joining to the existing etcd cluster"),
  jl("53:50.640254", "[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s"),
  jl("53:50.900000", "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap"),
  jl("57:58.028425", "[mark-control-plane] Marking the node esxi-02-control-plane as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]"),
  jl("58:10.835407", "[control-plane-check] Waiting for healthy control plane components. This can take up to 4m0s"),
  jl("58:11.400672", "This node has joined the cluster and a new control plane instance was created:"),
].join("\n");

describe("boot lab: kubeadm join's phases from the journal (kubeadm-journal.ts)", () => {
  it("a real control-plane join: one attempt, its phases in order, joined after 328 s (measured 2026-12-05); not read as an init", () => {
    const [a, ...rest] = kubeadmAttempts(journalLines(JOINED), "join");
    assert.equal(rest.length, 0);
    assert.equal(a.succeeded, true);
    assert.equal(a.end, 327.947);
    assert.deepEqual(Object.keys(a.phases), JOIN_PHASES, "each prefix once, in order");
    assert.equal(a.phases["mark-control-plane"], 314.575);
    assert.equal(a.failedPhase, undefined);
    assert.deepEqual(initAttempts(journalLines(JOINED)), []);
  });

  it("negative control: joins failing at preflight (no certificate key, no shared CA files) are not joined; each retry is an attempt", () => {
    const text = [
      jl("48:14.887239", "2026-12-05T19:48:14+00:00 vsphere-spark: kubeadm join: attempt 1 of 8"),
      jl("48:16.156536", "[preflight] Running pre-flight checks"),
      jl("49:00.417417", "error: error execution phase preflight:"),
      jl("49:00.417500", "[failure loading certificate for CA: couldn't load the certificate file /etc/kubernetes/pki/ca.crt: open /etc/kubernetes/pki/ca.crt: no such file or directory]"),
      jl("49:00.564532", "2026-12-05T19:49:00+00:00 vsphere-spark: attempt 1/3 failed: kubeadm_join"),
      jl("49:15.689840", "2026-12-05T19:49:15+00:00 vsphere-spark: kubeadm join: attempt 2 of 8"),
      jl("49:17.624067", "error: error execution phase preflight:"),
      jl("49:17.770249", "2026-12-05T19:49:17+00:00 vsphere-spark: attempt 2/3 failed: kubeadm_join"),
    ].join("\n");
    const attempts = kubeadmAttempts(journalLines(text), "join");
    assert.equal(attempts.length, 2);
    for (const a of attempts) {
      assert.equal(a.succeeded, false);
      assert.equal(a.failedPhase, "preflight");
    }
    assert.equal(attempts[0].end, 45.677);
  });
});
