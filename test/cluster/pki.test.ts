import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { BOOTSTRAP_TOKEN, adminGroup, bootstrapTokenSecret, caCertHash, durationSeconds, isBootstrapToken } from "../../components/cluster/pki";
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

describe("bootstrap token Secret (workers' join token)", () => {
  const now = new Date("2026-11-25T12:00:00.500Z");
  it("is the Secret kubeadm makes: kube-system, bootstrap.kubernetes.io/token, usages, node group, RFC 3339 expiration", () => {
    const s = bootstrapTokenSecret("abcdef.0123456789abcdef", "24h", now, "join");
    assert.deepEqual(s, {
      apiVersion: "v1",
      kind: "Secret",
      type: "bootstrap.kubernetes.io/token",
      metadata: { name: "bootstrap-token-abcdef", namespace: "kube-system" },
      stringData: {
        description: "join",
        "token-id": "abcdef",
        "token-secret": "0123456789abcdef",
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
        "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
        expiration: "2026-11-26T12:00:00Z",
      },
    });
    assert.equal(bootstrapTokenSecret("abcdef.0123456789abcdef", "1h30m", now, "j").stringData.expiration, "2026-11-25T13:30:00Z");
    assert.equal("expiration" in bootstrapTokenSecret("abcdef.0123456789abcdef", "0s", now, "j").stringData, false, "0s never expires");
    assert.throws(() => bootstrapTokenSecret("not-a-token", "24h", now, "j"), /not a bootstrap token/);
  });
  it("durationSeconds reads the forms the settings accept", () => {
    assert.deepEqual(["24h", "1h30m", "90s", "0s", "0", "1.5h", "500ms"].map(durationSeconds), [86400, 5400, 90, 0, 0, 5400, 0.5]);
  });
});
