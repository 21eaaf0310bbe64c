// Test support: an HTTP reverse proxy in front of a real peer (moto, the
// OpenStack testbed, the fake GCE server) that can hold one matching
// response until the test releases it, so a call is provably in flight while
// the test does something else (rotates a secret file). Requests pass on
// byte for byte, Host header included: SigV4 signs the Host the client
// dialled, and moto checks that signature.
import http, { type IncomingHttpHeaders } from "node:http";

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Hold {
  /** Resolves when a matching request reached the peer and its answer is being held. */
  arrived: Promise<SeenRequest>;
  release(): void;
}

export interface CannedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export class GateProxy {
  readonly requests: SeenRequest[] = [];
  /** Requests answered by answerNext instead of the peer. */
  readonly answered: SeenRequest[] = [];
  private canned: { match: (r: SeenRequest) => boolean; left: number; answer: CannedAnswer }[] = [];
  private holds: { match: (r: SeenRequest) => boolean; arrived: (r: SeenRequest) => void; released: Promise<void> }[] = [];
  private constructor(
    private readonly server: http.Server,
    private readonly target: URL,
    private readonly rewrite?: (body: string, request: SeenRequest) => string,
  ) {}

  /**
   * `rewrite` edits answer bodies (e.g. to point a Keystone catalog's Nova
   * endpoint at a second proxy); compression is then refused upstream.
   */
  static async start(target: string, rewrite?: (body: string, request: SeenRequest) => string): Promise<GateProxy> {
    const server = http.createServer();
    const proxy = new GateProxy(server, new URL(target), rewrite);
    server.on("request", (req, res) => proxy.forward(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Holds the answer to every request matching `match` until release(): a
   * peer (or one region's endpoint) that hangs. `arrived` resolves with the
   * first such request; requests after release() pass through again.
   */
  hangEvery(match: (r: SeenRequest) => boolean): Hold {
    let released = false;
    let first!: (r: SeenRequest) => void;
    const arrived = new Promise<SeenRequest>((r) => (first = r));
    const armed: Hold[] = [];
    // One holdNext at a time, re-armed as each arrives: the re-arm runs in
    // the microtask after the arrival, before any other request is looked at.
    const arm = () => {
      const hold = this.holdNext(match);
      armed.push(hold);
      void hold.arrived.then((r) => {
        first(r);
        if (!released) arm();
      });
    };
    arm();
    return {
      arrived,
      release() {
        released = true;
        for (const hold of armed) hold.release();
      },
    };
  }

  private replacements: { match: (r: SeenRequest) => boolean; answer: (r: SeenRequest) => Replacement }[] = [];

  /**
   * Replaces the peer's answer to the next request matching `match` with
   * `answer(request)`, e.g. an upstream error that quotes the request. The
   * returned function withdraws it if no request used it.
   */
  replaceNext(match: (r: SeenRequest) => boolean, answer: (r: SeenRequest) => Replacement): () => void {
    const entry = { match, answer };
    this.replacements.push(entry);
    return () => {
      this.replacements = this.replacements.filter((x) => x !== entry);
    };
  }

  /** Holds the answer to the next request matching `match` until release(). */
  holdNext(match: (r: SeenRequest) => boolean): Hold {
    let arrived!: (r: SeenRequest) => void;
    let release!: () => void;
    const arrivedP = new Promise<SeenRequest>((r) => (arrived = r));
    const released = new Promise<void>((r) => (release = r));
    const entry = { match, arrived, released };
    this.holds.push(entry);
    return {
      arrived: arrivedP,
      release: () => {
        // Released before any request came: withdrawn, so it cannot swallow a later test's request.
        this.holds = this.holds.filter((h) => h !== entry);
        release();
      },
    };
  }

  /** Answers the next `times` requests matching `match` with `answer`; the peer never sees them. */
  answerNext(match: (r: SeenRequest) => boolean, times: number, answer: CannedAnswer): void {
    this.canned.push({ match, left: times, answer });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const seen: SeenRequest = { method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers, body: body.toString() };
    this.requests.push(seen);
    const canned = this.canned.find((c) => c.left > 0 && c.match(seen));
    if (canned) {
      canned.left--;
      this.answered.push(seen);
      const body = canned.answer.body ?? "";
      res.writeHead(canned.answer.status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...canned.answer.headers });
      res.end(body);
      return;
    }
    const headers = { ...req.headers };
    if (this.rewrite) delete headers["accept-encoding"];
    const upstream = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const out = http.request(
        { host: this.target.hostname, port: this.target.port, method: seen.method, path: seen.path, headers },
        async (r) => {
          const parts: Buffer[] = [];
          for await (const c of r) parts.push(c as Buffer);
          resolve({ status: r.statusCode ?? 502, headers: r.headers, body: Buffer.concat(parts) });
        },
      );
      out.on("error", reject);
      out.end(body);
    });
    const i = this.holds.findIndex((h) => h.match(seen));
    if (i >= 0) {
      const [hold] = this.holds.splice(i, 1);
      hold!.arrived(seen);
      await hold!.released;
    }
    const replaced = this.replacements.findIndex((x) => x.match(seen));
    if (replaced >= 0) {
      const [replacement] = this.replacements.splice(replaced, 1);
      const answer = replacement!.answer(seen);
      res.writeHead(answer.status, { "content-type": answer.contentType, "content-length": String(Buffer.byteLength(answer.body)) });
      res.end(answer.body);
      return;
    }
    const answer = this.rewrite ? Buffer.from(this.rewrite(upstream.body.toString(), seen)) : upstream.body;
    const out = { ...upstream.headers };
    delete out["transfer-encoding"];
    out["content-length"] = String(answer.length);
    res.writeHead(upstream.status, out);
    res.end(answer);
  }
}

/** An answer the proxy gives instead of the peer's (replaceNext). */
export interface Replacement {
  status: number;
  contentType: string;
  body: string;
}
