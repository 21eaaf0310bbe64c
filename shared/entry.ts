// The first module a provider binary evaluates. The `healthcheck`
// subcommand, which container engines run every few seconds, loads nothing
// but the health client; `tunnel` loads the gRPC client and no provider;
// anything else loads the server and the provider's
// definition. (Inside one bundle, `import()` only defers evaluation, which
// is what costs: the binary ships precompiled bytecode, so parsing is cheap.)
import type { ProviderDefinition } from "./definition";

export interface ProviderIdentity {
  /** "aws", "gcp", ... */
  name: string;
  defaultPort: number;
}

export function binaryName(provider: string): string {
  // A compiled binary is named after its file; a source run after the product.
  // `typeof Bun` keeps the same code runnable under Node (scripts/bench compares runtimes).
  const compiled = typeof Bun !== "undefined" && Bun.main.startsWith("/$bunfs");
  return compiled ? (process.execPath.split("/").pop() ?? provider) : `skyclust-${provider}-provider`;
}

export async function runBinary(identity: ProviderIdentity, definition: () => Promise<ProviderDefinition>): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "healthcheck") {
    const { runHealthcheck } = await import("./healthcheck");
    const code = await runHealthcheck(binaryName(identity.name), identity.defaultPort, argv.slice(1)).catch((e) => (console.error(String(e?.message ?? e)), 2));
    process.exit(code);
  }
  if (argv[0] === "tunnel") {
    // A client of the provider's TunnelInstancePort; needs no provider definition.
    const { runTunnel } = await import("./tunnel-client");
    const code = await runTunnel(binaryName(identity.name), argv.slice(1)).catch((e) => (console.error(String(e?.message ?? e)), 2));
    process.exit(code);
  }
  const [{ runProvider }, def] = await Promise.all([import("./main"), definition()]);
  await runProvider(def, argv);
}
