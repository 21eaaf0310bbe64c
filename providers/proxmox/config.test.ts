// Settings parsing: PROXMOX_HOST forms, credentials, ids and sizes.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "../../shared/config";
import { allFlags } from "../../shared/main";
import { proxmoxProvider } from "./definition";
import { parsePveHost } from "./endpoint";
import { authFromSettings } from "./factory";
import { formatInstanceId, parseInstanceId } from "./ids";
import { DEFAULT_SIZES, SizeCatalog } from "./sizes";
import { parseHttpResponse } from "./transport";

const settings = (env: Record<string, string>) => parseArgs(allFlags(proxmoxProvider), [], env).settings;

describe("PROXMOX_HOST", () => {
  test.each([
    ["pve1.example.com", "https://pve1.example.com:8006/api2/json"],
    ["pve1.example.com:443", "https://pve1.example.com:443/api2/json"],
    ["10.0.0.5", "https://10.0.0.5:8006/api2/json"],
    ["[2001:db8::5]:8006", "https://[2001:db8::5]:8006/api2/json"],
    ["https://pve1:8006", "https://pve1:8006/api2/json"],
    ["https://pve1:8006/api2/json/", "https://pve1:8006/api2/json"],
    ["https://proxy.example.com/pve", "https://proxy.example.com:8006/pve/api2/json"],
  ])("%s", (input, base) => {
    expect(parsePveHost(input).baseUrl).toBe(base);
  });
  test("plain http and credentials in the URL are refused", () => {
    expect(() => parsePveHost("http://pve1:8006")).toThrow("only https");
    expect(() => parsePveHost("https://root:pw@pve1")).toThrow("credentials");
  });
});

describe("credentials", () => {
  test("ticket login user gets the realm unless it names one", () => {
    expect(authFromSettings(settings({ PROXMOX_USER: "root", PROXMOX_PASSWORD: "x" }))).toEqual({ kind: "ticket", username: "root@pve", password: "x" });
    expect(authFromSettings(settings({ PROXMOX_USER: "root", PROXMOX_REALM: "pam", PROXMOX_PASSWORD: "x" }))).toMatchObject({ username: "root@pam" });
    expect(authFromSettings(settings({ PROXMOX_USER: "ops@ldap", PROXMOX_PASSWORD: "x" }))).toMatchObject({ username: "ops@ldap" });
  });
  test("API tokens: full id, or name plus user", () => {
    expect(authFromSettings(settings({ PROXMOX_TOKEN_ID: "root@pam!ci", PROXMOX_TOKEN_SECRET: "s" }))).toEqual({ kind: "token", tokenId: "root@pam!ci", secret: "s" });
    expect(authFromSettings(settings({ PROXMOX_USER: "root", PROXMOX_REALM: "pam", PROXMOX_TOKEN_ID: "ci", PROXMOX_TOKEN_SECRET: "s" }))).toMatchObject({ tokenId: "root@pam!ci" });
  });
  test("missingCredentials accepts password or token auth", () => {
    const missing = (env: Record<string, string>) => proxmoxProvider.missingCredentials(settings(env), env);
    expect(missing({})).toEqual(["PROXMOX_HOST", "PROXMOX_USER", "PROXMOX_PASSWORD (or PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET)"]);
    expect(missing({ PROXMOX_HOST: "h", PROXMOX_USER: "u", PROXMOX_PASSWORD: "p" })).toEqual([]);
    expect(missing({ PROXMOX_HOST: "h", PROXMOX_TOKEN_ID: "u@pve!t", PROXMOX_TOKEN_SECRET: "s" })).toEqual([]);
    expect(missing({ PROXMOX_HOST: "h", PROXMOX_TOKEN_ID: "t", PROXMOX_TOKEN_SECRET: "s" })).toEqual(["PROXMOX_USER"]);
    expect(missing({ PROXMOX_HOST: "h", PROXMOX_TOKEN_ID: "u@pve!t" })).toEqual(["PROXMOX_TOKEN_SECRET"]);
  });
});

describe("ids and sizes", () => {
  test("ids round-trip", () => {
    const id = formatInstanceId("pve-2.lab", "lxc", 913);
    expect(parseInstanceId(id)).toEqual({ node: "pve-2.lab", kind: "lxc", vmid: 913 });
    expect(parseInstanceId("qemu/100")).toEqual({ kind: "qemu", vmid: 100 });
    expect(() => parseInstanceId("pve1/qemu/")).toThrow("instance_id");
  });
  test("a catalog file replaces the defaults and is checked at start", () => {
    const dir = mkdtempSync(join(tmpdir(), "skyclust-pve-sizes-"));
    try {
      writeFileSync(join(dir, "sizes.json"), JSON.stringify({ db: { vcpus: 8, memoryGiB: 32, diskGiB: 200 } }));
      const c = SizeCatalog.fromFile(join(dir, "sizes.json"));
      expect(c.resolve("db")).toEqual({ name: "db", vcpus: 8, memoryMiB: 32768, diskGiB: 200 });
      expect(() => c.resolve("medium")).toThrow("type");
      writeFileSync(join(dir, "bad.json"), JSON.stringify({ db: { vcpus: 0, memoryGiB: 1 } }));
      expect(() => SizeCatalog.fromFile(join(dir, "bad.json"))).toThrow("PROXMOX_SIZE_CATALOG");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("catalog names and the generic form", () => {
    const c = new SizeCatalog(DEFAULT_SIZES);
    expect(c.resolve("medium")).toMatchObject({ vcpus: 2, memoryMiB: 4096 });
    expect(c.resolve("4c16g")).toMatchObject({ vcpus: 4, memoryMiB: 16384 });
    expect(c.resolve("1c512m")).toMatchObject({ vcpus: 1, memoryMiB: 512 });
    expect(c.nameFor(2, 4096 * 1048576)).toBe("medium");
    expect(c.nameFor(3, 3072 * 1048576)).toBe("3c3g");
    expect(() => c.resolve("huge")).toThrow("type");
  });
});

test("the pinned transport's HTTP parser keeps PVE's reason phrase and decodes chunked bodies", () => {
  const raw = Buffer.from("HTTP/1.1 500 can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"dat\r\n8\r\na\":null}\r\n0\r\n\r\n");
  expect(parseHttpResponse(raw)).toEqual({ status: 500, statusText: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout", body: '{"data":null}' });
});
