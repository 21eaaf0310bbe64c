// A local HTTPS server that speaks the Proxmox VE JSON API for tests, built
// from the real responses recorded in testing/fixtures (VCR
// cassettes from a two-node PVE 9.1 cluster). Recorded payloads are served
// with their field names untouched; state changes (clone, start, stop,
// delete, config) edit copies of those records. What the cassettes do not
// hold (clone, nextid, task logs, LXC status) is answered in PVE's documented
// shapes. Like PVE, every payload is wrapped in {"data": ...} and errors
// carry their message in the HTTP reason phrase.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { describeRequest } from "../../../shared/testing/echo";

// The cassettes travel with the tests (copied unchanged from the shared
// fixtures, see fixtures/README.md), so CI needs nothing outside the repo.
export const FIXTURES = join(import.meta.dir, "fixtures");
/**
 * The password the fake accepts by default. Not the recordings'
 * "PROXMOX_PASSWORD": a provider scrubs its password from every message,
 * and that one would also scrub the variable's name (tests share a process).
 */
export const FIXTURE_PASSWORD = "pve-fixture-password";

interface Interaction {
  request: { method: string; uri: string; body?: { string?: string } };
  response: { status: { code: number }; body: { string: string } };
}

function cassette(name: string): Interaction[] {
  const doc = Bun.YAML.parse(readFileSync(join(FIXTURES, name), "utf8")) as { http_interactions: Interaction[] };
  return doc.http_interactions;
}

/** Recorded `data` payloads keyed by API path (first recording wins). */
export function recordedPayloads(): Map<string, any> {
  const out = new Map<string, any>();
  for (const file of ["targeted-refresh-host.yml", "targeted-refresh-vm.yml", "snapshot-create-task.yml"]) {
    for (const i of cassette(file)) {
      const path = new URL(i.request.uri).pathname.replace(/^\/api2\/json/, "");
      const key = `${i.request.method.toUpperCase()} ${path}`;
      if (!out.has(key)) out.set(key, JSON.parse(i.response.body.string).data);
    }
  }
  return out;
}

/** Config parameters -> the privilege PVE requires to change them. */
const CONFIG_PRIVILEGES: [RegExp, string][] = [
  [/^(cores|sockets|vcpus|cpu|cpulimit|cpuunits|affinity|numa)$/, "VM.Config.CPU"],
  [/^(memory|balloon|shares|swap)$/, "VM.Config.Memory"],
  [/^(ciuser|cipassword|citype|ciupgrade|sshkeys|searchdomain|nameserver|cicustom|ipconfig\d+)$/, "VM.Config.Cloudinit"],
  [/^net\d+$/, "VM.Config.Network"],
  [/^(scsi|virtio|sata|ide|efidisk|tpmstate|unused)\d+$|^rootfs$|^mp\d+$/, "VM.Config.Disk"],
  [/^(name|hostname|description|tags|onboot|startup|protection|agent|ostype|boot)$/, "VM.Config.Options"],
];

export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  auth: "ticket" | "token" | "none";
  csrf: boolean;
  /** Who PVE saw: the ticket's user or the token id. */
  user?: string;
}

interface Task {
  upid: string;
  node: string;
  type: string;
  id: string;
  user: string;
  starttime: number;
  pid: number;
  pstart: number;
  pollsLeft: number;
  exitstatus: string;
  log: string[];
  effect?: () => void;
  /** Runs when the task stops, whatever its outcome (e.g. frees a reserved vmid). */
  release?: () => void;
}

interface Guest {
  resource: Record<string, any>;
  config: Record<string, any>;
  current?: Record<string, any>;
  agent?: any;
  /** The guest's firewall (MODELLED, see FakePve.securityGroups). */
  firewall: { options: Record<string, any>; rules: Record<string, any>[] };
}

/** PVE's default guest firewall options (pve-firewall: firewall off until enabled). */
const newFirewall = () => ({ options: { enable: 0, policy_in: "DROP", policy_out: "ACCEPT", dhcp: 1, ndp: 1, macfilter: 1, ipfilter: 0, radv: 0, log_level_in: "nolog", log_level_out: "nolog" }, rules: [] as Record<string, any>[] });
/** pve-security-group-name, and pve-firewall's 18-character limit on group names. */
const GROUP_NAME = /^[A-Za-z][A-Za-z0-9\-_]+$/;
const digest = () => randomBytes(20).toString("hex");

