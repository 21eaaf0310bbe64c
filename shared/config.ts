// Command-line flags and environment variables, declared once so that
// parsing, defaults and `--help` can never disagree. A flag beats its
// environment variable, which beats the default.

export type FlagKind = "string" | "boolean" | "number";

export interface FlagSpec {
  /** Long name without dashes, e.g. "port". Settings are keyed by it. */
  name: string;
  kind: FlagKind;
  /** Environment variable read when the flag is absent. */
  env?: string;
  default?: string | number | boolean;
  help: string;
  /**
   * Shown as "(set)" in any dump of settings, never by value; also readable
   * from a file that is re-read when it changes (`--NAME-file` / `ENV_FILE`,
   * see secrets.ts).
   */
  secret?: boolean;
  /** Not secret, but rotates with one (an access key id): gets the `_FILE` form too. */
  fileForm?: boolean;
}

export type Settings = Record<string, string | number | boolean | undefined>;

export class ConfigError extends Error {}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

function coerce(spec: FlagSpec, raw: string, source: string): string | number | boolean {
  if (spec.kind === "string") return raw;
  if (spec.kind === "boolean") {
    const v = raw.trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    throw new ConfigError(`${source}: expected true or false, got "${raw}"`);
  }
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) throw new ConfigError(`${source}: expected a number, got "${raw}"`);
  return n;
}

export interface ParsedArgs {
  settings: Settings;
  /** Words that are not flags (a subcommand such as "healthcheck"). */
  positional: string[];
}

export function parseArgs(specs: FlagSpec[], argv: string[], env: Record<string, string | undefined>): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const settings: Settings = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let negated = false;
    if (!byName.has(name) && name.startsWith("no-") && byName.get(name.slice(3))?.kind === "boolean") {
      name = name.slice(3);
      negated = true;
    }
    const spec = byName.get(name);
    if (!spec) throw new ConfigError(`unknown flag --${name} (see --help)`);
    if (spec.kind === "boolean") {
      settings[name] = negated ? false : value === undefined ? true : coerce(spec, value, `--${name}`);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    }
    settings[name] = coerce(spec, value, `--${name}`);
  }
  for (const spec of specs) {
    if (settings[spec.name] !== undefined) continue;
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== "") settings[spec.name] = coerce(spec, fromEnv, spec.env!);
    else if (spec.default !== undefined) settings[spec.name] = spec.default;
  }
  return { settings, positional };
}

export function renderHelp(title: string, usage: string[], sections: { heading: string; flags: FlagSpec[] }[], footer = ""): string {
  const lines = [title, "", "Usage:", ...usage.map((u) => `  ${u}`), ""];
  for (const section of sections) {
    lines.push(`${section.heading}:`);
    for (const f of section.flags) {
      const value = f.kind === "boolean" ? "" : f.kind === "number" ? " N" : " VALUE";
      const left = `  --${f.name}${value}`;
      const env = f.env ? ` [env ${f.env}]` : "";
      const def = f.default !== undefined && f.default !== "" && f.default !== false && !f.secret ? ` (default ${JSON.stringify(f.default)})` : "";
      lines.push(`${left.padEnd(34)} ${f.help}${def}${env}`);
    }
    lines.push("");
  }
  if (footer) lines.push(footer);
  return lines.join("\n");
}

/** Settings safe to log: secrets show only whether they are set. */
export function describeSettings(specs: FlagSpec[], settings: Settings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    const v = settings[spec.name];
    if (v === undefined || v === "") continue;
    out[spec.name] = spec.secret ? "(set)" : v;
  }
  return out;
}

export const str = (settings: Settings, name: string): string | undefined => {
  const v = settings[name];
  return v === undefined || v === "" ? undefined : String(v);
};
export const num = (settings: Settings, name: string): number | undefined => {
  const v = settings[name];
  return typeof v === "number" ? v : undefined;
};
export const bool = (settings: Settings, name: string): boolean => settings[name] === true;
