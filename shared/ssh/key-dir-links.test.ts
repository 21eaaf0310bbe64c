// Attack: a symlink in --ssh-key-dir pointing at a 0600 key elsewhere was
// served by GetInstanceSSHConfig. Only files inside the directory may be
// used: outward symlinks and hard links to another user's file are refused
// with FAILED_PRECONDITION; a symlink that stays inside the directory (how
// Kubernetes mounts secrets: NAME -> ..data/NAME) keeps working.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { chownSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { awsProvider } from "../../providers/aws/definition";
import { grpcError } from "../testing/client";
import { startTestProvider, type TestProvider } from "../testing/harness";
import { makeKey } from "./test-sshd";

let root: string;
let keyDir: string;
let p: TestProvider;
let instanceId: string;
let inside: string;
const config = (key: string) => p.client.call("GetInstanceSSHConfig", { instance_id: instanceId, key_pair_name: key });

beforeAll(async () => {
  root = mkdtempSync("/tmp/skyclust-keydir-");
  keyDir = join(root, "keys");
  const elsewhere = join(root, "elsewhere");
  mkdirSync(keyDir, { mode: 0o700 });
  mkdirSync(elsewhere, { mode: 0o700 });
  makeKey(join(elsewhere, "victim"));
  symlinkSync(join(elsewhere, "victim"), join(keyDir, "outward"));
  symlinkSync("../elsewhere/victim", join(keyDir, "relative.pem"));
  // Another user's key, hard-linked into the directory.
  makeKey(join(elsewhere, "other-user"));
  chownSync(join(elsewhere, "other-user"), 65534, 65534);
  linkSync(join(elsewhere, "other-user"), join(keyDir, "hardlinked"));
  // A Kubernetes-style secret mount: NAME -> ..data/NAME, ..data -> a dated dir.
  mkdirSync(join(keyDir, "..2026_12_01"), { mode: 0o700 });
  inside = makeKey(join(keyDir, "..2026_12_01", "mounted")).privateKey;
  symlinkSync("..2026_12_01", join(keyDir, "..data"));
  symlinkSync("..data/mounted", join(keyDir, "mounted"));
  makeKey(join(keyDir, "plain"));

  p = await startTestProvider(awsProvider, ["--sandbox", "--sandbox-ssh-target", "127.0.0.1:22", "--ssh-key-dir", keyDir, "--ssh-expose-private-keys", "--ssh-user", "u"]);
  instanceId = (await p.client.call("ListInstances", { filters: { status: "running" }, page_size: 1 })).instances[0].id;
});
afterAll(async () => {
  await p?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("the key directory serves only its own files", () => {
  test("a symlink to a key outside the directory is refused (absolute and relative)", async () => {
    for (const name of ["outward", "relative"]) {
      const err = await grpcError(config(name));
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toContain("outside the SSH key directory");
      expect(err.details).not.toContain("PRIVATE KEY");
    }
  });

  test("a hard link to another user's key file is refused", async () => {
    const err = await grpcError(config("hardlinked"));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toContain("hard link");
  });

  test("a plain file and a symlink that stays inside (Kubernetes secret layout) are served", async () => {
    expect((await config("plain")).ssh_config.private_key).toContain("PRIVATE KEY");
    expect((await config("mounted")).ssh_config.private_key).toBe(inside);
  });
});
