// Which backend the running call uses. calls.ts enters the scope once per
// call (after authentication, before the handler), and everything the
// handler awaits inherits it, so the service layer stays unaware of tenants
// and the routing backend (routing-backend.ts) finds the tenant's backend
// even from getters that take no CallContext (defaultRegion, capabilities).
import { AsyncLocalStorage } from "node:async_hooks";
import type { CloudBackend } from "../provider";

export interface TenantScope {
  backend: CloudBackend;
  /** The fingerprint; absent for the process's own credentials. */
  tenant?: string;
}

export const tenantScope = new AsyncLocalStorage<TenantScope>();
