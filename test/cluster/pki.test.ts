import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { BOOTSTRAP_TOKEN, adminGroup, caCertHash, isBootstrapToken } from "../../components/cluster/pki";
import { REF } from "./helpers";

describe("cluster PKI helpers", () => {
  it("computes kubeadm's CA pin for every vector in the reference fixtures", () => {
    const dir = path.join(REF, "kubeadm/fixtures");
    const lines = fs.readFileSync(path.join(dir, "expected-ca-cert-hashes.txt"), "utf8").split("\n").filter((l) => l.trim());
    assert.ok(lines.length >= 3);
    for (const line of lines) {
      const [file, expected] = line.trim().split(/\s+/);
      assert.equal(caCertHash(fs.readFileSync(path.join(dir, file), "utf8")), expected, file);
    }
  });

  it("rejects something that is not a certificate", () => {
    assert.throws(() => caCertHash("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  });

  it("checks the bootstrap token format", () => {
    for (const ok of ["abcdef.0123456789abcdef", "000000.zzzzzzzzzzzzzzzz"]) assert.ok(isBootstrapToken(ok), ok);
    for (const bad of ["ABCDEF.0123456789abcdef", "abcde.0123456789abcdef", "abcdef.0123456789abcde", "abcdef0123456789abcdef", "abcdef.0123456789abcdef\n", "abcdef.0123456789abcd-f"])
      assert.equal(isBootstrapToken(bad), false, JSON.stringify(bad));
    assert.equal(BOOTSTRAP_TOKEN.source, "^[a-z0-9]{6}\\.[a-z0-9]{16}$");
  });
});

describe("admin certificate group", () => {
  it("kubeadm:cluster-admins from 1.29 (revocable through RBAC), system:masters before", () => {
    assert.equal(adminGroup("1.28.15"), "system:masters");
    assert.equal(adminGroup("1.29.0"), "kubeadm:cluster-admins");
    assert.equal(adminGroup("1.31.4"), "kubeadm:cluster-admins");
  });
});
