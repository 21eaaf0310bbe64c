// What every price-list refresher needs from HTTP: JSON with the API key
// kept out of error messages, and dates checked.

export async function getJson(get: typeof fetch, url: string, signal?: AbortSignal): Promise<unknown> {
  const res = await get(url, { signal });
  if (!res.ok) throw new Error(`GET ${url.replace(/([?&]key=)[^&]+/, "$1(hidden)")}: HTTP ${res.status}`);
  return res.json();
}

export function isoDate(value: string | undefined, field: string): string {
  const date = typeof value === "string" ? value.slice(0, 10) : "";
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`${field} is not a date: ${value}`);
  return date;
}
