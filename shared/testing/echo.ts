// What a misbehaving upstream (a debugging proxy, an emulator, a service in
// debug mode) puts in its error body: the request it got, headers and body,
// credentials included. The fakes quote this in their error shapes so tests
// can prove no credential reaches a caller or the log.

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function headerLines(headers: HeaderBag): string[] {
  const entries: [string, unknown][] = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
  return entries.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : String(v)}`);
}

const CREDENTIAL_HEADER = /auth|token|cookie|csrf|secret/i;

/**
 * "POST /path", the credential-bearing headers, the body, then the other
 * headers, as an echoing upstream reports them. Credentials come first so
 * they land inside any length cap: a test built on this can fail.
 */
export function describeRequest(method: string, path: string, headers: HeaderBag, body: string): string {
  const lines = headerLines(headers);
  const first = lines.filter((l) => CREDENTIAL_HEADER.test(l.slice(0, l.indexOf(":"))));
  return [`${method} ${path}`, ...first, body, ...lines.filter((l) => !first.includes(l))].join("\n");
}

/** Everything a caller sees of a failed call: code, message, details and every metadata value (decoded). */
export function errorTexts(err: { message: string; details?: string; metadata?: { getMap(): Record<string, unknown> } }): string[] {
  const meta = Object.values(err.metadata?.getMap() ?? {}).map((v) => (Buffer.isBuffer(v) ? v.toString("latin1") : String(v)));
  return [err.message, err.details ?? "", ...meta];
}

/** Characters of a secret that count as a leak: a cut can keep a prefix of a long token. */
export const LEAK_WINDOW = 12;

/** The secrets of which any LEAK_WINDOW characters (raw, URL- or JSON-encoded) occur in `texts`. */
export function leakedSecrets(texts: string[], secrets: string[]): string[] {
  const all = texts.join("\n");
  return secrets.filter((secret) =>
    [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)].some((form) => {
      if (form.length <= LEAK_WINDOW) return all.includes(form);
      for (let i = 0; i + LEAK_WINDOW <= form.length; i++) if (all.includes(form.slice(i, i + LEAK_WINDOW))) return true;
      return false;
    }),
  );
}
