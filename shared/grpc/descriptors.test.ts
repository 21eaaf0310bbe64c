// serviceDefinition() builds the provider service's codecs without
// proto-loader's createPackageDefinition (start-up cost): its wire bytes
// and decoded objects must be exactly proto-loader's.
import { expect, test } from "bun:test";
import { SERVICE_NAME, serviceDefinition } from "./descriptors";
import { packageDefinition } from "./package-definition";

const lean = serviceDefinition() as Record<string, any>;
const loader = packageDefinition()[SERVICE_NAME] as Record<string, any>;

test("the same methods, paths and stream kinds as proto-loader's definition", () => {
  expect(Object.keys(lean).sort()).toEqual(Object.keys(loader).sort());
  for (const [name, m] of Object.entries(lean)) {
    const { path, requestStream, responseStream, originalName } = loader[name];
    expect({ path: m.path, requestStream: m.requestStream, responseStream: m.responseStream, originalName: m.originalName }).toEqual({ path, requestStream, responseStream, originalName });
  }
});

test("the same bytes and objects for requests and replies with nested messages, maps, enums and 64-bit numbers", () => {
  const request = { region: "us-east-1", page_size: 100, page_token: "t", filters: { state: "running" } };
  const reply = {
    instances: [
      { id: "i-1", name: "web", status: "running", tags: { env: "prod", team: "a" }, region: "us-east-1", zone: "us-east-1a", created_at: { seconds: 1_700_000_000_123, nanos: 5 }, public_ip: "1.2.3.4" },
      { id: "i-2", status: "stopped" },
    ],
    next_page_token: "next",
    unreachable: ["eu-west-1"],
  };
  const info = { name: "aws", version: "1.2.3", supported_regions: ["us-east-1", "eu-west-1"], capabilities: { mode: "sandbox", tls: "plaintext" } };
  for (const [method, req, res] of [["ListInstances", request, reply], ["GetProviderInfo", {}, info]] as const) {
    const reqBytes = lean[method].requestSerialize(req);
    expect(Buffer.from(reqBytes)).toEqual(Buffer.from(loader[method].requestSerialize(req)));
    expect(lean[method].requestDeserialize(reqBytes)).toEqual(loader[method].requestDeserialize(reqBytes));
    const resBytes = lean[method].responseSerialize(res);
    expect(resBytes.length).toBeGreaterThan(0);
    expect(Buffer.from(resBytes)).toEqual(Buffer.from(loader[method].responseSerialize(res)));
    expect(lean[method].responseDeserialize(resBytes)).toEqual(loader[method].responseDeserialize(resBytes));
  }
  expect(() => lean.ListInstances.responseSerialize([])).toThrow(/expected object/);
});
