// The pure pieces of the REST clients: error bodies of every OpenStack
// service shape, Retry-After forms, microversion negotiation and version
// discovery documents (recorded), catalog lookup (recorded token).
import { describe, expect, test } from "bun:test";
import { negotiateMicroversion, versionFromDiscovery } from "./compute";
import { parseErrorBody, parseRetryAfter, toProviderError } from "./http";
import { catalogRegions, findEndpoint } from "./identity";
import { fixture } from "./testing/fake-openstack";

describe("error bodies", () => {
  test("Nova, Keystone, Neutron, Glance HTML and plain text", () => {
    expect(parseErrorBody('{"itemNotFound": {"code": 404, "message": "Instance x could not be found."}}')).toEqual({ kind: "itemNotFound", message: "Instance x could not be found.", retryAfter: undefined });
    expect(parseErrorBody(JSON.stringify(fixture("keystone/v3-auth-tokens-401.json")))).toEqual({ kind: "Unauthorized", message: "The request you have made requires authentication." });
    expect(parseErrorBody('{"NeutronError": {"type": "NetworkNotFound", "message": "Network n could not be found.", "detail": ""}}')).toEqual({ kind: "NetworkNotFound", message: "Network n could not be found." });
    expect(parseErrorBody("<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  No image found with ID abc<br /><br />\n </body>\n</html>").message).toBe("404 Not Found 404 Not Found No image found with ID abc");
    expect(parseErrorBody('{"overLimit": {"code": 413, "message": "This request was rate-limited.", "retryAfter": "7"}}').retryAfter).toBe("7");
    expect(parseErrorBody("")).toEqual({});
  });

  test("status codes map to the boundary's codes and keep the request id", () => {
    const e = (status: number, message = "m") => toProviderError({ status, message, requestId: "req-1" }, "nova", "type");
    expect(e(400).code).toBe("INVALID_ARGUMENT");
    expect(e(400).details.field).toBe("type");
    expect(e(401).code).toBe("UNAUTHENTICATED");
    expect(e(403).code).toBe("PERMISSION_DENIED");
    expect(e(403, "Quota exceeded for cores: Requested 2, but already used 20 of 20 cores").code).toBe("RESOURCE_EXHAUSTED");
    expect(e(404).code).toBe("NOT_FOUND");
    expect(e(409).code).toBe("FAILED_PRECONDITION");
    expect(e(413).code).toBe("RESOURCE_EXHAUSTED");
    expect(e(429).code).toBe("RESOURCE_EXHAUSTED");
    expect(e(500).code).toBe("UNAVAILABLE");
    expect(e(503).message).toBe("nova: m (HTTP 503) (request id req-1)");
    expect(e(503).details.cloudRequestId).toBe("req-1");
  });

  test("Retry-After as seconds, as an HTTP date, or Nova's body field", () => {
    expect(parseRetryAfter("3")).toBe(3);
    expect(parseRetryAfter(null, "5")).toBe(5);
    expect(parseRetryAfter(null)).toBeUndefined();
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    const s = parseRetryAfter(inTenSeconds)!;
    expect(s).toBeGreaterThan(5);
    expect(s).toBeLessThanOrEqual(10);
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});

describe("microversions", () => {
  test("the highest version inside both ranges", () => {
    expect(negotiateMicroversion("2.1", "2.104")).toBe("2.100");
    expect(negotiateMicroversion("2.1", "2.93")).toBe("2.93");
    expect(negotiateMicroversion("2.1", "2.9")).toBe("2.9");
    expect(negotiateMicroversion("", "")).toBeUndefined();
    expect(negotiateMicroversion("2.101", "2.110")).toBeUndefined();
  });

  test("the recorded version list picks the entry of the endpoint", () => {
    const doc = fixture("nova/versions_versions-get-resp.json");
    expect(versionFromDiscovery(doc, "http://openstack.example.com/v2.1")?.version).toBe("2.104");
    expect(versionFromDiscovery(doc, "http://openstack.example.com/v2/6f70656e")?.id).toBe("v2.0");
    expect(versionFromDiscovery({ version: { id: "v2.1", version: "2.93", min_version: "2.1" } }, "http://x/v2.1")?.version).toBe("2.93");
  });
});

describe("catalog", () => {
  const catalog = fixture("keystone/v3-auth-tokens-resp.json").token.catalog;
  test("endpoint by type, region and interface (recorded token)", () => {
    expect(findEndpoint(catalog, "compute", "regionOne", "public")).toBe("http://192.168.18.100:8774/v2/9c4693dce56b493b9b83197d900f7fba");
    expect(findEndpoint(catalog, "compute", "regionOne", "internal")).toBe("http://controller:8774/v2/9c4693dce56b493b9b83197d900f7fba");
    expect(findEndpoint(catalog, "image", "regionOne", "internal")).toBe("http://192.168.200.1:9292");
    expect(catalogRegions(catalog, "compute", "public")).toEqual(["regionOne"]);
    expect(() => findEndpoint(catalog, "compute", "RegionTwo", "public")).toThrow(/no public "compute" endpoint in region "RegionTwo" \(the catalog offers: regionOne\)/);
    expect(() => findEndpoint(catalog, "dns", "regionOne", "public")).toThrow(/no "dns" service/);
  });
});
