/**
 * KubeadmBootstrap: the cluster PKI, the bootstrap token and every node's guestinfo. A thin shell:
 * validation, topology and rendering live in pure modules; this file only creates resources and
 * wires their outputs into the renderers.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as random from "@pulumi/random";
import { throwIfErrors } from "../validation";
import type { ClusterNode, EndpointSpec, NodeNetwork } from "./types";
import type { KubernetesSettings } from "./settings";
import type { ClusterSpec } from "./topology";
import {
  renderControlPlaneNode,
  renderLoadBalancerNode,
  renderWorkerNode,
  validateClusterSpec,
} from "./topology";
import { guestinfo } from "./cloud-init";
import type { SharedPki } from "./pki";
import { CERTIFICATE_KEY_BYTES, TOKEN_ID_LENGTH, TOKEN_SECRET_LENGTH, adminGroup, caCertHash } from "./pki";

export interface KubeadmBootstrapArgs {
  readonly clusterName: string;
  /** Plain values: they decide how many resources exist and what each VM receives. */
  readonly nodes: ClusterNode[];
  readonly network: NodeNetwork;
  readonly endpoint: EndpointSpec;
  readonly settings: KubernetesSettings;
  /**
   * The workers' join token's generation (`joinTokenGeneration` in lifecycle.ts): a new value
   * replaces the token (random `keepers`), so it rotates once per `bootstrapTokenTtl` window.
   * Absent: the token never rotates by itself.
   */
  readonly joinTokenGeneration?: string;
  /**
   * The cluster exists (a previous `pulumi up` applied it: the `clusterLifecycle` output was read
   * back): the first control plane is rendered as a join, so a replaced one never runs `kubeadm init`,
   * and every joining control plane (new or replaced) carries the shared CA files and joins with the
   * workers' join token (components/cluster/topology.ts, renderControlPlaneNode).
   */
  readonly clusterExists?: boolean;
  /**
   * With `clusterExists`: the control planes the applied state records (already etcd members), so
   * the new ones join one after the other (`previousJoiningControlPlane`). Absent: each waits for the
   * one before it in the order.
   */
  readonly runningControlPlanes?: string[];
}

/** CA validity: 10 years, like kubeadm's own CAs. Replacing a CA means rebuilding the cluster. */
const CA_VALIDITY_HOURS = 87600;
/** Admin client certificate: 1 year, like kubeadm's admin.conf. */
const ADMIN_CERT_VALIDITY_HOURS = 8760;

export interface BootstrapChildren {
  guestinfo: Record<string, pulumi.Output<Record<string, string>>>;
  caCertPem: pulumi.Output<string>;
  caCertHash: pulumi.Output<string>;
  token: pulumi.Output<string>;
  joinToken: pulumi.Output<string>;
  adminCertPem: pulumi.Output<string>;
  adminKeyPem: pulumi.Output<string>;
  certificateKey: pulumi.Output<string>;
  /** The etcd CA and a client certificate it signed (secret): node retirement removes etcd members with it. */
  etcdClient: pulumi.Output<{ caPem: string; certPem: string; keyPem: string }>;
  clientResources: pulumi.Resource[];
}

/** The spec, or a ValidationError listing every problem (nothing is registered before this). */
export function bootstrapSpec(name: string, args: KubeadmBootstrapArgs): ClusterSpec {
  const spec: ClusterSpec = {
    clusterName: args.clusterName,
    nodes: args.nodes,
    network: args.network,
    endpoint: args.endpoint,
    settings: args.settings,
  };
  throwIfErrors(validateClusterSpec(spec, "args"), `KubeadmBootstrap ${name}: invalid arguments`);
  return spec;
}

