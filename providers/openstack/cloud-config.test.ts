// Credential forms (openrc variables, application credentials, clouds.yaml
// with secure.yaml), what missingCredentials reports, and the Keystone auth
// bodies they become. Also: the provider starts from a clouds.yaml alone
// and talks to a local Keystone/Nova with it.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "../../shared/config";
import { startTestProvider } from "../../shared/testing/harness";
import { allFlags } from "../../shared/main";
import { resolveConfig } from "./cloud-config";
import { openstackProvider } from "./definition";
import { authRequestBody } from "./identity";
import { FakeOpenStack } from "./testing/fake-openstack";

const dir = mkdtempSync("/tmp/skyclust-os-config-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const settingsFrom = (env: Record<string, string>, args: string[] = []) => parseArgs(allFlags(openstackProvider), args, env).settings;
const missing = (env: Record<string, string>) => openstackProvider.missingCredentials(settingsFrom(env), { HOME: dir, ...env });

describe("credential forms", () => {
  test("the seed's variables (password, project id) are complete", () => {
    const env = { OS_AUTH_URL: "https://k:5000/v3", OS_USERNAME: "u", OS_PASSWORD: "p", OS_PROJECT_ID: "pid", OS_REGION_NAME: "R2" };
    expect(missing(env)).toEqual([]);
    const { config } = resolveConfig(settingsFrom(env), { HOME: dir });
    expect(config!.region).toBe("R2");
    expect(config!.interface).toBe("public");
    expect(authRequestBody(config!.auth)).toEqual({
      auth: {
        identity: { methods: ["password"], password: { user: { name: "u", domain: { id: "default" }, password: "p" } } },
        scope: { project: { id: "pid" } },
      },
    });
  });

  test("project by name with named domains, internal interface", () => {
    const env = {
      OS_AUTH_URL: "https://k:5000",
      OS_USERNAME: "u",
      OS_PASSWORD: "p",
      OS_PROJECT_NAME: "proj",
      OS_USER_DOMAIN_NAME: "Users",
      OS_PROJECT_DOMAIN_NAME: "Projects",
      OS_INTERFACE: "internalURL",
    };
    expect(missing(env)).toEqual([]);
    const { config } = resolveConfig(settingsFrom(env), { HOME: dir });
    expect(config!.interface).toBe("internal");
    expect(config!.region).toBe("RegionOne");
    expect(authRequestBody(config!.auth)).toEqual({
      auth: {
        identity: { methods: ["password"], password: { user: { name: "u", domain: { name: "Users" }, password: "p" } } },
        scope: { project: { name: "proj", domain: { name: "Projects" } } },
      },
    });
  });

  test("an application credential needs no user or project", () => {
    const env = { OS_AUTH_URL: "https://k:5000/v3", OS_APPLICATION_CREDENTIAL_ID: "ac", OS_APPLICATION_CREDENTIAL_SECRET: "s" };
    expect(missing(env)).toEqual([]);
    const { config } = resolveConfig(settingsFrom(env), { HOME: dir });
    expect(authRequestBody(config!.auth)).toEqual({
      auth: { identity: { methods: ["application_credential"], application_credential: { id: "ac", secret: "s" } } },
    });
    expect(missing({ OS_AUTH_URL: "https://k", OS_APPLICATION_CREDENTIAL_ID: "ac" })).toEqual(["OS_APPLICATION_CREDENTIAL_SECRET"]);
  });

  test("incomplete forms name what is missing", () => {
    expect(missing({})).toEqual(["OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_ID (or OS_PROJECT_NAME)"]);
    expect(missing({ OS_AUTH_URL: "x", OS_USERNAME: "u", OS_PASSWORD: "p" })).toEqual(["OS_PROJECT_ID (or OS_PROJECT_NAME)"]);
    expect(missing({ OS_CLOUD: "nowhere" })[0]).toStartWith('OS_CLOUD (cloud "nowhere" is not in');
  });
});

describe("clouds.yaml", () => {
  const cloudsFile = join(dir, "clouds.yaml");
  writeFileSync(
    cloudsFile,
    [
      "clouds:",
      "  prod:",
      "    auth:",
      "      auth_url: https://keystone.example.com:5000/v3",
      "      username: alice",
      "      project_name: web",
      "      user_domain_name: Default",
      "      project_domain_id: default",
      "    region_name: RegionTwo",
      "    interface: internal",
      "    verify: false",
      "  appcred:",
      "    auth_type: v3applicationcredential",
      "    auth:",
      "      auth_url: https://keystone.example.com:5000/v3",
      "      application_credential_id: ac-1",
      "      application_credential_secret: ac-secret",
      "",
    ].join("\n"),
  );
  // The CLI keeps passwords apart, in secure.yaml next to clouds.yaml.
  mkdirSync(join(dir, ".config/openstack"), { recursive: true });
  writeFileSync(join(dir, ".config/openstack/secure.yaml"), "clouds:\n  prod:\n    auth:\n      password: from-secure-yaml\n");

  test("a named cloud with secure.yaml is complete; flags and OS_* variables win over the file", () => {
    const env = { OS_CLOUD: "prod", OS_CLIENT_CONFIG_FILE: cloudsFile, HOME: dir };
    expect(missing(env)).toEqual([]);
    const { config } = resolveConfig(settingsFrom(env), env);
    expect(config).toMatchObject({ authUrl: "https://keystone.example.com:5000/v3", region: "RegionTwo", interface: "internal", insecure: true, cloudName: "prod" });
    expect(config!.auth).toMatchObject({ kind: "password", username: "alice", password: "from-secure-yaml", projectName: "web", userDomainName: "Default", projectDomainId: "default" });
    const overridden = resolveConfig(settingsFrom({ ...env, OS_REGION_NAME: "RegionOne" }, ["--password", "from-flag"]), env).config!;
    expect(overridden.region).toBe("RegionOne");
    expect(overridden.auth).toMatchObject({ password: "from-flag" });
  });

  test("an application credential cloud", () => {
    const env = { OS_CLOUD: "appcred", OS_CLIENT_CONFIG_FILE: cloudsFile, HOME: dir };
    const { config, missing: m } = resolveConfig(settingsFrom(env), env);
    expect(m).toEqual([]);
    expect(config!.auth).toEqual({ kind: "application_credential", id: "ac-1", secret: "ac-secret" });
  });

  test("the provider starts from a clouds.yaml alone and lists servers with it", async () => {
    const fake = new FakeOpenStack({ password: "yaml-pw", maxVersion: "2.60" }).start();
    const file = join(dir, "local-clouds.yaml");
    writeFileSync(
      file,
      `clouds:\n  local:\n    auth:\n      auth_url: ${fake.url}/identity/v3\n      username: admin\n      password: yaml-pw\n      project_id: p1\n    region_name: RegionTwo\n`,
    );
    const provider = await startTestProvider(openstackProvider, [], { OS_CLOUD: "local", OS_CLIENT_CONFIG_FILE: file, HOME: dir });
    try {
      const info = await provider.client.call("GetProviderInfo");
      expect(info.capabilities.default_region).toBe("RegionTwo");
      expect(info.capabilities.mode).toBe("cloud");
      const { instances } = await provider.client.call("ListInstances", {});
      expect(instances[0].region).toBe("RegionTwo");
      expect(fake.requests.some((r) => r.path === "/compute/RegionTwo/v2.1/servers/detail")).toBe(true);
      expect(JSON.stringify(info.capabilities)).not.toContain("yaml-pw");
      expect(provider.logs.join("\n")).not.toContain("yaml-pw");
    } finally {
      await provider.close();
      await fake.stop();
    }
  });

  test("without a configured region, the catalog's single compute region is the default", async () => {
    const fake = new FakeOpenStack({ password: "yaml-pw", regions: ["Zeta"] }).start();
    const file = join(dir, "noregion-clouds.yaml");
    writeFileSync(file, `clouds:\n  local:\n    auth:\n      auth_url: ${fake.url}/identity/v3\n      username: admin\n      password: yaml-pw\n      project_id: p1\n`);
    const provider = await startTestProvider(openstackProvider, [], { OS_CLOUD: "local", OS_CLIENT_CONFIG_FILE: file, HOME: dir });
    try {
      // The first call (no region) learns the default from the first token's catalog (lazy-login.test.ts).
      const { instances } = await provider.client.call("ListInstances", {});
      expect(instances[0].region).toBe("Zeta");
      const info = await provider.client.call("GetProviderInfo");
      expect(info.capabilities.default_region).toBe("Zeta");
      expect(provider.logs.some((l) => l.includes("openstack: authenticated") && l.includes('"default_region":"Zeta"'))).toBe(true);
    } finally {
      await provider.close();
      await fake.stop();
    }
  });
});
