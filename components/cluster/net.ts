/** IPv4 helpers for addresses and CIDRs (pure). */

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function isIPv4(s: unknown): s is string {
  return typeof s === "string" && IPV4.test(s);
}

/** The address as an unsigned 32-bit number. Throws on a malformed address. */
export function ipv4ToNumber(s: string): number {
  if (!isIPv4(s)) throw new Error(`not an IPv4 address: ${s}`);
  return s.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

export interface Cidr {
  /** Network address as a number (host bits cleared). */
  network: number;
  prefixLength: number;
}

/** Parses `a.b.c.d/n`; returns undefined when malformed or when host bits are set. */
export function parseCidr(s: unknown): Cidr | undefined {
  if (typeof s !== "string") return undefined;
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1])) return undefined;
  const prefixLength = Number(m[2]);
  if (prefixLength > 32) return undefined;
  const addr = ipv4ToNumber(m[1]);
  const network = networkOf(addr, prefixLength);
  if (network !== addr) return undefined;
  return { network, prefixLength };
}

export function networkOf(addr: number, prefixLength: number): number {
  const size = 2 ** (32 - prefixLength);
  return Math.floor(addr / size) * size;
}

export function cidrContains(c: Cidr, addr: string): boolean {
  return networkOf(ipv4ToNumber(addr), c.prefixLength) === c.network;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefixLength, b.prefixLength);
  return networkOf(a.network, p) === networkOf(b.network, p);
}
