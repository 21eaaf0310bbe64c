// Everything a provider writes where an operator or a collector would see
// it: its log lines, the /metrics exposition and the OTLP spans it exports.
// Tests that promise "no secret anywhere" scan all of it, not only logs.
export interface OutputCollector {
  /** Flags and environment for startTestProvider: a metrics listener and an OTLP receiver. */
  args: string[];
  env: Record<string, string>;
  /** Scrapes /metrics now (call while the provider runs; spans flush at close). */
  scrape(metricsAddress: string): Promise<void>;
  /** Log lines given, plus every scrape and span received so far. */
  everything(logs: string[]): string;
  /** Spans received (non-empty once a traced provider has closed). */
  spans: string[];
  stop(): void;
}

export function collectOutput(serviceName: string): OutputCollector {
  const spans: string[] = [];
  const scraped: string[] = [];
  const receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      spans.push(await req.text());
      return Response.json({});
    },
  });
  return {
    args: ["--metrics-addr", "127.0.0.1:0"],
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`, OTEL_SERVICE_NAME: serviceName },
    async scrape(metricsAddress) {
      scraped.push(await (await fetch(`http://${metricsAddress}/metrics`)).text());
    },
    everything: (logs) => [...logs, ...scraped, ...spans].join("\n"),
    spans,
    stop: () => void receiver.stop(true),
  };
}