/** Creates the PKI, the admin credentials, the token and every node's guestinfo under `parent` (children named `<name>-…`). */
export function createBootstrap(
  parent: pulumi.Resource,
  name: string,
  spec: ClusterSpec,
  joinTokenGeneration?: string,
  clusterExists = false,
  runningControlPlanes?: string[],
): BootstrapChildren {
  const child = { parent };
  const ca = selfSignedCa(`${name}-ca`, "kubernetes", child);
  const frontProxy = selfSignedCa(`${name}-front-proxy-ca`, "front-proxy-ca", child);
  const etcd = selfSignedCa(`${name}-etcd-ca`, "etcd-ca", child);
  const sa = new tls.PrivateKey(`${name}-service-account-key`, { algorithm: "RSA", rsaBits: 2048 }, child);

  const adminKey = new tls.PrivateKey(`${name}-admin-key`, { algorithm: "RSA", rsaBits: 2048 }, child);
  const adminCsr = new tls.CertRequest(
    `${name}-admin-csr`,
    { privateKeyPem: adminKey.privateKeyPem, subject: { commonName: "kubernetes-admin", organization: adminGroup(spec.settings.version) } },
    child,
  );
  const adminCert = new tls.LocallySignedCert(
    `${name}-admin-cert`,
    {
      certRequestPem: adminCsr.certRequestPem,
      caPrivateKeyPem: ca.key.privateKeyPem,
      caCertPem: ca.cert.certPem,
      validityPeriodHours: ADMIN_CERT_VALIDITY_HOURS,
      earlyRenewalHours: 720,
      allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
    },
    child,
  );

  // The program's etcd client (node retirement, components/cluster/retire-hooks.ts): etcd trusts any
  // client certificate its CA signed (kubeadm's etcd runs --client-cert-auth with the etcd CA); the
  // name is kubeadm's health-check client's, with the program's suffix.
  const etcdClientKey = new tls.PrivateKey(`${name}-etcd-retire-client-key`, { algorithm: "RSA", rsaBits: 2048 }, child);
  const etcdClientCsr = new tls.CertRequest(`${name}-etcd-retire-client-csr`, { privateKeyPem: etcdClientKey.privateKeyPem, subject: { commonName: "kube-etcd-healthcheck-client-vsphere-spark" } }, child);
  const etcdClientCert = new tls.LocallySignedCert(
    `${name}-etcd-retire-client-cert`,
    {
      certRequestPem: etcdClientCsr.certRequestPem,
      caPrivateKeyPem: etcd.key.privateKeyPem,
      caCertPem: etcd.cert.certPem,
      validityPeriodHours: ADMIN_CERT_VALIDITY_HOURS,
      earlyRenewalHours: 720,
      allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
    },
    child,
  );
  const etcdClient = pulumi.secret(pulumi.all([etcd.cert.certPem, etcdClientCert.certPem, etcdClientKey.privateKeyPem]).apply(([caPem, certPem, keyPem]) => ({ caPem, certPem, keyPem })));

  const tokenPart = (suffix: string, length: number) =>
    new random.RandomString(`${name}-bootstrap-token-${suffix}`, { length, upper: false, lower: true, numeric: true, special: false }, child);
  const tokenId = tokenPart("id", TOKEN_ID_LENGTH);
  const tokenSecret = tokenPart("secret", TOKEN_SECRET_LENGTH);
  // Workers join with their own token, which the cluster access renews on every `pulumi up`
  // (a Secret through the cluster's provider), so workers added after the init token expired join.
  // A new generation replaces both parts (random's keepers RequiresReplace), so the token rotates;
  // running workers keep working (they joined already), workers created afterwards get the new one.
  const keepers = joinTokenGeneration === undefined ? {} : { keepers: { generation: joinTokenGeneration } };
  const joinPart = (suffix: string, length: number) =>
    new random.RandomString(`${name}-join-token-${suffix}`, { length, upper: false, lower: true, numeric: true, special: false, ...keepers }, child);
  const joinToken = pulumi.secret(pulumi.interpolate`${joinPart("id", TOKEN_ID_LENGTH).result}.${joinPart("secret", TOKEN_SECRET_LENGTH).result}`);

  // kubeadm's certificate key: `kubeadm init --upload-certs` encrypts the shared CA files with it into
  // kube-system/kubeadm-certs, and the joining control planes of the first `pulumi up` download them
  // with it, so in that update only the init node's guestinfo carries CA keys. (Control planes that
  // join later carry the files themselves: kubeadm deletes that Secret 2 h after the init.)
  // RandomBytes marks `hex` secret.
  const certificateKey = pulumi.secret(new random.RandomBytes(`${name}-certificate-key`, { length: CERTIFICATE_KEY_BYTES }, child).hex);

  const caCertPem = ca.cert.certPem;
  const hash = ca.cert.certPem.apply(caCertHash);
  const token = pulumi.secret(pulumi.interpolate`${tokenId.result}.${tokenSecret.result}`);

  const pki: pulumi.Output<SharedPki> = pulumi.secret(
    pulumi.all({
      caCert: ca.cert.certPem,
      caKey: ca.key.privateKeyPem,
      frontProxyCaCert: frontProxy.cert.certPem,
      frontProxyCaKey: frontProxy.key.privateKeyPem,
      etcdCaCert: etcd.cert.certPem,
      etcdCaKey: etcd.key.privateKeyPem,
      saKey: sa.privateKeyPem,
      saPub: sa.publicKeyPem,
    }) as unknown as pulumi.Output<SharedPki>,
  );

  const guestinfoByVm: Record<string, pulumi.Output<Record<string, string>>> = {};
  const workerSpec = { clusterName: spec.clusterName, network: spec.network, endpoint: spec.endpoint, settings: spec.settings };
  for (const node of spec.nodes) {
    if (node.role === "load-balancer") {
      const r = renderLoadBalancerNode(spec, node);
      guestinfoByVm[node.name] = pulumi.output(guestinfo(r.userData, r.metaData));
    } else if (node.role === "control-plane" && !clusterExists) {
      // The first `pulumi up`: init, and joins with the init token and the certificate key.
      guestinfoByVm[node.name] = pulumi.secret(
        pulumi.all([token, hash, pki, certificateKey]).apply(([t, h, p, k]) => {
          const r = renderControlPlaneNode(spec, node, { token: t, caCertHash: h, pki: p, certificateKey: k }, { clusterExists });
          return guestinfo(r.userData, r.metaData);
        }),
      );
    } else if (node.role === "control-plane") {
      // The cluster exists: a new or replaced control plane carries the shared CA files and joins with
      // the join token (its Secret is renewed by KubeadmClusterAccess in this very update). Secret, as
      // the init node's: the CA and service-account keys are in it.
      guestinfoByVm[node.name] = pulumi.secret(
        pulumi.all([token, hash, pki, certificateKey, joinToken]).apply(([t, h, p, k, j]) => {
          const r = renderControlPlaneNode(spec, node, { token: t, caCertHash: h, pki: p, certificateKey: k, joinToken: j }, { clusterExists, runningControlPlanes });
          return guestinfo(r.userData, r.metaData);
        }),
      );
    } else {
      // Only endpoint, token and CA hash: adding or changing other nodes never touches a worker.
      guestinfoByVm[node.name] = pulumi.secret(
        pulumi.all([joinToken, hash]).apply(([t, h]) => {
          const r = renderWorkerNode(workerSpec, node, { token: t, caCertHash: h });
          return guestinfo(r.userData, r.metaData);
        }),
      );
    }
  }
  // What the program's own clients (the node hooks) are made of: a VM hook must not wait for a
  // resource that the engine may not have stepped yet (an update hook runs inside the VM's step).
  const clientResources: pulumi.Resource[] = [adminKey, adminCert, etcdClientKey, etcdClientCert];
  return { guestinfo: guestinfoByVm, caCertPem, caCertHash: hash, token, joinToken, adminCertPem: adminCert.certPem, adminKeyPem: pulumi.secret(adminKey.privateKeyPem), certificateKey, etcdClient, clientResources };
}

