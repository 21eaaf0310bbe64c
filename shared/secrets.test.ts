// Secret files: the _FILE twins every secret flag gets, the permission
// rule, and re-reading after the two ways files are rotated in practice
// (Kubernetes' atomic `..data` symlink swap, a writer replacing the file).
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseArgs, type FlagSpec } from "./config";
import { allFlags, helpText } from "./main";
import { captureLogger } from "./testing/harness";
import { ALL_PROVIDERS } from "../providers/testing";
import { MAX_SECRET_FILE_BYTES, SecretFile, loadSecretFiles, withSecretFileFlags } from "./secrets";

const dir = mkdtempSync(join(tmpdir(), "skyclust-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function secretFile(content: string, mode = 0o600): string {
  const path = join(dir, `secret-${++n}`);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

const SPECS: FlagSpec[] = [
  { name: "user", kind: "string", env: "X_USER", help: "user" },
  { name: "password", kind: "string", env: "X_PASSWORD", secret: true, help: "password" },
];
const parse = (argv: string[], env: Record<string, string> = {}) => parseArgs(withSecretFileFlags(SPECS), argv, env).settings;

describe("_FILE twins", () => {
  test("every secret flag of every provider has a --NAME-file flag and a VAR_FILE variable, listed in --help", () => {
    const wanted = ["PROXMOX_PASSWORD_FILE", "PROXMOX_TOKEN_SECRET_FILE", "OS_PASSWORD_FILE", "OS_APPLICATION_CREDENTIAL_SECRET_FILE", "AWS_SECRET_ACCESS_KEY_FILE", "AWS_SESSION_TOKEN_FILE", "AWS_ACCESS_KEY_ID_FILE", "GOOGLE_OAUTH_ACCESS_TOKEN_FILE"];
    const envs = new Set(ALL_PROVIDERS.flatMap((d) => allFlags(d).map((f) => f.env)));
    for (const v of wanted) expect(envs.has(v)).toBe(true);
    for (const def of ALL_PROVIDERS) {
      const flags = allFlags(def);
      for (const f of flags.filter((f) => f.secret)) expect(flags.find((g) => g.name === `${f.name}-file`)?.env).toBe(`${f.env}_FILE`);
      expect(helpText(def, "x")).toContain("_FILE]");
    }
  });

  test("the value is read from the file, without its trailing newline", () => {
    const settings = parse([], { X_PASSWORD_FILE: secretFile("s3cret\n") });
    const secrets = loadSecretFiles(withSecretFileFlags(SPECS), settings);
    expect(settings.password).toBe("s3cret");
    expect((secrets.get("password") as SecretFile).current()).toBe("s3cret");
  });

  test("a flag or variable stays a plain value", () => {
    const settings = parse(["--password", "direct"]);
    expect(loadSecretFiles(withSecretFileFlags(SPECS), settings).get("password")).toBe("direct");
  });

  test("both forms set is an error naming both", () => {
    for (const [argv, env] of [
      [[], { X_PASSWORD: "a", X_PASSWORD_FILE: secretFile("b") }],
      [["--password", "a", "--password-file", secretFile("b")], {}],
    ] as [string[], Record<string, string>][]) {
      expect(() => loadSecretFiles(withSecretFileFlags(SPECS), parse(argv, env))).toThrow(
        new ConfigError("set X_PASSWORD (--password) or X_PASSWORD_FILE (--password-file), not both"),
      );
    }
  });

  test("unreadable, empty, oversized and non-regular files are refused by name, never quoting content", () => {
    const refuse = (path: string) => {
      try {
        loadSecretFiles(withSecretFileFlags(SPECS), parse([], { X_PASSWORD_FILE: path }));
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error(`${path} was accepted`);
    };
    expect(refuse(join(dir, "absent"))).toBe(`X_PASSWORD_FILE (--password-file): cannot read ${join(dir, "absent")}: ENOENT`);
    expect(refuse(secretFile("\n"))).toContain("is empty");
    expect(refuse(secretFile("x".repeat(MAX_SECRET_FILE_BYTES + 1)))).toContain(`larger than ${MAX_SECRET_FILE_BYTES} bytes`);
    const sub = join(dir, "a-directory");
    mkdirSync(sub, { mode: 0o700 });
    expect(refuse(sub)).toContain("is not a regular file");
  });
});

describe("file permissions", () => {
  const load = (path: string) => loadSecretFiles(withSecretFileFlags(SPECS), parse([], { X_PASSWORD_FILE: path }));

  test("readable by others: refused", () => {
    for (const mode of [0o604, 0o644, 0o606]) expect(() => load(secretFile("v", mode))).toThrow(/readable by others \(mode 06\d4|06\d6\)/);
  });

  test("group bits on a file owned by the process's user: refused; 0600 and 0400 accepted", () => {
    if (process.getuid?.() !== 0) return; // the chown below needs root (every CI machine here is)
    const mine = (mode: number) => {
      const p = secretFile("v", mode);
      chownSync(p, 65532, 65532);
      return p;
    };
    expect(() => load(mine(0o640))).toThrow(/accessible to its group \(mode 0640\)/);
    expect(() => load(mine(0o660))).toThrow(/accessible to its group/);
    expect(load(mine(0o600)).get("password")).toBeDefined();
    expect(load(mine(0o400)).get("password")).toBeDefined();
  });

  test("root-owned with group read (a Kubernetes Secret under fsGroup: 0440): accepted; group write is not", () => {
    if (process.getuid?.() !== 0) return;
    const p = secretFile("v", 0o440);
    chownSync(p, 0, 65532);
    expect(load(p).get("password")).toBeDefined();
    const q = secretFile("v", 0o460);
    chownSync(q, 0, 65532);
    expect(() => load(q)).toThrow(/accessible to its group/);
  });
});

describe("rotation", () => {
  test("Kubernetes-style atomic ..data symlink swap: the next read has the new value; the log names the setting, not the value", () => {
    // What kubelet's AtomicWriter leaves in a Secret volume.
    const vol = mkdtempSync(join(dir, "volume-"));
    const gen = (name: string, value: string) => {
      mkdirSync(join(vol, name), { mode: 0o755 });
      writeFileSync(join(vol, name, "password"), value, { mode: 0o400 });
      chmodSync(join(vol, name, "password"), 0o400);
    };
    gen("..2026_12_01_10_00_00.1", "first-value");
    symlinkSync("..2026_12_01_10_00_00.1", join(vol, "..data"));
    symlinkSync("..data/password", join(vol, "password"));
    const { log, lines } = captureLogger();
    const secret = new SecretFile(join(vol, "password"), "X_PASSWORD_FILE", log);
    expect(secret.current()).toBe("first-value");
    expect(secret.version()).toBe(0);

    gen("..2026_12_01_10_05_00.2", "second-value");
    symlinkSync("..2026_12_01_10_05_00.2", join(vol, "..data_tmp"));
    renameSync(join(vol, "..data_tmp"), join(vol, "..data"));
    expect(secret.current()).toBe("second-value");
    expect(secret.version()).toBe(1);
    expect(secret.current()).toBe("second-value");
    expect(secret.version()).toBe(1);
    const reload = lines.map((l) => JSON.parse(l)).filter((r) => r.msg === "credentials reloaded");
    expect(reload).toHaveLength(1);
    expect(reload[0]).toMatchObject({ level: "info", setting: "X_PASSWORD_FILE", path: join(vol, "password") });
    expect(lines.join("\n")).not.toContain("first-value");
    expect(lines.join("\n")).not.toContain("second-value");
  });

  test("a file rewritten in place (Vault Agent) is re-read; a half-written (empty) or exposed file keeps the last good value with one warning", () => {
    const path = secretFile("v1");
    const { log, lines } = captureLogger();
    const secret = new SecretFile(path, "X_PASSWORD_FILE", log);
    writeFileSync(path, "v2-longer\n");
    expect(secret.current()).toBe("v2-longer");
    writeFileSync(path, "");
    expect(secret.current()).toBe("v2-longer");
    expect(secret.current()).toBe("v2-longer");
    chmodSync(path, 0o644);
    writeFileSync(path, "v3");
    expect(secret.current()).toBe("v2-longer");
    chmodSync(path, 0o600);
    writeFileSync(path, "v4");
    expect(secret.current()).toBe("v4");
    const warnings = lines.map((l) => JSON.parse(l)).filter((r) => r.level === "warn");
    expect(warnings.map((w) => w.reason)).toEqual([expect.stringContaining("is empty"), expect.stringContaining("readable by others")]);
    expect(lines.join("\n")).not.toMatch(/v2-longer|v3|v4/);
  });

  test("a file that disappears keeps the last good value", () => {
    const path = secretFile("still-here");
    const secret = new SecretFile(path, "X_PASSWORD_FILE");
    rmSync(path);
    expect(secret.current()).toBe("still-here");
    writeFileSync(path, "back", { mode: 0o600 });
    expect(secret.current()).toBe("back");
  });
});
