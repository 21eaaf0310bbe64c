// Access to the real OpenStack testbed (providers/openstack/testbed) for
// tests: its member credentials as an environment, and a reachability check
// that FAILS with the command to run instead of skipping.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GateProxy } from "../../../shared/testing/gate-proxy";

/** The testbed's Nova endpoint, as its Keystone catalog names it. */
export const TESTBED_NOVA = "http://127.0.0.1:8774";
export const TESTBED_DIR = process.env.OPENSTACK_TESTBED_DIR || "/tmp/skyclust-openstack";
const START_HINT = "start it with: providers/openstack/testbed/testbed.sh start (from the repository root; about 30 s from saved state, ~7 min on first use)";

/** Parses `export A=1 B=2` lines of an openrc file. */
export function parseOpenrc(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const body = line.trim().replace(/^export\s+/, "");
    if (!body || body.startsWith("#")) continue;
    for (const m of body.matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g)) env[m[1]!] = m[2]!.replace(/^["']|["']$/g, "");
  }
  return env;
}

/** The testbed's member (demo) credentials; throws with the start command when absent. */
export function testbedEnv(which: "demo" | "admin" = "demo"): Record<string, string> {
  const file = join(TESTBED_DIR, `${which}-openrc`);
  if (!existsSync(file)) throw new Error(`the OpenStack testbed has no ${file}: ${START_HINT}`);
  return parseOpenrc(readFileSync(file, "utf8"));
}

/** Throws (never skips) when Keystone or Nova of the testbed do not answer. */
export async function requireTestbed(env: Record<string, string>): Promise<void> {
  const probes = [env.OS_AUTH_URL!, "http://127.0.0.1:8774/", "http://127.0.0.1:9292/"];
  for (const url of probes) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
    } catch (err) {
      throw new Error(`the OpenStack testbed is not reachable (${url}: ${(err as Error).message}); ${START_HINT}`);
    }
  }
}

/** A project-scoped password login to the testbed's Keystone with openrc credentials (the token is in x-subject-token). */
export function keystoneLogin(env: Record<string, string>): Promise<Response> {
  return fetch(`${env.OS_AUTH_URL}/auth/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      auth: {
        identity: { methods: ["password"], password: { user: { name: env.OS_USERNAME, domain: { id: env.OS_USER_DOMAIN_ID ?? "default" }, password: env.OS_PASSWORD } } },
        scope: { project: { name: env.OS_PROJECT_NAME, domain: { id: env.OS_PROJECT_DOMAIN_ID ?? "default" } } },
      },
    }),
    signal: AbortSignal.timeout(10_000),
  });
}

/**
 * Throws (never skips) when the testbed's Neutron is not the real
 * neutron-server (a testbed set up before it had one still runs the old
 * stand-in, which knows no networks): restarting it adds Neutron once.
 */
export async function requireRealNeutron(): Promise<void> {
  const admin = testbedEnv("admin");
  const auth = await keystoneLogin(admin);
  await auth.arrayBuffer();
  const token = auth.headers.get("x-subject-token") ?? "";
  let external: unknown[] = [];
  try {
    const res = await fetch("http://127.0.0.1:9696/v2.0/networks?router:external=true", { headers: { "x-auth-token": token }, signal: AbortSignal.timeout(10_000) });
    external = ((await res.json()) as { networks?: unknown[] }).networks ?? [];
  } catch (err) {
    throw new Error(`the testbed's Neutron does not answer (${(err as Error).message}); ${START_HINT}`);
  }
  if (external.length === 0) {
    throw new Error(`the testbed runs the old Neutron stand-in (no external network); restart it to add the real neutron-server (once, about a minute): ${START_HINT}`);
  }
}

/** The testbed's message bus (RabbitMQ, set up by testbed/setup.sh), where Nova publishes its notifications. */
export const TESTBED_BUS_URL = "amqp://openstack:secret@127.0.0.1:5672/";

/**
 * The testbed's Keystone and Nova behind GateProxies, so a test can hold,
 * hang or replace Nova answers: Keystone's token catalog is rewritten to
 * point compute at the Nova proxy. `authUrl` replaces OS_AUTH_URL.
 */
export async function proxiedTestbed(env: Record<string, string>): Promise<{ keystone: GateProxy; nova: GateProxy; authUrl: string; stop(): Promise<void> }> {
  const nova = await GateProxy.start(TESTBED_NOVA);
  const keystoneUrl = new URL(env.OS_AUTH_URL!);
  const keystone = await GateProxy.start(keystoneUrl.origin, (body) => body.replaceAll(`${TESTBED_NOVA}/`, `${nova.url}/`));
  return {
    keystone,
    nova,
    authUrl: `${keystone.url}${keystoneUrl.pathname}`,
    async stop() {
      await keystone.stop();
      await nova.stop();
    },
  };
}

/** One request straight to the testbed's Nova (not through a provider), as an operator's `openstack server stop` would. */
export async function novaRequest(env: Record<string, string>, method: string, path: string, body?: unknown): Promise<Response> {
  const login = await keystoneLogin(env);
  if (!login.ok) throw new Error(`Keystone login failed: ${login.status}`);
  const token = login.headers.get("x-subject-token")!;
  await login.arrayBuffer();
  const res = await fetch(`http://127.0.0.1:8774/v2.1${path}`, {
    method,
    headers: { "x-auth-token": token, "content-type": "application/json", "openstack-api-version": "compute 2.79" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`Nova ${method} ${path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return res;
}
