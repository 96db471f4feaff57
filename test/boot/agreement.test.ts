/**
 * The lab boots what `plan --out` shows: the user-data the program really sets on each VM (what the
 * boot lab delivers through guestinfo) and the review copy the plan writes are the same document,
 * but for the secrets the review copy replaces by placeholders. No QEMU: runs in `npm test`.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { plan } from "../../src/plan/plan";
import { programVms } from "./lab";
import { SHARED_PKI_FILES } from "../../components/cluster/pki";

const ROOT = path.resolve(__dirname, "../../..");
/** What the review artifacts put where a secret, or a value known only after `pulumi up`, goes. */
const PLACEHOLDER = /<redacted: secret>|created by pulumi up>|sha256:<hash of the cluster CA/;

type Doc = Record<string, unknown>;

/** Compares a real document with its review copy; placeholders in the copy match any real value. */
function agree(real: unknown, review: unknown, where: string, problems: string[]): void {
  if (typeof review === "string" && PLACEHOLDER.test(review)) {
    if (typeof real !== "string" || real.length === 0) problems.push(`${where}: the review shows a placeholder, the VM gets ${JSON.stringify(real)}`);
    return;
  }
  if (Array.isArray(review)) {
    // A whole file that is a secret (a CA key, a certificate): one placeholder line for many real ones.
    const onlyPlaceholder = review.filter((x) => x !== "").length === 1 && review.some((x) => typeof x === "string" && PLACEHOLDER.test(x));
    if (onlyPlaceholder && Array.isArray(real) && real.some((x) => typeof x === "string" && x.length > 0)) return;
    if (!Array.isArray(real) || real.length !== review.length) return void problems.push(`${where}: lists differ in length`);
    review.forEach((x, i) => agree(real[i], x, `${where}[${i}]`, problems));
    return;
  }
  if (review && typeof review === "object") {
    if (!real || typeof real !== "object") return void problems.push(`${where}: the VM gets no object`);
    const keys = new Set([...Object.keys(review as Doc), ...Object.keys(real as Doc)]);
    for (const k of keys) agree((real as Doc)[k], (review as Doc)[k], `${where}.${k}`, problems);
    return;
  }
  if (real !== review) problems.push(`${where}: review ${JSON.stringify(review)} but the VM gets ${JSON.stringify(real)}`);
}

describe("boot lab: the lab boots what plan --out shows", () => {
  it("every VM's user-data equals its review artifact but for the placeholders", async function () {
    this.timeout(300_000);
    const vms = await programVms([]);
    const r = await plan({ stack: "dev", cwd: ROOT });
    assert.ok(r.ok);
    if (!r.ok) return;
    const byPath = new Map(r.artifacts.map((a) => [a.path, a.content]));
    assert.equal(Object.keys(vms).length, 20);
    for (const vm of Object.values(vms)) {
      const review = byPath.get(`cloud-init/${vm.name}.yaml`);
      assert.ok(review, `no review artifact for ${vm.name}`);
      const problems: string[] = [];
      // File contents are compared line by line, so a placeholder stands for its own line only.
      const lines = (d: unknown): unknown => {
        const doc = d as Doc;
        const files = (doc.write_files as { content?: string }[] | undefined)?.map((f) => ({ ...f, content: f.content?.split("\n") }));
        return { ...doc, ...(files ? { write_files: files } : {}) };
      };
      agree(lines(parse(vm.userData)), lines(parse(review!)), vm.name, problems);
      assert.deepEqual(problems, [], `${vm.name}:\n${problems.join("\n")}`);
    }
  });

  it("would see a difference (negative control)", () => {
    const problems: string[] = [];
    agree({ runcmd: [["bash", "/x"]], packages: ["haproxy"] }, { runcmd: [["bash", "/y"]], packages: ["haproxy"] }, "vm", problems);
    assert.deepEqual(problems, ['vm.runcmd[0][1]: review "/y" but the VM gets "/x"']);
  });
});

/** The files the kubeadm stand-in's control-plane join preflight requires (guest/k8s-standin). */
export function standinSharedFiles(standin: string): string[] {
  const block = standin.slice(standin.indexOf('"kubeadm join preflight")'));
  const m = /for f in ([^;]+); do \[ -f "\$k\/pki\/\$f" \]/.exec(block);
  if (!m) throw new Error("no shared-file check in the stand-in's join preflight");
  return m[1].trim().split(/\s+/).map((f) => `/etc/kubernetes/pki/${f}`);
}

describe("boot lab: the kubeadm stand-in's join preflight checks the program's shared files", () => {
  const text = fs.readFileSync(path.join(ROOT, "test/boot/guest/k8s-standin"), "utf8");
  it("the eight SHARED_PKI_FILES, no more, no fewer", () => {
    assert.deepEqual(standinSharedFiles(text).sort(), SHARED_PKI_FILES.map((f) => f.path).sort());
  });
  it("would see one left out (negative control)", () => {
    const without = text.replace(" sa.pub; do [ -f", "; do [ -f");
    assert.notEqual(without, text);
    assert.notDeepEqual(standinSharedFiles(without).sort(), SHARED_PKI_FILES.map((f) => f.path).sort());
  });
});
