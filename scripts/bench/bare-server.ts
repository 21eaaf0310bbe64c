#!/usr/bin/env bun
// The baseline of the framework-overhead comparison: a bare grpc-js server
// serving the same contract (the same embedded descriptors), with the same
// health and reflection services as a provider, and nothing else: no
// request id, no log line, no deadline signal, no validation, no reply
// budget. Every call answers a fixed reply: the ones the sandbox provider
// gave for the same request, captured by the benchmark (replies.ts) and
// passed as a JSON file, so both servers encode the same message objects.
// Compiled like a provider binary (variants.ts). No top-level await: the
// build ships bytecode.
//
//   bare-server --host 127.0.0.1 --port 50051 --replies replies.json
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { SERVICE_NAME, serviceDefinition } from "../../shared/grpc/descriptors";
import { createHealth } from "../../shared/server/health";
import { addReflection } from "../../shared/server/reflection";

function flag(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (value === undefined) throw new Error(`bare-server: --${name} is required`);
  return value;
}

function main(): void {
  const replies = JSON.parse(readFileSync(flag("replies"), "utf8")) as Record<string, object>;
  const definition = serviceDefinition();
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(definition)) {
    const reply = replies[method];
    handlers[method] = (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      reply ? callback(null, reply) : callback({ code: grpc.status.UNIMPLEMENTED, details: `${SERVICE_NAME}/${method}: no reply captured` }, null);
  }
  const server = new grpc.Server();
  server.addService(definition, handlers);
  createHealth().health.addToServer(server);
  addReflection(server);
  server.bindAsync(`${flag("host")}:${flag("port")}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) {
      console.error(`bare-server: ${err.message}`);
      process.exit(1);
    }
  });
  const stop = () => server.tryShutdown(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main();
