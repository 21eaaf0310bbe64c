// Focused tests of the pure translation code (paging over odd cloud page
// shapes is shared/cloud/paging.test.ts): filter translation, user data, RunInstances input, region status,
// the region cache, flag parsing and the error table's corners.
import { describe, expect, test } from "bun:test";
import { EC2ServiceException } from "@aws-sdk/client-ec2";
import { ConfigError } from "../../shared/config";
import { ProviderError } from "../../shared/errors";
import type { CreateInstanceSpec } from "../../shared/provider";
import { parseRegionEndpoints } from "./definition";
import { mapAwsError } from "./errors";
import { translateFilters, toInstance } from "./instances";
import { TtlCache, regionStatus } from "./regions";
import { buildRunInstancesInput, clientTokenFor, encodeUserData } from "./run-instances";

describe("filters", () => {
  test("portable keys become EC2 filters; others pass through", () => {
    const { filters, matchesNothing } = translateFilters({ status: "terminating", name: "web", type: "t3.micro", "tag:team": "blue", "vpc-id": "vpc-1" });
    expect(matchesNothing).toBe(false);
    expect(filters).toEqual([
      { Name: "instance-state-name", Values: ["shutting-down"] },
      { Name: "tag:Name", Values: ["web"] },
      { Name: "instance-type", Values: ["t3.micro"] },
      { Name: "tag:team", Values: ["blue"] },
      { Name: "vpc-id", Values: ["vpc-1"] },
    ]);
  });

  test("statuses EC2 never reports match nothing; words outside the vocabulary are rejected", () => {
    expect(translateFilters({ status: "suspended" }).matchesNothing).toBe(true);
    expect(translateFilters({ status: "rebooting" }).matchesNothing).toBe(true);
    expect(() => translateFilters({ status: "shutting-down" })).toThrow("filters[status]");
    expect(() => translateFilters({ "tag:": "x" })).toThrow("tag filter needs a key");
  });

  test("Name and the idempotency tag leave tags for their own fields", () => {
    const i = toInstance(
      {
        InstanceId: "i-1",
        State: { Name: "shutting-down" },
        Tags: [
          { Key: "Name", Value: "web" },
          { Key: "skyclust:idempotency-key", Value: "k1" },
          { Key: "team", Value: "blue" },
        ],
      },
      "us-east-1",
    );
    expect(i).toMatchObject({ name: "web", status: "terminating", rawStatus: "shutting-down", tags: { team: "blue" } });
    expect(i.extra?.idempotency_key).toBe("k1");
  });
});

describe("RunInstances input", () => {
  const spec: CreateInstanceSpec = {
    name: "web",
    type: "t3.micro",
    region: "us-east-1",
    imageId: "ami-1",
    tags: { team: "blue" },
    securityGroups: [],
    publicIp: false,
  };

  test("plain user data is base64-encoded once; base64 is passed on; EC2's size limit holds", () => {
    expect(encodeUserData("#!/bin/sh\necho hi\n")).toBe(Buffer.from("#!/bin/sh\necho hi\n").toString("base64"));
    const encoded = Buffer.from("#cloud-config\n").toString("base64");
    expect(encodeUserData(encoded)).toBe(encoded);
    expect(() => encodeUserData("x".repeat(16 * 1024 + 1))).toThrow("user_data");
  });

  test("ClientToken is stable per key, differs between keys and fits EC2's 64 characters", () => {
    expect(clientTokenFor("a")).toBe(clientTokenFor("a"));
    expect(clientTokenFor("a")).not.toBe(clientTokenFor("b"));
    expect(clientTokenFor("k".repeat(64)).length).toBeLessThanOrEqual(64);
    expect(buildRunInstancesInput({ ...spec, idempotencyKey: "a" }, {}).ClientToken).toBe(clientTokenFor("a"));
    expect(buildRunInstancesInput(spec, {}).ClientToken).toBeUndefined(); // the SDK fills a random one
  });

  test("public_ip moves subnet and groups onto the primary interface", () => {
    const input = buildRunInstancesInput({ ...spec, publicIp: true, securityGroups: ["sg-1"] }, { subnetId: "subnet-1" });
    expect(input.NetworkInterfaces).toEqual([{ DeviceIndex: 0, AssociatePublicIpAddress: true, DeleteOnTermination: true, SubnetId: "subnet-1", Groups: ["sg-1"] }]);
    expect(input.SubnetId).toBeUndefined();
    expect(input.SecurityGroupIds).toBeUndefined();
    expect(() => buildRunInstancesInput({ ...spec, publicIp: true, securityGroups: ["sg-1", "default"] }, {})).toThrow("security_groups[1]");
  });

  test("root volume size/type map onto the image's root device", () => {
    const input = buildRunInstancesInput({ ...spec, rootVolumeSizeGb: 30, rootVolumeType: "gp3" }, { rootDeviceName: "/dev/xvda" });
    expect(input.BlockDeviceMappings).toEqual([{ DeviceName: "/dev/xvda", Ebs: { VolumeSize: 30, VolumeType: "gp3", DeleteOnTermination: true } }]);
    expect(input.TagSpecifications?.[0]?.Tags).toContainEqual({ Key: "Name", Value: "web" });
  });
});

