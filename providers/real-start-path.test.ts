// A real-mode start (credentials present) evaluates no cloud SDK: the EC2
// client, gax, google-auth-library and the Compute Engine clients load at
// the first cloud call (shared/cloud/deferred-backend.ts), so the provider
// serves without waiting for them. Checked by what the process has loaded,
// without timing anything; one process per provider (a module graph is per
// process). The control loads the backend as a first call would and sees
// the SDK.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runModuleProbe } from "../shared/testing/module-probe";

const modulesOf = (provider: string) =>
  runModuleProbe<{ atServing: string[]; afterLoad: string[] }>(join(import.meta.dir, "real-start-path-modules.ts"), [provider]);

test("aws: serving in real mode loaded no AWS SDK; the first cloud call loads it (the check sees it)", async () => {
  const { atServing, afterLoad } = await modulesOf("aws");
  expect(atServing).toEqual([]);
  expect(afterLoad).toContain("@aws-sdk");
}, 60_000);

test("gcp: serving in real mode loaded neither google-auth-library nor gax nor the Compute clients; the first cloud call loads them", async () => {
  const { atServing, afterLoad } = await modulesOf("gcp");
  expect(atServing).toEqual([]);
  expect(afterLoad).toEqual(expect.arrayContaining(["google-auth-library", "google-gax", "@google-cloud/compute"]));
}, 60_000);
