// A promise-based gRPC client for the provider service, used by tests,
// the smoke test and benchmarks. It speaks real gRPC over the network.
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { PROTOBUF_JSON } from "../grpc/descriptor-set.generated";
import { providerClientConstructor } from "../grpc/descriptors";

export interface CallOptions {
  deadlineMs?: number;
  metadata?: Record<string, string>;
}

export class ProviderClient {
  readonly raw: grpc.Client & Record<string, Function>;

  constructor(
    readonly address: string,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    options: grpc.ChannelOptions = {},
  ) {
    const Ctor = providerClientConstructor();
    this.raw = new Ctor(address, credentials, options) as never;
  }

  call<T = any>(method: string, request: object = {}, opts: CallOptions = {}): Promise<T> {
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(opts.metadata ?? {})) metadata.set(k, v);
    const callOptions: grpc.CallOptions = {};
    if (opts.deadlineMs !== undefined) callOptions.deadline = Date.now() + opts.deadlineMs;
    const fn = this.raw[method];
    if (typeof fn !== "function") throw new Error(`no RPC ${method}`);
    if ((fn as { responseStream?: boolean }).responseStream) {
      // A server stream (WatchInstances): its first message, or the status it failed with; then hang up.
      return new Promise((resolve, reject) => {
        const stream = fn.call(this.raw, request, metadata, callOptions) as grpc.ClientReadableStream<T>;
        stream.once("data", (first: T) => {
          resolve(first);
          stream.cancel();
        });
        stream.on("error", reject);
      });
    }
    return new Promise((resolve, reject) => {
      fn.call(this.raw, request, metadata, callOptions, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
    });
  }

  /**
   * ListInstances page after page, following next_page_token, until the last
   * page or `maxPages` (a listing that never ends stops there, and the
   * caller's assertions on the pages fail).
   */
  async listPages(request: Record<string, unknown>, maxPages: number, opts: CallOptions = {}): Promise<any[]> {
    const pages: any[] = [];
    let token = "";
    do {
      const page = await this.call("ListInstances", { ...request, page_token: token }, opts);
      pages.push(page);
      token = page.next_page_token;
    } while (token && pages.length < maxPages);
    return pages;
  }

  close(): void {
    this.raw.close();
  }
}

/** Resolves to the ServiceError a call failed with; fails if it succeeded. */
export async function grpcError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    const value = await promise;
    throw new Error(`expected the call to fail, it returned ${JSON.stringify(value).slice(0, 300)}`);
  } catch (err) {
    if (err && typeof err === "object" && "code" in err && typeof (err as grpc.ServiceError).code === "number") return err as grpc.ServiceError;
    throw err;
  }
}

/** The google.rpc.BadRequest field names carried in grpc-status-details-bin. */
export function badRequestFields(err: grpc.ServiceError): string[] {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (!Buffer.isBuffer(raw)) return [];
  const root = protobuf.Root.fromJSON(JSON.parse(PROTOBUF_JSON));
  const status = root.lookupType("google.rpc.Status").decode(raw) as unknown as { details: { type_url: string; value: Uint8Array }[] };
  const BadRequest = root.lookupType("google.rpc.BadRequest");
  return status.details
    .filter((d) => d.type_url === "type.googleapis.com/google.rpc.BadRequest")
    .flatMap((d) => (BadRequest.decode(d.value) as unknown as { field_violations: { field: string }[] }).field_violations.map((v) => v.field));
}