export class KubeadmBootstrap extends pulumi.ComponentResource {
  readonly clusterName: string;
  readonly spec: ClusterSpec;
  readonly endpoint: EndpointSpec;
  readonly settings: KubernetesSettings;
  /** Per VM name: the `extraConfig` entries to set on that VM (secret when they carry keys or the token). */
  readonly guestinfo: Record<string, pulumi.Output<Record<string, string>>>;
  readonly caCertPem: pulumi.Output<string>;
  /** `sha256:<hex>` pin of the cluster CA (kubeadm `caCertHashes`). */
  readonly caCertHash: pulumi.Output<string>;
  /** `<id>.<secret>` (secret): the init token (control planes), expiring after settings.bootstrapTokenTtl. */
  readonly token: pulumi.Output<string>;
  /** `<id>.<secret>` (secret): the workers' token, renewed by KubeadmClusterAccess on every `pulumi up`. */
  readonly joinToken: pulumi.Output<string>;
  readonly adminCertPem: pulumi.Output<string>;
  readonly adminKeyPem: pulumi.Output<string>;
  /**
   * Hex of 32 bytes (secret): kubeadm's certificate key. `kubeadm init --upload-certs` encrypts the
   * shared CA files with it into kube-system/kubeadm-certs (deleted by kubeadm after 2 h); the
   * joining control planes of the first `pulumi up` decrypt them with it, so in that update only the
   * init node's guestinfo holds CA keys (control planes joining later bring the files themselves).
   */
  readonly certificateKey: pulumi.Output<string>;
  /** The etcd CA and a client certificate it signed (secret), for node retirement. */
  readonly etcdClient: pulumi.Output<{ caPem: string; certPem: string; keyPem: string }>;
  /**
   * The resources behind the program's admin and etcd clients (the hooks' credentials). The VMs
   * depend on them: the engine runs a VM's update hooks inside its update step, and with a bounded
   * parallelism (`pulumi up --parallel 1`) a hook waiting for a resource not yet stepped would wait
   * forever (seen in the whole-stack lab).
   */
  readonly clientResources: pulumi.Resource[];

