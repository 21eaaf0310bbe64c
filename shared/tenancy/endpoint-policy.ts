// Which endpoints a caller-supplied credential document may point the
// provider at (server-side request forgery): an OpenStack auth URL, a
// Proxmox host, an AWS or GCE endpoint override, a key file's token URI.
// The rules, checked on every address the host name resolves to (so a
// public-looking name that resolves inward is caught):
//   1. never loopback (127.0.0.0/8, ::1, 0.0.0.0, ::);
//   2. never link-local (169.254.0.0/16, which holds the instance metadata
//      address, and fe80::/10);
//   3. never this provider's own listen address;
//   4. the URL must match an --allowed-endpoints pattern (default: the
//      cloud's public endpoints);
//   5. private and shared ranges (10/8, 172.16/12, 192.168/16, 100.64/10,
//      fc00::/7) only when a CIDR pattern covers the address.
// A refusal is PERMISSION_DENIED naming the rule, never the credentials.
// What remains: the check and the connection resolve the name separately,
// so a name whose answer flips between them (DNS rebinding) is only caught
// when its first answer is already inward; name allowed hosts, not wildcards,
// where that matters.
import { BlockList, isIP } from "node:net";
import { lookup } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { abortError, permissionDenied, unavailable } from "../errors";
import { quote } from "../quote";

type HostPattern = { kind: "host"; scheme?: string; host: RegExp; port?: string; text: string };
type CidrPattern = { kind: "cidr"; list: BlockList; text: string };
export type EndpointPattern = HostPattern | CidrPattern;

const DNS_TIMEOUT_MS = 5_000;
const MAX_ADDRESSES = 16;

function ipFamily(address: string): "ipv4" | "ipv6" {
  return isIP(address) === 6 ? "ipv6" : "ipv4";
}

function blockList(ranges: [string, number, "ipv4" | "ipv6"][]): BlockList {
  const list = new BlockList();
  for (const [net, prefix, family] of ranges) list.addSubnet(net, prefix, family);
  return list;
}

const LOOPBACK = blockList([["127.0.0.0", 8, "ipv4"], ["0.0.0.0", 32, "ipv4"], ["::1", 128, "ipv6"], ["::", 128, "ipv6"]]);
const LINK_LOCAL = blockList([["169.254.0.0", 16, "ipv4"], ["fe80::", 10, "ipv6"]]);
const PRIVATE = blockList([
  ["10.0.0.0", 8, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["100.64.0.0", 10, "ipv4"],
  ["fc00::", 7, "ipv6"],
]);

/** "::ffff:127.0.0.1" is 127.0.0.1 for every rule. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

function inList(list: BlockList, address: string): boolean {
  const a = unmapped(address);
  return list.check(a, ipFamily(a));
}

function globToRegExp(glob: string): RegExp {
  const body = glob.toLowerCase().split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[a-z0-9.-]+");
  return new RegExp(`^${body}$`);
}

/** Parses --allowed-endpoints: comma-separated "https://*.example.com", "host:port", "10.0.0.0/8". */
export function parseEndpointPatterns(text: string): EndpointPattern[] {
  const out: EndpointPattern[] = [];
  for (const item of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const cidr = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(item);
    if (cidr) {
      const family = ipFamily(cidr[1]!);
      const prefix = Number(cidr[2]);
      if (!isIP(cidr[1]!) || prefix > (family === "ipv4" ? 32 : 128)) throw new Error(`--allowed-endpoints: "${item}" is not a valid CIDR range`);
      out.push({ kind: "cidr", list: blockList([[cidr[1]!, prefix, family]]), text: item });
      continue;
    }
    const m = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9*.-]+)(?::(\d{1,5}))?\/?$/.exec(item);
    if (!m) throw new Error(`--allowed-endpoints: "${item}" is not a pattern (SCHEME://HOST[:PORT], HOST[:PORT] with * wildcards, or a CIDR range)`);
    out.push({ kind: "host", scheme: m[1], host: globToRegExp(m[2]!.replace(/^\[|\]$/g, "")), port: m[3], text: item });
  }
  return out;
}

export interface OwnAddress {
  host: string;
  port: number;
}

export class EndpointPolicy {
  constructor(
    private readonly patterns: EndpointPattern[],
    private readonly own: () => OwnAddress | undefined,
    private readonly resolve: (host: string) => Promise<string[]> = resolveAll,
  ) {}

  /** Resolves and checks one URL; throws PERMISSION_DENIED naming the rule, or UNAVAILABLE if the name does not resolve. */
  async check(key: string, urlText: string, signal: AbortSignal): Promise<void> {
    let url: URL;
    try {
      url = new URL(urlText);
    } catch {
      throw permissionDenied(`${key}: not a URL, so it matches no allowed endpoint`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw permissionDenied(`${key}: only http and https endpoints may be used`);
    if (url.username || url.password) throw permissionDenied(`${key}: endpoints may not carry user information`);
    const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    const denied = (rule: string) => permissionDenied(`${key}: endpoint ${quote(url.host, 80)} is refused by the rule "${rule}"`);
    const byHost = this.patterns.some(
      (p) => p.kind === "host" && (!p.scheme || `${p.scheme}:` === url.protocol) && (!p.port || p.port === port) && p.host.test(host),
    );
    const hardRules = (addresses: string[]) => {
      for (const a of addresses) {
        if (inList(LOOPBACK, a)) throw denied("never loopback");
        if (inList(LINK_LOCAL, a)) throw denied("never link-local (169.254.0.0/16, the instance metadata address)");
        if (this.isOwnAddress(a, port)) throw denied("never this provider's own listen address");
      }
    };
    if (isIP(host)) hardRules([host]);
    else if (host === "localhost" || host.endsWith(".localhost")) throw denied("never loopback");
    // No name is looked up that no pattern could allow (a lookup is itself a request a caller would steer).
    if (!byHost && !this.patterns.some((p) => p.kind === "cidr")) throw denied("not in --allowed-endpoints");
    const addresses = isIP(host) ? [host] : await withSignal(this.resolve(host), signal, key, host);
    hardRules(addresses);
    const byCidr = (a: string) => this.patterns.some((p) => p.kind === "cidr" && inList(p.list, a));
    if (!byHost && !addresses.every(byCidr)) throw denied("not in --allowed-endpoints");
    for (const a of addresses) {
      if (inList(PRIVATE, a) && !byCidr(a)) throw denied("private addresses only when a --allowed-endpoints CIDR range covers them");
    }
  }

  private isOwnAddress(address: string, port: string): boolean {
    const own = this.own();
    if (!own || String(own.port) !== port) return false;
    const a = unmapped(address);
    if (unmapped(own.host) === a) return true;
    if (own.host !== "0.0.0.0" && own.host !== "::") return false;
    return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => unmapped(i.address) === a));
  }
}

async function resolveAll(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.slice(0, MAX_ADDRESSES).map((f) => f.address);
}

function withSignal(p: Promise<string[]>, signal: AbortSignal, key: string, host: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => reject(unavailable(`${key}: ${quote(host, 80)} did not resolve within ${DNS_TIMEOUT_MS / 1000} s`)), DNS_TIMEOUT_MS);
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (addresses) => (addresses.length === 0 ? reject(unavailable(`${key}: ${quote(host, 80)} has no address`)) : resolve(addresses)),
      () => reject(unavailable(`${key}: ${quote(host, 80)} does not resolve`)),
    ).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    });
  });
}
