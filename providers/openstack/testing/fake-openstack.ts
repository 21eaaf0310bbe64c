// A small local Keystone + Nova + Glance built from the recorded responses
// in testing/fixtures (field names exactly as recorded), for
// what the real testbed cannot show: tokens expiring or revoked mid-use, a
// second region, other microversions, throttling with Retry-After, 5xx.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describeRequest } from "../../../shared/testing/echo";

const FIXTURES = join(import.meta.dir, "fixtures");
export const fixture = (path: string): any => JSON.parse(readFileSync(join(FIXTURES, path), "utf8"));

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  token?: string;
  microversion?: string;
  body?: any;
  status: number;
}

export interface InjectedFailure {
  method?: string;
  /** Matched against the path (without query). */
  path: RegExp;
  /** How many matching requests fail (Infinity: all). */
  times: number;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait this long before answering (a stuck endpoint). */
  hangMs?: number;
  /** Answer a Keystone/Nova-shaped error whose message quotes the whole request, credentials included. */
  echo?: boolean;
}

export interface FakeOpenStackOptions {
  password?: string;
  /** Nova's max microversion; "" plays a legacy endpoint without microversions. */
  maxVersion?: string;
  regions?: string[];
  tokenLifetimeMs?: number;
  authDelayMs?: number;
  /** Serve HTTPS with this certificate and key (PEM file paths). */
  tls?: { certFile: string; keyFile: string };
}

export class FakeOpenStack {
  readonly requests: RecordedRequest[] = [];
  readonly failures: InjectedFailure[] = [];
  readonly validTokens = new Set<string>();
  /** Names POSTed per created server id, answered by GET /servers/ID. */
  readonly createdNames = new Map<string, string>();
  /** Key pairs by name, unique like Nova's (a second POST is 409). */
  readonly keypairs = new Map<string, any>();
  authCount = 0;
  maxVersion: string;
  authDelayMs: number;
  private server?: ReturnType<typeof Bun.serve>;
  private requestCounter = 0;
  /** While set, token requests wait for it (holdAuth). */
  private authGate?: Promise<void>;

  constructor(readonly opts: FakeOpenStackOptions = {}) {
    this.maxVersion = opts.maxVersion ?? "2.104";
    this.authDelayMs = opts.authDelayMs ?? 0;
  }

  get url(): string {
    return `${this.opts.tls ? "https" : "http"}://127.0.0.1:${this.server!.port}`;
  }

  get regions(): string[] {
    return this.opts.regions ?? ["regionOne", "RegionTwo"];
  }

