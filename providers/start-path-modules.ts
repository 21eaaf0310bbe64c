// Starts one provider's sandbox in this process, then prints which of the
// packages a start must not evaluate got loaded by the time it serves, as
// JSON; then encodes one contract message and prints the list again (the
// control: the same check sees protobufjs once a call needs it). For
// start-path.test.ts: a module graph is per process, so each provider
// needs a process of its own.
import { parseArgs } from "../shared/config";
import { serviceDefinition } from "../shared/grpc/descriptors";
import { createLogger } from "../shared/log";
import { allFlags, startProvider } from "../shared/main";
import { packagesLoaded } from "../shared/testing/module-probe";
import { providerEntry } from "./index";

/** Packages (by path fragment) that only a call, never a start, may load. */
export const NOT_AT_START: Record<string, string> = {
  protobufjs: "/node_modules/protobufjs/",
  "@grpc/proto-loader": "/node_modules/@grpc/proto-loader/",
  ssh2: "/node_modules/ssh2/",
  "google-auth-library": "/node_modules/google-auth-library/",
  "@aws-sdk": "/node_modules/@aws-sdk/",
  "@google-cloud/compute": "/node_modules/@google-cloud/compute/",
  "a price catalog": "/pricing/catalog.generated.ts",
};

const loaded = () => packagesLoaded(NOT_AT_START);

const def = await providerEntry(process.argv[2]!).load();
const { settings } = parseArgs(allFlags(def), ["--sandbox", "--host", "127.0.0.1", "--port", "0"], {});
const started = await startProvider(def, settings, createLogger({ level: "error", write: () => {} }));
const atServing = loaded();
const info = serviceDefinition().GetProviderInfo!;
info.responseSerialize({ name: def.name });
console.log(JSON.stringify({ atServing, afterFirstMessage: loaded() }));
await started.running.shutdown("done");
process.exit(0);
