// The sandbox's "cloud" is its backend: each backend method is one simulated
// cloud request (with --sandbox-latency-ms, --sandbox-fail-regions), so it is
// observed per method, as a real backend observes each API request. Real
// backends call observeCloudCall at their API boundary instead.
import type { CallContext, CloudBackend } from "../provider";
import { observeCloudCall } from "./cloud";

const OPERATIONS = [
  "listRegions",
  "listInstances",
  "getInstance",
  "createInstance",
  "deleteInstance",
  "startInstance",
  "stopInstance",
  "restartInstance",
  "priceQuote",
  "createKeyPair",
  "importKeyPair",
  "listKeyPairs",
  "deleteKeyPair",
] as const;

export function observedSandbox<B extends CloudBackend>(backend: B): B {
  const operations = new Set<PropertyKey>(OPERATIONS);
  return new Proxy(backend, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      // Every method runs on the backend itself, never on the proxy, so its state stays in one place.
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      if (!operations.has(prop)) return bound;
      return (ctx: CallContext, arg?: { region?: unknown }, ...rest: unknown[]) => {
        const region = typeof arg?.region === "string" ? arg.region : "";
        return observeCloudCall(ctx, { provider: target.provider, operation: String(prop), region }, () => bound(ctx, arg, ...rest) as Promise<unknown>);
      };
    },
  });
}
