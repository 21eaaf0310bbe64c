// The EC2 provider against moto as a conformance target (shared/conformance).
// Every EC2 call goes through a GateProxy in front of moto, which lets the
// suite hold a RunInstances answer, hang one region (EC2 signs the region
// into each request's credential scope) and replace an answer with an EC2
// error that quotes the request.
import { randomBytes } from "node:crypto";
import type { ConformanceTarget } from "../../../shared/conformance/target";
import { describeRequest } from "../../../shared/testing/echo";
import { GateProxy, type SeenRequest } from "../../../shared/testing/gate-proxy";
import { startTestProvider } from "../../../shared/testing/harness";
import { awsProvider } from "../definition";
import { startMoto } from "../moto-server";

/** An Amazon Linux 2 AMI moto serves in every region. */
export const MOTO_AMI = "ami-04681a1dbd79675a5";
const REGION = "us-east-1";
const HUNG = "eu-west-1";

const action = (r: SeenRequest, name: string) => r.body.includes(`Action=${name}&`) || r.body.endsWith(`Action=${name}`);
const signedFor = (r: SeenRequest, region: string) => String(r.headers.authorization ?? "").includes(`/${region}/ec2/aws4_request`);
const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Runs the AWS CLI against `endpoint` (moto) in the target's region; throws with its output on failure. */
async function awsCli(endpoint: string, args: string[]): Promise<void> {
  const proc = Bun.spawn(["aws", "--endpoint-url", endpoint, "--region", REGION, "--output", "json", ...args], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: "AKIACONFORMANCE00001", AWS_SECRET_ACCESS_KEY: "behind-the-back", AWS_PAGER: "" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`aws ${args.join(" ")} failed (${code}): ${err || out}`);
}

export const awsConformanceTarget: ConformanceTarget = {
  name: "aws (moto)",
  cannot: { ssh: "moto runs no machines to log in to (the SSH case runs against the sandbox with a real sshd)" },
  async start(opts = {}) {
    // Shaped like real credentials (moto accepts any): long enough for the scrubber to know them.
    const secretKey = randomBytes(30).toString("base64").slice(0, 40);
    const sessionToken = `IQoJb3JpZ2luX2Vj${randomBytes(120).toString("base64")}`;
    const moto = await startMoto();
    const proxy = await GateProxy.start(moto.url);
    const provider = await startTestProvider(awsProvider, ["--endpoint", proxy.url, "--region", REGION, ...(opts.args ?? [])], {
      AWS_ACCESS_KEY_ID: "AKIACONFORMANCE00001",
      AWS_SECRET_ACCESS_KEY: secretKey,
      AWS_SESSION_TOKEN: sessionToken,
    });
    return {
      provider,
      fixture: { region: REGION, type: "t3.micro", imageId: MOTO_AMI, unknownInstanceId: "i-0123456789abcdef0" },
      holdNextCreate: () => proxy.holdNext((r) => action(r, "RunInstances")),
      // The AWS CLI straight at moto, as an operator changing EC2 outside the platform would.
      behindTheBack: {
        stop: (id) => awsCli(moto.url, ["ec2", "stop-instances", "--instance-ids", id]),
        remove: (id) => awsCli(moto.url, ["ec2", "terminate-instances", "--instance-ids", id]),
      },
      listingCalls: () => proxy.requests.filter((r) => action(r, "DescribeInstances")).length,
      hangRegion: { region: HUNG, hang: () => proxy.hangEvery((r) => signedFor(r, HUNG) && action(r, "DescribeInstances")) },
      echo: {
        arm: () =>
          proxy.replaceNext(
            (r) => signedFor(r, REGION) && action(r, "DescribeInstances"),
            (r) => ({
              status: 400,
              contentType: "text/xml;charset=UTF-8",
              body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>${xml(describeRequest(r.method, r.path, r.headers, r.body))}</Message></Error></Errors><RequestID>echo-1</RequestID></Response>`,
            }),
          ),
        secrets: () => [secretKey, sessionToken],
      },
      async stop() {
        await provider.close();
        await proxy.stop();
        await moto.stop();
      },
    };
  },
};
