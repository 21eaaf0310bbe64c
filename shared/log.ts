// Structured JSON logs, one object per line on stderr. Only fields passed
// explicitly are written: request bodies are never logged wholesale, and
// redact() is applied to every field so a secret that slipped into a value
// under a secret-looking key never reaches the log; every string (and the
// message) also passes the upstream-text scrubber (shared/cloud/scrub.ts),
// so a credential quoted inside an error text is removed too.
import { writeSync } from "node:fs";
import { scrub } from "./cloud/scrub";

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const SECRET_KEY = /pass(word)?|secret|token|private_?key|credential|authorization|cookie|api_?key|ticket/i;

/** Replaces values under secret-looking keys with "[redacted]" and scrubs every string, recursively. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrub(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: scrub(value.message) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = isSecretKey(k) && v !== undefined && v !== "" ? "[redacted]" : redact(v, depth + 1);
  }
  return out;
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  base?: Record<string, unknown>;
}

/**
 * A synchronous write of all of `text` to stderr: it also runs in the exit
 * handler, where a stream write would still be queued when the process
 * ends (lines lost when stderr is a pipe). A pipe that is full and
 * non-blocking answers EAGAIN: retried until the reader catches up.
 */
function writeAll(text: string): void {
  // Usually one write takes it all: the string goes as is (no Buffer copy per flush).
  let written = 0;
  try {
    written = writeSync(2, text);
    if (written >= Buffer.byteLength(text)) return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EAGAIN") return;
  }
  let bytes = Buffer.from(text).subarray(written);
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(2, bytes));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/** Lines held before a write is forced within the same event-loop turn (bounds the buffer). */
const MAX_PENDING_LINES = 256;
let stderrWriter: ((line: string) => void) | undefined;

/**
 * stderr, one write per event-loop turn instead of one per line: a server
 * under load logs a line per RPC, and a write system call per line was
 * about 7 % of a call's CPU (scripts/BENCHMARKS.md). Lines keep their
 * order; what is pending is written before the process exits, and at most
 * MAX_PENDING_LINES wait.
 */
function bufferedStderr(): (line: string) => void {
  if (stderrWriter) return stderrWriter;
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join("\n") + "\n";
    pending = [];
    writeAll(text);
  };
  process.on("exit", flush);
  stderrWriter = (line: string) => {
    pending.push(line);
    if (pending.length >= MAX_PENDING_LINES) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return stderrWriter;
}

/** Secret-looking keys seen so far (log field names are code constants: a few dozen). */
const secretKeyMemo = new Map<string, boolean>();
const MAX_MEMO_KEYS = 1024;

function isSecretKey(key: string): boolean {
  let secret = secretKeyMemo.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (secretKeyMemo.size < MAX_MEMO_KEYS) secretKeyMemo.set(key, secret);
  }
  return secret;
}

let lastMs = -1;
let lastIso = "";

/** toISOString of now, made once per millisecond (a busy server logs many lines per millisecond). */
function timestamp(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * A class, not closures: a server makes a child logger per RPC (with its
 * request id), and a child is now one small object sharing the methods.
 */
class JsonLogger implements Logger {
  constructor(
    private readonly min: number,
    private readonly write: (line: string) => void,
    private readonly base: Record<string, unknown>,
  ) {}

  debug(msg: string, fields?: Record<string, unknown>): void {
    if (LEVELS.debug >= this.min) this.emit("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    if (LEVELS.info >= this.min) this.emit("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    if (LEVELS.warn >= this.min) this.emit("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    if (LEVELS.error >= this.min) this.emit("error", msg, fields);
  }
  child(fields: Record<string, unknown>): Logger {
    return new JsonLogger(this.min, this.write, { ...this.base, ...fields });
  }

  /** { ts, level, msg, ...base, ...redact(fields) }, built in place (the same keys in the same order). */
  private emit(level: LogLevel, msg: string, fields: Record<string, unknown> | undefined): void {
    const record: Record<string, unknown> = { ts: timestamp(), level, msg: scrub(msg) };
    for (const key in this.base) record[key] = this.base[key];
    if (fields !== undefined) {
      if (Array.isArray(fields) || fields instanceof Error) Object.assign(record, redact(fields));
      else {
        for (const key of Object.keys(fields)) {
          const v = fields[key];
          record[key] = isSecretKey(key) && v !== undefined && v !== "" ? "[redacted]" : redact(v, 1);
        }
      }
    }
    this.write(JSON.stringify(record));
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return new JsonLogger(LEVELS[options.level ?? "info"], options.write ?? bufferedStderr(), options.base ?? {});
}

export function isLogLevel(value: string): value is LogLevel {
  return value in LEVELS;
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = createLogger({ write: () => {} });
