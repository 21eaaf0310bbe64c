// A reflection client that knows nothing but the server address, like
// grpcurl: it lists services, then fetches the file declaring each symbol
// and every file that file imports, and checks the result the way protoc
// and grpcurl do: each type a file references must be declared in that file
// or in a file it imports. A server that serves renamed files or drops
// `dependency` lists fails here with "... is not imported".
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import descriptorExt from "protobufjs/ext/descriptor/index.js";
import { packageDefinition } from "../grpc/package-definition";

export interface FileDescriptor {
  name: string;
  package?: string;
  dependency?: string[];
  messageType?: MessageDescriptor[];
  enumType?: { name: string }[];
  service?: { name: string; method?: { name: string; inputType: string; outputType: string }[] }[];
}
interface MessageDescriptor {
  name: string;
  field?: { name: string; typeName?: string }[];
  nestedType?: MessageDescriptor[];
  enumType?: { name: string }[];
}

type Version = "v1" | "v1alpha";

export class ReflectionClient {
  private readonly client: grpc.Client & { ServerReflectionInfo: Function };
  constructor(
    address: string,
    private readonly version: Version = "v1",
    credentials = grpc.credentials.createInsecure(),
  ) {
    const def = packageDefinition({ keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const Ctor = grpc.makeClientConstructor(def[`grpc.reflection.${version}.ServerReflection`] as grpc.ServiceDefinition, "ServerReflection");
    this.client = new Ctor(address, credentials) as never;
  }

  private ask(request: object): Promise<any> {
    return new Promise((resolve, reject) => {
      const stream = this.client.ServerReflectionInfo({ deadline: Date.now() + 5000 });
      stream.on("data", (res: any) => {
        resolve(res);
        stream.end();
      });
      stream.on("error", reject);
      stream.write(request);
    });
  }

  async listServices(): Promise<string[]> {
    const res = await this.ask({ list_services: "*" });
    return (res.list_services_response?.service ?? []).map((s: { name: string }) => s.name);
  }

  private decodeFiles(res: any): FileDescriptor[] {
    if (res.error_response) throw new Error(`reflection error ${res.error_response.error_code}: ${res.error_response.error_message}`);
    const blobs: Buffer[] = res.file_descriptor_response?.file_descriptor_proto ?? [];
    return blobs.map((b) => descriptorExt.FileDescriptorProto.toObject(descriptorExt.FileDescriptorProto.decode(b)) as FileDescriptor);
  }

  async fileContainingSymbol(symbol: string): Promise<FileDescriptor[]> {
    return this.decodeFiles(await this.ask({ file_containing_symbol: symbol }));
  }

  async fileByFilename(name: string): Promise<FileDescriptor[]> {
    return this.decodeFiles(await this.ask({ file_by_filename: name }));
  }

  /** The file declaring `symbol` plus, transitively, every file it imports. */
  async resolveClosure(symbol: string): Promise<Map<string, FileDescriptor>> {
    const files = new Map<string, FileDescriptor>();
    const queue = await this.fileContainingSymbol(symbol);
    while (queue.length > 0) {
      const f = queue.shift()!;
      if (files.has(f.name)) continue;
      files.set(f.name, f);
      for (const dep of f.dependency ?? []) {
        if (!files.has(dep)) queue.push(...(await this.fileByFilename(dep)));
      }
    }
    return files;
  }

  close(): void {
    this.client.close();
  }
}

function declaredTypes(file: FileDescriptor): Set<string> {
  const out = new Set<string>();
  const prefix = file.package ? `.${file.package}` : "";
  const walk = (scope: string, msgs: MessageDescriptor[] = [], enums: { name: string }[] = []) => {
    for (const e of enums) out.add(`${scope}.${e.name}`);
    for (const m of msgs) {
      out.add(`${scope}.${m.name}`);
      walk(`${scope}.${m.name}`, m.nestedType, m.enumType);
    }
  };
  walk(prefix, file.messageType, file.enumType);
  return out;
}

/**
 * Every type referenced by a field or method must be declared in the same
 * file or a directly imported one. Returns the violations (empty = valid).
 */
export function importViolations(files: Map<string, FileDescriptor>): string[] {
  const problems: string[] = [];
  for (const file of files.values()) {
    const visible = new Set(declaredTypes(file));
    for (const dep of file.dependency ?? []) {
      const d = files.get(dep);
      if (!d) {
        problems.push(`${file.name}: imported file ${dep} was not served`);
        continue;
      }
      for (const t of declaredTypes(d)) visible.add(t);
    }
    const check = (where: string, type: string | undefined) => {
      if (type && type.startsWith(".") && !visible.has(type)) problems.push(`${file.name}: ${where} uses ${type}, which is not imported`);
    };
    const walk = (msgs: MessageDescriptor[] = []) => {
      for (const m of msgs) {
        for (const f of m.field ?? []) check(`${m.name}.${f.name}`, f.typeName);
        walk(m.nestedType);
      }
    };
    walk(file.messageType);
    for (const s of file.service ?? []) {
      for (const m of s.method ?? []) {
        check(`${s.name}.${m.name} input`, m.inputType);
        check(`${s.name}.${m.name} output`, m.outputType);
      }
    }
  }
  return problems;
}

/** A protobufjs Root built only from served descriptors (for dynamic calls). */
export function rootFromDescriptors(files: Map<string, FileDescriptor>): protobuf.Root {
  const set = descriptorExt.FileDescriptorSet.fromObject({ file: [...files.values()] });
  return (protobuf.Root as any).fromDescriptor(set) as protobuf.Root;
}

/**
 * What `grpcurl -plaintext -d JSON ADDRESS SERVICE/METHOD` does: learn the
 * method's types from the server's reflection alone, encode the JSON request
 * with them, call, and decode the reply to JSON-like data. A server stream
 * answers with its messages until `until` holds for one (default: the first).
 */
export async function callByReflection(address: string, fullMethod: string, request: object, timeoutMs = 10_000, until: (message: any) => boolean = () => true): Promise<any> {
  const slash = fullMethod.lastIndexOf("/");
  const [service, method] = [fullMethod.slice(0, slash), fullMethod.slice(slash + 1)];
  const reflection = new ReflectionClient(address);
  let root: protobuf.Root;
  try {
    root = rootFromDescriptors(await reflection.resolveClosure(service));
  } finally {
    reflection.close();
  }
  const rpc = root.lookupService(service).methods[method];
  if (!rpc) throw new Error(`${service} has no method ${method} (per reflection)`);
  const Req = root.lookupType(rpc.requestType);
  const Res = root.lookupType(rpc.responseType);
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const encode = (v: object) => Buffer.from(Req.encode(Req.fromObject(v)).finish());
  const decode = (b: Buffer) => Res.toObject(Res.decode(b), { longs: String, enums: String, defaults: true });
  if (rpc.responseStream) {
    // A server stream (grpcurl prints each message): the messages until `until` says stop, then hang up.
    try {
      return await new Promise((resolve, reject) => {
        const got: any[] = [];
        const stream = client.makeServerStreamRequest(`/${service}/${method}`, encode, decode, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs });
        stream.on("data", (m: any) => {
          got.push(m);
          if (until(m)) {
            resolve(got);
            stream.cancel();
          }
        });
        stream.on("error", reject);
        stream.on("end", () => resolve(got));
      });
    } finally {
      client.close();
    }
  }
  try {
    return await new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        `/${service}/${method}`,
        (v: object) => Buffer.from(Req.encode(Req.fromObject(v)).finish()),
        (b: Buffer) => Res.toObject(Res.decode(b), { longs: String, enums: String, defaults: true }),
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, v) => (err ? reject(err) : resolve(v)),
      ),
    );
  } finally {
    client.close();
  }
}
