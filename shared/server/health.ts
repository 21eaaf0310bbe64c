// grpc.health.v1.Health (Check, Watch, List). The overall server ("") and
// the provider service report SERVING until shutdown begins, then
// NOT_SERVING (Watch streams see the change).
//
// The same behaviour as grpc-health-check's HealthImplementation (answers,
// NOT_FOUND text, SERVICE_UNKNOWN for Watch, the List limit), with its four
// small messages encoded by hand (grpc/wire.ts): the first health Check is
// what "started" means to a container engine or a load balancer, so it
// must not wait for protobufjs to build the contract's codecs (grpc-health-
// check loaded its proto through proto-loader at import: 20-60 ms; the
// embedded set's protobufjs codecs: ~40 ms more; scripts/BENCHMARKS.md).
import * as grpc from "@grpc/grpc-js";
import { SERVICE_NAME } from "../grpc/descriptors";
import { MessageWriter, WireError, forEachField, stringOf } from "../grpc/wire";
import { quote } from "../quote";

export type ServingStatus = "SERVING" | "NOT_SERVING";
type Status = ServingStatus | "SERVICE_UNKNOWN";

/** HealthListResponse holds at most this many services (as grpc-health-check). */
const LIST_LIMIT = 100;
export const HEALTH_SERVICE = "grpc.health.v1.Health";

const STATUS_NUMBER: Record<Status, number> = { SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 };

/** HealthCheckRequest: `string service = 1`; unknown fields are skipped. */
function decodeCheckRequest(bytes: Buffer): { service: string } {
  let service = "";
  forEachField(bytes, (field, v) => {
    if (field === 1) service = stringOf(field, v);
  });
  return { service };
}

/** HealthCheckResponse: `ServingStatus status = 1`. */
function encodeCheckResponse(res: { status: Status }): Buffer {
  return new MessageWriter().varint(1, STATUS_NUMBER[res.status]).finish();
}

/** HealthListResponse: `map<string, HealthCheckResponse> statuses = 1` (entries: key 1, value 2). */
function encodeListResponse(res: { statuses: Record<string, { status: Status }> }): Buffer {
  const out = new MessageWriter();
  for (const [service, value] of Object.entries(res.statuses)) {
    out.message(1, new MessageWriter().string(1, service).message(2, encodeCheckResponse(value)).finish());
  }
  return out.finish();
}

/** HealthListRequest is empty; its bytes must still be a well-formed message. */
function decodeListRequest(bytes: Buffer): object {
  forEachField(bytes, () => {});
  return {};
}

function method<Req, Res>(name: string, responseStream: boolean, deserialize: (b: Buffer) => Req, serialize: (r: Res) => Buffer): grpc.MethodDefinition<Req, Res> {
  return {
    path: `/${HEALTH_SERVICE}/${name}`,
    requestStream: false,
    responseStream,
    requestDeserialize: deserialize,
    requestSerialize: () => {
      throw new WireError("the server never sends health requests");
    },
    responseSerialize: serialize,
    responseDeserialize: () => {
      throw new WireError("the server never reads health responses");
    },
    originalName: name[0]!.toLowerCase() + name.slice(1),
  };
}

/** grpc.health.v1.Health's three methods on the hand-written codecs above. */
export const HEALTH_DEFINITION = {
  Check: method("Check", false, decodeCheckRequest, encodeCheckResponse),
  Watch: method("Watch", true, decodeCheckRequest, encodeCheckResponse),
  List: method("List", false, decodeListRequest, encodeListResponse),
} satisfies grpc.ServiceDefinition;

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
    server.addService(HEALTH_DEFINITION, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const service = call.request.service;
        const status = this.statuses.get(service);
        if (status) callback(null, { status });
        else callback({ code: grpc.status.NOT_FOUND, details: `Health status unknown for service ${quote(service)}` }, null);
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