export interface FakePveOptions {
  cert: string;
  key: string;
  user?: string;
  password?: string;
  /** "USER@REALM!NAME" -> secret. */
  tokens?: Record<string, string>;
  /**
   * "USER@REALM!NAME" -> the privileges that token holds: its role, granted on
   * "/" with propagation (with privilege separation, PVE uses the token's own
   * ACL, capped by its user's). Tokens not listed hold every privilege, as
   * root@pam's do; the ticket user always does.
   */
  tokenPrivileges?: Record<string, string[]>;
  /**
   * "USER@REALM!NAME" -> the one resource pool its ACL is granted on (PVE
   * propagates an ACL on /pool/NAME to the pool's guests). Such a token sees
   * and acts on its pool's guests only, may audit and clone templates (as if
   * each template carried a read ACL for every tenant), and may create
   * guests only into its pool (clone with `pool`, VM.Allocate on /pool/NAME).
   * MODELLED on PVE's permission rules, not recorded.
   */
  tokenPools?: Record<string, string>;
  /** Status polls that still answer "running" before a task stops. */
  taskPolls?: number;
}

export class FakePve {
  readonly requests: RecordedRequest[] = [];
  /**
   * Requests whose path matches fail with `status`, the reason phrase and the
   * `errors` map quoting the whole request (cookie, CSRF token, API token,
   * form body with the password), as an echoing proxy would.
   */
  readonly echoFailures: { path: RegExp; status: number }[] = [];
  /**
   * Answers of a rate-limiting front proxy (nginx limit_req, HAProxy before
   * pveproxy): matching requests get `status` (429) with Retry-After,
   * `times` times, and never reach the API.
   */
  readonly frontAnswers: { path: RegExp; status: number; times: number; retryAfter?: string }[] = [];
  /** Requests the front proxy answered. */
  frontAnswered = 0;
  loginCount = 0;
  private server!: https.Server;
  private tickets = new Map<string, string>(); // ticket -> csrf
  private issued: string[] = [];
  private offline = new Set<string>();
  private hanging = new Set<string>();
  private denied?: RegExp;
  private guests = new Map<number, Guest>();
  /**
   * Cluster firewall security groups (/cluster/firewall/groups). MODELLED,
   * not recorded: the cassettes hold no firewall call, so the paths,
   * parameters, answers ([{group, comment, digest}], rules with pos/type/
   * action/enable) and error bodies (400 "Parameter verification failed."
   * with an `errors` map, e.g. action: "no such security group 'x'") follow
   * the PVE API documentation and pve-firewall's rule checks.
   */
  readonly securityGroups = new Map<string, { comment?: string; rules: Record<string, any>[] }>();
  /**
   * Resource pools (/pools), the cluster store of the provider's key pairs.
   * MODELLED, not recorded: paths, parameters, answers and error texts follow
   * PVE's API2/Pool.pm. Create and delete run under PVE's lock on user.cfg,
   * so a second create of one id fails "create pool failed: pool 'x' already
   * exists" (500); here each request is handled in one synchronous step,
   * which is the same create-if-absent atomicity.
   */
  readonly pools = new Map<string, { comment?: string }>();
  /** vmids of clones still running (see the clone route). */
  private reservedVmids = new Set<number>();
  private nodes: any[];
  private tasks = new Map<string, Task>();
  private nextPid = 0x88cb8;
  private taskFailures: { type: string; exitstatus: string; log: string[] }[] = [];
  private lockFailuresLeft = 0;
  private ticketTemplate: any;
  private version: any;
  readonly user: string;
  /** The user's password now; a test changes it to model a rotation. */
  password: string;
  /** "USER@REALM!NAME" -> secret accepted now. */
  tokens: Record<string, string>;
  /** See FakePveOptions.tokenPrivileges; a test may change it. */
  tokenPrivileges: Record<string, string[]>;
  /** See FakePveOptions.tokenPools. */
  tokenPools: Record<string, string>;
  private held = new Map<string, { started: () => void; task?: Task }>();
  port = 0;

  constructor(private readonly opts: FakePveOptions) {
    this.user = opts.user ?? "PROXMOX_USERNAME@pam";
    this.password = opts.password ?? FIXTURE_PASSWORD;
    this.tokens = { ...opts.tokens };
    this.tokenPrivileges = { ...opts.tokenPrivileges };
    this.tokenPools = { ...opts.tokenPools };
    // A token scoped to a pool implies the admin made that pool.
    for (const pool of Object.values(this.tokenPools)) if (!this.pools.has(pool)) this.pools.set(pool, {});
    const rec = recordedPayloads();
    this.ticketTemplate = rec.get("POST /access/ticket");
    this.version = rec.get("GET /nodes/vmpvetest/version");
    this.nodes = structuredClone(rec.get("GET /nodes"));
    for (const r of rec.get("GET /cluster/resources") as any[]) {
      if (r.type !== "qemu" && r.type !== "lxc") continue;
      const base = `/nodes/${r.node}/${r.type}/${r.vmid}`;
      const config = structuredClone(rec.get(`GET ${base}/config`) ?? { name: r.name, cores: r.maxcpu, memory: String(Math.round(r.maxmem / 1048576)), ...(r.template ? { template: 1 } : {}) });
      this.guests.set(r.vmid, {
        resource: structuredClone(r),
        config,
        current: structuredClone(rec.get(`GET ${base}/status/current`)),
        agent: structuredClone(rec.get(`GET ${base}/agent/network-get-interfaces`)),
        firewall: newFirewall(),
      });
    }
  }

