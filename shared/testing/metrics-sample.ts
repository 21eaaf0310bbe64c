// Reads one sample from a provider's /metrics exposition, for tests.

/** The value of the sample `name` with exactly these labels (0 when absent). */
export async function metricSample(metricsAddress: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    // Labels are optional; their values are quoted and may hold braces and commas ("GET /nodes/{id}").
    const m = /^([a-z_]+)(?:\{((?:[A-Za-z_]+="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ? [...m[2].matchAll(/[A-Za-z_]+="(?:[^"\\]|\\.)*"/g)].map((p) => p[0]) : [];
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return 0;
}
