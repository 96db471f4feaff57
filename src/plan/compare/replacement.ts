/**
 * Whether a change of a resource's inputs updates it in place or replaces it, from what the real
 * providers do. Paths are the plan's input paths (Pulumi's camelCase names): `clone.templateUuid`,
 * `disks[0].size`, `metadata.name`. `*` in a rule matches one list index or map key.
 *
 * Sources (read at the commits named; the facts are encoded in the tables below and tested in
 * test/plan/compare-replacement.test.ts):
 *
 * - vSphere, hashicorp/terraform-provider-vsphere @ 497efde66548f8e1bb9db2c46b7de7e726ef002d
 *   (the Pulumi vSphere provider is a bridge over it, so its ForceNew is Pulumi's replace):
 *   - vsphere/resource_vsphere_virtual_machine.go, resourceVSphereVirtualMachineCustomizeDiff:
 *     "any changed attribute in the clone configuration namespace is a ForceNew" (all of
 *     `clone.0.*` except `clone.0.timeout`). Every other VM argument (name, num_cpus, memory,
 *     host_system_id, datastore_id, resource_pool_id, folder, disks, network_interface, extra_config)
 *     is changed in place (reconfigure, vMotion, rename).
 *   - vsphere/internal/virtualdevice/virtual_machine_disk_subresource.go: "virtual disks cannot be
 *     shrunk" (DiffCustomize error: the update fails, it is not a replacement).
 *   - vsphere/internal/virtualdevice/virtual_machine_network_interface_subresource.go: `ovf_mapping`
 *     ForceNew; an `adapter_type` change re-creates the device in place (not the VM).
 *   - vsphere/resource_vsphere_folder.go: `type`, `datacenter_id` ForceNew (`path` moves in place).
 *   - vsphere/resource_vsphere_resource_pool.go: no ForceNew argument.
 *   - vsphere/resource_vsphere_compute_cluster_host_group.go and _vm_group.go: `name`,
 *     `compute_cluster_id` ForceNew.
 *   - vsphere/resource_vsphere_compute_cluster_vm_host_rule.go and _vm_anti_affinity_rule.go:
 *     `compute_cluster_id` ForceNew.
 *   - vsphere/resource_vsphere_virtual_machine_class.go: no ForceNew (resourceVsphereVMClassUpdate).
 *   - vsphere/resource_vsphere_supervisor.go: namespaces are updated in place; any other change is
 *     refused ("only updates to namespaces are supported").
 * - Kubernetes, pulumi/pulumi-kubernetes @ 94977969d64112b04e19945818a7d5d5f38f631d,
 *   provider/pkg/provider/diff.go (forceNewProperties): `.metadata.name` and `.metadata.namespace` of
 *   every object; per kind: PersistentVolumeClaim `.spec.accessModes/.selector/.storageClassName/
 *   .volumeName`; Service `.spec.clusterIP`; ResourceQuota `.spec.scopes`; Secret `.type` (and its
 *   data unless Secret mutability is enabled); ConfigMap `.data/.binaryData` (unless ConfigMap
 *   mutability is enabled; off by default); (Cluster)RoleBinding `.roleRef`; Job `.spec.template/
 *   .completions/.parallelism/.selector`; Deployment/DaemonSet `.spec.selector`; StatefulSet
 *   `.spec.selector/.serviceName/.volumeClaimTemplates/.podManagementPolicy/.revisionHistoryLimit`;
 *   StorageClass `.parameters/.provisioner`; PodDisruptionBudget (policy/v1beta1) `.spec`.
 * - TLS, hashicorp/terraform-provider-tls @ d72d90e1b47b7cb5ce6863f528af3154963d61b7,
 *   internal/provider/resource_*.go: RequiresReplace on private_key algorithm/rsa_bits/ecdsa_curve;
 *   self_signed_cert and cert_request on every subject/usage/validity argument and private_key_pem;
 *   locally_signed_cert on validity_period_hours/allowed_uses/is_ca_certificate/max_path_length/
 *   set_subject_key_id and (requireReplaceIfStateContainsPEMString) cert_request_pem, ca_cert_pem,
 *   ca_private_key_pem. early_renewal_hours is updated in place.
 * - random, hashicorp/terraform-provider-random @ ad788e233bb42be5ecad3ba8f43de0d9d9dc7185,
 *   internal/provider/resource_string.go: every argument (length, special, upper, lower, numeric,
 *   min_*, override_special, keepers) RequiresReplace.
 */

export type Action = "update" | "replace";

interface TypeRule {
  /** Input paths whose change replaces the resource; a trailing `.` matches the whole subtree. */
  replaceOn: string[];
  /** Paths under a replaceOn subtree that are changed in place after all. */
  except?: string[];
  /** Replacement on any change except these paths. */
  replaceOnAnyExcept?: string[];
  /** Changes the provider refuses (the update fails): path pattern → reason. */
  refuse?: { path: string; when: "decrease"; reason: string }[];
  /** Where the rule comes from, shown in the report. */
  source: string;
}

