/**
 * The DRS rules that keep the cluster's VMs where placement put them: pure and engine-free; the
 * VsphereTopology component only turns these descriptions into resources.
 *
 * - One host group per host that carries at least one VM.
 * - One VM group and one VM-host ("should"/"must run on") rule per VM, so adding a VM adds its own
 *   group and rule and leaves every other one as it is.
 * - One anti-affinity rule over the control-plane VMs when there is more than one of them.
 * - Nothing at all when the rules are disabled (they need a DRS licence: opt-out, as in CAPV).
 */
import type { VmRole } from "./placement";

export interface DrsSettings {
  /** Create the rules at all (they need a DRS licence). */
  readonly enabled: boolean;
  /** "Must" rules rather than "should" rules: DRS and HA never break them. */
  readonly mandatory: boolean;
}

/** The default: rules on, "should" rules (HA may still restart a VM on another host). */
export const DEFAULT_DRS: DrsSettings = { enabled: true, mandatory: false };

/** What the rules need to know about a VM. */
export interface DrsVm {
  readonly name: string;
  readonly role: VmRole;
  readonly hostId: string;
}

/** A host group holding one host. */
export interface DrsHostGroup {
  /** Appended to the component's name to make the Pulumi resource name. */
  readonly suffix: string;
  /** The group's name in vCenter. */
  readonly name: string;
  readonly hostId: string;
}

/** A VM group holding one VM. */
export interface DrsVmGroup {
  readonly suffix: string;
  readonly name: string;
  readonly vm: string;
}

/** Keeps the VMs of a VM group on the hosts of a host group. */
export interface DrsVmHostRule {
  readonly suffix: string;
  readonly name: string;
  /** Suffix of the VM group (in `vmGroups`). */
  readonly vmGroup: string;
  /** Suffix of the host group (in `hostGroups`). */
  readonly hostGroup: string;
  readonly mandatory: boolean;
}

/** Keeps the listed VMs on different hosts. */
export interface DrsAntiAffinityRule {
  readonly suffix: string;
  readonly name: string;
  readonly vms: readonly string[];
  readonly mandatory: boolean;
}

export interface DrsPlan {
  readonly hostGroups: readonly DrsHostGroup[];
  readonly vmGroups: readonly DrsVmGroup[];
  readonly vmHostRules: readonly DrsVmHostRule[];
  readonly antiAffinityRules: readonly DrsAntiAffinityRule[];
}

export const NO_DRS_RULES: DrsPlan = { hostGroups: [], vmGroups: [], vmHostRules: [], antiAffinityRules: [] };

/**
 * The DRS groups and rules for these VMs. `clusterName` prefixes every vCenter name (groups and
 * rules share one namespace per compute cluster); host groups come in the order of `hosts`, VM
 * groups and rules in the order of `vms`.
 */
export function planDrsRules(
  clusterName: string,
  hosts: readonly { readonly id: string }[],
  vms: readonly DrsVm[],
  drs: DrsSettings = DEFAULT_DRS,
): DrsPlan {
  if (!drs.enabled) return NO_DRS_RULES;
  const hostGroups: DrsHostGroup[] = hosts
    .filter((h) => vms.some((v) => v.hostId === h.id))
    .map((h) => ({ suffix: `${h.id}-hosts`, name: `${clusterName}-${h.id}`, hostId: h.id }));
  const vmGroups: DrsVmGroup[] = vms.map((v) => ({ suffix: `${v.name}-vm-group`, name: `${clusterName}-${v.name}`, vm: v.name }));
  const vmHostRules: DrsVmHostRule[] = vms.map((v) => ({
    suffix: `${v.name}-on-host`,
    name: `${clusterName}-${v.name}-on-${v.hostId}`,
    vmGroup: `${v.name}-vm-group`,
    hostGroup: `${v.hostId}-hosts`,
    mandatory: drs.mandatory,
  }));
  const controlPlane = vms.filter((v) => v.role === "control-plane").map((v) => v.name);
  const antiAffinityRules: DrsAntiAffinityRule[] =
    controlPlane.length > 1
      ? [{ suffix: "control-plane-apart", name: `${clusterName}-control-plane-apart`, vms: controlPlane, mandatory: drs.mandatory }]
      : [];
  return { hostGroups, vmGroups, vmHostRules, antiAffinityRules };
}
