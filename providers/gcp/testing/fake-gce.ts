// A local HTTP server speaking the part of the Compute Engine v1 REST API
// the gcp backend uses, built from recorded responses (fixtures/). It checks
// credentials the way Google does for self-signed JWTs (RS256 signature
// against the service account's public key) or a static access token,
// records every request (tests assert on insert bodies), and has knobs for
// the failures a real cloud produces: unreachable zones, operation errors,
// operations that stay RUNNING for a while, injected HTTP errors, and a
// concurrent writer of project metadata.
import { createVerify, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeRequest } from "../../../shared/testing/echo";
import { FilterError, compileFilter } from "./gce-filter";

const FIXTURES = join(import.meta.dir, "fixtures");
const load = (name: string): any => JSON.parse(readFileSync(join(FIXTURES, name), "utf8"));
const clone = <T>(v: T): T => structuredClone(v);
const lastPart = (url: string | undefined): string => (url ?? "").split("/").pop() ?? "";
const API = "https://www.googleapis.com/compute/v1";
const LABEL_KEY = /^\p{Ll}[\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
  /** "jwt" or "token": how the caller authenticated. */
  auth: string;
}

export interface InjectedFailure {
  method: string;
  path: RegExp;
  status: number;
  reason: string;
  message?: string;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** The message quotes the whole request (Authorization header included), as an echoing proxy would. */
  echo?: boolean;
}

export interface ServiceAccount {
  email: string;
  keyId: string;
  publicKey: KeyObject;
  /** The key file a client reads (GOOGLE_APPLICATION_CREDENTIALS). */
  keyFile: string;
  json: Record<string, string>;
  cleanup(): void;
}

