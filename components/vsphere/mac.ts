/**
 * Static MAC addresses for the VMs' first NIC, derived from the VM's identity so that the guest's
 * network configuration can match the NIC by MAC before the VM exists (cloud-init only renames
 * an interface it matched by MAC; netplan's rename rule fires on a device add that has already
 * happened at first boot). Pure and engine-free.
 *
 * vSphere accepts manually assigned MACs only in VMware's static range 00:50:56:00:00:00 –
 * 00:50:56:3F:FF:FF (the OUI 00:50:56 with the top two bits of the fourth octet clear): 2^22
 * addresses. The provider sets them with `networkInterfaces[].useStaticMac: true` and
 * `macAddress` (hashicorp/terraform-provider-vsphere,
 * vsphere/internal/virtualdevice/virtual_machine_network_interface_subresource.go at
 * 0126314ba506eabf625f99c36bdee50b611a9070: `use_static_mac`, `mac_address`; both names are
 * checked against the vendored pulumi-vsphere 4.17.0 schema by the tests).
 *
 * Derived from `sha256("<cluster name>/<VM name>")`: stable (the same VM always gets the same MAC,
 * whatever else the cluster holds), independent of the order of the VMs, and different clusters get
 * different MACs. Two VMs of one cluster deriving the same MAC (about 1 in 22,000 for 20 VMs) is an
 * error naming both and proposing a free address for an explicit override: nothing is renumbered
 * silently, so adding a VM never changes another VM's MAC.
 */
import { createHash } from "node:crypto";
import type { FieldError } from "../validation";

/** VMware's OUI for manually assigned MACs. */
export const VMWARE_OUI = "00:50:56";
/** First and last address of VMware's manual range. */
export const VMWARE_MANUAL_MAC_FIRST = "00:50:56:00:00:00";
export const VMWARE_MANUAL_MAC_LAST = "00:50:56:3f:ff:ff";
/** The 22 bits below the OUI a manual MAC may use. */
const MANUAL_BITS = 0x3fffff;

const MAC_PATTERN = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/;

function formatManualMac(low22: number): string {
  const b = [(low22 >> 16) & 0x3f, (low22 >> 8) & 0xff, low22 & 0xff];
  return `${VMWARE_OUI}:${b.map((x) => x.toString(16).padStart(2, "0")).join(":")}`;
}

/**
 * The MAC of a VM: the first 22 bits of `sha256("<clusterName>/<vmName>")` under VMware's OUI,
 * lower-case. `attempt` > 0 gives the alternative addresses proposed when two VMs collide.
 */
export function deriveMacAddress(clusterName: string, vmName: string, attempt = 0): string {
  const identity = attempt === 0 ? `${clusterName}/${vmName}` : `${clusterName}/${vmName}/${attempt}`;
  const digest = createHash("sha256").update(identity).digest();
  return formatManualMac(digest.readUIntBE(0, 3) & MANUAL_BITS);
}

/** A MAC written as six colon-separated hex octets, lower-cased; `undefined` when it is not one. */
export function normalizeMac(mac: string): string | undefined {
  const m = mac.trim().toLowerCase();
  return MAC_PATTERN.test(m) ? m : undefined;
}

/** Whether a (normalized) MAC lies in VMware's manual range 00:50:56:00:00:00–00:50:56:3f:ff:ff. */
export function isVmwareManualMac(mac: string): boolean {
  const m = MAC_PATTERN.exec(mac);
  return m !== null && `${m[1]}:${m[2]}:${m[3]}` === VMWARE_OUI && parseInt(m[4], 16) <= 0x3f;
}

export interface MacAssignment {
  /** MAC per VM name: every VM named, the valid overrides applied (colliding ones too, when there are errors). */
  readonly macs: Readonly<Record<string, string>>;
  /** Paths are `<overridesPath>.<vm name>`. */
  readonly errors: readonly FieldError[];
}

/**
 * The MAC of every VM of a cluster: the derived one, or the override given for it. Checks the
 * overrides (a known VM, a MAC, inside the manual range) and that no two VMs share a MAC; a
 * collision is reported on the VM whose name sorts last, with a free address to set for it.
 * `overridesPath` names the overrides in errors (the config key or the component argument).
 */
export function assignMacAddresses(
  clusterName: string,
  vmNames: readonly string[],
  overrides: Readonly<Record<string, string>> = {},
  overridesPath = "macAddresses",
): MacAssignment {
  const errors: FieldError[] = [];
  const known = new Set(vmNames);
  const macs: Record<string, string> = {};
  for (const name of vmNames) macs[name] = deriveMacAddress(clusterName, name);
  for (const [name, raw] of Object.entries(overrides)) {
    const path = `${overridesPath}.${name}`;
    if (!known.has(name)) {
      errors.push({ path, message: `no VM is named "${name}"` });
      continue;
    }
    const mac = typeof raw === "string" ? normalizeMac(raw) : undefined;
    if (mac === undefined) {
      errors.push({ path, message: `${JSON.stringify(raw)} is not a MAC address (six hex octets separated by ':')` });
    } else if (!isVmwareManualMac(mac)) {
      errors.push({ path, message: `${mac} is outside VMware's range for manual MACs, ${VMWARE_MANUAL_MAC_FIRST}–${VMWARE_MANUAL_MAC_LAST}` });
    } else {
      macs[name] = mac;
    }
  }
  // Sorted, so the VM reported does not depend on the order the VMs were listed in.
  const owner = new Map<string, string>();
  const used = new Set(Object.values(macs));
  for (const name of [...vmNames].sort()) {
    const mac = macs[name];
    const first = owner.get(mac);
    if (first === undefined) {
      owner.set(mac, name);
      continue;
    }
    const free = freeAlternative(clusterName, name, used);
    used.add(free);
    errors.push({
      path: `${overridesPath}.${name}`,
      message: `VM "${name}" would get the MAC ${mac} that VM "${first}" has; set ${overridesPath}.${name} to a free address such as ${free}`,
    });
  }
  return { macs, errors };
}

/** The first alternative derived address of a VM that no VM uses. */
function freeAlternative(clusterName: string, vmName: string, used: ReadonlySet<string>): string {
  for (let attempt = 1; ; attempt++) {
    const mac = deriveMacAddress(clusterName, vmName, attempt);
    if (!used.has(mac)) return mac;
  }
}
