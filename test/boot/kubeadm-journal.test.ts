/**
 * Reading kubeadm init's attempts and phase times from the journal (kubeadm-journal.ts), on lines a
 * real kubeadm v1.34.4 init printed in the boot lab (real-kubeadm.boot.ts, 2026-12-05; abridged),
 * and a failed attempt shaped as kubeadm prints one (negative control: not counted as done).
 */
import * as assert from "node:assert/strict";
import { INIT_PHASES, initAttempts, journalLines } from "./kubeadm-journal";

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
