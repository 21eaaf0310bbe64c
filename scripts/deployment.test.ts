// Static consistency of what ships: the Dockerfile, docker-compose.yml (+ the
// sandbox override) and the Kubernetes manifests under deploy/ must agree
// with each other and with the code on ports, variable names, user, probe
// commands and image names. Every YAML/JSON file is parsed (Bun.YAML.parse,
// JSON.parse), so a broken file fails here, not on a user's cluster.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { validate as lintDockerfile } from "dockerfile-utils";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import pkg from "../package.json" with { type: "json" };
import type { FlagSpec } from "../shared/config";
import type { ProviderDefinition } from "../shared/definition";
import { HEALTHCHECK_FLAGS } from "../shared/healthcheck";
import { allFlags } from "../shared/main";
import { PROVIDER_NAMES as PROVIDERS, PROVIDERS as REGISTRY, loadAllDefinitions, providerEntry } from "../providers/index";
import { NONROOT_UID } from "./chroot";
import { expand, finalImage, parseDockerfile } from "./dockerfile";

const repo = resolve(import.meta.dir, "..");
const read = (path: string) => readFileSync(join(repo, path), "utf8");
// Every check below is per registry entry (providers/index.ts): a cloud added
// there without its Dockerfile stage, compose service or manifest fails here.
const DEFINITIONS: Record<string, ProviderDefinition> = Object.fromEntries((await loadAllDefinitions()).map((d) => [d.name, d]));

/** The credential variables users already have (design.md; README "Cloud credentials"). */
const SEED_VARIABLES: Record<string, string[]> = {
  aws: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"],
  gcp: ["GOOGLE_APPLICATION_CREDENTIALS", "GCP_PROJECT_ID", "GCP_REGION"],
  openstack: ["OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_ID", "OS_REGION_NAME"],
  proxmox: ["PROXMOX_HOST", "PROXMOX_USER", "PROXMOX_PASSWORD", "PROXMOX_REALM"],
};
/** The ports clients dial (contract; the registry must keep them), then the registry's for clouds added since. */
const SEED_PORTS: Record<string, number> = {
  ...Object.fromEntries(REGISTRY.map((p) => [p.name, p.defaultPort])),
  ...{ aws: 50051, gcp: 50052, openstack: 50053, proxmox: 50054 },
};

describe("provider registry", () => {
  test("each entry matches its definition; names, ports and binaries are unique", async () => {
    for (const p of REGISTRY) {
      const def = DEFINITIONS[p.name]!;
      expect([def.name, def.displayName, def.defaultPort]).toEqual([p.name, p.displayName, p.defaultPort]);
      expect(p.binary).toBe(`skyclust-${p.name}-provider`);
    }
    for (const key of ["name", "defaultPort", "binary"] as const) expect(new Set(REGISTRY.map((p) => p[key])).size).toBe(REGISTRY.length);
  });
});

const flagsOf = (p: string): FlagSpec[] => [...allFlags(DEFINITIONS[p]!), ...HEALTHCHECK_FLAGS];
/** Every variable a provider reads, by name. */
const envNames = (p: string) => new Set(flagsOf(p).flatMap((f) => (f.env ? [f.env] : [])));
const flagByEnv = (p: string, env: string) => flagsOf(p).find((f) => f.env === env);
const graceDefault = Number(flagsOf("aws").find((f) => f.name === "shutdown-grace-seconds")!.default);
const expectedImage = (p: string) => `ghcr.io/skyclust/skyclust-${p}-provider:${pkg.version}`;

