// A local HTTP server for the price-list refresh tests: each cloud passes
// its routes (providers/<cloud>/pricing/testing/price-list-routes.ts), so
// nothing reaches the internet. Records every request URL.

export interface PriceListServer {
  base: string;
  requests: URL[];
  stop(): void;
}

export function startPriceListServer(...routes: ((url: URL) => Response | undefined)[]): PriceListServer {
  const requests: URL[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      requests.push(url);
      for (const route of routes) {
        const res = route(url);
        if (res) return res;
      }
      return new Response("not found", { status: 404 });
    },
  });
  return { base: `http://127.0.0.1:${server.port}`, requests, stop: () => server.stop(true) };
}
