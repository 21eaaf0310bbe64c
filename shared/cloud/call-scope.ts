// The call a cloud request is made for, found without passing it down.
// Backends hand their HTTP clients only an AbortSignal (the OpenStack
// Transport, the Proxmox client: dozens of call sites each), yet every
// cloud request must be counted against its RPC's telemetry and must not
// back off past the caller's deadline. The server runs each handler inside
// runInCallScope (shared/server/calls.ts); a client reads currentCall() for
// the telemetry and deadline, and works unchanged (unobserved, signal only)
// outside a call, as in unit tests.
import { AsyncLocalStorage } from "node:async_hooks";
import type { CallContext } from "../provider";

const scope = new AsyncLocalStorage<CallContext>();

export function runInCallScope<T>(ctx: CallContext, fn: () => T): T {
  return scope.run(ctx, fn);
}

export function currentCall(): CallContext | undefined {
  return scope.getStore();
}
