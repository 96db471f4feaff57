/**
 * The platform's Role evaluated with Kubernetes RBAC semantics against the table of Spark 4.0's API
 * calls (components/spark/rbac.ts): every call the driver and the submission client make is
 * allowed, and nothing beyond the table is, unless the user asks (clusterRoleBindingEdit).
 */
import * as assert from "node:assert/strict";
import { SPARK_API_CALLS, SparkApiCall, manifestList, planSpark, sparkManifests, sparkRoleRules } from "../../components/spark";
import { referenceWorkers, stackSettings } from "./helpers";

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface Request {
  apiGroup: string;
  resource: string;
  subresource?: string;
  verb: string;
  name?: string;
}

/**
 * RuleAllows as kubernetes/kubernetes implements it (pkg/apis/rbac/v1/evaluation_helpers.go:
 * VerbMatches, APIGroupMatches, ResourceMatches, ResourceNameMatches): "*" matches any verb, group
 * or resource; a subresource request matches "resource/sub", "*\/sub" or "resource/*" only; an
 * empty resourceNames list matches every name.
 */
function ruleAllows(rule: Rule, req: Request): boolean {
  const has = (xs: string[] | undefined, x: string) => (xs ?? []).includes("*") || (xs ?? []).includes(x);
  if (!has(rule.verbs, req.verb)) return false;
  if (!has(rule.apiGroups, req.apiGroup)) return false;
  const resources = rule.resources ?? [];
  const combined = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  const resourceOk =
    resources.includes("*") ||
    resources.includes(combined) ||
    (req.subresource !== undefined && (resources.includes(`*/${req.subresource}`) || resources.includes(`${req.resource}/*`)));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (req.name !== undefined && names.includes(req.name));
}
const allows = (rules: Rule[], req: Request) => rules.some((r) => ruleAllows(r, req));

/** The verbs the API server authorizes for a resource (kubectl api-resources -o wide for core/v1). */
const VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate", "use", "approve", "sign"];
const CORE_RESOURCES = [
  "pods", "pods/log", "pods/exec", "pods/attach", "pods/portforward", "pods/eviction", "pods/status", "services", "services/proxy", "configmaps", "secrets",
  "persistentvolumeclaims", "serviceaccounts", "serviceaccounts/token", "endpoints", "events", "resourcequotas", "limitranges", "replicationcontrollers",
];
const OTHER: [string, string][] = [
  ["apps", "deployments"], ["batch", "jobs"], ["rbac.authorization.k8s.io", "roles"], ["rbac.authorization.k8s.io", "rolebindings"],
  ["scheduling.volcano.sh", "podgroups"], ["sparkoperator.k8s.io", "sparkapplications"], ["policy", "poddisruptionbudgets"],
];

function request(group: string, resourcePath: string, verb: string): Request {
  const [resource, subresource] = resourcePath.split("/");
  return subresource ? { apiGroup: group, resource, subresource, verb } : { apiGroup: group, resource, verb };
}

function roleOf(raw: Record<string, unknown> = {}): Rule[] {
  const docs = manifestList(sparkManifests(planSpark(stackSettings(raw), referenceWorkers(16)))) as { kind: string; rules?: Rule[] }[];
  return docs.find((d) => d.kind === "Role")!.rules!;
}

/** What the role allows, as "group/resource verb", over the resources above. */
function allowed(rules: Rule[]): string[] {
  const out: string[] = [];
  const all: [string, string][] = [...CORE_RESOURCES.map((r): [string, string] => ["", r]), ...OTHER];
  for (const [g, r] of all) for (const v of VERBS) if (allows(rules, request(g, r, v))) out.push(`${g}/${r} ${v}`);
  return out.sort();
}

const expected = (calls: readonly SparkApiCall[]) => [...new Set(calls.filter((c) => !c.optIn).map((c) => `${c.apiGroup}/${c.resource} ${c.verb}`))].sort();