describe("regions", () => {
  test("opt-in status -> Region.status", () => {
    expect(regionStatus("opt-in-not-required")).toBe("available");
    expect(regionStatus("opted-in")).toBe("available");
    expect(regionStatus("not-opted-in")).toBe("not-opted-in");
  });

  test("the cache reuses the answer within the TTL and serves a stale one when a refresh fails", async () => {
    let now = 0;
    const cache = new TtlCache<string>(1000, () => now);
    let loads = 0;
    const load = async () => `v${++loads}`;
    expect(await cache.get(load)).toBe("v1");
    now = 999;
    expect(await cache.get(load)).toBe("v1");
    now = 1000;
    expect(await cache.get(load)).toBe("v2");
    now = 5000;
    let stale = false;
    expect(await cache.get(async () => Promise.reject(new Error("down")), () => (stale = true))).toBe("v2");
    expect(stale).toBe(true);
    await expect(new TtlCache<string>(1000).get(async () => Promise.reject(new Error("down")))).rejects.toThrow("down");
  });
});

describe("flags", () => {
  test("--region-endpoints parses REGION=URL pairs and rejects junk", () => {
    expect(parseRegionEndpoints("us-east-1=http://127.0.0.1:1, eu-west-1=https://ec2.example")).toEqual({
      "us-east-1": "http://127.0.0.1:1",
      "eu-west-1": "https://ec2.example",
    });
    expect(parseRegionEndpoints("")).toEqual({});
    expect(() => parseRegionEndpoints("us-east-1")).toThrow(ConfigError);
    expect(() => parseRegionEndpoints("us-east-1=ftp://x")).toThrow(ConfigError);
  });
});

describe("error table corners", () => {
  const op = { operation: "Op in us-east-1" };
  const awsError = (name: string, fault: "client" | "server" = "client") =>
    new EC2ServiceException({ name, $fault: fault, $metadata: { requestId: "rid-1", httpStatusCode: 400 }, message: "m" });

  test("codes and the request id", () => {
    expect(mapAwsError(awsError("VcpuLimitExceeded"), op).code).toBe("RESOURCE_EXHAUSTED");
    expect(mapAwsError(awsError("OptInRequired"), op).code).toBe("PERMISSION_DENIED");
    expect(mapAwsError(awsError("InvalidVpcID.NotFound"), op).code).toBe("NOT_FOUND");
    expect(mapAwsError(awsError("InvalidGroup.Duplicate"), op).code).toBe("ALREADY_EXISTS");
    expect(mapAwsError(awsError("SomethingNew", "server"), op).code).toBe("UNAVAILABLE");
    const e = mapAwsError(awsError("IdempotentParameterMismatch"), op);
    expect(e.code).toBe("ALREADY_EXISTS");
    expect(e.message).toContain("request id rid-1");
    expect(e.details.cloudRequestId).toBe("rid-1");
  });

  test("an aborted call is DEADLINE_EXCEEDED, a missing credential UNAUTHENTICATED", () => {
    const ctrl = new AbortController();
    ctrl.abort();
    expect(mapAwsError(Object.assign(new Error("aborted"), { name: "AbortError" }), { ...op, signal: ctrl.signal }).code).toBe("DEADLINE_EXCEEDED");
    // The SDK attaches $metadata to network errors too; they are not EC2 codes.
    const timeout = Object.assign(new Error("Connection timed out after 5000 ms"), { name: "TimeoutError", $metadata: { attempts: 3 } });
    expect(mapAwsError(timeout, op).code).toBe("UNAVAILABLE");
    const cred = Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });
    expect(mapAwsError(cred, op).code).toBe("UNAUTHENTICATED");
  });
});
