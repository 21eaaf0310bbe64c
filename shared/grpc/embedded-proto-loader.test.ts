// The proto-loader stand-in compiled binaries give grpc-health-check and
// @grpc/reflection: it answers their on-disk paths from the embedded set,
// building codecs for the requested package only.
import { describe, expect, test } from "bun:test";
import { loadSync } from "./embedded-proto-loader";

describe("embedded proto loader", () => {
  test("grpc-health-check's relative path gets grpc.health.v1 alone", () => {
    const def = loadSync("health/v1/health.proto", { keepCase: true, defaults: true });
    expect(Object.keys(def).every((k) => k.startsWith("grpc.health.v1."))).toBe(true);
    expect(Object.keys(def)).toContain("grpc.health.v1.Health");
  });

  test("@grpc/reflection's absolute paths (as bundling bakes them) get their own package, in camelCase", () => {
    for (const version of ["v1", "v1alpha"]) {
      const def = loadSync(`/build/machine/node_modules/@grpc/reflection/build/proto/grpc/reflection/${version}/reflection.proto`, {});
      expect(Object.keys(def).every((k) => k.startsWith(`grpc.reflection.${version}.`))).toBe(true);
      const service = def[`grpc.reflection.${version}.ServerReflection`] as Record<string, { requestType: { type: { field: { name: string }[] } } }>;
      expect(service.ServerReflectionInfo!.requestType.type.field.map((f) => f.name)).toContain("listServices");
    }
  });

  test("a file that is not embedded is refused by name", () => {
    expect(() => loadSync("/x/node_modules/other/thing.proto", {})).toThrow("proto file /x/node_modules/other/thing.proto is not in the embedded descriptor set");
  });
});
