// Quoting caller input or upstream text inside an error message. A value is
// never copied whole: a long one could make the gRPC status larger than the
// client's metadata limit (8 KB by default), which breaks the status and, at
// 64 KB, the connection with every call on it. So a quote is a short prefix
// plus the value's length, and control characters are escaped so a quote
// cannot forge log lines.

/** Characters of a value shown in a message. */
export const QUOTE_PREFIX = 64;

/** `"value"`, or `"first 64 chars…" (N characters)` when longer. */
export function quote(value: unknown, max = QUOTE_PREFIX): string {
  const text = typeof value === "string" ? value : String(value);
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(prefix(text, max)).slice(0, -1)}…" (${text.length} characters)`;
}

/** Upstream text (a cloud's error message) cut to a bounded length. */
export function bounded(text: string, max = 512): string {
  return text.length > max ? `${prefix(text, max)}… (${text.length} characters)` : text;
}

// Never splits a surrogate pair (which would be invalid UTF-8 on the wire).
function prefix(text: string, max: number): string {
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
