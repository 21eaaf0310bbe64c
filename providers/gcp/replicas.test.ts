// Two GCP provider replicas against one Compute Engine (the stand-in,
// testing/fake-gce.ts), driven by one round_robin client. GCE de-duplicates
// instances.insert by requestId, which the provider derives from the
// idempotency key, so replicas need no shared state of their own.
import { afterAll, beforeAll } from "bun:test";
import { startTestProvider } from "../../shared/testing/harness";
import { twoReplicaSuite } from "../../shared/testing/replicas";
import { gcpProvider } from "./definition";
import { FakeGce, makeServiceAccount, type ServiceAccount } from "./testing/fake-gce";

let sa: ServiceAccount;
let fake: FakeGce;
let seq = 0;

beforeAll(() => {
  sa = makeServiceAccount("project_name");
  fake = new FakeGce({ project: "project_name", serviceAccount: sa, accessToken: "ya29.static-test-token" }).start();
});

afterAll(async () => {
  await fake?.stop();
  sa?.cleanup();
});

twoReplicaSuite({
  start: () => startTestProvider(gcpProvider, ["--endpoint", fake.url, "--region", "us-central1", "--credentials-file", sa.keyFile]),
  name: (suffix) => `rr-${suffix}-${++seq}`,
  createRequest: (name, key) => ({ name, type: "n1-standard-1", region: "us-central1", zone: "us-central1-a", image_id: "projects/debian-cloud/global/images/family/debian-12", ...(key ? { idempotency_key: key } : {}) }),
  cloudInstancesNamed: async (name) => [...fake.instances.values()].flat().filter((i) => i.name === name).length,
});
