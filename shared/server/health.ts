// grpc.health.v1.Health (Check, Watch, List). The overall server ("") and
// the provider service report SERVING until shutdown begins, then
// NOT_SERVING (Watch streams see the change).
//
// The same behaviour as grpc-health-check's HealthImplementation (answers,
// NOT_FOUND text, SERVICE_UNKNOWN for Watch, the List limit), on the codecs
// of the embedded descriptor set (grpc/descriptors.ts): that library loads
// its proto through proto-loader when it is imported, which cost 20-60 ms
// of every start (scripts/BENCHMARKS.md, start-up probe).
import * as grpc from "@grpc/grpc-js";
import { SERVICE_NAME, serviceDefinition } from "../grpc/descriptors";

export type ServingStatus = "SERVING" | "NOT_SERVING";
type Status = ServingStatus | "SERVICE_UNKNOWN";

/** HealthListResponse holds at most this many services (as grpc-health-check). */
const LIST_LIMIT = 100;
export const HEALTH_SERVICE = "grpc.health.v1.Health";

export class Health {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(status: Status) => void>>();

  constructor(initial: Record<string, ServingStatus>) {
    for (const [service, status] of Object.entries(initial)) this.statuses.set(service, status);
  }

  setStatus(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
    for (const watcher of this.watchers.get(service) ?? []) watcher(status);
  }

  addToServer(server: grpc.Server): void {
    server.addService(serviceDefinition(HEALTH_SERVICE), {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const service = call.request.service;
        const status = this.statuses.get(service);
        if (status) callback(null, { status });
        else callback({ code: grpc.status.NOT_FOUND, details: `Health status unknown for service ${service}` }, null);
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
        const service = call.request.service;
        const watcher = (status: Status) => void call.write({ status });
        const set = this.watchers.get(service) ?? new Set();
        this.watchers.set(service, set.add(watcher));
        call.on("cancelled", () => {
          set.delete(watcher);
          if (set.size === 0 && this.watchers.get(service) === set) this.watchers.delete(service);
        });
        watcher(this.statuses.get(service) ?? "SERVICE_UNKNOWN");
      },
      List: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        if (this.statuses.size > LIST_LIMIT) return callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: "Too many services to list." }, null);
        callback(null, { statuses: Object.fromEntries([...this.statuses].map(([service, status]) => [service, { status }])) });
      },
    });
  }
}

export function createHealth(): { health: Health; setAll(status: ServingStatus): void } {
  const health = new Health({ "": "SERVING", [SERVICE_NAME]: "SERVING" });
  return {
    health,
    setAll(status) {
      health.setStatus("", status);
      health.setStatus(SERVICE_NAME, status);
    },
  };
}
