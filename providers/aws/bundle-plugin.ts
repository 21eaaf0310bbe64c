// Keeps out of the aws binary three parts of the AWS SDK that its clients
// never run, each loaded (or bundled) by a module the clients do use:
// - @smithy/core/cbor: @aws-sdk/core/protocols defines the Smithy RPCv2
//   CBOR protocol beside the others, but EC2 speaks the EC2 query protocol,
//   STS the query protocol, SSO, SSO-OIDC and sign-in REST-JSON;
// - @smithy/core/event-streams: loaded by the protocols only for an
//   operation with an event stream, which none of these services has;
// - bowser: parses a browser's user agent for the SDK's browser user-agent
//   provider; the Node runtime config uses the Node one.
// About 76 KB of minified JavaScript, 0.27 MiB of the compiled binary with
// its bytecode. Each is replaced, where those modules import it, by a
// stand-in (shared/left-out-module.ts) whose exports can be destructured
// and extended at load but throw, naming it, when used. The aws tests run
// the compiled binary against moto (binary.test.ts); bundle-plugin.test.ts
// checks what the bundle holds.
import type { BunPlugin } from "bun";
import { leftOutModule } from "../../shared/left-out-module";

/** Each left-out module, the package that imports it, and why it is never used. */
export const LEFT_OUT: Record<string, { importer: RegExp; why: string }> = {
  "@smithy/core/cbor": { importer: /node_modules[\\/]@aws-sdk[\\/]core[\\/]/, why: "no client of the aws provider speaks Smithy RPCv2 CBOR" },
  "@smithy/core/event-streams": { importer: /node_modules[\\/]@smithy[\\/]core[\\/]/, why: "no operation the aws provider calls has an event stream" },
  bowser: { importer: /node_modules[\\/]@aws-sdk[\\/]core[\\/]/, why: "it parses browser user agents; the Node runtime config does not" },
};

const STUB_NAMESPACE = "skyclust-aws-left-out";

export function leftOutStub(module: string): string {
  return leftOutModule(`${module} is left out of the aws binary: ${LEFT_OUT[module]!.why} (providers/aws/bundle-plugin.ts)`, { exports: "placeholders" });
}

export const awsSdkTrimPlugin: BunPlugin = {
  name: "aws-sdk-trim",
  setup(build) {
    build.onResolve({ filter: /^(@smithy\/core\/cbor|@smithy\/core\/event-streams|bowser)$/ }, (args) => {
      const entry = LEFT_OUT[args.path];
      if (!entry?.importer.test(args.importer)) return undefined;
      return { path: args.path, namespace: STUB_NAMESPACE };
    });
    build.onLoad({ filter: /.*/, namespace: STUB_NAMESPACE }, (args) => ({ contents: leftOutStub(args.path), loader: "js" }));
  },
};
