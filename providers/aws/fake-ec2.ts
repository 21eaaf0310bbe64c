// Test support: a scriptable EC2 Query-protocol endpoint on loopback for the
// behaviours moto cannot produce (throttling, AuthFailure, capacity errors,
// IncorrectInstanceState, hanging endpoints) and for checking what the SDK
// actually sent (ClientToken). Responses use EC2's real XML shapes, so the
// real SDK deserializers and retry logic run against it.

export interface RecordedRequest {
  action: string;
  params: URLSearchParams;
  /** The region the SDK signed for (SigV4 credential scope). */
  region: string;
}

export type FakeAnswer =
  | { error: string; message?: string; status?: number; requestId?: string; retryAfter?: string }
  | { xml: string }
  | { html: string; status: number }
  | { hang: true };

export interface FakeEc2 {
  url: string;
  requests: RecordedRequest[];
  /** Hanging requests the client gave up on (closed the connection). */
  aborted: string[];
  /** Answer per Action; unlisted actions get an InternalError. */
  answers: Map<string, (req: RecordedRequest) => FakeAnswer | Promise<FakeAnswer>>;
  stop(): Promise<void>;
}

const NS = "http://ec2.amazonaws.com/doc/2016-11-15/";

export function ec2ErrorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}

export function instanceXml(id: string, state: string, extra = ""): string {
  const code = { pending: 0, running: 16, "shutting-down": 32, terminated: 48, stopping: 64, stopped: 80 }[state] ?? 0;
  return `<item><instanceId>${id}</instanceId><imageId>ami-0abcdef1234567890</imageId><instanceState><code>${code}</code><name>${state}</name></instanceState><instanceType>t3.micro</instanceType><placement><availabilityZone>us-east-1a</availabilityZone></placement><launchTime>2026-01-01T00:00:00.000Z</launchTime>${extra}</item>`;
}

export function describeInstancesXml(instances: string[]): string {
  const reservations = instances.map((i, n) => `<item><reservationId>r-${n}</reservationId><ownerId>123456789012</ownerId><instancesSet>${i}</instancesSet></item>`).join("");
  return `<DescribeInstancesResponse xmlns="${NS}"><requestId>req-describe</requestId><reservationSet>${reservations}</reservationSet></DescribeInstancesResponse>`;
}

export function runInstancesXml(instance: string): string {
  return `<RunInstancesResponse xmlns="${NS}"><requestId>req-run</requestId><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><instancesSet>${instance}</instancesSet></RunInstancesResponse>`;
}

export function describeRegionsXml(regions: { name: string; optInStatus: string }[]): string {
  const items = regions
    .map((r) => `<item><regionName>${r.name}</regionName><regionEndpoint>ec2.${r.name}.amazonaws.com</regionEndpoint><optInStatus>${r.optInStatus}</optInStatus></item>`)
    .join("");
  return `<DescribeRegionsResponse xmlns="${NS}"><requestId>req-regions</requestId><regionInfo>${items}</regionInfo></DescribeRegionsResponse>`;
}

export interface ZoneXml {
  name: string;
  id: string;
  state?: string;
  type?: string;
  optInStatus?: string;
  parent?: string;
  group?: string;
}

/** EC2's DescribeAvailabilityZones answer (element names as in the EC2 API reference). */
export function describeZonesXml(region: string, zones: ZoneXml[]): string {
  const items = zones
    .map(
      (z) =>
        `<item><zoneName>${z.name}</zoneName><zoneState>${z.state ?? "available"}</zoneState><regionName>${region}</regionName><messageSet/>` +
        `<zoneId>${z.id}</zoneId><zoneType>${z.type ?? "availability-zone"}</zoneType><optInStatus>${z.optInStatus ?? "opt-in-not-required"}</optInStatus>` +
        `<groupName>${z.group ?? region}</groupName><networkBorderGroup>${z.group ?? region}</networkBorderGroup>` +
        (z.parent ? `<parentZoneName>${z.parent}</parentZoneName>` : "") +
        `</item>`,
    )
    .join("");
  return `<DescribeAvailabilityZonesResponse xmlns="${NS}"><requestId>req-zones</requestId><availabilityZoneInfo>${items}</availabilityZoneInfo></DescribeAvailabilityZonesResponse>`;
}

export function startFakeEc2(): FakeEc2 {
  const requests: RecordedRequest[] = [];
  const answers = new Map<string, (req: RecordedRequest) => FakeAnswer | Promise<FakeAnswer>>();
  const hanging = new Set<() => void>();
  const aborted: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const params = new URLSearchParams(await request.text());
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(request.headers.get("authorization") ?? "");
      const rec = { action: params.get("Action") ?? "", params, region: scope?.[1] ?? "" };
      requests.push(rec);
      const answer = (await answers.get(rec.action)?.(rec)) ?? { error: "InternalError", status: 500 };
      if ("hang" in answer) {
        await new Promise<void>((resolve) => {
          hanging.add(resolve);
          request.signal.addEventListener("abort", () => {
            aborted.push(rec.action);
            resolve();
          });
        });
        return new Response("", { status: 503 });
      }
      if ("html" in answer) return new Response(answer.html, { status: answer.status, headers: { "content-type": "text/html" } });
      if ("xml" in answer) return new Response(answer.xml, { headers: { "content-type": "text/xml;charset=UTF-8" } });
      const requestId = answer.requestId ?? `req-${requests.length}`;
      // EC2 sends the request id both in the body and in this header (the SDK reads the header).
      return new Response(ec2ErrorXml(answer.error, answer.message ?? `${answer.error} from the fake`, requestId), {
        status: answer.status ?? 400,
        headers: { "content-type": "text/xml;charset=UTF-8", "x-amzn-requestid": requestId, ...(answer.retryAfter ? { "retry-after": answer.retryAfter } : {}) },
      });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    aborted,
    answers,
    async stop() {
      for (const release of hanging) release();
      await server.stop(true);
    },
  };
}