const TFVS = "terraform-provider-vsphere";

/** Keyed by Pulumi type token. */
export const VSPHERE_RULES: Record<string, TypeRule> = {
  "vsphere:index/virtualMachine:VirtualMachine": {
    replaceOn: ["clone.", "networkInterfaces[*].ovfMapping"],
    except: ["clone.timeout"],
    refuse: [{ path: "disks[*].size", when: "decrease", reason: "virtual disks cannot be shrunk" }],
    source: `${TFVS} virtual_machine CustomizeDiff: clone.* is ForceNew (except clone.timeout)`,
  },
  "vsphere:index/folder:Folder": { replaceOn: ["type", "datacenterId"], source: `${TFVS} folder: type, datacenter_id ForceNew` },
  "vsphere:index/resourcePool:ResourcePool": { replaceOn: [], source: `${TFVS} resource_pool: no ForceNew` },
  "vsphere:index/computeClusterHostGroup:ComputeClusterHostGroup": {
    replaceOn: ["name", "computeClusterId"],
    source: `${TFVS} compute_cluster_host_group: name, compute_cluster_id ForceNew`,
  },
  "vsphere:index/computeClusterVmGroup:ComputeClusterVmGroup": {
    replaceOn: ["name", "computeClusterId"],
    source: `${TFVS} compute_cluster_vm_group: name, compute_cluster_id ForceNew`,
  },
  "vsphere:index/computeClusterVmHostRule:ComputeClusterVmHostRule": {
    replaceOn: ["computeClusterId"],
    source: `${TFVS} compute_cluster_vm_host_rule: compute_cluster_id ForceNew`,
  },
  "vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule": {
    replaceOn: ["computeClusterId"],
    source: `${TFVS} compute_cluster_vm_anti_affinity_rule: compute_cluster_id ForceNew`,
  },
  "vsphere:index/virtualMachineClass:VirtualMachineClass": { replaceOn: [], source: `${TFVS} virtual_machine_class: updated in place` },
  // vsphere/resource_vsphere_namespace.go (govmomi vapi/namespace): no ForceNew; the update looks the
  // namespace up by its new name, so the program sets replaceOnChanges: ["name"] (the option decides).
  "vsphere:index/namespace:Namespace": { replaceOn: [], source: `${TFVS} namespace: no ForceNew (updated in place)` },
  "vsphere:index/supervisor:Supervisor": {
    replaceOn: [],
    source: `${TFVS} supervisor: namespaces updated in place (other changes are refused by the provider)`,
  },
};

const TFTLS = "terraform-provider-tls";
const SUBJECT = ["subject.", "dnsNames", "ipAddresses", "uris"];
const CERT_USES = ["allowedUses", "isCaCertificate", "maxPathLength", "setSubjectKeyId", "validityPeriodHours"];

export const TLS_RANDOM_RULES: Record<string, TypeRule> = {
  "tls:index/privateKey:PrivateKey": { replaceOn: ["algorithm", "rsaBits", "ecdsaCurve"], source: `${TFTLS} private_key: RequiresReplace` },
  "tls:index/certRequest:CertRequest": { replaceOn: [...SUBJECT, "privateKeyPem"], source: `${TFTLS} cert_request: RequiresReplace` },
  "tls:index/selfSignedCert:SelfSignedCert": {
    replaceOn: [...SUBJECT, ...CERT_USES, "setAuthorityKeyId", "privateKeyPem"],
    source: `${TFTLS} self_signed_cert: RequiresReplace`,
  },
  "tls:index/locallySignedCert:LocallySignedCert": {
    replaceOn: [...CERT_USES, "certRequestPem", "caCertPem", "caPrivateKeyPem"],
    source: `${TFTLS} locally_signed_cert: RequiresReplace`,
  },
  "random:index/randomString:RandomString": { replaceOn: [], replaceOnAnyExcept: [], source: "terraform-provider-random string: every argument RequiresReplace" },
  // internal/provider/resource_bytes.go bytesSchemaV0: `length` and `keepers` RequiresReplace (its only arguments).
  "random:index/randomBytes:RandomBytes": { replaceOn: [], replaceOnAnyExcept: [], source: "terraform-provider-random bytes: every argument RequiresReplace" },
  "random:index/randomPassword:RandomPassword": { replaceOn: [], replaceOnAnyExcept: [], source: "terraform-provider-random password: every argument RequiresReplace" },
};

const PK = "pulumi-kubernetes forceNewProperties";
const SELECTOR = ["spec.selector."];

