// Server reflection (grpc.reflection.v1 and v1alpha) via @grpc/reflection,
// fed with the compiler's own FileDescriptorProtos from the embedded set.
// Fed from a proto-loader package definition instead, the library serves
// descriptors that proto-loader re-derived: files renamed and `dependency`
// lists dropped, so a reflection client such as grpcurl fails with
// "google.protobuf.Timestamp ... is not imported". Handing it the original
// descriptors keeps every file name and import intact.
//
// The library indexes every file when it is constructed (tens of ms at
// start-up, for a service most servers never get a call on), so the real
// index is built on the first reflection call; start-up only registers the
// two service definitions, taken from an instance over no files.
import type * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { fileDescriptorProtos } from "../grpc/descriptors";

type Handlers = Map<string, grpc.UntypedServiceImplementation>;
type Registration = { definition: grpc.ServiceDefinition; handlers: grpc.UntypedServiceImplementation };

/** What a ReflectionService registers, by service path, without a server. */
function registrations(service: ReflectionService): Map<string, Registration> {
  const out = new Map<string, Registration>();
  service.addToServer({
    addService: (definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation) =>
      out.set(Object.values(definition)[0]!.path, { definition, handlers }),
  });
  return out;
}

export function addReflection(server: grpc.Server): void {
  let indexed: Handlers | undefined;
  const index = (): Handlers => {
    if (!indexed) {
      const pseudoPackage = { embedded: { fileDescriptorProtos: fileDescriptorProtos() } };
      indexed = new Map([...registrations(new ReflectionService(pseudoPackage as never))].map(([path, r]) => [path, r.handlers]));
    }
    return indexed;
  };
  for (const [path, { definition }] of registrations(new ReflectionService({}))) {
    server.addService(definition, {
      ServerReflectionInfo: (call: grpc.ServerDuplexStream<unknown, unknown>) =>
        (index().get(path)!.ServerReflectionInfo as grpc.handleBidiStreamingCall<unknown, unknown>)(call),
    });
  }
}
