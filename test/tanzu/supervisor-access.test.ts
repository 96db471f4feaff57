/**
 * `supervisor.access: kubeconfig` with a kubeconfig from `kubectl vsphere login`: its SSO session
 * token (a JWT) lasts about ten hours, so a stored one is refused once expired and warned about
 * before; `sso` (the default) logs in on every run.
 */
import * as assert from "node:assert/strict";
import { storedKubeconfigMessage, storedKubeconfigTokenState, tokenKubeconfig } from "../../components/tanzu";

const jwt = (claims: Record<string, unknown>) =>
  [{ alg: "RS256", typ: "JWT" }, claims].map((x) => Buffer.from(JSON.stringify(x)).toString("base64url")).join(".") + ".c2lnbmF0dXJl";
const NOW = Date.parse("2026-12-04T12:00:00Z");
const at = (iso: string) => Date.parse(iso) / 1000;
const kc = (token: string) => tokenKubeconfig({ name: "sv", server: "https://192.168.10.2:6443", token, namespace: "spark" });

describe("Tanzu: a stored Supervisor kubeconfig's token lifetime", () => {
  // [token, expired?, expiresAt]
  const table: [string, string, { expired: boolean; expiresAt?: string } | undefined][] = [
    ["issued 11 h ago, 10 h lifetime", jwt({ sub: "devops@vsphere.local", iat: at("2026-12-04T01:00:00Z"), exp: at("2026-12-04T11:00:00Z") }), { expired: true, expiresAt: "2026-12-04T11:00:00.000Z" }],
    ["issued 1 h ago", jwt({ sub: "devops@vsphere.local", exp: at("2026-12-04T21:00:00Z") }), { expired: false, expiresAt: "2026-12-04T21:00:00.000Z" }],
    ["a JWT without exp (a service account token of old)", jwt({ sub: "system:serviceaccount:x:y" }), undefined],
    ["not a JWT", "opaque-token-123", undefined],
  ];
  for (const [what, token, want] of table)
    it(what, () => {
      const s = storedKubeconfigTokenState(kc(token), NOW);
      assert.deepEqual(s && { expired: s.expired, expiresAt: s.expiresAt?.toISOString() }, want);
    });

  it("the messages say when, why, and what to do", () => {
    const key = "vsphere-spark:tanzuSupervisorKubeconfig";
    assert.equal(
      storedKubeconfigMessage({ expired: true, expiresAt: new Date("2026-12-04T11:00:00Z") }, key),
      "the Supervisor kubeconfig in vsphere-spark:tanzuSupervisorKubeconfig carries a session token that expired at 2026-12-04T11:00:00.000Z (tokens from `kubectl vsphere login` last about 10 hours). " +
        "Use supervisor.access: sso (the stack logs in on every run), or log in again and `pulumi config set --secret vsphere-spark:tanzuSupervisorKubeconfig < supervisor.kubeconfig`",
    );
    assert.match(storedKubeconfigMessage({ expired: false, expiresAt: new Date("2026-12-04T21:00:00Z") }, key), /expires at 2026-12-04T21:00:00.000Z; after that every preview and up fails with 401/);
  });
});
