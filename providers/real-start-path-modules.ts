// Starts one provider in REAL mode in this process (credentials present,
// the endpoint a closed local port: nothing is called), then prints which
// cloud SDK packages had been evaluated by the time it serves, as JSON; then
// loads the backend as a first cloud call would and prints the list again
// (the control: the same check sees the SDK once a call needs it). For
// real-start-path.test.ts: a module graph is per process, so each provider
// needs a process of its own.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeferredBackend } from "../shared/cloud/deferred-backend";
import { parseArgs } from "../shared/config";
import { createLogger } from "../shared/log";
import { allFlags, startProvider } from "../shared/main";
import { packagesLoaded } from "../shared/testing/module-probe";
import { providerEntry } from "./index";

/** Packages (by path fragment) that a real-mode start must leave to the first cloud call. */
export const CLOUD_SDKS: Record<string, string> = {
  "@aws-sdk": "/node_modules/@aws-sdk/",
  "google-auth-library": "/node_modules/google-auth-library/",
  "google-gax": "/node_modules/google-gax/",
  "@google-cloud/compute": "/node_modules/@google-cloud/compute/",
};

const loaded = () => packagesLoaded(CLOUD_SDKS);

const CLOSED = "http://127.0.0.1:9";
const provider = process.argv[2]!;
const dir = mkdtempSync(join(tmpdir(), "skyclust-real-start-"));
const env: Record<string, string> = { HOME: dir };
const args = ["--host", "127.0.0.1", "--port", "0"];
if (provider === "aws") {
  Object.assign(env, { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_EC2_METADATA_DISABLED: "true" });
  args.push("--endpoint", CLOSED, "--region", "us-east-1");
} else if (provider === "gcp") {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyFile = join(dir, "key.json");
  const key = { type: "service_account", project_id: "p1", private_key_id: "k1", private_key: privateKey.export({ type: "pkcs8", format: "pem" }), client_email: "sa@p1.iam.gserviceaccount.com" };
  writeFileSync(keyFile, JSON.stringify(key));
  Object.assign(env, { GOOGLE_APPLICATION_CREDENTIALS: keyFile, GCP_ENDPOINT: CLOSED });
} else {
  throw new Error(`no real-mode set-up for ${provider}`);
}

const def = await providerEntry(provider).load();
const { settings } = parseArgs(allFlags(def), args, env);
const started = await startProvider(def, settings, createLogger({ level: "error", write: () => {} }), env);
const atServing = loaded();
if (!(started.backend instanceof DeferredBackend)) throw new Error(`${provider}: the real backend is not deferred`);
await started.backend.backend();
console.log(JSON.stringify({ atServing, afterLoad: loaded() }));
await started.running.shutdown("done");
rmSync(dir, { recursive: true, force: true });
process.exit(0);
