// The endpoint allow-list's rules on resolved addresses: names that resolve
// inward, the provider's own listen address, CIDR allowances. Name
// resolution is the one thing replaced here (a test cannot own DNS names);
// the EC2 multi-tenant test exercises the whole path over gRPC.
import { describe, expect, test } from "bun:test";
import { ProviderError } from "../errors";
import { EndpointPolicy, parseEndpointPatterns } from "./endpoint-policy";

const NAMES: Record<string, string[]> = {
  "metadata.evil.example": ["169.254.169.254"],
  "inward.evil.example": ["10.0.0.7"],
  "mixed.evil.example": ["203.0.113.5", "127.0.0.1"],
  "keystone.corp.example": ["10.20.0.5"],
  "public.example": ["203.0.113.9"],
};
const resolve = async (host: string) => {
  const found = NAMES[host];
  if (!found) throw new Error("ENOTFOUND");
  return found;
};
const signal = new AbortController().signal;

async function outcome(policy: EndpointPolicy, url: string): Promise<string> {
  try {
    await policy.check("OS_AUTH_URL", url, signal);
    return "allowed";
  } catch (err) {
    return `${(err as ProviderError).code}: ${(err as Error).message}`;
  }
}

describe("endpoint allow-list", () => {
  test("every resolved address is checked: a permitted name that resolves inward is refused", async () => {
    const policy = new EndpointPolicy(parseEndpointPatterns("https://*.evil.example,https://public.example"), () => undefined, resolve);
    expect(await outcome(policy, "https://metadata.evil.example/")).toContain('PERMISSION_DENIED: OS_AUTH_URL: endpoint "metadata.evil.example" is refused by the rule "never link-local');
    expect(await outcome(policy, "https://inward.evil.example/")).toContain("private addresses only when");
    expect(await outcome(policy, "https://mixed.evil.example/")).toContain("never loopback");
    expect(await outcome(policy, "https://public.example/v3")).toBe("allowed");
    expect(await outcome(policy, "http://public.example/v3")).toContain("not in --allowed-endpoints"); // the pattern says https
    expect(await outcome(policy, "https://user:pw@public.example/")).toContain("user information");
    expect(await outcome(policy, "file:///etc/passwd")).toContain("only http and https");
  });

  test("a CIDR pattern allows a private range; loopback and link-local stay refused whatever the patterns say", async () => {
    const policy = new EndpointPolicy(parseEndpointPatterns("10.20.0.0/16,127.0.0.0/8,169.254.0.0/16,*"), () => undefined, resolve);
    expect(await outcome(policy, "https://keystone.corp.example:5000/v3")).toBe("allowed");
    expect(await outcome(policy, "https://10.20.9.9:8006")).toBe("allowed");
    expect(await outcome(policy, "https://inward.evil.example")).toContain("private addresses only when");
    expect(await outcome(policy, "http://127.0.0.1:5000")).toContain("never loopback");
    expect(await outcome(policy, "http://[::1]:5000")).toContain("never loopback");
    expect(await outcome(policy, "http://169.254.169.254")).toContain("never link-local");
    expect(await outcome(policy, "http://[fe80::1]")).toContain("never link-local");
  });

  test("the provider's own listen address is refused on its port", async () => {
    const policy = new EndpointPolicy(parseEndpointPatterns("*,203.0.113.0/24"), () => ({ host: "203.0.113.9", port: 50051 }), resolve);
    expect(await outcome(policy, "http://public.example:50051")).toContain("never this provider's own listen address");
    expect(await outcome(policy, "http://203.0.113.9:50051")).toContain("never this provider's own listen address");
    expect(await outcome(policy, "http://public.example:8080")).toBe("allowed");
  });

  test("a name no pattern could allow is refused without a lookup; an unresolvable allowed one is UNAVAILABLE", async () => {
    let lookups = 0;
    const counting = async (h: string) => {
      lookups++;
      return resolve(h);
    };
    const policy = new EndpointPolicy(parseEndpointPatterns("https://*.amazonaws.com"), () => undefined, counting);
    expect(await outcome(policy, "https://public.example")).toContain("not in --allowed-endpoints");
    expect(lookups).toBe(0);
    expect(await outcome(policy, "https://ec2.nowhere.amazonaws.com")).toContain("UNAVAILABLE");
  });

  test("bad patterns are refused at start-up", () => {
    expect(() => parseEndpointPatterns("10.0.0.0/40")).toThrow("not a valid CIDR");
    expect(() => parseEndpointPatterns("https://exa mple.com")).toThrow("not a pattern");
  });
});
