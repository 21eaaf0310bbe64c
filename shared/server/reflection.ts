// Server reflection (grpc.reflection.v1 and v1alpha, the same messages under
// two package names), answered from the compiler's own FileDescriptorProtos
// in the embedded set, byte for byte: every file name and import intact, so
// grpcurl and other reflection clients resolve every type.
//
// Our own rather than @grpc/reflection: that library registers its service
// through @grpc/proto-loader (which evaluates protobufjs and its descriptor
// extension) and decodes, indexes and re-encodes every file with protobufjs
// when constructed: ~40 ms of every start, most of a sandbox start's CPU
// (scripts/BENCHMARKS.md, "Start-up to SERVING"). The protocol is five
// questions answered with serialized files; the messages are encoded by
// hand (grpc/wire.ts) and the index is built on the first question.
import * as grpc from "@grpc/grpc-js";
import { fileDescriptorProtos } from "../grpc/descriptors";
import { MessageWriter, WireError, forEachField, stringOf, varintOf, type WireValue } from "../grpc/wire";
import { quote } from "../quote";

export const REFLECTION_SERVICES = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"] as const;

/** One question on the ServerReflectionInfo stream. */
interface ReflectionRequest {
  host: string;
  /** The request as received: echoed as `original_request`. */
  raw: Buffer;
  kind?: "file_by_filename" | "file_containing_symbol" | "file_containing_extension" | "all_extension_numbers_of_type" | "list_services";
  name: string;
  extensionNumber: number;
}

/** ServerReflectionRequest: host 1, then the `message_request` oneof (fields 3-7; the last one given wins, as in protobuf). */
export function decodeRequest(bytes: Buffer): ReflectionRequest {
  const req: ReflectionRequest = { host: "", raw: bytes, name: "", extensionNumber: 0 };
  const kinds = { 3: "file_by_filename", 4: "file_containing_symbol", 6: "all_extension_numbers_of_type", 7: "list_services" } as const;
  forEachField(bytes, (field, v) => {
    if (field === 1) req.host = stringOf(field, v);
    else if (field === 3 || field === 4 || field === 6 || field === 7) {
      req.kind = kinds[field];
      req.name = stringOf(field, v);
    } else if (field === 5) {
      // ExtensionRequest: containing_type 1, extension_number 2.
      if (v.wire !== 2) throw new WireError("field 5: expected an ExtensionRequest");
      req.kind = "file_containing_extension";
      req.name = "";
      req.extensionNumber = 0;
      forEachField(v.value, (f, ev) => {
        if (f === 1) req.name = stringOf(f, ev);
        else if (f === 2) req.extensionNumber = varintOf(f, ev) | 0;
      });
    }
  });
  return req;
}

type Answer =
  | { files: Buffer[] }
  | { extensionNumbers: { baseTypeName: string; numbers: number[] } }
  | { services: string[] }
  | { error: { code: grpc.status; message: string } };

/** ServerReflectionResponse: valid_host 1, original_request 2, then one of fields 4-7. */
export function encodeResponse(req: ReflectionRequest, answer: Answer): Buffer {
  const out = new MessageWriter().string(1, req.host).message(2, req.raw);
  if ("files" in answer) {
    const files = new MessageWriter();
    for (const f of answer.files) files.bytes(1, f, true);
    out.message(4, files.finish());
  } else if ("extensionNumbers" in answer) {
    out.message(5, new MessageWriter().string(1, answer.extensionNumbers.baseTypeName).packedVarints(2, answer.extensionNumbers.numbers).finish());
  } else if ("services" in answer) {
    const list = new MessageWriter();
    for (const name of answer.services) list.message(1, new MessageWriter().string(1, name).finish());
    out.message(6, list.finish());
  } else {
    out.message(7, new MessageWriter().varint(1, answer.error.code).string(2, answer.error.message).finish());
  }
  return out.finish();
}

/** What reflection answers from: the files by name and every symbol, service and extension they declare. */
export class DescriptorIndex {
  readonly files = new Map<string, { bytes: Buffer; dependencies: string[] }>();
  /** Fully qualified name (no leading dot) -> the file declaring it. */
  readonly symbols = new Map<string, string>();
  readonly services: string[] = [];
  /** Extended message (fully qualified, no leading dot) -> extension number -> file. */
  readonly extensions = new Map<string, Map<number, string>>();

  constructor(files: Buffer[]) {
    for (const bytes of files) this.addFile(bytes);
  }

  private addFile(bytes: Buffer): void {
    let name = "";
    let pkg = "";
    const dependencies: string[] = [];
    const declarations: [number, Buffer][] = [];
    forEachField(bytes, (field, v) => {
      if (field === 1) name = stringOf(field, v);
      else if (field === 2) pkg = stringOf(field, v);
      else if (field === 3) dependencies.push(stringOf(field, v));
      else if (field >= 4 && field <= 7 && v.wire === 2) declarations.push([field, v.value]);
    });
    if (!name || this.files.has(name)) return;
    this.files.set(name, { bytes, dependencies });
    for (const [field, body] of declarations) {
      if (field === 4) this.addMessage(name, pkg, body);
      else if (field === 5) this.addEnum(name, pkg, body);
      else if (field === 6) this.addService(name, pkg, body);
      else this.addExtension(name, pkg, body);
    }
  }

  private symbol(file: string, scope: string, name: string): string {
    const full = scope ? `${scope}.${name}` : name;
    if (!this.symbols.has(full)) this.symbols.set(full, file);
    return full;
  }

  /** A nested declaration's `name` (field 1) and its other fields. */
  private static named(body: Buffer, visit: (field: number, v: WireValue) => void = () => {}): string {
    let name = "";
    forEachField(body, (field, v) => {
      if (field === 1) name = stringOf(field, v);
      else visit(field, v);
    });
    return name;
  }

