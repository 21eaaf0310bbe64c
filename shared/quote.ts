// Quoting caller input or upstream text inside an error message. A value is
// never copied whole: a long one could make the gRPC status larger than the
// client's metadata limit (8 KB by default), which breaks the status and, at
// 64 KB, the connection with every call on it. So a quote is a short prefix
// plus the value's length, and control characters are escaped so a quote
// cannot forge log lines.

/** Characters of a value shown in a message. */
export const QUOTE_PREFIX = 64;

/** `"value"`, or `"first 64 chars..." (N characters)` when longer. */
export function quote(value: unknown, max = QUOTE_PREFIX): string {
  const text = typeof value === "string" ? value : String(value);
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(prefix(text, max)).slice(0, -1)}..." (${text.length} characters)`;
}

/**
 * Text cut to at most maxBytes of UTF-8 (the wire size, which is what
 * metadata limits count), saying how long it was.
 */
export function bounded(text: string, maxBytes = 512): string {
  if (text.length <= maxBytes / 3 || Buffer.byteLength(text) <= maxBytes) return text;
  const suffix = `... (${text.length} characters)`;
  let cut = prefix(text, Math.min(text.length, maxBytes - suffix.length));
  while (Buffer.byteLength(cut) > maxBytes - suffix.length) cut = prefix(cut, Math.floor(cut.length * 0.9));
  return cut + suffix;
}

// Never splits a surrogate pair (which would be invalid UTF-8 on the wire).
function prefix(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
