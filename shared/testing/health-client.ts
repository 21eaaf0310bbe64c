// grpc.health.v1 clients for tests: Check once, or Watch a stream.
import * as grpc from "@grpc/grpc-js";
import { packageDefinition } from "../grpc/package-definition";

export function healthClient(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}) {
  const Health = grpc.makeClientConstructor(packageDefinition()["grpc.health.v1.Health"] as grpc.ServiceDefinition, "Health");
  return new Health(address, credentials, options) as unknown as grpc.Client & { Check: Function; Watch: Function };
}

export function healthStatus(address: string, timeoutMs = 2000, service = ""): Promise<string> {
  const client = healthClient(address);
  return new Promise<string>((resolve, reject) => {
    client.Check({ service }, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res: { status: string }) => {
      client.close();
      if (err) reject(new Error(`${grpc.status[err.code]}: ${err.details}`));
      else resolve(res.status);
    });
  });
}