/** A throwaway service-account key file, as the Cloud console would hand out. */
export function makeServiceAccount(project: string): ServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyId = randomBytes(20).toString("hex");
  const email = `skyclust-test@${project}.iam.gserviceaccount.com`;
  const json = {
    type: "service_account",
    project_id: project,
    private_key_id: keyId,
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    client_email: email,
    client_id: "109876543210987654321",
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: "https://oauth2.googleapis.com/token",
  };
  const dir = mkdtempSync(join(tmpdir(), "gce-sa-"));
  const keyFile = join(dir, "key.json");
  writeFileSync(keyFile, JSON.stringify(json), { mode: 0o600 });
  return { email, keyId, publicKey, keyFile, json, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

interface FakeOperation {
  body: any;
  pollsLeft: number;
  effect?: () => void;
  failure?: { code: string; message: string; http: number };
}

export interface FakeGceOptions {
  project?: string;
  serviceAccount?: { email: string; keyId: string; publicKey: KeyObject };
  accessToken?: string;
  /** Added to created instances' ids, so several projects (FakeGceProjects) never share one, as GCE ids are unique. */
  idOffset?: number;
}

export class FakeGce {
  readonly project: string;
  readonly requests: RecordedRequest[] = [];
  /** Zone name -> instances, in creation order. */
  readonly instances = new Map<string, any[]>();
  /**
   * Zone name -> disk resources. MODELLED, not recorded: no disk responses
   * exist among the recorded fixtures, so these are built from the Compute
   * Engine API reference's Disk resource (compute#disk: id, name, zone,
   * sizeGb, status, type, sourceImage, sourceImageId, sourceSnapshot, users,
   * selfLink ...) and its aggregated list (compute#diskAggregatedList).
   */
  readonly disks = new Map<string, any[]>();
  readonly zones: any[];
  readonly regions: any[];
  readonly machineTypes: Set<string>;
  projectResource: any;
  // ---- knobs -------------------------------------------------------------
  unreachableZones = new Set<string>();
  /** When set, GCE pages hold this many instances whatever maxResults says. */
  forcedPageSize?: number;
  /** How many wait/get polls an operation answers RUNNING before DONE. */
  pollsBeforeDone = 1;
  /** The next insert's operation ends DONE with this error (and no instance). */
  nextInsertError?: { code: string; message: string; http: number };
  failures: InjectedFailure[] = [];
  /** Runs once right before the next setCommonInstanceMetadata is checked. */
  beforeMetadataWrite?: () => void;
  /** Instance GETs until a new instance reaches RUNNING (PROVISIONING -> STAGING -> RUNNING). */
  getsUntilRunning = 2;
  /** Access tokens accepted now (starts with opts.accessToken); a test swaps it to model a token's rotation. */
  accessTokens: Set<string>;

  private readonly operations = new Map<string, FakeOperation>();
  private readonly requestIds = new Map<string, string>();
  private readonly progress = new Map<any, number>();
  private server?: ReturnType<typeof Bun.serve>;
  private seq = 0;

  constructor(private readonly opts: FakeGceOptions = {}) {
    this.project = opts.project ?? "project_name";
    this.accessTokens = new Set(opts.accessToken ? [opts.accessToken] : []);
    this.regions = load("regions.json").items;
    this.zones = load("zones.json").items.filter((z: any) => this.regions.some((r: any) => r.zones.some((u: string) => u.endsWith(`/zones/${z.name}`))));
    this.machineTypes = new Set(load("zones_us-central1-a_machineTypes.json").items.map((m: any) => m.name));
    this.projectResource = { ...load("project.json"), name: this.project, selfLink: `${API}/projects/${this.project}` };
    for (const z of this.zones) {
      this.instances.set(z.name, []);
      this.disks.set(z.name, []);
    }
    for (const [scope, list] of Object.entries<any>(load("aggregated_instances.json").items)) {
      this.instances.get(scope.replace("zones/", ""))?.push(...(list.instances ?? []));
    }
    // Disks for the recorded instances (modelled): boot disks from a Debian
    // image, except libcloud-demo-europe-boot-disk, made from a snapshot;
    // attached data disks are blank.
    for (const inst of this.allInstances()) {
      for (const d of inst.disks ?? []) {
        const name = lastPart(d.source);
        if (!d.boot) this.addDisk(lastPart(inst.zone), name, inst.selfLink, {});
        else if (name === "libcloud-demo-europe-boot-disk") this.addDisk(lastPart(inst.zone), name, inst.selfLink, { snapshot: `${API}/projects/${this.project}/global/snapshots/libcloud-demo-snapshot` });
        else this.addDisk(lastPart(inst.zone), name, inst.selfLink, { image: `${API}/projects/debian-cloud/global/images/debian-7-wheezy-v20131120` });
      }
    }
  }

  /** A compute#disk resource in the documented shape (modelled). */
  addDisk(zone: string, name: string, user: string | undefined, from: { image?: string; snapshot?: string }): any {
    const zoneUrl = `${API}/projects/${this.project}/zones/${zone}`;
    const n = ++this.seq;
    const disk: any = {
      kind: "compute#disk",
      id: String(7000000000000000000n + BigInt(n)),
      creationTimestamp: new Date(Date.UTC(2024, 0, 1)).toISOString(),
      name,
      sizeGb: "10",
      zone: zoneUrl,
      status: "READY",
      selfLink: `${zoneUrl}/disks/${name}`,
      type: `${zoneUrl}/diskTypes/pd-balanced`,
      physicalBlockSizeBytes: "4096",
      labelFingerprint: "42WmSpB8rSM=",
      ...(user ? { users: [user], lastAttachTimestamp: new Date(Date.UTC(2024, 0, 1)).toISOString() } : {}),
    };
    if (from.image) {
      disk.sourceImage = from.image;
      disk.sourceImageId = String(1000000000000000000n + BigInt(n));
    }
    if (from.snapshot) {
      disk.sourceSnapshot = from.snapshot;
      disk.sourceSnapshotId = String(2000000000000000000n + BigInt(n));
    }
    this.disks.get(zone)!.push(disk);
    return disk;
  }

  get url(): string {
    return `http://127.0.0.1:${this.server!.port}`;
  }

  start(): this {
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.handle(req) });
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.stop(true);
  }

  allInstances(): any[] {
    return [...this.instances.values()].flat();
  }

  findInstance(name: string): any | undefined {
    return this.allInstances().find((i) => i.name === name);
  }

  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  sshKeysValue(): string | undefined {
    return this.projectResource.commonInstanceMetadata.items?.find((i: any) => i.key === "ssh-keys")?.value;
  }

  /** GCE keeps requestIds for a limited time; this ends that window now. */
  forgetRequestIds(): void {
    this.requestIds.clear();
  }

  /** Writes project metadata as another client would (new fingerprint). */
  writeMetadataItem(key: string, value: string): void {
    const md = this.projectResource.commonInstanceMetadata;
    md.items = [...(md.items ?? []).filter((i: any) => i.key !== key), { key, value }];
    md.fingerprint = randomBytes(8).toString("base64");
  }

  // ---- HTTP --------------------------------------------------------------

  private error(status: number, reason: string, message: string): Response {
    return Response.json({ error: { code: status, message, errors: [{ message, domain: "global", reason }] } }, { status });
  }

  /** How the request authenticated ("jwt", "token"), undefined when it did not. */
  authenticate(req: Request): string | undefined {
    const header = req.headers.get("authorization") ?? "";
    const token = /^Bearer (.+)$/.exec(header)?.[1];
    if (!token) return undefined;
    if (this.accessTokens.has(token)) return "token";
    const sa = this.opts.serviceAccount;
    const parts = token.split(".");
    if (!sa || parts.length !== 3) return undefined;
    try {
      const head = JSON.parse(Buffer.from(parts[0]!, "base64url").toString());
      const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString());
      if (head.alg !== "RS256" || head.kid !== sa.keyId) return undefined;
      const ok = createVerify("RSA-SHA256").update(`${parts[0]}.${parts[1]}`).verify(sa.publicKey, Buffer.from(parts[2]!, "base64url"));
      if (!ok) return undefined;
      const now = Date.now() / 1000;
      if (claims.iss !== sa.email || claims.sub !== sa.email || !(claims.exp > now) || !(claims.iat <= now + 60)) return undefined;
      const scopes = String(claims.scope ?? "").split(" ");
      if (!scopes.includes("https://www.googleapis.com/auth/compute") && !scopes.includes("https://www.googleapis.com/auth/cloud-platform")) return undefined;
      return "jwt";
    } catch {
      return undefined;
    }
  }

  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const text = req.method === "GET" || req.method === "DELETE" ? "" : await req.text();
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return this.error(400, "parseError", "This API does not support parsing form-encoded input.");
    }
    const auth = this.authenticate(req);
    this.requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body, auth: auth ?? "none" });
    if (!auth) return this.error(401, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
    const failure = this.failures.find((f) => f.method === req.method && f.path.test(url.pathname) && (f.times ?? 1) > 0);
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      const message = failure.echo ? describeRequest(req.method, url.pathname + url.search, req.headers, text) : failure.message;
      return this.error(failure.status, failure.reason, message ?? `injected ${failure.status}`);
    }
    const prefix = `/compute/v1/projects/${this.project}`;
    if (!url.pathname.startsWith(prefix)) return this.error(404, "notFound", `The resource '${url.pathname}' was not found`);
    try {
      return this.route(req.method, url.pathname.slice(prefix.length) || "/", url.searchParams, body);
    } catch (err) {
      if (err instanceof FilterError) return this.error(400, "invalid", `Invalid value for field 'filter': ${err.message}. Invalid list filter expression.`);
      throw err;
    }
  }

  private route(method: string, path: string, q: URLSearchParams, body: any): Response {
    let m: RegExpExecArray | null;
    if (method === "GET" && path === "/") return Response.json(this.projectResource);
    if (method === "POST" && path === "/setCommonInstanceMetadata") return this.setMetadata(q, body);
    if (method === "GET" && path === "/regions") return Response.json({ ...load("regions.json"), items: this.regions });
    if (method === "GET" && (m = /^\/regions\/([^/]+)$/.exec(path))) {
      const r = this.regions.find((x) => x.name === m![1]);
      return r ? Response.json(r) : this.error(404, "notFound", `The resource 'projects/${this.project}/regions/${m[1]}' was not found`);
    }
    if (method === "GET" && path === "/zones") return Response.json({ ...load("zones.json"), items: this.zones });
    if (method === "GET" && path === "/aggregated/instances") return this.aggregated(q);
    if (method === "GET" && path === "/aggregated/disks") return this.aggregatedDisks(q);
    if ((m = /^\/zones\/([^/]+)\/(.*)$/.exec(path))) {
      const zone = m[1]!;
      const rest = m[2]!;
      if (!this.instances.has(zone)) return this.error(404, "notFound", `The resource 'projects/${this.project}/zones/${zone}' was not found`);
      if (this.unreachableZones.has(zone)) return this.error(503, "backendError", `Zone ${zone} is unreachable.`);
      if (method === "GET" && rest === "instances") return this.zoneList(zone, q);
      if (method === "POST" && rest === "instances") return this.insert(zone, q, body);
      let i: RegExpExecArray | null;
      if ((i = /^instances\/([^/]+)$/.exec(rest))) {
        if (method === "GET") return this.getInstance(zone, i[1]!);
        if (method === "DELETE") return this.instanceAction(zone, i[1]!, "delete", q);
      }
      if (method === "POST" && (i = /^instances\/([^/]+)\/(start|stop|reset)$/.exec(rest))) return this.instanceAction(zone, i[1]!, i[2]!, q);
      if ((i = /^operations\/([^/]+)(\/wait)?$/.exec(rest)) && (method === "GET" || (method === "POST" && i[2]))) return this.pollOperation(i[1]!);
    }
    if ((m = /^\/global\/operations\/([^/]+)(\/wait)?$/.exec(path)) && (method === "GET" || (method === "POST" && m[2]))) return this.pollOperation(m[1]!);
    return this.error(404, "notFound", `The resource 'projects/${this.project}${path}' was not found`);
  }

  // ---- listing -----------------------------------------------------------

  private page<T>(items: T[], q: URLSearchParams): { page: T[]; next?: string } {
    const offset = q.get("pageToken") ? Number(Buffer.from(q.get("pageToken")!, "base64url").toString().replace("offset:", "")) : 0;
    const size = this.forcedPageSize ?? Math.min(Number(q.get("maxResults") ?? 500) || 500, 500);
    const page = items.slice(offset, offset + size);
    const next = offset + size < items.length ? Buffer.from(`offset:${offset + size}`).toString("base64url") : undefined;
    return { page, next };
  }

  private aggregated(q: URLSearchParams): Response {
    const match = compileFilter(q.get("filter"));
    const all: any[] = [];
    for (const [zone, list] of this.instances) if (!this.unreachableZones.has(zone)) all.push(...list.filter(match));
    const { page, next } = this.page(all, q);
    for (const inst of page) this.lookAt(inst);
    const items: Record<string, any> = {};
    for (const zone of this.instances.keys()) {
      const scope = `zones/${zone}`;
      const here = page.filter((i) => i.zone.endsWith(`/${scope}`));
      if (this.unreachableZones.has(zone)) {
        items[scope] = { warning: { code: "UNREACHABLE", data: [{ key: "scope", value: scope }], message: `Scope '${scope}' is unreachable.` } };
      } else if (here.length) {
        items[scope] = { instances: here };
      } else {
        items[scope] = { warning: { code: "NO_RESULTS_ON_PAGE", data: [{ key: "scope", value: scope }], message: `There are no results for scope '${scope}' on this page.` } };
      }
    }
    const base = load("aggregated_instances.json");
    return Response.json({
      id: base.id.replace("project_name", this.project),
      items,
      kind: base.kind,
      selfLink: `${API}/projects/${this.project}/aggregated/instances`,
      ...(next ? { nextPageToken: next } : {}),
      ...(this.unreachableZones.size ? { unreachables: [...this.unreachableZones].map((z) => `zones/${z}`) } : {}),
    });
  }

  /** disks.aggregatedList (modelled on the API reference, see `disks`). */
  private aggregatedDisks(q: URLSearchParams): Response {
    const match = compileFilter(q.get("filter"));
    const all: any[] = [];
    for (const [zone, list] of this.disks) if (!this.unreachableZones.has(zone)) all.push(...list.filter(match));
    const { page, next } = this.page(all, q);
    const items: Record<string, any> = {};
    for (const zone of this.disks.keys()) {
      const scope = `zones/${zone}`;
      const here = page.filter((d) => d.zone.endsWith(`/${scope}`));
      if (this.unreachableZones.has(zone)) {
        items[scope] = { warning: { code: "UNREACHABLE", data: [{ key: "scope", value: scope }], message: `Scope '${scope}' is unreachable.` } };
      } else if (here.length) {
        items[scope] = { disks: here };
      } else {
        items[scope] = { warning: { code: "NO_RESULTS_ON_PAGE", data: [{ key: "scope", value: scope }], message: `There are no results for scope '${scope}' on this page.` } };
      }
    }
    return Response.json({
      kind: "compute#diskAggregatedList",
      id: `projects/${this.project}/aggregated/disks`,
      items,
      selfLink: `${API}/projects/${this.project}/aggregated/disks`,
      ...(next ? { nextPageToken: next } : {}),
      ...(this.unreachableZones.size ? { unreachables: [...this.unreachableZones].map((z) => `zones/${z}`) } : {}),
    });
  }

  private zoneList(zone: string, q: URLSearchParams): Response {
    const { page, next } = this.page(this.instances.get(zone)!.filter(compileFilter(q.get("filter"))), q);
    for (const inst of page) this.lookAt(inst);
    return Response.json({
      id: `projects/${this.project}/zones/${zone}/instances`,
      items: page,
      kind: "compute#instanceList",
      selfLink: `${API}/projects/${this.project}/zones/${zone}/instances`,
      ...(next ? { nextPageToken: next } : {}),
    });
  }

  private getInstance(zone: string, name: string): Response {
    const inst = this.instances.get(zone)!.find((i) => i.name === name);
    if (!inst) return this.error(404, "notFound", `The resource 'projects/${this.project}/zones/${zone}/instances/${name}' was not found`);
    this.lookAt(inst);
    return Response.json(inst);
  }

  /** A new VM moves PROVISIONING -> STAGING -> RUNNING as it is looked at (a GET, or a listing that returns it). */
  private lookAt(inst: any): void {
    if (inst.status === "PROVISIONING" || inst.status === "STAGING") {
      const n = (this.progress.get(inst) ?? 0) + 1;
      this.progress.set(inst, n);
      if (n >= this.getsUntilRunning) inst.status = "RUNNING";
      else if (n >= 1) inst.status = "STAGING";
    }
  }

  // ---- operations --------------------------------------------------------

  private newOperation(type: string, target: string, zone: string | undefined, effect?: () => void, failure?: FakeOperation["failure"]): any {
    const template = load("zones_us-central1-a_instances_post.json");
    const name = `operation-${Date.now()}-${++this.seq}`;
    const scope = zone ? `zones/${zone}` : "global";
    const now = new Date().toISOString();
    const body = {
      ...template,
      id: String(1858155812259649243n + BigInt(this.seq)),
      name,
      operationType: type,
      insertTime: now,
      startTime: now,
      status: "PENDING",
      progress: 0,
      selfLink: `${API}/projects/${this.project}/${scope}/operations/${name}`,
      targetLink: target,
      user: this.opts.serviceAccount?.email ?? template.user,
    };
    if (zone) body.zone = `${API}/projects/${this.project}/zones/${zone}`;
    else delete body.zone;
    this.operations.set(name, { body, pollsLeft: this.pollsBeforeDone, effect, failure });
    return clone(body);
  }

  private pollOperation(name: string): Response {
    const op = this.operations.get(name);
    if (!op) return this.error(404, "notFound", `The resource 'operations/${name}' was not found`);
    if (op.body.status !== "DONE") {
      if (op.pollsLeft > 0) {
        op.pollsLeft--;
        op.body.status = "RUNNING";
        op.body.progress = 50;
      } else {
        const done = load("operations_operation_zones_us-central1-a_instances_post.json");
        op.body.status = done.status;
        op.body.progress = done.progress;
        op.body.endTime = new Date().toISOString();
        if (op.failure) {
          op.body.error = { errors: [{ code: op.failure.code, message: op.failure.message }] };
          op.body.httpErrorStatusCode = op.failure.http;
          op.body.httpErrorMessage = op.failure.http === 403 ? "FORBIDDEN" : "SERVICE UNAVAILABLE";
        } else {
          op.effect?.();
        }
      }
    }
    return Response.json(op.body);
  }

  private deduplicated(q: URLSearchParams): Response | undefined {
    const id = q.get("requestId");
    const existing = id ? this.requestIds.get(id) : undefined;
    return existing ? Response.json(this.operations.get(existing)!.body) : undefined;
  }

  private remember(q: URLSearchParams, op: any): Response {
    const id = q.get("requestId");
    if (id) this.requestIds.set(id, op.name);
    return Response.json(op);
  }

  // ---- mutations ---------------------------------------------------------

  private insert(zone: string, q: URLSearchParams, body: any): Response {
    const again = this.deduplicated(q);
    if (again) return again;
    const invalid = (field: string, why: string) => this.error(400, "invalid", `Invalid value for field 'resource.${field}': ${why}`);
    if (!body || !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(body.name ?? "")) return invalid("name", `'${body?.name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`);
    const mt = /^(?:https:\/\/www\.googleapis\.com\/compute\/v1\/)?(?:projects\/[^/]+\/)?zones\/([^/]+)\/machineTypes\/([^/]+)$/.exec(body.machineType ?? "");
    if (!mt || mt[1] !== zone) return invalid("machineType", `'${body.machineType}'. Must be a URL of a machine type in zone ${zone}.`);
    if (!this.machineTypes.has(mt[2]!)) return invalid("machineType", `'${body.machineType}'. Machine type with name '${mt[2]}' does not exist in zone '${zone}'.`);
    const boot = (body.disks ?? []).filter((d: any) => d.boot);
    if (boot.length !== 1 || !boot[0].initializeParams?.sourceImage) return invalid("disks", "exactly one boot disk with initializeParams.sourceImage is required.");
    for (const [k, v] of Object.entries<string>(body.labels ?? {})) {
      if (!LABEL_KEY.test(k) || !LABEL_VALUE.test(v)) return invalid("labels", `Label '${k}' violates format constraints.`);
    }
    if (!Array.isArray(body.networkInterfaces) || body.networkInterfaces.length === 0) return invalid("networkInterfaces", "at least one network interface is required.");
    if (this.instances.get(zone)!.some((i) => i.name === body.name)) {
      return this.error(409, "alreadyExists", `The resource 'projects/${this.project}/zones/${zone}/instances/${body.name}' already exists`);
    }
    const target = `${API}/projects/${this.project}/zones/${zone}/instances/${body.name}`;
    const failure = this.nextInsertError;
    this.nextInsertError = undefined;
    const op = this.newOperation(
      "insert",
      target,
      zone,
      () => {
        this.instances.get(zone)!.push(this.buildInstance(zone, body));
        this.addDisk(zone, body.name, target, { image: this.resolveImage(boot[0].initializeParams.sourceImage) });
      },
      failure,
    );
    return this.remember(q, op);
  }

  /**
   * The image URL a disk records: GCE resolves an image family to the
   * family's newest image at creation (modelled: that image is FAMILY-v20240110).
   */
  private resolveImage(source: string): string {
    const path = source.replace(/^https:\/\/[^/]+\/compute\/v1\//, "");
    const full = path.startsWith("projects/") ? path : `projects/${this.project}/${path}`;
    return `${API}/${full.replace(/\/images\/family\/([^/]+)$/, "/images/$1-v20240110")}`;
  }

  private buildInstance(zone: string, body: any): any {
    const inst = clone(load("zones_us-central1-a_instances_node-name.json"));
    const zoneUrl = `${API}/projects/${this.project}/zones/${zone}`;
    const n = ++this.seq;
    inst.id = String(5000000000000000000n + BigInt(this.opts.idOffset ?? 0) + BigInt(n));
    inst.name = body.name;
    inst.creationTimestamp = new Date().toISOString();
    inst.zone = zoneUrl;
    inst.selfLink = `${zoneUrl}/instances/${body.name}`;
    inst.machineType = `${API}/projects/${this.project}/${body.machineType.replace(/^.*?(zones\/)/, "$1")}`;
    inst.status = "PROVISIONING";
    inst.disks[0].source = `${zoneUrl}/disks/${body.name}`;
    inst.disks[0].deviceName = body.name;
    const nic = body.networkInterfaces[0];
    inst.networkInterfaces[0].network = `${API}/projects/${this.project}/${nic.network ?? "global/networks/default"}`;
    if (nic.subnetwork) inst.networkInterfaces[0].subnetwork = `${API}/projects/${this.project}/${nic.subnetwork}`;
    inst.networkInterfaces[0].networkIP = `10.240.0.${n % 250}`;
    if (nic.accessConfigs?.length) inst.networkInterfaces[0].accessConfigs[0].natIP = `203.0.113.${n % 250}`;
    else delete inst.networkInterfaces[0].accessConfigs;
    if (body.labels) inst.labels = body.labels;
    inst.metadata = { ...inst.metadata, ...(body.metadata?.items ? { items: body.metadata.items } : {}) };
    if (body.tags?.items) inst.tags = { ...inst.tags, items: body.tags.items };
    return inst;
  }

  private instanceAction(zone: string, name: string, verb: string, q: URLSearchParams): Response {
    const again = this.deduplicated(q);
    if (again) return again;
    const list = this.instances.get(zone)!;
    const inst = list.find((i) => i.name === name);
    if (!inst) return this.error(404, "notFound", `The resource 'projects/${this.project}/zones/${zone}/instances/${name}' was not found`);
    const effects: Record<string, () => void> = {
      start: () => void (inst.status = "RUNNING"),
      stop: () => void (inst.status = "TERMINATED"),
      reset: () => void (inst.status = "RUNNING"),
      delete: () => {
        list.splice(list.indexOf(inst), 1);
        // Boot disks are created with autoDelete: they go with the instance.
        const disks = this.disks.get(zone)!;
        const boot = disks.findIndex((d) => d.name === lastPart(inst.disks?.find((x: any) => x.boot)?.source));
        if (boot >= 0) disks.splice(boot, 1);
      },
    };
    const op = this.newOperation(verb, inst.selfLink, zone, effects[verb]);
    return this.remember(q, op);
  }

  private setMetadata(q: URLSearchParams, body: any): Response {
    const again = this.deduplicated(q);
    if (again) return again;
    const hook = this.beforeMetadataWrite;
    this.beforeMetadataWrite = undefined;
    hook?.();
    const md = this.projectResource.commonInstanceMetadata;
    if (body?.fingerprint !== md.fingerprint) {
      return Response.json(
        {
          error: {
            code: 412,
            message: "Supplied fingerprint does not match current metadata fingerprint.",
            errors: [{ domain: "global", reason: "conditionNotMet", message: "Supplied fingerprint does not match current metadata fingerprint.", locationType: "header", location: "If-Match" }],
          },
        },
        { status: 412 },
      );
    }
    // Applied at once (the fingerprint check is synchronous in GCE); the
    // operation still has to be waited for.
    md.items = body.items ?? [];
    md.fingerprint = randomBytes(8).toString("base64");
    const op = this.newOperation("setMetadata", `${API}/projects/${this.project}`, undefined);
    return this.remember(q, op);
  }
}


