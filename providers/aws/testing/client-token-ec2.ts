// Test support: an EC2 endpoint in front of moto that honours RunInstances'
// ClientToken the way EC2 documents it ("Ensuring idempotency in Amazon EC2
// API requests"), which moto does not (it launches again on every retry):
//
// - a token is scoped to the account and region (the SigV4 credential scope);
// - the same token with the same parameters answers the first call's
//   result (the same reservation and instances), also while that first call
//   is still running: the retry waits for it instead of launching again;
// - the same token with different parameters is refused with 400
//   IdempotentParameterMismatch;
// - a first call that failed leaves the token unused.
//
// Key pair creates are forwarded one at a time: EC2 creates a key pair name
// atomically (the second CreateKeyPair of a name is
// InvalidKeyPair.Duplicate), while moto's threaded server can let two
// concurrent creates of one name through. Every other request passes
// through to moto untouched.
import * as http from "node:http";
import { ec2ErrorXml } from "../fake-ec2";

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

export interface ClientTokenEc2 {
  url: string;
  /** RunInstances requests that reached moto (a token answered from memory does not). */
  launchesForwarded: number;
  /** RunInstances answered from a token's first result. */
  launchesDeduplicated: number;
  stop(): Promise<void>;
}

/** The request's parameters without the ones EC2 leaves out of the comparison. */
function launchParameters(params: URLSearchParams): string {
  return [...params].filter(([k]) => k !== "ClientToken").sort(([a, av], [b, bv]) => (a === b ? av.localeCompare(bv) : a.localeCompare(b))).map(([k, v]) => `${k}=${v}`).join("&");
}

export async function startClientTokenEc2(motoUrl: string): Promise<ClientTokenEc2> {
  const tokens = new Map<string, { parameters: string; answer: Promise<Answer> }>();
  let keyPairQueue: Promise<unknown> = Promise.resolve();
  const forward = async (req: http.IncomingMessage, body: Buffer): Promise<Answer> => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "content-length") headers[k] = v;
    const res = await fetch(`${motoUrl}${req.url ?? "/"}`, { method: req.method, headers, body: req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(body) });
    return { status: res.status, contentType: res.headers.get("content-type") ?? "text/xml", body: await res.text() };
  };
  const state: ClientTokenEc2 = { url: "", launchesForwarded: 0, launchesDeduplicated: 0, stop: async () => {} };

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const reply = (a: Answer) => {
      res.writeHead(a.status, { "content-type": a.contentType });
      res.end(a.body);
    };
    try {
      const params = new URLSearchParams(body.toString());
      const action = params.get("Action");
      if (action === "CreateKeyPair" || action === "ImportKeyPair") {
        const turn = keyPairQueue.then(() => forward(req, body));
        keyPairQueue = turn.catch(() => undefined);
        return reply(await turn);
      }
      const token = params.get("ClientToken");
      if (params.get("Action") !== "RunInstances" || !token) return reply(await forward(req, body));
      const region = /Credential=[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ""))?.[1] ?? "";
      const scope = `${region}\0${token}`;
      const parameters = launchParameters(params);
      const seen = tokens.get(scope);
      if (seen) {
        if (seen.parameters !== parameters) {
          return reply({ status: 400, contentType: "text/xml", body: ec2ErrorXml("IdempotentParameterMismatch", "The request uses the same client token as a previous, but non-identical request. Do not reuse a client token with different requests, unless the requests are identical.", crypto.randomUUID()) });
        }
        state.launchesDeduplicated++;
        return reply(await seen.answer);
      }
      state.launchesForwarded++;
      const answer = forward(req, body);
      tokens.set(scope, { parameters, answer });
      const a = await answer;
      if (a.status >= 300) tokens.delete(scope);
      return reply(a);
    } catch (err) {
      res.writeHead(502);
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  state.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    });
  return state;
}
