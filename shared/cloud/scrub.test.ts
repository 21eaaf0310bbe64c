import { describe, expect, test } from "bun:test";
import { REDACTED, rememberSecret, scrub, scrubUpstream } from "./scrub";

describe("scrub: known values", () => {
  test("a remembered secret is removed raw, JSON-escaped, URL- and form-encoded", () => {
    const secret = 'Rem3mbered "pw"&+/ x';
    rememberSecret(secret);
    const text = [secret, JSON.stringify(secret), encodeURIComponent(secret), new URLSearchParams({ p: secret }).toString()].join(" | ");
    const out = scrub(`echo: ${text}`);
    expect(out).not.toContain("Rem3mbered");
    expect(out.startsWith("echo: ")).toBe(true);
  });

  test("a per-call value is removed even where no shape points at it", () => {
    expect(scrub("upstream said: opaque-call-value-42 is bad", ["opaque-call-value-42"])).toBe(`upstream said: ${REDACTED} is bad`);
  });

  test("short values are not replaced by value (they would garble ordinary words)", () => {
    rememberSecret("admin");
    expect(scrub("admin user not found")).toBe("admin user not found");
  });
});

describe("scrub: shapes", () => {
  const cases: [string, string, string][] = [
    ["bearer", "Authorization: Bearer abcdefghijklmnop.qrs", "abcdefghijklmnop"],
    ["bearer inside text", "token was Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig rejected", "eyJhbGci"],
    ["basic", "authorization=Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy"],
    ["ya29", 'the token "ya29.a0AfH6SMBx-Secret_Part" expired', "ya29.a0AfH6SMBx"],
    ["x-auth-token header", "X-Auth-Token: gAAAAABkShortFernet\nAccept: */*", "gAAAAABkShortFernet"],
    ["x-subject-token json", '{"x-subject-token": "subjtoken123"}', "subjtoken123"],
    ["x-amz-security-token", "x-amz-security-token: FwoGZXIvYXdzEJr//////////", "FwoGZXIvYXdzEJr"],
    ["password pair", "username=root%40pam&password=hunter2xx&x=1", "hunter2xx"],
    ["secret pair", "secret = s3cr3tvalue; next", "s3cr3tvalue"],
    ["token pair", "?token=abc123def&page=2", "abc123def"],
    ["password json", '{"user": {"name": "u", "password": "pa\\"ss"}}', 'pa\\"ss'],
    ["password json in a json string", '{\\"password\\": \\"escapedpw\\"}', "escapedpw"],
    ["secret json python repr", "{'application_credential_secret': 'appsecret1'}", "appsecret1"],
    ["pve ticket", "PVE:root@pam:65A1B2C3::Zm9vYmFyYmF6cXV4", "65A1B2C3::Zm9v"],
    ["pve cookie", "Cookie: PVEAuthCookie=PVE%3Aroot%40pam%3A65A1B2C3%3A%3Asig", "65A1B2C3"],
    ["pve api token", "PVEAPIToken=root@pam!ci=4f0c8a1e-0000-4000-8000-000000000000", "4f0c8a1e"],
    ["csrf token", "CSRFPreventionToken: 65A1B2C3:csrfsig", "csrfsig"],
    ["aws secret key", "key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY rejected", "wJalrXUtnFEMI"],
    ["long opaque", `token gAAAAABl${"Xy9".repeat(40)} rejected`, "gAAAAABlXy9"],
  ];
  for (const [name, text, secret] of cases) {
    test(name, () => {
      const out = scrub(text);
      expect(out).not.toContain(secret);
      expect(out).toContain(REDACTED);
    });
  }

  test("our own messages pass unchanged", () => {
    const messages = [
      'page_token: not a token this provider issued ("abc")',
      "instance_id: must look like i-0123456789abcdef0",
      "nova: Instance 5e1d0c1a-6e43-4b0a-9f1e-0c8f3b1a2d3e could not be found. (request id req-7d8f)",
      "Compute Engine: The resource 'projects/p/zones/us-central1-a/instances/web-1' was not found (notFound)",
      "RunInstances in us-east-1: The image id '[ami-12345678]' does not exist (EC2 InvalidAMIID.NotFound, request id 0f1e2d3c-aaaa-bbbb-cccc-1234567890ab)",
      'this provider requires a bearer token: send the metadata "authorization: Bearer TOKEN"',
      "send Authorization: Bearer YOUR_ACCESS_TOKEN",
      "X-Auth-Token: <token>",
      "a 40-char lowercase hex digest 0123456789abcdef0123456789abcdef01234567 stays",
    ];
    for (const m of messages) expect(scrub(m)).toBe(m);
  });
});

describe("scrubUpstream", () => {
  test("scrubs before cutting, so a secret at the cut is not half-kept", () => {
    const secret = "CutSecretValue-0123456789";
    const text = `${"x".repeat(495)}${secret}${"y".repeat(100)}`;
    const out = scrubUpstream(text, { also: [secret] });
    expect(out).not.toContain("CutSecret");
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(512);
  });

  // Before the key patterns were bounded, "a.a.a..." took 14 s (quadratic
  // backtracking); now each of these takes milliseconds. No timing is
  // asserted: the test's own time-out is the bound, hundreds of times over.
  test("hostile shapes cost linear time (64 KB each)", () => {
    const hostile = ["a.".repeat(32768), "x-".repeat(32768), "password".repeat(8192), '"password'.repeat(7000), `cookie${" ".repeat(65000)}`, `${"password ".repeat(7000)}=`, `Bearer ${"a".repeat(65000)}`, `"token": "${"\\".repeat(30000)}`];
    for (const text of hostile) expect(scrubUpstream(text).length).toBeLessThan(600);
  });

  test("a huge body costs a bounded amount and gives a bounded message", () => {
    const out = scrubUpstream("password=x ".repeat(1_000_000));
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(512);
    expect(out).not.toContain("password=x");
  });
});

describe("scrub: the fast path for short plain text (log fields)", () => {
  // `also` with a value that occurs nowhere forces the full set of shapes:
  // the fast path must give exactly what they give.
  const full = (text: string) => scrub(text, ["zz-not-in-any-text-zz"]);
  const cases = [
    "ListInstances",
    "OK",
    "ipv4:127.0.0.1:55555",
    "ipv6:[::1]:55555",
    "::ffff:127.0.0.1:55555",
    "::1:55555",
    "2001:db8::1:443",
    "[2001:db8::1]:443",
    "dead:beef:cafe",
    "0123456789abcdef0123456789abcdef01234567",
    "cookie:abcdef",
    "ipv4:cookie:abcdef",
    "1cookie:abc",
    "PVE:root@pam:0123ABCD",
    "ya29.a0AfH6SMBx",
    "x-auth-token:abc",
    "token=abc",
    "Bearer abcdefgh",
    "1//0abcdefghijklmnopqrstuvwxyz",
    "AKIAABCDEFGHIJKLMNOPAKIAABCDEFGHIJKLMNO1",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "[redacted]",
  ];
  for (const text of cases) {
    test(JSON.stringify(text), () => expect(scrub(text)).toBe(full(text)));
  }

  test("known secrets are still replaced on the fast path", () => {
    rememberSecret("fastpath-Secret-42");
    expect(scrub("fastpath-Secret-42")).toBe(REDACTED);
    expect(scrub("ipv4:fastpath-Secret-42")).toBe(`ipv4:${REDACTED}`);
  });
});
