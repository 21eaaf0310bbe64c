// Flag combinations that cannot work are refused at start, and the login
// user fallbacks pick the image's user.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { ConfigError, parseArgs } from "../config";
import { SSH_FLAGS, sshOptionsFromSettings } from "./settings";
import { defaultLoginUser, loginUsers, userFromTags } from "./users";

const options = (args: string[], env: Record<string, string> = {}) => sshOptionsFromSettings(parseArgs(SSH_FLAGS, args, env).settings);

test("defaults: loopback tunnels, bounded timeouts and output, no key exposure", () => {
  const o = options([]);
  expect(o).toMatchObject({
    tunnelBindAddress: "127.0.0.1",
    exposePrivateKeys: false,
    keepCreatedKeys: false,
    trustOnFirstUse: false,
    defaultCommandTimeoutSeconds: 60,
    maxCommandTimeoutSeconds: 600,
    outputMaxBytes: 1024 * 1024,
    tunnelMax: 16,
  });
});

test("environment variables work like flags", () => {
  const dir = mkdtempSync("/tmp/skyclust-ssh-settings-");
  try {
    const o = options([], { SKYCLUST_SSH_KEY_DIR: dir, SKYCLUST_SSH_USER: "admin", SKYCLUST_SSH_KNOWN_HOSTS: `${dir}/kh`, SKYCLUST_SSH_TRUST_ON_FIRST_USE: "true" });
    expect(o).toMatchObject({ keyDir: dir, userOverride: "admin", knownHostsFile: `${dir}/kh`, trustOnFirstUse: true });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("impossible combinations are ConfigErrors", () => {
  expect(() => options(["--ssh-keep-created-keys"])).toThrow(ConfigError);
  expect(() => options(["--ssh-trust-on-first-use"])).toThrow(ConfigError);
  expect(() => options(["--ssh-key-dir", "/nonexistent/skyclust"])).toThrow(ConfigError);
  expect(() => options(["--ssh-bastion", "10.0.0.1"])).toThrow("--ssh-bastion-user");
  expect(() => options(["--ssh-bastion-user", "ops"])).toThrow(ConfigError);
  expect(() => options(["--ssh-command-timeout-seconds", "900"])).toThrow(ConfigError);
  expect(() => options(["--ssh-tunnel-max", "0"])).toThrow(ConfigError);
});

test("bastion address: HOST, HOST:PORT and [v6]:PORT", () => {
  expect(options(["--ssh-bastion", "jump.example.com", "--ssh-bastion-user", "ops"]).bastion).toEqual({ host: "jump.example.com", port: 22, username: "ops", key: undefined });
  expect(options(["--ssh-bastion", "10.0.0.1:2222", "--ssh-bastion-user", "ops"]).bastion?.port).toBe(2222);
  expect(options(["--ssh-bastion", "[fd00::1]:2200", "--ssh-bastion-user", "ops"]).bastion).toMatchObject({ host: "fd00::1", port: 2200 });
});

test("login user: tags, image family with a cloud's exceptions, cloud default", () => {
  expect(userFromTags({ "ssh-user": "alice" })).toBe("alice");
  expect(userFromTags({ other: "x" })).toBeUndefined();
  // Each provider declares its own table (providers/<cloud>/login-users.ts, tested in providers/login-users.test.ts).
  const cloud = loginUsers("fallback-user", { debian: "admin" });
  expect(defaultLoginUser(cloud, { imageId: "img-1", extra: { image_name: "debian-12-amd64-20240717" } })).toBe("admin");
  expect(defaultLoginUser(cloud, { imageId: "0c3e", extra: { image_name: "Ubuntu 24.04" } })).toBe("ubuntu");
  expect(defaultLoginUser(cloud, { imageId: "img-2", extra: { image: "rocky-9" } })).toBe("rocky");
  expect(defaultLoginUser(cloud, { imageId: "0c3e" })).toBe("fallback-user");
  expect(defaultLoginUser(loginUsers("root"), { imageId: "debian-12" })).toBe("debian");
});