/**
 * Several projects behind one endpoint, as Compute Engine serves them: each
 * project is a FakeGce with its own state and service account, chosen by
 * the project in the request path. A caller whose credentials are valid but
 * belong to another project's service account is refused with 403, as IAM
 * refuses a principal holding no role on the project; unknown projects go to
 * the caller's own project's server (which answers 404 for paths outside it).
 */
export class FakeGceProjects {
  readonly projects = new Map<string, FakeGce>();
  private server?: ReturnType<typeof Bun.serve>;

  constructor(projects: { project: string; serviceAccount?: ServiceAccount; accessToken?: string }[]) {
    projects.forEach((p, i) => this.projects.set(p.project, new FakeGce({ project: p.project, serviceAccount: p.serviceAccount, accessToken: p.accessToken, idOffset: i * 1_000_000_000 })));
  }

  get url(): string {
    return `http://127.0.0.1:${this.server!.port}`;
  }

  start(): this {
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.route(req) });
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.stop(true);
  }

  private route(req: Request): Promise<Response> | Response {
    const project = /^\/compute\/v1\/projects\/([^/]+)/.exec(new URL(req.url).pathname)?.[1];
    const own = [...this.projects.values()].find((f) => f.authenticate(req));
    const target = project ? this.projects.get(decodeURIComponent(project)) : undefined;
    if (target && !target.authenticate(req) && own) {
      const message = `Required 'compute.instances.list' permission for 'projects/${target.project}'`;
      return Response.json({ error: { code: 403, message, errors: [{ message, domain: "global", reason: "forbidden" }] } }, { status: 403 });
    }
    return (target ?? own ?? [...this.projects.values()][0]!).handle(req);
  }
}
