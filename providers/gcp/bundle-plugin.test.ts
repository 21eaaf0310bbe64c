// The build's trimmed Compute Engine descriptors (bundle-plugin.ts): every
// type the used methods reach is there and resolves, what none of them
// reaches is gone. The trimmed file in a real client against the fake
// Compute Engine server is providers/gcp/binary.test.ts.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { GCE_SERVICES, trimComputeProtos } from "./bundle-plugin";
import { GCE_METHODS } from "./gce-methods";

const full = JSON.parse(readFileSync(require.resolve("@google-cloud/compute/build/protos/protos.json"), "utf8"));
const trimmed = trimComputeProtos(full);

test("the trimmed descriptors resolve, with the methods the provider calls and nothing else", () => {
  const root = protobuf.Root.fromJSON(trimmed);
  root.resolveAll(); // throws on a reference to a type that was dropped
  const original = protobuf.Root.fromJSON(full);
  expect(GCE_SERVICES.sort()).toEqual(["Disks", "GlobalOperations", "Instances", "Projects", "Regions", "ZoneOperations"]);
  for (const name of GCE_SERVICES) {
    const service = root.lookupService(`google.cloud.compute.v1.${name}`);
    const expected = GCE_METHODS[name as keyof typeof GCE_METHODS].map((m) => m[0]!.toUpperCase() + m.slice(1));
    expect(Object.keys(service.methods).sort()).toEqual([...expected].sort());
    // The HTTP rules a kept method is transcoded with are the original ones.
    for (const m of expected) expect(service.methods[m]!.options).toEqual(original.lookupService(`google.cloud.compute.v1.${name}`).methods[m]!.options);
    for (const m of service.methodsArray) {
      expect(m.resolvedRequestType?.fieldsArray.length).toBe(original.lookupType(m.resolvedRequestType!.fullName).fieldsArray.length);
    }
  }
  // What an instance listing decodes, down to nested messages.
  const instance = root.lookupType("google.cloud.compute.v1.Instance");
  expect(instance.fields.networkInterfaces?.resolvedType?.fullName).toBe(".google.cloud.compute.v1.NetworkInterface");
  expect(root.lookupType("google.cloud.compute.v1.InstanceAggregatedList")).toBeDefined();
});

test("services the provider does not use, their messages and v1beta are left out", () => {
  const compute = trimmed.nested.google.nested.cloud.nested.compute.nested;
  expect(Object.keys(compute)).toEqual(["v1"]);
  expect(compute.v1.nested.Firewalls).toBeUndefined();
  expect(compute.v1.nested.BackendService).toBeUndefined();
  expect(compute.v1.nested.UrlMap).toBeUndefined();
  // Methods of a used service the provider does not call, and the messages only they reach.
  expect(compute.v1.nested.Instances.methods.SetLabels).toBeUndefined();
  expect(compute.v1.nested.SetLabelsInstanceRequest).toBeUndefined();
  expect(compute.v1.nested.InstancesSetLabelsRequest).toBeUndefined();
  expect(full.nested.google.nested.cloud.nested.compute.nested.v1.nested.InstancesSetLabelsRequest).toBeDefined();
  expect(JSON.stringify(trimmed).length).toBeLessThan(JSON.stringify(full).length / 4);
  // Namespaces outside google.cloud.compute (annotations, well-known types) stay whole.
  expect(trimmed.nested.google.nested.api).toEqual(full.nested.google.nested.api);
});

test("a service or method that is not in the package fails the build", () => {
  expect(() => trimComputeProtos(full, { NoSuchService: ["get"] })).toThrow(/no service google.cloud.compute.v1.NoSuchService/);
  expect(() => trimComputeProtos(full, { Instances: ["noSuchMethod"] })).toThrow(/no method google.cloud.compute.v1.Instances.NoSuchMethod/);
});
