// A small Dockerfile reader for the tests that prove the image without a
// Docker engine (design trap 4): instructions with line continuations and
// comments as Docker reads them, stages, global ARGs, ${VAR} expansion, and
// the effective settings of the stage a build ends in (USER, EXPOSE,
// ENTRYPOINT, HEALTHCHECK, COPY) after following FROM <stage> chains.
// It understands the subset our Dockerfile uses, and says so when it meets
// something else instead of guessing.

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuations joined. */
  args: string;
  /** 1-based line the instruction starts on. */
  line: number;
}

export interface Stage {
  /** FROM's image or stage reference, unexpanded. */
  from: string;
  name?: string;
  platform?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string | undefined>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  const lines = text.split("\n");
  let current: Instruction | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    // Docker drops comment lines, also inside a continued instruction.
    if (trimmed.startsWith("#")) continue;
    if (!current) {
      if (trimmed === "") continue;
      const m = /^(\w+)\s*(.*)$/.exec(trimmed);
      if (!m) throw new Error(`Dockerfile line ${i + 1}: cannot read "${trimmed}"`);
      current = { keyword: m[1]!.toUpperCase(), args: "", line: i + 1 };
      const rest = m[2]!;
      if (rest.endsWith("\\")) current.args = rest.slice(0, -1);
      else {
        current.args = rest;
        instructions.push(current);
        current = undefined;
      }
      continue;
    }
    if (trimmed.endsWith("\\")) current.args += " " + trimmed.slice(0, -1);
    else {
      current.args += " " + trimmed;
      instructions.push({ ...current, args: current.args.replace(/\s+/g, " ").trim() });
      current = undefined;
    }
  }
  if (current) throw new Error(`Dockerfile line ${current.line}: continuation runs past the end`);

  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const { flags, rest } = splitFlags(ins.args);
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ from: m[1]!, name: m[2], platform: flags.platform, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG") throw new Error(`Dockerfile line ${ins.line}: only ARG may precede the first FROM`);
      const [k, v] = splitArg(ins.args);
      globalArgs[k] = v;
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

function splitArg(args: string): [string, string | undefined] {
  const eq = args.indexOf("=");
  return eq < 0 ? [args.trim(), undefined] : [args.slice(0, eq).trim(), args.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1")];
}

/** Leading --name=value flags of an instruction, and the rest. */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  for (let m = /^--([\w-]+)=(\S+)\s*/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s*/.exec(rest)) {
    flags[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** ${VAR}, ${VAR:-default} and $VAR, as Docker expands them in FROM, COPY, EXPOSE, USER, ... */
export function expand(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g, (_, a: string | undefined, def: string | undefined, b: string | undefined) => {
    const v = vars[(a ?? b)!];
    return v !== undefined && v !== "" ? v : (def ?? "");
  });
}

/** The JSON array of an exec-form ENTRYPOINT/CMD; throws on the shell form (distroless has no shell). */
export function execForm(args: string, what: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`${what} is not in exec form (JSON array): ${args}`);
  }
  if (!Array.isArray(parsed) || parsed.some((x) => typeof x !== "string")) throw new Error(`${what} is not a JSON array of strings: ${args}`);
  return parsed as string[];
}

export interface Healthcheck {
  options: Record<string, string>;
  command: string[];
}

export function parseHealthcheck(args: string): Healthcheck {
  const { flags, rest } = splitFlags(args);
  const m = /^CMD\s+(.*)$/.exec(rest);
  if (!m) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  return { options: flags, command: execForm(m[1]!, "HEALTHCHECK CMD") };
}

export interface CopyInstruction {
  from?: string;
  chmod?: string;
  chown?: string;
  sources: string[];
  dest: string;
}

export interface FinalImage {
  /** The stages the image is made of, base first (the external base image is `base`). */
  chain: Stage[];
  base: string;
  user?: string;
  workdir?: string;
  exposedPorts: number[];
  entrypoint?: string[];
  healthcheck?: Healthcheck;
  copies: CopyInstruction[];
}

/** What `docker build --build-arg ...` would end in: the last stage, after following FROM <stage>. */
export function finalImage(df: Dockerfile, buildArgs: Record<string, string> = {}): FinalImage {
  const vars = { ...df.globalArgs, ...buildArgs };
  const chain: Stage[] = [];
  let stage: Stage | undefined = df.stages.at(-1);
  let base = "";
  while (stage) {
    chain.unshift(stage);
    const ref = expand(stage.from, vars);
    const parent = df.stages.find((s) => s.name === ref);
    if (!parent) base = ref;
    if (parent && chain.includes(parent)) throw new Error(`FROM cycle at ${ref}`);
    stage = parent;
  }
  const image: FinalImage = { chain, base, exposedPorts: [], copies: [] };
  for (const s of chain) {
    // A stage sees a global ARG only if it declares it again (ARG NAME).
    const local: Record<string, string | undefined> = {};
    for (const ins of s.instructions) {
      const args = ins.args;
      switch (ins.keyword) {
        case "ARG": {
          const [k, v] = splitArg(args);
          local[k] = buildArgs[k] ?? v ?? df.globalArgs[k];
          break;
        }
        case "USER":
          image.user = expand(args, local);
          break;
        case "WORKDIR":
          image.workdir = expand(args, local);
          break;
        case "EXPOSE":
          for (const p of expand(args, local).split(/\s+/)) image.exposedPorts.push(Number(p.replace(/\/tcp$/, "")));
          break;
        case "ENTRYPOINT":
          image.entrypoint = execForm(args, "ENTRYPOINT");
          break;
        case "HEALTHCHECK":
          image.healthcheck = parseHealthcheck(args);
          break;
        case "COPY": {
          const { flags, rest } = splitFlags(args);
          const parts = expand(rest, local).split(/\s+/);
          image.copies.push({ from: flags.from, chmod: flags.chmod, chown: flags.chown, sources: parts.slice(0, -1), dest: parts.at(-1)! });
          break;
        }
        case "LABEL":
        case "ENV":
          break;
        default:
          throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} in a runtime stage is not understood by scripts/dockerfile.ts`);
      }
    }
  }
  return image;
}
