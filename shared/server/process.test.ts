// The provider as a process: command line, graceful shutdown on SIGTERM,
// the healthcheck subcommand, and what reaches the logs.
import { describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { allFlags } from "../main";
import { ProviderClient, grpcError } from "../testing/client";
import { runCli, spawnProvider } from "../testing/process";
import { ALL_PROVIDERS } from "../../providers/testing";

describe("command line", () => {
  for (const def of ALL_PROVIDERS) {
    test(`${def.name}: --help lists every flag and environment variable`, () => {
      const r = runCli(def.name, ["--help"]);
      expect(r.code).toBe(0);
      for (const f of allFlags(def)) {
        expect(r.stdout).toContain(`--${f.name}`);
        if (f.env) expect(r.stdout).toContain(f.env);
      }
      expect(r.stdout).toContain("healthcheck");
    });

    test(`${def.name}: without --sandbox and without credentials it exits at once naming what is missing`, () => {
      const r = runCli(def.name, []);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--sandbox");
      expect(r.stderr).toMatch(/missing: set [A-Z_]+/);
    });
  }

  test("--version prints the package version", async () => {
    const pkg = await Bun.file(new URL("../../package.json", import.meta.url)).json();
    const r = runCli("aws", ["--version"]);
    expect(r.stdout.trim()).toBe(`skyclust-aws-provider ${pkg.version}`);
  });

  test("an unknown flag or a bad value is refused with exit code 2", () => {
    expect(runCli("aws", ["--sandbox", "--bogus"]).stderr).toContain("unknown flag --bogus");
    expect(runCli("aws", ["--sandbox", "--port", "eighty"]).stderr).toContain("--port: expected a number");
    expect(runCli("aws", ["--sandbox", "--tls-cert", "/x"]).stderr).toContain("--tls-cert and --tls-key go together");
  });
});

describe("healthcheck subcommand", () => {
  test("exits 0 against a SERVING server (found by --addr or SKYCLUST_PORT) and 1 when nothing answers", async () => {
    const p = await spawnProvider("gcp", ["--sandbox"]);
    try {
      const ok = runCli("gcp", ["healthcheck", "--addr", p.address]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain("SERVING");
      const viaEnv = runCli("gcp", ["healthcheck"], { SKYCLUST_PORT: String(p.port) });
      expect(viaEnv.stdout).toContain(`127.0.0.1:${p.port}: SERVING`);
      expect(viaEnv.code).toBe(0);
    } finally {
      await p.stop();
    }
    const down = runCli("gcp", ["healthcheck", "--addr", p.address, "--timeout-ms", "500"]);
    expect(down.code).toBe(1);
    // Says what is wrong in words, without grpc-js's dangling "Resolution note:".
    expect(down.stdout.trim()).toBe(`${p.address}: error: UNAVAILABLE: nothing is listening there (connection refused)`);
  });
});

describe("start-up messages", () => {
  test("the chosen address is one plain line on stdout (so --port 0 is usable)", async () => {
    const proc = Bun.spawn([process.execPath, "providers/aws/main.ts", "--sandbox", "--host", "127.0.0.1", "--port", "0"], {
      cwd: new URL("../..", import.meta.url).pathname,
      stdout: "pipe",
      stderr: "ignore",
    });
    try {
      const reader = proc.stdout.getReader();
      const { value } = await reader.read();
      const line = new TextDecoder().decode(value).split("\n")[0]!;
      const m = line.match(/^skyclust-aws-provider serving on 127\.0\.0\.1:(\d+) \(sandbox\)$/);
      expect(m).not.toBeNull();
      const client = new ProviderClient(`127.0.0.1:${m![1]}`);
      try {
        expect((await client.call("GetProviderInfo", {})).name).toBe("aws");
      } finally {
        client.close();
      }
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  });

  test("a busy port: one friendly line naming the address and what to do, no raw grpc-js output, exit 2", async () => {
    const p = await spawnProvider("aws", ["--sandbox"]);
    try {
      const r = runCli("aws", ["--sandbox", "--host", "127.0.0.1", "--port", String(p.port)]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(
        `skyclust-aws-provider: cannot start: 127.0.0.1:${p.port} is already in use (another provider or program listens there): choose another --port, or --port 0 for any free port`,
      );
    } finally {
      await p.stop();
    }
  });
});

describe("graceful shutdown", () => {
  test("SIGTERM during a slow call lets it finish, refuses new calls, exits 0", async () => {
    const p = await spawnProvider("aws", ["--sandbox", "--sandbox-latency-ms", "1500"]);
    const client = new ProviderClient(p.address);
    const slow = client.call("ListRegions", {});
    await Bun.sleep(400);
    p.proc.kill("SIGTERM");
    const res = await slow;
    expect(res.regions.length).toBe(8);
    expect(await p.proc.exited).toBe(0);
    const late = await grpcError(new ProviderClient(p.address).call("ListRegions", {}, { deadlineMs: 1000 }));
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(late.code);
    client.close();
    expect(p.output()).toContain('"msg":"stopped","provider":"aws","drained":true');
  });

  test("calls still running when the grace period ends are cancelled and the process still exits 0", async () => {
    const p = await spawnProvider("aws", ["--sandbox", "--sandbox-latency-ms", "20000", "--shutdown-grace-seconds", "1"]);
    const client = new ProviderClient(p.address);
    const slow = grpcError(client.call("ListRegions", {}));
    await Bun.sleep(300);
    p.proc.kill("SIGTERM");
    const err = await slow;
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toContain("shutting down");
    expect(await p.proc.exited).toBe(0);
    client.close();
    expect(p.output()).toContain('"drained":false');
  });
});

describe("logs", () => {
  test("one JSON line per RPC with method, code, duration and request id; no key material", async () => {
    const p = await spawnProvider("openstack", ["--sandbox"]);
    const client = new ProviderClient(p.address);
    const created = await client.call("CreateKeyPair", { key_pair_name: "ops" }, { metadata: { "x-request-id": "req-123" } });
    await grpcError(client.call("GetInstanceStatus", { instance_id: "nope" }));
    client.close();
    await p.stop();
    const lines = p
      .output()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const rpcs = lines.filter((l) => l.msg === "rpc");
    expect(rpcs.map((l) => `${l.method}:${l.code}`)).toEqual(expect.arrayContaining(["CreateKeyPair:OK", "GetInstanceStatus:NOT_FOUND"]));
    const keyLine = rpcs.find((l) => l.method === "CreateKeyPair");
    expect(keyLine.request_id).toBe("req-123");
    expect(typeof keyLine.duration_ms).toBe("number");
    const privateBody = created.private_key.split("\n")[1];
    expect(p.output()).not.toContain(privateBody);
    expect(p.output()).not.toContain(created.key_pair.public_key.split(" ")[1]);
  });

  test("secret settings are shown only as set", async () => {
    const p = await spawnProvider("openstack", ["--sandbox"], { OS_PASSWORD: "hunter2-very-secret" });
    await p.stop();
    expect(p.output()).not.toContain("hunter2-very-secret");
    expect(p.output()).toContain('"password":"[redacted]"');
  });
});