/** Kubernetes kinds (by `group/version:Kind` of the Pulumi token) → immutable paths beyond metadata.name/namespace. */
export const KUBERNETES_KIND_RULES: Record<string, string[]> = {
  "core/v1:PersistentVolumeClaim": ["spec.accessModes", "spec.selector.", "spec.storageClassName", "spec.volumeName"],
  "core/v1:Service": ["spec.clusterIP"],
  "core/v1:ResourceQuota": ["spec.scopes"],
  // Data is mutable: the stack's cluster providers set enableSecretMutable and enableConfigMapMutable
  // (components/cluster/backend.ts, DATA_MUTABLE).
  "core/v1:Secret": ["type"],
  "rbac.authorization.k8s.io/v1:RoleBinding": ["roleRef."],
  "rbac.authorization.k8s.io/v1:ClusterRoleBinding": ["roleRef."],
  "batch/v1:Job": ["spec.template.", "spec.completions", "spec.parallelism", ...SELECTOR],
  "apps/v1:Deployment": SELECTOR,
  "apps/v1:DaemonSet": SELECTOR,
  "apps/v1:StatefulSet": [...SELECTOR, "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy", "spec.revisionHistoryLimit"],
  "storage.k8s.io/v1:StorageClass": ["parameters.", "provisioner"],
  "policy/v1beta1:PodDisruptionBudget": ["spec."],
};

const K8S_METADATA = ["metadata.name", "metadata.namespace"];

/** Does `path` (e.g. `disks[0].size`) match the rule pattern (e.g. `disks[*].size`, `clone.`)? */
export function pathMatches(pattern: string, path: string): boolean {
  const norm = path.replace(/\[\d+\]/g, "[*]");
  if (pattern.endsWith(".")) {
    const stem = pattern.slice(0, -1);
    return norm === stem || norm.startsWith(pattern) || norm.startsWith(`${stem}[`);
  }
  return norm === pattern || norm.startsWith(`${pattern}.`) || norm.startsWith(`${pattern}[`);
}

function ruleFor(type: string): TypeRule | undefined {
  if (VSPHERE_RULES[type]) return VSPHERE_RULES[type];
  if (TLS_RANDOM_RULES[type]) return TLS_RANDOM_RULES[type];
  const k8s = /^kubernetes:(.+)$/.exec(type);
  if (k8s && !type.startsWith("kubernetes:helm.sh/")) {
    // Any Kubernetes object, CRDs included (e.g. a Tanzu VirtualMachineClass or a namespace object).
    return { replaceOn: [...K8S_METADATA, ...(KUBERNETES_KIND_RULES[k8s[1]] ?? [])], source: PK };
  }
  if (type === "kubernetes:helm.sh/v3:Release") return { replaceOn: ["name", "namespace"], source: "Helm release: name and namespace identify the release" };
  return undefined;
}

export interface ChangedPath {
  path: string;
  before: unknown;
  after: unknown;
}

export interface Classification {
  action: Action;
  /** The changed paths that force the replacement. */
  replaceBecause: string[];
  /** Changed paths the resource ignores (`ignoreChanges`): no effect on an existing resource. */
  ignored: string[];
  /** Changes the provider refuses: `pulumi up` fails. */
  refused: string[];
  /** Where the decision comes from; "unknown" when no table covers the type (treated as update). */
  source: string;
}

/**
 * Classifies one resource's changed input paths. `ignoreChanges` and `replaceOnChanges` are the
 * resource options (Pulumi's property paths): a changed path under `replaceOnChanges` replaces the
 * resource whatever the provider would do.
 */
export function classify(type: string, changes: ChangedPath[], ignoreChanges: string[] = [], replaceOnChanges: string[] = []): Classification {
  const ignored = changes.filter((c) => ignoreChanges.some((p) => pathMatches(p, c.path))).map((c) => c.path);
  const live = changes.filter((c) => !ignored.includes(c.path));
  const byOption = live.filter((c) => replaceOnChanges.some((p) => pathMatches(p, c.path))).map((c) => c.path);
  const rule = ruleFor(type);
  if (!rule) {
    const source = "unknown (no table for this type; shown as an update)";
    return byOption.length > 0
      ? { action: "replace", replaceBecause: byOption, ignored, refused: [], source: `resource option replaceOnChanges; provider: ${source}` }
      : { action: "update", replaceBecause: [], ignored, refused: [], source };
  }
  const byProvider =
    rule.replaceOnAnyExcept !== undefined
      ? live.filter((c) => !rule.replaceOnAnyExcept!.some((p) => pathMatches(p, c.path))).map((c) => c.path)
      : live.filter((c) => rule.replaceOn.some((p) => pathMatches(p, c.path)) && !(rule.except ?? []).some((p) => pathMatches(p, c.path))).map((c) => c.path);
  const replaceBecause = [...byProvider, ...byOption.filter((p) => !byProvider.includes(p))];
  const refused: string[] = [];
  for (const r of rule.refuse ?? []) {
    for (const c of live) {
      if (!pathMatches(r.path, c.path)) continue;
      if ((typeof c.before === "number" && typeof c.after === "number" && c.after < c.before)) refused.push(`${c.path}: ${r.reason}`);
    }
  }
  const source = byOption.some((p) => !byProvider.includes(p)) ? `${rule.source}; resource option replaceOnChanges` : rule.source;
  return { action: replaceBecause.length > 0 ? "replace" : "update", replaceBecause, ignored, refused, source };
}
