// Compiled into a throwaway binary by startup-profile.ts, exactly as a
// provider is (bytecode, code splitting): evaluates what the aws provider's
// sandbox start evaluates, one piece at a time, and prints how long each
// took as JSON. The order follows the real import graph, so a shared
// dependency is charged to the first piece that needs it. The phases after
// "startProvider" are work a start no longer does (it waits for the first
// call that needs it), measured so a regression that puts it back shows.
// No top-level await: a bytecode entry point cannot have one.
async function probe(): Promise<void> {
  const t0 = performance.now();
  const marks: [string, number][] = [];
  const mark = (name: string) => marks.push([name, performance.now()]);

  const grpc = await import("@grpc/grpc-js");
  mark("evaluate @grpc/grpc-js");
  await import("../../shared/grpc/descriptor-set.generated");
  mark("evaluate the embedded descriptor set module");
  const descriptors = await import("../../shared/grpc/descriptors");
  mark("evaluate shared/grpc/descriptors (no protobufjs)");
  const { createHealth } = await import("../../shared/server/health");
  mark("evaluate shared/server/health (hand-written codecs)");
  const { addReflection } = await import("../../shared/server/reflection");
  mark("evaluate shared/server/reflection");
  const main = await import("../../shared/main");
  mark("evaluate the rest of shared/main");
  const { awsProvider } = await import("../../providers/aws/definition");
  mark("evaluate providers/aws/definition (sandbox profile; price catalog on first use)");
  descriptors.serviceDefinition();
  mark("the provider service's method table (codecs built on first use)");
  createHealth();
  mark("health service");
  addReflection(new grpc.Server());
  mark("reflection service registered (index built on the first question)");
  const { createLogger } = await import("../../shared/log");
  const { parseArgs } = await import("../../shared/config");
  const { settings } = parseArgs(main.allFlags(awsProvider), ["--sandbox", "--host", "127.0.0.1", "--port", "0"], {});
  const started = await main.startProvider(awsProvider, settings, createLogger({ level: "error" }));
  mark("startProvider: sandbox, service, bind");
  const serving = performance.now();
  const uptimeAtServing = process.uptime() * 1000;
  Bun.gc(true);
  const memory = { rss: process.memoryUsage().rss };
  mark("(a full GC and the RSS reading: not part of a start)");

  // After SERVING: what the first calls pay.
  const info = descriptors.serviceDefinition().GetProviderInfo!;
  info.responseDeserialize(info.responseSerialize({ name: "aws", version: "x" }));
  mark("after SERVING: first provider message (protobufjs evaluated, contract root built)");
  const { DescriptorIndex } = await import("../../shared/server/reflection");
  new DescriptorIndex(descriptors.fileDescriptorProtos());
  mark("after SERVING: reflection index (first reflection question)");
  awsProvider.sandboxProfile({}).price("m5.large", "us-east-1", undefined);
  mark("after SERVING: first price quote (EC2 price catalog evaluated)");

  let previous = t0;
  const phases = marks.map(([name, at]) => {
    const ms = at - previous;
    previous = at;
    return { name, ms };
  });
  console.log(JSON.stringify({ phases, sinceFirstLineMs: serving - t0, processUptimeMs: uptimeAtServing, memory }));
  await started.running.server.forceShutdown();
  process.exit(0);
}

void probe();
export {};
