// The ProviderError a synchronous call throws, for tests of code that runs
// below the gRPC layer (price quotes, validation).
import { expect } from "bun:test";
import { ProviderError } from "../errors";

export function thrownProviderError(f: () => unknown): ProviderError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error("expected an error");
}