  constructor(name: string, args: KubeadmBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    const spec = bootstrapSpec(name, args);
    super("vsphere-spark:cluster:KubeadmBootstrap", name, {}, opts);
    const out = createBootstrap(this, name, spec, args.joinTokenGeneration, args.clusterExists ?? false, args.runningControlPlanes);
    this.clusterName = args.clusterName;
    this.spec = spec;
    this.endpoint = args.endpoint;
    this.settings = args.settings;
    this.guestinfo = out.guestinfo;
    this.caCertPem = out.caCertPem;
    this.caCertHash = out.caCertHash;
    this.token = out.token;
    this.joinToken = out.joinToken;
    this.adminCertPem = out.adminCertPem;
    this.adminKeyPem = out.adminKeyPem;
    this.certificateKey = out.certificateKey;
    this.etcdClient = out.etcdClient;
    this.clientResources = out.clientResources;
    this.registerOutputs({ caCertPem: this.caCertPem, caCertHash: this.caCertHash, endpoint: this.endpoint, guestinfo: this.guestinfo });
  }
}

function selfSignedCa(name: string, commonName: string, opts: pulumi.CustomResourceOptions) {
  const key = new tls.PrivateKey(`${name}-key`, { algorithm: "RSA", rsaBits: 2048 }, opts);
  const cert = new tls.SelfSignedCert(
    name,
    {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName },
      isCaCertificate: true,
      setSubjectKeyId: true,
      validityPeriodHours: CA_VALIDITY_HOURS,
      allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
    },
    opts,
  );
  return { key, cert };
}
