// grpc.health.v1.Health (Check and Watch) from grpc-health-check. The
// overall server ("") and the provider service report SERVING until
// shutdown begins, then NOT_SERVING (Watch streams see the change).
import { HealthImplementation } from "grpc-health-check";
import { SERVICE_NAME } from "../grpc/descriptors";

export type ServingStatus = "SERVING" | "NOT_SERVING";

export function createHealth(): { health: HealthImplementation; setAll(status: ServingStatus): void } {
  const health = new HealthImplementation({ "": "SERVING", [SERVICE_NAME]: "SERVING" });
  return {
    health,
    setAll(status) {
      health.setStatus("", status);
      health.setStatus(SERVICE_NAME, status);
    },
  };
}
