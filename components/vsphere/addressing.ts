/**
 * Static IPv4 addressing of the VMs. The load balancer must know the control-plane addresses
 * before anything boots, so every address is decided here, from the VM's host and slot.
 */
import { FieldError } from "../validation";
import { Cidr, addressProblems, cidrsOverlap, formatIpv4 } from "../net";

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
  // GPU workers count down from the block's last address, so adding either kind of worker moves no address.
  const inBlock = slot.gpus ? spec.blockSize - slot.index : slot.role === "worker" ? 1 + slot.index : SLOT_OFFSET[slot.role];
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

/** The address range a host's block covers (its position in the host list decides it). */
export function hostAddressBlock(spec: AddressingSpec, hostPosition: number): { first: number; last: number } {
  const first = spec.cidr.network + spec.firstOffset + hostPosition * spec.blockSize;
  return { first, last: first + spec.blockSize - 1 };
}

/**
 * Every address must be a usable host address of the network, unique, not the gateway, and
 * outside the pod and service networks (`addressProblems`). A cluster network that overlaps the VM
 * network is reported once, at its own key, and not again for every address inside it.
 */
export function checkAddresses(
  spec: AddressingSpec,
  hostOrder: string[],
  slots: VmSlot[],
  clusterCidrs: { name: string; cidr: Cidr; path: string }[],
  paths: { network: string; workers: string },
): FieldError[] {
  const errors: FieldError[] = [];
  const maxWorkers = spec.blockSize - 2;
  const gpuWorkers = (h: string) => slots.filter((x) => x.hostId === h && x.gpus).length;
  const overflow = slots.find((s) => s.role === "worker" && !s.gpus && s.index + gpuWorkers(s.hostId) > maxWorkers && spec.overrides[s.name] === undefined)
    ?? slots.find((s) => s.gpus && s.index > maxWorkers && spec.overrides[s.name] === undefined);
  if (overflow) {
    errors.push({
      path: `${paths.network}.addressing.blockSize`,
      message: `host "${overflow.hostId}" has more workers than its address block holds (${maxWorkers} with blockSize ${spec.blockSize}); raise blockSize or set ${paths.network}.addresses.${overflow.name}`,
    });
  }
  const disjoint: { name: string; cidr: Cidr }[] = [];
  for (const c of clusterCidrs) {
    if (cidrsOverlap(spec.cidr, c.cidr)) errors.push({ path: c.path, message: `${c.name} ${c.cidr.text} overlaps the VM network ${spec.cidr.text}` });
    else disjoint.push({ name: c.name, cidr: c.cidr });
  }
  const byIp = new Map<number, string>();
  const addresses = assignAddresses(spec, hostOrder, slots);
  // Derived addresses share one key: report the first problem there, and how many VMs have one.
  const derived: string[] = [];
  for (const s of slots) {
    const overridden = spec.overrides[s.name] !== undefined;
    const path = overridden ? `${paths.network}.addresses.${s.name}` : `${paths.network}.addressing`;
    const ip = addresses.get(s.name)!;
    const problems = addressProblems(ip, s.name, {
      network: spec.cidr,
      gateway: spec.gateway,
      clusterCidrs: disjoint,
    });
    const other = byIp.get(ip);
    if (other !== undefined) problems.push(`address ${formatIpv4(ip)} of ${s.name} is already used by ${other}`);
    byIp.set(ip, s.name);
    if (overridden) for (const message of problems) errors.push({ path, message });
    else if (problems.length > 0) derived.push(problems[0]);
  }
  // An overflowing block makes derived addresses collide with the next block: that is the one problem.
  if (derived.length > 0 && !overflow) {
    const more = derived.length > 1 ? ` (the derived addresses of ${derived.length - 1} more VMs have problems too)` : "";
    errors.push({ path: `${paths.network}.addressing`, message: `${derived[0]}${more}; change cidr, firstOffset or blockSize, or pin addresses in ${paths.network}.addresses` });
  }
  return errors;
}
