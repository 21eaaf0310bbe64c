// The part of Compute Engine's list filter language the fake server needs,
// evaluated the way GCE documents it:
// - regular-expression syntax: `field eq "RE2"` / `field ne "RE2"`, one bare
//   term or several parenthesized terms that must all match (full match);
// - the AIP-160 style: `field = "v"`, `field != v`, `field : v`, joined by
//   AND or juxtaposition, optionally parenthesized.
// The two syntaxes cannot be mixed in one filter (GCE rejects that too).
export type Predicate = (resource: Record<string, unknown>) => boolean;

export class FilterError extends Error {}

function fieldValue(resource: Record<string, unknown>, path: string): unknown {
  let v: unknown = resource;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const asText = (v: unknown) => (v === undefined || v === null ? undefined : typeof v === "object" ? JSON.stringify(v) : String(v));
const unquote = (s: string) => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);

const REGEX_TERM = /^\(?\s*([a-zA-Z][\w.-]*)\s+(eq|ne)\s+("(?:[^"\\]|\\.)*"|[^\s()]+)\s*\)?$/;
const AIP_TERM = /^\(?\s*([a-zA-Z][\w.-]*)\s*(=|!=|:)\s*("(?:[^"\\]|\\.)*"|[^\s()]+)\s*\)?$/;

function splitTerms(text: string): string[] {
  const t = text.trim();
  if (!t.startsWith("(")) return [t];
  const terms: string[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c === '"') {
      for (i++; i < t.length && t[i] !== '"'; i++) if (t[i] === "\\") i++;
      continue;
    }
    if (c === "(") {
      if (depth++ === 0) start = i;
    } else if (c === ")") {
      if (--depth === 0) terms.push(t.slice(start, i + 1));
    } else if (depth === 0 && !/\s/.test(c)) {
      const rest = t.slice(i);
      const and = /^AND\b/.exec(rest);
      if (!and) throw new FilterError(`unexpected text "${rest.slice(0, 20)}"`);
      i += 2;
    }
  }
  if (depth !== 0) throw new FilterError("unbalanced parentheses");
  return terms;
}

export function compileFilter(text: string | undefined | null): Predicate {
  if (!text || !text.trim()) return () => true;
  if (/\bOR\b/.test(text)) throw new FilterError("OR is not supported by this fake");
  const terms = splitTerms(text.includes("(") ? text : text.split(/\s+AND\s+/).length > 1 ? text.split(/\s+AND\s+/).map((t) => `(${t})`).join(" ") : text);
  const regexStyle = terms.map((t) => REGEX_TERM.test(t));
  if (regexStyle.some(Boolean) && !regexStyle.every(Boolean)) throw new FilterError("the regular-expression and comparison syntaxes cannot be mixed");
  const preds: Predicate[] = terms.map((term) => {
    const re = REGEX_TERM.exec(term);
    if (re) {
      const [, field, op, raw] = re as unknown as [string, string, string, string];
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${unquote(raw)})$`, "u");
      } catch {
        throw new FilterError(`bad regular expression in "${term}"`);
      }
      return (r) => {
        const v = asText(fieldValue(r, field));
        const match = v !== undefined && pattern.test(v);
        return op === "eq" ? match : !match;
      };
    }
    const aip = AIP_TERM.exec(term);
    if (!aip) throw new FilterError(`cannot parse "${term}"`);
    const [, field, op, raw] = aip as unknown as [string, string, string, string];
    const want = unquote(raw);
    return (r) => {
      const v = asText(fieldValue(r, field));
      if (op === ":") return want === "*" ? v !== undefined : v !== undefined && v.includes(want);
      return op === "=" ? v === want : v !== want;
    };
  });
  return (r) => preds.every((p) => p(r));
}
