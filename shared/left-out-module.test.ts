// The stand-in for a left-out module survives what importers do at load
// time (CommonJS interop, lazy re-exports, `extends`, destructuring) and
// fails with its message on the first real use.
import { expect, test } from "bun:test";
import { leftOutModule } from "./left-out-module";
import { loadCommonJs } from "./testing/commonjs";

test('exports: "throw" - loads, re-exports and extends; reading an export, calling or constructing throws', () => {
  const stub = loadCommonJs(leftOutModule("the IAM mixin client is left out", { exports: "throw" }));
  expect(stub.__esModule).toBe(true);
  const reexport = Object.defineProperty({}, "IamClient", { enumerable: true, get: () => stub.IamClient });
  class StreamProxy extends stub {}
  expect(() => stub.IamClient).toThrow("the IAM mixin client is left out");
  expect(() => (reexport as { IamClient: unknown }).IamClient).toThrow("the IAM mixin client is left out");
  expect(() => stub()).toThrow("left out");
  expect(() => new stub()).toThrow("left out");
  expect(() => new StreamProxy()).toThrow("left out");
  // No thenable; inspecting it does not throw.
  expect(stub.then).toBeUndefined();
  expect(() => Object.prototype.toString.call(stub)).not.toThrow();
});

test('exports: "placeholders" - destructured exports load and extend; using one throws', () => {
  const stub = loadCommonJs(leftOutModule("CBOR is left out", { exports: "placeholders" }));
  const { SmithyRpcV2CborProtocol, loadErrorCode } = stub;
  class AwsCbor extends SmithyRpcV2CborProtocol {}
  expect(() => new AwsCbor()).toThrow("CBOR is left out");
  expect(() => loadErrorCode({})).toThrow("CBOR is left out");
  expect(() => stub.parse("ua")).toThrow("CBOR is left out");
  expect(() => stub.default.parse).toThrow("CBOR is left out");
  expect(stub.__esModule).toBe(true);
  expect(stub.then).toBeUndefined();
});
