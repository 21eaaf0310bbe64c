// Compiled into a throwaway binary by startup-profile.ts: evaluates what a
// provider's start-up evaluates, one piece at a time, and prints how long
// each took as JSON. The order follows the real import graph, so a shared
// dependency is charged to the first piece that needs it.
const t0 = performance.now();
const marks: [string, number][] = [];
const mark = (name: string) => marks.push([name, performance.now()]);

const grpc = await import("@grpc/grpc-js");
mark("evaluate @grpc/grpc-js");
await import("@grpc/proto-loader");
mark("evaluate @grpc/proto-loader (+ protobufjs)");
const generated = await import("../../shared/grpc/descriptor-set.generated");
mark("evaluate the embedded descriptor set module");
const descriptors = await import("../../shared/grpc/descriptors");
mark("evaluate shared/grpc/descriptors");
await import("../../shared/server/health");
mark("evaluate shared/server/health");
await import("@grpc/reflection");
mark("evaluate @grpc/reflection");
await import("ssh2");
mark("evaluate ssh2");
await import("../../providers/aws/pricing/quote");
mark("evaluate providers/aws/pricing (bundled EC2 price catalog)");
const main = await import("../../shared/main");
mark("evaluate the rest of shared/main");
const { awsProvider } = await import("../../providers/aws/definition");
mark("evaluate providers/aws/definition");
JSON.parse(generated.PROTOBUF_JSON);
mark("JSON.parse of the descriptor JSON (once)");
descriptors.serviceDefinition();
mark("the provider service's codecs (serviceDefinition: protobufjs root, codecs built on first use)");
const { createHealth } = await import("../../shared/server/health");
createHealth();
mark("health service");
const { addReflection } = await import("../../shared/server/reflection");
addReflection(new grpc.Server());
mark("reflection service (parses the descriptor set)");
const { createLogger } = await import("../../shared/log");
const { parseArgs } = await import("../../shared/config");
const { settings } = parseArgs(main.allFlags(awsProvider), ["--sandbox", "--host", "127.0.0.1", "--port", "0"], {});
const started = await main.startProvider(awsProvider, settings, createLogger({ level: "error" }));
mark("startProvider: sandbox, service, second reflection, bind");

let previous = t0;
const phases = marks.map(([name, at]) => {
  const ms = at - previous;
  previous = at;
  return { name, ms };
});
Bun.gc(true);
const memory = { rss: process.memoryUsage().rss };
console.log(JSON.stringify({ phases, sinceFirstLineMs: previous - t0, processUptimeMs: process.uptime() * 1000, memory }));
await started.running.server.forceShutdown();
process.exit(0);
export {};
