// A bounded operation name for a REST request ("GET /servers/{id}/action"),
// for metric labels and span names: a path segment is kept only when it is
// one of the cloud's route words, anything else (ids, names, node names,
// project ids in endpoint URLs) becomes {id}. The label set is then finite
// by construction, whatever ids and names the calls carry.

/** Segments kept at most; a longer path ends in "/...". */
const MAX_SEGMENTS = 10;

export function operationName(method: string, path: string, routeWords: ReadonlySet<string>): string {
  const segments = path.split("?")[0]!.split("/").filter(Boolean);
  const named = segments.slice(0, MAX_SEGMENTS).map((s) => (routeWords.has(s) ? s : "{id}"));
  return `${method} /${named.join("/")}${segments.length > MAX_SEGMENTS ? "/..." : ""}`;
}
