/** IPv4 addresses and CIDRs (pure): shared by the vSphere and cluster layers. */

export interface Cidr {
  text: string;
  network: number;
  prefixLength: number;
}

export function isIPv4(s: unknown): s is string {
  return typeof s === "string" && parseIpv4(s) !== undefined;
}

export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith("0")))) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseCidr(s: unknown): Cidr | undefined {
  if (typeof s !== "string") return undefined;
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const ip = parseIpv4(m[1]);
  const prefixLength = Number(m[2]);
  if (ip === undefined || prefixLength > 32) return undefined;
  const network = (ip & mask(prefixLength)) >>> 0;
  if (network !== ip) return undefined; // host bits set: ambiguous, reject
  return { text: s, network, prefixLength };
}

function mask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefixLength);
}

/** Whether the address (a number or dotted text) lies inside the CIDR. */
export function cidrContains(c: Pick<Cidr, "network" | "prefixLength">, ip: number | string): boolean {
  const n = typeof ip === "string" ? parseIpv4(ip) : ip;
  return n !== undefined && ((n & mask(c.prefixLength)) >>> 0) === c.network;
}

/** The network address of `ip` for a prefix length. */
export function networkOf(ip: number, prefixLength: number): number {
  return (ip & mask(prefixLength)) >>> 0;
}

/** A usable host address: inside the CIDR, not its network or broadcast address (for prefixes below /31). */
export function isUsableHost(c: Cidr, ip: number): boolean {
  if (!cidrContains(c, ip)) return false;
  if (c.prefixLength >= 31) return true;
  return ip !== c.network && ip !== c.network + cidrSize(c) - 1;
}

export function cidrsOverlap(a: Pick<Cidr, "network" | "prefixLength">, b: Pick<Cidr, "network" | "prefixLength">): boolean {
  const p = Math.min(a.prefixLength, b.prefixLength);
  return ((a.network & mask(p)) >>> 0) === ((b.network & mask(p)) >>> 0);
}


/**
 * The rules every node address obeys, in one place: a usable host address of its network (not the
 * network or broadcast address), not the gateway, outside the pod and service networks. Messages
 * name the address and `what` it belongs to.
 */
export function addressProblems(
  ip: number,
  what: string,
  ctx: { network: Cidr; gateway?: number; clusterCidrs?: { name: string; cidr: Cidr }[] },
): string[] {
  const text = formatIpv4(ip);
  const out: string[] = [];
  if (!isUsableHost(ctx.network, ip)) out.push(`address ${text} of ${what} is outside the network ${ctx.network.text} (or is its network/broadcast address)`);
  if (ip === ctx.gateway) out.push(`address ${text} of ${what} is the gateway's address`);
  for (const c of ctx.clusterCidrs ?? []) {
    if (cidrContains(c.cidr, ip)) out.push(`address ${text} of ${what} lies inside the ${c.name} ${c.cidr.text}`);
  }
  return out;
}
