// The one scrubber for text that came from a cloud (or anything else that
// may quote a request back): error bodies, reason phrases, exception
// messages. An upstream that echoes the request puts our credentials in its
// error body (a proxy's 400 page, a debug build of a service, a mock), and
// that body becomes a gRPC error and a log line. Everything that reaches a
// caller or the log passes through scrub(): shared/server/grpc-errors.ts
// (every status message) and shared/log.ts (every field); the backends'
// HTTP error paths call scrubUpstream() at the point they read the body, so
// the cut to a bounded length never splits a secret before it is removed.
//
// Two layers:
//  - known values: every secret setting of the process (shared/secrets.ts
//    remembers them, including values re-read from a _FILE) and per-call
//    values a backend passes (a Keystone token, a PVE ticket), in the
//    encodings an echo may use (raw, JSON-escaped, URL- and form-encoded);
//  - shapes: bearer and basic credentials, Google OAuth tokens (ya29.),
//    auth headers (X-Auth-Token, X-Subject-Token, Authorization, Cookie...),
//    password=/secret=/token= pairs, "password": "..." fields, PVE tickets
//    and API tokens, AWS secret keys and long opaque tokens (Fernet, STS).
import { bounded } from "../quote";

export const REDACTED = "[redacted]";

/**
 * Known values shorter than this are not replaced by value: "admin" or
 * "test" occur in ordinary text, and replacing them would garble messages
 * without protecting anything real. The shapes below still catch a short
 * password where it is labelled (password=..., "password": "...").
 */
export const MIN_KNOWN_SECRET = 8;

/** Upstream text longer than this is cut before scrubbing: the regexes' cost stays bounded. */
export const MAX_SCRUB_INPUT = 64 * 1024;

/**
 * Remembered values (with their encodings), oldest first, in two bounded
 * tiers. Settings: the configured secrets, plus each new value of a secret
 * file that rotates. Session: tokens and tickets bought with them, renewed
 * every hour or two for as long as the process runs, so only the latest few
 * are kept (an expired token is worth little, and the shapes still apply);
 * they never push a configured password out.
 */
export const MAX_KNOWN_SETTINGS = 1024;
export const MAX_KNOWN_SESSION = 64;
/**
 * Per-call credentials (shared/tenancy): a tier of their own, so callers
 * sending many documents can never push the operator's secrets out.
 */
export const MAX_KNOWN_TENANT = 1024;
const settings = new Set<string>();
const session = new Set<string>();
const tenants = new Set<string>();
/** Longest first, so a secret containing another is removed whole. */
let knownSorted: string[] = [];
/** Rebuilt on the next scrub after a change, not per value added (many tenants arrive at once). */
let knownDirty = false;

function encodings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const uri = encodeURIComponent(value);
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  return [...new Set([value, json, uri, form])];
}

function add(tier: Set<string>, max: number, value: string | undefined): void {
  // Known in any tier already: a tenant's secret that a backend remembers
  // again (a key file's private key) must not take a place among the operator's.
  if (!value || value.length < MIN_KNOWN_SECRET || settings.has(value) || session.has(value) || tenants.has(value)) return;
  tier.add(value);
  for (const old of tier) {
    if (tier.size <= max) break;
    tier.delete(old);
  }
  knownDirty = true;
}

/** Adds a configured credential of this process; it is removed from all text from now on. */
export function rememberSecret(value: string | undefined): void {
  add(settings, MAX_KNOWN_SETTINGS, value);
}

/** Adds a secret from a caller's per-call credential document (bounded apart from the operator's). */
export function rememberTenantSecret(value: string | undefined): void {
  add(tenants, MAX_KNOWN_TENANT, value);
}

/** Adds a token or ticket the process obtained (Keystone token, PVE ticket, OAuth access token). */
export function rememberSessionSecret(value: string | undefined): void {
  add(session, MAX_KNOWN_SESSION, value);
}

function replaceAll(text: string, value: string): string {
  return text.includes(value) ? text.split(value).join(REDACTED) : text;
}

// Words that make a key name a credential's (password=, "x-auth-token": ...).
const SECRET_WORD = "(?:password|passwd|pwd|secret|token|ticket|api[_-]?key|private[_-]?key|credentials?|auth[_-]?cookie|session[_-]?id|signature)";
// Bounded on both sides: with `*`, a long run such as "a.a.a.a..." made the
// regex quadratic (14 s for 64 KB; shared/cloud/scrub.test.ts keeps it fast).
const KEY = `[A-Za-z0-9_.-]{0,48}${SECRET_WORD}[A-Za-z0-9_.-]{0,48}`;

/** Upper-case words and <...> are how help texts write a credential they do not know (TOKEN, YOUR_TOKEN). */
const PLACEHOLDER = /^(?:[A-Z_]+|<[^>]*>)$/;
const SCHEME_ONLY = /^\s*(?:(?:Bearer|Basic|Negotiate)\s*)?(?:\[redacted\]|[A-Z_]+|<[^>]*>)?\s*$/;

const hasMixedClasses = (s: string) => /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s);

