/**
 * A StackReference to the stack that is running: how a program reads back what its own last
 * `pulumi up` exported (the kubeadm back end's `clusterLifecycle`, the Tanzu back end's `tanzuRollout`),
 * so that a change can be checked against the state it would change.
 */
import * as pulumi from "@pulumi/pulumi";

export function selfStackReference(opts?: pulumi.CustomResourceOptions): pulumi.StackReference {
  let org: string;
  try {
    org = pulumi.getOrganization();
  } catch {
    org = "organization"; // what the DIY backends (pulumi login --local, S3...) call the only organization
  }
  return new pulumi.StackReference(`${org}/${pulumi.getProject()}/${pulumi.getStack()}`, undefined, opts);
}