describe("spark RBAC: the Role against Spark 4.0's API calls", () => {
  it("the evaluator follows Kubernetes semantics (wildcards, subresources, resource names)", () => {
    assert.ok(ruleAllows({ apiGroups: [""], resources: ["pods"], verbs: ["get"] }, request("", "pods", "get")));
    assert.ok(!ruleAllows({ apiGroups: [""], resources: ["pods"], verbs: ["get"] }, request("", "pods/log", "get")), "pods does not cover pods/log");
    assert.ok(ruleAllows({ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }, request("apps", "deployments", "delete")));
    assert.ok(ruleAllows({ apiGroups: [""], resources: ["pods/*"], verbs: ["get"] }, request("", "pods/log", "get")));
    assert.ok(!ruleAllows({ apiGroups: [""], resources: ["pods"], verbs: ["get"], resourceNames: ["a"] }, request("", "pods", "get")), "named rules need a name");
    assert.ok(!ruleAllows({ apiGroups: ["apps"], resources: ["pods"], verbs: ["get"] }, request("", "pods", "get")), "group must match");
  });

  for (const mode of ["cluster", "client"] as const) {
    for (const caller of ["driver", "submission-client", "submit-script"] as const) {
      const calls = SPARK_API_CALLS.filter((c) => c.caller === caller && c.modes.includes(mode) && !c.optIn);
      if (calls.length === 0) continue;
      it(`${mode} mode, ${caller}: every call is allowed (${calls.length} calls)`, () => {
        const rules = roleOf();
        for (const c of calls) assert.ok(allows(rules, request(c.apiGroup, c.resource, c.verb)), `${c.resource} ${c.verb} (${c.source})`);
      });
    }
  }

  it("Spark 4's submission client applies the driver's Service and ConfigMaps server-side: patch (it was missing), and create, since the apply creates them", () => {
    const rules = roleOf();
    for (const r of ["services", "configmaps"]) for (const v of ["patch", "create"]) assert.ok(allows(rules, request("", r, v)), `${r} ${v}`);
  });

  it("nothing beyond the table: no secrets, no subresources (exec, log, portforward), no other groups, no update", () => {
    assert.deepEqual(allowed(roleOf()), expected(SPARK_API_CALLS));
    for (const forbidden of ["/secrets get", "/pods/exec create", "/pods/log get", "/serviceaccounts/token create", "/pods update", "rbac.authorization.k8s.io/roles create"]) {
      assert.ok(!allowed(roleOf()).includes(forbidden), forbidden);
    }
  });

  it("opt-in calls (Kerberos secrets, Volcano pod groups) are not granted unless asked", () => {
    const optIn = SPARK_API_CALLS.filter((c) => c.optIn);
    assert.deepEqual(optIn.map((c) => `${c.resource} ${c.verb}`).sort(), ["podgroups patch", "secrets patch"]);
    for (const c of optIn) assert.ok(!allows(roleOf(), request(c.apiGroup, c.resource, c.verb)));
  });

  it("negative controls: the check catches a missing verb and an extra one", () => {
    const withoutPatch = sparkRoleRules(SPARK_API_CALLS.filter((c) => !(c.resource === "services" && c.verb === "patch"))) as Rule[];
    assert.ok(!allows(withoutPatch, request("", "services", "patch")), "the old Role's defect: no patch on services");
    assert.notDeepEqual(allowed(withoutPatch), expected(SPARK_API_CALLS));
    const extra: Rule[] = [...(sparkRoleRules() as Rule[]), { apiGroups: [""], resources: ["secrets"], verbs: ["get"] }];
    assert.notDeepEqual(allowed(extra), expected(SPARK_API_CALLS));
  });

  it("every row cites a Spark file (the scripts' own calls: the file that renders them) and says when the call happens", () => {
    for (const c of SPARK_API_CALLS) {
      const cites = c.caller === "submit-script" ? /components\/spark\/submit\.ts/ : /(deploy\/k8s|scheduler\/cluster\/k8s)\/[A-Za-z/]+\.scala/;
      assert.match(c.source, cites, `${c.resource} ${c.verb}`);
      assert.ok(c.when.length > 0);
    }
  });
});