/** Ordered: the schemes first, so the header rule sees "Bearer [redacted]" and not the token. */
const SHAPES: [RegExp, (match: string, ...groups: string[]) => string][] = [
  // Authorization: Bearer <token> / Basic <base64> (also inside longer text).
  [/\b(Bearer|Basic|Negotiate)(\s+)([A-Za-z0-9._~+/=-]{6,})/gi, (m, scheme, sp, value) => (PLACEHOLDER.test(value) ? m : `${scheme}${sp}${REDACTED}`)],
  // Google OAuth2 access and refresh tokens.
  [/\bya29\.[A-Za-z0-9._-]+/g, () => REDACTED],
  [/\b1\/\/0[A-Za-z0-9._-]{20,}/g, () => REDACTED],
  // Proxmox: tickets ("PVE:user@realm:HEX::signature") and API token headers.
  [/\bPVE:[^\s"'<>;&,]+/g, () => `PVE:${REDACTED}`],
  [/\bPVEAPIToken=[^\s"'<>;&,]+/g, () => `PVEAPIToken=${REDACTED}`],
  // Credential-bearing headers, as "Name: value" lines or "name": "value" pairs.
  [
    /\b(x-auth-token|x-subject-token|x-storage-token|x-amz-security-token|x-goog-iam-authorization-token|x-api-key|proxy-authorization|authorization|set-cookie|cookie|csrfpreventiontoken)(\\?["']?\s*[:=]\s*\\?["']?)([^"'\\\r\n<>]+)/gi,
    // A scheme alone or with a placeholder ("authorization: Bearer TOKEN" in
    // our own help text), or a value already redacted above, is left as is.
    (m, name, sep, value) => (SCHEME_ONLY.test(value) ? m : `${name}${sep}${REDACTED}`),
  ],
  // \"password\": \"...\" (JSON quoted inside a JSON string). Each value
  // character matches one way only, so a run of backslashes cannot backtrack.
  [
    new RegExp(`(\\\\["'])(${KEY})(\\\\["']\\s*:\\s*)(\\\\["'])((?:[^\\\\]|\\\\(?!["']))*)(\\\\["'])`, "gi"),
    (_m, q1, key, sep, q2, _value, q3) => `${q1}${key}${sep}${q2}${REDACTED}${q3}`,
  ],
  // "password": "..." (JSON, with its escapes; Python reprs with ').
  [
    new RegExp(`(["'])(${KEY})\\1(\\s*:\\s*)(["'])((?:(?!\\4)[^\\\\]|\\\\[^])*)\\4`, "gi"),
    (_m, q1, key, sep, q2) => `${q1}${key}${q1}${sep}${q2}${REDACTED}${q2}`,
  ],
  // password=... / token=... (forms, query strings, cookies, key=value logs).
  [new RegExp(`\\b(${KEY})(\\s*=\\s*)([^\\s&;,"'<>]+)`, "gi"), (_m, key, sep) => `${key}${sep}${REDACTED}`],
  // An AWS secret access key: 40 characters of base64 with mixed classes.
  [/(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g, (m) => (hasMixedClasses(m) ? REDACTED : m)],
  // Long opaque tokens (Keystone Fernet, STS session tokens, JWT parts): no word is this long.
  [/[A-Za-z0-9+_=-]{64,}/g, (m) => (hasMixedClasses(m) ? REDACTED : m)],
];

/**
 * Short text no SHAPES entry can match, such as the server's own log
 * fields (a method name, a status code, a duration, a gRPC peer
 * "ipv4:10.0.0.1:5000"): no whitespace, quote, "=", "/" or backslash
 * (the scheme, pair and quoted-key shapes need one), shorter than the
 * 40-character key shape, and a colon only after a first word ending in a
 * digit and followed by hex, dots and brackets (so never after a header
 * name or "PVE"), or nothing but hex digits, colons, dots and brackets (a
 * peer on a dual-stack listener, "::ffff:10.0.0.1:5000", which took the
 * regexes on every RPC's log line). The regexes cost ~4 us per string; this test ~0.1 us.
 * Known values are still replaced.
 */
const SHAPE_FREE = /^(?:[A-Za-z0-9_.[\]-]{1,39}|[A-Za-z0-9_.-]{0,20}[0-9](?::[0-9A-Fa-f.[\]]{0,39})+|[0-9A-Fa-f:.[\]]{1,39})$/;

/** The remembered values in every encoding, longest first (rebuilt after a change). */
function knownValues(): string[] {
  if (knownDirty) {
    knownSorted = [...new Set([...settings, ...session, ...tenants].flatMap(encodings))].sort((a, b) => b.length - a.length);
    knownDirty = false;
  }
  return knownSorted;
}

/**
 * `text` without credentials: the process's known secrets, `also` (values
 * of this call, e.g. the token it sent) and anything shaped like one.
 */
export function scrub(text: string, also: readonly (string | undefined)[] = []): string {
  if (text === "") return text;
  if (also.length === 0 && text.length < 40 && SHAPE_FREE.test(text) && !text.includes("ya29.")) {
    let out = text;
    for (const v of knownValues()) out = replaceAll(out, v);
    return out;
  }
  // Bounded cost per call; the cut is before scrubbing, and what is cut off never leaves.
  let out = text.length > MAX_SCRUB_INPUT ? `${text.slice(0, MAX_SCRUB_INPUT)}... (${text.length} characters)` : text;
  for (const value of also) {
    if (!value || value.length < 4) continue;
    for (const v of encodings(value)) out = replaceAll(out, v);
  }
  for (const v of knownValues()) out = replaceAll(out, v);
  for (const [re, fn] of SHAPES) out = out.replace(re, fn as (m: string, ...g: string[]) => string);
  return out;
}

export interface UpstreamTextOptions {
  /** UTF-8 bytes kept (default 512, what a status message holds). */
  maxBytes?: number;
  /** Per-call secrets: the token or ticket the request carried. */
  also?: readonly (string | undefined)[];
}

/**
 * Text an upstream sent, ready to quote in an error or a log line: cut to
 * a bounded input, scrubbed, then bounded to `maxBytes` (scrubbing before
 * the final cut, so a secret is never half-removed).
 */
export function scrubUpstream(text: string, opts: UpstreamTextOptions = {}): string {
  return bounded(scrub(text, opts.also), opts.maxBytes ?? 512);
}