  private addMessage(file: string, scope: string, body: Buffer): void {
    const parts: [number, Buffer][] = [];
    const full = this.symbol(file, scope, DescriptorIndex.named(body, (f, v) => v.wire === 2 && parts.push([f, v.value])));
    for (const [field, part] of parts) {
      if (field === 2 || field === 8) this.symbol(file, full, DescriptorIndex.named(part)); // field, oneof_decl
      else if (field === 3) this.addMessage(file, full, part); // nested_type
      else if (field === 4) this.addEnum(file, full, part); // enum_type
      else if (field === 6) this.addExtension(file, full, part); // extension
    }
  }

  private addEnum(file: string, scope: string, body: Buffer): void {
    const values: Buffer[] = [];
    const full = this.symbol(file, scope, DescriptorIndex.named(body, (f, v) => f === 2 && v.wire === 2 && values.push(v.value)));
    for (const value of values) {
      const name = DescriptorIndex.named(value);
      // protoc scopes enum values beside their enum; @grpc/reflection inside it: answer both.
      this.symbol(file, scope, name);
      this.symbol(file, full, name);
    }
  }

  private addService(file: string, scope: string, body: Buffer): void {
    const methods: Buffer[] = [];
    const full = this.symbol(file, scope, DescriptorIndex.named(body, (f, v) => f === 2 && v.wire === 2 && methods.push(v.value)));
    this.services.push(full);
    for (const m of methods) this.symbol(file, full, DescriptorIndex.named(m));
  }

  private addExtension(file: string, scope: string, body: Buffer): void {
    let extendee = "";
    let number = 0;
    const name = DescriptorIndex.named(body, (f, v) => {
      if (f === 2) extendee = stringOf(f, v).replace(/^\./, "");
      else if (f === 3) number = varintOf(f, v);
    });
    this.symbol(file, scope, name);
    const byNumber = this.extensions.get(extendee) ?? new Map<number, string>();
    this.extensions.set(extendee, byNumber.set(number, file));
  }

  /** The file, then every file it imports, transitively (each once): all a client needs to resolve it. */
  withDependencies(name: string): Buffer[] {
    const seen = new Set<string>();
    const out: Buffer[] = [];
    const visit = (n: string) => {
      const file = this.files.get(n);
      if (!file || seen.has(n)) return;
      seen.add(n);
      out.push(file.bytes);
      file.dependencies.forEach(visit);
    };
    visit(name);
    return out;
  }

  answer(req: ReflectionRequest): Answer {
    // Fully qualified names may come with protobuf's leading dot (".pkg.Message").
    const name = req.name.replace(/^\./, "");
    const notFound = (what: string): Answer => ({ error: { code: grpc.status.NOT_FOUND, message: `${what} not found` } });
    switch (req.kind) {
      case "list_services":
        return { services: this.services };
      case "file_by_filename":
        return this.files.has(req.name) ? { files: this.withDependencies(req.name) } : notFound(`proto file ${quote(req.name)}`);
      case "file_containing_symbol": {
        const file = this.symbols.get(name);
        return file ? { files: this.withDependencies(file) } : notFound(`symbol ${quote(req.name)}`);
      }
      case "file_containing_extension": {
        const file = this.extensions.get(name)?.get(req.extensionNumber);
        return file ? { files: this.withDependencies(file) } : notFound(`extension ${req.extensionNumber} of ${quote(req.name)}`);
      }
      case "all_extension_numbers_of_type": {
        const byNumber = this.extensions.get(name);
        if (byNumber) return { extensionNumbers: { baseTypeName: name, numbers: [...byNumber.keys()].sort((a, b) => a - b) } };
        return this.symbols.has(name) ? { extensionNumbers: { baseTypeName: name, numbers: [] } } : notFound(`type ${quote(req.name)}`);
      }
      default:
        return { error: { code: grpc.status.INVALID_ARGUMENT, message: "message_request: expected one of file_by_filename, file_containing_symbol, file_containing_extension, all_extension_numbers_of_type, list_services" } };
    }
  }
}

let sharedIndex: DescriptorIndex | undefined;
/** The embedded set's index, built on the first reflection question of the process. */
function embeddedIndex(): DescriptorIndex {
  sharedIndex ??= new DescriptorIndex(fileDescriptorProtos());
  return sharedIndex;
}

function definition(service: string): grpc.ServiceDefinition {
  return {
    ServerReflectionInfo: {
      path: `/${service}/ServerReflectionInfo`,
      requestStream: true,
      responseStream: true,
      requestDeserialize: decodeRequest,
      requestSerialize: () => {
        throw new WireError("the server never sends reflection requests");
      },
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: () => {
        throw new WireError("the server never reads reflection responses");
      },
      originalName: "serverReflectionInfo",
    },
  };
}

/**
 * One answer per question, in order. A client that asks without reading
 * the answers fills the stream's write buffer: reading its questions stops
 * until the buffer drains, so a connection holds a bounded backlog.
 */
function serveStream(call: grpc.ServerDuplexStream<ReflectionRequest, Buffer>): void {
  call.on("data", (req: ReflectionRequest) => {
    if (!call.write(encodeResponse(req, embeddedIndex().answer(req)))) {
      call.pause();
      call.once("drain", () => call.resume());
    }
  });
  call.on("end", () => call.end());
  call.on("error", () => {});
}

export function addReflection(server: grpc.Server): void {
  for (const service of REFLECTION_SERVICES) server.addService(definition(service), { ServerReflectionInfo: serveStream });
}