  start(): this {
    const tls = this.opts.tls ? { tls: { cert: Bun.file(this.opts.tls.certFile), key: Bun.file(this.opts.tls.keyFile) } } : {};
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.handle(req), ...tls });
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.stop(true);
  }

  /** Every token issued so far stops working (as if revoked or expired early). */
  revokeAll(): void {
    this.validTokens.clear();
  }

  fail(f: InjectedFailure): void {
    this.failures.push(f);
  }

  /**
   * Token requests (counted in authCount as they arrive) get no answer until
   * the returned release is called: a Keystone that has not answered yet,
   * without guessing how long anything takes.
   */
  holdAuth(): () => void {
    let release!: () => void;
    this.authGate = new Promise((resolve) => (release = resolve));
    return () => {
      this.authGate = undefined;
      release();
    };
  }

  computeRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith("/compute/"));
  }

  /** The recorded token response with its catalog pointed at this server, in every region. */
  private tokenBody(): any {
    const doc = fixture("keystone/v3-auth-tokens-resp.json");
    const issued = new Date();
    doc.token.issued_at = issued.toISOString();
    doc.token.expires_at = new Date(issued.getTime() + (this.opts.tokenLifetimeMs ?? 3600_000)).toISOString();
    const paths: Record<string, (region: string) => string> = {
      compute: (r) => `${this.url}/compute/${r}/v2.1`,
      image: () => `${this.url}/image`,
      identity: () => `${this.url}/identity/v3`,
      network: () => `${this.url}/network`,
      volume: () => `${this.url}/volume/v1`,
      volumev2: () => `${this.url}/volume/v2`,
    };
    for (const service of doc.token.catalog) {
      const recorded = service.endpoints as any[];
      service.endpoints = this.regions.flatMap((region) =>
        recorded.map((e) => ({ ...e, region, id: `${e.id}-${region}`, url: paths[service.type]?.(region) ?? e.url })),
      );
    }
    return doc;
  }

  private json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
    const rid = `req-fake-${++this.requestCounter}`;
    return new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json", "x-openstack-request-id": rid, ...headers },
    });
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname;
    const token = req.headers.get("x-auth-token") ?? undefined;
    const mv = req.headers.get("openstack-api-version") ?? undefined;
    let body: any;
    const text = req.method === "POST" || req.method === "PUT" ? await req.text() : "";
    try {
      body = req.method === "POST" && text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const record = (status: number) => this.requests.push({ method: req.method, path, query: url.searchParams, token, microversion: mv, body, status });

    const failure = this.failures.find((f) => f.times > 0 && f.path.test(path) && (!f.method || f.method === req.method));
    if (failure) {
      failure.times--;
      record(failure.status);
      if (failure.hangMs) await Bun.sleep(failure.hangMs);
      if (failure.echo) {
        const message = describeRequest(req.method, path, req.headers, text);
        const doc = path.includes("/identity/") ? { error: { code: failure.status, title: "Bad Request", message } } : { badRequest: { code: failure.status, message } };
        return this.json(failure.status, doc, failure.headers);
      }
      return this.json(failure.status, failure.body ?? {}, failure.headers);
    }

    if (path === "/identity/v3/auth/tokens" && req.method === "POST") {
      this.authCount++;
      if (this.authGate) await this.authGate;
      if (this.authDelayMs) await Bun.sleep(this.authDelayMs);
      const password = body?.auth?.identity?.password?.user?.password;
      if (this.opts.password !== undefined && password !== this.opts.password) {
        record(401);
        return this.json(401, fixture("keystone/v3-auth-tokens-401.json"));
      }
      const value = `tok-${this.authCount}`;
      this.validTokens.add(value);
      record(201);
      return this.json(201, this.tokenBody(), { "X-Subject-Token": value });
    }

    if (!token || !this.validTokens.has(token)) {
      record(401);
      return this.json(401, fixture("keystone/v3-auth-tokens-401.json"));
    }
    if (path === "/identity/v3/auth/tokens" && req.method === "HEAD") {
      const subject = req.headers.get("x-subject-token");
      record(subject && this.validTokens.has(subject) ? 200 : 404);
      return new Response(null, { status: subject && this.validTokens.has(subject) ? 200 : 404 });
    }
    if (path === "/identity/v3/regions") {
      record(200);
      return this.json(200, { regions: this.regions.map((id) => ({ id, description: "", parent_region_id: null })) });
    }
    if (path.startsWith("/image/v2/images")) {
      record(200);
      const image = { id: "70a599e0-31e7-49b7-b260-868f441e862b", name: "cirros", status: "active", min_disk: 0, min_ram: 0, os_distro: "cirros", os_admin_user: "cirros" };
      if (path === "/image/v2/images") return this.json(200, { images: url.searchParams.get("name") === "cirros" ? [image] : [] });
      return path.endsWith(image.id) ? this.json(200, image) : new Response("<html><body>404 Not Found</body></html>", { status: 404 });
    }
    if (path === "/" && req.method === "GET") {
      // Nova's version list at the root, as recorded, with this fake's maximum.
      const doc = fixture("nova/versions_versions-get-resp.json");
      for (const v of doc.versions) if (v.id === "v2.1") Object.assign(v, { version: this.maxVersion, min_version: this.maxVersion ? "2.1" : "" });
      record(200);
      return this.json(200, doc);
    }
    const m = /^\/compute\/([^/]+)\/v2\.1(\/.*)?$/.exec(path);
    if (m) {
      const res = this.compute(req.method, m[2] ?? "/", url.searchParams, body);
      record(res.status);
      return res;
    }
    record(404);
    return this.json(404, { itemNotFound: { code: 404, message: `the fake has no ${req.method} ${path}` } });
  }

  private compute(method: string, path: string, query: URLSearchParams, body?: any): Response {
    const atLeast = (v: string) => {
      const [a, b] = this.maxVersion.split(".").map(Number);
      const [c, d] = v.split(".").map(Number);
      return this.maxVersion !== "" && (a! > c! || (a === c && b! >= d!));
    };
    if (path === "/" && method === "GET") {
      const doc = fixture("nova/versions_versions-get-resp.json").versions.find((v: any) => v.id === "v2.1");
      return this.json(200, { version: { ...doc, version: this.maxVersion, min_version: this.maxVersion ? "2.1" : "" } });
    }
    if (path === "/servers/detail") {
      if (query.get("marker")) return this.json(200, { servers: [] });
      const file = atLeast("2.100") ? "servers_v2.100_servers-details-resp.json" : atLeast("2.47") ? "servers_v2.47_servers-details-resp.json" : "servers_servers-details-resp.json";
      return this.json(200, fixture(`nova/${file}`));
    }
    if (path === "/flavors/detail") return this.json(200, fixture("nova/flavors_flavors-detail-resp.json"));
    if (path === "/servers" && method === "POST") {
      const created = fixture("nova/servers_v2.100_server-create-resp.json");
      // The recorded server answers GET with the name it was created with, as Nova does.
      if (typeof body?.server?.name === "string") this.createdNames.set(created.server.id, body.server.name);
      return this.json(202, created);
    }
    if (/^\/servers\/[^/]+\/action$/.test(path) && method === "POST") return new Response(null, { status: 202, headers: { "x-openstack-request-id": `req-fake-${++this.requestCounter}` } });
    if (/^\/servers\/[^/]+$/.test(path) && method === "GET") {
      const doc = fixture("nova/servers_server-get-resp.json");
      const name = this.createdNames.get(path.slice("/servers/".length));
      if (name !== undefined) doc.server.name = name;
      return this.json(200, doc);
    }
    if (path === "/os-keypairs" && method === "GET") {
      const doc = fixture("nova/os-keypairs_keypairs-list-resp.json");
      for (const k of this.keypairs.values()) doc.keypairs.push({ keypair: k });
      return this.json(200, doc);
    }
    if (path === "/os-keypairs" && method === "POST") {
      const recorded = fixture(atLeast("2.92") ? "nova/os-keypairs_v2.92_keypairs-import-post-resp.json" : "nova/os-keypairs_keypairs-import-post-resp.json");
      const name = body?.keypair?.name;
      if (this.keypairs.has(name)) return this.json(409, { conflictingRequest: { code: 409, message: `Key pair '${name}' already exists.` } });
      const keypair = { ...recorded.keypair, name, public_key: body?.keypair?.public_key ?? recorded.keypair.public_key, created_at: new Date().toISOString().replace("Z", "") };
      this.keypairs.set(name, keypair);
      return this.json(200, { keypair });
    }
    const kp = /^\/os-keypairs\/([^/]+)$/.exec(path);
    if (kp) {
      const name = decodeURIComponent(kp[1]!);
      const found = this.keypairs.get(name);
      if (!found) return this.json(404, { itemNotFound: { code: 404, message: `Keypair ${name} not found for user fake` } });
      if (method === "DELETE") {
        this.keypairs.delete(name);
        return new Response(null, { status: 202 });
      }
      return this.json(200, { keypair: found });
    }
    return this.json(404, { itemNotFound: { code: 404, message: `the fake has no ${method} ${path}` } });
  }
}
