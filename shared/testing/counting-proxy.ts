// A tiny HTTP proxy that counts the requests it forwards, by a predicate on
// the request body (moto has no call counter; the EC2 query API names the
// action in the form body: "Action=DescribeInstances").
export interface CountingProxy {
  url: string;
  count(): number;
  reset(): void;
  stop(): void;
}

export function startCountingProxy(upstream: string, matches: (body: string) => boolean): CountingProxy {
  let n = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.arrayBuffer();
      if (matches(new TextDecoder().decode(body))) n++;
      const url = new URL(req.url);
      const headers = new Headers(req.headers);
      headers.delete("host");
      return fetch(upstream + url.pathname + url.search, { method: req.method, headers, body: body.byteLength ? body : undefined });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    count: () => n,
    reset: () => void (n = 0),
    stop: () => void server.stop(true),
  };
}