  async start(): Promise<this> {
    this.server = https.createServer({ cert: this.opts.cert, key: this.opts.key }, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  // ---- test controls -----------------------------------------------------

  /** Invalidates every ticket, as a cluster restart or expiry would. */
  expireTickets(): void {
    this.tickets.clear();
  }
  /** The next task of this type (e.g. "qmclone") stops with this exit status. */
  failNextTask(type: string, exitstatus: string, log: string[] = []): void {
    this.taskFailures.push({ type, exitstatus, log });
  }
  /** Runs once after the next successful task of this type took effect. */
  afterTask(type: string, hook: () => void): void {
    this.taskHooks.push({ type, hook });
  }
  private taskHooks: { type: string; hook: () => void }[] = [];
  /** The next task of this type keeps running until released (for deadline tests). */
  hangNextTask(type: string): void {
    this.hanging.add(type);
  }
  /**
   * The next task of this type keeps running until release(): a call that
   * waits for it is provably in flight (`started` resolves when it began).
   */
  holdNextTask(type: string): { started: Promise<void>; release(): void } {
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    const hold: { started: () => void; task?: Task } = { started };
    this.held.set(type, hold);
    return {
      started: startedP,
      release: () => {
        if (hold.task) hold.task.pollsLeft = 0;
      },
    };
  }
  /** The next n writes answer 500 "can't lock file ...". */
  lockNextWrites(n: number): void {
    this.lockFailuresLeft = n;
  }
  /** The node goes offline: PVE marks its guests "unknown" and proxies to it fail with 595. */
  setNodeOffline(node: string): void {
    this.offline.add(node);
    for (const n of this.nodes) if (n.node === node) n.status = "offline";
    for (const g of this.guests.values()) if (g.resource.node === node) g.resource.status = "unknown";
  }
  /** Requests whose path matches answer 403 as a missing privilege would. */
  denyPaths(pattern: RegExp | undefined): void {
    this.denied = pattern;
  }
  /** Every ticket and CSRF token handed out (for "never logged" checks). */
  issuedSecrets(): string[] {
    return [...this.issued];
  }
  guest(vmid: number): Guest | undefined {
    return this.guests.get(vmid);
  }
  /** Changes made on the cluster itself (the web UI, qm): a guest stops, or is gone. */
  stopGuest(vmid: number): void {
    const g = this.guests.get(vmid);
    if (!g) throw new Error(`no guest ${vmid}`);
    g.resource.status = "stopped";
    if (g.current) g.current.status = "stopped";
  }
  removeGuest(vmid: number): void {
    if (!this.guests.delete(vmid)) throw new Error(`no guest ${vmid}`);
  }
  requestsTo(method: string, pattern: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && pattern.test(r.path));
  }

  // ---- access control ----------------------------------------------------

  private allowed(user: string, privilege: string, path?: string): boolean {
    const held = this.tokenPrivileges[user];
    if (held !== undefined && !held.includes(privilege)) return false;
    const pool = this.tokenPools[user];
    if (pool === undefined || !path) return true;
    // An ACL on /pool/NAME propagates to its nested pools (/pool/NAME/child).
    if (path.startsWith("/pool/")) return path === `/pool/${pool}` || path.startsWith(`/pool/${pool}/`);
    if (!path.startsWith("/vms/")) return true;
    const guest = this.guests.get(Number(path.slice("/vms/".length)));
    if (!guest) return false; // no ACL reaches a vmid outside the pool
    if (guest.resource.pool === pool) return true;
    return Boolean(guest.resource.template) && (privilege === "VM.Audit" || privilege === "VM.Clone");
  }

  /**
   * The first privilege `user` lacks for a guest endpoint, with the ACL path
   * PVE checks it on (the "permissions" of each method in PVE's API schema;
   * config parameters map to VM.Config.* as PVE's check_vm_modify_config_perm
   * does). Undefined when the call is allowed.
   */
  private missingPrivilege(user: string, method: string, vmid: number, rest: string, params: Record<string, string>): { path: string; privilege: string } | undefined {
    const vm = `/vms/${vmid}`;
    const needs: { path: string; privilege: string }[] = [];
    const guest = this.guests.get(vmid);
    const storageOf = (volume: unknown) => /^([^:,]+):/.exec(String(volume ?? ""))?.[1] ?? "local-lvm";
    const rootDisk = guest ? Object.keys(guest.config).find((k) => /^(scsi|virtio|sata|ide)\d+$|^rootfs$/.test(k) && !/media=cdrom/.test(String(guest.config[k]))) : undefined;
    if (method === "GET") {
      needs.push({ path: vm, privilege: rest.startsWith("/agent/") ? "VM.GuestAgent.Audit" : "VM.Audit" });
    } else if (rest === "/config") {
      for (const key of Object.keys(params)) {
        const privilege = CONFIG_PRIVILEGES.find(([re]) => re.test(key))?.[1];
        if (privilege) needs.push({ path: vm, privilege });
        const bridge = key.startsWith("net") ? /bridge=([^,]+)/.exec(params[key]!)?.[1] : undefined;
        if (bridge) needs.push({ path: `/sdn/zones/localnetwork/${bridge}`, privilege: "SDN.Use" });
      }
    } else if (rest === "/resize") {
      needs.push({ path: vm, privilege: "VM.Config.Disk" }, { path: `/storage/${storageOf(guest?.config[params.disk ?? ""])}`, privilege: "Datastore.AllocateSpace" });
    } else if (rest.startsWith("/firewall/")) {
      // The guest firewall's options and rules (pve-firewall's VM API): VM.Config.Network.
      needs.push({ path: vm, privilege: "VM.Config.Network" });
    } else if (rest.startsWith("/status/")) {
      needs.push({ path: vm, privilege: "VM.PowerMgmt" });
    } else if (rest === "/clone") {
      needs.push(
        { path: vm, privilege: "VM.Clone" },
        params.pool ? { path: `/pool/${params.pool}`, privilege: "VM.Allocate" } : { path: `/vms/${params.newid}`, privilege: "VM.Allocate" },
        { path: `/storage/${params.storage ?? storageOf(rootDisk ? guest!.config[rootDisk] : undefined)}`, privilege: "Datastore.AllocateSpace" },
      );
    } else if (method === "DELETE" && rest === "") {
      needs.push({ path: vm, privilege: "VM.Allocate" });
    }
    return needs.find((n) => !this.allowed(user, n.privilege, n.path));
  }

  // ---- HTTP --------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", "https://pve");
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    if (chunks.length) for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString())) params[k] = v;
    const method = req.method ?? "GET";
    const path = url.pathname.replace(/^\/api2\/json/, "");
    const send = (status: number, data: unknown, reason?: string, extra: Record<string, unknown> = {}) => {
      res.statusCode = status;
      if (reason) res.statusMessage = reason.replace(/[\r\n]/g, " ");
      res.setHeader("content-type", "application/json;charset=UTF-8");
      res.setHeader("server", "pve-api-daemon/3.0");
      res.end(JSON.stringify({ data, ...extra }));
    };

    const front = this.frontAnswers.find((f) => f.times > 0 && f.path.test(path));
    if (front) {
      front.times--;
      this.frontAnswered++;
      res.statusCode = front.status;
      res.statusMessage = "Too Many Requests";
      if (front.retryAfter !== undefined) res.setHeader("retry-after", front.retryAfter);
      res.setHeader("content-type", "text/html");
      return void res.end("<html><body><h1>429 Too Many Requests</h1></body></html>");
    }

    const echo = this.echoFailures.find((f) => f.path.test(path));
    if (echo) {
      const dump = describeRequest(method, req.url ?? path, req.headers, Buffer.concat(chunks).toString());
      return send(echo.status, null, dump.replace(/\n/g, " | "), { errors: { request: dump } });
    }

    if (method === "POST" && path === "/access/ticket") {
      this.loginCount++;
      this.requests.push({ method, path, params: { username: params.username ?? "" }, auth: "none", csrf: false });
      if (params.username !== this.user || params.password !== this.password) return send(401, null, "authentication failure");
      const ticket = `PVE:${this.user}:${randomBytes(4).toString("hex").toUpperCase()}::${randomBytes(24).toString("base64")}`;
      const csrf = `${Math.floor(Date.now() / 1000).toString(16).toUpperCase()}:${randomBytes(16).toString("base64")}`;
      this.tickets.set(ticket, csrf);
      this.issued.push(ticket, csrf);
      return send(200, { ...structuredClone(this.ticketTemplate), username: this.user, ticket, CSRFPreventionToken: csrf });
    }

    // Authentication exactly as PVE checks it.
    let auth: RecordedRequest["auth"] = "none";
    let user = "";
    const authz = req.headers.authorization;
    const cookie = /(?:^|;\s*)PVEAuthCookie=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
    if (authz?.startsWith("PVEAPIToken=")) {
      const m = /^PVEAPIToken=([^=]+)=(.+)$/.exec(authz);
      if (!m || this.tokens[m[1]!] !== m[2]) return send(401, null, "invalid token value!");
      auth = "token";
      user = m[1]!;
    } else if (cookie && this.tickets.has(decodeURIComponent(cookie))) {
      auth = "ticket";
      user = this.user;
    } else {
      this.requests.push({ method, path, params, auth: "none", csrf: false });
      return send(401, null, "No ticket");
    }
    const csrf = req.headers.csrfpreventiontoken;
    const csrfOk = auth === "token" || (typeof csrf === "string" && this.tickets.get(decodeURIComponent(cookie!)) === csrf);
    this.requests.push({ method, path, params, auth, csrf: csrfOk && auth === "ticket", user });
    if (method !== "GET" && !csrfOk) return send(401, null, "Permission check failed (invalid csrf token)");

    try {
      const result = this.route(method, path, params, user);
      if (result.error) return send(result.error.status, null, result.error.reason, result.error.errors ? { errors: result.error.errors } : {});
      return send(200, result.data);
    } catch (err) {
      return send(500, null, (err as Error).message);
    }
  }

  private route(method: string, path: string, params: Record<string, string>, user: string): { data?: unknown; error?: { status: number; reason: string; errors?: Record<string, string> } } {
    const ok = (data: unknown) => ({ data });
    const fail = (status: number, reason: string, errors?: Record<string, string>) => ({ error: { status, reason, errors } });
    if (method !== "GET" && this.lockFailuresLeft > 0) {
      this.lockFailuresLeft--;
      const vmid = /\/(\d+)(\/|$)/.exec(path)?.[1] ?? "100";
      return fail(500, `can't lock file '/var/lock/qemu-server/lock-${vmid}.conf' - got timeout`);
    }
    if (this.denied?.test(path)) return fail(403, `Permission check failed (${path}, VM.PowerMgmt)`);
    const target = /^\/nodes\/([^/]+)\//.exec(path)?.[1];
    if (target && this.offline.has(target)) return fail(595, `Connection refused`);
    if (method === "GET" && path === "/version") return ok(this.version);
    if (method === "GET" && path === "/nodes") return ok(this.nodes);
    if (method === "GET" && path === "/cluster/resources") {
      // PVE lists only the guests the caller may audit; it never answers 403 here.
      const vms = [...this.guests.values()].map((g) => g.resource).filter((r) => this.allowed(user, "VM.Audit", `/vms/${r.vmid}`));
      return ok(params.type === "vm" || !params.type ? vms : []);
    }
    if (path === "/cluster/firewall/groups") {
      if (method === "GET") return ok([...this.securityGroups].map(([group, g]) => ({ group, ...(g.comment ? { comment: g.comment } : {}), digest: digest() })));
      if (method === "POST") {
        const group = params.group ?? "";
        if (!group) return fail(400, "Parameter verification failed.", { group: "property is missing and it is not optional" });
        if (!GROUP_NAME.test(group)) return fail(400, "Parameter verification failed.", { group: `value does not match the regex pattern` });
        if (group.length > 18) return fail(400, "Parameter verification failed.", { group: "value may only be 18 characters long" });
        if (this.securityGroups.has(group)) return fail(500, `Security group '${group}' already exists`);
        this.securityGroups.set(group, { comment: params.comment, rules: [] });
        return ok(null);
      }
    }
    const pool = path === "/pools" || path.startsWith("/pools/") ? this.poolRoute(method, path, params, user) : undefined;
    if (pool) return pool;
    if (method === "GET" && path === "/cluster/nextid") {
      let id = 100;
      while (this.guests.has(id) || this.reservedVmids.has(id)) id++;
      return ok(String(id));
    }
    let m = /^\/nodes\/([^/]+)\/tasks\/([^/]+)\/(status|log)$/.exec(path);
    if (m && method === "GET") {
      const task = this.tasks.get(decodeURIComponent(m[2]!));
      if (!task || task.node !== m[1]) return fail(500, `no such task`);
      if (m[3] === "log") return ok(task.log.map((t, i) => ({ n: i + 1, t })));
      const base = { upid: task.upid, type: task.type, user: task.user, node: task.node, pid: task.pid, starttime: task.starttime, pstart: task.pstart, id: task.id };
      if (task.pollsLeft > 0) {
        task.pollsLeft--;
        return ok({ ...base, status: "running" });
      }
      task.release?.();
      task.release = undefined;
      if (task.effect) {
        const effect = task.effect;
        task.effect = undefined;
        if (task.exitstatus === "OK") {
          effect();
          const hook = this.taskHooks.findIndex((h) => h.type === task.type);
          if (hook >= 0) this.taskHooks.splice(hook, 1)[0]!.hook();
        }
      }
      return ok({ ...base, status: "stopped", exitstatus: task.exitstatus });
    }
    m = /^\/nodes\/([^/]+)\/(qemu|lxc)\/(\d+)(\/.*)?$/.exec(path);
    if (!m) return fail(501, `Method '${method} ${path}' not implemented`);
    const [, node, kind, vmidText, rest = ""] = m;
    const vmid = Number(vmidText);
    // PVE checks an endpoint's permissions before it looks at the guest.
    const missing = this.missingPrivilege(user, method, vmid, rest, params);
    if (missing) return fail(403, `Permission check failed (${missing.path}, ${missing.privilege})`);
    const guest = this.guests.get(vmid);
    const conf = kind === "qemu" ? "qemu-server" : "lxc";
    if (!guest || guest.resource.node !== node || guest.resource.type !== kind) return fail(500, `Configuration file 'nodes/${node}/${conf}/${vmid}.conf' does not exist`);
    const r = guest.resource;

    if (method === "GET" && rest === "/config") return ok(guest.config);
    if (method === "GET" && rest === "/status/current") return ok(this.current(guest));
    if (method === "GET" && rest === "/agent/network-get-interfaces") {
      if (r.status !== "running" || !guest.agent) return fail(500, "QEMU guest agent is not running");
      return ok(guest.agent);
    }
    if (method === "GET" && rest === "/interfaces" && kind === "lxc") {
      // PVE 7.2+ shape (not in the cassettes): name, hwaddr, inet, inet6.
      if (r.status !== "running") return fail(500, `CT ${vmid} not running`);
      return ok([
        { name: "lo", hwaddr: "00:00:00:00:00:00", inet: "127.0.0.1/8", inet6: "::1/128" },
        { name: "eth0", hwaddr: "bc:24:11:5e:7a:01", inet: "198.18.0.20/24" },
      ]);
    }
    if ((method === "PUT" || method === "POST") && rest === "/config") {
      for (const [k, v] of Object.entries(params)) {
        if (k === "digest") continue;
        guest.config[k] = /^(cores|sockets)$/.test(k) ? Number(v) : v;
      }
      if (params.cores) r.maxcpu = Number(params.cores) * Number(guest.config.sockets ?? 1);
      if (params.memory) r.maxmem = Number(params.memory) * 1048576;
      if (params.tags !== undefined) r.tags = params.tags;
      if (params.name) r.name = params.name;
      return ok(method === "POST" ? this.task(node!, "qmconfig", vmid, user) : null);
    }
    if (method === "PUT" && rest === "/resize") return ok(this.task(node!, "resize", vmid, user));
    if (rest === "/firewall/options") {
      if (method === "GET") return ok({ ...guest.firewall.options, digest: digest() });
      if (method === "PUT") {
        for (const [k, v] of Object.entries(params)) {
          if (k === "digest" || k === "delete") continue;
          if (!(k in guest.firewall.options)) return fail(400, "Parameter verification failed.", { [k]: "property is not defined in schema and the schema does not allow additional properties" });
          if (["enable", "dhcp", "ndp", "macfilter", "ipfilter", "radv"].includes(k) && !/^(0|1)$/.test(v)) return fail(400, "Parameter verification failed.", { [k]: `type check ('boolean') failed - got '${v}'` });
          guest.firewall.options[k] = /^(0|1)$/.test(v) ? Number(v) : v;
        }
        return ok(null);
      }
    }
    if (rest === "/firewall/rules") {
      if (method === "GET") return ok(guest.firewall.rules.map((rule, pos) => ({ ...rule, pos, digest: digest() })));
      if (method === "POST") {
        const errors: Record<string, string> = {};
        if (!params.type) errors.type = "property is missing and it is not optional";
        else if (!["in", "out", "group"].includes(params.type)) errors.type = `value '${params.type}' does not have a value in the enumeration 'in, out, group'`;
        if (!params.action) errors.action = "property is missing and it is not optional";
        else if (params.type === "group") {
          if (params.action.length > 18) errors.action = "group name too long";
          else if (!this.securityGroups.has(params.action)) errors.action = `no such security group '${params.action}'`;
        }
        if (params.enable !== undefined && !/^\d+$/.test(params.enable)) errors.enable = `type check ('integer') failed - got '${params.enable}'`;
        if (Object.keys(errors).length) return fail(400, "Parameter verification failed.", errors);
        const rule: Record<string, any> = { type: params.type, action: params.action, ...(params.enable !== undefined ? { enable: Number(params.enable) } : {}), ...(params.comment ? { comment: params.comment } : {}) };
        // A rule without pos goes on top, as in pve-firewall.
        const pos = params.pos !== undefined ? Math.min(Number(params.pos), guest.firewall.rules.length) : 0;
        guest.firewall.rules.splice(pos, 0, rule);
        return ok(null);
      }
    }
    m = /^\/status\/(start|stop|shutdown|reboot|resume)$/.exec(rest);
    if (method === "POST" && m) {
      const action = m[1]!;
      const prefix = kind === "qemu" ? "qm" : "vz";
      if (action === "start" && r.status === "running") return fail(500, `VM ${vmid} already running`);
      if ((action === "reboot" || action === "shutdown") && r.status !== "running") return fail(500, `VM ${vmid} not running`);
      if (r.template) return fail(500, `VM ${vmid} is a template`);
      const next = action === "start" || action === "reboot" || action === "resume" ? "running" : "stopped";
      return ok(this.task(node!, `${prefix}${action}`, vmid, user, () => this.setStatus(guest, next)));
    }
    if (method === "POST" && rest === "/clone") {
      const newid = Number(params.newid);
      if (!r.template && params.full !== "1") return fail(500, "Linked clone feature is not supported for running/non-template VMs");
      // PVE writes the new config (locked "clone") before the task runs, so
      // the vmid is taken from the request on: a second clone to it fails
      // and /cluster/nextid skips it.
      if (this.guests.has(newid) || this.reservedVmids.has(newid)) return fail(500, `unable to create VM ${newid}: config file already exists`);
      const target = params.target ?? node!;
      if (!this.nodes.some((n) => n.node === target)) return fail(500, `no such cluster node '${target}'`);
      this.reservedVmids.add(newid);
      const upid = this.task(node!, kind === "qemu" ? "qmclone" : "vzclone", vmid, user, () => {
          const name = params.name ?? params.hostname ?? `Copy-of-VM-${r.name}`;
          const config = structuredClone(guest.config);
          delete config.template;
          config.name = name;
          if (params.description !== undefined) config.description = params.description;
          else delete config.description;
          config.meta = `creation-qemu=10.1.2,ctime=${Math.floor(Date.now() / 1000)}`;
          if (typeof config.net0 === "string") config.net0 = config.net0.replace(/=([0-9A-F]{2}:){5}[0-9A-F]{2}/, "=BC:24:11:" + [1, 2, 3].map(() => randomBytes(1).toString("hex").toUpperCase()).join(":"));
          this.guests.set(newid, {
            resource: { ...structuredClone(r), vmid: newid, id: `${kind}/${newid}`, name, node: target, template: 0, status: "stopped", uptime: 0, tags: undefined, pool: params.pool },
            config,
            current: undefined,
            agent: guest.agent ?? structuredClone(this.guests.get(100)?.agent),
            // PVE copies the source's firewall config to the clone.
            firewall: structuredClone(guest.firewall),
          });
        });
      this.tasks.get(upid)!.release = () => this.reservedVmids.delete(newid);
      return ok(upid);
    }
    if (method === "DELETE" && rest === "") {
      if (r.status === "running") return fail(500, `VM ${vmid} is running - destroy failed`);
      return ok(this.task(node!, kind === "qemu" ? "qmdestroy" : "vzdestroy", vmid, user, () => this.guests.delete(vmid)));
    }
    return fail(501, `Method '${method} ${path}' not implemented`);
  }

  private poolRoute(method: string, path: string, params: Record<string, string>, user: string): { data?: unknown; error?: { status: number; reason: string; errors?: Record<string, string> } } | undefined {
    const ok = (data: unknown) => ({ data });
    const fail = (status: number, reason: string, errors?: Record<string, string>) => ({ error: { status, reason, errors } });
    // pve-poolid (PVE::AccessControl::verify_poolname): up to three levels
    // "a/b/c" since PVE 8.1 (nested pools), each [A-Za-z0-9._-].
    const POOL_ID = /^[A-Za-z0-9.\-_]+(?:\/[A-Za-z0-9.\-_]+){0,2}$/;
    const badId = (poolid: string) => fail(400, "Parameter verification failed.", { poolid: `invalid format - pool name '${poolid}' contains invalid characters` });
    const denied = (poolid: string, privilege: string) => fail(403, `Permission check failed (/pool/${poolid}, ${privilege})`);
    if (path === "/pools" && method === "GET") {
      // PVE lists only the pools the caller may audit; it never answers 403 here.
      const visible = [...this.pools].filter(([poolid]) => this.allowed(user, "Pool.Audit", `/pool/${poolid}`) || this.allowed(user, "Pool.Allocate", `/pool/${poolid}`));
      return ok(visible.map(([poolid, p]) => ({ poolid, ...(p.comment !== undefined ? { comment: p.comment } : {}) })));
    }
    if (path === "/pools" && method === "POST") {
      const poolid = params.poolid;
      if (!poolid) return fail(400, "Parameter verification failed.", { poolid: "property is missing and it is not optional" });
      if (!POOL_ID.test(poolid)) return badId(poolid);
      if (!this.allowed(user, "Pool.Allocate", `/pool/${poolid}`)) return denied(poolid, "Pool.Allocate");
      if (this.pools.has(poolid)) return fail(500, `create pool failed: pool '${poolid}' already exists`);
      const parent = poolid.includes("/") ? poolid.slice(0, poolid.lastIndexOf("/")) : undefined;
      // MODELLED text (nested pools, PVE 8.1): the parent must exist.
      if (parent && !this.pools.has(parent)) return fail(500, `create pool failed: parent '${parent}' does not exist`);
      this.pools.set(poolid, params.comment ? { comment: params.comment } : {});
      return ok(null);
    }
    // PVE 8.1: GET/DELETE /pools?poolid= (the only form for nested ids);
    // /pools/{poolid} is the older form, for single-level ids.
    const m = /^\/pools\/([^/]+)$/.exec(path);
    const poolid = m ? decodeURIComponent(m[1]!) : path === "/pools" && method === "DELETE" ? params.poolid : undefined;
    if (poolid === undefined) return undefined;
    if (!POOL_ID.test(poolid) || (m && poolid.includes("/"))) return badId(poolid);
    const privilege = method === "GET" ? "Pool.Audit" : "Pool.Allocate";
    if (!this.allowed(user, privilege, `/pool/${poolid}`)) return denied(poolid, privilege);
    const p = this.pools.get(poolid);
    if (method === "GET") return p ? ok({ members: [], ...(p.comment !== undefined ? { comment: p.comment } : {}) }) : fail(500, `pool '${poolid}' does not exist`);
    if (method === "DELETE") {
      if (!p) return fail(500, `delete pool failed: pool '${poolid}' does not exist`);
      if ([...this.pools.keys()].some((id) => id.startsWith(`${poolid}/`))) return fail(500, `delete pool failed: pool '${poolid}' is not empty (contains child pools)`);
      this.pools.delete(poolid);
      return ok(null);
    }
    return undefined;
  }

  private current(guest: Guest): Record<string, any> {
    const r = guest.resource;
    const base = guest.current ? structuredClone(guest.current) : { vmid: r.vmid, name: r.name, cpus: r.maxcpu, maxmem: r.maxmem, maxdisk: r.maxdisk, uptime: r.uptime, mem: 0, disk: 0, ha: { managed: 0 }, ...(r.type === "lxc" ? { type: "lxc" } : { qmpstatus: r.status }) };
    base.status = r.status;
    if ("qmpstatus" in base) base.qmpstatus = r.status;
    if (r.template) base.template = 1;
    if (r.lock) base.lock = r.lock;
    return base;
  }

  private setStatus(guest: Guest, status: string): void {
    guest.resource.status = status;
    guest.resource.uptime = status === "running" ? 1 : 0;
  }

  /** Creates a task as PVE does and returns its UPID. */
  private task(node: string, type: string, vmid: number, user: string, effect?: () => void): string {
    const pid = this.nextPid++;
    const pstart = 0x1000dc8 + pid;
    const starttime = Math.floor(Date.now() / 1000);
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
    const upid = `UPID:${node}:${hex(pid)}:${hex(pstart)}:${hex(starttime)}:${type}:${vmid}:${user}:`;
    const failure = this.taskFailures.findIndex((f) => f.type === type);
    const failed = failure >= 0 ? this.taskFailures.splice(failure, 1)[0] : undefined;
    const held = this.held.get(type);
    this.held.delete(type);
    const record: Task = {
      upid,
      node,
      type,
      id: String(vmid),
      user,
      starttime,
      pid,
      pstart,
      pollsLeft: this.hanging.delete(type) || held ? Number.POSITIVE_INFINITY : (this.opts.taskPolls ?? 1),
      exitstatus: failed?.exitstatus ?? "OK",
      log: failed ? [...failed.log, `TASK ERROR: ${failed.exitstatus}`] : ["TASK OK"],
      effect,
    };
    this.tasks.set(upid, record);
    if (held) {
      held.task = record;
      held.started();
    }
    return upid;
  }
}
