/**
 * The release check against the Supervisor's own objects (components/tanzu/release-check.ts): the
 * facts taken from tanzu-framework's TKr resolver (version labels and prefixes, the unwanted labels,
 * the resolve annotation as a label query), the decision as tables with a negative control for each
 * rule, the component refusing before anything is registered, and the KB 311962 warnings.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { isSecretMarker, runUnderMocks } from "../../src/plan/mock-runtime";
import {
  CONTENT_LIBRARY_8U2_WARNING,
  TanzuCluster,
  checkSupervisorRelease,
  contentLibraryWarnings,
  parseLabelSelector,
  planTanzu,
  releaseObjectPaths,
  resolverLabels,
  selectorMatches,
  versionLabel,
  versionPrefixes,
  osImageLabels,
  type ClusterClassObject,
  type OsImageObject,
  type SupervisorReleaseObjects,
  type TanzuClusterArgs,
} from "../../components/tanzu";
import { ValidationError } from "../../components/validation";
import { clusterClassObject, reference, referenceRaw, standInSupervisor, tkrObject } from "./helpers";

const REL = "v1.31.4---vmware.1-fips-vkr.3";
const CC = "builtin-generic-v3.4.0";
const KEY_RELEASE = "vsphere-spark:tanzu.cluster.release";
const KEY_CLASS = "vsphere-spark:tanzu.cluster.clusterClass";

describe("Tanzu release check: the TKr resolver's facts (tanzu-framework f09fc609 apis/run/util/version/version.go)", () => {
  it("Label: `+` is written `---` (the TKr name of a version)", () => {
    for (const [v, label] of [
      ["v1.31.4+vmware.1-fips-vkr.3", "v1.31.4---vmware.1-fips-vkr.3"],
      ["1.26.5+vmware.2-fips.1-tkg.1", "v1.26.5---vmware.2-fips.1-tkg.1"],
      ["v1.31.4---vmware.1-fips-vkr.3", "v1.31.4---vmware.1-fips-vkr.3"],
    ])
      assert.equal(versionLabel(v), label);
  });
  it("Prefixes: the doc comment's example, and a VKS release", () => {
    assert.deepEqual(new Set(versionPrefixes("v1.17.9---vmware.2")), new Set(["v1.17.9---vmware.2", "v1.17.9---vmware", "v1.17.9", "v1.17", "v1"]));
    assert.ok(versionPrefixes(versionLabel("v1.31.4+vmware.1-fips-vkr.3")).includes("v1.31.4---vmware.1-fips-vkr.3"));
    assert.ok(versionPrefixes(versionLabel("v1.31.4+vmware.1-fips-vkr.3")).includes("v1.31"));
    // Negative control: a prefix is cut at a delimiter, never inside a number.
    assert.ok(!versionPrefixes("v1.31.4---vmware.1").includes("v1.3"));
  });
  it("resolver labels: the TKr's own, its version prefixes, and `incompatible` when Compatible is False (augmentTKR)", () => {
    const l = resolverLabels(tkrObject(REL, { labels: { "os-name": "ubuntu" } }));
    assert.equal(l["os-name"], "ubuntu");
    assert.ok("v1.31" in l && REL in l && !("incompatible" in l));
    assert.ok("incompatible" in resolverLabels(tkrObject(REL, { compatible: "False" })));
  });
});

describe("Tanzu release check: the resolve-tkr annotation as a Kubernetes label query (apimachinery labels.Parse)", () => {
  const labels = { "os-name": "ubuntu", "run.tanzu.vmware.com/legacy-tkr": "", v1: "", "v1.31": "" };
  // [selector, matches those labels]
  const table: [string, boolean][] = [
    ["", true],
    ["!run.tanzu.vmware.com/legacy-tkr", false],
    ["run.tanzu.vmware.com/legacy-tkr", true],
    ["os-name=ubuntu", true],
    ["os-name==photon", false],
    ["os-name!=photon", true],
    ["missing!=x", true],
    ["os-name in (photon, ubuntu)", true],
    ["os-name notin (ubuntu)", false],
    ["missing notin (a,b)", true],
    ["v1.31,os-name=ubuntu", true],
    ["v1.32,os-name=ubuntu", false],
  ];
  for (const [sel, want] of table)
    it(`"${sel}" → ${want ? "matches" : "does not match"}`, () => {
      const p = parseLabelSelector(sel);
      assert.ok(!("error" in p), JSON.stringify(p));
      assert.equal(selectorMatches((p as { requirements: any }).requirements, labels), want);
    });
  it("a selector that is not one: an error, not a match", () => {
    for (const bad of ["os-name in (a", "a=b=c", "=x", "os-name in (a b)"]) assert.ok("error" in parseLabelSelector(bad), bad);
  });
});

describe("Tanzu release check: the decision on the Supervisor's objects", () => {
  const s = reference(); // api: cluster, builtin-generic-v3.4.0 in vmware-system-vks-public, REL
  const ok = { tkr: { state: "found", object: tkrObject(REL) }, clusterClass: { state: "found", object: clusterClassObject(CC, "vmware-system-vks-public", "") } } as const;
  const check = (o: SupervisorReleaseObjects, settings = s) => checkSupervisorRelease(settings, o);

  it("the paths read: the TKr (cluster-scoped, v1alpha3) and the ClusterClass in its class namespace", () => {
    assert.deepEqual(releaseObjectPaths(s), {
      tkr: `/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesreleases/${REL}`,
      clusterClass: `/apis/cluster.x-k8s.io/v1beta1/namespaces/vmware-system-vks-public/clusterclasses/${CC}`,
    });
    assert.deepEqual(releaseObjectPaths(reference((raw) => (raw.cluster.clusterClass = "builtin-generic-v3.3.0"))).clusterClass, "/apis/cluster.x-k8s.io/v1beta1/namespaces/spark/clusterclasses/builtin-generic-v3.3.0");
  });

  it("a Ready and Compatible TKr the class selects: no problem (the positive case)", () => {
    assert.deepEqual(check(ok), { errors: [], warnings: [] });
  });

  // [what is wrong, objects, key, message]
  const table: [string, SupervisorReleaseObjects, string, RegExp][] = [
    ["the TKr is missing", { ...ok, tkr: { state: "missing" } }, KEY_RELEASE, /the Supervisor has no TanzuKubernetesRelease "v1\.31\.4---vmware\.1-fips-vkr\.3": `kubectl get tkr`/],
    ["Compatible False", { ...ok, tkr: { state: "found", object: tkrObject(REL, { compatible: "False" }) } }, KEY_RELEASE, /is not Compatible on this Supervisor \(Compatible False\)/],
    [
      "Ready False, with the Supervisor's reason",
      { ...ok, tkr: { state: "found", object: tkrObject(REL, { ready: "False", reason: "Deactivated", message: "deactivated" }) } },
      KEY_RELEASE,
      /is not Ready on this Supervisor \(Ready False, Deactivated: deactivated\)/,
    ],
    ["no conditions yet", { ...ok, tkr: { state: "found", object: { ...tkrObject(REL), status: {} } } }, KEY_RELEASE, /has no Ready condition yet/],
    ["labelled deactivated", { ...ok, tkr: { state: "found", object: tkrObject(REL, { labels: { deactivated: "" } }) } }, KEY_RELEASE, /is labelled deactivated: the TKr resolver never selects such a release/],
    ["a TKr of another version under that name", { ...ok, tkr: { state: "found", object: tkrObject(REL, { version: "v1.30.8+vmware.1-fips-vkr.1" }) } }, KEY_RELEASE, /is version v1\.30\.8\+vmware\.1-fips-vkr\.1, of which "v1\.31\.4---vmware\.1-fips-vkr\.3" is not a prefix/],
    ["the TKr unreadable: what the Supervisor said", { ...ok, tkr: { state: "unreadable", error: "HTTP 403: tanzukubernetesreleases is forbidden" } }, KEY_RELEASE, /could not read TanzuKubernetesRelease "v1\.31\.4---vmware\.1-fips-vkr\.3" from the Supervisor: HTTP 403: tanzukubernetesreleases is forbidden/],
    ["the ClusterClass is missing", { ...ok, clusterClass: { state: "missing" } }, KEY_CLASS, /the Supervisor has no ClusterClass "builtin-generic-v3\.4\.0" in namespace vmware-system-vks-public/],
    [
      "the class's selector refuses the TKr",
      { tkr: { state: "found", object: tkrObject(REL, { labels: { "run.tanzu.vmware.com/legacy-tkr": "" } }) }, clusterClass: { state: "found", object: clusterClassObject(CC, "vmware-system-vks-public", "!run.tanzu.vmware.com/legacy-tkr") } },
      KEY_RELEASE,
      /is not one ClusterClass vmware-system-vks-public\/builtin-generic-v3\.4\.0 \(cluster\.clusterClass\) accepts: its run\.tanzu\.vmware\.com\/resolve-tkr selector "!run\.tanzu\.vmware\.com\/legacy-tkr" does not match/,
    ],
    ["the class's selector does not parse", { ...ok, clusterClass: { state: "found", object: clusterClassObject(CC, "vmware-system-vks-public", "os-name in (a") } }, KEY_CLASS, /selector that does not parse/],
  ];
  for (const [what, objects, key, message] of table)
    it(`${what}: refused at ${key.split(".").pop()}`, () => {
      const { errors } = check(objects);
      assert.equal(errors.length, what === "no conditions yet" ? 2 : 1, JSON.stringify(errors));
      assert.equal(errors[0].path, key);
      assert.match(errors[0].message, message);
    });

  it("negative control of the selector rule: the same class with a TKr it selects passes", () => {
    const objects: SupervisorReleaseObjects = { tkr: { state: "found", object: tkrObject(REL) }, clusterClass: { state: "found", object: clusterClassObject(CC, "vmware-system-vks-public", "!run.tanzu.vmware.com/legacy-tkr") } };
    assert.deepEqual(check(objects).errors, []);
  });

  it("the release the cluster already runs, since made not Compatible: a warning (the webhook does not resolve it again); a new release in that state: an error", () => {
    const stale = { ...ok, tkr: { state: "found", object: tkrObject(REL, { compatible: "False", ready: "False", reason: "Incompatible" }) } } as SupervisorReleaseObjects;
    const r = checkSupervisorRelease(s, stale, undefined, REL);
    assert.deepEqual(r.errors, []);
    assert.equal(r.warnings.length, 2);
    assert.match(r.warnings[0], /is not Ready on this Supervisor \(Ready False, Incompatible\): the running cluster keeps it/);
    // Negative controls: the previous release was another one, or none is known: refused.
    assert.equal(checkSupervisorRelease(s, stale, undefined, "v1.30.8---vmware.1-fips-vkr.1").errors.length, 2);
    assert.equal(checkSupervisorRelease(s, stale).errors.length, 2);
    // A TKr that is gone stays an error even for the running release.
    assert.equal(checkSupervisorRelease(s, { ...ok, tkr: { state: "missing" } }, undefined, REL).errors[0].path, KEY_RELEASE);
  });

  it("a class without the annotation: a warning (the resolver skips the Cluster), not an error", () => {
    const r = check({ ...ok, clusterClass: { state: "found", object: clusterClassObject(CC, "vmware-system-vks-public", null) } });
    assert.deepEqual(r.errors, []);
    assert.match(r.warnings[0], /has no run\.tanzu\.vmware\.com\/resolve-tkr annotation: the Supervisor's TKr resolver skips the Cluster/);
  });

  it("a class in the vSphere Namespace that is missing: the hint names classNamespace", () => {
    const old = reference((raw) => (raw.cluster.clusterClass = "builtin-generic-v3.3.0"));
    const { errors } = check({ clusterClass: { state: "missing" } }, old);
    assert.match(errors[0].message, /in namespace spark .*from VKS 3\.4 the builtin classes are in vmware-system-vks-public \(set cluster\.classNamespace\)/);
  });

  it("api: tkc: only the TKr counts (the class is the Supervisor's own)", () => {
    const tkc = reference((raw) => {
      raw.cluster.api = "tkc";
      delete raw.cluster.clusterClass;
      delete raw.cluster.classNamespace;
      delete raw.cluster.variables;
      delete raw.cluster.ntpServers;
    });
    assert.equal(releaseObjectPaths(tkc).clusterClass, undefined);
    assert.deepEqual(check({ tkr: ok.tkr, clusterClass: { state: "missing" } }, tkc).errors, []);
    assert.equal(check({ tkr: { state: "missing" } }, tkc).errors[0].path, KEY_RELEASE);
  });

  it("every problem at once; nothing read: nothing said", () => {
    assert.deepEqual(check({ tkr: { state: "missing" }, clusterClass: { state: "missing" } }).errors.map((e) => e.path), [KEY_RELEASE, KEY_CLASS]);
    assert.deepEqual(check({}), { errors: [], warnings: [] });
  });
});

describe("Tanzu release check: the OS images (exactly one per part, resolution.go / cluster.go isUnresolved)", () => {
  const img = (name: string, os: string, version: string): OsImageObject => ({
    metadata: { name },
    spec: { kubernetesVersion: "v1.31.4+vmware.1", os: { type: "linux", name: os, version, arch: "amd64" }, image: { type: "vmop" } },
  });
  const images = [img("vmi-photon-5", "photon", "5"), img("vmi-ubuntu-2204", "ubuntu", "22.04"), img("vmi-ubuntu-2404", "ubuntu", "24.04")];
  const tkr = (names: string[]) => ({ ...tkrObject(REL), spec: { version: "v1.31.4+vmware.1-fips-vkr.3", osImages: names.map((name) => ({ name })) } });
  const cc = (cp?: string, md?: string): ClusterClassObject => ({
    ...clusterClassObject(CC, "vmware-system-vks-public", ""),
    spec: {
      ...(cp ? { controlPlane: { metadata: { annotations: { "run.tanzu.vmware.com/resolve-os-image": cp } } } } : {}),
      ...(md ? { workers: { machineDeployments: [{ class: "node-pool", template: { metadata: { annotations: { "run.tanzu.vmware.com/resolve-os-image": md } } } }] } } : {}),
    },
  });
  const withOs = (os?: { name: string; version?: string }) => reference((raw) => (os ? (raw.cluster.os = os) : delete raw.cluster.os));
  const all = images.map((i) => i.metadata!.name!);
  // [case, settings, class, images the TKr ships, error message or undefined]
  const table: [string, ReturnType<typeof withOs>, ClusterClassObject, OsImageObject[], RegExp | undefined][] = [
    ["cluster.os ubuntu 24.04: one image", withOs({ name: "ubuntu", version: "24.04" }), cc(), images, undefined],
    ["cluster.os ubuntu without a version: two images", withOs({ name: "ubuntu" }), cc(), images, /cluster\.os \(os-name=ubuntu\) matches 2 of the OS images .* needs exactly one; set cluster\.os \(and cluster\.os\.version\)/],
    ["cluster.os ubuntu 20.04: none", withOs({ name: "ubuntu", version: "20.04" }), cc(), images, /ships no OS image for the control plane and every node pool matching cluster\.os \(os-name=ubuntu,os-version=20\.04\) \(it ships: photon 5, ubuntu 22\.04, ubuntu 24\.04\)/],
    ["cluster.os unset, the class says photon for both: one image", withOs(), cc("os-name=photon", "os-name=photon"), images, undefined],
    ["cluster.os unset, the class says nothing: three images match", withOs(), cc(), images, /no OS choice \(cluster\.os unset, and the class sets none\) matches 3/],
    ["negative control: cluster.os unset, the TKr ships one image", withOs(), cc(), [images[0]], undefined],
  ];
  for (const [what, settings, klass, shipped, want] of table)
    it(what, () => {
      const { errors } = checkSupervisorRelease(settings, { tkr: { state: "found", object: tkr(shipped.map((i) => i.metadata!.name!)) }, clusterClass: { state: "found", object: klass }, osImages: shipped });
      if (!want) assert.deepEqual(errors, []);
      else {
        assert.equal(errors.length, 1, JSON.stringify(errors));
        assert.equal(errors[0].path, "vsphere-spark:tanzu.cluster.os");
        assert.match(errors[0].message, want);
      }
    });
  it("the images not read (or the TKr lists none): the OS rule is not applied", () => {
    const settings = withOs({ name: "ubuntu", version: "20.04" });
    assert.deepEqual(checkSupervisorRelease(settings, { tkr: { state: "found", object: tkr(all) }, clusterClass: { state: "found", object: cc() } }).errors, []);
    assert.deepEqual(checkSupervisorRelease(settings, { tkr: { state: "found", object: tkrObject(REL) }, clusterClass: { state: "found", object: cc() }, osImages: images }).errors, []);
  });
  it("OSImage labels as the resolver augments them (augmentOSImage)", () => {
    const l = osImageLabels(images[2]);
    assert.equal(l["os-name"], "ubuntu");
    assert.equal(l["os-version"], "24.04");
    assert.equal(l["image-type"], "vmop");
    assert.ok("v1.31" in l);
  });
});

describe("Tanzu release check in TanzuCluster: refused before anything is created", function () {
  this.timeout(120_000);
  async function run(args: Partial<TanzuClusterArgs>) {
    return runUnderMocks(
      {
        project: "vsphere-spark",
        stack: "tanzu",
        config: {},
        invokes: {
          "vsphere:index/getPolicy:getPolicy": () => ({ id: "policy-1" }),
          "vsphere:index/getContentLibrary:getContentLibrary": () => ({ id: "lib-1" }),
        },
        outputs: { "kubernetes:core/v1:Secret": () => ({ data: { value: Buffer.from("apiVersion: v1\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\n").toString("base64") } }) },
      },
      async () => {
        const c = new TanzuCluster("spark", { tanzu: referenceRaw(), password: "pw", vcenter: { server: "vcenter.lab.local", user: "administrator@vsphere.local" }, login: async () => "token", ...args });
        return { id: c.apiEndpoint } as Record<string, any>;
      },
    );
  }
  const created = (e: { recordedResources?: { type: string; name: string }[] }) => (e.recordedResources ?? []).filter((x) => !/^pulumi:|^vsphere-spark:|^pulumi:providers:/.test(x.type)).map((x) => x.name);

  it("an incompatible release: the error names cluster.release and what the Supervisor said; no class, namespace or cluster registered", async () => {
    const sup = standInSupervisor({ tkr: { state: "found", object: tkrObject(REL, { compatible: "False", ready: "False", reason: "Incompatible", message: "incompatible" }) } });
    let caught: any;
    await assert.rejects(
      run({ readReleaseObjects: sup.read }).catch((e) => {
        caught = e;
        throw e;
      }),
      (e: Error) => /args\.tanzu\.cluster\.release: TanzuKubernetesRelease v1\.31\.4---vmware\.1-fips-vkr\.3 is not Ready on this Supervisor \(Ready False, Incompatible: incompatible\)/.test(e.message),
    );
    assert.deepEqual(created(caught), []);
    assert.deepEqual(sup.reads[0], { tkr: true, clusterClass: true }, "the class in vmware-system-vks-public is read before the namespace exists");
  });

  it("negative control: the same stack with a Ready and Compatible release registers the namespace, classes and cluster", async () => {
    const sup = standInSupervisor();
    const r = await run({ readReleaseObjects: sup.read });
    const names = r.resources.map((x) => x.name);
    for (const n of ["spark-namespace", "spark-class-worker", "spark-cluster"]) assert.ok(names.includes(n), n);
    // The gate reads the Supervisor kubeconfig (a secret), but the Cluster's spec stays in clear text.
    const spec = r.resources.find((x) => x.name === "spark-cluster")!.inputs.spec;
    assert.ok(!isSecretMarker(spec) && (spec as any).topology.version === REL);
  });

  it("a class in the vSphere Namespace that is not there: the cluster is not registered (the namespace is, its check waits for it)", async () => {
    const sup = standInSupervisor({ clusterClass: { state: "missing" } });
    const raw = referenceRaw();
    raw.cluster.clusterClass = "builtin-generic-v3.3.0";
    delete raw.cluster.classNamespace;
    let caught: any;
    await assert.rejects(
      run({ tanzu: raw, readReleaseObjects: sup.read }).catch((e) => {
        caught = e;
        throw e;
      }),
      (e: Error) => e.message.includes('args.tanzu.cluster.clusterClass: the Supervisor has no ClusterClass "builtin-generic-v3.3.0" in namespace spark'),
    );
    assert.ok(!created(caught).includes("spark-cluster"));
    assert.deepEqual(sup.reads, [{ tkr: true, clusterClass: false }, { tkr: true, clusterClass: true }]);
  });

  it("skipReleaseCheck (offline runs): nothing read", async () => {
    const sup = standInSupervisor({ tkr: { state: "missing" } });
    await run({ readReleaseObjects: sup.read, skipReleaseCheck: true });
    assert.deepEqual(sup.reads, []);
  });

  it("a ValidationError, so the CLI prints the keys without a stack trace", async () => {
    const sup = standInSupervisor({ tkr: { state: "missing" } });
    let caught: unknown;
    await run({ readReleaseObjects: sup.read }).catch((e) => (caught = e));
    assert.ok(caught instanceof ValidationError || /the Supervisor refuses cluster\.release/.test(String((caught as Error)?.message)), String(caught));
    void pulumi;
  });
});

describe("Broadcom KB 311962: the content-library warning's conditions", () => {
  const s = (libs: string[], name = "spark") => reference((raw) => {
    raw.namespace.contentLibraries = libs;
    raw.namespace.name = name;
  });
  // [case, settings, previous, expected warnings (regexps, in order)]
  const table: [string, ReturnType<typeof s>, { namespace?: string; contentLibraries?: string[] } | undefined, RegExp[]][] = [
    ["no library linked: nothing", s([]), undefined, []],
    ["a library linked, no previous state: the general warning (the stack cannot see local/subscribed or other namespaces)", s(["vm-images"]), undefined, [/LOCAL content library that other vSphere Namespaces link too.*Broadcom KB 311962/]],
    ["negative control: the same libraries as before: only the general warning", s(["vm-images"]), { namespace: "spark", contentLibraries: ["vm-images"] }, [/^namespace\.contentLibraries: if one of these is a LOCAL/]],
    ["a library removed: this update unlinks it", s(["vm-images"]), { namespace: "spark", contentLibraries: ["vm-images", "old-images"] }, [/^this update unlinks old-images from vSphere Namespace spark .*KB 311962/, /^namespace\.contentLibraries/]],
    ["all libraries removed: the unlink warning alone", s([]), { namespace: "spark", contentLibraries: ["vm-images"] }, [/^this update unlinks vm-images/]],
    ["the namespace renamed: this update deletes the old one", s(["vm-images"], "spark2"), { namespace: "spark", contentLibraries: ["vm-images"] }, [/^this update deletes vSphere Namespace spark \(namespace\.name is now spark2\), which links vm-images/, /^namespace\.contentLibraries/]],
    ["renamed, but the old one linked nothing: no delete warning", s([], "spark2"), { namespace: "spark", contentLibraries: [] }, []],
  ];
  for (const [what, settings, previous, want] of table)
    it(what, () => {
      const got = contentLibraryWarnings(settings, previous);
      assert.equal(got.length, want.length, JSON.stringify(got));
      want.forEach((re, i) => assert.match(got[i], re));
    });

  it("the warning cites the KB and says the real condition and the fix", () => {
    for (const part of ["LOCAL content library", "other vSphere Namespaces link too", "vCenter 8.0 Update 2", "8.0.2 MP1", "Broadcom KB 311962", "subscribed library", "Supervisor"])
      assert.ok(CONTENT_LIBRARY_8U2_WARNING.includes(part), part);
  });

  it("the plan shows what this update does, given the previous state", () => {
    const p = planTanzu(s(["vm-images"]), undefined, { previous: { release: REL, controlPlaneReplicas: 3, pools: { workers: 16 }, namespace: "spark", contentLibraries: ["vm-images", "old-images"] } });
    assert.ok(p.text.some((l) => l.startsWith("  WARNING: this update unlinks old-images")), p.text.join("\n"));
  });
});