function seconds(duration: string | number): number {
  if (typeof duration === "number") return duration;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration);
  if (!m) throw new Error(`cannot read duration ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as "s"];
}

function quantity(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(String(q));
  if (!m) throw new Error(`cannot read quantity ${q}`);
  return Number(m[1]) * { m: 0.001, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, "": 1 }[m[2] ?? ""]!;
}

function yamlDocuments(path: string): any[] {
  const parsed = Bun.YAML.parse(read(path));
  return (Array.isArray(parsed) ? parsed : [parsed]).filter((d) => d != null);
}

// ---------------------------------------------------------------- Dockerfile

const dockerfile = parseDockerfile(read("Dockerfile"));

describe("Dockerfile", () => {
  test("no problems for the Docker language server's linter (dockerfile-utils): instructions, flags, ports, JSON forms", () => {
    const problems = lintDockerfile(read("Dockerfile")).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  test("builds with the pinned Bun on the build platform; the provider is a build argument with a valid default", () => {
    const build = dockerfile.stages.find((s) => s.name === "build")!;
    expect(build.from).toBe(`oven/bun:${pkg.devDependencies.bun}-debian`);
    expect(build.platform).toBe("$BUILDPLATFORM");
    expect(PROVIDERS as readonly string[]).toContain(dockerfile.globalArgs.PROVIDER!);
    const run = build.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
    expect(run.some((r) => r.includes("--frozen-lockfile"))).toBe(true);
    expect(run.some((r) => r.includes('bun scripts/build.ts "$PROVIDER"'))).toBe(true);
  });

  test("one final stage per provider, nothing else selectable", () => {
    const named = dockerfile.stages.flatMap((s) => (s.name?.startsWith("provider-") ? [s.name.slice("provider-".length)] : []));
    expect(named.sort()).toEqual([...PROVIDERS].sort());
    expect(dockerfile.stages.at(-1)!.from).toBe("provider-${PROVIDER}");
  });

  for (const p of PROVIDERS) {
    test(`${p}: distroless cc by digest, uid ${NONROOT_UID}, its port, its binary, healthcheck through the binary`, () => {
      const image = finalImage(dockerfile, { PROVIDER: p });
      expect(image.base).toMatch(/^gcr\.io\/distroless\/cc-debian12(:nonroot)?@sha256:[0-9a-f]{64}$/);
      expect(image.user).toBe(`${NONROOT_UID}:${NONROOT_UID}`);
      expect(image.exposedPorts).toEqual([DEFINITIONS[p]!.defaultPort]);
      expect(DEFINITIONS[p]!.defaultPort).toBe(SEED_PORTS[p]!);
      const binary = providerEntry(p).binary;
      expect(image.entrypoint).toEqual([`/${binary}`]);
      expect(image.healthcheck!.command).toEqual([`/${binary}`, "healthcheck"]);
      // The Docker timeout must outlast the subcommand's own (timeout-ms).
      const ownTimeout = Number(HEALTHCHECK_FLAGS.find((f) => f.name === "timeout-ms")!.default) / 1000;
      expect(seconds(image.healthcheck!.options.timeout!)).toBeGreaterThan(ownTimeout);
      const copy = image.copies.find((c) => c.from === "build")!;
      expect(copy.sources).toEqual([`/src/dist/${binary}`]);
      expect(copy.dest).toBe(`/${binary}`);
    });
  }
});

// ------------------------------------------------------------------ compose

const compose = Bun.YAML.parse(read("docker-compose.yml")) as any;
const sandboxText = read("docker-compose.sandbox.yml");
const sandbox = Bun.YAML.parse(sandboxText) as any;
/** Compose's own interpolation with every variable unset: the defaults. */
const composeDefault = (v: unknown) => (v == null ? v : expand(String(v), {}));

describe("docker-compose.yml", () => {
  test("the four providers, nothing else", () => {
    expect(Object.keys(compose.services).sort()).toEqual([...PROVIDERS].sort());
  });

  for (const p of PROVIDERS) {
    test(`${p}: image, build argument, port ${SEED_PORTS[p]}, user, health check, restart, stop grace`, () => {
      const s = compose.services[p];
      const image = finalImage(dockerfile, { PROVIDER: p });
      expect(composeDefault(s.image)).toBe(expectedImage(p));
      expect(s.build).toEqual({ context: ".", args: { PROVIDER: p } });
      expect(s.ports).toHaveLength(2);
      const [, hostPort, containerPort] = /^(?:.*:)?(\d+):(\d+)$/.exec(s.ports[0])!.map(Number);
      expect([hostPort, containerPort]).toEqual([SEED_PORTS[p]!, image.exposedPorts[0]!]);
      expect(composeDefault(s.ports[0])).toStartWith("127.0.0.1:");
      // Metrics: 9464 inside, 9464 + the provider's offset on the host, loopback only.
      const [, metricsHost, metricsContainer] = /^(?:.*:)?(\d+):(\d+)$/.exec(s.ports[1])!.map(Number);
      expect([metricsHost, metricsContainer]).toEqual([9464 + SEED_PORTS[p]! - 50051, 9464]);
      expect(composeDefault(s.ports[1])).toStartWith("127.0.0.1:");
      expect(s.environment.SKYCLUST_METRICS_ADDR).toBe("0.0.0.0:9464");
      expect(sandbox.services[p].environment.SKYCLUST_METRICS_ADDR).toBe("0.0.0.0:9464");
      expect(s.labels["prometheus.io/port"]).toBe("9464");
      // The host's calls reach the container from Docker's bridge, not from
      // loopback: without this, protected mode would refuse them.
      expect(s.environment.SKYCLUST_ALLOW_UNAUTHENTICATED).toBe("true");
      expect(s.user).toBe(image.user);
      expect(s.read_only).toBe(true);
      expect(s.cap_drop).toEqual(["ALL"]);
      expect(s.healthcheck.test).toEqual(["CMD", ...image.healthcheck!.command]);
      expect(seconds(s.healthcheck.timeout)).toBeGreaterThanOrEqual(seconds(image.healthcheck!.options.timeout!));
      expect(["always", "unless-stopped", "on-failure"]).toContain(s.restart);
      expect(seconds(s.stop_grace_period)).toBeGreaterThan(graceDefault);
    });

    test(`${p}: the seed's variables under their names (secrets as their _FILE), defaults equal to the flags', no secret values`, () => {
      const env = compose.services[p].environment as Record<string, string | null>;
      for (const name of SEED_VARIABLES[p] ?? []) expect([name, `${name}_FILE`].some((n) => n in env)).toBe(true);
      for (const [name, value] of Object.entries(env)) {
        expect(envNames(p)).toContain(name);
        const flag = flagByEnv(p, name)!;
        // Not even passed through from the shell: a secret is a file or nothing.
        expect(flag.secret ?? false).toBe(false);
        const def = composeDefault(value);
        if (value != null && String(value).startsWith(`\${${name}:-`) && flag.default !== undefined) expect(def).toBe(String(flag.default));
      }
    });
  }

  test("every *_FILE variable points at a compose secret of its service, whose source is a file", () => {
    let files = 0;
    for (const p of PROVIDERS) {
      const s = compose.services[p];
      for (const [name, value] of Object.entries(s.environment as Record<string, string | null>)) {
        // The _FILE twins of the providers' secret settings (SKYCLUST_AUTH_TOKEN_FILE is a file setting of its own).
        const base = flagByEnv(p, name.replace(/_FILE$/, ""));
        if (!name.endsWith("_FILE") || !(base?.secret || base?.fileForm)) continue;
        files++;
        const secretName = /^\/run\/secrets\/([a-z_]+)$/.exec(String(value))?.[1];
        expect(secretName).toBeDefined();
        expect(s.secrets).toContain(secretName);
        expect(composeDefault(compose.secrets[secretName!].file)).toBe(`./secrets/${secretName}`);
      }
    }
    expect(files).toBeGreaterThanOrEqual(4);
  });

  test("gcp: the key file is mounted read-only where GOOGLE_APPLICATION_CREDENTIALS points", () => {
    const s = compose.services.gcp;
    const mount = s.volumes.find((v: any) => v.target === s.environment.GOOGLE_APPLICATION_CREDENTIALS);
    expect(mount).toMatchObject({ type: "bind", read_only: true });
  });

  test("proxmox: the key pair store lives on a volume (the root filesystem is read-only)", () => {
    const s = compose.services.proxmox;
    const stateDir = s.environment.PROXMOX_STATE_DIR as string;
    const targets = (s.volumes as string[]).map((v) => v.split(":")[1]!);
    expect(targets.some((t) => stateDir === t || stateDir.startsWith(`${t}/`))).toBe(true);
  });

  test("the sandbox override turns sandbox mode on, replaces the environment and drops every mount", () => {
    expect(Object.keys(sandbox.services).sort()).toEqual([...PROVIDERS].sort());
    const sandboxEnv = flagsOf("aws").find((f) => f.name === "sandbox")!.env!;
    for (const p of PROVIDERS) {
      const env = sandbox.services[p].environment;
      expect(env[sandboxEnv]).toBe("true");
      for (const name of Object.keys(env)) {
        expect(envNames(p)).toContain(name);
        expect(name).toStartWith("SKYCLUST_");
      }
      // Bun.YAML drops tags, so look at the text: without !override compose
      // would MERGE this environment into the credentials of the base file.
      const block = sandboxText.slice(sandboxText.indexOf(`  ${p}:\n`)).split(/\n  (?=\w)/)[0]!;
      expect(block).toContain("environment: !override");
      if (compose.services[p].volumes) {
        expect(block).toContain("volumes: !reset []");
        expect(sandbox.services[p].volumes).toEqual([]);
      }
      if (compose.services[p].secrets) {
        expect(block).toContain("secrets: !reset []");
        expect(sandbox.services[p].secrets).toEqual([]);
      }
    }
  });
});

// --------------------------------------------------------------- Kubernetes

const K8S = "deploy/kubernetes";
const secrets = yamlDocuments(`${K8S}/secrets.example.yaml`);
const secretKeys = (name: string): string[] => {
  const s = secrets.find((d) => d.kind === "Secret" && d.metadata.name === name);
  if (!s) throw new Error(`secrets.example.yaml has no Secret ${name}`);
  return Object.keys({ ...s.stringData, ...s.data });
};
const configMapKeys = (name: string): string[] => {
  const c = secrets.find((d) => d.kind === "ConfigMap" && d.metadata.name === name);
  if (!c) throw new Error(`secrets.example.yaml has no ConfigMap ${name}`);
  return Object.keys(c.data ?? {});
};

describe("Kubernetes manifests", () => {
  test("every file parses; the kustomization lists every manifest but the secrets example", () => {
    const files = readdirSync(join(repo, K8S)).filter((f) => /\.ya?ml$/.test(f));
    for (const f of files) for (const d of yamlDocuments(`${K8S}/${f}`)) expect(typeof d.kind).toBe("string");
    const kustomization = yamlDocuments(`${K8S}/kustomization.yaml`)[0];
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== "kustomization.yaml" && f !== "secrets.example.yaml").sort());
    expect(kustomization.resources.sort()).toEqual(PROVIDERS.map((p) => `${p}.yaml`).sort());
  });

  // Kubernetes' own OpenAPI schemas (kubernetes-models): types, enums and
  // required fields of every object, e.g. a probe's grpc.port must be a number.
  const MODELS: Record<string, { new (data: any): { validate(): void } }> = {
    "apps/v1 Deployment": Deployment,
    "v1 Service": Service,
    "policy/v1 PodDisruptionBudget": PodDisruptionBudget,
    "networking.k8s.io/v1 NetworkPolicy": NetworkPolicy,
    "v1 PersistentVolumeClaim": PersistentVolumeClaim,
    "v1 Secret": Secret,
    "v1 ConfigMap": ConfigMap,
  };
  test("every object is valid against the Kubernetes API schema of its kind", () => {
    const files = readdirSync(join(repo, K8S)).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml");
    let checked = 0;
    for (const f of files) {
      for (const d of yamlDocuments(`${K8S}/${f}`)) {
        const Model = MODELS[`${d.apiVersion} ${d.kind}`];
        if (!Model) throw new Error(`${f}: no schema here for ${d.apiVersion} ${d.kind}`);
        try {
          new Model(d).validate();
        } catch (err) {
          throw new Error(`${f}: ${d.kind} ${d.metadata?.name}: ${(err as Error).message}`);
        }
        checked++;
      }
    }
    expect(checked).toBe(4 * 4 + 4 + 3); // 4 providers x (Deployment, Service, PDB, NetworkPolicy), 4 Secrets, 3 ConfigMaps
  });

  test("JSON files shipped beside them parse too", () => {
    const json = readdirSync(join(repo, "deploy"), { recursive: true }).map(String).filter((f) => f.endsWith(".json"));
    for (const f of json) expect(() => JSON.parse(read(`deploy/${f}`))).not.toThrow();
    expect(JSON.parse(read("package.json")).scripts.release).toBe("bash scripts/bootstrap.sh && bun scripts/release.ts");
  });

  for (const p of PROVIDERS) {
    describe(p, () => {
      const docs = yamlDocuments(`${K8S}/${p}.yaml`);
      const name = `skyclust-${p}-provider`;
      const of = (kind: string) => docs.filter((d) => d.kind === kind);
      const deployment = of("Deployment")[0];
      const pod = deployment?.spec.template.spec;
      const container = pod?.containers[0];
      const port = DEFINITIONS[p]!.defaultPort;
      const image = finalImage(dockerfile, { PROVIDER: p });

      test("a Deployment, a headless Service, a PodDisruptionBudget and a NetworkPolicy, named after the binary", () => {
        expect(of("Deployment")).toHaveLength(1);
        expect(of("Service")).toHaveLength(1);
        expect(of("PodDisruptionBudget")).toHaveLength(1);
        expect(of("NetworkPolicy")).toHaveLength(1);
        for (const d of docs) expect(d.metadata.name).toStartWith(name);
        expect(pod.containers).toHaveLength(1);
      });

      test("the image of docker-compose.yml at package.json's version; the port of the Dockerfile", () => {
        expect(container.image).toBe(expectedImage(p));
        expect(container.image).toBe(composeDefault(compose.services[p].image));
        expect(deployment.metadata.labels["app.kubernetes.io/version"]).toBe(pkg.version);
        expect(container.ports).toEqual([
          { name: "grpc", containerPort: port, protocol: "TCP" },
          { name: "metrics", containerPort: 9464, protocol: "TCP" },
        ]);
        expect(image.exposedPorts).toEqual([port]);
      });

      test("reachable by its intended caller despite protected mode: only the platform's pods may connect, and they are answered", () => {
        // Protected mode refuses non-loopback callers without credentials;
        // in a cluster every caller is another pod, so the manifest either
        // configures authentication or opts out behind a NetworkPolicy.
        const policy = of("NetworkPolicy")[0];
        expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
        expect(policy.spec.policyTypes).toEqual(["Ingress"]);
        expect(policy.spec.ingress).toHaveLength(2);
        const rule = policy.spec.ingress[0];
        expect(rule.ports).toEqual([{ protocol: "TCP", port }]);
        expect(rule.from).toEqual([{ namespaceSelector: {}, podSelector: { matchLabels: { "skyclust.io/provider-client": "true" } } }]);
        // The metrics port opens to the monitoring system's pods only, not to the platform's.
        const scrape = policy.spec.ingress[1];
        expect(scrape.ports).toEqual([{ protocol: "TCP", port: 9464 }]);
        expect(scrape.from).toEqual([{ namespaceSelector: {}, podSelector: { matchLabels: { "skyclust.io/metrics-scraper": "true" } } }]);
        const env = new Map(container.env.map((e: any) => [e.name, e.value]));
        const authenticated = env.has("SKYCLUST_AUTH_TOKEN_FILE") || env.has("SKYCLUST_TLS_CLIENT_CA");
        expect(authenticated || env.get("SKYCLUST_ALLOW_UNAUTHENTICATED") === "true").toBe(true);
      });

      test("Prometheus scrapes it: annotations on the pod, SKYCLUST_METRICS_ADDR on the annotated port, a named Service port", () => {
        const annotations = deployment.spec.template.metadata.annotations;
        expect(annotations).toEqual({ "prometheus.io/scrape": "true", "prometheus.io/port": "9464", "prometheus.io/path": "/metrics" });
        const env = new Map(container.env.map((e: any) => [e.name, e.value]));
        expect(env.get("SKYCLUST_METRICS_ADDR")).toBe(`0.0.0.0:${annotations["prometheus.io/port"]}`);
        expect(of("Service")[0].spec.ports).toContainEqual({ name: "metrics", port: 9464, targetPort: "metrics", protocol: "TCP" });
      });

      test("native gRPC liveness, readiness and startup probes on the serving port", () => {
        for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
          // Kubernetes takes only a number here, not a port name.
          expect(container[probe].grpc).toEqual({ port });
          expect(container[probe].exec).toBeUndefined();
        }
      });

      test(`runs as uid ${NONROOT_UID} (the Dockerfile's USER), read-only root, no privilege escalation, no capabilities`, () => {
        const uid = Number(image.user!.split(":")[0]);
        expect(uid).toBe(NONROOT_UID);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, seccompProfile: { type: "RuntimeDefault" } });
        expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: uid, allowPrivilegeEscalation: false });
        expect(container.securityContext.capabilities.drop).toEqual(["ALL"]);
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.enableServiceLinks).toBe(false);
      });

      test("the kubelet waits longer than the provider's shutdown grace", () => {
        const graceVar = flagsOf(p).find((f) => f.name === "shutdown-grace-seconds")!.env!;
        const set = container.env.find((e: any) => e.name === graceVar);
        const grace = set ? Number(set.value) : graceDefault;
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(grace);
      });

      test("requests and limits for CPU and memory, requests within limits", () => {
        const { requests, limits } = container.resources;
        for (const r of ["cpu", "memory"]) {
          expect(quantity(requests[r])).toBeGreaterThan(0);
          expect(quantity(requests[r])).toBeLessThanOrEqual(quantity(limits[r]));
        }
        // Measured peak under load: ~240 MiB (AWS SDK backend against moto).
        expect(quantity(requests.memory)).toBeGreaterThanOrEqual(240 * 1024 ** 2);
      });

      test("variables: only names the provider reads, the seed's all provided, no Secret value ever becomes a variable", () => {
        const known = envNames(p);
        const provided = new Set<string>();
        for (const e of container.env) {
          expect(known).toContain(e.name);
          provided.add(e.name.replace(/_FILE$/, ""));
          expect(flagByEnv(p, e.name)?.secret ?? false).toBe(false);
          // Secrets are mounted as files, never read into the environment.
          expect(e.valueFrom?.secretKeyRef).toBeUndefined();
        }
        for (const from of container.envFrom ?? []) {
          expect(from.secretRef).toBeUndefined();
          for (const key of configMapKeys(from.configMapRef.name)) {
            expect(known).toContain(key);
            expect(flagByEnv(p, key)?.secret ?? false).toBe(false);
            provided.add(key);
          }
        }
        for (const name of SEED_VARIABLES[p] ?? []) expect(provided).toContain(name);
      });

      test("secret files: every *_FILE names a key of a Secret volume mounted read-only, mode 0400, readable through fsGroup by the pod's user only", () => {
        const uid = Number(image.user!.split(":")[0]);
        const volumes = new Map((pod.volumes ?? []).map((v: any) => [v.name, v]));
        // GOOGLE_APPLICATION_CREDENTIALS is the key file's path by its own definition.
        const twin = (n: string) => n.endsWith("_FILE") && ((f) => f?.secret || f?.fileForm)(flagByEnv(p, n.replace(/_FILE$/, "")));
        const files = container.env.filter((e: any) => twin(e.name) || e.name === "GOOGLE_APPLICATION_CREDENTIALS");
        expect(files.length).toBeGreaterThan(0);
        // The kubelet writes Secret files as root; fsGroup gives them the pod's group (0440).
        expect(pod.securityContext.fsGroup).toBe(uid);
        for (const e of files) {
          const mount = (container.volumeMounts ?? []).find((m: any) => e.value.startsWith(`${m.mountPath}/`));
          expect(mount?.readOnly).toBe(true);
          const secret = (volumes.get(mount.name) as any).secret;
          expect(secret.defaultMode).toBe(0o400);
          expect(secretKeys(secret.secretName)).toContain(e.value.slice(mount.mountPath.length + 1));
        }
        for (const v of volumes.values() as Iterable<any>) if (v.secret) expect(v.secret.defaultMode).toBe(0o400);
      });

      test("mounted files: each mount has its volume; files the provider reads and writes are on volumes", () => {
        const volumes = new Map((pod.volumes ?? []).map((v: any) => [v.name, v]));
        for (const m of container.volumeMounts ?? []) expect(volumes.has(m.name)).toBe(true);
        const mountFor = (path: string) => (container.volumeMounts ?? []).find((m: any) => path.startsWith(`${m.mountPath}/`) || path === m.mountPath);
        const value = (n: string) => container.env.find((e: any) => e.name === n)?.value as string | undefined;
        if (p === "gcp") {
          const keyFile = value("GOOGLE_APPLICATION_CREDENTIALS")!;
          const mount = mountFor(keyFile);
          expect(mount.readOnly).toBe(true);
          const secret = (volumes.get(mount.name) as any).secret;
          expect(secretKeys(secret.secretName)).toContain(keyFile.slice(mount.mountPath.length + 1));
        }
        // Every provider keeps its state in its cloud (Proxmox key pairs are
        // pools in the PVE cluster): two or more replicas, rolled, no claim.
        expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
        expect(deployment.spec.strategy.type).toBe("RollingUpdate");
        expect(of("PersistentVolumeClaim")).toEqual([]);
        if (p === "proxmox") expect(value("PROXMOX_STATE_DIR")).toBeUndefined();
      });

      test("the headless Service and the PodDisruptionBudget select the Deployment's pods", () => {
        const selector = deployment.spec.selector.matchLabels;
        expect(deployment.spec.template.metadata.labels).toMatchObject(selector);
        const service = of("Service")[0];
        expect(service.spec.clusterIP).toBe("None");
        expect(service.spec.selector).toEqual(selector);
        expect(service.spec.ports).toHaveLength(2); // grpc, and metrics for a ServiceMonitor
        expect(service.spec.ports[0].port).toBe(port);
        expect([port, "grpc"]).toContain(service.spec.ports[0].targetPort);
        const pdb = of("PodDisruptionBudget")[0];
        expect(pdb.spec.selector.matchLabels).toEqual(selector);
        // A budget a node drain can satisfy.
        if (pdb.spec.minAvailable !== undefined) expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
        else expect(pdb.spec.maxUnavailable).toBeGreaterThanOrEqual(1);
      });
    });
  }
});
