/**
 * Static IPv4 addressing of the VMs. The load balancer must know the control-plane addresses
 * before anything boots, so every address is decided here, from the VM's host and slot.
 */
import { FieldError } from "../validation";
import { Cidr, cidrContains, cidrsOverlap, formatIpv4, isUsableHost } from "../net";

export * from "../net";
import { VmSlot } from "./placement";

export interface AddressingSpec {
  cidr: Cidr;
  gateway: number;
  /** Offset inside the CIDR of the first host's address block. */
  firstOffset: number;
  /** Addresses per host: offset 0 the control plane, 1 the load balancer, 2.. the workers. */
  blockSize: number;
  /** Explicit addresses by VM name; win over the derived ones. */
  overrides: Record<string, number>;
}

const SLOT_OFFSET: Record<string, number> = { "control-plane": 0, "load-balancer": 1 };

/** The derived address of a slot: its host's block, then its role and index inside the block. */
export function derivedAddress(spec: AddressingSpec, hostPosition: number, slot: VmSlot): number {
  const inBlock = slot.role === "worker" ? 1 + slot.index : SLOT_OFFSET[slot.role];
  return spec.cidr.network + spec.firstOffset + hostPosition * spec.blockSize + inBlock;
}

/** Address per VM name. `hostOrder` gives each host id's position (its address block). */
export function assignAddresses(spec: AddressingSpec, hostOrder: string[], slots: VmSlot[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of slots) {
    out.set(s.name, spec.overrides[s.name] ?? derivedAddress(spec, hostOrder.indexOf(s.hostId), s));
  }
  return out;
}

/**
 * Every address must be a usable host address of the network, unique, not the gateway, and
 * outside the pod and service CIDRs. Extra reserved addresses (a kube-vip VIP) are checked too.
 */
export function checkAddresses(
  spec: AddressingSpec,
  hostOrder: string[],
  slots: VmSlot[],
  reserved: { name: string; ip: number; path: string }[],
  clusterCidrs: { name: string; cidr: Cidr; path: string }[],
  paths: { network: string; workers: string },
): FieldError[] {
  const errors: FieldError[] = [];
  const maxWorkers = spec.blockSize - 2;
  for (const s of slots) {
    if (s.role === "worker" && s.index > maxWorkers && spec.overrides[s.name] === undefined) {
      errors.push({
        path: `${paths.network}.addressing.blockSize`,
        message: `host "${s.hostId}" has more workers than its address block holds (${maxWorkers} with blockSize ${spec.blockSize}); raise blockSize or set ${paths.network}.addresses.${s.name}`,
      });
      break;
    }
  }
  for (const c of clusterCidrs) {
    if (cidrsOverlap(spec.cidr, c.cidr)) {
      errors.push({ path: c.path, message: `${c.name} ${c.cidr.text} overlaps the VM network ${spec.cidr.text}` });
    }
  }
  const byIp = new Map<number, string>();
  const claim = (name: string, ip: number, path: string) => {
    const text = formatIpv4(ip);
    if (!isUsableHost(spec.cidr, ip)) {
      errors.push({ path, message: `address ${text} of ${name} is outside the network ${spec.cidr.text} (or is its network/broadcast address)` });
    }
    if (ip === spec.gateway) errors.push({ path, message: `address ${text} of ${name} is the gateway's address` });
    const other = byIp.get(ip);
    if (other !== undefined) errors.push({ path, message: `address ${text} of ${name} is already used by ${other}` });
    byIp.set(ip, name);
    for (const c of clusterCidrs) {
      if (cidrContains(c.cidr, ip)) errors.push({ path, message: `address ${text} of ${name} lies inside the ${c.name} ${c.cidr.text}` });
    }
  };
  const addresses = assignAddresses(spec, hostOrder, slots);
  for (const s of slots) {
    const overridden = spec.overrides[s.name] !== undefined;
    claim(s.name, addresses.get(s.name)!, overridden ? `${paths.network}.addresses.${s.name}` : `${paths.network}.addressing`);
  }
  for (const r of reserved) claim(r.name, r.ip, r.path);
  return errors;
}
