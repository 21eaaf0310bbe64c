// Starts the sandbox provider in this process with the given flags (and,
// with --trace, an OTLP endpoint), then prints which telemetry packages got
// loaded, as JSON. For telemetry/lazy-load.test.ts: a module graph is per
// process, so the question needs a process of its own.
import { parseArgs } from "../config";
import { createLogger } from "../log";
import { allFlags, startProvider } from "../main";
import type { ProviderDefinition } from "../definition";
import { conformanceSandboxDefinition } from "../conformance/sandbox-target";
import { packagesLoaded } from "./module-probe";

const def: ProviderDefinition = conformanceSandboxDefinition;
const argv = process.argv.slice(2);
const trace = argv.includes("--trace");
const flags = argv.filter((a) => a !== "--trace");
const { settings } = parseArgs(allFlags(def), ["--sandbox", "--host", "127.0.0.1", "--port", "0", ...flags], {});
const env = trace ? { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" } : {};
const started = await startProvider(def, settings, createLogger({ level: "error", write: () => {} }), env);
const loaded = packagesLoaded({ promClient: "/prom-client/", openTelemetrySdk: "/@opentelemetry/sdk-trace" });
console.log(JSON.stringify({ promClient: loaded.includes("promClient"), openTelemetrySdk: loaded.includes("openTelemetrySdk") }));
await started.running.shutdown("done");
process.exit(0);
