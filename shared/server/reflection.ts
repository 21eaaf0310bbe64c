// Server reflection (grpc.reflection.v1 and v1alpha) via @grpc/reflection,
// fed with the compiler's own FileDescriptorProtos from the embedded set.
// Fed from a proto-loader package definition instead, the library serves
// descriptors that proto-loader re-derived: files renamed and `dependency`
// lists dropped, so a reflection client such as grpcurl fails with
// "google.protobuf.Timestamp ... is not imported". Handing it the original
// descriptors keeps every file name and import intact.
import type * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { fileDescriptorProtos } from "../grpc/descriptors";

export function addReflection(server: grpc.Server): void {
  const pseudoPackage = { embedded: { fileDescriptorProtos: fileDescriptorProtos() } };
  new ReflectionService(pseudoPackage as never).addToServer(server);
}
