// How bytes reach the PVE API, with the TLS policy the operator chose.
// Proxmox ships self-signed certificates, so there are four policies and
// none of them skips verification silently:
//  - system: the machine's CA store (a cluster with a real certificate);
//  - ca-file: PROXMOX_CA_FILE (e.g. the cluster's /etc/pve/pve-root-ca.pem);
//  - fingerprint: PROXMOX_FINGERPRINT, the SHA-256 of the node certificate
//    as the PVE GUI shows it. The check happens on every connection after the
//    handshake and BEFORE a single request byte is written;
//  - insecure: PROXMOX_INSECURE=true, which the backend logs as a warning.
//
// Why two transports: Bun's fetch takes `tls.ca` and `rejectUnauthorized`,
// but it does not call `checkServerIdentity` when chain verification is off,
// and it rejects a non-self-signed leaf given as `ca` (no partial chains), so
// a pin on a cluster-CA-signed node certificate cannot be expressed with
// fetch. The pinned mode therefore speaks HTTP/1.1 over node:tls itself,
// which also works inside a `bun build --compile` binary.
import { readFileSync } from "node:fs";
import * as tls from "node:tls";
import { ConfigError } from "../../shared/config";

export interface HttpRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** PVE puts its error message into the HTTP reason phrase. */
  statusText: string;
  body: string;
  /** The Retry-After header, when a throttling front proxy sent one. */
  retryAfter?: string;
}

export interface HttpTransport {
  readonly tlsMode: "system" | "ca-file" | "fingerprint" | "insecure";
  send(req: HttpRequest): Promise<HttpResponse>;
}

/** A TLS failure worth explaining to the operator (not a network outage). */
export class TlsVerificationError extends Error {
  constructor(message: string, readonly reason: string) {
    super(message);
    this.name = "TlsVerificationError";
  }
}

export interface TlsSettings {
  caFile?: string;
  fingerprint?: string;
  insecure?: boolean;
}

/** "AA:BB:..." (any case, colons optional) -> canonical upper-case colon hex. */
export function normalizeFingerprint(value: string): string {
  const hex = value.trim().replace(/^sha256:?/i, "").replace(/[:\s]/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new ConfigError("PROXMOX_FINGERPRINT: expected the SHA-256 certificate fingerprint as 32 colon-separated hex bytes (AA:BB:...)");
  return hex.match(/../g)!.join(":");
}

export function createTransport(settings: TlsSettings): HttpTransport {
  const chosen = [settings.caFile && "PROXMOX_CA_FILE", settings.fingerprint && "PROXMOX_FINGERPRINT", settings.insecure && "PROXMOX_INSECURE"].filter(Boolean);
  if (chosen.length > 1) throw new ConfigError(`choose one TLS policy, not ${chosen.join(" and ")}`);
  if (settings.fingerprint) return new PinnedTransport(normalizeFingerprint(settings.fingerprint));
  if (settings.caFile) {
    let ca: string;
    try {
      ca = readFileSync(settings.caFile, "utf8");
    } catch (err) {
      throw new ConfigError(`PROXMOX_CA_FILE: cannot read ${settings.caFile}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
    if (!ca.includes("BEGIN CERTIFICATE")) throw new ConfigError(`PROXMOX_CA_FILE: ${settings.caFile} holds no PEM certificate`);
    return new FetchTransport("ca-file", { ca });
  }
  if (settings.insecure) return new FetchTransport("insecure", { rejectUnauthorized: false });
  return new FetchTransport("system", {});
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME|ERR_TLS|DEPTH_ZERO|ALTNAME/i;

class FetchTransport implements HttpTransport {
  constructor(
    readonly tlsMode: "system" | "ca-file" | "insecure",
    private readonly tlsOptions: { ca?: string; rejectUnauthorized?: boolean },
  ) {}

  async send(req: HttpRequest): Promise<HttpResponse> {
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
        redirect: "manual",
        tls: this.tlsOptions,
      } as RequestInit);
    } catch (err) {
      const code = String((err as { code?: string }).code ?? "");
      if (TLS_CODES.test(code)) throw new TlsVerificationError((err as Error).message, code);
      throw err;
    }
    return { status: res.status, statusText: res.statusText, body: await res.text(), retryAfter: res.headers.get("retry-after") ?? undefined };
  }
}

/** HTTP/1.1 over node:tls with a certificate pin checked before sending. */
class PinnedTransport implements HttpTransport {
  readonly tlsMode = "fingerprint" as const;
  constructor(private readonly pin: string) {}

  send(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.url);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port || 443);
    return new Promise<HttpResponse>((resolve, reject) => {
      if (req.signal.aborted) return reject(req.signal.reason);
      const isIp = /^[\d.]+$|:/.test(host);
      // Chain and host name are not checked: the pin is stronger than both.
      const socket = tls.connect({ host, port, servername: isIp ? undefined : host, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] });
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (err: unknown, value?: HttpResponse) => {
        if (settled) return;
        settled = true;
        req.signal.removeEventListener("abort", onAbort);
        socket.destroy();
        if (err) reject(err);
        else resolve(value!);
      };
      const onAbort = () => finish(req.signal.reason);
      req.signal.addEventListener("abort", onAbort, { once: true });
      socket.once("error", (err: Error) => finish(err));
      socket.once("secureConnect", () => {
        const seen = socket.getPeerCertificate()?.fingerprint256?.toUpperCase();
        if (seen !== this.pin) {
          finish(new TlsVerificationError(`the server certificate fingerprint ${seen ?? "(none)"} does not match PROXMOX_FINGERPRINT`, "FINGERPRINT_MISMATCH"));
          return;
        }
        const body = req.body === undefined ? undefined : Buffer.from(req.body);
        const headers: Record<string, string> = { host: url.host, connection: "close", ...lowerKeys(req.headers) };
        if (body) headers["content-length"] = String(body.length);
        const head = `${req.method} ${url.pathname}${url.search} HTTP/1.1\r\n` + Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
        socket.write(body ? Buffer.concat([Buffer.from(head), body]) : head);
      });
      socket.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        // Do not depend on the server closing: a complete Content-Length
        // body is enough.
        const so = Buffer.concat(chunks);
        const split = so.indexOf("\r\n\r\n");
        if (split < 0) return;
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(so.subarray(0, split).toString("latin1"))?.[1];
        if (length !== undefined && so.length - split - 4 >= Number(length)) {
          try {
            finish(undefined, parseHttpResponse(so));
          } catch (err) {
            finish(err);
          }
        }
      });
      socket.once("end", () => {
        try {
          finish(undefined, parseHttpResponse(Buffer.concat(chunks)));
        } catch (err) {
          finish(err);
        }
      });
    });
  }
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Parses a complete HTTP/1.1 response read until the server closed. */
export function parseHttpResponse(raw: Buffer): HttpResponse {
  const split = raw.indexOf("\r\n\r\n");
  if (split < 0) throw new Error("incomplete HTTP response from the Proxmox API");
  const [statusLine, ...headerLines] = raw.subarray(0, split).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine ?? "");
  if (!m) throw new Error("malformed HTTP status line from the Proxmox API");
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const i = line.indexOf(":");
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  let body = raw.subarray(split + 4);
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) body = dechunk(body);
  else if (headers.has("content-length")) body = body.subarray(0, Number(headers.get("content-length")));
  return { status: Number(m[1]), statusText: Buffer.from(m[2] ?? "", "latin1").toString("utf8"), body: body.toString("utf8"), retryAfter: headers.get("retry-after") };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    const lineEnd = data.indexOf("\r\n", pos);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(pos, lineEnd).toString("latin1").split(";")[0]!, 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
