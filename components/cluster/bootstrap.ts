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
import { TOKEN_ID_LENGTH, TOKEN_SECRET_LENGTH, caCertHash } from "./pki";

export interface KubeadmBootstrapArgs {
  clusterName: string;
  /** Plain values: they decide how many resources exist and what each VM receives. */
  nodes: ClusterNode[];
  network: NodeNetwork;
  endpoint: EndpointSpec;
  settings: KubernetesSettings;
}

/** CA validity: 10 years, like kubeadm's own CAs. Replacing a CA means rebuilding the cluster. */
const CA_VALIDITY_HOURS = 87600;
/** Admin client certificate: 1 year, like kubeadm's admin.conf. */
const ADMIN_CERT_VALIDITY_HOURS = 8760;

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
  /** `<id>.<secret>` (secret). */
  readonly token: pulumi.Output<string>;
  readonly adminCertPem: pulumi.Output<string>;
  readonly adminKeyPem: pulumi.Output<string>;

  constructor(name: string, args: KubeadmBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything.
    const spec: ClusterSpec = {
      clusterName: args.clusterName,
      nodes: args.nodes,
      network: args.network,
      endpoint: args.endpoint,
      settings: args.settings,
    };
    throwIfErrors(validateClusterSpec(spec, "args"), `KubeadmBootstrap ${name}: invalid arguments`);
    super("vsphere-spark:cluster:KubeadmBootstrap", name, {}, opts);
    this.clusterName = args.clusterName;
    this.spec = spec;
    this.endpoint = args.endpoint;
    this.settings = args.settings;
    const c = args.clusterName;
    const child = { parent: this };

    const ca = selfSignedCa(`${c}-ca`, "kubernetes", child);
    const frontProxy = selfSignedCa(`${c}-front-proxy-ca`, "front-proxy-ca", child);
    const etcd = selfSignedCa(`${c}-etcd-ca`, "etcd-ca", child);
    const sa = new tls.PrivateKey(`${c}-service-account-key`, { algorithm: "RSA", rsaBits: 2048 }, child);

    const adminKey = new tls.PrivateKey(`${c}-admin-key`, { algorithm: "RSA", rsaBits: 2048 }, child);
    const adminCsr = new tls.CertRequest(
      `${c}-admin-csr`,
      { privateKeyPem: adminKey.privateKeyPem, subject: { commonName: "kubernetes-admin", organization: "system:masters" } },
      child,
    );
    const adminCert = new tls.LocallySignedCert(
      `${c}-admin-cert`,
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

    const tokenPart = (suffix: string, length: number) =>
      new random.RandomString(
        `${c}-bootstrap-token-${suffix}`,
        { length, upper: false, lower: true, numeric: true, special: false },
        child,
      );
    const tokenId = tokenPart("id", TOKEN_ID_LENGTH);
    const tokenSecret = tokenPart("secret", TOKEN_SECRET_LENGTH);

    this.caCertPem = ca.cert.certPem;
    this.caCertHash = ca.cert.certPem.apply(caCertHash);
    this.token = pulumi.secret(pulumi.interpolate`${tokenId.result}.${tokenSecret.result}`);
    this.adminCertPem = adminCert.certPem;
    this.adminKeyPem = pulumi.secret(adminKey.privateKeyPem);

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

    const info: Record<string, pulumi.Output<Record<string, string>>> = {};
    const workerSpec = { clusterName: c, network: args.network, endpoint: args.endpoint, settings: args.settings };
    for (const node of args.nodes) {
      if (node.role === "load-balancer") {
        const r = renderLoadBalancerNode(spec, node);
        info[node.name] = pulumi.output(guestinfo(r.userData, r.metaData));
      } else if (node.role === "control-plane") {
        info[node.name] = pulumi.secret(
          pulumi.all([this.token, this.caCertHash, pki]).apply(([token, hash, p]) => {
            const r = renderControlPlaneNode(spec, node, { token, caCertHash: hash, pki: p });
            return guestinfo(r.userData, r.metaData);
          }),
        );
      } else {
        // Only endpoint, token and CA hash: adding or changing other nodes never touches a worker.
        info[node.name] = pulumi.secret(
          pulumi.all([this.token, this.caCertHash]).apply(([token, hash]) => {
            const r = renderWorkerNode(workerSpec, node, { token, caCertHash: hash });
            return guestinfo(r.userData, r.metaData);
          }),
        );
      }
    }
    this.guestinfo = info;

    this.registerOutputs({
      caCertPem: this.caCertPem,
      caCertHash: this.caCertHash,
      endpoint: this.endpoint,
      guestinfo: this.guestinfo,
    });
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
